/*
 * config_file.c - load the YAML configuration file into rh_config,
 * det_config and relay_config.
 *
 * Design: like detect/rules.c, the file is loaded with the libyaml
 * document API so every node has its own line for error messages.  Every
 * key is a row of one table (dotted name, kind, range); a section mapping
 * ("relay: {bulk_tx_limit: 20}") and a dotted key ("relay.bulk_tx_limit:
 * 20") reach the same row, and a row set twice is an error either way.
 * Values go into copies of the three structs and the copies are written
 * back only when the whole file is valid, so a bad file changes nothing.
 * Numbers and booleans must be plain scalars (a quoted "25" is a string and
 * a type error); durations take an s/m/h/d suffix and sizes a k/m/g/t
 * suffix (powers of 1024).  A key given with no value is an error, except
 * for lists where it means the empty list.
 *
 * Rejected: silently ignoring unknown keys (a typo would drop a setting
 * unnoticed); resolving rule paths against the working directory (the
 * config and its rules travel together); rejecting CIDRs with host bits set
 * (192.0.2.1/24 is a common way to write "this host's /24": it is masked).
 */
#include "config_file.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

enum cf_kind {
	CF_STR, CF_UINT, CF_BOOL, CF_DUR, CF_SIZE, CF_PORTS, CF_CIDRS,
	CF_DOMAINS, CF_SERVERS, CF_IDS, CF_RULES, CF_PATH,
};

enum cf_key {
	K_SENSOR, K_WORKERS, K_PORTS, K_TLS_PORTS, K_SNIFF, K_MAX_LINE,
	K_MAX_RCPT, K_MAX_PIPELINE, K_HDR_BYTES, K_HDR_FIELDS, K_HOME_NET,
	K_TRUSTED, K_LOCAL_DOMAINS, K_SERVERS, K_AUTHSERV, K_BULK_RCPT,
	K_BULK_TX, K_CORR_WINDOW, K_MAX_RECORDS, K_SKEW, K_RULES,
	K_DEFAULT_RULES, K_MAX_FLOWS, K_REASM_MEMCAP, K_SESSION_MEMCAP,
	K_FRAG_MEMCAP, K_T_NEW, K_T_EST, K_T_CLOSED, K_T_FRAG, K_STATS,
	K_LISTS, K_HS_CACHE, K_HS_CACHE_DIR,
	K__COUNT,
};

struct cf_row {
	const char *name;
	enum cf_kind kind;
	uint64_t min, max;
};

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)
#define TIB (1024ull * 1024 * 1024 * 1024)
#define WEEK 604800u

static const struct cf_row rows[K__COUNT] = {
	[K_SENSOR] = { "sensor", CF_STR, 1, 255 },
	[K_WORKERS] = { "workers", CF_UINT, 1, 64 },
	[K_PORTS] = { "smtp.ports", CF_PORTS, 1, CONFIG_MAX_PORTS },
	[K_TLS_PORTS] = { "smtp.tls_ports", CF_PORTS, 0, CONFIG_MAX_PORTS },
	[K_SNIFF] = { "smtp.sniff_banners", CF_BOOL, 0, 1 },
	[K_MAX_LINE] = { "smtp.max_line", CF_UINT, 512, 1048576 },
	[K_MAX_RCPT] = { "smtp.max_rcpt", CF_UINT, 1, 100000 },
	[K_MAX_PIPELINE] = { "smtp.max_pipeline", CF_UINT, 1, 65536 },
	[K_HDR_BYTES] = { "smtp.header_bytes", CF_SIZE, 1024, 16 * MIB },
	[K_HDR_FIELDS] = { "smtp.header_fields", CF_UINT, 16, 65536 },
	[K_HOME_NET] = { "home_net", CF_CIDRS, 0, CONFIG_FILE_MAX_CIDRS },
	[K_TRUSTED] = { "trusted_networks", CF_CIDRS, 0, CONFIG_FILE_MAX_CIDRS },
	[K_LOCAL_DOMAINS] = { "local_domains", CF_DOMAINS, 0, RELAY_MAX_DOMAINS },
	[K_SERVERS] = { "servers", CF_SERVERS, 0, RELAY_MAX_SERVERS },
	[K_AUTHSERV] = { "authserv_ids", CF_IDS, 0, DET_MAX_AUTHSERV },
	[K_LISTS] = { "mailing_lists", CF_IDS, 0, 256 },
	[K_BULK_RCPT] = { "relay.bulk_rcpt_limit", CF_UINT, 1, 1000000 },
	[K_BULK_TX] = { "relay.bulk_tx_limit", CF_UINT, 1, 1000000 },
	[K_CORR_WINDOW] = { "relay.correlation_window", CF_DUR, 1, WEEK },
	[K_MAX_RECORDS] = { "relay.max_records", CF_UINT, 1, 16777216 },
	[K_SKEW] = { "dates.skew", CF_DUR, 1, WEEK },
	[K_RULES] = { "rules", CF_RULES, 0, CONFIG_FILE_MAX_RULES },
	[K_DEFAULT_RULES] = { "default_rules", CF_BOOL, 0, 1 },
	[K_MAX_FLOWS] = { "limits.max_flows", CF_UINT, 1, 100000000 },
	[K_REASM_MEMCAP] = { "limits.reassembly_memcap", CF_SIZE, 64 * KIB, TIB },
	[K_SESSION_MEMCAP] = { "limits.session_memcap", CF_SIZE, 64 * KIB, TIB },
	[K_FRAG_MEMCAP] = { "limits.fragment_memcap", CF_SIZE, 64 * KIB, TIB },
	[K_T_NEW] = { "timeouts.new", CF_DUR, 1, WEEK },
	[K_T_EST] = { "timeouts.established", CF_DUR, 1, WEEK },
	[K_T_CLOSED] = { "timeouts.closed", CF_DUR, 1, WEEK },
	[K_T_FRAG] = { "timeouts.fragment", CF_DUR, 1, 3600 },
	[K_STATS] = { "stats_interval", CF_DUR, 0, 86400 },
	[K_HS_CACHE] = { "hyperscan.cache", CF_BOOL, 0, 1 },
	[K_HS_CACHE_DIR] = { "hyperscan.cache_dir", CF_PATH, 1, 4095 },
};

static const char *const sections[] = {
	"smtp", "relay", "dates", "limits", "timeouts", "hyperscan",
};

struct ld {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
	struct config_file *cf;
	struct rh_config rc;
	struct det_config dc;
	struct relay_config relc;
	unsigned long seen[K__COUNT];    /* line of the first setting, 0 none */
};

static int
fail(struct ld *l, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%lu: %s", l->file,
	    n != NULL ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	return -1;
}

static yaml_node_t *
node(struct ld *l, int id)
{
	return yaml_document_get_node(l->doc, id);
}

static const char *
scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int
is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* A plain (unquoted) scalar: what YAML would type as a number or bool. */
static const char *
plain(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return NULL;
	return s;
}

/* Digits, then an optional one-letter unit from units/mults; 0 or -1. */
static int
parse_num(const char *s, const char *units, const uint64_t *mults,
    uint64_t *out)
{
	uint64_t v = 0;
	const char *u;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0') {
		if (units == NULL || s[1] != '\0' ||
		    (u = strchr(units, tolower((unsigned char)*s))) == NULL)
			return -1;
		if (v > UINT64_MAX / mults[u - units])
			return -1;
		v *= mults[u - units];
	}
	*out = v;
	return 0;
}

static const char dur_units[] = "smhd";
static const uint64_t dur_mults[] = { 1, 60, 3600, 86400 };
static const char size_units[] = "kmgt";
static const uint64_t size_mults[] = { KIB, MIB, GIB, TIB };

static int
get_number(struct ld *l, const yaml_node_t *n, const struct cf_row *r,
    uint64_t *out)
{
	const char *s = plain(n);
	const char *what, *unit;
	const char *units = NULL;
	const uint64_t *mults = NULL;

	switch (r->kind) {
	case CF_DUR:
		what = "a duration in seconds (suffix s, m, h or d)";
		unit = " seconds";
		units = dur_units;
		mults = dur_mults;
		break;
	case CF_SIZE:
		what = "a size in bytes (suffix k, m, g or t)";
		unit = " bytes";
		units = size_units;
		mults = size_mults;
		break;
	default:
		what = "a non-negative integer";
		unit = "";
		break;
	}
	if (is_null(n))
		return fail(l, n, "'%s' has no value", r->name);
	if (s == NULL || parse_num(s, units, mults, out) != 0) {
		if (s != NULL && *s >= '0' && *s <= '9' && units == NULL &&
		    strspn(s, "0123456789") == strlen(s))
			goto range;
		return fail(l, n, "'%s' must be %s", r->name, what);
	}
	if (*out < r->min || *out > r->max)
		goto range;
	return 0;
range:
	return fail(l, n, "'%s' must be in %llu..%llu%s", r->name,
	    (unsigned long long)r->min, (unsigned long long)r->max, unit);
}

static int
get_bool(struct ld *l, const yaml_node_t *n, const char *name, int *out)
{
	static const char *const t[] = { "true", "True", "TRUE", "yes", "Yes",
	    "YES", "on", "On", "ON" };
	static const char *const f[] = { "false", "False", "FALSE", "no", "No",
	    "NO", "off", "Off", "OFF" };
	const char *s = plain(n);
	size_t i;

	if (is_null(n))
		return fail(l, n, "'%s' has no value", name);
	for (i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return fail(l, n, "'%s' must be true or false", name);
}

/* The items of a list key; a null value is the empty list. */
static int
get_seq(struct ld *l, const yaml_node_t *n, const char *name,
    yaml_node_item_t **b, yaml_node_item_t **e)
{
	*b = *e = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(l, n, "'%s' must be a list", name);
	*b = n->data.sequence.items.start;
	*e = n->data.sequence.items.top;
	return 0;
}

static const char *
item_str(struct ld *l, const yaml_node_t *n, const char *name)
{
	const char *s = scalar(n);

	if (s == NULL)
		fail(l, n, "each item of '%s' must be a string", name);
	else if (is_null(n))
		fail(l, n, "empty item in '%s'", name);
	else
		return s;
	return NULL;
}

int
config_file_parse_cidr(const char *s, struct chain_cidr *out, char *err,
    size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long pfx, max, b;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		snprintf(err, errlen, "'%s' is not an address or CIDR", s);
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->ver = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->ver = 6;
	else {
		snprintf(err, errlen, "'%s' is not an address or CIDR", s);
		return -1;
	}
	max = out->ver == 4 ? 32 : 128;
	pfx = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		size_t nd = strspn(p, "0123456789");

		if (nd == 0 || nd > 3 || p[nd] != '\0') {
			snprintf(err, errlen, "'%s': bad prefix length", s);
			return -1;
		}
		pfx = strtoul(p, NULL, 10);
		if (pfx > max) {
			snprintf(err, errlen, "'%s': prefix length must be in "
			    "0..%lu", s, max);
			return -1;
		}
	}
	out->prefix = (uint8_t)pfx;
	for (b = pfx; b < max; b++)
		out->addr[b >> 3] &= (uint8_t)~(0x80 >> (b & 7));
	return 0;
}

static int
get_cidrs(struct ld *l, const yaml_node_t *n, const struct cf_row *r,
    struct chain_cidr **out, unsigned *nout)
{
	yaml_node_item_t *it, *e;
	char why[256];

	if (get_seq(l, n, r->name, &it, &e) < 0)
		return -1;
	if (e - it > (long)r->max)
		return fail(l, n, "'%s' has more than %llu entries", r->name,
		    (unsigned long long)r->max);
	if (it == e)
		return 0;
	if ((*out = calloc((size_t)(e - it), sizeof(**out))) == NULL)
		return fail(l, n, "out of memory");
	for (; it < e; it++) {
		const yaml_node_t *in = node(l, *it);
		const char *s = item_str(l, in, r->name);

		if (s == NULL)
			return -1;
		if (config_file_parse_cidr(s, &(*out)[*nout], why,
		    sizeof(why)) != 0)
			return fail(l, in, "%s: %s", r->name, why);
		(*nout)++;
	}
	return 0;
}

/* Lower-cased copy without the trailing dot, or NULL with why set. */
static char *
norm_domain(const char *s, const char **why)
{
	size_t len = strlen(s), i, lab = 0;
	char *d;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		*why = "must be 1 to 253 characters";
		return NULL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (lab == 0) {
				*why = "has an empty label";
				return NULL;
			}
			lab = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			*why = c >= 0x80 ? "must be ASCII (use the xn-- form)" :
			    "may only hold letters, digits, '-', '_' and '.'";
			return NULL;
		}
		if (++lab > 63) {
			*why = "has a label longer than 63 characters";
			return NULL;
		}
	}
	if ((d = strndup(s, len)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static int
get_domains(struct ld *l, const yaml_node_t *n, const char *name,
    char ***out, unsigned *nout)
{
	yaml_node_item_t *it, *e;
	unsigned i;

	if (get_seq(l, n, name, &it, &e) < 0)
		return -1;
	if (e - it > RELAY_MAX_DOMAINS)
		return fail(l, n, "'%s' has more than %d entries", name,
		    RELAY_MAX_DOMAINS);
	if (it == e)
		return 0;
	if ((*out = calloc((size_t)(e - it), sizeof(char *))) == NULL)
		return fail(l, n, "out of memory");
	for (; it < e; it++) {
		const yaml_node_t *in = node(l, *it);
		const char *s = item_str(l, in, name), *why = NULL;
		char *d;

		if (s == NULL)
			return -1;
		if ((d = norm_domain(s, &why)) == NULL)
			return fail(l, in, "%s: domain '%s' %s", name, s, why);
		for (i = 0; i < *nout; i++)
			if (strcmp((*out)[i], d) == 0)
				break;
		if (i < *nout)
			free(d);
		else
			(*out)[(*nout)++] = d;
	}
	return 0;
}

static int
get_servers(struct ld *l, const yaml_node_t *n, const struct cf_row *r)
{
	struct config_file *cf = l->cf;
	yaml_node_item_t *it, *e;
	char why[256];

	if (get_seq(l, n, r->name, &it, &e) < 0)
		return -1;
	if (e - it > (long)r->max)
		return fail(l, n, "'%s' has more than %llu entries", r->name,
		    (unsigned long long)r->max);
	if (it == e)
		return 0;
	if ((cf->servers = calloc((size_t)(e - it), sizeof(*cf->servers))) ==
	    NULL)
		return fail(l, n, "out of memory");
	for (; it < e; it++) {
		const yaml_node_t *sn = node(l, *it);
		struct relay_server_domains *sd = &cf->servers[cf->n_servers];
		const yaml_node_t *addr = NULL, *doms = NULL;
		yaml_node_pair_t *pr;

		if (sn == NULL || sn->type != YAML_MAPPING_NODE)
			return fail(l, sn, "each item of 'servers' must be a "
			    "mapping with 'address' and 'local_domains'");
		cf->n_servers++;
		for (pr = sn->data.mapping.pairs.start;
		    pr < sn->data.mapping.pairs.top; pr++) {
			const yaml_node_t *k = node(l, pr->key);
			const char *ks = scalar(k);
			const yaml_node_t **slot;

			if (ks != NULL && strcmp(ks, "address") == 0)
				slot = &addr;
			else if (ks != NULL && strcmp(ks, "local_domains") == 0)
				slot = &doms;
			else
				return fail(l, k, "unknown key '%s' in a server "
				    "(want address, local_domains)",
				    ks != NULL ? ks : "?");
			if (*slot != NULL)
				return fail(l, k, "duplicate key '%s'", ks);
			*slot = node(l, pr->value);
		}
		if (addr == NULL)
			return fail(l, sn, "server without 'address'");
		if (scalar(addr) == NULL || is_null(addr))
			return fail(l, addr, "server 'address' must be an "
			    "address or CIDR");
		if (config_file_parse_cidr(scalar(addr), &sd->server, why,
		    sizeof(why)) != 0)
			return fail(l, addr, "servers: %s", why);
		if (doms == NULL)
			return fail(l, sn, "server without 'local_domains'");
		if (get_domains(l, doms, "servers.local_domains", &sd->domains,
		    &sd->n_domains) < 0)
			return -1;
		if (sd->n_domains == 0)
			return fail(l, doms, "server 'local_domains' must list "
			    "at least one domain");
	}
	return 0;
}

static int
get_ids(struct ld *l, const yaml_node_t *n, const struct cf_row *r)
{
	struct config_file *cf = l->cf;
	yaml_node_item_t *it, *e;
	int lists = r == &rows[K_LISTS];
	char ***dst = lists ? &cf->mailing_lists : &cf->authserv_ids;
	unsigned *nd = lists ? &cf->n_mailing_lists : &cf->n_authserv_ids;

	if (get_seq(l, n, r->name, &it, &e) < 0)
		return -1;
	if (e - it > (long)r->max)
		return fail(l, n, "'%s' has more than %llu entries", r->name,
		    (unsigned long long)r->max);
	if (it == e)
		return 0;
	if ((*dst = calloc((size_t)(e - it), sizeof(char *))) == NULL)
		return fail(l, n, "out of memory");
	for (; it < e; it++) {
		const yaml_node_t *in = node(l, *it);
		const char *s = item_str(l, in, r->name), *p;

		if (s == NULL)
			return -1;
		for (p = s; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == ';' ||
			    (unsigned char)*p >= 0x7f)
				return fail(l, in, "%s: '%s' must be printable "
				    "ASCII without spaces or ';'", r->name, s);
		if (strlen(s) > 255)
			return fail(l, in, "%s: longer than 255 characters",
			    r->name);
		if (((*dst)[*nd] = strdup(s)) == NULL)
			return fail(l, in, "out of memory");
		if (lists)
			for (char *q = (*dst)[*nd]; *q != '\0'; q++)
				*q = (char)tolower((unsigned char)*q);
		(*nd)++;
	}
	return 0;
}

/* A new copy of path s, a relative one taken from the configuration
 * file's directory; NULL when out of memory. */
static char *
file_relative(const struct ld *l, const char *s)
{
	const char *slash = strrchr(l->file, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - l->file) + 1 : 0;
	char *p;

	if (s[0] == '/' || dlen == 0)
		return strdup(s);
	if ((p = malloc(dlen + strlen(s) + 1)) != NULL) {
		memcpy(p, l->file, dlen);
		strcpy(p + dlen, s);
	}
	return p;
}

static int
get_rules(struct ld *l, const yaml_node_t *n, const struct cf_row *r)
{
	struct config_file *cf = l->cf;
	yaml_node_item_t *it, *e;

	if (get_seq(l, n, r->name, &it, &e) < 0)
		return -1;
	if ((long)l->dc.n_rule_files + (e - it) > (long)r->max)
		return fail(l, n, "more than %llu rule files",
		    (unsigned long long)r->max);
	if (it == e)
		return 0;
	if ((cf->rule_paths = calloc((size_t)(e - it), sizeof(char *))) ==
	    NULL)
		return fail(l, n, "out of memory");
	for (; it < e; it++) {
		const yaml_node_t *in = node(l, *it);
		const char *s = item_str(l, in, r->name);
		char *p;

		if (s == NULL)
			return -1;
		if ((p = file_relative(l, s)) == NULL)
			return fail(l, in, "out of memory");
		cf->rule_paths[cf->n_rule_paths++] = p;
	}
	return 0;
}

/* One path, resolved like rule files. */
static int
get_path(struct ld *l, const yaml_node_t *n, const struct cf_row *r,
    char **out)
{
	const char *s = scalar(n);
	char *p;

	if (is_null(n) || s == NULL)
		return fail(l, n, "'%s' must be a path", r->name);
	if (strlen(s) < r->min || strlen(s) > r->max)
		return fail(l, n, "'%s' must be 1..%llu characters", r->name,
		    (unsigned long long)r->max);
	if ((p = file_relative(l, s)) == NULL)
		return fail(l, n, "out of memory");
	free(*out);
	*out = p;
	return 0;
}

static int
get_ports(struct ld *l, const yaml_node_t *n, const struct cf_row *r,
    uint16_t *ports, unsigned *nports)
{
	yaml_node_item_t *it, *e;
	uint64_t v;

	if (get_seq(l, n, r->name, &it, &e) < 0)
		return -1;
	if (e - it > (long)r->max)
		return fail(l, n, "'%s' has more than %llu ports", r->name,
		    (unsigned long long)r->max);
	if ((unsigned long)(e - it) < r->min)
		return fail(l, n, "'%s' must list at least one port", r->name);
	*nports = 0;
	for (; it < e; it++) {
		const yaml_node_t *in = node(l, *it);
		const char *s = plain(in);

		if (s == NULL || is_null(in) || parse_num(s, NULL, NULL, &v) != 0
		    || v < 1 || v > 65535)
			return fail(l, in, "'%s': each port must be an integer "
			    "in 1..65535", r->name);
		if (!config_port_in(ports, *nports, (uint16_t)v))
			ports[(*nports)++] = (uint16_t)v;
	}
	return 0;
}

static int
apply(struct ld *l, enum cf_key k, const yaml_node_t *v)
{
	const struct cf_row *r = &rows[k];
	struct config_file *cf = l->cf;
	uint64_t u = 0;
	int b = 0;
	const char *s;

	switch (r->kind) {
	case CF_UINT:
	case CF_DUR:
	case CF_SIZE:
		if (get_number(l, v, r, &u) < 0)
			return -1;
		break;
	case CF_BOOL:
		if (get_bool(l, v, r->name, &b) < 0)
			return -1;
		break;
	default:
		break;
	}
	switch (k) {
	case K_SENSOR:
		if (is_null(v) || (s = scalar(v)) == NULL)
			return fail(l, v, "'sensor' must be a string");
		if (strlen(s) < r->min || strlen(s) > r->max)
			return fail(l, v, "'sensor' must be 1..255 characters");
		snprintf(l->rc.sensor, sizeof(l->rc.sensor), "%s", s);
		return 0;
	case K_WORKERS: l->rc.workers = (unsigned)u; return 0;
	case K_PORTS:
		return get_ports(l, v, r, l->rc.smtp_ports, &l->rc.n_smtp_ports);
	case K_TLS_PORTS:
		return get_ports(l, v, r, l->rc.tls_ports, &l->rc.n_tls_ports);
	case K_SNIFF: l->rc.sniff_banners = b; return 0;
	case K_MAX_LINE: l->rc.smtp.max_line = (uint32_t)u; return 0;
	case K_MAX_RCPT: l->rc.smtp.max_rcpt = (uint32_t)u; return 0;
	case K_MAX_PIPELINE: l->rc.smtp.max_pipeline = (uint32_t)u; return 0;
	case K_HDR_BYTES: l->rc.smtp.hdr.max_bytes = (uint32_t)u; return 0;
	case K_HDR_FIELDS: l->rc.smtp.hdr.max_fields = (uint32_t)u; return 0;
	case K_HOME_NET:
		return get_cidrs(l, v, r, &cf->home_net, &cf->n_home_net);
	case K_TRUSTED:
		return get_cidrs(l, v, r, &cf->trusted, &cf->n_trusted);
	case K_LOCAL_DOMAINS:
		return get_domains(l, v, r->name, &cf->local_domains,
		    &cf->n_local_domains);
	case K_SERVERS: return get_servers(l, v, r);
	case K_AUTHSERV: return get_ids(l, v, r);
	case K_LISTS: return get_ids(l, v, r);
	case K_BULK_RCPT: l->relc.bulk_rcpt_limit = (uint32_t)u; return 0;
	case K_BULK_TX: l->relc.bulk_tx_limit = (uint32_t)u; return 0;
	case K_CORR_WINDOW: l->relc.correlation_window = (uint32_t)u; return 0;
	case K_MAX_RECORDS: l->relc.max_records = (uint32_t)u; return 0;
	case K_SKEW: l->dc.chain.skew_s = (uint32_t)u; return 0;
	case K_RULES: return get_rules(l, v, r);
	case K_DEFAULT_RULES: cf->default_rules = b; return 0;
	case K_MAX_FLOWS: l->rc.flow.max_flows = (uint32_t)u; return 0;
	case K_REASM_MEMCAP: l->rc.reasm.memcap = u; return 0;
	case K_SESSION_MEMCAP: l->rc.session_memcap = u; return 0;
	case K_FRAG_MEMCAP: l->rc.frag_memcap = u; return 0;
	case K_T_NEW: l->rc.flow.timeout_new = (uint32_t)u; return 0;
	case K_T_EST: l->rc.flow.timeout_established = (uint32_t)u; return 0;
	case K_T_CLOSED: l->rc.flow.timeout_closed = (uint32_t)u; return 0;
	case K_T_FRAG: l->rc.frag_timeout = (uint32_t)u; return 0;
	case K_STATS: l->rc.stats_interval = (uint32_t)u; return 0;
	case K_HS_CACHE: cf->hs_cache = b; return 0;
	case K_HS_CACHE_DIR: return get_path(l, v, r, &cf->hs_cache_dir);
	case K__COUNT: break;
	}
	return fail(l, v, "internal error");
}

static int
walk(struct ld *l, const yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *pr;
	unsigned long sec_seen[sizeof(sections) / sizeof(sections[0])] = { 0 };

	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = node(l, pr->key);
		const yaml_node_t *v = node(l, pr->value);
		const char *ks = scalar(k);
		char name[128];
		size_t i;

		if (ks == NULL)
			return fail(l, k, "keys must be strings");
		if (snprintf(name, sizeof(name), "%s%s", prefix, ks) >=
		    (int)sizeof(name))
			return fail(l, k, "unknown key '%.60s...'", name);
		for (i = 0; i < K__COUNT; i++)
			if (strcmp(rows[i].name, name) == 0)
				break;
		if (i < K__COUNT) {
			if (l->seen[i] != 0)
				return fail(l, k, "duplicate key '%s' (first set "
				    "at line %lu)", name, l->seen[i]);
			l->seen[i] = (unsigned long)k->start_mark.line + 1;
			if (apply(l, (enum cf_key)i, v) < 0)
				return -1;
			continue;
		}
		for (i = 0; *prefix == '\0' &&
		    i < sizeof(sections) / sizeof(sections[0]); i++)
			if (strcmp(sections[i], name) == 0)
				break;
		if (*prefix != '\0' || i == sizeof(sections) / sizeof(sections[0]))
			return fail(l, k, "unknown key '%s'", name);
		if (sec_seen[i] != 0)
			return fail(l, k, "duplicate key '%s' (first set at "
			    "line %lu)", name, sec_seen[i]);
		sec_seen[i] = (unsigned long)k->start_mark.line + 1;
		if (is_null(v))
			continue;
		if (v->type != YAML_MAPPING_NODE)
			return fail(l, v, "'%s' must be a mapping", name);
		snprintf(name, sizeof(name), "%s.", ks);
		if (walk(l, v, name) < 0)
			return -1;
	}
	return 0;
}

static int
load_doc(struct ld *l)
{
	yaml_node_t *root = yaml_document_get_root_node(l->doc);

	if (is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(l, root, "the configuration must be a mapping of "
		    "keys to values");
	return walk(l, root, "");
}

void
config_file_defaults(struct det_config *dc, struct relay_config *relc)
{
	dc->chain.skew_s = 3600;
	memset(relc, 0, sizeof(*relc));
	relc->bulk_rcpt_limit = 50;
	relc->bulk_tx_limit = 20;
	relc->correlation_window = 3600;
	relc->max_records = 16384;
}

static int
finish(struct ld *l)
{
	struct config_file *cf = l->cf;
	unsigned i;

	if (l->seen[K_HOME_NET]) {
		l->dc.chain.home_net = cf->home_net;
		l->dc.chain.n_home_net = cf->n_home_net;
		l->relc.home_net = cf->home_net;
		l->relc.n_home_net = cf->n_home_net;
	}
	if (l->seen[K_TRUSTED]) {
		l->dc.chain.trusted = cf->trusted;
		l->dc.chain.n_trusted = cf->n_trusted;
	}
	if (l->seen[K_LOCAL_DOMAINS]) {
		l->relc.local_domains = cf->local_domains;
		l->relc.n_local_domains = cf->n_local_domains;
	}
	if (l->seen[K_SERVERS]) {
		l->relc.servers = cf->servers;
		l->relc.n_servers = cf->n_servers;
	}
	if (l->seen[K_AUTHSERV]) {
		l->dc.authserv_ids = (const char *const *)cf->authserv_ids;
		l->dc.n_authserv_ids = cf->n_authserv_ids;
	}
	if (l->seen[K_LISTS]) {
		l->dc.chain.lists = (const char *const *)cf->mailing_lists;
		l->dc.chain.n_lists = cf->n_mailing_lists;
	}
	if (cf->default_rules == 0)
		l->dc.default_rules = NULL;
	if (cf->n_rule_paths > 0) {
		cf->rule_files = calloc(l->dc.n_rule_files + cf->n_rule_paths,
		    sizeof(char *));
		if (cf->rule_files == NULL) {
			snprintf(l->err, l->errlen, "%s:0: out of memory",
			    l->file);
			return -1;
		}
		for (i = 0; i < l->dc.n_rule_files; i++)
			cf->rule_files[cf->n_rule_files++] = l->dc.rule_files[i];
		for (i = 0; i < cf->n_rule_paths; i++)
			cf->rule_files[cf->n_rule_files++] = cf->rule_paths[i];
		l->dc.rule_files = cf->rule_files;
		l->dc.n_rule_files = cf->n_rule_files;
	}
	return 0;
}

int
config_file_load(const char *path, struct config_file *cf,
    struct rh_config *rc, struct det_config *dc, struct relay_config *relc,
    char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ld *l;
	FILE *f;
	int ret = 0, ndocs = 0;

	memset(cf, 0, sizeof(*cf));
	cf->default_rules = -1;
	cf->hs_cache = -1;
	if (errlen > 0)
		err[0] = '\0';
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", path);
		return -1;
	}
	*l = (struct ld){ &doc, path, err, errlen, cf, *rc, *dc, *relc, { 0 } };
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s:0: cannot open: %s", path,
		    strerror(errno));
		free(l);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		free(l);
		snprintf(err, errlen, "%s:0: out of memory", path);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errlen, "%s:%lu: YAML error: %s%s%s", path,
			    (unsigned long)parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "syntax",
			    parser.context != NULL ? " " : "",
			    parser.context != NULL ? parser.context : "");
			ret = -1;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		if (ndocs++ > 0)
			ret = fail(l, root, "more than one YAML document");
		else
			ret = load_doc(l);
		yaml_document_delete(&doc);
		if (ret < 0)
			break;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	if (ret == 0)
		ret = finish(l);
	if (ret == 0) {
		*rc = l->rc;
		*dc = l->dc;
		*relc = l->relc;
	}
	free(l);
	return ret;
}

static void
free_strv(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
config_file_free(struct config_file *cf)
{
	unsigned i;

	if (cf == NULL)
		return;
	free(cf->home_net);
	free(cf->trusted);
	free_strv(cf->local_domains, cf->n_local_domains);
	for (i = 0; cf->servers != NULL && i < cf->n_servers; i++)
		free_strv(cf->servers[i].domains, cf->servers[i].n_domains);
	free(cf->servers);
	free_strv(cf->authserv_ids, cf->n_authserv_ids);
	free_strv(cf->mailing_lists, cf->n_mailing_lists);
	free_strv(cf->rule_paths, cf->n_rule_paths);
	free(cf->rule_files);
	free(cf->hs_cache_dir);
	memset(cf, 0, sizeof(*cf));
	cf->default_rules = -1;
	cf->hs_cache = -1;
}
