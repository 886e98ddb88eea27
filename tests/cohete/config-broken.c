/*
 * The broken-file corpus: every tests/fixtures/config/broken/NAME.yaml is
 * refused with exactly the lines of NAME.expected ("FILE:LINE:COL: error:
 * PATH: MESSAGE", warnings too, then "and N more errors" when capped).
 * Loaded from that directory under its bare name, with an empty
 * environment, so the expected text is the same on every machine.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/config.h>

#include "harness.h"

static const char *empty_env(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return NULL;
}

static char *diag_text(const struct coh_config_diags *d)
{
	char *buf = NULL, line[2048];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < d->count; i++) {
		coh_config_diag_format(&d->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	if (d->omitted)
		fprintf(f, "and %zu more errors\n", d->omitted);
	fclose(f);
	return buf;
}

/* One file: refused, with the expected lines. */
static int check_one(const char *name)
{
	const struct coh_config_load_opts opts = { .getenv = empty_env };
	struct coh_config_diags d = { 0 };
	struct coh_config *cfg = NULL;
	char expected[512], *want, *got;
	int ret, rc = T_PASS;

	snprintf(expected, sizeof(expected), "%.*s.expected",
		 (int)(strlen(name) - 5), name);
	want = t_read_file(expected);
	if (!want) {
		fprintf(stderr, "%s: no %s\n", name, expected);
		return T_FAIL;
	}
	ret = coh_config_load(name, &opts, &cfg, &d, NULL);
	got = diag_text(&d);
	if (ret != -EINVAL || cfg || d.errors == 0) {
		fprintf(stderr, "%s: not refused (%d)\n", name, ret);
		rc = T_FAIL;
	} else if (!got || strcmp(got, want)) {
		fprintf(stderr, "%s:\nwant:\n%sgot:\n%s", name, want, got ? got : "");
		rc = T_FAIL;
	}
	free(want);
	free(got);
	coh_config_free(cfg);
	coh_config_diags_free(&d);
	return rc;
}

int main(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	char dir[4096];
	struct dirent *de;
	unsigned int n = 0, failed = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/config/broken",
		 fixtures ? fixtures : "tests/fixtures");
	if (chdir(dir) < 0 || !(dp = opendir("."))) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return T_ERROR;
	}
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;
		n++;
		if (check_one(de->d_name) != T_PASS)
			failed++;
	}
	closedir(dp);
	fprintf(stderr, "%u broken files, %u as expected\n", n, n - failed);
	if (n < 10) {
		fprintf(stderr, "the corpus is missing: %u files in %s\n", n, dir);
		return T_FAIL;
	}
	return failed ? T_FAIL : T_PASS;
}
