/*
 * fit.c - what a model takes at each quantization level, and the best
 * level that fits a memory budget (the formulas: cohete/quant.h).
 *
 * The weights are counted exactly, not from bits per weight: the tensors
 * are walked in llama-quantize's order through the same per-tensor
 * choice the quantizer makes, so the output tensor's Q6_K, the _M mixes'
 * Q6_K layers and the fallbacks are all in the figure. Everything else
 * errs high: the promise is that a chosen level never exceeds the budget.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>

#define DEFAULT_CONTEXT	4096
#define UBATCH		512

static const enum coh_ftype ladder[] = {
	COH_FTYPE_Q8_0, COH_FTYPE_Q6_K, COH_FTYPE_Q5_K_M, COH_FTYPE_Q5_K_S,
	COH_FTYPE_Q4_K_M, COH_FTYPE_Q4_K_S, COH_FTYPE_Q3_K_L, COH_FTYPE_Q3_K_M,
	COH_FTYPE_Q3_K_S, COH_FTYPE_Q2_K,
};

#define LADDER_LEN (sizeof(ladder) / sizeof(ladder[0]))

const enum coh_ftype *coh_quant_ladder(size_t *count)
{
	*count = LADDER_LEN;
	return ladder;
}

/* Bytes of n elements of type; -EINVAL for a type or size we cannot count. */
static int tensor_bytes(uint32_t type, uint64_t n, uint64_t *out)
{
	unsigned int block, bytes;
	uint64_t blocks;

	if (coh_ggml_type_size(type, &block, &bytes) != 0 || n % block != 0)
		return -EINVAL;
	blocks = n / block;
	if (__builtin_mul_overflow(blocks, (uint64_t)bytes, out))
		return -EINVAL;
	return 0;
}

static int elements(const struct coh_quant_tensor *t, uint64_t *out)
{
	uint64_t n = 1;

	for (int d = 0; d < 4; d++)
		if (__builtin_mul_overflow(n, t->ne[d] ? t->ne[d] : 1, &n))
			return -EINVAL;
	*out = n;
	return 0;
}

/* Tensor indices in llama-quantize's order. */
static int by_name(const void *a, const void *b, void *tensors)
{
	const struct coh_quant_tensor *t = tensors;

	return coh_quant_tensor_cmp(t[*(const size_t *)a].name,
				    t[*(const size_t *)b].name);
}

static size_t *walk_order(const struct coh_model_shape *s)
{
	size_t *idx = malloc((s->n_tensors ? s->n_tensors : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < s->n_tensors; i++)
		idx[i] = i;
	qsort_r(idx, s->n_tensors, sizeof(*idx), by_name,
		(void *)s->tensors);
	return idx;
}

/* The bytes of one tensor in the output file of ftype. */
static int output_bytes(const struct coh_model_shape *s,
			struct coh_quant_walk *walk, enum coh_ftype ftype,
			const struct coh_quant_tensor *t, uint64_t *out,
			struct pep_err *err)
{
	uint32_t type = t->type;
	uint64_t n;

	if (elements(t, &n) != 0)
		return pep_err_set(err, -EINVAL, "tensor %s: %s", t->name,
				   "element count overflows");
	if (coh_quant_wants(t->name, t->n_dims)) {
		type = coh_quant_tensor_type(&s->m, walk, ftype, t->name,
					     t->ne[0]);
		if (type == COH_GGML_TYPE_MAX)
			return pep_err_set(err, -EINVAL,
					   "tensor %s: rows of %llu do not "
					   "divide into blocks of 32", t->name,
					   (unsigned long long)t->ne[0]);
	}
	if (tensor_bytes(type, n, out) != 0)
		return pep_err_set(err, -EINVAL,
				   "tensor %s: cannot size %llu elements of "
				   "type %u", t->name, (unsigned long long)n,
				   type);
	return 0;
}

static int weights_bytes(const struct coh_model_shape *s, enum coh_ftype ftype,
			 uint64_t *out, struct pep_err *err)
{
	struct coh_quant_walk walk = { 0 };
	size_t *idx = walk_order(s);
	uint64_t total = 0, b = 0;
	int rc = 0;

	if (!idx)
		return pep_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_tensors && rc == 0; i++) {
		rc = output_bytes(s, &walk, ftype, &s->tensors[idx[i]], &b, err);
		if (rc == 0 && __builtin_add_overflow(total, b, &total))
			rc = pep_err_set(err, -EINVAL, "model size overflows");
	}
	free(idx);
	*out = total;
	return rc;
}

/* Saturating arithmetic: a figure too large to hold is "does not fit". */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t kv_bytes(const struct coh_model_shape *s, uint64_t tokens)
{
	uint64_t per_token = mul_sat(s->m.n_head_kv,
				     s->head_dim_k + s->head_dim_v);

	/* f16: 2 bytes; K and V are in head_dim_k + head_dim_v. */
	return mul_sat(mul_sat(mul_sat(per_token, 2), s->m.n_layer), tokens);
}

static uint64_t compute_bytes(const struct coh_model_shape *s,
			      uint64_t tokens, uint64_t ubatch)
{
	uint64_t logits = mul_sat(mul_sat(s->n_vocab, ubatch), 4);
	uint64_t scores = mul_sat(mul_sat(mul_sat(s->m.n_head, ubatch),
					  tokens), 4);
	uint64_t act = mul_sat(mul_sat(ubatch, add_sat(mul_sat(s->n_embd, 6),
						       mul_sat(s->n_ff, 3))), 4);

	return add_sat(add_sat(logits, scores), act);
}

int coh_quant_estimate(const struct coh_model_shape *s, enum coh_ftype ftype,
		       const struct coh_quant_target *t,
		       struct coh_quant_estimate *out, struct pep_err *err)
{
	uint64_t context = t->context ? t->context : DEFAULT_CONTEXT;
	uint64_t tokens = mul_sat(context, t->parallel ? t->parallel : 1);
	uint64_t ubatch = context < UBATCH ? context : UBATCH;
	int rc;

	memset(out, 0, sizeof(*out));
	out->ftype = ftype;
	if (!coh_ftype_name(ftype))
		return pep_err_set(err, -EINVAL, "unknown file type %d",
				   (int)ftype);
	rc = weights_bytes(s, ftype, &out->weights, err);
	if (rc)
		return rc;
	out->kv = kv_bytes(s, tokens);
	out->compute = compute_bytes(s, tokens, ubatch);
	out->runtime = t->runtime_bytes ? t->runtime_bytes :
					  COH_QUANT_RUNTIME_BYTES;
	out->total = add_sat(add_sat(out->weights, out->kv),
			     add_sat(out->compute, out->runtime));
	out->fits = out->total <= t->budget_bytes;
	return 0;
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

int coh_quant_choose(const struct coh_model_shape *s,
		     const struct coh_quant_target *t, enum coh_ftype *best,
		     struct coh_quant_estimate *est, struct pep_err *err)
{
	struct coh_quant_estimate e[LADDER_LEN], *last;
	int found = -1;

	for (size_t i = 0; i < LADDER_LEN; i++) {
		int rc = coh_quant_estimate(s, ladder[i], t, &e[i], err);

		if (rc)
			return rc;
		if (found < 0 && e[i].fits)
			found = (int)i;
	}
	if (est)
		memcpy(est, e, sizeof(e));
	if (found >= 0) {
		*best = ladder[found];
		return 0;
	}
	last = &e[LADDER_LEN - 1];
	return pep_err_set(err, -ENOSPC,
			   "no level fits %.0f MiB: the smallest, %s, needs "
			   "%.0f MiB (weights %.0f + KV cache %.0f + compute "
			   "%.0f + runtime %.0f)", mib(t->budget_bytes),
			   coh_ftype_name(last->ftype), mib(last->total),
			   mib(last->weights), mib(last->kv),
			   mib(last->compute), mib(last->runtime));
}

/* ---- the shape of a GGUF model ---------------------------------------------- */

/* <arch>.<suffix> as an unsigned integer; fallback when absent. */
static int arch_uint(const struct coh_gguf *g, const char *arch,
		     const char *suffix, uint64_t fallback, uint64_t *out,
		     struct pep_err *err)
{
	char key[128];
	int rc;

	snprintf(key, sizeof(key), "%s.%s", arch, suffix);
	rc = coh_gguf_get_uint(g, key, out);
	if (rc == -ENOENT) {
		*out = fallback;
		return 0;
	}
	if (rc || *out > (1u << 30))
		return pep_err_set(err, -EINVAL, "metadata %s: %s", key,
				   rc ? "not an unsigned integer" :
					"absurdly large");
	return 0;
}

static int shape_hparams(const struct coh_gguf *g, struct coh_model_shape *s,
			 struct pep_err *err)
{
	const char *arch = s->m.arch;
	uint64_t layers, heads, kv_heads, experts, kdim, vdim;
	int rc;

	if ((rc = arch_uint(g, arch, "block_count", 0, &layers, err)) ||
	    (rc = arch_uint(g, arch, "embedding_length", 0, &s->n_embd, err)) ||
	    (rc = arch_uint(g, arch, "feed_forward_length", 0, &s->n_ff, err)) ||
	    (rc = arch_uint(g, arch, "attention.head_count", 0, &heads, err)) ||
	    (rc = arch_uint(g, arch, "attention.head_count_kv", heads,
			    &kv_heads, err)) ||
	    (rc = arch_uint(g, arch, "expert_count", 0, &experts, err)))
		return rc;
	if (layers == 0)
		return pep_err_set(err, -EINVAL, "metadata %s.block_count: %s",
				   arch, "missing or 0");
	s->m.n_layer = (unsigned int)layers;
	s->m.n_head = (unsigned int)heads;
	s->m.n_head_kv = (unsigned int)kv_heads;
	s->m.n_expert = (unsigned int)experts;
	if ((rc = arch_uint(g, arch, "attention.key_length",
			    heads ? s->n_embd / heads : 0, &kdim, err)) ||
	    (rc = arch_uint(g, arch, "attention.value_length", kdim, &vdim,
			    err)))
		return rc;
	s->head_dim_k = kdim;
	s->head_dim_v = vdim;
	return 0;
}

static void shape_tensors(const struct coh_gguf *g, struct coh_model_shape *s,
			  struct coh_quant_tensor *t)
{
	for (size_t i = 0; i < s->n_tensors; i++) {
		const struct coh_gguf_tensor *gt = coh_gguf_tensor_at(g, i);

		t[i] = (struct coh_quant_tensor){
			.name = gt->name, .n_dims = gt->n_dims,
			.ne = { gt->ne[0], gt->ne[1], gt->ne[2], gt->ne[3] },
			.type = gt->type,
		};
		if (strcmp(gt->name, "output.weight") == 0)
			s->m.has_output = true;
		if (strstr(gt->name, "attn_v.weight") ||
		    strstr(gt->name, "attn_qkv.weight") ||
		    strstr(gt->name, "attn_kv_b.weight"))
			s->m.n_attention_wv++;
		if (strcmp(gt->name, "token_embd.weight") == 0 && !s->n_vocab)
			s->n_vocab = gt->ne[1];
	}
}

int coh_model_shape_from_gguf(const struct coh_gguf *g,
			      struct coh_model_shape *s,
			      struct coh_quant_tensor **tensors,
			      struct pep_err *err)
{
	const struct coh_gguf_kv *tokens;
	const char *arch;
	size_t len;
	int rc;

	memset(s, 0, sizeof(*s));
	*tensors = NULL;
	if (coh_gguf_get_str(g, "general.architecture", &arch, &len) != 0 ||
	    len == 0 || len >= sizeof(s->m.arch))
		return pep_err_set(err, -EINVAL, "metadata general.architecture: "
				   "missing, not a string or too long");
	memcpy(s->m.arch, arch, len);
	s->m.arch[len] = '\0';
	rc = shape_hparams(g, s, err);
	if (rc)
		return rc;
	tokens = coh_gguf_find(g, "tokenizer.ggml.tokens");
	if (tokens && tokens->type == COH_GGUF_ARRAY)
		s->n_vocab = tokens->count;
	s->n_tensors = coh_gguf_tensor_count(g);
	*tensors = calloc(s->n_tensors ? s->n_tensors : 1, sizeof(**tensors));
	if (!*tensors)
		return pep_err_set(err, -ENOMEM, "out of memory");
	shape_tensors(g, s, *tensors);
	s->tensors = *tensors;
	return 0;
}

COH_API uint64_t coh_quant_device_budget(uint64_t ram_bytes)
{
	uint64_t keep = (2ull << 30) + ram_bytes / 16;

	return ram_bytes > keep ? ram_bytes - keep : 0;
}

/* Bump on any change to the bytes coh_quantize_file() writes. */
COH_API const char *coh_quantizer_version(void)
{
	return "cohete-quant/1";
}
