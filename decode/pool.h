/*
 * pool.h - per-worker fixed-size object pools and block arenas.
 *
 * Contract: a pool belongs to one worker thread and is never shared, so it
 * takes no locks.  Objects of one size are handed out from a free list; when
 * the list is empty the pool grows by a slab of objects (one malloc per
 * slab, amortised, bounded by `max_objs`), so the per-packet path never calls
 * malloc in steady state.  Hitting `max_objs` makes pool_get return NULL and
 * counts a failure: callers must treat NULL as "memory cap reached" and
 * report it (an anomaly or a counter), never as fatal.
 *
 * When the environment variable RH_POOL_MALLOC is set to 1 at pool creation
 * every object is its own malloc/free, so AddressSanitizer sees each one
 * (the nginx/Suricata debug-pool idea).
 *
 * An arena is a bump allocator over blocks taken from a pool: cheap
 * per-message scratch (strings of one SMTP transaction) released all at once
 * with arena_reset.  A single allocation larger than the pool's object size
 * fails; so do allocations once the pool's cap is hit.  An arena may start
 * in a buffer of its owner (arena_init_inline): the SMTP session strings
 * that outgrow the session live in an arena that starts in the rest of the
 * block holding their header.
 */
#ifndef RH_POOL_H
#define RH_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pool;

struct pool_stats {
	uint64_t in_use;     /* objects handed out now */
	uint64_t peak;       /* highest in_use seen */
	uint64_t cap;        /* max_objs */
	uint64_t obj_size;   /* bytes per object */
	uint64_t fails;      /* pool_get calls refused by the cap */
};

/* NULL on bad arguments or when the first slab cannot be allocated. */
struct pool *pool_create(size_t obj_size, size_t max_objs);
void pool_destroy(struct pool *p);
/* An object of obj_size bytes (not zeroed), or NULL at the cap. */
void *pool_get(struct pool *p);
void pool_put(struct pool *p, void *obj);
void pool_stats_get(const struct pool *p, struct pool_stats *st);
size_t pool_obj_size(const struct pool *p);

struct arena_block;

struct arena {
	struct pool *pool;          /* where blocks come from */
	struct arena_block *head;   /* newest block */
	uint8_t *inl;               /* optional first chunk owned by the caller */
	uint32_t used;              /* bytes used in head */
	uint32_t inl_cap, inl_used;
	uint32_t fails;             /* allocations refused (saturating) */
};

void arena_init(struct arena *a, struct pool *block_pool);
/* The same, with buf[0..len) (8-aligned, owned by the caller) used before
 * any pool block: a small object's few strings then cost no block. */
void arena_init_inline(struct arena *a, struct pool *block_pool, void *buf,
    size_t len);
/* n bytes aligned to 8, or NULL (n too large for a block, or pool cap). */
void *arena_alloc(struct arena *a, size_t n);
/* Copy of bytes[0..n) with a terminating NUL, or NULL. */
char *arena_strndup(struct arena *a, const void *bytes, size_t n);
/* Return every block to the pool. */
void arena_reset(struct arena *a);

#endif
