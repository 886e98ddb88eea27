/*
 * pepita run's options, as GNU parallel spells them. Every value is
 * checked here, and a bad one is named with what it may be, in numbers a
 * person reads; an option pepita does not have is refused, never ignored
 * (a misread option would run the wrong commands).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/template.h>

#include "cli.h"
#include "run.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pepita run [options] COMMAND... [::: ARG...]... [:::: FILE...]\n"
		"       pepita run [options] COMMAND... < args\n"
		"       pepita run --pipe [options] COMMAND < data\n\n"
		"Run COMMAND once per argument (or input line), in parallel; with no\n"
		"COMMAND each input is a command. Several ::: or :::: sources give\n"
		"every combination (:::+ and ::::+ link to the source before).\n"
		"Replacement strings, as GNU parallel: {} {.} {/} {//} {/.}, {N} and\n"
		"{N.} {N/} {N//} {N/.} (argument N), {#} (job number), {%%} (slot);\n"
		"without any, the arguments are appended. Arguments are never code:\n"
		"a plain word gets them as they are, shell code gets them quoted.\n\n"
		"  -j, --jobs N        jobs at once: N, +N or -N CPUs, N%% of the\n"
		"                      CPUs, 0 as many as can be (default: the CPUs)\n"
		"  -a, --arg-file F    an input source from F (- is stdin); repeatable\n"
		"  --link              link the input sources (the shorter ones wrap)\n"
		"  --colsep RE         split each input into columns {1} {2} ...\n"
		"  -N N                N arguments per job (0: none)\n"
		"  -m, -X              as many arguments per job as fit, spread over\n"
		"                      the slots; -X repeats the word around {}\n"
		"  --pipe              stdin cut into blocks, one per job's stdin\n"
		"  --block SIZE        --pipe block size (default 1M; k=1000, K=1024)\n"
		"  --retries N         run a failing job up to N times in all\n"
		"  --timeout T         kill a job (its process group) after T (seconds,\n"
		"                      or 1h30m style; at least 0.001)\n"
		"  --halt WHEN,WHY=N   stop early: now|soon, fail=N|N%%, success=N|N%%\n"
		"  -k, --keep-order    print output in input order\n"
		"  --tag               prefix each output line with the arguments\n"
		"  --results DIR       save each job's stdout, stderr and seq in DIR\n"
		"  --dry-run           print the commands instead of running them\n"
		"  --joblog F          GNU parallel's job log: one line per job\n"
		"  --json              one JSON object per job instead of its output\n"
		"  --bar               a progress bar on stderr (a terminal)\n"
		"  -S, --host [N/]H    run jobs on H too, N at once (default: -j), through\n"
		"                      ssh and `pepita worker --stdio` there; \":\" is this\n"
		"                      machine; repeatable. Without \":\", only the hosts\n"
		"  --ssh CMD           the ssh command, words split (default: ssh)\n"
		"  --remote-pepita P   pepita's path on the hosts (default: pepita)\n"
		"  -h, --help          this help\n\n"
		"Exit status: the number of failed jobs (101: more than 100), or as\n"
		"--halt says; 2: usage error; 255: any other error.\n");
}

/* Option values. Each says what it takes, in numbers a person reads. */

int run_bad_value(const char *opt, const char *val, const char *want)
{
	cli_error("%s '%s': %s", opt, val, want);
	return -1;
}

static int parse_count(const char *opt, const char *s, long min, long max,
		       unsigned long *out)
{
	char want[64], *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		snprintf(want, sizeof(want), "a number from %ld to %ld", min, max);
		return run_bad_value(opt, s, want);
	}
	*out = (unsigned long)v;
	return 0;
}

unsigned int run_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

/* -j: N, +N, -N, N% (of the CPUs, rounded up) or 0 (as many as can be). */
static int parse_jobs(const char *s, unsigned int *jobs)
{
	static const char want[] = "a number from 0 to 4096, +N or -N (CPUs plus "
				   "or minus N), or N% of the CPUs";
	const char *d = s + (*s == '+' || *s == '-');
	size_t digits = strspn(d, "0123456789");
	double cpus = run_online_cpus(), v;
	char *end;

	errno = 0;
	v = strtod(d, &end);
	if (!digits || errno)
		return run_bad_value("-j", s, want);
	if (*end == '%' && !end[1] && d == s)		/* 50%, 12.5% */
		v = ceil(cpus * v / 100);
	else if (*end || end != d + digits)		/* digits only */
		return run_bad_value("-j", s, want);
	else if (d != s)				/* +N, -N */
		v = *s == '+' ? cpus + v : cpus - v;
	if (v > RUN_MAX_SLOTS)
		return run_bad_value("-j", s, want);
	/* GNU parallel: a plain 0 is as many as can be; else at least 1 */
	*jobs = v < 1 && (d != s || *end == '%') ? 1 : (unsigned int)v;
	return 0;
}

/* --timeout: seconds, or GNU parallel's 1d3.5h16.6m4s. */
static int parse_duration(const char *s, uint32_t *ms)
{
	static const char want[] = "seconds from 0.001 to 4000000 (46 days), "
				   "or as 1h30m";
	double total = 0, v;
	const char *p = s;
	char *end;

	if (strchr(s, '%'))
		return run_bad_value("--timeout", s, "a percentage of the median "
				 "runtime is not supported; give seconds");
	while (*p) {
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p || !(v >= 0) || isinf(v))
			return run_bad_value("--timeout", s, want);
		if (*end && !strchr("smhd", *end))
			return run_bad_value("--timeout", s, want);
		total += v * (*end == 'm' ? 60 : *end == 'h' ? 3600 :
			      *end == 'd' ? 86400 : 1);
		p = *end ? end + 1 : end;
	}
	if (p == s || total < 0.001 || total > 4e6)
		return run_bad_value("--timeout", s, want);
	*ms = (uint32_t)ceil(total * 1000 - 1e-6);
	return 0;
}

/* --block: bytes, with K M G (1024) or k m g (1000) as GNU parallel. */
static int parse_size(const char *s, size_t *bytes)
{
	static const char want[] = "bytes from 1 to 1G (1073741824), with k/K, "
				   "m/M or g/G";
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return run_bad_value("--block", s, want);
	if (*end) {
		const char *u = strchr("kKmMgG", *end);

		if (!u || end[1])
			return run_bad_value("--block", s, want);
		v *= pow(*end >= 'a' ? 1000 : 1024, (double)((u - "kKmMgG") / 2 + 1));
	}
	if (v < 1 || v > 1073741824.0)
		return run_bad_value("--block", s, want);
	*bytes = (size_t)v;
	return 0;
}

/* --halt: never, now|soon,fail|success=N|N%, and GNU's short forms. */
static int parse_halt(const char *s, struct run_halt *h)
{
	static const char want[] = "never, or now|soon,fail=N|N% or "
				   "now|soon,success=N|N%";
	static const struct { const char *s, *as; } shorts[] = {
		{ "0", "never" }, { "1", "soon,fail=1" }, { "2", "now,fail=1" },
		{ "-1", "soon,success=1" }, { "-2", "now,success=1" },
	};
	const char *spec = s, *why, *eq;
	unsigned long n;
	char *end;

	for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++)
		if (!strcmp(s, shorts[i].s))
			spec = shorts[i].as;
	*h = (struct run_halt){ .spec = s };
	if (!strcmp(spec, "never"))
		return 0;
	if (spec[0] >= '1' && spec[0] <= '9' && spec[strlen(spec) - 1] == '%') {
		why = spec;	/* N%: soon,fail=N% */
		h->when = HALT_SOON;
		h->on_fail = 1;
	} else {
		if (strncmp(spec, "now,", 4) && strncmp(spec, "soon,", 5))
			return run_bad_value("--halt", s, want);
		h->when = spec[0] == 'n' ? HALT_NOW : HALT_SOON;
		why = strchr(spec, ',') + 1;
		eq = strchr(why, '=');
		if (eq && !strncmp(why, "done=", 5))
			return run_bad_value("--halt", s, "done= is not supported; "
					 "use fail= or success=");
		if (!eq || (strncmp(why, "fail=", 5) && strncmp(why, "success=", 8)))
			return run_bad_value("--halt", s, want);
		h->on_fail = why[0] == 'f';
		why = eq + 1;
	}
	errno = 0;
	n = strtoul(why, &end, 10);
	if (errno || end == why || why[0] == '-' || n < 1 ||
	    (*end == '%' ? end[1] || n > 100 : *end != '\0' || n > 1000000000))
		return run_bad_value("--halt", s, *end == '%' ? "a percentage from "
				 "1 to 100" : "a count from 1 to 1000000000");
	if (*end == '%')
		h->pct = (double)n / 100;
	else
		h->count = n;
	return 0;
}

enum {
	O_RETRIES = 256, O_TIMEOUT, O_JOBLOG, O_JSON, O_BAR, O_NO_BAR, O_SSH,
	O_REMOTE, O_DRY, O_TAG, O_HALT, O_COLSEP, O_PIPE, O_BLOCK, O_RESULTS,
	O_LINK,
};

static const struct option longopts[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "arg-file", required_argument, NULL, 'a' },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "keep-order", no_argument, NULL, 'k' },
	{ "joblog", required_argument, NULL, O_JOBLOG },
	{ "json", no_argument, NULL, O_JSON },
	{ "bar", no_argument, NULL, O_BAR },
	{ "no-bar", no_argument, NULL, O_NO_BAR },
	{ "host", required_argument, NULL, 'S' },
	{ "ssh", required_argument, NULL, O_SSH },
	{ "remote-pepita", required_argument, NULL, O_REMOTE },
	{ "dry-run", no_argument, NULL, O_DRY },
	{ "dryrun", no_argument, NULL, O_DRY },
	{ "tag", no_argument, NULL, O_TAG },
	{ "halt", required_argument, NULL, O_HALT },
	{ "halt-on-error", required_argument, NULL, O_HALT },
	{ "colsep", required_argument, NULL, O_COLSEP },
	{ "max-args", required_argument, NULL, 'N' },
	{ "pipe", no_argument, NULL, O_PIPE },
	{ "block", required_argument, NULL, O_BLOCK },
	{ "block-size", required_argument, NULL, O_BLOCK },
	{ "results", required_argument, NULL, O_RESULTS },
	{ "link", no_argument, NULL, O_LINK },
	{ "xapply", no_argument, NULL, O_LINK },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The option getopt stopped at, as the user wrote it. */
static void bad_option(int c, int argc, char **argv)
{
	const char *word = optind - 1 < argc ? argv[optind - 1] : "";

	if (c == ':') {
		if (optopt && optopt < 256 && strncmp(word, "--", 2))
			cli_error("option '-%c' needs a value",
				  optopt);
		else
			cli_error("option '%s' needs a value",
				  word);
	} else if (optopt && optopt < 256 && strncmp(word, "--", 2)) {
		cli_error("unknown option '-%c'", optopt);
	} else {
		cli_error("unknown option '%s'", word);
	}
}

static int parse_one(int c, struct run_opts *o)
{
	unsigned long v;

	switch (c) {
	case 'j':
		o->jobs_arg = optarg;
		return parse_jobs(optarg, &o->jobs);
	case 'N':
		o->has_max_args = 1;
		if (parse_count("-N", optarg, 0, 1000000, &v))
			return -1;
		o->max_args = (unsigned int)v;
		return 0;
	case O_RETRIES:	/* tries in all, as GNU parallel (whose 0 is for ever) */
		if (parse_count("--retries", optarg, 1, 10000, &v))
			return -1;
		o->retries = (unsigned int)v;
		return 0;
	case 'a':
		if (o->nfiles == RUN_MAX_FILES) {
			cli_error("at most %d -a", RUN_MAX_FILES);
			return -1;
		}
		o->files[o->nfiles++] = optarg;
		return 0;
	case 'S':
		if (o->nhosts == RUN_MAX_HOSTS) {
			cli_error("at most %d --host", RUN_MAX_HOSTS);
			return -1;
		}
		o->hosts[o->nhosts++] = optarg;
		return 0;
	case O_TIMEOUT: return parse_duration(optarg, &o->timeout_ms);
	case O_BLOCK: return parse_size(optarg, &o->block_bytes);
	case O_HALT: return parse_halt(optarg, &o->halt);
	case 'k': o->keep_order = 1; return 0;
	case 'm': case 'X': o->multi = c; return 0;
	case O_JOBLOG: o->joblog = optarg; return 0;
	case O_JSON: o->json = 1; return 0;
	case O_BAR: o->bar = 1; return 0;
	case O_NO_BAR: o->bar = 0; return 0;
	case O_SSH: o->ssh = optarg; return 0;
	case O_REMOTE: o->remote_pepita = optarg; return 0;
	case O_DRY: o->dry_run = 1; return 0;
	case O_TAG: o->tag = 1; return 0;
	case O_COLSEP: o->colsep = optarg; return 0;
	case O_PIPE: o->pipe = 1; return 0;
	case O_RESULTS: o->results = optarg; return 0;
	case O_LINK: o->link = 1; return 0;
	}
	return -1;
}

/* Combinations that have no meaning: refused, never guessed at. */
static int check_opts(const struct run_opts *o)
{
	const char *clash = NULL;

	if (o->pipe && o->nsrc_words)
		clash = "--pipe reads stdin (or -a FILE): no ::: or ::::";
	else if (o->pipe && (o->multi || o->colsep || o->link || o->nfiles > 1))
		clash = "--pipe takes no -m, -X, --colsep, --link or more than one -a";
	else if (o->pipe && o->results && !strchr(o->results, '{'))
		clash = "--results DIR with --pipe: jobs have no arguments to name "
			"their files by; give a name with {#}";
	else if (o->pipe && o->halt.pct)
		clash = "--halt with a percentage needs the number of jobs, "
			"which --pipe cannot know";
	else if (o->multi && o->colsep)
		clash = "-m and -X take no --colsep";
	else if (o->json && (o->results || o->tag))
		clash = "--json takes no --results or --tag";
	else if (o->results && o->tag)
		clash = "--results takes no --tag";
	if (clash) {
		cli_error("%s", clash);
		return -1;
	}
	if (o->results && (strstr(o->results, ".csv") || strstr(o->results, ".tsv") ||
			   strstr(o->results, ".json")) &&
	    !strchr(o->results, '/') && !strchr(o->results, '{')) {
		cli_error("--results %s: CSV, TSV and JSON "
			  "files are not supported; give a directory", o->results);
		return -1;
	}
	return 0;
}

int run_opts_parse(int argc, char **argv, struct run_opts *o)
{
	int c, i;

	opterr = 0;
	optind = 1;
	/* "+": stop at the first non-option, the command's own flags are its;
	 * ":": a missing value is told apart from an unknown option */
	while ((c = getopt_long(argc, argv, "+:j:a:kS:hN:mX", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			bad_option(c, argc, argv);
			return -1;
		}
		if (parse_one(c, o))
			return -1;
	}
	o->cmd = argv + optind;
	for (i = optind; i < argc && !pep_inputs_is_separator(argv[i]); i++)
		;
	o->ncmd = i - optind;
	if (i < argc) {
		o->src_words = argv + i;
		o->nsrc_words = argc - i;
	}
	if (o->pipe && o->ncmd == 0) {
		cli_error("--pipe needs a COMMAND");
		return -1;
	}
	return check_opts(o);
}

