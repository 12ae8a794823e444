/*
 * test_hsengine.c - the Hyperscan engine over the default and ad-hoc rules:
 * streaming matches split at every byte, per-message reset, header scoping,
 * the default rules' cases and look-alikes, flat memory on a 50 MB message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "decode/msghdr.h"
#include "decode/pool.h"
#include "decode/smtp.h"
#include "detect/hsengine.h"
#include "detect/rules.h"

#ifndef RH_SRCDIR
#define RH_SRCDIR "."
#endif

#define MAXAL 32

struct got {
	int n;
	uint32_t id[MAXAL];
	int hop[MAXAL];
	char ev[MAXAL][HSENG_EVIDENCE_MAX + 1];
};

static void
on_alert(void *u, const struct hseng_alert *a)
{
	struct got *g = u;

	if (g->n >= MAXAL)
		return;
	g->id[g->n] = a->rule->id;
	g->hop[g->n] = a->hop;
	memcpy(g->ev[g->n], a->evidence.p, a->evidence.len);
	g->ev[g->n][a->evidence.len] = '\0';
	g->n++;
}

static int
has(const struct got *g, uint32_t id)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (g->id[i] == id)
			return i + 1;
	return 0;
}

static struct pool *blocks;

struct env {
	struct hseng *e;
	struct hseng_worker *w;
	struct rule_set *rs;
	void *mem;
};

static char *
tmp_yaml(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/rh_hseng_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static int
env_open(struct env *v, const char *file)
{
	char err[512];

	memset(v, 0, sizeof(*v));
	v->rs = rules_load(&file, 1, err, sizeof(err));
	if (v->rs == NULL) {
		fprintf(stderr, "rules: %s\n", err);
		return -1;
	}
	v->e = hseng_create(v->rs, NULL, err, sizeof(err));
	if (v->e == NULL) {
		fprintf(stderr, "engine: %s\n", err);
		return -1;
	}
	v->w = hseng_worker_create(v->e, 4);
	v->mem = malloc(hseng_msg_size(v->e));
	return v->w != NULL && v->mem != NULL ? 0 : -1;
}

static int
env_yaml(struct env *v, const char *yaml)
{
	char *p = tmp_yaml(yaml);
	int rc = p != NULL ? env_open(v, p) : -1;

	if (p != NULL)
		unlink(p);
	return rc;
}

static void
env_close(struct env *v)
{
	free(v->mem);
	hseng_worker_destroy(v->w);
	hseng_destroy(v->e);
	rules_free(v->rs);
}

/*
 * One transaction: `msg` fed in chunks at the given cut points (as the SMTP
 * parser would: header part then body part of each chunk), then evaluated.
 */
static void
run(struct env *v, const char *helo, const char *mail_from, const char *msg,
    const size_t *cuts, int ncuts, uint32_t extra_facts, int auth_ok,
    struct got *g)
{
	struct arena ar;
	struct msghdr_section h;
	struct smtp_tx tx;
	struct smtp_rcpt rc = { bstr_cstr("bob@example.org"), 250 };
	struct hseng_msg *m = NULL;
	size_t len = msg != NULL ? strlen(msg) : 0, pos = 0;
	int i;

	memset(g, 0, sizeof(*g));
	memset(&tx, 0, sizeof(tx));
	arena_init(&ar, blocks);
	msghdr_init(&h, &ar, NULL);
	if (msg != NULL) {
		m = hseng_msg_begin(v->w, v->mem);
		for (i = 0; i <= ncuts; i++) {
			size_t end = i < ncuts ? cuts[i] : len, n, hb;
			const uint8_t *d = (const uint8_t *)msg + pos;
			if (end < pos || end > len)
				continue;
			n = end - pos;
			hb = msghdr_feed(&h, d, n);
			if (hb > 0)
				hseng_msg_data(v->w, m, d, hb, 1);
			if (n > hb)
				hseng_msg_data(v->w, m, d + hb, n - hb, 0);
			pos = end;
		}
		msghdr_finish(&h);
		hseng_msg_end(v->w, m);
		tx.hdr = &h;
		tx.has_data = 1;
	}
	if (helo != NULL) {
		tx.helo = bstr_cstr(helo);
		tx.has_helo = 1;
	}
	if (mail_from != NULL) {
		tx.mail_from = bstr_cstr(mail_from);
		tx.has_mail_from = 1;
	}
	if (auth_ok) {
		tx.has_auth = 1;
		tx.auth_success = 1;
	}
	tx.rcpt = &rc;
	tx.rcpt_count = 1;
	hseng_tx_eval(v->w, m, &tx, hseng_facts_from_tx(&tx) | extra_facts,
	    on_alert, g);
	arena_reset(&ar);
}

static void
run1(struct env *v, const char *helo, const char *msg, struct got *g)
{
	run(v, helo, "a@example.com", msg, NULL, 0, 0, 0, g);
}

#define RCVD_GAA \
	"Received: from foo.example.com (foo [192.0.2.1])\r\n" \
	"\tby mx.example.net (8.8.5/8.6.5) with SMTP id GAA12345;\r\n" \
	"\tTue, 30 Jul 2002 06:11:11 -0600 (EST)\r\n"

static const char *oe6 =
	"Return-Path: <>\r\n"
	"From: x@example.com\r\n"
	"X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\n"
	"Subject: hi\r\n"
	"\r\n"
	"body\r\n";

static void
test_defaults(void)
{
	struct env v;
	struct got g;
	struct hseng_stats st;
	int k;

	CHECK(env_open(&v, RH_SRCDIR "/rules/default.yaml") == 0);
	if (v.e == NULL)
		return;
	hseng_stats(v.e, &st);
	CHECK_EQ_INT(st.rules, 5);
	CHECK(st.db_bytes[RULE_SCOPE_HEADERS] > 0);
	CHECK(st.db_bytes[RULE_SCOPE_HELO] > 0);
	CHECK(st.db_bytes[RULE_SCOPE_HEADER] > 0);
	CHECK(st.stream_state_bytes > 0);
	CHECK(st.scratch_bytes > 0);
	printf("default rules: dbs %u patterns %u; db bytes headers %zu "
	    "helo %zu header:* %zu; stream state %zu B/msg, msg struct %zu B, "
	    "scratch %zu B\n", st.databases, st.patterns,
	    st.db_bytes[RULE_SCOPE_HEADERS], st.db_bytes[RULE_SCOPE_HELO],
	    st.db_bytes[RULE_SCOPE_HEADER], st.stream_state_bytes,
	    st.msg_bytes, st.scratch_bytes);

	/* 1001 fires, with the unfolded header as evidence and hop 1 */
	run1(&v, "mx", "Received: by top.example.net; Tue, 30 Jul 2002 "
	    "13:00:00 +0000\r\n" RCVD_GAA "Subject: x\r\n\r\nbody\r\n", &g);
	CHECK((k = has(&g, 1001)) != 0);
	if (k) {
		CHECK(strncmp(g.ev[k - 1], "Received: from foo.example.com", 30)
		    == 0);
		CHECK(strstr(g.ev[k - 1], "-0600 (EST)") != NULL);
		CHECK(strchr(g.ev[k - 1], '\r') == NULL);
		CHECK_EQ_INT(g.hop[k - 1], 1);
	}
	CHECK_EQ_INT(g.n, 1);
	/* look-alikes: correct -0500 (EST), -0600 (CST), id and date in
	 * different headers, GAA in the body */
	run1(&v, "mx", "Received: from a by b with SMTP id GAA12345;\r\n"
	    "\tTue, 30 Jul 2002 06:11:11 -0500 (EST)\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Received: from a by b with SMTP id GAA12345;\r\n"
	    "\tTue, 30 Jul 2002 06:11:11 -0600 (CST)\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Received: from a by b with SMTP id GAA12345; Tue, 30 "
	    "Jul 2002 06:11:11 -0500\r\nReceived: from c by d; Tue, 30 Jul "
	    "2002 06:11:11 -0600 (EST)\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Subject: x\r\n\r\n" RCVD_GAA, &g);
	CHECK_EQ_INT(g.n, 0);

	/* 1002 */
	run1(&v, "mx", "Received: from a by b (8.9.3) id XAA01234; Mon, 1 Jul "
	    "2002 23:01:02 -0700 (EDT)\r\n\r\n", &g);
	CHECK(has(&g, 1002));
	run1(&v, "mx", "Received: from a by b (8.9.3) id XAA01234; Mon, 1 Jul "
	    "2002 23:01:02 -0400 (EDT)\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);

	/* 1003: bare alt1 in HELO or Received from, not Google's FQDNs */
	run1(&v, "alt1", NULL, &g);
	CHECK(has(&g, 1003));
	if (has(&g, 1003))
		CHECK(strcmp(g.ev[has(&g, 1003) - 1], "alt1") == 0);
	run1(&v, "mx", "Received: from alt1 (host [192.0.2.7]) by mx.example"
	    ".net; Mon, 1 Jul 2002 10:00:00 +0000\r\n\r\n", &g);
	CHECK(has(&g, 1003));
	run1(&v, "alt1.aspmx.l.google.com", "Received: from alt1.gmail-smtp-in"
	    ".l.google.com (alt1.gmail-smtp-in.l.google.com [192.0.2.8]) by "
	    "x; Mon, 1 Jul 2002 10:00:00 +0000\r\nReceived: from alt1.example"
	    ".org by y; Mon, 1 Jul 2002 10:00:00 +0000\r\n\r\nalt1\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "ALT1.ASPMX.L.GOOGLE.COM", NULL, &g);
	CHECK_EQ_INT(g.n, 0);
	/* one alert per transaction even when HELO and header both match */
	run1(&v, "alt1", "Received: from alt1 by x; Mon, 1 Jul 2002 10:00:00 "
	    "+0000\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 1);

	/* 1004 */
	run1(&v, "PC-20121219NMRW", NULL, &g);
	CHECK(has(&g, 1004));
	run1(&v, "WIN-ABCDEF12345", NULL, &g);
	CHECK(has(&g, 1004));
	run1(&v, "DESKTOP-AB12CD3", NULL, &g);
	CHECK(has(&g, 1004));
	run1(&v, "mx", "Received: from LAPTOP-Q1W2E3R (unknown [198.51.100.9])"
	    " by mx.example.net with ESMTP id 4Fc; Mon, 1 Jul 2002 10:00:00 "
	    "+0000\r\n\r\n", &g);
	CHECK(has(&g, 1004));
	/* look-alikes: authenticated session; authenticated Received hop;
	 * longer names */
	run(&v, "DESKTOP-AB12CD3", "a@example.com", NULL, NULL, 0,
	    1u << RULE_FACT_SERVER_IN_HOME_NET, 1, &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Received: from DESKTOP-AB12CD3 (host [192.0.2.9]) by "
	    "smtp.example.com with ESMTPSA id abc; Mon, 1 Jul 2002 10:00:00 "
	    "+0000\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "DESKTOP-AB12CD3X.corp.example", NULL, &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "WIN-ABC", NULL, &g);
	CHECK_EQ_INT(g.n, 0);

	/* 1005, evidence holds both header lines */
	run1(&v, "mx", oe6, &g);
	CHECK((k = has(&g, 1005)) != 0);
	if (k) {
		CHECK(strcmp(g.ev[k - 1], "Return-Path: <>\nX-Mailer: Microsoft "
		    "Outlook Express 6.00.2800.1106") == 0);
	}
	/* folded X-Mailer still matches */
	run1(&v, "mx", "Return-Path: <>\r\nX-Mailer:\r\n Microsoft Outlook "
	    "Express 6.00.2900.2180\r\n\r\n", &g);
	CHECK(has(&g, 1005));
	/* look-alikes: DSN (multipart/report), Auto-Submitted, only one of
	 * the two headers, the header text in the body */
	run1(&v, "mx", "Return-Path: <>\r\nX-Mailer: Microsoft Outlook Express "
	    "6.00.2800.1106\r\nContent-Type: multipart/report; report-type="
	    "delivery-status;\r\n\tboundary=\"b\"\r\n\r\n--b\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Return-Path: <>\r\nAuto-Submitted: auto-replied\r\n"
	    "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Return-Path: <a@example.com>\r\nX-Mailer: Microsoft "
	    "Outlook Express 6.00.2800.1106\r\n\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	run1(&v, "mx", "Subject: fwd\r\n\r\nReturn-Path: <>\r\nX-Mailer: "
	    "Microsoft Outlook Express 6.00.2800.1106\r\n", &g);
	CHECK_EQ_INT(g.n, 0);
	/* Auto-Submitted: no is not a bounce */
	run1(&v, "mx", "Return-Path: <>\r\nAuto-Submitted: no\r\n"
	    "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\n\r\n", &g);
	CHECK(has(&g, 1005));

	/* split at every byte boundary, and one byte at a time */
	{
		size_t n = strlen(oe6), i, fails = 0, cuts[512];
		for (i = 1; i < n; i++) {
			run(&v, "mx", "a@example.com", oe6, &i, 1, 0, 0, &g);
			if (!has(&g, 1005))
				fails++;
		}
		CHECK_EQ_INT(fails, 0);
		for (i = 0; i < n && i < 512; i++)
			cuts[i] = i + 1;
		run(&v, "mx", "a@example.com", oe6, cuts, (int)n, 0, 0, &g);
		CHECK(has(&g, 1005));
	}
	/* two messages in one session (same worker and memory) both alert */
	run1(&v, "mx", oe6, &g);
	CHECK(has(&g, 1005));
	run1(&v, "mx", oe6, &g);
	CHECK(has(&g, 1005));
	env_close(&v);
}

static const char *custom =
	"rules:\n"
	"  - id: 9001\n"
	"    name: BODY_TOKEN\n"
	"    category: custom-test\n"
	"    severity: 3\n"
	"    scope: body\n"
	"    patterns: ['EVIL-TOKEN-[0-9]+']\n"
	"    description: d\n"
	"    reference: r\n"
	"  - id: 9002\n"
	"    name: HDR_TOKEN\n"
	"    category: forged-header\n"
	"    severity: 2\n"
	"    scope: headers\n"
	"    patterns: ['X-Evil: yes']\n"
	"  - id: 9003\n"
	"    name: DATA_END\n"
	"    category: forged-header\n"
	"    severity: 2\n"
	"    scope: data\n"
	"    patterns: ['THE-END\\r?$']\n"
	"  - id: 9004\n"
	"    name: RCPT\n"
	"    category: open-relay\n"
	"    severity: 2\n"
	"    scope: [rcpt_to, mail_from]\n"
	"    patterns: [{regex: '@EXAMPLE\\.ORG$', flags: i}]\n"
	"    condition: {require: [client_in_home_net], require_not: [auth_success]}\n";

static void
test_custom(void)
{
	struct env v;
	struct got g;
	const char *msg = "Subject: a\r\nX-Evil: yes\r\n\r\nline one\r\n"
	    "xx EVIL-TOKEN-42 yy\r\nTHE-END";
	size_t n = strlen(msg), i, fails = 0, cuts[2];
	struct hseng_worker_stats ws;

	CHECK(env_yaml(&v, custom) == 0);
	if (v.e == NULL)
		return;
	run(&v, "mx", "a@b.example", msg, NULL, 0, 0, 0, &g);
	CHECK(has(&g, 9001) && has(&g, 9002) && has(&g, 9003));
	CHECK(!has(&g, 9004));
	if (has(&g, 9001))
		CHECK(strcmp(g.ev[has(&g, 9001) - 1], "xx EVIL-TOKEN-42 yy") == 0);
	if (has(&g, 9002))
		CHECK(strcmp(g.ev[has(&g, 9002) - 1], "X-Evil: yes") == 0);
	/* every two-way and three-way split */
	for (i = 1; i < n; i++) {
		cuts[0] = i;
		cuts[1] = i + 7 < n ? i + 7 : n;
		run(&v, "mx", "a@b.example", msg, cuts, 2, 0, 0, &g);
		if (!has(&g, 9001) || !has(&g, 9002) || !has(&g, 9003))
			fails++;
	}
	CHECK_EQ_INT(fails, 0);
	/* header rule does not fire on the body, body rule not on headers */
	run(&v, "mx", "a@b.example", "X-Note: EVIL-TOKEN-1\r\n\r\nX-Evil: yes\r\n",
	    NULL, 0, 0, 0, &g);
	CHECK_EQ_INT(g.n, 0);
	/* conditions */
	run(&v, "mx", "x@example.org", NULL, NULL, 0, 0, 0, &g);
	CHECK_EQ_INT(g.n, 0);
	run(&v, "mx", "x@example.org", NULL, NULL, 0,
	    1u << RULE_FACT_CLIENT_IN_HOME_NET, 0, &g);
	CHECK_EQ_INT(g.n, 1);
	run(&v, "mx", "x@example.org", NULL, NULL, 0,
	    1u << RULE_FACT_CLIENT_IN_HOME_NET, 1, &g);
	CHECK_EQ_INT(g.n, 0);

	/* 50 MB message in 1460-byte chunks: flat memory, match at the end */
	{
		static uint8_t chunk[1460];
		struct hseng_msg *m;
		size_t total = 50u << 20, done = 0;
		uint64_t peak_before;
		struct got g2;
		struct smtp_tx tx;

		memset(chunk, 'a', sizeof(chunk));
		for (i = 76; i < sizeof(chunk); i += 78) {
			chunk[i] = '\r';
			chunk[i + 1] = '\n';
		}
		hseng_worker_stats(v.w, &ws);
		peak_before = ws.streams_peak;
		m = hseng_msg_begin(v.w, v.mem);
		hseng_msg_data(v.w, m, (const uint8_t *)"Subject: big\r\n\r\n",
		    16, 1);
		while (done < total) {
			hseng_msg_data(v.w, m, chunk, sizeof(chunk), 0);
			done += sizeof(chunk);
		}
		hseng_msg_data(v.w, m, (const uint8_t *)"EVIL-TOKEN-7 THE-END",
		    20, 0);
		hseng_msg_end(v.w, m);
		memset(&tx, 0, sizeof(tx));
		memset(&g2, 0, sizeof(g2));
		hseng_tx_eval(v.w, m, &tx, 0, on_alert, &g2);
		CHECK(has(&g2, 9001) && has(&g2, 9003));
		hseng_worker_stats(v.w, &ws);
		CHECK(ws.streams_peak <= 3 && ws.streams_peak == peak_before);
		CHECK_EQ_INT(ws.streams_open, 0);
		CHECK_EQ_INT(ws.scan_errors, 0);
	}
	env_close(&v);
}

static void
test_pool_cap(void)
{
	struct env v;
	struct hseng_worker_stats ws;
	void *mem[6];
	struct hseng_msg *m[6];
	int i;

	CHECK(env_yaml(&v, custom) == 0);
	if (v.e == NULL)
		return;
	/* 4 open messages allowed (worker created with max_open 4) */
	for (i = 0; i < 6; i++) {
		mem[i] = malloc(hseng_msg_size(v.e));
		m[i] = hseng_msg_begin(v.w, mem[i]);
		hseng_msg_data(v.w, m[i], (const uint8_t *)"X-Evil: yes\r\n",
		    13, 1);
	}
	hseng_worker_stats(v.w, &ws);
	CHECK(ws.stream_fail > 0);
	CHECK(ws.streams_open <= 4 * 3);
	for (i = 0; i < 6; i++) {
		hseng_msg_end(v.w, m[i]);
		free(mem[i]);
	}
	hseng_worker_stats(v.w, &ws);
	CHECK_EQ_INT(ws.streams_open, 0);
	env_close(&v);
}

int
main(void)
{
	blocks = pool_create(16384, 64);
	test_defaults();
	test_custom();
	test_pool_cap();
	pool_destroy(blocks);
	return CHECK_DONE();
}
