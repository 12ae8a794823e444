/*
 * test_jstr.c - attacker bytes always give valid JSON strings, and valid
 * UTF-8 survives unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "output/jstr.h"
#include "tests/unit/check.h"

/*
 * jstr_from_bytes(in) must equal `want` (wantlen bytes), and survive a
 * dump/parse round trip through jansson as the same bytes.
 */
static int
roundtrip(const char *in, size_t inlen, const char *want, size_t wantlen)
{
	json_t *s, *arr, *back;
	json_error_t jerr;
	char *txt;
	int ok = 0;

	s = jstr_from_bytes(in, inlen);
	if (s == NULL)
		return 0;
	if (json_string_length(s) != wantlen ||
	    memcmp(json_string_value(s), want, wantlen) != 0) {
		fprintf(stderr, "  got \"%.*s\"\n", (int)json_string_length(s),
		    json_string_value(s));
		json_decref(s);
		return 0;
	}
	arr = json_array();
	json_array_append_new(arr, s);
	txt = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (txt == NULL)
		return 0;
	back = json_loads(txt, JSON_ALLOW_NUL, &jerr);
	if (back != NULL && json_is_array(back) && json_array_size(back) == 1) {
		json_t *e = json_array_get(back, 0);
		ok = json_is_string(e) && json_string_length(e) == wantlen &&
		    memcmp(json_string_value(e), want, wantlen) == 0;
	}
	json_decref(back);
	free(txt);
	return ok;
}

#define RT(in, want) roundtrip(in, sizeof(in) - 1, want, sizeof(want) - 1)

int
main(void)
{
	json_t *o, *v;
	char *big, *want;
	size_t i;

	/* plain ASCII and the empty string */
	CHECK(RT("hello world", "hello world"));
	CHECK(RT("", ""));
	CHECK(roundtrip(NULL, 0, "", 0));

	/* NUL and control characters are kept (jansson escapes them) */
	CHECK(RT("a\0b", "a\0b"));
	CHECK(RT("\x01\x1f\x7f\t\r\n\"\\", "\x01\x1f\x7f\t\r\n\"\\"));

	/* valid multi-byte sequences: 2, 3 and 4 bytes, range edges */
	CHECK(RT("caf\xc3\xa9", "caf\xc3\xa9"));
	CHECK(RT("\xe2\x82\xac", "\xe2\x82\xac"));             /* U+20AC */
	CHECK(RT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"));     /* U+1F600 */
	CHECK(RT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"));     /* U+10FFFF */
	CHECK(RT("\xed\x9f\xbf", "\xed\x9f\xbf"));             /* U+D7FF */
	CHECK(RT("\xee\x80\x80", "\xee\x80\x80"));             /* U+E000 */
	CHECK(RT("\xc2\x80", "\xc2\x80"));                     /* U+0080 */
	CHECK(RT("\xe0\xa0\x80", "\xe0\xa0\x80"));             /* U+0800 */
	CHECK(RT("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"));     /* U+10000 */

	/* invalid: lone bytes, every one escaped, lowercase hex */
	CHECK(RT("a\xff" "b", "a\\xff" "b"));
	CHECK(RT("\x80", "\\x80"));
	CHECK(RT("\xfe\xFF", "\\xfe\\xff"));
	/* Latin-1 text (the usual case) */
	CHECK(RT("Gr\xfc\xdf" "e", "Gr\\xfc\\xdf" "e"));
	/* overlong forms */
	CHECK(RT("\xc0\xaf", "\\xc0\\xaf"));
	CHECK(RT("\xc1\xbf", "\\xc1\\xbf"));
	CHECK(RT("\xe0\x80\xaf", "\\xe0\\x80\\xaf"));
	CHECK(RT("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"));
	CHECK(RT("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"));
	/* surrogates */
	CHECK(RT("\xed\xa0\x80", "\\xed\\xa0\\x80"));
	CHECK(RT("\xed\xbf\xbf", "\\xed\\xbf\\xbf"));
	/* past U+10FFFF, and 5/6-byte leads */
	CHECK(RT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"));
	CHECK(RT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"));
	CHECK(RT("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"));
	/* truncated at the end, and cut short by an ASCII byte */
	CHECK(RT("ok\xe2\x82", "ok\\xe2\\x82"));
	CHECK(RT("ok\xf0\x9f\x98", "ok\\xf0\\x9f\\x98"));
	CHECK(RT("\xc3", "\\xc3"));
	CHECK(RT("\xe2\x82" "A", "\\xe2\\x82" "A"));
	/* a valid sequence right after garbage is kept */
	CHECK(RT("\xff\xc3\xa9\x80\xf0\x9f\x98\x80",
	    "\\xff\xc3\xa9\\x80\xf0\x9f\x98\x80"));
	/* an invalid byte next to NUL */
	CHECK(RT("\0\xff\0", "\0\\xff\0"));
	/* a literal backslash-x in the input stays distinct after JSON */
	CHECK(RT("\\xff", "\\xff"));

	/* long input (heap path): 3000 bad bytes -> 12000 chars */
	big = malloc(3000);
	want = malloc(12000);
	for (i = 0; i < 3000; i++) {
		big[i] = (char)0x9a;
		memcpy(want + 4 * i, "\\x9a", 4);
	}
	CHECK(roundtrip(big, 3000, want, 12000));
	/* long valid input: kept as is */
	for (i = 0; i < 3000; i++)
		big[i] = (char)('a' + i % 26);
	CHECK(roundtrip(big, 3000, big, 3000));
	free(big);
	free(want);

	/* jstr_set */
	o = json_object();
	CHECK(jstr_set(o, "k", "v\xff", 2) == 0);
	v = json_object_get(o, "k");
	CHECK(v != NULL && strcmp(json_string_value(v), "v\\xff") == 0);
	json_decref(o);

	return CHECK_DONE();
}
