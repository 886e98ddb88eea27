/*
 * bench/thermal: tegrastats lines parsed per second, and one breaker input
 * sample (every thermal zone) in microseconds on a fixture tree and live.
 *
 * Anchors, measured in the same run:
 * - parse: "peak" = splitting the same lines into tokens and nothing else,
 *   the least work any token-by-token parser does;
 * - sample: "peak" = the same files read once with bare open/read/close;
 * - agent-cpu-10hz: the agent (library: sampler thread, breaker, idle HTTP
 *   threads) sampling every 100 ms, as process CPU time per wall second in
 *   percent of one core; "bare-loop" = coh_status_sample() every 100 ms in
 *   a plain loop, the cost of the sampling itself.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cohete/agent.h>

#include <cohete/sysroot.h>

#include "../bench.h"
#include <cohete/thermal.h>

#define REPS 9
#define MAX_LINES 128
#define MAX_FILES 256

static int load_lines(const char *path, char **lines)
{
	char buf[8192];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (n < MAX_LINES && fgets(buf, sizeof(buf), f))
		if (buf[0] != '#' && buf[0] != '\n')
			lines[n++] = strdup(buf);
	fclose(f);
	return n;
}

/* Lines per second over rounds of all lines. */
static double rate(char **lines, int n, int tokenize_only)
{
	static struct coh_tegrastats ts;
	unsigned int rounds = 2000, sink = 0;
	uint64_t t0 = pep_time_ns();

	for (unsigned int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++) {
			if (!tokenize_only) {
				coh_tegrastats_parse(lines[i], &ts, NULL);
				sink += ts.cpu_count;
				continue;
			}
			char copy[8192], *save = NULL;

			strcpy(copy, lines[i]);
			for (char *t = strtok_r(copy, " \n", &save); t;
			     t = strtok_r(NULL, " \n", &save))
				sink++;
		}
	if (sink == 1)
		puts("");
	return (double)rounds * n / ((double)(pep_time_ns() - t0) / 1e9);
}

static void bench_parse(const char *fixtures)
{
	char path[512], *lines[MAX_LINES];
	double ours[REPS], peak[REPS];
	int n;

	snprintf(path, sizeof(path), "%s/tegrastats/samples.txt", fixtures);
	n = load_lines(path, lines);
	if (n <= 0) {
		fprintf(stderr, "bench thermal: no lines in %s\n", path);
		return;
	}
	for (int r = 0; r < REPS; r++) {
		ours[r] = rate(lines, n, 0);
		peak[r] = rate(lines, n, 1);
	}
	printf("BENCH thermal/tegrastats-parse lines/s ours=%.0f peak=%.0f speedup=%.2f\n",
	       bench_median(ours, REPS), bench_median(peak, REPS),
	       bench_median(ours, REPS) / bench_median(peak, REPS));
	for (int i = 0; i < n; i++)
		free(lines[i]);
}

struct trace {
	int on;
	unsigned int count;
	char *paths[MAX_FILES];
};

static void on_read(const char *path, void *arg)
{
	struct trace *t = arg;

	if (t->on && t->count < MAX_FILES)
		t->paths[t->count++] = strdup(path);
}

static void bench_sample(const char *name, const char *root)
{
	struct trace t = { 0 };
	struct coh_sysroot_opts opts = { .root = root, .on_read = on_read,
					 .on_read_arg = &t };
	struct coh_thermal *th = malloc(sizeof(*th));
	struct coh_sysroot *sr;
	double ours[REPS], peak[REPS];
	char buf[4096];
	int dirfd = open(root, O_RDONLY | O_DIRECTORY);

	if (!th || dirfd < 0 || coh_sysroot_open(&sr, &opts, NULL) < 0) {
		fprintf(stderr, "bench thermal: cannot open %s\n", root);
		free(th);
		return;
	}
	t.on = 1;
	coh_thermal_read(sr, th, NULL);
	t.on = 0;
	for (int r = 0; r < REPS; r++) {
		uint64_t t0 = pep_time_ns();

		for (int i = 0; i < 200; i++) {
			coh_thermal_read(sr, th, NULL);
			coh_thermal_guard_input(th);
		}
		ours[r] = (double)(pep_time_ns() - t0) / 200 / 1000;
		t0 = pep_time_ns();
		for (int i = 0; i < 200; i++)
			for (unsigned int k = 0; k < t.count; k++) {
				int fd = openat(dirfd, t.paths[k] + 1, O_RDONLY);

				if (fd >= 0) {
					if (read(fd, buf, sizeof(buf)) < 0)
						buf[0] = 0;
					close(fd);
				}
			}
		peak[r] = (double)(pep_time_ns() - t0) / 200 / 1000;
	}
	printf("# %s: %u zones, %u files or directories per sample\n", name,
	       th->count, t.count);
	printf("BENCH thermal/%s us ours=%.1f peak=%.1f speedup=%.2f\n", name,
	       bench_median(ours, REPS), bench_median(peak, REPS),
	       bench_median(peak, REPS) / bench_median(ours, REPS));
	for (unsigned int k = 0; k < t.count; k++)
		free(t.paths[k]);
	close(dirfd);
	coh_sysroot_close(sr);
	free(th);
}

#define AGENT_REPS 3
#define AGENT_SECONDS 2

/* User + system CPU time of the whole process, in seconds. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_until_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000),
			       .tv_nsec = (long)(ns % 1000000000) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

/* Percent of one core while the agent runs at 10 Hz; -1 if it cannot. */
static double agent_cpu(const char *root)
{
	struct coh_agent_opts o = { .sysroot = root, .listen = "127.0.0.1:0",
				    .interval_ms = 100 };
	struct coh_agent *a;
	double c0, c1;
	uint64_t t0, t1;

	if (coh_agent_create(&a, &o, NULL) < 0)
		return -1;
	if (coh_agent_start(a, NULL) < 0) {
		coh_agent_destroy(a);
		return -1;
	}
	sleep_until_ns(pep_time_ns() + 300000000);	/* past start-up */
	c0 = cpu_seconds();
	t0 = pep_time_ns();
	sleep_until_ns(t0 + AGENT_SECONDS * 1000000000ULL);
	c1 = cpu_seconds();
	t1 = pep_time_ns();
	coh_agent_destroy(a);
	return 100.0 * (c1 - c0) / ((double)(t1 - t0) / 1e9);
}

/* The same sampling, bare: coh_status_sample() every 100 ms. */
static double bare_cpu(const char *root)
{
	struct coh_sysroot_opts opts = { .root = root };
	struct coh_status *prev = malloc(sizeof(*prev)), *cur = malloc(sizeof(*cur)), *tmp;
	struct coh_sysroot *sr;
	uint64_t t0, next;
	double c0, pct = -1;

	if (prev && cur && coh_sysroot_open(&sr, &opts, NULL) == 0) {
		coh_status_sample(sr, NULL, prev);
		c0 = cpu_seconds();
		t0 = next = pep_time_ns();
		while (next < t0 + AGENT_SECONDS * 1000000000ULL) {
			coh_status_sample(sr, prev, cur);
			coh_thermal_guard_input(&cur->thermal);
			tmp = prev;
			prev = cur;
			cur = tmp;
			next += 100000000;
			sleep_until_ns(next);
		}
		pct = 100.0 * (cpu_seconds() - c0) / ((double)(pep_time_ns() - t0) / 1e9);
		coh_sysroot_close(sr);
	}
	free(prev);
	free(cur);
	return pct;
}

static void bench_agent(const char *root)
{
	double ours[AGENT_REPS], bare[AGENT_REPS];

	for (int r = 0; r < AGENT_REPS; r++) {
		ours[r] = agent_cpu(root);
		bare[r] = bare_cpu(root);
		if (ours[r] < 0 || bare[r] < 0) {
			printf("# agent: cannot run on %s\n", root);
			printf("BENCH thermal/agent-cpu-10hz core%% ours=na bare-loop=na speedup=na\n");
			return;
		}
	}
	printf("BENCH thermal/agent-cpu-10hz core%% ours=%.3f bare-loop=%.3f speedup=%.2f\n",
	       bench_median(ours, AGENT_REPS), bench_median(bare, AGENT_REPS),
	       bench_median(bare, AGENT_REPS) / bench_median(ours, AGENT_REPS));
}

int main(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	char root[512];

	if (!fixtures)
		fixtures = "tests/fixtures";
	bench_parse(fixtures);
	snprintf(root, sizeof(root), "%s/sysroots/agx-orin-64gb-r36", fixtures);
	bench_sample("fixture-sample", root);
	bench_sample("live-sample", "/");
	bench_agent(root);
	return 0;
}
