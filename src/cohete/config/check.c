/*
 * What one field cannot say alone: the thermal policies (built-ins and the
 * file's), device hosts by connection, references to policies, devices and
 * labels, memory budgets against a device's RAM, port collisions, duplicate
 * devices and models, and where each model's source resolves to. Every
 * finding points at the node that decides it.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_priv.h"

/* The built-in policies: the thermal guard's named ones. */
static const struct coh_config_policy builtin_policies[] = {
	{ "conservative", 65, 55, 60, 500, COH_CONFIG_ACTION_PAUSE },
	{ "aggressive", 75, 65, 70, 1000, COH_CONFIG_ACTION_PAUSE },
};
#define N_BUILTIN (sizeof(builtin_policies) / sizeof(builtin_policies[0]))

static void errorp(struct cfg_load *L, const struct cfg_node *at,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error at the path "set" by snprintf into L->path beforehand. */
static void errorp(struct cfg_load *L, const struct cfg_node *at,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vdiag(L, COH_CONFIG_ERROR, at, L->path, fmt, ap);
	va_end(ap);
}

static void set_path(struct cfg_load *L, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_path(struct cfg_load *L, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(L->path, sizeof(L->path), fmt, ap);
	va_end(ap);
}

/* The value node of key in map, else the map itself (for a position). */
static const struct cfg_node *at_key(const struct cfg_node *map, const char *key)
{
	const struct cfg_node *v = cfg_map_get(map, key);

	return v ? v : map;
}

/* Whether the node of key (or the map itself) had an error already. */
static bool failed(const struct cfg_node *map, const char *key)
{
	const struct cfg_node *v = cfg_map_get(map, key);

	return (map && map->failed) || (v && v->failed);
}

/* ---- thermal policies ---- */

static void check_policy(struct cfg_load *L, struct coh_config_policy *p,
			 const struct cfg_node *n)
{
	bool warn_given = !isnan(p->warning_c);

	if (failed(n, "threshold_c") || failed(n, "cooldown_c") ||
	    failed(n, "warning_c"))
		return;
	if (!warn_given)
		p->warning_c = p->threshold_c - 5;
	if (!(p->cooldown_c < p->threshold_c)) {
		set_path(L, "thermal.%s.cooldown_c", p->name);
		errorp(L, at_key(n, "cooldown_c"), "%g is not below threshold_c %g",
		       p->cooldown_c, p->threshold_c);
		return;
	}
	set_path(L, "thermal.%s.warning_c", p->name);
	if (p->warning_c > p->threshold_c)
		errorp(L, at_key(n, "warning_c"), "%g is above threshold_c %g",
		       p->warning_c, p->threshold_c);
	else if (!(p->warning_c > p->cooldown_c) && warn_given)
		errorp(L, at_key(n, "warning_c"), "%g is not above cooldown_c %g",
		       p->warning_c, p->cooldown_c);
	else if (!(p->warning_c > p->cooldown_c))
		errorp(L, n, "the default (threshold_c - 5 = %g) is not above cooldown_c %g; set warning_c",
		       p->warning_c, p->cooldown_c);
}

static void build_policies(struct cfg_load *L)
{
	size_t nf = L->file_policy_count, n = 0;
	struct coh_config_policy *all = cfg_alloc(&L->arena,
		(N_BUILTIN + nf + 1) * sizeof(*all));

	if (!all)
		return;
	for (size_t i = 0; i < N_BUILTIN; i++)
		all[n++] = builtin_policies[i];
	for (size_t i = 0; i < nf; i++) {
		struct coh_config_policy *p = &L->file_policies[i];
		size_t k;

		check_policy(L, p, L->policy_nodes[i]);
		for (k = 0; k < n && strcmp(all[k].name, p->name); k++)
			;
		all[k] = *p;
		if (k == n)
			n++;
	}
	L->cfg.policies = all;
	L->cfg.policy_count = n;
}

/* "no policy 'x'; did you mean 'y'?" (the names defined). */
static void policy_ref(struct cfg_load *L, const char *name,
		       const struct cfg_node *at)
{
	const char *names[64], *close;
	size_t n = 0;

	if (coh_config_find_policy(&L->cfg, name))
		return;
	for (size_t i = 0; i < L->cfg.policy_count && n < 64; i++)
		names[n++] = L->cfg.policies[i].name;
	close = pep_closest_word(name, names, n);
	if (close)
		errorp(L, at, "no thermal policy '%s'; did you mean '%s'?", name, close);
	else
		errorp(L, at, "no thermal policy '%s' (define it under thermal:)", name);
}

/* ---- devices ---- */

static void device_host(struct cfg_load *L, size_t i,
			struct coh_config_device *d, const struct cfg_node *dn)
{
	const struct cfg_node *ip = cfg_map_key(dn, "ip");

	if (ip && cfg_map_get(dn, "host")) {
		set_path(L, "fleet.devices[%zu].ip", i);
		errorp(L, ip, "give host or ip (its upstream spelling), not both");
	}
	if (d->host || failed(dn, "host") || failed(dn, "ip") ||
	    failed(dn, "connection"))
		return;
	if (d->connection == COH_CONFIG_CONN_USB)
		d->host = "192.168.55.1";
	else if (d->connection == COH_CONFIG_CONN_MDNS && d->id)
		d->host = cfg_printf(&L->arena, "%s.local", d->id);
	else if (d->connection == COH_CONFIG_CONN_SSH) {
		set_path(L, "fleet.devices[%zu]", i);
		errorp(L, dn, "missing required key 'host' (an ssh device needs its address)");
	}
}

static uint64_t device_ram_mb(const struct coh_config_device *d,
			      char *what, size_t size)
{
	if (d->ram_mb) {
		snprintf(what, size, "ram_mb");
		return d->ram_mb;
	}
	if (d->module && d->module->ram_gb) {
		snprintf(what, size, "%s", d->module->name);
		return (uint64_t)d->module->ram_gb * 1024;
	}
	return 0;
}

static void device_budget(struct cfg_load *L, size_t i,
			  const struct coh_config_device *d,
			  const struct cfg_node *dn)
{
	const struct cfg_node *v = cfg_map_get(dn, "memory_budget_mb");
	char what[160];
	uint64_t ram = device_ram_mb(d, what, sizeof(what));

	if (!ram || !d->memory_budget_mb || d->memory_budget_mb <= ram ||
	    failed(dn, "ram_mb") || failed(dn, "module"))
		return;
	set_path(L, "fleet.devices[%zu].memory_budget_mb", i);
	if (v)
		errorp(L, v, "%llu is more than %s's %llu MB (%s)",
		       (unsigned long long)d->memory_budget_mb, d->id,
		       (unsigned long long)ram, what);
	else
		errorp(L, at_key(L->defaults_node, "memory_budget_mb"),
		       "%llu (from fleet.defaults) is more than %s's %llu MB (%s)",
		       (unsigned long long)d->memory_budget_mb, d->id,
		       (unsigned long long)ram, what);
}

static void device_refs(struct cfg_load *L, size_t i,
			struct coh_config_device *d, const struct cfg_node *dn)
{
	const struct cfg_node *v = cfg_map_get(dn, "thermal_policy");

	if (!d->power_mode)
		d->power_mode = L->cfg.power.mode;
	if (v && d->thermal_policy) {
		set_path(L, "fleet.devices[%zu].thermal_policy", i);
		policy_ref(L, d->thermal_policy, v);
	}
}

/* The port of agent.listen must differ from each device's engine port. */
static void device_ports(struct cfg_load *L, size_t i,
			 const struct coh_config_device *d,
			 const struct cfg_node *dn)
{
	const struct cfg_node *v = cfg_map_get(cfg_map_get(dn, "inference"), "port");

	if (!v || d->inference.port != L->cfg.agent.listen_port)
		return;
	set_path(L, "fleet.devices[%zu].inference.port", i);
	errorp(L, v, "%u is also agent.listen's port", d->inference.port);
}

static void device_dups(struct cfg_load *L, size_t i)
{
	const struct coh_config_device *d = &L->cfg.devices[i], *e;
	const struct cfg_node *dn = L->device_nodes[i];

	for (size_t j = 0; j < i; j++) {
		e = &L->cfg.devices[j];
		if (!e->id)
			continue;
		if (!strcmp(d->id, e->id)) {
			set_path(L, "fleet.devices[%zu].id", i);
			errorp(L, at_key(dn, "id"), "duplicate device id '%s' (also fleet.devices[%zu], line %u)",
			       d->id, j, L->device_nodes[j]->line);
			return;
		}
		if (d->connection == COH_CONFIG_CONN_SSH &&
		    e->connection == COH_CONFIG_CONN_SSH && d->host && e->host &&
		    !strcmp(d->host, e->host) && d->port == e->port) {
			set_path(L, "fleet.devices[%zu].host", i);
			errorp(L, at_key(dn, cfg_map_get(dn, "ip") ? "ip" : "host"),
			       "%s:%u is also fleet.devices[%zu] (%s): one device twice?",
			       d->host, d->port, j, e->id);
			return;
		}
	}
}

static void check_devices(struct cfg_load *L)
{
	struct coh_config_device *devs = (struct coh_config_device *)L->cfg.devices;
	const struct cfg_node *dv = cfg_map_get(L->defaults_node, "thermal_policy");

	if (dv && L->defaults.thermal_policy) {
		set_path(L, "fleet.defaults.thermal_policy");
		policy_ref(L, L->defaults.thermal_policy, dv);
	}
	for (size_t i = 0; i < L->cfg.device_count; i++) {
		const struct cfg_node *dn = L->device_nodes[i];

		if (!devs[i].id)
			continue;	/* no id: reported, nothing to check by */
		device_host(L, i, &devs[i], dn);
		device_refs(L, i, &devs[i], dn);
		device_budget(L, i, &devs[i], dn);
		device_ports(L, i, &devs[i], dn);
		device_dups(L, i);
	}
}

/* ---- models ---- */

static bool has_label(const struct coh_config_device *d, const char *label)
{
	for (size_t i = 0; i < d->labels.count; i++)
		if (!strcmp(d->labels.v[i], label))
			return true;
	return false;
}

/* Resolve one selector entry into sel[] (1 per device chosen). */
static void select_one(struct cfg_load *L, const char *s,
		       const struct cfg_node *at, bool *sel)
{
	const struct coh_config *c = &L->cfg;
	const char *names[256], *close;
	size_t n = 0;
	bool any = false;

	if (!strcmp(s, "all")) {
		for (size_t i = 0; i < c->device_count; i++)
			sel[i] = true;
		return;
	}
	if (!strncmp(s, "label:", 6)) {
		for (size_t i = 0; i < c->device_count; i++)
			if (has_label(&c->devices[i], s + 6))
				sel[i] = any = true;
		if (!any)
			errorp(L, at, "no device has the label '%s'", s + 6);
		return;
	}
	for (size_t i = 0; i < c->device_count; i++) {
		if (!c->devices[i].id)
			continue;	/* its missing id was reported */
		if (!strcmp(c->devices[i].id, s))
			sel[i] = any = true;
		if (n < 256)
			names[n++] = c->devices[i].id;
	}
	if (any)
		return;
	close = pep_closest_word(s, names, n);
	if (close)
		errorp(L, at, "no device '%s'; did you mean '%s'?", s, close);
	else
		errorp(L, at, "no device '%s' in fleet.devices (or write all, or label:NAME)", s);
}

static void model_devices(struct cfg_load *L, size_t i,
			  struct coh_config_model *m, const struct cfg_node *mn)
{
	const struct cfg_node *v = cfg_map_get(mn, "devices");
	size_t n = 0, *idx;
	bool *sel;

	sel = calloc(L->cfg.device_count + 1, sizeof(*sel));
	idx = cfg_alloc(&L->arena, (L->cfg.device_count + 1) * sizeof(*idx));
	if (!sel || !idx) {
		free(sel);
		return;
	}
	for (size_t k = 0; k < m->devices.count; k++) {
		const struct cfg_node *at = v && v->kind == CFG_SEQ && k < v->count ?
			v->items[k] : (v ? v : mn);

		if (v && v->kind == CFG_SEQ)
			set_path(L, "models[%zu].devices[%zu]", i, k);
		else
			set_path(L, "models[%zu].devices", i);
		select_one(L, m->devices.v[k], at, sel);
	}
	for (size_t d = 0; d < L->cfg.device_count; d++)
		if (sel[d])
			idx[n++] = d;
	free(sel);
	m->device_index = idx;
	m->device_count = n;
}

/* The directory of a file name, for paths relative to it. */
static const char *dir_of(struct cfg_load *L, const char *file)
{
	const char *slash = strrchr(file, '/');
	char cwd[PATH_MAX];

	if (file[0] != '/' && getcwd(cwd, sizeof(cwd)))
		return slash ? cfg_printf(&L->arena, "%s/%.*s", cwd,
					  (int)(slash - file), file) :
			       cfg_strdup(&L->arena, cwd);
	return slash ? cfg_strndup(&L->arena, file, (size_t)(slash - file)) : "";
}

static const struct coh_config_mirror *longest_mirror(const struct coh_config *c,
						      const char *src)
{
	const struct coh_config_mirror *best = NULL;

	for (size_t i = 0; i < c->mirror_count; i++) {
		size_t n = strlen(c->mirrors[i].prefix);

		if (!strncmp(src, c->mirrors[i].prefix, n) &&
		    (!best || n > strlen(best->prefix)))
			best = &c->mirrors[i];
	}
	return best;
}

/* "pacha://models.sovereign.ai/" of "pacha://models.sovereign.ai/x/y". */
static void source_host(const char *src, char *buf, size_t size)
{
	const char *p = strstr(src, "://"), *slash;

	p = p ? p + 3 : src;
	slash = strchr(p, '/');
	snprintf(buf, size, "%.*s", (int)(slash ? slash - src + 1 : (long)strlen(src)), src);
}

static void model_source(struct cfg_load *L, size_t i,
			 struct coh_config_model *m, const struct cfg_node *mn)
{
	const struct cfg_node *v = at_key(mn, "source");
	const struct coh_config_mirror *mir;
	const char *src = m->source;
	char prefix[256];

	set_path(L, "models[%zu].source", i);
	if (!src)
		return;
	if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8)) {
		m->resolved_url = src;
		return;
	}
	if (!strstr(src, "://")) {
		m->resolved_url = src[0] == '/' ? src :
			cfg_printf(&L->arena, "%s/%s", dir_of(L, v->file), src);
		return;
	}
	mir = longest_mirror(&L->cfg, src);
	if (mir) {
		m->resolved_url = cfg_printf(&L->arena, "%s%s", mir->target,
					     src + strlen(mir->prefix));
		return;
	}
	m->resolved_url = NULL;
	source_host(src, prefix, sizeof(prefix));
	if (strncmp(src, "hf://", 5) && strncmp(src, "pacha://", 8)) {
		errorp(L, v, "'%s' is not a local path, an http(s):// URL, hf:// or pacha:// (or a prefix under mirrors:)",
		       src);
		return;
	}
	cfg_diag(L, COH_CONFIG_WARNING, v, L->path,
		 "no mirror for '%s'; add mirrors: {\"%s\": \"https://...\"}",
		 prefix, prefix);
}

static void check_models(struct cfg_load *L)
{
	struct coh_config_model *models = (struct coh_config_model *)L->cfg.models;

	for (size_t i = 0; i < L->cfg.model_count; i++) {
		const struct cfg_node *mn = L->model_nodes[i];

		for (size_t j = 0; j < i; j++)
			if (models[i].name && models[j].name &&
			    !strcmp(models[i].name, models[j].name)) {
				set_path(L, "models[%zu].name", i);
				errorp(L, at_key(mn, "name"),
				       "duplicate model name '%s' (also models[%zu], line %u)",
				       models[i].name, j, L->model_nodes[j]->line);
				break;
			}
		model_devices(L, i, &models[i], mn);
		model_source(L, i, &models[i], mn);
	}
}

/* ---- the rest ---- */

static void check_agent(struct cfg_load *L)
{
	const struct cfg_node *agent = cfg_map_get(L->root, "agent");
	const struct cfg_node *inf = cfg_map_get(L->root, "inference");
	const struct cfg_node *v = cfg_map_get(agent, "policy");

	if (v && L->cfg.agent.policy) {
		set_path(L, "agent.policy");
		policy_ref(L, L->cfg.agent.policy, v);
	}
	if (L->cfg.inference.port == L->cfg.agent.listen_port) {
		v = cfg_map_get(inf, "port");
		set_path(L, v ? "inference.port" : "agent.listen");
		errorp(L, v ? v : at_key(agent, "listen"),
		       "%u is also agent.listen's port", L->cfg.inference.port);
	}
}

/* discovery.methods' {static: [...]} hosts join discovery.ssh_hosts. */
static void join_static_hosts(struct cfg_load *L)
{
	struct coh_config_strv *h = &L->cfg.discovery.ssh_hosts;
	const struct coh_config_strv *s = &L->static_hosts;
	const char **v;

	if (!s->count)
		return;
	v = cfg_alloc(&L->arena, (h->count + s->count + 1) * sizeof(*v));
	if (!v)
		return;
	memcpy(v, h->v, h->count * sizeof(*v));
	memcpy(v + h->count, s->v, s->count * sizeof(*v));
	h->v = v;
	h->count += s->count;
}

void cfg_check(struct cfg_load *L)
{
	L->defaults_node = cfg_map_get(cfg_map_get(L->root, "fleet"), "defaults");
	build_policies(L);
	join_static_hosts(L);
	check_agent(L);
	check_devices(L);
	check_models(L);
	L->path[0] = '\0';
}
