/*
 * peak.c - the machine-limit loops behind pep_simd_fma_peak() and
 * pep_simd_mem_bandwidth(), written once in GCC's generic vectors and
 * compiled once per SIMD tier with that tier's flags (src/pepita/
 * meson.build), as cohete's quant/lanes.c is: PEP_SIMD_WIDTH is the
 * tier's register in floats (1 for scalar), PEP_SIMD_TIER names its
 * table entry. What the generic vectors cannot say (a fused multiply-add,
 * a streaming store) each tier says below in its own intrinsics.
 *
 * fma_loop: NACC independent chains acc = acc m + a of the tier's width,
 * 0 < m < 1, so acc settles at a / (1 - m): no overflow, no subnormals.
 * Tiers with FMA fuse each step; SSE4.1 (and x86's scalar baseline) have
 * none and multiply, then add: 2 flops a lane either way. NACC covers the FMA
 * latency times the pipes (4 to 5 cycles, two pipes: 8 to 10 in flight;
 * more on cores with four 128-bit pipes), within the registers: 12 of
 * x86's 16 before AVX-512, 16 of the 32 of AVX-512 and AArch64.
 *
 * read_loop: the sum of the 64-bit words (the tail bytes added singly),
 * read as four streams, one per quarter: one stream leaves a core's miss
 * slots idle (the streaming kernels read two or three at once).
 *
 * copy_loop: dst = src with streaming stores, so that a copy far larger
 * than the caches costs no read-for-ownership of dst, which is what the
 * kernels' large outputs do too; four streams as read_loop, dst aligned
 * first, src read unaligned. x86 only: AArch64's STNP is only a hint the
 * cores we target do not follow, and memcpy is the best there (NULL).
 */
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "simd_priv.h"

#if !defined(PEP_SIMD_TIER) || !defined(PEP_SIMD_WIDTH)
#error "build peak.c with -DPEP_SIMD_TIER=<tier> -DPEP_SIMD_WIDTH=<floats>"
#endif

#define W	PEP_SIMD_WIDTH
#define VB	(W > 1 ? 4 * W : 8)	/* bytes a step of read_loop adds */

#if W > 1
typedef float vf __attribute__((vector_size(4 * W)));
typedef uint64_t vu __attribute__((vector_size(VB)));
#else
typedef float vf;
typedef uint64_t vu;
#endif

#if W > 1 && (defined(__AVX512F__) || defined(__aarch64__))
#define NACC	16
#else
#define NACC	12
#endif

/* acc m + a, fused where the tier can. */
static inline vf fma_step(vf acc, vf m, vf a)
{
#if W == 16 && defined(__AVX512F__)
	return (vf)_mm512_fmadd_ps((__m512)acc, (__m512)m, (__m512)a);
#elif W == 8 && defined(__FMA__)
	return (vf)_mm256_fmadd_ps((__m256)acc, (__m256)m, (__m256)a);
#elif W == 4 && defined(__aarch64__)
	return (vf)vfmaq_f32((float32x4_t)a, (float32x4_t)acc,
			     (float32x4_t)m);
#else
	return acc * m + a;
#endif
}

static inline float lanes_sum(vf v)
{
	float l[W], s = 0.0f;

	memcpy(l, &v, sizeof(l));
	for (int j = 0; j < W; j++)
		s += l[j];
	return s;
}

/* Fully unrolled (the pragmas) so the accumulators live in registers. */
static double fma_loop(uint64_t iters)
{
	volatile float vm = 0.999999f, va = 1e-3f;
	vf m = (vf){ 0 } + vm, a = (vf){ 0 } + va, acc[NACC], sum;
	volatile float sink;

#pragma GCC unroll 16
	for (int j = 0; j < NACC; j++)
		acc[j] = (vf){ 0 } + (float)j;
	for (uint64_t i = 0; i < iters; i++)
#pragma GCC unroll 16
		for (int j = 0; j < NACC; j++)
			acc[j] = fma_step(acc[j], m, a);
	sum = acc[0];
#pragma GCC unroll 16
	for (int j = 1; j < NACC; j++)
		sum += acc[j];
	sink = lanes_sum(sum);
	(void)sink;
	return (double)iters * NACC * W * 2;
}

/* A 64-byte line's words added to s. */
static inline vu add_line(vu s, const unsigned char *p)
{
	vu v;

#pragma GCC unroll 8
	for (int j = 0; j < 64 / VB; j++) {
		memcpy(&v, p + j * VB, VB);
		s += v;
	}
	return s;
}

static uint64_t read_loop(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	vu s0 = { 0 }, s1 = s0, s2 = s0, s3 = s0;
	size_t q = bytes / 4 & ~(size_t)63, i;
	uint64_t total = 0, l[VB / 8];

	for (i = 0; i < q; i += 64) {
		s0 = add_line(s0, b + i);
		s1 = add_line(s1, b + q + i);
		s2 = add_line(s2, b + 2 * q + i);
		s3 = add_line(s3, b + 3 * q + i);
	}
	for (i = 4 * q; i < bytes; i++)
		total += b[i];
	s0 = (s0 + s1) + (s2 + s3);
	/* Lane by lane in uint64_t: the sum of the words wraps, by design. */
	memcpy(l, &s0, sizeof(l));
	for (size_t j = 0; j < VB / 8; j++)
		total += l[j];
	return total;
}

#if defined(__x86_64__) && W > 1
#define HAVE_COPY_LOOP

/* One vector of s to d with a streaming store; d is aligned. */
static inline void stream_vec(unsigned char *d, const unsigned char *s)
{
#if W == 16 && defined(__AVX512F__)
	_mm512_stream_si512((void *)d, _mm512_loadu_si512((const void *)s));
#elif W == 8 && defined(__AVX2__)
	_mm256_stream_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
#else
	_mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
#endif
}

static void copy_loop(void *dst, const void *src, size_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t head = (size_t)(-(uintptr_t)d & (VB - 1)), q, i;

	if (head > bytes)
		head = bytes;
	memcpy(d, s, head);
	d += head;
	s += head;
	bytes -= head;
	q = bytes / 4 & ~(size_t)(VB - 1);
	for (i = 0; i < q; i += VB) {
		stream_vec(d + i, s + i);
		stream_vec(d + q + i, s + q + i);
		stream_vec(d + 2 * q + i, s + 2 * q + i);
		stream_vec(d + 3 * q + i, s + 3 * q + i);
	}
	for (i = 4 * q; i + VB <= bytes; i += VB)
		stream_vec(d + i, s + i);
	/* Streaming stores are weakly ordered: fence them. */
	_mm_sfence();
	memcpy(d + i, s + i, bytes - i);
}
#endif

void PEP__SIMD_FILL(peak)(struct pep__simd_table *k)
{
	k->fma_loop = fma_loop;
	k->read_loop = read_loop;
#ifdef HAVE_COPY_LOOP
	k->copy_loop = copy_loop;
#endif
}
