/*
 * The userspace compressed page store: round trips of every kind of page
 * (random, 2:1, zero, same-filled, incompressible) with LZ4 and zstd; the
 * mm_stat/io_stat counters exact after each step; mem_limit enforced with
 * the old contents kept; bad configurations refused; and threads writing,
 * reading and discarding shared pages at once (suite threads, for TSan),
 * every read checked against what some writer stored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lz4.h>

#include <pepita/zram.h>

#include "harness.h"
#include "pepita/zram-data.h"

#define PAGE	PEP_ZRAM_PAGE_SIZE
#define N_KIND	40		/* pages of each kind */

enum kind { K_HALF, K_ZERO, K_SAME, K_RANDOM, K_NEARLY_SAME, N_KINDS };

static void make_page(void *page, enum kind k, uint64_t i)
{
	switch (k) {
	case K_HALF: zd_half(page, i); break;
	case K_ZERO: zd_same(page, 0); break;
	case K_SAME: zd_same(page, 0x0123456789abcdefull + i); break;
	case K_RANDOM: zd_random(page, i); break;
	case K_NEARLY_SAME:
		/* Same-filled but for one word: must not be taken for same. */
		zd_same(page, 0x5a5a5a5a5a5a5a5aull);
		((uint64_t *)page)[(i * 37) % (PAGE / 8)] ^= 1;
		break;
	case N_KINDS: break;
	}
}

static struct pep_zram_store *new_store(enum pep_zram_comp comp,
					uint64_t pages, uint64_t limit)
{
	struct pep_zram_store_config cfg = {
		.size = pages * PAGE, .comp = comp, .mem_limit = limit,
	};
	struct pep_zram_store *s = NULL;
	struct pep_err err;

	if (pep_zram_store_create(&s, &cfg, &err) != 0)
		fprintf(stderr, "create: %s\n", err.msg);
	return s;
}

/* The compressed size the reference codec gives a page (0: huge). */
static uint64_t lz4_size(const void *page)
{
	char out[PAGE];
	int n = LZ4_compress_default(page, out, PAGE, PAGE / 4 * 3);

	return n > 0 ? (uint64_t)n : 0;
}

static int round_trip(enum pep_zram_comp comp)
{
	static unsigned char page[PAGE], back[PAGE];
	struct pep_zram_store *s = new_store(comp, N_KINDS * N_KIND + 8, 0);
	struct pep_zram_mm_stat mm;
	struct pep_zram_io_stat io;
	uint64_t i, compr = 0, same = 0, huge = 0;
	int k;

	CHECK(s);
	for (k = 0; k < N_KINDS; k++) {
		for (i = 0; i < N_KIND; i++) {
			make_page(page, (enum kind)k, i);
			CHECK(pep_zram_store_write(s, k * N_KIND + i, page) == 0);
			if (k == K_ZERO || k == K_SAME)
				same++;
			else if (k == K_RANDOM)
				huge++;
			else
				compr += lz4_size(page);
		}
	}
	for (k = 0; k < N_KINDS; k++) {
		for (i = 0; i < N_KIND; i++) {
			make_page(page, (enum kind)k, i);
			memset(back, 0xee, PAGE);
			CHECK(pep_zram_store_read(s, k * N_KIND + i, back) == 0);
			CHECK(memcmp(page, back, PAGE) == 0);
		}
	}
	/* Never written: zeros. */
	memset(back, 0xee, PAGE);
	CHECK(pep_zram_store_read(s, N_KINDS * N_KIND + 3, back) == 0);
	zd_same(page, 0);
	CHECK(memcmp(page, back, PAGE) == 0);

	pep_zram_store_stats(s, &mm, &io);
	CHECK(mm.nfields == 9 && io.nfields == 4);
	CHECK(mm.orig_data_size == (uint64_t)N_KINDS * N_KIND * PAGE);
	CHECK(mm.same_pages == same);
	CHECK(mm.huge_pages == huge && mm.huge_pages_since == huge);
	/* LZ4's sizes are the reference codec's, to the byte. */
	if (comp == PEP_ZRAM_LZ4)
		CHECK(mm.compr_data_size == compr + huge * PAGE);
	else
		CHECK(mm.compr_data_size < compr + huge * PAGE);
	CHECK(mm.mem_used_total >= mm.compr_data_size);
	/* Fragmentation: at most one partial slab (16 KiB) per size class. */
	CHECK(mm.mem_used_total <= mm.compr_data_size + 96 * 16384);
	CHECK(mm.mem_used_max == mm.mem_used_total);
	CHECK(io.failed_reads == 0 && io.failed_writes == 0 &&
	      io.notify_free == 0);
	CHECK(pep_zram_store_ratio(s) > 1.0);

	/* Discard everything: back to nothing, the slabs all returned. */
	for (i = 0; i < N_KINDS * N_KIND; i++)
		CHECK(pep_zram_store_discard(s, i) == 0);
	pep_zram_store_stats(s, &mm, &io);
	CHECK(mm.orig_data_size == 0 && mm.compr_data_size == 0);
	CHECK(mm.mem_used_total == 0 && mm.same_pages == 0);
	CHECK(mm.huge_pages == 0 && mm.huge_pages_since == huge);
	CHECK(mm.mem_used_max > 0);
	CHECK(io.notify_free == N_KINDS * N_KIND);
	CHECK(pep_zram_store_read(s, 0, back) == 0);
	CHECK(memcmp(page, back, PAGE) == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

static int test_lz4(void)
{
	return round_trip(PEP_ZRAM_LZ4);
}

static int test_zstd(void)
{
	return round_trip(PEP_ZRAM_ZSTD);
}

/* Overwriting a page moves it between kinds; the counters follow. */
static int test_overwrite(void)
{
	static unsigned char page[PAGE], back[PAGE];
	struct pep_zram_store *s = new_store(PEP_ZRAM_LZ4, 4, 0);
	struct pep_zram_mm_stat mm;
	enum kind order[] = { K_HALF, K_ZERO, K_RANDOM, K_SAME, K_HALF,
			      K_RANDOM, K_ZERO };
	size_t j;

	CHECK(s);
	for (j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
		make_page(page, order[j], j);
		CHECK(pep_zram_store_write(s, 2, page) == 0);
		CHECK(pep_zram_store_read(s, 2, back) == 0);
		CHECK(memcmp(page, back, PAGE) == 0);
		pep_zram_store_stats(s, &mm, NULL);
		CHECK(mm.orig_data_size == PAGE);
		CHECK(mm.same_pages == (order[j] == K_ZERO || order[j] == K_SAME));
		CHECK(mm.huge_pages == (order[j] == K_RANDOM));
		CHECK(mm.compr_data_size == (order[j] == K_RANDOM ? PAGE :
					     order[j] == K_HALF ? lz4_size(page) : 0));
	}
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.huge_pages_since == 2 && mm.mem_used_total == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

/* n random bytes, then zeros: compresses to a little over n bytes. */
static void sized_page(void *page, unsigned int n, uint64_t seed)
{
	zd_random(page, seed);
	memset((unsigned char *)page + n, 0, PAGE - n);
}

/*
 * Pages rewritten over and over with contents whose compressed size stays
 * put for a while, then grows, shrinks, turns incompressible, stays so,
 * and shrinks again: every page reads back whole after every round, and
 * the counters match the reference codec's sizes to the byte, however
 * the store chose to place each page (where the old one lay, straight
 * into a new slot, or through a buffer).
 */
#define RW_PAGES	4

static int rewrite_round(struct pep_zram_store *s, enum pep_zram_comp comp,
			 unsigned int n, unsigned int round)
{
	static unsigned char page[PAGE], back[PAGE];
	struct pep_zram_mm_stat mm;
	uint64_t compr = 0, huge = 0, i;

	for (i = 0; i < RW_PAGES; i++) {
		sized_page(page, n, round * RW_PAGES + i);
		CHECK(pep_zram_store_write(s, i, page) == 0);
		if (lz4_size(page))
			compr += lz4_size(page);
		else
			huge++;
	}
	for (i = 0; i < RW_PAGES; i++) {
		sized_page(page, n, round * RW_PAGES + i);
		CHECK(pep_zram_store_read(s, i, back) == 0);
		CHECK(memcmp(page, back, PAGE) == 0);
	}
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.orig_data_size == RW_PAGES * PAGE);
	if (comp == PEP_ZRAM_LZ4) {
		CHECK(mm.huge_pages == huge);
		CHECK(mm.compr_data_size == compr + huge * PAGE);
	}
	CHECK(mm.mem_used_total >= mm.compr_data_size);
	CHECK(mm.mem_used_total <= mm.compr_data_size + 96 * 16384);
	return T_PASS;
}

static int rewrite(enum pep_zram_comp comp)
{
	static const unsigned int sizes[] = {
		1000, 1000, 1000, 1000, 1000, 1600, 1600, 1600, 1600, 600,
		600, 600, PAGE, PAGE, PAGE, 2000, 2000, 2000, 2000, 2000,
		2900, 300, PAGE, 100,
	};
	struct pep_zram_store *s = new_store(comp, RW_PAGES, 0);
	struct pep_zram_mm_stat mm;
	unsigned int r;
	uint64_t i;

	CHECK(s);
	for (r = 0; r < sizeof(sizes) / sizeof(sizes[0]); r++)
		if (rewrite_round(s, comp, sizes[r], r) != T_PASS) {
			fprintf(stderr, "round %u (%u random bytes)\n", r,
				sizes[r]);
			return T_FAIL;
		}
	for (i = 0; i < RW_PAGES; i++)
		CHECK(pep_zram_store_discard(s, i) == 0);
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.compr_data_size == 0 && mm.mem_used_total == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

static int test_rewrite(void)
{
	return rewrite(PEP_ZRAM_LZ4) || rewrite(PEP_ZRAM_ZSTD) ? T_FAIL : T_PASS;
}

/* mem_limit: writes past it fail with -ENOMEM and the old page stays. */
static int test_limit(void)
{
	static unsigned char page[PAGE], back[PAGE];
	struct pep_zram_store *s = new_store(PEP_ZRAM_LZ4, 64, 16 * PAGE);
	struct pep_zram_mm_stat mm;
	struct pep_zram_io_stat io;
	uint64_t i, stored = 0;
	int ret = 0;

	CHECK(s);
	for (i = 0; i < 64 && ret == 0; i++) {
		zd_random(page, i);
		ret = pep_zram_store_write(s, i, page);
		if (ret == 0)
			stored++;
	}
	CHECK(ret == -ENOMEM);
	CHECK(stored == 16);
	pep_zram_store_stats(s, &mm, &io);
	CHECK(mm.mem_used_total == 16 * PAGE && mm.mem_limit == 16 * PAGE);
	CHECK(mm.mem_used_max <= mm.mem_limit);
	/* A page that needs a new place past the limit: refused, and the
	   old data stays. */
	zd_half(page, 1000);
	CHECK(pep_zram_store_write(s, 3, page) == -ENOMEM);
	zd_random(page, 3);
	CHECK(pep_zram_store_read(s, 3, back) == 0);
	CHECK(memcmp(page, back, PAGE) == 0);
	CHECK(io.failed_writes == 1);
	/* One that fits where the old one lies needs no memory. */
	zd_random(page, 1000);
	CHECK(pep_zram_store_write(s, 3, page) == 0);
	CHECK(pep_zram_store_read(s, 3, back) == 0);
	CHECK(memcmp(page, back, PAGE) == 0);
	/* Same-filled pages need no memory: still accepted. */
	zd_same(page, 7);
	CHECK(pep_zram_store_write(s, 40, page) == 0);
	/* Freeing makes room again. */
	CHECK(pep_zram_store_discard(s, 0) == 0);
	zd_random(page, 2000);
	CHECK(pep_zram_store_write(s, 41, page) == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

/*
 * A huge page written over a huge page leaves the old region page kept
 * for the next one: it is not counted as used, and a charge at the
 * limit gives it back rather than failing.
 */
static int test_kept_page(void)
{
	static unsigned char page[PAGE], back[PAGE];
	struct pep_zram_store *s = new_store(PEP_ZRAM_LZ4, 64, 16 * PAGE);
	struct pep_zram_mm_stat mm;
	uint64_t i;

	CHECK(s);
	for (i = 0; i < 15; i++) {
		zd_random(page, i);
		CHECK(pep_zram_store_write(s, i, page) == 0);
	}
	zd_random(page, 100);
	CHECK(pep_zram_store_write(s, 0, page) == 0);	/* huge over huge */
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.mem_used_total == 15 * PAGE);
	/* 15 pages hold data and one is kept: a compressible page needs a
	   slab page, which the limit allows only once the kept one is back. */
	zd_half(page, 200);
	CHECK(pep_zram_store_write(s, 20, page) == 0);
	CHECK(pep_zram_store_read(s, 20, back) == 0);
	CHECK(memcmp(page, back, PAGE) == 0);
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.mem_used_total == 16 * PAGE && mm.mem_used_max <= 16 * PAGE);
	zd_random(page, 100);
	CHECK(pep_zram_store_read(s, 0, back) == 0);
	CHECK(memcmp(page, back, PAGE) == 0);
	for (i = 0; i < 64; i++)
		CHECK(pep_zram_store_discard(s, i) == 0);
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.mem_used_total == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

static int test_bad_input(void)
{
	struct pep_zram_store_config cfg = { .size = 0 };
	struct pep_zram_store *s = (void *)1;
	struct pep_err err;
	unsigned char page[PAGE] = { 0 };
	enum pep_zram_comp comp;

	CHECK(pep_zram_store_create(&s, &cfg, &err) == -EINVAL);
	CHECK(s == NULL && strstr(err.msg, "size 0"));
	cfg.size = PAGE + 512;
	CHECK(pep_zram_store_create(&s, &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "multiple of 4096"));
	cfg.size = PAGE;
	cfg.comp = (enum pep_zram_comp)7;
	CHECK(pep_zram_store_create(&s, &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "lz4, zstd"));
	CHECK(pep_zram_comp_parse("lzo", &comp, &err) == -EINVAL);
	CHECK(strstr(err.msg, "'lzo'") && strstr(err.msg, "lz4, zstd"));
	CHECK(pep_zram_comp_parse("zstd", &comp, NULL) == 0 &&
	      comp == PEP_ZRAM_ZSTD);
	CHECK(strcmp(pep_zram_comp_name(PEP_ZRAM_LZ4), "lz4") == 0);
	cfg.comp = PEP_ZRAM_ZSTD;
	cfg.level = 99;
	CHECK(pep_zram_store_create(&s, &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "zstd level 99"));

	s = new_store(PEP_ZRAM_LZ4, 2, 0);
	CHECK(s && pep_zram_store_pages(s) == 2);
	CHECK(pep_zram_store_write(s, 2, page) == -ERANGE);
	CHECK(pep_zram_store_read(s, 2, page) == -ERANGE);
	CHECK(pep_zram_store_discard(s, UINT64_MAX) == -ERANGE);
	pep_zram_store_destroy(s);
	pep_zram_store_destroy(NULL);
	return T_PASS;
}

/*
 * Threads. Each writes pages whose first two words are (index, version)
 * and whose rest is derived from them, so any page read back can be
 * checked whole: a torn or crossed page fails. Half the indexes are
 * shared by all threads, half belong to one thread, which also checks
 * that it reads exactly its own last version.
 */
#define T_THREADS	4
#define T_SHARED	64
#define T_OWN		64
#define T_OPS		6000

static void versioned_page(void *page, uint64_t index, uint64_t version)
{
	uint64_t *w = page;

	switch (version % 4) {
	case 0: zd_half(page, index * 1000003 + version); break;
	case 1: zd_random(page, index * 1000003 + version); break;
	case 2: zd_same(page, index * 1000003 + version); break;
	default: zd_same(page, 0); return;	/* a zero page: version 3 */
	}
	w[0] = index;
	w[1] = version;
}

/* A page read back is a whole page some writer wrote at index (or zeros). */
static int valid_page(const void *page, uint64_t index)
{
	static const unsigned char zero[PAGE];
	unsigned char want[PAGE];
	const uint64_t *w = page;

	if (memcmp(page, zero, PAGE) == 0)
		return 1;
	if (w[0] != index)
		return 0;
	versioned_page(want, index, w[1]);
	return memcmp(want, page, PAGE) == 0;
}

struct worker {
	struct pep_zram_store *s;
	unsigned int id;
	int rc;
};

static int worker_step(struct worker *wk, uint64_t *rng, unsigned char *page,
		       uint64_t *own_version)
{
	uint64_t r = zd_rng(rng);
	int own = r & 1;
	uint64_t slot = (r >> 8) % (own ? T_OWN : T_SHARED);
	uint64_t index = own ? T_SHARED + wk->id * T_OWN + slot : slot;
	unsigned int op = (unsigned int)(r >> 32) % 8;

	if (op < 4) {			/* write */
		uint64_t v = (r >> 40) * 4 + (r >> 16) % 4;

		versioned_page(page, index, v);
		if (pep_zram_store_write(wk->s, index, page) != 0)
			return -1;
		if (own)
			own_version[slot] = v + 1;
	} else if (op < 7) {		/* read */
		if (pep_zram_store_read(wk->s, index, page) != 0 ||
		    !valid_page(page, index))
			return -1;
		if (own && own_version[slot]) {
			unsigned char want[PAGE];

			versioned_page(want, index, own_version[slot] - 1);
			if (memcmp(want, page, PAGE) != 0)
				return -1;
		}
	} else {			/* discard */
		if (pep_zram_store_discard(wk->s, index) != 0)
			return -1;
		if (own)
			own_version[slot] = 4;	/* reads as version 3: zeros */
	}
	return 0;
}

static void *worker_main(void *p)
{
	struct worker *wk = p;
	static __thread unsigned char page[PAGE];
	uint64_t own_version[T_OWN] = { 0 };
	uint64_t rng = 0x2545f4914f6cdd1dull * (wk->id + 1);
	int i;

	for (i = 0; i < T_OPS; i++) {
		if (worker_step(wk, &rng, page, own_version) != 0) {
			fprintf(stderr, "thread %u: step %d failed\n", wk->id, i);
			wk->rc = T_FAIL;
			return NULL;
		}
	}
	wk->rc = T_PASS;
	return NULL;
}

static int test_threads(void)
{
	uint64_t npages = T_SHARED + T_THREADS * T_OWN;
	struct pep_zram_store *s = new_store(PEP_ZRAM_LZ4, npages, 0);
	struct worker wk[T_THREADS];
	pthread_t tid[T_THREADS];
	struct pep_zram_mm_stat mm;
	unsigned char page[PAGE];
	unsigned int t;
	uint64_t i;

	CHECK(s);
	for (t = 0; t < T_THREADS; t++) {
		wk[t] = (struct worker){ .s = s, .id = t, .rc = T_ERROR };
		CHECK(pthread_create(&tid[t], NULL, worker_main, &wk[t]) == 0);
	}
	for (t = 0; t < T_THREADS; t++)
		CHECK(pthread_join(tid[t], NULL) == 0);
	for (t = 0; t < T_THREADS; t++)
		CHECK(wk[t].rc == T_PASS);
	/* Quiet now: every page whole, and discarding all of them brings
	   every counter back to zero. */
	for (i = 0; i < npages; i++) {
		CHECK(pep_zram_store_read(s, i, page) == 0);
		CHECK(valid_page(page, i));
	}
	for (i = 0; i < npages; i++)
		CHECK(pep_zram_store_discard(s, i) == 0);
	pep_zram_store_stats(s, &mm, NULL);
	CHECK(mm.orig_data_size == 0 && mm.compr_data_size == 0);
	CHECK(mm.same_pages == 0 && mm.huge_pages == 0);
	CHECK(mm.mem_used_total == 0);
	pep_zram_store_destroy(s);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("lz4", test_lz4, &rc);
	t_run("zstd", test_zstd, &rc);
	t_run("overwrite", test_overwrite, &rc);
	t_run("rewrite", test_rewrite, &rc);
	t_run("limit", test_limit, &rc);
	t_run("kept-page", test_kept_page, &rc);
	t_run("bad-input", test_bad_input, &rc);
	t_run("threads", test_threads, &rc);
	return rc;
}
