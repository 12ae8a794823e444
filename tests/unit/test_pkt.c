/*
 * test_pkt.c - frame decoding: every link type, VLAN/QinQ/MPLS/PPPoE,
 * IPv4 options and length lies, IPv6 extension headers, TCP options and bad
 * header lengths, fragments through the ipfrag table, every truncation of
 * every frame, random mutations, and the symmetric flow hash.
 *
 * Frames are built byte by byte here and copied into a buffer of exactly
 * caplen bytes before each decode, so any over-read is an ASan error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/ipfrag.h"
#include "decode/pkt.h"

struct fb {
	uint8_t b[70000];
	size_t n;
};

static void
put(struct fb *f, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
p8(struct fb *f, unsigned v)
{
	f->b[f->n++] = (uint8_t)v;
}

static void
p16(struct fb *f, unsigned v)
{
	p8(f, v >> 8);
	p8(f, v);
}

static void
p32(struct fb *f, uint32_t v)
{
	p16(f, v >> 16);
	p16(f, v & 0xffff);
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

/* ---- link headers ---- */

static void
eth(struct fb *f, unsigned type)
{
	static const uint8_t macs[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

	put(f, macs, 12);
	p16(f, type);
}

static void
vlan(struct fb *f, unsigned tci, unsigned type)
{
	p16(f, tci);
	p16(f, type);
}

static void
mpls(struct fb *f, unsigned label, int bos)
{
	p32(f, (uint32_t)label << 12 | (bos ? 0x100u : 0) | 64);
}

static void
sll(struct fb *f, unsigned proto)
{
	static const uint8_t addr[8] = { 0, 1, 2, 3, 4, 5, 0, 0 };

	p16(f, 0);              /* to us */
	p16(f, 1);              /* ARPHRD_ETHER */
	p16(f, 6);
	put(f, addr, 8);
	p16(f, proto);
}

static void
sll2(struct fb *f, unsigned proto)
{
	static const uint8_t addr[8] = { 0, 1, 2, 3, 4, 5, 0, 0 };

	p16(f, proto);
	p16(f, 0);
	p32(f, 3);              /* ifindex */
	p16(f, 1);
	p8(f, 4);               /* outgoing */
	p8(f, 6);
	put(f, addr, 8);
}

static void
nullhdr(struct fb *f, uint32_t fam, int big)
{
	if (big) {
		p32(f, fam);
	} else {
		p8(f, fam);
		p8(f, fam >> 8);
		p8(f, fam >> 16);
		p8(f, fam >> 24);
	}
}

/* ---- L3 / L4 ---- */

static const uint8_t S4[4] = { 192, 0, 2, 1 }, D4[4] = { 198, 51, 100, 7 };
static const uint8_t S6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1 };
static const uint8_t D6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0x25 };

#define SPORT 40000
#define DPORT 25
#define SEQ 0x01020304u
#define ACK 0x0a0b0c0du
#define WIN 29200
static const char PAYLOAD[] = "EHLO mail.example.org\r\n";
#define PLEN (sizeof(PAYLOAD) - 1)

/* A TCP segment with MSS 1460, SACK permitted, timestamps, WS 7. */
static void
tcp_std(struct fb *f)
{
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10,
		0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

	p16(f, SPORT);
	p16(f, DPORT);
	p32(f, SEQ);
	p32(f, ACK);
	p8(f, (20 + sizeof(opts)) / 4 << 4);
	p8(f, PKT_TH_SYN | PKT_TH_ACK);
	p16(f, WIN);
	p16(f, 0);
	p16(f, 0);
	put(f, opts, sizeof(opts));
	put(f, PAYLOAD, PLEN);
}

#define TCP_STD_LEN (40 + PLEN)

/* A TCP segment with the given raw data offset byte and options. */
static void
tcp_raw(struct fb *f, unsigned offx, const uint8_t *opts, size_t optlen,
    const void *pl, size_t plen)
{
	p16(f, SPORT);
	p16(f, DPORT);
	p32(f, SEQ);
	p32(f, ACK);
	p8(f, offx);
	p8(f, PKT_TH_ACK | PKT_TH_PUSH);
	p16(f, WIN);
	p32(f, 0);
	put(f, opts, optlen);
	put(f, pl, plen);
}

/* IPv4 header; total length = header + l4len unless totlen != 0. */
static size_t
ipv4(struct fb *f, unsigned proto, const uint8_t *opts, size_t optlen,
    size_t l4len, unsigned id, unsigned fo, unsigned totlen)
{
	size_t at = f->n, hl = 20 + optlen;
	uint16_t c;

	p8(f, 0x40 | (unsigned)(hl / 4));
	p8(f, 0);
	p16(f, totlen ? totlen : (unsigned)(hl + l4len));
	p16(f, id);
	p16(f, fo);
	p8(f, 64);
	p8(f, proto);
	p16(f, 0);
	put(f, S4, 4);
	put(f, D4, 4);
	put(f, opts, optlen);
	c = cksum(f->b + at, hl);
	f->b[at + 10] = (uint8_t)(c >> 8);
	f->b[at + 11] = (uint8_t)c;
	return at;
}

static void
ipv6(struct fb *f, unsigned nh, size_t plen)
{
	p32(f, 0x60000000);
	p16(f, (unsigned)plen);
	p8(f, nh);
	p8(f, 64);
	put(f, S6, 16);
	put(f, D6, 16);
}

/* A generic extension header of 8 * (units) bytes. */
static void
ext(struct fb *f, unsigned nh, unsigned units)
{
	unsigned i;

	p8(f, nh);
	p8(f, units - 1);
	p8(f, 1);               /* PadN */
	p8(f, units * 8 - 4);
	for (i = 4; i < units * 8; i++)
		p8(f, 0);
}

/* ---- decoding ---- */

static struct pkt_counters ctr;
static uint8_t *gbuf;

static enum pkt_status
dec(int dlt, const struct fb *f, size_t caplen, uint32_t wirelen,
    struct ipfrag_table *ft, struct pkt *p)
{
	free(gbuf);
	gbuf = malloc(caplen ? caplen : 1);
	memcpy(gbuf, f->b, caplen);
	memset(p, 0x5a, sizeof(*p));
	p->ts_us = 1700000000ull * 1000000;
	p->frame = gbuf;
	p->caplen = (uint32_t)caplen;
	p->wirelen = wirelen;
	p->linktype = dlt;
	return pkt_decode(p, ft, &ctr);
}

static enum pkt_status
decf(int dlt, const struct fb *f, struct pkt *p)
{
	return dec(dlt, f, f->n, (uint32_t)f->n, NULL, p);
}

static void
check_v4_tcp(const struct pkt *p)
{
	static const uint8_t zero[12];

	CHECK_EQ_INT(p->ipver, 4);
	CHECK_EQ_INT(p->l4proto, 6);
	CHECK(memcmp(p->src, S4, 4) == 0 && memcmp(p->src + 4, zero, 12) == 0);
	CHECK(memcmp(p->dst, D4, 4) == 0 && memcmp(p->dst + 4, zero, 12) == 0);
}

static void
check_v6_tcp(const struct pkt *p)
{
	CHECK_EQ_INT(p->ipver, 6);
	CHECK_EQ_INT(p->l4proto, 6);
	CHECK(memcmp(p->src, S6, 16) == 0);
	CHECK(memcmp(p->dst, D6, 16) == 0);
}

static void
check_std_tcp(const struct pkt *p)
{
	CHECK_EQ_INT(p->sport, SPORT);
	CHECK_EQ_INT(p->dport, DPORT);
	CHECK_EQ_INT(p->seq, SEQ);
	CHECK_EQ_INT(p->ack, ACK);
	CHECK_EQ_INT(p->tcp_flags, PKT_TH_SYN | PKT_TH_ACK);
	CHECK_EQ_INT(p->window, WIN);
	CHECK_EQ_INT(p->mss, 1460);
	CHECK_EQ_INT(p->wscale, 7);
	CHECK_EQ_INT(p->payload_len, PLEN);
	CHECK_EQ_INT(p->payload_wire_len, PLEN);
	CHECK(p->payload != NULL &&
	    memcmp(p->payload, PAYLOAD, PLEN) == 0);
	CHECK_EQ_INT(p->truncated, 0);
	CHECK_EQ_INT(p->anomaly, ANOM_NONE);
}

/* Ethernet + IPv4 + the standard segment, built into f. */
static void
frame_eth4(struct fb *f)
{
	f->n = 0;
	eth(f, 0x0800);
	ipv4(f, 6, NULL, 0, TCP_STD_LEN, 1, 0x4000, 0);
	tcp_std(f);
}

static void
test_ethernet(void)
{
	static struct fb f;
	struct pkt p;
	uint64_t inv;

	memset(&ctr, 0, sizeof(ctr));
	frame_eth4(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.reassembled, 0);
	CHECK_EQ_INT(p.vlan_count, 0);
	CHECK_EQ_INT(p.l3_len, 20 + TCP_STD_LEN);
	CHECK(p.payload == gbuf + 14 + 20 + 40);
	CHECK_EQ_INT(ctr.pkts, 1);
	CHECK_EQ_INT(ctr.bytes, f.n);
	CHECK_EQ_INT(ctr.ethernet, 1);
	CHECK_EQ_INT(ctr.ipv4, 1);
	CHECK_EQ_INT(ctr.tcp, 1);
	CHECK_EQ_INT(ctr.invalid, 0);

	/* Ethernet padding after a short datagram is trimmed */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, NULL, 0, 20, 2, 0, 0);
	tcp_raw(&f, 0x50, NULL, 0, "", 0);
	memset(f.b + f.n, 0xee, 6);
	f.n += 6;
	CHECK_EQ_INT(f.n, 60);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	CHECK_EQ_INT(p.payload_len, 0);
	CHECK_EQ_INT(p.l3_len, 40);
	CHECK_EQ_INT(p.mss, 0);
	CHECK_EQ_INT(p.wscale, 0xff);
	CHECK_EQ_INT(p.tcp_flags, PKT_TH_ACK | PKT_TH_PUSH);

	/* non-IP ethertypes */
	f.n = 0;
	eth(&f, 0x0806);
	memset(f.b + f.n, 0, 28);
	f.n += 28;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(ctr.non_ip, 1);
	f.n = 0;
	eth(&f, 0x0040);        /* an 802.3 length */
	memset(f.b + f.n, 0, 46);
	f.n += 46;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(ctr.non_ip, 2);

	/* empty and NULL frames */
	inv = ctr.invalid;
	f.n = 0;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TRUNCATED);
	CHECK_EQ_INT(ctr.invalid, inv + 1);
	memset(&p, 0, sizeof(p));
	p.linktype = PKT_DLT_EN10MB;
	p.caplen = 100;
	CHECK_EQ_INT(pkt_decode(&p, NULL, &ctr), PKT_INVALID);
}

static void
test_vlan_mpls_pppoe(void)
{
	static struct fb f;
	struct pkt p;

	memset(&ctr, 0, sizeof(ctr));
	/* 802.1Q */
	f.n = 0;
	eth(&f, 0x8100);
	vlan(&f, 0x2000 | 100, 0x0800);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.vlan_count, 1);
	CHECK_EQ_INT(p.vlan[0], 100);
	CHECK_EQ_INT(ctr.vlan, 1);

	/* 802.1ad + 802.1Q (QinQ) to IPv6 */
	f.n = 0;
	eth(&f, 0x88a8);
	vlan(&f, 200, 0x8100);
	vlan(&f, 0xf000 | 4095, 0x86dd);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.vlan_count, 2);
	CHECK_EQ_INT(p.vlan[0], 200);
	CHECK_EQ_INT(p.vlan[1], 4095);
	CHECK_EQ_INT(p.l3_len, 40 + TCP_STD_LEN);
	CHECK_EQ_INT(ctr.vlan, 2);

	/* old 0x9100 QinQ, three tags: the limit */
	f.n = 0;
	eth(&f, 0x9100);
	vlan(&f, 1, 0x88a8);
	vlan(&f, 2, 0x8100);
	vlan(&f, 3, 0x0800);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	CHECK_EQ_INT(p.vlan_count, 3);
	CHECK(p.vlan[0] == 1 && p.vlan[1] == 2 && p.vlan[2] == 3);
	check_std_tcp(&p);

	/* four tags */
	f.n = 0;
	eth(&f, 0x8100);
	vlan(&f, 1, 0x8100);
	vlan(&f, 2, 0x8100);
	vlan(&f, 3, 0x8100);
	vlan(&f, 4, 0x0800);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_VLAN_TOO_DEEP);

	/* MPLS, one label, IPv4 */
	f.n = 0;
	eth(&f, 0x8847);
	mpls(&f, 16, 1);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(ctr.mpls, 1);

	/* VLAN then an eight-label stack, IPv6 */
	{
		int i;

		f.n = 0;
		eth(&f, 0x8100);
		vlan(&f, 7, 0x8848);
		for (i = 0; i < 8; i++)
			mpls(&f, 100u + (unsigned)i, i == 7);
		ipv6(&f, 6, TCP_STD_LEN);
		tcp_std(&f);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
		check_v6_tcp(&p);
		check_std_tcp(&p);
		CHECK_EQ_INT(p.vlan_count, 1);

		f.n = 0;
		eth(&f, 0x8847);
		for (i = 0; i < 9; i++)
			mpls(&f, 100u + (unsigned)i, i == 8);
		ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
		tcp_std(&f);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
		CHECK_EQ_INT(p.anomaly, ANOM_DECODE_MPLS_TOO_DEEP);
	}

	/* MPLS with a pseudowire control word: not IP */
	f.n = 0;
	eth(&f, 0x8847);
	mpls(&f, 16, 1);
	p32(&f, 0);
	eth(&f, 0x0800);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);

	/* PPPoE session, IPv4 and IPv6 */
	f.n = 0;
	eth(&f, 0x8864);
	p8(&f, 0x11);
	p8(&f, 0);
	p16(&f, 0x1234);
	p16(&f, 2 + 20 + TCP_STD_LEN);
	p16(&f, 0x0021);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	f.n = 0;
	eth(&f, 0x8864);
	p8(&f, 0x11);
	p8(&f, 0);
	p16(&f, 0x1234);
	p16(&f, 2 + 40 + TCP_STD_LEN);
	p16(&f, 0x0057);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	/* PPP LCP */
	f.b[14 + 6] = 0xc0;
	f.b[14 + 7] = 0x21;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
}

static void
test_other_links(void)
{
	static struct fb f;
	struct pkt p;
	static const int raws[] = { PKT_DLT_RAW, PKT_DLT_LINKTYPE_RAW,
		PKT_DLT_RAW_OPENBSD };
	static const uint32_t fams6[] = { 24, 28, 30 };
	size_t i;
	int big;

	memset(&ctr, 0, sizeof(ctr));
	/* SLL */
	f.n = 0;
	sll(&f, 0x0800);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LINUX_SLL, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(ctr.sll, 1);
	/* SLL with a VLAN tag left in */
	f.n = 0;
	sll(&f, 0x8100);
	vlan(&f, 55, 0x86dd);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LINUX_SLL, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.vlan_count, 1);
	CHECK_EQ_INT(p.vlan[0], 55);
	/* SLL2 */
	f.n = 0;
	sll2(&f, 0x86dd);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LINUX_SLL2, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(ctr.sll2, 1);
	f.n = 0;
	sll2(&f, 0x0800);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LINUX_SLL2, &f, &p), PKT_OK);
	check_v4_tcp(&p);

	/* raw IP */
	for (i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		f.n = 0;
		ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
		tcp_std(&f);
		CHECK_EQ_INT(decf(raws[i], &f, &p), PKT_OK);
		check_v4_tcp(&p);
		check_std_tcp(&p);
		CHECK(p.payload == gbuf + 60);
		f.n = 0;
		ipv6(&f, 6, TCP_STD_LEN);
		tcp_std(&f);
		CHECK_EQ_INT(decf(raws[i], &f, &p), PKT_OK);
		check_v6_tcp(&p);
		check_std_tcp(&p);
		f.b[0] = 0x50;
		CHECK_EQ_INT(decf(raws[i], &f, &p), PKT_INVALID);
	}
	f.n = 0;
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_IPV4, &f, &p), PKT_OK);
	check_std_tcp(&p);
	CHECK_EQ_INT(decf(PKT_DLT_IPV6, &f, &p), PKT_INVALID);
	f.n = 0;
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_IPV6, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(decf(PKT_DLT_IPV4, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_HLEN);
	CHECK_EQ_INT(ctr.raw, 13);

	/* NULL in both byte orders, LOOP in network order */
	for (big = 0; big < 2; big++) {
		f.n = 0;
		nullhdr(&f, 2, big);
		ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
		tcp_std(&f);
		CHECK_EQ_INT(decf(PKT_DLT_NULL, &f, &p), PKT_OK);
		check_v4_tcp(&p);
		check_std_tcp(&p);
		for (i = 0; i < 3; i++) {
			f.n = 0;
			nullhdr(&f, fams6[i], big);
			ipv6(&f, 6, TCP_STD_LEN);
			tcp_std(&f);
			CHECK_EQ_INT(decf(PKT_DLT_NULL, &f, &p), PKT_OK);
			check_v6_tcp(&p);
			check_std_tcp(&p);
		}
		f.n = 0;
		nullhdr(&f, 7, big);
		ipv6(&f, 6, TCP_STD_LEN);
		CHECK_EQ_INT(decf(PKT_DLT_NULL, &f, &p), PKT_NOT_TCP);
	}
	f.n = 0;
	nullhdr(&f, 2, 1);
	ipv4(&f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LOOP, &f, &p), PKT_OK);
	check_std_tcp(&p);
	f.n = 0;
	nullhdr(&f, 24, 1);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_LOOP, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	f.b[3] = 0;
	f.b[0] = 24;            /* little endian is wrong for LOOP */
	CHECK_EQ_INT(decf(PKT_DLT_LOOP, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(ctr.null_loop, 13);

	/* unknown link types */
	CHECK_EQ_INT(decf(147, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_UNKNOWN_LINKTYPE);
	CHECK_EQ_INT(pkt_linktype_supported(147), 0);
	CHECK_EQ_INT(pkt_linktype_supported(-1), 0);
	CHECK_EQ_INT(pkt_linktype_supported(105), 0);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_EN10MB), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_LINUX_SLL), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_LINUX_SLL2), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_RAW), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_LINKTYPE_RAW), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_IPV4), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_IPV6), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_NULL), 1);
	CHECK_EQ_INT(pkt_linktype_supported(PKT_DLT_LOOP), 1);
}

static void
test_ipv4(void)
{
	static struct fb f;
	static const uint8_t rr[8] = { 1, 7, 7, 4, 0, 0, 0, 0 };  /* NOP, RR */
	static const uint8_t badopt[4] = { 1, 0x44, 9, 0 };      /* TS, len 9 */
	static const uint8_t zeroopt[4] = { 0x83, 0, 0, 0 };     /* len 0 */
	static const uint8_t eol[4] = { 0, 0x44, 9, 0 };  /* junk after EOL */
	static const uint8_t udp[8] = { 0, 53, 0, 53, 0, 8, 0, 0 };
	struct pkt p;

	memset(&ctr, 0, sizeof(ctr));
	/* options walked */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, rr, sizeof(rr), TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.l3_len, 28 + TCP_STD_LEN);
	/* an option running past the header: soft anomaly, still decoded */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, badopt, sizeof(badopt), TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_OPTIONS);
	CHECK_EQ_INT(p.sport, SPORT);
	CHECK(memcmp(p.payload, PAYLOAD, PLEN) == 0);
	CHECK_EQ_INT(ctr.invalid, 0);
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, zeroopt, sizeof(zeroopt), TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_OPTIONS);
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, eol, sizeof(eol), TCP_STD_LEN, 1, 0, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	CHECK_EQ_INT(p.anomaly, ANOM_NONE);

	/* IHL < 5 */
	frame_eth4(&f);
	f.b[14] = 0x44;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_HLEN);
	CHECK_EQ_INT(ctr.invalid, 1);
	/* IHL past the frame */
	f.n = 14 + 40;
	f.b[14] = 0x4f;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TRUNCATED);
	/* total length below the header length */
	frame_eth4(&f);
	f.b[16] = 0;
	f.b[17] = 19;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_TOTLEN);
	/* total length = header: no room for TCP */
	f.b[17] = 20;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_HLEN);
	/* a lying total length: longer than the whole frame on the wire */
	frame_eth4(&f);
	f.b[16] = 0x05;
	f.b[17] = 0xdc;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_TOTLEN);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n + 100, NULL,
	    &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV4_BAD_TOTLEN);
	/* ... but the snaplen explains it: truncated */
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, 14 + 1500, NULL, &p),
	    PKT_OK);
	CHECK_EQ_INT(p.truncated, 1);
	CHECK_EQ_INT(p.payload_len, PLEN);
	CHECK_EQ_INT(p.payload_wire_len, 1500 - 60);
	CHECK_EQ_INT(p.l3_len, 1500);
	CHECK_EQ_INT(p.anomaly, ANOM_NONE);
	CHECK_EQ_INT(ctr.truncated, 1);
	/* wirelen unknown (0): trusted as a snaplen cut */
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, 0, NULL, &p), PKT_OK);
	CHECK_EQ_INT(p.truncated, 1);
	CHECK_EQ_INT(ctr.truncated, 2);

	/* TCP data offset */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 6, NULL, 0, 20 + PLEN, 1, 0, 0);
	tcp_raw(&f, 0x40, NULL, 0, PAYLOAD, PLEN);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_HLEN);
	f.n = 0;                /* 60 bytes, more than the segment */
	eth(&f, 0x0800);
	ipv4(&f, 6, NULL, 0, 20 + 16, 1, 0, 0);
	tcp_raw(&f, 0xf0, NULL, 0, PAYLOAD, 16);
	memset(f.b + f.n, 0, 40);       /* bytes exist past the datagram */
	f.n += 40;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_HLEN);
	/* TCP options: bad length is soft, a short MSS is bad */
	{
		static const uint8_t o1[8] = { 1, 1, 8, 12, 0, 0, 0, 0 };
		static const uint8_t o2[4] = { 2, 3, 5, 0 };
		static const uint8_t o3[4] = { 3, 3, 14, 1 };
		static const uint8_t o4[4] = { 1, 1, 1, 2 };

		f.n = 0;
		eth(&f, 0x0800);
		ipv4(&f, 6, NULL, 0, 28 + PLEN, 1, 0, 0);
		tcp_raw(&f, 0x70, o1, 8, PAYLOAD, PLEN);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
		CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_OPTIONS);
		CHECK_EQ_INT(p.payload_len, PLEN);
		CHECK_EQ_INT(p.mss, 0);
		f.n = 0;
		eth(&f, 0x0800);
		ipv4(&f, 6, NULL, 0, 24 + PLEN, 1, 0, 0);
		tcp_raw(&f, 0x60, o2, 4, PAYLOAD, PLEN);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
		CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_OPTIONS);
		CHECK_EQ_INT(p.mss, 0);
		f.n = 0;
		eth(&f, 0x0800);
		ipv4(&f, 6, NULL, 0, 24 + PLEN, 1, 0, 0);
		tcp_raw(&f, 0x60, o3, 4, PAYLOAD, PLEN);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
		CHECK_EQ_INT(p.anomaly, ANOM_NONE);
		CHECK_EQ_INT(p.wscale, 14);
		f.n = 0;
		eth(&f, 0x0800);
		ipv4(&f, 6, NULL, 0, 24 + PLEN, 1, 0, 0);
		tcp_raw(&f, 0x60, o4, 4, PAYLOAD, PLEN);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
		CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TCP_BAD_OPTIONS);
	}

	/* UDP and ICMP */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, 17, NULL, 0, 8, 1, 0, 0);
	put(&f, udp, 8);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(p.l4proto, 17);
	CHECK_EQ_INT(ctr.udp, 1);
	f.b[14 + 9] = 1;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(p.l4proto, 1);
	CHECK_EQ_INT(ctr.other_l4, 1);
	CHECK_EQ_INT(p.ipver, 4);
}

static void
test_ipv6(void)
{
	static struct fb f;
	struct pkt p;
	size_t at;
	int i;

	memset(&ctr, 0, sizeof(ctr));
	/* hop-by-hop, routing, destination options, AH, then TCP */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 0, 8 + 24 + 16 + 16 + TCP_STD_LEN);
	ext(&f, 43, 1);
	ext(&f, 60, 3);
	ext(&f, 51, 2);
	p8(&f, 6);              /* AH: (2 + 2) * 4 = 16 bytes */
	p8(&f, 2);
	p16(&f, 0);
	p32(&f, 0x1000);
	p32(&f, 1);
	p32(&f, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.l3_len, 40 + 64 + TCP_STD_LEN);
	CHECK(p.payload == gbuf + 14 + 40 + 64 + 40);
	CHECK_EQ_INT(ctr.ipv6, 1);

	/* ESP and No Next Header stop the walk */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 0, 8 + 16);
	ext(&f, 50, 1);
	memset(f.b + f.n, 0xaa, 16);
	f.n += 16;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(p.l4proto, 50);
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 59, 0);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_NOT_TCP);
	CHECK_EQ_INT(ctr.other_l4, 2);

	/* hop-by-hop after another header */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 60, 16 + TCP_STD_LEN);
	ext(&f, 0, 1);
	ext(&f, 6, 1);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV6_BAD_EXTHDR);
	/* 16 destination option headers pass, 17 do not */
	for (i = 16; i <= 17; i++) {
		int k;

		f.n = 0;
		eth(&f, 0x86dd);
		ipv6(&f, 60, (size_t)i * 8 + TCP_STD_LEN);
		for (k = 0; k < i; k++)
			ext(&f, k == i - 1 ? 6 : 60, 1);
		tcp_std(&f);
		CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p),
		    i == 16 ? PKT_OK : PKT_INVALID);
		if (i == 16)
			check_std_tcp(&p);
		else
			CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV6_BAD_EXTHDR);
	}
	/* an extension header longer than the payload length */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 60, 8);
	ext(&f, 6, 1);
	f.b[14 + 40 + 1] = 3;
	memset(f.b + f.n, 0, 40);
	f.n += 40;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV6_BAD_EXTHDR);
	/* payload length 0 (jumbo) */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 6, 0);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV6_BAD_PLEN);
	/* payload length beyond the wire, and within a snaplen cut */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 6, 1000);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_IPV6_BAD_PLEN);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, 14 + 40 + 1000, NULL, &p),
	    PKT_OK);
	CHECK_EQ_INT(p.truncated, 1);
	CHECK_EQ_INT(p.payload_len, PLEN);
	CHECK_EQ_INT(p.payload_wire_len, 1000 - 40);
	/* trailing bytes trimmed */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 6, TCP_STD_LEN);
	tcp_std(&f);
	memset(f.b + f.n, 0, 4);
	f.n += 4;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_std_tcp(&p);
	/* version 4 in an IPv6 ethertype */
	f.b[14] = 0x40;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_INVALID);

	/* an atomic fragment (offset 0, M 0) is just a header */
	f.n = 0;
	eth(&f, 0x86dd);
	ipv6(&f, 44, 8 + TCP_STD_LEN);
	at = f.n;
	p8(&f, 6);
	p8(&f, 0);
	p16(&f, 0);
	p32(&f, 0x11223344);
	tcp_std(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(ctr.frags, 0);
	/* with M set and no table: held (skipped) and counted */
	f.b[at + 3] = 1;
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &p), PKT_FRAG_HELD);
	CHECK_EQ_INT(ctr.frags, 1);
	CHECK_EQ_INT(ctr.frag_drops, 1);
}

/* ---- fragments through pkt_decode ---- */

static void
frag4_frame(struct fb *f, const uint8_t *seg, size_t off, size_t len,
    int more, unsigned id)
{
	f->n = 0;
	eth(f, 0x0800);
	ipv4(f, 6, NULL, 0, len, id, (unsigned)(off / 8) | (more ? 0x2000u : 0),
	    0);
	put(f, seg + off, len);
}

/* Ethernet, VLAN 9, IPv6, hop-by-hop, fragment header, seg[off..+len). */
static void
frag6_frame(struct fb *f, const uint8_t *seg, size_t off, size_t len,
    int more, uint32_t id, unsigned fnh)
{
	f->n = 0;
	eth(f, 0x8100);
	vlan(f, 9, 0x86dd);
	ipv6(f, 0, 8 + 8 + len);
	ext(f, 44, 1);
	p8(f, fnh);
	p8(f, 0);
	p16(f, (unsigned)off | (more ? 1u : 0));
	p32(f, id);
	put(f, seg + off, len);
}

static void
test_frag(void)
{
	static struct fb f, seg;
	struct ipfrag_table *ft = ipfrag_create(1 << 20, 60);
	struct ipfrag_stats st;
	struct pkt p;

	memset(&ctr, 0, sizeof(ctr));
	seg.n = 0;
	tcp_std(&seg);          /* 63 bytes */

	/* in order */
	frag4_frame(&f, seg.b, 0, 24, 1, 77);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	CHECK_EQ_INT(p.anomaly, ANOM_NONE);
	frag4_frame(&f, seg.b, 24, 24, 1, 77);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	frag4_frame(&f, seg.b, 48, seg.n - 48, 0, 77);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_OK);
	check_v4_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.reassembled, 1);
	CHECK_EQ_INT(p.l3_len, 20 + seg.n);
	CHECK_EQ_INT(ctr.frags, 3);
	CHECK_EQ_INT(ctr.frags_reassembled, 1);
	CHECK_EQ_INT(ctr.ipv4, 3);
	CHECK_EQ_INT(ctr.tcp, 1);

	/* reverse, with an overlapping different copy of the middle */
	frag4_frame(&f, seg.b, 48, seg.n - 48, 0, 78);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	frag4_frame(&f, seg.b, 24, 24, 1, 78);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	frag4_frame(&f, seg.b, 24, 24, 1, 78);
	f.b[14 + 20 + 10] ^= 0xff;
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_FRAG_OVERLAP);
	frag4_frame(&f, seg.b, 0, 24, 1, 78);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_OK);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.reassembled, 1);

	/* a fragment cut by the snaplen cannot be reassembled */
	frag4_frame(&f, seg.b, 0, 24, 1, 79);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n - 4, (uint32_t)f.n, ft, &p),
	    PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_TRUNCATED);
	/* a fragment past 65535 bytes */
	frag4_frame(&f, seg.b, 0, 24, 0, 80);
	f.b[14 + 6] = 0x1f;
	f.b[14 + 7] = 0xfe;
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_INVALID);
	CHECK_EQ_INT(p.anomaly, ANOM_DECODE_FRAG_TOO_LARGE);
	CHECK_EQ_INT(ctr.frag_drops, 2);

	/* IPv6 with a hop-by-hop header before the fragment header, in VLAN */
	frag6_frame(&f, seg.b, 32, seg.n - 32, 0, 0xcafe, 17);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_FRAG_HELD);
	CHECK_EQ_INT(p.ipver, 6);
	frag6_frame(&f, seg.b, 0, 32, 1, 0xcafe, 6);
	CHECK_EQ_INT(dec(PKT_DLT_EN10MB, &f, f.n, (uint32_t)f.n, ft, &p),
	    PKT_OK);
	check_v6_tcp(&p);
	check_std_tcp(&p);
	CHECK_EQ_INT(p.reassembled, 1);
	CHECK_EQ_INT(p.vlan_count, 1);
	CHECK_EQ_INT(p.vlan[0], 9);
	CHECK_EQ_INT(p.l3_len, 40 + 8 + seg.n);
	CHECK_EQ_INT(ctr.ipv6, 2);

	ipfrag_stats_get(ft, &st);
	CHECK_EQ_INT(st.datagrams, 3);
	CHECK_EQ_INT(st.overlaps, 1);
	CHECK_EQ_INT(st.mem_in_use, 0);
	ipfrag_destroy(ft);
}

/* ---- every prefix and random damage ---- */

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

struct sample {
	int dlt;
	struct fb f;
	size_t hdrs;            /* bytes before the TCP payload */
};

static struct sample samples[12];
static int nsamples;

static struct fb *
sample_new(int dlt, size_t hdrs)
{
	struct sample *s = &samples[nsamples++];

	s->dlt = dlt;
	s->hdrs = hdrs;
	s->f.n = 0;
	return &s->f;
}

static void
build_samples(void)
{
	static const uint8_t rr[8] = { 1, 7, 7, 4, 0, 0, 0, 0 };
	struct fb *f;

	f = sample_new(PKT_DLT_EN10MB, 14 + 20 + 40);
	frame_eth4(f);
	f = sample_new(PKT_DLT_EN10MB, 14 + 8 + 28 + 40);
	eth(f, 0x88a8);
	vlan(f, 1, 0x8100);
	vlan(f, 2, 0x0800);
	ipv4(f, 6, rr, 8, TCP_STD_LEN, 1, 0, 0);
	tcp_std(f);
	f = sample_new(PKT_DLT_EN10MB, 14 + 8 + 40 + 40);
	eth(f, 0x8847);
	mpls(f, 1, 0);
	mpls(f, 2, 1);
	ipv6(f, 6, TCP_STD_LEN);
	tcp_std(f);
	f = sample_new(PKT_DLT_EN10MB, 14 + 8 + 20 + 40);
	eth(f, 0x8864);
	p16(f, 0x1100);
	p16(f, 1);
	p16(f, 2 + 20 + TCP_STD_LEN);
	p16(f, 0x0021);
	ipv4(f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(f);
	f = sample_new(PKT_DLT_LINUX_SLL, 16 + 40 + 40);
	sll(f, 0x86dd);
	ipv6(f, 6, TCP_STD_LEN);
	tcp_std(f);
	f = sample_new(PKT_DLT_LINUX_SLL2, 20 + 20 + 40);
	sll2(f, 0x0800);
	ipv4(f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(f);
	f = sample_new(PKT_DLT_RAW, 40 + 8 + 24 + 16 + 40);
	ipv6(f, 0, 8 + 24 + 16 + TCP_STD_LEN);
	ext(f, 43, 1);
	ext(f, 51, 3);
	p8(f, 6);
	p8(f, 2);
	p16(f, 0);
	p32(f, 1);
	p32(f, 2);
	p32(f, 3);
	tcp_std(f);
	f = sample_new(PKT_DLT_NULL, 4 + 20 + 40);
	nullhdr(f, 2, 0);
	ipv4(f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(f);
	f = sample_new(PKT_DLT_LOOP, 4 + 40 + 40);
	nullhdr(f, 30, 1);
	ipv6(f, 6, TCP_STD_LEN);
	tcp_std(f);
	f = sample_new(PKT_DLT_IPV4, 20 + 40);
	ipv4(f, 6, NULL, 0, TCP_STD_LEN, 1, 0, 0);
	tcp_std(f);
}

static void
test_prefixes(void)
{
	struct pkt p;
	enum pkt_status r;
	int i, bad = 0;
	size_t k;

	for (i = 0; i < nsamples; i++) {
		struct sample *s = &samples[i];

		r = decf(s->dlt, &s->f, &p);
		CHECK_EQ_INT(r, PKT_OK);
		check_std_tcp(&p);
		for (k = 0; k < s->f.n; k++) {
			/* cut by the snaplen: headers truncated or payload */
			r = dec(s->dlt, &s->f, k, (uint32_t)s->f.n, NULL, &p);
			if (k < s->hdrs) {
				if (r != PKT_INVALID ||
				    p.anomaly != ANOM_DECODE_TRUNCATED)
					bad++;
			} else if (r != PKT_OK || !p.truncated ||
			    p.payload_len != k - s->hdrs ||
			    p.payload_wire_len != PLEN ||
			    memcmp(p.payload, PAYLOAD, p.payload_len) != 0) {
				bad++;
			}
			/* a frame that is whole but short: never accepted */
			r = dec(s->dlt, &s->f, k, (uint32_t)k, NULL, &p);
			if (r != PKT_INVALID || p.anomaly == ANOM_NONE)
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
}

static void
test_random(void)
{
	struct ipfrag_table *ft = ipfrag_create(1 << 20, 60);
	static struct fb f;
	struct pkt p;
	enum pkt_status r;
	uint32_t sum = 0;
	int iter, i, n, bad = 0;
	size_t k;

	for (iter = 0; iter < 200000; iter++) {
		struct sample *s = &samples[rnd() % (uint32_t)nsamples];

		memcpy(f.b, s->f.b, s->f.n);
		f.n = s->f.n;
		n = 1 + (int)(rnd() % 4);
		for (i = 0; i < n; i++) {
			k = rnd() % f.n;
			if (rnd() % 2)
				f.b[k] ^= (uint8_t)(1u << (rnd() % 8));
			else
				f.b[k] = (uint8_t)rnd();
		}
		if (rnd() % 4 == 0) {
			/* turn the frame into a fragment now and then */
			if (s->dlt == PKT_DLT_EN10MB && f.b[12] == 8 &&
			    f.b[13] == 0)
				f.b[14 + 6] |= 0x20;
		}
		k = rnd() % 3 ? f.n : rnd() % (f.n + 1);
		r = dec(rnd() % 16 ? s->dlt : (int)(rnd() % 300), &f, k,
		    rnd() % 2 ? (uint32_t)f.n : rnd() % 70000, ft, &p);
		if (r == PKT_INVALID && p.anomaly == ANOM_NONE)
			bad++;
		if (r == PKT_OK) {
			if (p.payload == NULL && p.payload_len > 0)
				bad++;
			if (p.payload_len > p.payload_wire_len)
				bad++;
			if (!p.reassembled && p.payload_len > 0 &&
			    (p.payload < gbuf ||
			    p.payload + p.payload_len > gbuf + k))
				bad++;
			for (i = 0; i < (int)p.payload_len; i++)
				sum += p.payload[i];
		}
		if (iter % 1000 == 0)
			ipfrag_expire(ft, p.ts_us + 3600ull * 1000000);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(sum != 1);
	ipfrag_destroy(ft);
}

static void
test_flow_hash(void)
{
	static struct fb f;
	struct pkt a, b;
	static uint32_t buckets[256];
	uint32_t h, min, max;
	int i;

	frame_eth4(&f);
	CHECK_EQ_INT(decf(PKT_DLT_EN10MB, &f, &a), PKT_OK);
	b = a;
	memcpy(b.src, a.dst, 16);
	memcpy(b.dst, a.src, 16);
	b.sport = a.dport;
	b.dport = a.sport;
	CHECK_EQ_INT(pkt_flow_hash(&a), pkt_flow_hash(&b));
	b.vlan_count = 1;
	b.vlan[0] = 10;
	CHECK(pkt_flow_hash(&a) != pkt_flow_hash(&b));
	b = a;
	b.sport++;
	CHECK(pkt_flow_hash(&a) != pkt_flow_hash(&b));
	/* same address both ends, ports swapped */
	b = a;
	memcpy(b.dst, b.src, 16);
	h = pkt_flow_hash(&b);
	b.sport = a.dport;
	b.dport = a.sport;
	CHECK_EQ_INT(h, pkt_flow_hash(&b));

	/* many client ports to one server: spread over 256 shards */
	for (i = 0; i < 65536; i++) {
		b = a;
		b.sport = (uint16_t)i;
		h = pkt_flow_hash(&b);
		buckets[h & 255]++;
		b.sport = a.dport;
		b.dport = (uint16_t)i;
		memcpy(b.src, a.dst, 16);
		memcpy(b.dst, a.src, 16);
		if (pkt_flow_hash(&b) != h)
			buckets[0] += 1000000;
	}
	min = max = buckets[0];
	for (i = 1; i < 256; i++) {
		if (buckets[i] < min)
			min = buckets[i];
		if (buckets[i] > max)
			max = buckets[i];
	}
	CHECK(min > 170 && max < 350);
}

int
main(void)
{
	test_ethernet();
	test_vlan_mpls_pppoe();
	test_other_links();
	test_ipv4();
	test_ipv6();
	test_frag();
	build_samples();
	test_prefixes();
	test_random();
	test_flow_hash();
	free(gbuf);
	return CHECK_DONE();
}
