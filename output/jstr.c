/*
 * jstr.c - attacker bytes to always-valid jansson strings.
 *
 * Design: one validating pass finds the first byte that does not start a
 * well-formed UTF-8 sequence (the table of Unicode 15 section 3.9, D92: no
 * overlongs, no surrogates, nothing past U+10FFFF, no truncated tails).  A
 * clean string (the common case, and all of ASCII) is handed to
 * json_stringn_nocheck as is, so it is copied once and validated once.
 * Otherwise the valid prefix is copied and the rest rewritten, one invalid
 * byte at a time, as the text `\xNN`: after a bad lead byte the decoder
 * resynchronises at the very next byte, so a stray continuation byte costs
 * only itself and a valid sequence right after garbage is kept.  The
 * rewritten string is valid UTF-8 by construction, so the _nocheck
 * constructor is safe; NUL and other control bytes are valid UTF-8 and left
 * to jansson's writer (\u0000 ...).
 *
 * The output buffer is on the stack for short strings and malloc'ed for
 * long ones (the output path, not the per-packet path).  jstr_seq_len is
 * shared with jw, which writes the same strings straight into the event
 * buffer, so both paths agree on what is valid.  Rejected: replacing bad
 * bytes with U+FFFD (the analyst loses the byte value) and escaping the
 * whole string as hex (unreadable for the usual one-bad-byte subject).
 */
#include "jstr.h"

#include <stdlib.h>
#include <string.h>

#define JSTR_STACK 1024

size_t
jstr_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;          /* overlong */
		else if (c == 0xed)
			hi = 0x9f;          /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;          /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;          /* past U+10FFFF */
	} else
		return 0;               /* 80-c1 and f5-ff never lead */
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Offset of the first invalid byte, or n if all of p[0..n) is valid. */
static size_t
jstr_valid_prefix(const uint8_t *p, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		l = jstr_seq_len(p + i, n - i);
		if (l == 0)
			return i;
		i += l;
	}
	return n;
}

json_t *
jstr_from_bytes(const void *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = v;
	char stackbuf[JSTR_STACK], *out;
	size_t ok, i, o, l, need;
	json_t *r;

	if (p == NULL || n == 0)
		return json_string_nocheck("");
	ok = jstr_valid_prefix(p, n);
	if (ok == n)
		return json_stringn_nocheck((const char *)p, n);

	if (n - ok > (SIZE_MAX - ok) / 4)
		return NULL;
	need = ok + 4 * (n - ok);
	if (need <= sizeof(stackbuf))
		out = stackbuf;
	else if ((out = malloc(need)) == NULL)
		return NULL;
	memcpy(out, p, ok);
	o = ok;
	for (i = ok; i < n; ) {
		l = jstr_seq_len(p + i, n - i);
		if (l == 0) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
			i++;
		} else {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		}
	}
	r = json_stringn_nocheck(out, o);
	if (out != stackbuf)
		free(out);
	return r;
}

int
jstr_set(json_t *obj, const char *key, const void *p, size_t n)
{
	json_t *v = jstr_from_bytes(p, n);

	if (v == NULL)
		return -1;
	return json_object_set_new(obj, key, v);
}
