/*
 * Helpers shared by libcohete's modules. Not installed.
 */
#ifndef COHETE_INTERNAL_H
#define COHETE_INTERNAL_H

#ifndef COH_BUILDING_LIBRARY
#error "include the public <cohete/...> headers instead"
#endif

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/sysroot.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Copy with truncation; always NUL-terminates (size > 0). */
void coh__strlcpy(char *dst, const char *src, size_t size);

/* Natural order: "cpu2" < "cpu10". */
int coh__natural_cmp(const char *a, const char *b);

/* Parse a whole decimal integer (surrounding whitespace allowed). */
int coh__parse_s64(const char *text, int64_t *out);

/*
 * Read a one-integer sysfs file for a reading: on failure the value is
 * COH_NA and a note explains why, with "needs root" for -EACCES.
 */
int64_t coh__read_reading(const struct coh_sysroot *sr, const char *path,
			  struct coh_notes *notes, const char *field);

/* Note a failed read as "needs root" (EACCES) or with err's reason. */
void coh__note_read_error(struct coh_notes *notes, const char *field,
			  const struct pep_err *err);

struct coh_device;

/* CPU model, architecture and count (device/cpuinfo.c). */
void coh__device_read_cpu(const struct coh_sysroot *sr,
			  struct coh_device *dev, struct coh_notes *notes);

/* /proc/cpuinfo text (modified in place) -> model, arch; counts online. */
void coh__parse_cpuinfo(char *text, struct coh_device *dev,
			unsigned int *online);

/* "0-5", "0-3,6" -> the number of CPUs in the list; 0 when malformed. */
unsigned int coh__count_cpu_list(const char *list);

struct coh_cpu;
struct coh_gpu;

/* Per-core load and frequency (status/cpu.c); prev may be NULL. */
int coh__cpu_read(const struct coh_sysroot *sr, const struct coh_cpu *prev,
		  struct coh_cpu *cpu, struct coh_notes *notes);

/* The devfreq GPU (status/gpu.c). */
int coh__gpu_read(const struct coh_sysroot *sr, struct coh_gpu *gpu,
		  struct coh_notes *notes);

struct coh_emc;
struct coh_engines;

/* EMC clock, cap and load (status/emc.c). */
int coh__emc_read(const struct coh_sysroot *sr, struct coh_emc *emc,
		  struct coh_notes *notes);

/*
 * Engine clocks (status/engines.c). prev (may be NULL) names the engines
 * an earlier sample found, so the clock tree is listed only once.
 */
int coh__engines_read(const struct coh_sysroot *sr,
		      const struct coh_engines *prev, struct coh_engines *out,
		      struct coh_notes *notes);

/*
 * The environment for a Jetson program run against sr (sysroot.c): the
 * caller's, with COHETE_SYSROOT=<root> (written into sysroot_var) for a
 * captured tree. A calloc'd array of borrowed strings; free() it.
 */
char **coh__child_env(const struct coh_sysroot *sr, char *sysroot_var,
		      size_t size);

/* A condition variable whose timed waits use CLOCK_MONOTONIC (thermal/guard.c). */
void coh__cond_init_monotonic(pthread_cond_t *cond);

#endif /* COHETE_INTERNAL_H */
