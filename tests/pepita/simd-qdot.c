/*
 * simd-qdot.c - every SIMD tier's quantized block dots against a double
 * precision model computed here from the block definitions, within the
 * header's bound: nblocks 2^-23 sum|block terms| (plus a tiny absolute
 * slack). Random blocks with a fixed seed, fp16 scales including zero
 * and subnormals, some blocks all at the extreme quants (-128, 127,
 * nibbles 0 and 15), block arrays that start off the cache-line grid.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/simd.h>

#include "harness.h"

#define BIG 2048		/* the large block count */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* An fp16 scale: mostly normal around 1, sometimes 0 or subnormal. */
static uint16_t rnd_fp16(void)
{
	uint32_t r = rnd();
	uint16_t sign = (r & 1) ? 0x8000 : 0;

	switch ((r >> 1) % 10) {
	case 0:
		return sign;
	case 1:
		return sign | (uint16_t)(1 + (r >> 8) % 0x3ff);
	default:
		return sign | (uint16_t)((8 + (r >> 8) % 14) << 10 |
					 (r >> 16) % 0x400);
	}
}

/* Random bytes, or (one block in eight) only the two extremes given. */
static void rnd_bytes(uint8_t *p, size_t n, uint8_t lo, uint8_t hi)
{
	int extreme = rnd() % 8 == 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t r = rnd();

		p[i] = extreme ? ((r & 1) ? hi : lo) : (uint8_t)r;
	}
}

static void fill_q8_0(struct pep_block_q8_0 *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		b[i].d = rnd_fp16();
		rnd_bytes((uint8_t *)b[i].qs, sizeof(b[i].qs), 0x80, 0x7f);
	}
}

static void fill_q4_0(struct pep_block_q4_0 *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		b[i].d = rnd_fp16();
		rnd_bytes(b[i].qs, sizeof(b[i].qs), 0x00, 0xff);
	}
}

static void fill_q4_K(struct pep_block_q4_K *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		b[i].d = rnd_fp16();
		b[i].dmin = rnd_fp16();
		rnd_bytes(b[i].scales, sizeof(b[i].scales), 0x00, 0xff);
		rnd_bytes(b[i].qs, sizeof(b[i].qs), 0x00, 0xff);
	}
}

static void fill_q8_K(struct pep_block_q8_K *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		b[i].d = (float)(rnd() % 100000 + 1) * 1e-5f *
			 ((rnd() & 1) ? -1.0f : 1.0f);
		rnd_bytes((uint8_t *)b[i].qs, sizeof(b[i].qs), 0x80, 0x7f);
		for (int g = 0; g < PEP_QK_K / 16; g++) {
			int s = 0;

			for (int l = 0; l < 16; l++)
				s += b[i].qs[16 * g + l];
			b[i].bsums[g] = (int16_t)s;
		}
	}
}

/* The model: exact terms in double, and the sum of their magnitudes. */
struct model {
	double sum, abs;
};

static void add_term(struct model *m, double t)
{
	m->sum += t;
	m->abs += fabs(t);
}

static struct model model_q4_0(const struct pep_block_q4_0 *x,
			       const struct pep_block_q8_0 *y, size_t nb)
{
	struct model m = { 0, 0 };

	for (size_t i = 0; i < nb; i++) {
		long s = 0;

		for (int j = 0; j < 32; j++) {
			int q = j < 16 ? x[i].qs[j] & 15 : x[i].qs[j - 16] >> 4;

			s += (long)(q - 8) * y[i].qs[j];
		}
		add_term(&m, (double)pep_f16_to_f32(x[i].d) *
			     pep_f16_to_f32(y[i].d) * s);
	}
	return m;
}

static struct model model_q8_0(const struct pep_block_q8_0 *x,
			       const struct pep_block_q8_0 *y, size_t nb)
{
	struct model m = { 0, 0 };

	for (size_t i = 0; i < nb; i++) {
		long s = 0;

		for (int j = 0; j < 32; j++)
			s += (long)x[i].qs[j] * y[i].qs[j];
		add_term(&m, (double)pep_f16_to_f32(x[i].d) *
			     pep_f16_to_f32(y[i].d) * s);
	}
	return m;
}

/* Sub-block j's 6-bit scale and min, from the packing rule itself. */
static void unpack_k4(const uint8_t *s, int j, int *sc, int *mn)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*mn = s[j + 4] & 63;
		return;
	}
	*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
	*mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
}

static void model_super_k(struct model *m, const struct pep_block_q4_K *x,
			  const struct pep_block_q8_K *y)
{
	double d = (double)y->d * pep_f16_to_f32(x->d);
	double dmin = (double)y->d * pep_f16_to_f32(x->dmin);

	for (int j = 0; j < 8; j++) {
		long sq = 0, sy = 0;
		int sc, mn;

		for (int l = 0; l < 32; l++) {
			int e = 32 * j + l;
			uint8_t b = x->qs[(e / 64) * 32 + e % 32];
			int q = (e % 64) < 32 ? b & 15 : b >> 4;

			sq += (long)q * y->qs[e];
			sy += y->qs[e];
		}
		unpack_k4(x->scales, j, &sc, &mn);
		add_term(m, d * sc * sq);
		add_term(m, -dmin * mn * sy);
	}
}

static struct model model_q4_K(const struct pep_block_q4_K *x,
			       const struct pep_block_q8_K *y, size_t nb)
{
	struct model m = { 0, 0 };

	for (size_t i = 0; i < nb; i++)
		model_super_k(&m, &x[i], &y[i]);
	return m;
}

static int within(const char *what, size_t nb, float got, struct model m)
{
	double bound = (double)nb * 0x1p-23 * m.abs + 1e-30;

	if (fabs((double)got - m.sum) <= bound)
		return T_PASS;
	fprintf(stderr, "%s: %zu blocks: got %.9g, want %.9g (bound %.3g)\n",
		what, nb, got, m.sum, bound);
	return T_FAIL;
}

/* Block arrays 2 (or, for q8_K's float, 4) bytes past a 64-byte line. */
static void *buffer(size_t bytes, size_t skew, void **base)
{
	*base = aligned_alloc(64, (bytes + skew + 63) / 64 * 64 + 64);
	return *base ? (char *)*base + skew : NULL;
}

static int run_q4_0(size_t nb)
{
	void *bx, *by;
	struct pep_block_q4_0 *x = buffer(nb * sizeof(*x), 2, &bx);
	struct pep_block_q8_0 *y = buffer(nb * sizeof(*y), 2, &by);
	int rc;

	CHECK(x && y);
	fill_q4_0(x, nb);
	fill_q8_0(y, nb);
	rc = within("q4_0 x q8_0", nb, pep_dot_q4_0_q8_0(x, y, nb),
		    model_q4_0(x, y, nb));
	free(bx);
	free(by);
	return rc;
}

static int run_q8_0(size_t nb)
{
	void *bx, *by;
	struct pep_block_q8_0 *x = buffer(nb * sizeof(*x), 2, &bx);
	struct pep_block_q8_0 *y = buffer(nb * sizeof(*y), 2, &by);
	int rc;

	CHECK(x && y);
	fill_q8_0(x, nb);
	fill_q8_0(y, nb);
	rc = within("q8_0 x q8_0", nb, pep_dot_q8_0_q8_0(x, y, nb),
		    model_q8_0(x, y, nb));
	free(bx);
	free(by);
	return rc;
}

static int run_q4_K(size_t nb)
{
	void *bx, *by;
	struct pep_block_q4_K *x = buffer(nb * sizeof(*x), 2, &bx);
	struct pep_block_q8_K *y = buffer(nb * sizeof(*y), 4, &by);
	int rc;

	CHECK(x && y);
	fill_q4_K(x, nb);
	fill_q8_K(y, nb);
	rc = within("q4_K x q8_K", nb, pep_dot_q4_K_q8_K(x, y, nb),
		    model_q4_K(x, y, nb));
	free(bx);
	free(by);
	return rc;
}

static int sweep(int (*run)(size_t nb), size_t big)
{
	for (size_t nb = 0; nb <= 40; nb++)
		for (int rep = 0; rep < 16; rep++)
			CHECK(run(nb) == T_PASS);
	CHECK(run(big) == T_PASS);
	return T_PASS;
}

static int test_q4_0(void)
{
	return sweep(run_q4_0, BIG);
}

static int test_q8_0(void)
{
	return sweep(run_q8_0, BIG);
}

static int test_q4_K(void)
{
	return sweep(run_q4_K, BIG / 8);
}

/* All-extreme blocks, where a saturating shortcut would show. */
static int test_extremes(void)
{
	struct pep_block_q8_0 a[3], b[3];
	struct pep_block_q4_0 c[3];

	for (int i = 0; i < 3; i++) {
		a[i].d = b[i].d = c[i].d = 0x3c00;
		memset(a[i].qs, 0x80, sizeof(a[i].qs));
		memset(b[i].qs, 0x80, sizeof(b[i].qs));
		memset(c[i].qs, 0x00, sizeof(c[i].qs));
	}
	CHECK(pep_dot_q8_0_q8_0(a, b, 3) == 3.0f * 32 * 128 * 128);
	CHECK(pep_dot_q4_0_q8_0(c, b, 3) == 3.0f * 32 * 8 * 128);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS, ran = 0;

	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		fprintf(stderr, "tier %s\n", pep_simd_isa_name(isa));
		rng_state = 0x9e3779b97f4a7c15ull;
		t_run("extremes", test_extremes, &rc);
		t_run("q4_0 x q8_0", test_q4_0, &rc);
		t_run("q8_0 x q8_0", test_q8_0, &rc);
		t_run("q4_K x q8_K", test_q4_K, &rc);
		ran++;
	}
	if (ran < 2 && pep_simd_best() != PEP_SIMD_SCALAR) {
		fprintf(stderr, "only %d tier(s) ran\n", ran);
		rc = T_FAIL;
	}
	return rc;
}
