/*
 * addr.c - msghdr_addresses: the addr-specs of an RFC 5322 address list.
 *
 * Design: one left-to-right scan, no backtracking, so the cost is linear in
 * the value whatever its shape.  The scanner splits entries at `,` and `;`
 * outside quoted strings, comments and angle brackets, and collects for
 * each entry: the first angle-addr, the words outside angles and comments
 * (a quoted string or domain literal is part of a word), and the first
 * `<...@...>` seen inside a comment.  The address of an entry is, in order:
 *   - the angle-addr, whitespace and comments removed, an obsolete route
 *     (`<@a,@b:u@d>`) dropped (an empty `<>` falls through);
 *   - else the first run of words holding an `@`, where words are joined
 *     only around the `@` (`a @ b` -> `a@b`, but `Inc. a@b` -> `a@b`); a
 *     lone quoted `"a@b"` loses its quotes;
 *   - else a `<...@...>` inside a comment (`Shop,(<s@shop.example>)`,
 *     seen in phishing);
 *   - else nothing: a display name alone is not an address.
 * A `:` before any `@` or `<` of an entry opens a group and drops its
 * display name (`undisclosed-recipients:;` gives nothing).  An encoded word
 * is a display-name word and never an address.
 *
 * Lenient: an unclosed quote or comment is read as if its opening character
 * were a space, a stray `>` is a space, and an unclosed `<` ends at the
 * next `,` or `;` (or the end); a `<` whose content does not start with `@`
 * (no route) ends at a `,` too, so `A <a@b, c@d>` still gives two
 * addresses.  Once a closing character is known to be missing, later
 * openers of that kind skip the search (linear time on `"""..."`).
 *
 * Strings returned are slices of the value when the address is contiguous
 * there, else copies in the arena; if the arena is exhausted the address
 * is skipped.  Rejected: a full RFC 5322 grammar (fails on the broken
 * headers spam is made of) and regex splitting on commas (quotes, comments).
 */
#include "msghdr.h"

#include <string.h>

#define ADDR_PIECES 16u

struct addr_span {
	uint32_t s, e;
};

struct addr_entry {
	struct addr_span angle;
	int has_angle;
	struct addr_span cmt;       /* <..@..> inside a comment */
	int has_cmt;
	struct addr_span piece[ADDR_PIECES];
	unsigned npiece;
	int run_at;                 /* the current run of words holds an @ */
	int chosen;                 /* piece[] is the run with an @, final */
	int seen_at;                /* an @ outside comments, so no group */
};

struct addr_scan {
	const uint8_t *p;
	size_t n;
	struct arena *a;
	struct bstr *out;
	unsigned max, cnt;
	int no_quote, no_paren, no_bracket;
	size_t ew_stop;             /* no encoded word starts before this */
};

static int
addr_wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Index after the quoted string opening at i, or 0 if unclosed. */
static size_t
addr_quote_end(const uint8_t *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Index after the comment opening at i (nested), or 0 if unclosed. */
static size_t
addr_comment_end(const uint8_t *p, size_t n, size_t i)
{
	unsigned depth = 0;

	for (; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '(') {
			depth++;
		} else if (p[i] == ')') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

/*
 * End of an encoded word =?cs?X?text?= at i, or 0 and *stop: no encoded
 * word can start in [i, *stop) either (fewer `?` from a later start).
 */
static size_t
addr_encword_end(const uint8_t *p, size_t n, size_t i, size_t *stop)
{
	size_t j, q = 0;

	*stop = i + 1;
	if (i + 1 >= n || p[i] != '=' || p[i + 1] != '?')
		return 0;
	for (j = i + 2; j < n; j++) {
		if (addr_wsp(p[j]) || p[j] == '"' || p[j] == '<' ||
		    p[j] == '(' || p[j] == ',' || p[j] == ';')
			break;
		if (p[j] == '?') {
			q++;
			if (q >= 3 && j + 1 < n && p[j + 1] == '=')
				return j + 2;
		}
	}
	*stop = j;
	return 0;
}

static void
addr_entry_reset(struct addr_entry *e)
{
	memset(e, 0, sizeof(*e));
}

/* A run of words ended: keep it if it holds an @ and none was kept. */
static void
addr_run_end(struct addr_entry *e)
{
	if (e->chosen)
		return;
	if (e->run_at)
		e->chosen = 1;
	else
		e->npiece = 0;
	e->run_at = 0;
}

static void
addr_word(struct addr_scan *sc, struct addr_entry *e, size_t s, size_t t)
{
	const uint8_t *p = sc->p;
	int at = memchr(p + s, '@', t - s) != NULL;
	int join;

	if (e->chosen || s >= t)
		return;
	if (at)
		e->seen_at = 1;
	join = e->npiece > 0 &&
	    (p[e->piece[e->npiece - 1].e - 1] == '@' || p[s] == '@');
	if (!join)
		addr_run_end(e);
	if (e->chosen)
		return;
	if (e->npiece < ADDR_PIECES) {
		e->piece[e->npiece].s = (uint32_t)s;
		e->piece[e->npiece].e = (uint32_t)t;
		e->npiece++;
	}
	if (at)
		e->run_at = 1;
}

static int
addr_emit_spans(struct addr_scan *sc, const struct addr_span *sp, unsigned n)
{
	size_t len = 0, k;
	unsigned i;
	uint8_t *b;

	if (n == 0 || sc->cnt >= sc->max)
		return 0;
	if (n == 1) {
		if (sp[0].e <= sp[0].s)
			return 0;
		sc->out[sc->cnt++] = bstr_make(sc->p + sp[0].s,
		    sp[0].e - sp[0].s);
		return 1;
	}
	for (i = 0; i < n; i++)
		len += sp[i].e - sp[i].s;
	if (len == 0 || sc->a == NULL)
		return 0;
	b = arena_alloc(sc->a, len);
	if (b == NULL)
		return 0;
	for (i = 0, k = 0; i < n; i++) {
		memcpy(b + k, sc->p + sp[i].s, sp[i].e - sp[i].s);
		k += sp[i].e - sp[i].s;
	}
	sc->out[sc->cnt++] = bstr_make(b, len);
	return 1;
}

/* The words of [s, e): WSP and comments dropped, quotes kept. */
static unsigned
addr_split(struct addr_scan *sc, size_t s, size_t e, struct addr_span *sp)
{
	const uint8_t *p = sc->p;
	size_t i = s, ws = s, q;
	unsigned n = 0;
	int inword = 0, no_quote = 0, no_paren = 0;

	while (i < e) {
		if (addr_wsp(p[i]) || p[i] == '(') {
			if (inword && n < ADDR_PIECES) {
				sp[n].s = (uint32_t)ws;
				sp[n].e = (uint32_t)i;
				n++;
			}
			inword = 0;
			q = 0;
			if (p[i] == '(' && !no_paren &&
			    (q = addr_comment_end(p, e, i)) == 0)
				no_paren = 1;
			i = q != 0 ? q : i + 1;
			continue;
		}
		if (!inword) {
			ws = i;
			inword = 1;
		}
		q = 0;
		if (p[i] == '"' && !no_quote &&
		    (q = addr_quote_end(p, e, i)) == 0)
			no_quote = 1;
		i = q != 0 ? q : i + 1;
	}
	if (inword && n < ADDR_PIECES) {
		sp[n].s = (uint32_t)ws;
		sp[n].e = (uint32_t)e;
		n++;
	}
	return n;
}

static int
addr_emit_angle(struct addr_scan *sc, size_t s, size_t e)
{
	const uint8_t *p = sc->p;
	struct addr_span sp[ADDR_PIECES];
	size_t i;
	unsigned n;

	while (s < e && addr_wsp(p[s]))
		s++;
	if (s < e && p[s] == '@') {
		for (i = s; i < e && p[i] != ':'; i++)
			;
		if (i < e)
			s = i + 1;
	}
	n = addr_split(sc, s, e, sp);
	return addr_emit_spans(sc, sp, n);
}

static void
addr_entry_emit(struct addr_scan *sc, struct addr_entry *e)
{
	addr_run_end(e);
	if (e->chosen && e->npiece == 1 && e->piece[0].e - e->piece[0].s > 2 &&
	    sc->p[e->piece[0].s] == '"' && sc->p[e->piece[0].e - 1] == '"') {
		/* a lone quoted "a@b": the quotes are not part of it */
		e->piece[0].s++;
		e->piece[0].e--;
	}
	if (!(e->has_angle && addr_emit_angle(sc, e->angle.s, e->angle.e)) &&
	    !(e->chosen && addr_emit_spans(sc, e->piece, e->npiece)) &&
	    e->has_cmt)
		addr_emit_angle(sc, e->cmt.s, e->cmt.e);
	addr_entry_reset(e);
}

/* Note a <..@..> inside the comment [s, t) for the fallback. */
static void
addr_comment_scan(struct addr_scan *sc, struct addr_entry *e, size_t s,
    size_t t)
{
	const uint8_t *p = sc->p;
	const uint8_t *lt, *gt;

	if (e->has_cmt)
		return;
	lt = memchr(p + s, '<', t - s);
	if (lt == NULL)
		return;
	gt = memchr(lt, '>', (size_t)(p + t - lt));
	if (gt == NULL || memchr(lt, '@', (size_t)(gt - lt)) == NULL)
		return;
	e->cmt.s = (uint32_t)(lt - p + 1);
	e->cmt.e = (uint32_t)(gt - p);
	e->has_cmt = 1;
}

unsigned
msghdr_addresses(struct arena *a, struct bstr value, struct bstr *out,
    unsigned max)
{
	struct addr_scan sc;
	struct addr_entry e;
	const uint8_t *p = value.p;
	size_t n = value.len, i = 0, ws = 0, q, j;
	int inword = 0, wat = 0, in_group = 0, route;
	uint8_t c;

	if (p == NULL || out == NULL || max == 0)
		return 0;
	memset(&sc, 0, sizeof(sc));
	sc.p = p;
	sc.n = n;
	sc.a = a;
	sc.out = out;
	sc.max = max;
	addr_entry_reset(&e);

#define ADDR_WORD_END()                                                      \
	do {                                                                 \
		if (inword)                                                  \
			addr_word(&sc, &e, ws, i);                           \
		inword = 0;                                                  \
	} while (0)

	while (i < n && sc.cnt < sc.max) {
		c = p[i];
		if (c == '"') {
			q = sc.no_quote ? 0 : addr_quote_end(p, n, i);
			if (q == 0) {
				sc.no_quote = 1;
				ADDR_WORD_END();
				i++;
				continue;
			}
			if (!inword) {
				ws = i;
				inword = 1;
				wat = 0;
			}
			i = q;
			continue;
		}
		if (c == '[') {
			const uint8_t *rb = sc.no_bracket ? NULL :
			    memchr(p + i, ']', n - i);
			if (rb == NULL) {
				sc.no_bracket = 1;
			} else {
				if (!inword) {
					ws = i;
					inword = 1;
					wat = 0;
				}
				i = (size_t)(rb - p) + 1;
				continue;
			}
		}
		if (c == '(') {
			q = sc.no_paren ? 0 : addr_comment_end(p, n, i);
			ADDR_WORD_END();
			if (q == 0) {
				sc.no_paren = 1;
				i++;
			} else {
				addr_comment_scan(&sc, &e, i, q);
				i = q;
			}
			continue;
		}
		if (c == '<') {
			ADDR_WORD_END();
			route = i + 1 < n && p[i + 1] == '@';
			for (j = i + 1; j < n; j++) {
				if (p[j] == '>' || p[j] == ';' ||
				    (p[j] == ',' && !route))
					break;
			}
			if (!e.has_angle) {
				e.angle.s = (uint32_t)(i + 1);
				e.angle.e = (uint32_t)j;
				e.has_angle = 1;
			}
			i = j < n && p[j] == '>' ? j + 1 : j;
			continue;
		}
		if (c == ',' || c == ';') {
			ADDR_WORD_END();
			addr_entry_emit(&sc, &e);
			if (c == ';')
				in_group = 0;
			i++;
			continue;
		}
		if (c == ':' && !in_group && !e.has_angle && !e.seen_at &&
		    !(inword && wat)) {
			ADDR_WORD_END();
			addr_entry_reset(&e);
			in_group = 1;
			i++;
			continue;
		}
		if (addr_wsp(c) || c == '>') {
			/* a stray '>' is a separator too */
			ADDR_WORD_END();
			i++;
			continue;
		}
		if (c == '=' && i >= sc.ew_stop) {
			q = addr_encword_end(p, n, i, &sc.ew_stop);
			if (q != 0) {
				ADDR_WORD_END();
				i = q;
				continue;
			}
		}
		if (!inword) {
			ws = i;
			inword = 1;
			wat = 0;
		}
		if (c == '@')
			wat = 1;
		i++;
	}
	if (sc.cnt < sc.max) {
		ADDR_WORD_END();
		addr_entry_emit(&sc, &e);
	}
#undef ADDR_WORD_END
	return sc.cnt;
}
