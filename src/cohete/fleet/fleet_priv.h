/*
 * fleet_priv.h - what the fleet module's files share: a streaming
 * SHA-256. Not installed.
 */
#ifndef COHETE_FLEET_PRIV_H
#define COHETE_FLEET_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/fleet.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <cohete/fleet.h>

struct coh__sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes so far */
	uint8_t block[64];
	size_t used;			/* bytes in block */
};

void coh__sha256_init(struct coh__sha256 *s);
void coh__sha256_update(struct coh__sha256 *s, const void *buf, size_t len);
void coh__sha256_final(struct coh__sha256 *s, char hex[COH_FLEET_SHA256_HEX]);

#endif /* COHETE_FLEET_PRIV_H */
