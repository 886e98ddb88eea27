/*
 * vec_neon.c - the f32 vector kernels on 4-float AArch64 NEON vectors.
 *
 * A tail of 1..3 floats goes through a small stack buffer, so every
 * element takes the same vector code and nothing outside the arrays is
 * touched. axpy, fma, dot and exp use fused multiply-adds (FMLA), one
 * rounding fewer than a plain multiply and add, within the same bounds;
 * exp otherwise mirrors pep__expf_scalar()'s steps and constants.
 *
 * NaN: AArch64 FMAX and FMAXV return NaN when either operand is NaN, and
 * FMAX(-0, +0) is +0, so max, relu and the clamps in exp need no extra
 * care, unlike x86. There are no streaming stores: AArch64's STNP is only
 * a hint, and the cores we target do not bypass the cache with it.
 */
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vec_tier.h"

#define W 4
#define SOFTMAX_BLOCK 512	/* floats: softmax's online blocks, in L1 */

/* The first k floats at p, the rest of the vector fill. */
static inline float32x4_t ld(const float *p, size_t k, float fill)
{
	float b[W] = { fill, fill, fill, fill };

	if (k == W)
		return vld1q_f32(p);
	memcpy(b, p, k * sizeof(float));
	return vld1q_f32(b);
}

static inline void st(float *p, float32x4_t v, size_t k)
{
	float b[W];

	if (k == W) {
		vst1q_f32(p, v);
		return;
	}
	vst1q_f32(b, v);
	memcpy(p, b, k * sizeof(float));
}

static inline float32x4_t set1(float f)
{
	return vdupq_n_f32(f);
}

/* 2^n for -126 <= n <= 127, from the integer lanes n. */
static inline float32x4_t pow2i(int32x4_t n)
{
	return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)),
						 23));
}

static inline float32x4_t exp4(float32x4_t x)
{
	float32x4_t t, n, r, q;
	int32x4_t ni, h;

	/* FMAX/FMIN return a NaN x as NaN. */
	x = vminq_f32(vmaxq_f32(x, set1(-104.0f)), set1(89.0f));
	t = vfmaq_f32(set1(0x1.8p23f), x, set1(0x1.715476p+0f));
	n = vsubq_f32(t, set1(0x1.8p23f));
	ni = vsubq_s32(vreinterpretq_s32_f32(t),
		       vreinterpretq_s32_f32(set1(0x1.8p23f)));
	r = vfmsq_f32(x, n, set1(0x1.62e4p-1f));
	r = vfmsq_f32(r, n, set1(0x1.7f7d1cp-20f));
	q = vfmaq_f32(set1(0x1.120b6cp-7f), set1(0x1.6d1106p-10f), r);
	q = vfmaq_f32(set1(0x1.55551ap-5f), q, r);
	q = vfmaq_f32(set1(0x1.5554dcp-3f), q, r);
	q = vfmaq_f32(set1(0.5f), q, r);
	q = vfmaq_f32(r, q, vmulq_f32(r, r));
	q = vaddq_f32(q, set1(1.0f));
	/* Two normal factors, so the result rounds once into the subnormals. */
	h = vshrq_n_s32(ni, 1);
	q = vmulq_f32(q, pow2i(h));
	return vmulq_f32(q, pow2i(vsubq_s32(ni, h)));
}

/* exp(x - m), the rounding of x - m put back (see vec_scalar.c). */
static inline float32x4_t exp_diff4(float32x4_t x, float32x4_t m)
{
	float32x4_t d = vsubq_f32(x, m);
	float32x4_t bx = vsubq_f32(d, x);
	float32x4_t e = vaddq_f32(vsubq_f32(x, vsubq_f32(d, bx)),
				  vnegq_f32(vaddq_f32(m, bx)));
	uint32x4_t ok = vcgeq_f32(d, set1(-128.0f));

	e = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(e), ok));
	d = exp4(d);
	return vfmaq_f32(d, d, e);
}

/* A term of softmax's online sum: exp(x - m) uncorrected (vec_scalar.c). */
static inline float32x4_t term4(float32x4_t x, float32x4_t m)
{
	return exp4(vsubq_f32(x, m));
}

static inline __attribute__((always_inline))
float32x4_t op4(enum op op, const struct src *s, size_t i, size_t k)
{
	float32x4_t a = set1(s->a);

	switch (op) {
	case ADD:
		return vaddq_f32(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SUB:
		return vsubq_f32(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case MUL:
		return vmulq_f32(ld(s->x + i, k, 0), ld(s->y + i, k, 0));
	case SCALE:
		return vmulq_f32(a, ld(s->x + i, k, 0));
	case AXPY:
		return vfmaq_f32(ld(s->y + i, k, 0), a, ld(s->x + i, k, 0));
	case FMA:
		return vfmaq_f32(ld(s->z + i, k, 0), ld(s->x + i, k, 0),
				 ld(s->y + i, k, 0));
	case RELU:
		return vmaxq_f32(ld(s->x + i, k, 0), vdupq_n_f32(0.0f));
	case EXP:
		return exp4(ld(s->x + i, k, 0));
	case SOFTEXP:	/* -inf in the tail: it adds 0 to the sum */
		return exp_diff4(ld(s->x + i, k, -INFINITY), a);
	case SOFTOUT:	/* SOFTEXP then SCALE by b, the same roundings */
		return vmulq_f32(set1(s->b), exp_diff4(ld(s->x + i, k, 0), a));
	case SCALEW:
		return vmulq_f32(vmulq_f32(ld(s->x + i, k, 0), a),
				 ld(s->y + i, k, 0));
	}
	return a;
}

/*
 * out[i] = op(inputs at i) for i < n. Returns the sum of the outputs for
 * SOFTEXP (0 otherwise).
 */
static inline __attribute__((always_inline))
float map(enum op op, float *out, const struct src *s, size_t n)
{
	float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, v;
	size_t i = 0;

	/* Two vectors a step: the loads of one hide the other's latency. */
	for (; i + 2 * W <= n; i += 2 * W) {
		v = op4(op, s, i, W);
		vst1q_f32(out + i, v);
		a0 = op == SOFTEXP ? vaddq_f32(a0, v) : a0;
		v = op4(op, s, i + W, W);
		vst1q_f32(out + i + W, v);
		a1 = op == SOFTEXP ? vaddq_f32(a1, v) : a1;
	}
	for (; i < n; i += W) {
		size_t k = n - i >= W ? W : n - i;

		v = op4(op, s, i, k);
		st(out + i, v, k);
		a0 = op == SOFTEXP ? vaddq_f32(a0, v) : a0;
	}
	return op == SOFTEXP ? vaddvq_f32(vaddq_f32(a0, a1)) : 0.0f;
}

static inline float hsum4(float32x4_t a0, float32x4_t a1, float32x4_t a2,
			  float32x4_t a3)
{
	return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

static float dot(const float *x, const float *y, size_t n)
{
	float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
		a1 = vfmaq_f32(a1, vld1q_f32(x + i + W), vld1q_f32(y + i + W));
		a2 = vfmaq_f32(a2, vld1q_f32(x + i + 2 * W),
			       vld1q_f32(y + i + 2 * W));
		a3 = vfmaq_f32(a3, vld1q_f32(x + i + 3 * W),
			       vld1q_f32(y + i + 3 * W));
	}
	for (; i < n; i += W) {
		size_t k = n - i >= W ? W : n - i;

		a0 = vfmaq_f32(a0, ld(x + i, k, 0), ld(y + i, k, 0));
	}
	return hsum4(a0, a1, a2, a3);
}

static float sum(const float *x, size_t n)
{
	float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = vaddq_f32(a0, vld1q_f32(x + i));
		a1 = vaddq_f32(a1, vld1q_f32(x + i + W));
		a2 = vaddq_f32(a2, vld1q_f32(x + i + 2 * W));
		a3 = vaddq_f32(a3, vld1q_f32(x + i + 3 * W));
	}
	for (; i < n; i += W)
		a0 = vaddq_f32(a0, ld(x + i, n - i >= W ? W : n - i, 0));
	return hsum4(a0, a1, a2, a3);
}

/* FMAX propagates NaN, so the running maxima carry any NaN to the end. */
static float vmax(const float *x, size_t n)
{
	float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		m0 = vmaxq_f32(m0, vld1q_f32(x + i));
		m1 = vmaxq_f32(m1, vld1q_f32(x + i + W));
		m2 = vmaxq_f32(m2, vld1q_f32(x + i + 2 * W));
		m3 = vmaxq_f32(m3, vld1q_f32(x + i + 3 * W));
	}
	for (; i < n; i += W)
		m0 = vmaxq_f32(m0, ld(x + i, n - i >= W ? W : n - i, -INFINITY));
	return vmaxvq_f32(vmaxq_f32(vmaxq_f32(m0, m1), vmaxq_f32(m2, m3)));
}

/* The first i with x[i] == m, or with x[i] NaN when m is NaN. */
static size_t find_first(const float *x, size_t n, float m)
{
	float32x4_t vm = vdupq_n_f32(m);
	int nan = isnan(m);

	for (size_t i = 0; i < n; i += W) {
		size_t k = n - i >= W ? W : n - i;
		float32x4_t v = ld(x + i, k, 0);
		uint32x4_t c = nan ? vmvnq_u32(vceqq_f32(v, v)) : vceqq_f32(v, vm);
		uint32_t hit[W];

		if (vmaxvq_u32(c) == 0)
			continue;
		vst1q_u32(hit, c);
		for (size_t j = 0; j < k; j++)
			if (hit[j])
				return i + j;
	}
	return 0;
}

/*
 * The maximum of x and the sum of exp(x - max) in one read, for softmax
 * over arrays too large for the caches, as vec_scalar.c explains: each
 * block's maximum first, then its terms from L1, the running sums
 * rescaled when the maximum grows. One maximum serves every lane, so no
 * lane waits on -inf. Returns the sum and the maximum in *mp; when a NaN
 * or +inf turns up, *mp is vmax(x, n) and the sum means nothing.
 */
static float max_sum_exp(const float *x, size_t n, float *mp)
{
	float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, vm = set1(-INFINITY);
	float m = -INFINITY;

	for (size_t i = 0; i < n; i += SOFTMAX_BLOCK) {
		size_t nb = n - i < SOFTMAX_BLOCK ? n - i : SOFTMAX_BLOCK;
		const float *b = x + i;
		float bm = vmax(b, nb);
		size_t j = 0;

		if (!(bm <= m)) {
			float32x4_t f;

			if (isnan(bm) || bm == INFINITY) {
				*mp = vmax(x, n);
				return 0.0f;
			}
			f = exp_diff4(vm, set1(bm));
			s0 = vmulq_f32(s0, f);
			s1 = vmulq_f32(s1, f);
			m = bm;
			vm = set1(m);
		}
		if (m == -INFINITY)
			continue;
		for (; j + 2 * W <= nb; j += 2 * W) {
			s0 = vaddq_f32(s0, term4(ld(b + j, W, 0), vm));
			s1 = vaddq_f32(s1, term4(ld(b + j + W, W, 0), vm));
		}
		for (; j < nb; j += W) {	/* -inf past the end adds 0 */
			float32x4_t v = ld(b + j, nb - j >= W ? W : nb - j,
					   -INFINITY);

			s0 = vaddq_f32(s0, term4(v, vm));
		}
	}
	*mp = m;
	return vaddvq_f32(vaddq_f32(s0, s1));
}

/*
 * Three passes while x fits in the caches (the maximum, exp(x - m) and its
 * sum, the scaling), where exp is the cost; past pep__simd_stream_bytes()
 * two: max_sum_exp(), then y = exp(x - m) / sum, rounded as the three
 * passes round it. Without streaming stores each store reads its line
 * first, so that is 16 bytes of memory traffic a float instead of 28, for
 * a second exp; vec_avx2.c and vec_sse4.c, where exp is the bottleneck,
 * found that trade a loss on x86. Not yet measured on NEON hardware.
 */
static void softmax(float *y, const float *x, size_t n)
{
	softmax_two_pass(y, x, n, max_sum_exp);
}

/* The squares of v added in double to *lo and *hi. */
static inline void sq_step(float64x2_t *lo, float64x2_t *hi, float32x4_t v)
{
	float64x2_t a = vcvt_f64_f32(vget_low_f32(v));
	float64x2_t b = vcvt_high_f64_f32(v);

	*lo = vfmaq_f64(*lo, a, a);
	*hi = vfmaq_f64(*hi, b, b);
}

static double sumsq(const float *x, size_t n)
{
	float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 2 * W <= n; i += 2 * W) {
		sq_step(&a0, &a1, vld1q_f32(x + i));
		sq_step(&a2, &a3, vld1q_f32(x + i + W));
	}
	for (; i < n; i += W)
		sq_step(&a0, &a1, ld(x + i, n - i >= W ? W : n - i, 0));
	return vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
}
