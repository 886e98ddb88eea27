/*
 * cvt_sse4.c - bf16 conversion on SSE4.1. There is no fp16 conversion
 * instruction below F16C (the avx2 tier), so fp16 stays scalar here.
 */
#include <smmintrin.h>

#include "simd_priv.h"

/*
 * Round to nearest even on the bits: adding 0x7fff plus the kept lsb
 * carries exactly when the dropped half is above, or at, an odd tie. A NaN
 * would carry into the exponent, so it takes the quieted top half instead.
 */
static inline __m128i bf16_round(__m128i u)
{
	__m128i hi = _mm_srli_epi32(u, 16);
	__m128i lsb = _mm_and_si128(hi, _mm_set1_epi32(1));
	__m128i r = _mm_add_epi32(u, _mm_add_epi32(lsb, _mm_set1_epi32(0x7fff)));
	__m128i mag = _mm_and_si128(u, _mm_set1_epi32(0x7fffffff));
	__m128i nan = _mm_cmpgt_epi32(mag, _mm_set1_epi32(0x7f800000));
	__m128i q = _mm_or_si128(hi, _mm_set1_epi32(0x40));

	return _mm_blendv_epi8(_mm_srli_epi32(r, 16), q, nan);
}

static void f32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i a = bf16_round(_mm_loadu_si128((const __m128i *)(x + i)));
		__m128i b = bf16_round(_mm_loadu_si128((const __m128i *)(x + i + 4)));

		_mm_storeu_si128((__m128i *)(y + i), _mm_packus_epi32(a, b));
	}
	for (; i < n; i++)
		y[i] = pep__f32_to_bf16_scalar(x[i]);
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(x + i));
		__m128i lo = _mm_unpacklo_epi16(_mm_setzero_si128(), h);
		__m128i hi = _mm_unpackhi_epi16(_mm_setzero_si128(), h);

		_mm_storeu_si128((__m128i *)(y + i), lo);
		_mm_storeu_si128((__m128i *)(y + i + 4), hi);
	}
	for (; i < n; i++)
		y[i] = pep__bf16_to_f32_scalar(x[i]);
}

void pep__simd_cvt_sse4(struct pep__simd_table *k)
{
	k->f32_to_bf16 = f32_to_bf16;
	k->bf16_to_f32 = bf16_to_f32;
}
