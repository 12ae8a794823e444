/*
 * relayhound.c - command line: read captures or an interface, write events.
 *
 *   relayhound -r FILE [-r FILE ...] [-o PATH|-] [--workers N] ...
 *   relayhound -i IFACE [-o PATH|-] ...
 *
 * Only this file prints or exits.  Every failure is one line on stderr,
 * "relayhound: <what>: <reason>", and a non-zero exit status; events written
 * before a fault stay written (the pipeline is finished normally, so flows
 * still open are closed and the final stats event is written).  A problem
 * that does not stop the run (the Hyperscan database cache cannot be used)
 * is one "relayhound: warning: <reason>" line at start-up.
 */
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/config.h"
#include "capture/config_file.h"
#include "capture/pipeline.h"
#include "capture/source.h"
#include "detect/detect.h"
#include "detect/hscache.h"
#include "output/sink.h"

#ifndef RH_DEFAULT_RULES
#define RH_DEFAULT_RULES "rules/default.yaml"
#endif

#define RH_MAX_INPUTS 256

static struct pipeline *g_pl;
static struct source *volatile g_live;

/* "123", "64k", "256m", "2g" into bytes (or a count). */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: relayhound -r FILE.pcap [-r FILE ...] [-o PATH|-] [options]\n"
	    "       relayhound -i IFACE [-o PATH|-] [options]\n"
	    "  -r FILE           read a pcap or pcapng file ('-' = stdin); repeatable,\n"
	    "                    files are one continuous capture\n"
	    "  -i IFACE          capture live from an interface\n"
	    "  -o PATH|-         write NDJSON events to PATH, '-' = stdout (default)\n"
	    "  -c FILE           configuration file (docs/config.md)\n"
	    "  --workers N       analysis cores (default: number of CPUs)\n"
	    "  --smtp-ports L    ports parsed as SMTP (default 25,587,2525)\n"
	    "  --no-sniff        do not look for SMTP banners on other ports\n"
	    "  --sensor NAME     sensor name in every event (default: host name)\n"
	    "  --rules FILE      add a rules file (repeatable); rules/default.yaml\n"
	    "                    is always loaded unless --no-default-rules\n"
	    "  --check-rules F   validate rule files (with the defaults) and exit\n"
	    "  --max-flows N     flows tracked per worker (default 262144)\n"
	    "  --reasm-memcap B  bytes of out-of-order data per worker (256m)\n"
	    "  --session-memcap B bytes of SMTP strings per worker (512m)\n"
	    "  --reader MODE     with several workers and files: per-worker (each\n"
	    "                    worker reads the files; default) or shared (one\n"
	    "                    reader thread feeding the workers)\n"
	    "  --stage S         benchmark: stop each packet after decode, flow,\n"
	    "                    reasm or smtp (no detections), or full\n"
	    "  -h, --help        this text\n"
	    "environment:\n"
	    "  RELAYHOUND_HS_CACHE=off|DIR  no Hyperscan database cache, or keep\n"
	    "                    it in DIR (default $XDG_CACHE_HOME/relayhound/hs,\n"
	    "                    else ~/.cache/relayhound/hs; docs/config.md)\n");
}

static void
on_signal(int sig)
{
	(void)sig;
	if (g_pl != NULL)
		pipeline_stop(g_pl);
	if (g_live != NULL)
		source_break(g_live);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "smtp-ports", required_argument, NULL, 'P' },
		{ "no-sniff", no_argument, NULL, 'N' },
		{ "sensor", required_argument, NULL, 's' },
		{ "stage", required_argument, NULL, 'S' },
		{ "reader", required_argument, NULL, 'E' },
		{ "rules", required_argument, NULL, 'R' },
		{ "no-default-rules", no_argument, NULL, 'D' },
		{ "check-rules", required_argument, NULL, 'C' },
		{ "max-flows", required_argument, NULL, 'F' },
		{ "reasm-memcap", required_argument, NULL, 'M' },
		{ "session-memcap", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *inputs[RH_MAX_INPUTS];
	const char *rule_files[RH_MAX_INPUTS];
	unsigned nrules = 0;
	int check_only = 0;
	const char *all_rules[RH_MAX_INPUTS];
	unsigned nall = 0;
	struct det_config dcfg;
	struct relay_config relc;
	struct config_file cf;
	struct det_global *det = NULL;
	unsigned ninputs = 0, i;
	const char *iface = NULL, *outpath = "-";
	struct rh_config cfg;
	struct sink *sink;
	struct pipeline_summary sum;
	char err[512];
	char hs_cache_dir[4096];
	int c, status = 0;
	uint64_t sz;
	long v;
	char *end;

	config_defaults(&cfg);
	memset(&dcfg, 0, sizeof(dcfg));
	memset(&cf, 0, sizeof(cf));
	cf.hs_cache = -1;        /* as config_file_load leaves an unset key */
	dcfg.default_rules = RH_DEFAULT_RULES;
	config_file_defaults(&dcfg, &relc);
	/* -c first, so that options on the command line override the file */
	for (i = 1; i + 1 < (unsigned)argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (config_file_load(argv[i + 1], &cf, &cfg, &dcfg, &relc,
			    err, sizeof(err)) != 0) {
				fprintf(stderr, "relayhound: %s\n", err);
				config_file_free(&cf);
				return 1;
			}
			break;
		}
	}
	while ((c = getopt_long(argc, argv, "r:i:o:c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ninputs >= RH_MAX_INPUTS) {
				fprintf(stderr, "relayhound: more than %d -r files\n",
				    RH_MAX_INPUTS);
				return 2;
			}
			inputs[ninputs++] = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'c':
			break; /* loaded before the other options */
		case 'E':
			if (strcmp(optarg, "per-worker") == 0)
				cfg.reader = RH_READER_PER_WORKER;
			else if (strcmp(optarg, "shared") == 0)
				cfg.reader = RH_READER_SHARED;
			else {
				fprintf(stderr, "relayhound: --reader %s: want "
				    "per-worker or shared\n", optarg);
				return 2;
			}
			break;
		case 'w':
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 64) {
				fprintf(stderr, "relayhound: --workers %s: want a "
				    "number from 1 to 64\n", optarg);
				return 2;
			}
			cfg.workers = (unsigned)v;
			break;
		case 'P':
			if (config_parse_ports(optarg, cfg.smtp_ports,
			    &cfg.n_smtp_ports, err, sizeof(err)) != 0) {
				fprintf(stderr, "relayhound: --smtp-ports: %s\n", err);
				return 2;
			}
			break;
		case 'N':
			cfg.sniff_banners = 0;
			break;
		case 's':
			snprintf(cfg.sensor, sizeof(cfg.sensor), "%s", optarg);
			break;
		case 'F':
		case 'M':
		case 'X':
			if (parse_size(optarg, &sz) != 0 || sz == 0 ||
			    (c == 'F' && sz > 100000000)) {
				fprintf(stderr, "relayhound: %s: not a valid size\n",
				    optarg);
				return 2;
			}
			if (c == 'F')
				cfg.flow.max_flows = (uint32_t)sz;
			else if (c == 'M')
				cfg.reasm.memcap = sz;
			else
				cfg.session_memcap = sz;
			break;
		case 'R':
		case 'C':
			if (nrules >= RH_MAX_INPUTS) {
				fprintf(stderr, "relayhound: too many rule files\n");
				return 2;
			}
			rule_files[nrules++] = optarg;
			if (c == 'C')
				check_only = 1;
			break;
		case 'D':
			dcfg.default_rules = NULL;
			break;
		case 'S':
			if (strcmp(optarg, "decode") == 0)
				cfg.stage = RH_STAGE_DECODE;
			else if (strcmp(optarg, "flow") == 0)
				cfg.stage = RH_STAGE_FLOW;
			else if (strcmp(optarg, "reasm") == 0)
				cfg.stage = RH_STAGE_REASM;
			else if (strcmp(optarg, "smtp") == 0)
				cfg.stage = RH_STAGE_SMTP;
			else if (strcmp(optarg, "full") == 0)
				cfg.stage = RH_STAGE_FULL;
			else {
				fprintf(stderr, "relayhound: --stage %s: want "
				    "decode, flow, reasm, smtp or full\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (i = 0; i < dcfg.n_rule_files && nall < RH_MAX_INPUTS; i++)
		all_rules[nall++] = dcfg.rule_files[i];
	for (i = 0; i < nrules && nall < RH_MAX_INPUTS; i++)
		all_rules[nall++] = rule_files[i];
	dcfg.rule_files = all_rules;
	dcfg.n_rule_files = nall;
	dcfg.max_open_msgs = cfg.flow.max_flows;
	switch (hscache_resolve_dir(getenv(HSCACHE_ENV), cf.hs_cache != 0,
	    cf.hs_cache_dir, getenv("XDG_CACHE_HOME"), getenv("HOME"),
	    hs_cache_dir, sizeof(hs_cache_dir))) {
	case 1:
		dcfg.hs_cache_dir = hs_cache_dir;
		break;
	case -1:
		fprintf(stderr, "relayhound: warning: Hyperscan cache: directory "
		    "name too long; running without the cache\n");
		break;
	default:
		break;
	}
	det = det_global_create(&dcfg, err, sizeof(err));
	if (det == NULL) {
		fprintf(stderr, "relayhound: %s\n", err);
		return 1;
	}
	if (hscache_warning(det->hs_cache) != NULL)
		fprintf(stderr, "relayhound: warning: %s\n",
		    hscache_warning(det->hs_cache));
	if (check_only) {
		printf("relayhound: %u rules OK\n", det->rules != NULL ?
		    det->rules->nrules : 0);
		det_global_free(det);
		config_file_free(&cf);
		return 0;
	}
	/* --stage smtp measures everything but the detections */
	if (cfg.stage != RH_STAGE_SMTP)
		cfg.det = det;
	relc.home_net = dcfg.chain.home_net;
	relc.n_home_net = dcfg.chain.n_home_net;
	if (cfg.stage != RH_STAGE_SMTP)
		cfg.relay = &relc;
	if (optind < argc) {
		fprintf(stderr, "relayhound: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	if ((ninputs == 0) == (iface == NULL)) {
		fprintf(stderr, "relayhound: give -r FILE (one or more) or -i "
		    "IFACE\n");
		usage(stderr);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	sink = sink_open(outpath, err, sizeof(err));
	if (sink == NULL) {
		fprintf(stderr, "relayhound: %s: %s\n", outpath, err);
		return 1;
	}
	g_pl = pipeline_create(&cfg, sink, err, sizeof(err));
	if (g_pl == NULL) {
		fprintf(stderr, "relayhound: %s\n", err);
		sink_close(sink);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (iface != NULL) {
		struct source *s = source_open_live(iface, err, sizeof(err));
		if (s == NULL) {
			fprintf(stderr, "relayhound: %s: %s\n", iface, err);
			status = 1;
		} else {
			g_live = s;
			if (pipeline_run_source(g_pl, s, err, sizeof(err)) != 0) {
				fprintf(stderr, "relayhound: %s: %s\n", iface, err);
				status = 1;
			}
			g_live = NULL;
			source_close(s);
		}
	}
	if (pipeline_can_read_per_worker(g_pl, inputs, ninputs)) {
		static struct pipeline_file_result res[RH_MAX_INPUTS];

		if (pipeline_run_files_per_worker(g_pl, inputs, ninputs, res,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "relayhound: %s\n", err);
			status = 1;
		}
		for (i = 0; i < ninputs; i++) {
			if (res[i].rc != 0) {
				fprintf(stderr, "relayhound: %s: %s\n", inputs[i],
				    res[i].err);
				status = 1;
			}
		}
		ninputs = 0;
	}
	for (i = 0; i < ninputs; i++) {
		struct source *s = source_open_file(inputs[i], err, sizeof(err));
		if (s == NULL) {
			fprintf(stderr, "relayhound: %s: %s\n", inputs[i], err);
			status = 1;
			continue;
		}
		if (pipeline_run_source(g_pl, s, err, sizeof(err)) != 0) {
			fprintf(stderr, "relayhound: %s: %s\n", inputs[i], err);
			status = 1;
		}
		source_close(s);
	}

	pipeline_finish(g_pl);
	pipeline_get_summary(g_pl, &sum);
	fprintf(stderr, "relayhound: %llu packets, %.1f MB, %llu flows, %llu "
	    "SMTP transactions, %llu events (%llu dropped), %llu anomalies, "
	    "%.3f s, %.3f Gbit/s\n",
	    (unsigned long long)sum.packets, (double)sum.bytes / 1e6,
	    (unsigned long long)sum.flows,
	    (unsigned long long)sum.transactions,
	    (unsigned long long)sum.events,
	    (unsigned long long)sum.events_dropped,
	    (unsigned long long)sum.anomalies, sum.elapsed_s,
	    sum.elapsed_s > 0 ? (double)sum.bytes * 8 / sum.elapsed_s / 1e9 : 0.0);
	if (sum.sink_errors) {
		fprintf(stderr, "relayhound: %s: %llu write errors, %llu events "
		    "dropped: %s\n", outpath,
		    (unsigned long long)sum.sink_errors,
		    (unsigned long long)sum.events_dropped,
		    sum.sink_error ? sum.sink_error : "write failed");
		status = 1;
	}
	pipeline_destroy(g_pl);
	g_pl = NULL;
	det_global_free(det);
	config_file_free(&cf);
	if (sink_close(sink) != 0 && status == 0) {
		fprintf(stderr, "relayhound: %s: close failed\n", outpath);
		status = 1;
	}
	return status;
}
