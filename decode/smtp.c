/*
 * smtp.c - the SMTP dialogue of one TCP connection (contract in smtp.h).
 *
 * Design: four small explicit state machines, each a switch over an enum.
 *  - smtp_lstate, per direction: line assembly.  A line that lies inside
 *    one chunk is parsed in place; only a line that straddles chunks is
 *    copied, into a pool block taken for that line and given back when the
 *    line ends (so an idle session holds no line memory).  The effective
 *    max_line is also bounded by the block size.
 *  - smtp_state: what the client's bytes mean: roles still unknown, commands,
 *    a SASL response owed after a 334, DATA content, a BDAT chunk, resync
 *    after a gap, TLS, closed.
 *  - smtp_srv_state: server replies (ready, inside a multi-line reply,
 *    resync after a gap).
 *  - smtp_dstate: DATA content at byte level, for dot-unstuffing and the
 *    terminator.  Content is handed on as sub-ranges of the input; the only
 *    byte ever held across chunks is the CR of a possible "." CR LF (it is
 *    re-emitted from a constant when it turns out to be data).  Inside a
 *    line only an LF followed by "." (or an LF ending the chunk, whose next
 *    byte is unknown) can change anything, so the text state jumps to the
 *    next such LF with smtp_scan_lf_dot (SSE2: 32 positions per step)
 *    instead of visiting every line start.  Rejected: memchr per line and a
 *    state step per line start (a third of the DATA path's cost on 76-byte
 *    lines), memmem for "\n." (misses the LF that ends a chunk).
 *
 * Commands take effect when sent (MAIL opens a transaction, RCPT adds a
 * recipient with code 0, HELO/EHLO/RSET/QUIT/a new MAIL close one as
 * ABORTED), replies when they arrive: a FIFO of pending commands maps each
 * complete reply to the oldest unanswered command.  That command may belong
 * to a transaction the client has already left (".\r\nMAIL FROM:..."
 * pipelined), so transactions live in a few slots, each with its own arena
 * and msghdr, and a slot is reported once it is closed and no reply for it
 * is outstanding.  FIFO order makes that the opening order, so tx_id is
 * given when a transaction opens.  Needing a fourth slot reports the oldest
 * at once (its late replies are then dropped).  A transaction exists per
 * MAIL FROM attempt, as in Zeek: a refused MAIL still yields one (ABORTED,
 * last_reply the refusal).  RCPT, DATA or BDAT with no open transaction
 * open one with has_mail_from = 0 (SMTP_BAD_SEQUENCE, except in a midstream
 * pickup before any MAIL).
 *
 * DATA: content mode starts when DATA is sent, not when its 354 arrives.
 * Clients wait for the 354 and a capture delivers the 354 before the
 * content, so for them both choices agree; an early talker whose DATA is
 * accepted is parsed right this way, and a refusal (any non-354 reply)
 * leaves content mode: quietly when no content byte came yet (the normal
 * case: the client waited), else with SMTP_DATA_WITHOUT_354 and a resync,
 * because the server read those bytes as commands and they are gone.
 * Rejected: entering content mode at the 354 (early content would be parsed
 * as commands - a way to plant fake MAIL/RCPT lines - and the header
 * section would be lost) and buffering the client until the reply (unbounded
 * memory).  The final reply after the terminator completes the transaction
 * whatever its code: a 5xx there is status COMPLETE with that last_reply
 * (the message was transferred, then refused).
 *
 * BDAT: the n bytes are consumed when the command line is read (a server
 * must read them whatever it replies); LAST ends the message there and the
 * transaction is reported at the chunk's reply, which gives last_reply and
 * queue_id.  A size that does not parse, is negative or exceeds 2^63-1 is
 * SMTP_BDAT_INVALID, ends the open transaction (ABORTED) and what follows
 * is parsed as commands, as the server (which replies 501) does.
 *
 * Gaps: in the client direction during DATA the transaction closes as GAP
 * and a stand-in for the lost "." is queued so the server's answer to the
 * end of the message still lands on it; the client then resyncs at the
 * next "." line or well-formed command line.  Inside a BDAT chunk a gap
 * only shortens the chunk (the count keeps the stream in sync).  A server
 * gap drops every pending command (their replies may be lost) and resyncs
 * at the next reply line.  Gaps also mark the open transaction GAP.
 *
 * Memory: a session holds only what every session needs; the rest is
 * taken from a pool when it is needed and given back when it is not.  A
 * held line, the pending queue past 4 entries and the recipient array are
 * each one pool block at most, so max_line, max_pipeline and max_rcpt are
 * also capped by the block size (16 KiB blocks hold 680 recipients).  A
 * transaction slot (~300 bytes with its msghdr) comes from the `slots`
 * pool at MAIL FROM and goes back when it is reported.  Session strings
 * (banner, helo, auth mechanism, last reply) sit packed at their exact
 * lengths in the session while they fit, else in a block, and are
 * rewritten in place there, so repeating a command cannot grow them.
 * Configuration, callbacks, counters and the clock live once per worker in
 * struct smtp_ctx.  An idle session is then 328 bytes (it was 1776).
 * Rejected: fixed line buffers in the session object (8 KiB per idle
 * flow); three transaction slots inline (888 bytes, used by a few flows at
 * a time); pow2 string buffers in an inline arena (320 bytes for what is
 * typically 50).  Arena or pool exhaustion drops what does not fit and
 * raises SMTP_SESSION_MEMCAP once; a transaction that gets no slot is not
 * recorded (its commands and replies still keep the dialogue in step).
 *
 * STARTTLS: after its 220 every open transaction is closed, the queue is
 * dropped and all further bytes are only counted.  Commands the client sent
 * after STARTTLS before the reply (the CVE-2011-0411 injection) and a first
 * byte after the switch that is not a TLS handshake record raise
 * SMTP_DATA_AFTER_STARTTLS.
 */
#include "smtp.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SMTP_DEF_MAX_LINE       4096u
#define SMTP_DEF_MAX_RCPT       1000u
#define SMTP_DEF_MAX_PIPELINE   512u
#define SMTP_NO_SLOT            0xffu
#define SMTP_LOST_SLOT          0xfeu   /* open, but no slot could be had */
#define SMTP_NO_RCPT            UINT32_MAX
#define SMTP_PEND_INLINE        4u
#define SMTP_ANOM_LIMIT         8u      /* rate-limited kinds, per session */
#define SMTP_ARENA_SLACK        64u     /* arena block header, generously */
#define SMTP_SNIFF_MAX          512u
#define SMTP_BDAT_MAX           UINT64_C(0x7fffffffffffffff)

enum smtp_state {
	SMTP_S_INIT = 0,        /* no line classified yet: roles unknown */
	SMTP_S_READY,           /* client lines are commands */
	SMTP_S_AUTH,            /* a 334 is outstanding: next line is SASL */
	SMTP_S_DATA,            /* client bytes are DATA content */
	SMTP_S_BDAT,            /* client bytes are a BDAT chunk */
	SMTP_S_RESYNC,          /* after a client gap: wait for a sane line */
	SMTP_S_TLS,             /* STARTTLS accepted: count bytes only */
	SMTP_S_CLOSED,          /* smtp_session_end ran */
};

enum smtp_srv_state {
	SMTP_SRV_READY = 0,     /* next line starts a reply */
	SMTP_SRV_MULTI,         /* inside a multi-line reply */
	SMTP_SRV_RESYNC,        /* after a gap: wait for a reply line */
};

enum smtp_lstate {
	SMTP_L_START = 0,       /* nothing held */
	SMTP_L_PARTIAL,         /* a line started in an earlier chunk */
	SMTP_L_SKIP,            /* line past max_line: skipping to the LF */
};

enum smtp_dstate {
	SMTP_D_BOL = 0,         /* start of a line, previous ended CRLF */
	SMTP_D_BOL_LF,          /* start of a line, previous ended bare LF */
	SMTP_D_DOT,             /* "." at line start (dropped) */
	SMTP_D_DOT_CR,          /* "." CR at line start (CR held) */
	SMTP_D_TEXT,            /* inside a line */
	SMTP_D_TEXT_CR,         /* inside a line, after CR */
};

enum smtp_cmd {
	SMTP_C_NONE = 0,
	SMTP_C_HELO,
	SMTP_C_EHLO,
	SMTP_C_MAIL,
	SMTP_C_RCPT,
	SMTP_C_DATA,
	SMTP_C_DOT,             /* end of DATA content */
	SMTP_C_BDAT,
	SMTP_C_BDAT_BAD,        /* BDAT with an invalid size */
	SMTP_C_RSET,
	SMTP_C_QUIT,
	SMTP_C_NOOP,
	SMTP_C_VRFY,
	SMTP_C_EXPN,
	SMTP_C_HELP,
	SMTP_C_AUTH,
	SMTP_C_STARTTLS,
	SMTP_C_XCLIENT,
	SMTP_C_XFORWARD,
	SMTP_C_ETRN,
	SMTP_C_TURN,
	SMTP_C_UNKNOWN,
};

static const struct {
	const char *verb;
	enum smtp_cmd cmd;
} smtp_verbs[] = {
	{ "HELO", SMTP_C_HELO }, { "EHLO", SMTP_C_EHLO },
	{ "MAIL", SMTP_C_MAIL }, { "RCPT", SMTP_C_RCPT },
	{ "DATA", SMTP_C_DATA }, { "BDAT", SMTP_C_BDAT },
	{ "RSET", SMTP_C_RSET }, { "QUIT", SMTP_C_QUIT },
	{ "NOOP", SMTP_C_NOOP }, { "VRFY", SMTP_C_VRFY },
	{ "EXPN", SMTP_C_EXPN }, { "HELP", SMTP_C_HELP },
	{ "AUTH", SMTP_C_AUTH }, { "STARTTLS", SMTP_C_STARTTLS },
	{ "XCLIENT", SMTP_C_XCLIENT }, { "XFORWARD", SMTP_C_XFORWARD },
	{ "ETRN", SMTP_C_ETRN }, { "TURN", SMTP_C_TURN },
	{ "ATRN", SMTP_C_TURN },
};

/* pending entry flags */
#define SMTP_PF_LAST    0x01    /* BDAT ... LAST */
#define SMTP_PF_PSEUDO  0x02    /* stands for bytes we did not see */

/* once-per-session anomalies */
#define SMTP_ONCE_BARE_LF   0x01
#define SMTP_ONCE_MEMCAP    0x02
#define SMTP_ONCE_PIPELINE  0x04
#define SMTP_ONCE_TLS       0x08

struct smtp_pend {
	uint8_t cmd;            /* enum smtp_cmd */
	uint8_t flags;
	uint8_t slot;           /* transaction slot or SMTP_NO_SLOT */
	uint8_t pad;
	uint32_t rcpt;          /* RCPT: index of the stored recipient */
};

/* A string reused in place while it fits (bounded growth in an arena). */
struct smtp_sbuf {
	uint8_t *p;
	uint32_t len, cap;
};

/* One transaction: a pool object from the context's `slots` pool. */
struct smtp_slot {
	uint8_t ended;          /* closed: report when pending == 0 */
	uint8_t has_mail_from, has_data, bdat;
	uint8_t msg_begun, msg_ended, content_done, refused, gap, rcpt_capped;
	enum smtp_tx_status status;
	uint32_t tx_id;
	uint32_t pending;       /* queue entries naming this slot */
	struct arena arena;
	struct bstr mail_from;
	struct smtp_rcpt *rcpt;
	uint32_t rcpt_count, rcpt_alloc, rcpt_total;
	uint64_t data_bytes;
	struct smtp_sbuf last_reply;
	struct bstr queue_id;   /* inside last_reply */
	struct msghdr_section hdr;
};

struct smtp_dir {
	uint8_t *buf;           /* pool block while a line straddles chunks */
	uint32_t len;
	uint8_t lstate;         /* enum smtp_lstate */
	uint8_t cr : 1;         /* last raw byte seen was CR */
	uint8_t lost : 1;       /* no buffer (memcap): drop this line */
	uint8_t pre_dot : 1;    /* roles unknown: last line was "." */
	uint8_t tls_seen : 1;   /* TLS: first byte checked */
};

/* The session strings, in this order. */
enum smtp_str {
	SMTP_STR_BANNER = 0,    /* text of the 220 greeting */
	SMTP_STR_HELO,          /* argument of the last HELO/EHLO */
	SMTP_STR_AUTH,          /* mechanism of the last AUTH */
	SMTP_STR_REPLY,         /* last reply line of the session */
	SMTP_STR_N,
};

/* banner, HELO and last reply of a typical session fit here */
#define SMTP_STRS_INLINE 128

/* Session strings that outgrew the session: at the head of a pool block. */
struct smtp_spill {
	struct arena arena;     /* first chunk: the rest of this block */
	struct smtp_sbuf sb[SMTP_STR_N];
};

struct smtp_strs {
	struct smtp_spill *spill;   /* NULL: packed in inl */
	uint16_t len[SMTP_STR_N];   /* packed lengths, end to end in inl */
	uint8_t had;                /* bit i: string i was ever stored */
	uint8_t inl[SMTP_STRS_INLINE];
};

struct smtp_ctx {
	struct smtp_config cfg;
	uint32_t max_line, max_rcpt, max_pend;
	struct smtp_out out;    /* u unused: each session has its own */
	struct pool *blocks;
	struct pool *slots;
	struct smtp_stats *st;
	struct smtp_stats own_stats;
	uint64_t ts;            /* packet time of the call in progress */
};

struct smtp_session {
	struct smtp_ctx *ctx;
	void *u;                /* for the callbacks */

	uint8_t state;          /* enum smtp_state */
	uint8_t srv;            /* enum smtp_srv_state */
	int8_t server_dir;      /* -1 unknown */
	int8_t auth_success;
	uint8_t midstream : 1, greeted : 1, any_cmd : 1, any_mail : 1;
	uint8_t had_gap : 1, pipelining : 1, starttls : 1, has_banner : 1;
	uint8_t has_helo : 1, has_auth : 1, helo_ehlo : 1;
	uint8_t once;
	uint8_t n_unknown, n_bad_reply, n_bad_seq, n_no_cmd;
	uint8_t cur;            /* slot commands apply to */
	int16_t multi_code;
	uint32_t starttls_pending;
	uint32_t tx_next;       /* tx_id of the next one: opening order */

	struct smtp_strs strs;
	struct smtp_dir dir[2];

	/* DATA / BDAT content */
	enum smtp_dstate dstate;
	uint8_t dot_lf;         /* the "." line began after a bare LF */
	uint8_t cslot;          /* slot receiving content */
	uint8_t bdat_last;
	uint64_t data_seen;     /* raw bytes consumed since DATA was sent */
	uint64_t bdat_left;

	/* pending commands: a ring, inline until it needs a pool block */
	struct smtp_pend pend_inline[SMTP_PEND_INLINE];
	struct smtp_pend *pend;
	uint32_t pend_cap, pend_head, pend_count, pend_pseudo;

	struct smtp_slot *slot[SMTP_TX_SLOTS];  /* NULL: free */
};

/* ---- small helpers ---- */

static int
smtp_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* 1 if p[0..n) starts with c, ASCII case-insensitively. */
static int
smtp_iprefix(const uint8_t *p, size_t n, const char *c)
{
	size_t i, k = strlen(c);

	if (n < k)
		return 0;
	for (i = 0; i < k; i++)
		if (smtp_lower(p[i]) != smtp_lower((uint8_t)c[i]))
			return 0;
	return 1;
}

/* Offset of c in p[0..n), case-insensitive, or -1. */
static long
smtp_ifind(const uint8_t *p, size_t n, const char *c)
{
	size_t i, k = strlen(c);

	if (k == 0 || n < k)
		return -1;
	for (i = 0; i + k <= n; i++)
		if (smtp_iprefix(p + i, n - i, c))
			return (long)i;
	return -1;
}

static int
smtp_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int
smtp_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static void
smtp_anom(struct smtp_session *s, enum anom_id a)
{
	if (s->ctx->out.anomaly != NULL)
		s->ctx->out.anomaly(s->u, a, s->ctx->ts);
}

static void
smtp_anom_once(struct smtp_session *s, enum anom_id a, uint8_t bit)
{
	if (s->once & bit)
		return;
	s->once |= bit;
	smtp_anom(s, a);
}

static void
smtp_anom_limit(struct smtp_session *s, enum anom_id a, uint8_t *n)
{
	if (*n >= SMTP_ANOM_LIMIT)
		return;
	(*n)++;
	smtp_anom(s, a);
}

static void
smtp_memcap(struct smtp_session *s)
{
	smtp_anom_once(s, ANOM_SMTP_SESSION_MEMCAP, SMTP_ONCE_MEMCAP);
}

static void
smtp_hdr_anomaly(void *u, enum anom_id a)
{
	struct smtp_session *s = u;

	if (a == ANOM_SMTP_SESSION_MEMCAP)
		smtp_memcap(s);
	else
		smtp_anom(s, a);
}

static int
smtp_sbuf_set(struct smtp_session *s, struct arena *a, struct smtp_sbuf *b,
    const uint8_t *d, size_t n)
{
	size_t c;
	uint8_t *p;

	if (n > b->cap) {
		for (c = 32; c < n; c <<= 1)
			;
		p = arena_alloc(a, c);
		if (p == NULL && c > n) {
			c = n;
			p = arena_alloc(a, c);
		}
		if (p == NULL) {
			smtp_memcap(s);
			b->len = 0;
			return -1;
		}
		b->p = p;
		b->cap = (uint32_t)c;
	}
	if (n > 0)
		memcpy(b->p, d, n);
	b->len = (uint32_t)n;
	return 0;
}

static struct bstr
smtp_sbuf_bstr(const struct smtp_sbuf *b)
{
	return b->p != NULL ? bstr_make(b->p, b->len) : BSTR_NULL;
}

/*
 * Session strings.  Packed end to end in the session at their exact
 * lengths while they fit in SMTP_STRS_INLINE (an idle session's banner and
 * last reply take about 50 bytes); the first value that does not fit moves
 * all four for the rest of the session to a pool block, where each is an
 * smtp_sbuf in an arena that starts in that block, so length alone never
 * refuses a string.  As with an smtp_sbuf, a string reads NULL until a
 * non-empty value was once stored, and a value that cannot be stored (no
 * block) leaves it empty.
 */
#define SMTP_SPILL_MIN 512u     /* smaller blocks: no spilling */

static size_t
smtp_str_off(const struct smtp_strs *ss, int i)
{
	size_t off = 0;
	int k;

	for (k = 0; k < i; k++)
		off += ss->len[k];
	return off;
}

static int
smtp_str_spill(struct smtp_session *s)
{
	struct smtp_strs *ss = &s->strs;
	struct smtp_spill *sp;
	size_t hdr = (sizeof(*sp) + 7) & ~(size_t)7;
	size_t blk = pool_obj_size(s->ctx->blocks), off = 0;
	int i;

	if (blk < hdr + SMTP_SPILL_MIN)
		return -1;
	sp = pool_get(s->ctx->blocks);
	if (sp == NULL)
		return -1;
	memset(sp, 0, sizeof(*sp));
	arena_init_inline(&sp->arena, s->ctx->blocks, (uint8_t *)sp + hdr,
	    blk - hdr);
	/* at most SMTP_STRS_INLINE bytes: fits the block's own chunk */
	for (i = 0; i < SMTP_STR_N; i++) {
		if (ss->len[i] > 0)
			smtp_sbuf_set(s, &sp->arena, &sp->sb[i], ss->inl + off,
			    ss->len[i]);
		off += ss->len[i];
	}
	ss->spill = sp;
	return 0;
}

static void
smtp_str_set(struct smtp_session *s, enum smtp_str i, const uint8_t *d,
    size_t n)
{
	struct smtp_strs *ss = &s->strs;
	size_t off, old = ss->len[i], total;

	if (ss->spill == NULL) {
		off = smtp_str_off(ss, i);
		total = smtp_str_off(ss, SMTP_STR_N);
		if (total - old + n > SMTP_STRS_INLINE &&
		    smtp_str_spill(s) != 0) {
			smtp_memcap(s);
			n = 0;
		}
		if (ss->spill == NULL) {
			memmove(ss->inl + off + n, ss->inl + off + old,
			    total - off - old);
			if (n > 0) {
				memcpy(ss->inl + off, d, n);
				ss->had |= (uint8_t)(1u << i);
			}
			ss->len[i] = (uint16_t)n;
			return;
		}
	}
	if (smtp_sbuf_set(s, &ss->spill->arena, &ss->spill->sb[i], d, n) ==
	    0 && n > 0)
		ss->had |= (uint8_t)(1u << i);
}

static struct bstr
smtp_str_get(const struct smtp_session *s, enum smtp_str i)
{
	const struct smtp_strs *ss = &s->strs;

	if (!(ss->had & (1u << i)))
		return BSTR_NULL;
	if (ss->spill == NULL)
		return bstr_make(ss->inl + smtp_str_off(ss, i), ss->len[i]);
	if (ss->spill->sb[i].p == NULL)     /* was empty when it moved */
		return bstr_make("", 0);
	return smtp_sbuf_bstr(&ss->spill->sb[i]);
}

static void
smtp_strs_release(struct smtp_session *s)
{
	if (s->strs.spill != NULL) {
		arena_reset(&s->strs.spill->arena);
		pool_put(s->ctx->blocks, s->strs.spill);
	}
	memset(&s->strs, 0, sizeof(s->strs));
}

/* ---- verbs and arguments ---- */

static enum smtp_cmd
smtp_verb(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (strlen(smtp_verbs[i].verb) == n &&
		    smtp_iprefix(p, n, smtp_verbs[i].verb))
			return smtp_verbs[i].cmd;
	return SMTP_C_UNKNOWN;
}

/* Split a command line into verb and trimmed argument. */
static enum smtp_cmd
smtp_split(const uint8_t *p, size_t n, const uint8_t **arg, size_t *an)
{
	size_t v = 0, i;

	while (v < n && p[v] != ' ')
		v++;
	i = v;
	while (i < n && smtp_wsp(p[i]))
		i++;
	*arg = p + i;
	*an = n - i;
	while (*an > 0 && smtp_wsp((*arg)[*an - 1]))
		(*an)--;
	if (v == 0)
		return SMTP_C_UNKNOWN;
	return smtp_verb(p, v);
}

/* "FROM:<" / "TO:<", spaces allowed before the bracket. */
static int
smtp_strict_path(const uint8_t *a, size_t n, const char *kw)
{
	size_t i = strlen(kw);

	if (!smtp_iprefix(a, n, kw))
		return 0;
	while (i < n && smtp_wsp(a[i]))
		i++;
	return i < n && a[i] == '<';
}

/*
 * A line that is a command, for role detection and resync.  Strict: only
 * well-formed lines of the commands a body line is unlikely to mimic.
 */
static int
smtp_is_command(const uint8_t *p, size_t n, int strict)
{
	const uint8_t *a;
	size_t an;
	enum smtp_cmd c = smtp_split(p, n, &a, &an);

	if (c == SMTP_C_UNKNOWN)
		return 0;
	if (!strict)
		return 1;
	switch (c) {
	case SMTP_C_HELO:
	case SMTP_C_EHLO:
		return an > 0;
	case SMTP_C_MAIL:
		return smtp_strict_path(a, an, "FROM:");
	case SMTP_C_RCPT:
		return smtp_strict_path(a, an, "TO:");
	case SMTP_C_DATA:
	case SMTP_C_RSET:
	case SMTP_C_QUIT:
	case SMTP_C_NOOP:
	case SMTP_C_STARTTLS:
		return an == 0;
	case SMTP_C_BDAT:
		return an > 0 && smtp_digit(a[0]);
	case SMTP_C_AUTH:
		return an > 0 && smtp_lower(a[0]) >= 'a' &&
		    smtp_lower(a[0]) <= 'z';
	default:
		return 0;
	}
}

/*
 * The path of MAIL FROM / RCPT TO, angle brackets removed.  Lenient:
 * spaces around the colon, no brackets, quoted local parts holding '>'.
 */
static struct bstr
smtp_path(const uint8_t *a, size_t n, const char *kw)
{
	size_t i = 0, start, j;
	int q = 0;

	while (i < n && smtp_wsp(a[i]))
		i++;
	if (smtp_iprefix(a + i, n - i, kw)) {
		i += strlen(kw);
		while (i < n && smtp_wsp(a[i]))
			i++;
		if (i < n && a[i] == ':')
			i++;
	}
	while (i < n && smtp_wsp(a[i]))
		i++;
	if (i < n && a[i] == '<') {
		start = ++i;
		for (j = start; j < n; j++) {
			if (q) {
				if (a[j] == '\\' && j + 1 < n)
					j++;
				else if (a[j] == '"')
					q = 0;
			} else if (a[j] == '"') {
				q = 1;
			} else if (a[j] == '>') {
				return bstr_make(a + start, j - start);
			}
		}
		/* unbalanced quote or no '>': first '>' or first space */
		for (j = start; j < n && a[j] != '>' && a[j] != ' '; j++)
			;
		return bstr_make(a + start, j - start);
	}
	start = i;
	for (j = start; j < n; j++) {
		if (q) {
			if (a[j] == '\\' && j + 1 < n)
				j++;
			else if (a[j] == '"')
				q = 0;
		} else if (a[j] == '"') {
			q = 1;
		} else if (a[j] == ' ') {
			break;
		}
	}
	return bstr_make(a + start, j - start);
}

/* BDAT size and LAST; -1 when invalid. */
static int
smtp_bdat_args(const uint8_t *a, size_t n, uint64_t *size, int *last)
{
	size_t i = 0;
	uint64_t v = 0;

	if (n == 0 || !smtp_digit(a[0]))
		return -1;
	for (; i < n && smtp_digit(a[i]); i++) {
		if (v > (SMTP_BDAT_MAX - (uint64_t)(a[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(a[i] - '0');
	}
	*last = 0;
	if (i < n) {
		if (!smtp_wsp(a[i]))
			return -1;
		while (i < n && smtp_wsp(a[i]))
			i++;
		if (n - i != 4 || !smtp_iprefix(a + i, 4, "LAST"))
			return -1;
		*last = 1;
	}
	*size = v;
	return 0;
}

/* Reply code of a line ("250 x", "250-x", "250"), or -1. */
static int
smtp_reply_code(const uint8_t *p, size_t n)
{
	if (n < 3 || p[0] < '1' || p[0] > '5' || !smtp_digit(p[1]) ||
	    !smtp_digit(p[2]))
		return -1;
	if (n > 3 && p[3] != ' ' && p[3] != '-')
		return -1;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

static int
smtp_qid_end(uint8_t c)
{
	return c == ' ' || c == '\t' || c == ';' || c == ',' || c == ')' ||
	    c == ']' || c == '>';
}

static struct bstr
smtp_qid_token(const uint8_t *p, size_t n)
{
	size_t i = 0, j;

	while (i < n && (smtp_wsp(p[i]) || p[i] == '<'))
		i++;
	for (j = i; j < n && !smtp_qid_end(p[j]); j++)
		;
	while (j > i && p[j - 1] == '.')
		j--;
	return j > i ? bstr_make(p + i, j - i) : BSTR_NULL;
}

/*
 * Queue id of a final reply: "queued as X" (Postfix and many others),
 * " id=X" (Exim), "X Message accepted for delivery" (sendmail, OpenSMTPD).
 */
static struct bstr
smtp_queue_id(const uint8_t *p, size_t n)
{
	long off;
	size_t e, b, k;

	if ((off = smtp_ifind(p, n, "queued as ")) >= 0)
		return smtp_qid_token(p + off + 10, n - (size_t)off - 10);
	if ((off = smtp_ifind(p, n, " id=")) >= 0)
		return smtp_qid_token(p + off + 4, n - (size_t)off - 4);
	if ((off = smtp_ifind(p, n, " message accepted")) > 0) {
		e = (size_t)off;
		while (e > 0 && smtp_wsp(p[e - 1]))
			e--;
		b = e;
		while (b > 0 && !smtp_wsp(p[b - 1]))
			b--;
		if (b == e || b == 0)
			return BSTR_NULL;
		for (k = b; k < e; k++)
			if (!smtp_digit(p[k]) && p[k] != '.' && p[k] != '-')
				break;
		if (k == e)     /* reply code or enhanced status code */
			return BSTR_NULL;
		return smtp_qid_token(p + b, e - b);
	}
	return BSTR_NULL;
}

/* ---- transactions ---- */

static struct smtp_slot *
smtp_slot_at(struct smtp_session *s, unsigned i)
{
	return i < SMTP_TX_SLOTS ? s->slot[i] : NULL;
}

static void
smtp_session_part(const struct smtp_session *s, struct smtp_tx *tx)
{
	tx->server_dir = s->server_dir;
	tx->ts_us = s->ctx->ts;
	tx->has_banner = s->has_banner;
	if (s->has_banner)
		tx->banner = smtp_str_get(s, SMTP_STR_BANNER);
	tx->has_helo = s->has_helo;
	if (s->has_helo) {
		tx->helo = smtp_str_get(s, SMTP_STR_HELO);
		tx->helo_cmd = bstr_cstr(s->helo_ehlo ? "EHLO" : "HELO");
	}
	tx->has_auth = s->has_auth;
	tx->auth_mech = s->has_auth ? smtp_str_get(s, SMTP_STR_AUTH) :
	    BSTR_NULL;
	tx->auth_success = s->has_auth ? s->auth_success : -1;
	tx->starttls = s->starttls;
	tx->pipelining = s->pipelining;
	tx->midstream = s->midstream;
}

static void
smtp_msg_begin(struct smtp_session *s, struct smtp_slot *t)
{
	if (t->msg_begun)
		return;
	t->msg_begun = 1;
	msghdr_init(&t->hdr, &t->arena, &s->ctx->cfg.hdr);
	t->hdr.anomaly_out = smtp_hdr_anomaly;
	t->hdr.anomaly_u = s;
	if (s->ctx->out.msg_begin != NULL)
		s->ctx->out.msg_begin(s->u, t->tx_id);
}

/* The message of slot t is over (complete or not). */
static void
smtp_msg_close(struct smtp_session *s, struct smtp_slot *t)
{
	if (t == NULL || !t->msg_begun || t->msg_ended)
		return;
	msghdr_finish(&t->hdr);
	t->msg_ended = 1;
	if (s->ctx->out.msg_end != NULL)
		s->ctx->out.msg_end(s->u, t->tx_id);
}

/* Content bytes of slot t: to msghdr, msg_data and the counters. */
static void
smtp_emit(struct smtp_session *s, struct smtp_slot *t, const uint8_t *d,
    size_t n)
{
	size_t h = 0;

	if (t == NULL || n == 0 || t->msg_ended)
		return;
	smtp_msg_begin(s, t);
	if (!t->hdr.done)
		h = msghdr_feed(&t->hdr, d, n);
	if (h > n)
		h = n;
	t->data_bytes += n;
	s->ctx->st->data_bytes += n;
	if (s->ctx->out.msg_data != NULL) {
		if (h > 0)
			s->ctx->out.msg_data(s->u, d, h, 1);
		if (n > h)
			s->ctx->out.msg_data(s->u, d + h, n - h, 0);
	}
}

static void smtp_pend_detach(struct smtp_session *s, unsigned idx);

/* Hand slot idx to tx_done now and free it. */
static void
smtp_tx_report(struct smtp_session *s, unsigned idx)
{
	struct smtp_slot *t = smtp_slot_at(s, idx);
	struct smtp_tx tx;

	if (t == NULL)
		return;
	if (s->cslot == idx) {
		if (s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT)
			s->state = SMTP_S_RESYNC;
		s->cslot = SMTP_NO_SLOT;
	}
	if (s->cur == idx)
		s->cur = SMTP_NO_SLOT;
	smtp_msg_close(s, t);
	if (t->pending > 0)
		smtp_pend_detach(s, idx);
	memset(&tx, 0, sizeof(tx));
	smtp_session_part(s, &tx);
	tx.tx_id = t->tx_id;
	tx.has_mail_from = t->has_mail_from;
	tx.mail_from = t->mail_from;
	tx.rcpt = t->rcpt_count > 0 ? t->rcpt : NULL;
	tx.rcpt_count = t->rcpt_count;
	tx.rcpt_total = t->rcpt_total;
	tx.has_data = t->has_data;
	tx.bdat = t->bdat;
	tx.data_bytes = t->data_bytes;
	tx.status = t->gap ? SMTP_TX_GAP : t->status;
	tx.last_reply = smtp_sbuf_bstr(&t->last_reply);
	tx.queue_id = t->queue_id;
	tx.hdr = t->msg_begun ? &t->hdr : NULL;
	s->ctx->st->transactions++;
	if (tx.status == SMTP_TX_COMPLETE && t->content_done)
		s->ctx->st->messages++;
	if (s->ctx->out.tx_done != NULL)
		s->ctx->out.tx_done(s->u, &tx);
	arena_reset(&t->arena);
	pool_put(s->ctx->slots, t);
	s->slot[idx] = NULL;
}

static void
smtp_tx_maybe_report(struct smtp_session *s, unsigned idx)
{
	struct smtp_slot *t = smtp_slot_at(s, idx);

	if (t != NULL && t->ended && t->pending == 0)
		smtp_tx_report(s, idx);
}

/* Close slot idx: no further command applies to it. */
static void
smtp_tx_end(struct smtp_session *s, unsigned idx, enum smtp_tx_status st)
{
	struct smtp_slot *t = smtp_slot_at(s, idx);

	if (s->cur == idx)
		s->cur = SMTP_NO_SLOT;
	if (t == NULL)
		return;
	if (!t->ended) {
		t->ended = 1;
		t->status = st;
		smtp_msg_close(s, t);
	}
	smtp_tx_maybe_report(s, idx);
}

/* Report every slot, oldest first. */
static void
smtp_report_all(struct smtp_session *s)
{
	unsigned i, pick;

	for (;;) {
		pick = SMTP_NO_SLOT;
		for (i = 0; i < SMTP_TX_SLOTS; i++)
			if (s->slot[i] != NULL && (pick == SMTP_NO_SLOT ||
			    s->slot[i]->tx_id < s->slot[pick]->tx_id))
				pick = i;
		if (pick == SMTP_NO_SLOT)
			return;
		smtp_tx_report(s, pick);
	}
}

static unsigned
smtp_tx_open(struct smtp_session *s, int has_mail_from)
{
	unsigned i, pick = SMTP_NO_SLOT;
	struct smtp_slot *t;

	if (s->cur != SMTP_NO_SLOT)
		smtp_tx_end(s, s->cur, SMTP_TX_ABORTED);
	for (i = 0; i < SMTP_TX_SLOTS; i++)
		if (s->slot[i] == NULL) {
			pick = i;
			break;
		}
	if (pick == SMTP_NO_SLOT) {
		/* all closed and waiting for replies: the oldest goes now */
		for (i = 0; i < SMTP_TX_SLOTS; i++)
			if (pick == SMTP_NO_SLOT ||
			    s->slot[i]->tx_id < s->slot[pick]->tx_id)
				pick = i;
		smtp_tx_report(s, pick);
	}
	t = pool_get(s->ctx->slots);
	if (t == NULL) {
		/* its commands go on, unrecorded, until it would end */
		smtp_memcap(s);
		s->cur = SMTP_LOST_SLOT;
		return SMTP_LOST_SLOT;
	}
	memset(t, 0, sizeof(*t));
	s->slot[pick] = t;
	t->tx_id = s->tx_next++;
	t->status = SMTP_TX_ABORTED;
	t->has_mail_from = (uint8_t)has_mail_from;
	arena_init(&t->arena, s->ctx->blocks);
	s->cur = (uint8_t)pick;
	return pick;
}

/* The open transaction, or one opened for a command that needs it. */
static unsigned
smtp_tx_need(struct smtp_session *s)
{
	if (s->cur != SMTP_NO_SLOT)
		return s->cur;
	if (!s->midstream || s->any_mail)
		smtp_anom_limit(s, ANOM_SMTP_BAD_SEQUENCE, &s->n_bad_seq);
	return smtp_tx_open(s, 0);
}

/* ---- pending commands ---- */

static struct smtp_pend *
smtp_pend_at(struct smtp_session *s, uint32_t k)
{
	return &s->pend[(s->pend_head + k) % s->pend_cap];
}

static void
smtp_pend_release(struct smtp_session *s)
{
	if (s->pend != s->pend_inline)
		pool_put(s->ctx->blocks, s->pend);
	s->pend = s->pend_inline;
	s->pend_cap = s->ctx->max_pend < SMTP_PEND_INLINE ? s->ctx->max_pend :
	    SMTP_PEND_INLINE;
	s->pend_head = 0;
}

static int
smtp_pend_grow(struct smtp_session *s)
{
	struct smtp_pend *p;
	uint32_t k;

	if (s->pend != s->pend_inline || s->ctx->max_pend <= s->pend_cap)
		return -1;
	p = pool_get(s->ctx->blocks);
	if (p == NULL) {
		smtp_memcap(s);
		return -1;
	}
	for (k = 0; k < s->pend_count; k++)
		p[k] = *smtp_pend_at(s, k);
	s->pend = p;
	s->pend_cap = s->ctx->max_pend;
	s->pend_head = 0;
	return 0;
}

static struct smtp_pend
smtp_pend_pop(struct smtp_session *s)
{
	struct smtp_pend e = s->pend[s->pend_head];
	struct smtp_slot *t;

	s->pend_head = (s->pend_head + 1) % s->pend_cap;
	s->pend_count--;
	if (e.flags & SMTP_PF_PSEUDO)
		s->pend_pseudo--;
	if (e.cmd == SMTP_C_STARTTLS && s->starttls_pending > 0)
		s->starttls_pending--;
	if (s->pend_count == 0)
		smtp_pend_release(s);
	t = smtp_slot_at(s, e.slot);
	if (t != NULL && t->pending > 0)
		t->pending--;
	return e;
}

/* Drop the oldest pending command unanswered. */
static void
smtp_pend_drop(struct smtp_session *s)
{
	struct smtp_pend e = smtp_pend_pop(s);

	smtp_tx_maybe_report(s, e.slot);
}

static void
smtp_pend_detach(struct smtp_session *s, unsigned idx)
{
	uint32_t k;

	for (k = 0; k < s->pend_count; k++)
		if (smtp_pend_at(s, k)->slot == idx)
			smtp_pend_at(s, k)->slot = SMTP_NO_SLOT;
	s->slot[idx]->pending = 0;
}

static void
smtp_pend_push(struct smtp_session *s, enum smtp_cmd cmd, uint8_t flags,
    unsigned slot, uint32_t rcpt)
{
	struct smtp_pend *e;
	struct smtp_slot *t;

	if (s->pend_count >= s->pend_cap && smtp_pend_grow(s) != 0) {
		smtp_anom_once(s, ANOM_SMTP_PIPELINE_OVERFLOW,
		    SMTP_ONCE_PIPELINE);
		smtp_pend_drop(s);
	}
	e = smtp_pend_at(s, s->pend_count);
	t = smtp_slot_at(s, slot);
	e->cmd = (uint8_t)cmd;
	e->flags = flags;
	e->slot = t != NULL ? (uint8_t)slot : SMTP_NO_SLOT;
	e->pad = 0;
	e->rcpt = rcpt;
	s->pend_count++;
	if (flags & SMTP_PF_PSEUDO)
		s->pend_pseudo++;
	if (cmd == SMTP_C_STARTTLS)
		s->starttls_pending++;
	if (t != NULL)
		t->pending++;
}

/* ---- content ---- */

/* DATA content ended at its terminator. */
static void
smtp_data_end(struct smtp_session *s, int bare)
{
	unsigned idx = s->cslot;
	struct smtp_slot *t = smtp_slot_at(s, idx);

	if (bare) {
		s->ctx->st->bare_lf_terminators++;
		smtp_anom(s, ANOM_SMTP_BARE_LF_TERMINATOR);
	}
	s->cslot = SMTP_NO_SLOT;
	s->state = SMTP_S_READY;
	smtp_pend_push(s, SMTP_C_DOT, 0, idx, SMTP_NO_RCPT);
	if (t != NULL) {
		if (!t->msg_ended)
			smtp_msg_begin(s, t);
		t->content_done = 1;
		smtp_tx_end(s, idx, SMTP_TX_COMPLETE);
	}
}

/* First j in [i, n) with d[j] == LF and d[j + 1] == '.' or j + 1 == n;
 * n when there is none.  Reads d[i .. n - 1] only. */
static size_t
smtp_scan_lf_dot_scalar(const uint8_t *d, size_t i, size_t n)
{
	const uint8_t *lf;

	while (i < n) {
		lf = memchr(d + i, '\n', n - i);
		if (lf == NULL)
			return n;
		i = (size_t)(lf - d);
		if (i + 1 == n || d[i + 1] == '.')
			return i;
		i++;
	}
	return n;
}

#ifdef __SSE2__
/* Bit k set: p[k] is LF and p[k + 1] is "."; reads p[0 .. 16]. */
static inline unsigned
smtp_lf_dot_mask16(const uint8_t *p)
{
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

	return (unsigned)_mm_movemask_epi8(_mm_and_si128(
	    _mm_cmpeq_epi8(a, _mm_set1_epi8('\n')),
	    _mm_cmpeq_epi8(b, _mm_set1_epi8('.'))));
}
#endif

/* The same, 32 then 16 positions per step with SSE2 (x86-64 baseline). */
static size_t
smtp_scan_lf_dot(const uint8_t *d, size_t i, size_t n)
{
#ifdef __SSE2__
	unsigned m, m2;

	/* every load ends at or before d + n: p[0 .. 32] and p[0 .. 16] */
	for (; n - i >= 33; i += 32) {
		m = smtp_lf_dot_mask16(d + i);
		m2 = smtp_lf_dot_mask16(d + i + 16);
		if ((m | m2) != 0)
			return i + (size_t)__builtin_ctz(m | m2 << 16);
	}
	if (n - i >= 17) {
		m = smtp_lf_dot_mask16(d + i);
		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
		i += 16;
	}
#endif
	return smtp_scan_lf_dot_scalar(d, i, n);
}

/* DATA content: unstuff, find the terminator; returns bytes consumed. */
static size_t
smtp_content(struct smtp_session *s, const uint8_t *d, size_t n)
{
	struct smtp_slot *t = smtp_slot_at(s, s->cslot);
	size_t i = 0, run = 0, j, end;

	if (s->dstate == SMTP_D_DOT_CR && d[0] != '\n') {
		/* the held CR was data after all */
		smtp_emit(s, t, (const uint8_t *)"\r", 1);
		s->dstate = SMTP_D_TEXT;
	}
	while (i < n) {
		switch (s->dstate) {
		case SMTP_D_TEXT:
			/*
			 * Line starts not followed by "." would only pass
			 * through BOL back to TEXT: skip them.  TEXT begins at
			 * an LF only at a line or chunk start (never after a
			 * CR), so an LF at j == i is bare.
			 */
			j = smtp_scan_lf_dot(d, i, n);
			if (j == n) {
				s->dstate = d[n - 1] == '\r' ? SMTP_D_TEXT_CR :
				    SMTP_D_TEXT;
				i = n;
				break;
			}
			s->dstate = (j > i && d[j - 1] == '\r') ? SMTP_D_BOL :
			    SMTP_D_BOL_LF;
			i = j + 1;
			break;
		case SMTP_D_TEXT_CR:
			if (d[i] == '\n') {
				s->dstate = SMTP_D_BOL;
				i++;
			} else {
				s->dstate = SMTP_D_TEXT;
			}
			break;
		case SMTP_D_BOL:
		case SMTP_D_BOL_LF:
			if (d[i] != '.') {
				s->dstate = SMTP_D_TEXT;
				break;
			}
			smtp_emit(s, t, d + run, i - run);
			run = i + 1;
			s->dot_lf = s->dstate == SMTP_D_BOL_LF;
			s->dstate = SMTP_D_DOT;
			i++;
			break;
		case SMTP_D_DOT:
			if (d[i] == '\r') {
				s->dstate = SMTP_D_DOT_CR;
				i++;
			} else if (d[i] == '\n') {
				i++;
				s->data_seen += i;
				smtp_data_end(s, 1);
				return i;
			} else {
				s->dstate = SMTP_D_TEXT;    /* stuffing */
			}
			break;
		case SMTP_D_DOT_CR:
			if (d[i] == '\n') {
				i++;
				s->data_seen += i;
				smtp_data_end(s, s->dot_lf);
				return i;
			}
			/* ".\r" then data: that CR is at `run` */
			s->dstate = SMTP_D_TEXT;
			break;
		}
	}
	end = s->dstate == SMTP_D_DOT_CR ? n - 1 : n;
	if (end > run)
		smtp_emit(s, t, d + run, end - run);
	s->data_seen += n;
	return n;
}

static void
smtp_bdat_end(struct smtp_session *s)
{
	unsigned idx = s->cslot;
	struct smtp_slot *t = smtp_slot_at(s, idx);

	s->state = SMTP_S_READY;
	s->cslot = SMTP_NO_SLOT;
	if (s->bdat_last && t != NULL) {
		t->content_done = 1;
		smtp_tx_end(s, idx, SMTP_TX_COMPLETE);
	}
}

static size_t
smtp_bdat_bytes(struct smtp_session *s, const uint8_t *d, size_t n)
{
	size_t k = n;

	if ((uint64_t)k > s->bdat_left)
		k = (size_t)s->bdat_left;
	smtp_emit(s, smtp_slot_at(s, s->cslot), d, k);
	s->bdat_left -= k;
	if (s->bdat_left == 0)
		smtp_bdat_end(s);
	return k;
}

/* ---- replies ---- */

static void
smtp_tls(struct smtp_session *s)
{
	s->starttls = 1;
	s->ctx->st->starttls++;
	if (s->cur != SMTP_NO_SLOT)
		smtp_tx_end(s, s->cur, SMTP_TX_ABORTED);
	while (s->pend_count > 0)
		smtp_pend_drop(s);
	smtp_report_all(s);
	s->cslot = SMTP_NO_SLOT;
	s->state = SMTP_S_TLS;
}

/* DATA got something else than 354. */
static void
smtp_data_refused(struct smtp_session *s, unsigned idx, struct smtp_slot *t)
{
	if (s->state == SMTP_S_DATA && s->cslot == idx) {
		s->cslot = SMTP_NO_SLOT;
		if (s->data_seen == 0) {
			s->state = SMTP_S_READY;
			return;
		}
		smtp_anom(s, ANOM_SMTP_DATA_WITHOUT_354);
		if (t != NULL) {
			t->refused = 1;
			smtp_msg_close(s, t);
		}
		s->state = SMTP_S_RESYNC;
		return;
	}
	if (t != NULL && t->content_done && !t->bdat) {
		/* the whole message came before the refusal */
		smtp_anom(s, ANOM_SMTP_DATA_WITHOUT_354);
		t->refused = 1;
		t->status = SMTP_TX_ABORTED;
	}
}

static void
smtp_apply(struct smtp_session *s, const struct smtp_pend *e, int code,
    const uint8_t *line, size_t n)
{
	struct smtp_slot *t = smtp_slot_at(s, e->slot);

	if (t != NULL)
		smtp_sbuf_set(s, &t->arena, &t->last_reply, line, n);
	switch ((enum smtp_cmd)e->cmd) {
	case SMTP_C_RCPT:
		if (t != NULL && e->rcpt < t->rcpt_count)
			t->rcpt[e->rcpt].code = code;
		break;
	case SMTP_C_DATA:
		if (code == 354) {
			if (t != NULL)
				t->has_data = 1;
		} else {
			smtp_data_refused(s, e->slot, t);
		}
		break;
	case SMTP_C_DOT:
	case SMTP_C_BDAT:
		if (t == NULL || code < 200 || code > 299)
			break;
		if (e->cmd == SMTP_C_DOT && !t->refused)
			t->has_data = 1;
		if (e->cmd == SMTP_C_DOT || (e->flags & SMTP_PF_LAST))
			t->queue_id = smtp_queue_id(t->last_reply.p,
			    t->last_reply.len);
		break;
	case SMTP_C_AUTH:
		s->auth_success = code == 235;
		if (s->state == SMTP_S_AUTH)
			s->state = SMTP_S_READY;
		break;
	case SMTP_C_STARTTLS:
		if (code == 220)
			smtp_tls(s);
		break;
	default:
		break;
	}
	smtp_tx_maybe_report(s, e->slot);
}

/* A complete reply; line is its final line. */
static void
smtp_reply(struct smtp_session *s, int code, const uint8_t *line, size_t n)
{
	struct smtp_pend e;
	int greeting;

	s->ctx->st->replies++;
	smtp_str_set(s, SMTP_STR_REPLY, line, n);
	if (!s->greeted) {
		/* the greeting answers no command (early talkers pipeline) */
		s->greeted = 1;
		greeting = code == 220 || code == 421 || code == 554;
		if (s->midstream ? (s->pend_count == 0 && code == 220) :
		    (greeting || s->pend_count == 0)) {
			s->has_banner = code == 220;
			return;
		}
	}
	if (s->pend_count == 0) {
		if (!(s->midstream && !s->any_cmd) && !s->had_gap)
			smtp_anom_limit(s, ANOM_SMTP_REPLY_WITHOUT_COMMAND,
			    &s->n_no_cmd);
		return;
	}
	if (s->pend[s->pend_head].cmd == SMTP_C_AUTH && code == 334) {
		if (s->state == SMTP_S_READY)
			s->state = SMTP_S_AUTH;
		return;
	}
	e = smtp_pend_pop(s);
	smtp_apply(s, &e, code, line, n);
}

static void
smtp_server_line(struct smtp_session *s, const uint8_t *p, size_t n)
{
	int code = smtp_reply_code(p, n);
	const uint8_t *text = n > 4 ? p + 4 : p + n;
	size_t tn = n > 4 ? n - 4 : 0;

	switch ((enum smtp_srv_state)s->srv) {
	case SMTP_SRV_RESYNC:
		if (code < 200)
			return;
		s->srv = SMTP_SRV_READY;
		break;
	case SMTP_SRV_READY:
	case SMTP_SRV_MULTI:
		if (code < 0) {
			smtp_anom_limit(s, ANOM_SMTP_BAD_REPLY,
			    &s->n_bad_reply);
			return;
		}
		break;
	}
	if (s->srv == SMTP_SRV_MULTI) {
		if (code != s->multi_code)
			smtp_anom_limit(s, ANOM_SMTP_BAD_REPLY,
			    &s->n_bad_reply);
	} else {
		s->multi_code = code;
		if (!s->greeted)
			smtp_str_set(s, SMTP_STR_BANNER, text, tn);
	}
	if (n > 3 && p[3] == '-') {
		s->srv = SMTP_SRV_MULTI;
		return;
	}
	s->srv = SMTP_SRV_READY;
	smtp_reply(s, code, p, n);
}

/* ---- commands ---- */

static void
smtp_rcpt_add(struct smtp_session *s, struct smtp_slot *t, struct bstr a,
    uint32_t *ri)
{
	struct smtp_rcpt *r;
	uint32_t na;
	char *c;

	*ri = SMTP_NO_RCPT;
	if (t->rcpt_total < UINT32_MAX)
		t->rcpt_total++;
	if (t->rcpt_count >= s->ctx->max_rcpt) {
		if (!t->rcpt_capped) {
			t->rcpt_capped = 1;
			smtp_anom(s, ANOM_SMTP_TOO_MANY_RCPT);
		}
		return;
	}
	if (t->rcpt_count == t->rcpt_alloc) {
		na = t->rcpt_alloc ? t->rcpt_alloc * 2 : 8;
		if (na > s->ctx->max_rcpt)
			na = s->ctx->max_rcpt;
		r = arena_alloc(&t->arena, (size_t)na * sizeof(*r));
		if (r == NULL) {
			smtp_memcap(s);
			return;
		}
		if (t->rcpt_count > 0)
			memcpy(r, t->rcpt, t->rcpt_count * sizeof(*r));
		t->rcpt = r;
		t->rcpt_alloc = na;
	}
	c = arena_strndup(&t->arena, a.p, a.len);
	if (c == NULL) {
		smtp_memcap(s);
		return;
	}
	t->rcpt[t->rcpt_count].addr = bstr_make(c, a.len);
	t->rcpt[t->rcpt_count].code = 0;
	*ri = t->rcpt_count++;
}

static void
smtp_command(struct smtp_session *s, const uint8_t *p, size_t n)
{
	const uint8_t *a;
	size_t an, k;
	enum smtp_cmd c = smtp_split(p, n, &a, &an);
	struct smtp_slot *t;
	struct bstr path;
	unsigned idx;
	uint64_t size;
	uint32_t ri;
	int last;
	char *m;

	s->ctx->st->commands++;
	if (s->pend_count > s->pend_pseudo)
		s->pipelining = 1;
	if (s->starttls_pending > 0)
		smtp_anom_once(s, ANOM_SMTP_DATA_AFTER_STARTTLS,
		    SMTP_ONCE_TLS);
	s->any_cmd = 1;
	switch (c) {
	case SMTP_C_HELO:
	case SMTP_C_EHLO:
		if (s->cur != SMTP_NO_SLOT)
			smtp_tx_end(s, s->cur, SMTP_TX_ABORTED);
		smtp_str_set(s, SMTP_STR_HELO, a, an);
		s->has_helo = 1;
		s->helo_ehlo = c == SMTP_C_EHLO;
		smtp_pend_push(s, c, 0, SMTP_NO_SLOT, SMTP_NO_RCPT);
		break;
	case SMTP_C_MAIL:
		s->any_mail = 1;
		idx = smtp_tx_open(s, 1);
		t = smtp_slot_at(s, idx);
		path = smtp_path(a, an, "FROM");
		m = t != NULL ? arena_strndup(&t->arena, path.p, path.len) :
		    NULL;
		if (m == NULL)
			smtp_memcap(s);
		else
			t->mail_from = bstr_make(m, path.len);
		smtp_pend_push(s, c, 0, idx, SMTP_NO_RCPT);
		break;
	case SMTP_C_RCPT:
		idx = smtp_tx_need(s);
		ri = SMTP_NO_RCPT;
		if ((t = smtp_slot_at(s, idx)) != NULL)
			smtp_rcpt_add(s, t, smtp_path(a, an, "TO"), &ri);
		smtp_pend_push(s, c, 0, idx, ri);
		break;
	case SMTP_C_DATA:
		idx = smtp_tx_need(s);
		if ((t = smtp_slot_at(s, idx)) != NULL)
			t->refused = 0;
		else
			s->cur = SMTP_NO_SLOT;  /* a lost one ends here */
		smtp_pend_push(s, c, 0, idx, SMTP_NO_RCPT);
		s->state = SMTP_S_DATA;
		s->dstate = SMTP_D_BOL;
		s->cslot = (uint8_t)idx;
		s->data_seen = 0;
		break;
	case SMTP_C_BDAT:
		if (smtp_bdat_args(a, an, &size, &last) != 0) {
			smtp_anom(s, ANOM_SMTP_BDAT_INVALID);
			smtp_pend_push(s, SMTP_C_BDAT_BAD, 0, SMTP_NO_SLOT,
			    SMTP_NO_RCPT);
			if (s->cur != SMTP_NO_SLOT)
				smtp_tx_end(s, s->cur, SMTP_TX_ABORTED);
			break;
		}
		s->ctx->st->bdat++;
		idx = smtp_tx_need(s);
		if ((t = smtp_slot_at(s, idx)) != NULL) {
			t->bdat = 1;
			t->has_data = 1;
			smtp_msg_begin(s, t);
		} else if (last) {
			s->cur = SMTP_NO_SLOT;
		}
		smtp_pend_push(s, c, last ? SMTP_PF_LAST : 0, idx,
		    SMTP_NO_RCPT);
		s->cslot = (uint8_t)idx;
		s->bdat_last = (uint8_t)last;
		s->bdat_left = size;
		if (size > 0)
			s->state = SMTP_S_BDAT;
		else
			smtp_bdat_end(s);
		break;
	case SMTP_C_RSET:
	case SMTP_C_QUIT:
		if (s->cur != SMTP_NO_SLOT)
			smtp_tx_end(s, s->cur, SMTP_TX_ABORTED);
		smtp_pend_push(s, c, 0, SMTP_NO_SLOT, SMTP_NO_RCPT);
		break;
	case SMTP_C_AUTH:
		s->ctx->st->auth++;
		s->has_auth = 1;
		s->auth_success = -1;
		for (k = 0; k < an && !smtp_wsp(a[k]); k++)
			;
		smtp_str_set(s, SMTP_STR_AUTH, a, k);
		smtp_pend_push(s, c, 0, SMTP_NO_SLOT, SMTP_NO_RCPT);
		break;
	case SMTP_C_UNKNOWN:
		s->ctx->st->unknown_commands++;
		smtp_anom_limit(s, ANOM_SMTP_UNKNOWN_COMMAND, &s->n_unknown);
		smtp_pend_push(s, c, 0, SMTP_NO_SLOT, SMTP_NO_RCPT);
		break;
	default:
		smtp_pend_push(s, c, 0, SMTP_NO_SLOT, SMTP_NO_RCPT);
		break;
	}
}

static void
smtp_client_line(struct smtp_session *s, const uint8_t *p, size_t n,
    int bare_lf)
{
	switch ((enum smtp_state)s->state) {
	case SMTP_S_AUTH:
		/* one SASL response per 334; not a command */
		s->state = SMTP_S_READY;
		return;
	case SMTP_S_RESYNC:
		if (n == 1 && p[0] == '.') {
			s->state = SMTP_S_READY;
			return;
		}
		if (!smtp_is_command(p, n, 1))
			return;
		s->state = SMTP_S_READY;
		break;
	case SMTP_S_READY:
		break;
	case SMTP_S_INIT:
	case SMTP_S_DATA:
	case SMTP_S_BDAT:
	case SMTP_S_TLS:
	case SMTP_S_CLOSED:
		return;
	}
	if (bare_lf)
		smtp_anom_once(s, ANOM_SMTP_BARE_LF, SMTP_ONCE_BARE_LF);
	smtp_command(s, p, n);
}

static void
smtp_set_roles(struct smtp_session *s, int server)
{
	s->server_dir = server;
	s->state = SMTP_S_READY;
	s->srv = SMTP_SRV_READY;
	/* a "." then a command: the end of a message we joined midway */
	if (s->dir[!server].pre_dot)
		smtp_pend_push(s, SMTP_C_DOT, SMTP_PF_PSEUDO, SMTP_NO_SLOT,
		    SMTP_NO_RCPT);
}

/* A complete line of direction dir, without its line end. */
static void
smtp_line(struct smtp_session *s, int dir, const uint8_t *p, size_t n,
    int bare_lf)
{
	if (s->server_dir < 0) {
		if (smtp_reply_code(p, n) >= 200) {
			smtp_set_roles(s, dir);
		} else if (smtp_is_command(p, n, s->midstream)) {
			smtp_set_roles(s, !dir);
		} else {
			s->dir[dir].pre_dot = n == 1 && p[0] == '.';
			return;
		}
	}
	if (dir == s->server_dir)
		smtp_server_line(s, p, n);
	else
		smtp_client_line(s, p, n, bare_lf);
}

static void
smtp_line_reset(struct smtp_session *s, int dir)
{
	struct smtp_dir *ld = &s->dir[dir];

	if (ld->buf != NULL)
		pool_put(s->ctx->blocks, ld->buf);
	ld->buf = NULL;
	ld->len = 0;
	ld->cr = 0;
	ld->lost = 0;
	ld->lstate = SMTP_L_START;
}

static void
smtp_too_long(struct smtp_session *s)
{
	s->ctx->st->lines_too_long++;
	smtp_anom(s, ANOM_SMTP_LINE_TOO_LONG);
}

/* Raw line bytes (CR included, LF not): cut, strip CR, dispatch. */
static void
smtp_line_raw(struct smtp_session *s, int dir, const uint8_t *p, size_t n)
{
	int cr = n > 0 && p[n - 1] == '\r';

	if (cr)
		n--;
	if (n > s->ctx->max_line) {
		smtp_too_long(s);
		n = s->ctx->max_line;
	}
	smtp_line(s, dir, p, n, !cr);
}

/* Line mode: consume up to one line end; returns bytes consumed. */
static size_t
smtp_line_feed(struct smtp_session *s, int dir, const uint8_t *d, size_t n)
{
	struct smtp_dir *ld = &s->dir[dir];
	const uint8_t *lf = memchr(d, '\n', n);
	size_t body = lf != NULL ? (size_t)(lf - d) : n;
	size_t room, k;

	switch ((enum smtp_lstate)ld->lstate) {
	case SMTP_L_START:
		if (lf != NULL) {
			smtp_line_raw(s, dir, d, body);
			return body + 1;
		}
		ld->lstate = SMTP_L_PARTIAL;
		ld->len = 0;
		ld->buf = pool_get(s->ctx->blocks);
		if (ld->buf == NULL) {
			smtp_memcap(s);
			ld->lstate = SMTP_L_SKIP;
			ld->lost = 1;
			ld->cr = d[n - 1] == '\r';
			return n;
		}
		/* FALLTHROUGH */
	case SMTP_L_PARTIAL:
		room = (size_t)s->ctx->max_line + 1 - ld->len;
		k = body < room ? body : room;
		memcpy(ld->buf + ld->len, d, k);
		ld->len += (uint32_t)k;
		if (body > room) {
			/* past max_line + CR: keep max_line, skip to LF */
			smtp_too_long(s);
			ld->lstate = SMTP_L_SKIP;
			ld->cr = d[body - 1] == '\r';
			if (lf == NULL)
				return n;
			smtp_line(s, dir, ld->buf, s->ctx->max_line, !ld->cr);
			smtp_line_reset(s, dir);
			return body + 1;
		}
		if (lf == NULL)
			return n;
		smtp_line_raw(s, dir, ld->buf, ld->len);
		smtp_line_reset(s, dir);
		return body + 1;
	case SMTP_L_SKIP:
		if (body > 0)
			ld->cr = d[body - 1] == '\r';
		if (lf == NULL)
			return n;
		if (!ld->lost)
			smtp_line(s, dir, ld->buf, s->ctx->max_line, !ld->cr);
		smtp_line_reset(s, dir);
		return body + 1;
	}
	return n;
}

static size_t
smtp_dispatch(struct smtp_session *s, int dir, const uint8_t *d, size_t n)
{
	int client = s->server_dir >= 0 && dir != s->server_dir;
	struct smtp_dir *ld = &s->dir[dir];

	switch ((enum smtp_state)s->state) {
	case SMTP_S_CLOSED:
		return n;
	case SMTP_S_TLS:
		if (ld->buf != NULL || ld->lstate != SMTP_L_START)
			smtp_line_reset(s, dir);
		if (!ld->tls_seen) {
			ld->tls_seen = 1;
			if (d[0] != 0x16)
				smtp_anom_once(s, ANOM_SMTP_DATA_AFTER_STARTTLS,
				    SMTP_ONCE_TLS);
		}
		s->ctx->st->encrypted_bytes += n;
		return n;
	case SMTP_S_DATA:
		if (client)
			return smtp_content(s, d, n);
		break;
	case SMTP_S_BDAT:
		if (client)
			return smtp_bdat_bytes(s, d, n);
		break;
	case SMTP_S_INIT:
	case SMTP_S_READY:
	case SMTP_S_AUTH:
	case SMTP_S_RESYNC:
		break;
	}
	return smtp_line_feed(s, dir, d, n);
}

/* ---- gaps ---- */

static void
smtp_client_gap(struct smtp_session *s, uint32_t len)
{
	unsigned idx = s->cslot;
	struct smtp_slot *t = smtp_slot_at(s, idx);

	switch ((enum smtp_state)s->state) {
	case SMTP_S_DATA:
		s->cslot = SMTP_NO_SLOT;
		s->state = SMTP_S_RESYNC;
		/* stands for the lost end of the message: takes its reply */
		smtp_pend_push(s, SMTP_C_DOT, SMTP_PF_PSEUDO, idx,
		    SMTP_NO_RCPT);
		if (t != NULL) {
			t->gap = 1;
			smtp_tx_end(s, idx, SMTP_TX_GAP);
		}
		break;
	case SMTP_S_BDAT:
		if (t != NULL) {
			t->gap = 1;
			smtp_msg_close(s, t);
		}
		if ((uint64_t)len < s->bdat_left) {
			s->bdat_left -= len;
			break;
		}
		s->bdat_left = 0;
		smtp_bdat_end(s);
		s->state = SMTP_S_RESYNC;
		break;
	case SMTP_S_READY:
	case SMTP_S_AUTH:
	case SMTP_S_RESYNC:
		if ((t = smtp_slot_at(s, s->cur)) != NULL)
			t->gap = 1;
		s->state = SMTP_S_RESYNC;
		break;
	case SMTP_S_INIT:
	case SMTP_S_TLS:
	case SMTP_S_CLOSED:
		break;
	}
}

static void
smtp_server_gap(struct smtp_session *s)
{
	unsigned i;

	s->greeted = 1;
	s->srv = SMTP_SRV_RESYNC;
	for (i = 0; i < SMTP_TX_SLOTS; i++)
		if (s->slot[i] != NULL && (s->slot[i]->pending > 0 ||
		    i == s->cur))
			s->slot[i]->gap = 1;
	while (s->pend_count > 0)
		smtp_pend_drop(s);
	if (s->state == SMTP_S_AUTH)
		s->state = SMTP_S_READY;
}

/* ---- interface ---- */

size_t
smtp_slot_size(void)
{
	return sizeof(struct smtp_slot);
}

struct smtp_ctx *
smtp_ctx_create(const struct smtp_config *cfg, struct pool *blocks,
    struct pool *slots, const struct smtp_out *out, struct smtp_stats *stats)
{
	struct smtp_ctx *c;
	size_t blk, v;

	if (blocks == NULL || slots == NULL ||
	    pool_obj_size(slots) < sizeof(struct smtp_slot))
		return NULL;
	blk = pool_obj_size(blocks);
	if (blk < 64)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (cfg != NULL)
		c->cfg = *cfg;
	if (c->cfg.max_line == 0)
		c->cfg.max_line = SMTP_DEF_MAX_LINE;
	if (c->cfg.max_rcpt == 0)
		c->cfg.max_rcpt = SMTP_DEF_MAX_RCPT;
	if (c->cfg.max_pipeline == 0)
		c->cfg.max_pipeline = SMTP_DEF_MAX_PIPELINE;
	/* a held line, the recipient array and the queue fit one block */
	c->max_line = c->cfg.max_line < blk - 1 ? c->cfg.max_line :
	    (uint32_t)(blk - 1);
	v = (blk - SMTP_ARENA_SLACK) / sizeof(struct smtp_rcpt);
	c->max_rcpt = c->cfg.max_rcpt < v ? c->cfg.max_rcpt : (uint32_t)v;
	v = blk / sizeof(struct smtp_pend);
	if (v < SMTP_PEND_INLINE)
		v = SMTP_PEND_INLINE;
	c->max_pend = c->cfg.max_pipeline < v ? c->cfg.max_pipeline :
	    (uint32_t)v;
	if (out != NULL)
		c->out = *out;
	c->out.u = NULL;
	c->blocks = blocks;
	c->slots = slots;
	c->st = stats != NULL ? stats : &c->own_stats;
	return c;
}

void
smtp_ctx_destroy(struct smtp_ctx *c)
{
	free(c);
}

size_t
smtp_session_size(void)
{
	return sizeof(struct smtp_session);
}

struct smtp_session *
smtp_session_init(void *mem, struct smtp_ctx *ctx, void *u, int midstream)
{
	struct smtp_session *s = mem;

	if (mem == NULL || ctx == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->u = u;
	s->state = SMTP_S_INIT;
	s->srv = SMTP_SRV_READY;
	s->server_dir = -1;
	s->midstream = midstream != 0;
	s->auth_success = -1;
	s->cur = SMTP_NO_SLOT;
	s->cslot = SMTP_NO_SLOT;
	s->pend = s->pend_inline;
	smtp_pend_release(s);
	ctx->st->sessions++;
	return s;
}

void
smtp_session_data(struct smtp_session *s, int dir, const uint8_t *d,
    size_t n, uint64_t ts_us)
{
	size_t k;

	if (s == NULL || d == NULL || (dir != 0 && dir != 1))
		return;
	s->ctx->ts = ts_us;
	while (n > 0) {
		k = smtp_dispatch(s, dir, d, n);
		if (k == 0 || k > n)    /* cannot happen; never loop */
			k = n;
		d += k;
		n -= k;
	}
}

void
smtp_session_gap(struct smtp_session *s, int dir, uint32_t len,
    uint64_t ts_us)
{
	if (s == NULL || (dir != 0 && dir != 1) || s->state == SMTP_S_CLOSED)
		return;
	s->ctx->ts = ts_us;
	s->ctx->st->gaps++;
	s->had_gap = 1;
	smtp_line_reset(s, dir);
	if (s->state == SMTP_S_TLS)
		return;
	if (s->server_dir < 0) {
		s->dir[dir].pre_dot = 0;
		return;
	}
	if (dir == s->server_dir)
		smtp_server_gap(s);
	else
		smtp_client_gap(s, len);
}

void
smtp_session_end(struct smtp_session *s, uint64_t ts_us)
{
	struct smtp_slot *t;
	struct smtp_tx tx;

	if (s == NULL || s->state == SMTP_S_CLOSED)
		return;
	s->ctx->ts = ts_us;
	t = smtp_slot_at(s, s->cslot);
	switch ((enum smtp_state)s->state) {
	case SMTP_S_DATA:
		if (t != NULL)
			smtp_tx_end(s, s->cslot, (s->data_seen > 0 ||
			    t->has_data) ? SMTP_TX_TRUNCATED : SMTP_TX_ABORTED);
		break;
	case SMTP_S_BDAT:
		smtp_anom(s, ANOM_SMTP_BDAT_SIZE_MISMATCH);
		if (t != NULL)
			smtp_tx_end(s, s->cslot, SMTP_TX_TRUNCATED);
		break;
	case SMTP_S_INIT:
	case SMTP_S_READY:
	case SMTP_S_AUTH:
	case SMTP_S_RESYNC:
	case SMTP_S_TLS:
	case SMTP_S_CLOSED:
		break;
	}
	s->cslot = SMTP_NO_SLOT;
	t = smtp_slot_at(s, s->cur);
	if (t != NULL)
		smtp_tx_end(s, s->cur, (t->msg_begun && !t->content_done) ?
		    SMTP_TX_TRUNCATED : SMTP_TX_ABORTED);
	smtp_report_all(s);
	if (s->tx_next == 0) {
		memset(&tx, 0, sizeof(tx));
		smtp_session_part(s, &tx);
		tx.tx_id = s->tx_next++;
		tx.status = s->had_gap ? SMTP_TX_GAP : SMTP_TX_COMPLETE;
		tx.last_reply = smtp_str_get(s, SMTP_STR_REPLY);
		if (s->ctx->out.tx_done != NULL)
			s->ctx->out.tx_done(s->u, &tx);
	}
	s->pend_count = 0;
	s->pend_pseudo = 0;
	smtp_pend_release(s);
	smtp_line_reset(s, 0);
	smtp_line_reset(s, 1);
	smtp_strs_release(s);
	s->state = SMTP_S_CLOSED;
}

int
smtp_session_encrypted(const struct smtp_session *s)
{
	return s != NULL && s->starttls;
}

/* ---- sniffing ---- */

enum smtp_sniff_result
smtp_sniff(const uint8_t *d, size_t n, int from_responder)
{
	static const char *const hello[] = { "EHLO ", "HELO " };
	size_t i, off, e;
	int partial = 0;

	if (d == NULL || n == 0)
		return SMTP_SNIFF_MORE;
	for (i = 0; i < 2; i++) {
		size_t k, m = n < 5 ? n : 5;

		for (k = 0; k < m; k++)
			if (smtp_lower(d[k]) !=
			    smtp_lower((uint8_t)hello[i][k]))
				break;
		if (k == m) {
			if (n >= 5)
				return SMTP_SNIFF_YES;
			partial = 1;
		}
	}
	/* greeting: "220 " / "220-" lines, one naming SMTP */
	off = 0;
	while (off < n && off < SMTP_SNIFF_MAX) {
		for (i = 0; i < 4 && off + i < n; i++)
			if (d[off + i] != (uint8_t)"220 "[i] &&
			    !(i == 3 && d[off + i] == '-'))
				return partial ? SMTP_SNIFF_MORE :
				    SMTP_SNIFF_NO;
		if (off + 4 > n)
			return SMTP_SNIFF_MORE;
		for (e = off + 4; e < n && d[e] != '\n'; e++)
			;
		if (smtp_ifind(d + off, e - off, "SMTP") >= 0)
			return SMTP_SNIFF_YES;
		if (e >= n)
			return e >= SMTP_SNIFF_MAX ? SMTP_SNIFF_NO :
			    SMTP_SNIFF_MORE;
		if (d[off + 3] == ' ')
			/* a plain 220 greeting: the other side decides */
			return from_responder ? SMTP_SNIFF_MORE : SMTP_SNIFF_NO;
		off = e + 1;
	}
	return off >= SMTP_SNIFF_MAX ? SMTP_SNIFF_NO : SMTP_SNIFF_MORE;
}
