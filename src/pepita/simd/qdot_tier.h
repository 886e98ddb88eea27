/*
 * qdot_tier.h - what the tiers with vector quantized dots build the same
 * way, written once: a Q4_K super-block from its scales and its integer
 * sum, the Q4_K dot over super-blocks, and (on AVX2 and AVX-512, whose
 * Q4_0 and Q8_0 dots go eight blocks at a time in 256 bits) the grouping
 * of blocks around the tier's one-block integer dot.
 *
 * qdot_avx2.c, qdot_avx512.c and qdot_neon.c include it first and define,
 * under these names:
 *
 *   fp16(h)               an fp16 bit pattern as a float (exact)
 *   sum_q_k4(x, y, sc)    sum_j sc[j] sum_l q y over one super-block's
 *                         eight sub-blocks, exact
 */
#ifndef PEPITA_SIMD_QDOT_TIER_H
#define PEPITA_SIMD_QDOT_TIER_H

#ifndef PEP_SIMD_TIER
#error "build qdot_<tier>.c with -DPEP_SIMD_TIER=<tier>"
#endif

#include "simd_priv.h"

static inline float fp16(uint16_t h);
static inline int32_t sum_q_k4(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y,
			       const int16_t sc[8]);

/* ggml's get_scale_min_k4, all eight sub-blocks. */
static inline void scales_k4(const uint8_t *s, int16_t sc[8], int16_t m[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		m[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
		m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
	}
}

static inline float super_q4_K(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y)
{
	int16_t sc[8], m[8];
	int32_t sum_m = 0, sum_q;

	scales_k4(x->scales, sc, m);
	sum_q = sum_q_k4(x, y, sc);
	for (int j = 0; j < 8; j++)
		sum_m += m[j] * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
	/* one rounding per super-block: see qdot_scalar.c */
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

#ifdef __AVX2__
/* Lane b of the result: the sum of the lanes of v[b]. */
static inline __m256i reduce8(const __m256i v[8])
{
	__m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]),
				      _mm256_hadd_epi32(v[2], v[3]));
	__m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]),
				      _mm256_hadd_epi32(v[6], v[7]));

	/* a holds blocks 0-3 as [low halves | high halves], b blocks 4-7 */
	return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
				_mm256_permute2x128_si256(a, b, 0x31));
}

/* d_x d_y of blocks 0..count-1, zero after (exact: 11 x 11 bits). */
static inline __m256 scales8(const uint16_t *xd, size_t xs, const uint16_t *yd,
			     size_t ys, int count)
{
	uint16_t hx[8], hy[8];

	for (int b = 0; b < 8; b++) {
		hx[b] = b < count ? xd[b * xs / 2] : 0;
		hy[b] = b < count ? yd[b * ys / 2] : 0;
	}
	return _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((__m128i *)hx)),
			     _mm256_cvtph_ps(_mm_loadu_si128((__m128i *)hy)));
}

/* One block's integer dot, in the lanes of a vector (blocks start with d). */
typedef __m256i (*block_dot_fn)(const void *x, const void *y);

/*
 * acc += d_x d_y (block dot) for count <= 8 blocks of xs and ys bytes:
 * their eight exact integer sums, folded into one vector, meet the eight
 * exact scale products in one FMA.
 */
static inline __attribute__((always_inline))
__m256 group8(__m256 acc, const unsigned char *x, size_t xs,
	      const unsigned char *y, size_t ys, int count, block_dot_fn dot)
{
	__m256i v[8];

	for (int b = 0; b < 8; b++)
		v[b] = b < count ? dot(x + b * xs, y + b * ys) :
				   _mm256_setzero_si256();
	return _mm256_fmadd_ps(scales8((const uint16_t *)x, xs,
				       (const uint16_t *)y, ys, count),
			       _mm256_cvtepi32_ps(reduce8(v)), acc);
}

/* The dot of nb blocks, eight at a time. */
static inline __attribute__((always_inline))
float dot_groups(const void *x, size_t xs, const void *y, size_t ys,
		 size_t nb, block_dot_fn dot)
{
	const unsigned char *bx = x, *by = y;
	__m256 acc = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= nb; i += 8)
		acc = group8(acc, bx + i * xs, xs, by + i * ys, ys, 8, dot);
	if (i < nb)
		acc = group8(acc, bx + i * xs, xs, by + i * ys, ys,
			     (int)(nb - i), dot);
	return pep__hsum256(acc);
}
#endif /* __AVX2__ */

#endif /* PEPITA_SIMD_QDOT_TIER_H */
