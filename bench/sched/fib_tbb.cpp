// fib with a oneTBB task_group run at every call, the other anchor.
#include <cstdint>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "fib_anchor.h"

static uint64_t fib(int n)
{
	uint64_t x, y;
	tbb::task_group g;

	if (n < 2)
		return (uint64_t)n;
	g.run([&] { x = fib(n - 1); });
	y = fib(n - 2);
	g.wait();
	return x + y;
}

extern "C" uint64_t bench_fib_tbb(int n, int threads)
{
	tbb::task_arena arena(threads);
	uint64_t r = 0;

	arena.execute([&] { r = fib(n); });
	return r;
}
