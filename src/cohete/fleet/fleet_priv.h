/*
 * fleet_priv.h - what the fleet module's files share. Not installed.
 */
#ifndef COHETE_FLEET_PRIV_H
#define COHETE_FLEET_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/fleet.h> instead"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/fleet.h>

/* ---- remote.c: `cohete engine ...` on a device over ssh ---- */

struct pep_proc_result;

#define SSH_ARGV_MAX	96

/* ssh's argv up to (and with with_host) "--" HOST; two slots left free. */
struct coh__ssh_argv {
	const char *v[SSH_ARGV_MAX];
	size_t n;
	char timeout[32];
	char port[8];
};

void coh__remote_ssh_argv(const struct coh_fleet_remote *r,
			  const struct coh_config_device *d,
			  struct coh__ssh_argv *a, bool with_host);
char *coh__remote_line(const struct coh_fleet_remote *r,
		       const char *const *words);
void coh__remote_last_line(const char *text, char *out, size_t size);
void coh__remote_reason(const struct pep_proc_result *res, char *out,
			size_t size);
int coh__remote_run(const struct coh_fleet_remote *r,
		    const struct coh_config_device *d,
		    const char *const *words, const void *in, size_t in_len,
		    uint32_t timeout_ms, struct pep_proc_result *res,
		    struct pep_err *err);

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
