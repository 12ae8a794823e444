/*
 * bstr.h - a byte string: pointer and length, no terminator assumed.
 *
 * Attacker-controlled text (commands, addresses, header values) may hold NUL
 * and invalid UTF-8, so it travels as a struct bstr and is only escaped at
 * the JSON writer.  A bstr never owns its bytes: they live in the packet, in
 * a pool block or in an arena, and the owner's lifetime is documented where
 * the bstr is handed out.
 */
#ifndef RH_BSTR_H
#define RH_BSTR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bstr {
	const uint8_t *p;
	uint32_t len;
};

#define BSTR_NULL ((struct bstr){ NULL, 0 })

static inline struct bstr
bstr_make(const void *p, size_t len)
{
	struct bstr s = { (const uint8_t *)p, (uint32_t)len };
	return s;
}

static inline struct bstr
bstr_cstr(const char *s)
{
	return bstr_make(s, strlen(s));
}

/* 1 if a equals the NUL-terminated c, ASCII case-insensitively. */
static inline int
bstr_ieq(struct bstr a, const char *c)
{
	size_t i, n = strlen(c);

	if (a.len != n)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t x = a.p[i], y = (uint8_t)c[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

#endif
