/*
 * cohete/memory.h - live memory: /proc/meminfo (with the Jetson nvmap
 * lines), swap, and zram devices; and memory budgets that are never
 * exceeded.
 *
 * Threading: the readers are reentrant and share nothing. Every budget
 * function may be called from any thread (see the budget section).
 */
#ifndef COHETE_MEMORY_H
#define COHETE_MEMORY_H

#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every field is COH_NA when the machine does not report it. */
struct coh_meminfo {
	int64_t total_kb;		/* MemTotal */
	int64_t free_kb;		/* MemFree */
	int64_t available_kb;		/* MemAvailable (the kernel's estimate) */
	int64_t buffers_kb;
	int64_t cached_kb;
	int64_t swap_total_kb;
	int64_t swap_free_kb;
	int64_t nvmap_used_kb;		/* NvMapMemUsed: Jetson GPU-shared */
};

#define COH_ZRAM_MAX 16

struct coh_zram {
	char name[16];			/* "zram0" */
	char algorithm[16];		/* the selected one: "lz4" */
	int64_t disksize_bytes;
	int64_t orig_data_bytes;	/* mm_stat field 1 */
	int64_t compr_data_bytes;	/* mm_stat field 2 */
	int64_t mem_used_bytes;		/* mm_stat field 3 */
	int swap;			/* listed in /proc/swaps */
};

struct coh_memory {
	struct coh_meminfo info;
	unsigned int zram_count;
	struct coh_zram zram[COH_ZRAM_MAX];
};

/*
 * Parse /proc/meminfo text. Lines it lacks stay COH_NA. -EINVAL when a
 * line it needs is malformed (err names the line number and key).
 */
COH_API int coh_meminfo_parse(const char *text, struct coh_meminfo *out,
			      struct pep_err *err);

/*
 * Read meminfo and zram devices. Missing parts are COH_NA and explained in
 * notes (may be NULL). Returns 0; never fails on absent files.
 */
COH_API int coh_memory_read(const struct coh_sysroot *sr,
			    struct coh_memory *out, struct coh_notes *notes);

/*
 * ---------------------------------------------------------------------
 * Memory budgets: a ceiling that is never exceeded.
 *
 * A runtime (an inference server on a Jetson) asks the budget before it
 * allocates: model weights, KV cache, activations. A grant is counted
 * against total - reserved; the reserve is left to the OS, the desktop and
 * CUDA's own allocations. The used counter alone enforces the ceiling with
 * an atomic compare-and-swap, so the ceiling holds even while the audit
 * registry (names, categories) is being updated under its lock.
 *
 * The budget counts what callers say they use; it does not allocate. Check
 * the machine itself with coh_budget_check_live() before a large grant.
 *
 * Threading: every coh_budget_* function may be called from any thread on
 * the same budget. A struct coh_budget_grant is the caller's own value: one
 * grant is used by one thread at a time.
 * ---------------------------------------------------------------------
 */

struct coh_budget;			/* opaque: counter, registry and lock */
struct coh_module_spec;

enum coh_budget_category {
	COH_BUDGET_WEIGHTS,		/* model weights */
	COH_BUDGET_KV_CACHE,		/* attention KV cache */
	COH_BUDGET_ACTIVATIONS,		/* activations and scratch */
	COH_BUDGET_RUNTIME,		/* CUDA context, allocator pools */
	COH_BUDGET_OTHER,
	COH_BUDGET_CATEGORY_COUNT,
};

/* "weights", "kv_cache", "activations", "runtime", "other"; "unknown". */
COH_API const char *coh_budget_category_name(enum coh_budget_category cat);

#define COH_BUDGET_NAME_MAX	64	/* 63 characters and the NUL */
#define COH_BUDGET_MAX_GRANTS	65536	/* live grants per budget */

/*
 * What one successful coh_budget_try_alloc() holds; the caller gives it
 * back with coh_budget_release(). Read-only for the caller. All-zero (and
 * any released grant) holds nothing.
 */
struct coh_budget_grant {
	uint64_t id;			/* 0 = holds nothing */
	uint64_t bytes;			/* what was granted */
	uint32_t slot;			/* registry slot; internal */
};

/* One live grant in the audit listing. */
struct coh_budget_entry {
	uint64_t id;			/* increasing: allocation order */
	uint64_t bytes;
	enum coh_budget_category category;
	char name[COH_BUDGET_NAME_MAX];
};

/*
 * Create a budget of total_bytes of which reserved_bytes are never granted.
 * -EINVAL (with the reason in err) when reserved_bytes > total_bytes, or
 * -ENOMEM. The caller frees *out with coh_budget_destroy().
 */
COH_API int coh_budget_create(struct coh_budget **out, uint64_t total_bytes,
			      uint64_t reserved_bytes, struct pep_err *err);

/*
 * Free the budget. Grants still live die with it: they must not be released
 * afterwards. NULL does nothing.
 */
COH_API void coh_budget_destroy(struct coh_budget *b);

/*
 * Count bytes (> 0) against the budget under a name (NULL = "", cut to 63
 * characters) and a category. Returns 0 and fills *grant, or: -ENOSPC when
 * used + bytes would pass total - reserved (used is left as it was; a
 * request of UINT64_MAX is refused like any other too-large one), -EMFILE
 * when COH_BUDGET_MAX_GRANTS grants are live, -EINVAL for bytes 0 or an
 * unknown category, -ENOMEM. On failure *grant holds nothing.
 */
COH_API int coh_budget_try_alloc(struct coh_budget *b, uint64_t bytes,
				 const char *name,
				 enum coh_budget_category cat,
				 struct coh_budget_grant *grant);

/*
 * Give a grant back and mark it as holding nothing. A grant that holds
 * nothing (released before, never granted, all-zero) is ignored, so a
 * cleanup path may release unconditionally.
 */
COH_API void coh_budget_release(struct coh_budget *b,
				struct coh_budget_grant *grant);

/* Bytes granted and not yet released. Never more than coh_budget_limit(). */
COH_API uint64_t coh_budget_used(const struct coh_budget *b);

/* total - reserved: the most that can be granted at once. */
COH_API uint64_t coh_budget_limit(const struct coh_budget *b);

/* coh_budget_limit() - coh_budget_used(), at the moment of the call. */
COH_API uint64_t coh_budget_available(const struct coh_budget *b);

/*
 * Copy the live grants, oldest first, into entries (at most max). Returns
 * the number copied; *count (may be NULL) gets the number live, which is
 * larger when the list was cut. -EINVAL when entries is NULL and max > 0.
 */
COH_API int coh_budget_list(struct coh_budget *b,
			    struct coh_budget_entry *entries, size_t max,
			    size_t *count);

/*
 * A budget for a module from the model table: total = its nominal RAM
 * (ram_gb GiB); reserved, for the OS and CUDA's own use:
 *
 *	up to 8 GiB:	total / 4, at least 1 GiB, at most total / 2
 *	above 8 GiB:	2 GiB + (total - 8 GiB) / 8
 *
 * so 2 GB -> 1 GiB, 4 GB -> 1 GiB, 8 GB (Orin Nano 8GB) -> 2 GiB,
 * 16 GB -> 3 GiB, 64 GB -> 9 GiB. The rule grows with RAM and both pieces
 * meet at 8 GiB. Returns 0, or -EINVAL for a NULL module or one without
 * a RAM size.
 */
COH_API int coh_budget_preset(const struct coh_module_spec *m,
			      uint64_t *total_bytes, uint64_t *reserved_bytes);

/* Whether a request fits in the memory the machine has right now. */
struct coh_budget_live {
	int fits;			/* 1: bytes <= MemAvailable; 0 otherwise,
					   also when MemAvailable is unknown */
	int fits_unknown;		/* 1: MemAvailable not reported */
	int swap_in_use;		/* 1: SwapTotal - SwapFree > 0: pages may
					   be on zram or disk; expect stalls */
	int64_t available_bytes;	/* MemAvailable; COH_NA when unknown */
	int64_t swap_used_bytes;	/* SwapTotal - SwapFree; COH_NA when
					   either is unknown */
};

/*
 * Check bytes against MemAvailable in mi (from coh_memory_read() or
 * coh_meminfo_parse()). On Jetson the GPU allocates from system memory, so
 * MemAvailable is the one figure for both. Returns 0, or -EINVAL for NULL
 * arguments.
 */
COH_API int coh_budget_check_live(const struct coh_meminfo *mi, uint64_t bytes,
				  struct coh_budget_live *out);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_MEMORY_H */
