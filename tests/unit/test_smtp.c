/*
 * test_smtp.c - the SMTP dialogue parser: scripted sessions, each fed whole,
 * one byte at a time, split at every byte boundary and at random points,
 * which must all give the same transactions, content, anomalies and
 * counters; then seeded random and mutated dialogues in random chunkings
 * (both directions, gaps, tiny caps) that must not crash or leak.
 */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/smtp.h"

#define MAXTX    8
#define SLEN     512
#define MAXCODES 1100
#define CONTENT  8192

struct cstr {
	int null;
	uint32_t len;
	char p[SLEN];
};

struct ctx {
	uint32_t tx_id;
	int server_dir;
	struct cstr banner, helo, helo_cmd, auth_mech, mail_from;
	struct cstr last_reply, queue_id, subject, rcpt0, rcpt_last;
	int has_banner, has_helo, has_auth, auth_success, starttls;
	int pipelining, midstream, has_mail_from, has_data, bdat, status;
	uint32_t rcpt_count, rcpt_total;
	int codes[MAXCODES];
	uint64_t data_bytes;
	int has_hdr, subjects, hdr_done;
	uint32_t nfields;
	uint64_t header_bytes;
};

struct rec {
	struct ctx tx[MAXTX];
	int ntx, extra_tx;
	int anom[ANOM_COUNT];
	int begins, ends, open;
	uint32_t cur_msg;
	char content[MAXTX][CONTENT];
	size_t clen[MAXTX];
	size_t hlen[MAXTX];       /* bytes passed with in_header */
	int bad_order;            /* msg_data outside begin/end, id mismatch */
	struct smtp_stats st;
	int encrypted;
	uint64_t leak;
};

static void
cs_set(struct cstr *c, struct bstr b)
{
	if (b.p == NULL) {
		c->null = 1;
		return;
	}
	c->len = b.len;
	memcpy(c->p, b.p, b.len < SLEN ? b.len : SLEN);
}

static void
cb_tx(void *u, const struct smtp_tx *tx)
{
	struct rec *r = u;
	struct ctx *c;
	const struct msghdr_field *f;
	uint32_t i;

	if (r->ntx >= MAXTX) {
		r->extra_tx++;
		return;
	}
	c = &r->tx[r->ntx++];
	c->tx_id = tx->tx_id;
	c->server_dir = tx->server_dir;
	cs_set(&c->banner, tx->banner);
	cs_set(&c->helo, tx->helo);
	cs_set(&c->helo_cmd, tx->helo_cmd);
	cs_set(&c->auth_mech, tx->auth_mech);
	cs_set(&c->mail_from, tx->mail_from);
	cs_set(&c->last_reply, tx->last_reply);
	cs_set(&c->queue_id, tx->queue_id);
	c->has_banner = tx->has_banner;
	c->has_helo = tx->has_helo;
	c->has_auth = tx->has_auth;
	c->auth_success = tx->auth_success;
	c->starttls = tx->starttls;
	c->pipelining = tx->pipelining;
	c->midstream = tx->midstream;
	c->has_mail_from = tx->has_mail_from;
	c->has_data = tx->has_data;
	c->bdat = tx->bdat;
	c->status = tx->status;
	c->rcpt_count = tx->rcpt_count;
	c->rcpt_total = tx->rcpt_total;
	c->data_bytes = tx->data_bytes;
	for (i = 0; i < tx->rcpt_count && i < MAXCODES; i++)
		c->codes[i] = tx->rcpt[i].code;
	if (tx->rcpt_count > 0) {
		cs_set(&c->rcpt0, tx->rcpt[0].addr);
		cs_set(&c->rcpt_last, tx->rcpt[tx->rcpt_count - 1].addr);
	}
	if (tx->hdr != NULL) {
		c->has_hdr = 1;
		c->nfields = tx->hdr->nfields;
		c->header_bytes = tx->hdr->header_bytes;
		c->hdr_done = tx->hdr->done;
		f = msghdr_find(tx->hdr, "subject", 0);
		if (f != NULL)
			cs_set(&c->subject, f->value);
		while (msghdr_find(tx->hdr, "Subject", (unsigned)c->subjects))
			c->subjects++;
	}
}

static void
cb_anom(void *u, enum anom_id a, uint64_t ts)
{
	struct rec *r = u;

	(void)ts;
	if ((unsigned)a < ANOM_COUNT)
		r->anom[a]++;
}

static void
cb_begin(void *u, uint32_t id)
{
	struct rec *r = u;

	if (r->open)
		r->bad_order++;
	r->open = 1;
	r->begins++;
	r->cur_msg = id;
}

static void
cb_data(void *u, const uint8_t *d, size_t n, int in_header)
{
	struct rec *r = u;
	uint32_t id = r->cur_msg;
	size_t k;

	if (!r->open || n == 0)
		r->bad_order++;
	if (id >= MAXTX)
		return;
	k = CONTENT - r->clen[id];
	if (k > n)
		k = n;
	memcpy(r->content[id] + r->clen[id], d, k);
	r->clen[id] += k;
	if (in_header)
		r->hlen[id] += n;
}

static void
cb_end(void *u, uint32_t id)
{
	struct rec *r = u;

	if (!r->open || id != r->cur_msg)
		r->bad_order++;
	r->open = 0;
	r->ends++;
}

/* ---- scripts ---- */

struct step {
	int dir;                 /* 0 client (initiator), 1 server */
	const char *d;
	size_t n;
	uint32_t gap;            /* a gap of this many bytes instead */
};

#define C(x)     { 0, x, sizeof(x) - 1, 0 }
#define S(x)     { 1, x, sizeof(x) - 1, 0 }
#define GAP(w, n) { w, NULL, 0, n }
#define END      { -1, NULL, 0, 0 }

enum feed_mode { FEED_WHOLE, FEED_AT, FEED_ONE, FEED_RANDOM };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Feed n bytes as one exact-size heap copy, so ASan sees any over-read. */
static void
feed(struct smtp_session *s, int dir, const char *d, size_t n, uint64_t ts)
{
	uint8_t *b;

	if (n == 0)
		return;
	b = malloc(n);
	memcpy(b, d, n);
	smtp_session_data(s, dir, b, n, ts);
	free(b);
}

static struct smtp_out test_out = {
	cb_tx, cb_anom, cb_begin, cb_data, cb_end, NULL
};

/* One cached pool for the common geometry: slabs are costly under ASan. */
static struct pool *cached_pool;
static size_t cached_blk;

static struct pool *
pool_for(size_t blk, size_t cap)
{
	if (cap != 1024)
		return pool_create(blk, cap);
	if (cached_pool != NULL && cached_blk != blk) {
		pool_destroy(cached_pool);
		cached_pool = NULL;
	}
	if (cached_pool == NULL) {
		cached_pool = pool_create(blk, cap);
		cached_blk = blk;
	}
	return cached_pool;
}

static void
pool_done(struct pool *p)
{
	if (p != cached_pool)
		pool_destroy(p);
}

static struct pool *slot_pool;

static void
run(const struct step *sc, const struct smtp_config *cfg, int midstream,
    enum feed_mode mode, size_t at, size_t blk, size_t cap, struct rec *r)
{
	struct pool *pool = pool_for(blk, cap);
	void *mem = malloc(smtp_session_size());
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	struct pool_stats ps;
	uint64_t ts = 1000;
	size_t off, k;

	memset(r, 0, sizeof(*r));
	if (slot_pool == NULL)
		slot_pool = pool_create(smtp_slot_size(), SMTP_TX_SLOTS);
	ctx = smtp_ctx_create(cfg, pool, slot_pool, &test_out, &r->st);
	s = ctx != NULL ? smtp_session_init(mem, ctx, r, midstream) : NULL;
	if (s == NULL) {
		r->bad_order = -1;
		smtp_ctx_destroy(ctx);
		free(mem);
		pool_done(pool);
		return;
	}
	for (; sc->dir >= 0; sc++, ts++) {
		if (sc->d == NULL) {
			smtp_session_gap(s, sc->dir, sc->gap, ts);
			continue;
		}
		switch (mode) {
		case FEED_WHOLE:
			feed(s, sc->dir, sc->d, sc->n, ts);
			break;
		case FEED_AT:
			k = at < sc->n ? at : sc->n;
			feed(s, sc->dir, sc->d, k, ts);
			feed(s, sc->dir, sc->d + k, sc->n - k, ts);
			break;
		case FEED_ONE:
			for (off = 0; off < sc->n; off++)
				feed(s, sc->dir, sc->d + off, 1, ts);
			break;
		case FEED_RANDOM:
			for (off = 0; off < sc->n; off += k) {
				k = 1 + rng() % (rng() % 4 == 0 ? 3 : 64);
				if (k > sc->n - off)
					k = sc->n - off;
				feed(s, sc->dir, sc->d + off, k, ts);
			}
			break;
		}
	}
	smtp_session_end(s, ts);
	smtp_session_end(s, ts + 1);            /* idempotent */
	smtp_session_data(s, 0, (const uint8_t *)"x", 1, ts + 2);
	r->encrypted = smtp_session_encrypted(s);
	pool_stats_get(pool, &ps);
	r->leak = ps.in_use;
	pool_stats_get(slot_pool, &ps);
	r->leak += ps.in_use;
	smtp_ctx_destroy(ctx);
	free(mem);
	pool_done(pool);
}

static struct rec ref, alt;
static size_t test_blk = 16384;

static const char *
rec_diff(const struct rec *a, const struct rec *b)
{
	int i;

	if (a->ntx != b->ntx)
		return "ntx";
	for (i = 0; i < a->ntx; i++)
		if (memcmp(&a->tx[i], &b->tx[i], sizeof(a->tx[i])) != 0)
			return "tx";
	if (memcmp(a->anom, b->anom, sizeof(a->anom)) != 0)
		return "anomalies";
	if (memcmp(a->clen, b->clen, sizeof(a->clen)) != 0 ||
	    memcmp(a->content, b->content, sizeof(a->content)) != 0)
		return "content";
	if (memcmp(a->hlen, b->hlen, sizeof(a->hlen)) != 0)
		return "header split";
	if (memcmp(&a->st, &b->st, sizeof(a->st)) != 0)
		return "stats";
	if (a->begins != b->begins || a->ends != b->ends ||
	    a->bad_order != b->bad_order || a->encrypted != b->encrypted)
		return "stream hooks";
	return NULL;
}

static size_t
script_max(const struct step *sc, size_t *total)
{
	size_t m = 0;

	*total = 0;
	for (; sc->dir >= 0; sc++) {
		if (sc->n > m)
			m = sc->n;
		*total += sc->n;
	}
	return m;
}

/*
 * Run a script into `ref`, then check every other chunking agrees with it
 * (every split point when the script is small, else samples).
 */
static void
check_script(const char *name, const struct step *sc,
    const struct smtp_config *cfg, int midstream)
{
	size_t mx, total, k, step;
	const char *d;
	int i, bad = 0;

	run(sc, cfg, midstream, FEED_WHOLE, 0, test_blk, 1024, &ref);
	CHECK(ref.leak == 0);
	CHECK(ref.bad_order == 0);
	CHECK(ref.begins == ref.ends);
	CHECK(ref.extra_tx == 0);
	mx = script_max(sc, &total);
	run(sc, cfg, midstream, FEED_ONE, 0, test_blk, 1024, &alt);
	if ((d = rec_diff(&ref, &alt)) != NULL) {
		fprintf(stderr, "%s: 1-byte chunks differ: %s\n", name, d);
		bad++;
	}
	step = total < 8000 ? 1 : 1 + mx / 97;
	for (k = 1; k < mx && bad < 3; k += step) {
		run(sc, cfg, midstream, FEED_AT, k, test_blk, 1024, &alt);
		if ((d = rec_diff(&ref, &alt)) != NULL) {
			fprintf(stderr, "%s: split at %zu differs: %s\n", name,
			    k, d);
			bad++;
		}
	}
	for (i = 0; i < 20 && bad < 3; i++) {
		run(sc, cfg, midstream, FEED_RANDOM, 0, test_blk, 1024, &alt);
		if ((d = rec_diff(&ref, &alt)) != NULL) {
			fprintf(stderr, "%s: random chunks differ: %s\n", name,
			    d);
			bad++;
		}
	}
	CHECK(bad == 0);
	/* put the reference back for the caller's assertions */
	run(sc, cfg, midstream, FEED_WHOLE, 0, test_blk, 1024, &ref);
}

static int
anoms(const struct rec *r)
{
	int i, n = 0;

	for (i = 0; i < ANOM_COUNT; i++)
		n += r->anom[i];
	return n;
}

#define CONTENT_IS(r, id, str) \
	CHECK((r).clen[id] == sizeof(str) - 1 && \
	    memcmp((r).content[id], str, sizeof(str) - 1) == 0)

/* ---- cases ---- */

static void
test_simple(void)
{
	static const struct step sc[] = {
		S("220 mx.example.com ESMTP Postfix\r\n"),
		C("EHLO client.example.org\r\n"),
		S("250-mx.example.com\r\n250-PIPELINING\r\n"
		  "250-SIZE 10240000\r\n250 8BITMIME\r\n"),
		C("MAIL FROM:<alice@example.org> SIZE=120\r\n"),
		S("250 2.1.0 Ok\r\n"),
		C("RCPT TO:<bob@example.com>\r\n"),
		S("250 2.1.5 Ok\r\n"),
		C("DATA\r\n"),
		S("354 End data with <CR><LF>.<CR><LF>\r\n"),
		C("From: alice@example.org\r\nSubject: hello\r\n"
		  "X-Folded: a\r\n b\r\n\r\n"
		  "body line\r\n..dotted\r\nSubject: x\r\n.\r\n"),
		S("250 2.0.0 Ok: queued as 4FcQ2x1Z3z\r\n"),
		C("QUIT\r\n"),
		S("221 2.0.0 Bye\r\n"),
		END
	};
	const struct ctx *t;

	check_script("simple", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	t = &ref.tx[0];
	CHECK_EQ_INT(t->tx_id, 0);
	CHECK_EQ_INT(t->server_dir, 1);
	CHECK_EQ_INT(t->has_banner, 1);
	CHECK_BSTR(t->banner, "mx.example.com ESMTP Postfix");
	CHECK_EQ_INT(t->has_helo, 1);
	CHECK_BSTR(t->helo, "client.example.org");
	CHECK_BSTR(t->helo_cmd, "EHLO");
	CHECK_EQ_INT(t->has_mail_from, 1);
	CHECK_BSTR(t->mail_from, "alice@example.org");
	CHECK_EQ_INT(t->rcpt_count, 1);
	CHECK_EQ_INT(t->rcpt_total, 1);
	CHECK_BSTR(t->rcpt0, "bob@example.com");
	CHECK_EQ_INT(t->codes[0], 250);
	CHECK_EQ_INT(t->has_data, 1);
	CHECK_EQ_INT(t->bdat, 0);
	CHECK_EQ_INT(t->status, SMTP_TX_COMPLETE);
	CHECK_BSTR(t->last_reply, "250 2.0.0 Ok: queued as 4FcQ2x1Z3z");
	CHECK_BSTR(t->queue_id, "4FcQ2x1Z3z");
	CHECK_EQ_INT(t->pipelining, 0);
	CHECK_EQ_INT(t->starttls, 0);
	CHECK_EQ_INT(t->midstream, 0);
	CHECK_EQ_INT(t->has_auth, 0);
	CHECK_EQ_INT(t->auth_success, -1);
	CHECK_EQ_INT(t->has_hdr, 1);
	CHECK_BSTR(t->subject, "hello");
	CHECK_EQ_INT(t->subjects, 1);    /* body "Subject: x" is no header */
	CHECK_EQ_INT(t->nfields, 3);
	CHECK_EQ_INT(t->header_bytes, sizeof("From: alice@example.org\r\n"
	    "Subject: hello\r\nX-Folded: a\r\n b\r\n\r\n") - 1);
	CONTENT_IS(ref, 0, "From: alice@example.org\r\nSubject: hello\r\n"
	    "X-Folded: a\r\n b\r\n\r\nbody line\r\n.dotted\r\nSubject: x\r\n");
	CHECK_EQ_INT(t->data_bytes, ref.clen[0]);
	CHECK_EQ_INT(ref.hlen[0], t->header_bytes);
	CHECK_EQ_INT(anoms(&ref), 0);
	CHECK_EQ_INT(ref.begins, 1);
	CHECK_EQ_INT(ref.st.sessions, 1);
	CHECK_EQ_INT(ref.st.transactions, 1);
	CHECK_EQ_INT(ref.st.messages, 1);
	CHECK_EQ_INT(ref.st.commands, 5);
	CHECK_EQ_INT(ref.st.replies, 7);
	CHECK_EQ_INT(ref.st.data_bytes, t->data_bytes);
}

static void
test_multiline_banner(void)
{
	static const struct step sc[] = {
		S("220-mx.example.com ESMTP first line\r\n220-second\r\n"
		  "220 third\r\n"),
		C("helo me\r\n"),
		S("250 mx\r\n"),
		C("quit\r\n"),
		S("221 bye\r\n"),
		END
	};

	check_script("multiline banner", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_BSTR(ref.tx[0].banner, "mx.example.com ESMTP first line");
	CHECK_BSTR(ref.tx[0].helo_cmd, "HELO");
	CHECK_BSTR(ref.tx[0].helo, "me");
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 0);
	CHECK_BSTR(ref.tx[0].last_reply, "221 bye");
	CHECK_EQ_INT(ref.st.replies, 3);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_pipelining(void)
{
	static const struct step sc[] = {
		S("220 mx ESMTP\r\n"),
		C("EHLO c\r\n"),
		S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@z>\r\n"
		  "DATA\r\n"),
		S("250 2.1.0 Ok\r\n550 5.1.1 <b@y>: Recipient address "
		  "rejected\r\n250 2.1.5 Ok\r\n354 go\r\n"),
		C("Subject: p\r\n\r\nhi\r\n.\r\nQUIT\r\n"),
		S("250 2.0.0 Ok: queued as ABC\r\n221 bye\r\n"),
		END
	};
	const struct ctx *t = &ref.tx[0];

	check_script("pipelining", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(t->pipelining, 1);
	CHECK_EQ_INT(t->rcpt_count, 2);
	CHECK_EQ_INT(t->codes[0], 550);
	CHECK_EQ_INT(t->codes[1], 250);
	CHECK_BSTR(t->rcpt_last, "c@z");
	CHECK_EQ_INT(t->status, SMTP_TX_COMPLETE);
	CHECK_BSTR(t->queue_id, "ABC");
	CHECK_BSTR(t->subject, "p");
	CHECK_EQ_INT(t->data_bytes, 18);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_two_messages(void)
{
	static const struct step sc[] = {
		S("220 exim ESMTP\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<>\r\n"),
		S("250 OK\r\n"),
		C("RCPT TO:<postmaster@x>\r\n"),
		S("250 Accepted\r\n"),
		C("DATA\r\n"),
		S("354 Enter message\r\n"),
		C("Subject: one\r\n\r\n1\r\n.\r\n"),
		S("250 OK id=1tXyZa-000123-AB\r\n"),
		C("MAIL FROM:<\"odd>name\"@example.com> BODY=8BITMIME\r\n"),
		S("250 OK\r\n"),
		C("RCPT TO: bob@example.com\r\n"),
		S("250 Accepted\r\n"),
		C("DATA\r\n"),
		S("354 Enter message\r\n"),
		C("Subject: two\r\n\r\n2\r\n.\r\n"),
		S("250 2.0.0 r4TLMgIG014305 Message accepted for delivery\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};

	check_script("two messages", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].tx_id, 0);
	CHECK_EQ_INT(ref.tx[1].tx_id, 1);
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 1);
	CHECK(!ref.tx[0].mail_from.null && ref.tx[0].mail_from.len == 0);
	CHECK_BSTR(ref.tx[0].queue_id, "1tXyZa-000123-AB");
	CHECK_BSTR(ref.tx[0].subject, "one");
	CHECK_BSTR(ref.tx[1].mail_from, "\"odd>name\"@example.com");
	CHECK_BSTR(ref.tx[1].rcpt0, "bob@example.com");
	CHECK_BSTR(ref.tx[1].queue_id, "r4TLMgIG014305");
	CHECK_BSTR(ref.tx[1].subject, "two");
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_COMPLETE);
	CHECK_EQ_INT(ref.tx[1].status, SMTP_TX_COMPLETE);
	CONTENT_IS(ref, 0, "Subject: one\r\n\r\n1\r\n");
	CONTENT_IS(ref, 1, "Subject: two\r\n\r\n2\r\n");
	CHECK_EQ_INT(ref.st.messages, 2);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_rset_quit(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\n"),
		S("250 ok\r\n"),
		C("RCPT TO:<b@y>\r\n"),
		S("451 4.7.1 greylisted\r\n"),
		C("RSET\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<c@x>\r\n"),
		S("550 5.7.1 rejected\r\n"),
		C("MAIL FROM:<d@x>\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};

	check_script("rset/quit", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 3);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[0].codes[0], 451);
	CHECK_BSTR(ref.tx[0].last_reply, "451 4.7.1 greylisted");
	CHECK_EQ_INT(ref.tx[0].has_data, 0);
	CHECK_EQ_INT(ref.tx[0].has_hdr, 0);
	CHECK_BSTR(ref.tx[1].mail_from, "c@x");
	CHECK_EQ_INT(ref.tx[1].status, SMTP_TX_ABORTED);
	CHECK_BSTR(ref.tx[1].last_reply, "550 5.7.1 rejected");
	CHECK_BSTR(ref.tx[2].mail_from, "d@x");
	CHECK_EQ_INT(ref.tx[2].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[2].rcpt_count, 0);
	CHECK_EQ_INT(ref.tx[2].tx_id, 2);
	CHECK_EQ_INT(ref.begins, 0);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_bdat(void)
{
	static const struct step one[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250-mx\r\n250 CHUNKING\r\n"),
		C("MAIL FROM:<a@x>\r\n"),
		S("250 ok\r\n"),
		C("RCPT TO:<b@y>\r\n"),
		S("250 ok\r\n"),
		C("BDAT 31 LAST\r\nSubject: bd\r\n\r\n.body\r\n.\r\n..QUIT"),
		S("250 2.0.0 Ok: queued as BD1\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step multi[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 16\r\n"
		  "Subject: m\r\n\r\n01"),
		S("250 ok\r\n250 ok\r\n250 2.0.0 16 octets received\r\n"),
		C("BDAT 5 LAST\r\nabcde"),
		S("250 2.0.0 Ok: queued as BD2\r\n"),
		C("MAIL FROM:<z@x>\r\nBDAT 0 LAST\r\n"),
		S("250 ok\r\n250 2.0.0 Ok: queued as BD3\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	const struct ctx *t;

	check_script("bdat single", one, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	t = &ref.tx[0];
	CHECK_EQ_INT(t->bdat, 1);
	CHECK_EQ_INT(t->has_data, 1);
	CHECK_EQ_INT(t->data_bytes, 31);
	CHECK_EQ_INT(t->status, SMTP_TX_COMPLETE);
	CHECK_BSTR(t->queue_id, "BD1");
	CHECK_BSTR(t->subject, "bd");
	CONTENT_IS(ref, 0, "Subject: bd\r\n\r\n.body\r\n.\r\n..QUIT");
	CHECK_EQ_INT(ref.st.bdat, 1);
	CHECK_EQ_INT(ref.st.commands, 5);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("bdat multi", multi, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 2);
	t = &ref.tx[0];
	CHECK_EQ_INT(t->data_bytes, 21);
	CONTENT_IS(ref, 0, "Subject: m\r\n\r\n01abcde");
	CHECK_BSTR(t->queue_id, "BD2");
	CHECK_BSTR(t->last_reply, "250 2.0.0 Ok: queued as BD2");
	CHECK_EQ_INT(t->status, SMTP_TX_COMPLETE);
	CHECK_EQ_INT(t->pipelining, 1);
	t = &ref.tx[1];
	CHECK_EQ_INT(t->bdat, 1);
	CHECK_EQ_INT(t->data_bytes, 0);
	CHECK_EQ_INT(t->has_hdr, 1);
	CHECK_EQ_INT(t->nfields, 0);
	CHECK_EQ_INT(t->status, SMTP_TX_COMPLETE);
	CHECK_BSTR(t->queue_id, "BD3");
	CHECK_EQ_INT(ref.begins, 2);
	CHECK_EQ_INT(ref.st.bdat, 3);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_bdat_invalid(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\n"),
		S("250 ok\r\n"),
		C("BDAT xyz\r\nRSET\r\n"),
		S("501 5.5.4 Syntax: BDAT count [LAST]\r\n250 ok\r\n"),
		C("MAIL FROM:<b@x>\r\n"),
		S("250 ok\r\n"),
		C("BDAT 99999999999999999999 LAST\r\nNOOP\r\n"),
		S("501 syntax\r\n250 ok\r\n"),
		C("BDAT -1\r\nBDAT 5 FIRST\r\nQUIT\r\n"),
		S("501 syntax\r\n501 syntax\r\n221 bye\r\n"),
		END
	};

	check_script("bdat invalid", sc, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_BDAT_INVALID], 4);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_UNKNOWN_COMMAND], 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_REPLY_WITHOUT_COMMAND], 0);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[1].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[1].has_data, 0);
	CHECK_EQ_INT(ref.st.bdat, 0);
	CHECK_EQ_INT(ref.st.commands, 10);
	CHECK_EQ_INT(ref.begins, 0);
}

static void
test_auth(void)
{
	static const struct step login_ok[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
		C("AUTH LOGIN\r\n"),
		S("334 VXNlcm5hbWU6\r\n"),
		C("dXNlcg==\r\n"),
		S("334 UGFzc3dvcmQ6\r\n"),
		C("cGFzcw==\r\n"),
		S("235 2.7.0 Authentication successful\r\n"),
		C("MAIL FROM:<u@x>\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step login_bad[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("AUTH LOGIN dXNlcg==\r\n"),
		S("334 UGFzc3dvcmQ6\r\n"),
		C("d3Jvbmc=\r\n"),
		S("535 5.7.8 Error: authentication failed\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step plain[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
		S("235 2.7.0 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};

	check_script("auth login ok", login_ok, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].has_auth, 1);
	CHECK_BSTR(ref.tx[0].auth_mech, "LOGIN");
	CHECK_EQ_INT(ref.tx[0].auth_success, 1);
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 1);
	CHECK_EQ_INT(ref.st.commands, 4);
	CHECK_EQ_INT(ref.st.auth, 1);
	CHECK_EQ_INT(ref.tx[0].pipelining, 0);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("auth login bad", login_bad, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 0);
	CHECK_EQ_INT(ref.tx[0].has_auth, 1);
	CHECK_EQ_INT(ref.tx[0].auth_success, 0);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("auth plain", plain, NULL, 0);
	CHECK_BSTR(ref.tx[0].auth_mech, "PLAIN");
	CHECK_EQ_INT(ref.tx[0].auth_success, 1);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_starttls(void)
{
	static const struct step sc[] = {
		S("220 mx ESMTP\r\n"),
		C("EHLO c\r\n"),
		S("250-mx\r\n250 STARTTLS\r\n"),
		C("STARTTLS\r\n"),
		S("220 2.0.0 Ready to start TLS\r\n"),
		C("\x16\x03\x01\x02\x00garbage\r\nMAIL FROM:<x@y>\r\n"
		  "RCPT TO:<z@y>\r\nDATA\r\n"),
		S("\x16\x03\x03 more 250 ok\r\n354 go\r\n"),
		C("foo\r\n.\r\n"),
		END
	};
	static const struct step inject[] = {
		S("220 mx ESMTP\r\n"),
		C("EHLO c\r\n"),
		S("250 STARTTLS\r\n"),
		C("STARTTLS\r\nRSET\r\n"),
		S("220 go ahead\r\n250 injected\r\n"),
		C("\x16\x03\x01"),
		END
	};

	check_script("starttls", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 0);
	CHECK_EQ_INT(ref.tx[0].starttls, 1);
	CHECK_EQ_INT(ref.encrypted, 1);
	CHECK_EQ_INT(ref.st.starttls, 1);
	CHECK_EQ_INT(ref.st.commands, 2);
	CHECK_EQ_INT(ref.st.encrypted_bytes, sizeof("\x16\x03\x01\x02\x00"
	    "garbage\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n") - 1 +
	    sizeof("\x16\x03\x03 more 250 ok\r\n354 go\r\n") - 1 +
	    sizeof("foo\r\n.\r\n") - 1);
	CHECK_EQ_INT(anoms(&ref), 0);
	CHECK_EQ_INT(ref.begins, 0);

	check_script("starttls inject", inject, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_DATA_AFTER_STARTTLS], 1);
	CHECK_EQ_INT(ref.encrypted, 1);
	CHECK_EQ_INT(ref.ntx, 1);
}

static void
test_bare_lf(void)
{
	static const struct step lflf[] = {
		S("220 mx\r\n"),
		C("HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		C("Subject: s\r\n\r\nbody\n.\nMAIL FROM:<evil@x>\r\n"),
		S("250 ok queued as L1\r\n250 ok\r\n"),
		END
	};
	static const struct step crlf_lf[] = {
		S("220 mx\r\n"),
		C("HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		C("a\r\n.\rb\r\n\r.\r\n.\n"),
		S("250 ok queued as L2\r\n"),
		END
	};
	static const struct step lf_crlf[] = {
		S("220 mx\r\n"),
		C("HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		C("x\n.\r\nQUIT\n"),
		S("250 ok queued as L3\r\n221 bye\r\n"),
		END
	};
	static const struct step notterm[] = {
		S("220 mx\r\n"),
		C("HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		C("x\r\n.x\r\n.\r.\r\n\r\r\n.\r\n"),
		S("250 ok queued as L4\r\n"),
		END
	};

	check_script("bare lf lf", lflf, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_BARE_LF_TERMINATOR], 1);
	CHECK_EQ_INT(ref.st.bare_lf_terminators, 1);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_COMPLETE);
	CHECK_EQ_INT(ref.tx[0].data_bytes,
	    sizeof("Subject: s\r\n\r\nbody\n") - 1);
	CHECK_BSTR(ref.tx[0].queue_id, "L1");
	CHECK_BSTR(ref.tx[1].mail_from, "evil@x");

	check_script("bare lf crlf", crlf_lf, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_BARE_LF_TERMINATOR], 1);
	CONTENT_IS(ref, 0, "a\r\n\rb\r\n\r.\r\n");

	check_script("bare lf first", lf_crlf, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_BARE_LF_TERMINATOR], 1);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_BARE_LF], 1);
	CONTENT_IS(ref, 0, "x\n");

	check_script("not a terminator", notterm, NULL, 0);
	CHECK_EQ_INT(anoms(&ref), 0);
	CONTENT_IS(ref, 0, "x\r\nx\r\n\r.\r\n\r\r\n");
	CHECK_BSTR(ref.tx[0].queue_id, "L4");
}

static char longbuf[12000];

static void
test_long_line(void)
{
	struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		{ 0, longbuf, 0, 0 },
		S("500 too long\r\n"),
		C("MAIL FROM:<a@x>\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	struct smtp_config cfg;
	size_t n;

	memcpy(longbuf, "NOOP ", 5);
	memset(longbuf + 5, 'A', 6000);
	n = 6005;
	memcpy(longbuf + n, "\r\n", 2);
	sc[3].n = n + 2;
	check_script("long line", sc, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_LINE_TOO_LONG], 1);
	CHECK_EQ_INT(ref.st.lines_too_long, 1);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_BSTR(ref.tx[0].mail_from, "a@x");
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_UNKNOWN_COMMAND], 0);

	/* exactly max_line is fine; a tiny max_line cuts MAIL FROM */
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_line = 20;
	memcpy(longbuf, "MAIL FROM:<abcdefgh@xyz.example>\r\n", 34);
	sc[3].n = 34;
	check_script("short max_line", sc, &cfg, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_LINE_TOO_LONG], 1);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_BSTR(ref.tx[0].mail_from, "abcdefgh@");
	memcpy(longbuf, "NOOP 567890123456789\r\n", 22);
	sc[3].n = 22;
	check_script("max_line exact", sc, &cfg, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_LINE_TOO_LONG], 0);
}

static void
test_unknown(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nFOO bar\r\n"),
		S("250 ok\r\n500 5.5.2 unknown\r\n"),
		C("A\r\nB\r\nC\r\nD\r\nE\r\nF\r\nG\r\nH\r\nI\r\nJ\r\n"),
		S("500 x\r\n500 x\r\n500 x\r\n500 x\r\n500 x\r\n500 x\r\n"
		  "500 x\r\n500 x\r\n500 x\r\n500 x\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		S("250 extra\r\n"),
		END
	};

	check_script("unknown", sc, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_UNKNOWN_COMMAND], 8);
	CHECK_EQ_INT(ref.st.unknown_commands, 11);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_REPLY_WITHOUT_COMMAND], 1);
	CHECK_EQ_INT(ref.ntx, 1);
}

static void
test_midstream(void)
{
	static const struct step sc[] = {
		C("lo world, this is the middle of a body\r\nmore body\r\n"
		  ".\r\nMAIL FROM:<next@x>\r\n"),
		S("250 2.0.0 Ok: queued as OLD1\r\n250 2.1.0 Ok\r\n"),
		C("RCPT TO:<r@y>\r\n"),
		S("250 ok\r\n"),
		C("DATA\r\n"),
		S("354 go\r\n"),
		C("Subject: mid\r\n\r\nx\r\n.\r\n"),
		S("250 2.0.0 Ok: queued as NEW1\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step reply_first[] = {
		S("-part of an EHLO reply\r\n250 8BITMIME\r\n"),
		C("MAIL FROM:<m@x>\r\n"),
		S("250 ok\r\n"),
		END
	};

	check_script("midstream", sc, NULL, 1);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].midstream, 1);
	CHECK_EQ_INT(ref.tx[0].server_dir, 1);
	CHECK_EQ_INT(ref.tx[0].has_banner, 0);
	CHECK_BSTR(ref.tx[0].mail_from, "next@x");
	CHECK_EQ_INT(ref.tx[0].codes[0], 250);
	CHECK_BSTR(ref.tx[0].queue_id, "NEW1");
	CHECK_BSTR(ref.tx[0].subject, "mid");
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_COMPLETE);
	CHECK_EQ_INT(ref.tx[0].pipelining, 0);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("midstream reply first", reply_first, NULL, 1);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].server_dir, 1);
	CHECK_BSTR(ref.tx[0].last_reply, "250 ok");
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_gap(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n354 go\r\n"),
		C("Subject: g\r\n\r\npart1\r\n"),
		GAP(0, 100),
		C("ded body line\r\nMAIL FROM: in body\r\nmore\r\n.\r\n"),
		S("250 2.0.0 Ok: queued as Q1\r\n"),
		C("MAIL FROM:<n@x>\r\n"),
		S("250 ok\r\n"),
		C("RCPT TO:<m@y>\r\n"),
		S("250 ok\r\n"),
		C("DATA\r\n"),
		S("354 go\r\n"),
		C("Subject: after\r\n\r\nok\r\n.\r\n"),
		S("250 2.0.0 Ok: queued as Q2\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step lost_end[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		C("Subject: g\r\n\r\npart1\r\n"),
		GAP(0, 50),
		S("250 2.0.0 Ok: queued as Q3\r\n"),
		C("MAIL FROM:<n@x>\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step srv_gap[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		S("250 ok\r\n"),
		GAP(1, 30),
		S("ok\r\n"),
		C("RSET\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<c@x>\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step bdat_gap[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nBDAT 20 LAST\r\n0123"),
		GAP(0, 6),
		C("abcdefghij"),
		C("QUIT\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok queued as B9\r\n221 bye\r\n"),
		END
	};

	static const struct step bdat_gap2[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nBDAT 20 LAST\r\n0123"),
		GAP(0, 40),
		C("ing\r\nQUIT\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok queued as B8\r\n221 bye\r\n"),
		END
	};

	check_script("gap past bdat", bdat_gap2, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_GAP);
	CHECK_EQ_INT(ref.tx[0].data_bytes, 4);
	CHECK_BSTR(ref.tx[0].queue_id, "B8");
	CHECK_EQ_INT(ref.st.commands, 4);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("gap in data", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_GAP);
	CHECK_BSTR(ref.tx[0].queue_id, "Q1");
	CHECK_BSTR(ref.tx[0].subject, "g");
	CHECK_EQ_INT(ref.tx[0].data_bytes,
	    sizeof("Subject: g\r\n\r\npart1\r\n") - 1);
	CHECK_EQ_INT(ref.tx[1].tx_id, 1);
	CHECK_EQ_INT(ref.tx[1].status, SMTP_TX_COMPLETE);
	CHECK_BSTR(ref.tx[1].mail_from, "n@x");
	CHECK_BSTR(ref.tx[1].queue_id, "Q2");
	CHECK_BSTR(ref.tx[1].subject, "after");
	CHECK_EQ_INT(ref.st.gaps, 1);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("gap ate the end", lost_end, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_GAP);
	CHECK_BSTR(ref.tx[0].queue_id, "Q3");
	CHECK_BSTR(ref.tx[1].mail_from, "n@x");
	CHECK_BSTR(ref.tx[1].last_reply, "250 ok");
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("server gap", srv_gap, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_GAP);
	CHECK_EQ_INT(ref.tx[1].status, SMTP_TX_ABORTED);
	CHECK_BSTR(ref.tx[1].last_reply, "250 ok");
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("gap in bdat", bdat_gap, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_GAP);
	CHECK_EQ_INT(ref.tx[0].data_bytes, 4);
	CHECK_BSTR(ref.tx[0].queue_id, "B9");
	CHECK_EQ_INT(ref.st.commands, 4);
	CHECK_EQ_INT(anoms(&ref), 0);
}

static void
test_session_only(void)
{
	static const struct step sc[] = {
		S("220 mx.example ESMTP\r\n"),
		C("EHLO probe\r\n"),
		S("250 ok\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	static const struct step nothing[] = { END };
	static const struct step refused[] = {
		S("554 5.7.1 go away\r\n"),
		END
	};

	static const struct step pregreet[] = {
		C("EHLO early\r\n"),
		S("220 mx ESMTP\r\n250 mx\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};

	check_script("pregreet", pregreet, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].server_dir, 1);
	CHECK_BSTR(ref.tx[0].banner, "mx ESMTP");
	CHECK_BSTR(ref.tx[0].helo, "early");
	CHECK_BSTR(ref.tx[0].last_reply, "221 bye");
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("session only", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].tx_id, 0);
	CHECK_EQ_INT(ref.tx[0].has_mail_from, 0);
	CHECK_BSTR(ref.tx[0].helo, "probe");
	CHECK_BSTR(ref.tx[0].banner, "mx.example ESMTP");
	CHECK_EQ_INT(ref.tx[0].has_hdr, 0);
	CHECK_EQ_INT(ref.st.transactions, 0);

	check_script("empty session", nothing, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].server_dir, -1);
	CHECK_EQ_INT(ref.tx[0].has_banner, 0);

	check_script("refused greeting", refused, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].has_banner, 0);
	CHECK_BSTR(ref.tx[0].last_reply, "554 5.7.1 go away");
}

static char *rcptbuf;

static void
test_many_rcpt(void)
{
	struct step sc[2 + 2 * 11 + 8];
	static const char head_s[] = "220 mx\r\n";
	static const char ehlo[] = "EHLO c\r\nMAIL FROM:<a@x>\r\n";
	static const char ok2[] = "250 ok\r\n250 ok\r\n";
	static const char quit[] = "QUIT\r\n";
	static const char bye[] = "221 bye\r\n";
	char *c, *r;
	int i, j, k = 0;

	rcptbuf = malloc(11 * 100 * 40 + 11 * 100 * 10);
	c = rcptbuf;
	sc[k++] = (struct step){ 1, head_s, sizeof(head_s) - 1, 0 };
	sc[k++] = (struct step){ 0, ehlo, sizeof(ehlo) - 1, 0 };
	sc[k++] = (struct step){ 1, ok2, sizeof(ok2) - 1, 0 };
	for (i = 0; i < 11; i++) {
		r = c;
		for (j = 0; j < 100; j++)
			c += sprintf(c, "RCPT TO:<u%d@example.com>\r\n",
			    i * 100 + j);
		sc[k++] = (struct step){ 0, r, (size_t)(c - r), 0 };
		r = c;
		for (j = 0; j < 100; j++)
			c += sprintf(c, "%s\r\n", (i * 100 + j) % 7 ?
			    "250 ok" : "550 no");
		sc[k++] = (struct step){ 1, r, (size_t)(c - r), 0 };
	}
	sc[k++] = (struct step){ 0, quit, sizeof(quit) - 1, 0 };
	sc[k++] = (struct step){ 1, bye, sizeof(bye) - 1, 0 };
	sc[k++] = (struct step)END;
	/* 16 KiB blocks hold 680 recipients (the array is one block) */
	check_script("1100 rcpt small blocks", sc, NULL, 0);
	CHECK_EQ_INT(ref.tx[0].rcpt_count,
	    (16384 - 64) / sizeof(struct smtp_rcpt));
	CHECK_EQ_INT(ref.tx[0].rcpt_total, 1100);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_TOO_MANY_RCPT], 1);
	test_blk = 32768;
	check_script("1100 rcpt", sc, NULL, 0);
	test_blk = 16384;
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].rcpt_count, 1000);
	CHECK_EQ_INT(ref.tx[0].rcpt_total, 1100);
	CHECK_BSTR(ref.tx[0].rcpt0, "u0@example.com");
	CHECK_BSTR(ref.tx[0].rcpt_last, "u999@example.com");
	CHECK_EQ_INT(ref.tx[0].codes[0], 550);
	CHECK_EQ_INT(ref.tx[0].codes[1], 250);
	CHECK_EQ_INT(ref.tx[0].codes[700], 550);
	CHECK_EQ_INT(ref.tx[0].codes[999], 250);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_TOO_MANY_RCPT], 1);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_PIPELINE_OVERFLOW], 0);
	CHECK_EQ_INT(anoms(&ref), 1);
	free(rcptbuf);
}

static void
test_pipeline_overflow(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nMAIL FROM:<a@x>\r\n"
		  "RCPT TO:<b@y>\r\n"),
		S("250 1\r\n250 2\r\n250 3\r\n250 4\r\n250 5\r\n250 6\r\n"
		  "250 7\r\n"),
		C("QUIT\r\n"),
		S("221 bye\r\n"),
		END
	};
	struct smtp_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_pipeline = 4;
	check_script("pipeline overflow", sc, &cfg, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_PIPELINE_OVERFLOW], 1);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_REPLY_WITHOUT_COMMAND], 3);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].codes[0], 250);
	CHECK_EQ_INT(ref.tx[0].pipelining, 1);
}

static void
test_data_refused(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n550 5.1.1 no such user\r\n"
		  "554 5.5.1 Error: no valid recipients\r\n"),
		C("RSET\r\nQUIT\r\n"),
		S("250 ok\r\n221 bye\r\n"),
		END
	};
	static const struct step early_ok[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n"),
		C("DATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n"),
		S("354 go\r\n250 ok queued as E1\r\n"),
		END
	};
	static const struct step early_bad[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		S("250 ok\r\n250 ok\r\n550 no\r\n"),
		C("DATA\r\nSubject: early\r\n"),
		S("554 no valid recipients\r\n"),
		C("\r\nbody\r\nRSET\r\nMAIL FROM:<c@x>\r\n"),
		S("250 ok\r\n250 ok\r\n"),
		END
	};

	check_script("data refused", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[0].has_data, 0);
	CHECK_EQ_INT(ref.tx[0].has_hdr, 0);
	CHECK_EQ_INT(ref.tx[0].codes[0], 550);
	CHECK_BSTR(ref.tx[0].last_reply,
	    "554 5.5.1 Error: no valid recipients");
	CHECK_EQ_INT(ref.begins, 0);
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("early talker accepted", early_ok, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 1);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_COMPLETE);
	CHECK_BSTR(ref.tx[0].subject, "early");
	CHECK_BSTR(ref.tx[0].queue_id, "E1");
	CHECK_EQ_INT(anoms(&ref), 0);

	check_script("early talker refused", early_bad, NULL, 0);
	CHECK_EQ_INT(ref.anom[ANOM_SMTP_DATA_WITHOUT_354], 1);
	CHECK_EQ_INT(ref.ntx, 2);
	CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[0].has_data, 0);
	CHECK_BSTR(ref.tx[1].mail_from, "c@x");
}

static void
test_queue_ids(void)
{
	static const struct {
		const char *reply, *qid;
	} tab[] = {
		{ "250 2.0.0 Ok: queued as 4FcQ2x1Z3z", "4FcQ2x1Z3z" },
		{ "250 Ok: queued as <ABC123>.", "ABC123" },
		{ "250 OK id=1tXyZa-000123-AB", "1tXyZa-000123-AB" },
		{ "250 2.0.0 r4TLMgIG014305 Message accepted for delivery",
		  "r4TLMgIG014305" },
		{ "250 2.0.0 Message accepted for delivery", NULL },
		{ "250 Message accepted for delivery", NULL },
		{ "250 2.6.0 <1@h> [InternalId=42, Hostname=h] Queued mail "
		  "for delivery", NULL },
		{ "250 2.0.0 OK  1700000000 abc.123 - gsmtp", NULL },
		{ "554 5.7.1 rejected: queued as NOPE", NULL },
		{ "250 queued as", NULL },
	};
	char line[160];
	struct step sc[] = {
		S("220 mx\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n354 go\r\n"),
		C("x\r\n.\r\n"),
		{ 1, line, 0, 0 },
		END
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		sc[4].n = (size_t)snprintf(line, sizeof(line), "%s\r\n",
		    tab[i].reply);
		check_script("queue id", sc, NULL, 0);
		CHECK_EQ_INT(ref.ntx, 1);
		CHECK_EQ_INT(ref.tx[0].status, SMTP_TX_COMPLETE);
		if (tab[i].qid == NULL)
			CHECK(ref.tx[0].queue_id.null);
		else
			CHECK_BSTR(ref.tx[0].queue_id, tab[i].qid);
		CHECK_EQ_INT(ref.tx[0].has_data, 1);
	}
}

static void
test_slots(void)
{
	static const struct step sc[] = {
		S("220 mx\r\n"),
		C("EHLO c\r\n"),
		S("250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\nRSET\r\nMAIL FROM:<b@x>\r\nRSET\r\n"
		  "MAIL FROM:<c@x>\r\nRSET\r\nMAIL FROM:<d@x>\r\n"
		  "EHLO again\r\nQUIT\r\n"),
		S("250 a\r\n250 r\r\n250 b\r\n250 r\r\n250 c\r\n250 r\r\n"
		  "250 d\r\n250 e\r\n221 bye\r\n"),
		END
	};

	check_script("slots", sc, NULL, 0);
	CHECK_EQ_INT(ref.ntx, 4);
	CHECK_BSTR(ref.tx[0].mail_from, "a@x");
	CHECK(ref.tx[0].last_reply.null);       /* reported early */
	CHECK_BSTR(ref.tx[1].mail_from, "b@x");
	CHECK_BSTR(ref.tx[1].last_reply, "250 b");
	CHECK_BSTR(ref.tx[2].last_reply, "250 c");
	CHECK_BSTR(ref.tx[3].mail_from, "d@x");
	CHECK_BSTR(ref.tx[3].last_reply, "250 d");
	CHECK_BSTR(ref.tx[3].helo, "again");
	CHECK_EQ_INT(ref.tx[3].status, SMTP_TX_ABORTED);
	CHECK_EQ_INT(ref.tx[0].tx_id, 0);
	CHECK_EQ_INT(ref.tx[3].tx_id, 3);
	CHECK_EQ_INT(ref.tx[3].pipelining, 1);
	CHECK_EQ_INT(anoms(&ref), 0);
}

/* ---- memory taken only while needed ---- */

struct lazy {
	struct pool *blocks, *slots;
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	void *mem;
};

static struct rec lazy_rec;

static uint64_t
in_use(struct pool *p)
{
	struct pool_stats st;

	pool_stats_get(p, &st);
	return st.in_use;
}

static void
lazy_open(struct lazy *z, size_t nblocks, size_t nslots)
{
	memset(&lazy_rec, 0, sizeof(lazy_rec));
	z->blocks = pool_create(16384, nblocks);
	z->slots = pool_create(smtp_slot_size(), nslots);
	z->ctx = smtp_ctx_create(NULL, z->blocks, z->slots, &test_out,
	    &lazy_rec.st);
	z->mem = malloc(smtp_session_size());
	z->s = smtp_session_init(z->mem, z->ctx, &lazy_rec, 0);
	CHECK(z->s != NULL);
}

static void
lazy_feed(struct lazy *z, int dir, const char *txt)
{
	feed(z->s, dir, txt, strlen(txt), 1000);
}

static void
lazy_close(struct lazy *z)
{
	smtp_session_end(z->s, 2000);
	CHECK_EQ_INT(in_use(z->blocks), 0);
	CHECK_EQ_INT(in_use(z->slots), 0);
	smtp_ctx_destroy(z->ctx);
	pool_destroy(z->slots);
	pool_destroy(z->blocks);
	free(z->mem);
}

static void
test_ctx_args(void)
{
	struct pool *b = pool_create(16384, 4), *small = pool_create(32, 4);
	struct pool *sl = pool_create(smtp_slot_size(), 4);

	CHECK(smtp_ctx_create(NULL, NULL, sl, &test_out, NULL) == NULL);
	CHECK(smtp_ctx_create(NULL, b, NULL, &test_out, NULL) == NULL);
	CHECK(smtp_ctx_create(NULL, b, small, &test_out, NULL) == NULL);
	CHECK(smtp_ctx_create(NULL, small, sl, &test_out, NULL) == NULL);
	CHECK(smtp_session_init(NULL, NULL, NULL, 0) == NULL);
	pool_destroy(b);
	pool_destroy(small);
	pool_destroy(sl);
}

/* A transaction slot exists from MAIL FROM to its report, no longer. */
static void
test_lazy_slots(void)
{
	struct lazy z;

	lazy_open(&z, 16, SMTP_TX_SLOTS);
	lazy_feed(&z, 1, "220 mx ESMTP\r\n");
	lazy_feed(&z, 0, "EHLO c\r\n");
	lazy_feed(&z, 1, "250 mx\r\n");
	CHECK_EQ_INT(in_use(z.slots), 0);           /* idle: none */
	CHECK_EQ_INT(in_use(z.blocks), 0);
	lazy_feed(&z, 0, "MAIL FROM:<a@x>\r\n");
	CHECK_EQ_INT(in_use(z.slots), 1);
	lazy_feed(&z, 1, "250 ok\r\n");
	lazy_feed(&z, 0, "RCPT TO:<b@y>\r\nDATA\r\n");
	lazy_feed(&z, 1, "250 ok\r\n354 go\r\n");
	lazy_feed(&z, 0, "Subject: s\r\n\r\nbody\r\n.\r\n");
	/* pipelined: the next one opens before the first is answered */
	lazy_feed(&z, 0, "MAIL FROM:<c@x>\r\n");
	CHECK_EQ_INT(in_use(z.slots), 2);
	lazy_feed(&z, 1, "250 queued as Q1\r\n");
	CHECK_EQ_INT(lazy_rec.ntx, 1);
	CHECK_EQ_INT(in_use(z.slots), 1);           /* reported: given back */
	lazy_feed(&z, 1, "250 ok\r\n");
	lazy_feed(&z, 0, "RSET\r\n");
	lazy_feed(&z, 1, "250 ok\r\n");
	CHECK_EQ_INT(in_use(z.slots), 0);
	CHECK_EQ_INT(lazy_rec.ntx, 2);
	CHECK_BSTR(lazy_rec.tx[0].mail_from, "a@x");
	CHECK_BSTR(lazy_rec.tx[0].queue_id, "Q1");
	CHECK_BSTR(lazy_rec.tx[0].subject, "s");
	CHECK_BSTR(lazy_rec.tx[1].mail_from, "c@x");
	CHECK_EQ_INT(lazy_rec.tx[1].status, SMTP_TX_ABORTED);
	lazy_close(&z);
	CHECK_EQ_INT(lazy_rec.ntx, 2);
	CHECK_EQ_INT(anoms(&lazy_rec), 0);
}

/* No slot to be had: that transaction is dropped, the session goes on. */
static void
test_slot_exhaustion(void)
{
	struct lazy z;

	lazy_open(&z, 16, 1);
	lazy_feed(&z, 1, "220 mx ESMTP\r\n");
	lazy_feed(&z, 0, "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"
	    "DATA\r\n");
	lazy_feed(&z, 1, "250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	lazy_feed(&z, 0, "hello\r\n.\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\n"
	    "DATA\r\n");
	CHECK_EQ_INT(lazy_rec.anom[ANOM_SMTP_SESSION_MEMCAP], 1);
	lazy_feed(&z, 1, "250 queued as Q1\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	lazy_feed(&z, 0, "lost\r\n.\r\nMAIL FROM:<e@x>\r\n");
	lazy_feed(&z, 1, "250 queued as Q2\r\n250 ok\r\n");
	CHECK_EQ_INT(lazy_rec.ntx, 1);
	CHECK_EQ_INT(in_use(z.slots), 1);           /* e@x got the slot back */
	lazy_close(&z);
	CHECK_EQ_INT(lazy_rec.ntx, 2);
	CHECK_BSTR(lazy_rec.tx[0].mail_from, "a@x");
	CHECK_BSTR(lazy_rec.tx[0].queue_id, "Q1");
	CHECK_EQ_INT(lazy_rec.tx[0].status, SMTP_TX_COMPLETE);
	CHECK_EQ_INT(lazy_rec.tx[1].tx_id, 1);
	CHECK_BSTR(lazy_rec.tx[1].mail_from, "e@x");
	CHECK_EQ_INT(lazy_rec.anom[ANOM_SMTP_SESSION_MEMCAP], 1);
	CHECK_EQ_INT(anoms(&lazy_rec), 1);
	CHECK_EQ_INT(lazy_rec.st.messages, 1);
	CHECK_EQ_INT(lazy_rec.bad_order, 0);
}

/* Session strings: in the session while short, then one block. */
static void
test_lazy_strings(void)
{
	char banner[400], line[420];
	struct lazy z;
	uint32_t i;

	for (i = 0; i < sizeof(banner) - 1; i++)
		banner[i] = (char)('a' + i % 26);
	banner[sizeof(banner) - 1] = '\0';

	lazy_open(&z, 16, SMTP_TX_SLOTS);
	lazy_feed(&z, 1, "220 mx.example ESMTP\r\n");
	lazy_feed(&z, 0, "EHLO client.example\r\n");
	lazy_feed(&z, 1, "250-mx\r\n250 SIZE 1000\r\n");
	lazy_feed(&z, 0, "AUTH PLAIN AGFiYwBk\r\n");
	lazy_feed(&z, 1, "235 ok\r\n");
	CHECK_EQ_INT(in_use(z.blocks), 0);
	/* a long HELO moves all four strings out, intact */
	snprintf(line, sizeof(line), "HELO %s\r\n", banner);
	lazy_feed(&z, 0, line);
	CHECK_EQ_INT(in_use(z.blocks), 1);
	lazy_feed(&z, 1, "250 hi\r\n");
	lazy_feed(&z, 0, "QUIT\r\n");
	lazy_feed(&z, 1, "221 bye\r\n");
	lazy_close(&z);
	CHECK_EQ_INT(lazy_rec.ntx, 1);
	CHECK_BSTR(lazy_rec.tx[0].banner, "mx.example ESMTP");
	CHECK_BSTR(lazy_rec.tx[0].helo, banner);
	CHECK_BSTR(lazy_rec.tx[0].auth_mech, "PLAIN");
	CHECK_BSTR(lazy_rec.tx[0].last_reply, "221 bye");
	CHECK_EQ_INT(anoms(&lazy_rec), 0);

	/* an empty string stays empty, not NULL, across the move */
	lazy_open(&z, 16, SMTP_TX_SLOTS);
	lazy_feed(&z, 1, "220\r\n");
	lazy_feed(&z, 0, "EHLO x\r\n");
	lazy_feed(&z, 1, "250 ok\r\n");
	lazy_feed(&z, 0, "EHLO \r\n");
	snprintf(line, sizeof(line), "250 %s\r\n", banner);
	lazy_feed(&z, 1, line);
	CHECK_EQ_INT(in_use(z.blocks), 1);
	lazy_close(&z);
	CHECK_EQ_INT(lazy_rec.ntx, 1);
	CHECK(lazy_rec.tx[0].banner.null);         /* never had a value */
	CHECK(!lazy_rec.tx[0].helo.null);
	CHECK_EQ_INT(lazy_rec.tx[0].helo.len, 0);
	CHECK_EQ_INT(lazy_rec.tx[0].last_reply.len, strlen(line) - 2);

	/* no block to move to: that string is lost (memcap), not the rest */
	lazy_open(&z, 1, SMTP_TX_SLOTS);
	lazy_feed(&z, 1, "220 mx ESMTP\r\n");
	{
		void *only = pool_get(z.blocks);

		lazy_feed(&z, 0, "EHLO c\r\n");
		snprintf(line, sizeof(line), "HELO %s\r\n", banner);
		lazy_feed(&z, 0, line);
		CHECK_EQ_INT(lazy_rec.anom[ANOM_SMTP_SESSION_MEMCAP], 1);
		pool_put(z.blocks, only);
	}
	lazy_feed(&z, 1, "250 ok\r\n250 ok\r\n");
	lazy_close(&z);
	CHECK_EQ_INT(lazy_rec.ntx, 1);
	CHECK_BSTR(lazy_rec.tx[0].banner, "mx ESMTP");
	CHECK(!lazy_rec.tx[0].helo.null);           /* "c", then lost */
	CHECK_EQ_INT(lazy_rec.tx[0].helo.len, 0);
	CHECK_BSTR(lazy_rec.tx[0].last_reply, "250 ok");
}

static void
test_sniff(void)
{
	const uint8_t *p;

#define SNIFF(str, resp) smtp_sniff((p = (const uint8_t *)(str)), \
	sizeof(str) - 1, resp)
	CHECK_EQ_INT(SNIFF("220 mx.example.com ESMTP Postfix\r\n", 1),
	    SMTP_SNIFF_YES);
	CHECK_EQ_INT(SNIFF("220-mx.example.com ready\r\n220 ESMTP\r\n", 1),
	    SMTP_SNIFF_YES);
	CHECK_EQ_INT(SNIFF("220 ProFTPD Server ready\r\n", 1), SMTP_SNIFF_MORE);
	CHECK_EQ_INT(SNIFF("220 ProFTPD Server ready\r\n", 0), SMTP_SNIFF_NO);
	CHECK_EQ_INT(SNIFF("22", 1), SMTP_SNIFF_MORE);
	CHECK_EQ_INT(SNIFF("220 mx", 1), SMTP_SNIFF_MORE);
	CHECK_EQ_INT(SNIFF("ehlo foo\r\n", 0), SMTP_SNIFF_YES);
	CHECK_EQ_INT(SNIFF("HELO", 0), SMTP_SNIFF_MORE);
	CHECK_EQ_INT(SNIFF("EH", 0), SMTP_SNIFF_MORE);
	CHECK_EQ_INT(SNIFF("GET / HTTP/1.1\r\n", 0), SMTP_SNIFF_NO);
	CHECK_EQ_INT(SNIFF("SSH-2.0-OpenSSH\r\n", 1), SMTP_SNIFF_NO);
	CHECK_EQ_INT(SNIFF("250 ok\r\n", 1), SMTP_SNIFF_NO);
	CHECK_EQ_INT(smtp_sniff(NULL, 0, 1), SMTP_SNIFF_MORE);
	(void)p;
#undef SNIFF
}

/* ---- hostile input ---- */

static const struct step *corpus[16];
static int ncorpus;

static void
build_corpus(void)
{
	static const struct step a[] = {
		S("220 mx ESMTP\r\n"),
		C("EHLO c\r\n"),
		S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@z>\r\n"
		  "DATA\r\n"),
		S("250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"),
		C("From: a@x\r\nSubject: =?utf-8?q?x?=\r\n\r\n..body\r\n"
		  ".\r\nMAIL FROM:<d@x>\r\nBDAT 12 LAST\r\n0123456789\r\n"),
		S("250 ok queued as A\r\n250 ok\r\n250 ok id=B\r\n"),
		C("AUTH LOGIN\r\n"),
		S("334 VXNlcm5hbWU6\r\n"),
		C("dXNlcg==\r\n"),
		S("535 no\r\n"),
		C("STARTTLS\r\n"),
		S("220 go\r\n"),
		C("\x16\x03\x01 tls"),
		END
	};
	static const struct step b[] = {
		C("tail of something\r\n.\r\nMAIL FROM:<q@x>\r\n"),
		S("250 2.0.0 queued as Z\r\n250 ok\r\n"),
		C("RCPT TO:<r@x>\r\nDATA\r\n"),
		S("250 ok\r\n354 go\r\n"),
		C("x\n.\nRSET\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nQUIT\r\n"),
		S("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n"),
		END
	};
	static const struct step c[] = {
		S("220-a\r\n220 b\r\n"),
		C("HELO x\r\nXCLIENT ADDR=1.2.3.4\r\nVRFY u\r\nEXPN l\r\n"
		  "HELP\r\nNOOP\r\nETRN x\r\n"),
		S("250 ok\r\n220 again\r\n252 x\r\n550 x\r\n214 x\r\n250 ok\r\n"
		  "250 ok\r\n"),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"),
		S("250 ok\r\n250 ok\r\n354 go\r\n"),
		GAP(0, 10),
		C("more\r\n.\r\n"),
		S("250 ok\r\n"),
		GAP(1, 5),
		C("QUIT\r\n"),
		END
	};

	corpus[ncorpus++] = a;
	corpus[ncorpus++] = b;
	corpus[ncorpus++] = c;
}

static const char nasty[] = "\r\n.:<>\" -0123456789LASTDATBQUIRSE\x16\0";

static size_t
mutate(const char *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	int r;

	for (i = 0; i < n && o + 8 < cap; i++) {
		r = (int)(rng() % 64);
		if (r == 0)
			continue;                               /* delete */
		if (r == 1)
			out[o++] = (char)rng();                 /* insert */
		if (r == 2)
			out[o++] = nasty[rng() % (sizeof(nasty) - 1)];
		if (r == 3) {
			out[o++] = (char)rng();                 /* replace */
			continue;
		}
		if (r == 4 && i + 4 <= n) {                     /* duplicate */
			memcpy(out + o, in + i, 4);
			o += 4;
		}
		out[o++] = in[i];
	}
	return o;
}

static void
fuzz_one(int iter)
{
	static struct step sc[64];
	static char bufs[64][4096];
	static struct rec fr, fw;
	const struct step *src;
	const char *d;
	int mid;
	struct smtp_config cfg, *cp = NULL;
	size_t blk = 16384, cap = 1024;
	int k = 0, i, j, n, mode = iter % 3;
	uint32_t t;

	if (mode == 0) {
		/* random bytes, random directions */
		n = 1 + (int)(rng() % 20);
		for (i = 0; i < n; i++) {
			size_t len = rng() % 300;

			for (j = 0; j < (int)len; j++)
				bufs[k][j] = rng() % 3 ? nasty[rng() %
				    (sizeof(nasty) - 1)] : (char)rng();
			sc[k] = (struct step){ (int)(rng() % 2), bufs[k], len,
			    0 };
			if (rng() % 20 == 0)
				sc[k] = (struct step){ (int)(rng() % 2), NULL,
				    0, rng() % 100 };
			k++;
		}
	} else {
		src = corpus[rng() % (unsigned)ncorpus];
		for (; src->dir >= 0 && k < 62; src++) {
			t = rng();
			if (src->d == NULL || t % 40 == 0) {
				sc[k++] = (struct step){ (int)(t % 2), NULL, 0,
				    t % 64 };
				continue;
			}
			sc[k] = (struct step){ src->dir, bufs[k],
			    mutate(src->d, src->n, bufs[k], sizeof(bufs[k])),
			    0 };
			if (t % 50 == 1)
				sc[k].dir = !sc[k].dir;
			k++;
		}
	}
	sc[k] = (struct step)END;
	if (rng() % 3 == 0) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.max_line = rng() % 64;
		cfg.max_rcpt = rng() % 4;
		cfg.max_pipeline = rng() % 12;
		cfg.hdr.max_bytes = rng() % 128;
		cfg.hdr.max_fields = rng() % 4;
		cp = &cfg;
	}
	if (rng() % 4 == 0) {
		blk = 64 + rng() % 512;
		cap = 1 + rng() % 8;
	}
	mid = (int)(rng() % 2);
	run(sc, cp, mid, rng() % 2 ? FEED_RANDOM : FEED_ONE, 0, blk, cap, &fr);
	if (iter % 4 == 1 && cap == 1024) {
		/* the same bytes whole must give the same result */
		run(sc, cp, mid, FEED_WHOLE, 0, blk, cap, &fw);
		if ((d = rec_diff(&fr, &fw)) != NULL) {
			fprintf(stderr, "fuzz %d: chunking changes %s\n", iter,
			    d);
			CHECK(d == NULL);
		}
	}
	CHECK(fr.bad_order == 0);
	CHECK(fr.leak == 0);
	CHECK(fr.ntx >= 1);
	CHECK(fr.begins == fr.ends);
	for (i = 0; i < fr.ntx; i++)
		if (fr.tx[i].tx_id != (uint32_t)i) {
			CHECK(fr.tx[i].tx_id == (uint32_t)i);
			break;
		}
	for (i = 0; i < fr.ntx; i++)
		if (fr.tx[i].rcpt_count > fr.tx[i].rcpt_total) {
			CHECK(0);
			break;
		}
}

static void
test_fuzz(void)
{
	int i, before = check_fail;

	build_corpus();
	rng_state = 20240601;
	for (i = 0; i < 20000 && check_fail - before < 5; i++)
		fuzz_one(i);
}

int
main(void)
{
	test_simple();
	test_multiline_banner();
	test_pipelining();
	test_two_messages();
	test_rset_quit();
	test_bdat();
	test_bdat_invalid();
	test_auth();
	test_starttls();
	test_bare_lf();
	test_long_line();
	test_unknown();
	test_midstream();
	test_gap();
	test_session_only();
	test_many_rcpt();
	test_pipeline_overflow();
	test_data_refused();
	test_slots();
	test_ctx_args();
	test_lazy_slots();
	test_slot_exhaustion();
	test_lazy_strings();
	test_queue_ids();
	test_sniff();
	test_fuzz();
	pool_destroy(cached_pool);
	pool_destroy(slot_pool);
	return CHECK_DONE();
}
