/*
 * test_config_file.c - the YAML configuration file: every key into its
 * field, defaults kept, each kind of error with its line, CIDR edge cases,
 * a bad file changing nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "capture/config_file.h"

#ifndef RH_SRCDIR
#define RH_SRCDIR "."
#endif

static char dir[64];
static char path[128];

static const char *
write_yaml(const char *name, const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return "/nonexistent";
	}
	fputs(text, f);
	fclose(f);
	return path;
}

struct all {
	struct config_file cf;
	struct rh_config rc;
	struct det_config dc;
	struct relay_config relc;
	char err[512];
};

static int
load(struct all *a, const char *text)
{
	const char *p = write_yaml("c.yaml", text);

	config_defaults(&a->rc);
	memset(&a->dc, 0, sizeof(a->dc));
	a->dc.default_rules = "DEFAULT";
	config_file_defaults(&a->dc, &a->relc);
	return config_file_load(p, &a->cf, &a->rc, &a->dc, &a->relc, a->err,
	    sizeof(a->err));
}

/* The text must fail, the message must start "DIR/c.yaml:LINE: " and hold
 * want. */
static void
check_err(const char *text, unsigned line, const char *want, int srcline)
{
	struct all a;
	char prefix[192];
	int rc = load(&a, text);

	snprintf(prefix, sizeof(prefix), "%s/c.yaml:%u: ", dir, line);
	if (rc != -1 || strncmp(a.err, prefix, strlen(prefix)) != 0 ||
	    strstr(a.err, want) == NULL) {
		fprintf(stderr, "line %d: want %s...%s, got rc %d \"%s\"\n",
		    srcline, prefix, want, rc, a.err);
		CHECK(0);
	} else
		CHECK(1);
	config_file_free(&a.cf);
}
#define ERR(text, line, want) check_err(text, line, want, __LINE__)

static void
test_empty(void)
{
	struct all a, d;
	const char *texts[] = { "", "# only a comment\n", "---\n", "~\n",
	    "smtp:\nrelay:\n" };
	size_t i;

	config_defaults(&d.rc);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK_EQ_INT(load(&a, texts[i]), 0);
		CHECK(strcmp(a.err, "") == 0);
		/* defaults kept */
		CHECK_EQ_INT(a.rc.workers, d.rc.workers);
		CHECK(strcmp(a.rc.sensor, d.rc.sensor) == 0);
		CHECK_EQ_INT(a.rc.n_smtp_ports, 3);
		CHECK_EQ_INT(a.rc.smtp_ports[1], 587);
		CHECK_EQ_INT(a.rc.n_tls_ports, 1);
		CHECK_EQ_INT(a.rc.sniff_banners, 1);
		CHECK_EQ_INT(a.rc.smtp.max_line, 4096);
		CHECK_EQ_INT(a.rc.flow.max_flows, 262144);
		CHECK_EQ_INT(a.rc.flow.timeout_established, 600);
		CHECK_EQ_INT(a.rc.reasm.memcap, 256ull << 20);
		CHECK_EQ_INT(a.rc.stats_interval, 0);
		CHECK_EQ_INT(a.dc.chain.skew_s, 3600);
		CHECK(a.dc.chain.home_net == NULL);
		CHECK(a.dc.n_rule_files == 0);
		CHECK(strcmp(a.dc.default_rules, "DEFAULT") == 0);
		CHECK_EQ_INT(a.relc.bulk_rcpt_limit, 50);
		CHECK_EQ_INT(a.relc.bulk_tx_limit, 20);
		CHECK_EQ_INT(a.relc.correlation_window, 3600);
		CHECK_EQ_INT(a.relc.max_records, 16384);
		CHECK(a.relc.local_domains == NULL);
		CHECK_EQ_INT(a.cf.default_rules, -1);
		CHECK_EQ_INT(a.cf.hs_cache, -1);
		CHECK(a.cf.hs_cache_dir == NULL);
		config_file_free(&a.cf);
	}
}

static void
test_all_keys(void)
{
	struct all a;
	char want[256];

	CHECK_EQ_INT(load(&a,
	    "sensor: tap-7\n"
	    "workers: 3\n"
	    "smtp:\n"
	    "  ports: [25, 10025, 25]\n"
	    "  tls_ports: []\n"
	    "  sniff_banners: no\n"
	    "  max_line: 1000\n"
	    "  max_rcpt: 200\n"
	    "  max_pipeline: 64\n"
	    "  header_bytes: 128k\n"
	    "  header_fields: 300\n"
	    "home_net:\n"
	    "  - 192.0.2.77/24\n"
	    "  - 2001:DB8:1::5/48\n"
	    "  - 198.51.100.9\n"
	    "trusted_networks: [\"203.0.113.0/28\"]\n"
	    "local_domains:\n"
	    "  - Example.ORG.\n"
	    "  - example.net\n"
	    "  - example.org\n"
	    "servers:\n"
	    "  - address: 192.0.2.10\n"
	    "    local_domains: [mail.Example.com, b.example]\n"
	    "  - local_domains: [c.example]\n"
	    "    address: 2001:db8::/64\n"
	    "authserv_ids: [mx.example.org, 'spam.example.org']\n"
	    "relay.bulk_rcpt_limit: 99\n"
	    "relay:\n"
	    "  bulk_tx_limit: 7\n"
	    "  correlation_window: 2h\n"
	    "  max_records: 1000\n"
	    "dates: {skew: 15m}\n"
	    "rules: [extra.yaml, /abs/other.yaml]\n"
	    "default_rules: false\n"
	    "limits:\n"
	    "  max_flows: 5000\n"
	    "  reassembly_memcap: 1g\n"
	    "  session_memcap: 64M\n"
	    "  fragment_memcap: 1048576\n"
	    "timeouts:\n"
	    "  new: 30\n"
	    "  established: 1h\n"
	    "  closed: 10s\n"
	    "  fragment: 2m\n"
	    "stats_interval: 1m\n"
	    "hyperscan:\n"
	    "  cache: false\n"
	    "  cache_dir: hs\n"), 0);
	CHECK(strcmp(a.err, "") == 0);
	CHECK(strcmp(a.rc.sensor, "tap-7") == 0);
	CHECK_EQ_INT(a.rc.workers, 3);
	CHECK_EQ_INT(a.rc.n_smtp_ports, 2);
	CHECK_EQ_INT(a.rc.smtp_ports[0], 25);
	CHECK_EQ_INT(a.rc.smtp_ports[1], 10025);
	CHECK_EQ_INT(a.rc.n_tls_ports, 0);
	CHECK_EQ_INT(a.rc.sniff_banners, 0);
	CHECK_EQ_INT(a.rc.smtp.max_line, 1000);
	CHECK_EQ_INT(a.rc.smtp.max_rcpt, 200);
	CHECK_EQ_INT(a.rc.smtp.max_pipeline, 64);
	CHECK_EQ_INT(a.rc.smtp.hdr.max_bytes, 131072);
	CHECK_EQ_INT(a.rc.smtp.hdr.max_fields, 300);

	CHECK_EQ_INT(a.dc.chain.n_home_net, 3);
	CHECK(a.dc.chain.home_net == a.relc.home_net);
	CHECK_EQ_INT(a.relc.n_home_net, 3);
	if (a.dc.chain.n_home_net == 3) {
		const struct chain_cidr *c = a.dc.chain.home_net;
		static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
		static const uint8_t host[16] = { 198, 51, 100, 9 };

		CHECK_EQ_INT(c[0].ver, 4);
		CHECK_EQ_INT(c[0].prefix, 24);
		CHECK(memcmp(c[0].addr, "\xc0\x00\x02\x00", 4) == 0);
		CHECK_EQ_INT(c[1].ver, 6);
		CHECK_EQ_INT(c[1].prefix, 48);
		CHECK(memcmp(c[1].addr, v6, 16) == 0);
		CHECK_EQ_INT(c[2].prefix, 32);
		CHECK(memcmp(c[2].addr, host, 16) == 0);
	}
	CHECK_EQ_INT(a.dc.chain.n_trusted, 1);
	CHECK_EQ_INT(a.dc.chain.trusted[0].prefix, 28);
	CHECK_EQ_INT(a.dc.chain.skew_s, 900);

	CHECK_EQ_INT(a.relc.n_local_domains, 2);
	CHECK(strcmp(a.relc.local_domains[0], "example.org") == 0);
	CHECK(strcmp(a.relc.local_domains[1], "example.net") == 0);
	CHECK_EQ_INT(a.relc.n_servers, 2);
	if (a.relc.n_servers == 2) {
		CHECK_EQ_INT(a.relc.servers[0].server.ver, 4);
		CHECK_EQ_INT(a.relc.servers[0].server.prefix, 32);
		CHECK_EQ_INT(a.relc.servers[0].n_domains, 2);
		CHECK(strcmp(a.relc.servers[0].domains[0],
		    "mail.example.com") == 0);
		CHECK(strcmp(a.relc.servers[0].domains[1], "b.example") == 0);
		CHECK_EQ_INT(a.relc.servers[1].server.ver, 6);
		CHECK_EQ_INT(a.relc.servers[1].server.prefix, 64);
		CHECK_EQ_INT(a.relc.servers[1].n_domains, 1);
	}
	CHECK_EQ_INT(a.dc.n_authserv_ids, 2);
	CHECK(strcmp(a.dc.authserv_ids[0], "mx.example.org") == 0);
	CHECK(strcmp(a.dc.authserv_ids[1], "spam.example.org") == 0);

	CHECK_EQ_INT(a.relc.bulk_rcpt_limit, 99);
	CHECK_EQ_INT(a.relc.bulk_tx_limit, 7);
	CHECK_EQ_INT(a.relc.correlation_window, 7200);
	CHECK_EQ_INT(a.relc.max_records, 1000);

	CHECK_EQ_INT(a.dc.n_rule_files, 2);
	snprintf(want, sizeof(want), "%s/extra.yaml", dir);
	if (a.dc.n_rule_files == 2) {
		CHECK(strcmp(a.dc.rule_files[0], want) == 0);
		CHECK(strcmp(a.dc.rule_files[1], "/abs/other.yaml") == 0);
	}
	CHECK(a.dc.default_rules == NULL);
	CHECK_EQ_INT(a.cf.default_rules, 0);

	CHECK_EQ_INT(a.rc.flow.max_flows, 5000);
	CHECK_EQ_INT(a.rc.reasm.memcap, 1ull << 30);
	CHECK_EQ_INT(a.rc.session_memcap, 64ull << 20);
	CHECK_EQ_INT(a.rc.frag_memcap, 1048576);
	CHECK_EQ_INT(a.rc.flow.timeout_new, 30);
	CHECK_EQ_INT(a.rc.flow.timeout_established, 3600);
	CHECK_EQ_INT(a.rc.flow.timeout_closed, 10);
	CHECK_EQ_INT(a.rc.frag_timeout, 120);
	CHECK_EQ_INT(a.rc.stats_interval, 60);
	CHECK_EQ_INT(a.cf.hs_cache, 0);
	snprintf(want, sizeof(want), "%s/hs", dir);
	CHECK(a.cf.hs_cache_dir != NULL &&
	    strcmp(a.cf.hs_cache_dir, want) == 0);
	config_file_free(&a.cf);
	config_file_free(&a.cf);       /* idempotent */
	CHECK(a.cf.hs_cache_dir == NULL);
	CHECK(a.cf.home_net == NULL);
}

static void
test_rules_merge(void)
{
	struct all a;
	char cwd[4096];
	const char *cli[] = { "cli.yaml" };
	const char *p = write_yaml("c.yaml", "rules: [r1.yaml]\n"
	    "default_rules: yes\n");

	config_defaults(&a.rc);
	memset(&a.dc, 0, sizeof(a.dc));
	config_file_defaults(&a.dc, &a.relc);
	a.dc.rule_files = cli;
	a.dc.n_rule_files = 1;
	a.dc.default_rules = "DEFAULT";
	CHECK_EQ_INT(config_file_load(p, &a.cf, &a.rc, &a.dc, &a.relc, a.err,
	    sizeof(a.err)), 0);
	CHECK_EQ_INT(a.dc.n_rule_files, 2);
	CHECK(strcmp(a.dc.rule_files[0], "cli.yaml") == 0);
	CHECK(strstr(a.dc.rule_files[1], "/r1.yaml") != NULL);
	CHECK(strcmp(a.dc.default_rules, "DEFAULT") == 0);
	CHECK_EQ_INT(a.cf.default_rules, 1);
	config_file_free(&a.cf);

	/* A file in the current directory keeps a relative rule path. */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(dir) == 0);
	config_defaults(&a.rc);
	memset(&a.dc, 0, sizeof(a.dc));
	CHECK_EQ_INT(config_file_load("c.yaml", &a.cf, &a.rc, &a.dc, &a.relc,
	    a.err, sizeof(a.err)), 0);
	CHECK(a.dc.n_rule_files == 1 &&
	    strcmp(a.dc.rule_files[0], "r1.yaml") == 0);
	config_file_free(&a.cf);
	CHECK(chdir(cwd) == 0);
}

static void
test_errors(void)
{
	struct all a;
	struct rh_config before;

	/* Syntax and structure. */
	ERR("workers: 2\nsmtp: [\n", 3, "YAML error");
	ERR("- a\n- b\n", 1, "must be a mapping");
	ERR("workers: 2\n---\nworkers: 3\n", 3, "more than one YAML document");
	/* Unknown and duplicate keys. */
	ERR("sensor: x\nworkerz: 2\n", 2, "unknown key 'workerz'");
	ERR("smtp:\n  ports: [25]\n  sniff: true\n", 3,
	    "unknown key 'smtp.sniff'");
	ERR("relay.nope: 1\n", 1, "unknown key 'relay.nope'");
	ERR("relay:\n  x:\n    y: 1\n", 2, "unknown key 'relay.x'");
	ERR("workers: 2\n\nworkers: 3\n", 3, "duplicate key 'workers' "
	    "(first set at line 1)");
	ERR("relay.bulk_tx_limit: 2\nrelay:\n  bulk_tx_limit: 3\n", 3,
	    "duplicate key 'relay.bulk_tx_limit'");
	ERR("relay: {}\nrelay: {}\n", 2, "duplicate key 'relay'");
	ERR("smtp: 25\n", 1, "'smtp' must be a mapping");
	ERR("[a]: 1\n", 1, "keys must be strings");
	/* Types. */
	ERR("workers: four\n", 1, "'workers' must be a non-negative integer");
	ERR("workers: \"4\"\n", 1, "must be a non-negative integer");
	ERR("workers: -1\n", 1, "must be a non-negative integer");
	ERR("workers: 2.5\n", 1, "must be a non-negative integer");
	ERR("workers:\n", 1, "'workers' has no value");
	ERR("workers: [1]\n", 1, "must be a non-negative integer");
	ERR("smtp:\n  sniff_banners: maybe\n", 2,
	    "'smtp.sniff_banners' must be true or false");
	ERR("default_rules: 1\n", 1, "must be true or false");
	ERR("hyperscan: {cache: 1}\n", 1, "must be true or false");
	ERR("hyperscan:\n  cache_dir:\n", 2, "must be a path");
	ERR("hyperscan:\n  cache_dir: [a]\n", 2, "must be a path");
	ERR("hyperscan:\n  dir: /x\n", 2, "unknown key 'hyperscan.dir'");
	ERR("hyperscan.cache: true\nhyperscan: {cache: true}\n", 2,
	    "duplicate key 'hyperscan.cache'");
	ERR("sensor: [a]\n", 1, "'sensor' must be a string");
	ERR("sensor: ''\n", 1, "1..255 characters");
	ERR("home_net: 10.0.0.0/8\n", 1, "'home_net' must be a list");
	ERR("home_net:\n  - [10.0.0.0/8]\n", 2, "must be a string");
	ERR("local_domains:\n  -\n", 2, "empty item");
	ERR("relay:\n  correlation_window: 1y\n", 2,
	    "'relay.correlation_window' must be a duration");
	ERR("limits:\n  session_memcap: 10x\n", 2, "must be a size in bytes");
	ERR("limits:\n  session_memcap: 1kb\n", 2, "must be a size in bytes");
	/* Ranges. */
	ERR("workers: 0\n", 1, "'workers' must be in 1..64");
	ERR("workers: 65\n", 1, "'workers' must be in 1..64");
	ERR("workers: 99999999999999999999999\n", 1, "must be in 1..64");
	ERR("relay:\n  correlation_window: 8d\n", 2,
	    "must be in 1..604800 seconds");
	ERR("dates:\n  skew: 0\n", 2, "'dates.skew' must be in 1..604800");
	ERR("limits:\n  reassembly_memcap: 1k\n", 2,
	    "must be in 65536..1099511627776 bytes");
	ERR("limits:\n  fragment_memcap: 99999999999t\n", 2, "must be a size");
	ERR("smtp:\n  max_line: 100\n", 2, "'smtp.max_line' must be in "
	    "512..1048576");
	ERR("stats_interval: 2d\n", 1, "must be in 0..86400 seconds");
	/* Ports. */
	ERR("smtp:\n  ports: []\n", 2, "must list at least one port");
	ERR("smtp:\n  ports:\n    - 25\n    - 70000\n", 4,
	    "each port must be an integer in 1..65535");
	ERR("smtp:\n  ports: [0]\n", 2, "in 1..65535");
	ERR("smtp:\n  tls_ports: [smtps]\n", 2, "in 1..65535");
	ERR("smtp:\n  ports: 25\n", 2, "'smtp.ports' must be a list");
	/* CIDRs. */
	ERR("home_net:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n", 3,
	    "prefix length must be in 0..32");
	ERR("trusted_networks: ['::/129']\n", 1, "in 0..128");
	ERR("home_net: [10.0.0.0/]\n", 1, "bad prefix length");
	ERR("home_net: [10.0.0.0/8x]\n", 1, "bad prefix length");
	ERR("home_net: [10.0.0.0/-1]\n", 1, "bad prefix length");
	ERR("home_net: [/8]\n", 1, "not an address or CIDR");
	ERR("home_net: [10.0.0/8]\n", 1, "not an address or CIDR");
	ERR("home_net: [mail.example.com]\n", 1, "not an address or CIDR");
	ERR("home_net: ['fe80::1%eth0']\n", 1, "not an address or CIDR");
	/* Domains. */
	ERR("local_domains: [a..b]\n", 1, "empty label");
	ERR("local_domains: ['.']\n", 1, "1 to 253 characters");
	ERR("local_domains: ['ex ample.org']\n", 1, "may only hold");
	ERR("local_domains: ['b\xc3\xbc" "cher.de']\n", 1, "xn--");
	ERR("local_domains: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaa.org]\n", 1, "longer than 63");
	/* Servers. */
	ERR("servers:\n  - address: 10.0.0.1\n    domains: [a.org]\n", 3,
	    "unknown key 'domains' in a server");
	ERR("servers:\n  - local_domains: [a.org]\n", 2,
	    "server without 'address'");
	ERR("servers:\n  - address: 10.0.0.1\n", 2,
	    "server without 'local_domains'");
	ERR("servers:\n  - address: 10.0.0.1\n    local_domains: []\n", 3,
	    "at least one domain");
	ERR("servers:\n  - address: bad\n    local_domains: [a.org]\n", 2,
	    "not an address");
	ERR("servers:\n  - 10.0.0.1\n", 2, "must be a mapping");
	ERR("servers:\n  - address: 10.0.0.1\n    address: 10.0.0.2\n", 3,
	    "duplicate key 'address'");
	/* authserv-ids and caps. */
	ERR("authserv_ids: ['mx example']\n", 1, "without spaces");
	ERR("authserv_ids: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]\n", 1,
	    "more than 16 entries");

	/* A bad file changes nothing. */
	config_defaults(&before);
	CHECK_EQ_INT(load(&a, "workers: 5\nhome_net: [10.0.0.0/8]\n"
	    "relay:\n  bulk_rcpt_limit: 5\nstats_interval: x\n"), -1);
	CHECK_EQ_INT(a.rc.workers, before.workers);
	CHECK(a.dc.chain.home_net == NULL);
	CHECK(a.relc.home_net == NULL);
	CHECK_EQ_INT(a.relc.bulk_rcpt_limit, 50);
	config_file_free(&a.cf);

	/* Missing file. */
	config_defaults(&a.rc);
	CHECK_EQ_INT(config_file_load("/nonexistent/rh.yaml", &a.cf, &a.rc,
	    &a.dc, &a.relc, a.err, sizeof(a.err)), -1);
	CHECK(strncmp(a.err, "/nonexistent/rh.yaml:0: cannot open", 35) == 0);
	config_file_free(&a.cf);
}

static void
test_cidr(void)
{
	struct chain_cidr c;
	char err[128];
	static const uint8_t all0[16];

	CHECK_EQ_INT(config_file_parse_cidr("0.0.0.0/0", &c, err, sizeof(err)),
	    0);
	CHECK(c.ver == 4 && c.prefix == 0);
	CHECK_EQ_INT(config_file_parse_cidr("255.255.255.255/0", &c, err,
	    sizeof(err)), 0);
	CHECK(memcmp(c.addr, all0, 16) == 0);
	CHECK_EQ_INT(config_file_parse_cidr("10.1.2.3/9", &c, err,
	    sizeof(err)), 0);
	CHECK(c.addr[0] == 10 && c.addr[1] == 0 && c.addr[2] == 0);
	CHECK_EQ_INT(config_file_parse_cidr("10.255.2.3/9", &c, err,
	    sizeof(err)), 0);
	CHECK(c.addr[0] == 10 && c.addr[1] == 128 && c.prefix == 9);
	CHECK_EQ_INT(config_file_parse_cidr("::/0", &c, err, sizeof(err)), 0);
	CHECK(c.ver == 6 && c.prefix == 0);
	CHECK_EQ_INT(config_file_parse_cidr("::1", &c, err, sizeof(err)), 0);
	CHECK(c.ver == 6 && c.prefix == 128 && c.addr[15] == 1);
	CHECK_EQ_INT(config_file_parse_cidr("::ffff:192.0.2.1/120", &c, err,
	    sizeof(err)), 0);
	CHECK(c.ver == 6 && c.addr[10] == 0xff && c.addr[14] == 2 &&
	    c.addr[15] == 0);
	CHECK_EQ_INT(config_file_parse_cidr("2001:db8::ffff/127", &c, err,
	    sizeof(err)), 0);
	CHECK(c.addr[14] == 0xff && c.addr[15] == 0xfe);
	CHECK_EQ_INT(config_file_parse_cidr("10.0.0.1/32", &c, err,
	    sizeof(err)), 0);
	CHECK(c.prefix == 32 && c.addr[3] == 1);
	CHECK_EQ_INT(config_file_parse_cidr("10.0.0.0/008", &c, err,
	    sizeof(err)), 0);
	CHECK(c.prefix == 8);
	CHECK_EQ_INT(config_file_parse_cidr("10.0.0.0/0008", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("", &c, err, sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("1.2.3.4/ 8", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr(" 1.2.3.4", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("1.2.3.4/8/8", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("01.2.3.4", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("1:2:3:4:5:6:7:8:9", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr(
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000/1", &c, err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(config_file_parse_cidr("2001:db8::/129", &c, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "0..128") != NULL);
}

/* The documented example loads and holds the documented defaults. */
static void
test_example(void)
{
	struct all a;

	config_defaults(&a.rc);
	memset(&a.dc, 0, sizeof(a.dc));
	a.dc.default_rules = "DEFAULT";
	config_file_defaults(&a.dc, &a.relc);
	CHECK_EQ_INT(config_file_load(RH_SRCDIR "/docs/relayhound.example.yaml",
	    &a.cf, &a.rc, &a.dc, &a.relc, a.err, sizeof(a.err)), 0);
	if (a.err[0] != '\0')
		fprintf(stderr, "example: %s\n", a.err);
	CHECK(strcmp(a.rc.sensor, "tap-dc1") == 0);
	CHECK_EQ_INT(a.rc.n_smtp_ports, 3);
	CHECK_EQ_INT(a.rc.smtp.hdr.max_bytes, 65536);
	CHECK_EQ_INT(a.rc.reasm.memcap, 256ull << 20);
	CHECK_EQ_INT(a.rc.session_memcap, 512ull << 20);
	CHECK_EQ_INT(a.rc.flow.timeout_established, 600);
	CHECK_EQ_INT(a.dc.chain.n_home_net, 3);
	CHECK_EQ_INT(a.dc.chain.skew_s, 3600);
	CHECK_EQ_INT(a.relc.n_servers, 2);
	CHECK_EQ_INT(a.relc.bulk_rcpt_limit, 50);
	CHECK_EQ_INT(a.relc.correlation_window, 3600);
	CHECK_EQ_INT(a.dc.n_rule_files, 0);
	CHECK(a.dc.default_rules != NULL);
	CHECK_EQ_INT(a.cf.hs_cache, 1);
	CHECK(a.cf.hs_cache_dir == NULL);       /* the default location */
	config_file_free(&a.cf);
}

int
main(void)
{
	strcpy(dir, "/tmp/rh_cfg_XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_example();
	test_empty();
	test_all_keys();
	test_rules_merge();
	test_errors();
	test_cidr();
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
