/*
 * gemm.c - sgemm and sgemv: argument checks, the Goto/BLIS loops around a
 * tier's register micro-kernel, packing, and threads.
 *
 * Everything is turned into one row-major problem first: a column-major
 * C = op(A) op(B) is the row-major C^T = op(B)^T op(A)^T over the same
 * memory. Then, per thread, over its share of C's rows or columns:
 *
 *   for ic in M by MC:              A block, MC x KC: L3 / L2
 *     for pc in K by KC:            pack A into MR-row slivers
 *       for jc in N by NC:          pack B into NR-column slivers (L2)
 *         for ir in MC by MR:       one A sliver, MR x KC, stays in L1
 *           for jr in NC by NR:     B slivers stream from L2
 *             kernel(MR x NR tile of C, KC rank-1 updates)
 *
 * Packing pads slivers with zeros to full MR / NR, so the kernel always
 * computes a full tile and only its store is cut to the edge: odd sizes
 * cost no slow path. Pack buffers are per thread and kept between calls
 * (a fresh buffer would cost a page fault per 4 KiB).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/sched.h>

#include "core/core_priv.h"
#include "simd_priv.h"

/* A row-major view of op(X): element (i, j) at p[i*rs + j*cs]. */
struct view {
	const float *p;
	size_t rs, cs;
};

struct gemm_job {
	const struct pep__gemm_shape *sh;
	size_t m, n, k;
	struct view a, b;		/* op(A) m x k, op(B) k x n */
	float alpha, beta;
	float *c;
	size_t ldc;
};

/* ---- blocking ------------------------------------------------------------ */

struct blocking {
	size_t mc, kc, nc;
};

static size_t round_down(size_t v, size_t to)
{
	return v < to ? to : v - v % to;
}

static long cache_size(int name, long fallback)
{
	long v = sysconf(name);

	return v > 0 ? v : fallback;
}

/* Read once: in a VM each CPUID behind sysconf() is a trap to the host. */
static long l1_bytes, l2_bytes;
static pthread_once_t caches_once = PTHREAD_ONCE_INIT;

static void caches_read(void)
{
	l1_bytes = cache_size(_SC_LEVEL1_DCACHE_SIZE, 32 << 10);
	l2_bytes = cache_size(_SC_LEVEL2_CACHE_SIZE, 256 << 10);
}

/*
 * KC: an A sliver (MR x KC) takes at most half of L1, leaving room for
 * the B sliver streaming through. NC: the packed B block (KC x NC) takes
 * half of L2. MC: the packed A block stays in a few MiB of the last level.
 */
static void choose_blocking(const struct pep__gemm_shape *sh,
			    struct blocking *bl)
{
	pthread_once(&caches_once, caches_read);
	bl->kc = sh->kc ? sh->kc : round_down((size_t)l1_bytes / 2 / (sh->mr * 4), 16);
	if (bl->kc > 512)
		bl->kc = 512;
	bl->nc = sh->nc ? sh->nc :
		round_down((size_t)l2_bytes / 2 / (bl->kc * 4), sh->nr);
	bl->mc = sh->mc ? sh->mc : round_down(((size_t)4 << 20) /
					      (bl->kc * 4), sh->mr);
}

/* ---- packing ------------------------------------------------------------- */

/*
 * One full sliver of row-major A: MR rows read as MR sequential streams,
 * written in order. MR is a constant in each copy so the rows stay in
 * registers and the loop has no inner bound.
 */
#define DEFINE_PACK_ROWS(MR)						\
static void pack_rows_##MR(float *dst, const float *src, size_t lda,	\
			   size_t kc)					\
{									\
	for (size_t p = 0; p < kc; p++, dst += MR)			\
		for (int i = 0; i < MR; i++)				\
			dst[i] = src[i * lda + p];			\
}
DEFINE_PACK_ROWS(3)
DEFINE_PACK_ROWS(4)
DEFINE_PACK_ROWS(6)
DEFINE_PACK_ROWS(8)
DEFINE_PACK_ROWS(12)

static void pack_rows_any(float *dst, const float *src, size_t lda,
			  size_t kc, size_t rows, size_t mr)
{
	for (size_t p = 0; p < kc; p++, dst += mr) {
		for (size_t i = 0; i < rows; i++)
			dst[i] = src[i * lda + p];
		for (size_t i = rows; i < mr; i++)
			dst[i] = 0.0f;
	}
}

static void pack_rows(float *dst, const float *src, size_t lda, size_t kc,
		      size_t rows, size_t mr)
{
	if (rows == mr) {
		switch (mr) {
		case 3: pack_rows_3(dst, src, lda, kc); return;
		case 4: pack_rows_4(dst, src, lda, kc); return;
		case 6: pack_rows_6(dst, src, lda, kc); return;
		case 8: pack_rows_8(dst, src, lda, kc); return;
		case 12: pack_rows_12(dst, src, lda, kc); return;
		}
	}
	pack_rows_any(dst, src, lda, kc, rows, mr);
}

/* A rows [i0, i0+mc) x cols [p0, p0+kc) into MR-row slivers, zero-padded. */
static void pack_a(float *dst, const struct view *a, size_t i0, size_t mc,
		   size_t p0, size_t kc, size_t mr)
{
	for (size_t ir = 0; ir < mc; ir += mr, dst += mr * kc) {
		size_t rows = mc - ir < mr ? mc - ir : mr;
		float *d = dst;

		if (a->cs == 1) {
			pack_rows(dst, a->p + (i0 + ir) * a->rs + p0, a->rs,
				  kc, rows, mr);
			continue;
		}
		/* Transposed A: the MR values of one p are contiguous. */
		for (size_t p = 0; p < kc; p++, d += mr) {
			memcpy(d, a->p + (p0 + p) * a->cs + i0 + ir,
			       rows * sizeof(float));
			for (size_t i = rows; i < mr; i++)
				d[i] = 0.0f;
		}
	}
}

/*
 * NR floats of a B row into a sliver. NR is a constant in each copy, so
 * the copy is a few vector moves, not a call.
 */
#define DEFINE_COPY_COLS(NR)						\
static void copy_cols_##NR(float *dst, const float *src)		\
{									\
	memcpy(dst, src, NR * sizeof(float));				\
}
DEFINE_COPY_COLS(8)
DEFINE_COPY_COLS(12)
DEFINE_COPY_COLS(16)
DEFINE_COPY_COLS(64)

static void copy_cols(float *dst, const float *src, size_t cols, size_t nr)
{
	if (cols == nr) {
		switch (nr) {
		case 8: copy_cols_8(dst, src); return;
		case 12: copy_cols_12(dst, src); return;
		case 16: copy_cols_16(dst, src); return;
		case 64: copy_cols_64(dst, src); return;
		}
	}
	memcpy(dst, src, cols * sizeof(float));
	memset(dst + cols, 0, (nr - cols) * sizeof(float));
}

/*
 * Row-major B: each row is read once from end to end and dealt out to
 * the slivers. Reading sliver by sliver instead would touch every row for
 * a few cache lines only, one row per 4 KiB page at the large sizes, which
 * the prefetchers do not follow.
 */
static void pack_b_rows(float *dst, const float *src, size_t rs, size_t kc,
			size_t nc, size_t nr)
{
	for (size_t p = 0; p < kc; p++, src += rs) {
		float *d = dst + p * nr;

		for (size_t jr = 0; jr < nc; jr += nr, d += nr * kc)
			copy_cols(d, src + jr, nc - jr < nr ? nc - jr : nr, nr);
	}
}

/* B rows [p0, p0+kc) x cols [j0, j0+nc) into NR-column slivers. */
static void pack_b(float *dst, const struct view *b, size_t p0, size_t kc,
		   size_t j0, size_t nc, size_t nr)
{
	if (b->cs == 1) {
		pack_b_rows(dst, b->p + p0 * b->rs + j0, b->rs, kc, nc, nr);
		return;
	}
	/* Transposed B: the kc values of one column are contiguous. */
	for (size_t jr = 0; jr < nc; jr += nr, dst += nr * kc) {
		size_t cols = nc - jr < nr ? nc - jr : nr;

		for (size_t j = 0; j < cols; j++) {
			const float *src = b->p + (j0 + jr + j) * b->cs + p0;

			for (size_t p = 0; p < kc; p++)
				dst[p * nr + j] = src[p];
		}
		for (size_t p = 0; p < kc; p++)
			for (size_t j = cols; j < nr; j++)
				dst[p * nr + j] = 0.0f;
	}
}

/* ---- per-thread pack buffers --------------------------------------------- */

struct pack_buf {
	float *p;
	size_t cap;			/* floats */
};

static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void pack_free(void *v)
{
	struct pack_buf *b = v;

	free(b->p);
	free(b);
}

/*
 * The buffer of the thread that calls exit(): thread-exit destructors
 * never run for it, so exit frees it here, and valgrind finds nothing
 * left. Only that thread uses its buffer, and it is exiting.
 */
static void pack_free_at_exit(void)
{
	struct pack_buf *b = pthread_getspecific(pack_key);

	if (b && pthread_setspecific(pack_key, NULL) == 0)
		pack_free(b);
}

static void pack_key_init(void)
{
	if (pthread_key_create(&pack_key, pack_free) == 0)
		(void)atexit(pack_free_at_exit);
}

/* A thread's buffer of at least floats floats, 64-byte aligned. */
static float *pack_get(size_t floats)
{
	struct pack_buf *b;

	pthread_once(&pack_once, pack_key_init);
	b = pthread_getspecific(pack_key);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || pthread_setspecific(pack_key, b) != 0) {
			free(b);
			return NULL;
		}
	}
	if (b->cap < floats) {
		float *p = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);

		if (!p)
			return NULL;
		free(b->p);
		b->p = p;
		b->cap = floats;
	}
	return b->p;
}

/*
 * The thread's buffer lent out for the length of a call that waits on
 * other threads (gemv_t's partial sums): a caller waiting in pep_sync()
 * may run other work meanwhile (a stolen part, a task that calls sgemv),
 * which then finds no buffer and makes its own instead of overwriting
 * the lent one. NULL when out of memory.
 */
static struct pack_buf *pack_lend(size_t floats)
{
	struct pack_buf *b;

	if (!pack_get(floats))
		return NULL;
	b = pthread_getspecific(pack_key);
	if (pthread_setspecific(pack_key, NULL) != 0)
		return NULL;
	return b;
}

/* b back to its thread; a buffer made by a nested call is freed. */
static void pack_return(struct pack_buf *b)
{
	struct pack_buf *made = pthread_getspecific(pack_key);

	if (made)
		pack_free(made);
	if (pthread_setspecific(pack_key, b) != 0)
		pack_free(b);
}

/* ---- the loops ------------------------------------------------------------ */

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

/*
 * C[i0.., j0..] for an mc x nc part with packed bp and A either packed in
 * ap (MR-row slivers) or, with direct, read in place except for a last
 * partial sliver packed at ap.
 */
static void macro_tile(const struct gemm_job *g, const float *ap,
		       const float *bp, size_t i0, size_t mc, size_t j0,
		       size_t nc, size_t p0, size_t kc, float beta, int direct)
{
	const struct pep__gemm_shape *sh = g->sh;

	for (size_t ir = 0; ir < mc; ir += sh->mr) {
		size_t mr = mc - ir < sh->mr ? mc - ir : sh->mr;
		const float *a = direct ? ap : ap + ir * kc;
		const float *arow = g->a.p + (i0 + ir) * g->a.rs + p0;

		for (size_t jr = 0; jr < nc; jr += sh->nr) {
			size_t nr = nc - jr < sh->nr ? nc - jr : sh->nr;
			float *c = g->c + (i0 + ir) * g->ldc + j0 + jr;

			if (direct && mr == sh->mr)
				sh->kernel_rows(kc, arow, g->a.rs, bp + jr * kc,
						c, g->ldc, nr, g->alpha, beta);
			else
				sh->kernel(kc, a, bp + jr * kc, c, g->ldc, mr,
					   nr, g->alpha, beta);
		}
	}
}

/* Rows [m0, m1) and columns [n0, n1) of C, on the calling thread. */
static int gemm_part(const struct gemm_job *g, size_t m0, size_t m1,
		     size_t n0, size_t n1)
{
	const struct pep__gemm_shape *sh = g->sh;
	/* Row-major A needs no packing where the tier reads it in place. */
	int direct = sh->kernel_rows && g->a.cs == 1;
	struct blocking bl;
	size_t a_floats;
	float *ap, *bp;

	choose_blocking(sh, &bl);
	if (bl.mc > round_up(m1 - m0, sh->mr))
		bl.mc = round_up(m1 - m0, sh->mr);
	if (bl.nc > round_up(n1 - n0, sh->nr))
		bl.nc = round_up(n1 - n0, sh->nr);
	if (bl.kc > g->k)
		bl.kc = g->k;
	/* Both panels start on a cache line: the kernels load them aligned. */
	a_floats = round_up(bl.mc * bl.kc, 16);
	ap = pack_get(a_floats + bl.kc * bl.nc);
	if (!ap)
		return -ENOMEM;
	bp = ap + a_floats;
	for (size_t ic = m0; ic < m1; ic += bl.mc) {
		size_t mc = m1 - ic < bl.mc ? m1 - ic : bl.mc;

		for (size_t pc = 0; pc < g->k; pc += bl.kc) {
			size_t kc = g->k - pc < bl.kc ? g->k - pc : bl.kc;
			float beta = pc == 0 ? g->beta : 1.0f;

			if (direct)	/* only the partial sliver, if any */
				pack_a(ap, &g->a, ic + mc - mc % sh->mr,
				       mc % sh->mr, pc, kc, sh->mr);
			else
				pack_a(ap, &g->a, ic, mc, pc, kc, sh->mr);
			for (size_t jc = n0; jc < n1; jc += bl.nc) {
				size_t nc = n1 - jc < bl.nc ? n1 - jc : bl.nc;

				pack_b(bp, &g->b, pc, kc, jc, nc, sh->nr);
				macro_tile(g, ap, bp, ic, mc, jc, nc, pc, kc,
					   beta, direct);
			}
		}
	}
	return 0;
}

/* ---- threads ------------------------------------------------------------- */

/* One share of a split problem: [lo, hi), the index-th of them. */
typedef int (*part_fn)(const void *job, size_t lo, size_t hi,
		       unsigned int index);

struct part {
	part_fn fn;
	const void *job;
	size_t lo, hi;
	unsigned int index;
	int rc;
	unsigned int *left;	/* parts still running, when submitted */
};

struct split {
	struct part part[256];
	unsigned int count;
};

static void part_run(void *arg)
{
	struct part *p = arg;

	p->rc = p->fn(p->job, p->lo, p->hi, p->index);
}

/* A part submitted from outside the scheduler counts itself done. */
static void part_run_counted(void *arg)
{
	struct part *p = arg;

	part_run(p);
	__atomic_sub_fetch(p->left, 1, __ATOMIC_RELEASE);
}

/*
 * From outside a scheduler: the other parts go to the workers and the
 * calling thread does the first one itself, as OpenBLAS's caller does,
 * instead of sleeping until a worker is done with it all: that takes two
 * wake-ups (a second worker's and the caller's) off every call, and on a
 * small problem they cost as much as the work. The parts are equal, so
 * the wait at the end is short: a spin, then yielding the CPU to whoever
 * still runs one.
 */
static void split_submit(struct pep_sched *sched, struct split *s)
{
	unsigned int left = s->count - 1;

	for (unsigned int i = 1; i < s->count; i++) {
		s->part[i].left = &left;
		if (pep_sched_submit(sched, part_run_counted, &s->part[i],
				     PEP_PRIO_HIGH) < 0)
			part_run_counted(&s->part[i]);
	}
	part_run(&s->part[0]);
	for (unsigned int spins = 0;
	     __atomic_load_n(&left, __ATOMIC_ACQUIRE); spins++) {
		if (spins < 1024)
			pep__cpu_relax();
		else
			sched_yield();
	}
}

/*
 * From a task (a pool's function, a quantizer step): fork-join on the
 * task's own scheduler. Waiting for submitted parts there could wait for
 * ever, with every worker a caller spinning on parts no worker is free
 * to run; pep_sync() runs the parts nobody has stolen itself.
 */
static void split_spawn(struct split *s)
{
	struct pep_group g = PEP_GROUP_INIT;

	for (unsigned int i = 1; i < s->count; i++)
		if (pep_spawn(&g, part_run, &s->part[i]) < 0)
			part_run(&s->part[i]);
	part_run(&s->part[0]);
	pep_sync(&g);
}

/*
 * The parts on the calling task's scheduler, else on the default one;
 * one after another on the calling thread when there is none to be had
 * (the process is exiting, or out of threads).
 */
static void split_run(struct split *s)
{
	struct pep_sched *sched;

	if (pep_sched_worker_id() >= 0) {
		split_spawn(s);
		return;
	}
	sched = pep_sched_default_hold();
	if (!sched) {
		for (unsigned int i = 0; i < s->count; i++)
			part_run(&s->part[i]);
		return;
	}
	split_submit(sched, s);
	pep_sched_default_release(sched);
}

/* How many pieces run_split() makes of total in grains for threads. */
static unsigned int split_count(size_t total, size_t grain,
				unsigned int threads)
{
	size_t units = (total + grain - 1) / grain;

	return threads > units ? (unsigned int)units : threads;
}

/*
 * fn(job, lo, hi, index) over [0, total) in split_count() pieces that are
 * multiples of grain; on the scheduler when there is more than one.
 */
static int run_split(part_fn fn, const void *job, size_t total, size_t grain,
		     unsigned int threads)
{
	struct split s;
	size_t units = (total + grain - 1) / grain, lo = 0;
	int rc = 0;

	threads = split_count(total, grain, threads);
	if (threads <= 1)
		return fn(job, 0, total, 0);
	s.count = threads;
	for (unsigned int i = 0; i < threads; i++) {
		size_t share = units / threads + (i < units % threads);
		size_t hi = lo + share * grain;

		s.part[i] = (struct part){ .fn = fn, .job = job, .lo = lo,
					   .hi = hi > total ? total : hi,
					   .index = i };
		lo = hi;
	}
	split_run(&s);
	for (unsigned int i = 0; i < threads; i++)
		if (s.part[i].rc)
			rc = s.part[i].rc;
	return rc;
}

static int gemm_rows(const void *job, size_t lo, size_t hi, unsigned int i)
{
	const struct gemm_job *g = job;

	(void)i;
	return gemm_part(g, lo, hi, 0, g->n);
}

static int gemm_cols(const void *job, size_t lo, size_t hi, unsigned int i)
{
	const struct gemm_job *g = job;

	(void)i;
	return gemm_part(g, 0, g->m, lo, hi);
}

/* Below this many flops a second thread costs more than it brings. */
#define GEMM_FLOPS_PER_THREAD	(1u << 22)

static unsigned int gemm_threads(size_t m, size_t n, size_t k)
{
	double flops = 2.0 * (double)m * (double)n * (double)k;
	unsigned int t = pep_simd_threads();
	double most = flops / GEMM_FLOPS_PER_THREAD;

	if (most < t)
		t = most < 1 ? 1 : (unsigned int)most;
	return t;
}

/*
 * A float packed costs about what this many flops of the kernel do: the
 * copy streams from memory at a few GB/s against the kernel's ~100
 * GFLOP/s.
 */
#define PACK_FLOPS	48.0

/*
 * The work of the busiest share, in flops, when [0, total) is split in
 * grains over threads and each share does per_unit flops per grain.
 */
static double busiest(size_t total, size_t grain, unsigned int threads,
		      double per_unit)
{
	size_t units = (total + grain - 1) / grain;
	unsigned int t = split_count(total, grain, threads);

	return (double)((units + t - 1) / t) * per_unit;
}

/*
 * Whether to share out C's rows (else its columns): the split whose
 * busiest share does the least, packing included. Each share packs its
 * part of B and, unless the kernel reads A in place, its part of A; the
 * other operand is packed whole by every share, so a split along rows
 * repeats B's packing and one along columns A's.
 */
static bool split_rows(const struct gemm_job *g, unsigned int threads)
{
	const struct pep__gemm_shape *sh = g->sh;
	double k = (double)g->k, m = (double)g->m, n = (double)g->n;
	double pa = sh->kernel_rows && g->a.cs == 1 ? 0.0 : PACK_FLOPS;
	double rows = busiest(g->m, sh->mr, threads,
			      sh->mr * k * (2.0 * n + pa)) +
		      PACK_FLOPS * k * n;
	double cols = busiest(g->n, sh->nr, threads,
			      sh->nr * k * (2.0 * m + PACK_FLOPS)) +
		      pa * k * m;

	return rows <= cols;
}

/* ---- C = beta C, for k == 0 or alpha == 0 ------------------------------- */

static void scale_c(float *c, size_t ldc, size_t m, size_t n, float beta)
{
	for (size_t i = 0; i < m; i++) {
		float *row = c + i * ldc;

		if (beta == 0.0f)
			memset(row, 0, n * sizeof(float));
		else if (beta != 1.0f)
			for (size_t j = 0; j < n; j++)
				row[j] *= beta;
	}
}

/* ---- sgemm --------------------------------------------------------------- */

static int check_trans(enum pep_trans t)
{
	return t == PEP_NO_TRANS || t == PEP_TRANS ? 0 : -EINVAL;
}

static size_t at_least_1(size_t v)
{
	return v ? v : 1;
}

/* The view of a row-major rows x cols matrix X (ld) as op(X). */
static struct view make_view(const float *p, size_t ld, enum pep_trans t)
{
	if (t == PEP_NO_TRANS)
		return (struct view){ p, ld, 1 };
	return (struct view){ p, 1, ld };
}

static int sgemm_row_major(enum pep_trans ta, enum pep_trans tb,
			   size_t m, size_t n, size_t k, float alpha,
			   const float *a, size_t lda, const float *b,
			   size_t ldb, float beta, float *c, size_t ldc)
{
	struct gemm_job g;
	unsigned int threads;

	if (lda < at_least_1(ta == PEP_NO_TRANS ? k : m) ||
	    ldb < at_least_1(tb == PEP_NO_TRANS ? n : k) ||
	    ldc < at_least_1(n))
		return -EINVAL;
	if (m == 0 || n == 0)
		return 0;
	if (k == 0 || alpha == 0.0f) {
		scale_c(c, ldc, m, n, beta);
		return 0;
	}
	g = (struct gemm_job){
		.sh = &pep__simd()->gemm, .m = m, .n = n, .k = k,
		.a = make_view(a, lda, ta), .b = make_view(b, ldb, tb),
		.alpha = alpha, .beta = beta, .c = c, .ldc = ldc,
	};
	threads = gemm_threads(m, n, k);
	if (split_rows(&g, threads))
		return run_split(gemm_rows, &g, m, g.sh->mr, threads);
	return run_split(gemm_cols, &g, n, g.sh->nr, threads);
}

int pep_sgemm(enum pep_layout layout, enum pep_trans ta, enum pep_trans tb,
	      size_t m, size_t n, size_t k, float alpha, const float *a,
	      size_t lda, const float *b, size_t ldb, float beta, float *c,
	      size_t ldc)
{
	if (check_trans(ta) || check_trans(tb))
		return -EINVAL;
	if (layout == PEP_ROW_MAJOR)
		return sgemm_row_major(ta, tb, m, n, k, alpha, a, lda, b, ldb,
				       beta, c, ldc);
	if (layout == PEP_COL_MAJOR)
		return sgemm_row_major(tb, ta, n, m, k, alpha, b, ldb, a, lda,
				       beta, c, ldc);
	return -EINVAL;
}

/* ---- sgemv --------------------------------------------------------------- */

struct gemv_job {
	const struct pep__simd_table *t;
	const float *a;
	size_t lda, rows, cols;		/* row-major, as stored */
	const float *x;			/* contiguous */
	float *y;			/* contiguous, y = alpha op(A) x + beta y */
	float *partial;			/* A^T x: a row of cols per share */
	float alpha, beta;
};

static float beta_y(float beta, float y)
{
	return beta == 0.0f ? 0.0f : beta * y;
}

/* y[i] for stored rows [lo, hi): four rows' dot products at a time. */
static int gemv_n_part(const void *job, size_t lo, size_t hi, unsigned int u)
{
	const struct gemv_job *g = job;
	size_t i = lo;
	float d[4];

	(void)u;
	for (; i + 4 <= hi; i += 4) {
		g->t->gemv_n4(d, g->a + i * g->lda, g->lda, g->x, g->cols);
		for (int r = 0; r < 4; r++)
			g->y[i + r] = g->alpha * d[r] + beta_y(g->beta, g->y[i + r]);
	}
	for (; i < hi; i++)
		g->y[i] = g->alpha * g->t->dot(g->a + i * g->lda, g->x, g->cols) +
			  beta_y(g->beta, g->y[i]);
	return 0;
}

/*
 * Stored rows [lo, hi) of A^T x, into this share's row of partial: eight
 * rows of A added at a time. Sharing out rows (not columns) keeps each
 * thread's reads one contiguous run of memory, which prefetchers follow.
 */
static int gemv_t_part(const void *job, size_t lo, size_t hi, unsigned int u)
{
	const struct gemv_job *g = job;
	float *acc = g->partial + (size_t)u * g->cols;
	size_t i = lo;

	memset(acc, 0, g->cols * sizeof(float));
	for (; i + 8 <= hi; i += 8)
		g->t->gemv_t8(acc, g->a + i * g->lda, g->lda, g->x + i, g->cols);
	for (; i < hi; i++)
		g->t->axpy(acc, g->x[i], g->a + i * g->lda, g->cols);
	return 0;
}

/* A strided vector of n as a contiguous one (BLAS: negative inc starts
 * at the far end). */
static const float *gather(const float *v, size_t n, ptrdiff_t inc, float *tmp)
{
	const float *start = inc < 0 ? v + (ptrdiff_t)(n - 1) * -inc : v;

	if (inc == 1)
		return v;
	for (size_t i = 0; i < n; i++)
		tmp[i] = start[(ptrdiff_t)i * inc];
	return tmp;
}

static void scatter(float *v, size_t n, ptrdiff_t inc, const float *tmp)
{
	float *start = inc < 0 ? v + (ptrdiff_t)(n - 1) * -inc : v;

	for (size_t i = 0; i < n; i++)
		start[(ptrdiff_t)i * inc] = tmp[i];
}

#define GEMV_BYTES_PER_THREAD	((size_t)1 << 20)
#define GEMV_ROWS_GRAIN		8

static int gemv_n(struct gemv_job *g, unsigned int threads)
{
	return run_split(gemv_n_part, g, g->rows, GEMV_ROWS_GRAIN, threads);
}

/* The shares' partial sums live in the calling thread's pack buffer. */
static int gemv_t(struct gemv_job *g, unsigned int threads)
{
	unsigned int parts = split_count(g->rows, GEMV_ROWS_GRAIN, threads);
	struct pack_buf *buf = pack_lend((size_t)parts * g->cols);
	int rc;

	if (!buf)
		return -ENOMEM;
	g->partial = buf->p;
	rc = run_split(gemv_t_part, g, g->rows, GEMV_ROWS_GRAIN, threads);
	for (size_t j = 0; j < g->cols && !rc; j++) {
		float s = g->partial[j];

		for (unsigned int u = 1; u < parts; u++)
			s += g->partial[(size_t)u * g->cols + j];
		g->y[j] = g->alpha * s + beta_y(g->beta, g->y[j]);
	}
	pack_return(buf);
	return rc;
}

static int gemv_run(struct gemv_job *g, int trans)
{
	size_t bytes = g->rows * g->cols * sizeof(float);
	unsigned int threads = pep_simd_threads();

	if (bytes / GEMV_BYTES_PER_THREAD < threads)
		threads = (unsigned int)(bytes / GEMV_BYTES_PER_THREAD) + 1;
	return trans ? gemv_t(g, threads) : gemv_n(g, threads);
}

static int sgemv_row_major(int trans, size_t rows, size_t cols, float alpha,
			   const float *a, size_t lda, const float *x,
			   ptrdiff_t incx, float beta, float *y, ptrdiff_t incy)
{
	size_t nx = trans ? rows : cols, ny = trans ? cols : rows;
	struct gemv_job g;
	float *tmp;
	int rc;

	if (lda < at_least_1(cols) || incx == 0 || incy == 0)
		return -EINVAL;
	if (ny == 0)
		return 0;
	tmp = malloc((nx + ny) * sizeof(float));
	if (!tmp)
		return -ENOMEM;
	g = (struct gemv_job){
		.t = pep__simd(), .a = a, .lda = lda, .rows = rows,
		.cols = cols, .alpha = alpha, .beta = beta,
		.x = nx ? gather(x, nx, incx, tmp) : tmp,
		.y = (float *)gather(y, ny, incy, tmp + nx),
	};
	if (alpha == 0.0f || nx == 0) {
		for (size_t i = 0; i < ny; i++)
			g.y[i] = beta_y(beta, g.y[i]);
		rc = 0;
	} else {
		rc = gemv_run(&g, trans);
	}
	if (rc == 0 && incy != 1)
		scatter(y, ny, incy, g.y);
	free(tmp);
	return rc;
}

int pep_sgemv(enum pep_layout layout, enum pep_trans ta, size_t m, size_t n,
	      float alpha, const float *a, size_t lda, const float *x,
	      ptrdiff_t incx, float beta, float *y, ptrdiff_t incy)
{
	if (check_trans(ta))
		return -EINVAL;
	/* Column-major A (m x n) is the row-major n x m matrix A^T. */
	if (layout == PEP_ROW_MAJOR)
		return sgemv_row_major(ta == PEP_TRANS, m, n, alpha, a, lda,
				       x, incx, beta, y, incy);
	if (layout == PEP_COL_MAJOR)
		return sgemv_row_major(ta == PEP_NO_TRANS, n, m, alpha, a, lda,
				       x, incx, beta, y, incy);
	return -EINVAL;
}
