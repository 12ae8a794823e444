/*
 * sink.h - where finished JSON lines go: a file, stdout, or /dev/null.
 *
 * Contract: a sink is shared by all workers; sink_write takes a buffer of
 * whole NDJSON lines and writes it with one write(2) loop under a mutex, so
 * lines from different workers never interleave mid-line and nothing is
 * locked per packet (workers batch into their own struct evbuf first).
 * A failed write (disk full, closed pipe) does not stop the analyzer: the
 * lines of that buffer are counted as dropped, the error is counted and the
 * first error's text is kept for the final summary.  SIGPIPE must be ignored
 * by the program (main does it).
 */
#ifndef RH_SINK_H
#define RH_SINK_H

#include <stddef.h>
#include <stdint.h>

struct sink;

struct sink_stats {
	uint64_t lines_written, lines_dropped, bytes_written, write_errors;
};

/* path "-" is stdout.  NULL on failure with a reason in err. */
struct sink *sink_open(const char *path, char *err, size_t errlen);
/* Write `lines` complete lines held in buf[0..len).  0 or -1 (counted). */
int sink_write(struct sink *s, const char *buf, size_t len, uint64_t lines);
void sink_stats_get(struct sink *s, struct sink_stats *st);
/* The first write error, or NULL. */
const char *sink_error(struct sink *s);
/* Flush and close; -1 if the final close/flush failed. */
int sink_close(struct sink *s);

#endif
