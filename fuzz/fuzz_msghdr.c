/*
 * fuzz_msghdr.c - fuzz target for the header section reader and value
 * decoders (decode/msghdr.c, decode/rfc2047.c, decode/addr.c).
 *
 * Input: byte 0 configures, then chunks [len][bytes]:
 *   cfg bits 0-1  max_bytes    default / 64 / 1024 / 100000
 *   cfg bits 2-3  max_fields   default / 1 / 8 / 5000
 *   cfg bit 4     msghdr_finish at the end (else the section may stay open)
 *   cfg bits 5-6  arena blocks of 16 KiB in the pool: 256 / 8 / 2 / 1
 *   chunk len     0..254 bytes; 255 means a u16 LE length follows
 * Each chunk is copied to an exact-size malloc'ed buffer and fed to
 * msghdr_feed.  The same bytes are also fed in one piece to a second
 * section with its own pool: the contract says any chunking gives the same
 * result, so both must agree field by field.  Then msghdr_find runs over
 * common names, and msghdr_decode_value and msghdr_addresses over every
 * field value and over the raw input (CR and LF included).
 *
 * Checks: feed returns at most n and the returns add up to header_bytes;
 * chunked and one-piece feeds agree, caps and memory exhaustion included;
 * nothing is taken once done; found fields carry the name asked for, and
 * nth lookups count the same fields as a scan; decoded values and addresses
 * are readable ranges; address counts stay within max.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/bstr.h"
#include "decode/msghdr.h"
#include "decode/pool.h"
#include "fuzz.h"

#define FUZZ_BLOCK (16u * 1024)
#define FUZZ_MAX_ADDRS 32

static const uint32_t fuzz_max_bytes[4] = { 0, 64, 1024, 100000 };
static const uint32_t fuzz_max_fields[4] = { 0, 1, 8, 5000 };
static const size_t fuzz_blocks[4] = { 256, 8, 2, 1 };

static struct pool *pool_a[4], *pool_b[4], *pool_scratch;
static int fuzz_strict;

static const char *const fuzz_names[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Received", "Message-ID",
	"Date", "Reply-To", "Return-Path", "Content-Type", "X-Mailer",
	"MIME-Version", "DKIM-Signature", "X", "",
};

static void
fuzz_setup(void)
{
	int i;

	if (pool_scratch != NULL)
		return;
	for (i = 0; i < 4; i++) {
		pool_a[i] = pool_create(FUZZ_BLOCK, fuzz_blocks[i]);
		pool_b[i] = pool_create(FUZZ_BLOCK, fuzz_blocks[i]);
		FUZZ_CHECK(pool_a[i] != NULL && pool_b[i] != NULL);
	}
	pool_scratch = pool_create(FUZZ_BLOCK, 64);
	FUZZ_CHECK(pool_scratch != NULL);
	fuzz_strict = getenv("FUZZ_MSGHDR_STRICT") != NULL;
}

static void
fuzz_anom(void *u, enum anom_id a)
{
	(void)u;
	FUZZ_CHECK(a == ANOM_SMTP_HEADER_TOO_LONG ||
	    a == ANOM_SMTP_SESSION_MEMCAP);
}

static int
bstr_eq(struct bstr a, struct bstr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* RFC 2047 decoding and address extraction of one value. */
static void
fuzz_value(struct arena *scratch, struct bstr v)
{
	struct bstr out, addrs[FUZZ_MAX_ADDRS];
	unsigned n, i, max;
	int r;

	r = msghdr_decode_value(scratch, v, &out);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r != 0)
		FUZZ_CHECK(out.p == v.p && out.len == v.len);
	fuzz_touch(out.p, out.len);
	for (max = 1; max <= FUZZ_MAX_ADDRS; max += FUZZ_MAX_ADDRS - 1) {
		memset(addrs, 0, sizeof(addrs));
		n = msghdr_addresses(scratch, v, addrs, max);
		FUZZ_CHECK(n <= max);
		for (i = 0; i < n; i++)
			fuzz_touch(addrs[i].p, addrs[i].len);
	}
	/* the NULL arena is allowed for addresses */
	n = msghdr_addresses(NULL, v, addrs, FUZZ_MAX_ADDRS);
	FUZZ_CHECK(n <= FUZZ_MAX_ADDRS);
	for (i = 0; i < n; i++)
		fuzz_touch(addrs[i].p, addrs[i].len);
	arena_reset(scratch);
}

static void
fuzz_compare(const struct msghdr_section *a, const struct msghdr_section *b)
{
	uint32_t i;

	FUZZ_CHECK(a->header_bytes == b->header_bytes);
	FUZZ_CHECK(a->done == b->done);
	/* msghdr grows its store only when full, by sizes that depend on the
	 * bytes stored, so even an exhausted arena cuts the same field at the
	 * same byte whatever the chunking (the regression input is
	 * fuzz/crashes/msghdr-chunking-arena-dry). */
	(void)fuzz_strict;
	FUZZ_CHECK(a->capped == b->capped);
	FUZZ_CHECK(a->nfields == b->nfields);
	FUZZ_CHECK(a->bad_lines == b->bad_lines);
	FUZZ_CHECK(a->fields_dropped == b->fields_dropped);
	for (i = 0; i < a->nfields; i++) {
		FUZZ_CHECK(bstr_eq(a->fields[i].name, b->fields[i].name));
		FUZZ_CHECK(bstr_eq(a->fields[i].value, b->fields[i].value));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct msghdr_config cfg;
	struct msghdr_section ha, hb;
	struct arena aa, ab, scratch;
	const struct msghdr_field *f;
	uint8_t *buf, *all, c, one = '\n';
	size_t want, got, k, sum = 0, alln = 0, ni;
	unsigned nth, count;
	uint32_t i;
	int finish;

	fuzz_setup();
	c = fuzz_u8(&in);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_bytes = fuzz_max_bytes[c & 3];
	cfg.max_fields = fuzz_max_fields[(c >> 2) & 3];
	finish = (c >> 4) & 1;
	arena_init(&aa, pool_a[(c >> 5) & 3]);
	arena_init(&ab, pool_b[(c >> 5) & 3]);
	arena_init(&scratch, pool_scratch);
	msghdr_init(&ha, &aa, &cfg);
	msghdr_init(&hb, &ab, &cfg);
	ha.anomaly_out = fuzz_anom;
	hb.anomaly_out = fuzz_anom;

	/* the whole message, for the one-piece feed and the raw value */
	all = malloc(in.n > 0 ? in.n : 1);
	FUZZ_CHECK(all != NULL);
	while (in.n > 0) {
		want = fuzz_u8(&in);
		if (want == 255)
			want = fuzz_u16(&in);
		buf = fuzz_take(&in, want, &got);
		if (buf == NULL)
			continue;
		k = msghdr_feed(&ha, buf, got);
		FUZZ_CHECK(k <= got);
		sum += k;
		FUZZ_CHECK(sum == ha.header_bytes);
		if (k < got)
			FUZZ_CHECK(ha.done);
		memcpy(all + alln, buf, got);
		alln += got;
		free(buf);
	}
	if (alln > 0) {
		buf = malloc(alln);
		FUZZ_CHECK(buf != NULL);
		memcpy(buf, all, alln);
		k = msghdr_feed(&hb, buf, alln);
		FUZZ_CHECK(k == sum);
		free(buf);
	}
	if (finish) {
		msghdr_finish(&ha);
		msghdr_finish(&hb);
		FUZZ_CHECK(ha.done);
	}
	if (ha.done)
		FUZZ_CHECK(msghdr_feed(&ha, &one, 1) == 0);
	FUZZ_CHECK(ha.header_bytes == sum);
	fuzz_compare(&ha, &hb);
	FUZZ_CHECK(ha.nfields <= ha.max_fields_eff);
	if (cfg.max_fields != 0)
		FUZZ_CHECK(ha.nfields <= cfg.max_fields);

	for (ni = 0; ni < sizeof(fuzz_names) / sizeof(fuzz_names[0]); ni++) {
		count = 0;
		for (i = 0; i < ha.nfields; i++)
			if (bstr_ieq(ha.fields[i].name, fuzz_names[ni]))
				count++;
		for (nth = 0; (f = msghdr_find(&ha, fuzz_names[ni], nth)) !=
		    NULL; nth++)
			FUZZ_CHECK(bstr_ieq(f->name, fuzz_names[ni]));
		FUZZ_CHECK(nth == count);
	}
	for (i = 0; i < ha.nfields; i++) {
		fuzz_touch(ha.fields[i].name.p, ha.fields[i].name.len);
		fuzz_value(&scratch, ha.fields[i].value);
	}
	if (alln > 0) {
		buf = malloc(alln);
		FUZZ_CHECK(buf != NULL);
		memcpy(buf, all, alln);
		fuzz_value(&scratch, bstr_make(buf, alln));
		free(buf);
	}
	free(all);
	arena_reset(&aa);
	arena_reset(&ab);
	return 0;
}
