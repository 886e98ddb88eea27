/*
 * bench-sched: fib(n) with a spawn at every call (no cutoff) on 1 and 2
 * workers, ours against serial C, OpenMP tasks and oneTBB task_group, all
 * from the same run. Medians of REPS. Also the spawn+sync overhead per
 * task on one worker: (T1 - Tserial) / spawns.
 */
#include <stdint.h>
#include <stdio.h>

#include <pepita/sched.h>

#include "bench.h"
#include "fib_anchor.h"

#define REPS	5

struct fib {
	int n;
	uint64_t r;
};

static void fib_task(void *arg)
{
	struct fib *f = arg, a = { f->n - 1, 0 }, b = { f->n - 2, 0 };
	struct pep_group g = PEP_GROUP_INIT;

	if (f->n < 2) {
		f->r = (uint64_t)f->n;
		return;
	}
	pep_spawn(&g, fib_task, &a);
	fib_task(&b);
	pep_sync(&g);
	f->r = a.r + b.r;
}

static uint64_t __attribute__((noinline)) fib_serial(int n)
{
	return n < 2 ? (uint64_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

static double ms_since(uint64_t t0)
{
	return (double)(pep_time_ns() - t0) / 1e6;
}

static double time_serial(int n)
{
	double v[REPS];

	for (int i = 0; i < REPS; i++) {
		uint64_t t0 = pep_time_ns();
		volatile uint64_t r = fib_serial(n);

		(void)r;
		v[i] = ms_since(t0);
	}
	return bench_median(v, REPS);
}

static double time_ours(int n, unsigned int workers, uint64_t *spawns)
{
	struct pep_sched_opts o = { .workers = workers };
	struct pep_sched_stats st;
	struct pep_sched *s;
	double v[REPS];

	if (pep_sched_create(&s, &o, NULL) < 0)
		return -1;
	for (int i = 0; i < REPS; i++) {
		struct fib f = { n, 0 };
		uint64_t t0 = pep_time_ns();

		pep_sched_run(s, fib_task, &f);
		v[i] = ms_since(t0);
		if (f.r != fib_serial(n))
			fprintf(stderr, "bench-sched: wrong fib(%d)\n", n);
	}
	pep_sched_stats(s, &st);
	*spawns = st.spawns / REPS;
	pep_sched_destroy(s);
	return bench_median(v, REPS);
}

#if defined(HAVE_OMP) || defined(HAVE_TBB)
static double time_anchor(uint64_t (*fn)(int, int), int n, int workers)
{
	double v[REPS];

	for (int i = 0; i < REPS; i++) {
		uint64_t t0 = pep_time_ns();
		uint64_t r = fn(n, workers);

		v[i] = ms_since(t0);
		if (r != fib_serial(n))
			fprintf(stderr, "bench-sched: anchor wrong fib(%d)\n", n);
	}
	return bench_median(v, REPS);
}
#endif

static void report(const char *name, const char *anchor, double ours,
		   double other)
{
	if (other < 0)
		printf("BENCH sched/%s ms ours=%.1f %s=na speedup=na\n",
		       name, ours, anchor);
	else
		printf("BENCH sched/%s ms ours=%.1f %s=%.1f speedup=%.2f\n",
		       name, ours, anchor, other, other / ours);
}

static void bench_fib(int n, unsigned int workers)
{
	char name[32];
	uint64_t spawns;
	double ours, omp = -1, tbb = -1;

	snprintf(name, sizeof(name), "fib%d-w%u", n, workers);
	ours = time_ours(n, workers, &spawns);
#ifdef HAVE_OMP
	omp = time_anchor(bench_fib_omp, n, (int)workers);
#else
	printf("# %s: built without OpenMP (no -fopenmp)\n", name);
#endif
#ifdef HAVE_TBB
	tbb = time_anchor(bench_fib_tbb, n, (int)workers);
#else
	printf("# %s: built without oneTBB (no libtbb-dev or C++ compiler)\n",
	       name);
#endif
	report(name, "omp", ours, omp);
	report(name, "tbb", ours, tbb);
	fflush(stdout);
}

static void bench_spawn_cost(int n)
{
	double serial = time_serial(n), t1;
	uint64_t spawns;

	t1 = time_ours(n, 1, &spawns);
	printf("BENCH sched/fib%d-w1-serial ms ours=%.1f serial=%.1f "
	       "overhead=%.2f\n", n, t1, serial, t1 / serial);
	printf("BENCH sched/spawn-ns ns ours=%.1f serial=%.1f spawns=%llu\n",
	       (t1 - serial) * 1e6 / (double)spawns,
	       serial * 1e6 / (double)spawns, (unsigned long long)spawns);
}

int main(void)
{
	static const int ns[] = { 30, 34 };
	static const unsigned int ws[] = { 1, 2 };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (size_t k = 0; k < sizeof(ws) / sizeof(ws[0]); k++)
			bench_fib(ns[i], ws[k]);
	bench_spawn_cost(30);
	return 0;
}
