/*
 * stats.c - jansson views of the per-core counters.
 *
 * Counters stay plain integers owned by each core (no atomics on the packet
 * path); this file only reads them once the cores have stopped (final
 * stats) and turns them into objects.  Summing is generic over the object
 * tree so a counter added to a worker appears in the totals by itself.
 */
#include "stats.h"

#include "../decode/anomaly.h"

#define SET(o, k, v) json_object_set_new((o), (k), json_integer((json_int_t)(v)))

json_t *
stats_decoder(const struct pkt_counters *c, const struct ipfrag_stats *fs)
{
	json_t *d = json_object();

	SET(d, "pkts", c->pkts);
	SET(d, "bytes", c->bytes);
	SET(d, "ethernet", c->ethernet);
	SET(d, "vlan", c->vlan);
	SET(d, "mpls", c->mpls);
	SET(d, "sll", c->sll);
	SET(d, "sll2", c->sll2);
	SET(d, "raw", c->raw);
	SET(d, "null_loop", c->null_loop);
	SET(d, "ipv4", c->ipv4);
	SET(d, "ipv6", c->ipv6);
	SET(d, "tcp", c->tcp);
	SET(d, "udp", c->udp);
	SET(d, "other_l4", c->other_l4);
	SET(d, "non_ip", c->non_ip);
	SET(d, "invalid", c->invalid);
	SET(d, "truncated", c->truncated);
	SET(d, "ipv4_frags", c->frags);
	SET(d, "frags_reassembled", fs->datagrams);
	SET(d, "frag_drops", fs->dropped);
	SET(d, "frag_timeouts", fs->timeouts);
	SET(d, "frag_overlaps", fs->overlaps);
	SET(d, "frag_memcap_hits", fs->memcap_hits);
	SET(d, "frag_memuse", fs->mem_in_use);
	SET(d, "frag_memcap", fs->mem_cap);
	return d;
}

static void
stats_alert_count(void *u, int sid, const char *name, uint64_t n)
{
	(void)sid;
	json_object_set_new(u, name, json_integer((json_int_t)n));
}

json_t *
stats_worker(const struct worker *w)
{
	struct flow_stats fl;
	struct tcp_reasm_stats ts;
	struct pool_stats ps, bs, ss;
	json_t *o = json_object(), *x, *an, *al, *rl;
	unsigned i;

	flow_stats_get(w->flows, &fl);
	tcp_reasm_stats_get(w->reasm, &ts);
	pool_stats_get(w->sessions, &ps);
	pool_stats_get(w->blocks, &bs);
	pool_stats_get(w->slots, &ss);

	x = json_object();
	SET(x, "packets", w->ctr.pkts);
	SET(x, "payload_bytes", w->ctr.payload_bytes);
	json_object_set_new(o, "capture", x);

	x = json_object();
	SET(x, "active", fl.active);
	SET(x, "created", fl.created);
	SET(x, "closed", w->ctr.conn_closed);
	SET(x, "timed_out", fl.timed_out);
	SET(x, "evicted", fl.evicted);
	SET(x, "shutdown", fl.shutdown);
	SET(x, "alloc_failed", w->ctr.flow_alloc_fail);
	SET(x, "smtp", w->ctr.smtp_flows);
	SET(x, "smtp_sniffed", w->ctr.sniffed_flows);
	SET(x, "tls_implicit", w->ctr.tls_implicit_flows);
	SET(x, "ignored", w->ctr.ignored_flows);
	SET(x, "cap", fl.cap);
	SET(x, "memuse", fl.mem_bytes);
	json_object_set_new(o, "flow", x);

	x = json_object();
	SET(x, "segments", ts.segments);
	SET(x, "bytes_in_order", ts.bytes_in_order);
	SET(x, "out_of_order", ts.out_of_order);
	SET(x, "retransmitted", ts.retransmitted);
	SET(x, "overlaps", ts.overlaps);
	SET(x, "overlaps_diff", ts.overlaps_diff);
	SET(x, "gaps", ts.gaps);
	SET(x, "gap_bytes", ts.gap_bytes);
	SET(x, "midstream", ts.midstream);
	SET(x, "memcap_hits", ts.memcap_hits);
	SET(x, "ooo_limit_hits", ts.ooo_limit_hits);
	SET(x, "reassembly_memuse", ts.mem_in_use);
	SET(x, "reassembly_memuse_peak", ts.mem_peak);
	SET(x, "reassembly_memcap", ts.mem_cap);
	json_object_set_new(o, "tcp", x);

	x = json_object();
	SET(x, "sessions", w->smtp.sessions);
	SET(x, "transactions", w->smtp.transactions);
	SET(x, "messages", w->smtp.messages);
	SET(x, "bytes", w->smtp.data_bytes);
	SET(x, "commands", w->smtp.commands);
	SET(x, "replies", w->smtp.replies);
	SET(x, "unknown_commands", w->smtp.unknown_commands);
	SET(x, "lines_too_long", w->smtp.lines_too_long);
	SET(x, "starttls", w->smtp.starttls);
	SET(x, "auth", w->smtp.auth);
	SET(x, "bdat", w->smtp.bdat);
	SET(x, "gaps", w->smtp.gaps);
	SET(x, "encrypted_bytes", w->ctr.encrypted_bytes);
	SET(x, "session_alloc_failed", w->ctr.session_alloc_fail);
	SET(x, "session_memuse", bs.in_use * bs.obj_size);
	SET(x, "session_memcap", bs.cap * bs.obj_size);
	/* string blocks or a transaction slot refused */
	SET(x, "session_memcap_hits", bs.fails + ss.fails);
	json_object_set_new(o, "smtp", x);

	x = json_object();
	al = json_object();
	if (w->det != NULL)
		det_worker_alert_counts(w->det, stats_alert_count, al);
	json_object_set_new(x, "alerts", al);
	SET(x, "message_state_alloc_failed", w->ctr.msgmem_fail);
	if (w->relay != NULL) {
		struct relay_stats rs;

		relay_worker_stats(w->relay, &rs);
		rl = json_object();
		SET(rl, "inbound_published", rs.inbound_published);
		SET(rl, "inbound_received", rs.inbound_received);
		SET(rl, "outbound_recorded", rs.outbound_recorded);
		SET(rl, "confirmed", rs.confirmed);
		SET(rl, "expired", rs.expired);
		SET(rl, "evicted", rs.evicted);
		SET(rl, "tunnel_evicted", rs.tunnel_evicted);
		SET(rl, "tunnels_published", rs.tunnels_published);
		SET(rl, "tunnels_linked", rs.tunnels_linked);
		SET(rl, "context_lost", rs.context_lost);
		SET(rl, "ring_full_waits", rs.ring_full_waits);
		SET(rl, "servers_evicted", rs.servers_evicted);
		SET(rl, "inbound_in_table", rs.inbound_in_table);
		SET(rl, "outbound_in_table", rs.outbound_in_table);
		json_object_set_new(x, "relay", rl);
	}
	json_object_set_new(o, "detect", x);

	x = json_object();
	SET(x, "events_written", w->out.events);
	SET(x, "events_dropped", w->out.dropped);
	json_object_set_new(o, "output", x);

	an = json_object();
	for (i = 1; i < ANOM_COUNT; i++)
		if (w->ctr.anomalies[i])
			SET(an, anom_name((enum anom_id)i), w->ctr.anomalies[i]);
	json_object_set_new(o, "anomalies", an);
	return o;
}

void
stats_sum_into(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v, *d;

	json_object_foreach((json_t *)src, k, v) {
		d = json_object_get(dst, k);
		if (json_is_object(v)) {
			if (d == NULL) {
				d = json_object();
				json_object_set_new(dst, k, d);
			}
			if (json_is_object(d))
				stats_sum_into(d, v);
		} else if (json_is_integer(v)) {
			if (d == NULL)
				json_object_set_new(dst, k,
				    json_integer(json_integer_value(v)));
			else if (json_is_integer(d))
				json_integer_set(d, json_integer_value(d) +
				    json_integer_value(v));
		}
	}
}
