/*
 * tcp_reasm.c - per-direction TCP stream reassembly.
 *
 * Design: each direction keeps `next_seq` (the next byte owed to the
 * consumer) and a sorted, non-overlapping singly linked list of held
 * segments that all start after next_seq.  A segment at next_seq is handed
 * out straight from the packet (the common case costs no copy); bytes it
 * shares with a held segment come from the held copy instead, because the
 * first copy wins.  Anything beyond next_seq is copied into pool blocks of
 * two size classes (256 B and 2 KiB, larger payloads split across 2 KiB
 * blocks), so a flood of tiny segments does not pin 2 KiB each.  Memory is
 * accounted in block bytes against the worker memcap and in payload bytes
 * against the per-direction flow_ooo_cap; both are checked before anything
 * is copied.  When a cap is hit the direction stops waiting: the hole before
 * the held data becomes a gap, the held data is delivered, and the new
 * segment is processed again (held if it now fits, else a gap up to it and
 * direct delivery), so memory never grows past the caps.
 *
 * Holes become gaps when the other side has ACKed past them (it got bytes
 * we never saw), when a cap forces it, or at flush.  The ACK is processed
 * before the packet's own data, so a server reply that acknowledges a lost
 * message end reaches the SMTP parser after the gap, not before it (which
 * would shift every later reply onto the wrong command).  Only ACKs within
 * TCP_ACK_GAP_MAX of the bytes seen count.  This assumes the capture holds
 * each direction's packets in causal order; a tap that reorders across
 * directions turns late data into a gap, as it would in Zeek.
 *
 * Rejected: a ring buffer per direction (large fixed cost per flow and the
 * window can exceed any fixed size); copying every segment (the in-order
 * path is nearly all traffic); Suricata-style per-OS overlap policies (a
 * passive SMTP analyzer only needs "first copy wins" plus an anomaly).
 */
#include "tcp_reasm.h"

/*
 * An ACK this far past the bytes seen is taken as lost data only up to this
 * distance: further than any real window, so a forged or foreign ACK cannot
 * make the parser skip gigabytes.
 */
#define TCP_ACK_GAP_MAX (16u << 20)

#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GE(a, b) SEQ_LE(b, a)

#define TCP_SEG_SMALL 256
#define TCP_SEG_BIG 2048

struct tcp_seg {
	struct tcp_seg *next;
	uint32_t seq;
	uint32_t len;
	uint32_t big;            /* 1: from the 2 KiB pool */
	uint32_t pad_;
	uint8_t data[];
};

struct tcp_reasm {
	struct tcp_reasm_config cfg;
	struct pool *small, *big;
	uint32_t small_data, big_data;   /* payload bytes per block */
	uint32_t small_sz, big_sz;       /* block bytes, as accounted */
	struct tcp_reasm_stats st;
};

/* Per-call context: one packet (or one flush) of one connection. */
struct tcp_ctx {
	struct tcp_reasm *r;
	struct tcp_conn *c;
	const struct tcp_reasm_out *out;
	uint64_t ts;
	int overlap, diff;       /* set while handling one segment */
};

struct tcp_reasm *
tcp_reasm_create(const struct tcp_reasm_config *cfg)
{
	struct tcp_reasm *r;

	if (cfg == NULL)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	r->small = pool_create(TCP_SEG_SMALL, cfg->memcap / TCP_SEG_SMALL + 1);
	r->big = pool_create(TCP_SEG_BIG, cfg->memcap / TCP_SEG_BIG + 1);
	if (r->small == NULL || r->big == NULL) {
		tcp_reasm_destroy(r);
		return NULL;
	}
	r->small_sz = (uint32_t)pool_obj_size(r->small);
	r->big_sz = (uint32_t)pool_obj_size(r->big);
	r->small_data = r->small_sz - (uint32_t)sizeof(struct tcp_seg);
	r->big_data = r->big_sz - (uint32_t)sizeof(struct tcp_seg);
	r->st.mem_cap = cfg->memcap;
	return r;
}

void
tcp_reasm_destroy(struct tcp_reasm *r)
{
	if (r == NULL)
		return;
	pool_destroy(r->small);
	pool_destroy(r->big);
	free(r);
}

void
tcp_conn_init(struct tcp_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->state = TCP_CONN_NEW;
}

void
tcp_reasm_stats_get(const struct tcp_reasm *r, struct tcp_reasm_stats *st)
{
	*st = r->st;
}

uint32_t
tcp_stream_held(const struct tcp_stream *s)
{
	const struct tcp_seg *g;
	uint32_t n = 0;

	for (g = s->ooo; g != NULL; g = g->next)
		n++;
	return n;
}

/* Output helpers */

static void
tcp_anomaly(struct tcp_ctx *x, int dir, enum anom_id a)
{
	if (x->out->anomaly != NULL)
		x->out->anomaly(x->out->u, dir, a, x->ts);
}

static void
tcp_deliver(struct tcp_ctx *x, int dir, const uint8_t *d, uint32_t n)
{
	struct tcp_stream *s = &x->c->s[dir];
	uint32_t keep;

	if (n == 0)
		return;
	if (x->out->data != NULL)
		x->out->data(x->out->u, dir, d, n, x->ts);
	s->next_seq += n;
	s->delivered += n;
	x->r->st.bytes_in_order += n;
	if (n >= TCP_TAIL_KEEP) {
		memcpy(s->last_tail, d + n - TCP_TAIL_KEEP, TCP_TAIL_KEEP);
		s->last_tail_len = TCP_TAIL_KEEP;
		return;
	}
	keep = s->last_tail_len;
	if (keep + n > TCP_TAIL_KEEP) {
		keep = TCP_TAIL_KEEP - n;
		memmove(s->last_tail, s->last_tail + s->last_tail_len - keep,
		    keep);
	}
	memcpy(s->last_tail + keep, d, n);
	s->last_tail_len = (uint8_t)(keep + n);
}

static void
tcp_gap(struct tcp_ctx *x, int dir, uint32_t len)
{
	struct tcp_stream *s = &x->c->s[dir];

	if (len == 0)
		return;
	if (x->out->gap != NULL)
		x->out->gap(x->out->u, dir, len, x->ts);
	tcp_anomaly(x, dir, ANOM_STREAM_GAP);
	s->next_seq += len;
	s->gap_bytes += len;
	s->last_tail_len = 0;
	x->r->st.gaps++;
	x->r->st.gap_bytes += len;
}

/* Held segments */

static void
tcp_seg_free(struct tcp_reasm *r, struct tcp_stream *s, struct tcp_seg *g)
{
	uint32_t sz = g->big ? r->big_sz : r->small_sz;

	s->ooo_bytes -= g->len;
	r->st.mem_in_use -= sz;
	pool_put(g->big ? r->big : r->small, g);
}

/* Unlink the first held segment, deliver what lies past next_seq, free. */
static void
tcp_pop_deliver(struct tcp_ctx *x, int dir)
{
	struct tcp_stream *s = &x->c->s[dir];
	struct tcp_seg *g = s->ooo;
	uint32_t skip = 0, len = g->len;

	s->ooo = g->next;
	if (s->ooo_last == g)
		s->ooo_last = NULL;
	/* held before the FIN was known: bytes past it are not data */
	if ((s->flags & TCP_S_FIN) && SEQ_GT(g->seq + len, s->fin_seq))
		len = SEQ_GT(s->fin_seq, g->seq) ? s->fin_seq - g->seq : 0;
	if (SEQ_LT(g->seq, s->next_seq))
		skip = s->next_seq - g->seq;
	if (skip < len)
		tcp_deliver(x, dir, g->data + skip, len - skip);
	tcp_seg_free(x->r, s, g);
}

/* Deliver held segments that have become contiguous with next_seq. */
static void
tcp_drain(struct tcp_ctx *x, int dir)
{
	struct tcp_stream *s = &x->c->s[dir];

	while (s->ooo != NULL && SEQ_LE(s->ooo->seq, s->next_seq))
		tcp_pop_deliver(x, dir);
}

/* Deliver everything held, reporting each hole before it as a gap. */
static void
tcp_flush_held(struct tcp_ctx *x, int dir)
{
	struct tcp_stream *s = &x->c->s[dir];

	while (s->ooo != NULL) {
		if (SEQ_GT(s->ooo->seq, s->next_seq))
			tcp_gap(x, dir, s->ooo->seq - s->next_seq);
		tcp_pop_deliver(x, dir);
	}
}

/* Block bytes needed to hold a piece of n payload bytes. */
static uint64_t
tcp_piece_mem(const struct tcp_reasm *r, uint32_t n)
{
	uint64_t mem = (uint64_t)(n / r->big_data) * r->big_sz;
	uint32_t rem = n % r->big_data;

	if (rem != 0)
		mem += rem <= r->small_data ? r->small_sz : r->big_sz;
	return mem;
}

/*
 * Copy [sq, sq+n) into blocks linked in at *pp.  Returns the link after
 * the last block inserted, or NULL when a block could not be had.
 */
static struct tcp_seg **
tcp_piece_insert(struct tcp_reasm *r, struct tcp_stream *s,
    struct tcp_seg **pp, uint32_t sq, const uint8_t *d, uint32_t n)
{
	struct tcp_seg *g;
	uint32_t k;
	int big;

	while (n > 0) {
		k = n < r->big_data ? n : r->big_data;
		big = k > r->small_data;
		g = pool_get(big ? r->big : r->small);
		if (g == NULL)
			return NULL;
		g->seq = sq;
		g->len = k;
		g->big = (uint32_t)big;
		memcpy(g->data, d, k);
		g->next = *pp;
		*pp = g;
		if (g->next == NULL)
			s->ooo_last = g;
		pp = &g->next;
		s->ooo_bytes += k;
		r->st.mem_in_use += big ? r->big_sz : r->small_sz;
		if (r->st.mem_in_use > r->st.mem_peak)
			r->st.mem_peak = r->st.mem_in_use;
		sq += k;
		d += k;
		n -= k;
	}
	return pp;
}

/* Where a walk over held segments for a range starting at sq begins. */
static struct tcp_seg **
tcp_walk_start(struct tcp_stream *s, uint32_t sq)
{
	struct tcp_seg *l = s->ooo_last;

	if (l != NULL && SEQ_GE(sq, l->seq + l->len))
		return &l->next;
	return &s->ooo;
}

/*
 * Hold a copy of the future segment [sq, sq+n): only the bytes no held
 * segment covers are stored; covered bytes are compared (first copy wins).
 * Returns 0, or -1 when a cap refused it (reported and counted).
 */
static int
tcp_hold(struct tcp_ctx *x, int dir, uint32_t sq, const uint8_t *d,
    uint32_t n)
{
	struct tcp_reasm *r = x->r;
	struct tcp_stream *s = &x->c->s[dir];
	struct tcp_seg **pp, *h;
	uint32_t pos, end = sq + n, hend, oe;
	uint64_t nbytes = 0, nmem = 0;

	/* Pass 1: how much is new, and does it fit? */
	pos = sq;
	for (h = *tcp_walk_start(s, sq); h != NULL && SEQ_LT(pos, end);
	    h = h->next) {
		hend = h->seq + h->len;
		if (SEQ_LE(hend, pos))
			continue;
		if (SEQ_GE(h->seq, end))
			break;
		if (SEQ_LT(pos, h->seq)) {
			nbytes += h->seq - pos;
			nmem += tcp_piece_mem(r, h->seq - pos);
		}
		pos = SEQ_LT(end, hend) ? end : hend;
	}
	if (SEQ_LT(pos, end)) {
		nbytes += end - pos;
		nmem += tcp_piece_mem(r, end - pos);
	}
	if ((uint64_t)s->ooo_bytes + nbytes > r->cfg.flow_ooo_cap) {
		r->st.ooo_limit_hits++;
		tcp_anomaly(x, dir, ANOM_STREAM_OOO_LIMIT);
		return -1;
	}
	if (r->st.mem_in_use + nmem > r->cfg.memcap) {
		r->st.memcap_hits++;
		tcp_anomaly(x, dir, ANOM_STREAM_MEMCAP);
		return -1;
	}

	/* Pass 2: compare the covered bytes, link in the new ones. */
	pos = sq;
	pp = tcp_walk_start(s, sq);
	while ((h = *pp) != NULL && SEQ_LT(pos, end)) {
		hend = h->seq + h->len;
		if (SEQ_LE(hend, pos)) {
			pp = &h->next;
			continue;
		}
		if (SEQ_GE(h->seq, end))
			break;
		if (SEQ_LT(pos, h->seq)) {
			pp = tcp_piece_insert(r, s, pp, pos, d + (pos - sq),
			    h->seq - pos);
			if (pp == NULL)
				goto nomem;
			pos = h->seq;
		}
		oe = SEQ_LT(end, hend) ? end : hend;
		x->overlap = 1;
		if (memcmp(d + (pos - sq), h->data + (pos - h->seq), oe - pos)
		    != 0)
			x->diff = 1;
		pos = oe;
		pp = &h->next;
	}
	if (SEQ_LT(pos, end) &&
	    tcp_piece_insert(r, s, pp, pos, d + (pos - sq), end - pos) == NULL)
		goto nomem;
	return 0;
nomem:
	r->st.memcap_hits++;
	tcp_anomaly(x, dir, ANOM_STREAM_MEMCAP);
	return -1;
}

/* Compare bytes below next_seq with what last_tail still remembers. */
static void
tcp_compare_old(struct tcp_ctx *x, int dir, uint32_t sq, const uint8_t *d,
    uint32_t n)
{
	struct tcp_stream *s = &x->c->s[dir];
	uint32_t tstart = s->next_seq - s->last_tail_len;
	uint32_t from = sq, end = sq + n;

	if (SEQ_LT(from, tstart))
		from = tstart;
	if (SEQ_GE(from, end))
		return;
	if (memcmp(d + (from - sq), s->last_tail + (from - tstart),
	    end - from) != 0)
		x->diff = 1;
}

/* Deliver a segment that starts exactly at next_seq. */
static void
tcp_deliver_inorder(struct tcp_ctx *x, int dir, const uint8_t *d,
    uint32_t n)
{
	struct tcp_stream *s = &x->c->s[dir];
	struct tcp_seg *h;
	uint32_t k;

	while (n > 0) {
		h = s->ooo;
		if (h != NULL && h->seq == s->next_seq) {
			k = n < h->len ? n : h->len;
			x->overlap = 1;
			if (memcmp(d, h->data, k) != 0)
				x->diff = 1;
			tcp_pop_deliver(x, dir);
			d += k;
			n -= k;
			continue;
		}
		k = n;
		if (h != NULL && h->seq - s->next_seq < k)
			k = h->seq - s->next_seq;
		tcp_deliver(x, dir, d, k);
		d += k;
		n -= k;
	}
	tcp_drain(x, dir);
}

/* The peer's highest ACK for this direction, not counting the FIN. */
static int
tcp_acked(const struct tcp_stream *s, uint32_t *ack)
{
	uint32_t a = s->peer_ack;

	if (!(s->flags & TCP_S_ACKED))
		return 0;
	if ((s->flags & TCP_S_FIN) && SEQ_GT(a, s->fin_seq))
		a = s->fin_seq;
	*ack = a;
	return 1;
}

static void
tcp_stream_data(struct tcp_ctx *x, int dir, uint32_t sq, const uint8_t *d,
    uint32_t n)
{
	struct tcp_reasm *r = x->r;
	struct tcp_stream *s = &x->c->s[dir];
	uint32_t k, ack, end;
	int ooo_counted = 0;

	if (s->flags & TCP_S_CLOSED)
		return;
	if (s->flags & TCP_S_FIN) {
		if (SEQ_GE(sq, s->fin_seq))
			return;
		if (SEQ_GT(sq + n, s->fin_seq))
			n = s->fin_seq - sq;
	}
	if (!(s->flags & TCP_S_STARTED)) {
		s->isn = sq - 1;
		s->next_seq = sq;
		s->flags |= TCP_S_STARTED | TCP_S_MIDSTREAM;
		r->st.midstream++;
		tcp_anomaly(x, dir, ANOM_STREAM_MIDSTREAM_PICKUP);
	}
	while (n > 0) {
		if (SEQ_LT(sq, s->next_seq)) {
			k = s->next_seq - sq;
			if (k >= n) {
				/* keep-alive probe: one old byte, often junk */
				if (n == 1 && k == 1)
					return;
				r->st.retransmitted++;
				tcp_compare_old(x, dir, sq, d, n);
				return;
			}
			x->overlap = 1;
			tcp_compare_old(x, dir, sq, d, k);
			sq += k;
			d += k;
			n -= k;
		}
		if (sq == s->next_seq) {
			tcp_deliver_inorder(x, dir, d, n);
			return;
		}
		/* Beyond next_seq: lost for good if the peer already ACKed. */
		if (tcp_acked(s, &ack) && SEQ_GT(ack, s->next_seq)) {
			end = sq;
			if (s->ooo != NULL && SEQ_LT(s->ooo->seq, end))
				end = s->ooo->seq;
			if (SEQ_LT(ack, end))
				end = ack;
			tcp_gap(x, dir, end - s->next_seq);
			tcp_drain(x, dir);
			continue;
		}
		if (!ooo_counted) {
			r->st.out_of_order++;
			ooo_counted = 1;
		}
		if (tcp_hold(x, dir, sq, d, n) == 0)
			return;
		if (s->ooo != NULL)
			tcp_flush_held(x, dir);
		else
			tcp_gap(x, dir, sq - s->next_seq);
	}
}

/*
 * The peer ACKed `ack` for direction dir: bytes below it were received by
 * the peer and will not be sent again, so a hole we know about (data held
 * after it, or the FIN after it) is lost.
 */
static void
tcp_stream_ack(struct tcp_ctx *x, int dir, uint32_t ack)
{
	struct tcp_stream *s = &x->c->s[dir];
	uint32_t end;

	if (!(s->flags & TCP_S_ACKED) || SEQ_GT(ack, s->peer_ack)) {
		s->peer_ack = ack;
		s->flags |= TCP_S_ACKED;
	}
	if (!(s->flags & TCP_S_STARTED) || (s->flags & TCP_S_CLOSED) ||
	    !tcp_acked(s, &ack))
		return;
	while (SEQ_GT(ack, s->next_seq)) {
		if (s->ooo != NULL)
			end = s->ooo->seq;
		else if (s->flags & TCP_S_FIN)
			end = s->fin_seq;
		else if (ack - s->next_seq <= TCP_ACK_GAP_MAX)
			end = ack;
		else
			break;
		if (SEQ_LT(ack, end))
			end = ack;
		tcp_gap(x, dir, end - s->next_seq);
		tcp_drain(x, dir);
	}
}

/* A direction is finished once its FIN is known and reached. */
static int
tcp_stream_done(struct tcp_stream *s)
{
	if (!(s->flags & TCP_S_FIN))
		return 0;
	if ((s->flags & TCP_S_STARTED) && SEQ_LT(s->next_seq, s->fin_seq))
		return 0;
	s->flags |= TCP_S_CLOSED;
	return 1;
}

static void
tcp_report_overlap(struct tcp_ctx *x, int dir)
{
	if (x->overlap)
		x->r->st.overlaps++;
	if (x->diff) {
		x->r->st.overlaps_diff++;
		tcp_anomaly(x, dir, ANOM_STREAM_OVERLAP_DIFFERENT_DATA);
	}
	x->overlap = x->diff = 0;
}

int
tcp_reasm_packet(struct tcp_reasm *r, struct tcp_conn *c, int dir,
    const struct pkt *p, const struct tcp_reasm_out *out)
{
	struct tcp_ctx x;
	struct tcp_stream *s, *o;
	uint32_t sq = p->seq, n = p->payload_len;
	uint8_t fl = p->tcp_flags;
	int done0, done1;

	if (dir != 0 && dir != 1) {
		r->st.ignored++;
		return -1;
	}
	if (n > 0 && p->payload == NULL) {
		r->st.ignored++;
		return -1;
	}
	r->st.segments++;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.c = c;
	x.out = out;
	x.ts = p->ts_us;
	s = &c->s[dir];
	o = &c->s[1 - dir];

	if (fl & PKT_TH_RST) {
		s->flags |= TCP_S_RST;
		c->state = TCP_CONN_CLOSED;
		return 0;
	}
	if (fl & PKT_TH_SYN) {
		if (!(s->flags & (TCP_S_SYN | TCP_S_STARTED))) {
			s->isn = sq;
			s->next_seq = sq + 1;
			s->flags |= TCP_S_SYN | TCP_S_STARTED;
			s->flags &= (uint8_t)~TCP_S_ACKED;
		} else if ((s->flags & TCP_S_SYN) && sq != s->isn) {
			/* a second handshake on the same tuple: not ours */
			r->st.ignored++;
			return -1;
		}
		sq++;
	}
	/*
	 * The ACK first: when it reveals bytes of the other direction that the
	 * tap never saw, the gap must reach the parser before this packet's
	 * own data (the server's "250 queued" after a lost message end).
	 */
	if (fl & PKT_TH_ACK)
		tcp_stream_ack(&x, 1 - dir, p->ack);
	if (n > 0) {
		s->flags |= TCP_S_DATA;
		tcp_stream_data(&x, dir, sq, p->payload, n);
		tcp_report_overlap(&x, dir);
	}
	if (c->state == TCP_CONN_NEW &&
	    (((c->s[0].flags & c->s[1].flags) & TCP_S_DATA) ||
	    (dir == 0 && (fl & (PKT_TH_ACK | PKT_TH_SYN)) == PKT_TH_ACK &&
	    (c->s[1].flags & TCP_S_SYN))))
		c->state = TCP_CONN_ESTABLISHED;
	if ((fl & PKT_TH_FIN) && !(s->flags & TCP_S_FIN)) {
		s->fin_seq = sq + n;
		s->flags |= TCP_S_FIN;
	}
	done0 = tcp_stream_done(&c->s[0]);
	done1 = tcp_stream_done(&c->s[1]);
	if (done0 && done1)
		c->state = TCP_CONN_CLOSED;
	else if (((s->flags | o->flags) & TCP_S_FIN) &&
	    c->state < TCP_CONN_CLOSING)
		c->state = TCP_CONN_CLOSING;
	return 0;
}

void
tcp_reasm_flush(struct tcp_reasm *r, struct tcp_conn *c, uint64_t ts_us,
    const struct tcp_reasm_out *out)
{
	struct tcp_ctx x;
	struct tcp_stream *s;
	uint32_t end, ack;
	int dir;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.c = c;
	x.out = out;
	x.ts = ts_us;
	for (dir = 0; dir < 2; dir++) {
		s = &c->s[dir];
		if (s->flags & TCP_S_STARTED) {
			tcp_flush_held(&x, dir);
			/* bytes the peer ACKed, or that precede the FIN */
			end = s->next_seq;
			if (s->flags & TCP_S_FIN)
				end = s->fin_seq;
			if (tcp_acked(s, &ack) && SEQ_GT(ack, end))
				end = ack;
			if (!(s->flags & TCP_S_CLOSED) &&
			    SEQ_GT(end, s->next_seq))
				tcp_gap(&x, dir, end - s->next_seq);
		}
		while (s->ooo != NULL) {
			struct tcp_seg *g = s->ooo;

			s->ooo = g->next;
			tcp_seg_free(r, s, g);
		}
		s->ooo_last = NULL;
		s->flags |= TCP_S_CLOSED;
	}
}
