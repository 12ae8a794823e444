/*
 * event.h - the JSON events of ../shared/spec/events.md.
 *
 * Contract: each event_* function writes one event (the fields on every
 * event, then its own object) as one line of the worker's evbuf, with a
 * jw writer in place (the stats event: a jansson object, evbuf_put).
 * Flow fields come from a struct event_flow the worker fills once per flow:
 * `src` is the SMTP client and `dest` the server as the roles are on the
 * wire (the side that sent the 220 banner is the server), falling back to
 * TCP initiator/responder when the roles are unknown.  Timestamps are
 * written `YYYY-MM-DDTHH:MM:SS.ffffff+0000`.  Every attacker-controlled byte
 * string goes through jw_str (the rule of jstr_from_bytes), so each line is
 * valid JSON whatever the input.  Returns 0, or -1 if the event was
 * dropped (counted in evbuf).
 */
#ifndef RH_EVENT_H
#define RH_EVENT_H

#include <stdint.h>

#include <jansson.h>

#include "../decode/anomaly.h"
#include "../decode/pkt.h"
#include "../decode/pool.h"
#include "../decode/smtp.h"
#include "../detect/detect.h"
#include "../detect/relay.h"
#include "community_id.h"
#include "evbuf.h"
#include "jw.h"

struct event_flow {
	uint64_t flow_id;
	char community_id[COMMUNITY_ID_LEN];
	uint8_t ipver;
	uint8_t src[16], dst[16];    /* client, server */
	uint16_t sport, dport;
	uint16_t vlan[PKT_MAX_VLAN];
	uint8_t vlan_count;
	const char *sensor;
};

/*
 * The sensor name written when an event has no flow (ef NULL) or the flow's
 * `sensor` is NULL, and by event_stats when its sensor is NULL.  Set once at
 * start, before the workers run (the string is not copied).
 */
void event_set_sensor(const char *sensor);

/* An address as text (dotted quad or RFC 5952 IPv6). */
void event_format_ip(int ipver, const uint8_t *a, char *buf, size_t len);

/* An `alert` event for an open-relay/proxy/authentication detection, with
 * the `relay` object when the alert has one; tx may be NULL (a proxy
 * CONNECT seen before any SMTP), tx_id < 0 when there is none.  A 1302
 * has no smtp_tx at hand: ctx (the inbound transaction's copy) gives its
 * fields then; ctx is used only when tx is NULL and may be NULL too. */
int event_alert_relay(struct evbuf *b, const struct event_flow *ef,
    uint64_t ts_us, int64_t tx_id, const struct smtp_tx *tx,
    const struct relay_txctx *ctx, const struct relay_alert *ra);

/* Format microseconds since the epoch as the contract's timestamp. */
void event_format_ts(uint64_t ts_us, char out[40]);

/*
 * Open an event on w: '{', timestamp, event_type and (when ef is not NULL)
 * the flow fields and the sensor.  The caller adds its own members and the
 * closing jw_obj_end.  Used by every event below and by event_detect.c.
 */
void event_head(struct jw *w, const char *event_type, uint64_t ts_us,
    const struct event_flow *ef);
/* The same fields as a closed jansson object; NULL on out of memory. */
json_t *event_new(const char *event_type, uint64_t ts_us,
    const struct event_flow *ef);

/* The `smtp` event of one transaction, `email` built from tx->hdr (values
 * RFC 2047-decoded into `scratch`, which the caller resets afterwards).
 * With a detection result (may be NULL) the email object also carries
 * received, origin, injection_point and auth_results, and the event the
 * `alerts` list. */
int event_smtp(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, struct arena *scratch,
    const struct det_result *dr);

/* Write received/origin/injection_point/auth_results into the open email
 * object on w. */
void event_email_add_detect(struct jw *w, const struct det_result *r);
/* Write [{signature_id, signature}] of a result as a value on w. */
void event_alerts_brief(struct jw *w, const struct det_result *r);
/* One `alert` event for one detection of tx. */
int event_alert(struct evbuf *b, const struct event_flow *ef,
    const struct smtp_tx *tx, const struct det_alert *al,
    const struct det_result *r);

/* The `smtp` and `email` objects alone, as jansson objects (the fuzzer and
 * tests; the text event_smtp writes, parsed back).  NULL on out of memory;
 * email also when tx has no header section. */
json_t *event_smtp_object(const struct smtp_tx *tx);
json_t *event_email_object(const struct smtp_tx *tx, struct arena *scratch);

/* An `anomaly` event {type, event}; ef may be NULL (decode anomalies of
 * packets that belong to no flow); tx_id < 0 when not in a transaction. */
int event_anomaly(struct evbuf *b, const struct event_flow *ef,
    uint64_t ts_us, enum anom_id a, int64_t tx_id);

/* The `stats` event: `stats` is the counters object (reference stolen). */
int event_stats(struct evbuf *b, uint64_t ts_us, const char *sensor,
    json_t *stats);

#endif
