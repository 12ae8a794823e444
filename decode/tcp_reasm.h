/*
 * tcp_reasm.h - TCP stream reassembly, one instance per worker.
 *
 * Contract: a struct tcp_conn (embedded in each flow) holds both directions
 * of one connection; dir 0 is the initiator (the side that sent the SYN, or
 * for a midstream pickup the sender of the first packet seen), dir 1 the
 * responder.  tcp_reasm_packet takes one decoded segment and calls the
 * output callbacks in stream order for that direction:
 *
 *  - data(): bytes in sequence.  The in-order fast path passes a pointer
 *    into the packet itself (no copy); bytes that arrived out of order are
 *    held in per-worker pool memory and delivered from there once the hole
 *    before them fills.
 *  - gap(): `len` bytes are known to be missing and will never come (the
 *    peer ACKed past them, the out-of-order queue hit its per-flow cap, or
 *    the connection ended with a hole).  Delivery then continues after it.
 *  - anomaly(): STREAM_OVERLAP_DIFFERENT_DATA (a retransmission that
 *    disagrees with bytes already seen: first copy wins, as the receiving
 *    host's stack typically keeps it), STREAM_MIDSTREAM_PICKUP (no SYN seen),
 *    STREAM_GAP, STREAM_MEMCAP (global cap), STREAM_OOO_LIMIT (per flow cap).
 *
 * Retransmissions of delivered bytes are dropped after the overlap check
 * (the check needs the old bytes, so only bytes still held, or the tail of
 * the last delivered segment kept in `last_tail`, can be compared).
 * Sequence numbers compare modulo 2^32.  There is no per-session depth: a
 * stream of any length is delivered in full; what is bounded is memory held
 * for out-of-order data, per flow (`flow_ooo_cap`) and per worker
 * (`memcap`).
 *
 * All callbacks are synchronous and must not call back into the reassembler
 * for the same connection.
 */
#ifndef RH_TCP_REASM_H
#define RH_TCP_REASM_H

#include <stdint.h>

#include "anomaly.h"
#include "pkt.h"

struct tcp_seg;

enum tcp_stream_flags {
	TCP_S_SYN = 0x01,        /* SYN seen: isn is exact */
	TCP_S_STARTED = 0x02,    /* next_seq is valid */
	TCP_S_MIDSTREAM = 0x04,  /* started without a SYN */
	TCP_S_FIN = 0x08,        /* FIN seen */
	TCP_S_RST = 0x10,        /* RST seen */
	TCP_S_CLOSED = 0x20,     /* no more data will be delivered */
	TCP_S_DATA = 0x40,       /* a segment with payload was seen */
	TCP_S_ACKED = 0x80,      /* peer_ack is valid */
};

#define TCP_TAIL_KEEP 32

/* Embedded twice in every flow: 88 bytes, ordered so nothing is padding. */
struct tcp_stream {
	uint32_t isn;            /* initial sequence number */
	uint32_t next_seq;       /* next byte expected in order */
	uint32_t fin_seq;        /* sequence of the FIN, when TCP_S_FIN */
	uint32_t peer_ack;       /* highest ACK the peer sent for this side */
	struct tcp_seg *ooo;     /* held segments, sorted by seq */
	struct tcp_seg *ooo_last; /* last held segment (append fast path) */
	uint32_t ooo_bytes;      /* bytes held in ooo (0 iff ooo == NULL) */
	uint8_t flags;           /* enum tcp_stream_flags */
	uint8_t last_tail_len;
	uint64_t delivered;      /* bytes handed to data() */
	uint64_t gap_bytes;      /* bytes reported missing */
	uint8_t last_tail[TCP_TAIL_KEEP]; /* last bytes delivered */
};

/*
 * CLOSED after a RST, or once both directions have a FIN and every byte
 * before each FIN was delivered or reported as a gap (a FIN that overtook
 * data keeps the connection CLOSING until the hole fills, is ACKed past,
 * or the flow times out).
 */
enum tcp_conn_state {
	TCP_CONN_NEW = 0,        /* SYN (or first packet) seen */
	TCP_CONN_ESTABLISHED,    /* handshake done or data both ways */
	TCP_CONN_CLOSING,        /* FIN seen */
	TCP_CONN_CLOSED,         /* both FINs (and data up to them) or RST */
};

struct tcp_conn {
	struct tcp_stream s[2];
	uint8_t state;           /* enum tcp_conn_state */
};

struct tcp_reasm_out {
	void (*data)(void *u, int dir, const uint8_t *d, uint32_t len,
	    uint64_t ts_us);
	void (*gap)(void *u, int dir, uint32_t len, uint64_t ts_us);
	void (*anomaly)(void *u, int dir, enum anom_id a, uint64_t ts_us);
	void *u;
};

struct tcp_reasm_config {
	uint64_t memcap;         /* bytes of held segments per worker */
	uint32_t flow_ooo_cap;   /* bytes of held segments per direction */
};

/*
 * segments: packets processed; bytes_in_order: bytes handed to data();
 * out_of_order: segments that arrived beyond next_seq; retransmitted:
 * segments wholly below next_seq; overlaps: segments sharing bytes with
 * delivered or held data; overlaps_diff: of those, the ones that disagreed;
 * mem_*: block bytes of held segments; ignored: packets refused (bad dir,
 * a second SYN with another ISN).
 */
struct tcp_reasm_stats {
	uint64_t segments, bytes_in_order, out_of_order, retransmitted;
	uint64_t overlaps, overlaps_diff, gaps, gap_bytes, midstream;
	uint64_t memcap_hits, ooo_limit_hits;
	uint64_t mem_in_use, mem_cap, mem_peak;
	uint64_t ignored;
};

struct tcp_reasm;

struct tcp_reasm *tcp_reasm_create(const struct tcp_reasm_config *cfg);
void tcp_reasm_destroy(struct tcp_reasm *r);

/* Zero a connection before its first segment. */
void tcp_conn_init(struct tcp_conn *c);

/*
 * Process one segment travelling in direction `dir` (0 initiator, 1
 * responder).  Updates connection state from the flags (SYN, FIN, RST) and
 * uses the ACK to detect bytes of the other direction that were lost.
 * Returns 0, or a negative value if the segment was not usable (it is
 * counted; the caller need not report anything).
 */
int tcp_reasm_packet(struct tcp_reasm *r, struct tcp_conn *c, int dir,
    const struct pkt *p, const struct tcp_reasm_out *out);

/*
 * The connection ends (close, timeout, eviction, end of input): deliver
 * every held segment in order, reporting holes as gaps, and free them.
 */
void tcp_reasm_flush(struct tcp_reasm *r, struct tcp_conn *c, uint64_t ts_us,
    const struct tcp_reasm_out *out);

void tcp_reasm_stats_get(const struct tcp_reasm *r, struct tcp_reasm_stats *st);

/* Held segments (pool blocks) of one direction: walks them, for tests. */
uint32_t tcp_stream_held(const struct tcp_stream *s);

#endif
