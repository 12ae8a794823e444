/*
 * test_chain.c - Received-chain forensics: each detection fires on its
 * case and stays silent on its look-alikes; origin / injection on the
 * Tracking Spam FAQ's and Spamhaus' own example chains (host names and
 * addresses, removed from the seed text, filled in with documentation
 * values).
 */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "detect/chain.h"

static struct pool *pl;
static struct arena ar;
static struct received R[16];
static unsigned NR;
static struct chain_result res;
static struct chain_config cfg = { NULL, 0, NULL, 0, 3600, NULL, 0 };

static void
reset(void)
{
	arena_reset(&ar);
	memset(R, 0, sizeof(R));
	NR = 0;
}

/* Append one header (top first). */
static struct received *
H(const char *raw)
{
	struct received *r = &R[NR++];
	CHECK_EQ_INT(received_parse(&ar, bstr_cstr(raw), r), 0);
	if (!r->parsed)
		fprintf(stderr, "note: did not parse: %s\n", raw);
	return r;
}

static int
count(int id)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < res.n_alerts; i++)
		if (res.alerts[i].signature_id == id)
			n++;
	return n;
}

static const struct chain_alert *
get(int id)
{
	unsigned i;

	for (i = 0; i < res.n_alerts; i++)
		if (res.alerts[i].signature_id == id)
			return &res.alerts[i];
	return NULL;
}

static int
hop_of(int id)
{
	const struct chain_alert *a = get(id);
	return a == NULL ? -99 : a->hop;
}

static void
run(const struct mail_date *d, const struct chain_wire *w)
{
	chain_check(&cfg, R, NR, d, w, &res);
}

static void
v4(uint8_t *a, int x, int y, int z, int t)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)x;
	a[1] = (uint8_t)y;
	a[2] = (uint8_t)z;
	a[3] = (uint8_t)t;
}

static void
test_domains(void)
{
	char out[256];
	struct authres a;

	chain_registered_domain(bstr_cstr("mx1.mail.Example.CO.UK."), out, sizeof(out));
	CHECK(strcmp(out, "example.co.uk") == 0);
	chain_registered_domain(bstr_cstr("mail-sor-f41.google.com"), out, sizeof(out));
	CHECK(strcmp(out, "google.com") == 0);
	chain_registered_domain(bstr_cstr("localhost"), out, sizeof(out));
	CHECK(strcmp(out, "localhost") == 0);
	chain_registered_domain(bstr_cstr("[192.0.2.1]"), out, sizeof(out));
	CHECK(strcmp(out, "192.0.2.1") == 0);
	chain_registered_domain(bstr_cstr("a.b.example.com"), out, 4);
	CHECK(strcmp(out, "exa") == 0);

	CHECK_EQ_INT(authres_parse(bstr_cstr("mx.example.net; spf=fail "
	    "smtp.mailfrom=a@b.example; dkim=none; dmarc=fail (p=reject) "
	    "header.from=b.example"), &a), 0);
	CHECK_BSTR(a.authserv_id, "mx.example.net");
	CHECK(strcmp(a.spf, "fail") == 0);
	CHECK(strcmp(a.dkim, "none") == 0);
	CHECK(strcmp(a.dmarc, "fail") == 0);
	CHECK_EQ_INT(authres_parse(bstr_cstr(" (c) mx.example.net 1; "
	    "SPF = SoftFail (sender; not \"permitted\") smtp.mailfrom=x@y; "
	    "DKIM/1=fail header.d=y; dkim=PASS header.d=z; DMARC=pass"), &a), 0);
	CHECK_BSTR(a.authserv_id, "mx.example.net");
	CHECK(strcmp(a.spf, "softfail") == 0);
	CHECK(strcmp(a.dkim, "pass") == 0);
	CHECK(strcmp(a.dmarc, "pass") == 0);
	CHECK_EQ_INT(authres_parse(bstr_cstr("mx.example.net; none"), &a), 0);
	CHECK(a.spf[0] == '\0' && a.dkim[0] == '\0' && a.dmarc[0] == '\0');
	CHECK_EQ_INT(authres_parse(bstr_cstr("  "), &a), -1);
	CHECK_EQ_INT(authres_parse(bstr_cstr("x; spf=pass (a;b=c"), &a), 0);
	CHECK(strcmp(a.spf, "pass") == 0);
}

static void
test_1101(void)
{
	struct mail_date d;

	reset();
	H("from a.example.com (a.example.com [192.0.2.10]) by mx.example.net "
	    "(8.8.5/8.6.5) with SMTP id KAA02084 for <u@example.net>; "
	    "Thu, 26 Jun 1997 10:52:37 -0600 (EST)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1101), 1);
	CHECK_EQ_INT(hop_of(1101), 0);
	CHECK(get(1101) != NULL && strcmp(get(1101)->signature,
	    "RCVD_TZ_ABBREV_MISMATCH") == 0 && get(1101)->severity == 2 &&
	    strcmp(get(1101)->category, "forged-header") == 0);
	CHECK(get(1101) != NULL && get(1101)->evidence_len == R[0].raw.len);

	reset();
	H("from a.example.cn (a.example.cn [192.0.2.10]) by mx.example.cn "
	    "(Postfix) with ESMTP id 4F2A1B3C5D; Thu, 26 Jun 2014 10:52:37 +0800 (CST)");
	H("from b.example.au (b.example.au [192.0.2.11]) by a.example.cn "
	    "(Postfix) with ESMTP id 4F2A1B3C5E; Thu, 26 Jun 2014 12:50:37 +1000 (EST)");
	H("from c.example.org (c.example.org [192.0.2.12]) by b.example.au "
	    "(Postfix) with ESMTP id 4F2A1B3C5F; Thu, 26 Jun 2014 04:49:37 +0200 (CEST)");
	H("from d.example.org (d.example.org [192.0.2.13]) by c.example.org "
	    "(Postfix) with ESMTP id 4F2A1B3C60; Thu, 26 Jun 2014 02:48:37 -0000");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1101), 0);

	/* Date header, hop -1 */
	reset();
	CHECK_EQ_INT(mail_date_parse(bstr_cstr("Wed, 25 Jun 1997 23:00:38 -0700 (EDT)"), &d), 0);
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 1);
	CHECK_EQ_INT(hop_of(1101), -1);
	CHECK_EQ_INT(mail_date_parse(bstr_cstr("Wed, 25 Jun 1997 23:00:38 -0400 (EDT)"), &d), 0);
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 0);

	/* an offset no zone has, built by hand */
	memset(&d, 0, sizeof(d));
	d.valid = d.has_offset = d.has_zone_name = 1;
	d.offset_min = 19 * 60;
	strcpy(d.zone_name, "XYZ");
	d.tz = bstr_cstr("+1900 (XYZ)");
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 1);
	d.tz = bstr_cstr("+0520 (XYZ)");
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 1);
	d.tz = bstr_cstr("+0545 (NPT)");
	strcpy(d.zone_name, "NPT");
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 0);
	/* no zone name: never */
	d.has_zone_name = 0;
	d.zone_name[0] = '\0';
	d.tz = bstr_cstr("+1900");
	run(&d, NULL);
	CHECK_EQ_INT(count(1101), 0);
}

static void
test_1102(void)
{
	/* TS's stealth examples: GAA (06h) at 10:52 and at 23:00 */
	reset();
	H("from bogus.example.com by mail.example.net (8.8.5/8.6.5) with "
	    "SMTP id GAA02084 for <u@example.net>; Thu, 26 Jun 1997 "
	    "10:52:37 -0600 (EST)");
	H("from bogus2.example.com (bogus2.example.com [192.0.2.77]) by "
	    "bogus.example.com (8.8.5/8.6.5) with SMTP id GAA06154 for "
	    "<u@example.net>; Wed, 25 Jun 1997 23:00:38 -0600 (EST)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1102), 2);
	CHECK_EQ_INT(count(1101), 2);

	/* TS's genuine ones: CAA at 02h, SAA at 18h, IAA at 08h, 8.12 id */
	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (8.7.6/8.7.3) with ESMTP id CAA26482 for "
	    "<u@example.net>; Tue, 28 Jan 1997 02:25:42 -0500 (EST)");
	H("from a.example.org (a.example.org [198.51.100.8]) by "
	    "relay.example.org (8.8.7/8.8.7) with ESMTP id SAA02629 for "
	    "<u@example.net>; Thu, 18 Sep 1997 18:31:46 -0400 (EDT)");
	H("from b.example.org (b.example.org [198.51.100.9]) by "
	    "a.example.org (8.8.5/8.8.2/IIAM 1.0 (DCH)) with SMTP id "
	    "IAA00719; Wed, 5 Mar 1997 08:40:22 -0800 (PST)");
	/* 8.12+: hour char 'I' = 18 UTC, written as 14h EDT */
	H("from c.example.org (c.example.org [198.51.100.10]) by "
	    "b.example.org (8.12.9/8.12.9) with ESMTP id h7UIa2dR017329; "
	    "Sat, 30 Aug 2003 14:36:02 -0400 (EDT)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1102), 0);

	/* an 8.12 id whose hour is neither UTC nor local */
	reset();
	H("from c.example.org (c.example.org [198.51.100.10]) by "
	    "b.example.org (8.12.9/8.12.9) with ESMTP id h7UIa2dR017329; "
	    "Sat, 30 Aug 2003 03:36:02 -0400 (EDT)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1102), 1);

	/* other MTAs' ids never */
	reset();
	H("from a.example.org (a.example.org [198.51.100.8]) by "
	    "mx.example.net (Postfix) with ESMTP id ABC12345 for "
	    "<u@example.net>; Thu, 18 Sep 2014 18:31:46 -0400");
	H("from b.example.org ([198.51.100.9] helo=b.example.org) by "
	    "a.example.org with esmtp (Exim 4.92) (envelope-from <x@b.example.org>) "
	    "id 1abcDE-000123-AB; Thu, 18 Sep 2014 18:30:46 -0400");
	H("from AM6PR01MB1234.eurprd01.prod.example.com (2603:10a6:20b:1::1) by "
	    "AM6PR01MB5678.eurprd01.prod.example.com with HTTPS id "
	    "15.20.1234.5; Thu, 18 Sep 2014 22:29:46 +0000");
	H("by 2002:a17:90a:1234:0:0:0:0 with SMTP id a1csp123456pjb; "
	    "Thu, 18 Sep 2014 15:28:46 -0700 (PDT)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1102), 0);
	CHECK_EQ_INT(count(1103), 0);
}

static void
test_1103_1104(void)
{
	reset();
	H("from a.example.com (a.example.com [256.1.2.3]) by mx.example.net "
	    "(Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	H("from b.example.com (b.example.com [0.1.2.3]) by a.example.com "
	    "(Postfix) with ESMTP id 4F2B; Thu, 18 Sep 2014 18:30:46 -0400");
	H("from c.example.com (c.example.com [224.1.2.3]) by b.example.com "
	    "(Postfix) with ESMTP id 4F2C; Thu, 18 Sep 2014 18:29:46 -0400");
	H("from d.example.com (d.example.com [250.1.2.3]) by c.example.com "
	    "(Postfix) with ESMTP id 4F2D; Thu, 18 Sep 2014 18:28:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1103), 2);
	CHECK_EQ_INT(count(1104), 2);
	CHECK(get(1104) != NULL && get(1104)->hop == 2 &&
	    strcmp(get(1104)->detail, "224.1.2.3") == 0 &&
	    get(1104)->severity == 1);
	CHECK(get(1103) != NULL && get(1103)->hop == 0);

	/* valid addresses, version strings: silent */
	reset();
	H("from a.example.com (a.example.com [192.0.2.1]) by mx.example.net "
	    "(8.8.5/8.6.5) with SMTP id KAA02084; Thu, 26 Jun 1997 10:52:37 -0500");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1103), 0);
	CHECK_EQ_INT(count(1104), 0);

	/* class D only in a comment, not the connecting address (by hand) */
	reset();
	R[0].raw = bstr_cstr("from a.example.com (a.example.com [192.0.2.1]) "
	    "(relayed for 224.1.2.3) by mx.example.net; Thu, 26 Jun 1997 "
	    "10:52:37 -0500");
	R[0].parsed = R[0].has_from = 1;
	R[0].from_name = bstr_cstr("a.example.com");
	R[0].from_rdns = bstr_cstr("a.example.com");
	R[0].from_ip.ver = 4;
	v4(R[0].from_ip.addr, 192, 0, 2, 1);
	strcpy(R[0].from_ip.canon, "192.0.2.1");
	R[0].by = bstr_cstr("mx.example.net");
	NR = 1;
	run(NULL, NULL);
	CHECK_EQ_INT(count(1104), 0);
	CHECK_EQ_INT(res.n_alerts, 0);
}

static void
test_1105(void)
{
	struct chain_wire w;

	reset();
	H("from 3735928559 ([192.0.2.5]) by mx.example.net (Postfix) with "
	    "SMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1105), 1);
	CHECK(get(1105) != NULL && strcmp(get(1105)->detail,
	    "222.173.190.239") == 0);

	reset();
	H("from 0xdeadbeef ([192.0.2.5]) by mx.example.net (Postfix) with "
	    "SMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	H("from 0177.0.0.1 ([192.0.2.6]) by a.example.net (Postfix) with "
	    "SMTP id 4F2B; Thu, 18 Sep 2014 18:30:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1105), 2);
	CHECK(res.n_alerts > 0 && get(1105) != NULL &&
	    strcmp(get(1105)->detail, "222.173.190.239") == 0);
	CHECK_EQ_INT(hop_of(1105), 0);
	{
		unsigned i;
		for (i = 0; i < res.n_alerts; i++)
			if (res.alerts[i].signature_id == 1105 &&
			    res.alerts[i].hop == 1)
				CHECK(strcmp(res.alerts[i].detail,
				    "127.0.0.1") == 0);
	}

	/* Exim helo= */
	reset();
	H("from host.example.org ([192.0.2.6] helo=0x7f.1) by mx.example.net "
	    "with esmtp (Exim 4.92) id 1abcDE-000123-AB; Thu, 18 Sep 2014 "
	    "18:30:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1105), 1);
	CHECK(get(1105) != NULL && strcmp(get(1105)->detail, "127.0.0.1") == 0);

	/* the wire HELO */
	reset();
	memset(&w, 0, sizeof(w));
	w.helo = bstr_cstr("0x7f000001");
	run(NULL, &w);
	CHECK_EQ_INT(count(1105), 1);
	CHECK_EQ_INT(hop_of(1105), -1);
	CHECK(get(1105) != NULL && strcmp(get(1105)->detail, "127.0.0.1") == 0);

	/* ordinary literals and names: silent */
	reset();
	H("from [192.0.2.1] ([192.0.2.1]) by mx.example.net (Postfix) with "
	    "SMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	H("from host2024.example.org ([192.0.2.6] helo=[192.0.2.6]) by "
	    "a.example.net with esmtp (Exim 4.92) id 1abcDE-000123-AB; "
	    "Thu, 18 Sep 2014 18:30:46 -0400");
	w.helo = bstr_cstr("[192.0.2.1]");
	run(NULL, &w);
	CHECK_EQ_INT(count(1105), 0);
	w.helo = bstr_cstr("2024");
	run(NULL, &w);
	CHECK_EQ_INT(count(1105), 0);
}

static void
test_1106(void)
{
	struct chain_cidr tr;

	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	H("from pc.example.com (pc.example.com [192.0.2.50]) by "
	    "mail.other.example (Postfix) with ESMTP id 4F2B; Thu, 18 Sep "
	    "2014 18:30:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 1);
	CHECK_EQ_INT(hop_of(1106), 1);
	CHECK(get(1106) != NULL && get(1106)->severity == 3);

	/* same registered domain, other host name */
	R[1].by = bstr_cstr("smtp-out3.Example.ORG");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	/* the same address */
	R[1].by = bstr_cstr("[198.51.100.7]");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	/* addresses compared when the client has no rDNS name */
	R[0].from_rdns = BSTR_NULL;
	R[0].from_name = bstr_cstr("[198.51.100.7]");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	R[1].by = bstr_cstr("198.51.100.8");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 1);
	/* a forwarder the site trusts */
	R[0].from_rdns = R[0].from_name = bstr_cstr("relay.example.org");
	R[1].by = bstr_cstr("mail.other.example");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 1);
	memset(&tr, 0, sizeof(tr));
	tr.ver = 4;
	v4(tr.addr, 198, 51, 100, 0);
	tr.prefix = 24;
	cfg.trusted = &tr;
	cfg.n_trusted = 1;
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	cfg.trusted = NULL;
	cfg.n_trusted = 0;

	/* inside one organisation: Google's internal hop named by address */
	reset();
	H("from mail-sor-f41.google.com (mail-sor-f41.google.com. "
	    "[209.85.220.41]) by mx.google.com with SMTPS id "
	    "a1sor1234567pfb.123.2019.08.01; Thu, 01 Aug 2019 10:00:00 -0700 (PDT)");
	H("by 2002:a17:90a:1234:0:0:0:0 with SMTP id a1csp123456pjb; "
	    "Thu, 01 Aug 2019 09:59:59 -0700 (PDT)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	CHECK_EQ_INT(res.n_alerts, 0);

	/* internal hop (private client) */
	reset();
	H("from gw.example.net (gw.example.net [10.0.0.2]) by mx.example.net "
	    "(Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	H("from pc.example.com (pc.example.com [192.0.2.50]) by "
	    "filter.internal.example (Postfix) with ESMTP id 4F2B; Thu, 18 Sep "
	    "2014 18:30:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
}

static void
test_1107_1203(void)
{
	struct chain_wire w;
	struct bstr rc[2] = { BSTR_NULL, BSTR_NULL };

	rc[0] = bstr_cstr("<User@Example.NET>");
	rc[1] = bstr_cstr("<two@example.net>");
	memset(&w, 0, sizeof(w));
	w.queue_id = bstr_cstr("4F2A");
	w.rcpt_all = rc;
	w.n_rcpt_all = 2;
	w.rcpt_accepted = rc;
	w.n_rcpt_accepted = 1;

	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A for <user@example.net>; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	H("from pc.example.org (pc.example.org [198.51.100.50]) by "
	    "relay.example.org (Postfix) with ESMTP id 4F2B for "
	    "<victim@elsewhere.example>; Thu, 18 Sep 2014 18:30:46 -0400");
	run(NULL, &w);
	CHECK_EQ_INT(res.observed_hop, 0);
	CHECK_EQ_INT(count(1107), 1);
	CHECK_EQ_INT(hop_of(1107), 1);
	CHECK_EQ_INT(count(1203), 0);

	/* multiple recipients: ignored */
	R[1].for_addr = bstr_cstr("multiple recipients");
	run(NULL, &w);
	CHECK_EQ_INT(count(1107), 0);

	/* header above the observed hop (forwarding): silent */
	reset();
	H("from mx.example.net (mx.example.net [203.0.113.1]) by "
	    "mailbox.example.com (Postfix) with ESMTP id 9A9A for "
	    "<alias@example.com>; Thu, 18 Sep 2014 18:32:46 -0400");
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A for <user@example.net>; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	run(NULL, &w);
	CHECK_EQ_INT(res.observed_hop, 1);
	CHECK_EQ_INT(count(1107), 0);
	CHECK_EQ_INT(count(1203), 0);

	/* 1203: the observed header names an address not accepted */
	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A for <two@example.net>; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	run(NULL, &w);
	CHECK_EQ_INT(count(1203), 1);
	CHECK_EQ_INT(hop_of(1203), 0);
	CHECK(get(1203) != NULL && strcmp(get(1203)->category,
	    "wire-mismatch") == 0 && get(1203)->severity == 2);
	CHECK_EQ_INT(count(1107), 0);
	/* single-recipient header of a multi-recipient transaction */
	w.n_rcpt_accepted = 2;
	run(NULL, &w);
	CHECK_EQ_INT(count(1203), 0);
}

static void
test_1108(void)
{
	struct chain_wire w;
	struct mail_date d;

	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	H("from pc.example.org (pc.example.org [198.51.100.50]) by "
	    "relay.example.org (Postfix) with ESMTP id 4F2B; Thu, 18 Sep 2014 "
	    "20:31:47 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1108), 1);
	CHECK_EQ_INT(hop_of(1108), 1);

	/* skew inside the allowance; other zones, same instant */
	reset();
	H("from relay.example.org (relay.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	H("from pc.example.org (pc.example.org [198.51.100.50]) by "
	    "relay.example.org (Postfix) with ESMTP id 4F2B; Fri, 19 Sep 2014 "
	    "00:50:00 +0200");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1108), 0);

	/* in the future of the capture */
	memset(&w, 0, sizeof(w));
	w.capture_time = R[0].date.epoch - 7200;
	run(NULL, &w);
	CHECK_EQ_INT(count(1108), 2);
	w.capture_time = R[0].date.epoch - 600;
	run(NULL, &w);
	CHECK_EQ_INT(count(1108), 0);
	reset();
	CHECK_EQ_INT(mail_date_parse(bstr_cstr("Thu, 18 Sep 2014 23:31:46 -0400"), &d), 0);
	w.capture_time = d.epoch - 7200;
	run(&d, &w);
	CHECK_EQ_INT(count(1108), 1);
	CHECK_EQ_INT(hop_of(1108), -1);
}

/* SH's first scenario: a NAT firewall in front of an SMTPSVC relay. */
static void
sh_nat_chain(void)
{
	reset();
	H("from relay.abused.example (unknown [203.0.113.9]) by "
	    "mx.trap.example (Postfix) with ESMTP id 3F2A1B for "
	    "<trap@trap.example>; Wed, 13 Nov 2013 12:10:11 +0200 (EET)");
	H("from PC-20121219NMRW ([192.168.1.15] RDNS failed) by "
	    "relay.abused.example with Microsoft SMTPSVC(6.0.3790.4675); "
	    "Wed, 13 Nov 2013 13:10:11 +0400");
}

static void
test_1109(void)
{
	struct chain_wire w;

	sh_nat_chain();
	run(NULL, NULL);
	CHECK_EQ_INT(count(1109), 1);
	CHECK_EQ_INT(hop_of(1109), 1);
	CHECK(get(1109) != NULL && strcmp(get(1109)->detail, "192.168.1.15") == 0);
	CHECK_EQ_INT(res.origin.hop, 1);
	CHECK(strcmp(res.origin.ip, "192.168.1.15") == 0);
	CHECK_BSTR(res.origin.name, "PC-20121219NMRW");
	CHECK_EQ_INT(res.injection.hop, 0);
	CHECK(strcmp(res.injection.ip, "203.0.113.9") == 0);

	/* the observed server itself records a private client */
	reset();
	H("from PC-20121219NMRW ([192.168.1.15] RDNS failed) by "
	    "relay.abused.example with Microsoft SMTPSVC(6.0.3790.4675); "
	    "Wed, 13 Nov 2013 13:10:11 +0400");
	memset(&w, 0, sizeof(w));
	w.server_name = bstr_cstr("relay.abused.example");
	w.client_ver = 4;
	v4(w.client_ip, 198, 51, 100, 99);
	run(NULL, &w);
	CHECK_EQ_INT(res.observed_hop, 0);
	CHECK_EQ_INT(count(1109), 1);
	CHECK_EQ_INT(count(1201), 1);
	CHECK(get(1201) != NULL && get(1201)->nat == 1);

	/* genuinely internal hops below the gateway */
	reset();
	H("from gw.example.net (gw.example.net [10.0.0.2]) by "
	    "store.example.net (Postfix) with ESMTP id 4F2A; Wed, 13 Nov 2013 "
	    "13:10:13 +0400");
	H("from ws7 ([192.168.1.15]) by gw.example.net with Microsoft "
	    "SMTPSVC(6.0.3790.4675); Wed, 13 Nov 2013 13:10:11 +0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1109), 0);
	/* a private client with a real rDNS name */
	sh_nat_chain();
	R[1].rdns_failed = 0;
	R[1].from_rdns = bstr_cstr("ws7.corp.example");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1109), 0);
}

/* TS's "point of injection" example. */
static void
ts_injection_chain(void)
{
	reset();
	H("from relay.innocent.example (relay.innocent.example "
	    "[198.51.100.20]) by mx.victim.example (8.7.6/8.7.3) with SMTP id "
	    "SAA18708 for <victim@victim.example>; Wed, 5 Mar 1997 18:41:30 "
	    "-0500 (EST)");
	H("from r9892423 (Cust118.Max60.Los-Angeles.CA.MS.UU.NET "
	    "[153.35.118.42]) by relay.innocent.example (SMI-8.6/) via SMTP id "
	    "QAA16410; Wed, 5 Mar 1997 16:31:34 -0600");
}

static void
test_1110_origin(void)
{
	ts_injection_chain();
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 1);
	CHECK_EQ_INT(hop_of(1110), 1);
	CHECK(get(1110) != NULL && strcmp(get(1110)->detail,
	    "relay.innocent.example") == 0);
	CHECK_EQ_INT(count(1102), 0);
	CHECK_EQ_INT(count(1101), 0);
	CHECK_EQ_INT(count(1106), 0);
	CHECK_EQ_INT(count(1108), 0);
	CHECK_EQ_INT(count(1111), 1);    /* r9892423 is no Cust118... */
	CHECK_EQ_INT(res.origin.hop, 1);
	CHECK(strcmp(res.origin.ip, "153.35.118.42") == 0);
	CHECK_BSTR(res.origin.name, "Cust118.Max60.Los-Angeles.CA.MS.UU.NET");
	CHECK_EQ_INT(res.injection.hop, 0);
	CHECK(strcmp(res.injection.ip, "198.51.100.20") == 0);
	CHECK_BSTR(res.injection.name, "relay.innocent.example");

	/* the ISP's own smarthost, authenticated */
	ts_injection_chain();
	R[1].by = bstr_cstr("smtp.uu.net");
	R[1].authenticated = 1;
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 0);
	/* same organisation, even without auth */
	R[1].authenticated = 0;
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 0);

	/* octets embedded, loopback bottom hop skipped */
	reset();
	H("from adsl-192-0-2-77.isp.example (adsl-192-0-2-77.isp.example "
	    "[192.0.2.77]) by relay.other.example (Postfix) with ESMTP id 4F2A; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	H("from localhost (localhost [127.0.0.1]) by pc.home.example "
	    "(Postfix) with ESMTP id 4F2B; Thu, 18 Sep 2014 18:30:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 1);
	CHECK_EQ_INT(hop_of(1110), 0);
	CHECK_EQ_INT(res.origin.hop, 0);
	CHECK_EQ_INT(res.injection.hop, -1);
	CHECK_BSTR(res.injection.name, "relay.other.example");
	R[0].from_rdns = bstr_cstr("host77.2.0.192.in-addr.isp.example");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 1);

	/* ordinary servers (liverpool has "pool" in its registered domain) */
	reset();
	H("from mail.liverpool.ac.uk (mail.liverpool.ac.uk [192.0.2.8]) by "
	    "relay.other.example (Postfix) with ESMTP id 4F2A; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1110), 0);
	CHECK_EQ_INT(res.origin.hop, 0);     /* bottom-most with an address */
	CHECK(strcmp(res.origin.ip, "192.0.2.8") == 0);
}

static void
test_1111(void)
{
	reset();
	H("from mail.bank.example (host.evil.example [192.0.2.9]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1111), 1);
	CHECK(get(1111) != NULL && get(1111)->severity == 3);

	reset();
	H("from MAIL.Example.COM. (mail.example.com [192.0.2.9]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	H("from a.example.co.uk (b.example.co.uk [192.0.2.10]) by "
	    "mail.example.com (Postfix) with ESMTP id 4F2B; Thu, 18 Sep 2014 "
	    "18:31:45 -0400");
	H("from [192.0.2.11] (c.example.org [192.0.2.11]) by "
	    "b.example.co.uk (Postfix) with ESMTP id 4F2C; Thu, 18 Sep 2014 "
	    "18:31:44 -0400");
	H("from liar.example (unknown [192.0.2.12]) by "
	    "c.example.org (Postfix) with ESMTP id 4F2D; Thu, 18 Sep 2014 "
	    "18:31:43 -0400");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1111), 0);
}

static void
test_wire(void)
{
	struct chain_wire w;
	struct chain_cidr lb;

	reset();
	H("from good.example.org (good.example.org [198.51.100.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 "
	    "18:31:46 -0400");
	memset(&w, 0, sizeof(w));
	w.queue_id = bstr_cstr("4F2A");
	w.client_ver = 4;
	v4(w.client_ip, 203, 0, 113, 5);
	w.helo = bstr_cstr("good.example.org");
	run(NULL, &w);
	CHECK_EQ_INT(count(1201), 1);
	CHECK(get(1201) != NULL && get(1201)->nat == 0 && get(1201)->hop == 0 &&
	    get(1201)->severity == 1);
	CHECK_EQ_INT(count(1202), 0);
	/* the load balancer the configuration names */
	memset(&lb, 0, sizeof(lb));
	lb.ver = 4;
	v4(lb.addr, 203, 0, 113, 0);
	lb.prefix = 24;
	cfg.trusted = &lb;
	cfg.n_trusted = 1;
	run(NULL, &w);
	CHECK_EQ_INT(count(1201), 0);
	cfg.trusted = NULL;
	cfg.n_trusted = 0;
	/* agreement, the wire given as v4-mapped IPv6 */
	w.client_ver = 6;
	memset(w.client_ip, 0, 16);
	w.client_ip[10] = w.client_ip[11] = 0xff;
	w.client_ip[12] = 198;
	w.client_ip[13] = 51;
	w.client_ip[14] = 100;
	w.client_ip[15] = 7;
	run(NULL, &w);
	CHECK_EQ_INT(count(1201), 0);

	/* no observed hop: queue id and name known but not matched */
	w.queue_id = bstr_cstr("ZZZZ");
	w.server_name = bstr_cstr("other.example.net");
	v4(w.client_ip, 203, 0, 113, 5);
	w.client_ver = 4;
	run(NULL, &w);
	CHECK_EQ_INT(res.observed_hop, -1);
	CHECK_EQ_INT(count(1201), 0);
	/* neither known: the top header when watched arriving */
	w.queue_id = BSTR_NULL;
	w.server_name = BSTR_NULL;
	run(NULL, &w);
	CHECK_EQ_INT(res.observed_hop, 0);
	CHECK_EQ_INT(count(1201), 1);

	/* 1202 (a header where the HELO and the rDNS name differ) */
	R[0].from_rdns = bstr_cstr("relay.example.org");
	w.client_ver = 4;
	v4(w.client_ip, 198, 51, 100, 7);
	w.helo = bstr_cstr("evil.example.com");
	run(NULL, &w);
	CHECK_EQ_INT(count(1202), 1);
	CHECK(get(1202) != NULL && get(1202)->severity == 3);
	w.helo = bstr_cstr("GOOD.example.org.");
	run(NULL, &w);
	CHECK_EQ_INT(count(1202), 0);

	/* literal brackets normalised */
	reset();
	H("from [198.51.100.7] (unknown [198.51.100.7]) by mx.example.net "
	    "(Postfix) with ESMTP id 4F2A; Thu, 18 Sep 2014 18:31:46 -0400");
	w.helo = bstr_cstr("198.51.100.7");
	run(NULL, &w);
	CHECK_EQ_INT(count(1202), 0);
	w.helo = bstr_cstr("[IPv6:2001:db8::1]");
	run(NULL, &w);
	CHECK_EQ_INT(count(1202), 1);

	/* the server wrote the rDNS name in place of the HELO */
	reset();
	H("from host.isp.example (host.isp.example [198.51.100.7]) by "
	    "mx.example.net (8.14.4/8.14.4) with ESMTP id s8IMVkAB012345; "
	    "Thu, 18 Sep 2014 18:31:46 -0400");
	w.helo = bstr_cstr("mypc");
	run(NULL, &w);
	CHECK_EQ_INT(count(1202), 0);
	CHECK_EQ_INT(count(1102), 0);
}

/* TS's other quoted chains. */
static void
test_ts_examples(void)
{
	/* "demonstrate that the original message was sent by ..." */
	reset();
	H("from sender.example.com by mail.example.net (8.7.6/8.7.3) with "
	    "ESMTP id CAA26482 for <me@example.net>; Tue, 28 Jan 1997 "
	    "02:25:42 -0500 (EST)");
	run(NULL, NULL);
	CHECK_EQ_INT(res.n_alerts, 0);
	CHECK_EQ_INT(res.origin.hop, -1);    /* no address recorded */

	/* the forwarder's extra header above the rest */
	reset();
	H("from forwarder.example.org (forwarder.example.org [198.51.100.3]) "
	    "by mail.example.net (8.8.7/8.8.7) with ESMTP id SAA02629 for "
	    "<me@example.net>; Thu, 18 Sep 1997 18:31:46 -0400 (EDT)");
	H("from dialup-12.ppp.isp.example (dialup-12.ppp.isp.example "
	    "[192.0.2.12]) by forwarder.example.org (8.8.7/8.8.7) with SMTP id "
	    "SAA02600 for <me@forwarder.example.org>; Thu, 18 Sep 1997 "
	    "18:30:00 -0400 (EDT)");
	run(NULL, NULL);
	CHECK_EQ_INT(count(1106), 0);
	CHECK_EQ_INT(count(1110), 1);
	CHECK_EQ_INT(res.origin.hop, 1);
	CHECK(strcmp(res.origin.ip, "192.0.2.12") == 0);
	CHECK_EQ_INT(res.injection.hop, 0);
	CHECK(strcmp(res.injection.ip, "198.51.100.3") == 0);
}

/* Ordinary modern mail: nothing fires. */
static void
test_clean(void)
{
	struct chain_wire w;
	struct bstr rc = bstr_cstr("<me@example.net>");
	struct mail_date d;

	reset();
	H("from mail-sor-f41.google.com (mail-sor-f41.google.com "
	    "[209.85.220.41]) by mx.example.net (Postfix) with ESMTPS id "
	    "4F2A1B3C5D for <me@example.net>; Thu, 01 Aug 2019 19:00:02 +0200 (CEST)");
	H("by 2002:a17:90a:1234:0:0:0:0 with SMTP id a1csp123456pjb; "
	    "Thu, 01 Aug 2019 10:00:01 -0700 (PDT)");
	H("from [192.168.1.20] ([203.0.113.44]) by smtp.gmail.com with "
	    "ESMTPSA id x1sm123456pfb.12.2019.08.01; Thu, 01 Aug 2019 "
	    "10:00:00 -0700 (PDT)");
	CHECK_EQ_INT(mail_date_parse(bstr_cstr("Thu, 1 Aug 2019 18:59:58 +0200"), &d), 0);
	memset(&w, 0, sizeof(w));
	w.client_ver = 4;
	v4(w.client_ip, 209, 85, 220, 41);
	w.helo = bstr_cstr("mail-sor-f41.google.com");
	w.server_name = bstr_cstr("mx.example.net");
	w.queue_id = bstr_cstr("4F2A1B3C5D");
	w.rcpt_all = w.rcpt_accepted = &rc;
	w.n_rcpt_all = w.n_rcpt_accepted = 1;
	w.capture_time = R[0].date.epoch;
	run(&d, &w);
	CHECK_EQ_INT(res.observed_hop, 0);
	CHECK_EQ_INT(res.n_alerts, 0);
	{
		unsigned i;
		for (i = 0; i < res.n_alerts; i++)
			fprintf(stderr, "unexpected %d hop %d\n",
			    res.alerts[i].signature_id, res.alerts[i].hop);
	}
}

int
main(void)
{
	char err[128];

	pl = pool_create(16384, 64);
	if (pl == NULL)
		return 2;
	arena_init(&ar, pl);
	CHECK_EQ_INT(chain_global_init(err, sizeof(err)), 0);
	CHECK_EQ_INT(chain_global_init(err, sizeof(err)), 0);
	test_domains();
	test_1101();
	test_1102();
	test_1103_1104();
	test_1105();
	test_1106();
	test_1107_1203();
	test_1108();
	test_1109();
	test_1110_origin();
	test_1111();
	test_wire();
	test_ts_examples();
	test_clean();
	arena_reset(&ar);
	pool_destroy(pl);
	chain_global_free();
	return CHECK_DONE();
}
