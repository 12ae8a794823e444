/*
 * ipfrag.h - IPv4 and IPv6 fragment reassembly with a memory cap.
 *
 * Contract: one table per thread that decodes (the capture reader, since
 * fragments other than the first carry no ports and cannot be sharded by
 * flow).  Fragments are keyed by (src, dst, id, protocol) for IPv4 and
 * (src, dst, id) for IPv6 (RFC 8200: the protocol is the offset-0
 * fragment's), and timed out in packet time, counted from a datagram's first
 * fragment (default 60 s; timeout_s 0 means the default).  Overlapping
 * fragments keep the first copy (BSD-right policies differ; first-wins is
 * what a later fragment cannot override) and raise DECODE_FRAG_OVERLAP when
 * the bytes differ; fragments that disagree on where the datagram ends drop
 * it with DECODE_FRAG_OVERLAP.  A non-final fragment whose length is not a
 * multiple of 8 is cut down to one.  A datagram over 65535 bytes is dropped
 * with DECODE_FRAG_TOO_LARGE; when the total bytes held would pass the cap
 * the oldest datagram is dropped and DECODE_FRAG_MEMCAP is counted (a
 * datagram that cannot fit even alone is refused without flushing others).
 * mem_in_use counts every byte malloc'ed for held datagrams exactly; the
 * fixed 64 KiB output buffer and the bucket array are not counted.
 *
 * On completion ipfrag_add returns IPFRAG_DONE and points *out at a buffer
 * holding the whole IP datagram (header rebuilt with the fragment fields
 * cleared and the total length set: for IPv4 the offset-0 fragment's header
 * with its options and a recomputed checksum; for IPv6 its unfragmentable
 * part with the payload length set and the last header's Next Header set to
 * the fragment header's), valid until the next ipfrag_* call.
 *
 * *anom is always written: ANOM_NONE, the reason with IPFRAG_DROPPED, or a
 * soft report with IPFRAG_HELD / IPFRAG_DONE (DECODE_FRAG_OVERLAP when this
 * fragment's bytes differed from those held, else DECODE_FRAG_MEMCAP when
 * making room for it evicted another datagram).  Timeouts are only counted
 * in the stats.  ipfrag_add itself also expires a few timed-out datagrams per
 * call, so a caller that never calls ipfrag_expire still frees them.
 */
#ifndef RH_IPFRAG_H
#define RH_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"

enum ipfrag_status {
	IPFRAG_HELD = 0,   /* stored, datagram incomplete */
	IPFRAG_DONE,       /* datagram complete: *out, *out_len set */
	IPFRAG_DROPPED,    /* refused: *anom says why */
};

struct ipfrag_stats {
	uint64_t frags;         /* ipfrag_add calls */
	uint64_t datagrams;     /* datagrams completed */
	uint64_t dropped;       /* datagrams (or lone fragments) discarded,
	                           timeouts aside */
	uint64_t timeouts;      /* datagrams expired incomplete */
	uint64_t memcap_hits;   /* evictions and refusals for the cap */
	uint64_t overlaps;      /* fragments that disagreed with held data */
	uint64_t mem_in_use, mem_cap;
};

/* NULL when the table or its output buffer cannot be allocated. */
struct ipfrag_table *ipfrag_create(size_t memcap_bytes, uint32_t timeout_s);
void ipfrag_destroy(struct ipfrag_table *t);

/*
 * Add one fragment.  `ip_hdr` points at the IPv4 header or IPv6 fixed header
 * of the fragment, `hdr_len` is the length of the unfragmentable part
 * (IPv4 header with options; IPv6 fixed header plus extension headers before
 * the fragment header), `frag_off` the byte offset, `more` the MF bit,
 * `id` the identification, `proto` the next protocol of the payload, and
 * `data`/`data_len` the fragment's payload.
 */
enum ipfrag_status ipfrag_add(struct ipfrag_table *t, int ipver,
    const uint8_t *ip_hdr, size_t hdr_len, uint32_t id, uint8_t proto,
    uint32_t frag_off, int more, const uint8_t *data, size_t data_len,
    uint64_t ts_us, const uint8_t **out, size_t *out_len,
    enum anom_id *anom);

/* Drop datagrams older than the timeout (at most 64 per call). */
void ipfrag_expire(struct ipfrag_table *t, uint64_t now_us);
void ipfrag_stats_get(const struct ipfrag_table *t, struct ipfrag_stats *st);

#endif
