/*
 * cohete/status.h - one sample of everything `cohete status` shows: device,
 * memory, thermal zones, per-core CPU load and frequency, GPU load and
 * frequency, EMC and engines (debugfs: root only), power rails, nvpmodel
 * mode and fan.
 *
 * Loads are deltas between two samples (like top); a sample taken without
 * a previous one reports loads since boot. Works unprivileged: what needs
 * root is COH_NA with a note, never an error.
 *
 * Threading: reentrant; a coh_status is plain data.
 */
#ifndef COHETE_STATUS_H
#define COHETE_STATUS_H

#include <stdint.h>

#include <cohete/device.h>
#include <cohete/memory.h>
#include <cohete/power.h>
#include <cohete/sysroot.h>
#include <cohete/thermal.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_CPUS_MAX 256

struct coh_cpu_core {
	unsigned int id;		/* N of cpuN */
	int online;			/* 1, 0; an offline core has no load */
	int64_t load_permille;		/* 0..1000 over the window */
	int64_t cur_khz;		/* scaling_cur_freq */
	int64_t max_khz;		/* scaling_max_freq */
	uint64_t busy_ticks;		/* /proc/stat counters, for deltas */
	uint64_t total_ticks;
};

struct coh_cpu {
	unsigned int count;
	int64_t load_permille;		/* all online cores */
	struct coh_cpu_core core[COH_CPUS_MAX];
};

struct coh_gpu {
	int present;			/* a devfreq GPU was found */
	char name[64];			/* devfreq entry: "17000000.gpu" */
	int64_t load_permille;		/* driver-smoothed, 0..1000 */
	int64_t cur_hz;
	int64_t min_hz;
	int64_t max_hz;
	char governor[32];
};

/*
 * The external memory controller. Its clock is in debugfs (root only; BPMP
 * on tegra186/194/234, the clock framework on tegra210); its load comes
 * from the activity monitor, which some releases expose outside debugfs.
 * Without root the clock is COH_NA with a "needs root" note, never 0.
 */
struct coh_emc {
	int present;			/* some EMC file was found */
	int64_t cur_hz;
	int64_t min_hz;
	int64_t max_hz;
	int64_t cap_hz;			/* nvpmodel's cap; COH_NA when none */
	int64_t load_permille;		/* actmon mc_all, 0..1000 */
};

#define COH_ENGINES_MAX 32

/*
 * A hardware engine's clock (NVENC, NVDEC, NVJPG, VIC, DLA, PVA, OFA, APE,
 * SE) from /sys/kernel/debug/clk/<clock>: whether it is on, and its rates.
 */
struct coh_engine {
	char name[24];			/* the clock: "nvenc", "dla0_core" */
	int on;				/* clk_enable_count > 0 */
	int64_t cur_hz;
	int64_t min_hz;
	int64_t max_hz;			/* COH_NA for "no cap" (2^64 - 1) */
};

struct coh_engines {
	int readable;			/* the debugfs clock tree was readable */
	unsigned int count;		/* sorted by name */
	struct coh_engine engine[COH_ENGINES_MAX];
};

struct coh_status {
	uint64_t sampled_ns;		/* pep_time_ns() at sampling */
	uint64_t window_ms;		/* load window; 0 = since boot */
	int64_t uptime_s;
	struct coh_device device;
	struct coh_memory memory;
	struct coh_thermal thermal;
	struct coh_cpu cpu;
	struct coh_gpu gpu;
	struct coh_emc emc;
	struct coh_engines engines;
	struct coh_rails rails;
	struct coh_power_mode mode;
	struct coh_fan fan;
	struct coh_notes notes;		/* what is unavailable, and why */
	int64_t time_ms;		/* wall clock at sampling: ms since
					   1970 UTC (the JSON "timestamp") */
};

/*
 * Take one sample into out. prev (may be NULL) is an earlier sample of the
 * same sysroot: loads are computed over the interval between them. Returns
 * 0, or -ENOMEM; missing files never fail a sample.
 */
COH_API int coh_status_sample(const struct coh_sysroot *sr,
			      const struct coh_status *prev,
			      struct coh_status *out);

/* The "schema" of coh_status_json()'s document. */
#define COH_STATUS_SCHEMA "cohete.status/2"

/*
 * The sample as one JSON document, schema COH_STATUS_SCHEMA (docs/cohete.1,
 * JSON OUTPUT): a "timestamp" from time_ms, and every quantity with its
 * unit in its key (_bytes, _mw, _mv, _ma, _mhz, _celsius, _percent, _ms,
 * _s, _rpm); readings the machine lacks are null. Returns a malloc'd
 * string, or NULL on allocation failure.
 */
COH_API char *coh_status_json(const struct coh_status *st);

/* Parse /proc/stat "cpuN" lines into core counters (fuzzed). */
COH_API int coh_proc_stat_parse(const char *text, struct coh_cpu *cpu,
				struct pep_err *err);

/*
 * Throttling: clocks held below their maximum while the device is hot. An
 * idle core clocks down by design, so only busy clocks (load of 50% or
 * more) count. The temperature is the breaker's input (tj, else the
 * hottest measured zone).
 */
struct coh_throttle {
	int throttled;			/* hot, and a busy clock below its max */
	int64_t temp_mc;		/* COH_NA when no zone could be read */
	unsigned int cpu_cores;		/* busy online cores below their max */
	int gpu;			/* busy GPU below its max */
	char cause[160];		/* "thermal: tj 87.5 C >= 85.0 C; ..." */
};

/*
 * Judge one sample against hot_mc. Returns 1 when throttled, 0 when not;
 * out->cause says why either way.
 */
COH_API int coh_throttle_detect(const struct coh_status *st, int64_t hot_mc,
				struct coh_throttle *out);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_STATUS_H */
