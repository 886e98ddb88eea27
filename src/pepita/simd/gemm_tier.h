/*
 * gemm_tier.h - the sgemm entry points of the tiers whose register tile
 * reads A packed or in place (gemm_avx2.c, gemm_avx512.c), written once:
 * kernel() (packed A) and kernel_rows() (full slivers of row-major A,
 * unpacked) around the tier's tile(), and the tier's table entry.
 *
 * A tier file defines MR and NR (its register tile), includes this, then
 * defines, under these names:
 *
 *   tile(k, a, rsa, csa, b, c, ldc, mr, nr, alpha, beta)
 *                         the mr x nr corner of C from k steps, A's
 *                         element (i, p) at a[i*rsa + p*csa]
 *   gemv_n4, gemv_t8      the table's sgemv loops (simd_priv.h)
 */
#ifndef PEPITA_SIMD_GEMM_TIER_H
#define PEPITA_SIMD_GEMM_TIER_H

#if !defined(PEP_SIMD_TIER) || !defined(MR) || !defined(NR)
#error "define MR and NR, and build with -DPEP_SIMD_TIER=<tier>"
#endif

#include "simd_priv.h"

static inline void tile(size_t k, const float *a, size_t rsa, size_t csa,
			const float *b, float *c, size_t ldc, size_t mr,
			size_t nr, float alpha, float beta);
static void gemv_n4(float y[4], const float *a, size_t lda, const float *x,
		    size_t n);
static void gemv_t8(float *y, const float *a, size_t lda, const float x[8],
		    size_t n);

static void kernel(size_t k, const float *a, const float *b, float *c,
		   size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	tile(k, a, 1, MR, b, c, ldc, mr, nr, alpha, beta);
}

static void kernel_rows(size_t k, const float *a, size_t lda, const float *b,
			float *c, size_t ldc, size_t nr, float alpha, float beta)
{
	tile(k, a, lda, 1, b, c, ldc, MR, nr, alpha, beta);
}

void PEP__SIMD_FILL(gemm)(struct pep__simd_table *k)
{
	k->gemm = (struct pep__gemm_shape){
		.kernel = kernel, .kernel_rows = kernel_rows, .mr = MR, .nr = NR,
	};
	k->gemv_n4 = gemv_n4;
	k->gemv_t8 = gemv_t8;
}

#endif /* PEPITA_SIMD_GEMM_TIER_H */
