/*
 * pepita core: struct pep_err formatting, the version string, CPU feature
 * names and the implications any real CPU and kernel satisfy, and that
 * detection gives one answer across calls and threads. Runs anywhere,
 * including under qemu-aarch64.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pepita/core.h>

#include "harness.h"

#define N_THREADS 8

static int test_err_set(void)
{
	struct pep_err err;

	CHECK(pep_err_set(&err, -ENOENT, "open %s", "/x") == -ENOENT);
	CHECK(err.code == -ENOENT);
	CHECK(!strcmp(err.msg, "open /x"));
	pep_err_clear(&err);
	CHECK(err.code == 0 && err.msg[0] == '\0');
	return T_PASS;
}

static int test_err_null(void)
{
	pep_err_clear(NULL);
	CHECK(pep_err_set(NULL, -EINVAL, "bad %d", 1) == -EINVAL);
	errno = EPERM;
	CHECK(pep_err_errno(NULL, "open %s", "/x") == -EPERM);
	return T_PASS;
}

static int test_err_errno(void)
{
	char want[PEP_ERR_MSG_MAX];
	struct pep_err err;
	int fd, ret;

	fd = open("/nonexistent/pepita-test", O_RDONLY);
	CHECK(fd < 0 && errno == ENOENT);
	ret = pep_err_errno(&err, "open %s", "/nonexistent/pepita-test");
	CHECK(ret == -ENOENT && err.code == -ENOENT);
	/* The caller may still look at errno after recording it. */
	CHECK(errno == ENOENT);
	snprintf(want, sizeof(want), "open /nonexistent/pepita-test: %s",
		 strerror(ENOENT));
	CHECK(!strcmp(err.msg, want));
	return T_PASS;
}

/* errno 0 (a caller's bug) must still give a failure code, not success. */
static int test_err_errno_zero(void)
{
	struct pep_err err;

	errno = 0;
	CHECK(pep_err_errno(&err, "x") < 0);
	CHECK(err.code < 0);
	return T_PASS;
}

/* The message is cut to fit; the bytes after struct pep_err stay intact. */
static int test_err_truncate(void)
{
	struct {
		struct pep_err err;
		char canary[64];
	} w;
	char long_arg[3 * PEP_ERR_MSG_MAX];
	size_t i;

	memset(long_arg, 'a', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	memset(w.canary, 0x5a, sizeof(w.canary));
	CHECK(pep_err_set(&w.err, -E2BIG, "%s", long_arg) == -E2BIG);
	CHECK(strlen(w.err.msg) == PEP_ERR_MSG_MAX - 1);
	errno = EIO;
	CHECK(pep_err_errno(&w.err, "%s", long_arg) == -EIO);
	CHECK(strlen(w.err.msg) == PEP_ERR_MSG_MAX - 1);
	/* Nearly full: the strerror text is cut, not written past the end. */
	long_arg[PEP_ERR_MSG_MAX - 4] = '\0';
	CHECK(pep_err_errno(&w.err, "%s", long_arg) == -EIO);
	CHECK(strlen(w.err.msg) == PEP_ERR_MSG_MAX - 1);
	CHECK(!strncmp(w.err.msg + PEP_ERR_MSG_MAX - 4, ": ", 2));
	for (i = 0; i < sizeof(w.canary); i++)
		CHECK(w.canary[i] == 0x5a);
	return T_PASS;
}

static int test_version(void)
{
	const char *v = pep_version();

	CHECK(v && !strncmp(v, "pepita ", 7));
	CHECK(strlen(v) > 7);
	CHECK(!strchr(v, '\n'));
	return T_PASS;
}

static int test_time(void)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	uint64_t t0 = pep_time_ns(), t1;

	CHECK(nanosleep(&ms, NULL) == 0);
	t1 = pep_time_ns();
	CHECK(t1 >= t0 + 1000000);
	return T_PASS;
}

/* RFC 3339 in UTC with milliseconds, the "timestamp" of every JSON document. */
static int test_rfc3339(void)
{
	char buf[PEP_RFC3339_SIZE], small[10];
	int64_t before, now, after;

	CHECK(pep_time_rfc3339(0, buf, sizeof(buf)) == 24);
	CHECK(!strcmp(buf, "1970-01-01T00:00:00.000Z"));
	CHECK(pep_time_rfc3339(1785056908042, buf, sizeof(buf)) == 24);
	CHECK(!strcmp(buf, "2026-07-26T09:08:28.042Z"));
	/* Before the epoch the milliseconds still count up within the second. */
	CHECK(pep_time_rfc3339(-1, buf, sizeof(buf)) == 24);
	CHECK(!strcmp(buf, "1969-12-31T23:59:59.999Z"));
	CHECK(pep_time_rfc3339(253402300800000, buf, sizeof(buf)) == -EINVAL);
	CHECK(pep_time_rfc3339(0, small, sizeof(small)) == -ENOSPC);
	CHECK(strlen(small) == sizeof(small) - 1);
	/* The wall clock, not the monotonic one: between two other readings. */
	before = (int64_t)time(NULL) * 1000;
	now = pep_time_real_ms();
	after = (int64_t)time(NULL) * 1000 + 1000;
	CHECK(now >= before && now <= after);
	return T_PASS;
}

static int test_arch(void)
{
#if defined(__x86_64__)
	CHECK(!strcmp(pep_cpu_arch(), "x86_64"));
#elif defined(__aarch64__)
	CHECK(!strcmp(pep_cpu_arch(), "aarch64"));
#endif
	return T_PASS;
}

static bool name_ok(const char *name)
{
	const char *c;

	if (!name || !*name)
		return false;
	for (c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789.", *c))
			return false;
	return true;
}

static int test_feature_names(void)
{
	const char *arch;
	int f, g;

	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++) {
		CHECK(name_ok(pep_cpu_feature_name(f)));
		arch = pep_cpu_feature_arch(f);
		CHECK(arch && (!strcmp(arch, "x86_64") ||
			       !strcmp(arch, "aarch64")));
		for (g = 0; g < f; g++)
			CHECK(strcmp(pep_cpu_feature_name(f),
				     pep_cpu_feature_name(g)));
	}
	CHECK(pep_cpu_feature_arch(PEP_CPU_FEATURE_COUNT) == NULL);
	CHECK(pep_cpu_feature_arch(-1) == NULL);
	CHECK(pep_cpu_has(PEP_CPU_FEATURE_COUNT) == 0);
	CHECK(pep_cpu_has(-1) == 0);
	return T_PASS;
}

/* A feature is only reported on the architecture it belongs to. */
static int test_other_arch_absent(void)
{
	int f;

	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++)
		if (strcmp(pep_cpu_feature_arch(f), pep_cpu_arch()))
			CHECK(!pep_cpu_has(f));
	return T_PASS;
}

static int test_implications(void)
{
	/* The AVX-512 extensions are useless (and never sold) without F. */
	if (pep_cpu_has(PEP_CPU_AVX512BW) || pep_cpu_has(PEP_CPU_AVX512VL) ||
	    pep_cpu_has(PEP_CPU_AVX512VNNI) || pep_cpu_has(PEP_CPU_AVX512BF16))
		CHECK(pep_cpu_has(PEP_CPU_AVX512F));
#if defined(__x86_64__)
	/* Every AVX2 or AVX-512 CPU also has SSE4.1 (Haswell and later). */
	if (pep_cpu_has(PEP_CPU_AVX2) || pep_cpu_has(PEP_CPU_AVX512F))
		CHECK(pep_cpu_has(PEP_CPU_SSE41));
	/* FMA, F16C and AVX2 all came with (OS-enabled) AVX, after SSE4.1. */
	if (pep_cpu_has(PEP_CPU_FMA) || pep_cpu_has(PEP_CPU_F16C))
		CHECK(pep_cpu_has(PEP_CPU_SSE41));
	/* Every AVX-512 CPU has AVX2, and the OS saving ZMM saves YMM too. */
	if (pep_cpu_has(PEP_CPU_AVX512F))
		CHECK(pep_cpu_has(PEP_CPU_AVX2));
#elif defined(__aarch64__)
	/* Advanced SIMD is mandatory in the AArch64 base architecture. */
	CHECK(pep_cpu_has(PEP_CPU_ASIMD));
#endif
	return T_PASS;
}

static int test_repeat(void)
{
	int f, first;

	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++) {
		first = pep_cpu_has(f);
		CHECK(first == 0 || first == 1);
		CHECK(pep_cpu_has(f) == first);
	}
	return T_PASS;
}

struct thread_result {
	pthread_barrier_t *start;
	int has[PEP_CPU_FEATURE_COUNT];
};

static void *detect_thread(void *arg)
{
	struct thread_result *r = arg;
	int f;

	/* All threads call pep_cpu_has() at once, racing into pthread_once. */
	pthread_barrier_wait(r->start);
	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++)
		r->has[f] = pep_cpu_has(f);
	return NULL;
}

/* Must run first in main(), before anything else has triggered detection. */
static int test_threads(void)
{
	struct thread_result res[N_THREADS];
	pthread_t tid[N_THREADS];
	pthread_barrier_t start;
	int i, f;

	if (pthread_barrier_init(&start, NULL, N_THREADS))
		return T_ERROR;
	for (i = 0; i < N_THREADS; i++) {
		res[i].start = &start;
		if (pthread_create(&tid[i], NULL, detect_thread, &res[i]))
			return T_ERROR;	/* main() exits: the waiters die */
	}
	for (i = 0; i < N_THREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < N_THREADS; i++)
		for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++)
			CHECK(res[i].has[f] == pep_cpu_has(f));
	return T_PASS;
}

/* What this machine reported, for whoever reads the test log. */
static void print_features(void)
{
	int f;

	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++)
		if (!strcmp(pep_cpu_feature_arch(f), pep_cpu_arch()))
			fprintf(stderr, "     %s=%d\n", pep_cpu_feature_name(f),
				pep_cpu_has(f));
}

/* Insertions, deletions, substitutions and swaps of neighbours: 1 each. */
static int test_edit_distance(void)
{
	static const char *const keys[] = { "thermal_policy", NULL, "threshold_c",
					    "cooldown_c" };
	char long_word[80];

	CHECK(pep_edit_distance("", "") == 0);
	CHECK(pep_edit_distance("abc", "abc") == 0);
	CHECK(pep_edit_distance("abc", "") == 3);
	CHECK(pep_edit_distance("status", "stauts") == 1);	/* swap */
	CHECK(pep_edit_distance("status", "statu") == 1);	/* deletion */
	CHECK(pep_edit_distance("kitten", "sitting") == 3);
	memset(long_word, 'a', sizeof(long_word) - 1);
	long_word[sizeof(long_word) - 1] = '\0';
	CHECK(pep_edit_distance(long_word, "a") == SIZE_MAX);
	/* within 2 edits, fewer than the letters typed; NULL entries skipped */
	CHECK(!strcmp(pep_closest_word("thermal_polcy", keys, 4), "thermal_policy"));
	CHECK(!strcmp(pep_closest_word("coldown_c", keys, 4), "cooldown_c"));
	CHECK(pep_closest_word("fan", keys, 4) == NULL);
	CHECK(pep_closest_word("ab", (const char *const[]){ "xy" }, 1) == NULL);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	/* First, so the threads race into the one-time detection. */
	if (t_run("threads", test_threads, &rc) == T_ERROR)
		return T_ERROR;
	t_run("err_set", test_err_set, &rc);
	t_run("err_null", test_err_null, &rc);
	t_run("err_errno", test_err_errno, &rc);
	t_run("err_errno_zero", test_err_errno_zero, &rc);
	t_run("err_truncate", test_err_truncate, &rc);
	t_run("version", test_version, &rc);
	t_run("time", test_time, &rc);
	t_run("rfc3339", test_rfc3339, &rc);
	t_run("arch", test_arch, &rc);
	t_run("feature_names", test_feature_names, &rc);
	t_run("other_arch_absent", test_other_arch_absent, &rc);
	t_run("implications", test_implications, &rc);
	t_run("repeat", test_repeat, &rc);
	t_run("edit_distance", test_edit_distance, &rc);
	print_features();
	return rc;
}
