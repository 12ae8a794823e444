/*
 * pkt.h - link, IP and TCP decoding of one captured frame.
 *
 * Contract: pkt_decode reads a frame of a given DLT link type through a
 * bounds-checked cursor and fills a struct pkt with the addresses, ports,
 * VLAN stack, TCP header fields and a pointer to the TCP payload inside the
 * frame (never copied).  It supports DLT_EN10MB (Ethernet, 802.1Q, 802.1ad
 * and QinQ up to PKT_MAX_VLAN tags, MPLS label stacks up to 8), DLT_LINUX_SLL,
 * DLT_LINUX_SLL2, DLT_RAW / DLT_IPV4 / DLT_IPV6, DLT_NULL and DLT_LOOP; IPv4
 * with options and IPv6 with extension headers (hop-by-hop, routing,
 * destination options, fragment, AH are walked; ESP and No-Next stop).
 *
 * Lengths are checked in the order: captured length before a header is
 * read, then the header's own length field, then the total length against
 * what was captured.  A lie is reported as an anomaly in `p->anomaly` and
 * the packet is not passed on.  An IP total length shorter than the frame
 * (Ethernet padding) trims the payload; one longer than the capture (snaplen)
 * gives PKT_TRUNCATED_PAYLOAD handling: payload_len is what was captured and
 * p->truncated is set, so reassembly can treat the missing tail as a gap
 * (payload_wire_len is the length the IP header announces).  "Cut by the
 * snaplen" means within wirelen - caplen of the captured end (any length when
 * wirelen is 0, i.e. unknown); a length beyond even the wire length is a lie
 * (DECODE_IPV4_BAD_TOTLEN / DECODE_IPV6_BAD_PLEN, PKT_INVALID).
 *
 * Soft anomalies (bad IP or TCP options, fragment overlap, fragment memcap
 * eviction) are left in p->anomaly with PKT_OK / PKT_NOT_TCP / PKT_FRAG_HELD;
 * p->anomaly is ANOM_NONE otherwise.  A fragment refused by the table is
 * PKT_INVALID with the table's reason.  MSS and window scale are taken from
 * the options of any segment that carries them (normally only the SYN).
 *
 * IP fragments (v4 and v6) are handed to the ipfrag table given by the
 * caller; when a datagram completes, the decoder continues on the
 * reassembled bytes, which stay valid until the next pkt_decode call with the
 * same table.  Without a table fragments are counted and skipped.
 */
#ifndef RH_PKT_H
#define RH_PKT_H

#include <stdint.h>

#include "anomaly.h"

#define PKT_MAX_VLAN 3
#define PKT_MAX_MPLS 8         /* labels walked before DECODE_MPLS_TOO_DEEP */
#define PKT_MAX_EXTHDR 16      /* IPv6 extension headers walked, at most */

/* The link types pkt_decode knows (values of the pcap DLT_* constants). */
#define PKT_DLT_NULL 0
#define PKT_DLT_EN10MB 1
#define PKT_DLT_RAW 12         /* 14 on OpenBSD; 101 is LINKTYPE_RAW */
#define PKT_DLT_RAW_OPENBSD 14
#define PKT_DLT_LOOP 108
#define PKT_DLT_LINUX_SLL 113
#define PKT_DLT_LINKTYPE_RAW 101
#define PKT_DLT_IPV4 228
#define PKT_DLT_IPV6 229
#define PKT_DLT_LINUX_SLL2 276

/* TCP flag bits as on the wire. */
#define PKT_TH_FIN 0x01
#define PKT_TH_SYN 0x02
#define PKT_TH_RST 0x04
#define PKT_TH_PUSH 0x08
#define PKT_TH_ACK 0x10
#define PKT_TH_URG 0x20

enum pkt_status {
	PKT_OK = 0,        /* a TCP segment: every field below is set */
	PKT_NOT_TCP,       /* valid, but not TCP (UDP, ICMP, ARP, ...): skip */
	PKT_FRAG_HELD,     /* a fragment was stored; nothing to process yet */
	PKT_INVALID,       /* malformed: p->anomaly names why */
};

struct pkt {
	/* input, set by the capture layer */
	uint64_t ts_us;            /* capture time, microseconds since epoch */
	const uint8_t *frame;      /* first captured byte */
	uint32_t caplen;           /* bytes captured */
	uint32_t wirelen;          /* bytes on the wire */
	int linktype;              /* DLT_* */

	/* output of pkt_decode */
	uint8_t ipver;             /* 4 or 6 */
	uint8_t l4proto;           /* IPPROTO_* of the transport header */
	uint8_t vlan_count;
	uint8_t tcp_flags;
	uint8_t truncated;         /* payload cut by snaplen */
	uint8_t reassembled;       /* came from IP fragment reassembly */
	uint16_t vlan[PKT_MAX_VLAN]; /* outer first */
	uint8_t src[16], dst[16];  /* IPv4 in the first 4 bytes, rest zero */
	uint16_t sport, dport;     /* host order */
	uint32_t seq, ack;         /* host order */
	uint16_t window;
	uint16_t mss;              /* from the SYN's MSS option, 0 if none */
	uint8_t wscale;            /* window scale option, 0xff if none */
	const uint8_t *payload;    /* TCP payload, inside frame or frag buffer */
	uint32_t payload_len;
	uint32_t l3_len;           /* IP header + payload length as decoded */
	enum anom_id anomaly;      /* set with PKT_INVALID (and for soft issues) */
	uint32_t payload_wire_len; /* TCP payload length per the IP header:
	                              > payload_len when truncated */
};

struct ipfrag_table;

/* Counters a decoder instance keeps; summed into stats.decoder. */
struct pkt_counters {
	uint64_t pkts, bytes;
	uint64_t ethernet, vlan, mpls, sll, sll2, raw, null_loop;
	uint64_t ipv4, ipv6, tcp, udp, other_l4, non_ip;
	uint64_t frags, frags_reassembled, frag_drops;
	uint64_t invalid, truncated;
};

/* Decode p->frame[0..caplen) of p->linktype; see the contract above. */
enum pkt_status pkt_decode(struct pkt *p, struct ipfrag_table *frag,
    struct pkt_counters *ctr);

/* 1 if a DLT is supported by pkt_decode, else 0. */
int pkt_linktype_supported(int linktype);

/*
 * Symmetric hash of the flow key (addresses, ports, VLAN ids): identical for
 * both directions of a connection; used to shard flows across workers.
 */
uint32_t pkt_flow_hash(const struct pkt *p);

#endif
