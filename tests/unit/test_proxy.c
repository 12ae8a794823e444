/*
 * test_proxy.c - HTTP CONNECT, SOCKS4/4a and SOCKS5 handshakes are
 * recognised, granted and refused, the tunnel starts at the same stream
 * offset in each direction whatever the chunking, and random or mutated
 * bytes never crash or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/proxy.h"
#include "tests/unit/check.h"

#define MAXSEG 8

/* One conversation: segments in arrival order, each from one side. */
struct seg {
	int cli;
	const uint8_t *p;
	size_t n;
};

struct conv {
	struct seg s[MAXSEG];
	int nseg;
};

struct outcome {
	int req;              /* PROXY_REQUEST count */
	size_t req_off;       /* client stream offset where the request ended */
	int wait;
	int srv_tunnel;
	size_t srv_off;       /* server stream offset of the tunnel start */
	int cli_tunnel;
	int refused;
	int not;
	size_t hs_cli, hs_srv;
	int kind;
	char host[256];
	size_t host_len;
	unsigned port;
	int smtp;
	int method, astatus, reply;
	int bad;              /* contract violation seen */
};

static size_t off_c, off_s;

static void
feed_chunk(struct proxy_state *st, struct outcome *o, int cli,
    const uint8_t *d, size_t n)
{
	size_t off = 0, c, base = cli ? off_c : off_s;
	enum proxy_result r;

	for (;;) {
		c = 12345;
		r = proxy_feed(st, cli, n ? d + off : NULL, n - off, &c);
		if (c > n - off)
			o->bad = 1;
		switch (r) {
		case PROXY_MORE:
			if (c != n - off)
				o->bad = 1;
			goto out;
		case PROXY_NOT:
			if (c != 0)
				o->bad = 1;
			o->not = 1;
			goto out;
		case PROXY_REQUEST:
			if (!cli || o->req)
				o->bad = 1;
			o->req++;
			o->req_off = base + off + c;
			off += c;
			if (off == n)
				goto out;
			continue;
		case PROXY_WAIT:
			if (!cli || c != 0)
				o->bad = 1;
			if (n > off)
				o->wait = 1;
			goto out;
		case PROXY_TUNNEL:
			if (cli) {
				if (c != 0)
					o->bad = 1;
				if (n > off)
					o->cli_tunnel = 1;
			} else if (!o->srv_tunnel) {
				o->srv_tunnel = 1;
				o->srv_off = base + off + c;
			}
			goto out;
		case PROXY_REFUSED:
			o->refused = 1;
			goto out;
		}
		o->bad = 1;
		goto out;
	}
out:
	if (cli)
		off_c += n;
	else
		off_s += n;
}

static void
finish(const struct proxy_state *st, struct outcome *o)
{
	struct bstr h = proxy_target_host(st);

	o->hs_cli = proxy_hs_len(st, 1);
	o->hs_srv = proxy_hs_len(st, 0);
	o->kind = proxy_kind(st);
	o->host_len = h.len;
	if (h.len > 0)
		memcpy(o->host, h.p, h.len);
	o->host[h.len] = '\0';
	o->port = proxy_target_port(st);
	o->smtp = proxy_target_is_smtp(st);
	o->method = proxy_auth_method(st);
	o->astatus = proxy_auth_status(st);
	o->reply = proxy_reply_code(st);
}

/* mode 0: whole segments; 1: 1-byte chunks with empty feeds between;
 * 2: segment `which` split at `at`. */
static void
run(const struct conv *cv, int mode, int which, size_t at,
    struct outcome *o)
{
	struct proxy_state st;
	int i;
	size_t j;

	memset(o, 0, sizeof(*o));
	proxy_init(&st);
	off_c = off_s = 0;
	for (i = 0; i < cv->nseg; i++) {
		const struct seg *s = &cv->s[i];

		if (mode == 1) {
			for (j = 0; j < s->n; j++) {
				feed_chunk(&st, o, s->cli, s->p + j, 1);
				feed_chunk(&st, o, s->cli, s->p + j + 1, 0);
			}
		} else if (mode == 2 && i == which) {
			feed_chunk(&st, o, s->cli, s->p, at);
			feed_chunk(&st, o, s->cli, s->p + at, s->n - at);
		} else {
			feed_chunk(&st, o, s->cli, s->p, s->n);
		}
	}
	finish(&st, o);
}

static int
same(const struct outcome *a, const struct outcome *b)
{
	return a->req == b->req && a->req_off == b->req_off &&
	    a->wait == b->wait && a->srv_tunnel == b->srv_tunnel &&
	    a->srv_off == b->srv_off && a->cli_tunnel == b->cli_tunnel &&
	    a->refused == b->refused && a->not == b->not &&
	    a->hs_cli == b->hs_cli && a->hs_srv == b->hs_srv &&
	    a->kind == b->kind && a->host_len == b->host_len &&
	    memcmp(a->host, b->host, a->host_len) == 0 &&
	    a->port == b->port && a->method == b->method &&
	    a->astatus == b->astatus && a->reply == b->reply &&
	    !a->bad && !b->bad;
}

/* Whole-segment outcome, checked equal under every chunking. */
static int
run_all(const struct conv *cv, struct outcome *o)
{
	struct outcome x;
	int i, ok = 1;
	size_t at;

	run(cv, 0, 0, 0, o);
	run(cv, 1, 0, 0, &x);
	ok &= same(o, &x);
	for (i = 0; i < cv->nseg; i++) {
		for (at = 0; at <= cv->s[i].n; at++) {
			run(cv, 2, i, at, &x);
			ok &= same(o, &x);
		}
	}
	return ok;
}

static void
add(struct conv *cv, int cli, const void *p, size_t n)
{
	cv->s[cv->nseg].cli = cli;
	cv->s[cv->nseg].p = p;
	cv->s[cv->nseg].n = n;
	cv->nseg++;
}

#define ADDS(cv, cli, str) add(cv, cli, str, sizeof(str) - 1)

static const char banner[] = "220 mx.example.org ESMTP\r\n";
static const char ehlo[] = "EHLO spam.example\r\n";

static void
test_http(void)
{
	struct conv cv;
	struct outcome o;
	static const char req[] =
	    "CONNECT mx.example.org:25 HTTP/1.1\r\n"
	    "Host: mx.example.org:25\r\n"
	    "User-Agent: x\r\n\r\n";
	static const char ok200[] =
	    "HTTP/1.0 200 Connection established\r\n\r\n"
	    "220 mx.example.org ESMTP\r\n";
	static const char reqehlo[] =
	    "CONNECT mx.example.org:587 HTTP/1.0\r\n\r\nEHLO x\r\n";
	static const char r407[] =
	    "HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Proxy-Authenticate: Basic\r\n\r\n";
	static const char r100[] =
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: y\r\n\r\n220 hi\r\n";

	/* granted; reply headers and banner in one segment */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, req);
	ADDS(&cv, 0, ok200);
	ADDS(&cv, 1, ehlo);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.kind, PROXY_KIND_HTTP_CONNECT);
	CHECK_EQ_INT(o.req, 1);
	CHECK_EQ_INT(o.req_off, sizeof(req) - 1);
	CHECK_EQ_INT(o.hs_cli, sizeof(req) - 1);
	CHECK(strcmp(o.host, "mx.example.org") == 0);
	CHECK_EQ_INT(o.port, 25);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.srv_off, sizeof(ok200) - 1 - (sizeof(banner) - 1));
	CHECK_EQ_INT(o.hs_srv, o.srv_off);
	CHECK_EQ_INT(o.cli_tunnel, 1);
	CHECK_EQ_INT(o.wait, 0);
	CHECK_EQ_INT(o.reply, 200);
	CHECK_EQ_INT(o.not + o.refused, 0);
	CHECK_EQ_INT(o.method, -1);

	/* request + EHLO pipelined in one segment, before the reply */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, reqehlo);
	ADDS(&cv, 0, ok200);
	ADDS(&cv, 1, ehlo);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.req_off, sizeof(reqehlo) - 1 - 8);
	CHECK_EQ_INT(o.wait, 1);
	CHECK_EQ_INT(o.port, 587);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.cli_tunnel, 1);

	/* refused */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, req);
	ADDS(&cv, 0, r407);
	ADDS(&cv, 1, req);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.req, 1);
	CHECK_EQ_INT(o.refused, 1);
	CHECK_EQ_INT(o.srv_tunnel + o.cli_tunnel, 0);
	CHECK_EQ_INT(o.reply, 407);
	CHECK_EQ_INT(o.smtp, 1);

	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, req);
	ADDS(&cv, 0, "HTTP/1.1 403 Forbidden\r\n\r\n");
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.refused, 1);

	/* 1xx interim response, then 200 */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, req);
	ADDS(&cv, 0, r100);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.srv_off, sizeof(r100) - 1 - 8);
	CHECK_EQ_INT(o.reply, 200);

	/* IPv4 literal, port 80, bare LF line ends, no reason phrase */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, "CONNECT 192.0.2.7:80 HTTP/1.1\n\n");
	ADDS(&cv, 0, "HTTP/1.1 200\n\nX");
	CHECK(run_all(&cv, &o));
	CHECK(strcmp(o.host, "192.0.2.7") == 0);
	CHECK_EQ_INT(o.port, 80);
	CHECK_EQ_INT(o.smtp, 0);
	CHECK_EQ_INT(o.srv_off, 14);
	CHECK_EQ_INT(o.srv_tunnel, 1);

	/* IPv6 literal */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 1, "CONNECT [2001:db8::25]:25 HTTP/1.1\r\n\r\n");
	CHECK(run_all(&cv, &o));
	CHECK(strcmp(o.host, "2001:db8::25") == 0);
	CHECK_EQ_INT(o.port, 25);
	CHECK_EQ_INT(o.req, 1);
	{
		struct proxy_state st;
		size_t c;
		static const char r6[] =
		    "CONNECT [2001:db8::25]:25 HTTP/1.1\r\n\r\n";

		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, (const uint8_t *)r6,
		    sizeof(r6) - 1, &c), PROXY_REQUEST);
		CHECK_EQ_INT(proxy_target_addr_type(&st), PROXY_ADDR_IPV6);
		CHECK_BSTR(proxy_target_host(&st), "2001:db8::25");
		CHECK(proxy_feed(&st, 1, NULL, 0, &c) == PROXY_WAIT);
		CHECK_EQ_INT(c, 0);
		CHECK(strcmp(proxy_kind_name(proxy_kind(&st)),
		    "HTTP_CONNECT") == 0);
	}

	/* the rest of the request line is not checked: the target is what
	 * matters ("CONNECT host:25 / HTTP/1.0" is seen in the wild) */
	{
		static const char *odd[] = {
			"CONNECT mailin03.example.de:25 / HTTP/1.0\r\n\r\n",
			"CONNECT mx.example.org:25 HTTP/2.0\r\n\r\n",
		};
		size_t i;

		for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
			memset(&cv, 0, sizeof(cv));
			add(&cv, 1, odd[i], strlen(odd[i]));
			CHECK(run_all(&cv, &o));
			CHECK_EQ_INT(o.not, 0);
			CHECK_EQ_INT(o.req, 1);
		}
	}

	/* malformed requests */
	{
		static const char *bad[] = {
			"CONNECT mx.example.org HTTP/1.1\r\n\r\n",
			"CONNECT mx.example.org:70000 HTTP/1.1\r\n\r\n",
			"CONNECT :25 HTTP/1.1\r\n\r\n",
			"CONNECT a:b@mx:25 HTTP/1.1\r\n\r\n",
			"CONNECT mx:25 HTTP/1.1\rX\r\n\r\n",
			"CONNECT  mx:25 HTTP/1.1\r\n\r\n",
			"CONNEXT mx:25 HTTP/1.1\r\n\r\n",
			"GET / HTTP/1.1\r\n\r\n",
			"connect mx:25 HTTP/1.1\r\n\r\n",
			"CONNECT [2001:db8::1:25 HTTP/1.1\r\n\r\n",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&cv, 0, sizeof(cv));
			add(&cv, 1, bad[i], strlen(bad[i]));
			CHECK(run_all(&cv, &o));
			CHECK_EQ_INT(o.not, 1);
			CHECK_EQ_INT(o.req, 0);
		}
	}

	/* caps: a host over 255 bytes, a header line over the line cap, a
	 * header section over the handshake cap */
	{
		static char big[PROXY_HS_MAX + 200];
		struct proxy_state st;
		size_t c, n;
		int i;

		n = (size_t)sprintf(big, "CONNECT ");
		memset(big + n, 'a', 256);
		n += 256;
		n += (size_t)sprintf(big + n, ":25 HTTP/1.1\r\n\r\n");
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, (uint8_t *)big, n, &c),
		    PROXY_NOT);

		n = (size_t)sprintf(big, "CONNECT ");
		memset(big + n, 'a', 255);
		n += 255;
		n += (size_t)sprintf(big + n, ":25 HTTP/1.1\r\n\r\n");
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, (uint8_t *)big, n, &c),
		    PROXY_REQUEST);
		CHECK_EQ_INT(proxy_target_host(&st).len, 255);

		n = (size_t)sprintf(big, "CONNECT mx:25 HTTP/1.1\r\nX: ");
		memset(big + n, 'a', PROXY_LINE_MAX);
		n += PROXY_LINE_MAX;
		n += (size_t)sprintf(big + n, "\r\n\r\n");
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, (uint8_t *)big, n, &c),
		    PROXY_NOT);

		n = (size_t)sprintf(big, "CONNECT mx:25 HTTP/1.1\r\n");
		for (i = 0; n + 100 < sizeof(big); i++)
			n += (size_t)sprintf(big + n, "X-%04d: %80s\r\n", i, "v");
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, (uint8_t *)big, n, &c),
		    PROXY_NOT);
		CHECK(proxy_hs_len(&st, 1) <= PROXY_HS_MAX);
	}
}

static void
test_socks4(void)
{
	struct conv cv;
	struct outcome o;
	static const uint8_t req[] = { 4, 1, 0, 25, 192, 0, 2, 1,
	    'b', 'o', 'b', 0 };
	static const uint8_t req80[] = { 4, 1, 0, 80, 192, 0, 2, 1, 0 };
	static const uint8_t grant[] = { 0, 90, 0, 0, 0, 0, 0, 0,
	    '2', '2', '0', ' ', 'h', 'i', '\r', '\n' };
	static const uint8_t deny[] = { 0, 91, 0, 0, 0, 0, 0, 0 };
	static const uint8_t req4a[] = { 4, 1, 0, 25, 0, 0, 0, 9,
	    'u', 0, 'm', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	    'E', 'H', 'L', 'O' };
	static const uint8_t bind[] = { 4, 2, 0, 25, 192, 0, 2, 1, 0 };
	unsigned total;

	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, req, sizeof(req));
	add(&cv, 0, grant, sizeof(grant));
	ADDS(&cv, 1, ehlo);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.kind, PROXY_KIND_SOCKS4);
	CHECK(strcmp(o.host, "192.0.2.1") == 0);
	CHECK_EQ_INT(o.port, 25);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.req_off, sizeof(req));
	CHECK_EQ_INT(o.srv_off, 8);
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.cli_tunnel, 1);
	CHECK_EQ_INT(o.reply, 90);

	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, req80, sizeof(req80));
	add(&cv, 0, deny, sizeof(deny));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.port, 80);
	CHECK_EQ_INT(o.smtp, 0);
	CHECK_EQ_INT(o.refused, 1);
	CHECK_EQ_INT(o.reply, 91);

	/* SOCKS4a with pipelined client bytes */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, req4a, sizeof(req4a));
	add(&cv, 0, grant, sizeof(grant));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.kind, PROXY_KIND_SOCKS4A);
	CHECK(strcmp(o.host, "mx.example") == 0);
	CHECK_EQ_INT(o.req_off, sizeof(req4a) - 4);
	CHECK_EQ_INT(o.wait, 1);
	CHECK_EQ_INT(o.srv_off, 8);

	{
		struct proxy_state st;
		size_t c;

		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, req, sizeof(req), &c),
		    PROXY_REQUEST);
		CHECK_BSTR(proxy_username(&st, &total), "bob");
		CHECK_EQ_INT(total, 3);
		CHECK_EQ_INT(proxy_target_addr_type(&st), PROXY_ADDR_IPV4);
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, req4a, sizeof(req4a), &c),
		    PROXY_REQUEST);
		CHECK_EQ_INT(proxy_target_addr_type(&st), PROXY_ADDR_DOMAIN);
		CHECK_EQ_INT(proxy_feed(&st, 1, req4a + c, sizeof(req4a) - c,
		    &c), PROXY_WAIT);
		CHECK_EQ_INT(proxy_feed(&st, 0, grant, sizeof(grant), &c),
		    PROXY_TUNNEL);
		CHECK_EQ_INT(c, 8);
		CHECK_EQ_INT(proxy_feed(&st, 0, grant, sizeof(grant), &c),
		    PROXY_TUNNEL);
		CHECK_EQ_INT(c, 0);
		CHECK_EQ_INT(proxy_feed(&st, 1, req4a, 1, &c), PROXY_TUNNEL);
		CHECK_EQ_INT(c, 0);
	}

	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, bind, sizeof(bind));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.not, 1);

	/* a USERID with no NUL within the cap */
	{
		static uint8_t longu[8 + 300];
		struct proxy_state st;
		size_t c;

		memcpy(longu, req, 8);
		memset(longu + 8, 'u', 300);
		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, longu, sizeof(longu), &c),
		    PROXY_NOT);
	}
}

static void
test_socks5(void)
{
	struct conv cv;
	struct outcome o;
	/* optimistic client: greeting + request (domain) in one segment */
	static const uint8_t greq[] = { 5, 1, 0,
	    5, 1, 0, 3, 14, 'm', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	    '.', 'o', 'r', 'g', 0, 25 };
	/* server: choice + reply + banner in one segment */
	static const uint8_t crep[] = { 5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0x9c,
	    0x40, '2', '2', '0', ' ', 'x', '\r', '\n' };
	static const uint8_t greet2[] = { 5, 2, 0, 2 };
	static const uint8_t choose2[] = { 5, 2 };
	static const uint8_t auth[] = { 1, 5, 'a', 'l', 'i', 'c', 'e',
	    3, 'p', 'w', 'd' };
	static const uint8_t authok[] = { 1, 0 };
	static const uint8_t authbad[] = { 1, 1 };
	static const uint8_t req6[] = { 5, 1, 0, 4,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
	    0x02, 0x4b };
	static const uint8_t rep6[] = { 5, 0, 0, 4,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0x12, 0x34, '2', '2', '0' };
	static const uint8_t req4_80[] = { 5, 1, 0, 1, 198, 51, 100, 9, 0, 80 };
	static const uint8_t repdom[] = { 5, 0, 0, 3, 3, 'a', '.', 'b', 0, 1 };
	static const uint8_t repfail[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t noacc[] = { 5, 0xff };
	static const uint8_t udp[] = { 5, 1, 0, 5, 3, 0, 1, 1, 2, 3, 4, 0, 25 };
	static const uint8_t gss[] = { 5, 1 };
	unsigned total;

	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greq, sizeof(greq));
	add(&cv, 0, crep, sizeof(crep));
	ADDS(&cv, 1, ehlo);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.kind, PROXY_KIND_SOCKS5);
	CHECK(strcmp(o.host, "mx.example.org") == 0);
	CHECK_EQ_INT(o.port, 25);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.req_off, sizeof(greq));
	CHECK_EQ_INT(o.srv_off, 12);
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.cli_tunnel, 1);
	CHECK_EQ_INT(o.method, 0);
	CHECK_EQ_INT(o.astatus, -1);
	CHECK_EQ_INT(o.reply, 0);

	/* username/password, IPv6 target port 587, in separate segments */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greet2, sizeof(greet2));
	add(&cv, 0, choose2, sizeof(choose2));
	add(&cv, 1, auth, sizeof(auth));
	add(&cv, 0, authok, sizeof(authok));
	add(&cv, 1, req6, sizeof(req6));
	add(&cv, 0, rep6, sizeof(rep6));
	CHECK(run_all(&cv, &o));
	CHECK(strcmp(o.host, "2001:db8::25") == 0);
	CHECK_EQ_INT(o.port, 587);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.method, 2);
	CHECK_EQ_INT(o.astatus, 0);
	CHECK_EQ_INT(o.req_off, sizeof(greet2) + sizeof(auth) + sizeof(req6));
	CHECK_EQ_INT(o.srv_off, sizeof(choose2) + sizeof(authok) + 22);
	CHECK_EQ_INT(o.srv_tunnel, 1);
	CHECK_EQ_INT(o.wait, 0);
	{
		struct proxy_state st;
		size_t c;

		proxy_init(&st);
		CHECK_EQ_INT(proxy_feed(&st, 1, greet2, sizeof(greet2), &c),
		    PROXY_MORE);
		CHECK_EQ_INT(c, sizeof(greet2));
		CHECK_EQ_INT(proxy_methods_offered(&st), 0x05);
		CHECK_EQ_INT(proxy_feed(&st, 1, auth, sizeof(auth), &c),
		    PROXY_MORE);
		CHECK_EQ_INT(proxy_request_seen(&st), 0);
		CHECK_EQ_INT(proxy_target_port(&st), 0);
		CHECK_EQ_INT(proxy_feed(&st, 1, req6, sizeof(req6), &c),
		    PROXY_REQUEST);
		CHECK_EQ_INT(proxy_request_seen(&st), 1);
		CHECK_EQ_INT(proxy_target_addr_type(&st), PROXY_ADDR_IPV6);
		CHECK_BSTR(proxy_username(&st, &total), "alice");
		CHECK_EQ_INT(total, 5);
	}

	/* auth failure */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greet2, sizeof(greet2));
	add(&cv, 0, choose2, sizeof(choose2));
	add(&cv, 1, auth, sizeof(auth));
	add(&cv, 0, authbad, sizeof(authbad));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.refused, 1);
	CHECK_EQ_INT(o.astatus, 1);
	CHECK_EQ_INT(o.req, 0);

	/* no acceptable method */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greet2, sizeof(greet2));
	add(&cv, 0, noacc, sizeof(noacc));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.refused, 1);
	CHECK_EQ_INT(o.method, 0xff);

	/* IPv4 target port 80, bound address as a domain in the reply */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greq, 3);
	add(&cv, 0, crep, 2);
	add(&cv, 1, req4_80, sizeof(req4_80));
	add(&cv, 0, repdom, sizeof(repdom));
	CHECK(run_all(&cv, &o));
	CHECK(strcmp(o.host, "198.51.100.9") == 0);
	CHECK_EQ_INT(o.port, 80);
	CHECK_EQ_INT(o.smtp, 0);
	CHECK_EQ_INT(o.srv_off, 2 + sizeof(repdom));
	CHECK_EQ_INT(o.srv_tunnel, 1);

	/* connection refused by the destination */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greq, sizeof(greq));
	add(&cv, 0, crep, 2);
	add(&cv, 0, repfail, sizeof(repfail));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.req, 1);
	CHECK_EQ_INT(o.smtp, 1);
	CHECK_EQ_INT(o.refused, 1);
	CHECK_EQ_INT(o.reply, 5);

	/* UDP ASSOCIATE is not a CONNECT */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greq, 3);
	add(&cv, 1, udp, sizeof(udp));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.not, 1);

	/* GSSAPI chosen: cannot follow */
	memset(&cv, 0, sizeof(cv));
	add(&cv, 1, greq, 3);
	add(&cv, 0, gss, sizeof(gss));
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.not, 1);
}

static void
test_not_proxy(void)
{
	struct conv cv;
	struct outcome o;
	struct proxy_state st;
	size_t c;

	/* SMTP: the server speaks first */
	memset(&cv, 0, sizeof(cv));
	ADDS(&cv, 0, banner);
	ADDS(&cv, 1, ehlo);
	CHECK(run_all(&cv, &o));
	CHECK_EQ_INT(o.not, 1);
	CHECK_EQ_INT(o.kind, PROXY_KIND_NONE);

	/* sticky NOT */
	proxy_init(&st);
	CHECK_EQ_INT(proxy_feed(&st, 1, (const uint8_t *)"EHLO", 4, &c),
	    PROXY_NOT);
	CHECK_EQ_INT(proxy_feed(&st, 1, (const uint8_t *)"\x05\x01\x00", 3,
	    &c), PROXY_NOT);
	CHECK_EQ_INT(c, 0);

	/* empty feeds are harmless */
	proxy_init(&st);
	CHECK_EQ_INT(proxy_feed(&st, 0, NULL, 0, &c), PROXY_MORE);
	CHECK_EQ_INT(proxy_feed(&st, 1, NULL, 0, &c), PROXY_MORE);
	CHECK_EQ_INT(c, 0);

	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"CONNECT ", 8), 1);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"CON", 3), 1);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"CONNECT mx:25 HTTP/1.1\r\n\r\n",
	    27), 1);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"\x05\x01\x00", 3), 1);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"\x05\x00", 2), 0);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"\x04\x01\x00\x19", 4), 1);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"\x04\x02", 2), 0);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"EHLO x\r\n", 8), 0);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"GET / HTTP/1.1\r\n", 16), 0);
	CHECK_EQ_INT(proxy_sniff((const uint8_t *)"\x16\x03\x01", 3), 0);
	CHECK_EQ_INT(proxy_sniff(NULL, 0), 0);
	CHECK(strcmp(proxy_kind_name(PROXY_KIND_NONE), "") == 0);
	CHECK(sizeof(struct proxy_state) <= 320);
}

static uint32_t rng = 0x12345678u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random and mutated conversations: no crash, and chunking-invariant. */
static void
test_fuzz(void)
{
	static const uint8_t s5c[] = { 5, 2, 0, 2, 1, 2, 'u', 'v', 1, 'p',
	    5, 1, 0, 3, 3, 'a', '.', 'b', 0, 25, 'E', 'H' };
	static const uint8_t s5s[] = { 5, 2, 1, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0,
	    25, '2', '2' };
	static const uint8_t s4c[] = { 4, 1, 0, 25, 0, 0, 0, 1, 'u', 0, 'h',
	    0, 'E' };
	static const uint8_t s4s[] = { 0, 90, 0, 0, 0, 0, 0, 0, '2' };
	static const char hc[] = "CONNECT [::1]:25 HTTP/1.1\r\nA: b\r\n\r\nEH";
	static const char hs[] = "HTTP/1.1 200 OK\r\n\r\n220";
	const uint8_t *base_c[3] = { s5c, s4c, (const uint8_t *)hc };
	const uint8_t *base_s[3] = { s5s, s4s, (const uint8_t *)hs };
	size_t len_c[3] = { sizeof(s5c), sizeof(s4c), sizeof(hc) - 1 };
	size_t len_s[3] = { sizeof(s5s), sizeof(s4s), sizeof(hs) - 1 };
	uint8_t bc[64], bs[64];
	struct conv cv;
	struct outcome o, x;
	int iter, k, m, ok = 1, granted = 0;

	for (iter = 0; iter < 3000; iter++) {
		size_t nc, ns;

		k = iter % 3;
		nc = len_c[k];
		ns = len_s[k];
		memcpy(bc, base_c[k], nc);
		memcpy(bs, base_s[k], ns);
		if (iter >= 3) {
			for (m = (int)(rnd() % 3) + 1; m > 0; m--) {
				if (rnd() & 1)
					bc[rnd() % nc] = (uint8_t)rnd();
				else
					bs[rnd() % ns] = (uint8_t)rnd();
			}
			if (rnd() % 4 == 0)
				nc = rnd() % (nc + 1);
		}
		if (iter % 10 == 9) {
			for (m = 0; m < 64; m++) {
				bc[m] = (uint8_t)rnd();
				bs[m] = (uint8_t)rnd();
			}
			bc[0] = (uint8_t)(3 + rnd() % 3);
			nc = ns = 64;
		}
		memset(&cv, 0, sizeof(cv));
		add(&cv, 1, bc, nc);
		add(&cv, 0, bs, ns);
		add(&cv, 1, bc, nc);
		run(&cv, 0, 0, 0, &o);
		run(&cv, 1, 0, 0, &x);
		ok &= same(&o, &x);
		run(&cv, 2, (int)(rnd() % 3), rnd() % (nc + 1 < ns + 1 ?
		    nc + 1 : ns + 1), &x);
		ok &= same(&o, &x);
		if (o.srv_tunnel)
			granted++;
	}
	CHECK(ok);
	CHECK(granted > 3);

	/* pure random bytes, every first byte */
	for (iter = 0; iter < 20000; iter++) {
		struct proxy_state st;
		uint8_t buf[300];
		size_t n = rnd() % sizeof(buf), c, off = 0;
		enum proxy_result r;

		for (m = 0; m < (int)n; m++)
			buf[m] = (uint8_t)rnd();
		proxy_init(&st);
		while (off < n) {
			size_t step = 1 + rnd() % 16;

			if (step > n - off)
				step = n - off;
			r = proxy_feed(&st, (int)(rnd() & 1), buf + off, step,
			    &c);
			if (c > step)
				ok = 0;
			off += step;
			if (r == PROXY_NOT)
				break;
		}
		(void)proxy_sniff(buf, n);
		(void)proxy_target_host(&st);
	}
	CHECK(ok);
}

int
main(void)
{
	test_http();
	test_socks4();
	test_socks5();
	test_not_proxy();
	test_fuzz();
	return CHECK_DONE();
}
