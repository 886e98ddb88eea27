/*
 * qdot_scalar.c - dot products of GGML quantized blocks in portable C.
 *
 * Each block's integer dot is exact (int32 cannot overflow: at most
 * 256 * 15 * 128 * 63 in a Q4_K super-block). The product of two fp16
 * scales is exact in f32 (11 + 11 significant bits), so a 32-block costs
 * one rounding for the scale times the integer and one for the sum. A
 * Q4_K super-block combines its two integer sums in double and rounds
 * once, which keeps it within the header's bound even for one block.
 */
#include "simd_priv.h"

static float fp16(uint16_t h)
{
	return pep__f16_to_f32_scalar(h);
}

static int32_t block_q4_0_q8_0(const struct pep_block_q4_0 *x,
			       const struct pep_block_q8_0 *y)
{
	int32_t sum = 0;

	for (int j = 0; j < PEP_QK4_0 / 2; j++) {
		sum += ((x->qs[j] & 15) - 8) * y->qs[j];
		sum += ((x->qs[j] >> 4) - 8) * y->qs[j + 16];
	}
	return sum;
}

static float dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	float acc = 0.0f;

	for (size_t i = 0; i < nb; i++)
		acc += fp16(x[i].d) * fp16(y[i].d) *
		       (float)block_q4_0_q8_0(&x[i], &y[i]);
	return acc;
}

static float dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			   const struct pep_block_q8_0 *y, size_t nb)
{
	float acc = 0.0f;

	for (size_t i = 0; i < nb; i++) {
		int32_t sum = 0;

		for (int j = 0; j < PEP_QK8_0; j++)
			sum += x[i].qs[j] * y[i].qs[j];
		acc += fp16(x[i].d) * fp16(y[i].d) * (float)sum;
	}
	return acc;
}

/* ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j. */
static void scale_min_k4(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
		*m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
	}
}

static float super_q4_K_q8_K(const struct pep_block_q4_K *x,
			     const struct pep_block_q8_K *y)
{
	int32_t sum_q = 0, sum_m = 0;

	for (int j = 0; j < 8; j++) {
		const uint8_t *q = x->qs + (j / 2) * 32;
		const int8_t *v = y->qs + j * 32;
		int shift = (j & 1) * 4, sc, m, s = 0;

		for (int l = 0; l < 32; l++)
			s += ((q[l] >> shift) & 15) * v[l];
		scale_min_k4(x->scales, j, &sc, &m);
		sum_q += sc * s;
		sum_m += m * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
	}
	return (float)((double)y->d * fp16(x->d) * sum_q -
		       (double)y->d * fp16(x->dmin) * sum_m);
}

static float dot_q4_K_q8_K(const struct pep_block_q4_K *x,
			   const struct pep_block_q8_K *y, size_t nb)
{
	float acc = 0.0f;

	for (size_t i = 0; i < nb; i++)
		acc += super_q4_K_q8_K(&x[i], &y[i]);
	return acc;
}

void pep__simd_qdot_scalar(struct pep__simd_table *k)
{
	k->dot_q4_0_q8_0 = dot_q4_0_q8_0;
	k->dot_q8_0_q8_0 = dot_q8_0_q8_0;
	k->dot_q4_K_q8_K = dot_q4_K_q8_K;
}
