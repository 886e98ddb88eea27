/*
 * Buddy page allocator: one free list per order, doubly linked through
 * side arrays indexed by page number, and one state byte per page saying
 * whether that page heads a free or an allocated block and of what order.
 * The buddy of block i of order k is i ^ 2^k; it can be merged when its
 * head byte says "free, order k": an O(1) check. The region itself is
 * never touched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/mem.h>

#define NIL		UINT32_MAX
#define ST_FREE		0x80u	/* head of a free block; low bits: order */
#define ST_USED		0x40u	/* head of an allocated block */
#define MAX_PAGES	((uint64_t)UINT32_MAX - 1)

struct pep_buddy {
	uintptr_t base;
	uint32_t npages;
	unsigned int page_shift;
	unsigned int max_order;
	bool locked;
	pthread_mutex_t lock;
	uint32_t head[PEP_BUDDY_MAX_ORDER + 1];
	uint32_t *next;
	uint32_t *prev;
	uint8_t *state;
	struct pep_buddy_stats st;
};

static void list_push(struct pep_buddy *b, uint32_t i, unsigned int order)
{
	uint32_t h = b->head[order];

	b->next[i] = h;
	b->prev[i] = NIL;
	if (h != NIL)
		b->prev[h] = i;
	b->head[order] = i;
	b->state[i] = (uint8_t)(ST_FREE | order);
	b->st.free_blocks[order]++;
}

static void list_del(struct pep_buddy *b, uint32_t i, unsigned int order)
{
	uint32_t n = b->next[i], p = b->prev[i];

	if (p != NIL)
		b->next[p] = n;
	else
		b->head[order] = n;
	if (n != NIL)
		b->prev[n] = p;
	b->state[i] = 0;
	b->st.free_blocks[order]--;
}

int pep_buddy_create(struct pep_buddy **out, void *base, size_t size,
		     unsigned int page_shift, unsigned int max_order,
		     unsigned int flags, struct pep_err *err)
{
	struct pep_buddy *b;
	uint64_t npages, i;
	int ret;

	if (!out)
		return pep_err_set(err, -EINVAL, "buddy: out is NULL");
	*out = NULL;
	if (!base)
		return pep_err_set(err, -EINVAL, "buddy: base is NULL");
	if (page_shift < 12 || page_shift > 30)
		return pep_err_set(err, -EINVAL,
				   "buddy: page_shift %u outside 12..30",
				   page_shift);
	if (max_order > PEP_BUDDY_MAX_ORDER)
		return pep_err_set(err, -EINVAL,
				   "buddy: max_order %u above %d", max_order,
				   PEP_BUDDY_MAX_ORDER);
	if (flags & ~PEP_BUDDY_LOCKED)
		return pep_err_set(err, -EINVAL, "buddy: unknown flags 0x%x",
				   flags);
	if ((uintptr_t)base & (((uintptr_t)1 << page_shift) - 1))
		return pep_err_set(err, -EINVAL,
				   "buddy: base %p not aligned to a %zu-byte page",
				   base, (size_t)1 << page_shift);
	npages = (uint64_t)size >> page_shift;
	if (npages == 0 || npages > MAX_PAGES)
		return pep_err_set(err, -EINVAL,
				   "buddy: region of %llu pages (1..%llu)",
				   (unsigned long long)npages,
				   (unsigned long long)MAX_PAGES);

	b = calloc(1, sizeof(*b));
	if (!b)
		return pep_err_set(err, -ENOMEM, "buddy: out of memory");
	b->next = malloc(npages * sizeof(*b->next));
	b->prev = malloc(npages * sizeof(*b->prev));
	b->state = calloc(npages, 1);
	if (!b->next || !b->prev || !b->state) {
		ret = pep_err_set(err, -ENOMEM,
				  "buddy: out of memory for %llu pages",
				  (unsigned long long)npages);
		goto fail;
	}
	if (flags & PEP_BUDDY_LOCKED) {
		ret = -pthread_mutex_init(&b->lock, NULL);
		if (ret) {
			pep_err_set(err, ret, "buddy: pthread_mutex_init");
			goto fail;
		}
		b->locked = true;
	}
	b->base = (uintptr_t)base;
	b->npages = (uint32_t)npages;
	b->page_shift = page_shift;
	b->max_order = max_order;
	for (i = 0; i <= max_order; i++)
		b->head[i] = NIL;
	b->st.total_pages = npages;
	b->st.free_pages = npages;
	b->st.max_order = max_order;
	b->st.page_shift = page_shift;

	/* Carve the region into the largest aligned blocks that fit. */
	for (i = 0; i < npages;) {
		unsigned int o = max_order;

		while (o > 0 && ((i & ((1ull << o) - 1)) ||
				 i + (1ull << o) > npages))
			o--;
		list_push(b, (uint32_t)i, o);
		i += 1ull << o;
	}
	*out = b;
	return 0;
fail:
	free(b->next);
	free(b->prev);
	free(b->state);
	free(b);
	return ret;
}

void pep_buddy_destroy(struct pep_buddy *b)
{
	if (!b)
		return;
	if (b->locked)
		pthread_mutex_destroy(&b->lock);
	free(b->next);
	free(b->prev);
	free(b->state);
	free(b);
}

static void lock(struct pep_buddy *b)
{
	if (b->locked)
		pthread_mutex_lock(&b->lock);
}

static void unlock(struct pep_buddy *b)
{
	if (b->locked)
		pthread_mutex_unlock(&b->lock);
}

void *pep_buddy_alloc(struct pep_buddy *b, unsigned int order)
{
	unsigned int o;
	uint32_t i;

	if (!b || order > b->max_order)
		return NULL;
	lock(b);
	for (o = order; o <= b->max_order && b->head[o] == NIL; o++)
		;
	if (o > b->max_order) {
		unlock(b);
		return NULL;
	}
	i = b->head[o];
	list_del(b, i, o);
	while (o > order) {
		o--;
		list_push(b, i + (UINT32_C(1) << o), o);
		b->st.splits++;
	}
	b->state[i] = (uint8_t)(ST_USED | order);
	b->st.free_pages -= UINT64_C(1) << order;
	b->st.used_pages += UINT64_C(1) << order;
	b->st.allocs++;
	unlock(b);
	return (void *)(b->base + ((uintptr_t)i << b->page_shift));
}

int pep_buddy_free(struct pep_buddy *b, void *ptr, unsigned int order)
{
	uintptr_t off;
	uint64_t idx;
	uint32_t i;

	if (!b || !ptr || order > b->max_order)
		return -EINVAL;
	if ((uintptr_t)ptr < b->base)
		return -EINVAL;
	off = (uintptr_t)ptr - b->base;
	if (off & (((uintptr_t)1 << b->page_shift) - 1))
		return -EINVAL;
	idx = (uint64_t)off >> b->page_shift;
	if (idx >= b->npages)
		return -EINVAL;
	i = (uint32_t)idx;

	lock(b);
	if (b->state[i] != (ST_USED | order)) {
		unlock(b);
		return -EINVAL;
	}
	b->state[i] = 0;
	b->st.free_pages += UINT64_C(1) << order;
	b->st.used_pages -= UINT64_C(1) << order;
	b->st.frees++;
	while (order < b->max_order) {
		uint64_t buddy = (uint64_t)i ^ (UINT64_C(1) << order);

		if (buddy >= b->npages ||
		    b->state[buddy] != (ST_FREE | order))
			break;
		list_del(b, (uint32_t)buddy, order);
		if (buddy < i)
			i = (uint32_t)buddy;
		order++;
		b->st.merges++;
	}
	list_push(b, i, order);
	unlock(b);
	return 0;
}

void pep_buddy_stats(struct pep_buddy *b, struct pep_buddy_stats *st)
{
	if (!b || !st)
		return;
	lock(b);
	*st = b->st;
	unlock(b);
}
