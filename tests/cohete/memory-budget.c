/*
 * Memory budgets: the arithmetic at and past the ceiling, the audit
 * listing, the per-module presets, the live check, and four threads racing
 * a small budget to show the ceiling holds without the registry's lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <cohete/device.h>
#include <cohete/memory.h>

#include "harness.h"

#define GIB (UINT64_C(1) << 30)

static int test_create(void)
{
	struct coh_budget *b = (struct coh_budget *)1;
	struct coh_budget_grant g;
	struct pep_err err;

	CHECK(coh_budget_create(&b, 100, 101, &err) == -EINVAL);
	CHECK(b == NULL && err.code == -EINVAL);
	CHECK(strstr(err.msg, "reserved 101") && strstr(err.msg, "total of 100"));
	CHECK(coh_budget_create(NULL, 100, 0, NULL) == -EINVAL);
	/* Everything reserved: a valid budget that grants nothing. */
	CHECK(coh_budget_create(&b, 100, 100, &err) == 0 && b);
	CHECK(coh_budget_limit(b) == 0 && coh_budget_available(b) == 0);
	CHECK(coh_budget_try_alloc(b, 1, "x", COH_BUDGET_OTHER, &g) == -ENOSPC);
	coh_budget_destroy(b);
	coh_budget_destroy(NULL);
	return T_PASS;
}

static int test_alloc_release(void)
{
	struct coh_budget_grant a, c, d;
	struct coh_budget *b;

	CHECK(coh_budget_create(&b, 1000, 100, NULL) == 0);
	CHECK(coh_budget_limit(b) == 900 && coh_budget_used(b) == 0);
	CHECK(coh_budget_try_alloc(b, 300, "w", COH_BUDGET_WEIGHTS, &a) == 0);
	CHECK(a.id != 0 && a.bytes == 300);
	CHECK(coh_budget_used(b) == 300 && coh_budget_available(b) == 600);
	CHECK(coh_budget_try_alloc(b, 600, "kv", COH_BUDGET_KV_CACHE, &c) == 0);
	CHECK(coh_budget_used(b) == 900 && coh_budget_available(b) == 0);
	CHECK(coh_budget_try_alloc(b, 1, "x", COH_BUDGET_OTHER, &d) == -ENOSPC);
	CHECK(d.id == 0 && coh_budget_used(b) == 900);
	coh_budget_release(b, &a);
	CHECK(a.id == 0 && coh_budget_used(b) == 600);
	CHECK(coh_budget_try_alloc(b, 300, "act", COH_BUDGET_ACTIVATIONS, &d) == 0);
	CHECK(coh_budget_used(b) == 900);
	CHECK(coh_budget_try_alloc(b, 0, "x", COH_BUDGET_OTHER, &a) == -EINVAL);
	CHECK(coh_budget_try_alloc(b, 1, "x", COH_BUDGET_CATEGORY_COUNT,
				   &a) == -EINVAL);
	CHECK(coh_budget_try_alloc(b, 1, "x", COH_BUDGET_OTHER, NULL) == -EINVAL);
	coh_budget_release(b, &c);
	coh_budget_release(b, &d);
	CHECK(coh_budget_used(b) == 0 && coh_budget_available(b) == 900);
	coh_budget_destroy(b);
	return T_PASS;
}

static int test_exact_limit(void)
{
	struct coh_budget_grant g[3], no;
	struct coh_budget *b;

	CHECK(coh_budget_create(&b, 1000, 100, NULL) == 0);
	CHECK(coh_budget_try_alloc(b, 899, NULL, COH_BUDGET_OTHER, &g[0]) == 0);
	CHECK(coh_budget_try_alloc(b, 2, NULL, COH_BUDGET_OTHER, &no) == -ENOSPC);
	CHECK(coh_budget_try_alloc(b, 1, NULL, COH_BUDGET_OTHER, &g[1]) == 0);
	CHECK(coh_budget_used(b) == 900);
	CHECK(coh_budget_try_alloc(b, 1, NULL, COH_BUDGET_OTHER, &no) == -ENOSPC);
	coh_budget_release(b, &g[1]);
	CHECK(coh_budget_try_alloc(b, 1, NULL, COH_BUDGET_OTHER, &g[2]) == 0);
	coh_budget_release(b, &g[0]);
	coh_budget_release(b, &g[2]);
	CHECK(coh_budget_used(b) == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

static int test_overflow(void)
{
	struct coh_budget_grant g, h, no;
	struct coh_budget *b;

	CHECK(coh_budget_create(&b, 1000, 0, NULL) == 0);
	CHECK(coh_budget_try_alloc(b, UINT64_MAX, "x", COH_BUDGET_OTHER,
				   &no) == -ENOSPC);
	CHECK(coh_budget_try_alloc(b, 10, "x", COH_BUDGET_OTHER, &g) == 0);
	/* 10 + (UINT64_MAX - 5) wraps to 4: a naive sum would let it in. */
	CHECK(coh_budget_try_alloc(b, UINT64_MAX - 5, "x", COH_BUDGET_OTHER,
				   &no) == -ENOSPC);
	CHECK(coh_budget_used(b) == 10);
	coh_budget_release(b, &g);
	coh_budget_destroy(b);

	/* The whole range: the ceiling itself is UINT64_MAX. */
	CHECK(coh_budget_create(&b, UINT64_MAX, 0, NULL) == 0);
	CHECK(coh_budget_try_alloc(b, UINT64_MAX - 1, "x", COH_BUDGET_OTHER,
				   &g) == 0);
	CHECK(coh_budget_try_alloc(b, 2, "x", COH_BUDGET_OTHER, &no) == -ENOSPC);
	CHECK(coh_budget_try_alloc(b, 1, "x", COH_BUDGET_OTHER, &h) == 0);
	CHECK(coh_budget_used(b) == UINT64_MAX && coh_budget_available(b) == 0);
	coh_budget_release(b, &g);
	coh_budget_release(b, &h);
	CHECK(coh_budget_used(b) == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

static int test_double_release(void)
{
	struct coh_budget_grant g, copy, other, zero = { 0 };
	struct coh_budget *b;

	CHECK(coh_budget_create(&b, 1000, 0, NULL) == 0);
	CHECK(coh_budget_try_alloc(b, 100, "a", COH_BUDGET_OTHER, &g) == 0);
	copy = g;
	coh_budget_release(b, &g);
	coh_budget_release(b, &g);
	coh_budget_release(b, &zero);
	coh_budget_release(b, NULL);
	coh_budget_release(NULL, &copy);
	CHECK(coh_budget_used(b) == 0);
	/* A new grant takes the freed slot; the stale copy must not free it. */
	CHECK(coh_budget_try_alloc(b, 200, "b", COH_BUDGET_OTHER, &other) == 0);
	CHECK(other.slot == copy.slot && other.id != copy.id);
	coh_budget_release(b, &copy);
	CHECK(coh_budget_used(b) == 200);
	coh_budget_release(b, &other);
	CHECK(coh_budget_used(b) == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

static int test_list(void)
{
	static const char long_name[] =
		"0123456789012345678901234567890123456789012345678901234567890123456789";
	struct coh_budget_grant g[4];
	struct coh_budget_entry e[8];
	struct coh_budget *b;
	size_t count;

	CHECK(coh_budget_create(&b, 8 * GIB, 2 * GIB, NULL) == 0);
	CHECK(coh_budget_list(b, e, 8, &count) == 0 && count == 0);
	CHECK(coh_budget_try_alloc(b, 4 * GIB, "llama-3.2-3b.q4",
				   COH_BUDGET_WEIGHTS, &g[0]) == 0);
	CHECK(coh_budget_try_alloc(b, GIB, "kv", COH_BUDGET_KV_CACHE, &g[1]) == 0);
	CHECK(coh_budget_try_alloc(b, 1000, long_name, COH_BUDGET_ACTIVATIONS,
				   &g[2]) == 0);
	CHECK(coh_budget_try_alloc(b, 5, NULL, COH_BUDGET_RUNTIME, &g[3]) == 0);
	coh_budget_release(b, &g[1]);

	CHECK(coh_budget_list(b, e, 8, &count) == 3 && count == 3);
	CHECK(!strcmp(e[0].name, "llama-3.2-3b.q4") && e[0].bytes == 4 * GIB);
	CHECK(e[0].category == COH_BUDGET_WEIGHTS);
	CHECK(strlen(e[1].name) == COH_BUDGET_NAME_MAX - 1);
	CHECK(!strncmp(e[1].name, long_name, COH_BUDGET_NAME_MAX - 1));
	CHECK(e[1].bytes == 1000 && e[1].category == COH_BUDGET_ACTIVATIONS);
	CHECK(!strcmp(e[2].name, "") && e[2].category == COH_BUDGET_RUNTIME);
	CHECK(e[0].id < e[1].id && e[1].id < e[2].id);
	CHECK(e[0].bytes + e[1].bytes + e[2].bytes == coh_budget_used(b));

	/* Cut short: the count still says how many are live. */
	CHECK(coh_budget_list(b, e, 1, &count) == 1 && count == 3);
	CHECK(coh_budget_list(b, NULL, 0, &count) == 0 && count == 3);
	CHECK(coh_budget_list(b, NULL, 1, &count) == -EINVAL);
	CHECK(coh_budget_list(b, e, 8, NULL) == 3);

	/* The released middle slot is reused; the newcomer lists last. */
	CHECK(coh_budget_try_alloc(b, 7, "late", COH_BUDGET_OTHER, &g[1]) == 0);
	CHECK(coh_budget_list(b, e, 8, &count) == 4);
	CHECK(!strcmp(e[3].name, "late") && e[3].category == COH_BUDGET_OTHER);
	for (int i = 0; i < 4; i++)
		coh_budget_release(b, &g[i]);
	CHECK(coh_budget_list(b, e, 8, &count) == 0 && count == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s;
}

/* Check used and the listing against a plain array of what is held. */
static int test_reference_model(void)
{
	struct coh_budget_grant g[16] = { { 0 } };
	struct coh_budget_entry e[16];
	uint64_t model_used = 0, seed = 42;
	size_t model_live = 0, count;
	struct coh_budget *b;

	CHECK(coh_budget_create(&b, 5000, 1000, NULL) == 0);
	for (int op = 0; op < 20000; op++) {
		uint64_t r = lcg(&seed);
		struct coh_budget_grant *x = &g[(r >> 33) % 16];
		uint64_t bytes = 1 + (r >> 40) % 700;

		if (x->id) {
			model_used -= x->bytes;
			model_live--;
			coh_budget_release(b, x);
		} else if (model_used + bytes <= 4000) {
			CHECK(coh_budget_try_alloc(b, bytes, "m",
						   COH_BUDGET_OTHER, x) == 0);
			model_used += bytes;
			model_live++;
		} else {
			CHECK(coh_budget_try_alloc(b, bytes, "m",
						   COH_BUDGET_OTHER, x) == -ENOSPC);
		}
		CHECK(coh_budget_used(b) == model_used);
		CHECK(coh_budget_list(b, e, 16, &count) == (int)model_live);
	}
	for (int i = 0; i < 16; i++)
		coh_budget_release(b, &g[i]);
	CHECK(coh_budget_used(b) == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

static int test_category_names(void)
{
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_WEIGHTS), "weights"));
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_KV_CACHE), "kv_cache"));
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_ACTIVATIONS),
		      "activations"));
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_RUNTIME), "runtime"));
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_OTHER), "other"));
	CHECK(!strcmp(coh_budget_category_name(COH_BUDGET_CATEGORY_COUNT),
		      "unknown"));
	CHECK(!strcmp(coh_budget_category_name((enum coh_budget_category)-1),
		      "unknown"));
	return T_PASS;
}

static int test_preset(void)
{
	static const unsigned int ram_mb[][2] = {	/* RAM, reserve */
		{ 1024, 512 }, { 2048, 1024 }, { 4096, 1024 }, { 16384, 3072 },
		{ 32768, 5120 }, { 65536, 9216 }, { 131072, 17408 },
	};
	const struct coh_module_spec *m, *table;
	struct coh_module_spec row = { .ram_gb = 0 };
	uint64_t total, reserved, t2, r2;
	unsigned int n;

	m = coh_module_lookup("p3767-0003", "", "tegra234", 0);
	CHECK(m && m->ram_gb == 8);
	CHECK(coh_budget_preset(m, &total, &reserved) == 0);
	CHECK(total == 8 * GIB && reserved == 2 * GIB);

	for (size_t i = 0; i < sizeof(ram_mb) / sizeof(ram_mb[0]); i++) {
		row.ram_gb = ram_mb[i][0] / 1024;
		CHECK(coh_budget_preset(&row, &total, &reserved) == 0);
		CHECK(total == (uint64_t)ram_mb[i][0] << 20);
		CHECK(reserved == (uint64_t)ram_mb[i][1] << 20);
	}
	row.ram_gb = 0;
	CHECK(coh_budget_preset(&row, &total, &reserved) == -EINVAL);
	CHECK(coh_budget_preset(NULL, &total, &reserved) == -EINVAL);

	/* Every row: something left to grant, and more RAM never reserves less. */
	table = coh_module_table(&n);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(coh_budget_preset(&table[i], &total, &reserved) == 0);
		CHECK(reserved > 0 && reserved < total);
		for (unsigned int j = 0; j < n; j++) {
			CHECK(coh_budget_preset(&table[j], &t2, &r2) == 0);
			CHECK(t2 <= total || r2 >= reserved);
		}
	}
	return T_PASS;
}

static int test_live(void)
{
	struct coh_budget_live live;
	struct coh_meminfo mi;

	CHECK(coh_meminfo_parse("MemTotal: 7620000 kB\nMemAvailable: 4000000 kB\n"
				"SwapTotal: 3810000 kB\nSwapFree: 3810000 kB\n",
				&mi, NULL) == 0);
	CHECK(coh_budget_check_live(&mi, 4000000ULL * 1024, &live) == 0);
	CHECK(live.fits && !live.fits_unknown);
	CHECK(live.available_bytes == 4000000LL * 1024);
	CHECK(!live.swap_in_use && live.swap_used_bytes == 0);
	CHECK(coh_budget_check_live(&mi, 4000000ULL * 1024 + 1, &live) == 0);
	CHECK(!live.fits && !live.fits_unknown);
	CHECK(coh_budget_check_live(&mi, UINT64_MAX, &live) == 0 && !live.fits);

	/* Swap in use: fits, with the warning. */
	mi.swap_free_kb = 3000000;
	CHECK(coh_budget_check_live(&mi, 1, &live) == 0);
	CHECK(live.fits && live.swap_in_use);
	CHECK(live.swap_used_bytes == 810000LL * 1024);

	/* Unknown MemAvailable never fits; unknown swap is no warning. */
	mi.available_kb = COH_NA;
	mi.swap_total_kb = COH_NA;
	CHECK(coh_budget_check_live(&mi, 1, &live) == 0);
	CHECK(!live.fits && live.fits_unknown && live.available_bytes == COH_NA);
	CHECK(!live.swap_in_use && live.swap_used_bytes == COH_NA);

	CHECK(coh_meminfo_parse("", &mi, NULL) == 0);
	CHECK(coh_budget_check_live(&mi, 0, &live) == 0);
	CHECK(!live.fits && live.fits_unknown);
	CHECK(coh_budget_check_live(NULL, 0, &live) == -EINVAL);
	CHECK(coh_budget_check_live(&mi, 0, NULL) == -EINVAL);
	return T_PASS;
}

/*
 * The race: RACE_THREADS threads, RACE_OPS operations in all, each thread
 * holding up to RACE_HELD grants of 1..RACE_MAX_BYTES bytes against a
 * RACE_LIMIT-byte budget, so refusals are frequent. Each thread adds a
 * grant to `observed` only after try_alloc succeeds and subtracts it before
 * releasing, so observed counts a subset of what the budget counts, and
 * must never pass the limit either.
 */
#define RACE_THREADS	4
#define RACE_OPS	1000000
#define RACE_HELD	4
#define RACE_MAX_BYTES	300
#define RACE_LIMIT	1000

struct racer {
	struct coh_budget *b;
	_Atomic uint64_t *observed;
	uint64_t seed;
	unsigned long granted, refused, over;
};

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void race_release(struct racer *r, struct coh_budget_grant *g)
{
	atomic_fetch_sub(r->observed, g->bytes);
	coh_budget_release(r->b, g);
}

static void race_alloc(struct racer *r, struct coh_budget_grant *g,
		       uint64_t bytes)
{
	if (coh_budget_try_alloc(r->b, bytes, "race", COH_BUDGET_OTHER, g)) {
		r->refused++;
		return;
	}
	r->granted++;
	if (atomic_fetch_add(r->observed, bytes) + bytes > RACE_LIMIT)
		r->over++;
	if (coh_budget_used(r->b) > RACE_LIMIT)
		r->over++;
}

static void *race(void *arg)
{
	struct coh_budget_grant held[RACE_HELD] = { { 0 } };
	struct racer *r = arg;

	for (int op = 0; op < RACE_OPS / RACE_THREADS; op++) {
		uint64_t x = xorshift64(&r->seed);
		struct coh_budget_grant *g = &held[x % RACE_HELD];

		if (g->id)
			race_release(r, g);
		else
			race_alloc(r, g, 1 + (x >> 32) % RACE_MAX_BYTES);
	}
	for (int i = 0; i < RACE_HELD; i++)
		if (held[i].id)
			race_release(r, &held[i]);
	return NULL;
}

static int test_race(void)
{
	struct racer r[RACE_THREADS];
	pthread_t tid[RACE_THREADS];
	_Atomic uint64_t observed = 0;
	unsigned long granted = 0, refused = 0, over = 0;
	struct coh_budget *b;
	size_t count;
	int started;

	CHECK(coh_budget_create(&b, RACE_LIMIT + 24, 24, NULL) == 0);
	for (started = 0; started < RACE_THREADS; started++) {
		r[started] = (struct racer){ .b = b, .observed = &observed,
			.seed = 0x9e3779b97f4a7c15ULL * (started + 1) };
		if (pthread_create(&tid[started], NULL, race, &r[started]))
			break;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		granted += r[i].granted;
		refused += r[i].refused;
		over += r[i].over;
	}
	if (started < RACE_THREADS) {
		coh_budget_destroy(b);
		fprintf(stderr, "pthread_create failed\n");
		return T_ERROR;
	}
	fprintf(stderr, "race: %lu granted, %lu refused, %lu over the limit\n",
		granted, refused, over);
	CHECK(over == 0);
	CHECK(granted > 0 && refused > 0);
	CHECK(coh_budget_used(b) == 0 && atomic_load(&observed) == 0);
	CHECK(coh_budget_list(b, NULL, 0, &count) == 0 && count == 0);
	coh_budget_destroy(b);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("create", test_create, &rc);
	t_run("alloc_release", test_alloc_release, &rc);
	t_run("exact_limit", test_exact_limit, &rc);
	t_run("overflow", test_overflow, &rc);
	t_run("double_release", test_double_release, &rc);
	t_run("list", test_list, &rc);
	t_run("reference_model", test_reference_model, &rc);
	t_run("category_names", test_category_names, &rc);
	t_run("preset", test_preset, &rc);
	t_run("live", test_live, &rc);
	if (t_run("race", test_race, &rc) == T_ERROR)
		return T_ERROR;
	return rc;
}
