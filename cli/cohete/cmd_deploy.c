/*
 * cohete deploy [--plan | --check] and cohete rollback: the fleet of a
 * cohete.yaml. The plan, the build, the deploy and the devices' state are
 * libcohete's (coh_fleet_*); this file parses options, compares and
 * prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <pepita/core.h>

#include "cmd.h"
#include "fleet_view.h"
#include "json_doc.h"

#define MAX_DEVICES	256
#define MAX_SSH_OPTIONS	32

struct deploy_args {
	int plan, check, build_only, json, keep_going;
	const char *devices[MAX_DEVICES];
	size_t device_count;
	const char *ssh_options[MAX_SSH_OPTIONS];
	struct coh_fleet_deploy_opts o;
	struct coh_fleet_build_opts b;
	const char *model;		/* rollback --model */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete deploy --config FILE [--plan | --check | --build-only] [--json]\n"
		"                     [--device ID]... [--max-parallel N] [--canary ID]\n"
		"                     [--keep-going] [--timeout S] [--transport auto|rsync|stream]\n"
		"                     [--cache DIR] [--remote-cohete PATH]\n"
		"                     [--identity FILE] [-o|--ssh-option OPTION]...\n\n"
		"Put the right model on every device of the file: for each (model, device)\n"
		"pair, the level the file names, or with auto the best that fits the\n"
		"device's memory budget; quantized once into a local cache, copied over\n"
		"ssh (resumed and verified; rsync when both ends have it), started by the\n"
		"device's `cohete agent --engines`, probed (health and one completion) and\n"
		"kept, or rolled back at once. A second deploy with nothing changed does\n"
		"nothing.\n\n"
		"  --plan             what would run where and why; changes nothing\n"
		"  --check            drift between the file and the fleet; exit 0 when none\n"
		"  --build-only       quantize what the plan needs into the cache; ship nothing\n"
		"  --device ID        only this device (repeatable)\n"
		"  --max-parallel N   devices at a time (default: all)\n"
		"  --canary ID        this device first and alone; the rest only if it works\n"
		"  --keep-going       go on after a device fails (exit 1 all the same)\n"
		"  --timeout S        how long a new engine may take to answer (default %u)\n"
		"  --transport T      auto (rsync where both ends have it), rsync or stream\n"
		"  --cache DIR        built models (default $XDG_CACHE_HOME/cohete/artifacts)\n"
		"  --remote-cohete P  cohete on the devices (default: $COHETE_REMOTE_COHETE,\n"
		"                     else cohete in their PATH)\n"
		"  --identity FILE    ssh key for every device (ssh -i)\n"
		"  -o, --ssh-option O an ssh -o option, repeatable\n"
		"  --json             one JSON document\n"
		"  -h, --help         this help\n", COH_FLEET_READY_TIMEOUT_S);
}

static void usage_rollback(FILE *out)
{
	fprintf(out,
		"usage: cohete rollback --config FILE [--device ID]... [--model M] [--json]\n"
		"                       [--timeout S] [--remote-cohete PATH]\n"
		"                       [--identity FILE] [-o|--ssh-option OPTION]...\n\n"
		"Put each device of the file (or each --device) back on the version of\n"
		"each of its models (or of --model) it ran before the last deploy: the\n"
		"device's supervisor starts it and it must answer, as a deploy's do.\n\n"
		"  --device ID        only this device (repeatable)\n"
		"  --model M          only this model\n"
		"  --timeout S        how long the old version may take to answer (default %u)\n"
		"  --remote-cohete P  cohete on the devices (default: $COHETE_REMOTE_COHETE,\n"
		"                     else cohete in their PATH)\n"
		"  --identity FILE    ssh key for every device (ssh -i)\n"
		"  -o, --ssh-option O an ssh -o option, repeatable\n"
		"  --json             one JSON document\n"
		"  -h, --help         this help\n", COH_FLEET_READY_TIMEOUT_S);
}

static int parse_args(int argc, char **argv, struct deploy_args *a,
		      void (*help)(FILE *out))
{
	static const struct option longopts[] = {
		{ "plan", no_argument, NULL, 'P' },
		{ "check", no_argument, NULL, 'K' },
		{ "build-only", no_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "max-parallel", required_argument, NULL, 'p' },
		{ "canary", required_argument, NULL, 'c' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "transport", required_argument, NULL, 'T' },
		{ "cache", required_argument, NULL, 'a' },
		{ "remote-cohete", required_argument, NULL, 'r' },
		{ "identity", required_argument, NULL, 'i' },
		{ "ssh-option", required_argument, NULL, 'o' },
		{ "model", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	c = cli_config_open(argc, argv);
	if (c)
		return c;
	a->o.remote.cohete = getenv("COHETE_REMOTE_COHETE");
	optind = 1;
	while ((c = cli_getopt(argc, argv, "ho:", longopts)) != -1) {
		switch (c) {
		case 'P': a->plan = 1; break;
		case 'K': a->check = 1; break;
		case 'B': a->build_only = 1; break;
		case 'j': a->json = 1; break;
		case 'd':
			if (a->device_count == MAX_DEVICES) {
				cli_error("--device: more than %d", MAX_DEVICES);
				return CMD_EXIT_USAGE;
			}
			a->devices[a->device_count++] = optarg;
			break;
		case 'p':
			if (cli_parse_ll("--max-parallel", optarg, 1, 1024, &v) < 0)
				return CMD_EXIT_USAGE;
			a->o.max_parallel = (unsigned int)v;
			break;
		case 'c': a->o.canary = optarg; break;
		case 'k': a->o.keep_going = true; break;
		case 't':
			if (cli_parse_ll("--timeout", optarg, 1, 3600, &v) < 0)
				return CMD_EXIT_USAGE;
			a->o.ready_timeout_s = (unsigned int)v;
			break;
		case 'T':
			if (!strcmp(optarg, "auto"))
				a->o.remote.transport = COH_FLEET_TRANSPORT_AUTO;
			else if (!strcmp(optarg, "rsync"))
				a->o.remote.transport = COH_FLEET_TRANSPORT_RSYNC;
			else if (!strcmp(optarg, "stream"))
				a->o.remote.transport = COH_FLEET_TRANSPORT_STREAM;
			else {
				cli_error("--transport: '%s': auto, rsync or stream", optarg);
				return CMD_EXIT_USAGE;
			}
			break;
		case 'a': a->b.cache_dir = optarg; break;
		case 'r': a->o.remote.cohete = optarg; break;
		case 'i': a->o.remote.identity = optarg; break;
		case 'o':
			if (a->o.remote.ssh_option_count == MAX_SSH_OPTIONS) {
				cli_error("--ssh-option: more than %d", MAX_SSH_OPTIONS);
				return CMD_EXIT_USAGE;
			}
			a->ssh_options[a->o.remote.ssh_option_count++] = optarg;
			break;
		case 'm': a->model = optarg; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'h': help(stdout); return CMD_EXIT_OK;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	a->o.remote.ssh_options = a->ssh_options;
	if (a->plan + a->check + a->build_only > 1) {
		cli_error("--plan, --check and --build-only: choose one");
		return CMD_EXIT_USAGE;
	}
	if (!cli_config()) {
		cli_error("no fleet: give --config FILE (or set COHETE_CONFIG)");
		return CMD_EXIT_USAGE;
	}
	return -1;
}

/* Every --device and the canary must be devices of the file. */
static int check_devices(const struct deploy_args *a, const struct coh_config *cfg)
{
	for (size_t i = 0; i < a->device_count; i++) {
		if (!coh_config_find_device(cfg, a->devices[i])) {
			cli_error("--device: no device '%s' in %s", a->devices[i], cfg->file);
			return -1;
		}
	}
	if (a->o.canary && !coh_config_find_device(cfg, a->o.canary)) {
		cli_error("--canary: no device '%s' in %s", a->o.canary, cfg->file);
		return -1;
	}
	return 0;
}

static bool device_selected(const struct deploy_args *a, const char *id)
{
	if (!a->device_count)
		return true;
	for (size_t i = 0; i < a->device_count; i++)
		if (!strcmp(a->devices[i], id))
			return true;
	return false;
}

/*
 * The plan's items of the selected devices, copied; from[k] is where
 * kept[k] came from, and it goes back there (with what the build added)
 * before the plan is freed.
 */
static size_t select_items(struct coh_fleet_plan *plan, const struct deploy_args *a,
			   struct coh_fleet_plan_item **kept, size_t **from)
{
	size_t n = 0;

	*kept = malloc((plan->count ? plan->count : 1) * sizeof(**kept));
	*from = malloc((plan->count ? plan->count : 1) * sizeof(**from));
	if (!*kept || !*from)
		return 0;
	for (size_t i = 0; i < plan->count; i++) {
		if (device_selected(a, plan->items[i].device_id)) {
			(*from)[n] = i;
			(*kept)[n++] = plan->items[i];
		}
	}
	return n;
}

/* ==== --plan ================================================================== */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *argv_json(const struct coh_fleet_plan_item *it)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < it->argc; i++)
		json_array_append_new(arr, json_string(it->argv[i]));
	return arr;
}

static json_t *item_json(const struct coh_fleet_plan_item *it)
{
	json_t *j = json_pack("{s:s,s:s}", "model", it->model_name,
			      "device", it->device_id);

	if (it->error) {
		json_object_set_new(j, "error", jstr(it->error_msg));
		return j;
	}
	json_object_set_new(j, "level", json_string(it->level));
	json_object_set_new(j, "auto", json_boolean(it->chose_auto));
	json_object_set_new(j, "fits", json_boolean(it->fits));
	json_object_set_new(j, "reason", jstr(it->reason));
	json_object_set_new(j, "would", jstr(it->would));
	json_object_set_new(j, "budget_bytes", json_integer((json_int_t)it->budget_bytes));
	json_object_set_new(j, "memory_bytes", json_integer((json_int_t)it->estimate.total));
	json_object_set_new(j, "weights_bytes", json_integer((json_int_t)it->estimate.weights));
	json_object_set_new(j, "kv_bytes", json_integer((json_int_t)it->estimate.kv));
	json_object_set_new(j, "context_tokens", json_integer(it->context));
	json_object_set_new(j, "slot_count", json_integer(it->parallel));
	json_object_set_new(j, "source_sha256", json_string(it->digest));
	json_object_set_new(j, "artifact", jstr(it->artifact));
	json_object_set_new(j, "path", jstr(it->path));
	json_object_set_new(j, "port", json_integer(it->port));
	json_object_set_new(j, "argv", argv_json(it));
	return j;
}

static void print_item(const struct coh_fleet_plan_item *it)
{
	char line[8192];

	if (it->error) {
		printf("%s on %s: error: %s\n\n", it->model_name, it->device_id,
		       it->error_msg ? it->error_msg : "not planned");
		return;
	}
	/* Rounded up, as the reason's figure: never less than it needs. */
	printf("%s on %s: %s, %llu MiB of %llu MiB%s\n", it->model_name,
	       it->device_id, it->level,
	       (unsigned long long)((it->estimate.total + (1u << 20) - 1) >> 20),
	       (unsigned long long)(it->budget_bytes >> 20),
	       it->fits ? "" : " (does not fit)");
	printf("  why     %s\n", it->reason);
	if (it->would)
		printf("  would   %s\n", it->would);
	printf("  file    %s\n", it->path);
	coh_fleet_argv_format((const char *const *)it->argv, line, sizeof(line));
	printf("  engine  %s\n\n", line);
}

static int print_plan(const struct coh_fleet_plan_item *items, size_t n,
		      const struct deploy_args *a)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += items[i].error || !items[i].fits;
	if (a->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, item_json(&items[i]));
		if (cli_json_print(cli_json_add(cli_json_doc("cohete.deploy-plan/1", pep_time_real_ms()),
						"items", arr)) != CMD_EXIT_OK)
			return CMD_EXIT_FAIL;
	} else {
		for (size_t i = 0; i < n; i++)
			print_item(&items[i]);
		printf("%zu pair%s: %zu planned, %zu not\n", n, n == 1 ? "" : "s",
		       n - bad, bad);
	}
	return bad ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

/* ==== deploy ================================================================== */

static void on_step(const struct coh_fleet_plan_item *it,
		    const struct coh_fleet_step *st, void *arg)
{
	const struct deploy_args *a = arg;
	char copied[96] = "";

	if (a->json)
		return;
	if (st->transport && strcmp(st->transport, "present"))
		snprintf(copied, sizeof(copied), " (copied %.1f MiB by %s in %.1f s)",
			 cli_mib(st->copied_bytes), st->transport,
			 (double)st->copy_ms / 1000.0);
	printf("%-16s %-20s %-8s %-11s %s%s\n", it->device_id, it->model_name,
	       it->level ? it->level : "-", coh_fleet_outcome_name(st->outcome),
	       st->message, copied);
	fflush(stdout);
}

static json_t *step_json(const struct coh_fleet_plan_item *it,
			 const struct coh_fleet_step *st)
{
	return json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:I,s:I,s:I}",
			 "device", it->device_id, "model", it->model_name,
			 "level", jstr(it->level),
			 "outcome", coh_fleet_outcome_name(st->outcome),
			 "version", st->version, "message", st->message,
			 "transport", jstr(st->transport),
			 "copied_bytes", (json_int_t)st->copied_bytes,
			 "copy_ms", (json_int_t)st->copy_ms,
			 "ready_ms", (json_int_t)st->ready_ms);
}

static int print_report(const struct coh_fleet_plan *plan,
			const struct coh_fleet_deploy_report *r,
			const struct deploy_args *a)
{
	bool bad = r->failed || r->rolled_back || r->skipped;

	if (a->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < r->count; i++)
			json_array_append_new(arr, step_json(&plan->items[i], &r->steps[i]));
		json_t *doc = cli_json_doc("cohete.deploy/1", pep_time_real_ms());

		doc = cli_json_add(doc, "steps", arr);
		doc = cli_json_add(doc, "updated_count", json_integer((json_int_t)r->updated));
		doc = cli_json_add(doc, "unchanged_count", json_integer((json_int_t)r->unchanged));
		doc = cli_json_add(doc, "rolled_back_count", json_integer((json_int_t)r->rolled_back));
		doc = cli_json_add(doc, "failed_count", json_integer((json_int_t)r->failed));
		doc = cli_json_add(doc, "skipped_count", json_integer((json_int_t)r->skipped));
		doc = cli_json_add(doc, "wall_ms", json_integer((json_int_t)r->wall_ms));
		if (cli_json_print(doc) != CMD_EXIT_OK)
			return CMD_EXIT_FAIL;
	} else if (!r->updated && !bad) {
		printf("nothing to do: every device runs what %s says (%.1f s)\n",
		       cli_config()->path, (double)r->wall_ms / 1000.0);
	} else {
		printf("%zu updated, %zu unchanged, %zu rolled back, %zu failed, %zu skipped in %.1f s\n",
		       r->updated, r->unchanged, r->rolled_back, r->failed, r->skipped,
		       (double)r->wall_ms / 1000.0);
	}
	return bad ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static void build_log(const char *line, void *arg)
{
	const struct deploy_args *a = arg;

	if (!a->json)
		fprintf(stderr, "build: %s\n", line);
}

static json_t *built_json(const struct coh_fleet_plan_item *it)
{
	json_t *j = json_pack("{s:s,s:s,s:o,s:o}", "model", it->model_name,
			      "device", it->device_id, "level", jstr(it->level),
			      "artifact", jstr(it->artifact));
	const char *why = it->error ? it->error_msg : it->build_error ?
			  it->build_error_msg : !it->fits ? "does not fit" : NULL;

	if (why || !it->built_path) {
		json_object_set_new(j, "error", json_string(why ? why : "not built"));
		return j;
	}
	json_object_set_new(j, "built_path", json_string(it->built_path));
	json_object_set_new(j, "built_size_bytes", json_integer((json_int_t)it->built_size));
	json_object_set_new(j, "built_sha256", json_string(it->built_sha256));
	json_object_set_new(j, "cached", json_boolean(it->built_cached));
	return j;
}

/* --build-only: what the build made or found, per item. */
static int print_built(const struct coh_fleet_plan *plan, const struct deploy_args *a)
{
	json_t *arr = json_array(), *x;
	size_t bad = 0, i;

	for (size_t k = 0; k < plan->count; k++) {
		json_array_append_new(arr, built_json(&plan->items[k]));
		bad += !plan->items[k].built_path;
	}
	if (a->json)
		return cli_json_print(cli_json_add(cli_json_doc("cohete.deploy-build/1", pep_time_real_ms()),
						   "items", arr)) || bad ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	json_array_foreach(arr, i, x) {
		const char *err = json_string_value(json_object_get(x, "error"));

		printf("%-16s %-20s %-8s %s\n", json_string_value(json_object_get(x, "device")),
		       json_string_value(json_object_get(x, "model")),
		       json_string_value(json_object_get(x, "level")) ?
		       json_string_value(json_object_get(x, "level")) : "-",
		       err ? err : json_string_value(json_object_get(x, "built_path")));
	}
	json_decref(arr);
	return bad ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static int deploy(struct coh_fleet_plan *plan, struct deploy_args *a)
{
	const struct coh_config *cfg = cli_config()->cfg;
	struct coh_fleet_deploy_report *r;
	struct pep_err err;
	int ret;

	pep_err_clear(&err);
	a->b.log = build_log;
	a->b.arg = a;
	ret = coh_fleet_build(cfg, plan, &a->b, &err);
	if (ret < 0) {
		cli_error("build: %s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (a->build_only)
		return print_built(plan, a);
	a->o.on_step = on_step;
	a->o.arg = a;
	ret = coh_fleet_deploy(cfg, plan, &a->o, &r, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	ret = print_report(plan, r, a);
	coh_fleet_deploy_report_free(r);
	return ret;
}

int cmd_deploy(int argc, char **argv)
{
	struct deploy_args a = { 0 };
	struct coh_fleet_plan *plan;
	struct coh_fleet_plan_item *all, *kept;
	size_t all_count, *from = NULL;
	struct pep_err err;
	int ret = parse_args(argc, argv, &a, usage);

	if (ret >= 0)
		return ret;
	if (a.model) {
		cli_error("--model is rollback's option; deploy puts every model of the file");
		return CMD_EXIT_USAGE;
	}
	if (check_devices(&a, cli_config()->cfg) < 0)
		return CMD_EXIT_USAGE;
	pep_err_clear(&err);
	if (coh_fleet_plan(cli_config()->cfg, NULL, &plan, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	all = plan->items;
	all_count = plan->count;
	plan->count = select_items(plan, &a, &kept, &from);
	plan->items = kept;
	if (a.plan)
		ret = print_plan(plan->items, plan->count, &a);
	else if (a.check)
		ret = cli_fleet_check(plan, &a.o.remote, a.json);
	else
		ret = deploy(plan, &a);
	for (size_t k = 0; kept && from && k < plan->count; k++)
		all[from[k]] = kept[k];
	plan->items = all;
	plan->count = all_count;
	free(kept);
	free(from);
	coh_fleet_plan_free(plan);
	return ret;
}

static bool selected(const char *id, void *arg)
{
	return device_selected(arg, id);
}

int cmd_rollback(int argc, char **argv)
{
	struct deploy_args a = { 0 };
	int ret = parse_args(argc, argv, &a, usage_rollback);

	if (ret >= 0)
		return ret;
	if (a.plan || a.check || a.build_only || a.o.canary || a.o.max_parallel) {
		cli_error("--plan, --check, --build-only, --canary and --max-parallel are deploy's options, not rollback's");
		return CMD_EXIT_USAGE;
	}
	if (check_devices(&a, cli_config()->cfg) < 0)
		return CMD_EXIT_USAGE;
	return cli_fleet_rollback(selected, &a, &a.o.remote, a.model,
				  a.o.ready_timeout_s, a.json);
}
