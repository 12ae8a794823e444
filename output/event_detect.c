/*
 * event_detect.c - the detection parts of the events: email.received,
 * origin, injection_point, auth_results, the transaction's alerts list, and
 * one `alert` event per detection (events.md).
 *
 * Kept apart from event.c so the decode-only event code does not grow with
 * every detection; both write with the same jw writer in place in the
 * evbuf (event_head opens every event) and the same always-valid strings
 * (jw_str).  A received hop that did not parse is written as {raw, parsed:
 * false} only.  Strings kept in fixed arrays are measured with strnlen, so
 * a missing terminator cannot run past the array.
 */
#include "event.h"

#include <math.h>
#include <string.h>

/* A string field, written only when not empty. */
static void
ed_bstr(struct jw *w, const char *k, struct bstr s)
{
	if (s.len > 0)
		jw_kstr(w, k, s.p, s.len);
}

/* A NUL-terminated array field, written only when not empty. */
static void
ed_arr(struct jw *w, const char *k, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n > 0)
		jw_kstr(w, k, s, n);
}

static void
ed_received(struct jw *w, const struct received *r)
{
	jw_obj(w);
	jw_kstr(w, "raw", r->raw.p, r->raw.len);
	if (r->parsed) {
		ed_bstr(w, "from_name", r->helo_param.len ?
		    r->helo_param : r->from_name);
		ed_bstr(w, "from_rdns", r->from_rdns);
		if (r->from_ip.ver != 0)
			ed_arr(w, "from_ip", r->from_ip.canon,
			    sizeof(r->from_ip.canon));
		ed_bstr(w, "by", r->by);
		ed_bstr(w, "with", r->with);
		ed_bstr(w, "id", r->id);
		ed_bstr(w, "for", r->for_addr);
		if (r->date.valid) {
			jw_kstr(w, "date", r->date.iso,
			    strnlen(r->date.iso, sizeof(r->date.iso)));
			ed_bstr(w, "tz", r->date.tz);
		}
	}
	jw_kbool(w, "parsed", r->parsed);
	jw_obj_end(w);
}

static void
ed_hop(struct jw *w, const char *k, const struct chain_hop *h)
{
	jw_key(w, k);
	jw_obj(w);
	jw_kint(w, "hop", h->hop);
	ed_arr(w, "ip", h->ip, sizeof(h->ip));
	ed_bstr(w, "name", h->name);
	jw_obj_end(w);
}

static void
ed_authres(struct jw *w, const struct authres *ar)
{
	jw_key(w, "auth_results");
	jw_obj(w);
	ed_bstr(w, "authserv_id", ar->authserv_id);
	ed_arr(w, "spf", ar->spf, sizeof(ar->spf));
	ed_arr(w, "dkim", ar->dkim, sizeof(ar->dkim));
	ed_arr(w, "dmarc", ar->dmarc, sizeof(ar->dmarc));
	jw_obj_end(w);
}

void
event_email_add_detect(struct jw *w, const struct det_result *r)
{
	const struct chain_hop *inj;
	unsigned i;

	if (r == NULL)
		return;
	jw_key(w, "received");
	jw_arr(w);
	for (i = 0; i < r->n_rcv && i < DET_MAX_HOPS; i++)
		ed_received(w, &r->rcv[i]);
	jw_arr_end(w);
	if (r->n_rcv_total > r->n_rcv)
		jw_kint(w, "received_total", r->n_rcv_total);
	if (r->chain.origin.hop >= 0 || r->chain.origin.ip[0] != '\0')
		ed_hop(w, "origin", &r->chain.origin);
	inj = &r->chain.injection;
	if (inj->hop >= 0 || inj->ip[0] != '\0' || inj->name.len)
		ed_hop(w, "injection_point", inj);
	if (r->has_authres)
		ed_authres(w, &r->ar);
}

void
event_alerts_brief(struct jw *w, const struct det_result *r)
{
	unsigned i;

	jw_arr(w);
	for (i = 0; r != NULL && i < r->n_alerts && i < DET_MAX_ALERTS; i++) {
		jw_obj(w);
		jw_kint(w, "signature_id", r->alerts[i].signature_id);
		jw_kcstr(w, "signature", r->alerts[i].signature);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/*
 * The transaction context every alert carries (events.md): smtp.tx_id,
 * mail_from, rcpt_to and the email's message_id and subject.  It comes
 * from the transaction itself, or for a 1302 / linked 1304 from the
 * inbound transaction's copy (struct relay_txctx): both are read into one
 * view so the fields are written in one place.
 */
struct ed_txview {
	uint8_t has_tx, has_mail_from, has_hdr, has_message_id, has_subject;
	struct bstr mail_from, message_id, subject;
	const struct smtp_tx *tx;            /* rcpts from tx->rcpt, or */
	const struct relay_txctx *ctx;       /* from the packed list */
};

static void
ed_view_tx(struct ed_txview *v, const struct smtp_tx *tx)
{
	const struct msghdr_field *f;

	memset(v, 0, sizeof(*v));
	if (tx == NULL)
		return;
	v->has_tx = 1;
	v->tx = tx;
	v->has_mail_from = tx->has_mail_from;
	v->mail_from = tx->mail_from;
	if (tx->hdr == NULL)
		return;
	v->has_hdr = 1;
	f = msghdr_find(tx->hdr, "Message-ID", 0);
	if (f != NULL) {
		v->has_message_id = 1;
		v->message_id = f->value;
	}
	f = msghdr_find(tx->hdr, "Subject", 0);
	if (f != NULL) {
		v->has_subject = 1;
		v->subject = f->value;
	}
}

/* A context string, within its array. */
static struct bstr
ed_ctx_str(const char *p, uint16_t len, size_t size)
{
	struct bstr b;

	b.p = (const uint8_t *)p;
	b.len = len < size ? len : (uint32_t)size;
	return b;
}

static void
ed_view_ctx(struct ed_txview *v, const struct relay_txctx *c)
{
	memset(v, 0, sizeof(*v));
	v->has_tx = 1;
	v->ctx = c;
	v->has_mail_from = c->has_mail_from;
	v->mail_from = ed_ctx_str(c->mail_from, c->mail_from_len,
	    sizeof(c->mail_from));
	v->has_hdr = c->has_hdr;
	v->has_message_id = c->has_message_id;
	v->message_id = ed_ctx_str(c->message_id, c->message_id_len,
	    sizeof(c->message_id));
	v->has_subject = c->has_subject;
	v->subject = ed_ctx_str(c->subject, c->subject_len,
	    sizeof(c->subject));
}

/* rcpt_to from a context's packed list: u16 LE length, then the bytes. */
static void
ed_ctx_rcpts(struct jw *w, const struct relay_txctx *c)
{
	uint32_t i, off = 0, n, len = c->rcpts_len;

	if (len > sizeof(c->rcpts))
		len = sizeof(c->rcpts);
	for (i = 0; i < c->rcpt_stored; i++) {
		if (off + 2u > len)
			break;
		n = (uint32_t)c->rcpts[off] | (uint32_t)c->rcpts[off + 1] << 8;
		if (off + 2u + n > len)
			break;
		jw_str(w, c->rcpts + off + 2, n);
		off += 2u + n;
	}
}

static void
ed_tx_context(struct jw *w, int64_t tx_id, const struct ed_txview *v)
{
	uint32_t i;

	jw_key(w, "smtp");
	jw_obj(w);
	if (tx_id >= 0)
		jw_kint(w, "tx_id", tx_id);
	if (!v->has_tx) {
		jw_obj_end(w);
		return;
	}
	if (v->has_mail_from)
		jw_kstr(w, "mail_from", v->mail_from.p, v->mail_from.len);
	jw_key(w, "rcpt_to");
	jw_arr(w);
	if (v->ctx != NULL)
		ed_ctx_rcpts(w, v->ctx);
	for (i = 0; v->tx != NULL && v->tx->rcpt != NULL &&
	    i < v->tx->rcpt_count; i++)
		jw_str(w, v->tx->rcpt[i].addr.p, v->tx->rcpt[i].addr.len);
	jw_arr_end(w);
	jw_obj_end(w);
	if (!v->has_hdr)
		return;
	jw_key(w, "email");
	jw_obj(w);
	if (v->has_message_id)
		jw_kstr(w, "message_id", v->message_id.p, v->message_id.len);
	if (v->has_subject)
		jw_kstr(w, "subject", v->subject.p, v->subject.len);
	jw_obj_end(w);
}

/* The `alert` object of a detection. */
static void
ed_alert(struct jw *w, const struct det_alert *al)
{
	jw_key(w, "alert");
	jw_obj(w);
	jw_kint(w, "signature_id", al->signature_id);
	jw_kcstr(w, "signature", al->signature);
	if (al->category != NULL)
		jw_kcstr(w, "category", al->category);
	jw_kint(w, "severity", al->severity);
	if (al->description != NULL)
		jw_kcstr(w, "description", al->description);
	jw_kstr(w, "evidence", al->evidence, al->evidence_len <
	    sizeof(al->evidence) ? al->evidence_len : sizeof(al->evidence));
	if (al->hop >= 0)
		jw_kint(w, "hop", al->hop);
	ed_arr(w, "detail", al->detail, sizeof(al->detail));
	if (al->nat)
		jw_kbool(w, "nat", 1);
	jw_obj_end(w);
}

int
event_alert(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, const struct det_alert *al,
    const struct det_result *r)
{
	struct jw *w = evbuf_begin(b);
	struct ed_txview v;

	(void)r;
	event_head(w, "alert", tx->ts_us, ef);
	ed_alert(w, al);
	ed_view_tx(&v, tx);
	ed_tx_context(w, tx->tx_id, &v);
	jw_obj_end(w);
	return evbuf_commit(b);
}

static void
ed_ip(struct jw *w, const char *k, int ver, const uint8_t *a)
{
	char buf[64];

	event_format_ip(ver, a, buf, sizeof(buf));
	jw_kcstr(w, k, buf);
}

/* The `alert` object of an open-relay/proxy/authentication detection. */
static void
ed_relay_alert(struct jw *w, const struct relay_alert *ra)
{
	jw_key(w, "alert");
	jw_obj(w);
	jw_kint(w, "signature_id", ra->signature_id);
	jw_kcstr(w, "signature", ra->signature);
	jw_kcstr(w, "category", ra->category);
	jw_kint(w, "severity", ra->severity);
	jw_kstr(w, "evidence", ra->evidence, ra->evidence_len <
	    sizeof(ra->evidence) ? ra->evidence_len : sizeof(ra->evidence));
	jw_obj_end(w);
}

static void
ed_relay(struct jw *w, const struct relay_info *ri)
{
	jw_key(w, "relay");
	jw_obj(w);
	ed_ip(w, "server_ip", ri->ipver, ri->server_ip);
	ed_ip(w, "client_ip", ri->ipver, ri->client_ip);
	jw_kstr(w, "foreign_rcpt", ri->foreign_rcpt,
	    strnlen(ri->foreign_rcpt, sizeof(ri->foreign_rcpt)));
	jw_kstr(w, "local_domains_assumed", ri->local_domains_assumed,
	    strnlen(ri->local_domains_assumed,
	    sizeof(ri->local_domains_assumed)));
	jw_kbool(w, "confirmed", ri->confirmed);
	if (ri->confirmed) {
		jw_kint(w, "outbound_flow_id",
		    (int64_t)(ri->outbound_flow_id & 0x7fffffffffffffffull));
		ed_ip(w, "outbound_dest_ip", ri->ipver, ri->outbound_dest_ip);
		/* JSON has no NaN or infinity: left out, as jansson did */
		if (isfinite(ri->delay_s)) {
			jw_key(w, "delay_s");
			jw_real(w, ri->delay_s);
		}
	}
	jw_obj_end(w);
}

int
event_alert_relay(struct evbuf *b, const struct event_flow *ef,
    uint64_t ts_us, int64_t tx_id, const struct smtp_tx *tx,
    const struct relay_txctx *ctx, const struct relay_alert *ra)
{
	struct jw *w = evbuf_begin(b);
	struct ed_txview v;

	event_head(w, "alert", ts_us, ef);
	ed_relay_alert(w, ra);
	if (tx == NULL && ctx != NULL)
		ed_view_ctx(&v, ctx);
	else
		ed_view_tx(&v, tx);
	ed_tx_context(w, tx_id, &v);
	if (ra->has_relay)
		ed_relay(w, &ra->relay);
	jw_obj_end(w);
	return evbuf_commit(b);
}
