/*
 * proxy.c - byte-at-a-time recognisers of proxy handshakes.
 *
 * Design: each direction is a small state machine that looks at one byte at
 * a time and keeps only a state number, a field counter and the line
 * length (struct proxy_dir); the target host, port and username are written
 * into the state as their bytes go by.  Nothing is buffered, so the state
 * fits in a flow (<= 320 bytes), any chunking gives the same result by
 * construction, and the handshake length of each direction is simply the
 * number of bytes the machine accepted before it reached its final state:
 * the byte after that is the first tunnelled byte, which is how pipelined
 * client data and a 220 banner in the reply's segment are split off.
 *
 * The client machine needs nothing from the server side: after a SOCKS5
 * greeting the next client message is told apart by its first byte (1:
 * RFC 1929 sub-negotiation, 5: the request), so an optimistic client that
 * sends greeting and request together parses the same as a careful one.
 * The server machine needs only the kind, which the client's first byte
 * fixes; a server that speaks first is not a proxy.
 *
 * Rejected: collecting each message into a buffer and parsing it with a
 * cursor (a cap-sized buffer per direction would not fit in a flow, and
 * SOCKS messages have no framing that says where they end without parsing
 * them anyway); matching whole-message patterns per chunk (depends on
 * segmentation).  The single-byte dispatch costs a switch per byte over at
 * most a few hundred bytes per flow.
 *
 * Strictness: fields with fixed values (SOCKS versions, RSV, ATYP, HTTP
 * version prefix) must match, so random traffic falls out within a byte or
 * two; free text (HTTP header lines, USERID) is only length-capped.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <string.h>

#define F_NOT      0x01
#define F_REFUSED  0x02
#define F_GRANTED  0x04
#define F_REQUEST  0x08
#define F_METHOD   0x10
#define F_ASTATUS  0x20
#define F_REPLY    0x40
#define F_USER     0x80

_Static_assert(sizeof(struct proxy_state) <= 320, "proxy_state too big");

enum step {
	STEP_CONT = 0,
	STEP_DONE,
	STEP_BAD,
	STEP_REFUSED,
};

enum cli_state {
	C_START = 0,
	/* HTTP CONNECT */
	C_H_METHOD,
	C_H_HOST,
	C_H_V6,
	C_H_V6END,
	C_H_PORT,
	C_H_VER,
	C_H_REST,             /* lenient: the rest of the request line */
	C_H_MINOR,
	C_H_EOL,
	C_H_EOL_CR,
	C_H_BOL,
	C_H_BOL_CR,
	C_H_LINE,
	/* SOCKS4/4a */
	C_4_CMD,
	C_4_PORT,
	C_4_IP,
	C_4_USER,
	C_4_HOST,
	/* SOCKS5 */
	C_5_NMETH,
	C_5_METH,
	C_5_NEXT,
	C_5_ULEN,
	C_5_USER,
	C_5_PLEN,
	C_5_PASS,
	C_5_REQVER,
	C_5_CMD,
	C_5_RSV,
	C_5_ATYP,
	C_5_DLEN,
	C_5_ADDR,
	C_5_PORT,
};

enum srv_state {
	S_START = 0,
	S_H_PROTO,
	S_H_MINOR,
	S_H_SP,
	S_H_CODE,
	S_H_AFTER,
	S_H_REST,
	S_H_BOL,
	S_H_BOL_CR,
	S_H_LINE,
	S_4_CD,
	S_4_REST,
	S_5_METH,
	S_5_AVER,
	S_5_ASTAT,
	S_5_RVER,
	S_5_REP,
	S_5_RSV,
	S_5_ATYP,
	S_5_DLEN,
	S_5_SKIP,
};

static const char http_connect[] = "CONNECT ";
static const char http_ver[] = "HTTP/1.";

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Bytes allowed in an HTTP authority's host: visible ASCII minus delimiters. */
static int
is_host_byte(uint8_t c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr(":/@[]?#\\\"<>", c) == NULL;
}

static void
user_byte(struct proxy_state *st, uint8_t c)
{
	if (st->user_len < PROXY_USER_MAX)
		st->user[st->user_len++] = c;
	if (st->user_total < UINT16_MAX)
		st->user_total++;
}

/* Render host[0..n) raw address bytes as text in place. */
static void
render_addr(struct proxy_state *st, int af)
{
	char buf[INET6_ADDRSTRLEN];
	size_t len;

	if (inet_ntop(af, st->host, buf, sizeof(buf)) == NULL) {
		st->host_len = 0;
		return;
	}
	len = strlen(buf);
	memcpy(st->host, buf, len);
	st->host_len = (uint8_t)len;
	st->addr_type = af == AF_INET ? PROXY_ADDR_IPV4 : PROXY_ADDR_IPV6;
}

static void
classify_http_host(struct proxy_state *st)
{
	char buf[PROXY_HOST_MAX + 1];
	struct in_addr a;

	if (st->addr_type == PROXY_ADDR_IPV6)
		return;
	memcpy(buf, st->host, st->host_len);
	buf[st->host_len] = '\0';
	st->addr_type = inet_pton(AF_INET, buf, &a) == 1 ?
	    PROXY_ADDR_IPV4 : PROXY_ADDR_DOMAIN;
}

/* One byte of an HTTP header section (after the first line). */
static enum step
hdr_byte(struct proxy_dir *d, uint8_t c, uint8_t bol, uint8_t bol_cr,
    uint8_t inl)
{
	if (d->st == bol) {
		if (c == '\n')
			return STEP_DONE;
		d->st = c == '\r' ? bol_cr : inl;
		d->line = 1;
		return STEP_CONT;
	}
	if (d->st == bol_cr) {
		if (c == '\n')
			return STEP_DONE;
		d->st = inl;
	}
	if (c == '\n') {
		d->st = bol;
		d->line = 0;
		return STEP_CONT;
	}
	if (++d->line > PROXY_LINE_MAX)
		return STEP_BAD;
	return STEP_CONT;
}

static enum step
cli_byte(struct proxy_state *st, uint8_t c)
{
	struct proxy_dir *d = &st->cli;

	switch ((enum cli_state)d->st) {
	case C_START:
		if (c == 'C') {
			st->kind = PROXY_KIND_HTTP_CONNECT;
			d->st = C_H_METHOD;
			d->cnt = 1;
		} else if (c == 4) {
			st->kind = PROXY_KIND_SOCKS4;
			d->st = C_4_CMD;
		} else if (c == 5) {
			st->kind = PROXY_KIND_SOCKS5;
			d->st = C_5_NMETH;
		} else {
			return STEP_BAD;
		}
		return STEP_CONT;

	/* HTTP: CONNECT host:port HTTP/1.x CRLF headers CRLF */
	case C_H_METHOD:
		if (c != (uint8_t)http_connect[d->cnt])
			return STEP_BAD;
		if (++d->cnt == sizeof(http_connect) - 1)
			d->st = C_H_HOST;
		break;
	case C_H_HOST:
		if (c == '[' && st->host_len == 0) {
			st->addr_type = PROXY_ADDR_IPV6;
			d->st = C_H_V6;
		} else if (c == ':' && st->host_len > 0) {
			d->st = C_H_PORT;
			d->cnt = 0;
		} else if (is_host_byte(c) && st->host_len < PROXY_HOST_MAX) {
			st->host[st->host_len++] = c;
		} else {
			return STEP_BAD;
		}
		break;
	case C_H_V6:
		if (c == ']' && st->host_len > 0)
			d->st = C_H_V6END;
		else if ((is_host_byte(c) || c == ':') &&
		    st->host_len < PROXY_HOST_MAX)
			st->host[st->host_len++] = c;
		else
			return STEP_BAD;
		break;
	case C_H_V6END:
		if (c != ':')
			return STEP_BAD;
		d->st = C_H_PORT;
		d->cnt = 0;
		break;
	case C_H_PORT:
		if (c == ' ' && d->cnt > 0) {
			/*
			 * Proxies and their abusers write odd request lines
			 * ("CONNECT host:25 / HTTP/1.0" in the wild): the target
			 * is what matters, the rest of the line is skipped.
			 */
			d->st = C_H_REST;
			d->cnt = 0;
		} else if (is_digit(c) && d->cnt < 5 &&
		    (uint32_t)st->port * 10 + (c - '0') <= 65535) {
			st->port = (uint16_t)(st->port * 10 + (c - '0'));
			d->cnt++;
		} else {
			return STEP_BAD;
		}
		break;
	case C_H_REST:
		if (c == '\r') {
			d->st = C_H_EOL_CR;
			d->line = 0;
			return STEP_CONT;
		}
		if (c == '\n') {
			d->st = C_H_BOL;
			d->line = 0;
			return STEP_CONT;
		}
		if (c < 0x20 || c > 0x7e || ++d->cnt > PROXY_LINE_MAX)
			return STEP_BAD;
		break;
	case C_H_VER:
		if (c != (uint8_t)http_ver[d->cnt])
			return STEP_BAD;
		if (++d->cnt == sizeof(http_ver) - 1)
			d->st = C_H_MINOR;
		break;
	case C_H_MINOR:
		if (!is_digit(c))
			return STEP_BAD;
		d->st = C_H_EOL;
		break;
	case C_H_EOL:
		if (c == '\r')
			d->st = C_H_EOL_CR;
		else if (c == '\n')
			d->st = C_H_BOL;
		else
			return STEP_BAD;
		d->line = 0;
		return STEP_CONT;
	case C_H_EOL_CR:
		if (c != '\n')
			return STEP_BAD;
		d->st = C_H_BOL;
		d->line = 0;
		return STEP_CONT;
	case C_H_BOL:
	case C_H_BOL_CR:
	case C_H_LINE:
		if (hdr_byte(d, c, C_H_BOL, C_H_BOL_CR, C_H_LINE) != STEP_DONE)
			return d->line > PROXY_LINE_MAX ? STEP_BAD : STEP_CONT;
		classify_http_host(st);
		return STEP_DONE;

	/* SOCKS4: 04 01 PORT IP USERID 00 [HOST 00] */
	case C_4_CMD:
		if (c != 1)
			return STEP_BAD;
		d->st = C_4_PORT;
		d->cnt = 0;
		break;
	case C_4_PORT:
		st->port = (uint16_t)(st->port << 8 | c);
		if (++d->cnt == 2) {
			d->st = C_4_IP;
			d->cnt = 0;
		}
		break;
	case C_4_IP:
		st->host[d->cnt] = c;
		if (++d->cnt == 4) {
			if (st->host[0] == 0 && st->host[1] == 0 &&
			    st->host[2] == 0 && st->host[3] != 0)
				st->kind = PROXY_KIND_SOCKS4A;
			d->st = C_4_USER;
			d->cnt = 0;
		}
		break;
	case C_4_USER:
		if (c == 0) {
			if (st->kind == PROXY_KIND_SOCKS4) {
				render_addr(st, AF_INET);
				return STEP_DONE;
			}
			d->st = C_4_HOST;
			st->host_len = 0;
			break;
		}
		if (++d->cnt > PROXY_HOST_MAX)
			return STEP_BAD;
		st->flags |= F_USER;
		user_byte(st, c);
		break;
	case C_4_HOST:
		if (c == 0) {
			if (st->host_len == 0)
				return STEP_BAD;
			st->addr_type = PROXY_ADDR_DOMAIN;
			return STEP_DONE;
		}
		if (st->host_len >= PROXY_HOST_MAX)
			return STEP_BAD;
		st->host[st->host_len++] = c;
		break;

	/* SOCKS5: greeting, [RFC 1929 auth], request */
	case C_5_NMETH:
		if (c == 0)
			return STEP_BAD;
		d->cnt = c;
		d->st = C_5_METH;
		break;
	case C_5_METH:
		if (c < 8)
			st->methods |= (uint8_t)(1u << c);
		if (--d->cnt == 0)
			d->st = C_5_NEXT;
		break;
	case C_5_NEXT:
		if (c == 1)
			d->st = C_5_ULEN;
		else if (c == 5)
			d->st = C_5_CMD;
		else
			return STEP_BAD;
		break;
	case C_5_ULEN:
		st->flags |= F_USER;
		d->cnt = c;
		d->st = c > 0 ? C_5_USER : C_5_PLEN;
		break;
	case C_5_USER:
		user_byte(st, c);
		if (--d->cnt == 0)
			d->st = C_5_PLEN;
		break;
	case C_5_PLEN:
		d->cnt = c;
		d->st = c > 0 ? C_5_PASS : C_5_REQVER;
		break;
	case C_5_PASS:
		if (--d->cnt == 0)
			d->st = C_5_REQVER;
		break;
	case C_5_REQVER:
		if (c != 5)
			return STEP_BAD;
		d->st = C_5_CMD;
		break;
	case C_5_CMD:
		if (c != 1)
			return STEP_BAD;
		d->st = C_5_RSV;
		break;
	case C_5_RSV:
		if (c != 0)
			return STEP_BAD;
		d->st = C_5_ATYP;
		break;
	case C_5_ATYP:
		if (c == 1) {
			st->addr_type = PROXY_ADDR_IPV4;
			d->cnt = 4;
		} else if (c == 4) {
			st->addr_type = PROXY_ADDR_IPV6;
			d->cnt = 16;
		} else if (c == 3) {
			st->addr_type = PROXY_ADDR_DOMAIN;
			d->st = C_5_DLEN;
			break;
		} else {
			return STEP_BAD;
		}
		d->st = C_5_ADDR;
		break;
	case C_5_DLEN:
		if (c == 0)
			return STEP_BAD;
		d->cnt = c;
		d->st = C_5_ADDR;
		break;
	case C_5_ADDR:
		st->host[st->host_len++] = c;
		if (--d->cnt == 0) {
			d->st = C_5_PORT;
			d->cnt = 0;
		}
		break;
	case C_5_PORT:
		st->port = (uint16_t)(st->port << 8 | c);
		if (++d->cnt == 2) {
			if (st->addr_type == PROXY_ADDR_IPV4)
				render_addr(st, AF_INET);
			else if (st->addr_type == PROXY_ADDR_IPV6)
				render_addr(st, AF_INET6);
			return STEP_DONE;
		}
		break;
	default:
		return STEP_BAD;
	}
	return STEP_CONT;
}

static enum step
srv_byte(struct proxy_state *st, uint8_t c)
{
	struct proxy_dir *d = &st->srv;
	enum step r;

	switch ((enum srv_state)d->st) {
	case S_START:
		switch (st->kind) {
		case PROXY_KIND_HTTP_CONNECT:
			d->st = S_H_PROTO;
			d->cnt = 0;
			d->line = 0;
			return srv_byte(st, c);
		case PROXY_KIND_SOCKS4:
		case PROXY_KIND_SOCKS4A:
			/* VN is 0; some servers echo 4 */
			if (c != 0 && c != 4)
				return STEP_BAD;
			d->st = S_4_CD;
			return STEP_CONT;
		case PROXY_KIND_SOCKS5:
			if (c != 5)
				return STEP_BAD;
			d->st = S_5_METH;
			return STEP_CONT;
		default:
			return STEP_BAD;
		}

	/* HTTP/1.x NNN reason CRLF headers CRLF */
	case S_H_PROTO:
		if (c != (uint8_t)http_ver[d->cnt])
			return STEP_BAD;
		if (++d->cnt == sizeof(http_ver) - 1)
			d->st = S_H_MINOR;
		break;
	case S_H_MINOR:
		if (!is_digit(c))
			return STEP_BAD;
		d->st = S_H_SP;
		break;
	case S_H_SP:
		if (c != ' ')
			return STEP_BAD;
		d->st = S_H_CODE;
		d->cnt = 0;
		st->reply = 0;
		break;
	case S_H_CODE:
		if (!is_digit(c))
			return STEP_BAD;
		st->reply = (uint16_t)(st->reply * 10 + (c - '0'));
		if (++d->cnt == 3) {
			st->flags |= F_REPLY;
			if (st->reply < 100 || st->reply >= 300)
				return STEP_REFUSED;
			d->st = S_H_AFTER;
		}
		break;
	case S_H_AFTER:
		if (c == '\n') {
			d->st = S_H_BOL;
			d->line = 0;
			return STEP_CONT;
		}
		if (c != ' ' && c != '\r')
			return STEP_BAD;
		d->st = S_H_REST;
		break;
	case S_H_REST:
		if (c == '\n') {
			d->st = S_H_BOL;
			d->line = 0;
			return STEP_CONT;
		}
		break;
	case S_H_BOL:
	case S_H_BOL_CR:
	case S_H_LINE:
		r = hdr_byte(d, c, S_H_BOL, S_H_BOL_CR, S_H_LINE);
		if (r != STEP_DONE)
			return r;
		if (st->reply < 200) {
			/* interim 1xx: the real status line follows */
			d->st = S_H_PROTO;
			d->cnt = 0;
			d->line = 0;
			return STEP_CONT;
		}
		return STEP_DONE;

	/* SOCKS4 reply: VN CD PORT IP */
	case S_4_CD:
		st->reply = c;
		st->flags |= F_REPLY;
		if (c >= 91 && c <= 93)
			return STEP_REFUSED;
		if (c != 90)
			return STEP_BAD;
		d->st = S_4_REST;
		d->cnt = 6;
		break;
	case S_4_REST:
		if (--d->cnt == 0)
			return STEP_DONE;
		break;

	/* SOCKS5: 05 METHOD, [01 STATUS], 05 REP 00 ATYP ADDR PORT */
	case S_5_METH:
		st->auth_method = c;
		st->flags |= F_METHOD;
		if (c == 0xff)
			return STEP_REFUSED;
		if (c == 0)
			d->st = S_5_RVER;
		else if (c == 2)
			d->st = S_5_AVER;
		else
			return STEP_BAD;
		break;
	case S_5_AVER:
		/* RFC 1929 says 1; some servers answer 5 */
		if (c != 1 && c != 5)
			return STEP_BAD;
		d->st = S_5_ASTAT;
		break;
	case S_5_ASTAT:
		st->auth_status = c;
		st->flags |= F_ASTATUS;
		if (c != 0)
			return STEP_REFUSED;
		d->st = S_5_RVER;
		break;
	case S_5_RVER:
		if (c != 5)
			return STEP_BAD;
		d->st = S_5_REP;
		break;
	case S_5_REP:
		st->reply = c;
		st->flags |= F_REPLY;
		if (c >= 1 && c <= 8)
			return STEP_REFUSED;
		if (c != 0)
			return STEP_BAD;
		d->st = S_5_RSV;
		break;
	case S_5_RSV:
		if (c != 0)
			return STEP_BAD;
		d->st = S_5_ATYP;
		break;
	case S_5_ATYP:
		if (c == 1)
			d->cnt = 4 + 2;
		else if (c == 4)
			d->cnt = 16 + 2;
		else if (c == 3) {
			d->st = S_5_DLEN;
			break;
		} else
			return STEP_BAD;
		d->st = S_5_SKIP;
		break;
	case S_5_DLEN:
		d->cnt = (uint16_t)(c + 2);
		d->st = S_5_SKIP;
		break;
	case S_5_SKIP:
		if (--d->cnt == 0)
			return STEP_DONE;
		break;
	default:
		return STEP_BAD;
	}
	d->line++;
	if (d->line > PROXY_LINE_MAX)
		return STEP_BAD;
	return STEP_CONT;
}

void
proxy_init(struct proxy_state *st)
{
	memset(st, 0, sizeof(*st));
}

/* What a direction whose own handshake is over gets told. */
static enum proxy_result
settled(const struct proxy_state *st)
{
	if (st->flags & F_NOT)
		return PROXY_NOT;
	if (st->flags & F_REFUSED)
		return PROXY_REFUSED;
	if (st->flags & F_GRANTED)
		return PROXY_TUNNEL;
	return PROXY_WAIT;
}

enum proxy_result
proxy_feed(struct proxy_state *st, int from_client, const uint8_t *d,
    size_t n, size_t *consumed)
{
	struct proxy_dir *dir = from_client ? &st->cli : &st->srv;
	enum step r;
	size_t i;

	*consumed = 0;
	if (st->flags & (F_NOT | F_REFUSED))
		return settled(st);
	if (dir->done)
		return settled(st);
	if (!from_client && st->kind == PROXY_KIND_NONE && n > 0) {
		/* the server spoke first: not a proxy */
		st->flags |= F_NOT;
		return PROXY_NOT;
	}
	for (i = 0; i < n; i++) {
		if (dir->len >= PROXY_HS_MAX) {
			st->flags |= F_NOT;
			return PROXY_NOT;
		}
		dir->len++;
		r = from_client ? cli_byte(st, d[i]) : srv_byte(st, d[i]);
		if (r == STEP_CONT)
			continue;
		if (r == STEP_BAD) {
			st->flags |= F_NOT;
			return PROXY_NOT;
		}
		*consumed = i + 1;
		dir->done = 1;
		if (r == STEP_REFUSED) {
			st->flags |= F_REFUSED;
			return PROXY_REFUSED;
		}
		if (from_client) {
			st->flags |= F_REQUEST;
			return PROXY_REQUEST;
		}
		st->flags |= F_GRANTED;
		return PROXY_TUNNEL;
	}
	*consumed = n;
	return PROXY_MORE;
}

int
proxy_sniff(const uint8_t *d, size_t n)
{
	struct proxy_state st;
	size_t used;

	if (n == 0)
		return 0;
	proxy_init(&st);
	return proxy_feed(&st, 1, d, n, &used) != PROXY_NOT;
}

enum proxy_kind
proxy_kind(const struct proxy_state *st)
{
	return (enum proxy_kind)st->kind;
}

const char *
proxy_kind_name(enum proxy_kind k)
{
	switch (k) {
	case PROXY_KIND_HTTP_CONNECT:
		return "HTTP_CONNECT";
	case PROXY_KIND_SOCKS4:
		return "SOCKS4";
	case PROXY_KIND_SOCKS4A:
		return "SOCKS4A";
	case PROXY_KIND_SOCKS5:
		return "SOCKS5";
	default:
		return "";
	}
}

int
proxy_request_seen(const struct proxy_state *st)
{
	return (st->flags & F_REQUEST) != 0;
}

struct bstr
proxy_target_host(const struct proxy_state *st)
{
	if (!(st->flags & F_REQUEST))
		return BSTR_NULL;
	return bstr_make(st->host, st->host_len);
}

uint16_t
proxy_target_port(const struct proxy_state *st)
{
	return (st->flags & F_REQUEST) ? st->port : 0;
}

enum proxy_addr
proxy_target_addr_type(const struct proxy_state *st)
{
	if (!(st->flags & F_REQUEST))
		return PROXY_ADDR_NONE;
	return (enum proxy_addr)st->addr_type;
}

int
proxy_target_is_smtp(const struct proxy_state *st)
{
	return (st->flags & F_REQUEST) && (st->port == 25 || st->port == 587);
}

int
proxy_auth_method(const struct proxy_state *st)
{
	return (st->flags & F_METHOD) ? st->auth_method : -1;
}

int
proxy_auth_status(const struct proxy_state *st)
{
	return (st->flags & F_ASTATUS) ? st->auth_status : -1;
}

struct bstr
proxy_username(const struct proxy_state *st, unsigned *total)
{
	if (total != NULL)
		*total = (st->flags & F_USER) ? st->user_total : 0;
	if (!(st->flags & F_USER))
		return BSTR_NULL;
	return bstr_make(st->user, st->user_len);
}

unsigned
proxy_methods_offered(const struct proxy_state *st)
{
	return st->methods;
}

int
proxy_reply_code(const struct proxy_state *st)
{
	return (st->flags & F_REPLY) ? st->reply : -1;
}

size_t
proxy_hs_len(const struct proxy_state *st, int from_client)
{
	return from_client ? st->cli.len : st->srv.len;
}
