/*
 * rfc2047.c - msghdr_decode_value: RFC 2047 encoded words to UTF-8.
 *
 * Design: two passes over the value.  The first finds the encoded words
 * (=?charset[*lang]?B|Q?text?=) and bounds the output (every decoded byte
 * becomes at most 3 bytes of UTF-8, a word left as written keeps its size);
 * a value without any encoded word is returned as it is, with no copy.  The
 * second pass decodes into one arena allocation.  Decoded bytes of adjacent
 * words in the same charset go through one stack scratch buffer and one
 * conversion run, so a multibyte character split across two words (common
 * with long GB2312 or Shift_JIS subjects) still converts.
 *
 * Charsets: UTF-8 is copied; US-ASCII, ISO-8859-1 and Windows-1252 use the
 * Windows-1252 table as browsers and Thunderbird do (WHATWG labels); the
 * rest goes through iconv, with GB2312/GBK read as GB18030, EUC-KR and
 * KS_C_5601 as CP949, Shift_JIS as CP932 and Big5 as BIG5-HKSCS (supersets
 * that senders mislabel as the subset).  A byte that does not convert
 * becomes U+FFFD; an unknown charset (or one with odd bytes in its name,
 * which never reaches iconv_open) leaves the word as written.  Raw text
 * around words is copied byte for byte, 8-bit included: the JSON writer
 * escapes invalid UTF-8.
 *
 * Lenient like Thunderbird and Suricata: words inside a token
 * ("Name:=?...?=", "H=?..?=hn") are decoded, B text may lack padding or hold
 * junk (skipped), Q text may hold spaces.  Whitespace between two decoded
 * words is dropped (RFC 2047 6.2).  Arkime keeps it when the first word is
 * glued to preceding text; we do not.
 *
 * iconv descriptors are cached per thread (__thread, workers are threads),
 * eight slots with LRU replacement, failures cached too so an unknown name
 * costs one iconv_open until evicted.  Rejected: one iconv_open
 * per word (a gconv lookup each time) and a shared cache (needs a lock, and
 * a descriptor holds conversion state).  The output is capped at one arena
 * block (about 16 KiB); past it the text is cut.
 */
#include "msghdr.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#define RFC2047_CSMAX      40u     /* longest charset name accepted */
#define RFC2047_CACHE      8u
#define RFC2047_SCRATCH    1024u
#define RFC2047_ARENA_SLACK 64u

enum rfc2047_kind { CV_NONE = 0, CV_UTF8, CV_1252, CV_ICONV };

struct rfc2047_word {
	size_t start, end;          /* [start, end) is =?...?= in the value */
	const uint8_t *cs;          /* charset without *lang */
	size_t cslen;
	uint8_t enc;                /* 'B' or 'Q' */
	const uint8_t *text;
	size_t tlen;
};

struct rfc2047_conv {
	enum rfc2047_kind kind;
	iconv_t cd;
	char name[RFC2047_CSMAX + 1];   /* lowercased label, run identity */
};

struct rfc2047_out {
	uint8_t *p;
	size_t len, cap;
	int full;
};

struct rfc2047_run {
	struct rfc2047_conv cv;
	int active;
	uint8_t buf[RFC2047_SCRATCH];
	size_t len;
};

static __thread struct {
	char name[RFC2047_CSMAX + 1];
	iconv_t cd;
	int used;
	uint64_t tick;              /* last use, for LRU replacement */
} rfc2047_cache[RFC2047_CACHE];
static __thread uint64_t rfc2047_cache_tick;

static const uint16_t rfc2047_cp1252[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static const struct {
	const char *label;
	enum rfc2047_kind kind;
	const char *iconv_name;
} rfc2047_alias[] = {
	{ "utf-8", CV_UTF8, NULL },
	{ "utf8", CV_UTF8, NULL },
	{ "us-ascii", CV_1252, NULL },
	{ "ascii", CV_1252, NULL },
	{ "iso-8859-1", CV_1252, NULL },
	{ "iso8859-1", CV_1252, NULL },
	{ "iso_8859-1", CV_1252, NULL },
	{ "latin1", CV_1252, NULL },
	{ "l1", CV_1252, NULL },
	{ "windows-1252", CV_1252, NULL },
	{ "cp1252", CV_1252, NULL },
	{ "x-cp1252", CV_1252, NULL },
	{ "gb2312", CV_ICONV, "GB18030" },
	{ "gbk", CV_ICONV, "GB18030" },
	{ "x-gbk", CV_ICONV, "GB18030" },
	{ "cp936", CV_ICONV, "GB18030" },
	{ "euc-cn", CV_ICONV, "GB18030" },
	{ "euc-kr", CV_ICONV, "CP949" },
	{ "ks_c_5601-1987", CV_ICONV, "CP949" },
	{ "ks_c_5601", CV_ICONV, "CP949" },
	{ "shift_jis", CV_ICONV, "CP932" },
	{ "shift-jis", CV_ICONV, "CP932" },
	{ "sjis", CV_ICONV, "CP932" },
	{ "x-sjis", CV_ICONV, "CP932" },
	{ "windows-31j", CV_ICONV, "CP932" },
	{ "big5", CV_ICONV, "BIG5-HKSCS" },
	{ "iso-8859-8-i", CV_ICONV, "ISO-8859-8" },
	{ "windows-874", CV_ICONV, "CP874" },
	{ "unknown-8bit", CV_NONE, NULL },
	{ "x-unknown", CV_NONE, NULL },
	{ "unknown", CV_NONE, NULL },
};

static int
rfc2047_cs_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '+' || c == ':';
}

/* Is an encoded word at p[i]?  Fills w. */
static int
rfc2047_parse(const uint8_t *p, size_t n, size_t i, struct rfc2047_word *w)
{
	size_t j, cs, star, k;
	uint8_t e;

	if (i + 2 > n || p[i] != '=' || p[i + 1] != '?')
		return 0;
	cs = i + 2;
	star = 0;
	for (j = cs; j < n && p[j] != '?'; j++) {
		if (p[j] == '*' && star == 0) {
			star = j;
			continue;
		}
		if (j - cs >= 2 * RFC2047_CSMAX || p[j] <= ' ' || p[j] >= 127 ||
		    p[j] == '=')
			return 0;
	}
	if (j + 3 > n || p[j] != '?')
		return 0;
	w->cs = p + cs;
	w->cslen = (star ? star : j) - cs;
	if (w->cslen == 0)
		return 0;
	e = p[j + 1];
	if (e == 'b' || e == 'B')
		w->enc = 'B';
	else if (e == 'q' || e == 'Q')
		w->enc = 'Q';
	else
		return 0;
	if (p[j + 2] != '?')
		return 0;
	for (k = j + 3; k < n && p[k] != '?'; k++) {
		if (p[k] == '\r' || p[k] == '\n')
			return 0;
	}
	if (k + 1 >= n || p[k + 1] != '=')
		return 0;
	w->start = i;
	w->text = p + j + 3;
	w->tlen = k - (j + 3);
	w->end = k + 2;
	return 1;
}

static iconv_t
rfc2047_cache_get(const char *name)
{
	unsigned i, lru = 0;
	iconv_t cd;

	rfc2047_cache_tick++;
	for (i = 0; i < RFC2047_CACHE; i++) {
		if (rfc2047_cache[i].used &&
		    strcmp(rfc2047_cache[i].name, name) == 0) {
			rfc2047_cache[i].tick = rfc2047_cache_tick;
			return rfc2047_cache[i].cd;
		}
		if (!rfc2047_cache[i].used)
			lru = i;
		else if (rfc2047_cache[lru].used &&
		    rfc2047_cache[i].tick < rfc2047_cache[lru].tick)
			lru = i;
	}
	cd = iconv_open("UTF-8", name);
	i = lru;
	if (rfc2047_cache[i].used && rfc2047_cache[i].cd != (iconv_t)-1)
		iconv_close(rfc2047_cache[i].cd);
	strcpy(rfc2047_cache[i].name, name);
	rfc2047_cache[i].cd = cd;
	rfc2047_cache[i].used = 1;
	rfc2047_cache[i].tick = rfc2047_cache_tick;
	return cd;
}

void
msghdr_decode_release(void)
{
	unsigned i;

	for (i = 0; i < RFC2047_CACHE; i++) {
		if (rfc2047_cache[i].used && rfc2047_cache[i].cd != (iconv_t)-1)
			iconv_close(rfc2047_cache[i].cd);
		rfc2047_cache[i].used = 0;
	}
}

/* The converter of a word's charset; CV_NONE when unknown. */
static void
rfc2047_resolve(const struct rfc2047_word *w, struct rfc2047_conv *cv)
{
	size_t i;
	const char *iname;

	cv->kind = CV_NONE;
	cv->cd = (iconv_t)-1;
	cv->name[0] = '\0';
	if (w->cslen > RFC2047_CSMAX)
		return;
	for (i = 0; i < w->cslen; i++) {
		uint8_t c = w->cs[i];
		if (!rfc2047_cs_char(c)) {
			cv->name[0] = '\0';
			return;
		}
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		cv->name[i] = (char)c;
	}
	cv->name[w->cslen] = '\0';
	iname = cv->name;
	for (i = 0; i < sizeof(rfc2047_alias) / sizeof(rfc2047_alias[0]); i++) {
		if (strcmp(rfc2047_alias[i].label, cv->name) == 0) {
			if (rfc2047_alias[i].kind != CV_ICONV) {
				cv->kind = rfc2047_alias[i].kind;
				return;
			}
			iname = rfc2047_alias[i].iconv_name;
			break;
		}
	}
	cv->cd = rfc2047_cache_get(iname);
	if (cv->cd != (iconv_t)-1)
		cv->kind = CV_ICONV;
}

/* 1 if the word's charset label (case-insensitive) is the run's. */
static int
rfc2047_same_label(const struct rfc2047_run *r, const struct rfc2047_word *w)
{
	size_t i;

	if (!r->active || w->cslen != strlen(r->cv.name))
		return 0;
	for (i = 0; i < w->cslen; i++) {
		uint8_t c = w->cs[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		if ((char)c != r->cv.name[i])
			return 0;
	}
	return 1;
}

static void
rfc2047_put(struct rfc2047_out *o, const void *p, size_t n)
{
	if (o->full)
		return;
	if (n > o->cap - o->len) {
		n = o->cap - o->len;
		o->full = 1;
	}
	if (n > 0)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
rfc2047_put_cp(struct rfc2047_out *o, uint32_t u)
{
	uint8_t b[3];

	if (u < 0x80) {
		b[0] = (uint8_t)u;
		rfc2047_put(o, b, 1);
	} else if (u < 0x800) {
		b[0] = (uint8_t)(0xc0 | (u >> 6));
		b[1] = (uint8_t)(0x80 | (u & 0x3f));
		rfc2047_put(o, b, 2);
	} else {
		b[0] = (uint8_t)(0xe0 | (u >> 12));
		b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (u & 0x3f));
		rfc2047_put(o, b, 3);
	}
}

/* Convert the scratch buffer; keeps an incomplete tail unless final. */
static void
rfc2047_flush(struct rfc2047_run *r, struct rfc2047_out *o, int final)
{
	size_t i, il, ol, before;
	char *ip, *op;
	uint8_t c;

	switch (r->cv.kind) {
	case CV_UTF8:
		rfc2047_put(o, r->buf, r->len);
		r->len = 0;
		break;
	case CV_1252:
		for (i = 0; i < r->len; i++) {
			c = r->buf[i];
			if (c >= 0x80 && c < 0xa0)
				rfc2047_put_cp(o, rfc2047_cp1252[c - 0x80]);
			else
				rfc2047_put_cp(o, c);
		}
		r->len = 0;
		break;
	case CV_ICONV:
		ip = (char *)r->buf;
		il = r->len;
		while (il > 0 && !o->full) {
			op = (char *)o->p + o->len;
			ol = o->cap - o->len;
			before = il;
			if (iconv(r->cv.cd, &ip, &il, &op, &ol) != (size_t)-1) {
				o->len = (size_t)((uint8_t *)op - o->p);
				break;
			}
			o->len = (size_t)((uint8_t *)op - o->p);
			if (errno == E2BIG) {
				o->full = 1;
				break;
			}
			if (errno == EINVAL && !final &&
			    !(il == before && il == sizeof(r->buf)))
				break;
			/* EILSEQ, or an incomplete sequence at the end */
			rfc2047_put_cp(o, 0xfffd);
			ip++;
			il--;
		}
		if (final || o->full) {
			r->len = 0;
			iconv(r->cv.cd, NULL, NULL, NULL, NULL);
		} else {
			memmove(r->buf, ip, il);
			r->len = il;
		}
		break;
	case CV_NONE:
		r->len = 0;
		break;
	}
}

static void
rfc2047_run_end(struct rfc2047_run *r, struct rfc2047_out *o)
{
	if (r->active)
		rfc2047_flush(r, o, 1);
	r->active = 0;
	r->len = 0;
}

static void
rfc2047_run_byte(struct rfc2047_run *r, struct rfc2047_out *o, uint8_t c)
{
	if (r->len == sizeof(r->buf))
		rfc2047_flush(r, o, 0);
	if (r->len < sizeof(r->buf))
		r->buf[r->len++] = c;
}

static int
rfc2047_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
rfc2047_b64(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static void
rfc2047_word_decode(const struct rfc2047_word *w, struct rfc2047_run *r,
    struct rfc2047_out *o)
{
	size_t i;
	uint32_t acc = 0;
	unsigned bits = 0;
	int v, hi, lo;

	if (w->enc == 'B') {
		for (i = 0; i < w->tlen; i++) {
			v = rfc2047_b64(w->text[i]);
			if (v < 0)
				continue;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				rfc2047_run_byte(r, o, (uint8_t)(acc >> bits));
				acc &= (1u << bits) - 1;
			}
		}
		return;
	}
	for (i = 0; i < w->tlen; i++) {
		uint8_t c = w->text[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < w->tlen) {
			hi = rfc2047_hex(w->text[i + 1]);
			lo = rfc2047_hex(w->text[i + 2]);
			if (hi >= 0 && lo >= 0) {
				c = (uint8_t)(hi << 4 | lo);
				i += 2;
			}
		}
		rfc2047_run_byte(r, o, c);
	}
}

static size_t
rfc2047_block_room(const struct arena *a)
{
	size_t sz;

	if (a == NULL || a->pool == NULL)
		return 0;
	sz = pool_obj_size(a->pool);
	return sz > RFC2047_ARENA_SLACK ? sz - RFC2047_ARENA_SLACK : 0;
}

static int
rfc2047_lwsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The converter for w.  A run in another charset is ended first: resolving
 * may evict a cached descriptor, and never the one of a live run.
 */
static void
rfc2047_word_conv(struct rfc2047_run *r, struct rfc2047_out *o,
    const struct rfc2047_word *w, struct rfc2047_conv *cv)
{
	if (rfc2047_same_label(r, w)) {
		*cv = r->cv;
		return;
	}
	rfc2047_run_end(r, o);
	rfc2047_resolve(w, cv);
}

int
msghdr_decode_value(struct arena *a, struct bstr in, struct bstr *out)
{
	const uint8_t *p = in.p;
	size_t n = in.len, i, j, bound = 0, nwords = 0, room;
	struct rfc2047_word w, w2;
	struct rfc2047_out o;
	struct rfc2047_run run;
	struct rfc2047_conv cv, cv2;
	int prev_decoded = 0;

	*out = in;
	if (p == NULL || n < 8)
		return 0;
	for (i = 0; i < n;) {
		const uint8_t *q = memchr(p + i, '=', n - i);
		if (q == NULL) {
			bound += n - i;
			break;
		}
		j = (size_t)(q - p);
		bound += j - i;
		if (rfc2047_parse(p, n, j, &w)) {
			size_t dec = w.enc == 'B' ? w.tlen * 3 / 4 + 3 : w.tlen;
			size_t wl = w.end - w.start;
			dec = dec * 3 + 6;
			bound += dec > wl ? dec : wl;
			nwords++;
			i = w.end;
		} else {
			bound++;
			i = j + 1;
		}
	}
	if (nwords == 0)
		return 0;
	room = rfc2047_block_room(a);
	if (bound > room)
		bound = room;
	if (bound == 0)
		return -1;
	o.p = arena_alloc(a, bound);
	if (o.p == NULL)
		return -1;
	o.len = 0;
	o.cap = bound;
	o.full = 0;
	run.active = 0;
	run.len = 0;
	for (i = 0; i < n && !o.full;) {
		if (p[i] == '=' && rfc2047_parse(p, n, i, &w)) {
			rfc2047_word_conv(&run, &o, &w, &cv);
			if (cv.kind == CV_NONE) {
				rfc2047_put(&o, p + w.start, w.end - w.start);
				prev_decoded = 0;
				i = w.end;
				continue;
			}
			if (!run.active) {
				run.cv = cv;
				run.active = 1;
			}
			rfc2047_word_decode(&w, &run, &o);
			prev_decoded = 1;
			i = w.end;
			continue;
		}
		if (prev_decoded && rfc2047_lwsp(p[i])) {
			for (j = i; j < n && rfc2047_lwsp(p[j]); j++)
				;
			if (j < n && rfc2047_parse(p, n, j, &w2)) {
				rfc2047_word_conv(&run, &o, &w2, &cv2);
				if (cv2.kind != CV_NONE) {
					i = j;
					continue;
				}
			}
		}
		rfc2047_run_end(&run, &o);
		prev_decoded = 0;
		for (j = i + 1; j < n && p[j] != '='; j++)
			;
		rfc2047_put(&o, p + i, j - i);
		i = j;
	}
	rfc2047_run_end(&run, &o);
	*out = bstr_make(o.p, o.len);
	return 0;
}
