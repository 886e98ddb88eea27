/*
 * The GGML block formats, quantized and dequantized bit for bit as
 * llama.cpp's reference code does (shared/reference/ggml-quants.md).
 *
 * Bit-exactness rests on three things. Every float expression keeps the
 * reference's operand order and types (int * float is a float multiply,
 * w*x*l is (w*x)*l), sums run sequentially, and the library is built with
 * -ffp-contract=off so AArch64 does not fuse them into FMAs. fp32 -> fp16
 * rounds to nearest even. And the few float -> int8 conversions the
 * reference leaves to the hardware (a NaN or an inf when a scale is
 * denormal) are spelled out as the x86-64 build behaves, because that is
 * where llama-quantize's files come from.
 *
 * Blocks are addressed as bytes: the caller's buffer may sit at any offset
 * of a GGUF file, and a packed struct would buy nothing but unaligned
 * loads.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cohete/quant.h>
#include <pepita/simd.h>

#include "block.h"

/* ---- bytes, halves, rounding ---------------------------------------- */

/* ggml's GGML_FP32_TO_BF16: a NaN keeps its top bits and turns quiet. */
static uint16_t f32_to_bf16(float f)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	if ((bits & 0x7fffffff) > 0x7f800000)
		return (uint16_t)(bits >> 16 | 0x40);
	return (uint16_t)((bits + 0x7fff + (bits >> 16 & 1)) >> 16);
}

static float bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* ---- 32-element formats --------------------------------------------- */

/* The signed value of largest magnitude; the first wins a tie. */
static float signed_absmax(const float *x, int n)
{
	float amax = 0.0f, max = 0.0f;

	for (int j = 0; j < n; j++) {
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	}
	return max;
}

void coh__q4_0_block(const float *x, uint8_t *b)
{
	const float d = signed_absmax(x, COH_QK) / -8;
	const float id = d ? 1.0f / d : 0.0f;

	put_f16(b, d);
	for (int j = 0; j < COH_QK / 2; j++) {
		/* + 8.5 then truncation: round half up, offset 8 */
		uint8_t q0 = (uint8_t)COH_MIN(15, cvt_i8(x[j] * id + 8.5f));
		uint8_t q1 = (uint8_t)COH_MIN(15, cvt_i8(x[j + 16] * id + 8.5f));

		b[2 + j] = (uint8_t)(q0 | q1 << 4);
	}
}

static void q5_0_block(const float *x, uint8_t *b)
{
	const float d = signed_absmax(x, COH_QK) / -16;
	const float id = d ? 1.0f / d : 0.0f;
	uint32_t qh = 0;

	put_f16(b, d);
	for (int j = 0; j < COH_QK / 2; j++) {
		uint8_t q0 = (uint8_t)COH_MIN(31, cvt_i8(x[j] * id + 16.5f));
		uint8_t q1 = (uint8_t)COH_MIN(31, cvt_i8(x[j + 16] * id + 16.5f));

		b[6 + j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
		qh |= (uint32_t)(q0 >> 4 & 1) << j;
		qh |= (uint32_t)(q1 >> 4 & 1) << (j + 16);
	}
	for (int k = 0; k < 4; k++)
		b[2 + k] = (uint8_t)(qh >> 8 * k);
}

/* min and max from +-FLT_MAX, as the reference starts them */
static void min_max(const float *x, int n, float *min, float *max)
{
	float lo = 3.40282347e+38f, hi = -3.40282347e+38f;

	for (int j = 0; j < n; j++) {
		if (x[j] < lo)
			lo = x[j];
		if (x[j] > hi)
			hi = x[j];
	}
	*min = lo;
	*max = hi;
}

static void q4_1_block(const float *x, uint8_t *b)
{
	float min, max;

	min_max(x, COH_QK, &min, &max);
	const float d = (max - min) / 15;
	const float id = d ? 1.0f / d : 0.0f;

	put_f16(b, d);
	put_f16(b + 2, min);
	for (int j = 0; j < COH_QK / 2; j++) {
		uint8_t q0 = (uint8_t)COH_MIN(15, cvt_i8((x[j] - min) * id + 0.5f));
		uint8_t q1 = (uint8_t)COH_MIN(15,
					  cvt_i8((x[j + 16] - min) * id + 0.5f));

		b[4 + j] = (uint8_t)(q0 | q1 << 4);
	}
}

static void q5_1_block(const float *x, uint8_t *b)
{
	float min, max;
	uint32_t qh = 0;

	min_max(x, COH_QK, &min, &max);
	const float d = (max - min) / 31;
	const float id = d ? 1.0f / d : 0.0f;

	put_f16(b, d);
	put_f16(b + 2, min);
	for (int j = 0; j < COH_QK / 2; j++) {
		/* no clamp: (x - min) * id + 0.5 stays below 32 */
		uint8_t q0 = (uint8_t)cvt_i8((x[j] - min) * id + 0.5f);
		uint8_t q1 = (uint8_t)cvt_i8((x[j + 16] - min) * id + 0.5f);

		b[8 + j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
		qh |= (uint32_t)(q0 >> 4 & 1) << j;
		qh |= (uint32_t)(q1 >> 4 & 1) << (j + 16);
	}
	for (int k = 0; k < 4; k++)
		b[4 + k] = (uint8_t)(qh >> 8 * k);
}

void coh__q8_0_block(const float *x, uint8_t *b)
{
	float amax = 0.0f;

	for (int j = 0; j < COH_QK; j++)
		amax = COH_MAX(amax, fabsf(x[j]));

	const float d = amax / 127;
	const float id = d ? 1.0f / d : 0.0f;

	put_f16(b, d);
	for (int j = 0; j < COH_QK; j++)
		b[2 + j] = (uint8_t)cvt_i8(roundf(x[j] * id));	/* half away */
}

static void dq4_0_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b);

	for (int j = 0; j < COH_QK / 2; j++) {
		y[j] = ((b[2 + j] & 15) - 8) * d;
		y[j + 16] = ((b[2 + j] >> 4) - 8) * d;
	}
}

static void dq4_1_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b), m = get_f16(b + 2);

	for (int j = 0; j < COH_QK / 2; j++) {
		y[j] = (b[4 + j] & 15) * d + m;
		y[j + 16] = (b[4 + j] >> 4) * d + m;
	}
}

static uint32_t get_qh(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void dq5_0_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b);
	const uint32_t qh = get_qh(b + 2);

	for (int j = 0; j < COH_QK / 2; j++) {
		int q0 = (b[6 + j] & 15) | (int)(qh >> j & 1) << 4;
		int q1 = (b[6 + j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;

		y[j] = (q0 - 16) * d;
		y[j + 16] = (q1 - 16) * d;
	}
}

static void dq5_1_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b), m = get_f16(b + 2);
	const uint32_t qh = get_qh(b + 4);

	for (int j = 0; j < COH_QK / 2; j++) {
		int q0 = (b[8 + j] & 15) | (int)(qh >> j & 1) << 4;
		int q1 = (b[8 + j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;

		y[j] = q0 * d + m;
		y[j + 16] = q1 * d + m;
	}
}

static void dq8_0_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b);

	for (int j = 0; j < COH_QK; j++)
		y[j] = (int8_t)b[2 + j] * d;
}

/* ---- K-quant scale fitting ------------------------------------------ */

/*
 * Symmetric levels [-nmax, nmax - 1] with weights x^2 (ggml's
 * make_qx_quants, rmse_type 1, no importance): try 19 scales around
 * nmax / max and keep the least-squares best. L gets l + nmax.
 */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
	const float max = signed_absmax(x, n);

	if (fabsf(max) < COH_GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}

	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;

	for (int i = 0; i < n; i++) {
		int l = COH_MAX(-nmax, COH_MIN(nmax - 1, nearest_int(iscale * x[i])));
		float w = x[i] * x[i];

		L[i] = (int8_t)(l + nmax);
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}

	float scale = suml2 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;

	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = 0;
		for (int i = 0; i < n; i++) {
			int l = COH_MAX(-nmax, COH_MIN(nmax - 1,
					       nearest_int(iscale * x[i])));
			float w = x[i] * x[i];

			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++) {
				int l = nearest_int(iscale * x[i]);

				L[i] = (int8_t)(nmax +
						COH_MAX(-nmax, COH_MIN(nmax - 1, l)));
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * Q3_K's fit: start from nmax / max, then up to five passes of coordinate
 * descent that move one level at a time while the weighted fit improves.
 */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
	const float max = signed_absmax(x, n);

	if (fabsf(max) < COH_GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}

	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;

	for (int i = 0; i < n; i++) {
		int l = COH_MAX(-nmax, COH_MIN(nmax - 1, nearest_int(iscale * x[i])));
		float w = x[i] * x[i];

		L[i] = (int8_t)l;
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int itry = 0; itry < 5; itry++) {
		int changed = 0;

		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * L[i];

			if (!(slx > 0))
				continue;

			float sl2 = suml2 - w * L[i] * L[i];
			int nl = nearest_int(x[i] * sl2 / slx);

			nl = COH_MAX(-nmax, COH_MIN(nmax - 1, nl));
			if (nl == L[i])
				continue;
			slx += w * x[i] * nl;
			sl2 += w * nl * nl;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)nl;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* The weighted error of levels L at scale and min. */
static float qkx2_error(int n, const float *x, const float *w,
			const uint8_t *L, float scale, float min, int use_mad)
{
	float err = 0;

	for (int i = 0; i < n; i++) {
		float diff = scale * L[i] + min - x[i];

		diff = use_mad ? fabsf(diff) : diff * diff;
		err += w[i] * diff;
	}
	return err;
}

/*
 * Levels [0, nmax] with a scale and a min <= 0 (ggml's make_qkx2_quants):
 * try nstep + 1 scales from (nmax + rmin) / range in rdelta steps, solve
 * the weighted two-parameter least squares for each, keep the smallest
 * weighted error (absolute if use_mad, else squared). *the_min gets -min.
 */
static float make_qkx2_quants(int n, const struct qkx2_opts *o,
			      const float *x, const float *w, uint8_t *L,
			      float *the_min)
{
	const int nmax = o->nmax;
	uint8_t Laux[32];
	float min = x[0], max = x[0];
	float sum_w = w[0];
	float sum_x = sum_w * x[0];

	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.0f;
	}

	float iscale = nmax / (max - min);
	float scale = 1 / iscale;

	for (int i = 0; i < n; i++) {
		int l = nearest_int(iscale * (x[i] - min));

		L[i] = (uint8_t)COH_MAX(0, COH_MIN(nmax, l));
	}
	float best_error = qkx2_error(n, x, w, L, scale, min, o->use_mad);

	for (int is = 0; is <= o->nstep; is++) {
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;

		iscale = (o->rmin + o->rdelta * is + nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			int l = nearest_int(iscale * (x[i] - min));

			l = COH_MAX(0, COH_MIN(nmax, l));
			Laux[i] = (uint8_t)l;
			sum_l += w[i] * l;
			sum_l2 += w[i] * l * l;
			sum_xl += w[i] * l * x[i];
		}

		float D = sum_w * sum_l2 - sum_l * sum_l;

		if (!(D > 0))
			continue;

		float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;

		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}

		float err = qkx2_error(n, x, w, Laux, this_scale, this_min,
				       o->use_mad);

		if (err < best_error) {
			memcpy(L, Laux, (size_t)n);
			best_error = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*the_min = -min;
	return scale;
}

/* ---- K-quants -------------------------------------------------------- */

void coh__requant(const float *x, int n, float d, float dm, int lo, int hi,
		  int off, uint8_t *L)
{
	for (int i = 0; i < n; i++) {
		int l = nearest_int((x[i] + dm) / d);

		L[i] = (uint8_t)(COH_MAX(lo, COH_MIN(hi, l)) + off);
	}
}

/* Q2_K: scales[16] | qs[64] | d | dmin */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < COH_QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] |
						  L[j + l + 32] << 2 |
						  L[j + l + 64] << 4 |
						  L[j + l + 96] << 6);
}

void coh__q2_k_block(const float *x, uint8_t *b)
{
	static const struct qkx2_opts opts = { 3, -0.5f, 0.1f, 15, 1 };
	uint8_t L[COH_QK_K];
	float w[16], mins[16], sc[16];

	for (int j = 0; j < 16; j++) {
		for (int l = 0; l < 16; l++)
			w[l] = fabsf(x[16 * j + l]);
		sc[j] = make_qkx2_quants(16, &opts, x + 16 * j, w, L + 16 * j,
					 &mins[j]);
	}
	coh__q2_k_store(x, sc, mins, L, b, coh__requant);
}

void coh__q2_k_store(const float *x, const float sc[16], const float mins[16],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant)
{
	uint8_t *scales = b;
	float max_scale = 0, max_min = 0;

	for (int j = 0; j < 16; j++) {
		if (sc[j] > max_scale)
			max_scale = sc[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}

	memset(scales, 0, 16);
	put_f16(b + 80, 0.0f);
	if (max_scale > 0) {
		float iscale = 15.0f / max_scale;

		for (int j = 0; j < 16; j++)
			scales[j] = (uint8_t)nearest_int(iscale * sc[j]);
		put_f16(b + 80, max_scale / 15.0f);
	}
	put_f16(b + 82, 0.0f);
	if (max_min > 0) {
		float iscale = 15.0f / max_min;

		for (int j = 0; j < 16; j++)
			scales[j] |= (uint8_t)((unsigned int)nearest_int(iscale * mins[j]) << 4);
		put_f16(b + 82, max_min / 15.0f);
	}

	/* final pass with the stored (rounded) scales */
	for (int j = 0; j < 16; j++) {
		const float d = get_f16(b + 80) * (scales[j] & 15);

		if (!d)
			continue;	/* keep the fitted levels */

		const float dm = get_f16(b + 82) * (scales[j] >> 4);

		requant(x + 16 * j, 16, d, dm, 0, 3, 0, L + 16 * j);
	}
	pack_2bit(L, b + 16);
}

/* Q3_K: hmask[32] | qs[64] | scales[12] | d */
static int q3_k_scale(const uint8_t *s, int j)
{
	int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
	int hi = s[8 + j % 4] >> (2 * (j / 4)) & 3;

	return (lo | hi << 4) - 32;
}

static void q3_k_scales(uint8_t *b, const float *sc)
{
	uint8_t *s = b + 96;
	float max_scale = 0, amax = 0;

	for (int j = 0; j < 16; j++) {
		if (fabsf(sc[j]) > amax) {
			amax = fabsf(sc[j]);
			max_scale = sc[j];
		}
	}
	memset(s, 0, 12);
	if (!max_scale) {
		put_f16(b + 108, 0.0f);
		return;
	}

	float iscale = -32.0f / max_scale;

	for (int j = 0; j < 16; j++) {
		int8_t l = (int8_t)nearest_int(iscale * sc[j]);

		l = (int8_t)(COH_MAX(-32, COH_MIN(31, l)) + 32);
		if (j < 8)
			s[j] = (uint8_t)(l & 15);
		else
			s[j - 8] |= (uint8_t)((l & 15) << 4);
		s[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
	}
	put_f16(b + 108, 1 / iscale);
}

void coh__q3_k_block(const float *x, uint8_t *b)
{
	int8_t L[COH_QK_K];
	float sc[16];

	for (int j = 0; j < 16; j++)
		sc[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
	coh__q3_k_store(x, sc, L, b, coh__requant);
}

void coh__q3_k_store(const float *x, const float sc[16], int8_t L[COH_QK_K],
		     uint8_t *b, coh__requant_fn requant)
{
	q3_k_scales(b, sc);

	for (int j = 0; j < 16; j++) {
		const float d = get_f16(b + 108) * (int8_t)q3_k_scale(b + 96, j);

		if (!d)
			continue;
		requant(x + 16 * j, 16, d, 0.0f, -4, 3, 4,
			(uint8_t *)L + 16 * j);
	}

	/* bit 2 of element j to hmask[j % 32] bit j / 32, low 2 bits packed */
	uint8_t lo[COH_QK_K];

	memset(b, 0, 32);
	for (int j = 0; j < COH_QK_K; j++) {
		lo[j] = (uint8_t)L[j];
		if (L[j] > 3) {
			b[j % 32] |= (uint8_t)(1 << (j / 32));
			lo[j] = (uint8_t)(L[j] - 4);
		}
	}
	pack_2bit(lo, b + 32);
}

/* Q4_K / Q5_K: d | dmin | scales[12] | (qh[32]) | qs[128] */
static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (uint8_t)((q[j + 4] & 15) | (q[j - 4] >> 6) << 4);
		*m = (uint8_t)((q[j + 4] >> 4) | (q[j] >> 6) << 4);
	}
}

/* Q4_K's and Q5_K's search: the eight sub-blocks' scales, mins, levels. */
static void qk_fit_8x32(const float *x, uint8_t *L, float sc[8], float mins[8],
			const struct qkx2_opts *o)
{
	float w[32];

	for (int j = 0; j < 8; j++) {
		const float *xj = x + 32 * j;
		float sum_x2 = 0;

		for (int l = 0; l < 32; l++)
			sum_x2 += xj[l] * xj[l];

		float av_x = sqrtf(sum_x2 / 32);

		for (int l = 0; l < 32; l++)
			w[l] = av_x + fabsf(xj[l]);
		sc[j] = make_qkx2_quants(32, o, xj, w, L + 32 * j, &mins[j]);
	}
}

/*
 * What Q4_K and Q5_K share after the search: store d, dmin and the 6-bit
 * scales, and requantize to levels [0, nmax] in L.
 */
static void qk_store_8x32(const float *x, const float sc[8],
			  const float mins[8], uint8_t *L, uint8_t *b, int nmax,
			  coh__requant_fn requant)
{
	uint8_t *s = b + 4;
	float max_scale = 0, max_min = 0;

	for (int j = 0; j < 8; j++) {
		if (sc[j] > max_scale)
			max_scale = sc[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}

	float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
	float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;

	for (int j = 0; j < 8; j++) {
		uint8_t ls = (uint8_t)nearest_int(inv_scale * sc[j]);
		uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);

		ls = COH_MIN(63, ls);
		lm = COH_MIN(63, lm);
		if (j < 4) {
			s[j] = ls;
			s[j + 4] = lm;
		} else {
			s[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
			s[j - 4] |= (uint8_t)((ls >> 4) << 6);
			s[j] |= (uint8_t)((lm >> 4) << 6);
		}
	}
	put_f16(b, max_scale / 63.0f);
	put_f16(b + 2, max_min / 63.0f);

	for (int j = 0; j < 8; j++) {
		uint8_t scj, mj;

		get_scale_min_k4(j, s, &scj, &mj);

		const float d = get_f16(b) * scj;

		if (!d)
			continue;

		const float dm = get_f16(b + 2) * mj;

		requant(x + 32 * j, 32, d, dm, 0, nmax, 0, L + 32 * j);
	}
}

void coh__q4_k_block(const float *x, uint8_t *b)
{
	static const struct qkx2_opts opts = { 15, -1.0f, 0.1f, 20, 0 };
	uint8_t L[COH_QK_K];
	float sc[8], mins[8];

	qk_fit_8x32(x, L, sc, mins, &opts);
	coh__q4_k_store(x, sc, mins, L, b, coh__requant);
}

void coh__q4_k_store(const float *x, const float sc[8], const float mins[8],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant)
{
	uint8_t *qs = b + 16;

	qk_store_8x32(x, sc, mins, L, b, 15, requant);
	for (int j = 0; j < COH_QK_K; j += 64)
		for (int l = 0; l < 32; l++)
			qs[j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
}

void coh__q5_k_block(const float *x, uint8_t *b)
{
	static const struct qkx2_opts opts = { 31, -0.5f, 0.1f, 15, 0 };
	uint8_t L[COH_QK_K];
	float sc[8], mins[8];

	qk_fit_8x32(x, L, sc, mins, &opts);
	coh__q5_k_store(x, sc, mins, L, b, coh__requant);
}

void coh__q5_k_store(const float *x, const float sc[8], const float mins[8],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant)
{
	uint8_t *qh = b + 16, *qs = b + 48;

	qk_store_8x32(x, sc, mins, L, b, 31, requant);
	memset(qh, 0, 32);
	for (int c = 0; c < 4; c++) {
		for (int l = 0; l < 32; l++) {
			int l1 = L[64 * c + l], l2 = L[64 * c + l + 32];

			qh[l] |= (uint8_t)((l1 >> 4) << (2 * c) |
					   (l2 >> 4) << (2 * c + 1));
			qs[32 * c + l] = (uint8_t)((l1 & 15) | (l2 & 15) << 4);
		}
	}
}

/* Q6_K: ql[128] | qh[64] | scales[16] int8 | d */
void coh__q6_k_block(const float *x, uint8_t *b)
{
	int8_t L[COH_QK_K];
	float sc[16];

	for (int j = 0; j < 16; j++)
		sc[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
	coh__q6_k_store(x, sc, L, b, coh__requant);
}

void coh__q6_k_store(const float *x, const float sc[16], int8_t L[COH_QK_K],
		     uint8_t *b, coh__requant_fn requant)
{
	int8_t *scales = (int8_t *)(b + 192);
	float max_scale = 0, max_abs = 0;

	for (int j = 0; j < 16; j++) {
		if (fabsf(sc[j]) > max_abs) {
			max_abs = fabsf(sc[j]);
			max_scale = sc[j];
		}
	}
	if (max_abs < COH_GROUP_MAX_EPS) {
		memset(b, 0, 210);
		return;
	}

	float iscale = -128.0f / max_scale;

	put_f16(b + 208, 1 / iscale);
	for (int j = 0; j < 16; j++)
		scales[j] = (int8_t)COH_MIN(127, nearest_int(iscale * sc[j]));

	for (int j = 0; j < 16; j++) {
		const float d = get_f16(b + 208) * scales[j];

		if (!d)
			continue;
		requant(x + 16 * j, 16, d, 0.0f, -32, 31, 32,
			(uint8_t *)L + 16 * j);
	}

	uint8_t *ql = b, *qh = b + 128;

	for (int j = 0; j < COH_QK_K; j += 128) {
		for (int l = 0; l < 32; l++) {
			const uint8_t *q = (const uint8_t *)L + j + l;

			ql[l] = (uint8_t)((q[0] & 15) | (q[64] & 15) << 4);
			ql[l + 32] = (uint8_t)((q[32] & 15) | (q[96] & 15) << 4);
			qh[l] = (uint8_t)(q[0] >> 4 | (q[32] >> 4) << 2 |
					  (q[64] >> 4) << 4 | (q[96] >> 4) << 6);
		}
		ql += 64;
		qh += 32;
	}
}

static void dq2_k_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b + 80), min = get_f16(b + 82);

	for (int e = 0; e < COH_QK_K; e++) {
		uint8_t sc = b[e / 16];
		int r = e % 128;
		int q = b[16 + e / 128 * 32 + r % 32] >> (2 * (r / 32)) & 3;
		float dl = d * (sc & 15), ml = min * (sc >> 4);

		y[e] = dl * q - ml;
	}
}

static void dq3_k_block(const uint8_t *b, float *y)
{
	const float d_all = get_f16(b + 108);

	for (int e = 0; e < COH_QK_K; e++) {
		float dl = d_all * q3_k_scale(b + 96, e / 16);
		int r = e % 128;
		int q = b[32 + e / 128 * 32 + r % 32] >> (2 * (r / 32)) & 3;
		int h = b[e % 32] >> (e / 32) & 1;

		y[e] = dl * (q - (h ? 0 : 4));
	}
}

static void dq45_k_block(const uint8_t *b, float *y, int five)
{
	const float d = get_f16(b), min = get_f16(b + 2);
	const uint8_t *qh = b + 16, *qs = b + (five ? 48 : 16);

	for (int e = 0; e < COH_QK_K; e++) {
		uint8_t sc, m;
		int c = e / 64, hi = e / 32 % 2, l = e % 32;
		int q = qs[32 * c + l] >> (4 * hi) & 15;

		if (five && (qh[l] >> (2 * c + hi) & 1))
			q += 16;
		get_scale_min_k4(e / 32, b + 4, &sc, &m);

		float d1 = d * sc, m1 = min * m;

		y[e] = d1 * q - m1;
	}
}

static void dq6_k_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b + 208);
	const int8_t *sc = (const int8_t *)(b + 192);

	for (int e = 0; e < COH_QK_K; e++) {
		int n = e / 128, r = e % 128, l = r % 32, k = r / 32;
		const uint8_t *ql = b + 64 * n, *qh = b + 128 + 32 * n;
		/* ql: k 0 low nibble of [l], 1 of [l + 32], 2, 3 high nibbles */
		int lo = ql[l + 32 * (k & 1)] >> (4 * (k >> 1)) & 15;
		int q = (lo | (qh[l] >> (2 * k) & 3) << 4) - 32;

		y[e] = d * sc[e / 16] * q;
	}
}

static void q4_k_dq(const uint8_t *b, float *y)
{
	dq45_k_block(b, y, 0);
}

static void q5_k_dq(const uint8_t *b, float *y)
{
	dq45_k_block(b, y, 1);
}

/* ---- IQ4_NL ---------------------------------------------------------- */

/* IQ4_NL: d | qs[16]; a nibble indexes these levels, times d. */
static const int8_t iq4nl_values[16] = {
	-127, -104, -83, -65, -49, -35, -22, -10,
	1, 13, 25, 38, 53, 69, 89, 113
};

/*
 * The nearest level (ggml's best_index_int8): a binary search, then the
 * nearer of the two levels around x, a tie going up. A NaN ends at 15.
 * The libllama scripts/fetch-llama.sh pins searches so; llama.cpp's later
 * branchless search (2x against the sum of two levels) gives the same
 * index for every float but NaN, which it sends to 0.
 */
static int iq4nl_index(float x)
{
	const int8_t *val = iq4nl_values;
	int ml = 0, mu = 15;

	if (x <= val[0])
		return 0;
	if (x >= val[15])
		return 15;
	while (mu - ml > 1) {
		int mav = (ml + mu) / 2;

		if (x < val[mav])
			mu = mav;
		else
			ml = mav;
	}
	return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

/* The weighted sums of the levels x * id picks (weights x^2). */
static void iq4nl_sums(const float *x, const float *w, float id,
		       float *sumqx, float *sumq2)
{
	float sqx = 0, sq2 = 0;

	for (int j = 0; j < COH_QK; j++) {
		float q = iq4nl_values[iq4nl_index(id * x[j])];

		sqx += w[j] * q * x[j];
		sq2 += w[j] * q * q;
	}
	*sumqx = sqx;
	*sumq2 = sq2;
}

/*
 * quantize_iq4_nl's scale (quantize_row_iq4_nl_impl, one 32-element
 * block, no importance, ntry 7): the least-squares fit for the levels
 * of max / 127, then of (itry - 127) / max for itry = -7 .. 7, the best
 * kept. Without an importance matrix only a NaN fails sumq2 > 0 (the max
 * alone adds x^2 113^2 > 0); the first fit is then 0, as since llama.cpp
 * PR 20460 and in the pinned libllama (NaN, a refused block, before).
 */
static float iq4nl_scale(const float *x)
{
	const float max = signed_absmax(x, COH_QK);
	float w[COH_QK], sumqx, sumq2;

	for (int j = 0; j < COH_QK; j++)
		w[j] = x[j] * x[j];
	if (fabsf(max) < COH_GROUP_MAX_EPS)
		return 0.0f;

	float d = -max / iq4nl_values[0];

	iq4nl_sums(x, w, 1 / d, &sumqx, &sumq2);
	d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;

	float best = d * sumqx;

	for (int itry = -7; itry <= 7; itry++) {
		iq4nl_sums(x, w, (itry + iq4nl_values[0]) / max, &sumqx,
			   &sumq2);
		if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
			d = sumqx / sumq2;
			best = d * sumqx;
		}
	}
	return d;
}

/* The levels come again from the fp32 scale, not the stored fp16 one. */
static void iq4_nl_block(const float *x, uint8_t *b)
{
	const float d = iq4nl_scale(x);
	const float id = d ? 1 / d : 0;

	put_f16(b, d);
	for (int j = 0; j < COH_QK / 2; j++)
		b[2 + j] = (uint8_t)(iq4nl_index(id * x[j]) |
				     iq4nl_index(id * x[j + 16]) << 4);
}

static void dq_iq4_nl_block(const uint8_t *b, float *y)
{
	const float d = get_f16(b);

	for (int j = 0; j < COH_QK / 2; j++) {
		y[j] = d * iq4nl_values[b[2 + j] & 15];
		y[j + 16] = d * iq4nl_values[b[2 + j] >> 4];
	}
}

/* ---- dispatch -------------------------------------------------------- */

typedef void (*quant_fn)(const float *x, uint8_t *b);
typedef void (*dequant_fn)(const uint8_t *b, float *y);

/* A format's code; its block size and bytes come from coh_ggml_type_size. */
struct codec {
	quant_fn quant;			/* NULL: F32, F16, BF16 */
	dequant_fn dequant;
	uint8_t nscales;		/* fp16 scales to validate... */
	uint8_t scale_at[2];		/* ...at these offsets */
};

struct format {
	const struct codec *c;
	unsigned int block;		/* elements */
	unsigned int bytes;		/* per block */
};

static const struct codec *codec_of(enum coh_ggml_type type)
{
	static const struct codec plain = { NULL, NULL, 0, { 0 } };
	static const struct codec q4_0 = { coh__q4_0_block, dq4_0_block, 1, { 0 } };
	static const struct codec q4_1 = { q4_1_block, dq4_1_block, 2, { 0, 2 } };
	static const struct codec q5_0 = { q5_0_block, dq5_0_block, 1, { 0 } };
	static const struct codec q5_1 = { q5_1_block, dq5_1_block, 2, { 0, 2 } };
	static const struct codec q8_0 = { coh__q8_0_block, dq8_0_block, 1, { 0 } };
	static const struct codec q2_k = { coh__q2_k_block, dq2_k_block, 2,
					   { 80, 82 } };
	static const struct codec q3_k = { coh__q3_k_block, dq3_k_block, 1,
					   { 108 } };
	static const struct codec q4_k = { coh__q4_k_block, q4_k_dq, 2, { 0, 2 } };
	static const struct codec q5_k = { coh__q5_k_block, q5_k_dq, 2, { 0, 2 } };
	static const struct codec q6_k = { coh__q6_k_block, dq6_k_block, 1,
					   { 208 } };
	static const struct codec iq4_nl = { iq4_nl_block, dq_iq4_nl_block, 1,
					     { 0 } };

	switch (type) {
	case COH_GGML_F32:
	case COH_GGML_F16:
	case COH_GGML_BF16:	return &plain;
	case COH_GGML_Q4_0:	return &q4_0;
	case COH_GGML_Q4_1:	return &q4_1;
	case COH_GGML_Q5_0:	return &q5_0;
	case COH_GGML_Q5_1:	return &q5_1;
	case COH_GGML_Q8_0:	return &q8_0;
	case COH_GGML_Q2_K:	return &q2_k;
	case COH_GGML_Q3_K:	return &q3_k;
	case COH_GGML_Q4_K:	return &q4_k;
	case COH_GGML_Q5_K:	return &q5_k;
	case COH_GGML_Q6_K:	return &q6_k;
	case COH_GGML_IQ4_NL:	return &iq4_nl;
	default:		return NULL;
	}
}

/* The format of type, or NULL if we neither quantize nor dequantize it. */
static const struct format *format_of(enum coh_ggml_type type,
				      struct format *f)
{
	const struct codec *c = codec_of(type);

	if (!c || coh_ggml_type_size(type, &f->block, &f->bytes) < 0)
		return NULL;
	f->c = c;
	return f;
}

size_t coh_quant_block_elems(enum coh_ggml_type type)
{
	struct format fmt;
	const struct format *f = format_of(type, &fmt);

	return f ? f->block : 0;
}

size_t coh_quant_row_bytes(enum coh_ggml_type type, size_t n)
{
	struct format fmt;
	const struct format *f = format_of(type, &fmt);

	if (!f || n % f->block)
		return 0;
	return n / f->block * f->bytes;
}

/*
 * lanes.c's tables, indexed as pepita's dispatch numbers the tiers: the
 * one of the tier it runs is used (PEPITA_SIMD forces one, as for
 * pepita's own kernels). NULL for the scalar tier, which runs the
 * reference itself, and for the other architecture's tiers, which this
 * build does not have (src/cohete/meson.build builds lanes.c for every
 * vector tier pepita builds).
 */
static const struct coh__quant_lanes *const lanes_of_tier[PEP_SIMD_ISA_COUNT] = {
#if defined(__x86_64__)
	[PEP_SIMD_SSE4] = &coh__quant_lanes_sse4,
	[PEP_SIMD_AVX2] = &coh__quant_lanes_avx2,
	[PEP_SIMD_AVX512] = &coh__quant_lanes_avx512,
#elif defined(__aarch64__)
	[PEP_SIMD_NEON] = &coh__quant_lanes_neon,
#endif
};

static coh__quant_rows_fn lanes_for(enum coh_ggml_type type)
{
	const struct coh__quant_lanes *k = lanes_of_tier[pep_simd_active()];

	if (!k)
		return NULL;
	switch (type) {
	case COH_GGML_Q4_0:	return k->q4_0;
	case COH_GGML_Q8_0:	return k->q8_0;
	case COH_GGML_Q2_K:	return k->q2_k;
	case COH_GGML_Q3_K:	return k->q3_k;
	case COH_GGML_Q4_K:	return k->q4_k;
	case COH_GGML_Q5_K:	return k->q5_k;
	case COH_GGML_Q6_K:	return k->q6_k;
	default:		return NULL;
	}
}

int coh_quantize_row(enum coh_ggml_type type, const float *x, void *out,
		     size_t n)
{
	struct format fmt;
	const struct format *f = format_of(type, &fmt);
	coh__quant_rows_fn rows;
	uint8_t *b = out;

	if (!f || n % f->block || (n && (!x || !out)))
		return -EINVAL;
	rows = lanes_for(type);
	if (rows) {
		rows(x, b, n / f->block);
		return 0;
	}

	for (size_t i = 0; i < n / f->block; i++) {
		const float *xi = x + i * f->block;
		uint8_t *bi = b + i * f->bytes;

		if (f->c->quant)
			f->c->quant(xi, bi);
		else if (type == COH_GGML_F32)
			memcpy(bi, xi, 4);
		else if (type == COH_GGML_F16)
			put_le16(bi, f32_to_f16(*xi));
		else
			put_le16(bi, f32_to_bf16(*xi));
	}
	return 0;
}

int coh_dequantize_row(enum coh_ggml_type type, const void *in, float *y,
		       size_t n)
{
	struct format fmt;
	const struct format *f = format_of(type, &fmt);
	const uint8_t *b = in;

	if (!f || n % f->block || (n && (!in || !y)))
		return -EINVAL;

	for (size_t i = 0; i < n / f->block; i++) {
		const uint8_t *bi = b + i * f->bytes;
		float *yi = y + i * f->block;

		if (f->c->dequant)
			f->c->dequant(bi, yi);
		else if (type == COH_GGML_F32)
			memcpy(yi, bi, 4);
		else if (type == COH_GGML_F16)
			*yi = get_f16(bi);
		else
			*yi = bf16_to_f32(get_le16(bi));
	}
	return 0;
}

int coh_quant_row_finite(enum coh_ggml_type type, const void *in, size_t n)
{
	struct format fmt;
	const struct format *f = format_of(type, &fmt);
	const uint8_t *b = in;

	if (!f || n % f->block || (n && !in))
		return -EINVAL;

	for (size_t i = 0; i < n / f->block; i++) {
		const uint8_t *bi = b + i * f->bytes;
		float v;

		if (!f->c->quant) {
			/* plain rows: every value must be finite */
			if (type == COH_GGML_F32)
				memcpy(&v, bi, 4);
			else if (type == COH_GGML_F16)
				v = get_f16(bi);
			else
				v = bf16_to_f32(get_le16(bi));
			if (!isfinite(v))
				return 0;
			continue;
		}
		for (int k = 0; k < f->c->nscales; k++)
			if (!isfinite(get_f16(bi + f->c->scale_at[k])))
				return 0;
	}
	return 1;
}
