/*
 * tegrastats run by the thermal module, against tests/sim/tegrastats on a
 * fixture tree: lines arrive as the program prints them and parse; the
 * sysroot reaches the program through its environment (the simulator
 * refuses to run without one); a program stopped by us is no error, one
 * that fails says how, with its stderr; a missing one is -ENOENT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/sysroot.h>
#include <cohete/thermal.h>

#include "harness.h"

static char sim[512], tree[512];

static int test_lines(void)
{
	struct coh_sysroot_opts so = { .root = tree };
	struct coh_tegrastats_run_opts o = { .program = sim, .interval_ms = 50 };
	struct coh_tegrastats_run *r;
	struct coh_tegrastats ts;
	struct coh_sysroot *sr;
	struct pep_err err = { 0 };
	const char *line;

	CHECK(coh_sysroot_open(&sr, &so, &err) == 0);
	o.sr = sr;
	CHECK(coh_tegrastats_start(&r, &o, &err) == 0);
	coh_sysroot_close(sr);
	for (int i = 0; i < 3; i++) {
		int ret;

		while ((ret = coh_tegrastats_next(r, &line, &err)) == -EINTR)
			;
		CHECK(ret == 1);
		CHECK(strchr(line, '\n') == NULL);
		CHECK(coh_tegrastats_parse(line, &ts, &err) == 0);
		CHECK(ts.ram_total_mb > 0 && ts.cpu_count > 0);
	}
	CHECK(coh_tegrastats_finish(r, &err) == 0);	/* stopped by us */
	return T_PASS;
}

static int test_failure(void)
{
	struct coh_tegrastats_run_opts o = { .program = sim };
	struct coh_tegrastats_run *r;
	struct pep_err err = { 0 };
	const char *line;

	/* No sysroot anywhere: the simulator refuses and exits. */
	CHECK(coh_tegrastats_start(&r, &o, &err) == 0);
	CHECK(coh_tegrastats_next(r, &line, &err) == 0);
	CHECK(coh_tegrastats_finish(r, &err) == -ECHILD);
	CHECK(strstr(err.msg, "exited with status"));
	CHECK(strstr(err.msg, ": tegrastats: "));	/* its stderr */
	CHECK(strstr(err.msg, sim));

	o.program = "/nonexistent/tegrastats";
	CHECK(coh_tegrastats_start(&r, &o, &err) == -ENOENT);
	CHECK(r == NULL);
	CHECK(coh_tegrastats_finish(NULL, &err) == 0);
	return T_PASS;
}

int main(void)
{
	const char *simdir = getenv("COHETE_SIM");
	const char *fixtures = getenv("COHETE_FIXTURES");
	int rc = 0;

	if (!simdir || !fixtures)
		return T_ERROR;
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("SKIP: python3 (the simulator's interpreter) is not installed\n");
		return T_SKIP;
	}
	unsetenv("COHETE_SYSROOT");
	snprintf(sim, sizeof(sim), "%s/tegrastats", simdir);
	snprintf(tree, sizeof(tree), "%s/sysroots/orin-nano-8gb-super-r36",
		 fixtures);
	t_run("lines", test_lines, &rc);
	t_run("failure", test_failure, &rc);
	return rc;
}
