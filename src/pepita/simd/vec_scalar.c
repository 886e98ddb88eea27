/*
 * vec_scalar.c - the f32 vector kernels in portable C: every slot of the
 * table, and the reference the vector tiers are tested against.
 *
 * exp is our own (not libm's) so that every tier computes the same thing:
 * x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split so n ln2_hi is
 * exact), exp(r) = 1 + r + r^2 q(r) with q a degree-4 fit at Chebyshev
 * nodes (0.18 ulp from exp on the interval), and 2^n applied as two
 * normal factors so that results overflow to inf and fall into the
 * subnormals with a single rounding. The vector tiers mirror these steps
 * and constants (AVX-512 applies 2^n with one VSCALEFPS instead).
 *
 * Reductions keep several partial sums so that the loop is not one long
 * dependency chain; rmsnorm sums squares in double, because its bound
 * (2^-20 for n up to 2^20) is tighter than a float sum can promise.
 */
#include <math.h>
#include <string.h>

#include "simd_priv.h"

/* The constants every tier's exp uses (see the top of this file). */
#define EXP_HI		89.0f			/* exp overflows well below */
#define EXP_LO		-104.0f			/* exp is 0 below -103.98 */
#define EXP_LOG2E	0x1.715476p+0f
#define EXP_MAGIC	0x1.8p23f		/* t + magic rounds t to an int */
#define EXP_LN2_HI	0x1.62e4p-1f		/* 16 bits: n ln2_hi is exact */
#define EXP_LN2_LO	0x1.7f7d1cp-20f
#define EXP_C2		0.5f
#define EXP_C3		0x1.5554dcp-3f
#define EXP_C4		0x1.55551ap-5f
#define EXP_C5		0x1.120b6cp-7f
#define EXP_C6		0x1.6d1106p-10f

#define SOFTMAX_BLOCK	512	/* floats: softmax's online blocks */

static inline uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* 2^n for -126 <= n <= 127. */
static inline float pow2i(int32_t n)
{
	return u2f((uint32_t)(n + 127) << 23);
}

static inline float exp1(float x)
{
	float t, n, r, q;
	int32_t ni;

	/* Comparisons with NaN are false: a NaN goes through and stays. */
	if (x > EXP_HI)
		x = EXP_HI;
	if (x < EXP_LO)
		x = EXP_LO;
	t = x * EXP_LOG2E + EXP_MAGIC;
	n = t - EXP_MAGIC;
	ni = (int32_t)(f2u(t) - f2u(EXP_MAGIC));
	r = x - n * EXP_LN2_HI;
	r = r - n * EXP_LN2_LO;
	q = EXP_C6;
	q = q * r + EXP_C5;
	q = q * r + EXP_C4;
	q = q * r + EXP_C3;
	q = q * r + EXP_C2;
	q = (q * (r * r) + r) + 1.0f;
	/* -150 <= n <= 129: two factors, each a normal power of two. */
	return q * pow2i(ni >> 1) * pow2i(ni - (ni >> 1));
}

float pep__expf_scalar(float x)
{
	return exp1(x);
}

static void add(float *z, const float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		z[i] = x[i] + y[i];
}

static void sub(float *z, const float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		z[i] = x[i] - y[i];
}

static void mul(float *z, const float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		z[i] = x[i] * y[i];
}

static void scale(float *y, const float *x, float a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = a * x[i];
}

static void axpy(float *y, float a, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

static void vfma(float *w, const float *x, const float *y, const float *z,
		 size_t n)
{
	for (size_t i = 0; i < n; i++)
		w[i] = x[i] * y[i] + z[i];
}

#define LANES 8

static float dot(const float *x, const float *y, size_t n)
{
	float acc[LANES] = { 0 };
	float s = 0.0f;
	size_t i = 0;

	for (; i + LANES <= n; i += LANES)
		for (int j = 0; j < LANES; j++)
			acc[j] += x[i + j] * y[i + j];
	for (; i < n; i++)
		s += x[i] * y[i];
	for (int j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

static float sum(const float *x, size_t n)
{
	float acc[LANES] = { 0 };
	float s = 0.0f;
	size_t i = 0;

	for (; i + LANES <= n; i += LANES)
		for (int j = 0; j < LANES; j++)
			acc[j] += x[i + j];
	for (; i < n; i++)
		s += x[i];
	for (int j = 0; j < LANES; j++)
		s += acc[j];
	return s;
}

static float vmax(const float *x, size_t n)
{
	float m = -INFINITY;

	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i]))
			return x[i];
		if (x[i] > m)
			m = x[i];
	}
	return m;
}

static size_t argmax(const float *x, size_t n)
{
	float m = -INFINITY;
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i]))
			return i;
		if (x[i] > m) {
			m = x[i];
			at = i;
		}
	}
	return at;
}

/* max(x, +0) as IEEE maximum has it: relu(-0) is +0, a NaN stays NaN. */
static void relu(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f || isnan(x[i]) ? x[i] : 0.0f;
}

static void vexp(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = exp1(x[i]);
}

/*
 * exp(x - m) with x - m as if exact: d = x - m rounds (by up to half an ulp
 * of d, which exp turns into a relative error of up to |d| 2^-24), so the
 * rounding error e comes back (TwoSum) as the factor 1 + e. e is NaN only
 * when d is -inf, where exp(d) is 0 anyway.
 */
static inline float exp_diff(float x, float m)
{
	float d = x - m;
	float bx = d - x;
	float e = (x - (d - bx)) + (-m - bx);

	if (!(d >= -128.0f))
		e = 0.0f;
	d = exp1(d);
	return d * e + d;
}

/*
 * The special cases every tier shares. A NaN anywhere makes m NaN, and
 * every output NaN. m = +inf: the limit of softmax as those inputs grow,
 * equal shares 1/k for the k infinite inputs, 0 elsewhere. m = -inf (all
 * inputs -inf): equal inputs, equal shares 1/n. Returns 1 when done.
 */
int pep__softmax_special(float *y, const float *x, float m, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 1;
	if (isnan(m)) {
		for (size_t i = 0; i < n; i++)
			y[i] = m;
		return 1;
	}
	if (m != INFINITY && m != -INFINITY)
		return 0;
	for (size_t i = 0; i < n; i++)
		k += x[i] == m;
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] == m ? 1.0f / (float)k : 0.0f;
	return 1;
}

/*
 * The maximum of x and the sum of exp(x - max) in one read ("online"),
 * for softmax over arrays too large for the caches. Block by block of
 * SOFTMAX_BLOCK floats, read a second time from L1: the block's maximum
 * first; when it raises the running maximum m, the running sum (of
 * exp(x - old m)) is multiplied by exp(old m - new m), which is 0 when old
 * m is -inf or the jump is past 104 (right: those terms were below 2^-150
 * of the new maximum's term); then exp(x - m) for the block. A rescaling
 * adds a rounding or two per block. The terms skip exp_diff()'s
 * correction: a term's error of up to |x - m| 2^-24 of itself comes, as
 * the terms weigh in the sum (the largest is 1), to at most about
 * 2^-24 ln n of the sum. Both far inside the bound's 2^-24 n. Returns the
 * sum and the maximum in *mp; when a NaN or +inf turns up, *mp is
 * vmax(x, n), for pep__softmax_special(), and the sum means nothing.
 * The vector tiers that use it do the same, with per-lane sums and one
 * running maximum for all lanes.
 */
static float max_sum_exp(const float *x, size_t n, float *mp)
{
	float m = -INFINITY, s = 0.0f;

	for (size_t i = 0; i < n; i += SOFTMAX_BLOCK) {
		size_t nb = n - i < SOFTMAX_BLOCK ? n - i : SOFTMAX_BLOCK;
		float bm = vmax(x + i, nb);

		if (!(bm <= m)) {
			if (isnan(bm) || bm == INFINITY) {
				*mp = vmax(x, n);
				return 0.0f;
			}
			s *= exp_diff(m, bm);
			m = bm;
		}
		if (m == -INFINITY)
			continue;
		for (size_t j = i; j < i + nb; j++)
			s += exp1(x[j] - m);
	}
	*mp = m;
	return s;
}

/*
 * Three passes while x fits in the caches: the maximum, exp(x - m) and
 * its sum, the scaling. Past pep__simd_stream_bytes() two, 12 bytes of
 * memory traffic a float instead of 20 (where the output is streamed):
 * max_sum_exp(), then y = exp(x - m) / sum, rounded as the three passes
 * round it. That computes exp twice, which costs more than the pass it
 * saves wherever exp rather than memory is the bottleneck, this loop
 * included; it is here as the reference for vec_avx512.c and vec_neon.c.
 */
static void softmax(float *y, const float *x, size_t n)
{
	float m, s = 0.0f, inv;

	if (n * sizeof(float) >= pep__simd_stream_bytes()) {
		s = max_sum_exp(x, n, &m);
		if (pep__softmax_special(y, x, m, n))
			return;
		inv = 1.0f / s;
		for (size_t i = 0; i < n; i++)
			y[i] = exp_diff(x[i], m) * inv;
		return;
	}
	m = vmax(x, n);
	if (pep__softmax_special(y, x, m, n))
		return;
	for (size_t i = 0; i < n; i++) {
		y[i] = exp_diff(x[i], m);
		s += y[i];
	}
	inv = 1.0f / s;
	for (size_t i = 0; i < n; i++)
		y[i] *= inv;
}

static void rmsnorm(float *y, const float *x, const float *w, float eps,
		    size_t n)
{
	double ss = 0.0;
	float r;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	r = (float)(1.0 / sqrt(ss / (double)n + eps));
	for (size_t i = 0; i < n; i++)
		y[i] = w ? x[i] * r * w[i] : x[i] * r;
}

void pep__simd_vec_scalar(struct pep__simd_table *k)
{
	k->add = add;
	k->sub = sub;
	k->mul = mul;
	k->scale = scale;
	k->axpy = axpy;
	k->fma = vfma;
	k->dot = dot;
	k->sum = sum;
	k->max = vmax;
	k->argmax = argmax;
	k->relu = relu;
	k->exp = vexp;
	k->softmax = softmax;
	k->rmsnorm = rmsnorm;
}
