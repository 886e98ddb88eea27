/*
 * The git/kvmtool-shaped front end both tools share. The commands parse,
 * call the library and format; the logic lives in the libraries.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(const struct cli_tool *tool, FILE *out)
{
	fprintf(out, "usage: %s [--version] [--help] <command> [<args>]\n\n"
		"commands:\n", tool->name);
	for (size_t i = 0; i < tool->cmd_count; i++)
		fprintf(out, "   %-10s %s\n", tool->cmds[i].name,
			tool->cmds[i].help);
	fprintf(out, "\nSee '%s help <command>' for its options.\n", tool->name);
}

static const struct cmd *find_cmd(const struct cli_tool *tool, const char *name)
{
	for (size_t i = 0; i < tool->cmd_count; i++)
		if (!strcmp(tool->cmds[i].name, name))
			return &tool->cmds[i];
	return NULL;
}

static int unknown_cmd(const struct cli_tool *tool, const char *name)
{
	fprintf(stderr, "%s: unknown command '%s'\nSee '%s --help'.\n",
		tool->name, name, tool->name);
	return CMD_EXIT_USAGE;
}

/* `tool help [<command>]`: the same text as `tool <command> --help`. */
static int cmd_help(const struct cli_tool *tool, int argc, char **argv)
{
	char help_flag[] = "--help";
	char *args[] = { argv[1], help_flag, NULL };
	const struct cmd *cmd;

	if (argc < 2) {
		usage(tool, stdout);
		return CMD_EXIT_OK;
	}
	cmd = find_cmd(tool, argv[1]);
	if (!cmd)
		return unknown_cmd(tool, argv[1]);
	return cmd->fn(2, args);
}

static int dispatch(const struct cli_tool *tool, int argc, char **argv)
{
	const struct cmd *cmd;

	if (argc < 2) {
		usage(tool, stderr);
		return CMD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(tool, stdout);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts(tool->version);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return cmd_help(tool, argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		fprintf(stderr, "%s: unknown option '%s'\nSee '%s --help'.\n",
			tool->name, argv[1], tool->name);
		return CMD_EXIT_USAGE;
	}
	cmd = find_cmd(tool, argv[1]);
	if (!cmd)
		return unknown_cmd(tool, argv[1]);
	return cmd->fn(argc - 1, argv + 1);
}

int cli_main(const struct cli_tool *tool, int argc, char **argv)
{
	int ret = dispatch(tool, argc, argv);

	/* A full disk must not look like success (git checks this too). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write to stdout: %s\n", tool->name,
			strerror(errno));
		return CMD_EXIT_FAIL;
	}
	return ret;
}
