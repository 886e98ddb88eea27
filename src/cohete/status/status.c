/*
 * One status sample: every reader in turn, each noting what it could not
 * read. Nothing here fails on a missing file; only memory exhaustion does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

static void read_uptime(const struct coh_sysroot *sr, struct coh_status *st)
{
	char text[128];
	double up;

	st->uptime_s = COH_NA;
	if (coh_sysroot_read(sr, "/proc/uptime", text, sizeof(text), NULL) >= 0 &&
	    sscanf(text, "%lf", &up) == 1 && up >= 0 && up < 1e12)
		st->uptime_s = (int64_t)up;
}

int coh_status_sample(const struct coh_sysroot *sr,
		      const struct coh_status *prev, struct coh_status *st)
{
	struct coh_notes *notes = &st->notes;
	int ret;

	memset(st, 0, sizeof(*st));
	st->sampled_ns = pep_time_ns();
	st->time_ms = pep_time_real_ms();
	if (prev && st->sampled_ns > prev->sampled_ns)
		st->window_ms = (st->sampled_ns - prev->sampled_ns) / 1000000;
	read_uptime(sr, st);
	coh_device_identify(sr, &st->device, notes);
	coh_memory_read(sr, &st->memory, notes);
	coh_thermal_read(sr, &st->thermal, notes);
	ret = coh__cpu_read(sr, prev ? &prev->cpu : NULL, &st->cpu, notes);
	if (ret < 0)
		return ret;
	coh__gpu_read(sr, &st->gpu, notes);
	/* The EMC and engines are Jetson's; elsewhere they only add noise. */
	if (st->device.kind == COH_HOST_JETSON) {
		coh__emc_read(sr, &st->emc, notes);
		coh__engines_read(sr, prev ? &prev->engines : NULL,
				  &st->engines, notes);
	} else {
		st->emc.cur_hz = st->emc.min_hz = st->emc.max_hz = COH_NA;
		st->emc.cap_hz = st->emc.load_permille = COH_NA;
	}
	coh_rails_read(sr, &st->rails, notes);
	st->mode.id = COH_NA;
	if (st->device.kind == COH_HOST_JETSON)
		coh_power_mode_read(sr, &st->mode, notes);
	coh_fan_read(sr, &st->fan, notes);
	return 0;
}
