/*
 * vec_sse4.c - the f32 vector kernels on 4-float SSE4.1 vectors.
 *
 * SSE has no masked loads, so a tail of 1..3 floats goes through a small
 * stack buffer: every element takes the same vector code and nothing
 * outside the arrays is touched. There is no FMA here either: axpy, fma,
 * dot and exp multiply and add separately, exactly as vec_scalar.c does
 * on this ISA, so exp gives the scalar results bit for bit.
 *
 * Element-wise kernels share one loop (map()) that writes outputs of at
 * least pep__simd_stream_bytes() with streaming stores, as vec_avx512.c
 * explains. NaN: MAXPS returns its second operand when either is NaN, so
 * max keeps an unordered mask beside the running maximum, and clamps and
 * relu put x second.
 */
#include <smmintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vec_tier.h"

#define W 4

/* The first k floats at p, the rest of the vector fill. */
static inline __m128 ld(const float *p, size_t k, float fill)
{
	float b[W] = { fill, fill, fill, fill };

	if (k == W)
		return _mm_loadu_ps(p);
	memcpy(b, p, k * sizeof(float));
	return _mm_loadu_ps(b);
}

static inline void st(float *p, __m128 v, size_t k)
{
	float b[W];

	if (k == W) {
		_mm_storeu_ps(p, v);
		return;
	}
	_mm_storeu_ps(b, v);
	memcpy(p, b, k * sizeof(float));
}

static inline __m128 set1(float f)
{
	return _mm_set1_ps(f);
}

/* 2^n for -126 <= n <= 127, from the integer lanes n. */
static inline __m128 pow2i(__m128i n)
{
	return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n, _mm_set1_epi32(127)),
					       23));
}

/* pep__expf_scalar() (vec_scalar.c) four at a time: same steps, constants. */
static inline __m128 exp4(__m128 x)
{
	__m128 t, n, r, q;
	__m128i ni, h;

	/* The constant first: a NaN x is the second operand and survives. */
	x = _mm_max_ps(set1(-104.0f), x);
	x = _mm_min_ps(set1(89.0f), x);
	t = _mm_add_ps(_mm_mul_ps(x, set1(0x1.715476p+0f)), set1(0x1.8p23f));
	n = _mm_sub_ps(t, set1(0x1.8p23f));
	ni = _mm_sub_epi32(_mm_castps_si128(t), _mm_castps_si128(set1(0x1.8p23f)));
	r = _mm_sub_ps(x, _mm_mul_ps(n, set1(0x1.62e4p-1f)));
	r = _mm_sub_ps(r, _mm_mul_ps(n, set1(0x1.7f7d1cp-20f)));
	q = set1(0x1.6d1106p-10f);
	q = _mm_add_ps(_mm_mul_ps(q, r), set1(0x1.120b6cp-7f));
	q = _mm_add_ps(_mm_mul_ps(q, r), set1(0x1.55551ap-5f));
	q = _mm_add_ps(_mm_mul_ps(q, r), set1(0x1.5554dcp-3f));
	q = _mm_add_ps(_mm_mul_ps(q, r), set1(0.5f));
	q = _mm_add_ps(_mm_add_ps(_mm_mul_ps(q, _mm_mul_ps(r, r)), r), set1(1.0f));
	/* Two normal factors, so the result rounds once into the subnormals. */
	h = _mm_srai_epi32(ni, 1);
	q = _mm_mul_ps(q, pow2i(h));
	return _mm_mul_ps(q, pow2i(_mm_sub_epi32(ni, h)));
}

/* exp(x - m), the rounding of x - m put back (see vec_scalar.c). */
static inline __m128 exp_diff4(__m128 x, __m128 m)
{
	__m128 d = _mm_sub_ps(x, m);
	__m128 bx = _mm_sub_ps(d, x);
	__m128 e = _mm_add_ps(_mm_sub_ps(x, _mm_sub_ps(d, bx)),
			      _mm_sub_ps(_mm_setzero_ps(), _mm_add_ps(m, bx)));

	e = _mm_and_ps(e, _mm_cmpge_ps(d, set1(-128.0f)));
	d = exp4(d);
	return _mm_add_ps(_mm_mul_ps(d, e), d);
}

static inline __m128 relu4(__m128 x)
{
	__m128 v = _mm_max_ps(_mm_setzero_ps(), x);

	/* max(0, -0) is -0 on x86; relu(-0) is +0 as on every tier. */
	return _mm_and_ps(v, _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)));
}

static inline __attribute__((always_inline))
__m128 op4(enum op op, const struct src *s, size_t i, size_t k)
{
	__m128 a = set1(s->a);

	switch (op) {
	case ADD:
		return _mm_add_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SUB:
		return _mm_sub_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case MUL:
		return _mm_mul_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SCALE:
		return _mm_mul_ps(a, ld(s->x + i, k, 0));
	case AXPY:
		return _mm_add_ps(_mm_mul_ps(a, ld(s->x + i, k, 0)),
				  ld(s->y + i, k, 0));
	case FMA:
		return _mm_add_ps(_mm_mul_ps(ld(s->x + i, k, 0), ld(s->y + i, k, 0)),
				  ld(s->z + i, k, 0));
	case RELU:
		return relu4(ld(s->x + i, k, 0));
	case EXP:
		return exp4(ld(s->x + i, k, 0));
	case SOFTEXP:	/* -inf in the tail: it adds 0 to the sum */
		return exp_diff4(ld(s->x + i, k, -INFINITY), a);
	case SOFTOUT:	/* SOFTEXP then SCALE by b (softmax here is three
			   passes: vec_tier.h's op, unused) */
		return _mm_mul_ps(set1(s->b), exp_diff4(ld(s->x + i, k, 0), a));
	case SCALEW:
		return _mm_mul_ps(_mm_mul_ps(ld(s->x + i, k, 0), a),
				  ld(s->y + i, k, 0));
	}
	return a;
}

static inline float hsum128(__m128 acc)
{
	acc = _mm_add_ps(acc, _mm_movehl_ps(acc, acc));
	acc = _mm_add_ss(acc, _mm_movehdup_ps(acc));
	return _mm_cvtss_f32(acc);
}

static inline float hmax128(__m128 m)
{
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

/* map(), dot, sum, vmax and find_first: vec_map.h, on these vectors. */
#define VF		__m128
#define VF_OP		op4
#define VF_ZERO		_mm_setzero_ps()
#define VF_ADD		_mm_add_ps
#define VF_STOREU	_mm_storeu_ps
#define VF_STREAM	_mm_stream_ps
#define VF_HSUM		hsum128
#define VF_MULADD(a, b, c)	_mm_add_ps(c, _mm_mul_ps(a, b))
#define VF_MAX		_mm_max_ps
#define VF_OR		_mm_or_ps
#define VF_UNORD(v)	_mm_cmpunord_ps(v, v)
#define VF_EQ		_mm_cmpeq_ps
#define VF_MASK		_mm_movemask_ps
#define VF_HMAX		hmax128
#include "vec_map.h"

/*
 * Three passes at every size: the maximum, exp(x - m) and its sum, the
 * scaling. The two passes vec_avx512.c makes past the caches (12 bytes of
 * memory traffic a float instead of 20) compute exp twice, and on this
 * tier exp, not memory, is the bottleneck: on 64M floats they measured
 * about 45% slower than these three (2.9 ns a float against 2.0, one
 * thread of a Zen 4).
 */
static void softmax(float *y, const float *x, size_t n)
{
	softmax_three_pass(y, x, n);
}

/* The squares of v added in double to *lo and *hi. */
static inline void sq_step(__m128d *lo, __m128d *hi, __m128 v)
{
	__m128d a = _mm_cvtps_pd(v), b = _mm_cvtps_pd(_mm_movehl_ps(v, v));

	*lo = _mm_add_pd(*lo, _mm_mul_pd(a, a));
	*hi = _mm_add_pd(*hi, _mm_mul_pd(b, b));
}

static double sumsq(const float *x, size_t n)
{
	__m128d a0 = _mm_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 2 * W <= n; i += 2 * W) {
		sq_step(&a0, &a1, ld(x + i, W, 0));
		sq_step(&a2, &a3, ld(x + i + W, W, 0));
	}
	for (; i < n; i += W)
		sq_step(&a0, &a1, ld(x + i, n - i >= W ? W : n - i, 0));
	a0 = _mm_add_pd(_mm_add_pd(a0, a1), _mm_add_pd(a2, a3));
	return _mm_cvtsd_f64(_mm_add_sd(a0, _mm_unpackhi_pd(a0, a0)));
}
