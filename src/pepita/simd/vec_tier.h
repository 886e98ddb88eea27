/*
 * vec_tier.h - the f32 vector kernels every tier builds the same way,
 * written once: each element-wise kernel as one map() of an op, argmax
 * from vmax() and find_first(), rmsnorm from sumsq() and a scaling map,
 * softmax's three- and two-pass forms, and the tier's table entry.
 *
 * Each vec_<tier>.c includes this first; its build passes
 * -DPEP_SIMD_TIER=<tier> (src/pepita/meson.build), which names the entry
 * pep__simd_vec_<tier>. The tier then defines, under the names declared
 * below, what it does its own way:
 *
 *   map(op, out, src, n)  out[i] = op(inputs at i) for i < n (out may be
 *                         src->x or src->y exactly); returns the sum of
 *                         the outputs for SOFTEXP, anything otherwise
 *   dot, sum, vmax        the table's kernels of those names
 *   find_first(x, n, m)   the first i with x[i] == m (the first NaN when
 *                         m is NaN), 0 when there is none
 *   sumsq(x, n)           the sum of the squares, in double
 *   softmax               softmax_three_pass() or softmax_two_pass()
 */
#ifndef PEPITA_SIMD_VEC_TIER_H
#define PEPITA_SIMD_VEC_TIER_H

#ifndef PEP_SIMD_TIER
#error "build vec_<tier>.c with -DPEP_SIMD_TIER=<tier>"
#endif

#include <math.h>
#include <stdint.h>

#include "simd_priv.h"

enum op {
	ADD, SUB, MUL, SCALE, AXPY, FMA, RELU, EXP,
	SOFTEXP,		/* exp(x - a), the rounding of x - a put back */
	SOFTOUT,		/* b exp(x - a), rounded as SOFTEXP then SCALE */
	SCALEW,			/* x a y: rmsnorm with weights */
};

/* The inputs of an element-wise kernel; a and b are the scalar operands. */
struct src {
	const float *x, *y, *z;
	float a, b;
};

/* Whether the n floats at out and at in (NULL: none) share a byte. */
static inline int overlaps(const float *out, const float *in, size_t n)
{
	uintptr_t o = (uintptr_t)out, i = (uintptr_t)in;

	return in && o < i + n * sizeof(float) && i < o + n * sizeof(float);
}

/*
 * Whether map() on a tier with streaming stores writes out with them: an
 * output of at least pep__simd_stream_bytes() (which cannot stay in the
 * caches anyway, and so costs no read-for-ownership), floats aligned as
 * floats (the aligned head is counted in floats), overlapping no input.
 */
static inline int stream_out(const float *out, const struct src *s, size_t n)
{
	return n * sizeof(float) >= pep__simd_stream_bytes() &&
	       ((uintptr_t)out & 3) == 0 && !overlaps(out, s->x, n) &&
	       !overlaps(out, s->y, n) && !overlaps(out, s->z, n);
}

static inline float map(enum op op, float *out, const struct src *s,
			size_t n);
static float dot(const float *x, const float *y, size_t n);
static float sum(const float *x, size_t n);
static float vmax(const float *x, size_t n);
static size_t find_first(const float *x, size_t n, float m);
static double sumsq(const float *x, size_t n);
static void softmax(float *y, const float *x, size_t n);

static void add(float *z, const float *x, const float *y, size_t n)
{
	map(ADD, z, &(struct src){ .x = x, .y = y }, n);
}

static void sub(float *z, const float *x, const float *y, size_t n)
{
	map(SUB, z, &(struct src){ .x = x, .y = y }, n);
}

static void mul(float *z, const float *x, const float *y, size_t n)
{
	map(MUL, z, &(struct src){ .x = x, .y = y }, n);
}

static void scale(float *y, const float *x, float a, size_t n)
{
	map(SCALE, y, &(struct src){ .x = x, .a = a }, n);
}

static void axpy(float *y, float a, const float *x, size_t n)
{
	map(AXPY, y, &(struct src){ .x = x, .y = y, .a = a }, n);
}

static void vfma(float *w, const float *x, const float *y, const float *z,
		 size_t n)
{
	map(FMA, w, &(struct src){ .x = x, .y = y, .z = z }, n);
}

static void relu(float *y, const float *x, size_t n)
{
	map(RELU, y, &(struct src){ .x = x }, n);
}

static void vexp(float *y, const float *x, size_t n)
{
	map(EXP, y, &(struct src){ .x = x }, n);
}

/* Two passes, the second usually short: the maximum, then where it is. */
static size_t argmax(const float *x, size_t n)
{
	return n ? find_first(x, n, vmax(x, n)) : 0;
}

static void rmsnorm(float *y, const float *x, const float *w, float eps,
		    size_t n)
{
	float r;

	if (n == 0)
		return;
	r = (float)(1.0 / sqrt(sumsq(x, n) / (double)n + eps));
	if (w)
		map(SCALEW, y, &(struct src){ .x = x, .y = w, .a = r }, n);
	else
		map(SCALE, y, &(struct src){ .x = x, .a = r }, n);
}

/* The maximum, exp(x - m) and its sum, the scaling: three passes. */
static inline void softmax_three_pass(float *y, const float *x, size_t n)
{
	float m = vmax(x, n), s;

	if (pep__softmax_special(y, x, m, n))
		return;
	s = map(SOFTEXP, y, &(struct src){ .x = x, .a = m }, n);
	map(SCALE, y, &(struct src){ .x = y, .a = 1.0f / s }, n);
}

/*
 * Three passes while x fits in the caches, where exp is the cost; past
 * pep__simd_stream_bytes() two: max_sum_exp() (the maximum and the sum
 * of exp(x - max) in one read, vec_scalar.c explains how), then
 * y = exp(x - m) / sum in one more, rounded as the three passes round it.
 * That computes exp twice to save a pass over memory: the tiers that use
 * it say what it measured.
 */
static inline void softmax_two_pass(float *y, const float *x, size_t n,
				    float (*max_sum_exp)(const float *x,
							 size_t n, float *mp))
{
	float m, s;

	if (n * sizeof(float) < pep__simd_stream_bytes()) {
		softmax_three_pass(y, x, n);
		return;
	}
	s = max_sum_exp(x, n, &m);
	if (pep__softmax_special(y, x, m, n))
		return;
	map(SOFTOUT, y, &(struct src){ .x = x, .a = m, .b = 1.0f / s }, n);
}

void PEP__SIMD_FILL(vec)(struct pep__simd_table *k)
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

#endif /* PEPITA_SIMD_VEC_TIER_H */
