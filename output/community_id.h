/*
 * community_id.h - Community ID v1 flow hashes (corelight/community-id-spec).
 *
 * Contract: community_id_v1 writes "1:" + base64(SHA-1(seed, src ip, dst ip,
 * proto, 0, src port, dst port)) with the endpoints ordered as the spec says
 * (smaller address first, then smaller port), into out (at least
 * COMMUNITY_ID_LEN bytes, NUL-terminated).  ipver is 4 (4-byte addresses) or
 * 6 (16-byte addresses).  SHA-1 is implemented here (sha1_*): one small
 * function does not justify a crypto library dependency.
 */
#ifndef RH_COMMUNITY_ID_H
#define RH_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#define COMMUNITY_ID_LEN 32

void community_id_v1(int ipver, const uint8_t *saddr, const uint8_t *daddr,
    uint8_t proto, uint16_t sport, uint16_t dport, uint16_t seed, char *out);

struct sha1_ctx {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	uint32_t buflen;
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *p, size_t n);
void sha1_final(struct sha1_ctx *c, uint8_t out[20]);

#endif
