/*
 * detect.h - every detection of one SMTP transaction, in one call.
 *
 * Contract: the process loads the rules and compiles them once
 * (det_global_create, shared read-only by all workers); each worker owns a
 * struct det_worker (Hyperscan scratch and stream pool).  For each message
 * the worker streams the content through det_msg_* (header section scanned
 * as it arrives, nothing copied), and when the transaction ends det_tx
 * parses the Received chain and the Date, runs the chain and wire checks
 * (detections 1101-1203), evaluates the signature rules (1001-1099 and any
 * user rules) and fills a struct det_result: the parsed hops, origin and
 * injection point, the Authentication-Results of the receiving site, and
 * the alerts, each with its metadata, hop and evidence (copied, at most
 * 1 KiB).  The result lives in the worker and is overwritten by the next
 * det_tx call.
 *
 * det_global_create opens the Hyperscan database cache in
 * cfg->hs_cache_dir (detect/hscache.h) for the compile and keeps it for
 * its counters (stats.detect.hyperscan.cache); a cache problem is never an
 * error here: hscache_warning(g->hs_cache) gives the one line to report.
 */
#ifndef RH_DETECT_H
#define RH_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/smtp.h"
#include "chain.h"
#include "hscache.h"
#include "hsengine.h"
#include "received.h"
#include "rules.h"

#define DET_MAX_HOPS 64
#define DET_MAX_ALERTS 48
#define DET_MAX_AUTHSERV 16

struct det_config {
	const char *const *rule_files;      /* user rule files, in order */
	unsigned n_rule_files;
	const char *default_rules;          /* NULL: none */
	struct chain_config chain;
	const char *const *authserv_ids;    /* trusted authserv-ids */
	unsigned n_authserv_ids;
	uint32_t max_open_msgs;             /* per worker */
	const char *hs_cache_dir;           /* compiled-database cache
	                                     * (hscache_resolve_dir), NULL:
	                                     * none */
};

struct det_global {
	struct rule_set *rules;
	struct hseng *hs;
	struct hscache *hs_cache;           /* never NULL after create */
	struct det_config cfg;
};

struct det_alert {
	int signature_id;
	const char *signature;
	const char *category;
	const char *description;
	int severity;
	int hop;                            /* index into received, or -1 */
	uint8_t nat;
	char detail[64];
	char evidence[HSENG_EVIDENCE_MAX + 1];
	uint32_t evidence_len;
};

struct det_result {
	struct received rcv[DET_MAX_HOPS];
	unsigned n_rcv;
	unsigned n_rcv_total;               /* Received headers in the message */
	struct chain_result chain;
	uint8_t has_authres;
	struct authres ar;
	struct det_alert alerts[DET_MAX_ALERTS];
	unsigned n_alerts;
	unsigned n_alerts_dropped;
};

/* The wire facts of a transaction that only the worker knows. */
struct det_wire {
	uint8_t ipver;
	uint8_t client_ip[16], server_ip[16];
	uint8_t client_in_home_net, server_in_home_net;
};

struct det_worker;

/* NULL with "FILE:LINE: reason" (rules) or another reason in err. */
struct det_global *det_global_create(const struct det_config *cfg, char *err,
    size_t errlen);
void det_global_free(struct det_global *g);

struct det_worker *det_worker_create(const struct det_global *g);
void det_worker_destroy(struct det_worker *w);

/* Bytes of caller memory per message in progress. */
size_t det_msg_size(const struct det_global *g);
struct hseng_msg *det_msg_begin(struct det_worker *w, void *mem);
void det_msg_data(struct det_worker *w, struct hseng_msg *m, const uint8_t *d,
    size_t n, int in_header);
void det_msg_end(struct det_worker *w, struct hseng_msg *m);

/* All detections of tx; m is the message's scan state or NULL.  The
 * result stays valid until the next call on this worker. */
const struct det_result *det_tx(struct det_worker *w, const struct smtp_tx *tx,
    struct hseng_msg *m, const struct det_wire *wire);

/*
 * Add an alert found by another module (open-relay logic) to the result
 * of the last det_tx, so the transaction's `alerts` list and the counters
 * include it; the caller writes its alert event itself.
 */
void det_result_add(struct det_worker *w, int sid, const char *name,
    const char *category, int severity, int count);
/* Count an alert raised outside any transaction (stats.detect.alerts). */
void det_count_alert(struct det_worker *w, int sid, const char *name);

/* Alerts by signature id, for stats.detect.alerts. */
void det_worker_alert_counts(const struct det_worker *w,
    void (*fn)(void *u, int sid, const char *name, uint64_t n), void *u);

/* 1 if addr (ver 4/6) is inside one of the CIDRs. */
int det_cidr_match(const struct chain_cidr *c, unsigned n, int ver,
    const uint8_t *addr);

#endif
