/*
 * Throttling detection on constructed samples: hot and busy below max is
 * throttled; cool, idle or at max is not; the cause names the numbers.
 */
#include <stdlib.h>
#include <string.h>

#include <cohete/status.h>

#include "harness.h"

static struct coh_status *hot_busy_sample(void)
{
	struct coh_status *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->thermal.count = 2;
	st->thermal.zones[0] = (struct coh_thermal_zone){ .name = "cpu",
							  .temp_mc = 80000 };
	st->thermal.zones[1] = (struct coh_thermal_zone){ .name = "tj",
							  .temp_mc = 87500 };
	st->cpu.count = 2;
	st->cpu.core[0] = (struct coh_cpu_core){ .id = 0, .online = 1,
		.load_permille = 900, .cur_khz = 1190400, .max_khz = 2201600 };
	st->cpu.core[1] = (struct coh_cpu_core){ .id = 1, .online = 1,
		.load_permille = 50, .cur_khz = 729600, .max_khz = 2201600 };
	st->gpu = (struct coh_gpu){ .present = 1, .load_permille = 990,
		.cur_hz = 306000000, .max_hz = 1300500000, .min_hz = COH_NA };
	return st;
}

static int test_hot_and_busy(void)
{
	struct coh_status *st = hot_busy_sample();
	struct coh_throttle t;

	CHECK(st);
	CHECK(coh_throttle_detect(st, 85000, &t) == 1 && t.throttled);
	/* The idle core at 729 MHz is the governor, not throttling. */
	CHECK(t.cpu_cores == 1 && t.gpu && t.temp_mc == 87500);
	CHECK(strstr(t.cause, "thermal: 87.5 C") && strstr(t.cause, "1190 of 2201 MHz"));
	CHECK(strstr(t.cause, "GPU at 306 of 1300 MHz"));
	free(st);
	return T_PASS;
}

static int test_not_throttled(void)
{
	struct coh_status *st = hot_busy_sample();
	struct coh_throttle t;

	CHECK(st);
	CHECK(coh_throttle_detect(st, 90000, &t) == 0 && strstr(t.cause, "not throttled"));
	st->cpu.core[0].cur_khz = st->cpu.core[0].max_khz;
	st->gpu.cur_hz = st->gpu.max_hz;
	CHECK(coh_throttle_detect(st, 85000, &t) == 0);
	CHECK(t.cpu_cores == 0 && !t.gpu);
	st->thermal.count = 0;
	CHECK(coh_throttle_detect(st, 85000, &t) == 0 && t.temp_mc == COH_NA);
	free(st);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("hot_and_busy", test_hot_and_busy, &rc);
	t_run("not_throttled", test_not_throttled, &rc);
	return rc;
}
