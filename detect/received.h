/*
 * received.h - one Received header, parsed (RFC 5321 4.4, RFC 5322 3.6.7).
 *
 * Contract: received_parse reads the unfolded value of one Received header
 * (what follows "Received:") and fills a struct received.  It understands
 * the dialects that fool filters (see ../shared/spec/detections.md): sendmail
 * old and 8.12+, Postfix, Exim (`helo=` is the claimed HELO, never the
 * client; `(envelope-from ...)`), qmail (`(qmail N invoked from network)`),
 * Microsoft Exchange / SMTPSVC / Office 365 (`fe80::1%9` zone ids,
 * `::ffff:` mapped addresses, `id 15.20.x.y` is a version, not an address),
 * Google (`[IPv6:...]`, `?IPv6:...?`), Yahoo, Courier, MDaemon, a bare
 * `by ...` with no `from`, `(may be forged)` and `(unknown [addr])`
 * annotations, `for <multiple recipients>`.  A value it cannot make sense of
 * gives parsed = 0 with only `raw` set; such a header never raises a
 * structural alert.
 *
 * Field meanings (events.md `email.received`): from_name the name the
 * client claimed (HELO), from_rdns the name the receiving host looked up,
 * from_ip the connecting address it recorded (canonical text: dotted quad,
 * or RFC 5952 IPv6 without zone; a v4-mapped IPv6 is given as the IPv4),
 * by the receiving host, with the protocol, id the queue/SMTP id, for the
 * envelope recipient (angle brackets removed), date as ISO 8601 UTC and tz
 * the zone text as written (`-0600 (EST)`).
 *
 * All strings point into the arena passed in (or into `raw`), and live until
 * the arena is reset.  An absent field has len 0.
 */
#ifndef RH_RECEIVED_H
#define RH_RECEIVED_H

#include <stdint.h>

#include "../decode/bstr.h"
#include "../decode/pool.h"

/* A parsed RFC 5322 date (also used for the Date header). */
struct mail_date {
	uint8_t valid;           /* the date parsed */
	uint8_t has_offset;      /* a numeric offset was given (+hhmm) */
	uint8_t has_zone_name;   /* a zone name was given (EST, or "(EST)") */
	int16_t offset_min;      /* numeric offset in minutes, or derived
	                          * from a lone zone name, 0 if neither */
	int64_t epoch;           /* seconds since 1970 UTC */
	char zone_name[8];       /* "EST", upper case, NUL-terminated */
	struct bstr tz;          /* the zone text as written: "-0600 (EST)" */
	struct bstr raw;         /* the whole date text given to the parser */
	char iso[32];            /* "2002-07-30T21:11:11Z" */
};

/* An address as recorded in a header. */
struct rcvd_ip {
	uint8_t ver;             /* 0 none, 4, 6 */
	uint8_t addr[16];        /* IPv4 in the first 4 bytes */
	uint8_t bad;             /* looked like an IPv4 but an octet > 255 */
	struct bstr text;        /* as written, e.g. "[IPv6:::ffff:1.2.3.4]" */
	char canon[48];          /* canonical text (see contract) */
};

struct received {
	struct bstr raw;
	uint8_t parsed;
	uint8_t has_from;        /* a from clause was present */
	struct bstr from_name;   /* claimed HELO */
	struct bstr from_rdns;   /* receiver's reverse-DNS name */
	struct rcvd_ip from_ip;  /* connecting address */
	struct bstr helo_param;  /* Exim's helo= value, when present */
	struct bstr ident;       /* ident user (user@ in the comment) */
	struct bstr by;
	struct bstr with;
	struct bstr id;
	struct bstr for_addr;
	struct bstr envelope_from; /* Exim/Postfix (envelope-from <...>) */
	struct bstr mta_version; /* e.g. "8.12.8/8.12.8" sendmail tag, "Postfix" */
	uint8_t rdns_failed;     /* "unknown", "may be forged", "RDNS failed",
	                          * or an address with no name */
	uint8_t authenticated;   /* ESMTPA/ESMTPSA/with ...A, "authenticated" */
	struct mail_date date;
	struct bstr via;         /* `via X` (Yahoo "HTTP", O365 "Frontend
	                          * Transport"), kept apart from `with` */
};

/* 0 on success (even when r->parsed is 0); -1 only if the arena failed. */
int received_parse(struct arena *a, struct bstr raw, struct received *r);

/* Parse an RFC 5322 date-time leniently (two-digit years, AM/PM, missing
 * zone, zone names alone).  Returns 0 and fills *d (d->valid), or -1. */
int mail_date_parse(struct bstr s, struct mail_date *d);

/*
 * Parse an IP literal in any of the dialects' spellings ("1.2.3.4",
 * "[1.2.3.4]", "[IPv6:::1]", "?IPv6:fe80::1%9?", "::ffff:1.2.3.4").
 * Returns 0 and fills *ip, or -1 when it is not an address.
 */
int rcvd_ip_parse(struct bstr s, struct rcvd_ip *ip);

#endif
