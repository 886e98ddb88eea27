/*
 * cohete power: the nvpmodel modes and the current one; `cohete power set`
 * changes it through nvpmodel and verifies it took.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <pepita/core.h>

#include <cohete/config.h>
#include <cohete/power.h>

#include "cmd.h"
#include "json_doc.h"

struct power_opts {
	const char *sysroot;
	const char *nvpmodel;
	int json, yes, reboot_ok;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete power [--json] [--sysroot DIR]\n"
		"       cohete power set [MODE] [--yes] [--reboot-ok] [--nvpmodel PATH]\n"
		"                               [--sysroot DIR] [--config FILE]\n\n"
		"List the nvpmodel power modes (current one marked), or switch to MODE\n"
		"(an id or a name; without one, the mode --config wants here) and\n"
		"verify the switch took.\n\n"
		"  --json          one JSON document\n"
		"  --yes           do not ask (needed when stdin is not a terminal)\n"
		"  --reboot-ok     allow a switch that reboots the device (GPU gating)\n"
		"  --nvpmodel PATH the nvpmodel program (default: from PATH)\n"
		"  --sysroot DIR   read /etc and /var from DIR (also $COHETE_SYSROOT)\n"
		"  --config FILE   cohete.yaml: this device's power_mode (else power.mode)\n"
		"                  is set's MODE, power.nvpmodel the default of --nvpmodel\n"
		"                  (also $COHETE_CONFIG)\n"
		"  -h, --help      this help\n");
}

static const struct cmd verbs[] = {
	{ "set", NULL, "switch to MODE and verify" },
};

static const struct cli_level verb_level = {
	.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
};

static int parse_opts(int argc, char **argv, struct power_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "reboot-ok", no_argument, NULL, 'r' },
		{ "nvpmodel", required_argument, NULL, 'n' },
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
		o->nvpmodel = cli_config()->cfg->power.nvpmodel;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "hy", longopts)) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 'y': o->yes = 1; break;
		case 'r': o->reboot_ok = 1; break;
		case 'n': o->nvpmodel = optarg; break;
		case 's': o->sysroot = optarg; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'h': usage(stdout); return 1;
		default:
			return -CMD_EXIT_USAGE;
		}
	}
	return 0;
}

static int load(struct coh_sysroot *sr, struct coh_nvpmodel_conf **c)
{
	struct pep_err err;
	int ret = coh_nvpmodel_conf_load(sr, c, &err);

	if (ret == -ENOENT) {
		cli_error("%s (not a Jetson, or nvpmodel not installed)", err.msg);
		return CMD_EXIT_UNAVAILABLE;
	}
	if (ret < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	return CMD_EXIT_OK;
}

static int show(const struct coh_nvpmodel_conf *c, const struct coh_power_mode *now,
		int json)
{
	json_t *modes, *doc;

	if (!json) {
		for (size_t i = 0; i < c->mode_count; i++)
			printf("%c %2" PRId64 "  %s%s\n",
			       c->modes[i].id == now->id ? '*' : ' ', c->modes[i].id,
			       c->modes[i].name,
			       c->modes[i].id == c->default_id ? "  (default)" : "");
		return CMD_EXIT_OK;
	}
	modes = json_array();
	for (size_t i = 0; i < c->mode_count; i++)
		json_array_append_new(modes, json_pack("{s:I, s:s}", "id",
			(json_int_t)c->modes[i].id, "name", c->modes[i].name));
	doc = json_pack("{s:o, s:o, s:o}",
			"current", now->id == COH_NA ? json_null() :
			json_pack("{s:I, s:s}", "id", (json_int_t)now->id, "name", now->name),
			"default_id", c->default_id < 0 ? json_null() :
			json_integer(c->default_id), "modes", modes);
	return cli_json_print(cli_json_merge(cli_json_doc("cohete.power/2",
							  pep_time_real_ms()), doc));
}

/* "2" or "MAXN_SUPER" -> the mode id; -1 when no mode matches. */
static int64_t resolve(const struct coh_nvpmodel_conf *c, const char *arg)
{
	char *end;
	long long id = strtoll(arg, &end, 10);

	if (*arg && !*end && coh_nvpmodel_conf_mode(c, id))
		return id;
	for (size_t i = 0; i < c->mode_count; i++)
		if (!strcasecmp(c->modes[i].name, arg))
			return c->modes[i].id;
	return -1;
}

static int set(struct coh_sysroot *sr, const struct coh_nvpmodel_conf *c,
	       const struct power_opts *o, const char *arg)
{
	struct coh_power_set_opts so = { .nvpmodel = o->nvpmodel,
					 .reboot_ok = o->reboot_ok };
	struct coh_power_change ch;
	struct pep_err err;
	int64_t id = resolve(c, arg);
	char what[128];
	int ret;

	if (id < 0) {
		cli_error("no power mode '%s' in /etc/nvpmodel.conf", arg);
		return CMD_EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "switch the power mode to %s",
		 coh_nvpmodel_conf_mode(c, id)->name);
	ret = cli_confirm(o->yes, what);
	if (ret != CMD_EXIT_OK)
		return ret;
	ret = coh_power_set_mode(sr, &so, id, &ch, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -ENOENT ? CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
	}
	if (!ch.changed)
		printf("power mode: already %s (%" PRId64 ")\n", ch.to_name, ch.to_id);
	else
		printf("power mode: %" PRId64 " -> %s (%" PRId64 "), verified%s\n",
		       ch.from_id, ch.to_name, ch.to_id,
		       ch.reboot_required ? "; takes effect after the reboot" : "");
	return CMD_EXIT_OK;
}

int cmd_power(int argc, char **argv)
{
	struct power_opts o = { 0 };
	struct coh_nvpmodel_conf *c = NULL;
	struct coh_power_mode now;
	struct coh_sysroot *sr;
	int ret = parse_opts(argc, argv, &o);
	int setting = optind < argc;
	const char *mode = NULL;

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : -ret;
	if (setting && !cli_find(&verb_level, argv[optind]))
		return CMD_EXIT_USAGE;
	if (setting && argc - optind == 1)
		mode = cli_config_power_mode();
	else if (setting && argc - optind == 2)
		mode = argv[optind + 1];
	if ((setting && !mode) || (!setting && optind < argc)) {
		if (setting && argc - optind == 1)
			cli_error("set needs a MODE (none given, and no power mode "
				  "in a --config file)");
		else
			cli_error(setting ? "set takes one MODE" :
				  "unexpected argument '%s'", argv[optind]);
		return CMD_EXIT_USAGE;
	}
	if (cli_open_sysroot(o.sysroot, &sr))
		return CMD_EXIT_FAIL;
	ret = load(sr, &c);
	if (ret == CMD_EXIT_OK && setting) {
		ret = set(sr, c, &o, mode);
	} else if (ret == CMD_EXIT_OK) {
		coh_power_mode_read(sr, &now, NULL);
		ret = show(c, &now, o.json);
	}
	coh_nvpmodel_conf_free(c);
	coh_sysroot_close(sr);
	return ret;
}
