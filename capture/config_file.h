/*
 * config_file.h - the YAML configuration file (`-c FILE`, docs/config.md).
 *
 * Contract: config_file_load reads one YAML file and applies every key it
 * sets on top of whatever rc, dc and relc already hold (the defaults, so no
 * file is needed); keys the file does not name are left alone, so options
 * applied afterwards still override the file.  Nothing is changed unless
 * the whole file is valid: on any error (cannot open, YAML syntax, unknown
 * key, duplicate key, wrong type, value out of range) it returns -1 with
 * "FILE:LINE: reason" in err and rc, dc and relc are untouched.
 *
 * Ownership: struct config_file owns every string and array the file
 * produced (CIDRs, domains, per-server lists, authserv-ids, rule paths);
 * dc and relc point into it, so it must outlive them and everything built
 * from them (det_global_create keeps the pointers).  config_file_free
 * releases it after a successful or a failed load, and is idempotent.
 *
 * Where each key lands:
 *   sensor, workers, smtp.*, limits.*, timeouts.*, stats_interval -> rc
 *   home_net -> dc->chain.home_net and relc->home_net
 *   trusted_networks -> dc->chain.trusted; dates.skew -> dc->chain.skew_s
 *   authserv_ids -> dc->authserv_ids
 *   rules -> dc->rule_files: the rule files dc already named, then the
 *     file's (relative paths resolved against the file's directory)
 *   default_rules: false -> dc->default_rules = NULL; true leaves it
 *   local_domains, servers, relay.* -> relc
 *   hyperscan.cache, hyperscan.cache_dir -> cf->hs_cache, cf->hs_cache_dir
 *     only (main picks the directory with hscache_resolve_dir, where the
 *     RELAYHOUND_HS_CACHE environment variable comes first)
 */
#ifndef RH_CONFIG_FILE_H
#define RH_CONFIG_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../detect/chain.h"
#include "../detect/detect.h"
#include "../detect/relay.h"
#include "config.h"

#define CONFIG_FILE_MAX_CIDRS 1024   /* per list (home_net, trusted) */
#define CONFIG_FILE_MAX_RULES 64     /* rule files, with those already in dc */

struct config_file {
	struct chain_cidr *home_net;
	unsigned n_home_net;
	struct chain_cidr *trusted;
	unsigned n_trusted;
	char **local_domains;
	unsigned n_local_domains;
	struct relay_server_domains *servers;
	unsigned n_servers;
	char **authserv_ids;
	unsigned n_authserv_ids;
	char **mailing_lists;       /* declared lists (1107 look-alike) */
	unsigned n_mailing_lists;
	char **rule_paths;               /* the file's rules, resolved */
	unsigned n_rule_paths;
	const char **rule_files;         /* dc's previous files + rule_paths */
	unsigned n_rule_files;
	int default_rules;               /* -1 not in the file, 0, 1 */
	int hs_cache;                    /* hyperscan.cache: -1 not in the
	                                  * file, 0, 1 */
	char *hs_cache_dir;              /* hyperscan.cache_dir, resolved like
	                                  * rule paths, or NULL */
};

/* 0, or -1 with "FILE:LINE: reason" in err (see above). */
int config_file_load(const char *path, struct config_file *cf,
    struct rh_config *rc, struct det_config *dc, struct relay_config *relc,
    char *err, size_t errlen);

void config_file_free(struct config_file *cf);

/*
 * The documented defaults of the settings rh_config does not cover:
 * dc->chain.skew_s = 3600; relc: bulk_rcpt_limit 50, bulk_tx_limit 20,
 * correlation_window 3600, max_records 65536, no lists.  Other dc fields
 * are left alone.
 */
void config_file_defaults(struct det_config *dc, struct relay_config *relc);

/*
 * "192.0.2.0/24", "2001:db8::/32", or a bare address (/32, /128) into
 * *out; host bits are cleared.  0, or -1 with a reason in err.
 */
int config_file_parse_cidr(const char *s, struct chain_cidr *out, char *err,
    size_t errlen);

#endif
