/*
 * evbuf.c - a worker's batch of finished JSON lines.
 *
 * Design: events are written into the free tail of the buffer, with no
 * intermediate string and no per-event malloc, in one of two ways.
 *
 * In place (evbuf_begin/evbuf_commit, the per-transaction events): a jw
 * writer appends at b->len, and b->len moves only at commit, so dropping
 * a failed event is leaving b->len where it was.  When the tail is full
 * mid-event, the grow hook sends the lines before the event to the sink
 * and moves the partial event to the start of the buffer; an event larger
 * than the whole buffer grows it (doubling, up to EVBUF_MAX_EVENT; past
 * that the writer fails and the event is dropped and counted: one 16 MiB
 * line is already useless to a SIEM).
 *
 * From a json_t (evbuf_put, the rare events): jansson serialises with
 * json_dumpb, which returns the size the event needs; when that does not
 * fit the tail the buffer is flushed and the event written again at the
 * start, and an event larger than the whole buffer grows it, capped the
 * same way.  Keys in insertion order (jansson >= 2.8 keeps it; the
 * JSON_PRESERVE_ORDER flag is passed anyway for older builds).
 *
 * Either way, after a flush an oversized buffer shrinks back to its base
 * size so a single huge event does not pin memory for the rest of the run.
 * Lines are compact JSON, UTF-8 kept as is (strings are made valid by jw
 * or jstr).  Rejected: json_dumps + memcpy (one malloc and copy per event)
 * and json_dump_callback (many small callbacks and no way to undo a half
 * event).
 */
#include "evbuf.h"

#include <stdlib.h>
#include <string.h>

#define EVBUF_DEFAULT_FLUSH (256 * 1024)
#define EVBUF_SLACK (64 * 1024)
#define EVBUF_MAX_EVENT (16 * 1024 * 1024)
#define EVBUF_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static size_t
evbuf_base_cap(const struct evbuf *b)
{
	return b->flush_at + EVBUF_SLACK;
}

int
evbuf_init(struct evbuf *b, struct sink *s, size_t flush_at)
{
	memset(b, 0, sizeof(*b));
	if (flush_at == 0)
		flush_at = EVBUF_DEFAULT_FLUSH;
	if (flush_at > EVBUF_MAX_EVENT)
		flush_at = EVBUF_MAX_EVENT;
	b->sink = s;
	b->flush_at = flush_at;
	b->cap = evbuf_base_cap(b);
	b->buf = malloc(b->cap);
	if (b->buf == NULL) {
		b->cap = 0;
		return -1;
	}
	return 0;
}

void
evbuf_free(struct evbuf *b)
{
	if (b->buf != NULL)
		evbuf_flush(b);
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void
evbuf_flush(struct evbuf *b)
{
	char *nb;

	if (b->len > 0 && b->sink != NULL)
		sink_write(b->sink, b->buf, b->len, b->lines);
	b->len = 0;
	b->lines = 0;
	if (b->cap > evbuf_base_cap(b)) {
		nb = realloc(b->buf, evbuf_base_cap(b));
		if (nb != NULL) {
			b->buf = nb;
			b->cap = evbuf_base_cap(b);
		}
	}
}

/*
 * Serialise at the tail.  1 if the line was placed, 0 if it needs more
 * room (*need set to the serialised size), -1 if jansson failed.
 */
static int
evbuf_dump(struct evbuf *b, const json_t *obj, size_t *need)
{
	size_t room, n;

	/* keep one byte for the '\n' */
	room = b->cap > b->len ? b->cap - b->len - 1 : 0;

	n = json_dumpb(obj, b->buf + b->len, room, EVBUF_FLAGS);
	if (n == 0)
		return -1;
	*need = n;
	if (n > room)
		return 0;
	b->len += n;
	b->buf[b->len++] = '\n';
	b->lines++;
	return 1;
}

/* Lines before the open event go to the sink; the event moves to 0. */
static void
evbuf_send_before(struct evbuf *b, struct jw *w)
{
	size_t ev = w->len - b->len;

	if (b->sink != NULL)
		sink_write(b->sink, b->buf, b->len, b->lines);
	memmove(b->buf, b->buf + b->len, ev);
	w->len = ev;
	b->len = 0;
	b->lines = 0;
}

/* jw's grow hook: room for `need` more bytes of the event at b->len. */
static int
evbuf_grow(struct jw *w, size_t need)
{
	struct evbuf *b = w->owner;
	size_t limit = EVBUF_MAX_EVENT + 1, ncap;
	char *nb;

	if (b->len > 0) {
		evbuf_send_before(b, w);
		if (w->cap - w->len >= need)
			return 0;
	}
	/* the event and its newline: at most EVBUF_MAX_EVENT + 1 bytes */
	if (w->len > limit || need > limit - w->len)
		return -1;
	ncap = w->cap < limit / 2 ? 2 * w->cap : limit;
	if (ncap < w->len + need)
		ncap = w->len + need;
	nb = realloc(b->buf, ncap);
	if (nb == NULL)
		return -1;
	b->buf = w->buf = nb;
	b->cap = w->cap = ncap;
	return 0;
}

struct jw *
evbuf_begin(struct evbuf *b)
{
	jw_init(&b->jw, b->buf, b->len, b->cap, evbuf_grow, b);
	if (b->buf == NULL)
		b->jw.failed = 1;
	return &b->jw;
}

int
evbuf_commit(struct evbuf *b)
{
	struct jw *w = &b->jw;

	if (w->len > b->len)
		jw_raw(w, "\n", 1);
	if (!jw_ok(w) || w->len <= b->len + 1) {
		b->dropped++;
		if (b->cap > evbuf_base_cap(b))
			evbuf_flush(b);
		return -1;
	}
	b->len = w->len;
	b->lines++;
	b->events++;
	if (b->len >= b->flush_at)
		evbuf_flush(b);
	return 0;
}

int
evbuf_put(struct evbuf *b, const json_t *obj)
{
	size_t need = 0, ncap;
	char *nb;
	int r;

	if (obj == NULL || b->buf == NULL)
		goto drop;
	r = evbuf_dump(b, obj, &need);
	if (r == 0 && b->len > 0) {
		evbuf_flush(b);
		r = evbuf_dump(b, obj, &need);
	}
	if (r == 0) {
		/* Alone in the buffer and still too big: grow, capped. */
		if (need > EVBUF_MAX_EVENT)
			goto drop;
		ncap = need + 1;
		nb = realloc(b->buf, ncap);
		if (nb == NULL)
			goto drop;
		b->buf = nb;
		b->cap = ncap;
		r = evbuf_dump(b, obj, &need);
	}
	if (r != 1)
		goto drop;
	b->events++;
	if (b->len >= b->flush_at)
		evbuf_flush(b);
	return 0;
drop:
	b->dropped++;
	return -1;
}
