/*
 * qdot_avx2.c - quantized block dots on AVX2.
 *
 * Every block's integer dot is exact: _mm256_maddubs_epi16 only ever sees
 * a 4-bit unsigned side (pairs stay within +-3840, far from saturating),
 * and Q8_0 x Q8_0 widens to 16 bits first because -128 * -128 pairs would
 * saturate maddubs. Blocks go in groups of eight: their eight-lane integer
 * partial sums are folded into one vector of eight exact block sums, which
 * meets the eight exact scale products in one FMA per group.
 */
#include <immintrin.h>

#include "qdot_tier.h"

static inline float fp16(uint16_t h)
{
	return _cvtsh_ss(h);
}

static inline __m256i q4_0_q8_0(const void *bx, const void *by)
{
	const struct pep_block_q4_0 *x = bx;
	const struct pep_block_q8_0 *y = by;
	__m128i b = _mm_loadu_si128((const __m128i *)x->qs);
	__m128i lo = _mm_and_si128(b, _mm_set1_epi8(15));
	__m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15));
	__m256i q = _mm256_set_m128i(hi, lo);
	__m256i v = _mm256_loadu_si256((const __m256i *)y->qs);
	/* sum (q - 8) y = sum q y - sum 8 y, both exact in 16-bit pairs */
	__m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, v),
			_mm256_maddubs_epi16(_mm256_set1_epi8(8), v));

	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static inline __m256i q8_0_q8_0(const void *bx, const void *by)
{
	const struct pep_block_q8_0 *x = bx, *y = by;
	const __m128i *px = (const __m128i *)x->qs;
	const __m128i *py = (const __m128i *)y->qs;
	__m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(px));
	__m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(px + 1));
	__m256i y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(py));
	__m256i y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(py + 1));

	return _mm256_add_epi32(_mm256_madd_epi16(x0, y0),
				_mm256_madd_epi16(x1, y1));
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_groups(x, sizeof(*x), y, sizeof(*y), nb, q4_0_q8_0);
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_groups(x, sizeof(*x), y, sizeof(*y), nb, q8_0_q8_0);
}

static inline int32_t hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
				  _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* sum_j sc_j sum_l q y over one super-block, exact. */
static inline int32_t sum_q_k4(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y,
			       const int16_t sc[8])
{
	__m256i acc = _mm256_setzero_si256();

	for (int c = 0; c < 4; c++) {
		__m256i b = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
		__m256i lo = _mm256_and_si256(b, _mm256_set1_epi8(15));
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4),
					      _mm256_set1_epi8(15));
		const __m256i *v = (const __m256i *)(y->qs + 64 * c);
		__m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256(v));
		__m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256(v + 1));

		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo,
					_mm256_set1_epi16(sc[2 * c])));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi,
					_mm256_set1_epi16(sc[2 * c + 1])));
	}
	return hsum_epi32(acc);
}

void pep__simd_qdot_avx2(struct pep__simd_table *k)
{
	k->dot_q4_0_q8_0 = dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
