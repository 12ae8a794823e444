/*
 * jw.h - a JSON writer that appends compact JSON to a caller's buffer.
 *
 * Contract: the writer appends to buf[len..cap) and asks its `grow` hook
 * for room when a write does not fit (the hook may move buf, len and cap,
 * but keeps the bytes written; NULL means a fixed buffer).  A write that
 * cannot get room sets `failed`, which is sticky: every later call is a
 * no-op, so a caller checks once at the end and throws the whole document
 * away (evbuf_commit does).  Commas are placed by the writer; the caller
 * only balances jw_obj/jw_obj_end and jw_arr/jw_arr_end (`depth` counts
 * them) and puts a jw_key before each value inside an object.
 *
 * Strings from the wire (jw_str) come out as the jstr + jansson path would
 * write them: valid UTF-8 kept, each byte of an invalid sequence written as
 * the text `\xNN` (the JSON `\\xNN`), `"` and `\` escaped, control bytes
 * escaped as jansson does (\b \f \n \r \t, others \u00XX; 0x7f and '/'
 * as is).  Keys are trusted constants, written as given.  Integers are
 * decimal, reals "%.17g" made a JSON number the way jansson does (1.0, not
 * 1; no '+' or leading zeros in the exponent); a non-finite real is null.
 */
#ifndef RH_JW_H
#define RH_JW_H

#include <stddef.h>
#include <stdint.h>

struct jw;

/* Make cap - len >= need, or return -1. */
typedef int (*jw_grow_fn)(struct jw *w, size_t need);

struct jw {
	char *buf;
	size_t len, cap;
	jw_grow_fn grow;
	void *owner;             /* for the grow hook */
	unsigned depth;          /* objects and arrays open */
	uint8_t failed;          /* sticky: something did not fit */
	uint8_t comma;           /* the next value or key needs a ',' */
};

void jw_init(struct jw *w, char *buf, size_t len, size_t cap,
    jw_grow_fn grow, void *owner);
/* A grow hook over a malloc'ed buf (NULL to start); the caller frees buf. */
int jw_grow_heap(struct jw *w, size_t need);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);

/* p may be NULL when n is 0. */
void jw_str(struct jw *w, const void *p, size_t n);
/* NULL is written as null. */
void jw_cstr(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_real(struct jw *w, double v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Bytes outside any value (the evbuf's newline); no comma. */
void jw_raw(struct jw *w, const char *p, size_t n);

/* key + value in one call. */
void jw_kstr(struct jw *w, const char *key, const void *p, size_t n);
void jw_kcstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, int v);

/* Whole and balanced: nothing failed and no object or array left open. */
int jw_ok(const struct jw *w);

#endif
