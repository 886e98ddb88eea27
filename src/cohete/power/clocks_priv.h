/*
 * What the jetson_clocks files share: the runner (clocks.c), used by the
 * store file's --store and --restore; the state directory and store file
 * checks (clocks_store.c), used before pinning; the empty result the
 * parser starts from (clocks_show.c). Not installed.
 */
#ifndef COHETE_POWER_CLOCKS_PRIV_H
#define COHETE_POWER_CLOCKS_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/power.h> instead"
#endif

#include <stddef.h>

#include <pepita/proc.h>
#include <cohete/power.h>

/* out with every reading unknown (COH_NA) and nothing present. */
void coh__clocks_init(struct coh_clocks *out);

/*
 * Run jetson_clocks (opts->program) with up to three arguments (args ends
 * with NULL). On success r holds its output, the caller frees it with
 * pep_proc_result_free(); on failure it is freed and err says why.
 */
int coh__clocks_run(const struct coh_sysroot *sr, const struct coh_clocks_opts *o,
		    const char *const *args, struct pep_proc_result *r,
		    struct pep_err *err);

/*
 * The state directory, made (0700) when create is set and it is absent,
 * then checked: a directory, owned by this user, writable by nobody else.
 */
int coh__clocks_state_dir_ready(const struct coh_clocks_opts *o, int create,
				struct pep_err *err);

/*
 * The store file under the state directory into path; -EPERM when file
 * (NULL or "" = that one) names any other.
 */
int coh__clocks_own_store_file(const struct coh_clocks_opts *o, const char *file,
			       char *path, size_t size, struct pep_err *err);

#endif
