/*
 * test_relay.c - open-relay judgement (1301, 1303, 1305, 1401, 1402) on
 * hand-built transactions, and 1302 correlation with one worker and with
 * three worker threads exchanging records over the bus (both orders),
 * window expiry and table caps.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/msghdr.h"
#include "decode/pool.h"
#include "detect/relay.h"
#include "tests/unit/check.h"

/* per thread: each worker thread of the bus tests builds its own txs */
static __thread struct pool *blocks;
static __thread struct arena arena;

static const struct msghdr_section *
mkhdr(const char *text)
{
	struct msghdr_section *h = arena_alloc(&arena, sizeof(*h));
	struct msghdr_config mc = { 0, 0 };

	msghdr_init(h, &arena, &mc);
	msghdr_feed(h, (const uint8_t *)text, strlen(text));
	msghdr_finish(h);
	return h;
}

struct txb {
	struct smtp_tx tx;
	struct smtp_rcpt rcpt[8];
};

static struct bstr
B(const char *s)
{
	return bstr_cstr(s);
}

/* rcpts: "addr=code" separated by spaces */
static void
mktx(struct txb *t, const char *banner, const char *helo, const char *from,
    const char *rcpts, const char *hdr, uint64_t data_bytes)
{
	char *list, *save = NULL, *tok;

	memset(t, 0, sizeof(*t));
	t->tx.ts_us = 1000000;
	if (banner != NULL) {
		t->tx.banner = B(banner);
		t->tx.has_banner = 1;
	}
	t->tx.helo = B(helo);
	t->tx.helo_cmd = B("EHLO");
	t->tx.has_helo = 1;
	t->tx.auth_success = -1;
	t->tx.has_mail_from = 1;
	t->tx.mail_from = B(from);
	t->tx.rcpt = t->rcpt;
	list = arena_strndup(&arena, rcpts, strlen(rcpts));
	for (tok = strtok_r(list, " ", &save); tok != NULL && t->tx.rcpt_count < 8;
	    tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		*eq = '\0';
		t->rcpt[t->tx.rcpt_count].addr = B(tok);
		t->rcpt[t->tx.rcpt_count].code = atoi(eq + 1);
		t->tx.rcpt_count++;
	}
	t->tx.rcpt_total = t->tx.rcpt_count;
	if (hdr != NULL) {
		t->tx.hdr = mkhdr(hdr);
		t->tx.has_data = 1;
		t->tx.data_bytes = data_bytes;
	}
	t->tx.last_reply = B("250 2.0.0 Ok");
}

static void
ip4(uint8_t *dst, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(dst, 0, 16);
	dst[0] = a;
	dst[1] = b;
	dst[2] = c;
	dst[3] = d;
}

/* external client 203.0.113.5 -> server 192.0.2.10 (home_net 192.0.2/24) */
static struct relay_wire
wire_ext(void)
{
	struct relay_wire w;

	memset(&w, 0, sizeof(w));
	w.ipver = 4;
	ip4(w.client_ip, 203, 0, 113, 5);
	ip4(w.server_ip, 192, 0, 2, 10);
	w.client_port = 40000;
	w.server_port = 25;
	w.server_in_home_net = 1;
	w.flow_id = 1;
	w.ts_us = 1000000;
	return w;
}

static struct chain_cidr home[1];
static char *locals[] = { "example.com" };
static char *corp_doms[] = { "corp.example" };
static struct relay_server_domains srvdom[1];

static void
cfg_base(struct relay_config *c, int with_locals)
{
	memset(c, 0, sizeof(*c));
	home[0].ver = 4;
	ip4(home[0].addr, 192, 0, 2, 0);
	home[0].prefix = 24;
	c->home_net = home;
	c->n_home_net = 1;
	if (with_locals) {
		c->local_domains = locals;
		c->n_local_domains = 1;
	}
}

static int
count_sid(const struct relay_result *r, int sid)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < r->n_alerts; i++)
		n += r->alerts[i].signature_id == sid;
	return n;
}

static const struct relay_alert *
find_sid(const struct relay_result *r, int sid)
{
	unsigned i;

	for (i = 0; i < r->n_alerts; i++)
		if (r->alerts[i].signature_id == sid)
			return &r->alerts[i];
	return NULL;
}

static void
test_1301(void)
{
	struct relay_config cfg;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_wire wi = wire_ext();
	struct txb t;
	const struct relay_alert *a;
	int i;

	cfg_base(&cfg, 1);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);
	CHECK(w != NULL);

	mktx(&t, "mx.example.com ESMTP", "mail.sender.org", "a@sender.org",
	    "victim@foreign.org=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	a = find_sid(&r, 1301);
	CHECK(a != NULL && a->has_relay);
	if (a != NULL) {
		CHECK(strcmp(a->relay.foreign_rcpt, "victim@foreign.org") == 0);
		CHECK(strcmp(a->relay.local_domains_assumed, "") == 0);
		CHECK(strcmp(a->category, "open-relay") == 0);
		CHECK_EQ_INT(a->severity, 1);
		CHECK_EQ_INT(a->relay.ipver, 4);
		CHECK_EQ_INT(a->relay.server_ip[3], 10);
		CHECK_EQ_INT(a->relay.client_ip[3], 5);
		CHECK_EQ_INT(a->relay.confirmed, 0);
		CHECK(strstr(a->evidence, "victim@foreign.org> 250") != NULL);
	}

	/* relaying denied */
	mktx(&t, "mx.example.com ESMTP", "mail.sender.org", "a@sender.org",
	    "victim@foreign.org=554", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);

	/* authenticated submission on 587 */
	mktx(&t, "mx.example.com ESMTP", "laptop", "me@example.com",
	    "friend@foreign.org=250", NULL, 0);
	t.tx.has_auth = 1;
	t.tx.auth_success = 1;
	t.tx.auth_mech = B("PLAIN");
	wi.server_port = 587;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	/* failed AUTH does not excuse it */
	t.tx.auth_success = 0;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	wi.server_port = 25;

	/* client inside home_net */
	wi.client_in_home_net = 1;
	mktx(&t, "mx.example.com ESMTP", "ws1", "me@example.com",
	    "friend@foreign.org=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	wi.client_in_home_net = 0;

	/* local recipient, subdomain of a local domain, case */
	mktx(&t, NULL, "mail.sender.org", "a@sender.org",
	    "bob@example.com=250 eve@Mail.EXAMPLE.com=250 postmaster=250",
	    NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	/* lookalike is not a subdomain */
	mktx(&t, NULL, "mail.sender.org", "a@sender.org",
	    "bob@badexample.com=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	relay_worker_destroy(w);

	/* per-server configured domains */
	cfg_base(&cfg, 0);
	srvdom[0].server.ver = 4;
	ip4(srvdom[0].server.addr, 10, 0, 0, 0);
	srvdom[0].server.prefix = 8;
	srvdom[0].domains = corp_doms;
	srvdom[0].n_domains = 1;
	cfg.servers = srvdom;
	cfg.n_servers = 1;
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);
	ip4(wi.server_ip, 10, 1, 1, 1);
	mktx(&t, "mx.example.com ESMTP", "h.sender.org", "a@sender.org",
	    "x@corp.example=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	mktx(&t, "mx.example.com ESMTP", "h.sender.org", "a@sender.org",
	    "x@example.com=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	a = find_sid(&r, 1301);
	CHECK(a != NULL && a->relay.local_domains_assumed[0] == '\0');
	relay_worker_destroy(w);

	/* assumed from the banner */
	cfg_base(&cfg, 0);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);
	ip4(wi.server_ip, 192, 0, 2, 10);
	mktx(&t, "mx1.mail.example.co.uk ESMTP Postfix", "h.sender.org",
	    "a@sender.org", "v@other.org=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	a = find_sid(&r, 1301);
	CHECK(a != NULL &&
	    strcmp(a->relay.local_domains_assumed, "example.co.uk") == 0);
	mktx(&t, "mx1.mail.example.co.uk ESMTP Postfix", "h.sender.org",
	    "a@sender.org", "v@sales.example.co.uk=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	/* banner that is an address: no assumption, no judgement */
	mktx(&t, "[192.0.2.10] ESMTP", "h.sender.org", "a@sender.org",
	    "v@other.org=250", NULL, 0);
	ip4(wi.server_ip, 192, 0, 2, 99);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);

	/* learned: five accepted RCPTs for learned.org, then a foreign one */
	for (i = 0; i < 5; i++) {
		mktx(&t, NULL, "h.sender.org", "a@sender.org",
		    "u@learned.org=250", NULL, 0);
		relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
		CHECK_EQ_INT(count_sid(&r, 1301), 0);
	}
	mktx(&t, NULL, "h.sender.org", "a@sender.org", "u@foreign.net=250",
	    NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	a = find_sid(&r, 1301);
	CHECK(a != NULL &&
	    strcmp(a->relay.local_domains_assumed, "learned.org") == 0);
	/* the foreign domain judged foreign is not learned */
	for (i = 0; i < 6; i++) {
		relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
		CHECK_EQ_INT(count_sid(&r, 1301), 1);
	}
	mktx(&t, NULL, "h.sender.org", "a@sender.org", "u@learned.org=250",
	    NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	relay_worker_destroy(w);
}

static void
test_1303(void)
{
	struct relay_config cfg;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_wire wi = wire_ext();
	struct txb t;
	const struct relay_alert *a;

	cfg_base(&cfg, 1);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);

	/* IP literal HELO, refused probe without DATA */
	mktx(&t, "mx.example.com ESMTP", "[198.51.100.9]", "x@spam1.test",
	    "y@victim2.org=550", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 1);
	CHECK_EQ_INT(count_sid(&r, 1301), 0);
	a = find_sid(&r, 1303);
	CHECK(a != NULL && strstr(a->evidence, "HELO literal") != NULL);
	CHECK(a != NULL && a->severity == 2);

	/* test word HELO, tiny accepted message */
	mktx(&t, "mx.example.com ESMTP", "relaytest", "x@spam1.test",
	    "y@victim2.org=250", "Subject: test\r\n\r\n", 40);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 1);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);

	/* normal HELO but tiny message */
	mktx(&t, "mx.example.com ESMTP", "mail.spam1.test", "x@spam1.test",
	    "y@victim2.org=250", "Subject: t\r\n\r\n", 100);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 1);

	/* ordinary inbound mail to a local recipient */
	mktx(&t, "mx.example.com ESMTP", "[198.51.100.9]", "x@spam1.test",
	    "bob@example.com=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	/* one local recipient among foreign ones */
	mktx(&t, "mx.example.com ESMTP", "test", "x@spam1.test",
	    "y@victim2.org=250 bob@example.com=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	/* sender and recipient in the same foreign domain */
	mktx(&t, "mx.example.com ESMTP", "test", "x@victim2.org",
	    "y@mail.victim2.org=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	/* normal HELO and a real message */
	mktx(&t, "mx.example.com ESMTP", "mail.spam1.test", "x@spam1.test",
	    "y@victim2.org=250", "Subject: t\r\n\r\n", 5000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	/* internal client */
	wi.client_in_home_net = 1;
	mktx(&t, "mx.example.com ESMTP", "test", "x@spam1.test",
	    "y@victim2.org=250", NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	wi.client_in_home_net = 0;
	/* null sender */
	mktx(&t, "mx.example.com ESMTP", "test", "", "y@victim2.org=250",
	    NULL, 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1303), 0);
	relay_worker_destroy(w);
}

static void
test_1305(void)
{
	struct relay_config cfg;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_wire wi = wire_ext();
	struct txb t;
	uint32_t id;
	int fired = 0;

	cfg_base(&cfg, 1);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);
	mktx(&t, "mx.example.com ESMTP", "h.sender.org", "a@sender.org",
	    "bob@example.com=250", NULL, 0);
	t.tx.rcpt_total = 51;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1305), 1);
	CHECK(strstr(find_sid(&r, 1305)->evidence, "51 RCPT") != NULL);
	t.tx.rcpt_total = 50;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1305), 0);
	/* configured limit */
	cfg.bulk_rcpt_limit = 10;
	t.tx.rcpt_total = 11;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1305), 1);
	cfg.bulk_rcpt_limit = 0;
	/* session variant: exactly once, at the 21st transaction */
	t.tx.rcpt_total = 1;
	for (id = 0; id < 40; id++) {
		t.tx.tx_id = id;
		relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
		fired += count_sid(&r, 1305);
		if (id == 20)
			CHECK_EQ_INT(count_sid(&r, 1305), 1);
	}
	CHECK_EQ_INT(fired, 1);
	/* inside home_net */
	wi.client_in_home_net = 1;
	t.tx.tx_id = 20;
	t.tx.rcpt_total = 500;
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1305), 0);
	relay_worker_destroy(w);
}

static void
mkdet(struct det_result *d, const char *spf, const char *dkim,
    const char *dmarc, int sid)
{
	memset(d, 0, sizeof(*d));
	d->has_authres = 1;
	strcpy(d->ar.spf, spf);
	strcpy(d->ar.dkim, dkim);
	strcpy(d->ar.dmarc, dmarc);
	if (sid != 0) {
		d->alerts[0].signature_id = sid;
		d->n_alerts = 1;
	}
}

static void
test_1401(void)
{
	static struct det_result d;
	struct relay_config cfg;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_wire wi = wire_ext();
	struct txb t;
	const char *bec =
	    "Received: from adsl-1-2-3-4.someisp.net ([1.2.3.4])\r\n"
	    "From: CEO <ceo@example.com>\r\nSubject: wire\r\n"
	    "Message-ID: <bec1@relay.somecloud.com>\r\n\r\n";

	cfg_base(&cfg, 1);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);

	/* spf=fail dmarc=fail and the message was relayed here (1301) */
	mkdet(&d, "fail", "fail", "fail", 0);
	mktx(&t, "mx.example.com ESMTP", "mail-relay.somecloud.com",
	    "x@somecloud.com", "victim@foreign.org=250", bec, 3000);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1301), 1);
	CHECK_EQ_INT(count_sid(&r, 1401), 1);
	CHECK(strstr(find_sid(&r, 1401)->evidence, "spf=fail") != NULL);
	CHECK(strcmp(find_sid(&r, 1401)->category, "authentication") == 0);

	/* BEC residential origin: 1110 in det, softfail, dkim absent,
	 * From domain unlike MAIL FROM */
	mkdet(&d, "softfail", "", "", 1110);
	mktx(&t, "mx.example.com ESMTP", "mail-relay.somecloud.com",
	    "x@somecloud.com", "cfo@example.com=250", bec, 3000);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 1);
	/* 1109 in the chain alerts counts as well */
	mkdet(&d, "permerror", "none", "fail", 0);
	d.chain.alerts[0].signature_id = 1109;
	d.chain.n_alerts = 1;
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 1);

	/* no relay sign */
	mkdet(&d, "fail", "fail", "fail", 0);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	/* SPF passes */
	mkdet(&d, "pass", "fail", "fail", 1110);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	/* DKIM passes, no DMARC failure */
	mkdet(&d, "fail", "pass", "", 1110);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	/* DKIM absent but From aligned with MAIL FROM */
	mkdet(&d, "fail", "", "", 1110);
	mktx(&t, "mx.example.com ESMTP", "mail-relay.somecloud.com",
	    "x@bounce.example.com", "cfo@example.com=250", bec, 3000);
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	/* no Authentication-Results of the receiving site */
	mkdet(&d, "fail", "fail", "fail", 1110);
	d.has_authres = 0;
	relay_tx(&cfg, w, &t.tx, &d, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1401), 0);
	relay_worker_destroy(w);
}

static void
test_1402(void)
{
	struct relay_config cfg;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_wire wi = wire_ext();
	struct txb t;
	const struct relay_alert *a;

	cfg_base(&cfg, 1);
	w = relay_worker_create(&cfg, NULL, 0, NULL, NULL);
	mktx(&t, "mx.example.com ESMTP", "mail.other.org", "x@spammer.net",
	    "bob@example.com=250",
	    "From: \"CEO\" <ceo@bigcorp.com>\r\nSubject: s\r\n\r\n", 2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 1);
	a = find_sid(&r, 1402);
	CHECK(a != NULL && strstr(a->evidence, "ceo@bigcorp.com") != NULL);
	CHECK(a != NULL && a->severity == 3);

	/* mailing list */
	mktx(&t, "mx.example.com ESMTP", "mail.other.org", "x@spammer.net",
	    "bob@example.com=250",
	    "From: ceo@bigcorp.com\r\nList-Id: <l.lists.org>\r\n\r\n", 2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 0);
	/* bounce */
	mktx(&t, "mx.example.com ESMTP", "mail.other.org", "",
	    "bob@example.com=250", "From: MAILER-DAEMON@bigcorp.com\r\n\r\n",
	    2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 0);
	/* From aligned with HELO */
	mktx(&t, "mx.example.com ESMTP", "out1.bigcorp.com", "x@spammer.net",
	    "bob@example.com=250", "From: ceo@bigcorp.com\r\n\r\n", 2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 0);
	/* From aligned with MAIL FROM at the registered domain */
	mktx(&t, "mx.example.com ESMTP", "mail.other.org",
	    "b@bounce.bigcorp.com", "bob@example.com=250",
	    "From: news@news.BigCorp.com\r\n\r\n", 2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 0);
	/* internal client */
	wi.client_in_home_net = 1;
	mktx(&t, "mx.example.com ESMTP", "mail.other.org", "x@spammer.net",
	    "bob@example.com=250", "From: ceo@bigcorp.com\r\n\r\n", 2000);
	relay_tx(&cfg, w, &t.tx, NULL, &wi, &r);
	CHECK_EQ_INT(count_sid(&r, 1402), 0);
	relay_worker_destroy(w);
}

/* ---- 1302 ---- */

#define MAXC 16

struct sink {
	struct relay_confirmed c[MAXC];
	struct relay_txctx ctx[MAXC];        /* c[i].ctx points here */
	int n;
};

static void
on_confirm(void *u, const struct relay_confirmed *c)
{
	struct sink *s = u;

	if (s->n < MAXC) {
		s->c[s->n] = *c;
		if (c->ctx != NULL) {
			s->ctx[s->n] = *c->ctx;
			s->c[s->n].ctx = &s->ctx[s->n];
		}
	}
	s->n++;
}

/* One scripted transaction of the correlation tests. */
struct step {
	int kind;            /* 0 inbound to S, 1 outbound from S, 2 other */
	uint64_t ts_s;
	uint64_t flow;
	const char *msgid;   /* NULL: no Message-ID */
	uint64_t digest;
	int dest_home;       /* outbound destination inside home_net */
};

static const char *S_BANNER = "mx.example.com ESMTP";

static void
run_step(const struct relay_config *cfg, struct relay_worker *w,
    const struct step *s, struct relay_result *r)
{
	struct txb t;
	struct relay_wire wi = wire_ext();
	char hdr[256];

	arena_reset(&arena);                 /* each step stands alone */
	if (s->msgid != NULL)
		snprintf(hdr, sizeof(hdr), "From: a@sender.org\r\n"
		    "Message-ID: %s\r\n\r\n", s->msgid);
	else
		snprintf(hdr, sizeof(hdr), "From: a@sender.org\r\n\r\n");
	wi.flow_id = s->flow;
	wi.ts_us = s->ts_s * 1000000u;
	wi.body_digest = s->digest;
	if (s->kind == 0) {
		mktx(&t, S_BANNER, "mail.sender.org", "a@sender.org",
		    "victim@gmail.test=250", hdr, 3000);
	} else if (s->kind == 1) {
		/* the server 192.0.2.10 as a client towards 198.51.100.7 */
		mktx(&t, "mx.gmail.test ESMTP", "mx.example.com",
		    "a@sender.org", "victim@gmail.test=250", hdr, 3000);
		ip4(wi.client_ip, 192, 0, 2, 10);
		wi.client_port = 51000;
		if (s->dest_home)
			ip4(wi.server_ip, 192, 0, 2, 20);
		else
			ip4(wi.server_ip, 198, 51, 100, 7);
		wi.client_in_home_net = 1;
		wi.server_in_home_net = s->dest_home;
	} else {
		mktx(&t, S_BANNER, "mail.sender.org", "a@sender.org",
		    "bob@example.com=250", hdr, 3000);
		ip4(wi.client_ip, 203, 0, 113, 77);
	}
	t.tx.ts_us = wi.ts_us;
	relay_tx(cfg, w, &t.tx, NULL, &wi, r);
}

static void
check_confirm(const struct relay_confirmed *c, uint64_t in_flow,
    uint64_t out_flow, double delay)
{
	CHECK_EQ_INT(c->alert.signature_id, 1302);
	CHECK(strcmp(c->alert.signature, "RELAY_CONFIRMED") == 0);
	CHECK(c->alert.has_relay && c->alert.relay.confirmed == 1);
	CHECK_EQ_INT(c->flow_id, in_flow);
	CHECK_EQ_INT(c->alert.relay.outbound_flow_id, out_flow);
	CHECK_EQ_INT(c->alert.relay.outbound_dest_ip[0], 198);
	CHECK_EQ_INT(c->alert.relay.outbound_dest_ip[3], 7);
	CHECK_EQ_INT(c->alert.relay.server_ip[3], 10);
	CHECK_EQ_INT(c->alert.relay.client_ip[3], 5);
	CHECK(c->alert.relay.delay_s > delay - 1e-6 &&
	    c->alert.relay.delay_s < delay + 1e-6);
	CHECK(strcmp(c->alert.relay.foreign_rcpt, "victim@gmail.test") == 0);
	CHECK_EQ_INT(c->client_port, 40000);
	CHECK_EQ_INT(c->server_port, 25);
	CHECK(c->alert.evidence_len > 0);
	/* the inbound transaction's fields, for the event */
	CHECK(c->ctx != NULL);
	if (c->ctx == NULL)
		return;
	CHECK(c->ctx->has_mail_from && c->ctx->mail_from_len == 12 &&
	    memcmp(c->ctx->mail_from, "a@sender.org", 12) == 0);
	CHECK_EQ_INT(c->ctx->rcpt_count, 1);
	CHECK_EQ_INT(c->ctx->rcpt_stored, 1);
	CHECK(c->ctx->rcpts_len == 19 && c->ctx->rcpts[0] == 17 &&
	    memcmp(c->ctx->rcpts + 2, "victim@gmail.test", 17) == 0);
	CHECK(c->ctx->has_hdr && !c->ctx->has_subject);
}

/* One leg of a proxy tunnel test: tunnel (client -> proxy 192.0.2.80:3128,
 * CONNECT 198.51.100.7:25) or the proxy's own leg to 198.51.100.7:port. */
static void
tunnel_step(struct relay_worker *w, const struct relay_config *cfg,
    int tunnel, double ts_s, uint64_t flow, const char *mid, uint16_t port)
{
	struct txb t;
	struct relay_wire wi = wire_ext();
	struct relay_result r;
	char hdr[128];

	arena_reset(&arena);
	snprintf(hdr, sizeof(hdr), "From: a@sender.org\r\nMessage-ID: %s\r\n"
	    "\r\n", mid);
	mktx(&t, "mx.target.test ESMTP", "pc.sender.org", "a@sender.org",
	    "u@example.com=250", hdr, 100);
	wi.flow_id = flow;
	wi.ts_us = (uint64_t)(ts_s * 1e6);
	t.tx.ts_us = wi.ts_us;
	if (tunnel) {
		ip4(wi.server_ip, 192, 0, 2, 80);
		wi.server_port = 3128;
		wi.tunnel = 1;
		wi.tunnel_port = 25;
		wi.tunnel_has_ip = 1;
		ip4(wi.tunnel_ip, 198, 51, 100, 7);
	} else {
		ip4(wi.client_ip, 192, 0, 2, 80);
		wi.client_port = 50000;
		ip4(wi.server_ip, 198, 51, 100, 7);
		wi.server_port = port;
		wi.client_in_home_net = 1;
		wi.server_in_home_net = 0;
	}
	relay_tx(cfg, w, &t.tx, NULL, &wi, &r);
	relay_worker_tick(w, wi.ts_us);
}

/* A tunnelled transaction is linked to the proxy's own leg (1304 with
 * relay.confirmed) in either order within the slack, and only to it. */
static void
test_tunnel_link(void)
{
	struct relay_config cfg;
	struct relay_worker *w;
	struct sink sk;
	struct relay_stats st;

	cfg_base(&cfg, 1);
	memset(&sk, 0, sizeof(sk));
	w = relay_worker_create(&cfg, NULL, 0, on_confirm, &sk);
	/* the proxy's leg completes first (the usual order) */
	tunnel_step(w, &cfg, 0, 999.9, 20, "<t1@x>", 25);
	tunnel_step(w, &cfg, 1, 1000.0, 10, "<t1@x>", 0);
	CHECK_EQ_INT(sk.n, 1);
	if (sk.n == 1) {
		const struct relay_confirmed *c = &sk.c[0];
		CHECK_EQ_INT(c->alert.signature_id, 1304);
		CHECK(c->alert.relay.confirmed);
		CHECK_EQ_INT(c->flow_id, 10);
		CHECK_EQ_INT(c->alert.relay.outbound_flow_id, 20);
		CHECK_EQ_INT(c->alert.relay.server_ip[3], 80);
		CHECK_EQ_INT(c->alert.relay.outbound_dest_ip[3], 7);
		CHECK(c->alert.relay.delay_s > 0.09 && c->alert.relay.delay_s < 0.11);
		CHECK(c->ctx != NULL && c->ctx->has_message_id);
	}
	/* tunnel first, leg 5 s later */
	tunnel_step(w, &cfg, 1, 2000, 11, "<t2@x>", 0);
	tunnel_step(w, &cfg, 0, 2005, 21, "<t2@x>", 25);
	CHECK_EQ_INT(sk.n, 2);
	/* beyond the slack, another port, another message: no link */
	tunnel_step(w, &cfg, 1, 3000, 12, "<t3@x>", 0);
	tunnel_step(w, &cfg, 0, 3011, 22, "<t3@x>", 25);
	tunnel_step(w, &cfg, 1, 4000, 13, "<t4@x>", 0);
	tunnel_step(w, &cfg, 0, 4000.5, 23, "<t4@x>", 587);
	tunnel_step(w, &cfg, 1, 5000, 14, "<t5@x>", 0);
	tunnel_step(w, &cfg, 0, 5000.5, 24, "<t6@x>", 25);
	CHECK_EQ_INT(sk.n, 2);
	relay_worker_stats(w, &st);
	CHECK_EQ_INT(st.tunnels_linked, 2);
	CHECK_EQ_INT(st.confirmed, 0);
	relay_worker_destroy(w);
}

/* relay_txctx_fill cuts long values and keeps whole addresses only. */
static void
test_txctx(void)
{
	struct txb t;
	struct relay_txctx c;
	char from[600], hdr[1200];
	char rcpts[1024];
	size_t off = 0;
	int i;

	memset(from, 'f', sizeof(from));
	memcpy(from + 590, "@x.test", 8);
	for (i = 0; i < 8; i++)
		off += (size_t)snprintf(rcpts + off, sizeof(rcpts) - off,
		    "%s%0100d@r.test=250", i ? " " : "", i);
	snprintf(hdr, sizeof(hdr), "Subject: %0400d\r\nMessage-ID: <m@x>\r\n"
	    "\r\n", 7);
	mktx(&t, S_BANNER, "h.test", from, rcpts, hdr, 10);
	relay_txctx_fill(&c, &t.tx);
	CHECK_EQ_INT(c.mail_from_len, RELAY_CTX_STR);
	CHECK_EQ_INT(c.rcpt_count, 8);
	CHECK_EQ_INT(c.rcpt_stored, 4);      /* 4 x (2 + 107) fit in 500 */
	CHECK_EQ_INT(c.rcpts_len, 4 * 109);
	CHECK(c.has_subject && c.subject_len == RELAY_CTX_STR);
	CHECK(c.has_message_id && c.message_id_len == 5 &&
	    memcmp(c.message_id, "<m@x>", 5) == 0);
	mktx(&t, NULL, "h.test", "", "a@b=250", NULL, 0);
	t.tx.has_mail_from = 0;
	relay_txctx_fill(&c, &t.tx);
	CHECK(!c.has_mail_from && !c.has_hdr && c.rcpt_stored == 1);
}

/* 1 worker, steps in order; returns the sink. */
static void
run_one(const struct relay_config *cfg, const struct step *st, int n,
    struct sink *sk)
{
	struct relay_worker *w;
	struct relay_result r;
	int i;

	memset(sk, 0, sizeof(*sk));
	w = relay_worker_create(cfg, NULL, 0, on_confirm, sk);
	for (i = 0; i < n; i++) {
		run_step(cfg, w, &st[i], &r);
		relay_worker_tick(w, st[i].ts_s * 1000000u);
	}
	relay_worker_finish(w);
	relay_worker_destroy(w);
}

static void
test_1302_one(void)
{
	struct relay_config cfg;
	struct sink sk;
	struct relay_worker *w;
	struct relay_result r;
	struct relay_stats st;
	int i;

	cfg_base(&cfg, 1);
	{
		struct step s[] = {
			{ 0, 1000, 101, "<abc@x>", 0, 0 },
			{ 2, 1003, 150, "<other@x>", 0, 0 },
			{ 1, 1010, 202, "<abc@x>", 0, 0 },
		};
		run_one(&cfg, s, 3, &sk);
		CHECK_EQ_INT(sk.n, 1);
		if (sk.n == 1)
			check_confirm(&sk.c[0], 101, 202, 10.0);
	}
	{	/* no Message-ID inbound; the relay added one: body digest */
		struct step s[] = {
			{ 0, 1000, 101, NULL, 0x1234, 0 },
			{ 1, 1010, 202, "<added@relay>", 0x1234, 0 },
		};
		run_one(&cfg, s, 2, &sk);
		CHECK_EQ_INT(sk.n, 1);
		if (sk.n == 1)
			CHECK(strstr(sk.c[0].alert.evidence, "body digest") != NULL);
	}
	{	/* different Message-IDs, same body: not the same message */
		struct step s[] = {
			{ 0, 1000, 101, "<a@x>", 0x1234, 0 },
			{ 1, 1010, 202, "<b@x>", 0x1234, 0 },
		};
		run_one(&cfg, s, 2, &sk);
		CHECK_EQ_INT(sk.n, 0);
	}
	{	/* local mailbox host inside home_net */
		struct step s[] = {
			{ 0, 1000, 101, "<abc@x>", 0, 0 },
			{ 1, 1010, 202, "<abc@x>", 0, 1 },
		};
		run_one(&cfg, s, 2, &sk);
		CHECK_EQ_INT(sk.n, 0);
	}
	{	/* window: 3600 s default; 3601 s later is too late */
		struct step s[] = {
			{ 0, 1000, 101, "<abc@x>", 0, 0 },
			{ 1, 4600, 202, "<abc@x>", 0, 0 },
			{ 0, 5000, 103, "<def@x>", 0, 0 },
			{ 1, 8601, 204, "<def@x>", 0, 0 },
		};
		run_one(&cfg, s, 4, &sk);
		CHECK_EQ_INT(sk.n, 1);
		if (sk.n == 1)
			check_confirm(&sk.c[0], 101, 202, 3600.0);
	}
	{	/* outbound before inbound in packet time: no match */
		struct step s[] = {
			{ 1, 1000, 202, "<abc@x>", 0, 0 },
			{ 0, 1001, 101, "<abc@x>", 0, 0 },
		};
		run_one(&cfg, s, 2, &sk);
		CHECK_EQ_INT(sk.n, 0);
	}
	{	/* relayed to two hosts: one 1302 per outbound flow */
		struct step s[] = {
			{ 0, 1000, 101, "<abc@x>", 0, 0 },
			{ 1, 1010, 202, "<abc@x>", 0, 0 },
			{ 1, 1011, 203, "<abc@x>", 0, 0 },
		};
		run_one(&cfg, s, 3, &sk);
		CHECK_EQ_INT(sk.n, 2);
	}

	/* expiry by packet time and the record cap */
	cfg.correlation_window = 60;
	cfg.max_records = 4;
	memset(&sk, 0, sizeof(sk));
	w = relay_worker_create(&cfg, NULL, 0, on_confirm, &sk);
	for (i = 0; i < 6; i++) {
		char mid[32];
		struct step s = { 0, 1000 + (uint64_t)i, 300 + (uint64_t)i,
		    mid, 0, 0 };
		snprintf(mid, sizeof(mid), "<cap%d@x>", i);
		run_step(&cfg, w, &s, &r);
		CHECK_EQ_INT(count_sid(&r, 1301), 1);
	}
	relay_worker_stats(w, &st);
	CHECK_EQ_INT(st.inbound_in_table, 4);
	CHECK_EQ_INT(st.evicted, 2);
	{
		struct step s1 = { 1, 1010, 400, "<cap0@x>", 0, 0 };
		struct step s2 = { 1, 1011, 401, "<cap5@x>", 0, 0 };
		run_step(&cfg, w, &s1, &r);
		CHECK_EQ_INT(sk.n, 0);       /* evicted by the cap */
		run_step(&cfg, w, &s2, &r);
		CHECK_EQ_INT(sk.n, 1);
	}
	relay_worker_tick(w, 1011000000u);
	relay_worker_stats(w, &st);
	CHECK_EQ_INT(st.outbound_in_table, 1); /* t = now: may still match */
	CHECK_EQ_INT(st.inbound_in_table, 4);
	relay_worker_tick(w, 1064000000u);   /* 1003 + 60 < 1064 */
	relay_worker_stats(w, &st);
	CHECK_EQ_INT(st.outbound_in_table, 0);
	CHECK_EQ_INT(st.inbound_in_table, 2);  /* 1004 + 60 >= 1064 */
	relay_worker_tick(w, 1066000000u);
	relay_worker_stats(w, &st);
	CHECK_EQ_INT(st.inbound_in_table, 0);
	CHECK(st.expired >= 5);
	relay_worker_destroy(w);
}

/* ---- three worker threads ---- */

struct wctx {
	const struct relay_config *cfg;
	struct relay_bus *bus;
	unsigned idx;
	const struct step *steps;
	int n;
	int wait_before;     /* step index before which to wait for `gate` */
	_Atomic int *gate;   /* set by another worker */
	int signal_after;    /* step index after which to set `sig` */
	_Atomic int *sig;
	struct sink sk;
	struct relay_stats st;
};

static void *
worker_main(void *arg)
{
	struct wctx *c = arg;
	struct relay_worker *w;
	struct relay_result r;
	int i;

	blocks = pool_create(16384, 256);
	arena_init(&arena, blocks);
	w = relay_worker_create(c->cfg, c->bus, c->idx, on_confirm, &c->sk);
	if (w == NULL)
		return NULL;
	for (i = 0; i < c->n; i++) {
		if (i == c->wait_before && c->gate != NULL)
			while (!atomic_load(c->gate))
				relay_worker_poll(w);
		run_step(c->cfg, w, &c->steps[i], &r);
		relay_worker_tick(w, c->steps[i].ts_s * 1000000u);
		if (i == c->signal_after && c->sig != NULL)
			atomic_store(c->sig, 1);
	}
	relay_worker_finish(w);
	relay_worker_stats(w, &c->st);
	relay_worker_destroy(w);
	arena_reset(&arena);
	pool_destroy(blocks);
	msghdr_decode_release();
	return NULL;
}

/* order 0: inbound published before the outbound is judged;
 * order 1: the outbound is judged (and ticked) before the inbound's
 * worker even processes it. */
static void
test_1302_three(int order, unsigned ring_slots)
{
	static const struct step w0[] = {
		{ 2, 990, 11, "<n1@x>", 0, 0 },
		{ 0, 1000, 101, "<abc@x>", 0, 0 },
		{ 2, 1020, 12, "<n2@x>", 0, 0 },
	};
	static const struct step w1[] = {
		{ 2, 995, 21, "<n3@x>", 0, 0 },
		{ 1, 1010, 202, "<abc@x>", 0, 0 },
		{ 2, 1030, 22, "<n4@x>", 0, 0 },
	};
	static const struct step w2[] = {
		{ 2, 999, 31, "<n5@x>", 0, 0 },
		{ 1, 1015, 303, "<zzz@x>", 0, 0 },
		{ 2, 1040, 32, "<n6@x>", 0, 0 },
	};
	struct relay_config cfg;
	struct relay_bus *bus;
	static struct wctx c[3];
	pthread_t th[3];
	_Atomic int gate = 0;
	int i, total = 0;

	cfg_base(&cfg, 1);
	bus = relay_bus_create(3, ring_slots);
	CHECK(bus != NULL);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 3; i++) {
		c[i].cfg = &cfg;
		c[i].bus = bus;
		c[i].idx = (unsigned)i;
		c[i].wait_before = c[i].signal_after = -1;
	}
	c[0].steps = w0;
	c[0].n = 3;
	c[1].steps = w1;
	c[1].n = 3;
	c[2].steps = w2;
	c[2].n = 3;
	if (order == 0) {
		c[0].signal_after = 1;       /* inbound done */
		c[0].sig = &gate;
		c[1].wait_before = 1;
		c[1].gate = &gate;
	} else {
		c[1].signal_after = 2;       /* outbound done and ticked past */
		c[1].sig = &gate;
		c[0].wait_before = 1;
		c[0].gate = &gate;
	}
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, worker_main, &c[i]);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++)
		total += c[i].sk.n;
	CHECK_EQ_INT(total, 1);
	CHECK_EQ_INT(c[1].sk.n, 1);          /* the outbound's worker */
	if (c[1].sk.n == 1)
		check_confirm(&c[1].sk.c[0], 101, 202, 10.0);
	CHECK_EQ_INT(c[0].st.inbound_published, 1);
	CHECK_EQ_INT(c[1].st.inbound_received, 1);
	CHECK_EQ_INT(c[2].st.inbound_received, 1);
	relay_bus_destroy(bus);
}

/* Many inbound/outbound pairs spread over 3 workers with small rings:
 * the same set of 1302 as one worker. */
static void
test_1302_many(void)
{
	enum { PAIRS = 300 };
	static struct step all[2 * PAIRS], per[3][2 * PAIRS];
	static char mids[PAIRS][32];
	static struct wctx c[3];
	struct relay_config cfg;
	struct relay_bus *bus;
	static struct sink one;
	struct relay_worker *w;
	struct relay_result r;
	pthread_t th[3];
	int i, n[3] = { 0, 0, 0 }, total = 0, k;
	uint64_t sum_one = 0, sum_n = 0;

	cfg_base(&cfg, 1);
	for (i = 0; i < PAIRS; i++) {
		snprintf(mids[i], sizeof(mids[i]), "<p%d@x>", i);
		all[2 * i] = (struct step){ 0, 1000 + (uint64_t)i * 2,
		    1000 + (uint64_t)i, mids[i], 0, 0 };
		all[2 * i + 1] = (struct step){ 1, 1001 + (uint64_t)i * 2,
		    5000 + (uint64_t)i, i % 7 == 0 ? "<none@x>" : mids[i],
		    0, 0 };
	}
	/* one worker */
	memset(&one, 0, sizeof(one));
	w = relay_worker_create(&cfg, NULL, 0, on_confirm, &one);
	for (i = 0; i < 2 * PAIRS; i++) {
		run_step(&cfg, w, &all[i], &r);
		relay_worker_tick(w, all[i].ts_s * 1000000u);
	}
	relay_worker_finish(w);
	relay_worker_stats(w, &c[0].st);
	sum_one = c[0].st.confirmed;
	CHECK_EQ_INT(one.n, (int)sum_one);
	relay_worker_destroy(w);
	CHECK_EQ_INT(sum_one, PAIRS - (PAIRS + 6) / 7);
	/* three workers, flows spread by flow id */
	for (i = 0; i < 2 * PAIRS; i++) {
		k = (int)((all[i].flow * 2654435761u) % 3);
		per[k][n[k]++] = all[i];
	}
	bus = relay_bus_create(3, 16);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 3; i++) {
		c[i].cfg = &cfg;
		c[i].bus = bus;
		c[i].idx = (unsigned)i;
		c[i].steps = per[i];
		c[i].n = n[i];
		c[i].wait_before = c[i].signal_after = -1;
	}
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, worker_main, &c[i]);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++) {
		total += c[i].sk.n;
		sum_n += c[i].st.confirmed;
	}
	CHECK_EQ_INT(sum_n, sum_one);
	CHECK_EQ_INT(total, (int)sum_one);
	relay_bus_destroy(bus);
}

/* ---- body digest ---- */

static uint64_t dg_rng_state = 0x2545f4914f6cdd1dull;

static uint32_t
dg_rng(void)
{
	dg_rng_state ^= dg_rng_state << 13;
	dg_rng_state ^= dg_rng_state >> 7;
	dg_rng_state ^= dg_rng_state << 17;
	return (uint32_t)(dg_rng_state >> 11);
}

/* Digest of p[0 .. n) fed in pieces: mode 0 whole, 1 one byte at a time,
 * 2 split at `at`, 3 random pieces of 0..40 bytes, 4 random pieces up to
 * 3000 bytes; the value is also read midway (it must not end feeding). */
static uint64_t
dg_split(const uint8_t *p, size_t n, int mode, size_t at)
{
	struct relay_digest d;
	size_t off = 0, k;

	relay_digest_init(&d);
	while (off < n) {
		switch (mode) {
		case 0:
			k = n;
			break;
		case 1:
			k = 1;
			break;
		case 2:
			k = off < at ? at : n - off;
			break;
		case 3:
			k = dg_rng() % 41;
			break;
		default:
			k = dg_rng() % 3001;
			break;
		}
		if (k > n - off)
			k = n - off;
		relay_digest_feed(&d, p + off, k);
		if (dg_rng() % 8 == 0)
			(void)relay_digest_value(&d);
		off += k;
	}
	return relay_digest_value(&d);
}

static void
test_digest(void)
{
	static uint8_t buf[6000], alt[6000];
	struct relay_digest d1, d2;
	uint64_t v, w, prev[80];
	size_t n, at, i, j;
	int iter, mode, bad = 0;

	relay_digest_init(&d1);
	CHECK(relay_digest_value(&d1) == 0);
	relay_digest_feed(&d1, buf, 0);
	relay_digest_feed(&d1, NULL, 10);
	CHECK(relay_digest_value(&d1) == 0);

	/* every split gives the same value, for lengths around the word,
	 * block and cap boundaries */
	for (iter = 0; iter < 300; iter++) {
		n = iter < 80 ? (size_t)iter : dg_rng() % sizeof(buf);
		if (iter % 7 == 0)
			n = RELAY_DIGEST_BYTES - 3 + dg_rng() % 7;
		for (i = 0; i < n; i++)
			buf[i] = iter % 3 == 0 ?
			    (uint8_t)"ab\r\n."[dg_rng() % 5] :
			    (uint8_t)dg_rng();
		v = dg_split(buf, n, 0, 0);
		CHECK(n == 0 ? v == 0 : v != 0);
		for (mode = 1; mode <= 4; mode++)
			if (dg_split(buf, n, mode, dg_rng() % (n + 1)) != v)
				bad++;
		if (n <= 80)
			for (at = 0; at <= n; at++)
				if (dg_split(buf, n, 2, at) != v)
					bad++;
	}
	CHECK_EQ_INT(bad, 0);

	/* different data, different values: one flipped bit anywhere in the
	 * first RELAY_DIGEST_BYTES; nothing past them counts */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)dg_rng();
	v = dg_split(buf, sizeof(buf), 0, 0);
	bad = 0;
	for (iter = 0; iter < 2000; iter++) {
		memcpy(alt, buf, sizeof(buf));
		i = dg_rng() % RELAY_DIGEST_BYTES;
		alt[i] ^= (uint8_t)(1u << (dg_rng() % 8));
		if (dg_split(alt, sizeof(alt), 4, 0) == v)
			bad++;
		memcpy(alt, buf, sizeof(buf));
		i = RELAY_DIGEST_BYTES + dg_rng() %
		    (sizeof(buf) - RELAY_DIGEST_BYTES);
		alt[i] ^= 0x5a;
		if (dg_split(alt, sizeof(alt), 3, 0) != v)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);

	/* the value is stable across the cap: RELAY_DIGEST_BYTES bytes, then
	 * more in any pieces, give the same value */
	CHECK(dg_split(buf, RELAY_DIGEST_BYTES, 0, 0) == v);
	CHECK(dg_split(buf, RELAY_DIGEST_BYTES + 1, 1, 0) == v);
	relay_digest_init(&d1);
	relay_digest_feed(&d1, buf, RELAY_DIGEST_BYTES);
	w = relay_digest_value(&d1);
	relay_digest_feed(&d1, buf, 1);
	relay_digest_feed(&d1, alt, sizeof(alt));
	CHECK(w == v && relay_digest_value(&d1) == v);
	relay_digest_init(&d2);
	relay_digest_feed(&d2, buf, RELAY_DIGEST_BYTES - 5);
	relay_digest_feed(&d2, buf + RELAY_DIGEST_BYTES - 5, 1000);
	CHECK(relay_digest_value(&d2) == v);
	CHECK(dg_split(buf, RELAY_DIGEST_BYTES - 1, 0, 0) != v);

	/* prefixes of a run of zeros (the length counts) and of 'a' differ */
	memset(buf, 0, 80);
	memset(alt, 'a', 80);
	bad = 0;
	for (i = 0; i < 80; i++) {
		prev[i] = dg_split(buf, i + 1, 3, 0);
		for (j = 0; j < i; j++)
			if (prev[j] == prev[i])
				bad++;
		if (dg_split(alt, i + 1, 3, 0) == prev[i])
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

int
main(void)
{
	char err[128];

	CHECK_EQ_INT(chain_global_init(err, sizeof(err)), 0);
	blocks = pool_create(16384, 4096);
	arena_init(&arena, blocks);

	test_1301();
	test_1303();
	test_1305();
	test_1401();
	test_1402();
	test_txctx();
	test_tunnel_link();
	test_1302_one();
	test_1302_three(0, 256);
	test_1302_three(1, 256);
	test_1302_three(1, 16);
	test_1302_many();

	test_digest();
	CHECK(relay_bus_create(0, 16) == NULL);

	arena_reset(&arena);
	pool_destroy(blocks);
	msghdr_decode_release();
	chain_global_free();
	return CHECK_DONE();
}
