/*
 * config.c - defaults and small parsers for struct rh_config.
 *
 * Defaults follow Suricata where it has one (flow timeouts 60/600/60 s) and
 * are sized for a 2-core sensor otherwise: 256k flows and 256 MiB of
 * out-of-order data per worker are caps, not reservations (pools grow on
 * demand).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
config_defaults(struct rh_config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->workers = n > 0 ? (unsigned)n : 1;
	c->stage = RH_STAGE_FULL;
	if (gethostname(c->sensor, sizeof(c->sensor) - 1) != 0)
		snprintf(c->sensor, sizeof(c->sensor), "relayhound");
	c->smtp_ports[0] = 25;
	c->smtp_ports[1] = 587;
	c->smtp_ports[2] = 2525;
	c->n_smtp_ports = 3;
	c->tls_ports[0] = 465;
	c->n_tls_ports = 1;
	c->sniff_banners = 1;
	c->flow.max_flows = 262144;
	c->flow.hash_buckets = 65536;
	c->flow.timeout_new = 60;
	c->flow.timeout_established = 600;
	c->flow.timeout_closed = 60;
	c->reasm.memcap = 256ull << 20;
	c->reasm.flow_ooo_cap = 1u << 20;
	c->smtp.max_line = 4096;
	c->smtp.max_rcpt = 1000;
	c->smtp.max_pipeline = 512;
	c->smtp.hdr.max_bytes = 65536;
	c->smtp.hdr.max_fields = 1024;
	c->session_memcap = 512ull << 20;
	c->frag_memcap = 64ull << 20;
	c->frag_timeout = 60;
	c->ring_bytes = 16u << 20;
	c->stats_interval = 0;
}

int
config_parse_ports(const char *s, uint16_t *ports, unsigned *n, char *err,
    size_t errlen)
{
	const char *p = s;

	*n = 0;
	while (*p != '\0') {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 1 || v > 65535 ||
		    (*end != ',' && *end != '\0')) {
			snprintf(err, errlen, "bad port list '%s'", s);
			return -1;
		}
		if (*n >= CONFIG_MAX_PORTS) {
			snprintf(err, errlen, "more than %d ports in '%s'",
			    CONFIG_MAX_PORTS, s);
			return -1;
		}
		ports[(*n)++] = (uint16_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (*n == 0) {
		snprintf(err, errlen, "empty port list");
		return -1;
	}
	return 0;
}

int
config_port_in(const uint16_t *ports, unsigned n, uint16_t port)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}
