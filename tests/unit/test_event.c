/*
 * test_event.c - the events as written: each is sent through an evbuf and
 * a sink into a temporary file, read back, parsed with jansson and its
 * fields checked against the contract (spec/events.md).
 */
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
	test_ipv6();
	test_smtp(blocks);
	test_stats();

	evbuf_free(&eb);
	sink_close(s);
	pool_destroy(blocks);
	unlink(path);
	return CHECK_DONE();
}
