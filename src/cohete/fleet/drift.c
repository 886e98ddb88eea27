/*
 * drift.c - what differs between the file and a device, from the state
 * the device sent (`cohete engine state --json`, coh_fleet_node_state()).
 * That text comes over the network from a machine the deployer does not
 * control: it is read with jansson's checked accessors only, a missing or
 * mistyped key is "not there", and nothing of it is trusted beyond being
 * printed back as text (fuzzed: tests/fuzz/fleet_state.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <cohete/fleet.h>

#include "fleet_priv.h"

struct drift {
	const char *device;
	coh_fleet_drift_fn fn;
	void *arg;
	size_t count;
};

static void report(struct drift *d, const char *model, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct drift *d, const char *model, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	d->count++;
	if (d->fn)
		d->fn(d->device, model, what, d->arg);
}

/* The string at a dotted path ("engine.state"), or NULL. */
static const char *str_at(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
}

static json_t *find_model(json_t *state, const char *model)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(state, "models"), i, m) {
		const char *name = str_at(m, "model");

		if (name && !strcmp(name, model))
			return m;
	}
	return NULL;
}

static bool argv_same(json_t *have, const struct coh_fleet_plan_item *it)
{
	if (!json_is_array(have) || json_array_size(have) != it->argc)
		return false;
	for (size_t i = 0; i < it->argc; i++) {
		const char *w = json_string_value(json_array_get(have, i));

		if (!w || strcmp(w, it->argv[i]))
			return false;
	}
	return true;
}

/* Printable, short: a hostile device's strings are echoed, not obeyed. */
static const char *safe(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; s && *s && n + 1 < size; s++)
		buf[n++] = (*s >= ' ' && *s < 0x7f) ? *s : '?';
	buf[n] = '\0';
	return buf;
}

static void check_item(struct drift *d, const struct coh_fleet_plan_item *it,
		       json_t *st)
{
	json_t *m = find_model(st, it->model_name), *spec = json_object_get(m, "spec");
	const char *art = str_at(spec, "artifact"), *state = str_at(m, "engine.state");
	const char *why = str_at(m, "engine.reason"), *level = str_at(spec, "level");
	char a[160], b[256], c[32];

	if (it->error || !it->artifact)
		return;		/* the plan's own error: --plan says it */
	if (!m || !art) {
		report(d, it->model_name, "not deployed (the file wants %s)", it->level);
		return;
	}
	if (strcmp(art, it->artifact))
		report(d, it->model_name, "runs %s (%s), the file wants %s (%s)",
		       level ? safe(level, c, sizeof(c)) : "?", safe(art, a, sizeof(a)),
		       it->level, it->artifact);
	else if (!argv_same(json_object_get(spec, "argv"), it))
		report(d, it->model_name,
		       "runs another engine command line than the file's (port, options)");
	if (!state || strcmp(state, "ready"))
		report(d, it->model_name, "engine %s%s%s",
		       state ? safe(state, c, sizeof(c)) : "not running",
		       why && *why ? ": " : "", why ? safe(why, b, sizeof(b)) : "");
}

/* The mode the file wants on dev: its own, else the fleet's. */
static void check_power(struct drift *d, const struct coh_config *cfg,
			const struct coh_config_device *dev, json_t *st)
{
	const char *want = dev->power_mode ? dev->power_mode : cfg->power.mode;
	json_t *mode = json_object_get(json_object_get(json_object_get(st, "device"),
						       "power"), "mode");
	const char *name = str_at(mode, "name");
	json_t *id = json_object_get(mode, "id");
	char idtext[24], buf[64];

	if (!want)
		return;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)json_integer_value(id));
	if (!name && !json_is_integer(id))
		report(d, NULL, "power mode unknown, the file wants %s", want);
	else if (!(name && !strcasecmp(name, want)) &&
		 !(json_is_integer(id) && !strcmp(idtext, want)))
		report(d, NULL, "power mode %s, the file wants %s",
		       name ? safe(name, buf, sizeof(buf)) : idtext, want);
}

/* Models the device runs that the file does not give it. */
static void check_extra(struct drift *d, const struct coh_fleet_plan *plan,
			size_t device, json_t *st)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(st, "models"), i, m) {
		const char *name = str_at(m, "model");
		bool listed = false;
		char buf[80];

		for (size_t k = 0; k < plan->count && name; k++)
			listed |= plan->items[k].device == device &&
				  !strcmp(plan->items[k].model_name, name);
		if (name && !listed && str_at(m, "active"))
			report(d, safe(name, buf, sizeof(buf)),
			       "runs a model the file does not give it");
	}
}

COH_API size_t coh_fleet_drift(const struct coh_config *cfg,
			       const struct coh_fleet_plan *plan, size_t device,
			       const char *state, const char *error,
			       coh_fleet_drift_fn fn, void *arg)
{
	struct drift d = { .device = cfg->devices[device].id, .fn = fn, .arg = arg };
	json_t *st = state ? json_loads(state, 0, NULL) : NULL;

	if (!json_is_object(st)) {
		report(&d, NULL, "%s%s", state ? "its state is not JSON" : "unreachable: ",
		       state ? "" : error ? error : "no answer");
		json_decref(st);
		return d.count;
	}
	for (size_t k = 0; k < plan->count; k++)
		if (plan->items[k].device == device)
			check_item(&d, &plan->items[k], st);
	check_power(&d, cfg, &cfg->devices[device], st);
	check_extra(&d, plan, device, st);
	json_decref(st);
	return d.count;
}
