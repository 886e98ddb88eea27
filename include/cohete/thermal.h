/*
 * cohete/thermal.h - thermal zones from /sys/class/thermal. Zone numbers
 * differ between boards and JetPack releases, so callers match on the type
 * string. -256000 m°C means a disabled sensor; PMIC zones on R32 report a
 * fixed placeholder (50 or 100 °C), not a measurement.
 *
 * Threading: reentrant; no shared state.
 */
#ifndef COHETE_THERMAL_H
#define COHETE_THERMAL_H

#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_THERMAL_ZONES_MAX 64
#define COH_TEMP_OFF_MC (-256000)	/* sensor offline or disabled */

enum coh_zone_state {
	COH_ZONE_OK,
	COH_ZONE_OFF,			/* reported -256 °C */
	COH_ZONE_PLACEHOLDER,		/* PMIC fixed value, not measured */
	COH_ZONE_UNAVAILABLE,		/* unreadable or not a number */
};

struct coh_thermal_zone {
	char zone[32];			/* "thermal_zone3" */
	char type[48];			/* "gpu-thermal" */
	char name[48];			/* display name: "gpu" */
	int64_t temp_mc;		/* COH_NA unless state is COH_ZONE_OK
					   or COH_ZONE_PLACEHOLDER */
	enum coh_zone_state state;
};

struct coh_thermal {
	unsigned int count;
	int hottest;			/* index of the hottest OK zone; -1 */
	struct coh_thermal_zone zones[COH_THERMAL_ZONES_MAX];
};

/* Read every zone. Unreadable zones are kept, marked and noted. */
COH_API int coh_thermal_read(const struct coh_sysroot *sr,
			     struct coh_thermal *out, struct coh_notes *notes);

/* "cpu-thermal" -> "cpu", "Tboard_tegra" -> "Tboard", "GPU-therm" -> "GPU" */
COH_API void coh_thermal_display_name(const char *type, char *out,
				      size_t size);

/* "on", "off", "placeholder", "unavailable" */
COH_API const char *coh_zone_state_name(enum coh_zone_state state);


/*
 * tegrastats lines (L4T R24 to R39), parsed token by token: field order is
 * not fixed, names collide ("CPU [..]", "CPU@40C", "CPU 465/465"), units
 * and value shapes change between releases. Temperatures are m°C, powers
 * mW, clocks MHz, loads percent. Unknown tokens are kept, not rejected.
 */
#define COH_TS_CPUS_MAX 32
#define COH_TS_GPCS_MAX 8
#define COH_TS_ITEMS_MAX 32

struct coh_ts_cpu {
	int online;
	int64_t load_pct;		/* COH_NA when off */
	int64_t freq_mhz;		/* COH_NA when off or not shown */
};

struct coh_ts_temp {
	char name[24];			/* as printed: "CPU", "tj", "soc012" */
	int64_t temp_mc;		/* COH_NA when offline (-256C) */
	int64_t max_mc;			/* JetPack 7.2 "cur/max"; else COH_NA */
	int offline;			/* -256C: sensor disabled */
	int placeholder;		/* R32 PMIC@100C: not a measurement */
};

struct coh_ts_rail {
	char name[32];
	int64_t cur_mw;
	int64_t avg_mw;			/* cumulative since tegrastats started */
	int64_t max_mw;			/* JetPack 7.2 "cur/avg/max"; else COH_NA */
	int unit;			/* "mW" printed (R35+) */
};

struct coh_ts_engine {
	char name[24];			/* "NVENC", "VIC_FREQ", "NVDEC0" */
	int off;
	int64_t load_pct;		/* R36 "79%@166"; else COH_NA */
	int64_t freq_mhz;
};

struct coh_ts_unknown {
	char name[48];			/* the token as printed */
};

struct coh_tegrastats {
	char timestamp[24];		/* "MM-DD-YYYY HH:MM:SS"; "" before R34 */
	int64_t ram_used_mb, ram_total_mb;
	int64_t lfb_count, lfb_size_kb;	/* largest free block: count x size */
	int64_t swap_used_mb, swap_total_mb, swap_cached_mb;
	int64_t iram_used_kb, iram_total_kb, iram_lfb_kb;
	unsigned int cpu_count;
	struct coh_ts_cpu cpu[COH_TS_CPUS_MAX];
	int64_t emc_load_pct, emc_freq_mhz;
	int64_t gpu_load_pct;		/* COH_NA on Thor ("@[f,f,f]") */
	unsigned int gpc_count;		/* per-GPC clocks, "@[f,f]" forms */
	int64_t gpc_freq_mhz[COH_TS_GPCS_MAX];
	int64_t gpu2_load_pct, gpu2_freq_mhz;	/* R35 GR3D2: a second GPC */
	int64_t ape_mhz;
	int64_t mts_fg_pct, mts_bg_pct;
	unsigned int temp_count, rail_count, engine_count, unknown_count;
	struct coh_ts_temp temp[COH_TS_ITEMS_MAX];
	struct coh_ts_rail rail[COH_TS_ITEMS_MAX];
	struct coh_ts_engine engine[COH_TS_ITEMS_MAX];
	struct coh_ts_unknown unknown[COH_TS_ITEMS_MAX];
	int64_t time_ms;		/* when the line was read: ms since 1970
					   UTC, set by the caller (the JSON
					   "timestamp"); parse leaves it 0 */
};

/*
 * Parse one line. Returns 0; -EINVAL (err names the token) only when the
 * line holds nothing tegrastats prints at all. Fields a line lacks are
 * COH_NA; tokens it does not know are listed in unknown[].
 */
COH_API int coh_tegrastats_parse(const char *line, struct coh_tegrastats *out,
				 struct pep_err *err);

/* The "schema" of coh_tegrastats_json()'s objects. */
#define COH_TEGRASTATS_SCHEMA "cohete.tegrastats/2"

/*
 * The record as one compact JSON object, schema COH_TEGRASTATS_SCHEMA
 * (docs/cohete.1, JSON OUTPUT): units in the keys (_bytes, _mw, _mhz,
 * _celsius, _percent), null for what the line lacks, "timestamp" from
 * time_ms (null when 0). malloc'd; NULL on allocation failure.
 */
COH_API char *coh_tegrastats_json(const struct coh_tegrastats *ts);

/*
 * tegrastats running, its lines taken as it prints them (once per
 * interval) until it ends or is stopped: start, then next until it
 * returns 0, then finish. A Jetson's tegrastats, or program (a simulator)
 * with COHETE_SYSROOT=<sr's root> in its environment (none for the live
 * machine; sr NULL: the environment as it is).
 */
struct coh_tegrastats_run;

struct coh_tegrastats_run_opts {
	const char *program;		/* NULL: tegrastats, found in PATH */
	long interval_ms;		/* 0: 1000 */
	const struct coh_sysroot *sr;	/* a captured tree: COHETE_SYSROOT */
};

/* -ENOENT when there is no such program (err names it). */
COH_API int coh_tegrastats_start(struct coh_tegrastats_run **out,
				 const struct coh_tegrastats_run_opts *o,
				 struct pep_err *err);
/*
 * The next line, without its newline, in *line (valid until the next
 * call): 1; 0 once the program's output has ended; -EINTR when a signal
 * came (check your flags, then call again); -errno.
 */
COH_API int coh_tegrastats_next(struct coh_tegrastats_run *r,
				const char **line, struct pep_err *err);
/*
 * Stop it (SIGTERM) unless its output ended, reap it and free r. 0 when
 * it was stopped or exited with status 0; -ECHILD, err saying how it
 * ended and what it printed on stderr, otherwise.
 */
COH_API int coh_tegrastats_finish(struct coh_tegrastats_run *r,
				  struct pep_err *err);

/*
 * Thermal circuit breaker: pause work before the device throttles.
 *
 * Trips when the input temperature reaches trip_mc; stays paused (cooling)
 * until it falls below resume_mc (hysteresis); warns from warning_mc. The
 * input is the hottest relevant zone: tj when present, else the hottest
 * measured zone; offline sensors and placeholders never count as cold.
 * Time is passed in (now_ms) so tests drive it without sleeping. A monitor
 * thread can sample a sysroot every check_interval_ms and stop (SIGSTOP)
 * and continue (SIGCONT) process groups, or call back a pool.
 *
 * Threading: coh_thermal_guard_update() and the watch functions from one thread
 * (or with the monitor running, only from callbacks); coh_thermal_guard_state()
 * and coh_thermal_guard_paused() from any thread.
 */
enum coh_thermal_guard_state {
	COH_THERMAL_GUARD_OK,
	COH_THERMAL_GUARD_WARNING,		/* at or above warning_mc: still running */
	COH_THERMAL_GUARD_TRIPPED,		/* at or above trip_mc: work paused */
	COH_THERMAL_GUARD_COOLING,		/* below trip, not yet below resume: paused */
};

struct coh_thermal_guard_policy {
	char name[32];
	int64_t trip_mc;
	int64_t resume_mc;		/* the cooldown: resume only below this */
	int64_t warning_mc;
	uint32_t check_interval_ms;
};

struct coh_thermal_guard_sample {
	uint64_t time_ms;
	int64_t temp_mc;
	enum coh_thermal_guard_state state;
};

struct coh_thermal_guard;
struct coh_sysroot;

/* "conservative" 65/55 °C at 500 ms (warn 60), "aggressive" 75/65 at 1 s. */
COH_API int coh_thermal_guard_policy_named(const char *name,
				     struct coh_thermal_guard_policy *out,
				     struct pep_err *err);

/* -EINVAL unless resume < trip, warning <= trip and the interval is 10 ms..60 s. */
COH_API int coh_thermal_guard_policy_check(const struct coh_thermal_guard_policy *p,
				     struct pep_err *err);

COH_API int coh_thermal_guard_create(struct coh_thermal_guard **out,
			       const struct coh_thermal_guard_policy *p,
			       struct pep_err *err);
/* Stops the monitor (if running) and continues anything it paused. */
COH_API void coh_thermal_guard_destroy(struct coh_thermal_guard *b);

/* Feed one reading taken at now_ms; returns the state after it. */
COH_API enum coh_thermal_guard_state coh_thermal_guard_update(struct coh_thermal_guard *b,
						  int64_t temp_mc,
						  uint64_t now_ms);

COH_API enum coh_thermal_guard_state coh_thermal_guard_state(const struct coh_thermal_guard *b);
COH_API int coh_thermal_guard_paused(const struct coh_thermal_guard *b);
COH_API const char *coh_thermal_guard_state_name(enum coh_thermal_guard_state s);

/* The breaker's input: tj, else the hottest measured zone; COH_NA if none. */
COH_API int64_t coh_thermal_guard_input(const struct coh_thermal *t);

/* Which zone that is: its index in t->zones, or -1 when none is measured. */
COH_API int coh_thermal_guard_input_zone(const struct coh_thermal *t);

/* The policy the agent and the views use unless told otherwise. */
#define COH_THERMAL_GUARD_POLICY_DEFAULT "conservative"

/*
 * How hot a reading is under a breaker policy: the one colour rule of every
 * cohete view, so `cohete status` and `cohete monitor` agree with the guard
 * (green, yellow, red).
 */
enum coh_temp_level {
	COH_TEMP_UNKNOWN,		/* no reading: COH_NA */
	COH_TEMP_OK,			/* below warning_mc */
	COH_TEMP_WARN,			/* warning_mc <= t < trip_mc */
	COH_TEMP_HOT,			/* at or above trip_mc: the breaker trips */
};

COH_API enum coh_temp_level coh_temp_level(const struct coh_thermal_guard_policy *p,
					   int64_t temp_mc);

/*
 * The level a breaker state is shown at: a paused breaker (tripped, or
 * cooling down below the trip point) is hot, whatever the reading.
 */
COH_API enum coh_temp_level coh_thermal_guard_state_level(enum coh_thermal_guard_state s);

/* "unknown", "ok", "warn", "hot" */
COH_API const char *coh_temp_level_name(enum coh_temp_level level);

/*
 * Pause and resume work on transitions: SIGSTOP/SIGCONT to a process group,
 * or a callback (a pool stops handing out work). At most 16 of each.
 */
typedef void (*coh_thermal_guard_fn)(int paused, void *arg);
COH_API int coh_thermal_guard_watch_pgid(struct coh_thermal_guard *b, int pgid);
COH_API int coh_thermal_guard_watch(struct coh_thermal_guard *b, coh_thermal_guard_fn fn,
			      void *arg);

/* Samples with from_ms <= time_ms <= to_ms, oldest first; returns count. */
COH_API size_t coh_thermal_guard_history(const struct coh_thermal_guard *b,
				   uint64_t from_ms, uint64_t to_ms,
				   struct coh_thermal_guard_sample *out, size_t max);

/*
 * Runaway prediction: from the trend of the last window_ms of history,
 * the time until trip_mc is reached. Returns 1 and *lead_ms when the
 * temperature is rising towards the trip point, 0 when it is not.
 */
COH_API int coh_thermal_guard_predict(const struct coh_thermal_guard *b,
				uint64_t window_ms, uint64_t *lead_ms);

/*
 * Sample the sysroot's thermal zones every check_interval_ms in a thread
 * and update the breaker. Stop with coh_thermal_guard_stop() (or destroy).
 */
COH_API int coh_thermal_guard_start(struct coh_thermal_guard *b,
			      const struct coh_sysroot *sr,
			      struct pep_err *err);
COH_API void coh_thermal_guard_stop(struct coh_thermal_guard *b);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_THERMAL_H */
