/*
 * cli/cohete/cmd.h - the cohete commands (one cmd_<name>.c each) and the
 * helpers they share: sysroot, colour (errors: cli_error() in cli.h).
 */
#ifndef CLI_COHETE_CMD_H
#define CLI_COHETE_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"

struct coh_sysroot;

int cmd_agent(int argc, char **argv);
int cmd_clocks(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_engine(int argc, char **argv);
int cmd_fan(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_power(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_tegrastats(int argc, char **argv);

/*
 * Open the sysroot named by --sysroot, else $COHETE_SYSROOT, else "/".
 * Prints the error and returns CMD_EXIT_FAIL when it cannot be opened.
 */
int cli_open_sysroot(const char *option, struct coh_sysroot **out);

/*
 * --config FILE (else $COHETE_CONFIG): the file's values are the defaults of
 * a command's options, and an option on the command line wins. A command
 * calls cli_config_open() first, before parsing its options; it prints
 * every diagnostic of the file and returns CMD_EXIT_USAGE when the file has
 * errors, CMD_EXIT_FAIL when it cannot be read, CMD_EXIT_OK otherwise (also
 * without a file). Commands list "config" among their long options and
 * ignore it there.
 */
struct coh_config;
struct coh_config_device;
struct coh_thermal_guard_policy;

struct cli_config {
	struct coh_config *cfg;
	const char *path;			/* as given */
	const struct coh_config_device *local;	/* this machine's entry, by
						   serial or hostname; NULL */
};

int cli_config_open(int argc, char **argv);

/* The loaded configuration; NULL without --config. */
const struct cli_config *cli_config(void);

/*
 * The thermal policy called name: the --config file's, else a built-in one.
 * Prints "<option>: <why>" and returns -1 when there is none.
 */
int cli_policy(const char *option, const char *name,
	       struct coh_thermal_guard_policy *out);

/*
 * The policy a command judges by when --policy is not given: this
 * machine's thermal_policy in the file, else agent.policy, else the
 * built-in default. -1 (printed) when the file names one it lacks.
 */
const char *cli_config_policy_name(void);
int cli_default_policy(struct coh_thermal_guard_policy *out);

/* The power mode the file wants here (this device's, else power.mode). */
const char *cli_config_power_mode(void);

/* Colour for a human at a terminal only: not with NO_COLOR or TERM=dumb. */
int cli_use_color(FILE *stream);

/* Bytes as MiB, for printing. */
static inline double cli_mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

#endif /* CLI_COHETE_CMD_H */
