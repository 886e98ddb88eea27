/*
 * gemm_avx2.c - sgemm micro-kernel for AVX2 + FMA: a 6 x 16 tile in twelve
 * YMM accumulators (BLIS's Haswell shape): per step two loads of B, six
 * broadcasts of A, twelve FMAs, enough independent chains to cover the FMA
 * latency on two pipes, in 15 of the 16 registers. A comes packed or, for
 * full slivers of row-major A, read in place (kernel_rows).
 */
#include <immintrin.h>

#define MR 6
#define NV 2			/* vectors of 8 per row */
#define NR (NV * 8)

#include "gemm_tier.h"

static __m256i tail_mask(size_t n)
{
	static const int32_t ramp[16] = { -1, -1, -1, -1, -1, -1, -1, -1,
					   0, 0, 0, 0, 0, 0, 0, 0 };

	return _mm256_loadu_si256((const __m256i *)(ramp + 8 - n));
}

static inline __attribute__((always_inline)) void
store_vec(float *dst, __m256 acc, size_t cols, __m256 alpha, float beta)
{
	__m256 v = _mm256_mul_ps(acc, alpha);

	if (cols >= 8) {
		if (beta != 0.0f)
			v = _mm256_fmadd_ps(_mm256_set1_ps(beta),
					    _mm256_loadu_ps(dst), v);
		_mm256_storeu_ps(dst, v);
	} else if (cols > 0) {
		__m256i m = tail_mask(cols);

		if (beta != 0.0f)
			v = _mm256_fmadd_ps(_mm256_set1_ps(beta),
					    _mm256_maskload_ps(dst, m), v);
		_mm256_maskstore_ps(dst, m, v);
	}
}

/* A's element (i, p) is a[i*rsa + p*csa]: packed (1, MR) or rows (lda, 1). */
static inline __attribute__((always_inline)) void
tile(size_t k, const float *a, size_t rsa, size_t csa, const float *b,
     float *c, size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	__m256 acc[MR][NV];
	__m256 al = _mm256_set1_ps(alpha);

#pragma GCC unroll 8
	for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 2
	for (size_t p = 0; p < k; p++, a += csa, b += NR) {
		__m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);

#pragma GCC unroll 8
		for (int i = 0; i < MR; i++) {
			__m256 ai = _mm256_broadcast_ss(a + i * rsa);

			acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
			acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
		}
	}
	/* Constant indices after unrolling keep acc in registers. */
#pragma GCC unroll 8
	for (int i = 0; i < MR; i++) {
		if ((size_t)i >= mr)
			break;
		store_vec(c + i * ldc, acc[i][0], nr, al, beta);
		store_vec(c + i * ldc + 8, acc[i][1], nr > 8 ? nr - 8 : 0, al,
			  beta);
	}
}

/* Two vectors of each row per step: eight independent FMA chains. */
static void gemv_n4(float y[4], const float *a, size_t lda, const float *x,
		    size_t n)
{
	__m256 acc[4][2];
	size_t j = 0;

#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
		acc[r][0] = acc[r][1] = _mm256_setzero_ps();
	for (; j + 16 <= n; j += 16) {
		__m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++) {
			const float *row = a + r * lda + j;

			acc[r][0] = _mm256_fmadd_ps(_mm256_loadu_ps(row), x0,
						    acc[r][0]);
			acc[r][1] = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8),
						    x1, acc[r][1]);
		}
	}
	for (; j < n; j += 8) {
		__m256i m = tail_mask(n - j >= 8 ? 8 : n - j);
		__m256 xv = _mm256_maskload_ps(x + j, m);

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			acc[r][0] = _mm256_fmadd_ps(
				_mm256_maskload_ps(a + r * lda + j, m), xv,
				acc[r][0]);
	}
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
		y[r] = pep__hsum256(_mm256_add_ps(acc[r][0], acc[r][1]));
}

/* Two sums of four rows each, added to y once per vector. */
static void gemv_t8(float *y, const float *a, size_t lda, const float x[8],
		    size_t n)
{
	__m256 xv[8];

#pragma GCC unroll 8
	for (int r = 0; r < 8; r++)
		xv[r] = _mm256_set1_ps(x[r]);
	for (size_t j = 0; j < n; j += 8) {
		__m256i m = tail_mask(n - j >= 8 ? 8 : n - j);
		__m256 s = _mm256_mul_ps(_mm256_maskload_ps(a + j, m), xv[0]);
		__m256 t = _mm256_mul_ps(_mm256_maskload_ps(a + lda + j, m), xv[1]);

#pragma GCC unroll 8
		for (int r = 2; r < 8; r += 2) {
			s = _mm256_fmadd_ps(_mm256_maskload_ps(a + r * lda + j, m),
					    xv[r], s);
			t = _mm256_fmadd_ps(_mm256_maskload_ps(a + (r + 1) * lda + j, m),
					    xv[r + 1], t);
		}
		s = _mm256_add_ps(_mm256_add_ps(s, t), _mm256_maskload_ps(y + j, m));
		_mm256_maskstore_ps(y + j, m, s);
	}
}
