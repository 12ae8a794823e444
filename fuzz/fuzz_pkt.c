/*
 * fuzz_pkt.c - fuzz target for pkt_decode (decode/pkt.c, decode/ipfrag.c)
 * and the flow lookup the worker does on each decoded segment.
 *
 * Input: byte 0 picks the link type and how the frame is presented:
 *   bits 0-3  index into the supported DLTs (10..14 wrap, 15 is a DLT the
 *             decoder does not know);
 *   bits 4-5  wirelen: = caplen, 0 (unknown), caplen + 1500 (snaplen cut),
 *             caplen / 2 (a capture header that lies);
 *   bit 6     several frames: the rest is [u16 LE length][frame]...
 *             instead of a single frame, so a fragment train is replayed
 *             deterministically within one input;
 *   bit 7     the packet clock jumps 61 s first (fragment and flow timeouts).
 * The rest is one frame (or the frames), each copied into an exact-size
 * malloc'ed buffer.  The fragment table and the flow table are static, so
 * fragments of earlier inputs can complete or time out (state carried
 * across inputs, as in the reader thread); multi-frame inputs make the
 * same paths reproducible on their own.
 *
 * Checks (contract of pkt.h): PKT_INVALID always names an anomaly; a
 * TCP segment has ipver 4/6, proto 6, its payload inside the frame (or the
 * reassembly buffer, every byte readable), payload_wire_len equal to
 * payload_len unless truncated (then larger); pkt_flow_hash is symmetric;
 * the fragment table never holds more than its cap; flow_get finds a flow
 * whose endpoint for `dir` is the packet's sender.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/flow.h"
#include "decode/ipfrag.h"
#include "decode/pkt.h"
#include "fuzz.h"

#define FUZZ_FRAG_MEMCAP (128u * 1024)

static const int fuzz_dlts[] = {
	PKT_DLT_NULL, PKT_DLT_EN10MB, PKT_DLT_RAW, PKT_DLT_RAW_OPENBSD,
	PKT_DLT_LOOP, PKT_DLT_LINUX_SLL, PKT_DLT_LINKTYPE_RAW, PKT_DLT_IPV4,
	PKT_DLT_IPV6, PKT_DLT_LINUX_SLL2,
};
#define FUZZ_NDLT (sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]))

static struct ipfrag_table *frag;
static struct flow_table *flows;
static uint64_t now_us = 1700000000ull * 1000000;

static void
fuzz_flow_end(void *u, struct flow *f, enum flow_end_reason why)
{
	(void)u;
	FUZZ_CHECK(f != NULL && f->app == NULL);
	FUZZ_CHECK(why <= FLOW_END_SHUTDOWN);
}

static void
fuzz_setup(void)
{
	struct flow_config fc;

	if (frag != NULL)
		return;
	frag = ipfrag_create(FUZZ_FRAG_MEMCAP, 0);
	memset(&fc, 0, sizeof(fc));
	fc.max_flows = 64;
	fc.hash_buckets = 1024;
	fc.timeout_new = 60;
	fc.timeout_established = 600;
	fc.timeout_closed = 60;
	flows = flow_table_create(&fc, fuzz_flow_end, NULL);
	FUZZ_CHECK(frag != NULL && flows != NULL);
}

static void
fuzz_check_tcp(const struct pkt *p, const uint8_t *frame, size_t caplen)
{
	struct pkt q;
	struct flow *f;
	const uint8_t *addr;
	uint16_t port;
	uint32_t h;
	int dir = -1, created = -1;

	FUZZ_CHECK(p->ipver == 4 || p->ipver == 6);
	FUZZ_CHECK(p->l4proto == 6);
	FUZZ_CHECK(p->vlan_count <= PKT_MAX_VLAN);
	if (p->payload_len > 0)
		FUZZ_CHECK(p->payload != NULL);
	if (!p->reassembled && p->payload_len > 0) {
		FUZZ_CHECK(p->payload >= frame);
		FUZZ_CHECK(p->payload_len <= caplen);
		FUZZ_CHECK((size_t)(p->payload - frame) <=
		    caplen - p->payload_len);
	}
	fuzz_touch(p->payload, p->payload_len);
	if (p->truncated)
		FUZZ_CHECK(p->payload_wire_len > p->payload_len);
	else
		FUZZ_CHECK(p->payload_wire_len == p->payload_len);
	FUZZ_CHECK(p->l3_len >= p->payload_len);
	if (p->ipver == 4) {
		FUZZ_CHECK(memcmp(p->src + 4, (uint8_t[12]){ 0 }, 12) == 0);
		FUZZ_CHECK(memcmp(p->dst + 4, (uint8_t[12]){ 0 }, 12) == 0);
	}

	/* the hash shards both directions of a flow onto one worker */
	h = pkt_flow_hash(p);
	q = *p;
	memcpy(q.src, p->dst, 16);
	memcpy(q.dst, p->src, 16);
	q.sport = p->dport;
	q.dport = p->sport;
	FUZZ_CHECK(pkt_flow_hash(&q) == h);

	f = flow_get(flows, p, h, &dir, &created);
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(created == 0 || created == 1);
	flow_endpoint(f, dir, &addr, &port);
	FUZZ_CHECK(memcmp(addr, p->src, 16) == 0 && port == p->sport);
	flow_endpoint(f, 1 - dir, &addr, &port);
	FUZZ_CHECK(memcmp(addr, p->dst, 16) == 0 && port == p->dport);
	if (p->tcp_flags & PKT_TH_RST)
		flow_close(flows, f);
}

static void
fuzz_frame(int dlt, unsigned wmode, const uint8_t *d, size_t n)
{
	struct pkt p;
	struct pkt_counters ctr;
	struct ipfrag_stats fs;
	enum pkt_status st;
	uint8_t *frame;

	frame = malloc(n > 0 ? n : 1);
	if (frame == NULL)
		return;
	memcpy(frame, d, n);
	memset(&p, 0, sizeof(p));
	memset(&ctr, 0, sizeof(ctr));
	now_us += 1000;
	p.ts_us = now_us;
	p.frame = frame;
	p.caplen = (uint32_t)n;
	switch (wmode) {
	case 0:
		p.wirelen = (uint32_t)n;
		break;
	case 1:
		p.wirelen = 0;
		break;
	case 2:
		p.wirelen = (uint32_t)n + 1500;
		break;
	default:
		p.wirelen = (uint32_t)n / 2;
		break;
	}
	p.linktype = dlt;

	st = pkt_decode(&p, frag, &ctr);
	FUZZ_CHECK(st == PKT_OK || st == PKT_NOT_TCP || st == PKT_FRAG_HELD ||
	    st == PKT_INVALID);
	FUZZ_CHECK((unsigned)p.anomaly < ANOM_COUNT);
	FUZZ_CHECK(ctr.pkts == 1);
	if (st == PKT_INVALID)
		FUZZ_CHECK(p.anomaly != ANOM_NONE);
	if (st == PKT_OK)
		fuzz_check_tcp(&p, frame, n);
	ipfrag_stats_get(frag, &fs);
	FUZZ_CHECK(fs.mem_in_use <= fs.mem_cap);
	free(frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned sel, idx, len;
	int dlt;

	fuzz_setup();
	if (size < 1)
		return 0;
	sel = fuzz_u8(&in);
	idx = sel & 0x0f;
	dlt = idx == 15 ? 147 : fuzz_dlts[idx % FUZZ_NDLT];
	FUZZ_CHECK(pkt_linktype_supported(dlt) == (idx != 15));
	if (sel & 0x80) {
		now_us += 61ull * 1000000;
		ipfrag_expire(frag, now_us);
		flow_table_expire(flows, now_us, 256);
	}
	if (!(sel & 0x40)) {
		fuzz_frame(dlt, (sel >> 4) & 3, in.p, in.n);
		return 0;
	}
	while (in.n > 0) {
		len = fuzz_u16(&in);
		if (len > in.n)
			len = (unsigned)in.n;
		fuzz_frame(dlt, (sel >> 4) & 3, in.p, len);
		in.p += len;
		in.n -= len;
	}
	return 0;
}
