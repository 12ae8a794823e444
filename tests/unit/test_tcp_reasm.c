/*
 * test_tcp_reasm.c - stream reassembly: order, holes, overlaps, caps.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/tcp_reasm.h"
#include "tests/unit/check.h"

#define REC_MAX (1u << 20)
#define GAPFILL 0xEE

struct rec {
	uint8_t *buf[2];
	uint8_t *gapmask;        /* dir 0: 1 where a gap was reported */
	size_t len[2];
	unsigned ngaps[2];
	uint64_t gapbytes[2];
	size_t gap_off[2][16];
	uint32_t gap_len[2][16];
	unsigned anom[2][ANOM_COUNT];
	unsigned bad;
};

static void
rec_data(void *u, int dir, const uint8_t *d, uint32_t len, uint64_t ts)
{
	struct rec *r = u;

	(void)ts;
	if (len == 0 || r->len[dir] + len > REC_MAX) {
		r->bad++;
		return;
	}
	memcpy(r->buf[dir] + r->len[dir], d, len);
	r->len[dir] += len;
}

static void
rec_gap(void *u, int dir, uint32_t len, uint64_t ts)
{
	struct rec *r = u;

	(void)ts;
	if (r->ngaps[dir] < 16) {
		r->gap_off[dir][r->ngaps[dir]] = r->len[dir];
		r->gap_len[dir][r->ngaps[dir]] = len;
	}
	r->ngaps[dir]++;
	r->gapbytes[dir] += len;
	if (len == 0 || r->len[dir] + len > REC_MAX) {
		r->bad++;
		return;
	}
	memset(r->buf[dir] + r->len[dir], GAPFILL, len);
	if (dir == 0 && r->gapmask != NULL)
		memset(r->gapmask + r->len[dir], 1, len);
	r->len[dir] += len;
}

static void
rec_anom(void *u, int dir, enum anom_id a, uint64_t ts)
{
	struct rec *r = u;

	(void)ts;
	if ((unsigned)a < ANOM_COUNT)
		r->anom[dir][a]++;
}

static void
rec_init(struct rec *r, struct tcp_reasm_out *o)
{
	memset(r, 0, sizeof(*r));
	r->buf[0] = malloc(REC_MAX);
	r->buf[1] = malloc(REC_MAX);
	o->data = rec_data;
	o->gap = rec_gap;
	o->anomaly = rec_anom;
	o->u = r;
}

static void
rec_free(struct rec *r)
{
	free(r->buf[0]);
	free(r->buf[1]);
}

static unsigned
rec_anoms(const struct rec *r)
{
	unsigned i, n = 0;

	for (i = 0; i < ANOM_COUNT; i++)
		n += r->anom[0][i] + r->anom[1][i];
	return n;
}

static struct pkt
mk(uint32_t seq, uint32_t ack, uint8_t flags, const void *d, uint32_t n)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ipver = 4;
	p.seq = seq;
	p.ack = ack;
	p.tcp_flags = flags;
	p.payload = d;
	p.payload_len = n;
	p.ts_us = 1000000;
	return p;
}

static int
feed(struct tcp_reasm *r, struct tcp_conn *c, int dir, uint32_t seq,
    uint32_t ack, uint8_t flags, const void *d, uint32_t n,
    const struct tcp_reasm_out *o)
{
	struct pkt p = mk(seq, ack, flags, d, n);

	return tcp_reasm_packet(r, c, dir, &p, o);
}

#define ACKF PKT_TH_ACK
#define SYN PKT_TH_SYN
#define FIN PKT_TH_FIN

static struct tcp_reasm *
mkr(uint64_t memcap, uint32_t ooo_cap)
{
	struct tcp_reasm_config cfg;

	cfg.memcap = memcap;
	cfg.flow_ooo_cap = ooo_cap;
	return tcp_reasm_create(&cfg);
}

/* Handshake with client ISN ci and server ISN si; no ACK from the client. */
static void
handshake(struct tcp_reasm *r, struct tcp_conn *c, uint32_t ci, uint32_t si,
    const struct tcp_reasm_out *o)
{
	tcp_conn_init(c);
	feed(r, c, 0, ci, 0, SYN, NULL, 0, o);
	feed(r, c, 1, si, ci + 1, SYN | ACKF, NULL, 0, o);
	feed(r, c, 0, ci + 1, si + 1, ACKF, NULL, 0, o);
}

static uint64_t
rng_state;

static uint32_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static void
fill(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static void
test_in_order(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;

	rec_init(&rc, &o);
	tcp_conn_init(&c);
	CHECK_EQ_INT(c.state, TCP_CONN_NEW);
	feed(r, &c, 0, 1000, 0, SYN, NULL, 0, &o);
	CHECK(c.s[0].flags & TCP_S_SYN);
	CHECK_EQ_INT(c.s[0].next_seq, 1001);
	feed(r, &c, 1, 5000, 1001, SYN | ACKF, NULL, 0, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_NEW);
	feed(r, &c, 0, 1001, 5001, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_ESTABLISHED);
	feed(r, &c, 1, 5001, 1001, ACKF, "220 hi\r\n", 8, &o);
	feed(r, &c, 0, 1001, 5009, ACKF, "EHLO x\r\n", 8, &o);
	feed(r, &c, 1, 5009, 1009, ACKF, "250 ok\r\n", 8, &o);
	feed(r, &c, 0, 1009, 5017, ACKF, "QUIT\r\n", 6, &o);
	CHECK_EQ_INT(rc.len[0], 14);
	CHECK(memcmp(rc.buf[0], "EHLO x\r\nQUIT\r\n", 14) == 0);
	CHECK_EQ_INT(rc.len[1], 16);
	CHECK(memcmp(rc.buf[1], "220 hi\r\n250 ok\r\n", 16) == 0);
	feed(r, &c, 1, 5017, 1015, ACKF | FIN, "221 bye\r\n", 9, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSING);
	CHECK(c.s[1].flags & TCP_S_FIN);
	CHECK_EQ_INT(c.s[1].fin_seq, 5026);
	feed(r, &c, 0, 1015, 5027, ACKF | FIN, NULL, 0, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSED);
	CHECK_EQ_INT(rc.len[1], 25);
	CHECK_EQ_INT(rec_anoms(&rc), 0);
	CHECK_EQ_INT(rc.ngaps[0] + rc.ngaps[1], 0);
	CHECK_EQ_INT(c.s[0].delivered, 14);
	tcp_reasm_flush(r, &c, 2000000, &o);
	CHECK_EQ_INT(rc.ngaps[0] + rc.ngaps[1], 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.bytes_in_order, 39);
	CHECK_EQ_INT(st.out_of_order, 0);
	CHECK_EQ_INT(st.mem_in_use, 0);
	CHECK_EQ_INT(rc.bad, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_reverse(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	uint8_t data[1000];
	int i;

	rec_init(&rc, &o);
	fill(data, sizeof(data));
	handshake(r, &c, 100, 900, &o);
	for (i = 9; i >= 0; i--)
		feed(r, &c, 0, 101 + 100 * i, 901, ACKF, data + 100 * i, 100,
		    &o);
	CHECK_EQ_INT(rc.len[0], 1000);
	CHECK(memcmp(rc.buf[0], data, 1000) == 0);
	CHECK_EQ_INT(rec_anoms(&rc), 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.out_of_order, 9);
	CHECK_EQ_INT(st.mem_in_use, 0);
	CHECK_EQ_INT(tcp_stream_held(&c.s[0]), 0);
	CHECK_EQ_INT(c.s[0].ooo_bytes, 0);
	CHECK(c.s[0].ooo == NULL);
	tcp_reasm_flush(r, &c, 0, &o);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

struct seg {
	uint32_t off, len;
};

static void
shuffle(struct seg *s, unsigned n)
{
	unsigned i, j;
	struct seg t;

	for (i = n - 1; i > 0; i--) {
		j = rnd() % (i + 1);
		t = s[i];
		s[i] = s[j];
		s[j] = t;
	}
}

/*
 * Random streams cut at random points, shuffled, with duplicates and
 * re-cut overlapping copies of the same bytes: the stream must come out
 * exact, with no gap and no anomaly.
 */
static void
test_random(void)
{
	enum { LEN = 6000, MAXSEG = 600 };
	static uint8_t data[LEN];
	static struct seg segs[4 * LEN];
	struct tcp_reasm *r = mkr(8u << 20, 1u << 20);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	unsigned it, n, i, len, bad = 0, maxseg;
	uint32_t off, isn;

	rec_init(&rc, &o);
	rng_state = 12345;
	for (it = 0; it < 400; it++) {
		len = 1 + rnd() % (it % 4 == 0 ? 1500 : LEN);
		fill(data, len);
		maxseg = it % 4 == 0 ? 1 + rnd() % 4 : 1 + rnd() % MAXSEG;
		n = 0;
		for (off = 0; off < len; off += segs[n - 1].len) {
			segs[n].off = off;
			segs[n].len = 1 + rnd() % maxseg;
			if (segs[n].off + segs[n].len > len)
				segs[n].len = len - off;
			n++;
		}
		/* duplicates and overlapping re-cuts */
		for (i = rnd() % 8; i > 0 && n < 4 * LEN; i--) {
			segs[n].off = rnd() % len;
			segs[n].len = 1 + rnd() % MAXSEG;
			if (segs[n].off + segs[n].len > len)
				segs[n].len = len - segs[n].off;
			n++;
		}
		shuffle(segs, n);
		isn = it % 3 == 0 ? 0xffffffffu - rnd() % 3000 : rnd() << 8;
		rc.len[0] = rc.len[1] = 0;
		memset(rc.anom, 0, sizeof(rc.anom));
		memset(rc.ngaps, 0, sizeof(rc.ngaps));
		handshake(r, &c, isn, 77, &o);
		for (i = 0; i < n; i++)
			feed(r, &c, 0, isn + 1 + segs[i].off, 78, ACKF,
			    data + segs[i].off, segs[i].len, &o);
		tcp_reasm_flush(r, &c, 0, &o);
		if (rc.len[0] != len || memcmp(rc.buf[0], data, len) != 0 ||
		    rc.ngaps[0] != 0 || rec_anoms(&rc) != 0 ||
		    c.s[0].next_seq != isn + 1 + len)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	CHECK(st.mem_peak > 0);
	CHECK(st.out_of_order > 0);
	CHECK_EQ_INT(st.overlaps_diff, 0);
	CHECK_EQ_INT(rc.bad, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

/*
 * A lossy capture of a shuffled stream: the receiver gets every segment and
 * ACKs its contiguous prefix; the capture misses some segments and some
 * ACKs; caps are small.  Every byte handed out must be right or inside a
 * reported gap, the total must be exact, and nothing may stay held.
 */
static void
test_random_lossy(void)
{
	enum { LEN = 5000 };
	static uint8_t data[LEN], got[LEN];
	static struct seg segs[LEN];
	struct tcp_reasm *r;
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	unsigned it, n, i, len, bad = 0, badmem = 0, j;
	uint32_t off, isn, rack;
	uint64_t memcap, gaps = 0, ooo_hits = 0, mem_hits = 0;

	rec_init(&rc, &o);
	rc.gapmask = malloc(REC_MAX);
	rng_state = 999;
	for (it = 0; it < 300; it++) {
		memcap = it % 2 ? 1u << 20 : 256u * (1 + rnd() % 12);
		r = mkr(memcap, it % 3 ? 1u << 20 : 1 + rnd() % 3000);
		len = 1 + rnd() % LEN;
		fill(data, len);
		n = 0;
		for (off = 0; off < len; off += segs[n - 1].len) {
			segs[n].off = off;
			segs[n].len = 1 + rnd() % 700;
			if (off + segs[n].len > len)
				segs[n].len = len - off;
			n++;
		}
		shuffle(segs, n);
		isn = rnd() << 4;
		rc.len[0] = rc.len[1] = 0;
		memset(rc.gapmask, 0, len);
		memset(got, 0, len);
		handshake(r, &c, isn, 5, &o);
		rack = 0;
		for (i = 0; i < n; i++) {
			if (rnd() % 10 != 0)
				feed(r, &c, 0, isn + 1 + segs[i].off, 6, ACKF,
				    data + segs[i].off, segs[i].len, &o);
			for (j = segs[i].off; j < segs[i].off + segs[i].len;
			    j++)
				got[j] = 1;
			while (rack < len && got[rack])
				rack++;
			if (rnd() % 3 == 0)
				feed(r, &c, 1, 6, isn + 1 + rack, ACKF, NULL, 0,
				    &o);
		}
		feed(r, &c, 1, 6, isn + 1 + len, ACKF, NULL, 0, &o);
		tcp_reasm_flush(r, &c, 0, &o);
		if (rc.len[0] != len || rec_anoms(&rc) != rc.anom[0][
		    ANOM_STREAM_GAP] + rc.anom[0][ANOM_STREAM_OOO_LIMIT] +
		    rc.anom[0][ANOM_STREAM_MEMCAP])
			bad++;
		for (j = 0; j < len && j < rc.len[0]; j++)
			if (!rc.gapmask[j] && rc.buf[0][j] != data[j]) {
				bad++;
				break;
			}
		tcp_reasm_stats_get(r, &st);
		if (st.mem_in_use != 0 || st.mem_peak > memcap)
			badmem++;
		gaps += st.gaps;
		ooo_hits += st.ooo_limit_hits;
		mem_hits += st.memcap_hits;
		memset(rc.anom, 0, sizeof(rc.anom));
		tcp_reasm_destroy(r);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(badmem, 0);
	CHECK_EQ_INT(rc.bad, 0);
	CHECK(gaps > 100);
	CHECK(ooo_hits > 10);
	CHECK(mem_hits > 10);
	free(rc.gapmask);
	rec_free(&rc);
}

static void
test_duplicates_overlaps(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;

	rec_init(&rc, &o);

	/* exact duplicate of delivered data: no anomaly */
	handshake(r, &c, 0, 500, &o);
	feed(r, &c, 0, 1, 501, ACKF, "abcdef", 6, &o);
	feed(r, &c, 0, 1, 501, ACKF, "abcdef", 6, &o);
	CHECK_EQ_INT(rc.len[0], 6);
	CHECK_EQ_INT(rec_anoms(&rc), 0);
	/* retransmission with different bytes: anomaly, first copy kept */
	feed(r, &c, 0, 3, 501, ACKF, "XY", 2, &o);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 1);
	CHECK_EQ_INT(rc.len[0], 6);
	/* partial overlap, same old bytes, new tail delivered */
	feed(r, &c, 0, 5, 501, ACKF, "efgh", 4, &o);
	CHECK_EQ_INT(rc.len[0], 8);
	CHECK(memcmp(rc.buf[0], "abcdefgh", 8) == 0);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 1);
	/* partial overlap, different old bytes: anomaly, new tail only */
	feed(r, &c, 0, 7, 501, ACKF, "ZZij", 4, &o);
	CHECK_EQ_INT(rc.len[0], 10);
	CHECK(memcmp(rc.buf[0], "abcdefghij", 10) == 0);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 2);

	/* held segments: same-data overlap among held copies */
	feed(r, &c, 0, 15, 501, ACKF, "opqr", 4, &o);       /* 14..17 */
	feed(r, &c, 0, 13, 501, ACKF, "mnop", 4, &o);       /* 12..15 */
	CHECK_EQ_INT(rc.len[0], 10);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 2);
	/* held overlap with different data: first (held) copy wins */
	feed(r, &c, 0, 16, 501, ACKF, "PQRs", 4, &o);       /* 15..18 */
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 3);
	/* in-order segment disagreeing with a held one: held wins */
	feed(r, &c, 0, 11, 501, ACKF, "klMN", 4, &o);       /* 10..13 */
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 4);
	CHECK_EQ_INT(rc.len[0], 19);
	CHECK(memcmp(rc.buf[0], "abcdefghijklmnopqrs", 19) == 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.overlaps_diff, 4);
	CHECK(st.retransmitted >= 2);
	CHECK(st.overlaps >= 4);
	CHECK_EQ_INT(st.mem_in_use, 0);

	/* keep-alive (one old byte of junk): no anomaly */
	feed(r, &c, 0, 19, 501, ACKF, "\0", 1, &o);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 4);
	CHECK_EQ_INT(rc.len[0], 19);
	CHECK_EQ_INT(rc.ngaps[0], 0);
	tcp_reasm_flush(r, &c, 0, &o);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_midstream(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;

	rec_init(&rc, &o);
	tcp_conn_init(&c);
	feed(r, &c, 0, 7777, 333, ACKF, "MAIL FROM:<a@b>\r\n", 17, &o);
	CHECK(c.s[0].flags & TCP_S_MIDSTREAM);
	CHECK(c.s[0].flags & TCP_S_STARTED);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_MIDSTREAM_PICKUP], 1);
	CHECK_EQ_INT(c.state, TCP_CONN_NEW);
	feed(r, &c, 0, 7794, 333, ACKF, "RCPT TO:<c@d>\r\n", 15, &o);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_MIDSTREAM_PICKUP], 1);
	feed(r, &c, 1, 333, 7809, ACKF, "250 ok\r\n", 8, &o);
	CHECK_EQ_INT(rc.anom[1][ANOM_STREAM_MIDSTREAM_PICKUP], 1);
	CHECK_EQ_INT(c.state, TCP_CONN_ESTABLISHED);
	CHECK_EQ_INT(rc.len[0], 32);
	CHECK_EQ_INT(rc.len[1], 8);
	/* old data from before the pickup is dropped quietly */
	feed(r, &c, 0, 7000, 333, ACKF, "xxxx", 4, &o);
	CHECK_EQ_INT(rc.len[0], 32);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OVERLAP_DIFFERENT_DATA], 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.midstream, 2);
	tcp_reasm_flush(r, &c, 0, &o);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_gap_by_ack(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	uint8_t data[400];

	rec_init(&rc, &o);
	fill(data, sizeof(data));
	handshake(r, &c, 1000, 9000, &o);
	feed(r, &c, 0, 1001, 9001, ACKF, data, 100, &o);
	/* 1101..1200 lost; 1201.. arrives and is held */
	feed(r, &c, 0, 1201, 9001, ACKF, data + 200, 100, &o);
	CHECK_EQ_INT(rc.len[0], 100);
	CHECK_EQ_INT(tcp_stream_held(&c.s[0]), 1);
	/* an ACK below the hole moves nothing */
	feed(r, &c, 1, 9001, 1101, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 0);
	/* the server ACKs past the hole: it is lost */
	feed(r, &c, 1, 9001, 1301, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	CHECK_EQ_INT(rc.gap_len[0][0], 100);
	CHECK_EQ_INT(rc.gap_off[0][0], 100);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_GAP], 1);
	CHECK_EQ_INT(rc.len[0], 300);
	CHECK(memcmp(rc.buf[0] + 200, data + 200, 100) == 0);
	CHECK_EQ_INT(c.s[0].gap_bytes, 100);
	/* later data flows on */
	feed(r, &c, 0, 1301, 9001, ACKF, data + 300, 100, &o);
	CHECK_EQ_INT(rc.len[0], 400);
	CHECK(memcmp(rc.buf[0] + 300, data + 300, 100) == 0);
	/* a retransmission of the lost bytes is dropped */
	feed(r, &c, 0, 1101, 9001, ACKF, data + 100, 100, &o);
	CHECK_EQ_INT(rc.len[0], 400);

	/* the peer ACKs bytes never seen: a gap at once, before more data */
	feed(r, &c, 1, 9001, 1601, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 2);
	feed(r, &c, 0, 1601, 9001, ACKF, data, 50, &o);
	CHECK_EQ_INT(rc.ngaps[0], 2);
	CHECK_EQ_INT(rc.gap_len[0][1], 200);
	CHECK_EQ_INT(rc.len[0], 650);
	CHECK(memcmp(rc.buf[0] + 600, data, 50) == 0);
	/* peer ACKed part of a hole: gap to the ACK, the rest waits */
	feed(r, &c, 1, 9001, 1661, ACKF, NULL, 0, &o);
	feed(r, &c, 0, 1701, 9001, ACKF, data, 10, &o);
	CHECK_EQ_INT(rc.ngaps[0], 3);
	CHECK_EQ_INT(rc.gap_len[0][2], 10);
	CHECK_EQ_INT(c.s[0].next_seq, 1661);
	CHECK_EQ_INT(tcp_stream_held(&c.s[0]), 1);
	feed(r, &c, 0, 1661, 9001, ACKF, data + 100, 40, &o);
	CHECK_EQ_INT(c.s[0].next_seq, 1711);
	CHECK_EQ_INT(rc.len[0], 710);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.gaps, 3);
	CHECK_EQ_INT(st.gap_bytes, 310);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 3);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_fin_hole(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;

	rec_init(&rc, &o);
	handshake(r, &c, 0, 100, &o);
	feed(r, &c, 0, 1, 101, ACKF, "hello", 5, &o);
	/* " world" lost, FIN overtakes nothing but the hole */
	feed(r, &c, 0, 12, 101, ACKF | FIN, NULL, 0, &o);
	feed(r, &c, 1, 101, 13, ACKF | FIN, NULL, 0, &o);
	/* the server's ACK of the FIN covers the hole: closed */
	CHECK_EQ_INT(rc.ngaps[0], 1);
	CHECK_EQ_INT(rc.gap_len[0][0], 6);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSED);
	CHECK(c.s[0].flags & TCP_S_CLOSED);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);

	/* reordered FIN: data still comes and the close waits for it */
	memset(rc.ngaps, 0, sizeof(rc.ngaps));
	rc.len[0] = 0;
	handshake(r, &c, 0, 100, &o);
	feed(r, &c, 1, 101, 1, ACKF | FIN, NULL, 0, &o);
	feed(r, &c, 0, 4, 102, ACKF | FIN, "def", 3, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSING);
	feed(r, &c, 0, 1, 102, ACKF, "abc", 3, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSED);
	CHECK_EQ_INT(rc.len[0], 6);
	CHECK(memcmp(rc.buf[0], "abcdef", 6) == 0);
	/* bytes beyond the FIN are not stream data */
	feed(r, &c, 0, 7, 102, ACKF, "zzz", 3, &o);
	CHECK_EQ_INT(rc.len[0], 6);
	CHECK_EQ_INT(rc.ngaps[0], 0);
	tcp_reasm_flush(r, &c, 0, &o);

	/* held bytes that a later FIN puts beyond the end are dropped */
	rc.len[0] = 0;
	handshake(r, &c, 0, 100, &o);
	feed(r, &c, 0, 4, 101, ACKF, "defgh", 5, &o);
	feed(r, &c, 0, 6, 101, ACKF | FIN, "f", 1, &o);
	CHECK_EQ_INT(c.s[0].fin_seq, 7);
	feed(r, &c, 0, 1, 101, ACKF, "abc", 3, &o);
	CHECK_EQ_INT(rc.len[0], 6);
	CHECK(memcmp(rc.buf[0], "abcdef", 6) == 0);
	CHECK(c.s[0].flags & TCP_S_CLOSED);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.len[0], 6);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_flush_hole(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;

	rec_init(&rc, &o);
	handshake(r, &c, 50, 60, &o);
	feed(r, &c, 0, 51, 61, ACKF, "AAAA", 4, &o);
	feed(r, &c, 0, 59, 61, ACKF, "CCCC", 4, &o);
	feed(r, &c, 0, 67, 61, ACKF, "EEEE", 4, &o);
	feed(r, &c, 1, 61, 55, ACKF, "srv", 3, &o);
	CHECK_EQ_INT(rc.len[0], 4);
	CHECK_EQ_INT(tcp_stream_held(&c.s[0]), 2);
	tcp_reasm_stats_get(r, &st);
	CHECK(st.mem_in_use > 0);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 2);
	CHECK_EQ_INT(rc.gap_len[0][0], 4);
	CHECK_EQ_INT(rc.gap_len[0][1], 4);
	CHECK_EQ_INT(rc.len[0], 20);
	CHECK(memcmp(rc.buf[0], "AAAA\xee\xee\xee\xee" "CCCC\xee\xee\xee\xee"
	    "EEEE", 20) == 0);
	CHECK_EQ_INT(rc.len[1], 3);
	CHECK_EQ_INT(rc.ngaps[1], 0);
	CHECK(c.s[0].ooo == NULL);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	/* a second flush is harmless */
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 2);
	/* the flushed connection takes no more data */
	CHECK_EQ_INT(feed(r, &c, 0, 71, 61, ACKF, "F", 1, &o), 0);
	CHECK_EQ_INT(rc.len[0], 20);

	/* flush: bytes the peer ACKed but we never saw are a gap */
	handshake(r, &c, 50, 60, &o);
	rc.len[0] = 0;
	memset(rc.ngaps, 0, sizeof(rc.ngaps));
	feed(r, &c, 0, 51, 61, ACKF, "AAAA", 4, &o);
	feed(r, &c, 1, 61, 65, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	CHECK_EQ_INT(rc.gap_len[0][0], 10);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_ooo_cap(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 100);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	uint8_t data[1000];
	int i;

	rec_init(&rc, &o);
	fill(data, sizeof(data));
	handshake(r, &c, 0, 0, &o);
	/* byte 1..10 lost; 40-byte segments after it */
	for (i = 0; i < 4; i++)
		feed(r, &c, 0, 11 + 40 * i, 1, ACKF, data + 10 + 40 * i, 40,
		    &o);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OOO_LIMIT], 1);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	CHECK_EQ_INT(rc.gap_len[0][0], 10);
	/* the two held were delivered at the cap, the rest in order */
	CHECK_EQ_INT(rc.len[0], 170);
	CHECK_EQ_INT(c.s[0].ooo_bytes, 0);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.ooo_limit_hits, 1);
	/* a single segment larger than the cap: gap to it, delivered */
	feed(r, &c, 0, 300, 1, ACKF, data, 200, &o);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_OOO_LIMIT], 2);
	CHECK(c.s[0].ooo == NULL);
	CHECK_EQ_INT(c.s[0].next_seq, 500);
	CHECK_EQ_INT(rc.len[0], 499);
	CHECK(memcmp(rc.buf[0] + 299, data, 200) == 0);
	CHECK(memcmp(rc.buf[0] + 10, data + 10, 160) == 0);
	tcp_reasm_flush(r, &c, 0, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_memcap(void)
{
	/* room for two small blocks and nothing more */
	struct tcp_reasm *r = mkr(512, 1 << 20);
	struct tcp_conn c1, c2;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	uint8_t data[3000];

	rec_init(&rc, &o);
	fill(data, sizeof(data));
	handshake(r, &c1, 0, 0, &o);
	handshake(r, &c2, 0, 0, &o);
	feed(r, &c1, 0, 11, 1, ACKF, data, 10, &o);
	feed(r, &c1, 0, 31, 1, ACKF, data, 10, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 512);
	CHECK_EQ_INT(st.memcap_hits, 0);
	/* c2 holds nothing: its hole becomes a gap, the data goes through */
	feed(r, &c2, 0, 101, 1, ACKF, data, 10, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.memcap_hits, 1);
	CHECK_EQ_INT(rc.anom[0][ANOM_STREAM_MEMCAP], 1);
	CHECK_EQ_INT(c2.s[0].next_seq, 111);
	CHECK_EQ_INT(c2.s[0].gap_bytes, 100);
	/* c1 at the cap flushes its own queue, then holds the new one */
	feed(r, &c1, 0, 51, 1, ACKF, data, 10, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.memcap_hits, 2);
	CHECK_EQ_INT(c1.s[0].next_seq, 41);
	CHECK_EQ_INT(tcp_stream_held(&c1.s[0]), 1);
	CHECK_EQ_INT(st.mem_in_use, 256);
	CHECK(st.mem_peak <= 512);
	/* a large held payload needs a 2 KiB block: over the cap */
	feed(r, &c2, 0, 1000, 1, ACKF, data, 3000, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.memcap_hits, 3);
	CHECK_EQ_INT(c2.s[0].next_seq, 4000);
	tcp_reasm_flush(r, &c1, 0, &o);
	tcp_reasm_flush(r, &c2, 0, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_large_held(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	static uint8_t data[20000];

	rec_init(&rc, &o);
	fill(data, sizeof(data));
	handshake(r, &c, 0xfffff000u, 0, &o);
	feed(r, &c, 0, 0xfffff001u + 9000, 1, ACKF, data + 9000, 9000, &o);
	feed(r, &c, 0, 0xfffff001u + 18000, 1, ACKF, data + 18000, 2000, &o);
	CHECK(tcp_stream_held(&c.s[0]) >= 5);
	CHECK_EQ_INT(c.s[0].ooo_bytes, 11000);
	feed(r, &c, 0, 0xfffff001u, 1, ACKF, data, 9000, &o);
	CHECK_EQ_INT(rc.len[0], 20000);
	CHECK(memcmp(rc.buf[0], data, 20000) == 0);
	CHECK_EQ_INT(c.s[0].next_seq, (uint32_t)(0xfffff001u + 20000));
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.mem_in_use, 0);
	CHECK_EQ_INT(rec_anoms(&rc), 0);
	tcp_reasm_flush(r, &c, 0, &o);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

static void
test_wrap_and_misc(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;
	struct rec rc;
	struct tcp_reasm_stats st;
	uint32_t isn = 0xfffffffdu;

	rec_init(&rc, &o);
	/* wraparound: bytes at ffffffff, 0, 1, ... */
	handshake(r, &c, isn, 0, &o);
	feed(r, &c, 0, 1, 1, ACKF, "cd", 2, &o);
	feed(r, &c, 0, 0xfffffffeu, 1, ACKF, "0a", 2, &o);
	feed(r, &c, 0, 0, 1, ACKF, "b", 1, &o);
	CHECK_EQ_INT(rc.len[0], 5);
	CHECK(memcmp(rc.buf[0], "0abcd", 5) == 0);
	CHECK_EQ_INT(c.s[0].next_seq, 3);
	/* ACK across the wrap: a hole is lost */
	feed(r, &c, 0, 5, 1, ACKF, "f", 1, &o);
	feed(r, &c, 1, 1, 6, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	CHECK_EQ_INT(rc.gap_len[0][0], 2);
	CHECK_EQ_INT(c.s[0].next_seq, 6);
	tcp_reasm_flush(r, &c, 0, &o);
	CHECK_EQ_INT(rc.ngaps[0], 1);
	memset(rc.anom, 0, sizeof(rc.anom));

	/* TCP Fast Open: data on the SYN starts at isn + 1 */
	rc.len[0] = 0;
	memset(rc.ngaps, 0, sizeof(rc.ngaps));
	tcp_conn_init(&c);
	feed(r, &c, 0, 500, 0, SYN, "EHLO", 4, &o);
	CHECK_EQ_INT(rc.len[0], 4);
	CHECK_EQ_INT(c.s[0].next_seq, 505);
	/* SYN retransmitted with the same data: nothing new */
	feed(r, &c, 0, 500, 0, SYN, "EHLO", 4, &o);
	CHECK_EQ_INT(rc.len[0], 4);
	/* a SYN with another ISN is refused */
	CHECK(feed(r, &c, 0, 9999, 0, SYN, NULL, 0, &o) < 0);
	CHECK_EQ_INT(feed(r, &c, 0, 505, 0, ACKF, " x\r\n", 4, &o), 0);
	CHECK_EQ_INT(rc.len[0], 8);
	CHECK_EQ_INT(rec_anoms(&rc), 0);
	/* bad direction */
	CHECK(feed(r, &c, 2, 505, 0, ACKF, NULL, 0, &o) < 0);
	/* RST closes */
	feed(r, &c, 1, 0, 0, PKT_TH_RST, NULL, 0, &o);
	CHECK_EQ_INT(c.state, TCP_CONN_CLOSED);
	CHECK(c.s[1].flags & TCP_S_RST);
	tcp_reasm_flush(r, &c, 0, &o);
	tcp_reasm_stats_get(r, &st);
	CHECK_EQ_INT(st.ignored, 2);
	CHECK_EQ_INT(st.mem_in_use, 0);
	CHECK_EQ_INT(rc.bad, 0);
	rec_free(&rc);
	tcp_reasm_destroy(r);
}

/* Out callbacks left NULL are skipped. */
static void
test_null_out(void)
{
	struct tcp_reasm *r = mkr(1 << 20, 1 << 16);
	struct tcp_conn c;
	struct tcp_reasm_out o;

	memset(&o, 0, sizeof(o));
	handshake(r, &c, 0, 0, &o);
	feed(r, &c, 0, 5, 1, ACKF, "x", 1, &o);
	feed(r, &c, 1, 1, 9, ACKF, NULL, 0, &o);
	CHECK_EQ_INT(c.s[0].next_seq, 9);
	tcp_reasm_flush(r, &c, 0, &o);
	tcp_reasm_destroy(r);
	CHECK(tcp_reasm_create(NULL) == NULL);
	tcp_reasm_destroy(NULL);
}

int
main(void)
{
	test_in_order();
	test_reverse();
	test_random();
	test_random_lossy();
	test_duplicates_overlaps();
	test_midstream();
	test_gap_by_ack();
	test_fin_hole();
	test_flush_hole();
	test_ooo_cap();
	test_memcap();
	test_large_held();
	test_wrap_and_misc();
	test_null_out();
	return CHECK_DONE();
}
