/*
 * pepita/simd.h - CPU compute kernels, dispatched at run time to the best
 * instruction set the CPU has: vector ops on f32, fp16/bf16 conversion,
 * dot products on GGML quantized blocks, sgemm and sgemv.
 *
 * Dispatch. Each kernel exists as scalar C and, where it pays, as SSE4.1,
 * AVX2+FMA+F16C, AVX-512 (F/BW/VL) and NEON code. The tier is chosen once,
 * on the first call (or by pep_simd_init()), from the CPU and the
 * environment variable PEPITA_SIMD=scalar|sse4|avx2|avx512|neon, which forces
 * one tier for tests and benchmarks. A tier the CPU lacks is never run:
 * pep_simd_init() refuses it with -ENOTSUP and the reason. A kernel cannot
 * return an error, so one called first under such a PEPITA_SIMD runs on
 * the best tier instead and keeps the reason for pep_simd_refused(); a
 * program that forces tiers (a benchmark, whose figures would otherwise
 * carry the wrong tier's name) calls pep_simd_init() first and stops on
 * its error. After the choice a call costs one atomic load and an
 * indirect call: no locks.
 *
 * Numerics (tests/pepita/simd-*.c check each bound on every tier):
 * - add, sub, mul, scale, relu, max, argmax and the conversions are exact
 *   (the correctly rounded f32 result of the one operation). relu(-0) is
 *   +0; the max of +0 and -0 may be either zero (argmax: the first).
 * - axpy and fma: the exact result rounded once or twice (with or without
 *   a fused multiply-add), |error| <= 2^-23 (|a x| + |y|).
 * - dot and sum: summed in several lanes, so the order differs from a
 *   sequential loop; |error| <= n 2^-24 sum|x_i y_i| (the classic bound),
 *   in practice far less.
 * - exp: error <= 4 ulp for results in the normal range; exp(x) is +inf
 *   from 88.7228394 up (where the rounded result is inf), 0 below
 *   -103.972077 (ln 2^-150); results under 2^-126 are 0 or within 2^-149,
 *   NaN stays NaN.
 * - softmax: each output within 8 ulp + 2^-24 n relative of the exact value.
 * - rmsnorm: y_i = x_i w_i / sqrt(mean(x^2) + eps), relative error <= 2^-20
 *   for n <= 2^20.
 * NaN propagates through every kernel: an input NaN gives a NaN sum, dot,
 * max, exp and relu; argmax returns the index of the first NaN.
 *
 * Threading: every function may be called from any thread at once. sgemm
 * and sgemv split large problems into pep_simd_threads() parts: the
 * calling thread runs one and the process-wide default scheduler
 * (pep_sched_default(), started on first need) the others; called from a
 * task of a scheduler, they fork-join on that task's scheduler instead,
 * so a caller that wants its own runs them inside pep_sched_run().
 */
#ifndef PEPITA_SIMD_H
#define PEPITA_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dispatch --------------------------------------------------------- */

enum pep_simd_isa {
	PEP_SIMD_SCALAR,
	PEP_SIMD_SSE4,		/* SSE4.1 */
	PEP_SIMD_AVX2,		/* AVX2 + FMA + F16C */
	PEP_SIMD_AVX512,	/* AVX-512 F, BW, VL (+ AVX2, FMA, F16C) */
	PEP_SIMD_NEON,		/* AArch64 Advanced SIMD (+ FP16, dotprod) */
	PEP_SIMD_ISA_COUNT
};

/* "scalar", "sse4", "avx2", "avx512", "neon". */
PEP_API const char *pep_simd_isa_name(enum pep_simd_isa isa);

/* The tier named by text (as above). -EINVAL with the names in err. */
PEP_API int pep_simd_isa_parse(const char *text, enum pep_simd_isa *out,
			       struct pep_err *err);

/*
 * Whether this build has the tier and this CPU (and kernel) can run it.
 * 0 when it can, else -ENOTSUP with what is missing in err
 * ("this CPU lacks avx512bw").
 */
PEP_API int pep_simd_usable(enum pep_simd_isa isa, struct pep_err *err);

/* The best usable tier. */
PEP_API enum pep_simd_isa pep_simd_best(void);

/*
 * Choose the tier now: PEPITA_SIMD if set, else the best. -EINVAL for an
 * unknown name, -ENOTSUP for a tier this CPU lacks (nothing changes then).
 * Calling it again re-reads the environment.
 */
PEP_API int pep_simd_init(struct pep_err *err);

/* Use isa from now on (tests, benchmarks). -ENOTSUP as above. */
PEP_API int pep_simd_force(enum pep_simd_isa isa, struct pep_err *err);

/*
 * Whether the tier was chosen by a kernel's first call with PEPITA_SIMD
 * set aside: -EINVAL (no such tier) or -ENOTSUP (this CPU lacks it), the
 * reason in err ("PEPITA_SIMD=avx512 refused: ..."), while the kernels
 * run on pep_simd_best(). 0 when PEPITA_SIMD was honoured or unset, and
 * again after a successful pep_simd_init() or pep_simd_force(). Any
 * thread.
 */
PEP_API int pep_simd_refused(struct pep_err *err);

/* The tier kernels run now (choosing it first if need be). */
PEP_API enum pep_simd_isa pep_simd_active(void);

/*
 * Threads for sgemm and sgemv: PEPITA_NUM_THREADS, else the online CPUs.
 * set_threads(0) goes back to that default. At most 256.
 */
PEP_API void pep_simd_set_threads(unsigned int n);
PEP_API unsigned int pep_simd_threads(void);

/* ---- vector kernels (f32) ----------------------------------------------
 * Outputs may alias an input exactly (z == x); partial overlap is undefined,
 * as with memcpy. n may be 0. No alignment is required.
 */

PEP_API void pep_vadd(float *z, const float *x, const float *y, size_t n);
PEP_API void pep_vsub(float *z, const float *x, const float *y, size_t n);
PEP_API void pep_vmul(float *z, const float *x, const float *y, size_t n);
/* y = a x */
PEP_API void pep_vscale(float *y, const float *x, float a, size_t n);
/* y += a x */
PEP_API void pep_vaxpy(float *y, float a, const float *x, size_t n);
/* w = x y + z */
PEP_API void pep_vfma(float *w, const float *x, const float *y, const float *z,
		      size_t n);
/* Sum of x_i y_i; 0 for n = 0. */
PEP_API float pep_vdot(const float *x, const float *y, size_t n);
PEP_API float pep_vsum(const float *x, size_t n);
/* The largest element (NaN if any is NaN); -inf for n = 0. */
PEP_API float pep_vmax(const float *x, size_t n);
/* Index of the first largest element (of the first NaN); 0 for n = 0. */
PEP_API size_t pep_vargmax(const float *x, size_t n);
/* y = max(x, 0); NaN stays NaN. */
PEP_API void pep_vrelu(float *y, const float *x, size_t n);
PEP_API void pep_vexp(float *y, const float *x, size_t n);
/* y = exp(x - max x) / sum(exp(x - max x)). */
PEP_API void pep_softmax(float *y, const float *x, size_t n);
/* y = x w / sqrt(mean(x^2) + eps); w may be NULL (all ones). */
PEP_API void pep_rmsnorm(float *y, const float *x, const float *w, float eps,
			 size_t n);

/* ---- half precision ----------------------------------------------------
 * IEEE binary16 and bfloat16 as their bit patterns. f32 -> f16/bf16 rounds
 * to nearest, ties to even, on every tier (subnormals kept, overflow to
 * inf); a NaN stays a NaN with the quiet bit set and the top payload bits
 * kept, as F16C and AArch64 FCVT do. The widening directions are exact
 * (a signalling NaN comes back quiet, as the hardware makes it).
 */

PEP_API uint16_t pep_f32_to_f16(float f);
PEP_API float pep_f16_to_f32(uint16_t h);
PEP_API uint16_t pep_f32_to_bf16(float f);
PEP_API float pep_bf16_to_f32(uint16_t h);

PEP_API void pep_vf32_to_f16(uint16_t *y, const float *x, size_t n);
PEP_API void pep_vf16_to_f32(float *y, const uint16_t *x, size_t n);
PEP_API void pep_vf32_to_bf16(uint16_t *y, const float *x, size_t n);
PEP_API void pep_vbf16_to_f32(float *y, const uint16_t *x, size_t n);

/* ---- GGML quantized blocks ---------------------------------------------
 * The layouts of ggml's block_q4_0, block_q8_0, block_q4_K and block_q8_K
 * (little-endian, fp16 scales as bit patterns).
 */

#define PEP_QK4_0 32
#define PEP_QK8_0 32
#define PEP_QK_K 256

struct pep_block_q4_0 {
	uint16_t d;			/* fp16 scale */
	uint8_t qs[PEP_QK4_0 / 2];	/* element j low nibble, j+16 high */
};

struct pep_block_q8_0 {
	uint16_t d;
	int8_t qs[PEP_QK8_0];
};

struct pep_block_q4_K {
	uint16_t d;			/* fp16 scale of the sub-scales */
	uint16_t dmin;			/* fp16 scale of the sub-minimums */
	uint8_t scales[12];		/* 8 x (6-bit scale, 6-bit min) */
	uint8_t qs[PEP_QK_K / 2];
};

struct pep_block_q8_K {
	float d;
	int8_t qs[PEP_QK_K];
	int16_t bsums[PEP_QK_K / 16];	/* sums of each 16 qs */
};

/*
 * Dot product of nblocks blocks (32 or 256 values each): the sum over
 * blocks of d_x d_y (integer dot), each block's integer part exact, the
 * blocks summed in f32 (error <= nblocks 2^-23 sum|block terms|).
 */
PEP_API float pep_dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
				const struct pep_block_q8_0 *y, size_t nblocks);
PEP_API float pep_dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
				const struct pep_block_q8_0 *y, size_t nblocks);
PEP_API float pep_dot_q4_K_q8_K(const struct pep_block_q4_K *x,
				const struct pep_block_q8_K *y, size_t nblocks);

/* ---- BLAS level 2/3 ------------------------------------------------------
 * CBLAS semantics and values, so a cblas_sgemm call translates one to one.
 * C = alpha op(A) op(B) + beta C with op(A) m x k, op(B) k x n, C m x n.
 * beta == 0 means C is not read (NaN there does not survive); alpha == 0 or
 * k == 0 scales C by beta. Leading dimensions count elements and must be at
 * least the stored row (row-major) or column (column-major) length.
 * Returns 0, -EINVAL (bad layout, transpose or leading dimension: nothing
 * is written) or -ENOMEM.
 */
enum pep_layout { PEP_ROW_MAJOR = 101, PEP_COL_MAJOR = 102 };
enum pep_trans { PEP_NO_TRANS = 111, PEP_TRANS = 112 };

PEP_API int pep_sgemm(enum pep_layout layout, enum pep_trans ta,
		      enum pep_trans tb, size_t m, size_t n, size_t k,
		      float alpha, const float *a, size_t lda,
		      const float *b, size_t ldb, float beta,
		      float *c, size_t ldc);

/*
 * y = alpha op(A) x + beta y, A m x n. incx and incy are nonzero strides
 * (negative ones walk backwards from the end, as in BLAS).
 */
PEP_API int pep_sgemv(enum pep_layout layout, enum pep_trans ta,
		      size_t m, size_t n, float alpha, const float *a,
		      size_t lda, const float *x, ptrdiff_t incx, float beta,
		      float *y, ptrdiff_t incy);

/* ---- what the machine can do ---------------------------------------------
 * Measured, not looked up: `pepita bench simd` and bench/simd print these
 * next to what the kernels reach.
 */

/*
 * f32 GFLOP/s of one thread running independent fused multiply-adds on the
 * widest vectors of the active tier (a multiply and an add, 2 flops, on
 * tiers without FMA) for about seconds: the best of chunks of about 2 ms,
 * at least one chunk. 0.0 if the tier has no such loop.
 */
PEP_API double pep_simd_fma_peak(double seconds);

/*
 * GB/s (1e9 bytes) that one thread reads (write == 0: four streams at once,
 * as the vector kernels read several arrays) or copies (write == 1: one
 * half of the buffer to the other, by memcpy and by the tier's streaming
 * stores, counting bytes read plus bytes written) through a buffer of
 * bytes (far larger than the caches), best of 5 passes each. The buffer is mapped and faulted in before timing and
 * unmapped afterwards. 0.0 on failure: bytes < 2 or no memory.
 */
PEP_API double pep_simd_mem_bandwidth(size_t bytes, int write);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_SIMD_H */
