/*
 * policy.c - which type llama-quantize gives each tensor of a file type.
 *
 * The rules of llama.cpp's llama_tensor_get_type() for the file types we
 * write, without an importance matrix (shared/reference/ggml-quants.md
 * §8): the output tensor gets more bits, the _M mixes give attn_v and
 * ffn_down more bits on some layers, and a row length that is not a
 * multiple of the chosen type's block falls back to a 32-element type.
 * Layers are counted as llama-quantize counts them: by the order it
 * visits tensors (coh_quant_tensor_cmp()), one counter per tensor kind,
 * except that a mixture-of-experts model takes the layer from the name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cohete/quant.h>

static const struct {
	enum coh_ftype ftype;
	const char *name;
	enum coh_ggml_type base;
} ftypes[] = {
	{ COH_FTYPE_ALL_F32, "F32", COH_GGML_F32 },
	{ COH_FTYPE_F16, "F16", COH_GGML_F16 },
	{ COH_FTYPE_BF16, "BF16", COH_GGML_BF16 },
	{ COH_FTYPE_Q4_0, "Q4_0", COH_GGML_Q4_0 },
	{ COH_FTYPE_Q4_1, "Q4_1", COH_GGML_Q4_1 },
	{ COH_FTYPE_Q5_0, "Q5_0", COH_GGML_Q5_0 },
	{ COH_FTYPE_Q5_1, "Q5_1", COH_GGML_Q5_1 },
	{ COH_FTYPE_Q8_0, "Q8_0", COH_GGML_Q8_0 },
	{ COH_FTYPE_Q2_K, "Q2_K", COH_GGML_Q2_K },
	{ COH_FTYPE_Q3_K_S, "Q3_K_S", COH_GGML_Q3_K },
	{ COH_FTYPE_Q3_K_M, "Q3_K_M", COH_GGML_Q3_K },
	{ COH_FTYPE_Q3_K_L, "Q3_K_L", COH_GGML_Q3_K },
	{ COH_FTYPE_Q4_K_S, "Q4_K_S", COH_GGML_Q4_K },
	{ COH_FTYPE_Q4_K_M, "Q4_K_M", COH_GGML_Q4_K },
	{ COH_FTYPE_Q5_K_S, "Q5_K_S", COH_GGML_Q5_K },
	{ COH_FTYPE_Q5_K_M, "Q5_K_M", COH_GGML_Q5_K },
	{ COH_FTYPE_Q6_K, "Q6_K", COH_GGML_Q6_K },
};

#define N_FTYPES (sizeof(ftypes) / sizeof(ftypes[0]))

/* llama-quantize's short names for the _M mixes. */
static const struct {
	const char *alias;
	enum coh_ftype ftype;
} aliases[] = {
	{ "Q3_K", COH_FTYPE_Q3_K_M },
	{ "Q4_K", COH_FTYPE_Q4_K_M },
	{ "Q5_K", COH_FTYPE_Q5_K_M },
};

const char *coh_ftype_name(enum coh_ftype t)
{
	for (size_t i = 0; i < N_FTYPES; i++)
		if (ftypes[i].ftype == t)
			return ftypes[i].name;
	return NULL;
}

enum coh_ggml_type coh_ftype_base_type(enum coh_ftype t)
{
	for (size_t i = 0; i < N_FTYPES; i++)
		if (ftypes[i].ftype == t)
			return ftypes[i].base;
	return COH_GGML_F32;
}

static int parse_number(const char *text, enum coh_ftype *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (end == text || *end || v < 0 || !coh_ftype_name((enum coh_ftype)v))
		return -EINVAL;
	*out = (enum coh_ftype)v;
	return 0;
}

int coh_ftype_parse(const char *text, enum coh_ftype *out,
		    struct pep_err *err)
{
	for (size_t i = 0; i < N_FTYPES; i++)
		if (strcasecmp(text, ftypes[i].name) == 0) {
			*out = ftypes[i].ftype;
			return 0;
		}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(text, aliases[i].alias) == 0) {
			*out = aliases[i].ftype;
			return 0;
		}
	if (parse_number(text, out) == 0)
		return 0;
	return pep_err_set(err, -EINVAL,
			   "unknown quantization type '%s' (Q4_0, Q4_1, Q5_0, "
			   "Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, "
			   "Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, F16, BF16, F32)", text);
}

/* ---- which tensors ------------------------------------------------------ */

static bool has(const char *name, const char *part)
{
	return strstr(name, part) != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Small 2-D weights llama-quantize leaves as they are. */
static const char *const kept[] = {
	"_norm.weight", "ffn_gate_inp.weight", "altup", "laurel",
	"per_layer_model_proj", "ssm_conv1d.weight", "shortconv.conv.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
	"time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
	"time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
	"time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
	"time_mix_lerp_fused.weight", "attn_rel_b.weight",
};

bool coh_quant_wants(const char *name, unsigned int n_dims)
{
	if (!ends_with(name, "weight") || n_dims < 2)
		return false;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (has(name, kept[i]))
			return false;
	/* Position and token-type embeddings (BERT). */
	return strcmp(name, "position_embd.weight") != 0 &&
	       strcmp(name, "token_types.weight") != 0;
}

/* ---- order ---------------------------------------------------------------- */

/* The N of a "blk.N." prefix, or -1. */
static long layer_of(const char *name)
{
	char *end;
	long v;

	if (strncmp(name, "blk.", 4) != 0)
		return -1;
	v = strtol(name + 4, &end, 10);
	return end != name + 4 && *end == '.' ? v : -1;
}

int coh_quant_tensor_cmp(const char *a, const char *b)
{
	long la = layer_of(a), lb = layer_of(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* ---- the choice ------------------------------------------------------------ */

/* Layers at the ends and every third in between carry more bits. */
static bool more_bits(unsigned int i, unsigned int n)
{
	return i < n / 8 || i >= 7 * n / 8 || ((int)i - (int)(n / 8)) % 3 == 2;
}

static unsigned int gqa(const struct coh_quant_model *m)
{
	return m->n_head_kv ? m->n_head / m->n_head_kv : 0;
}

/*
 * llama.cpp's "70B" model type: llama with 80 layers and grouped-query
 * attention (80 layers without it is the 65B).
 */
static bool is_70b(const struct coh_quant_model *m)
{
	return strcmp(m->arch, "llama") == 0 && m->n_layer == 80 &&
	       m->n_head != m->n_head_kv;
}

static bool is_falcon(const struct coh_quant_model *m)
{
	return strcmp(m->arch, "falcon") == 0;
}

/* The layer of a per-layer tensor: the counter, or for MoE the name. */
static unsigned int layer_index(const struct coh_quant_model *m,
				unsigned int counter, const char *name)
{
	long l;

	if (m->n_expert <= 1)
		return counter;
	l = layer_of(name);
	return l >= 0 ? (unsigned int)l : counter;
}

static enum coh_ggml_type output_type(enum coh_ftype ftype,
				      enum coh_ggml_type t,
				      const struct coh_quant_model *m,
				      uint64_t ne0)
{
	unsigned int block = t >= COH_GGML_Q2_K && t <= COH_GGML_Q8_K ? 256 : 32;

	(void)ftype;
	if (is_falcon(m) || ne0 % block != 0)
		return COH_GGML_Q8_0;
	return t == COH_GGML_Q8_0 ? t : COH_GGML_Q6_K;
}

static enum coh_ggml_type attn_v_type(const struct coh_quant_model *m,
				      struct coh_quant_walk *w,
				      enum coh_ftype ftype,
				      enum coh_ggml_type t)
{
	unsigned int i = w->i_attention_wv;

	if (ftype == COH_FTYPE_Q2_K)
		t = gqa(m) >= 4 ? COH_GGML_Q4_K : COH_GGML_Q3_K;
	else if (ftype == COH_FTYPE_Q3_K_M)
		t = i < 2 ? COH_GGML_Q5_K : COH_GGML_Q4_K;
	else if (ftype == COH_FTYPE_Q3_K_L)
		t = COH_GGML_Q5_K;
	else if ((ftype == COH_FTYPE_Q4_K_M || ftype == COH_FTYPE_Q5_K_M) &&
		 more_bits(i, m->n_attention_wv))
		t = COH_GGML_Q6_K;
	else if (ftype == COH_FTYPE_Q4_K_S && i < 4)
		t = COH_GGML_Q5_K;
	if (is_70b(m) && (t == COH_GGML_Q3_K || t == COH_GGML_Q4_K))
		t = COH_GGML_Q5_K;
	if (m->n_expert == 8)
		t = COH_GGML_Q8_0;
	w->i_attention_wv++;
	return t;
}

static enum coh_ggml_type ffn_down_type(const struct coh_quant_model *m,
					struct coh_quant_walk *w,
					enum coh_ftype ftype,
					enum coh_ggml_type t, const char *name)
{
	unsigned int i = layer_index(m, w->i_ffn_down, name), n = m->n_layer;

	if (ftype == COH_FTYPE_Q2_K)
		t = COH_GGML_Q3_K;
	else if (ftype == COH_FTYPE_Q3_K_M)
		t = i < n / 16 ? COH_GGML_Q5_K :
		    !is_falcon(m) || more_bits(i, n) ? COH_GGML_Q4_K :
		    COH_GGML_Q3_K;
	else if (ftype == COH_FTYPE_Q3_K_L)
		t = is_falcon(m) ? COH_GGML_Q4_K : COH_GGML_Q5_K;
	else if (ftype == COH_FTYPE_Q4_K_M) {
		if (is_falcon(m))
			t = i < n / 16 ? COH_GGML_Q6_K :
			    more_bits(i, n) ? COH_GGML_Q5_K : COH_GGML_Q4_K;
		else if (more_bits(i, n))
			t = COH_GGML_Q6_K;
	} else if (ftype == COH_FTYPE_Q5_K_M && more_bits(i, n))
		t = COH_GGML_Q6_K;
	else if (ftype == COH_FTYPE_Q4_K_S && !is_falcon(m) && i < n / 8)
		t = COH_GGML_Q5_K;
	w->i_ffn_down++;
	return t;
}

static enum coh_ggml_type attn_output_type(const struct coh_quant_model *m,
					   enum coh_ftype ftype,
					   enum coh_ggml_type t)
{
	if (is_falcon(m))
		return ftype == COH_FTYPE_Q3_K_L ? COH_GGML_Q4_K : t;
	if (m->n_expert == 8)
		return ftype == COH_FTYPE_Q2_K || ftype == COH_FTYPE_Q3_K_S ||
		       ftype == COH_FTYPE_Q3_K_M || ftype == COH_FTYPE_Q4_K_S ||
		       ftype == COH_FTYPE_Q4_K_M ? COH_GGML_Q5_K : t;
	switch (ftype) {
	case COH_FTYPE_Q2_K: return COH_GGML_Q3_K;
	case COH_FTYPE_Q3_K_M: return COH_GGML_Q4_K;
	case COH_FTYPE_Q3_K_L: return COH_GGML_Q5_K;
	default: return t;
	}
}

static enum coh_ggml_type attn_qkv_type(enum coh_ftype ftype,
					enum coh_ggml_type t)
{
	switch (ftype) {
	case COH_FTYPE_Q3_K_M:
	case COH_FTYPE_Q3_K_L: return COH_GGML_Q4_K;
	case COH_FTYPE_Q4_K_M: return COH_GGML_Q5_K;
	case COH_FTYPE_Q5_K_M: return COH_GGML_Q6_K;
	default: return t;
	}
}

static unsigned int block_of(enum coh_ggml_type t)
{
	switch (t) {
	case COH_GGML_F32: case COH_GGML_F16: case COH_GGML_BF16: return 1;
	case COH_GGML_Q2_K: case COH_GGML_Q3_K: case COH_GGML_Q4_K:
	case COH_GGML_Q5_K: case COH_GGML_Q6_K: case COH_GGML_Q8_K: return 256;
	default: return 32;
	}
}

/*
 * A row that the type's blocks do not divide: the 32-element cousin.
 * Q2_K and Q3_K go to Q4_0 as in llama.cpp since its fallback moved to
 * tensor_type_fallback() (b4747 chose IQ4_NL); cohete-quant-llama checks
 * these against the llama.cpp that scripts/fetch-llama.sh pins.
 */
static enum coh_ggml_type fallback(enum coh_ggml_type t, uint64_t ne0,
				   struct coh_quant_walk *w)
{
	if (ne0 % block_of(t) == 0)
		return t;
	switch (t) {
	case COH_GGML_Q2_K:
	case COH_GGML_Q3_K: t = COH_GGML_Q4_0; break;
	case COH_GGML_Q4_K: t = COH_GGML_Q5_0; break;
	case COH_GGML_Q5_K: t = COH_GGML_Q5_1; break;
	case COH_GGML_Q6_K: t = COH_GGML_Q8_0; break;
	default: return COH_GGML_TYPE_MAX;	/* llama-quantize refuses */
	}
	if (ne0 % 32 != 0)
		t = COH_GGML_F16;
	w->n_fallback++;
	return t;
}

enum coh_ggml_type coh_quant_tensor_type(const struct coh_quant_model *m,
					 struct coh_quant_walk *w,
					 enum coh_ftype ftype,
					 const char *name, uint64_t ne0)
{
	enum coh_ggml_type t = coh_ftype_base_type(ftype);

	/* Not a quantized file type: every wanted tensor gets the base. */
	if (block_of(t) == 1)
		return t;
	if (strcmp(name, "output.weight") == 0 ||
	    (!m->has_output && strcmp(name, "token_embd.weight") == 0))
		t = output_type(ftype, t, m, ne0);
	else if (strcmp(name, "token_embd.weight") == 0 ||
		 strcmp(name, "per_layer_token_embd.weight") == 0)
		;
	else if (has(name, "attn_v.weight"))
		t = attn_v_type(m, w, ftype, t);
	else if (has(name, "attn_k.weight")) {
		if (m->n_expert == 8)
			t = COH_GGML_Q8_0;
	} else if (has(name, "attn_q.weight"))
		;
	else if (has(name, "ffn_down"))
		t = ffn_down_type(m, w, ftype, t, name);
	else if (has(name, "attn_output.weight"))
		t = attn_output_type(m, ftype, t);
	else if (has(name, "attn_qkv.weight"))
		t = attn_qkv_type(ftype, t);
	else if (has(name, "ffn_gate"))
		w->i_ffn_gate++;
	else if (has(name, "ffn_up"))
		w->i_ffn_up++;
	return fallback(t, ne0, w);
}
