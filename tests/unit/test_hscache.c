/*
 * test_hscache.c - the compiled-database cache: MurmurHash3 x64-128 test
 * vectors and streaming, the key, the directory choice, a miss that writes
 * and a hit that gives the same alerts, damaged and foreign files (each a
 * counted miss that gets replaced), unwritable and refused directories,
 * file modes, and the cap on the number of files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "decode/msghdr.h"
#include "decode/pool.h"
#include "decode/smtp.h"
#include "detect/hash128.h"
#include "detect/hscache.h"
#include "detect/hsengine.h"
#include "detect/rules.h"

#ifndef RH_SRCDIR
#define RH_SRCDIR "."
#endif

#define NDB 3                    /* databases of the default rules */
#define HDR_LEN 56               /* the file header (detect/hscache.c) */

static char top[64];             /* mkdtemp root of everything here */
static struct pool *blocks;
static struct rule_set *rs;

/* ---- hash ---- */

static void
hash_hex(const void *p, size_t n, uint32_t seed, char out[33])
{
	struct hash128 h;
	uint8_t o[HASH128_LEN];
	int i;

	hash128_init(&h, seed);
	hash128_update(&h, p, n);
	hash128_final(&h, o);
	/* the vectors print h1 then h2, each as a big number */
	for (i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", o[7 - i]);
	for (i = 0; i < 8; i++)
		sprintf(out + 16 + 2 * i, "%02x", o[15 - i]);
}

static void
test_hash(void)
{
	static const struct {
		const char *in;
		uint32_t seed;
		const char *want;
	} v[] = {
		{ "", 0, "00000000000000000000000000000000" },
		{ "", 0x7fffffff, "656ac7570e166c3fc34c2ca1ed468e40" },
		{ "H", 0x7fffffff, "b6f1db9dc8dbb252a96d85416bcd05cc" },
		{ "Hello World!", 0x7fffffff,
		    "a8c348436bb9375369e62d2b2cefbb56" },
		{ "Hello World! Hello World! Hello Worl", 0,
		    "8a0577578c3ba68714bb0e1f770fb007" },
		{ "Hello World! Hello World! Hello World!", 0,
		    "f6cada2f71087efe66e67752734b005d" },
	};
	const char *s = "Hello World! Hello World! Hello World!";
	uint8_t whole[HASH128_LEN], part[HASH128_LEN], big[4099];
	struct hash128 h;
	char hex[33];
	size_t i, k, cut;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hash_hex(v[i].in, strlen(v[i].in), v[i].seed, hex);
		if (strcmp(hex, v[i].want) != 0)
			fprintf(stderr, "vector %zu: got %s\n", i, hex);
		CHECK(strcmp(hex, v[i].want) == 0);
	}
	/* any two-piece cut of the input gives the one-shot result */
	hash128_init(&h, 0);
	hash128_update(&h, s, strlen(s));
	hash128_final(&h, whole);
	for (cut = 0, k = 0; cut <= strlen(s); cut++) {
		hash128_init(&h, 0);
		hash128_update(&h, s, cut);
		hash128_update(&h, s + cut, strlen(s) - cut);
		hash128_final(&h, part);
		k += memcmp(whole, part, sizeof(whole)) != 0;
	}
	CHECK_EQ_INT(k, 0);
	/* and so do ragged pieces of a longer input */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + 7);
	hash128_init(&h, 9);
	hash128_update(&h, big, sizeof(big));
	hash128_final(&h, whole);
	hash128_init(&h, 9);
	for (i = 0, k = 1; i < sizeof(big); i += k, k = k % 37 + 3)
		hash128_update(&h, big + i, i + k > sizeof(big) ?
		    sizeof(big) - i : k);
	hash128_final(&h, part);
	CHECK(memcmp(whole, part, sizeof(whole)) == 0);
}

/* ---- key and directory choice ---- */

static void
test_key(void)
{
	const char *a[] = { "ab", "c" }, *b[] = { "a", "bc" };
	unsigned fl[] = { 0, 1 }, fl2[] = { 0, 2 }, ids[] = { 0, 1 },
	    ids2[] = { 0, 2 };
	uint8_t k0[HASH128_LEN], k1[HASH128_LEN];

	CHECK(hscache_key(a, fl, ids, 2, HS_MODE_BLOCK, k0) == 0);
	CHECK(hscache_key(a, fl, ids, 2, HS_MODE_BLOCK, k1) == 0);
	CHECK(memcmp(k0, k1, sizeof(k0)) == 0);
	hscache_key(b, fl, ids, 2, HS_MODE_BLOCK, k1);
	CHECK(memcmp(k0, k1, sizeof(k0)) != 0);      /* strings, not bytes */
	hscache_key(a, fl2, ids, 2, HS_MODE_BLOCK, k1);
	CHECK(memcmp(k0, k1, sizeof(k0)) != 0);
	hscache_key(a, fl, ids2, 2, HS_MODE_BLOCK, k1);
	CHECK(memcmp(k0, k1, sizeof(k0)) != 0);
	hscache_key(a, fl, ids, 2, HS_MODE_STREAM, k1);
	CHECK(memcmp(k0, k1, sizeof(k0)) != 0);
	hscache_key(a, fl, ids, 1, HS_MODE_BLOCK, k1);
	CHECK(memcmp(k0, k1, sizeof(k0)) != 0);
}

static void
test_resolve(void)
{
	char out[64];

	CHECK_EQ_INT(hscache_resolve_dir(NULL, 1, NULL, "/x", "/h", out,
	    sizeof(out)), 1);
	CHECK(strcmp(out, "/x/relayhound/hs") == 0);
	CHECK_EQ_INT(hscache_resolve_dir("", 1, NULL, "rel", "/h", out,
	    sizeof(out)), 1);
	CHECK(strcmp(out, "/h/.cache/relayhound/hs") == 0);
	CHECK_EQ_INT(hscache_resolve_dir(NULL, 1, NULL, NULL, "", out,
	    sizeof(out)), 0);
	CHECK_EQ_INT(hscache_resolve_dir(NULL, 1, "/cfg", "/x", "/h", out,
	    sizeof(out)), 1);
	CHECK(strcmp(out, "/cfg") == 0);
	CHECK_EQ_INT(hscache_resolve_dir(NULL, 0, "/cfg", "/x", "/h", out,
	    sizeof(out)), 0);
	/* the environment beats the configuration both ways */
	CHECK_EQ_INT(hscache_resolve_dir("/env", 0, "/cfg", "/x", "/h", out,
	    sizeof(out)), 1);
	CHECK(strcmp(out, "/env") == 0);
	CHECK_EQ_INT(hscache_resolve_dir("off", 1, "/cfg", "/x", "/h", out,
	    sizeof(out)), 0);
	CHECK_EQ_INT(hscache_resolve_dir("OFF", 1, NULL, "/x", "/h", out,
	    sizeof(out)), 0);
	CHECK_EQ_INT(hscache_resolve_dir("0", 1, NULL, "/x", "/h", out,
	    sizeof(out)), 0);
	CHECK_EQ_INT(hscache_resolve_dir(NULL, 1, NULL,
	    "/a-rather-long-cache-home-that-does-not-fit-in-64-bytes-at-all",
	    "/h", out, sizeof(out)), -1);
}

/* ---- engine through the cache ---- */

#define MAXAL 32

struct got {
	int n;
	uint32_t id[MAXAL];
	int hop[MAXAL];
	char ev[MAXAL][HSENG_EVIDENCE_MAX + 1];
};

static void
on_alert(void *u, const struct hseng_alert *a)
{
	struct got *g = u;

	if (g->n >= MAXAL)
		return;
	g->id[g->n] = a->rule->id;
	g->hop[g->n] = a->hop;
	memcpy(g->ev[g->n], a->evidence.p, a->evidence.len);
	g->ev[g->n][a->evidence.len] = '\0';
	g->n++;
}

/* One transaction through engine e: HELO, then the message in 7-byte
 * chunks (streams straddle chunks), then evaluation. */
static void
run(struct hseng *e, const char *helo, const char *msg, struct got *g)
{
	struct hseng_worker *w = hseng_worker_create(e, 2);
	void *mem = malloc(hseng_msg_size(e));
	struct arena ar;
	struct msghdr_section h;
	struct smtp_tx tx;
	struct smtp_rcpt rc = { bstr_cstr("bob@example.org"), 250 };
	struct hseng_msg *m;
	size_t len = strlen(msg), pos, n, hb;

	memset(g, 0, sizeof(*g));
	if (w == NULL || mem == NULL) {
		CHECK(0);
		hseng_worker_destroy(w);
		free(mem);
		return;
	}
	memset(&tx, 0, sizeof(tx));
	arena_init(&ar, blocks);
	msghdr_init(&h, &ar, NULL);
	m = hseng_msg_begin(w, mem);
	for (pos = 0; pos < len; pos += n) {
		const uint8_t *d = (const uint8_t *)msg + pos;
		n = len - pos < 7 ? len - pos : 7;
		hb = msghdr_feed(&h, d, n);
		if (hb > 0)
			hseng_msg_data(w, m, d, hb, 1);
		if (n > hb)
			hseng_msg_data(w, m, d + hb, n - hb, 0);
	}
	msghdr_finish(&h);
	hseng_msg_end(w, m);
	tx.hdr = &h;
	tx.has_data = 1;
	tx.helo = bstr_cstr(helo);
	tx.has_helo = 1;
	tx.mail_from = bstr_cstr("");
	tx.has_mail_from = 1;
	tx.rcpt = &rc;
	tx.rcpt_count = 1;
	hseng_tx_eval(w, m, &tx, hseng_facts_from_tx(&tx), on_alert, g);
	arena_reset(&ar);
	hseng_worker_destroy(w);
	free(mem);
}

static const struct {
	const char *helo, *msg;
} samples[] = {
	{ "alt1", "Subject: plain\r\n\r\nnothing here\r\n" },
	{ "mx.example.com",
	    "Received: from foo.example.com (foo [192.0.2.1])\r\n"
	    "\tby mx.example.net (8.8.5/8.6.5) with SMTP id GAA12345;\r\n"
	    "\tTue, 30 Jul 2002 06:11:11 -0600 (EST)\r\n"
	    "Subject: x\r\n\r\nbody\r\n" },
	{ "DESKTOP-AB12CD3",
	    "Return-Path: <>\r\nFrom: x@example.com\r\n"
	    "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\r\n"
	    "Subject: hi\r\n\r\nbody\r\n" },
	{ "alt1.aspmx.l.google.com",
	    "Received: from WIN-ABCDEFGHIJK (x [192.0.2.9])\r\n"
	    "\tby mx.example.net with ESMTP id XAA1; "
	    "Tue, 30 Jul 2002 06:11:11 -0700 (EDT)\r\n\r\nb\r\n" },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* Alerts of every sample, flattened to one string for comparison. */
static void
alerts_of(struct hseng *e, char *out, size_t outlen, int *nalerts)
{
	struct got g;
	size_t i, off = 0;
	int k;

	*nalerts = 0;
	out[0] = '\0';
	for (i = 0; i < NSAMPLES; i++) {
		run(e, samples[i].helo, samples[i].msg, &g);
		*nalerts += g.n;
		for (k = 0; k < g.n && off < outlen; k++)
			off += (size_t)snprintf(out + off, outlen - off,
			    "%zu:%u:%d:%s|", i, g.id[k], g.hop[k], g.ev[k]);
	}
}

static struct hseng *
engine(struct hscache *c)
{
	char err[512];
	struct hseng *e = hseng_create(rs, c, err, sizeof(err));

	if (e == NULL)
		fprintf(stderr, "engine: %s\n", err);
	return e;
}

/* Create an engine through a fresh cache on dir; its counters in st. */
static int
through(const char *dir, struct hscache_stats *st, char *warnbuf,
    size_t wlen)
{
	struct hscache *c = hscache_open(dir);
	struct hseng *e;

	if (c == NULL)
		return -1;
	e = engine(c);
	hscache_stats(c, st);
	if (warnbuf != NULL)
		snprintf(warnbuf, wlen, "%s", hscache_warning(c) != NULL ?
		    hscache_warning(c) : "");
	hseng_destroy(e);
	hscache_close(c);
	return e != NULL ? 0 : -1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
list_db(const char *dir, char names[][HSCACHE_NAME_MAX], int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 37 &&
		    strcmp(de->d_name + 32, ".hsdb") == 0 && n < max)
			snprintf(names[n++], HSCACHE_NAME_MAX, "%s", de->d_name);
	closedir(d);
	/* sorted, so every listing of the same files has one order */
	qsort(names, (size_t)n, HSCACHE_NAME_MAX, name_cmp);
	return n;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			n++;
	closedir(d);
	return n;
}

static long
read_file(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	long n;

	*out = NULL;
	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (*out == NULL || fread(*out, 1, (size_t)n, f) != (size_t)n)
		n = -1;
	fclose(f);
	return n;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "wb");
	if (f == NULL) {
		CHECK(0);
		return;
	}
	if (n > 0 && fwrite(p, 1, n, f) != n)
		CHECK(0);
	fclose(f);
	chmod(path, 0600);
}

static void
test_miss_then_hit(void)
{
	char dir[128], a1[8192], a2[8192], a0[8192], path[512];
	char names[8][HSCACHE_NAME_MAX];
	struct hscache *c1, *c2;
	struct hseng *e0, *e1, *e2;
	struct hscache_stats s1, s2;
	struct stat sb;
	int n0, n1, n2, i;

	/* a nested directory that does not exist yet */
	snprintf(dir, sizeof(dir), "%s/fresh/a/b", top);
	e0 = engine(NULL);
	c1 = hscache_open(dir);
	e1 = engine(c1);
	c2 = hscache_open(dir);
	e2 = engine(c2);
	CHECK(e0 != NULL && e1 != NULL && e2 != NULL);
	if (e0 == NULL || e1 == NULL || e2 == NULL)
		goto out;
	hscache_stats(c1, &s1);
	hscache_stats(c2, &s2);
	CHECK_EQ_INT(s1.enabled, 1);
	CHECK_EQ_INT(s1.misses, NDB);
	CHECK_EQ_INT(s1.written, NDB);
	CHECK_EQ_INT(s1.hits, 0);
	CHECK_EQ_INT(s1.errors, 0);
	CHECK_EQ_INT(s2.hits, NDB);
	CHECK_EQ_INT(s2.misses, 0);
	CHECK_EQ_INT(s2.written, 0);
	CHECK_EQ_INT(s2.rejected, 0);
	CHECK(hscache_warning(c1) == NULL && hscache_warning(c2) == NULL);

	/* the same alerts from the compiled and the loaded databases */
	alerts_of(e0, a0, sizeof(a0), &n0);
	alerts_of(e1, a1, sizeof(a1), &n1);
	alerts_of(e2, a2, sizeof(a2), &n2);
	CHECK(n0 >= 4);
	CHECK_EQ_INT(n1, n0);
	CHECK_EQ_INT(n2, n0);
	CHECK(strcmp(a0, a1) == 0);
	CHECK(strcmp(a0, a2) == 0);
	if (strcmp(a0, a2) != 0)
		fprintf(stderr, "compiled: %s\nloaded:   %s\n", a0, a2);

	/* modes: directories made 0700, files 0600 */
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/fresh/a", top);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK_EQ_INT(list_db(dir, names, 8), NDB);
	for (i = 0; i < NDB; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	}
	CHECK_EQ_INT(count_entries(dir), NDB);      /* no temp files left */
out:
	hseng_destroy(e0);
	hseng_destroy(e1);
	hseng_destroy(e2);
	hscache_close(c1);
	hscache_close(c2);
}

/* The file layout of detect/hscache.c, for files that pass the checksum. */
static void
craft(const char *path, unsigned mode, const uint8_t *key,
    const uint8_t *payload, size_t len)
{
	uint8_t *b = malloc(HDR_LEN + len), *p = b;
	struct hash128 h;
	int i;

	if (b == NULL)
		return;
	memcpy(p, "RHHSDB\r\n", 8);
	p += 8;
	for (i = 0; i < 4; i++)
		*p++ = (uint8_t)(1u >> (8 * i));
	for (i = 0; i < 4; i++)
		*p++ = (uint8_t)(mode >> (8 * i));
	memcpy(p, key, 16);
	p += 16;
	for (i = 0; i < 8; i++)
		*p++ = (uint8_t)((uint64_t)len >> (8 * i));
	hash128_init(&h, 0x73756d31u);
	hash128_update(&h, payload, len);
	hash128_final(&h, p);
	p += 16;
	memcpy(p, payload, len);
	write_file(path, b, HDR_LEN + len);
	free(b);
}

static void
hex_key(const char *name, uint8_t *key)
{
	int i;
	unsigned v;

	for (i = 0; i < 16; i++) {
		sscanf(name + 2 * i, "%2x", &v);
		key[i] = (uint8_t)v;
	}
}

enum damage {
	D_FLIP_PAYLOAD, D_FLIP_MAGIC, D_FLIP_MODE, D_TRUNCATE, D_ZERO,
	D_HUGE_LENGTH, D_SHORT_HEADER, D_WRONG_KEY, D_GARBAGE_PAYLOAD,
	D_OTHER_MODE_DB, D_SYMLINK, D_FIFO, D_LONGER, D__COUNT
};

static const char *const damage_name[D__COUNT] = {
	"flipped payload byte", "flipped magic", "flipped mode",
	"truncated", "zero length", "huge length field", "short header",
	"wrong key (another database's file)", "garbage payload, valid sum",
	"block database under a stream key", "symlink", "fifo",
	"trailing bytes"
};

static void
test_damaged(void)
{
	char dir[128], path[512], other[512], names[8][HSCACHE_NAME_MAX];
	struct hscache_stats st;
	uint8_t *good = NULL, *b = NULL, key[16];
	long n, i;
	int d, stream_ix = -1, block_ix = -1, k;

	snprintf(dir, sizeof(dir), "%s/damage", top);
	if (through(dir, &st, NULL, 0) != 0 || list_db(dir, names, 8) != NDB) {
		CHECK(0);
		return;
	}
	/* find one stream-mode and one block-mode file by their header */
	for (k = 0; k < NDB; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		if (read_file(path, &b) > HDR_LEN) {
			if (b[12] == HS_MODE_STREAM)
				stream_ix = k;
			else if (b[12] == HS_MODE_BLOCK)
				block_ix = k;
		}
		free(b);
	}
	CHECK(stream_ix >= 0 && block_ix >= 0);
	if (stream_ix < 0 || block_ix < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, names[stream_ix]);
	snprintf(other, sizeof(other), "%s/%s", dir, names[block_ix]);
	n = read_file(path, &good);
	CHECK(n > HDR_LEN + 100);
	if (n <= HDR_LEN + 100) {
		free(good);
		return;
	}
	hex_key(names[stream_ix], key);
	for (d = 0; d < D__COUNT; d++) {
		long m;

		unlink(path);
		switch (d) {
		case D_FLIP_PAYLOAD:
			good[n / 2] ^= 0x20;
			write_file(path, good, (size_t)n);
			good[n / 2] ^= 0x20;
			break;
		case D_FLIP_MAGIC:
			good[0] ^= 1;
			write_file(path, good, (size_t)n);
			good[0] ^= 1;
			break;
		case D_FLIP_MODE:
			good[12] ^= 3;
			write_file(path, good, (size_t)n);
			good[12] ^= 3;
			break;
		case D_TRUNCATE:
			write_file(path, good, (size_t)n - 1);
			break;
		case D_ZERO:
			write_file(path, good, 0);
			break;
		case D_HUGE_LENGTH:
			for (i = 32; i < 40; i++)
				good[i] ^= 0xff;
			write_file(path, good, (size_t)n);
			for (i = 32; i < 40; i++)
				good[i] ^= 0xff;
			break;
		case D_SHORT_HEADER:
			write_file(path, good, HDR_LEN - 1);
			break;
		case D_WRONG_KEY:
			m = read_file(other, &b);
			if (m > 0)
				write_file(path, b, (size_t)m);
			free(b);
			break;
		case D_GARBAGE_PAYLOAD:
			if ((b = malloc((size_t)n)) == NULL)
				break;
			for (i = 0; i < n; i++)
				b[i] = (uint8_t)(i * 7 + 1);
			craft(path, HS_MODE_STREAM, key, b, (size_t)n - HDR_LEN);
			free(b);
			break;
		case D_OTHER_MODE_DB:
			/* a valid block database, correctly framed */
			m = read_file(other, &b);
			if (m > HDR_LEN)
				craft(path, HS_MODE_STREAM, key, b + HDR_LEN,
				    (size_t)m - HDR_LEN);
			free(b);
			break;
		case D_SYMLINK:
			CHECK(symlink(other, path) == 0);
			break;
		case D_FIFO:
			CHECK(mkfifo(path, 0600) == 0);
			break;
		case D_LONGER:
			if ((b = calloc(1, (size_t)n + 16)) == NULL)
				break;
			memcpy(b, good, (size_t)n);
			write_file(path, b, (size_t)n + 16);
			free(b);
			break;
		}
		b = NULL;
		if (through(dir, &st, NULL, 0) != 0)
			CHECK(0);
		if (st.rejected != 1 || st.misses != 1 || st.hits != NDB - 1 ||
		    st.written != 1 || st.errors != 0) {
			fprintf(stderr, "damage '%s': rejected %llu misses %llu "
			    "hits %llu written %llu errors %llu\n",
			    damage_name[d], (unsigned long long)st.rejected,
			    (unsigned long long)st.misses,
			    (unsigned long long)st.hits,
			    (unsigned long long)st.written,
			    (unsigned long long)st.errors);
			CHECK(0);
		} else
			CHECK(1);
		/* replaced: the next start hits everything */
		through(dir, &st, NULL, 0);
		CHECK_EQ_INT(st.hits, NDB);
	}
	free(good);
}

static void
test_unwritable(void)
{
	char dir[128], path[512], names[8][HSCACHE_NAME_MAX], w[512];
	struct hscache_stats st;
	int i;

	/* learn the file names, then put a directory where each file goes:
	 * the rename fails for any user, root included */
	snprintf(dir, sizeof(dir), "%s/names", top);
	through(dir, &st, NULL, 0);
	CHECK_EQ_INT(list_db(dir, names, 8), NDB);
	snprintf(dir, sizeof(dir), "%s/blocked", top);
	mkdir(dir, 0700);
	for (i = 0; i < NDB; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CHECK(mkdir(path, 0700) == 0);
	}
	CHECK(through(dir, &st, w, sizeof(w)) == 0);     /* engine made */
	CHECK_EQ_INT(st.enabled, 1);
	CHECK_EQ_INT(st.errors, NDB);
	CHECK_EQ_INT(st.written, 0);
	CHECK_EQ_INT(st.misses, NDB);
	CHECK(strstr(w, "cannot write") != NULL);
	CHECK(strchr(w, '\n') == NULL);
	CHECK_EQ_INT(count_entries(dir), NDB);      /* temp files removed */

	/* a read-only directory (meaningful when not root) */
	if (geteuid() != 0) {
		snprintf(dir, sizeof(dir), "%s/readonly", top);
		mkdir(dir, 0500);
		CHECK(through(dir, &st, w, sizeof(w)) == 0);
		CHECK_EQ_INT(st.errors, NDB);
		CHECK_EQ_INT(st.written, 0);
		chmod(dir, 0700);
	}
	/* a directory that cannot be made */
	snprintf(dir, sizeof(dir), "%s/names/%s/sub", top, names[0]);
	CHECK(through(dir, &st, w, sizeof(w)) == 0);
	CHECK_EQ_INT(st.enabled, 0);
	CHECK_EQ_INT(st.errors, 1);
	CHECK(strstr(w, "cannot create") != NULL);
}

static void
test_refused(void)
{
	char dir[128], w[512];
	struct hscache_stats st;

	snprintf(dir, sizeof(dir), "%s/groupw", top);
	mkdir(dir, 0700);
	chmod(dir, 0770);
	CHECK(through(dir, &st, w, sizeof(w)) == 0);
	CHECK_EQ_INT(st.enabled, 0);
	CHECK_EQ_INT(st.errors, 1);
	CHECK_EQ_INT(st.misses + st.hits + st.written, 0);
	CHECK(strstr(w, "group or world writable") != NULL);
	CHECK_EQ_INT(count_entries(dir), 0);

	snprintf(dir, sizeof(dir), "%s/worldw", top);
	mkdir(dir, 0700);
	chmod(dir, 01777);
	CHECK(through(dir, &st, w, sizeof(w)) == 0);
	CHECK_EQ_INT(st.enabled, 0);
	CHECK(strstr(w, "group or world writable") != NULL);

	if (geteuid() == 0) {
		snprintf(dir, sizeof(dir), "%s/foreign", top);
		mkdir(dir, 0700);
		CHECK(chown(dir, 65534, 65534) == 0);
		CHECK(through(dir, &st, w, sizeof(w)) == 0);
		CHECK_EQ_INT(st.enabled, 0);
		CHECK(strstr(w, "owned by uid 65534") != NULL);
		CHECK_EQ_INT(count_entries(dir), 0);
	}

	/* no directory: no cache, nothing counted, no warning */
	CHECK(through(NULL, &st, w, sizeof(w)) == 0);
	CHECK_EQ_INT(st.enabled, 0);
	CHECK_EQ_INT(st.errors + st.misses + st.hits, 0);
	CHECK(w[0] == '\0');
}

static void
test_cap(void)
{
	char dir[128], path[512];
	struct hscache_stats st;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	int i, fd, extra = 300;

	snprintf(dir, sizeof(dir), "%s/cap", top);
	mkdir(dir, 0700);
	for (i = 0; i < extra; i++) {
		snprintf(path, sizeof(path), "%s/%032x.hsdb", dir, i);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		close(fd);
		old[0].tv_sec = old[1].tv_sec = 1000000000 + i;
		utimensat(AT_FDCWD, path, old, 0);
	}
	/* a stale temp file goes, a fresh one stays */
	snprintf(path, sizeof(path), "%s/.%032x.1.0.tmp", dir, 1);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	utimensat(AT_FDCWD, path, old, 0);
	snprintf(path, sizeof(path), "%s/.%032x.2.0.tmp", dir, 2);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	CHECK(through(dir, &st, NULL, 0) == 0);
	CHECK_EQ_INT(st.written, NDB);
	CHECK_EQ_INT(st.evicted, extra + NDB - HSCACHE_MAX_FILES);
	CHECK_EQ_INT(count_entries(dir), HSCACHE_MAX_FILES + 1);
	snprintf(path, sizeof(path), "%s/%032x.hsdb", dir, 0);
	CHECK(access(path, F_OK) != 0);              /* the oldest went */
	snprintf(path, sizeof(path), "%s/%032x.hsdb", dir, extra - 1);
	CHECK(access(path, F_OK) == 0);
	/* the databases just written are all there: the next start hits */
	CHECK(through(dir, &st, NULL, 0) == 0);
	CHECK_EQ_INT(st.hits, NDB);
}

static void
rm_rf(const char *p)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", p);
}

int
main(void)
{
	const char *file = RH_SRCDIR "/rules/default.yaml";
	char err[512];

	test_hash();
	test_key();
	test_resolve();
	strcpy(top, "/tmp/rh_hscache_XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	blocks = pool_create(16384, 64);
	rs = rules_load(&file, 1, err, sizeof(err));
	CHECK(rs != NULL);
	if (rs != NULL) {
		test_miss_then_hit();
		test_damaged();
		test_unwritable();
		test_refused();
		test_cap();
		rules_free(rs);
	}
	pool_destroy(blocks);
	rm_rf(top);
	return CHECK_DONE();
}
