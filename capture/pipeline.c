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
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

#define PIPELINE_MAX_WORKERS 64

/*
 * What reading a capture leaves behind: the decoder's counters, the packet
 * clock, the fragment table.  The single reader has one; in per-worker
 * reading every worker has its own and the pipeline reports worker 0's
 * (every worker decodes the same frames, so they are all alike).
 */
struct pipeline_reader {
	struct ipfrag_table *frag;
	struct pkt_counters dec;
	uint64_t decode_anom[ANOM_COUNT];
	uint64_t last_ts;
	uint64_t next_tick;
	uint64_t next_stats;        /* next interval stats boundary, 0: unset */
	uint64_t kernel_drops;      /* of the sources already read */
	uint64_t src_drops;         /* of the source being read */
};

struct pipeline_worker {
	struct worker w;
	struct pipeline *pl;
	unsigned idx;
	uint64_t end_ts;            /* written before the ring is closed */
	struct ring ring;
	struct pipeline_reader rd;  /* per-worker reading only */
	pthread_t thread;
	int started;
	/*
	 * Interval stats: the worker's counters as of its last interval
	 * boundary, handed to the thread that writes the event (snap, by
	 * atomic exchange), and the last one that thread took.
	 */
	_Atomic(json_t *) snap;
	_Atomic uint64_t snap_round;  /* the boundary snap was taken at */
	json_t *snap_taken;
	uint64_t next_stats;
	/* per-worker reading: the file list and worker 0's outcome per file */
	const char *const *paths;
	unsigned npaths;
	struct pipeline_file_result *results;
};

enum pipeline_mode {
	PIPELINE_IDLE = 0,          /* nothing read yet */
	PIPELINE_SHARED,            /* one reader: inline, or rings to workers */
	PIPELINE_PER_WORKER,        /* every worker reads every file */
};

struct pipeline {
	const struct rh_config *cfg;
	struct sink *sink;
	unsigned n;
	enum pipeline_mode mode;
	struct pipeline_worker *pw;
	struct pipeline_reader rd;  /* the single reader */
	struct evbuf out;           /* decode anomalies, stats */
	struct relay_bus *bus;      /* worker-to-worker records (relay) */
	uint64_t ring_drops;        /* records that could not fit a ring */
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

/* The reader whose counters the pipeline reports. */
static struct pipeline_reader *
pipeline_main_reader(struct pipeline *pl)
{
	return pl->mode == PIPELINE_PER_WORKER ? &pl->pw[0].rd : &pl->rd;
}

static json_t *pipeline_stats(struct pipeline *pl, json_t *const *snaps);

/*
 * Whether packet time `ts` crossed the next boundary of the stats interval
 * (*next is set at the first call).  Every worker sees the same ticks, so
 * they all cross the same boundaries.
 */
static int
pipeline_stats_due(const struct pipeline *pl, uint64_t *next, uint64_t ts)
{
	uint64_t iv = (uint64_t)pl->cfg->stats_interval * 1000000u;
	int due;

	if (iv == 0)
		return 0;
	due = *next != 0 && ts >= *next;
	if (*next == 0 || due)
		*next = ts - ts % iv + iv;
	return due;
}

/* Wait a little, keeping the relay bus moving (workers wait on each other). */
static void
pipeline_stats_wait(struct pipeline_worker *pw, unsigned *spins)
{
	if (++*spins < 64) {
		__builtin_ia32_pause();
		return;
	}
	worker_idle(&pw->w);
	sched_yield();
}

/*
 * On the worker's own thread, after its tick: publish its counters for the
 * boundary just crossed.  In per-worker reading a worker that is a whole
 * interval ahead waits until worker 0 has taken its previous snapshot, so
 * worker 0 can write every interval as an exact cut at its boundary.
 */
static void
pipeline_worker_stats(struct pipeline *pl, struct pipeline_worker *pw,
    uint64_t ts)
{
	uint64_t round = pw->next_stats;
	unsigned spins = 0;
	json_t *j, *old;

	if (!pipeline_stats_due(pl, &pw->next_stats, ts))
		return;
	j = stats_worker(&pw->w);
	if (pl->mode == PIPELINE_PER_WORKER && pw->idx != 0)
		while (atomic_load_explicit(&pw->snap, memory_order_acquire) !=
		    NULL && !atomic_load_explicit(&pl->stop,
		    memory_order_relaxed))
			pipeline_stats_wait(pw, &spins);
	atomic_store_explicit(&pw->snap_round, round, memory_order_relaxed);
	old = atomic_exchange_explicit(&pw->snap, j, memory_order_acq_rel);
	json_decref(old);
}

/*
 * On the reporting reader's thread at its tick: a `stats` event with every
 * worker's counters.  Per-worker reading (and one worker): every worker's
 * counters at this same boundary, an exact cut.  One shared reader (live
 * capture): the reader never waits for the workers, so each worker counts
 * up to its own last boundary, at most its ring's backlog behind; like
 * Suricata's periodic stats, not one instant.  The final event is exact.
 */
static void
pipeline_interval_stats(struct pipeline *pl, struct pipeline_reader *rd)
{
	uint64_t round = rd->next_stats;
	json_t *snaps[PIPELINE_MAX_WORKERS], *st;
	unsigned i, spins = 0;

	if (!pipeline_stats_due(pl, &rd->next_stats, rd->last_ts))
		return;
	for (i = 0; i < pl->n; i++) {
		struct pipeline_worker *pw = &pl->pw[i];
		json_t *j;

		if (pl->mode == PIPELINE_PER_WORKER)
			while ((atomic_load_explicit(&pw->snap,
			    memory_order_acquire) == NULL ||
			    atomic_load_explicit(&pw->snap_round,
			    memory_order_relaxed) != round) &&
			    !atomic_load_explicit(&pl->stop,
			    memory_order_relaxed))
				pipeline_stats_wait(&pl->pw[0], &spins);
		j = atomic_exchange_explicit(&pw->snap, NULL,
		    memory_order_acq_rel);
		if (j != NULL) {
			json_decref(pw->snap_taken);
			pw->snap_taken = j;
		}
		snaps[i] = pw->snap_taken != NULL ?
		    json_incref(pw->snap_taken) : json_object();
	}
	st = pipeline_stats(pl, snaps);
	for (i = 0; i < pl->n; i++)
		json_decref(snaps[i]);
	event_stats(&pl->out, round, pl->cfg->sensor, st);    /* takes st */
	evbuf_flush(&pl->out);
}

static void *
pipeline_ring_worker_main(void *arg)
{
	struct pipeline_worker *pw = arg;
	struct pkt p;
	unsigned spins = 0;
	int rc;

	for (;;) {
		rc = ring_spsc_consume_pkt(&pw->ring, &p);
		if (rc == 1 || rc == 2) {
			spins = 0;
			if (rc == 1) {
				worker_packet(&pw->w, &p, pkt_flow_hash(&p));
			} else {
				worker_tick(&pw->w, p.ts_us);
				pipeline_worker_stats(pw->pl, pw, p.ts_us);
			}
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

static int
pipeline_reader_init(struct pipeline_reader *rd, const struct rh_config *cfg)
{
	memset(rd, 0, sizeof(*rd));
	rd->frag = ipfrag_create(cfg->frag_memcap, cfg->frag_timeout);
	return rd->frag == NULL ? -1 : 0;
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
	if (pl->n > PIPELINE_MAX_WORKERS) {
		snprintf(err, errlen, "at most %d workers", PIPELINE_MAX_WORKERS);
		free(pl);
		return NULL;
	}
	pl->pw = calloc(pl->n, sizeof(*pl->pw));
	if (pl->pw == NULL || pipeline_reader_init(&pl->rd, cfg) != 0 ||
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
		pl->pw[i].pl = pl;
		pl->pw[i].idx = i;
		if (worker_init(&pl->pw[i].w, i, cfg, sink, pl->bus, err,
		    errlen) != 0) {
			pipeline_destroy(pl);
			return NULL;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &pl->t0);
	return pl;
}

/* Shared reading with N > 1: start the ring consumers (once). */
static int
pipeline_start_rings(struct pipeline *pl, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < pl->n; i++) {
		if (ring_init(&pl->pw[i].ring, pl->cfg->ring_bytes) != 0) {
			snprintf(err, errlen, "out of memory (rings)");
			return -1;
		}
	}
	for (i = 0; i < pl->n; i++) {
		if (pthread_create(&pl->pw[i].thread, NULL,
		    pipeline_ring_worker_main, &pl->pw[i]) != 0) {
			snprintf(err, errlen, "cannot start worker %u", i);
			return -1;
		}
		pl->pw[i].started = 1;
	}
	return 0;
}

/*
 * A decode anomaly: counted by every reader, written as an event only by
 * the reporting one (the single reader, or worker 0 in per-worker reading),
 * so each is written once whatever the number of workers.
 */
static void
pipeline_decode_anomaly(struct pipeline *pl, struct pipeline_reader *rd,
    enum anom_id a, uint64_t ts)
{
	if ((unsigned)a >= ANOM_COUNT || a == ANOM_NONE)
		return;
	if (rd->decode_anom[a]++ < PIPELINE_DECODE_EVENTS_MAX &&
	    rd == pipeline_main_reader(pl))
		event_anomaly(&pl->out, NULL, ts, a, -1);
}

/*
 * Every second of packet time: the same clock for every worker.  `self` is
 * the reading worker in per-worker reading (it ticks only itself), -1 for
 * the single reader (it ticks every worker).
 */
static void
pipeline_tick(struct pipeline *pl, struct pipeline_reader *rd, int self)
{
	unsigned i;

	rd->next_tick = rd->last_ts - rd->last_ts % PIPELINE_TICK_US +
	    PIPELINE_TICK_US;
	ipfrag_expire(rd->frag, rd->last_ts);
	if (self >= 0) {
		worker_tick(&pl->pw[self].w, rd->last_ts);
		pipeline_worker_stats(pl, &pl->pw[self], rd->last_ts);
		if (self == 0)
			pipeline_interval_stats(pl, rd);
		return;
	}
	for (i = 0; i < pl->n; i++) {
		if (pl->n == 1) {
			worker_tick(&pl->pw[i].w, rd->last_ts);
			pipeline_worker_stats(pl, &pl->pw[i], rd->last_ts);
		} else {
			ring_spsc_produce_tick(&pl->pw[i].ring, rd->last_ts);
		}
	}
	pipeline_interval_stats(pl, rd);
}

/*
 * Read `src` to its end through reader `rd`.  self < 0: the single reader,
 * every TCP packet goes to its worker (inline or by ring); self >= 0:
 * per-worker reading, worker `self` keeps the packets that hash to it.
 */
static int
pipeline_read(struct pipeline *pl, struct pipeline_reader *rd, int self,
    struct source *src, char *err, size_t errlen)
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
			rd->kernel_drops += source_drops(src);
			rd->src_drops = 0;
			if (rc < 0) {
				pipeline_decode_anomaly(pl, rd,
				    ANOM_DECODE_PCAP_TRUNCATED, rd->last_ts);
				return -1;
			}
			return 0;
		}
		if (p.ts_us > rd->last_ts)
			rd->last_ts = p.ts_us;
		if (rd->last_ts >= rd->next_tick) {
			rd->src_drops = source_drops(src);
			pipeline_tick(pl, rd, self);
		}
		st = pkt_decode(&p, rd->frag, &rd->dec);
		if (p.anomaly != ANOM_NONE)
			pipeline_decode_anomaly(pl, rd, p.anomaly, p.ts_us);
		if (st != PKT_OK || pl->cfg->stage == RH_STAGE_DECODE)
			continue;
		h = pkt_flow_hash(&p);
		if (pl->n == 1) {
			worker_packet(&pl->pw[0].w, &p, h);
			continue;
		}
		wi = (unsigned)(((uint64_t)h * pl->n) >> 32);
		if (self >= 0) {
			if (wi == (unsigned)self)
				worker_packet(&pl->pw[self].w, &p, h);
			continue;
		}
		if (ring_spsc_produce_pkt(&pl->pw[wi].ring, &p) != 0)
			pl->ring_drops++;
	}
	return 0;
}

int
pipeline_run_source(struct pipeline *pl, struct source *src, char *err,
    size_t errlen)
{
	if (pl->mode == PIPELINE_PER_WORKER) {
		snprintf(err, errlen, "the workers already read their inputs");
		return -1;
	}
	if (pl->mode == PIPELINE_IDLE) {
		pl->mode = PIPELINE_SHARED;
		if (pl->n > 1 && pipeline_start_rings(pl, err, errlen) != 0)
			return -1;
	}
	return pipeline_read(pl, &pl->rd, -1, src, err, errlen);
}

/* Per-worker reading: one worker's thread reads every file itself. */
static void *
pipeline_file_worker_main(void *arg)
{
	struct pipeline_worker *pw = arg;
	struct pipeline *pl = pw->pl;
	char err[512];
	unsigned i;
	int rc;

	for (i = 0; i < pw->npaths; i++) {
		struct source *s;

		err[0] = '\0';
		s = source_open_file(pw->paths[i], err, sizeof(err));
		if (s == NULL) {
			rc = -1;
		} else {
			rc = pipeline_read(pl, &pw->rd, (int)pw->idx, s, err,
			    sizeof(err));
			source_close(s);
		}
		if (pw->idx == 0) {
			pw->results[i].rc = rc;
			snprintf(pw->results[i].err, sizeof(pw->results[i].err),
			    "%s", rc != 0 ? err : "");
		}
	}
	worker_finish(&pw->w, pw->rd.last_ts);
	msghdr_decode_release();
	return NULL;
}

int
pipeline_can_read_per_worker(const struct pipeline *pl,
    const char *const *paths, unsigned npaths)
{
	unsigned i;

	if (pl->n < 2 || pl->mode != PIPELINE_IDLE ||
	    pl->cfg->reader != RH_READER_PER_WORKER || npaths == 0)
		return 0;
	for (i = 0; i < npaths; i++) {
		struct stat sb;

		/* every worker opens the file: not stdin, not a pipe */
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &sb) != 0 ||
		    !S_ISREG(sb.st_mode))
			return 0;
	}
	return 1;
}

int
pipeline_run_files_per_worker(struct pipeline *pl, const char *const *paths,
    unsigned npaths, struct pipeline_file_result *results, char *err,
    size_t errlen)
{
	unsigned i, started = 0;

	if (!pipeline_can_read_per_worker(pl, paths, npaths)) {
		snprintf(err, errlen, "these inputs cannot be read per worker");
		return -1;
	}
	pl->mode = PIPELINE_PER_WORKER;
	for (i = 0; i < pl->n; i++) {
		struct pipeline_worker *pw = &pl->pw[i];

		if (pipeline_reader_init(&pw->rd, pl->cfg) != 0) {
			snprintf(err, errlen, "out of memory (fragment table)");
			return -1;
		}
		pw->paths = paths;
		pw->npaths = npaths;
		pw->results = results;
	}
	for (i = 0; i < pl->n; i++) {
		if (pthread_create(&pl->pw[i].thread, NULL,
		    pipeline_file_worker_main, &pl->pw[i]) != 0) {
			snprintf(err, errlen, "cannot start worker %u", i);
			break;
		}
		pl->pw[i].started = 1;
		started++;
	}
	if (started < pl->n)
		pipeline_stop(pl);
	for (i = 0; i < pl->n; i++) {
		if (pl->pw[i].started)
			pthread_join(pl->pw[i].thread, NULL);
		pl->pw[i].started = 0;
	}
	return started < pl->n ? -1 : 0;
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

/* st[k], made an empty object if absent (no worker has published yet). */
static json_t *
pipeline_obj(json_t *st, const char *k)
{
	json_t *o = json_object_get(st, k);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(st, k, o);
	}
	return o;
}

/*
 * The stats object: the workers' counters (snaps[i], or each worker's own
 * when snaps is NULL: only once the workers have stopped), summed, plus the
 * reporting reader's, the sink's and the engine's.
 */
static json_t *
pipeline_stats(struct pipeline *pl, json_t *const *snaps)
{
	struct pipeline_reader *rd = pipeline_main_reader(pl);
	struct ipfrag_stats fs;
	json_t *st = json_object(), *workers = json_array(), *cap, *an;
	struct sink_stats ss;
	unsigned i;

	ipfrag_stats_get(rd->frag, &fs);
	for (i = 0; i < pl->n; i++) {
		json_t *w = snaps != NULL ? json_incref(snaps[i]) :
		    stats_worker(&pl->pw[i].w);
		stats_sum_into(st, w);
		if (pl->n > 1)
			json_array_append_new(workers, w);
		else
			json_decref(w);
	}
	cap = pipeline_obj(st, "capture");
	json_object_set_new(cap, "packets",
	    json_integer((json_int_t)rd->dec.pkts));
	json_object_set_new(cap, "bytes", json_integer((json_int_t)rd->dec.bytes));
	json_object_set_new(cap, "drops_kernel",
	    json_integer((json_int_t)(rd->kernel_drops + rd->src_drops)));
	json_object_set_new(cap, "drops_analyzer",
	    json_integer((json_int_t)pl->ring_drops));
	json_object_set_new(cap, "tcp_packets",
	    json_integer((json_int_t)rd->dec.tcp));
	json_object_set_new(st, "decoder", stats_decoder(&rd->dec, &fs));
	an = pipeline_obj(st, "anomalies");
	for (i = 1; i < ANOM_COUNT; i++) {
		if (rd->decode_anom[i]) {
			json_t *o = json_object();
			json_object_set_new(o, anom_name((enum anom_id)i),
			    json_integer((json_int_t)rd->decode_anom[i]));
			stats_sum_into(an, o);
			json_decref(o);
		}
	}
	sink_stats_get(pl->sink, &ss);
	json_object_set_new(pipeline_obj(st, "output"), "sink_errors",
	    json_integer((json_int_t)ss.write_errors));
	json_object_set_new(pipeline_obj(st, "output"), "sink_lines_dropped",
	    json_integer((json_int_t)ss.lines_dropped));
	json_object_set_new(pipeline_obj(st, "output"), "events_written",
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
		json_object_set_new(pipeline_obj(st, "detect"), "hyperscan", h);
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
	struct pipeline_reader *rd;
	unsigned i;
	json_t *st;

	if (pl->finished)
		return;
	pl->finished = 1;
	rd = pipeline_main_reader(pl);
	if (pl->mode == PIPELINE_IDLE && pl->n > 1) {
		/* nothing was read: the workers still finish on their threads */
		char err[128];

		pl->mode = PIPELINE_SHARED;
		if (pipeline_start_rings(pl, err, sizeof(err)) != 0)
			pipeline_stop(pl);
	}
	if (pl->mode == PIPELINE_PER_WORKER) {
		/* every worker finished at the end of its own reading */
	} else if (pl->n > 1) {
		for (i = 0; i < pl->n; i++) {
			pl->pw[i].end_ts = rd->last_ts;
			if (pl->pw[i].started)
				ring_spsc_produce_close(&pl->pw[i].ring);
		}
		for (i = 0; i < pl->n; i++) {
			if (pl->pw[i].started)
				pthread_join(pl->pw[i].thread, NULL);
			else
				worker_finish(&pl->pw[i].w, rd->last_ts);
			pl->pw[i].started = 0;
		}
	} else {
		worker_finish(&pl->pw[0].w, rd->last_ts);
		msghdr_decode_release();
	}
	evbuf_flush(&pl->out);
	st = pipeline_stats(pl, NULL);
	pl->final_tx = json_integer_value(json_object_get(
	    json_object_get(st, "smtp"), "transactions"));
	pl->final_flows = json_integer_value(json_object_get(
	    json_object_get(st, "flow"), "created"));
	event_stats(&pl->out, rd->last_ts, pl->cfg->sensor, st);
	evbuf_flush(&pl->out);
	pl->elapsed = pipeline_now() - ((double)pl->t0.tv_sec +
	    (double)pl->t0.tv_nsec / 1e9);
}

void
pipeline_get_summary(struct pipeline *pl, struct pipeline_summary *s)
{
	struct pipeline_reader *rd = pipeline_main_reader(pl);
	struct sink_stats ss;
	unsigned i;

	memset(s, 0, sizeof(*s));
	sink_stats_get(pl->sink, &ss);
	s->packets = rd->dec.pkts;
	s->bytes = rd->dec.bytes;
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
		s->anomalies += rd->decode_anom[i];
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
			json_decref(atomic_exchange(&pl->pw[i].snap, NULL));
			json_decref(pl->pw[i].snap_taken);
			if (pl->pw[i].rd.frag != NULL)
				ipfrag_destroy(pl->pw[i].rd.frag);
		}
		free(pl->pw);
	}
	if (pl->bus != NULL)
		relay_bus_destroy(pl->bus);
	if (pl->rd.frag != NULL)
		ipfrag_destroy(pl->rd.frag);
	evbuf_free(&pl->out);
	free(pl);
}
