/*
 * chain.c - Received-chain forensics (detections 1101-1111, 1201-1203),
 * origin / injection point, registered domains and Authentication-Results.
 *
 * Design: every check is a small pass over the already parsed headers
 * (received.c does the dialect work); nothing here looks at raw header
 * text except to copy it as evidence, so a value the parser did not
 * understand (parsed == 0) can never raise a structural alert.  Host names
 * are compared after normalisation into stack buffers (lower case, no
 * brackets, no trailing dot) and through their registered domain (libpsl,
 * one context per process, read-only, so every worker may call at once).
 *
 * Ambiguous rules, decided here:
 *  - 1101: an offset that no zone uses (hours > 14, minutes not
 *    00/15/30/45) fires only together with a zone name (any name: no zone
 *    has that offset); a date with no zone name never fires.  The offset is
 *    re-read from the zone text as written, so "+0199" is not hidden by the
 *    parser's conversion to minutes.
 *  - 1102: old sendmail ids carry the local hour (TS's examples); 8.12+
 *    ids are made with gmtime() in sendmail's assign_queueid, so they are
 *    accepted when they match either the UTC or the written local hour.
 *  - 1103 looks only at the recorded connecting address and a `by` that is
 *    an address, never at free text (Exchange's `id 15.20.1234.5`).
 *  - 1105: a single decimal number must be at least 2^24 (a HELO of "1" or
 *    "2024" is not read as an address).
 *  - 1106 compares header N's from (address, rDNS name, HELO) with the
 *    `by` of header N+1 and blames N+1 (TS: what lies below a break is
 *    what is forged).  A hop whose client is loopback, private, in
 *    home_net or trusted, or whose client name shares the registered domain
 *    of its own `by`, is internal and skipped; a `by` that is a bare
 *    unqualified name cannot be compared and is skipped; a `by` that is
 *    an address is compared only with a client of the same family that
 *    has no rDNS name (Google's internal `by 2002:...` below mx.google.com
 *    is a different host of the same sender, not a break).
 *  - 1107 needs an observed hop (otherwise "at or below" is undefined).
 *  - 1108 compares each header with the nearest dated header above it.
 *  - 1109 skips authenticated submissions and trusted addresses.
 *  - origin: bottom-up, the first hop (not loopback, with a from clause)
 *    whose client is private, dynamic-looking or a Windows default name;
 *    else the bottom-most such hop with an address.  The injection point is
 *    the hop above it (index k-1, its from clause names the injection
 *    host); when the origin is the top header, hop -1 and the name of its
 *    `by` (and the wire server address when that header was observed).
 *
 * Rejected: a hard-coded TLD list (wrong for co.uk and friends); DNS
 * lookups (a passive sensor must not generate traffic); firing 1106 on
 * every name difference (internal hops name hosts differently all the time).
 */
#include "chain.h"

#include <stdio.h>
#include <string.h>

#include <libpsl.h>

#define HOSTMAX 256

static const psl_ctx_t *chain_psl;
static psl_ctx_t *chain_psl_owned;

int
chain_global_init(char *err, size_t errlen)
{
	if (chain_psl != NULL)
		return 0;
	chain_psl_owned = psl_latest(NULL);
	if (chain_psl_owned != NULL) {
		chain_psl = chain_psl_owned;
		return 0;
	}
	chain_psl = psl_builtin();
	if (chain_psl != NULL)
		return 0;
	chain_psl_owned = psl_load_file("/usr/share/publicsuffix/public_suffix_list.dat");
	chain_psl = chain_psl_owned;
	if (chain_psl != NULL)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "no public suffix list (libpsl)");
	return -1;
}

void
chain_global_free(void)
{
	if (chain_psl_owned != NULL)
		psl_free(chain_psl_owned);
	chain_psl_owned = NULL;
	chain_psl = NULL;
}

/* ---- small text helpers ---- */

static int
lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static int
isalnum_(int c)
{
	c = lc(c);
	return isdig(c) || (c >= 'a' && c <= 'z');
}

/*
 * Normalise a host token: first word only, brackets and "IPv6:" removed,
 * lower case, trailing dot dropped.  Returns the length written.
 */
static size_t
host_norm(struct bstr h, char *out, size_t outlen)
{
	size_t i = 0, n = 0, end;

	if (outlen == 0)
		return 0;
	while (i < h.len && (h.p[i] == ' ' || h.p[i] == '\t'))
		i++;
	end = i;
	while (end < h.len && h.p[end] != ' ' && h.p[end] != '\t' &&
	    h.p[end] != '(' && h.p[end] != ';' && h.p[end] != ')')
		end++;
	if (i < end && (h.p[i] == '[' || h.p[i] == '?'))
		i++;
	if (end > i && (h.p[end - 1] == ']' || h.p[end - 1] == '?'))
		end--;
	if (end - i >= 5 && lc(h.p[i]) == 'i' && lc(h.p[i + 1]) == 'p' &&
	    lc(h.p[i + 2]) == 'v' && h.p[i + 3] == '6' && h.p[i + 4] == ':')
		i += 5;
	while (end > i && h.p[end - 1] == '.')
		end--;
	for (; i < end && n + 1 < outlen; i++) {
		uint8_t c = h.p[i];
		if (c == 0)
			c = '?';
		out[n++] = (char)lc(c);
	}
	out[n] = '\0';
	return n;
}

static int
str_is_ip(const char *s)
{
	int colon = 0, dots = 0, other = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			colon++;
		else if (*s == '.')
			dots++;
		else if (!isdig(*s) && !((*s >= 'a' && *s <= 'f')))
			other++;
	}
	if (colon >= 2 && other == 0)
		return 1;
	return 0;
}

/* A dotted quad of plain decimal parts, each 0-255: 1 and *a filled. */
static int
parse_quad(const char *s, uint8_t a[4])
{
	int part = 0;
	unsigned v = 0, digits = 0;

	for (;; s++) {
		if (isdig(*s)) {
			v = v * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || v > 255)
				return 0;
		} else if (*s == '.' || *s == '\0') {
			if (digits == 0 || part > 3)
				return 0;
			a[part++] = (uint8_t)v;
			v = 0;
			digits = 0;
			if (*s == '\0')
				break;
		} else {
			return 0;
		}
	}
	return part == 4;
}

static int
host_is_ip(const char *s)
{
	uint8_t a[4];

	return parse_quad(s, a) || str_is_ip(s);
}

static int
bstr_eq_ci(struct bstr a, struct bstr b)
{
	uint32_t i;

	if (a.len != b.len)
		return 0;
	for (i = 0; i < a.len; i++)
		if (lc(a.p[i]) != lc(b.p[i]))
			return 0;
	return 1;
}

static int
bstr_has_ci(struct bstr hay, const char *needle)
{
	size_t n = strlen(needle), i, j;

	if (n == 0 || hay.len < n)
		return 0;
	for (i = 0; i + n <= hay.len; i++) {
		for (j = 0; j < n; j++)
			if (lc(hay.p[i + j]) != lc((uint8_t)needle[j]))
				break;
		if (j == n)
			return 1;
	}
	return 0;
}

/*
 * libpsl's lookup costs ~60k instructions per name, and the same few names
 * (a server's banner, its recipients' domains) come back on every
 * transaction: a per-thread direct-mapped cache of normalised name ->
 * registered domain, no locking, no allocation.
 */
#define RD_CACHE_SLOTS 256
#define RD_CACHE_NAME 120
struct rd_cache_ent {
	uint64_t hash;
	char name[RD_CACHE_NAME];
	char rd[RD_CACHE_NAME];
};
static __thread struct rd_cache_ent rd_cache[RD_CACHE_SLOTS];

void
chain_registered_domain(struct bstr host, char *out, size_t outlen)
{
	char h[HOSTMAX];
	const char *rd = NULL;
	size_t n;

	if (outlen == 0)
		return;
	struct rd_cache_ent *ce = NULL;
	uint64_t hv = 0xcbf29ce484222325ull;
	size_t hl, i;

	host_norm(host, h, sizeof(h));
	hl = strlen(h);
	if (hl < RD_CACHE_NAME) {
		for (i = 0; i < hl; i++)
			hv = (hv ^ (uint8_t)h[i]) * 0x100000001b3ull;
		ce = &rd_cache[(hv ^ hv >> 29) & (RD_CACHE_SLOTS - 1)];
		if (ce->hash == hv && strcmp(ce->name, h) == 0) {
			rd = ce->rd;
			goto copy;
		}
	}
	if (chain_psl == NULL)
		chain_global_init(NULL, 0);
	if (chain_psl != NULL && h[0] != '\0' && !host_is_ip(h))
		rd = psl_registrable_domain(chain_psl, h);
	if (rd == NULL)
		rd = h;
	if (ce != NULL && strlen(rd) < RD_CACHE_NAME) {
		ce->hash = hv;
		memcpy(ce->name, h, hl + 1);
		memmove(ce->rd, rd, strlen(rd) + 1);
		rd = ce->rd;
	}
copy:
	n = strlen(rd);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, rd, n);
	out[n] = '\0';
}

/* 1 when both hosts are present and share a registered domain (or are
 * the same address). */
static int
same_org(struct bstr a, struct bstr b)
{
	char ra[HOSTMAX], rb[HOSTMAX];

	if (a.len == 0 || b.len == 0)
		return 0;
	chain_registered_domain(a, ra, sizeof(ra));
	chain_registered_domain(b, rb, sizeof(rb));
	return ra[0] != '\0' && strcmp(ra, rb) == 0;
}

/* ---- addresses ---- */

static int
cidr_match(const struct chain_cidr *c, unsigned n, uint8_t ver,
    const uint8_t *addr)
{
	unsigned i, bits, b;

	for (i = 0; i < n; i++) {
		if (c[i].ver != ver)
			continue;
		bits = c[i].prefix;
		if (bits > (ver == 4 ? 32u : 128u))
			continue;
		for (b = 0; b < bits; b++) {
			uint8_t m = (uint8_t)(0x80 >> (b & 7));
			if ((c[i].addr[b >> 3] & m) != (addr[b >> 3] & m))
				break;
		}
		if (b == bits)
			return 1;
	}
	return 0;
}

static int
v4_private(const uint8_t *a)
{
	return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64);
}

static int
ip_private(uint8_t ver, const uint8_t *a)
{
	if (ver == 4)
		return v4_private(a);
	if (ver == 6)
		return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	return 0;
}

static int
ip_loopback(uint8_t ver, const uint8_t *a)
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (ver == 4)
		return a[0] == 127;
	if (ver == 6)
		return memcmp(a, one6, 16) == 0;
	return 0;
}

/* Wire address in header form: v4-mapped IPv6 becomes IPv4. */
static uint8_t
wire_addr(uint8_t ver, const uint8_t *in, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	memset(out, 0, 16);
	if (ver == 6 && memcmp(in, mapped, 12) == 0) {
		memcpy(out, in + 12, 4);
		return 4;
	}
	memcpy(out, in, ver == 4 ? 4 : 16);
	return ver;
}

static void
ip_text(uint8_t ver, const uint8_t *a, char *out, size_t outlen)
{
	if (ver == 4) {
		snprintf(out, outlen, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (ver == 6) {
		size_t n = 0;
		int i;
		for (i = 0; i < 16 && n + 6 < outlen; i += 2)
			n += (size_t)snprintf(out + n, outlen - n, "%s%x",
			    i ? ":" : "", (a[i] << 8) | a[i + 1]);
	} else if (outlen > 0) {
		out[0] = '\0';
	}
}

static int
hdr_internal_client(const struct chain_config *cfg, const struct received *r)
{
	if (r->from_ip.ver == 0)
		return 0;
	if (ip_loopback(r->from_ip.ver, r->from_ip.addr) ||
	    ip_private(r->from_ip.ver, r->from_ip.addr))
		return 1;
	if (cfg != NULL && cidr_match(cfg->home_net, cfg->n_home_net,
	    r->from_ip.ver, r->from_ip.addr))
		return 1;
	return 0;
}

static int
hdr_loopback(const struct received *r)
{
	if (r->from_ip.ver != 0)
		return ip_loopback(r->from_ip.ver, r->from_ip.addr);
	return bstr_ieq(r->from_name, "localhost") ||
	    bstr_ieq(r->from_rdns, "localhost");
}

/* ---- alerts ---- */

struct sig {
	int id;
	const char *name;
	const char *cat;
	int sev;
};

static const struct sig sigs[] = {
	{ 1101, "RCVD_TZ_ABBREV_MISMATCH", "forged-header", 2 },
	{ 1102, "RCVD_QUEUE_ID_HOUR_MISMATCH", "forged-header", 2 },
	{ 1103, "RCVD_ILLEGAL_IP", "forged-header", 1 },
	{ 1104, "RCVD_RESERVED_IP", "forged-header", 1 },
	{ 1105, "RCVD_NUMERIC_HOSTNAME", "forged-header", 2 },
	{ 1106, "RCVD_CHAIN_BROKEN", "forged-header", 3 },
	{ 1107, "RCVD_FOR_NOT_RECIPIENT", "forged-header", 2 },
	{ 1108, "RCVD_DATE_DISORDER", "forged-header", 3 },
	{ 1109, "RCVD_PRIVATE_IP_EXTERNAL_HOP", "forged-header", 1 },
	{ 1110, "RCVD_DYNAMIC_ORIGIN", "forged-header", 2 },
	{ 1111, "RCVD_HELO_RDNS_MISMATCH", "forged-header", 3 },
	{ 1201, "WIRE_CLIENT_IP_MISMATCH", "wire-mismatch", 1 },
	{ 1202, "WIRE_HELO_MISMATCH", "wire-mismatch", 3 },
	{ 1203, "WIRE_RCPT_MISMATCH", "wire-mismatch", 2 },
};

static struct chain_alert *
alert_add(struct chain_result *out, int id, int hop, struct bstr ev,
    const char *detail)
{
	struct chain_alert *a;
	size_t i, n;

	if (out->n_alerts >= CHAIN_MAX_ALERTS)
		return NULL;
	a = &out->alerts[out->n_alerts++];
	memset(a, 0, sizeof(*a));
	a->signature_id = id;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigs[i].id == id) {
			a->signature = sigs[i].name;
			a->category = sigs[i].cat;
			a->severity = sigs[i].sev;
		}
	}
	a->hop = hop;
	n = ev.len > CHAIN_EVIDENCE_MAX ? CHAIN_EVIDENCE_MAX : ev.len;
	if (n > 0)
		memcpy(a->evidence, ev.p, n);
	a->evidence[n] = '\0';
	a->evidence_len = (uint16_t)n;
	if (detail != NULL)
		snprintf(a->detail, sizeof(a->detail), "%s", detail);
	return a;
}

static int
has_alert(const struct chain_result *out, int id, int hop)
{
	unsigned i;

	for (i = 0; i < out->n_alerts; i++)
		if (out->alerts[i].signature_id == id && out->alerts[i].hop == hop)
			return 1;
	return 0;
}

/* ---- 1101 time zones ---- */

struct tzset {
	const char *name;
	int off[5];              /* signed hhmm, terminated by 9999 */
};

static const struct tzset tzsets[] = {
	{ "EST", { -500, -300, 1000, 1100, 9999 } },
	{ "EDT", { -400, 1100, 9999 } },
	{ "CST", { -600, -500, 800, 930, 1030 } },
	{ "CDT", { -500, 1030, 9999 } },
	{ "MST", { -700, 9999 } },
	{ "MDT", { -600, 9999 } },
	{ "PST", { -800, 800, 9999 } },
	{ "PDT", { -700, 9999 } },
	{ "GMT", { 0, 9999 } },
	{ "UT", { 0, 9999 } },
	{ "UTC", { 0, 9999 } },
};

/* The numeric offset as written, signed hhmm; 0 when absent (then 1). */
static int
date_hhmm(const struct mail_date *d, int *hhmm)
{
	uint32_t i;

	for (i = 0; i + 4 < d->tz.len; i++) {
		uint8_t c = d->tz.p[i];
		if ((c == '+' || c == '-') && isdig(d->tz.p[i + 1]) &&
		    isdig(d->tz.p[i + 2]) && isdig(d->tz.p[i + 3]) &&
		    isdig(d->tz.p[i + 4])) {
			int v = (d->tz.p[i + 1] - '0') * 1000 +
			    (d->tz.p[i + 2] - '0') * 100 +
			    (d->tz.p[i + 3] - '0') * 10 + (d->tz.p[i + 4] - '0');
			*hhmm = c == '-' ? -v : v;
			return 0;
		}
	}
	{
		int m = d->offset_min < 0 ? -d->offset_min : d->offset_min;
		int v = (m / 60) * 100 + m % 60;
		*hhmm = d->offset_min < 0 ? -v : v;
	}
	return 0;
}

static int
tz_mismatch(const struct mail_date *d)
{
	int hhmm, h, m, k;
	size_t i;

	if (d == NULL || !d->valid || !d->has_offset || !d->has_zone_name)
		return 0;
	date_hhmm(d, &hhmm);
	h = (hhmm < 0 ? -hhmm : hhmm) / 100;
	m = (hhmm < 0 ? -hhmm : hhmm) % 100;
	if (h > 14 || (m != 0 && m != 15 && m != 30 && m != 45))
		return 1;
	for (i = 0; i < sizeof(tzsets) / sizeof(tzsets[0]); i++) {
		if (strcmp(tzsets[i].name, d->zone_name) != 0)
			continue;
		for (k = 0; k < 5 && tzsets[i].off[k] != 9999; k++)
			if (tzsets[i].off[k] == hhmm)
				return 0;
		return 1;
	}
	return 0;
}

/* ---- 1102 sendmail queue ids ---- */

static int
b60(int c)
{
	if (isdig(c))
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'x')
		return c - 'a' + 36;
	return -1;
}

/* The hour a sendmail id encodes, or -1; *utc set for 8.12+ ids. */
static int
sendmail_id_hour(struct bstr id, int *utc)
{
	uint32_t i;

	*utc = 0;
	if (id.len >= 8 && id.len <= 10 && id.p[0] >= 'A' && id.p[0] <= 'X' &&
	    id.p[1] >= 'A' && id.p[1] <= 'Z' && id.p[2] >= 'A' && id.p[2] <= 'Z') {
		for (i = 3; i < id.len; i++)
			if (!isdig(id.p[i]))
				break;
		if (i == id.len)
			return id.p[0] - 'A';
	}
	if (id.len >= 12 && id.len <= 16) {
		for (i = 0; i < 7; i++)
			if (b60(id.p[i]) < 0)
				return -1;
		if (b60(id.p[7]) < 0)
			return -1;
		for (i = 8; i < id.len; i++)
			if (!isdig(id.p[i]))
				return -1;
		if (b60(id.p[1]) > 11 || b60(id.p[2]) < 1 || b60(id.p[2]) > 31 ||
		    b60(id.p[3]) > 23)
			return -1;
		*utc = 1;
		return b60(id.p[3]);
	}
	return -1;
}

static int
by_sendmail(const struct received *r)
{
	struct bstr v = r->mta_version;
	uint32_t i;

	for (i = 0; i + 2 < v.len; i++) {
		if (v.p[i] == '8' && v.p[i + 1] == '.' && isdig(v.p[i + 2]) &&
		    (i == 0 || v.p[i - 1] == '(' || v.p[i - 1] == '-' ||
		    v.p[i - 1] == ' '))
			return 1;
	}
	for (i = 0; i + 3 < r->raw.len; i++)
		if (r->raw.p[i] == '(' && r->raw.p[i + 1] == '8' &&
		    r->raw.p[i + 2] == '.' && isdig(r->raw.p[i + 3]))
			return 1;
	return bstr_has_ci(v, "sendmail") || bstr_has_ci(r->with, "sendmail") ||
	    bstr_has_ci(r->by, "sendmail");
}

static int
hour_of(int64_t epoch)
{
	int64_t s = epoch % 86400;

	if (s < 0)
		s += 86400;
	return (int)(s / 3600);
}

/* ---- 1105 numeric host names ---- */

/* inet_aton-style: 1 when s is an address written in a non-standard way
 * (one number, hex or octal parts, fewer than 4 parts). */
static int
numeric_host(const char *s, char *quad, size_t qlen)
{
	uint64_t part[4];
	int np = 0, odd = 0;
	const char *p = s;
	uint64_t v;

	if (*s == '\0')
		return 0;
	for (;;) {
		int base = 10, nd = 0;
		if (np == 4)
			return 0;
		v = 0;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			base = 16;
			p += 2;
			odd = 1;
		} else if (p[0] == '0' && isdig(p[1])) {
			base = 8;
			odd = 1;
		}
		for (; *p != '\0' && *p != '.'; p++, nd++) {
			int c = lc(*p), dv;
			if (isdig(c))
				dv = c - '0';
			else if (c >= 'a' && c <= 'f')
				dv = c - 'a' + 10;
			else
				return 0;
			if (dv >= base)
				return 0;
			v = v * (uint64_t)base + (uint64_t)dv;
			if (v > 0xffffffffULL)
				return 0;
		}
		if (nd == 0)
			return 0;
		part[np++] = v;
		if (*p == '\0')
			break;
		p++;
	}
	if (np == 4 && !odd)
		return 0;
	if (np == 1 && !odd && part[0] < 16777216)
		return 0;
	{
		uint64_t lim[4] = { 0xffffffffULL, 0xffffff, 0xffff, 0xff };
		uint32_t a;
		int i;
		for (i = 0; i < np - 1; i++)
			if (part[i] > 255)
				return 0;
		if (part[np - 1] > lim[np - 1])
			return 0;
		a = (uint32_t)part[np - 1];
		for (i = 0; i < np - 1; i++)
			a |= (uint32_t)part[i] << (24 - 8 * i);
		snprintf(quad, qlen, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		    (a >> 8) & 255, a & 255);
	}
	return 1;
}

static int
bstr_numeric_host(struct bstr h, char *quad, size_t qlen)
{
	char n[HOSTMAX];

	if (h.len == 0 || h.len >= HOSTMAX)
		return 0;
	host_norm(h, n, sizeof(n));
	return numeric_host(n, quad, qlen);
}

/* ---- dynamic / end-user names ---- */

static int
embeds_ip(const char *name, const uint8_t *a)
{
	char pat[4][20];
	int k;
	size_t nl = strlen(name);

	snprintf(pat[0], sizeof(pat[0]), "%u-%u-%u-%u", a[0], a[1], a[2], a[3]);
	snprintf(pat[1], sizeof(pat[1]), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	snprintf(pat[2], sizeof(pat[2]), "%u-%u-%u-%u", a[3], a[2], a[1], a[0]);
	snprintf(pat[3], sizeof(pat[3]), "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
	for (k = 0; k < 4; k++) {
		size_t pl = strlen(pat[k]);
		const char *f = name;
		while ((f = strstr(f, pat[k])) != NULL) {
			size_t off = (size_t)(f - name);
			if ((off == 0 || !isdig(name[off - 1])) &&
			    (off + pl >= nl || !isdig(name[off + pl])))
				return 1;
			f++;
		}
	}
	return 0;
}

static int
dynamic_name(struct bstr host, const struct rcvd_ip *ip)
{
	static const char *const stems[] = { "ppp", "dialup", "dial", "dialin",
		"dsl", "adsl", "vdsl", "xdsl", "sdsl", "cable", "dyn", "dynamic",
		"dynip", "pool", "dhcp", "slip" };
	char h[HOSTMAX], rd[HOSTMAX];
	size_t hl, rl, i, j, k;

	if (host.len == 0)
		return 0;
	hl = host_norm(host, h, sizeof(h));
	if (hl == 0 || host_is_ip(h) || strchr(h, '.') == NULL)
		return 0;
	if (ip != NULL && ip->ver == 4 && embeds_ip(h, ip->addr))
		return 1;
	chain_registered_domain(host, rd, sizeof(rd));
	rl = strlen(rd);
	/* only the labels left of the registered domain */
	if (rl < hl && h[hl - rl - 1] == '.' && strcmp(h + hl - rl, rd) == 0)
		hl = hl - rl - 1;
	else if (rl == hl)
		hl = 0;
	for (i = 0; i < hl; i = j + 1) {
		char tok[64];
		size_t tl = 0, alpha;
		int digits = 0;
		for (j = i; j < hl && h[j] != '.' && h[j] != '-' && h[j] != '_'; j++)
			if (tl + 1 < sizeof(tok))
				tok[tl++] = h[j];
		tok[tl] = '\0';
		alpha = tl;
		while (alpha > 0 && isdig(tok[alpha - 1])) {
			alpha--;
			digits = 1;
		}
		tok[alpha] = '\0';
		if (strcmp(tok, "cust") == 0 && digits)
			return 1;
		for (k = 0; k < sizeof(stems) / sizeof(stems[0]); k++)
			if (strcmp(tok, stems[k]) == 0)
				return 1;
	}
	return 0;
}

/* Windows default host names (SH): PC-<8 digits><letters>,
 * WIN-<11 alnum>, DESKTOP-/LAPTOP-<7 alnum>. */
static int
windows_default_name(struct bstr n)
{
	uint32_t i, k;

	if (n.len > 11 && bstr_has_ci(bstr_make(n.p, 3), "pc-")) {
		for (i = 3; i < 11; i++)
			if (!isdig(n.p[i]))
				return 0;
		for (; i < n.len; i++)
			if (!isalnum_(n.p[i]) || isdig(n.p[i]))
				return 0;
		return 1;
	}
	if (n.len == 15 && bstr_has_ci(bstr_make(n.p, 4), "win-"))
		k = 4;
	else if (n.len == 15 && bstr_has_ci(bstr_make(n.p, 8), "desktop-"))
		k = 8;
	else if (n.len == 14 && bstr_has_ci(bstr_make(n.p, 7), "laptop-"))
		k = 7;
	else
		return 0;
	for (i = k; i < n.len; i++)
		if (!isalnum_(n.p[i]))
			return 0;
	return 1;
}

static int
hdr_end_user(const struct received *r)
{
	struct bstr nm = r->from_rdns.len ? r->from_rdns : r->from_name;

	if (r->from_ip.ver != 0 && ip_private(r->from_ip.ver, r->from_ip.addr))
		return 1;
	if (dynamic_name(nm, &r->from_ip))
		return 1;
	if (r->from_rdns.len == 0 && dynamic_name(r->from_name, &r->from_ip))
		return 1;
	return windows_default_name(r->from_name);
}

/* ---- recipients ---- */

static struct bstr
addr_core(struct bstr a)
{
	uint32_t i, s = 0, e = a.len;

	for (i = 0; i < a.len; i++) {
		if (a.p[i] == '<') {
			s = i + 1;
			for (e = s; e < a.len && a.p[e] != '>'; e++)
				;
			return bstr_make(a.p + s, e - s);
		}
	}
	while (s < e && (a.p[s] == ' ' || a.p[s] == '\t'))
		s++;
	for (i = s; i < e && a.p[i] != ' ' && a.p[i] != '\t' && a.p[i] != ';'; i++)
		;
	return bstr_make(a.p + s, i - s);
}

static int
rcpt_listed(struct bstr for_addr, const struct bstr *list, unsigned n)
{
	struct bstr f = addr_core(for_addr);
	unsigned i;

	for (i = 0; i < n; i++)
		if (bstr_eq_ci(f, addr_core(list[i])))
			return 1;
	return 0;
}

static int
for_checkable(struct bstr for_addr)
{
	struct bstr f = addr_core(for_addr);
	uint32_t i;

	for (i = 0; i < f.len; i++)
		if (f.p[i] == '@')
			return 1;
	return 0;
}

/* ---- observed hop ---- */

static int
find_observed(const struct received *rcv, unsigned n,
    const struct chain_wire *w)
{
	unsigned i;
	int first = -1;
	char sn[HOSTMAX], by[HOSTMAX];

	if (w == NULL || n == 0)
		return -1;
	if (w->queue_id.len > 0) {
		for (i = 0; i < n; i++)
			if (rcv[i].parsed && rcv[i].id.len == w->queue_id.len &&
			    memcmp(rcv[i].id.p, w->queue_id.p, w->queue_id.len) == 0)
				return (int)i;
	}
	if (w->server_name.len > 0) {
		host_norm(w->server_name, sn, sizeof(sn));
		for (i = 0; i < n; i++) {
			if (!rcv[i].parsed)
				continue;
			host_norm(rcv[i].by, by, sizeof(by));
			if (sn[0] == '\0' || strcmp(sn, by) != 0)
				continue;
			if (!hdr_loopback(&rcv[i]))
				return (int)i;
			if (first < 0)
				first = (int)i;
		}
		if (first >= 0)
			return first;
	}
	if (w->queue_id.len == 0 && w->server_name.len == 0 &&
	    w->client_ver != 0 && rcv[0].parsed)
		return 0;
	return -1;
}

/* ---- the checks ---- */

static void
check_1101(const struct received *rcv, unsigned n,
    const struct mail_date *date_hdr, struct chain_result *out)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (rcv[i].parsed && tz_mismatch(&rcv[i].date))
			alert_add(out, 1101, (int)i, rcv[i].raw, rcv[i].date.zone_name);
	if (tz_mismatch(date_hdr))
		alert_add(out, 1101, -1, date_hdr->raw.len ? date_hdr->raw :
		    date_hdr->tz, date_hdr->zone_name);
}

static void
check_1102(const struct received *rcv, unsigned n, struct chain_result *out)
{
	unsigned i;
	char det[64];

	for (i = 0; i < n; i++) {
		const struct received *r = &rcv[i];
		int utc, h, local, uh;
		if (!r->parsed || !r->date.valid || r->id.len == 0 ||
		    !by_sendmail(r))
			continue;
		h = sendmail_id_hour(r->id, &utc);
		if (h < 0)
			continue;
		local = hour_of(r->date.epoch + (int64_t)r->date.offset_min * 60);
		uh = hour_of(r->date.epoch);
		if (h == local || (utc && h == uh))
			continue;
		snprintf(det, sizeof(det), "id hour %02d, header hour %02d",
		    h, local);
		alert_add(out, 1102, (int)i, r->raw, det);
	}
}

static void
check_1103_1104(const struct received *rcv, unsigned n,
    struct chain_result *out)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct received *r = &rcv[i];
		char by[HOSTMAX];
		uint8_t q[4];
		if (!r->parsed)
			continue;
		host_norm(r->by, by, sizeof(by));
		if (r->from_ip.bad || (r->from_ip.ver == 4 && r->from_ip.addr[0] == 0)) {
			alert_add(out, 1103, (int)i, r->raw, r->from_ip.canon[0] ?
			    r->from_ip.canon : NULL);
		} else if (parse_quad(by, q) && q[0] == 0) {
			alert_add(out, 1103, (int)i, r->raw, by);
		} else {
			/* a by that looks like a quad but has an octet > 255 */
			int parts = 1, big = 0;
			unsigned v = 0, nd = 0;
			const char *p;
			for (p = by; *p != '\0'; p++) {
				if (isdig(*p)) {
					v = v * 10 + (unsigned)(*p - '0');
					if (++nd > 3)
						break;
				} else if (*p == '.' && nd > 0) {
					big |= v > 255;
					parts++;
					v = 0;
					nd = 0;
				} else {
					break;
				}
			}
			if (*p == '\0' && nd > 0 && parts == 4 && (big || v > 255))
				alert_add(out, 1103, (int)i, r->raw, by);
		}
		if (r->from_ip.ver == 4 && !r->from_ip.bad && r->from_ip.addr[0] >= 224)
			alert_add(out, 1104, (int)i, r->raw, r->from_ip.canon);
	}
}

static void
check_1105(const struct received *rcv, unsigned n, int obs,
    const struct chain_wire *w, struct chain_result *out)
{
	unsigned i;
	char quad[20];

	for (i = 0; i < n; i++) {
		if (!rcv[i].parsed)
			continue;
		if (bstr_numeric_host(rcv[i].from_name, quad, sizeof(quad)) ||
		    bstr_numeric_host(rcv[i].helo_param, quad, sizeof(quad)))
			alert_add(out, 1105, (int)i, rcv[i].raw, quad);
	}
	if (w != NULL && bstr_numeric_host(w->helo, quad, sizeof(quad)) &&
	    (obs < 0 || !has_alert(out, 1105, obs)))
		alert_add(out, 1105, -1, w->helo, quad);
}

static void
check_1106(const struct chain_config *cfg, const struct received *rcv,
    unsigned n, struct chain_result *out)
{
	unsigned i;

	for (i = 0; i + 1 < n; i++) {
		const struct received *up = &rcv[i], *lo = &rcv[i + 1];
		char by[HOSTMAX], fip[48];
		int ok = 0;
		if (!up->parsed || !lo->parsed || !up->has_from || lo->by.len == 0)
			continue;
		if (hdr_internal_client(cfg, up) || hdr_loopback(up))
			continue;
		if (cfg != NULL && up->from_ip.ver != 0 &&
		    cidr_match(cfg->trusted, cfg->n_trusted, up->from_ip.ver,
		    up->from_ip.addr))
			continue;
		if (same_org(up->from_rdns, up->by) ||
		    (up->from_rdns.len == 0 && same_org(up->from_name, up->by)))
			continue;
		host_norm(lo->by, by, sizeof(by));
		if (by[0] == '\0')
			continue;
		if (host_is_ip(by)) {
			uint8_t q[4];
			/* an address can be related to a name, or to the
			 * other family of a dual-stack host, only by DNS */
			if (up->from_ip.ver == 0 || up->from_rdns.len > 0 ||
			    (up->from_ip.ver == 4) != (strchr(by, ':') == NULL))
				continue;
			snprintf(fip, sizeof(fip), "%s", up->from_ip.canon);
			ok = strcmp(fip, by) == 0 || (up->from_ip.ver == 4 &&
			    parse_quad(by, q) && memcmp(q, up->from_ip.addr, 4) == 0);
		} else {
			char fn[HOSTMAX];
			if (strchr(by, '.') == NULL)
				continue;
			host_norm(up->from_name, fn, sizeof(fn));
			/* no name to compare (only an address HELO) */
			if (up->from_rdns.len == 0 && up->helo_param.len == 0 &&
			    (fn[0] == '\0' || host_is_ip(fn)))
				continue;
			ok = same_org(up->from_rdns, lo->by) ||
			    same_org(up->from_name, lo->by) ||
			    same_org(up->helo_param, lo->by);
		}
		if (!ok)
			alert_add(out, 1106, (int)i + 1, lo->raw, by);
	}
}

/* A `for` address the site declared as a mailing list (address or domain):
 * its expansion sends the message on to members that were never RCPT TO. */
static int
for_is_declared_list(const struct chain_config *cfg, struct bstr a)
{
	unsigned i, k;
	uint32_t at = a.len;

	if (cfg == NULL)
		return 0;
	for (k = 0; k < a.len; k++)
		if (a.p[k] == '@')
			at = k;
	for (i = 0; i < cfg->n_lists; i++) {
		const char *l = cfg->lists[i];
		struct bstr part = strchr(l, '@') != NULL ? a :
		    (at < a.len ? bstr_make(a.p + at + 1, a.len - at - 1) : a);

		if (bstr_ieq(part, l))
			return 1;
	}
	return 0;
}

static void
check_1107_1203(const struct chain_config *cfg, const struct received *rcv,
    unsigned n, int obs, const struct chain_wire *w, struct chain_result *out)
{
	unsigned i;

	if (w == NULL || obs < 0)
		return;
	for (i = (unsigned)obs; i < n; i++) {
		const struct received *r = &rcv[i];
		if (!r->parsed || !for_checkable(r->for_addr) ||
		    for_is_declared_list(cfg, r->for_addr))
			continue;
		if (w->n_rcpt_all > 0 &&
		    !rcpt_listed(r->for_addr, w->rcpt_all, w->n_rcpt_all))
			alert_add(out, 1107, (int)i, r->raw, NULL);
	}
	{
		const struct received *r = &rcv[obs];
		if (r->parsed && for_checkable(r->for_addr) &&
		    w->n_rcpt_accepted > 0 &&
		    !rcpt_listed(r->for_addr, w->rcpt_accepted,
		    w->n_rcpt_accepted))
			alert_add(out, 1203, obs, r->raw, NULL);
	}
}

static void
check_1108(const struct chain_config *cfg, const struct received *rcv,
    unsigned n, const struct mail_date *date_hdr,
    const struct chain_wire *w, struct chain_result *out)
{
	int64_t skew = (cfg != NULL && cfg->skew_s != 0) ? cfg->skew_s : 3600;
	int64_t above = 0, cap = (w != NULL) ? w->capture_time : 0;
	int have_above = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct received *r = &rcv[i];
		if (!r->parsed || !r->date.valid)
			continue;
		if ((have_above && r->date.epoch > above + skew) ||
		    (cap > 0 && r->date.epoch > cap + skew))
			alert_add(out, 1108, (int)i, r->raw, r->date.iso);
		above = r->date.epoch;
		have_above = 1;
	}
	if (date_hdr != NULL && date_hdr->valid && cap > 0 &&
	    date_hdr->epoch > cap + skew)
		alert_add(out, 1108, -1, date_hdr->raw.len ? date_hdr->raw :
		    date_hdr->tz, date_hdr->iso);
}

static void
check_1109(const struct chain_config *cfg, const struct received *rcv,
    unsigned n, int obs, struct chain_result *out)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct received *r = &rcv[i];
		int facing = 0;
		if (!r->parsed || r->from_ip.ver != 4 ||
		    !v4_private(r->from_ip.addr))
			continue;
		if (!(r->rdns_failed || r->from_rdns.len == 0) || r->authenticated)
			continue;
		if (cfg != NULL && cidr_match(cfg->trusted, cfg->n_trusted, 4,
		    r->from_ip.addr))
			continue;
		if ((int)i == obs)
			facing = 1;
		else if (i > 0 && rcv[i - 1].parsed && rcv[i - 1].from_ip.ver != 0 &&
		    !rcv[i - 1].from_ip.bad && !hdr_internal_client(cfg, &rcv[i - 1]))
			facing = 1;
		if (facing)
			alert_add(out, 1109, (int)i, r->raw, r->from_ip.canon);
	}
}

static int
first_hop(const struct received *rcv, unsigned n)
{
	int i;

	for (i = (int)n - 1; i >= 0; i--) {
		if (!rcv[i].parsed || !rcv[i].has_from || hdr_loopback(&rcv[i]))
			continue;
		return i;
	}
	return -1;
}

static void
check_1110(const struct received *rcv, unsigned n, struct chain_result *out)
{
	int k = first_hop(rcv, n);
	const struct received *r;
	struct bstr nm;

	if (k < 0)
		return;
	r = &rcv[k];
	nm = r->from_rdns.len ? r->from_rdns : r->from_name;
	if (!dynamic_name(nm, &r->from_ip))
		return;
	if (r->authenticated || r->by.len == 0 || same_org(nm, r->by))
		return;
	{
		char by[HOSTMAX];
		host_norm(r->by, by, sizeof(by));
		alert_add(out, 1110, k, r->raw, by);
	}
}

static void
check_1111(const struct received *rcv, unsigned n, struct chain_result *out)
{
	unsigned i;
	char a[HOSTMAX], b[HOSTMAX];

	for (i = 0; i < n; i++) {
		const struct received *r = &rcv[i];
		/*
		 * A loopback hop is the host talking to itself (its rDNS is
		 * "localhost" whatever it calls itself), and an authenticated
		 * submission's HELO is whatever the user's program says: the
		 * comparison tells something only for relaying hops.  Seen
		 * as false alarms on the corpus replay (tests/corpus).
		 */
		if (!r->parsed || r->rdns_failed || r->from_name.len == 0 ||
		    r->from_rdns.len == 0 || r->authenticated ||
		    hdr_loopback(r))
			continue;
		host_norm(r->from_name, a, sizeof(a));
		host_norm(r->from_rdns, b, sizeof(b));
		if (a[0] == '\0' || b[0] == '\0' || host_is_ip(a) || host_is_ip(b) ||
		    strcmp(b, "unknown") == 0)
			continue;
		if (strcmp(a, b) == 0 || same_org(r->from_name, r->from_rdns))
			continue;
		alert_add(out, 1111, (int)i, r->raw, b);
	}
}

static void
check_wire(const struct chain_config *cfg, const struct received *rcv,
    int obs, const struct chain_wire *w, struct chain_result *out)
{
	const struct received *r;

	if (w == NULL || obs < 0)
		return;
	r = &rcv[obs];
	if (!r->parsed)
		return;
	if (w->client_ver != 0 && r->from_ip.ver != 0 && !r->from_ip.bad) {
		uint8_t wa[16];
		uint8_t wv = wire_addr(w->client_ver, w->client_ip, wa);
		int same = wv == r->from_ip.ver &&
		    memcmp(wa, r->from_ip.addr, wv == 4 ? 4 : 16) == 0;
		int trusted = cfg != NULL && cidr_match(cfg->trusted,
		    cfg->n_trusted, wv, wa);
		if (!same && !trusted) {
			char wt[48], det[64];
			struct chain_alert *a;
			ip_text(wv, wa, wt, sizeof(wt));
			snprintf(det, sizeof(det), "wire %s", wt);
			a = alert_add(out, 1201, obs, r->raw, det);
			if (a != NULL)
				a->nat = ip_private(r->from_ip.ver, r->from_ip.addr) &&
				    !ip_private(wv, wa) && !ip_loopback(wv, wa);
		}
	}
	if (w->helo.len > 0) {
		struct bstr hn = r->helo_param.len ? r->helo_param : r->from_name;
		char wh[HOSTMAX], hh[HOSTMAX], rd[HOSTMAX];
		if (hn.len == 0)
			return;
		host_norm(w->helo, wh, sizeof(wh));
		host_norm(hn, hh, sizeof(hh));
		if (wh[0] == '\0' || strcmp(wh, hh) == 0)
			return;
		host_norm(r->from_rdns, rd, sizeof(rd));
		/* the server wrote the rDNS name in place of the HELO */
		if (r->helo_param.len == 0 && rd[0] != '\0' &&
		    strcmp(hh, rd) == 0 && !bstr_has_ci(r->raw, wh))
			return;
		{
			char det[64];
			snprintf(det, sizeof(det), "wire %.50s", wh);
			alert_add(out, 1202, obs, r->raw, det);
		}
	}
}

static void
set_hop(struct chain_hop *h, int hop, const struct received *r)
{
	h->hop = hop;
	snprintf(h->ip, sizeof(h->ip), "%s",
	    (r->from_ip.ver != 0 && !r->from_ip.bad) ? r->from_ip.canon : "");
	h->name = r->from_rdns.len ? r->from_rdns : r->from_name;
}

static void
find_origin(const struct received *rcv, unsigned n, int obs,
    const struct chain_wire *w, struct chain_result *out)
{
	int i, k = -1, bottom = -1;

	for (i = (int)n - 1; i >= 0; i--) {
		const struct received *r = &rcv[i];
		if (!r->parsed || !r->has_from || hdr_loopback(r))
			continue;
		if (bottom < 0 && r->from_ip.ver != 0)
			bottom = i;
		if (hdr_end_user(r)) {
			k = i;
			break;
		}
	}
	if (k < 0)
		k = bottom;
	if (k < 0)
		return;
	set_hop(&out->origin, k, &rcv[k]);
	if (k > 0 && rcv[k - 1].parsed && rcv[k - 1].has_from) {
		set_hop(&out->injection, k - 1, &rcv[k - 1]);
	} else {
		char by[48];
		out->injection.hop = -1;
		out->injection.name = rcv[k].by;
		host_norm(rcv[k].by, by, sizeof(by));
		if (host_is_ip(by))
			snprintf(out->injection.ip, sizeof(out->injection.ip),
			    "%s", by);
		else if (w != NULL && obs == k && w->client_ver != 0) {
			uint8_t sa[16];
			uint8_t v = wire_addr(w->client_ver, w->server_ip, sa);
			ip_text(v, sa, out->injection.ip, sizeof(out->injection.ip));
		}
	}
}

void
chain_check(const struct chain_config *cfg, const struct received *rcv,
    unsigned n_rcv, const struct mail_date *date_hdr,
    const struct chain_wire *wire, struct chain_result *out)
{
	int obs;

	/* alerts[] (33 KB) is cleared entry by entry as alerts are added */
	out->n_alerts = 0;
	memset(&out->origin, 0, sizeof(out->origin));
	memset(&out->injection, 0, sizeof(out->injection));
	out->origin.hop = -1;
	out->injection.hop = -1;
	if (rcv == NULL)
		n_rcv = 0;
	obs = find_observed(rcv, n_rcv, wire);
	out->observed_hop = obs;
	check_1101(rcv, n_rcv, date_hdr, out);
	check_1102(rcv, n_rcv, out);
	check_1103_1104(rcv, n_rcv, out);
	check_1105(rcv, n_rcv, obs, wire, out);
	check_1106(cfg, rcv, n_rcv, out);
	check_1107_1203(cfg, rcv, n_rcv, obs, wire, out);
	check_1108(cfg, rcv, n_rcv, date_hdr, wire, out);
	check_1109(cfg, rcv, n_rcv, obs, out);
	check_1110(rcv, n_rcv, out);
	check_1111(rcv, n_rcv, out);
	check_wire(cfg, rcv, obs, wire, out);
	find_origin(rcv, n_rcv, obs, wire, out);
}

/* ---- Authentication-Results ---- */

static uint32_t
ar_skip_cfws(struct bstr v, uint32_t i)
{
	int depth = 0;

	while (i < v.len) {
		uint8_t c = v.p[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < v.len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == '(') {
			depth = 1;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else {
			break;
		}
	}
	return i;
}

static int
ar_tokc(uint8_t c)
{
	return c > ' ' && c < 127 && c != ';' && c != '(' && c != ')' &&
	    c != '=' && c != '"';
}

static void
ar_set(char *dst, size_t dl, struct bstr v, uint32_t s, uint32_t e)
{
	size_t n = e - s, i;

	if (n >= dl)
		n = dl - 1;
	for (i = 0; i < n; i++)
		dst[i] = (char)lc(v.p[s + i]);
	dst[n] = '\0';
}

int
authres_parse(struct bstr v, struct authres *ar)
{
	uint32_t i, s;

	memset(ar, 0, sizeof(*ar));
	i = ar_skip_cfws(v, 0);
	if (i < v.len && v.p[i] == '"') {
		s = ++i;
		while (i < v.len && v.p[i] != '"')
			i += (v.p[i] == '\\' && i + 1 < v.len) ? 2 : 1;
		if (i > v.len)
			i = v.len;
		ar->authserv_id = bstr_make(v.p + s, i - s);
		if (i < v.len)
			i++;
	} else {
		s = i;
		while (i < v.len && ar_tokc(v.p[i]))
			i++;
		ar->authserv_id = bstr_make(v.p + s, i - s);
	}
	if (ar->authserv_id.len == 0)
		return -1;
	/* optional version, comments, then resinfo after each ';' */
	while (i < v.len) {
		uint32_t ms, me, rs, re;
		int inq = 0, depth = 0;
		/* advance to the next ';' outside comments and quotes */
		while (i < v.len) {
			uint8_t c = v.p[i];
			if (inq) {
				if (c == '\\')
					i++;
				else if (c == '"')
					inq = 0;
			} else if (depth > 0) {
				if (c == '\\')
					i++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
			} else if (c == '"') {
				inq = 1;
			} else if (c == '(') {
				depth = 1;
			} else if (c == ';') {
				break;
			}
			i++;
		}
		if (i >= v.len)
			break;
		i = ar_skip_cfws(v, i + 1);
		ms = i;
		while (i < v.len && ar_tokc(v.p[i]) && v.p[i] != '/')
			i++;
		me = i;
		if (i < v.len && v.p[i] == '/') {
			while (i < v.len && ar_tokc(v.p[i]))
				i++;
		}
		i = ar_skip_cfws(v, i);
		if (i >= v.len || v.p[i] != '=')
			continue;
		i = ar_skip_cfws(v, i + 1);
		rs = i;
		while (i < v.len && ar_tokc(v.p[i]))
			i++;
		re = i;
		if (re == rs)
			continue;
		{
			struct bstr m = bstr_make(v.p + ms, me - ms);
			char res[16];
			ar_set(res, sizeof(res), v, rs, re);
			if (bstr_ieq(m, "spf") && ar->spf[0] == '\0')
				memcpy(ar->spf, res, sizeof(res));
			else if (bstr_ieq(m, "dmarc") && ar->dmarc[0] == '\0')
				memcpy(ar->dmarc, res, sizeof(res));
			else if (bstr_ieq(m, "dkim") &&
			    (ar->dkim[0] == '\0' || strcmp(res, "pass") == 0))
				memcpy(ar->dkim, res, sizeof(res));
		}
	}
	return 0;
}
