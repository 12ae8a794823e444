/*
 * hash128.c - MurmurHash3 x64-128 (Austin Appleby's public-domain
 * algorithm), written as init/update/final.
 *
 * Why this one: the Hyperscan database cache needs a 128-bit name for "this
 * exact compile input" and a checksum of the file it reads back; both must
 * be fast (a cache hit is meant to cost well under a millisecond) and need
 * no new dependency.  MurmurHash3 x64-128 is the common 128-bit choice and
 * has published test vectors (tests/unit/test_hscache.c checks some), so a
 * mistake here shows up as a failing vector instead of a quietly weak key.
 *
 * Streaming: the reference function takes the whole input at once; here
 * full 16-byte blocks are mixed as they arrive and up to 15 bytes wait in
 * `tail`, so the result does not depend on how the caller cuts the input.
 * Blocks are read with explicit little-endian loads (no unaligned casts).
 *
 * Rejected: a CRC (32 or 64 bits is too narrow to name files by), a
 * cryptographic hash such as SHA-256 (more code for no gain: the directory
 * checks, not the hash, keep foreign files out), FNV-1a 128 (one 128-bit
 * multiply per byte is slow on a multi-megabyte database).
 */
#include "hash128.h"

#include <string.h>

#define C1 0x87c37b91114253d5ULL
#define C2 0x4cf5ad432745937fULL

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
mix_block(struct hash128 *h, const uint8_t *b)
{
	uint64_t k1 = load_le64(b), k2 = load_le64(b + 8);

	k1 *= C1;
	k1 = rotl64(k1, 31);
	k1 *= C2;
	h->h1 ^= k1;
	h->h1 = rotl64(h->h1, 27);
	h->h1 += h->h2;
	h->h1 = h->h1 * 5 + 0x52dce729;

	k2 *= C2;
	k2 = rotl64(k2, 33);
	k2 *= C1;
	h->h2 ^= k2;
	h->h2 = rotl64(h->h2, 31);
	h->h2 += h->h1;
	h->h2 = h->h2 * 5 + 0x38495ab5;
}

void
hash128_init(struct hash128 *h, uint32_t seed)
{
	memset(h, 0, sizeof(*h));
	h->h1 = seed;
	h->h2 = seed;
}

void
hash128_update(struct hash128 *h, const void *p, size_t n)
{
	const uint8_t *d = p;
	size_t k;

	h->total += n;
	if (h->ntail > 0) {
		k = 16 - h->ntail;
		if (k > n)
			k = n;
		memcpy(h->tail + h->ntail, d, k);
		h->ntail += (unsigned)k;
		d += k;
		n -= k;
		if (h->ntail < 16)
			return;
		mix_block(h, h->tail);
		h->ntail = 0;
	}
	for (; n >= 16; d += 16, n -= 16)
		mix_block(h, d);
	if (n > 0) {
		memcpy(h->tail, d, n);
		h->ntail = (unsigned)n;
	}
}

void
hash128_final(struct hash128 *h, uint8_t out[HASH128_LEN])
{
	uint64_t k1 = 0, k2 = 0, h1 = h->h1, h2 = h->h2;
	const uint8_t *t = h->tail;
	unsigned n = h->ntail, i;

	/* the reference tail: bytes 8..14 into k2, 0..7 into k1 */
	for (i = n; i > 8; i--)
		k2 = (k2 << 8) | t[i - 1];
	if (n > 8) {
		k2 *= C2;
		k2 = rotl64(k2, 33);
		k2 *= C1;
		h2 ^= k2;
	}
	for (i = n < 8 ? n : 8; i > 0; i--)
		k1 = (k1 << 8) | t[i - 1];
	if (n > 0) {
		k1 *= C1;
		k1 = rotl64(k1, 31);
		k1 *= C2;
		h1 ^= k1;
	}
	h1 ^= h->total;
	h2 ^= h->total;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	h2 += h1;
	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h1 >> (8 * i));
		out[8 + i] = (uint8_t)(h2 >> (8 * i));
	}
}

void
hash128_u32(struct hash128 *h, uint32_t v)
{
	uint8_t b[4];
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	hash128_update(h, b, sizeof(b));
}

void
hash128_u64(struct hash128 *h, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	hash128_update(h, b, sizeof(b));
}

void
hash128_str(struct hash128 *h, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	hash128_u64(h, n);
	hash128_update(h, s != NULL ? s : "", n);
}
