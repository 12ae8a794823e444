/*
 * worker.h - one analysis core: the flows it owns and everything they need.
 *
 * Contract: a worker owns a flow table, a TCP reassembler, pools for SMTP
 * sessions, their transactions and strings, and for the parts of a flow's
 * state only some flows need (message scan state, proxy handshake), a
 * scratch arena, its counters and its output buffer; nothing in it is
 * shared, so nothing is locked.  worker_packet
 * takes one decoded TCP packet that hashed to this worker (packets of one
 * connection always reach the same worker) and runs flow lookup,
 * classification (SMTP ports, 465 implicit TLS, banner sniffing on other
 * ports), reassembly and the SMTP parser, writing events to the worker's
 * evbuf.  worker_finish ends every flow (end of input) and flushes.
 */
#ifndef RH_WORKER_H
#define RH_WORKER_H

#include <stdint.h>

#include "../decode/flow.h"
#include "../decode/pkt.h"
#include "../decode/pool.h"
#include "../decode/smtp.h"
#include "../decode/proxy.h"
#include "../decode/tcp_reasm.h"
#include "../output/event.h"
#include "../output/evbuf.h"
#include "config.h"

struct worker_counters {
	uint64_t pkts, bytes, payload_bytes;
	uint64_t flow_alloc_fail;
	uint64_t conn_closed;       /* connections seen ending (FIN/RST) */
	uint64_t smtp_flows, sniffed_flows, tls_implicit_flows, ignored_flows;
	uint64_t encrypted_bytes;
	uint64_t session_alloc_fail;
	uint64_t msgmem_fail;
	uint64_t proxy_flows, proxy_tunnels, proxy_dropped_bytes;
	uint64_t anomalies[ANOM_COUNT];
};

struct worker {
	unsigned id;
	const struct rh_config *cfg;
	struct flow_table *flows;
	struct tcp_reasm *reasm;
	struct pool *sessions;      /* struct worker_app + smtp session */
	struct pool *blocks;        /* arena blocks for SMTP strings */
	struct pool *slots;         /* SMTP transactions */
	struct pool *proxies;       /* proxy handshake parsers */
	struct smtp_ctx *smtp_ctx;  /* what every SMTP session shares */
	struct pool *scratch_blocks;
	struct det_worker *det;     /* NULL when detection is off */
	struct pool *msgmem;        /* per-message scan state */
	struct pool *msgsets;       /* a flow's messages being scanned */
	struct relay_worker *relay; /* open-relay logic, NULL when off */
	struct relay_result rres;   /* of the transaction being reported */
	struct arena scratch;       /* per-event scratch (decoded values) */
	struct evbuf out;
	struct smtp_stats smtp;
	struct worker_counters ctr;
	uint64_t now_us;
	struct flow *cur_flow;      /* flow being processed (callbacks) */
	struct event_flow ef;       /* the flow fields of the last event */
	const void *ef_owner;       /* the flow state ef was built for */
	int8_t ef_server_dir;       /* and its roles */
};

/* 0, or -1 with a reason in err. */
int worker_init(struct worker *w, unsigned id, const struct rh_config *cfg,
    struct sink *sink, struct relay_bus *bus, char *err, size_t errlen);
/* The worker has nothing to do (its input ring is empty). */
void worker_idle(struct worker *w);
void worker_packet(struct worker *w, const struct pkt *p, uint32_t hash);
/*
 * The reader's clock reached ts_us (called once per second of packet time,
 * before the packet that crossed it): expire idle flows.  Driving timeouts
 * from one clock keeps the output independent of the number of workers.
 */
void worker_tick(struct worker *w, uint64_t ts_us);
/* End of input at packet time end_ts: end every flow, flush output. */
void worker_finish(struct worker *w, uint64_t end_ts);
void worker_destroy(struct worker *w);

/* Emit an anomaly event that belongs to no flow (decode anomalies). */
void worker_decode_anomaly(struct worker *w, enum anom_id a, uint64_t ts_us);

#endif
