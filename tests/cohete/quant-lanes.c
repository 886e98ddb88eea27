/*
 * The quantizers on every SIMD tier against the scalar reference, byte
 * for byte: the lanes (src/cohete/quant/lanes.c) must repeat the
 * reference's arithmetic on any input, not only on well-behaved weights.
 * Rows of 1, 2 and 5 super-blocks (an odd count leaves Q4_K/Q5_K one
 * super-block without a partner) filled with: normal weights; groups at
 * scales from denormal to 2^120 in one row; exact .5 ties; zero, equal,
 * lone and sign-alternating groups; F16 values; NaN, inf, FLT_MAX and
 * denormals sprinkled in; and raw random bit patterns.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>
#include <pepita/simd.h>

#include "harness.h"

#define QK_K	256
#define ROWS	64	/* per case */
#define CASES	8

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 32);
}

static float bits_float(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Roughly normal, sigma 1. */
static float gauss(void)
{
	float s = 0;

	for (int i = 0; i < 4; i++)
		s += (float)(rnd() >> 8) / (float)(1u << 24) - 0.5f;
	return s * 1.7320508f;
}

static float special(void)
{
	static const uint32_t bits[] = {
		0x7fc00000, 0xffc00000, 0x7fa00001, 0x7f800000, 0xff800000,
		0x7f7fffff, 0xff7fffff, 0x00000001, 0x80400000, 0x00800000,
		0x80000000, 0x00000000, 0x1e3ce508, 0x7f000000,
	};

	return bits_float(bits[rnd() % (sizeof(bits) / sizeof(bits[0]))]);
}

/* One group of 16 of the "shapes" case. */
static void shape_group(float *g)
{
	float v = gauss() * ldexpf(1, (int)(rnd() % 40) - 20);

	switch (rnd() % 6) {
	case 0:
		memset(g, 0, 16 * sizeof(*g));
		break;
	case 1:
		for (int i = 0; i < 16; i++)
			g[i] = v;
		break;
	case 2:
		memset(g, 0, 16 * sizeof(*g));
		g[rnd() % 16] = v;
		break;
	case 3:
		for (int i = 0; i < 16; i++)
			g[i] = i % 2 ? -v : v;
		break;
	case 4:
		for (int i = 0; i < 16; i++)
			g[i] = (rnd() % 2 ? -v : v) * (float)(rnd() % 3);
		break;
	default:
		for (int i = 0; i < 16; i++)
			g[i] = -fabsf(v) * (1 + (float)(rnd() % 4) / 8);
		break;
	}
}

static void make_row(int kind, float *x, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		int e = (int)(rnd() % 261) - 140;

		if (kind == 3) {
			shape_group(x + i);
			continue;
		}
		for (size_t k = i; k < i + 16; k++) {
			switch (kind) {
			case 0:	/* weights */
				x[k] = gauss() * 0.02f;
				break;
			case 1:	/* a scale per group, denormal to huge */
				x[k] = ldexpf(gauss(), e);
				break;
			case 2:	/* exact halves: ties everywhere */
				x[k] = ldexpf((float)((int)(rnd() % 33) - 16) * 0.5f,
					      e / 8);
				break;
			case 4:	/* F16 values, their denormals included */
				x[k] = pep_f16_to_f32((uint16_t)(rnd() & 0x7bff) |
						      (uint16_t)(rnd() & 0x8000));
				break;
			case 5:	/* weights with specials sprinkled in */
				x[k] = rnd() % 64 ? gauss() * 0.02f : special();
				break;
			case 6:	/* mostly specials */
				x[k] = rnd() % 2 ? ldexpf(gauss(), e) : special();
				break;
			default: /* any bit pattern */
				x[k] = bits_float(rnd());
				break;
			}
		}
	}
}

static const enum coh_ggml_type types[] = {
	COH_GGML_Q4_0, COH_GGML_Q4_1, COH_GGML_Q5_0, COH_GGML_Q5_1,
	COH_GGML_Q8_0, COH_GGML_Q2_K, COH_GGML_Q3_K, COH_GGML_Q4_K,
	COH_GGML_Q5_K, COH_GGML_Q6_K,
};

/* Quantize x on a tier; 0 or -1 if the tier cannot run here. */
static int quantize_on(enum pep_simd_isa isa, enum coh_ggml_type t,
		       const float *x, uint8_t *q, size_t n)
{
	if (pep_simd_force(isa, NULL) != 0)
		return -1;
	return coh_quantize_row(t, x, q, n);
}

static int report(enum pep_simd_isa isa, enum coh_ggml_type t, int kind,
		  int row, size_t n, const uint8_t *want, const uint8_t *got)
{
	size_t bytes = coh_quant_row_bytes(t, n);
	size_t block = bytes / (n / coh_quant_block_elems(t));
	size_t at = 0;

	while (at < bytes && want[at] == got[at])
		at++;
	fprintf(stderr, "%s on %s, case %d row %d (%zu values): byte %zu "
		"(block %zu) is %02x, the reference's %02x\n",
		coh_ggml_type_name(t), pep_simd_isa_name(isa), kind, row, n,
		at, at / block, got[at], want[at]);
	return T_FAIL;
}

static int test_tiers_match_reference(void)
{
	static const size_t lens[] = { QK_K, 2 * QK_K, 5 * QK_K };
	float *x = malloc(5 * QK_K * sizeof(*x));
	uint8_t *want = malloc(5 * QK_K * 2), *got = malloc(5 * QK_K * 2);
	int tiers = 0, rc = T_PASS;

	CHECK(x && want && got);
	for (int isa = 1; isa < PEP_SIMD_ISA_COUNT; isa++)
		tiers += pep_simd_usable((enum pep_simd_isa)isa, NULL) == 0;
	if (!tiers) {
		fprintf(stderr, "skip: this CPU has no SIMD tier besides scalar\n");
		rc = T_SKIP;
	}
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int kind = 0; kind < CASES && rc == T_PASS; kind++) {
		for (int row = 0; row < ROWS && rc == T_PASS; row++) {
			size_t n = lens[row % 3];

			make_row(kind, x, n);
			for (size_t k = 0; k < sizeof(types) / sizeof(types[0]) &&
			     rc == T_PASS; k++) {
				enum coh_ggml_type t = types[k];

				CHECK(quantize_on(PEP_SIMD_SCALAR, t, x, want, n) == 0);
				for (int isa = 1; isa < PEP_SIMD_ISA_COUNT; isa++) {
					memset(got, 0xa5, coh_quant_row_bytes(t, n));
					if (quantize_on((enum pep_simd_isa)isa, t, x,
							got, n) != 0)
						continue;
					if (memcmp(want, got, coh_quant_row_bytes(t, n))) {
						rc = report((enum pep_simd_isa)isa, t,
							    kind, row, n, want, got);
						break;
					}
				}
			}
		}
	}
	fprintf(stderr, "  %d tier(s) besides scalar, %d rows of %d kinds, "
		"%zu formats\n", tiers, CASES * ROWS, CASES,
		sizeof(types) / sizeof(types[0]));
	pep_simd_force(pep_simd_best(), NULL);
	free(x);
	free(want);
	free(got);
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	t_run("tiers_match_reference", test_tiers_match_reference, &rc);
	return rc;
}
