/*
 * simd-cvt.c - every SIMD tier's fp16/bf16 conversions against the scalar
 * reference (pep_f32_to_f16() and friends), bit for bit, NaNs included:
 * all 65536 patterns for the widening direction; for narrowing, every f32
 * pattern at a prime stride plus whole neighbourhoods of the boundaries
 * where rounding goes wrong first. Array lengths 0..67 at odd offsets
 * catch tail and alignment mistakes; a guard word catches overruns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/simd.h>

#include "harness.h"

#define STRIDE 65521u		/* prime: hits every exponent and lsb pattern */
#define HOOD 2048u
#define GUARD 0xdead

static uint32_t *sample;	/* f32 bit patterns */
static size_t nsample;

static float f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static uint32_t bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* Positive centres; each is also taken negated. */
static const uint32_t centres[] = {
	0x00000000,	/* +0, and f32 subnormals */
	0x00800000,	/* smallest f32 normal */
	0x33000000,	/* 2^-25: half the smallest f16 subnormal */
	0x33800000,	/* 2^-24: smallest f16 subnormal */
	0x33c00000,	/* 1.5 2^-24: tie between subnormals */
	0x34200000,	/* 2.5 2^-24 */
	0x387fc000,	/* largest f16 subnormal */
	0x387fe000,	/* tie into the smallest normal */
	0x38800000,	/* 2^-14: smallest f16 normal */
	0x3f800000,	/* 1 */
	0x3f801000,	/* 1 + half an f16 ulp */
	0x3f803000,	/* odd tie */
	0x3f808000,	/* bf16 tie */
	0x3f818000,	/* bf16 odd tie */
	0x477fe000,	/* 65504: largest f16 */
	0x477ff000,	/* 65520: rounds to inf */
	0x7f7f8000,	/* bf16 tie at the top: rounds to inf */
	0x7f7fffff,	/* largest f32 */
	0x7f800000,	/* inf; above it the NaNs */
	0x7fc00000,	/* quiet NaN */
	0x7fffffff,
};

/*
 * Ties and their neighbours at every exponent that lands in or near f16's
 * range (f16 subnormals to overflow), for random upper mantissas: the
 * 13 bits f16 drops and the 16 bits bf16 drops.
 */
#define TIE_EXP_LO 0x60
#define TIE_EXP_HI 0x90
#define TIE_MANTS 64

static const uint32_t tie_low[] = {
	0x0fff, 0x1000, 0x1001, 0x7fff, 0x8000, 0x8001,
};

static void add_ties(void)
{
	uint32_t seed = 12345;

	for (uint32_t e = TIE_EXP_LO; e < TIE_EXP_HI; e++) {
		for (int k = 0; k < TIE_MANTS; k++) {
			seed = seed * 1664525u + 1013904223u;
			for (size_t t = 0; t < sizeof(tie_low) / sizeof(tie_low[0]); t++) {
				uint32_t high = seed & 0x7f0000u;
				uint32_t mid = t < 3 ? (seed >> 8) & 0xe000u : 0;
				uint32_t u = e << 23 | high | mid | tie_low[t];

				sample[nsample++] = u;
				sample[nsample++] = u | 0x80000000u;
			}
		}
	}
}

static int build_sample(void)
{
	size_t cap = (1ull << 32) / STRIDE + 2 +
		     sizeof(centres) / sizeof(centres[0]) * 2 * (2 * HOOD + 1) +
		     (TIE_EXP_HI - TIE_EXP_LO) * TIE_MANTS * 2 *
		     sizeof(tie_low) / sizeof(tie_low[0]);

	sample = malloc(cap * sizeof(*sample));
	if (!sample)
		return -1;
	for (uint64_t u = 0; u < (1ull << 32); u += STRIDE)
		sample[nsample++] = (uint32_t)u;
	for (size_t c = 0; c < sizeof(centres) / sizeof(centres[0]); c++) {
		for (int64_t d = -(int64_t)HOOD; d <= (int64_t)HOOD; d++) {
			uint32_t u = (uint32_t)(centres[c] + d);

			sample[nsample++] = u;
			sample[nsample++] = u ^ 0x80000000u;
		}
	}
	add_ties();
	return 0;
}

typedef void (*narrow_fn)(uint16_t *y, const float *x, size_t n);
typedef uint16_t (*narrow_ref)(float f);

/* y = fn(x) for n elements at offset off; compare with ref, guard intact. */
static int check_narrow(const char *what, narrow_fn fn, narrow_ref ref,
			const uint32_t *src, size_t n, size_t off)
{
	float *x = calloc(n + off + 1, sizeof(*x));
	uint16_t *y = calloc(n + off + 1, sizeof(*y));
	int rc = T_PASS;

	CHECK(x && y);
	for (size_t i = 0; i < n; i++)
		x[off + i] = f32(src[i]);
	y[off + n] = GUARD;
	fn(y + off, x + off, n);
	for (size_t i = 0; i < n && rc == T_PASS; i++) {
		uint16_t want = ref(x[off + i]);

		if (y[off + i] != want) {
			fprintf(stderr, "%s: n %zu off %zu [%zu] 0x%08x -> 0x%04x, want 0x%04x\n",
				what, n, off, i, src[i], y[off + i], want);
			rc = T_FAIL;
		}
	}
	if (y[off + n] != GUARD) {
		fprintf(stderr, "%s: n %zu off %zu wrote past the end\n", what, n, off);
		rc = T_FAIL;
	}
	free(x);
	free(y);
	return rc;
}

static int narrow_all(const char *what, narrow_fn fn, narrow_ref ref)
{
	for (size_t n = 0; n <= 67; n++)
		for (size_t off = 0; off < 4; off++)
			CHECK(check_narrow(what, fn, ref, sample + n * 97, n,
					   off) == T_PASS);
	CHECK(check_narrow(what, fn, ref, sample, nsample, 1) == T_PASS);
	return T_PASS;
}

typedef void (*widen_fn)(float *y, const uint16_t *x, size_t n);
typedef float (*widen_ref)(uint16_t h);

static int check_widen(const char *what, widen_fn fn, widen_ref ref,
		       size_t first, size_t n, size_t off)
{
	uint16_t *x = calloc(n + off + 1, sizeof(*x));
	float *y = calloc(n + off + 1, sizeof(*y));
	int rc = T_PASS;

	CHECK(x && y);
	for (size_t i = 0; i < n; i++)
		x[off + i] = (uint16_t)(first + i);
	y[off + n] = f32(GUARD);
	fn(y + off, x + off, n);
	for (size_t i = 0; i < n && rc == T_PASS; i++) {
		uint32_t got = bits(y[off + i]), want = bits(ref(x[off + i]));

		if (got != want) {
			fprintf(stderr, "%s: n %zu off %zu [%zu] 0x%04x -> 0x%08x, want 0x%08x\n",
				what, n, off, i, x[off + i], got, want);
			rc = T_FAIL;
		}
	}
	if (bits(y[off + n]) != GUARD) {
		fprintf(stderr, "%s: n %zu off %zu wrote past the end\n", what, n, off);
		rc = T_FAIL;
	}
	free(x);
	free(y);
	return rc;
}

static int widen_all(const char *what, widen_fn fn, widen_ref ref)
{
	for (size_t n = 0; n <= 67; n++)
		for (size_t off = 0; off < 4; off++)
			CHECK(check_widen(what, fn, ref, 0x7bf0 + n, n, off) == T_PASS);
	CHECK(check_widen(what, fn, ref, 0, 65536, 1) == T_PASS);
	return T_PASS;
}

static int test_f16(void)
{
	CHECK(narrow_all("f32_to_f16", pep_vf32_to_f16, pep_f32_to_f16) == T_PASS);
	return widen_all("f16_to_f32", pep_vf16_to_f32, pep_f16_to_f32);
}

static int test_bf16(void)
{
	CHECK(narrow_all("f32_to_bf16", pep_vf32_to_bf16, pep_f32_to_bf16) == T_PASS);
	return widen_all("bf16_to_f32", pep_vbf16_to_f32, pep_bf16_to_f32);
}

/* Values everyone agrees on, through the active tier's arrays. */
static int test_known(void)
{
	static const struct { float f; uint16_t h; } f16[] = {
		{ 1.0f, 0x3c00 }, { 65504.0f, 0x7bff }, { 65520.0f, 0x7c00 },
		{ 0x1p-24f, 0x0001 }, { -2.0f, 0xc000 }, { 0.0f, 0x0000 },
		{ -0.0f, 0x8000 }, { 0x1p-25f, 0x0000 },
	};
	static const struct { float f; uint16_t h; } bf16[] = {
		{ 0.1f, 0x3dcd }, { 1.0f, 0x3f80 }, { -1.0f, 0xbf80 },
	};

	for (size_t i = 0; i < sizeof(f16) / sizeof(f16[0]); i++) {
		uint16_t h;
		float back;

		pep_vf32_to_f16(&h, &f16[i].f, 1);
		CHECK(h == f16[i].h);
		pep_vf16_to_f32(&back, &h, 1);
		/* 65520 and 2^-25 do not survive the trip; the rest do */
		CHECK(i == 2 || i == 7 || back == f16[i].f);
	}
	for (size_t i = 0; i < sizeof(bf16) / sizeof(bf16[0]); i++) {
		uint16_t h;

		pep_vf32_to_bf16(&h, &bf16[i].f, 1);
		CHECK(h == bf16[i].h);
	}
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS, ran = 0;

	if (build_sample() != 0)
		return T_ERROR;
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		fprintf(stderr, "tier %s\n", pep_simd_isa_name(isa));
		t_run("known values", test_known, &rc);
		t_run("f16 both ways", test_f16, &rc);
		t_run("bf16 both ways", test_bf16, &rc);
		ran++;
	}
	free(sample);
	if (ran < 2 && pep_simd_best() != PEP_SIMD_SCALAR) {
		fprintf(stderr, "only %d tier(s) ran\n", ran);
		rc = T_FAIL;
	}
	return rc;
}
