/*
 * Loading cohete.yaml: read the tree (tree.c), type it with the schema
 * table (schema.c), check what spans fields (check.c); and what callers
 * read of a loaded configuration.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cohete/thermal.h>

#include "config_priv.h"

const char *cfg_getenv(struct cfg_load *L, const char *name)
{
	if (L->opts && L->opts->getenv)
		return L->opts->getenv(name, L->opts->getenv_arg);
	return getenv(name);
}

static struct cfg_load *load_new(const struct coh_config_load_opts *opts,
				 struct coh_config_diags *diags,
				 struct coh_config_diags *local)
{
	struct cfg_load *L = calloc(1, sizeof(*L));

	if (!L)
		return NULL;
	L->opts = opts;
	L->diags = diags ? diags : local;
	L->diag_base = L->diags->count;
	return L;
}

static void load_free(struct cfg_load *L)
{
	if (!L)
		return;
	cfg_arena_free(&L->arena);
	free(L);
}

/* The first error of this load into err. */
static int first_error(struct cfg_load *L, struct pep_err *err)
{
	char line[512];

	for (size_t i = L->diag_base; i < L->diags->count; i++)
		if (L->diags->v[i].severity == COH_CONFIG_ERROR) {
			coh_config_diag_format(&L->diags->v[i], line, sizeof(line));
			return pep_err_set(err, -EINVAL, "%s", line);
		}
	return pep_err_set(err, -EINVAL, "%s: invalid configuration",
			   L->cfg.file ? L->cfg.file : "");
}

/* Type and check the merged tree; hand out the config when valid. */
static int load_finish(struct cfg_load *L, struct coh_config **out,
		       struct pep_err *err)
{
	int ret = 0;

	cfg_type_root(L);
	cfg_check(L);
	cfg_diag_sort(L);
	if (cfg_error_count(L)) {
		ret = first_error(L, err);
		load_free(L);
		return ret;
	}
	/* The nodes stay in the arena; the typed values point into it too. */
	*out = &L->cfg;
	return 0;
}

int coh_config_load_string(const char *text, size_t len, const char *name,
			   const struct coh_config_load_opts *opts,
			   struct coh_config **out,
			   struct coh_config_diags *diags, struct pep_err *err)
{
	struct coh_config_diags local = { 0 };
	struct cfg_load *L = load_new(opts, diags, &local);
	int ret;

	*out = NULL;
	if (!L)
		return pep_err_set(err, -ENOMEM, "out of memory");
	L->cfg.file = cfg_strdup(&L->arena, name ? name : "<string>");
	if (!L->cfg.file) {
		load_free(L);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	ret = cfg_tree_load_text(L, text, len, L->cfg.file, &L->root);
	if (ret < 0) {
		load_free(L);
		coh_config_diags_free(&local);
		return pep_err_set(err, ret, "%s: out of memory", name);
	}
	ret = load_finish(L, out, err);
	coh_config_diags_free(&local);
	return ret;
}

int coh_config_load(const char *path, const struct coh_config_load_opts *opts,
		    struct coh_config **out, struct coh_config_diags *diags,
		    struct pep_err *err)
{
	struct coh_config_diags local = { 0 };
	struct cfg_load *L = load_new(opts, diags, &local);
	int ret;

	*out = NULL;
	if (!L)
		return pep_err_set(err, -ENOMEM, "out of memory");
	L->cfg.file = cfg_strdup(&L->arena, path);
	if (!L->cfg.file) {
		load_free(L);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	ret = cfg_tree_load_file(L, L->cfg.file, NULL, &L->root, err);
	if (ret < 0) {
		load_free(L);
		coh_config_diags_free(&local);
		return ret;
	}
	ret = load_finish(L, out, err);
	coh_config_diags_free(&local);
	return ret;
}

void coh_config_free(struct coh_config *cfg)
{
	if (cfg)
		load_free(cfg_load_of(cfg));
}

/* ---- reading ---- */

const struct coh_config_device *
coh_config_find_device(const struct coh_config *cfg, const char *id)
{
	for (size_t i = 0; cfg && id && i < cfg->device_count; i++)
		if (strcmp(cfg->devices[i].id, id) == 0)
			return &cfg->devices[i];
	return NULL;
}

static bool is_loopback(const char *host)
{
	return host && (!strcmp(host, "localhost") || !strcmp(host, "127.0.0.1") ||
			!strcmp(host, "::1"));
}

const struct coh_config_device *
coh_config_find_local(const struct coh_config *cfg, const char *serial,
		      const char *hostname)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; serial && *serial && i < cfg->device_count; i++)
		if (cfg->devices[i].serial && !strcmp(cfg->devices[i].serial, serial))
			return &cfg->devices[i];
	for (size_t i = 0; hostname && *hostname && i < cfg->device_count; i++)
		if (!strcmp(cfg->devices[i].id, hostname))
			return &cfg->devices[i];
	for (size_t i = 0; i < cfg->device_count; i++)
		if (is_loopback(cfg->devices[i].host))
			return &cfg->devices[i];
	return cfg->device_count == 1 ? &cfg->devices[0] : NULL;
}

const struct coh_config_policy *
coh_config_find_policy(const struct coh_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->policy_count; i++)
		if (strcmp(cfg->policies[i].name, name) == 0)
			return &cfg->policies[i];
	return NULL;
}

static int64_t c_to_mc(double c)
{
	return (int64_t)llround(c * 1000.0);
}

int coh_config_policy_guard(const struct coh_config_policy *p,
			    struct coh_thermal_guard_policy *out,
			    struct pep_err *err)
{
	if (strlen(p->name) >= sizeof(out->name))
		return pep_err_set(err, -EINVAL, "policy name '%s' is longer than %zu",
				   p->name, sizeof(out->name) - 1);
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", p->name);
	out->trip_mc = c_to_mc(p->threshold_c);
	out->resume_mc = c_to_mc(p->cooldown_c);
	out->warning_mc = c_to_mc(p->warning_c);
	out->check_interval_ms = p->check_interval_ms;
	return 0;
}

const char *coh_config_connection_name(enum coh_config_connection c)
{
	switch (c) {
	case COH_CONFIG_CONN_USB:
		return "usb";
	case COH_CONFIG_CONN_MDNS:
		return "mdns";
	default:
		return "ssh";
	}
}

const char *coh_config_action_name(enum coh_config_action a)
{
	switch (a) {
	case COH_CONFIG_ACTION_STOP:
		return "stop";
	case COH_CONFIG_ACTION_THROTTLE:
		return "throttle";
	default:
		return "pause";
	}
}

int coh_config_inventory_path(char *buf, size_t size,
			      coh_config_getenv_fn get, void *arg)
{
	const char *xdg = get ? get("XDG_CONFIG_HOME", arg) : getenv("XDG_CONFIG_HOME");
	const char *home = get ? get("HOME", arg) : getenv("HOME");
	int n;

	/* The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/cohete/inventory.yaml", xdg);
	else if (home && home[0])
		n = snprintf(buf, size, "%s/.config/cohete/inventory.yaml", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}
