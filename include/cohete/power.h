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

#ifdef __cplusplus
}
#endif

#endif /* COHETE_POWER_H */
