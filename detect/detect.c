/*
 * detect.c - runs the signature engine and the chain checks on one
 * transaction and merges what they find.
 *
 * Design: the per-transaction work happens once, at tx_done, on data the
 * transaction already holds (the stored header section, the envelope, the
 * replies): the Received headers are parsed in place (no copies), checked
 * against the wire facts, and the rules' streamed state is evaluated.  The
 * result is one fixed-size struct per worker, overwritten per transaction,
 * so nothing is allocated per message beyond the Hyperscan stream state.
 * Alerts are sorted by signature id then hop, so the output order does not
 * depend on which engine found what first.
 *
 * Rejected: running the chain checks as Hyperscan rules (they compare
 * headers with each other and with the wire, which a regex cannot), and
 * building JSON here (the output module owns the event layout).
 */
#include "detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DET_MAX_SIGS 512
#define DET_RCPT_MAX 1000

struct det_sig_count {
	int sid;
	const char *name;
	uint64_t n;
};

struct det_worker {
	const struct det_global *g;
	struct hseng_worker *hs;
	struct det_result res;
	struct bstr rcpt_all[DET_RCPT_MAX];
	struct bstr rcpt_ok[DET_RCPT_MAX];
	struct det_sig_count sigs[DET_MAX_SIGS];
	unsigned nsigs;
	uint64_t sigs_dropped;
};

static struct det_alert *det_alert_new(struct det_result *r);
static void det_count(struct det_worker *w, int sid, const char *name);

struct det_global *
det_global_create(const struct det_config *cfg, char *err, size_t errlen)
{
	struct det_global *g;
	const char *files[65];
	unsigned n = 0, i;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->cfg = *cfg;
	if (cfg->default_rules != NULL)
		files[n++] = cfg->default_rules;
	for (i = 0; i < cfg->n_rule_files && n < 64; i++)
		files[n++] = cfg->rule_files[i];
	if (chain_global_init(err, errlen) != 0) {
		free(g);
		return NULL;
	}
	/* no rules, no compile: do not make the directory either */
	if ((g->hs_cache = hscache_open(n > 0 ? cfg->hs_cache_dir : NULL)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		det_global_free(g);
		return NULL;
	}
	if (n > 0) {
		g->rules = rules_load(files, n, err, errlen);
		if (g->rules == NULL) {
			det_global_free(g);
			return NULL;
		}
		g->hs = hseng_create(g->rules, g->hs_cache, err, errlen);
		if (g->hs == NULL) {
			det_global_free(g);
			return NULL;
		}
	}
	return g;
}

void
det_global_free(struct det_global *g)
{
	if (g == NULL)
		return;
	if (g->hs != NULL)
		hseng_destroy(g->hs);
	if (g->rules != NULL)
		rules_free(g->rules);
	hscache_close(g->hs_cache);
	chain_global_free();
	free(g);
}

struct det_worker *
det_worker_create(const struct det_global *g)
{
	struct det_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->g = g;
	if (g->hs != NULL) {
		w->hs = hseng_worker_create(g->hs, g->cfg.max_open_msgs ?
		    g->cfg.max_open_msgs : 65536);
		if (w->hs == NULL) {
			free(w);
			return NULL;
		}
	}
	return w;
}

void
det_worker_destroy(struct det_worker *w)
{
	if (w == NULL)
		return;
	if (w->hs != NULL)
		hseng_worker_destroy(w->hs);
	free(w);
}

size_t
det_msg_size(const struct det_global *g)
{
	return g->hs != NULL ? hseng_msg_size(g->hs) : 0;
}

struct hseng_msg *
det_msg_begin(struct det_worker *w, void *mem)
{
	return w->hs != NULL ? hseng_msg_begin(w->hs, mem) : NULL;
}

void
det_msg_data(struct det_worker *w, struct hseng_msg *m, const uint8_t *d,
    size_t n, int in_header)
{
	if (w->hs != NULL && m != NULL)
		hseng_msg_data(w->hs, m, d, n, in_header);
}

void
det_msg_end(struct det_worker *w, struct hseng_msg *m)
{
	if (w->hs != NULL && m != NULL)
		hseng_msg_end(w->hs, m);
}

int
det_cidr_match(const struct chain_cidr *c, unsigned n, int ver,
    const uint8_t *addr)
{
	unsigned i, bits, k;

	for (i = 0; i < n; i++) {
		if (c[i].ver != ver)
			continue;
		bits = c[i].prefix;
		for (k = 0; bits >= 8; k++, bits -= 8)
			if (c[i].addr[k] != addr[k])
				break;
		if (bits >= 8)
			continue;
		if (bits == 0 || ((c[i].addr[k] ^ addr[k]) &
		    (uint8_t)(0xff << (8 - bits))) == 0)
			return 1;
	}
	return 0;
}

static void
det_count(struct det_worker *w, int sid, const char *name)
{
	unsigned i;

	for (i = 0; i < w->nsigs; i++) {
		if (w->sigs[i].sid == sid) {
			w->sigs[i].n++;
			return;
		}
	}
	if (w->nsigs == DET_MAX_SIGS) {
		w->sigs_dropped++;
		return;
	}
	w->sigs[w->nsigs].sid = sid;
	w->sigs[w->nsigs].name = name;
	w->sigs[w->nsigs].n = 1;
	w->nsigs++;
}

void
det_count_alert(struct det_worker *w, int sid, const char *name)
{
	det_count(w, sid, name);
}

void
det_result_add(struct det_worker *w, int sid, const char *name,
    const char *category, int severity, int count)
{
	struct det_alert *a = det_alert_new(&w->res);

	if (count)
		det_count(w, sid, name);
	if (a == NULL)
		return;
	a->signature_id = sid;
	a->signature = name;
	a->category = category;
	a->severity = severity;
	a->hop = -1;
}

void
det_worker_alert_counts(const struct det_worker *w,
    void (*fn)(void *u, int sid, const char *name, uint64_t n), void *u)
{
	unsigned i;

	for (i = 0; i < w->nsigs; i++)
		fn(u, w->sigs[i].sid, w->sigs[i].name, w->sigs[i].n);
}

static struct det_alert *
det_alert_new(struct det_result *r)
{
	struct det_alert *a;

	if (r->n_alerts == DET_MAX_ALERTS) {
		r->n_alerts_dropped++;
		return NULL;
	}
	a = &r->alerts[r->n_alerts++];
	memset(a, 0, offsetof(struct det_alert, evidence));
	a->evidence[0] = '\0';
	a->evidence_len = 0;
	return a;
}

static void
det_set_evidence(struct det_alert *a, const void *p, size_t n)
{
	if (n > HSENG_EVIDENCE_MAX)
		n = HSENG_EVIDENCE_MAX;
	if (n > 0)
		memcpy(a->evidence, p, n);
	a->evidence[n] = '\0';
	a->evidence_len = (uint32_t)n;
}

static void
det_on_rule(void *u, const struct hseng_alert *ha)
{
	struct det_result *r = u;
	struct det_alert *a = det_alert_new(r);

	if (a == NULL)
		return;
	a->signature_id = (int)ha->rule->id;
	a->signature = ha->rule->name;
	a->category = ha->rule->category;
	a->description = ha->rule->description;
	a->severity = ha->rule->severity;
	a->hop = ha->hop;
	det_set_evidence(a, ha->evidence.p, ha->evidence.len);
}

static int
det_alert_cmp(const void *x, const void *y)
{
	const struct det_alert *a = x, *b = y;

	if (a->signature_id != b->signature_id)
		return a->signature_id < b->signature_id ? -1 : 1;
	return a->hop < b->hop ? -1 : a->hop > b->hop;
}

/* The server's name: the first word of the 220 banner. */
static struct bstr
det_server_name(const struct smtp_tx *tx)
{
	struct bstr b = tx->banner;
	uint32_t i;

	if (!tx->has_banner)
		return BSTR_NULL;
	for (i = 0; i < b.len && b.p[i] != ' ' && b.p[i] != '\t'; i++)
		;
	return bstr_make(b.p, i);
}

static int
det_bstr_ieq(struct bstr a, struct bstr b)
{
	uint32_t i;

	if (a.len != b.len || a.len == 0)
		return 0;
	for (i = 0; i < a.len; i++) {
		uint8_t x = a.p[i], y = b.p[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

/* The Authentication-Results written by the receiving site: its
 * authserv-id names the observed server or one the configuration trusts
 * (a sender can forge any other). */
static void
det_authres(struct det_worker *w, const struct smtp_tx *tx, struct bstr server,
    struct det_result *r)
{
	const struct msghdr_field *f;
	struct authres ar;
	struct bstr by = BSTR_NULL;
	unsigned i, k;

	if (r->chain.observed_hop >= 0 &&
	    (unsigned)r->chain.observed_hop < r->n_rcv)
		by = r->rcv[r->chain.observed_hop].by;
	for (i = 0; (f = msghdr_find(tx->hdr, "Authentication-Results", i)) !=
	    NULL && i < 32; i++) {
		int ok;

		if (authres_parse(f->value, &ar) != 0)
			continue;
		ok = det_bstr_ieq(ar.authserv_id, server) ||
		    det_bstr_ieq(ar.authserv_id, by);
		for (k = 0; !ok && k < w->g->cfg.n_authserv_ids; k++)
			ok = det_bstr_ieq(ar.authserv_id,
			    bstr_cstr(w->g->cfg.authserv_ids[k]));
		if (ok) {
			r->ar = ar;
			r->has_authres = 1;
			return;
		}
	}
}

const struct det_result *
det_tx(struct det_worker *w, const struct smtp_tx *tx, struct hseng_msg *m,
    const struct det_wire *wire)
{
	struct det_result *r = &w->res;
	const struct msghdr_field *f;
	struct mail_date date;
	struct chain_wire cw;
	struct bstr server = det_server_name(tx);
	uint32_t facts;
	unsigned i, nall = 0, nok = 0;
	int have_date = 0;

	r->n_rcv = r->n_rcv_total = 0;
	r->n_alerts = r->n_alerts_dropped = 0;
	r->has_authres = 0;
	/* chain_check clears the whole 33 KB result itself; without a header
	 * section it is not called, so only what readers look at is reset */
	r->chain.n_alerts = 0;
	memset(&r->chain.origin, 0, sizeof(r->chain.origin));
	memset(&r->chain.injection, 0, sizeof(r->chain.injection));
	r->chain.origin.hop = r->chain.injection.hop = -1;
	r->chain.observed_hop = -1;

	if (tx->hdr != NULL) {
		while ((f = msghdr_find(tx->hdr, "Received", r->n_rcv_total)) !=
		    NULL) {
			if (r->n_rcv < DET_MAX_HOPS)
				received_parse(NULL, f->value,
				    &r->rcv[r->n_rcv++]);
			r->n_rcv_total++;
		}
		f = msghdr_find(tx->hdr, "Date", 0);
		if (f != NULL && mail_date_parse(f->value, &date) == 0 &&
		    date.valid)
			have_date = 1;

		memset(&cw, 0, sizeof(cw));
		cw.client_ver = wire->ipver;
		memcpy(cw.client_ip, wire->client_ip, 16);
		memcpy(cw.server_ip, wire->server_ip, 16);
		cw.helo = tx->has_helo ? tx->helo : BSTR_NULL;
		cw.server_name = server;
		cw.queue_id = tx->queue_id;
		for (i = 0; tx->rcpt != NULL && i < tx->rcpt_count &&
		    i < DET_RCPT_MAX; i++) {
			w->rcpt_all[nall++] = tx->rcpt[i].addr;
			if (tx->rcpt[i].code >= 200 && tx->rcpt[i].code < 300)
				w->rcpt_ok[nok++] = tx->rcpt[i].addr;
		}
		cw.rcpt_all = w->rcpt_all;
		cw.n_rcpt_all = nall;
		cw.rcpt_accepted = w->rcpt_ok;
		cw.n_rcpt_accepted = nok;
		cw.authenticated = tx->has_auth && tx->auth_success == 1;
		cw.capture_time = (int64_t)(tx->ts_us / 1000000u);
		chain_check(&w->g->cfg.chain, r->rcv, r->n_rcv,
		    have_date ? &date : NULL, &cw, &r->chain);
		det_authres(w, tx, server, r);
		for (i = 0; i < r->chain.n_alerts; i++) {
			const struct chain_alert *ca = &r->chain.alerts[i];
			struct det_alert *a = det_alert_new(r);

			if (a == NULL)
				break;
			a->signature_id = ca->signature_id;
			a->signature = ca->signature;
			a->category = ca->category;
			a->description = NULL;
			a->severity = ca->severity;
			a->hop = ca->hop;
			a->nat = ca->nat;
			memcpy(a->detail, ca->detail, sizeof(a->detail));
			det_set_evidence(a, ca->evidence, ca->evidence_len);
		}
	}
	if (w->hs != NULL) {
		facts = hseng_facts_from_tx(tx);
		if (wire->client_in_home_net)
			facts |= 1u << RULE_FACT_CLIENT_IN_HOME_NET;
		if (wire->server_in_home_net)
			facts |= 1u << RULE_FACT_SERVER_IN_HOME_NET;
		hseng_tx_eval(w->hs, m, tx, facts, det_on_rule, r);
	}
	if (r->n_alerts > 1)        /* glibc's qsort costs ~14k even for none */
		qsort(r->alerts, r->n_alerts, sizeof(r->alerts[0]),
		    det_alert_cmp);
	for (i = 0; i < r->n_alerts; i++)
		det_count(w, r->alerts[i].signature_id, r->alerts[i].signature);
	return r;
}
