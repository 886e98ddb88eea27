/*
 * vec_map.h - the kernels of the x86 tiers that load and store whole
 * vectors or, at the ends, part of one (SSE4.1, AVX2), written once:
 * map(), dot, sum, vmax and find_first. vec_sse4.c and vec_avx2.c include
 * it after they define, for their own vectors,
 *
 *   VF                    the vector type, of W floats
 *   VF_OP(op, s, i, k)    op of the inputs at i, k <= W lanes of them
 *   VF_ZERO, VF_ADD(a, b) a zero vector, a sum
 *   VF_MULADD(a, b, c)    a b + c (fused where the tier has FMA)
 *   VF_MAX(a, b), VF_OR   x86's max (b when either is NaN), a bitwise or
 *   VF_UNORD(v), VF_EQ    lane masks: v is NaN; a == b
 *   VF_MASK(v)            the lanes' sign bits as an int (movemask)
 *   VF_STOREU(p, v)       a whole unaligned store
 *   VF_STREAM(p, v)       a whole aligned streaming store
 *   VF_HSUM(v), VF_HMAX   the sum, the maximum of the lanes
 *   ld(p, k, fill), st    the first k lanes loaded (the rest fill), stored
 *
 * Outputs of at least pep__simd_stream_bytes() are written with
 * streaming stores from the first aligned float on, as vec_avx512.c
 * explains; AVX-512 (masks) and NEON (no streaming) have their own.
 */
#ifndef PEPITA_SIMD_VEC_MAP_H
#define PEPITA_SIMD_VEC_MAP_H

#ifndef PEP_BUILDING_LIBRARY
#error "vec_map.h is pepita's own; include <pepita/simd.h> instead"
#endif

static inline VF add_if(enum op op, VF acc, VF v)
{
	return op == SOFTEXP ? VF_ADD(acc, v) : acc;
}

/*
 * out[i] = op(inputs at i) for i < n. Returns the sum of the outputs for
 * SOFTEXP (0 otherwise).
 */
static inline __attribute__((always_inline))
float map(enum op op, float *out, const struct src *s, size_t n)
{
	VF acc = VF_ZERO, v;
	size_t i = 0;

	if (stream_out(out, s, n)) {
		i = ((0 - (uintptr_t)out) & (W * sizeof(float) - 1)) / sizeof(float);
		if (i) {
			v = VF_OP(op, s, 0, i);
			st(out, v, i);
			acc = add_if(op, acc, v);
		}
		for (; i + W <= n; i += W) {
			v = VF_OP(op, s, i, W);
			VF_STREAM(out + i, v);
			acc = add_if(op, acc, v);
		}
		/* Streaming stores are weakly ordered: fence them. */
		_mm_sfence();
	}
	for (; i + W <= n; i += W) {
		v = VF_OP(op, s, i, W);
		VF_STOREU(out + i, v);
		acc = add_if(op, acc, v);
	}
	if (i < n) {
		v = VF_OP(op, s, i, n - i);
		st(out + i, v, n - i);
		acc = add_if(op, acc, v);
	}
	return op == SOFTEXP ? VF_HSUM(acc) : 0.0f;
}

static inline float hsum4(VF a0, VF a1, VF a2, VF a3)
{
	return VF_HSUM(VF_ADD(VF_ADD(a0, a1), VF_ADD(a2, a3)));
}

static float dot(const float *x, const float *y, size_t n)
{
	VF a0 = VF_ZERO, a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = VF_MULADD(ld(x + i, W, 0), ld(y + i, W, 0), a0);
		a1 = VF_MULADD(ld(x + i + W, W, 0), ld(y + i + W, W, 0), a1);
		a2 = VF_MULADD(ld(x + i + 2 * W, W, 0), ld(y + i + 2 * W, W, 0), a2);
		a3 = VF_MULADD(ld(x + i + 3 * W, W, 0), ld(y + i + 3 * W, W, 0), a3);
	}
	for (; i < n; i += W) {
		size_t k = n - i >= W ? W : n - i;

		a0 = VF_MULADD(ld(x + i, k, 0), ld(y + i, k, 0), a0);
	}
	return hsum4(a0, a1, a2, a3);
}

static float sum(const float *x, size_t n)
{
	VF a0 = VF_ZERO, a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = VF_ADD(a0, ld(x + i, W, 0));
		a1 = VF_ADD(a1, ld(x + i + W, W, 0));
		a2 = VF_ADD(a2, ld(x + i + 2 * W, W, 0));
		a3 = VF_ADD(a3, ld(x + i + 3 * W, W, 0));
	}
	for (; i < n; i += W)
		a0 = VF_ADD(a0, ld(x + i, n - i >= W ? W : n - i, 0));
	return hsum4(a0, a1, a2, a3);
}

/* Running max of v into *acc, NaN lanes of v noted in *bad. */
static inline void max_step(VF *acc, VF *bad, VF v)
{
	*bad = VF_OR(*bad, VF_UNORD(v));
	*acc = VF_MAX(*acc, v);
}

/* NaN when any x is: MAXPS alone would pass a NaN over. */
static float vmax(const float *x, size_t n)
{
	VF m0 = set1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
	VF bad = VF_ZERO;
	size_t i = 0;

	for (; i + 4 * W <= n; i += 4 * W) {
		max_step(&m0, &bad, ld(x + i, W, 0));
		max_step(&m1, &bad, ld(x + i + W, W, 0));
		max_step(&m2, &bad, ld(x + i + 2 * W, W, 0));
		max_step(&m3, &bad, ld(x + i + 3 * W, W, 0));
	}
	for (; i < n; i += W)
		max_step(&m0, &bad, ld(x + i, n - i >= W ? W : n - i, -INFINITY));
	if (VF_MASK(bad))
		return NAN;
	return VF_HMAX(VF_MAX(VF_MAX(m0, m1), VF_MAX(m2, m3)));
}

/* The first i with x[i] == m, or with x[i] NaN when m is NaN. */
static size_t find_first(const float *x, size_t n, float m)
{
	VF vm = set1(m);
	int nan = isnan(m);

	for (size_t i = 0; i < n; i += W) {
		size_t k = n - i >= W ? W : n - i;
		VF v = ld(x + i, k, 0);
		int hit = VF_MASK(nan ? VF_UNORD(v) : VF_EQ(v, vm));

		hit &= (1 << k) - 1;
		if (hit)
			return i + (size_t)__builtin_ctz((unsigned int)hit);
	}
	return 0;
}

#endif /* PEPITA_SIMD_VEC_MAP_H */
