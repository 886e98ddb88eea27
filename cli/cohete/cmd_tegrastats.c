/*
 * cohete tegrastats: parse tegrastats lines (piped in, a log, or from a
 * tegrastats that cohete runs and stops) into one JSON object per line, or
 * a short summary per line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/core.h>

#include <cohete/sysroot.h>
#include <cohete/thermal.h>

#include "cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete tegrastats [--json] [--count N] < LINES\n"
		"       cohete tegrastats [--json] [--count N] [--interval MS]\n"
		"                         [--tegrastats PATH] [--sysroot DIR] [--run]\n\n"
		"Parse tegrastats output (any L4T release, R24 to R39) into JSON or a\n"
		"one-line summary. Lines come from standard input when it is a pipe or\n"
		"a file (`tegrastats | cohete tegrastats --json`, or a log); otherwise\n"
		"cohete runs tegrastats itself and stops it on exit.\n\n"
		"  --json             one JSON object per line (every field; null when absent)\n"
		"  --count N          stop after N lines\n"
		"  --interval MS      tegrastats' sampling interval (default 1000)\n"
		"  --tegrastats PATH  the program to run (default: tegrastats in PATH)\n"
		"  --sysroot DIR      passed on as COHETE_SYSROOT (for the simulator)\n"
		"  --run              run tegrastats even when stdin is not a terminal\n"
		"  -h, --help         this help\n");
}

/* "RAM 20642/62817 MB  CPU 17%  GPU 12%  hottest cpu 52.9 C  13.9 W" */
static void print_summary(const struct coh_tegrastats *ts)
{
	int64_t load = 0, online = 0, power = 0;
	const struct coh_ts_temp *hot = NULL;

	for (unsigned int i = 0; i < ts->cpu_count; i++)
		if (ts->cpu[i].online && ts->cpu[i].load_pct != COH_NA) {
			load += ts->cpu[i].load_pct;
			online++;
		}
	for (unsigned int i = 0; i < ts->temp_count; i++)
		if (ts->temp[i].temp_mc != COH_NA && !ts->temp[i].placeholder &&
		    (!hot || ts->temp[i].temp_mc > hot->temp_mc))
			hot = &ts->temp[i];
	const char *power_kind = "sum of rails";

	/* tegrastats' rule: an input rail is the total; else sum (a floor). */
	for (unsigned int i = 0; i < ts->rail_count; i++)
		power += ts->rail[i].cur_mw;
	for (unsigned int i = 0; i < ts->rail_count; i++)
		if (!strcmp(ts->rail[i].name, "VDD_IN") ||
		    !strcmp(ts->rail[i].name, "POM_5V_IN")) {
			power = ts->rail[i].cur_mw;
			power_kind = ts->rail[i].name;
		}
	if (ts->timestamp[0])
		printf("%s  ", ts->timestamp);
	if (ts->ram_total_mb != COH_NA)
		printf("RAM %" PRId64 "/%" PRId64 " MB  ", ts->ram_used_mb,
		       ts->ram_total_mb);
	if (online)
		printf("CPU %" PRId64 "%% on %" PRId64 " cores  ", load / online, online);
	if (ts->gpu_load_pct != COH_NA)
		printf("GPU %" PRId64 "%%  ", ts->gpu_load_pct);
	if (hot)
		printf("hottest %s %.1f C  ", hot->name, (double)hot->temp_mc / 1000);
	if (ts->rail_count)
		printf("%.2f W (%s)", (double)power / 1000, power_kind);
	if (ts->unknown_count)
		printf("  (%u unknown tokens)", ts->unknown_count);
	putchar('\n');
}

struct ts_opts {
	int json;
	long count;			/* 0 = no limit */
	long interval_ms;
	const char *program;
	const char *sysroot;
	int run;
};

struct ts_state {
	const struct ts_opts *o;
	struct coh_tegrastats *ts;
	unsigned long lineno, bad, printed;
	const char *source;		/* "stdin", "tegrastats" */
	int reader_gone;		/* stdout is a pipe nobody reads */
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static long parse_positive(const char *opt, const char *arg, long long max)
{
	long long v;

	return cli_parse_ll(opt, arg, 1, max, &v) < 0 ? -1 : (long)v;
}

static int parse_opts(int argc, char **argv, struct ts_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "tegrastats", required_argument, NULL, 't' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "run", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "+h", longopts)) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 'c':
			if ((o->count = parse_positive("--count", optarg, LLONG_MAX)) < 0)
				return -CMD_EXIT_USAGE;
			break;
		case 'i':
			o->interval_ms = parse_positive("--interval", optarg, 3600000);
			if (o->interval_ms < 0)
				return -CMD_EXIT_USAGE;
			o->run = 1;
			break;
		case 't': o->program = optarg; o->run = 1; break;
		case 's': o->sysroot = optarg; o->run = 1; break;
		case 'r': o->run = 1; break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return -CMD_EXIT_USAGE;
	}
	return 0;
}

/* Parse and print one line. -1 when output failed (a closed pipe). */
static int handle_line(struct ts_state *s, const char *line)
{
	struct pep_err err;
	char *out;

	s->lineno++;
	if (coh_tegrastats_parse(line, s->ts, &err) < 0) {
		cli_error("%s:%lu: %s", s->source, s->lineno, err.msg);
		s->bad++;
		return 0;
	}
	s->ts->time_ms = pep_time_real_ms();	/* the "timestamp": when read */
	if (!s->o->json) {
		print_summary(s->ts);
	} else if ((out = coh_tegrastats_json(s->ts))) {
		puts(out);
		free(out);
	}
	s->printed++;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	s->reader_gone = errno == EPIPE;
	return -1;
}

static int done(const struct ts_state *s)
{
	return s->o->count && (long)s->printed >= s->o->count;
}

static int exit_code(const struct ts_state *s)
{
	return s->bad && s->bad == s->lineno ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static int from_stdin(struct ts_state *s)
{
	char *line = NULL;
	size_t cap = 0;

	while (!done(s) && getline(&line, &cap, stdin) > 0)
		if (handle_line(s, line) < 0)
			break;
	free(line);
	return exit_code(s);
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	/* no SA_RESTART: the wait for output returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout is a write error */
}

static int run_tegrastats(struct ts_state *s)
{
	struct coh_tegrastats_run_opts ro = {
		.program = s->o->program, .interval_ms = s->o->interval_ms,
	};
	struct coh_sysroot *sr = NULL;
	struct coh_tegrastats_run *r;
	struct pep_err err;
	const char *line;
	int ret;

	if (s->o->sysroot) {
		ret = cli_open_sysroot(s->o->sysroot, &sr);
		if (ret != CMD_EXIT_OK)
			return ret;
		ro.sr = sr;
	}
	catch_signals();
	ret = coh_tegrastats_start(&r, &ro, &err);
	coh_sysroot_close(sr);		/* the program has its environment */
	if (ret == -ENOENT && !s->o->program) {
		cli_error("tegrastats not found (not a Jetson?); "
			  "pipe its lines in instead: ... | cohete tegrastats");
		return CMD_EXIT_UNAVAILABLE;
	}
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -ENOENT ? CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
	}
	s->source = s->o->program ? s->o->program : "tegrastats";
	while (!stop_requested && !done(s)) {
		ret = coh_tegrastats_next(r, &line, NULL);
		if (ret == -EINTR)
			continue;
		if (ret <= 0 || handle_line(s, line) < 0)
			break;
	}
	if (coh_tegrastats_finish(r, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	return exit_code(s);
}

int cmd_tegrastats(int argc, char **argv)
{
	struct ts_opts o = { 0 };
	struct ts_state s = { .o = &o, .source = "stdin" };
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : -ret;
	s.ts = malloc(sizeof(*s.ts));
	if (!s.ts) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	if (o.run || isatty(STDIN_FILENO))
		ret = run_tegrastats(&s);
	else
		ret = from_stdin(&s);
	free(s.ts);
	/* `... | head`: the reader has what it wanted; not an error */
	if (s.reader_gone && freopen("/dev/null", "w", stdout))
		return CMD_EXIT_OK;
	return ret;
}
