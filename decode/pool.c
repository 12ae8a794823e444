/*
 * pool.c - slab-backed free-list pools and the arenas built on them.
 *
 * Design: slabs of POOL_SLAB_OBJS objects are malloc'ed on demand until the
 * cap, and never returned to the system before pool_destroy; objects go back
 * to a LIFO free list (hot in cache).  Rejected: preallocating the whole cap
 * at start (a 1 GiB reassembly cap would be resident for an idle sensor) and
 * a global allocator with locks (workers own their memory).
 */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_SLAB_OBJS 64

struct pool_slab {
	struct pool_slab *next;
};

struct pool_free {
	struct pool_free *next;
};

struct pool {
	size_t obj_size;
	size_t max_objs;
	size_t allocated;       /* objects carved from slabs (or malloced) */
	int use_malloc;
	struct pool_free *free;
	struct pool_slab *slabs;
	struct pool_stats st;
};

struct pool *
pool_create(size_t obj_size, size_t max_objs)
{
	struct pool *p;
	const char *dbg;

	if (obj_size == 0 || max_objs == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	if (obj_size < sizeof(struct pool_free))
		obj_size = sizeof(struct pool_free);
	obj_size = (obj_size + 15) & ~(size_t)15;
	p->obj_size = obj_size;
	p->max_objs = max_objs;
	dbg = getenv("RH_POOL_MALLOC");
	p->use_malloc = dbg != NULL && dbg[0] == '1';
	p->st.cap = max_objs;
	p->st.obj_size = obj_size;
	return p;
}

void
pool_destroy(struct pool *p)
{
	struct pool_slab *s, *n;
	struct pool_free *f, *fn;

	if (p == NULL)
		return;
	if (p->use_malloc) {
		for (f = p->free; f != NULL; f = fn) {
			fn = f->next;
			free(f);
		}
	}
	for (s = p->slabs; s != NULL; s = n) {
		n = s->next;
		free(s);
	}
	free(p);
}

static int
pool_grow(struct pool *p)
{
	size_t n = POOL_SLAB_OBJS, i;
	struct pool_slab *s;
	uint8_t *base;

	if (p->allocated >= p->max_objs)
		return -1;
	if (n > p->max_objs - p->allocated)
		n = p->max_objs - p->allocated;
	s = malloc(16 + n * p->obj_size);
	if (s == NULL)
		return -1;
	s->next = p->slabs;
	p->slabs = s;
	base = (uint8_t *)s + 16;
	for (i = 0; i < n; i++) {
		struct pool_free *f = (struct pool_free *)(base + i * p->obj_size);
		f->next = p->free;
		p->free = f;
	}
	p->allocated += n;
	return 0;
}

void *
pool_get(struct pool *p)
{
	struct pool_free *f;

	if (p->use_malloc) {
		if (p->st.in_use >= p->max_objs) {
			p->st.fails++;
			return NULL;
		}
		f = malloc(p->obj_size);
		if (f == NULL) {
			p->st.fails++;
			return NULL;
		}
	} else {
		if (p->free == NULL && pool_grow(p) != 0) {
			p->st.fails++;
			return NULL;
		}
		f = p->free;
		p->free = f->next;
	}
	p->st.in_use++;
	if (p->st.in_use > p->st.peak)
		p->st.peak = p->st.in_use;
	return f;
}

void
pool_put(struct pool *p, void *obj)
{
	struct pool_free *f = obj;

	if (obj == NULL)
		return;
	p->st.in_use--;
	if (p->use_malloc) {
		free(obj);
		return;
	}
	f->next = p->free;
	p->free = f;
}

void
pool_stats_get(const struct pool *p, struct pool_stats *st)
{
	*st = p->st;
}

size_t
pool_obj_size(const struct pool *p)
{
	return p->obj_size;
}

/* Arena blocks: a header then payload, each block one pool object. */
struct arena_block {
	struct arena_block *prev;
	uint64_t pad;
};

#define ARENA_HDR sizeof(struct arena_block)

void
arena_init(struct arena *a, struct pool *block_pool)
{
	memset(a, 0, sizeof(*a));
	a->pool = block_pool;
}

void
arena_init_inline(struct arena *a, struct pool *block_pool, void *buf,
    size_t len)
{
	arena_init(a, block_pool);
	a->inl = buf;
	a->inl_cap = (uint32_t)(len & ~(size_t)7);
}

static void
arena_fail(struct arena *a)
{
	if (a->fails < UINT32_MAX)
		a->fails++;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	size_t cap = pool_obj_size(a->pool) - ARENA_HDR;
	struct arena_block *b;
	void *r;

	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	if (a->head == NULL && a->inl != NULL && n <= a->inl_cap - a->inl_used) {
		r = a->inl + a->inl_used;
		a->inl_used += (uint32_t)n;
		return r;
	}
	if (n > cap) {
		arena_fail(a);
		return NULL;
	}
	if (a->head == NULL || a->used + n > cap) {
		b = pool_get(a->pool);
		if (b == NULL) {
			arena_fail(a);
			return NULL;
		}
		b->prev = a->head;
		a->head = b;
		a->used = 0;
	}
	r = (uint8_t *)a->head + ARENA_HDR + a->used;
	a->used += (uint32_t)n;
	return r;
}

char *
arena_strndup(struct arena *a, const void *bytes, size_t n)
{
	char *s = arena_alloc(a, n + 1);

	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, bytes, n);
	s[n] = '\0';
	return s;
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b, *prev;

	for (b = a->head; b != NULL; b = prev) {
		prev = b->prev;
		pool_put(a->pool, b);
	}
	a->head = NULL;
	a->used = 0;
	a->inl_used = 0;
}
