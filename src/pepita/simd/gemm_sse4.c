/*
 * gemm_sse4.c - sgemm micro-kernel for SSE4.1: a 4 x 8 tile in eight XMM
 * accumulators (no FMA at this tier: multiply, then add).
 */
#include <immintrin.h>

#include "simd_priv.h"

#define MR 4
#define NR 8

static void store_row(float *row, __m128 lo, __m128 hi, size_t nr,
		      __m128 alpha, float beta)
{
	float t[NR];

	lo = _mm_mul_ps(lo, alpha);
	hi = _mm_mul_ps(hi, alpha);
	if (nr == NR) {
		if (beta != 0.0f) {
			__m128 b = _mm_set1_ps(beta);

			lo = _mm_add_ps(lo, _mm_mul_ps(b, _mm_loadu_ps(row)));
			hi = _mm_add_ps(hi, _mm_mul_ps(b, _mm_loadu_ps(row + 4)));
		}
		_mm_storeu_ps(row, lo);
		_mm_storeu_ps(row + 4, hi);
		return;
	}
	_mm_storeu_ps(t, lo);
	_mm_storeu_ps(t + 4, hi);
	for (size_t j = 0; j < nr; j++)
		row[j] = t[j] + (beta == 0.0f ? 0.0f : beta * row[j]);
}

static void kernel_4x8(size_t k, const float *a, const float *b, float *c,
		       size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	__m128 lo[MR], hi[MR];

#pragma GCC unroll 4
	for (int i = 0; i < MR; i++)
		lo[i] = hi[i] = _mm_setzero_ps();
	for (size_t p = 0; p < k; p++, a += MR, b += NR) {
		__m128 b0 = _mm_load_ps(b), b1 = _mm_load_ps(b + 4);

#pragma GCC unroll 4
		for (int i = 0; i < MR; i++) {
			__m128 ai = _mm_set1_ps(a[i]);

			lo[i] = _mm_add_ps(lo[i], _mm_mul_ps(ai, b0));
			hi[i] = _mm_add_ps(hi[i], _mm_mul_ps(ai, b1));
		}
	}
	/* Constant indices after unrolling keep the tile in registers. */
#pragma GCC unroll 4
	for (int i = 0; i < MR; i++) {
		if ((size_t)i >= mr)
			break;
		store_row(c + i * ldc, lo[i], hi[i], nr, _mm_set1_ps(alpha), beta);
	}
}

void pep__simd_gemm_sse4(struct pep__simd_table *k)
{
	k->gemm = (struct pep__gemm_shape){ .kernel = kernel_4x8, .mr = MR, .nr = NR };
}
