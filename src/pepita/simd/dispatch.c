/*
 * dispatch.c - choosing the kernel tier once and calling through it.
 *
 * Tables are built lazily per tier (pthread_once each) and never change
 * afterwards. The active table is one atomic pointer: the hot path is an
 * acquire load (a plain load on x86-64), non-NULL after the first call.
 * Forcing a tier stores a new pointer; a kernel already running finishes
 * on the table it loaded.
 *
 * A kernel cannot return an error, and a library neither prints nor
 * exits: when the first call finds PEPITA_SIMD naming a tier it cannot
 * run, the kernels run on the best tier and the reason is kept for
 * pep_simd_refused().
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simd_priv.h"

static const char *const isa_names[PEP_SIMD_ISA_COUNT] = {
	[PEP_SIMD_SCALAR] = "scalar",
	[PEP_SIMD_SSE4] = "sse4",
	[PEP_SIMD_AVX2] = "avx2",
	[PEP_SIMD_AVX512] = "avx512",
	[PEP_SIMD_NEON] = "neon",
};

const char *pep_simd_isa_name(enum pep_simd_isa isa)
{
	if ((unsigned int)isa >= PEP_SIMD_ISA_COUNT)
		return "unknown";
	return isa_names[isa];
}

int pep_simd_isa_parse(const char *text, enum pep_simd_isa *out,
		       struct pep_err *err)
{
	for (int i = 0; i < PEP_SIMD_ISA_COUNT; i++) {
		if (text && strcmp(text, isa_names[i]) == 0) {
			*out = (enum pep_simd_isa)i;
			return 0;
		}
	}
	return pep_err_set(err, -EINVAL,
			   "unknown SIMD tier '%s' (scalar, sse4, avx2, avx512, neon)",
			   text ? text : "");
}

/*
 * The CPU features a tier needs, on the architecture it belongs to. A
 * tier's table holds the tiers below it too (build()), so it needs theirs.
 */
struct tier_needs {
	const char *arch;
	enum pep_cpu_feature feature[8];
	int count;
};

static const struct tier_needs tier_needs[PEP_SIMD_ISA_COUNT] = {
	[PEP_SIMD_SCALAR] = { NULL, { 0 }, 0 },
	[PEP_SIMD_SSE4] = { "x86_64", { PEP_CPU_SSE41 }, 1 },
	[PEP_SIMD_AVX2] = { "x86_64", { PEP_CPU_AVX2, PEP_CPU_FMA, PEP_CPU_F16C,
					PEP_CPU_SSE41 }, 4 },
	[PEP_SIMD_AVX512] = { "x86_64", { PEP_CPU_AVX512F, PEP_CPU_AVX512BW,
					  PEP_CPU_AVX512VL, PEP_CPU_AVX2,
					  PEP_CPU_FMA, PEP_CPU_F16C,
					  PEP_CPU_SSE41 }, 7 },
	[PEP_SIMD_NEON] = { "aarch64", { PEP_CPU_ASIMD }, 1 },
};

int pep_simd_usable(enum pep_simd_isa isa, struct pep_err *err)
{
	const struct tier_needs *t;

	if ((unsigned int)isa >= PEP_SIMD_ISA_COUNT)
		return pep_err_set(err, -EINVAL, "unknown SIMD tier %d", (int)isa);
	t = &tier_needs[isa];
	if (t->arch && strcmp(t->arch, pep_cpu_arch()) != 0)
		return pep_err_set(err, -ENOTSUP,
				   "SIMD tier %s needs an %s CPU, this one is %s",
				   isa_names[isa], t->arch, pep_cpu_arch());
	for (int i = 0; i < t->count; i++)
		if (!pep_cpu_has(t->feature[i]))
			return pep_err_set(err, -ENOTSUP,
					   "SIMD tier %s: this CPU lacks %s",
					   isa_names[isa],
					   pep_cpu_feature_name(t->feature[i]));
	return 0;
}

enum pep_simd_isa pep_simd_best(void)
{
	static const enum pep_simd_isa order[] = {
		PEP_SIMD_AVX512, PEP_SIMD_AVX2, PEP_SIMD_SSE4, PEP_SIMD_NEON,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (pep_simd_usable(order[i], NULL) == 0)
			return order[i];
	return PEP_SIMD_SCALAR;
}

/* ---- tables ------------------------------------------------------------ */

static struct pep__simd_table tables[PEP_SIMD_ISA_COUNT];
static pthread_once_t table_once[PEP_SIMD_ISA_COUNT] = {
	PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
	PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
};

#define FILL(k, t)				\
	do {					\
		pep__simd_vec_##t(k);		\
		pep__simd_cvt_##t(k);		\
		pep__simd_qdot_##t(k);		\
		pep__simd_gemm_##t(k);		\
		pep__simd_peak_##t(k);		\
	} while (0)

static void build(enum pep_simd_isa isa)
{
	struct pep__simd_table *k = &tables[isa];

	FILL(k, scalar);
#if defined(__x86_64__)
	if (isa >= PEP_SIMD_SSE4 && isa <= PEP_SIMD_AVX512)
		FILL(k, sse4);
	if (isa >= PEP_SIMD_AVX2 && isa <= PEP_SIMD_AVX512)
		FILL(k, avx2);
	if (isa == PEP_SIMD_AVX512)
		FILL(k, avx512);
#elif defined(__aarch64__)
	if (isa == PEP_SIMD_NEON)
		FILL(k, neon);
#endif
	k->isa = isa;
}

#define BUILD_FN(i) static void build_##i(void) { build((enum pep_simd_isa)i); }
BUILD_FN(0) BUILD_FN(1) BUILD_FN(2) BUILD_FN(3) BUILD_FN(4)
static void (*const build_fn[PEP_SIMD_ISA_COUNT])(void) = {
	build_0, build_1, build_2, build_3, build_4,
};

const struct pep__simd_table *pep__simd_table(enum pep_simd_isa isa)
{
	if (pep_simd_usable(isa, NULL) != 0)
		return NULL;
	pthread_once(&table_once[isa], build_fn[isa]);
	return &tables[isa];
}

/* ---- the active tier ---------------------------------------------------- */

static _Atomic(const struct pep__simd_table *) active;

/* Why the automatic choice set PEPITA_SIMD aside (code 0: it did not). */
static struct pep_err refused;
static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_active(const struct pep__simd_table *t,
		       const struct pep_err *why)
{
	pthread_mutex_lock(&refused_lock);
	if (why)
		refused = *why;
	else
		pep_err_clear(&refused);
	atomic_store_explicit(&active, t, memory_order_release);
	pthread_mutex_unlock(&refused_lock);
}

static int choose(enum pep_simd_isa *out, struct pep_err *err)
{
	const char *env = getenv("PEPITA_SIMD");
	struct pep_err why;
	int rc;

	if (!env || !*env) {
		*out = pep_simd_best();
		return 0;
	}
	pep_err_clear(&why);
	rc = pep_simd_isa_parse(env, out, &why);
	if (rc == 0)
		rc = pep_simd_usable(*out, &why);
	if (rc != 0)
		return pep_err_set(err, rc, "PEPITA_SIMD=%s refused: %s", env,
				   why.msg);
	return 0;
}

int pep_simd_force(enum pep_simd_isa isa, struct pep_err *err)
{
	const struct pep__simd_table *t;
	int rc = pep_simd_usable(isa, err);

	if (rc != 0)
		return rc;
	t = pep__simd_table(isa);
	set_active(t, NULL);
	return 0;
}

int pep_simd_init(struct pep_err *err)
{
	enum pep_simd_isa isa;
	int rc = choose(&isa, err);

	return rc != 0 ? rc : pep_simd_force(isa, err);
}

static const struct pep__simd_table *first_use(void)
{
	struct pep_err why;

	pep_err_clear(&why);
	if (pep_simd_init(&why) != 0)
		set_active(pep__simd_table(pep_simd_best()), &why);
	return atomic_load_explicit(&active, memory_order_acquire);
}

int pep_simd_refused(struct pep_err *err)
{
	int code;

	pthread_mutex_lock(&refused_lock);
	code = refused.code;
	if (code && err)
		*err = refused;
	pthread_mutex_unlock(&refused_lock);
	return code;
}

const struct pep__simd_table *pep__simd(void)
{
	const struct pep__simd_table *t =
		atomic_load_explicit(&active, memory_order_acquire);

	return t ? t : first_use();
}

enum pep_simd_isa pep_simd_active(void)
{
	return pep__simd()->isa;
}

/* ---- cache-derived limits ----------------------------------------------- */

static size_t stream_bytes;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void find_stream_bytes(void)
{
	long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);

	if (llc <= 0)
		llc = sysconf(_SC_LEVEL2_CACHE_SIZE);
	/* VMs report the L3 of every chiplet summed (512 MiB on a 16-CCD
	 * EPYC); one thread sees one chiplet's, at most 64 MiB today. */
	if (llc <= 0 || llc > (64L << 20))
		llc = llc <= 0 ? 8L << 20 : 64L << 20;
	stream_bytes = (size_t)llc / 2;
}

size_t pep__simd_stream_bytes(void)
{
	pthread_once(&stream_once, find_stream_bytes);
	return stream_bytes;
}

/* ---- threads -------------------------------------------------------------- */

static _Atomic unsigned int threads_set;

void pep_simd_set_threads(unsigned int n)
{
	atomic_store_explicit(&threads_set, n > 256 ? 256 : n, memory_order_relaxed);
}

/* PEPITA_NUM_THREADS or the online CPUs, read once (a file read each). */
static unsigned int threads_default;
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void threads_find_default(void)
{
	const char *env = getenv("PEPITA_NUM_THREADS");
	long cpus;

	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		if (*end == '\0' && v > 0) {
			threads_default = v > 256 ? 256 : (unsigned int)v;
			return;
		}
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	threads_default = cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned int)cpus;
}

unsigned int pep_simd_threads(void)
{
	unsigned int n = atomic_load_explicit(&threads_set, memory_order_relaxed);

	if (n)
		return n;
	pthread_once(&threads_once, threads_find_default);
	return threads_default;
}

/* ---- public entry points ---------------------------------------------------- */

void pep_vadd(float *z, const float *x, const float *y, size_t n)
{
	pep__simd()->add(z, x, y, n);
}

void pep_vsub(float *z, const float *x, const float *y, size_t n)
{
	pep__simd()->sub(z, x, y, n);
}

void pep_vmul(float *z, const float *x, const float *y, size_t n)
{
	pep__simd()->mul(z, x, y, n);
}

void pep_vscale(float *y, const float *x, float a, size_t n)
{
	pep__simd()->scale(y, x, a, n);
}

void pep_vaxpy(float *y, float a, const float *x, size_t n)
{
	pep__simd()->axpy(y, a, x, n);
}

void pep_vfma(float *w, const float *x, const float *y, const float *z, size_t n)
{
	pep__simd()->fma(w, x, y, z, n);
}

float pep_vdot(const float *x, const float *y, size_t n)
{
	return pep__simd()->dot(x, y, n);
}

float pep_vsum(const float *x, size_t n)
{
	return pep__simd()->sum(x, n);
}

float pep_vmax(const float *x, size_t n)
{
	return pep__simd()->max(x, n);
}

size_t pep_vargmax(const float *x, size_t n)
{
	return pep__simd()->argmax(x, n);
}

void pep_vrelu(float *y, const float *x, size_t n)
{
	pep__simd()->relu(y, x, n);
}

void pep_vexp(float *y, const float *x, size_t n)
{
	pep__simd()->exp(y, x, n);
}

void pep_softmax(float *y, const float *x, size_t n)
{
	pep__simd()->softmax(y, x, n);
}

void pep_rmsnorm(float *y, const float *x, const float *w, float eps, size_t n)
{
	pep__simd()->rmsnorm(y, x, w, eps, n);
}

uint16_t pep_f32_to_f16(float f)
{
	return pep__f32_to_f16_scalar(f);
}

float pep_f16_to_f32(uint16_t h)
{
	return pep__f16_to_f32_scalar(h);
}

uint16_t pep_f32_to_bf16(float f)
{
	return pep__f32_to_bf16_scalar(f);
}

float pep_bf16_to_f32(uint16_t h)
{
	return pep__bf16_to_f32_scalar(h);
}

void pep_vf32_to_f16(uint16_t *y, const float *x, size_t n)
{
	pep__simd()->f32_to_f16(y, x, n);
}

void pep_vf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	pep__simd()->f16_to_f32(y, x, n);
}

void pep_vf32_to_bf16(uint16_t *y, const float *x, size_t n)
{
	pep__simd()->f32_to_bf16(y, x, n);
}

void pep_vbf16_to_f32(float *y, const uint16_t *x, size_t n)
{
	pep__simd()->bf16_to_f32(y, x, n);
}

float pep_dot_q4_0_q8_0(const struct pep_block_q4_0 *x,
			const struct pep_block_q8_0 *y, size_t nblocks)
{
	return pep__simd()->dot_q4_0_q8_0(x, y, nblocks);
}

float pep_dot_q8_0_q8_0(const struct pep_block_q8_0 *x,
			const struct pep_block_q8_0 *y, size_t nblocks)
{
	return pep__simd()->dot_q8_0_q8_0(x, y, nblocks);
}

float pep_dot_q4_K_q8_K(const struct pep_block_q4_K *x,
			const struct pep_block_q8_K *y, size_t nblocks)
{
	return pep__simd()->dot_q4_K_q8_K(x, y, nblocks);
}
