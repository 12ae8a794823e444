/*
 * event.c - the events of spec/events.md, written as JSON text.
 *
 * Design: each event is written in the contract's field order by a jw
 * writer straight into the worker's evbuf (evbuf_begin ... evbuf_commit):
 * no object tree, no malloc per field.  Every string that came off the
 * wire goes through jw_str, which keeps valid UTF-8 and writes each
 * invalid byte as `\xNN` exactly as jstr does, so a line is valid JSON
 * whatever the bytes.  Fields are only written when the decoder saw them
 * (has_helo, has_mail_from, ...), so an absent field means "not seen" and
 * an empty string means "seen, empty" (the null sender is "").  A write
 * that fails (the buffer cannot grow) fails the writer for good and
 * evbuf_commit drops the event whole and counts it, never written half.
 *
 * The jansson forms (event_new, event_smtp_object, event_email_object:
 * the stats event, the fuzzer, the tests) are the same writer's text
 * parsed back with json_loadb, so there is one definition of each field
 * and the fuzzer's parse check covers the text the program writes.
 *
 * Header values for `email` are RFC 2047-decoded (msghdr_decode_value, into
 * the caller's scratch arena) and trimmed; Date, Message-ID and In-Reply-To
 * are kept as written (trimmed): their grammar has no encoded words and a
 * forged one is evidence.  To and Cc collect the addresses of every such
 * header, capped at EVENT_MAX_ADDRS each.
 *
 * Addresses are printed here rather than with inet_ntop(3): <arpa/inet.h>
 * pulls in <sys/socket.h>, whose POSIX `struct msghdr` clashed with the
 * one decode/msghdr.h had before it became msghdr_section.  The output
 * matches glibc's inet_ntop (RFC 5952: lowercase, the first longest run of
 * two or more zero groups as "::", ::ffff:a.b.c.d and ::a.b.c.d in dotted
 * form).  IPv4 addresses and the timestamp, on every event, are formatted
 * digit by digit: snprintf cost more than the rest of the event head.
 *
 * A hand-written JSON printer was first rejected (escaping done twice, and
 * jansson was already the contract's writer).  The decision is reversed
 * for speed: building the jansson objects (a malloc and free per field)
 * and json_dumpb cost ~270k instructions per SMTP transaction, most of the
 * output path, against ~30k now.  The escaping is still defined once: jw
 * uses jstr's UTF-8 check, and test_jw holds jw's text to jansson's for
 * every byte value.  Rejected: building `smtp` inside the decoder (the
 * decoder stays free of output concerns).
 */
#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_MAX_ADDRS 1000

static const char *event_sensor_default;

void
event_set_sensor(const char *sensor)
{
	event_sensor_default = sensor;
}

/* v as exactly `width` decimal digits, zero-padded; the end. */
static char *
event_digits(char *o, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		o[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + width;
}

/* One field of the timestamp and the separator after it. */
static char *
event_ts_field(char *o, int v, int width, char sep)
{
	o = event_digits(o, v > 0 ? (unsigned)v : 0, width);
	*o++ = sep;
	return o;
}

void
event_format_ts(uint64_t ts_us, char out[40])
{
	/* Past 9999-12-31 the year would not fit the format: clamp. */
	uint64_t s = ts_us / 1000000 > 253402300799ULL ? 253402300799ULL :
	    ts_us / 1000000;
	time_t sec = (time_t)s;
	struct tm tm;
	char *o = out;

	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	o = event_ts_field(o, tm.tm_year + 1900, 4, '-');
	o = event_ts_field(o, tm.tm_mon + 1, 2, '-');
	o = event_ts_field(o, tm.tm_mday, 2, 'T');
	o = event_ts_field(o, tm.tm_hour, 2, ':');
	o = event_ts_field(o, tm.tm_min, 2, ':');
	o = event_ts_field(o, tm.tm_sec, 2, '.');
	o = event_digits(o, (unsigned)(ts_us % 1000000), 6);
	memcpy(o, "+0000", 6);
}

/* a.b.c.d into buf (at least 16 bytes); the length. */
static size_t
event_format_ip4(const uint8_t *a, char *buf)
{
	size_t o = 0;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			buf[o++] = '.';
		if (a[i] >= 100)
			buf[o++] = (char)('0' + a[i] / 100);
		if (a[i] >= 10)
			buf[o++] = (char)('0' + a[i] / 10 % 10);
		buf[o++] = (char)('0' + a[i] % 10);
	}
	buf[o] = '\0';
	return o;
}

/* inet_ntop of a 4- or 16-byte address into buf (at least 46 bytes). */
void
event_format_ip(int ipver, const uint8_t *a, char *buf, size_t len)
{
	unsigned w[8];
	int i, best = -1, bestlen = 0, cur = -1, curlen = 0;
	size_t o = 0;
	char v4[16];

	if (ipver != 6) {
		/* snprintf's truncation, without snprintf (every event) */
		o = event_format_ip4(a, v4);
		if (len == 0)
			return;
		if (o >= len)
			o = len - 1;
		memcpy(buf, v4, o);
		buf[o] = '\0';
		return;
	}
	for (i = 0; i < 8; i++) {
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0) {
				cur = i;
				curlen = 0;
			}
			curlen++;
			if (curlen > bestlen) {
				best = cur;
				bestlen = curlen;
			}
		} else
			cur = -1;
	}
	if (bestlen < 2)
		best = -1;
	for (i = 0; i < 8 && o < len; i++) {
		if (best >= 0 && i >= best && i < best + bestlen) {
			if (i == best)
				o += (size_t)snprintf(buf + o, len - o, ":");
			continue;
		}
		if (i > 0)
			o += (size_t)snprintf(buf + o, len - o, ":");
		if (i == 6 && best == 0 && (bestlen == 6 ||
		    (bestlen == 5 && w[5] == 0xffff))) {
			snprintf(buf + o, len - o, "%u.%u.%u.%u", a[12], a[13],
			    a[14], a[15]);
			return;
		}
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%x", w[i]);
	}
	if (best >= 0 && best + bestlen == 8 && o < len)
		snprintf(buf + o, len - o, ":");
}

static void
event_ip(struct jw *w, const char *key, int ipver, const uint8_t *a)
{
	char buf[64];

	event_format_ip(ipver, a, buf, sizeof(buf));
	jw_kcstr(w, key, buf);
}

/* The opening brace and the fields on every event. */
static void
event_head_sensor(struct jw *w, const char *event_type, uint64_t ts_us,
    const struct event_flow *ef, const char *sensor)
{
	char ts[40];
	int i;

	event_format_ts(ts_us, ts);
	jw_obj(w);
	jw_kcstr(w, "timestamp", ts);
	if (ef != NULL)
		jw_kint(w, "flow_id", (int64_t)ef->flow_id);
	jw_kcstr(w, "event_type", event_type);
	if (ef != NULL) {
		if (ef->vlan_count > 0) {
			jw_key(w, "vlan");
			jw_arr(w);
			for (i = 0; i < ef->vlan_count && i < PKT_MAX_VLAN; i++)
				jw_int(w, ef->vlan[i]);
			jw_arr_end(w);
		}
		event_ip(w, "src_ip", ef->ipver, ef->src);
		jw_kint(w, "src_port", ef->sport);
		event_ip(w, "dest_ip", ef->ipver, ef->dst);
		jw_kint(w, "dest_port", ef->dport);
		jw_kcstr(w, "proto", "TCP");
		if (ef->community_id[0] != '\0')
			jw_kstr(w, "community_id", ef->community_id,
			    strnlen(ef->community_id, sizeof(ef->community_id)));
		if (sensor == NULL)
			sensor = ef->sensor;
	}
	if (sensor == NULL)
		sensor = event_sensor_default;
	if (sensor != NULL)
		jw_kcstr(w, "sensor", sensor);
}

void
event_head(struct jw *w, const char *event_type, uint64_t ts_us,
    const struct event_flow *ef)
{
	event_head_sensor(w, event_type, ts_us, ef, NULL);
}

/* A writer over a malloc'ed buffer, for the jansson forms below. */
static void
event_heap_init(struct jw *w)
{
	jw_init(w, NULL, 0, 0, jw_grow_heap, NULL);
}

/* The heap writer's text parsed back (NULL on out of memory). */
static json_t *
event_heap_parse(struct jw *w)
{
	json_t *o = NULL;

	if (jw_ok(w) && w->len > 0)
		o = json_loadb(w->buf, w->len, JSON_ALLOW_NUL, NULL);
	free(w->buf);
	return o;
}

static json_t *
event_new_sensor(const char *event_type, uint64_t ts_us,
    const struct event_flow *ef, const char *sensor)
{
	struct jw w;

	event_heap_init(&w);
	event_head_sensor(&w, event_type, ts_us, ef, sensor);
	jw_obj_end(&w);
	return event_heap_parse(&w);
}

json_t *
event_new(const char *event_type, uint64_t ts_us, const struct event_flow *ef)
{
	return event_new_sensor(event_type, ts_us, ef, NULL);
}

static void
event_bstr(struct jw *w, const char *key, struct bstr s)
{
	jw_kstr(w, key, s.p, s.len);
}

static const char *
event_status_name(enum smtp_tx_status st)
{
	switch (st) {
	case SMTP_TX_COMPLETE:
		return "COMPLETE";
	case SMTP_TX_ABORTED:
		return "ABORTED";
	case SMTP_TX_TRUNCATED:
		return "TRUNCATED";
	case SMTP_TX_GAP:
		return "GAP";
	}
	return "ABORTED";
}

/* rcpt_to (the addresses) and rcpt ({addr, code} each). */
static void
event_rcpts(struct jw *w, const struct smtp_tx *tx)
{
	uint32_t i, n = tx->rcpt != NULL ? tx->rcpt_count : 0;

	jw_key(w, "rcpt_to");
	jw_arr(w);
	for (i = 0; i < n; i++)
		jw_str(w, tx->rcpt[i].addr.p, tx->rcpt[i].addr.len);
	jw_arr_end(w);
	jw_key(w, "rcpt");
	jw_arr(w);
	for (i = 0; i < n; i++) {
		jw_obj(w);
		event_bstr(w, "addr", tx->rcpt[i].addr);
		jw_key(w, "code");
		if (tx->rcpt[i].code > 0)
			jw_int(w, tx->rcpt[i].code);
		else
			jw_null(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
event_auth(struct jw *w, const struct smtp_tx *tx)
{
	jw_key(w, "auth");
	jw_obj(w);
	event_bstr(w, "mechanism", tx->auth_mech);
	jw_key(w, "success");
	if (tx->auth_success < 0)
		jw_null(w);
	else
		jw_bool(w, tx->auth_success > 0);
	jw_obj_end(w);
}

/* The `smtp` object. */
static void
event_jw_smtp(struct jw *w, const struct smtp_tx *tx)
{
	int is_tx;

	jw_obj(w);
	jw_kint(w, "tx_id", tx->tx_id);
	if (tx->has_helo) {
		event_bstr(w, "helo", tx->helo);
		event_bstr(w, "helo_cmd", tx->helo_cmd);
	}
	if (tx->has_banner)
		event_bstr(w, "banner", tx->banner);
	/* RCPT or DATA without a MAIL FROM is still a transaction (Zeek logs
	 * it too); only the session-only event has no envelope. */
	is_tx = tx->has_mail_from || tx->rcpt_total > 0 || tx->has_data;
	if (tx->has_mail_from)
		event_bstr(w, "mail_from", tx->mail_from);
	if (is_tx) {
		event_rcpts(w, tx);
		if (tx->rcpt_total > tx->rcpt_count)
			jw_kint(w, "rcpt_total", tx->rcpt_total);
	}
	if (tx->has_auth)
		event_auth(w, tx);
	jw_kbool(w, "starttls", tx->starttls);
	jw_kbool(w, "pipelining", tx->pipelining);
	jw_kbool(w, "bdat", tx->bdat);
	if (tx->midstream)
		jw_kbool(w, "midstream", 1);
	if (is_tx) {
		jw_kint(w, "data_bytes", (int64_t)tx->data_bytes);
		jw_kcstr(w, "status", event_status_name(tx->status));
		if (tx->last_reply.len > 0)
			event_bstr(w, "last_reply", tx->last_reply);
		if (tx->queue_id.len > 0)
			event_bstr(w, "queue_id", tx->queue_id);
	}
	jw_obj_end(w);
}

json_t *
event_smtp_object(const struct smtp_tx *tx)
{
	struct jw w;

	event_heap_init(&w);
	event_jw_smtp(&w, tx);
	return event_heap_parse(&w);
}

static struct bstr
event_trim(struct bstr s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t' ||
	    s.p[0] == '\r' || s.p[0] == '\n')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
	    s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

static const struct {
	const char *key, *header;
	int decode;
} event_email_fields[] = {
	{ "from", "From", 1 },
	{ "reply_to", "Reply-To", 1 },
	{ "return_path", "Return-Path", 1 },
	{ "subject", "Subject", 1 },
	{ "date", "Date", 0 },
	{ "message_id", "Message-ID", 0 },
	{ "in_reply_to", "In-Reply-To", 0 },
	{ "x_mailer", "X-Mailer", 1 },
	{ "x_originating_ip", "X-Originating-IP", 1 },
};

/* Addresses of every `header` field, as an array under `key`. */
static void
event_email_addrs(struct jw *w, const char *key,
    const struct msghdr_section *h, const char *header,
    struct arena *scratch)
{
	struct bstr addrs[EVENT_MAX_ADDRS];
	const struct msghdr_field *f;
	unsigned nth, got, i, total = 0;

	if (msghdr_find(h, header, 0) == NULL)
		return;
	jw_key(w, key);
	jw_arr(w);
	for (nth = 0; total < EVENT_MAX_ADDRS &&
	    (f = msghdr_find(h, header, nth)) != NULL; nth++) {
		got = msghdr_addresses(scratch, f->value, addrs,
		    EVENT_MAX_ADDRS - total);
		for (i = 0; i < got; i++)
			jw_str(w, addrs[i].p, addrs[i].len);
		total += got;
	}
	jw_arr_end(w);
}

/* The members of `email` taken from the header section h. */
static void
event_email_members(struct jw *w, const struct msghdr_section *h,
    struct arena *scratch)
{
	const struct msghdr_field *f;
	struct bstr v;
	size_t i;

	for (i = 0; i < sizeof(event_email_fields) /
	    sizeof(event_email_fields[0]); i++) {
		f = msghdr_find(h, event_email_fields[i].header, 0);
		if (f == NULL)
			continue;
		v = f->value;
		if (event_email_fields[i].decode && scratch != NULL &&
		    msghdr_decode_value(scratch, f->value, &v) != 0)
			v = f->value;
		event_bstr(w, event_email_fields[i].key, event_trim(v));
	}
	if (scratch != NULL) {
		event_email_addrs(w, "to", h, "To", scratch);
		event_email_addrs(w, "cc", h, "Cc", scratch);
	}
	jw_kint(w, "header_bytes", (int64_t)h->header_bytes);
	if (h->capped)
		jw_kbool(w, "header_truncated", 1);
}

json_t *
event_email_object(const struct smtp_tx *tx, struct arena *scratch)
{
	struct jw w;

	if (tx->hdr == NULL)
		return NULL;
	event_heap_init(&w);
	jw_obj(&w);
	event_email_members(&w, tx->hdr, scratch);
	jw_obj_end(&w);
	return event_heap_parse(&w);
}

int
event_smtp(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, struct arena *scratch,
    const struct det_result *dr)
{
	struct jw *w = evbuf_begin(b);

	event_head(w, "smtp", tx->ts_us, ef);
	jw_key(w, "smtp");
	event_jw_smtp(w, tx);
	if (tx->hdr != NULL) {
		jw_key(w, "email");
		jw_obj(w);
		event_email_members(w, tx->hdr, scratch);
		if (dr != NULL)
			event_email_add_detect(w, dr);
		jw_obj_end(w);
	}
	if (dr != NULL) {
		jw_key(w, "alerts");
		event_alerts_brief(w, dr);
	}
	jw_obj_end(w);
	return evbuf_commit(b);
}

int
event_anomaly(struct evbuf *b, const struct event_flow *ef, uint64_t ts_us,
    enum anom_id a, int64_t tx_id)
{
	struct jw *w = evbuf_begin(b);

	event_head(w, "anomaly", ts_us, ef);
	jw_key(w, "anomaly");
	jw_obj(w);
	jw_kcstr(w, "type", anom_class_name(a));
	jw_kcstr(w, "event", anom_name(a));
	if (anom_number(a) > 0)
		jw_kint(w, "number", anom_number(a));
	jw_obj_end(w);
	if (tx_id >= 0) {
		jw_key(w, "smtp");
		jw_obj(w);
		jw_kint(w, "tx_id", tx_id);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	return evbuf_commit(b);
}

/* Hand `o` (reference stolen) to the evbuf; NULL counts as dropped. */
static int
event_emit(struct evbuf *b, json_t *o)
{
	int r;

	if (o == NULL) {
		b->dropped++;
		return -1;
	}
	r = evbuf_put(b, o);
	json_decref(o);
	return r;
}

int
event_stats(struct evbuf *b, uint64_t ts_us, const char *sensor,
    json_t *stats)
{
	json_t *o;

	if (stats == NULL)
		return event_emit(b, NULL);
	o = event_new_sensor("stats", ts_us, NULL, sensor);
	if (o == NULL) {
		json_decref(stats);
		return event_emit(b, NULL);
	}
	if (json_object_set_new(o, "stats", stats) != 0) {
		json_decref(o);
		o = NULL;
	}
	return event_emit(b, o);
}
