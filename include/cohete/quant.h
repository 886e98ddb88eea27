/*
 * cohete/quant.h - GGUF models in the GGML formats: the GGUF v3 container
 * (a strict reader over an mmap, a writer that never leaves a half-written
 * file), the GGML block formats quantized and dequantized exactly as
 * llama.cpp's reference quantizers do, and the choice of a level that fits
 * a device's memory.
 *
 * Facts: shared/reference/gguf.md and ggml-quants.md.
 *
 * Threading: a parsed file is read-only and may be read from any thread;
 * a writer belongs to one thread. The row quantizers share nothing.
 */
#ifndef COHETE_QUANT_H
#define COHETE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== GGML types and formats (src/cohete/quant/formats.c) ==== */

/* ggml's type ids, as stored in GGUF tensor infos. */
enum coh_ggml_type {
	COH_GGML_F32 = 0,
	COH_GGML_F16 = 1,
	COH_GGML_Q4_0 = 2,
	COH_GGML_Q4_1 = 3,
	COH_GGML_Q5_0 = 6,
	COH_GGML_Q5_1 = 7,
	COH_GGML_Q8_0 = 8,
	COH_GGML_Q8_1 = 9,
	COH_GGML_Q2_K = 10,
	COH_GGML_Q3_K = 11,
	COH_GGML_Q4_K = 12,
	COH_GGML_Q5_K = 13,
	COH_GGML_Q6_K = 14,
	COH_GGML_Q8_K = 15,
	COH_GGML_BF16 = 30,
	COH_GGML_TYPE_MAX = 64		/* ids are below this */
};

/* ==== end of GGML types and formats ==== */

/* ==== GGUF (src/cohete/quant/gguf.c) ==== */

/* ==== end of GGUF ==== */

#ifdef __cplusplus
}
#endif

#endif /* COHETE_QUANT_H */
