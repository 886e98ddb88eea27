/*
 * What the engine module's files share: paths under ROOT, atomic writes,
 * the state file's extra fields, the cgroup and process helpers the
 * supervisor is built from. Not installed.
 */
#ifndef COHETE_ENGINE_PRIV_H
#define COHETE_ENGINE_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/engine.h> instead"
#endif

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cohete/engine.h>

/* layout.c */

/* ROOT/engines/<model>[/<leaf>] into buf; -ENAMETOOLONG (err set). */
int coh__engine_path(char *buf, size_t size, const char *root, const char *model,
		     const char *leaf, struct pep_err *err);

/*
 * Write text to dir/name through a temporary file renamed over it, mode
 * 0644; with durable, fsync'd and the directory fsync'd too.
 */
int coh__engine_write_atomic(const char *dir, const char *name, const char *text,
			     size_t len, int durable, struct pep_err *err);

/*
 * Load ROOT/engines/<model>/<version>.json; st (may be NULL) gets the
 * file's stat (owner and mode, for the supervisor's trust check).
 */
int coh__engine_load_version(const char *root, const char *model, const char *version,
			     struct coh_engine_spec **out, struct stat *st,
			     struct pep_err *err);

/* state.c */

/* state.json as the supervisor keeps it: the public view and more. */
struct coh__engine_record {
	struct coh_engine_state st;
	unsigned long long start_ticks;	/* /proc/PID/stat field 22: who PID is */
};

int coh__engine_state_write(const char *root, const struct coh__engine_record *r,
			    struct pep_err *err);
int coh__engine_state_load(const char *root, const char *model,
			   struct coh__engine_record *r, struct pep_err *err);

/* cgroup.c: one engine's memory cgroup, <mount>/cohete/<model>. */
struct coh__cgroup {
	int version;			/* 2, 1; 0 = none (RSS polling) */
	char path[PATH_MAX];		/* the engine's cgroup directory */
};

/*
 * Find the mount memory limits go to (opts->cgroup_mount's rules) and
 * make <mount>/cohete in it. mount gets the mount ("" for none) and the
 * return value is its version (2, 1) or 0 with why saying what was tried.
 */
int coh__cgroup_find(const char *want, char *mount, size_t size, char *why,
		     size_t why_size);

/*
 * Make (or reuse) <mount>/cohete/<model> with limit bytes (swap included
 * where the controller can) and open its cgroup.procs for writing
 * (*procs_fd, O_CLOEXEC): the child writes itself there before exec.
 */
int coh__cgroup_prepare(struct coh__cgroup *cg, int version, const char *mount,
			const char *model, uint64_t limit, int *procs_fd,
			struct pep_err *err);

/* Times the kernel's OOM killer acted in the cgroup; -1 when unknown. */
long coh__cgroup_oom_kills(const struct coh__cgroup *cg);

/* Remove the engine's cgroup once it is empty (best effort). */
void coh__cgroup_remove(struct coh__cgroup *cg);

/* launch.c */

struct coh__launch {
	const struct coh_engine_spec *spec;
	const char *root;		/* cwd */
	int log_fd;			/* stdout and stderr, O_APPEND */
	int cgroup_fd;			/* cgroup.procs, or -1 */
	uid_t uid;			/* run as (when we are root and it differs) */
	gid_t gid;
	const gid_t *groups;
	int ngroups;
};

/* Fork and exec; 0 and *pid (a session and group leader), or -errno with
 * err saying why the exec failed ("llama-server: not found in PATH"). */
int coh__engine_launch(const struct coh__launch *l, pid_t *pid, struct pep_err *err);

/*
 * unit.c: the engine as the transient systemd unit cohete-serve@MODEL
 * (systemd-run; MemoryMax= its budget; output appended to log_path);
 * *pid its main process. available: systemd runs here, with systemd-run
 * and systemctl. result: why the unit ended, when systemd says more than
 * "success" ("" otherwise). forget: stop it and clear its failure.
 */
int coh__unit_available(void);
void coh__unit_name(const char *model, char *out, size_t size);
int coh__unit_start(const char *model, const struct coh__launch *l,
		    const char *log_path, pid_t *pid, struct pep_err *err);
void coh__unit_result(const char *model, char *out, size_t size);
void coh__unit_forget(const char *model);

/* /proc/PID/stat: its process group and start time; -ESRCH when gone or
 * a zombie. */
int coh__proc_identity(pid_t pid, pid_t *pgrp, unsigned long long *start_ticks);

/* Whether /proc/PID/cmdline is argv (or a script interpreter running
 * argv[0], found at path). 1, 0, or -ESRCH. */
int coh__proc_cmdline_is(pid_t pid, const char *const *argv, const char *path);

/*
 * The resident memory of process groups groups[0..n) into rss[] (bytes),
 * from one pass over /proc.
 */
void coh__proc_group_rss(const pid_t *groups, uint64_t *rss, size_t n);

/* The last line of a log that is not ours ("cohete: ..."), cleaned of
 * control characters, into out; "" when there is none. */
void coh__log_last_line(const char *path, char *out, size_t size);

/* Copy path to path.1 and truncate path when it is over max bytes. */
int coh__log_rotate(const char *path, uint64_t max);

/* probe.c: coh_engine_probe() that a flag may cut short. */
int coh__engine_probe(const char *host, uint32_t port, unsigned int timeout_ms,
		      const atomic_int *cancel, char *why, size_t size);

#endif /* COHETE_ENGINE_PRIV_H */
