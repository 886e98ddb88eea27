/*
 * Whole quantized files, the same on every ISA: every file type of two
 * small synthetic llama models (bench/quant/synth.h; rows that divide
 * into super-blocks, and rows that make llama.cpp fall back), quantized
 * on every SIMD tier this CPU has, must hash to the digests below. They
 * were taken on x86-64, where cohete-quant-llama checks the same files
 * byte for byte against llama.cpp's (its digest_models case; keep the
 * two lists of models alike); this test runs under qemu-aarch64
 * too, so the NEON and scalar tiers there must give llama.cpp's bytes.
 *
 *   test-cohete-quant-digest --print   the digest table, to paste below
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/quant.h>
#include <pepita/simd.h>

#include "harness.h"
#include "../../bench/quant/synth.h"

static const enum coh_ftype ftypes[] = {
	COH_FTYPE_Q4_0, COH_FTYPE_Q4_1, COH_FTYPE_Q5_0, COH_FTYPE_Q5_1,
	COH_FTYPE_Q8_0, COH_FTYPE_Q2_K, COH_FTYPE_Q3_K_S, COH_FTYPE_Q3_K_M,
	COH_FTYPE_Q3_K_L, COH_FTYPE_Q4_K_S, COH_FTYPE_Q4_K_M,
	COH_FTYPE_Q5_K_S, COH_FTYPE_Q5_K_M, COH_FTYPE_Q6_K,
};
#define N_FTYPES	(sizeof(ftypes) / sizeof(ftypes[0]))

static const struct synth_layout models[2] = {
	{ 2, 256, 768, 512, 64 },	/* whole super-blocks */
	{ 2, 288, 800, 512, 96 },	/* fallbacks everywhere */
};

/* FNV-1a 64 of each output file, models[m] x ftypes[f]. */
static const uint64_t digests[2][N_FTYPES] = {
	{
	  0x2d7d718b231b8675ull, 0xaf0f1a92cd978c16ull,
	  0x5f8a773abfdb0984ull, 0x3b72219f124c5ae8ull,
	  0x12383cca23a98758ull, 0x4be115bdd61f2f0dull,
	  0x08595b3a6f623e1cull, 0x9b9f25d4af288a7eull,
	  0xa5a38e5cd156a8b8ull, 0xed36392e4ca66596ull,
	  0xe3e3006394b20d84ull, 0x2a675b31954b08c0ull,
	  0x852d6eeeaef203f7ull, 0x2992dedba2969603ull,
	},
	{
	  0x504e5e02f63bb1afull, 0xd4ed51ecb3b47e3bull,
	  0xd5ea50ca82f725aeull, 0xcf93fabe497ef0e3ull,
	  0x2995c2d9b14809f3ull, 0xd2eaa4b4945926a7ull,
	  0xba9897c76479680cull, 0x7048f3724acded73ull,
	  0x71ea0cdbaa2b8068ull, 0x010697a6826aefe7ull,
	  0x077ea7f3ca1c7089ull, 0xd4aa6473374231f8ull,
	  0xb2928efc80142008ull, 0x07c1153323d9e87cull,
	},
};

static uint64_t fnv_file(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	FILE *f = fopen(path, "rb");
	int c;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		h = (h ^ (uint8_t)c) * 0x100000001b3ull;
	fclose(f);
	return h;
}

static char dir[] = "/tmp/cohete-quant-digest-XXXXXX";

static uint64_t digest_of(const char *model, enum coh_ftype f)
{
	char out[96];
	struct coh_quantize_opts o = { .ftype = f, .threads = 2 };
	struct pep_err err;
	uint64_t h;

	snprintf(out, sizeof(out), "%s/out.gguf", dir);
	if (coh_quantize_file(model, out, &o, &err) != 0) {
		fprintf(stderr, "%s as %s: %s\n", model, coh_ftype_name(f),
			err.msg);
		return 0;
	}
	h = fnv_file(out);
	unlink(out);
	return h;
}

static int print_table(void)
{
	char model[96];

	for (int m = 0; m < 2; m++) {
		snprintf(model, sizeof(model), "%s/m%d.gguf", dir, m);
		if (!synth_model(model, &models[m]))
			return T_ERROR;
		printf("\t{");
		for (size_t f = 0; f < N_FTYPES; f++)
			printf("%s0x%016llxull,", f % 2 ? " " : "\n\t  ",
			       (unsigned long long)digest_of(model, ftypes[f]));
		printf("\n\t},\n");
		unlink(model);
	}
	return T_PASS;
}

static int test_every_tier(void)
{
	char model[96];
	int tiers = 0, rc = T_PASS;

	for (int m = 0; m < 2; m++) {
		snprintf(model, sizeof(model), "%s/m%d.gguf", dir, m);
		CHECK(synth_model(model, &models[m]) != 0);
		for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
			if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
				continue;
			tiers += m == 0;
			for (size_t f = 0; f < N_FTYPES; f++) {
				uint64_t h = digest_of(model, ftypes[f]);

				if (h == digests[m][f])
					continue;
				fprintf(stderr, "model %d as %s on %s: digest "
					"%016llx, expected %016llx\n", m,
					coh_ftype_name(ftypes[f]),
					pep_simd_isa_name((enum pep_simd_isa)isa),
					(unsigned long long)h,
					(unsigned long long)digests[m][f]);
				rc = T_FAIL;
			}
		}
		unlink(model);
	}
	pep_simd_force(pep_simd_best(), NULL);
	fprintf(stderr, "  %d tier(s), 2 models, %zu file types\n", tiers,
		N_FTYPES);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = T_PASS;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return T_ERROR;
	}
	if (argc > 1 && !strcmp(argv[1], "--print"))
		rc = print_table();
	else
		t_run("every_tier", test_every_tier, &rc);
	rmdir(dir);
	return rc;
}
