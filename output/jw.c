/*
 * jw.c - compact JSON appended straight into a buffer.
 *
 * Design: no tree and no allocation of its own: each piece of text is
 * appended at buf[len] after one room check, so an event costs its bytes
 * and not a malloc per field (the jansson build + json_dumpb it replaces
 * cost ~270k instructions per SMTP transaction).  Room comes from the owner's grow
 * hook (the evbuf flushes or reallocs); a refused grow makes the writer
 * fail for good and the owner discards everything since the document
 * began, so a half document is never kept.
 *
 * Strings are copied in runs: bytes that need no escape (printable ASCII
 * but `"` and `\`, found with a 256-entry table, and whole valid UTF-8
 * sequences, validated by jstr_seq_len so the rule is the one of jstr) are
 * found first and copied with one memcpy; a control byte is escaped as jansson's dump_string
 * does and an invalid byte becomes `\\xNN`, so json_loads of our text gives
 * the string jstr_from_bytes builds.  Integers are formatted by hand (no
 * snprintf on the per-event path); reals are rare and go through snprintf
 * with jansson's fix-ups so they round-trip and read back as reals.
 */
#include "jw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jstr.h"

#define JW_HEAP_MIN 256

void
jw_init(struct jw *w, char *buf, size_t len, size_t cap, jw_grow_fn grow,
    void *owner)
{
	w->buf = buf;
	w->len = len;
	w->cap = cap;
	w->grow = grow;
	w->owner = owner;
	w->depth = 0;
	w->failed = 0;
	w->comma = 0;
}

int
jw_grow_heap(struct jw *w, size_t need)
{
	size_t ncap = w->cap > JW_HEAP_MIN ? w->cap : JW_HEAP_MIN;
	char *nb;

	if (w->len > SIZE_MAX / 4 || need > SIZE_MAX / 4 - w->len)
		return -1;
	while (ncap - w->len < need)
		ncap *= 2;
	nb = realloc(w->buf, ncap);
	if (nb == NULL)
		return -1;
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

/* 1 if n more bytes fit (growing if needed), else 0 and failed. */
static int
jw_room(struct jw *w, size_t n)
{
	if (w->failed)
		return 0;
	if (w->cap - w->len >= n)
		return 1;
	if (w->grow == NULL || w->grow(w, n) != 0 || w->cap < w->len ||
	    w->cap - w->len < n) {
		w->failed = 1;
		return 0;
	}
	return 1;
}

static void
jw_put(struct jw *w, const void *p, size_t n)
{
	if (!jw_room(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
jw_putc(struct jw *w, char c)
{
	if (!jw_room(w, 1))
		return;
	w->buf[w->len++] = c;
}

/* The ',' before a value or key that follows another. */
static void
jw_sep(struct jw *w)
{
	if (w->comma)
		jw_putc(w, ',');
}

void
jw_raw(struct jw *w, const char *p, size_t n)
{
	jw_put(w, p, n);
}

static void
jw_open(struct jw *w, char c)
{
	jw_sep(w);
	jw_putc(w, c);
	w->depth++;
	w->comma = 0;
}

static void
jw_close(struct jw *w, char c)
{
	if (w->depth == 0) {
		w->failed = 1;
		return;
	}
	jw_putc(w, c);
	w->depth--;
	w->comma = 1;
}

void
jw_obj(struct jw *w)
{
	jw_open(w, '{');
}

void
jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}

void
jw_arr(struct jw *w)
{
	jw_open(w, '[');
}

void
jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

void
jw_key(struct jw *w, const char *key)
{
	size_t n = strlen(key);

	jw_sep(w);
	if (!jw_room(w, n + 3))
		return;
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, key, n);
	w->len += n;
	w->buf[w->len++] = '"';
	w->buf[w->len++] = ':';
	w->comma = 0;
}

/* Printable ASCII that JSON takes as is: all of 0x20-0x7f but '"', '\\'. */
static const uint8_t jw_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

/* Length of the run at p[0] that is copied unchanged. */
static size_t
jw_run(const uint8_t *p, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		if (jw_plain[p[i]]) {
			i++;
			continue;
		}
		if (p[i] < 0x80 || (l = jstr_seq_len(p + i, n - i)) == 0)
			break;
		i += l;
	}
	return i;
}

/* The letter of a two-character escape (\n ...), or 0. */
static char
jw_short_escape(uint8_t c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	}
	return 0;
}

/* One byte that is not copied: an ASCII escape or an invalid byte. */
static void
jw_escape(struct jw *w, uint8_t c)
{
	static const char hex[] = "0123456789abcdef", HEX[] = "0123456789ABCDEF";
	char e[6] = { '\\', 0, 0, 0, 0, 0 };

	if ((e[1] = jw_short_escape(c)) != 0) {
		jw_put(w, e, 2);
	} else if (c < 0x20) {
		memcpy(e + 1, "u00", 3);
		e[4] = HEX[c >> 4];
		e[5] = HEX[c & 15];
		jw_put(w, e, 6);
	} else {
		/* the text \xNN, its backslash escaped */
		memcpy(e + 1, "\\x", 2);
		e[3] = hex[c >> 4];
		e[4] = hex[c & 15];
		jw_put(w, e, 5);
	}
}

void
jw_str(struct jw *w, const void *v, size_t n)
{
	const uint8_t *p = v;
	size_t i = 0, run;

	if (p == NULL)
		n = 0;
	jw_sep(w);
	jw_putc(w, '"');
	while (i < n && !w->failed) {
		run = jw_run(p + i, n - i);
		if (run > 0) {
			jw_put(w, p + i, run);
			i += run;
		} else
			jw_escape(w, p[i++]);
	}
	jw_putc(w, '"');
	w->comma = 1;
}

void
jw_cstr(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		jw_str(w, s, strlen(s));
}

void
jw_uint(struct jw *w, uint64_t v)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jw_sep(w);
	jw_put(w, t + i, sizeof(t) - i);
	w->comma = 1;
}

void
jw_int(struct jw *w, int64_t v)
{
	if (v >= 0) {
		jw_uint(w, (uint64_t)v);
		return;
	}
	jw_sep(w);
	jw_putc(w, '-');
	w->comma = 0;
	jw_uint(w, (uint64_t)0 - (uint64_t)v);
}

/* jansson's jsonp_dtostr fix-ups: a '.', no '+' or leading exponent 0s. */
static size_t
jw_real_fix(char *t, size_t n, size_t size)
{
	char *c, *start, *end;

	for (c = t; *c != '\0'; c++)
		if (*c == ',')
			*c = '.';               /* a locale's decimal comma */
	if (strchr(t, '.') == NULL && strchr(t, 'e') == NULL) {
		if (n + 3 > size)
			return 0;
		memcpy(t + n, ".0", 3);
		n += 2;
	}
	start = strchr(t, 'e');
	if (start != NULL) {
		start++;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, n - (size_t)(end - t) + 1);
			n -= (size_t)(end - start);
		}
	}
	return n;
}

void
jw_real(struct jw *w, double v)
{
	char t[48];
	int r;
	size_t n;

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	r = snprintf(t, sizeof(t), "%.17g", v);
	if (r <= 0 || (size_t)r >= sizeof(t) ||
	    (n = jw_real_fix(t, (size_t)r, sizeof(t))) == 0) {
		w->failed = 1;
		return;
	}
	jw_sep(w);
	jw_put(w, t, n);
	w->comma = 1;
}

void
jw_bool(struct jw *w, int v)
{
	jw_sep(w);
	if (v)
		jw_put(w, "true", 4);
	else
		jw_put(w, "false", 5);
	w->comma = 1;
}

void
jw_null(struct jw *w)
{
	jw_sep(w);
	jw_put(w, "null", 4);
	w->comma = 1;
}

void
jw_kstr(struct jw *w, const char *key, const void *p, size_t n)
{
	jw_key(w, key);
	jw_str(w, p, n);
}

void
jw_kcstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_cstr(w, s);
}

void
jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void
jw_kbool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

int
jw_ok(const struct jw *w)
{
	return !w->failed && w->depth == 0;
}
