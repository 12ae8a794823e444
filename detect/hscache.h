/*
 * hscache.h - an on-disk cache of compiled Hyperscan databases.
 *
 * Compiling the rules is most of relayhound's start-up; the result only
 * depends on the compile input, so it is kept in a directory and loaded
 * back (hs_deserialize_database) the next time the same input is compiled.
 *
 * Contract:
 *
 *  hscache_open(dir)  makes the directory (and missing parents, mode 0700)
 *                     and checks it: it must be owned by the effective user
 *                     and not group- or world-writable, or the cache is
 *                     refused (a root-run sensor must not load a database
 *                     another user could have planted).  dir NULL means no
 *                     cache.  A refused or unusable directory is not an
 *                     error for the caller: the cache is disabled, counted
 *                     in `errors`, and the reason kept for hscache_warning.
 *                     Returns NULL only when out of memory.
 *  hscache_compile_multi  has hs_compile_multi's arguments (host platform)
 *                     and results.  With a usable cache it computes the key
 *                     (hscache_key), loads `<key hex>.hsdb` if the file is
 *                     valid (hit), else compiles (miss) and writes the file
 *                     atomically (temporary file in the same directory,
 *                     fsync, rename; mode 0600).  A file that cannot be
 *                     used - absent, not a regular file of ours, over
 *                     HSCACHE_MAX_FILE, short, bad magic, format version,
 *                     mode, key, length or checksum, refused by
 *                     hs_deserialize_database, or a database of another
 *                     mode - is a miss (and `rejected` if it existed), and
 *                     is replaced.  A failure to write is counted in
 *                     `errors`; the compile result is returned regardless.
 *                     The returned database is the caller's either way.
 *                     Writes keep at most HSCACHE_MAX_FILES databases in
 *                     the directory (oldest removed first, `evicted`).
 *  hscache_warning    the first cache problem as one line, or NULL; the
 *                     caller reports it once (modules never print).
 *
 * The file is untrusted input: every length is checked before use and the
 * payload checksum (MurmurHash3, not cryptographic) only detects damage;
 * the directory check is what keeps foreign files out.  Not thread-safe:
 * use one struct hscache from one thread (relayhound compiles at start-up,
 * in main).
 */
#ifndef RH_HSCACHE_H
#define RH_HSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <hs.h>

#include "hash128.h"

#define HSCACHE_MAX_FILE (256u << 20)   /* bytes of one cache file */
#define HSCACHE_MAX_FILES 256            /* .hsdb files kept in the dir */
#define HSCACHE_NAME_MAX 40              /* "<32 hex>.hsdb" and NUL */
#define HSCACHE_ENV "RELAYHOUND_HS_CACHE"

struct hscache;

struct hscache_stats {
	int enabled;             /* a usable directory */
	uint64_t hits;           /* databases loaded from a file */
	uint64_t misses;         /* databases compiled (enabled only) */
	uint64_t rejected;       /* files found but not usable (also misses) */
	uint64_t written;        /* files written */
	uint64_t errors;         /* directory refused or unusable, files not
	                          * written, key not computed */
	uint64_t evicted;        /* files removed to stay under the cap */
};

struct hscache *hscache_open(const char *dir);
void hscache_close(struct hscache *c);

/* hs_compile_multi through the cache (c may be NULL: no cache). */
hs_error_t hscache_compile_multi(struct hscache *c,
    const char *const *expressions, const unsigned *flags,
    const unsigned *ids, unsigned n, unsigned mode, hs_database_t **db,
    hs_compile_error_t **error);

void hscache_stats(const struct hscache *c, struct hscache_stats *st);
const char *hscache_warning(const struct hscache *c);

/*
 * The key of one compile: hs_version(), the host platform
 * (hs_populate_platform), the mode with its flags, the number of
 * expressions and each expression with its flags and id (length-prefixed,
 * so no two inputs share a byte stream; hs_compile_multi takes no extended
 * parameters), plus this file format's version and the pointer size and
 * byte order.  0, or -1 if the platform cannot be
 * read.
 */
int hscache_key(const char *const *expressions, const unsigned *flags,
    const unsigned *ids, unsigned n, unsigned mode,
    uint8_t key[HASH128_LEN]);

/* The file name of a key inside the cache directory. */
void hscache_file_name(const uint8_t key[HASH128_LEN],
    char name[HSCACHE_NAME_MAX]);

/*
 * The directory to use, highest precedence first:
 *   env      the value of RELAYHOUND_HS_CACHE: "off", "0", "no" or "false"
 *            means no cache; any other non-empty value is the directory;
 *   enabled  0 (configuration `hyperscan.cache: false`) means no cache;
 *   cfg_dir  the configured directory, if not NULL;
 *   xdg      $XDG_CACHE_HOME + "/relayhound/hs", if an absolute path;
 *   home     $HOME + "/.cache/relayhound/hs", if an absolute path.
 * Returns 1 with the directory in out, 0 for no cache, -1 if the name
 * does not fit in outlen.
 */
int hscache_resolve_dir(const char *env, int enabled, const char *cfg_dir,
    const char *xdg, const char *home, char *out, size_t outlen);

#endif
