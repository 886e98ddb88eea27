/*
 * vec_avx2.c - the f32 vector kernels on 8-float AVX2 vectors with FMA.
 *
 * Tails are VMASKMOVPS loads and stores: lanes outside the mask are
 * neither read nor written and cannot fault, so every element goes
 * through the same vector code. axpy, fma, dot and exp use fused
 * multiply-adds, one rounding fewer than vec_scalar.c and within the same
 * bounds; exp otherwise mirrors pep__expf_scalar()'s steps and constants.
 *
 * Element-wise kernels share one loop (map()) that writes outputs of at
 * least pep__simd_stream_bytes() with streaming stores, as vec_avx512.c
 * explains. NaN: MAXPS returns its second operand when either is NaN, so
 * max keeps an unordered mask beside the running maximum, and clamps and
 * relu put x second.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "vec_tier.h"

#define W 8

/* mask(k): the first k lanes (0 <= k <= 8) set, from a sliding window. */
static const int32_t mask_bits[2 * W] = {
	-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline __m256i mask(size_t k)
{
	return _mm256_loadu_si256((const __m256i *)(mask_bits + W - k));
}

/* The first k floats at p, the rest of the vector fill. */
static inline __m256 ld(const float *p, size_t k, float fill)
{
	__m256i m;

	if (k == W)
		return _mm256_loadu_ps(p);
	m = mask(k);
	return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m),
				_mm256_castsi256_ps(m));
}

static inline void st(float *p, __m256 v, size_t k)
{
	if (k == W)
		_mm256_storeu_ps(p, v);
	else
		_mm256_maskstore_ps(p, mask(k), v);
}

static inline __m256 set1(float f)
{
	return _mm256_set1_ps(f);
}

/* 2^n for -126 <= n <= 127, from the integer lanes n. */
static inline __m256 pow2i(__m256i n)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(
			_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

static inline __m256 exp8(__m256 x)
{
	__m256 t, n, r, q;
	__m256i ni, h;

	/* The constant first: a NaN x is the second operand and survives. */
	x = _mm256_max_ps(set1(-104.0f), x);
	x = _mm256_min_ps(set1(89.0f), x);
	t = _mm256_fmadd_ps(x, set1(0x1.715476p+0f), set1(0x1.8p23f));
	n = _mm256_sub_ps(t, set1(0x1.8p23f));
	ni = _mm256_sub_epi32(_mm256_castps_si256(t),
			      _mm256_castps_si256(set1(0x1.8p23f)));
	r = _mm256_fnmadd_ps(n, set1(0x1.62e4p-1f), x);
	r = _mm256_fnmadd_ps(n, set1(0x1.7f7d1cp-20f), r);
	q = _mm256_fmadd_ps(set1(0x1.6d1106p-10f), r, set1(0x1.120b6cp-7f));
	q = _mm256_fmadd_ps(q, r, set1(0x1.55551ap-5f));
	q = _mm256_fmadd_ps(q, r, set1(0x1.5554dcp-3f));
	q = _mm256_fmadd_ps(q, r, set1(0.5f));
	q = _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r);
	q = _mm256_add_ps(q, set1(1.0f));
	/* Two normal factors, so the result rounds once into the subnormals. */
	h = _mm256_srai_epi32(ni, 1);
	q = _mm256_mul_ps(q, pow2i(h));
	return _mm256_mul_ps(q, pow2i(_mm256_sub_epi32(ni, h)));
}

/* exp(x - m), the rounding of x - m put back (see vec_scalar.c). */
static inline __m256 exp_diff8(__m256 x, __m256 m)
{
	__m256 d = _mm256_sub_ps(x, m);
	__m256 bx = _mm256_sub_ps(d, x);
	__m256 e = _mm256_add_ps(_mm256_sub_ps(x, _mm256_sub_ps(d, bx)),
				 _mm256_sub_ps(_mm256_setzero_ps(),
					       _mm256_add_ps(m, bx)));

	e = _mm256_and_ps(e, _mm256_cmp_ps(d, set1(-128.0f), _CMP_GE_OQ));
	d = exp8(d);
	return _mm256_fmadd_ps(d, e, d);
}

static inline __m256 relu8(__m256 x)
{
	__m256 v = _mm256_max_ps(_mm256_setzero_ps(), x);

	/* max(0, -0) is -0 on x86; relu(-0) is +0 as on every tier. */
	return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

static inline __attribute__((always_inline))
__m256 op8(enum op op, const struct src *s, size_t i, size_t k)
{
	__m256 a = set1(s->a);

	switch (op) {
	case ADD:
		return _mm256_add_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SUB:
		return _mm256_sub_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case MUL:
		return _mm256_mul_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SCALE:
		return _mm256_mul_ps(a, ld(s->x + i, k, 0));
	case AXPY:
		return _mm256_fmadd_ps(a, ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case FMA:
		return _mm256_fmadd_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0),
				       ld(s->z + i, k, 0));
	case RELU:
		return relu8(ld(s->x + i, k, 0));
	case EXP:
		return exp8(ld(s->x + i, k, 0));
	case SOFTEXP:	/* -inf in the tail: it adds 0 to the sum */
		return exp_diff8(ld(s->x + i, k, -INFINITY), a);
	case SOFTOUT:	/* SOFTEXP then SCALE by b (softmax here is three
			   passes: vec_tier.h's op, unused) */
		return _mm256_mul_ps(set1(s->b), exp_diff8(ld(s->x + i, k, 0), a));
	case SCALEW:
		return _mm256_mul_ps(_mm256_mul_ps(ld(s->x + i, k, 0), a),
				     ld(s->y + i, k, 0));
	}
	return a;
}

static inline float hmax256(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

/* map(), dot, sum, vmax and find_first: vec_map.h, on these vectors. */
#define VF		__m256
#define VF_OP		op8
#define VF_ZERO		_mm256_setzero_ps()
#define VF_ADD		_mm256_add_ps
#define VF_STOREU	_mm256_storeu_ps
#define VF_STREAM	_mm256_stream_ps
#define VF_HSUM		pep__hsum256
#define VF_MULADD	_mm256_fmadd_ps
#define VF_MAX		_mm256_max_ps
#define VF_OR		_mm256_or_ps
#define VF_UNORD(v)	_mm256_cmp_ps(v, v, _CMP_UNORD_Q)
#define VF_EQ(a, b)	_mm256_cmp_ps(a, b, _CMP_EQ_OQ)
#define VF_MASK		_mm256_movemask_ps
#define VF_HMAX		hmax256
#include "vec_map.h"

/*
 * Three passes at every size: the maximum, exp(x - m) and its sum, the
 * scaling. The two passes vec_avx512.c makes past the caches (12 bytes of
 * memory traffic a float instead of 20) compute exp twice, and on this
 * tier exp, not memory, is the bottleneck: on 64M floats they measured
 * 13% slower than these three (1.04 ns a float against 0.92, one
 * thread of a Zen 4).
 */
static void softmax(float *y, const float *x, size_t n)
{
	softmax_three_pass(y, x, n);
}

/* The squares of v added in double to *lo and *hi. */
static inline void sq_step(__m256d *lo, __m256d *hi, __m256 v)
{
	__m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
	__m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));

	*lo = _mm256_fmadd_pd(a, a, *lo);
	*hi = _mm256_fmadd_pd(b, b, *hi);
}

static double sumsq(const float *x, size_t n)
{
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
	__m128d s;
	size_t i = 0;

	for (; i + 2 * W <= n; i += 2 * W) {
		sq_step(&a0, &a1, ld(x + i, W, 0));
		sq_step(&a2, &a3, ld(x + i + W, W, 0));
	}
	for (; i < n; i += W)
		sq_step(&a0, &a1, ld(x + i, n - i >= W ? W : n - i, 0));
	a0 = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
	s = _mm_add_pd(_mm256_castpd256_pd128(a0), _mm256_extractf128_pd(a0, 1));
	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
