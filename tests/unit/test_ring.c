/*
 * test_ring.c - the SPSC ring delivers every record, in order, with its
 * payload intact, across wrap-around and with a real second thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/ring.h"
#include "tests/unit/check.h"

#define N 200000

static struct ring r;
static int consumer_bad;
static uint64_t consumer_count;

static void *
consumer(void *arg)
{
	struct pkt p;
	uint64_t expect = 0;
	int rc;

	(void)arg;
	for (;;) {
		rc = ring_spsc_consume_pkt(&r, &p);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		if (p.seq != expect || p.payload_len != expect % 1500)
			consumer_bad++;
		for (uint32_t i = 0; i < p.payload_len; i++)
			if (p.payload[i] != (uint8_t)(expect + i))
				consumer_bad++;
		expect++;
		ring_spsc_consume_release(&r);
	}
	consumer_count = expect;
	return NULL;
}

int
main(void)
{
	pthread_t t;
	struct pkt p;
	static uint8_t buf[1500];
	uint64_t i;

	CHECK(ring_init(&r, 1) == 0);
	CHECK(pthread_create(&t, NULL, consumer, NULL) == 0);
	for (i = 0; i < N; i++) {
		memset(&p, 0, sizeof(p));
		p.seq = (uint32_t)i;
		p.payload_len = (uint32_t)(i % 1500);
		for (uint32_t j = 0; j < p.payload_len; j++)
			buf[j] = (uint8_t)(i + j);
		p.payload = buf;
		if (ring_spsc_produce_pkt(&r, &p) != 0)
			CHECK(0);
	}
	ring_spsc_produce_close(&r);
	pthread_join(t, NULL);
	CHECK_EQ_INT(consumer_count, N);
	CHECK_EQ_INT(consumer_bad, 0);
	memset(&p, 0, sizeof(p));
	p.payload_len = (uint32_t)r.size;
	p.payload = buf;
	CHECK(ring_spsc_produce_pkt(&r, &p) == -1);
	ring_free(&r);
	return CHECK_DONE();
}
