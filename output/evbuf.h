/*
 * evbuf.h - a worker's output buffer of finished JSON lines.
 *
 * Contract: one per worker (no locks).  Events are serialised with jansson
 * straight into this buffer (json_dumpb), a newline appended, and the buffer
 * is handed to the sink when it passes `flush_at` bytes (default 256 KiB)
 * and at evbuf_flush: jansson is called once per event and write(2) once
 * per buffer, never per packet.  An event that cannot be serialised (out of
 * memory) is counted as dropped, never written half.
 */
#ifndef RH_EVBUF_H
#define RH_EVBUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sink.h"

struct evbuf {
	struct sink *sink;
	char *buf;
	size_t len, cap, flush_at;
	uint64_t lines;          /* lines in buf */
	uint64_t events, dropped;
};

/* flush_at 0 is the default.  A NULL sink discards.  0 or -1 (no memory). */
int evbuf_init(struct evbuf *b, struct sink *s, size_t flush_at);
/* Flushes what is left to the sink, then frees the buffer. */
void evbuf_free(struct evbuf *b);
/* Serialise `obj` as one line; the reference is not stolen.  0 or -1. */
int evbuf_put(struct evbuf *b, const json_t *obj);
void evbuf_flush(struct evbuf *b);

#endif
