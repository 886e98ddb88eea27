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

/*
 * Where a model's shape and digest come from. Fill *shape (its tensors
 * must stay valid until coh_fleet_plan() returns) and digest (the source
 * file's sha256, 64 lower-case hex digits); return 0, or -errno with err
 * set: the pairs of that model then carry that error.
 */
typedef int (*coh_fleet_source_fn)(const struct coh_config *cfg,
				   size_t model, struct coh_model_shape *shape,
				   char digest[COH_FLEET_SHA256_HEX],
				   void *arg, struct pep_err *err);

/* All-zero means defaults. */
struct coh_fleet_plan_opts {
	/* NULL: the model's resolved source when it is a local file, opened
	 * as GGUF and hashed whole; an http(s) source is a per-pair error
	 * (its header is fetched at build time), as is a source no mirror
	 * resolves. */
	coh_fleet_source_fn source;
	void *source_arg;
};

/* One (model, device) pair. Strings are owned by the plan. */
struct coh_fleet_plan_item {
	size_t model;			/* index into cfg->models */
	const char *model_name;		/* borrowed from cfg */
	size_t device;			/* index into cfg->devices */
	const char *device_id;		/* borrowed from cfg */

	/* 0, or why the pair could not be planned: -ENOENT (no such file;
	 * a source no mirror resolves), -EOPNOTSUPP (a remote source),
	 * -ENODATA (no budget: no memory_budget_mb, no RAM known), -EINVAL
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
};

struct coh_fleet_plan {
	struct coh_fleet_plan_item *items;	/* models in file order, each
						   with its devices in order */
	size_t count;
	size_t errors;			/* items with error != 0 */
	size_t unfit;			/* planned items that do not fit */
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


#ifdef __cplusplus
}
#endif

#endif /* COHETE_FLEET_H */
