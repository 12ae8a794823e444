/*
 * config.h - the run-time settings every module reads, with their defaults.
 *
 * Contract: struct rh_config is filled once by main (defaults from
 * config_defaults, then command-line options) and shared read-only by all
 * threads.  Parsing helpers return 0 or -1 with a one-line reason.
 */
#ifndef RH_CONFIG_H
#define RH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/flow.h"
#include "../decode/smtp.h"
#include "../decode/tcp_reasm.h"
#include "../detect/detect.h"
#include "../detect/relay.h"

#define CONFIG_MAX_PORTS 64

/*
 * How far each packet goes: the benchmark isolates the cost of each stage
 * by stopping there.  Only RH_STAGE_FULL produces SMTP events.
 */
enum rh_stage {
	RH_STAGE_DECODE = 0,     /* read and decode, no dispatch */
	RH_STAGE_FLOW,           /* + flow table lookup */
	RH_STAGE_REASM,          /* + TCP reassembly (bytes discarded) */
	RH_STAGE_SMTP,           /* + SMTP, headers, events; no detection */
	RH_STAGE_FULL,           /* + rules (Hyperscan), chain, relay checks */
};

/* How N > 1 workers get the packets of capture files (pipeline.h). */
enum rh_reader {
	RH_READER_PER_WORKER = 0,   /* every worker reads every file */
	RH_READER_SHARED,           /* one reader thread, a ring per worker */
};

struct rh_config {
	enum rh_stage stage;
	unsigned workers;
	enum rh_reader reader;
	char sensor[256];
	uint16_t smtp_ports[CONFIG_MAX_PORTS];
	unsigned n_smtp_ports;
	uint16_t tls_ports[CONFIG_MAX_PORTS];  /* implicit TLS: counted */
	unsigned n_tls_ports;
	int sniff_banners;                     /* detect SMTP on any port */
	struct flow_config flow;               /* per worker */
	struct tcp_reasm_config reasm;         /* per worker */
	struct smtp_config smtp;
	uint64_t session_memcap;               /* per worker: SMTP strings */
	uint64_t frag_memcap;
	uint32_t frag_timeout;
	size_t ring_bytes;
	uint32_t stats_interval;               /* seconds of packet time, 0 off */
	const struct det_global *det;          /* rules and checks, or NULL */
	const struct relay_config *relay;      /* open-relay logic, or NULL */
};

void config_defaults(struct rh_config *c);

/* "25,587,2525" into ports[]; 0 or -1 with err. */
int config_parse_ports(const char *s, uint16_t *ports, unsigned *n,
    char *err, size_t errlen);

/* 1 if port is in the list. */
int config_port_in(const uint16_t *ports, unsigned n, uint16_t port);

#endif
