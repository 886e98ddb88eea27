/*
 * gemm_avx512.c - sgemm micro-kernel for AVX-512: a 6 x 64 tile of C in
 * 24 ZMM accumulators. Per step: the MR broadcasts of A first (6 more
 * registers), then each of the NV vectors of B loaded and used at once by
 * MR FMAs: 24 independent chains keep both FMA pipes busy, and a B load
 * never waits behind a long run of FMAs. A comes packed or, for full
 * slivers of row-major A, read in place (kernel_rows). Edge columns are
 * stored through a mask, never a slower loop.
 */
#include <immintrin.h>

#define MR 6
#define NV 4
#define NR (NV * 16)

#include "gemm_tier.h"

static __mmask16 cols_mask(size_t cols)
{
	return cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
}

static inline __attribute__((always_inline)) void
store_vec(float *dst, __m512 acc, size_t cols, __m512 alpha, float beta)
{
	__mmask16 m = cols_mask(cols);
	__m512 v = _mm512_mul_ps(acc, alpha);

	if (!cols)
		return;
	if (beta != 0.0f)
		v = _mm512_fmadd_ps(_mm512_set1_ps(beta),
				    _mm512_maskz_loadu_ps(m, dst), v);
	_mm512_mask_storeu_ps(dst, m, v);
}

/*
 * Steps [p0, p1) of the tile's rank-1 updates into acc. A's element
 * (i, p) is a[i*rsa + p*csa]: packed (1, MR) or rows (lda, 1). Inlined
 * with constant MR and NV, acc stays in registers.
 */
static inline __attribute__((always_inline)) void
steps(__m512 acc[MR][NV], size_t p0, size_t p1, const float *a, size_t rsa,
      size_t csa, const float *b)
{
#pragma GCC unroll 2
	for (size_t p = p0; p < p1; p++) {
		const float *ap = a + p * csa, *bp = b + p * NR;
		__m512 ai[MR];

#pragma GCC unroll 16
		for (int i = 0; i < MR; i++)
			ai[i] = _mm512_set1_ps(ap[i * rsa]);
#pragma GCC unroll 8
		for (int v = 0; v < NV; v++) {
			__m512 bv = _mm512_load_ps(bp + 16 * v);

#pragma GCC unroll 16
			for (int i = 0; i < MR; i++)
				acc[i][v] = _mm512_fmadd_ps(ai[i], bv, acc[i][v]);
		}
	}
}

/*
 * C is fetched for writing this many steps before the end: late enough
 * that the B panel streaming through L1 cannot evict it again (as it
 * does a tile fetched at the start), early enough to hide a miss to
 * memory (32 steps are some 800 cycles).
 */
#define C_AHEAD	32

static inline __attribute__((always_inline)) void
tile(size_t k, const float *a, size_t rsa, size_t csa, const float *b,
     float *c, size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	size_t k_main = k > C_AHEAD ? k - C_AHEAD : 0;
	__m512 acc[MR][NV];
	__m512 al = _mm512_set1_ps(alpha);

#pragma GCC unroll 16
	for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
		for (int v = 0; v < NV; v++)
			acc[i][v] = _mm512_setzero_ps();
	steps(acc, 0, k_main, a, rsa, csa, b);
#pragma GCC unroll 16
	for (int i = 0; i < MR; i++)
		for (int v = 0; v < NV; v++)
			_mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_ET0);
	steps(acc, k_main, k, a, rsa, csa, b);
	/* Constant indices after unrolling keep acc in registers. */
#pragma GCC unroll 16
	for (int i = 0; i < MR; i++) {
		if ((size_t)i >= mr)
			break;
#pragma GCC unroll 8
		for (int v = 0; v < NV; v++)
			store_vec(c + i * ldc + 16 * v, acc[i][v],
				  nr > 16u * v ? nr - 16u * v : 0, al, beta);
	}
}

/* Two vectors of each row per step: eight independent FMA chains. */
static void gemv_n4(float y[4], const float *a, size_t lda, const float *x,
		    size_t n)
{
	__m512 acc[4][2];
	size_t j = 0;

#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (; j + 32 <= n; j += 32) {
		__m512 x0 = _mm512_loadu_ps(x + j), x1 = _mm512_loadu_ps(x + j + 16);

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++) {
			const float *row = a + r * lda + j;

			acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(row), x0,
						    acc[r][0]);
			acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16),
						    x1, acc[r][1]);
		}
	}
	for (; j < n; j += 16) {
		__mmask16 m = cols_mask(n - j);
		__m512 xv = _mm512_maskz_loadu_ps(m, x + j);

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			acc[r][0] = _mm512_fmadd_ps(
				_mm512_maskz_loadu_ps(m, a + r * lda + j), xv,
				acc[r][0]);
	}
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
}

/* Two sums of four rows each, added to y once per vector. */
static void gemv_t8(float *y, const float *a, size_t lda, const float x[8],
		    size_t n)
{
	__m512 xv[8];

#pragma GCC unroll 8
	for (int r = 0; r < 8; r++)
		xv[r] = _mm512_set1_ps(x[r]);
	for (size_t j = 0; j < n; j += 16) {
		__mmask16 m = cols_mask(n - j);
		__m512 s = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + j), xv[0]);
		__m512 t = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + lda + j),
					 xv[1]);

#pragma GCC unroll 8
		for (int r = 2; r < 8; r += 2) {
			s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + r * lda + j),
					    xv[r], s);
			t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + (r + 1) * lda + j),
					    xv[r + 1], t);
		}
		s = _mm512_add_ps(_mm512_add_ps(s, t),
				  _mm512_maskz_loadu_ps(m, y + j));
		_mm512_mask_storeu_ps(y + j, m, s);
	}
}
