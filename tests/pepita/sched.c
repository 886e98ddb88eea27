/*
 * The scheduler: fork-join answers (fib, recursive-halving sum, nested
 * groups) for several worker counts, detached tasks at three priorities,
 * submits from many threads, wait_idle, destroy draining its queue, idle
 * workers sleeping (process CPU time over a second), and the counters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <pepita/sched.h>

#include "harness.h"

struct fib {
	int n;
	uint64_t r;
};

static void fib_task(void *arg)
{
	struct fib *f = arg, a = { f->n - 1, 0 }, b = { f->n - 2, 0 };
	struct pep_group g = PEP_GROUP_INIT;

	if (f->n < 2) {
		f->r = (uint64_t)f->n;
		return;
	}
	pep_spawn(&g, fib_task, &a);
	fib_task(&b);
	pep_sync(&g);
	f->r = a.r + b.r;
}

static uint64_t fib_serial(int n)
{
	return n < 2 ? (uint64_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

struct sum {
	const uint32_t *v;
	size_t n;
	uint64_t r;
};

static void sum_task(void *arg)
{
	struct sum *s = arg, a, b;
	struct pep_group g = PEP_GROUP_INIT;
	size_t i;

	if (s->n <= 16) {
		for (s->r = 0, i = 0; i < s->n; i++)
			s->r += s->v[i];
		return;
	}
	a = (struct sum){ s->v, s->n / 2, 0 };
	b = (struct sum){ s->v + s->n / 2, s->n - s->n / 2, 0 };
	pep_spawn(&g, sum_task, &a);
	pep_spawn(&g, sum_task, &b);
	pep_sync(&g);
	s->r = a.r + b.r;
}

/* Two groups open at once, synced in the opposite order, each nested. */
static void nested_task(void *arg)
{
	uint64_t *out = arg;
	struct fib f[4] = { { 12, 0 }, { 13, 0 }, { 14, 0 }, { 15, 0 } };
	struct pep_group g1 = PEP_GROUP_INIT, g2 = PEP_GROUP_INIT;

	pep_spawn(&g1, fib_task, &f[0]);
	pep_spawn(&g2, fib_task, &f[1]);
	pep_spawn(&g1, fib_task, &f[2]);
	pep_spawn(&g2, fib_task, &f[3]);
	pep_sync(&g2);
	pep_sync(&g1);
	*out = f[0].r + f[1].r + f[2].r + f[3].r;
}

static int check_forkjoin(struct pep_sched *s)
{
	static uint32_t v[100003];
	static const size_t sizes[] = { 0, 1, 17, 1000, 4096, 100003 };
	uint64_t want, out;
	size_t i, k;

	for (int n = 0; n <= 25; n += 5) {
		struct fib f = { n, 0 };

		pep_sched_run(s, fib_task, &f);
		CHECK(f.r == fib_serial(n));
	}
	for (i = 0; i < 100003; i++)
		v[i] = (uint32_t)(i * 2654435761u);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct sum sm = { v, sizes[k], 0 };

		for (want = 0, i = 0; i < sizes[k]; i++)
			want += v[i];
		pep_sched_run(s, sum_task, &sm);
		CHECK(sm.r == want);
	}
	pep_sched_run(s, nested_task, &out);
	CHECK(out == fib_serial(12) + fib_serial(13) + fib_serial(14) +
		     fib_serial(15));
	return T_PASS;
}

static int test_forkjoin(void)
{
	static const unsigned int workers[] = { 1, 2, 3, 4, 8 };
	struct pep_sched_stats st;
	struct pep_sched *s;
	size_t i;

	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		struct pep_sched_opts o = { .workers = workers[i],
					    .deque_size = 4 };

		CHECK(pep_sched_create(&s, &o, NULL) == 0);
		CHECK(pep_sched_workers(s) == workers[i]);
		if (check_forkjoin(s) != T_PASS) {
			fprintf(stderr, "with %u workers\n", workers[i]);
			return T_FAIL;
		}
		pep_sched_wait_idle(s);
		pep_sched_stats(s, &st);
		CHECK(st.spawns > 0 && st.tasks > st.spawns);
		CHECK(st.tasks <= st.spawns + 20);	/* + the run() roots */
		if (workers[i] == 1)
			CHECK(st.steals == 0);
		pep_sched_destroy(s);
	}
	return T_PASS;
}

/* Outside the scheduler, spawn runs inline and sync returns. */
static int test_outside(void)
{
	struct fib f = { 15, 0 };

	CHECK(pep_sched_worker_id() == -1);
	fib_task(&f);
	CHECK(f.r == fib_serial(15));
	return T_PASS;
}

struct order {
	_Atomic int gate;
	_Atomic int next;
	int pos[6];
};

struct order_arg {
	struct order *o;
	int idx;
};

static void block_task(void *arg)
{
	struct order *o = arg;

	while (!atomic_load(&o->gate))
		usleep(100);
}

static void order_task(void *arg)
{
	struct order_arg *a = arg;

	a->o->pos[a->idx] = atomic_fetch_add(&a->o->next, 1);
}

static int test_priorities(void)
{
	static const enum pep_prio prio[6] = { PEP_PRIO_LOW, PEP_PRIO_NORMAL,
		PEP_PRIO_HIGH, PEP_PRIO_LOW, PEP_PRIO_HIGH, PEP_PRIO_NORMAL };
	struct pep_sched_opts o1 = { .workers = 1 };
	struct order o = { 0 };
	struct order_arg a[6];
	struct pep_sched *s;
	int i;

	CHECK(pep_sched_create(&s, &o1, NULL) == 0);
	CHECK(pep_sched_submit(s, block_task, &o, PEP_PRIO_NORMAL) == 0);
	usleep(20000);		/* let the worker pick up the blocker */
	for (i = 0; i < 6; i++) {
		a[i] = (struct order_arg){ &o, i };
		CHECK(pep_sched_submit(s, order_task, &a[i], prio[i]) == 0);
	}
	CHECK(pep_sched_submit(s, order_task, a, 7) == -EINVAL);
	atomic_store(&o.gate, 1);
	pep_sched_wait_idle(s);
	/* high: 2, 4; normal: 1, 5; low: 0, 3 - FIFO within a level. */
	CHECK(o.pos[2] == 0 && o.pos[4] == 1);
	CHECK(o.pos[1] == 2 && o.pos[5] == 3);
	CHECK(o.pos[0] == 4 && o.pos[3] == 5);
	pep_sched_destroy(s);
	return T_PASS;
}

#define SUBMITTERS	6
#define PER_SUBMITTER	2000

struct sub_ctx {
	struct pep_sched *s;
	_Atomic uint64_t ran;
	_Atomic int fail;
};

static void count_task(void *arg)
{
	struct sub_ctx *c = arg;

	atomic_fetch_add(&c->ran, 1);
}

static void *submitter(void *arg)
{
	struct sub_ctx *c = arg;

	for (int i = 0; i < PER_SUBMITTER; i++)
		if (pep_sched_submit(c->s, count_task, c, (enum pep_prio)(i % 3)))
			atomic_store(&c->fail, 1);
	return NULL;
}

static int test_submit_many(void)
{
	struct pep_sched_opts o = { .workers = 3 };
	pthread_t th[SUBMITTERS];
	struct sub_ctx c = { 0 };
	int i;

	CHECK(pep_sched_create(&c.s, &o, NULL) == 0);
	for (i = 0; i < SUBMITTERS; i++)
		pthread_create(&th[i], NULL, submitter, &c);
	for (i = 0; i < SUBMITTERS; i++)
		pthread_join(th[i], NULL);
	pep_sched_wait_idle(c.s);
	CHECK(!atomic_load(&c.fail));
	CHECK(atomic_load(&c.ran) == SUBMITTERS * PER_SUBMITTER);
	pep_sched_destroy(c.s);
	return T_PASS;
}

static void slow_task(void *arg)
{
	_Atomic uint64_t *ran = arg;

	usleep(200);
	atomic_fetch_add(ran, 1);
}

/* destroy runs what is queued, then refuses more. */
static int test_destroy_drains(void)
{
	struct pep_sched_opts o = { .workers = 2 };
	_Atomic uint64_t ran = 0;
	struct pep_sched *s;
	int i;

	CHECK(pep_sched_create(&s, &o, NULL) == 0);
	for (i = 0; i < 500; i++)
		CHECK(pep_sched_submit(s, slow_task, &ran, PEP_PRIO_LOW) == 0);
	pep_sched_destroy(s);
	CHECK(atomic_load(&ran) == 500);
	pep_sched_destroy(NULL);
	return T_PASS;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int test_idle_sleeps(void)
{
	struct pep_sched_opts o = { .workers = 2 };
	struct pep_sched_stats st;
	struct pep_sched *s;
	struct fib f = { 18, 0 };
	double c0, used;

	CHECK(pep_sched_create(&s, &o, NULL) == 0);
	pep_sched_run(s, fib_task, &f);
	usleep(200000);		/* spin, then park */
	c0 = cpu_s();
	usleep(1000000);
	used = cpu_s() - c0;
	pep_sched_stats(s, &st);
	if (used > 0.02) {
		fprintf(stderr, "idle workers used %.3f s CPU in 1 s\n", used);
		return T_FAIL;
	}
	CHECK(st.parks >= 2);
	pep_sched_destroy(s);
	return T_PASS;
}

static int test_bad_opts(void)
{
	struct pep_sched_opts o = { .workers = 1u << 20 };
	struct pep_sched *s;
	struct pep_err err;

	CHECK(pep_sched_create(&s, &o, &err) == -EINVAL && err.code == -EINVAL);
	o = (struct pep_sched_opts){ .deque_size = 1u << 31 };
	CHECK(pep_sched_create(&s, &o, NULL) == -EINVAL);
	CHECK(pep_sched_create(&s, NULL, NULL) == 0);
	CHECK(pep_sched_workers(s) == (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
	pep_sched_destroy(s);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("sched-outside", test_outside, &rc);
	t_run("sched-forkjoin", test_forkjoin, &rc);
	t_run("sched-priorities", test_priorities, &rc);
	t_run("sched-submit-many", test_submit_many, &rc);
	t_run("sched-destroy-drains", test_destroy_drains, &rc);
	t_run("sched-idle-sleeps", test_idle_sleeps, &rc);
	t_run("sched-bad-opts", test_bad_opts, &rc);
	return rc;
}
