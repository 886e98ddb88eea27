/*
 * pepita bench simd: what this machine can do and what pepita's SIMD
 * kernels reach of it, on the active tier (PEPITA_SIMD or the best).
 *
 * The limits come from the library (pep_simd_fma_peak(), one thread, and
 * pep_simd_mem_bandwidth(), read and copy); each kernel is timed on data
 * far larger than the caches and shown next to the limit that binds it:
 * the streaming vector kernels against memory bandwidth (bytes read plus
 * bytes written that the operation cannot avoid), sgemm against the FMA
 * peak times the threads. Each figure is the best of several calls: this
 * is a quick look at a machine, bench/simd is the careful comparison with
 * OpenBLAS. --quick runs tiny sizes for the tests (under a second).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pepita/core.h>
#include <pepita/simd.h>

#include "cmd.h"
#include "json_doc.h"

struct sizes {
	double peak_s;		/* pep_simd_fma_peak() */
	size_t bw_bytes;	/* pep_simd_mem_bandwidth() */
	size_t vec_n;		/* floats per vector array; also conversions */
	size_t q_elems;		/* values per quantized row */
	size_t gemm_n[3];
	size_t gemv_n;
	double min_s;		/* time spent on each figure, at least */
};

static const struct sizes full_sizes = {
	.peak_s = 0.5, .bw_bytes = 512u << 20, .vec_n = 32u << 20,
	.q_elems = 16u << 20, .gemm_n = { 256, 512, 1024 }, .gemv_n = 4096,
	.min_s = 0.2,
};

static const struct sizes quick_sizes = {
	.peak_s = 0.005, .bw_bytes = 4u << 20, .vec_n = 1u << 15,
	.q_elems = 1u << 14, .gemm_n = { 16, 32, 64 }, .gemv_n = 128,
	.min_s = 0.001,
};

enum vec_op { V_ADD, V_DOT, V_SUM, V_SCALE, V_AXPY, V_EXP, V_SOFTMAX, N_VEC };

static const struct {
	const char *name;
	unsigned int floats;	/* floats read + written per element */
	bool read_only;		/* bound by read, not copy, bandwidth */
} vec_ops[N_VEC] = {
	[V_ADD] = { "vadd", 3, false },
	[V_DOT] = { "vdot", 2, true },
	[V_SUM] = { "vsum", 1, true },
	[V_SCALE] = { "vscale", 2, false },
	[V_AXPY] = { "vaxpy", 3, false },
	[V_EXP] = { "vexp", 2, false },
	[V_SOFTMAX] = { "softmax", 2, false },
};

enum cvt_op { C_TO_F16, C_FROM_F16, C_TO_BF16, C_FROM_BF16, N_CVT };

static const char *const cvt_names[N_CVT] = {
	"f32_to_f16", "f16_to_f32", "f32_to_bf16", "bf16_to_f32",
};

enum q_op { Q_4_0, Q_8_0, Q_4_K, N_QDOT };

static const char *const q_names[N_QDOT] = {
	"q4_0_q8_0", "q8_0_q8_0", "q4_K_q8_K",
};

struct results {
	unsigned int threads;
	double peak, bw_read, bw_copy;		/* GFLOP/s, GB/s */
	double vec_gbps[N_VEC];
	double cvt_gelem[N_CVT];
	double q_gelem[N_QDOT];
	double gemm_gflops[3][2];		/* [size][1 thread, all] */
	double gemv_gbps;
};

/* Everything the kernels run on; one allocation each, freed together. */
struct bufs {
	float *x, *y, *z;			/* vec_n each */
	uint16_t *h;				/* vec_n */
	struct pep_block_q4_0 *q4;
	struct pep_block_q8_0 *q8a, *q8b;
	struct pep_block_q4_K *q4k;
	struct pep_block_q8_K *q8k;
	float *a, *b, *c;			/* largest gemm/gemv */
};

struct job {
	const struct sizes *sz;
	struct bufs *b;
	int op;
	size_t n;
	volatile float sink;
};

/* xorshift32 in [-1, 1). */
static float rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (float)(*s >> 8) / (float)(1u << 23) - 1.0f;
}

static void fill(float *v, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		v[i] = rnd(&seed);
}

static void fill_quant(struct bufs *b, size_t elems)
{
	uint32_t s = 7;

	for (size_t i = 0; i < elems / PEP_QK8_0; i++) {
		b->q4[i].d = b->q8a[i].d = b->q8b[i].d = pep_f32_to_f16(0.01f);
		for (int j = 0; j < PEP_QK8_0; j++) {
			b->q8a[i].qs[j] = (int8_t)(rnd(&s) * 127);
			b->q8b[i].qs[j] = (int8_t)(rnd(&s) * 127);
			if (j < PEP_QK4_0 / 2)
				b->q4[i].qs[j] = (uint8_t)(rnd(&s) * 128 + 128);
		}
	}
	for (size_t i = 0; i < elems / PEP_QK_K; i++) {
		struct pep_block_q8_K *y = &b->q8k[i];

		b->q4k[i].d = pep_f32_to_f16(0.01f);
		b->q4k[i].dmin = pep_f32_to_f16(0.002f);
		for (int j = 0; j < 12; j++)
			b->q4k[i].scales[j] = (uint8_t)(rnd(&s) * 128 + 128);
		for (int j = 0; j < PEP_QK_K / 2; j++)
			b->q4k[i].qs[j] = (uint8_t)(rnd(&s) * 128 + 128);
		y->d = 0.01f;
		memset(y->bsums, 0, sizeof(y->bsums));
		for (int j = 0; j < PEP_QK_K; j++) {
			y->qs[j] = (int8_t)(rnd(&s) * 127);
			y->bsums[j / 16] = (int16_t)(y->bsums[j / 16] + y->qs[j]);
		}
	}
}

static void *alloc(size_t bytes)
{
	return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static void bufs_free(struct bufs *b)
{
	free(b->x);
	free(b->y);
	free(b->z);
	free(b->h);
	free(b->q4);
	free(b->q8a);
	free(b->q8b);
	free(b->q4k);
	free(b->q8k);
	free(b->a);
	free(b->b);
	free(b->c);
}

static int bufs_alloc(struct bufs *b, const struct sizes *sz)
{
	size_t n = sz->vec_n, qb = sz->q_elems / PEP_QK8_0;
	size_t kb = sz->q_elems / PEP_QK_K, m = sz->gemm_n[2];

	if (sz->gemv_n > m)
		m = sz->gemv_n;
	memset(b, 0, sizeof(*b));
	b->x = alloc(n * sizeof(float));
	b->y = alloc(n * sizeof(float));
	b->z = alloc(n * sizeof(float));
	b->h = alloc(n * sizeof(uint16_t));
	b->q4 = alloc(qb * sizeof(*b->q4));
	b->q8a = alloc(qb * sizeof(*b->q8a));
	b->q8b = alloc(qb * sizeof(*b->q8b));
	b->q4k = alloc(kb * sizeof(*b->q4k));
	b->q8k = alloc(kb * sizeof(*b->q8k));
	b->a = alloc(m * m * sizeof(float));
	b->b = alloc(m * m * sizeof(float));
	b->c = alloc(m * m * sizeof(float));
	if (!b->x || !b->y || !b->z || !b->h || !b->q4 || !b->q8a || !b->q8b ||
	    !b->q4k || !b->q8k || !b->a || !b->b || !b->c) {
		bufs_free(b);
		return -ENOMEM;
	}
	/* Written now, so no timed call takes a page fault. */
	fill(b->x, n, 1);
	fill(b->y, n, 2);
	fill(b->z, n, 3);
	pep_vf32_to_f16(b->h, b->x, n);
	fill_quant(b, sz->q_elems);
	fill(b->a, m * m, 4);
	fill(b->b, m * m, 5);
	fill(b->c, m * m, 6);
	return 0;
}

/* Best seconds per call of fn over calls taking min_s in all (3 at least). */
static double best_seconds(void (*fn)(struct job *), struct job *j,
			   double min_s)
{
	uint64_t start = pep_time_ns(), t0, dt, best = UINT64_MAX;
	int calls = 0;

	do {
		t0 = pep_time_ns();
		fn(j);
		dt = pep_time_ns() - t0;
		if (dt < best)
			best = dt;
		calls++;
	} while (calls < 3 || (double)(pep_time_ns() - start) < min_s * 1e9);
	return best ? (double)best / 1e9 : 1e-9;
}

static void run_vec(struct job *j)
{
	struct bufs *b = j->b;
	size_t n = j->n;

	switch ((enum vec_op)j->op) {
	case V_ADD: pep_vadd(b->z, b->x, b->y, n); break;
	case V_DOT: j->sink = pep_vdot(b->x, b->y, n); break;
	case V_SUM: j->sink = pep_vsum(b->x, n); break;
	case V_SCALE: pep_vscale(b->z, b->x, 0.5f, n); break;
	case V_AXPY: pep_vaxpy(b->y, 1e-6f, b->x, n); break;
	case V_EXP: pep_vexp(b->z, b->x, n); break;
	case V_SOFTMAX: pep_softmax(b->z, b->x, n); break;
	case N_VEC: break;
	}
}

static void run_cvt(struct job *j)
{
	struct bufs *b = j->b;

	switch ((enum cvt_op)j->op) {
	case C_TO_F16: pep_vf32_to_f16(b->h, b->x, j->n); break;
	case C_FROM_F16: pep_vf16_to_f32(b->z, b->h, j->n); break;
	case C_TO_BF16: pep_vf32_to_bf16(b->h, b->x, j->n); break;
	case C_FROM_BF16: pep_vbf16_to_f32(b->z, b->h, j->n); break;
	case N_CVT: break;
	}
}

static void run_qdot(struct job *j)
{
	struct bufs *b = j->b;
	size_t nb = j->n / PEP_QK8_0;

	switch ((enum q_op)j->op) {
	case Q_4_0: j->sink = pep_dot_q4_0_q8_0(b->q4, b->q8a, nb); break;
	case Q_8_0: j->sink = pep_dot_q8_0_q8_0(b->q8a, b->q8b, nb); break;
	case Q_4_K:
		j->sink = pep_dot_q4_K_q8_K(b->q4k, b->q8k, j->n / PEP_QK_K);
		break;
	case N_QDOT: break;
	}
}

static void run_gemm(struct job *j)
{
	size_t n = j->n;

	pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, n, n, n, 1.0f,
		  j->b->a, n, j->b->b, n, 0.0f, j->b->c, n);
}

static void run_gemv(struct job *j)
{
	size_t n = j->n;

	pep_sgemv(PEP_ROW_MAJOR, PEP_NO_TRANS, n, n, 1.0f, j->b->a, n,
		  j->b->b, 1, 0.0f, j->b->c, 1);
}

static void measure_kernels(struct job *j, struct results *r)
{
	const struct sizes *sz = j->sz;
	double s;

	j->n = sz->vec_n;
	for (j->op = 0; j->op < N_VEC; j->op++) {
		s = best_seconds(run_vec, j, sz->min_s);
		r->vec_gbps[j->op] = vec_ops[j->op].floats * 4.0 * j->n / s / 1e9;
	}
	for (j->op = 0; j->op < N_CVT; j->op++)
		r->cvt_gelem[j->op] = j->n / best_seconds(run_cvt, j, sz->min_s) / 1e9;
	j->n = sz->q_elems;
	for (j->op = 0; j->op < N_QDOT; j->op++)
		r->q_gelem[j->op] = j->n / best_seconds(run_qdot, j, sz->min_s) / 1e9;
	for (int i = 0; i < 3; i++) {
		j->n = sz->gemm_n[i];
		for (int t = 0; t < 2; t++) {
			pep_simd_set_threads(t == 0 ? 1 : 0);
			s = best_seconds(run_gemm, j, sz->min_s);
			r->gemm_gflops[i][t] = 2.0 * j->n * j->n * j->n / s / 1e9;
		}
	}
	j->n = sz->gemv_n;
	s = best_seconds(run_gemv, j, sz->min_s);
	r->gemv_gbps = 4.0 * j->n * j->n / s / 1e9;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

static double vec_limit(const struct results *r, int op)
{
	return vec_ops[op].read_only ? r->bw_read : r->bw_copy;
}

static int print_text(const struct sizes *sz, const struct results *r)
{
	printf("tier:        %s\n", pep_simd_isa_name(pep_simd_active()));
	printf("threads:     %u (sgemm, sgemv)\n", r->threads);
	printf("fma peak:    %.1f GFLOP/s (1 thread)\n", r->peak);
	printf("memory read: %.1f GB/s (1 thread)\n", r->bw_read);
	printf("memory copy: %.1f GB/s (1 thread, bytes read + written)\n",
	       r->bw_copy);
	printf("vector kernels, %zu floats, 1 thread:\n", sz->vec_n);
	for (int i = 0; i < N_VEC; i++)
		printf("   %-12s %7.1f GB/s  %5.1f%% of %s bandwidth\n",
		       vec_ops[i].name, r->vec_gbps[i],
		       pct(r->vec_gbps[i], vec_limit(r, i)),
		       vec_ops[i].read_only ? "read" : "copy");
	printf("conversions, %zu values:\n", sz->vec_n);
	for (int i = 0; i < N_CVT; i++)
		printf("   %-12s %7.2f Gelem/s\n", cvt_names[i], r->cvt_gelem[i]);
	printf("quantized dots, %zu values:\n", sz->q_elems);
	for (int i = 0; i < N_QDOT; i++)
		printf("   %-12s %7.2f Gelem/s\n", q_names[i], r->q_gelem[i]);
	printf("sgemm, square, row-major:\n");
	for (int i = 0; i < 3; i++) {
		printf("   n=%-5zu t=1   %7.1f GFLOP/s  %5.1f%% of peak\n",
		       sz->gemm_n[i], r->gemm_gflops[i][0],
		       pct(r->gemm_gflops[i][0], r->peak));
		printf("   n=%-5zu t=%-3u %7.1f GFLOP/s  %5.1f%% of peak x %u\n",
		       sz->gemm_n[i], r->threads, r->gemm_gflops[i][1],
		       pct(r->gemm_gflops[i][1], r->peak * r->threads),
		       r->threads);
	}
	printf("sgemv %zux%zu, t=%u: %.1f GB/s  %.1f%% of read bandwidth\n",
	       sz->gemv_n, sz->gemv_n, r->threads, r->gemv_gbps,
	       pct(r->gemv_gbps, r->bw_read));
	return CMD_EXIT_OK;
}

/* A figure, or null where it could not be measured (0). */
static json_t *num(double v)
{
	return v > 0 ? json_real(v) : json_null();
}

static json_t *json_named(const char *const *names, const double *v, int n,
			  const char *key)
{
	json_t *obj = json_object();

	for (int i = 0; obj && i < n; i++) {
		if (json_object_set_new(obj, names[i],
					json_pack("{s:o}", key, num(v[i])))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *json_vec(const struct results *r)
{
	json_t *obj = json_object();

	for (int i = 0; obj && i < N_VEC; i++) {
		if (json_object_set_new(obj, vec_ops[i].name, json_pack(
				"{s:o, s:o, s:s}",
				"gb_per_s", num(r->vec_gbps[i]),
				"bandwidth_percent",
				num(pct(r->vec_gbps[i], vec_limit(r, i))),
				"bandwidth", vec_ops[i].read_only ?
					"read" : "copy"))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *json_gemm(const struct sizes *sz, const struct results *r)
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < 6; i++) {
		unsigned int t = i % 2 ? r->threads : 1;
		double g = r->gemm_gflops[i / 2][i % 2];

		if (json_array_append_new(arr, json_pack("{s:I, s:I, s:o, s:o}",
				"row_count", (json_int_t)sz->gemm_n[i / 2],
				"thread_count", (json_int_t)t, "gflops", num(g),
				"peak_percent", num(pct(g, r->peak * t))))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *json_sgemv(const struct sizes *sz, const struct results *r)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:o}",
			 "row_count", (json_int_t)sz->gemv_n,
			 "column_count", (json_int_t)sz->gemv_n,
			 "thread_count", (json_int_t)r->threads,
			 "gb_per_s", num(r->gemv_gbps),
			 "bandwidth_percent", num(pct(r->gemv_gbps, r->bw_read)));
}

/*
 * Schema pepita.bench.simd/2 (docs/pepita.1, JSON OUTPUT); the timestamp
 * is when the measurement started.
 */
static int print_json(const struct sizes *sz, const struct results *r,
		      int64_t start_ms)
{
	/* "o" steals the references, also when json_pack fails. */
	json_t *body = json_pack("{s:s, s:I, s:o, s:o, s:o, s:{s:I, s:o},"
				 " s:{s:I, s:o}, s:{s:I, s:o}, s:o, s:o}",
			"tier", pep_simd_isa_name(pep_simd_active()),
			"thread_count", (json_int_t)r->threads,
			"fma_peak_gflops", num(r->peak),
			"mem_read_gb_per_s", num(r->bw_read),
			"mem_copy_gb_per_s", num(r->bw_copy),
			"vector", "element_count", (json_int_t)sz->vec_n,
				"kernels", json_vec(r),
			"convert", "element_count", (json_int_t)sz->vec_n,
				"kernels", json_named(cvt_names, r->cvt_gelem,
						      N_CVT, "gelem_per_s"),
			"qdot", "element_count", (json_int_t)sz->q_elems,
				"kernels", json_named(q_names, r->q_gelem,
						      N_QDOT, "gelem_per_s"),
			"sgemm", json_gemm(sz, r),
			"sgemv", json_sgemv(sz, r));

	return cli_json_print(cli_json_merge(cli_json_doc("pepita.bench.simd/2",
							  start_ms), body));
}

static int bench_simd_run(const struct sizes *sz, bool json)
{
	struct results r = { 0 };
	struct bufs b;
	struct job j = { .sz = sz, .b = &b };
	int64_t start_ms = pep_time_real_ms();

	if (bufs_alloc(&b, sz) < 0) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	pep_simd_set_threads(0);
	r.threads = pep_simd_threads();
	r.peak = pep_simd_fma_peak(sz->peak_s);
	r.bw_read = pep_simd_mem_bandwidth(sz->bw_bytes, 0);
	r.bw_copy = pep_simd_mem_bandwidth(sz->bw_bytes, 1);
	measure_kernels(&j, &r);
	pep_simd_set_threads(0);
	bufs_free(&b);
	return json ? print_json(sz, &r, start_ms) : print_text(sz, &r);
}

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: pepita bench <what> [options]\n\n"
		"benchmarks:\n"
		"   simd       the SIMD kernels against this CPU's limits\n\n"
		"See 'pepita bench <what> --help'.\n");
}

static void simd_usage(FILE *out)
{
	fprintf(out, "usage: pepita bench simd [--quick] [--json]\n\n"
		"Measure this CPU on the active SIMD tier (PEPITA_SIMD, else the\n"
		"best): one thread's FMA peak and memory bandwidth (read, copy),\n"
		"and what pepita's kernels reach of them: vector ops, fp16/bf16\n"
		"conversion, GGML quantized dots, sgemm (1 thread and all) and\n"
		"sgemv. Takes about ten seconds and 1 GiB of memory; exits 2\n"
		"when PEPITA_SIMD names an unknown tier or one this CPU lacks.\n\n"
		"   --quick    tiny sizes and short times (a smoke test)\n"
		"   --json     print one JSON document instead of text\n"
		"   -h, --help show this help\n");
}

static int cmd_bench_simd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pep_err err;
	bool json = false, quick = false;
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'h') {
			simd_usage(stdout);
			return CMD_EXIT_OK;
		}
		if (c == '?')
			return CMD_EXIT_USAGE;
		*(c == 'j' ? &json : &quick) = true;
	}
	if (optind < argc) {
		cli_error("unknown argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	/* Before any kernel: under a refused PEPITA_SIMD they would run on
	   another tier than the one asked for; stop here instead. */
	pep_err_clear(&err);
	if (pep_simd_init(&err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_USAGE;
	}
	return bench_simd_run(quick ? &quick_sizes : &full_sizes, json);
}

static const struct cmd benches[] = {
	{ "simd", cmd_bench_simd, "the SIMD kernels against this CPU's limits" },
};

int cmd_bench(int argc, char **argv)
{
	static const struct cli_level level = {
		.kind = "benchmark", .cmds = benches,
		.count = CLI_ARRAY_SIZE(benches), .usage = bench_usage,
	};

	return cli_dispatch(&level, argc, argv);
}
