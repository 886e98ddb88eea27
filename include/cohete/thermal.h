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

#ifdef __cplusplus
}
#endif

#endif /* COHETE_THERMAL_H */
