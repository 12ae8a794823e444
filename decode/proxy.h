/*
 * proxy.h - recognise proxy handshakes at the start of a TCP flow.
 *
 * Purpose: spot a client reaching a mail server through an open proxy
 * (detection 1304 PROXY_SMTP_TUNNEL) and find where the tunnelled stream
 * starts in each direction, so the worker can hand the rest to the SMTP
 * parser.  Recognised: HTTP `CONNECT host:port HTTP/1.x` (RFC 9110 9.3.6),
 * SOCKS4 CONNECT, SOCKS4a (DSTIP 0.0.0.x, x != 0, hostname after USERID)
 * and SOCKS5 CONNECT (RFC 1928) with or without the RFC 1929
 * username/password sub-negotiation.
 *
 * Contract: one struct proxy_state per flow, embedded (no allocation, no
 * pointers, sizeof <= 320; copying it is fine).  proxy_init it, then feed
 * the bytes of each direction in stream order with proxy_feed, from the
 * first byte of the flow, in chunks of any size (0 allowed).  The two
 * directions are independent byte streams; interleaving them in arrival
 * order is what the caller should do, but each parser only needs its own
 * direction's bytes plus the client's first byte (the kind).  Any chunking
 * of the same bytes gives the same results, the same target and the same
 * handshake lengths.  Only the handshake is looked at: at most
 * PROXY_HS_MAX bytes per direction, HTTP lines at most PROXY_LINE_MAX;
 * past a cap, or on any byte the protocol does not allow, the flow is
 * PROXY_NOT.
 *
 * proxy_feed(st, from_client, d, n, &consumed) returns, for that direction:
 *
 *   PROXY_MORE     all n bytes are handshake bytes (*consumed = n); feed
 *                  more of this direction.
 *   PROXY_NOT      not (or no longer followable as) a proxy handshake:
 *                  stop feeding both directions (*consumed = 0).  Sticky.
 *   PROXY_REQUEST  client direction only, returned exactly once: the
 *                  CONNECT request is complete; kind, target host and port
 *                  are available (raise 1304 here, before any reply).
 *                  *consumed = the request's last bytes in this chunk; the
 *                  rest of the chunk (d + *consumed) is not handshake:
 *                  feed it again (it then gets PROXY_WAIT / PROXY_TUNNEL /
 *                  PROXY_REFUSED with *consumed = 0).
 *   PROXY_WAIT     client direction only: its handshake is complete but the
 *                  proxy has not answered yet (*consumed = 0).  The bytes
 *                  are pipelined payload that becomes tunnel data if the
 *                  proxy grants it: keep them (up to your own cap) or drop
 *                  them, and feed the next chunk as it comes.
 *   PROXY_TUNNEL   the proxy granted the tunnel.  *consumed bytes of this
 *                  chunk are the end of this direction's handshake, the
 *                  rest is tunnelled payload (on the server side typically
 *                  the SMTP 220 banner).  Each direction reports its own:
 *                  the server direction when the grant reply ends, the
 *                  client direction on its first feed after the grant
 *                  (with *consumed = 0: everything it sends after its
 *                  request is payload).  Further feeds of a direction that
 *                  returned PROXY_TUNNEL return PROXY_TUNNEL, *consumed = 0.
 *   PROXY_REFUSED  the proxy refused (HTTP status other than 1xx/2xx,
 *                  SOCKS4 CD 91-93, SOCKS5 method 0xFF, auth status != 0,
 *                  SOCKS5 REP 1-8); returned as soon as the refusal is
 *                  known, in both directions from then on.  Sticky.
 *
 * In stream terms: once a direction has finished its handshake,
 * proxy_hs_len(st, dir) is the stream offset where its tunnel payload
 * starts (it counts handshake bytes only, whatever the chunking).
 *
 * An HTTP 1xx interim response is skipped; a 2xx is a grant.  A 407 is a
 * refusal even if the client retries on the same connection (not followed).
 * SOCKS5 methods other than 0 (none) and 2 (username/password), e.g.
 * GSSAPI, cannot be followed: PROXY_NOT when the server chooses one.  Only
 * CONNECT requests count (SOCKS BIND, UDP ASSOCIATE: PROXY_NOT).
 *
 * Everything returned as a bstr points into the struct proxy_state and
 * lives as long as it does and is not re-initialised.
 */
#ifndef RH_PROXY_H
#define RH_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "bstr.h"

#define PROXY_HS_MAX    4096u  /* handshake bytes looked at per direction */
#define PROXY_LINE_MAX  1024u  /* longest HTTP request/status/header line */
#define PROXY_HOST_MAX  255u   /* longest target host kept (longer: NOT) */
#define PROXY_USER_MAX  24u    /* username/USERID bytes kept (rest counted) */

enum proxy_result {
	PROXY_MORE = 0,
	PROXY_NOT,
	PROXY_REQUEST,
	PROXY_WAIT,
	PROXY_TUNNEL,
	PROXY_REFUSED,
};

enum proxy_kind {
	PROXY_KIND_NONE = 0,     /* not known yet */
	PROXY_KIND_HTTP_CONNECT,
	PROXY_KIND_SOCKS4,
	PROXY_KIND_SOCKS4A,      /* known once the DSTIP is read */
	PROXY_KIND_SOCKS5,
};

enum proxy_addr {
	PROXY_ADDR_NONE = 0,
	PROXY_ADDR_IPV4,         /* host is dotted quad text */
	PROXY_ADDR_IPV6,         /* host is RFC 5952 text, no brackets */
	PROXY_ADDR_DOMAIN,       /* host is the name as sent */
};

/* One direction's parser (private). */
struct proxy_dir {
	uint8_t st;              /* parser state */
	uint8_t done;            /* handshake of this direction finished */
	uint16_t cnt;            /* index or bytes left in the current field */
	uint16_t line;           /* length of the current HTTP line */
	uint16_t len;            /* handshake bytes of this direction so far */
};

struct proxy_state {
	struct proxy_dir cli, srv;
	uint8_t kind;            /* enum proxy_kind */
	uint8_t flags;           /* PROXY_F_* (private) */
	uint8_t addr_type;       /* enum proxy_addr */
	uint8_t host_len;
	uint8_t user_len;        /* bytes kept in user[] */
	uint8_t auth_method;     /* SOCKS5 method chosen by the server */
	uint8_t auth_status;     /* RFC 1929 STATUS */
	uint8_t methods;         /* SOCKS5 methods 0-7 offered, bitmask */
	uint16_t port;
	uint16_t user_total;     /* full username/USERID length */
	uint16_t reply;          /* HTTP status, SOCKS4 CD, SOCKS5 REP */
	uint8_t host[PROXY_HOST_MAX];
	uint8_t user[PROXY_USER_MAX];
};

/* Start (or restart) recognising a flow: all zero, kind NONE. */
void proxy_init(struct proxy_state *st);

/*
 * Feed the next n bytes of one direction (from_client != 0: the side that
 * opened the TCP connection).  *consumed is always set; see above for the
 * results.  d may be NULL when n == 0.
 */
enum proxy_result proxy_feed(struct proxy_state *st, int from_client,
    const uint8_t *d, size_t n, size_t *consumed);

/*
 * Quick test of the first client chunk of a flow: 1 if it can be the start
 * of a recognised handshake (so the worker should keep the flow and feed
 * it), 0 if not.  It is exactly "proxy_feed on a fresh state did not return
 * PROXY_NOT" and reads at most min(n, PROXY_HS_MAX) bytes; n == 0 gives 0.
 */
int proxy_sniff(const uint8_t *d, size_t n);

/* Kind recognised so far (SOCKS4 becomes SOCKS4A once DSTIP says so). */
enum proxy_kind proxy_kind(const struct proxy_state *st);

/* "HTTP_CONNECT", "SOCKS4", "SOCKS4A", "SOCKS5" or "" for NONE. */
const char *proxy_kind_name(enum proxy_kind k);

/* 1 once the client's CONNECT request has been fully parsed. */
int proxy_request_seen(const struct proxy_state *st);

/*
 * Target of the CONNECT, valid once the request is seen (before that:
 * BSTR_NULL / 0 / PROXY_ADDR_NONE).  IPv4 and IPv6 targets are rendered as
 * text; an HTTP host that is a dotted quad is PROXY_ADDR_IPV4, one in
 * brackets is PROXY_ADDR_IPV6 (brackets stripped, text as sent).
 */
struct bstr proxy_target_host(const struct proxy_state *st);
uint16_t proxy_target_port(const struct proxy_state *st);
enum proxy_addr proxy_target_addr_type(const struct proxy_state *st);

/* 1 if the request was seen and its port is 25 or 587 (detection 1304). */
int proxy_target_is_smtp(const struct proxy_state *st);

/*
 * SOCKS5 method the server chose (0 none, 2 username/password, 0xFF no
 * acceptable), or -1 if no choice was seen (or not SOCKS5).
 */
int proxy_auth_method(const struct proxy_state *st);

/* RFC 1929 reply STATUS (0 success), or -1 if none was seen. */
int proxy_auth_status(const struct proxy_state *st);

/*
 * Username the client sent: the RFC 1929 UNAME (SOCKS5) or the USERID
 * (SOCKS4/4a), at most PROXY_USER_MAX bytes kept; *total (if not NULL)
 * gets the full length.  BSTR_NULL if none was sent.  Passwords are not
 * kept.
 */
struct bstr proxy_username(const struct proxy_state *st, unsigned *total);

/* Methods the SOCKS5 client offered, bit m set for method m in 0-7. */
unsigned proxy_methods_offered(const struct proxy_state *st);

/*
 * The proxy's answer: HTTP status code, SOCKS4 CD (90 granted), SOCKS5 REP
 * (0 succeeded); -1 if none was read yet.
 */
int proxy_reply_code(const struct proxy_state *st);

/*
 * Handshake bytes seen in that direction so far; once the direction's
 * handshake is finished, the stream offset of its first tunnelled byte.
 */
size_t proxy_hs_len(const struct proxy_state *st, int from_client);

#endif
