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

/*
 * digest.c: a local file's sha256 (64 hex), from the build cache's record
 * while the file's device, inode, size, mtime and ctime are unchanged,
 * else hashed (and recorded). 0 or -errno with err naming the file.
 */
int coh__digest_file(const char *path, char hex[COH_FLEET_SHA256_HEX],
		     struct pep_err *err);

/*
 * A deploy's shared ssh connections: mux_open makes a private directory
 * for the control sockets and gives out = in with the options that share
 * one connection per device; mux_close ends the masters and removes it.
 */
#define MUX_OPTIONS_MAX	48

struct coh__mux {
	char dir[64];
	char path_opt[96];
	const char *opts[MUX_OPTIONS_MAX];
};

int coh__mux_open(struct coh__mux *m, const struct coh_fleet_remote *in,
		  struct coh_fleet_remote *out);
void coh__mux_close(struct coh__mux *m, const struct coh_config *cfg,
		    const struct coh_fleet_remote *r);

#endif /* COHETE_FLEET_PRIV_H */
