/*
 * hsengine.h - the Hyperscan signature engine over a struct rule_set.
 *
 * Contract and lifetimes:
 *
 *  once per process   hseng_create(rules) compiles one database per scope:
 *                     streaming DBs for `headers`, `body`, `data`; block
 *                     DBs for `helo`, `mail_from`, `rcpt_to` and one per
 *                     distinct `header:<Name>`.  Every pattern is its own
 *                     Hyperscan id with HS_FLAG_SINGLEMATCH; a rule fires
 *                     when, inside one instance of one of its scopes, all
 *                     its plain patterns matched and none of its negated
 *                     ones did, and its condition holds.  A compile error
 *                     comes back as "FILE:LINE: ..." with Hyperscan's own
 *                     message.  With `cache` (may be NULL; borrowed for the
 *                     call only) each database is loaded from or saved to
 *                     the compiled-database cache (detect/hscache.h);
 *                     matches do not depend on whether it hit.  The engine is read-only afterwards and is
 *                     shared by all workers.  It also installs a Hyperscan
 *                     stream allocator (process-wide) that takes stream
 *                     state from the calling worker's pool.
 *  per worker         hseng_worker_create(engine, max_open) clones the
 *                     scratch and makes a pool of stream states (at most
 *                     `max_open` messages in progress at once, each holding
 *                     up to 3 streams).  Use a worker from one thread only.
 *  per message        the caller gives hseng_msg_size() bytes per message
 *                     in progress (e.g. next to its flow state), then calls
 *                     hseng_msg_begin, hseng_msg_data for each content chunk
 *                     in order (smtp_out.msg_data: header bytes feed the
 *                     `headers` and `data` streams, body bytes `body` and
 *                     `data`; the `headers` stream is closed at the first
 *                     body byte, so header rules cost nothing on the body),
 *                     and hseng_msg_end (smtp_out.msg_end).  No message copy
 *                     is kept; matches straddling chunks are found; streams
 *                     are opened per message, so SINGLEMATCH is per message.
 *                     A flow that ends inside a message: hseng_msg_end too.
 *  per transaction    hseng_tx_eval(worker, msg or NULL, tx, facts, cb, u)
 *                     at smtp_out.tx_done: scans the envelope (HELO, MAIL
 *                     FROM, each RCPT) and each stored header field of the
 *                     header:<Name> scopes in block mode, combines them with
 *                     the message's stream matches and calls cb once per
 *                     fired rule (a rule fires at most once per
 *                     transaction).  `msg` must have been ended; it is
 *                     cleared for reuse.
 *
 * Evidence (at most HSENG_EVIDENCE_MAX bytes, valid during cb only): for a
 * header:<Name> match the field as "Name: value" (unfolded); for a
 * `headers`/`data` match in the header section the stored field whose line
 * holds the match end (counted from the raw stream; if the header section
 * had skipped lines or dropped fields the mapping is not trusted and the
 * pattern is given instead); for a body match up to 256 bytes of the line
 * around the match end as seen in its chunk (first body match of the
 * message only), else the pattern text; for envelope scopes the HELO,
 * address or recipient.  Several patterns of one rule give their evidence
 * lines joined by "\n" (distinct lines only).
 *
 * Nothing is printed; errors are counted in struct hseng_worker_stats.
 */
#ifndef RH_HSENGINE_H
#define RH_HSENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/bstr.h"
#include "../decode/smtp.h"
#include "hscache.h"
#include "rules.h"

#define HSENG_EVIDENCE_MAX 1024

struct hseng;
struct hseng_worker;
struct hseng_msg;        /* caller memory of hseng_msg_size() bytes */

struct hseng_alert {
	const struct rule *rule;
	enum rule_scope_kind scope;  /* the scope that matched */
	const char *header;          /* RULE_SCOPE_HEADER: its field name */
	struct bstr evidence;
	int hop;                     /* index into email.received (top = 0)
	                              * when a Received field is to blame,
	                              * else -1 */
};

typedef void (*hseng_alert_fn)(void *u, const struct hseng_alert *a);

struct hseng_stats {
	size_t db_bytes[RULE_SCOPE__COUNT]; /* hs_database_size; HEADER is the
	                                     * sum over all header names */
	size_t stream_state_bytes;   /* hs_stream_size summed over the
	                              * streaming DBs: bytes per open message */
	size_t msg_bytes;            /* hseng_msg_size() */
	size_t scratch_bytes;        /* hs_scratch_size per worker */
	unsigned databases;
	unsigned patterns;
	unsigned rules;
};

struct hseng_worker_stats {
	uint64_t messages;           /* hseng_msg_begin calls */
	uint64_t bytes;              /* content bytes given */
	uint64_t stream_fail;        /* streams not opened (pool cap) */
	uint64_t scan_errors;        /* Hyperscan returned an error */
	uint64_t alerts;
	uint64_t streams_open;       /* now */
	uint64_t streams_peak;
};

/* Compile; NULL with "FILE:LINE: reason" in err on failure. */
struct hseng *hseng_create(const struct rule_set *rs, struct hscache *cache,
    char *err, size_t errlen);
void hseng_destroy(struct hseng *e);
void hseng_stats(const struct hseng *e, struct hseng_stats *st);

/* Bytes the caller provides per message in progress. */
size_t hseng_msg_size(const struct hseng *e);

struct hseng_worker *hseng_worker_create(const struct hseng *e,
    size_t max_open);
void hseng_worker_destroy(struct hseng_worker *w);
void hseng_worker_stats(const struct hseng_worker *w,
    struct hseng_worker_stats *st);

/* Start a message in `mem` (hseng_msg_size() bytes).  Returns the message
 * handle; never NULL (streams that cannot be opened are counted and their
 * scopes are skipped for this message). */
struct hseng_msg *hseng_msg_begin(struct hseng_worker *w, void *mem);
void hseng_msg_data(struct hseng_worker *w, struct hseng_msg *m,
    const uint8_t *d, size_t n, int in_header);
/* Close the streams (end-anchored matches are found here). */
void hseng_msg_end(struct hseng_worker *w, struct hseng_msg *m);

/*
 * Evaluate all rules for one transaction; `m` may be NULL (no content).
 * Returns the number of alerts raised.
 */
int hseng_tx_eval(struct hseng_worker *w, struct hseng_msg *m,
    const struct smtp_tx *tx, uint32_t facts, hseng_alert_fn cb, void *u);

/*
 * Facts the transaction itself tells: auth_success, auth_attempted,
 * null_sender, multipart_report (top-level Content-Type), auto_submitted
 * (present and not "no"), starttls, midstream.  The caller ORs in
 * client_in_home_net / server_in_home_net from its configuration.
 */
uint32_t hseng_facts_from_tx(const struct smtp_tx *tx);

#endif
