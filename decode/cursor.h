/*
 * cursor.h - bounds-checked reading of untrusted wire bytes.
 *
 * Every parser in relayhound touches packet and stream bytes only through a
 * struct cur.  A read past the end never touches memory: it returns 0 and
 * sets the sticky `err` flag, so a header parser may read a whole header and
 * check `err` once at the end (the shape of tcpdump's GET_ macros, without
 * the longjmp, which would skip flow and pool bookkeeping).
 *
 * Multi-byte reads are network byte order (big endian) unless named _le.
 */
#ifndef RH_CURSOR_H
#define RH_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;   /* next byte to read */
	const uint8_t *end; /* one past the last readable byte */
	int err;            /* set once any read or skip ran past `end` */
};

static inline void
cur_init(struct cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->end = p + len;
	c->err = 0;
}

static inline size_t
cur_left(const struct cur *c)
{
	return c->err ? 0 : (size_t)(c->end - c->p);
}

static inline int
cur_need(struct cur *c, size_t n)
{
	if (c->err || (size_t)(c->end - c->p) < n) {
		c->err = 1;
		return 0;
	}
	return 1;
}

static inline uint8_t
cur_u8(struct cur *c)
{
	if (!cur_need(c, 1))
		return 0;
	return *c->p++;
}

static inline uint16_t
cur_be16(struct cur *c)
{
	uint16_t v;

	if (!cur_need(c, 2))
		return 0;
	v = (uint16_t)((c->p[0] << 8) | c->p[1]);
	c->p += 2;
	return v;
}

static inline uint32_t
cur_be32(struct cur *c)
{
	uint32_t v;

	if (!cur_need(c, 4))
		return 0;
	v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
	    ((uint32_t)c->p[2] << 8) | c->p[3];
	c->p += 4;
	return v;
}

static inline uint16_t
cur_le16(struct cur *c)
{
	uint16_t v;

	if (!cur_need(c, 2))
		return 0;
	v = (uint16_t)(c->p[0] | (c->p[1] << 8));
	c->p += 2;
	return v;
}

static inline uint32_t
cur_le32(struct cur *c)
{
	uint32_t v;

	if (!cur_need(c, 4))
		return 0;
	v = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) |
	    ((uint32_t)c->p[2] << 16) | ((uint32_t)c->p[3] << 24);
	c->p += 4;
	return v;
}

/* Copy n bytes out; on a short buffer `dst` is zeroed and err is set. */
static inline void
cur_bytes(struct cur *c, void *dst, size_t n)
{
	if (!cur_need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
}

/* Pointer to the next n bytes, advancing past them; NULL on a short buffer. */
static inline const uint8_t *
cur_take(struct cur *c, size_t n)
{
	const uint8_t *r;

	if (!cur_need(c, n))
		return NULL;
	r = c->p;
	c->p += n;
	return r;
}

static inline void
cur_skip(struct cur *c, size_t n)
{
	if (cur_need(c, n))
		c->p += n;
}

/* A sub-cursor over the next n bytes (clamped and flagged if short). */
static inline struct cur
cur_sub(struct cur *c, size_t n)
{
	struct cur s;

	if (!cur_need(c, n)) {
		s.p = s.end = c->end;
		s.err = 1;
		return s;
	}
	s.p = c->p;
	s.end = c->p + n;
	s.err = 0;
	c->p += n;
	return s;
}

#endif
