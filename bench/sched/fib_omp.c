/* fib with an OpenMP task at every call, the anchor for bench-sched. */
#include <stdint.h>

#include "fib_anchor.h"

static uint64_t fib(int n)
{
	uint64_t x, y;

	if (n < 2)
		return (uint64_t)n;
#pragma omp task shared(x)
	x = fib(n - 1);
	y = fib(n - 2);
#pragma omp taskwait
	return x + y;
}

uint64_t bench_fib_omp(int n, int threads)
{
	uint64_t r = 0;

#pragma omp parallel num_threads(threads)
#pragma omp single
	r = fib(n);
	return r;
}
