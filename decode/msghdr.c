/*
 * msghdr.c - incremental reader of a message's header section.
 *
 * Design: a five-state line machine (msghdr.h) driven byte by byte at line
 * ends and run by run inside a line, so any chunking of the same message
 * gives the same fields, the same header_bytes and the same split between
 * header and body.  The logical line being assembled (folds joined) is
 * written straight into an arena chunk, and a finished field stays where it
 * was written: name and value are slices of the chunk, so a field is copied
 * at most once, when it does not fit in the rest of a chunk and moves to a
 * fresh one.  Chunks start at MSGHDR_CHUNK_MIN and are never larger than an
 * arena block, so one field keeps at most a block (about 16 KiB) and the
 * section at most `max_bytes`; anything past that is counted, not stored.
 * The field array doubles inside the arena and so is limited to one block
 * too (the effective field cap is the smaller of max_fields and that).
 *
 * A line is a field when it starts with a name (printable bytes, trailing
 * WSP allowed before the colon, no WSP inside) and a colon.  Other lines in
 * the section - a mbox "From " line, junk, a first line of a message that
 * has no header at all - are skipped and counted in `bad_lines`; they do
 * not end the section.  Rejected: ending the section at the first non-field
 * line (Postfix inserts a blank line there).  The decision could only be
 * taken after the start of that line was already returned as header bytes,
 * so the header/body split would depend on the chunking; callers who care
 * see `bad_lines`.
 *
 * A CR not followed by LF is data; the empty line is CRLF CRLF, LF LF,
 * CRLF LF or LF CRLF.  Running out of arena counts as a cap too (capped is
 * set, SMTP_SESSION_MEMCAP is reported once).
 */
#include "msghdr.h"

#include <string.h>

#define MSGHDR_DEF_BYTES   65536u
#define MSGHDR_DEF_FIELDS  1024u
#define MSGHDR_CHUNK_MIN   4096u
#define MSGHDR_FIELDS_MIN  16u
/* conservative arena block overhead (pool.c uses 16 bytes) */
#define MSGHDR_ARENA_SLACK 64u

/* cur_flags */
#define CF_ACTIVE   0x01        /* a line is being assembled */
#define CF_COLON    0x02        /* its colon was seen */
#define CF_BAD      0x04        /* it cannot be a field */
#define CF_TRUNC    0x08        /* bytes of it were not stored */
#define CF_NAMEWSP  0x10        /* WSP seen in the name part */
#define CF_NAMECH   0x20        /* a name byte was seen */
#define CF_CREMPTY  0x40        /* the CR in AFTER_CR began an empty line */

/* report_flags */
#define RF_CAP      0x01
#define RF_MEM      0x02

static size_t
msghdr_block_room(const struct arena *a)
{
	size_t sz;

	if (a == NULL || a->pool == NULL)
		return 0;
	sz = pool_obj_size(a->pool);
	return sz > MSGHDR_ARENA_SLACK ? sz - MSGHDR_ARENA_SLACK : 0;
}

void
msghdr_init(struct msghdr_section *h, struct arena *a, const struct msghdr_config *cfg)
{
	size_t room, maxf;

	memset(h, 0, sizeof(*h));
	h->arena = a;
	if (cfg != NULL)
		h->cfg = *cfg;
	if (h->cfg.max_bytes == 0)
		h->cfg.max_bytes = MSGHDR_DEF_BYTES;
	if (h->cfg.max_fields == 0)
		h->cfg.max_fields = MSGHDR_DEF_FIELDS;
	room = msghdr_block_room(a);
	maxf = room / sizeof(struct msghdr_field);
	if (maxf > h->cfg.max_fields)
		maxf = h->cfg.max_fields;
	h->max_fields_eff = (uint32_t)maxf;
	h->state = MSGHDR_LINE_START;
}

static void
msghdr_set_capped(struct msghdr_section *h)
{
	h->capped = 1;
	if (!(h->report_flags & RF_CAP)) {
		h->report_flags |= RF_CAP;
		if (h->anomaly_out != NULL)
			h->anomaly_out(h->anomaly_u, ANOM_SMTP_HEADER_TOO_LONG);
	}
}

static void
msghdr_set_memfail(struct msghdr_section *h)
{
	h->capped = 1;
	if (!(h->report_flags & RF_MEM)) {
		h->report_flags |= RF_MEM;
		if (h->anomaly_out != NULL)
			h->anomaly_out(h->anomaly_u, ANOM_SMTP_SESSION_MEMCAP);
	}
}

/* Make room for `n` more bytes of the current field; returns bytes usable. */
/*
 * Grow the line store when it is full.  Growth happens only when the
 * current chunk is completely used and its new size depends only on the
 * bytes already stored, never on how many bytes this call brings, so the
 * same header gives the same chunks (and hits the same caps) however the
 * stream was cut into segments.  Returns 0, or -1 (truncated: a cap or the
 * arena ran out).
 */
static int
msghdr_grow(struct msghdr_section *h)
{
	size_t part, sz, room;
	uint8_t *nb;

	part = h->line != NULL ? h->line_len - h->cur_start : 0;
	room = msghdr_block_room(h->arena);
	if (part >= room) {
		h->cur_flags |= CF_TRUNC;
		return -1;
	}
	sz = part * 2;
	if (sz < MSGHDR_CHUNK_MIN)
		sz = MSGHDR_CHUNK_MIN;
	if (sz > room)
		sz = room;
	nb = arena_alloc(h->arena, sz);
	if (nb == NULL) {
		h->cur_flags |= CF_TRUNC;
		msghdr_set_memfail(h);
		return -1;
	}
	if (part > 0)
		memcpy(nb, h->line + h->cur_start, part);
	h->line = nb;
	h->line_alloc = (uint32_t)sz;
	h->line_len = (uint32_t)part;
	h->cur_start = 0;
	return 0;
}

/* Store bytes of the current line, within the caps. */
static void
msghdr_put(struct msghdr_section *h, const uint8_t *p, size_t n)
{
	size_t allowed, k;

	if (n == 0 || (h->cur_flags & (CF_BAD | CF_TRUNC)))
		return;
	allowed = h->cfg.max_bytes > h->stored_bytes ?
	    h->cfg.max_bytes - h->stored_bytes : 0;
	if (n > allowed) {
		n = allowed;
		h->cur_flags |= CF_TRUNC;
	}
	while (n > 0) {
		if (h->line == NULL || h->line_len == h->line_alloc) {
			if (msghdr_grow(h) != 0)
				return;
		}
		k = h->line_alloc - h->line_len;
		if (k > n)
			k = n;
		memcpy(h->line + h->line_len, p, k);
		h->line_len += (uint32_t)k;
		h->stored_bytes += (uint32_t)k;
		p += k;
		n -= k;
	}
}

static void
msghdr_line_begin(struct msghdr_section *h)
{
	h->cur_start = h->line_len;
	h->cur_seen = 0;
	h->colon_off = 0;
	h->cur_flags = CF_ACTIVE;
}

/* Drop the stored bytes of the current line. */
static void
msghdr_line_drop(struct msghdr_section *h)
{
	uint32_t part = h->line_len - h->cur_start;

	h->stored_bytes -= part;
	h->line_len = h->cur_start;
}

static int
msghdr_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int
msghdr_grow_fields(struct msghdr_section *h)
{
	uint32_t n;
	struct msghdr_field *nf;

	if (h->nfields < h->fields_alloc)
		return 0;
	if (h->fields_alloc >= h->max_fields_eff)
		return -1;
	n = h->fields_alloc ? h->fields_alloc * 2 : MSGHDR_FIELDS_MIN;
	if (n > h->max_fields_eff)
		n = h->max_fields_eff;
	nf = arena_alloc(h->arena, (size_t)n * sizeof(*nf));
	if (nf == NULL) {
		msghdr_set_memfail(h);
		return -1;
	}
	if (h->nfields > 0)
		memcpy(nf, h->fields, (size_t)h->nfields * sizeof(*nf));
	h->fields = nf;
	h->fields_alloc = n;
	return 0;
}

/* The current logical line is complete: keep it as a field or skip it. */
static void
msghdr_line_close(struct msghdr_section *h)
{
	uint32_t part, ne, vs, ve;
	const uint8_t *b;
	struct msghdr_field *f;

	if (!(h->cur_flags & CF_ACTIVE))
		return;
	h->cur_flags &= (uint8_t)~CF_ACTIVE;
	if ((h->cur_flags & CF_BAD) || !(h->cur_flags & CF_COLON)) {
		h->bad_lines++;
		msghdr_line_drop(h);
		return;
	}
	part = h->line_len - h->cur_start;
	b = h->line != NULL ? h->line + h->cur_start : NULL;
	if (b == NULL || h->colon_off >= part || b[h->colon_off] != ':') {
		/* the name itself was not stored */
		h->fields_dropped++;
		msghdr_line_drop(h);
		msghdr_set_capped(h);
		return;
	}
	if (msghdr_grow_fields(h) != 0) {
		h->fields_dropped++;
		msghdr_line_drop(h);
		msghdr_set_capped(h);
		return;
	}
	ne = h->colon_off;
	while (ne > 0 && msghdr_wsp(b[ne - 1]))
		ne--;
	vs = h->colon_off + 1;
	ve = part;
	while (vs < ve && msghdr_wsp(b[vs]))
		vs++;
	while (ve > vs && (msghdr_wsp(b[ve - 1]) || b[ve - 1] == '\r'))
		ve--;
	f = &h->fields[h->nfields++];
	f->name = bstr_make(b, ne);
	f->value = bstr_make(b + vs, ve - vs);
	if (h->cur_flags & CF_TRUNC)
		msghdr_set_capped(h);
}

/* Bytes of the current line, no CR or LF among them. */
static void
msghdr_line_bytes(struct msghdr_section *h, const uint8_t *p, size_t n)
{
	size_t k = 0;
	uint8_t c;

	if (!(h->cur_flags & CF_COLON)) {
		for (; k < n && !(h->cur_flags & CF_BAD); k++) {
			c = p[k];
			if (c == ':') {
				if (!(h->cur_flags & CF_NAMECH)) {
					h->cur_flags |= CF_BAD;
					break;
				}
				h->cur_flags |= CF_COLON;
				h->colon_off = h->cur_seen + (uint32_t)k;
				k++;
				break;
			}
			if (msghdr_wsp(c)) {
				h->cur_flags |= CF_NAMEWSP;
			} else if (c < 33 || c == 127 ||
			    (h->cur_flags & CF_NAMEWSP)) {
				h->cur_flags |= CF_BAD;
				break;
			} else {
				h->cur_flags |= CF_NAMECH;
			}
			/* keeps colon_off exact below 4 GiB; capped above */
			if (h->cur_seen + k + 1 >= UINT32_MAX) {
				h->cur_flags |= CF_BAD;
				break;
			}
		}
		if (h->cur_flags & CF_BAD)
			return;
		h->cur_seen += (uint32_t)k;
		msghdr_put(h, p, k);
	}
	msghdr_put(h, p + k, n - k);
}

static size_t
msghdr_end(struct msghdr_section *h, size_t used)
{
	msghdr_line_close(h);
	h->state = MSGHDR_DONE;
	h->done = 1;
	h->header_bytes += used;
	return used;
}

size_t
msghdr_feed(struct msghdr_section *h, const uint8_t *d, size_t n)
{
	size_t i = 0, j;
	uint8_t c;

	if (h->done || d == NULL || n == 0)
		return 0;
	while (i < n) {
		c = d[i];
		switch (h->state) {
		case MSGHDR_LINE_START:
		case MSGHDR_AFTER_LF:
			if (c == '\n')
				return msghdr_end(h, i + 1);
			if (c == '\r') {
				h->cur_flags |= CF_CREMPTY;
				h->state = MSGHDR_AFTER_CR;
				i++;
				break;
			}
			if (!msghdr_wsp(c) || h->state == MSGHDR_LINE_START ||
			    !(h->cur_flags & CF_ACTIVE)) {
				msghdr_line_close(h);
				msghdr_line_begin(h);
			}
			/* a fold: the WSP stays and the line goes on */
			h->state = MSGHDR_IN_LINE;
			break;
		case MSGHDR_AFTER_CR:
			if (c == '\n') {
				i++;
				if (h->cur_flags & CF_CREMPTY)
					return msghdr_end(h, i);
				h->state = MSGHDR_AFTER_LF;
				break;
			}
			if (h->cur_flags & CF_CREMPTY) {
				h->cur_flags &= (uint8_t)~CF_CREMPTY;
				msghdr_line_close(h);
				msghdr_line_begin(h);
			}
			/* a lone CR is data */
			msghdr_line_bytes(h, (const uint8_t *)"\r", 1);
			h->state = MSGHDR_IN_LINE;
			break;
		case MSGHDR_IN_LINE:
			for (j = i; j < n && d[j] != '\r' && d[j] != '\n'; j++)
				;
			msghdr_line_bytes(h, d + i, j - i);
			i = j;
			if (i < n) {
				h->state = d[i] == '\r' ? MSGHDR_AFTER_CR :
				    MSGHDR_AFTER_LF;
				i++;
			}
			break;
		case MSGHDR_DONE:
			return 0;
		}
	}
	h->header_bytes += n;
	return n;
}

void
msghdr_finish(struct msghdr_section *h)
{
	if (h->done)
		return;
	msghdr_line_close(h);
	h->state = MSGHDR_DONE;
	h->done = 1;
}

const struct msghdr_field *
msghdr_find(const struct msghdr_section *h, const char *name, unsigned nth)
{
	uint32_t i;

	for (i = 0; i < h->nfields; i++) {
		if (bstr_ieq(h->fields[i].name, name)) {
			if (nth == 0)
				return &h->fields[i];
			nth--;
		}
	}
	return NULL;
}
