/*
 * qdot_avx512.c - quantized block dots on AVX-512.
 *
 * Integer parts stay exact as on AVX2 (see qdot_avx2.c). Q8_0 x Q8_0
 * widens a block to 32 16-bit lanes in one 512-bit register; a Q4_K
 * super-block goes 64 elements (two sub-blocks) per register through
 * maddubs, which only ever sees 4-bit unsigned values. Q4_0 uses
 * AVX512_VNNI's vpdpbusd (nibbles unsigned, then minus 8 sum(y)), which
 * sums four products into 32 bits without saturating, one block per
 * 256-bit register: joining block pairs into 512 bits and splitting them
 * again for the fold cost more lane shuffles than they saved (measured on
 * an AMD EPYC: 21 against 24 Gelem/s). Groups of eight blocks are folded
 * to eight exact block sums and meet their eight exact fp16 scale products
 * in one FMA.
 */
#include <immintrin.h>

#include "qdot_tier.h"

#define VNNI __attribute__((target("avx512vnni")))

static inline float fp16(uint16_t h)
{
	return _cvtsh_ss(h);
}

static inline __m512i join(__m256i lo, __m256i hi)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* A Q4_0 block's nibbles in element order. */
static inline __m256i q4_0_nibbles(const struct pep_block_q4_0 *x)
{
	__m128i b = _mm_loadu_si128((const __m128i *)x->qs);
	__m128i m = _mm_set1_epi8(15);

	return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m),
				_mm_and_si128(b, m));
}

static inline __m256i q8_bytes(const struct pep_block_q8_0 *y)
{
	return _mm256_loadu_si256((const __m256i *)y->qs);
}

/* One block on 256 bits: no lane shuffles to join or split block pairs. */
static inline VNNI __m256i q4_0_one_vnni(const void *bx, const void *by)
{
	const struct pep_block_q4_0 *x = bx;
	const struct pep_block_q8_0 *y = by;
	__m256i q = q4_0_nibbles(x), v = q8_bytes(y);
	__m256i z = _mm256_setzero_si256();

	return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, q, v),
			_mm256_dpbusd_epi32(z, _mm256_set1_epi8(8), v));
}

static VNNI float dot_q4_0_q8_0_vnni(const struct pep_block_q4_0 *x,
				     const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_groups(x, sizeof(*x), y, sizeof(*y), nb, q4_0_one_vnni);
}

/*
 * One block widened to 16 bits (-128 * -128 pairs saturate maddubs). This
 * beat vpdpbusd on x + 128 (31 against 27 Gelem/s), which needs a second
 * vpdpbusd for the 128 sum(y) correction.
 */
static inline __m256i q8_0_one(const void *bx, const void *by)
{
	const struct pep_block_q8_0 *x = bx, *y = by;
	__m512i a = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)x->qs));
	__m512i b = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)y->qs));
	__m512i p = _mm512_madd_epi16(a, b);

	return _mm256_add_epi32(_mm512_castsi512_si256(p),
				_mm512_extracti64x4_epi64(p, 1));
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_groups(x, sizeof(*x), y, sizeof(*y), nb, q8_0_one);
}

/*
 * sum_j sc_j sum_l q y, exact. Slice c holds sub-blocks 2c (low nibbles of
 * qs[32c..]) and 2c + 1 (high nibbles), which is y.qs[64c..64c+63] in order.
 */
static inline int32_t sum_q_k4(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y,
			       const int16_t sc[8])
{
	__m512i acc = _mm512_setzero_si512();

	for (int c = 0; c < 4; c++) {
		__m256i b = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
		__m512i q = _mm512_and_si512(join(b, _mm256_srli_epi16(b, 4)),
					     _mm512_set1_epi8(15));
		__m512i v = _mm512_loadu_si512(y->qs + 64 * c);
		__m512i s = join(_mm256_set1_epi16(sc[2 * c]),
				 _mm256_set1_epi16(sc[2 * c + 1]));

		acc = _mm512_add_epi32(acc, _mm512_madd_epi16(
				_mm512_maddubs_epi16(q, v), s));
	}
	return _mm512_reduce_add_epi32(acc);
}

void pep__simd_qdot_avx512(struct pep__simd_table *k)
{
	/* Without VNNI, avx2's Q4_0 (left in the table) was the fastest. */
	if (pep_cpu_has(PEP_CPU_AVX512VNNI))
		k->dot_q4_0_q8_0 = dot_q4_0_q8_0_vnni;
	k->dot_q8_0_q8_0 = dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
