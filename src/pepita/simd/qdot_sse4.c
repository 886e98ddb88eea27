/*
 * qdot_sse4.c - quantized block dots on SSE4.1 (with its SSSE3 maddubs).
 *
 * Integer parts are exact as on AVX2 (qdot_avx2.c): maddubs only sees
 * 4-bit unsigned values, Q8_0 x Q8_0 widens to 16 bits. Each block's four
 * partial sums are folded to one exact integer before its scale product;
 * four blocks at a time so the fold and the multiply are one vector op.
 */
#include <smmintrin.h>

#include "simd_priv.h"

static inline float fp16(uint16_t h)
{
	return pep__f16_to_f32_scalar(h);
}

/* Lane b of the result: the sum of the lanes of v[b]. */
static inline __m128i reduce4(const __m128i v[4])
{
	return _mm_hadd_epi32(_mm_hadd_epi32(v[0], v[1]),
			      _mm_hadd_epi32(v[2], v[3]));
}

static inline float hsum_ps(__m128 s)
{
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline __m128i q4_0_q8_0(const void *bx, const void *by)
{
	const struct pep_block_q4_0 *x = bx;
	const struct pep_block_q8_0 *y = by;
	__m128i b = _mm_loadu_si128((const __m128i *)x->qs);
	__m128i m = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
	__m128i lo = _mm_and_si128(b, m);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
	__m128i v0 = _mm_loadu_si128((const __m128i *)y->qs);
	__m128i v1 = _mm_loadu_si128((const __m128i *)y->qs + 1);
	/* sum (q - 8) y = sum q y - sum 8 y, both exact in 16-bit pairs */
	__m128i p0 = _mm_sub_epi16(_mm_maddubs_epi16(lo, v0),
				   _mm_maddubs_epi16(eight, v0));
	__m128i p1 = _mm_sub_epi16(_mm_maddubs_epi16(hi, v1),
				   _mm_maddubs_epi16(eight, v1));

	return _mm_madd_epi16(_mm_add_epi16(p0, p1), _mm_set1_epi16(1));
}

static inline __m128i q8_0_q8_0(const void *bx, const void *by)
{
	const struct pep_block_q8_0 *x = bx, *y = by;
	__m128i s = _mm_setzero_si128();

	for (int h = 0; h < 4; h++) {
		__m128i a = _mm_loadl_epi64((const __m128i *)(x->qs + 8 * h));
		__m128i b = _mm_loadl_epi64((const __m128i *)(y->qs + 8 * h));

		s = _mm_add_epi32(s, _mm_madd_epi16(_mm_cvtepi8_epi16(a),
						    _mm_cvtepi8_epi16(b)));
	}
	return s;
}

/* A block's fp16 scale d, its first field. */
static inline uint16_t scale_of(const unsigned char *block)
{
	uint16_t d;

	__builtin_memcpy(&d, block, sizeof(d));
	return d;
}

/* One block's integer dot, in the lanes of a vector. */
typedef __m128i (*block_dot_fn)(const void *x, const void *y);

/*
 * d_x d_y (block dot) over nb blocks of xs and ys bytes (each starting
 * with its fp16 d), four blocks a step.
 */
static inline __attribute__((always_inline))
float dot_blocks(const void *x, size_t xs, const void *y, size_t ys,
		 size_t nb, block_dot_fn dot)
{
	const unsigned char *bx = x, *by = y;
	__m128 acc = _mm_setzero_ps();

	for (size_t i = 0; i < nb; i += 4) {
		__m128i v[4];
		float d[4];

		for (size_t b = 0; b < 4; b++) {
			const unsigned char *xb = bx + (i + b) * xs;
			const unsigned char *yb = by + (i + b) * ys;
			int ok = i + b < nb;

			v[b] = ok ? dot(xb, yb) : _mm_setzero_si128();
			d[b] = ok ? fp16(scale_of(xb)) * fp16(scale_of(yb)) : 0.0f;
		}
		acc = _mm_add_ps(acc, _mm_mul_ps(_mm_loadu_ps(d),
				 _mm_cvtepi32_ps(reduce4(v))));
	}
	return hsum_ps(acc);
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q4_0_q8_0);
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	return dot_blocks(x, sizeof(*x), y, sizeof(*y), nb, q8_0_q8_0);
}

void pep__simd_qdot_sse4(struct pep__simd_table *k)
{
	k->dot_q4_0_q8_0 = dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot_q8_0_q8_0;
}
