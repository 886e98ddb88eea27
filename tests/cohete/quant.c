/*
 * quantize.c - whole files quantized: a small llama-layout model written
 * with the GGUF writer (F16 weights, F32 norms, a tokenizer array), then
 * quantized to several file types. Checked: the output's metadata (every
 * key copied, quantization_version and file_type last), tensor order and
 * types as llama-quantize chooses them, every quantized row equal to
 * coh_quantize_row() of the widened input, the same bytes at 1, 2 and 8
 * threads and on every SIMD tier, refusals named, and a quantization killed with SIGKILL leaves
 * neither an output nor a temporary file once the next run is done. An
 * output that is the input is refused (or, asked for, replaced safely),
 * the output's mode follows the umask, and errors name the output path.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/simd.h>
#include <cohete/quant.h>

#include "harness.h"

static char dir[64];

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float rnd_weight(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((float)(rng >> 40) / (float)(1u << 24) - 0.5f) * 0.2f;
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A tensor of rows x cols, F16 (or F32 for norms), random weights. */
static int add_tensor(struct coh_gguf_writer *w, const char *name,
		      uint64_t cols, uint64_t rows, uint32_t type)
{
	uint64_t ne[2] = { cols, rows };

	return coh_gguf_writer_add_tensor(w, name, rows > 1 ? 2 : 1, ne, type) < 0;
}

static int write_data(struct coh_gguf_writer *w, size_t index, uint64_t n,
		      uint32_t type)
{
	size_t size = type == COH_GGML_F32 ? 4 : 2;
	uint8_t *buf = malloc(n * size);
	int rc;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		float v = type == COH_GGML_F32 ? 1.0f + rnd_weight() : rnd_weight();

		if (type == COH_GGML_F32) {
			memcpy(buf + i * 4, &v, 4);
		} else {
			uint16_t h = pep_f32_to_f16(v);

			memcpy(buf + i * 2, &h, 2);
		}
	}
	rc = coh_gguf_writer_write_tensor_data(w, index, buf, n * size);
	free(buf);
	return rc;
}

struct spec {
	const char *name;
	uint64_t cols, rows;
	uint32_t type;
};

/* A 2-layer llama: n_embd 256, n_ff 512, vocab v, 4 heads (2 KV). */
/*
 * A two-layer llama layout: rows of embd (attn_k/v embd / 2 wide), a
 * feed-forward of ff, vocab tokens; weights F16, norms F32.
 */
static int make_model_shaped(const char *path, uint64_t embd, uint64_t ff,
			     uint64_t vocab)
{
	static const char *const toks[] = { "<s>", "</s>", "a", "b" };
	static const char *const kinds[9] = {
		"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
		"ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
	};
	const uint64_t shape[9][2] = {
		{ embd, 1 }, { embd, embd }, { embd, embd / 2 },
		{ embd, embd / 2 }, { embd, embd }, { embd, 1 }, { embd, ff },
		{ embd, ff }, { ff, embd },
	};
	char names[2][9][40];
	struct spec s[3 + 18];
	struct coh_gguf_writer *w;
	struct pep_err err;
	size_t n = 0;
	int rc;

	s[n++] = (struct spec){ "token_embd.weight", embd, vocab, COH_GGML_F16 };
	s[n++] = (struct spec){ "output_norm.weight", embd, 1, COH_GGML_F32 };
	s[n++] = (struct spec){ "output.weight", embd, vocab, COH_GGML_F16 };
	for (int l = 0; l < 2; l++) {
		for (int k = 0; k < 9; k++) {
			snprintf(names[l][k], sizeof(names[l][k]), "blk.%d.%s.weight",
				 l, kinds[k]);
			s[n++] = (struct spec){ names[l][k], shape[k][0], shape[k][1],
						shape[k][1] == 1 ? COH_GGML_F32 :
								   COH_GGML_F16 };
		}
	}
	pep_err_clear(&err);
	if (coh_gguf_writer_create(&w, path, &err))
		return -1;
	rc = coh_gguf_writer_add_str(w, "general.architecture", "llama") ||
	     coh_gguf_writer_add_str(w, "general.name", "tiny") ||
	     coh_gguf_writer_add_u32(w, "general.file_type", 1) ||
	     coh_gguf_writer_add_u32(w, "llama.block_count", 2) ||
	     coh_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)embd) ||
	     coh_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)ff) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count", 4) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count_kv", 2) ||
	     coh_gguf_writer_add_u32(w, "llama.context_length", 512) ||
	     coh_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) ||
	     coh_gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", toks, 4);
	for (size_t i = 0; i < n && !rc; i++)
		rc = add_tensor(w, s[i].name, s[i].cols, s[i].rows, s[i].type);
	for (size_t i = 0; i < n && !rc; i++)
		rc = write_data(w, i, s[i].cols * s[i].rows, s[i].type);
	if (rc) {
		coh_gguf_writer_abort(w);
		return -1;
	}
	return coh_gguf_writer_finish(w, &err) ? -1 : 0;
}

/* The tiny model most tests use: rows of 256, ff 512. */
static int make_model(const char *path, uint64_t vocab)
{
	return make_model_shaped(path, 256, 512, vocab);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*len = buf ? (size_t)n : 0;
	fclose(f);
	return buf;
}

static int quantize(const char *in, const char *out, enum coh_ftype f,
		    unsigned int threads, struct pep_err *err)
{
	struct coh_quantize_opts o = { .ftype = f, .threads = threads };

	pep_err_clear(err);
	return coh_quantize_file(in, out, &o, err);
}

/* Every quantized tensor: rows equal coh_quantize_row of the input. */
static int check_rows(const struct coh_gguf *gi, const struct coh_gguf *go)
{
	for (size_t i = 0; i < coh_gguf_tensor_count(go); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(go, i);
		const struct coh_gguf_tensor *s = coh_gguf_tensor_find(gi, t->name);
		size_t n = t->ne[0], row = coh_quant_row_bytes(t->type, n);
		float *x = malloc(n * sizeof(float));
		uint8_t *q = malloc(row ? row : 1);
		int bad = 0;

		CHECK(s && x && q);
		for (uint64_t r = 0; r < t->ne[1] && t->type != s->type && !bad; r++) {
			const uint16_t *h = (const uint16_t *)s->data + r * n;

			pep_vf16_to_f32(x, h, n);
			CHECK(coh_quantize_row(t->type, x, q, n) == 0);
			bad = memcmp(q, (const uint8_t *)t->data + r * row, row) != 0;
		}
		if (t->type == s->type)
			bad = memcmp(t->data, s->data, t->nbytes) != 0;
		free(x);
		free(q);
		if (bad) {
			fprintf(stderr, "tensor %s differs\n", t->name);
			return T_FAIL;
		}
	}
	return T_PASS;
}

struct want {
	const char *name;
	uint32_t type;
};

/* Every tensor of go, in order, is want[i]'s name and type. */
static int check_types(const struct coh_gguf *go, const struct want *want,
		       size_t n)
{
	CHECK(coh_gguf_tensor_count(go) == n);
	for (size_t i = 0; i < n; i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(go, i);

		if (strcmp(t->name, want[i].name) || t->type != want[i].type) {
			fprintf(stderr, "tensor %zu: %s %s, want %s %s\n", i,
				t->name, coh_ggml_type_name(t->type), want[i].name,
				coh_ggml_type_name(want[i].type));
			return T_FAIL;
		}
	}
	return T_PASS;
}

static int test_q4_k_m(void)
{
	char in[96], out[96];
	struct coh_gguf *gi, *go;
	struct pep_err err;
	const struct coh_gguf_kv *last;
	uint64_t v;
	static const struct want want[] = {
		{ "output.weight", COH_GGML_Q6_K },
		{ "output_norm.weight", COH_GGML_F32 },
		{ "token_embd.weight", COH_GGML_Q4_K },
		{ "blk.0.attn_k.weight", COH_GGML_Q4_K },
		{ "blk.0.attn_norm.weight", COH_GGML_F32 },
		{ "blk.0.attn_output.weight", COH_GGML_Q4_K },
		{ "blk.0.attn_q.weight", COH_GGML_Q4_K },
		{ "blk.0.attn_v.weight", COH_GGML_Q4_K },
		{ "blk.0.ffn_down.weight", COH_GGML_Q4_K },
		{ "blk.0.ffn_gate.weight", COH_GGML_Q4_K },
		{ "blk.0.ffn_norm.weight", COH_GGML_F32 },
		{ "blk.0.ffn_up.weight", COH_GGML_Q4_K },
		{ "blk.1.attn_k.weight", COH_GGML_Q4_K },
		{ "blk.1.attn_norm.weight", COH_GGML_F32 },
		{ "blk.1.attn_output.weight", COH_GGML_Q4_K },
		{ "blk.1.attn_q.weight", COH_GGML_Q4_K },
		{ "blk.1.attn_v.weight", COH_GGML_Q6_K },
		{ "blk.1.ffn_down.weight", COH_GGML_Q6_K },
		{ "blk.1.ffn_gate.weight", COH_GGML_Q4_K },
		{ "blk.1.ffn_norm.weight", COH_GGML_F32 },
		{ "blk.1.ffn_up.weight", COH_GGML_Q4_K },
	};

	path_in(in, sizeof(in), "tiny-f16.gguf");
	path_in(out, sizeof(out), "tiny-q4_k_m.gguf");
	CHECK(make_model(in, 1024) == 0);
	if (quantize(in, out, COH_FTYPE_Q4_K_M, 2, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return T_FAIL;
	}
	CHECK(coh_gguf_open(in, &gi, NULL) == 0);
	CHECK(coh_gguf_open(out, &go, NULL) == 0);
	CHECK(check_types(go, want, sizeof(want) / sizeof(want[0])) == T_PASS);
	/* Keys copied in order; the two set ones moved to the end. */
	CHECK(coh_gguf_kv_count(go) == coh_gguf_kv_count(gi) + 1);
	CHECK(strcmp(coh_gguf_kv_at(go, 0)->key, "general.architecture") == 0);
	last = coh_gguf_kv_at(go, coh_gguf_kv_count(go) - 1);
	CHECK(strcmp(last->key, "general.file_type") == 0);
	CHECK(coh_gguf_kv_uint(last, &v) == 0 && v == COH_FTYPE_Q4_K_M);
	last = coh_gguf_kv_at(go, coh_gguf_kv_count(go) - 2);
	CHECK(strcmp(last->key, "general.quantization_version") == 0);
	CHECK(coh_gguf_kv_uint(last, &v) == 0 && v == 2);
	CHECK(coh_gguf_alignment(go) == 32);
	CHECK(check_rows(gi, go) == T_PASS);
	coh_gguf_close(gi);
	coh_gguf_close(go);
	return T_PASS;
}

/* The same bytes on every SIMD tier this CPU has (F16 widening and any
 * vector code in the path are dispatched), at 2 threads. */
static int test_tiers(void)
{
	char in[96], out[96], *ref = NULL, *got;
	size_t ref_len = 0, len;
	struct pep_err err;
	int rc = T_PASS;

	path_in(in, sizeof(in), "tiny-f16.gguf");
	path_in(out, sizeof(out), "tiny-tier.gguf");
	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT && rc == T_PASS; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		CHECK(quantize(in, out, COH_FTYPE_Q4_K_M, 2, &err) == 0);
		got = slurp(out, &len);
		CHECK(got);
		if (!ref) {
			ref = got;
			ref_len = len;
			continue;
		}
		if (len != ref_len || memcmp(got, ref, len)) {
			fprintf(stderr, "tier %s differs from scalar\n",
				pep_simd_isa_name((enum pep_simd_isa)isa));
			rc = T_FAIL;
		}
		free(got);
	}
	free(ref);
	pep_simd_force(pep_simd_best(), NULL);
	return rc;
}

/* The same bytes at 1, 2 and 8 threads, for each file type. */
static int test_threads(void)
{
	static const enum coh_ftype types[] = {
		COH_FTYPE_Q8_0, COH_FTYPE_Q4_0, COH_FTYPE_Q5_1, COH_FTYPE_Q6_K,
		COH_FTYPE_Q3_K_M, COH_FTYPE_Q2_K, COH_FTYPE_Q5_K_S, COH_FTYPE_F16,
	};
	char in[96], out[96];
	struct pep_err err;

	path_in(in, sizeof(in), "tiny-f16.gguf");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *ref = NULL;
		size_t ref_len = 0;

		for (unsigned int t = 1; t <= 8; t *= 2) {
			char *got;
			size_t len;

			if (t == 4)
				continue;
			path_in(out, sizeof(out), "tiny-out.gguf");
			if (quantize(in, out, types[i], t, &err)) {
				fprintf(stderr, "%s: %s\n", coh_ftype_name(types[i]),
					err.msg);
				free(ref);
				return T_FAIL;
			}
			got = slurp(out, &len);
			CHECK(got);
			if (!ref) {
				ref = got;
				ref_len = len;
				continue;
			}
			if (len != ref_len || memcmp(got, ref, len)) {
				fprintf(stderr, "%s: %u threads differ from 1\n",
					coh_ftype_name(types[i]), t);
				free(got);
				free(ref);
				return T_FAIL;
			}
			free(got);
		}
		free(ref);
	}
	return T_PASS;
}

static int test_refusals(void)
{
	char in[96], out[96], bad[96];
	struct pep_err err;
	FILE *f;

	path_in(in, sizeof(in), "missing.gguf");
	path_in(out, sizeof(out), "never.gguf");
	CHECK(quantize(in, out, COH_FTYPE_Q4_0, 1, &err) != 0);
	CHECK(strstr(err.msg, "missing.gguf") != NULL);
	CHECK(access(out, F_OK) != 0);
	path_in(bad, sizeof(bad), "not-gguf.gguf");
	f = fopen(bad, "w");
	CHECK(f);
	fputs("not a model\n", f);
	fclose(f);
	CHECK(quantize(bad, out, COH_FTYPE_Q4_0, 1, &err) == -EINVAL);
	CHECK(access(out, F_OK) != 0);
	/* Requantizing a quantized input is refused, naming the tensor. */
	path_in(in, sizeof(in), "tiny-q4_k_m.gguf");
	CHECK(quantize(in, out, COH_FTYPE_Q8_0, 1, &err) == -EINVAL);
	CHECK(strstr(err.msg, "requantizing") != NULL);
	CHECK(access(out, F_OK) != 0);
	return T_PASS;
}

/* Files in dir whose name starts with prefix. */
static int count_prefixed(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* SIGKILL mid-way: no output; the next run leaves no temporary file. */
static int test_killed(void)
{
	char in[96], out[96];
	struct pep_err err;
	int status;
	pid_t pid;

	path_in(in, sizeof(in), "big-f16.gguf");
	path_in(out, sizeof(out), "killed.gguf");
	CHECK(make_model(in, 65536) == 0);	/* 2 x 32 MiB of embeddings */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct coh_quantize_opts o = { .ftype = COH_FTYPE_Q4_K_M,
					       .threads = 1 };

		_exit(coh_quantize_file(in, out, &o, NULL) ? 1 : 0);
	}
	usleep(100 * 1000);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(access(out, F_OK) != 0 || WIFEXITED(status));
	CHECK(quantize(in, out, COH_FTYPE_Q8_0, 2, &err) == 0);
	CHECK(access(out, F_OK) == 0);
	CHECK(count_prefixed("killed.gguf") == 1);	/* no killed.gguf.*.tmp */
	return T_PASS;
}

/* Each row of a 4-bit tensor within 15% RMS of the F16 input's. */
static int rows_close(const struct coh_gguf_tensor *s,
		      const struct coh_gguf_tensor *t)
{
	size_t n = t->ne[0], row = coh_quant_row_bytes(t->type, n);
	float x[288], y[288];

	CHECK(n == 288 && row == 9 * 18);
	for (uint64_t r = 0; r < t->ne[1]; r++) {
		double e2 = 0, x2 = 0;

		pep_vf16_to_f32(x, (const uint16_t *)s->data + r * n, n);
		CHECK(coh_dequantize_row(t->type, (const uint8_t *)t->data +
					 r * row, y, n) == 0);
		for (size_t i = 0; i < n; i++) {
			e2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
			x2 += (double)x[i] * x[i];
		}
		CHECK(e2 <= 0.0225 * x2);
	}
	return T_PASS;
}

/*
 * Q3_K_M of a 288-wide model: llama-quantize falls back to Q4_0 where the
 * mix asks Q3_K of a row 256 does not divide (and to Q5_0, Q5_1, Q8_0
 * for Q4_K, Q5_K, Q6_K); ffn_down's 768-element rows keep K-quants.
 * Q3_K_M: output Q6_K, attn_v Q5_K in the first two layers counted,
 * attn_output Q4_K, ffn_down Q5_K below n_layer / 16 = 0 else Q4_K, the
 * rest the base Q3_K.
 */
static int test_small_row_fallback(void)
{
	static const struct want want[] = {
		{ "output.weight", COH_GGML_Q8_0 },
		{ "output_norm.weight", COH_GGML_F32 },
		{ "token_embd.weight", COH_GGML_Q4_0 },
		{ "blk.0.attn_k.weight", COH_GGML_Q4_0 },
		{ "blk.0.attn_norm.weight", COH_GGML_F32 },
		{ "blk.0.attn_output.weight", COH_GGML_Q5_0 },
		{ "blk.0.attn_q.weight", COH_GGML_Q4_0 },
		{ "blk.0.attn_v.weight", COH_GGML_Q5_1 },
		{ "blk.0.ffn_down.weight", COH_GGML_Q4_K },
		{ "blk.0.ffn_gate.weight", COH_GGML_Q4_0 },
		{ "blk.0.ffn_norm.weight", COH_GGML_F32 },
		{ "blk.0.ffn_up.weight", COH_GGML_Q4_0 },
		{ "blk.1.attn_k.weight", COH_GGML_Q4_0 },
		{ "blk.1.attn_norm.weight", COH_GGML_F32 },
		{ "blk.1.attn_output.weight", COH_GGML_Q5_0 },
		{ "blk.1.attn_q.weight", COH_GGML_Q4_0 },
		{ "blk.1.attn_v.weight", COH_GGML_Q5_1 },
		{ "blk.1.ffn_down.weight", COH_GGML_Q4_K },
		{ "blk.1.ffn_gate.weight", COH_GGML_Q4_0 },
		{ "blk.1.ffn_norm.weight", COH_GGML_F32 },
		{ "blk.1.ffn_up.weight", COH_GGML_Q4_0 },
	};
	char in[96], out[96];
	struct coh_gguf *gi, *go;
	struct pep_err err;
	int n_q4 = 0;

	path_in(in, sizeof(in), "w288-f16.gguf");
	path_in(out, sizeof(out), "w288-q3_k_m.gguf");
	CHECK(make_model_shaped(in, 288, 768, 64) == 0);
	if (quantize(in, out, COH_FTYPE_Q3_K_M, 2, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return T_FAIL;
	}
	CHECK(coh_gguf_open(in, &gi, NULL) == 0);
	CHECK(coh_gguf_open(out, &go, NULL) == 0);
	CHECK(check_types(go, want, sizeof(want) / sizeof(want[0])) == T_PASS);
	for (size_t i = 0; i < coh_gguf_tensor_count(go); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(go, i);

		if (t->type != COH_GGML_Q4_0)
			continue;
		CHECK(t->nbytes == t->ne[1] * 9 * 18);
		CHECK(rows_close(coh_gguf_tensor_find(gi, t->name), t) ==
		      T_PASS);
		n_q4++;
	}
	CHECK(n_q4 == 9);
	CHECK(check_rows(gi, go) == T_PASS);
	coh_gguf_close(gi);
	coh_gguf_close(go);
	return T_PASS;
}

/* A copy of a file. */
static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *buf = slurp(from, &len);
	FILE *f = buf ? fopen(to, "wb") : NULL;
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	free(buf);
	return ok ? 0 : -1;
}

/* Files equal byte for byte. */
static int same_bytes(const char *a, const char *b)
{
	size_t alen, blen;
	char *x = slurp(a, &alen), *y = slurp(b, &blen);
	int same = x && y && alen == blen && memcmp(x, y, alen) == 0;

	free(x);
	free(y);
	return same;
}

/*
 * An output that is the input (its path, a hard link, a symlink) is
 * refused and the input left as it was; with replace_input the input is
 * replaced by exactly what quantizing it elsewhere gives.
 */
static int test_same_file(void)
{
	struct coh_quantize_opts force = { .ftype = COH_FTYPE_Q4_0,
					   .threads = 2, .replace_input = true };
	char in[96], copy[96], hard[96], sym[96], want[96];
	struct pep_err err;
	const char *outs[3] = { in, hard, sym };
	struct coh_gguf *g;

	path_in(in, sizeof(in), "self.gguf");
	path_in(copy, sizeof(copy), "self-copy.gguf");
	path_in(hard, sizeof(hard), "self-hard.gguf");
	path_in(sym, sizeof(sym), "self-sym.gguf");
	path_in(want, sizeof(want), "self-want.gguf");
	CHECK(make_model(in, 64) == 0 && copy_file(in, copy) == 0);
	CHECK(link(in, hard) == 0 && symlink(in, sym) == 0);
	for (int i = 0; i < 3; i++) {
		CHECK(quantize(in, outs[i], COH_FTYPE_Q4_0, 2, &err) == -EEXIST);
		CHECK(strstr(err.msg, "is the input") && strstr(err.msg, outs[i]));
		CHECK(same_bytes(in, copy));
	}
	CHECK(quantize(copy, want, COH_FTYPE_Q4_0, 2, &err) == 0);
	pep_err_clear(&err);
	CHECK(coh_quantize_file(in, in, &force, &err) == 0);
	CHECK(same_bytes(in, want));
	CHECK(same_bytes(hard, copy));	/* the old file under its other name */
	CHECK(coh_gguf_open(in, &g, &err) == 0);
	CHECK(coh_gguf_tensor_find(g, "blk.0.attn_q.weight")->type ==
	      COH_GGML_Q4_0);
	coh_gguf_close(g);
	CHECK(count_prefixed("self.gguf") == 1);	/* no temporary left */
	return T_PASS;
}

/* The output's mode follows the umask; errors name the output path. */
static int test_mode_and_names(void)
{
	char in[96], out[96];
	struct pep_err err;
	struct stat st;
	mode_t old;
	int ret;

	path_in(in, sizeof(in), "mode-in.gguf");
	path_in(out, sizeof(out), "mode-out.gguf");
	CHECK(make_model(in, 64) == 0);
	old = umask(027);
	ret = quantize(in, out, COH_FTYPE_Q8_0, 1, &err);
	umask(old);
	CHECK(ret == 0 && stat(out, &st) == 0);
	if ((st.st_mode & 07777) != 0640) {
		fprintf(stderr, "mode %03o under umask 027, want 640\n",
			st.st_mode & 07777);
		return T_FAIL;
	}
	/* a directory in the way: the rename fails at the very end */
	CHECK(unlink(out) == 0 && mkdir(out, 0755) == 0);
	CHECK(quantize(in, out, COH_FTYPE_Q8_0, 1, &err) < 0);
	if (!strstr(err.msg, out) || strstr(err.msg, ".tmp")) {
		fprintf(stderr, "error: %s\n", err.msg);
		return T_FAIL;
	}
	CHECK(rmdir(out) == 0);
	CHECK(count_prefixed("mode-out.gguf") == 0);
	return T_PASS;
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

int main(void)
{
	int rc = T_PASS;

	snprintf(dir, sizeof(dir), "/tmp/cohete-quantize-XXXXXX");
	if (!mkdtemp(dir))
		return T_ERROR;
	t_run("Q4_K_M file: order, types, metadata, rows", test_q4_k_m, &rc);
	t_run("same bytes at 1, 2 and 8 threads", test_threads, &rc);
	t_run("same bytes on every SIMD tier", test_tiers, &rc);
	t_run("refusals leave no output", test_refusals, &rc);
	t_run("killed run leaves nothing behind", test_killed, &rc);
	t_run("Q3_K_M of 288-wide rows falls back to Q4_0",
	      test_small_row_fallback, &rc);
	t_run("the input as output: refused, or replaced safely",
	      test_same_file, &rc);
	t_run("output mode from the umask, errors name the output",
	      test_mode_and_names, &rc);
	cleanup();
	return rc;
}
