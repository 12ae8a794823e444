/*
 * sink.c - the shared destination of NDJSON lines.
 *
 * Design: a plain file descriptor and one mutex.  Workers hand over whole
 * buffers of complete lines (struct evbuf), so the lock is taken once per
 * ~256 KiB, not per event, and a full write(2) loop under it (EINTR
 * retried, short writes continued, EAGAIN on a non-blocking stdout waited
 * out with poll) keeps lines of different workers from interleaving.
 * Rejected: stdio (a second buffer and a hidden lock, and fwrite errors
 * surface late), O_APPEND (one writer per file; truncation at open is the
 * contract), a writer thread with a queue (one more copy and a queue to
 * cap, for no gain at these rates).
 *
 * Failures never stop the caller: the lines not fully written are counted
 * as dropped, the error is counted and the first strerror text kept.  If a
 * failed write left half a line in the file, the next successful write
 * starts with a newline so that the damage stays one bad line instead of
 * gluing two events together.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
	int fd;
	int own_fd;              /* 0 for stdout: never closed here */
	int midline;             /* a failed write left a partial line */
	pthread_mutex_t mu;
	struct sink_stats st;
	int has_error;
	char error[256];
};

static void
sink_errtext(int e, const char *what, char *buf, size_t len)
{
	char tmp[128];
	const char *msg;

	if (buf == NULL || len == 0)
		return;
	msg = strerror_r(e, tmp, sizeof(tmp));
	snprintf(buf, len, "%s: %s", what, msg);
}

struct sink *
sink_open(const char *path, char *err, size_t errlen)
{
	struct sink *s;
	int e;

	if (path == NULL || path[0] == '\0') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "empty output path");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sink_errtext(ENOMEM, path, err, errlen);
		return NULL;
	}
	if (strcmp(path, "-") == 0) {
		s->fd = STDOUT_FILENO;
		s->own_fd = 0;
	} else {
		s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
		if (s->fd < 0) {
			e = errno;
			sink_errtext(e, path, err, errlen);
			free(s);
			return NULL;
		}
		s->own_fd = 1;
	}
	if ((e = pthread_mutex_init(&s->mu, NULL)) != 0) {
		sink_errtext(e, "mutex", err, errlen);
		if (s->own_fd)
			close(s->fd);
		free(s);
		return NULL;
	}
	return s;
}

/* Write all of buf; returns bytes written and sets *e on failure. */
static size_t
sink_write_all(int fd, const char *buf, size_t len, int *e)
{
	size_t off = 0;
	ssize_t w;
	struct pollfd pfd;

	*e = 0;
	while (off < len) {
		w = write(fd, buf + off, len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == 0) {
			*e = EIO;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		*e = errno;
		break;
	}
	return off;
}

int
sink_write(struct sink *s, const char *buf, size_t len, uint64_t lines)
{
	size_t done, i;
	uint64_t full = 0;
	int e = 0;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->midline) {
		if (sink_write_all(s->fd, "\n", 1, &e) == 1)
			s->midline = 0;
	}
	if (e == 0) {
		done = sink_write_all(s->fd, buf, len, &e);
		s->st.bytes_written += done;
	} else
		done = 0;
	if (e == 0) {
		s->st.lines_written += lines;
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	/* Lines that made it whole still count as written. */
	for (i = 0; i < done; i++)
		if (buf[i] == '\n')
			full++;
	if (full > lines)
		full = lines;
	s->st.lines_written += full;
	s->st.lines_dropped += lines - full;
	s->st.write_errors++;
	if (done > 0 && buf[done - 1] != '\n')
		s->midline = 1;
	if (!s->has_error) {
		s->has_error = 1;
		sink_errtext(e, "write", s->error, sizeof(s->error));
	}
	pthread_mutex_unlock(&s->mu);
	return -1;
}

void
sink_stats_get(struct sink *s, struct sink_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

const char *
sink_error(struct sink *s)
{
	const char *r;

	pthread_mutex_lock(&s->mu);
	r = s->has_error ? s->error : NULL;
	pthread_mutex_unlock(&s->mu);
	return r;
}

int
sink_close(struct sink *s)
{
	int r = 0;

	if (s == NULL)
		return 0;
	if (s->own_fd && close(s->fd) != 0)
		r = -1;
	pthread_mutex_destroy(&s->mu);
	free(s);
	return r;
}
