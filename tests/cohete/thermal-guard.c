/*
 * The thermal breaker's logic with injected time and temperatures:
 * hysteresis, warning, transitions reported once, history, prediction,
 * the choice of input zone.
 */
#include <errno.h>
#include <string.h>

#include <cohete/thermal.h>

#include "harness.h"

static int transitions[2];		/* [0] resumes, [1] pauses */

static void on_change(int paused, void *arg)
{
	(void)arg;
	transitions[paused]++;
}

static int test_policies(void)
{
	struct coh_thermal_guard_policy p;
	struct pep_err err;

	CHECK(coh_thermal_guard_policy_named("conservative", &p, NULL) == 0);
	CHECK(p.trip_mc == 65000 && p.resume_mc == 55000 && p.check_interval_ms == 500);
	CHECK(coh_thermal_guard_policy_named("aggressive", &p, NULL) == 0 && p.trip_mc == 75000);
	CHECK(coh_thermal_guard_policy_named("lukewarm", &p, &err) == -ENOENT);
	CHECK(strstr(err.msg, "lukewarm"));
	p.resume_mc = p.trip_mc;
	CHECK(coh_thermal_guard_policy_check(&p, &err) == -EINVAL && strstr(err.msg, "cooldown"));
	return T_PASS;
}

static int test_hysteresis(void)
{
	static const struct { int64_t temp; enum coh_thermal_guard_state want; } steps[] = {
		{ 50000, COH_THERMAL_GUARD_OK }, { 61000, COH_THERMAL_GUARD_WARNING },
		{ 65000, COH_THERMAL_GUARD_TRIPPED }, { 64000, COH_THERMAL_GUARD_COOLING },
		{ 66000, COH_THERMAL_GUARD_TRIPPED }, { COH_NA, COH_THERMAL_GUARD_TRIPPED },
		{ 56000, COH_THERMAL_GUARD_COOLING }, { 55000, COH_THERMAL_GUARD_COOLING },
		{ 54999, COH_THERMAL_GUARD_OK }, { 60000, COH_THERMAL_GUARD_WARNING },
	};
	struct coh_thermal_guard_policy p;
	struct coh_thermal_guard *b;

	CHECK(coh_thermal_guard_policy_named("conservative", &p, NULL) == 0);
	CHECK(coh_thermal_guard_create(&b, &p, NULL) == 0);
	CHECK(coh_thermal_guard_watch(b, on_change, NULL) == 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum coh_thermal_guard_state s = coh_thermal_guard_update(b, steps[i].temp, i * 500);

		if (s != steps[i].want) {
			fprintf(stderr, "step %zu (%lld m°C): %s, want %s\n", i,
				(long long)steps[i].temp, coh_thermal_guard_state_name(s),
				coh_thermal_guard_state_name(steps[i].want));
			coh_thermal_guard_destroy(b);
			return T_FAIL;
		}
	}
	/* Paused once at 65 °C, resumed once below 55 °C: no flapping. */
	CHECK(transitions[1] == 1 && transitions[0] == 1);
	CHECK(!coh_thermal_guard_paused(b));
	coh_thermal_guard_destroy(b);
	return T_PASS;
}

/*
 * One colour rule from the policy: green below its warning, yellow up to
 * its trip, red at and above it, for both named policies.
 */
static int test_levels(void)
{
	static const struct { const char *policy; int64_t temp; enum coh_temp_level want; } cases[] = {
		{ "conservative", 48000, COH_TEMP_OK },
		{ "conservative", 59999, COH_TEMP_OK },
		{ "conservative", 60000, COH_TEMP_WARN },
		{ "conservative", 64999, COH_TEMP_WARN },
		{ "conservative", 65000, COH_TEMP_HOT },
		{ "conservative", 71000, COH_TEMP_HOT },
		{ "conservative", COH_NA, COH_TEMP_UNKNOWN },
		{ "aggressive", 69999, COH_TEMP_OK },
		{ "aggressive", 71000, COH_TEMP_WARN },
		{ "aggressive", 75000, COH_TEMP_HOT },
	};
	struct coh_thermal_guard_policy p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum coh_temp_level l;

		CHECK(coh_thermal_guard_policy_named(cases[i].policy, &p, NULL) == 0);
		l = coh_temp_level(&p, cases[i].temp);
		if (l != cases[i].want) {
			fprintf(stderr, "%s %lld m°C: %s, want %s\n", cases[i].policy,
				(long long)cases[i].temp, coh_temp_level_name(l),
				coh_temp_level_name(cases[i].want));
			return T_FAIL;
		}
	}
	CHECK(coh_thermal_guard_policy_named(COH_THERMAL_GUARD_POLICY_DEFAULT, &p, NULL) == 0);
	CHECK(coh_thermal_guard_state_level(COH_THERMAL_GUARD_OK) == COH_TEMP_OK);
	CHECK(coh_thermal_guard_state_level(COH_THERMAL_GUARD_WARNING) == COH_TEMP_WARN);
	CHECK(coh_thermal_guard_state_level(COH_THERMAL_GUARD_TRIPPED) == COH_TEMP_HOT);
	/* Cooling below the trip point: work is still paused, still red. */
	CHECK(coh_thermal_guard_state_level(COH_THERMAL_GUARD_COOLING) == COH_TEMP_HOT);
	CHECK(!strcmp(coh_temp_level_name(COH_TEMP_WARN), "warn"));
	return T_PASS;
}

static int test_history_and_prediction(void)
{
	struct coh_thermal_guard_sample out[16];
	struct coh_thermal_guard_policy p;
	struct coh_thermal_guard *b;
	uint64_t lead = 0;

	CHECK(coh_thermal_guard_policy_named("conservative", &p, NULL) == 0);
	CHECK(coh_thermal_guard_create(&b, &p, NULL) == 0);
	/* 1 °C per second from 50 °C: 65 °C is 5 s after the 60 °C sample. */
	for (int i = 0; i <= 10; i++)
		coh_thermal_guard_update(b, 50000 + i * 1000, 10000 + (uint64_t)i * 1000);
	CHECK(coh_thermal_guard_predict(b, 5000, &lead) == 1);
	CHECK(lead >= 4900 && lead <= 5100);
	CHECK(coh_thermal_guard_history(b, 12000, 14000, out, 16) == 3);
	CHECK(out[0].time_ms == 12000 && out[2].temp_mc == 54000);
	for (int i = 0; i < 5000; i++)
		coh_thermal_guard_update(b, 40000, 30000 + (uint64_t)i);
	CHECK(coh_thermal_guard_predict(b, 2000, &lead) == 0);
	CHECK(coh_thermal_guard_history(b, 0, 20000, out, 16) == 0);
	coh_thermal_guard_destroy(b);
	return T_PASS;
}

static int test_input_zone(void)
{
	static struct coh_thermal t;

	t.count = 3;
	t.zones[0] = (struct coh_thermal_zone){ .name = "cpu", .temp_mc = 70000 };
	t.zones[1] = (struct coh_thermal_zone){ .name = "gpu", .temp_mc = COH_NA,
						.state = COH_ZONE_OFF };
	t.zones[2] = (struct coh_thermal_zone){ .name = "PMIC-Die", .temp_mc = 100000,
						.state = COH_ZONE_PLACEHOLDER };
	CHECK(coh_thermal_guard_input(&t) == 70000 && coh_thermal_guard_input_zone(&t) == 0);
	t.zones[1] = (struct coh_thermal_zone){ .name = "tj", .temp_mc = 66000 };
	CHECK(coh_thermal_guard_input(&t) == 66000 && coh_thermal_guard_input_zone(&t) == 1);
	t.count = 0;
	CHECK(coh_thermal_guard_input(&t) == COH_NA && coh_thermal_guard_input_zone(&t) == -1);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("policies", test_policies, &rc);
	t_run("hysteresis", test_hysteresis, &rc);
	t_run("levels", test_levels, &rc);
	t_run("history_and_prediction", test_history_and_prediction, &rc);
	t_run("input_zone", test_input_zone, &rc);
	return rc;
}
