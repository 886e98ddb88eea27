/*
 * The userspace compressed page store, built like the kernel's zram over
 * zsmalloc.
 *
 * Every page index has a 16-byte entry: a lock word, a state (empty, same
 * filled, compressed, huge), the compressed length and a value (the fill
 * word, or the object's byte offset in the region). Compressed objects live
 * in size classes 32 bytes apart; a class carves slabs of 1, 2 or 4 pages
 * (whichever wastes least) from a buddy allocator over one reserved region,
 * and keeps the slabs that have a free object on a list. Which objects of
 * a slab are free is a bitmap outside the region (two words per region
 * page, so a slab of 2^order pages has 128 << order bits), beside a
 * 16-byte descriptor per slab head page; both arrays are filled in lazily
 * by the kernel (calloc of a large size maps zero pages). Huge pages take
 * a whole region page of their own.
 *
 * The region is mostly cold: a store holds more than the caches do, and
 * every line the write path touches there is a trip to memory. So the
 * free lists are bitmaps rather than links through the objects (a link
 * would cost a miss on every allocation and every free), and where a
 * page's last contents say what its new ones will likely be, the new
 * place is taken before compressing and filled as the codec runs, not
 * copied into afterwards in one burst (see "Placing a page" below).
 *
 * Compression runs outside every lock, in the calling thread's own
 * contexts (LZ4 state or zstd contexts, and an output buffer: kept per
 * thread for every store, freed when the thread ends). A write takes the
 * page's entry lock, and under it the size class locks it needs, each held
 * for a few pointer moves; threads working on different pages never wait
 * for each other except on a class lock.
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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
#define MAX2(a, b)	((a) > (b) ? (a) : (b))
#define BUF_BYTES	MAX2(LZ4_COMPRESSBOUND(PAGE), ZSTD_COMPRESSBOUND(PAGE))
#define NO_SLAB		UINT32_MAX
/* Free-object bitmap words per region page: 128 objects of the smallest
   class fill one page. */
#define BITS_PER_PAGE	(PAGE / CLASS_DELTA / 64)

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
	uint16_t hint;		/* no free object in bitmap words before it */
	uint32_t pad;
};

struct size_class {
	uint32_t lock;		/* 0 free, 1 held (atomic) */
	uint32_t size;		/* object bytes */
	uint32_t order;		/* slab = 2^order pages */
	uint32_t objs;		/* objects per slab */
	uint32_t partial;	/* a slab with a free object, NO_SLAB: none */
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
};

/*
 * What one CPU keeps: its counters, and a region page freed there that
 * the next huge page written there takes (see "Kept pages").
 */
struct shard {
	struct counters n;
	uint64_t kept;		/* region page + 1; 0: none */
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
	uint64_t *free_bits;	/* BITS_PER_PAGE words per region page */
	uint64_t limit_pages;	/* 0: none */
	struct size_class classes[NR_CLASSES];
	struct shard *shards;		/* nshards of them */
	unsigned int nshards;
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

/*
 * The entry and class locks: a word taken with one exchange and given
 * back with a plain release store (no locked instruction, so a release
 * does not wait for the stores before it to reach the cache). Held for a
 * few hundred nanoseconds at most; a waiter that spins long yields.
 */
static void spin_lock(uint32_t *lock)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
			if (++spins < 128)
				pep__cpu_relax();
			else
				sched_yield();
		}
	}
}

static void spin_unlock(uint32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
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

static void classes_init(struct pep_zram_store *s)
{
	unsigned int i;

	for (i = 0; i < NR_CLASSES; i++) {
		struct size_class *c = &s->classes[i];

		c->size = (i + 1) * CLASS_DELTA;
		c->order = best_order(c->size);
		c->objs = (PAGE << c->order) / c->size;
		c->partial = NO_SLAB;
	}
}

static unsigned int class_of(uint32_t len)
{
	return (len + CLASS_DELTA - 1) / CLASS_DELTA - 1;
}

/* What the CPU this thread runs on now keeps. */
static struct shard *shard(struct pep_zram_store *s)
{
	int cpu = sched_getcpu();

	return &s->shards[cpu < 0 ? 0 : (unsigned int)cpu % s->nshards];
}

static struct counters *counters(struct pep_zram_store *s)
{
	return &shard(s)->n;
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

static void pages_free(struct pep_zram_store *s, uint32_t page,
		       unsigned int order);
static bool kept_release_all(struct pep_zram_store *s);

/* 2^order region pages, or NO_SLAB. At the limit, kept pages go first. */
static uint32_t pages_alloc(struct pep_zram_store *s, unsigned int order)
{
	char *p;

	if (!mem_charge(s, UINT64_C(1) << order) &&
	    (!kept_release_all(s) || !mem_charge(s, UINT64_C(1) << order)))
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

/*
 * Kept pages.
 *
 * A huge page written over a huge page takes one region page and frees
 * another. Through the buddy allocator that is its lock twice per write,
 * which two threads writing incompressible pages take in turn, sleeping
 * on it. So a CPU keeps the last page freed on it, and the next huge
 * page written there takes that one: no lock, no charge. A kept page
 * stays charged to the store (the limit holds), is not counted in
 * mem_used_total, and goes back to the buddy allocator when a charge
 * would pass the limit.
 */
static uint32_t kept_take(struct pep_zram_store *s)
{
	uint64_t v = __atomic_exchange_n(&shard(s)->kept, 0, __ATOMIC_ACQUIRE);

	return v ? (uint32_t)(v - 1) : pages_alloc(s, 0);
}

static void kept_give(struct pep_zram_store *s, uint32_t page)
{
	uint64_t none = 0;

	if (!__atomic_compare_exchange_n(&shard(s)->kept, &none,
					 (uint64_t)page + 1, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		pages_free(s, page, 0);
}

/* Every CPU's kept page back to the buddy allocator: whether there was one. */
static bool kept_release_all(struct pep_zram_store *s)
{
	bool any = false;

	for (unsigned int i = 0; i < s->nshards; i++) {
		uint64_t v = __atomic_exchange_n(&s->shards[i].kept, 0,
						 __ATOMIC_ACQUIRE);

		if (v) {
			pages_free(s, (uint32_t)(v - 1), 0);
			any = true;
		}
	}
	return any;
}

static uint64_t kept_count(const struct pep_zram_store *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nshards; i++)
		n += __atomic_load_n(&s->shards[i].kept, __ATOMIC_RELAXED) != 0;
	return n;
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

/* The free-object bitmap of the slab that starts at page. */
static inline uint64_t *slab_bits(struct pep_zram_store *s, uint32_t page)
{
	return s->free_bits + (size_t)page * BITS_PER_PAGE;
}

/* A new slab, every object free, on c's partial list; false when out of
 * memory or past the limit. */
static bool slab_new(struct pep_zram_store *s, struct size_class *c)
{
	uint32_t page = pages_alloc(s, c->order);
	uint64_t *bits;
	unsigned int w;

	if (page == NO_SLAB)
		return false;
	s->slabs[page] = (struct slab){ .inuse = 0 };
	bits = slab_bits(s, page);
	for (w = 0; w < c->objs / 64; w++)
		bits[w] = UINT64_MAX;
	if (c->objs % 64)
		bits[w] = (UINT64_C(1) << (c->objs % 64)) - 1;
	partial_push(s, c, page);
	return true;
}

/* An object of class c: its byte offset in the region, or -ENOMEM. */
static int64_t obj_alloc(struct pep_zram_store *s, struct size_class *c)
{
	struct slab *sl;
	uint64_t *bits;
	uint32_t page, idx;
	unsigned int w;

	spin_lock(&c->lock);
	if (c->partial == NO_SLAB && !slab_new(s, c)) {
		spin_unlock(&c->lock);
		return -ENOMEM;
	}
	page = c->partial;
	sl = &s->slabs[page];
	bits = slab_bits(s, page);
	/* A slab on the partial list has a free object at or past hint. */
	for (w = sl->hint; !bits[w]; w++)
		;
	idx = w * 64 + (uint32_t)__builtin_ctzll(bits[w]);
	bits[w] &= bits[w] - 1;
	sl->hint = (uint16_t)w;
	if (++sl->inuse == c->objs)
		partial_del(s, c, page);
	spin_unlock(&c->lock);
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

	spin_lock(&c->lock);
	if (sl->inuse == c->objs)
		partial_push(s, c, page);
	if (--sl->inuse == 0) {
		partial_del(s, c, page);
		pages_free(s, page, c->order);
	} else {
		slab_bits(s, page)[idx / 64] |= UINT64_C(1) << (idx % 64);
		if (idx / 64 < sl->hint)
			sl->hint = (uint16_t)(idx / 64);
	}
	spin_unlock(&c->lock);
}

/* Compression contexts, one set per thread. */

struct zctx {
	void *lz4;		/* LZ4_sizeofState() bytes */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	unsigned int streak;	/* writes in a row that kept their size class */
	/* Room for the worst case: LZ4 and zstd take a faster path when
	   they need not check for running out of output. */
	char buf[BUF_BYTES];
};

static pthread_key_t zctx_key;
static pthread_once_t zctx_once = PTHREAD_ONCE_INIT;
static int zctx_key_ok;

static void zctx_free(void *v)
{
	struct zctx *z = v;

	free(z->lz4);
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

static void zctx_key_init(void)
{
	zctx_key_ok = pthread_key_create(&zctx_key, zctx_free) == 0;
}

/*
 * The calling thread's contexts, with what comp needs to compress (or,
 * with decompress, to decompress: zstd's context) made, or NULL when out
 * of memory. Kept until the thread ends: every store this thread touches
 * uses them, one call at a time.
 */
static struct zctx *zctx_get(enum pep_zram_comp comp, bool decompress)
{
	struct zctx *z;

	pthread_once(&zctx_once, zctx_key_init);
	if (!zctx_key_ok)
		return NULL;
	z = pthread_getspecific(zctx_key);
	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z || pthread_setspecific(zctx_key, z) != 0) {
			free(z);
			return NULL;
		}
	}
	if (comp == PEP_ZRAM_LZ4) {
		if (!z->lz4)
			z->lz4 = malloc((size_t)LZ4_sizeofState());
		return z->lz4 ? z : NULL;
	}
	if (decompress) {
		if (!z->dctx)
			z->dctx = ZSTD_createDCtx();
		return z->dctx ? z : NULL;
	}
	if (!z->cctx)
		z->cctx = ZSTD_createCCtx();
	return z->cctx ? z : NULL;
}

/*
 * Compress page into dst (cap bytes): the length, or 0 when it does not
 * fit there or does not shrink to HUGE_LIMIT. The codecs stop as soon as
 * the output cannot fit, and the output that fits is the same bytes
 * whatever cap is.
 */
static size_t compress_into(struct pep_zram_store *s, struct zctx *z,
			    const void *page, char *dst, size_t cap)
{
	size_t n;

	if (s->cfg.comp == PEP_ZRAM_LZ4) {
		int r = LZ4_compress_fast_extState(z->lz4, page, dst, PAGE,
						   (int)cap, s->cfg.level);

		n = r > 0 ? (size_t)r : 0;
	} else {
		n = ZSTD_compressCCtx(z->cctx, dst, cap, page, PAGE,
				      s->cfg.level);
		if (ZSTD_isError(n))
			n = 0;
	}
	return n <= HUGE_LIMIT ? n : 0;
}

/* 0, or -EIO when the object does not decode to a whole page (-ENOMEM:
 * no zstd context). */
static int decompress_page(struct pep_zram_store *s, const char *src,
			   size_t len, void *page)
{
	if (s->cfg.comp == PEP_ZRAM_LZ4) {
		int n = LZ4_decompress_safe(src, page, (int)len, PAGE);

		return n == (int)PAGE ? 0 : -EIO;
	} else {
		struct zctx *z = zctx_get(PEP_ZRAM_ZSTD, true);
		size_t n;

		if (!z)
			return -ENOMEM;
		n = ZSTD_decompressDCtx(z->dctx, page, PAGE, src, len);
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

/* The entry table, slab descriptors and bitmaps, and the counter sets. */
static int tables_alloc(struct pep_zram_store *s, struct pep_err *err)
{
	size_t region_pages = s->region_bytes / PAGE;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	s->nshards = ncpu > 0 ? (unsigned int)ncpu : 1;
	s->table = calloc(s->npages, sizeof(*s->table));
	s->slabs = calloc(region_pages, sizeof(*s->slabs));
	s->free_bits = calloc(region_pages * BITS_PER_PAGE,
			      sizeof(*s->free_bits));
	s->shards = aligned_alloc(64, sizeof(*s->shards) * s->nshards);
	if (!s->table || !s->slabs || !s->free_bits || !s->shards)
		return pep_err_set(err, -ENOMEM,
				   "zram store: out of memory for %llu pages",
				   (unsigned long long)s->npages);
	memset(s->shards, 0, sizeof(*s->shards) * s->nshards);
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
	classes_init(s);

	ret = region_reserve(s, err);
	if (!ret)
		ret = pep_buddy_create(&s->buddy, s->region, s->region_bytes,
				       PAGE_SHIFT, BUDDY_MAX_ORDER,
				       PEP_BUDDY_LOCKED, err);
	if (!ret)
		ret = tables_alloc(s, err);
	if (ret) {
		pep_zram_store_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

void pep_zram_store_destroy(struct pep_zram_store *s)
{
	if (!s)
		return;
	pep_buddy_destroy(s->buddy);
	if (s->map)
		munmap(s->map, s->map_bytes);
	free(s->table);
	free(s->slabs);
	free(s->free_bits);
	free(s->shards);
	free(s);
}

uint64_t pep_zram_store_pages(const struct pep_zram_store *s)
{
	return s ? s->npages : 0;
}

/* Pages in and out. */

/*
 * True when every 64-bit word of page is the same; *word says which.
 * A cache line at a time, with one branch per line, not per word.
 */
static bool same_filled(const void *page, uint64_t *word)
{
	const uint64_t *w = page;
	uint64_t first = w[0];

	/* The last word first: a page that differs usually differs there. */
	if (w[PAGE / 8 - 1] != first)
		return false;
	for (size_t i = 0; i < PAGE / 8; i += 8) {
		uint64_t diff = 0;

#pragma GCC unroll 8
		for (size_t j = 0; j < 8; j++)
			diff |= w[i + j] ^ first;
		if (diff)
			return false;
	}
	*word = first;
	return true;
}

/* What an entry holds. */
struct contents {
	uint8_t state;
	uint16_t len;
	uint64_t val;
};

/*
 * An entry's fields are written under its lock, and read there too but
 * for the unlocked look a write takes to guess (write_compressed): relaxed
 * atomic accesses, which are plain loads and stores on every CPU we build
 * for.
 */
static struct contents entry_get(const struct entry *e)
{
	return (struct contents){
		__atomic_load_n(&e->state, __ATOMIC_RELAXED),
		__atomic_load_n(&e->len, __ATOMIC_RELAXED),
		__atomic_load_n(&e->val, __ATOMIC_RELAXED),
	};
}

static void entry_set(struct entry *e, const struct contents *c)
{
	__atomic_store_n(&e->state, c->state, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, c->len, __ATOMIC_RELAXED);
	__atomic_store_n(&e->val, c->val, __ATOMIC_RELAXED);
}

/* Bytes the contents take in the counters' compr_data_size. */
static int64_t compr_bytes(const struct contents *c)
{
	return c->state == E_COMP ? c->len : c->state == E_HUGE ? PAGE : 0;
}

/*
 * The counters for an entry going from old to new contents: only what
 * changes, so a compressed page replacing another costs one atomic add.
 */
static void account(struct pep_zram_store *s, const struct contents *old,
		    const struct contents *new)
{
	struct counters *c = counters(s);
	int64_t stored = (new->state != E_EMPTY) - (old->state != E_EMPTY);
	int64_t same = (new->state == E_SAME) - (old->state == E_SAME);
	int64_t huge = (new->state == E_HUGE) - (old->state == E_HUGE);
	int64_t bytes = compr_bytes(new) - compr_bytes(old);

	if (stored)
		add(&c->pages_stored, stored);
	if (same)
		add(&c->same_pages, same);
	if (huge)
		add(&c->huge_pages, huge);
	if (bytes)
		add(&c->compr_bytes, bytes);
	if (new->state == E_HUGE)
		add(&c->huge_since, 1);
}

/* Give back the region memory of contents taken out of an entry. */
static void release(struct pep_zram_store *s, const struct contents *o)
{
	if (o->state == E_COMP)
		obj_free(s, &s->classes[class_of(o->len)], o->val);
	else if (o->state == E_HUGE)
		kept_give(s, (uint32_t)(o->val >> PAGE_SHIFT));
}

/* Put new contents, already in place, in e; what was there is released. */
static void publish(struct pep_zram_store *s, struct entry *e,
		    const struct contents *new)
{
	struct contents old;

	spin_lock(&e->lock);
	old = entry_get(e);
	entry_set(e, new);
	spin_unlock(&e->lock);
	account(s, &old, new);
	release(s, &old);
}

/* Whether new contents may overwrite old where they lie: a huge page over
 * a huge page, a compressed page over one of the same size class. */
static bool fits_in_place(const struct contents *old, uint8_t state,
			  uint16_t len)
{
	return old->state == state &&
	       (state == E_HUGE || class_of(old->len) == class_of(len));
}

/* A new place for contents of state and len in the region: its offset,
 * or -ENOMEM. */
static int64_t place_alloc(struct pep_zram_store *s, uint8_t state,
			   uint16_t len)
{
	uint32_t p;

	if (state != E_HUGE)
		return obj_alloc(s, &s->classes[class_of(len)]);
	p = kept_take(s);
	return p == NO_SLAB ? -ENOMEM : (int64_t)p << PAGE_SHIFT;
}

static void place_free(struct pep_zram_store *s, uint8_t state, uint16_t len,
		       int64_t off)
{
	struct contents c = { state, len, (uint64_t)off };

	release(s, &c);
}

/*
 * Put len bytes of src (state: E_COMP or E_HUGE) in entry e: where the
 * old contents lie when they fit there (no allocation, no free), else in
 * a new place. Readers wait on the entry lock meanwhile; on -ENOMEM the
 * old contents stay.
 */
static int store_object(struct pep_zram_store *s, struct entry *e,
			const void *src, uint8_t state, uint16_t len)
{
	struct contents old, new = { state, len, 0 };
	int64_t off;

	spin_lock(&e->lock);
	old = entry_get(e);
	if (fits_in_place(&old, state, len)) {
		off = (int64_t)old.val;
	} else {
		off = place_alloc(s, state, len);
		if (off < 0) {
			spin_unlock(&e->lock);
			return (int)off;
		}
		release(s, &old);
	}
	new.val = (uint64_t)off;
	account(s, &old, &new);
	memcpy(s->region + off, src, len);
	entry_set(e, &new);
	spin_unlock(&e->lock);
	return 0;
}

/* Put same-filled (or empty) contents in e; what was there is released. */
static void store_value(struct pep_zram_store *s, struct entry *e,
			uint8_t state, uint64_t val)
{
	struct contents new = { state, 0, val };

	publish(s, e, &new);
}

/*
 * Placing a page where it will stay before its size is known.
 *
 * Compressing into a buffer and then copying into the region costs a
 * tenth of the compression again: the region is cold, and a burst of
 * stores to cold memory waits for every line to be read in. LZ4 writing
 * its output straight into the region costs next to nothing, because its
 * stores are spread out over the compression. So where the page's last
 * contents say what the new ones will likely be, the new place is taken
 * first and filled directly; a wrong guess falls back to the buffer. The
 * old contents stay untouched until the new ones are published, so a
 * failure anywhere leaves them as they were.
 */

#define GUESS_AGAIN	1	/* the guess was wrong: take the plain path */
/* Writes in a row that kept their size class before one is compressed
 * straight into a slot of that class: a wrong guess there costs a second
 * compression, so it is made only when the workload keeps sizes steady. */
#define STREAK_MIN	2

/*
 * Copy a page into the region with streaming stores where the CPU has
 * them: no line is read in first, and the stores drain while the page
 * compresses. region_fence() makes them visible before anything
 * publishes them.
 */
static void region_stream_page(char *dst, const void *src)
{
#ifdef __SSE2__
	const char *from = src;

	for (size_t i = 0; i < PAGE; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(from + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(from + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(from + i + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(from + i + 48));

		_mm_stream_si128((__m128i *)(dst + i), a);
		_mm_stream_si128((__m128i *)(dst + i + 16), b);
		_mm_stream_si128((__m128i *)(dst + i + 32), c);
		_mm_stream_si128((__m128i *)(dst + i + 48), d);
	}
#else
	memcpy(dst, src, PAGE);
#endif
}

static void region_fence(void)
{
#ifdef __SSE2__
	_mm_sfence();
#endif
}

/*
 * The page was huge: most likely it still is. Copy it raw into a new
 * region page while it compresses, with no room for more output than a
 * compressed page may have (the codec gives up as soon as it is past).
 */
static int guess_huge(struct pep_zram_store *s, struct entry *e,
		      struct zctx *z, const void *page)
{
	int64_t off = place_alloc(s, E_HUGE, PAGE);
	struct contents new = { E_HUGE, PAGE, (uint64_t)off };
	size_t n;

	if (off < 0)
		return GUESS_AGAIN;
	region_stream_page(s->region + off, page);
	n = compress_into(s, z, page, z->buf, HUGE_LIMIT);
	region_fence();
	if (n == 0) {
		publish(s, e, &new);
		return 0;
	}
	place_free(s, E_HUGE, PAGE, off);
	return store_object(s, e, z->buf, E_COMP, (uint16_t)n);
}

/*
 * The page kept its size class over the last writes: compress it
 * straight into a new object of that class. Output of another class is
 * copied on from there; output that does not fit is made again.
 */
static int guess_class(struct pep_zram_store *s, struct entry *e,
		       struct zctx *z, const void *page, unsigned int cls)
{
	struct size_class *c = &s->classes[cls];
	int64_t off = obj_alloc(s, c);
	size_t n;
	int ret;

	if (off < 0)
		return GUESS_AGAIN;
	n = compress_into(s, z, page, s->region + off, c->size);
	if (n && class_of((uint32_t)n) == cls) {
		struct contents new = { E_COMP, (uint16_t)n, (uint64_t)off };

		z->streak++;
		publish(s, e, &new);
		return 0;
	}
	z->streak = 0;
	ret = n ? store_object(s, e, s->region + off, E_COMP, (uint16_t)n) :
		  GUESS_AGAIN;
	obj_free(s, c, (uint64_t)off);
	return ret;
}

/* Compress page and store it in e. */
static int write_compressed(struct pep_zram_store *s, struct entry *e,
			    const void *page)
{
	struct zctx *z = zctx_get(s->cfg.comp, false);
	struct contents last;
	bool kept;
	size_t n;
	int ret;

	if (!z)
		return -ENOMEM;
	last = entry_get(e);	/* a guess only: e is not locked */
	if (last.state == E_HUGE) {
		ret = guess_huge(s, e, z, page);
		if (ret != GUESS_AGAIN)
			return ret;
	} else if (last.state == E_COMP && z->streak >= STREAK_MIN) {
		ret = guess_class(s, e, z, page, class_of(last.len));
		if (ret != GUESS_AGAIN)
			return ret;
	}
	n = compress_into(s, z, page, z->buf, sizeof(z->buf));
	kept = n && last.state == E_COMP && class_of((uint32_t)n) ==
					    class_of(last.len);
	z->streak = kept ? z->streak + 1 : 0;
	if (n)
		return store_object(s, e, z->buf, E_COMP, (uint16_t)n);
	return store_object(s, e, page, E_HUGE, PAGE);
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
		store_value(s, e, E_SAME, word);
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
	struct contents c;
	struct entry *e;
	int ret = 0;

	if (!s || !page)
		return -EINVAL;
	if (index >= s->npages)
		return -ERANGE;
	e = &s->table[index];
	spin_lock(&e->lock);
	c = entry_get(e);
	switch (c.state) {
	case E_EMPTY:
		memset(page, 0, PAGE);
		break;
	case E_SAME:
		fill_words(page, c.val);
		break;
	case E_COMP:
		ret = decompress_page(s, s->region + c.val, c.len, page);
		break;
	case E_HUGE:
		memcpy(page, s->region + c.val, PAGE);
		break;
	}
	spin_unlock(&e->lock);
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
	store_value(s, &s->table[index], E_EMPTY, 0);
	add(&counters(s)->notify_free, 1);
	return 0;
}

/* The counter sets summed (wrapping: a set alone may be "negative"). */
static struct counters sum_counters(struct pep_zram_store *s)
{
	struct counters t = { 0 };
	unsigned int i;

	for (i = 0; i < s->nshards; i++) {
		const struct counters *c = &s->shards[i].n;

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
		uint64_t pages = get(&s->mem.pages), kept = kept_count(s);

		*mm = (struct pep_zram_mm_stat){
			.orig_data_size = t.pages_stored * PAGE,
			.compr_data_size = t.compr_bytes,
			.mem_used_total = (pages > kept ? pages - kept : 0) * PAGE,
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
