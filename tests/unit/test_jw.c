/*
 * test_jw.c - the JSON writer against jansson: every string jw writes must
 * parse (json_loadb) to what jstr_from_bytes builds, and be the very text
 * json_dumps writes for it; integers and reals likewise; structure and
 * commas; a failed write is sticky and an evbuf event that fails is rolled
 * back whole and counted, with the lines before it kept.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "output/evbuf.h"
#include "output/jstr.h"
#include "output/jw.h"
#include "output/sink.h"
#include "tests/unit/check.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
heap_jw(struct jw *w)
{
	jw_init(w, NULL, 0, 0, jw_grow_heap, NULL);
}

/* jw text of `v` equals jansson's text of it; v is stolen. */
static int
same_text(struct jw *w, json_t *v)
{
	char *want = v != NULL ? json_dumps(v, DUMP_FLAGS) : NULL;
	int ok;

	ok = want != NULL && jw_ok(w) && w->len == strlen(want) &&
	    memcmp(w->buf, want, w->len) == 0;
	if (!ok)
		fprintf(stderr, "  jw %.*s... jansson %.200s...\n",
		    (int)(w->len < 200 ? w->len : 200),
		    w->buf != NULL ? w->buf : "", want ? want : "(null)");
	free(want);
	json_decref(v);
	free(w->buf);
	return ok;
}

/* jw_str(p, n) parses to jstr_from_bytes(p, n) and is jansson's text. */
static int
str_ok(const void *p, size_t n)
{
	struct jw w;
	json_t *want, *got;
	json_error_t jerr;
	int ok;

	heap_jw(&w);
	jw_str(&w, p, n);
	want = jstr_from_bytes(p, n);
	got = jw_ok(&w) ? json_loadb(w.buf, w.len, JSON_ALLOW_NUL |
	    JSON_DECODE_ANY, &jerr) : NULL;
	ok = want != NULL && got != NULL && json_is_string(got) &&
	    json_string_length(got) == json_string_length(want) &&
	    memcmp(json_string_value(got), json_string_value(want),
	    json_string_length(want)) == 0;
	json_decref(got);
	return same_text(&w, want) && ok;
}

#define STR_OK(lit) str_ok(lit, sizeof(lit) - 1)

static void
test_bytes(void)
{
	uint8_t s[8];
	unsigned a, b, bad = 0;

	CHECK(str_ok(NULL, 0));
	CHECK(str_ok("", 0));
	CHECK(STR_OK("plain / ascii ~\x7f"));
	CHECK(STR_OK("\"\\\b\f\n\r\t\x01\x1f"));
	CHECK(STR_OK("a\0b\0"));
	CHECK(STR_OK("\\xff"));
	/* every byte alone, and at the start, middle and end of text */
	for (a = 0; a < 256 && bad < 5; a++) {
		s[0] = (uint8_t)a;
		memcpy(s + 1, "ab", 2);
		if (!str_ok(s, 1) || !str_ok(s, 3) || !str_ok(s + 1, 2))
			bad++;
		memcpy(s, "ab", 2);
		s[2] = (uint8_t)a;
		s[3] = 'c';
		if (!str_ok(s, 3) || !str_ok(s, 4))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* every pair, alone and after a lead that wants continuations */
	for (a = 0; a < 256 && bad < 5; a++)
		for (b = 0; b < 256 && bad < 5; b++) {
			s[0] = 0xf0;
			s[1] = (uint8_t)a;
			s[2] = (uint8_t)b;
			if (!str_ok(s + 1, 2) || !str_ok(s, 3))
				bad++;
		}
	CHECK_EQ_INT(bad, 0);
}

/* Sequences at the D92 edges, and each valid one cut or broken at every
 * position. */
static void
test_utf8(void)
{
	static const char *const seqs[] = {
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe0\x9f\xbf",
		"\xed\x9f\xbf", "\xed\xa0\x80", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc0\xaf", "\xc1\xbf",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf8\x88\x80\x80\x80",
	};
	char buf[32];
	size_t i, n, cut, pos, bad = 0;

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		n = strlen(seqs[i]);
		for (cut = 0; cut <= n; cut++) {
			/* truncated: at the end and before ASCII */
			memcpy(buf, "x", 1);
			memcpy(buf + 1, seqs[i], cut);
			memcpy(buf + 1 + cut, "y\xc3\xa9", 3);
			if (!str_ok(buf, 1 + cut) || !str_ok(buf, 4 + cut))
				bad++;
		}
		for (pos = 0; pos < n; pos++) {
			/* one byte replaced by 0xff, 0x41 or 0x80 */
			memcpy(buf, seqs[i], n);
			buf[pos] = (char)0xff;
			if (!str_ok(buf, n))
				bad++;
			buf[pos] = 'A';
			if (!str_ok(buf, n))
				bad++;
			buf[pos] = (char)0x80;
			if (!str_ok(buf, n))
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
}

/* Random strings over bytes that matter (controls, escapes, leads,
 * continuations, ASCII). */
static void
test_random(void)
{
	static const uint8_t pick[] = { 0, 1, 0x1f, 0x20, '"', '\\', '/', 'a',
	    0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
	    0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, '\n', '\t' };
	uint8_t s[48];
	size_t i, n, k, bad = 0;

	for (i = 0; i < 20000 && bad < 5; i++) {
		n = rnd() % sizeof(s);
		for (k = 0; k < n; k++)
			s[k] = rnd() % 4 == 0 ? (uint8_t)rnd() :
			    pick[rnd() % sizeof(pick)];
		if (!str_ok(s, n))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

static void
test_long(void)
{
	size_t n = 1u << 20, i;
	uint8_t *s = malloc(n);

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		s[i] = (uint8_t)('a' + i % 26);
	CHECK(str_ok(s, n));
	memset(s, 0x9a, 300000);                /* 300000 invalid bytes */
	CHECK(str_ok(s, 300000));
	for (i = 0; i < n; i++)
		s[i] = (uint8_t)rnd();
	CHECK(str_ok(s, n));
	for (i = 0; i + 4 <= n; i += 4)
		memcpy(s + i, "\xf0\x9f\x98\x80", 4);
	CHECK(str_ok(s, n));
	CHECK(str_ok(s, n - 1));                /* cut in the last one */
	free(s);
}

static int
int_ok(int64_t v)
{
	struct jw w;

	heap_jw(&w);
	jw_int(&w, v);
	return same_text(&w, json_integer(v));
}

static int
uint_ok(uint64_t v)
{
	char want[32];
	struct jw w;
	int ok;

	heap_jw(&w);
	jw_uint(&w, v);
	snprintf(want, sizeof(want), "%" PRIu64, v);
	ok = jw_ok(&w) && w.len == strlen(want) &&
	    memcmp(w.buf, want, w.len) == 0;
	free(w.buf);
	return ok;
}

static void
test_ints(void)
{
	int i, bad = 0;
	int64_t v;

	CHECK(int_ok(0) && int_ok(1) && int_ok(-1) && int_ok(9) &&
	    int_ok(10) && int_ok(-10));
	CHECK(int_ok(INT64_MAX) && int_ok(INT64_MIN) &&
	    int_ok(INT64_MIN + 1));
	CHECK(uint_ok(0) && uint_ok(UINT64_MAX) &&
	    uint_ok((uint64_t)INT64_MAX + 1));
	for (i = 0; i < 10000; i++) {
		v = (int64_t)((uint64_t)rnd() << 32 | rnd()) >> (rnd() % 64);
		if (!int_ok(v) || !uint_ok((uint64_t)v))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

/* Same text as jansson, and it reads back as this very double. */
static int
real_ok(double v)
{
	struct jw w;
	json_t *got;
	double back;
	int ok;

	heap_jw(&w);
	jw_real(&w, v);
	got = jw_ok(&w) ? json_loadb(w.buf, w.len, JSON_DECODE_ANY, NULL) :
	    NULL;
	back = json_is_real(got) ? json_real_value(got) : NAN;
	ok = json_is_real(got) && memcmp(&back, &v, sizeof(v)) == 0;
	json_decref(got);
	return same_text(&w, json_real(v)) && ok;
}

static void
test_reals(void)
{
	static const double v[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 100.0,
	    1.0 / 3, 2.5e-3, 1e-7, 1e21, 1e22, 1e100, 1e-100, 5e-324,
	    DBL_MIN, DBL_MAX, -DBL_MAX, 123456789012345678.0, 0.30000000000000004,
	    4503599627370496.5, 9007199254740993.0 };
	struct jw w;
	uint64_t bits;
	double d;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!real_ok(v[i])) {
			fprintf(stderr, "  real %.17g\n", v[i]);
			bad++;
		}
	for (i = 0; i < 20000; i++) {
		bits = (uint64_t)rnd() << 32 | rnd();
		memcpy(&d, &bits, sizeof(d));
		if (isfinite(d) && !real_ok(d))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* no JSON for these: null */
	heap_jw(&w);
	jw_arr(&w);
	jw_real(&w, NAN);
	jw_real(&w, INFINITY);
	jw_real(&w, -INFINITY);
	jw_arr_end(&w);
	CHECK(jw_ok(&w) && w.len == 16 && memcmp(w.buf, "[null,null,null]",
	    16) == 0);
	free(w.buf);
}

static void
test_structure(void)
{
	static const char want[] = "{\"a\":[1,-2,[],{}],\"b\":{\"c\":null,"
	    "\"d\":true,\"e\":false},\"f\":\"x\",\"g\":[\"y\",null,0.5],"
	    "\"h\":\"\",\"i\":null}";
	struct jw w;

	heap_jw(&w);
	jw_obj(&w);
	jw_key(&w, "a");
	jw_arr(&w);
	jw_int(&w, 1);
	jw_int(&w, -2);
	jw_arr(&w);
	jw_arr_end(&w);
	jw_obj(&w);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_key(&w, "b");
	jw_obj(&w);
	jw_key(&w, "c");
	jw_null(&w);
	jw_kbool(&w, "d", 7);
	jw_kbool(&w, "e", 0);
	jw_obj_end(&w);
	jw_kstr(&w, "f", "x", 1);
	jw_key(&w, "g");
	jw_arr(&w);
	jw_cstr(&w, "y");
	jw_cstr(&w, NULL);
	jw_real(&w, 0.5);
	jw_arr_end(&w);
	jw_kcstr(&w, "h", "");
	jw_kcstr(&w, "i", NULL);
	CHECK(!jw_ok(&w));                      /* still open */
	jw_obj_end(&w);
	CHECK(jw_ok(&w));
	CHECK(w.len == sizeof(want) - 1 && memcmp(w.buf, want, w.len) == 0);
	/* closing what is not open fails */
	jw_obj_end(&w);
	CHECK(!jw_ok(&w) && w.failed);
	free(w.buf);
}

/* A fixed buffer: the write that does not fit fails, and stays failed. */
static void
test_fixed(void)
{
	char buf[16];
	struct jw w;

	memset(buf, '#', sizeof(buf));
	jw_init(&w, buf, 0, 10, NULL, NULL);
	jw_obj(&w);
	jw_kint(&w, "k", 12);                   /* {"k":12 : 7 bytes */
	CHECK(!w.failed && w.len == 7);
	jw_kstr(&w, "s", "long", 4);            /* does not fit */
	CHECK(w.failed);
	jw_obj_end(&w);
	jw_int(&w, 1);
	CHECK(w.failed && w.len <= 10 && !jw_ok(&w));
	CHECK(buf[10] == '#' && buf[15] == '#');
}

static char tmpl[] = "/tmp/rh_test_jw_XXXXXX";

/* An event {"n":n,"pad":"<pad bytes>"} through evbuf_begin/commit. */
static int
put_event(struct evbuf *b, int n, const char *pad, size_t padlen)
{
	struct jw *w = evbuf_begin(b);

	jw_obj(w);
	jw_kint(w, "n", n);
	jw_kstr(w, "pad", pad, padlen);
	jw_obj_end(w);
	return evbuf_commit(b);
}

/* Lines of the file: each a JSON object whose "n" is want[i]. */
static int
lines_are(const char *path, const int *want, int nwant)
{
	FILE *f = fopen(path, "rb");
	json_t *v;
	json_error_t jerr;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int i = 0, ok = f != NULL;

	while (ok && (n = getline(&line, &cap, f)) > 0) {
		ok = line[n - 1] == '\n' && i < nwant;
		v = ok ? json_loadb(line, (size_t)n - 1, 0, &jerr) : NULL;
		ok = ok && json_integer_value(json_object_get(v, "n")) ==
		    want[i];
		if (!ok)
			fprintf(stderr, "  line %d: %.80s\n", i, line);
		json_decref(v);
		i++;
	}
	free(line);
	if (f != NULL)
		fclose(f);
	return ok && i == nwant;
}

static void
test_evbuf(void)
{
	static const int want[] = { 1, 2, 3, 4, 5, 7, 8 };
	size_t big = 17u * 1024 * 1024, len0;
	char err[256], *pad;
	struct sink *s;
	struct sink_stats st;
	struct evbuf eb;
	struct jw *w;
	int fd;

	pad = malloc(big);
	fd = mkstemp(tmpl);
	CHECK(pad != NULL && fd >= 0);
	if (pad == NULL || fd < 0)
		return;
	close(fd);
	memset(pad, 'p', big);
	s = sink_open(tmpl, err, sizeof(err));
	CHECK(s != NULL && evbuf_init(&eb, s, 1024) == 0);
	if (s == NULL)
		return;

	/* a small line stays in the buffer, newline included */
	CHECK(put_event(&eb, 1, "a\xff", 2) == 0);
	CHECK(eb.len == strlen("{\"n\":1,\"pad\":\"a\\\\xff\"}\n") &&
	    memcmp(eb.buf, "{\"n\":1,\"pad\":\"a\\\\xff\"}\n", eb.len) == 0);
	CHECK_EQ_INT(eb.lines, 1);
	/* past the tail: the line before is sent, the event moves up */
	CHECK(put_event(&eb, 2, pad, eb.cap - 20) == 0);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 2);      /* and flushed past flush_at */
	CHECK(eb.len == 0 && eb.cap == 1024 + 64 * 1024);
	/* larger than the buffer: grows, then shrinks back at the flush */
	CHECK(put_event(&eb, 3, "x", 1) == 0);
	CHECK(put_event(&eb, 4, pad, 300000) == 0);
	CHECK(eb.len == 0 && eb.cap == 1024 + 64 * 1024);
	/* past 16 MiB: dropped whole, the line before it kept */
	CHECK(put_event(&eb, 5, "y", 1) == 0);
	CHECK(put_event(&eb, 6, pad, big) == -1);
	CHECK_EQ_INT(eb.dropped, 1);
	CHECK_EQ_INT(eb.events, 5);
	CHECK(eb.cap == 1024 + 64 * 1024);
	/* a failure after a few fields, in a buffer that has room: rolled
	 * back to where the event began */
	CHECK(put_event(&eb, 7, "z", 1) == 0);
	len0 = eb.len;
	w = evbuf_begin(&eb);
	jw_obj(w);
	jw_kint(w, "n", 99);
	jw_key(w, "open");
	jw_arr(w);                              /* left open */
	jw_obj_end(w);
	CHECK(evbuf_commit(&eb) == -1);
	CHECK(eb.len == len0 && eb.lines == 1);
	w = evbuf_begin(&eb);                   /* nothing written */
	CHECK(evbuf_commit(&eb) == -1);
	CHECK_EQ_INT(eb.dropped, 3);
	CHECK(put_event(&eb, 8, "", 0) == 0);
	CHECK_EQ_INT(eb.events, 7);
	evbuf_free(&eb);
	/* after free: dropped, nothing allocated */
	CHECK(put_event(&eb, 9, "q", 1) == -1);
	CHECK(eb.buf == NULL);
	sink_stats_get(s, &st);
	CHECK_EQ_INT(st.lines_written, 7);
	CHECK(sink_close(s) == 0);
	CHECK(lines_are(tmpl, want, 7));
	unlink(tmpl);
	free(pad);
}

int
main(void)
{
	test_bytes();
	test_utf8();
	test_random();
	test_long();
	test_ints();
	test_reals();
	test_structure();
	test_fixed();
	test_evbuf();
	return CHECK_DONE();
}
