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

#include "simd_priv.h"

/* Sum lanes of v[0..7] into lane b of the result. */
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

static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
			      _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline float fp16(uint16_t h)
{
	return _cvtsh_ss(h);
}

static inline __m256i q4_0_q8_0(const struct pep_block_q4_0 *x,
				const struct pep_block_q8_0 *y)
{
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

static inline __m256i q8_0_q8_0(const struct pep_block_q8_0 *x,
				const struct pep_block_q8_0 *y)
{
	const __m128i *px = (const __m128i *)x->qs;
	const __m128i *py = (const __m128i *)y->qs;
	__m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(px));
	__m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(px + 1));
	__m256i y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(py));
	__m256i y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(py + 1));

	return _mm256_add_epi32(_mm256_madd_epi16(x0, y0),
				_mm256_madd_epi16(x1, y1));
}

/* d_x d_y of eight blocks (exact: 11 x 11 significant bits). */
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

/* acc += d_x d_y (block dot) for count <= 8 blocks. */
static inline __m256 group_q4_0(__m256 acc, const struct pep_block_q4_0 *x,
				const struct pep_block_q8_0 *y, int count)
{
	__m256i v[8];

	for (int b = 0; b < 8; b++)
		v[b] = b < count ? q4_0_q8_0(&x[b], &y[b]) : _mm256_setzero_si256();
	return _mm256_fmadd_ps(scales8(&x->d, sizeof(*x), &y->d, sizeof(*y),
				       count),
			       _mm256_cvtepi32_ps(reduce8(v)), acc);
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	__m256 acc = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= nb; i += 8)
		acc = group_q4_0(acc, x + i, y + i, 8);
	if (i < nb)
		acc = group_q4_0(acc, x + i, y + i, (int)(nb - i));
	return hsum_ps(acc);
}

static inline __m256 group_q8_0(__m256 acc, const struct pep_block_q8_0 *x,
				const struct pep_block_q8_0 *y, int count)
{
	__m256i v[8];

	for (int b = 0; b < 8; b++)
		v[b] = b < count ? q8_0_q8_0(&x[b], &y[b]) : _mm256_setzero_si256();
	return _mm256_fmadd_ps(scales8(&x->d, sizeof(*x), &y->d, sizeof(*y),
				       count),
			       _mm256_cvtepi32_ps(reduce8(v)), acc);
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	__m256 acc = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= nb; i += 8)
		acc = group_q8_0(acc, x + i, y + i, 8);
	if (i < nb)
		acc = group_q8_0(acc, x + i, y + i, (int)(nb - i));
	return hsum_ps(acc);
}

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

void pep__simd_qdot_avx2(struct pep__simd_table *k)
{
	k->dot_q4_0_q8_0 = dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
