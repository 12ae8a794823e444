/*
 * flow.h - the per-worker flow table.
 *
 * Contract: one table per worker, never shared, so no locks.  Flows are
 * keyed by the canonical (sorted) pair of endpoints plus the VLAN stack, so
 * both directions find the same entry.  The table is a chained hash of
 * fixed-size struct flow objects from a pool capped at `max_flows`; when the
 * cap is hit the least recently used flow is evicted (end callback with
 * FLOW_END_EVICTED, counted) to make room.  Timeouts run in packet time
 * (offline captures replay their own clock): a flow not yet established
 * times out after `timeout_new`, an established one after
 * `timeout_established`, a closing/closed one after `timeout_closed`
 * (Suricata's defaults: 60, 600, 60 s).
 *
 * flow_id_get gives a 63-bit hash of the canonical key and the first
 * packet's timestamp: stable whatever the number of workers, so runs with
 * --workers 1 and --workers 4 label the same flow the same way.  It is
 * computed when asked (events only), not kept in every flow.
 *
 * The end callback is called exactly once per flow (timeout, eviction,
 * RST/FIN close detected by the caller via flow_close, or flow_table_drain
 * at end of input), before its memory returns to the pool; the callback must
 * release whatever the flow's `app` points to.
 */
#ifndef RH_FLOW_H
#define RH_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "tcp_reasm.h"

struct flow_key {
	uint8_t a[16], b[16];    /* a <= b (memcmp of address, then port) */
	uint16_t pa, pb;         /* ports of a and b */
	uint16_t vlan[PKT_MAX_VLAN];
	uint8_t vlan_count;
	uint8_t ipver;
};

enum flow_end_reason {
	FLOW_END_TIMEOUT = 0,
	FLOW_END_EVICTED,
	FLOW_END_CLOSED,
	FLOW_END_SHUTDOWN,
};

enum flow_app {
	FLOW_APP_UNKNOWN = 0,    /* not yet classified */
	FLOW_APP_SMTP,           /* app points at an SMTP session */
	FLOW_APP_TLS_IMPLICIT,   /* port 465: counted, not parsed */
	FLOW_APP_IGNORED,        /* not SMTP: packets skipped cheaply */
};

/* One per tracked TCP connection, from the table's pool: 320 bytes. */
struct flow {
	struct flow_key key;
	uint32_t hash;
	uint8_t init_is_a;       /* 1: the initiator (dir 0) is key side a */
	uint8_t app_kind;        /* enum flow_app */
	uint8_t midstream;       /* 1 if the first packet had no SYN */
	uint8_t ended;
	uint8_t sniff_tries;      /* payload packets sniffed while unclassified */
	uint64_t ts_first, ts_last;  /* microseconds */
	uint64_t pkts[2], bytes[2];  /* per direction, 0 = initiator; counted
	                              * by flow_get (bytes: TCP payload) */
	struct tcp_conn tcp;
	void *app;               /* owned by the worker; released in end cb */
	/* table linkage, private to flow.c */
	struct flow *hnext;
	struct flow *lru_prev, *lru_next;
};

struct flow_config {
	uint32_t max_flows;          /* cap on tracked flows */
	uint32_t hash_buckets;       /* power of two, >= 1024 */
	uint32_t timeout_new;        /* seconds */
	uint32_t timeout_established;
	uint32_t timeout_closed;
};

struct flow_stats {
	uint64_t active, created, closed, timed_out, evicted, shutdown;
	uint64_t cap, mem_bytes;     /* max_flows, sizeof(struct flow) * peak */
	uint64_t alloc_fail;         /* flow_get returned NULL */
};

typedef void (*flow_end_cb)(void *u, struct flow *f, enum flow_end_reason why);

struct flow_table;

struct flow_table *flow_table_create(const struct flow_config *cfg,
    flow_end_cb end, void *u);
void flow_table_destroy(struct flow_table *t);

/*
 * Find or create the flow of a decoded TCP packet.  *dir is set to 0 when
 * the packet travels from the initiator, 1 otherwise; *created to 1 for a
 * new flow (initiator = sender of this packet, except a lone SYN-ACK whose
 * receiver is the initiator).  Returns NULL only if no flow could be made
 * (pool exhausted and nothing evictable); that is counted.  The flow moves to
 * the head of the LRU list and ts_last is updated; the packet is counted in
 * pkts[*dir] and bytes[*dir].  A matching flow already idle past its
 * timeout is ended (FLOW_END_TIMEOUT) and a new one is made.
 */
struct flow *flow_get(struct flow_table *t, const struct pkt *p, uint32_t hash,
    int *dir, int *created);

/* End a flow now (both FINs seen, RST): end callback, then freed. */
void flow_close(struct flow_table *t, struct flow *f);

/*
 * Time out idle flows as of packet time now_us, doing at most `max_work`
 * flows per call so a sweep never stalls the packet path.  Returns the
 * number ended.  The sweep walks from the LRU tail toward the head and
 * resumes where the previous call stopped, so flows with a short timeout
 * behind long-lived ones are still reached.
 */
unsigned flow_table_expire(struct flow_table *t, uint64_t now_us,
    unsigned max_work);

/* End every flow (end of input): end callback with FLOW_END_SHUTDOWN. */
void flow_table_drain(struct flow_table *t);

void flow_stats_get(const struct flow_table *t, struct flow_stats *st);

/* The flow's 63-bit id (see above). */
uint64_t flow_id_get(const struct flow *f);

/* Addresses and ports of a flow's initiator (dir 0) and responder (dir 1). */
void flow_endpoint(const struct flow *f, int dir, const uint8_t **addr,
    uint16_t *port);

#endif
