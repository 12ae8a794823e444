/*
 * event_detect.c - the detection parts of the events: email.received,
 * origin, injection_point, auth_results, the transaction's alerts list, and
 * one `alert` event per detection (events.md).
 *
 * Kept apart from event.c so the decode-only event code does not grow with
 * every detection; both share event_new and the always-valid strings of
 * jstr.  A received hop that did not parse is written as {raw, parsed:
 * false} only.
 */
#include "event.h"

#include <string.h>

#include "jstr.h"

static int
ed_bstr(json_t *o, const char *k, struct bstr s)
{
	if (s.len == 0)
		return 0;
	return jstr_set(o, k, s.p, s.len);
}

static json_t *
ed_received(const struct received *r)
{
	json_t *o = json_object();
	int err = 0;

	if (o == NULL)
		return NULL;
	err |= jstr_set(o, "raw", r->raw.p, r->raw.len);
	if (r->parsed) {
		err |= ed_bstr(o, "from_name", r->helo_param.len ?
		    r->helo_param : r->from_name);
		err |= ed_bstr(o, "from_rdns", r->from_rdns);
		if (r->from_ip.ver != 0 && r->from_ip.canon[0] != '\0')
			err |= jstr_set(o, "from_ip", r->from_ip.canon,
			    strlen(r->from_ip.canon));
		err |= ed_bstr(o, "by", r->by);
		err |= ed_bstr(o, "with", r->with);
		err |= ed_bstr(o, "id", r->id);
		err |= ed_bstr(o, "for", r->for_addr);
		if (r->date.valid) {
			err |= json_object_set_new(o, "date",
			    json_string(r->date.iso));
			err |= ed_bstr(o, "tz", r->date.tz);
		}
	}
	err |= json_object_set_new(o, "parsed", json_boolean(r->parsed));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
ed_hop(const struct chain_hop *h)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "hop", json_integer(h->hop));
	if (h->ip[0] != '\0')
		jstr_set(o, "ip", h->ip, strlen(h->ip));
	if (h->name.len)
		jstr_set(o, "name", h->name.p, h->name.len);
	return o;
}

int
event_email_add_detect(json_t *email, const struct det_result *r)
{
	json_t *arr, *ar;
	unsigned i;
	int err = 0;

	if (email == NULL || r == NULL)
		return 0;
	arr = json_array();
	for (i = 0; arr != NULL && i < r->n_rcv; i++)
		err |= json_array_append_new(arr, ed_received(&r->rcv[i]));
	err |= json_object_set_new(email, "received", arr);
	if (r->n_rcv_total > r->n_rcv)
		err |= json_object_set_new(email, "received_total",
		    json_integer(r->n_rcv_total));
	if (r->chain.origin.hop >= 0 || r->chain.origin.ip[0] != '\0')
		err |= json_object_set_new(email, "origin",
		    ed_hop(&r->chain.origin));
	if (r->chain.injection.hop >= 0 || r->chain.injection.ip[0] != '\0' ||
	    r->chain.injection.name.len)
		err |= json_object_set_new(email, "injection_point",
		    ed_hop(&r->chain.injection));
	if (r->has_authres) {
		ar = json_object();
		if (ar != NULL) {
			ed_bstr(ar, "authserv_id", r->ar.authserv_id);
			if (r->ar.spf[0])
				jstr_set(ar, "spf", r->ar.spf, strlen(r->ar.spf));
			if (r->ar.dkim[0])
				jstr_set(ar, "dkim", r->ar.dkim,
				    strlen(r->ar.dkim));
			if (r->ar.dmarc[0])
				jstr_set(ar, "dmarc", r->ar.dmarc,
				    strlen(r->ar.dmarc));
		}
		err |= json_object_set_new(email, "auth_results", ar);
	}
	return err ? -1 : 0;
}

json_t *
event_alerts_brief(const struct det_result *r)
{
	json_t *arr = json_array(), *a;
	unsigned i;

	for (i = 0; arr != NULL && r != NULL && i < r->n_alerts; i++) {
		a = json_object();
		if (a == NULL)
			break;
		json_object_set_new(a, "signature_id",
		    json_integer(r->alerts[i].signature_id));
		json_object_set_new(a, "signature",
		    json_string(r->alerts[i].signature));
		json_array_append_new(arr, a);
	}
	return arr;
}

/* The transaction context every alert carries (events.md): smtp.tx_id,
 * mail_from, rcpt_to and the email's message_id and subject. */
static int
ed_tx_context(json_t *o, int64_t tx_id, const struct smtp_tx *tx)
{
	const struct msghdr_field *f;
	json_t *sm, *em, *to;
	uint32_t i;
	int err = 0;

	sm = json_object();
	err |= json_object_set_new(o, "smtp", sm);
	if (sm == NULL)
		return -1;
	if (tx_id >= 0)
		err |= json_object_set_new(sm, "tx_id", json_integer(tx_id));
	if (tx == NULL)
		return err;
	if (tx->has_mail_from)
		err |= jstr_set(sm, "mail_from", tx->mail_from.p,
		    tx->mail_from.len);
	to = json_array();
	for (i = 0; to != NULL && tx->rcpt != NULL && i < tx->rcpt_count; i++)
		json_array_append_new(to, jstr_from_bytes(tx->rcpt[i].addr.p,
		    tx->rcpt[i].addr.len));
	err |= json_object_set_new(sm, "rcpt_to", to);
	if (tx->hdr == NULL)
		return err;
	em = json_object();
	err |= json_object_set_new(o, "email", em);
	if (em == NULL)
		return -1;
	f = msghdr_find(tx->hdr, "Message-ID", 0);
	if (f != NULL)
		err |= jstr_set(em, "message_id", f->value.p, f->value.len);
	f = msghdr_find(tx->hdr, "Subject", 0);
	if (f != NULL)
		err |= jstr_set(em, "subject", f->value.p, f->value.len);
	return err;
}

/* The same context from a 1302's copy of the inbound transaction. */
static int
ed_ctx_context(json_t *o, int64_t tx_id, const struct relay_txctx *c)
{
	json_t *sm, *em, *to;
	uint32_t i, off = 0, n;
	int err = 0;

	sm = json_object();
	err |= json_object_set_new(o, "smtp", sm);
	if (sm == NULL)
		return -1;
	if (tx_id >= 0)
		err |= json_object_set_new(sm, "tx_id", json_integer(tx_id));
	if (c->has_mail_from)
		err |= jstr_set(sm, "mail_from", c->mail_from,
		    c->mail_from_len);
	to = json_array();
	for (i = 0; to != NULL && i < c->rcpt_stored; i++) {
		if (off + 2u > c->rcpts_len)
			break;
		n = (uint32_t)c->rcpts[off] | (uint32_t)c->rcpts[off + 1] << 8;
		if (off + 2u + n > c->rcpts_len)
			break;
		json_array_append_new(to, jstr_from_bytes(
		    (const char *)c->rcpts + off + 2, n));
		off += 2u + n;
	}
	err |= json_object_set_new(sm, "rcpt_to", to);
	if (!c->has_hdr)
		return err;
	em = json_object();
	err |= json_object_set_new(o, "email", em);
	if (em == NULL)
		return -1;
	if (c->has_message_id)
		err |= jstr_set(em, "message_id", c->message_id,
		    c->message_id_len);
	if (c->has_subject)
		err |= jstr_set(em, "subject", c->subject, c->subject_len);
	return err;
}

int
event_alert(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, const struct det_alert *al,
    const struct det_result *r)
{
	json_t *o, *a;
	int err = 0;

	(void)r;
	o = event_new("alert", tx->ts_us, ef);
	if (o == NULL) {
		b->dropped++;
		return -1;
	}
	a = json_object();
	err |= json_object_set_new(o, "alert", a);
	if (a != NULL) {
		err |= json_object_set_new(a, "signature_id",
		    json_integer(al->signature_id));
		err |= json_object_set_new(a, "signature",
		    json_string(al->signature));
		if (al->category != NULL)
			err |= json_object_set_new(a, "category",
			    json_string(al->category));
		err |= json_object_set_new(a, "severity",
		    json_integer(al->severity));
		if (al->description != NULL)
			err |= jstr_set(a, "description", al->description,
			    strlen(al->description));
		err |= jstr_set(a, "evidence", al->evidence, al->evidence_len);
		if (al->hop >= 0)
			err |= json_object_set_new(a, "hop",
			    json_integer(al->hop));
		if (al->detail[0] != '\0')
			err |= jstr_set(a, "detail", al->detail,
			    strnlen(al->detail, sizeof(al->detail)));
		if (al->nat)
			err |= json_object_set_new(a, "nat", json_true());
	}
	err |= ed_tx_context(o, tx->tx_id, tx);
	if (err) {
		json_decref(o);
		b->dropped++;
		return -1;
	}
	err = evbuf_put(b, o);
	json_decref(o);
	return err;
}

static void
ed_ip(json_t *o, const char *k, int ver, const uint8_t *a)
{
	char buf[64];

	event_format_ip(ver, a, buf, sizeof(buf));
	json_object_set_new(o, k, json_string(buf));
}

int
event_alert_relay(struct evbuf *b, const struct event_flow *ef,
    uint64_t ts_us, int64_t tx_id, const struct smtp_tx *tx,
    const struct relay_txctx *ctx, const struct relay_alert *ra)
{
	json_t *o, *a, *rl;
	int err = 0;

	o = event_new("alert", ts_us, ef);
	if (o == NULL) {
		b->dropped++;
		return -1;
	}
	a = json_object();
	err |= json_object_set_new(o, "alert", a);
	if (a != NULL) {
		err |= json_object_set_new(a, "signature_id",
		    json_integer(ra->signature_id));
		err |= json_object_set_new(a, "signature",
		    json_string(ra->signature));
		err |= json_object_set_new(a, "category",
		    json_string(ra->category));
		err |= json_object_set_new(a, "severity",
		    json_integer(ra->severity));
		err |= jstr_set(a, "evidence", ra->evidence, ra->evidence_len);
	}
	if (tx == NULL && ctx != NULL)
		err |= ed_ctx_context(o, tx_id, ctx);
	else
		err |= ed_tx_context(o, tx_id, tx);
	if (ra->has_relay) {
		const struct relay_info *ri = &ra->relay;

		rl = json_object();
		err |= json_object_set_new(o, "relay", rl);
		if (rl != NULL) {
			ed_ip(rl, "server_ip", ri->ipver, ri->server_ip);
			ed_ip(rl, "client_ip", ri->ipver, ri->client_ip);
			jstr_set(rl, "foreign_rcpt", ri->foreign_rcpt,
			    strnlen(ri->foreign_rcpt, sizeof(ri->foreign_rcpt)));
			jstr_set(rl, "local_domains_assumed",
			    ri->local_domains_assumed,
			    strnlen(ri->local_domains_assumed,
			    sizeof(ri->local_domains_assumed)));
			json_object_set_new(rl, "confirmed",
			    json_boolean(ri->confirmed));
			if (ri->confirmed) {
				json_object_set_new(rl, "outbound_flow_id",
				    json_integer((json_int_t)
				    (ri->outbound_flow_id & 0x7fffffffffffffffull)));
				ed_ip(rl, "outbound_dest_ip", ri->ipver,
				    ri->outbound_dest_ip);
				json_object_set_new(rl, "delay_s",
				    json_real(ri->delay_s));
			}
		}
	}
	if (err) {
		json_decref(o);
		b->dropped++;
		return -1;
	}
	err = evbuf_put(b, o);
	json_decref(o);
	return err;
}
