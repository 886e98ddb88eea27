/*
 * bench/bench.h - what every benchmark shares: the median of repetitions.
 * Benchmarks print BENCH lines; they never fail a build.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdlib.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

#endif /* BENCH_BENCH_H */
