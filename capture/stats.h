/*
 * stats.h - the counters of the `stats` event, as jansson objects.
 *
 * Contract: stats_worker builds one worker's counters in the layout of
 * events.md (capture, flow, tcp, smtp, detect, output, anomalies);
 * stats_sum_into adds every integer leaf of `src` into `dst` (creating
 * missing keys), so the run's totals are the sum of the workers' objects and
 * the reader's, with no counter summed by hand.  Gauges that must not be
 * summed (caps) are written by the caller after summing.
 */
#ifndef RH_STATS_H
#define RH_STATS_H

#include <jansson.h>

#include "../decode/ipfrag.h"
#include "../decode/pkt.h"
#include "worker.h"

json_t *stats_worker(const struct worker *w);
json_t *stats_decoder(const struct pkt_counters *c,
    const struct ipfrag_stats *fs);
void stats_sum_into(json_t *dst, const json_t *src);

#endif
