/*
 * cohete/power.h - power rails (INA3221: hwmon on JetPack 5+, iio on
 * JetPack 4), the current nvpmodel mode and the fan.
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

#ifdef __cplusplus
}
#endif

#endif /* COHETE_POWER_H */
