/*
 * measure.c - what this machine can do, measured with the active tier's
 * peak.c loops: FMA throughput of one thread and the memory
 * bandwidth one thread reads or copies.
 *
 * Each figure is the best of several runs, not the mean: interruptions
 * (other processes, a hypervisor, frequency changes) only ever slow a run
 * down, and the question is what the hardware can do. The buffer is
 * faulted in before any timing: a page fault costs microseconds (11 us a
 * 4 KiB page in a VM here), far more than reading the page.
 */
#include <string.h>
#include <sys/mman.h>

#include "simd_priv.h"

/* A chunk of FMA work that takes about CHUNK_NS: long enough that the
 * clock's cost vanishes, short enough that many fit in `seconds`. */
#define CHUNK_NS	2000000.0
#define BW_PASSES	5

double pep_simd_fma_peak(double seconds)
{
	const struct pep__simd_table *k = pep__simd();
	double best = 0.0, limit_ns = seconds > 0 ? seconds * 1e9 : 0;
	uint64_t iters = 1024, start = pep_time_ns(), t0, dt;
	double flops;

	if (!k->fma_loop)
		return 0.0;
	do {
		t0 = pep_time_ns();
		flops = k->fma_loop(iters);
		dt = pep_time_ns() - t0;
		if (dt > 0 && flops / (double)dt > best)
			best = flops / (double)dt;	/* flops/ns = GFLOP/s */
		/* Grow a chunk that was too short to time well. */
		if ((double)dt < CHUNK_NS / 2 && iters < (UINT64_C(1) << 40))
			iters *= 2;
	} while ((double)(pep_time_ns() - start) < limit_ns);
	return best;
}

/* Anonymous memory, faulted in: huge pages where the kernel gives them
 * (madvise mode), every page written so none is the shared zero page. */
static void *map_touched(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
	/* One call instead of a fault per page; older kernels: EINVAL,
	 * and the memset below faults them in. */
	(void)madvise(p, bytes, MADV_POPULATE_WRITE);
#endif
	memset(p, 0x5a, bytes);
	return p;
}

static double pass_gbps(const struct pep__simd_table *k, unsigned char *p,
			size_t bytes, int write, int stream)
{
	volatile uint64_t sink;
	size_t half = bytes / 2;
	uint64_t t0, dt;

	t0 = pep_time_ns();
	if (write) {
		if (k->copy_loop && stream)
			k->copy_loop(p + half, p, half);
		else
			memcpy(p + half, p, half);
		/* Keep the copy: nothing reads it, the compiler must not
		 * decide it is dead. */
		__asm__ volatile("" : : "r"(p) : "memory");
	} else {
		sink = k->read_loop(p, bytes);
		(void)sink;
	}
	dt = pep_time_ns() - t0;
	return dt ? (double)(write ? 2 * half : bytes) / (double)dt : 0.0;
}

double pep_simd_mem_bandwidth(size_t bytes, int write)
{
	const struct pep__simd_table *k = pep__simd();
	double best = 0.0, gbps;
	unsigned char *p;

	if (bytes < 2 || !k->read_loop)
		return 0.0;
	p = map_touched(bytes);
	if (!p)
		return 0.0;
	/* A copy: memcpy's and the tier's streaming one, whichever is
	 * faster here (memcpy streams too on some machines, not on others). */
	for (int i = 0; i < BW_PASSES * (write ? 2 : 1); i++) {
		gbps = pass_gbps(k, p, bytes, write, i % 2);
		if (gbps > best)
			best = gbps;
	}
	munmap(p, bytes);
	return best;
}
