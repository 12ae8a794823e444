/*
 * test_rules.c - rule files: the format, every error with FILE:LINE, the
 * Hyperscan message for a bad regex, conditions, the default set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hs.h>

#include "check.h"
#include "detect/rules.h"

#ifndef RH_SRCDIR
#define RH_SRCDIR "."
#endif

static char paths[4][64];

static const char *
tmp_yaml(int slot, const char *text)
{
	int fd;

	strcpy(paths[slot], "/tmp/rh_rules_XXXXXX");
	fd = mkstemp(paths[slot]);
	if (fd < 0)
		return "/nonexistent";
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror("write");
	close(fd);
	return paths[slot];
}

/* Load one YAML text; returns the set (or NULL with err filled). */
static struct rule_set *
load1(const char *text, char *err, size_t errlen)
{
	const char *f = tmp_yaml(0, text);
	struct rule_set *rs = rules_load(&f, 1, err, errlen);

	unlink(f);
	return rs;
}

/* The error for `text` must start with "<file>:<line>: " and contain sub. */
static int
err_is(const char *text, unsigned line, const char *sub)
{
	char err[512], want[128];
	const char *f = tmp_yaml(0, text);
	struct rule_set *rs = rules_load(&f, 1, err, sizeof(err));
	int ok;

	snprintf(want, sizeof(want), "%s:%u: ", f, line);
	ok = rs == NULL && strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err, sub) != NULL;
	if (!ok)
		fprintf(stderr, "  got \"%s\", want \"%s...%s\"\n", err, want, sub);
	rules_free(rs);
	unlink(f);
	return ok;
}

#define HEAD "rules:\n  - id: 7\n    name: N\n    category: open-relay\n" \
	"    severity: 2\n"

static void
test_good(void)
{
	char err[512];
	struct rule_set *rs;
	const struct rule *r;

	rs = load1(HEAD
	    "    scope: [helo, \"header:Received\", body]\n"
	    "    patterns:\n"
	    "      - 'abc\\d+'\n"
	    "      - {regex: 'x.y$', flags: \"i,s,m\"}\n"
	    "      - regex: 'zz'\n"
	    "        negate: true\n"
	    "    description: |\n      two\n      lines\n"
	    "    reference: https://example.org/\n"
	    "    condition:\n"
	    "      require: [client_in_home_net]\n"
	    "      require_not: null_sender\n"
	    "      unless: [auth_success, [starttls, midstream]]\n",
	    err, sizeof(err));
	CHECK(rs != NULL);
	if (rs == NULL) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_EQ_INT(rs->nrules, 1);
	r = &rs->rules[0];
	CHECK_EQ_INT(r->id, 7);
	CHECK(strcmp(r->name, "N") == 0);
	CHECK_EQ_INT(r->severity, 2);
	CHECK_EQ_INT(r->nscopes, 3);
	CHECK_EQ_INT(r->scopes[0].kind, RULE_SCOPE_HELO);
	CHECK_EQ_INT(r->scopes[1].kind, RULE_SCOPE_HEADER);
	CHECK(strcmp(r->scopes[1].header, "Received") == 0);
	CHECK_EQ_INT(r->scopes[2].kind, RULE_SCOPE_BODY);
	CHECK_EQ_INT(r->npatterns, 3);
	CHECK_EQ_INT(r->patterns[0].hs_flags, 0);
	CHECK_EQ_INT(r->patterns[1].hs_flags,
	    HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE);
	CHECK_EQ_INT(r->patterns[2].negate, 1);
	CHECK_EQ_INT(r->patterns[0].line, 8);
	CHECK(strcmp(r->description, "two\nlines\n") == 0);
	CHECK_EQ_INT(r->line, 2);
	/* conditions */
	{
		uint32_t home = 1u << RULE_FACT_CLIENT_IN_HOME_NET;
		CHECK(!rule_condition_holds(r, 0));
		CHECK(rule_condition_holds(r, home));
		CHECK(!rule_condition_holds(r, home |
		    1u << RULE_FACT_NULL_SENDER));
		CHECK(!rule_condition_holds(r, home |
		    1u << RULE_FACT_AUTH_SUCCESS));
		CHECK(rule_condition_holds(r, home | 1u << RULE_FACT_STARTTLS));
		CHECK(!rule_condition_holds(r, home | 1u << RULE_FACT_STARTTLS |
		    1u << RULE_FACT_MIDSTREAM));
	}
	rules_free(rs);

	/* a bare list at the top is accepted too; custom category */
	rs = load1("- id: 1\n  name: A\n  category: my-own\n  severity: 1\n"
	    "  scope: data\n  patterns: [foo]\n", err, sizeof(err));
	CHECK(rs != NULL && rs->nrules == 1);
	rules_free(rs);
}

static void
test_errors(void)
{
	CHECK(err_is("rules:\n  - id: 1\n    name: [unclosed\n", 4, "YAML error"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: ['(abc']\n", 7,
	    "Missing close parenthesis"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: ['(abc']\n", 7,
	    "rejected by Hyperscan"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: ['a*']\n", 7,
	    "empty"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns:\n      - ok\n"
	    "      - {regex: 'x', flags: q}\n", 9, "unknown flag"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: [a]\n    severty: 1\n",
	    8, "unknown rule key 'severty'"));
	CHECK(err_is(HEAD "    scope: header\n    patterns: [a]\n", 6,
	    "unknown scope"));
	CHECK(err_is(HEAD "    scope: \"header:\"\n    patterns: [a]\n", 6,
	    "needs a field name"));
	CHECK(err_is("rules:\n  - id: 7\n    name: N\n    category: open-relay\n"
	    "    severity: 4\n    scope: helo\n    patterns: [a]\n", 5,
	    "severity"));
	CHECK(err_is("rules:\n  - id: 7\n    name: N\n    category: Bad_Cat\n",
	    4, "bad category"));
	CHECK(err_is("rules:\n  - id: 7\n    category: open-relay\n"
	    "    severity: 1\n    scope: helo\n    patterns: [a]\n", 2,
	    "missing 'name'"));
	CHECK(err_is(HEAD "    scope: helo\n", 2, "no 'patterns'"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: [a]\n"
	    "    condition: {unless: [tuesday]}\n", 8, "unknown fact"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: [{regex: a, negate: "
	    "true}]\n", 2, "every pattern is negated"));
	CHECK(err_is(HEAD "    scope: helo\n    patterns: [a]\n" "  - id: 7\n"
	    "    name: M\n    category: open-relay\n    severity: 2\n"
	    "    scope: helo\n    patterns: [b]\n", 8, "duplicate rule id 7"));
	CHECK(err_is("version: 1\n", 1, "unknown top-level key"));
	CHECK(err_is("", 0, "no rules"));

	/* duplicate id across two files names the second file and line */
	{
		char err[512], want[80];
		const char *f[2];
		struct rule_set *rs;
		f[0] = tmp_yaml(1, HEAD "    scope: helo\n    patterns: [a]\n");
		f[1] = tmp_yaml(2, "# second\n" HEAD "    scope: helo\n"
		    "    patterns: [a]\n");
		rs = rules_load(f, 2, err, sizeof(err));
		snprintf(want, sizeof(want), "%s:3: duplicate rule id 7", f[1]);
		CHECK(rs == NULL && strncmp(err, want, strlen(want)) == 0);
		CHECK(strstr(err, f[0]) != NULL);
		unlink(f[0]);
		unlink(f[1]);
		rules_free(rs);
	}
	/* missing file */
	{
		char err[256];
		const char *f = "/nonexistent/rules.yaml";
		CHECK(rules_load(&f, 1, err, sizeof(err)) == NULL);
		CHECK(strncmp(err, "/nonexistent/rules.yaml:0: cannot open", 38)
		    == 0);
	}
}

static void
test_default(void)
{
	char err[512];
	const char *f = RH_SRCDIR "/rules/default.yaml";
	struct rule_set *rs = rules_load(&f, 1, err, sizeof(err));
	static const uint32_t ids[] = { 1001, 1002, 1003, 1004, 1005 };
	static const char *const names[] = { "STEALTH_GAA_EST",
	    "STEALTH_XAA_EDT", "HOST_ALT1", "HELO_WINDOWS_DEFAULT_NAME",
	    "RATWARE_OE6_NULL_SENDER" };
	static const int sev[] = { 1, 1, 2, 2, 3 };
	unsigned i;

	CHECK(rs != NULL);
	if (rs == NULL) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_EQ_INT(rs->nrules, 5);
	for (i = 0; i < 5 && i < rs->nrules; i++) {
		CHECK_EQ_INT(rs->rules[i].id, ids[i]);
		CHECK(strcmp(rs->rules[i].name, names[i]) == 0);
		CHECK_EQ_INT(rs->rules[i].severity, sev[i]);
		CHECK(strcmp(rs->rules[i].category, "stealth-mailer") == 0);
		CHECK(rs->rules[i].description[0] != '\0');
	}
	rules_free(rs);
}

int
main(void)
{
	test_good();
	test_errors();
	test_default();
	return CHECK_DONE();
}
