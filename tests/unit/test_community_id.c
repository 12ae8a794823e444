/*
 * test_community_id.c - SHA-1 (FIPS 180 vectors) and Community ID v1
 * against the baseline of github.com/corelight/community-id-spec
 * (baseline/baseline_deflt.json and baseline_seed1.json).
 */
#include <stdio.h>
#include <string.h>

#include "output/community_id.h"
#include "tests/unit/check.h"

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int
sha1_hex_is(const void *p, size_t n, const char *want)
{
	struct sha1_ctx c;
	uint8_t d[20];
	char h[41];

	sha1_init(&c);
	sha1_update(&c, p, n);
	sha1_final(&c, d);
	hex(d, 20, h);
	return strcmp(h, want) == 0;
}

/* Parse "a.b.c.d" or a full/compressed IPv6 literal (test inputs only). */
static int
parse_ip(const char *s, uint8_t out[16])
{
	unsigned a, b, c, d, w[8] = { 0 }, head[8], tail[8];
	int nh = 0, nt = 0, i, dbl = 0;
	const char *p = s;

	memset(out, 0, 16);
	if (strchr(s, ':') == NULL) {
		if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
			return -1;
		out[0] = (uint8_t)a;
		out[1] = (uint8_t)b;
		out[2] = (uint8_t)c;
		out[3] = (uint8_t)d;
		return 4;
	}
	while (*p) {
		unsigned v;
		int len;

		if (p[0] == ':' && p[1] == ':') {
			dbl = 1;
			p += 2;
			continue;
		}
		if (*p == ':') {
			p++;
			continue;
		}
		if (sscanf(p, "%x%n", &v, &len) != 1)
			return -1;
		if (dbl)
			tail[nt++] = v;
		else
			head[nh++] = v;
		p += len;
	}
	for (i = 0; i < nh; i++)
		w[i] = head[i];
	for (i = 0; i < nt; i++)
		w[8 - nt + i] = tail[i];
	for (i = 0; i < 8; i++) {
		out[2 * i] = (uint8_t)(w[i] >> 8);
		out[2 * i + 1] = (uint8_t)w[i];
	}
	return 6;
}

static int
cid_is(const char *sa, const char *da, uint8_t proto, uint16_t sp,
    uint16_t dp, uint16_t seed, const char *want)
{
	uint8_t s[16], d[16];
	char out[COMMUNITY_ID_LEN];
	int v = parse_ip(sa, s);

	if (v < 0 || parse_ip(da, d) != v)
		return 0;
	memset(out, 'X', sizeof(out));
	community_id_v1(v, s, d, proto, sp, dp, seed, out);
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "  %s %s: got %s want %s\n", sa, da, out, want);
		return 0;
	}
	return 1;
}

int
main(void)
{
	static char million[1000000];
	struct sha1_ctx c;
	uint8_t d[20];
	char h[41];
	size_t i;

	/* FIPS 180-2 appendix A and the usual extra vectors */
	CHECK(sha1_hex_is("abc", 3,
	    "a9993e364706816aba3e25717850c26c9cd0d89d"));
	CHECK(sha1_hex_is("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
	CHECK(sha1_hex_is(
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
	CHECK(sha1_hex_is("The quick brown fox jumps over the lazy dog", 43,
	    "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"));
	memset(million, 'a', sizeof(million));
	CHECK(sha1_hex_is(million, sizeof(million),
	    "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
	/* the same million fed in odd-sized pieces */
	sha1_init(&c);
	for (i = 0; i < sizeof(million); i += 997)
		sha1_update(&c, million + i,
		    sizeof(million) - i < 997 ? sizeof(million) - i : 997);
	sha1_final(&c, d);
	hex(d, 20, h);
	CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
	/* 55, 56 and 64 bytes: the padding boundaries */
	CHECK(sha1_hex_is(million, 55,
	    "c1c8bbdc22796e28c0e15163d20899b65621d65a"));
	CHECK(sha1_hex_is(million, 56,
	    "c2db330f6083854c99d4b5bfb6e8f29f201be699"));
	CHECK(sha1_hex_is(million, 64,
	    "0098ba824b5c16427bd7a1122a5a442a25ec644d"));

	/* Community ID v1, seed 0: the spec's baseline, both directions */
	CHECK(cid_is("128.232.110.120", "66.35.250.204", 6, 34855, 80, 0,
	    "1:LQU9qZlK+B5F3KDmev6m5PMibrg="));
	CHECK(cid_is("66.35.250.204", "128.232.110.120", 6, 80, 34855, 0,
	    "1:LQU9qZlK+B5F3KDmev6m5PMibrg="));
	CHECK(cid_is("2001:470:e5bf:dead:4957:2174:e82c:4887",
	    "2607:f8b0:400c:c03::1a", 6, 63943, 25, 0,
	    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="));
	CHECK(cid_is("2607:f8b0:400c:c03::1a",
	    "2001:470:e5bf:dead:4957:2174:e82c:4887", 6, 25, 63943, 0,
	    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="));
	CHECK(cid_is("192.168.1.52", "8.8.8.8", 17, 54585, 53, 0,
	    "1:d/FP5EW3wiY1vCndhwleRRKHowQ="));
	CHECK(cid_is("8.8.8.8", "192.168.1.52", 17, 53, 54585, 0,
	    "1:d/FP5EW3wiY1vCndhwleRRKHowQ="));
	/* equal ports: the addresses decide */
	CHECK(cid_is("192.168.170.8", "192.168.170.56", 132, 7, 7, 0,
	    "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="));
	CHECK(cid_is("192.168.170.56", "192.168.170.8", 132, 7, 7, 0,
	    "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="));
	/* ICMPv6 with the ports the spec maps type/code to */
	CHECK(cid_is("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea",
	    58, 135, 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="));
	CHECK(cid_is("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2",
	    58, 128, 129, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="));

	/* seed 1 */
	CHECK(cid_is("128.232.110.120", "66.35.250.204", 6, 34855, 80, 1,
	    "1:3V71V58M3Ksw/yuFALMcW0LAHvc="));
	CHECK(cid_is("66.35.250.204", "128.232.110.120", 6, 80, 34855, 1,
	    "1:3V71V58M3Ksw/yuFALMcW0LAHvc="));
	CHECK(cid_is("2607:f8b0:400c:c03::1a",
	    "2001:470:e5bf:dead:4957:2174:e82c:4887", 6, 25, 63943, 1,
	    "1:eJYTW6AOzFLlSUoESovMjnu7rMw="));
	CHECK(cid_is("192.168.1.52", "8.8.8.8", 17, 54585, 53, 1,
	    "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="));

	/* same address both sides: the ports decide */
	{
		uint8_t a[16] = { 10, 0, 0, 1 };
		char x[COMMUNITY_ID_LEN], y[COMMUNITY_ID_LEN];

		community_id_v1(4, a, a, 6, 1234, 25, 0, x);
		community_id_v1(4, a, a, 6, 25, 1234, 0, y);
		CHECK(strcmp(x, y) == 0);
		CHECK(strlen(x) == 30);
	}

	return CHECK_DONE();
}
