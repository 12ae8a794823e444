/*
 * check.h - the flat assertions of the unit tests.
 *
 * CHECK(cond) records a pass or a failure (with file:line and the
 * expression) and carries on, so one run reports every broken assertion;
 * CHECK_DONE() prints the closing count "N passed, N failed" and returns the
 * exit status for main.  Header-only: each test is one file and one binary.
 */
#ifndef RH_CHECK_H
#define RH_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			check_pass++;                                        \
		} else {                                                     \
			check_fail++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,        \
			    __LINE__, #cond);                                \
		}                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                   \
	do {                                                                 \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ == check_b_) {                                  \
			check_pass++;                                        \
		} else {                                                     \
			check_fail++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", \
			    __FILE__, __LINE__, #a, #b, check_a_, check_b_); \
		}                                                            \
	} while (0)

/* Compare a (pointer, length) byte string with a C string. */
#define CHECK_BSTR(bs, cstr)                                                 \
	do {                                                                 \
		const char *check_c_ = (cstr);                               \
		size_t check_n_ = strlen(check_c_);                          \
		if ((bs).len == check_n_ &&                                  \
		    ((bs).len == 0 || memcmp((bs).p, check_c_, check_n_) == 0)) { \
			check_pass++;                                        \
		} else {                                                     \
			check_fail++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s == \"%s\" (got \"%.*s\")\n", \
			    __FILE__, __LINE__, #bs, check_c_,               \
			    (int)(bs).len, (const char *)(bs).p);            \
		}                                                            \
	} while (0)

#define CHECK_DONE()                                                         \
	(printf("%d passed, %d failed\n", check_pass, check_fail),           \
	    check_fail ? 1 : 0)

#endif
