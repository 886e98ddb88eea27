/*
 * --config FILE on the commands that take options (status, power, clocks,
 * fan, quantize, agent, monitor): the file's values are the options'
 * defaults, and an option given on the command line wins. The file is
 * loaded before the command parses its options, so each command only
 * seeds its option struct from cli_config() and lets getopt overwrite.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/config.h>
#include <cohete/device.h>
#include <cohete/sysroot.h>
#include <cohete/thermal.h>

#include "cmd.h"

/*
 * A process runs one command, and the configuration is read by its option
 * parser, its policy lookups and its defaults: one loaded copy, held here,
 * spares threading it through every helper.
 */
static struct cli_config loaded;

const struct cli_config *cli_config(void)
{
	return loaded.cfg ? &loaded : NULL;
}

/* The value of --name in argv (before "--"), also as --name=VALUE. */
static const char *scan_option(int argc, char **argv, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strncmp(argv[i], name, len))
			continue;
		if (argv[i][len] == '=')
			found = argv[i] + len + 1;
		else if (!argv[i][len] && i + 1 < argc)
			found = argv[++i];
	}
	return found;
}

static void print_diags(const struct coh_config_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < d->count; i++) {
		coh_config_diag_format(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (d->omitted)
		fprintf(stderr, "(and %zu more errors)\n", d->omitted);
}

/* This machine's entry in the fleet: matched by serial, then hostname. */
static void find_local(int argc, char **argv)
{
	struct coh_sysroot_opts so = { .root = scan_option(argc, argv, "--sysroot") };
	struct coh_sysroot *sr;
	struct coh_device dev;

	if (!loaded.cfg->device_count)
		return;
	if (!so.root)
		so.root = getenv("COHETE_SYSROOT");
	memset(&dev, 0, sizeof(dev));
	if (coh_sysroot_open(&sr, &so, NULL) == 0) {
		coh_device_identify(sr, &dev, NULL);
		coh_sysroot_close(sr);
	}
	loaded.local = coh_config_find_local(loaded.cfg, dev.serial, dev.hostname);
}

int cli_config_open(int argc, char **argv)
{
	struct coh_config_diags diags = { 0 };
	struct pep_err err;
	const char *path;
	int ret;

	if (cli_help_asked(argc, argv))
		return CMD_EXIT_OK;
	path = scan_option(argc, argv, "--config");
	if (!path)
		path = getenv("COHETE_CONFIG");
	if (!path || !*path)
		return CMD_EXIT_OK;
	ret = coh_config_load(path, NULL, &loaded.cfg, &diags, &err);
	print_diags(&diags);
	coh_config_diags_free(&diags);
	if (ret == -EINVAL) {
		cli_error("%s: not used: fix the errors above "
			  "(`cohete config check %s`)", path, path);
		return CMD_EXIT_USAGE;
	}
	if (ret < 0) {
		cli_error("--config: %s", err.msg);
		return CMD_EXIT_FAIL;
	}
	loaded.path = path;
	find_local(argc, argv);
	return CMD_EXIT_OK;
}

int cli_policy(const char *option, const char *name,
	       struct coh_thermal_guard_policy *out)
{
	const struct coh_config_policy *p =
		loaded.cfg ? coh_config_find_policy(loaded.cfg, name) : NULL;
	struct pep_err err;
	int ret;

	ret = p ? coh_config_policy_guard(p, out, &err) :
		  coh_thermal_guard_policy_named(name, out, &err);
	if (ret < 0) {
		cli_error("%s: %s%s", option, err.msg, loaded.cfg && !p ?
			  " (nor a policy of the --config file)" : "");
		return -1;
	}
	return 0;
}

const char *cli_config_policy_name(void)
{
	if (!loaded.cfg)
		return COH_THERMAL_GUARD_POLICY_DEFAULT;
	if (loaded.local && loaded.local->thermal_policy)
		return loaded.local->thermal_policy;
	if (loaded.cfg->agent.policy)
		return loaded.cfg->agent.policy;
	return COH_THERMAL_GUARD_POLICY_DEFAULT;
}

int cli_default_policy(struct coh_thermal_guard_policy *out)
{
	const char *name = cli_config_policy_name();

	if (loaded.cfg)
		return cli_policy(loaded.path, name, out);
	return coh_thermal_guard_policy_named(name, out, NULL) < 0 ? -1 : 0;
}

const char *cli_config_power_mode(void)
{
	if (!loaded.cfg)
		return NULL;
	if (loaded.local && loaded.local->power_mode)
		return loaded.local->power_mode;
	return loaded.cfg->power.mode;
}
