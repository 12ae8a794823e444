/*
 * fuzz_smtp.c - fuzz target for the SMTP session parser (decode/smtp.c,
 * with decode/msghdr.c, rfc2047.c, addr.c behind it) and the JSON of its
 * transactions (output/event.c, output/jstr.c, output/evbuf.c).
 *
 * Input: byte 0 configures the session, then chunks, each one control
 * byte and its bytes:
 *   cfg bit 0     midstream pickup
 *   cfg bit 1     max_line 64 (else default)
 *   cfg bit 2     max_rcpt 3 (else default)
 *   cfg bit 3     max_pipeline 4 (else default)
 *   cfg bit 4     header caps: 256 bytes, 8 fields (else default)
 *   cfg bit 5     arena blocks of 1 KiB (else 16 KiB, as the worker)
 *   cfg bit 6     a pool of 6 blocks (else 4096) and of one transaction
 *                 slot (else SMTP_TX_SLOTS): memory caps
 *   cfg bit 7     no msg_begin/msg_data/msg_end hooks
 *   ctl bit 0     direction (0 initiator, 1 responder)
 *   ctl bits 1-7  v: v < 126 a chunk of v bytes; v == 126 a chunk whose
 *                 length is the next u16 LE; v == 127 a gap whose length
 *                 is the next byte (+1)
 * Each chunk is copied into an exact-size malloc'ed buffer and passed to
 * smtp_sniff and smtp_session_data; smtp_session_end closes the session.
 *
 * Checks: every transaction goes through event_smtp_object and
 * event_email_object (and event_smtp into a discarding evbuf); both must
 * build (they run output/jw.c, the writer event_smtp uses, and parse its
 * text back with jansson) and json_dumps must give text json_loads accepts
 * (attacker bytes are kept valid UTF-8).  tx_id is 0, 1, 2... in reporting order;
 * rcpt_count <= rcpt_total and within max_rcpt; every bstr is readable;
 * data_bytes is 0 without a header section and equals the bytes passed to
 * msg_data for that message; msg_begin/msg_end pair up and the message is
 * closed before its tx_done; anomalies are SMTP ones; at least one
 * tx_done per session; the session releases every pool block at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decode/pool.h"
#include "decode/smtp.h"
#include "output/event.h"
#include "output/evbuf.h"
#include "fuzz.h"

struct fuzz_smtp {
	uint32_t next_tx;
	uint32_t ntx;
	uint32_t max_rcpt;
	int hooks;
	int64_t open_msg;           /* tx_id of the open message, -1 none */
	uint64_t msg_bytes;         /* msg_data bytes of the open message */
	int64_t closed_msg;         /* last message ended */
	uint64_t closed_bytes;
	struct arena scratch;
	struct evbuf *eb;
};

static struct pool *fuzz_pools[2][2];    /* [small blocks][small cap] */
static struct pool *fuzz_slots[2];       /* [small cap] */
static struct pool *fuzz_scratch_pool;
static void *fuzz_session_mem;
static struct evbuf fuzz_eb;            /* NULL sink: events are dropped */

static const struct event_flow fuzz_ef = {
	.flow_id = 42,
	.community_id = "1:fuzz",
	.ipver = 4,
	.src = { 192, 0, 2, 1 },
	.dst = { 198, 51, 100, 25 },
	.sport = 40000,
	.dport = 25,
	.vlan = { 10 },
	.vlan_count = 1,
	.sensor = "fuzz",
};

static void
fuzz_setup(void)
{
	int b, c;

	if (fuzz_scratch_pool != NULL)
		return;
	for (b = 0; b < 2; b++)
		for (c = 0; c < 2; c++) {
			fuzz_pools[b][c] = pool_create(b ? 1024 : 16384,
			    c ? 6 : 4096);
			FUZZ_CHECK(fuzz_pools[b][c] != NULL);
		}
	for (c = 0; c < 2; c++) {
		fuzz_slots[c] = pool_create(smtp_slot_size(),
		    c ? 1 : SMTP_TX_SLOTS);
		FUZZ_CHECK(fuzz_slots[c] != NULL);
	}
	fuzz_scratch_pool = pool_create(256u * 1024, 64);
	fuzz_session_mem = malloc(smtp_session_size());
	FUZZ_CHECK(fuzz_scratch_pool != NULL && fuzz_session_mem != NULL);
	/* one evbuf for every input: its 320 KiB buffer is costly to make */
	FUZZ_CHECK(evbuf_init(&fuzz_eb, NULL, 0) == 0);
}

static void
fuzz_bstr(struct bstr s)
{
	fuzz_touch(s.p, s.len);
}

/* Serialise and parse back: the JSON must be valid. */
static void
fuzz_json(json_t *o)
{
	json_error_t err;
	json_t *back;
	char *txt;

	txt = json_dumps(o, JSON_COMPACT);
	FUZZ_CHECK(txt != NULL);
	back = json_loads(txt, JSON_ALLOW_NUL, &err);
	if (back == NULL)
		fprintf(stderr, "json_loads: %s: %s\n", err.text, txt);
	FUZZ_CHECK(back != NULL);
	json_decref(back);
	free(txt);
}

static void
fuzz_tx(void *u, const struct smtp_tx *tx)
{
	struct fuzz_smtp *f = u;
	const struct msghdr_section *h = tx->hdr;
	json_t *o;
	uint32_t i;

	FUZZ_CHECK(tx->tx_id == f->next_tx);
	f->next_tx++;
	f->ntx++;
	FUZZ_CHECK(tx->server_dir >= -1 && tx->server_dir <= 1);
	FUZZ_CHECK(tx->status <= SMTP_TX_GAP);
	FUZZ_CHECK(tx->rcpt_count <= tx->rcpt_total);
	FUZZ_CHECK(tx->rcpt_count <= f->max_rcpt);
	if (tx->rcpt_count > 0)
		FUZZ_CHECK(tx->rcpt != NULL);
	for (i = 0; tx->rcpt != NULL && i < tx->rcpt_count; i++) {
		fuzz_bstr(tx->rcpt[i].addr);
		FUZZ_CHECK(tx->rcpt[i].code >= 0 && tx->rcpt[i].code <= 999);
	}
	fuzz_bstr(tx->banner);
	fuzz_bstr(tx->helo);
	fuzz_bstr(tx->helo_cmd);
	fuzz_bstr(tx->auth_mech);
	fuzz_bstr(tx->mail_from);
	fuzz_bstr(tx->last_reply);
	fuzz_bstr(tx->queue_id);
	FUZZ_CHECK(tx->auth_success >= -1 && tx->auth_success <= 1);
	if (h == NULL) {
		FUZZ_CHECK(tx->data_bytes == 0);
	} else {
		FUZZ_CHECK(h->nfields <= h->fields_alloc);
		for (i = 0; i < h->nfields; i++) {
			fuzz_bstr(h->fields[i].name);
			fuzz_bstr(h->fields[i].value);
		}
	}
	if (f->hooks) {
		/* the message is closed before the transaction is reported */
		FUZZ_CHECK(f->open_msg != (int64_t)tx->tx_id);
		if (h != NULL && f->closed_msg == (int64_t)tx->tx_id)
			FUZZ_CHECK(tx->data_bytes == f->closed_bytes);
	}

	o = event_smtp_object(tx);
	FUZZ_CHECK(o != NULL);
	fuzz_json(o);
	json_decref(o);
	o = event_email_object(tx, &f->scratch);
	FUZZ_CHECK((o != NULL) == (h != NULL));
	if (o != NULL) {
		fuzz_json(o);
		json_decref(o);
	}
	arena_reset(&f->scratch);
	FUZZ_CHECK(event_smtp(f->eb, &fuzz_ef, tx, &f->scratch, NULL) == 0);
	arena_reset(&f->scratch);
}

static void
fuzz_anom(void *u, enum anom_id a, uint64_t ts)
{
	struct fuzz_smtp *f = u;

	(void)ts;
	FUZZ_CHECK(a > ANOM_NONE && a < ANOM_COUNT);
	FUZZ_CHECK(anom_class_name(a) != NULL &&
	    strcmp(anom_class_name(a), "smtp") == 0);
	FUZZ_CHECK(event_anomaly(f->eb, &fuzz_ef, ts, a, -1) == 0);
}

static void
fuzz_msg_begin(void *u, uint32_t tx_id)
{
	struct fuzz_smtp *f = u;

	FUZZ_CHECK(f->open_msg < 0);
	f->open_msg = tx_id;
	f->msg_bytes = 0;
}

static void
fuzz_msg_data(void *u, const uint8_t *d, size_t n, int in_header)
{
	struct fuzz_smtp *f = u;

	FUZZ_CHECK(f->open_msg >= 0);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(in_header == 0 || in_header == 1);
	fuzz_touch(d, n);
	f->msg_bytes += n;
}

static void
fuzz_msg_end(void *u, uint32_t tx_id)
{
	struct fuzz_smtp *f = u;

	FUZZ_CHECK(f->open_msg == (int64_t)tx_id);
	f->open_msg = -1;
	f->closed_msg = tx_id;
	f->closed_bytes = f->msg_bytes;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct smtp_config cfg;
	struct smtp_stats st;
	struct smtp_out out;
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	struct pool_stats ps;
	struct pool *pool;
	struct fuzz_smtp f;
	enum smtp_sniff_result sn;
	uint8_t c, c0, *buf;
	size_t want, got;
	uint64_t ts = 1700000000ull * 1000000;
	unsigned v;
	int dir;

	fuzz_setup();
	c = c0 = fuzz_u8(&in);
	memset(&cfg, 0, sizeof(cfg));
	if (c & 0x02)
		cfg.max_line = 64;
	if (c & 0x04)
		cfg.max_rcpt = 3;
	if (c & 0x08)
		cfg.max_pipeline = 4;
	if (c & 0x10) {
		cfg.hdr.max_bytes = 256;
		cfg.hdr.max_fields = 8;
	}
	pool = fuzz_pools[(c >> 5) & 1][(c >> 6) & 1];

	memset(&f, 0, sizeof(f));
	f.max_rcpt = cfg.max_rcpt ? cfg.max_rcpt : 1000;
	f.hooks = !(c & 0x80);
	f.open_msg = -1;
	f.closed_msg = -1;
	arena_init(&f.scratch, fuzz_scratch_pool);
	f.eb = &fuzz_eb;
	fuzz_eb.dropped = 0;
	memset(&out, 0, sizeof(out));
	out.tx_done = fuzz_tx;
	out.anomaly = fuzz_anom;
	if (f.hooks) {
		out.msg_begin = fuzz_msg_begin;
		out.msg_data = fuzz_msg_data;
		out.msg_end = fuzz_msg_end;
	}
	memset(&st, 0, sizeof(st));
	ctx = smtp_ctx_create(&cfg, pool, fuzz_slots[(c >> 6) & 1], &out, &st);
	FUZZ_CHECK(ctx != NULL);
	s = smtp_session_init(fuzz_session_mem, ctx, &f, c & 1);
	FUZZ_CHECK(s != NULL);

	while (in.n > 0) {
		c = fuzz_u8(&in);
		dir = c & 1;
		v = c >> 1;
		ts += 1000;
		if (v == 127) {
			smtp_session_gap(s, dir, (uint32_t)fuzz_u8(&in) + 1, ts);
			continue;
		}
		want = v == 126 ? fuzz_u16(&in) : v;
		buf = fuzz_take(&in, want, &got);
		if (buf == NULL)
			continue;
		sn = smtp_sniff(buf, got, dir);
		FUZZ_CHECK(sn == SMTP_SNIFF_NO || sn == SMTP_SNIFF_YES ||
		    sn == SMTP_SNIFF_MORE);
		smtp_session_data(s, dir, buf, got, ts);
		free(buf);
		(void)smtp_session_encrypted(s);
	}
	smtp_session_end(s, ts + 1000);

	FUZZ_CHECK(f.ntx >= 1);
	FUZZ_CHECK(f.open_msg < 0);
	FUZZ_CHECK(fuzz_eb.dropped == 0);
	pool_stats_get(pool, &ps);
	FUZZ_CHECK(ps.in_use == 0);
	pool_stats_get(fuzz_slots[(c0 >> 6) & 1], &ps);
	FUZZ_CHECK(ps.in_use == 0);
	smtp_ctx_destroy(ctx);
	pool_stats_get(fuzz_scratch_pool, &ps);
	FUZZ_CHECK(ps.in_use == 0);
	evbuf_flush(&fuzz_eb);
	return 0;
}
