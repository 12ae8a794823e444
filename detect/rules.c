/*
 * rules.c - load signature rule files (YAML, libyaml document API).
 *
 * Design: each file is loaded as libyaml documents (yaml_parser_load), so
 * every node carries its own start mark and every error can name the exact
 * line; the tree is then walked by hand into fixed-size struct rule entries
 * (bounded scopes/patterns/unless terms: a rule file is configuration, so a
 * rule that needs more is refused, not grown).  Unknown keys are errors, so
 * a typo ("severty") cannot silently drop a field.  Each regex is checked
 * at once with hs_expression_info, which gives Hyperscan's own message at
 * the pattern's own line; the engine compiles the set later and maps any
 * remaining compile error back to a pattern (file:line) as well.
 *
 * Rejected: the libyaml event API (more state for no gain on small files);
 * silently accepting unknown categories (custom ones are allowed, but they
 * must look like the built-in ones: lowercase words joined by '-').
 */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>
#include <yaml.h>

static const char *const fact_names[RULE_FACT__COUNT] = {
	"auth_success", "auth_attempted", "null_sender", "multipart_report",
	"auto_submitted", "client_in_home_net", "server_in_home_net",
	"starttls", "midstream",
};

static const char *const scope_names[RULE_SCOPE__COUNT] = {
	"headers", "body", "data", "helo", "mail_from", "rcpt_to", "header",
};

static const char *const categories[] = {
	"stealth-mailer", "forged-header", "wire-mismatch", "open-relay",
	"authentication",
};

struct ld {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
	struct rule_set *rs;
};

const char *
rule_fact_name(enum rule_fact f)
{
	if ((unsigned)f >= RULE_FACT__COUNT)
		return NULL;
	return fact_names[f];
}

const char *
rule_scope_name(enum rule_scope_kind k)
{
	if ((unsigned)k >= RULE_SCOPE__COUNT)
		return NULL;
	return scope_names[k];
}

int
rule_condition_holds(const struct rule *r, uint32_t facts)
{
	unsigned i;

	if ((facts & r->require) != r->require)
		return 0;
	if ((facts & r->require_not) != 0)
		return 0;
	for (i = 0; i < r->nunless; i++)
		if ((facts & r->unless[i]) == r->unless[i])
			return 0;
	return 1;
}

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

static const char *
scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int
get_str(struct ld *l, const yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);

	if (s == NULL)
		return fail(l, n, "'%s' must be a string", key);
	if (*out != NULL)
		return fail(l, n, "duplicate key '%s'", key);
	if ((*out = strdup(s)) == NULL)
		return fail(l, n, "out of memory");
	return 0;
}

static int
get_uint(struct ld *l, const yaml_node_t *n, const char *key,
    unsigned long max, unsigned long *out)
{
	const char *s = scalar(n);
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return fail(l, n, "'%s' must be a non-negative integer", key);
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return fail(l, n, "'%s' must be an integer in 0..%lu", key, max);
	return 0;
}

static int
parse_scope(struct ld *l, struct rule *r, const yaml_node_t *n)
{
	const char *s = scalar(n);
	struct rule_scope *sc;
	unsigned k;
	const char *p;

	if (s == NULL)
		return fail(l, n, "a scope must be a string");
	if (r->nscopes >= RULE_MAX_SCOPES)
		return fail(l, n, "too many scopes (max %d)", RULE_MAX_SCOPES);
	sc = &r->scopes[r->nscopes];
	if (strncmp(s, "header:", 7) == 0) {
		if (s[7] == '\0')
			return fail(l, n, "scope 'header:' needs a field name");
		for (p = s + 7; *p != '\0'; p++)
			if ((unsigned char)*p < 33 || (unsigned char)*p > 126 ||
			    *p == ':')
				return fail(l, n, "bad header name in scope '%s'", s);
		sc->kind = RULE_SCOPE_HEADER;
		if ((sc->header = strdup(s + 7)) == NULL)
			return fail(l, n, "out of memory");
		r->nscopes++;
		return 0;
	}
	for (k = 0; k < RULE_SCOPE__COUNT; k++) {
		if (k != RULE_SCOPE_HEADER && strcmp(s, scope_names[k]) == 0) {
			sc->kind = (enum rule_scope_kind)k;
			sc->header = NULL;
			r->nscopes++;
			return 0;
		}
	}
	return fail(l, n, "unknown scope '%s' (headers, header:<Name>, body, "
	    "data, helo, mail_from, rcpt_to)", s);
}

static int
parse_flags(struct ld *l, const yaml_node_t *n, unsigned *flags)
{
	const char *s = scalar(n);

	if (s == NULL)
		return fail(l, n, "'flags' must be a string such as \"i,s,m\"");
	for (; *s != '\0'; s++) {
		switch (*s) {
		case 'i': *flags |= HS_FLAG_CASELESS; break;
		case 's': *flags |= HS_FLAG_DOTALL; break;
		case 'm': *flags |= HS_FLAG_MULTILINE; break;
		case ',': case ' ': break;
		default:
			return fail(l, n, "unknown flag '%c' (i, s, m)", *s);
		}
	}
	return 0;
}

static int
check_regex(struct ld *l, const yaml_node_t *n, struct rule_pattern *p)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *ce = NULL;
	int rc = 0;

	if (p->regex[0] == '\0')
		return fail(l, n, "empty pattern");
	if (hs_expression_info(p->regex, p->hs_flags, &info, &ce) !=
	    HS_SUCCESS) {
		rc = fail(l, n, "pattern /%s/ rejected by Hyperscan: %s",
		    p->regex, ce != NULL ? ce->message : "unknown error");
		hs_free_compile_error(ce);
		return rc;
	}
	if (info->min_width == 0)
		rc = fail(l, n, "pattern /%s/ can match an empty string",
		    p->regex);
	free(info);
	return rc;
}

static int
parse_pattern(struct ld *l, struct rule *r, const yaml_node_t *n)
{
	struct rule_pattern *p;
	yaml_node_pair_t *pr;

	if (r->npatterns >= RULE_MAX_PATTERNS)
		return fail(l, n, "too many patterns (max %d)", RULE_MAX_PATTERNS);
	p = &r->patterns[r->npatterns];
	memset(p, 0, sizeof(*p));
	p->line = (uint32_t)n->start_mark.line + 1;
	r->npatterns++;
	if (n->type == YAML_SCALAR_NODE) {
		if (get_str(l, n, "pattern", &p->regex) < 0)
			return -1;
		return check_regex(l, n, p);
	}
	if (n->type != YAML_MAPPING_NODE)
		return fail(l, n, "a pattern is a string or a map {regex, flags, "
		    "negate}");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, pr->value);
		const char *ks = scalar(k);

		if (ks == NULL)
			return fail(l, k, "pattern keys must be strings");
		if (strcmp(ks, "regex") == 0) {
			if (get_str(l, v, ks, &p->regex) < 0)
				return -1;
		} else if (strcmp(ks, "flags") == 0) {
			if (parse_flags(l, v, &p->hs_flags) < 0)
				return -1;
		} else if (strcmp(ks, "negate") == 0) {
			const char *b = scalar(v);
			if (b != NULL && strcmp(b, "true") == 0)
				p->negate = 1;
			else if (b == NULL || strcmp(b, "false") != 0)
				return fail(l, v, "'negate' must be true or false");
		} else {
			return fail(l, k, "unknown pattern key '%s'", ks);
		}
	}
	if (p->regex == NULL)
		return fail(l, n, "pattern map without 'regex'");
	return check_regex(l, n, p);
}

static int
fact_lookup(struct ld *l, const yaml_node_t *n, uint32_t *mask)
{
	const char *s = scalar(n);
	unsigned i;

	if (s == NULL)
		return fail(l, n, "a condition fact must be a name");
	for (i = 0; i < RULE_FACT__COUNT; i++) {
		if (strcmp(s, fact_names[i]) == 0) {
			*mask |= 1u << i;
			return 0;
		}
	}
	return fail(l, n, "unknown fact '%s'", s);
}

/* A fact or a list of facts into one mask. */
static int
fact_list(struct ld *l, const yaml_node_t *n, uint32_t *mask, int allow_nest)
{
	yaml_node_item_t *it;

	if (n->type == YAML_SCALAR_NODE)
		return fact_lookup(l, n, mask);
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(l, n, "expected a fact or a list of facts");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		yaml_node_t *e = yaml_document_get_node(l->doc, *it);
		if (e->type != YAML_SCALAR_NODE && !allow_nest)
			return fail(l, e, "expected a fact name");
		if (fact_lookup(l, e, mask) < 0)
			return -1;
	}
	return 0;
}

static int
parse_condition(struct ld *l, struct rule *r, const yaml_node_t *n)
{
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;

	if (n->type != YAML_MAPPING_NODE)
		return fail(l, n, "'condition' must be a map (require, "
		    "require_not, unless)");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, pr->value);
		const char *ks = scalar(k);

		if (ks == NULL)
			return fail(l, k, "condition keys must be strings");
		if (strcmp(ks, "require") == 0) {
			if (fact_list(l, v, &r->require, 0) < 0)
				return -1;
		} else if (strcmp(ks, "require_not") == 0) {
			if (fact_list(l, v, &r->require_not, 0) < 0)
				return -1;
		} else if (strcmp(ks, "unless") == 0) {
			if (v->type == YAML_SCALAR_NODE) {
				r->unless[0] = 0;
				if (fact_lookup(l, v, &r->unless[0]) < 0)
					return -1;
				r->nunless = 1;
				continue;
			}
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(l, v, "'unless' must be a list");
			for (it = v->data.sequence.items.start;
			    it < v->data.sequence.items.top; it++) {
				yaml_node_t *e = yaml_document_get_node(l->doc, *it);
				if (r->nunless >= RULE_MAX_UNLESS)
					return fail(l, e, "too many 'unless' terms");
				r->unless[r->nunless] = 0;
				if (fact_list(l, e, &r->unless[r->nunless], 0) < 0)
					return -1;
				r->nunless++;
			}
		} else {
			return fail(l, k, "unknown condition key '%s'", ks);
		}
	}
	return 0;
}

static int
valid_category(const char *c)
{
	size_t i;

	for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(c, categories[i]) == 0)
			return 1;
	if (*c < 'a' || *c > 'z')
		return 0;
	for (; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    *c == '-'))
			return 0;
	return 1;
}

static void
rule_clear(struct rule *r)
{
	unsigned i;

	free(r->name);
	free(r->category);
	free(r->description);
	free(r->reference);
	for (i = 0; i < r->nscopes; i++)
		free(r->scopes[i].header);
	for (i = 0; i < r->npatterns; i++)
		free(r->patterns[i].regex);
	memset(r, 0, sizeof(*r));
}

static int
parse_rule(struct ld *l, const yaml_node_t *n)
{
	struct rule_set *rs = l->rs;
	struct rule *r;
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;
	int have_id = 0, have_sev = 0;
	unsigned long v;
	unsigned i;

	if (n->type != YAML_MAPPING_NODE)
		return fail(l, n, "a rule must be a map");
	if (rs->nrules == rs->alloc) {
		unsigned na = rs->alloc ? rs->alloc * 2 : 16;
		struct rule *nr = realloc(rs->rules, na * sizeof(*nr));
		if (nr == NULL)
			return fail(l, n, "out of memory");
		rs->rules = nr;
		rs->alloc = na;
	}
	r = &rs->rules[rs->nrules++];
	memset(r, 0, sizeof(*r));
	r->file = l->file;
	r->line = (uint32_t)n->start_mark.line + 1;

	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, pr->key);
		yaml_node_t *val = yaml_document_get_node(l->doc, pr->value);
		const char *ks = scalar(k);

		if (ks == NULL)
			return fail(l, k, "rule keys must be strings");
		if (strcmp(ks, "id") == 0) {
			if (have_id)
				return fail(l, k, "duplicate key 'id'");
			if (get_uint(l, val, ks, 0xffffffffUL, &v) < 0)
				return -1;
			r->id = (uint32_t)v;
			have_id = 1;
		} else if (strcmp(ks, "name") == 0) {
			if (get_str(l, val, ks, &r->name) < 0)
				return -1;
		} else if (strcmp(ks, "category") == 0) {
			if (get_str(l, val, ks, &r->category) < 0)
				return -1;
			if (!valid_category(r->category))
				return fail(l, val, "bad category '%s'",
				    r->category);
		} else if (strcmp(ks, "severity") == 0) {
			if (have_sev)
				return fail(l, k, "duplicate key 'severity'");
			if (get_uint(l, val, ks, 3, &v) < 0 || v < 1)
				return fail(l, val, "'severity' must be 1, 2 or 3");
			r->severity = (int)v;
			have_sev = 1;
		} else if (strcmp(ks, "description") == 0) {
			if (get_str(l, val, ks, &r->description) < 0)
				return -1;
		} else if (strcmp(ks, "reference") == 0) {
			if (get_str(l, val, ks, &r->reference) < 0)
				return -1;
		} else if (strcmp(ks, "scope") == 0) {
			if (r->nscopes != 0)
				return fail(l, k, "duplicate key 'scope'");
			if (val->type == YAML_SEQUENCE_NODE) {
				for (it = val->data.sequence.items.start;
				    it < val->data.sequence.items.top; it++)
					if (parse_scope(l, r,
					    yaml_document_get_node(l->doc, *it)) < 0)
						return -1;
			} else if (parse_scope(l, r, val) < 0) {
				return -1;
			}
		} else if (strcmp(ks, "patterns") == 0) {
			if (r->npatterns != 0)
				return fail(l, k, "duplicate key 'patterns'");
			if (val->type != YAML_SEQUENCE_NODE)
				return fail(l, val, "'patterns' must be a list");
			for (it = val->data.sequence.items.start;
			    it < val->data.sequence.items.top; it++)
				if (parse_pattern(l, r,
				    yaml_document_get_node(l->doc, *it)) < 0)
					return -1;
		} else if (strcmp(ks, "condition") == 0) {
			if (parse_condition(l, r, val) < 0)
				return -1;
		} else {
			return fail(l, k, "unknown rule key '%s'", ks);
		}
	}
	if (!have_id)
		return fail(l, n, "rule without 'id'");
	if (r->name == NULL || r->name[0] == '\0')
		return fail(l, n, "rule %u: missing 'name'", r->id);
	if (r->category == NULL)
		return fail(l, n, "rule %u: missing 'category'", r->id);
	if (!have_sev)
		return fail(l, n, "rule %u: missing 'severity'", r->id);
	if (r->nscopes == 0)
		return fail(l, n, "rule %u: missing 'scope'", r->id);
	if (r->npatterns == 0)
		return fail(l, n, "rule %u: no 'patterns'", r->id);
	for (i = 0; i < r->npatterns; i++)
		if (!r->patterns[i].negate)
			break;
	if (i == r->npatterns)
		return fail(l, n, "rule %u: every pattern is negated", r->id);
	if (r->description == NULL && (r->description = strdup("")) == NULL)
		return fail(l, n, "out of memory");
	if (r->reference == NULL && (r->reference = strdup("")) == NULL)
		return fail(l, n, "out of memory");
	if ((r->require & r->require_not) != 0)
		return fail(l, n, "rule %u: a fact is both required and "
		    "required false", r->id);
	for (i = 0; i + 1 < rs->nrules; i++) {
		if (rs->rules[i].id == r->id)
			return fail(l, n, "duplicate rule id %u (first at %s:%u)",
			    r->id, rs->rules[i].file, rs->rules[i].line);
	}
	return 0;
}

static int
load_doc(struct ld *l)
{
	yaml_node_t *root = yaml_document_get_root_node(l->doc);
	yaml_node_t *seq = NULL;
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;

	if (root == NULL)
		return 0;
	if (root->type == YAML_SEQUENCE_NODE) {
		seq = root;
	} else if (root->type == YAML_MAPPING_NODE) {
		for (pr = root->data.mapping.pairs.start;
		    pr < root->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(l->doc, pr->key);
			const char *ks = scalar(k);
			if (ks != NULL && strcmp(ks, "rules") == 0)
				seq = yaml_document_get_node(l->doc, pr->value);
			else
				return fail(l, k, "unknown top-level key '%s' "
				    "(expected 'rules')", ks != NULL ? ks : "?");
		}
		if (seq == NULL)
			return fail(l, root, "no 'rules' list");
	} else {
		return fail(l, root, "a rules file is a list of rules or a "
		    "map with 'rules'");
	}
	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(l, seq, "'rules' must be a list");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	    it++)
		if (parse_rule(l, yaml_document_get_node(l->doc, *it)) < 0)
			return -1;
	return 0;
}

static int
load_file(struct rule_set *rs, const char *file, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ld l = { &doc, file, err, errlen, rs };
	FILE *f;
	int rc = 0, done = 0;

	if ((f = fopen(file, "rb")) == NULL) {
		snprintf(err, errlen, "%s:0: cannot open: %s", file,
		    strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errlen, "%s:0: out of memory", file);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	while (!done && rc == 0) {
		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errlen, "%s:%lu: YAML error: %s%s%s", file,
			    (unsigned long)parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "syntax",
			    parser.context != NULL ? " " : "",
			    parser.context != NULL ? parser.context : "");
			rc = -1;
			break;
		}
		if (yaml_document_get_root_node(&doc) == NULL)
			done = 1;
		else
			rc = load_doc(&l);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

struct rule_set *
rules_load(const char *const *files, unsigned nfiles, char *err, size_t errlen)
{
	struct rule_set *rs;
	unsigned i;

	if (errlen > 0)
		err[0] = '\0';
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->files = calloc(nfiles ? nfiles : 1, sizeof(char *))) == NULL) {
		free(rs);
		snprintf(err, errlen, "rules: out of memory");
		return NULL;
	}
	for (i = 0; i < nfiles; i++) {
		if ((rs->files[i] = strdup(files[i])) == NULL) {
			snprintf(err, errlen, "rules: out of memory");
			rules_free(rs);
			return NULL;
		}
		rs->nfiles++;
		if (load_file(rs, rs->files[i], err, errlen) < 0) {
			rules_free(rs);
			return NULL;
		}
	}
	if (rs->nrules == 0) {
		snprintf(err, errlen, "%s:0: no rules", nfiles ? files[0] : "rules");
		rules_free(rs);
		return NULL;
	}
	return rs;
}

void
rules_free(struct rule_set *rs)
{
	unsigned i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	for (i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs);
}
