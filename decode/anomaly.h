/*
 * anomaly.h - the catalogue of anomaly events (detections.md 1500-1599).
 *
 * One X-macro table is the single source of the names, their class
 * (`decode`, `stream`, `smtp`) and their stable numbers, so the counters, the
 * JSON writer and docs/anomalies.md cannot disagree.  Modules never print an
 * anomaly: they report its id through their callback and the worker counts it
 * and turns it into an `anomaly` event.
 *
 * Numbers are a contract: append new entries, never renumber.
 */
#ifndef RH_ANOMALY_H
#define RH_ANOMALY_H

enum anom_class { ANOM_CLASS_DECODE, ANOM_CLASS_STREAM, ANOM_CLASS_SMTP };

/*     id  number  class    name */
#define ANOM_TABLE(X)                                                        \
	X(DECODE_TRUNCATED, 1500, DECODE)                                   \
	X(DECODE_UNKNOWN_LINKTYPE, 1501, DECODE)                            \
	X(DECODE_IPV4_BAD_HLEN, 1502, DECODE)                               \
	X(DECODE_IPV4_BAD_TOTLEN, 1503, DECODE)                             \
	X(DECODE_IPV4_BAD_OPTIONS, 1504, DECODE)                            \
	X(DECODE_IPV6_BAD_PLEN, 1505, DECODE)                               \
	X(DECODE_IPV6_BAD_EXTHDR, 1506, DECODE)                             \
	X(DECODE_TCP_BAD_HLEN, 1507, DECODE)                                \
	X(DECODE_TCP_BAD_OPTIONS, 1508, DECODE)                             \
	X(DECODE_VLAN_TOO_DEEP, 1509, DECODE)                               \
	X(DECODE_MPLS_TOO_DEEP, 1510, DECODE)                               \
	X(DECODE_FRAG_OVERLAP, 1511, DECODE)                                \
	X(DECODE_FRAG_MEMCAP, 1512, DECODE)                                 \
	X(DECODE_FRAG_TOO_LARGE, 1513, DECODE)                              \
	X(DECODE_FRAG_TIMEOUT, 1514, DECODE)                                \
	X(DECODE_PCAP_TRUNCATED, 1515, DECODE)                              \
	X(STREAM_GAP, 1530, STREAM)                                         \
	X(STREAM_OVERLAP_DIFFERENT_DATA, 1531, STREAM)                      \
	X(STREAM_MIDSTREAM_PICKUP, 1532, STREAM)                            \
	X(STREAM_MEMCAP, 1533, STREAM)                                      \
	X(STREAM_FLOW_MEMCAP, 1534, STREAM)                                 \
	X(STREAM_FLOW_EVICTED, 1535, STREAM)                                \
	X(STREAM_OOO_LIMIT, 1536, STREAM)                                   \
	X(SMTP_LINE_TOO_LONG, 1560, SMTP)                                   \
	X(SMTP_DATA_WITHOUT_354, 1561, SMTP)                                \
	X(SMTP_UNKNOWN_COMMAND, 1562, SMTP)                                 \
	X(SMTP_REPLY_WITHOUT_COMMAND, 1563, SMTP)                           \
	X(SMTP_BDAT_SIZE_MISMATCH, 1564, SMTP)                              \
	X(SMTP_DATA_AFTER_STARTTLS, 1565, SMTP)                             \
	X(SMTP_BARE_LF_TERMINATOR, 1566, SMTP)                              \
	X(SMTP_BAD_REPLY, 1567, SMTP)                                       \
	X(SMTP_TOO_MANY_RCPT, 1568, SMTP)                                   \
	X(SMTP_HEADER_TOO_LONG, 1569, SMTP)                                 \
	X(SMTP_BDAT_INVALID, 1570, SMTP)                                    \
	X(SMTP_BAD_SEQUENCE, 1571, SMTP)                                    \
	X(SMTP_PIPELINE_OVERFLOW, 1572, SMTP)                               \
	X(SMTP_BARE_LF, 1573, SMTP)                                         \
	X(SMTP_SESSION_MEMCAP, 1574, SMTP)

enum anom_id {
	ANOM_NONE = 0,
#define ANOM_ENUM(name, num, cls) ANOM_##name,
	ANOM_TABLE(ANOM_ENUM)
#undef ANOM_ENUM
	ANOM_COUNT
};

/* Name as written in the event ("STREAM_GAP"), or "UNKNOWN". */
const char *anom_name(enum anom_id id);
/* Stable number from the catalogue, 0 for ANOM_NONE. */
int anom_number(enum anom_id id);
/* "decode", "stream" or "smtp". */
const char *anom_class_name(enum anom_id id);

#endif
