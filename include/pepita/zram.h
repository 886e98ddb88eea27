/*
 * pepita/zram.h - the kernel's zram devices, and a userspace compressed
 * page store built the same way.
 *
 * Kernel zram (/dev/zramN, controlled through /sys/block/zramN and
 * /sys/class/zram-control) is driven the way util-linux's zramctl drives
 * it: the documented order of writes (comp_algorithm before disksize,
 * mem_limit after), hot_add when no device is free, reset before
 * hot_remove. A failed set-up undoes what it did: a device it added is
 * removed, a device it initialised is reset. Optional attributes that a
 * kernel lacks (max_comp_streams is gone in 6.15) are ignored.
 *
 * The page store keeps 4 KiB pages in memory, compressed with LZ4 or zstd.
 * Like zram: a page whose every 64-bit word is equal is kept as that word,
 * a page that does not compress to 3/4 of its size or less is kept raw
 * ("huge"), and compressed pages are packed into size-class slabs carved
 * from a buddy allocator (like zsmalloc), so memory used is reported apart
 * from compressed bytes. Its statistics are the kernel's mm_stat and
 * io_stat fields.
 *
 * Threading: the kernel control calls are thread-safe (sysfs is). A page
 * store may be used from any number of threads at once: each page has its
 * own lock, each size class its own, and each thread compresses with its
 * own contexts (made on its first write, freed when it ends).
 */
#ifndef PEPITA_ZRAM_H
#define PEPITA_ZRAM_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* mm_stat, field by field (sizes in bytes). */
struct pep_zram_mm_stat {
	uint64_t orig_data_size;	/* pages stored x 4096, same pages too */
	uint64_t compr_data_size;	/* compressed bytes (huge pages: 4096) */
	uint64_t mem_used_total;	/* memory held, incl. fragmentation */
	uint64_t mem_limit;		/* 0: no limit */
	uint64_t mem_used_max;		/* high-water mark of mem_used_total */
	uint64_t same_pages;		/* same-filled pages (no memory) */
	uint64_t pages_compacted;	/* pages freed by compaction */
	uint64_t huge_pages;		/* incompressible pages now */
	uint64_t huge_pages_since;	/* incompressible pages ever */
	unsigned int nfields;		/* fields the source had (older kernels: fewer) */
};

/* io_stat, field by field. */
struct pep_zram_io_stat {
	uint64_t failed_reads;
	uint64_t failed_writes;
	uint64_t invalid_io;		/* always 0 on current kernels */
	uint64_t notify_free;		/* pages freed by discard / swap free */
	unsigned int nfields;
};

/*
 * Parse the text of mm_stat / io_stat: whitespace-separated decimals, as
 * many fields as the kernel has (at least 3 for mm_stat, 3 for io_stat;
 * missing later fields are 0). -EINVAL with the field's number in err for
 * anything else.
 */
PEP_API int pep_zram_parse_mm_stat(const char *text,
				   struct pep_zram_mm_stat *out,
				   struct pep_err *err);
PEP_API int pep_zram_parse_io_stat(const char *text,
				   struct pep_zram_io_stat *out,
				   struct pep_err *err);

/* orig_data_size / compr_data_size; 0 when nothing is compressed. */
PEP_API double pep_zram_ratio(const struct pep_zram_mm_stat *mm);

#define PEP_ZRAM_NAME_MAX	32
#define PEP_ZRAM_ALGOS_MAX	256

/* One kernel zram device as sysfs shows it. */
struct pep_zram_dev {
	int id;				/* N of /dev/zramN */
	int initialised;		/* initstate */
	uint64_t disksize;		/* bytes; 0 when free */
	char algorithm[PEP_ZRAM_NAME_MAX];	/* the active one ("lz4") */
	char algorithms[PEP_ZRAM_ALGOS_MAX];	/* all listed, space-separated */
	struct pep_zram_mm_stat mm;	/* nfields 0 when unreadable */
	struct pep_zram_io_stat io;
	int swap;			/* listed in /proc/swaps */
	char mountpoint[256];		/* from /proc/self/mounts, or "" */
};

/*
 * Parse comp_algorithm's text ("lzo [lz4] zstd"): the bracketed name into
 * active, every name space-separated into all. -EINVAL when no name is
 * bracketed or a name is too long.
 */
PEP_API int pep_zram_parse_algorithms(const char *text,
				      char active[PEP_ZRAM_NAME_MAX],
				      char all[PEP_ZRAM_ALGOS_MAX],
				      struct pep_err *err);

/*
 * The zram devices present, sorted by id, into a malloc()ed array the
 * caller frees. *count 0 (and 0 returned) when the zram module is not
 * loaded.
 */
PEP_API int pep_zram_list(struct pep_zram_dev **devs, size_t *count,
			  struct pep_err *err);

/* One device; -ENODEV when /sys/block/zramN does not exist. */
PEP_API int pep_zram_info(int id, struct pep_zram_dev *dev,
			  struct pep_err *err);

struct pep_zram_setup {
	const char *algorithm;		/* NULL: the kernel's default */
	uint64_t size;			/* disksize in bytes, > 0 */
	uint64_t mem_limit;		/* 0: none */
	int reset;			/* reset an initialised device first */
};

/*
 * Set up device id, or with id < 0 the first free one (disksize 0), adding
 * one through hot_add when none is free. Returns the device's id. Refused
 * with -EBUSY on an initialised device unless cfg->reset (and then -EBUSY
 * still while it is open: mounted, swap). -EINVAL for size 0 or an
 * algorithm the kernel does not list, naming what it offers. On failure
 * nothing stays half-configured.
 */
PEP_API int pep_zram_setup(int id, const struct pep_zram_setup *cfg,
			   struct pep_err *err);

/* Write reset: frees the data, disksize back to 0. -EBUSY while open. */
PEP_API int pep_zram_reset(int id, struct pep_err *err);

/* Reset, then hot_remove. */
PEP_API int pep_zram_remove(int id, struct pep_err *err);

/*
 * A swap area on a zram device: set up (as pep_zram_setup, with
 * cfg->algorithm and cfg->size), write the swap signature (as mkswap),
 * swapon with priority (-1: the kernel's default; 0..32767). Returns the
 * id. Undone on failure.
 */
PEP_API int pep_zram_swap(int id, const struct pep_zram_setup *cfg,
			  int priority, struct pep_err *err);

/* swapoff /dev/zramN (not reset). */
PEP_API int pep_zram_swapoff(int id, struct pep_err *err);

/* The userspace compressed page store. */
#define PEP_ZRAM_PAGE_SIZE	4096u

enum pep_zram_comp {
	PEP_ZRAM_LZ4 = 0,
	PEP_ZRAM_ZSTD = 1,
};

/* "lz4" / "zstd" to the enum; -EINVAL naming the choices otherwise. */
PEP_API int pep_zram_comp_parse(const char *name, enum pep_zram_comp *out,
				struct pep_err *err);
PEP_API const char *pep_zram_comp_name(enum pep_zram_comp comp);

struct pep_zram_store_config {
	uint64_t size;			/* bytes, a multiple of 4096, > 0 */
	enum pep_zram_comp comp;
	int level;			/* zstd level (0: 3); LZ4 acceleration (0: 1) */
	uint64_t mem_limit;		/* bytes of slab memory; 0: no limit */
};

struct pep_zram_store;

PEP_API int pep_zram_store_create(struct pep_zram_store **out,
				  const struct pep_zram_store_config *cfg,
				  struct pep_err *err);
PEP_API void pep_zram_store_destroy(struct pep_zram_store *s);

/* Pages in the store (size / 4096). */
PEP_API uint64_t pep_zram_store_pages(const struct pep_zram_store *s);

/*
 * Store 4096 bytes at page index. -ERANGE: index past the end; -ENOMEM:
 * mem_limit reached or no memory (the old contents stay).
 */
PEP_API int pep_zram_store_write(struct pep_zram_store *s, uint64_t index,
				 const void *page);

/* Read page index into page (4096 bytes); a page never written reads 0s. */
PEP_API int pep_zram_store_read(struct pep_zram_store *s, uint64_t index,
				void *page);

/* Forget page index (it reads as zeros again). */
PEP_API int pep_zram_store_discard(struct pep_zram_store *s, uint64_t index);

/* A snapshot of the counters (each exact; not one instant across all). */
PEP_API void pep_zram_store_stats(struct pep_zram_store *s,
				  struct pep_zram_mm_stat *mm,
				  struct pep_zram_io_stat *io);

/* orig_data_size / compr_data_size now. */
PEP_API double pep_zram_store_ratio(struct pep_zram_store *s);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_ZRAM_H */
