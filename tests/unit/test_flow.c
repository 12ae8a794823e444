/*
 * test_flow.c - flow table: lookup both ways, initiator, timeouts,
 * eviction, drain, flow_id.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/flow.h"
#include "tests/unit/check.h"

#define SEC 1000000ull

struct ended {
	uint64_t id;
	enum flow_end_reason why;
	uint16_t pa;
};

struct endlog {
	struct ended e[4096];
	unsigned n;
	unsigned by[4];
};

/* Records every end; frees the app pointer, as the worker must. */
static void
end_cb(void *u, struct flow *f, enum flow_end_reason why)
{
	struct endlog *l = u;

	if (l->n < 4096) {
		l->e[l->n].id = flow_id_get(f);
		l->e[l->n].why = why;
		l->e[l->n].pa = f->key.pa;
	}
	l->n++;
	l->by[why]++;
	free(f->app);
	f->app = NULL;
}

static struct pkt
mk4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
    uint8_t flags, uint64_t ts)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ipver = 4;
	p.src[0] = (uint8_t)(src >> 24);
	p.src[1] = (uint8_t)(src >> 16);
	p.src[2] = (uint8_t)(src >> 8);
	p.src[3] = (uint8_t)src;
	p.dst[0] = (uint8_t)(dst >> 24);
	p.dst[1] = (uint8_t)(dst >> 16);
	p.dst[2] = (uint8_t)(dst >> 8);
	p.dst[3] = (uint8_t)dst;
	p.sport = sport;
	p.dport = dport;
	p.tcp_flags = flags;
	p.ts_us = ts;
	p.wscale = 0xff;
	return p;
}

/* The test's own symmetric hash (pkt_flow_hash lives elsewhere). */
static uint32_t
side_hash(const uint8_t *a, uint16_t port)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

static uint32_t
hash_of(const struct pkt *p)
{
	uint32_t h = side_hash(p->src, p->sport) + side_hash(p->dst, p->dport);
	int i;

	for (i = 0; i < p->vlan_count; i++)
		h = (h ^ (p->vlan[i] & 0x0fffu)) * 16777619u;
	return h;
}

static struct flow *
get(struct flow_table *t, const struct pkt *p, int *dir, int *created)
{
	return flow_get(t, p, hash_of(p), dir, created);
}

static struct flow_table *
mkt(uint32_t max_flows, struct endlog *l)
{
	struct flow_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_flows = max_flows;
	cfg.hash_buckets = 1024;
	cfg.timeout_new = 60;
	cfg.timeout_established = 600;
	cfg.timeout_closed = 30;
	memset(l, 0, sizeof(*l));
	return flow_table_create(&cfg, end_cb, l);
}

#define C_IP 0x0a000001u
#define S_IP 0x0a000002u

static void
test_both_directions(void)
{
	static struct endlog l;
	struct flow_table *t = mkt(16, &l);
	struct flow *f, *g;
	struct pkt p;
	struct flow_stats st;
	const uint8_t *addr;
	uint16_t port;
	int dir, created;

	/* the server has the lower address: the client is key side b */
	p = mk4(S_IP + 5, S_IP, 40000, 25, PKT_TH_SYN, 10 * SEC);
	f = get(t, &p, &dir, &created);
	CHECK(f != NULL);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(dir, 0);
	CHECK_EQ_INT(f->init_is_a, 0);
	CHECK_EQ_INT(f->midstream, 0);
	CHECK_EQ_INT(f->key.pa, 25);
	CHECK_EQ_INT(f->key.pb, 40000);
	CHECK_EQ_INT(f->tcp.state, TCP_CONN_NEW);
	f->app = malloc(32);

	p = mk4(S_IP, S_IP + 5, 25, 40000, PKT_TH_SYN | PKT_TH_ACK, 11 * SEC);
	p.payload_len = 0;
	g = get(t, &p, &dir, &created);
	CHECK(g == f);
	CHECK_EQ_INT(created, 0);
	CHECK_EQ_INT(dir, 1);
	CHECK_EQ_INT(g->ts_last, 11 * SEC);
	CHECK_EQ_INT(g->ts_first, 10 * SEC);

	p = mk4(S_IP + 5, S_IP, 40000, 25, PKT_TH_ACK, 12 * SEC);
	p.payload_len = 10;
	g = get(t, &p, &dir, &created);
	CHECK(g == f);
	CHECK_EQ_INT(dir, 0);
	CHECK_EQ_INT(f->pkts[0], 2);
	CHECK_EQ_INT(f->pkts[1], 1);
	CHECK_EQ_INT(f->bytes[0], 10);

	flow_endpoint(f, 0, &addr, &port);
	CHECK_EQ_INT(port, 40000);
	CHECK_EQ_INT(addr[3], (S_IP + 5) & 0xff);
	flow_endpoint(f, 1, &addr, &port);
	CHECK_EQ_INT(port, 25);
	CHECK_EQ_INT(addr[3], S_IP & 0xff);

	/* same addresses, other VLAN: another flow */
	p = mk4(S_IP + 5, S_IP, 40000, 25, PKT_TH_ACK, 12 * SEC);
	p.vlan_count = 1;
	p.vlan[0] = 100;
	g = get(t, &p, &dir, &created);
	CHECK(g != NULL && g != f);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(g->midstream, 1);
	CHECK_EQ_INT(g->key.vlan_count, 1);
	/* priority bits do not split a VLAN's flow */
	p.vlan[0] = 100 | 0xe000;
	CHECK(get(t, &p, &dir, &created) == g);
	CHECK_EQ_INT(created, 0);

	/* other port: another flow */
	p = mk4(S_IP + 5, S_IP, 40001, 25, PKT_TH_ACK, 12 * SEC);
	CHECK(get(t, &p, &dir, &created) != f);
	CHECK_EQ_INT(created, 1);

	flow_close(t, f);
	CHECK_EQ_INT(l.by[FLOW_END_CLOSED], 1);
	flow_stats_get(t, &st);
	CHECK_EQ_INT(st.created, 3);
	CHECK_EQ_INT(st.closed, 1);
	CHECK_EQ_INT(st.active, 2);
	CHECK_EQ_INT(st.cap, 16);
	CHECK_EQ_INT(st.mem_bytes, 3 * sizeof(struct flow));
	flow_table_drain(t);
	CHECK_EQ_INT(l.by[FLOW_END_SHUTDOWN], 2);
	CHECK_EQ_INT(l.n, 3);
	flow_stats_get(t, &st);
	CHECK_EQ_INT(st.active, 0);
	CHECK_EQ_INT(st.shutdown, 2);
	flow_table_destroy(t);
	CHECK_EQ_INT(l.n, 3);
}

static void
test_initiator(void)
{
	static struct endlog l;
	struct flow_table *t = mkt(16, &l);
	struct flow *f;
	struct pkt p;
	const uint8_t *addr;
	uint16_t port;
	int dir, created;

	/* lone SYN-ACK from the server: the client initiated */
	p = mk4(S_IP, C_IP, 25, 50000, PKT_TH_SYN | PKT_TH_ACK, SEC);
	f = get(t, &p, &dir, &created);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(dir, 1);
	CHECK_EQ_INT(f->midstream, 0);
	flow_endpoint(f, 0, &addr, &port);
	CHECK_EQ_INT(port, 50000);
	flow_endpoint(f, 1, &addr, &port);
	CHECK_EQ_INT(port, 25);
	p = mk4(C_IP, S_IP, 50000, 25, PKT_TH_ACK, SEC);
	CHECK(get(t, &p, &dir, &created) == f);
	CHECK_EQ_INT(dir, 0);

	/* midstream: the sender of the first packet, even the server */
	p = mk4(S_IP, C_IP, 25, 50001, PKT_TH_ACK, SEC);
	f = get(t, &p, &dir, &created);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(dir, 0);
	CHECK_EQ_INT(f->midstream, 1);
	flow_endpoint(f, 0, &addr, &port);
	CHECK_EQ_INT(port, 25);

	/* SYN from the side with the higher address */
	p = mk4(S_IP, C_IP, 2525, 50002, PKT_TH_SYN, SEC);
	f = get(t, &p, &dir, &created);
	CHECK_EQ_INT(dir, 0);
	CHECK_EQ_INT(f->init_is_a, 0);
	p = mk4(C_IP, S_IP, 50002, 2525, PKT_TH_SYN | PKT_TH_ACK, SEC);
	CHECK(get(t, &p, &dir, &created) == f);
	CHECK_EQ_INT(dir, 1);

	/* same address both sides: ports order the key */
	p = mk4(C_IP, C_IP, 9000, 25, PKT_TH_SYN, SEC);
	f = get(t, &p, &dir, &created);
	CHECK_EQ_INT(dir, 0);
	CHECK_EQ_INT(f->key.pa, 25);
	p = mk4(C_IP, C_IP, 25, 9000, PKT_TH_SYN | PKT_TH_ACK, SEC);
	CHECK(get(t, &p, &dir, &created) == f);
	CHECK_EQ_INT(dir, 1);

	/* IPv6 */
	p = mk4(0, 0, 1234, 25, PKT_TH_SYN, SEC);
	p.ipver = 6;
	memset(p.src, 0x20, 16);
	memset(p.dst, 0x10, 16);
	f = get(t, &p, &dir, &created);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(f->key.ipver, 6);
	CHECK_EQ_INT(f->key.a[0], 0x10);
	memset(p.src, 0x10, 16);
	memset(p.dst, 0x20, 16);
	p.sport = 25;
	p.dport = 1234;
	p.tcp_flags = PKT_TH_ACK;
	CHECK(get(t, &p, &dir, &created) == f);
	CHECK_EQ_INT(dir, 1);
	flow_table_destroy(t);
	CHECK_EQ_INT(l.by[FLOW_END_SHUTDOWN], 5);
}

static void
test_timeouts(void)
{
	static struct endlog l;
	struct flow_table *t = mkt(16, &l);
	struct flow *fn, *fe, *fc, *fx;
	struct pkt p;
	struct flow_stats st;
	int dir, created;

	p = mk4(C_IP, S_IP, 1, 25, PKT_TH_SYN, 100 * SEC);
	fn = get(t, &p, &dir, &created);
	p.sport = 2;
	fe = get(t, &p, &dir, &created);
	fe->tcp.state = TCP_CONN_ESTABLISHED;
	p.sport = 3;
	fc = get(t, &p, &dir, &created);
	fc->tcp.state = TCP_CONN_CLOSING;
	p.sport = 4;
	fx = get(t, &p, &dir, &created);
	fx->tcp.state = TCP_CONN_CLOSED;
	(void)fn;

	CHECK_EQ_INT(flow_table_expire(t, 130 * SEC, 100), 0);
	CHECK_EQ_INT(flow_table_expire(t, 131 * SEC, 100), 2);
	CHECK_EQ_INT(l.by[FLOW_END_TIMEOUT], 2);
	CHECK_EQ_INT(flow_table_expire(t, 160 * SEC, 100), 0);
	CHECK_EQ_INT(flow_table_expire(t, 161 * SEC, 100), 1);
	CHECK_EQ_INT(l.e[2].pa, 1);
	CHECK_EQ_INT(flow_table_expire(t, 700 * SEC, 100), 0);
	CHECK_EQ_INT(flow_table_expire(t, 701 * SEC, 100), 1);
	CHECK_EQ_INT(l.e[3].pa, 2);
	flow_stats_get(t, &st);
	CHECK_EQ_INT(st.timed_out, 4);
	CHECK_EQ_INT(st.active, 0);

	/* activity keeps a flow alive; time running backwards is harmless */
	p.sport = 5;
	fn = get(t, &p, &dir, &created);
	p.ts_us = 150 * SEC;
	CHECK(get(t, &p, &dir, &created) == fn);
	p.ts_us = 140 * SEC;
	CHECK(get(t, &p, &dir, &created) == fn);
	CHECK_EQ_INT(fn->ts_last, 150 * SEC);
	CHECK_EQ_INT(flow_table_expire(t, 200 * SEC, 100), 0);
	CHECK_EQ_INT(flow_table_expire(t, 10 * SEC, 100), 0);

	/* a packet for a flow already past its timeout starts a new flow */
	p.ts_us = 211 * SEC;
	fx = get(t, &p, &dir, &created);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(l.by[FLOW_END_TIMEOUT], 5);
	CHECK_EQ_INT(fx->ts_first, 211 * SEC);
	flow_table_destroy(t);
	CHECK_EQ_INT(l.by[FLOW_END_SHUTDOWN], 1);
}

static void
test_expire_bounded(void)
{
	static struct endlog l;
	struct flow_table *t = mkt(1000, &l);
	struct flow *f;
	struct pkt p;
	int dir, created, i;
	unsigned n, calls;

	for (i = 0; i < 100; i++) {
		p = mk4(C_IP, S_IP, (uint16_t)(1000 + i), 25, PKT_TH_SYN,
		    (uint64_t)i * SEC);
		get(t, &p, &dir, &created);
	}
	/* at 200 s the flows of 0..139 s are past 60 s: all 100 */
	CHECK_EQ_INT(flow_table_expire(t, 200 * SEC, 10), 10);
	CHECK_EQ_INT(l.n, 10);
	/* oldest first */
	CHECK_EQ_INT(l.e[0].pa, 1000);
	CHECK_EQ_INT(l.e[9].pa, 1009);
	for (calls = 0; l.n < 100 && calls < 100; calls++)
		CHECK(flow_table_expire(t, 200 * SEC, 10) <= 10);
	CHECK_EQ_INT(calls, 9);
	CHECK_EQ_INT(flow_table_expire(t, 200 * SEC, 10), 0);

	/*
	 * Long-lived established flows at the tail do not hide expired new
	 * flows behind them: the sweep resumes where it stopped.
	 */
	memset(&l, 0, sizeof(l));
	for (i = 0; i < 50; i++) {
		p = mk4(C_IP, S_IP, (uint16_t)(2000 + i), 25, PKT_TH_SYN,
		    1000 * SEC + (uint64_t)i);
		f = get(t, &p, &dir, &created);
		f->tcp.state = TCP_CONN_ESTABLISHED;
	}
	for (i = 0; i < 50; i++) {
		p = mk4(C_IP, S_IP, (uint16_t)(3000 + i), 25, PKT_TH_SYN,
		    1001 * SEC + (uint64_t)i);
		get(t, &p, &dir, &created);
	}
	for (calls = 0, n = 0; calls < 20; calls++)
		n += flow_table_expire(t, 1100 * SEC, 8);
	CHECK_EQ_INT(n, 50);
	CHECK_EQ_INT(l.by[FLOW_END_TIMEOUT], 50);
	for (i = 0; i < 50; i++)
		CHECK(l.e[i].pa >= 3000);
	/* flows moved while the sweep points at them do not confuse it */
	for (i = 0; i < 50; i += 2) {
		p = mk4(C_IP, S_IP, (uint16_t)(2000 + i), 25, PKT_TH_ACK,
		    1500 * SEC);
		get(t, &p, &dir, &created);
		flow_table_expire(t, 1500 * SEC, 3);
	}
	for (calls = 0, n = 0; calls < 40; calls++)
		n += flow_table_expire(t, 1700 * SEC, 4);
	CHECK_EQ_INT(n, 25);
	flow_table_drain(t);
	CHECK_EQ_INT(l.by[FLOW_END_SHUTDOWN], 25);
	flow_table_destroy(t);
}

static void
test_eviction(void)
{
	static struct endlog l;
	struct flow_table *t = mkt(4, &l);
	struct flow *f[6];
	struct pkt p;
	struct flow_stats st;
	int dir, created, i;

	for (i = 0; i < 4; i++) {
		p = mk4(C_IP, S_IP, (uint16_t)(100 + i), 25, PKT_TH_SYN,
		    SEC + (uint64_t)i);
		f[i] = get(t, &p, &dir, &created);
		f[i]->app = malloc(16);
	}
	/* touch the oldest: the next oldest becomes the victim */
	p = mk4(S_IP, C_IP, 25, 100, PKT_TH_ACK, 2 * SEC);
	CHECK(get(t, &p, &dir, &created) == f[0]);
	p = mk4(C_IP, S_IP, 104, 25, PKT_TH_SYN, 3 * SEC);
	f[4] = get(t, &p, &dir, &created);
	CHECK(f[4] != NULL);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(l.n, 1);
	CHECK_EQ_INT(l.e[0].why, FLOW_END_EVICTED);
	CHECK_EQ_INT(l.e[0].pa, 101);
	p = mk4(C_IP, S_IP, 105, 25, PKT_TH_SYN, 4 * SEC);
	f[5] = get(t, &p, &dir, &created);
	CHECK(f[5] != NULL);
	CHECK_EQ_INT(l.e[1].pa, 102);
	flow_stats_get(t, &st);
	CHECK_EQ_INT(st.evicted, 2);
	CHECK_EQ_INT(st.active, 4);
	CHECK_EQ_INT(st.created, 6);
	CHECK_EQ_INT(st.mem_bytes, 4 * sizeof(struct flow));
	/* the evicted flow's packets find nothing old and start afresh */
	p = mk4(C_IP, S_IP, 101, 25, PKT_TH_ACK, 5 * SEC);
	CHECK(get(t, &p, &dir, &created) != NULL);
	CHECK_EQ_INT(created, 1);
	CHECK_EQ_INT(l.e[2].pa, 103);
	flow_close(t, f[0]);
	CHECK_EQ_INT(l.by[FLOW_END_CLOSED], 1);
	flow_table_drain(t);
	CHECK_EQ_INT(l.n, 7);
	CHECK_EQ_INT(l.by[FLOW_END_SHUTDOWN], 3);
	flow_table_destroy(t);
	CHECK_EQ_INT(l.n, 7);
}

static void
test_flow_id(void)
{
	static struct endlog l1, l2;
	struct flow_table *t1 = mkt(16, &l1), *t2 = mkt(16, &l2);
	struct flow *a, *b;
	struct pkt p;
	uint64_t id;
	int dir, created;

	p = mk4(C_IP, S_IP, 4444, 25, PKT_TH_SYN, 77 * SEC);
	a = get(t1, &p, &dir, &created);
	/* the other table sees the reverse direction first */
	p = mk4(S_IP, C_IP, 25, 4444, PKT_TH_SYN | PKT_TH_ACK, 77 * SEC);
	b = get(t2, &p, &dir, &created);
	CHECK(flow_id_get(a) == flow_id_get(b));
	CHECK(flow_id_get(a) < (1ull << 63));
	id = flow_id_get(a);
	flow_close(t1, a);
	p = mk4(C_IP, S_IP, 4444, 25, PKT_TH_SYN, 77 * SEC);
	a = get(t1, &p, &dir, &created);
	CHECK(flow_id_get(a) == id);
	flow_close(t1, a);
	p.ts_us = 77 * SEC + 1;
	a = get(t1, &p, &dir, &created);
	CHECK(flow_id_get(a) != id);
	p.ts_us = 77 * SEC;
	p.sport = 4445;
	a = get(t1, &p, &dir, &created);
	CHECK(flow_id_get(a) != id);
	/* a hash collision chain still tells flows apart */
	p.sport = 5000;
	a = flow_get(t1, &p, 42, &dir, &created);
	p.sport = 5001;
	b = flow_get(t1, &p, 42, &dir, &created);
	CHECK(a != b);
	p.sport = 5000;
	CHECK(flow_get(t1, &p, 42, &dir, &created) == a);
	CHECK_EQ_INT(created, 0);
	flow_close(t1, a);
	p.sport = 5001;
	CHECK(flow_get(t1, &p, 42, &dir, &created) == b);
	CHECK_EQ_INT(created, 0);
	flow_table_destroy(t1);
	flow_table_destroy(t2);
	CHECK(flow_table_create(NULL, end_cb, NULL) == NULL);
	flow_table_destroy(NULL);
}

int
main(void)
{
	test_both_directions();
	test_initiator();
	test_timeouts();
	test_expire_bounded();
	test_eviction();
	test_flow_id();
	return CHECK_DONE();
}
