/*
 * cohete/engine.h - the inference engines a device runs (llama-server),
 * one per model, as `cohete deploy` leaves them and `cohete agent`
 * supervises them.
 *
 * Layout under ROOT (the config's storage.models_dir):
 *
 *	ROOT/<artifact>				model files ("<model>-<LEVEL>-<16hex>.gguf")
 *	ROOT/.incoming/<artifact>.part		partial transfers
 *	ROOT/engines/<model>/<version>.json	one engine spec per version
 *	ROOT/engines/<model>/active		symlink -> "<version>.json": what runs
 *	ROOT/engines/<model>/previous		symlink: what ran before (rollback)
 *	ROOT/engines/<model>/candidate		symlink, during a deploy: what runs
 *						instead of active until promoted
 *						or past its deadline
 *	ROOT/engines/<model>/state.json		the supervisor's view (tmp+rename)
 *	ROOT/engines/<model>/engine.log		the engine's stdout and stderr,
 *						rotated to engine.log.1 at 4 MiB
 *
 * A version is "<artifact stem>-<8 hex>": the hex starts the SHA-256 of the
 * spec's JSON (coh_engine_spec_json) with the deadline left out, so a
 * changed command line is a new version and a new deadline is not.
 *
 * Links change by rename(2) of a new symlink over the old one, so a reader
 * sees the old target or the new one, never none.
 *
 * The supervisor (one per agent, driven by the agent's sampler) runs, for
 * each model directory, the candidate while it has one whose deadline has
 * not passed, else the active version: one engine per model at a time, in
 * its own session and process group, with the spec's memory limit through
 * a cgroup (v2, or v1's memory controller, whichever is writable), or by
 * polling the group's RSS where there is none. See
 * coh_engine_supervisor_tick() for the rules.
 *
 * Threading: the spec and layout functions are reentrant (distinct
 * processes may use the same ROOT: every change is one rename). A
 * supervisor is driven from one thread; coh_engine_supervisor_list()
 * may be called from any thread.
 */
#ifndef COHETE_ENGINE_H
#define COHETE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_ENGINE_SCHEMA	"cohete.engine/1"
#define COH_ENGINE_STATE_SCHEMA	"cohete.engine.state/1"
#define COH_ENGINE_NAME_MAX	64	/* a model name, with its NUL */
#define COH_ENGINE_VERSION_MAX	128	/* a version, with its NUL */
#define COH_ENGINE_ARTIFACT_MAX	128	/* an artifact name, with its NUL */
#define COH_ENGINE_ARGV_MAX	256	/* words of a command line */
#define COH_ENGINE_ARG_MAX	4096	/* bytes of one word */
#define COH_ENGINE_SPEC_MAX	(64 * 1024)	/* bytes of a spec file */
#define COH_ENGINE_LOG_MAX	(4u << 20)	/* engine.log rotates past this */
#define COH_ENGINE_STOP_MS	10000	/* SIGTERM, this long, then SIGKILL */
#define COH_ENGINE_BACKOFF_MAX_S 30	/* restarts wait 1, 2, 4 .. 30 s */
#define COH_ENGINE_DEFAULT_ROOT	"/var/lib/cohete/models"

/*
 * One engine version. All strings are malloc'd and owned by the spec;
 * argv has argc words and a NULL after them.
 */
struct coh_engine_spec {
	char *model;			/* a safe file name: [A-Za-z0-9._-], not
					   "." or "..", < COH_ENGINE_NAME_MAX */
	char *artifact;			/* likewise, < COH_ENGINE_ARTIFACT_MAX */
	char *sha256;			/* of the artifact: 64 lower-case hex */
	char *level;			/* "Q4_K_M" */
	char *host;			/* where the engine listens: "127.0.0.1",
					   "0.0.0.0" (probed on loopback) */
	uint32_t port;			/* 1..65535 */
	char **argv;			/* argv[0]: "llama-server" (from PATH)
					   or an absolute path */
	size_t argc;			/* 1..COH_ENGINE_ARGV_MAX */
	uint64_t memory_max_bytes;	/* 0 = no limit */
	int64_t deadline;		/* unix seconds; candidates only, 0 = none */
};

/*
 * Parse a spec ("schema": COH_ENGINE_SCHEMA) strictly: every field above
 * present (deadline and memory_max_bytes may be absent: 0) and of its
 * type and range; unknown keys are ignored. Returns 0 and *out (free with
 * coh_engine_spec_free), -EINVAL with the field named in err ("spec:
 * \"port\": 70000 is not 1..65535"), or -ENOMEM.
 */
COH_API int coh_engine_spec_parse(const char *json, size_t len,
				  struct coh_engine_spec **out,
				  struct pep_err *err);

/*
 * The spec as JSON, keys in the order above, two-space indented, ending
 * in a newline; "deadline" only when not 0. malloc'd; NULL on ENOMEM. It
 * parses back to the same spec.
 */
COH_API char *coh_engine_spec_json(const struct coh_engine_spec *s);

/* NULL does nothing. */
COH_API void coh_engine_spec_free(struct coh_engine_spec *s);

/*
 * Whether name may be a model, artifact or version: 1..size-1 bytes of
 * [A-Za-z0-9._-], not "." or "..". 1 or 0. Any thread.
 */
COH_API int coh_engine_name_ok(const char *name, size_t size);

/*
 * The spec's version, "<artifact stem>-<8 hex>" (the stem: the artifact
 * without its last ".ext"), into version (snprintf semantics). 0,
 * -ENOSPC when size is too small, -ENOMEM.
 */
COH_API int coh_engine_spec_version(const struct coh_engine_spec *s,
				    char *version, size_t size);

/*
 * Write ROOT/engines/<model>/<version>.json (made with its directories if
 * absent, 0755; a temporary file fsync'd and renamed over, the directory
 * fsync'd) and put the version in version. Storing a version again
 * replaces its file (a new deadline). 0, -EINVAL (a spec that would not
 * parse back), -ENOSPC (version too small), or the -errno of the file
 * system with the path in err.
 */
COH_API int coh_engine_store(const char *root, const struct coh_engine_spec *s,
			     char *version, size_t size, struct pep_err *err);

/*
 * Point ROOT/engines/<model>/<which> ("active", "previous" or "candidate")
 * at "<version>.json", or remove the link when version is NULL (no link
 * is no error). The new link is made under a temporary name and renamed
 * over the old one. 0, -EINVAL (a bad which, model or version), -ENOENT
 * (no such version stored), or the -errno of the file system.
 */
COH_API int coh_engine_link(const char *root, const char *model,
			    const char *which, const char *version,
			    struct pep_err *err);

/*
 * The version ROOT/engines/<model>/<which> points at. 0, -ENOENT (no
 * link), -EINVAL (it points at something that is not "<version>.json"),
 * -ENOSPC (size too small).
 */
COH_API int coh_engine_read_link(const char *root, const char *model,
				 const char *which, char *version, size_t size);

/*
 * Load the spec <which> points at. 0 and *out, -ENOENT (no link, or a link
 * to a missing file: err says which), -EINVAL (a bad spec, or one whose
 * model is not the directory's), -EFBIG (over COH_ENGINE_SPEC_MAX), -ENOMEM.
 */
COH_API int coh_engine_load(const char *root, const char *model,
			    const char *which, struct coh_engine_spec **out,
			    struct pep_err *err);

/*
 * Make the candidate active: previous <- active (unless active already
 * is the candidate), active <- candidate, candidate removed. Each step is
 * one rename, so a crash between any two leaves a valid active, and
 * running promote again finishes the job. 0, -ENOENT (no candidate).
 */
COH_API int coh_engine_promote(const char *root, const char *model,
			       struct pep_err *err);

/*
 * Swap active and previous: active <- previous first, then previous <- the
 * old active (a crash in between leaves both on the rolled-back version).
 * A candidate is left as it is. 0, -ENOENT (no previous, or no active).
 */
COH_API int coh_engine_rollback(const char *root, const char *model,
				struct pep_err *err);

/*
 * The model directories under ROOT/engines (safe names only), sorted. 0
 * with *names (free with coh_engine_models_free) and *count; no engines
 * directory is 0 models. -errno of opendir otherwise, -ENOMEM.
 */
COH_API int coh_engine_models(const char *root, char ***names, size_t *count);
COH_API void coh_engine_models_free(char **names, size_t count);

enum coh_engine_run {
	COH_ENGINE_STOPPED,		/* nothing runs: no version, or stopped */
	COH_ENGINE_STARTING,		/* running, not yet answering */
	COH_ENGINE_READY,		/* answered /health and a completion */
	COH_ENGINE_FAILED,		/* exited or killed; reason says why */
	COH_ENGINE_PAUSED,		/* stopped by the thermal breaker */
};

/* What the supervisor knows of one model's engine (state.json). */
struct coh_engine_state {
	char model[COH_ENGINE_NAME_MAX];
	char version[COH_ENGINE_VERSION_MAX];	/* what runs or ran; "" none */
	char which[16];			/* "active", "candidate" or "" */
	enum coh_engine_run run;
	int pid;			/* the engine (its process group); 0 */
	unsigned int restarts;		/* after failures, since the agent
					   first started this model */
	int64_t since;			/* unix seconds: when run last changed */
	uint64_t rss_bytes;		/* the group's resident memory; 0 */
	uint32_t port;
	char reason[256];		/* why FAILED or not yet READY; "" */
};

/*
 * Read ROOT/engines/<model>/state.json. 0, -ENOENT (none yet), -EINVAL
 * (not a state document: err says what is wrong).
 */
COH_API int coh_engine_state_read(const char *root, const char *model,
				  struct coh_engine_state *st,
				  struct pep_err *err);

/* "stopped", "starting", "ready", "failed", "paused"; "unknown". */
COH_API const char *coh_engine_run_name(enum coh_engine_run r);

/*
 * The readiness check llama-server passes once its model is loaded: GET
 * http://HOST:PORT/health answers 200, then POST /v1/completions
 * {"prompt":"1","max_tokens":1} answers 200 with a "choices" array. Each
 * request has timeout_ms; proxies from the environment are not used.
 * HOST "0.0.0.0" and "::" are probed on loopback. 0, or -ECONNREFUSED,
 * -ETIMEDOUT, -EBUSY (503: loading), -EPROTO (another status, or no
 * choices), -EIO, with why filled: "GET /health: 503 Loading model",
 * "connect: Connection refused". Any thread.
 */
COH_API int coh_engine_probe(const char *host, uint32_t port,
			     unsigned int timeout_ms, char *why, size_t size);

/* The supervisor */

struct coh_engine_supervisor;		/* opaque: the engines it runs */

/* One event, without a newline: "engine tiny: ready (pid 4242, 1.2 s)". */
typedef void (*coh_engine_log_fn)(const char *line, void *arg);

/* All-zero means defaults; strings are copied. */
enum coh_engine_launch {
	COH_ENGINE_LAUNCH_AUTO = 0,
	COH_ENGINE_LAUNCH_CHILD,	/* fork/exec, cgroup or RSS limit */
	COH_ENGINE_LAUNCH_UNITS,	/* systemd-run: cohete-serve@MODEL */
};

struct coh_engine_supervisor_opts {
	const char *root;		/* ROOT; required */
	coh_engine_log_fn log;		/* NULL = no log */
	void *log_arg;
	/* An engine's process group started (or adopted) and gone; for the
	 * thermal breaker. Called from the tick's thread. */
	void (*on_start)(int pgid, void *arg);
	void (*on_stop)(int pgid, void *arg);
	void *arg;
	/* Where memory limits go: NULL = the first writable cgroup v2 mount
	 * with the memory controller, else cgroup v1's memory hierarchy
	 * (from /proc/self/mounts), each as <mount>/cohete/<model>; "" =
	 * none, the group's RSS is polled each tick instead; a path = that
	 * cgroup mount. */
	const char *cgroup_mount;
	unsigned int probe_timeout_ms;	/* per request; 0 = 10000 */
	/* How an engine runs: AUTO, as the systemd unit cohete-serve@MODEL
	 * (MemoryMax= its budget) where systemd runs (/run/systemd/system,
	 * systemd-run), else as our own child; UNITS requires systemd. */
	enum coh_engine_launch launcher;
};

/*
 * Make a supervisor over opts->root; nothing starts until the first tick.
 * 0, -EINVAL (no root), -ENOMEM.
 */
COH_API int coh_engine_supervisor_create(struct coh_engine_supervisor **out,
					 const struct coh_engine_supervisor_opts *opts,
					 struct pep_err *err);

/*
 * One pass over ROOT/engines at now_ms (a monotonic clock, as
 * pep_time_ns() / 1000000): for each model, run what should run.
 *
 * - desired = the candidate while it has one and its deadline has not
 *   passed, else active. An expired candidate link is removed ("engine M:
 *   candidate V expired; back to V0").
 * - Running something else: stop it (on_stop, SIGTERM to its group,
 *   SIGKILL after COH_ENGINE_STOP_MS), then start desired; never two
 *   engines of one model at once.
 * - Start: fork and exec in a session and process group of its own,
 *   stdout and stderr appended to engine.log, cwd ROOT, every signal at
 *   its default and unblocked; the memory limit set; on_start(pgid). A
 *   spec file, its directory or engines/ that someone else may write is
 *   not started. An agent running as root runs an engine whose spec file
 *   belongs to another user as that user.
 * - STARTING: probed (coh_engine_probe) in a thread of its own, at most
 *   one at a time per engine; READY once a probe passes.
 * - An engine that exits is FAILED with its exit status and the last line
 *   of engine.log (or "over its memory budget" when the cgroup's OOM
 *   killer or the RSS poll killed it), and restarted after 1, 2, 4 .. 30 s
 *   (restarts counted; the wait starts again at 1 s after 30 s READY). A
 *   candidate is not restarted: it stays FAILED until its link is removed
 *   or its deadline passes.
 * - state.json is rewritten on every change.
 * - A model seen for the first time whose state.json names a live process
 *   started at the recorded time, in its own group, running the command
 *   line of the recorded version, adopts it (an agent restarted after a
 *   crash); else starts fresh.
 * - While paused (coh_engine_supervisor_pause), nothing starts and nothing
 *   is probed; running engines show PAUSED.
 */
COH_API void coh_engine_supervisor_tick(struct coh_engine_supervisor *sv,
					int64_t now_ms);

/*
 * 1 while an engine is starting (its readiness probed every 100 ms) or
 * stopping: its caller should tick it again soon (the agent: every 50 ms)
 * rather than at its sampling interval, or a deploy waits on the tick.
 * The tick's thread.
 */
COH_API int coh_engine_supervisor_busy(struct coh_engine_supervisor *sv);

/*
 * The thermal breaker's state, set before a tick: 1 while work is paused
 * (the agent has stopped the engines' groups), 0 otherwise.
 */
COH_API void coh_engine_supervisor_pause(struct coh_engine_supervisor *sv,
					 int paused);

/*
 * Copy up to max states, models in name order; returns how many there
 * are (may exceed max). Any thread.
 */
COH_API size_t coh_engine_supervisor_list(struct coh_engine_supervisor *sv,
					  struct coh_engine_state *out,
					  size_t max);

/*
 * Stop every engine it started or adopted (on_stop, SIGTERM, up to
 * COH_ENGINE_STOP_MS, SIGKILL), waiting for them, then free. NULL: no-op.
 */
COH_API void coh_engine_supervisor_destroy(struct coh_engine_supervisor *sv);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_ENGINE_H */
