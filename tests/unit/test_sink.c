/*
 * test_sink.c - the sink (file, errors, partial writes, concurrent
 * writers) and the evbuf that batches into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "output/evbuf.h"
#include "output/sink.h"
#include "tests/unit/check.h"

static char tmpdir[] = "/tmp/rh_test_sink_XXXXXX";

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return NULL;
	}
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void
test_basic(void)
{
	char path[256], err[256];
	struct sink *s;
	struct sink_stats st;
	size_t len;
	char *b;

	path_of(path, sizeof(path), "basic.json");
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(sink_write(s, "{\"a\":1}\n{\"b\":2}\n", 16, 2) == 0);
	CHECK(sink_write(s, "{\"c\":3}\n", 8, 1) == 0);
	CHECK(sink_write(s, "", 0, 0) == 0);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 3);
	CHECK_EQ_INT(st.bytes_written, 24);
	CHECK_EQ_INT(st.lines_dropped, 0);
	CHECK_EQ_INT(st.write_errors, 0);
	CHECK(sink_error(s) == NULL);
	CHECK(sink_close(s) == 0);
	b = slurp(path, &len);
	CHECK(b != NULL && len == 24 &&
	    strcmp(b, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n") == 0);
	free(b);

	/* reopening truncates */
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(sink_write(s, "{}\n", 3, 1) == 0);
	CHECK(sink_close(s) == 0);
	b = slurp(path, &len);
	CHECK(b != NULL && len == 3 && strcmp(b, "{}\n") == 0);
	free(b);

	/* open failure names the path and the reason */
	err[0] = '\0';
	s = sink_open("/nonexistent-dir-rh/x.json", err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "/nonexistent-dir-rh/x.json") != NULL);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(sink_open("", err, sizeof(err)) == NULL);

	/* /dev/null and stdout open */
	s = sink_open("/dev/null", err, sizeof(err));
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(sink_write(s, "{}\n", 3, 1) == 0);
		CHECK(sink_close(s) == 0);
	}
	s = sink_open("-", err, sizeof(err));
	CHECK(s != NULL);
	CHECK(sink_close(s) == 0);
	CHECK(fcntl(STDOUT_FILENO, F_GETFD) != -1);   /* stdout stays open */
}

static void
test_dev_full(void)
{
	char err[256];
	struct sink *s;
	struct sink_stats st;
	const char *e;

	if (access("/dev/full", W_OK) != 0) {
		fprintf(stderr, "skip: no /dev/full\n");
		return;
	}
	s = sink_open("/dev/full", err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(sink_write(s, "{\"a\":1}\n{\"b\":2}\n", 16, 2) == -1);
	CHECK(sink_write(s, "{\"c\":3}\n", 8, 1) == -1);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 0);
	CHECK_EQ_INT(st.lines_dropped, 3);
	CHECK_EQ_INT(st.write_errors, 2);
	CHECK_EQ_INT(st.bytes_written, 0);
	e = sink_error(s);
	CHECK(e != NULL && strstr(e, strerror(ENOSPC)) != NULL);
	CHECK(sink_close(s) == 0);
}

/*
 * A write cut short (RLIMIT_FSIZE stands in for a disk filling up): the
 * whole lines written count as written, the rest as dropped, and the next
 * successful write first ends the broken line.
 */
static void
test_partial(void)
{
	char path[256], err[256], buf[128];
	struct rlimit old, lim;
	struct sink_stats st;
	struct sink *s;
	size_t len;
	char *b;
	int i;

	if (getrlimit(RLIMIT_FSIZE, &old) != 0)
		return;
	signal(SIGXFSZ, SIG_IGN);
	path_of(path, sizeof(path), "partial.json");
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* three lines of 40 bytes */
	for (i = 0; i < 3; i++) {
		memset(buf + 40 * i, 'x', 40);
		buf[40 * i] = '"';
		buf[40 * i + 38] = '"';
		buf[40 * i + 39] = '\n';
	}
	lim = old;
	lim.rlim_cur = 100;
	if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
		sink_close(s);
		return;
	}
	CHECK(sink_write(s, buf, 120, 3) == -1);
	setrlimit(RLIMIT_FSIZE, &old);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 2);
	CHECK_EQ_INT(st.lines_dropped, 1);
	CHECK_EQ_INT(st.bytes_written, 100);
	CHECK_EQ_INT(st.write_errors, 1);
	CHECK(sink_error(s) != NULL &&
	    strstr(sink_error(s), strerror(EFBIG)) != NULL);
	CHECK(sink_write(s, "{}\n", 3, 1) == 0);
	CHECK(sink_close(s) == 0);
	b = slurp(path, &len);
	CHECK(b != NULL && len == 104);
	if (b != NULL && len == 104) {
		CHECK(b[99] == 'x' && b[100] == '\n');
		CHECK(memcmp(b + 101, "{}\n", 3) == 0);
	}
	free(b);
}

static void
test_evbuf(void)
{
	char path[256], err[256];
	struct sink *s;
	struct sink_stats st;
	struct evbuf eb;
	json_t *o, *big;
	json_error_t jerr;
	size_t len, i;
	char *b, *line, *nl, *huge;
	int n;

	path_of(path, sizeof(path), "evbuf.json");
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(evbuf_init(&eb, s, 1024) == 0);

	/* key order is insertion order, output compact, one line each */
	o = json_object();
	json_object_set_new(o, "zeta", json_integer(1));
	json_object_set_new(o, "alpha", json_string("caf\xc3\xa9"));
	json_object_set_new(o, "mid", json_true());
	CHECK(evbuf_put(&eb, o) == 0);
	CHECK(eb.len == strlen("{\"zeta\":1,\"alpha\":\"caf\xc3\xa9\","
	    "\"mid\":true}\n"));
	CHECK(memcmp(eb.buf, "{\"zeta\":1,\"alpha\":\"caf\xc3\xa9\",\"mid\":true}\n",
	    eb.len) == 0);
	CHECK_EQ_INT(eb.lines, 1);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 0);     /* not flushed yet */

	/* many small events: flushed at flush_at */
	for (n = 0; n < 200; n++) {
		json_object_set_new(o, "zeta", json_integer(n + 2));
		CHECK(evbuf_put(&eb, o) == 0);
	}
	sink_stats_get(s, &st);
	CHECK(st.lines_written > 0);
	CHECK(eb.len < eb.flush_at);

	/* an event larger than the buffer grows it, then it shrinks back */
	huge = malloc(200000);
	memset(huge, 'q', 200000);
	big = json_object();
	json_object_set_new(big, "s", json_stringn(huge, 200000));
	CHECK(evbuf_put(&eb, big) == 0);
	CHECK(eb.len == 0);                     /* flushed past flush_at */
	CHECK(eb.cap <= 1024 + 64 * 1024);
	json_decref(big);
	free(huge);

	/* past 16 MiB: dropped and counted, nothing written */
	huge = malloc(17 * 1024 * 1024);
	memset(huge, 'r', 17 * 1024 * 1024);
	big = json_object();
	json_object_set_new(big, "s", json_stringn(huge, 17 * 1024 * 1024));
	CHECK(evbuf_put(&eb, big) == -1);
	json_decref(big);
	free(huge);
	CHECK_EQ_INT(eb.dropped, 1);
	CHECK(evbuf_put(&eb, NULL) == -1);
	CHECK_EQ_INT(eb.dropped, 2);
	CHECK_EQ_INT(eb.events, 202);

	json_object_set_new(o, "zeta", json_integer(-1));
	CHECK(evbuf_put(&eb, o) == 0);
	json_decref(o);
	evbuf_free(&eb);                        /* flushes the last line */
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 203);
	CHECK(sink_close(s) == 0);

	/* read back: every line parses; order kept */
	b = slurp(path, &len);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	n = 0;
	for (line = b; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		json_t *v = json_loadb(line, (size_t)(nl - line), 0, &jerr);

		CHECK(v != NULL);
		if (v != NULL && n < 201)
			CHECK_EQ_INT(json_integer_value(json_object_get(v,
			    "zeta")), n + 1);
		if (v != NULL && n == 202)
			CHECK_EQ_INT(json_integer_value(json_object_get(v,
			    "zeta")), -1);
		json_decref(v);
		n++;
	}
	CHECK_EQ_INT(n, 203);
	CHECK(*line == '\0');
	for (i = 0; i < len; i++)
		if (b[i] == '\0')
			break;
	CHECK(i == len);
	free(b);

	/* a NULL sink discards */
	CHECK(evbuf_init(&eb, NULL, 0) == 0);
	CHECK(eb.flush_at == 256 * 1024);
	o = json_object();
	CHECK(evbuf_put(&eb, o) == 0);
	json_decref(o);
	evbuf_flush(&eb);
	CHECK(eb.len == 0);
	evbuf_free(&eb);
}

#define NTHREADS 4
#define NEVENTS 3000

struct worker {
	struct sink *s;
	int id;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct evbuf eb;
	char pad[300];
	json_t *o;
	int i;

	memset(pad, 'a' + w->id, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	if (evbuf_init(&eb, w->s, 4096) != 0)
		return NULL;
	for (i = 0; i < NEVENTS; i++) {
		o = json_object();
		json_object_set_new(o, "w", json_integer(w->id));
		json_object_set_new(o, "i", json_integer(i));
		json_object_set_new(o, "pad", json_string(pad));
		evbuf_put(&eb, o);
		json_decref(o);
	}
	evbuf_free(&eb);
	return NULL;
}

/* Lines of concurrent writers never interleave and none is lost. */
static void
test_threads(void)
{
	char path[256], err[256];
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	int next[NTHREADS] = { 0 }, bad = 0, n = 0, i;
	struct sink_stats st;
	struct sink *s;
	json_error_t jerr;
	char *b, *line, *nl;
	size_t len;

	path_of(path, sizeof(path), "threads.json");
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = s;
		w[i].id = i;
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, NTHREADS * NEVENTS);
	CHECK(sink_close(s) == 0);
	b = slurp(path, &len);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	for (line = b; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		json_t *v = json_loadb(line, (size_t)(nl - line), 0, &jerr);
		int wid, seq;

		n++;
		if (v == NULL) {
			bad++;
			continue;
		}
		wid = (int)json_integer_value(json_object_get(v, "w"));
		seq = (int)json_integer_value(json_object_get(v, "i"));
		if (wid < 0 || wid >= NTHREADS || seq != next[wid])
			bad++;
		else
			next[wid]++;
		json_decref(v);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(n, NTHREADS * NEVENTS);
	free(b);
}

int
main(void)
{
	char path[256];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_basic();
	test_dev_full();
	test_partial();
	test_evbuf();
	test_threads();

	path_of(path, sizeof(path), "basic.json");
	unlink(path);
	path_of(path, sizeof(path), "partial.json");
	unlink(path);
	path_of(path, sizeof(path), "evbuf.json");
	unlink(path);
	path_of(path, sizeof(path), "threads.json");
	unlink(path);
	rmdir(tmpdir);
	return CHECK_DONE();
}
