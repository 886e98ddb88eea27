/*
 * The GGML block formats against the reference quantizers' rules
 * (shared/reference/ggml-quants.md):
 *  - blocks derived by hand, with the derivation beside them: ties,
 *    clamps, element order, zero / equal / denormal / huge blocks;
 *  - rows checked against tests/cohete/quant-golden.py, a separate plain
 *    Python implementation of quantize_row_<type>_ref and the dequantizers
 *    with float32 emulated after every operation: all eleven formats,
 *    six rows byte for byte and 256 more through checksums;
 *  - per-element error bounds and RMSE ordering on random rows;
 *  - the same bytes whatever the alignment of input and output.
 * Runs under qemu-aarch64 too: the bytes must not depend on the ISA.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>

#include "harness.h"

#define QK	32
#define QK_K	256

/* ---- inputs both this file and quant-golden.py compute exactly ------ */

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Sum of three 16-bit uniforms, centred, times 2^(exp2 - 15). */
static void gauss_row(uint32_t seed, float *x, size_t n, int exp2)
{
	for (size_t i = 0; i < n; i++) {
		int32_t a = (int32_t)(xorshift32(&seed) >> 16);
		int32_t b = (int32_t)(xorshift32(&seed) >> 16);
		int32_t c = (int32_t)(xorshift32(&seed) >> 16);

		x[i] = ldexpf((float)(a + b + c - 3 * 32768), exp2 - 15);
	}
}

static void make_case(const char *name, float *x)
{
	if (!strcmp(name, "ramp")) {
		for (int i = 0; i < 256; i++)
			x[i] = i / 256.0f;
	} else if (!strcmp(name, "signed_ramp")) {
		for (int i = 0; i < 256; i++)
			x[i] = (i - 100) / 64.0f;
	} else if (!strcmp(name, "gauss1")) {
		gauss_row(1, x, 256, 0);
	} else if (!strcmp(name, "gauss2_small")) {
		gauss_row(2, x, 256, -10);
	} else if (!strcmp(name, "gauss3_big")) {
		gauss_row(3, x, 256, 10);
	} else {				/* spiky */
		gauss_row(7, x, 256, 0);
		x[3] = 40.0f;
		x[200] = -25.0f;
	}
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned int v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void dump(const char *what, const uint8_t *b, size_t n)
{
	fprintf(stderr, "%s:", what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", b[i]);
	fprintf(stderr, "\n");
}

/* Quantize one 32- or 256-element block and compare with `want`. */
static int block_is(enum coh_ggml_type type, const float *x,
		    const uint8_t *want, size_t len)
{
	uint8_t got[256];
	size_t n = coh_quant_block_elems(type);

	if (coh_quant_row_bytes(type, n) != len ||
	    coh_quantize_row(type, x, got, n) != 0)
		return 0;
	if (memcmp(got, want, len)) {
		dump("want", want, len);
		dump("got ", got, len);
		return 0;
	}
	return 1;
}

/* ---- 32-element blocks derived by hand ------------------------------ */

/*
 * Q4_0, d = max / -8 with max = -8 (x[0]): d = 1.0 (fp16 0x3c00), id = 1,
 * q = MIN(15, trunc(x + 8.5)), so ties round up and 7.5.. clamp to 15.
 * Low nibble of qs[j] is x[j] (x[j] = j - 8 gives q = j), the high nibble
 * x[j + 16]:
 *   0.5 -> 9.0 -> 9     -0.5 -> 8.0 -> 8     1.5 -> 10   -1.5 -> 7
 *   7 -> 15.5 -> 15     7.5 -> 16 -> 15      7.6 -> 16.1 -> 15 (clamp)
 *  -7.5 -> 1.0 -> 1    -7.6 -> 0.9 -> 0      2.25 -> 10.75 -> 10
 *  -2.25 -> 6.25 -> 6   0 -> 8   3 -> 11   -3 -> 5   6.5 -> 15   -6.5 -> 2
 */
static int test_q4_0_hand(void)
{
	static const float hi[16] = { 0.5f, -0.5f, 1.5f, -1.5f, 7, 7.5f, 7.6f,
				      -7.5f, -7.6f, 2.25f, -2.25f, 0, 3, -3,
				      6.5f, -6.5f };
	static const uint8_t want[18] = {
		0x00, 0x3c, 0x90, 0x81, 0xa2, 0x73, 0xf4, 0xf5, 0xf6, 0x17,
		0x08, 0xa9, 0x6a, 0x8b, 0xbc, 0x5d, 0xfe, 0x2f };
	/* positive max 8: d = -1 (0xbc00), 8 -> -8 + 8.5 -> 0, -7 -> 15,
	 * 1 -> 7, 0 -> 8; x[16] = 0 gives the 0x80 of qs[0] */
	static const uint8_t want_pos[18] = {
		0x00, 0xbc, 0x80, 0x8f, 0x87, 0x88, 0x88, 0x88, 0x88, 0x88,
		0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88 };
	float x[32] = { 0 };
	uint8_t want2[18];

	for (int j = 0; j < 16; j++) {
		x[j] = (float)(j - 8);
		x[16 + j] = hi[j];
	}
	CHECK(block_is(COH_GGML_Q4_0, x, want, 18));

	memset(x, 0, sizeof(x));
	x[0] = 8;
	x[1] = -7;
	x[2] = 1;
	CHECK(block_is(COH_GGML_Q4_0, x, want_pos, 18));

	/* all zero: max stays 0.0f, d = 0.0f / -8 = -0.0f (fp16 0x8000),
	 * id = 0, every q = trunc(8.5) = 8 */
	memset(x, 0, sizeof(x));
	memset(want2, 0x88, 18);
	want2[0] = 0x00;
	want2[1] = 0x80;
	CHECK(block_is(COH_GGML_Q4_0, x, want2, 18));

	/* all 3.0: d = -0.375 (0xb600), id = -2.6666667f, 3 * id rounds to
	 * -8.0f, + 8.5 -> 0: every nibble 0 */
	for (int j = 0; j < 32; j++)
		x[j] = 3.0f;
	memset(want2, 0, 18);
	want2[1] = 0xb6;
	CHECK(block_is(COH_GGML_Q4_0, x, want2, 18));
	return T_PASS;
}

/*
 * Q4_0 edges. Denormal: max = 2^-133, d = -2^-136 (fp16 -0, 0x8000) and
 * id = 1/d overflows to -inf, so x * id is -inf or NaN (0 * inf); the
 * reference's x86-64 build turns both into INT32_MIN, low byte 0: every
 * nibble 0. Huge: max = 600000 > 8 x 65504, d = -75000 overflows fp16 to
 * -inf (0xfc00) but the quants use the fp32 id: 600000 -> 0,
 * -300000 -> 4 + 8.5 -> 12, 0 -> 8. llama-quantize would abort on such a
 * block ("quantized data validation failed"); we write the same bytes and
 * report it through coh_quant_row_finite().
 */
static int test_q4_0_edges(void)
{
	static const uint8_t huge[18] = {
		0x00, 0xfc, 0x80, 0x8c, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
		0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88 };
	float x[32] = { 0 };
	uint8_t want[18] = { 0x00, 0x80 };	/* rest 0 */
	uint8_t b[18];

	x[0] = 0x1p-133f;
	CHECK(block_is(COH_GGML_Q4_0, x, want, 18));

	x[0] = 600000.0f;
	x[1] = -300000.0f;
	CHECK(block_is(COH_GGML_Q4_0, x, huge, 18));
	CHECK(coh_quantize_row(COH_GGML_Q4_0, x, b, 32) == 0);
	CHECK(coh_quant_row_finite(COH_GGML_Q4_0, b, 32) == 0);
	x[0] = 500000.0f;			/* d = -62500: finite */
	CHECK(coh_quantize_row(COH_GGML_Q4_0, x, b, 32) == 0);
	CHECK(coh_quant_row_finite(COH_GGML_Q4_0, b, 32) == 1);
	return T_PASS;
}

/*
 * Q4_1: min 0, max 15 -> d = 1 (0x3c00), m = 0; q = MIN(15, trunc(x + .5)).
 * x[j] = j - 0.5 (j >= 1) -> exactly j (tie rounds up); x[0] = 0;
 * x[16] = 15 -> 15.5 -> 15; x[16 + j] = 15 - j. qs[j] = j | (15 - j) << 4.
 * Then min -4, max 11: d = 1, m = -4 (0xc400); -4 -> 0, 11 -> 15,
 * -3.5 -> 0.5 + 0.5 -> 1.
 */
static int test_q4_1_hand(void)
{
	float x[32];
	uint8_t want[20] = { 0x00, 0x3c, 0x00, 0x00 };

	x[0] = 0;
	x[16] = 15;
	for (int j = 1; j < 16; j++) {
		x[j] = j - 0.5f;
		x[16 + j] = (float)(15 - j);
	}
	for (int j = 0; j < 16; j++)
		want[4 + j] = (uint8_t)(j | (15 - j) << 4);
	CHECK(block_is(COH_GGML_Q4_1, x, want, 20));

	for (int j = 0; j < 32; j++)
		x[j] = -3.5f;
	x[0] = -4;
	x[1] = 11;
	memset(want + 4, 0x11, 16);
	want[3] = 0xc4;
	want[4] = 0x10;
	want[5] = 0x1f;
	CHECK(block_is(COH_GGML_Q4_1, x, want, 20));
	return T_PASS;
}

/*
 * Q5_0: max = -16 -> d = 1, q = MIN(31, trunc(x + 16.5)). x[j] = j - 16
 * -> q = j; x[16 + j] = j -> 16 + j, except x[16] = 0.5 -> 17 (tie up)
 * and x[31] = 15.6 -> 32.1 -> 31 (clamp). Low nibbles j | (q_hi & 15) << 4;
 * bit 4 of every high-half element is set: qh = 0xffff0000 (LE).
 */
static int test_q5_0_hand(void)
{
	float x[32];
	uint8_t want[22] = { 0x00, 0x3c, 0x00, 0x00, 0xff, 0xff };

	for (int j = 0; j < 16; j++) {
		x[j] = (float)(j - 16);
		x[16 + j] = (float)j;
	}
	x[16] = 0.5f;
	x[31] = 15.6f;
	for (int j = 0; j < 16; j++)
		want[6 + j] = (uint8_t)(j | j << 4);
	want[6] = 0x10;				/* q[16] = 17 */
	CHECK(block_is(COH_GGML_Q5_0, x, want, 22));
	return T_PASS;
}

/*
 * Q5_1: min 0, max 31 -> d = 1, m = 0, q = trunc(x + 0.5), no clamp.
 * x[j] = j except x[1] = 0.5 (-> 1, tie up) and x[2] = 2.49 (-> 2):
 * qs[j] = j | j << 4, qh = 0xffff0000.
 */
static int test_q5_1_hand(void)
{
	float x[32];
	uint8_t want[24] = { 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff };

	for (int j = 0; j < 32; j++)
		x[j] = (float)j;
	x[1] = 0.5f;
	x[2] = 2.49f;
	for (int j = 0; j < 16; j++)
		want[8 + j] = (uint8_t)(j | j << 4);
	CHECK(block_is(COH_GGML_Q5_1, x, want, 24));
	return T_PASS;
}

/*
 * Q8_0: amax = 127 -> d = 1 (0x3c00), id = 1, q = roundf(x): halves go
 * away from zero (2.5 -> 3, -2.5 -> -3, 0.5 -> 1, 126.5 -> 127), not to
 * even as nearest_int would. All -1: d = 1/127 -> fp16 0x2008, q = -127.
 * All zero: d = +0, q = 0.
 */
static int test_q8_0_hand(void)
{
	static const float lead[16] = { 127, -127, 2.5f, -2.5f, 0.5f, -0.5f,
					 1.5f, -1.5f, 126.5f, -126.5f, 0.25f,
					 -0.75f, 3, -3, 100, 64 };
	static const uint8_t want_lead[16] = {
		0x7f, 0x81, 0x03, 0xfd, 0x01, 0xff, 0x02, 0xfe, 0x7f, 0x81,
		0x00, 0xff, 0x03, 0xfd, 0x64, 0x40 };
	float x[32] = { 0 };
	uint8_t want[34] = { 0x00, 0x3c };

	memcpy(x, lead, sizeof(lead));
	memcpy(want + 2, want_lead, 16);
	CHECK(block_is(COH_GGML_Q8_0, x, want, 34));

	for (int j = 0; j < 32; j++)
		x[j] = -1;
	memset(want + 2, 0x81, 32);
	want[0] = 0x08;
	want[1] = 0x20;
	CHECK(block_is(COH_GGML_Q8_0, x, want, 34));

	memset(x, 0, sizeof(x));
	memset(want, 0, 34);
	CHECK(block_is(COH_GGML_Q8_0, x, want, 34));
	return T_PASS;
}

/* ---- K-quant super-blocks derived by hand --------------------------- */

/*
 * All zero: every fit returns scale 0 and levels 0 (make_q3_quants and
 * make_qx_quants return before adding nmax), max scale and min stay 0,
 * every d and dmin is fp16(0): each format is all zero bytes.
 */
static int test_k_zero(void)
{
	static const enum coh_ggml_type t[5] = {
		COH_GGML_Q2_K, COH_GGML_Q3_K, COH_GGML_Q4_K, COH_GGML_Q5_K,
		COH_GGML_Q6_K };
	static const float x[QK_K];
	static const uint8_t zero[256];

	for (int i = 0; i < 5; i++)
		CHECK(block_is(t[i], x, zero, coh_quant_row_bytes(t[i], QK_K)));
	return T_PASS;
}

/*
 * All 1.0 (every sub-block alike, so every least-squares candidate has
 * D = 0 or ties, and the first fit stands):
 *
 * Q2_K: min clamps to 0, iscale = 3, L = 3, scale = 1/3f; max_scale =
 *   1/3f, 15 / max_scale rounds to 45.0f, sub-scale 15, mins all -0 ->
 *   max_min 0, dmin 0. d = fp16(0.0222222) = 0x25b0 (1.421875 x 2^-6);
 *   final 1 / (15 d) = 3.0007 -> 3. scales 0x0f, qs 0xff.
 * Q3_K: iscale = -4, l = -4 for all, descent never moves (slx < 0);
 *   scale = -64/256 = -0.25, iscale = -32 / -0.25 = 128, sub-scale
 *   -32 + 32 = 0 in all 6-bit fields, d = 1/128 (0x2000); final
 *   1 / (2^-7 x -32) = -4 -> q 0: hmask, qs, scales all 0.
 * Q4_K: L = 15, scale 1/15f, min -0; ls = 63, lm = 0; d =
 *   fp16(1/15f / 63) = 0x1456, dmin 0; final 1 / (63 d) = 14.98 -> 15.
 *   scales: ls 63 in bytes 0-3 (j < 4), low nibbles 0x0f in 8-11 and
 *   63 >> 4 = 3 in bits 6-7 of bytes 0-3 (j >= 4): ff ff ff ff 00 00 00
 *   00 0f 0f 0f 0f; qs 0xff.
 * Q5_K: L = 31, scale 1/31f (31 x 1/31f rounds to exactly 1: no error,
 *   no candidate beats it), d = fp16(1/31f / 63) = 0x1032, final
 *   1 / (63 d) = 30.99 -> 31: qh 0xff, qs 0xff, scales as Q4_K.
 * Q6_K: iscale -32, l = -32, scale -1/32; every candidate ties (sumlx^2
 *   == best x suml2), not better; iscale = -128 / (-1/32) = 4096, d =
 *   2^-12 (0x0c00), scales -128 (0x80); final 1 / (-1/32) = -32 -> q 0:
 *   ql, qh 0.
 * Dequantized: Q2_K 15 d x 3 = 4095/4096, Q3_K 2^-7 x -32 x -4 = 1,
 * Q4_K 63 d x 15 = 1048950 / 2^20, Q5_K 63 d x 31 = 2097522 / 2^21,
 * Q6_K 2^-12 x -128 x -32 = 1, all exact in float.
 */
static int k_equal_is(enum coh_ggml_type type, const float *x,
		      const uint8_t *want, float value)
{
	float y[QK_K];

	if (!block_is(type, x, want, coh_quant_row_bytes(type, QK_K)) ||
	    coh_dequantize_row(type, want, y, QK_K))
		return 0;
	for (int i = 0; i < QK_K; i++)
		if (y[i] != value)
			return 0;
	return 1;
}

static int test_k_equal(void)
{
	static const uint8_t k4_scales[12] = { 0xff, 0xff, 0xff, 0xff, 0, 0,
					       0, 0, 0x0f, 0x0f, 0x0f, 0x0f };
	float x[QK_K];
	uint8_t w[256];

	for (int i = 0; i < QK_K; i++)
		x[i] = 1.0f;

	memset(w, 0x0f, 16);
	memset(w + 16, 0xff, 64);
	w[80] = 0xb0;
	w[81] = 0x25;
	w[82] = w[83] = 0;
	CHECK(k_equal_is(COH_GGML_Q2_K, x, w, 4095 / 4096.0f));

	memset(w, 0, 110);
	w[109] = 0x20;
	CHECK(k_equal_is(COH_GGML_Q3_K, x, w, 1.0f));

	w[0] = 0x56;
	w[1] = 0x14;
	w[2] = w[3] = 0;
	memcpy(w + 4, k4_scales, 12);
	memset(w + 16, 0xff, 128);
	CHECK(k_equal_is(COH_GGML_Q4_K, x, w, 1048950 / 1048576.0f));

	w[0] = 0x32;
	w[1] = 0x10;
	memset(w + 16, 0xff, 160);
	CHECK(k_equal_is(COH_GGML_Q5_K, x, w, 2097522 / 2097152.0f));

	memset(w, 0, 192);
	memset(w + 192, 0x80, 16);
	w[208] = 0x00;
	w[209] = 0x0c;
	CHECK(k_equal_is(COH_GGML_Q6_K, x, w, 1.0f));
	return T_PASS;
}

/* ---- IQ4_NL blocks derived by hand ---------------------------------- */

/*
 * IQ4_NL (quantize_iq4_nl: 32 elements, weights x^2, levels -127 -104 -83
 * -65 -49 -35 -22 -10 1 13 25 38 53 69 89 113). The fit: d = -max / -127,
 * the levels of x / d, d = sumqx / sumq2; then for itry = -7 .. 7 the
 * levels of x (itry - 127) / max, kept if sumqx^2 > best sumq2 (strictly:
 * the earlier fit wins a tie). The stored levels come from 1 / d in fp32.
 *
 * Levels: x[j] = level j, x[16..31] = -127. max = x[0] = -127 (the first
 * of the equal magnitudes). First fit: id = -1 maps x to the levels of
 * -x, d = -4379543552 / 3944421376 = -1.1103133, best = 4862665216.
 * itry -7: id = 134/127 moves no x past a midpoint (the levels are more
 * than 11% apart), so every term w q x equals its w q q, the same float
 * products: sumqx = sumq2 = S = 4871114752, S^2 > best S, d = 1 (0x3c00).
 * Later candidates tie (not better). Level j of x[j] is nibble j; x[16..]
 * are 0: qs[j] = j. Mirrored (x -> -x): max = +127, the candidates' id
 * (itry - 127) / 127 is negative, itry -7 maps -x to the same levels,
 * d = -1 (0xbc00), the same qs.
 */
static int test_iq4_nl_levels(void)
{
	static const float lv[16] = { -127, -104, -83, -65, -49, -35, -22,
				      -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	float x[32], y[32];
	uint8_t want[18] = { 0x00, 0x3c };

	for (int j = 0; j < 16; j++) {
		x[j] = lv[j];
		x[16 + j] = -127;
		want[2 + j] = (uint8_t)j;
	}
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_dequantize_row(COH_GGML_IQ4_NL, want, y, 32) == 0);
	CHECK(!memcmp(x, y, sizeof(x)));

	for (int j = 0; j < 32; j++)
		x[j] = -x[j];
	want[1] = 0xbc;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_dequantize_row(COH_GGML_IQ4_NL, want, y, 32) == 0);
	CHECK(!memcmp(x, y, sizeof(x)));
	return T_PASS;
}

/*
 * Ties. As the levels block, but x[16..27] = -127 and x[28..31] = -4.5,
 * 0, 0.5, -4.5: -4.5 is the midpoint of -10 and 1 (levels 7 and 8),
 * which best_index_int8 sends up to 8 (x - -10 < 1 - x is false).
 * itry -7..-1 (id > 1) push -4.5 below the midpoint, to -10: sums
 * 3830538496 / 3830540544, d = 0.99999946, best = d sumqx rounds to
 * 3830536448 = S. itry 0 (id = 1): the ties go up to 1, their terms
 * (20.25, -91.125) round away next to S ~ 2^31.8, sumqx = sumq2 = S and
 * S^2 > S S is false: itry -7's d stays. d16 = fp16(0.99999946) = 1.0,
 * but the levels use the fp32 d: -4.5 / d = -4.5000029 -> 7, not the 8 a
 * tie would give. 0 and 0.5 -> 8 (nearer 1). qs[12..15] = 0x7c 0x8d 0x8e
 * 0x7f.
 */
static int test_iq4_nl_ties(void)
{
	static const float lv[16] = { -127, -104, -83, -65, -49, -35, -22,
				      -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	static const float tail[4] = { -4.5f, 0, 0.5f, -4.5f };
	static const uint8_t want[18] = {
		0x00, 0x3c, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x7c, 0x8d, 0x8e, 0x7f };
	float x[32];

	for (int j = 0; j < 16; j++) {
		x[j] = lv[j];
		x[16 + j] = j < 12 ? -127 : tail[j - 12];
	}
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	return T_PASS;
}

/*
 * All 1.0: first fit id = 127, every level 15 (113): d = 3616 / 408608 =
 * 0.0088495575, best = 32. Every itry maps to level 0 (-127): sumqx =
 * -4064, sumq2 = 516128, sumqx^2 = 16516096 = best sumq2: a tie, the
 * first fit stays. d16 = 0x2088 (145 / 16384); 1 / d = 113.000001 -> 15:
 * qs 0xff, dequantized 145 x 113 / 16384 = 16385 / 16384. All -1.0: the
 * same with d = -1 / 113 (0xa088).
 */
static int test_iq4_nl_equal(void)
{
	uint8_t want[18];
	float x[32], y[32];

	memset(want, 0xff, 18);
	want[0] = 0x88;
	want[1] = 0x20;
	for (int j = 0; j < 32; j++)
		x[j] = 1.0f;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_dequantize_row(COH_GGML_IQ4_NL, want, y, 32) == 0);
	for (int j = 0; j < 32; j++)
		CHECK(y[j] == 16385 / 16384.0f);

	for (int j = 0; j < 32; j++)
		x[j] = -1.0f;
	want[1] = 0xa0;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	return T_PASS;
}

/*
 * Edges. Zero, and a denormal max 2^-133: amax < 1e-15, d = 0 (0x0000),
 * id = 0, every x * 0 = 0 -> 8 (0 - -10 < 1 - 0 is false): qs 0x88.
 * The levels block times 2^16 (huge) or 2^-40 (tiny, still above
 * 1e-15): sumqx^2 overflows to inf (tiny: underflows to 0) in every
 * candidate and inf > inf (0 > 0) is false, so the first fit stays:
 * d = -1.1103133 c. x / d maps level j to 15 - j but for -35 / -1.1103
 * = 31.52, just past 31.5: 11 like -49. d16 = -inf (0xfc00; the row is
 * not finite) or -0 (0x8000, 2^-40 x 1.11 is below fp16's least).
 */
static int test_iq4_nl_edges(void)
{
	static const float lv[16] = { -127, -104, -83, -65, -49, -35, -22,
				      -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	static const uint8_t first[16] = {
		0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7,
		0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1 };
	uint8_t want[18] = { 0 }, b[18];
	float x[32] = { 0 };

	memset(want + 2, 0x88, 16);
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	x[0] = 0x1p-133f;
	x[1] = -0x1p-134f;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));

	memcpy(want + 2, first, 16);
	for (int j = 0; j < 16; j++) {
		x[j] = lv[j] * 0x1p16f;
		x[16 + j] = -127 * 0x1p16f;
	}
	want[1] = 0xfc;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_quantize_row(COH_GGML_IQ4_NL, x, b, 32) == 0);
	CHECK(coh_quant_row_finite(COH_GGML_IQ4_NL, b, 32) == 0);
	for (int j = 0; j < 32; j++)
		x[j] *= 0x1p-56f;
	want[1] = 0x80;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_quant_row_finite(COH_GGML_IQ4_NL, want, 32) == 1);
	return T_PASS;
}

/*
 * NaN, as the libllama scripts/fetch-llama.sh pins computes it (checked
 * against it). All NaN: amax stays 0, d = 0, and 0 x NaN = NaN, which
 * best_index_int8's binary search sends to 15 (every compare false):
 * qs 0xff. One NaN among 0.25-steps: sumq2 is NaN, so the first fit is
 * 0 (llama.cpp PR 20460's guard), no candidate compares greater, d = 0:
 * the others 8, the NaN 15. Both rows are finite (d = 0); llama-quantize
 * writes them as they are.
 */
static int test_iq4_nl_nan(void)
{
	uint8_t want[18];
	float x[32];

	for (int j = 0; j < 32; j++)
		x[j] = NAN;
	memset(want, 0xff, 18);
	want[0] = want[1] = 0;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	CHECK(coh_quant_row_finite(COH_GGML_IQ4_NL, want, 32) == 1);

	for (int j = 0; j < 32; j++)
		x[j] = (j % 5 - 2) * 0.25f;
	x[3] = NAN;
	memset(want, 0x88, 18);
	want[0] = want[1] = 0;
	want[5] = 0x8f;
	CHECK(block_is(COH_GGML_IQ4_NL, x, want, 18));
	return T_PASS;
}

/* ---- rows against the Python reference ------------------------------ */

struct golden {
	const char *input;
	enum coh_ggml_type type;
	uint32_t digest;		/* of the dequantized row, below */
	const char *hex;		/* quantized 256-element row */
};

/* Sum of (float bits x (i + 1)) mod 2^32: sees any bit of any element. */
static uint32_t digest(const float *y, size_t n)
{
	uint32_t h = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &y[i], sizeof(bits));
		h += bits * (uint32_t)(i + 1);
	}
	return h;
}

static const struct golden goldens[] = {
	/* python3 tests/cohete/quant-golden.py */
	{ "ramp", COH_GGML_Q4_0, 0xf7f96000,
	  "c0a348483737373726262626151515150404e0a7242424241313131313131313"
	  "02020202f0a913131212121212121212020202020101f0ab1212121212121212"
	  "0101010101010101f8ac12121111111101010101010101010101f8ad11111111"
	  "010101010101010101010101f8ae11110101010101010101010101010101f8af"
	  "01010101010101010101010101010101"
	},
	{ "ramp", COH_GGML_Q4_1, 0x8a054000,
	  "2220000080809191a2a2b3b3c4c4d5d5e6e6f7f72220003080809191a2a2b3b3"
	  "c4c4d5d5e6e6f7f72220003480809191a2a2b3b3c4c4d5d5e6e6f7f722200036"
	  "80809191a2a2b3b3c4c4d5d5e6e6f7f72220003880809191a2a2b3b3c4c4d5d5"
	  "e6e6f7f72220003980809191a2a2b3b3c4c4d5d5e6e6f7f72220003a80809191"
	  "a2a2b3b3c4c4d5d5e6e6f7f72220003b80809191a2a2b3b3c4c4d5d5e6e6f7f7"
	},
	{ "ramp", COH_GGML_Q5_0, 0x4d0b3000,
	  "c09f01000000807f7f6e6e5d5d4c4c3b3b2a2a191908e0a30000000048483737"
	  "373726262626151515150404f0a5000000003525252525242414141414131303"
	  "0303f0a70000000024242424131313131313131302020202f8a8000000002313"
	  "1313131313121212120202020202f8a900000000131312121212121212120202"
	  "02020101f8aa0000000012121212121212121202020101010101f8ab00000000"
	  "12121212121212120101010101010101"
	},
	{ "ramp", COH_GGML_Q5_1, 0xfd000000,
	  "001c00000000ffff00112233445566778899aabbccddeeff001c00300000ffff"
	  "00112233445566778899aabbccddeeff001c00340000ffff0011223344556677"
	  "8899aabbccddeeff001c00360000ffff00112233445566778899aabbccddeeff"
	  "001c00380000ffff00112233445566778899aabbccddeeff001c00390000ffff"
	  "00112233445566778899aabbccddeeff001c003a0000ffff0011223344556677"
	  "8899aabbccddeeff001c003b0000ffff00112233445566778899aabbccddeeff"
	},
	{ "ramp", COH_GGML_Q8_0, 0x093f1900,
	  "d0130004080c1014191d2125292d3135393d42464a4e52565a5e62666b6f7377"
	  "7b7ff01741434547494b4d4f51535557595b5d5f61636567696b6d6f71737577"
	  "797b7d7ffc195657585a5b5c5e5f606263646667686a6b6c6e6f707273747677"
	  "787a7b7c7e7f001c606162636465666768696a6b6c6d6e6f7071727374757677"
	  "78797a7b7c7d7e7f021d66676869696a6b6c6d6d6e6f70717172737475757677"
	  "7879797a7b7c7d7d7e7f041e6a6b6c6c6d6e6e6f707071727273747475767677"
	  "7878797a7a7b7c7c7d7e7e7f061f6d6e6e6f7070717172727374747575767677"
	  "787879797a7a7b7c7c7d7d7e7e7f042070707171727273737474757576767777"
	  "787879797a7a7b7b7c7c7d7d7e7e7f7f"
	},
	{ "ramp", COH_GGML_Q2_K, 0x2cce4c00,
	  "010203030405070708090a0b0c0d0e0fb8b8b8b9f9f9f9f9f9fafafefefefeff"
	  "fdfdfefefefefefefefefefefeffffffffffffffffffffffffffffffffffffff"
	  "ffffffffffffffffffffffffffffffffab250000"
	},
	{ "ramp", COH_GGML_Q3_K, 0xc3167400,
	  "0101000000000000000000000000000000000000000000000000000000000000"
	  "1414171707070606060201010101000016160606050505010101010100000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "eeccaa886644220105050505bd1f"
	},
	{ "ramp", COH_GGML_Q4_K, 0x85d85500,
	  "3414000088d0d8df000000000800080f8080818192929393a4a4a5a5a6b6b7b7"
	  "b8c8c9c9cadadadbdbececededfefeffcacacacbcbcbdbdbdbdcdcdcdcdceced"
	  "ededededededeefefefefefeffffffffdcdcdcdcddddddddddddddedededeeee"
	  "eeeeeeeeeeeeeefefeffffffffffffffedededededededeeeeeeeeeeeeeeeeee"
	  "fefefefefefeffffffffffffffffffff"
	},
	{ "ramp", COH_GGML_Q5_K, 0xfdc7be00,
	  "2010000088d0d8df000000000800070ffefefefefefefefefefefefefefefefe"
	  "ffffffffffffffffffffffffffffffff000102131425263738494a5b5c6d6e7f"
	  "7080819293a4a5b6b7c8c9dadbecedfe858595969696a7a7a7a8b8b8b9b9c9ca"
	  "cacadbdbdbdbecececedfdfdfefefeffa9a9a9a9babababababbbbcbcbcbcccc"
	  "ccdcdcddddddddededeeeeeeeefeffffcbcbcbccccccccccdcdcdcdddddddddd"
	  "ededeeeeeeeeeeeefeffffffffffffff"
	},
	{ "ramp", COH_GGML_Q6_K, 0x76e968f4,
	  "606e5c5a58464432302e2c2a18160402505f4e4d4c3b3a392827261514130201"
	  "4b4b4a3939383727262515141413020248373736362525242413131212010100"
	  "2323232322121212111111010100000023232222121212111111110100000000"
	  "2222221212111111111100000000000022221212121211111111010100000000"
	  "0201010101010101010000000000000001000000000000000000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "f8f0e7e0d8d0c8c0b8b0a9a098908880eb0b"
	},
	{ "ramp", COH_GGML_IQ4_NL, 0x8a0cf2c0,
	  "9993383827272626261515151414040403039397131313131212120202020202"
	  "02010101b39912121201010101010101010101010101a79b0101010101010101"
	  "0101010101010100cc9c01010101010101010101010000000000af9d01010101"
	  "010000000000000000000000601fffffffffffffffffffffffffffffffff4020"
	  "ffffffffffffffffffffffffffffffff"
	},
	{ "signed_ramp", COH_GGML_Q4_0, 0x2ef8c000,
	  "4032101010202020202121212121212121214030202020202021313131313131"
	  "31324242802c40404041415151525262626263637373c0aa4949494838383727"
	  "272716161615050560af24242424141413131313131303020202b0b113131312"
	  "121212121212020202020101b0b312121212121212120101010101010101d8b4"
	  "12121111111101010101010101010101"
	},
	{ "signed_ramp", COH_GGML_Q4_1, 0x17297300,
	  "222840be80809191a2a2b3b3c4c4d5d5e6e6f7f7222840bc80809191a2a2b3b3"
	  "c4c4d5d5e6e6f7f7222880b880809191a2a2b3b3c4c4d5d5e6e6f7f7222800ac"
	  "80809191a2a2b3b3c4c4d5d5e6e6f7f72228003780809191a2a2b3b3c4c4d5d5"
	  "e6e6f7f72228803b80809191a2a2b3b3c4c4d5d5e6e6f7f72228c03d80809191"
	  "a2a2b3b3c4c4d5d5e6e6f7f72228c03f80809191a2a2b3b3c4c4d5d5e6e6f7f7"
	},
	{ "signed_ramp", COH_GGML_Q5_0, 0xe32d5000,
	  "402e0000000030303030313141414141424242525252402c0000000040404041"
	  "515151526262626373737374802800000000708081819292a3a3b4b4c4c5c5d6"
	  "d6e7c0a61f00000092828171706f5f5e4e4d3c2c2b1b1a0960ab000000004848"
	  "4838373727272626161515150504b0ad00000000352525252525241414141414"
	  "13030303b0af0000000024242424141313131313131302020202d8b000000000"
	  "23131313131313121212120202020202"
	},
	{ "signed_ramp", COH_GGML_Q5_1, 0x4c9c0000,
	  "002440be0000ffff00112233445566778899aabbccddeeff002440bc0000ffff"
	  "00112233445566778899aabbccddeeff002480b80000ffff0011223344556677"
	  "8899aabbccddeeff002400ac0000ffff00112233445566778899aabbccddeeff"
	  "002400370000ffff00112233445566778899aabbccddeeff0024803b0000ffff"
	  "00112233445566778899aabbccddeeff0024c03d0000ffff0011223344556677"
	  "8899aabbccddeeff0024c03f0000ffff00112233445566778899aabbccddeeff"
	},
	{ "signed_ramp", COH_GGML_Q8_0, 0x4ba1ae80,
	  "4d22818284858687898a8b8c8e8f90929394959798999a9c9d9e9fa1a2a3a5a6"
	  "a7a8492081838587888a8c8e9092949697999b9d9fa1a3a4a6a8aaacaeb0b2b3"
	  "b5b7b9bb891c8185888c8f93969a9da1a4a8abafb2b6b9bdc0c4c8cbcfd2d6d9"
	  "dde0e4e7ebeece1aedf2f7fb0005090e13181c21262a2f34383d42474b505559"
	  "5e63676c71767a7f6f1f3c3e41434547494b4d50525456585a5d5f6163656769"
	  "6c6e70727476797b7d7fbb2154555758595b5c5e5f606263646667696a6b6d6e"
	  "70717274757778797b7c7e7fbf235f606162636465666768696a6b6c6d6e7071"
	  "72737475767778797a7b7c7d7e7fe22466666768696a6b6b6c6d6e6f6f707172"
	  "7374747576777878797a7b7c7d7d7e7f"
	},
	{ "signed_ramp", COH_GGML_Q2_K, 0x31993800,
	  "f1d1a18151310102040507080a0c0d0f00000000011555565a6aaaafbfffffff"
	  "80818595969aeaeaebfffffffffffffffafefefefefefeffffffffffffffffff"
	  "ffffffffffffffffffffffffffffffffe42a912e"
	},
	{ "signed_ramp", COH_GGML_Q3_K, 0x7754a100,
	  "0808080808080000000000000000000000000000000000000000000000000000"
	  "804040000000c0c0909050505414141480808080909050505464646464243434"
	  "0505050505010101010000000000000005010101010101010100000000000000"
	  "74310edba7743e0a1b1b16069e24"
	},
	{ "signed_ramp", COH_GGML_Q4_K, 0xb7d50a20,
	  "2c1951264c8ccccc3f2b16020805010f00001111223233434454556566767787"
	  "889899aaaabbbbccccddddeeeeffffff00001011212232334344555566667777"
	  "88889999aaaabbbbccccddddeefeffffa7a7a8b8b8b9b9b9b9cacacacacbcbdb"
	  "dbdcdcdcdcededededeeeefefeffffffccccccccdcdcdcddddddddddddddedee"
	  "eeeeeeeeeeeeeeefffffffffffffffff"
	},
	{ "signed_ramp", COH_GGML_Q5_K, 0xafb7ebd8,
	  "0b1559264d8dcdcd3f2b17030816020fe0e0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
	  "ffffffffffffffffffffffffffffffff00112233445566778899aabbccddeeff"
	  "00112233445465768798a9bacbdcedee102132435465768798a9babbccddeeff"
	  "00112233445566778899aabbccddeeff5f5f50606161727373848485959696a7"
	  "a7a8b8b9b9cacacbdbdcddedeeeeffff979898a8a8a9a9a9b9babababacbcbcb"
	  "cbccdcdcdcddddededeeeeeefeffffff"
	},
	{ "signed_ramp", COH_GGML_Q6_K, 0xc5a8dfc8,
	  "0010203141516262728393a3b4c4d4d5102041617192a2c2d3f3042444557586"
	  "c090613102d2a3734414e5b586663607201101f2e2c3b4a49586766747382919"
	  "4b4a493938373626252413131201000048473736363524242323121211110000"
	  "3636363525242423131312120101000035353424242323231212121111010000"
	  "8080808080404040404000000000000040404000000000000000101010101010"
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  "5245382b1e11f7e9ddd0c2b5a89a8e80d610"
	},
	{ "signed_ramp", COH_GGML_IQ4_NL, 0x64240c80,
	  "f821101010101010101010101010101011210f20101010101020202020202121"
	  "212121315d1c303030303041414141515152526262628f9a3a39393828272727"
	  "16161515050404041c9f1313131313121212020202020202010171a112121202"
	  "01010101010101010101010162a301010101010101010101010101010100b1a4"
	  "01010101010101010101010100000000"
	},
	{ "gauss1", COH_GGML_Q4_0, 0x7ec20800,
	  "163491a31279024ae9dcd4b4a3a65689739d4ab4b9cc0383754b6667924ee956"
	  "772a95e8423487c3598498837a65ce8489ab80694c01bd33e7f761657b6d086d"
	  "94869ba7961849db5332084a845cfb39ce3477f352a95ab5882d9534c2ab776c"
	  "7f2afad5d6667655b3047ecd0cb536a4ddb679556a8c8854a808bb9d494792b4"
	  "59340b7dc9c9c37cb16296ddca5775d7"
	},
	{ "gauss1", COH_GGML_Q4_1, 0xbaaac800,
	  "713316c0a1b3127a024bfaeee4c4b3b7679a83ae2134e7be3623fc7b8ab39998"
	  "6db016a988c46a17153442c098d36984a8837a75cf8589ab80694c01c333bdbf"
	  "e7f761657b6d086d94869ba7960849db813253be084a845cfb39ce3476f352a9"
	  "59b5882dc43495c0b29a776b7f29fad4c5667645b3046dcc68346ebec84a1028"
	  "75a99352669a46f62351b4b70e3413be95caf28024242c713e8d590023987907"
	},
	{ "gauss1", COH_GGML_Q5_0, 0xff1ad000,
	  "1630e8a0c3af323514d20474b2999778454cac12e6294ab023260bc572980607"
	  "da87cbce247db29bee551abf4230446d3b1f1e95b2072f06e4da8d09023501c2"
	  "8701bd2fb0e4039fceefc1c9d6ca0fc9380d263e1b119296532e7bd8546a0084"
	  "0898f6629d68fdf69342a37a105a95307ac0c3918435efd7ff43f5b99bcced9a"
	  "6709dc8a0cb1d47d8e356b499a6ce29bb41700a840007619837f92b0bd18709d"
	  "a15806da838376d853c31bba85adfaaf"
	},
	{ "gauss1", COH_GGML_Q5_1, 0xc3b69c00,
	  "342f16c0e8a0c3ef536614f50587f4dcd8a9767ece35075cfd2fe7bedc59f43a"
	  "7c46f8e814672320cb702b5300a9d42fe72f42c0556d3b1f20b6b4184017f6eb"
	  "9f19145711d49901832fbdbff0e4039fdfffc1c9e7db00ca380d374e2c1193a7"
	  "4b2e53be7bd8546a00840898f7629d68fdf79342a37a105b9d3095c07ac0c391"
	  "8435efd7ff43f5b99bccec9a6709dc8a44306ebe2b0261ca81841051ea4227b3"
	  "cc357cfc45a1697eda2f13be42670f223b95f501493948f36c1bb2003730e31e"
	},
	{ "gauss1", COH_GGML_Q8_0, 0x037622c0,
	  "1e2494a99e12a2211046bbbdace1e413b048141a8beb81bc5a4949352220d304"
	  "ef125224f3c34e492ecc250f5e9aee2512d93008ccbb7f03173f201ff347a534"
	  "0d58f6a64a24f4aa11baf8b320d065c6112b8612388a0445d50013fff2e53c02"
	  "011bfee1c181cd23f2f68bc9324ffc4bbde62eefdc0512335f70e1ddece481e1"
	  "1700111b0989c6496022fd21c140330e63c4e9b49b1118d1fe5381bdfdcb76b3"
	  "45b4f776cc1dd33706a89e24a42cf638791925c9d9e4e4d2b6c7604d3f1aeee7"
	  "f69e75564ae3f3ca3181ec3f16252438af1ff02adfc6ff3c0201d2b9e90b52e2"
	  "b9d00f3727fbfe32e17fc9f442479b24f73dcdb2eaea4fbf6a6526afdc162e0b"
	  "2c567f16c3c3c715d51df6acc22d09b0"
	},
	{ "gauss1", COH_GGML_Q2_K, 0xd6addb00,
	  "a9ebcbbcedfbd9db98baccefa9adab8c94842c5ed8d6aadb7c90e4a949a6a8cb"
	  "e6f25c6668692b6bb7aba2aaa51e56c262ba052b5e7adb05e5f4a42652859e6f"
	  "a899c64517212e591967553609926628612e8b30"
	},
	{ "gauss1", COH_GGML_Q3_K, 0xb0094b80,
	  "fe58a6d39ed91fab66606cf6b22d1edb2f6f5046f484b561ff1def9dee5192ab"
	  "00191cad88d915e7bde19dd7c71d6983c9e9f0c3dcca0ffe620a4d590334a38d"
	  "2cbd82ea726c6f9a0736c5c969cbb417d8562cee83a6bece48ef12c9a7c22ce9"
	  "556a48f54a0c7649ff3f0f3ced24"
	},
	{ "gauss1", COH_GGML_Q4_K, 0x6b645760,
	  "171db628aef3f8f0b7efbbb4b9ffe8736133c2caa23b9a8ed4046397874aa37e"
	  "3a2bf17780b49f9e6ecd1bab86d9681a77731954b7d38ad54e64b97a60899bb1"
	  "e8fc656879680766ab8898a9980644d028aa74bceb99ae44566362593945d8cd"
	  "b09468657f23ecc3c76f754aa50b68b259aa20084549b412d6da860633719467"
	  "9cc4f173171a2976368a540f12956b0b"
	},
	{ "gauss1", COH_GGML_Q5_K, 0x385955f0,
	  "a618a228b1f7f6f3b8f1bbb5bbffbaa654f006733e79bf0b86c08c16128dbe39"
	  "edad9284164673232ddf0d5f2e935169d36694854577350cb809c63e1e9557fd"
	  "7556f1ff10782f2dcd8a27570ca3d025f0f6149870b706ab8fd974e7c1143971"
	  "d2fbccc1e4d10fde4a123245211d99a04054f878f6325d98bdc6c3a2739ac0ab"
	  "8037e0d9ff46f9b69fcfe9946a07d185b154501199928733ccb52c1c750138ee"
	  "3897f1054e4442fb6b13b70f343ae617"
	},
	{ "gauss1", COH_GGML_Q6_K, 0x048544f8,
	  "d1a744e5e5ca8544ac1d48b71855e9251516530b510fc692f20d0878f5810c04"
	  "ccdd1817de50fc45ed90cabc66145fe28dc1807fba900888630e47732d2a1227"
	  "ef6a0cc4a0143f9d09881005e8417f5ab08f2fc3ce2d611d1e3e8307e43ef2ea"
	  "38e5f371617a963e1a27578cb39f37dc50a70caafef7eeb6b3992d520d50eb40"
	  "54402c4e98c66adb3c50a46949a6a88beafe506564641757aba2aea6951259ce"
	  "ad3688e793b617c8293868ea8e4951634c28356597909f6cad57a5c6e96246cc"
	  "5b6b58936b6d5d6341508e7452809c8b0611"
	},
	{ "gauss1", COH_GGML_IQ4_NL, 0x5230b380,
	  "0c24a1a20169013be9ddd3c3b2b5458a629d33a4c9dd0282643c5557913fe945"
	  "762b94e71e2487d24983a7827b64df8389ab80593c009323e7f750546c5e085d"
	  "a3869ca6950839dc6b22083b834dfc29de2376f241a94ac4882eca24c2ab676c"
	  "7f1afbe4d5667644c3046ecd13a525a4dec579445b8c8843a808cc9d3a3777a4"
	  "49230c6edadac26db15195eedb4674e7"
	},
	{ "gauss2_small", COH_GGML_Q4_0, 0xf0b57000,
	  "3a0d70b898a9547aa5bb430b78d3675a7b56418d6ac56057bd6b6b7379b3795a"
	  "b96aa6a95b8c62ce46688c3ff1958ed8877d2b072808298c66655623c65cbc7d"
	  "398b646f0378d6e8278c5f228db0b144520473929a98aa09f437c80cb8583e7f"
	  "a0c9769b8ce8c7a6c735b358708c21bb486ec157973fb8bb7ba8aac2c068878c"
	  "b2c4b8cbc52775a5965034ac88b94a5b"
	},
	{ "gauss2_small", COH_GGML_Q4_1, 0xbe123c00,
	  "aa0c3a9980c9a9ba557bb6cc540c89f4686b8c669e0ccf9684298fa73082837b"
	  "853c74a324933834760c02989e31b99873c10e7b71278883d4f8d7f74f0cd697"
	  "999aa9dc4aa45493c6759b90fc872917660c1998b0dd725f5ebbbefb8c7d7678"
	  "66f60cc8a70cc898c8583f7fa0c9769c8ce8c7a6d735c358680ca697de44b791"
	  "3ea868c037448457553d3f974e0ba3942d0b151209d67839479fba205514a391"
	},
	{ "gauss2_small", COH_GGML_Q5_0, 0x97d26e00,
	  "3a09ae66ce08f060204198d43b569705f0b6beb4e5bb418971bd12d2d47ac09e"
	  "5ac6c5e6d266d39573b55c425b8832dbd203d39c8cdf096df2191da0fde9360e"
	  "31002988e0ab50c2dcbaac557ba757d95215d7cf06e0acc02788053c1c5e9f44"
	  "0b5152899308e61513204313f76ec808af83b15e70a06ced4082dc27f7c07e3b"
	  "9e7976a070888e9f527b437680db82ae2d6e7156f651458470c087880cf89f39"
	  "638760768a4feb393da0795800627496"
	},
	{ "gauss2_small", COH_GGML_Q5_1, 0x2e1bda00,
	  "83083a99ae76cf4c10a24374b9f76c99a80813f7d0c709dd7808cf9686426d29"
	  "08431f4f601516f70958f9474927717951080298cd242dfc2c627320f6920de6"
	  "e25e0115c9f1ceff2b08d6971f54af3d234553aa8458a826adea2830f91f533f"
	  "42081998facbe3a160bbf5aead766cf81aeaece0cced08918108c898af83b15f"
	  "81b16eff50a3ec3809e19f5caf7a86a14408a6977160ad84ac787e236d41d190"
	  "7e9808aeaa6b7f2e1107a394d30620c63b062b1302ace1637e2f6440ba386632"
	},
	{ "gauss2_small", COH_GGML_Q8_0, 0x9cc16b00,
	  "510181fd020ac21dd62cb72802b3f01d2ad9f5320c22cbe91b2ac583f656d9d5"
	  "f2d85301e4317f12aeced54ced4fecdaeadc22ec18c81e34d81e221418d21534"
	  "cc25dcdd1901679e1d06bc976c369bfd14b6d40ffb0219ba431b014d8bf6fab3"
	  "0613647f667d0c012232235527c5c7b6efd5458850fc1fff19242c58c830d715"
	  "55f8181d7f0daea00c018362ac79723966435358e803e5eb4510365dfdd6d440"
	  "357f0ff5f8f2e179854c3401fdff6269810ddd343b03efdbf1c9b1ff35d0adf3"
	  "1d42e811fb5e3a1c44b636cd1e0169d3fea671111593fad3cdfadb637fff5dca"
	  "3f1bc02cf34fc9d50adcddc0c71d2401654702d3300a2a37197f3abffeeee4ce"
	  "d2c0cdc6c06013e7ec2f48da02cf4435"
	},
	{ "gauss2_small", COH_GGML_Q2_K, 0x546b0e00,
	  "fbffaf57acdebb9b9cbeef79bd585a59b4caaee79143766b855be705d6a79ba6"
	  "aa93baee61b94aaae950aaaff1b93231f89b5c0fb36aa78a5bdb95155575362a"
	  "3e03312509ee563b468d9d094d038ca234069909"
	},
	{ "gauss2_small", COH_GGML_Q3_K, 0x01fbbc00,
	  "2a7de9fd1eb7127176754bd6ef8b9dfe83e5b3b3dc026f87f65c57d3d0ea5928"
	  "44b870cc6eb98769f689b436e4354d07f4e6e87d8aab79c54624c4ff170bd8cb"
	  "51930e7f8331ffbaca12af8c135b4a808ae99cb5fd26d65c60a048ac25bc6bba"
	  "20a23f6fa73bba48ccfcc3fc5981"
	},
	{ "gauss2_small", COH_GGML_Q4_K, 0x4ee56b00,
	  "4f00aa02fdfff9faffe9b171078bf9b24099e97a052b36bc44bc4934483b8c46"
	  "782c8a9b35878b7c7530789f268638369ea199c8a3414e3b6157b903c5789778"
	  "9993acc947ac5097c7739899fe8f2e2f808ef2ff0f9b6ecccd8d766876563c89"
	  "cb5d3775a5db7b9f88e7c7a7d63fc05ccea457118e58889067e49407553d3f17"
	  "1d041b0903ca663c3484a8255513a499"
	},
	{ "gauss2_small", COH_GGML_Q5_K, 0x45c4ce00,
	  "24009f02fefefcfbffe9b0701caffcc1ecbb2f3dd871d4b730b38d1009455b30"
	  "7f194f4f20fe13793aa0ed2f2c1ea5d48042f3f40a576d8a988993779077299d"
	  "014a15486b1f17f90a50f14f4d2c717d3c5243a046818d66d2af820599f13eff"
	  "224658a28f59a02eaee52031fc1f5c3f101be5fe0d36cc87992afcc0fcad6811"
	  "86bb6ffa5aa7e63f01ee9e5dab7e80a9bc69be333ec12140fef9480eaa8c6f2f"
	  "3b07271206b4ed697729704aba266732"
	},
	{ "gauss2_small", COH_GGML_Q6_K, 0xa87f8000,
	  "22cf80e241e7160bde1aa16edcc72a07ad1c03a803eac72a1121fdc586158c26"
	  "97d4916ca41c2bddc55d252945f98805ae7151adea41a3bbbd26ac9d13d54c8d"
	  "71b81b6e5cceb9a115b6ca11998b11041329b17a6b1043513cf3d2c3c8623e6d"
	  "8ff0f8ba41e3673daf212c070c427dc0fe500b24561aa88a62119dc70908aef1"
	  "88b592d6bd7a49127862da38e95aa6a959725e1ea14dbe6a29b0595f014dc1c1"
	  "042b6cbf435a577b6b2b65e6a58583aa81fccedaf6116984b96212a6a2fc331c"
	  "80867dc9586aa0639e638e556c4d6f530b80"
	},
	{ "gauss2_small", COH_GGML_IQ4_NL, 0xfdea7100,
	  "4a0170c898b9436aa4bb320b78e2564a7b554c816ac45046be5c5b626ac26a4b"
	  "ca5bb5ba1b8161de36678d2ff1948ed8766d1b071808138165544522c54cbc6d"
	  "299b636f0278e5e81101c0ee825f4fdccefd9e7e767856f60dd93601c8482e7f"
	  "a0d9659c7ce8c6a5d734c248208121cb386ed146962fc8bb7cb8bbd1c0581c81"
	  "c1d3c8ccd41764a4a64023bd88c93a4c"
	},
	{ "gauss3_big", COH_GGML_Q4_0, 0x0346a800,
	  "8a5c734497ef27c98586d6a6976241c406b8c85cda8b44693b6bab856789a6a8"
	  "44707d992fdc9a0f7a6b587c7d3a36751bb68a6a650936dd5ea609836a828535"
	  "793e78d97479678eb2db3aa5bb9bab78b858ebc9fa0a7a86465f28dd7667a7b9"
	  "906589a4563a8b5b7bbd436b6f5c058a9ba67a13bb528ba9bea7696e8acc4add"
	  "b8586437a95247d5784d47da490b546c"
	},
	{ "gauss3_big", COH_GGML_Q4_1, 0x43478800,
	  "885c8ae87344a7ef27c99586d6a6976241c406b8155cc8e8fcac547a4d7dcd95"
	  "789bc6c955808faa735c29e866f08695a89482d6c98ae55a85a59af7fe5c26e8"
	  "9059f67b956d6aca76b077158b869760d45bfde6c65a4464649847a7153606f5"
	  "8579b9a09c5cfae6798737355f99754b98c362a37320bb93345c6fe8058aaca6"
	  "8b13cc528cb9cfb86a7f9acdb65c17e736a68bc845adb70a76b0a704a5f3ab82"
	},
	{ "gauss3_big", COH_GGML_Q5_0, 0xea5d9400,
	  "8a5828806ca7e5893ece3f831bfcab5d3db492880c61c8587bca438ca40587d1"
	  "76d647f9cef35b4089e0e9112fd8ffb40108330ff4c5a0e7fb537cfb255bf4c4"
	  "da0236d915ab6a88bd3c0207b3140a6af17dffb3d8e2cf1cb2d7dd9f5e07634a"
	  "672536df61b0c581f304f4fd8cae28d948be9c24fbce5e6210caf257bd650796"
	  "f57b86b66f5856f74ece0a04263cf41766a5f6427c4eb3dc03794ad913bb9108"
	  "6190c76d31938faae08b9ea48306a7c8"
	},
	{ "gauss3_big", COH_GGML_Q5_1, 0xbd8e2800,
	  "62588ae82880eca7f6994edf3f942b0dbc6d4ec492880d71e757c8e87bcbc3ee"
	  "f84aa9f58bfb8c3be0279d93ab201e554f5829e8104bfef7ddf01c3a502815ac"
	  "9305daa40b4b35fed55826e8ea10957230a2fce83adad494fd80fe2b170c3fd0"
	  "9457fde62260a1d89cb488d9c8209e4f2a7d0cfa0bf272507658fae6b14122cb"
	  "e21e7f6abf23ea773087c546e650682612586fe856ff5ecf0b16485d062788b5"
	  "18639e60c5ef259b8f5817e7ac406ef65b4c16809b4b6e14fc605e0859f64714"
	},
	{ "gauss3_big", COH_GGML_Q8_0, 0xc328e5c0,
	  "934cacc6ee6ff617d7e2dce6eaa093c1e104f1c3185f9c4208fa502618dcc83c"
	  "8133d24c1e29bc08333136cbed17d8fdc781490b4c04c2e6b7e41ffadef92722"
	  "c1f4f30c384ce882e2d602c5abe51e2ad526dedd2ef3ea7b0a212f130b554a08"
	  "6fd705231b7f404d9b1ef049e55d2d30f79c05eb43f4089d2ae77fff24f9fd53"
	  "0b490aa9150e23f9c14be82ccbd5cd07f803d7f4e8dee0191c8e53e4ceefe817"
	  "d129a0c18d7f08054033324d270c11f17f2fee471adbc9d4d5aa4dd20a20dad1"
	  "f72308dc2a4ffe350bcb4025784cd01f33e023b52fa5310d5df216631c4581ff"
	  "1218f58d30d3fb243422dae50139554df9fe4517f6640a3300ab0ddfebd247c3"
	  "cf351e4ee63643b010423aae3c7f3321"
	},
	{ "gauss3_big", COH_GGML_Q2_K, 0x7e57c000,
	  "ddecfb89e928eecfbbcdcf68bbeebbbf2c8d65eb6dde9da5793da578e461bd2a"
	  "8e75d25790575aa667967a098157947b5966e5956dcaa5caa925b1556572ea34"
	  "06a9a1a1558aa51258ada42f96d1aeaa4056d058"
	},
	{ "gauss3_big", COH_GGML_Q3_K, 0x3f7f0200,
	  "c3bb016a875abb598df729e7a9b91fa7855a777bf20b7da35b5779cc163b4249"
	  "3746f9f0c8eb99b91d153dd3fb322900d0420d37fd3608502b8119dbce36f40e"
	  "2f326ed2323c24b82fc4cb57778d79948d89da59418ba1fbcb92a3d4bc3c86ea"
	  "558c0dcda9a66a113cc30f00314d"
	},
	{ "gauss3_big", COH_GGML_Q4_K, 0x0547a650,
	  "f944c750fff4f8ffbebff6f7f6d9ba0cc3c447aed7d9d55685b666925104f6a8"
	  "f7a4597d427bc8977c9ac9c5548b80ab069066c558d4a2a6690a755ab5657a07"
	  "a65ff8799a6978cd7cc87e15888a996f95797454f4a756b7843625353508c830"
	  "7b8534365598743991c360ae7727ba9a656abb865ad37ba26b097e47593eba2c"
	  "30a889c947a1bb0578baab0aa5f6a89b"
	},
	{ "gauss3_big", COH_GGML_Q5_K, 0xd6039ca0,
	  "d940dc50f9f5f8ffbbbff6b6e2ebb6fc225ac08b66bb4aa8664640464850f643"
	  "1ae6cdc54cb5c71f65efc7729c8ffef786999e4fbfa4bbbd0c7dde34b208ec51"
	  "ff49a4fd83f98220eb26948ca91910570c20cc8aa0b8454cd305eab47bcbf50e"
	  "4daff1e435d2d19af980fd2a100433df2ce4f8a9f830ae7f0a7d5c6a6b028260"
	  "e91b786dbc22e9743287c04fe05f6725cbc6780db6b7e845d803ee80956f754b"
	  "504114859042681bf16659065cfe4219"
	},
	{ "gauss3_big", COH_GGML_Q6_K, 0x3fd0b1c0,
	  "a8008551131aac988ab756ab7f72c9df5c21e68857b1d2bee4ea56a7f28fa01d"
	  "089abf727ddceef3db16269f52c03213616e190b7e2b13c2dee3d052bad5752b"
	  "f96c01a452821ed105cd2946970778a00b075d64d63acc56f890dd906e9f00e3"
	  "261dbc943014d50e09a9ceab7be6ad3ccc338fc37322fd4fcff0115b1c053681"
	  "1b8b52d86ad98a96662a9667d753ae1961851e9b5c9b96094b1a46e55d5a5886"
	  "a59615699136597295d949a9998e12c884666a2e9a4526d953236be0551d6165"
	  "a06c72ba6299648052a586b4ad699a836539"
	},
	{ "gauss3_big", COH_GGML_IQ4_NL, 0x12fd0d80,
	  "7f4c7233a6ef17da9475e5b6a65131d305c8ea4cda8b33693c6cac74567ab5b8"
	  "34707d9956ccaa0f7a5b486c7e2a35751bb57b5b6409e6cc4fa509825a918424"
	  "792f77ea6379579fd6cb2aa4cc9bac67c958ebd9fa0b7a76364f21cd7557b6c9"
	  "905479b3462b8c4b7bce325cb44c048a9ca57b13bb427cb9ceb75a6e8acd31cd"
	  "c8485326a94137e4683e37eb3a0c435d"
	},
	{ "spiky", COH_GGML_Q4_0, 0x0d450c00,
	  "00c5888888808888888888888888888888889433ad4a2918ad47796b5b6a1351"
	  "7b390cd62335764d56a4ba981da8cbd976740a996cb70d35965085e7b5aac887"
	  "6686666ed9a76a689134a2859ca60a7dbb88d3963899676a5ca7cb3479e78659"
	  "395aa747c920a094ac775928404278788888888887888088888988888888cd34"
	  "d9e654a8c687b789e5aad778b0b8697a"
	},
	{ "spiky", COH_GGML_Q4_1, 0xcdaf8400,
	  "924119bf0011100f110110110001110111011111c23294bfbe5b2b18bf587b7c"
	  "6c7b13618d3a0de7843423c1875e66c4dbb91fb9edfb86840baa7ec8c5340dc1"
	  "975095f7b6bbd9886696777edab76a69153491c0b295adb70b8fdc99e4a638ba"
	  "787b5db79334cbc089f8975a3a5ab858c920b094ad776928193f40cededdfeee"
	  "ffeeedeee0eeefdfeffeeefe7334cdc0e9f754b8d788c89af5bae879c0b8797b"
	},
	{ "spiky", COH_GGML_Q5_0, 0xfda09c00,
	  "00c157efbfff10000110000ff00f101000100f000000942fd77311804a94432f"
	  "3b9ed3c6b5d416b2f76208ac2331f273b8a3ed99bb5764302a3087a3ebd70421"
	  "c95e0d3160d8fd322ca01acd6b55800fcc0ccdcb935ec3c19130f468cd8b43fa"
	  "273d04fb7601a72b5f31ced4a83dcb3039d1461df2df0c9262a35e9f71305028"
	  "49eeb230403e9dfefce7e0ff1000110f0f00000001f1f1100010cd3089cadb37"
	  "b1cda7508cff6e12ca439ed0705fc1d4"
	},
	{ "spiky", COH_GGML_Q5_1, 0x1b2cd800,
	  "643d19bf080000000112100f2113211200012102121221218a2e94bfff731190"
	  "8ea856226fa0f6eac9f717d31a750bee5e3023c1f2f3b9af0faedd88a8633f73"
	  "cbf61d090754ed919e300dc1e0d8fd324ea02bfe8c77a210dd2deeeec57fd5d3"
	  "e72f91c0f47cef8b842b4b6f081fa933e85d6164d0f7bb6f6d30cbc0fbd1471d"
	  "03f02da474a560a0923060386bffc341de3a40cefffeffffadbbfccdeedcdbdd"
	  "d0dedecfceecdcfc4e30cdc0e9eefb37e3feb871ae119034fb65c0f2a081e3f6"
	},
	{ "spiky", COH_GGML_Q8_0, 0xf9d24ac0,
	  "0a35fd02fa7fff06fd05fcff010305010100fb0000fc03ff0400fcfc04fc00fe"
	  "0203a3234c2316f955ec1731291fb19434113de423c7a09119c6e9e2d6e68ad8"
	  "f4b0814e2d25e44bdaba20004f023714dbbc1f0847f1ecc6d6243015931a4152"
	  "f3eb8110e1291825e381d2e9d52601f6e2e1e75918ee1c070fcd05622c263efe"
	  "df01e4e44927e0dd9b249bcf3ae723562f06b7d9f90af21e3ceb23fb0d1b81f6"
	  "36014d0eac17dde6cd18d4240cf6e4111419f3f8098182bd45ed0e00f66404cc"
	  "b2cd24c83b99240f1ff2d79b4d32fef9fc0005fcf8ff8102050806fdfdfdf3f7"
	  "07fc04010000010001fafc05ff07d6240be4bcfee2f8f20fcf1af40381f90a1f"
	  "555cce263efb31055e1d4bea3729e1e9"
	},
	{ "spiky", COH_GGML_Q2_K, 0xabe79200,
	  "0f1111111111110111111111f61111115828544668946858686850c0a854a854"
	  "180511606a654625242412144551122a747536757a7a767544b17171397676b5"
	  "86cd6596a0559a51da91984699a55562553dab3e"
	},
	{ "spiky", COH_GGML_Q3_K, 0x31680000,
	  "e76357e673fdfbff23c3d5dd7bd3fbed3a39f91447d471dd7c5c6db82164c9df"
	  "ec08e4f0ec4c0408c8f4e0f068f44c1c38a43050e7d78f1c683c43788cd2725f"
	  "01c38e07c5060100c2430008080d0243011ce0b9180846080a84066177a38f65"
	  "202121214f2222fee4aaaa660035"
	},
	{ "spiky", COH_GGML_Q4_K, 0xc2331ea0,
	  "a92957363f0586070505c6066666f867e0b1a09ff181b0c1c0b14121c1a1d171"
	  "b0513110b151717160701160814001e1670f56645ba98f796d6b66d49b7a9e88"
	  "974586ecbdabc18b6e8f6867c0aa675ca2867da7abbf8c89a406084ae88bad98"
	  "8bf99a5b3058cd59de2ac3aab787662b8e6d4e8e6f7e7d9e509e7f8f0f7e8eae"
	  "dddd5faebf7ebe8ede9ece6dbeaf6e6f"
	},
	{ "spiky", COH_GGML_Q5_K, 0xb070e250,
	  "6d2559363f0586070405c6066667f966e24652e376feded626c6d0d87ed6fefc"
	  "def078dccedcf8dcf4dce470eacc4056d082602ff10360a290718132a251b1f1"
	  "80b1513062a1f2f1d0f022d0117112e2ce0fadd8a8530ff3cbc6ddc838e44e10"
	  "209a1cd96a568107cd0fc1cfa055ceb924fccb2f383fe9f4180d027491e72b00"
	  "f8d2159761a15a938e3557264eefbc364cfb9c2dee1c1b5cb07d1e3f0e2c4c7c"
	  "fafbbe8cce2dad3dfd7dedfbbc9eedfe"
	},
	{ "spiky", COH_GGML_Q6_K, 0xb334a400,
	  "b11f01d0300e01ff9180f0cf3fc02060b11e5e95c5584c711554d7b5024380a5"
	  "970b47ae5aaa07df8d8aa87060b57327b911e8041631ba18b509a2a67d3cb0c4"
	  "f1e1f2081bfaee0219041e231cf9f3fa098f1377b02dfef034142a1657e9d326"
	  "339d09f495e6dd4e4261d21011eb23805d2f014fc7200cee23708c75ea3ba370"
	  "6e097a745ea58a594a5a62f19d5a8ea658d551206b6507a6b4b49394066193af"
	  "985557696a5b56a648a161a62d569b99060dfa5220a55a522f62289a196595b2"
	  "80050506fb0808fa06070806530808fa0021"
	},
	{ "spiky", COH_GGML_IQ4_NL, 0xe7041300,
	  "0ab5888888808887888788888888878888883523be3b1a07ae366a5c4b6b0241"
	  "7c290de54925664d55b3caa81da8dcea75630a995db73525964084e6b4bbc887"
	  "5585666edab65a59a224b1749ca60b7ecc88d39527a9576a4ca6b52479f78549"
	  "2a4ab737c910b093bd7649184d3278778888888887888088887988888898ea24"
	  "e9e643b8c577c789e4aad768c0b7596a"
	},
};

/* Many rows, one checksum per type: catches what only a rare block shows
 * (a product reordered in a fit moves ~1 block in 400). */
struct batch {
	enum coh_ggml_type type;
	uint32_t fnv;			/* FNV-1a of all quantized bytes */
	uint32_t digests;		/* sum of the rows' dequant digests */
};

static const struct batch batches[] = {
	/* python3 tests/cohete/quant-golden.py */
	{ COH_GGML_Q4_0, 0xcaa3a336, 0x4d25bc00 },
	{ COH_GGML_Q4_1, 0x6c1371b8, 0xaf553700 },
	{ COH_GGML_Q5_0, 0xb89bf865, 0xe5481c00 },
	{ COH_GGML_Q5_1, 0x065d1107, 0xbb49a680 },
	{ COH_GGML_Q8_0, 0x6df92b0c, 0x3fa404c0 },
	{ COH_GGML_Q2_K, 0x857bc84c, 0xc26335d0 },
	{ COH_GGML_Q3_K, 0xb8c3cce0, 0x6dcf9700 },
	{ COH_GGML_Q4_K, 0x1c32a388, 0xa7da3566 },
	{ COH_GGML_Q5_K, 0xf7d92778, 0x5b576990 },
	{ COH_GGML_Q6_K, 0x0ea3e2f1, 0xf42a5b0e },
	{ COH_GGML_IQ4_NL, 0x6a4bd01f, 0x8dc411c0 },
};

/* Row r of the batch: four kinds of data, scales 2^-12 .. 2^12. */
static void batch_row(int r, float *x)
{
	uint32_t seed = 1000 + (uint32_t)r;
	int kind = r % 4, e = r / 4 % 9 * 3 - 12;

	if (kind == 1) {			/* quarter steps: many ties */
		for (int i = 0; i < 256; i++)
			x[i] = ldexpf((float)((int)(xorshift32(&seed) >> 28) - 8),
				      e - 2);
		return;
	}
	gauss_row(seed, x, 256, e);
	for (int i = 0; i < 256; i++) {
		if (kind == 2)			/* all positive */
			x[i] = fabsf(x[i]) + ldexpf(1.0f, e - 1);
		else if (kind == 3 && i / 16 % 5 == 0)
			x[i] = x[i & ~15];	/* constant sub-blocks */
		else if (kind == 3 && i % 3 == 0)
			x[i] = 0.0f;
	}
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

static int test_python_batch(void)
{
	static float rows[256][256];
	uint8_t b[512];			/* a Q8_0 row is 272 bytes */
	float y[256];
	int bad = 0;

	for (int r = 0; r < 256; r++)
		batch_row(r, rows[r]);
	for (size_t t = 0; t < sizeof(batches) / sizeof(batches[0]); t++) {
		enum coh_ggml_type type = batches[t].type;
		size_t len = coh_quant_row_bytes(type, 256);
		uint32_t h = 0x811c9dc5u, d = 0;

		for (int r = 0; r < 256; r++) {
			CHECK(coh_quantize_row(type, rows[r], b, 256) == 0);
			CHECK(coh_dequantize_row(type, b, y, 256) == 0);
			h = fnv1a(h, b, len);
			d += digest(y, 256);
		}
		if (h != batches[t].fnv || d != batches[t].digests) {
			fprintf(stderr, "batch type %d: %08x %08x, want %08x %08x\n",
				type, h, d, batches[t].fnv, batches[t].digests);
			bad++;
		}
	}
	CHECK(bad == 0);
	return T_PASS;
}

static int test_python_goldens(void)
{
	static uint8_t want[1024], got[1024];
	float x[256], y[256];
	int bad = 0;

	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];
		size_t len = unhex(g->hex, want);

		make_case(g->input, x);
		CHECK(len == coh_quant_row_bytes(g->type, 256));
		CHECK(coh_quantize_row(g->type, x, got, 256) == 0);
		if (memcmp(want, got, len)) {
			fprintf(stderr, "%s type %d differs\n", g->input, g->type);
			dump("want", want, len);
			dump("got ", got, len);
			bad++;
		}
		CHECK(coh_dequantize_row(g->type, want, y, 256) == 0);
		if (digest(y, 256) != g->digest) {
			fprintf(stderr, "%s type %d: dequantized differently\n",
				g->input, g->type);
			bad++;
		}
	}
	CHECK(bad == 0);
	return T_PASS;
}

/* ---- error bounds on random rows ------------------------------------ */

static float f16(const uint8_t *p)
{
	float f;

	coh_dequantize_row(COH_GGML_F16, p, &f, 1);
	return f;
}

/* Gaussian floats (Box-Muller), deterministic for a seed. */
static void normal_row(uint32_t seed, float *x, size_t n, float sigma)
{
	for (size_t i = 0; i < n; i += 2) {
		float u1 = ((xorshift32(&seed) >> 8) + 1.0f) / 16777217.0f;
		float u2 = (xorshift32(&seed) >> 8) / 16777216.0f;
		float r = sqrtf(-2.0f * logf(u1)) * sigma;

		x[i] = r * cosf(6.2831853f * u2);
		if (i + 1 < n)
			x[i + 1] = r * sinf(6.2831853f * u2);
	}
}

/*
 * Q4_0 / Q5_0 (levels -h .. h - 1) and Q8_0 (h = 127, levels -127 .. 127,
 * no clamp): x / d32 lies in [-h, h], so
 * the rounded level is within d32 / 2 of x, except on the clamped side
 * (x / d32 > h - 0.5, error < d32); storing d in fp16 moves a level q by
 * |q| |d32 - d16| <= h |d32 - d16|; 1e-6 amax covers the float products.
 */
static int check_sym_block(enum coh_ggml_type type, const float *x,
			   const uint8_t *b, const float *y)
{
	const float h = type == COH_GGML_Q4_0 ? 8 : type == COH_GGML_Q5_0 ? 16
									   : 127;
	float amax = 0, max = 0;

	for (int j = 0; j < QK; j++) {
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	}

	const float d32 = type == COH_GGML_Q8_0 ? amax / 127 : max / -h;
	const float d16 = f16(b);

	for (int j = 0; j < QK; j++) {
		float t = d32 ? x[j] / d32 : 0;
		float step = type != COH_GGML_Q8_0 && t > h - 0.5f ? 1.0f : 0.5f;
		float bound = step * fabsf(d32) + h * fabsf(d32 - d16) +
			      1e-6f * amax;

		if (!(fabsf(x[j] - y[j]) <= bound)) {
			fprintf(stderr, "type %d elem %d: x %g y %g bound %g\n",
				type, j, x[j], y[j], bound);
			return 0;
		}
	}
	return 1;
}

/*
 * Q4_1 / Q5_1: (x - min) / d32 lies in [0, nmax], rounded half up: within
 * d32 / 2; fp16 d moves level q by q |d32 - d16|, fp16 m by |min - m16|.
 */
static int check_asym_block(enum coh_ggml_type type, const float *x,
			    const uint8_t *b, const float *y)
{
	const float nmax = type == COH_GGML_Q4_1 ? 15 : 31;
	float min = x[0], max = x[0];

	for (int j = 1; j < QK; j++) {
		min = fminf(min, x[j]);
		max = fmaxf(max, x[j]);
	}

	const float d32 = (max - min) / nmax;
	const float bound = 0.5f * d32 + nmax * fabsf(d32 - f16(b)) +
			    fabsf(min - f16(b + 2)) +
			    1e-6f * (fabsf(max) + fabsf(min));

	for (int j = 0; j < QK; j++)
		if (!(fabsf(x[j] - y[j]) <= bound))
			return 0;
	return 1;
}

/* A K-quant sub-block's effective scale, min and level range. */
struct sub {
	float d, m;
	int lo, hi;
};

static void get_scale_min_k4(int j, const uint8_t *q, int *d, int *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

static struct sub k_sub(enum coh_ggml_type type, const uint8_t *b, int e)
{
	struct sub s = { 0 };
	int sc, m, j;

	switch (type) {
	case COH_GGML_Q2_K:
		j = e / 16;
		s = (struct sub){ f16(b + 80) * (b[j] & 15),
				  f16(b + 82) * (b[j] >> 4), 0, 3 };
		break;
	case COH_GGML_Q3_K:
		j = e / 16;
		sc = (j < 8 ? b[96 + j] & 15 : b[96 + j - 8] >> 4) |
		     (b[104 + j % 4] >> (2 * (j / 4)) & 3) << 4;
		s = (struct sub){ f16(b + 108) * (sc - 32), 0, -4, 3 };
		break;
	case COH_GGML_Q4_K:
	case COH_GGML_Q5_K:
		get_scale_min_k4(e / 32, b + 4, &sc, &m);
		s = (struct sub){ f16(b) * sc, f16(b + 2) * m, 0,
				  type == COH_GGML_Q4_K ? 15 : 31 };
		break;
	default:
		s = (struct sub){ f16(b + 208) * (int8_t)b[192 + e / 16], 0,
				  -32, 31 };
		break;
	}
	return s;
}

/*
 * K-quants: the fitted scales have no closed-form bound, but the final
 * pass must pick, for every element of a sub-block with a non-zero
 * effective scale, the level nearest to x on the stored grid d q - m
 * (within d / 2 when x is inside the grid). Float rounding of (x + m) / d
 * allowed for by 1e-6 of the magnitudes involved.
 */
static int check_k_block(enum coh_ggml_type type, const float *x,
			 const uint8_t *b, const float *y)
{
	for (int e = 0; e < QK_K; e++) {
		struct sub s = k_sub(type, b, e);
		float best = INFINITY;

		if (!s.d)
			continue;
		for (int q = s.lo; q <= s.hi; q++)
			best = fminf(best, fabsf(x[e] - (s.d * q - s.m)));

		float tol = 1e-6f * (fabsf(x[e]) + fabsf(s.m) +
				     fabsf(s.d) * (s.hi - s.lo));
		float g0 = s.d * s.lo - s.m, g1 = s.d * s.hi - s.m;
		int inside = x[e] >= fminf(g0, g1) && x[e] <= fmaxf(g0, g1);

		if (!(fabsf(x[e] - y[e]) <= best + tol) ||
		    (inside && best > 0.5f * fabsf(s.d) + tol)) {
			fprintf(stderr, "type %d elem %d: x %g y %g best %g\n",
				type, e, x[e], y[e], best);
			return 0;
		}
	}
	return 1;
}

static const enum coh_ggml_type all_types[10] = {
	COH_GGML_Q4_0, COH_GGML_Q4_1, COH_GGML_Q5_0, COH_GGML_Q5_1,
	COH_GGML_Q8_0, COH_GGML_Q2_K, COH_GGML_Q3_K, COH_GGML_Q4_K,
	COH_GGML_Q5_K, COH_GGML_Q6_K };

static int check_row(enum coh_ggml_type type, const float *x, size_t n,
		     uint8_t *buf, float *y)
{
	const size_t blk = coh_quant_block_elems(type);
	const size_t bytes = coh_quant_row_bytes(type, blk);

	CHECK(coh_quantize_row(type, x, buf, n) == 0);
	CHECK(coh_dequantize_row(type, buf, y, n) == 0);
	for (size_t i = 0; i < n / blk; i++) {
		const float *xi = x + i * blk, *yi = y + i * blk;
		const uint8_t *bi = buf + i * bytes;
		int ok;

		if (type == COH_GGML_Q4_1 || type == COH_GGML_Q5_1)
			ok = check_asym_block(type, xi, bi, yi);
		else if (blk == QK)
			ok = check_sym_block(type, xi, bi, yi);
		else
			ok = check_k_block(type, xi, bi, yi);
		CHECK(ok);
	}
	return T_PASS;
}

static int test_bounds(void)
{
	static const float sigmas[3] = { 1e-3f, 1.0f, 1e3f };
	static const size_t lens[3] = { 256, 1024, 4096 };
	float *x = malloc(4096 * sizeof(float));
	float *y = malloc(4096 * sizeof(float));
	uint8_t *buf = malloc(4096 * 2);
	int rc = T_PASS;

	CHECK(x && y && buf);
	for (int s = 0; s < 3 && rc == T_PASS; s++) {
		normal_row(11 + (uint32_t)s, x, lens[s], sigmas[s]);
		for (int t = 0; t < 10 && rc == T_PASS; t++)
			rc = check_row(all_types[t], x, lens[s], buf, y);
	}
	free(x);
	free(y);
	free(buf);
	return rc;
}

/*
 * IQ4_NL: the levels come from the fp32 d, the check has only the fp16
 * one, |d32 - d16| <= 2^-11 |d16|: x / d16 is within 127 x 2^-11 < 0.07
 * of x / d32, so the stored level is the nearest to x / d16 give or
 * take 0.07 (twice, for the other level's distance). Inside the grid the
 * nearest is at most half the widest gap, 12 (89 .. 113), away.
 */
static int check_iq4_nl_block(const float *x, const uint8_t *b,
			      const float *y)
{
	static const float lv[16] = { -127, -104, -83, -65, -49, -35, -22,
				      -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	const float d = f16(b);

	for (int j = 0; j < QK; j++) {
		int q = j < 16 ? b[2 + j] & 15 : b[2 + j - 16] >> 4;
		float t = d ? x[j] / d : 0, best = INFINITY;

		for (int k = 0; k < 16; k++)
			best = fminf(best, fabsf(t - lv[k]));
		if (!(fabsf(t - lv[q]) <= best + 0.14f) ||
		    !(fabsf(x[j] - y[j]) <= (best + 0.14f) * fabsf(d)) ||
		    (t >= -127 && t <= 113 && !(best <= 12))) {
			fprintf(stderr, "iq4_nl elem %d: x %g y %g d %g\n", j,
				x[j], y[j], d);
			return 0;
		}
	}
	return 1;
}

/* Random rows at three scales, every block within its bound. */
static int test_iq4_nl_bounds(void)
{
	static const float sigmas[3] = { 1e-3f, 1.0f, 1e3f };
	float x[4096], y[4096];
	static uint8_t b[4096 / 32 * 18];

	for (int s = 0; s < 3; s++) {
		normal_row(21 + (uint32_t)s, x, 4096, sigmas[s]);
		CHECK(coh_quantize_row(COH_GGML_IQ4_NL, x, b, 4096) == 0);
		CHECK(coh_dequantize_row(COH_GGML_IQ4_NL, b, y, 4096) == 0);
		CHECK(coh_quant_row_finite(COH_GGML_IQ4_NL, b, 4096) == 1);
		for (int i = 0; i < 4096 / QK; i++)
			CHECK(check_iq4_nl_block(x + QK * i, b + 18 * i,
						 y + QK * i));
	}
	return T_PASS;
}

static double rmse(enum coh_ggml_type type, const float *x, size_t n,
		   uint8_t *buf, float *y)
{
	double sum = 0;

	if (coh_quantize_row(type, x, buf, n) || coh_dequantize_row(type, buf, y, n))
		return INFINITY;
	for (size_t i = 0; i < n; i++)
		sum += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
	return sqrt(sum / (double)n);
}

/* On gaussian data more bits must mean less error, and Qx_1 (a min per
 * block) may not be worse than Qx_0 by more than a hair. */
static int test_rmse_order(void)
{
	static const enum coh_ggml_type order[6] = {
		COH_GGML_Q8_0, COH_GGML_Q6_K, COH_GGML_Q5_K, COH_GGML_Q4_K,
		COH_GGML_Q3_K, COH_GGML_Q2_K };
	const size_t n = 4096;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	uint8_t *buf = malloc(n * 2);
	double r[6];

	CHECK(x && y && buf);
	normal_row(99, x, n, 1.0f);
	for (int i = 0; i < 6; i++) {
		r[i] = rmse(order[i], x, n, buf, y);
		fprintf(stderr, "  rmse type %2d: %.5f\n", order[i], r[i]);
	}
	for (int i = 1; i < 6; i++)
		CHECK(r[i - 1] < r[i]);
	CHECK(rmse(COH_GGML_Q5_1, x, n, buf, y) <=
	      1.05 * rmse(COH_GGML_Q5_0, x, n, buf, y));
	CHECK(rmse(COH_GGML_Q4_1, x, n, buf, y) <=
	      1.05 * rmse(COH_GGML_Q4_0, x, n, buf, y));
	CHECK(rmse(COH_GGML_Q5_0, x, n, buf, y) <
	      rmse(COH_GGML_Q4_0, x, n, buf, y));
	/* the non-linear levels beat Q4_0's at the same 4.5 bits */
	CHECK(rmse(COH_GGML_IQ4_NL, x, n, buf, y) <
	      rmse(COH_GGML_Q4_0, x, n, buf, y));
	free(x);
	free(y);
	free(buf);
	return T_PASS;
}

/* ---- determinism ----------------------------------------------------- */

/* Same bytes for the input at float offsets 0..3 and the output at odd
 * byte offsets, and from one call to the next. */
static int test_alignment(void)
{
	static float xs[512 + 4];
	static uint8_t base[512 * 2], out[512 * 2 + 8];
	float x[512];

	normal_row(5, x, 512, 2.0f);
	for (int t = 0; t < 10; t++) {
		enum coh_ggml_type type = all_types[t];
		size_t len = coh_quant_row_bytes(type, 512);

		CHECK(coh_quantize_row(type, x, base, 512) == 0);
		for (int off = 0; off < 4; off++) {
			memcpy(xs + off, x, sizeof(x));
			memset(out, 0xa5, sizeof(out));
			CHECK(coh_quantize_row(type, xs + off, out + 1 + 2 * off,
					       512) == 0);
			CHECK(!memcmp(base, out + 1 + 2 * off, len));
		}
	}
	return T_PASS;
}

/* ---- plain types and the API's edges -------------------------------- */

static int test_half_rows(void)
{
	/* 1 + 2^-11 ties to even (1.0), 1 + 3 x 2^-11 rounds up to
	 * 1 + 2^-9, 65520 rounds to inf, 2^-25 ties to 0, 3 x 2^-26 up
	 * to the smallest subnormal */
	const float x[6] = { 1 + 0x1p-11f, 1 + 0x3p-11f, 65520.0f,
			     0x1p-25f, 0x3p-26f, -2.0f };
	static const uint8_t f16_want[12] = { 0x00, 0x3c, 0x02, 0x3c, 0x00,
					      0x7c, 0x00, 0x00, 0x01, 0x00,
					      0x00, 0xc0 };
	/* bf16: 1 + 2^-8 ties to even 0x3f80, 1 + 3 x 2^-8 -> 0x3f82; the
	 * others keep their top 16 bits after rounding */
	const float xb[3] = { 1 + 0x1p-8f, 1 + 0x3p-8f, NAN };
	uint8_t b[12];
	float y[6];

	CHECK(coh_quantize_row(COH_GGML_F16, x, b, 6) == 0);
	CHECK(!memcmp(b, f16_want, 12));
	CHECK(coh_dequantize_row(COH_GGML_F16, b, y, 6) == 0);
	CHECK(y[0] == 1.0f && y[1] == 1 + 0x1p-9f && isinf(y[2]) &&
	      y[4] == 0x1p-24f && y[5] == -2.0f);

	CHECK(coh_quantize_row(COH_GGML_BF16, xb, b, 3) == 0);
	CHECK(b[0] == 0x80 && b[1] == 0x3f && b[2] == 0x82 && b[3] == 0x3f);
	CHECK((b[5] & 0x7f) == 0x7f && (b[4] & 0xc0) == 0xc0);	/* quiet NaN */
	CHECK(coh_dequantize_row(COH_GGML_BF16, b, y, 3) == 0);
	CHECK(y[0] == 1.0f && y[1] == 1 + 0x1p-6f && isnan(y[2]));

	CHECK(coh_quantize_row(COH_GGML_F32, x, b, 3) == 0);
	CHECK(coh_dequantize_row(COH_GGML_F32, b, y, 3) == 0);
	CHECK(!memcmp(x, y, 3 * sizeof(float)));
	return T_PASS;
}

static int test_api(void)
{
	float x[256] = { 0 };
	uint8_t b[512];

	CHECK(coh_quant_row_bytes(COH_GGML_Q4_0, 64) == 36);
	CHECK(coh_quant_row_bytes(COH_GGML_Q8_0, 32) == 34);
	CHECK(coh_quant_row_bytes(COH_GGML_Q2_K, 512) == 168);
	CHECK(coh_quant_row_bytes(COH_GGML_Q3_K, 256) == 110);
	CHECK(coh_quant_row_bytes(COH_GGML_Q6_K, 256) == 210);
	CHECK(coh_quant_row_bytes(COH_GGML_F16, 3) == 6);
	CHECK(coh_quant_row_bytes(COH_GGML_Q4_K, 128) == 0);
	CHECK(coh_quant_row_bytes(COH_GGML_Q8_1, 32) == 0);
	CHECK(coh_quant_block_elems(COH_GGML_Q5_K) == 256);
	CHECK(coh_quantize_row(COH_GGML_Q4_0, x, b, 33) == -EINVAL);
	CHECK(coh_quantize_row(COH_GGML_Q4_K, x, b, 32) == -EINVAL);
	CHECK(coh_quantize_row(COH_GGML_Q8_K, x, b, 256) == -EINVAL);
	CHECK(coh_quantize_row((enum coh_ggml_type)4, x, b, 32) == -EINVAL);
	CHECK(coh_dequantize_row(COH_GGML_Q8_1, b, x, 32) == -EINVAL);
	CHECK(coh_quantize_row(COH_GGML_Q4_0, x, b, 0) == 0);
	CHECK(coh_quant_row_finite(COH_GGML_Q4_K, b, 100) == -EINVAL);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("q4_0_hand", test_q4_0_hand, &rc);
	t_run("q4_0_edges", test_q4_0_edges, &rc);
	t_run("q4_1_hand", test_q4_1_hand, &rc);
	t_run("q5_0_hand", test_q5_0_hand, &rc);
	t_run("q5_1_hand", test_q5_1_hand, &rc);
	t_run("q8_0_hand", test_q8_0_hand, &rc);
	t_run("k_zero", test_k_zero, &rc);
	t_run("k_equal", test_k_equal, &rc);
	t_run("iq4_nl_levels", test_iq4_nl_levels, &rc);
	t_run("iq4_nl_ties", test_iq4_nl_ties, &rc);
	t_run("iq4_nl_equal", test_iq4_nl_equal, &rc);
	t_run("iq4_nl_edges", test_iq4_nl_edges, &rc);
	t_run("iq4_nl_nan", test_iq4_nl_nan, &rc);
	t_run("python_goldens", test_python_goldens, &rc);
	t_run("python_batch", test_python_batch, &rc);
	t_run("bounds", test_bounds, &rc);
	t_run("iq4_nl_bounds", test_iq4_nl_bounds, &rc);
	t_run("rmse_order", test_rmse_order, &rc);
	t_run("alignment", test_alignment, &rc);
	t_run("half_rows", test_half_rows, &rc);
	t_run("api", test_api, &rc);
	return rc;
}
