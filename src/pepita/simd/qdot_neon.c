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

#include "qdot_tier.h"

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

/* acc plus the 16 products a b, in its lanes: mul_acc or mul_acc_dot. */
typedef int32x4_t (*mul_acc_fn)(int32x4_t acc, int8x16_t a, int8x16_t b);

static inline __attribute__((always_inline))
int32x4_t q4_0_q8_0(const void *bx, const void *by, mul_acc_fn mul)
{
	const struct pep_block_q4_0 *x = bx;
	const struct pep_block_q8_0 *y = by;
	int32x4_t s = vdupq_n_s32(0);
	int8x16_t lo, hi;

	q4_0_values(x, &lo, &hi);
	s = mul(s, lo, vld1q_s8(y->qs));
	return mul(s, hi, vld1q_s8(y->qs + 16));
}

static inline __attribute__((always_inline))
int32x4_t q8_0_q8_0(const void *bx, const void *by, mul_acc_fn mul)
{
	const struct pep_block_q8_0 *x = bx, *y = by;
	int32x4_t s = vdupq_n_s32(0);

	s = mul(s, vld1q_s8(x->qs), vld1q_s8(y->qs));
	return mul(s, vld1q_s8(x->qs + 16), vld1q_s8(y->qs + 16));
}

typedef int32x4_t (*block_dot_fn)(const void *x, const void *y,
				  mul_acc_fn mul);

/*
 * d_x d_y (block dot) over nb blocks of xs and ys bytes (each starting
 * with its fp16 d), into two running sums.
 */
static inline __attribute__((always_inline))
float dot_blocks(const void *x, size_t xs, const void *y, size_t ys,
		 size_t nb, block_dot_fn dot, mul_acc_fn mul)
{
	const unsigned char *bx = x, *by = y;
	float acc0 = 0.0f, acc1 = 0.0f;

	for (size_t i = 0; i < nb; i++, bx += xs, by += ys) {
		uint16_t dx, dy;
		float t;

		__builtin_memcpy(&dx, bx, sizeof(dx));
		__builtin_memcpy(&dy, by, sizeof(dy));
		t = fp16(dx) * fp16(dy) * (float)vaddvq_s32(dot(bx, by, mul));
		if (i & 1)
			acc1 += t;
		else
			acc0 += t;
	}
	return acc0 + acc1;
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q4_0_q8_0,
			  mul_acc);
}

static DOTPROD float dot_q4_0_q8_0_dot(const struct pep_block_q4_0 *x,
				       const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q4_0_q8_0,
			  mul_acc_dot);
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q8_0_q8_0,
			  mul_acc);
}

static DOTPROD float dot_q8_0_q8_0_dot(const struct pep_block_q8_0 *x,
				       const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q8_0_q8_0,
			  mul_acc_dot);
}

/*
 * One Q4_K super-block's integer sum: sub-block 2c in the low nibbles of
 * qs[32c..], 2c + 1 in the high ones.
 */
static inline int32_t sum_q_k4(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y,
			       const int16_t sc[8])
{
	int32_t sum_q = 0;

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
	return sum_q;
}

void pep__simd_qdot_neon(struct pep__simd_table *k)
{
	int dot = pep_cpu_has(PEP_CPU_DOTPROD);

	k->dot_q4_0_q8_0 = dot ? dot_q4_0_q8_0_dot : dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot ? dot_q8_0_q8_0_dot : dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
