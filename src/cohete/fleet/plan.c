/*
 * plan.c - what every device of a fleet should run: a level per (model,
 * device) pair from the quant module's estimates, the artifact it needs,
 * its place on the device and the engine's command line.
 *
 * A model's source is read once (its GGUF header for the shape, the whole
 * file for its digest), then each of its devices is planned against that.
 * Nothing is written. An http(s) source is read only as far as its header
 * (fetch.c); its digest is the file's given sha256 or the server's, or
 * is known only at build, which then names its artifact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cohete/device.h>
#include <cohete/fleet.h>
#include <cohete/quant.h>
#include <pepita/core.h>

#include "fleet_priv.h"

#define MIB		(1ull << 20)
#define LADDER_MAX	16

/* One model's shape and digest, shared by its pairs. */
struct source {
	int error;
	struct pep_err err;
	struct coh_model_shape shape;
	char digest[COH_FLEET_SHA256_HEX];
	struct coh_gguf *g;		/* the default source's */
	struct coh_fleet_head *head;	/* its http(s) header */
	struct coh_quant_tensor *tensors;
};

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + MIB - 1) / MIB;
}

static bool is_remote(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

/* The model's source when no callback is given: a local GGUF file. */
static int open_local(const struct coh_config_model *m, struct source *s)
{
	const char *path = m->resolved_url;
	struct pep_err *err = &s->err;
	int rc;

	if (!path)
		return pep_err_set(err, -ENOENT,
				   "no mirror resolves '%s': add its prefix under mirrors:",
				   m->source);
	rc = coh_gguf_open(path, &s->g, err);
	if (rc)
		return rc;
	rc = coh_model_shape_from_gguf(s->g, &s->shape, &s->tensors, err);
	if (rc) {
		char why[sizeof(err->msg)];

		memcpy(why, err->msg, sizeof(why));
		return pep_err_set(err, rc, "%s: %s", path, why);
	}
	rc = coh__digest_file(path, s->digest, err);
	if (rc)
		return rc;
	if (m->sha256 && strcasecmp(m->sha256, s->digest))
		return pep_err_set(err, -EILSEQ,
				   "%s: its sha256 is %s, the file says %s",
				   path, s->digest, m->sha256);
	return 0;
}

static void source_open(const struct coh_config *cfg, size_t i,
			const struct coh_fleet_plan_opts *opts,
			struct source *s)
{
	const struct coh_config_model *m = &cfg->models[i];

	memset(s, 0, sizeof(*s));
	pep_err_clear(&s->err);
	if (opts && opts->source)
		s->error = opts->source(cfg, i, &s->shape, s->digest,
					opts->source_arg, &s->err);
	else if (m->resolved_url && is_remote(m->resolved_url))
		s->error = coh__fleet_head_model(m, opts ? opts->fetch : NULL,
						 &s->head, &s->shape,
						 &s->tensors, s->digest,
						 &s->err);
	else
		s->error = open_local(m, s);
	/* "": known once downloaded (coh_fleet_source_fn). */
	if (!s->error && s->digest[0] && strlen(s->digest) != 64)
		s->error = pep_err_set(&s->err, -EINVAL,
				       "the source's digest is not 64 hex digits");
}

static void source_close(struct source *s)
{
	free(s->tensors);
	coh_gguf_close(s->g);
	coh_fleet_head_free(s->head);
}

/* ---- item strings --------------------------------------------------------- */

static int set_str(char **dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(dst, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*dst = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int item_fail(struct coh_fleet_plan_item *it, int code, const char *msg)
{
	it->error = code;
	free(it->error_msg);
	return set_str(&it->error_msg, "%s", msg) ? -ENOMEM : 0;
}

/* ---- budget ---------------------------------------------------------------- */

/* The device's memory budget, or -ENODATA with the fix in err. */
static int device_budget(const struct coh_config_device *d, uint64_t *bytes,
			 bool *derived, struct pep_err *err)
{
	uint64_t ram = 0;

	*derived = false;
	if (d->memory_budget_mb) {
		*bytes = d->memory_budget_mb * MIB;
		return 0;
	}
	if (d->ram_mb)
		ram = d->ram_mb * MIB;
	else if (d->module && d->module->ram_gb)
		ram = (uint64_t)d->module->ram_gb << 30;
	if (!ram)
		return pep_err_set(err, -ENODATA,
				   "no memory_budget_mb and the module is unknown: set memory_budget_mb, module or ram_mb for %s",
				   d->id);
	*bytes = coh_quant_device_budget(ram);
	*derived = true;
	if (!*bytes)
		return pep_err_set(err, -ENODATA,
				   "%s's %llu MiB of RAM leave nothing after the system's share: set memory_budget_mb",
				   d->id, (unsigned long long)(ram / MIB));
	return 0;
}

/* ---- levels ---------------------------------------------------------------- */

/*
 * The largest context (16 .. context - 1) at which ftype fits, by
 * bisection: every part of the estimate grows with the context. 0 when
 * none does.
 */
static uint32_t context_that_fits(const struct coh_model_shape *shape,
				  enum coh_ftype ftype,
				  const struct coh_quant_target *t)
{
	struct coh_quant_target probe = *t;
	struct coh_quant_estimate e;
	uint32_t lo = 16, hi = t->context, best = 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		probe.context = mid;
		if (!coh_quant_estimate(shape, ftype, &probe, &e, NULL) && e.fits) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return best;
}

/*
 * "raise memory_budget_mb to X, choose Y (it fits) or lower context_length
 * to N"; past the device's RAM, the budget is not the fix.
 */
static int what_would(struct coh_fleet_plan_item *it,
		      const struct coh_config_device *d,
		      const struct coh_model_shape *shape,
		      const struct coh_quant_target *t, const char *smaller,
		      bool smallest)
{
	uint64_t need = mib_up(it->estimate.total);
	uint64_t ram_mib = d->ram_mb ? d->ram_mb :
		d->module ? (uint64_t)d->module->ram_gb * 1024 : 0;
	char head[192], opt[3][96];
	size_t n = 0;

	it->would_budget_mb = need;
	it->would_context = context_that_fits(shape, it->ftype, t);
	snprintf(head, sizeof(head), "needs %llu MiB at %s%s",
		 (unsigned long long)need, it->level,
		 smallest ? ", the smallest level" : "");
	if (ram_mib && need > ram_mib)
		snprintf(head + strlen(head), sizeof(head) - strlen(head),
			 ", more than %s's %llu MiB of RAM", d->id,
			 (unsigned long long)ram_mib);
	else
		snprintf(opt[n++], sizeof(opt[0]), "raise memory_budget_mb to %llu",
			 (unsigned long long)need);
	if (smaller)
		snprintf(opt[n++], sizeof(opt[0]), "choose %s (it fits)", smaller);
	if (it->would_context)
		snprintf(opt[n++], sizeof(opt[0]), "lower context_length to %u",
			 it->would_context);
	return set_str(&it->would, "%s%s%s%s%s%s%s", head, n ? "; " : "",
		       n ? opt[0] : "", n == 3 ? ", " : n == 2 ? " or " : "",
		       n > 1 ? opt[1] : "", n == 3 ? " or " : "",
		       n == 3 ? opt[2] : "");
}

static int budget_words(const struct coh_fleet_plan_item *it,
			const struct coh_config_device *d, char *buf,
			size_t size)
{
	if (!it->budget_derived)
		return snprintf(buf, size, "%llu MiB",
				(unsigned long long)(it->budget_bytes / MIB));
	return snprintf(buf, size, "the %llu MiB left of %s's RAM after the system's share",
			(unsigned long long)(it->budget_bytes / MIB), d->id);
}

/* Level, estimate, reason and what would fit. */
static int choose_level(struct coh_fleet_plan_item *it,
			const struct coh_config_model *m,
			const struct coh_config_device *d,
			const struct coh_model_shape *shape)
{
	struct coh_quant_target t = {
		.budget_bytes = it->budget_bytes, .context = it->context,
		.parallel = it->parallel,
	};
	struct coh_quant_estimate est[LADDER_MAX];
	enum coh_ftype best;
	struct pep_err e;
	char budget[192], slots[96];
	const char *smaller = NULL;
	size_t n;
	int rc;

	pep_err_clear(&e);
	coh_quant_ladder(&n);
	if (n > LADDER_MAX)
		return item_fail(it, -EINVAL, "the level ladder is longer than the plan knows");
	budget_words(it, d, budget, sizeof(budget));
	snprintf(slots, sizeof(slots), "KV at %u tokens x %u slot%s", it->context,
		 it->parallel, it->parallel == 1 ? "" : "s");
	it->chose_auto = !m->quantization || !strcasecmp(m->quantization, "auto");
	if (it->chose_auto) {
		rc = coh_quant_choose(shape, &t, &best, est, &e);
		if (rc && rc != -ENOSPC)
			return item_fail(it, rc, e.msg);
		it->estimate = est[n - 1];	/* the smallest, when none fits */
		for (size_t i = 0; !rc && i < n; i++)
			if (est[i].ftype == best)
				it->estimate = est[i];
	} else {
		rc = coh_ftype_parse(m->quantization, &it->ftype, &e);
		if (!rc)
			rc = coh_quant_estimate(shape, it->ftype, &t, &it->estimate, &e);
		if (rc)
			return item_fail(it, rc, e.msg);
		if (!it->estimate.fits && !coh_quant_choose(shape, &t, &best, NULL, NULL))
			smaller = coh_ftype_name(best);
	}
	it->ftype = it->estimate.ftype;
	it->level = coh_ftype_name(it->ftype);
	it->fits = it->estimate.fits;
	if (it->chose_auto && it->fits)
		rc = set_str(&it->reason,
			     "%s: the largest level whose weights + %s + compute + runtime fit %s (%llu MiB)",
			     it->level, slots, budget,
			     (unsigned long long)mib_up(it->estimate.total));
	else if (it->chose_auto)
		rc = set_str(&it->reason,
			     "no level fits %s: weights + %s + compute + runtime take %llu MiB at %s, the smallest",
			     budget, slots,
			     (unsigned long long)mib_up(it->estimate.total), it->level);
	else
		rc = set_str(&it->reason,
			     "%s: as the file says; weights + %s + compute + runtime take %llu MiB, %s %s",
			     it->level, slots,
			     (unsigned long long)mib_up(it->estimate.total),
			     it->fits ? "within" : "more than", budget);
	if (!rc && !it->fits)
		rc = what_would(it, d, shape, &t, smaller, it->chose_auto);
	return rc;
}

/* ---- artifact and command line --------------------------------------------- */

COH_API int coh_fleet_artifact_name(const char *model, enum coh_ftype ftype,
				    const char *digest, char *buf, size_t size)
{
	const char *level = coh_ftype_name(ftype);
	const char *version = coh_quantizer_version();
	char key[COH_FLEET_SHA256_HEX];
	struct pep_sha256 s;

	if (!model || !*model || strchr(model, '/') || !level || !digest ||
	    strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64)
		return -EINVAL;
	/* NUL between the parts: no two keys run together alike. */
	pep_sha256_init(&s);
	pep_sha256_update(&s, digest, 65);
	pep_sha256_update(&s, level, strlen(level) + 1);
	pep_sha256_update(&s, version, strlen(version));
	pep_sha256_final(&s, key);
	return snprintf(buf, size, "%s-%s-%.16s.gguf", model, level, key);
}

/* The port: the device's, plus the model's rank among the device's models. */
static uint32_t item_port(const struct coh_config *cfg, size_t model,
			  size_t device)
{
	uint32_t rank = 0;

	for (size_t i = 0; i < model; i++)
		for (size_t j = 0; j < cfg->models[i].device_count; j++)
			if (cfg->models[i].device_index[j] == device)
				rank++;
	return cfg->devices[device].inference.port + rank;
}

static int push_arg(struct coh_fleet_plan_item *it, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&it->argv[it->argc], fmt, ap);
	va_end(ap);
	if (n < 0) {
		it->argv[it->argc] = NULL;
		return -ENOMEM;
	}
	it->argc++;
	return 0;
}

/* llama-server's: -c is the whole context, every slot's share of it. */
static int engine_argv(struct coh_fleet_plan_item *it,
		       const struct coh_config_inference *inf)
{
	size_t max = 16 + inf->engine_args.count;
	int rc = 0;

	it->argv = calloc(max + 1, sizeof(*it->argv));
	if (!it->argv)
		return -ENOMEM;
	rc |= push_arg(it, "%s", inf->engine_path ? inf->engine_path : "llama-server");
	rc |= push_arg(it, "-m");
	rc |= push_arg(it, "%s", it->path);
	rc |= push_arg(it, "--host");
	rc |= push_arg(it, "%s", inf->host ? inf->host : "0.0.0.0");
	rc |= push_arg(it, "--port");
	rc |= push_arg(it, "%u", it->port);
	rc |= push_arg(it, "-c");
	rc |= push_arg(it, "%llu", (unsigned long long)it->context * it->parallel);
	rc |= push_arg(it, "-np");
	rc |= push_arg(it, "%u", it->parallel);
	rc |= push_arg(it, "-ngl");
	rc |= push_arg(it, "%u", inf->gpu_layers);
	/* Prometheus text on /metrics: tokens/s for status --fleet and serve. */
	rc |= push_arg(it, "--metrics");
	if (inf->threads) {
		rc |= push_arg(it, "-t");
		rc |= push_arg(it, "%u", inf->threads);
	}
	for (size_t i = 0; i < inf->engine_args.count; i++)
		rc |= push_arg(it, "%s", inf->engine_args.v[i]);
	return rc ? -ENOMEM : 0;
}

int coh__fleet_place(struct coh_fleet_plan_item *it,
		     const struct coh_config *cfg, const char *digest)
{
	const char *dir = cfg->storage.models_dir ? cfg->storage.models_dir :
			  "/var/lib/cohete/models";
	size_t dlen = strlen(dir);
	char name[512];
	int n;

	memcpy(it->digest, digest, sizeof(it->digest));
	n = coh_fleet_artifact_name(it->model_name, it->ftype, digest, name,
				    sizeof(name));
	if (n < 0 || (size_t)n >= sizeof(name))
		return item_fail(it, -EINVAL, "no artifact name for this model and level");
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (set_str(&it->artifact, "%s", name) ||
	    set_str(&it->path, "%.*s/%s", (int)dlen, dir, name))
		return -ENOMEM;
	it->port = item_port(cfg, it->model, it->device);
	return engine_argv(it, &cfg->devices[it->device].inference);
}

/* ---- the plan --------------------------------------------------------------- */

/* One pair; -ENOMEM only: other failures stay in the item. */
static int plan_pair(struct coh_fleet_plan_item *it, const struct coh_config *cfg,
		     const struct source *s)
{
	const struct coh_config_model *m = &cfg->models[it->model];
	const struct coh_config_device *d = &cfg->devices[it->device];
	struct pep_err e;
	int rc;

	if (s->error)
		return item_fail(it, s->error, s->err.msg);
	pep_err_clear(&e);
	rc = device_budget(d, &it->budget_bytes, &it->budget_derived, &e);
	if (rc)
		return item_fail(it, rc, e.msg);
	it->context = m->context_length ? m->context_length :
		      cfg->inference.context_length;
	it->parallel = d->inference.parallel ? d->inference.parallel : 1;
	rc = choose_level(it, m, d, &s->shape);
	if (rc || it->error)
		return rc;
	if (!s->digest[0]) {
		/* Named once the build has hashed the download. */
		it->digest_at_build = true;
		it->port = item_port(cfg, it->model, it->device);
		return 0;
	}
	return coh__fleet_place(it, cfg, s->digest);
}

/* Drop what a failed pair had planned, keeping its error. */
static void item_clear_plan(struct coh_fleet_plan_item *it)
{
	free(it->reason);
	free(it->would);
	free(it->artifact);
	free(it->path);
	for (size_t i = 0; it->argv && i < it->argc; i++)
		free(it->argv[i]);
	free(it->argv);
	it->reason = it->would = it->artifact = it->path = NULL;
	it->argv = NULL;
	it->argc = 0;
}

COH_API int coh_fleet_plan(const struct coh_config *cfg,
			   const struct coh_fleet_plan_opts *opts,
			   struct coh_fleet_plan **out, struct pep_err *err)
{
	struct coh_fleet_plan *plan;
	struct source src;
	size_t total = 0, k = 0;
	int rc = 0;

	if (!cfg || !out)
		return pep_err_set(err, -EINVAL, "no configuration to plan");
	*out = NULL;
	for (size_t i = 0; i < cfg->model_count; i++)
		total += cfg->models[i].device_count;
	plan = calloc(1, sizeof(*plan));
	if (!plan || !(plan->items = calloc(total ? total : 1, sizeof(*plan->items)))) {
		free(plan);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; !rc && i < cfg->model_count; i++) {
		const struct coh_config_model *m = &cfg->models[i];

		source_open(cfg, i, opts, &src);
		for (size_t j = 0; !rc && j < m->device_count; j++) {
			struct coh_fleet_plan_item *it = &plan->items[k++];

			it->model = i;
			it->model_name = m->name;
			it->device = m->device_index[j];
			it->device_id = cfg->devices[it->device].id;
			plan->count = k;
			rc = plan_pair(it, cfg, &src);
			if (it->error) {
				item_clear_plan(it);
				plan->errors++;
			} else if (!rc && !it->fits) {
				plan->unfit++;
			}
		}
		source_close(&src);
	}
	if (rc) {
		coh_fleet_plan_free(plan);
		return pep_err_set(err, rc, "out of memory");
	}
	*out = plan;
	return 0;
}

COH_API void coh_fleet_plan_free(struct coh_fleet_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->count; i++) {
		item_clear_plan(&plan->items[i]);
		free(plan->items[i].error_msg);
		free(plan->items[i].built_path);
		free(plan->items[i].build_error_msg);
	}
	free(plan->items);
	free(plan);
}

/* ---- shell words -------------------------------------------------------------- */

static bool shell_safe(const char *w)
{
	return *w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789@%_+=:,./-") == strlen(w);
}

COH_API size_t coh_fleet_argv_format(const char *const *argv, char *buf,
				     size_t size)
{
	size_t len = 0;

#define PUT(c) do { if (len + 1 < size) buf[len] = (c); len++; } while (0)
	for (size_t i = 0; argv && argv[i]; i++) {
		const char *w = argv[i];

		if (i)
			PUT(' ');
		if (shell_safe(w)) {
			for (; *w; w++)
				PUT(*w);
			continue;
		}
		PUT('\'');
		for (; *w; w++) {
			if (*w == '\'') {
				PUT('\'');
				PUT('\\');
				PUT('\'');
			}
			PUT(*w);
		}
		PUT('\'');
	}
#undef PUT
	if (size)
		buf[len < size ? len : size - 1] = '\0';
	return len;
}
