/*
 * peak_neon.c - the machine-limit loops of the NEON tier.
 *
 * 16 independent fmla chains of 4 lanes: cores with four 128-bit FMA
 * pipes of latency 4 (Neoverse V1/V2) need 16 in flight; the 32 v
 * registers hold them and the constants. acc = acc m + a with 0 < m < 1
 * settles at a / (1 - m): no overflow, no subnormals.
 */
#include <arm_neon.h>

#include "simd_priv.h"

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
#define NACC 16

static double fma_loop_neon(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	float32x4_t m = vdupq_n_f32(vm), a = vdupq_n_f32(va), acc[NACC], sum;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = vdupq_n_f32((float)j);
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = vfmaq_f32(a, acc[j], m);
	sum = acc[0];
#pragma GCC unroll 16
	for (int j = 1; j < NACC; j++)
		sum = vaddq_f32(sum, acc[j]);
	sink = vaddvq_f32(sum);
	(void)sink;
	return (double)iters * NACC * 4 * 2;
}

/* A 64-byte line's 16-byte words added to s (one ld1 of 4 registers). */
static inline uint64x2_t add_line(uint64x2_t s, const unsigned char *p)
{
	uint64x2x4_t v = vld1q_u64_x4((const uint64_t *)p);

	s = vaddq_u64(s, vaddq_u64(v.val[0], v.val[1]));
	return vaddq_u64(s, vaddq_u64(v.val[2], v.val[3]));
}

/*
 * Sum of the 64-bit words (the tail bytes added singly), read as four
 * streams, one per quarter: one stream leaves a core's miss slots idle
 * (the streaming kernels read two or three at once).
 */
static uint64_t read_loop_neon(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	uint64x2_t s0 = vdupq_n_u64(0), s1 = s0, s2 = s0, s3 = s0;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t total = 0;

	for (i = 0; i < q; i += 64) {
		s0 = add_line(s0, b + i);
		s1 = add_line(s1, b + q + i);
		s2 = add_line(s2, b + 2 * q + i);
		s3 = add_line(s3, b + 3 * q + i);
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	s0 = vaddq_u64(vaddq_u64(s0, s1), vaddq_u64(s2, s3));
	return total + vaddvq_u64(s0);
}

void pep__simd_peak_neon(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop_neon;
	k->read_loop = read_loop_neon;
}
