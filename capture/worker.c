/*
 * worker.c - per-core packet path: flow, reassembly, SMTP, events.
 *
 * Design: the worker is the only owner of its flows, so the path from a
 * packet to an event takes no lock and calls no malloc in steady state:
 * flows, sessions and string blocks come from per-worker pools (which grow
 * by slabs up to their caps), and events are batched in the worker's evbuf.
 *
 * Classification happens once per flow.  The responder's port picks SMTP
 * (25/587/2525 by default) or implicit TLS (465: counted only); any other
 * flow gets its first payload sniffed for an SMTP greeting or command and
 * is otherwise ignored for the rest of its life at the cost of one flow
 * lookup per packet (FIN/RST still end it).  After STARTTLS the same cheap
 * path is taken: nothing more can be read.
 *
 * Memory per SMTP flow: the flow, then one w->sessions object holding a
 * 40-byte struct worker_app and the SMTP session.  What only some flows
 * need for part of their life is a separate pool object, taken when needed
 * and given back when done: message scan state (first message byte to the
 * transaction's report), the proxy parser (proxy handshake to refusal or
 * flow end), SMTP transactions.  Each of those pools is capped at what the
 * flow cap could use, and a dry one degrades as the session pool does (a
 * counter; the flow goes on without that part).  The event flow fields are
 * built into the worker when an event needs them and reused while the
 * events are of the same flow.  Rejected: one worker_app with every part
 * inline (656 bytes per idle flow, 310 of them a proxy parser that only
 * flows sniffed as proxy traffic use).
 *
 * Rejected: classifying by port only (SMTP on odd ports is exactly what open
 * proxies and backdoored relays use) and running full reassembly for every
 * TCP flow until proven not SMTP (costs copies on mixed traffic).
 */
#include "worker.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../output/event.h"

#define WORKER_SNIFF_TRIES 4
#define WORKER_BLOCK_SIZE (32u * 1024)
#define WORKER_EXPIRE_WORK 256

#define WORKER_MSG_SLOTS 4

/* The scan state of a message stays until its transaction is reported:
 * with pipelining the next message can start before the 250 of the last. */
struct worker_msg {
	int64_t tx_id;              /* -1 free */
	struct hseng_msg *m;
	void *mem;
	uint8_t open;
	uint8_t has_body;
	struct relay_digest dg;     /* body digest for RELAY_CONFIRMED */
};

enum worker_proxy_mode {
	WORKER_PROXY_NONE = 0,      /* plain SMTP */
	WORKER_PROXY_HANDSHAKE,     /* proxy handshake being read */
	WORKER_PROXY_TUNNEL,        /* SMTP inside a granted tunnel */
	WORKER_PROXY_DEAD,          /* refused, not a proxy, or not SMTP */
};

/* The messages of one flow being scanned: a w->msgsets object, taken at
 * the first message and given back once no message awaits its report. */
struct worker_msgs {
	struct worker_msg m[WORKER_MSG_SLOTS];
	int8_t cur;                 /* slot receiving content, -1 none */
};

/*
 * Per SMTP flow, with the session after it in the same w->sessions object.
 * What only some flows need hangs off it: message scan state while a
 * message is open or unreported, the proxy parser while a proxy handshake
 * or tunnel lasts.  The event_flow fields are built when an event needs
 * them, into the worker (worker_ef), not kept per flow.
 */
struct worker_app {
	struct worker *w;
	struct flow *f;
	struct worker_msgs *msgs;   /* NULL: no message state */
	struct proxy_state *proxy;  /* a w->proxies object, or NULL */
	int8_t server_dir;          /* from the last transaction, -1 unknown */
	uint8_t encrypted : 1;
	uint8_t got_data : 1;       /* a stream byte was delivered */
	uint8_t proxy_mode;         /* enum worker_proxy_mode */
	uint8_t tunnel[2];          /* direction is inside the tunnel */
	_Alignas(8) uint8_t session_mem[];  /* struct smtp_session */
};

static const struct tcp_reasm_out worker_discard_out;

static size_t
worker_app_size(void)
{
	return sizeof(struct worker_app) + smtp_session_size();
}

static struct smtp_session *
worker_smtp(struct worker_app *app)
{
	return (struct smtp_session *)app->session_mem;
}

static void
worker_count_anomaly(struct worker *w, enum anom_id a)
{
	if ((unsigned)a < ANOM_COUNT)
		w->ctr.anomalies[a]++;
}

/*
 * The event_flow of app's flow, the server on side server_dir, built into
 * the worker: one flow's events come in runs (a transaction and its
 * alerts), so one cached copy saves recomputing the community id without
 * keeping 96 bytes in every flow.  worker_app_end forgets the owner.
 */
static void
worker_build_ef(struct worker_app *app, int server_dir)
{
	struct worker *w = app->w;
	struct flow *f = app->f;
	const uint8_t *ca, *sa;
	uint16_t cp, sp;
	int cdir = server_dir == 0 ? 1 : 0;

	flow_endpoint(f, cdir, &ca, &cp);
	flow_endpoint(f, 1 - cdir, &sa, &sp);
	memset(&w->ef, 0, sizeof(w->ef));
	w->ef.flow_id = flow_id_get(f);
	w->ef.ipver = f->key.ipver;
	memcpy(w->ef.src, ca, 16);
	memcpy(w->ef.dst, sa, 16);
	w->ef.sport = cp;
	w->ef.dport = sp;
	w->ef.vlan_count = f->key.vlan_count;
	memcpy(w->ef.vlan, f->key.vlan, sizeof(w->ef.vlan));
	w->ef.sensor = w->cfg->sensor;
	community_id_v1(f->key.ipver, ca, sa, 6, cp, sp, 0,
	    w->ef.community_id);
	w->ef_owner = app;
	w->ef_server_dir = (int8_t)server_dir;
}

static const struct event_flow *
worker_ef(struct worker_app *app)
{
	struct worker *w = app->w;
	int sd = app->server_dir >= 0 ? app->server_dir : 1;

	if (w->ef_owner != app || w->ef_server_dir != sd)
		worker_build_ef(app, sd);
	return &w->ef;
}

static struct worker_msg *
worker_msg_find(struct worker_app *app, uint32_t tx_id)
{
	int i;

	if (app->msgs == NULL)
		return NULL;
	for (i = 0; i < WORKER_MSG_SLOTS; i++)
		if (app->msgs->m[i].tx_id == (int64_t)tx_id)
			return &app->msgs->m[i];
	return NULL;
}

static void
worker_msg_free(struct worker_app *app, struct worker_msg *wm)
{
	if (wm->tx_id < 0)
		return;
	if (wm->open && wm->m != NULL)
		det_msg_end(app->w->det, wm->m);
	if (wm->mem != NULL)
		pool_put(app->w->msgmem, wm->mem);
	wm->mem = NULL;
	wm->m = NULL;
	wm->open = 0;
	wm->has_body = 0;
	wm->tx_id = -1;
	if (app->msgs->cur == (int8_t)(wm - app->msgs->m))
		app->msgs->cur = -1;
}

/* Give the message state back once no message needs it. */
static void
worker_msgs_trim(struct worker_app *app)
{
	int i;

	if (app->msgs == NULL)
		return;
	for (i = 0; i < WORKER_MSG_SLOTS; i++)
		if (app->msgs->m[i].tx_id >= 0)
			return;
	pool_put(app->w->msgsets, app->msgs);
	app->msgs = NULL;
}

/* The proxy parser is done with (refused, not a proxy, not SMTP). */
static void
worker_proxy_dead(struct worker_app *app)
{
	app->proxy_mode = WORKER_PROXY_DEAD;
	if (app->proxy != NULL)
		pool_put(app->w->proxies, app->proxy);
	app->proxy = NULL;
}

/* The CONNECT target of a tunnel, for linking it to the proxy's own leg. */
static void
worker_tunnel_wire(const struct worker_app *app, struct relay_wire *rw)
{
	struct bstr h = proxy_target_host(app->proxy);
	enum proxy_addr t = proxy_target_addr_type(app->proxy);
	char txt[64];

	rw->tunnel = 1;
	rw->tunnel_port = proxy_target_port(app->proxy);
	if ((t != PROXY_ADDR_IPV4 && t != PROXY_ADDR_IPV6) ||
	    h.len >= sizeof(txt))
		return;
	memcpy(txt, h.p, h.len);
	txt[h.len] = '\0';
	if (t == PROXY_ADDR_IPV4 && rw->ipver == 4)
		rw->tunnel_has_ip = inet_pton(AF_INET, txt, rw->tunnel_ip) == 1;
	else if (t == PROXY_ADDR_IPV6 && rw->ipver == 6)
		rw->tunnel_has_ip = inet_pton(AF_INET6, txt, rw->tunnel_ip) == 1;
}

/* SMTP callbacks */

static void
worker_on_tx(void *u, const struct smtp_tx *tx)
{
	struct worker_app *app = u;
	struct worker *w = app->w;

	if (tx->server_dir >= 0)
		app->server_dir = (int8_t)tx->server_dir;
	/* a flow that never carried a byte of SMTP (evicted or timed out
	 * between pure ACKs) has nothing to report */
	if ((!app->got_data || (app->proxy_mode != WORKER_PROXY_NONE &&
	    app->proxy_mode != WORKER_PROXY_TUNNEL)) && !tx->has_mail_from &&
	    tx->rcpt_total == 0 && !tx->has_data)
		return;
	if (w->det != NULL) {
		const struct event_flow *ef = worker_ef(app);
		struct worker_msg *wm = worker_msg_find(app, tx->tx_id);
		const struct det_result *dr;
		struct det_wire wire;
		unsigned i;

		memset(&wire, 0, sizeof(wire));
		wire.ipver = ef->ipver;
		memcpy(wire.client_ip, ef->src, 16);
		memcpy(wire.server_ip, ef->dst, 16);
		if (w->cfg->det != NULL) {
			const struct chain_config *cc = &w->cfg->det->cfg.chain;
			wire.client_in_home_net = (uint8_t)det_cidr_match(
			    cc->home_net, cc->n_home_net, ef->ipver, ef->src);
			wire.server_in_home_net = (uint8_t)det_cidr_match(
			    cc->home_net, cc->n_home_net, ef->ipver, ef->dst);
		}
		unsigned n_det;

		if (wm != NULL && wm->open) {
			det_msg_end(w->det, wm->m);
			wm->open = 0;
		}
		dr = det_tx(w->det, tx, wm != NULL ? wm->m : NULL, &wire);
		n_det = dr->n_alerts;
		if (w->relay != NULL) {
			struct relay_wire rw;
			unsigned k;

			memset(&rw, 0, sizeof(rw));
			rw.ipver = ef->ipver;
			memcpy(rw.client_ip, ef->src, 16);
			memcpy(rw.server_ip, ef->dst, 16);
			rw.client_port = ef->sport;
			rw.server_port = ef->dport;
			rw.client_in_home_net = wire.client_in_home_net;
			rw.server_in_home_net = wire.server_in_home_net;
			rw.flow_id = ef->flow_id;
			rw.ts_us = tx->ts_us;
			if (wm != NULL && wm->has_body)
				rw.body_digest = relay_digest_value(&wm->dg);
			if (app->proxy_mode == WORKER_PROXY_TUNNEL)
				worker_tunnel_wire(app, &rw);
			relay_tx(w->cfg->relay, w->relay, tx, dr, &rw, &w->rres);
			if (app->proxy_mode == WORKER_PROXY_TUNNEL)
				det_result_add(w->det, 1304, "PROXY_SMTP_TUNNEL",
				    "open-relay", 1, 0);
			for (k = 0; k < w->rres.n_alerts; k++) {
				const struct relay_alert *ra = &w->rres.alerts[k];
				det_result_add(w->det, ra->signature_id,
				    ra->signature, ra->category, ra->severity, 1);
			}
		}
		event_smtp(&w->out, ef, tx, &w->scratch, dr);
		for (i = 0; i < n_det; i++)
			event_alert(&w->out, ef, tx, &dr->alerts[i], dr);
		for (i = 0; w->relay != NULL && i < w->rres.n_alerts; i++)
			event_alert_relay(&w->out, ef, tx->ts_us, tx->tx_id, tx,
			    NULL, &w->rres.alerts[i]);
		if (wm != NULL) {
			worker_msg_free(app, wm);
			worker_msgs_trim(app);
		}
	} else {
		event_smtp(&w->out, worker_ef(app), tx, &w->scratch, NULL);
	}
	arena_reset(&w->scratch);
}

/* Content streaming into the signature engine. */

static void
worker_on_msg_begin(void *u, uint32_t tx_id)
{
	struct worker_app *app = u;
	struct worker *w = app->w;
	struct worker_msgs *ms = app->msgs;
	struct worker_msg *wm = NULL;
	int i;

	if (ms == NULL) {
		ms = pool_get(w->msgsets);
		if (ms == NULL) {
			w->ctr.msgmem_fail++;
			return;
		}
		memset(ms, 0, sizeof(*ms));
		for (i = 0; i < WORKER_MSG_SLOTS; i++)
			ms->m[i].tx_id = -1;
		app->msgs = ms;
	}
	ms->cur = -1;
	for (i = 0; i < WORKER_MSG_SLOTS; i++) {
		if (ms->m[i].tx_id < 0) {
			wm = &ms->m[i];
			break;
		}
	}
	if (wm == NULL) {
		/* more messages unreported than slots: the oldest loses its
		 * content scan (counted), never the newest */
		wm = &ms->m[0];
		for (i = 1; i < WORKER_MSG_SLOTS; i++)
			if (ms->m[i].tx_id < wm->tx_id)
				wm = &ms->m[i];
		worker_msg_free(app, wm);
		w->ctr.msgmem_fail++;
	}
	wm->mem = pool_get(w->msgmem);
	if (wm->mem == NULL) {
		w->ctr.msgmem_fail++;
		worker_msgs_trim(app);
		return;
	}
	wm->tx_id = tx_id;
	wm->m = det_msg_begin(w->det, wm->mem);
	wm->open = 1;
	ms->cur = (int8_t)(wm - ms->m);
}

static void
worker_on_msg_data(void *u, const uint8_t *d, size_t n, int in_header)
{
	struct worker_app *app = u;
	struct worker_msg *wm;

	if (app->msgs == NULL || app->msgs->cur < 0)
		return;
	wm = &app->msgs->m[app->msgs->cur];
	if (wm->open)
		det_msg_data(app->w->det, wm->m, d, n, in_header);
	if (!in_header && n > 0) {
		if (!wm->has_body) {
			relay_digest_init(&wm->dg);
			wm->has_body = 1;
		}
		relay_digest_feed(&wm->dg, d, n);
	}
}

static void
worker_on_msg_end(void *u, uint32_t tx_id)
{
	struct worker_app *app = u;
	struct worker_msg *wm = worker_msg_find(app, tx_id);

	if (wm != NULL && wm->open) {
		det_msg_end(app->w->det, wm->m);
		wm->open = 0;
	}
	if (app->msgs != NULL)
		app->msgs->cur = -1;
}

static void
worker_on_smtp_anomaly(void *u, enum anom_id a, uint64_t ts_us)
{
	struct worker_app *app = u;

	worker_count_anomaly(app->w, a);
	event_anomaly(&app->w->out, worker_ef(app), ts_us, a, -1);
}

/*
 * A flow that opened with a proxy handshake (HTTP CONNECT, SOCKS4/4a/5):
 * PROXY_SMTP_TUNNEL is raised when the request names port 25 or 587,
 * whether or not the proxy grants it; once granted, each direction's bytes
 * after its handshake are the tunnelled SMTP dialogue and go to the parser
 * like any other.  Returns how many of the bytes were handshake.
 */
static size_t
worker_proxy_data(struct worker_app *app, int dir, const uint8_t *d,
    uint32_t len, uint64_t ts_us)
{
	struct worker *w = app->w;
	size_t off = 0, used;
	enum proxy_result r;

	if (app->proxy_mode == WORKER_PROXY_DEAD) {
		w->ctr.proxy_dropped_bytes += len;
		return len;
	}
	while (off <= len) {
		used = 0;
		r = proxy_feed(app->proxy, dir == 0, d + off, len - off, &used);
		off += used;
		switch (r) {
		case PROXY_REQUEST:
			if (proxy_target_is_smtp(app->proxy)) {
				struct relay_alert ra;
				struct bstr host = proxy_target_host(app->proxy);

				memset(&ra, 0, sizeof(ra));
				ra.signature_id = 1304;
				ra.signature = "PROXY_SMTP_TUNNEL";
				ra.category = "open-relay";
				ra.severity = 1;
				ra.evidence_len = (uint32_t)snprintf(ra.evidence,
				    sizeof(ra.evidence), "%s %.*s:%u",
				    proxy_kind_name(proxy_kind(app->proxy)),
				    (int)host.len,
				    (const char *)host.p,
				    proxy_target_port(app->proxy));
				if (ra.evidence_len >= sizeof(ra.evidence))
					ra.evidence_len = sizeof(ra.evidence) - 1;
				if (w->det != NULL)
					det_count_alert(w->det, 1304,
					    "PROXY_SMTP_TUNNEL");
				event_alert_relay(&w->out, worker_ef(app), ts_us,
				    -1, NULL, NULL, &ra);
			}
			if (used == 0 && off >= len)
				return len;
			continue;
		case PROXY_TUNNEL:
			if (!proxy_target_is_smtp(app->proxy)) {
				worker_proxy_dead(app);
				w->ctr.proxy_dropped_bytes += len - off;
				return len;
			}
			if (app->proxy_mode != WORKER_PROXY_TUNNEL)
				w->ctr.proxy_tunnels++;
			app->proxy_mode = WORKER_PROXY_TUNNEL;
			app->tunnel[dir] = 1;
			return off;
		case PROXY_MORE:
		case PROXY_WAIT:
			w->ctr.proxy_dropped_bytes += len - off;
			return len;
		case PROXY_NOT:
		case PROXY_REFUSED:
		default:
			worker_proxy_dead(app);
			w->ctr.proxy_dropped_bytes += len - off;
			return len;
		}
	}
	return len;
}

/* Reassembly callbacks for SMTP flows */

static void
worker_on_data(void *u, int dir, const uint8_t *d, uint32_t len,
    uint64_t ts_us)
{
	struct worker_app *app = u;

	app->got_data = 1;
	if (app->encrypted) {
		app->w->ctr.encrypted_bytes += len;
		return;
	}
	if (app->proxy_mode != WORKER_PROXY_NONE && !app->tunnel[dir]) {
		size_t used = worker_proxy_data(app, dir, d, len, ts_us);

		if (!app->tunnel[dir])
			return;
		d += used;
		len -= (uint32_t)used;
		if (len == 0)
			return;
	}
	smtp_session_data(worker_smtp(app), dir, d, len, ts_us);
	if (smtp_session_encrypted(worker_smtp(app)))
		app->encrypted = 1;
}

static void
worker_on_gap(void *u, int dir, uint32_t len, uint64_t ts_us)
{
	struct worker_app *app = u;

	if (!app->encrypted)
		smtp_session_gap(worker_smtp(app), dir, len, ts_us);
}

static void
worker_on_stream_anomaly(void *u, int dir, enum anom_id a, uint64_t ts_us)
{
	struct worker_app *app = u;

	(void)dir;
	worker_count_anomaly(app->w, a);
	event_anomaly(&app->w->out, worker_ef(app), ts_us, a, -1);
}

static void
worker_app_out(struct worker_app *app, struct tcp_reasm_out *o)
{
	o->data = worker_on_data;
	o->gap = worker_on_gap;
	o->anomaly = worker_on_stream_anomaly;
	o->u = app;
}

static struct worker_app *
worker_app_new(struct worker *w, struct flow *f)
{
	struct worker_app *app;

	app = pool_get(w->sessions);
	if (app == NULL) {
		w->ctr.session_alloc_fail++;
		return NULL;
	}
	memset(app, 0, sizeof(*app));
	app->w = w;
	app->f = f;
	app->server_dir = -1;
	if (smtp_session_init(app->session_mem, w->smtp_ctx, app,
	    f->midstream) == NULL) {
		pool_put(w->sessions, app);
		w->ctr.session_alloc_fail++;
		return NULL;
	}
	return app;
}

/* Finish the SMTP side of a flow: held bytes, open transaction, memory. */
static void
worker_app_end(struct worker *w, struct flow *f)
{
	struct worker_app *app = f->app;
	struct tcp_reasm_out o;

	if (app != NULL) {
		/* after STARTTLS the reassembler was no longer fed: its held
		 * bytes and the peer's ACKs mean nothing to the parser */
		if (app->encrypted)
			o = worker_discard_out;
		else
			worker_app_out(app, &o);
		tcp_reasm_flush(w->reasm, &f->tcp, w->now_us, &o);
		smtp_session_end(worker_smtp(app), w->now_us);
		if (app->msgs != NULL) {
			for (int i = 0; i < WORKER_MSG_SLOTS; i++)
				worker_msg_free(app, &app->msgs->m[i]);
			worker_msgs_trim(app);
		}
		if (app->proxy != NULL)
			pool_put(w->proxies, app->proxy);
		if (w->ef_owner == app)
			w->ef_owner = NULL;
		pool_put(w->sessions, app);
		f->app = NULL;
	} else {
		tcp_reasm_flush(w->reasm, &f->tcp, w->now_us,
		    &worker_discard_out);
	}
}

static void
worker_flow_end(void *u, struct flow *f, enum flow_end_reason why)
{
	struct worker *w = u;
	struct worker_app *app = f->app;

	/* an SMTP session cut short by the flow cap says so */
	if (why == FLOW_END_EVICTED && app != NULL && app->got_data) {
		worker_count_anomaly(w, ANOM_STREAM_FLOW_EVICTED);
		event_anomaly(&w->out, worker_ef(app), w->now_us,
		    ANOM_STREAM_FLOW_EVICTED, -1);
	}
	worker_app_end(w, f);
}

/*
 * The connection closed (RST, or both FINs with every byte accounted for):
 * report now, but keep the flow for timeout_closed so the last ACKs and
 * retransmitted FINs find it instead of starting a midstream flow.
 */
static void
worker_conn_closed(struct worker *w, struct flow *f)
{
	w->ctr.conn_closed++;
	worker_app_end(w, f);
	f->app_kind = FLOW_APP_IGNORED;
	f->tcp.state = TCP_CONN_CLOSED;
}

static void
worker_discard_data(void *u, int dir, const uint8_t *d, uint32_t len,
    uint64_t ts)
{
	(void)u, (void)dir, (void)d, (void)len, (void)ts;
}

static void
worker_discard_gap(void *u, int dir, uint32_t len, uint64_t ts)
{
	(void)u, (void)dir, (void)len, (void)ts;
}

static void
worker_discard_anomaly(void *u, int dir, enum anom_id a, uint64_t ts)
{
	(void)u, (void)dir, (void)a, (void)ts;
}

static const struct tcp_reasm_out worker_discard_out = {
	worker_discard_data, worker_discard_gap, worker_discard_anomaly, NULL
};

/* RELAY_CONFIRMED: written for the inbound flow, whichever worker owns it. */
static void
worker_on_confirm(void *u, const struct relay_confirmed *c)
{
	struct worker *w = u;
	struct event_flow ef;

	memset(&ef, 0, sizeof(ef));
	ef.flow_id = c->flow_id;
	ef.ipver = c->ipver;
	memcpy(ef.src, c->client_ip, 16);
	memcpy(ef.dst, c->server_ip, 16);
	ef.sport = c->client_port;
	ef.dport = c->server_port;
	ef.sensor = w->cfg->sensor;
	community_id_v1(c->ipver, c->client_ip, c->server_ip, 6, c->client_port,
	    c->server_port, 0, ef.community_id);
	if (w->det != NULL)
		det_count_alert(w->det, c->alert.signature_id,
		    c->alert.signature);
	event_alert_relay(&w->out, &ef, c->ts_us, c->tx_id, NULL, c->ctx,
	    &c->alert);
}

int
worker_init(struct worker *w, unsigned id, const struct rh_config *cfg,
    struct sink *sink, struct relay_bus *bus, char *err, size_t errlen)
{
	struct smtp_out so;
	uint64_t nblocks;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->cfg = cfg;
	w->flows = flow_table_create(&cfg->flow, worker_flow_end, w);
	w->reasm = tcp_reasm_create(&cfg->reasm);
	w->sessions = pool_create(worker_app_size(), cfg->flow.max_flows);
	nblocks = cfg->session_memcap / WORKER_BLOCK_SIZE;
	w->blocks = pool_create(WORKER_BLOCK_SIZE, nblocks ? nblocks : 1);
	w->scratch_blocks = pool_create(256u * 1024, 64);
	w->slots = pool_create(smtp_slot_size(),
	    (size_t)cfg->flow.max_flows * SMTP_TX_SLOTS);
	w->proxies = pool_create(sizeof(struct proxy_state),
	    cfg->flow.max_flows);
	memset(&so, 0, sizeof(so));
	so.tx_done = worker_on_tx;
	so.anomaly = worker_on_smtp_anomaly;
	if (cfg->det != NULL) {
		so.msg_begin = worker_on_msg_begin;
		so.msg_data = worker_on_msg_data;
		so.msg_end = worker_on_msg_end;
		w->det = det_worker_create(cfg->det);
		w->msgmem = pool_create(det_msg_size(cfg->det) + 16,
		    cfg->flow.max_flows);
		w->msgsets = pool_create(sizeof(struct worker_msgs),
		    cfg->flow.max_flows);
		if (w->det == NULL || w->msgmem == NULL || w->msgsets == NULL) {
			snprintf(err, errlen, "worker %u: detection set-up "
			    "failed", id);
			worker_destroy(w);
			return -1;
		}
		if (cfg->relay != NULL) {
			w->relay = relay_worker_create(cfg->relay, bus, id,
			    worker_on_confirm, w);
			if (w->relay == NULL) {
				snprintf(err, errlen, "worker %u: relay set-up "
				    "failed", id);
				worker_destroy(w);
				return -1;
			}
		}
	}
	if (w->blocks != NULL && w->slots != NULL)
		w->smtp_ctx = smtp_ctx_create(&cfg->smtp, w->blocks, w->slots,
		    &so, &w->smtp);
	if (w->flows == NULL || w->reasm == NULL || w->sessions == NULL ||
	    w->blocks == NULL || w->scratch_blocks == NULL ||
	    w->proxies == NULL || w->smtp_ctx == NULL ||
	    evbuf_init(&w->out, sink, 256u * 1024) != 0) {
		snprintf(err, errlen, "worker %u: out of memory at start", id);
		worker_destroy(w);
		return -1;
	}
	arena_init(&w->scratch, w->scratch_blocks);
	return 0;
}

static void
worker_classify(struct worker *w, struct flow *f)
{
	const uint8_t *a;
	uint16_t rport, iport;
	const struct rh_config *c = w->cfg;

	flow_endpoint(f, 1, &a, &rport);
	flow_endpoint(f, 0, &a, &iport);
	if (config_port_in(c->smtp_ports, c->n_smtp_ports, rport) ||
	    config_port_in(c->smtp_ports, c->n_smtp_ports, iport)) {
		f->app = worker_app_new(w, f);
		f->app_kind = f->app != NULL ? FLOW_APP_SMTP : FLOW_APP_IGNORED;
		if (f->app != NULL)
			w->ctr.smtp_flows++;
	} else if (config_port_in(c->tls_ports, c->n_tls_ports, rport)) {
		f->app_kind = FLOW_APP_TLS_IMPLICIT;
		w->ctr.tls_implicit_flows++;
	} else if (c->sniff_banners) {
		f->app_kind = FLOW_APP_UNKNOWN;
	} else {
		f->app_kind = FLOW_APP_IGNORED;
		w->ctr.ignored_flows++;
	}
}

/* Decide an unclassified flow from a payload packet. */
static void
worker_sniff(struct worker *w, struct flow *f, int dir, const struct pkt *p)
{
	enum smtp_sniff_result r;

	r = smtp_sniff(p->payload, p->payload_len, dir == 1);
	if (r != SMTP_SNIFF_YES && dir == 0 &&
	    proxy_sniff(p->payload, p->payload_len)) {
		struct proxy_state *ps = pool_get(w->proxies);

		/* no parser for the handshake: as if the session pool were
		 * dry, counted the same way */
		f->app = ps != NULL ? worker_app_new(w, f) : NULL;
		if (f->app != NULL) {
			struct worker_app *app = f->app;

			app->proxy = ps;
			app->proxy_mode = WORKER_PROXY_HANDSHAKE;
			proxy_init(ps);
			f->app_kind = FLOW_APP_SMTP;
			w->ctr.proxy_flows++;
			return;
		}
		if (ps == NULL)
			w->ctr.session_alloc_fail++;
		else
			pool_put(w->proxies, ps);
	}
	if (r == SMTP_SNIFF_YES) {
		f->app = worker_app_new(w, f);
		if (f->app != NULL) {
			f->app_kind = FLOW_APP_SMTP;
			w->ctr.smtp_flows++;
			w->ctr.sniffed_flows++;
			return;
		}
	} else if (r == SMTP_SNIFF_MORE &&
	    ++f->sniff_tries < WORKER_SNIFF_TRIES) {
		return;
	}
	f->app_kind = FLOW_APP_IGNORED;
	w->ctr.ignored_flows++;
	tcp_reasm_flush(w->reasm, &f->tcp, p->ts_us, &worker_discard_out);
}

/* Flows whose bytes are not read still end on RST or on both FINs. */
static int
worker_light_close(struct flow *f, int dir, const struct pkt *p)
{
	if (p->tcp_flags & PKT_TH_RST)
		return 1;
	if (p->tcp_flags & PKT_TH_FIN) {
		f->tcp.s[dir].flags |= TCP_S_FIN;
		if (f->tcp.s[1 - dir].flags & TCP_S_FIN)
			return 1;
	}
	return 0;
}

void
worker_packet(struct worker *w, const struct pkt *p, uint32_t hash)
{
	struct flow *f;
	struct worker_app *app;
	struct tcp_reasm_out o;
	int dir, created;

	w->now_us = p->ts_us;
	w->ctr.pkts++;
	w->ctr.payload_bytes += p->payload_len;
	f = flow_get(w->flows, p, hash, &dir, &created);
	if (f == NULL) {
		w->ctr.flow_alloc_fail++;
		return;
	}
	if (!created && f->tcp.state == TCP_CONN_CLOSED &&
	    (p->tcp_flags & (PKT_TH_SYN | PKT_TH_ACK)) == PKT_TH_SYN) {
		flow_close(w->flows, f);
		f = flow_get(w->flows, p, hash, &dir, &created);
		if (f == NULL) {
			w->ctr.flow_alloc_fail++;
			return;
		}
	}
	if (w->cfg->stage < RH_STAGE_SMTP) {
		if (w->cfg->stage == RH_STAGE_REASM)
			tcp_reasm_packet(w->reasm, &f->tcp, dir, p,
			    &worker_discard_out);
		return;
	}
	if (created)
		worker_classify(w, f);

	switch ((enum flow_app)f->app_kind) {
	case FLOW_APP_UNKNOWN:
		if (p->payload_len > 0 && p->payload != NULL) {
			worker_sniff(w, f, dir, p);
			if (f->app_kind != FLOW_APP_SMTP) {
				if (f->app_kind == FLOW_APP_UNKNOWN)
					tcp_reasm_packet(w->reasm, &f->tcp,
					    dir, p, &worker_discard_out);
				break;
			}
		} else {
			tcp_reasm_packet(w->reasm, &f->tcp, dir, p,
			    &worker_discard_out);
			if (f->tcp.state == TCP_CONN_CLOSED)
				worker_conn_closed(w, f);
			return;
		}
		/* FALLTHROUGH: just became SMTP */
	case FLOW_APP_SMTP:
		app = f->app;
		if (app->encrypted) {
			w->ctr.encrypted_bytes += p->payload_len;
			break;
		}
		worker_app_out(app, &o);
		tcp_reasm_packet(w->reasm, &f->tcp, dir, p, &o);
		if (app->encrypted)
			tcp_reasm_flush(w->reasm, &f->tcp, p->ts_us,
			    &worker_discard_out);
		if (f->tcp.state == TCP_CONN_CLOSED)
			worker_conn_closed(w, f);
		return;
	case FLOW_APP_TLS_IMPLICIT:
	case FLOW_APP_IGNORED:
		break;
	}
	if (f->tcp.state != TCP_CONN_CLOSED && worker_light_close(f, dir, p)) {
		if (f->app != NULL)
			worker_conn_closed(w, f);
		else
			w->ctr.conn_closed++;
		f->tcp.state = TCP_CONN_CLOSED;
	}
}

void
worker_decode_anomaly(struct worker *w, enum anom_id a, uint64_t ts_us)
{
	worker_count_anomaly(w, a);
	event_anomaly(&w->out, NULL, ts_us, a, -1);
}

void
worker_tick(struct worker *w, uint64_t ts_us)
{
	w->now_us = ts_us;
	flow_table_expire(w->flows, ts_us, WORKER_EXPIRE_WORK);
	if (w->relay != NULL)
		relay_worker_tick(w->relay, ts_us);
}

void
worker_idle(struct worker *w)
{
	if (w->relay != NULL)
		relay_worker_poll(w->relay);
}

void
worker_finish(struct worker *w, uint64_t end_ts)
{
	if (end_ts > w->now_us)
		w->now_us = end_ts;
	if (w->flows != NULL)
		flow_table_drain(w->flows);
	if (w->relay != NULL)
		relay_worker_finish(w->relay);
	evbuf_flush(&w->out);
}

void
worker_destroy(struct worker *w)
{
	if (w->flows != NULL)
		flow_table_destroy(w->flows);
	if (w->reasm != NULL)
		tcp_reasm_destroy(w->reasm);
	arena_reset(&w->scratch);
	if (w->relay != NULL)
		relay_worker_destroy(w->relay);
	det_worker_destroy(w->det);
	pool_destroy(w->msgmem);
	pool_destroy(w->msgsets);
	pool_destroy(w->sessions);
	smtp_ctx_destroy(w->smtp_ctx);
	pool_destroy(w->slots);
	pool_destroy(w->proxies);
	pool_destroy(w->blocks);
	pool_destroy(w->scratch_blocks);
	evbuf_free(&w->out);
	memset(w, 0, sizeof(*w));
}
