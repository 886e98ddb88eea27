/*
 * cohete fan: show the fan, or set its PWM (0..255, or a percentage) and
 * read it back.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/core.h>

#include <cohete/config.h>
#include <cohete/power.h>

#include "cmd.h"
#include "json_doc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete fan [--json] [--sysroot DIR]\n"
		"       cohete fan set [PWM|PERCENT%%] [--yes] [--sysroot DIR] [--config FILE]\n\n"
		"Show the fan's PWM (0..255) and speed, or set the PWM and check that\n"
		"it stuck (nvfancontrol, when running, takes it back: stop it first).\n\n"
		"  --json          show: one JSON document\n"
		"  --yes           do not ask (needed when stdin is not a terminal)\n"
		"  --sysroot DIR   read and write /sys under DIR (also $COHETE_SYSROOT)\n"
		"  --config FILE   cohete.yaml: set without a value sets power.fan\n"
		"                  (also $COHETE_CONFIG)\n"
		"  -h, --help      this help\n");
}

/* "128" -> 128; "50%" -> 128. -1 when neither. */
static int64_t parse_pwm(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg)
		return -1;
	if (!strcmp(end, "%"))
		return v >= 0 && v <= 100 ? (v * 255 + 50) / 100 : -1;
	return *end || v < 0 || v > 255 ? -1 : v;
}

/* Schema cohete.fan/1 (docs/cohete.1, JSON OUTPUT). */
static int show_json(const struct coh_fan *fan)
{
	json_t *pct = fan->pwm == COH_NA ? json_null() :
		      json_real((double)((fan->pwm * 1000 + 127) / 255) / 10);

	return cli_json_print(cli_json_merge(
		cli_json_doc("cohete.fan/1", pep_time_real_ms()),
		json_pack("{s:s, s:o, s:o, s:o}", "source", fan->source,
			  "pwm", fan->pwm == COH_NA ? json_null() : json_integer(fan->pwm),
			  "pwm_percent", pct,
			  "speed_rpm", fan->rpm == COH_NA ? json_null() :
			  json_integer(fan->rpm))));
}

static int show(struct coh_sysroot *sr, int json)
{
	struct coh_fan fan;

	coh_fan_read(sr, &fan, NULL);
	if (!fan.present) {
		cli_error("no fan found");
		return CMD_EXIT_UNAVAILABLE;
	}
	if (json)
		return show_json(&fan);
	printf("%s: ", fan.source);
	if (fan.pwm != COH_NA)
		printf("pwm %" PRId64 "/255 (%" PRId64 "%%)", fan.pwm,
		       (fan.pwm * 100 + 127) / 255);
	if (fan.rpm != COH_NA)
		printf("%s%" PRId64 " rpm", fan.pwm != COH_NA ? ", " : "", fan.rpm);
	putchar('\n');
	return CMD_EXIT_OK;
}

static int set(struct coh_sysroot *sr, const char *arg, int yes)
{
	int64_t pwm = parse_pwm(arg);
	struct pep_err err;
	int ret;

	if (pwm < 0) {
		cli_error("'%s' is not a PWM 0..255 or a percentage 0..100%%", arg);
		return CMD_EXIT_USAGE;
	}
	if (!yes && !isatty(STDIN_FILENO)) {
		cli_error("not setting the fan without --yes (stdin is not a terminal)");
		return CMD_EXIT_USAGE;
	}
	ret = coh_fan_set_pwm(sr, pwm, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -ENODEV ? CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
	}
	printf("fan: pwm set to %" PRId64 "/255, verified\n", pwm);
	return CMD_EXIT_OK;
}

static const struct cmd verbs[] = {
	{ "set", NULL, "set the PWM and read it back" },
};

static const struct cli_level verb_level = {
	.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
};

int cmd_fan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sysroot = NULL, *value = NULL;
	char pwm[16];
	struct coh_sysroot *sr;
	int c, yes = 0, json = 0, ret, setting;

	ret = cli_config_open(argc, argv);
	if (ret)
		return ret;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "hy", longopts)) != -1) {
		if (c == 'y') {
			yes = 1;
		} else if (c == 'j') {
			json = 1;
		} else if (c == 's') {
			sysroot = optarg;
		} else if (c == 'C') {
			continue;	/* read by cli_config_open() */
		} else if (c == 'h') {
			usage(stdout);
			return CMD_EXIT_OK;
		} else {
			return CMD_EXIT_USAGE;
		}
	}
	setting = optind < argc;
	if (setting && !cli_find(&verb_level, argv[optind]))
		return CMD_EXIT_USAGE;
	if (setting && argc - optind == 2) {
		value = argv[optind + 1];
	} else if (setting && argc - optind == 1 && cli_config() &&
		   cli_config()->cfg->power.fan_pwm >= 0) {
		snprintf(pwm, sizeof(pwm), "%d", (int)cli_config()->cfg->power.fan_pwm);
		value = pwm;
	}
	if ((setting && !value) || (!setting && optind < argc)) {
		cli_error("usage: cohete fan [set PWM] (PWM may come from power.fan "
			  "in a --config file)");
		return CMD_EXIT_USAGE;
	}
	if (setting && json) {
		cli_error("--json applies to showing the fan, not to 'set'");
		return CMD_EXIT_USAGE;
	}
	if (cli_open_sysroot(sysroot, &sr))
		return CMD_EXIT_FAIL;
	ret = setting ? set(sr, value, yes) : show(sr, json);
	coh_sysroot_close(sr);
	return ret;
}
