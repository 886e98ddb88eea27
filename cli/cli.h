/*
 * cli/cli.h - what the pepita and cohete tools share: the command table,
 * the exit codes documented in their man pages, and the git-style front end
 * (`tool [--version] [--help] <command> [<args>]`).
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stddef.h>

/* Exit codes: never a raw -errno (returning -EINVAL from main exits 234). */
enum {
	CMD_EXIT_OK		= 0,
	CMD_EXIT_FAIL		= 1,	/* the operation failed */
	CMD_EXIT_USAGE		= 2,	/* bad command, flag or value */
	CMD_EXIT_UNAVAILABLE	= 69,	/* no kernel feature or hardware */
};

/* argv[0] is the command's own name; "--help" must work in every command. */
typedef int (*cmd_fn)(int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn fn;
	const char *help;	/* one line for `<tool> --help` */
};

struct cli_tool {
	const char *name;		/* "cohete" */
	const char *version;		/* "cohete 0.1.0" */
	const struct cmd *cmds;
	size_t cmd_count;
};

/*
 * Dispatch argv to the tool's commands: --help/-h, --version, `help <cmd>`,
 * unknown commands (exit 2). Flushes stdout and fails if that fails.
 */
int cli_main(const struct cli_tool *tool, int argc, char **argv);

#endif /* CLI_CLI_H */
