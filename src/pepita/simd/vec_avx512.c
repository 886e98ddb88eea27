/*
 * vec_avx512.c - the f32 vector kernels on 16-float AVX-512 vectors.
 *
 * Tails are masked loads and stores, so every element goes through the
 * same vector code. Element-wise kernels share one loop (map()) that
 * writes an output of at least pep__simd_stream_bytes() not overlapping
 * its inputs with streaming stores, after a masked head that aligns the
 * destination to 64 bytes: a normal store would first read every line
 * (read-for-ownership), a third more memory traffic.
 *
 * NaN: MAXPS returns its second operand when either is NaN, so max keeps
 * an unordered mask beside the running maximum, and relu is
 * max(0, x) with x second. exp mirrors pep__expf_scalar() (vec_scalar.c)
 * but applies 2^n with VSCALEFPS, which rounds once into the subnormals.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "vec_tier.h"

#define W 16
#define FULL ((__mmask16)0xffff)
#define SOFTMAX_BLOCK 512	/* floats: softmax's online blocks, in L1 */

static inline __mmask16 tail_mask(size_t n)
{
	return (__mmask16)((1u << n) - 1);
}

/* Constant masks fold: a full mask compiles to a plain unaligned load. */
static inline __m512 ld(const float *p, __mmask16 m)
{
	return m == FULL ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

static inline __m512 ld_fill(const float *p, __mmask16 m, float fill)
{
	return m == FULL ? _mm512_loadu_ps(p) :
	       _mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p);
}

static inline __m512 exp16(__m512 x)
{
	__m512 t, n, r, q;

	/* The constant first: a NaN x is the second operand and survives. */
	x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
	x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
	t = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f),
			    _mm512_set1_ps(0x1.8p23f));
	n = _mm512_sub_ps(t, _mm512_set1_ps(0x1.8p23f));
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), r);
	q = _mm512_fmadd_ps(_mm512_set1_ps(0x1.6d1106p-10f), r,
			    _mm512_set1_ps(0x1.120b6cp-7f));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0x1.55551ap-5f));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0x1.5554dcp-3f));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
	q = _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r);
	q = _mm512_add_ps(q, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(q, n);
}

/* exp(x - m), the rounding of x - m put back (see vec_scalar.c). */
static inline __m512 exp_diff16(__m512 x, __m512 m)
{
	__m512 d = _mm512_sub_ps(x, m);
	__m512 bx = _mm512_sub_ps(d, x);
	__m512 e = _mm512_add_ps(_mm512_sub_ps(x, _mm512_sub_ps(d, bx)),
				 _mm512_sub_ps(_mm512_setzero_ps(),
					       _mm512_add_ps(m, bx)));
	__mmask16 ok = _mm512_cmp_ps_mask(d, _mm512_set1_ps(-128.0f),
					  _CMP_GE_OQ);

	e = _mm512_maskz_mov_ps(ok, e);
	d = exp16(d);
	return _mm512_fmadd_ps(d, e, d);
}

/* A term of softmax's online sum: exp(x - m) uncorrected (vec_scalar.c). */
static inline __m512 term16(__m512 x, __m512 m)
{
	return exp16(_mm512_sub_ps(x, m));
}

static inline __m512 relu16(__m512 x)
{
	__m512i v = _mm512_castps_si512(_mm512_max_ps(_mm512_setzero_ps(), x));

	/* max(0, -0) is -0 on x86; relu(-0) is +0 as on every tier. */
	v = _mm512_and_si512(v, _mm512_set1_epi32(0x7fffffff));
	return _mm512_castsi512_ps(v);
}

static inline __attribute__((always_inline))
__m512 op16(enum op op, const struct src *s, size_t i, __mmask16 m)
{
	__m512 a = _mm512_set1_ps(s->a);

	switch (op) {
	case ADD:
		return _mm512_add_ps(ld(s->x + i, m), ld(s->y + i, m));
	case SUB:
		return _mm512_sub_ps(ld(s->x + i, m), ld(s->y + i, m));
	case MUL:
		return _mm512_mul_ps(ld(s->x + i, m), ld(s->y + i, m));
	case SCALE:
		return _mm512_mul_ps(a, ld(s->x + i, m));
	case AXPY:
		return _mm512_fmadd_ps(a, ld(s->x + i, m), ld(s->y + i, m));
	case FMA:
		return _mm512_fmadd_ps(ld(s->x + i, m), ld(s->y + i, m),
				       ld(s->z + i, m));
	case RELU:
		return relu16(ld(s->x + i, m));
	case EXP:
		return exp16(ld(s->x + i, m));
	case SOFTEXP:	/* -inf in masked lanes: they add 0 to the sum */
		return exp_diff16(ld_fill(s->x + i, m, -INFINITY), a);
	case SOFTOUT:	/* SOFTEXP then SCALE by b, the same roundings */
		return _mm512_mul_ps(_mm512_set1_ps(s->b),
				     exp_diff16(ld(s->x + i, m), a));
	case SCALEW:
		return _mm512_mul_ps(_mm512_mul_ps(ld(s->x + i, m), a),
				     ld(s->y + i, m));
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
	__m512 acc = _mm512_setzero_ps(), v;
	size_t i = 0;

	if (stream_out(out, s, n)) {
		i = ((0 - (uintptr_t)out) & 63) / sizeof(float);
		if (i && i < n) {
			v = op16(op, s, 0, tail_mask(i));
			_mm512_mask_storeu_ps(out, tail_mask(i), v);
			acc = op == SOFTEXP ? _mm512_add_ps(acc, v) : acc;
		}
		for (; i + W <= n; i += W) {
			v = op16(op, s, i, FULL);
			_mm512_stream_ps(out + i, v);
			acc = op == SOFTEXP ? _mm512_add_ps(acc, v) : acc;
		}
		/* Streaming stores are weakly ordered: fence them. */
		_mm_sfence();
	}
	for (; i + W <= n; i += W) {
		v = op16(op, s, i, FULL);
		_mm512_storeu_ps(out + i, v);
		acc = op == SOFTEXP ? _mm512_add_ps(acc, v) : acc;
	}
	if (i < n) {
		v = op16(op, s, i, tail_mask(n - i));
		_mm512_mask_storeu_ps(out + i, tail_mask(n - i), v);
		acc = op == SOFTEXP ? _mm512_add_ps(acc, v) : acc;
	}
	return _mm512_reduce_add_ps(acc);
}

static inline float hsum4(__m512 a, __m512 b, __m512 c, __m512 d)
{
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b),
						  _mm512_add_ps(c, d)));
}

/*
 * How many of n floats at p come before a 64-byte boundary. Reductions
 * take those first (masked) so that their main loop loads whole cache
 * lines: from a misaligned array every 64-byte load would touch two
 * lines, and a sum over memory ran slower than the scalar code.
 */
static inline size_t head(const float *p, size_t n)
{
	size_t h = ((0 - (uintptr_t)p) & 63) / sizeof(float);

	return h < n ? h : n;
}

static float dot(const float *x, const float *y, size_t n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = head(x, n);

	if (i)
		a0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail_mask(i), x),
				   _mm512_maskz_loadu_ps(tail_mask(i), y));

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = _mm512_fmadd_ps(ld(x + i, FULL), ld(y + i, FULL), a0);
		a1 = _mm512_fmadd_ps(ld(x + i + W, FULL), ld(y + i + W, FULL), a1);
		a2 = _mm512_fmadd_ps(ld(x + i + 2 * W, FULL),
				     ld(y + i + 2 * W, FULL), a2);
		a3 = _mm512_fmadd_ps(ld(x + i + 3 * W, FULL),
				     ld(y + i + 3 * W, FULL), a3);
	}
	for (; i < n; i += W) {
		__mmask16 m = n - i >= W ? FULL : tail_mask(n - i);

		a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i),
				     _mm512_maskz_loadu_ps(m, y + i), a0);
	}
	return hsum4(a0, a1, a2, a3);
}

static float sum(const float *x, size_t n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = head(x, n);

	if (i)
		a0 = _mm512_maskz_loadu_ps(tail_mask(i), x);

	for (; i + 4 * W <= n; i += 4 * W) {
		a0 = _mm512_add_ps(a0, ld(x + i, FULL));
		a1 = _mm512_add_ps(a1, ld(x + i + W, FULL));
		a2 = _mm512_add_ps(a2, ld(x + i + 2 * W, FULL));
		a3 = _mm512_add_ps(a3, ld(x + i + 3 * W, FULL));
	}
	for (; i < n; i += W) {
		__mmask16 m = n - i >= W ? FULL : tail_mask(n - i);

		a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m, x + i));
	}
	return hsum4(a0, a1, a2, a3);
}

/* Running max of v into *acc, NaN lanes of v noted in *bad. */
static inline void max_step(__m512 *acc, __mmask16 *bad, __m512 v)
{
	*bad |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
	*acc = _mm512_max_ps(*acc, v);
}

static float vmax(const float *x, size_t n)
{
	__m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
	__mmask16 bad = 0;
	size_t i = head(x, n);

	if (i)
		max_step(&m0, &bad, ld_fill(x, tail_mask(i), -INFINITY));

	for (; i + 4 * W <= n; i += 4 * W) {
		max_step(&m0, &bad, ld(x + i, FULL));
		max_step(&m1, &bad, ld(x + i + W, FULL));
		max_step(&m2, &bad, ld(x + i + 2 * W, FULL));
		max_step(&m3, &bad, ld(x + i + 3 * W, FULL));
	}
	for (; i < n; i += W) {
		__mmask16 m = n - i >= W ? FULL : tail_mask(n - i);

		max_step(&m0, &bad, ld_fill(x + i, m, -INFINITY));
	}
	if (bad)
		return NAN;
	m0 = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
	return _mm512_reduce_max_ps(m0);
}

/* The first i with x[i] == m, or with x[i] NaN when m is NaN. */
static size_t find_first(const float *x, size_t n, float m)
{
	__m512 vm = _mm512_set1_ps(m);
	int nan = isnan(m);

	for (size_t i = 0; i < n; i += W) {
		__mmask16 k = n - i >= W ? FULL : tail_mask(n - i);
		__m512 v = _mm512_maskz_loadu_ps(k, x + i);

		if (nan)
			k = _mm512_mask_cmp_ps_mask(k, v, v, _CMP_UNORD_Q);
		else
			k = _mm512_mask_cmp_ps_mask(k, v, vm, _CMP_EQ_OQ);
		if (k)
			return i + (size_t)__builtin_ctz(k);
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
	__m512 s0 = _mm512_setzero_ps(), s1 = s0;
	__m512 vm = _mm512_set1_ps(-INFINITY);
	float m = -INFINITY;

	for (size_t i = 0; i < n; i += SOFTMAX_BLOCK) {
		size_t nb = n - i < SOFTMAX_BLOCK ? n - i : SOFTMAX_BLOCK;
		const float *b = x + i;
		float bm = vmax(b, nb);
		size_t j = 0;

		if (!(bm <= m)) {
			__m512 f;

			if (isnan(bm) || bm == INFINITY) {
				*mp = vmax(x, n);
				return 0.0f;
			}
			f = exp_diff16(vm, _mm512_set1_ps(bm));
			s0 = _mm512_mul_ps(s0, f);
			s1 = _mm512_mul_ps(s1, f);
			m = bm;
			vm = _mm512_set1_ps(m);
		}
		if (m == -INFINITY)
			continue;
		for (; j + 2 * W <= nb; j += 2 * W) {
			s0 = _mm512_add_ps(s0, term16(ld(b + j, FULL), vm));
			s1 = _mm512_add_ps(s1, term16(ld(b + j + W, FULL), vm));
		}
		for (; j < nb; j += W) {	/* -inf past the end adds 0 */
			__mmask16 k = nb - j >= W ? FULL : tail_mask(nb - j);
			__m512 v = ld_fill(b + j, k, -INFINITY);

			s0 = _mm512_add_ps(s0, term16(v, vm));
		}
	}
	*mp = m;
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/*
 * Three passes while x fits in the caches (the maximum, exp(x - m) and its
 * sum, the scaling), where exp is the cost; past pep__simd_stream_bytes()
 * two, 12 bytes of memory traffic a float instead of 20: max_sum_exp(),
 * then y = exp(x - m) / sum streamed, rounded as the three passes round
 * it. The second exp costs less than the pass it saves there (64M floats:
 * 0.47 ns a float against 0.54 on a Zen 4) but more in the caches.
 */
static void softmax(float *y, const float *x, size_t n)
{
	softmax_two_pass(y, x, n, max_sum_exp);
}

/* The square of each float of v, added in double to *lo and *hi. */
static inline void sq_step(__m512d *lo, __m512d *hi, __m512 v)
{
	__m512i bits = _mm512_castps_si512(v);
	__m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
	__m512d b = _mm512_cvtps_pd(_mm256_castsi256_ps(
			_mm512_extracti64x4_epi64(bits, 1)));

	*lo = _mm512_fmadd_pd(a, a, *lo);
	*hi = _mm512_fmadd_pd(b, b, *hi);
}

static double sumsq(const float *x, size_t n)
{
	__m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = head(x, n);

	if (i)
		sq_step(&a0, &a1, ld(x, tail_mask(i)));
	for (; i + 2 * W <= n; i += 2 * W) {
		sq_step(&a0, &a1, ld(x + i, FULL));
		sq_step(&a2, &a3, ld(x + i + W, FULL));
	}
	for (; i < n; i += W)
		sq_step(&a0, &a1, ld(x + i, n - i >= W ? FULL : tail_mask(n - i)));
	a0 = _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
	return _mm512_reduce_add_pd(a0);
}
