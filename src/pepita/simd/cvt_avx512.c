/*
 * cvt_avx512.c - fp16 and bf16 conversion on 512-bit vectors, tails done
 * with the same instructions under a mask (AVX-512BW masked 16-bit loads
 * and stores), so no element takes a different path.
 *
 * vcvtneps2bf16 (AVX512_BF16) is not used: it treats subnormal inputs as
 * zero, so it needs a test-and-blend fix-up to match the reference, and
 * with it it was slower than the integer rounding below on data in cache
 * (20 against 22 Gelem/s on an AMD EPYC with AVX512_BF16; 4096 and 65536
 * elements), and only within a few percent of it on arrays far larger
 * than the caches, where both wait on memory.
 */
#include <immintrin.h>

#include "simd_priv.h"

/* The first n (< 16) lanes. */
static inline __mmask16 head_mask(size_t n)
{
	return (__mmask16)((1u << n) - 1);
}

static inline void f16_store(uint16_t *y, const float *x, __mmask16 m)
{
	__m512 v = _mm512_maskz_loadu_ps(m, x);
	__m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT |
				    _MM_FROUND_NO_EXC);

	_mm256_mask_storeu_epi16(y, m, h);
}

static void f32_to_f16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		f16_store(y + i, x + i, 0xffff);
	if (i < n)
		f16_store(y + i, x + i, head_mask(n - i));
}

static void f16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m256i h = _mm256_loadu_si256((const __m256i *)(x + i));

		_mm512_storeu_ps(y + i, _mm512_cvtph_ps(h));
	}
	if (i < n) {
		__mmask16 m = head_mask(n - i);
		__m256i h = _mm256_maskz_loadu_epi16(m, x + i);

		_mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(h));
	}
}

/* Round to nearest even on the bits; NaNs keep their quieted top half. */
static inline __m512i bf16_round(__m512i u)
{
	__m512i hi = _mm512_srli_epi32(u, 16);
	__m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
	__m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb,
					_mm512_set1_epi32(0x7fff)));
	__m512i mag = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
	__mmask16 nan = _mm512_cmpgt_epu32_mask(mag,
						_mm512_set1_epi32(0x7f800000));

	r = _mm512_srli_epi32(r, 16);
	return _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x40));
}

static inline void bf16_store(uint16_t *y, const float *x, __mmask16 m)
{
	__m512i u = _mm512_maskz_loadu_epi32(m, x);

	_mm512_mask_cvtepi32_storeu_epi16(y, m, bf16_round(u));
}

static void f32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512i u = _mm512_loadu_si512(x + i);

		_mm256_storeu_si256((__m256i *)(y + i),
				    _mm512_cvtepi32_epi16(bf16_round(u)));
	}
	if (i < n)
		bf16_store(y + i, x + i, head_mask(n - i));
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m256i h = _mm256_loadu_si256((const __m256i *)(x + i));

		_mm512_storeu_si512(y + i,
			_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	}
	if (i < n) {
		__mmask16 m = head_mask(n - i);
		__m256i h = _mm256_maskz_loadu_epi16(m, x + i);

		_mm512_mask_storeu_epi32(y + i, m,
			_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	}
}

void pep__simd_cvt_avx512(struct pep__simd_table *k)
{
	k->f32_to_f16 = f32_to_f16;
	k->f16_to_f32 = f16_to_f32;
	k->f32_to_bf16 = f32_to_bf16;
	k->bf16_to_f32 = bf16_to_f32;
}
