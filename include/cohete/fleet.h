/*
 * cohete/fleet.h - a fleet's deployment, from its cohete.yaml: what each
 * device should run.
 *
 * The plan: for every (model, device) pair the file selects, the
 * quantization level (the file's, or "auto": the best level of the ladder
 * whose estimate fits the device's memory budget at the model's context
 * and the device's slots), why, the file to build (named after its
 * content), where it goes on the device and the engine's command line.
 * A pair that cannot fit says what would. A pair that cannot be planned
 * (no such file, a source not resolved, no budget) carries its error;
 * the other pairs are planned all the same.
 *
 * Threading: a plan is read-only once made and may be read from any
 * thread; plans share nothing.
 */
#ifndef COHETE_FLEET_H
#define COHETE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/config.h>
#include <cohete/quant.h>
#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_FLEET_SHA256_HEX	PEP_SHA256_HEX	/* 64 hex digits + NUL */

struct coh_fleet_fetch_opts;

/*
 * Where a model's shape and digest come from. Fill *shape (its tensors
 * must stay valid until coh_fleet_plan() returns) and digest (the source
 * file's sha256, 64 lower-case hex digits, or "" when it is known only
 * once the file is downloaded: the pairs are then digest_at_build);
 * return 0, or -errno with err set: the pairs of that model then carry
 * that error.
 */
typedef int (*coh_fleet_source_fn)(const struct coh_config *cfg,
				   size_t model, struct coh_model_shape *shape,
				   char digest[COH_FLEET_SHA256_HEX],
				   void *arg, struct pep_err *err);

/* All-zero means defaults. */
struct coh_fleet_plan_opts {
	/* NULL: the model's resolved source; a local file is opened as GGUF
	 * and hashed whole, an http(s) one is counted from its header
	 * (coh_fleet_source_http(): nothing else is downloaded); a source
	 * no mirror resolves is a per-pair error. */
	coh_fleet_source_fn source;
	void *source_arg;
	/* The default source's header fetches: timeouts and size limit
	 * (NULL: defaults; its sha256 and progress are not used). */
	const struct coh_fleet_fetch_opts *fetch;
};

/* One (model, device) pair. Strings are owned by the plan. */
struct coh_fleet_plan_item {
	size_t model;			/* index into cfg->models */
	const char *model_name;		/* borrowed from cfg */
	size_t device;			/* index into cfg->devices */
	const char *device_id;		/* borrowed from cfg */

	/* 0, or why the pair could not be planned: -ENOENT (no such file;
	 * a source no mirror resolves; HTTP 404), an http(s) source's
	 * other fetch errors (coh_fleet_fetch()), -ENODATA (no budget: no
	 * memory_budget_mb, no RAM known), -EINVAL
	 * (not a GGUF model we can count), -EILSEQ (the file's sha256 is
	 * not the file's), -ENOMEM. Only the fields above and error_msg are
	 * set then. */
	int error;
	char *error_msg;		/* NULL when error is 0 */

	enum coh_ftype ftype;		/* the level */
	const char *level;		/* "Q5_K_M" (static) */
	bool chose_auto;		/* the file says "auto" */
	uint64_t budget_bytes;		/* what the level must fit */
	bool budget_derived;		/* from the RAM, not memory_budget_mb */
	uint32_t context;		/* tokens per slot: the model's context_length */
	uint32_t parallel;		/* slots: the device's inference.parallel */
	struct coh_quant_estimate estimate;	/* of ftype */
	bool fits;			/* estimate.total <= budget_bytes */
	/* "Q5_K_M: the largest level whose weights + KV at 2048 tokens x 1
	 * slot + compute + runtime fit 6000 MiB (5123 MiB)" */
	char *reason;
	/* When it does not fit: "needs 7400 MiB at Q2_K, the smallest level;
	 * raise memory_budget_mb to 7400 or lower context_length to 512".
	 * NULL when it fits. */
	char *would;
	uint64_t would_budget_mb;	/* the budget that fits; 0 when fits */
	uint32_t would_context;		/* the largest context that fits at this
					   level, 0 when it fits or none does */

	char digest[COH_FLEET_SHA256_HEX];	/* the source's sha256 */
	/* "<model>-<LEVEL>-<16 hex>.gguf": the hex is the start of
	 * sha256(digest "\0" LEVEL "\0" coh_quantizer_version()) */
	char *artifact;
	char *path;			/* storage.models_dir "/" artifact */
	uint32_t port;			/* the device's port + the model's rank
					   among the device's models */
	char **argv;			/* the engine's command line; NULL-ended */
	size_t argc;

	/* An http(s) source whose sha256 neither the file nor the server
	 * gives: the artifact cannot be named before the download. digest,
	 * artifact, path and argv stay empty (NULL) until coh_fleet_build()
	 * has downloaded and hashed the source and names them. */
	bool digest_at_build;

	/* Set by coh_fleet_build(). */
	char *built_path;		/* the artifact in the build cache */
	uint64_t built_size;
	char built_sha256[COH_FLEET_SHA256_HEX];	/* the artifact's: a
							   copy is checked
							   against it */
	bool built_cached;		/* the cache had it: nothing was made */
	int build_error;		/* 0, or why its artifact was not made */
	char *build_error_msg;		/* NULL when build_error is 0 */
};

struct coh_fleet_plan {
	struct coh_fleet_plan_item *items;	/* models in file order, each
						   with its devices in order */
	size_t count;
	size_t errors;			/* items with error != 0 */
	size_t unfit;			/* planned items that do not fit */
	size_t build_errors;		/* items with build_error != 0 */
};

/*
 * Plan every (model, device) pair of cfg (cfg->models[i].device_index).
 * Per-pair problems land in the items; the call fails only with -ENOMEM
 * (or -EINVAL for a NULL argument). The plan borrows strings from cfg:
 * free it before cfg. opts may be NULL.
 */
COH_API int coh_fleet_plan(const struct coh_config *cfg,
			   const struct coh_fleet_plan_opts *opts,
			   struct coh_fleet_plan **out, struct pep_err *err);

/* NULL does nothing. */
COH_API void coh_fleet_plan_free(struct coh_fleet_plan *plan);

/*
 * argv (NULL-ended) as one line a POSIX shell reads back to the same
 * words: words of safe characters as they are, others in single quotes
 * ('\'' for a quote). snprintf semantics; returns the whole length.
 * Any thread.
 */
COH_API size_t coh_fleet_argv_format(const char *const *argv, char *buf,
				     size_t size);

/*
 * The artifact name of a model built at ftype from a source of that
 * sha256 (64 hex digits), as items carry it, with snprintf semantics.
 * -EINVAL for a level with no name or a bad digest. Any thread.
 */
COH_API int coh_fleet_artifact_name(const char *model, enum coh_ftype ftype,
				    const char *digest, char *buf,
				    size_t size);


/* ==== on the device: what `cohete engine` runs there ==== */

/*
 * The device's half of a deploy, under ROOT (storage.models_dir; the
 * layout is cohete/engine.h's). Receive: a model file of size bytes
 * arrives on in_fd; the device answers on out_fd, one line: "have SIZE"
 * when the file is there already (nothing is read), else "offset N" (the
 * bytes an earlier, cut transfer kept: send the rest from there), then,
 * once the rest arrived, was hashed to sha256 and renamed into place, "ok
 * SIZE". Before a byte is written, the space is checked: -ENOSPC when the
 * rest would leave less than 1% of the file system free. A cut transfer
 * keeps its part (-EPIPE); a wrong digest drops it (-EILSEQ). -EINVAL for
 * a name that is not a plain file name.
 */
COH_API int coh_fleet_node_receive(const char *root, const char *name,
				   uint64_t size, const char *sha256,
				   int in_fd, int out_fd, struct pep_err *err);

/* A part another program (rsync) wrote to ROOT/.incoming/NAME.part:
 * hashed, renamed into place when it is sha256, dropped when not. */
COH_API int coh_fleet_node_verify(const char *root, const char *name,
				  const char *sha256, struct pep_err *err);

/* The free and total bytes of ROOT's file system. */
COH_API int coh_fleet_node_space(const char *root, uint64_t *free_bytes,
				 uint64_t *total_bytes, struct pep_err *err);

struct coh_fleet_node_state_opts {
	uint16_t agent_port;		/* the agent on 127.0.0.1: its breaker and
					   budget; 0 = not asked */
	unsigned int timeout_ms;	/* each local HTTP request; 0 = 1000 */
};

/*
 * The device's deploy state as JSON ("cohete.engine-state/1"): root,
 * free_bytes, total_bytes, rsync and systemd (present?), artifacts and
 * partials ([{name, size_bytes}]), models ([{model, active, previous,
 * candidate (versions or null), spec (the active one), engine (the
 * supervisor's state, with tokens_per_s from a ready llama-server's
 * /metrics)}]) and, with agent_port, agent ({breaker, budget} of its
 * /v1/status, or null and agent_error). malloc'd; NULL with err set.
 * o may be NULL.
 */
COH_API char *coh_fleet_node_state(const char *root,
				   const struct coh_fleet_node_state_opts *o,
				   struct pep_err *err);

#define COH_FLEET_READY_TIMEOUT_S	120

struct coh_fleet_node_result {
	char result[16];		/* "activated", "unchanged", "rolled-back",
					   "failed" */
	char version[256];		/* the version it is about */
	char reason[768];		/* for a person */
	uint64_t ready_ms;		/* from the call to its outcome */
};

/*
 * Make the engine spec (JSON, cohete/engine.h) the model's running
 * version: the candidate with a deadline timeout_s (0: the default)
 * ahead, started by the supervisor, promoted once ready. 0 with result
 * "activated", or "unchanged" when it was the active version and is
 * ready; -EIO with "rolled-back" (the candidate failed or was not ready
 * in time: the supervisor is back on the active version) or "failed"
 * (nothing to go back to, or the active version is not ready). Killing
 * the caller at any point leaves the device on the active version once
 * the deadline passes.
 */
COH_API int coh_fleet_node_activate(const char *root, const char *spec_json,
				    size_t len, unsigned int timeout_s,
				    struct coh_fleet_node_result *r,
				    struct pep_err *err);

/* The model's previous version active again, waited for like activate. */
COH_API int coh_fleet_node_rollback(const char *root, const char *model,
				    unsigned int timeout_s,
				    struct coh_fleet_node_result *r,
				    struct pep_err *err);

/* ==== deploying: from here to every device ==== */

enum coh_fleet_transport {
	COH_FLEET_TRANSPORT_AUTO = 0,	/* rsync where both ends have it */
	COH_FLEET_TRANSPORT_RSYNC,
	COH_FLEET_TRANSPORT_STREAM,	/* our own, over the ssh session */
};

/* How devices are reached. All-zero means defaults. */
struct coh_fleet_remote {
	const char *ssh_program;	/* NULL = "ssh" */
	const char *const *ssh_options;	/* each an ssh -o OPTION */
	size_t ssh_option_count;
	const char *identity;		/* ssh -i; NULL = each device's */
	const char *cohete;		/* the program on devices; NULL = "cohete" */
	enum coh_fleet_transport transport;
	unsigned int connect_timeout_s;	/* 0 = 10 */
};

enum coh_fleet_outcome {
	COH_FLEET_PENDING = 0,
	COH_FLEET_UNCHANGED,		/* the device ran it already */
	COH_FLEET_UPDATED,		/* the new version runs */
	COH_FLEET_ROLLED_BACK,		/* it failed; the old version runs */
	COH_FLEET_FAILED,		/* not deployed (why in message) */
	COH_FLEET_SKIPPED,		/* not tried: an earlier device failed */
};

COH_API const char *coh_fleet_outcome_name(enum coh_fleet_outcome o);

/* What happened to one plan item. */
struct coh_fleet_step {
	size_t item;			/* index into the plan */
	enum coh_fleet_outcome outcome;
	char version[256];		/* the engine version it ends on */
	char message[1024];		/* for a person */
	const char *transport;		/* "rsync", "stream", "present"; NULL */
	uint64_t copied_bytes;
	uint64_t copy_ms, ready_ms;
};

struct coh_fleet_deploy_report {
	struct coh_fleet_step *steps;	/* one per plan item, plan order */
	size_t count;
	size_t updated, unchanged, rolled_back, failed, skipped;
	uint64_t wall_ms;
};

/* A step reached an outcome (called from the lanes, one at a time). */
typedef void (*coh_fleet_step_fn)(const struct coh_fleet_plan_item *it,
				  const struct coh_fleet_step *st, void *arg);

struct coh_fleet_deploy_opts {
	struct coh_fleet_remote remote;
	unsigned int max_parallel;	/* devices at once; 0 = all */
	const char *canary;		/* this device first, alone */
	bool keep_going;		/* go on after a device fails */
	unsigned int ready_timeout_s;	/* 0 = COH_FLEET_READY_TIMEOUT_S */
	coh_fleet_step_fn on_step;
	void *arg;
};

/*
 * Ship and start plan (built: every item carries its artifact's local
 * copy) on its devices: a lane per device, max_parallel at once, the
 * canary first and alone. Per device: its state over ssh; per item, a
 * copy when the device lacks the file (space checked first, resumed,
 * verified), then activation (cohete engine activate: the new version
 * runs, or the device rolls back to the old one at once). A device that
 * fails stops the deploy (devices not started yet are skipped) unless
 * keep_going. Items the plan or the build failed are failed steps. 0
 * with *out set whatever the outcomes (count them); -errno when nothing
 * could be started (-ENOMEM, -EINVAL).
 */
COH_API int coh_fleet_deploy(const struct coh_config *cfg,
			     const struct coh_fleet_plan *plan,
			     const struct coh_fleet_deploy_opts *opts,
			     struct coh_fleet_deploy_report **out,
			     struct pep_err *err);

COH_API void coh_fleet_deploy_report_free(struct coh_fleet_deploy_report *r);

/*
 * One device's state, as `cohete engine state --json` prints it there
 * (coh_fleet_node_state()). malloc'd JSON, or NULL with err saying why
 * (unreachable, no cohete on it, ...).
 */
COH_API char *coh_fleet_device_state(const struct coh_config *cfg,
				     size_t device,
				     const struct coh_fleet_remote *remote,
				     unsigned int timeout_s,
				     struct pep_err *err);

/* `cohete engine rollback` of model on a device; r says what happened. */
COH_API int coh_fleet_device_rollback(const struct coh_config *cfg,
				      size_t device,
				      const struct coh_fleet_remote *remote,
				      const char *model, unsigned int timeout_s,
				      struct coh_fleet_node_result *r,
				      struct pep_err *err);

/*
 * One difference between the file and a device: model is NULL for the
 * device's own (power mode, unreachable). what is printable text.
 */
typedef void (*coh_fleet_drift_fn)(const char *device, const char *model,
				   const char *what, void *arg);

/*
 * What differs between plan's items for device (and the file's power
 * mode for it) and state, the JSON the device sent (NULL: it did not
 * answer, error says why): not deployed, another level or command line,
 * an engine not ready, another power mode, a model the file does not
 * give it. Each goes to fn (may be NULL); returns how many. state is
 * untrusted: any text is read safely.
 */
COH_API size_t coh_fleet_drift(const struct coh_config *cfg,
			       const struct coh_fleet_plan *plan, size_t device,
			       const char *state, const char *error,
			       coh_fleet_drift_fn fn, void *arg);

/* Every device's state at once (a lane each), by the file's device index. */
struct coh_fleet_survey {
	char **state;			/* JSON, or NULL: then error says why */
	char **error;
	uint64_t *ms;			/* how long each device took */
	size_t count;			/* cfg->device_count */
};

COH_API int coh_fleet_survey(const struct coh_config *cfg,
			     const struct coh_fleet_remote *remote,
			     unsigned int timeout_s,
			     struct coh_fleet_survey **out, struct pep_err *err);
COH_API void coh_fleet_survey_free(struct coh_fleet_survey *s);

/* ==== fetching models over http(s) (src/cohete/fleet/fetch.c) ==== */

/* All-zero means defaults. */
struct coh_fleet_fetch_opts {
	const char *sha256;		/* the file's: 64 hex digits; NULL: not
					   checked */
	uint64_t max_bytes;		/* a larger file fails; 0: 1 TiB */
	uint32_t connect_timeout_ms;	/* 0: 15000 */
	/* A transfer slower than low_speed_bytes a second for low_speed_s
	 * seconds is cut (-ETIMEDOUT; a later call resumes it). 0: 1024
	 * bytes, 60 s. */
	uint32_t low_speed_bytes;
	uint32_t low_speed_s;
	/* Bytes of the file so far (a resumed part counted) of total (0:
	 * not known). Called from the fetching thread. */
	void (*progress)(uint64_t done_bytes, uint64_t total_bytes, void *arg);
	void *arg;
};

struct coh_fleet_fetch_result {
	uint64_t size_bytes;		/* of the file now at path */
	char sha256[COH_FLEET_SHA256_HEX];
	uint64_t resumed_bytes;		/* of an earlier part, kept; 0: all
					   came in this call */
	bool restarted;			/* a part was there but could not be
					   continued (the server ignores Range,
					   the file changed): it began again */
};

/*
 * Download url (http or https; redirects are followed to http(s) only)
 * to path. The bytes go to DIR/.NAME.part (locked while this call runs),
 * hashed as they arrive; the part becomes path only when it is whole,
 * fsynced and, with opts->sha256, that file: path never holds part of a
 * file. A part an earlier call left is continued with a Range request
 * when what comes can be checked against it: with opts->sha256, or when
 * the server named the file's version (ETag or Last-Modified, kept on the
 * part as the extended attribute user.cohete.validator, sent back as
 * If-Range so that a changed file comes whole). A server that ignores
 * Range sends it all again and the part starts over. 0 (res filled; it
 * may be NULL), or:
 *   -ENOENT	HTTP 404 or 410: "https://x/m.gguf: HTTP 404"
 *   -EACCES	HTTP 401 or 403
 *   -EIO	another HTTP error, or the connection broke (the part stays)
 *   -EILSEQ	not the sha256 expected: the part is deleted, err names
 *		both digests
 *   -EFBIG	larger than max_bytes
 *   -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH (the name does not resolve)
 *   -EPROTONOSUPPORT	url, or a redirect, is not http(s)
 *   -ELOOP	too many redirects
 *   -EPROTO	TLS failed, or the server answered what was not asked
 *   -EBUSY	another call is downloading to path
 *   -errno	from the file system, naming the file
 * Any thread.
 */
COH_API int coh_fleet_fetch(const char *url, const char *path,
			    const struct coh_fleet_fetch_opts *opts,
			    struct coh_fleet_fetch_result *res,
			    struct pep_err *err);

/* The header of a remote GGUF file. */
struct coh_fleet_head;

/*
 * Read the start of the GGUF file at url through Range requests (1 MiB,
 * then four times as much each time, 256 MiB at most) until its
 * key/values and tensor infos parse; the tensor data is never fetched.
 * A server without Range support is read from the start and cut as soon
 * as there is enough. Errors as coh_fleet_fetch()'s, and the GGUF
 * reader's (-EINVAL, -EOPNOTSUPP) with the URL named; -EFBIG when the
 * header is larger than 256 MiB or the file than opts->max_bytes.
 */
COH_API int coh_fleet_head_fetch(const char *url,
				 const struct coh_fleet_fetch_opts *opts,
				 struct coh_fleet_head **out,
				 struct pep_err *err);

/* NULL does nothing. */
COH_API void coh_fleet_head_free(struct coh_fleet_head *h);

/*
 * The parsed header, valid until coh_fleet_head_free(): keys and tensor
 * infos as the file has them; the tensors' data was not fetched (it
 * reads as zeros).
 */
COH_API const struct coh_gguf *coh_fleet_head_gguf(const struct coh_fleet_head *h);
COH_API uint64_t coh_fleet_head_size(const struct coh_fleet_head *h);	/* the file's */
COH_API uint64_t coh_fleet_head_fetched(const struct coh_fleet_head *h); /* read */
/* The sha256 the server gives for the whole file (Hugging Face's
 * X-Linked-ETag), or NULL. */
COH_API const char *coh_fleet_head_sha256(const struct coh_fleet_head *h);

/*
 * A coh_fleet_source_fn for a model whose resolved source is an http(s)
 * URL; the plan's default source uses it for those. The shape comes from
 * coh_fleet_head_fetch(). The digest: the model's sha256 when the file
 * gives one, else the server's (coh_fleet_head_sha256()): either is
 * checked when the build downloads the file; else "": the pairs are
 * digest_at_build, their artifact named once the build has hashed the
 * download (a build then downloads the file every time; a sha256 in the
 * file spares that). arg: a struct coh_fleet_http_source, which keeps the
 * headers (the shapes point into them): free it after the plan.
 */
struct coh_fleet_http_source;

COH_API int coh_fleet_http_source_create(const struct coh_fleet_fetch_opts *fetch,
					 struct coh_fleet_http_source **out,
					 struct pep_err *err);
COH_API void coh_fleet_http_source_free(struct coh_fleet_http_source *s);
COH_API int coh_fleet_source_http(const struct coh_config *cfg, size_t model,
				  struct coh_model_shape *shape,
				  char digest[COH_FLEET_SHA256_HEX], void *arg,
				  struct pep_err *err);

/* ==== building a plan's artifacts (src/cohete/fleet/build.c) ==== */

/* All-zero means defaults. */
struct coh_fleet_build_opts {
	const char *cache_dir;		/* NULL: coh_fleet_cache_dir() */
	unsigned int threads;		/* the quantizer's (coh_quantize_opts) */
	/* Downloads: timeouts, size limit, progress (its sha256 is the
	 * item's digest, whatever is set here). NULL: defaults. */
	const struct coh_fleet_fetch_opts *fetch;
	/* One line per step ("tiny-Q8_0-....gguf: quantized from ... in
	 * 1.2 s"), from the calling thread. */
	void (*log)(const char *line, void *arg);
	void *arg;
};

/*
 * The default build cache, ${XDG_CACHE_HOME:-$HOME/.cache}/cohete/artifacts,
 * with snprintf semantics. -ENOENT when neither variable is set and the
 * user has no home directory. Any thread.
 */
COH_API int coh_fleet_cache_dir(char *buf, size_t size);

/*
 * Make the artifact of every item of plan that has no error and fits
 * (nothing would run the others), each distinct artifact once: CACHE/
 * ARTIFACT is used as it is when there (its sha256 and size kept in
 * CACHE/ARTIFACT.sum, so it is not hashed again while unchanged); else
 * its source (the local file, checked against the plan's digest, or the
 * download, kept as CACHE/sources/SHA256.gguf and resumed when cut) is
 * quantized to the item's level into CACHE and renamed to ARTIFACT. An
 * item digest_at_build is named first (digest, artifact, path, argv).
 * A lock file per artifact (CACHE/.ARTIFACT.lock) and per download makes
 * a second build on this machine wait and then use the first one's file.
 * Each item gets built_path, built_size and built_sha256, or build_error
 * and build_error_msg: a failure fails the items of its artifact only
 * (plan->build_errors counts them). Returns the number of artifacts
 * quantized by this call (0: all were in the cache), or -errno when
 * nothing could be tried: -EINVAL, -ENOMEM, the cache cannot be made.
 * The plan is written: no other thread may read it meanwhile.
 */
COH_API int coh_fleet_build(const struct coh_config *cfg,
			    struct coh_fleet_plan *plan,
			    const struct coh_fleet_build_opts *opts,
			    struct pep_err *err);

/* ==== running work on devices (src/cohete/fleet/executor.c) ==== */

#define COH_FLEET_AGENT_PORT	9102	/* when the file's agent.listen has none */

/*
 * The devices the selectors choose, as models[].devices selects: "all",
 * a device id, "label:NAME" (count 0: all). chosen[] has one entry per
 * cfg->devices and is overwritten. Returns how many are chosen, or
 * -ENOENT with err naming the selector that chooses none ("no device
 * 'orin-nan'; did you mean 'orin-nano'?", "no device has the label
 * 'x'"), -EINVAL for an empty one. Any thread.
 */
COH_API int coh_fleet_select(const struct coh_config *cfg,
			     const char *const *selectors, size_t count,
			     bool *chosen, struct pep_err *err);

/* What a device's agent says about taking one more task. */
struct coh_fleet_gate {
	int verdict;			/* 0: it may run; -EHOSTDOWN: the thermal
					   breaker is open (or absent); -EBUSY:
					   no room for the task's memory;
					   -EPROTO: not an agent's status */
	char breaker[16];		/* "ok", "warning", "tripped", "cooling";
					   "" when not known */
	double temp_c;			/* the breaker's input; NAN: not known */
	double trip_c, resume_c;	/* its policy; NAN: not known */
	bool has_room;			/* room_bytes is known */
	uint64_t room_bytes;		/* the least of the budget's and the
					   machine's available bytes */
	/* "" when it may run; else "orin-nano: thermal breaker open (78.5
	 * C)", "orin-nano: thermal breaker open, cooling (58.1 C, closes below
	 * 55.0 C)", "orin-nano: memory budget full (512 MiB free; the task
	 * needs 2048 MiB)", "orin-nano: the agent's status is not JSON
	 * (...)" */
	char reason[PEP_ERR_MSG_MAX];
};

/*
 * Decide from an agent's GET /v1/status document (len bytes of JSON,
 * schema cohete.agent.status/N) whether device (its id, for the reason)
 * takes a task needing need_bytes (0: the breaker alone decides) while
 * tasks holding held_bytes run there already. The breaker is closed in
 * the states "ok" and "warning". Fills *g and returns g->verdict. Pure;
 * any thread.
 */
COH_API int coh_fleet_gate_decide(const char *device, const char *json,
				  size_t len, uint64_t need_bytes,
				  uint64_t held_bytes, struct coh_fleet_gate *g);

struct pep_executor;

/* All-zero means defaults. */
struct coh_fleet_executor_opts {
	/* ssh: program, -o options, identity (else the device's) and connect
	 * timeout; cohete and transport are not used. */
	struct coh_fleet_remote remote;
	const char *pepita;		/* pepita on the device; NULL: "pepita" */
	uint64_t memory_need_bytes;	/* each task's; 0: only the breaker */
	uint16_t agent_port;		/* 0: the file's agent.listen port */
	/* A device whose agent does not answer (or answers what is not an
	 * agent's status) runs tasks ungated; false: refuses them with the
	 * reason (-EHOSTUNREACH). */
	bool no_agent_ok;
	unsigned int agent_timeout_ms;	/* per question; 0: 1000 */
	unsigned int cache_ms;		/* an answer is used this long; 0: 500 */
	int stderr_fd;			/* > 0: ssh's stderr; else inherited */
};

/*
 * A pepita executor (program tasks) for device (an index into
 * cfg->devices) to give a pool lane (pep_pool_add_lane): each task runs
 * there in `PEPITA worker --stdio` over `ssh -T -o BatchMode=yes ... -p
 * PORT -l USER [-i KEY] -- HOST`, the device's user, port and identity
 * from the file. Before a task starts the device's agent is asked
 * (http://HOST:PORT/v1/status, answers kept cache_ms) and
 * coh_fleet_gate_decide() judges, the declared needs of the tasks this
 * executor runs there counted as held. A refused task is not run: its
 * result has error -EHOSTDOWN (breaker open), -EBUSY (no room) or
 * -EHOSTUNREACH (no agent's answer: "orin-nano: no agent answers at
 * http://10.0.0.2:9102/v1/status (Connection refused)") and the reason as
 * message, so a pool's retry takes it to another lane or to this one
 * later (pep_retry_transient() retries all three). A broken
 * ssh connection fails a task with -ECONNRESET, the message naming the
 * device. cfg and the strings o points to must outlive the executor
 * (pep_executor_destroy()). 0, -EINVAL (no such device), -ENOMEM.
 * Threading: the executor runs tasks from many threads at once (a lane's
 * slots), as pepita's executors do; create and destroy from one.
 */
COH_API int coh_fleet_executor_create(const struct coh_config *cfg,
				      size_t device,
				      const struct coh_fleet_executor_opts *o,
				      struct pep_executor **out,
				      struct pep_err *err);

struct coh_fleet_executor_stats {
	uint64_t tasks;			/* run (the gate let them through) */
	uint64_t refused;		/* refused by the gate */
	uint64_t agent_queries;		/* GET /v1/status sent */
	uint64_t agent_query_ns;	/* their time, all told */
	uint64_t gate_ns;		/* time tasks spent in the gate, all told */
};

/* A Jetson executor's counts so far; -EINVAL for another executor. Any
 * thread. */
COH_API int coh_fleet_executor_stats(struct pep_executor *ex,
				     struct coh_fleet_executor_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_FLEET_H */
