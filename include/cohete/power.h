/*
 * cohete/power.h - power rails (INA3221: hwmon on JetPack 5+, iio on
 * JetPack 4), the nvpmodel mode, jetson_clocks and the fan.
 *
 * Rail totals follow tegrastats: VDD_IN or POM_5V_IN is the board input
 * when present; otherwise the sum of the rails is only a floor (AGX Orin's
 * VIN_SYS_5V0 is a 5 V system rail, not the total).
 *
 * Threading: reentrant; no shared state.
 */
#ifndef COHETE_POWER_H
#define COHETE_POWER_H

#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_RAILS_MAX 24

struct coh_rail {
	char name[32];			/* "VDD_IN" */
	char device[32];		/* I2C device: "1-0040" */
	int64_t voltage_mv;
	int64_t current_ma;
	int64_t power_mw;		/* read, or mV * mA / 1000 */
};

enum coh_total_kind {
	COH_TOTAL_NONE,			/* no rails */
	COH_TOTAL_INPUT,		/* a board-input rail (VDD_IN, POM_5V_IN) */
	COH_TOTAL_SUM,			/* sum of rails: a floor, not the total */
};

struct coh_rails {
	unsigned int count;
	struct coh_rail rail[COH_RAILS_MAX];
	enum coh_total_kind total_kind;
	char total_rail[32];		/* the input rail's name, or "" */
	int64_t total_mw;		/* COH_NA when no rails */
};

/* The nvpmodel mode, from /var/lib/nvpmodel/status and /etc/nvpmodel.conf. */
struct coh_power_mode {
	int64_t id;			/* COH_NA when unknown */
	char name[48];			/* "MAXN_SUPER"; "" when unknown */
};

struct coh_fan {
	int present;
	char source[64];		/* "/sys/class/hwmon/hwmon3" */
	int64_t pwm;			/* 0..255 */
	int64_t rpm;
};

COH_API int coh_rails_read(const struct coh_sysroot *sr,
			   struct coh_rails *out, struct coh_notes *notes);
COH_API int coh_power_mode_read(const struct coh_sysroot *sr,
				struct coh_power_mode *out,
				struct coh_notes *notes);
COH_API int coh_fan_read(const struct coh_sysroot *sr, struct coh_fan *out,
			 struct coh_notes *notes);

/*
 * Set the fan's PWM (0..255) and read it back. -EINVAL out of range,
 * -ENODEV without a fan, -EACCES without root, -EIO when the value does
 * not stick (nvfancontrol owns the fan: stop it or change its profile).
 */
COH_API int coh_fan_set_pwm(const struct coh_sysroot *sr, int64_t pwm,
			    struct pep_err *err);

/*
 * Parse /var/lib/nvpmodel/status ("pmode:0002 fmode:quiet") into the mode
 * id. -EINVAL when it holds no pmode.
 */
COH_API int coh_nvpmodel_status_parse(const char *text, int64_t *id,
				      struct pep_err *err);

/*
 * Find the NAME of POWER_MODEL ID=id in nvpmodel.conf text. -ENOENT when
 * the file has no such mode.
 */
COH_API int coh_nvpmodel_conf_mode_name(const char *text, int64_t id,
					char *name, size_t size,
					struct pep_err *err);

COH_API const char *coh_total_kind_name(enum coh_total_kind kind);

/*
 * The whole of nvpmodel.conf (R32 to R38, "< ... >" blocks; the R28 flat
 * format is not read): what each knob writes to, every mode with its
 * settings, and the boot default. Plain data; every string points into
 * storage that coh_nvpmodel_conf_free() releases.
 */
enum coh_nvpmodel_param_type {
	COH_NVPMODEL_PARAM_FILE,	/* TYPE=FILE: a string for a sysfs file */
	COH_NVPMODEL_PARAM_CLOCK,	/* TYPE=CLOCK: frequency limits */
	COH_NVPMODEL_PARAM_OTHER,	/* a TYPE this parser does not know */
};

/* One "ARG path" line of a PARAM block. */
struct coh_nvpmodel_arg {
	const char *name;		/* "CORE_0", "MAX_FREQ", "MAX_FREQ_KNEXT" */
	const char *path;		/* "/sys/devices/system/cpu/cpu0/online" */
};

/* "< PARAM TYPE=CLOCK NAME=GPU >" and its args. */
struct coh_nvpmodel_param {
	const char *name;		/* "GPU", "TPC_POWER_GATING" */
	const char *type_name;		/* TYPE= as written: "FILE", "CLOCK" */
	enum coh_nvpmodel_param_type type;
	unsigned int line;		/* of the header, from 1 */
	size_t arg_count;
	struct coh_nvpmodel_arg *args;	/* in file order */
};

/*
 * One "PARAM ARG VALUE" line of a POWER_MODEL block. The value is kept as
 * written: clocks are in the unit of their sysfs file (kHz for cpufreq, Hz
 * for devfreq and EMC), and "-1" as a frequency means "no cap" (nvpmodel
 * writes the largest value); older files also write 0 for "no EMC cap".
 */
struct coh_nvpmodel_setting {
	const char *param;		/* "GPU" */
	const char *arg;		/* "MAX_FREQ" */
	const char *value;		/* "612000000", "-1", "on" */
};

/* "< POWER_MODEL ID=2 NAME=MAXN_SUPER >" and its settings. */
struct coh_nvpmodel_mode {
	int64_t id;			/* 0 or more; ids are not portable across
					   modules or releases */
	const char *name;		/* "MAXN_SUPER" */
	unsigned int line;		/* of the header, from 1 */
	size_t setting_count;
	struct coh_nvpmodel_setting *settings;	/* in file order */
};

struct coh_nvpmodel_conf {
	size_t mode_count;		/* 1 or more */
	struct coh_nvpmodel_mode *modes;	/* in file order */
	size_t param_count;
	struct coh_nvpmodel_param *params;	/* in file order */
	int64_t default_id;		/* PM_CONFIG DEFAULT=, -1 when absent */
	unsigned int ignored_lines;	/* lines this parser skipped: unknown
					   "< X >" blocks and their lines,
					   JetPack 7 FILE_STR/ARG_DEFAULT lines,
					   PARAM lines that are not "ARG path",
					   lines after PM_CONFIG */
	char *storage;			/* private: holds every string above */
};

/*
 * Parse nvpmodel.conf text (NUL-terminated). Tolerates "<PARAM" without the
 * space, "#" comments, blank lines and CRLF; lines it does not know are
 * counted in ignored_lines, never an error. path_for_errors names the file
 * in messages (NULL = "/etc/nvpmodel.conf").
 *
 * On success *out is the caller's, freed with coh_nvpmodel_conf_free().
 * -EINVAL with "path:line: reason" in err: a line outside any block, a
 * PARAM without NAME or TYPE, a POWER_MODEL without a numeric ID or a NAME,
 * a duplicate PARAM name or mode id, a setting that is not "PARAM ARG
 * VALUE", a header without '>', a PM_CONFIG DEFAULT naming no mode, or no
 * POWER_MODEL at all. -ENOMEM.
 */
COH_API int coh_nvpmodel_conf_parse(const char *text,
				    const char *path_for_errors,
				    struct coh_nvpmodel_conf **out,
				    struct pep_err *err);

/*
 * Read the sysroot's /etc/nvpmodel.conf whole and parse it. Real files are
 * under 10 KiB; one over COH_NVPMODEL_CONF_MAX bytes is refused with
 * -EFBIG and the file and the limit in err, never cut. Returns 0, the
 * errors of coh_sysroot_read_all() (-ENOENT: no nvpmodel here) or of
 * coh_nvpmodel_conf_parse().
 */
#define COH_NVPMODEL_CONF_PATH	"/etc/nvpmodel.conf"
#define COH_NVPMODEL_CONF_MAX	(1024 * 1024)

COH_API int coh_nvpmodel_conf_load(const struct coh_sysroot *sr,
				   struct coh_nvpmodel_conf **out,
				   struct pep_err *err);

/* Free a parsed conf; NULL does nothing. */
COH_API void coh_nvpmodel_conf_free(struct coh_nvpmodel_conf *c);

/* The mode with this id, or NULL. Valid until coh_nvpmodel_conf_free(). */
COH_API const struct coh_nvpmodel_mode *
coh_nvpmodel_conf_mode(const struct coh_nvpmodel_conf *c, int64_t id);

/*
 * The value mode id sets for (param, arg), e.g. (2, "GPU", "MAX_FREQ") ->
 * "-1" (no cap), or NULL when the mode or the setting is absent. When a
 * mode sets it twice, the last line wins, as it does for nvpmodel.
 * Valid until coh_nvpmodel_conf_free().
 */
COH_API const char *coh_nvpmodel_conf_value(const struct coh_nvpmodel_conf *c,
					    int64_t id, const char *param,
					    const char *arg);

/* The sysfs path of a PARAM's arg ("GPU", "MAX_FREQ"), or NULL. */
COH_API const char *coh_nvpmodel_conf_path(const struct coh_nvpmodel_conf *c,
					   const char *param, const char *arg);

/*
 * Whether switching from mode from_id to to_id needs a reboot: 1 when
 * TPC_POWER_GATING TPC_PG_MASK or FBP_POWER_GATING FBP_PG_MASK differ
 * (the GPU's power gating is applied at boot), with why set to e.g.
 * "TPC_PG_MASK changes from 248 to 240: the GPU power gating mask needs a
 * reboot". A mask only one of the modes sets counts as a change (the
 * other side is shown as "(unset)"). 0 when neither mask changes (why is
 * ""); -ENOENT when either id names no mode. why has snprintf semantics
 * (why_size 0: why may be NULL).
 */
COH_API int coh_nvpmodel_needs_reboot(const struct coh_nvpmodel_conf *c,
				      int64_t from_id, int64_t to_id,
				      char *why, size_t why_size);

/*
 * Set the nvpmodel mode: run `nvpmodel -m ID` (through pep_proc_run, with
 * a timeout) and verify the mode took by reading the status file back. A
 * change that needs a reboot (coh_nvpmodel_needs_reboot) is refused with
 * -ECANCELED and the reason unless reboot_ok, which answers nvpmodel's
 * reboot question with YES. On a sysroot other than "/", the program gets
 * COHETE_SYSROOT=<root> (the simulator in tests/sim reads it).
 */
struct coh_power_set_opts {
	const char *nvpmodel;		/* NULL = "nvpmodel" from PATH */
	int reboot_ok;
	uint32_t timeout_ms;		/* 0 = 15000 */
};

struct coh_power_change {
	int64_t from_id;		/* COH_NA when the current mode is unknown */
	int64_t to_id;
	char to_name[48];
	int changed;			/* the status file now names to_id */
	int reboot_required;
};

/*
 * Returns 0 (changed, or already in that mode: changed 0), -ENOENT (no such
 * mode), -ECANCELED (needs a reboot, not allowed), -EIO (nvpmodel failed or
 * the mode did not take; err quotes it), or an exec error.
 */
COH_API int coh_power_set_mode(const struct coh_sysroot *sr,
			       const struct coh_power_set_opts *opts,
			       int64_t id, struct coh_power_change *out,
			       struct pep_err *err);

/*
 * jetson_clocks: NVIDIA's script that pins the clocks at the current power
 * mode's maximum. `jetson_clocks` (root) sets every CPU's scaling_min_freq
 * to its scaling_max_freq and disables the CPU idle states, the GPU's
 * devfreq min_freq to its max_freq (rail gating off), and locks the EMC at
 * its maximum (FreqOverride=1); `--fan` also runs the fan at full PWM.
 * `--show` prints the state, `--store [FILE]` saves the files it changes as
 * "path:value" lines and `--restore [FILE]` writes them back (default FILE
 * ~/l4t_dfs.conf: root's home under sudo). The tool has no "off": the
 * clocks stay pinned until a restore, an nvpmodel switch or a reboot.
 *
 * Here, `off` is that restore, and `on` first stores the current settings
 * when the store file does not exist yet, as users do by hand
 * (`jetson_clocks --store; jetson_clocks`), so `off` has something to go
 * back to. An existing store file is kept: storing while the clocks are
 * pinned would make `off` restore pinned clocks. `on` is refused while the
 * device is already hot, and both directions are verified afterwards.
 *
 * jetson_clocks --restore writes, as root, every path a store file names,
 * so on, off and restore use one store file only: l4t_dfs.conf in the
 * state directory (COH_CLOCKS_STATE_DIR, made 0700 on first use), which
 * must be a regular file owned by this user that group and others cannot
 * write, in a directory alike, naming only files under /sys. Any other
 * file is refused (-EPERM), not handed to jetson_clocks.
 *
 * On a sysroot other than "/", the program gets COHETE_SYSROOT=<root> (the
 * simulator in tests/sim reads it); the store file is always a path on
 * this machine. Frequencies are as jetson_clocks prints them: kHz for
 * CPUs, Hz for the GPU, EMC and engines.
 */
#define COH_CLOCKS_STATE_DIR "/var/lib/cohete"
#define COH_CLOCKS_CPUS_MAX 64
#define COH_CLOCKS_IDLE_MAX 8
#define COH_CLOCKS_ENGINES_MAX 24
#define COH_CLOCKS_FANS_MAX 4

/* "WFI=1": an idle state and whether it is enabled (0 after `on`). */
struct coh_clocks_idle {
	char name[16];
	int enabled;
};

/* "cpu0: Online=1 Governor=schedutil MinFreq=... IdleStates: WFI=1 c7=1" */
struct coh_clocks_cpu {
	unsigned int id;		/* N of cpuN */
	int online;			/* Online=; -1 when the line has none
					   (R36.4 and later print none) */
	char governor[24];		/* "" when not printed */
	int64_t min_khz;		/* COH_NA when not printed or empty */
	int64_t max_khz;
	int64_t cur_khz;
	unsigned int idle_count;
	struct coh_clocks_idle idle[COH_CLOCKS_IDLE_MAX];
};

/*
 * A clock domain printed as "NAME ... MinFreq=a MaxFreq=b CurrentFreq=c":
 * the GPU, the EMC and engines ("DLA0_CORE:   Online=1 MinFreq=0 ...",
 * Thor's "gpu-gpc-0 MinFreq=..."). Rates in Hz; COH_NA when not printed,
 * empty, or 2^64 - 1 (a clock without a cap).
 */
struct coh_clocks_domain {
	int present;			/* the line was printed */
	char name[32];			/* "GPU", "EMC", "DLA0_CORE" */
	int online;			/* Online=; -1 when not printed */
	int64_t min_hz;
	int64_t max_hz;
	int64_t cur_hz;
	int64_t freq_override;		/* EMC FreqOverride= (1: locked at max);
					   COH_NA when not printed */
};

/*
 * A fan line: "FAN Dynamic Speed control=active hwmon2_pwm1=55" (R35),
 * "FAN Dynamic Speed Control=kernel hwmon0_pwm1=88" (R36), with an
 * optional "... hwmon0_pwm1_enable=1" line; "Fan: PWM=0" (R32) and
 * "Fan: speed=0" (R28).
 */
struct coh_clocks_fan {
	char control[24];		/* "active", "kernel", "nvfancontrol",
					   "disabled"; "" on R32 and older */
	char name[32];			/* "hwmon2_pwm1", "PWM", "speed" */
	int64_t pwm;			/* 0..255; COH_NA when not printed */
	int64_t pwm_enable;		/* from a "<name>_enable=" line; COH_NA */
};

struct coh_clocks {
	char soc_family[24];		/* "tegra234"; "" when not printed */
	char machine[96];		/* "Jetson AGX Orin" */
	char online_cpus[64];		/* as printed: "0-11", "0,3-5" */
	unsigned int online_cpu_count;	/* from online_cpus; 0 when unknown */
	char cluster_switching[32];	/* TX2/Nano "Disabled"; "" when absent */
	unsigned int cpu_count;		/* in output order (sorted as strings:
					   cpu0, cpu1, cpu10, ...) */
	struct coh_clocks_cpu cpu[COH_CLOCKS_CPUS_MAX];
	struct coh_clocks_domain gpu;
	int64_t gpu_tpcs;		/* "Active GPU TPCs: 4" (R36); COH_NA */
	struct coh_clocks_domain emc;
	unsigned int engine_count;
	struct coh_clocks_domain engine[COH_CLOCKS_ENGINES_MAX];
	unsigned int fan_count;
	struct coh_clocks_fan fan[COH_CLOCKS_FANS_MAX];
	char power_mode[48];		/* "NV Power Mode: MAXN"; "" when absent */
	unsigned int line_count;	/* lines read, blank ones included */
	unsigned int unknown_lines;	/* lines this parser does not know
					   ("CPU HOTPLUG: 1", "Can't access
					   Fan!", systemctl warnings) */
};

/*
 * Parse `jetson_clocks --show` output (L4T R28 to R38; NUL-terminated;
 * CRLF and runs of spaces tolerated). Lines it does not know are counted
 * in unknown_lines, never an error. Returns 0, or -EINVAL with "line N:
 * reason" in err when a line it knows is malformed (a frequency that is
 * not a number, cpuN listed twice, more CPUs, engines or fans than the
 * arrays hold) or when no line is one jetson_clocks prints.
 */
COH_API int coh_clocks_parse(const char *text, struct coh_clocks *out,
			     struct pep_err *err);

/* The CPU line for cpuN, or NULL. Valid as long as c. */
COH_API const struct coh_clocks_cpu *
coh_clocks_cpu_find(const struct coh_clocks *c, unsigned int id);

/*
 * Whether the clocks are pinned, as `jetson_clocks` leaves them: every
 * online CPU (Online=1, or not printed) and the GPU have MinFreq ==
 * MaxFreq, and the EMC, when printed, runs at MaxFreq (with FreqOverride=1
 * where printed). Returns 1 pinned, 0 not pinned with why naming each
 * domain that is not (snprintf semantics: "cpu4 729600..2201600 kHz and 3
 * more CPUs, GPU 306000000..1300500000 Hz"), -ENODATA when there are no
 * CPU or GPU lines.
 */
COH_API int coh_clocks_pinned(const struct coh_clocks *c, char *why,
			      size_t why_size);

struct coh_clocks_opts {
	const char *program;		/* NULL = "jetson_clocks" from PATH */
	uint32_t timeout_ms;		/* per run; 0 = 20000 */
	int64_t max_temp_mc;		/* on: refused at or above this; 0 = the
					   warning level of the "conservative"
					   breaker policy (60 °C) */
	int force;			/* on: skip the temperature check */
	int fan;			/* on: also run the fan at full PWM */
	const char *state_dir;		/* NULL = COH_CLOCKS_STATE_DIR */
};

/*
 * Run `jetson_clocks --show` and parse it. -ENOENT when the program is not
 * installed (not a Jetson), -EACCES when it wants root, -EIO when it fails
 * or times out (err quotes its "Error" line or the exit status), -EINVAL
 * when the output does not parse (err names the line).
 */
COH_API int coh_clocks_show(const struct coh_sysroot *sr,
			    const struct coh_clocks_opts *opts,
			    struct coh_clocks *out, struct pep_err *err);

/*
 * The store file: file when not NULL, else l4t_dfs.conf in the state
 * directory (opts may be NULL: the default directory). -ENAMETOOLONG.
 */
COH_API int coh_clocks_store_path(const struct coh_clocks_opts *opts,
				  const char *file, char *out, size_t size,
				  struct pep_err *err);

/*
 * `jetson_clocks --store` into a new file beside FILE (NULL = the state
 * directory's, made 0700 when absent), checked ("path:value" lines naming
 * files under /sys, at least one), synced and renamed over FILE, so FILE
 * is never half-written and jetson_clocks never asks whether to overwrite
 * it. Returns the number of settings stored; -ENOENT/-EACCES/-EIO as
 * coh_clocks_show(), -EIO when the file it wrote is empty or not such
 * lines, -ENOTDIR when FILE's directory does not exist, -EPERM when the
 * state directory is another user's or others may write it, or -errno
 * from the rename.
 */
COH_API int coh_clocks_store(const struct coh_sysroot *sr,
			     const struct coh_clocks_opts *opts,
			     const char *file, struct pep_err *err);

/*
 * `jetson_clocks --restore` of the state directory's store file (FILE must
 * be NULL or that file: anything else is -EPERM, with the reason in err),
 * then read every stored path back through the sysroot: each must hold its
 * stored value (files that are gone or unreadable, such as debugfs without
 * root, are skipped). Returns the number of settings verified; -ENODATA
 * when nothing was stored, -EPERM when the file or its directory is a
 * link, another user's or writable by others, -EINVAL when it is not
 * "path:value" lines naming files under /sys (err names the line), -EIO
 * when jetson_clocks reports "Error: Failed to restore ..." or a value did
 * not take (err names the first path, its value and the stored one), or
 * the errors of coh_clocks_show().
 */
COH_API int coh_clocks_restore(const struct coh_sysroot *sr,
			       const struct coh_clocks_opts *opts,
			       const char *file, struct pep_err *err);

struct coh_clocks_on_result {
	int64_t temp_mc;		/* the breaker's input (tj, else the
					   hottest zone) before the change;
					   COH_NA when forced */
	char zone[48];			/* its zone's display name: "tj" */
	int64_t limit_mc;		/* the limit it was compared with */
	int stored;			/* no store file existed: on stored the
					   settings there first */
	char store_file[512];
};

/*
 * Pin the clocks: refuse when the device is already hot, store the
 * current settings when the store file (FILE: NULL or the state
 * directory's, as for coh_clocks_restore()) does not exist, run
 * `jetson_clocks` (`--fan` with opts->fan), and verify with --show that
 * coh_clocks_pinned() holds. Returns 0; -ECANCELED when the breaker's
 * input temperature is at or above the limit, or no thermal zone gives
 * one (err names the temperature, the zone and the limit; opts->force
 * skips the check); -EIO when jetson_clocks ran but the clocks are not
 * pinned (err says which are not); or the errors of coh_clocks_store()
 * and coh_clocks_show(). out may be NULL.
 */
COH_API int coh_clocks_on(const struct coh_sysroot *sr,
			  const struct coh_clocks_opts *opts, const char *file,
			  struct coh_clocks_on_result *out,
			  struct pep_err *err);

/*
 * Undo `on`: coh_clocks_restore() (FILE: NULL or the state directory's
 * store file); -ENODATA when nothing was stored. Returns the number of
 * settings verified.
 */
COH_API int coh_clocks_off(const struct coh_sysroot *sr,
			   const struct coh_clocks_opts *opts, const char *file,
			   struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_POWER_H */
