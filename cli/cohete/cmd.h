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
int cmd_discover(int argc, char **argv);
int cmd_fan(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_power(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_tegrastats(int argc, char **argv);

/*
 * Open the sysroot named by --sysroot, else $COHETE_SYSROOT, else "/".
 * Prints the error and returns CMD_EXIT_FAIL when it cannot be opened.
 */
int cli_open_sysroot(const char *option, struct coh_sysroot **out);

/* Colour for a human at a terminal only: not with NO_COLOR or TERM=dumb. */
int cli_use_color(FILE *stream);

/* Bytes as MiB, for printing. */
static inline double cli_mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

#endif /* CLI_COHETE_CMD_H */
