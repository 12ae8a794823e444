/*
 * ipfrag.c - IPv4/IPv6 fragment reassembly under a byte cap.
 *
 * Design: a chained hash of datagrams keyed (ipver, src, dst, id, and for
 * IPv4 the protocol; RFC 8200 keys IPv6 on the addresses and id only), plus
 * one age list, oldest first, which serves both the packet-time timeout (walk
 * from the head while expired, bounded per call) and memcap eviction (drop
 * the head).  Each datagram owns a data buffer that grows by doubling up to
 * the 65535-byte ceiling and an 8-byte-block bitmap of what has arrived:
 * fragment offsets are multiples of 8 and every non-final fragment is cut to
 * a multiple of 8 (as Linux does for IPv4), so a block is either wholly
 * present or the final partial block.  A new fragment copies only blocks not
 * yet present (first copy wins) and compares the others, so overlap with
 * different bytes is detected exactly.  The unfragmentable header is taken
 * from the offset-0 fragment.  On completion the datagram is rebuilt into one
 * table-wide output buffer allocated at create time, and freed at once, so
 * *out lives until the next call without a deferred free.
 *
 * Every byte malloc'ed for a datagram (struct, header copy, data buffer) is
 * charged to mem_in_use before the allocation and refunded on free; the fixed
 * output buffer and the bucket array are not charged.
 *
 * Rejected: a list of fragment copies per datagram (simpler to add, but the
 * overlap check and the final copy walk the list, and memory per datagram is
 * unbounded in the number of tiny fragments); a fixed 64 KiB buffer per
 * datagram (a cap of a few MiB would then hold only a few dozen datagrams);
 * pool objects (datagram buffers vary from 16 bytes to 64 KiB, and fragments
 * are rare enough that malloc behind the cap is cheaper to get right).
 */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#define IPF_MAX_DATA 65535u             /* fragmentable bytes, at most */
#define IPF_BLOCKS ((IPF_MAX_DATA + 7) / 8)
#define IPF_MAP_BYTES ((IPF_BLOCKS + 7) / 8)
#define IPF_OUT_SIZE (65535u + 40u)     /* IPv6: fixed header + payload */
#define IPF_MIN_BUF 512u
#define IPF_EXPIRE_MAX 64               /* datagrams per ipfrag_expire */
#define IPF_EXPIRE_ADD 8                /* datagrams per ipfrag_add */
#define IPF_DEFAULT_TIMEOUT 60

struct ipf_dg {
	struct ipf_dg *hnext;
	struct ipf_dg *older, *newer;
	uint64_t ts_first;
	uint32_t hash;
	uint32_t id;
	uint8_t ipver;
	uint8_t proto;          /* key for v4; from the offset-0 fragment v6 */
	uint8_t have_last;
	uint8_t src[16], dst[16];
	uint32_t total;         /* data bytes, once the last fragment is seen */
	uint32_t max_end;
	uint32_t filled;        /* blocks present */
	uint32_t cap;           /* bytes in buf */
	uint32_t hdr_len;
	uint8_t *hdr;           /* unfragmentable part of the offset-0 frag */
	uint8_t *buf;
	size_t mem;             /* bytes charged for this datagram */
	uint8_t map[IPF_MAP_BYTES];
};

struct ipfrag_table {
	struct ipf_dg **buckets;
	uint32_t nbuckets;      /* power of two */
	uint32_t seed;
	struct ipf_dg *oldest, *newest;
	uint64_t timeout_us;
	size_t memcap, mem;
	uint8_t *out;
	struct ipfrag_stats st;
};

static uint64_t
ipf_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
ipf_load64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
	return v;
}

static uint32_t
ipf_hash(const struct ipfrag_table *t, int ipver, const uint8_t *src,
    const uint8_t *dst, uint32_t id, uint8_t proto)
{
	uint64_t h;

	h = t->seed ^ ((uint64_t)ipver << 40) ^ ((uint64_t)proto << 32) ^ id;
	h = ipf_mix(h ^ ipf_load64(src));
	h = ipf_mix(h ^ ipf_load64(src + 8));
	h = ipf_mix(h ^ ipf_load64(dst));
	h = ipf_mix(h ^ ipf_load64(dst + 8));
	return (uint32_t)(h ^ (h >> 32));
}

struct ipfrag_table *
ipfrag_create(size_t memcap_bytes, uint32_t timeout_s)
{
	struct ipfrag_table *t;
	size_t want;
	uint32_t n;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	want = memcap_bytes / sizeof(struct ipf_dg);
	for (n = 64; n < want && n < (1u << 16); n <<= 1)
		;
	t->nbuckets = n;
	t->buckets = calloc(n, sizeof(*t->buckets));
	t->out = malloc(IPF_OUT_SIZE);
	if (t->buckets == NULL || t->out == NULL) {
		free(t->buckets);
		free(t->out);
		free(t);
		return NULL;
	}
	t->seed = (uint32_t)ipf_mix((uint64_t)(uintptr_t)t ^
	    (uint64_t)(uintptr_t)t->buckets);
	t->timeout_us = (uint64_t)(timeout_s ? timeout_s : IPF_DEFAULT_TIMEOUT) *
	    1000000u;
	t->memcap = memcap_bytes;
	t->st.mem_cap = memcap_bytes;
	return t;
}

static void
ipf_unlink(struct ipfrag_table *t, struct ipf_dg *d)
{
	struct ipf_dg **pp;

	for (pp = &t->buckets[d->hash & (t->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	}
	if (d->older != NULL)
		d->older->newer = d->newer;
	else
		t->oldest = d->newer;
	if (d->newer != NULL)
		d->newer->older = d->older;
	else
		t->newest = d->older;
}

static void
ipf_free(struct ipfrag_table *t, struct ipf_dg *d)
{
	ipf_unlink(t, d);
	t->mem -= d->mem;
	free(d->hdr);
	free(d->buf);
	free(d);
}

void
ipfrag_destroy(struct ipfrag_table *t)
{
	if (t == NULL)
		return;
	while (t->oldest != NULL)
		ipf_free(t, t->oldest);
	free(t->buckets);
	free(t->out);
	free(t);
}

/*
 * Make room for n more bytes by evicting the oldest datagrams other than
 * `keep`; charges n on success.  -1 if even that is not enough.
 */
static int
ipf_charge(struct ipfrag_table *t, size_t n, struct ipf_dg *keep,
    int *evicted)
{
	struct ipf_dg *v;

	/* hopeless even alone: refuse without flushing the table */
	if (n > t->memcap || (keep != NULL && keep->mem > t->memcap - n))
		return -1;
	while (t->mem > t->memcap - n) {
		v = t->oldest;
		if (v == keep && v != NULL)
			v = v->newer;
		if (v == NULL)
			return -1;
		ipf_free(t, v);
		t->st.memcap_hits++;
		t->st.dropped++;
		*evicted = 1;
	}
	t->mem += n;
	if (keep != NULL)
		keep->mem += n;
	return 0;
}

static void
ipf_expire_n(struct ipfrag_table *t, uint64_t now_us, int max)
{
	struct ipf_dg *d;

	while (max-- > 0 && (d = t->oldest) != NULL) {
		if (now_us < d->ts_first || now_us - d->ts_first <= t->timeout_us)
			break;
		ipf_free(t, d);
		t->st.timeouts++;
	}
}

void
ipfrag_expire(struct ipfrag_table *t, uint64_t now_us)
{
	ipf_expire_n(t, now_us, IPF_EXPIRE_MAX);
}

void
ipfrag_stats_get(const struct ipfrag_table *t, struct ipfrag_stats *st)
{
	*st = t->st;
	st->mem_in_use = t->mem;
	st->mem_cap = t->memcap;
}

static struct ipf_dg *
ipf_find(struct ipfrag_table *t, uint32_t h, int ipver, const uint8_t *src,
    const uint8_t *dst, uint32_t id, uint8_t proto)
{
	struct ipf_dg *d;

	for (d = t->buckets[h & (t->nbuckets - 1)]; d != NULL; d = d->hnext) {
		if (d->hash == h && d->ipver == ipver && d->id == id &&
		    (ipver == 6 || d->proto == proto) &&
		    memcmp(d->src, src, 16) == 0 &&
		    memcmp(d->dst, dst, 16) == 0)
			return d;
	}
	return NULL;
}

static struct ipf_dg *
ipf_new(struct ipfrag_table *t, uint32_t h, int ipver, const uint8_t *src,
    const uint8_t *dst, uint32_t id, uint8_t proto, uint64_t ts,
    int *evicted)
{
	struct ipf_dg *d, **b;

	if (ipf_charge(t, sizeof(*d), NULL, evicted) < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		t->mem -= sizeof(*d);
		return NULL;
	}
	d->mem = sizeof(*d);
	d->hash = h;
	d->ipver = (uint8_t)ipver;
	d->id = id;
	d->proto = proto;
	d->ts_first = ts;
	memcpy(d->src, src, 16);
	memcpy(d->dst, dst, 16);
	b = &t->buckets[h & (t->nbuckets - 1)];
	d->hnext = *b;
	*b = d;
	d->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = d;
	else
		t->oldest = d;
	t->newest = d;
	return d;
}

static int
ipf_grow(struct ipfrag_table *t, struct ipf_dg *d, uint32_t end, int *evicted)
{
	uint32_t ncap;
	uint8_t *nb;

	if (end <= d->cap)
		return 0;
	ncap = d->cap ? d->cap : IPF_MIN_BUF;
	while (ncap < end)
		ncap *= 2;
	if (ncap > IPF_MAX_DATA)
		ncap = IPF_MAX_DATA;
	if (ipf_charge(t, ncap - d->cap, d, evicted) < 0)
		return -1;
	nb = realloc(d->buf, ncap);
	if (nb == NULL) {
		t->mem -= ncap - d->cap;
		d->mem -= ncap - d->cap;
		return -1;
	}
	d->buf = nb;
	d->cap = ncap;
	return 0;
}

static int
ipf_block_has(const struct ipf_dg *d, uint32_t blk)
{
	return (d->map[blk >> 3] >> (blk & 7)) & 1;
}

/* Copy blocks not yet present, compare the rest; 1 if any byte differed. */
static int
ipf_merge(struct ipf_dg *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t blk, bs, be, a, z;
	int differ = 0;

	for (blk = off / 8; blk * 8 < off + len; blk++) {
		bs = blk * 8;
		be = bs + 8;
		a = bs > off ? bs : off;
		z = be < off + len ? be : off + len;
		if (ipf_block_has(d, blk)) {
			if (memcmp(d->buf + a, data + (a - off), z - a) != 0)
				differ = 1;
		} else {
			memcpy(d->buf + a, data + (a - off), z - a);
			d->map[blk >> 3] |= (uint8_t)(1u << (blk & 7));
			d->filled++;
		}
	}
	if (off + len > d->max_end)
		d->max_end = off + len;
	return differ;
}

static uint16_t
ipf_cksum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Rebuild the whole datagram into t->out; returns its length. */
static size_t
ipf_build(struct ipfrag_table *t, const struct ipf_dg *d)
{
	uint8_t *o = t->out;
	size_t n = d->hdr_len + d->total;
	size_t nhpos, off, hl;
	uint16_t ck;
	uint8_t nh;

	memcpy(o, d->hdr, d->hdr_len);
	memcpy(o + d->hdr_len, d->buf, d->total);
	if (d->ipver == 4) {
		o[2] = (uint8_t)(n >> 8);
		o[3] = (uint8_t)n;
		o[6] &= 0x40 | 0x80;    /* keep DF and the reserved bit */
		o[7] = 0;
		o[10] = o[11] = 0;
		ck = ipf_cksum(o, d->hdr_len);
		o[10] = (uint8_t)(ck >> 8);
		o[11] = (uint8_t)ck;
		return n;
	}
	o[4] = (uint8_t)((n - 40) >> 8);
	o[5] = (uint8_t)(n - 40);
	nhpos = 6;
	off = 40;
	while (off + 2 <= d->hdr_len) {
		nh = o[nhpos];
		if (nh == 51)
			hl = ((size_t)o[off + 1] + 2) * 4;
		else
			hl = ((size_t)o[off + 1] + 1) * 8;
		nhpos = off;
		off += hl;
	}
	o[nhpos] = d->proto;
	return n;
}

enum ipfrag_status
ipfrag_add(struct ipfrag_table *t, int ipver, const uint8_t *ip_hdr,
    size_t hdr_len, uint32_t id, uint8_t proto, uint32_t frag_off, int more,
    const uint8_t *data, size_t data_len, uint64_t ts_us,
    const uint8_t **out, size_t *out_len, enum anom_id *anom)
{
	uint8_t src[16], dst[16], kproto = proto;
	struct ipf_dg *d = NULL;
	uint32_t h, end, len, unfrag;
	int evicted = 0;

	*anom = ANOM_NONE;
	*out = NULL;
	*out_len = 0;
	t->st.frags++;
	if ((frag_off & 7) != 0) {
		*anom = ANOM_DECODE_TRUNCATED;
		t->st.dropped++;
		return IPFRAG_DROPPED;
	}
	memset(src, 0, sizeof(src));
	memset(dst, 0, sizeof(dst));
	if (ipver == 4 && hdr_len >= 20 && hdr_len <= 60) {
		memcpy(src, ip_hdr + 12, 4);
		memcpy(dst, ip_hdr + 16, 4);
		unfrag = (uint32_t)hdr_len;
	} else if (ipver == 6 && hdr_len >= 40 && hdr_len <= IPF_MAX_DATA) {
		memcpy(src, ip_hdr + 8, 16);
		memcpy(dst, ip_hdr + 24, 16);
		unfrag = (uint32_t)hdr_len - 40;
		kproto = 0;             /* not part of the v6 key */
	} else {
		*anom = ANOM_DECODE_TRUNCATED;
		t->st.dropped++;
		return IPFRAG_DROPPED;
	}
	ipf_expire_n(t, ts_us, IPF_EXPIRE_ADD);

	h = ipf_hash(t, ipver, src, dst, id, kproto);
	d = ipf_find(t, h, ipver, src, dst, id, kproto);

	len = data_len > IPF_MAX_DATA ? IPF_MAX_DATA + 1 : (uint32_t)data_len;
	if (more)
		len &= ~7u;
	if (frag_off > IPF_MAX_DATA || frag_off + len + unfrag > IPF_MAX_DATA) {
		*anom = ANOM_DECODE_FRAG_TOO_LARGE;
		goto drop;
	}
	end = frag_off + len;

	if (d == NULL) {
		d = ipf_new(t, h, ipver, src, dst, id, kproto, ts_us,
		    &evicted);
		if (d == NULL) {
			*anom = ANOM_DECODE_FRAG_MEMCAP;
			t->st.memcap_hits++;
			t->st.dropped++;
			return IPFRAG_DROPPED;
		}
	}

	if ((d->have_last && (end > d->total || (!more && end != d->total))) ||
	    (!more && d->max_end > end)) {
		/* fragments disagree on where the datagram ends */
		t->st.overlaps++;
		*anom = ANOM_DECODE_FRAG_OVERLAP;
		goto drop;
	}
	if (ipf_grow(t, d, end, &evicted) < 0)
		goto memcap;
	if (frag_off == 0 && d->hdr == NULL) {
		if (ipf_charge(t, hdr_len, d, &evicted) < 0)
			goto memcap;
		d->hdr = malloc(hdr_len);
		if (d->hdr == NULL) {
			t->mem -= hdr_len;
			d->mem -= hdr_len;
			goto memcap;
		}
		memcpy(d->hdr, ip_hdr, hdr_len);
		d->hdr_len = (uint32_t)hdr_len;
		d->proto = proto;
	}
	if (!more) {
		d->have_last = 1;
		d->total = end;
	}
	if (len > 0 && ipf_merge(d, frag_off, data, len)) {
		t->st.overlaps++;
		*anom = ANOM_DECODE_FRAG_OVERLAP;
	}
	if (evicted && *anom == ANOM_NONE)
		*anom = ANOM_DECODE_FRAG_MEMCAP;

	if (d->have_last && d->hdr != NULL && d->filled == (d->total + 7) / 8) {
		if ((ipver == 4 && d->hdr_len + d->total > 65535) ||
		    (ipver == 6 && d->hdr_len - 40 + d->total > 65535)) {
			*anom = ANOM_DECODE_FRAG_TOO_LARGE;
			goto drop;
		}
		*out_len = ipf_build(t, d);
		*out = t->out;
		ipf_free(t, d);
		t->st.datagrams++;
		return IPFRAG_DONE;
	}
	return IPFRAG_HELD;

memcap:
	*anom = ANOM_DECODE_FRAG_MEMCAP;
	t->st.memcap_hits++;
drop:
	if (d != NULL)
		ipf_free(t, d);
	t->st.dropped++;
	return IPFRAG_DROPPED;
}
