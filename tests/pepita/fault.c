/*
 * Retry policy and circuit breaker against a fake clock and fixed seeds:
 * backoff caps, jitter bounds and mean, the predicate, every breaker
 * transition, window expiry, the half-open trial limit, and four threads
 * hammering one breaker (run under TSan in suite threads).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <pepita/fault.h>

#include "harness.h"

#define MS 1000000ull

struct fake_clock {
	uint64_t now;
	uint64_t slept;
	unsigned int sleeps;
};

static uint64_t fake_now(void *ctx)
{
	return __atomic_load_n(&((struct fake_clock *)ctx)->now, __ATOMIC_RELAXED);
}

static void fake_sleep(void *ctx, uint64_t ns)
{
	struct fake_clock *f = ctx;

	__atomic_add_fetch(&f->now, ns, __ATOMIC_RELAXED);
	f->slept += ns;
	f->sleeps++;
}

static struct pep_clock clock_of(struct fake_clock *f)
{
	return (struct pep_clock){ .now_ns = fake_now, .ctx = f,
				   .sleep_ns = fake_sleep };
}

static int test_rng(void)
{
	struct pep_rng a, b;

	pep_rng_seed(&a, 42);
	pep_rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		CHECK(pep_rng_next(&a) == pep_rng_next(&b));
	for (int i = 0; i < 10000; i++)
		CHECK(pep_rng_upto(&a, 6) <= 6);
	CHECK(pep_rng_upto(&a, 0) == 0);
	(void)pep_rng_upto(&a, UINT64_MAX);
	return T_PASS;
}

static int test_cap(void)
{
	struct pep_retry_policy p = { .base_delay_ns = 100, .max_delay_ns = 1000,
				      .multiplier = 2.0 };
	static const uint64_t want[] = { 100, 100, 200, 400, 800, 1000, 1000 };

	for (unsigned int a = 0; a < sizeof(want) / sizeof(want[0]); a++)
		CHECK(pep_retry_cap_ns(&p, a) == want[a]);
	CHECK(pep_retry_cap_ns(&p, 4000000000u) == 1000);
	CHECK(pep_retry_cap_ns(NULL, 1) == 100 * MS);
	CHECK(pep_retry_cap_ns(NULL, 100) == 10000 * MS);
	p.multiplier = 1.0;
	CHECK(pep_retry_cap_ns(&p, 50) == 100);
	return T_PASS;
}

/* Full jitter: every delay within [0, cap], the mean near cap / 2. */
static int test_jitter(void)
{
	struct pep_retry_policy p = { .base_delay_ns = 10 * MS,
				      .max_delay_ns = 1000 * MS };
	const unsigned int n = 200000;
	uint64_t cap = pep_retry_cap_ns(&p, 4), lo = 0, hi = 0, d;
	struct pep_rng rng, again;
	double sum = 0, mean;

	CHECK(cap == 80 * MS);
	pep_rng_seed(&rng, 7);
	for (unsigned int i = 0; i < n; i++) {
		d = pep_retry_delay_ns(&p, 4, &rng);
		CHECK(d <= cap);
		sum += (double)d;
		lo += d < cap / 10;
		hi += d > cap - cap / 10;
	}
	mean = sum / n;
	if (mean < cap * 0.49 || mean > cap * 0.51) {
		fprintf(stderr, "jitter mean %.0f, want ~%llu\n", mean,
			(unsigned long long)cap / 2);
		return T_FAIL;
	}
	/* each tenth at the ends holds about n / 10 */
	CHECK(lo > n / 12 && lo < n / 8);
	CHECK(hi > n / 12 && hi < n / 8);
	pep_rng_seed(&rng, 99);
	pep_rng_seed(&again, 99);
	for (unsigned int a = 1; a < 20; a++)
		CHECK(pep_retry_delay_ns(&p, a, &rng) ==
		      pep_retry_delay_ns(&p, a, &again));
	return T_PASS;
}

static int only_eio(int error, void *ctx)
{
	++*(int *)ctx;
	return error == -EIO;
}

static int test_should(void)
{
	struct pep_retry_policy p = { .max_attempts = 4 };
	struct pep_err err;
	int calls = 0;

	CHECK(pep_retry_should(&p, 1, -EAGAIN));
	CHECK(pep_retry_should(&p, 3, -ETIMEDOUT));
	CHECK(!pep_retry_should(&p, 4, -EAGAIN));	/* attempts used up */
	CHECK(!pep_retry_should(&p, 1, 0));
	CHECK(!pep_retry_should(&p, 1, 5));
	CHECK(!pep_retry_should(&p, 1, -ENOENT));
	CHECK(!pep_retry_should(&p, 1, -EACCES));
	CHECK(!pep_retry_should(&p, 1, -EINVAL));
	CHECK(pep_retry_should(NULL, 2, -ECONNRESET));
	CHECK(!pep_retry_should(NULL, 3, -ECONNRESET));	/* default 3 */
	p.max_attempts = 1;
	CHECK(!pep_retry_should(&p, 1, -EAGAIN));
	p = (struct pep_retry_policy){ .retry_on = only_eio, .retry_ctx = &calls };
	CHECK(pep_retry_should(&p, 1, -EIO));
	CHECK(!pep_retry_should(&p, 1, -EAGAIN));
	CHECK(calls == 2);
	CHECK(pep_retry_policy_check(NULL, NULL) == 0);
	CHECK(pep_retry_policy_check(&p, NULL) == 0);
	p.multiplier = 0.5;
	CHECK(pep_retry_policy_check(&p, &err) == -EINVAL);
	CHECK(strstr(err.msg, "multiplier"));
	p.multiplier = 0;
	p.base_delay_ns = 2;
	p.max_delay_ns = 1;
	CHECK(pep_retry_policy_check(&p, &err) == -EINVAL);
	CHECK(strstr(err.msg, "base_delay_ns"));
	return T_PASS;
}

struct flaky {
	int fail_times;
	int error;
	unsigned int calls;
};

static int flaky_call(void *arg, unsigned int attempt)
{
	struct flaky *f = arg;

	f->calls = attempt;
	return (int)attempt <= f->fail_times ? f->error : 7;
}

static int test_run(void)
{
	struct pep_retry_policy p = { .max_attempts = 5, .base_delay_ns = MS,
				      .max_delay_ns = 100 * MS };
	struct fake_clock fc = { .now = 1000 };
	struct pep_clock clk = clock_of(&fc);
	struct flaky f = { .fail_times = 2, .error = -EAGAIN };
	struct pep_err err;
	struct pep_rng rng;

	pep_rng_seed(&rng, 1);
	CHECK(pep_retry_run(&p, &clk, &rng, flaky_call, &f, &err) == 7);
	CHECK(f.calls == 3 && fc.sleeps == 2);
	CHECK(fc.slept <= MS + 2 * MS);

	f = (struct flaky){ .fail_times = 100, .error = -EAGAIN };
	fc = (struct fake_clock){ 0 };
	CHECK(pep_retry_run(&p, &clk, &rng, flaky_call, &f, &err) == -EAGAIN);
	CHECK(f.calls == 5 && fc.sleeps == 4);
	CHECK(err.code == -EAGAIN && strstr(err.msg, "5 attempts"));

	f = (struct flaky){ .fail_times = 100, .error = -ENOENT };
	fc = (struct fake_clock){ 0 };
	CHECK(pep_retry_run(&p, &clk, &rng, flaky_call, &f, NULL) == -ENOENT);
	CHECK(f.calls == 1 && fc.sleeps == 0);

	/* a budget smaller than any plausible sum of delays stops early */
	p = (struct pep_retry_policy){ .max_attempts = 1000, .base_delay_ns = MS,
				       .max_delay_ns = MS, .multiplier = 1.0,
				       .max_elapsed_ns = 10 * MS };
	f = (struct flaky){ .fail_times = 100000, .error = -EAGAIN };
	fc = (struct fake_clock){ 0 };
	CHECK(pep_retry_run(&p, &clk, &rng, flaky_call, &f, NULL) == -EAGAIN);
	CHECK(fc.slept <= 10 * MS && f.calls < 1000);
	return T_PASS;
}

static int test_breaker_cycle(void)
{
	struct pep_breaker_opts o = { .failure_threshold = 3, .window_ns = 100 * MS,
				      .open_ns = 50 * MS, .half_open_calls = 2 };
	struct fake_clock fc = { .now = 5 * MS };
	struct pep_clock clk = clock_of(&fc);
	struct pep_breaker_stats st;
	struct pep_breaker *b;

	CHECK(pep_breaker_create(&b, &o, &clk, NULL) == 0);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
	for (int i = 0; i < 2; i++) {
		CHECK(pep_breaker_allow(b));
		pep_breaker_record_failure(b);
		CHECK(pep_breaker_allow(b));
		pep_breaker_record_success(b);	/* does not reset the window */
	}
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
	fc.now += 10 * MS;
	CHECK(pep_breaker_allow(b));
	pep_breaker_record_failure(b);		/* third within 100 ms: trip */
	CHECK(pep_breaker_state(b) == PEP_BREAKER_OPEN);
	CHECK(!pep_breaker_allow(b));
	fc.now += 49 * MS;
	CHECK(!pep_breaker_allow(b));
	CHECK(pep_breaker_state(b) == PEP_BREAKER_OPEN);
	fc.now += 1 * MS;
	CHECK(pep_breaker_state(b) == PEP_BREAKER_HALF_OPEN);
	CHECK(pep_breaker_allow(b));
	CHECK(pep_breaker_allow(b));
	CHECK(!pep_breaker_allow(b));		/* only two trials */
	pep_breaker_record_failure(b);		/* a failed trial reopens */
	CHECK(pep_breaker_state(b) == PEP_BREAKER_OPEN);
	CHECK(!pep_breaker_allow(b));
	fc.now += 50 * MS;
	CHECK(pep_breaker_allow(b));
	CHECK(pep_breaker_state(b) == PEP_BREAKER_HALF_OPEN);
	pep_breaker_record_success(b);		/* one success closes */
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
	/* closing forgot the old failures: two more do not trip */
	pep_breaker_record_failure(b);
	pep_breaker_record_failure(b);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
	pep_breaker_stats(b, &st);
	CHECK(st.calls == 8 && st.successes == 3 && st.failures == 6);
	CHECK(st.rejections == 4 && st.trips == 2);
	pep_breaker_destroy(b);
	return T_PASS;
}

static int test_breaker_window(void)
{
	struct pep_breaker_opts o = { .failure_threshold = 3, .window_ns = 100 * MS };
	struct fake_clock fc = { 0 };
	struct pep_clock clk = clock_of(&fc);
	struct pep_breaker *b;

	CHECK(pep_breaker_create(&b, &o, &clk, NULL) == 0);
	/* one failure every 50 ms: any three span 100 ms, never within it */
	for (int i = 0; i < 20; i++) {
		pep_breaker_record_failure(b);
		CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
		fc.now += 50 * MS;
	}
	fc.now -= 1 * MS;			/* now three fall within 99 ms */
	pep_breaker_record_failure(b);
	pep_breaker_record_failure(b);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_OPEN);
	pep_breaker_destroy(b);
	return T_PASS;
}

static int test_breaker_successes(void)
{
	struct pep_breaker_opts o = { .failure_threshold = 1, .open_ns = 10,
				      .half_open_calls = 3, .success_threshold = 3 };
	struct fake_clock fc = { 0 };
	struct pep_clock clk = clock_of(&fc);
	struct pep_breaker *b;
	struct pep_err err;

	CHECK(pep_breaker_create(&b, &o, &clk, NULL) == 0);
	pep_breaker_record_failure(b);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_OPEN);
	fc.now += 10;
	for (int i = 0; i < 3; i++)
		CHECK(pep_breaker_allow(b));
	CHECK(!pep_breaker_allow(b));
	pep_breaker_record_success(b);
	pep_breaker_record_success(b);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_HALF_OPEN);
	pep_breaker_record_success(b);
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED);
	pep_breaker_destroy(b);

	o.success_threshold = 4;
	CHECK(pep_breaker_create(&b, &o, NULL, &err) == -EINVAL && !b);
	CHECK(strstr(err.msg, "success_threshold"));
	o = (struct pep_breaker_opts){ .failure_threshold = 1000000 };
	CHECK(pep_breaker_create(&b, &o, NULL, &err) == -EINVAL);
	CHECK(pep_breaker_create(&b, NULL, NULL, NULL) == 0);	/* defaults */
	CHECK(pep_breaker_state(b) == PEP_BREAKER_CLOSED && pep_breaker_allow(b));
	pep_breaker_destroy(b);
	pep_breaker_destroy(NULL);
	CHECK(!strcmp(pep_breaker_state_name(PEP_BREAKER_CLOSED), "closed"));
	CHECK(!strcmp(pep_breaker_state_name(PEP_BREAKER_OPEN), "open"));
	CHECK(!strcmp(pep_breaker_state_name(PEP_BREAKER_HALF_OPEN), "half-open"));
	CHECK(!strcmp(pep_breaker_state_name((enum pep_breaker_state)9), "unknown"));
	return T_PASS;
}

#define THREADS 4
#define ROUNDS 20000

struct worker {
	struct pep_breaker *b;
	struct fake_clock *fc;
	unsigned int seed;
	uint64_t allowed, refused;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	struct pep_rng rng;

	pep_rng_seed(&rng, w->seed);
	for (int i = 0; i < ROUNDS; i++) {
		__atomic_add_fetch(&w->fc->now, MS, __ATOMIC_RELAXED);
		if (!pep_breaker_allow(w->b)) {
			w->refused++;
			continue;
		}
		w->allowed++;
		if (pep_rng_upto(&rng, 3) == 0)
			pep_breaker_record_failure(w->b);
		else
			pep_breaker_record_success(w->b);
		(void)pep_breaker_state(w->b);
	}
	return NULL;
}

static int test_breaker_threads(void)
{
	struct pep_breaker_opts o = { .failure_threshold = 4, .window_ns = 10 * MS,
				      .open_ns = 20 * MS, .half_open_calls = 2 };
	struct fake_clock fc = { 0 };
	struct pep_clock clk = clock_of(&fc);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct pep_breaker_stats st;
	struct pep_breaker *b;
	uint64_t allowed = 0, refused = 0;

	CHECK(pep_breaker_create(&b, &o, &clk, NULL) == 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .b = b, .fc = &fc, .seed = 100 + i };
		if (pthread_create(&t[i], NULL, hammer, &w[i]))
			return T_ERROR;
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		allowed += w[i].allowed;
		refused += w[i].refused;
	}
	pep_breaker_stats(b, &st);
	CHECK(st.calls == allowed && st.rejections == refused);
	CHECK(allowed + refused == (uint64_t)THREADS * ROUNDS);
	CHECK(st.successes + st.failures == allowed);
	CHECK(st.trips > 0 && refused > 0);
	pep_breaker_destroy(b);
	return T_PASS;
}

static int test_real_clock(void)
{
	uint64_t a = pep_clock_now_ns(NULL), b;
	struct pep_clock none = { 0 };

	pep_clock_sleep_ns(&none, 1000000);
	b = pep_clock_now_ns(&none);
	CHECK(b - a >= 1000000);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("rng", test_rng, &rc);
	t_run("retry-cap", test_cap, &rc);
	t_run("retry-jitter", test_jitter, &rc);
	t_run("retry-should", test_should, &rc);
	t_run("retry-run", test_run, &rc);
	t_run("breaker-cycle", test_breaker_cycle, &rc);
	t_run("breaker-window", test_breaker_window, &rc);
	t_run("breaker-successes", test_breaker_successes, &rc);
	t_run("breaker-threads", test_breaker_threads, &rc);
	t_run("real-clock", test_real_clock, &rc);
	return rc;
}
