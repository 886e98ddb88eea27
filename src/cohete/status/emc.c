/*
 * The external memory controller (EMC): its clock, nvpmodel's cap on it
 * and its load. The clock lives in debugfs on every release before Thor
 * (BPMP's clock tree on tegra186/194/234, the clock framework plus the
 * bandwidth manager on tegra210), so it needs root; Thor moves it to a
 * devfreq device. The load is the activity monitor's average, in kHz of
 * the clock's rate: load = mc_all / rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

#define DEBUGFS "/sys/kernel/debug"

/* Where one generation keeps the clock: directory and file names. */
struct emc_source {
	const char *dir;
	const char *cur;
	const char *min;		/* NULL: not in this directory */
	const char *max;
};

static const struct emc_source sources[] = {
	/* tegra186/194/234: BPMP owns the clock. */
	{ DEBUGFS "/bpmp/debug/clk/emc", "rate", "min_rate", "max_rate" },
	/* Thor (R38+): the bandwidth manager is a devfreq device. */
	{ "/sys/class/devfreq/bwmgr", "cur_freq", "min_freq", "max_freq" },
	/* tegra210: the override clock; limits from tegra_bwmgr below. */
	{ DEBUGFS "/clk/override.emc", "clk_rate", NULL, NULL },
	/* Other kernels with the common clock framework's debugfs. */
	{ DEBUGFS "/clk/emc", "clk_rate", "clk_min_rate", "clk_max_rate" },
};

static const char *const cap_files[] = {
	"/sys/kernel/nvpmodel_emc_cap/emc_iso_cap",
	"/sys/kernel/nvpmodel_clk_cap/emc",	/* JetPack 6.2, newer kernels */
};

static const char *const activity_files[] = {
	"/sys/kernel/actmon_avg_activity/mc_all",
	DEBUGFS "/cactmon/mc_all",
	DEBUGFS "/bpmp/debug/actmon/mc_all_avg_activity",
};

/* A value, or COH_NA without a note: the caller decides what is missing. */
static int64_t read_quiet(const struct coh_sysroot *sr, const char *dir,
			  const char *file, int *ret)
{
	char path[192];
	int64_t v;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	*ret = coh_sysroot_read_s64(sr, path, &v, NULL);
	return *ret < 0 ? COH_NA : v;
}

/* The first present source: 0, -EACCES (found, unreadable), -ENOENT. */
static int read_clock(const struct coh_sysroot *sr, struct coh_emc *emc)
{
	int ret, denied = 0, unused;

	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		const struct emc_source *s = &sources[i];

		emc->cur_hz = read_quiet(sr, s->dir, s->cur, &ret);
		if (ret == -EACCES)
			denied = 1;
		if (ret < 0)
			continue;
		if (s->min) {
			emc->min_hz = read_quiet(sr, s->dir, s->min, &unused);
			emc->max_hz = read_quiet(sr, s->dir, s->max, &unused);
		} else {
			emc->min_hz = read_quiet(sr, DEBUGFS "/tegra_bwmgr",
						 "emc_min_rate", &unused);
			emc->max_hz = read_quiet(sr, DEBUGFS "/tegra_bwmgr",
						 "emc_max_rate", &unused);
		}
		return 0;
	}
	return denied ? -EACCES : -ENOENT;
}

/* The first readable file's value; *found says whether there was one. */
static int64_t read_first(const struct coh_sysroot *sr,
			  const char *const *paths, size_t n, int *found)
{
	int64_t v;

	for (size_t i = 0; i < n; i++)
		if (coh_sysroot_read_s64(sr, paths[i], &v, NULL) == 0) {
			*found = 1;
			return v;
		}
	return COH_NA;
}

static void note_no_clock(const struct coh_sysroot *sr, int ret,
			  struct coh_notes *notes)
{
	if (ret == -EACCES || coh_sysroot_exists(sr, DEBUGFS))
		coh_notes_add(notes, "emc", "clock is in debugfs: needs root");
	else
		coh_notes_add(notes, "emc", "no EMC clock (debugfs not mounted)");
}

int coh__emc_read(const struct coh_sysroot *sr, struct coh_emc *emc,
		  struct coh_notes *notes)
{
	int64_t activity;
	int ret, found = 0;

	memset(emc, 0, sizeof(*emc));
	emc->cur_hz = emc->min_hz = emc->max_hz = COH_NA;
	emc->cap_hz = emc->load_permille = COH_NA;

	ret = read_clock(sr, emc);
	emc->cap_hz = read_first(sr, cap_files, ARRAY_SIZE(cap_files), &found);
	if (emc->cap_hz != COH_NA && emc->cap_hz <= 0)
		emc->cap_hz = COH_NA;		/* 0: no cap */
	activity = read_first(sr, activity_files, ARRAY_SIZE(activity_files),
			      &found);
	emc->present = ret == 0 || found;
	if (ret < 0)
		note_no_clock(sr, ret, notes);
	if (activity == COH_NA || activity < 0)
		return 0;
	if (emc->cur_hz == COH_NA || emc->cur_hz < 1000) {
		coh_notes_add(notes, "emc.load_percent",
			      "activity without the clock rate");
		return 0;
	}
	/* activity <= rate in kHz keeps the product in range */
	if (activity >= emc->cur_hz / 1000)
		emc->load_permille = 1000;
	else
		emc->load_permille = activity * 1000 / (emc->cur_hz / 1000);
	return 0;
}
