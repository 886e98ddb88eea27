/*
 * cohete/device.h - what machine this is: a Jetson module (P-number, SoC,
 * L4T and JetPack release, serial) or another Linux host (DMI or device-tree
 * vendor and model).
 *
 * Identification trusts the device tree first (compatible, dtsfilename,
 * boardids), then the EEPROM where readable, never RAM size: a 4 GB module
 * is never reported as 8 GB, an NX never as a Nano. The module and L4T
 * tables are compiled in from data/.
 *
 * Threading: functions are reentrant; tables are read-only.
 */
#ifndef COHETE_DEVICE_H
#define COHETE_DEVICE_H

#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One row of data/jetson-modules.tsv. */
struct coh_module_spec {
	const char *pnum;		/* module P-number: "p3767-0005" */
	const char *variant;		/* "" or "super" (JetPack 6.2 Super DT) */
	const char *soc;		/* "tegra234" */
	const char *name;		/* "Jetson Orin Nano 8GB" */
	const char *gpu_arch;		/* "Ampere" */
	const char *cuda_sm;		/* "8.7" */
	unsigned int cuda_cores;
	unsigned int tensor_cores;
	const char *ai_perf;		/* "67 TOPS (INT8 sparse)" */
	unsigned int cpu_cores;
	const char *cpu;		/* "6x Cortex-A78AE @ 1.7 GHz" */
	unsigned int ram_gb;		/* nominal */
	unsigned int mem_min_mb;	/* only for P-numbers NVIDIA reused across
					   RAM sizes: MemTotal range; 0 = any */
	unsigned int mem_max_mb;
	const char *power;		/* "7-25 W" */
};

/* One row of data/l4t-jetpack.tsv. */
struct coh_l4t_spec {
	const char *l4t;		/* "36.4" matches 36.4.x; "36.4.3" exact */
	const char *jetpack;		/* "6.2" */
	const char *ubuntu;		/* "22.04" */
};

/* The compiled-in tables, for tools that list them. */
COH_API const struct coh_module_spec *coh_module_table(unsigned int *count);
COH_API const struct coh_l4t_spec *coh_l4t_table(unsigned int *count);

/*
 * Find the module row for a P-number on a SoC (soc may be NULL) and, where
 * NVIDIA reused the P-number, MemTotal in kB (0 = unknown). variant "" or
 * "super". NULL when unknown.
 */
COH_API const struct coh_module_spec *
coh_module_lookup(const char *pnum, const char *variant, const char *soc,
		  uint64_t mem_total_kb);

/* JetPack for an L4T version ("36.4.3"); NULL when the table lacks it. */
COH_API const struct coh_l4t_spec *coh_l4t_lookup(const char *l4t);

enum coh_host_kind {
	COH_HOST_UNKNOWN = 0,		/* nothing readable identified it */
	COH_HOST_JETSON,		/* an NVIDIA Tegra device tree */
	COH_HOST_OTHER,			/* any other Linux machine */
};

#define COH_DEVICE_STR 128

struct coh_device {
	enum coh_host_kind kind;
	char model[COH_DEVICE_STR];	/* device-tree model or DMI product */
	char vendor[COH_DEVICE_STR];	/* DMI sys_vendor or DT vendor prefix */
	char compatible[256];		/* DT compatible, entries joined by ' ' */
	char soc[32];			/* "tegra234": last compatible entry */
	char module_pnum[32];		/* "p3767-0005"; "" when not found */
	char carrier_pnum[32];		/* "p3768-0000"; "" when not found */
	char pnum_source[32];		/* "compatible", "dtsfilename", ... */
	int super;			/* JetPack 6.2 "Super" device tree */
	const struct coh_module_spec *module;	/* NULL when unknown */
	char l4t[32];			/* "36.4.3"; "" when unknown */
	const struct coh_l4t_spec *jetpack;	/* NULL when unknown */
	char serial[64];		/* "" when unreadable */
	char cpu_model[COH_DEVICE_STR];	/* /proc/cpuinfo model name or part */
	unsigned int cpus;		/* logical CPUs present */
	uint64_t mem_total_kb;		/* /proc/meminfo MemTotal; 0 = unknown */
	char kernel[COH_DEVICE_STR];	/* /proc/sys/kernel/osrelease */
	char hostname[COH_DEVICE_STR];	/* /proc/sys/kernel/hostname */
	char arch[16];			/* from cpuinfo/dt: "aarch64", "x86_64" */
};

struct coh_notes;

/*
 * Identify the machine behind the sysroot. Never fails on missing or bad
 * files: what cannot be read is left empty and explained in notes (may be
 * NULL). Returns 0, or -ENOMEM.
 */
COH_API int coh_device_identify(const struct coh_sysroot *sr,
				struct coh_device *out,
				struct coh_notes *notes);

/*
 * Parsers for the files identification reads, exposed for tests and fuzzing.
 * Each returns 0 or -EINVAL with the reason in err.
 */

/* "# R36 (release), REVISION: 4.3, ..." -> "36.4.3" */
COH_API int coh_parse_nv_tegra_release(const char *text, char *l4t,
				       size_t size, struct pep_err *err);

/*
 * Module and carrier P-numbers from one device-tree compatible entry or a
 * dts file name: "nvidia,p3768-0000+p3767-0005-super" -> carrier
 * "p3768-0000", module "p3767-0005", super 1. Either output may come back
 * empty. Returns the number of P-numbers found.
 */
COH_API int coh_parse_pnums(const char *text, char (*pnums)[32],
			    int max_pnums, int *super);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_DEVICE_H */
