/*
 * Thermal zones from /sys/class/thermal. Zone numbers move between boards
 * and releases, so zones are listed, never indexed. A zone that cannot be
 * read stays in the list, marked, with the reason in the notes: a hidden
 * sensor is worse than a visible "unavailable".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/thermal.h>

#include "internal.h"

#define THERMAL "/sys/class/thermal"

static const char *const name_suffixes[] = { "-thermal", "-therm", "_tegra" };

void coh_thermal_display_name(const char *type, char *out, size_t size)
{
	size_t len = strlen(type);

	coh__strlcpy(out, type, size);
	for (size_t i = 0; i < ARRAY_SIZE(name_suffixes); i++) {
		size_t n = strlen(name_suffixes[i]);

		if (len > n && len - n < size &&
		    !strcmp(type + len - n, name_suffixes[i])) {
			out[len - n] = '\0';
			return;
		}
	}
}

const char *coh_zone_state_name(enum coh_zone_state state)
{
	switch (state) {
	case COH_ZONE_OK:		return "on";
	case COH_ZONE_OFF:		return "off";
	case COH_ZONE_PLACEHOLDER:	return "placeholder";
	case COH_ZONE_UNAVAILABLE:	return "unavailable";
	}
	return "unavailable";
}

static void read_zone(const struct coh_sysroot *sr, const char *zone,
		      struct coh_thermal_zone *z, struct coh_notes *notes)
{
	char path[128], field[64];
	struct pep_err err;
	int64_t temp;

	coh__strlcpy(z->zone, zone, sizeof(z->zone));
	snprintf(field, sizeof(field), "thermal.%s", zone);
	snprintf(path, sizeof(path), THERMAL "/%s/type", zone);
	if (coh_sysroot_read_str(sr, path, z->type, sizeof(z->type), &err) < 0)
		coh__note_read_error(notes, field, &err);
	coh_thermal_display_name(z->type[0] ? z->type : zone, z->name,
				 sizeof(z->name));
	z->temp_mc = COH_NA;
	z->state = COH_ZONE_UNAVAILABLE;
	snprintf(path, sizeof(path), THERMAL "/%s/temp", zone);
	if (coh_sysroot_read_s64(sr, path, &temp, &err) < 0) {
		coh__note_read_error(notes, field, &err);
		return;
	}
	if (temp <= COH_TEMP_OFF_MC) {
		z->state = COH_ZONE_OFF;
		return;
	}
	z->temp_mc = temp;
	/* R32's PMIC-Die reports a fixed 50 or 100 °C: not a measurement. */
	z->state = strncmp(z->type, "PMIC", 4) ? COH_ZONE_OK
					       : COH_ZONE_PLACEHOLDER;
}

int coh_thermal_read(const struct coh_sysroot *sr, struct coh_thermal *out,
		     struct coh_notes *notes)
{
	struct coh_names names;
	struct pep_err err;

	memset(out, 0, sizeof(*out));
	out->hottest = -1;
	if (coh_sysroot_list(sr, THERMAL, &names, &err) < 0) {
		coh__note_read_error(notes, "thermal", &err);
		return 0;
	}
	for (size_t i = 0; i < names.count; i++) {
		struct coh_thermal_zone *z;

		if (strncmp(names.names[i], "thermal_zone", 12))
			continue;
		if (out->count == COH_THERMAL_ZONES_MAX) {
			coh_notes_add(notes, "thermal", "more than %d zones",
				      COH_THERMAL_ZONES_MAX);
			break;
		}
		z = &out->zones[out->count];
		read_zone(sr, names.names[i], z, notes);
		if (z->state == COH_ZONE_OK &&
		    (out->hottest < 0 ||
		     z->temp_mc > out->zones[out->hottest].temp_mc))
			out->hottest = (int)out->count;
		out->count++;
	}
	coh_names_free(&names);
	if (!out->count)
		coh_notes_add(notes, "thermal", "no thermal zones in " THERMAL);
	return 0;
}
