/*
 * pepita/mem.h - DMA-able buffers and a buddy page allocator.
 *
 * DMA buffers are anonymous mappings, page-aligned, backed by 2 MiB huge
 * pages when asked for and available (hugetlbfs pool, else transparent huge
 * pages), locked in memory when permitted, with physical addresses read from
 * /proc/self/pagemap (which needs CAP_SYS_ADMIN).
 *
 * The buddy allocator hands out blocks of 2^order pages from a region the
 * caller owns (a DMA buffer, a file mapping, device memory). Its book-keeping
 * lives outside the region, which it never reads or writes.
 *
 * Threading: a struct pep_dma_buf belongs to its caller. A buddy allocator
 * created with PEP_BUDDY_LOCKED may be used from any number of threads;
 * without it, one thread at a time.
 */
#ifndef PEPITA_MEM_H
#define PEPITA_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* pep_dma_buf.flags; the same bits ask for a feature in pep_dma_alloc(). */
#define PEP_DMA_HUGE	0x1u	/* 2 MiB hugetlb pages (MAP_HUGETLB) */
#define PEP_DMA_THP	0x2u	/* result only: transparent huge pages advised */
#define PEP_DMA_LOCKED	0x4u	/* mlock()ed: resident, never swapped */

#define PEP_DMA_HUGE_SIZE ((size_t)2 << 20)

struct pep_dma_buf {
	void *addr;		/* page-aligned (2 MiB-aligned with HUGE/THP) */
	size_t size;		/* bytes mapped: the request rounded up */
	unsigned int flags;	/* PEP_DMA_*: what was actually obtained */
};

/*
 * Map size bytes (> 0), zeroed and faulted in. want is a mask of
 * PEP_DMA_HUGE and PEP_DMA_LOCKED. With PEP_DMA_HUGE, 2 MiB hugetlb pages
 * are tried first; when the pool is empty the buffer is 2 MiB-aligned
 * normal memory with madvise(MADV_HUGEPAGE), and out->flags says
 * PEP_DMA_THP if the kernel accepted the advice. With PEP_DMA_LOCKED,
 * mlock() is tried; when RLIMIT_MEMLOCK forbids it the buffer is still
 * returned, without PEP_DMA_LOCKED in out->flags. Only a failed mapping is
 * an error (-ENOMEM, -EINVAL for size 0 or unknown bits in want).
 */
PEP_API int pep_dma_alloc(size_t size, unsigned int want,
			  struct pep_dma_buf *out, struct pep_err *err);

/* Unmap (and unlock) buf, then zero it. buf or buf->addr NULL: nothing. */
PEP_API void pep_dma_free(struct pep_dma_buf *buf);

/*
 * The physical address of byte offset of buf, from /proc/self/pagemap.
 * -EINVAL: offset outside the buffer; -EFAULT: the page is not present;
 * -EPERM: the kernel hides frame numbers ("needs CAP_SYS_ADMIN").
 * Physical addresses stay valid only while the buffer is locked.
 */
PEP_API int pep_dma_phys(const struct pep_dma_buf *buf, size_t offset,
			 uint64_t *phys, struct pep_err *err);

/* The buddy allocator. */
struct pep_buddy;

#define PEP_BUDDY_LOCKED	0x1u	/* a mutex around every call */
#define PEP_BUDDY_MAX_ORDER	30	/* largest max_order accepted */

struct pep_buddy_stats {
	uint64_t total_pages;		/* pages in the region */
	uint64_t free_pages;
	uint64_t used_pages;
	uint64_t free_blocks[PEP_BUDDY_MAX_ORDER + 1];	/* free blocks per order */
	uint64_t allocs;		/* successful pep_buddy_alloc() calls */
	uint64_t frees;			/* successful pep_buddy_free() calls */
	uint64_t splits;		/* blocks split in two */
	uint64_t merges;		/* buddies joined */
	unsigned int max_order;
	unsigned int page_shift;
};

/*
 * Manage [base, base + size) in pages of 2^page_shift bytes (12..30;
 * base must be aligned to a page) and blocks of orders 0..max_order
 * (0..PEP_BUDDY_MAX_ORDER). A block of order k is 2^k pages and starts at a
 * multiple of its own size from base (also in absolute addresses when base
 * is aligned to the largest block). size need not be a multiple of the
 * largest block: the tail becomes the largest aligned blocks that fit, and
 * bytes past the last whole page are unused. -EINVAL for bad arguments or
 * a region of no page or more than 2^32 - 1 pages; -ENOMEM.
 */
PEP_API int pep_buddy_create(struct pep_buddy **out, void *base, size_t size,
			     unsigned int page_shift, unsigned int max_order,
			     unsigned int flags, struct pep_err *err);

/* Free the book-keeping (not the region). NULL: nothing. */
PEP_API void pep_buddy_destroy(struct pep_buddy *b);

/*
 * A block of 2^order pages, aligned to its size, or NULL when order is
 * above max_order or no block that large is free.
 */
PEP_API void *pep_buddy_alloc(struct pep_buddy *b, unsigned int order);

/*
 * Give back a block from pep_buddy_alloc() with the order it was allocated
 * with; it joins its free buddies. -EINVAL (and nothing changes) when ptr
 * is not the start of an allocated block of that order: a double free, a
 * wrong order, a pointer from elsewhere.
 */
PEP_API int pep_buddy_free(struct pep_buddy *b, void *ptr, unsigned int order);

/* A consistent snapshot of the counters. */
PEP_API void pep_buddy_stats(struct pep_buddy *b, struct pep_buddy_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_MEM_H */
