/*
 * peak_avx2.c - the machine-limit loops of the AVX2+FMA tier.
 *
 * 12 independent vfmadd chains of 8 lanes: two FMA pipes of latency 4 to
 * 5 need 8 to 10 in flight; 12 plus the two constants fit the 16 ymm
 * registers. acc = acc m + a with 0 < m < 1 settles at a / (1 - m): no
 * overflow, no subnormals.
 */
#include <immintrin.h>
#include <string.h>

#include "simd_priv.h"

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
#define NACC 12

static double fma_loop_avx2(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	__m256 m = _mm256_set1_ps(vm), a = _mm256_set1_ps(va), acc[NACC], sum;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = _mm256_set1_ps((float)j);
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = _mm256_fmadd_ps(acc[j], m, a);
	sum = acc[0];
#pragma GCC unroll 16
	for (int j = 1; j < NACC; j++)
		sum = _mm256_add_ps(sum, acc[j]);
	sink = _mm256_cvtss_f32(sum);
	(void)sink;
	return (double)iters * NACC * 8 * 2;
}

/* A 64-byte line's 32-byte words added to s. */
static inline __m256i add_line(__m256i s, const unsigned char *p)
{
	s = _mm256_add_epi64(s, _mm256_loadu_si256((const __m256i *)p));
	return _mm256_add_epi64(s, _mm256_loadu_si256((const __m256i *)(p + 32)));
}

/*
 * Sum of the 64-bit words (the tail bytes added singly), read as four
 * streams, one per quarter: one stream leaves a core's miss slots idle
 * (the streaming kernels read two or three at once).
 */
static uint64_t read_loop_avx2(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t total = 0;
	__m128i h;

	for (i = 0; i < q; i += 64) {
		s0 = add_line(s0, b + i);
		s1 = add_line(s1, b + q + i);
		s2 = add_line(s2, b + 2 * q + i);
		s3 = add_line(s3, b + 3 * q + i);
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
	h = _mm_add_epi64(_mm256_castsi256_si128(s0),
			  _mm256_extracti128_si256(s0, 1));
	return total + (uint64_t)_mm_extract_epi64(h, 0) +
	       (uint64_t)_mm_extract_epi64(h, 1);
}

/*
 * dst = src with streaming stores: a copy far larger than the caches
 * then costs no read-for-ownership of dst, which is what the kernels'
 * large outputs do too. Four streams at once, one per quarter, as
 * read_loop does; dst is aligned first, src is read unaligned.
 */
static inline void copy_vec_avx2(unsigned char *d, const unsigned char *s)
{
	_mm256_stream_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
}

static void copy_loop_avx2(void *dst, const void *src, size_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t head = (size_t)(-(uintptr_t)d & 31), q, i;

	if (head > bytes)
		head = bytes;
	memcpy(d, s, head);
	d += head;
	s += head;
	bytes -= head;
	q = bytes / 4 & ~(size_t)31;
	for (i = 0; i < q; i += 32) {
		copy_vec_avx2(d + i, s + i);
		copy_vec_avx2(d + q + i, s + q + i);
		copy_vec_avx2(d + 2 * q + i, s + 2 * q + i);
		copy_vec_avx2(d + 3 * q + i, s + 3 * q + i);
	}
	for (i = 4 * q; i + 32 <= bytes; i += 32)
		copy_vec_avx2(d + i, s + i);
	_mm_sfence();
	memcpy(d + i, s + i, bytes - i);
}

void pep__simd_peak_avx2(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop_avx2;
	k->read_loop = read_loop_avx2;
	k->copy_loop = copy_loop_avx2;
}
