/*
 * cohete/memory.h - live memory: /proc/meminfo (with the Jetson nvmap
 * lines), swap, and zram devices.
 *
 * Threading: reentrant; no shared state.
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

#ifdef __cplusplus
}
#endif

#endif /* COHETE_MEMORY_H */
