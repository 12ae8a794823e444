/*
 * test_event.c - the events as written: each is sent through an evbuf and
 * a sink into a temporary file, read back, parsed with jansson and its
 * fields checked against the contract (spec/events.md): the flow fields,
 * smtp and email, the detection parts (received, origin, injection_point,
 * auth_results, alerts) and the alert events.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "decode/msghdr.h"
#include "decode/pool.h"
#include "output/community_id.h"
#include "output/event.h"
#include "output/evbuf.h"
#include "output/sink.h"
#include "tests/unit/check.h"

static char path[] = "/tmp/rh_test_event_XXXXXX";
static long readpos;
static struct evbuf eb;

/* Flush and parse the lines written since the last call, as an array. */
static json_t *
next_events(void)
{
	json_t *arr = json_array(), *v;
	json_error_t jerr;
	char line[1 << 16];
	FILE *f;

	evbuf_flush(&eb);
	f = fopen(path, "rb");
	if (f == NULL)
		return arr;
	fseek(f, readpos, SEEK_SET);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		CHECK(n > 0 && line[n - 1] == '\n');
		v = json_loadb(line, n, JSON_ALLOW_NUL, &jerr);
		CHECK(v != NULL);
		if (v == NULL)
			fprintf(stderr, "  bad line: %s (%s)\n", line, jerr.text);
		else
			json_array_append_new(arr, v);
	}
	readpos = ftell(f);
	fclose(f);
	return arr;
}

/* The one event written since the last call (NULL if not exactly one). */
static json_t *
one_event(void)
{
	json_t *arr = next_events(), *v = NULL;

	CHECK_EQ_INT(json_array_size(arr), 1);
	if (json_array_size(arr) == 1)
		v = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return v;
}

static const char *
sget(json_t *o, const char *path_)
{
	char key[64];
	const char *dot;
	json_t *v = o;

	while (v != NULL && (dot = strchr(path_, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path_), path_);
		v = json_object_get(v, key);
		path_ = dot + 1;
	}
	v = json_object_get(v, path_);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
str_is(json_t *o, const char *key, const char *want)
{
	const char *s = sget(o, key);

	if (s == NULL || strcmp(s, want) != 0) {
		fprintf(stderr, "  %s: got \"%s\" want \"%s\"\n", key,
		    s ? s : "(absent)", want);
		return 0;
	}
	return 1;
}

static int
has(json_t *o, const char *key)
{
	return json_object_get(o, key) != NULL;
}

static void
test_ts(void)
{
	char ts[40];

	event_format_ts(0, ts);
	CHECK(strcmp(ts, "1970-01-01T00:00:00.000000+0000") == 0);
	event_format_ts(1700000000123456ULL, ts);
	CHECK(strcmp(ts, "2023-11-14T22:13:20.123456+0000") == 0);
	event_format_ts(951782400000001ULL, ts);      /* leap day 2000 */
	CHECK(strcmp(ts, "2000-02-29T00:00:00.000001+0000") == 0);
	event_format_ts(UINT64_MAX, ts);              /* clamped, bounded */
	CHECK(strncmp(ts, "9999-12-31T23:59:59.", 20) == 0);
	CHECK(strlen(ts) == 31);
}

static void
flow4(struct event_flow *ef)
{
	static const uint8_t s[4] = { 192, 0, 2, 10 }, d[4] = { 198, 51, 100,
	    25 };

	memset(ef, 0, sizeof(*ef));
	ef->flow_id = 42;
	ef->ipver = 4;
	memcpy(ef->src, s, 4);
	memcpy(ef->dst, d, 4);
	ef->sport = 40000;
	ef->dport = 25;
	ef->vlan[0] = 100;
	ef->vlan[1] = 200;
	ef->vlan_count = 2;
	ef->sensor = "sensor-1";
	community_id_v1(4, ef->src, ef->dst, 6, ef->sport, ef->dport, 0,
	    ef->community_id);
}

static void
test_flow_fields(void)
{
	struct event_flow ef;
	json_t *o, *vl;
	const char *k;
	int i;
	static const char *order[] = { "timestamp", "flow_id", "event_type",
	    "vlan", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
	    "community_id", "sensor", "anomaly", "smtp" };
	void *it;

	flow4(&ef);
	CHECK(event_anomaly(&eb, &ef, 1700000000123456ULL,
	    ANOM_SMTP_BARE_LF_TERMINATOR, 3) == 0);
	o = one_event();
	if (o == NULL)
		return;
	CHECK(str_is(o, "timestamp", "2023-11-14T22:13:20.123456+0000"));
	CHECK(str_is(o, "event_type", "anomaly"));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "flow_id")), 42);
	CHECK(str_is(o, "src_ip", "192.0.2.10"));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "src_port")), 40000);
	CHECK(str_is(o, "dest_ip", "198.51.100.25"));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "dest_port")), 25);
	CHECK(str_is(o, "proto", "TCP"));
	CHECK(str_is(o, "community_id", ef.community_id));
	CHECK(strncmp(ef.community_id, "1:", 2) == 0);
	CHECK(str_is(o, "sensor", "sensor-1"));
	vl = json_object_get(o, "vlan");
	CHECK(json_is_array(vl) && json_array_size(vl) == 2 &&
	    json_integer_value(json_array_get(vl, 0)) == 100 &&
	    json_integer_value(json_array_get(vl, 1)) == 200);
	CHECK(str_is(o, "anomaly.type", "smtp"));
	CHECK(str_is(o, "anomaly.event", "SMTP_BARE_LF_TERMINATOR"));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(o,
	    "anomaly"), "number")), 1566);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(o,
	    "smtp"), "tx_id")), 3);
	/* fields in the documented order */
	i = 0;
	for (it = json_object_iter(o); it != NULL;
	    it = json_object_iter_next(o, it)) {
		k = json_object_iter_key(it);
		CHECK(i < (int)(sizeof(order) / sizeof(order[0])) &&
		    strcmp(k, order[i]) == 0);
		i++;
	}
	json_decref(o);

	/* no flow: no flow fields, the default sensor, no smtp object */
	CHECK(event_anomaly(&eb, NULL, 0, ANOM_DECODE_IPV4_BAD_HLEN, -1) == 0);
	o = one_event();
	if (o == NULL)
		return;
	CHECK(str_is(o, "event_type", "anomaly"));
	CHECK(!has(o, "flow_id") && !has(o, "src_ip") && !has(o, "proto") &&
	    !has(o, "community_id") && !has(o, "vlan") && !has(o, "smtp"));
	CHECK(str_is(o, "sensor", "default-sensor"));
	CHECK(str_is(o, "anomaly.type", "decode"));
	CHECK(str_is(o, "anomaly.event", "DECODE_IPV4_BAD_HLEN"));
	json_decref(o);

	/* no VLAN tags: no vlan field; NULL flow sensor: the default */
	ef.vlan_count = 0;
	ef.sensor = NULL;
	CHECK(event_anomaly(&eb, &ef, 0, ANOM_STREAM_GAP, -1) == 0);
	o = one_event();
	if (o == NULL)
		return;
	CHECK(!has(o, "vlan"));
	CHECK(str_is(o, "sensor", "default-sensor"));
	CHECK(str_is(o, "anomaly.type", "stream"));
	json_decref(o);
}

static void
test_ipv4(void)
{
	static const struct {
		uint8_t a[4];
		const char *want;
	} v[] = {
		{ { 0, 0, 0, 0 }, "0.0.0.0" },
		{ { 255, 255, 255, 255 }, "255.255.255.255" },
		{ { 10, 0, 100, 9 }, "10.0.100.9" },
		{ { 1, 20, 0, 199 }, "1.20.0.199" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		event_format_ip(4, v[i].a, buf, sizeof(buf));
		CHECK(strcmp(buf, v[i].want) == 0);
	}
	/* cut as snprintf would */
	event_format_ip(4, v[1].a, buf, 5);
	CHECK(strcmp(buf, "255.") == 0);
	buf[0] = 'x';
	event_format_ip(4, v[1].a, buf, 0);
	CHECK(buf[0] == 'x');
}

static void
test_ipv6(void)
{
	static const struct {
		const char *hex, *want;
	} v[] = {
		{ "20010db8000000000000000000000001", "2001:db8::1" },
		{ "00000000000000000000000000000001", "::1" },
		{ "00000000000000000000000000000000", "::" },
		{ "00000000000000000000ffffc0000201", "::ffff:192.0.2.1" },
		{ "00010000000000010000000000000001", "1:0:0:1::1" },
		{ "00010000000000010001000000000001", "1::1:1:0:0:1" },
		{ "00010002000300040005000600070000", "1:2:3:4:5:6:7:0" },
		{ "00010000000200030004000500060007", "1:0:2:3:4:5:6:7" },
		{ "20010db8000000000001000000000000", "2001:db8:0:0:1::" },
		{ "00000000000000000000000001020304", "::1.2.3.4" },
		{ "00000000000000000000000000000002", "::2" },
		{ "fe80000000000000020086fffe0580da",
		    "fe80::200:86ff:fe05:80da" },
		{ "00000000000000000000000100000000", "::1:0:0" },
		{ "abcdef01000000000000000000000000", "abcd:ef01::" },
		{ "ffffffffffffffffffffffffffffffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	struct event_flow ef;
	json_t *o;
	size_t i, j;
	unsigned x;

	memset(&ef, 0, sizeof(ef));
	ef.ipver = 6;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (j = 0; j < 16; j++) {
			sscanf(v[i].hex + 2 * j, "%2x", &x);
			ef.src[j] = (uint8_t)x;
		}
		o = event_new("flow", 0, &ef);
		CHECK(o != NULL && str_is(o, "src_ip", v[i].want));
		CHECK(o != NULL && str_is(o, "dest_ip", "::"));
		json_decref(o);
	}
}

static const char hdr_text[] =
    "Received: from x by y; Tue, 14 Nov 2023 22:13:19 +0000\r\n"
    "From: =?UTF-8?Q?Andr=C3=A9?= <andre@example.com>\r\n"
    "To: Bob <bob@example.org>, \"Smith, J\" <js@example.net>\r\n"
    "Subject: =?UTF-8?B?SGVsbG8g?=\r\n =?UTF-8?B?V29ybGQ=?=\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <abc.123@example.com>  \r\n"
    "To: carol@example.com\r\n"
    "Cc: undisclosed-recipients:;\r\n"
    "X-Mailer: Mailer\xff 1.0\r\n"
    "X-Originating-IP: [10.1.2.3]\r\n"
    "Reply-To: <reply@example.com>\r\n"
    "Subject: second subject ignored\r\n"
    "\r\n";
static const char body_text[] =
    "From: body@example.com\r\n"
    "Subject: not a header\r\n"
    "\r\n"
    "hello\r\n";

static void
test_smtp(struct pool *blocks)
{
	struct smtp_rcpt rc[2];
	struct smtp_tx tx;
	struct event_flow ef;
	struct arena ha, scratch;
	struct msghdr_section h;
	struct msghdr_config hc = { 65536, 1024 };
	json_t *o, *s, *e, *a;
	size_t fed;

	arena_init(&ha, blocks);
	arena_init(&scratch, blocks);
	msghdr_init(&h, &ha, &hc);
	fed = msghdr_feed(&h, (const uint8_t *)hdr_text, sizeof(hdr_text) - 1);
	CHECK_EQ_INT(fed, sizeof(hdr_text) - 1);
	CHECK_EQ_INT(msghdr_feed(&h, (const uint8_t *)body_text,
	    sizeof(body_text) - 1), 0);
	msghdr_finish(&h);

	memset(&tx, 0, sizeof(tx));
	memset(rc, 0, sizeof(rc));
	tx.tx_id = 2;
	tx.ts_us = 1700000000123456ULL;
	tx.server_dir = 1;
	tx.banner = bstr_make("mail\0.example.com ESMTP", 23);
	tx.has_banner = 1;
	tx.helo = bstr_cstr("mx\xff.example");
	tx.helo_cmd = bstr_cstr("EHLO");
	tx.has_helo = 1;
	tx.has_auth = 1;
	tx.auth_mech = bstr_cstr("PLAIN");
	tx.auth_success = 1;
	tx.pipelining = 1;
	tx.has_mail_from = 1;
	tx.mail_from = bstr_cstr("sender@example.com");
	rc[0].addr = bstr_cstr("r1@example.org");
	rc[0].code = 250;
	rc[1].addr = bstr_cstr("r2@\xc3\xa9xample.org");
	rc[1].code = 0;
	tx.rcpt = rc;
	tx.rcpt_count = 2;
	tx.rcpt_total = 5;
	tx.has_data = 1;
	tx.data_bytes = 1234;
	tx.status = SMTP_TX_COMPLETE;
	tx.last_reply = bstr_cstr("250 2.0.0 Ok: queued as 4FcQ2x1Z3z");
	tx.queue_id = bstr_cstr("4FcQ2x1Z3z");
	tx.hdr = &h;

	flow4(&ef);
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, NULL) == 0);
	arena_reset(&scratch);
	o = one_event();
	if (o == NULL)
		return;
	CHECK(str_is(o, "event_type", "smtp"));
	CHECK(str_is(o, "timestamp", "2023-11-14T22:13:20.123456+0000"));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "flow_id")), 42);
	s = json_object_get(o, "smtp");
	CHECK(json_is_object(s));
	CHECK_EQ_INT(json_integer_value(json_object_get(s, "tx_id")), 2);
	CHECK(str_is(s, "helo", "mx\\xff.example"));
	CHECK(str_is(s, "helo_cmd", "EHLO"));
	CHECK(json_string_length(json_object_get(s, "banner")) == 23 &&
	    memcmp(json_string_value(json_object_get(s, "banner")),
	    "mail\0.example.com ESMTP", 23) == 0);
	CHECK(str_is(s, "mail_from", "sender@example.com"));
	a = json_object_get(s, "rcpt_to");
	CHECK(json_is_array(a) && json_array_size(a) == 2);
	CHECK(strcmp(json_string_value(json_array_get(a, 0)),
	    "r1@example.org") == 0);
	CHECK(strcmp(json_string_value(json_array_get(a, 1)),
	    "r2@\xc3\xa9xample.org") == 0);
	a = json_object_get(s, "rcpt");
	CHECK(json_is_array(a) && json_array_size(a) == 2);
	CHECK(str_is(json_array_get(a, 0), "addr", "r1@example.org"));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(a, 0),
	    "code")), 250);
	CHECK(json_is_null(json_object_get(json_array_get(a, 1), "code")));
	CHECK_EQ_INT(json_integer_value(json_object_get(s, "rcpt_total")), 5);
	CHECK(str_is(s, "auth.mechanism", "PLAIN"));
	CHECK(json_is_true(json_object_get(json_object_get(s, "auth"),
	    "success")));
	CHECK(json_is_false(json_object_get(s, "starttls")));
	CHECK(json_is_true(json_object_get(s, "pipelining")));
	CHECK(json_is_false(json_object_get(s, "bdat")));
	CHECK(!has(s, "midstream"));
	CHECK_EQ_INT(json_integer_value(json_object_get(s, "data_bytes")),
	    1234);
	CHECK(str_is(s, "status", "COMPLETE"));
	CHECK(str_is(s, "last_reply", "250 2.0.0 Ok: queued as 4FcQ2x1Z3z"));
	CHECK(str_is(s, "queue_id", "4FcQ2x1Z3z"));

	e = json_object_get(o, "email");
	CHECK(json_is_object(e));
	CHECK(str_is(e, "from", "Andr\xc3\xa9 <andre@example.com>"));
	CHECK(str_is(e, "subject", "Hello World"));
	CHECK(str_is(e, "date", "Tue, 14 Nov 2023 22:13:20 +0000"));
	CHECK(str_is(e, "message_id", "<abc.123@example.com>"));
	CHECK(str_is(e, "x_mailer", "Mailer\\xff 1.0"));
	CHECK(str_is(e, "x_originating_ip", "[10.1.2.3]"));
	CHECK(str_is(e, "reply_to", "<reply@example.com>"));
	CHECK(!has(e, "return_path") && !has(e, "in_reply_to"));
	a = json_object_get(e, "to");
	CHECK(json_is_array(a) && json_array_size(a) == 3);
	if (json_array_size(a) == 3) {
		CHECK(strcmp(json_string_value(json_array_get(a, 0)),
		    "bob@example.org") == 0);
		CHECK(strcmp(json_string_value(json_array_get(a, 1)),
		    "js@example.net") == 0);
		CHECK(strcmp(json_string_value(json_array_get(a, 2)),
		    "carol@example.com") == 0);
	}
	a = json_object_get(e, "cc");
	CHECK(json_is_array(a) && json_array_size(a) == 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(e, "header_bytes")),
	    sizeof(hdr_text) - 1);
	CHECK(!has(e, "header_truncated"));
	json_decref(o);

	/* the objects alone, for alerts */
	o = event_smtp_object(&tx);
	CHECK(o != NULL && str_is(o, "queue_id", "4FcQ2x1Z3z"));
	json_decref(o);
	o = event_email_object(&tx, &scratch);
	CHECK(o != NULL && str_is(o, "subject", "Hello World"));
	json_decref(o);
	arena_reset(&scratch);

	/* a session that never reached MAIL FROM: session part only */
	memset(&tx, 0, sizeof(tx));
	tx.tx_id = 0;
	tx.helo = bstr_cstr("client.example");
	tx.helo_cmd = bstr_cstr("HELO");
	tx.has_helo = 1;
	tx.has_auth = 1;
	tx.auth_mech = bstr_cstr("LOGIN");
	tx.auth_success = -1;
	tx.starttls = 1;
	tx.midstream = 1;
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, NULL) == 0);
	o = one_event();
	if (o == NULL)
		return;
	s = json_object_get(o, "smtp");
	CHECK(str_is(s, "helo", "client.example"));
	CHECK(str_is(s, "helo_cmd", "HELO"));
	CHECK(!has(s, "banner") && !has(s, "mail_from") &&
	    !has(s, "rcpt_to") && !has(s, "rcpt") && !has(s, "status") &&
	    !has(s, "data_bytes") && !has(s, "last_reply") &&
	    !has(s, "queue_id") && !has(s, "rcpt_total"));
	CHECK(json_is_true(json_object_get(s, "starttls")));
	CHECK(json_is_true(json_object_get(s, "midstream")));
	CHECK(json_is_null(json_object_get(json_object_get(s, "auth"),
	    "success")));
	CHECK(!has(o, "email"));
	json_decref(o);

	/* aborted transaction, null sender, no recipients, no reply */
	memset(&tx, 0, sizeof(tx));
	tx.tx_id = 1;
	tx.has_mail_from = 1;
	tx.mail_from = bstr_make("", 0);
	tx.status = SMTP_TX_ABORTED;
	tx.bdat = 1;
	tx.has_auth = 1;
	tx.auth_mech = bstr_cstr("CRAM-MD5");
	tx.auth_success = 0;
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, NULL) == 0);
	o = one_event();
	if (o == NULL)
		return;
	s = json_object_get(o, "smtp");
	CHECK(str_is(s, "mail_from", ""));
	CHECK(json_is_array(json_object_get(s, "rcpt_to")) &&
	    json_array_size(json_object_get(s, "rcpt_to")) == 0);
	CHECK(!has(s, "rcpt_total") && !has(s, "last_reply") &&
	    !has(s, "queue_id") && !has(s, "helo") && !has(s, "banner"));
	CHECK(str_is(s, "status", "ABORTED"));
	CHECK(json_is_true(json_object_get(s, "bdat")));
	CHECK(json_is_false(json_object_get(json_object_get(s, "auth"),
	    "success")));
	CHECK_EQ_INT(json_integer_value(json_object_get(s, "data_bytes")), 0);
	CHECK(!has(o, "email"));
	json_decref(o);

	tx.status = SMTP_TX_GAP;
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, NULL) == 0);
	tx.status = SMTP_TX_TRUNCATED;
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, NULL) == 0);
	o = next_events();
	CHECK(json_array_size(o) == 2);
	CHECK(str_is(json_array_get(o, 0), "smtp.status", "GAP"));
	CHECK(str_is(json_array_get(o, 1), "smtp.status", "TRUNCATED"));
	json_decref(o);

	arena_reset(&ha);
}

static json_t *
oget(json_t *o, const char *path_)
{
	char key[64];
	const char *dot;
	json_t *v = o;

	while (v != NULL && (dot = strchr(path_, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path_), path_);
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(key)) :
		    json_object_get(v, key);
		path_ = dot + 1;
	}
	return json_is_array(v) ? json_array_get(v, (size_t)atoi(path_)) :
	    json_object_get(v, path_);
}

static long long
iget(json_t *o, const char *path_)
{
	json_t *v = oget(o, path_);

	return json_is_integer(v) ? json_integer_value(v) : -999999;
}

static const char det_hdr[] =
    "Message-ID: <m1@example.com>\r\n"
    "Subject: =?UTF-8?Q?hi?= \xff\r\n"
    "\r\n";

static void
fill_detect(struct det_result *dr)
{
	struct received *r = &dr->rcv[0];

	r->raw = bstr_cstr("from a.example (b.example [192.0.2.1]) by mx; x");
	r->parsed = 1;
	r->from_name = bstr_cstr("a.example");
	r->from_rdns = bstr_cstr("b.example");
	r->from_ip.ver = 4;
	strcpy(r->from_ip.canon, "192.0.2.1");
	r->by = bstr_cstr("mx");
	r->with = bstr_cstr("ESMTPS");
	r->for_addr = bstr_cstr("<u@example.org>");
	r->date.valid = 1;
	strcpy(r->date.iso, "2023-11-14T22:13:19Z");
	r->date.tz = bstr_cstr("+0000");
	dr->rcv[1].raw = bstr_make("junk\xff\0here", 10);
	dr->n_rcv = 2;
	dr->n_rcv_total = 5;
	dr->chain.origin.hop = 1;
	strcpy(dr->chain.origin.ip, "2001:db8::1");
	dr->chain.injection.hop = -1;
	dr->chain.injection.name = bstr_cstr("inj\x80.example");
	dr->has_authres = 1;
	dr->ar.authserv_id = bstr_cstr("mx.example");
	strcpy(dr->ar.spf, "pass");
	strcpy(dr->ar.dmarc, "fail");
	dr->alerts[0].signature_id = 1201;
	dr->alerts[0].signature = "FIRST";
	dr->alerts[1].signature_id = 1305;
	dr->alerts[1].signature = "SECOND";
	dr->n_alerts = 2;
}

static void
test_detect(struct pool *blocks)
{
	struct det_result *dr = calloc(1, sizeof(*dr));
	struct smtp_rcpt rc[1];
	struct smtp_tx tx;
	struct event_flow ef;
	struct arena ha, scratch;
	struct msghdr_section h;
	struct msghdr_config hc = { 65536, 1024 };
	struct det_alert *al;
	json_t *o, *e;

	if (dr == NULL)
		return;
	arena_init(&ha, blocks);
	arena_init(&scratch, blocks);
	msghdr_init(&h, &ha, &hc);
	msghdr_feed(&h, (const uint8_t *)det_hdr, sizeof(det_hdr) - 1);
	msghdr_finish(&h);
	fill_detect(dr);
	memset(&tx, 0, sizeof(tx));
	memset(rc, 0, sizeof(rc));
	tx.tx_id = 4;
	tx.ts_us = 1700000000000000ULL;
	tx.has_mail_from = 1;
	tx.mail_from = bstr_cstr("s@example.com");
	rc[0].addr = bstr_cstr("r\xc3@example.org");
	rc[0].code = 250;
	tx.rcpt = rc;
	tx.rcpt_count = tx.rcpt_total = 1;
	tx.hdr = &h;
	flow4(&ef);

	CHECK(event_smtp(&eb, &ef, &tx, &scratch, dr) == 0);
	arena_reset(&scratch);
	o = one_event();
	e = json_object_get(o, "email");
	CHECK(str_is(e, "subject", "hi \\xff"));
	CHECK(json_array_size(json_object_get(e, "received")) == 2);
	CHECK(str_is(oget(e, "received.0"), "from_ip", "192.0.2.1"));
	CHECK(str_is(oget(e, "received.0"), "from_name", "a.example"));
	CHECK(str_is(oget(e, "received.0"), "date", "2023-11-14T22:13:19Z"));
	CHECK(str_is(oget(e, "received.0"), "for", "<u@example.org>"));
	CHECK(!has(oget(e, "received.0"), "id"));
	CHECK(json_is_true(oget(e, "received.0.parsed")));
	CHECK(json_string_length(oget(e, "received.1.raw")) == 13 &&
	    memcmp(json_string_value(oget(e, "received.1.raw")),
	    "junk\\xff\0here", 13) == 0);
	CHECK(json_is_false(oget(e, "received.1.parsed")) &&
	    json_object_size(oget(e, "received.1")) == 2);
	CHECK_EQ_INT(iget(e, "received_total"), 5);
	CHECK_EQ_INT(iget(e, "origin.hop"), 1);
	CHECK(str_is(e, "origin.ip", "2001:db8::1"));
	CHECK(!has(json_object_get(e, "origin"), "name"));
	CHECK_EQ_INT(iget(e, "injection_point.hop"), -1);
	CHECK(str_is(e, "injection_point.name", "inj\\x80.example"));
	CHECK(str_is(e, "auth_results.authserv_id", "mx.example"));
	CHECK(str_is(e, "auth_results.spf", "pass"));
	CHECK(!has(json_object_get(e, "auth_results"), "dkim"));
	CHECK(json_array_size(json_object_get(o, "alerts")) == 2);
	CHECK_EQ_INT(iget(o, "alerts.1.signature_id"), 1305);
	CHECK(str_is(oget(o, "alerts.1"), "signature", "SECOND"));
	json_decref(o);

	/* an empty result: received [] and alerts [], nothing else */
	memset(dr, 0, sizeof(*dr));
	dr->chain.origin.hop = dr->chain.injection.hop = -1;
	CHECK(event_smtp(&eb, &ef, &tx, &scratch, dr) == 0);
	arena_reset(&scratch);
	o = one_event();
	e = json_object_get(o, "email");
	CHECK(json_is_array(json_object_get(e, "received")) &&
	    json_array_size(json_object_get(e, "received")) == 0);
	CHECK(!has(e, "received_total") && !has(e, "origin") &&
	    !has(e, "injection_point") && !has(e, "auth_results"));
	CHECK(json_is_array(json_object_get(o, "alerts")) &&
	    json_array_size(json_object_get(o, "alerts")) == 0);
	json_decref(o);

	/* one alert event: its object and the transaction's context */
	al = &dr->alerts[0];
	al->signature_id = 1101;
	al->signature = "HELO_MISMATCH";
	al->category = NULL;
	al->description = "d\"q";
	al->severity = 2;
	al->hop = 3;
	memcpy(al->evidence, "ev\0\xfe", 4);
	al->evidence_len = 4;
	strcpy(al->detail, "det");
	al->nat = 1;
	CHECK(event_alert(&eb, &ef, &tx, al, dr) == 0);
	o = one_event();
	CHECK(str_is(o, "event_type", "alert"));
	CHECK_EQ_INT(iget(o, "alert.signature_id"), 1101);
	CHECK(str_is(o, "alert.signature", "HELO_MISMATCH"));
	CHECK(!has(json_object_get(o, "alert"), "category"));
	CHECK(str_is(o, "alert.description", "d\"q"));
	CHECK_EQ_INT(iget(o, "alert.severity"), 2);
	CHECK(json_string_length(oget(o, "alert.evidence")) == 7 &&
	    memcmp(json_string_value(oget(o, "alert.evidence")),
	    "ev\0\\xfe", 7) == 0);
	CHECK_EQ_INT(iget(o, "alert.hop"), 3);
	CHECK(str_is(o, "alert.detail", "det"));
	CHECK(json_is_true(oget(o, "alert.nat")));
	CHECK_EQ_INT(iget(o, "smtp.tx_id"), 4);
	CHECK(str_is(o, "smtp.mail_from", "s@example.com"));
	CHECK(json_array_size(oget(o, "smtp.rcpt_to")) == 1 &&
	    strcmp(json_string_value(oget(o, "smtp.rcpt_to.0")),
	    "r\\xc3@example.org") == 0);
	CHECK(str_is(o, "email.message_id", "<m1@example.com>"));
	CHECK(has(json_object_get(o, "email"), "subject"));
	json_decref(o);

	arena_reset(&ha);
	free(dr);
}

static void
test_alert_relay(void)
{
	struct relay_alert *ra = calloc(1, sizeof(*ra));
	struct relay_txctx *c = calloc(1, sizeof(*c));
	struct event_flow ef;
	json_t *o;

	if (ra == NULL || c == NULL)
		goto out;
	flow4(&ef);
	ra->signature_id = 1302;
	ra->signature = "RELAY_CONFIRMED";
	ra->category = "open-relay";
	ra->severity = 1;
	memcpy(ra->evidence, "e\xff", 2);
	ra->evidence_len = 2;
	ra->has_relay = 1;
	ra->relay.ipver = 4;
	memcpy(ra->relay.server_ip, "\xc6\x33\x64\x19", 4);
	memcpy(ra->relay.client_ip, "\xc0\x00\x02\x0a", 4);
	strcpy(ra->relay.foreign_rcpt, "x@far.example");
	ra->relay.confirmed = 1;
	ra->relay.outbound_flow_id = 0xffffffffffffffffULL;
	memcpy(ra->relay.outbound_dest_ip, "\x0a\x00\x00\x01", 4);
	ra->relay.delay_s = 1.5;
	c->has_mail_from = 1;
	memcpy(c->mail_from, "m@f", 3);
	c->mail_from_len = 3;
	memcpy(c->rcpts, "\x03\x00" "a@b" "\x02\x00" "c\xff", 9);
	c->rcpts_len = 9;
	c->rcpt_stored = c->rcpt_count = 2;
	c->has_hdr = c->has_subject = 1;
	memcpy(c->subject, "sub", 3);
	c->subject_len = 3;

	CHECK(event_alert_relay(&eb, &ef, 1700000000000000ULL, 7, NULL, c,
	    ra) == 0);
	o = one_event();
	CHECK(str_is(o, "alert.signature", "RELAY_CONFIRMED"));
	CHECK(str_is(o, "alert.category", "open-relay"));
	CHECK(str_is(o, "alert.evidence", "e\\xff"));
	CHECK_EQ_INT(iget(o, "smtp.tx_id"), 7);
	CHECK(str_is(o, "smtp.mail_from", "m@f"));
	CHECK(json_array_size(oget(o, "smtp.rcpt_to")) == 2 &&
	    strcmp(json_string_value(oget(o, "smtp.rcpt_to.1")),
	    "c\\xff") == 0);
	CHECK(str_is(o, "email.subject", "sub") &&
	    !has(json_object_get(o, "email"), "message_id"));
	CHECK(str_is(o, "relay.server_ip", "198.51.100.25"));
	CHECK(str_is(o, "relay.client_ip", "192.0.2.10"));
	CHECK(str_is(o, "relay.foreign_rcpt", "x@far.example"));
	CHECK(str_is(o, "relay.local_domains_assumed", ""));
	CHECK(json_is_true(oget(o, "relay.confirmed")));
	CHECK(iget(o, "relay.outbound_flow_id") == INT64_MAX);
	CHECK(str_is(o, "relay.outbound_dest_ip", "10.0.0.1"));
	CHECK(json_is_real(oget(o, "relay.delay_s")) &&
	    json_real_value(oget(o, "relay.delay_s")) == 1.5);
	json_decref(o);

	/* no transaction at all, and a delay JSON cannot carry */
	ra->relay.delay_s = NAN;
	CHECK(event_alert_relay(&eb, &ef, 0, -1, NULL, NULL, ra) == 0);
	o = one_event();
	CHECK(json_object_size(json_object_get(o, "smtp")) == 0);
	CHECK(!has(o, "email"));
	CHECK(has(json_object_get(o, "relay"), "outbound_dest_ip") &&
	    !has(json_object_get(o, "relay"), "delay_s"));
	json_decref(o);
out:
	free(ra);
	free(c);
}

static void
test_stats(void)
{
	json_t *st, *o;
	uint64_t dropped = eb.dropped;

	st = json_object();
	json_object_set_new(st, "capture", json_pack("{s:i}", "packets", 7));
	CHECK(event_stats(&eb, 1700000000000000ULL, "stats-sensor", st) == 0);
	o = one_event();
	if (o == NULL)
		return;
	CHECK(str_is(o, "event_type", "stats"));
	CHECK(str_is(o, "sensor", "stats-sensor"));
	CHECK(str_is(o, "timestamp", "2023-11-14T22:13:20.000000+0000"));
	CHECK(!has(o, "flow_id") && !has(o, "community_id"));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(
	    json_object_get(o, "stats"), "capture"), "packets")), 7);
	json_decref(o);

	CHECK(event_stats(&eb, 0, NULL, json_object()) == 0);
	o = one_event();
	CHECK(o != NULL && str_is(o, "sensor", "default-sensor"));
	json_decref(o);

	CHECK(event_stats(&eb, 0, NULL, NULL) == -1);
	CHECK_EQ_INT(eb.dropped, dropped + 1);
}

int
main(void)
{
	char err[256];
	struct sink *s;
	struct pool *blocks;
	int fd;

	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	s = sink_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return CHECK_DONE();
	CHECK(evbuf_init(&eb, s, 0) == 0);
	blocks = pool_create(16384, 64);
	event_set_sensor("default-sensor");

	test_ts();
	test_flow_fields();
	test_ipv4();
	test_ipv6();
	test_smtp(blocks);
	test_detect(blocks);
	test_alert_relay();
	test_stats();

	evbuf_free(&eb);
	sink_close(s);
	pool_destroy(blocks);
	unlink(path);
	return CHECK_DONE();
}
