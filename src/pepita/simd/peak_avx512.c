/*
 * peak_avx512.c - the machine-limit loops of the AVX-512 tier.
 *
 * 16 independent vfmadd chains of 16 lanes: two 512-bit FMA pipes of
 * latency 4 need 8 in flight, and 16 also covers slower ones; the 32 zmm
 * registers hold them and the constants. acc = acc m + a with 0 < m < 1
 * settles at a / (1 - m): no overflow, no subnormals.
 */
#include <immintrin.h>
#include <string.h>

#include "simd_priv.h"

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
#define NACC 16

static double fma_loop_avx512(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	__m512 m = _mm512_set1_ps(vm), a = _mm512_set1_ps(va), acc[NACC], sum;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = _mm512_set1_ps((float)j);
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = _mm512_fmadd_ps(acc[j], m, a);
	sum = acc[0];
#pragma GCC unroll 16
	for (int j = 1; j < NACC; j++)
		sum = _mm512_add_ps(sum, acc[j]);
	sink = _mm512_reduce_add_ps(sum);
	(void)sink;
	return (double)iters * NACC * 16 * 2;
}

/*
 * Sum of the 64-bit words (the tail bytes added singly), read as four
 * streams, one per quarter: one stream leaves a core's miss slots idle
 * (the streaming kernels read two or three at once).
 */
static uint64_t read_loop_avx512(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	__m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t total = 0, lanes[8];

	for (i = 0; i < q; i += 64) {
		s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(b + i));
		s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(b + q + i));
		s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(b + 2 * q + i));
		s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(b + 3 * q + i));
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	s0 = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
	/* Not _mm512_reduce_add_epi64: GCC's adds signed long longs, and
	 * the sum of the words wraps (UBSan calls it overflow). */
	_mm512_storeu_si512(lanes, s0);
	for (int j = 0; j < 8; j++)
		total += lanes[j];
	return total;
}

/*
 * dst = src with streaming stores: a copy far larger than the caches
 * then costs no read-for-ownership of dst, which is what the kernels'
 * large outputs do too. Four streams at once, one per quarter, as
 * read_loop does; dst is aligned first, src is read unaligned.
 */
static inline void copy_vec_avx512(unsigned char *d, const unsigned char *s)
{
	_mm512_stream_si512((void *)d, _mm512_loadu_si512((const void *)s));
}

static void copy_loop_avx512(void *dst, const void *src, size_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t head = (size_t)(-(uintptr_t)d & 63), q, i;

	if (head > bytes)
		head = bytes;
	memcpy(d, s, head);
	d += head;
	s += head;
	bytes -= head;
	q = bytes / 4 & ~(size_t)63;
	for (i = 0; i < q; i += 64) {
		copy_vec_avx512(d + i, s + i);
		copy_vec_avx512(d + q + i, s + q + i);
		copy_vec_avx512(d + 2 * q + i, s + 2 * q + i);
		copy_vec_avx512(d + 3 * q + i, s + 3 * q + i);
	}
	for (i = 4 * q; i + 64 <= bytes; i += 64)
		copy_vec_avx512(d + i, s + i);
	_mm_sfence();
	memcpy(d + i, s + i, bytes - i);
}

void pep__simd_peak_avx512(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop_avx512;
	k->read_loop = read_loop_avx512;
	k->copy_loop = copy_loop_avx512;
}
