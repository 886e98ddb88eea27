/*
 * cli/cli.h - what the pepita and cohete tools share: the exit codes
 * documented in their man pages, one table-driven dispatcher for every
 * level of commands (`tool <command>`, `tool <noun> <verb>`), one error
 * printer, option parsing that names what was wrong, and the prompt.
 *
 * Threading: the dispatcher records which command runs (for the error
 * prefix) before the command starts; cli_error() may then be called from
 * any thread.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes: never a raw -errno (returning -EINVAL from main exits 234). */
enum {
	CMD_EXIT_OK		= 0,
	CMD_EXIT_FAIL		= 1,	/* the operation failed, or was declined */
	CMD_EXIT_USAGE		= 2,	/* bad command, flag or value */
	CMD_EXIT_UNAVAILABLE	= 69,	/* no kernel feature or hardware */
};

#define CLI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* argv[0] is the command's own name; "--help" must work in every command. */
typedef int (*cmd_fn)(int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn fn;		/* NULL in tables only looked up (cli_find) */
	const char *help;	/* one line for the level's --help listing */
};

/* One level of commands: a tool's commands, or a noun's verbs. */
struct cli_level {
	const char *kind;	/* what an entry is called: NULL = "command" */
	const struct cmd *cmds;
	size_t count;
	/* The level's --help; NULL: a listing made from cmds. */
	void (*usage)(FILE *out);
};

struct cli_tool {
	const char *name;		/* "cohete" */
	const char *version;		/* "cohete 0.1.0" */
	const struct cmd *cmds;
	size_t cmd_count;
};

/*
 * The tool's level: --help/-h, --version/-V, `help <command> [<verb>]`,
 * unknown options and commands (exit 2, with "did you mean" for a close
 * name). Flushes stdout and fails if that fails.
 */
int cli_main(const struct cli_tool *tool, int argc, char **argv);

/*
 * A noun's level: argv[0] is the noun, argv[1] the verb, which runs with
 * argc - 1, argv + 1 and joins the error prefix ("pepita: zram setup:").
 * No verb: the usage on stderr, exit 2; --help/-h: on stdout, exit 0;
 * an unknown verb: exit 2, naming it (and the closest, when one is).
 */
int cli_dispatch(const struct cli_level *level, int argc, char **argv);

/*
 * The entry called name, for levels whose verb comes after options
 * (`cohete clocks --yes on`). NULL after printing the error, as
 * cli_dispatch does.
 */
const struct cmd *cli_find(const struct cli_level *level, const char *name);

/*
 * Print "<tool>: <command> [<verb>]: <message>" and a newline to stderr.
 * Before any command runs, "<tool>: <message>".
 */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "See '<tool> <command> --help'." on stderr, after a usage error. */
void cli_hint_help(void);

/* Whether argv[1..] asks for help (-h or --help before any "--"). */
bool cli_help_asked(int argc, char **argv);

/*
 * getopt_long for commands: the same contract (the caller sets optind to 1
 * first), but a bad option is reported here, naming what was wrong -
 * "option --sysroot needs a value", "unknown option '--bogus'",
 * "option '--json' takes no value", "option '--s' is ambiguous" - with
 * the --help hint, and then '?' is returned: the caller only exits 2.
 */
int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/*
 * The arguments of a command whose only options are --json and --help
 * (list, probe, info). -1 to go on, with *json set; otherwise the exit
 * code: CMD_EXIT_OK after printing usage for --help, CMD_EXIT_USAGE after
 * reporting a bad option or a stray argument.
 */
int cli_json_only_args(int argc, char **argv, void (*usage)(FILE *out),
		       bool *json);

/*
 * A whole number from min to max, the value of option opt ("--count").
 * Otherwise prints "--count: 'x' is not a whole number from 1 to 64" (or
 * "of 1 or more" when max is LLONG_MAX: no bound worth printing) and
 * returns -1.
 */
int cli_parse_ll(const char *opt, const char *arg, long long min,
		 long long max, long long *out);

/*
 * Ask before changing the machine; action says what ("switch the power
 * mode to 15W"). CMD_EXIT_OK when yes is set or the person at the terminal
 * answers y; CMD_EXIT_USAGE (printed) when stdin is not a terminal and
 * --yes was not given; CMD_EXIT_FAIL when declined ("nothing changed",
 * printed). The caller returns any code but CMD_EXIT_OK.
 */
int cli_confirm(bool yes, const char *action);


#endif /* CLI_CLI_H */
