/*
 * hscache.c - keep compiled Hyperscan databases in files, keyed by their
 * compile input (the idea of Suricata 8's sgh-mpm-caching).
 *
 * Why: hs_compile_multi of the default rules is over half of relayhound's
 * start-up, and every run recompiles the same input.  A serialized
 * database loads in a fraction of that time.
 *
 * Naming: one file per database, named by a 128-bit hash of everything
 * that determines the compiled bytes (hscache_key: library version, host
 * platform, mode, every expression with its flags and id).  Different rule
 * sets therefore never overwrite each other, several relayhound processes
 * can share a directory, and a stale file is simply never asked for again;
 * a cap on the number of files (oldest written first out) bounds the
 * directory.  The key is stored in the file as well, so a file copied
 * under another name is refused.
 *
 * File layout (all integers little endian):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |              magic "RHHSDB\r\n" (8 bytes)                     |
 *   +-------------------------------+-------------------------------+
 *   |       format version (1)      |  Hyperscan mode and flags     |
 *   +-------------------------------+-------------------------------+
 *   |                       key (16 bytes)                          |
 *   +---------------------------------------------------------------+
 *   |                   payload length (u64)                        |
 *   +---------------------------------------------------------------+
 *   |  payload checksum: MurmurHash3 x64-128, seed SUM_SEED (16)    |
 *   +---------------------------------------------------------------+
 *   |  payload: hs_serialize_database output (length bytes)         |
 *   +---------------------------------------------------------------+
 *
 * Reading treats the file as hostile: it must be a regular file of ours
 * (opened without following a symlink, non-blocking so a FIFO cannot hang
 * start-up), its size within HSCACHE_MAX_FILE and equal to header plus the
 * stated length; the header is read through decode/cursor.h; the checksum
 * must match before Hyperscan sees a byte, and the deserialized database
 * must report the expected mode.  The directory is opened once and every
 * file operation is relative to that descriptor, after the ownership and
 * permission check on the descriptor itself, so swapping the path after
 * the check changes nothing.  Writing goes to a temporary file created
 * O_EXCL with mode 0600, which is fsynced and renamed over the final name,
 * so a reader sees the old file or the whole new one.
 *
 * Rejected: one fixed file per database slot (two rule sets in turn would
 * thrash it, and two processes could interleave); mmap of the file (a
 * truncation by another process would fault); a cryptographic MAC (its key
 * would have to live next to the files it protects: the directory check is
 * the real boundary); serializing for a generic platform (slower scans on
 * the machine that runs it; the platform is in the key instead, so a
 * different CPU or valgrind's emulated one is just a miss).
 */
#include "hscache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../decode/cursor.h"

#define FMT_VERSION 1u
#define HDR_LEN 56
#define KEY_SEED 0x6b657931u     /* "key1" */
#define SUM_SEED 0x73756d31u     /* "sum1" */
#define TMP_MAX_AGE 3600         /* seconds before a stray temp file goes */
#define SCAN_MAX 4096            /* directory entries looked at per prune */
#define HEX_LEN (2 * HASH128_LEN)

static const uint8_t file_magic[8] = {
	'R', 'H', 'H', 'S', 'D', 'B', '\r', '\n'
};

struct hscache {
	int dfd;                 /* directory, or -1: cache disabled */
	char *dir;
	unsigned tmp_seq;
	struct hscache_stats st;
	char warn[512];
};

static void
warn(struct hscache *c, const char *fmt, ...)
{
	va_list ap;

	if (c->warn[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->warn, sizeof(c->warn), fmt, ap);
	va_end(ap);
}

/* mkdir -p with mode 0700 for the parts that do not exist yet. */
static int
make_dirs(const char *dir)
{
	char *p = strdup(dir), *s;
	struct stat sb;
	int rc = 0;

	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (s = p + 1; rc == 0; s++) {
		char ch = *s;

		if (ch != '/' && ch != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			int e = errno;
			if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
				errno = e;
				rc = -1;
			}
		}
		*s = ch;
		if (ch == '\0')
			break;
	}
	free(p);
	return rc;
}

struct hscache *
hscache_open(const char *dir)
{
	struct hscache *c = calloc(1, sizeof(*c));
	struct stat sb;

	if (c == NULL)
		return NULL;
	c->dfd = -1;
	if (dir == NULL)
		return c;
	if ((c->dir = strdup(dir)) == NULL) {
		free(c);
		return NULL;
	}
	c->st.errors = 1;        /* until the directory is accepted */
	if (dir[0] == '\0') {
		warn(c, "Hyperscan cache: empty directory name; running "
		    "without the cache");
		return c;
	}
	if (make_dirs(dir) != 0) {
		warn(c, "Hyperscan cache %s: cannot create: %s; running without "
		    "the cache", dir, strerror(errno));
		return c;
	}
	c->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dfd < 0) {
		warn(c, "Hyperscan cache %s: cannot open: %s; running without "
		    "the cache", dir, strerror(errno));
		return c;
	}
	if (fstat(c->dfd, &sb) != 0) {
		warn(c, "Hyperscan cache %s: cannot stat: %s; running without "
		    "the cache", dir, strerror(errno));
	} else if (sb.st_uid != geteuid()) {
		warn(c, "Hyperscan cache %s: refused: owned by uid %lu, not by "
		    "uid %lu; running without the cache", dir,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
	} else if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		warn(c, "Hyperscan cache %s: refused: group or world writable "
		    "(mode %04o); running without the cache", dir,
		    (unsigned)(sb.st_mode & 07777));
	} else {
		c->st.errors = 0;
		c->st.enabled = 1;
		return c;
	}
	close(c->dfd);
	c->dfd = -1;
	return c;
}

void
hscache_close(struct hscache *c)
{
	if (c == NULL)
		return;
	if (c->dfd >= 0)
		close(c->dfd);
	free(c->dir);
	free(c);
}

void
hscache_stats(const struct hscache *c, struct hscache_stats *st)
{
	if (c == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = c->st;
}

const char *
hscache_warning(const struct hscache *c)
{
	return c != NULL && c->warn[0] != '\0' ? c->warn : NULL;
}

int
hscache_key(const char *const *expressions, const unsigned *flags,
    const unsigned *ids, unsigned n, unsigned mode, uint8_t key[HASH128_LEN])
{
	static const uint16_t order = 0x0102;
	hs_platform_info_t pl;
	struct hash128 h;
	unsigned i;

	memset(&pl, 0, sizeof(pl));
	if (hs_populate_platform(&pl) != HS_SUCCESS)
		return -1;
	hash128_init(&h, KEY_SEED);
	hash128_str(&h, "relayhound hscache");
	hash128_u32(&h, FMT_VERSION);
	hash128_u32(&h, (uint32_t)sizeof(void *));
	hash128_update(&h, &order, sizeof(order));
	hash128_str(&h, hs_version());
	hash128_u32(&h, pl.tune);
	hash128_u64(&h, pl.cpu_features);
	hash128_u64(&h, pl.reserved1);
	hash128_u64(&h, pl.reserved2);
	hash128_u32(&h, mode);
	hash128_u32(&h, n);
	for (i = 0; i < n; i++) {
		hash128_str(&h, expressions[i]);
		hash128_u32(&h, flags != NULL ? flags[i] : 0);
		hash128_u32(&h, ids != NULL ? ids[i] : 0);
	}
	hash128_final(&h, key);
	return 0;
}

void
hscache_file_name(const uint8_t key[HASH128_LEN], char name[HSCACHE_NAME_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < HASH128_LEN; i++) {
		name[2 * i] = hex[key[i] >> 4];
		name[2 * i + 1] = hex[key[i] & 15];
	}
	memcpy(name + HEX_LEN, ".hsdb", 6);
}

/* Header checks; the payload span on success. */
static int
parse_file(const uint8_t *buf, size_t size, const uint8_t key[HASH128_LEN],
    unsigned mode, const uint8_t **payload, size_t *plen)
{
	struct cur cu;
	uint8_t m[8], k[HASH128_LEN], sum[HASH128_LEN], want[HASH128_LEN];
	struct hash128 h;
	uint32_t ver, md;
	uint64_t len;

	cur_init(&cu, buf, size);
	cur_bytes(&cu, m, sizeof(m));
	ver = cur_le32(&cu);
	md = cur_le32(&cu);
	cur_bytes(&cu, k, sizeof(k));
	len = cur_le32(&cu);
	len |= (uint64_t)cur_le32(&cu) << 32;
	cur_bytes(&cu, sum, sizeof(sum));
	if (cu.err || memcmp(m, file_magic, sizeof(m)) != 0 ||
	    ver != FMT_VERSION || md != mode ||
	    memcmp(k, key, HASH128_LEN) != 0 || len == 0 ||
	    len != cur_left(&cu))
		return -1;
	hash128_init(&h, SUM_SEED);
	hash128_update(&h, cu.p, (size_t)len);
	hash128_final(&h, want);
	if (memcmp(want, sum, HASH128_LEN) != 0)
		return -1;
	*payload = cu.p;
	*plen = (size_t)len;
	return 0;
}

/* The database is of the mode asked for (Hyperscan's own view). */
static int
check_db(const hs_database_t *db, unsigned mode)
{
	const char *want = (mode & HS_MODE_STREAM) ? "STREAM" :
	    (mode & HS_MODE_VECTORED) ? "VECTORED" : "BLOCK";
	char *info = NULL;
	const char *p;
	size_t ss;
	int ok;

	if (hs_database_info(db, &info) != HS_SUCCESS || info == NULL)
		return -1;
	p = strstr(info, "Mode: ");
	ok = p != NULL && strcmp(p + 6, want) == 0;
	free(info);
	if ((hs_stream_size(db, &ss) == HS_SUCCESS) != !!(mode & HS_MODE_STREAM))
		ok = 0;
	return ok ? 0 : -1;
}

/* 1 hit (*db set), 0 no file, -1 a file that cannot be used. */
static int
load(struct hscache *c, const uint8_t key[HASH128_LEN], unsigned mode,
    hs_database_t **db)
{
	char name[HSCACHE_NAME_MAX];
	const uint8_t *payload;
	uint8_t *buf = NULL;
	struct stat sb;
	size_t size, got = 0, plen;
	int fd, rc = -1;

	hscache_file_name(key, name);
	fd = openat(c->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    sb.st_size < HDR_LEN || (uint64_t)sb.st_size > HSCACHE_MAX_FILE)
		goto out;
	size = (size_t)sb.st_size;
	if ((buf = malloc(size)) == NULL)
		goto out;
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	if (parse_file(buf, size, key, mode, &payload, &plen) != 0)
		goto out;
	*db = NULL;
	if (hs_deserialize_database((const char *)payload, plen, db) !=
	    HS_SUCCESS) {
		*db = NULL;
		goto out;
	}
	if (check_db(*db, mode) != 0) {
		hs_free_database(*db);
		*db = NULL;
		goto out;
	}
	rc = 1;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* "<32 hex>.hsdb" */
static int
is_db_name(const char *s)
{
	return strlen(s) == HEX_LEN + 5 && is_hex(s, HEX_LEN) &&
	    strcmp(s + HEX_LEN, ".hsdb") == 0;
}

/* ".<32 hex>.<...>.tmp" as store() makes them */
static int
is_tmp_name(const char *s)
{
	size_t n = strlen(s);

	return n > HEX_LEN + 6 && s[0] == '.' && is_hex(s + 1, HEX_LEN) &&
	    s[HEX_LEN + 1] == '.' && strcmp(s + n - 4, ".tmp") == 0;
}

struct ent {
	char name[HSCACHE_NAME_MAX];
	struct timespec mtime;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Keep at most HSCACHE_MAX_FILES databases: remove the oldest written
 * (never `keep`, the file just written), and temporary files a crashed
 * writer left more than TMP_MAX_AGE ago.  Best effort: failures are not
 * errors of the run.
 */
static void
prune(struct hscache *c, const char *keep)
{
	struct ent *v;
	struct dirent *de;
	struct stat sb;
	size_t n = 0, i, excess;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if ((fd = dup(c->dfd)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	if ((v = malloc(SCAN_MAX * sizeof(*v))) == NULL) {
		closedir(d);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < SCAN_MAX) {
		int db = is_db_name(de->d_name);

		if (!db && !is_tmp_name(de->d_name))
			continue;
		if (fstatat(c->dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (!db) {
			if (now - sb.st_mtime > TMP_MAX_AGE)
				unlinkat(c->dfd, de->d_name, 0);
			continue;
		}
		memcpy(v[n].name, de->d_name, HEX_LEN + 6);
		v[n].mtime = sb.st_mtim;
		n++;
	}
	closedir(d);
	if (n > HSCACHE_MAX_FILES) {
		qsort(v, n, sizeof(*v), ent_cmp);
		excess = n - HSCACHE_MAX_FILES;
		for (i = 0; i < n && excess > 0; i++) {
			if (strcmp(v[i].name, keep) == 0)
				continue;
			if (unlinkat(c->dfd, v[i].name, 0) == 0)
				c->st.evicted++;
			excess--;
		}
	}
	free(v);
}

/* Write the database under its key; 0 or -1 (counted, first reason kept). */
static int
store(struct hscache *c, const uint8_t key[HASH128_LEN], unsigned mode,
    const hs_database_t *db)
{
	char name[HSCACHE_NAME_MAX], tmp[HSCACHE_NAME_MAX + 32];
	uint8_t hdr[HDR_LEN], *p = hdr;
	const char *what = "cannot serialize the database";
	char *bytes = NULL;
	struct hash128 h;
	size_t len = 0;
	int fd = -1, e = 0, made = 0, i;

	hscache_file_name(key, name);
	snprintf(tmp, sizeof(tmp), ".%.*s.%ld.%u.tmp", HEX_LEN, name,
	    (long)getpid(), c->tmp_seq++);
	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS ||
	    bytes == NULL) {
		e = EINVAL;
		goto fail;
	}
	if (len == 0 || len > HSCACHE_MAX_FILE - HDR_LEN) {
		what = "database larger than the cache's file size cap";
		e = EFBIG;
		goto fail;
	}
	memcpy(p, file_magic, sizeof(file_magic));
	p += sizeof(file_magic);
	for (i = 0; i < 4; i++)
		*p++ = (uint8_t)(FMT_VERSION >> (8 * i));
	for (i = 0; i < 4; i++)
		*p++ = (uint8_t)(mode >> (8 * i));
	memcpy(p, key, HASH128_LEN);
	p += HASH128_LEN;
	for (i = 0; i < 8; i++)
		*p++ = (uint8_t)((uint64_t)len >> (8 * i));
	hash128_init(&h, SUM_SEED);
	hash128_update(&h, bytes, len);
	hash128_final(&h, p);

	what = "cannot write";
	fd = openat(c->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	made = 1;
	if (write_all(fd, hdr, HDR_LEN) != 0 || write_all(fd, bytes, len) != 0
	    || fsync(fd) != 0) {
		e = errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = errno;
		goto fail;
	}
	fd = -1;
	if (renameat(c->dfd, tmp, c->dfd, name) != 0) {
		e = errno;
		goto fail;
	}
	(void)fsync(c->dfd);     /* the rename itself; best effort */
	free(bytes);
	c->st.written++;
	prune(c, name);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(c->dfd, tmp, 0);
	free(bytes);
	c->st.errors++;
	warn(c, "Hyperscan cache %s: %s %s: %s; databases are compiled at "
	    "each start", c->dir, what, name, strerror(e));
	return -1;
}

hs_error_t
hscache_compile_multi(struct hscache *c, const char *const *expressions,
    const unsigned *flags, const unsigned *ids, unsigned n, unsigned mode,
    hs_database_t **db, hs_compile_error_t **error)
{
	uint8_t key[HASH128_LEN];
	hs_error_t rc;
	int r;

	if (c == NULL || c->dfd < 0)
		return hs_compile_multi(expressions, flags, ids, n, mode, NULL,
		    db, error);
	if (hscache_key(expressions, flags, ids, n, mode, key) != 0) {
		c->st.errors++;
		warn(c, "Hyperscan cache %s: cannot read the host platform; "
		    "compiling without the cache", c->dir);
		return hs_compile_multi(expressions, flags, ids, n, mode, NULL,
		    db, error);
	}
	r = load(c, key, mode, db);
	if (r == 1) {
		c->st.hits++;
		if (error != NULL)
			*error = NULL;
		return HS_SUCCESS;
	}
	c->st.misses++;
	if (r < 0)
		c->st.rejected++;
	rc = hs_compile_multi(expressions, flags, ids, n, mode, NULL, db,
	    error);
	if (rc == HS_SUCCESS)
		store(c, key, mode, *db);
	return rc;
}

static int
is_off(const char *s)
{
	return strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0 ||
	    strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0;
}

int
hscache_resolve_dir(const char *env, int enabled, const char *cfg_dir,
    const char *xdg, const char *home, char *out, size_t outlen)
{
	int n;

	if (env != NULL && env[0] != '\0') {
		if (is_off(env))
			return 0;
		n = snprintf(out, outlen, "%s", env);
	} else if (!enabled) {
		return 0;
	} else if (cfg_dir != NULL && cfg_dir[0] != '\0') {
		n = snprintf(out, outlen, "%s", cfg_dir);
	} else if (xdg != NULL && xdg[0] == '/') {
		n = snprintf(out, outlen, "%s/relayhound/hs", xdg);
	} else if (home != NULL && home[0] == '/') {
		n = snprintf(out, outlen, "%s/.cache/relayhound/hs", home);
	} else {
		return 0;
	}
	return n >= 0 && (size_t)n < outlen ? 1 : -1;
}
