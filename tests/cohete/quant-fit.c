/*
 * quant-fit.c - memory estimates per quantization level and the choice of
 * a level for a budget.
 *
 * The weights of a Llama-3-8B layout are checked against llama-quantize's
 * own file sizes for that model (ggml-quants.md §8.5), the KV cache
 * against llama-server's (openai-api.md §6.1). Then a property over many
 * random model shapes and budgets: the level chosen always fits, no
 * better level would have, and "does not fit" only when the smallest
 * level does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>

#include "harness.h"
#include "model-shape.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static struct model m8b;

/* llama-quantize's Llama-3-8B files (GiB), less the metadata: within 1%. */
static int test_llama3_8b(void)
{
	static const struct {
		enum coh_ftype f;
		double gib;
	} sizes[] = {
		{ COH_FTYPE_Q4_0, 4.34 }, { COH_FTYPE_Q4_K_M, 4.58 },
		{ COH_FTYPE_Q5_K_M, 5.33 }, { COH_FTYPE_Q6_K, 6.14 },
		{ COH_FTYPE_Q8_0, 7.96 },
	};
	struct coh_quant_target t = { .budget_bytes = UINT64_MAX, .context = 4096 };
	struct coh_quant_estimate e;

	llama(&m8b, 32, 4096, 14336, 128256, 32, 8, false);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double got;

		CHECK(coh_quant_estimate(&m8b.shape, sizes[i].f, &t, &e, NULL) == 0);
		got = (double)e.weights / GIB;
		if (got < sizes[i].gib * 0.99 || got > sizes[i].gib * 1.01) {
			fprintf(stderr, "%s: %.3f GiB, llama-quantize %.2f\n",
				coh_ftype_name(sizes[i].f), got, sizes[i].gib);
			return T_FAIL;
		}
	}
	/* f16 KV: 128 KiB a token, 512 MiB at 4096 tokens. */
	CHECK(e.kv == 512ull << 20);
	t.parallel = 2;
	CHECK(coh_quant_estimate(&m8b.shape, COH_FTYPE_Q8_0, &t, &e, NULL) == 0);
	CHECK(e.kv == 1024ull << 20);
	CHECK(e.runtime == COH_QUANT_RUNTIME_BYTES);
	CHECK(e.total == e.weights + e.kv + e.compute + e.runtime);
	CHECK(e.compute > 0);
	return T_PASS;
}

/* A budget just at a level's total picks it; a byte less does not. */
static int test_edges(void)
{
	struct coh_quant_target t = { .context = 2048 };
	struct coh_quant_estimate e, all[16];
	struct pep_err err;
	enum coh_ftype best;

	CHECK(coh_quant_estimate(&m8b.shape, COH_FTYPE_Q5_K_M, &t, &e, NULL) == 0);
	t.budget_bytes = e.total;
	CHECK(coh_quant_choose(&m8b.shape, &t, &best, all, NULL) == 0);
	CHECK(best == COH_FTYPE_Q5_K_M);	/* Q5 over Q4 when Q5 fits */
	t.budget_bytes = e.total - 1;
	CHECK(coh_quant_choose(&m8b.shape, &t, &best, all, NULL) == 0);
	CHECK(best == COH_FTYPE_Q5_K_S);
	CHECK(all[2].ftype == COH_FTYPE_Q5_K_M && !all[2].fits);
	/* Nothing fits: say what the smallest needs. */
	t.budget_bytes = 1ull << 30;
	pep_err_clear(&err);
	CHECK(coh_quant_choose(&m8b.shape, &t, &best, NULL, &err) == -ENOSPC);
	CHECK(strstr(err.msg, "Q2_K, needs") && strstr(err.msg, "fits 1024 MiB"));
	return T_PASS;
}

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* Many shapes and budgets: never a level that does not fit. */
static int test_property(void)
{
	static struct model md;
	size_t ladder_len;
	const enum coh_ftype *ladder = coh_quant_ladder(&ladder_len);

	for (int iter = 0; iter < 300; iter++) {
		unsigned int heads = 1u << rnd(6), kv = heads >> rnd(3);
		uint64_t embd = heads * 32 * (1 + rnd(8)), ff = embd * (2 + rnd(3));
		struct coh_quant_estimate est[16];
		struct coh_quant_target t = {
			.context = (uint32_t)(256 << rnd(6)),
			.parallel = (uint32_t)(1 + rnd(4)),
			.budget_bytes = rnd(64ull << 30),
		};
		enum coh_ftype best;
		int rc;

		llama(&md, 1 + (unsigned int)rnd(80), embd, ff,
		      1000 + rnd(150000), heads, kv ? kv : 1, rnd(2));
		rc = coh_quant_choose(&md.shape, &t, &best, est, NULL);
		CHECK(rc == 0 || rc == -ENOSPC);
		if (rc == -ENOSPC) {
			for (size_t i = 0; i < ladder_len; i++)
				CHECK(est[i].total > t.budget_bytes);
			continue;
		}
		for (size_t i = 0; i < ladder_len; i++) {
			CHECK(est[i].ftype == ladder[i]);
			if (ladder[i] == best) {
				CHECK(est[i].fits && est[i].total <= t.budget_bytes);
				break;
			}
			CHECK(!est[i].fits && est[i].total > t.budget_bytes);
		}
	}
	return T_PASS;
}

/* Rows that no 32-element block divides: llama-quantize refuses them. */
static int test_refused(void)
{
	static struct model md;
	struct coh_quant_target t = { .budget_bytes = UINT64_MAX };
	struct coh_quant_estimate e;
	struct pep_err err;

	llama(&md, 2, 100, 300, 1000, 4, 4, false);
	pep_err_clear(&err);
	CHECK(coh_quant_estimate(&md.shape, COH_FTYPE_Q4_0, &t, &e, &err) == -EINVAL);
	CHECK(strstr(err.msg, "token_embd.weight") || strstr(err.msg, "output.weight"));
	/* The K mixes would fall back to F16 for most tensors, but the
	 * output tensor's Q8_0 cannot take such rows either. */
	pep_err_clear(&err);
	CHECK(coh_quant_estimate(&md.shape, COH_FTYPE_Q4_K_M, &t, &e, &err) == -EINVAL);
	CHECK(strstr(err.msg, "output.weight") != NULL);
	/* Not quantized: F16 takes any row. */
	CHECK(coh_quant_estimate(&md.shape, COH_FTYPE_F16, &t, &e, NULL) == 0);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("Llama-3-8B sizes", test_llama3_8b, &rc);
	t_run("budget edges, nothing fits", test_edges, &rc);
	t_run("random shapes and budgets", test_property, &rc);
	t_run("refused rows", test_refused, &rc);
	return rc;
}
