/*
 * tests/model-shape.h - model shapes for the tests that estimate memory
 * (quant-fit, fleet): a llama layout of any size, weights in F16 and norms
 * in F32 as convert scripts write it, without a file.
 */
#ifndef TESTS_MODEL_SHAPE_H
#define TESTS_MODEL_SHAPE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cohete/quant.h>

#define MAX_TENSORS 1024

struct model {
	struct coh_model_shape shape;
	struct coh_quant_tensor t[MAX_TENSORS];
	char names[MAX_TENSORS][48];
	size_t n;
};

static inline void add(struct model *md, const char *name, unsigned int n_dims,
		uint64_t ne0, uint64_t ne1, uint32_t type)
{
	struct coh_quant_tensor *t = &md->t[md->n];

	snprintf(md->names[md->n], sizeof(md->names[0]), "%s", name);
	*t = (struct coh_quant_tensor){
		.name = md->names[md->n], .n_dims = n_dims,
		.ne = { ne0, n_dims > 1 ? ne1 : 1, 1, 1 }, .type = type,
	};
	md->n++;
}

/* A llama layout, weights in F16 and norms in F32, as convert scripts
 * write it. */
static inline void llama(struct model *md, unsigned int layers, uint64_t embd,
		  uint64_t ff, uint64_t vocab, unsigned int heads,
		  unsigned int kv_heads, bool tied)
{
	uint64_t head_dim = embd / heads, kv = kv_heads * head_dim;
	char name[48];

	memset(md, 0, sizeof(*md));
	add(md, "token_embd.weight", 2, embd, vocab, COH_GGML_F16);
	if (!tied)
		add(md, "output.weight", 2, embd, vocab, COH_GGML_F16);
	add(md, "output_norm.weight", 1, embd, 1, COH_GGML_F32);
	for (unsigned int l = 0; l < layers; l++) {
		static const char *const kinds[] = {
			"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
			"ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
		};
		const uint64_t shapes[][2] = {
			{ embd, 1 }, { embd, embd }, { embd, kv }, { embd, kv },
			{ embd, embd }, { embd, 1 }, { embd, ff }, { embd, ff },
			{ ff, embd },
		};

		for (int k = 0; k < 9; k++) {
			int norm = shapes[k][1] == 1;

			snprintf(name, sizeof(name), "blk.%u.%s.weight", l, kinds[k]);
			add(md, name, norm ? 1 : 2, shapes[k][0], shapes[k][1],
			    norm ? COH_GGML_F32 : COH_GGML_F16);
		}
	}
	md->shape = (struct coh_model_shape){
		.m = { .arch = "llama", .n_layer = layers, .n_head = heads,
		       .n_head_kv = kv_heads, .has_output = !tied,
		       .n_attention_wv = layers },
		.n_embd = embd, .n_ff = ff, .n_vocab = vocab,
		.head_dim_k = head_dim, .head_dim_v = head_dim,
		.tensors = md->t, .n_tensors = md->n,
	};
}

#endif /* TESTS_MODEL_SHAPE_H */
