/*
 * quant-policy.c - the type llama-quantize gives each tensor: file type
 * names, which tensors are quantized, the output order, and the mixes'
 * per-layer choices worked out by hand from llama.cpp's rules
 * (shared/reference/ggml-quants.md §8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>

#include "harness.h"

static int test_ftype_names(void)
{
	struct pep_err err;
	enum coh_ftype t;

	CHECK(coh_ftype_parse("q4_k_m", &t, NULL) == 0 && t == COH_FTYPE_Q4_K_M);
	CHECK(coh_ftype_parse("Q4_K", &t, NULL) == 0 && t == COH_FTYPE_Q4_K_M);
	CHECK(coh_ftype_parse("Q3_K", &t, NULL) == 0 && t == COH_FTYPE_Q3_K_M);
	CHECK(coh_ftype_parse("Q5_K", &t, NULL) == 0 && t == COH_FTYPE_Q5_K_M);
	CHECK(coh_ftype_parse("7", &t, NULL) == 0 && t == COH_FTYPE_Q8_0);
	CHECK(coh_ftype_parse("8", &t, NULL) == 0 && t == COH_FTYPE_Q5_0);
	CHECK(coh_ftype_parse("4", &t, NULL) == -EINVAL);	/* removed */
	pep_err_clear(&err);
	CHECK(coh_ftype_parse("Q4_K_X", &t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "'Q4_K_X'") && strstr(err.msg, "Q6_K"));
	CHECK(strcmp(coh_ftype_name(COH_FTYPE_Q5_K_S), "Q5_K_S") == 0);
	CHECK(coh_ftype_name((enum coh_ftype)4) == NULL);
	CHECK(coh_ftype_base_type(COH_FTYPE_Q3_K_L) == COH_GGML_Q3_K);
	CHECK(coh_ftype_base_type(COH_FTYPE_Q5_0) == COH_GGML_Q5_0);
	return T_PASS;
}

static int test_wants(void)
{
	CHECK(coh_quant_wants("blk.0.attn_q.weight", 2));
	CHECK(coh_quant_wants("token_embd.weight", 2));
	CHECK(coh_quant_wants("blk.3.ffn_down_exps.weight", 3));
	CHECK(!coh_quant_wants("blk.0.attn_norm.weight", 1));
	CHECK(!coh_quant_wants("output_norm.weight", 2));
	CHECK(!coh_quant_wants("blk.0.attn_q.bias", 2));
	CHECK(!coh_quant_wants("blk.0.ffn_gate_inp.weight", 2));
	CHECK(!coh_quant_wants("blk.0.ssm_conv1d.weight", 2));
	CHECK(!coh_quant_wants("position_embd.weight", 2));
	CHECK(!coh_quant_wants("rope_freqs.weight", 1));
	return T_PASS;
}

static int cmp_names(const void *a, const void *b)
{
	return coh_quant_tensor_cmp(*(const char *const *)a,
				    *(const char *const *)b);
}

static int test_order(void)
{
	const char *names[] = {
		"token_embd.weight", "blk.10.attn_q.weight", "blk.2.ffn_up.weight",
		"output.weight", "blk.2.attn_k.weight", "output_norm.weight",
		"rope_freqs.weight", "blk.2.attn_norm.weight",
	};
	const char *want[] = {
		"output.weight", "output_norm.weight", "rope_freqs.weight",
		"token_embd.weight", "blk.2.attn_k.weight",
		"blk.2.attn_norm.weight", "blk.2.ffn_up.weight",
		"blk.10.attn_q.weight",
	};

	qsort(names, 8, sizeof(names[0]), cmp_names);
	for (int i = 0; i < 8; i++)
		CHECK(strcmp(names[i], want[i]) == 0);
	return T_PASS;
}

/* A llama-style model: layers of the given kinds, walked in order. */
static const struct coh_quant_model llama32 = {
	.arch = "llama", .n_layer = 32, .n_head = 32, .n_head_kv = 8,
	.has_output = true, .n_attention_wv = 32,
};

/* The type of blk.<layer>.<kind>.weight after walking layers 0..layer. */
static enum coh_ggml_type at_layer(const struct coh_quant_model *m,
				   enum coh_ftype f, const char *kind,
				   unsigned int layer, uint64_t ne0)
{
	struct coh_quant_walk w = { 0 };
	enum coh_ggml_type t = COH_GGML_F32;
	char name[64];

	for (unsigned int i = 0; i <= layer; i++) {
		snprintf(name, sizeof(name), "blk.%u.%s.weight", i, kind);
		t = coh_quant_tensor_type(m, &w, f, name, ne0);
	}
	return t;
}

/* The doc's example: 2 layers, Q4_K_M: layer 1's attn_v, ffn_down Q6_K. */
static int test_two_layer_q4_k_m(void)
{
	struct coh_quant_model m = llama32;
	struct coh_quant_walk w = { 0 };

	m.n_layer = 2;
	m.n_attention_wv = 2;
	CHECK(coh_quant_tensor_type(&m, &w, COH_FTYPE_Q4_K_M, "output.weight",
				    256) == COH_GGML_Q6_K);
	CHECK(coh_quant_tensor_type(&m, &w, COH_FTYPE_Q4_K_M,
				    "token_embd.weight", 256) == COH_GGML_Q4_K);
	CHECK(at_layer(&m, COH_FTYPE_Q4_K_M, "attn_v", 0, 256) == COH_GGML_Q4_K);
	CHECK(at_layer(&m, COH_FTYPE_Q4_K_M, "attn_v", 1, 256) == COH_GGML_Q6_K);
	CHECK(at_layer(&m, COH_FTYPE_Q4_K_M, "ffn_down", 0, 256) == COH_GGML_Q4_K);
	CHECK(at_layer(&m, COH_FTYPE_Q4_K_M, "ffn_down", 1, 256) == COH_GGML_Q6_K);
	CHECK(at_layer(&m, COH_FTYPE_Q4_K_M, "attn_q", 1, 256) == COH_GGML_Q4_K);
	return T_PASS;
}

/* 32 layers: more bits on 0-3, 28-31 and 6, 9, ..., 27. */
static int test_more_bits_layers(void)
{
	static const unsigned char more[32] = {
		1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1,
		0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1,
	};

	for (unsigned int i = 0; i < 32; i++) {
		enum coh_ggml_type want = more[i] ? COH_GGML_Q6_K : COH_GGML_Q5_K;

		CHECK(at_layer(&llama32, COH_FTYPE_Q5_K_M, "ffn_down", i, 4096) == want);
		CHECK(at_layer(&llama32, COH_FTYPE_Q5_K_M, "attn_v", i, 4096) == want);
		CHECK(at_layer(&llama32, COH_FTYPE_Q5_K_M, "ffn_up", i, 4096) ==
		      COH_GGML_Q5_K);
	}
	return T_PASS;
}

static int test_small_mixes(void)
{
	struct coh_quant_model mha = llama32;
	struct coh_quant_walk w = { 0 };

	/* Q4_K_S: the first 4 attn_v and the first n/8 ffn_down get Q5_K. */
	CHECK(at_layer(&llama32, COH_FTYPE_Q4_K_S, "attn_v", 3, 4096) == COH_GGML_Q5_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q4_K_S, "attn_v", 4, 4096) == COH_GGML_Q4_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q4_K_S, "ffn_down", 3, 4096) == COH_GGML_Q5_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q4_K_S, "ffn_down", 4, 4096) == COH_GGML_Q4_K);
	/* Q3_K_M: attn_v Q5_K then Q4_K; ffn_down Q5_K below n/16. */
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "attn_v", 1, 4096) == COH_GGML_Q5_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "attn_v", 2, 4096) == COH_GGML_Q4_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "ffn_down", 1, 4096) == COH_GGML_Q5_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "ffn_down", 2, 4096) == COH_GGML_Q4_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "attn_output", 5, 4096) == COH_GGML_Q4_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_M, "ffn_gate", 5, 4096) == COH_GGML_Q3_K);
	CHECK(at_layer(&llama32, COH_FTYPE_Q3_K_L, "attn_output", 5, 4096) == COH_GGML_Q5_K);
	/* Q2_K: attn_v by the GQA factor. */
	CHECK(at_layer(&llama32, COH_FTYPE_Q2_K, "attn_v", 7, 4096) == COH_GGML_Q4_K);
	mha.n_head_kv = 32;
	CHECK(at_layer(&mha, COH_FTYPE_Q2_K, "attn_v", 7, 4096) == COH_GGML_Q3_K);
	CHECK(at_layer(&mha, COH_FTYPE_Q2_K, "ffn_down", 7, 4096) == COH_GGML_Q3_K);
	CHECK(at_layer(&mha, COH_FTYPE_Q2_K, "attn_output", 7, 4096) == COH_GGML_Q3_K);
	CHECK(at_layer(&mha, COH_FTYPE_Q2_K, "attn_q", 7, 4096) == COH_GGML_Q2_K);
	/* The 32-element types: only the output changes. */
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q4_0, "output.weight",
				    4096) == COH_GGML_Q6_K);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q8_0, "output.weight",
				    4096) == COH_GGML_Q8_0);
	CHECK(at_layer(&llama32, COH_FTYPE_Q5_1, "attn_v", 3, 4096) == COH_GGML_Q5_1);
	CHECK(at_layer(&llama32, COH_FTYPE_Q4_1, "ffn_down", 3, 4096) == COH_GGML_Q4_1);
	/* Not quantized file types: the base type everywhere. */
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_F16, "output.weight",
				    4096) == COH_GGML_F16);
	return T_PASS;
}

static int test_special_models(void)
{
	struct coh_quant_model tied = llama32, moe = llama32, big = llama32;
	struct coh_quant_walk w = { 0 };

	/* Tied embeddings: token_embd is the output and gets its rule. */
	tied.has_output = false;
	CHECK(coh_quant_tensor_type(&tied, &w, COH_FTYPE_Q4_0,
				    "token_embd.weight", 4096) == COH_GGML_Q6_K);
	/* 8 experts: attn_v and attn_k Q8_0. */
	moe.n_expert = 8;
	CHECK(at_layer(&moe, COH_FTYPE_Q4_K_M, "attn_v", 4, 4096) == COH_GGML_Q8_0);
	CHECK(at_layer(&moe, COH_FTYPE_Q4_K_M, "attn_k", 4, 4096) == COH_GGML_Q8_0);
	CHECK(at_layer(&moe, COH_FTYPE_Q4_K_M, "attn_output", 4, 4096) == COH_GGML_Q5_K);
	/* The 70B shape: attn_v Q4_K becomes Q5_K. */
	big.n_layer = 80;
	big.n_attention_wv = 80;
	CHECK(at_layer(&big, COH_FTYPE_Q4_K_S, "attn_v", 10, 8192) == COH_GGML_Q5_K);
	CHECK(at_layer(&big, COH_FTYPE_Q4_K_S, "attn_q", 10, 8192) == COH_GGML_Q4_K);
	return T_PASS;
}

static int test_fallbacks(void)
{
	struct coh_quant_walk w = { 0 };

	/* 4000 = 125 x 32, not a multiple of 256. */
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q4_0, "output.weight",
				    4000) == COH_GGML_Q8_0);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q4_K_M,
				    "blk.0.attn_q.weight", 4000) == COH_GGML_Q5_0);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q5_K_S,
				    "blk.0.attn_q.weight", 4000) == COH_GGML_Q5_1);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q6_K,
				    "blk.0.attn_q.weight", 4000) == COH_GGML_Q8_0);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q3_K_S,
				    "blk.0.attn_q.weight", 4000) == COH_GGML_Q4_0);
	CHECK(w.n_fallback == 5);
	/* 100 is not a multiple of 32 either. */
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q4_K_M,
				    "blk.0.attn_q.weight", 100) == COH_GGML_F16);
	CHECK(coh_quant_tensor_type(&llama32, &w, COH_FTYPE_Q4_0,
				    "blk.0.attn_q.weight", 100) == COH_GGML_TYPE_MAX);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("file type names", test_ftype_names, &rc);
	t_run("which tensors are quantized", test_wants, &rc);
	t_run("output order", test_order, &rc);
	t_run("2-layer Q4_K_M", test_two_layer_q4_k_m, &rc);
	t_run("more-bits layers of 32", test_more_bits_layers, &rc);
	t_run("Q4_K_S, Q3_K_M/L, Q2_K, 32-element types", test_small_mixes, &rc);
	t_run("tied output, 8 experts, 70B", test_special_models, &rc);
	t_run("fallbacks", test_fallbacks, &rc);
	return rc;
}
