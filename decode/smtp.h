/*
 * smtp.h - the SMTP dialogue of one TCP connection, both directions.
 *
 * Contract: a struct smtp_session (allocated by the worker from its pool,
 * size smtp_session_size(), sharing a struct smtp_ctx with the other
 * sessions of that worker) is fed the reassembled bytes of each direction
 * as they arrive (any chunking, including one byte at a time) and drives an
 * explicit state machine (RFC 5321, 3030 BDAT/CHUNKING, 2920 PIPELINING,
 * 4954 AUTH, 3207 STARTTLS):
 *
 *  - Roles come from the bytes, not the ports: the side whose first line is
 *    a reply (`220 ...`) is the server.  Midstream (no banner seen), the side
 *    that sends 3-digit reply lines is the server and the other the client.
 *  - Client commands are queued in order and each server reply is matched to
 *    the oldest unanswered command (pipelining).  A client that sends a
 *    command while an earlier one is unanswered sets `pipelining`.
 *  - DATA: after a 354 reply the client stream is message content until the
 *    exact terminator CRLF "." CRLF; dot-stuffing is removed and content is
 *    passed on in place (chunks, no copy).  A "." line ended by a bare LF
 *    (LF "." LF, or CRLF "." LF) also ends the message (as lenient servers
 *    do), raising SMTP_BARE_LF_TERMINATOR: the smuggling vector.  Content
 *    sent after DATA before the 354 (allowed with pipelining only after
 *    354, so an anomaly SMTP_DATA_WITHOUT_354 when DATA was refused but the
 *    client sent content anyway: the content lines are then parsed as
 *    commands, as the server would).
 *  - BDAT n [LAST]: exactly n bytes follow the command line, no stuffing;
 *    a size that does not parse or overflows is SMTP_BDAT_INVALID and ends
 *    the transaction.
 *  - AUTH: mechanism and, from the final 235/535 reply, success; the
 *    base64 exchange in between is not logged as commands.
 *  - STARTTLS: after its 220 reply nothing more is parsed; `starttls` is
 *    set on the session; bytes that follow are counted only.
 *  - RSET, QUIT, a new MAIL FROM, or the end of the connection close an
 *    open transaction as ABORTED; a stream gap inside a transaction closes it
 *    as GAP and the parser resynchronises at the next line that starts with
 *    a known command (client) or a reply code (server); later transactions
 *    on the flow are reported normally.
 *  - Over-long lines (past `max_line`, default 4096) are cut: the first
 *    max_line bytes are kept, SMTP_LINE_TOO_LONG is raised once per line,
 *    and the rest up to the LF is skipped.  Memory per session is bounded:
 *    recipients past `max_rcpt` are counted (SMTP_TOO_MANY_RCPT once) but
 *    not stored; session strings live in the session while they are
 *    short, else in pool blocks; transactions and held lines take pool
 *    objects only while they exist (see smtp_ctx_create).
 *
 * Details fixed by the implementation (reasons in smtp.c):
 *  - Content mode starts when DATA is sent; a non-354 answer ends it
 *    (SMTP_DATA_WITHOUT_354 only if content bytes had already come).  The
 *    reply after the terminator completes the transaction whatever its
 *    code (a 5xx there: COMPLETE, last_reply the 5xx).  BDAT bytes are
 *    consumed with the command; BDAT LAST is reported at its reply.
 *  - last_reply is the last reply to any command of the transaction (so an
 *    ABORTED one shows e.g. the refused RCPT); for the session-only event
 *    it is the last reply of the session, its status COMPLETE (GAP if the
 *    flow had a gap).  A transaction is opened per MAIL FROM (also when
 *    refused); RCPT/DATA/BDAT without one open one with has_mail_from == 0.
 *  - tx_id is given in opening order, which is also reporting order.
 *  - max_line, max_rcpt and max_pipeline are further capped by the block
 *    pool's object size (one held line, one recipient array, one queue per
 *    block: 16 KiB blocks store 680 recipients).
 *  - Gaps mark the open transaction GAP; a client gap inside DATA closes it
 *    at once (reported when the server answers the lost end of message).
 *
 * Output: tx_done() is called once per transaction (MAIL FROM ... end of
 * DATA/BDAT LAST or abort) and, for a session that never reached MAIL FROM,
 * once at smtp_session_end with has_mail_from == 0.  The struct smtp_tx and
 * everything it points to is valid only during the callback.  Message
 * content goes to msg_data() (as unstuffed chunks) between msg_begin() and
 * msg_end(), so a scanner can stream over it; the header section is parsed
 * into tx->hdr by the session itself.
 */
#ifndef RH_SMTP_H
#define RH_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "bstr.h"
#include "msghdr.h"
#include "pool.h"

enum smtp_tx_status {
	SMTP_TX_COMPLETE = 0,
	SMTP_TX_ABORTED,
	SMTP_TX_TRUNCATED,
	SMTP_TX_GAP,
};

struct smtp_rcpt {
	struct bstr addr;        /* without angle brackets */
	int code;                /* reply code, 0 if no reply seen */
};

struct smtp_tx {
	uint32_t tx_id;          /* 0-based within the flow */
	uint64_t ts_us;          /* time of the packet that completed it */
	int server_dir;          /* TCP direction (0/1) of the server, -1 unknown */

	/* session part */
	struct bstr banner;      /* text of the 220 greeting (after "220 ") */
	uint8_t has_banner;
	struct bstr helo;        /* argument of the last HELO/EHLO */
	struct bstr helo_cmd;    /* "HELO" or "EHLO" */
	uint8_t has_helo;
	uint8_t has_auth;
	struct bstr auth_mech;
	int auth_success;        /* 1 235, 0 535/other failure, -1 no reply */
	uint8_t starttls;
	uint8_t pipelining;
	uint8_t midstream;

	/* transaction part */
	uint8_t has_mail_from;
	struct bstr mail_from;   /* without brackets, "" for <> */
	struct smtp_rcpt *rcpt;
	uint32_t rcpt_count;     /* stored */
	uint32_t rcpt_total;     /* seen, >= rcpt_count */
	uint8_t has_data;        /* DATA accepted (354) or BDAT used */
	uint8_t bdat;
	uint64_t data_bytes;     /* after dot-unstuffing */
	enum smtp_tx_status status;
	struct bstr last_reply;  /* full final reply line, e.g. "250 2.0.0 Ok" */
	struct bstr queue_id;    /* from that reply, if it carries one */
	const struct msghdr_section *hdr; /* header section; NULL when no content */
};

struct smtp_out {
	void (*tx_done)(void *u, const struct smtp_tx *tx);
	void (*anomaly)(void *u, enum anom_id a, uint64_t ts_us);
	/* optional streaming hooks for content scanners; may be NULL */
	void (*msg_begin)(void *u, uint32_t tx_id);
	void (*msg_data)(void *u, const uint8_t *d, size_t n, int in_header);
	void (*msg_end)(void *u, uint32_t tx_id);
	void *u;
};

struct smtp_config {
	uint32_t max_line;       /* default 4096 */
	uint32_t max_rcpt;       /* default 1000 */
	uint32_t max_pipeline;   /* queued commands, default 512 */
	struct msghdr_config hdr;
};

struct smtp_stats {
	uint64_t sessions, transactions, messages, data_bytes;
	uint64_t commands, replies, unknown_commands, lines_too_long;
	uint64_t starttls, auth, bdat, gaps, bare_lf_terminators;
	uint64_t encrypted_bytes;    /* bytes after STARTTLS, both ways */
};

struct smtp_ctx;
struct smtp_session;

/* Transaction slots one session holds at most (pipelined transactions). */
#define SMTP_TX_SLOTS 3

/* Bytes of one transaction slot: the object size of the `slots` pool. */
size_t smtp_slot_size(void);

/*
 * What every session of one worker shares: the configuration (defaults
 * applied), the callbacks, the counters and two pools, so a session object
 * carries none of them.  `blocks` holds arena blocks for transaction
 * strings, held lines and long pending queues, and for session strings
 * that outgrow the session; `slots` (objects of smtp_slot_size() bytes)
 * holds one transaction each, taken at MAIL FROM (or the RCPT/DATA/BDAT
 * that opens one) and given back when it is reported.  Both pools and
 * `stats` belong to the caller and must outlive the context; stats may be
 * NULL (counted in the context).  out->u is ignored: each session passes
 * its own to smtp_session_init.  A `slots` pool that runs dry drops the
 * transaction it was asked for (SMTP_SESSION_MEMCAP, once per session).
 * Returns NULL on bad arguments (NULL pool, blocks under 64 bytes, slots
 * smaller than smtp_slot_size()) or no memory.
 */
struct smtp_ctx *smtp_ctx_create(const struct smtp_config *cfg,
    struct pool *blocks, struct pool *slots, const struct smtp_out *out,
    struct smtp_stats *stats);
void smtp_ctx_destroy(struct smtp_ctx *c);

/* Bytes to allocate for one session object. */
size_t smtp_session_size(void);

/*
 * Initialise a session in `mem` (smtp_session_size() bytes, 8-aligned).
 * `u` is passed to every callback of this session.  Returns NULL on bad
 * arguments.  The session keeps `ctx`, which must outlive it.
 */
struct smtp_session *smtp_session_init(void *mem, struct smtp_ctx *ctx,
    void *u, int midstream);

/* Bytes of direction `dir` (0 initiator, 1 responder), in stream order. */
void smtp_session_data(struct smtp_session *s, int dir, const uint8_t *d,
    size_t n, uint64_t ts_us);

/* `len` bytes of direction `dir` are lost. */
void smtp_session_gap(struct smtp_session *s, int dir, uint32_t len,
    uint64_t ts_us);

/* Connection over: close an open transaction, emit a session-only event if
 * no transaction was ever reported, release arena memory.  The memory of
 * the session object itself belongs to the caller. */
void smtp_session_end(struct smtp_session *s, uint64_t ts_us);

/* 1 if STARTTLS was accepted (the flow's remaining bytes can be skipped). */
int smtp_session_encrypted(const struct smtp_session *s);

enum smtp_sniff_result {
	SMTP_SNIFF_NO = 0,
	SMTP_SNIFF_YES,
	SMTP_SNIFF_MORE,         /* not enough bytes to tell */
};

/*
 * Banner sniffing for flows on ports outside the SMTP set: the first bytes
 * of a direction look like an SMTP greeting ("220 " or "220-" then text
 * naming SMTP/ESMTP, or any 220 line followed by EHLO/HELO from the other
 * side) or a client command (EHLO/HELO + space).  A complete 220 greeting
 * that does not name SMTP gives SMTP_SNIFF_MORE from the responder (the
 * other side's first bytes decide) and SMTP_SNIFF_NO from the initiator.
 */
enum smtp_sniff_result smtp_sniff(const uint8_t *d, size_t n, int from_responder);

#endif
