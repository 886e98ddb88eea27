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

#include "vec_tier.h"

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
 * One element of op (vec_tier.h). relu is max(x, +0) as IEEE maximum has
 * it: relu(-0) is +0, a NaN stays NaN.
 */
static inline __attribute__((always_inline))
float op1(enum op op, const struct src *s, size_t i)
{
	switch (op) {
	case ADD:
		return s->x[i] + s->y[i];
	case SUB:
		return s->x[i] - s->y[i];
	case MUL:
		return s->x[i] * s->y[i];
	case SCALE:
		return s->a * s->x[i];
	case AXPY:
		return s->y[i] + s->a * s->x[i];
	case FMA:
		return s->x[i] * s->y[i] + s->z[i];
	case RELU:
		return s->x[i] > 0.0f || isnan(s->x[i]) ? s->x[i] : 0.0f;
	case EXP:
		return exp1(s->x[i]);
	case SOFTEXP:
		return exp_diff(s->x[i], s->a);
	case SOFTOUT:
		return exp_diff(s->x[i], s->a) * s->b;
	case SCALEW:
		return s->x[i] * s->a * s->y[i];
	}
	return 0.0f;
}

/* The sum of the outputs, for SOFTEXP, in order. */
static inline __attribute__((always_inline))
float map(enum op op, float *out, const struct src *s, size_t n)
{
	float total = 0.0f;

	for (size_t i = 0; i < n; i++) {
		out[i] = op1(op, s, i);
		if (op == SOFTEXP)
			total += out[i];
	}
	return total;
}

static size_t find_first(const float *x, size_t n, float m)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(m) ? isnan(x[i]) : x[i] == m)
			return i;
	return 0;
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
	softmax_two_pass(y, x, n, max_sum_exp);
}

static double sumsq(const float *x, size_t n)
{
	double ss = 0.0;

	for (size_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	return ss;
}
