/*
 * test_worker.c - the parts of a flow's state the worker takes from its
 * pools only while a flow needs them: message scan state (from the first
 * message byte to the transaction's report), the proxy parser (from a proxy
 * handshake until it is refused or the flow ends), SMTP transaction slots;
 * that each goes back to its pool, and that a dry pool degrades as the
 * worker's other caps do (a counter, the session goes on).  Also that the
 * event flow fields, now built per event into the worker, are those of the
 * right flow when a freed flow's memory is reused at once.
 *
 * Packets are made by hand (struct pkt as the decoder leaves it) and fed to
 * worker_packet; events go to a temporary file read back at the end.
 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/config.h"
#include "capture/config_file.h"
#include "capture/worker.h"
#include "output/sink.h"

#ifndef RH_SRCDIR
#define RH_SRCDIR "."
#endif

struct conn {
	uint8_t cip[4], sip[4];
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static uint64_t now_us = 1700000000ull * 1000000;

static void
pk(struct worker *w, struct conn *c, int from_client, uint8_t flags,
    const char *data)
{
	struct pkt p;
	size_t n = data != NULL ? strlen(data) : 0;

	memset(&p, 0, sizeof(p));
	p.ts_us = (now_us += 1000);
	p.ipver = 4;
	p.l4proto = 6;
	p.wscale = 0xff;
	memcpy(p.src, from_client ? c->cip : c->sip, 4);
	memcpy(p.dst, from_client ? c->sip : c->cip, 4);
	p.sport = from_client ? c->cport : c->sport;
	p.dport = from_client ? c->sport : c->cport;
	p.seq = from_client ? c->cseq : c->sseq;
	p.ack = from_client ? c->sseq : c->cseq;
	p.tcp_flags = flags;
	p.payload = (const uint8_t *)data;
	p.payload_len = (uint32_t)n;
	if (from_client)
		c->cseq += (uint32_t)n + ((flags & (PKT_TH_SYN | PKT_TH_FIN)) ?
		    1 : 0);
	else
		c->sseq += (uint32_t)n + ((flags & (PKT_TH_SYN | PKT_TH_FIN)) ?
		    1 : 0);
	worker_packet(w, &p, pkt_flow_hash(&p));
}

static void
conn_open(struct worker *w, struct conn *c, uint16_t cport, uint16_t sport)
{
	static const uint8_t cip[4] = { 192, 0, 2, 10 };
	static const uint8_t sip[4] = { 198, 51, 100, 25 };

	memcpy(c->cip, cip, 4);
	memcpy(c->sip, sip, 4);
	c->cport = cport;
	c->sport = sport;
	c->cseq = 1000;
	c->sseq = 5000;
	pk(w, c, 1, PKT_TH_SYN, NULL);
	pk(w, c, 0, PKT_TH_SYN | PKT_TH_ACK, NULL);
	pk(w, c, 1, PKT_TH_ACK, NULL);
}

static void
say(struct worker *w, struct conn *c, int from_client, const char *text)
{
	pk(w, c, from_client, PKT_TH_ACK | PKT_TH_PUSH, text);
}

static void
conn_close(struct worker *w, struct conn *c)
{
	pk(w, c, 1, PKT_TH_FIN | PKT_TH_ACK, NULL);
	pk(w, c, 0, PKT_TH_FIN | PKT_TH_ACK, NULL);
	pk(w, c, 1, PKT_TH_ACK, NULL);
}

static uint64_t
in_use(struct pool *p)
{
	struct pool_stats st;

	pool_stats_get(p, &st);
	return st.in_use;
}

/* Take every object a pool can still give; returns how many. */
static size_t
drain(struct pool *p, void **objs, size_t max)
{
	size_t n = 0;

	while (n < max && (objs[n] = pool_get(p)) != NULL)
		n++;
	return n;
}

static void
undrain(struct pool *p, void **objs, size_t n)
{
	while (n > 0)
		pool_put(p, objs[--n]);
}

static struct rh_config cfg;
static struct det_config dcfg;
static struct relay_config relc;
static struct det_global *det;
static char evpath[64];

static void
setup(void)
{
	char err[256];
	int fd;

	config_defaults(&cfg);
	cfg.workers = 1;
	cfg.flow.max_flows = 16;
	snprintf(cfg.sensor, sizeof(cfg.sensor), "test");
	memset(&dcfg, 0, sizeof(dcfg));
	config_file_defaults(&dcfg, &relc);
	dcfg.default_rules = RH_SRCDIR "/rules/default.yaml";
	dcfg.max_open_msgs = cfg.flow.max_flows;
	det = det_global_create(&dcfg, err, sizeof(err));
	if (det == NULL)
		fprintf(stderr, "det: %s\n", err);
	CHECK(det != NULL);
	cfg.det = det;
	snprintf(evpath, sizeof(evpath), "/tmp/test_worker.XXXXXX");
	fd = mkstemp(evpath);
	CHECK(fd >= 0);
	close(fd);
}

static struct sink *sink;

static void
start(struct worker *w)
{
	char err[256];

	sink = sink_open(evpath, err, sizeof(err));
	CHECK(sink != NULL);
	CHECK_EQ_INT(worker_init(w, 0, &cfg, sink, NULL, err, sizeof(err)), 0);
}

static void
stop(struct worker *w)
{
	worker_finish(w, now_us);
	CHECK_EQ_INT(in_use(w->sessions), 0);
	CHECK_EQ_INT(in_use(w->slots), 0);
	CHECK_EQ_INT(in_use(w->proxies), 0);
	CHECK_EQ_INT(in_use(w->msgsets), 0);
	CHECK_EQ_INT(in_use(w->msgmem), 0);
	CHECK_EQ_INT(in_use(w->blocks), 0);
	worker_destroy(w);
	sink_close(sink);
}

/* Occurrences of `what` in the events written so far. */
static int
events_with(const char *what)
{
	static char buf[1 << 16];
	FILE *f = fopen(evpath, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (strstr(buf, what) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
message(struct worker *w, struct conn *c)
{
	say(w, c, 1, "MAIL FROM:<a@example.org>\r\n");
	say(w, c, 0, "250 ok\r\n");
	say(w, c, 1, "RCPT TO:<b@example.net>\r\n");
	say(w, c, 0, "250 ok\r\n");
	say(w, c, 1, "DATA\r\n");
	say(w, c, 0, "354 go\r\n");
	say(w, c, 1, "Subject: hi\r\n\r\nbody\r\n");
}

static void
test_msgs(void)
{
	struct worker w;
	struct conn c;

	start(&w);
	conn_open(&w, &c, 40001, 25);
	say(&w, &c, 0, "220 mx.example ESMTP\r\n");
	say(&w, &c, 1, "EHLO client.example\r\n");
	say(&w, &c, 0, "250 mx\r\n");
	/* an idle session: no message state, no transaction */
	CHECK_EQ_INT(in_use(w.sessions), 1);
	CHECK_EQ_INT(in_use(w.msgsets), 0);
	CHECK_EQ_INT(in_use(w.slots), 0);
	message(&w, &c);
	CHECK_EQ_INT(in_use(w.msgsets), 1);
	CHECK_EQ_INT(in_use(w.msgmem), 1);
	CHECK_EQ_INT(in_use(w.slots), 1);
	say(&w, &c, 1, ".\r\n");
	say(&w, &c, 0, "250 queued as ABC\r\n");
	/* reported: everything of the message is back */
	CHECK_EQ_INT(in_use(w.msgsets), 0);
	CHECK_EQ_INT(in_use(w.msgmem), 0);
	CHECK_EQ_INT(in_use(w.slots), 0);
	CHECK_EQ_INT(w.smtp.messages, 1);
	/* ended by the flow end, not by a report */
	message(&w, &c);
	CHECK_EQ_INT(in_use(w.msgsets), 1);
	conn_close(&w, &c);
	CHECK_EQ_INT(in_use(w.msgsets), 0);
	CHECK_EQ_INT(w.ctr.msgmem_fail, 0);
	stop(&w);
}

static void
test_msgs_dry(void)
{
	void *held[64];
	struct worker w;
	struct conn c;
	size_t n;

	start(&w);
	n = drain(w.msgsets, held, 64);
	CHECK_EQ_INT(n, cfg.flow.max_flows);
	conn_open(&w, &c, 40001, 25);
	say(&w, &c, 0, "220 mx.example ESMTP\r\n");
	message(&w, &c);
	say(&w, &c, 1, ".\r\n");
	say(&w, &c, 0, "250 queued as ABC\r\n");
	/* no scan state: counted, the transaction is still reported */
	CHECK_EQ_INT(w.ctr.msgmem_fail, 1);
	CHECK_EQ_INT(w.smtp.messages, 1);
	CHECK_EQ_INT(in_use(w.msgmem), 0);
	undrain(w.msgsets, held, n);
	conn_close(&w, &c);
	stop(&w);
	CHECK_EQ_INT(events_with("\"queue_id\":\"ABC\""), 1);
}

static void
test_proxy(void)
{
	struct worker w;
	struct conn c, r;

	start(&w);
	conn_open(&w, &c, 40001, 8080);
	CHECK_EQ_INT(in_use(w.proxies), 0);
	say(&w, &c, 1, "CONNECT mx.example:25 HTTP/1.1\r\n\r\n");
	CHECK_EQ_INT(w.ctr.proxy_flows, 1);
	CHECK_EQ_INT(in_use(w.proxies), 1);
	say(&w, &c, 0, "HTTP/1.1 200 Connection established\r\n\r\n"
	    "220 mx.example ESMTP\r\n");
	/* a tunnel keeps it: the CONNECT target goes with each transaction */
	CHECK_EQ_INT(in_use(w.proxies), 1);
	say(&w, &c, 1, "EHLO c\r\n");
	say(&w, &c, 0, "250 mx\r\n");
	message(&w, &c);
	say(&w, &c, 1, ".\r\n");
	say(&w, &c, 0, "250 queued as T1\r\n");
	CHECK_EQ_INT(w.ctr.proxy_tunnels, 1);
	conn_close(&w, &c);
	CHECK_EQ_INT(in_use(w.proxies), 0);

	/* refused: given back at once */
	conn_open(&w, &r, 40002, 8080);
	say(&w, &r, 1, "CONNECT mx.example:25 HTTP/1.1\r\n\r\n");
	CHECK_EQ_INT(in_use(w.proxies), 1);
	say(&w, &r, 0, "HTTP/1.1 403 Forbidden\r\n\r\n");
	CHECK_EQ_INT(in_use(w.proxies), 0);
	say(&w, &r, 1, "more\r\n");
	conn_close(&w, &r);
	stop(&w);
	CHECK_EQ_INT(events_with("PROXY_SMTP_TUNNEL"), 2); /* both requests */
	CHECK_EQ_INT(events_with("\"queue_id\":\"T1\""), 1);
}

static void
test_proxy_dry(void)
{
	void *held[64];
	struct worker w;
	struct conn c;
	size_t n;

	start(&w);
	n = drain(w.proxies, held, 64);
	conn_open(&w, &c, 40001, 8080);
	say(&w, &c, 1, "CONNECT mx.example:25 HTTP/1.1\r\n\r\n");
	/* no parser: counted as a session that could not be had */
	CHECK_EQ_INT(w.ctr.proxy_flows, 0);
	CHECK_EQ_INT(w.ctr.session_alloc_fail, 1);
	CHECK_EQ_INT(w.ctr.ignored_flows, 1);
	CHECK_EQ_INT(in_use(w.sessions), 0);
	undrain(w.proxies, held, n);
	conn_close(&w, &c);
	stop(&w);
}

static void
test_slots_dry(void)
{
	void *held[64];
	struct worker w;
	struct conn c;
	size_t n;

	start(&w);
	n = drain(w.slots, held, 64);
	conn_open(&w, &c, 40001, 25);
	say(&w, &c, 0, "220 mx.example ESMTP\r\n");
	message(&w, &c);
	say(&w, &c, 1, ".\r\n");
	say(&w, &c, 0, "250 queued as ABC\r\n");
	CHECK_EQ_INT(w.ctr.anomalies[ANOM_SMTP_SESSION_MEMCAP], 1);
	CHECK_EQ_INT(w.smtp.transactions, 0);
	undrain(w.slots, held, n);
	say(&w, &c, 1, "QUIT\r\n");
	say(&w, &c, 0, "221 bye\r\n");
	conn_close(&w, &c);
	stop(&w);
	CHECK_EQ_INT(events_with("SMTP_SESSION_MEMCAP"), 1);
}

/* A flow ends and the next one gets its memory: its own addresses. */
static void
test_event_flow(void)
{
	struct worker w;
	struct conn a, b;

	start(&w);
	conn_open(&w, &a, 40001, 25);
	say(&w, &a, 0, "220 mx.example ESMTP\r\n");
	say(&w, &a, 1, "EHLO a\r\n");
	say(&w, &a, 0, "250 mx\r\n");
	conn_close(&w, &a);
	conn_open(&w, &b, 40002, 25);
	say(&w, &b, 0, "220 mx.example ESMTP\r\n");
	say(&w, &b, 1, "EHLO b\r\n");
	say(&w, &b, 0, "250 mx\r\n");
	conn_close(&w, &b);
	stop(&w);
	CHECK_EQ_INT(events_with("\"src_port\":40001,"), 1);
	CHECK_EQ_INT(events_with("\"src_port\":40002,"), 1);
	CHECK_EQ_INT(events_with("\"src_port\":40002,\"dest_ip\":"
	    "\"198.51.100.25\",\"dest_port\":25"), 1);
}

int
main(void)
{
	setup();
	if (det != NULL) {
		test_msgs();
		test_msgs_dry();
		test_proxy();
		test_proxy_dry();
		test_slots_dry();
		test_event_flow();
	}
	det_global_free(det);
	unlink(evpath);
	return CHECK_DONE();
}
