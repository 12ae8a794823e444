/*
 * ceiling.c - the throughput ceiling the benchmark compares relayhound with.
 *
 *   rh-ceiling FILE.pcap      read every frame, touch every byte, print JSON
 *   rh-ceiling --sizes        print the per-flow state sizes, as JSON
 *
 * What: the cheapest program that does what relayhound cannot avoid doing:
 * read the capture through the very same code (capture/source.c, libpcap on
 * a FILE with a 4 MiB stdio buffer) and load every captured byte once.  The
 * bytes are folded into a checksum that is stored to a volatile, so the
 * compiler cannot drop the loads.  Output, one line on stdout:
 *   {"bytes":B,"packets":P,"seconds":S,"gbps":G,"checksum":X}
 * where bytes is the sum of the captured frame lengths (no pcap record
 * headers) and seconds is the time of the read loop alone.
 *
 * Why this way: relayhound's figures are only meaningful next to what the
 * machine can do with the same input path (platform.md: 4.8 GB/s touching
 * every byte against 6.25 GB/s not touching them).  The fold adds 64-bit
 * words (memcpy loads, which the compiler vectorises) and the tail bytes one
 * by one: every byte is read, and nothing else is done.
 *
 * Rejected: mmap of the whole file (relayhound does not read that way, so it
 * would measure a different ceiling); pcap_dispatch callbacks (not the path
 * relayhound uses); xor per byte (a byte loop is slower than what any real
 * parser needs to look at each byte, which would flatter the ratio).
 *
 * --sizes reports sizeof(struct flow) (flow table entry, with the TCP state
 * of both directions embedded) and smtp_session_size() (allocated per SMTP
 * flow), so the benchmark can print the state each tracked flow costs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../capture/source.h"
#include "../decode/flow.h"
#include "../decode/smtp.h"

static volatile uint64_t ceiling_sink;

static double
ceiling_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
ceiling_touch(const uint8_t *d, uint32_t n)
{
	uint64_t a = 0, b = 0, w0, w1;
	uint32_t i = 0;

	for (; i + 16 <= n; i += 16) {
		memcpy(&w0, d + i, 8);
		memcpy(&w1, d + i + 8, 8);
		a += w0;
		b += w1;
	}
	for (; i < n; i++)
		a += d[i];
	return a ^ (b << 1);
}

int
main(int argc, char **argv)
{
	struct source *s;
	struct pkt p;
	char err[512];
	uint64_t bytes = 0, packets = 0, sum = 0;
	double t0, t1;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--sizes") == 0) {
		printf("{\"flow\":%zu,\"tcp_conn\":%zu,\"smtp_session\":%zu}\n",
		    sizeof(struct flow), sizeof(struct tcp_conn),
		    smtp_session_size());
		return 0;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
		fprintf(stderr, "usage: rh-ceiling FILE.pcap | --sizes\n");
		return 2;
	}
	s = source_open_file(argv[1], err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "rh-ceiling: %s: %s\n", argv[1], err);
		return 1;
	}
	t0 = ceiling_now();
	while ((rc = source_next(s, &p, err, sizeof(err))) == 1) {
		sum += ceiling_touch(p.frame, p.caplen);
		bytes += p.caplen;
		packets++;
	}
	t1 = ceiling_now();
	ceiling_sink = sum;
	source_close(s);
	if (rc < 0) {
		fprintf(stderr, "rh-ceiling: %s: %s\n", argv[1], err);
		return 1;
	}
	printf("{\"bytes\":%llu,\"packets\":%llu,\"seconds\":%.6f,"
	    "\"gbps\":%.3f,\"checksum\":%llu}\n",
	    (unsigned long long)bytes, (unsigned long long)packets, t1 - t0,
	    t1 > t0 ? (double)bytes * 8 / (t1 - t0) / 1e9 : 0.0,
	    (unsigned long long)sum);
	return 0;
}
