/*
 * pkt.c - link, IP and TCP decoding of one captured frame.
 *
 * Design: one function per header, each handed the bytes left after the
 * previous one and reading them only through a struct cur (decode/cursor.h),
 * so a short frame can only ever set the cursor's error flag.  Link layers
 * end in an ethertype dispatch shared by Ethernet, VLAN, SLL and SLL2; the
 * IP decoders then check lengths in the order the header documents
 * (captured bytes, the header's own length, the total length against the
 * capture).  Whether an IP length past the captured end is a snaplen cut or
 * a lie is decided with wirelen: the frame was cut by at most wirelen -
 * caplen bytes.  A completed fragment datagram is decoded by calling the same
 * IP decoder again on the table's buffer, with a depth flag that refuses a
 * fragment inside a reassembled datagram (that would overwrite the buffer
 * being decoded, and is never legitimate).
 *
 * Rejected: casting packed header structs onto the frame (alignment and
 * bounds are then the caller's problem at every field); a longjmp on
 * truncation as tcpdump does (it would skip the counters); guessing
 * 802.3/LLC/SNAP and MPLS pseudowire payloads (no SMTP travels there in
 * practice, and every guess is attack surface).
 */
#include "pkt.h"

#include <stddef.h>
#include <string.h>

#include "cursor.h"
#include "ipfrag.h"

#define PKT_IPPROTO_HOPOPTS 0
#define PKT_IPPROTO_TCP 6
#define PKT_IPPROTO_UDP 17
#define PKT_IPPROTO_ROUTING 43
#define PKT_IPPROTO_FRAGMENT 44
#define PKT_IPPROTO_ESP 50
#define PKT_IPPROTO_AH 51
#define PKT_IPPROTO_NONE 59
#define PKT_IPPROTO_DSTOPTS 60

#define PKT_ETH_IPV4 0x0800
#define PKT_ETH_IPV6 0x86dd
#define PKT_ETH_8021Q 0x8100
#define PKT_ETH_8021AD 0x88a8
#define PKT_ETH_QINQ 0x9100
#define PKT_ETH_MPLS 0x8847
#define PKT_ETH_MPLS_MC 0x8848
#define PKT_ETH_PPPOE 0x8864

struct pkt_ctx {
	struct pkt *p;
	struct ipfrag_table *frag;
	struct pkt_counters *ctr;
	uint32_t wire_extra;    /* bytes the snaplen may have cut */
	int depth;              /* 1 inside a reassembled datagram */
};

static enum pkt_status pkt_ipv4(struct pkt_ctx *x, const uint8_t *b,
    size_t len);
static enum pkt_status pkt_ipv6(struct pkt_ctx *x, const uint8_t *b,
    size_t len);

static enum pkt_status
pkt_bad(struct pkt_ctx *x, enum anom_id a)
{
	x->p->anomaly = a;
	x->ctr->invalid++;
	return PKT_INVALID;
}

static void
pkt_soft(struct pkt_ctx *x, enum anom_id a)
{
	if (x->p->anomaly == ANOM_NONE)
		x->p->anomaly = a;
}

static enum pkt_status
pkt_non_ip(struct pkt_ctx *x)
{
	x->ctr->non_ip++;
	return PKT_NOT_TCP;
}

/*
 * An IP length field says `claimed` bytes where `avail` were captured.
 * 0: consistent (trim to claimed); 1: cut by the snaplen; -1: a lie.
 */
static int
pkt_len_check(struct pkt_ctx *x, size_t claimed, size_t avail)
{
	if (claimed <= avail)
		return 0;
	if (claimed - avail > x->wire_extra)
		return -1;
	x->p->truncated = 1;
	return 1;
}

static enum pkt_status
pkt_tcp(struct pkt_ctx *x, const uint8_t *b, size_t avail, size_t claimed)
{
	struct pkt *p = x->p;
	struct cur c, o;
	size_t thl;
	uint8_t offx, kind, olen;
	int bad = 0;

	if (claimed < 20)
		return pkt_bad(x, ANOM_DECODE_TCP_BAD_HLEN);
	if (avail < 20)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	cur_init(&c, b, avail);
	p->sport = cur_be16(&c);
	p->dport = cur_be16(&c);
	p->seq = cur_be32(&c);
	p->ack = cur_be32(&c);
	offx = cur_u8(&c);
	p->tcp_flags = cur_u8(&c);
	p->window = cur_be16(&c);
	cur_skip(&c, 4);                /* checksum, urgent pointer */
	thl = (size_t)(offx >> 4) * 4;
	if (thl < 20 || thl > claimed)
		return pkt_bad(x, ANOM_DECODE_TCP_BAD_HLEN);
	if (thl > avail || c.err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);

	o = cur_sub(&c, thl - 20);
	while (cur_left(&o) > 0) {
		kind = cur_u8(&o);
		if (kind == 0)
			break;
		if (kind == 1)
			continue;
		olen = cur_u8(&o);
		if (o.err || olen < 2 || (size_t)(olen - 2) > cur_left(&o)) {
			bad = 1;
			break;
		}
		if (kind == 2 && olen == 4) {
			p->mss = cur_be16(&o);
		} else if (kind == 3 && olen == 3) {
			p->wscale = cur_u8(&o);
		} else {
			if (kind == 2 || kind == 3)
				bad = 1;
			cur_skip(&o, (size_t)olen - 2);
		}
	}
	if (bad)
		pkt_soft(x, ANOM_DECODE_TCP_BAD_OPTIONS);

	p->payload = b + thl;
	p->payload_len = (uint32_t)(avail - thl);
	p->payload_wire_len = (uint32_t)(claimed - thl);
	x->ctr->tcp++;
	return PKT_OK;
}

static enum pkt_status
pkt_l4(struct pkt_ctx *x, uint8_t proto, const uint8_t *b, size_t avail,
    size_t claimed)
{
	x->p->l4proto = proto;
	if (proto == PKT_IPPROTO_TCP)
		return pkt_tcp(x, b, avail, claimed);
	if (proto == PKT_IPPROTO_UDP)
		x->ctr->udp++;
	else
		x->ctr->other_l4++;
	return PKT_NOT_TCP;
}

static enum pkt_status
pkt_frag(struct pkt_ctx *x, int ipver, const uint8_t *hdr, size_t hdr_len,
    uint32_t id, uint8_t proto, uint32_t off, int more, const uint8_t *data,
    size_t data_len)
{
	struct pkt *p = x->p;
	struct pkt_ctx sub;
	enum ipfrag_status st;
	enum pkt_status r;
	enum anom_id a;
	const uint8_t *out;
	size_t out_len;

	p->l4proto = proto;
	if (x->depth > 0)
		return pkt_bad(x, ipver == 4 ? ANOM_DECODE_IPV4_BAD_HLEN :
		    ANOM_DECODE_IPV6_BAD_EXTHDR);
	x->ctr->frags++;
	if (x->frag == NULL) {
		x->ctr->frag_drops++;
		return PKT_FRAG_HELD;
	}
	if (p->truncated) {
		x->ctr->frag_drops++;
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	}
	st = ipfrag_add(x->frag, ipver, hdr, hdr_len, id, proto, off, more,
	    data, data_len, p->ts_us, &out, &out_len, &a);
	if (st == IPFRAG_HELD) {
		pkt_soft(x, a);
		return PKT_FRAG_HELD;
	}
	if (st != IPFRAG_DONE) {
		x->ctr->frag_drops++;
		return pkt_bad(x, a != ANOM_NONE ? a : ANOM_DECODE_FRAG_MEMCAP);
	}
	x->ctr->frags_reassembled++;
	p->reassembled = 1;
	sub = *x;
	sub.depth = 1;
	sub.wire_extra = 0;
	r = ipver == 4 ? pkt_ipv4(&sub, out, out_len) :
	    pkt_ipv6(&sub, out, out_len);
	if (r != PKT_INVALID)
		pkt_soft(x, a);
	return r;
}

static enum pkt_status
pkt_ipv4(struct pkt_ctx *x, const uint8_t *b, size_t len)
{
	struct pkt *p = x->p;
	struct cur c, o;
	size_t ihl, totlen, avail;
	uint16_t id, fo;
	uint8_t vihl, proto, kind, olen;
	int bad = 0;

	if (len < 20)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	cur_init(&c, b, len);
	vihl = cur_u8(&c);
	cur_skip(&c, 1);
	totlen = cur_be16(&c);
	id = cur_be16(&c);
	fo = cur_be16(&c);
	cur_skip(&c, 1);
	proto = cur_u8(&c);
	cur_skip(&c, 2);
	if ((vihl >> 4) != 4)
		return pkt_bad(x, ANOM_DECODE_IPV4_BAD_HLEN);
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (ihl < 20)
		return pkt_bad(x, ANOM_DECODE_IPV4_BAD_HLEN);
	if (ihl > len)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	if (totlen < ihl)
		return pkt_bad(x, ANOM_DECODE_IPV4_BAD_TOTLEN);
	switch (pkt_len_check(x, totlen, len)) {
	case -1:
		return pkt_bad(x, ANOM_DECODE_IPV4_BAD_TOTLEN);
	case 1:
		avail = len;
		break;
	default:
		avail = totlen;
		break;
	}

	memset(p->src, 0, sizeof(p->src));
	memset(p->dst, 0, sizeof(p->dst));
	cur_bytes(&c, p->src, 4);
	cur_bytes(&c, p->dst, 4);
	o = cur_sub(&c, ihl - 20);
	if (c.err || o.err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	while (cur_left(&o) > 0) {
		kind = cur_u8(&o);
		if (kind == 0)
			break;
		if (kind == 1)
			continue;
		olen = cur_u8(&o);
		if (o.err || olen < 2 || (size_t)(olen - 2) > cur_left(&o)) {
			bad = 1;
			break;
		}
		cur_skip(&o, (size_t)olen - 2);
	}
	if (bad)
		pkt_soft(x, ANOM_DECODE_IPV4_BAD_OPTIONS);

	p->ipver = 4;
	p->l3_len = (uint32_t)totlen;
	if (x->depth == 0)
		x->ctr->ipv4++;
	if ((fo & 0x3fff) != 0)         /* MF or an offset */
		return pkt_frag(x, 4, b, ihl, id, proto,
		    (uint32_t)(fo & 0x1fff) * 8, (fo & 0x2000) != 0, b + ihl,
		    avail - ihl);
	return pkt_l4(x, proto, b + ihl, avail - ihl, totlen - ihl);
}

static enum pkt_status
pkt_ipv6(struct pkt_ctx *x, const uint8_t *b, size_t len)
{
	struct pkt *p = x->p;
	struct cur c, h;
	size_t plen, total, avail, off, hl;
	uint32_t vtc, id;
	uint16_t fo;
	uint8_t nh, next;
	int n;

	if (len < 40)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	cur_init(&c, b, len);
	vtc = cur_be32(&c);
	plen = cur_be16(&c);
	nh = cur_u8(&c);
	cur_skip(&c, 1);
	cur_bytes(&c, p->src, 16);
	cur_bytes(&c, p->dst, 16);
	if (c.err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	if ((vtc >> 28) != 6)
		return pkt_bad(x, ANOM_DECODE_IPV6_BAD_PLEN);
	/* 0 is a jumbogram (RFC 2675): not supported, unless nothing follows */
	if (plen == 0 && nh != PKT_IPPROTO_NONE)
		return pkt_bad(x, ANOM_DECODE_IPV6_BAD_PLEN);
	total = 40 + plen;
	switch (pkt_len_check(x, total, len)) {
	case -1:
		return pkt_bad(x, ANOM_DECODE_IPV6_BAD_PLEN);
	case 1:
		avail = len;
		break;
	default:
		avail = total;
		break;
	}
	p->ipver = 6;
	p->l3_len = (uint32_t)total;
	if (x->depth == 0)
		x->ctr->ipv6++;

	cur_init(&c, b + 40, avail - 40);
	off = 40;
	for (n = 0;; n++) {
		if (nh != PKT_IPPROTO_HOPOPTS && nh != PKT_IPPROTO_ROUTING &&
		    nh != PKT_IPPROTO_DSTOPTS && nh != PKT_IPPROTO_AH &&
		    nh != PKT_IPPROTO_FRAGMENT)
			break;
		if (n >= PKT_MAX_EXTHDR ||
		    (nh == PKT_IPPROTO_HOPOPTS && n > 0))
			return pkt_bad(x, ANOM_DECODE_IPV6_BAD_EXTHDR);
		h = c;
		next = cur_u8(&h);
		hl = cur_u8(&h);
		if (nh == PKT_IPPROTO_FRAGMENT)
			hl = 8;
		else if (nh == PKT_IPPROTO_AH)
			hl = (hl + 2) * 4;
		else
			hl = (hl + 1) * 8;
		if (h.err || hl > avail - off) {
			if (off + (h.err ? 2 : hl) <= total)
				return pkt_bad(x, ANOM_DECODE_TRUNCATED);
			return pkt_bad(x, ANOM_DECODE_IPV6_BAD_EXTHDR);
		}
		if (nh == PKT_IPPROTO_FRAGMENT) {
			fo = cur_be16(&h);
			id = cur_be32(&h);
			if ((fo & 0xfff9) != 0)  /* not an atomic fragment */
				return pkt_frag(x, 6, b, off, id, next,
				    fo & 0xfff8, fo & 1, b + off + 8,
				    avail - off - 8);
		}
		cur_skip(&c, hl);
		off += hl;
		nh = next;
	}
	if (nh == PKT_IPPROTO_ESP || nh == PKT_IPPROTO_NONE) {
		p->l4proto = nh;
		x->ctr->other_l4++;
		return PKT_NOT_TCP;
	}
	return pkt_l4(x, nh, b + off, avail - off, total - off);
}

static enum pkt_status
pkt_ip_any(struct pkt_ctx *x, struct cur *c)
{
	struct cur k = *c;
	uint8_t v = cur_u8(&k);

	if (k.err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	if ((v >> 4) == 4)
		return pkt_ipv4(x, c->p, cur_left(c));
	if ((v >> 4) == 6)
		return pkt_ipv6(x, c->p, cur_left(c));
	return pkt_bad(x, ANOM_DECODE_IPV4_BAD_HLEN);
}

static enum pkt_status
pkt_mpls(struct pkt_ctx *x, struct cur *c)
{
	struct cur k;
	uint32_t lse;
	uint8_t v;
	int n;

	x->ctr->mpls++;
	for (n = 0;; n++) {
		if (n >= PKT_MAX_MPLS)
			return pkt_bad(x, ANOM_DECODE_MPLS_TOO_DEEP);
		lse = cur_be32(c);
		if (c->err)
			return pkt_bad(x, ANOM_DECODE_TRUNCATED);
		if (lse & 0x100)        /* bottom of stack */
			break;
	}
	k = *c;
	v = cur_u8(&k);
	if (k.err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	if ((v >> 4) == 4)
		return pkt_ipv4(x, c->p, cur_left(c));
	if ((v >> 4) == 6)
		return pkt_ipv6(x, c->p, cur_left(c));
	return pkt_non_ip(x);
}

static enum pkt_status
pkt_pppoe(struct pkt_ctx *x, struct cur *c)
{
	uint8_t vt, code;
	uint16_t proto;

	vt = cur_u8(c);
	code = cur_u8(c);
	cur_skip(c, 4);                 /* session id, length */
	proto = cur_be16(c);
	if (c->err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	if (vt != 0x11 || code != 0)
		return pkt_non_ip(x);
	if (proto == 0x0021)
		return pkt_ipv4(x, c->p, cur_left(c));
	if (proto == 0x0057)
		return pkt_ipv6(x, c->p, cur_left(c));
	return pkt_non_ip(x);
}

static enum pkt_status
pkt_ethertype(struct pkt_ctx *x, struct cur *c, uint16_t type)
{
	struct pkt *p = x->p;
	uint16_t tci;

	while (type == PKT_ETH_8021Q || type == PKT_ETH_8021AD ||
	    type == PKT_ETH_QINQ) {
		if (p->vlan_count >= PKT_MAX_VLAN)
			return pkt_bad(x, ANOM_DECODE_VLAN_TOO_DEEP);
		tci = cur_be16(c);
		type = cur_be16(c);
		if (c->err)
			return pkt_bad(x, ANOM_DECODE_TRUNCATED);
		if (p->vlan_count == 0)
			x->ctr->vlan++;
		p->vlan[p->vlan_count++] = tci & 0x0fff;
	}
	switch (type) {
	case PKT_ETH_IPV4:
		return pkt_ipv4(x, c->p, cur_left(c));
	case PKT_ETH_IPV6:
		return pkt_ipv6(x, c->p, cur_left(c));
	case PKT_ETH_MPLS:
	case PKT_ETH_MPLS_MC:
		return pkt_mpls(x, c);
	case PKT_ETH_PPPOE:
		return pkt_pppoe(x, c);
	default:
		return pkt_non_ip(x);
	}
}

static enum pkt_status
pkt_link(struct pkt_ctx *x, struct cur *c, int linktype)
{
	uint32_t fam;
	uint16_t type;

	switch (linktype) {
	case PKT_DLT_EN10MB:
		x->ctr->ethernet++;
		cur_skip(c, 12);
		type = cur_be16(c);
		break;
	case PKT_DLT_LINUX_SLL:
		x->ctr->sll++;
		cur_skip(c, 14);        /* type, ARPHRD, addr len, addr */
		type = cur_be16(c);
		break;
	case PKT_DLT_LINUX_SLL2:
		x->ctr->sll2++;
		type = cur_be16(c);
		cur_skip(c, 18);        /* rsvd, ifindex, ARPHRD, type, addr */
		break;
	case PKT_DLT_RAW:
	case PKT_DLT_RAW_OPENBSD:
	case PKT_DLT_LINKTYPE_RAW:
		x->ctr->raw++;
		return pkt_ip_any(x, c);
	case PKT_DLT_IPV4:
		x->ctr->raw++;
		return pkt_ipv4(x, c->p, cur_left(c));
	case PKT_DLT_IPV6:
		x->ctr->raw++;
		return pkt_ipv6(x, c->p, cur_left(c));
	case PKT_DLT_NULL:
	case PKT_DLT_LOOP:
		x->ctr->null_loop++;
		if (linktype == PKT_DLT_LOOP) {
			fam = cur_be32(c);
		} else {
			/* the writer's byte order: a family fits 16 bits */
			fam = cur_le32(c);
			if (fam > 0xffff)
				fam = __builtin_bswap32(fam);
		}
		if (c->err)
			return pkt_bad(x, ANOM_DECODE_TRUNCATED);
		if (fam == 2)
			return pkt_ipv4(x, c->p, cur_left(c));
		if (fam == 24 || fam == 28 || fam == 30)
			return pkt_ipv6(x, c->p, cur_left(c));
		return pkt_non_ip(x);
	default:
		return pkt_bad(x, ANOM_DECODE_UNKNOWN_LINKTYPE);
	}
	if (c->err)
		return pkt_bad(x, ANOM_DECODE_TRUNCATED);
	return pkt_ethertype(x, c, type);
}

enum pkt_status
pkt_decode(struct pkt *p, struct ipfrag_table *frag, struct pkt_counters *ctr)
{
	struct pkt_ctx x;
	struct cur c;
	enum pkt_status r;
	size_t outs = offsetof(struct pkt, ipver);

	memset((uint8_t *)p + outs, 0, sizeof(*p) - outs);
	p->wscale = 0xff;
	p->payload = NULL;
	p->anomaly = ANOM_NONE;
	ctr->pkts++;
	ctr->bytes += p->wirelen > p->caplen ? p->wirelen : p->caplen;

	x.p = p;
	x.frag = frag;
	x.ctr = ctr;
	x.depth = 0;
	if (p->wirelen == 0)
		x.wire_extra = UINT32_MAX;
	else if (p->wirelen > p->caplen)
		x.wire_extra = p->wirelen - p->caplen;
	else
		x.wire_extra = 0;
	cur_init(&c, p->frame, p->frame != NULL ? p->caplen : 0);
	r = pkt_link(&x, &c, p->linktype);
	if (p->truncated)
		ctr->truncated++;
	return r;
}

int
pkt_linktype_supported(int linktype)
{
	switch (linktype) {
	case PKT_DLT_NULL:
	case PKT_DLT_EN10MB:
	case PKT_DLT_RAW:
	case PKT_DLT_RAW_OPENBSD:
	case PKT_DLT_LINKTYPE_RAW:
	case PKT_DLT_LOOP:
	case PKT_DLT_LINUX_SLL:
	case PKT_DLT_IPV4:
	case PKT_DLT_IPV6:
	case PKT_DLT_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

static uint64_t
pkt_rd64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
	return v;
}

static uint64_t
pkt_round(uint64_t acc, uint64_t k)
{
	acc += k * 0xc2b2ae3d27d4eb4fULL;
	acc = (acc << 31) | (acc >> 33);
	return acc * 0x9e3779b185ebca87ULL;
}

uint32_t
pkt_flow_hash(const struct pkt *p)
{
	const uint8_t *lo = p->src, *hi = p->dst;
	uint16_t plo = p->sport, phi = p->dport;
	uint64_t h = 0x27d4eb2f165667c5ULL;
	int cmp, i;

	cmp = memcmp(p->src, p->dst, 16);
	if (cmp > 0 || (cmp == 0 && p->sport > p->dport)) {
		lo = p->dst;
		hi = p->src;
		plo = p->dport;
		phi = p->sport;
	}
	h = pkt_round(h, pkt_rd64(lo));
	h = pkt_round(h, pkt_rd64(lo + 8));
	h = pkt_round(h, pkt_rd64(hi));
	h = pkt_round(h, pkt_rd64(hi + 8));
	h = pkt_round(h, (uint64_t)plo << 48 | (uint64_t)phi << 32 |
	    (uint64_t)p->ipver << 8 | p->vlan_count);
	for (i = 0; i < p->vlan_count && i < PKT_MAX_VLAN; i++)
		h = pkt_round(h, p->vlan[i] | (uint64_t)(i + 1) << 16);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}
