/*
 * chain.h - forensics over a message's Received chain and the wire.
 *
 * Contract: chain_check takes the parsed Received headers of one message
 * (top, newest, first), its Date header, and what the sensor saw on the wire
 * for the transaction that carried it, and reports:
 *
 *  - the structural detections 1101-1111 and the wire detections 1201-1203
 *    of ../shared/spec/detections.md, each as a struct chain_alert with the
 *    index of the header to blame (`hop`, -1 when it is the Date header or
 *    the transaction) and the evidence text (the header as written, or the
 *    command/reply), truncated to CHAIN_EVIDENCE_MAX bytes;
 *  - the sending system (`origin`) and the point of injection
 *    (`injection`), following the Tracking Spam FAQ: read bottom-up, the
 *    sending system is the first hop whose `from` address is an end-user or
 *    dynamic host, the injection point the hop that received from it.
 *
 * Headers with parsed == 0 never raise a structural alert.  Timezone names
 * are ambiguous: each name has the set of offsets detections.md gives
 * (+0800 CST is China, +1000 EST is Australia).  Registered-domain
 * comparisons use the public suffix list through libpsl (never a hard-coded
 * list of TLDs).  "The observed server's header" is the top header when the
 * message was watched arriving, matched to the server by the queue id of
 * the 250 reply or the server's name (banner / EHLO reply host).
 *
 * chain_check allocates nothing that outlives the call except strings in
 * the arena; it is reentrant and safe to call from every worker at once
 * (the libpsl context is created once per process and only read).
 */
#ifndef RH_CHAIN_H
#define RH_CHAIN_H

#include <stdint.h>

#include "../decode/bstr.h"
#include "../decode/pool.h"
#include "received.h"

#define CHAIN_EVIDENCE_MAX 1024
#define CHAIN_MAX_ALERTS 32

struct chain_cidr {
	uint8_t ver;             /* 4 or 6 */
	uint8_t addr[16];
	uint8_t prefix;
};

/* Site knowledge (from the configuration; all optional). */
struct chain_config {
	const struct chain_cidr *home_net;    /* the monitored networks */
	unsigned n_home_net;
	const struct chain_cidr *trusted;     /* forwarders/load balancers */
	unsigned n_trusted;
	uint32_t skew_s;                      /* date skew allowance, 3600 */
	const char *const *lists;             /* declared mailing lists:
	                                       * "list@domain" or a list
	                                       * server's domain, lower case */
	unsigned n_lists;
};

/* What the tap saw for the transaction that carried the message. */
struct chain_wire {
	uint8_t client_ver;                   /* 4 or 6, 0 unknown */
	uint8_t client_ip[16];                /* TCP source of the client */
	uint8_t server_ip[16];
	struct bstr helo;                     /* HELO/EHLO argument */
	struct bstr server_name;              /* from the banner/EHLO reply */
	struct bstr queue_id;                 /* from the final 250 reply */
	const struct bstr *rcpt_accepted;     /* RCPT TO answered 2xx */
	unsigned n_rcpt_accepted;
	const struct bstr *rcpt_all;          /* every RCPT TO */
	unsigned n_rcpt_all;
	uint8_t authenticated;                /* AUTH succeeded (235) */
	int64_t capture_time;                 /* seconds since 1970 */
};

struct chain_alert {
	int signature_id;                     /* 1101 ... 1203 */
	const char *signature;                /* name from detections.md */
	const char *category;                 /* forged-header, wire-mismatch */
	int severity;
	int hop;                              /* index into received, or -1 */
	char evidence[CHAIN_EVIDENCE_MAX + 1];
	uint16_t evidence_len;
	uint8_t nat;                          /* 1201: private recorded, public wire */
	char detail[64];                      /* e.g. 1105's dotted quad */
};

struct chain_hop {
	int hop;                              /* index, -1 none */
	char ip[48];
	struct bstr name;
};

struct chain_result {
	struct chain_alert alerts[CHAIN_MAX_ALERTS];
	unsigned n_alerts;
	struct chain_hop origin;
	struct chain_hop injection;
	int observed_hop;                     /* header the observed server
	                                       * wrote, -1 if none matched */
};

/* Load the public suffix list once per process; 0, or -1 with err. */
int chain_global_init(char *err, size_t errlen);
void chain_global_free(void);

void chain_check(const struct chain_config *cfg, const struct received *rcv,
    unsigned n_rcv, const struct mail_date *date_hdr,
    const struct chain_wire *wire, struct chain_result *out);

/* "example.co.uk" for "mx1.mail.example.co.uk" (libpsl), or the name
 * itself when it has no registered domain.  out gets at most outlen-1. */
void chain_registered_domain(struct bstr host, char *out, size_t outlen);

/*
 * Authentication-Results (RFC 8601): the authserv-id and the spf, dkim and
 * dmarc results ("pass", "fail", ...; empty when absent).
 */
struct authres {
	struct bstr authserv_id;
	char spf[16], dkim[16], dmarc[16];
};
int authres_parse(struct bstr value, struct authres *ar);

#endif
