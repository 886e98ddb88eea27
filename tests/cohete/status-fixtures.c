/*
 * Every fixture tree's status, as JSON, must equal its golden file
 * (tests/fixtures/sysroots/<name>/status.golden.json): the same bytes on
 * x86-64 and aarch64. The sample's wall-clock time is the one thing a tree
 * cannot fix, so it is checked against the clock and then pinned to
 * GOLDEN_TIME_MS before the comparison. To accept a deliberate change, run
 * with COHETE_UPDATE_GOLDEN=1 and review the diff.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cohete/status.h>
#include <cohete/sysroot.h>
#include <pepita/core.h>

#include "harness.h"

/* 2026-01-02T03:04:05.678Z, the "timestamp" of every golden file */
#define GOLDEN_TIME_MS 1767323045678LL

static int write_all(const char *path, const char *text)
{
	char tmp[600];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* Print the first line that differs, with its number. */
static void report_diff(const char *name, const char *want, const char *got)
{
	int line = 1;

	while (*want && *want == *got) {
		if (*want == '\n')
			line++;
		want++;
		got++;
	}
	fprintf(stderr, "%s: differs from golden at line %d:\n  want: %.*s\n"
		"  got:  %.*s\n", name, line, (int)strcspn(want, "\n"), want,
		(int)strcspn(got, "\n"), got);
}

/*
 * A second sample with the first as prev reads the engines the first one
 * found without listing the clock tree again: the same engines, in order.
 */
static int check_resample(const struct coh_sysroot *sr, const char *name,
			  const struct coh_status *first)
{
	struct coh_status *again = malloc(sizeof(*again));
	int rc = T_PASS;

	if (!again || coh_status_sample(sr, first, again) < 0) {
		free(again);
		return T_ERROR;
	}
	if (again->engines.readable != first->engines.readable ||
	    again->engines.count != first->engines.count ||
	    memcmp(again->engines.engine, first->engines.engine,
		   first->engines.count * sizeof(first->engines.engine[0]))) {
		fprintf(stderr, "%s: engines differ when sampled with prev\n", name);
		rc = T_FAIL;
	}
	free(again);
	return rc;
}

/*
 * The sample was stamped with the wall clock while it was taken. The
 * bounds come from the same clock (CLOCK_REALTIME): time(2) reads the
 * coarse one, which lags it by up to a tick, so a sample just past a
 * second would seem to come after a time(2) taken later.
 */
static int check_time(const char *name, int64_t before_ms, int64_t time_ms,
		      int64_t after_ms)
{
	if (time_ms >= before_ms && time_ms <= after_ms)
		return T_PASS;
	fprintf(stderr, "%s: time_ms %lld not between %lld and %lld\n", name,
		(long long)time_ms, (long long)before_ms, (long long)after_ms);
	return T_FAIL;
}

static int check_tree(const char *dir, const char *name, int update)
{
	struct coh_sysroot_opts opts = { 0 };
	char root[512], golden_path[600];
	struct coh_sysroot *sr;
	struct coh_status *st = malloc(sizeof(*st));
	char *json = NULL, *golden = NULL;
	int rc = T_FAIL;
	int64_t before;

	snprintf(root, sizeof(root), "%s/%s", dir, name);
	snprintf(golden_path, sizeof(golden_path), "%s/status.golden.json", root);
	opts.root = root;
	if (!st || coh_sysroot_open(&sr, &opts, NULL) < 0) {
		free(st);
		return T_ERROR;
	}
	before = pep_time_real_ms();
	if (coh_status_sample(sr, NULL, st) < 0 ||
	    check_time(name, before, st->time_ms, pep_time_real_ms()) != T_PASS)
		goto out;
	st->time_ms = GOLDEN_TIME_MS;
	if ((json = coh_status_json(st))) {
		if (update) {
			rc = write_all(golden_path, json) == 0 ? T_PASS : T_ERROR;
		} else if (!(golden = t_read_file(golden_path))) {
			fprintf(stderr, "%s: no golden file %s\n", name, golden_path);
		} else {
			size_t len = strlen(golden);

			if (len && golden[len - 1] == '\n')
				golden[len - 1] = '\0';
			if (!strcmp(golden, json))
				rc = check_resample(sr, name, st);
			else
				report_diff(name, golden, json);
		}
	}
out:
	free(golden);
	free(json);
	free(st);
	coh_sysroot_close(sr);
	return rc;
}

int main(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	const char *update = getenv("COHETE_UPDATE_GOLDEN");
	struct coh_sysroot_opts opts = { 0 };
	struct coh_names trees;
	struct coh_sysroot *sr;
	char dir[512];
	int rc = T_PASS;
	unsigned int checked = 0;

	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/sysroots", fixtures);
	opts.root = dir;
	if (coh_sysroot_open(&sr, &opts, NULL) < 0 ||
	    coh_sysroot_list(sr, "/", &trees, NULL) < 0) {
		fprintf(stderr, "cannot list %s\n", dir);
		return T_ERROR;
	}
	for (size_t i = 0; i < trees.count; i++) {
		int r = check_tree(dir, trees.names[i], update && *update == '1');

		fprintf(stderr, "%s %s\n", r == T_PASS ? "ok  " : "FAIL",
			trees.names[i]);
		if (r != T_PASS)
			rc = T_FAIL;
		checked++;
	}
	coh_names_free(&trees);
	coh_sysroot_close(sr);
	if (checked < 9) {
		fprintf(stderr, "only %u fixture trees in %s, expected 9 or more\n",
			checked, dir);
		rc = T_FAIL;
	}
	return rc;
}
