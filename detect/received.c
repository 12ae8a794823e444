/*
 * received.c - received_parse, mail_date_parse, rcvd_ip_parse.
 *
 * Design: one hand-written tokenizer turns the unfolded value into top-level
 * tokens: words (a `<...>` or `[...]` group is one word even with spaces
 * inside, so `for <multiple recipients>` and `[XMail 1.20 ESMTP Server]`
 * stay whole), comments (balanced, nested, quoted-pair aware; an unclosed
 * one runs to the end) and semicolons.  The date is what follows the LAST
 * top-level semicolon; everything before it is read as clauses keyed by the
 * words from, by, via, with, id and for (case-insensitive; earlier
 * semicolons are plain separators, since webmail writes `(...); by host`).
 * The from clause keeps its word and its comments, and one resolution step
 * decides from_name / from_rdns / from_ip from the comments' shape:
 *   `(rdns [ip])`, `(user@rdns [ip])`, `(unknown [ip])`  Postfix, sendmail
 *   `([ip]:port helo=x)`, `[ip] (helo=x)`                Exim (word = rDNS)
 *   `(HELO x) (user@ip)`, `(ip)`                        qmail (word = rDNS)
 *   `(helo) [ip]`                                       Exim 3
 *   `([ip])`                                            HELO only, except
 *                                                        Exim / "verified"
 * Address priority: a bracketed address in a from comment, then a bracketed
 * top-level word of the clause (fetchmail, MDaemon), then the from word
 * itself when it is an address, then a bare address in a comment (qmail).
 * A `(from host [ip])` comment opening the value (NAVGW) is read as a from
 * clause; `(from user@localhost)` (sendmail local submission) is not.
 * Every field points into `raw`, so the arena is not needed; it stays in the
 * contract for callers that may one day want copies.
 *
 * Decisions (differences with SpamAssassin documented in the unit test):
 * from_name is the HELO as written, a literal keeps its brackets
 * ("[10.0.0.1]", SA writes "!10.0.0.1!"), and a from word is the HELO even
 * when it is an address (SA leaves helo empty for webmail `from 1.2.3.4 by`).
 * A value with neither from nor by (bare `(qmail N invoked ...); date`) is
 * parsed = 0 with only raw set, like SpamAssassin skips it.
 * `via X` is kept in its own field; a date after `; ` may be followed by
 * `id X` (Courier, some SMTP gateways) or `(envelope-from x)` (Postfix with
 * smtpd_received_header), both are taken out before the date is read.
 *
 * Dates: a lenient RFC 5322 reader (weekday optional, asctime order, 2- and
 * 3-digit years per RFC 5322 4.3, AM/PM, missing seconds or zone, glued
 * offsets "17:40:44-0500", zone names alone).  Epoch by days-from-civil (no
 * timegm, no locale, no TZ).  Addresses: IPv4 by hand (so an octet above 255
 * is reported as bad rather than rejected), IPv6 by inet_pton on a bounded
 * NUL-terminated copy.  Rejected: regex tables in the SpamAssassin manner
 * (a hundred patterns, each a new way to misread one dialect) and sscanf
 * (reads past embedded NULs' intent, locale-dependent).
 *
 * Caps: RCVD_MAX_TOK tokens per value (the rest is ignored), RCVD_MAX_FCOM
 * from comments.
 */
#include "received.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define RCVD_MAX_TOK 256
#define RCVD_MAX_FCOM 8
#define RCVD_GROUP_MAX 512

enum { RT_WORD = 1, RT_COMMENT, RT_SEMI };

struct rtok {
	uint8_t kind;
	uint8_t glued;          /* no whitespace before it */
	uint32_t off, len;      /* comment: whole text including parens */
};

struct rtoks {
	struct rtok t[RCVD_MAX_TOK];
	unsigned n;
};

static int
rc_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

static int
rc_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
rc_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t
rc_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static struct bstr
bs_sub(const uint8_t *p, uint32_t off, uint32_t len)
{
	struct bstr s = { p + off, len };
	return s;
}

static struct bstr
bs_trim(struct bstr s)
{
	while (s.len > 0 && rc_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && rc_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* 1 if s starts with the lower-case c, ASCII case-insensitively. */
static int
bs_iprefix(struct bstr s, const char *c)
{
	size_t i, n = strlen(c);

	if (s.len < n)
		return 0;
	for (i = 0; i < n; i++)
		if (rc_lower(s.p[i]) != (uint8_t)c[i])
			return 0;
	return 1;
}

/* Offset of the lower-case c in s (case-insensitive), or -1. */
static long
bs_ifind(struct bstr s, const char *c)
{
	size_t n = strlen(c);
	uint32_t i;

	if (n == 0 || s.len < n)
		return -1;
	for (i = 0; i + n <= s.len; i++)
		if (bs_iprefix(bs_sub(s.p, i, s.len - i), c))
			return (long)i;
	return -1;
}

/* Strip trailing separators a value may carry ("host,", "id;"). */
static struct bstr
bs_rstrip_punct(struct bstr s)
{
	while (s.len > 0 && (s.p[s.len - 1] == ',' || s.p[s.len - 1] == ';'))
		s.len--;
	return s;
}

/* Remove enclosing angle brackets, repeatedly ("<<a@b>>"). */
static struct bstr
bs_unangle(struct bstr s)
{
	s = bs_trim(s);
	while (s.len >= 2 && s.p[0] == '<' && s.p[s.len - 1] == '>') {
		s.p++;
		s.len -= 2;
		s = bs_trim(s);
	}
	if (s.len >= 1 && s.p[0] == '<' && memchr(s.p, '>', s.len) == NULL) {
		s.p++;
		s.len--;
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* Tokenizer                                                           */

/* End (exclusive) of the comment opening at p[i] == '(' within [i, end). */
static uint32_t
rc_comment_end(const uint8_t *p, uint32_t i, uint32_t end)
{
	unsigned depth = 0;

	while (i < end) {
		uint8_t c = p[i];

		if (c == '\\' && i + 1 < end) {
			i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')') {
			depth--;
			if (depth == 0)
				return i + 1;
		}
		i++;
	}
	return end;
}

static void
rc_tokenize(const uint8_t *p, uint32_t start, uint32_t end,
    struct rtoks *tk)
{
	uint32_t i = start;
	int sp = 1;

	while (i < end && tk->n < RCVD_MAX_TOK) {
		uint8_t c = p[i];
		struct rtok *t;

		if (rc_space(c)) {
			sp = 1;
			i++;
			continue;
		}
		if (c == ')') {         /* stray closer: a separator */
			sp = 1;
			i++;
			continue;
		}
		t = &tk->t[tk->n++];
		t->glued = (uint8_t)!sp;
		t->off = i;
		sp = 0;
		if (c == ';') {
			t->kind = RT_SEMI;
			t->len = 1;
			i++;
			sp = 1;
			continue;
		}
		if (c == '(') {
			uint32_t e = rc_comment_end(p, i, end);

			t->kind = RT_COMMENT;
			t->len = e - i;
			i = e;
			continue;
		}
		t->kind = RT_WORD;
		while (i < end) {
			c = p[i];
			if (rc_space(c) || c == '(' || c == ')' || c == ';')
				break;
			if (c == '<' || c == '[') {
				uint8_t close = c == '<' ? '>' : ']';
				uint32_t j = i + 1, lim = end;

				if (lim - i > RCVD_GROUP_MAX)
					lim = i + RCVD_GROUP_MAX;
				while (j < lim && p[j] != close && p[j] != '(' &&
				    p[j] != ')' && p[j] != ';' && p[j] != '\r' &&
				    p[j] != '\n')
					j++;
				if (j < lim && p[j] == close) {
					i = j + 1;
					continue;
				}
			}
			i++;
		}
		t->len = i - t->off;
	}
}

static struct bstr
tok_bs(const uint8_t *p, const struct rtok *t)
{
	return bs_sub(p, t->off, t->len);
}

/* Inside of a comment token, without the parentheses. */
static struct bstr
tok_inner(const uint8_t *p, const struct rtok *t)
{
	uint32_t len = t->len - 1;

	if (len > 0 && p[t->off + t->len - 1] == ')')
		len--;
	return bs_sub(p, t->off + 1, len);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

static int
rc_parse_v4(const uint8_t *s, uint32_t n, int allow_port_part,
    struct rcvd_ip *ip)
{
	uint32_t i = 0, part = 0;
	uint64_t v[5];
	int bad = 0;

	while (part < 5) {
		uint32_t digits = 0;

		v[part] = 0;
		while (i < n && rc_digit(s[i])) {
			if (digits < 12)
				v[part] = v[part] * 10 + (uint64_t)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 10)
			return -1;
		part++;
		if (i == n)
			break;
		if (s[i] == '.' && part < 4) {
			i++;
			continue;
		}
		if (part == 4 && (s[i] == ':' || (s[i] == '.' &&
		    allow_port_part))) {
			/* a port: "1.2.3.4:25", or "[1.2.3.4.25]" */
			uint32_t j = i + 1;

			if (j == n)
				return -1;
			while (j < n && rc_digit(s[j]))
				j++;
			if (j != n || n - i - 1 > 5)
				return -1;
			i = n;
			break;
		}
		return -1;
	}
	if (part < 4 || i != n)
		return -1;
	for (part = 0; part < 4; part++) {
		if (v[part] > 255)
			bad = 1;
		ip->addr[part] = (uint8_t)(v[part] & 0xff);
	}
	ip->ver = 4;
	ip->bad = (uint8_t)bad;
	if (bad) {
		uint32_t k = 0, m = n < sizeof(ip->canon) - 1 ?
		    n : (uint32_t)sizeof(ip->canon) - 1;

		for (k = 0; k < m && (rc_digit(s[k]) || s[k] == '.'); k++)
			ip->canon[k] = (char)s[k];
		ip->canon[k] = '\0';
	} else {
		inet_ntop(AF_INET, ip->addr, ip->canon, sizeof(ip->canon));
	}
	return 0;
}

int
rcvd_ip_parse(struct bstr s, struct rcvd_ip *ip)
{
	const uint8_t *p;
	uint32_t n, i;
	int bracketed = 0;
	char buf[64];
	struct in6_addr a6;
	static const uint8_t v4m[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(ip, 0, sizeof(*ip));
	s = bs_trim(s);
	if (s.p == NULL || s.len == 0)
		return -1;
	p = s.p;
	n = s.len;
	if (p[0] == '[') {
		const uint8_t *cl = memchr(p, ']', n);

		if (cl == NULL)
			return -1;
		/* "[addr]" or "[addr]:port" */
		i = (uint32_t)(cl - p) + 1;
		if (i < n) {
			uint32_t j;

			if (p[i] != ':' || i + 1 == n)
				return -1;
			for (j = i + 1; j < n; j++)
				if (!rc_digit(p[j]))
					return -1;
		}
		n = (uint32_t)(cl - p) - 1;
		p++;
		bracketed = 1;
	}
	if (n >= 2 && p[0] == '?' && p[n - 1] == '?') {
		p++;
		n -= 2;
	}
	while (n > 0 && rc_space(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && rc_space(p[n - 1]))
		n--;
	if (n >= 5 && bs_iprefix(bstr_make(p, n), "ipv6:")) {
		p += 5;
		n -= 5;
	}
	if (n == 0)
		return -1;
	if (rc_digit(p[0]) && rc_parse_v4(p, n, bracketed, ip) == 0) {
		ip->text = s;
		return 0;
	}
	/* IPv6: hex digits, colons, dots (embedded v4), a %zone. */
	if (memchr(p, ':', n) == NULL)
		return -1;
	for (i = 0; i < n && p[i] != '%'; i++) {
		uint8_t c = p[i];

		if (!(rc_digit(c) || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return -1;
	}
	if (i >= sizeof(buf))
		return -1;
	memcpy(buf, p, i);
	buf[i] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return -1;
	ip->text = s;
	if (memcmp(a6.s6_addr, v4m, 12) == 0) {
		ip->ver = 4;
		memcpy(ip->addr, a6.s6_addr + 12, 4);
		inet_ntop(AF_INET, ip->addr, ip->canon, sizeof(ip->canon));
		return 0;
	}
	ip->ver = 6;
	memcpy(ip->addr, a6.s6_addr, 16);
	inet_ntop(AF_INET6, ip->addr, ip->canon, sizeof(ip->canon));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dates                                                               */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static const char *const rc_months[12] = { "jan", "feb", "mar", "apr",
	"may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const rc_wdays[7] = { "mon", "tue", "wed", "thu", "fri",
	"sat", "sun" };

struct rc_zone {
	const char *name;
	int16_t off;
};

static const struct rc_zone rc_zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
};

/* Month 1-12 from an alpha word (3-letter prefix, full names ok), or 0. */
static int
rc_month(const uint8_t *w, uint32_t n)
{
	int k;

	if (n < 3)
		return 0;
	for (k = 0; k < 12; k++)
		if (rc_lower(w[0]) == (uint8_t)rc_months[k][0] &&
		    rc_lower(w[1]) == (uint8_t)rc_months[k][1] &&
		    rc_lower(w[2]) == (uint8_t)rc_months[k][2])
			return k + 1;
	return 0;
}

static int
rc_wday(const uint8_t *w, uint32_t n)
{
	int k;

	if (n < 3)
		return 0;
	for (k = 0; k < 7; k++)
		if (rc_lower(w[0]) == (uint8_t)rc_wdays[k][0] &&
		    rc_lower(w[1]) == (uint8_t)rc_wdays[k][1] &&
		    rc_lower(w[2]) == (uint8_t)rc_wdays[k][2])
			return 1;
	return 0;
}

struct dscan {
	const uint8_t *p;
	uint32_t n, i;
};

/* Skip whitespace, commas and (when com) comments. */
static void
ds_skip(struct dscan *s, int com)
{
	while (s->i < s->n) {
		uint8_t c = s->p[s->i];

		if (rc_space(c) || c == ',')
			s->i++;
		else if (com && c == '(')
			s->i = rc_comment_end(s->p, s->i, s->n);
		else
			break;
	}
}

/* A run of digits at most max long: value, count in *nd; -1 if none. */
static long
ds_num(struct dscan *s, unsigned max, unsigned *nd)
{
	long v = 0;
	unsigned k = 0;

	while (s->i < s->n && rc_digit(s->p[s->i])) {
		if (k >= max)
			return -1;
		v = v * 10 + (s->p[s->i] - '0');
		k++;
		s->i++;
	}
	*nd = k;
	return k ? v : -1;
}

static uint32_t
ds_alpha(struct dscan *s)
{
	uint32_t st = s->i;

	while (s->i < s->n && rc_alpha(s->p[s->i]))
		s->i++;
	return s->i - st;
}

static long
rc_year(long y, unsigned nd)
{
	if (nd <= 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (nd == 3)
		return 1900 + y;
	return y;
}

/* Parse "HH:MM[:SS]" at s; 0 or -1. */
static int
ds_time(struct dscan *s, int *h, int *mi, int *sec)
{
	unsigned nd;
	long v;

	v = ds_num(s, 2, &nd);
	if (v < 0 || s->i >= s->n || s->p[s->i] != ':')
		return -1;
	*h = (int)v;
	s->i++;
	v = ds_num(s, 2, &nd);
	if (v < 0)
		return -1;
	*mi = (int)v;
	*sec = 0;
	if (s->i + 1 < s->n && s->p[s->i] == ':' && rc_digit(s->p[s->i + 1])) {
		s->i++;
		v = ds_num(s, 2, &nd);
		if (v < 0)
			return -1;
		*sec = (int)v;
		/* fractional seconds, "05:33:27.926" */
		if (s->i + 1 < s->n && s->p[s->i] == '.' &&
		    rc_digit(s->p[s->i + 1])) {
			s->i++;
			while (s->i < s->n && rc_digit(s->p[s->i]))
				s->i++;
		}
	}
	return 0;
}

int
mail_date_parse(struct bstr str, struct mail_date *d)
{
	struct dscan s;
	long day = -1, year = -1, v;
	int mon = 0, h = -1, mi = 0, sec = 0, asct = 0;
	unsigned nd;
	uint32_t n, st, tz_start = 0, k;
	int have_tz = 0;
	int64_t days, ep, y2;
	unsigned m2, d2;
	long rem;

	memset(d, 0, sizeof(*d));
	d->raw = str;
	if (str.p == NULL)
		return -1;
	s.p = str.p;
	s.n = str.len;
	s.i = 0;
	ds_skip(&s, 1);
	/* weekday */
	st = s.i;
	n = ds_alpha(&s);
	if (n > 0 && rc_wday(s.p + st, n) && rc_month(s.p + st, n) == 0) {
		if (s.i < s.n && s.p[s.i] == '.')
			s.i++;
		ds_skip(&s, 1);
	} else {
		s.i = st;
	}
	st = s.i;
	n = ds_alpha(&s);
	if (n > 0) {
		/* asctime order: "Nov 13 14:50:12 2005" */
		mon = rc_month(s.p + st, n);
		if (mon == 0)
			return -1;
		asct = 1;
		ds_skip(&s, 0);
		day = ds_num(&s, 2, &nd);
		if (day < 0)
			return -1;
		/* "Jul, 25 2002 1:23:06 AM": the year before the time */
		st = s.i;
		ds_skip(&s, 0);
		year = ds_num(&s, 4, &nd);
		if (year >= 0 && nd == 4 && s.i < s.n && s.p[s.i] != ':') {
			year = rc_year(year, nd);
			asct = 0;
		} else {
			year = -1;
			s.i = st;
		}
	} else {
		day = ds_num(&s, 2, &nd);
		if (day < 0)
			return -1;
		if (s.i < s.n && (s.p[s.i] == '-' || s.p[s.i] == '/'))
			s.i++;
		ds_skip(&s, 0);
		st = s.i;
		n = ds_alpha(&s);
		mon = n ? rc_month(s.p + st, n) : 0;
		if (mon == 0)
			return -1;
		if (s.i < s.n && (s.p[s.i] == '-' || s.p[s.i] == '/' ||
		    s.p[s.i] == '.'))
			s.i++;
		ds_skip(&s, 0);
		year = ds_num(&s, 4, &nd);
		if (year < 0)
			return -1;
		year = rc_year(year, nd);
	}
	ds_skip(&s, 0);
	if (ds_time(&s, &h, &mi, &sec) < 0)
		return -1;
	/* AM/PM */
	st = s.i;
	ds_skip(&s, 0);
	{
		uint32_t a = s.i;

		n = ds_alpha(&s);
		if (n == 2 && (rc_lower(s.p[a + 1]) == 'm') &&
		    (rc_lower(s.p[a]) == 'a' || rc_lower(s.p[a]) == 'p')) {
			if (h < 1 || h > 12)
				return -1;
			if (rc_lower(s.p[a]) == 'a')
				h = h == 12 ? 0 : h;
			else
				h = h == 12 ? 12 : h + 12;
		} else {
			s.i = st;
		}
	}
	if (asct) {
		ds_skip(&s, 0);
		st = s.i;
		/* the year may come before or after a zone name */
		year = ds_num(&s, 4, &nd);
		if (year < 0) {
			s.i = st;
			n = ds_alpha(&s);
			if (n == 0)
				return -1;
			tz_start = st;
			have_tz = 1;
			ds_skip(&s, 0);
			year = ds_num(&s, 4, &nd);
			if (year < 0)
				return -1;
		}
		year = rc_year(year, nd);
	}
	if (day < 1 || day > 31 || h < 0 || h > 23 || mi > 59 || sec > 60 ||
	    year < 1900 || year > 9999)
		return -1;
	/* zone */
	if (!have_tz) {
		ds_skip(&s, 0);
		tz_start = s.i;
	}
	if (s.i < s.n && (s.p[s.i] == '+' || s.p[s.i] == '-') &&
	    s.i + 1 < s.n && rc_digit(s.p[s.i + 1])) {
		int neg = s.p[s.i] == '-';

		s.i++;
		v = ds_num(&s, 4, &nd);
		if (v >= 0 && nd == 4) {
			d->has_offset = 1;
			d->offset_min = (int16_t)((neg ? -1 : 1) *
			    ((v / 100) * 60 + v % 100));
			have_tz = 1;
		}
	} else if (!have_tz && s.i < s.n && rc_alpha(s.p[s.i])) {
		st = s.i;
		n = ds_alpha(&s);
		if (n <= 7) {
			have_tz = 1;
			d->has_zone_name = 1;
			for (k = 0; k < n; k++)
				d->zone_name[k] = (char)(s.p[st + k] & 0xdf);
			d->zone_name[n] = '\0';
		}
	} else if (have_tz) {
		st = tz_start;
		n = 0;
		while (st + n < s.n && rc_alpha(s.p[st + n]))
			n++;
		if (n <= 7) {
			d->has_zone_name = 1;
			for (k = 0; k < n; k++)
				d->zone_name[k] = (char)(s.p[st + k] & 0xdf);
			d->zone_name[n] = '\0';
		}
	}
	/* "(EST)" after the zone */
	if (have_tz) {
		uint32_t e;

		while (s.i < s.n && rc_space(s.p[s.i]))
			s.i++;
		if (s.i < s.n && s.p[s.i] == '(' && !d->has_zone_name) {
			struct bstr in;

			e = rc_comment_end(s.p, s.i, s.n);
			in = bs_trim(bs_sub(s.p, s.i + 1,
			    e - s.i - 1 - (e > s.i + 1 && s.p[e - 1] == ')')));
			for (k = 0; k < in.len && rc_alpha(in.p[k]); k++)
				;
			if (k == in.len && in.len > 0 && in.len <= 7) {
				d->has_zone_name = 1;
				for (k = 0; k < in.len; k++)
					d->zone_name[k] = (char)(in.p[k] & 0xdf);
				d->zone_name[in.len] = '\0';
			}
		}
		d->tz = bs_trim(bs_sub(s.p, tz_start, s.n - tz_start));
	}
	if (!d->has_offset && d->has_zone_name) {
		for (k = 0; k < sizeof(rc_zones) / sizeof(rc_zones[0]); k++)
			if (strcmp(rc_zones[k].name, d->zone_name) == 0)
				d->offset_min = rc_zones[k].off;
	}
	days = days_from_civil(year, (unsigned)mon, (unsigned)day);
	ep = days * 86400 + h * 3600 + mi * 60 + sec -
	    (int64_t)d->offset_min * 60;
	d->epoch = ep;
	rem = (long)(ep % 86400);
	days = ep / 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y2, &m2, &d2);
	snprintf(d->iso, sizeof(d->iso), "%04lld-%02u-%02uT%02ld:%02ld:%02ldZ",
	    (long long)y2, m2, d2, rem / 3600, (rem / 60) % 60, rem % 60);
	d->valid = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Received                                                            */

enum { CL_NONE, CL_FROM, CL_BY, CL_VIA, CL_WITH, CL_ID, CL_FOR, CL_SKIP,
	CL_ENVFROM };

struct fstate {
	struct bstr word;       /* the from word */
	int word_set;
	int glued_comment;      /* "host(1.2.3.4)" */
	unsigned ncom;
	struct bstr com[RCVD_MAX_FCOM];
	struct rcvd_ip extra_ip;        /* top-level [ip] word in the clause */
	struct bstr claiming;           /* claiming to be "x" */
	int claiming_set;
};

static int
rc_keyword(struct bstr w)
{
	if (bstr_ieq(w, "from"))
		return CL_FROM;
	if (bstr_ieq(w, "by"))
		return CL_BY;
	if (bstr_ieq(w, "via"))
		return CL_VIA;
	if (bstr_ieq(w, "with"))
		return CL_WITH;
	if (bstr_ieq(w, "id"))
		return CL_ID;
	if (bstr_ieq(w, "for"))
		return CL_FOR;
	return CL_NONE;
}

/* "envelope-from <x>" / "envelope-sender x" inside text: the address. */
static void
rc_envfrom_in(struct bstr s, struct received *r)
{
	long o = bs_ifind(s, "envelope-from");
	uint32_t i, st;

	if (o < 0) {
		o = bs_ifind(s, "envelope-sender");
		if (o < 0)
			return;
		i = (uint32_t)o + 15;
	} else {
		i = (uint32_t)o + 13;
	}
	while (i < s.len && (rc_space(s.p[i]) || s.p[i] == '='))
		i++;
	st = i;
	if (i < s.len && s.p[i] == '<') {
		while (i < s.len && s.p[i] != '>')
			i++;
		if (i < s.len)
			i++;
	} else {
		while (i < s.len && !rc_space(s.p[i]) && s.p[i] != ',' &&
		    s.p[i] != ')' && s.p[i] != ';')
			i++;
	}
	if (r->envelope_from.len == 0 && i > st)
		r->envelope_from = bs_unangle(bs_sub(s.p, st, i - st));
}

/* Flags any comment text may raise. */
static void
rc_comment_flags(struct bstr in, struct received *r, int *exim)
{
	struct bstr t = bs_trim(in);

	if (bs_ifind(in, "may be forged") >= 0 ||
	    bs_ifind(in, "rdns failed") >= 0)
		r->rdns_failed = 1;
	if (bs_ifind(in, "authenticated") >= 0 ||
	    bs_iprefix(t, "auth:") || bs_iprefix(t, "account "))
		r->authenticated = 1;
	if (bs_iprefix(t, "envelope-from") || bs_iprefix(t, "envelope-sender"))
		rc_envfrom_in(t, r);
	if (bs_iprefix(t, "exim ")) {
		*exim = 1;
		if (r->mta_version.len == 0)
			r->mta_version = t;
	}
}

/* Next whitespace-separated item of a comment's inside (nested comments
 * are one item).  Returns 0 at the end. */
static int
rc_item(struct bstr in, uint32_t *i, struct bstr *out)
{
	uint32_t st;

	while (*i < in.len && rc_space(in.p[*i]))
		(*i)++;
	if (*i >= in.len)
		return 0;
	st = *i;
	if (in.p[st] == '(') {
		*i = rc_comment_end(in.p, st, in.len);
	} else {
		while (*i < in.len && !rc_space(in.p[*i]) && in.p[*i] != '(')
			(*i)++;
	}
	*out = bs_sub(in.p, st, *i - st);
	return 1;
}

static int
rc_is_unknown(struct bstr s)
{
	return bstr_ieq(s, "unknown") || bstr_ieq(s, "softdnserr");
}

struct fres {
	struct rcvd_ip br_ip;   /* first bracketed address in a comment */
	struct rcvd_ip bare_ip; /* first bare address in a comment */
	struct bstr rdns_name;  /* name before [ip] in a comment */
	int rdns_name_set;
	struct bstr helo;       /* HELO x / helo=x */
	int helo_set;
	struct bstr lone_name;  /* a comment holding just one name */
	int lone_set;
	int bare_port;          /* the bare address carried a :port */
	int bare_spaced;        /* "( 1.2.3.4)": not qmail's "(1.2.3.4)" */
	int verified;
	int unverified;
};

static void
rc_from_comment(struct bstr in, struct received *r, struct fres *f)
{
	uint32_t i = 0, nitems = 0;
	struct bstr it, prev = BSTR_NULL;
	int prev_plain = 0;
	struct rcvd_ip ip;

	while (rc_item(in, &i, &it)) {
		struct bstr w = bs_rstrip_punct(it);
		int plain = 0;

		nitems++;
		if (w.len == 0)
			continue;
		if (w.p[0] == '(') {
			/* nested: "(may be forged)" is flagged by the caller */
		} else if (bs_iprefix(w, "helo=")) {
			r->helo_param = bs_sub(w.p, 5, w.len - 5);
			f->helo = r->helo_param;
			f->helo_set = 1;
		} else if (bs_iprefix(w, "ident=")) {
			r->ident = bs_sub(w.p, 6, w.len - 6);
		} else if (bstr_ieq(w, "helo") || bstr_ieq(w, "ehlo") ||
		    bstr_ieq(w, "lhlo")) {
			uint32_t save = i;
			struct bstr a;

			f->helo_set = 1;
			f->helo = BSTR_NULL;
			if (rc_item(in, &i, &a) && a.p[0] != '(')
				f->helo = a;
			else
				i = save;
		} else if (w.p[0] == '[') {
			/* "(rdns [addr])": the shape names the rDNS even when
			 * the address does not parse */
			if (rcvd_ip_parse(w, &ip) == 0 && f->br_ip.ver == 0)
				f->br_ip = ip;
			if (prev_plain && nitems == 2 && !f->rdns_name_set &&
			    w.len > 2) {
				f->rdns_name = prev;
				f->rdns_name_set = 1;
			}
		} else if (bstr_ieq(w, "verified")) {
			f->verified = 1;
		} else if (bstr_ieq(w, "unverified")) {
			f->unverified = 1;
		} else {
			const uint8_t *at = NULL;
			uint32_t k;
			struct bstr a = w;

			for (k = 0; k < w.len; k++)
				if (w.p[k] == '@')
					at = w.p + k;
			if (at != NULL)
				a = bs_sub(w.p, (uint32_t)(at - w.p) + 1,
				    w.len - (uint32_t)(at - w.p) - 1);
			if (rcvd_ip_parse(a, &ip) == 0) {
				if (f->bare_ip.ver == 0) {
					f->bare_ip = ip;
					f->bare_port = memchr(a.p, ':',
					    a.len) != NULL && ip.ver == 4;
					f->bare_spaced = nitems == 1 &&
					    in.len > 0 && rc_space(in.p[0]);
					if (at != NULL)
						r->ident = bs_sub(w.p, 0,
						    (uint32_t)(at - w.p));
				}
			} else {
				plain = 1;
			}
		}
		prev = w;
		prev_plain = plain;
	}
	if (nitems == 1 && prev_plain && !f->lone_set) {
		f->lone_name = prev;
		f->lone_set = 1;
	}
}

static void
rc_resolve_from(struct fstate *fs, struct received *r, int exim, int ms)
{
	struct fres f;
	struct rcvd_ip wip;
	unsigned k;
	int word_is_ip, word_bracket;

	memset(&f, 0, sizeof(f));
	for (k = 0; k < fs->ncom; k++)
		rc_from_comment(fs->com[k], r, &f);
	word_is_ip = fs->word.len > 0 && rcvd_ip_parse(fs->word, &wip) == 0;
	word_bracket = fs->word.len > 0 && fs->word.p[0] == '[';
	if (f.br_ip.ver)
		r->from_ip = f.br_ip;
	else if (fs->extra_ip.ver)
		r->from_ip = fs->extra_ip;
	else if (word_is_ip)
		r->from_ip = wip;
	else if (f.bare_ip.ver)
		r->from_ip = f.bare_ip;

	r->from_name = fs->word;
	if (fs->claiming_set) {
		r->from_name = fs->claiming;
		r->from_rdns = fs->word;
	} else if (f.helo_set) {
		/* Exim writes an address in brackets when there is no name;
		 * qmail writes whatever TCPREMOTEHOST held, even an address */
		r->from_name = f.helo;
		if (!word_bracket && !(r->helo_param.len > 0 && word_is_ip))
			r->from_rdns = fs->word;
	} else if (f.rdns_name_set) {
		struct bstr n = f.rdns_name;
		const uint8_t *at = memchr(n.p, '@', n.len);

		if (at != NULL) {
			r->ident = bs_sub(n.p, 0, (uint32_t)(at - n.p));
			n = bs_sub(n.p, (uint32_t)(at - n.p) + 1,
			    n.len - (uint32_t)(at - n.p) - 1);
		}
		r->from_rdns = n;
	} else if (f.lone_set && fs->extra_ip.ver) {
		/* Exim 3: "from rdns (helo) [ip]" */
		r->from_name = f.lone_name;
		r->from_rdns = fs->word;
	} else if (f.bare_ip.ver && !f.br_ip.ver && fs->glued_comment) {
		/* smtpd: "from rdns(1.2.3.4)" */
		r->from_name = BSTR_NULL;
		r->from_rdns = fs->word;
	} else if (f.bare_ip.ver && !f.br_ip.ver && !ms && !f.bare_port &&
	    !f.bare_spaced && !word_bracket) {
		/* qmail, Critical Path: "from rdns (ip)", HELO == rdns */
		r->from_rdns = fs->word;
	} else if (f.br_ip.ver && !word_is_ip && (exim || f.verified)) {
		r->from_rdns = fs->word;
	}
	if (rc_is_unknown(r->from_rdns)) {
		r->from_rdns = BSTR_NULL;
		r->rdns_failed = 1;
	}
	if (f.unverified)
		r->rdns_failed = 1;
	if (r->from_ip.ver != 0 && r->from_rdns.len == 0)
		r->rdns_failed = 1;
}

static int
rc_auth_proto(struct bstr w)
{
	size_t i;
	static const char *const a[] = { "esmtpa", "esmtpsa", "lmtpa",
	    "lmtpsa", "utf8smtpa", "utf8smtpsa", "utf8lmtpa", "utf8lmtpsa",
	    "asmtp" };

	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		if (bstr_ieq(w, a[i]))
			return 1;
	return 0;
}

/* Is the comment t (inner text) a sendmail "(from user@host)" line with
 * an address in it?  Then it stands for a from clause. */
static int
rc_leading_from(struct bstr in)
{
	uint32_t i;

	in = bs_trim(in);
	if (!bs_iprefix(in, "from") || in.len < 5 || !rc_space(in.p[4]))
		return 0;
	for (i = 0; i < in.len; i++)
		if (in.p[i] == '[')
			return 1;
	return 0;
}

int
received_parse(struct arena *a, struct bstr raw, struct received *r)
{
	static __thread struct rtoks tk;
	struct fstate fs;
	const uint8_t *p = raw.p;
	uint32_t n = raw.len, i, last_semi = UINT32_MAX, clause_end;
	unsigned ti, first = 0;
	int cl = CL_NONE, have_val = 0, exim = 0, ms = 0, has_by = 0;
	int by_com = 0, with_open = 0;
	struct rcvd_ip ip;

	(void)a;
	memset(r, 0, sizeof(*r));
	r->raw = raw;
	memset(&fs, 0, sizeof(fs));
	if (p == NULL || n == 0)
		return 0;

	tk.n = 0;
	rc_tokenize(p, 0, n, &tk);
	for (ti = 0; ti < tk.n; ti++)
		if (tk.t[ti].kind == RT_SEMI)
			last_semi = ti;
	clause_end = last_semi == UINT32_MAX ? tk.n : last_semi;

	/* "(from host [ip]) by ..." */
	if (tk.n > 0 && tk.t[0].kind == RT_COMMENT &&
	    rc_leading_from(tok_inner(p, &tk.t[0]))) {
		struct bstr in = bs_trim(tok_inner(p, &tk.t[0]));
		struct rtoks sub;
		unsigned k;

		sub.n = 0;
		rc_tokenize(in.p, 4, in.len, &sub);
		r->has_from = 1;
		cl = CL_FROM;
		for (k = 0; k < sub.n; k++) {
			struct bstr w = tok_bs(in.p, &sub.t[k]);

			if (sub.t[k].kind == RT_WORD && !fs.word_set) {
				fs.word = w;
				fs.word_set = 1;
			} else if (sub.t[k].kind == RT_WORD &&
			    rcvd_ip_parse(w, &ip) == 0 && fs.extra_ip.ver == 0) {
				fs.extra_ip = ip;
			} else if (sub.t[k].kind == RT_COMMENT &&
			    fs.ncom < RCVD_MAX_FCOM) {
				fs.com[fs.ncom++] = tok_inner(in.p, &sub.t[k]);
			}
		}
		have_val = 1;
		first = 1;
	}

	for (ti = first; ti < clause_end; ti++) {
		struct rtok *t = &tk.t[ti];
		struct bstr w = tok_bs(p, t);
		int kw;

		if (t->kind == RT_SEMI) {
			with_open = 0;
			continue;
		}
		if (t->kind == RT_COMMENT) {
			struct bstr in = tok_inner(p, t);

			with_open = 0;
			rc_comment_flags(in, r, &exim);
			if (cl == CL_FROM) {
				if (!have_val && ti > 0 && t->glued == 0)
					have_val = 1;   /* "from (ip)" */
				if (fs.ncom == 0 && t->glued && fs.word_set)
					fs.glued_comment = 1;
				if (fs.ncom < RCVD_MAX_FCOM)
					fs.com[fs.ncom++] = in;
			} else if (cl == CL_BY && !by_com && have_val) {
				struct bstr v = bs_trim(in);

				by_com = 1;
				if (bs_iprefix(v, "qp ") ||
				    bs_iprefix(v, "envelope-"))
					continue;
				r->mta_version = v;
			}
			continue;
		}
		kw = rc_keyword(w);
		if (bs_iprefix(w, "envelope-from") ||
		    bs_iprefix(w, "envelope-sender")) {
			cl = CL_ENVFROM;
			have_val = 0;
			with_open = 0;
			continue;
		}
		if (kw != CL_NONE) {
			with_open = 0;
			if (kw == CL_FROM && r->has_from) {
				cl = has_by ? CL_ENVFROM : CL_SKIP;
			} else if (kw == CL_FROM) {
				r->has_from = 1;
				cl = CL_FROM;
			} else if (kw == CL_BY && has_by) {
				cl = CL_SKIP;
			} else {
				cl = kw;
				if (kw == CL_BY)
					has_by = 1;
			}
			have_val = 0;
			continue;
		}
		if (!have_val) {
			struct bstr v = bs_rstrip_punct(w);

			have_val = 1;
			switch (cl) {
			case CL_FROM:
				fs.word = w;
				fs.word_set = 1;
				break;
			case CL_BY:
				r->by = v;
				break;
			case CL_VIA:
				if (r->via.len == 0)
					r->via = v;
				break;
			case CL_WITH:
				if (r->with.len == 0) {
					r->with = v;
					with_open = 1;
				}
				if (rc_auth_proto(v))
					r->authenticated = 1;
				break;
			case CL_ID:
				if (r->id.len == 0)
					r->id = bs_unangle(v);
				break;
			case CL_FOR:
				if (r->for_addr.len == 0)
					r->for_addr = bs_unangle(v);
				break;
			case CL_ENVFROM:
				if (r->envelope_from.len == 0)
					r->envelope_from = bs_unangle(v);
				break;
			default:
				break;
			}
			continue;
		}
		/* an extra word in the clause */
		if (cl == CL_WITH && with_open && t->glued == 0) {
			/* "Microsoft SMTP Server": extend the span */
			const uint8_t *e = w.p + w.len;

			w = bs_rstrip_punct(w);
			e = w.p + w.len;
			r->with.len = (uint32_t)(e - r->with.p);
		} else if (cl == CL_FROM) {
			if (w.p[0] == '[' && fs.extra_ip.ver == 0 &&
			    rcvd_ip_parse(w, &ip) == 0)
				fs.extra_ip = ip;
			else if (bstr_ieq(w, "claiming") &&
			    ti + 3 < clause_end &&
			    tk.t[ti + 2].kind == RT_WORD &&
			    tk.t[ti + 3].kind == RT_WORD &&
			    bstr_ieq(tok_bs(p, &tk.t[ti + 2]), "be")) {
				struct bstr q = tok_bs(p, &tk.t[ti + 3]);

				q = bs_rstrip_punct(q);
				if (q.len >= 2 && q.p[0] == '"' &&
				    q.p[q.len - 1] == '"') {
					q.p++;
					q.len -= 2;
				}
				fs.claiming = q;
				fs.claiming_set = 1;
				ti += 3;
			}
		}
	}
	if (r->with.len > 0) {
		if (bs_ifind(r->with, "smtpsvc") >= 0 ||
		    bs_iprefix(r->with, "microsoft"))
			ms = 1;
		if (bs_ifind(r->with, "lmtpa") >= 0)
			r->authenticated = 1;
	}
	if (!r->has_from && !has_by) {
		memset(r, 0, sizeof(*r));
		r->raw = raw;
		return 0;
	}
	if (r->has_from)
		rc_resolve_from(&fs, r, exim, ms);

	/* the date, after the last top-level semicolon */
	if (last_semi != UINT32_MAX) {
		uint32_t ds = tk.t[last_semi].off + 1, de = n;
		struct rtoks dt;
		unsigned k;

		dt.n = 0;
		rc_tokenize(p, ds, n, &dt);
		for (k = 0; k < dt.n; k++) {
			struct rtok *t = &dt.t[k];

			if (t->kind == RT_COMMENT) {
				struct bstr in = bs_trim(tok_inner(p, t));

				if (bs_iprefix(in, "envelope-from") ||
				    bs_iprefix(in, "envelope-sender")) {
					rc_envfrom_in(in, r);
					if (t->off < de)
						de = t->off;
				}
			} else if (t->kind == RT_WORD && k > 0 &&
			    bstr_ieq(tok_bs(p, t), "id")) {
				if (k + 1 < dt.n && dt.t[k + 1].kind == RT_WORD &&
				    r->id.len == 0)
					r->id = bs_unangle(bs_rstrip_punct(
					    tok_bs(p, &dt.t[k + 1])));
				if (t->off < de)
					de = t->off;
			}
		}
		i = ds;
		mail_date_parse(bs_trim(bs_sub(p, i, de - i)), &r->date);
	}
	r->parsed = 1;
	return 0;
}
