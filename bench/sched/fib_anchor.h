/* The anchors bench-sched compares against, each in its own file. */
#ifndef BENCH_SCHED_FIB_ANCHOR_H
#define BENCH_SCHED_FIB_ANCHOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint64_t bench_fib_omp(int n, int threads);
uint64_t bench_fib_tbb(int n, int threads);

#ifdef __cplusplus
}
#endif

#endif
