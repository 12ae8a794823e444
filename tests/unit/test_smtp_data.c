/*
 * test_smtp_data.c - the DATA content path of smtp.c against a reference:
 * the byte-level state machine smtp.c had before its text state learnt to
 * skip to the next LF "." (one memchr and one state step per line), kept
 * here as model_content.  Random bodies rich in CR, LF and "." (stuffed
 * lines, "." CR, bare LF terminators, long plain runs for the 16-byte scan)
 * go through a real session in many chunkings: 1-byte pieces, small random
 * ones, around the SIMD widths, cuts right after CR, LF and ".".  For every
 * smtp_session_data call the content ranges handed to msg_data (merged
 * where contiguous: msghdr splits header from body) must be exactly the
 * ranges the model emits for that chunk, the end of message must come in
 * the same call with the same bare-LF verdict, and the bytes after the
 * terminator must still parse as the next command.
 */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/smtp.h"

#define BODY_MAX  4096
#define EV_MAX    (2 * BODY_MAX + 8)
#define TAIL      "QUIT\r\n"
#define ITERS     3000

/* ---- the reference: smtp_content as it was (8501b15) ---- */

enum model_dstate {
	M_BOL = 0, M_BOL_LF, M_DOT, M_DOT_CR, M_TEXT, M_TEXT_CR,
};

struct ev {
	long off;                /* offset in the chunk, -1: the held CR */
	size_t len;
};

struct evlog {
	struct ev e[EV_MAX];
	int n;
	int overflow;
};

struct model {
	enum model_dstate st;
	int dot_lf;
	int done, bare;
};

static void
ev_add(struct evlog *l, long off, size_t len)
{
	if (len == 0)
		return;
	if (l->n >= EV_MAX) {
		l->overflow = 1;
		return;
	}
	l->e[l->n].off = off;
	l->e[l->n].len = len;
	l->n++;
}

/* Bytes consumed; m->done once the terminator was read. */
static size_t
model_content(struct model *m, const uint8_t *d, size_t n, struct evlog *l)
{
	size_t i = 0, run = 0, j, end;
	const uint8_t *lf;

	if (m->st == M_DOT_CR && d[0] != '\n') {
		ev_add(l, -1, 1);
		m->st = M_TEXT;
	}
	while (i < n) {
		switch (m->st) {
		case M_TEXT:
			lf = memchr(d + i, '\n', n - i);
			if (lf == NULL) {
				m->st = d[n - 1] == '\r' ? M_TEXT_CR : M_TEXT;
				i = n;
				break;
			}
			j = (size_t)(lf - d);
			m->st = (j > i && d[j - 1] == '\r') ? M_BOL : M_BOL_LF;
			i = j + 1;
			break;
		case M_TEXT_CR:
			if (d[i] == '\n') {
				m->st = M_BOL;
				i++;
			} else {
				m->st = M_TEXT;
			}
			break;
		case M_BOL:
		case M_BOL_LF:
			if (d[i] != '.') {
				m->st = M_TEXT;
				break;
			}
			ev_add(l, (long)run, i - run);
			run = i + 1;
			m->dot_lf = m->st == M_BOL_LF;
			m->st = M_DOT;
			i++;
			break;
		case M_DOT:
			if (d[i] == '\r') {
				m->st = M_DOT_CR;
				i++;
			} else if (d[i] == '\n') {
				m->done = 1;
				m->bare = 1;
				return i + 1;
			} else {
				m->st = M_TEXT;
			}
			break;
		case M_DOT_CR:
			if (d[i] == '\n') {
				m->done = 1;
				m->bare = m->dot_lf;
				return i + 1;
			}
			m->st = M_TEXT;
			break;
		}
	}
	end = m->st == M_DOT_CR ? n - 1 : n;
	if (end > run)
		ev_add(l, (long)run, end - run);
	return n;
}

/* ---- what the session does ---- */

struct obs {
	const uint8_t *chunk;    /* the piece being fed */
	size_t chunk_n;
	struct evlog got;        /* msg_data ranges during this call */
	int stray;               /* msg_data outside the piece (not the CR) */
	int ends, txs, status;
	uint64_t data_bytes;
	int anom[ANOM_COUNT];
	uint8_t content[BODY_MAX + 16];
	size_t clen;
	struct smtp_stats st;
};

static void
cb_tx(void *u, const struct smtp_tx *tx)
{
	struct obs *o = u;

	o->txs++;
	o->status = tx->status;
	o->data_bytes = tx->data_bytes;
}

static void
cb_anom(void *u, enum anom_id a, uint64_t ts)
{
	struct obs *o = u;

	(void)ts;
	if ((unsigned)a < ANOM_COUNT)
		o->anom[a]++;
}

static void
cb_data(void *u, const uint8_t *d, size_t n, int in_header)
{
	struct obs *o = u;
	struct ev *last;
	long off;

	(void)in_header;
	if (o->clen + n <= sizeof(o->content)) {
		memcpy(o->content + o->clen, d, n);
		o->clen += n;
	}
	if (o->chunk != NULL && d >= o->chunk &&
	    d + n <= o->chunk + o->chunk_n) {
		off = (long)(d - o->chunk);
		last = o->got.n > 0 ? &o->got.e[o->got.n - 1] : NULL;
		if (last != NULL && last->off >= 0 &&
		    last->off + (long)last->len == off)
			last->len += n;     /* msghdr split one range */
		else
			ev_add(&o->got, off, n);
	} else if (n == 1 && d[0] == '\r') {
		ev_add(&o->got, -1, 1);
	} else {
		o->stray++;
	}
}

static void
cb_end(void *u, uint32_t id)
{
	struct obs *o = u;

	(void)id;
	o->ends++;
}

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static struct pool *blocks, *slots;
static struct obs obs;
static struct evlog want;
static int failures;

/* One piece through the session, exact-size copy so ASan sees over-reads. */
static void
feed(struct smtp_session *s, int dir, const uint8_t *d, size_t n)
{
	uint8_t *b = malloc(n);

	memcpy(b, d, n);
	obs.chunk = b;
	obs.chunk_n = n;
	obs.got.n = 0;
	smtp_session_data(s, dir, b, n, 1000);
	obs.chunk = NULL;
	free(b);
}

static void
feed_str(struct smtp_session *s, int dir, const char *str)
{
	feed(s, dir, (const uint8_t *)str, strlen(str));
}

enum cut_mode {
	CUT_WHOLE, CUT_ONE, CUT_SMALL, CUT_MEDIUM, CUT_LARGE, CUT_FIXED,
	CUT_SPECIAL, CUT_COUNT
};

static size_t
next_cut(enum cut_mode mode, const uint8_t *d, size_t off, size_t n,
    size_t fixed)
{
	size_t k;

	switch (mode) {
	case CUT_WHOLE:
		return n - off;
	case CUT_ONE:
		return 1;
	case CUT_SMALL:
		return 1 + rng() % 3;
	case CUT_MEDIUM:
		return 1 + rng() % 40;
	case CUT_LARGE:
		return 1 + rng() % 300;
	case CUT_FIXED:
		return fixed;
	default:
		/* right after a CR, LF or "." half of the time */
		for (k = 1; off + k < n; k++)
			if (memchr("\r\n.", d[off + k - 1], 3) != NULL &&
			    rng() % 2 == 0)
				break;
		return k;
	}
}

/*
 * Run one session whose content is `d` (ending at its terminator) plus
 * TAIL, fed in `mode` pieces; compare every call with the model.
 */
static void
run_session(const uint8_t *d, size_t n, enum cut_mode mode, size_t fixed,
    const struct model *whole, const uint8_t *content, size_t content_len)
{
	void *mem = malloc(smtp_session_size());
	struct smtp_out out = { cb_tx, cb_anom, NULL, cb_data, cb_end, &obs };
	struct smtp_session *s;
	struct smtp_ctx *ctx;
	struct model m = { M_BOL, 0, 0, 0 };
	struct pool_stats ps;
	size_t off, k;
	int bare_before, ends_before, was_done, bad = 0;

	memset(&obs, 0, sizeof(obs));
	ctx = smtp_ctx_create(NULL, blocks, slots, &out, &obs.st);
	s = ctx != NULL ? smtp_session_init(mem, ctx, &obs, 0) : NULL;
	CHECK(s != NULL);
	if (s == NULL) {
		smtp_ctx_destroy(ctx);
		free(mem);
		return;
	}
	feed_str(s, 1, "220 mx ESMTP\r\n");
	feed_str(s, 0, "EHLO c\r\n");
	feed_str(s, 1, "250 mx\r\n");
	feed_str(s, 0, "MAIL FROM:<a@x>\r\n");
	feed_str(s, 1, "250 ok\r\n");
	feed_str(s, 0, "RCPT TO:<b@y>\r\n");
	feed_str(s, 1, "250 ok\r\n");
	feed_str(s, 0, "DATA\r\n");
	feed_str(s, 1, "354 go\r\n");
	for (off = 0; off < n; off += k) {
		k = next_cut(mode, d, off, n, fixed);
		if (k > n - off)
			k = n - off;
		bare_before = obs.anom[ANOM_SMTP_BARE_LF_TERMINATOR];
		ends_before = obs.ends;
		want.n = 0;
		was_done = m.done;
		if (!m.done)
			(void)model_content(&m, d + off, k, &want);
		feed(s, 0, d + off, k);
		if (obs.got.overflow || want.overflow ||
		    obs.got.n != want.n ||
		    memcmp(obs.got.e, want.e, sizeof(want.e[0]) *
		    (size_t)want.n) != 0)
			bad++;
		if (!was_done && m.done) {
			/* the terminator was in this piece */
			if (obs.ends != ends_before + 1 ||
			    obs.anom[ANOM_SMTP_BARE_LF_TERMINATOR] !=
			    bare_before + m.bare)
				bad++;
		} else if (obs.ends != ends_before ||
		    obs.anom[ANOM_SMTP_BARE_LF_TERMINATOR] != bare_before) {
			bad++;
		}
	}
	feed_str(s, 1, "250 queued\r\n221 bye\r\n");
	smtp_session_end(s, 2000);
	pool_stats_get(blocks, &ps);
	if (bad > 0 || obs.stray != 0 || obs.txs != 1 || obs.ends != 1 ||
	    obs.status != SMTP_TX_COMPLETE || obs.data_bytes != obs.clen ||
	    obs.clen != content_len ||
	    memcmp(obs.content, content, content_len) != 0 || ps.in_use != 0 ||
	    !m.done || m.bare != whole->bare ||
	    obs.st.commands != 5 || obs.st.unknown_commands != 0 ||
	    obs.st.replies != 7) {
		if (failures++ < 5)
			fprintf(stderr, "mode %d (%zu): bad %d stray %d txs %d "
			    "ends %d clen %zu/%zu cmds %llu unknown %llu\n",
			    (int)mode, fixed, bad, obs.stray, obs.txs,
			    obs.ends, obs.clen, content_len,
			    (unsigned long long)obs.st.commands,
			    (unsigned long long)obs.st.unknown_commands);
	}
	smtp_ctx_destroy(ctx);
	free(mem);
}

/* ---- inputs ---- */

static const char *const tokens[] = {
	"\r\n", "\n", "\r", ".", "..", ".\r", "\r\n.", "\r\n..", "\r\n.\r",
	"\r\n.x", "\r\n.\rx", "\n.", "\n..", "\n.\r", "\r\r\n", "\n\r\n",
	"\r\n\r\n", "\n\n", ".\r\n", "\r\n.\n", "\n.\n", "\r\n.\r\n",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

/* Up to `cap` bytes; `plain` is the share (of 16) of plain-text runs. */
static size_t
gen_body(uint8_t *b, size_t cap, unsigned plain)
{
	size_t n = 0, len = (size_t)(rng() % cap), k, r;
	const char *t;

	while (n < len) {
		if (rng() % 16 < plain) {
			r = rng() % 4 == 0 ? 1 + rng() % 200 : 1 + rng() % 24;
			for (k = 0; k < r && n < len; k++)
				b[n++] = (uint8_t)"abcdefgh: \t"[rng() % 11];
			continue;
		}
		if (rng() % 8 == 0) {
			b[n++] = (uint8_t)"\r\n."[rng() % 3];
			continue;
		}
		t = tokens[rng() % NTOKENS];
		for (k = 0; t[k] != '\0' && n < len; k++)
			b[n++] = (uint8_t)t[k];
	}
	return n;
}

int
main(void)
{
	static uint8_t body[BODY_MAX + 16], in[BODY_MAX + 32];
	static uint8_t content[BODY_MAX + 16];
	static const size_t fixed[] = { 15, 16, 17, 18, 31, 32, 33, 34, 48, 49,
	    50, 1460 };
	struct model whole;
	size_t n, c, len;
	int iter, mode, f, terminated_early = 0, long_n = 0;
	struct evlog *scratch = malloc(sizeof(*scratch));

	blocks = pool_create(16384, 64);
	slots = pool_create(smtp_slot_size(), 8);
	CHECK(blocks != NULL && scratch != NULL);
	if (blocks == NULL || scratch == NULL)
		return CHECK_DONE();
	for (iter = 0; iter < ITERS; iter++) {
		n = gen_body(body, iter % 4 == 0 ? 64 : BODY_MAX,
		    (unsigned)(iter % 5) * 3 + 1);
		/* a third keep their near-terminators but lose every real
		 * one (its final LF becomes 'x'): long bodies */
		while (iter % 3 == 0) {
			whole = (struct model){ M_BOL, 0, 0, 0 };
			scratch->n = 0;
			c = model_content(&whole, body, n, scratch);
			if (!whole.done)
				break;
			body[c - 1] = 'x';
		}
		memcpy(body + n, "\r\n.\r\n", 5);
		n += 5;
		/* the content ends where the reference finds the terminator */
		whole = (struct model){ M_BOL, 0, 0, 0 };
		scratch->n = 0;
		scratch->overflow = 0;
		c = model_content(&whole, body, n, scratch);
		CHECK(whole.done);
		if (c > 1000)
			long_n++;
		if (c < n)
			terminated_early++;
		len = 0;
		for (f = 0; f < scratch->n; f++) {
			memcpy(content + len, body + scratch->e[f].off,
			    scratch->e[f].len);
			len += scratch->e[f].len;
		}
		memcpy(in, body, c);
		memcpy(in + c, TAIL, sizeof(TAIL) - 1);
		for (mode = 0; mode < CUT_COUNT; mode++) {
			if (mode == CUT_FIXED) {
				for (f = 0; f < (int)(sizeof(fixed) /
				    sizeof(fixed[0])); f++)
					run_session(in, c + sizeof(TAIL) - 1,
					    CUT_FIXED, fixed[f], &whole,
					    content, len);
				continue;
			}
			run_session(in, c + sizeof(TAIL) - 1,
			    (enum cut_mode)mode, 0, &whole, content, len);
		}
	}
	CHECK_EQ_INT(failures, 0);
	/* the inputs end early and at the appended terminator, and some
	 * are long */
	CHECK(terminated_early > ITERS / 10);
	CHECK(terminated_early < ITERS * 9 / 10);
	CHECK(long_n > ITERS / 10);
	free(scratch);
	pool_destroy(blocks);
	pool_destroy(slots);
	return CHECK_DONE();
}
