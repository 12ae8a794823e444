/*
 * relay.c - open-relay judgement per transaction and the cross-worker
 * correlation of relayed messages (1302).
 *
 * Judgement is stateless except for the per-server learning table (RCPT
 * domains accepted, space-saving counts, LRU over servers) used only when
 * no local domain is configured.  Learning happens after judging and only
 * from unauthenticated external clients whose accepted recipients were all
 * judged local, so a relay flood cannot teach its own target domains (a
 * server first seen without banner learns from its first transactions).
 * 1305's session variant fires at tx_id == bulk_tx_limit exactly: once per
 * session with no state, as tx ids are consecutive.
 *
 * Correlation: only INBOUND records travel (see relay.h for why the owner
 * of the OUTBOUND record is the single emitter).  Each worker has two
 * tables (inbound, outbound), each a FIFO of fixed slots (insertion order:
 * expiry pops from the oldest, the cap evicts the oldest) indexed by two
 * chained hash indexes (Message-ID key, body key).  A candidate found via
 * the body index is accepted only when one side lacks a Message-ID, so a
 * pair is never reported twice.  Rings: fixed slots (a 256-byte record and
 * its 1.3 KB transaction context), free-running
 * positions, a release store per record (these records are rare: one per
 * 1301).  A producer facing a full ring drains its own incoming rings while
 * it waits, so two workers publishing to each other cannot deadlock.
 * Rejected: a shared table under a lock (contention, and the result would
 * depend on thread timing), dropping records on a full ring (results would
 * depend on timing), broadcasting OUTBOUND records (N times the traffic for
 * nothing: no one else may emit).
 */
#include "relay.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_NIL UINT32_MAX
#define RELAY_KIND_IN 1
#define RELAY_KIND_OUT 2
#define RELAY_KIND_TUN_IN 3          /* a transaction inside a proxy tunnel */
#define RELAY_KIND_TUN_OUT 4         /* any transaction: a proxy's own leg */
#define RELAY_DOM 96
#define RELAY_CTX_CHUNK 256u
#define RELAY_TUNNEL_SLACK_US (10u * 1000000u)

struct relay_rec {
	uint64_t key_mid, key_body;
	uint64_t flow_id;
	uint64_t ts_us;
	uint8_t kind, ipver;
	uint16_t client_port, server_port;
	uint16_t worker;
	uint32_t tx_id;
	uint8_t client_ip[16], server_ip[16]; /* OUTBOUND: client = sender */
	uint8_t tgt_ip[16];                  /* TUN_IN: the CONNECT target */
	uint16_t tgt_port;
	uint8_t has_tgt_ip;
	uint8_t pad_;
	char foreign_rcpt[RELAY_REC_RCPT];
	char assumed[RELAY_REC_ASSUMED];
};
_Static_assert(sizeof(struct relay_rec) == 256, "relay_rec is 256 bytes");

/* What travels on the bus: an INBOUND record and its transaction. */
struct relay_msg {
	struct relay_rec rec;
	struct relay_txctx ctx;
};

struct relay_ring {
	struct relay_msg *slot;
	size_t mask;
	_Alignas(64) _Atomic size_t head;
	size_t tail_cache;
	_Alignas(64) _Atomic size_t tail;
};

struct relay_clock {
	_Alignas(64) _Atomic uint64_t t;
};

struct relay_bus {
	unsigned n;
	struct relay_ring *rings;            /* [from * n + to] */
	struct relay_clock *clock;
	_Atomic unsigned finished;
};

struct relay_tab {
	struct relay_rec *rec;
	struct relay_txctx **ctx;            /* inbound table only: chunks of
					        RELAY_CTX_CHUNK slots, made
					        on first use */
	uint32_t n_ctx_chunks;
	uint64_t ctx_lost;                   /* no memory for a chunk */
	uint32_t *next_mid, *next_body;
	uint32_t *bkt_mid, *bkt_body;
	uint32_t cap, mask, head, count;
};

struct relay_srv_dom {
	char dom[RELAY_DOM];
	uint32_t count;
};

struct relay_srv {
	uint8_t ver, ip[16], used;
	uint64_t last;                       /* LRU stamp */
	uint32_t total;
	struct relay_srv_dom d[RELAY_SRV_DOMAINS];
};

struct relay_worker {
	const struct relay_config *cfg;
	struct relay_bus *bus;
	unsigned idx;
	relay_confirm_fn fn;
	void *u;
	uint32_t window_s;
	uint64_t clock;
	struct relay_tab in, out;            /* 1302 */
	struct relay_tab tin, tout;          /* tunnel legs */
	struct relay_srv srv[RELAY_SRV_MAX];
	uint64_t lru;
	struct relay_stats st;
};

/* ---- small helpers ---- */

static uint8_t
lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Body digest: four independent lanes, each a multiply-rotate chain over
 * every fourth little-endian 8-byte word (word k to lane k % 4), so a
 * 32-byte block costs one multiply chain step per lane and the four chains
 * overlap; the bytes of an incomplete word wait in d->part.  The lane of a
 * word is fixed by its offset, so any split of the input gives the same
 * lanes.  relay_digest_value folds the lanes, the held bytes and the
 * length with mix64.  Rejected: byte-wise FNV-1a (one dependent multiply
 * per byte: 4 KiB per message was a visible share of the DATA path), a
 * 32-byte carry buffer (4 x 24 more bytes per flow for the same result).
 */
#define RELAY_DG_P1 0x9e3779b185ebca87ull
#define RELAY_DG_P2 0xc2b2ae3d27d4eb4full

static uint64_t
dg_word(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline uint64_t
dg_round(uint64_t h, uint64_t w)
{
	h += w * RELAY_DG_P2;
	h = (h << 31) | (h >> 33);
	return h * RELAY_DG_P1;
}

void
relay_digest_init(struct relay_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->lane[0] = 0x60ea27eeadc0b5d6ull;
	d->lane[1] = 0xc2b2ae3d27d4eb4full;
	d->lane[2] = 0x27d4eb2f165667c5ull;
	d->lane[3] = 0x61c8864e7a143579ull;
}

void
relay_digest_feed(struct relay_digest *d, const uint8_t *p, size_t n)
{
	uint64_t a, b, c, e;
	uint32_t pos, k;

	if (d->n >= RELAY_DIGEST_BYTES || p == NULL)
		return;
	if (n > RELAY_DIGEST_BYTES - d->n)
		n = RELAY_DIGEST_BYTES - d->n;
	pos = d->n;
	d->n += (uint32_t)n;
	if ((k = pos & 7) != 0) {
		/* complete the held word first */
		if (n < 8 - k) {
			memcpy(d->part + k, p, n);
			return;
		}
		memcpy(d->part + k, p, 8 - k);
		p += 8 - k;
		n -= 8 - k;
		pos += 8 - k;
		k = ((pos >> 3) - 1) & 3;
		d->lane[k] = dg_round(d->lane[k], dg_word(d->part));
	}
	for (; n >= 8 && (pos & 31) != 0; p += 8, n -= 8, pos += 8) {
		k = (pos >> 3) & 3;
		d->lane[k] = dg_round(d->lane[k], dg_word(p));
	}
	a = d->lane[0];
	b = d->lane[1];
	c = d->lane[2];
	e = d->lane[3];
	for (; n >= 32; p += 32, n -= 32, pos += 32) {
		a = dg_round(a, dg_word(p));
		b = dg_round(b, dg_word(p + 8));
		c = dg_round(c, dg_word(p + 16));
		e = dg_round(e, dg_word(p + 24));
	}
	d->lane[0] = a;
	d->lane[1] = b;
	d->lane[2] = c;
	d->lane[3] = e;
	for (; n >= 8; p += 8, n -= 8, pos += 8) {
		k = (pos >> 3) & 3;
		d->lane[k] = dg_round(d->lane[k], dg_word(p));
	}
	memcpy(d->part, p, n);
}

uint64_t
relay_digest_value(const struct relay_digest *d)
{
	uint8_t tail[8] = { 0 };
	uint64_t v;
	unsigned k;

	if (d->n == 0)
		return 0;
	memcpy(tail, d->part, d->n & 7);
	v = mix64((uint64_t)d->n ^ 0x426f6479ull);
	for (k = 0; k < 4; k++)
		v = mix64(v ^ d->lane[k]);
	v = mix64(v ^ dg_word(tail));
	return v == 0 ? 1 : v;
}

/* Message-ID key: the value without surrounding whitespace. */
static uint64_t
mid_key(const struct smtp_tx *tx)
{
	const struct msghdr_field *f;
	uint32_t a = 0, b;
	uint64_t v;

	if (tx->hdr == NULL)
		return 0;
	f = msghdr_find(tx->hdr, "Message-ID", 0);
	if (f == NULL)
		return 0;
	b = f->value.len;
	while (a < b && (f->value.p[a] == ' ' || f->value.p[a] == '\t'))
		a++;
	while (b > a && (f->value.p[b - 1] == ' ' || f->value.p[b - 1] == '\t'
	    || f->value.p[b - 1] == '\r' || f->value.p[b - 1] == '\n'))
		b--;
	if (b == a)
		return 0;
	v = mix64(fnv(0xcbf29ce484222325ull, f->value.p + a, b - a) ^
	    0x4d736749ull);
	return v == 0 ? 1 : v;
}

static void
cpy(char *dst, size_t dlen, const char *src)
{
	size_t n = strlen(src);

	if (dlen == 0)
		return;
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Printable copy of attacker bytes (control bytes and NUL become '?'). */
static size_t
put_b(char *dst, size_t dlen, size_t off, struct bstr s)
{
	uint32_t i;

	for (i = 0; i < s.len && off + 1 < dlen; i++)
		dst[off++] = (s.p[i] < 0x20 || s.p[i] == 0x7f) ? '?' :
		    (char)s.p[i];
	if (off < dlen)
		dst[off] = '\0';
	return off;
}

static size_t
put_s(char *dst, size_t dlen, size_t off, const char *s)
{
	return put_b(dst, dlen, off, bstr_cstr(s));
}

static int
cidr_match(const struct chain_cidr *c, unsigned n, uint8_t ver,
    const uint8_t *addr)
{
	unsigned i, bits, b;

	for (i = 0; i < n; i++) {
		if (c[i].ver != ver)
			continue;
		bits = c[i].prefix;
		if (bits > (ver == 4 ? 32u : 128u))
			continue;
		for (b = 0; b + 8 <= bits; b += 8)
			if (c[i].addr[b / 8] != addr[b / 8])
				break;
		if (b + 8 <= bits)
			continue;
		if (b < bits) {
			uint8_t m = (uint8_t)(0xff << (8 - (bits - b)));
			if ((c[i].addr[b / 8] & m) != (addr[b / 8] & m))
				continue;
		}
		return 1;
	}
	return 0;
}

static int
ip_eq(uint8_t ver, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, ver == 4 ? 4 : 16) == 0;
}

static void
ip_text(uint8_t ver, const uint8_t *a, char *out, size_t outlen)
{
	if (inet_ntop(ver == 4 ? AF_INET : AF_INET6, a, out,
	    (socklen_t)outlen) == NULL && outlen > 0)
		out[0] = '\0';
}

/* Domain part of an address (after the last '@'), lower case; "" none. */
static void
addr_domain(struct bstr a, char *out, size_t outlen)
{
	uint32_t i, at = UINT32_MAX;
	size_t n = 0;

	for (i = 0; i < a.len; i++)
		if (a.p[i] == '@')
			at = i;
	if (at != UINT32_MAX)
		for (i = at + 1; i < a.len && n + 1 < outlen; i++) {
			if (a.p[i] == '>' || a.p[i] == ' ')
				break;
			out[n++] = (char)lc(a.p[i] == 0 ? '?' : a.p[i]);
		}
	while (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
}

static void
rd_of(const char *dom, char *out, size_t outlen)
{
	if (dom[0] == '\0') {
		out[0] = '\0';
		return;
	}
	chain_registered_domain(bstr_cstr(dom), out, outlen);
}

/* dom equals d or is a subdomain of it. */
static int
dom_under(const char *dom, const char *d)
{
	size_t a = strlen(dom), b = strlen(d);

	while (b > 0 && d[b - 1] == '.')
		b--;
	if (b == 0 || a < b)
		return 0;
	if (strncasecmp(dom + a - b, d, b) != 0)
		return 0;
	return a == b || dom[a - b - 1] == '.';
}

/* ---- local domains ---- */

struct relay_local {
	int configured;                      /* 1: lists from cfg */
	const struct relay_config *cfg;
	uint8_t ver;
	const uint8_t *server_ip;
	char assumed[1 + RELAY_LEARN_TOP][RELAY_DOM];
	unsigned n_assumed;
	char assumed_list[256];
};

static struct relay_srv *
srv_find(struct relay_worker *w, uint8_t ver, const uint8_t *ip, int create)
{
	struct relay_srv *s, *victim = NULL;
	unsigned i;

	for (i = 0; i < RELAY_SRV_MAX; i++) {
		s = &w->srv[i];
		if (s->used && s->ver == ver && ip_eq(ver, s->ip, ip)) {
			s->last = ++w->lru;
			return s;
		}
		if (victim == NULL || (victim->used && (!s->used ||
		    s->last < victim->last)))
			victim = s;
	}
	if (!create)
		return NULL;
	if (victim->used)
		w->st.servers_evicted++;
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->ver = ver;
	memcpy(victim->ip, ip, 16);
	victim->last = ++w->lru;
	return victim;
}

static void
srv_learn(struct relay_srv *s, const char *rd)
{
	unsigned i, low = 0;

	if (rd[0] == '\0' || strlen(rd) >= RELAY_DOM)
		return;
	s->total++;
	for (i = 0; i < RELAY_SRV_DOMAINS; i++) {
		if (s->d[i].count > 0 && strcmp(s->d[i].dom, rd) == 0) {
			s->d[i].count++;
			return;
		}
		if (s->d[i].count < s->d[low].count)
			low = i;
	}
	/* space-saving: the least counted entry is replaced, count kept */
	cpy(s->d[low].dom, RELAY_DOM, rd);
	s->d[low].count++;
}

static int
assumed_has(const struct relay_local *L, const char *rd)
{
	unsigned i;

	for (i = 0; i < L->n_assumed; i++)
		if (strcmp(L->assumed[i], rd) == 0)
			return 1;
	return 0;
}

static void
assumed_add(struct relay_local *L, const char *rd)
{
	size_t off;

	if (rd[0] == '\0' || L->n_assumed >= 1 + RELAY_LEARN_TOP ||
	    assumed_has(L, rd))
		return;
	cpy(L->assumed[L->n_assumed++], RELAY_DOM, rd);
	off = strlen(L->assumed_list);
	if (off > 0)
		off = put_s(L->assumed_list, sizeof(L->assumed_list), off, ",");
	put_s(L->assumed_list, sizeof(L->assumed_list), off, rd);
}

static void
local_setup(const struct relay_config *cfg, struct relay_worker *w,
    const struct smtp_tx *tx, const struct relay_wire *wire,
    struct relay_local *L)
{
	struct relay_srv *s;
	unsigned i, j, k, best;
	char rd[RELAY_DOM];
	uint8_t taken[RELAY_SRV_DOMAINS] = { 0 };

	memset(L, 0, sizeof(*L));
	L->cfg = cfg;
	L->ver = wire->ipver;
	L->server_ip = wire->server_ip;
	if (cfg->n_local_domains > 0)
		L->configured = 1;
	for (i = 0; i < cfg->n_servers; i++)
		if (cidr_match(&cfg->servers[i].server, 1, wire->ipver,
		    wire->server_ip))
			L->configured = 1;
	if (L->configured)
		return;
	if (tx->has_banner && tx->banner.len > 0) {
		chain_registered_domain(tx->banner, rd, sizeof(rd));
		/* a name with a dot that is not an address */
		if (strchr(rd, '.') != NULL && strchr(rd, ':') == NULL &&
		    strspn(rd, "0123456789.") != strlen(rd))
			assumed_add(L, rd);
	}
	s = srv_find(w, wire->ipver, wire->server_ip, 0);
	if (s == NULL)
		return;
	for (k = 0; k < RELAY_LEARN_TOP; k++) {
		best = RELAY_SRV_DOMAINS;
		for (j = 0; j < RELAY_SRV_DOMAINS; j++) {
			if (taken[j] || s->d[j].count < RELAY_LEARN_MIN ||
			    (uint64_t)s->d[j].count * 4 < s->total)
				continue;
			if (best == RELAY_SRV_DOMAINS ||
			    s->d[j].count > s->d[best].count ||
			    (s->d[j].count == s->d[best].count &&
			    strcmp(s->d[j].dom, s->d[best].dom) < 0))
				best = j;
		}
		if (best == RELAY_SRV_DOMAINS)
			break;
		taken[best] = 1;
		assumed_add(L, s->d[best].dom);
	}
}

/* 1 local, 0 foreign, -1 unknown (nothing configured nor assumed). */
static int
is_local(const struct relay_local *L, const char *dom)
{
	const struct relay_config *cfg = L->cfg;
	char rd[RELAY_DOM];
	unsigned i, j;

	if (dom[0] == '\0')
		return 1;                    /* "postmaster": always local */
	if (L->configured) {
		for (i = 0; i < cfg->n_local_domains; i++)
			if (cfg->local_domains[i] != NULL &&
			    dom_under(dom, cfg->local_domains[i]))
				return 1;
		for (i = 0; i < cfg->n_servers; i++) {
			if (!cidr_match(&cfg->servers[i].server, 1, L->ver,
			    L->server_ip))
				continue;
			for (j = 0; j < cfg->servers[i].n_domains; j++)
				if (cfg->servers[i].domains[j] != NULL &&
				    dom_under(dom, cfg->servers[i].domains[j]))
					return 1;
		}
		return 0;
	}
	if (L->n_assumed == 0)
		return -1;
	rd_of(dom, rd, sizeof(rd));
	return assumed_has(L, rd);
}

/* ---- alerts ---- */

static struct relay_alert *
alert_new(struct relay_result *out, int sid, const char *name,
    const char *cat, int sev)
{
	struct relay_alert *a;

	if (out->n_alerts >= RELAY_MAX_ALERTS)
		return NULL;
	a = &out->alerts[out->n_alerts++];
	memset(a, 0, sizeof(*a));
	a->signature_id = sid;
	a->signature = name;
	a->category = cat;
	a->severity = sev;
	return a;
}

static void
alert_done(struct relay_alert *a, size_t len)
{
	a->evidence_len = (uint32_t)(len < RELAY_EVIDENCE_MAX ? len :
	    RELAY_EVIDENCE_MAX);
	a->evidence[a->evidence_len] = '\0';
}

static int
has_alert(const struct relay_result *out, int sid)
{
	unsigned i;

	for (i = 0; i < out->n_alerts; i++)
		if (out->alerts[i].signature_id == sid)
			return 1;
	return 0;
}

static int
auth_ok(const struct smtp_tx *tx)
{
	return tx->has_auth && tx->auth_success == 1;
}

static int
code2xx(int c)
{
	return c >= 200 && c < 300;
}

/* 1301; returns 1 when raised, with the first foreign accepted RCPT. */
static int
check_1301(const struct smtp_tx *tx, const struct relay_wire *wire,
    const struct relay_local *L, struct relay_result *out, char *frcpt,
    size_t frlen)
{
	struct relay_alert *a;
	char dom[RELAY_DOM * 3];
	uint32_t i;
	size_t off;

	if (wire->client_in_home_net || auth_ok(tx))
		return 0;
	for (i = 0; i < tx->rcpt_count; i++) {
		if (!code2xx(tx->rcpt[i].code))
			continue;
		addr_domain(tx->rcpt[i].addr, dom, sizeof(dom));
		if (is_local(L, dom) != 0)
			continue;
		a = alert_new(out, 1301, "RELAY_ACCEPTED", "open-relay", 1);
		if (a == NULL)
			return 0;
		off = put_s(a->evidence, sizeof(a->evidence), 0, "RCPT TO:<");
		off = put_b(a->evidence, sizeof(a->evidence), off,
		    tx->rcpt[i].addr);
		off = put_s(a->evidence, sizeof(a->evidence), off, "> ");
		{
			char c[16];
			snprintf(c, sizeof(c), "%d", tx->rcpt[i].code);
			off = put_s(a->evidence, sizeof(a->evidence), off, c);
		}
		alert_done(a, off);
		a->has_relay = 1;
		a->relay.ipver = wire->ipver;
		memcpy(a->relay.server_ip, wire->server_ip, 16);
		memcpy(a->relay.client_ip, wire->client_ip, 16);
		put_b(a->relay.foreign_rcpt, sizeof(a->relay.foreign_rcpt), 0,
		    tx->rcpt[i].addr);
		cpy(a->relay.local_domains_assumed,
		    sizeof(a->relay.local_domains_assumed),
		    L->configured ? "" : L->assumed_list);
		put_b(frcpt, frlen, 0, tx->rcpt[i].addr);
		return 1;
	}
	return 0;
}

static int
helo_is_literal(struct bstr h)
{
	uint32_t i, dots = 0;

	if (h.len == 0)
		return 0;
	if (h.p[0] == '[')
		return 1;
	for (i = 0; i < h.len; i++) {
		if (h.p[i] == '.')
			dots++;
		else if (h.p[i] < '0' || h.p[i] > '9')
			return 0;
	}
	return dots == 3;
}

static int
helo_is_test_word(struct bstr h)
{
	static const char *const words[] = { "test", "testing", "tester",
	    "foo", "bar", "baz", "relaytest", "relay-test", "relaycheck",
	    "relay", "probe", "check", "checker", "scanner", "example", "abc",
	    "xyz", "x", NULL };
	struct bstr first = h;
	uint32_t i;

	for (i = 0; i < h.len; i++)
		if (h.p[i] == '.')
			break;
	first.len = i;
	for (i = 0; words[i] != NULL; i++)
		if (bstr_ieq(first, words[i]))
			return 1;
	return 0;
}

static void
check_1303(const struct smtp_tx *tx, const struct relay_wire *wire,
    const struct relay_local *L, struct relay_result *out)
{
	struct relay_alert *a;
	char mdom[RELAY_DOM * 3], mrd[RELAY_DOM], dom[RELAY_DOM * 3],
	    rd[RELAY_DOM];
	const char *why;
	uint32_t i;
	size_t off;

	if (wire->client_in_home_net || !tx->has_mail_from ||
	    tx->rcpt_count == 0)
		return;
	addr_domain(tx->mail_from, mdom, sizeof(mdom));
	if (mdom[0] == '\0' || is_local(L, mdom) != 0)
		return;
	rd_of(mdom, mrd, sizeof(mrd));
	for (i = 0; i < tx->rcpt_count; i++) {
		addr_domain(tx->rcpt[i].addr, dom, sizeof(dom));
		if (dom[0] == '\0' || is_local(L, dom) != 0)
			return;
		rd_of(dom, rd, sizeof(rd));
		if (strcmp(rd, mrd) == 0)
			return;
	}
	if (helo_is_literal(tx->helo))
		why = "HELO literal";
	else if (helo_is_test_word(tx->helo))
		why = "HELO test word";
	else if (!tx->has_data)
		why = "no DATA";
	else if (tx->data_bytes < 512)
		why = "tiny message";
	else
		return;
	a = alert_new(out, 1303, "RELAY_PROBE", "open-relay", 2);
	if (a == NULL)
		return;
	off = put_s(a->evidence, sizeof(a->evidence), 0, "HELO ");
	off = put_b(a->evidence, sizeof(a->evidence), off, tx->helo);
	off = put_s(a->evidence, sizeof(a->evidence), off, " MAIL FROM:<");
	off = put_b(a->evidence, sizeof(a->evidence), off, tx->mail_from);
	off = put_s(a->evidence, sizeof(a->evidence), off, "> RCPT TO:<");
	off = put_b(a->evidence, sizeof(a->evidence), off, tx->rcpt[0].addr);
	off = put_s(a->evidence, sizeof(a->evidence), off, "> (");
	off = put_s(a->evidence, sizeof(a->evidence), off, why);
	off = put_s(a->evidence, sizeof(a->evidence), off, ")");
	alert_done(a, off);
}

static void
check_1305(const struct relay_config *cfg, const struct smtp_tx *tx,
    const struct relay_wire *wire, struct relay_result *out)
{
	uint32_t rl = cfg->bulk_rcpt_limit ? cfg->bulk_rcpt_limit : 50;
	uint32_t tl = cfg->bulk_tx_limit ? cfg->bulk_tx_limit : 20;
	struct relay_alert *a;
	char buf[128];
	size_t off = 0;
	int r = 0, t = 0;

	if (wire->client_in_home_net)
		return;
	if (tx->rcpt_total > rl)
		r = 1;
	if (tx->has_mail_from && tx->tx_id == tl)
		t = 1;                       /* tx_id + 1 > limit, first time */
	if (!r && !t)
		return;
	a = alert_new(out, 1305, "BULK_RCPT", "open-relay", 3);
	if (a == NULL)
		return;
	if (r) {
		snprintf(buf, sizeof(buf), "%u RCPT TO in one transaction "
		    "(limit %u)", tx->rcpt_total, rl);
		off = put_s(a->evidence, sizeof(a->evidence), off, buf);
	}
	if (t) {
		snprintf(buf, sizeof(buf), "%s%u transactions in one session "
		    "(limit %u)", r ? "; " : "", tx->tx_id + 1, tl);
		off = put_s(a->evidence, sizeof(a->evidence), off, buf);
	}
	alert_done(a, off);
}

static int
from_domain(const struct smtp_tx *tx, char *out, size_t outlen)
{
	const struct msghdr_field *f;
	struct bstr addrs[4];

	out[0] = '\0';
	if (tx->hdr == NULL)
		return -1;
	f = msghdr_find(tx->hdr, "From", 0);
	if (f == NULL)
		return -1;
	if (msghdr_addresses(NULL, f->value, addrs, 4) == 0)
		return -1;
	addr_domain(addrs[0], out, outlen);
	return out[0] == '\0' ? -1 : 0;
}

static int
det_has(const struct det_result *det, int sid)
{
	unsigned i;

	if (det == NULL)
		return 0;
	for (i = 0; i < det->n_alerts; i++)
		if (det->alerts[i].signature_id == sid)
			return 1;
	for (i = 0; i < det->chain.n_alerts; i++)
		if (det->chain.alerts[i].signature_id == sid)
			return 1;
	return 0;
}

static void
check_1401(const struct smtp_tx *tx, const struct det_result *det,
    int confirmed, struct relay_result *out)
{
	const struct authres *ar;
	struct relay_alert *a;
	char fd[RELAY_DOM * 3], md[RELAY_DOM * 3], frd[RELAY_DOM],
	    mrd[RELAY_DOM], buf[160];
	const char *sign;
	int spf_bad, dkim_bad, mis;
	size_t off;

	if (det == NULL || !det->has_authres)
		return;
	ar = &det->ar;
	spf_bad = strcmp(ar->spf, "fail") == 0 ||
	    strcmp(ar->spf, "permerror") == 0 ||
	    strcmp(ar->spf, "softfail") == 0;
	if (!spf_bad)
		return;
	if (strcmp(ar->dmarc, "fail") != 0) {
		dkim_bad = strcmp(ar->dkim, "fail") == 0 ||
		    ar->dkim[0] == '\0' || strcmp(ar->dkim, "none") == 0;
		if (!dkim_bad || from_domain(tx, fd, sizeof(fd)) != 0)
			return;
		addr_domain(tx->mail_from, md, sizeof(md));
		rd_of(fd, frd, sizeof(frd));
		rd_of(md, mrd, sizeof(mrd));
		mis = strcmp(frd, mrd) != 0;
		if (!mis)
			return;
	}
	if (has_alert(out, 1301))
		sign = "1301";
	else if (confirmed)
		sign = "1302";
	else if (det_has(det, 1109))
		sign = "1109";
	else if (det_has(det, 1110))
		sign = "1110";
	else
		return;
	a = alert_new(out, 1401, "AUTH_FAIL_WITH_RELAY_HOP",
	    "authentication", 1);
	if (a == NULL)
		return;
	snprintf(buf, sizeof(buf), "spf=%s dkim=%s dmarc=%s; relay sign %s",
	    ar->spf, ar->dkim[0] ? ar->dkim : "none",
	    ar->dmarc[0] ? ar->dmarc : "none", sign);
	off = put_s(a->evidence, sizeof(a->evidence), 0, buf);
	alert_done(a, off);
}

static void
check_1402(const struct smtp_tx *tx, const struct relay_wire *wire,
    struct relay_result *out)
{
	struct relay_alert *a;
	const struct msghdr_field *f;
	char fd[RELAY_DOM * 3], md[RELAY_DOM * 3], frd[RELAY_DOM],
	    mrd[RELAY_DOM], hrd[RELAY_DOM];
	size_t off;

	if (wire->client_in_home_net || tx->hdr == NULL || !tx->has_mail_from)
		return;
	addr_domain(tx->mail_from, md, sizeof(md));
	if (tx->mail_from.len == 0 || md[0] == '\0')
		return;                      /* bounce */
	if (msghdr_find(tx->hdr, "List-Id", 0) != NULL)
		return;
	if (from_domain(tx, fd, sizeof(fd)) != 0)
		return;
	rd_of(fd, frd, sizeof(frd));
	rd_of(md, mrd, sizeof(mrd));
	hrd[0] = '\0';
	if (tx->helo.len > 0)
		chain_registered_domain(tx->helo, hrd, sizeof(hrd));
	if (strcmp(frd, mrd) == 0 || (hrd[0] != '\0' && strcmp(frd, hrd) == 0))
		return;
	a = alert_new(out, 1402, "FROM_ENVELOPE_MISALIGN", "authentication", 3);
	if (a == NULL)
		return;
	f = msghdr_find(tx->hdr, "From", 0);
	off = put_s(a->evidence, sizeof(a->evidence), 0, "From: ");
	off = put_b(a->evidence, sizeof(a->evidence), off, f->value);
	off = put_s(a->evidence, sizeof(a->evidence), off, " MAIL FROM:<");
	off = put_b(a->evidence, sizeof(a->evidence), off, tx->mail_from);
	off = put_s(a->evidence, sizeof(a->evidence), off, "> HELO ");
	off = put_b(a->evidence, sizeof(a->evidence), off, tx->helo);
	alert_done(a, off);
}

/* ---- the inbound transaction's context ---- */

static uint16_t
ctx_put(char *dst, size_t cap, struct bstr v)
{
	size_t n = v.len < cap ? v.len : cap;

	if (n > 0)
		memcpy(dst, v.p, n);
	return (uint16_t)n;
}

void
relay_txctx_fill(struct relay_txctx *ctx, const struct smtp_tx *tx)
{
	const struct msghdr_field *f;
	uint32_t i, n;

	memset(ctx, 0, offsetof(struct relay_txctx, mail_from));
	ctx->rcpt_count = tx->rcpt_count;
	if (tx->has_mail_from) {
		ctx->has_mail_from = 1;
		ctx->mail_from_len = ctx_put(ctx->mail_from,
		    sizeof(ctx->mail_from), tx->mail_from);
	}
	for (i = 0; tx->rcpt != NULL && i < tx->rcpt_count; i++) {
		n = tx->rcpt[i].addr.len;
		if ((size_t)ctx->rcpts_len + 2 + n > sizeof(ctx->rcpts))
			break;
		ctx->rcpts[ctx->rcpts_len] = (uint8_t)(n & 0xff);
		ctx->rcpts[ctx->rcpts_len + 1] = (uint8_t)(n >> 8);
		if (n > 0)
			memcpy(ctx->rcpts + ctx->rcpts_len + 2,
			    tx->rcpt[i].addr.p, n);
		ctx->rcpts_len = (uint16_t)(ctx->rcpts_len + 2 + n);
		ctx->rcpt_stored++;
	}
	if (tx->hdr == NULL)
		return;
	ctx->has_hdr = 1;
	f = msghdr_find(tx->hdr, "Message-ID", 0);
	if (f != NULL) {
		ctx->has_message_id = 1;
		ctx->message_id_len = ctx_put(ctx->message_id,
		    sizeof(ctx->message_id), f->value);
	}
	f = msghdr_find(tx->hdr, "Subject", 0);
	if (f != NULL) {
		ctx->has_subject = 1;
		ctx->subject_len = ctx_put(ctx->subject, sizeof(ctx->subject),
		    f->value);
	}
}

/* ---- tables ---- */

static int
tab_init(struct relay_tab *t, uint32_t cap, int with_ctx)
{
	uint32_t b = 16, i;

	while (b < cap && b < (1u << 30))
		b <<= 1;
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	t->mask = b - 1;
	t->rec = calloc(cap, sizeof(*t->rec));
	if (with_ctx) {
		t->n_ctx_chunks = (cap + RELAY_CTX_CHUNK - 1) / RELAY_CTX_CHUNK;
		t->ctx = calloc(t->n_ctx_chunks, sizeof(*t->ctx));
		if (t->ctx == NULL)
			return -1;
	}
	t->next_mid = malloc(sizeof(uint32_t) * cap);
	t->next_body = malloc(sizeof(uint32_t) * cap);
	t->bkt_mid = malloc(sizeof(uint32_t) * b);
	t->bkt_body = malloc(sizeof(uint32_t) * b);
	if (t->rec == NULL || t->next_mid == NULL || t->next_body == NULL ||
	    t->bkt_mid == NULL || t->bkt_body == NULL)
		return -1;
	for (i = 0; i < b; i++)
		t->bkt_mid[i] = t->bkt_body[i] = RELAY_NIL;
	return 0;
}

static void
tab_free(struct relay_tab *t)
{
	uint32_t i;

	for (i = 0; t->ctx != NULL && i < t->n_ctx_chunks; i++)
		free(t->ctx[i]);
	free(t->rec);
	free(t->ctx);
	free(t->next_mid);
	free(t->next_body);
	free(t->bkt_mid);
	free(t->bkt_body);
}

static void
chain_unlink(uint32_t *bkt, uint32_t *next, uint32_t slot)
{
	while (*bkt != RELAY_NIL) {
		if (*bkt == slot) {
			*bkt = next[slot];
			return;
		}
		bkt = &next[*bkt];
	}
}

static void
tab_pop(struct relay_tab *t)
{
	uint32_t s = t->head;
	struct relay_rec *r = &t->rec[s];

	if (r->key_mid != 0)
		chain_unlink(&t->bkt_mid[r->key_mid & t->mask], t->next_mid, s);
	if (r->key_body != 0)
		chain_unlink(&t->bkt_body[r->key_body & t->mask], t->next_body,
		    s);
	t->head = (t->head + 1) % t->cap;
	t->count--;
}

/* Returns 1 when the oldest record had to be evicted. */
static int
tab_add(struct relay_tab *t, const struct relay_rec *r,
    const struct relay_txctx *ctx)
{
	uint32_t s;
	int ev = 0;

	if (t->count == t->cap) {
		tab_pop(t);
		ev = 1;
	}
	s = (t->head + t->count) % t->cap;
	t->rec[s] = *r;
	if (t->ctx != NULL) {
		struct relay_txctx **c = &t->ctx[s / RELAY_CTX_CHUNK];

		if (*c == NULL)
			*c = calloc(RELAY_CTX_CHUNK, sizeof(**c));
		if (*c == NULL)
			t->ctx_lost++;
		else if (ctx != NULL)
			(*c)[s % RELAY_CTX_CHUNK] = *ctx;
	}
	t->count++;
	t->next_mid[s] = t->next_body[s] = RELAY_NIL;
	if (r->key_mid != 0) {
		t->next_mid[s] = t->bkt_mid[r->key_mid & t->mask];
		t->bkt_mid[r->key_mid & t->mask] = s;
	}
	if (r->key_body != 0) {
		t->next_body[s] = t->bkt_body[r->key_body & t->mask];
		t->bkt_body[r->key_body & t->mask] = s;
	}
	return ev;
}

/* The context of inbound slot s; NULL when it could not be kept. */
static const struct relay_txctx *
tab_ctx(const struct relay_tab *t, uint32_t s)
{
	if (t->ctx == NULL || t->ctx[s / RELAY_CTX_CHUNK] == NULL)
		return NULL;
	return &t->ctx[s / RELAY_CTX_CHUNK][s % RELAY_CTX_CHUNK];
}

static int
same_msg(const struct relay_rec *a, const struct relay_rec *b)
{
	if (a->key_mid != 0 && b->key_mid != 0)
		return a->key_mid == b->key_mid;
	return a->key_body != 0 && a->key_body == b->key_body;
}

static int
pair_ok(const struct relay_worker *w, const struct relay_rec *in,
    const struct relay_rec *out)
{
	uint64_t win = (uint64_t)w->window_s * 1000000u;

	return in->ipver == out->ipver &&
	    ip_eq(in->ipver, in->server_ip, out->client_ip) &&
	    out->ts_us >= in->ts_us && out->ts_us - in->ts_us <= win &&
	    same_msg(in, out);
}

/*
 * A tunnelled transaction (client -> proxy) and the proxy's own SMTP leg
 * (proxy -> target) finish within RELAY_TUNNEL_SLACK_US of each other in
 * either order: the target's reply reaches the proxy first.
 */
static int
tunnel_pair_ok(const struct relay_rec *in, const struct relay_rec *out)
{
	return in->ipver == out->ipver && in->flow_id != out->flow_id &&
	    ip_eq(in->ipver, in->server_ip, out->client_ip) &&
	    out->server_port == in->tgt_port &&
	    (!in->has_tgt_ip || ip_eq(in->ipver, in->tgt_ip, out->server_ip)) &&
	    out->ts_us <= in->ts_us + RELAY_TUNNEL_SLACK_US &&
	    in->ts_us <= out->ts_us + RELAY_TUNNEL_SLACK_US &&
	    same_msg(in, out);
}

/*
 * Report a pair: a 1302 for INBOUND/OUTBOUND, a linked 1304 for the two
 * legs of a proxy tunnel.  Flow fields are the inbound side's; delay_s and
 * the event time use the distance and the later of the two transactions
 * (a 1302 always has t_out >= t_in; tunnel legs may end in either order).
 */
static void
emit(struct relay_worker *w, const struct relay_rec *in,
    const struct relay_txctx *ctx, const struct relay_rec *out)
{
	struct relay_confirmed c;
	struct relay_alert *a = &c.alert;
	char buf[RELAY_EVIDENCE_MAX + 1], dst[64];
	const char *how = (in->key_mid != 0 && out->key_mid != 0) ?
	    "same Message-ID" : "same body digest";
	int tunnel = in->kind == RELAY_KIND_TUN_IN;

	memset(&c, 0, sizeof(c));
	a->signature_id = tunnel ? 1304 : 1302;
	a->signature = tunnel ? "PROXY_SMTP_TUNNEL" : "RELAY_CONFIRMED";
	a->category = "open-relay";
	a->severity = 1;
	a->has_relay = 1;
	a->relay.ipver = in->ipver;
	memcpy(a->relay.server_ip, in->server_ip, 16);
	memcpy(a->relay.client_ip, in->client_ip, 16);
	cpy(a->relay.foreign_rcpt, sizeof(a->relay.foreign_rcpt),
	    in->foreign_rcpt);
	cpy(a->relay.local_domains_assumed,
	    sizeof(a->relay.local_domains_assumed), in->assumed);
	a->relay.confirmed = 1;
	a->relay.outbound_flow_id = out->flow_id;
	memcpy(a->relay.outbound_dest_ip, out->server_ip, 16);
	a->relay.delay_s = (double)(out->ts_us > in->ts_us ?
	    out->ts_us - in->ts_us : in->ts_us - out->ts_us) / 1e6;
	if (tunnel) {
		ip_text(in->ipver, out->server_ip, dst, sizeof(dst));
		snprintf(buf, sizeof(buf), "tunnelled on flow %llu, carried "
		    "on by the proxy on flow %llu to %s port %u (%s)",
		    (unsigned long long)in->flow_id,
		    (unsigned long long)out->flow_id, dst,
		    (unsigned)out->server_port, how);
	} else {
		snprintf(buf, sizeof(buf), "accepted for <%s> on flow %llu, "
		    "sent on by the server on flow %llu after %.3f s (%s)",
		    in->foreign_rcpt, (unsigned long long)in->flow_id,
		    (unsigned long long)out->flow_id, a->relay.delay_s, how);
	}
	put_s(a->evidence, sizeof(a->evidence), 0, buf);
	alert_done(a, strlen(a->evidence));
	c.ipver = in->ipver;
	memcpy(c.client_ip, in->client_ip, 16);
	memcpy(c.server_ip, in->server_ip, 16);
	c.client_port = in->client_port;
	c.server_port = in->server_port;
	c.flow_id = in->flow_id;
	c.tx_id = in->tx_id;
	c.inbound_ts_us = in->ts_us;
	c.ts_us = out->ts_us > in->ts_us ? out->ts_us : in->ts_us;
	c.outbound_tx_id = out->tx_id;
	c.ctx = ctx;
	if (tunnel)
		w->st.tunnels_linked++;
	else
		w->st.confirmed++;
	if (w->fn != NULL)
		w->fn(w->u, &c);
}

/* Look up the other table for pairs with the new record r. */
static int
rec_is_in(const struct relay_rec *r)
{
	return r->kind == RELAY_KIND_IN || r->kind == RELAY_KIND_TUN_IN;
}

static struct relay_tab *
tab_of(struct relay_worker *w, uint8_t kind)
{
	switch (kind) {
	case RELAY_KIND_IN:
		return &w->in;
	case RELAY_KIND_OUT:
		return &w->out;
	case RELAY_KIND_TUN_IN:
		return &w->tin;
	default:
		return &w->tout;
	}
}

/* The kind a record of `kind` pairs with. */
static uint8_t
pair_kind(uint8_t kind)
{
	switch (kind) {
	case RELAY_KIND_IN:
		return RELAY_KIND_OUT;
	case RELAY_KIND_OUT:
		return RELAY_KIND_IN;
	case RELAY_KIND_TUN_IN:
		return RELAY_KIND_TUN_OUT;
	default:
		return RELAY_KIND_TUN_IN;
	}
}

static void
try_pair(struct relay_worker *w, const struct relay_rec *in,
    const struct relay_txctx *ctx, const struct relay_rec *out)
{
	if (in->kind == RELAY_KIND_TUN_IN ? tunnel_pair_ok(in, out) :
	    pair_ok(w, in, out))
		emit(w, in, ctx, out);
}

static void
match_new(struct relay_worker *w, const struct relay_rec *r,
    const struct relay_txctx *rctx)
{
	const struct relay_tab *t = tab_of(w, pair_kind(r->kind));
	const struct relay_rec *o, *in, *out;
	const struct relay_txctx *ctx;
	int r_in = rec_is_in(r);
	uint32_t s;

	if (r->key_mid != 0)
		for (s = t->bkt_mid[r->key_mid & t->mask]; s != RELAY_NIL;
		    s = t->next_mid[s]) {
			o = &t->rec[s];
			if (o->key_mid != r->key_mid)
				continue;
			in = r_in ? r : o;
			out = r_in ? o : r;
			ctx = r_in ? rctx : tab_ctx(t, s);
			try_pair(w, in, ctx, out);
		}
	if (r->key_body != 0)
		for (s = t->bkt_body[r->key_body & t->mask]; s != RELAY_NIL;
		    s = t->next_body[s]) {
			o = &t->rec[s];
			if (o->key_body != r->key_body ||
			    (o->key_mid != 0 && r->key_mid != 0))
				continue;    /* Message-IDs decide */
			in = r_in ? r : o;
			out = r_in ? o : r;
			ctx = r_in ? rctx : tab_ctx(t, s);
			try_pair(w, in, ctx, out);
		}
}

static void
insert(struct relay_worker *w, const struct relay_rec *r,
    const struct relay_txctx *ctx)
{
	struct relay_tab *t = tab_of(w, r->kind);

	match_new(w, r, ctx);
	if (tab_add(t, r, ctx)) {
		if (r->kind == RELAY_KIND_IN || r->kind == RELAY_KIND_OUT)
			w->st.evicted++;
		else
			w->st.tunnel_evicted++;
	}
}

/* ---- bus ---- */

struct relay_bus *
relay_bus_create(unsigned n_workers, unsigned ring_slots)
{
	struct relay_bus *b;
	size_t slots = 16, i;

	if (n_workers == 0 || n_workers > 1024)
		return NULL;
	while (slots < ring_slots && slots < (1u << 20))
		slots <<= 1;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->n = n_workers;
	b->rings = aligned_alloc(64, sizeof(*b->rings) * n_workers * n_workers);
	b->clock = aligned_alloc(64, sizeof(*b->clock) * n_workers);
	if (b->rings == NULL || b->clock == NULL) {
		relay_bus_destroy(b);
		return NULL;
	}
	memset(b->rings, 0, sizeof(*b->rings) * n_workers * n_workers);
	for (i = 0; i < n_workers; i++)
		atomic_init(&b->clock[i].t, 0);
	atomic_init(&b->finished, 0);
	for (i = 0; i < (size_t)n_workers * n_workers; i++) {
		struct relay_ring *r = &b->rings[i];
		atomic_init(&r->head, 0);
		atomic_init(&r->tail, 0);
		if (i / n_workers == i % n_workers)
			continue;            /* no ring to oneself */
		r->slot = calloc(slots, sizeof(*r->slot));
		if (r->slot == NULL) {
			relay_bus_destroy(b);
			return NULL;
		}
		r->mask = slots - 1;
	}
	return b;
}

void
relay_bus_destroy(struct relay_bus *b)
{
	size_t i;

	if (b == NULL)
		return;
	if (b->rings != NULL)
		for (i = 0; i < (size_t)b->n * b->n; i++)
			free(b->rings[i].slot);
	free(b->rings);
	free(b->clock);
	free(b);
}

static void
bus_drain(struct relay_worker *w)
{
	struct relay_bus *b = w->bus;
	struct relay_ring *r;
	struct relay_msg m;
	size_t head, tail;
	unsigned from;

	if (b == NULL || b->n < 2)
		return;
	for (from = 0; from < b->n; from++) {
		if (from == w->idx)
			continue;
		r = &b->rings[from * b->n + w->idx];
		head = atomic_load_explicit(&r->head, memory_order_acquire);
		tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		while (tail != head) {
			m = r->slot[tail & r->mask];
			tail++;
			atomic_store_explicit(&r->tail, tail,
			    memory_order_release);
			w->st.inbound_received++;
			insert(w, &m.rec, &m.ctx);
		}
	}
}

static void
bus_publish(struct relay_worker *w, const struct relay_rec *rec,
    const struct relay_txctx *ctx)
{
	struct relay_bus *b = w->bus;
	struct relay_ring *r;
	size_t head;
	unsigned to, spins;

	if (b == NULL || b->n < 2)
		return;
	for (to = 0; to < b->n; to++) {
		if (to == w->idx)
			continue;
		r = &b->rings[w->idx * b->n + to];
		head = atomic_load_explicit(&r->head, memory_order_relaxed);
		spins = 0;
		while (head - r->tail_cache > r->mask) {
			r->tail_cache = atomic_load_explicit(&r->tail,
			    memory_order_acquire);
			if (head - r->tail_cache <= r->mask)
				break;
			if (spins++ == 0)
				w->st.ring_full_waits++;
			bus_drain(w);        /* let a peer waiting on us go on */
			if (spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
		r->slot[head & r->mask].rec = *rec;
		r->slot[head & r->mask].ctx = *ctx;
		atomic_store_explicit(&r->head, head + 1, memory_order_release);
	}
	if (rec->kind == RELAY_KIND_IN)
		w->st.inbound_published++;
	else
		w->st.tunnels_published++;
}

/* ---- worker ---- */

struct relay_worker *
relay_worker_create(const struct relay_config *cfg, struct relay_bus *bus,
    unsigned idx, relay_confirm_fn fn, void *u)
{
	struct relay_worker *w;
	uint32_t cap;

	if (cfg == NULL || (bus != NULL && idx >= bus->n) ||
	    (bus == NULL && idx != 0))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->cfg = cfg;
	w->bus = bus;
	w->idx = idx;
	w->fn = fn;
	w->u = u;
	w->window_s = cfg->correlation_window ? cfg->correlation_window : 3600;
	cap = cfg->max_records ? cfg->max_records : 16384;
	if (tab_init(&w->in, cap, 1) != 0 || tab_init(&w->out, cap, 0) != 0 ||
	    tab_init(&w->tin, cap, 1) != 0 || tab_init(&w->tout, cap, 0) != 0) {
		relay_worker_destroy(w);
		return NULL;
	}
	return w;
}

void
relay_worker_destroy(struct relay_worker *w)
{
	if (w == NULL)
		return;
	tab_free(&w->in);
	tab_free(&w->out);
	tab_free(&w->tin);
	tab_free(&w->tout);
	free(w);
}

static uint64_t
slowest_clock(struct relay_worker *w)
{
	uint64_t m = w->clock, c;
	unsigned i;

	if (w->bus == NULL || w->bus->n < 2)
		return m;
	for (i = 0; i < w->bus->n; i++) {
		if (i == w->idx)
			continue;
		c = atomic_load_explicit(&w->bus->clock[i].t,
		    memory_order_acquire);
		if (c < m)
			m = c;
	}
	return m;
}

static void
expire(struct relay_worker *w, uint64_t cmin)
{
	uint64_t win = (uint64_t)w->window_s * 1000000u;

	while (w->out.count > 0 && w->out.rec[w->out.head].ts_us < cmin) {
		tab_pop(&w->out);
		w->st.expired++;
	}
	while (w->in.count > 0 &&
	    w->in.rec[w->in.head].ts_us + win < cmin) {
		tab_pop(&w->in);
		w->st.expired++;
	}
	/* tunnel legs pair within the slack either way (relay.h) */
	while (w->tout.count > 0 &&
	    w->tout.rec[w->tout.head].ts_us + RELAY_TUNNEL_SLACK_US < cmin)
		tab_pop(&w->tout);
	while (w->tin.count > 0 &&
	    w->tin.rec[w->tin.head].ts_us + RELAY_TUNNEL_SLACK_US < cmin)
		tab_pop(&w->tin);
}

void
relay_worker_tick(struct relay_worker *w, uint64_t now_us)
{
	uint64_t cmin;

	if (now_us > w->clock)
		w->clock = now_us;
	if (w->bus != NULL && w->bus->n > 1 && w->clock != UINT64_MAX)
		atomic_store_explicit(&w->bus->clock[w->idx].t, w->clock,
		    memory_order_release);
	cmin = slowest_clock(w);             /* before draining: see relay.h */
	bus_drain(w);
	expire(w, cmin);
}

void
relay_worker_poll(struct relay_worker *w)
{
	bus_drain(w);
}

void
relay_worker_finish(struct relay_worker *w)
{
	struct relay_bus *b = w->bus;
	unsigned spins = 0;

	if (b != NULL && b->n > 1) {
		atomic_store_explicit(&b->clock[w->idx].t, UINT64_MAX,
		    memory_order_release);
		atomic_fetch_add_explicit(&b->finished, 1,
		    memory_order_acq_rel);
		while (atomic_load_explicit(&b->finished,
		    memory_order_acquire) < b->n) {
			bus_drain(w);
			if (++spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
		bus_drain(w);                /* everything is published now */
	}
	w->clock = UINT64_MAX;
}

void
relay_worker_stats(const struct relay_worker *w, struct relay_stats *st)
{
	*st = w->st;
	st->inbound_in_table = w->in.count;
	st->outbound_in_table = w->out.count;
	st->context_lost = w->in.ctx_lost;
}

/* ---- per transaction ---- */

static void
learn(struct relay_worker *w, const struct smtp_tx *tx,
    const struct relay_wire *wire, const struct relay_local *L)
{
	struct relay_srv *s;
	char dom[RELAY_DOM * 3], rd[RELAY_DOM];
	uint32_t i;

	if (L->configured || wire->client_in_home_net || auth_ok(tx))
		return;
	for (i = 0; i < tx->rcpt_count; i++) {
		if (!code2xx(tx->rcpt[i].code))
			continue;
		addr_domain(tx->rcpt[i].addr, dom, sizeof(dom));
		if (is_local(L, dom) == 0)
			return;              /* judged foreign: learn nothing */
	}
	s = NULL;
	for (i = 0; i < tx->rcpt_count; i++) {
		if (!code2xx(tx->rcpt[i].code))
			continue;
		addr_domain(tx->rcpt[i].addr, dom, sizeof(dom));
		if (dom[0] == '\0')
			continue;
		rd_of(dom, rd, sizeof(rd));
		if (s == NULL)
			s = srv_find(w, wire->ipver, wire->server_ip, 1);
		srv_learn(s, rd);
	}
}

int
relay_tx(const struct relay_config *cfg, struct relay_worker *w,
    const struct smtp_tx *tx, const struct det_result *det,
    const struct relay_wire *wire, struct relay_result *out)
{
	struct relay_local L;
	struct relay_rec rec;
	struct relay_txctx ctx;
	char frcpt[256] = "";
	uint64_t mid, ts, before;
	int r1301, confirmed = 0;

	out->n_alerts = 0;
	bus_drain(w);
	ts = wire->ts_us ? wire->ts_us : tx->ts_us;
	local_setup(cfg, w, tx, wire, &L);

	r1301 = check_1301(tx, wire, &L, out, frcpt, sizeof(frcpt));
	check_1303(tx, wire, &L, out);
	check_1305(cfg, tx, wire, out);
	learn(w, tx, wire, &L);

	mid = mid_key(tx);
	memset(&rec, 0, sizeof(rec));
	rec.key_mid = mid;
	rec.key_body = wire->body_digest;
	rec.flow_id = wire->flow_id;
	rec.ts_us = ts;
	rec.ipver = wire->ipver;
	rec.client_port = wire->client_port;
	rec.server_port = wire->server_port;
	rec.worker = (uint16_t)w->idx;
	rec.tx_id = tx->tx_id;
	memcpy(rec.client_ip, wire->client_ip, 16);
	memcpy(rec.server_ip, wire->server_ip, 16);
	if (tx->has_data && (rec.key_mid != 0 || rec.key_body != 0)) {
		if (r1301 || wire->tunnel)
			relay_txctx_fill(&ctx, tx);
		if (r1301) {
			rec.kind = RELAY_KIND_IN;
			cpy(rec.foreign_rcpt, sizeof(rec.foreign_rcpt), frcpt);
			cpy(rec.assumed, sizeof(rec.assumed),
			    L.configured ? "" : L.assumed_list);
			before = w->st.confirmed;
			insert(w, &rec, &ctx);
			confirmed |= w->st.confirmed != before;
			bus_publish(w, &rec, &ctx);
		}
		if (!wire->server_in_home_net) {
			rec.kind = RELAY_KIND_OUT;
			rec.foreign_rcpt[0] = rec.assumed[0] = '\0';
			before = w->st.confirmed;
			insert(w, &rec, NULL);
			confirmed |= w->st.confirmed != before;
			w->st.outbound_recorded++;
		}
		if (wire->tunnel) {
			rec.kind = RELAY_KIND_TUN_IN;
			rec.foreign_rcpt[0] = rec.assumed[0] = '\0';
			rec.tgt_port = wire->tunnel_port;
			rec.has_tgt_ip = wire->tunnel_has_ip;
			memcpy(rec.tgt_ip, wire->tunnel_ip, 16);
			insert(w, &rec, &ctx);
			bus_publish(w, &rec, &ctx);
		} else {
			/* any transaction may be a proxy's own leg */
			rec.kind = RELAY_KIND_TUN_OUT;
			rec.foreign_rcpt[0] = rec.assumed[0] = '\0';
			insert(w, &rec, NULL);
		}
	}
	check_1401(tx, det, confirmed, out);
	check_1402(tx, wire, out);
	return (int)out->n_alerts;
}
