/*
 * peak_scalar.c - the machine-limit loops of the scalar tier, in plain C
 * with the default flags (the compiler may vectorise them; that is what
 * scalar code gets here).
 *
 * No FMA is assumed: each step is a multiply and an add (2 flops) on one
 * of NACC independent chains, enough to cover an FP latency of 4 to 8
 * cycles at two operations a cycle. acc = acc m + a with 0 < m < 1 settles
 * at a / (1 - m), so no value overflows or goes subnormal.
 */
#include <string.h>

#include "simd_priv.h"

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
#define NACC 12

static double fma_loop_scalar(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	float m = vm, a = va, acc[NACC], sum = 0;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = (float)j;
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = acc[j] * m + a;
#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		sum += acc[j];
	sink = sum;
	(void)sink;
	return (double)iters * NACC * 2;
}

/*
 * Sum of the 64-bit words (the tail bytes added singly), read as four
 * streams, one per quarter: one stream leaves a core's miss slots idle
 * (the streaming kernels read two or three at once).
 */
static uint64_t read_loop_scalar(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t s[4] = { 0 }, w, total = 0;

	for (i = 0; i < q; i += 64) {
#pragma GCC unroll 4
		for (int k = 0; k < 4; k++) {
#pragma GCC unroll 8
			for (int j = 0; j < 8; j++) {
				memcpy(&w, b + k * q + i + 8 * j, 8);
				s[k] += w;
			}
		}
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	return total + s[0] + s[1] + s[2] + s[3];
}

void pep__simd_peak_scalar(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop_scalar;
	k->read_loop = read_loop_scalar;
}
