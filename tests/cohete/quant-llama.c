/*
 * Our quantized files against llama.cpp's own, byte for byte: every file
 * type llama-quantize makes without an importance matrix, on two
 * synthetic llama models (bench/quant/synth.h): one whose rows all divide
 * into 256-element super-blocks, and one whose rows do not (llama.cpp's
 * fallbacks: Q5_0, Q5_1, Q8_0, IQ4_NL). The reference is llama.cpp's
 * llama_model_quantize() in the libllama scripts/fetch-llama.sh fetches
 * (bench/quant/llama.h); without it the test skips (77) and says so.
 *
 * Run natively only: the library is a plain x86-64 or aarch64 build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/quant.h>

#include "harness.h"
#include "../../bench/quant/llama.h"
#include "../../bench/quant/synth.h"

static const enum coh_ftype ftypes[] = {
	COH_FTYPE_Q4_0, COH_FTYPE_Q4_1, COH_FTYPE_Q5_0, COH_FTYPE_Q5_1,
	COH_FTYPE_Q8_0, COH_FTYPE_Q2_K, COH_FTYPE_Q3_K_S, COH_FTYPE_Q3_K_M,
	COH_FTYPE_Q3_K_L, COH_FTYPE_Q4_K_S, COH_FTYPE_Q4_K_M,
	COH_FTYPE_Q5_K_S, COH_FTYPE_Q5_K_M, COH_FTYPE_Q6_K,
};

static char dir[] = "/tmp/cohete-quant-llama-XXXXXX";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) &&
	    fread(p, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	if (f)
		fclose(f);
	return p;
}

/* Where two files part: the tensor (or the header) holding that byte. */
static void explain(const char *ours, size_t at)
{
	struct coh_gguf *g;
	struct pep_err err;
	const char *where = "the header";

	if (coh_gguf_open(ours, &g, &err) != 0) {
		fprintf(stderr, "  (our file does not parse: %s)\n", err.msg);
		return;
	}
	for (size_t i = 0; i < coh_gguf_tensor_count(g); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(g, i);
		uint64_t start = coh_gguf_data_offset(g) + t->offset;

		if (at >= start && at < start + t->nbytes)
			where = t->name;
	}
	fprintf(stderr, "  first difference at byte %zu, in %s\n", at, where);
	coh_gguf_close(g);
}

static int compare(const char *model, enum coh_ftype f,
		   struct llama_anchor *llama)
{
	char ours[96], theirs[96];
	struct coh_quantize_opts o = { .ftype = f, .threads = 2 };
	struct pep_err err;
	size_t la = 0, lb = 0, at = 0;
	char *a, *b;
	int rc = T_PASS;

	snprintf(ours, sizeof(ours), "%s/ours.gguf", dir);
	snprintf(theirs, sizeof(theirs), "%s/llama.gguf", dir);
	if (coh_quantize_file(model, ours, &o, &err) != 0) {
		fprintf(stderr, "%s as %s: %s\n", model, coh_ftype_name(f),
			err.msg);
		return T_FAIL;
	}
	CHECK(llama_anchor_quantize(llama, model, theirs, (int)f, 2) == 0);
	a = slurp(ours, &la);
	b = slurp(theirs, &lb);
	CHECK(a && b);
	while (at < la && at < lb && a[at] == b[at])
		at++;
	if (la != lb || at != la) {
		fprintf(stderr, "%s as %s: %zu bytes, llama.cpp's %zu\n", model,
			coh_ftype_name(f), la, lb);
		explain(ours, at);
		rc = T_FAIL;
	}
	free(a);
	free(b);
	unlink(ours);
	unlink(theirs);
	return rc;
}

static int run_model(const struct synth_layout *l, const char *name,
		     struct llama_anchor *llama)
{
	char model[96];
	int rc = T_PASS;

	snprintf(model, sizeof(model), "%s/%s.gguf", dir, name);
	CHECK(synth_model(model, l) != 0);
	for (size_t i = 0; i < sizeof(ftypes) / sizeof(ftypes[0]); i++)
		if (compare(model, ftypes[i], llama) != T_PASS)
			rc = T_FAIL;
	unlink(model);
	fprintf(stderr, "  %s: %zu file types\n", name,
		sizeof(ftypes) / sizeof(ftypes[0]));
	return rc;
}

static struct llama_anchor llama;

/* Rows of 512 and 1536: whole super-blocks everywhere. */
static int test_super_blocks(void)
{
	static const struct synth_layout l = { 4, 512, 1536, 2048, 128 };

	return run_model(&l, "blocks", &llama);
}

/* Rows of 288 and 800: every K-quant falls back. */
static int test_fallbacks(void)
{
	static const struct synth_layout l = { 3, 288, 800, 1024, 96 };

	return run_model(&l, "fallbacks", &llama);
}

/* quant-digest.c's two models: their digests are then llama.cpp's too. */
static int test_digest_models(void)
{
	static const struct synth_layout blocks = { 2, 256, 768, 512, 64 };
	static const struct synth_layout fallbacks = { 2, 288, 800, 512, 96 };

	if (run_model(&blocks, "digest-blocks", &llama) != T_PASS)
		return T_FAIL;
	return run_model(&fallbacks, "digest-fallbacks", &llama);
}

int main(void)
{
	int rc = T_PASS;

	if (llama_anchor_open(&llama) != 0) {
		fprintf(stderr, "skip: %s\n", llama.path);
		return T_SKIP;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return T_ERROR;
	}
	t_run("super_blocks", test_super_blocks, &rc);
	t_run("fallbacks", test_fallbacks, &rc);
	t_run("digest_models", test_digest_models, &rc);
	rmdir(dir);
	return rc;
}
