/*
 * test_addr.c - msghdr_addresses: display names, quotes, comments, groups,
 * routes, broken lists from the spam and phishing corpora, random input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/msghdr.h"
#include "tests/unit/check.h"

#define BLOCK 16384

static struct pool *blocks;
static struct arena ar;

static uint64_t rng = 0x853c49e6748fea9bull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/*
 * Parse `in` and compare with the expected addresses, "|"-separated ("" for
 * none).
 */
static void
check_list(int line, const char *in, const char *want)
{
	struct bstr out[16];
	char got[1024];
	size_t k = 0;
	unsigned n, i;

	n = msghdr_addresses(&ar, bstr_cstr(in), out, 16);
	got[0] = '\0';
	for (i = 0; i < n && k + out[i].len + 2 < sizeof(got); i++) {
		if (i > 0)
			got[k++] = '|';
		memcpy(got + k, out[i].p, out[i].len);
		k += out[i].len;
		got[k] = '\0';
	}
	if (strcmp(got, want) == 0) {
		check_pass++;
	} else {
		check_fail++;
		fprintf(stderr, "FAIL %s:%d: [%s] -> [%s], want [%s]\n",
		    __FILE__, line, in, got, want);
	}
}

#define CHECK_ADDRS(in, want) check_list(__LINE__, in, want)

static void
test_forms(void)
{
	CHECK_ADDRS("a@b", "a@b");
	CHECK_ADDRS("  a@b  ", "a@b");
	CHECK_ADDRS("<a@b>", "a@b");
	CHECK_ADDRS("< a@b >", "a@b");
	CHECK_ADDRS("Name <a@b>", "a@b");
	CHECK_ADDRS("Name<a@b>", "a@b");
	CHECK_ADDRS("\"Quoted, Name\" <a@b>", "a@b");
	CHECK_ADDRS("\"Wynne, Conor\" <conor_wynne@maxtor.com>",
	    "conor_wynne@maxtor.com");
	CHECK_ADDRS("a@b (comment)", "a@b");
	CHECK_ADDRS("a@b (comment, with <x@y>)", "a@b");
	CHECK_ADDRS("yyyy@spamassassin.taint.org (Justin Mason)",
	    "yyyy@spamassassin.taint.org");
	CHECK_ADDRS("(lead) a@b", "a@b");
	CHECK_ADDRS("a@b (nested (comment, here) x), c@d", "a@b|c@d");
	CHECK_ADDRS("a@b, c@d,e@f", "a@b|c@d|e@f");
	CHECK_ADDRS("a@b,,, ,c@d,", "a@b|c@d");
	CHECK_ADDRS("\"Nick Murtagh\" <nickm@go2.ie>, <webdev@linux.ie>",
	    "nickm@go2.ie|webdev@linux.ie");
	CHECK_ADDRS("\"'mconway35@eircom.net'\" <mconway35@eircom.net>, "
	    "ILUG@linux.ie", "mconway35@eircom.net|ILUG@linux.ie");
	CHECK_ADDRS("bitbitch@magnesium.net, \"Adam L. Beberg\" "
	    "<beberg@mithral.com>,", "bitbitch@magnesium.net|beberg@mithral.com");
	CHECK_ADDRS("<raj_deol2002in@yahoo.co.in>", "raj_deol2002in@yahoo.co.in");
	CHECK_ADDRS("\"john doe\"@example.com", "\"john doe\"@example.com");
	CHECK_ADDRS("\"a@b\"", "a@b");
	CHECK_ADDRS("user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]");
	CHECK_ADDRS("Name <user@[1.2.3.4]>", "user@[1.2.3.4]");
	CHECK_ADDRS("Name \\\"x <a@b>", "a@b");
	CHECK_ADDRS("", "");
	CHECK_ADDRS("Kristalina Georgieva", "");
	CHECK_ADDRS("<>", "");
	CHECK_ADDRS("Name <postmaster>", "postmaster");
	CHECK_ADDRS("a@b <c@d>", "c@d");
	CHECK_ADDRS("<a@b> <c@d>", "a@b");
}

static void
test_groups(void)
{
	CHECK_ADDRS("undisclosed-recipients:;", "");
	CHECK_ADDRS("Undisclosed recipients:;", "");
	CHECK_ADDRS("Friends: a@b, c@d;", "a@b|c@d");
	CHECK_ADDRS("Friends: a@b, \"X\" <c@d>; e@f", "a@b|c@d|e@f");
	CHECK_ADDRS("A: a@b; B: c@d;", "a@b|c@d");
	CHECK_ADDRS("\"Group: name\" <a@b>", "a@b");
	CHECK_ADDRS("Empty:; x@y", "x@y");
	CHECK_ADDRS("Friends: a@b, c@d", "a@b|c@d");
	CHECK_ADDRS("mailto:a@b", "a@b");
}

static void
test_obsolete(void)
{
	CHECK_ADDRS("<@route1,@route2:a@b>", "a@b");
	CHECK_ADDRS("Name <@r:a@b>, c@d", "a@b|c@d");
	CHECK_ADDRS("john @ example.com", "john@example.com");
	CHECK_ADDRS("john@ example.com (x)", "john@example.com");
	CHECK_ADDRS("john (c) @example.com", "john@example.com");
	CHECK_ADDRS("<john (c) @ example.com>", "john@example.com");
	CHECK_ADDRS("Inc. support@evil.example", "support@evil.example");
	CHECK_ADDRS("Name a@b", "a@b");
	CHECK_ADDRS("Subject : x, a@b", "a@b");
}

static void
test_broken(void)
{
	/* missing closing characters */
	CHECK_ADDRS("Name <a@b", "a@b");
	CHECK_ADDRS("Name <a@b, c@d", "a@b|c@d");
	CHECK_ADDRS("A <a@b, c@d>", "a@b|c@d");
	CHECK_ADDRS("\"Name <a@b>", "a@b");
	CHECK_ADDRS("a@b (comment", "a@b");
	CHECK_ADDRS("(comment a@b", "a@b");
	CHECK_ADDRS("user@[1.2.3.4", "user@[1.2.3.4");
	/* from corpus/mail/phishing_pot */
	CHECK_ADDRS("Ihr lokaler Discounter,(<service@otto.de>)",
	    "service@otto.de");
	CHECK_ADDRS("=?UTF-8?B?VG90YWwgQVbihKI=?= "
	    "<newsletter.phishing@pot@goitrogenheadlock.us>",
	    "newsletter.phishing@pot@goitrogenheadlock.us");
	CHECK_ADDRS("\"BANK OF AMERICA\"<ecs-49-0-248-79.compute.hwclouds-dns.com>",
	    "ecs-49-0-248-79.compute.hwclouds-dns.com");
	CHECK_ADDRS("Netto 250 Voucher, Netto 250 Voucher, "
	    "<newsletter@mail.toom.de>", "newsletter@mail.toom.de");
	CHECK_ADDRS("\"MEI Digital - contato@meiportaldoempreendedor.com.br\" "
	    "<contato@servicodecampanhas.com.br>",
	    "contato@servicodecampanhas.com.br");
	CHECK_ADDRS("=?UTF-8?Q?=F0=9F=91=91_K=C3=B6nigliche?= <noreply@x.example>",
	    "noreply@x.example");
	CHECK_ADDRS("David H=?ISO-8859-1?B?9g==?=hn <dh@uptime.at>",
	    "dh@uptime.at");
	/* an encoded word is never the address, even with an @ inside */
	CHECK_ADDRS("=?utf-8?Q?boss@bank.example?= <evil@x.example>",
	    "evil@x.example");
	CHECK_ADDRS("=?utf-8?Q?boss@bank.example?=", "");
	CHECK_ADDRS("\"draft-sullivan-cfrg-voprf.authors@ietf.org\"",
	    "draft-sullivan-cfrg-voprf.authors@ietf.org");
}

static void
test_limits(void)
{
	static char big[70000];
	struct bstr out[4];
	const char *in = "a@b, c@d, e@f, g@h, i@j";
	unsigned n, i;
	size_t k;

	n = msghdr_addresses(&ar, bstr_cstr(in), out, 3);
	CHECK_EQ_INT(n, 3);
	CHECK_BSTR(out[2], "e@f");
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(in), out, 0), 0);
	CHECK_EQ_INT(msghdr_addresses(&ar, BSTR_NULL, out, 4), 0);
	/* slices of the value when contiguous */
	n = msghdr_addresses(&ar, bstr_cstr(in), out, 4);
	CHECK(n == 4 && out[1].p == (const uint8_t *)in + 5);
	/* joined pieces need the arena: without one they are skipped */
	CHECK_EQ_INT(msghdr_addresses(NULL, bstr_cstr("a @ b, c@d"), out, 4),
	    1);
	CHECK_BSTR(out[0], "c@d");

	/* pathological values stay linear and bounded */
	memset(big, '"', sizeof(big) - 1);
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(big), out, 4), 0);
	memset(big, '(', sizeof(big) - 1);
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(big), out, 4), 0);
	for (k = 0; k + 2 < sizeof(big); k += 2)
		memcpy(big + k, "=?", 2);
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(big), out, 4), 0);
	for (k = 0; k + 2 < sizeof(big); k += 2)
		memcpy(big + k, "\\\"", 2);
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(big), out, 4), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[30000] = '@';
	for (k = 30001; k < 40000; k++)
		big[k] = ':';
	CHECK_EQ_INT(msghdr_addresses(&ar, bstr_cstr(big), out, 4), 1);
	memset(big, '<', sizeof(big) - 1);
	big[100] = '@';
	n = msghdr_addresses(&ar, bstr_cstr(big), out, 4);
	CHECK(n <= 4);
	for (k = 0; k + 4 < sizeof(big); k += 4)
		memcpy(big + k, "a @ ", 4);
	n = msghdr_addresses(&ar, bstr_cstr(big), out, 4);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && out[0].len <= 64);
	for (i = 0; i < n; i++)
		CHECK(out[i].len <= sizeof(big));
	arena_reset(&ar);
}

static void
test_random(void)
{
	static const char alpha[] = "a@b.\"\\()<>,;:[] \t=?Q";
	char buf[512];
	struct bstr out[8];
	unsigned it, n, i, bad = 0;
	size_t len, k;

	for (it = 0; it < 50000; it++) {
		len = rnd() % sizeof(buf);
		for (k = 0; k < len; k++) {
			uint32_t r = rnd();
			buf[k] = (r & 7) ? alpha[(r >> 3) % (sizeof(alpha) - 1)]
			    : (char)(r >> 8);
		}
		n = msghdr_addresses(&ar, bstr_make(buf, len), out, 8);
		if (n > 8)
			bad++;
		for (i = 0; i < n && i < 8; i++) {
			if (out[i].len == 0 || out[i].len > len)
				bad++;
		}
		if (it % 1000 == 0)
			arena_reset(&ar);
	}
	CHECK_EQ_INT(bad, 0);
}

int
main(void)
{
	blocks = pool_create(BLOCK, 256);
	if (blocks == NULL)
		return 2;
	arena_init(&ar, blocks);
	test_forms();
	test_groups();
	test_obsolete();
	test_broken();
	test_limits();
	test_random();
	arena_reset(&ar);
	pool_destroy(blocks);
	return CHECK_DONE();
}
