/*
 * qdot_neon.c - quantized block dots on AArch64 Advanced SIMD.
 *
 * Signed x signed 8-bit products are exact in 16 bits (vmull_s8, at most
 * 128 * 128), and vpadalq_s16 widens pairs into 32-bit lanes, so each
 * block's integer dot is exact; ADDV then folds it to one integer before
 * the scale product. Where the CPU has the dot-product extension, SDOT
 * does four products into a 32-bit lane in one step.
 */
#include <arm_neon.h>

#include "simd_priv.h"

/*
 * arm_neon.h declares vdotq_s32 for armv8.2-a+dotprod; a function must
 * have all of those to inline it. Every CPU with dotprod is 8.2 or later.
 */
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

static inline float fp16(uint16_t h)
{
	__fp16 f;

	__builtin_memcpy(&f, &h, sizeof(f));
	return (float)f;
}

static inline int32x4_t mul_acc(int32x4_t acc, int8x16_t a, int8x16_t b)
{
	acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
	return vpadalq_s16(acc, vmull_high_s8(a, b));
}

static inline DOTPROD int32x4_t mul_acc_dot(int32x4_t acc, int8x16_t a,
					    int8x16_t b)
{
	return vdotq_s32(acc, a, b);
}

/* A Q4_0 block's values (nibble - 8): elements 0..15, then 16..31. */
static inline void q4_0_values(const struct pep_block_q4_0 *x, int8x16_t *lo,
			       int8x16_t *hi)
{
	uint8x16_t b = vld1q_u8(x->qs);
	int8x16_t eight = vdupq_n_s8(8);

	*lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(15))), eight);
	*hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), eight);
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	float acc0 = 0.0f, acc1 = 0.0f;

	for (size_t i = 0; i < nb; i++) {
		int32x4_t s = vdupq_n_s32(0);
		int8x16_t lo, hi;
		float t;

		q4_0_values(&x[i], &lo, &hi);
		s = mul_acc(s, lo, vld1q_s8(y[i].qs));
		s = mul_acc(s, hi, vld1q_s8(y[i].qs + 16));
		t = fp16(x[i].d) * fp16(y[i].d) * (float)vaddvq_s32(s);
		if (i & 1)
			acc1 += t;
		else
			acc0 += t;
	}
	return acc0 + acc1;
}

static DOTPROD float dot_q4_0_q8_0_dot(const struct pep_block_q4_0 *x,
				       const struct pep_block_q8_0 *y, size_t nb)
{
	float acc0 = 0.0f, acc1 = 0.0f;

	for (size_t i = 0; i < nb; i++) {
		int32x4_t s = vdupq_n_s32(0);
		int8x16_t lo, hi;
		float t;

		q4_0_values(&x[i], &lo, &hi);
		s = mul_acc_dot(s, lo, vld1q_s8(y[i].qs));
		s = mul_acc_dot(s, hi, vld1q_s8(y[i].qs + 16));
		t = fp16(x[i].d) * fp16(y[i].d) * (float)vaddvq_s32(s);
		if (i & 1)
			acc1 += t;
		else
			acc0 += t;
	}
	return acc0 + acc1;
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	float acc0 = 0.0f, acc1 = 0.0f;

	for (size_t i = 0; i < nb; i++) {
		int32x4_t s = vdupq_n_s32(0);
		float t;

		s = mul_acc(s, vld1q_s8(x[i].qs), vld1q_s8(y[i].qs));
		s = mul_acc(s, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16));
		t = fp16(x[i].d) * fp16(y[i].d) * (float)vaddvq_s32(s);
		if (i & 1)
			acc1 += t;
		else
			acc0 += t;
	}
	return acc0 + acc1;
}

static DOTPROD float dot_q8_0_q8_0_dot(const struct pep_block_q8_0 *x,
				       const struct pep_block_q8_0 *y, size_t nb)
{
	float acc0 = 0.0f, acc1 = 0.0f;

	for (size_t i = 0; i < nb; i++) {
		int32x4_t s = vdupq_n_s32(0);
		float t;

		s = mul_acc_dot(s, vld1q_s8(x[i].qs), vld1q_s8(y[i].qs));
		s = mul_acc_dot(s, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16));
		t = fp16(x[i].d) * fp16(y[i].d) * (float)vaddvq_s32(s);
		if (i & 1)
			acc1 += t;
		else
			acc0 += t;
	}
	return acc0 + acc1;
}

/* ggml's get_scale_min_k4, all eight sub-blocks. */
static inline void scales_k4(const uint8_t *s, int32_t sc[8], int32_t m[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		m[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
		m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
	}
}

/* One Q4_K super-block: sub-block 2c in the low nibbles of qs[32c..],
 * 2c + 1 in the high ones; one rounding at the end (qdot_scalar.c). */
static inline float super_q4_K(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y)
{
	int32_t sc[8], m[8], sum_q = 0, sum_m = 0;

	scales_k4(x->scales, sc, m);
	for (int c = 0; c < 4; c++) {
		int32x4_t slo = vdupq_n_s32(0), shi = vdupq_n_s32(0);

		for (int h = 0; h < 2; h++) {
			uint8x16_t b = vld1q_u8(x->qs + 32 * c + 16 * h);
			const int8_t *v = y->qs + 64 * c + 16 * h;

			slo = mul_acc(slo, vreinterpretq_s8_u8(vandq_u8(b,
					vdupq_n_u8(15))), vld1q_s8(v));
			shi = mul_acc(shi, vreinterpretq_s8_u8(vshrq_n_u8(b, 4)),
				      vld1q_s8(v + 32));
		}
		sum_q += sc[2 * c] * vaddvq_s32(slo) +
			 sc[2 * c + 1] * vaddvq_s32(shi);
	}
	for (int j = 0; j < 8; j++)
		sum_m += m[j] * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
	return (float)((double)y->d * fp16(x->d) * sum_q -
		       (double)y->d * fp16(x->dmin) * sum_m);
}

static float dot_q4_K_q8_K(const struct pep_block_q4_K *x,
			   const struct pep_block_q8_K *y, size_t nb)
{
	float acc0 = 0.0f, acc1 = 0.0f;
	size_t i = 0;

	for (; i + 2 <= nb; i += 2) {
		acc0 += super_q4_K(&x[i], &y[i]);
		acc1 += super_q4_K(&x[i + 1], &y[i + 1]);
	}
	if (i < nb)
		acc0 += super_q4_K(&x[i], &y[i]);
	return acc0 + acc1;
}

void pep__simd_qdot_neon(struct pep__simd_table *k)
{
	int dot = pep_cpu_has(PEP_CPU_DOTPROD);

	k->dot_q4_0_q8_0 = dot ? dot_q4_0_q8_0_dot : dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot ? dot_q8_0_q8_0_dot : dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
