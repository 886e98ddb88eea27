/*
 * The pool against real work: function tasks on the scheduler, programs
 * on the local lane (output, priorities, a missing binary), range tasks on
 * the simd lane, retries with backoff (and none for a permanent error), a
 * lane whose breaker opens, cancel of queued and running tasks, shutdown
 * with and without draining. Suite host (it runs programs) and threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/pool.h>

#include "harness.h"

static struct pep_pool *new_pool(unsigned int workers, unsigned int slots,
				 const struct pep_retry_policy *retry,
				 const struct pep_breaker_opts *breaker,
				 const struct pep_clock *clock)
{
	struct pep_pool_opts o = { .workers = workers, .proc_slots = slots,
				   .retry = retry, .breaker = breaker,
				   .clock = clock, .seed = 42 };
	struct pep_pool *p = NULL;
	struct pep_err err;

	if (pep_pool_create(&p, &o, &err))
		fprintf(stderr, "pool: %s\n", err.msg);
	return p;
}

static int square(void *arg, struct pep_task_result *res)
{
	int64_t v = (int64_t)(intptr_t)arg;

	res->value = v * v;
	return 0;
}

static int test_functions(void)
{
	struct pep_pool *p = new_pool(2, 1, NULL, NULL, NULL);
	struct pep_future *f[500];
	struct pep_pool_stats st;
	int i;

	CHECK(p);
	for (i = 0; i < 500; i++) {
		struct pep_task t = { .kind = PEP_TASK_FN, .fn = square,
				      .arg = (void *)(intptr_t)i,
				      .prio = (enum pep_prio)(i % 3) };

		CHECK(pep_pool_submit(p, &t, NULL, NULL, &f[i], NULL) == 0);
	}
	pep_pool_wait_all(p);
	for (i = 0; i < 500; i++) {
		const struct pep_task_result *r = pep_future_result(f[i]);

		CHECK(r && r->error == 0 && r->value == (int64_t)i * i);
		CHECK(r->attempts == 1 && !strcmp(r->backend, "thread"));
		CHECK(pep_future_id(f[i]) == (uint64_t)i + 1);
		pep_future_release(f[i]);
	}
	pep_pool_stats(p, &st);
	CHECK(st.submitted == 500 && st.succeeded == 500 && st.failed == 0);
	pep_pool_destroy(p);
	return T_PASS;
}

static int test_program(void)
{
	const char *echo[] = { "sh", "-c", "echo hi; echo oops >&2; exit 4", NULL };
	const char *missing[] = { "pepita-no-such-program", NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = echo };
	struct pep_pool *p = new_pool(1, 2, NULL, NULL, NULL);
	const struct pep_task_result *r;
	struct pep_future *f;

	CHECK(p);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
	CHECK(pep_future_wait(f, 30000) == 0);
	r = pep_future_result(f);
	CHECK(r->error == 0 && r->exited && r->exit_code == 4);
	CHECK(!strcmp(r->out, "hi\n") && !strcmp(r->err, "oops\n"));
	CHECK(!strcmp(r->lane, "local") && !strcmp(r->backend, "process"));
	CHECK(!pep_task_ok(PEP_TASK_PROC, r));
	pep_future_release(f);
	t.argv = missing;
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
	CHECK(pep_future_wait(f, 30000) == 0);
	r = pep_future_result(f);
	CHECK(r->error == -ENOENT && strstr(r->message, "pepita-no-such-program"));
	pep_future_release(f);
	pep_pool_destroy(p);
	return T_PASS;
}

/* With one slot held by a sleeper, queued tasks start high, normal, low. */
struct order {
	char seen[8];
	int n;
};

static void note_done(struct pep_future *f, void *ctx)
{
	struct order *o = ctx;
	const struct pep_task_result *r = pep_future_result(f);

	(void)r;
	o->seen[o->n++] = (char)('0' + (int)pep_future_id(f));
}

static int test_priorities(void)
{
	const char *hold[] = { "sleep", "0.3", NULL };
	const char *quick[] = { "true", NULL };
	struct pep_pool *p = new_pool(1, 1, NULL, NULL, NULL);
	struct order o = { .n = 0 };
	enum pep_prio prio[] = { PEP_PRIO_LOW, PEP_PRIO_NORMAL, PEP_PRIO_HIGH };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = hold };
	int i;

	CHECK(p);
	CHECK(pep_pool_submit(p, &t, note_done, &o, NULL, NULL) == 0);	/* id 1 */
	usleep(50000);		/* the sleeper holds the only slot */
	t.argv = quick;
	for (i = 0; i < 3; i++) {	/* ids 2 (low), 3 (normal), 4 (high) */
		t.prio = prio[i];
		CHECK(pep_pool_submit(p, &t, note_done, &o, NULL, NULL) == 0);
	}
	pep_pool_wait_all(p);
	o.seen[o.n] = '\0';
	if (strcmp(o.seen, "1432")) {
		fprintf(stderr, "completion order %s, expected 1432\n", o.seen);
		return T_FAIL;
	}
	pep_pool_destroy(p);
	return T_PASS;
}

/* Fails until its counter reaches the number of failures wanted. */
struct flaky {
	int failures;
	int calls;		/* atomic */
	int error;
};

static int flaky_fn(void *arg, struct pep_task_result *res)
{
	struct flaky *fl = arg;
	int n = __atomic_add_fetch(&fl->calls, 1, __ATOMIC_RELAXED);

	return n <= fl->failures ? fl->error : 0;
}

static int run_flaky(struct pep_pool *p, struct flaky *fl,
		     const struct pep_task_result **r, struct pep_future **f)
{
	struct pep_task t = { .kind = PEP_TASK_FN, .fn = flaky_fn, .arg = fl };

	if (pep_pool_submit(p, &t, NULL, NULL, f, NULL) || pep_future_wait(*f, 30000))
		return -1;
	*r = pep_future_result(*f);
	return 0;
}

static int test_retries(void)
{
	struct pep_retry_policy rp = { .max_attempts = 4, .base_delay_ns = 1000000,
				       .max_delay_ns = 5000000 };
	struct pep_pool *p = new_pool(2, 1, &rp, NULL, NULL);
	struct flaky twice = { 2, 0, -EAGAIN }, always = { 1000, 0, -EIO };
	struct flaky permanent = { 1000, 0, -ENOENT };
	const struct pep_task_result *r;
	struct pep_pool_stats st;
	struct pep_future *f;

	CHECK(p);
	CHECK(run_flaky(p, &twice, &r, &f) == 0);
	CHECK(r->error == 0 && r->attempts == 3 && twice.calls == 3);
	pep_future_release(f);
	CHECK(run_flaky(p, &always, &r, &f) == 0);
	CHECK(r->error == -EIO && r->attempts == 4 && always.calls == 4);
	pep_future_release(f);
	CHECK(run_flaky(p, &permanent, &r, &f) == 0);
	CHECK(r->error == -ENOENT && r->attempts == 1);
	pep_future_release(f);
	pep_pool_stats(p, &st);
	CHECK(st.retries == 2 + 3 && st.succeeded == 1 && st.failed == 2);
	pep_pool_destroy(p);
	return T_PASS;
}

/* A program that fails once, then succeeds: a file marks the first run. */
static int test_program_retry(void)
{
	char mark[] = "/tmp/pepita-pool-XXXXXX", script[256];
	struct pep_retry_policy rp = { .max_attempts = 3, .base_delay_ns = 1000000 };
	struct pep_pool *p = new_pool(1, 1, &rp, NULL, NULL);
	const char *argv[] = { "sh", "-c", script, NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = argv };
	const struct pep_task_result *r;
	struct pep_future *f;
	int fd = mkstemp(mark);

	CHECK(p && fd >= 0);
	close(fd);
	unlink(mark);
	snprintf(script, sizeof(script),
		 "if [ -e %s ]; then echo second; else touch %s; exit 1; fi",
		 mark, mark);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
	CHECK(pep_future_wait(f, 30000) == 0);
	r = pep_future_result(f);
	CHECK(r->exit_code == 0 && r->attempts == 2 && !strcmp(r->out, "second\n"));
	pep_future_release(f);
	unlink(mark);
	pep_pool_destroy(p);
	return T_PASS;
}

/* An executor that always fails, behind a breaker on a fake clock. */
static int fail_run(struct pep_executor *ex, const struct pep_task *t,
		    struct pep_task_result *res, int cancel_fd)
{
	res->error = -EIO;
	snprintf(res->message, sizeof(res->message), "broken backend");
	return -EIO;
}

static void no_destroy(struct pep_executor *ex)
{
}

static uint64_t fake_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

static int test_breaker(void)
{
	static const struct pep_executor_ops broken_ops = {
		.name = "broken", .kinds = 1u << PEP_TASK_PROC,
		.run = fail_run, .destroy = no_destroy,
	};
	struct pep_executor broken = { .ops = &broken_ops };
	struct pep_breaker_opts bo = { .failure_threshold = 2,
				       .window_ns = 60000000000ull,
				       .open_ns = 60000000000ull };
	uint64_t now = 1000000000;
	struct pep_clock clock = { .now_ns = fake_now, .ctx = &now };
	struct pep_pool_opts o = { .workers = 1, .no_local = 1, .breaker = &bo,
				   .clock = &clock };
	const char *argv[] = { "true", NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = argv };
	struct pep_pool_stats st;
	struct pep_future *f;
	struct pep_pool *p;
	int i;

	CHECK(pep_pool_create(&p, &o, NULL) == 0);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, NULL, NULL) == -ENODEV);
	CHECK(pep_pool_add_lane(p, "broken", &broken, 1, NULL) == 0);
	for (i = 0; i < 5; i++) {
		CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
		CHECK(pep_future_wait(f, 30000) == 0);
		CHECK(pep_future_result(f)->error == (i < 2 ? -EIO : -EHOSTDOWN));
		CHECK(!strcmp(pep_future_result(f)->lane, "broken"));
		pep_future_release(f);
	}
	pep_pool_stats(p, &st);
	CHECK(st.rejected == 3 && st.failed == 5);
	pep_pool_destroy(p);
	return T_PASS;
}

static int test_cancel(void)
{
	const char *hold[] = { "sleep", "30", NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = hold };
	struct pep_pool *p = new_pool(1, 1, NULL, NULL, NULL);
	struct pep_future *running, *queued;
	uint64_t start = pep_time_ns();

	CHECK(p);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &running, NULL) == 0);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &queued, NULL) == 0);
	usleep(100000);
	CHECK(pep_future_cancel(queued) == 0);
	CHECK(pep_future_wait(queued, 0) == 0);
	CHECK(pep_future_result(queued)->error == -ECANCELED);
	CHECK(pep_future_cancel(running) == 0);
	CHECK(pep_future_wait(running, 20000) == 0);
	CHECK(pep_future_result(running)->error == -ECANCELED);
	CHECK(pep_future_cancel(running) == -EALREADY);
	CHECK(pep_time_ns() - start < 20ull * 1000000000);
	pep_future_release(running);
	pep_future_release(queued);
	pep_pool_destroy(p);
	return T_PASS;
}

static int test_shutdown(void)
{
	const char *hold[] = { "sleep", "30", NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = hold };
	struct pep_pool *p = new_pool(1, 1, NULL, NULL, NULL);
	struct pep_future *f[4];
	struct pep_err err;
	int i;

	CHECK(p);
	for (i = 0; i < 4; i++)
		CHECK(pep_pool_submit(p, &t, NULL, NULL, &f[i], NULL) == 0);
	usleep(100000);
	pep_pool_shutdown(p, 0);
	for (i = 0; i < 4; i++) {
		CHECK(pep_future_done(f[i]));
		CHECK(pep_future_result(f[i])->error == -ECANCELED);
		pep_future_release(f[i]);
	}
	CHECK(pep_pool_submit(p, &t, NULL, NULL, NULL, &err) == -ESHUTDOWN);
	pep_pool_destroy(p);
	return T_PASS;
}

/* A range: the sum of i over [0, n), chunk by chunk. */
static void add_range(size_t begin, size_t end, void *arg)
{
	uint64_t sum = 0;

	for (size_t i = begin; i < end; i++)
		sum += i;
	__atomic_add_fetch((uint64_t *)arg, sum, __ATOMIC_RELAXED);
}

static int test_range(void)
{
	struct pep_pool *p = new_pool(2, 1, NULL, NULL, NULL);
	uint64_t sum = 0, n = 1000000;
	struct pep_task t = { .kind = PEP_TASK_RANGE, .kernel = add_range,
			      .arg = &sum, .n = (size_t)n, .grain = 10000 };
	const struct pep_task_result *r;
	struct pep_future *f;

	CHECK(p);
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
	CHECK(pep_future_wait(f, 30000) == 0);
	r = pep_future_result(f);
	CHECK(r->error == 0 && !strcmp(r->backend, "simd"));
	CHECK(sum == n * (n - 1) / 2);
	CHECK(r->value >= 100 && r->value <= 128);	/* chunks of <= 10000 */
	pep_future_release(f);
	pep_pool_destroy(p);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("functions", test_functions, &rc);
	t_run("program", test_program, &rc);
	t_run("priorities", test_priorities, &rc);
	t_run("retries", test_retries, &rc);
	t_run("program_retry", test_program_retry, &rc);
	t_run("breaker", test_breaker, &rc);
	t_run("cancel", test_cancel, &rc);
	t_run("shutdown", test_shutdown, &rc);
	t_run("range", test_range, &rc);
	return rc;
}
