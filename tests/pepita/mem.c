/*
 * pepita mem, unit suite: the buddy allocator against a reference model.
 * The region is reserved PROT_NONE, so an allocator that touched it would
 * crash. 10^6 random alloc/free operations check that no two blocks
 * overlap, every block is aligned to its size, a failed allocation means
 * the model has no free aligned range either, and freeing everything
 * coalesces back to the initial blocks. Also edge cases and 4 threads on
 * one PEP_BUDDY_LOCKED allocator (suite threads, for TSan).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pepita/mem.h>

#include "harness.h"

#define MAX_ORDER	6
/* Not a multiple of the largest block: 15 whole blocks and a 37-page tail. */
#define NPAGES		(15u * (1u << MAX_ORDER) + 37u)
#define N_OPS		1000000
#define N_THREADS	4
#define THREAD_OPS	50000

static unsigned int page_shift;
static size_t page_bytes;

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The free blocks per order a fresh allocator over npages starts with. */
static void initial_blocks(uint64_t npages, unsigned int max_order,
			   uint64_t want[PEP_BUDDY_MAX_ORDER + 1])
{
	uint64_t i = 0;

	memset(want, 0, sizeof(want[0]) * (PEP_BUDDY_MAX_ORDER + 1));
	while (i < npages) {
		unsigned int o = max_order;

		while (o > 0 && ((i & ((1ull << o) - 1)) ||
				 i + (1ull << o) > npages))
			o--;
		want[o]++;
		i += 1ull << o;
	}
}

/* Fully coalesced: exactly the initial blocks, counters balanced. */
static int check_coalesced(struct pep_buddy *b, uint64_t npages,
			   unsigned int max_order)
{
	uint64_t want[PEP_BUDDY_MAX_ORDER + 1];
	struct pep_buddy_stats st;
	unsigned int o;

	initial_blocks(npages, max_order, want);
	pep_buddy_stats(b, &st);
	CHECK(st.total_pages == npages);
	CHECK(st.free_pages == npages);
	CHECK(st.used_pages == 0);
	CHECK(st.allocs == st.frees);
	/* Each split adds one free block, each merge removes one. */
	CHECK(st.splits == st.merges);
	for (o = 0; o <= PEP_BUDDY_MAX_ORDER; o++)
		CHECK(st.free_blocks[o] == want[o]);
	CHECK(want[max_order] == npages >> max_order);
	return T_PASS;
}

struct live {
	void *ptr;
	unsigned int order;
};

/* Whether the model has a free range of 2^order pages aligned to its size. */
static int model_has_free(const uint8_t *owned, uint64_t npages,
			  unsigned int order)
{
	uint64_t n = 1ull << order, i, j;

	for (i = 0; i + n <= npages; i += n) {
		for (j = 0; j < n && !owned[i + j]; j++)
			;
		if (j == n)
			return 1;
	}
	return 0;
}

static int test_random(void)
{
	static uint8_t owned[NPAGES];
	static struct live live[NPAGES];
	size_t bytes = (size_t)NPAGES * page_bytes + page_bytes / 2;
	uint64_t seed = 0x9e3779b97f4a7c15ull, used = 0, fails = 0;
	struct pep_buddy_stats st;
	struct pep_buddy *b;
	struct pep_err err;
	size_t nlive = 0;
	uintptr_t base;
	char *region;
	long op;
	int ret;

	region = reserve(bytes);
	CHECK(region);
	base = (uintptr_t)region;
	/* A half page past the last whole page is ignored. */
	ret = pep_buddy_create(&b, region, bytes, page_shift, MAX_ORDER, 0,
			       &err);
	if (ret)
		fprintf(stderr, "create: %s\n", err.msg);
	CHECK(ret == 0);
	CHECK(check_coalesced(b, NPAGES, MAX_ORDER) == T_PASS);
	memset(owned, 0, sizeof(owned));

	for (op = 0; op < N_OPS; op++) {
		uint64_t r = rng_next(&seed);

		/*
		 * Phases of 50000 operations alternate between filling (75%
		 * allocations) and draining (25%), so the region runs full
		 * and allocations fail as well as succeed.
		 */
		if (nlive == 0 ||
		    r % 100 < ((op / 50000) % 2 ? 25u : 75u)) {
			/* Orders skewed small: 0 most, MAX_ORDER rarely. */
			unsigned int order = (unsigned int)
				(__builtin_ctzll(rng_next(&seed) | (1ull << 62)) %
				 (MAX_ORDER + 1));
			char *p = pep_buddy_alloc(b, order);
			uint64_t first, k;

			if (!p) {
				CHECK(!model_has_free(owned, NPAGES, order));
				fails++;
				continue;
			}
			CHECK((uintptr_t)p >= base);
			CHECK(((uintptr_t)p - base) %
			      (page_bytes << order) == 0);
			first = ((uintptr_t)p - base) / page_bytes;
			CHECK(first + (1ull << order) <= NPAGES);
			for (k = 0; k < (1ull << order); k++) {
				CHECK(!owned[first + k]);
				owned[first + k] = 1;
			}
			live[nlive].ptr = p;
			live[nlive].order = order;
			nlive++;
			used += 1ull << order;
		} else {
			size_t at = (size_t)(rng_next(&seed) % nlive);
			struct live l = live[at];
			uint64_t first = ((uintptr_t)l.ptr - base) / page_bytes;
			uint64_t k;

			CHECK(pep_buddy_free(b, l.ptr, l.order) == 0);
			for (k = 0; k < (1ull << l.order); k++)
				owned[first + k] = 0;
			live[at] = live[--nlive];
			used -= 1ull << l.order;
		}
		if (op % 4096 == 0) {
			uint64_t sum = 0;
			unsigned int o;

			pep_buddy_stats(b, &st);
			CHECK(st.used_pages == used);
			CHECK(st.free_pages + st.used_pages == NPAGES);
			for (o = 0; o <= MAX_ORDER; o++)
				sum += st.free_blocks[o] << o;
			CHECK(sum == st.free_pages);
			CHECK(st.allocs - st.frees == nlive);
		}
	}
	/* The run must have exercised both full and failing allocations. */
	CHECK(fails > 0);
	pep_buddy_stats(b, &st);
	CHECK(st.splits > 0 && st.merges > 0);

	while (nlive > 0) {
		size_t at = (size_t)(rng_next(&seed) % nlive);

		CHECK(pep_buddy_free(b, live[at].ptr, live[at].order) == 0);
		live[at] = live[--nlive];
	}
	CHECK(check_coalesced(b, NPAGES, MAX_ORDER) == T_PASS);
	fprintf(stderr, "     %d ops, %llu failed allocs, %llu splits\n",
		N_OPS, (unsigned long long)fails,
		(unsigned long long)st.splits);
	pep_buddy_destroy(b);
	munmap(region, bytes);
	return T_PASS;
}

static int test_edges(void)
{
	size_t bytes = (size_t)NPAGES * page_bytes;
	struct pep_buddy *b = NULL;
	struct pep_err err;
	char *region, *p;
	uint64_t n;

	region = reserve(bytes);
	CHECK(region);

	/* Bad arguments. */
	CHECK(pep_buddy_create(&b, region + 1, bytes - page_bytes, page_shift,
			       MAX_ORDER, 0, &err) == -EINVAL);
	CHECK(err.code == -EINVAL && strstr(err.msg, "aligned"));
	CHECK(!b);
	CHECK(pep_buddy_create(&b, region, page_bytes - 1, page_shift,
			       MAX_ORDER, 0, &err) == -EINVAL);
	CHECK(pep_buddy_create(&b, region, bytes, page_shift,
			       PEP_BUDDY_MAX_ORDER + 1, 0, &err) == -EINVAL);
	CHECK(strstr(err.msg, "max_order"));
	CHECK(pep_buddy_create(&b, region, bytes, 11, 0, 0, NULL) == -EINVAL);
	CHECK(pep_buddy_create(&b, region, bytes, page_shift, MAX_ORDER, 0x80,
			       NULL) == -EINVAL);
	CHECK(pep_buddy_create(&b, NULL, bytes, page_shift, MAX_ORDER, 0,
			       NULL) == -EINVAL);

	CHECK(pep_buddy_create(&b, region, bytes, page_shift, MAX_ORDER, 0,
			       &err) == 0);
	/* Order too big. */
	CHECK(pep_buddy_alloc(b, MAX_ORDER + 1) == NULL);
	CHECK(pep_buddy_alloc(b, 31) == NULL);

	/* Double free and wrong frees are refused and change nothing. */
	p = pep_buddy_alloc(b, 2);
	CHECK(p);
	CHECK(pep_buddy_free(b, p, 1) == -EINVAL);
	CHECK(pep_buddy_free(b, p + page_bytes, 0) == -EINVAL);
	CHECK(pep_buddy_free(b, p + 1, 2) == -EINVAL);
	CHECK(pep_buddy_free(b, region - page_bytes, 0) == -EINVAL);
	CHECK(pep_buddy_free(b, region + bytes, 0) == -EINVAL);
	CHECK(pep_buddy_free(b, p, MAX_ORDER + 1) == -EINVAL);
	CHECK(pep_buddy_free(b, p, 2) == 0);
	CHECK(pep_buddy_free(b, p, 2) == -EINVAL);
	CHECK(check_coalesced(b, NPAGES, MAX_ORDER) == T_PASS);

	/* Every page, one at a time, then nothing more; distinct pages. */
	for (n = 0; pep_buddy_alloc(b, 0); n++)
		;
	CHECK(n == NPAGES);
	CHECK(pep_buddy_alloc(b, 0) == NULL);
	for (n = 0; n < NPAGES; n++)
		CHECK(pep_buddy_free(b, region + n * page_bytes, 0) == 0);
	CHECK(check_coalesced(b, NPAGES, MAX_ORDER) == T_PASS);

	/* The largest blocks: 15 whole ones; the tail holds none. */
	for (n = 0; pep_buddy_alloc(b, MAX_ORDER); n++)
		;
	CHECK(n == NPAGES >> MAX_ORDER);
	pep_buddy_destroy(b);

	/* A one-page region; max_order above what fits. */
	CHECK(pep_buddy_create(&b, region, page_bytes, page_shift, 3, 0,
			       NULL) == 0);
	CHECK(pep_buddy_alloc(b, 1) == NULL);
	p = pep_buddy_alloc(b, 0);
	CHECK(p == region);
	CHECK(pep_buddy_alloc(b, 0) == NULL);
	CHECK(pep_buddy_free(b, p, 0) == 0);
	CHECK(check_coalesced(b, 1, 3) == T_PASS);
	pep_buddy_destroy(b);
	pep_buddy_destroy(NULL);
	munmap(region, bytes);
	return T_PASS;
}

struct thread_arg {
	struct pep_buddy *b;
	uintptr_t base;
	uint32_t *owner;		/* per page: 0 free, else thread id + 1 */
	unsigned int id;
	int rc;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct live mine[256];
	uint64_t seed = 0x2545f4914f6cdd1dull * (a->id + 1);
	size_t n = 0;
	int i;

	a->rc = T_FAIL;
	for (i = 0; i < THREAD_OPS; i++) {
		uint64_t r = rng_next(&seed), first, k;

		if (n < 256 && (n == 0 || r % 2)) {
			unsigned int order = (unsigned int)(rng_next(&seed) % 4);
			char *q = pep_buddy_alloc(a->b, order);

			if (!q)
				continue;
			first = ((uintptr_t)q - a->base) / page_bytes;
			for (k = 0; k < (1ull << order); k++) {
				uint32_t was = __atomic_exchange_n(
					&a->owner[first + k],
					(uint32_t)(a->id + 1), __ATOMIC_ACQ_REL);

				if (was) {
					fprintf(stderr, "page %llu owned twice\n",
						(unsigned long long)(first + k));
					return NULL;
				}
			}
			mine[n].ptr = q;
			mine[n++].order = order;
		} else {
			size_t at = (size_t)(rng_next(&seed) % n);

			first = ((uintptr_t)mine[at].ptr - a->base) / page_bytes;
			for (k = 0; k < (1ull << mine[at].order); k++)
				__atomic_store_n(&a->owner[first + k], 0,
						 __ATOMIC_RELEASE);
			if (pep_buddy_free(a->b, mine[at].ptr,
					   mine[at].order) != 0) {
				fprintf(stderr, "free %p order %u failed\n",
					mine[at].ptr, mine[at].order);
				return NULL;
			}
			mine[at] = mine[--n];
		}
	}
	while (n > 0) {
		uint64_t first, k;

		n--;
		first = ((uintptr_t)mine[n].ptr - a->base) / page_bytes;
		for (k = 0; k < (1ull << mine[n].order); k++)
			__atomic_store_n(&a->owner[first + k], 0,
					 __ATOMIC_RELEASE);
		if (pep_buddy_free(a->b, mine[n].ptr, mine[n].order) != 0)
			return NULL;
	}
	a->rc = T_PASS;
	return NULL;
}

static int test_threads(void)
{
	size_t bytes = (size_t)NPAGES * page_bytes;
	struct thread_arg args[N_THREADS];
	pthread_t tids[N_THREADS];
	static uint32_t owner[NPAGES];
	struct pep_buddy_stats st;
	struct pep_buddy *b;
	char *region;
	unsigned int i;

	region = reserve(bytes);
	CHECK(region);
	CHECK(pep_buddy_create(&b, region, bytes, page_shift, MAX_ORDER,
			       PEP_BUDDY_LOCKED, NULL) == 0);
	for (i = 0; i < N_THREADS; i++) {
		args[i] = (struct thread_arg){ .b = b, .base = (uintptr_t)region,
					       .owner = owner, .id = i };
		CHECK(pthread_create(&tids[i], NULL, thread_main, &args[i]) == 0);
	}
	for (i = 0; i < N_THREADS; i++)
		CHECK(pthread_join(tids[i], NULL) == 0);
	for (i = 0; i < N_THREADS; i++)
		CHECK(args[i].rc == T_PASS);
	pep_buddy_stats(b, &st);
	CHECK(st.allocs > N_THREADS * (uint64_t)THREAD_OPS / 4);
	CHECK(check_coalesced(b, NPAGES, MAX_ORDER) == T_PASS);
	pep_buddy_destroy(b);
	munmap(region, bytes);
	return T_PASS;
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	int rc = T_PASS;

	if (ps <= 0 || (ps & (ps - 1)))
		return T_ERROR;
	page_bytes = (size_t)ps;
	page_shift = (unsigned int)__builtin_ctzl((unsigned long)ps);
	t_run("edges", test_edges, &rc);
	t_run("random", test_random, &rc);
	t_run("threads", test_threads, &rc);
	return rc;
}
