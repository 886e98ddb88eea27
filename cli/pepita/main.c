/*
 * pepita - command-line front end to libpepita: `pepita <command> [options]`,
 * one cmd_<name>.c per command.
 */
#include <pepita/core.h>

#include "cmd.h"

static const struct cmd cmds[] = {
	{ "info", cmd_info, "CPU features and build information" },
	{ "ublk", cmd_ublk, "userspace block devices: add, list, del, recover" },
	{ "zram", cmd_zram, "kernel zram devices: list, setup, reset, remove, swap" },
	{ "run", cmd_run, "run commands in parallel, like GNU parallel" },
	{ "worker", cmd_worker, "serve tasks over stdin/stdout (for pepita run --host)" },
	{ "uring", cmd_uring, "io_uring: what this kernel supports (probe)" },
	{ "bench", cmd_bench, "measure this machine: SIMD kernels against its limits" },
};

int main(int argc, char **argv)
{
	const struct cli_tool tool = {
		.name = "pepita",
		.version = pep_version(),
		.cmds = cmds,
		.cmd_count = sizeof(cmds) / sizeof(cmds[0]),
	};

	return cli_main(&tool, argc, argv);
}
