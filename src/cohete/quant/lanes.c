/*
 * lanes.c - formats.c's quantizers, a vector of groups at a time.
 *
 * The K-quants spend their time searching each group's scale: make_qx_
 * quants tries 19 scales on every 16 values, make_qkx2_quants 16 to 21 on
 * every 16 or 32. The groups are independent, so here lane j of a vector
 * runs group j's search, the same IEEE operations in the
 * same order as the reference runs them one group after another: the same
 * sums, the same comparisons (every `if` a mask and a select with the
 * reference's own predicate, so NaN goes the same way), nearest_int as
 * the same bit operations. Hence the same bytes on every input, which
 * tests/cohete/quant-lanes.c checks on every tier with random, tied,
 * huge, denormal, infinite and NaN values.
 *
 * Q8_0 and Q4_0 work within a block instead: a maximum does not depend
 * on the order it is taken in. After the search, the stored scales and
 * the bit packing are the reference's own code (coh__q*_k_store). A
 * block holding a NaN goes to the reference whole (block.h says why).
 *
 * Written with GCC vector extensions and built once per SIMD tier with
 * that tier's arguments, as pepita's per-tier code is (simd_tier_args in
 * src/pepita/meson.build), and -ffp-contract=off like formats.c.
 * PEP_SIMD_WIDTH is the tier's register in floats (16 AVX-512, 8 AVX2,
 * 4 SSE4.1 and NEON: wider generic vectors split badly), so a pass runs
 * that many groups; PEP_SIMD_TIER names the tier's table.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#if !defined(PEP_SIMD_TIER) || !defined(PEP_SIMD_WIDTH)
#error "build lanes.c with -DPEP_SIMD_TIER=<tier> -DPEP_SIMD_WIDTH=<floats>"
#endif

#define W	PEP_SIMD_WIDTH

typedef float vf __attribute__((vector_size(4 * W)));
typedef int32_t vi __attribute__((vector_size(4 * W)));
typedef uint32_t vu __attribute__((vector_size(4 * W)));
typedef uint8_t vb __attribute__((vector_size(W)));

#define INLINE	static inline __attribute__((always_inline))
#if W == 16
#define SPLAT(v)	{ v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v }
#elif W == 8
#define SPLAT(v)	{ v, v, v, v, v, v, v, v }
#elif W == 4
#define SPLAT(v)	{ v, v, v, v }
#else
#error "PEP_SIMD_WIDTH must be 4, 8 or 16"
#endif

INLINE vf fsplat(float v)
{
	return (vf)SPLAT(v);
}

INLINE vi isplat(int32_t v)
{
	return (vi)SPLAT(v);
}

/*
 * Selects, integer minimum and maximum, and "any lane set": GCC does not
 * turn the generic spellings into single instructions, so each tier says
 * them in its own; the generic ones stay for the rest. A mask lane is 0
 * or -1, as vector comparisons make it.
 */
#if W == 16 && defined(__AVX512F__)
#define HAVE_MINMAX
INLINE vi imin(vi a, vi b) { return (vi)_mm512_min_epi32((__m512i)a, (__m512i)b); }
INLINE vi imax(vi a, vi b) { return (vi)_mm512_max_epi32((__m512i)a, (__m512i)b); }
INLINE int any(vi m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
#elif W == 8 && defined(__AVX2__)
#define HAVE_MINMAX
#define MOVEMASK(m)	_mm256_movemask_ps((__m256)(m))
#define HAVE_FSEL
INLINE vi imin(vi a, vi b) { return (vi)_mm256_min_epi32((__m256i)a, (__m256i)b); }
INLINE vi imax(vi a, vi b) { return (vi)_mm256_max_epi32((__m256i)a, (__m256i)b); }
INLINE int any(vi m) { return !_mm256_testz_si256((__m256i)m, (__m256i)m); }
INLINE vf fsel(vi m, vf a, vf b) { return (vf)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)m); }
#elif W == 4 && defined(__SSE4_1__)
#define HAVE_MINMAX
#define MOVEMASK(m)	_mm_movemask_ps((__m128)(m))
#define HAVE_FSEL
INLINE vi imin(vi a, vi b) { return (vi)_mm_min_epi32((__m128i)a, (__m128i)b); }
INLINE vi imax(vi a, vi b) { return (vi)_mm_max_epi32((__m128i)a, (__m128i)b); }
INLINE int any(vi m) { return !_mm_testz_si128((__m128i)m, (__m128i)m); }
INLINE vf fsel(vi m, vf a, vf b) { return (vf)_mm_blendv_ps((__m128)b, (__m128)a, (__m128)m); }
#elif W == 4 && defined(__aarch64__)
#define HAVE_MINMAX
#define HAVE_FSEL
INLINE vi imin(vi a, vi b) { return (vi)vminq_s32((int32x4_t)a, (int32x4_t)b); }
INLINE vi imax(vi a, vi b) { return (vi)vmaxq_s32((int32x4_t)a, (int32x4_t)b); }
INLINE int any(vi m) { return vmaxvq_u32((uint32x4_t)m) != 0; }
INLINE vf fsel(vi m, vf a, vf b) { return (vf)vbslq_f32((uint32x4_t)m, (float32x4_t)a, (float32x4_t)b); }
#else
INLINE int any(vi m)
{
	int32_t r = 0;

	for (int j = 0; j < W; j++)
		r |= m[j];
	return r != 0;
}
#endif

#ifndef HAVE_FSEL
INLINE vf fsel(vi m, vf a, vf b)
{
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}
#endif

INLINE vi isel(vi m, vi a, vi b)
{
	return (a & m) | (b & ~m);
}

#ifndef HAVE_MINMAX
INLINE vi imin(vi a, vi b)
{
	return isel(a < b, a, b);
}

INLINE vi imax(vi a, vi b)
{
	return isel(a > b, a, b);
}
#endif

INLINE vf vabs(vf a)
{
	return (vf)((vi)a & 0x7fffffff);
}

/* nearest_int(), bit for bit. */
INLINE vi vnearest(vf f)
{
	vf v = f + 12582912.0f;

	return ((vi)v & 0x007fffff) - 0x00400000;
}

/* COH_MAX(lo, COH_MIN(hi, l)) as a float: the levels the sums multiply by. */
INLINE vf clamp_level(vi l, int lo, int hi)
{
	return __builtin_convertvector(imax(isplat(lo), imin(isplat(hi), l)),
				       vf);
}

/* cvt_i8()'s 32-bit step: truncation, INT32_MIN for NaN or out of range. */
INLINE vi cvt_trunc(vf v, vi *in_range)
{
	vi in = (v > -2147483648.0f) & (v < 2147483648.0f);

	*in_range = in;
	return isel(in, __builtin_convertvector(fsel(in, v, fsplat(0)), vi),
		    isplat(INT32_MIN));
}

/* cvt_i8(roundf(v)) before the byte is taken: half away from zero. */
INLINE vi cvt_round(vf v)
{
	vi in, t = cvt_trunc(v, &in);
	vf frac = fsel(in, v, fsplat(0)) - __builtin_convertvector(t, vf);
	vi step = isel(v < 0, isplat(-1), isplat(1));

	/* out of range t is INT32_MIN and stays so: no step there */
	return t + isel(in & (vabs(frac) >= 0.5f), step, isplat(0));
}

/* ---- Q8_0 and Q4_0: a block is COH_QK / W vectors --------------------------- */

#define NV	(COH_QK / W)

/* The block's vectors; whether any value is NaN. */
INLINE int load_block(const float *x, vf *v)
{
	vi nan = isplat(0);

	memcpy(v, x, COH_QK * sizeof(float));
	for (int k = 0; k < NV; k++)
		nan |= v[k] != v[k];
	return any(nan);
}

INLINE vf vmax(vf a, vf b)
{
	return fsel(b > a, b, a);
}

/*
 * The largest |x|; only for a block without NaN, where the order of the
 * comparisons is moot. Lanes folded onto lanes 4, 2, 1 apart (and 8 on
 * AVX-512): no branches.
 */
INLINE float block_amax(const vf *v)
{
	vf m = vabs(v[0]);

	for (int k = 1; k < NV; k++)
		m = vmax(m, vabs(v[k]));
#if W == 16
	m = vmax(m, __builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14,
					    15, 0, 1, 2, 3, 4, 5, 6, 7));
	m = vmax(m, __builtin_shufflevector(m, m, 4, 5, 6, 7, 0, 1, 2, 3,
					    12, 13, 14, 15, 8, 9, 10, 11));
	m = vmax(m, __builtin_shufflevector(m, m, 2, 3, 0, 1, 6, 7, 4, 5,
					    10, 11, 8, 9, 14, 15, 12, 13));
#elif W == 8
	m = vmax(m, __builtin_shufflevector(m, m, 4, 5, 6, 7, 0, 1, 2, 3));
	m = vmax(m, __builtin_shufflevector(m, m, 2, 3, 0, 1, 6, 7, 4, 5));
#else
	m = vmax(m, __builtin_shufflevector(m, m, 2, 3, 0, 1));
#endif
	return m[1] > m[0] ? m[1] : m[0];
}

static void q8_0_rows(const float *x, uint8_t *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++, x += COH_QK, b += 34) {
		vf v[NV];

		if (load_block(x, v)) {
			coh__q8_0_block(x, b);
			continue;
		}

		const float d = block_amax(v) / 127;
		const float id = d ? 1.0f / d : 0.0f;

		put_f16(b, d);
		for (int k = 0; k < NV; k++) {
			vb q = __builtin_convertvector(cvt_round(v[k] * id), vb);

			memcpy(b + 2 + k * W, &q, W);
		}
	}
}

/* COH_MIN(15, cvt_i8(v)) as the reference's uint8_t holds it. */
INLINE vi q4_level(vf v)
{
	vi in, t = cvt_trunc(v, &in);
	vi s = (vi)((vu)t << 24) >> 24;	/* the int8_t */

	return imin(isplat(15), s) & 0xff;
}

/* The index of the block's first value whose magnitude is a (one is). */
INLINE int first_abs_equal(const vf *v, float a)
{
#if W == 16 && defined(__AVX512F__)
	uint32_t m = 0;

	for (int k = NV - 1; k >= 0; k--)
		m = m << W | _mm512_cmp_ps_mask((__m512)vabs(v[k]),
						_mm512_set1_ps(a), _CMP_EQ_OQ);
	return __builtin_ctz(m);
#elif (W == 8 && defined(__AVX2__)) || (W == 4 && defined(__SSE4_1__))
	uint32_t m = 0;

	for (int k = NV - 1; k >= 0; k--)
		m = m << W | (uint32_t)MOVEMASK(vabs(v[k]) == a);
	return __builtin_ctz(m);
#else
	const float *x = (const float *)v;
	int j = 0;

	while (fabsf(x[j]) != a)
		j++;
	return j;
#endif
}

static void q4_0_rows(const float *x, uint8_t *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++, x += COH_QK, b += 18) {
		vf v[NV];

		if (load_block(x, v)) {
			coh__q4_0_block(x, b);
			continue;
		}

		const float amax = block_amax(v);
		/* the first of largest magnitude; none above 0: 0.0f */
		const float max = amax > 0 ? x[first_abs_equal(v, amax)] : 0.0f;

		const float d = max / -8;
		const float id = d ? 1.0f / d : 0.0f;

		put_f16(b, d);
		/* element j in the low nibble, j + 16 in the high one */
		for (int k = 0; k < NV / 2; k++) {
			vi q = q4_level(v[k] * id + 8.5f) |
			       q4_level(v[k + NV / 2] * id + 8.5f) << 4;
			vb qb = __builtin_convertvector(q, vb);

			memcpy(b + 2 + k * W, &qb, W);
		}
	}
}

/* ---- the groups as lanes -------------------------------------------------- */

/*
 * count (<= W) groups of n values into n vectors: element i of group j
 * (at x + j * n + i) to lane j of X[i]; spare lanes repeat the last group.
 */
static void load_groups(const float *x, int n, int count, vf *X)
{
	float t[32][W] __attribute__((aligned(64)));

	for (int j = 0; j < W; j++) {
		const float *g = x + (j < count ? j : count - 1) * n;

		for (int i = 0; i < n; i++)
			t[i][j] = g[i];
	}
	memcpy(X, t, (size_t)n * sizeof(vf));
}

/* The signed value of largest magnitude, the first on a tie, per lane. */
INLINE vf lanes_absmax(const vf *X, int n, vf *amax_out)
{
	vf amax = fsplat(0), max = fsplat(0);

	for (int i = 0; i < n; i++) {
		vf ax = vabs(X[i]);
		vi m = ax > amax;

		amax = fsel(m, ax, amax);
		max = fsel(m, X[i], max);
	}
	*amax_out = amax;
	return max;
}

/*
 * make_qx_quants (n = 16, rmse_type 1) of W groups; LF[i] gets each
 * lane's level + nmax.
 */
static vf qx_lanes(const vf *X, int nmax, vf *LF)
{
	const int n = 16;
	vf amax, max = lanes_absmax(X, n, &amax);
	vi zero = amax < COH_GROUP_MAX_EPS;
	vf W2[16], WX[16], T[16];
	vf iscale = (float)-nmax / max;
	vf sumlx = fsplat(0), suml2 = fsplat(0);

	for (int i = 0; i < n; i++) {
		vf l = clamp_level(vnearest(iscale * X[i]), -nmax, nmax - 1);

		W2[i] = X[i] * X[i];
		WX[i] = W2[i] * X[i];
		LF[i] = l + (float)nmax;
		sumlx += WX[i] * l;
		suml2 += W2[i] * l * l;
	}

	vf scale = fsel(suml2 != 0, sumlx / suml2, fsplat(0));
	vf best = scale * sumlx;

	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = fsplat(0);
		for (int i = 0; i < n; i++) {
			vf l = clamp_level(vnearest(iscale * X[i]), -nmax,
					   nmax - 1);

			T[i] = l;
			sumlx += WX[i] * l;
			suml2 += W2[i] * l * l;
		}

		vi upd = (suml2 > 0) & (sumlx * sumlx > best * suml2);

		if (!any(upd))
			continue;
		for (int i = 0; i < n; i++)
			LF[i] = fsel(upd, T[i] + (float)nmax, LF[i]);
		scale = fsel(upd, sumlx / suml2, scale);
		best = fsel(upd, scale * sumlx, best);
	}
	for (int i = 0; i < n; i++)
		LF[i] = fsel(zero, fsplat(0), LF[i]);
	return fsel(zero, fsplat(0), scale);
}

/* make_q3_quants (n = 16): LF[i] gets each lane's level + nmax. */
static vf q3_lanes(const vf *X, int nmax, vf *LF)
{
	const int n = 16;
	vf amax, max = lanes_absmax(X, n, &amax);
	vi zero = amax < COH_GROUP_MAX_EPS;
	vf W2[16], WX[16];
	vf iscale = (float)-nmax / max;
	vf sumlx = fsplat(0), suml2 = fsplat(0);

	for (int i = 0; i < n; i++) {
		vf l = clamp_level(vnearest(iscale * X[i]), -nmax, nmax - 1);

		W2[i] = X[i] * X[i];
		WX[i] = W2[i] * X[i];
		LF[i] = l;
		sumlx += WX[i] * l;
		suml2 += W2[i] * l * l;
	}
	/*
	 * A lane whose pass changed nothing would change nothing in the
	 * next one either, so running it on with the others is harmless.
	 */
	for (int itry = 0; itry < 5; itry++) {
		vi changed = isplat(0);

		for (int i = 0; i < n; i++) {
			vf slx = sumlx - WX[i] * LF[i];
			vf sl2 = suml2 - W2[i] * LF[i] * LF[i];
			vf nl = clamp_level(vnearest(X[i] * sl2 / slx), -nmax,
					    nmax - 1);
			vi act = (slx > 0) & (nl != LF[i]);

			slx += WX[i] * nl;
			sl2 += W2[i] * nl * nl;
			act &= (sl2 > 0) &
			       (slx * slx * suml2 > sumlx * sumlx * sl2);
			LF[i] = fsel(act, nl, LF[i]);
			sumlx = fsel(act, slx, sumlx);
			suml2 = fsel(act, sl2, suml2);
			changed |= act;
		}
		if (!any(changed))
			break;
	}
	for (int i = 0; i < n; i++)
		LF[i] = fsel(zero, fsplat(0), LF[i] + (float)nmax);
	return fsel(zero, fsplat(0),
		    fsel(suml2 > 0, sumlx / suml2, fsplat(0)));
}

INLINE vf qkx2_error(int n, const vf *X, const vf *Wt, const vf *L,
		     vf scale, vf min, int use_mad)
{
	vf err = fsplat(0);

	for (int i = 0; i < n; i++) {
		vf diff = scale * L[i] + min - X[i];

		diff = use_mad ? vabs(diff) : diff * diff;
		err += Wt[i] * diff;
	}
	return err;
}

/*
 * make_qkx2_quants of W groups of n (16 or 32) values with weights Wt:
 * returns the scales, *the_min gets -min, LF[i] the levels.
 */
static vf qkx2_lanes(int n, const struct qkx2_opts *o, const vf *X,
		     const vf *Wt, vf *LF, vf *the_min)
{
	const int nmax = o->nmax;
	vf T[32];
	vf min = X[0], max = X[0];
	vf sum_w = Wt[0];
	vf sum_x = sum_w * X[0];

	for (int i = 1; i < n; i++) {
		min = fsel(X[i] < min, X[i], min);
		max = fsel(X[i] > max, X[i], max);
		sum_w += Wt[i];
		sum_x += Wt[i] * X[i];
	}
	min = fsel(min > 0, fsplat(0), min);

	const vi flat = max == min;
	const vf flat_min = -min;
	vf iscale = (float)nmax / (max - min);
	vf scale = 1.0f / iscale;

	for (int i = 0; i < n; i++)
		LF[i] = clamp_level(vnearest(iscale * (X[i] - min)), 0, nmax);

	vf best_error = qkx2_error(n, X, Wt, LF, scale, min, o->use_mad);

	for (int is = 0; is <= o->nstep; is++) {
		vf sum_l = fsplat(0), sum_l2 = fsplat(0), sum_xl = fsplat(0);

		iscale = (o->rmin + o->rdelta * is + nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			vf l = clamp_level(vnearest(iscale * (X[i] - min)), 0,
					   nmax);
			vf wl = Wt[i] * l;

			T[i] = l;
			sum_l += wl;
			sum_l2 += wl * l;
			sum_xl += wl * X[i];
		}

		vf D = sum_w * sum_l2 - sum_l * sum_l;
		vi ok = D > 0;

		if (!any(ok))
			continue;

		vf this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		vf this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		vi pos = this_min > 0;

		this_min = fsel(pos, fsplat(0), this_min);
		this_scale = fsel(pos, sum_xl / sum_l2, this_scale);

		vf err = qkx2_error(n, X, Wt, T, this_scale, this_min,
				    o->use_mad);
		vi upd = ok & (err < best_error);

		if (!any(upd))
			continue;
		for (int i = 0; i < n; i++)
			LF[i] = fsel(upd, T[i], LF[i]);
		best_error = fsel(upd, err, best_error);
		scale = fsel(upd, this_scale, scale);
		min = fsel(upd, this_min, min);
	}
	for (int i = 0; i < n; i++)
		LF[i] = fsel(flat, fsplat(0), LF[i]);
	*the_min = fsel(flat, flat_min, -min);
	return fsel(flat, fsplat(0), scale);
}

/* ---- K-quant blocks ------------------------------------------------------- */

/*
 * A format's search over one pass of W groups of n (X) into each lane's
 * scale, -min (Q2_K, Q4_K, Q5_K) and levels LF, and its store step.
 */
struct kfmt {
	int n, groups;			/* values per group, groups per block */
	size_t bytes;			/* per block */
	vf (*fit)(const vf *X, vf *LF, vf *the_min);
	void (*store)(const float *x, const float *sc, const float *mins,
		      uint8_t *L, uint8_t *b, coh__requant_fn requant);
	void (*reference)(const float *x, uint8_t *b);
};

/* coh__requant, a vector at a time (n is a multiple of W). */
static void requant(const float *x, int n, float d, float dm, int lo, int hi,
		    int off, uint8_t *L)
{
	for (int i = 0; i < n; i += W) {
		vf v;

		memcpy(&v, x + i, sizeof(v));

		vi l = imax(isplat(lo), imin(isplat(hi), vnearest((v + dm) / d)));
		vb q = __builtin_convertvector(l + off, vb);

		memcpy(L + i, &q, W);
	}
}

/* Super-blocks searched together: whole passes for every width. */
#define CHUNK	4

static int block_has_nan(const float *x)
{
	vi nan = isplat(0);

	for (int i = 0; i < COH_QK_K; i += W) {
		vf v;

		memcpy(&v, x + i, sizeof(v));
		nan |= v != v;
	}
	return any(nan);
}

static void k_rows(const struct kfmt *f, const float *x, uint8_t *b,
		   size_t nb)
{
	float sc[CHUNK * 16], mins[CHUNK * 16];
	uint8_t L[CHUNK * COH_QK_K];
	vf X[32], LF[32];

	for (size_t k = 0; k < nb; k += CHUNK) {
		const float *xk = x + k * COH_QK_K;
		int m = nb - k < CHUNK ? (int)(nb - k) : CHUNK;
		int groups = m * f->groups;

		for (int g = 0; g < groups; g += W) {
			int count = groups - g < W ? groups - g : W;
			vf the_min, s;

			load_groups(xk + g * f->n, f->n, count, X);
			s = f->fit(X, LF, &the_min);
			for (int j = 0; j < count; j++) {
				sc[g + j] = s[j];
				mins[g + j] = the_min[j];
				for (int i = 0; i < f->n; i++)
					L[(g + j) * f->n + i] = (uint8_t)(int)LF[i][j];
			}
		}
		for (int h = 0; h < m; h++) {
			const float *xh = xk + h * COH_QK_K;
			uint8_t *bh = b + (k + h) * f->bytes;

			if (block_has_nan(xh))
				f->reference(xh, bh);
			else
				f->store(xh, sc + h * f->groups,
					 mins + h * f->groups, L + h * COH_QK_K, bh,
					 requant);
		}
	}
}

static vf q6_k_fit(const vf *X, vf *LF, vf *the_min)
{
	*the_min = fsplat(0);
	return qx_lanes(X, 32, LF);
}

static vf q3_k_fit(const vf *X, vf *LF, vf *the_min)
{
	*the_min = fsplat(0);
	return q3_lanes(X, 4, LF);
}

static vf q2_k_fit(const vf *X, vf *LF, vf *the_min)
{
	static const struct qkx2_opts opts = { 3, -0.5f, 0.1f, 15, 1 };
	vf Wt[16];

	for (int i = 0; i < 16; i++)
		Wt[i] = vabs(X[i]);
	return qkx2_lanes(16, &opts, X, Wt, LF, the_min);
}

/* Q4_K's and Q5_K's weights: av_x + |x|, av_x = sqrt(mean x^2). */
static vf qk_8x32_fit(const struct qkx2_opts *o, const vf *X, vf *LF,
		      vf *the_min)
{
	vf Wt[32], sum_x2 = fsplat(0), av_x;

	for (int i = 0; i < 32; i++)
		sum_x2 += X[i] * X[i];
	sum_x2 = sum_x2 / 32.0f;
	for (int j = 0; j < W; j++)
		av_x[j] = sqrtf(sum_x2[j]);
	for (int i = 0; i < 32; i++)
		Wt[i] = av_x + vabs(X[i]);
	return qkx2_lanes(32, o, X, Wt, LF, the_min);
}

static vf q4_k_fit(const vf *X, vf *LF, vf *the_min)
{
	static const struct qkx2_opts opts = { 15, -1.0f, 0.1f, 20, 0 };

	return qk_8x32_fit(&opts, X, LF, the_min);
}

static vf q5_k_fit(const vf *X, vf *LF, vf *the_min)
{
	static const struct qkx2_opts opts = { 31, -0.5f, 0.1f, 15, 0 };

	return qk_8x32_fit(&opts, X, LF, the_min);
}

/* The symmetric formats' store steps take signed levels and no mins. */
static void q6_k_store(const float *x, const float *sc, const float *mins,
		       uint8_t *L, uint8_t *b, coh__requant_fn rq)
{
	(void)mins;
	coh__q6_k_store(x, sc, (int8_t *)L, b, rq);
}

static void q3_k_store(const float *x, const float *sc, const float *mins,
		       uint8_t *L, uint8_t *b, coh__requant_fn rq)
{
	(void)mins;
	coh__q3_k_store(x, sc, (int8_t *)L, b, rq);
}

static const struct kfmt q2_k = { 16, 16, 84, q2_k_fit, coh__q2_k_store,
				  coh__q2_k_block };
static const struct kfmt q3_k = { 16, 16, 110, q3_k_fit, q3_k_store,
				  coh__q3_k_block };
static const struct kfmt q4_k = { 32, 8, 144, q4_k_fit, coh__q4_k_store,
				  coh__q4_k_block };
static const struct kfmt q5_k = { 32, 8, 176, q5_k_fit, coh__q5_k_store,
				  coh__q5_k_block };
static const struct kfmt q6_k = { 16, 16, 210, q6_k_fit, q6_k_store,
				  coh__q6_k_block };

static void q2_k_rows(const float *x, uint8_t *b, size_t nb)
{
	k_rows(&q2_k, x, b, nb);
}

static void q3_k_rows(const float *x, uint8_t *b, size_t nb)
{
	k_rows(&q3_k, x, b, nb);
}

static void q4_k_rows(const float *x, uint8_t *b, size_t nb)
{
	k_rows(&q4_k, x, b, nb);
}

static void q5_k_rows(const float *x, uint8_t *b, size_t nb)
{
	k_rows(&q5_k, x, b, nb);
}

static void q6_k_rows(const float *x, uint8_t *b, size_t nb)
{
	k_rows(&q6_k, x, b, nb);
}

#define TABLE_NAME2(t)	coh__quant_lanes_##t
#define TABLE_NAME(t)	TABLE_NAME2(t)

const struct coh__quant_lanes TABLE_NAME(PEP_SIMD_TIER) = {
	.q4_0 = q4_0_rows,
	.q8_0 = q8_0_rows,
	.q2_k = q2_k_rows,
	.q3_k = q3_k_rows,
	.q4_k = q4_k_rows,
	.q5_k = q5_k_rows,
	.q6_k = q6_k_rows,
};
