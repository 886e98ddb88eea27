/*
 * Power rails from INA3221 monitors. JetPack 5 and later bind the upstream
 * hwmon driver ("ina3221": inN_label, inN_input mV, currN_input mA);
 * JetPack 4 binds NVIDIA's iio driver ("ina3221x": rail_name_K,
 * in_voltageK_input, in_currentK_input, in_powerK_input). Devices are found
 * by name under /sys/bus/i2c/devices, never by a fixed address.
 */
#include <stdio.h>
#include <string.h>

#include <cohete/power.h>

#include "internal.h"

#define I2C "/sys/bus/i2c/devices"

static int is_unconnected(const char *label)
{
	return !strncmp(label, "NC", 2) && (label[2] == '\0' || label[2] == ' ');
}

static struct coh_rail *add_rail(struct coh_rails *r, const char *dev,
				 const char *name, struct coh_notes *notes)
{
	struct coh_rail *rail;

	if (r->count == COH_RAILS_MAX) {
		coh_notes_add(notes, "power.rails", "more than %d rails",
			      COH_RAILS_MAX);
		return NULL;
	}
	rail = &r->rail[r->count++];
	coh__strlcpy(rail->name, name, sizeof(rail->name));
	coh__strlcpy(rail->device, dev, sizeof(rail->device));
	rail->voltage_mv = rail->current_ma = rail->power_mw = COH_NA;
	return rail;
}

/* A channel file is <prefix><channel><suffix>: "in1_input", "rail_name_0". */
struct channel_file {
	const char *prefix;
	const char *suffix;
};

struct channel_layout {
	int first, last;		/* channel numbers */
	struct channel_file label, voltage_mv, current_ma, power_mw;
};

/* hwmon channels 1-3 are rails; in7 is the "sum of shunt voltages". */
static const struct channel_layout hwmon_layout = {
	1, 3, { "in", "_label" }, { "in", "_input" }, { "curr", "_input" },
	{ NULL, NULL },
};

static const struct channel_layout iio_layout = {
	0, 2, { "rail_name_", "" }, { "in_voltage", "_input" },
	{ "in_current", "_input" }, { "in_power", "_input" },
};

static int64_t channel_value(const struct coh_sysroot *sr, const char *dir,
			     const struct channel_file *file, int ch,
			     const struct coh_rail *rail, struct coh_notes *notes)
{
	char path[256], field[64];

	if (!file->prefix)
		return COH_NA;
	snprintf(path, sizeof(path), "%s/%s%d%s", dir, file->prefix, ch,
		 file->suffix);
	snprintf(field, sizeof(field), "power.%s", rail->name);
	return coh__read_reading(sr, path, notes, field);
}

static void derive_power(struct coh_rail *rail)
{
	if (rail->power_mw == COH_NA && rail->voltage_mv != COH_NA &&
	    rail->current_ma != COH_NA)
		rail->power_mw = rail->voltage_mv * rail->current_ma / 1000;
}

static void read_channels(const struct coh_sysroot *sr, const char *dev,
			  const char *dir, const struct channel_layout *layout,
			  struct coh_rails *r, struct coh_notes *notes)
{
	for (int ch = layout->first; ch <= layout->last; ch++) {
		char path[256], label[32];
		struct coh_rail *rail;

		snprintf(path, sizeof(path), "%s/%s%d%s", dir, layout->label.prefix,
			 ch, layout->label.suffix);
		if (coh_sysroot_read_str(sr, path, label, sizeof(label), NULL) <= 0 ||
		    is_unconnected(label))
			continue;
		rail = add_rail(r, dev, label, notes);
		if (!rail)
			return;
		rail->voltage_mv = channel_value(sr, dir, &layout->voltage_mv, ch,
						 rail, notes);
		rail->current_ma = channel_value(sr, dir, &layout->current_ma, ch,
						 rail, notes);
		rail->power_mw = channel_value(sr, dir, &layout->power_mw, ch,
					       rail, notes);
		derive_power(rail);
	}
}

/* Each hwmonN (JetPack 5+) or iio:deviceN (JetPack 4) below the device. */
static void read_device(const struct coh_sysroot *sr, const char *dev,
			struct coh_rails *r, struct coh_notes *notes)
{
	char base[128], dir[256];
	struct coh_names names;

	snprintf(base, sizeof(base), I2C "/%s/hwmon", dev);
	if (coh_sysroot_list(sr, base, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count; i++) {
			snprintf(dir, sizeof(dir), "%s/%s", base, names.names[i]);
			read_channels(sr, dev, dir, &hwmon_layout, r, notes);
		}
		coh_names_free(&names);
	}
	snprintf(base, sizeof(base), I2C "/%s", dev);
	if (coh_sysroot_list(sr, base, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count; i++) {
			if (strncmp(names.names[i], "iio:device", 10))
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", base, names.names[i]);
			read_channels(sr, dev, dir, &iio_layout, r, notes);
		}
		coh_names_free(&names);
	}
}

/* tegrastats' rule: VDD_IN or POM_5V_IN is the board input when present. */
static void compute_total(struct coh_rails *r)
{
	int64_t sum = 0;

	r->total_mw = COH_NA;
	r->total_kind = COH_TOTAL_NONE;
	for (unsigned int i = 0; i < r->count; i++) {
		const struct coh_rail *rail = &r->rail[i];

		if (!strcmp(rail->name, "VDD_IN") || !strcmp(rail->name, "POM_5V_IN")) {
			r->total_kind = COH_TOTAL_INPUT;
			coh__strlcpy(r->total_rail, rail->name,
				     sizeof(r->total_rail));
			r->total_mw = rail->power_mw;
			return;
		}
	}
	for (unsigned int i = 0; i < r->count; i++) {
		if (r->rail[i].power_mw == COH_NA)
			return;		/* a partial sum would mislead */
		sum += r->rail[i].power_mw;
	}
	if (r->count) {
		r->total_kind = COH_TOTAL_SUM;
		r->total_mw = sum;
	}
}

const char *coh_total_kind_name(enum coh_total_kind kind)
{
	switch (kind) {
	case COH_TOTAL_INPUT:	return "input";
	case COH_TOTAL_SUM:	return "sum";
	case COH_TOTAL_NONE:	return "none";
	}
	return "none";
}

int coh_rails_read(const struct coh_sysroot *sr, struct coh_rails *r,
		   struct coh_notes *notes)
{
	struct coh_names devs;

	memset(r, 0, sizeof(*r));
	if (coh_sysroot_list(sr, I2C, &devs, NULL) == 0) {
		for (size_t i = 0; i < devs.count; i++) {
			char path[128], name[32];

			snprintf(path, sizeof(path), I2C "/%s/name", devs.names[i]);
			if (coh_sysroot_read_str(sr, path, name, sizeof(name),
						 NULL) > 0 && strstr(name, "ina3221"))
				read_device(sr, devs.names[i], r, notes);
		}
		coh_names_free(&devs);
	}
	compute_total(r);
	if (!r->count)
		coh_notes_add(notes, "power.rails", "no INA3221 power monitor");
	return 0;
}
