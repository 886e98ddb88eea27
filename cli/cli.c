/*
 * The git/kvmtool-shaped front end both tools share. The commands parse,
 * call the library and format; the logic lives in the libraries. Every
 * level of commands goes through one dispatcher over a plain table, so
 * help listings, unknown names and "did you mean" behave alike everywhere,
 * and every error goes through cli_error(), so each says which tool and
 * command it comes from.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/core.h>

#include "cli.h"

/*
 * The running command, for the error prefix. A process runs one command,
 * and passing its name down to every helper that may fail would be noise;
 * it is written by the dispatcher before the command runs, read after.
 */
static struct {
	const char *tool;		/* "pepita" */
	char cmd[96];			/* "zram setup"; "" at the top */
} where = { .tool = "cli" };

void cli_error(const char *fmt, ...)
{
	va_list ap;

	/* One line, whole, when threads (the agent's) report at once. */
	flockfile(stderr);
	if (where.cmd[0])
		fprintf(stderr, "%s: %s: ", where.tool, where.cmd);
	else
		fprintf(stderr, "%s: ", where.tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void cli_hint_help(void)
{
	fprintf(stderr, "See '%s%s%s --help'.\n", where.tool,
		where.cmd[0] ? " " : "", where.cmd);
}

bool cli_help_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* Enter a command: its name joins the prefix. Returns the old length. */
static size_t enter(const char *name)
{
	size_t len = strlen(where.cmd);

	snprintf(where.cmd + len, sizeof(where.cmd) - len, "%s%s",
		 len ? " " : "", name);
	return len;
}

/* ---- did you mean ------------------------------------------------------ */

/* The closest name within 2 edits (and fewer edits than letters typed). */
static const char *closest(const struct cli_level *level, const char *name)
{
	size_t best = 3, d;
	const char *found = NULL;

	for (size_t i = 0; i < level->count; i++) {
		d = pep_edit_distance(name, level->cmds[i].name);
		if (d < best && d < strlen(name)) {
			best = d;
			found = level->cmds[i].name;
		}
	}
	return found;
}

/* ---- the levels --------------------------------------------------------- */

static const char *kind_of(const struct cli_level *level)
{
	return level->kind ? level->kind : "command";
}

static void list_cmds(const struct cli_level *level, FILE *out)
{
	int width = 10;

	for (size_t i = 0; i < level->count; i++)
		if ((int)strlen(level->cmds[i].name) > width)
			width = (int)strlen(level->cmds[i].name);
	fprintf(out, "%ss:\n", kind_of(level));
	for (size_t i = 0; i < level->count; i++)
		fprintf(out, "   %-*s %s\n", width, level->cmds[i].name,
			level->cmds[i].help ? level->cmds[i].help : "");
}

/* A noun level's help when it has no usage text of its own. */
static void level_usage(const struct cli_level *level, FILE *out)
{
	if (level->usage) {
		level->usage(out);
		return;
	}
	fprintf(out, "usage: %s %s <%s> [<args>]\n\n", where.tool, where.cmd,
		kind_of(level));
	list_cmds(level, out);
	fprintf(out, "\nSee '%s %s <%s> --help' for its options.\n", where.tool,
		where.cmd, kind_of(level));
}

const struct cmd *cli_find(const struct cli_level *level, const char *name)
{
	const char *near;

	for (size_t i = 0; i < level->count; i++)
		if (!strcmp(level->cmds[i].name, name))
			return &level->cmds[i];
	near = closest(level, name);
	if (near)
		cli_error("unknown %s '%s'; did you mean '%s'?", kind_of(level),
			  name, near);
	else
		cli_error("unknown %s '%s'", kind_of(level), name);
	cli_hint_help();
	return NULL;
}

/* Run cmd with argv[0] its name; its name is in the prefix meanwhile. */
static int run(const struct cmd *cmd, int argc, char **argv)
{
	size_t len = enter(cmd->name);
	int ret = cmd->fn(argc, argv);

	where.cmd[len] = '\0';
	return ret;
}

int cli_dispatch(const struct cli_level *level, int argc, char **argv)
{
	const struct cmd *cmd;

	if (argc < 2) {
		level_usage(level, stderr);
		return CMD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		level_usage(level, stdout);
		return CMD_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		cli_error("unknown option '%s'", argv[1]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	cmd = cli_find(level, argv[1]);
	if (!cmd)
		return CMD_EXIT_USAGE;
	return run(cmd, argc - 1, argv + 1);
}

/* ---- the tool ----------------------------------------------------------- */

static void tool_usage(const struct cli_tool *tool, const struct cli_level *level,
		       FILE *out)
{
	fprintf(out, "usage: %s [--version] [--help] <command> [<args>]\n\n",
		tool->name);
	list_cmds(level, out);
	fprintf(out, "\nSee '%s help <command>' for its options.\n", tool->name);
}

/* `tool help <command> [<verb>...]`: `tool <command> [<verb>...] --help`. */
static int help(const struct cli_tool *tool, const struct cli_level *level,
		int argc, char **argv)
{
	char help_flag[] = "--help";
	char *args[8];
	const struct cmd *cmd;
	int n = 0;

	if (argc < 2) {
		tool_usage(tool, level, stdout);
		return CMD_EXIT_OK;
	}
	cmd = cli_find(level, argv[1]);
	if (!cmd)
		return CMD_EXIT_USAGE;
	for (int i = 1; i < argc && n < 6; i++)
		args[n++] = argv[i];
	args[n++] = help_flag;
	args[n] = NULL;
	return run(cmd, n, args);
}

static int dispatch(const struct cli_tool *tool, int argc, char **argv)
{
	const struct cli_level level = { .cmds = tool->cmds, .count = tool->cmd_count };

	if (argc < 2) {
		tool_usage(tool, &level, stderr);
		return CMD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		tool_usage(tool, &level, stdout);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		puts(tool->version);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return help(tool, &level, argc - 1, argv + 1);
	return cli_dispatch(&level, argc, argv);
}

int cli_main(const struct cli_tool *tool, int argc, char **argv)
{
	int ret;

	where.tool = tool->name;
	ret = dispatch(tool, argc, argv);
	/* A full disk must not look like success (git checks this too). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		where.cmd[0] = '\0';
		cli_error("write to stdout: %s", strerror(errno));
		return CMD_EXIT_FAIL;
	}
	return ret;
}

/* ---- options ------------------------------------------------------------ */

/* How many long options start with the text of "--name[=value]". */
static int prefix_matches(const struct option *longopts, const char *text,
			  const struct option **first)
{
	size_t len = strcspn(text, "=");
	int n = 0;

	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, text, len))
			continue;
		if (strlen(o->name) == len) {	/* exact: never ambiguous */
			*first = o;
			return 1;
		}
		if (!n++)
			*first = o;
	}
	return n;
}

static void bad_option(char **argv, const struct option *longopts, int missing)
{
	const char *text = argv[optind - 1];
	const struct option *o = NULL;
	int len = (int)strcspn(text, "=");

	if (strncmp(text, "--", 2)) {
		/* A short option, maybe inside a cluster like -kj. */
		if (missing)
			cli_error("option -%c needs a value", optopt);
		else
			cli_error("unknown option '-%c'", optopt);
	} else if (missing) {
		/* By its full name: getopt took "--sys" for --sysroot. */
		if (prefix_matches(longopts, text + 2, &o) == 1)
			cli_error("option --%s needs a value", o->name);
		else
			cli_error("option %.*s needs a value", len, text);
	} else if (prefix_matches(longopts, text + 2, &o) > 1) {
		cli_error("option '%.*s' is ambiguous", len, text);
	} else if (o && text[len] == '=' && o->has_arg == no_argument) {
		cli_error("option '--%s' takes no value", o->name);
	} else {
		cli_error("unknown option '%.*s'", len, text);
	}
	cli_hint_help();
}

int cli_json_only_args(int argc, char **argv, void (*usage)(FILE *out),
		       bool *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return CMD_EXIT_OK;
		}
		if (c == '?')
			return CMD_EXIT_USAGE;
		*json = true;
	}
	if (optind < argc) {
		cli_error("unknown argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	return -1;
}

int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char opts[128];
	size_t mode = strspn(shortopts, "+-");
	int c;

	/* A leading ':' makes getopt tell a missing value (':') apart. */
	snprintf(opts, sizeof(opts), "%.*s:%s", (int)mode, shortopts,
		 shortopts + mode + (shortopts[mode] == ':'));
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c == ':' || c == '?') {
		bad_option(argv, longopts, c == ':');
		return '?';
	}
	return c;
}

int cli_parse_ll(const char *opt, const char *arg, long long min,
		 long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (!errno && end != arg && !*end && !isspace((unsigned char)*arg) &&
	    v >= min && v <= max) {
		*out = v;
		return 0;
	}
	if (max == LLONG_MAX)
		cli_error("%s: '%s' is not a whole number of %lld or more", opt,
			  arg, min);
	else
		cli_error("%s: '%s' is not a whole number from %lld to %lld",
			  opt, arg, min, max);
	return -1;
}

/* ---- prompts ------------------------------------------------------------ */

int cli_confirm(bool yes, const char *action)
{
	char answer[16];

	if (yes)
		return CMD_EXIT_OK;
	if (!isatty(STDIN_FILENO)) {
		cli_error("not going to %s without --yes (stdin is not a terminal)",
			  action);
		return CMD_EXIT_USAGE;
	}
	fprintf(stderr, "%c%s? [y/N] ", toupper((unsigned char)action[0]),
		action + 1);
	if (fgets(answer, sizeof(answer), stdin) &&
	    (answer[0] == 'y' || answer[0] == 'Y'))
		return CMD_EXIT_OK;
	cli_error("declined: nothing changed");
	return CMD_EXIT_FAIL;
}
