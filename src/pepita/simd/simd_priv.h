/*
 * simd_priv.h - the kernel table behind pepita/simd.h.
 *
 * One table per tier. pep__simd_table() builds a tier's table by letting
 * the scalar code fill every slot and each higher tier on the way up
 * (scalar, sse4, avx2, avx512; scalar, neon) overwrite the slots it does
 * better, so a kernel a tier does not have falls through to the one below.
 *
 * Each tier's code is compiled with that tier's instruction flags into
 * an archive of its own (src/pepita/meson.build); nothing in it may run
 * before dispatch has checked the CPU. A kernel family's code is written
 * once where it is the same on every tier: peak.c is one source compiled
 * per tier in generic vectors; vec_tier.h, qdot_tier.h and gemm_tier.h
 * hold what the tier files of their family share (the wrappers around a
 * tier's own kernels, the table entry), and each <family>_<tier>.c keeps
 * only what that tier does with its own intrinsics.
 */
#ifndef PEPITA_SIMD_PRIV_H
#define PEPITA_SIMD_PRIV_H

/* pepita's own, and its dispatch test's (tests/pepita/simd-dispatch.c). */
#if !defined(PEP_BUILDING_LIBRARY) && !defined(PEP_TESTING_SIMD_DISPATCH)
#error "simd_priv.h is pepita's own; include <pepita/simd.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <pepita/simd.h>

/*
 * The sgemm micro-kernel: C[0..mr)[0..nr) (row-major, row stride ldc)
 *   = alpha * sum_p a[p*mr + i] * b[p*nr + j]  + beta * C    (beta != 0)
 *   = alpha * sum_p ...                                      (beta == 0)
 * over p < k, with a and b packed panels of the tier's MR and NR. mr <= MR
 * and nr <= NR for edge tiles (the packed panels are zero-padded to full
 * MR/NR, so a kernel may compute the full tile and store only mr x nr).
 */
typedef void (*pep__gemm_kernel_fn)(size_t k, const float *a, const float *b,
				    float *c, size_t ldc, size_t mr, size_t nr,
				    float alpha, float beta);

#define PEP__GEMM_MR_MAX 16

/*
 * The same with A read in place: row i of the tile at a + i*lda, p
 * contiguous. For full MR-row slivers of row-major A, which then need no
 * packing: MR streams the hardware prefetches well.
 */
typedef void (*pep__gemm_kernel_rows_fn)(size_t k, const float *a, size_t lda,
					 const float *b, float *c, size_t ldc,
					 size_t nr, float alpha, float beta);

struct pep__gemm_shape {
	pep__gemm_kernel_fn kernel;
	pep__gemm_kernel_rows_fn kernel_rows;	/* optional */
	unsigned int mr, nr;		/* register tile, mr <= MR_MAX */
	unsigned int kc, mc, nc;	/* cache blocks (0: derive from caches) */
};

struct pep__simd_table {
	enum pep_simd_isa isa;

	/* vec_<tier>.c */
	void (*add)(float *z, const float *x, const float *y, size_t n);
	void (*sub)(float *z, const float *x, const float *y, size_t n);
	void (*mul)(float *z, const float *x, const float *y, size_t n);
	void (*scale)(float *y, const float *x, float a, size_t n);
	void (*axpy)(float *y, float a, const float *x, size_t n);
	void (*fma)(float *w, const float *x, const float *y, const float *z,
		    size_t n);
	float (*dot)(const float *x, const float *y, size_t n);
	float (*sum)(const float *x, size_t n);
	float (*max)(const float *x, size_t n);
	size_t (*argmax)(const float *x, size_t n);
	void (*relu)(float *y, const float *x, size_t n);
	void (*exp)(float *y, const float *x, size_t n);
	void (*softmax)(float *y, const float *x, size_t n);
	void (*rmsnorm)(float *y, const float *x, const float *w, float eps,
			size_t n);

	/* cvt_<tier>.c */
	void (*f32_to_f16)(uint16_t *y, const float *x, size_t n);
	void (*f16_to_f32)(float *y, const uint16_t *x, size_t n);
	void (*f32_to_bf16)(uint16_t *y, const float *x, size_t n);
	void (*bf16_to_f32)(float *y, const uint16_t *x, size_t n);

	/* qdot_<tier>.c */
	float (*dot_q4_0_q8_0)(const struct pep_block_q4_0 *x,
			       const struct pep_block_q8_0 *y, size_t nb);
	float (*dot_q8_0_q8_0)(const struct pep_block_q8_0 *x,
			       const struct pep_block_q8_0 *y, size_t nb);
	float (*dot_q4_K_q8_K)(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y, size_t nb);

	/* gemm_<tier>.c */
	struct pep__gemm_shape gemm;
	/*
	 * sgemv's inner loops over several rows of a row-major A (row r at
	 * a + r*lda) at once, so that x or y is loaded once for all of them
	 * and A is read as several streams:
	 *   gemv_n4: y[r] = sum_j a[r][j] x[j]         (r < 4, j < n)
	 *   gemv_t8: y[j] += sum_r x[r] a[r][j]        (r < 8, j < n)
	 * (eight for t: y is read and written per step, measured to cost
	 * bandwidth at four.)
	 */
	void (*gemv_n4)(float y[4], const float *a, size_t lda, const float *x,
			size_t n);
	void (*gemv_t8)(float *y, const float *a, size_t lda, const float x[8],
			size_t n);

	/* peak.c, for pep_simd_fma_peak() and _mem_bandwidth(): */
	double (*fma_loop)(uint64_t iters);	/* independent FMAs; flops done */
	uint64_t (*read_loop)(const void *p, size_t bytes); /* widest loads */
	/* Widest loads, streaming stores (NULL: memcpy is the best there). */
	void (*copy_loop)(void *dst, const void *src, size_t bytes);
};

/*
 * Each tier's files fill the slots they have (x86 tiers on x86-64 only,
 * neon on aarch64 only). Per-tier code is compiled once per tier with
 * that tier's flags and -DPEP_SIMD_TIER=<tier> (src/pepita/meson.build);
 * code written once for every tier (vec_tier.h, peak.c) names its entry
 * PEP__SIMD_FILL(family), pep__simd_<family>_<tier>.
 */
#define PEP__SIMD_PASTE(a, b)	a##b
#define PEP__SIMD_NAME(a, b)	PEP__SIMD_PASTE(a, b)
#define PEP__SIMD_FILL(family)	PEP__SIMD_NAME(pep__simd_##family##_, \
					       PEP_SIMD_TIER)

#define PEP__SIMD_TIER(t)						\
	void pep__simd_vec_##t(struct pep__simd_table *k);		\
	void pep__simd_cvt_##t(struct pep__simd_table *k);		\
	void pep__simd_qdot_##t(struct pep__simd_table *k);		\
	void pep__simd_gemm_##t(struct pep__simd_table *k);		\
	void pep__simd_peak_##t(struct pep__simd_table *k);
PEP__SIMD_TIER(scalar)
PEP__SIMD_TIER(sse4)
PEP__SIMD_TIER(avx2)
PEP__SIMD_TIER(avx512)
PEP__SIMD_TIER(neon)
#undef PEP__SIMD_TIER

/* The table of a usable tier (built once), or NULL when it is not usable. */
const struct pep__simd_table *pep__simd_table(enum pep_simd_isa isa);

/* The active table: chosen on first use (the best tier when PEPITA_SIMD
 * is refused; pep_simd_refused() says why). */
const struct pep__simd_table *pep__simd(void);

/*
 * Outputs at least this many bytes long are written with streaming
 * (non-temporal) stores on tiers that have them: half the last-level
 * cache, so an array that cannot stay cached does not evict everything
 * else and costs no read-for-ownership.
 */
size_t pep__simd_stream_bytes(void);

#ifdef __AVX2__
#include <immintrin.h>

/* The sum of v's eight lanes, on the tiers that have AVX2. */
static inline float pep__hsum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
			      _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}
#endif

/* Scalar helpers every tier may use for tails. */
uint16_t pep__f32_to_f16_scalar(float f);
float pep__f16_to_f32_scalar(uint16_t h);
uint16_t pep__f32_to_bf16_scalar(float f);
float pep__bf16_to_f32_scalar(uint16_t h);
float pep__expf_scalar(float x);	/* the bounds of pep_vexp() */

/*
 * softmax's special cases, shared so that every tier agrees: m is the
 * maximum of x (NaN if any is NaN). Writes y and returns 1 when m is NaN
 * or infinite (or n is 0), else returns 0 and leaves y alone.
 */
int pep__softmax_special(float *y, const float *x, float m, size_t n);

#endif /* PEPITA_SIMD_PRIV_H */
