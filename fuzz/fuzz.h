/*
 * fuzz.h - shared helpers of the fuzz targets (see fuzz/README.md).
 *
 * Each target defines LLVMFuzzerTestOneInput; it is linked either with
 * libFuzzer (-fsanitize=fuzzer) or with replay_main.c, a plain main() that
 * runs it over files.  Inputs are read through a struct fuzz_in that
 * returns zeros once the input runs out, and every byte range handed to a
 * parser is first copied into a malloc'ed buffer of exactly its size, so
 * AddressSanitizer catches a read one byte past the end.  A broken
 * invariant prints where and aborts: libFuzzer saves the input.
 */
#ifndef RH_FUZZ_H
#define RH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                       \
	do {                                                                \
		if (!(c)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n",        \
			    __FILE__, __LINE__, #c);                        \
			abort();                                            \
		}                                                           \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	if (in->n == 0)
		return 0;
	v = in->p[0];
	in->p++;
	in->n--;
	return v;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

/*
 * Up to `want` bytes of the input in a fresh malloc'ed buffer of exactly
 * that size (*got set); NULL when nothing is left.  free() the result.
 */
static inline uint8_t *
fuzz_take(struct fuzz_in *in, size_t want, size_t *got)
{
	uint8_t *b;

	if (want > in->n)
		want = in->n;
	*got = want;
	if (want == 0)
		return NULL;
	b = malloc(want);
	if (b == NULL) {
		*got = 0;
		return NULL;
	}
	memcpy(b, in->p, want);
	in->p += want;
	in->n -= want;
	return b;
}

/* Read every byte of a range, so ASan checks that it is all addressable. */
static inline void
fuzz_touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t x = 0;
	size_t i;

	if (n > 0)
		FUZZ_CHECK(p != NULL);
	for (i = 0; i < n; i++)
		x ^= b[i];
	__asm__ volatile("" : : "r"(x) : "memory");  /* keep the reads */
}

#endif
