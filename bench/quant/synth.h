/*
 * bench/quant/synth.h - a synthetic llama-layout GGUF model: token_embd,
 * output, per layer the seven projections and two norms, F16 weights
 * (roughly normal, sigma about 0.02, from a fixed seed) and F32 norms,
 * with the keys llama.cpp's loader needs to quantize it.
 *
 * Shared by bench/quant (the timed models) and tests/cohete/quant-llama.c
 * (the byte-identity check against llama.cpp). Header-only: each user is
 * one program.
 */
#ifndef BENCH_QUANT_SYNTH_H
#define BENCH_QUANT_SYNTH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cohete/quant.h>
#include <pepita/simd.h>

struct synth_layout {
	unsigned int layers;
	uint64_t embd, ff, vocab, kv;	/* kv: the K and V projections' rows */
};

struct synth_tensor {
	char name[48];
	uint64_t ne0, ne1;
	int f16;
};

static uint64_t synth_rng = 0x243f6a8885a308d3ull;

/* Roughly normal weights, sigma 0.02: a sum of four uniforms. */
static float synth_weight(void)
{
	float s = 0;

	for (int i = 0; i < 4; i++) {
		synth_rng = synth_rng * 6364136223846793005ull +
			    1442695040888963407ull;
		s += (float)(synth_rng >> 40) / (float)(1u << 24) - 0.5f;
	}
	return s * 0.035f;
}

static size_t synth_tensors(const struct synth_layout *l, struct synth_tensor *t)
{
	static const char *const kinds[] = {
		"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
		"ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
	};
	size_t n = 0;

	t[n++] = (struct synth_tensor){ "token_embd.weight", l->embd, l->vocab, 1 };
	t[n++] = (struct synth_tensor){ "output_norm.weight", l->embd, 1, 0 };
	t[n++] = (struct synth_tensor){ "output.weight", l->embd, l->vocab, 1 };
	for (unsigned int b = 0; b < l->layers; b++) {
		const uint64_t shape[9][2] = {
			{ l->embd, 1 }, { l->embd, l->embd }, { l->embd, l->kv },
			{ l->embd, l->kv }, { l->embd, l->embd }, { l->embd, 1 },
			{ l->embd, l->ff }, { l->embd, l->ff }, { l->ff, l->embd },
		};

		for (int k = 0; k < 9; k++) {
			snprintf(t[n].name, sizeof(t[n].name), "blk.%u.%s.weight",
				 b, kinds[k]);
			t[n].ne0 = shape[k][0];
			t[n].ne1 = shape[k][1];
			t[n].f16 = shape[k][1] > 1;
			n++;
		}
	}
	return n;
}

static int synth_write_data(struct coh_gguf_writer *w, size_t i,
			    const struct synth_tensor *t)
{
	uint64_t n = t->ne0 * t->ne1;
	size_t chunk = 1u << 20;
	uint16_t *h = malloc(chunk * sizeof(*h));
	float *f = malloc(chunk * sizeof(*f));
	int rc = 0;

	if (!h || !f)
		rc = -ENOMEM;
	for (uint64_t done = 0; done < n && !rc; done += chunk) {
		size_t k = n - done < chunk ? (size_t)(n - done) : chunk;

		for (size_t j = 0; j < k; j++)
			f[j] = t->f16 ? synth_weight() : 1.0f;
		if (t->f16)
			pep_vf32_to_f16(h, f, k);
		rc = coh_gguf_writer_write_tensor_data(w, i, t->f16 ? (void *)h :
						       (void *)f,
						       k * (t->f16 ? 2 : 4));
	}
	free(h);
	free(f);
	return rc;
}

/* The model at path; its parameter count, 0 on failure (said on stderr). */
static uint64_t synth_model(const char *path, const struct synth_layout *l)
{
	static struct synth_tensor t[3 + 9 * 64];
	size_t n = synth_tensors(l, t);
	struct coh_gguf_writer *w;
	struct pep_err err;
	uint64_t params = 0;
	int rc;

	if (l->layers > 64 || coh_gguf_writer_create(&w, path, &err)) {
		fprintf(stderr, "synth: %s\n", l->layers > 64 ?
			"at most 64 layers" : err.msg);
		return 0;
	}
	rc = coh_gguf_writer_add_str(w, "general.architecture", "llama") ||
	     coh_gguf_writer_add_u32(w, "llama.block_count", l->layers) ||
	     coh_gguf_writer_add_u32(w, "llama.context_length", 2048) ||
	     coh_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)l->embd) ||
	     coh_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)l->ff) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count", 32) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count_kv",
				     (uint32_t)(32 * l->kv / l->embd)) ||
	     coh_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon",
				     1e-5f);
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t ne[2] = { t[i].ne0, t[i].ne1 };

		rc = coh_gguf_writer_add_tensor(w, t[i].name, t[i].ne1 > 1 ? 2 : 1,
						ne, t[i].f16 ? COH_GGML_F16 :
							       COH_GGML_F32) < 0;
		params += t[i].ne0 * t[i].ne1;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = synth_write_data(w, i, &t[i]);
	if (rc) {
		fprintf(stderr, "synth: writing the model: %s\n",
			coh_gguf_writer_error(w));
		coh_gguf_writer_abort(w);
		return 0;
	}
	if (coh_gguf_writer_finish(w, &err)) {
		fprintf(stderr, "synth: %s\n", err.msg);
		return 0;
	}
	return params;
}

#endif /* BENCH_QUANT_SYNTH_H */
