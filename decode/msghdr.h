/*
 * msghdr.h - the header section of one mail message (RFC 5322).
 *
 * Contract: a struct msghdr_section is fed the message bytes exactly as they leave
 * DATA/BDAT (dot-unstuffed), in chunks of any size, and keeps the header
 * section only: it stops at the first empty line (CRLF CRLF, or bare LF
 * LF), so lines of the body that look like headers are never taken as
 * headers.  Header lines are unfolded (CRLF followed by WSP joins the next
 * line; the CRLF is removed and the WSP kept, RFC 5322 2.2.3) and stored,
 * name and value, in the arena given at init; names compare
 * case-insensitively.  The bytes kept are capped (`max_bytes`, default
 * 64 KiB) and so is the number of fields (`max_fields`); past a cap the rest
 * of the section is counted (`header_bytes` stays exact) but not stored,
 * `capped` is set and SMTP_HEADER_TOO_LONG is reported once through
 * `anomaly_out` if set.  A line longer than the byte cap cannot exhaust
 * memory: it is counted, not stored.  One field keeps at most one arena
 * block (the pool's object size, >= 16 KiB; its value is cut there) and the
 * field array lives in one block too, so the field cap is the smaller of
 * `max_fields` and about block/32.  An arena that runs dry is a cap as well
 * (`capped`, SMTP_SESSION_MEMCAP reported once).
 *
 * A line that is not `name:` (name of printable bytes, WSP allowed only
 * before the colon) - a mbox "From " line, junk, the first line of a
 * message without headers - is skipped and counted in `bad_lines`; it does
 * not end the section, only an empty line (or msghdr_finish) does.  A CR
 * not followed by LF is data; CRLF LF and LF CRLF are empty lines too.
 * Any chunking of the same bytes gives the same result.
 *
 * Values are raw (not decoded); use msghdr_decode_value for RFC 2047 and
 * msghdr_addresses for address lists.  Received headers stay in order (top
 * first) for the chain parser.
 *
 * Everything returned points into the arena and lives until arena_reset.
 */
#ifndef RH_MSGHDR_H
#define RH_MSGHDR_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "bstr.h"
#include "pool.h"

struct msghdr_field {
	struct bstr name;        /* as written, without the colon (and WSP
	                            before it) */
	struct bstr value;       /* unfolded, leading WSP trimmed, no CRLF */
};

enum msghdr_state {
	MSGHDR_LINE_START = 0,   /* at the start of a line */
	MSGHDR_IN_LINE,          /* inside a header line */
	MSGHDR_AFTER_CR,         /* saw CR, expecting LF */
	MSGHDR_AFTER_LF,         /* a line ended; next byte decides fold/new */
	MSGHDR_DONE,             /* empty line seen: the body starts */
};

struct msghdr_config {
	uint32_t max_bytes;      /* header bytes stored, default 65536 */
	uint32_t max_fields;     /* fields stored, default 1024 */
};

struct msghdr_section {
	struct arena *arena;
	struct msghdr_config cfg;
	enum msghdr_state state;
	uint64_t header_bytes;   /* size of the header section incl. blank line */
	uint8_t capped;          /* a cap was hit */
	uint8_t done;            /* end of header section reached */
	struct msghdr_field *fields;
	uint32_t nfields;
	uint32_t fields_alloc;
	/* line being assembled (private) */
	uint8_t *line;
	uint32_t line_len, line_alloc;
	uint32_t stored_bytes;
	void (*anomaly_out)(void *u, enum anom_id a);
	void *anomaly_u;
	/* added: outcome counters (read-only for callers) */
	uint32_t bad_lines;      /* lines skipped: not `name:` (mbox From, junk) */
	uint32_t fields_dropped; /* fields seen but not stored (a cap) */
	/* added: private assembly state */
	uint32_t cur_start;      /* offset in `line` of the field in progress */
	uint32_t cur_seen;       /* bytes of its name part seen (saturating) */
	uint32_t colon_off;      /* offset of its colon, valid with flag */
	uint32_t max_fields_eff; /* max_fields limited by the arena block */
	uint8_t cur_flags;
	uint8_t report_flags;
};

void msghdr_init(struct msghdr_section *h, struct arena *a,
    const struct msghdr_config *cfg);

/*
 * Feed message bytes.  Returns how many of the n bytes belonged to the
 * header section (the rest is body); once done, returns 0.
 */
size_t msghdr_feed(struct msghdr_section *h, const uint8_t *d, size_t n);

/*
 * The message ended (no blank line, or none at all): close the last field.
 * The section is then done: later msghdr_feed calls return 0.
 */
void msghdr_finish(struct msghdr_section *h);

/* The nth (0-based) field named `name`, case-insensitive; NULL if none. */
const struct msghdr_field *msghdr_find(const struct msghdr_section *h,
    const char *name, unsigned nth);

/*
 * Decode a header value for display: RFC 2047 encoded words (B and Q;
 * UTF-8, US-ASCII, ISO-8859-x, Windows-125x, KOI8-R, GB2312/GBK/GB18030,
 * Big5, ISO-2022-JP, EUC-KR, Shift_JIS through iconv) become UTF-8;
 * whitespace between adjacent encoded words is dropped (RFC 2047 6.2).
 * Undecodable words are left as written (unknown charset); bytes a known
 * charset cannot convert become U+FFFD; raw text is copied byte for byte.
 * Returns 0 and *out (in the arena; `in` itself when it holds no encoded
 * word), or -1 when the arena is exhausted (then *out = in).  The output
 * fits one arena block: a longer decoding is cut.
 */
int msghdr_decode_value(struct arena *a, struct bstr in, struct bstr *out);

/*
 * Close the iconv descriptors msghdr_decode_value cached for the calling
 * thread (a few per thread); call before a worker thread exits.
 */
void msghdr_decode_release(void);

/*
 * Addresses (addr-spec, `local@domain`, angle brackets removed) of an
 * address-list value (From, To, Cc, Reply-To), handling display names,
 * quoted strings, comments, groups (`undisclosed-recipients:;`) and
 * obsolete forms.  Stores up to `max` in out[]; returns the count stored.
 * A display name alone gives nothing; see addr.c for the lenient rules.
 * Each address points into `value` or, when pieces had to be joined
 * (`a @ b`), into the arena (skipped if that fails; `a` may be NULL).
 */
unsigned msghdr_addresses(struct arena *a, struct bstr value,
    struct bstr *out, unsigned max);

#endif
