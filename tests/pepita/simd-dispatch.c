/*
 * simd-dispatch.c - choosing the SIMD tier: names, the CPU checks,
 * PEPITA_SIMD (accepted, refused with a reason, never run on a CPU that
 * lacks it), a kernel called under a refused PEPITA_SIMD (it runs on the
 * best tier, prints nothing and keeps the reason), a first use raced from
 * many threads, and the thread count.
 *
 * What must happen in a fresh process (nothing chosen yet) runs in a
 * forked child with its own environment, before the parent has touched
 * the dispatch (a fork rather than an exec: the cross suite runs this
 * under qemu-aarch64, where exec of an aarch64 binary may not work).
 * And the machine-limit measurements: each tier's streaming copy copies
 * exactly, whatever the sizes and alignments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/core.h>
#include <pepita/simd.h>

#include "harness.h"
#define PEP_TESTING_SIMD_DISPATCH
#include "simd/simd_priv.h"

/* A tier of the other architecture: never usable here. */
static enum pep_simd_isa foreign_tier(void)
{
	return strcmp(pep_cpu_arch(), "aarch64") == 0 ? PEP_SIMD_AVX2 :
							PEP_SIMD_NEON;
}

static int test_names(void)
{
	struct pep_err err;
	enum pep_simd_isa isa;

	for (int i = 0; i < PEP_SIMD_ISA_COUNT; i++) {
		const char *name = pep_simd_isa_name((enum pep_simd_isa)i);

		CHECK(strcmp(name, "unknown") != 0);
		CHECK(pep_simd_isa_parse(name, &isa, NULL) == 0);
		CHECK(isa == (enum pep_simd_isa)i);
	}
	CHECK(strcmp(pep_simd_isa_name(PEP_SIMD_ISA_COUNT), "unknown") == 0);
	pep_err_clear(&err);
	CHECK(pep_simd_isa_parse("AVX2", &isa, &err) == -EINVAL);
	CHECK(strstr(err.msg, "'AVX2'") && strstr(err.msg, "avx512"));
	CHECK(pep_simd_isa_parse("", &isa, NULL) == -EINVAL);
	CHECK(pep_simd_isa_parse(NULL, &isa, NULL) == -EINVAL);
	CHECK(pep_simd_isa_parse("avx2 ", &isa, NULL) == -EINVAL);
	return T_PASS;
}

static int test_usable(void)
{
	struct pep_err err;
	enum pep_simd_isa best = pep_simd_best();

	CHECK(pep_simd_usable(PEP_SIMD_SCALAR, NULL) == 0);
	pep_err_clear(&err);
	CHECK(pep_simd_usable(foreign_tier(), &err) == -ENOTSUP);
	CHECK(strstr(err.msg, pep_simd_isa_name(foreign_tier())) != NULL);
	CHECK(pep_simd_usable(PEP_SIMD_ISA_COUNT, NULL) == -EINVAL);
	CHECK(pep_simd_usable(best, NULL) == 0);
	/* Forcing a tier this CPU lacks changes nothing. */
	CHECK(pep_simd_force(PEP_SIMD_SCALAR, NULL) == 0);
	CHECK(pep_simd_force(foreign_tier(), NULL) == -ENOTSUP);
	CHECK(pep_simd_active() == PEP_SIMD_SCALAR);
	CHECK(pep_simd_force(best, NULL) == 0);
	CHECK(pep_simd_active() == best);
	/* Each x86 tier includes the one below it. */
	for (int i = PEP_SIMD_SSE4; i <= PEP_SIMD_AVX512; i++)
		if (pep_simd_usable((enum pep_simd_isa)i, NULL) == 0)
			CHECK(pep_simd_usable((enum pep_simd_isa)(i - 1), NULL) == 0);
	return T_PASS;
}

static int test_init_env(void)
{
	struct pep_err err;
	char want[64];

	CHECK(setenv("PEPITA_SIMD", "scalar", 1) == 0);
	CHECK(pep_simd_init(NULL) == 0);
	CHECK(pep_simd_active() == PEP_SIMD_SCALAR);

	CHECK(setenv("PEPITA_SIMD", "bogus", 1) == 0);
	pep_err_clear(&err);
	CHECK(pep_simd_init(&err) == -EINVAL);
	CHECK(strstr(err.msg, "PEPITA_SIMD=bogus refused") != NULL);
	CHECK(strstr(err.msg, "scalar, sse4, avx2, avx512, neon") != NULL);
	CHECK(pep_simd_active() == PEP_SIMD_SCALAR);

	snprintf(want, sizeof(want), "PEPITA_SIMD=%s refused",
		 pep_simd_isa_name(foreign_tier()));
	CHECK(setenv("PEPITA_SIMD", pep_simd_isa_name(foreign_tier()), 1) == 0);
	pep_err_clear(&err);
	CHECK(pep_simd_init(&err) == -ENOTSUP);
	CHECK(strstr(err.msg, want) != NULL);
	CHECK(pep_simd_active() == PEP_SIMD_SCALAR);

	CHECK(setenv("PEPITA_SIMD", "", 1) == 0);
	CHECK(pep_simd_init(NULL) == 0);
	CHECK(pep_simd_active() == pep_simd_best());
	CHECK(unsetenv("PEPITA_SIMD") == 0);
	CHECK(pep_simd_init(NULL) == 0);
	CHECK(pep_simd_active() == pep_simd_best());
	return T_PASS;
}

static int test_threads(void)
{
	unsigned int def = pep_simd_threads();

	CHECK(def >= 1 && def <= 256);
	pep_simd_set_threads(3);
	CHECK(pep_simd_threads() == 3);
	pep_simd_set_threads(100000);
	CHECK(pep_simd_threads() == 256);
	pep_simd_set_threads(0);
	CHECK(pep_simd_threads() == def);
	return T_PASS;
}

/* Every tier's copy_loop: exact, nothing written outside dst. */
static int test_copy_loops(void)
{
	static unsigned char src[4200], dst[4300];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 131 + 7);
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
		const struct pep__simd_table *t = pep__simd_table((enum pep_simd_isa)isa);

		if (!t || !t->copy_loop)
			continue;
		for (size_t n = 0; n < 4100; n += n < 300 ? 1 : 97)
			for (size_t so = 0; so < 4; so++)
				for (size_t dof = 0; dof < 4; dof++) {
					memset(dst, 0xee, sizeof(dst));
					t->copy_loop(dst + 64 + dof, src + so, n);
					for (size_t i = 0; i < sizeof(dst); i++) {
						size_t at = i - 64 - dof;
						int inside = i >= 64 + dof && at < n;
						unsigned char want = inside ? src[so + at] : 0xee;

						if (dst[i] != want) {
							fprintf(stderr, "%s copy_loop n %zu src+%zu "
								"dst+%zu: byte %zu is %u, want %u\n",
								pep_simd_isa_name((enum pep_simd_isa)isa),
								n, so, dof, i, dst[i], want);
							return T_FAIL;
						}
					}
				}
	}
	return T_PASS;
}

/* The measurements run and give a figure on every tier. */
static int test_measure(void)
{
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		CHECK(pep_simd_fma_peak(0.001) > 0.0);
		CHECK(pep_simd_mem_bandwidth(1 << 20, 0) > 0.0);
		CHECK(pep_simd_mem_bandwidth(1 << 20, 1) > 0.0);
		CHECK(pep_simd_mem_bandwidth(1, 1) == 0.0);
	}
	CHECK(pep_simd_force(pep_simd_best(), NULL) == 0);
	return T_PASS;
}

/* ---- children ------------------------------------------------------------ */

/*
 * fn in a forked child with the environment variable var (name=value, or
 * NULL) set; its stderr into buf. Returns the wait status, or -1.
 */
static int run_child(int (*fn)(void), const char *var, char *buf, size_t len)
{
	int fd[2], status;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	fflush(stderr);
	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		unsetenv("PEPITA_SIMD");
		unsetenv("PEPITA_NUM_THREADS");
		if (var)
			putenv((char *)var);
		_exit(fn());
	}
	close(fd[1]);
	while (got + 1 < len && (r = read(fd[0], buf + got, len - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static int child_sum(void);
static int child_fallback(void);
static int child_race(void);
static int child_threads5(void);

/*
 * A kernel called under a refused PEPITA_SIMD runs on the best tier; the
 * library prints nothing (the child writes the kept reason itself, after
 * "reason: ") and pep_simd_refused() says why.
 */
static int test_refused_falls_back(void)
{
	char var[64], out[1024], want[80];
	const char *tier = pep_simd_isa_name(foreign_tier());
	int status;

	snprintf(var, sizeof(var), "PEPITA_SIMD=%s", tier);
	snprintf(want, sizeof(want), "reason: PEPITA_SIMD=%s refused", tier);
	status = run_child(child_fallback, var, out, sizeof(out));
	CHECK(status != -1);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	status = run_child(child_fallback, "PEPITA_SIMD=sse5", out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strncmp(out, "reason: ", 8) == 0);
	CHECK(strstr(out, "unknown SIMD tier 'sse5'") != NULL);

	status = run_child(child_sum, "PEPITA_SIMD=scalar", out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(out[0] == '\0');
	return T_PASS;
}

static int test_first_use_race(void)
{
	char out[1024];
	int status = run_child(child_race, NULL, out, sizeof(out));

	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "%s", out);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_PASS;
}

static int test_threads_env(void)
{
	char out[1024];
	int status = run_child(child_threads5, "PEPITA_NUM_THREADS=5", out,
			       sizeof(out));

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_PASS;
}

/* In the child: the first kernel call, and what it chose. */
static int child_sum(void)
{
	float x[3] = { 1, 2, 3 };

	return pep_vsum(x, 3) == 6.0f && pep_simd_active() == PEP_SIMD_SCALAR ?
	       0 : 1;
}

/* In the child: the first call under a refused PEPITA_SIMD. */
static int child_fallback(void)
{
	float x[3] = { 1, 2, 3 };
	struct pep_err err;
	int ok;

	pep_err_clear(&err);
	ok = pep_vsum(x, 3) == 6.0f && pep_simd_active() == pep_simd_best() &&
	     pep_simd_refused(&err) < 0 && err.code < 0;
	fprintf(stderr, "reason: %s\n", err.msg);
	/* An explicit choice afterwards clears it. */
	ok = ok && pep_simd_force(PEP_SIMD_SCALAR, NULL) == 0 &&
	     pep_simd_refused(NULL) == 0;
	return ok ? 0 : 1;
}

#define RACERS 8

static void *racer(void *arg)
{
	float x[64];

	for (int i = 0; i < 64; i++)
		x[i] = (float)i;
	*(enum pep_simd_isa *)arg = pep_simd_active();
	return pep_vdot(x, x, 64) == 85344.0f ? arg : NULL;
}

static int child_race(void)
{
	pthread_t t[RACERS];
	enum pep_simd_isa seen[RACERS];
	int bad = 0;

	for (int i = 0; i < RACERS; i++)
		if (pthread_create(&t[i], NULL, racer, &seen[i]) != 0)
			return 2;
	for (int i = 0; i < RACERS; i++) {
		void *r;

		pthread_join(t[i], &r);
		if (!r || seen[i] != pep_simd_best()) {
			fprintf(stderr, "racer %d saw %s\n", i,
				pep_simd_isa_name(seen[i]));
			bad = 1;
		}
	}
	return bad;
}

static int child_threads5(void)
{
	return pep_simd_threads() == 5 ? 0 : 1;
}

int main(void)
{
	int rc = T_PASS;

	/* First, while nothing is chosen: the children inherit that. */
	t_run("a refused PEPITA_SIMD falls back to the best tier",
	      test_refused_falls_back, &rc);
	t_run("first use from many threads", test_first_use_race, &rc);
	t_run("PEPITA_NUM_THREADS", test_threads_env, &rc);
	t_run("tier names", test_names, &rc);
	t_run("usable tiers and forcing", test_usable, &rc);
	t_run("PEPITA_SIMD in pep_simd_init", test_init_env, &rc);
	t_run("sgemm thread count", test_threads, &rc);
	t_run("streaming copies of every tier", test_copy_loops, &rc);
	t_run("peak and bandwidth measurements", test_measure, &rc);
	return rc;
}
