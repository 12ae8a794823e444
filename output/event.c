/*
 * event.c - the events of spec/events.md as jansson objects.
 *
 * Design: each event is built as a jansson object in the contract's field
 * order (jansson keeps insertion order) and handed to the worker's evbuf,
 * which serialises it into its batch; the object is freed right after.
 * Every string that came off the wire goes through jstr, so a line is valid
 * JSON whatever the bytes.  Fields are only written when the decoder saw
 * them (has_helo, has_mail_from, ...), so an absent field means "not seen"
 * and an empty string means "seen, empty" (the null sender is "").
 * Errors from jansson (out of memory) are OR-ed together and the event is
 * dropped whole and counted in the evbuf, never written half.
 *
 * Header values for `email` are RFC 2047-decoded (msghdr_decode_value, into
 * the caller's scratch arena) and trimmed; Date, Message-ID and In-Reply-To
 * are kept as written (trimmed): their grammar has no encoded words and a
 * forged one is evidence.  To and Cc collect the addresses of every such
 * header, capped at EVENT_MAX_ADDRS each.
 *
 * Addresses are printed here rather than with inet_ntop(3): <arpa/inet.h>
 * pulls in <sys/socket.h>, whose POSIX `struct msghdr_section` clashes with the one
 * of decode/msghdr.h.  The output matches glibc's inet_ntop (RFC 5952:
 * lowercase, the first longest run of two or more zero groups as "::",
 * ::ffff:a.b.c.d and ::a.b.c.d in dotted form).
 *
 * Rejected: a hand-written JSON printer (escaping done twice, and jansson is
 * already the contract's writer) and building `smtp` inside the decoder
 * (the decoder stays free of output concerns).
 */
#include "event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jstr.h"

#define EVENT_MAX_ADDRS 1000

static const char *event_sensor_default;

void
event_set_sensor(const char *sensor)
{
	event_sensor_default = sensor;
}

void
event_format_ts(uint64_t ts_us, char out[40])
{
	/* Past 9999-12-31 the year would not fit the format: clamp. */
	uint64_t s = ts_us / 1000000 > 253402300799ULL ? 253402300799ULL :
	    ts_us / 1000000;
	time_t sec = (time_t)s;
	unsigned usec = (unsigned)(ts_us % 1000000);
	struct tm tm;
	char tmp[96] = { 0 };

	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, usec);
	memcpy(out, tmp, 39);
	out[39] = '\0';
}

/* inet_ntop of a 4- or 16-byte address into buf (at least 46 bytes). */
void
event_format_ip(int ipver, const uint8_t *a, char *buf, size_t len)
{
	unsigned w[8];
	int i, best = -1, bestlen = 0, cur = -1, curlen = 0;
	size_t o = 0;

	if (ipver != 6) {
		snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
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

static int
event_set_ip(json_t *o, const char *key, int ipver, const uint8_t *a)
{
	char buf[64];

	event_format_ip(ipver, a, buf, sizeof(buf));
	return json_object_set_new(o, key, json_string(buf));
}

static int
event_set_sensor_field(json_t *o, const char *sensor)
{
	if (sensor == NULL)
		sensor = event_sensor_default;
	if (sensor == NULL)
		return 0;
	return jstr_set(o, "sensor", sensor, strlen(sensor));
}

static json_t *
event_new_sensor(const char *event_type, uint64_t ts_us,
    const struct event_flow *ef, const char *sensor)
{
	char ts[40];
	json_t *o, *vl;
	int err = 0, i;

	o = json_object();
	if (o == NULL)
		return NULL;
	event_format_ts(ts_us, ts);
	err |= json_object_set_new(o, "timestamp", json_string(ts));
	if (ef != NULL)
		err |= json_object_set_new(o, "flow_id",
		    json_integer((json_int_t)ef->flow_id));
	err |= json_object_set_new(o, "event_type", json_string(event_type));
	if (ef != NULL) {
		if (ef->vlan_count > 0) {
			vl = json_array();
			for (i = 0; i < ef->vlan_count && i < PKT_MAX_VLAN; i++)
				err |= json_array_append_new(vl,
				    json_integer(ef->vlan[i]));
			err |= json_object_set_new(o, "vlan", vl);
		}
		err |= event_set_ip(o, "src_ip", ef->ipver, ef->src);
		err |= json_object_set_new(o, "src_port",
		    json_integer(ef->sport));
		err |= event_set_ip(o, "dest_ip", ef->ipver, ef->dst);
		err |= json_object_set_new(o, "dest_port",
		    json_integer(ef->dport));
		err |= json_object_set_new(o, "proto", json_string("TCP"));
		if (ef->community_id[0] != '\0')
			err |= json_object_set_new(o, "community_id",
			    json_string(ef->community_id));
		if (sensor == NULL)
			sensor = ef->sensor;
	}
	err |= event_set_sensor_field(o, sensor);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
event_new(const char *event_type, uint64_t ts_us, const struct event_flow *ef)
{
	return event_new_sensor(event_type, ts_us, ef, NULL);
}

static int
event_bstr(json_t *o, const char *key, struct bstr s)
{
	return jstr_set(o, key, s.p, s.len);
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

json_t *
event_smtp_object(const struct smtp_tx *tx)
{
	json_t *o, *to, *rc, *r, *au;
	uint32_t i;
	int err = 0, is_tx;

	o = json_object();
	if (o == NULL)
		return NULL;
	err |= json_object_set_new(o, "tx_id", json_integer(tx->tx_id));
	if (tx->has_helo) {
		err |= event_bstr(o, "helo", tx->helo);
		err |= event_bstr(o, "helo_cmd", tx->helo_cmd);
	}
	if (tx->has_banner)
		err |= event_bstr(o, "banner", tx->banner);
	/* RCPT or DATA without a MAIL FROM is still a transaction (Zeek logs
	 * it too); only the session-only event has no envelope. */
	is_tx = tx->has_mail_from || tx->rcpt_total > 0 || tx->has_data;
	if (tx->has_mail_from)
		err |= event_bstr(o, "mail_from", tx->mail_from);
	if (is_tx) {
		to = json_array();
		rc = json_array();
		err |= json_object_set_new(o, "rcpt_to", to);
		err |= json_object_set_new(o, "rcpt", rc);
		for (i = 0; !err && tx->rcpt != NULL && i < tx->rcpt_count;
		    i++) {
			err |= json_array_append_new(to,
			    jstr_from_bytes(tx->rcpt[i].addr.p,
			    tx->rcpt[i].addr.len));
			r = json_object();
			err |= json_array_append_new(rc, r);
			if (r == NULL)
				break;
			err |= event_bstr(r, "addr", tx->rcpt[i].addr);
			err |= json_object_set_new(r, "code",
			    tx->rcpt[i].code > 0 ?
			    json_integer(tx->rcpt[i].code) : json_null());
		}
		if (tx->rcpt_total > tx->rcpt_count)
			err |= json_object_set_new(o, "rcpt_total",
			    json_integer(tx->rcpt_total));
	}
	if (tx->has_auth) {
		au = json_object();
		err |= json_object_set_new(o, "auth", au);
		if (au != NULL) {
			err |= event_bstr(au, "mechanism", tx->auth_mech);
			err |= json_object_set_new(au, "success",
			    tx->auth_success < 0 ? json_null() :
			    json_boolean(tx->auth_success > 0));
		}
	}
	err |= json_object_set_new(o, "starttls", json_boolean(tx->starttls));
	err |= json_object_set_new(o, "pipelining",
	    json_boolean(tx->pipelining));
	err |= json_object_set_new(o, "bdat", json_boolean(tx->bdat));
	if (tx->midstream)
		err |= json_object_set_new(o, "midstream", json_true());
	if (is_tx) {
		err |= json_object_set_new(o, "data_bytes",
		    json_integer((json_int_t)tx->data_bytes));
		err |= json_object_set_new(o, "status",
		    json_string(event_status_name(tx->status)));
		if (tx->last_reply.len > 0)
			err |= event_bstr(o, "last_reply", tx->last_reply);
		if (tx->queue_id.len > 0)
			err |= event_bstr(o, "queue_id", tx->queue_id);
	}
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
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
static int
event_email_addrs(json_t *o, const char *key, const struct msghdr_section *h,
    const char *header, struct arena *scratch)
{
	struct bstr addrs[EVENT_MAX_ADDRS];
	const struct msghdr_field *f;
	unsigned nth, got, i, total = 0;
	json_t *arr;
	int err = 0;

	if (msghdr_find(h, header, 0) == NULL)
		return 0;
	arr = json_array();
	err |= json_object_set_new(o, key, arr);
	if (err)
		return -1;
	for (nth = 0; total < EVENT_MAX_ADDRS &&
	    (f = msghdr_find(h, header, nth)) != NULL; nth++) {
		got = msghdr_addresses(scratch, f->value, addrs,
		    EVENT_MAX_ADDRS - total);
		for (i = 0; i < got; i++)
			err |= json_array_append_new(arr,
			    jstr_from_bytes(addrs[i].p, addrs[i].len));
		total += got;
	}
	return err;
}

json_t *
event_email_object(const struct smtp_tx *tx, struct arena *scratch)
{
	const struct msghdr_section *h = tx->hdr;
	const struct msghdr_field *f;
	struct bstr v;
	json_t *o;
	size_t i;
	int err = 0;

	if (h == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	for (i = 0; i < sizeof(event_email_fields) /
	    sizeof(event_email_fields[0]); i++) {
		f = msghdr_find(h, event_email_fields[i].header, 0);
		if (f == NULL)
			continue;
		v = f->value;
		if (event_email_fields[i].decode && scratch != NULL &&
		    msghdr_decode_value(scratch, f->value, &v) != 0)
			v = f->value;
		err |= event_bstr(o, event_email_fields[i].key, event_trim(v));
	}
	if (scratch != NULL) {
		err |= event_email_addrs(o, "to", h, "To", scratch);
		err |= event_email_addrs(o, "cc", h, "Cc", scratch);
	}
	err |= json_object_set_new(o, "header_bytes",
	    json_integer((json_int_t)h->header_bytes));
	if (h->capped)
		err |= json_object_set_new(o, "header_truncated", json_true());
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
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
event_smtp(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, struct arena *scratch,
    const struct det_result *dr)
{
	json_t *o, *em;
	int err = 0;

	o = event_new("smtp", tx->ts_us, ef);
	if (o == NULL)
		return event_emit(b, NULL);
	err |= json_object_set_new(o, "smtp", event_smtp_object(tx));
	if (tx->hdr != NULL) {
		em = event_email_object(tx, scratch);
		if (dr != NULL)
			err |= event_email_add_detect(em, dr);
		err |= json_object_set_new(o, "email", em);
	}
	if (dr != NULL)
		err |= json_object_set_new(o, "alerts", event_alerts_brief(dr));
	if (err) {
		json_decref(o);
		o = NULL;
	}
	return event_emit(b, o);
}

int
event_anomaly(struct evbuf *b, const struct event_flow *ef, uint64_t ts_us,
    enum anom_id a, int64_t tx_id)
{
	json_t *o, *an, *sm;
	int err = 0;

	o = event_new("anomaly", ts_us, ef);
	if (o == NULL)
		return event_emit(b, NULL);
	an = json_object();
	err |= json_object_set_new(o, "anomaly", an);
	if (an != NULL) {
		err |= json_object_set_new(an, "type",
		    json_string(anom_class_name(a)));
		err |= json_object_set_new(an, "event",
		    json_string(anom_name(a)));
		if (anom_number(a) > 0)
			err |= json_object_set_new(an, "number",
			    json_integer(anom_number(a)));
	}
	if (tx_id >= 0) {
		sm = json_object();
		err |= json_object_set_new(o, "smtp", sm);
		if (sm != NULL)
			err |= json_object_set_new(sm, "tx_id",
			    json_integer((json_int_t)tx_id));
	}
	if (err) {
		json_decref(o);
		o = NULL;
	}
	return event_emit(b, o);
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
