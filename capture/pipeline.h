/*
 * pipeline.h - reader, dispatch and workers of one run.
 *
 * Contract: the pipeline reads sources one after the other (several -r
 * files are one continuous capture: flows carry across files), decodes each
 * frame in the reading thread (IP fragments must be reassembled before a
 * packet can be sharded by port), and hands every TCP packet to the worker
 * chosen by the symmetric flow hash, so both directions of a connection
 * meet on one core.  With one worker everything runs inline in the calling
 * thread (no ring, no copy); with N > 1 each worker is a thread fed by its
 * own SPSC ring.  pipeline_finish ends all flows, writes the final `stats`
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

/* Ask a running pipeline_run_source to return (signal-safe). */
void pipeline_stop(struct pipeline *pl);

/* End of input: drain flows, stats event, flush, join. */
void pipeline_finish(struct pipeline *pl);
void pipeline_get_summary(struct pipeline *pl, struct pipeline_summary *s);
void pipeline_destroy(struct pipeline *pl);

#endif
