/*
 * fleet_priv.h - what the fleet module's files share. Not installed.
 */
#ifndef COHETE_FLEET_PRIV_H
#define COHETE_FLEET_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/fleet.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <cohete/fleet.h>

/* ---- fetch.c, build.c: sources over http(s) and the build ---- */

/* An http(s) model's shape (from its header; *tensors malloc'd) and
 * digest: the file's sha256, the server's, or "" (named at build). */
int coh__fleet_head_model(const struct coh_config_model *m,
			  const struct coh_fleet_fetch_opts *fetch,
			  struct coh_fleet_head **head,
			  struct coh_model_shape *shape,
			  struct coh_quant_tensor **tensors,
			  char digest[COH_FLEET_SHA256_HEX], struct pep_err *err);

/* plan.c: an item's digest, artifact, path, port and argv from the
 * source's digest; -ENOMEM, or 0 with it->error set when no name fits. */
int coh__fleet_place(struct coh_fleet_plan_item *it,
		     const struct coh_config *cfg, const char *digest);

#endif /* COHETE_FLEET_PRIV_H */
