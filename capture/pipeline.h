/*
 * pipeline.h - reader, dispatch and workers of one run.
 *
 * Contract: the pipeline reads sources one after the other (several -r
 * files are one continuous capture: flows carry across files), decodes each
 * frame in the reading thread (IP fragments must be reassembled before a
 * packet can be sharded by port), and hands every TCP packet to the worker
 * chosen by the symmetric flow hash, so both directions of a connection
 * meet on one core.  With one worker everything runs inline in the calling
 * thread (no ring, no copy).  With N > 1 workers and capture files, each
 * worker reads the files itself (below); otherwise (a live interface,
 * stdin) one reader feeds each worker thread through its own SPSC ring.  pipeline_finish ends all flows, writes the final `stats`
 * event and joins the threads; after it the summary can be read.
 */
#ifndef RH_PIPELINE_H
#define RH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../output/sink.h"
#include "config.h"
#include "source.h"

struct pipeline;

struct pipeline_summary {
	uint64_t packets, bytes, flows, transactions, events, events_dropped;
	uint64_t anomalies, sink_errors;
	double elapsed_s;
	const char *sink_error;
};

struct pipeline *pipeline_create(const struct rh_config *cfg, struct sink *sink,
    char *err, size_t errlen);

/*
 * Read every packet of `src`.  0 at its end, -1 if the source failed (the
 * reason in err; packets before the fault were processed).  A link type
 * the decoder does not support fails before any packet is read.
 */
int pipeline_run_source(struct pipeline *pl, struct source *src, char *err,
    size_t errlen);

/*
 * Per-worker reading (cfg->reader RH_READER_PER_WORKER, N > 1 workers,
 * inputs that are all regular files): every worker thread opens every
 * file itself, decodes every frame and keeps the TCP packets that hash to
 * it, so packets are analysed where they were read, with no copy and no
 * reader thread.  Decoding is repeated on every worker; it is the cheap
 * part.  Decode anomalies, decoder counters and the capture counters are
 * worker 0's.  pipeline_can_read_per_worker says whether the inputs
 * qualify; otherwise use pipeline_run_source per source.
 */
struct pipeline_file_result {
	int rc;                 /* 0, or -1 with the reason in err */
	char err[512];
};
int pipeline_can_read_per_worker(const struct pipeline *pl,
    const char *const *paths, unsigned npaths);
/*
 * Read all `paths` in order (one continuous capture), every worker ending
 * its flows after the last.  results[i] is worker 0's outcome for file i
 * (an open failure or a damaged file; packets before a fault count).
 * -1 with err if the workers could not start.  Call once, then
 * pipeline_finish.
 */
int pipeline_run_files_per_worker(struct pipeline *pl, const char *const *paths,
    unsigned npaths, struct pipeline_file_result *results, char *err,
    size_t errlen);

/* Ask a running pipeline_run_source to return (signal-safe). */
void pipeline_stop(struct pipeline *pl);

/* End of input: drain flows, stats event, flush, join. */
void pipeline_finish(struct pipeline *pl);
void pipeline_get_summary(struct pipeline *pl, struct pipeline_summary *s);
void pipeline_destroy(struct pipeline *pl);

#endif
