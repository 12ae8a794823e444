/*
 * pipeline.c - one reader feeding N workers.
 *
 * The reader decodes every frame itself: the symmetric hash needs ports,
 * and non-first IP fragments have none until reassembled, so fragment
 * reassembly (and therefore decoding) belongs before the fan-out.  Only TCP
 * payload and the decoded metadata cross to a worker; non-TCP traffic stops
 * in the reader after decode.
 *
 * One worker runs inline in the reader's thread: on a single core a ring
 * would only add a copy.  With N workers the reader thread is the producer
 * of N SPSC rings.
 *
 * Decode anomalies (packets that belong to no flow) are written by the
 * reader through its own evbuf, at most PIPELINE_DECODE_EVENTS_MAX events
 * per anomaly kind per run; beyond that they are only counted, so a flood
 * of broken frames cannot turn into a flood of identical events.
 */
#include "pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../decode/ipfrag.h"
#include "../decode/msghdr.h"
#include "../output/evbuf.h"
#include "../output/event.h"
#include "ring.h"
#include "stats.h"
#include "worker.h"

#define PIPELINE_DECODE_EVENTS_MAX 100

#define PIPELINE_TICK_US 1000000u

struct pipeline_worker {
	struct worker w;
	uint64_t end_ts;            /* written before the ring is closed */
	struct ring ring;
	pthread_t thread;
	int started;
};

struct pipeline {
	const struct rh_config *cfg;
	struct sink *sink;
	unsigned n;
	struct pipeline_worker *pw;
	struct ipfrag_table *frag;
	struct pkt_counters dec;
	struct evbuf out;           /* reader's events: decode anomalies, stats */
	struct relay_bus *bus;      /* worker-to-worker records (relay) */
	uint64_t decode_anom[ANOM_COUNT];
	uint64_t ring_drops;        /* records that could not fit a ring */
	uint64_t kernel_drops;
	uint64_t last_ts;
	uint64_t next_tick;
	atomic_int stop;
	struct timespec t0;
	double elapsed;
	int finished;
	uint64_t final_events, final_dropped, final_tx, final_flows;
};

static double
pipeline_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
pipeline_worker_main(void *arg)
{
	struct pipeline_worker *pw = arg;
	struct pkt p;
	unsigned spins = 0;
	int rc;

	for (;;) {
		rc = ring_spsc_consume_pkt(&pw->ring, &p);
		if (rc == 1 || rc == 2) {
			spins = 0;
			if (rc == 1)
				worker_packet(&pw->w, &p, pkt_flow_hash(&p));
			else
				worker_tick(&pw->w, p.ts_us);
			ring_spsc_consume_release(&pw->ring);
		} else if (rc < 0) {
			break;
		} else if (++spins < 128) {
			__builtin_ia32_pause();
		} else {
			worker_idle(&pw->w);
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
	worker_finish(&pw->w, pw->end_ts);
	/* the iconv descriptors this thread cached for RFC 2047 */
	msghdr_decode_release();
	return NULL;
}

struct pipeline *
pipeline_create(const struct rh_config *cfg, struct sink *sink, char *err,
    size_t errlen)
{
	struct pipeline *pl;
	unsigned i;

	pl = calloc(1, sizeof(*pl));
	if (pl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pl->cfg = cfg;
	pl->sink = sink;
	pl->n = cfg->workers ? cfg->workers : 1;
	pl->pw = calloc(pl->n, sizeof(*pl->pw));
	pl->frag = ipfrag_create(cfg->frag_memcap, cfg->frag_timeout);
	if (pl->pw == NULL || pl->frag == NULL ||
	    evbuf_init(&pl->out, sink, 64u * 1024) != 0) {
		snprintf(err, errlen, "out of memory");
		pipeline_destroy(pl);
		return NULL;
	}
	if (cfg->relay != NULL && pl->n > 1) {
		pl->bus = relay_bus_create(pl->n, 256);
		if (pl->bus == NULL) {
			snprintf(err, errlen, "out of memory (relay bus)");
			pipeline_destroy(pl);
			return NULL;
		}
	}
	for (i = 0; i < pl->n; i++) {
		if (worker_init(&pl->pw[i].w, i, cfg, sink, pl->bus, err,
		    errlen) != 0) {
			pipeline_destroy(pl);
			return NULL;
		}
	}
	if (pl->n > 1) {
		for (i = 0; i < pl->n; i++) {
			if (ring_init(&pl->pw[i].ring, cfg->ring_bytes) != 0) {
				snprintf(err, errlen, "out of memory (rings)");
				pipeline_destroy(pl);
				return NULL;
			}
		}
		for (i = 0; i < pl->n; i++) {
			if (pthread_create(&pl->pw[i].thread, NULL,
			    pipeline_worker_main, &pl->pw[i]) != 0) {
				snprintf(err, errlen, "cannot start worker %u", i);
				pipeline_destroy(pl);
				return NULL;
			}
			pl->pw[i].started = 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &pl->t0);
	return pl;
}

static void
pipeline_decode_anomaly(struct pipeline *pl, enum anom_id a, uint64_t ts)
{
	if ((unsigned)a >= ANOM_COUNT || a == ANOM_NONE)
		return;
	if (pl->decode_anom[a]++ < PIPELINE_DECODE_EVENTS_MAX)
		event_anomaly(&pl->out, NULL, ts, a, -1);
}

/* Every second of packet time: the same clock for every worker. */
static void
pipeline_tick(struct pipeline *pl)
{
	unsigned i;

	pl->next_tick = pl->last_ts - pl->last_ts % PIPELINE_TICK_US +
	    PIPELINE_TICK_US;
	ipfrag_expire(pl->frag, pl->last_ts);
	for (i = 0; i < pl->n; i++) {
		if (pl->n == 1)
			worker_tick(&pl->pw[i].w, pl->last_ts);
		else
			ring_spsc_produce_tick(&pl->pw[i].ring, pl->last_ts);
	}
}

int
pipeline_run_source(struct pipeline *pl, struct source *src, char *err,
    size_t errlen)
{
	struct pkt p;
	enum pkt_status st;
	uint32_t h;
	unsigned wi;
	int rc, lt = source_linktype(src);

	if (!pkt_linktype_supported(lt)) {
		snprintf(err, errlen, "unsupported link type %d", lt);
		return -1;
	}
	while (!atomic_load_explicit(&pl->stop, memory_order_relaxed)) {
		memset(&p, 0, sizeof(p));
		rc = source_next(src, &p, err, errlen);
		if (rc <= 0) {
			pl->kernel_drops += source_drops(src);
			if (rc < 0) {
				pipeline_decode_anomaly(pl,
				    ANOM_DECODE_PCAP_TRUNCATED, pl->last_ts);
				return -1;
			}
			return 0;
		}
		if (p.ts_us > pl->last_ts)
			pl->last_ts = p.ts_us;
		if (pl->last_ts >= pl->next_tick)
			pipeline_tick(pl);
		st = pkt_decode(&p, pl->frag, &pl->dec);
		if (p.anomaly != ANOM_NONE)
			pipeline_decode_anomaly(pl, p.anomaly, p.ts_us);
		if (st != PKT_OK || pl->cfg->stage == RH_STAGE_DECODE)
			continue;
		h = pkt_flow_hash(&p);
		if (pl->n == 1) {
			worker_packet(&pl->pw[0].w, &p, h);
			continue;
		}
		wi = (unsigned)(((uint64_t)h * pl->n) >> 32);
		if (ring_spsc_produce_pkt(&pl->pw[wi].ring, &p) != 0)
			pl->ring_drops++;
	}
	return 0;
}

void
pipeline_stop(struct pipeline *pl)
{
	atomic_store(&pl->stop, 1);
}

/* stats.detect.hyperscan.cache: what the start-up compile found on disk. */
static json_t *
stats_hscache(const struct hscache *c)
{
	struct hscache_stats cs;
	json_t *o = json_object();

	hscache_stats(c, &cs);
	json_object_set_new(o, "enabled", json_boolean(cs.enabled));
	json_object_set_new(o, "hits", json_integer((json_int_t)cs.hits));
	json_object_set_new(o, "misses", json_integer((json_int_t)cs.misses));
	json_object_set_new(o, "rejected",
	    json_integer((json_int_t)cs.rejected));
	json_object_set_new(o, "written", json_integer((json_int_t)cs.written));
	json_object_set_new(o, "errors", json_integer((json_int_t)cs.errors));
	json_object_set_new(o, "evicted", json_integer((json_int_t)cs.evicted));
	return o;
}

static json_t *
pipeline_stats(struct pipeline *pl)
{
	struct ipfrag_stats fs;
	json_t *st = json_object(), *workers = json_array(), *cap, *an;
	struct sink_stats ss;
	unsigned i;

	ipfrag_stats_get(pl->frag, &fs);
	for (i = 0; i < pl->n; i++) {
		json_t *w = stats_worker(&pl->pw[i].w);
		stats_sum_into(st, w);
		if (pl->n > 1)
			json_array_append_new(workers, w);
		else
			json_decref(w);
	}
	cap = json_object_get(st, "capture");
	json_object_set_new(cap, "packets",
	    json_integer((json_int_t)pl->dec.pkts));
	json_object_set_new(cap, "bytes", json_integer((json_int_t)pl->dec.bytes));
	json_object_set_new(cap, "drops_kernel",
	    json_integer((json_int_t)pl->kernel_drops));
	json_object_set_new(cap, "drops_analyzer",
	    json_integer((json_int_t)pl->ring_drops));
	json_object_set_new(cap, "tcp_packets",
	    json_integer((json_int_t)pl->dec.tcp));
	json_object_set_new(st, "decoder", stats_decoder(&pl->dec, &fs));
	an = json_object_get(st, "anomalies");
	for (i = 1; i < ANOM_COUNT; i++) {
		if (pl->decode_anom[i]) {
			json_t *o = json_object();
			json_object_set_new(o, anom_name((enum anom_id)i),
			    json_integer((json_int_t)pl->decode_anom[i]));
			stats_sum_into(an, o);
			json_decref(o);
		}
	}
	sink_stats_get(pl->sink, &ss);
	json_object_set_new(json_object_get(st, "output"), "sink_errors",
	    json_integer((json_int_t)ss.write_errors));
	json_object_set_new(json_object_get(st, "output"), "sink_lines_dropped",
	    json_integer((json_int_t)ss.lines_dropped));
	json_object_set_new(json_object_get(st, "output"), "events_written",
	    json_integer((json_int_t)(ss.lines_written + pl->out.lines)));
	if (pl->cfg->det != NULL && pl->cfg->det->hs != NULL) {
		struct hseng_stats hs;
		json_t *h = json_object(), *db = json_object();
		int k;

		hseng_stats(pl->cfg->det->hs, &hs);
		for (k = 0; k < RULE_SCOPE__COUNT; k++)
			if (hs.db_bytes[k])
				json_object_set_new(db, rule_scope_name(k),
				    json_integer((json_int_t)hs.db_bytes[k]));
		json_object_set_new(h, "database_bytes", db);
		json_object_set_new(h, "stream_state_bytes_per_message",
		    json_integer((json_int_t)hs.stream_state_bytes));
		json_object_set_new(h, "message_state_bytes",
		    json_integer((json_int_t)hs.msg_bytes));
		json_object_set_new(h, "scratch_bytes_per_worker",
		    json_integer((json_int_t)hs.scratch_bytes));
		json_object_set_new(h, "rules", json_integer(hs.rules));
		json_object_set_new(h, "patterns", json_integer(hs.patterns));
		json_object_set_new(h, "cache",
		    stats_hscache(pl->cfg->det->hs_cache));
		json_object_set_new(json_object_get(st, "detect"), "hyperscan", h);
	}
	{
		struct rusage ru;
		json_t *mem = json_object();

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			json_object_set_new(mem, "peak_rss_bytes",
			    json_integer((json_int_t)ru.ru_maxrss * 1024));
		json_object_set_new(st, "memory", mem);
	}
	if (pl->n > 1)
		json_object_set_new(st, "workers", workers);
	else
		json_decref(workers);
	return st;
}

void
pipeline_finish(struct pipeline *pl)
{
	unsigned i;
	json_t *st;

	if (pl->finished)
		return;
	pl->finished = 1;
	if (pl->n > 1) {
		for (i = 0; i < pl->n; i++) {
			pl->pw[i].end_ts = pl->last_ts;
			ring_spsc_produce_close(&pl->pw[i].ring);
		}
		for (i = 0; i < pl->n; i++) {
			if (pl->pw[i].started)
				pthread_join(pl->pw[i].thread, NULL);
			pl->pw[i].started = 0;
		}
	} else {
		worker_finish(&pl->pw[0].w, pl->last_ts);
		msghdr_decode_release();
	}
	evbuf_flush(&pl->out);
	st = pipeline_stats(pl);
	pl->final_tx = json_integer_value(json_object_get(
	    json_object_get(st, "smtp"), "transactions"));
	pl->final_flows = json_integer_value(json_object_get(
	    json_object_get(st, "flow"), "created"));
	event_stats(&pl->out, pl->last_ts, pl->cfg->sensor, st);
	evbuf_flush(&pl->out);
	pl->elapsed = pipeline_now() - ((double)pl->t0.tv_sec +
	    (double)pl->t0.tv_nsec / 1e9);
}

void
pipeline_get_summary(struct pipeline *pl, struct pipeline_summary *s)
{
	struct sink_stats ss;
	unsigned i;

	memset(s, 0, sizeof(*s));
	sink_stats_get(pl->sink, &ss);
	s->packets = pl->dec.pkts;
	s->bytes = pl->dec.bytes;
	s->flows = pl->final_flows;
	s->transactions = pl->final_tx;
	s->events = ss.lines_written;
	s->events_dropped = ss.lines_dropped + pl->out.dropped;
	for (i = 0; i < pl->n; i++) {
		s->events_dropped += pl->pw[i].w.out.dropped;
		for (unsigned a = 1; a < ANOM_COUNT; a++)
			s->anomalies += pl->pw[i].w.ctr.anomalies[a];
	}
	for (i = 1; i < ANOM_COUNT; i++)
		s->anomalies += pl->decode_anom[i];
	s->sink_errors = ss.write_errors;
	s->sink_error = sink_error(pl->sink);
	s->elapsed_s = pl->elapsed;
}

void
pipeline_destroy(struct pipeline *pl)
{
	unsigned i;

	if (pl == NULL)
		return;
	if (pl->pw != NULL) {
		for (i = 0; i < pl->n; i++) {
			if (pl->pw[i].started) {
				ring_spsc_produce_close(&pl->pw[i].ring);
				pthread_join(pl->pw[i].thread, NULL);
			}
			worker_destroy(&pl->pw[i].w);
			ring_free(&pl->pw[i].ring);
		}
		free(pl->pw);
	}
	if (pl->bus != NULL)
		relay_bus_destroy(pl->bus);
	if (pl->frag != NULL)
		ipfrag_destroy(pl->frag);
	evbuf_free(&pl->out);
	free(pl);
}
