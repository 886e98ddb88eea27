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

void pep__simd_gemm_scalar(struct pep__simd_table *k)
{
	k->gemm = (struct pep__gemm_shape){ .kernel = kernel_4x8, .mr = MR, .nr = NR };
}
