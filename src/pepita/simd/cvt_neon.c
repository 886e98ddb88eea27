/*
 * cvt_neon.c - fp16 and bf16 conversion on AArch64 Advanced SIMD.
 *
 * FCVTN and FCVTL are base AArch64. Under the FPCR Linux gives every
 * thread (round to nearest even, no flush to zero, default NaN off) they
 * round as the scalar reference does and keep a NaN's top payload bits
 * with the quiet bit set, so the two agree bit for bit. bf16 has no
 * base instruction and is done on the integer bits.
 */
#include <arm_neon.h>

#include "simd_priv.h"

static void f32_to_f16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float16x4_t lo = vcvt_f16_f32(vld1q_f32(x + i));
		float16x8_t h = vcvt_high_f16_f32(lo, vld1q_f32(x + i + 4));

		vst1q_u16(y + i, vreinterpretq_u16_f16(h));
	}
	for (; i < n; i++)
		y[i] = pep__f32_to_f16_scalar(x[i]);
}

static void f16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(x + i));

		vst1q_f32(y + i, vcvt_f32_f16(vget_low_f16(h)));
		vst1q_f32(y + i + 4, vcvt_high_f32_f16(h));
	}
	for (; i < n; i++)
		y[i] = pep__f16_to_f32_scalar(x[i]);
}

/*
 * Round to nearest even on the bits: adding 0x7fff plus the kept lsb
 * carries exactly when the dropped half is above, or at, an odd tie. A NaN
 * would carry into the exponent, so it takes the quieted top half instead.
 */
static inline uint16x4_t bf16_round(uint32x4_t u)
{
	uint32x4_t hi = vshrq_n_u32(u, 16);
	uint32x4_t lsb = vandq_u32(hi, vdupq_n_u32(1));
	uint32x4_t r = vshrq_n_u32(vaddq_u32(u, vaddq_u32(lsb,
					vdupq_n_u32(0x7fff))), 16);
	uint32x4_t mag = vandq_u32(u, vdupq_n_u32(0x7fffffff));
	uint32x4_t nan = vcgtq_u32(mag, vdupq_n_u32(0x7f800000));

	r = vbslq_u32(nan, vorrq_u32(hi, vdupq_n_u32(0x40)), r);
	return vmovn_u32(r);
}

static void f32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint16x4_t a = bf16_round(vreinterpretq_u32_f32(vld1q_f32(x + i)));
		uint16x4_t b = bf16_round(vreinterpretq_u32_f32(vld1q_f32(x + i + 4)));

		vst1q_u16(y + i, vcombine_u16(a, b));
	}
	for (; i < n; i++)
		y[i] = pep__f32_to_bf16_scalar(x[i]);
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint16x8_t h = vld1q_u16(x + i);

		vst1q_u32((uint32_t *)(y + i), vshll_n_u16(vget_low_u16(h), 16));
		vst1q_u32((uint32_t *)(y + i + 4), vshll_high_n_u16(h, 16));
	}
	for (; i < n; i++)
		y[i] = pep__bf16_to_f32_scalar(x[i]);
}

void pep__simd_cvt_neon(struct pep__simd_table *k)
{
	k->f32_to_f16 = f32_to_f16;
	k->f16_to_f32 = f16_to_f32;
	k->f32_to_bf16 = f32_to_bf16;
	k->bf16_to_f32 = bf16_to_f32;
}
