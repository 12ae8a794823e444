/*
 * source.h - packets in: pcap/pcapng files (or stdin) and live interfaces.
 *
 * Contract: a source hands out one captured frame at a time, filling the
 * input part of a struct pkt (ts_us, frame, caplen, wirelen, linktype).
 * The frame memory belongs to the source and stays valid only until the
 * next source_next call.  Files are opened with fopen and a 4 MiB stdio
 * buffer passed to pcap_fopen_offline (the default 4 KiB reads are
 * syscall-bound: 3x slower, platform.md); libpcap reads both pcap and pcapng
 * (first section's link type).  Every error comes back as a one-line reason
 * in `err`, never printed here.
 */
#ifndef RH_SOURCE_H
#define RH_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/pkt.h"

struct source;

/* A capture file, or standard input for "-".  NULL with err on failure. */
struct source *source_open_file(const char *path, char *err, size_t errlen);
/* A live interface (promiscuous, snaplen 262144).  NULL with err. */
struct source *source_open_live(const char *iface, char *err, size_t errlen);

int source_linktype(const struct source *s);
const char *source_name(const struct source *s);

/*
 * The next frame: 1 and *p filled, 0 at the end of the file, -1 on an
 * error (truncated or corrupt file, interface down) with the reason in err.
 */
int source_next(struct source *s, struct pkt *p, char *err, size_t errlen);

/* Stop a live capture from another thread or a signal handler. */
void source_break(struct source *s);

/* Kernel/NIC drops of a live capture (0 for files). */
uint64_t source_drops(struct source *s);

void source_close(struct source *s);

#endif
