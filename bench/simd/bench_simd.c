/*
 * bench-simd: pepita's SIMD kernels against OpenBLAS, BLIS and the
 * machine's own limits, in one run, on the active tier (PEPITA_SIMD or
 * the best).
 *
 *   limits   pep_simd_fma_peak() (one thread) and pep_simd_mem_bandwidth()
 *            (one thread, read and copy), measured first
 *   sgemm    square, row-major, no transposes, n = 256 ... 2048 on 1 and 2
 *            threads (and all, where there are more): GFLOP/s against
 *            OpenBLAS's and BLIS's cblas_sgemm, and on one thread against
 *            the FMA peak. Each size's result is checked against OpenBLAS
 *            (or BLIS) and against sampled dot products in double; a
 *            mismatch stops the bench with an error.
 *   sgemv    8192 x 8192, no transpose and transposed: GB/s of the matrix
 *            against OpenBLAS's cblas_sgemv, and on one thread against
 *            the read bandwidth
 *   vector   vadd, vscale, vaxpy, vdot, vsum, vexp, softmax and rmsnorm on
 *            64M floats (256 MiB an array): GB/s, counting the array
 *            passes the algorithm cannot avoid (softmax and rmsnorm read x
 *            twice; see vec_ops), against the copy bandwidth (the read
 *            bandwidth for vdot and vsum)
 *
 * The anchors are loaded with dlopen at run time (libopenblas.so.0,
 * libblis.so.4), so this builds without them; a missing one gets "na" and
 * a line saying why. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which build
 * machines set to pin OpenBLAS to a slower kernel, are removed and the
 * program re-executed before OpenBLAS is loaded: OpenBLAS at its best.
 *
 * Figures are medians of repetitions that take about 0.3 s per case.
 * Ours and the anchors run one after the other on the same buffers
 * (mapped with huge pages where the kernel gives them, written before any
 * timing); after a threaded anchor run the bench sleeps briefly, so
 * OpenBLAS's spinning workers do not steal our threads' CPUs.
 *
 * --quick: small sizes and short times, a smoke test (a few seconds).
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pepita/core.h>
#include <pepita/simd.h>

#include "../bench.h"

#define MAX_REPS	200

/* CBLAS, as both libraries export it (32-bit integers). */
enum { CBLAS_ROW = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int m, int n,
			       int k, float alpha, const float *a, int lda,
			       const float *b, int ldb, float beta, float *c,
			       int ldc);
typedef void (*cblas_sgemv_fn)(int order, int ta, int m, int n, float alpha,
			       const float *a, int lda, const float *x,
			       int incx, float beta, float *y, int incy);
typedef void (*openblas_threads_fn)(int n);
typedef char *(*openblas_corename_fn)(void);
typedef void (*blis_threads_fn)(int64_t n);	/* dim_t */
typedef int (*blis_arch_id_fn)(void);		/* arch_t */
typedef const char *(*blis_arch_name_fn)(int id);

struct blas {
	const char *name;		/* the anchor's one word */
	void *handle;			/* NULL: not loaded */
	cblas_sgemm_fn sgemm;
	cblas_sgemv_fn sgemv;
	openblas_threads_fn openblas_threads;
	blis_threads_fn blis_threads;
};

struct sizes {
	size_t gemm_n[4];
	size_t gemv_n;
	size_t vec_n;
	size_t bw_bytes;
	double peak_s;
	double case_s;		/* time each case's repetitions take */
};

static const struct sizes full_sizes = {
	.gemm_n = { 256, 512, 1024, 2048 }, .gemv_n = 8192,
	.vec_n = 64u << 20, .bw_bytes = 512u << 20, .peak_s = 0.5,
	.case_s = 0.3,
};

static const struct sizes quick_sizes = {
	.gemm_n = { 64, 128, 0, 0 }, .gemv_n = 512,
	.vec_n = 1u << 20, .bw_bytes = 16u << 20, .peak_s = 0.02,
	.case_s = 0.01,
};

struct bench {
	const struct sizes *sz;
	struct blas openblas, blis;
	double peak, bw_read, bw_copy;
	unsigned int threads[3], nthreads;	/* 1, 2, all (if more) */
	float *a, *b, *c, *c2;			/* gemm/gemv, largest size */
	float *x, *y, *z, *w;			/* vec_n each */
};

/* ---- set-up ------------------------------------------------------------ */

/* OpenBLAS reads these when it is loaded; they must be gone by then. */
static void drop_openblas_pins(char **argv)
{
	if (!getenv("OPENBLAS_CORETYPE") && !getenv("OPENBLAS_L2_SIZE"))
		return;
	unsetenv("OPENBLAS_CORETYPE");
	unsetenv("OPENBLAS_L2_SIZE");
	fflush(stdout);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "bench-simd: re-exec /proc/self/exe: %s (going on)\n",
		strerror(errno));
}

static void *sym(void *h, const char *name)
{
	return h ? dlsym(h, name) : NULL;
}

static void load_blas(struct blas *l, const char *name, const char *soname)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	l->sgemm = (cblas_sgemm_fn)sym(l->handle, "cblas_sgemm");
	l->sgemv = (cblas_sgemv_fn)sym(l->handle, "cblas_sgemv");
	l->openblas_threads = (openblas_threads_fn)sym(l->handle,
						       "openblas_set_num_threads");
	l->blis_threads = (blis_threads_fn)sym(l->handle,
					       "bli_thread_set_num_threads");
	if (!l->handle)
		printf("# %s: not loaded (%s): %s=na\n", name, dlerror(), name);
	else if (!l->sgemm)
		printf("# %s: %s has no cblas_sgemm: %s=na\n", name, soname,
		       name);
}

static void blas_set_threads(const struct blas *l, unsigned int t)
{
	if (l->openblas_threads)
		l->openblas_threads((int)t);
	if (l->blis_threads)
		l->blis_threads((int64_t)t);
}

/* Huge pages where the kernel gives them; written, so no timed call
 * takes a page fault. */
static float *map_floats(size_t n, uint32_t seed)
{
	size_t bytes = n * sizeof(float);
	float *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = (float)(seed >> 8) / (float)(1u << 23) - 1.0f;
	}
	return p;
}

static size_t gemm_floats(const struct sizes *sz)
{
	size_t m = sz->gemv_n * sz->gemv_n;

	for (int i = 0; i < 4; i++)
		if (sz->gemm_n[i] * sz->gemm_n[i] > m)
			m = sz->gemm_n[i] * sz->gemm_n[i];
	return m;
}

static int map_buffers(struct bench *b)
{
	size_t m = gemm_floats(b->sz), n = b->sz->vec_n;

	b->a = map_floats(m, 1);
	b->b = map_floats(m, 2);
	b->c = map_floats(m, 3);
	b->c2 = map_floats(m, 4);
	b->x = map_floats(n, 5);
	b->y = map_floats(n, 6);
	b->z = map_floats(n, 7);
	b->w = map_floats(n, 8);
	return b->a && b->b && b->c && b->c2 && b->x && b->y && b->z && b->w ?
	       0 : -ENOMEM;
}

/* ---- timing --------------------------------------------------------------- */

enum who { OURS, OPENBLAS, BLIS };

struct run {
	struct bench *b;
	enum who who;
	int op;			/* gemv transpose, or a vector kernel */
	size_t n;
	float *out;		/* gemm/gemv result */
	volatile float sink;
};

typedef void (*run_fn)(struct run *r);

/* Median seconds of fn over repetitions taking about case_s in all. */
static double median_s(run_fn fn, struct run *r)
{
	double v[MAX_REPS], first;
	uint64_t t0;
	int reps;

	t0 = pep_time_ns();
	fn(r);			/* warm-up: caches, threads, packing buffers */
	first = (double)(pep_time_ns() - t0) / 1e9;
	reps = first > 0 ? (int)(r->b->sz->case_s / first) : MAX_REPS;
	reps = reps < 5 ? 5 : reps > MAX_REPS ? MAX_REPS : reps;
	for (int i = 0; i < reps; i++) {
		t0 = pep_time_ns();
		fn(r);
		v[i] = (double)(pep_time_ns() - t0) / 1e9;
	}
	return bench_median(v, reps);
}

static const struct blas *anchor(const struct run *r)
{
	return r->who == OPENBLAS ? &r->b->openblas : &r->b->blis;
}

static void run_gemm(struct run *r)
{
	struct bench *b = r->b;
	int n = (int)r->n;

	if (r->who == OURS)
		pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, r->n, r->n,
			  r->n, 1.0f, b->a, r->n, b->b, r->n, 0.0f, r->out, r->n);
	else
		anchor(r)->sgemm(CBLAS_ROW, CBLAS_NO_TRANS, CBLAS_NO_TRANS, n, n,
				 n, 1.0f, b->a, n, b->b, n, 0.0f, r->out, n);
}

static void run_gemv(struct run *r)
{
	struct bench *b = r->b;
	int n = (int)r->n;

	if (r->who == OURS)
		pep_sgemv(PEP_ROW_MAJOR, r->op ? PEP_TRANS : PEP_NO_TRANS, r->n,
			  r->n, 1.0f, b->a, r->n, b->b, 1, 0.0f, r->out, 1);
	else
		anchor(r)->sgemv(CBLAS_ROW, r->op ? CBLAS_TRANS : CBLAS_NO_TRANS,
				 n, n, 1.0f, b->a, n, b->b, 1, 0.0f, r->out, 1);
}

/* Each (threads, who) pair: ours first, then the anchors, with a pause
 * after a threaded anchor so its spinning workers have gone to sleep. */
static double time_case(run_fn fn, struct run *r, enum who who,
			unsigned int t)
{
	double s;

	r->who = who;
	if (who == OURS) {
		pep_simd_set_threads(t);
	} else {
		if (!anchor(r)->sgemm ||
		    (fn == run_gemv && !anchor(r)->sgemv))
			return -1;
		blas_set_threads(anchor(r), t);
	}
	s = median_s(fn, r);
	if (who != OURS && t > 1 && r->b->sz->case_s > 0.1)
		usleep(300000);
	return s;
}

/* ---- output ------------------------------------------------------------- */

static void line(const char *name, const char *metric, double ours,
		 const char *anchor_name, double other)
{
	if (other <= 0)
		printf("BENCH simd/%s %s ours=%.1f %s=na speedup=na\n", name,
		       metric, ours, anchor_name);
	else
		printf("BENCH simd/%s %s ours=%.1f %s=%.1f speedup=%.2f\n", name,
		       metric, ours, anchor_name, other, ours / other);
	fflush(stdout);
}

/* The same for a smaller-is-better metric (ms). */
static void line_ms(const char *name, double ours, const char *anchor_name,
		    double other)
{
	if (other <= 0)
		printf("BENCH simd/%s ms ours=%.2f %s=na speedup=na\n", name,
		       ours, anchor_name);
	else
		printf("BENCH simd/%s ms ours=%.2f %s=%.2f speedup=%.2f\n", name,
		       ours, anchor_name, other, other / ours);
	fflush(stdout);
}

/* ---- sgemm ---------------------------------------------------------------- */

/* Sampled entries against dot products in double; ours against the
 * anchor everywhere. |error| of each side is about sqrt(n) 2^-24 |c| in
 * practice (n 2^-24 sum|a b| at worst); 1e-5 n is far above the first and
 * far below what a wrong tile gives (order 1). */
static int check_gemm(struct bench *b, size_t n, const float *ref,
		      const char *ref_name)
{
	double tol = 1e-5 * (double)n;

	for (size_t s = 0; s < 257; s++) {
		size_t i = (s * 7919) % n, j = (s * 104729) % n;
		double d = 0;

		for (size_t p = 0; p < n; p++)
			d += (double)b->a[i * n + p] * b->b[p * n + j];
		if (fabs(d - b->c[i * n + j]) > tol) {
			fprintf(stderr, "bench-simd: sgemm n=%zu: C[%zu][%zu] = %g,"
				" exact %g\n", n, i, j, b->c[i * n + j], d);
			return -1;
		}
	}
	for (size_t i = 0; ref && i < n * n; i++) {
		if (fabsf(b->c[i] - ref[i]) > tol) {
			fprintf(stderr, "bench-simd: sgemm n=%zu: C[%zu] = %g, %s"
				" gives %g\n", n, i, b->c[i], ref_name, ref[i]);
			return -1;
		}
	}
	return 0;
}

static int verify_gemm(struct bench *b, size_t n)
{
	struct run r = { .b = b, .n = n, .out = b->c };
	const struct blas *ref = b->openblas.sgemm ? &b->openblas :
				 b->blis.sgemm ? &b->blis : NULL;

	pep_simd_set_threads(0);
	run_gemm(&r);
	if (ref) {
		r.who = ref == &b->openblas ? OPENBLAS : BLIS;
		r.out = b->c2;
		run_gemm(&r);
	}
	return check_gemm(b, n, ref ? b->c2 : NULL, ref ? ref->name : NULL);
}

/* GFLOP/s of ours, OpenBLAS and BLIS (-1: none) at n and t threads. */
static void gemm_case(struct bench *b, size_t n, unsigned int t, double g[3])
{
	struct run r = { .b = b, .n = n, .out = b->c };
	double flop = 2.0 * (double)n * n * n;

	for (int who = OURS; who <= BLIS; who++) {
		double s = time_case(run_gemm, &r, (enum who)who, t);

		g[who] = s > 0 ? flop / s / 1e9 : -1;
	}
}

/* The seed's claim is a time: 1024 x 1024 sgemm in ms at t threads. */
static void seed_line(unsigned int t, const double g[3])
{
	double flop = 2.0 * 1024 * 1024 * 1024;
	char name[48];

	snprintf(name, sizeof(name), "sgemm-1024-ms-t%u", t);
	line_ms(name, flop / g[OURS] / 1e6, "openblas",
		g[OPENBLAS] > 0 ? flop / g[OPENBLAS] / 1e6 : -1);
}

static int bench_gemm(struct bench *b)
{
	char name[48];
	double g[3];

	for (int i = 0; i < 4 && b->sz->gemm_n[i]; i++) {
		size_t n = b->sz->gemm_n[i];

		if (verify_gemm(b, n) < 0)
			return -1;
		for (unsigned int k = 0; k < b->nthreads; k++) {
			unsigned int t = b->threads[k];

			gemm_case(b, n, t, g);
			snprintf(name, sizeof(name), "sgemm-%zu-t%u", n, t);
			line(name, "GFLOPS", g[OURS], "openblas", g[OPENBLAS]);
			line(name, "GFLOPS", g[OURS], "blis", g[BLIS]);
			if (t == 1) {
				snprintf(name, sizeof(name), "sgemm-%zu-t1-peak", n);
				line(name, "GFLOPS", g[OURS], "peak", b->peak);
			}
			if (n == 1024)	/* the seed's figure: ms per 1024^3 */
				seed_line(t, g);
		}
	}
	return 0;
}

/* ---- sgemv ---------------------------------------------------------------- */

/* GB/s of the matrix, no transpose (op 0) and transposed (1), at 1 thread
 * and all; one thread also against the read bandwidth. */
static void bench_gemv(struct bench *b)
{
	size_t n = b->sz->gemv_n;
	struct run r = { .b = b, .n = n, .out = b->c };
	double bytes = 4.0 * (double)n * n, ours, blas;
	unsigned int tl[2] = { 1, b->threads[b->nthreads - 1] };
	char name[48];

	for (r.op = 0; r.op < 2; r.op++) {
		for (int k = 0; k < 2; k++) {
			ours = bytes / time_case(run_gemv, &r, OURS, tl[k]) / 1e9;
			blas = time_case(run_gemv, &r, OPENBLAS, tl[k]);
			blas = blas > 0 ? bytes / blas / 1e9 : -1;
			snprintf(name, sizeof(name), "sgemv-%zu-%s-t%u", n,
				 r.op ? "t" : "n", tl[k]);
			line(name, "GB/s", ours, "openblas", blas);
			if (tl[k] == 1) {
				snprintf(name, sizeof(name), "sgemv-%zu-%s-t1-membw",
					 n, r.op ? "t" : "n");
				line(name, "GB/s", ours, "membw", b->bw_read);
			}
		}
	}
}

/* ---- vector kernels -------------------------------------------------------- */

enum vec_op { V_ADD, V_SCALE, V_AXPY, V_DOT, V_SUM, V_EXP, V_SOFTMAX,
	      V_RMSNORM, N_VEC };

/*
 * passes: the array passes the algorithm cannot avoid, each a read or a
 * write of one n-float array, so that GB/s is the memory traffic a kernel
 * must make and compares with the bandwidth. Element-wise kernels and
 * reductions touch each array once. softmax reads x twice (its maximum and
 * sum of exp(x - max) together, online, then y = exp(x - max) / sum) and
 * writes y: 3. rmsnorm reads x twice (its sum of squares, then
 * y = x w / rms), reads w and writes y: 4.
 */
static const struct {
	const char *name;
	unsigned int passes;	/* array passes, reads and writes */
	int read_only;		/* bound by read, not copy, bandwidth */
} vec_ops[N_VEC] = {
	[V_ADD] = { "vadd", 3, 0 },
	[V_SCALE] = { "vscale", 2, 0 },
	[V_AXPY] = { "vaxpy", 3, 0 },
	[V_DOT] = { "vdot", 2, 1 },
	[V_SUM] = { "vsum", 1, 1 },
	[V_EXP] = { "vexp", 2, 0 },
	[V_SOFTMAX] = { "softmax", 3, 0 },
	[V_RMSNORM] = { "rmsnorm", 4, 0 },
};

static void run_vec(struct run *r)
{
	struct bench *b = r->b;
	size_t n = r->n;

	switch ((enum vec_op)r->op) {
	case V_ADD: pep_vadd(b->z, b->x, b->y, n); break;
	case V_SCALE: pep_vscale(b->z, b->x, 0.5f, n); break;
	case V_AXPY: pep_vaxpy(b->y, 1e-6f, b->x, n); break;
	case V_DOT: r->sink = pep_vdot(b->x, b->y, n); break;
	case V_SUM: r->sink = pep_vsum(b->x, n); break;
	case V_EXP: pep_vexp(b->z, b->x, n); break;
	case V_SOFTMAX: pep_softmax(b->z, b->x, n); break;
	case V_RMSNORM: pep_rmsnorm(b->z, b->x, b->w, 1e-6f, n); break;
	case N_VEC: break;
	}
}

/* The fastest of a few runs: what the bandwidth figure is, too. */
static double best_s(run_fn fn, struct run *r, int reps)
{
	double best = 0.0;

	fn(r);			/* warm-up */
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = pep_time_ns();
		double s;

		fn(r);
		s = (double)(pep_time_ns() - t0) / 1e9;
		if (best == 0.0 || s < best)
			best = s;
	}
	return best;
}

/*
 * Each kernel against the bandwidth measured just before it and just
 * after (the better of the two), both as the best of a few passes: this
 * machine's memory bandwidth drifts by a third within a minute, and a
 * figure taken at the start would compare a kernel with another moment.
 */
static void bench_vec(struct bench *b)
{
	struct run r = { .b = b, .n = b->sz->vec_n };
	size_t bw_bytes = b->sz->bw_bytes;
	char name[48];
	double gbps, bw, after;

	pep_simd_set_threads(1);
	for (r.op = 0; r.op < N_VEC; r.op++) {
		int write = !vec_ops[r.op].read_only;

		bw = pep_simd_mem_bandwidth(bw_bytes, write);
		gbps = 4.0 * vec_ops[r.op].passes * (double)r.n /
		       best_s(run_vec, &r, 5) / 1e9;
		after = pep_simd_mem_bandwidth(bw_bytes, write);
		snprintf(name, sizeof(name), "%s-%zuM", vec_ops[r.op].name,
			 r.n >> 20);
		line(name, "GB/s", gbps, "membw", after > bw ? after : bw);
	}
}

/* ---- main ------------------------------------------------------------------- */

static void limits(struct bench *b)
{
	const struct sizes *sz = b->sz;
	unsigned int all;

	b->peak = pep_simd_fma_peak(sz->peak_s);
	b->bw_read = pep_simd_mem_bandwidth(sz->bw_bytes, 0);
	b->bw_copy = pep_simd_mem_bandwidth(sz->bw_bytes, 1);
	printf("# tier %s: fma peak %.1f GFLOP/s, memory read %.1f GB/s, "
	       "copy %.1f GB/s (1 thread)\n",
	       pep_simd_isa_name(pep_simd_active()), b->peak, b->bw_read,
	       b->bw_copy);
	pep_simd_set_threads(0);
	all = pep_simd_threads();
	b->threads[0] = 1;
	b->threads[1] = 2;
	b->nthreads = 2;
	if (all > 2)
		b->threads[b->nthreads++] = all;
	if (all < 2)
		printf("# one CPU: the t2 cases run 2 threads on it\n");
}

static void load_anchors(struct bench *b)
{
	openblas_corename_fn corename;
	blis_arch_id_fn arch_id;
	blis_arch_name_fn arch_name;

	load_blas(&b->openblas, "openblas", "libopenblas.so.0");
	load_blas(&b->blis, "blis", "libblis.so.4");
	corename = (openblas_corename_fn)sym(b->openblas.handle,
					      "openblas_get_corename");
	if (corename)
		printf("openblas corename: %s\n", corename());
	arch_id = (blis_arch_id_fn)sym(b->blis.handle, "bli_arch_query_id");
	arch_name = (blis_arch_name_fn)sym(b->blis.handle, "bli_arch_string");
	/* BLIS picks kernels by CPU model; on one it does not know it runs
	 * its portable "generic" ones, and the figures say little. */
	if (arch_id && arch_name)
		printf("# blis sub-configuration: %s\n", arch_name(arch_id()));
	if (b->openblas.handle && !b->openblas.sgemv)
		printf("# openblas: no cblas_sgemv: sgemv openblas=na\n");
}

int main(int argc, char **argv)
{
	struct bench b = { .sz = &full_sizes };
	struct pep_err err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			b.sz = &quick_sizes;
		} else {
			fprintf(stderr, "usage: bench-simd [--quick]\n");
			return 2;
		}
	}
	drop_openblas_pins(argv);
	pep_err_clear(&err);
	if (pep_simd_init(&err) < 0) {
		fprintf(stderr, "bench-simd: %s\n", err.msg);
		return 2;
	}
	load_anchors(&b);
	if (map_buffers(&b) < 0) {
		fprintf(stderr, "bench-simd: cannot map the buffers: %s\n",
			strerror(ENOMEM));
		return 1;
	}
	limits(&b);
	if (bench_gemm(&b) < 0)
		return 1;
	bench_gemv(&b);
	bench_vec(&b);
	return 0;
}
