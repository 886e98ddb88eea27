/*
 * peak_sse4.c - the machine-limit loops of the SSE4.1 tier.
 *
 * SSE has no fused multiply-add: each step is mulps + addps (2 flops a
 * lane) on 12 independent chains of 4 lanes, 14 of the 16 xmm registers
 * with the two constants. acc = acc m + a with 0 < m < 1 settles at
 * a / (1 - m): no overflow, no subnormals.
 */
#include <smmintrin.h>
#include <string.h>

#include "simd_priv.h"

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
#define NACC 12

static double fma_loop_sse4(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	__m128 m = _mm_set1_ps(vm), a = _mm_set1_ps(va), acc[NACC], sum;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = _mm_set1_ps((float)j);
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = _mm_add_ps(_mm_mul_ps(acc[j], m), a);
	sum = acc[0];
#pragma GCC unroll 16
	for (int j = 1; j < NACC; j++)
		sum = _mm_add_ps(sum, acc[j]);
	sink = _mm_cvtss_f32(sum);
	(void)sink;
	return (double)iters * NACC * 4 * 2;
}

/* A 64-byte line's 16-byte words added to s. */
static inline __m128i add_line(__m128i s, const unsigned char *p)
{
	s = _mm_add_epi64(s, _mm_loadu_si128((const __m128i *)p));
	s = _mm_add_epi64(s, _mm_loadu_si128((const __m128i *)(p + 16)));
	s = _mm_add_epi64(s, _mm_loadu_si128((const __m128i *)(p + 32)));
	return _mm_add_epi64(s, _mm_loadu_si128((const __m128i *)(p + 48)));
}

/*
 * Sum of the 64-bit words (the tail bytes added singly), read as four
 * streams, one per quarter: one stream leaves a core's miss slots idle
 * (the streaming kernels read two or three at once).
 */
static uint64_t read_loop_sse4(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	__m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t total = 0;

	for (i = 0; i < q; i += 64) {
		s0 = add_line(s0, b + i);
		s1 = add_line(s1, b + q + i);
		s2 = add_line(s2, b + 2 * q + i);
		s3 = add_line(s3, b + 3 * q + i);
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	s0 = _mm_add_epi64(_mm_add_epi64(s0, s1), _mm_add_epi64(s2, s3));
	return total + (uint64_t)_mm_extract_epi64(s0, 0) +
	       (uint64_t)_mm_extract_epi64(s0, 1);
}

/*
 * dst = src with streaming stores: a copy far larger than the caches
 * then costs no read-for-ownership of dst, which is what the kernels'
 * large outputs do too. Four streams at once, one per quarter, as
 * read_loop does; dst is aligned first, src is read unaligned.
 */
static inline void copy_vec_sse4(unsigned char *d, const unsigned char *s)
{
	_mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
}

static void copy_loop_sse4(void *dst, const void *src, size_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t head = (size_t)(-(uintptr_t)d & 15), q, i;

	if (head > bytes)
		head = bytes;
	memcpy(d, s, head);
	d += head;
	s += head;
	bytes -= head;
	q = bytes / 4 & ~(size_t)15;
	for (i = 0; i < q; i += 16) {
		copy_vec_sse4(d + i, s + i);
		copy_vec_sse4(d + q + i, s + q + i);
		copy_vec_sse4(d + 2 * q + i, s + 2 * q + i);
		copy_vec_sse4(d + 3 * q + i, s + 3 * q + i);
	}
	for (i = 4 * q; i + 16 <= bytes; i += 16)
		copy_vec_sse4(d + i, s + i);
	_mm_sfence();
	memcpy(d + i, s + i, bytes - i);
}

void pep__simd_peak_sse4(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop_sse4;
	k->read_loop = read_loop_sse4;
	k->copy_loop = copy_loop_sse4;
}
