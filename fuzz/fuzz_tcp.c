/*
 * fuzz_tcp.c - fuzz target for tcp_reasm (decode/tcp_reasm.c).
 *
 * Input: a 9-byte header, then 5-byte segment records.
 *   header: cfg, ISN of dir 0 (u32 LE), ISN of dir 1 (u32 LE)
 *     cfg bits 0-1  worker memcap   512 / 4 KiB / 64 KiB / 1 MiB
 *     cfg bits 2-3  flow_ooo_cap    100 / 3000 / 64 KiB / 1 MiB
 *     cfg bit 4     consistent payload: byte at sequence number s is
 *                   (uint8_t)s and no payload is read from the input
 *   record: ctl, seq delta (s16 LE), ack delta (s8), len
 *     ctl bit 0     direction
 *     ctl bits 1-6  TCP flags, wire order (FIN SYN RST PSH ACK URG)
 *     ctl bit 7     "big": seq delta x256, ack delta x4096, len x16
 *     seq = end of the last segment given in that direction + delta
 *     ack = end of the last segment given in the other direction + delta
 *     payload: len bytes from the input (or generated), in an exact-size
 *     malloc'ed buffer.
 * Everything goes into one tcp_conn; tcp_reasm_flush ends it.  The 16
 * reassemblers (one per cap pair) are made once and reused, as a worker
 * reuses its own: creating one per input spent most of the time growing
 * pool slabs.  A flushed connection holds nothing, so no state leaks from
 * one input into the next beyond the pools' free lists and the counters.
 *
 * Checks: data() gets non-empty, readable ranges; the bytes delivered per
 * direction never exceed the payload bytes given; the stream's own
 * `delivered` counter agrees; gap lengths are positive; held memory stays
 * within memcap and flow_ooo_cap after every segment and is all freed by
 * the flush.  In consistent mode, where every copy of a sequence number
 * carries the same byte, no overlap may be reported as different and the
 * delivered stream must be contiguous: each byte is the previous one + 1,
 * skipping exactly the length of each reported gap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/pkt.h"
#include "decode/tcp_reasm.h"
#include "fuzz.h"

struct fuzz_tcp {
	int consistent;
	uint64_t given[2], delivered[2], gaps[2];
	int have_last[2];
	uint8_t expect[2];        /* consistent mode: next byte expected */
	struct tcp_conn *c;
};

static void
fuzz_data(void *u, int dir, const uint8_t *d, uint32_t len, uint64_t ts)
{
	struct fuzz_tcp *f = u;
	uint32_t i;

	(void)ts;
	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(len > 0 && d != NULL);
	fuzz_touch(d, len);
	f->delivered[dir] += len;
	FUZZ_CHECK(f->delivered[dir] <= f->given[dir]);
	if (f->consistent) {
		for (i = 0; i < len; i++) {
			if (f->have_last[dir])
				FUZZ_CHECK(d[i] == f->expect[dir]);
			f->have_last[dir] = 1;
			f->expect[dir] = (uint8_t)(d[i] + 1);
		}
	}
}

static void
fuzz_gap(void *u, int dir, uint32_t len, uint64_t ts)
{
	struct fuzz_tcp *f = u;

	(void)ts;
	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(len > 0);
	f->gaps[dir] += len;
	/* the stream moves on by len; with no byte seen yet, the next one
	 * fixes the position */
	f->expect[dir] = (uint8_t)(f->expect[dir] + len);
}

static void
fuzz_anomaly(void *u, int dir, enum anom_id a, uint64_t ts)
{
	struct fuzz_tcp *f = u;

	(void)ts;
	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(a > ANOM_NONE && a < ANOM_COUNT);
	if (f->consistent)
		FUZZ_CHECK(a != ANOM_STREAM_OVERLAP_DIFFERENT_DATA);
}

static const uint64_t fuzz_memcaps[4] = { 512, 4096, 65536, 1u << 20 };
static const uint32_t fuzz_ooocaps[4] = { 100, 3000, 65536, 1u << 20 };
static struct tcp_reasm *fuzz_reasm[16];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct tcp_reasm_config cfg;
	struct tcp_reasm_out out;
	struct tcp_reasm_stats st;
	struct tcp_reasm *r;
	struct tcp_conn conn;
	struct fuzz_tcp f;
	struct pkt p;
	uint32_t end[2], seq, i;
	uint8_t *buf, ctl, big, fl;
	size_t len, got;
	uint64_t ts = 1000000;
	int dir, k;

	memset(&f, 0, sizeof(f));
	ctl = fuzz_u8(&in);
	memset(&cfg, 0, sizeof(cfg));
	cfg.memcap = fuzz_memcaps[ctl & 3];
	cfg.flow_ooo_cap = fuzz_ooocaps[(ctl >> 2) & 3];
	f.consistent = (ctl >> 4) & 1;
	end[0] = fuzz_u32(&in);
	end[1] = fuzz_u32(&in);
	r = fuzz_reasm[ctl & 15];
	if (r == NULL) {
		r = fuzz_reasm[ctl & 15] = tcp_reasm_create(&cfg);
		FUZZ_CHECK(r != NULL);
	}
	tcp_conn_init(&conn);
	f.c = &conn;
	out.data = fuzz_data;
	out.gap = fuzz_gap;
	out.anomaly = fuzz_anomaly;
	out.u = &f;

	while (in.n > 0) {
		ctl = fuzz_u8(&in);
		dir = ctl & 1;
		fl = (ctl >> 1) & 0x3f;
		big = ctl >> 7;
		seq = end[dir] + (uint32_t)((int32_t)(int16_t)fuzz_u16(&in) *
		    (big ? 256 : 1));
		memset(&p, 0, sizeof(p));
		p.ts_us = ts++;
		p.ipver = 4;
		p.l4proto = 6;
		p.tcp_flags = fl;
		p.seq = seq;
		p.ack = end[1 - dir] + (uint32_t)((int32_t)(int8_t)fuzz_u8(&in) *
		    (big ? 4096 : 1));
		p.wscale = 0xff;
		len = (size_t)fuzz_u8(&in) * (big ? 16 : 1);
		if (f.consistent) {
			got = len;
			buf = len > 0 ? malloc(len) : NULL;
			if (len > 0 && buf == NULL)
				break;
			/* payload starts after the SYN's sequence number */
			for (i = 0; i < len; i++)
				buf[i] = (uint8_t)(seq + ((fl & PKT_TH_SYN) ?
				    1 : 0) + i);
		} else {
			buf = fuzz_take(&in, len, &got);
		}
		p.payload = buf;
		p.payload_len = (uint32_t)got;
		p.payload_wire_len = (uint32_t)got;
		p.l3_len = (uint32_t)got + 40;
		f.given[dir] += got;
		k = tcp_reasm_packet(r, &conn, dir, &p, &out);
		FUZZ_CHECK(k <= 0);
		end[dir] = seq + (uint32_t)got + ((fl & PKT_TH_SYN) ? 1 : 0) +
		    ((fl & PKT_TH_FIN) ? 1 : 0);
		free(buf);

		tcp_reasm_stats_get(r, &st);
		FUZZ_CHECK(st.mem_in_use <= cfg.memcap);
		FUZZ_CHECK(st.mem_peak <= cfg.memcap);
		for (k = 0; k < 2; k++) {
			FUZZ_CHECK(conn.s[k].ooo_bytes <= cfg.flow_ooo_cap);
			FUZZ_CHECK(conn.s[k].delivered == f.delivered[k]);
			FUZZ_CHECK(conn.s[k].gap_bytes == f.gaps[k]);
			FUZZ_CHECK((conn.s[k].ooo == NULL) ==
			    (conn.s[k].ooo_bytes == 0));
		}
		FUZZ_CHECK(conn.state <= TCP_CONN_CLOSED);
	}

	tcp_reasm_flush(r, &conn, ts, &out);
	tcp_reasm_stats_get(r, &st);
	FUZZ_CHECK(st.mem_in_use == 0);
	for (k = 0; k < 2; k++) {
		FUZZ_CHECK(conn.s[k].ooo == NULL);
		FUZZ_CHECK(conn.s[k].ooo_bytes == 0);
		FUZZ_CHECK(conn.s[k].delivered == f.delivered[k]);
		FUZZ_CHECK(conn.s[k].delivered <= f.given[k]);
		FUZZ_CHECK(conn.s[k].gap_bytes == f.gaps[k]);
	}
	return 0;
}
