/*
 * simd-vec.c - every SIMD tier's f32 vector kernels against a double
 * precision model computed here, within the bounds pepita/simd.h states:
 * bit for bit where it says exact, otherwise the stated error. Lengths
 * 0..257 and two large ones (the larger past every streaming-store
 * threshold) at 1..3 floats off a 64-byte boundary, outputs aliasing each
 * input exactly, NaN and infinities at the start, middle and end. Guard
 * floats on both sides of every array catch stray writes, and inputs that
 * are not outputs must come back unchanged. exp gets a dense sweep of
 * [-104, 89] plus the neighbourhoods of its overflow and underflow points.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/simd.h>

#include "harness.h"

#define NSMALL 257
#define NLARGE 100003
#define NHUGE ((32u << 20) / 4 + 5)	/* stream threshold: at most 32 MiB */
#define GUARD 32			/* floats checked either side */
#define ALIGN 64
#define SWEEP (1u << 20)
#define MAX_REPORTS 10

enum kind { EXACT, AXPYLIKE, REDUCE, MAXLIKE, EXP, SOFTMAX, RMSNORM };

/*
 * Slot 0 is the output, slots 1..nin the inputs in call order (axpy also
 * reads slot 0: y += a x). A case may make the output alias any input.
 */
enum kern {
	K_ADD, K_SUB, K_MUL, K_SCALE, K_AXPY, K_FMA, K_DOT, K_SUM, K_MAX,
	K_ARGMAX, K_RELU, K_EXP, K_SOFTMAX, K_RMSNORM, K_COUNT
};

struct kern_info {
	const char *name;
	enum kind kind;
	int nin;		/* input slots 1..nin */
	int has_out;
};

static const struct kern_info kinfo[K_COUNT] = {
	[K_ADD] = { "vadd", EXACT, 2, 1 },
	[K_SUB] = { "vsub", EXACT, 2, 1 },
	[K_MUL] = { "vmul", EXACT, 2, 1 },
	[K_SCALE] = { "vscale", EXACT, 1, 1 },
	[K_AXPY] = { "vaxpy", AXPYLIKE, 1, 1 },
	[K_FMA] = { "vfma", AXPYLIKE, 3, 1 },
	[K_DOT] = { "vdot", REDUCE, 2, 0 },
	[K_SUM] = { "vsum", REDUCE, 1, 0 },
	[K_MAX] = { "vmax", MAXLIKE, 1, 0 },
	[K_ARGMAX] = { "vargmax", MAXLIKE, 1, 0 },
	[K_RELU] = { "vrelu", EXACT, 1, 1 },
	[K_EXP] = { "vexp", EXP, 1, 1 },
	[K_SOFTMAX] = { "softmax", SOFTMAX, 1, 1 },
	[K_RMSNORM] = { "rmsnorm", RMSNORM, 2, 1 },
};

/* One call: where its arrays are and what they held before it. */
struct tcase {
	enum kern k;
	size_t n, off;
	int alias;		/* 0: own output; j: output is slot j */
	int w_null;		/* rmsnorm without weights */
	float a;
	float *buf[4];		/* aligned storage, off + n + GUARD each */
	float *c[4];		/* copies of the slots before the call */
	float fret;
	size_t zret;
};

static const char *tier;
static int reports;

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (rnd() / 4294967296.0);
}

static uint32_t bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Guard floats: a signalling NaN no kernel produces. */
static const uint32_t guard_bits = 0x7f8a5a5a;

/* Any float pattern: signed zeros, subnormals, huge, everyday. */
static float rnd_wide(void)
{
	uint32_t r = rnd(), sign = (r & 1) << 31;

	switch ((r >> 1) % 32) {
	case 0:
		return from_bits(sign);
	case 1:
		return from_bits(sign | (rnd() & 0x7fffff));
	case 2:
		return from_bits(sign | (0xf0u + r % 15) << 23 | (rnd() & 0x7fffff));
	default:
		return from_bits(sign | (127u - 30 + (r >> 8) % 61) << 23 |
				 (rnd() & 0x7fffff));
	}
}

/* Normal numbers of both signs, 2^-8 to 2^9 in magnitude. */
static float rnd_tame(void)
{
	uint32_t r = rnd();

	return from_bits((r & 1) << 31 | (127u - 8 + (r >> 1) % 17) << 23 |
			 (rnd() & 0x7fffff));
}

static float rnd_for(enum kern k, size_t n)
{
	switch (kinfo[k].kind) {
	case EXACT:
	case MAXLIKE:
		return rnd_wide();
	case EXP:
		return (float)uniform(-105.0, 90.0);
	case SOFTMAX:	/* odd n: a range where most terms underflow */
		return n & 1 ? (float)uniform(-120.0, 5.0) :
			       (float)uniform(-20.0, 20.0);
	default:
		return rnd_tame();
	}
}

/* ---- reporting ------------------------------------------------------ */

static int fail(const struct tcase *t, ptrdiff_t i, const char *what,
		double got, double want)
{
	if (reports++ < MAX_REPORTS)
		fprintf(stderr,
			"FAIL tier %s kernel %s n %zu off %zu alias %d: %s [%td] got %a (%.9g) want %a (%.9g)\n",
			tier, kinfo[t->k].name, t->n, t->off, t->alias, what, i,
			got, got, want, want);
	return T_FAIL;
}

/* The spacing of floats at v (v >= 0): 2^-149 in the subnormals. */
static double ulp(double v)
{
	uint64_t u;
	double d;

	if (v < 0x1p-126)
		return 0x1p-149;
	if (v >= 0x1p127)
		return 0x1p104;
	memcpy(&u, &v, sizeof(u));
	u = (u & 0x7ff0000000000000ull) - (23ull << 52);	/* 2^(e - 23) */
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* ---- references ------------------------------------------------------- */

/* An exact kernel's element: the correctly rounded result. */
static float want_exact(const struct tcase *t, size_t i)
{
	double x = t->c[1][i], y = t->c[2] ? t->c[2][i] : 0.0;

	switch (t->k) {
	case K_ADD:
		return (float)(x + y);
	case K_SUB:
		return (float)(x - y);
	case K_MUL:
		return (float)(x * y);
	case K_SCALE:
		return (float)((double)t->a * x);
	default:	/* relu: max(x, +0), NaN stays */
		return isnan(x) ? (float)x : x > 0.0 ? (float)x : 0.0f;
	}
}

static int same(float got, float want)
{
	return isnan(want) ? isnan(got) : bits(got) == bits(want);
}

/* got within bound of want; NaN and infinities must match exactly. */
static int near(float got, double want, double bound)
{
	if (isnan(want))
		return isnan(got);
	if (isinf(want))
		return got == want;
	return fabs((double)got - want) <= bound;
}

/*
 * pepita/simd.h's exp bound. +inf from the first float whose exp rounds
 * to inf (88.7228394, 0x42b17218); 0 below ln 2^-150 = -103.9720771;
 * between that and 2^-126 either 0 or within a subnormal ulp; else
 * within 4 ulp. Returns 0 when got is acceptable.
 */
static int check_exp(float x, float got, double *want_out)
{
	double want = exp((double)x);

	*want_out = want;
	if (isnan(x))
		return !isnan(got);
	if (x >= from_bits(0x42b17218))
		return got != INFINITY;
	if (x < -103.97207708399179)
		return got != 0.0f;
	if (want < 0x1p-126)
		return !(got == 0.0f || fabs(got - want) <= 0x1p-149);
	return !(fabs(got - want) <= 4 * ulp(want));
}

/* ---- running one case ------------------------------------------------- */

static void call(struct tcase *t, float **p)
{
	float *o = t->alias ? p[t->alias] : p[0];
	size_t n = t->n;

	switch (t->k) {
	case K_ADD: pep_vadd(o, p[1], p[2], n); break;
	case K_SUB: pep_vsub(o, p[1], p[2], n); break;
	case K_MUL: pep_vmul(o, p[1], p[2], n); break;
	case K_SCALE: pep_vscale(o, p[1], t->a, n); break;
	case K_AXPY: pep_vaxpy(o, t->a, p[1], n); break;
	case K_FMA: pep_vfma(o, p[1], p[2], p[3], n); break;
	case K_DOT: t->fret = pep_vdot(p[1], p[2], n); break;
	case K_SUM: t->fret = pep_vsum(p[1], n); break;
	case K_MAX: t->fret = pep_vmax(p[1], n); break;
	case K_ARGMAX: t->zret = pep_vargmax(p[1], n); break;
	case K_RELU: pep_vrelu(o, p[1], n); break;
	case K_EXP: pep_vexp(o, p[1], n); break;
	case K_SOFTMAX: pep_softmax(o, p[1], n); break;
	case K_RMSNORM:
		pep_rmsnorm(o, p[1], t->w_null ? NULL : p[2], 1e-5f, n);
		break;
	default: break;
	}
}

static int check_reduce(struct tcase *t)
{
	double s = 0.0, mag = 0.0;

	for (size_t i = 0; i < t->n; i++) {
		double v = t->c[1][i] * (t->k == K_DOT ? (double)t->c[2][i] : 1.0);

		s += v;
		mag += fabs(v);
	}
	if (!near(t->fret, s, (double)t->n * 0x1p-24 * mag))
		return fail(t, 0, "result", t->fret, s);
	return T_PASS;
}

static int check_max(struct tcase *t)
{
	float m = -INFINITY;
	size_t at = 0;

	for (size_t i = 0; i < t->n; i++) {
		float v = t->c[1][i];

		if (isnan(v)) {
			m = v;
			at = i;
			break;
		}
		if (v > m) {
			m = v;
			at = i;
		}
	}
	if (t->k == K_ARGMAX)
		return t->zret == at ? T_PASS :
		       fail(t, 0, "index", (double)t->zret, (double)at);
	/* Which zero the maximum of +0 and -0 is depends on the order. */
	if (m == 0.0f ? t->fret != 0.0f : !same(t->fret, m))
		return fail(t, 0, "result", t->fret, m);
	return T_PASS;
}

static int check_axpy(const struct tcase *t, size_t i, float got)
{
	double p, y;

	if (t->k == K_AXPY) {
		p = (double)t->a * t->c[1][i];
		y = t->c[0][i];
	} else {
		p = (double)t->c[1][i] * t->c[2][i];
		y = t->c[3][i];
	}
	if (!near(got, p + y, 0x1p-23 * (fabs(p) + fabs(y))))
		return fail(t, i, "element", got, p + y);
	return T_PASS;
}

/* Softmax in double; m = +-inf and NaN as the header defines them. */
static int check_softmax(const struct tcase *t, const float *o)
{
	const float *x = t->c[1];
	double m = -INFINITY, s = 0.0;
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++)
		m = isnan(x[i]) || isnan(m) ? NAN : x[i] > m ? x[i] : m;
	for (size_t i = 0; i < t->n; i++) {
		k += x[i] == m;
		s += isinf(m) ? 0.0 : exp(x[i] - m);
	}
	for (size_t i = 0; i < t->n; i++) {
		double want;

		if (isnan(m))
			want = NAN;
		else if (isinf(m))
			want = x[i] == m ? 1.0f / (float)k : 0.0f;
		else
			want = exp(x[i] - m) / s;
		if (!near(o[i], want, isinf(m) ? 0.0 :
			  8 * ulp(want) + (double)t->n * 0x1p-24 * want))
			return fail(t, i, "element", o[i], want);
	}
	return T_PASS;
}

static int check_rmsnorm(const struct tcase *t, const float *o)
{
	double ss = 0.0, r;

	for (size_t i = 0; i < t->n; i++)
		ss += (double)t->c[1][i] * t->c[1][i];
	r = 1.0 / sqrt(ss / (double)t->n + 1e-5f);
	for (size_t i = 0; i < t->n; i++) {
		double w = t->w_null ? 1.0 : t->c[2][i];
		double want = t->c[1][i] * r * w;

		if (!near(o[i], want, 0x1p-20 * fabs(want)))
			return fail(t, i, "element", o[i], want);
	}
	return T_PASS;
}

static int check_elems(const struct tcase *t, const float *o)
{
	double want;

	switch (kinfo[t->k].kind) {
	case SOFTMAX:
		return check_softmax(t, o);
	case RMSNORM:
		return check_rmsnorm(t, o);
	default:
		break;
	}
	for (size_t i = 0; i < t->n; i++) {
		switch (kinfo[t->k].kind) {
		case EXACT:
			if (!same(o[i], want_exact(t, i)))
				return fail(t, i, "element", o[i], want_exact(t, i));
			break;
		case AXPYLIKE:
			if (check_axpy(t, i, o[i]) != T_PASS)
				return T_FAIL;
			break;
		default:	/* EXP */
			if (check_exp(t->c[1][i], o[i], &want))
				return fail(t, i, "element", o[i], want);
			break;
		}
	}
	return T_PASS;
}

/* The guards intact, and every slot but the output as it was. */
static int check_arrays(const struct tcase *t, int out)
{
	const double guard = from_bits(guard_bits);

	for (int s = 0; s < 4; s++) {
		const float *b = t->buf[s];
		char what[32];

		if (!t->c[s] && !(s == 0 && kinfo[t->k].has_out))
			continue;
		snprintf(what, sizeof(what), "slot %d guard", s);
		for (size_t i = 0; i < t->off; i++)
			if (bits(b[i]) != guard_bits)
				return fail(t, (ptrdiff_t)i - (ptrdiff_t)t->off, what,
					    b[i], guard);
		for (size_t i = 0; i < GUARD; i++)
			if (bits(b[t->off + t->n + i]) != guard_bits)
				return fail(t, t->n + i, what, b[t->off + t->n + i],
					    guard);
		if (s == out || !t->c[s])
			continue;
		snprintf(what, sizeof(what), "input slot %d changed", s);
		for (size_t i = 0; i < t->n; i++)
			if (bits(b[t->off + i]) != bits(t->c[s][i]))
				return fail(t, i, what, b[t->off + i], t->c[s][i]);
	}
	return T_PASS;
}

static int run(struct tcase *t)
{
	const struct kern_info *ki = &kinfo[t->k];
	int out = ki->has_out ? t->alias : -1;
	float *p[4];
	int rc;

	for (int s = 0; s < 4; s++) {
		float *b = t->buf[s];

		p[s] = b + t->off;
		if (!t->c[s] && !(s == 0 && ki->has_out))
			continue;
		for (size_t i = 0; i < t->off + t->n + GUARD; i++)
			b[i] = from_bits(guard_bits);
		if (t->c[s])
			memcpy(b + t->off, t->c[s], t->n * sizeof(float));
	}
	call(t, p);
	if (ki->kind == REDUCE)
		rc = check_reduce(t);
	else if (ki->kind == MAXLIKE)
		rc = check_max(t);
	else
		rc = check_elems(t, p[out]);
	if (rc == T_PASS)
		rc = check_arrays(t, out);
	return rc;
}

/* ---- the cases -------------------------------------------------------- */

struct store {
	size_t cap;
	float *buf[4], *c[4];
};

static int store_init(struct store *st, size_t cap)
{
	size_t bytes = (cap + 4 + GUARD + ALIGN) * sizeof(float);

	bytes = (bytes + ALIGN - 1) / ALIGN * ALIGN;
	for (int s = 0; s < 4; s++) {
		st->buf[s] = aligned_alloc(ALIGN, bytes);
		st->c[s] = malloc(cap * sizeof(float) + 1);
		if (!st->buf[s] || !st->c[s])
			return -1;
	}
	st->cap = cap;
	return 0;
}

static void store_free(struct store *st)
{
	for (int s = 0; s < 4; s++) {
		free(st->buf[s]);
		free(st->c[s]);
	}
}

/*
 * Fresh random inputs for t->k, n long, at off floats past the 64-byte
 * boundary; alias > 0 makes the output that input slot.
 */
static void setup(struct tcase *t, struct store *st, size_t n, size_t off,
		  int alias)
{
	const struct kern_info *ki = &kinfo[t->k];

	t->n = n;
	t->off = off;
	t->alias = alias;
	t->a = n % 5 == 0 ? 0.0f : -1.25f * (float)(1 + n % 7);
	for (int s = 0; s < 4; s++) {
		t->buf[s] = st->buf[s];
		t->c[s] = NULL;
		if ((s >= 1 && s <= ki->nin) || (s == 0 && t->k == K_AXPY)) {
			t->c[s] = st->c[s];
			for (size_t i = 0; i < n; i++)
				t->c[s][i] = s == 2 && t->k == K_RMSNORM ?
					     (float)uniform(0.5, 2.0) :
					     rnd_for(t->k, n);
		}
	}
	/* An output aliasing slot j is slot j; axpy then reads it as y. */
	if (alias && t->k == K_AXPY)
		memcpy(t->c[0], t->c[alias], n * sizeof(float));
}

static const float specials[] = { NAN, INFINITY, -INFINITY };

/*
 * NaN (either sign), +inf and -inf at the end, start, middle and one more
 * place near the end, in input slots and at offsets that vary with the
 * place; the value cycles with n so that every pairing comes up.
 */
static int run_specials(struct tcase *t, struct store *st, size_t n)
{
	const size_t at[] = { n - 1, 0, n / 2, n - 1 - (n - 1) % 7 };
	size_t nat = n > NSMALL ? 1 : sizeof(at) / sizeof(at[0]);

	for (size_t a = 0; a < nat; a++) {
		size_t v = (a + n) % 3;
		int slot = 1 + (int)((at[a] + v) % kinfo[t->k].nin);

		setup(t, st, n, 1 + (at[a] + v) % 3, 0);
		t->c[slot][at[a]] = v == 0 && at[a] & 1 ? -specials[v] :
				    specials[v];
		t->w_null = 0;
		if (run(t) != T_PASS)
			return T_FAIL;
	}
	return T_PASS;
}

static int run_sizes(enum kern k, struct store *st, size_t n)
{
	struct tcase t = { .k = k };
	int nalias = kinfo[k].has_out ? kinfo[k].nin : 0;

	for (size_t off = 1; off <= (n > NSMALL ? 1 : 3); off++) {
		for (int alias = 0; alias <= nalias; alias++) {
			setup(&t, st, n, off, alias);
			t.w_null = k == K_RMSNORM && off == 3 && alias != 2;
			if (run(&t) != T_PASS)
				return T_FAIL;
		}
	}
	return n ? run_specials(&t, st, n) : T_PASS;
}

static int test_sizes(void)
{
	struct store st;
	int rc = T_PASS;

	if (store_init(&st, NLARGE) != 0)
		return T_ERROR;
	for (int k = 0; k < K_COUNT && rc == T_PASS; k++) {
		for (size_t n = 0; n <= NSMALL && rc == T_PASS; n++)
			rc = run_sizes((enum kern)k, &st, n);
		if (rc == T_PASS)
			rc = run_sizes((enum kern)k, &st, NLARGE);
	}
	store_free(&st);
	return rc;
}

/*
 * Past the largest streaming threshold (x86 tiers write such outputs with
 * non-temporal stores after aligning them): the kernels that stream, on
 * the x86 vector tiers. softmax runs on every tier, as the tiers that
 * have one take their two-pass path there (the maximum and the sum
 * online, block by block): random inputs with a -inf; a maximum that
 * grows along the array, so that the running sums are rescaled block
 * after block (in place); one 100 above the rest near the end, a
 * rescaling into the subnormals, and one 200 above, where it underflows
 * to 0; a +inf in the middle; a NaN after the first block.
 */
static struct store huge;

enum {
	SM_RANDOM, SM_RAMP, SM_JUMP100, SM_JUMP200, SM_INF, SM_NAN, SM_COUNT
};

static void setup_softmax_huge(struct tcase *t, int pat)
{
	size_t n = t->n;

	for (size_t i = 0; i < n && pat != SM_RANDOM; i++)
		t->c[1][i] = pat == SM_RAMP ?
			     (float)(uniform(-20.0, 0.0) + 120.0 * i / n) :
			     (float)uniform(-20.0, 20.0);
	switch (pat) {
	case SM_RANDOM:
		t->c[1][n - 2] = -INFINITY;
		break;
	case SM_JUMP100:
	case SM_JUMP200:
		t->c[1][n - 3] = pat == SM_JUMP100 ? 120.0f : 220.0f;
		break;
	case SM_INF:
		t->c[1][n / 3] = INFINITY;
		break;
	case SM_NAN:
		t->c[1][1000] = NAN;
		break;
	}
}

static int test_huge(void)
{
	static const enum kern ks[] = { K_ADD, K_EXP, K_RMSNORM };
	int x86_vec = pep_simd_active() != PEP_SIMD_SCALAR;
	int rc = T_PASS;

#if !defined(__x86_64__)
	x86_vec = 0;		/* only the x86 vector tiers stream */
#endif
	if (!huge.cap && store_init(&huge, NHUGE) != 0)
		return T_ERROR;
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]) && x86_vec &&
	     rc == T_PASS; i++) {
		struct tcase t = { .k = ks[i] };

		setup(&t, &huge, NHUGE, 1 + i % 3, 0);
		t.c[1][NHUGE - 2] = NAN;
		rc = run(&t);
	}
	for (int pat = 0; pat < SM_COUNT && rc == T_PASS; pat++) {
		struct tcase t = { .k = K_SOFTMAX };

		setup(&t, &huge, NHUGE, 1 + pat % 3, pat == SM_RAMP);
		setup_softmax_huge(&t, pat);
		rc = run(&t);
	}
	return rc;
}

/* Input i of a max/argmax tie pattern of length n. */
static float tie_value(int pat, size_t n, size_t i)
{
	switch (pat) {
	case 0:		/* +0 and -0 mixed: any zero, the first index */
		return i * 7 % 3 ? -0.0f : 0.0f;
	case 1:		/* the maximum repeated, the rest -inf */
		return i % 5 == 3 ? 2.5f : -INFINITY;
	default:	/* two NaNs: argmax names the first */
		return i == n / 3 || i == n - 1 ? NAN : (float)i;
	}
}

/* max and argmax ties, softmax's exact special cases. */
static int test_ties(void)
{
	struct store st;
	struct tcase t = { 0 };
	int rc = T_PASS;

	if (store_init(&st, 64) != 0)
		return T_ERROR;
	for (size_t n = 1; n <= 40 && rc == T_PASS; n++) {
		for (int pat = 0; pat < 6 && rc == T_PASS; pat++) {
			t.k = pat & 1 ? K_ARGMAX : K_MAX;
			setup(&t, &st, n, 1 + n % 3, 0);
			for (size_t i = 0; i < n; i++)
				t.c[1][i] = tie_value(pat / 2, n, i);
			rc = run(&t);
		}
	}
	/* softmax: exact shares when some inputs are +inf or all are -inf */
	for (size_t n = 1; n <= 40 && rc == T_PASS; n++) {
		t.k = K_SOFTMAX;
		setup(&t, &st, n, n % 4, n & 1);
		for (size_t i = 0; i < n; i++)
			t.c[1][i] = n % 3 == 0 ? -INFINITY :
				    i % 4 == 1 ? INFINITY : (float)i;
		rc = run(&t);
	}
	store_free(&st);
	return rc;
}

/* The exp sweep: dense over [-104, 89], then around each edge. */
static const float edges[] = {
	88.72283935546875f,	/* 0x42b17218: exp rounds to inf from here */
	-87.33654475f,		/* ln 2^-126: the bottom of the normals */
	-103.97207708f,		/* ln 2^-150: 0 below */
	-104.0f, 89.0f, 0.0f, 1.0f, -1.0f, 0.34657359f, -0.34657359f,
};

#define HOOD 4096

static int test_exp_sweep(void)
{
	size_t n = SWEEP + 1 + sizeof(edges) / sizeof(edges[0]) * (2 * HOOD + 1) + 16;
	float *x = malloc((n + 1) * sizeof(float));
	float *y = malloc((n + 1) * sizeof(float));
	struct tcase t = { .k = K_EXP, .n = n, .off = 1 };
	size_t m = 0;
	int rc = T_PASS;

	if (!x || !y)
		return T_ERROR;
	for (size_t i = 0; i <= SWEEP; i++)
		x[m++] = (float)(-104.0 + 193.0 * i / SWEEP);
	for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
		for (int d = -HOOD; d <= HOOD; d++)
			x[m++] = from_bits(bits(edges[e]) + (uint32_t)d);
	for (uint32_t s = 0; s < 4; s++) {	/* subnormal and huge inputs */
		x[m++] = from_bits(s << 31 | 1);
		x[m++] = from_bits(s << 31 | 0x7fffff);
		x[m++] = from_bits(s << 31 | 0x7f7fffff);
		x[m++] = from_bits(s << 31 | 0x7f800000);	/* +-inf */
	}
	for (; m < n; m++)
		x[m] = m & 1 ? NAN : -NAN;
	pep_vexp(y + 1, x, n);
	for (size_t i = 0; i < n && rc == T_PASS; i++) {
		double want;

		if (check_exp(x[i], y[i + 1], &want))
			rc = fail(&t, i, "element", y[i + 1], want);
	}
	free(x);
	free(y);
	return rc;
}

int main(void)
{
	int rc = T_PASS, ran = 0;

	for (int isa = 0; isa < PEP_SIMD_ISA_COUNT; isa++) {
		if (pep_simd_force((enum pep_simd_isa)isa, NULL) != 0)
			continue;
		tier = pep_simd_isa_name((enum pep_simd_isa)isa);
		reports = 0;
		fprintf(stderr, "tier %s\n", tier);
		t_run("sizes, offsets, aliases, NaN and inf", test_sizes, &rc);
		t_run("max, argmax and softmax ties", test_ties, &rc);
		t_run("exp sweep", test_exp_sweep, &rc);
		t_run("outputs past the streaming threshold", test_huge, &rc);
		ran++;
	}
	store_free(&huge);
	if (ran < 2 && pep_simd_best() != PEP_SIMD_SCALAR) {
		fprintf(stderr, "only %d tier(s) ran\n", ran);
		rc = T_FAIL;
	}
	return rc;
}
