/*
 * The userspace compressed page store, built like the kernel's zram over
 * zsmalloc.
 *
 * Every page index has a 16-byte entry: a lock word, a state (empty, same
 * filled, compressed, huge), the compressed length and a value (the fill
 * word, or the object's byte offset in the region). Compressed objects live
 * in size classes 32 bytes apart; a class carves slabs of 1, 2 or 4 pages
 * (whichever wastes least) from a buddy allocator over one reserved region,
 * and keeps the slabs that have a free object on a list. A slab's free
 * objects are chained through their first two bytes, so the only
 * book-keeping outside the region is one 16-byte descriptor per slab head
 * page, in an array the kernel fills in lazily (calloc of a large size maps
 * zero pages). Huge pages take a whole region page of their own.
 *
 * Compression runs outside every lock but its stream's: one stream (LZ4
 * state or zstd contexts, plus an output buffer) per CPU, picked with
 * sched_getcpu() and try-locked. The entry lock is held only to swap the
 * entry on write and while decompressing on read, so threads working on
 * different pages never wait for each other except on a class lock, held
 * for a few pointer moves.
 *
 * Memory: the region is reserved (MAP_NORESERVE) at twice the store's size
 * plus slack, which bounds what fragmentation can strand; it is backed on
 * first touch, with transparent huge pages where the kernel allows. Slabs
 * that empty go back to the buddy allocator and their memory stays mapped
 * for reuse, as zsmalloc keeps pages cached.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lz4.h>
#include <zstd.h>

#include <pepita/mem.h>
#include <pepita/zram.h>

#include "core/core_priv.h"

#define PAGE		PEP_ZRAM_PAGE_SIZE
#define PAGE_SHIFT	12
/* Compressed to more than this, a page is kept raw (zram's huge class). */
#define HUGE_LIMIT	(PAGE / 4 * 3)
#define CLASS_DELTA	32u
#define NR_CLASSES	(HUGE_LIMIT / CLASS_DELTA)
#define SLAB_MAX_ORDER	2		/* slabs of 1, 2 or 4 pages */
#define BUDDY_MAX_ORDER	10		/* 4 MiB: the region's first split */
#define REGION_ALIGN	((size_t)2 << 20)
#define NO_OBJ		UINT16_MAX
#define MAX2(a, b)	((a) > (b) ? (a) : (b))
#define BUF_BYTES	MAX2(LZ4_COMPRESSBOUND(PAGE), ZSTD_COMPRESSBOUND(PAGE))
#define NO_SLAB		UINT32_MAX

enum entry_state { E_EMPTY = 0, E_SAME, E_COMP, E_HUGE };

struct entry {
	uint32_t lock;		/* 0 free, 1 held (atomic) */
	uint16_t len;		/* compressed bytes (E_COMP) */
	uint8_t state;		/* enum entry_state */
	uint8_t pad;
	uint64_t val;		/* E_SAME: the word; E_COMP/E_HUGE: offset */
};

/* One per slab, indexed by the slab's first page. */
struct slab {
	uint32_t prev, next;	/* the class's partial list (page indexes) */
	uint16_t inuse;		/* objects handed out */
	uint16_t free_head;	/* first freed object, NO_OBJ: none */
	uint16_t bump;		/* objects never handed out start here */
	uint16_t pad;
};

struct size_class {
	pthread_mutex_t lock;
	uint32_t size;		/* object bytes */
	uint32_t order;		/* slab = 2^order pages */
	uint32_t objs;		/* objects per slab */
	uint32_t partial;	/* a slab with a free object, NO_SLAB: none */
} __attribute__((aligned(64)));

struct stream {
	pthread_mutex_t lock;
	void *lz4;		/* LZ4_sizeofState() bytes */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	/* Room for the worst case: LZ4 and zstd take a faster path when
	   they need not check for running out of output. */
	char buf[BUF_BYTES];
} __attribute__((aligned(64)));

/*
 * Counters, one set per CPU (shared cache lines cost more than the writes
 * themselves with a few threads), summed when read; each atomic, so the
 * sums are exact once the operations they count are done. A set may go
 * below zero when a page is written on one CPU and freed on another: the
 * sums wrap back.
 */
struct counters {
	uint64_t pages_stored;
	uint64_t compr_bytes;
	uint64_t same_pages;
	uint64_t huge_pages;
	uint64_t huge_since;
	uint64_t failed_reads;
	uint64_t failed_writes;
	uint64_t notify_free;
} __attribute__((aligned(64)));

/* Memory is counted once: the limit needs one total to compare against. */
struct mem_counters {
	uint64_t pages;
	uint64_t pages_max;
} __attribute__((aligned(64)));

struct pep_zram_store {
	struct pep_zram_store_config cfg;
	uint64_t npages;
	struct entry *table;
	char *region;
	size_t region_bytes;
	size_t map_bytes;	/* what was mmap()ed, from map */
	void *map;
	struct pep_buddy *buddy;
	struct slab *slabs;	/* one per region page */
	uint64_t limit_pages;	/* 0: none */
	struct size_class classes[NR_CLASSES];
	struct stream *streams;
	unsigned int nstreams;
	struct counters *shards;	/* nstreams of them */
	struct mem_counters mem;
};

static inline void add(uint64_t *counter, int64_t delta)
{
	__atomic_add_fetch(counter, (uint64_t)delta, __ATOMIC_RELAXED);
}

static inline uint64_t get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static void entry_lock(struct entry *e)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(&e->lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&e->lock, __ATOMIC_RELAXED)) {
			if (++spins < 128)
				pep__cpu_relax();
			else
				sched_yield();
		}
	}
}

static void entry_unlock(struct entry *e)
{
	__atomic_store_n(&e->lock, 0, __ATOMIC_RELEASE);
}

/* Compression names. */

int pep_zram_comp_parse(const char *name, enum pep_zram_comp *out,
			struct pep_err *err)
{
	if (name && strcmp(name, "lz4") == 0) {
		*out = PEP_ZRAM_LZ4;
		return 0;
	}
	if (name && strcmp(name, "zstd") == 0) {
		*out = PEP_ZRAM_ZSTD;
		return 0;
	}
	return pep_err_set(err, -EINVAL,
			   "compressor '%s': unknown (lz4, zstd)",
			   name ? name : "(null)");
}

const char *pep_zram_comp_name(enum pep_zram_comp comp)
{
	switch (comp) {
	case PEP_ZRAM_LZ4: return "lz4";
	case PEP_ZRAM_ZSTD: return "zstd";
	}
	return "?";
}

/* Size classes and slabs. */

/* The slab order (0..SLAB_MAX_ORDER) that wastes the least of its bytes. */
static unsigned int best_order(uint32_t size)
{
	unsigned int order, best = 0;
	uint64_t best_waste = UINT64_MAX;

	for (order = 0; order <= SLAB_MAX_ORDER; order++) {
		uint64_t bytes = (uint64_t)PAGE << order;
		/* waste per 2^SLAB_MAX_ORDER pages, to compare orders */
		uint64_t waste = (bytes % size) << (SLAB_MAX_ORDER - order);

		if (waste < best_waste) {
			best_waste = waste;
			best = order;
		}
	}
	return best;
}

static int classes_init(struct pep_zram_store *s, struct pep_err *err)
{
	unsigned int i;

	for (i = 0; i < NR_CLASSES; i++) {
		struct size_class *c = &s->classes[i];
		int ret = pthread_mutex_init(&c->lock, NULL);

		if (ret) {
			while (i-- > 0)
				pthread_mutex_destroy(&s->classes[i].lock);
			return pep_err_set(err, -ret, "zram store: mutex init");
		}
		c->size = (i + 1) * CLASS_DELTA;
		c->order = best_order(c->size);
		c->objs = (PAGE << c->order) / c->size;
		c->partial = NO_SLAB;
	}
	return 0;
}

static unsigned int class_of(uint32_t len)
{
	return (len + CLASS_DELTA - 1) / CLASS_DELTA - 1;
}

/*
 * Count n more region pages as used, refusing past mem_limit. The add
 * comes first, so racing classes cannot both slip under the limit.
 */
static bool mem_charge(struct pep_zram_store *s, uint64_t n)
{
	uint64_t now = __atomic_add_fetch(&s->mem.pages, n, __ATOMIC_RELAXED);
	uint64_t max = get(&s->mem.pages_max);

	if (s->limit_pages && now > s->limit_pages) {
		add(&s->mem.pages, -(int64_t)n);
		return false;
	}
	while (now > max &&
	       !__atomic_compare_exchange_n(&s->mem.pages_max, &max, now,
					    true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return true;
}

/* 2^order region pages, or NO_SLAB. */
static uint32_t pages_alloc(struct pep_zram_store *s, unsigned int order)
{
	char *p;

	if (!mem_charge(s, UINT64_C(1) << order))
		return NO_SLAB;
	p = pep_buddy_alloc(s->buddy, order);
	if (!p) {
		add(&s->mem.pages, -(int64_t)(1 << order));
		return NO_SLAB;
	}
	return (uint32_t)((size_t)(p - s->region) >> PAGE_SHIFT);
}

static void pages_free(struct pep_zram_store *s, uint32_t page,
		       unsigned int order)
{
	pep_buddy_free(s->buddy, s->region + ((size_t)page << PAGE_SHIFT),
		       order);
	add(&s->mem.pages, -(int64_t)(1 << order));
}

static void partial_push(struct pep_zram_store *s, struct size_class *c,
			 uint32_t page)
{
	struct slab *sl = &s->slabs[page];

	sl->prev = NO_SLAB;
	sl->next = c->partial;
	if (c->partial != NO_SLAB)
		s->slabs[c->partial].prev = page;
	c->partial = page;
}

static void partial_del(struct pep_zram_store *s, struct size_class *c,
			uint32_t page)
{
	struct slab *sl = &s->slabs[page];

	if (sl->prev != NO_SLAB)
		s->slabs[sl->prev].next = sl->next;
	else
		c->partial = sl->next;
	if (sl->next != NO_SLAB)
		s->slabs[sl->next].prev = sl->prev;
}

static inline char *obj_addr(struct pep_zram_store *s, uint32_t page,
			     const struct size_class *c, uint32_t idx)
{
	return s->region + ((size_t)page << PAGE_SHIFT) + (size_t)idx * c->size;
}

/* A new slab on c's partial list; false when out of memory or limit. */
static bool slab_new(struct pep_zram_store *s, struct size_class *c)
{
	uint32_t page = pages_alloc(s, c->order);

	if (page == NO_SLAB)
		return false;
	s->slabs[page] = (struct slab){ .free_head = NO_OBJ };
	partial_push(s, c, page);
	return true;
}

/* An object of class c: its byte offset in the region, or -ENOMEM. */
static int64_t obj_alloc(struct pep_zram_store *s, struct size_class *c)
{
	struct slab *sl;
	uint32_t page, idx;
	char *obj;

	pthread_mutex_lock(&c->lock);
	if (c->partial == NO_SLAB && !slab_new(s, c)) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	page = c->partial;
	sl = &s->slabs[page];
	if (sl->free_head != NO_OBJ) {
		idx = sl->free_head;
		obj = obj_addr(s, page, c, idx);
		memcpy(&sl->free_head, obj, sizeof(sl->free_head));
	} else {
		idx = sl->bump++;
	}
	if (++sl->inuse == c->objs)
		partial_del(s, c, page);
	pthread_mutex_unlock(&c->lock);
	return (int64_t)(((size_t)page << PAGE_SHIFT) + (size_t)idx * c->size);
}

static void obj_free(struct pep_zram_store *s, struct size_class *c,
		     uint64_t off)
{
	uint32_t page = (uint32_t)(off >> PAGE_SHIFT) &
			~((UINT32_C(1) << c->order) - 1);
	struct slab *sl = &s->slabs[page];
	uint32_t idx = (uint32_t)((off - ((uint64_t)page << PAGE_SHIFT)) /
				  c->size);

	pthread_mutex_lock(&c->lock);
	if (sl->inuse == c->objs)
		partial_push(s, c, page);
	if (--sl->inuse == 0) {
		partial_del(s, c, page);
		pages_free(s, page, c->order);
	} else {
		memcpy(obj_addr(s, page, c, idx), &sl->free_head,
		       sizeof(sl->free_head));
		sl->free_head = (uint16_t)idx;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Streams. */

/* The stream (and counter set) of the CPU this thread runs on now. */
static unsigned int this_cpu(const struct pep_zram_store *s)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (unsigned int)cpu % s->nstreams;
}

static struct counters *counters(struct pep_zram_store *s)
{
	return &s->shards[this_cpu(s)];
}

static struct stream *stream_get(struct pep_zram_store *s)
{
	unsigned int i, first = this_cpu(s);

	for (i = 0; i < s->nstreams; i++) {
		struct stream *st = &s->streams[(first + i) % s->nstreams];

		if (pthread_mutex_trylock(&st->lock) == 0)
			return st;
	}
	pthread_mutex_lock(&s->streams[first].lock);
	return &s->streams[first];
}

static void stream_put(struct stream *st)
{
	pthread_mutex_unlock(&st->lock);
}

static void streams_free(struct pep_zram_store *s)
{
	unsigned int i;

	if (!s->streams)
		return;
	for (i = 0; i < s->nstreams; i++) {
		struct stream *st = &s->streams[i];

		pthread_mutex_destroy(&st->lock);
		free(st->lz4);
		ZSTD_freeCCtx(st->cctx);
		ZSTD_freeDCtx(st->dctx);
	}
	free(s->streams);
	s->streams = NULL;
}

static int streams_init(struct pep_zram_store *s, struct pep_err *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int i;

	s->nstreams = ncpu > 0 ? (unsigned int)ncpu : 1;
	s->shards = aligned_alloc(64, sizeof(*s->shards) * s->nstreams);
	s->streams = aligned_alloc(64, sizeof(*s->streams) * s->nstreams);
	if (!s->streams || !s->shards) {
		free(s->streams);
		s->streams = NULL;
		return pep_err_set(err, -ENOMEM, "zram store: out of memory");
	}
	memset(s->shards, 0, sizeof(*s->shards) * s->nstreams);
	memset(s->streams, 0, sizeof(*s->streams) * s->nstreams);
	for (i = 0; i < s->nstreams; i++) {
		struct stream *st = &s->streams[i];

		pthread_mutex_init(&st->lock, NULL);
		if (s->cfg.comp == PEP_ZRAM_LZ4) {
			st->lz4 = malloc((size_t)LZ4_sizeofState());
			if (!st->lz4)
				goto nomem;
		} else {
			st->cctx = ZSTD_createCCtx();
			st->dctx = ZSTD_createDCtx();
			if (!st->cctx || !st->dctx)
				goto nomem;
		}
	}
	return 0;
nomem:
	s->nstreams = i + 1;
	streams_free(s);
	return pep_err_set(err, -ENOMEM, "zram store: out of memory for %s",
			   pep_zram_comp_name(s->cfg.comp));
}

/* Bytes of st->buf used, or 0 when the page does not shrink to HUGE_LIMIT. */
static size_t compress_page(struct pep_zram_store *s, struct stream *st,
			    const void *page)
{
	size_t n;

	if (s->cfg.comp == PEP_ZRAM_LZ4) {
		int r = LZ4_compress_fast_extState(st->lz4, page, st->buf, PAGE,
						   (int)sizeof(st->buf),
						   s->cfg.level);

		n = r > 0 ? (size_t)r : 0;
	} else {
		n = ZSTD_compressCCtx(st->cctx, st->buf, sizeof(st->buf), page,
				      PAGE, s->cfg.level);
		if (ZSTD_isError(n))
			n = 0;
	}
	return n <= HUGE_LIMIT ? n : 0;
}

/* 0, or -EIO when the object does not decode to a whole page. */
static int decompress_page(struct pep_zram_store *s, const char *src,
			   size_t len, void *page)
{
	if (s->cfg.comp == PEP_ZRAM_LZ4) {
		int n = LZ4_decompress_safe(src, page, (int)len, PAGE);

		return n == (int)PAGE ? 0 : -EIO;
	} else {
		struct stream *st = stream_get(s);
		size_t n = ZSTD_decompressDCtx(st->dctx, page, PAGE, src, len);

		stream_put(st);
		return !ZSTD_isError(n) && n == PAGE ? 0 : -EIO;
	}
}

/* Create and destroy. */

static int check_config(const struct pep_zram_store_config *cfg,
			struct pep_err *err)
{
	if (!cfg)
		return pep_err_set(err, -EINVAL, "zram store: config is NULL");
	if (cfg->size == 0 || cfg->size % PAGE)
		return pep_err_set(err, -EINVAL,
				   "zram store: size %llu: not a positive "
				   "multiple of %u",
				   (unsigned long long)cfg->size, PAGE);
	if (cfg->size / PAGE > UINT32_MAX / 4)
		return pep_err_set(err, -EINVAL,
				   "zram store: size %llu: above %llu bytes",
				   (unsigned long long)cfg->size,
				   (unsigned long long)(UINT32_MAX / 4) * PAGE);
	if (cfg->comp != PEP_ZRAM_LZ4 && cfg->comp != PEP_ZRAM_ZSTD)
		return pep_err_set(err, -EINVAL,
				   "zram store: compressor %d unknown (lz4, zstd)",
				   (int)cfg->comp);
	if (cfg->comp == PEP_ZRAM_ZSTD &&
	    (cfg->level < 0 || cfg->level > ZSTD_maxCLevel()))
		return pep_err_set(err, -EINVAL,
				   "zram store: zstd level %d outside 0..%d",
				   cfg->level, ZSTD_maxCLevel());
	if (cfg->comp == PEP_ZRAM_LZ4 && (cfg->level < 0 || cfg->level > 65537))
		return pep_err_set(err, -EINVAL,
				   "zram store: lz4 acceleration %d outside 0..65537",
				   cfg->level);
	return 0;
}

/*
 * Reserve the region: twice the store plus 8 MiB, 2 MiB-aligned so
 * transparent huge pages can back it.
 */
static int region_reserve(struct pep_zram_store *s, struct pep_err *err)
{
	size_t want = (size_t)s->cfg.size * 2 + ((size_t)8 << 20);
	uintptr_t start;

	want = (want + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
	s->map_bytes = want + REGION_ALIGN;
	s->map = mmap(NULL, s->map_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return pep_err_errno(err, "zram store: reserve %zu bytes",
				     s->map_bytes);
	}
	start = ((uintptr_t)s->map + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
	s->region = (char *)start;
	s->region_bytes = want;
	madvise(s->region, want, MADV_HUGEPAGE);	/* advice only */
	return 0;
}

int pep_zram_store_create(struct pep_zram_store **out,
			  const struct pep_zram_store_config *cfg,
			  struct pep_err *err)
{
	struct pep_zram_store *s;
	int ret;

	if (!out)
		return pep_err_set(err, -EINVAL, "zram store: out is NULL");
	*out = NULL;
	ret = check_config(cfg, err);
	if (ret)
		return ret;
	s = aligned_alloc(64, sizeof(*s));
	if (!s)
		return pep_err_set(err, -ENOMEM, "zram store: out of memory");
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (s->cfg.level == 0)
		s->cfg.level = cfg->comp == PEP_ZRAM_ZSTD ? 3 : 1;
	s->npages = cfg->size / PAGE;
	s->limit_pages = (cfg->mem_limit + PAGE - 1) / PAGE;

	ret = classes_init(s, err);
	if (ret) {
		free(s);
		return ret;
	}
	ret = region_reserve(s, err);
	if (!ret)
		ret = pep_buddy_create(&s->buddy, s->region, s->region_bytes,
				       PAGE_SHIFT, BUDDY_MAX_ORDER,
				       PEP_BUDDY_LOCKED, err);
	if (!ret) {
		s->table = calloc(s->npages, sizeof(*s->table));
		s->slabs = calloc(s->region_bytes / PAGE, sizeof(*s->slabs));
		if (!s->table || !s->slabs)
			ret = pep_err_set(err, -ENOMEM,
					  "zram store: out of memory for %llu pages",
					  (unsigned long long)s->npages);
	}
	if (!ret)
		ret = streams_init(s, err);
	if (ret) {
		pep_zram_store_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

void pep_zram_store_destroy(struct pep_zram_store *s)
{
	unsigned int i;

	if (!s)
		return;
	streams_free(s);
	for (i = 0; i < NR_CLASSES; i++)
		pthread_mutex_destroy(&s->classes[i].lock);
	pep_buddy_destroy(s->buddy);
	if (s->map)
		munmap(s->map, s->map_bytes);
	free(s->table);
	free(s->slabs);
	free(s->shards);
	free(s);
}

uint64_t pep_zram_store_pages(const struct pep_zram_store *s)
{
	return s ? s->npages : 0;
}

/* Pages in and out. */

/* True when every 64-bit word of page is the same; *word says which. */
static bool same_filled(const void *page, uint64_t *word)
{
	const uint64_t *w = page;
	uint64_t first = w[0];
	size_t i;

	/* The last word first: a page that differs usually differs there. */
	if (w[PAGE / 8 - 1] != first)
		return false;
	for (i = 1; i < PAGE / 8 - 1; i++)
		if (w[i] != first)
			return false;
	*word = first;
	return true;
}

/* Count contents coming in (sign 1) or going (sign -1). */
static void count(struct counters *c, uint8_t state, uint16_t len, int sign)
{
	switch (state) {
	case E_EMPTY:
		return;
	case E_SAME:
		add(&c->same_pages, sign);
		break;
	case E_COMP:
		add(&c->compr_bytes, sign * (int64_t)len);
		break;
	case E_HUGE:
		add(&c->compr_bytes, sign * (int64_t)PAGE);
		add(&c->huge_pages, sign);
		break;
	}
	add(&c->pages_stored, sign);
}

/* What an entry held, for the counters and for freeing after the swap. */
struct old_entry {
	uint8_t state;
	uint16_t len;
	uint64_t val;
};

/* Take an entry's contents back out of the counters and the region. */
static void release(struct pep_zram_store *s, const struct old_entry *o)
{
	count(counters(s), o->state, o->len, -1);
	if (o->state == E_COMP)
		obj_free(s, &s->classes[class_of(o->len)], o->val);
	else if (o->state == E_HUGE)
		pages_free(s, (uint32_t)(o->val >> PAGE_SHIFT), 0);
}

/* Put new contents in an entry; what was there is released. */
static void entry_swap(struct pep_zram_store *s, struct entry *e,
		       uint8_t state, uint16_t len, uint64_t val)
{
	struct old_entry o;

	entry_lock(e);
	o = (struct old_entry){ e->state, e->len, e->val };
	e->state = state;
	e->len = len;
	e->val = val;
	entry_unlock(e);
	release(s, &o);
}

/*
 * Overwrite the old contents where they lie when the new ones fit there:
 * a huge page over a huge page, a compressed page over one of the same
 * size class (the common case of a block rewritten with similar data).
 * No allocation, no free, no second place to pull into the cache. Readers
 * wait on the entry lock meanwhile. False when it does not fit.
 */
static bool rewrite_in_place(struct pep_zram_store *s, struct entry *e,
			     const void *src, uint8_t state, uint16_t len,
			     uint16_t *old_len)
{
	bool done = false;

	entry_lock(e);
	if (e->state == state &&
	    (state == E_HUGE || class_of(e->len) == class_of(len))) {
		memcpy(s->region + e->val, src, len);
		*old_len = e->len;
		e->len = len;
		done = true;
	}
	entry_unlock(e);
	return done;
}

/* A new place for src (len bytes) in the region: its offset, or -ENOMEM. */
static int64_t place(struct pep_zram_store *s, const void *src, uint8_t state,
		     uint16_t len)
{
	int64_t off;

	if (state == E_HUGE) {
		uint32_t p = pages_alloc(s, 0);

		off = p == NO_SLAB ? -ENOMEM : (int64_t)p << PAGE_SHIFT;
	} else {
		off = obj_alloc(s, &s->classes[class_of(len)]);
	}
	if (off >= 0)
		memcpy(s->region + off, src, len);
	return off;
}

/* Compress page and store it in e: in place, or in a new place. */
static int write_compressed(struct pep_zram_store *s, struct entry *e,
			    const void *page)
{
	struct stream *st = stream_get(s);
	size_t n = compress_page(s, st, page);
	uint8_t state = n ? E_COMP : E_HUGE;
	uint16_t len = n ? (uint16_t)n : PAGE, old_len;
	const void *src = n ? (const void *)st->buf : page;
	int64_t off;

	if (rewrite_in_place(s, e, src, state, len, &old_len)) {
		stream_put(st);
		if (state == E_HUGE)
			add(&counters(s)->huge_since, 1);
		else
			add(&counters(s)->compr_bytes, (int64_t)len - old_len);
		return 0;
	}
	off = place(s, src, state, len);
	stream_put(st);
	if (off < 0)
		return (int)off;
	count(counters(s), state, len, 1);
	if (state == E_HUGE)
		add(&counters(s)->huge_since, 1);
	entry_swap(s, e, state, len, (uint64_t)off);
	return 0;
}

int pep_zram_store_write(struct pep_zram_store *s, uint64_t index,
			 const void *page)
{
	struct entry *e;
	uint64_t word;
	int ret;

	if (!s || !page)
		return -EINVAL;
	if (index >= s->npages)
		return -ERANGE;
	e = &s->table[index];
	if (same_filled(page, &word)) {
		count(counters(s), E_SAME, 0, 1);
		entry_swap(s, e, E_SAME, 0, word);
		return 0;
	}
	ret = write_compressed(s, e, page);
	if (ret)
		add(&counters(s)->failed_writes, 1);
	return ret;
}

static void fill_words(void *page, uint64_t word)
{
	uint64_t *w = page;
	size_t i;

	if (word == 0) {
		memset(page, 0, PAGE);
		return;
	}
	for (i = 0; i < PAGE / 8; i++)
		w[i] = word;
}

int pep_zram_store_read(struct pep_zram_store *s, uint64_t index, void *page)
{
	struct entry *e;
	int ret = 0;

	if (!s || !page)
		return -EINVAL;
	if (index >= s->npages)
		return -ERANGE;
	e = &s->table[index];
	entry_lock(e);
	switch (e->state) {
	case E_EMPTY:
		memset(page, 0, PAGE);
		break;
	case E_SAME:
		fill_words(page, e->val);
		break;
	case E_COMP:
		ret = decompress_page(s, s->region + e->val, e->len, page);
		break;
	case E_HUGE:
		memcpy(page, s->region + e->val, PAGE);
		break;
	}
	entry_unlock(e);
	if (ret)
		add(&counters(s)->failed_reads, 1);
	return ret;
}

int pep_zram_store_discard(struct pep_zram_store *s, uint64_t index)
{
	if (!s)
		return -EINVAL;
	if (index >= s->npages)
		return -ERANGE;
	entry_swap(s, &s->table[index], E_EMPTY, 0, 0);
	add(&counters(s)->notify_free, 1);
	return 0;
}

/* The counter sets summed (wrapping: a set alone may be "negative"). */
static struct counters sum_counters(struct pep_zram_store *s)
{
	struct counters t = { 0 };
	unsigned int i;

	for (i = 0; i < s->nstreams; i++) {
		const struct counters *c = &s->shards[i];

		t.pages_stored += get(&c->pages_stored);
		t.compr_bytes += get(&c->compr_bytes);
		t.same_pages += get(&c->same_pages);
		t.huge_pages += get(&c->huge_pages);
		t.huge_since += get(&c->huge_since);
		t.failed_reads += get(&c->failed_reads);
		t.failed_writes += get(&c->failed_writes);
		t.notify_free += get(&c->notify_free);
	}
	return t;
}

void pep_zram_store_stats(struct pep_zram_store *s, struct pep_zram_mm_stat *mm,
			  struct pep_zram_io_stat *io)
{
	struct counters t;

	if (!s)
		return;
	t = sum_counters(s);
	if (mm) {
		*mm = (struct pep_zram_mm_stat){
			.orig_data_size = t.pages_stored * PAGE,
			.compr_data_size = t.compr_bytes,
			.mem_used_total = get(&s->mem.pages) * PAGE,
			.mem_limit = s->limit_pages * PAGE,
			.mem_used_max = get(&s->mem.pages_max) * PAGE,
			.same_pages = t.same_pages,
			.pages_compacted = 0,	/* the store does not compact */
			.huge_pages = t.huge_pages,
			.huge_pages_since = t.huge_since,
			.nfields = 9,
		};
	}
	if (io) {
		*io = (struct pep_zram_io_stat){
			.failed_reads = t.failed_reads,
			.failed_writes = t.failed_writes,
			.invalid_io = 0,
			.notify_free = t.notify_free,
			.nfields = 4,
		};
	}
}

double pep_zram_store_ratio(struct pep_zram_store *s)
{
	struct pep_zram_mm_stat mm;

	pep_zram_store_stats(s, &mm, NULL);
	return pep_zram_ratio(&mm);
}
