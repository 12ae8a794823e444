/*
 * relay.h - open-relay behaviour on the wire (detections 1301-1305,
 * 1401-1402 of ../shared/spec/detections.md).
 *
 * Contract: relay_tx judges one finished SMTP transaction against the
 * site's knowledge (struct relay_config: home_net, local domains, limits)
 * and what the session showed (AUTH, the client and server addresses, the
 * replies): RELAY_ACCEPTED (1301), RELAY_PROBE (1303), BULK_RCPT (1305),
 * AUTH_FAIL_WITH_RELAY_HOP (1401) and FROM_ENVELOPE_MISALIGN (1402).
 * Without configured local domains a server is taken as local to the
 * registered domains of its banner name and of the RCPT domains it accepts
 * most, and the result says which assumption was used
 * (local_domains_assumed).  That learning is per worker (flows of one
 * server spread over the workers), so only configured local domains give
 * results that do not depend on the number of workers.
 *
 * RELAY_CONFIRMED (1302) needs two flows that usually live on different
 * workers: the message accepted for a foreign recipient (INBOUND record:
 * the 1301 transaction) and the same message leaving that server as an
 * SMTP client towards a host outside home_net (OUTBOUND record: every
 * transaction that carried a message).  "Same message": equal Message-ID
 * hashes when both have a Message-ID, else equal digests of the first
 * RELAY_DIGEST_BYTES of the body (relays add a missing Message-ID).
 * A pair matches when 0 <= t_out - t_in <= correlation_window.
 *
 * OUTBOUND records never leave the worker that saw the transaction;
 * INBOUND records are broadcast to every other worker through a
 * struct relay_bus (an N x N matrix of SPSC rings of fixed 256-byte
 * records, no lock, no shared table).  So the worker holding the OUTBOUND
 * record is the only one that can ever see both halves: it emits the 1302,
 * either when it judges the outbound transaction (INBOUND already known) or
 * when the INBOUND arrives later from the bus.  Each pair is found exactly
 * once, and the alert is built from the two records only, so --workers 1
 * and --workers N give the same 1302 events (in a different output order).
 * One 1302 per (inbound, outbound) pair: a message relayed to three hosts
 * gives three, each with its outbound_flow_id.
 *
 * The 1302 event: flow fields (flow_id, addresses, ports, tx_id) of the
 * INBOUND flow, where the 1301 was raised; relay.outbound_flow_id and
 * relay.outbound_dest_ip name the outbound flow; timestamp = outbound
 * transaction time; delay_s = t_out - t_in.  foreign_rcpt and
 * local_domains_assumed travel in the record, cut to RELAY_REC_RCPT-1 and
 * RELAY_REC_ASSUMED-1 bytes; the inbound transaction's MAIL FROM, RCPTs,
 * Message-ID and Subject travel beside it (struct relay_txctx, cut).
 *
 * Proxy tunnels (1304, linked): a transaction inside a granted tunnel
 * (client -> proxy, wire->tunnel set) is a TUNNEL_IN record, broadcast like
 * INBOUND; every other transaction with a message is a TUNNEL_OUT record
 * kept on its worker (it may be the proxy's own leg).  They pair when the
 * leg's client is the tunnel's server (the proxy), the leg's server port is
 * the CONNECT target's port (and its address the target's, when the target
 * was an address), the message is the same, and the two transactions end
 * within 10 s of each other in either order (the target's reply reaches
 * the proxy before the client).  The TUNNEL_OUT's worker emits a 1304 with
 * relay.confirmed = 1, the tunnel flow as its flow and the leg as
 * relay.outbound_flow_id; both kinds expire 10 s after the slowest clock
 * passes them, so they cost ~10 s of transactions of table space.
 *
 * Expiry uses packet time, never the wall clock.  Each worker publishes its
 * clock (max tick time) in an atomic on relay_worker_tick, after all its
 * records are in the rings; on a tick a worker reads the slowest clock
 * Cmin, drains its rings, then drops OUTBOUND records with t < Cmin (every
 * INBOUND still to come has t_in >= its publisher's clock >= Cmin) and
 * INBOUND records with t + window < Cmin (every OUTBOUND still to come has
 * t_out >= own clock >= Cmin).  Offline workers run at different speeds;
 * the slowest clock makes expiry independent of that, so nothing that can
 * still match is dropped.  Only the record caps (counted) and packet
 * timestamps that go backwards can lose a match.
 *
 * Memory per worker: 2 x max_records x (256 + 8) bytes of records and
 * links, max_records x sizeof(struct relay_txctx) (1.3 KB) of inbound
 * context (allocated in chunks of 256 as records arrive), plus
 * 2 x 2 x buckets x 4 bytes of index (buckets = the power of two >=
 * max_records): 9 MiB at the default 16384 before any inbound record, 30
 * MiB with a full inbound table.  Bus:
 * N x (N-1) x ring_slots x 1.5 KB (4.5 MiB for 4 workers at 256 slots).
 * The per-server domain table: RELAY_SRV_MAX x RELAY_SRV_DOMAINS entries.
 *
 * Calls, all on the worker's own thread unless said otherwise:
 *  - process: chain_global_init (libpsl), then relay_bus_create(N, slots)
 *    once (relay_bus_destroy after every worker thread is joined);
 *  - per worker: relay_worker_create(cfg, bus, index, confirm_cb, u);
 *  - per transaction: relay_tx (drains the rings first) with the wire
 *    facts and, when the message has no Message-ID, the body digest
 *    (relay_digest_* over msg_data with in_header == 0);
 *  - per tick (packet-time clock from the reader): relay_worker_tick;
 *  - whenever the worker is idle (input ring empty): relay_worker_poll,
 *    so that a peer blocked on a full ring towards it can go on;
 *  - end of input: relay_worker_finish, which returns once every worker
 *    has finished and the last records are matched; then
 *    relay_worker_destroy.
 * confirm_cb is called (on the worker's thread, from relay_tx, tick, poll
 * or finish) with each 1302; the struct is valid during the call only.
 */
#ifndef RH_RELAY_H
#define RH_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/bstr.h"
#include "../decode/smtp.h"
#include "chain.h"
#include "detect.h"

#define RELAY_MAX_DOMAINS 256
#define RELAY_MAX_SERVERS 64
#define RELAY_MAX_ALERTS 8
#define RELAY_EVIDENCE_MAX 512
#define RELAY_DIGEST_BYTES 4096
#define RELAY_REC_RCPT 96
#define RELAY_REC_ASSUMED 64
#define RELAY_SRV_MAX 256        /* servers in the learning table */
#define RELAY_SRV_DOMAINS 8      /* domains counted per server */
#define RELAY_LEARN_MIN 5        /* accepted RCPTs before a domain counts */
#define RELAY_LEARN_TOP 3        /* learned domains used per server */

struct relay_server_domains {
	struct chain_cidr server;            /* a mail server (or its net) */
	char **domains;                      /* lower case, no trailing dot */
	unsigned n_domains;
};

struct relay_config {
	const struct chain_cidr *home_net;
	unsigned n_home_net;
	char **local_domains;                /* global list */
	unsigned n_local_domains;
	const struct relay_server_domains *servers;
	unsigned n_servers;
	uint32_t bulk_rcpt_limit;            /* default 50 (0: default) */
	uint32_t bulk_tx_limit;              /* default 20 (0: default) */
	uint32_t correlation_window;         /* seconds, default 3600 (0: d.) */
	uint32_t max_records;                /* per worker, default 16384 */
};

/* The `relay` object of events.md. */
struct relay_info {
	uint8_t ipver;
	uint8_t server_ip[16], client_ip[16];
	char foreign_rcpt[256];
	char local_domains_assumed[256];     /* "" when configured */
	uint8_t confirmed;
	uint64_t outbound_flow_id;
	uint8_t outbound_dest_ip[16];
	double delay_s;
};

struct relay_alert {
	int signature_id;                    /* 1301 ... 1402 */
	const char *signature;               /* name from detections.md */
	const char *category;                /* open-relay, authentication */
	int severity;
	char evidence[RELAY_EVIDENCE_MAX + 1];
	uint32_t evidence_len;
	uint8_t has_relay;                   /* 1301, 1302: `relay` is set */
	struct relay_info relay;
};

struct relay_result {
	struct relay_alert alerts[RELAY_MAX_ALERTS];
	unsigned n_alerts;
};

/* What only the worker knows about the transaction's flow. */
struct relay_wire {
	uint8_t ipver;                       /* 4 or 6 */
	uint8_t client_ip[16], server_ip[16];
	uint16_t client_port, server_port;
	uint8_t client_in_home_net, server_in_home_net;
	uint64_t flow_id;
	uint64_t ts_us;                      /* tx->ts_us */
	uint64_t body_digest;                /* relay_digest_value, 0 none */
	uint8_t tunnel;                      /* inside a granted proxy tunnel:
					        the flow's server is the proxy */
	uint8_t tunnel_has_ip;               /* target given as an address */
	uint16_t tunnel_port;                /* the CONNECT target */
	uint8_t tunnel_ip[16];
};

/*
 * The inbound transaction's context that the 1302 event carries (events.md:
 * every alert has its transaction's mail_from, rcpt_to, message_id and
 * subject).  Raw bytes with lengths, each cut to its buffer; rcpts holds as
 * many whole addresses as fit (each a 2-byte little-endian length and the
 * bytes), in transaction order, rcpt_stored of rcpt_count.
 */
#define RELAY_CTX_STR 256
#define RELAY_CTX_RCPTS 500
struct relay_txctx {
	uint32_t rcpt_count;
	uint16_t rcpt_stored, rcpts_len;
	uint16_t mail_from_len, message_id_len, subject_len;
	uint8_t has_mail_from, has_hdr, has_message_id, has_subject;
	char mail_from[RELAY_CTX_STR];
	char message_id[RELAY_CTX_STR];
	char subject[RELAY_CTX_STR];
	uint8_t rcpts[RELAY_CTX_RCPTS];
};

/* Fill ctx from a finished transaction (used by relay_tx for INBOUND). */
void relay_txctx_fill(struct relay_txctx *ctx, const struct smtp_tx *tx);

/* A 1302, with the INBOUND flow the event is written for. */
struct relay_confirmed {
	struct relay_alert alert;            /* relay.confirmed = 1 */
	uint8_t ipver;
	uint8_t client_ip[16], server_ip[16];
	uint16_t client_port, server_port;
	uint64_t flow_id;                    /* the inbound flow */
	uint32_t tx_id;                      /* the inbound transaction */
	uint64_t inbound_ts_us;
	uint64_t ts_us;                      /* event time: the outbound tx */
	uint32_t outbound_tx_id;
	const struct relay_txctx *ctx;       /* the inbound transaction's */
};

typedef void (*relay_confirm_fn)(void *u, const struct relay_confirmed *c);

/*
 * Body digest over the first RELAY_DIGEST_BYTES body bytes, fed in pieces:
 * the value depends only on that byte sequence (not on how it was split
 * into feed calls, nor on the host's byte order), so the two legs of a
 * relay, segmented differently, agree.  Not collision-resistant against a
 * sender who wants two bodies to match.  48 bytes; the fields are private.
 */
struct relay_digest {
	uint64_t lane[4];                    /* 8-byte word k: lane k % 4 */
	uint8_t part[8];                     /* an incomplete word's bytes */
	uint32_t n;                          /* bytes taken (capped) */
};
void relay_digest_init(struct relay_digest *d);
/* Bytes past the first RELAY_DIGEST_BYTES (and p == NULL) are ignored. */
void relay_digest_feed(struct relay_digest *d, const uint8_t *p, size_t n);
/* 0 when no body byte was fed, never 0 otherwise; does not end feeding. */
uint64_t relay_digest_value(const struct relay_digest *d);

struct relay_stats {
	uint64_t inbound_published;          /* 1301 records sent to the bus */
	uint64_t inbound_received;           /* from other workers */
	uint64_t outbound_recorded;
	uint64_t confirmed;                  /* 1302 emitted by this worker */
	uint64_t tunnels_published;          /* tunnelled tx sent to the bus */
	uint64_t tunnels_linked;             /* linked 1304 emitted here */
	uint64_t expired;
	uint64_t evicted;                    /* dropped by max_records */
	uint64_t tunnel_evicted;             /* tunnel legs dropped by it */
	uint64_t ring_full_waits;
	uint64_t servers_evicted;            /* learning table */
	uint64_t context_lost;               /* inbound tx context not kept
					        (no memory): a 1302 without
					        its smtp/email fields */
	uint32_t inbound_in_table, outbound_in_table;
};

struct relay_bus;
struct relay_worker;

/* NULL on bad arguments (n_workers 0 or > 1024) or no memory.
 * ring_slots: records per ring, rounded up to a power of two (>= 16). */
struct relay_bus *relay_bus_create(unsigned n_workers, unsigned ring_slots);
void relay_bus_destroy(struct relay_bus *b);

/* bus NULL: a single worker with local tables only.  NULL on failure. */
struct relay_worker *relay_worker_create(const struct relay_config *cfg,
    struct relay_bus *bus, unsigned idx, relay_confirm_fn fn, void *u);
void relay_worker_destroy(struct relay_worker *w);

/*
 * Judge tx; det may be NULL (no 1401 then).  Fills out (alerts of this
 * transaction; a 1302 found meanwhile goes to the callback).  Returns the
 * number of alerts.
 */
int relay_tx(const struct relay_config *cfg, struct relay_worker *w,
    const struct smtp_tx *tx, const struct det_result *det,
    const struct relay_wire *wire, struct relay_result *out);

void relay_worker_tick(struct relay_worker *w, uint64_t now_us);
void relay_worker_poll(struct relay_worker *w);
void relay_worker_finish(struct relay_worker *w);
void relay_worker_stats(const struct relay_worker *w, struct relay_stats *st);

#endif
