/*
 * test_msghdr.c - header section reader: ends, folds, skipped lines,
 * chunking independence, caps and random input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/msghdr.h"
#include "tests/unit/check.h"

#define BLOCK 16384

static struct pool *blocks;
static int anom_cap, anom_mem;

static void
on_anom(void *u, enum anom_id a)
{
	(void)u;
	if (a == ANOM_SMTP_HEADER_TOO_LONG)
		anom_cap++;
	else if (a == ANOM_SMTP_SESSION_MEMCAP)
		anom_mem++;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Feed in chunks: mode 0 whole, 1 byte at a time, 2 random sizes. */
static size_t
feed(struct msghdr_section *h, const uint8_t *d, size_t n, int mode)
{
	size_t off = 0, sum = 0, k, r;
	int ok = 1;

	while (off < n) {
		if (mode == 0)
			k = n - off;
		else if (mode == 1)
			k = 1;
		else
			k = 1 + rnd() % 97;
		if (k > n - off)
			k = n - off;
		r = msghdr_feed(h, d + off, k);
		if (r > k || (r < k && !h->done))
			ok = 0;
		sum += r;
		off += k;
	}
	CHECK(ok);
	return sum;
}

static void
start(struct msghdr_section *h, struct arena *a, uint32_t max_bytes,
    uint32_t max_fields)
{
	struct msghdr_config cfg = { max_bytes, max_fields };

	arena_init(a, blocks);
	msghdr_init(h, a, &cfg);
	h->anomaly_out = on_anom;
	anom_cap = anom_mem = 0;
}

static void
test_basic(void)
{
	static const char m[] =
	    "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Received: from c by d\r\n"
	    "\tid 42; Tue, 2 Jan 2024 00:00:00 +0000\r\n"
	    "From: Alice <alice@example.org>\r\n"
	    "Subject : hello\r\n"
	    " world  \r\n"
	    "X-Empty:\r\n"
	    "To:bob@example.net\r\n"
	    "\r\n"
	    "Subject: fake\r\n"
	    "body\r\n";
	size_t hlen = strstr(m, "\r\n\r\n") - m + 4;
	struct msghdr_section h;
	struct arena a;
	const struct msghdr_field *f;
	size_t r;

	start(&h, &a, 0, 0);
	r = msghdr_feed(&h, (const uint8_t *)m, sizeof(m) - 1);
	CHECK_EQ_INT(r, hlen);
	CHECK_EQ_INT(h.header_bytes, hlen);
	CHECK(h.done);
	CHECK_EQ_INT(h.state, MSGHDR_DONE);
	CHECK_EQ_INT(h.nfields, 6);
	CHECK_EQ_INT(h.capped, 0);
	CHECK_EQ_INT(h.bad_lines, 0);
	CHECK_EQ_INT(msghdr_feed(&h, (const uint8_t *)"X: y\r\n", 6), 0);
	CHECK_EQ_INT(h.header_bytes, hlen);

	f = msghdr_find(&h, "received", 0);
	CHECK(f != NULL);
	if (f != NULL)
		CHECK_BSTR(f->value,
		    "from a by b; Mon, 1 Jan 2024 00:00:00 +0000");
	f = msghdr_find(&h, "RECEIVED", 1);
	CHECK(f != NULL);
	if (f != NULL)
		CHECK_BSTR(f->value,
		    "from c by d\tid 42; Tue, 2 Jan 2024 00:00:00 +0000");
	CHECK(msghdr_find(&h, "Received", 2) == NULL);
	f = msghdr_find(&h, "subject", 0);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_BSTR(f->name, "Subject");
		CHECK_BSTR(f->value, "hello world");
	}
	CHECK(msghdr_find(&h, "Subject", 1) == NULL);
	f = msghdr_find(&h, "x-empty", 0);
	CHECK(f != NULL);
	if (f != NULL)
		CHECK_EQ_INT(f->value.len, 0);
	f = msghdr_find(&h, "to", 0);
	CHECK(f != NULL);
	if (f != NULL)
		CHECK_BSTR(f->value, "bob@example.net");
	CHECK_BSTR(h.fields[0].name, "Received");
	CHECK_BSTR(h.fields[2].name, "From");
	CHECK(msghdr_find(&h, "Cc", 0) == NULL);
	arena_reset(&a);
}

static void
test_ends(void)
{
	static const struct {
		const char *m;
		size_t hlen;
		unsigned nfields;
	} v[] = {
		{ "A: 1\nB: 2\n\nbody", 11, 2 },
		{ "A: 1\r\nB: 2\r\n\nbody", 13, 2 },
		{ "A: 1\nB: 2\n\r\nbody", 12, 2 },
		{ "\r\nA: 1\r\n", 2, 0 },
		{ "\nA: 1\n", 1, 0 },
		{ "A: 1\r\n \r\nB: 2\r\n\r\n", 17, 2 },    /* WSP line folds */
		{ "A: 1\r\r\nB: 2\r\n\r\n", 15, 2 },       /* lone CR is data */
		{ "A: 1\r\n\rB: 2\r\n\r\nx", 15, 1 },      /* "\rB:" is junk */
	};
	unsigned i;
	int mode;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (mode = 0; mode < 3; mode++) {
			struct msghdr_section h;
			struct arena a;
			size_t r;

			start(&h, &a, 0, 0);
			r = feed(&h, (const uint8_t *)v[i].m, strlen(v[i].m),
			    mode);
			CHECK_EQ_INT(r, v[i].hlen);
			CHECK_EQ_INT(h.header_bytes, v[i].hlen);
			CHECK(h.done);
			CHECK_EQ_INT(h.nfields, v[i].nfields);
			arena_reset(&a);
		}
	}
}

static void
test_values(void)
{
	static const char m[] =
	    "A: 1\r\r\n"
	    "B:\t \tx \t\r\n"
	    "C: a\r\n \r\n b\r\n"
	    "\r\n";
	struct msghdr_section h;
	struct arena a;

	start(&h, &a, 0, 0);
	msghdr_feed(&h, (const uint8_t *)m, sizeof(m) - 1);
	CHECK_EQ_INT(h.nfields, 3);
	CHECK_BSTR(h.fields[0].value, "1");
	CHECK_BSTR(h.fields[1].value, "x");
	CHECK_BSTR(h.fields[2].value, "a  b");
	arena_reset(&a);
}

static void
test_skipped_lines(void)
{
	static const char m[] =
	    "From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"
	    ">From x\n"
	    "Return-Path: <a@b>\n"
	    "this line is junk\n"
	    " and so is its fold: x\n"
	    ": no name\n"
	    "bad name: x\n"
	    "Subject: ok\n"
	    "\n"
	    "Subject: body\n";
	struct msghdr_section h;
	struct arena a;
	int mode;

	for (mode = 0; mode < 3; mode++) {
		start(&h, &a, 0, 0);
		feed(&h, (const uint8_t *)m, sizeof(m) - 1, mode);
		CHECK_EQ_INT(h.nfields, 2);
		CHECK_EQ_INT(h.bad_lines, 5);
		CHECK_EQ_INT(h.header_bytes,
		    strstr(m, "\n\n") - m + 2);
		if (h.nfields == 2) {
			CHECK_BSTR(h.fields[0].name, "Return-Path");
			CHECK_BSTR(h.fields[1].value, "ok");
		}
		/* junk lines do not hold storage */
		CHECK_EQ_INT(h.stored_bytes,
		    strlen("Return-Path: <a@b>") + strlen("Subject: ok"));
		arena_reset(&a);
	}
}

static void
test_finish(void)
{
	struct msghdr_section h;
	struct arena a;

	start(&h, &a, 0, 0);
	CHECK_EQ_INT(msghdr_feed(&h, (const uint8_t *)"A: 1\r\nB: 2\r\n x", 14),
	    14);
	CHECK(!h.done);
	CHECK_EQ_INT(h.nfields, 1);
	msghdr_finish(&h);
	CHECK(h.done);
	CHECK_EQ_INT(h.nfields, 2);
	CHECK_BSTR(h.fields[1].value, "2 x");
	CHECK_EQ_INT(h.header_bytes, 14);
	CHECK_EQ_INT(msghdr_feed(&h, (const uint8_t *)"\r\n", 2), 0);
	msghdr_finish(&h);
	CHECK_EQ_INT(h.nfields, 2);
	arena_reset(&a);

	start(&h, &a, 0, 0);
	msghdr_finish(&h);
	CHECK(h.done);
	CHECK_EQ_INT(h.nfields, 0);
	CHECK_EQ_INT(h.header_bytes, 0);
	arena_reset(&a);

	start(&h, &a, 0, 0);
	msghdr_feed(&h, (const uint8_t *)"A: 1\r", 5);
	msghdr_finish(&h);
	CHECK_EQ_INT(h.nfields, 1);
	CHECK_BSTR(h.fields[0].value, "1");
	arena_reset(&a);
}

/* Field lists of two readers are the same. */
static int
same(const struct msghdr_section *x, const struct msghdr_section *y)
{
	uint32_t i;

	if (x->nfields != y->nfields || x->header_bytes != y->header_bytes ||
	    x->capped != y->capped || x->bad_lines != y->bad_lines ||
	    x->done != y->done || x->stored_bytes != y->stored_bytes)
		return 0;
	for (i = 0; i < x->nfields; i++) {
		const struct msghdr_field *a = &x->fields[i], *b = &y->fields[i];
		if (a->name.len != b->name.len || a->value.len != b->value.len ||
		    memcmp(a->name.p, b->name.p, a->name.len) != 0 ||
		    memcmp(a->value.p, b->value.p, a->value.len) != 0)
			return 0;
	}
	return 1;
}

static void
check_chunkings(const uint8_t *m, size_t n, uint32_t max_bytes,
    uint32_t max_fields)
{
	struct msghdr_section h[4];
	struct arena a[4];
	size_t r[4];
	int i;

	for (i = 0; i < 4; i++) {
		start(&h[i], &a[i], max_bytes, max_fields);
		r[i] = feed(&h[i], m, n, i < 3 ? i : 2);
		msghdr_finish(&h[i]);
		CHECK_EQ_INT(r[i], h[i].header_bytes);
		CHECK(h[i].header_bytes <= n);
		CHECK(h[i].stored_bytes <= h[i].cfg.max_bytes);
		CHECK(h[i].nfields <= h[i].cfg.max_fields);
	}
	for (i = 1; i < 4; i++)
		CHECK(same(&h[0], &h[i]));
	for (i = 0; i < 4; i++)
		arena_reset(&a[i]);
}

static void
test_chunking(void)
{
	static const char *msgs[] = {
	    "From x Mon\nA: 1\r\nB: 2\r\n\t3\n \n\r\nbody: x\r\n",
	    "Subject: =?utf-8?q?x?=\r\n =?utf-8?q?y?=\r\nTo: a@b\r\n\r\n",
	    "A: 1\r\r\rB\r\n\rC: 2\r\n\n",
	    "no header at all\r\njust text\r\n",
	    "\r\n",
	    "X-A:\r\nX-B: \r\n  \r\n\tx\r\n\r",
	};
	unsigned i, k;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		for (k = 0; k < 5; k++) {
			check_chunkings((const uint8_t *)msgs[i],
			    strlen(msgs[i]), 0, 0);
			check_chunkings((const uint8_t *)msgs[i],
			    strlen(msgs[i]), 8, 1);
		}
	}
}

static void
test_caps(void)
{
	static uint8_t big[200000];
	struct msghdr_section h;
	struct arena a;
	size_t n = 0, i, k;
	uint32_t j;
	char line[64];

	/* byte cap: the field in progress is cut, the rest counted */
	start(&h, &a, 20, 0);
	n = msghdr_feed(&h, (const uint8_t *)
	    "A: 0123456789\r\nB: 0123456789\r\nC: x\r\n\r\n", 38);
	CHECK_EQ_INT(n, 38);
	CHECK_EQ_INT(h.header_bytes, 38);
	CHECK(h.capped);
	CHECK_EQ_INT(anom_cap, 1);
	CHECK_EQ_INT(h.nfields, 2);
	CHECK(h.stored_bytes <= 20);
	CHECK_BSTR(h.fields[0].value, "0123456789");
	CHECK_BSTR(h.fields[1].value, "0123");
	CHECK_EQ_INT(h.fields_dropped, 1);
	arena_reset(&a);

	/* field cap */
	start(&h, &a, 0, 3);
	for (j = 0; j < 10; j++)
		msghdr_feed(&h, (const uint8_t *)"X: y\r\n", 6);
	msghdr_feed(&h, (const uint8_t *)"\r\n", 2);
	CHECK_EQ_INT(h.nfields, 3);
	CHECK(h.capped);
	CHECK_EQ_INT(anom_cap, 1);
	CHECK_EQ_INT(h.fields_dropped, 7);
	CHECK_EQ_INT(h.header_bytes, 62);
	arena_reset(&a);

	/* a line far longer than a block and than max_bytes */
	memcpy(big, "Subject: ", 9);
	memset(big + 9, 'x', sizeof(big) - 9);
	for (k = 0; k < 3; k++) {
		start(&h, &a, 0, 0);
		n = feed(&h, big, sizeof(big), (int)k);
		n += msghdr_feed(&h, (const uint8_t *)"\r\nA: b\r\n\r\n", 10);
		CHECK_EQ_INT(n, sizeof(big) + 10);
		CHECK_EQ_INT(h.header_bytes, sizeof(big) + 10);
		CHECK(h.capped);
		CHECK_EQ_INT(anom_cap, 1);
		CHECK_EQ_INT(h.nfields, 2);
		CHECK(h.fields[0].value.len > 8000);
		CHECK(h.fields[0].value.len < BLOCK);
		CHECK(h.stored_bytes <= 65536);
		CHECK_BSTR(h.fields[1].value, "b");
		arena_reset(&a);
	}

	/* a long junk line costs nothing and caps nothing */
	start(&h, &a, 0, 0);
	memset(big, 'x', sizeof(big));
	big[5] = ' ';
	n = msghdr_feed(&h, big, sizeof(big));
	n += msghdr_feed(&h, (const uint8_t *)"\r\nA: b\r\n\r\n", 10);
	CHECK_EQ_INT(n, sizeof(big) + 10);
	CHECK(!h.capped);
	CHECK_EQ_INT(h.nfields, 1);
	CHECK_EQ_INT(h.bad_lines, 1);
	arena_reset(&a);

	/* 64 KiB of fields fits with 16 KiB blocks (up to the field cap) */
	start(&h, &a, 0, 0);
	for (j = 0; j < 420; j++) {
		int l = snprintf(line, sizeof(line), "X-F%u: ", j);
		msghdr_feed(&h, (const uint8_t *)line, (size_t)l);
		memset(big, 'a' + j % 26, 140);
		msghdr_feed(&h, big, 140);
		msghdr_feed(&h, (const uint8_t *)"\r\n", 2);
	}
	msghdr_feed(&h, (const uint8_t *)"\r\n", 2);
	CHECK_EQ_INT(h.nfields, 420);
	CHECK(!h.capped);
	CHECK(h.stored_bytes > 60000);
	for (j = 0, i = 0; j < 420; j++) {
		int l = snprintf(line, sizeof(line), "X-F%u", j);
		const struct msghdr_field *f = msghdr_find(&h, line, 0);
		if (f != NULL && f->value.len == 140 &&
		    f->value.p[0] == 'a' + j % 26 &&
		    f->value.p[139] == 'a' + j % 26 && (int)f->name.len == l)
			i++;
	}
	CHECK_EQ_INT(i, 420);
	arena_reset(&a);

	/* many fields: the array is capped by the arena block */
	start(&h, &a, 0, 100000);
	for (j = 0; j < 5000; j++)
		msghdr_feed(&h, (const uint8_t *)"X:\r\n", 4);
	msghdr_feed(&h, (const uint8_t *)"\r\n", 2);
	CHECK(h.nfields > 100);
	CHECK(h.nfields * sizeof(struct msghdr_field) <= BLOCK);
	CHECK(h.capped);
	CHECK_EQ_INT(h.header_bytes, 5000 * 4 + 2);
	CHECK_EQ_INT(h.nfields + h.fields_dropped, 5000);
	arena_reset(&a);
}

static void
test_memcap(void)
{
	struct pool *tiny = pool_create(BLOCK, 1);
	struct msghdr_section h;
	struct arena a;
	uint32_t j;

	arena_init(&a, tiny);
	msghdr_init(&h, &a, NULL);
	h.anomaly_out = on_anom;
	anom_cap = anom_mem = 0;
	for (j = 0; j < 2000; j++)
		msghdr_feed(&h, (const uint8_t *)"X-Long-Header: value\r\n", 22);
	msghdr_feed(&h, (const uint8_t *)"\r\n", 2);
	CHECK(h.done);
	CHECK(h.capped);
	CHECK_EQ_INT(anom_mem, 1);
	CHECK(h.nfields > 0);
	CHECK_EQ_INT(h.header_bytes, 2000 * 22 + 2);
	for (j = 0; j < h.nfields; j++)
		CHECK_BSTR(h.fields[j].value, "value");
	arena_reset(&a);
	pool_destroy(tiny);

	/* no arena at all: counted, nothing stored */
	msghdr_init(&h, NULL, NULL);
	CHECK_EQ_INT(msghdr_feed(&h, (const uint8_t *)"A: 1\r\n\r\nx", 9), 8);
	CHECK_EQ_INT(h.nfields, 0);
}

static void
test_random(void)
{
	static uint8_t buf[70000];
	static const uint8_t alpha[] = "\r\n\r\n \t:aB-x\x80\0";
	unsigned it;
	size_t n, i;

	for (it = 0; it < 300; it++) {
		n = rnd() % (it < 250 ? 2000 : sizeof(buf));
		for (i = 0; i < n; i++) {
			uint32_t r = rnd();
			buf[i] = (r & 1) ? alpha[(r >> 1) % (sizeof(alpha) - 1)]
			    : (uint8_t)(r >> 8);
		}
		/* headers shaped often enough to reach the caps */
		if (it % 3 == 0) {
			for (i = 0; i + 1 < n; i++)
				if (buf[i] == '\n' && buf[i + 1] == '\n')
					buf[i + 1] = 'y';
			for (i = 0; i + 3 < n; i++)
				if (buf[i] == '\r' && buf[i + 1] == '\n' &&
				    buf[i + 2] == '\r')
					buf[i + 2] = 'H';
		}
		check_chunkings(buf, n, 0, 0);
		check_chunkings(buf, n, 1 + rnd() % 300, 1 + rnd() % 20);
	}
}

int
main(void)
{
	blocks = pool_create(BLOCK, 4096);
	if (blocks == NULL)
		return 2;
	test_basic();
	test_ends();
	test_values();
	test_skipped_lines();
	test_finish();
	test_chunking();
	test_caps();
	test_memcap();
	test_random();
	pool_destroy(blocks);
	return CHECK_DONE();
}
