/*
 * cvt_avx2.c - fp16 through F16C, bf16 in integer AVX2.
 *
 * F16C with an explicit round-to-nearest-even immediate rounds exactly as
 * the scalar reference does and quiets NaNs the same way, so both agree bit
 * for bit. Tails go through the scalar reference.
 */
#include <immintrin.h>

#include "simd_priv.h"

static void f32_to_f16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i),
					    _MM_FROUND_TO_NEAREST_INT);

		_mm_storeu_si128((__m128i *)(y + i), h);
	}
	for (; i < n; i++)
		y[i] = pep__f32_to_f16_scalar(x[i]);
}

static void f16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(x + i));

		_mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
	}
	for (; i < n; i++)
		y[i] = pep__f16_to_f32_scalar(x[i]);
}

/*
 * Round to nearest even on the bits: adding 0x7fff plus the kept lsb
 * carries exactly when the dropped half is above, or at, an odd tie. A NaN
 * would carry into the exponent, so it takes the quieted top half instead.
 */
static inline __m256i bf16_round(__m256i u)
{
	__m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16),
				       _mm256_set1_epi32(1));
	__m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb,
					_mm256_set1_epi32(0x7fff)));
	__m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
	__m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
	__m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16),
				    _mm256_set1_epi32(0x40));

	return _mm256_blendv_epi8(_mm256_srli_epi32(r, 16), q, nan);
}

static void f32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m256i a = bf16_round(_mm256_loadu_si256((const __m256i *)(x + i)));
		__m256i b = bf16_round(_mm256_loadu_si256((const __m256i *)(x + i + 8)));
		/* packus works per 128-bit lane: put the quarters back in order */
		__m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b),
						     0xd8);

		_mm256_storeu_si256((__m256i *)(y + i), p);
	}
	for (; i + 8 <= n; i += 8) {
		__m256i a = bf16_round(_mm256_loadu_si256((const __m256i *)(x + i)));
		__m128i p = _mm_packus_epi32(_mm256_castsi256_si128(a),
					     _mm256_extracti128_si256(a, 1));

		_mm_storeu_si128((__m128i *)(y + i), p);
	}
	for (; i < n; i++)
		y[i] = pep__f32_to_bf16_scalar(x[i]);
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(x + i));
		__m256i u = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);

		_mm256_storeu_si256((__m256i *)(y + i), u);
	}
	for (; i < n; i++)
		y[i] = pep__bf16_to_f32_scalar(x[i]);
}

void pep__simd_cvt_avx2(struct pep__simd_table *k)
{
	k->f32_to_f16 = f32_to_f16;
	k->f16_to_f32 = f16_to_f32;
	k->f32_to_bf16 = f32_to_bf16;
	k->bf16_to_f32 = bf16_to_f32;
}
