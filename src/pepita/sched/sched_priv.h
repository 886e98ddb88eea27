/*
 * The Chase-Lev deque's operations as inline functions, shared by deque.c
 * (the public pep_deque_* calls) and sched.c, whose spawn and sync paths
 * are too hot for a call into another object file. Not installed.
 *
 * Orders follow Le, Pop, Cohen, Zappa Nardelli (PPoPP'13) with the later
 * fixes: push re-reads the array after a resize, the resize publishes the
 * new array with release, indices are signed so take() on an empty deque
 * at bottom 0 cannot wrap, and replaced arrays live until destroy because
 * a thief may still be reading one.
 */
#ifndef PEPITA_SCHED_PRIV_H
#define PEPITA_SCHED_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "include <pepita/sched.h> instead"
#endif

#include <stdatomic.h>
#include <stdint.h>

#include <pepita/sched.h>

#define PEP_CACHELINE	64

/*
 * ThreadSanitizer does not model atomic_thread_fence(), so it cannot see
 * that push's release fence orders the item's contents before the slot
 * and bottom stores a thief reads. Under TSan only, the slot store is a
 * release and the slot load an acquire, which gives TSan the same
 * happens-before edge; native builds keep the paper's relaxed accesses.
 */
#if defined(__SANITIZE_THREAD__)
#define DQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DQ_TSAN 1
#endif
#endif
/*
 * For the same reason (and gcc's -Wtsan refuses fences outright), under
 * TSan each fence becomes a no-op and the accesses around it take its
 * strength: push's bottom store a release, take's bottom store and top
 * load seq_cst (a seq_cst store then load orders StoreLoad as the fence
 * did), steal's top and bottom loads seq_cst.
 */
#ifdef DQ_TSAN
#define DQ_SLOT_STORE	memory_order_release
#define DQ_SLOT_LOAD	memory_order_acquire
#define DQ_FENCED_REL	memory_order_release
#define DQ_FENCED_SC	memory_order_seq_cst
#define dq_fence(o)	((void)0)
#define STEAL_ACQ	memory_order_seq_cst
#else
#define DQ_SLOT_STORE	memory_order_relaxed
#define DQ_SLOT_LOAD	memory_order_relaxed
#define DQ_FENCED_REL	memory_order_relaxed
#define DQ_FENCED_SC	memory_order_relaxed
#define dq_fence(o)	atomic_thread_fence(o)
#define STEAL_ACQ	memory_order_acquire
#endif

struct dq_array {
	int64_t mask;			/* slots - 1; slots is a power of two */
	struct dq_array *retired;	/* the array this one replaced */
	_Atomic(void *) buf[];
};

/*
 * top is written by thieves (CAS), bottom by the owner on every push and
 * take: each gets its own cache line. The array pointer changes only on
 * a resize, so its line stays shared and clean.
 */
struct pep_deque {
	_Alignas(PEP_CACHELINE) _Atomic int64_t top;
	_Alignas(PEP_CACHELINE) _Atomic int64_t bottom;
	_Alignas(PEP_CACHELINE) _Atomic(struct dq_array *) array;
};

/*
 * Stop, join and free s if nothing is queued or running on it (the
 * default scheduler at exit): 0 when done, -EBUSY when it is in use,
 * -EDEADLK when called on one of its own workers. No submission succeeds
 * once it has begun.
 */
int pep__sched_stop_if_idle(struct pep_sched *s);

int pep__deque_init(struct pep_deque *d, size_t size);
void pep__deque_fini(struct pep_deque *d);
struct dq_array *pep__deque_grow(struct pep_deque *d, struct dq_array *a,
				 int64_t t, int64_t b);

static inline int dq_push(struct pep_deque *d, void *item)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	struct dq_array *a = atomic_load_explicit(&d->array,
						  memory_order_relaxed);

	if (__builtin_expect(b - t > a->mask, 0)) {
		/* Store into the new array, or the item is lost. */
		a = pep__deque_grow(d, a, t, b);
		if (!a)
			return -1;
	}
	atomic_store_explicit(&a->buf[b & a->mask], item, DQ_SLOT_STORE);
	/* The slot (and what the item points to) before the new bottom. */
	dq_fence(memory_order_release);
	atomic_store_explicit(&d->bottom, b + 1, DQ_FENCED_REL);
	return 0;
}

static inline void *dq_take(struct pep_deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
	struct dq_array *a = atomic_load_explicit(&d->array,
						  memory_order_relaxed);
	int64_t t;
	void *x;

	atomic_store_explicit(&d->bottom, b, DQ_FENCED_SC);
	/* Claim slot b before reading top: a thief does the mirror image. */
	dq_fence(memory_order_seq_cst);
	t = atomic_load_explicit(&d->top, DQ_FENCED_SC);
	if (t > b) {
		atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
		return NULL;
	}
	x = atomic_load_explicit(&a->buf[b & a->mask], memory_order_relaxed);
	if (t == b) {
		/* The last item: whoever moves top first gets it. */
		if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
				memory_order_seq_cst, memory_order_relaxed))
			x = NULL;
		atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
	}
	return x;
}

static inline void *dq_steal(struct pep_deque *d)
{
	int64_t t = atomic_load_explicit(&d->top, STEAL_ACQ);
	int64_t b;
	struct dq_array *a;
	void *x;

	dq_fence(memory_order_seq_cst);
	b = atomic_load_explicit(&d->bottom, STEAL_ACQ);
	if (t >= b)
		return NULL;
	/* The paper's consume; acquire pairs with the resize's release. */
	a = atomic_load_explicit(&d->array, memory_order_acquire);
	x = atomic_load_explicit(&a->buf[t & a->mask], DQ_SLOT_LOAD);
	if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
			memory_order_seq_cst, memory_order_relaxed))
		return PEP_DEQUE_ABORT;
	return x;
}

/* Cheap emptiness probe for idle workers; may be stale either way. */
static inline int64_t dq_size(struct pep_deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);

	return b > t ? b - t : 0;
}

#endif /* PEPITA_SCHED_PRIV_H */
