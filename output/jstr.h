/*
 * jstr.h - attacker bytes to JSON strings that are always valid.
 *
 * jansson refuses strings that are not valid UTF-8, so every byte string
 * from the wire that goes into a jansson object goes through
 * jstr_from_bytes: valid UTF-8 sequences are kept, each byte of an invalid
 * sequence (overlong forms, surrogates, code points past U+10FFFF,
 * truncated sequences) becomes the four characters `\xNN` (Zeek's
 * convention: the analyst still sees the byte), and NUL and other control
 * characters are kept as such (jansson writes them as \u00NN).  Result is
 * a new jansson string reference, or NULL on out of memory.  The events
 * written in place (jw_str) follow the same rule with jstr_seq_len.
 */
#ifndef RH_JSTR_H
#define RH_JSTR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

json_t *jstr_from_bytes(const void *p, size_t n);

/* Length (1-4) of the valid UTF-8 sequence at p[0] (n > 0), or 0. */
size_t jstr_seq_len(const uint8_t *p, size_t n);

/* Set key of obj to jstr_from_bytes(p, n); 0 or -1. */
int jstr_set(json_t *obj, const char *key, const void *p, size_t n);

#endif
