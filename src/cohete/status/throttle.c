/*
 * Throttling detection from one status sample: a clock below its maximum
 * while the device is hot and the clock's unit is busy. Below the maximum
 * while cool is the governor doing its job, not throttling.
 */
#include <stdio.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

#define BUSY_PERMILLE 500
#define BELOW_PERCENT 95		/* under 95% of max counts as held down */

static int held_down(int64_t cur, int64_t max, int64_t load)
{
	return cur != COH_NA && max != COH_NA && load != COH_NA && max > 0 &&
	       load >= BUSY_PERMILLE && cur * 100 < max * BELOW_PERCENT;
}

static void count_held(const struct coh_status *st, struct coh_throttle *out,
		       int64_t *cpu_cur, int64_t *cpu_max)
{
	for (unsigned int i = 0; i < st->cpu.count; i++) {
		const struct coh_cpu_core *c = &st->cpu.core[i];

		if (!c->online || !held_down(c->cur_khz, c->max_khz, c->load_permille))
			continue;
		if (!out->cpu_cores++) {
			*cpu_cur = c->cur_khz / 1000;
			*cpu_max = c->max_khz / 1000;
		}
	}
	out->gpu = st->gpu.present &&
		   held_down(st->gpu.cur_hz, st->gpu.max_hz, st->gpu.load_permille);
}

int coh_throttle_detect(const struct coh_status *st, int64_t hot_mc,
			struct coh_throttle *out)
{
	int64_t cpu_cur = 0, cpu_max = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->temp_mc = coh_thermal_guard_input(&st->thermal);
	count_held(st, out, &cpu_cur, &cpu_max);
	if (out->temp_mc == COH_NA) {
		snprintf(out->cause, sizeof(out->cause), "no temperature to judge by");
		return 0;
	}
	if (out->temp_mc < hot_mc || (!out->cpu_cores && !out->gpu)) {
		snprintf(out->cause, sizeof(out->cause),
			 "not throttled: %.1f C (hot from %.1f C), %u busy cores and %s held down",
			 (double)out->temp_mc / 1000, (double)hot_mc / 1000,
			 out->cpu_cores, out->gpu ? "the GPU" : "no GPU");
		return 0;
	}
	out->throttled = 1;
	len = (size_t)snprintf(out->cause, sizeof(out->cause),
			       "thermal: %.1f C >= %.1f C",
			       (double)out->temp_mc / 1000, (double)hot_mc / 1000);
	if (out->cpu_cores && len < sizeof(out->cause))
		len += (size_t)snprintf(out->cause + len, sizeof(out->cause) - len,
					"; %u busy CPU cores below max (%lld of %lld MHz)",
					out->cpu_cores, (long long)cpu_cur,
					(long long)cpu_max);
	if (out->gpu && len < sizeof(out->cause))
		snprintf(out->cause + len, sizeof(out->cause) - len,
			 "; busy GPU at %lld of %lld MHz",
			 (long long)(st->gpu.cur_hz / 1000000),
			 (long long)(st->gpu.max_hz / 1000000));
	return 1;
}
