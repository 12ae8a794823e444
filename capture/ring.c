/*
 * ring.c - the SPSC packet ring between the capture reader and a worker.
 *
 * Positions are free-running byte counters (head >= tail, head - tail <=
 * size), so full and empty are unambiguous without a spare slot.  Records
 * are 8-byte aligned: [u32 len][u32 kind][struct pkt][payload].  Only the
 * payload travels (the worker needs no link or IP header bytes: the decoded
 * addresses are in struct pkt), which also makes a reassembled IP datagram
 * no different from a plain packet.  Rejected: a ring of pointers into
 * libpcap's buffer (libpcap overwrites it on the next read) and a
 * mutex/condvar queue (a lock per packet).
 */
#include "ring.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define RING_KIND_PKT 1
#define RING_KIND_WRAP 2
#define RING_KIND_TICK 3

struct ring_rec {
	uint32_t len;    /* whole record, aligned */
	uint32_t kind;
	struct pkt pkt;
};

static size_t
ring_align(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int
ring_init(struct ring *r, size_t size)
{
	size_t s = 1u << 20;

	while (s < size)
		s <<= 1;
	memset(r, 0, sizeof(*r));
	r->buf = aligned_alloc(64, s);
	if (r->buf == NULL)
		return -1;
	r->size = s;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->closed, 0);
	return 0;
}

void
ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

static void
ring_wait(unsigned *spins)
{
	if (++*spins < 64)
		__builtin_ia32_pause();
	else
		sched_yield();
}

/* Make sure `need` contiguous bytes can be written at head_local. */
static int
ring_reserve(struct ring *r, size_t need)
{
	unsigned spins = 0;

	while (r->head_local + need - r->tail_cache > r->size) {
		ring_spsc_produce_flush(r);
		r->tail_cache = atomic_load_explicit(&r->tail,
		    memory_order_acquire);
		if (r->head_local + need - r->tail_cache <= r->size)
			break;
		ring_wait(&spins);
	}
	return 0;
}

static int
ring_put(struct ring *r, const struct pkt *p, uint32_t kind)
{
	size_t need = ring_align(sizeof(struct ring_rec) + p->payload_len);
	size_t off = r->head_local & (r->size - 1);
	struct ring_rec *rec;

	if (need > r->size / 4)
		return -1;
	if (off + need > r->size) {
		/* wrap marker fills the rest of the buffer */
		size_t rest = r->size - off;
		ring_reserve(r, rest);
		rec = (struct ring_rec *)(r->buf + off);
		rec->len = (uint32_t)rest;
		rec->kind = RING_KIND_WRAP;
		r->head_local += rest;
		off = 0;
	}
	ring_reserve(r, need);
	rec = (struct ring_rec *)(r->buf + off);
	rec->len = (uint32_t)need;
	rec->kind = kind;
	rec->pkt = *p;
	rec->pkt.frame = NULL;
	rec->pkt.caplen = 0;
	if (p->payload_len)
		memcpy(rec + 1, p->payload, p->payload_len);
	r->head_local += need;
	if (++r->pending_pub >= RING_PUBLISH_EVERY)
		ring_spsc_produce_flush(r);
	return 0;
}

int
ring_spsc_produce_pkt(struct ring *r, const struct pkt *p)
{
	return ring_put(r, p, RING_KIND_PKT);
}

void
ring_spsc_produce_tick(struct ring *r, uint64_t ts_us)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_us = ts_us;
	ring_put(r, &p, RING_KIND_TICK);
}

void
ring_spsc_produce_flush(struct ring *r)
{
	r->pending_pub = 0;
	atomic_store_explicit(&r->head, r->head_local, memory_order_release);
}

void
ring_spsc_produce_close(struct ring *r)
{
	ring_spsc_produce_flush(r);
	atomic_store_explicit(&r->closed, 1, memory_order_release);
}

int
ring_spsc_consume_pkt(struct ring *r, struct pkt *p)
{
	struct ring_rec *rec;

	for (;;) {
		if (r->tail_local == r->head_cache) {
			int closed;

			ring_spsc_consume_release(r);
			closed = atomic_load_explicit(&r->closed,
			    memory_order_acquire);
			r->head_cache = atomic_load_explicit(&r->head,
			    memory_order_acquire);
			if (r->tail_local == r->head_cache)
				return closed ? -1 : 0;
		}
		rec = (struct ring_rec *)(r->buf +
		    (r->tail_local & (r->size - 1)));
		if (rec->kind == RING_KIND_WRAP) {
			r->tail_local += rec->len;
			continue;
		}
		*p = rec->pkt;
		p->payload = (const uint8_t *)(rec + 1);
		r->tail_local += rec->len;
		return rec->kind == RING_KIND_TICK ? 2 : 1;
	}
}

void
ring_spsc_consume_release(struct ring *r)
{
	/*
	 * Space is handed back lazily: the record just returned may still be
	 * in use by the caller, so the published tail lags by one batch.
	 */
	if (++r->pending_rel >= RING_PUBLISH_EVERY ||
	    r->tail_local == r->head_cache) {
		r->pending_rel = 0;
		atomic_store_explicit(&r->tail, r->tail_local,
		    memory_order_release);
	}
}
