/*
 * bench/quant - quantizing a GGUF model: F16-input throughput of cohete's
 * quantizer for Q8_0, Q4_0, Q6_K and Q4_K_M at 1 and 2 threads, on a
 * synthetic model the benchmark writes itself (a llama layout of about
 * 850M parameters, 1.6 GiB of F16; --quick: a small one).
 *
 * The anchor is llama.cpp's llama-quantize, which cannot be built or
 * installed here (no Debian package, no network): its lines say na, and
 * the figures measured for it on one core of a build machine are printed
 * beside ours as a comment.
 *
 *   bench-quant [--quick]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pepita/simd.h>
#include <cohete/quant.h>

#include "../bench.h"

struct layout {
	unsigned int layers;
	uint64_t embd, ff, vocab, kv;
	int reps;
};

static const struct layout full = { 16, 2048, 5632, 32000, 512, 3 };
static const struct layout quick = { 2, 512, 1024, 4096, 128, 1 };

/* llama-quantize b4747, one core of a build machine (M weights/s). */
static const struct {
	enum coh_ftype ftype;
	const char *name;
	double anchor_mws;
} cases[] = {
	{ COH_FTYPE_Q8_0, "q8_0", 120 },
	{ COH_FTYPE_Q4_0, "q4_0", 70 },
	{ COH_FTYPE_Q6_K, "q6_k", 25 },
	{ COH_FTYPE_Q4_K_M, "q4_k_m", 15 },
};

static uint64_t rng = 0x243f6a8885a308d3ull;

/* Roughly normal weights, sigma 0.02: a sum of four uniforms. */
static float weight(void)
{
	float s = 0;

	for (int i = 0; i < 4; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s += (float)(rng >> 40) / (float)(1u << 24) - 0.5f;
	}
	return s * 0.035f;
}

struct tensor {
	char name[48];
	uint64_t ne0, ne1;
	int f16;
};

static size_t make_tensors(const struct layout *l, struct tensor *t)
{
	static const char *const kinds[] = {
		"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
		"ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
	};
	size_t n = 0;

	t[n++] = (struct tensor){ "token_embd.weight", l->embd, l->vocab, 1 };
	t[n++] = (struct tensor){ "output_norm.weight", l->embd, 1, 0 };
	t[n++] = (struct tensor){ "output.weight", l->embd, l->vocab, 1 };
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

static int write_data(struct coh_gguf_writer *w, size_t i,
		      const struct tensor *t)
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
			f[j] = t->f16 ? weight() : 1.0f;
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

/* The synthetic model; returns its parameter count, 0 on failure. */
static uint64_t make_model(const char *path, const struct layout *l)
{
	static struct tensor t[3 + 9 * 64];
	size_t n = make_tensors(l, t);
	struct coh_gguf_writer *w;
	struct pep_err err;
	uint64_t params = 0;
	int rc;

	if (coh_gguf_writer_create(&w, path, &err)) {
		fprintf(stderr, "bench-quant: %s\n", err.msg);
		return 0;
	}
	rc = coh_gguf_writer_add_str(w, "general.architecture", "llama") ||
	     coh_gguf_writer_add_u32(w, "llama.block_count", l->layers) ||
	     coh_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)l->embd) ||
	     coh_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)l->ff) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count", 32) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count_kv",
				     (uint32_t)(32 * l->kv / l->embd));
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t ne[2] = { t[i].ne0, t[i].ne1 };

		rc = coh_gguf_writer_add_tensor(w, t[i].name, t[i].ne1 > 1 ? 2 : 1,
						ne, t[i].f16 ? COH_GGML_F16 :
							       COH_GGML_F32) < 0;
		params += t[i].ne0 * t[i].ne1;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = write_data(w, i, &t[i]);
	if (rc) {
		fprintf(stderr, "bench-quant: writing the model: %s\n",
			coh_gguf_writer_error(w));
		coh_gguf_writer_abort(w);
		return 0;
	}
	if (coh_gguf_writer_finish(w, &err)) {
		fprintf(stderr, "bench-quant: %s\n", err.msg);
		return 0;
	}
	return params;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median seconds of reps quantizations; < 0 on failure. */
static double time_case(const char *in, const char *out, enum coh_ftype f,
			unsigned int threads, int reps)
{
	struct coh_quantize_opts o = { .ftype = f, .threads = threads };
	double v[8];
	struct pep_err err;

	for (int r = 0; r < reps; r++) {
		double t0 = now_s();

		if (coh_quantize_file(in, out, &o, &err)) {
			fprintf(stderr, "bench-quant: %s\n", err.msg);
			return -1;
		}
		v[r] = now_s() - t0;
	}
	return bench_median(v, reps);
}

int main(int argc, char **argv)
{
	const struct layout *l = argc > 1 && !strcmp(argv[1], "--quick") ?
				 &quick : &full;
	char dir[] = "/tmp/bench-quant-XXXXXX", in[64], out[64];
	uint64_t params;
	int rc = 0;

	if (!mkdtemp(dir)) {
		perror("bench-quant: mkdtemp");
		return 1;
	}
	snprintf(in, sizeof(in), "%s/model-f16.gguf", dir);
	snprintf(out, sizeof(out), "%s/model-q.gguf", dir);
	params = make_model(in, l);
	if (!params) {
		rmdir(dir);
		return 1;
	}
	printf("# synthetic llama layout: %.0fM parameters, %.2f GiB of F16 "
	       "(norms F32), simd tier %s\n", (double)params / 1e6,
	       (double)params * 2 / (1u << 30), pep_simd_isa_name(pep_simd_active()));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) && !rc; c++) {
		for (unsigned int t = 1; t <= 2; t++) {
			double s = time_case(in, out, cases[c].ftype, t, l->reps);

			if (s < 0) {
				rc = 1;
				break;
			}
			printf("# llama-quantize cannot be built or installed here "
			       "(no package, no network); measured on one core of a "
			       "build machine: %.0f M weights/s, %.0f MB/s of F16\n",
			       cases[c].anchor_mws, cases[c].anchor_mws * 2);
			printf("BENCH quant/%s-t%u MB/s ours=%.1f llama-quantize=na "
			       "speedup=na\n", cases[c].name, t,
			       (double)params * 2 / s / 1e6);
		}
	}
	unlink(in);
	unlink(out);
	rmdir(dir);
	return rc;
}
