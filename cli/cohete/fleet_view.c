/*
 * The fleet as its devices say it is: `cohete status --fleet` (a row per
 * device), `cohete deploy --check` (what differs from the file) and
 * `cohete rollback`. Every device is asked at once (coh_fleet_survey:
 * `cohete engine state` over ssh) and compared with the file by
 * coh_fleet_drift(); this file prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <pepita/core.h>

#include "cmd.h"
#include "fleet_view.h"
#include "json_doc.h"

/* The value at a dotted path ("engine.state"), or NULL. */
static json_t *jget(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_object_get(o, path);
}

static const char *jget_str(json_t *o, const char *path)
{
	return json_string_value(jget(o, path));
}

/* The hottest zone's temperature; < -273 when unknown. */
static double hottest_c(json_t *st)
{
	json_t *zones = jget(st, "device.thermal.zones"), *z;
	const char *hot = jget_str(st, "device.thermal.hottest");
	size_t i;

	json_array_foreach(zones, i, z)
		if (hot && jget_str(z, "zone") && !strcmp(jget_str(z, "zone"), hot))
			return json_number_value(json_object_get(z, "temp_celsius"));
	return -300.0;
}

/* ==== status --fleet ========================================================== */

struct row {
	char device[64], module[64], reach[16], temp[16], breaker[16], mem[32], power[24];
	char model[48], level[16], engine[24], tps[16];
};

static void row_for_model(struct row *r, json_t *m)
{
	json_t *spec = json_object_get(m, "spec");
	const char *state = jget_str(m, "engine.state");
	json_t *tps = jget(m, "engine.tokens_per_s");
	json_t *rss = jget(m, "engine.rss_bytes");

	snprintf(r->model, sizeof(r->model), "%s", jget_str(m, "model"));
	snprintf(r->level, sizeof(r->level), "%s", jget_str(spec, "level") ?
		 jget_str(spec, "level") : "-");
	snprintf(r->engine, sizeof(r->engine), "%s", state ? state : "down");
	if (json_is_number(tps))
		snprintf(r->tps, sizeof(r->tps), "%.1f", json_number_value(tps));
	if (json_integer_value(rss) && json_integer_value(jget(spec, "memory_max_bytes")))
		snprintf(r->mem, sizeof(r->mem), "%.0f/%.0f MiB",
			 cli_mib((uint64_t)json_integer_value(rss)),
			 cli_mib((uint64_t)json_integer_value(jget(spec, "memory_max_bytes"))));
}

static void row_device(struct row *r, const struct coh_config_device *d, json_t *st)
{
	const char *mod = jget_str(st, "device.device.module.name");
	const char *mode = jget_str(st, "device.power.mode.name");
	double t = hottest_c(st);

	memset(r, 0, sizeof(*r));
	snprintf(r->device, sizeof(r->device), "%s", d->id);
	snprintf(r->module, sizeof(r->module), "%s", mod ? mod : d->module_name ?
		 d->module_name : "-");
	snprintf(r->reach, sizeof(r->reach), "%s", st ? "yes" : "no");
	if (t > -273)
		snprintf(r->temp, sizeof(r->temp), "%.1f C", t);
	snprintf(r->power, sizeof(r->power), "%s", mode ? mode : "-");
	snprintf(r->breaker, sizeof(r->breaker), "%s", jget_str(st, "agent.breaker.state") ?
		 jget_str(st, "agent.breaker.state") : "-");
	snprintf(r->mem, sizeof(r->mem), "-");
	snprintf(r->model, sizeof(r->model), "-");
	snprintf(r->level, sizeof(r->level), "-");
	snprintf(r->engine, sizeof(r->engine), "-");
	snprintf(r->tps, sizeof(r->tps), "-");
	if (!r->temp[0])
		snprintf(r->temp, sizeof(r->temp), "-");
}

static void print_row(const struct row *r)
{
	printf("%-16s %-36s %-5s %-8s %-9s %-17s %-12s %-20s %-8s %-9s %s\n",
	       r->device, r->module, r->reach, r->temp, r->breaker, r->mem, r->power,
	       r->model, r->level, r->engine, r->tps);
}

static void print_fleet(const struct coh_config *cfg, struct coh_fleet_survey *s)
{
	struct row r;

	printf("%-16s %-36s %-5s %-8s %-9s %-17s %-12s %-20s %-8s %-9s %s\n", "DEVICE",
	       "MODULE", "UP", "TEMP", "BREAKER", "MEMORY", "POWER", "MODEL", "LEVEL",
	       "ENGINE", "TOK/S");
	for (size_t i = 0; i < s->count; i++) {
		json_t *st = s->state[i] ? json_loads(s->state[i], 0, NULL) : NULL;
		json_t *models = json_object_get(st, "models"), *m;
		size_t k;

		row_device(&r, &cfg->devices[i], st);
		if (!json_array_size(models))
			print_row(&r);
		json_array_foreach(models, k, m) {
			row_for_model(&r, m);
			print_row(&r);
		}
		if (!st)
			printf("  %s: %s\n", cfg->devices[i].id, s->error[i]);
		json_decref(st);
	}
}

static json_t *fleet_json(const struct coh_config *cfg, struct coh_fleet_survey *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < s->count; i++) {
		json_t *st = s->state[i] ? json_loads(s->state[i], 0, NULL) : NULL;
		json_t *d = json_pack("{s:s,s:b,s:I}", "device", cfg->devices[i].id,
				      "reachable", st != NULL,
				      "answer_ms", (json_int_t)s->ms[i]);

		if (st)
			json_object_set_new(d, "state", st);
		else
			json_object_set_new(d, "error", json_string(s->error[i]));
		json_array_append_new(arr, d);
	}
	return arr;
}

int cli_fleet_status(const struct coh_fleet_remote *remote, int json)
{
	const struct coh_config *cfg = cli_config()->cfg;
	struct coh_fleet_survey *s;
	struct pep_err err;
	size_t down = 0;

	pep_err_clear(&err);
	if (coh_fleet_survey(cfg, remote, 0, &s, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	for (size_t i = 0; i < s->count; i++)
		down += !s->state[i];
	if (json) {
		json_t *doc = cli_json_doc("cohete.fleet/1", pep_time_real_ms());

		if (cli_json_print(cli_json_add(doc, "devices", fleet_json(cfg, s))) != CMD_EXIT_OK) {
			coh_fleet_survey_free(s);
			return CMD_EXIT_FAIL;
		}
	} else {
		print_fleet(cfg, s);
	}
	coh_fleet_survey_free(s);
	return down ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

/* ==== deploy --check ========================================================== */

static void drift_add(const char *device, const char *model, const char *what,
		      void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:o,s:s}", "device", device,
					     "model", model ? json_string(model) : json_null(),
					     "drift", what));
}

static bool device_in_plan(const struct coh_fleet_plan *plan, size_t device)
{
	for (size_t k = 0; k < plan->count; k++)
		if (plan->items[k].device == device)
			return true;
	return false;
}

int cli_fleet_check(const struct coh_fleet_plan *plan,
		    const struct coh_fleet_remote *remote, int json)
{
	const struct coh_config *cfg = cli_config()->cfg;
	json_t *list = json_array(), *x;
	struct coh_fleet_survey *s;
	struct pep_err err;
	size_t count = 0, i;

	pep_err_clear(&err);
	if (!list || coh_fleet_survey(cfg, remote, 0, &s, &err) < 0) {
		cli_error("%s", list ? err.msg : "out of memory");
		json_decref(list);
		return CMD_EXIT_FAIL;
	}
	for (size_t k = 0; k < s->count; k++)
		if (device_in_plan(plan, k))
			count += coh_fleet_drift(cfg, plan, k, s->state[k], s->error[k],
						 drift_add, list);
	coh_fleet_survey_free(s);
	if (json)
		return cli_json_print(cli_json_add(cli_json_add(
			cli_json_doc("cohete.deploy-check/1", pep_time_real_ms()),
			"drift_count", json_integer((json_int_t)count)), "drift", list)) ||
		       count ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	json_array_foreach(list, i, x)
		printf("%-16s %-20s %s\n", jget_str(x, "device"),
		       jget_str(x, "model") ? jget_str(x, "model") : "-",
		       jget_str(x, "drift"));
	if (!count)
		printf("no drift: the fleet runs what %s says\n", cli_config()->path);
	json_decref(list);
	return count ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

/* ==== rollback ================================================================ */

static void rollback_one(const struct coh_config *cfg, size_t device,
			 const char *model, const struct coh_fleet_remote *remote,
			 unsigned int timeout_s, json_t *arr, size_t *failed)
{
	struct coh_fleet_node_result r;
	struct pep_err err;

	pep_err_clear(&err);
	if (coh_fleet_device_rollback(cfg, device, remote, model, timeout_s, &r,
				      &err) < 0) {
		(*failed)++;
		if (!r.result[0])
			snprintf(r.reason, sizeof(r.reason), "%s", err.msg);
	}
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s}",
		"device", cfg->devices[device].id, "model", model,
		"result", r.result[0] ? r.result : "failed",
		"version", r.version, "reason", r.reason));
}

int cli_fleet_rollback(bool (*selected)(const char *id, void *arg), void *arg,
		       const struct coh_fleet_remote *remote, const char *model,
		       unsigned int timeout_s, int json)
{
	const struct coh_config *cfg = cli_config()->cfg;
	json_t *arr = json_array(), *x;
	size_t failed = 0, i;

	for (size_t m = 0; m < cfg->model_count; m++) {
		if (model && strcmp(model, cfg->models[m].name))
			continue;
		for (size_t j = 0; j < cfg->models[m].device_count; j++) {
			size_t dev = cfg->models[m].device_index[j];

			if (selected(cfg->devices[dev].id, arg))
				rollback_one(cfg, dev, cfg->models[m].name, remote,
					     timeout_s, arr, &failed);
		}
	}
	if (!json_array_size(arr)) {
		cli_error("nothing to roll back%s%s", model ? ": no device of the file runs " : "",
			  model ? model : "");
		json_decref(arr);
		return model ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
	}
	if (json)
		return cli_json_print(cli_json_add(cli_json_doc("cohete.rollback/1",
				pep_time_real_ms()), "steps", arr)) || failed ?
		       CMD_EXIT_FAIL : CMD_EXIT_OK;
	json_array_foreach(arr, i, x)
		printf("%-16s %-20s %-11s %s\n", jget_str(x, "device"), jget_str(x, "model"),
		       jget_str(x, "result"), jget_str(x, "reason"));
	json_decref(arr);
	return failed ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}
