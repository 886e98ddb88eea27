/*
 * block.h - what formats.c (the reference quantizers) and lanes.c (the
 * same arithmetic, a vector of groups at a time, built once per SIMD tier)
 * share: the block constants, scale and rounding helpers, the reference
 * pieces the lanes hand their results to, and the per-tier tables.
 *
 * Library-internal (coh__ names); nothing here is installed.
 */
#ifndef COHETE_QUANT_BLOCK_H
#define COHETE_QUANT_BLOCK_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/quant.h> instead"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <pepita/simd.h>

#define COH_QK	32		/* elements of a Q4_0 .. Q8_0 block */
#define COH_QK_K	256		/* elements of a K-quant super-block */
#define COH_GROUP_MAX_EPS	1e-15f

#define COH_MIN(a, b)	((a) < (b) ? (a) : (b))
#define COH_MAX(a, b)	((a) > (b) ? (a) : (b))

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * ggml-quants.c is built without -mf16c, so its scales go through ggml's
 * portable converter: round to nearest even like pepita's, but every NaN
 * becomes sign | 0x7e00 where F16C would keep the payload.
 */
static inline uint16_t f32_to_f16(float f)
{
	uint32_t bits;

	if (isnan(f)) {
		memcpy(&bits, &f, sizeof(bits));
		return (uint16_t)((bits >> 16 & 0x8000) | 0x7e00);
	}
	return pep_f32_to_f16(f);
}

static inline void put_f16(uint8_t *p, float f)
{
	put_le16(p, f32_to_f16(f));
}

static inline float get_f16(const uint8_t *p)
{
	return pep_f16_to_f32(get_le16(p));
}

/*
 * Round half to even for |f| < 2^22 by letting the FPU do it: adding
 * 1.5 * 2^23 leaves the integer in the low mantissa bits. (Outside that
 * range the result is ggml's, garbage included: lanes.c repeats the bit
 * operations, not the intent.)
 */
static inline int nearest_int(float f)
{
	float v = f + 12582912.0f;
	int32_t i;

	memcpy(&i, &v, sizeof(i));
	return (i & 0x007fffff) - 0x00400000;
}

/*
 * (int8_t)v as the reference's x86-64 build computes it: cvttss2si
 * truncates and gives INT32_MIN for NaN or out of range, then the low
 * byte is kept. C leaves those cases undefined and AArch64 saturates, so
 * a block with a denormal scale (id = 1/d overflows) would differ.
 */
static inline int8_t cvt_i8(float v)
{
	int32_t i = INT32_MIN;

	if (v > -2147483648.0f && v < 2147483648.0f)
		i = (int32_t)v;
	return (int8_t)(uint8_t)i;
}

/* make_qkx2_quants's knobs: levels [0, nmax], nstep + 1 trial scales
 * from (nmax + rmin) / range in rdelta steps, absolute or squared error. */
struct qkx2_opts {
	int nmax;
	float rmin, rdelta;
	int nstep;
	int use_mad;
};

/*
 * The reference, whole blocks. The lanes hand it every block that holds a
 * NaN: which of two NaNs an operation returns is the compiler's choice
 * (it may swap the operands of a + b), and nearest_int() turns the NaN's
 * payload into a level, so only the reference's own code gives the
 * reference's bytes there.
 */
void coh__q4_0_block(const float *x, uint8_t *b);
void coh__q8_0_block(const float *x, uint8_t *b);
void coh__q2_k_block(const float *x, uint8_t *b);
void coh__q3_k_block(const float *x, uint8_t *b);
void coh__q4_k_block(const float *x, uint8_t *b);
void coh__q5_k_block(const float *x, uint8_t *b);
void coh__q6_k_block(const float *x, uint8_t *b);

/*
 * A group's levels against its stored scale d (and min dm):
 *   L[i] = off + COH_MAX(lo, COH_MIN(hi, nearest_int((x[i] + dm) / d)))
 * The symmetric formats pass dm = 0, which rounds as x / d does (x + 0
 * changes only the sign of a zero). coh__requant is the reference's
 * loop; the lanes have one of their own.
 */
typedef void (*coh__requant_fn)(const float *x, int n, float d, float dm,
				int lo, int hi, int off, uint8_t *L);

void coh__requant(const float *x, int n, float d, float dm, int lo, int hi,
		  int off, uint8_t *L);

/*
 * The reference after the scale search: from each group's fitted scale
 * (and minimum) and levels L (group-major, as the search leaves them),
 * the block's stored scales, the requantization with them (by requant),
 * and the bit packing. x is the block's 256 floats.
 */
void coh__q2_k_store(const float *x, const float sc[16], const float mins[16],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant);
void coh__q3_k_store(const float *x, const float sc[16], int8_t L[COH_QK_K],
		     uint8_t *b, coh__requant_fn requant);
void coh__q4_k_store(const float *x, const float sc[8], const float mins[8],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant);
void coh__q5_k_store(const float *x, const float sc[8], const float mins[8],
		     uint8_t L[COH_QK_K], uint8_t *b, coh__requant_fn requant);
void coh__q6_k_store(const float *x, const float sc[16], int8_t L[COH_QK_K],
		     uint8_t *b, coh__requant_fn requant);

/*
 * One tier's kernels: nb blocks of x (32 or 256 floats each) to nb blocks
 * at b, the same bytes as the reference on every input.
 */
typedef void (*coh__quant_rows_fn)(const float *x, uint8_t *b, size_t nb);

struct coh__quant_lanes {
	coh__quant_rows_fn q4_0, q8_0;
	coh__quant_rows_fn q2_k, q3_k, q4_k, q5_k, q6_k;
};

/* lanes.c's table of each vector tier this build has (formats.c). */
extern const struct coh__quant_lanes coh__quant_lanes_sse4;
extern const struct coh__quant_lanes coh__quant_lanes_avx2;
extern const struct coh__quant_lanes coh__quant_lanes_avx512;
extern const struct coh__quant_lanes coh__quant_lanes_neon;

#endif
