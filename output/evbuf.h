/*
 * evbuf.h - a worker's output buffer of finished JSON lines.
 *
 * Contract: one per worker (no locks).  An event is written straight into
 * this buffer, either by a jw writer between evbuf_begin and evbuf_commit
 * (the per-transaction events) or by jansson from a json_t (evbuf_put, the
 * rare ones), a newline appended, and the buffer is handed to the sink when
 * it passes `flush_at` bytes (default 256 KiB) and at evbuf_flush: write(2)
 * once per buffer, never per packet or per event.  An event that cannot be
 * written (out of memory, past 16 MiB) is counted as dropped, never
 * written half.
 */
#ifndef RH_EVBUF_H
#define RH_EVBUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jw.h"
#include "sink.h"

struct evbuf {
	struct sink *sink;
	char *buf;
	size_t len, cap, flush_at;
	uint64_t lines;          /* lines in buf */
	uint64_t events, dropped;
	struct jw jw;            /* the event between begin and commit */
};

/* flush_at 0 is the default.  A NULL sink discards.  0 or -1 (no memory). */
int evbuf_init(struct evbuf *b, struct sink *s, size_t flush_at);
/* Flushes what is left to the sink, then frees the buffer. */
void evbuf_free(struct evbuf *b);
/* Serialise `obj` as one line; the reference is not stolen.  0 or -1. */
int evbuf_put(struct evbuf *b, const json_t *obj);
/*
 * Start one event written in place: the writer appends after the last
 * line (it may flush the earlier lines to make room).  No other evbuf call
 * until evbuf_commit, which ends the line (0), or, when a write failed or
 * the document is not balanced, drops the event whole and counts it (-1).
 */
struct jw *evbuf_begin(struct evbuf *b);
int evbuf_commit(struct evbuf *b);
void evbuf_flush(struct evbuf *b);

#endif
