/*
 * gemm_scalar.c - the portable sgemm micro-kernel: a 4 x 8 tile kept in
 * locals, which the compiler maps to whatever registers the baseline has.
 */
#include "simd_priv.h"

#define MR 4
#define NR 8

static void kernel_4x8(size_t k, const float *a, const float *b, float *c,
		       size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	float acc[MR][NR] = { { 0 } };

	for (size_t p = 0; p < k; p++, a += MR, b += NR)
		for (int i = 0; i < MR; i++)
			for (int j = 0; j < NR; j++)
				acc[i][j] += a[i] * b[j];
	for (size_t i = 0; i < mr; i++) {
		float *row = c + i * ldc;

		for (size_t j = 0; j < nr; j++)
			row[j] = alpha * acc[i][j] +
				 (beta == 0.0f ? 0.0f : beta * row[j]);
	}
}

static void gemv_n4(float y[4], const float *a, size_t lda, const float *x,
		    size_t n)
{
	float s[4] = { 0 };

	for (size_t j = 0; j < n; j++)
		for (int r = 0; r < 4; r++)
			s[r] += a[r * lda + j] * x[j];
	for (int r = 0; r < 4; r++)
		y[r] = s[r];
}

static void gemv_t8(float *y, const float *a, size_t lda, const float x[8],
		    size_t n)
{
	for (size_t j = 0; j < n; j++) {
		float s = 0.0f;

		for (int r = 0; r < 8; r++)
			s += x[r] * a[r * lda + j];
		y[j] += s;
	}
}

void pep__simd_gemm_scalar(struct pep__simd_table *k)
{
	k->gemm = (struct pep__gemm_shape){ .kernel = kernel_4x8, .mr = MR, .nr = NR };
	k->gemv_n4 = gemv_n4;
	k->gemv_t8 = gemv_t8;
}
