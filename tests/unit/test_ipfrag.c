/*
 * test_ipfrag.c - IPv4/IPv6 reassembly: order, overlap, duplicates, the
 * rebuilt header, memcap eviction, timeout, size limits, and a randomized
 * split/shuffle/duplicate round trip with exact memory accounting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/ipfrag.h"

static const uint8_t src4[4] = { 10, 0, 0, 1 }, dst4[4] = { 10, 0, 0, 2 };

/* An IPv4 header (hdr_len 20 + optlen) for a fragment; checksum left 0. */
static size_t
v4hdr(uint8_t *h, uint16_t id, uint8_t proto, size_t optlen)
{
	size_t hl = 20 + optlen, i;

	memset(h, 0, hl);
	h[0] = (uint8_t)(0x40 | (hl / 4));
	h[4] = (uint8_t)(id >> 8);
	h[5] = (uint8_t)id;
	h[6] = 0x20;                    /* MF, as a fragment would have */
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, src4, 4);
	memcpy(h + 16, dst4, 4);
	for (i = 20; i < hl; i++)
		h[i] = 1;               /* NOP options */
	return hl;
}

static size_t
v6hdr(uint8_t *h, size_t ext)
{
	size_t i;

	memset(h, 0, 40 + ext);
	h[0] = 0x60;
	h[6] = ext ? 0 : 44;            /* hop-by-hop, or straight to frag */
	h[7] = 64;
	h[8] = 0x20;
	h[9] = 0x01;
	h[23] = 1;
	h[24] = 0x20;
	h[25] = 0x01;
	h[39] = 2;
	if (ext) {
		h[40] = 44;             /* next: fragment header */
		h[41] = (uint8_t)(ext / 8 - 1);
		for (i = 42; i < 40 + ext; i++)
			h[i] = 0;       /* Pad1 */
		h[42] = 1;              /* PadN covering the rest */
		h[43] = (uint8_t)(ext - 4);
	}
	return 40 + ext;
}

static uint16_t
cksum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
fill(uint8_t *d, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

static enum ipfrag_status
add4(struct ipfrag_table *t, const uint8_t *hdr, size_t hl, uint16_t id,
    uint8_t proto, uint32_t off, int more, const uint8_t *data, size_t len,
    uint64_t ts, const uint8_t **out, size_t *out_len, enum anom_id *a)
{
	return ipfrag_add(t, 4, hdr, hl, id, proto, off, more, data, len, ts,
	    out, out_len, a);
}

static void
test_v4_orders(void)
{
	struct ipfrag_table *t = ipfrag_create(1 << 20, 60);
	struct ipfrag_stats st;
	uint8_t h[60], data[40];
	const uint8_t *out;
	size_t ol, hl;
	enum anom_id a;
	enum ipfrag_status s;

	fill(data, sizeof(data), 1);
	hl = v4hdr(h, 0x1234, 6, 4);    /* with 4 bytes of options */

	/* in order */
	s = add4(t, h, hl, 0x1234, 6, 0, 1, data, 16, 1, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	CHECK_EQ_INT(a, ANOM_NONE);
	CHECK(out == NULL);
	s = add4(t, h, hl, 0x1234, 6, 16, 1, data + 16, 16, 2, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, 20, 0x1234, 6, 32, 0, data + 32, 8, 3, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(a, ANOM_NONE);
	CHECK_EQ_INT(ol, 24 + 40);
	CHECK(out != NULL && memcmp(out + 24, data, 40) == 0);
	CHECK(out != NULL && out[0] == 0x46);
	CHECK_EQ_INT((out[2] << 8) | out[3], 64);
	CHECK_EQ_INT(out[6], 0);
	CHECK_EQ_INT(out[7], 0);
	CHECK_EQ_INT(out[9], 6);
	CHECK(memcmp(out + 12, src4, 4) == 0 && memcmp(out + 16, dst4, 4) == 0);
	CHECK_EQ_INT(cksum(out, 24), 0);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.frags, 3);
	CHECK_EQ_INT(st.datagrams, 1);
	CHECK_EQ_INT(st.mem_in_use, 0);

	/* reverse order: the header still comes from the offset-0 fragment */
	s = add4(t, h, 20, 0x1235, 6, 32, 0, data + 32, 8, 4, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	ipfrag_stats_get(t, &st);
	CHECK(st.mem_in_use > 0);
	s = add4(t, h, 20, 0x1235, 6, 16, 1, data + 16, 16, 5, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	h[5] = 0x35;
	s = add4(t, h, hl, 0x1235, 6, 0, 1, data, 16, 6, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 64);
	CHECK(out != NULL && memcmp(out + 24, data, 40) == 0);
	CHECK(out != NULL && out[5] == 0x35 && out[0] == 0x46);

	/* DF survives, MF and offset do not */
	hl = v4hdr(h, 0x1236, 6, 0);
	h[6] = 0x60;
	s = add4(t, h, hl, 0x1236, 6, 0, 1, data, 8, 7, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 0x1236, 6, 8, 0, data + 8, 3, 8, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 31);
	CHECK(out != NULL && out[6] == 0x40 && out[7] == 0);
	CHECK_EQ_INT(cksum(out, 20), 0);

	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.datagrams, 3);
	CHECK_EQ_INT(st.mem_in_use, 0);
	ipfrag_destroy(t);
}

static void
test_v4_overlap_dup(void)
{
	struct ipfrag_table *t = ipfrag_create(1 << 20, 60);
	struct ipfrag_stats st;
	uint8_t h[60], data[48], evil[48];
	const uint8_t *out;
	size_t ol, hl;
	enum anom_id a;
	enum ipfrag_status s;

	fill(data, sizeof(data), 2);
	memcpy(evil, data, sizeof(evil));
	memset(evil + 8, 'X', 16);
	hl = v4hdr(h, 7, 6, 0);

	/* duplicate with equal bytes: no anomaly */
	s = add4(t, h, hl, 7, 6, 0, 1, data, 24, 1, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 7, 6, 0, 1, data, 24, 1, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	CHECK_EQ_INT(a, ANOM_NONE);
	/* overlap with different bytes: anomaly, first copy wins */
	s = add4(t, h, hl, 7, 6, 8, 1, evil + 8, 24, 2, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_OVERLAP);
	s = add4(t, h, hl, 7, 6, 32, 0, data + 32, 16, 3, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 20 + 48);
	CHECK(out != NULL && memcmp(out + 20, data, 48) == 0);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.overlaps, 1);

	/* the overlap that completes the datagram reports and completes */
	s = add4(t, h, hl, 8, 6, 0, 1, data, 16, 4, &out, &ol, &a);
	s = add4(t, h, hl, 8, 6, 24, 0, data + 24, 24, 4, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 8, 6, 8, 1, evil + 8, 24, 5, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_OVERLAP);
	CHECK(out != NULL && memcmp(out + 20, data, 16) == 0);
	CHECK(out != NULL && memcmp(out + 36, evil + 16, 8) == 0);
	CHECK(out != NULL && memcmp(out + 44, data + 24, 24) == 0);

	/* two last fragments disagreeing on the end: datagram dropped */
	s = add4(t, h, hl, 9, 6, 16, 0, data, 16, 6, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 9, 6, 16, 0, data, 8, 6, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_OVERLAP);
	/* data past a known end: dropped */
	s = add4(t, h, hl, 10, 6, 8, 0, data, 8, 6, &out, &ol, &a);
	s = add4(t, h, hl, 10, 6, 8, 1, data, 16, 6, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	/* a last fragment ending before data already held: dropped */
	s = add4(t, h, hl, 11, 6, 16, 1, data, 16, 6, &out, &ol, &a);
	s = add4(t, h, hl, 11, 6, 0, 0, data, 8, 6, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);

	/* the protocol is part of the IPv4 key */
	s = add4(t, h, hl, 12, 6, 0, 1, data, 8, 7, &out, &ol, &a);
	s = add4(t, h, hl, 12, 17, 8, 0, data + 8, 8, 7, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 12, 6, 8, 0, data + 8, 8, 7, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);

	/* a non-final fragment not a multiple of 8 is cut down to one */
	s = add4(t, h, hl, 13, 6, 0, 1, data, 13, 8, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 13, 6, 8, 0, data + 8, 10, 8, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 38);
	CHECK_EQ_INT(a, ANOM_NONE);

	/* a datagram over 65535 bytes */
	s = add4(t, h, hl, 14, 6, 0, 1, data, 16, 9, &out, &ol, &a);
	s = add4(t, h, hl, 14, 6, 65512, 0, data, 8, 9, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_TOO_LARGE);
	s = add4(t, h, hl, 14, 6, 65504, 0, data, 8, 9, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);   /* the earlier part went with it */
	/* bad arguments */
	s = add4(t, h, 12, 15, 6, 0, 1, data, 16, 9, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	s = add4(t, h, hl, 15, 6, 3, 1, data, 16, 9, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);

	ipfrag_stats_get(t, &st);
	CHECK(st.mem_in_use > 0);
	ipfrag_expire(t, 1000ull * 1000000);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	ipfrag_destroy(t);
}

static void
test_v6(void)
{
	struct ipfrag_table *t = ipfrag_create(1 << 20, 60);
	struct ipfrag_stats st;
	uint8_t h[128], data[100];
	const uint8_t *out;
	size_t ol, hl;
	enum anom_id a;
	enum ipfrag_status s;

	fill(data, sizeof(data), 3);

	/* no extension header before the fragment header */
	hl = v6hdr(h, 0);
	s = ipfrag_add(t, 6, h, hl, 0xdeadbeef, 6, 48, 0, data + 48, 52, 1,
	    &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	/* a non-first fragment may carry another next header: v6 ignores it */
	s = ipfrag_add(t, 6, h, hl, 0xdeadbeef, 17, 24, 1, data + 24, 24, 1,
	    &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = ipfrag_add(t, 6, h, hl, 0xdeadbeef, 6, 0, 1, data, 24, 1,
	    &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 140);
	CHECK(out != NULL && out[6] == 6);
	CHECK(out != NULL && ((out[4] << 8) | out[5]) == 100);
	CHECK(out != NULL && memcmp(out + 8, h + 8, 32) == 0);
	CHECK(out != NULL && memcmp(out + 40, data, 100) == 0);

	/* a hop-by-hop header in the unfragmentable part gets the next hdr */
	hl = v6hdr(h, 16);
	s = ipfrag_add(t, 6, h, hl, 5, 6, 0, 1, data, 40, 2, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = ipfrag_add(t, 6, h, hl, 5, 6, 40, 0, data + 40, 60, 2, &out, &ol,
	    &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK_EQ_INT(ol, 156);
	CHECK(out != NULL && out[6] == 0 && out[40] == 6 && out[41] == 1);
	CHECK(out != NULL && ((out[4] << 8) | out[5]) == 116);
	CHECK(out != NULL && memcmp(out + 56, data, 100) == 0);

	/* the same id from another source is another datagram */
	s = ipfrag_add(t, 6, h, hl, 6, 6, 0, 1, data, 40, 3, &out, &ol, &a);
	h[23] = 9;
	s = ipfrag_add(t, 6, h, hl, 6, 6, 40, 0, data + 40, 8, 3, &out, &ol,
	    &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	h[23] = 1;
	s = ipfrag_add(t, 6, h, hl, 6, 6, 40, 0, data + 40, 8, 3, &out, &ol,
	    &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);

	/* unfragmentable part + data past a 65535-byte payload */
	s = ipfrag_add(t, 6, h, hl, 7, 6, 65512, 0, data, 8, 3, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_TOO_LARGE);
	ipfrag_destroy(t);
	(void)st;
}

static void
test_memcap(void)
{
	struct ipfrag_table *t = ipfrag_create(4000, 60);
	struct ipfrag_stats st;
	uint8_t h[60], data[64];
	const uint8_t *out;
	size_t ol, hl;
	enum anom_id a;
	enum ipfrag_status s;
	int i, evicted = 0;

	fill(data, sizeof(data), 4);
	hl = v4hdr(h, 0, 6, 0);
	for (i = 0; i < 10; i++) {
		s = add4(t, h, hl, (uint16_t)(100 + i), 6, 0, 1, data, 32,
		    (uint64_t)i, &out, &ol, &a);
		CHECK_EQ_INT(s, IPFRAG_HELD);
		if (a == ANOM_DECODE_FRAG_MEMCAP)
			evicted++;
		ipfrag_stats_get(t, &st);
		CHECK(st.mem_in_use <= st.mem_cap);
		CHECK(st.mem_in_use > 0);
	}
	CHECK(evicted > 0);
	ipfrag_stats_get(t, &st);
	CHECK(st.memcap_hits > 0);
	CHECK_EQ_INT(st.memcap_hits, evicted);
	CHECK_EQ_INT(st.mem_cap, 4000);
	/* the oldest went first: completing it now only starts a new one */
	s = add4(t, h, hl, 100, 6, 32, 0, data + 32, 32, 20, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	/* the newest is still there */
	s = add4(t, h, hl, 109, 6, 32, 0, data + 32, 32, 21, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	CHECK(out != NULL && ol == 84 && memcmp(out + 20, data, 64) == 0);

	/* a datagram that cannot fit even alone is refused */
	{
		static uint8_t big[8192];

		s = add4(t, h, hl, 200, 6, 0, 1, big, sizeof(big), 22, &out,
		    &ol, &a);
		CHECK_EQ_INT(s, IPFRAG_DROPPED);
		CHECK_EQ_INT(a, ANOM_DECODE_FRAG_MEMCAP);
	}
	ipfrag_stats_get(t, &st);
	CHECK(st.mem_in_use <= st.mem_cap);
	CHECK(st.mem_in_use > 0);       /* refused without flushing the rest */
	ipfrag_expire(t, 1000ull * 1000000);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	ipfrag_destroy(t);

	/* a cap of zero holds nothing and never crashes */
	t = ipfrag_create(0, 60);
	s = add4(t, h, hl, 1, 6, 0, 1, data, 32, 0, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DROPPED);
	CHECK_EQ_INT(a, ANOM_DECODE_FRAG_MEMCAP);
	ipfrag_destroy(t);
}

static void
test_timeout(void)
{
	struct ipfrag_table *t = ipfrag_create(1 << 20, 30);
	struct ipfrag_stats st;
	uint8_t h[60], data[32];
	const uint8_t *out;
	size_t ol, hl;
	enum anom_id a;
	enum ipfrag_status s;
	uint64_t sec = 1000000, base = 1700000000ull * 1000000;
	int i;

	fill(data, sizeof(data), 5);
	hl = v4hdr(h, 0, 6, 0);
	s = add4(t, h, hl, 1, 6, 0, 1, data, 16, base, &out, &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	s = add4(t, h, hl, 2, 6, 0, 1, data, 16, base + 20 * sec, &out, &ol,
	    &a);
	ipfrag_expire(t, base + 30 * sec);      /* not yet */
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 0);
	ipfrag_expire(t, base + 31 * sec);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 1);
	CHECK(st.mem_in_use > 0);
	/* the late tail of datagram 1 does not complete it */
	s = add4(t, h, hl, 1, 6, 16, 0, data + 16, 16, base + 32 * sec, &out,
	    &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_HELD);
	/* datagram 2 is still within its time */
	s = add4(t, h, hl, 2, 6, 16, 0, data + 16, 16, base + 33 * sec, &out,
	    &ol, &a);
	CHECK_EQ_INT(s, IPFRAG_DONE);
	/* ipfrag_add expires as it goes */
	s = add4(t, h, hl, 3, 6, 0, 1, data, 16, base + 100 * sec, &out, &ol,
	    &a);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 2);

	/* bounded work: many expired datagrams go over several calls */
	for (i = 0; i < 300; i++)
		add4(t, h, hl, (uint16_t)(1000 + i), 6, 0, 1, data, 16,
		    base + 200 * sec, &out, &ol, &a);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 3);
	ipfrag_expire(t, base + 300 * sec);
	ipfrag_stats_get(t, &st);
	CHECK(st.timeouts > 3 && st.timeouts < 303);
	for (i = 0; i < 10; i++)
		ipfrag_expire(t, base + 300 * sec);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 303);
	CHECK_EQ_INT(st.mem_in_use, 0);
	ipfrag_destroy(t);

	/* timeout 0 means the default (60 s) */
	t = ipfrag_create(1 << 20, 0);
	add4(t, h, hl, 1, 6, 0, 1, data, 16, base, &out, &ol, &a);
	ipfrag_expire(t, base + 59 * sec);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 0);
	ipfrag_expire(t, base + 61 * sec);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.timeouts, 1);
	ipfrag_destroy(t);
}

/* Random splits, shuffles and duplicates always rebuild the original. */
static void
test_random(void)
{
	struct ipfrag_table *t = ipfrag_create(1 << 22, 60);
	struct ipfrag_stats st;
	static uint8_t data[65535];
	uint32_t offs[600], lens[600], tmp;
	uint8_t h[60];
	const uint8_t *out;
	size_t ol, hl, total;
	enum anom_id a;
	enum ipfrag_status s;
	int iter, n, i, j, done, bad = 0;
	uint32_t off;

	srand(12345);
	for (iter = 0; iter < 300; iter++) {
		total = 1 + (size_t)rand() % (iter % 10 == 0 ? 65000 : 3000);
		fill(data, total, (unsigned)iter);
		hl = v4hdr(h, (uint16_t)iter, 6, (size_t)(rand() % 3) * 4);
		n = 0;
		for (off = 0; off < total && n < 500; n++) {
			uint32_t l = 8 * (1 + (uint32_t)rand() % 200);

			offs[n] = off;
			lens[n] = off + l >= total ? (uint32_t)total - off : l;
			off += lens[n];
		}
		if (off < total)
			lens[n - 1] = (uint32_t)total - offs[n - 1];
		for (i = 0; i < n && n > 1 && n < 590; i++) {
			if (rand() % 8 == 0) {  /* duplicate */
				offs[n] = offs[i];
				lens[n] = lens[i];
				n++;
			}
		}
		for (i = n - 1; i > 0; i--) {
			j = rand() % (i + 1);
			tmp = offs[i]; offs[i] = offs[j]; offs[j] = tmp;
			tmp = lens[i]; lens[i] = lens[j]; lens[j] = tmp;
		}
		done = 0;
		for (i = 0; i < n; i++) {
			s = add4(t, h, hl, (uint16_t)iter, 6, offs[i],
			    offs[i] + lens[i] < total, data + offs[i], lens[i],
			    (uint64_t)iter, &out, &ol, &a);
			if (a != ANOM_NONE)
				bad++;
			if (s == IPFRAG_DONE) {
				done++;
				if (ol != hl + total ||
				    memcmp(out + hl, data, total) != 0 ||
				    cksum(out, hl) != 0)
					bad++;
			} else if (s != IPFRAG_HELD) {
				bad++;
			}
		}
		/* trailing duplicates start a new datagram; clear them */
		ipfrag_expire(t, (uint64_t)iter + 61 * 1000000ull);
		ipfrag_expire(t, (uint64_t)iter + 61 * 1000000ull);
		if (done != 1)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	ipfrag_stats_get(t, &st);
	CHECK_EQ_INT(st.datagrams, 300);
	CHECK_EQ_INT(st.overlaps, 0);
	ipfrag_destroy(t);
}

int
main(void)
{
	test_v4_orders();
	test_v4_overlap_dup();
	test_v6();
	test_memcap();
	test_timeout();
	test_random();
	return CHECK_DONE();
}
