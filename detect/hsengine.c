/*
 * hsengine.c - compile the rule set into Hyperscan databases and scan.
 *
 * Design: one database per scope kind (and one per header:<Name>), each
 * pattern with its own id and HS_FLAG_SINGLEMATCH: a rule is "all plain
 * patterns and no negated one inside one scope instance", so the engine
 * only needs one bit per pattern per instance, and SINGLEMATCH keeps the
 * callback rate at one per pattern per message whatever the content.
 * Pattern ids are handed out database by database, so each database owns a
 * contiguous id range and each (rule, scope) "slot" a contiguous sub-range.
 *
 * Message content is scanned in streaming mode chunk by chunk as it leaves
 * the SMTP parser: nothing of the message is copied.  Streams are opened
 * per message (SINGLEMATCH lasts a stream's life) and their state comes
 * from the worker's pool through a stream allocator installed once per
 * process: the allocator reads a thread-local pool pointer set around
 * hs_open_stream and records the owning pool in a small header, so frees
 * (hs_close_stream) go back to the right pool on any thread.  Memory per
 * message in progress is therefore fixed: the caller's hseng_msg_size()
 * bytes plus hs_stream_size() per streaming database from the pool.
 *
 * Evidence for header-section stream matches is found without keeping the
 * text: the scanner counts header field starts (a line not beginning with
 * WSP) in the raw stream and records, per pattern, which field held the
 * match end; at transaction end that ordinal indexes the parsed fields of
 * struct msghdr_section, when the section had no skipped or dropped lines.
 *
 * Each database goes through hscache_compile_multi: with a cache given,
 * an identical compile input is loaded from disk instead of compiled (the
 * key covers every expression, flag and id, so the database, and with it
 * every match, is the same either way).
 *
 * Rejected: hs_compress_stream/hs_expand_stream around every chunk (no
 * allocation at all, but an expand and a compress per packet); a
 * block-mode rescan of a kept message copy (the issue forbids the copy);
 * one combined database with logical combinations (HS_FLAG_COMBINATION
 * cannot express scope instances such as "the same Received header").
 */
#include "hsengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "../decode/pool.h"
#include "hscache.h"

#define NSTREAM 3                /* headers, body, data */
#define SNIP_MAX 256
#define NO_FIELD 0xffffffffu
#define ALLOC_HDR 16

struct slot {
	unsigned rule;
	unsigned scope;          /* index into the rule's scopes */
	unsigned db;
	uint32_t pid_lo;
	unsigned npat;
};

struct eng_db {
	hs_database_t *db;
	enum rule_scope_kind kind;
	const char *header;      /* RULE_SCOPE_HEADER */
	uint32_t pid_lo, pid_hi;
	unsigned slot_lo, slot_hi;
};

struct hseng {
	const struct rule_set *rs;
	struct eng_db *dbs;
	unsigned ndb;
	struct slot *slots;
	unsigned nslots;
	uint32_t *pid_slot;      /* pid -> slot */
	uint32_t npids;
	uint32_t nstream_pids;   /* pids below this are in streaming DBs */
	int stream_db[NSTREAM];  /* db index or -1 */
	hs_scratch_t *proto;
	size_t stream_bytes;     /* sum of hs_stream_size */
	size_t stream_obj;       /* largest stream + ALLOC_HDR */
	size_t msg_size;
	size_t words;            /* uint64 words for all pids */
};

struct hit {
	uint32_t field;          /* header field ordinal or NO_FIELD */
};

struct hseng_msg {
	hs_stream_t *st[NSTREAM];
	uint64_t hdr_len;        /* header bytes seen */
	uint64_t body_len;       /* body bytes seen */
	uint32_t nfield;         /* field starts counted so far */
	uint8_t after_lf;
	uint8_t active, ended;
	uint32_t snip_pid;
	uint16_t snip_len;
	uint8_t snip[SNIP_MAX];
	uint64_t *bits;          /* nstream_pids bits */
	struct hit *hits;        /* nstream_pids */
};

struct hseng_worker {
	const struct hseng *e;
	hs_scratch_t *scratch;
	struct pool *pool;
	uint64_t *bbits;         /* block-scan bits, all pids */
	uint8_t *fired;          /* per rule */
	uint8_t ev[HSENG_EVIDENCE_MAX];
	struct hseng_worker_stats st;
};

struct scan_ctx {
	const struct hseng *e;
	struct hseng_msg *m;
	const uint8_t *chunk;    /* NULL at stream close */
	size_t n;
	uint64_t base;           /* stream offset of chunk[0] */
	int in_header;
};

static __thread struct pool *tls_pool;

static void *
stream_alloc(size_t n)
{
	struct pool *p = tls_pool;
	uint8_t *b;

	if (p != NULL && n + ALLOC_HDR <= pool_obj_size(p)) {
		if ((b = pool_get(p)) == NULL)
			return NULL;
	} else {
		p = NULL;
		if ((b = malloc(n + ALLOC_HDR)) == NULL)
			return NULL;
	}
	memcpy(b, &p, sizeof(p));
	return b + ALLOC_HDR;
}

static void
stream_free(void *ptr)
{
	uint8_t *b;
	struct pool *p;

	if (ptr == NULL)
		return;
	b = (uint8_t *)ptr - ALLOC_HDR;
	memcpy(&p, b, sizeof(p));
	if (p != NULL)
		pool_put(p, b);
	else
		free(b);
}

static inline void
bit_set(uint64_t *b, uint32_t i)
{
	b[i >> 6] |= 1ULL << (i & 63);
}

static inline int
bit_get(const uint64_t *b, uint32_t i)
{
	return (int)((b[i >> 6] >> (i & 63)) & 1);
}

static int
hdr_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

void
hseng_destroy(struct hseng *e)
{
	unsigned i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ndb; i++)
		hs_free_database(e->dbs[i].db);
	hs_free_scratch(e->proto);
	free(e->dbs);
	free(e->slots);
	free(e->pid_slot);
	free(e);
}

/* Append the slots of every (rule, scope) that belongs in database d. */
static int
collect(struct hseng *e, struct eng_db *d)
{
	const struct rule_set *rs = e->rs;
	unsigned r, s;

	d->slot_lo = e->nslots;
	d->pid_lo = e->npids;
	for (r = 0; r < rs->nrules; r++) {
		const struct rule *ru = &rs->rules[r];
		for (s = 0; s < ru->nscopes; s++) {
			const struct rule_scope *sc = &ru->scopes[s];
			struct slot *sl;
			if (sc->kind != d->kind)
				continue;
			if (d->kind == RULE_SCOPE_HEADER &&
			    !hdr_ieq(sc->header, d->header))
				continue;
			sl = &e->slots[e->nslots++];
			sl->rule = r;
			sl->scope = s;
			sl->db = (unsigned)(d - e->dbs);
			sl->pid_lo = e->npids;
			sl->npat = ru->npatterns;
			e->npids += ru->npatterns;
		}
	}
	d->slot_hi = e->nslots;
	d->pid_hi = e->npids;
	return d->pid_hi > d->pid_lo;
}

static int
compile_db(struct hseng *e, struct eng_db *d, struct hscache *cache,
    char *err, size_t errlen)
{
	const struct rule_set *rs = e->rs;
	unsigned n = d->pid_hi - d->pid_lo, i, k, si;
	const char **ex = calloc(n, sizeof(*ex));
	unsigned *fl = calloc(n, sizeof(*fl));
	unsigned *ids = calloc(n, sizeof(*ids));
	hs_compile_error_t *ce = NULL;
	int streaming = d->kind <= RULE_SCOPE_DATA;
	int rc = 0;

	if (ex == NULL || fl == NULL || ids == NULL) {
		snprintf(err, errlen, "hsengine: out of memory");
		rc = -1;
		goto out;
	}
	i = 0;
	for (si = d->slot_lo; si < d->slot_hi; si++) {
		const struct rule *ru = &rs->rules[e->slots[si].rule];
		for (k = 0; k < ru->npatterns; k++, i++) {
			ex[i] = ru->patterns[k].regex;
			fl[i] = ru->patterns[k].hs_flags | HS_FLAG_SINGLEMATCH;
			ids[i] = d->pid_lo + i;
			e->pid_slot[d->pid_lo + i] = si;
		}
	}
	if (hscache_compile_multi(cache, ex, fl, ids, n,
	    streaming ? HS_MODE_STREAM : HS_MODE_BLOCK, &d->db,
	    &ce) != HS_SUCCESS) {
		if (ce != NULL && ce->expression >= 0 && (unsigned)ce->expression < n) {
			uint32_t pid = d->pid_lo + (uint32_t)ce->expression;
			const struct slot *sl = &e->slots[e->pid_slot[pid]];
			const struct rule *ru = &rs->rules[sl->rule];
			const struct rule_pattern *p =
			    &ru->patterns[pid - sl->pid_lo];
			snprintf(err, errlen, "%s:%u: rule %u: pattern /%s/ "
			    "rejected by Hyperscan: %s", ru->file, p->line,
			    ru->id, p->regex, ce->message);
		} else {
			snprintf(err, errlen, "%s:0: Hyperscan compile of the "
			    "%s database failed: %s",
			    rs->nfiles ? rs->files[0] : "rules",
			    rule_scope_name(d->kind),
			    ce != NULL ? ce->message : "unknown error");
		}
		hs_free_compile_error(ce);
		d->db = NULL;
		rc = -1;
		goto out;
	}
	if (hs_alloc_scratch(d->db, &e->proto) != HS_SUCCESS) {
		snprintf(err, errlen, "hsengine: cannot allocate scratch");
		rc = -1;
	}
out:
	free(ex);
	free(fl);
	free(ids);
	return rc;
}

struct hseng *
hseng_create(const struct rule_set *rs, struct hscache *cache, char *err,
    size_t errlen)
{
	struct hseng *e;
	unsigned r, s, i, nslots_max = 0, nhdr = 0;
	const char **names;
	size_t sz;

	if (errlen > 0)
		err[0] = '\0';
	if (rs == NULL || rs->nrules == 0) {
		snprintf(err, errlen, "hsengine: empty rule set");
		return NULL;
	}
	for (r = 0; r < rs->nrules; r++)
		nslots_max += rs->rules[r].nscopes;
	e = calloc(1, sizeof(*e));
	names = calloc(nslots_max, sizeof(*names));
	if (e == NULL || names == NULL)
		goto oom;
	e->rs = rs;
	for (r = 0; r < rs->nrules; r++) {
		const struct rule *ru = &rs->rules[r];
		for (s = 0; s < ru->nscopes; s++) {
			if (ru->scopes[s].kind != RULE_SCOPE_HEADER)
				continue;
			for (i = 0; i < nhdr; i++)
				if (hdr_ieq(names[i], ru->scopes[s].header))
					break;
			if (i == nhdr)
				names[nhdr++] = ru->scopes[s].header;
		}
	}
	e->dbs = calloc(RULE_SCOPE_HEADER + nhdr, sizeof(*e->dbs));
	e->slots = calloc(nslots_max, sizeof(*e->slots));
	e->pid_slot = calloc((size_t)nslots_max * RULE_MAX_PATTERNS,
	    sizeof(*e->pid_slot));
	if (e->dbs == NULL || e->slots == NULL || e->pid_slot == NULL)
		goto oom;
	for (i = 0; i < NSTREAM; i++)
		e->stream_db[i] = -1;
	for (i = 0; i < RULE_SCOPE_HEADER + nhdr; i++) {
		struct eng_db *d = &e->dbs[e->ndb];
		d->kind = i < RULE_SCOPE_HEADER ? (enum rule_scope_kind)i :
		    RULE_SCOPE_HEADER;
		d->header = i < RULE_SCOPE_HEADER ? NULL :
		    names[i - RULE_SCOPE_HEADER];
		if (!collect(e, d))
			continue;
		if (compile_db(e, d, cache, err, errlen) < 0) {
			e->ndb++;
			goto fail;
		}
		if (d->kind <= RULE_SCOPE_DATA) {
			size_t ss = 0;
			e->stream_db[d->kind] = (int)e->ndb;
			hs_stream_size(d->db, &ss);
			e->stream_bytes += ss;
			if (ss + ALLOC_HDR > e->stream_obj)
				e->stream_obj = ss + ALLOC_HDR;
			e->nstream_pids = d->pid_hi;
		}
		e->ndb++;
	}
	free(names);
	names = NULL;
	if (hs_set_stream_allocator(stream_alloc, stream_free) != HS_SUCCESS)
		goto oom;
	e->words = (e->npids + 63) / 64;
	sz = sizeof(struct hseng_msg);
	sz = (sz + 7) & ~(size_t)7;
	sz += ((e->nstream_pids + 63) / 64) * sizeof(uint64_t);
	sz += e->nstream_pids * sizeof(struct hit);
	e->msg_size = sz;
	if (e->stream_obj < 64)
		e->stream_obj = 64;
	return e;
oom:
	snprintf(err, errlen, "hsengine: out of memory");
fail:
	free(names);
	hseng_destroy(e);
	return NULL;
}

void
hseng_stats(const struct hseng *e, struct hseng_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < e->ndb; i++) {
		size_t b = 0;
		hs_database_size(e->dbs[i].db, &b);
		st->db_bytes[e->dbs[i].kind] += b;
	}
	st->stream_state_bytes = e->stream_bytes;
	st->msg_bytes = e->msg_size;
	if (e->proto != NULL)
		hs_scratch_size(e->proto, &st->scratch_bytes);
	st->databases = e->ndb;
	st->patterns = e->npids;
	st->rules = e->rs->nrules;
}

size_t
hseng_msg_size(const struct hseng *e)
{
	return e->msg_size;
}

struct hseng_worker *
hseng_worker_create(const struct hseng *e, size_t max_open)
{
	struct hseng_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->e = e;
	if (max_open == 0)
		max_open = 1;
	w->bbits = calloc(e->words ? e->words : 1, sizeof(uint64_t));
	w->fired = calloc(e->rs->nrules, 1);
	w->pool = pool_create(e->stream_obj, max_open * NSTREAM);
	if (w->bbits == NULL || w->fired == NULL || w->pool == NULL ||
	    (e->proto != NULL &&
	    hs_clone_scratch(e->proto, &w->scratch) != HS_SUCCESS)) {
		hseng_worker_destroy(w);
		return NULL;
	}
	return w;
}

void
hseng_worker_destroy(struct hseng_worker *w)
{
	if (w == NULL)
		return;
	hs_free_scratch(w->scratch);
	if (w->pool != NULL)
		pool_destroy(w->pool);
	free(w->bbits);
	free(w->fired);
	free(w);
}

void
hseng_worker_stats(const struct hseng_worker *w, struct hseng_worker_stats *st)
{
	*st = w->st;
}

/* Count field starts (line starts not beginning with WSP) in d[0..n). */
static void
count_fields(const uint8_t *d, size_t n, uint8_t *after_lf, uint32_t *cnt)
{
	size_t i = 0;
	const uint8_t *lf;

	while (i < n) {
		if (*after_lf) {
			if (d[i] != ' ' && d[i] != '\t')
				(*cnt)++;
			*after_lf = 0;
		}
		lf = memchr(d + i, '\n', n - i);
		if (lf == NULL)
			return;
		i = (size_t)(lf - d) + 1;
		*after_lf = 1;
	}
}

static int
on_stream_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned flags, void *ctx)
{
	struct scan_ctx *c = ctx;
	struct hseng_msg *m = c->m;
	size_t end;

	(void)from;
	(void)flags;
	if (id >= c->e->nstream_pids)
		return 0;
	bit_set(m->bits, id);
	m->hits[id].field = NO_FIELD;
	if (c->chunk == NULL || to < c->base || to > c->base + c->n) {
		if (c->in_header && m->nfield > 0)
			m->hits[id].field = m->nfield - 1;
		return 0;
	}
	end = (size_t)(to - c->base);
	if (c->in_header) {
		uint8_t al = m->after_lf;
		uint32_t cnt = m->nfield;
		count_fields(c->chunk, end > 0 ? end : 0, &al, &cnt);
		if (cnt > 0)
			m->hits[id].field = cnt - 1;
	} else if (m->snip_len == 0) {
		size_t s = end, t = end, lim;
		while (s > 0 && c->chunk[s - 1] != '\n' && end - s < SNIP_MAX / 2)
			s--;
		lim = s + SNIP_MAX;
		while (t < c->n && t < lim && c->chunk[t] != '\n' &&
		    c->chunk[t] != '\r')
			t++;
		if (t > s) {
			memcpy(m->snip, c->chunk + s, t - s);
			m->snip_len = (uint16_t)(t - s);
			m->snip_pid = id;
		}
	}
	return 0;
}

struct hseng_msg *
hseng_msg_begin(struct hseng_worker *w, void *mem)
{
	const struct hseng *e = w->e;
	struct hseng_msg *m = mem;
	size_t off = (sizeof(*m) + 7) & ~(size_t)7;
	unsigned i;

	memset(m, 0, e->msg_size);
	m->bits = (uint64_t *)((uint8_t *)mem + off);
	off += ((e->nstream_pids + 63) / 64) * sizeof(uint64_t);
	m->hits = (struct hit *)((uint8_t *)mem + off);
	m->after_lf = 1;
	m->active = 1;
	w->st.messages++;
	tls_pool = w->pool;
	for (i = 0; i < NSTREAM; i++) {
		if (e->stream_db[i] < 0)
			continue;
		if (hs_open_stream(e->dbs[e->stream_db[i]].db, 0, &m->st[i]) !=
		    HS_SUCCESS) {
			m->st[i] = NULL;
			w->st.stream_fail++;
			continue;
		}
		w->st.streams_open++;
	}
	tls_pool = NULL;
	if (w->st.streams_open > w->st.streams_peak)
		w->st.streams_peak = w->st.streams_open;
	return m;
}

static void
close_stream(struct hseng_worker *w, struct hseng_msg *m, int i)
{
	struct scan_ctx c = { w->e, m, NULL, 0, 0, i == RULE_SCOPE_HEADERS ||
	    (i == RULE_SCOPE_DATA && m->body_len == 0) };

	if (m->st[i] == NULL)
		return;
	if (hs_close_stream(m->st[i], w->scratch, on_stream_match, &c) !=
	    HS_SUCCESS)
		w->st.scan_errors++;
	m->st[i] = NULL;
	w->st.streams_open--;
}

static void
scan_stream(struct hseng_worker *w, struct hseng_msg *m, int i,
    const uint8_t *d, size_t n, uint64_t base, int in_header)
{
	struct scan_ctx c = { w->e, m, d, n, base, in_header };

	if (m->st[i] == NULL)
		return;
	if (hs_scan_stream(m->st[i], (const char *)d, (unsigned)n, 0,
	    w->scratch, on_stream_match, &c) != HS_SUCCESS) {
		w->st.scan_errors++;
		close_stream(w, m, i);
	}
}

void
hseng_msg_data(struct hseng_worker *w, struct hseng_msg *m, const uint8_t *d,
    size_t n, int in_header)
{
	if (m == NULL || !m->active || m->ended)
		return;
	w->st.bytes += n;
	while (n > 0) {
		/* hs takes an unsigned length: feed huge chunks in pieces */
		size_t k = n > (1u << 30) ? (1u << 30) : n;
		uint64_t moff = m->hdr_len; /* used in header mode only */
		if (in_header) {
			scan_stream(w, m, RULE_SCOPE_HEADERS, d, k, moff, 1);
			scan_stream(w, m, RULE_SCOPE_DATA, d, k, moff, 1);
			count_fields(d, k, &m->after_lf, &m->nfield);
			m->hdr_len += k;
		} else {
			close_stream(w, m, RULE_SCOPE_HEADERS);
			/* body and data stream offsets differ; the callback
			 * uses base only to find `to` inside the chunk */
			scan_stream(w, m, RULE_SCOPE_BODY, d, k,
			    m->body_len, 0);
			scan_stream(w, m, RULE_SCOPE_DATA, d, k,
			    m->hdr_len + m->body_len, 0);
			m->body_len += k;
		}
		d += k;
		n -= k;
	}
}

void
hseng_msg_end(struct hseng_worker *w, struct hseng_msg *m)
{
	int i;

	if (m == NULL || !m->active || m->ended)
		return;
	for (i = 0; i < NSTREAM; i++)
		close_stream(w, m, i);
	m->ended = 1;
}

/* ---- transaction evaluation ---- */

struct ev {
	uint8_t *buf;
	size_t len;
	uint32_t seen[RULE_MAX_PATTERNS];
	unsigned nseen;
};

static void
ev_add(struct ev *v, const void *p, size_t n)
{
	if (v->len > 0 && v->len < HSENG_EVIDENCE_MAX)
		v->buf[v->len++] = '\n';
	if (n > HSENG_EVIDENCE_MAX - v->len)
		n = HSENG_EVIDENCE_MAX - v->len;
	memcpy(v->buf + v->len, p, n);
	v->len += n;
}

static void
ev_field(struct ev *v, const struct msghdr_field *f)
{
	size_t room;

	if (v->len > 0 && v->len < HSENG_EVIDENCE_MAX)
		v->buf[v->len++] = '\n';
	room = HSENG_EVIDENCE_MAX - v->len;
	if (f->name.len + 2 > room) {
		memcpy(v->buf + v->len, f->name.p, room);
		v->len += room;
		return;
	}
	memcpy(v->buf + v->len, f->name.p, f->name.len);
	v->len += f->name.len;
	memcpy(v->buf + v->len, ": ", 2);
	v->len += 2;
	room -= f->name.len + 2;
	memcpy(v->buf + v->len, f->value.p,
	    f->value.len < room ? f->value.len : room);
	v->len += f->value.len < room ? f->value.len : room;
}

/* Received fields above field index i: the hop index, or -1. */
static int
hop_of(const struct msghdr_section *h, uint32_t i)
{
	uint32_t k;
	int hop = 0;

	if (h == NULL || i >= h->nfields ||
	    !bstr_ieq(h->fields[i].name, "Received"))
		return -1;
	for (k = 0; k < i; k++)
		if (bstr_ieq(h->fields[k].name, "Received"))
			hop++;
	return hop;
}

static int
slot_matches(const struct hseng *e, const struct slot *sl,
    const uint64_t *bits)
{
	const struct rule *ru = &e->rs->rules[sl->rule];
	unsigned k;

	for (k = 0; k < sl->npat; k++)
		if (bit_get(bits, sl->pid_lo + k) == !!ru->patterns[k].negate)
			return 0;
	return 1;
}

static void
fire(struct hseng_worker *w, const struct slot *sl, struct bstr evidence,
    int hop, hseng_alert_fn cb, void *u, int *count)
{
	const struct rule *ru = &w->e->rs->rules[sl->rule];
	struct hseng_alert a;

	w->fired[sl->rule] = 1;
	a.rule = ru;
	a.scope = ru->scopes[sl->scope].kind;
	a.header = ru->scopes[sl->scope].header;
	a.evidence = evidence;
	a.hop = hop;
	w->st.alerts++;
	(*count)++;
	if (cb != NULL)
		cb(u, &a);
}

static int
on_block_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned flags, void *ctx)
{
	struct hseng_worker *w = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (id < w->e->npids)
		bit_set(w->bbits, id);
	return 0;
}

/* Scan one instance of block database d; fire its matching slots. */
static void
block_instance(struct hseng_worker *w, const struct eng_db *d, struct bstr s,
    const struct msghdr_field *f, int hop, uint32_t facts, hseng_alert_fn cb,
    void *u, int *count)
{
	const struct hseng *e = w->e;
	unsigned si;
	uint32_t i;
	int any = 0;

	for (si = d->slot_lo; si < d->slot_hi; si++) {
		const struct rule *ru = &e->rs->rules[e->slots[si].rule];
		if (!w->fired[e->slots[si].rule] && rule_condition_holds(ru, facts))
			any = 1;
	}
	if (!any)
		return;
	for (i = d->pid_lo; i < d->pid_hi; i++)
		w->bbits[i >> 6] &= ~(1ULL << (i & 63));
	if (hs_scan(d->db, s.p != NULL ? (const char *)s.p : "", s.len, 0,
	    w->scratch, on_block_match, w) != HS_SUCCESS) {
		w->st.scan_errors++;
		return;
	}
	for (si = d->slot_lo; si < d->slot_hi; si++) {
		const struct slot *sl = &e->slots[si];
		const struct rule *ru = &e->rs->rules[sl->rule];
		struct ev v = { w->ev, 0, { 0 }, 0 };
		if (w->fired[sl->rule] || !rule_condition_holds(ru, facts) ||
		    !slot_matches(e, sl, w->bbits))
			continue;
		if (f != NULL)
			ev_field(&v, f);
		else
			ev_add(&v, s.p, s.len);
		fire(w, sl, bstr_make(v.buf, v.len), hop, cb, u, count);
	}
}

static void
stream_slots(struct hseng_worker *w, struct hseng_msg *m,
    const struct msghdr_section *h, uint32_t facts, hseng_alert_fn cb,
    void *u, int *count)
{
	const struct hseng *e = w->e;
	int trust = h != NULL && h->bad_lines == 0 && h->fields_dropped == 0;
	unsigned si, k, j;

	for (si = 0; si < e->nslots; si++) {
		const struct slot *sl = &e->slots[si];
		const struct rule *ru = &e->rs->rules[sl->rule];
		struct ev v = { w->ev, 0, { 0 }, 0 };
		int hop = -1;

		if (sl->pid_lo >= e->nstream_pids)
			break;
		if (w->fired[sl->rule] || !rule_condition_holds(ru, facts) ||
		    !slot_matches(e, sl, m->bits))
			continue;
		for (k = 0; k < sl->npat; k++) {
			uint32_t pid = sl->pid_lo + k;
			uint32_t fi = m->hits[pid].field;
			if (ru->patterns[k].negate)
				continue;
			if (fi != NO_FIELD && trust && fi < h->nfields) {
				for (j = 0; j < v.nseen; j++)
					if (v.seen[j] == fi)
						break;
				if (j < v.nseen)
					continue;
				v.seen[v.nseen++] = fi;
				ev_field(&v, &h->fields[fi]);
				if (hop < 0)
					hop = hop_of(h, fi);
			} else if (m->snip_len > 0 && m->snip_pid == pid) {
				ev_add(&v, m->snip, m->snip_len);
			} else {
				ev_add(&v, ru->patterns[k].regex,
				    strlen(ru->patterns[k].regex));
			}
		}
		fire(w, sl, bstr_make(v.buf, v.len), hop, cb, u, count);
	}
}

int
hseng_tx_eval(struct hseng_worker *w, struct hseng_msg *m,
    const struct smtp_tx *tx, uint32_t facts, hseng_alert_fn cb, void *u)
{
	const struct hseng *e = w->e;
	const struct msghdr_section *h = tx != NULL ? tx->hdr : NULL;
	unsigned di;
	uint32_t i;
	int count = 0;

	memset(w->fired, 0, e->rs->nrules);
	if (m != NULL && m->active) {
		hseng_msg_end(w, m);
		stream_slots(w, m, h, facts, cb, u, &count);
		m->active = 0;
	}
	if (tx == NULL)
		return count;
	for (di = 0; di < e->ndb; di++) {
		const struct eng_db *d = &e->dbs[di];
		switch (d->kind) {
		case RULE_SCOPE_HELO:
			if (tx->has_helo)
				block_instance(w, d, tx->helo, NULL, -1, facts,
				    cb, u, &count);
			break;
		case RULE_SCOPE_MAIL_FROM:
			if (tx->has_mail_from)
				block_instance(w, d, tx->mail_from, NULL, -1,
				    facts, cb, u, &count);
			break;
		case RULE_SCOPE_RCPT_TO:
			for (i = 0; i < tx->rcpt_count; i++)
				block_instance(w, d, tx->rcpt[i].addr, NULL, -1,
				    facts, cb, u, &count);
			break;
		case RULE_SCOPE_HEADER:
			if (h == NULL)
				break;
			for (i = 0; i < h->nfields; i++) {
				const struct msghdr_field *f = &h->fields[i];
				if (f->name.len != strlen(d->header) ||
				    !bstr_ieq(f->name, d->header))
					continue;
				block_instance(w, d, f->value, f, hop_of(h, i),
				    facts, cb, u, &count);
			}
			break;
		default:
			break;
		}
	}
	return count;
}

/* 1 if the value's first token (up to ';' or WSP) equals t, caseless. */
static int
value_starts(struct bstr v, const char *t)
{
	size_t n = strlen(t), i = 0;

	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	if (v.len - i < n)
		return 0;
	if (!bstr_ieq(bstr_make(v.p + i, n), t))
		return 0;
	i += n;
	return i == v.len || v.p[i] == ';' || v.p[i] == ' ' || v.p[i] == '\t' ||
	    v.p[i] == '(';
}

uint32_t
hseng_facts_from_tx(const struct smtp_tx *tx)
{
	const struct msghdr_field *f;
	uint32_t facts = 0;

	if (tx == NULL)
		return 0;
	if (tx->has_auth)
		facts |= 1u << RULE_FACT_AUTH_ATTEMPTED;
	if (tx->has_auth && tx->auth_success == 1)
		facts |= 1u << RULE_FACT_AUTH_SUCCESS;
	if (tx->has_mail_from && tx->mail_from.len == 0)
		facts |= 1u << RULE_FACT_NULL_SENDER;
	if (tx->starttls)
		facts |= 1u << RULE_FACT_STARTTLS;
	if (tx->midstream)
		facts |= 1u << RULE_FACT_MIDSTREAM;
	if (tx->hdr != NULL) {
		f = msghdr_find(tx->hdr, "Content-Type", 0);
		if (f != NULL && value_starts(f->value, "multipart/report"))
			facts |= 1u << RULE_FACT_MULTIPART_REPORT;
		f = msghdr_find(tx->hdr, "Auto-Submitted", 0);
		if (f != NULL && !value_starts(f->value, "no"))
			facts |= 1u << RULE_FACT_AUTO_SUBMITTED;
	}
	return facts;
}
