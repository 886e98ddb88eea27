/*
 * The Chase-Lev work-stealing deque: the owner pushes and takes at bottom,
 * thieves steal at top. The operations themselves are inline in
 * sched_priv.h; this file holds what is off the fast path (set-up, growth,
 * teardown) and the public wrappers.
 *
 * Growth doubles the array and copies [top, bottom). The old array is not
 * freed: a thief that loaded the array pointer just before the swap may
 * still read a slot from it (the value is the same in both, so that read
 * is harmless). Old arrays are chained and freed at destroy; they add up
 * to less than the live one.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched_priv.h"

#define DQ_DEFAULT_SLOTS	1024
#define DQ_MAX_SLOTS		((size_t)1 << 40)

static struct dq_array *array_new(int64_t slots)
{
	struct dq_array *a;

	a = malloc(sizeof(*a) + (size_t)slots * sizeof(a->buf[0]));
	if (!a)
		return NULL;
	a->mask = slots - 1;
	a->retired = NULL;
	return a;
}

int pep__deque_init(struct pep_deque *d, size_t size)
{
	size_t slots = 1;
	struct dq_array *a;

	if (size == 0)
		size = DQ_DEFAULT_SLOTS;
	if (size > DQ_MAX_SLOTS)
		return -EINVAL;
	while (slots < size)
		slots <<= 1;
	a = array_new((int64_t)slots);
	if (!a)
		return -ENOMEM;
	atomic_init(&d->top, 0);
	atomic_init(&d->bottom, 0);
	atomic_init(&d->array, a);
	return 0;
}

void pep__deque_fini(struct pep_deque *d)
{
	struct dq_array *a = atomic_load_explicit(&d->array,
						  memory_order_relaxed);

	while (a) {
		struct dq_array *next = a->retired;

		free(a);
		a = next;
	}
}

/* Owner only, from push; NULL when out of memory (the deque is unchanged). */
struct dq_array *pep__deque_grow(struct pep_deque *d, struct dq_array *a,
				 int64_t t, int64_t b)
{
	struct dq_array *n;
	int64_t i;

	if ((size_t)(a->mask + 1) >= DQ_MAX_SLOTS)
		return NULL;
	n = array_new((a->mask + 1) * 2);
	if (!n)
		return NULL;
	for (i = t; i < b; i++) {
		void *x = atomic_load_explicit(&a->buf[i & a->mask],
					       memory_order_relaxed);

		atomic_store_explicit(&n->buf[i & n->mask], x,
				      memory_order_relaxed);
	}
	n->retired = a;
	/* A thief that sees the new array must see the copied slots. */
	atomic_store_explicit(&d->array, n, memory_order_release);
	return n;
}

int pep_deque_create(struct pep_deque **out, size_t size)
{
	struct pep_deque *d;
	int ret;

	d = aligned_alloc(PEP_CACHELINE, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = pep__deque_init(d, size);
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void pep_deque_destroy(struct pep_deque *d)
{
	if (!d)
		return;
	pep__deque_fini(d);
	free(d);
}

int pep_deque_push(struct pep_deque *d, void *item)
{
	return dq_push(d, item) < 0 ? -ENOMEM : 0;
}

void *pep_deque_take(struct pep_deque *d)
{
	return dq_take(d);
}

void *pep_deque_steal(struct pep_deque *d)
{
	return dq_steal(d);
}

size_t pep_deque_size(struct pep_deque *d)
{
	return (size_t)dq_size(d);
}
