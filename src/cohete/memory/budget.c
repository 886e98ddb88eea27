/*
 * Memory budgets: a byte ceiling that concurrent callers can never push
 * used past, plus a named registry of live grants for an audit listing.
 *
 * The ceiling is enforced by one atomic counter and a compare-and-swap
 * loop, nothing else: a refusal takes no lock, and no interleaving of
 * try_alloc and release can leave used above total - reserved. The
 * registry (names, categories) sits behind a mutex; it is bookkeeping and
 * never decides whether a grant fits.
 *
 * Registry: a slot array that doubles up to COH_BUDGET_MAX_GRANTS, a free
 * list through the unused slots and a doubly linked list through the live
 * ones in allocation order. A grant carries its slot and a never-reused id,
 * so release is O(1) and a stale or copied grant is recognised and ignored.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/device.h>
#include <cohete/memory.h>

#include "internal.h"

#define GIB		(UINT64_C(1) << 30)
#define NO_SLOT		UINT32_MAX
#define FIRST_SLOTS	16

struct slot {
	uint64_t id;			/* 0 = free */
	uint64_t bytes;
	enum coh_budget_category cat;
	uint32_t prev;			/* live: older neighbour */
	uint32_t next;			/* live: newer neighbour; free: next free */
	char name[COH_BUDGET_NAME_MAX];
};

struct coh_budget {
	_Atomic uint64_t used;		/* the only guard of the ceiling */
	uint64_t limit;			/* total - reserved; fixed at create */
	pthread_mutex_t lock;		/* guards the registry below */
	struct slot *slots;
	uint32_t cap;
	uint32_t live;
	uint32_t head, tail;		/* oldest and newest live slot */
	uint32_t free_head;
	uint64_t next_id;
};

static const char *const category_names[COH_BUDGET_CATEGORY_COUNT] = {
	[COH_BUDGET_WEIGHTS] = "weights",
	[COH_BUDGET_KV_CACHE] = "kv_cache",
	[COH_BUDGET_ACTIVATIONS] = "activations",
	[COH_BUDGET_RUNTIME] = "runtime",
	[COH_BUDGET_OTHER] = "other",
};

const char *coh_budget_category_name(enum coh_budget_category cat)
{
	if ((unsigned int)cat >= COH_BUDGET_CATEGORY_COUNT)
		return "unknown";
	return category_names[cat];
}

int coh_budget_create(struct coh_budget **out, uint64_t total_bytes,
		      uint64_t reserved_bytes, struct pep_err *err)
{
	struct coh_budget *b;
	int ret;

	if (!out)
		return pep_err_set(err, -EINVAL, "budget: no output pointer");
	*out = NULL;
	if (reserved_bytes > total_bytes)
		return pep_err_set(err, -EINVAL,
				   "budget: reserved %" PRIu64 " bytes exceed "
				   "the total of %" PRIu64, reserved_bytes,
				   total_bytes);
	b = calloc(1, sizeof(*b));
	if (!b)
		return pep_err_set(err, -ENOMEM, "budget: out of memory");
	ret = pthread_mutex_init(&b->lock, NULL);
	if (ret) {
		free(b);
		errno = ret;
		return pep_err_errno(err, "budget: pthread_mutex_init");
	}
	atomic_init(&b->used, 0);
	b->limit = total_bytes - reserved_bytes;
	b->head = b->tail = b->free_head = NO_SLOT;
	b->next_id = 1;
	*out = b;
	return 0;
}

void coh_budget_destroy(struct coh_budget *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->slots);
	free(b);
}

/*
 * Count bytes in used, or refuse. used <= limit holds at every point of
 * the counter's history (each change is one CAS that checks it, or a
 * release of bytes counted before), so limit - used cannot wrap and the
 * comparison cannot overflow, even for bytes = UINT64_MAX.
 *
 * Orders: the first load and a failed CAS may be relaxed, because the CAS
 * compares against the counter's current value and a stale guess only
 * costs a retry. A successful CAS acquires, pairing with the release in
 * unreserve(): whatever a thread did with memory before giving its bytes
 * back happens-before the thread that is granted them reuses it (a pool
 * or arena handing the same pages on).
 */
static int reserve(struct coh_budget *b, uint64_t bytes)
{
	uint64_t used = atomic_load_explicit(&b->used, memory_order_relaxed);

	do {
		if (bytes > b->limit - used)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak_explicit(&b->used, &used,
							used + bytes,
							memory_order_acquire,
							memory_order_relaxed));
	return 0;
}

static void unreserve(struct coh_budget *b, uint64_t bytes)
{
	atomic_fetch_sub_explicit(&b->used, bytes, memory_order_release);
}

/* Called with the lock held and the free list empty. */
static int grow(struct coh_budget *b)
{
	uint32_t cap = b->cap ? b->cap * 2 : FIRST_SLOTS;
	struct slot *slots;

	if (cap > COH_BUDGET_MAX_GRANTS)
		cap = COH_BUDGET_MAX_GRANTS;
	if (cap <= b->cap)
		return -EMFILE;
	slots = realloc(b->slots, cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	/* Pushed from the top so the lowest new slot is used first. */
	for (uint32_t i = cap; i-- > b->cap;) {
		slots[i].id = 0;
		slots[i].next = b->free_head;
		b->free_head = i;
	}
	b->slots = slots;
	b->cap = cap;
	return 0;
}

/* Called with the lock held. */
static void link_newest(struct coh_budget *b, uint32_t i)
{
	b->slots[i].prev = b->tail;
	b->slots[i].next = NO_SLOT;
	if (b->tail == NO_SLOT)
		b->head = i;
	else
		b->slots[b->tail].next = i;
	b->tail = i;
	b->live++;
}

/* Called with the lock held; i goes on the free list. */
static void unlink_slot(struct coh_budget *b, uint32_t i)
{
	struct slot *s = &b->slots[i];

	if (s->prev == NO_SLOT)
		b->head = s->next;
	else
		b->slots[s->prev].next = s->next;
	if (s->next == NO_SLOT)
		b->tail = s->prev;
	else
		b->slots[s->next].prev = s->prev;
	b->live--;
	s->id = 0;
	s->next = b->free_head;
	b->free_head = i;
}

static int register_grant(struct coh_budget *b, uint64_t bytes,
			  const char *name, enum coh_budget_category cat,
			  struct coh_budget_grant *grant)
{
	struct slot *s;
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (b->free_head == NO_SLOT && (ret = grow(b)) < 0)
		goto out;
	i = b->free_head;
	s = &b->slots[i];
	b->free_head = s->next;
	s->id = b->next_id++;
	s->bytes = bytes;
	s->cat = cat;
	coh__strlcpy(s->name, name ? name : "", sizeof(s->name));
	link_newest(b, i);
	grant->id = s->id;
	grant->bytes = bytes;
	grant->slot = i;
out:
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int coh_budget_try_alloc(struct coh_budget *b, uint64_t bytes,
			 const char *name, enum coh_budget_category cat,
			 struct coh_budget_grant *grant)
{
	int ret;

	if (grant)
		memset(grant, 0, sizeof(*grant));
	if (!b || !grant || !bytes ||
	    (unsigned int)cat >= COH_BUDGET_CATEGORY_COUNT)
		return -EINVAL;
	/*
	 * Count first, so a refusal never waits on the lock. If the registry
	 * then fails, the bytes go back; meanwhile others may be refused
	 * bytes that were never really held, which errs on the safe side.
	 */
	ret = reserve(b, bytes);
	if (ret < 0)
		return ret;
	ret = register_grant(b, bytes, name, cat, grant);
	if (ret < 0)
		unreserve(b, bytes);
	return ret;
}

void coh_budget_release(struct coh_budget *b, struct coh_budget_grant *grant)
{
	uint32_t i;

	if (!b || !grant || !grant->id)
		return;
	i = grant->slot;
	pthread_mutex_lock(&b->lock);
	/*
	 * Ids are never reused, so a grant released before (or a copy of
	 * one) no longer matches its slot. The bytes come from the slot, not
	 * the caller's grant, so a damaged grant cannot wrap the counter.
	 * Subtracting under the lock keeps every listed entry counted in
	 * used: a listing never adds up to more than used.
	 */
	if (i < b->cap && b->slots[i].id == grant->id) {
		unreserve(b, b->slots[i].bytes);
		unlink_slot(b, i);
	}
	pthread_mutex_unlock(&b->lock);
	memset(grant, 0, sizeof(*grant));
}

/* Acquire: pairs with releases, as in reserve(). */
uint64_t coh_budget_used(const struct coh_budget *b)
{
	return b ? atomic_load_explicit(&b->used, memory_order_acquire) : 0;
}

uint64_t coh_budget_limit(const struct coh_budget *b)
{
	return b ? b->limit : 0;
}

/* used <= limit always, so this cannot wrap. */
uint64_t coh_budget_available(const struct coh_budget *b)
{
	return b ? b->limit - coh_budget_used(b) : 0;
}

int coh_budget_list(struct coh_budget *b, struct coh_budget_entry *entries,
		    size_t max, size_t *count)
{
	size_t n = 0;

	if (count)
		*count = 0;
	if (!b || (!entries && max))
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	for (uint32_t i = b->head; i != NO_SLOT && n < max;
	     i = b->slots[i].next) {
		const struct slot *s = &b->slots[i];

		entries[n].id = s->id;
		entries[n].bytes = s->bytes;
		entries[n].category = s->cat;
		memcpy(entries[n].name, s->name, sizeof(entries[n].name));
		n++;
	}
	if (count)
		*count = b->live;
	pthread_mutex_unlock(&b->lock);
	return (int)n;		/* at most COH_BUDGET_MAX_GRANTS */
}

/* The rule in the header: both pieces give 2 GiB at 8 GiB. */
static uint64_t preset_reserve(uint64_t total)
{
	uint64_t reserved;

	if (total > 8 * GIB)
		return 2 * GIB + (total - 8 * GIB) / 8;
	reserved = total / 4;
	if (reserved < GIB)
		reserved = GIB;
	if (reserved > total / 2)
		reserved = total / 2;
	return reserved;
}

int coh_budget_preset(const struct coh_module_spec *m, uint64_t *total_bytes,
		      uint64_t *reserved_bytes)
{
	uint64_t total;

	if (!m || !m->ram_gb || !total_bytes || !reserved_bytes)
		return -EINVAL;
	total = (uint64_t)m->ram_gb * GIB;
	*total_bytes = total;
	*reserved_bytes = preset_reserve(total);
	return 0;
}

static int64_t kb_to_bytes(int64_t kb)
{
	if (kb == COH_NA || kb < 0)
		return COH_NA;
	if (kb > INT64_MAX / 1024)
		return INT64_MAX;
	return kb * 1024;
}

int coh_budget_check_live(const struct coh_meminfo *mi, uint64_t bytes,
			  struct coh_budget_live *out)
{
	int64_t swap_total, swap_free;

	if (!mi || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->available_bytes = kb_to_bytes(mi->available_kb);
	/* Unknown is not room: loading anyway risks the OOM killer. */
	out->fits_unknown = out->available_bytes == COH_NA;
	out->fits = !out->fits_unknown &&
		    bytes <= (uint64_t)out->available_bytes;
	swap_total = kb_to_bytes(mi->swap_total_kb);
	swap_free = kb_to_bytes(mi->swap_free_kb);
	out->swap_used_bytes = COH_NA;
	if (swap_total != COH_NA && swap_free != COH_NA)
		out->swap_used_bytes = swap_total > swap_free ?
				       swap_total - swap_free : 0;
	out->swap_in_use = out->swap_used_bytes > 0;
	return 0;
}
