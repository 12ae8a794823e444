/*
 * flow.c - the per-worker flow table.
 *
 * Design: a chained hash table with a power-of-two bucket array (the hash
 * comes from the caller, pkt_flow_hash, so it is computed once per packet
 * and also picks the worker), flows from a capped pool, and one doubly
 * linked LRU list ordered by last activity (head newest).  The LRU tail is
 * both the eviction victim when the pool is full and where the timeout
 * sweep starts.  Since flows in different states have different timeouts,
 * an old established flow at the tail does not prove that newer flows are
 * alive; the sweep therefore keeps a cursor and walks toward the head over
 * successive calls (at most max_work flows per call), and restarts at the
 * tail once it meets a flow younger than the shortest timeout.  flow_get
 * also ends a matched flow that has already passed its timeout, so a reused
 * tuple never joins a dead flow even if the sweep has not reached it.
 *
 * flow_id mixes the canonical key (serialised byte by byte, so it does not
 * depend on endianness, padding or pointers) with ts_first through FNV-1a
 * and the splitmix64 finaliser, keeping 63 bits.
 *
 * Rejected: a timer wheel (more state per flow for a sweep the LRU order
 * already makes cheap); open addressing (deletion is frequent and the load
 * factor is bounded by max_flows anyway); evicting by a scan for the
 * "best" victim (unbounded work on the packet path).
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct flow_table {
	struct flow_config cfg;
	flow_end_cb end;
	void *u;
	struct pool *pool;
	struct flow **buckets;
	uint32_t mask;
	struct flow *lru_head, *lru_tail;   /* head: most recent activity */
	struct flow *sweep;                 /* next for expire, NULL: tail */
	uint64_t to_new, to_est, to_closed, to_min;  /* microseconds */
	struct flow_stats st;
	uint64_t peak;
};

struct flow_table *
flow_table_create(const struct flow_config *cfg, flow_end_cb end, void *u)
{
	struct flow_table *t;
	uint32_t n = 1024;

	if (cfg == NULL || cfg->max_flows == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->cfg = *cfg;
	t->end = end;
	t->u = u;
	while (n < cfg->hash_buckets && n < (1u << 30))
		n <<= 1;
	t->mask = n - 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	t->pool = pool_create(sizeof(struct flow), cfg->max_flows);
	if (t->buckets == NULL || t->pool == NULL) {
		free(t->buckets);
		pool_destroy(t->pool);
		free(t);
		return NULL;
	}
	t->to_new = (uint64_t)cfg->timeout_new * 1000000u;
	t->to_est = (uint64_t)cfg->timeout_established * 1000000u;
	t->to_closed = (uint64_t)cfg->timeout_closed * 1000000u;
	t->to_min = t->to_new;
	if (t->to_est < t->to_min)
		t->to_min = t->to_est;
	if (t->to_closed < t->to_min)
		t->to_min = t->to_closed;
	t->st.cap = cfg->max_flows;
	return t;
}

void
flow_table_destroy(struct flow_table *t)
{
	if (t == NULL)
		return;
	flow_table_drain(t);
	free(t->buckets);
	pool_destroy(t->pool);
	free(t);
}

/* Key, flow_id */

static void
flow_key_make(const struct pkt *p, struct flow_key *k, int *sender_is_a)
{
	int c, i;

	memset(k, 0, sizeof(*k));
	c = memcmp(p->src, p->dst, 16);
	if (c == 0)
		c = (p->sport > p->dport) - (p->sport < p->dport);
	*sender_is_a = c <= 0;
	if (*sender_is_a) {
		memcpy(k->a, p->src, 16);
		memcpy(k->b, p->dst, 16);
		k->pa = p->sport;
		k->pb = p->dport;
	} else {
		memcpy(k->a, p->dst, 16);
		memcpy(k->b, p->src, 16);
		k->pa = p->dport;
		k->pb = p->sport;
	}
	k->vlan_count = p->vlan_count <= PKT_MAX_VLAN ? p->vlan_count :
	    PKT_MAX_VLAN;
	for (i = 0; i < k->vlan_count; i++)
		k->vlan[i] = p->vlan[i] & 0x0fff;
	k->ipver = p->ipver;
}

static uint64_t
fnv_byte(uint64_t h, uint8_t b)
{
	return (h ^ b) * 0x100000001b3ULL;
}

static uint64_t
fnv_u16(uint64_t h, uint16_t v)
{
	return fnv_byte(fnv_byte(h, (uint8_t)(v >> 8)), (uint8_t)v);
}

static uint64_t
flow_id_make(const struct flow_key *k, uint64_t ts)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < 16; i++)
		h = fnv_byte(h, k->a[i]);
	for (i = 0; i < 16; i++)
		h = fnv_byte(h, k->b[i]);
	h = fnv_u16(h, k->pa);
	h = fnv_u16(h, k->pb);
	for (i = 0; i < PKT_MAX_VLAN; i++)
		h = fnv_u16(h, k->vlan[i]);
	h = fnv_byte(h, k->vlan_count);
	h = fnv_byte(h, k->ipver);
	for (i = 56; i >= 0; i -= 8)
		h = fnv_byte(h, (uint8_t)(ts >> i));
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h & 0x7fffffffffffffffULL;
}

/* Linkage */

static void
lru_unlink(struct flow_table *t, struct flow *f)
{
	if (t->sweep == f)
		t->sweep = f->lru_prev;
	if (f->lru_prev != NULL)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next != NULL)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void
lru_push_head(struct flow_table *t, struct flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head != NULL)
		t->lru_head->lru_prev = f;
	else
		t->lru_tail = f;
	t->lru_head = f;
}

static void
hash_unlink(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->mask];

	while (*pp != NULL && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp == f)
		*pp = f->hnext;
	f->hnext = NULL;
}

/* Unlink, tell the owner, return the memory. */
static void
flow_end(struct flow_table *t, struct flow *f, enum flow_end_reason why)
{
	hash_unlink(t, f);
	lru_unlink(t, f);
	f->ended = 1;
	switch (why) {
	case FLOW_END_TIMEOUT:
		t->st.timed_out++;
		break;
	case FLOW_END_EVICTED:
		t->st.evicted++;
		break;
	case FLOW_END_CLOSED:
		t->st.closed++;
		break;
	case FLOW_END_SHUTDOWN:
		t->st.shutdown++;
		break;
	}
	t->st.active--;
	if (t->end != NULL)
		t->end(t->u, f, why);
	pool_put(t->pool, f);
}

static uint64_t
flow_timeout(const struct flow_table *t, const struct flow *f)
{
	switch ((enum tcp_conn_state)f->tcp.state) {
	case TCP_CONN_NEW:
		return t->to_new;
	case TCP_CONN_ESTABLISHED:
		return t->to_est;
	default:
		return t->to_closed;
	}
}

static int
flow_expired(const struct flow_table *t, const struct flow *f, uint64_t now)
{
	return now > f->ts_last && now - f->ts_last > flow_timeout(t, f);
}

struct flow *
flow_get(struct flow_table *t, const struct pkt *p, uint32_t hash,
    int *dir, int *created)
{
	struct flow_key k;
	struct flow *f;
	int sender_is_a, syn, ack;

	*created = 0;
	*dir = 0;
	flow_key_make(p, &k, &sender_is_a);
	for (f = t->buckets[hash & t->mask]; f != NULL; f = f->hnext)
		if (f->hash == hash && memcmp(&f->key, &k, sizeof(k)) == 0)
			break;
	if (f != NULL && flow_expired(t, f, p->ts_us)) {
		flow_end(t, f, FLOW_END_TIMEOUT);
		f = NULL;
	}
	if (f == NULL) {
		while ((f = pool_get(t->pool)) == NULL && t->lru_tail != NULL)
			flow_end(t, t->lru_tail, FLOW_END_EVICTED);
		if (f == NULL) {
			t->st.alloc_fail++;
			return NULL;
		}
		memset(f, 0, sizeof(*f));
		f->key = k;
		f->hash = hash;
		f->ts_first = f->ts_last = p->ts_us;
		syn = (p->tcp_flags & PKT_TH_SYN) != 0;
		ack = (p->tcp_flags & PKT_TH_ACK) != 0;
		/* a lone SYN-ACK: its receiver opened the connection */
		f->init_is_a = (uint8_t)(syn && ack ? !sender_is_a :
		    sender_is_a);
		f->midstream = (uint8_t)!syn;
		tcp_conn_init(&f->tcp);
		f->hnext = t->buckets[hash & t->mask];
		t->buckets[hash & t->mask] = f;
		lru_push_head(t, f);
		t->st.created++;
		t->st.active++;
		if (t->st.active > t->peak)
			t->peak = t->st.active;
		*created = 1;
	} else {
		if (p->ts_us > f->ts_last)
			f->ts_last = p->ts_us;
		if (t->lru_head != f) {
			lru_unlink(t, f);
			lru_push_head(t, f);
		}
	}
	*dir = sender_is_a == f->init_is_a ? 0 : 1;
	f->pkts[*dir]++;
	f->bytes[*dir] += p->payload_len;
	return f;
}

void
flow_close(struct flow_table *t, struct flow *f)
{
	if (f == NULL || f->ended)
		return;
	flow_end(t, f, FLOW_END_CLOSED);
}

unsigned
flow_table_expire(struct flow_table *t, uint64_t now_us, unsigned max_work)
{
	struct flow *f, *prev;
	unsigned work = 0, ended = 0;

	f = t->sweep != NULL ? t->sweep : t->lru_tail;
	while (f != NULL && work < max_work) {
		work++;
		prev = f->lru_prev;
		if (flow_expired(t, f, now_us)) {
			flow_end(t, f, FLOW_END_TIMEOUT);
			ended++;
		} else if (now_us <= f->ts_last ||
		    now_us - f->ts_last <= t->to_min) {
			/* everything toward the head is younger still */
			prev = NULL;
		}
		f = prev;
	}
	t->sweep = f;
	return ended;
}

void
flow_table_drain(struct flow_table *t)
{
	while (t->lru_tail != NULL)
		flow_end(t, t->lru_tail, FLOW_END_SHUTDOWN);
	t->sweep = NULL;
}

void
flow_stats_get(const struct flow_table *t, struct flow_stats *st)
{
	*st = t->st;
	st->mem_bytes = (uint64_t)sizeof(struct flow) * t->peak;
}

uint64_t
flow_id_get(const struct flow *f)
{
	return flow_id_make(&f->key, f->ts_first);
}

void
flow_endpoint(const struct flow *f, int dir, const uint8_t **addr,
    uint16_t *port)
{
	if ((dir == 0) == (f->init_is_a != 0)) {
		*addr = f->key.a;
		*port = f->key.pa;
	} else {
		*addr = f->key.b;
		*port = f->key.pb;
	}
}
