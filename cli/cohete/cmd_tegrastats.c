/*
 * cohete tegrastats: parse tegrastats lines (a running tegrastats piped in,
 * or a log) into one JSON object per line, or a short summary per line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/thermal.h>

#include "cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete tegrastats [--json] < LINES\n\n"
		"Parse tegrastats output (any L4T release, R24 to R39) read from\n"
		"standard input: `tegrastats | cohete tegrastats --json`, or a log.\n\n"
		"  --json       one JSON object per line (every field; null when absent)\n"
		"  -h, --help   this help\n");
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

static int parse_opts(int argc, char **argv, int *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'j') {
			*json = 1;
		} else if (c == 'h') {
			usage(stdout);
			return 1;
		} else {
			cli_error("tegrastats", "unknown option '%s'", argv[optind - 1]);
			return -CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("tegrastats", "unexpected argument '%s'", argv[optind]);
		return -CMD_EXIT_USAGE;
	}
	return 0;
}

int cmd_tegrastats(int argc, char **argv)
{
	struct coh_tegrastats *ts = malloc(sizeof(*ts));
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0, bad = 0;
	int json = 0, ret = parse_opts(argc, argv, &json);

	if (ret || !ts) {
		free(ts);
		return ret > 0 ? CMD_EXIT_OK : ret < 0 ? -ret : CMD_EXIT_FAIL;
	}
	while (getline(&line, &cap, stdin) > 0) {
		struct pep_err err;
		char *out;

		lineno++;
		if (coh_tegrastats_parse(line, ts, &err) < 0) {
			cli_error("tegrastats", "stdin:%lu: %s", lineno, err.msg);
			bad++;
			continue;
		}
		if (!json) {
			print_summary(ts);
		} else if ((out = coh_tegrastats_json(ts))) {
			puts(out);
			free(out);
		}
		fflush(stdout);
	}
	free(line);
	free(ts);
	return bad && bad == lineno ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}
