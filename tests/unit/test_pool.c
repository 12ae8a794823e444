/*
 * test_pool.c - pools hand out distinct objects up to their cap, count
 * refusals, and arenas return every block on reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/pool.h"
#include "tests/unit/check.h"

int
main(void)
{
	struct pool *p = pool_create(100, 130);
	struct pool_stats st;
	void *objs[130];
	struct arena a;
	char *s;
	int i;

	CHECK(p != NULL);
	CHECK(pool_create(0, 10) == NULL);
	for (i = 0; i < 130; i++) {
		objs[i] = pool_get(p);
		CHECK(objs[i] != NULL);
		memset(objs[i], i, 100);
	}
	CHECK(pool_get(p) == NULL);
	pool_stats_get(p, &st);
	CHECK_EQ_INT(st.in_use, 130);
	CHECK_EQ_INT(st.fails, 1);
	CHECK_EQ_INT(st.peak, 130);
	for (i = 0; i < 130; i++)
		CHECK(((uint8_t *)objs[i])[99] == (uint8_t)i);
	for (i = 0; i < 130; i++)
		pool_put(p, objs[i]);
	pool_stats_get(p, &st);
	CHECK_EQ_INT(st.in_use, 0);
	CHECK(pool_get(p) != NULL);
	pool_destroy(p);

	p = pool_create(1024, 4);
	arena_init(&a, p);
	s = arena_strndup(&a, "hello", 5);
	CHECK(s != NULL && strcmp(s, "hello") == 0);
	CHECK(arena_alloc(&a, 2000) == NULL);
	for (i = 0; i < 3 * 1000 / 8; i++)
		CHECK(arena_alloc(&a, 8) != NULL);
	pool_stats_get(p, &st);
	CHECK(st.in_use >= 3);
	while (arena_alloc(&a, 500) != NULL)
		;
	CHECK(a.fails >= 1);
	arena_reset(&a);
	pool_stats_get(p, &st);
	CHECK_EQ_INT(st.in_use, 0);

	/* an inline first chunk: no block until it is full, reused on reset */
	{
		_Alignas(8) uint8_t inl[64];
		char *x, *y, *z;

		arena_init_inline(&a, p, inl, sizeof(inl));
		x = arena_strndup(&a, "banner", 6);
		y = arena_alloc(&a, 40);
		CHECK(x == (char *)inl && y == (void *)(inl + 8));
		pool_stats_get(p, &st);
		CHECK_EQ_INT(st.in_use, 0);
		z = arena_alloc(&a, 24);         /* 48 + 24 > 64: a block */
		CHECK(z != NULL && (z < (char *)inl || z >= (char *)inl + 64));
		pool_stats_get(p, &st);
		CHECK_EQ_INT(st.in_use, 1);
		CHECK(arena_alloc(&a, 8) != (void *)(inl + 48)); /* stays in block */
		arena_reset(&a);
		pool_stats_get(p, &st);
		CHECK_EQ_INT(st.in_use, 0);
		CHECK(arena_alloc(&a, 8) == (void *)inl);
		arena_reset(&a);
	}
	pool_destroy(p);
	return CHECK_DONE();
}
