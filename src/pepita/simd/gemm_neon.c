/*
 * gemm_neon.c - sgemm micro-kernel for AArch64 NEON: an 8 x 12 tile in 24
 * of the 32 Q registers. Per step: three loads of B, two of A (eight
 * values), 24 FMAs by lane (FMLA v.4s, v.4s, v.s[i]), no broadcasts.
 */
#include <arm_neon.h>

#include "simd_priv.h"

#define MR 8
#define NV 3
#define NR (NV * 4)

static inline __attribute__((always_inline)) void
store_vec(float *dst, float32x4_t acc, size_t cols, float alpha, float beta)
{
	float32x4_t v = vmulq_n_f32(acc, alpha);
	float t[4];

	if (cols >= 4) {
		if (beta != 0.0f)
			v = vfmaq_n_f32(v, vld1q_f32(dst), beta);
		vst1q_f32(dst, v);
		return;
	}
	vst1q_f32(t, v);
	for (size_t j = 0; j < cols; j++)
		dst[j] = t[j] + (beta == 0.0f ? 0.0f : beta * dst[j]);
}

#define FMA_ROW(i, av, lane)						\
	do {								\
		acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);	\
		acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);	\
		acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);	\
	} while (0)

static void kernel(size_t k, const float *a, const float *b, float *c,
		   size_t ldc, size_t mr, size_t nr, float alpha, float beta)
{
	float32x4_t acc[MR][NV];

#pragma GCC unroll 8
	for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[i][v] = vdupq_n_f32(0.0f);
	for (size_t p = 0; p < k; p++, a += MR, b += NR) {
		float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
		float32x4_t b2 = vld1q_f32(b + 8);
		float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);

		FMA_ROW(0, a0, 0);
		FMA_ROW(1, a0, 1);
		FMA_ROW(2, a0, 2);
		FMA_ROW(3, a0, 3);
		FMA_ROW(4, a1, 0);
		FMA_ROW(5, a1, 1);
		FMA_ROW(6, a1, 2);
		FMA_ROW(7, a1, 3);
	}
	/* Constant indices after unrolling keep acc in registers. */
#pragma GCC unroll 8
	for (int i = 0; i < MR; i++) {
		if ((size_t)i >= mr)
			break;
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			store_vec(c + i * ldc + 4 * v, acc[i][v],
				  nr > 4u * v ? nr - 4u * v : 0, alpha, beta);
	}
}

/* Two vectors of each row per step: eight independent FMA chains. */
static void gemv_n4(float y[4], const float *a, size_t lda, const float *x,
		    size_t n)
{
	float32x4_t acc[4][2];
	size_t j = 0;

#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
		acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
	for (; j + 8 <= n; j += 8) {
		float32x4_t x0 = vld1q_f32(x + j), x1 = vld1q_f32(x + j + 4);

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++) {
			const float *row = a + r * lda + j;

			acc[r][0] = vfmaq_f32(acc[r][0], vld1q_f32(row), x0);
			acc[r][1] = vfmaq_f32(acc[r][1], vld1q_f32(row + 4), x1);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++) {
		float s = vaddvq_f32(vaddq_f32(acc[r][0], acc[r][1]));

		for (size_t t = j; t < n; t++)
			s += a[r * lda + t] * x[t];
		y[r] = s;
	}
}

/* Two sums of four rows each, added to y once per vector. */
static void gemv_t8(float *y, const float *a, size_t lda, const float x[8],
		    size_t n)
{
	float32x4_t xa = vld1q_f32(x), xb = vld1q_f32(x + 4);
	size_t j = 0;

	for (; j + 4 <= n; j += 4) {
		const float *c = a + j;
		float32x4_t s = vmulq_laneq_f32(vld1q_f32(c), xa, 0);
		float32x4_t t = vmulq_laneq_f32(vld1q_f32(c + lda), xa, 1);

		s = vfmaq_laneq_f32(s, vld1q_f32(c + 2 * lda), xa, 2);
		t = vfmaq_laneq_f32(t, vld1q_f32(c + 3 * lda), xa, 3);
		s = vfmaq_laneq_f32(s, vld1q_f32(c + 4 * lda), xb, 0);
		t = vfmaq_laneq_f32(t, vld1q_f32(c + 5 * lda), xb, 1);
		s = vfmaq_laneq_f32(s, vld1q_f32(c + 6 * lda), xb, 2);
		t = vfmaq_laneq_f32(t, vld1q_f32(c + 7 * lda), xb, 3);
		vst1q_f32(y + j, vaddq_f32(vaddq_f32(s, t), vld1q_f32(y + j)));
	}
	for (; j < n; j++) {
		float s = 0.0f;

		for (int r = 0; r < 8; r++)
			s += x[r] * a[r * lda + j];
		y[j] += s;
	}
}

void pep__simd_gemm_neon(struct pep__simd_table *k)
{
	k->gemm = (struct pep__gemm_shape){ .kernel = kernel, .mr = MR, .nr = NR };
	k->gemv_n4 = gemv_n4;
	k->gemv_t8 = gemv_t8;
}
