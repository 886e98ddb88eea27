/*
 * bench/quant - quantizing a GGUF model: F16-input throughput of cohete's
 * quantizer for Q8_0, Q4_0, Q6_K and Q4_K_M at 1 and 2 threads, against
 * llama.cpp's llama_model_quantize (what llama-quantize runs) on the same
 * synthetic model in the same run: a llama layout of about 850M
 * parameters, 1.6 GiB of F16 (--quick: a small one).
 *
 * The anchor is the libllama scripts/fetch-llama.sh fetches (see
 * llama.h); without it its figures say na. Each case also compares the
 * two outputs byte for byte. Files live in $TMPDIR (else /tmp); an
 * output is removed before each timed run, so no run pays for deleting
 * the last one.
 *
 *   bench-quant [--quick] [TYPE...]   (TYPE: q8_0 q4_0 q6_k q4_k_m; all)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pepita/simd.h>
#include <cohete/quant.h>

#include "../bench.h"
#include "llama.h"
#include "synth.h"

static const struct synth_layout full = { 16, 2048, 5632, 32000, 512 };
static const struct synth_layout quick = { 2, 512, 1024, 4096, 128 };

static const struct {
	enum coh_ftype ftype;
	const char *name;
} cases[] = {
	{ COH_FTYPE_Q8_0, "q8_0" },
	{ COH_FTYPE_Q4_0, "q4_0" },
	{ COH_FTYPE_Q6_K, "q6_k" },
	{ COH_FTYPE_Q4_K_M, "q4_k_m" },
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median seconds of reps quantizations by us (or by llama); < 0: failed. */
static double time_case(struct llama_anchor *llama, const char *in,
			const char *out, enum coh_ftype f, unsigned int threads,
			int reps)
{
	struct coh_quantize_opts o = { .ftype = f, .threads = threads };
	double v[8];
	struct pep_err err;

	for (int r = 0; r < reps; r++) {
		double t0;

		unlink(out);
		t0 = now_s();
		if (llama) {
			if (llama_anchor_quantize(llama, in, out, (int)f,
						  (int)threads)) {
				fprintf(stderr, "bench-quant: llama.cpp failed\n");
				return -1;
			}
		} else if (coh_quantize_file(in, out, &o, &err)) {
			fprintf(stderr, "bench-quant: %s\n", err.msg);
			return -1;
		}
		v[r] = now_s() - t0;
	}
	return bench_median(v, reps);
}

static int same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int same = fa && fb, ca, cb;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		same = ca == cb;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Whether the command line asks for the case (no names: every case). */
static int wanted(int argc, char **argv, const char *name)
{
	int named = 0;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		named = 1;
		if (!strcmp(argv[i], name))
			return 1;
	}
	return !named;
}

static void run_case(struct llama_anchor *llama, const char *in,
		     const char *out, const char *ref, size_t c,
		     uint64_t params, int reps)
{
	for (unsigned int t = 1; t <= 2; t++) {
		double ours = time_case(NULL, in, out, cases[c].ftype, t, reps);
		double them = llama->lib ? time_case(llama, in, ref,
						     cases[c].ftype, t, 1) : -1;
		double mb = (double)params * 2 / 1e6;

		if (ours < 0)
			return;
		if (them > 0) {
			printf("# %s, %u thread(s): %s llama.cpp's output\n",
			       cases[c].name, t, same_file(out, ref) ?
			       "byte-identical to" : "DIFFERENT FROM");
			printf("BENCH quant/%s-t%u MB/s ours=%.1f "
			       "llama-quantize=%.1f speedup=%.2f\n",
			       cases[c].name, t, mb / ours, mb / them,
			       them / ours);
		} else {
			printf("BENCH quant/%s-t%u MB/s ours=%.1f "
			       "llama-quantize=na speedup=na\n",
			       cases[c].name, t, mb / ours);
		}
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	const int is_quick = argc > 1 && !strcmp(argv[1], "--quick");
	const struct synth_layout *l = is_quick ? &quick : &full;
	const char *tmp = getenv("TMPDIR");
	char dir[256], in[300], out[300], ref[300];
	struct llama_anchor llama = { 0 };
	uint64_t params;

	snprintf(dir, sizeof(dir), "%s/bench-quant-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("bench-quant: mkdtemp");
		return 1;
	}
	snprintf(in, sizeof(in), "%s/model-f16.gguf", dir);
	snprintf(out, sizeof(out), "%s/model-q.gguf", dir);
	snprintf(ref, sizeof(ref), "%s/model-llama.gguf", dir);
	params = synth_model(in, l);
	if (!params) {
		rmdir(dir);
		return 1;
	}
	if (llama_anchor_open(&llama))
		printf("# anchor unavailable: %s\n", llama.path);
	else
		printf("# anchor: llama.cpp's llama_model_quantize from %s "
		       "(node-llama-cpp %s)\n", llama.path, LLAMA_NODE_VERSION);
	printf("# synthetic llama layout: %.0fM parameters, %.2f GiB of F16 "
	       "(norms F32), simd tier %s, files in %s\n", (double)params / 1e6,
	       (double)params * 2 / (1u << 30),
	       pep_simd_isa_name(pep_simd_active()), dir);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		if (wanted(argc, argv, cases[c].name))
			run_case(&llama, in, out, ref, c, params,
				 is_quick ? 1 : 3);
	unlink(in);
	unlink(out);
	unlink(ref);
	rmdir(dir);
	return 0;
}
