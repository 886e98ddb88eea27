/*
 * The Chase-Lev deque against a bitmap: one owner pushes N unique items
 * (and takes some back) while thieves steal; every item must come out
 * exactly once, checked by bitmap and by sum. The deque starts at 2 slots
 * so it grows many times under concurrent steals. Random sched_yield()
 * calls shake up the interleavings. COHETE_RUN (set by the cross suite
 * under qemu) scales the count down.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <pepita/sched.h>

#include "harness.h"

#define NTHIEVES	3

struct ctx {
	struct pep_deque *d;
	uint64_t n;
	_Atomic uint8_t *seen;
	_Atomic uint64_t sum;
	_Atomic uint64_t count;
	_Atomic uint64_t dups;
	_Atomic int done;
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Items are i + 2, so none is NULL or PEP_DEQUE_ABORT. */
static void got(struct ctx *c, void *p)
{
	uint64_t i = (uint64_t)(uintptr_t)p - 2;

	if (i >= c->n || atomic_exchange(&c->seen[i], 1))
		atomic_fetch_add(&c->dups, 1);
	atomic_fetch_add_explicit(&c->sum, i, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
}

static void *thief(void *arg)
{
	struct ctx *c = arg;
	uint64_t r = (uint64_t)(uintptr_t)&r | 1;
	void *p;

	for (;;) {
		p = pep_deque_steal(c->d);
		if (p == PEP_DEQUE_ABORT)
			continue;
		if (p)
			got(c, p);
		else if (atomic_load(&c->done))
			break;
		if (rnd(&r) % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static int test_concurrent(void)
{
	struct ctx c = { .n = getenv("COHETE_RUN") ? 200000 : 3000000 };
	pthread_t th[NTHIEVES];
	uint64_t i, r = 88172645463325252ull;
	void *p;
	int k;

	c.seen = calloc(c.n, 1);
	if (!c.seen || pep_deque_create(&c.d, 2) < 0)
		return T_ERROR;
	for (k = 0; k < NTHIEVES; k++)
		pthread_create(&th[k], NULL, thief, &c);
	for (i = 0; i < c.n; i++) {
		CHECK(pep_deque_push(c.d, (void *)(uintptr_t)(i + 2)) == 0);
		uint64_t x = rnd(&r);
		if (x % 3 == 0 && (p = pep_deque_take(c.d)))
			got(&c, p);
		if (x % 4096 == 1)
			sched_yield();
	}
	while ((p = pep_deque_take(c.d)))
		got(&c, p);
	atomic_store(&c.done, 1);
	for (k = 0; k < NTHIEVES; k++)
		pthread_join(th[k], NULL);
	CHECK(atomic_load(&c.dups) == 0);
	CHECK(atomic_load(&c.count) == c.n);
	CHECK(atomic_load(&c.sum) == c.n * (c.n - 1) / 2);
	for (i = 0; i < c.n; i++)
		CHECK(c.seen[i] == 1);
	CHECK(pep_deque_size(c.d) == 0);
	pep_deque_destroy(c.d);
	free(c.seen);
	return T_PASS;
}

/* Single-threaded: LIFO take, FIFO steal, empty at bottom 0, growth. */
static int test_serial(void)
{
	struct pep_deque *d;
	uintptr_t i;

	CHECK(pep_deque_create(&d, 1) == 0);
	CHECK(pep_deque_take(d) == NULL);	/* bottom 0: must not wrap */
	CHECK(pep_deque_take(d) == NULL);
	CHECK(pep_deque_steal(d) == NULL);
	CHECK(pep_deque_size(d) == 0);
	for (i = 2; i < 1002; i++)
		CHECK(pep_deque_push(d, (void *)i) == 0);
	CHECK(pep_deque_size(d) == 1000);
	CHECK(pep_deque_steal(d) == (void *)2);
	CHECK(pep_deque_take(d) == (void *)1001);
	for (i = 1000; i > 2; i--)
		CHECK(pep_deque_take(d) == (void *)i);
	CHECK(pep_deque_take(d) == NULL);
	CHECK(pep_deque_steal(d) == NULL);
	CHECK(pep_deque_push(d, (void *)7) == 0);
	CHECK(pep_deque_steal(d) == (void *)7);
	CHECK(pep_deque_take(d) == NULL);
	pep_deque_destroy(d);
	pep_deque_destroy(NULL);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("deque-serial", test_serial, &rc);
	t_run("deque-concurrent", test_concurrent, &rc);
	return rc;
}
