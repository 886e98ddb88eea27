/*
 * simd-gemm.c - pep_sgemm and pep_sgemv on every SIMD tier against a
 * naive double-precision reference with BLAS semantics.
 *
 * Shapes: 1 x N, N x 1, K = 1, the register tiles and one past them, and
 * random ones that cross every cache block (KC, NC, MC of the tier) and
 * are not multiples of any; every layout x transpose combination; alpha
 * and beta including 0 (beta 0 must not read C: it starts as NaN);
 * leading dimensions larger than the matrix, with guard values in the
 * padding that must survive; matrices that start off the vector grid;
 * one and two threads. The bound is the classic one for a dot of k terms
 * evaluated with any order and fused or unfused multiply-adds:
 * |c - ref| <= (k + 2) 2^-23 (|alpha| sum|a b| + |beta c|).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/simd.h>

#include "harness.h"

#define GUARD	-7777.0f	/* in every padding slot; must survive */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static size_t rnd_range(size_t lo, size_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/* Uniform in [-1, 1): products and sums stay well inside f32. */
static float rnd_float(void)
{
	return (float)((int32_t)rnd() >> 8) * 0x1p-23f;
}

/* ---- one sgemm case ------------------------------------------------------ */

struct gemm_case {
	enum pep_layout layout;
	enum pep_trans ta, tb;
	size_t m, n, k;
	size_t lda, ldb, ldc;
	float alpha, beta;
	unsigned int offset;		/* floats past an aligned start */
};

/* Element (r, c) of a matrix stored in layout with leading dimension ld. */
static size_t at(enum pep_layout layout, size_t ld, size_t r, size_t c)
{
	return layout == PEP_ROW_MAJOR ? r * ld + c : c * ld + r;
}

/* The stored shape of op(X) rows x cols: rows and cols as stored. */
static void stored(enum pep_trans t, size_t rows, size_t cols, size_t *sr,
		   size_t *sc)
{
	*sr = t == PEP_NO_TRANS ? rows : cols;
	*sc = t == PEP_NO_TRANS ? cols : rows;
}

/* Length of the stored span: ld x (the other dimension). */
static size_t span(enum pep_layout layout, size_t ld, size_t sr, size_t sc)
{
	return ld * (layout == PEP_ROW_MAJOR ? sr : sc);
}

/* The smallest legal leading dimension plus some padding, sometimes. */
static size_t pick_ld(enum pep_layout layout, size_t sr, size_t sc)
{
	size_t min = layout == PEP_ROW_MAJOR ? sc : sr;

	if (min == 0)
		min = 1;
	return rnd() % 3 == 0 ? min : min + rnd_range(1, 19);
}

struct mats {
	float *abuf, *bbuf, *cbuf, *c0;
	float *a, *b, *c;
	double *ref, *bound;
	size_t alen, blen, clen;
};

static void mats_free(struct mats *x)
{
	free(x->abuf);
	free(x->bbuf);
	free(x->cbuf);
	free(x->c0);
	free(x->ref);
	free(x->bound);
}

static float *alloc_f(size_t n, unsigned int offset, float **base)
{
	*base = aligned_alloc(64, ((n + offset) * sizeof(float) + 63) & ~(size_t)63);
	return *base ? *base + offset : NULL;
}

/* A and B random (guard in padding), C random or NaN, and the reference. */
static int mats_make(struct mats *x, const struct gemm_case *gc)
{
	size_t asr, asc, bsr, bsc;

	memset(x, 0, sizeof(*x));
	stored(gc->ta, gc->m, gc->k, &asr, &asc);
	stored(gc->tb, gc->k, gc->n, &bsr, &bsc);
	x->alen = span(gc->layout, gc->lda, asr, asc) + 1;
	x->blen = span(gc->layout, gc->ldb, bsr, bsc) + 1;
	x->clen = span(gc->layout, gc->ldc, gc->m, gc->n) + 1;
	x->a = alloc_f(x->alen, gc->offset, &x->abuf);
	x->b = alloc_f(x->blen, gc->offset, &x->bbuf);
	x->c = alloc_f(x->clen, gc->offset, &x->cbuf);
	x->c0 = malloc(x->clen * sizeof(float));
	x->ref = malloc((gc->m * gc->n + 1) * sizeof(double));
	x->bound = malloc((gc->m * gc->n + 1) * sizeof(double));
	if (!x->a || !x->b || !x->c || !x->c0 || !x->ref || !x->bound)
		return -ENOMEM;
	for (size_t i = 0; i < x->alen; i++)
		x->a[i] = GUARD;
	for (size_t i = 0; i < x->blen; i++)
		x->b[i] = GUARD;
	for (size_t i = 0; i < x->clen; i++)
		x->c0[i] = GUARD;
	for (size_t r = 0; r < asr; r++)
		for (size_t c = 0; c < asc; c++)
			x->a[at(gc->layout, gc->lda, r, c)] = rnd_float();
	for (size_t r = 0; r < bsr; r++)
		for (size_t c = 0; c < bsc; c++)
			x->b[at(gc->layout, gc->ldb, r, c)] = rnd_float();
	for (size_t i = 0; i < gc->m; i++)
		for (size_t j = 0; j < gc->n; j++)
			x->c0[at(gc->layout, gc->ldc, i, j)] =
				gc->beta == 0.0f ? NAN : rnd_float();
	return 0;
}

static double op_at(const float *p, enum pep_layout layout, size_t ld,
		    enum pep_trans t, size_t r, size_t c)
{
	return t == PEP_NO_TRANS ? p[at(layout, ld, r, c)] :
				   p[at(layout, ld, c, r)];
}

static void reference(struct mats *x, const struct gemm_case *gc)
{
	for (size_t i = 0; i < gc->m; i++) {
		for (size_t j = 0; j < gc->n; j++) {
			double s = 0.0, abs = 0.0;
			double c = x->c0[at(gc->layout, gc->ldc, i, j)];

			for (size_t p = 0; p < gc->k; p++) {
				double t = op_at(x->a, gc->layout, gc->lda,
						 gc->ta, i, p) *
					   op_at(x->b, gc->layout, gc->ldb,
						 gc->tb, p, j);

				s += t;
				abs += fabs(t);
			}
			s *= gc->alpha;
			abs *= fabs(gc->alpha);
			if (gc->beta != 0.0f) {
				s += gc->beta * c;
				abs += fabs(gc->beta * c);
			}
			x->ref[i * gc->n + j] = s;
			x->bound[i * gc->n + j] =
				(double)(gc->k + 2) * 0x1p-23 * abs + 0x1p-120;
		}
	}
}

static void print_case(const char *what, const struct gemm_case *gc)
{
	fprintf(stderr, "%s: tier %s threads %u %s A%s B%s m %zu n %zu k %zu "
		"lda %zu ldb %zu ldc %zu alpha %g beta %g offset %u\n", what,
		pep_simd_isa_name(pep_simd_active()), pep_simd_threads(),
		gc->layout == PEP_ROW_MAJOR ? "row" : "col",
		gc->ta == PEP_TRANS ? "^T" : "", gc->tb == PEP_TRANS ? "^T" : "",
		gc->m, gc->n, gc->k, gc->lda, gc->ldb, gc->ldc,
		(double)gc->alpha, (double)gc->beta, gc->offset);
}

/* Run the case on the active tier and compare C, its padding included. */
static int check_run(struct mats *x, const struct gemm_case *gc)
{
	int rc;

	memcpy(x->c, x->c0, x->clen * sizeof(float));
	rc = pep_sgemm(gc->layout, gc->ta, gc->tb, gc->m, gc->n, gc->k,
		       gc->alpha, x->a, gc->lda, x->b, gc->ldb, gc->beta,
		       x->c, gc->ldc);
	if (rc != 0) {
		print_case("sgemm failed", gc);
		fprintf(stderr, "  returned %d\n", rc);
		return T_FAIL;
	}
	for (size_t i = 0; i < x->clen; i++)
		if (x->c0[i] == GUARD && x->c[i] != GUARD) {
			print_case("sgemm wrote outside C", gc);
			fprintf(stderr, "  offset %zu: %g\n", i, (double)x->c[i]);
			return T_FAIL;
		}
	for (size_t i = 0; i < gc->m; i++)
		for (size_t j = 0; j < gc->n; j++) {
			double got = x->c[at(gc->layout, gc->ldc, i, j)];
			double want = x->ref[i * gc->n + j];

			if (!(fabs(got - want) <= x->bound[i * gc->n + j])) {
				print_case("sgemm wrong", gc);
				fprintf(stderr, "  C[%zu][%zu] = %.9g, want %.9g "
					"(bound %.3g)\n", i, j, got, want,
					x->bound[i * gc->n + j]);
				return T_FAIL;
			}
		}
	return T_PASS;
}

/* The case on every tier, at one and two threads. */
static int run_case(const struct gemm_case *gc)
{
	struct mats x;
	int rc = T_PASS;

	if (mats_make(&x, gc) != 0) {
		mats_free(&x);
		return T_ERROR;
	}
	reference(&x, gc);
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT && rc == T_PASS; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		for (unsigned int t = 1; t <= 2 && rc == T_PASS; t++) {
			pep_simd_set_threads(t);
			rc = check_run(&x, gc);
		}
	}
	pep_simd_set_threads(0);
	mats_free(&x);
	return rc;
}

static const float alphas[] = { 1.0f, -0.5f, 2.0f, 1.0f };
static const float betas[] = { 0.0f, 1.0f, 0.0f, -1.5f };

/* m x n x k in all 8 layout/transpose combinations. */
static int run_shape(size_t m, size_t n, size_t k, int fixed_ld)
{
	for (int combo = 0; combo < 8; combo++) {
		struct gemm_case gc = {
			.layout = combo & 4 ? PEP_COL_MAJOR : PEP_ROW_MAJOR,
			.ta = combo & 2 ? PEP_TRANS : PEP_NO_TRANS,
			.tb = combo & 1 ? PEP_TRANS : PEP_NO_TRANS,
			.m = m, .n = n, .k = k,
			.alpha = alphas[rnd() % 4], .beta = betas[rnd() % 4],
			.offset = rnd() % 4,
		};
		size_t asr, asc, bsr, bsc;
		int rc;

		stored(gc.ta, m, k, &asr, &asc);
		stored(gc.tb, k, n, &bsr, &bsc);
		gc.lda = pick_ld(gc.layout, asr, asc);
		gc.ldb = pick_ld(gc.layout, bsr, bsc);
		gc.ldc = pick_ld(gc.layout, m, n);
		if (fixed_ld) {
			gc.lda = gc.layout == PEP_ROW_MAJOR ? asc : asr;
			gc.ldb = gc.layout == PEP_ROW_MAJOR ? bsc : bsr;
			gc.ldc = gc.layout == PEP_ROW_MAJOR ? n : m;
		}
		rc = run_case(&gc);
		if (rc != T_PASS)
			return rc;
	}
	return T_PASS;
}

/* Degenerate and edge shapes: vectors, K = 1, tiles and one past. */
static int test_edges(void)
{
	static const size_t dims[][3] = {
		{ 1, 1, 1 }, { 1, 37, 5 }, { 37, 1, 5 }, { 1, 300, 1 },
		{ 300, 1, 1 }, { 17, 19, 1 }, { 4, 8, 3 }, { 5, 9, 3 },
		{ 6, 16, 7 }, { 7, 17, 7 }, { 6, 64, 9 }, { 7, 65, 9 },
		{ 8, 12, 2 }, { 9, 13, 2 }, { 12, 48, 4 }, { 13, 49, 4 },
		{ 1, 1, 600 }, { 3, 70, 513 },
	};

	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		int rc = run_shape(dims[i][0], dims[i][1], dims[i][2], i % 2);

		if (rc != T_PASS)
			return rc;
	}
	return T_PASS;
}

/* Random shapes, small to past every block size (KC <= 512, NC >= 64). */
static int test_random(void)
{
	for (int i = 0; i < 24; i++) {
		size_t m = rnd_range(1, 90), n = rnd_range(1, 90);
		size_t k = rnd_range(1, 90);
		int rc;

		if (i % 6 == 5)
			k = rnd_range(513, 1100);	/* past KC */
		if (i % 8 == 7)
			n = rnd_range(257, 400);	/* past NC */
		rc = run_shape(m, n, k, 0);
		if (rc != T_PASS)
			return rc;
	}
	return T_PASS;
}

/* Large enough to split over two threads, and past MC in rows. */
static int test_large(void)
{
	struct gemm_case gc = {
		.layout = PEP_ROW_MAJOR, .ta = PEP_NO_TRANS, .tb = PEP_NO_TRANS,
		.m = 211, .n = 203, .k = 197, .lda = 197, .ldb = 203,
		.ldc = 203, .alpha = 1.0f, .beta = 0.0f, .offset = 1,
	};
	int rc = run_case(&gc);

	if (rc != T_PASS)
		return rc;
	/* Wide: split over columns. */
	gc = (struct gemm_case){
		.layout = PEP_ROW_MAJOR, .ta = PEP_NO_TRANS, .tb = PEP_TRANS,
		.m = 20, .n = 2001, .k = 150, .lda = 150, .ldb = 151,
		.ldc = 2003, .alpha = -1.0f, .beta = 1.0f, .offset = 2,
	};
	rc = run_case(&gc);
	if (rc != T_PASS)
		return rc;
	gc = (struct gemm_case){
		.layout = PEP_ROW_MAJOR, .ta = PEP_TRANS, .tb = PEP_NO_TRANS,
		.m = 2100, .n = 9, .k = 40, .lda = 2101, .ldb = 11, .ldc = 12,
		.alpha = 0.75f, .beta = 0.5f, .offset = 3,
	};
	return run_case(&gc);
}

/*
 * Several threads calling sgemm at once, each split over the shared
 * workers: every caller gets the result a lone single-threaded call
 * gives, bit for bit (each element's sum runs in the same order however
 * the rows are shared out).
 */
#define CALLERS 3
#define CN 160

struct caller {
	const float *a, *b;
	float c[CN * CN];
	int rc;
};

static void *caller_run(void *arg)
{
	struct caller *cl = arg;

	cl->rc = pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_TRANS, CN, CN, CN,
			   1.0f, cl->a, CN, cl->b, CN, 0.0f, cl->c, CN);
	return NULL;
}

static int test_concurrent(void)
{
	static float a[CN * CN], b[CN * CN], want[CN * CN];
	static struct caller cl[CALLERS];
	pthread_t t[CALLERS];

	for (size_t i = 0; i < CN * CN; i++) {
		a[i] = rnd_float();
		b[i] = rnd_float();
	}
	CHECK(pep_simd_force(pep_simd_best(), NULL) == 0);
	pep_simd_set_threads(1);
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_TRANS, CN, CN, CN,
			1.0f, a, CN, b, CN, 0.0f, want, CN) == 0);
	pep_simd_set_threads(2);
	for (int i = 0; i < CALLERS; i++) {
		cl[i].a = a;
		cl[i].b = b;
		CHECK(pthread_create(&t[i], NULL, caller_run, &cl[i]) == 0);
	}
	for (int i = 0; i < CALLERS; i++)
		pthread_join(t[i], NULL);
	pep_simd_set_threads(0);
	for (int i = 0; i < CALLERS; i++) {
		CHECK(cl[i].rc == 0);
		CHECK(memcmp(cl[i].c, want, sizeof(want)) == 0);
	}
	return T_PASS;
}

/*
 * A child forked after threaded calls has none of the parent's workers:
 * its own threaded sgemm must start new ones, not wait on dead ones.
 */
static int test_fork(void)
{
	static float a[CN * CN], b[CN * CN], want[CN * CN], got[CN * CN];
	int status;
	pid_t pid;

	for (size_t i = 0; i < CN * CN; i++) {
		a[i] = rnd_float();
		b[i] = rnd_float();
	}
	pep_simd_set_threads(2);
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, CN, CN, CN,
			1.0f, a, CN, b, CN, 0.0f, want, CN) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(60);	/* a hang fails the test instead of stalling it */
		if (pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, CN, CN,
			      CN, 1.0f, a, CN, b, CN, 0.0f, got, CN) != 0)
			_exit(2);
		_exit(memcmp(got, want, sizeof(got)) == 0 ? 0 : 3);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	pep_simd_set_threads(0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_PASS;
}

/* alpha 0 and k 0 scale C by beta and read neither A nor B. */
static int test_scale_only(void)
{
	float c[6] = { 1, 2, 3, 4, 5, 6 }, nan_ab = NAN;

	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 2, 3, 0,
			1.0f, NULL, 1, NULL, 3, 2.0f, c, 3) == 0);
	CHECK(c[0] == 2 && c[5] == 12);
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 2, 3, 1,
			0.0f, &nan_ab, 1, c, 3, 0.5f, c, 3) == 0);
	CHECK(c[0] == 1 && c[5] == 6);
	c[4] = NAN;
	CHECK(pep_sgemm(PEP_COL_MAJOR, PEP_TRANS, PEP_TRANS, 3, 2, 0,
			1.0f, NULL, 1, NULL, 2, 0.0f, c, 3) == 0);
	for (int i = 0; i < 6; i++)
		CHECK(c[i] == 0.0f);
	/* m or n 0: nothing to do, nothing read or written. */
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 0, 3, 4,
			1.0f, NULL, 4, NULL, 3, 0.0f, NULL, 3) == 0);
	return T_PASS;
}

/* Bad arguments: -EINVAL and C untouched. */
static int test_einval(void)
{
	float a[16] = { 0 }, b[16] = { 0 }, c[16];

	for (int i = 0; i < 16; i++)
		c[i] = GUARD;
	CHECK(pep_sgemm((enum pep_layout)0, PEP_NO_TRANS, PEP_NO_TRANS, 2, 2,
			2, 1.0f, a, 2, b, 2, 0.0f, c, 2) == -EINVAL);
	CHECK(pep_sgemm(PEP_ROW_MAJOR, (enum pep_trans)113, PEP_NO_TRANS, 2,
			2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) == -EINVAL);
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 2, 3, 4,
			1.0f, a, 3, b, 3, 0.0f, c, 3) == -EINVAL);	/* lda < k */
	CHECK(pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_TRANS, 2, 3, 4,
			1.0f, a, 4, b, 3, 0.0f, c, 3) == -EINVAL);	/* ldb < k */
	CHECK(pep_sgemm(PEP_COL_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 3, 2, 2,
			1.0f, a, 3, b, 2, 0.0f, c, 2) == -EINVAL);	/* ldc < m */
	CHECK(pep_sgemv(PEP_ROW_MAJOR, PEP_NO_TRANS, 2, 2, 1.0f, a, 2, b, 0,
			0.0f, c, 1) == -EINVAL);
	CHECK(pep_sgemv(PEP_ROW_MAJOR, PEP_NO_TRANS, 2, 2, 1.0f, a, 1, b, 1,
			0.0f, c, 1) == -EINVAL);
	CHECK(pep_sgemv(PEP_COL_MAJOR, (enum pep_trans)0, 2, 2, 1.0f, a, 2, b,
			1, 0.0f, c, 1) == -EINVAL);
	for (int i = 0; i < 16; i++)
		CHECK(c[i] == GUARD);
	return T_PASS;
}

/* ---- sgemv --------------------------------------------------------------- */

struct gemv_case {
	enum pep_layout layout;
	enum pep_trans ta;
	size_t m, n, lda;
	ptrdiff_t incx, incy;
	float alpha, beta;
};

static size_t stride_len(size_t n, ptrdiff_t inc)
{
	size_t step = (size_t)(inc < 0 ? -inc : inc);

	return n ? (n - 1) * step + 1 : 0;
}

/* Element i of a BLAS strided vector of n. */
static size_t vec_at(size_t n, ptrdiff_t inc, size_t i)
{
	return inc > 0 ? i * (size_t)inc : (n - 1 - i) * (size_t)-inc;
}

static int gemv_check(const struct gemv_case *gv, const float *a,
		      const float *x, const float *y0, float *y)
{
	size_t nx = gv->ta == PEP_NO_TRANS ? gv->n : gv->m;
	size_t ny = gv->ta == PEP_NO_TRANS ? gv->m : gv->n;
	size_t ylen = stride_len(ny, gv->incy);

	memcpy(y, y0, ylen * sizeof(float));
	if (pep_sgemv(gv->layout, gv->ta, gv->m, gv->n, gv->alpha, a, gv->lda,
		      x, gv->incx, gv->beta, y, gv->incy) != 0)
		goto fail;
	for (size_t i = 0; i < ylen; i++) {
		int is_elem = (i % (size_t)(gv->incy < 0 ? -gv->incy : gv->incy)) == 0;

		if (!is_elem && y[i] != GUARD)
			goto fail;
	}
	for (size_t i = 0; i < ny; i++) {
		double s = 0.0, abs = 0.0, got, c;

		for (size_t p = 0; p < nx; p++) {
			size_t r = gv->ta == PEP_NO_TRANS ? i : p;
			size_t col = gv->ta == PEP_NO_TRANS ? p : i;
			double t = (double)a[at(gv->layout, gv->lda, r, col)] *
				   x[vec_at(nx, gv->incx, p)];

			s += t;
			abs += fabs(t);
		}
		s *= gv->alpha;
		abs *= fabs(gv->alpha);
		c = y0[vec_at(ny, gv->incy, i)];
		if (gv->beta != 0.0f) {
			s += gv->beta * c;
			abs += fabs(gv->beta * c);
		}
		got = y[vec_at(ny, gv->incy, i)];
		if (!(fabs(got - s) <= (double)(nx + 2) * 0x1p-23 * abs + 0x1p-120)) {
			fprintf(stderr, "  y[%zu] = %.9g, want %.9g\n", i, got, s);
			goto fail;
		}
	}
	return T_PASS;
fail:
	fprintf(stderr, "sgemv wrong: tier %s threads %u %s%s m %zu n %zu "
		"lda %zu incx %td incy %td alpha %g beta %g\n",
		pep_simd_isa_name(pep_simd_active()), pep_simd_threads(),
		gv->layout == PEP_ROW_MAJOR ? "row" : "col",
		gv->ta == PEP_TRANS ? " A^T" : "", gv->m, gv->n, gv->lda,
		gv->incx, gv->incy, (double)gv->alpha, (double)gv->beta);
	return T_FAIL;
}

static int gemv_case_run(const struct gemv_case *gv)
{
	size_t nx = gv->ta == PEP_NO_TRANS ? gv->n : gv->m;
	size_t ny = gv->ta == PEP_NO_TRANS ? gv->m : gv->n;
	size_t alen = gv->lda * (gv->layout == PEP_ROW_MAJOR ? gv->m : gv->n);
	size_t xlen = stride_len(nx, gv->incx), ylen = stride_len(ny, gv->incy);
	float *a = malloc((alen + 1) * sizeof(float));
	float *x = malloc((xlen + 1) * sizeof(float));
	float *y0 = malloc((ylen + 1) * sizeof(float));
	float *y = malloc((ylen + 1) * sizeof(float));
	int rc = T_ERROR;

	if (!a || !x || !y0 || !y)
		goto out;
	for (size_t i = 0; i < alen; i++)
		a[i] = rnd_float();
	for (size_t i = 0; i < xlen; i++)
		x[i] = rnd_float();
	for (size_t i = 0; i < ylen; i++)
		y0[i] = GUARD;
	for (size_t i = 0; i < ny; i++)
		y0[vec_at(ny, gv->incy, i)] = gv->beta == 0.0f ? NAN : rnd_float();
	rc = T_PASS;
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT && rc == T_PASS; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		for (unsigned int t = 1; t <= 2 && rc == T_PASS; t++) {
			pep_simd_set_threads(t);
			rc = gemv_check(gv, a, x, y0, y);
		}
	}
	pep_simd_set_threads(0);
out:
	free(a);
	free(x);
	free(y0);
	free(y);
	return rc;
}

static int test_gemv(void)
{
	static const size_t dims[][2] = {
		{ 1, 1 }, { 1, 33 }, { 33, 1 }, { 7, 9 }, { 64, 17 },
		{ 100, 257 }, { 700, 600 },	/* the last splits over threads */
	};
	static const ptrdiff_t incs[] = { 1, 2, -1, -3 };

	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
		for (int combo = 0; combo < 4; combo++) {
			struct gemv_case gv = {
				.layout = combo & 2 ? PEP_COL_MAJOR : PEP_ROW_MAJOR,
				.ta = combo & 1 ? PEP_TRANS : PEP_NO_TRANS,
				.m = dims[d][0], .n = dims[d][1],
				.incx = incs[rnd() % 4], .incy = incs[rnd() % 4],
				.alpha = alphas[rnd() % 4],
				.beta = betas[rnd() % 4],
			};
			int rc;

			gv.lda = (gv.layout == PEP_ROW_MAJOR ? gv.n : gv.m) +
				 rnd() % 3;
			rc = gemv_case_run(&gv);
			if (rc != T_PASS)
				return rc;
		}
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("sgemm edge shapes", test_edges, &rc);
	t_run("sgemm random shapes", test_random, &rc);
	t_run("sgemm large, threaded", test_large, &rc);
	t_run("sgemm from concurrent callers", test_concurrent, &rc);
	t_run("sgemm in a forked child", test_fork, &rc);
	t_run("sgemm alpha 0, k 0", test_scale_only, &rc);
	t_run("sgemm/sgemv bad arguments", test_einval, &rc);
	t_run("sgemv", test_gemv, &rc);
	return rc;
}
