/*
 * community_id.c - Community ID v1 and the SHA-1 it needs.
 *
 * Design: the spec (github.com/corelight/community-id-spec) hashes, in
 * network byte order, seed(2) saddr(4|16) daddr(4|16) proto(1) pad(1)
 * sport(2) dport(2), with the endpoints swapped when needed so the smaller
 * (address, port) comes first, and prints "1:" + base64(digest).  The hash
 * input is built in one stack buffer and digested with a plain FIPS 180-4
 * SHA-1 (once per flow, so speed does not matter).  Rejected: linking
 * OpenSSL or libgcrypt for 80 lines of code, and the caller passing the
 * tuple pre-ordered (easy to get wrong; ordering here keeps the ID the same
 * for both directions by construction).
 */
#include "community_id.h"

#include <string.h>

#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void
sha1_block(struct sha1_ctx *c, const uint8_t *p)
{
	uint32_t w[80], a, b, cc, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = c->h[0];
	b = c->h[1];
	cc = c->h[2];
	d = c->h[3];
	e = c->h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & cc) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ cc ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & cc) | (b & d) | (cc & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ cc ^ d;
			k = 0xca62c1d6;
		}
		t = ROL32(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = ROL32(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

void
sha1_init(struct sha1_ctx *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->h[4] = 0xc3d2e1f0;
	c->len = 0;
	c->buflen = 0;
}

void
sha1_update(struct sha1_ctx *c, const void *v, size_t n)
{
	const uint8_t *p = v;
	size_t take;

	c->len += n;
	if (c->buflen > 0) {
		take = 64 - c->buflen;
		if (take > n)
			take = n;
		memcpy(c->buf + c->buflen, p, take);
		c->buflen += (uint32_t)take;
		p += take;
		n -= take;
		if (c->buflen < 64)
			return;
		sha1_block(c, c->buf);
		c->buflen = 0;
	}
	while (n >= 64) {
		sha1_block(c, p);
		p += 64;
		n -= 64;
	}
	if (n > 0) {
		memcpy(c->buf, p, n);
		c->buflen = (uint32_t)n;
	}
}

void
sha1_final(struct sha1_ctx *c, uint8_t out[20])
{
	uint64_t bits = c->len * 8;
	int i;

	c->buf[c->buflen++] = 0x80;
	if (c->buflen > 56) {
		memset(c->buf + c->buflen, 0, 64 - c->buflen);
		sha1_block(c, c->buf);
		c->buflen = 0;
	}
	memset(c->buf + c->buflen, 0, 56 - c->buflen);
	for (i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_block(c, c->buf);
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
	c->buflen = 0;
}

static void
base64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = tab[(v >> 18) & 63];
		*out++ = tab[(v >> 12) & 63];
		*out++ = tab[(v >> 6) & 63];
		*out++ = tab[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = tab[(v >> 18) & 63];
		*out++ = tab[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = tab[(v >> 18) & 63];
		*out++ = tab[(v >> 12) & 63];
		*out++ = tab[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

void
community_id_v1(int ipver, const uint8_t *saddr, const uint8_t *daddr,
    uint8_t proto, uint16_t sport, uint16_t dport, uint16_t seed, char *out)
{
	uint8_t in[2 + 16 + 16 + 2 + 4], dig[20];
	size_t alen = ipver == 6 ? 16 : 4, o = 0;
	const uint8_t *a1 = saddr, *a2 = daddr;
	uint16_t p1 = sport, p2 = dport;
	struct sha1_ctx c;
	int cmp;

	cmp = memcmp(saddr, daddr, alen);
	if (cmp > 0 || (cmp == 0 && sport > dport)) {
		a1 = daddr;
		a2 = saddr;
		p1 = dport;
		p2 = sport;
	}
	in[o++] = (uint8_t)(seed >> 8);
	in[o++] = (uint8_t)seed;
	memcpy(in + o, a1, alen);
	o += alen;
	memcpy(in + o, a2, alen);
	o += alen;
	in[o++] = proto;
	in[o++] = 0;
	in[o++] = (uint8_t)(p1 >> 8);
	in[o++] = (uint8_t)p1;
	in[o++] = (uint8_t)(p2 >> 8);
	in[o++] = (uint8_t)p2;

	sha1_init(&c);
	sha1_update(&c, in, o);
	sha1_final(&c, dig);
	out[0] = '1';
	out[1] = ':';
	base64_encode(dig, sizeof(dig), out + 2);
}
