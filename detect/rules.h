/*
 * rules.h - signature rules: the YAML rule files, loaded into memory.
 *
 * Contract: rules_load reads one or more rule files (format in
 * docs/rules.md) with libyaml into a struct rule_set owned by the caller
 * (rules_free).  Every rule has an id unique across all files, a name, a
 * category, a severity 1-3, one or more scopes, one or more patterns
 * (Hyperscan regex syntax, each with its own flags; a pattern marked
 * `negate` must NOT match), a description, a reference and an optional
 * declared condition over named boolean transaction facts.  Each pattern is
 * checked with Hyperscan's own parser (hs_expression_info) at load time, so
 * a bad regex is reported at its file:line with Hyperscan's message.
 *
 * Any error (unreadable file, YAML syntax, unknown key, missing field, bad
 * value, duplicate id, bad regex) makes rules_load return NULL and write
 * "FILE:LINE: reason" into err.  Nothing is printed.
 *
 * Conditions: a rule fires only if every fact in `require` is true, every
 * fact in `require_not` false, and no term of `unless` holds; an `unless`
 * term is one fact, or a list of facts that must all be true (a
 * conjunction).  The facts are computed by the caller per transaction
 * (hseng_facts_from_tx fills the ones the SMTP transaction itself tells).
 *
 * The set is read-only after loading and may be shared by all threads.
 */
#ifndef RH_RULES_H
#define RH_RULES_H

#include <stddef.h>
#include <stdint.h>

enum rule_scope_kind {
	RULE_SCOPE_HEADERS = 0,  /* the raw header section, streamed */
	RULE_SCOPE_BODY,         /* the body after the blank line, streamed */
	RULE_SCOPE_DATA,         /* the whole message, streamed */
	RULE_SCOPE_HELO,         /* HELO/EHLO argument, block */
	RULE_SCOPE_MAIL_FROM,    /* MAIL FROM address, block */
	RULE_SCOPE_RCPT_TO,      /* each RCPT TO address, block */
	RULE_SCOPE_HEADER,       /* header:<Name>: each such field's unfolded
	                          * value, block */
	RULE_SCOPE__COUNT
};

/* Facts a condition can name: bit (1u << RULE_FACT_x) of a uint32_t. */
enum rule_fact {
	RULE_FACT_AUTH_SUCCESS = 0,  /* AUTH got 235 in this session */
	RULE_FACT_AUTH_ATTEMPTED,    /* AUTH was used (any outcome) */
	RULE_FACT_NULL_SENDER,       /* MAIL FROM:<> */
	RULE_FACT_MULTIPART_REPORT,  /* Content-Type multipart/report */
	RULE_FACT_AUTO_SUBMITTED,    /* Auto-Submitted present, not "no" */
	RULE_FACT_CLIENT_IN_HOME_NET,
	RULE_FACT_SERVER_IN_HOME_NET,
	RULE_FACT_STARTTLS,
	RULE_FACT_MIDSTREAM,         /* session picked up midstream */
	RULE_FACT__COUNT
};

#define RULE_MAX_SCOPES 8
#define RULE_MAX_PATTERNS 16
#define RULE_MAX_UNLESS 8

struct rule_scope {
	enum rule_scope_kind kind;
	char *header;            /* RULE_SCOPE_HEADER: the field name */
};

struct rule_pattern {
	char *regex;
	unsigned hs_flags;       /* HS_FLAG_CASELESS/DOTALL/MULTILINE */
	uint8_t negate;          /* must not match within the scope */
	uint32_t line;           /* 1-based line in the file */
};

struct rule {
	uint32_t id;
	char *name;
	char *category;
	int severity;            /* 1 high .. 3 low */
	char *description;
	char *reference;
	struct rule_scope scopes[RULE_MAX_SCOPES];
	unsigned nscopes;
	struct rule_pattern patterns[RULE_MAX_PATTERNS];
	unsigned npatterns;
	uint32_t require;        /* facts that must be true */
	uint32_t require_not;    /* facts that must be false */
	uint32_t unless[RULE_MAX_UNLESS]; /* conjunctions that suppress */
	unsigned nunless;
	const char *file;        /* points into the set */
	uint32_t line;           /* line of the rule's first key */
};

struct rule_set {
	struct rule *rules;
	unsigned nrules;
	unsigned alloc;
	char **files;            /* copies of the file names */
	unsigned nfiles;
};

/*
 * Load and validate `nfiles` rule files into one set.  Returns the set, or
 * NULL with "FILE:LINE: reason" in err (errlen bytes, always terminated).
 */
struct rule_set *rules_load(const char *const *files, unsigned nfiles,
    char *err, size_t errlen);

void rules_free(struct rule_set *rs);

/* 1 if the rule's condition holds for these facts (bit set = true). */
int rule_condition_holds(const struct rule *r, uint32_t facts);

/* Name of a fact ("auth_success"), or NULL. */
const char *rule_fact_name(enum rule_fact f);

/* Name of a scope kind ("headers", "header" for RULE_SCOPE_HEADER). */
const char *rule_scope_name(enum rule_scope_kind k);

#endif
