/*
 * ring.h - single-producer single-consumer byte ring of packet records.
 *
 * Contract: exactly one thread calls the ring_spsc_produce_* functions and
 * exactly one other thread calls the ring_spsc_consume_* functions (the
 * names say so, as in ck_ring).  A record is a struct pkt (the decoded
 * metadata) followed by its TCP payload, copied once out of the capture
 * buffer, which libpcap reuses on the next read.  The producer publishes its
 * position with a release store every RING_PUBLISH_EVERY records (and on
 * ring_spsc_produce_flush), the consumer releases space the same way, so the
 * two cores exchange a cache line per batch, not per packet.  No locks.
 *
 * A record never wraps: when it does not fit before the end of the buffer a
 * wrap marker is written and the record starts at offset 0.
 */
#ifndef RH_RING_H
#define RH_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/pkt.h"

#define RING_PUBLISH_EVERY 32

struct ring {
	uint8_t *buf;
	size_t size;                         /* power of two */
	_Alignas(64) _Atomic size_t head;    /* written by producer */
	size_t head_local;                   /* producer's private head */
	size_t tail_cache;                   /* producer's view of tail */
	unsigned pending_pub;
	_Alignas(64) _Atomic size_t tail;    /* written by consumer */
	size_t tail_local;                   /* consumer's private tail */
	size_t head_cache;                   /* consumer's view of head */
	unsigned pending_rel;
	_Alignas(64) _Atomic int closed;     /* producer finished */
};

/* size: bytes, rounded up to a power of two (>= 1 MiB).  0 or -1. */
int ring_init(struct ring *r, size_t size);
void ring_free(struct ring *r);

/*
 * Copy p (with its payload) into the ring.  Spins (yielding) while full.
 * Returns 0, or -1 if the record can never fit (payload > ring/4).
 */
int ring_spsc_produce_pkt(struct ring *r, const struct pkt *p);
void ring_spsc_produce_flush(struct ring *r);
/* No more records: flush and mark closed. */
void ring_spsc_produce_close(struct ring *r);

/*
 * A clock tick: packet time reached ts_us.  Workers expire flows on the
 * reader's clock, not their own, so timeouts (and the events they cause)
 * do not depend on how flows were spread over the workers.
 */
void ring_spsc_produce_tick(struct ring *r, uint64_t ts_us);

/*
 * The next record: 1 and *p (payload pointing into the ring, valid until
 * ring_spsc_consume_release), 2 for a tick (only p->ts_us is set), 0 if the
 * ring is empty for now, -1 when the ring is empty and closed.
 */
int ring_spsc_consume_pkt(struct ring *r, struct pkt *p);
/* Give back the space of the record last returned. */
void ring_spsc_consume_release(struct ring *r);

#endif
