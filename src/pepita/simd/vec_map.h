/*
 * vec_map.h - map() for the x86 tiers that load and store whole vectors
 * or, at the ends, part of one (SSE4.1, AVX2): written once, included by
 * vec_sse4.c and vec_avx2.c after they define, for their own vectors,
 *
 *   VF                    the vector type, of W floats
 *   VF_OP(op, s, i, k)    op of the inputs at i, k <= W lanes of them
 *   VF_ZERO, VF_ADD(a, b) a zero vector, a sum
 *   VF_STOREU(p, v)       a whole unaligned store
 *   VF_STREAM(p, v)       a whole aligned streaming store
 *   VF_HSUM(v)            the sum of the lanes
 *   st(p, v, k)           the first k lanes stored
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

#endif /* PEPITA_SIMD_VEC_MAP_H */
