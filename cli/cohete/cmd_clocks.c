/*
 * cohete clocks: jetson_clocks' state, parsed; store and restore it; pin
 * the clocks ("on", refused while the device is hot) and unpin them
 * ("off", a restore of what was stored), each verified by the library.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <pepita/core.h>

#include <cohete/config.h>
#include <cohete/power.h>

#include "cmd.h"
#include "json_doc.h"

enum verb { SHOW, STORE, RESTORE, ON, OFF };

static const struct cmd verbs[] = {
	{ "show", NULL, "jetson_clocks --show, parsed (the default)" },
	{ "store", NULL, "save what jetson_clocks changes (to FILE)" },
	{ "restore", NULL, "write the stored settings back and verify" },
	{ "on", NULL, "pin the clocks at the maximum, refused while hot" },
	{ "off", NULL, "restore what `on` stored" },
};

static const struct cli_level verb_level = {
	.kind = "action", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
};

struct clocks_opts {
	const char *sysroot;
	const char *program;
	const char *file;
	const char *state_dir;
	double max_temp_c;		/* 0 = the library's default */
	int json, yes, force, fan;
	enum verb verb;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete clocks [show] [--json]\n"
		"       cohete clocks store [FILE]\n"
		"       cohete clocks restore [FILE] [--yes]\n"
		"       cohete clocks on [--force] [--max-temp C] [--fan] [--file FILE] [--yes]\n"
		"       cohete clocks off [--file FILE] [--yes]\n"
		"  every form also takes [--sysroot DIR] [--jetson-clocks PATH]\n"
		"  [--state-dir DIR] [--config FILE]\n\n"
		"Show jetson_clocks' state (parsed: CPUs, GPU, EMC, engines, fan) and\n"
		"whether the clocks are pinned; store it or restore it; pin the clocks\n"
		"at the power mode's maximum (on) or put back what was stored (off).\n"
		"`on` stores first when nothing is stored, is refused while the device\n"
		"is at or above the temperature limit, and is verified; so is every\n"
		"restore. The store file is l4t_dfs.conf in the state directory\n"
		"(default " COH_CLOCKS_STATE_DIR "). `store FILE` also writes a copy\n"
		"elsewhere, but restore, on and off use only the state directory's\n"
		"file, and only when no other user may have written it: jetson_clocks\n"
		"--restore writes, as root, every path a store file names.\n\n"
		"  --json               one JSON document (show)\n"
		"  --force              on: skip the temperature check\n"
		"  --max-temp C         on: refuse at or above C degrees (default: the\n"
		"                       conservative breaker's warning level, 60)\n"
		"  --fan                on: also run the fan at full speed\n"
		"  --file FILE          on, off: the store file (only the state directory's)\n"
		"  --state-dir DIR      where the store file lives (default\n"
		"                       " COH_CLOCKS_STATE_DIR ")\n"
		"  --yes                do not ask (needed when stdin is not a terminal)\n"
		"  --jetson-clocks PATH the jetson_clocks program (default: from PATH)\n"
		"  --sysroot DIR        the machine's files under DIR (also $COHETE_SYSROOT)\n"
		"  --config FILE        cohete.yaml: power.max_temp_c and\n"
		"                       power.jetson_clocks_path are the defaults of\n"
		"                       --max-temp and --jetson-clocks (also $COHETE_CONFIG)\n"
		"  -h, --help           this help\n");
}

static int parse_temp(const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !isfinite(v) || v < 20 || v > 125) {
		cli_error("--max-temp '%s': not a temperature from 20 to 125 (°C)",
			  arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_flags(int argc, char **argv, struct clocks_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "force", no_argument, NULL, 'f' },
		{ "fan", no_argument, NULL, 'F' },
		{ "max-temp", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'o' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "jetson-clocks", required_argument, NULL, 'p' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	c = cli_config_open(argc, argv);
	if (c)
		return -c;
	if (cli_config())
		o->program = cli_config()->cfg->power.jetson_clocks_path;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "hy", longopts)) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 'y': o->yes = 1; break;
		case 'f': o->force = 1; break;
		case 'F': o->fan = 1; break;
		case 'm':
			if (parse_temp(optarg, &o->max_temp_c) < 0)
				return -CMD_EXIT_USAGE;
			break;
		case 'o': o->file = optarg; break;
		case 'd': o->state_dir = optarg; break;
		case 'p': o->program = optarg; break;
		case 's': o->sysroot = optarg; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'h': usage(stdout); return 1;
		default:
			return -CMD_EXIT_USAGE;
		}
	}
	return 0;
}

/* The verb and its FILE, and flags that do not belong to the verb. */
static int parse_args(int argc, char **argv, struct clocks_opts *o)
{
	int ret = parse_flags(argc, argv, o);
	const struct cmd *verb;
	const char *bad = NULL;

	if (ret)
		return ret;
	if (optind < argc) {
		verb = cli_find(&verb_level, argv[optind]);
		if (!verb)
			return -CMD_EXIT_USAGE;
		o->verb = (enum verb)(verb - verbs);
		optind++;
	}
	if ((o->verb == STORE || o->verb == RESTORE) && optind < argc && !o->file)
		o->file = argv[optind++];
	if (optind < argc) {
		cli_error("%s: unexpected argument '%s'", verbs[o->verb].name, argv[optind]);
		return -CMD_EXIT_USAGE;
	}
	if (o->json && o->verb != SHOW)
		bad = "--json";
	else if (o->verb != ON && (o->force || o->fan || o->max_temp_c))
		bad = o->force ? "--force" : o->fan ? "--fan" : "--max-temp";
	else if (o->verb == SHOW && o->file)
		bad = "--file";
	if (bad) {
		cli_error("%s does not apply to '%s'", bad, verbs[o->verb].name);
		return -CMD_EXIT_USAGE;
	}
	if (o->verb == ON && !o->max_temp_c && cli_config())
		o->max_temp_c = cli_config()->cfg->power.max_temp_c;
	return 0;
}

static int fail(int ret, const struct pep_err *err)
{
	cli_error("%s", err->msg);
	if (ret == -ENOENT)
		return CMD_EXIT_UNAVAILABLE;
	return CMD_EXIT_FAIL;
}

/* Show */

static json_t *num(int64_t v)
{
	return v == COH_NA ? json_null() : json_integer((json_int_t)v);
}

/* A clock as MHz, a decimal: kHz with per_mhz 1000, Hz with 1e6. */
static json_t *mhz_json(int64_t v, double per_mhz)
{
	return v == COH_NA ? json_null() : json_real((double)v / per_mhz);
}

static json_t *flag(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *str_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

static json_t *cpu_json(const struct coh_clocks_cpu *cpu)
{
	json_t *idle = json_object();

	for (unsigned int i = 0; i < cpu->idle_count; i++)
		json_object_set_new(idle, cpu->idle[i].name, flag(cpu->idle[i].enabled));
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)cpu->id, "online", flag(cpu->online),
			 "governor", str_or_null(cpu->governor),
			 "min_mhz", mhz_json(cpu->min_khz, 1e3),
			 "max_mhz", mhz_json(cpu->max_khz, 1e3),
			 "cur_mhz", mhz_json(cpu->cur_khz, 1e3), "idle_states", idle);
}

static json_t *domain_json(const struct coh_clocks_domain *d, int with_name)
{
	json_t *o;

	if (!d->present)
		return json_null();
	o = with_name ? json_pack("{s:s, s:o}", "name", d->name, "online",
				  flag(d->online)) : json_object();
	json_object_set_new(o, "min_mhz", mhz_json(d->min_hz, 1e6));
	json_object_set_new(o, "max_mhz", mhz_json(d->max_hz, 1e6));
	json_object_set_new(o, "cur_mhz", mhz_json(d->cur_hz, 1e6));
	/* FreqOverride=1: the EMC is locked at its maximum */
	if (!strcmp(d->name, "EMC"))
		json_object_set_new(o, "freq_override", d->freq_override == COH_NA ?
				    json_null() : json_boolean(d->freq_override));
	return o;
}

static json_t *fan_json(const struct coh_clocks_fan *f)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", f->name,
			 "control", str_or_null(f->control), "pwm", num(f->pwm),
			 "pwm_percent", f->pwm == COH_NA ? json_null() :
			 json_real((double)((f->pwm * 1000 + 127) / 255) / 10),
			 "pwm_enable", num(f->pwm_enable));
}

static int show_json(const struct coh_clocks *c, int pinned)
{
	json_t *cpus = json_array(), *engines = json_array(), *fans = json_array();
	json_t *doc;

	for (unsigned int i = 0; i < c->cpu_count; i++)
		json_array_append_new(cpus, cpu_json(&c->cpu[i]));
	for (unsigned int i = 0; i < c->engine_count; i++)
		json_array_append_new(engines, domain_json(&c->engine[i], 1));
	for (unsigned int i = 0; i < c->fan_count; i++)
		json_array_append_new(fans, fan_json(&c->fan[i]));
	doc = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
			"soc_family", str_or_null(c->soc_family),
			"machine", str_or_null(c->machine),
			"power_mode", str_or_null(c->power_mode),
			"online_cpus", str_or_null(c->online_cpus),
			"pinned", pinned < 0 ? json_null() : json_boolean(pinned),
			"cpus", cpus, "gpu", domain_json(&c->gpu, 0),
			"gpu_active_tpc_count", num(c->gpu_tpcs),
			"emc", domain_json(&c->emc, 0), "engines", engines, "fans", fans,
			"unknown_line_count", (json_int_t)c->unknown_lines);
	return cli_json_print(cli_json_merge(cli_json_doc("cohete.clocks/2",
							  pep_time_real_ms()), doc));
}

/* "729.6" MHz from kHz (div 1000) or Hz (div 1000000); "?" when unknown. */
static const char *mhz(int64_t v, int64_t div, char *buf, size_t size)
{
	if (v == COH_NA)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%.1f", (double)v / (double)div);
	return buf;
}

static void show_domain(const struct coh_clocks_domain *d, const char *extra)
{
	char a[24], b[24], n[24];

	printf("%-12s %s-%s MHz, at %s%s%s\n", d->name, mhz(d->min_hz, 1000000, a, sizeof(a)),
	       mhz(d->max_hz, 1000000, b, sizeof(b)), mhz(d->cur_hz, 1000000, n, sizeof(n)),
	       d->online == 0 ? ", offline" : "", extra);
}

static void show_cpus(const struct coh_clocks *c)
{
	char a[24], b[24], n[24];

	for (unsigned int i = 0; i < c->cpu_count; i++) {
		const struct coh_clocks_cpu *cpu = &c->cpu[i];
		char name[16];

		snprintf(name, sizeof(name), "cpu%u", cpu->id);
		if (cpu->online == 0) {
			printf("%-12s offline\n", name);
			continue;
		}
		printf("%-12s %s-%s MHz, at %s, %s", name, mhz(cpu->min_khz, 1000, a, sizeof(a)),
		       mhz(cpu->max_khz, 1000, b, sizeof(b)), mhz(cpu->cur_khz, 1000, n, sizeof(n)),
		       cpu->governor[0] ? cpu->governor : "?");
		for (unsigned int k = 0; k < cpu->idle_count; k++)
			printf("%s%s%s", k ? " " : ", idle ", cpu->idle[k].name,
			       cpu->idle[k].enabled ? "" : "(off)");
		putchar('\n');
	}
}

static void show_text(const struct coh_clocks *c, int pinned, const char *why)
{
	char extra[64] = "";

	printf("jetson_clocks: %s%s%s\n",
	       pinned > 0 ? "on (clocks pinned at the maximum)" :
	       pinned == 0 ? "off (clocks not pinned: " : "unknown (no CPU or GPU clocks)",
	       pinned == 0 ? why : "", pinned == 0 ? ")" : "");
	printf("%s%s%s%s%s\n", c->soc_family, c->machine[0] ? "  " : "", c->machine,
	       c->power_mode[0] ? "  power mode " : "", c->power_mode);
	show_cpus(c);
	if (c->gpu.present) {
		if (c->gpu_tpcs != COH_NA)
			snprintf(extra, sizeof(extra), ", %" PRId64 " TPCs active", c->gpu_tpcs);
		show_domain(&c->gpu, extra);
	}
	if (c->emc.present)
		show_domain(&c->emc, c->emc.freq_override == 1 ? ", locked" :
			    c->emc.freq_override == 0 ? ", not locked" : "");
	for (unsigned int i = 0; i < c->engine_count; i++)
		show_domain(&c->engine[i], "");
	for (unsigned int i = 0; i < c->fan_count; i++) {
		const struct coh_clocks_fan *f = &c->fan[i];

		if (f->pwm == COH_NA)
			snprintf(extra, sizeof(extra), "?");
		else
			snprintf(extra, sizeof(extra), "%" PRId64, f->pwm);
		printf("%-12s %s %s/255%s%s\n", "fan", f->name, extra,
		       f->control[0] ? ", dynamic control " : "", f->control);
	}
}

static int show(const struct coh_sysroot *sr, const struct coh_clocks_opts *co,
		const struct clocks_opts *o)
{
	struct coh_clocks *c = malloc(sizeof(*c));
	struct pep_err err;
	char why[256];
	int ret, pinned;

	if (!c) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	ret = coh_clocks_show(sr, co, c, &err);
	if (ret < 0) {
		free(c);
		return fail(ret, &err);
	}
	pinned = coh_clocks_pinned(c, why, sizeof(why));
	if (o->json) {
		ret = show_json(c, pinned);
	} else {
		show_text(c, pinned, why);
		ret = CMD_EXIT_OK;
	}
	free(c);
	return ret;
}

/* Changes */

static int turn_on(const struct coh_sysroot *sr, const struct coh_clocks_opts *co,
		   const char *file)
{
	struct coh_clocks_on_result res;
	struct pep_err err;
	int ret = coh_clocks_on(sr, co, file, &res, &err);

	if (ret < 0)
		return fail(ret, &err);
	printf("clocks: pinned at the maximum%s, verified", co->fan ? ", fan at full speed" : "");
	if (res.temp_mc != COH_NA)
		printf(" (%s %.1f °C, limit %.1f °C)", res.zone, res.temp_mc / 1000.0,
		       res.limit_mc / 1000.0);
	else
		printf(" (temperature not checked: --force)");
	if (res.stored)
		printf("; the settings before were stored in %s", res.store_file);
	else
		printf("; `cohete clocks off` restores %s", res.store_file);
	putchar('\n');
	return CMD_EXIT_OK;
}

static int change(const struct coh_sysroot *sr, const struct coh_clocks_opts *co,
		  const struct clocks_opts *o, const char *file)
{
	struct pep_err err;
	char what[PATH_MAX + 64];
	int ret;

	if (o->verb == STORE) {
		ret = coh_clocks_store(sr, co, file, &err);
		if (ret < 0)
			return fail(ret, &err);
		printf("clocks: stored %d settings in %s\n", ret, file);
		return CMD_EXIT_OK;
	}
	if (o->verb == ON)
		snprintf(what, sizeof(what), "pin the clocks at the maximum");
	else
		snprintf(what, sizeof(what), "restore the clocks from %s", file);
	ret = cli_confirm(o->yes, what);
	if (ret != CMD_EXIT_OK)
		return ret;
	if (o->verb == ON)
		return turn_on(sr, co, file);
	ret = o->verb == OFF ? coh_clocks_off(sr, co, file, &err) :
			       coh_clocks_restore(sr, co, file, &err);
	if (ret < 0)
		return fail(ret, &err);
	printf("clocks: restored from %s, %d settings verified\n", file, ret);
	return CMD_EXIT_OK;
}

int cmd_clocks(int argc, char **argv)
{
	struct clocks_opts o = { .verb = SHOW };
	struct coh_clocks_opts co = { 0 };
	struct coh_sysroot *sr;
	char file[PATH_MAX];
	struct pep_err err;
	int ret = parse_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : -ret;
	co.program = o.program;
	co.force = o.force;
	co.fan = o.fan;
	co.max_temp_mc = (int64_t)(o.max_temp_c * 1000 + 0.5);
	co.state_dir = o.state_dir;
	if (o.verb != SHOW && coh_clocks_store_path(&co, o.file, file, sizeof(file), &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (cli_open_sysroot(o.sysroot, &sr))
		return CMD_EXIT_FAIL;
	ret = o.verb == SHOW ? show(sr, &co, &o) : change(sr, &co, &o, file);
	coh_sysroot_close(sr);
	return ret;
}
