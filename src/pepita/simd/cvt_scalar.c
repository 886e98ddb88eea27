/*
 * cvt_scalar.c - binary16 and bfloat16 conversion in portable C: the
 * reference every tier must match bit for bit.
 */
#include <string.h>

#include "simd_priv.h"

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float f32_from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * Round to nearest even, on the integer bits so no FPU mode can change it.
 * Normal results: drop 13 mantissa bits with rounding; a carry into the
 * exponent is the correct next binade (and 0x7c00 = inf on overflow).
 * Subnormal results: shift the full significand right, rounding on the
 * bits shifted out.
 */
uint16_t pep__f32_to_f16_scalar(float f)
{
	uint32_t u = f32_bits(f);
	uint32_t sign = (u >> 16) & 0x8000;
	uint32_t exp = (u >> 23) & 0xff;
	uint32_t mant = u & 0x7fffff;
	int e16;

	if (exp == 0xff) {
		if (mant)	/* NaN: quiet, top payload bits kept */
			return (uint16_t)(sign | 0x7e00 | (mant >> 13));
		return (uint16_t)(sign | 0x7c00);
	}
	e16 = (int)exp - 127 + 15;
	if (e16 >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (e16 >= 1) {
		uint32_t v = ((uint32_t)e16 << 10) | (mant >> 13);
		uint32_t rest = mant & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (v & 1)))
			v++;
		return (uint16_t)(sign | v);
	}
	if (e16 < -10)		/* below half the smallest subnormal */
		return (uint16_t)sign;
	{
		uint32_t sig = mant | 0x800000;
		unsigned int shift = (unsigned int)(14 - e16);	/* 14..24 */
		uint32_t v = sig >> shift;
		uint32_t rest = sig & ((1u << shift) - 1);
		uint32_t half = 1u << (shift - 1);

		if (rest > half || (rest == half && (v & 1)))
			v++;
		return (uint16_t)(sign | v);
	}
}

float pep__f16_to_f32_scalar(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;

	if (exp == 0x1f)	/* inf, or a NaN made quiet as F16C does */
		return f32_from_bits(sign | 0x7f800000 |
				     (mant ? 0x400000 | (mant << 13) : 0));
	if (exp != 0)
		return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
	if (mant == 0)
		return f32_from_bits(sign);
	/* Subnormal: normalise into f32's range (exact). */
	exp = 113;
	while (!(mant & 0x400)) {
		mant <<= 1;
		exp--;
	}
	return f32_from_bits(sign | (exp << 23) | ((mant & 0x3ff) << 13));
}

uint16_t pep__f32_to_bf16_scalar(float f)
{
	uint32_t u = f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 0x40);
	return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

float pep__bf16_to_f32_scalar(uint16_t h)
{
	return f32_from_bits((uint32_t)h << 16);
}

static void f32_to_f16(uint16_t *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = pep__f32_to_f16_scalar(x[i]);
}

static void f16_to_f32(float *y, const uint16_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = pep__f16_to_f32_scalar(x[i]);
}

static void f32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = pep__f32_to_bf16_scalar(x[i]);
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = pep__bf16_to_f32_scalar(x[i]);
}

void pep__simd_cvt_scalar(struct pep__simd_table *k)
{
	k->f32_to_f16 = f32_to_f16;
	k->f16_to_f32 = f16_to_f32;
	k->f32_to_bf16 = f32_to_bf16;
	k->bf16_to_f32 = bf16_to_f32;
}
