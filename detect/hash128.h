/*
 * hash128.h - a streaming 128-bit non-cryptographic hash (MurmurHash3
 * x64-128).
 *
 * Contract: hash128_init, then hash128_update any number of times with
 * pieces of the input (how the input is cut does not change the result),
 * then hash128_final, which writes 16 bytes: h1 then h2 of the reference
 * algorithm, each little endian.  The result equals MurmurHash3_x64_128 of
 * the concatenated input with the given 32-bit seed.  No allocation; the
 * context may live on the stack.
 *
 * Not for adversaries: anyone can compute collisions.  Use it to name and
 * check data whose writer is already trusted (detect/hscache.c).
 */
#ifndef RH_HASH128_H
#define RH_HASH128_H

#include <stddef.h>
#include <stdint.h>

#define HASH128_LEN 16

struct hash128 {
	uint64_t h1, h2;
	uint64_t total;          /* bytes given so far */
	uint8_t tail[16];        /* bytes not yet mixed */
	unsigned ntail;
};

void hash128_init(struct hash128 *h, uint32_t seed);
void hash128_update(struct hash128 *h, const void *p, size_t n);
void hash128_final(struct hash128 *h, uint8_t out[HASH128_LEN]);

/* Fixed-width little-endian integers and length-prefixed strings, so that a
 * key built from fields is unambiguous. */
void hash128_u32(struct hash128 *h, uint32_t v);
void hash128_u64(struct hash128 *h, uint64_t v);
void hash128_str(struct hash128 *h, const char *s);

#endif
