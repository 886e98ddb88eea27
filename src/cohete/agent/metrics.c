/*
 * The agent's documents: /metrics in the Prometheus text format 0.0.4 and
 * /v1/status as JSON, both from a snapshot (plain values), so tests render
 * a fixture sample without a server.
 *
 * /v1/status is coh_status_json()'s document renamed
 * COH_AGENT_STATUS_SCHEMA with the breaker, budget and agent objects
 * added, under the same convention: every quantity's key ends in its unit
 * (°C as decimals, bytes, ms, _count for counts).
 *
 * The text format wants every family's samples together under one HELP and
 * one TYPE line, so each section below walks its devices once per family.
 * Readings are integers in sysfs units (m°C, mV, kHz, kB, permille) and are
 * printed as exact decimals in base units: 47687 m°C is "47.687", never a
 * float that prints 47.686999. A reading the machine lacks (COH_NA) is left
 * out, never exported as 0. Label values are escaped (\\, \", \n) and bytes
 * that are not UTF-8 are replaced, since sysfs strings are not checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cohete/agent.h>

#include "internal.h"

struct family {
	const char *name;
	const char *type;		/* "gauge" or "counter" */
	const char *help;
};

struct prom {
	FILE *f;
	const char *family;		/* the family whose header is out */
};

struct labels {
	size_t len;
	char text[2048];
};

/* A number printed into a small buffer, returned by value. */
struct num {
	char s[48];
};

static struct num num_int(int64_t v)
{
	struct num n;

	snprintf(n.s, sizeof(n.s), "%" PRId64, v);
	return n;
}

static struct num num_u64(uint64_t v)
{
	struct num n;

	snprintf(n.s, sizeof(n.s), "%" PRIu64, v);
	return n;
}

/* v / 10^digits as an exact decimal without trailing zeros. */
static struct num num_scaled(int64_t v, unsigned int digits)
{
	uint64_t scale = 1, mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	struct num n;
	size_t len;

	for (unsigned int i = 0; i < digits; i++)
		scale *= 10;
	if (mag % scale == 0) {
		snprintf(n.s, sizeof(n.s), "%s%" PRIu64, v < 0 ? "-" : "",
			 mag / scale);
		return n;
	}
	snprintf(n.s, sizeof(n.s), "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "",
		 mag / scale, (int)digits, mag % scale);
	len = strlen(n.s);
	while (n.s[len - 1] == '0')
		n.s[--len] = '\0';
	return n;
}

static struct num num_milli(int64_t v)
{
	return num_scaled(v, 3);
}

static struct num num_ns(uint64_t ns)
{
	return num_scaled(ns > INT64_MAX ? INT64_MAX : (int64_t)ns, 9);
}

static struct num num_ratio(double v)
{
	struct num n;

	snprintf(n.s, sizeof(n.s), "%.6g", v);
	return n;
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
		   s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void lab_putc(struct labels *l, char c)
{
	if (l->len + 1 < sizeof(l->text))
		l->text[l->len++] = c;
	l->text[l->len] = '\0';
}

/* Append name="value", escaped as the text format wants. */
static void label(struct labels *l, const char *name, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;

	if (l->len)
		lab_putc(l, ',');
	while (*name)
		lab_putc(l, *name++);
	lab_putc(l, '=');
	lab_putc(l, '"');
	while (*s) {
		size_t n = *s < 0x80 ? 1 : utf8_len(s);

		if (*s == '\\' || *s == '"' || *s == '\n') {
			lab_putc(l, '\\');
			lab_putc(l, *s == '\n' ? 'n' : (char)*s);
		} else if (n == 0 || *s < 0x20 || *s == 0x7f) {
			lab_putc(l, '?');
			n = 1;
		} else {
			for (size_t i = 0; i < n; i++)
				lab_putc(l, (char)s[i]);
		}
		s += n;
	}
	lab_putc(l, '"');
}

/* label() only when the value is not empty (an empty label is no label). */
static void label_opt(struct labels *l, const char *name, const char *value)
{
	if (value && *value)
		label(l, name, value);
}

static void labels_reset(struct labels *l)
{
	l->len = 0;
	l->text[0] = '\0';
}

static void emit(struct prom *p, const struct family *fam,
		 const struct labels *l, const char *value)
{
	int has = l && l->len;

	if (p->family != fam->name) {
		fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", fam->name,
			fam->help, fam->name, fam->type);
		p->family = fam->name;
	}
	fprintf(p->f, "%s%s%s%s %s\n", fam->name, has ? "{" : "",
		has ? l->text : "", has ? "}" : "", value);
}

/* A reading scaled to base units by factor (kHz -> Hz: 1000), or nothing. */
static void gauge_int(struct prom *p, const struct family *fam,
		      const struct labels *l, int64_t v, int64_t factor)
{
	if (v == COH_NA || v > INT64_MAX / factor || v < INT64_MIN / factor + 1)
		return;
	emit(p, fam, l, num_int(v * factor).s);
}

/* A reading in thousandths (m°C, mV, mA, mW, permille), or nothing. */
static void gauge_milli(struct prom *p, const struct family *fam,
			const struct labels *l, int64_t v)
{
	if (v != COH_NA)
		emit(p, fam, l, num_milli(v).s);
}

static const char *host_kind_name(enum coh_host_kind kind)
{
	switch (kind) {
	case COH_HOST_JETSON:	return "jetson";
	case COH_HOST_OTHER:	return "other";
	case COH_HOST_UNKNOWN:	return "unknown";
	}
	return "unknown";
}

static void render_device(struct prom *p, const struct coh_status *st)
{
	static const struct family info = { "cohete_device_info", "gauge",
		"The machine: model, module, SoC, L4T and JetPack release (always 1)." };
	static const struct family uptime = { "cohete_uptime_seconds", "gauge",
		"Seconds since boot." };
	const struct coh_device *d = &st->device;
	struct labels l = { 0 };

	label(&l, "kind", host_kind_name(d->kind));
	label_opt(&l, "model", d->model);
	label_opt(&l, "module", d->module ? d->module->name : NULL);
	label_opt(&l, "module_pnum", d->module_pnum);
	label_opt(&l, "carrier_pnum", d->carrier_pnum);
	label_opt(&l, "soc", d->soc);
	label_opt(&l, "l4t", d->l4t);
	label_opt(&l, "jetpack", d->jetpack ? d->jetpack->jetpack : NULL);
	label_opt(&l, "hostname", d->hostname);
	label_opt(&l, "kernel", d->kernel);
	label_opt(&l, "arch", d->arch);
	emit(p, &info, &l, "1");
	gauge_int(p, &uptime, NULL, st->uptime_s, 1);
}

static void zone_labels(struct labels *l, const struct coh_thermal_zone *z)
{
	labels_reset(l);
	label(l, "zone", z->zone);
	label(l, "type", z->type);
	label(l, "name", z->name);
}

static void render_thermal(struct prom *p, const struct coh_thermal *t)
{
	static const struct family temp = { "cohete_thermal_zone_temperature_celsius",
		"gauge", "Thermal zone temperature (measured zones only)." };
	static const struct family state = { "cohete_thermal_zone_info", "gauge",
		"Thermal zone and its state: on, off, placeholder (a fixed PMIC "
		"value), unavailable (always 1)." };
	struct labels l;

	for (unsigned int i = 0; i < t->count; i++) {
		if (t->zones[i].state != COH_ZONE_OK)
			continue;
		zone_labels(&l, &t->zones[i]);
		gauge_milli(p, &temp, &l, t->zones[i].temp_mc);
	}
	for (unsigned int i = 0; i < t->count; i++) {
		zone_labels(&l, &t->zones[i]);
		label(&l, "state", coh_zone_state_name(t->zones[i].state));
		emit(p, &state, &l, "1");
	}
}

static void core_labels(struct labels *l, const struct coh_cpu_core *k)
{
	labels_reset(l);
	label(l, "cpu", num_u64(k->id).s);
}

static void render_cpu(struct prom *p, const struct coh_cpu *c)
{
	static const struct family fams[] = {
		{ "cohete_cpu_online", "gauge", "1 when the core is online, 0 when off." },
		{ "cohete_cpu_load_ratio", "gauge",
		  "Core busy time over the sample window, 0..1 (online cores)." },
		{ "cohete_cpu_frequency_hertz", "gauge", "Core clock (scaling_cur_freq)." },
		{ "cohete_cpu_frequency_max_hertz", "gauge",
		  "Core clock ceiling (scaling_max_freq)." },
	};
	static const struct family all = { "cohete_cpu_all_load_ratio", "gauge",
		"Busy time of all online cores over the sample window, 0..1." };
	struct labels l;

	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		for (unsigned int i = 0; i < c->count; i++) {
			const struct coh_cpu_core *k = &c->core[i];

			core_labels(&l, k);
			if (f == 0)
				emit(p, &fams[f], &l, k->online ? "1" : "0");
			else if (f == 1 && k->online)
				gauge_milli(p, &fams[f], &l, k->load_permille);
			else if (f == 2)
				gauge_int(p, &fams[f], &l, k->cur_khz, 1000);
			else if (f == 3)
				gauge_int(p, &fams[f], &l, k->max_khz, 1000);
		}
	gauge_milli(p, &all, NULL, c->load_permille);
}

static void render_gpu(struct prom *p, const struct coh_gpu *g)
{
	static const struct family info = { "cohete_gpu_info", "gauge",
		"The devfreq GPU and its governor (always 1)." };
	static const struct family load = { "cohete_gpu_load_ratio", "gauge",
		"GPU load, 0..1 (driver-smoothed)." };
	static const struct family cur = { "cohete_gpu_frequency_hertz", "gauge",
		"GPU clock." };
	static const struct family min = { "cohete_gpu_frequency_min_hertz", "gauge",
		"GPU clock floor." };
	static const struct family max = { "cohete_gpu_frequency_max_hertz", "gauge",
		"GPU clock ceiling." };
	struct labels l = { 0 };

	if (!g->present)
		return;
	label(&l, "gpu", g->name);
	label_opt(&l, "governor", g->governor);
	emit(p, &info, &l, "1");
	labels_reset(&l);
	label(&l, "gpu", g->name);
	gauge_milli(p, &load, &l, g->load_permille);
	gauge_int(p, &cur, &l, g->cur_hz, 1);
	gauge_int(p, &min, &l, g->min_hz, 1);
	gauge_int(p, &max, &l, g->max_hz, 1);
}

static void render_emc(struct prom *p, const struct coh_emc *e)
{
	static const struct family fams[] = {
		{ "cohete_emc_frequency_hertz", "gauge", "External memory controller clock." },
		{ "cohete_emc_frequency_min_hertz", "gauge", "EMC clock floor." },
		{ "cohete_emc_frequency_max_hertz", "gauge", "EMC clock ceiling." },
		{ "cohete_emc_frequency_cap_hertz", "gauge",
		  "EMC clock cap set by the nvpmodel mode." },
		{ "cohete_emc_load_ratio", "gauge",
		  "EMC load from the activity monitor, 0..1." },
	};

	if (!e->present)
		return;
	gauge_int(p, &fams[0], NULL, e->cur_hz, 1);
	gauge_int(p, &fams[1], NULL, e->min_hz, 1);
	gauge_int(p, &fams[2], NULL, e->max_hz, 1);
	gauge_int(p, &fams[3], NULL, e->cap_hz, 1);
	gauge_milli(p, &fams[4], NULL, e->load_permille);
}

static void render_engines(struct prom *p, const struct coh_engines *en)
{
	static const struct family fams[] = {
		{ "cohete_engine_on", "gauge",
		  "1 when the engine's clock is enabled (NVENC, NVDEC, VIC, DLA, ...)." },
		{ "cohete_engine_frequency_hertz", "gauge", "Engine clock." },
		{ "cohete_engine_frequency_min_hertz", "gauge", "Engine clock floor." },
		{ "cohete_engine_frequency_max_hertz", "gauge", "Engine clock ceiling." },
	};
	struct labels l;

	if (!en->readable)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		for (unsigned int i = 0; i < en->count && i < COH_ENGINES_MAX; i++) {
			const struct coh_engine *e = &en->engine[i];
			int64_t v = f == 1 ? e->cur_hz : f == 2 ? e->min_hz : e->max_hz;

			labels_reset(&l);
			label(&l, "engine", e->name);
			if (f == 0)
				emit(p, &fams[f], &l, e->on ? "1" : "0");
			else
				gauge_int(p, &fams[f], &l, v, 1);
		}
}

/* A rail that repeats an earlier one's name and device is left out. */
static int rail_repeats(const struct coh_rails *r, unsigned int i)
{
	for (unsigned int k = 0; k < i; k++)
		if (!strcmp(r->rail[k].name, r->rail[i].name) &&
		    !strcmp(r->rail[k].device, r->rail[i].device))
			return 1;
	return 0;
}

static void render_rails(struct prom *p, const struct coh_rails *r)
{
	static const struct family fams[] = {
		{ "cohete_rail_voltage_volts", "gauge", "Power rail voltage (INA3221)." },
		{ "cohete_rail_current_amperes", "gauge", "Power rail current (INA3221)." },
		{ "cohete_rail_power_watts", "gauge", "Power rail power (INA3221)." },
	};
	static const struct family total = { "cohete_power_total_watts", "gauge",
		"Board power: kind=input is the input rail, kind=sum the sum of "
		"the rails (a floor, not the total)." };
	struct labels l;

	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		for (unsigned int i = 0; i < r->count && i < COH_RAILS_MAX; i++) {
			const struct coh_rail *rail = &r->rail[i];

			if (rail_repeats(r, i))
				continue;
			labels_reset(&l);
			label(&l, "rail", rail->name);
			label_opt(&l, "device", rail->device);
			gauge_milli(p, &fams[f], &l, f == 0 ? rail->voltage_mv :
				    f == 1 ? rail->current_ma : rail->power_mw);
		}
	if (r->total_kind == COH_TOTAL_NONE)
		return;
	labels_reset(&l);
	label(&l, "kind", coh_total_kind_name(r->total_kind));
	label_opt(&l, "rail", r->total_rail);
	gauge_milli(p, &total, &l, r->total_mw);
}

static void render_mode_fan(struct prom *p, const struct coh_power_mode *m,
			    const struct coh_fan *fan)
{
	static const struct family info = { "cohete_power_mode_info", "gauge",
		"The nvpmodel power mode (always 1)." };
	static const struct family id = { "cohete_power_mode_id", "gauge",
		"The nvpmodel power mode id." };
	static const struct family pwm = { "cohete_fan_pwm", "gauge",
		"Fan PWM duty, 0..255 (the scale POST /v1/fan takes)." };
	static const struct family duty = { "cohete_fan_pwm_ratio", "gauge",
		"Fan PWM duty, 0..1." };
	static const struct family rpm = { "cohete_fan_speed_rpm", "gauge",
		"Fan speed from the tachometer, revolutions per minute." };
	struct labels l = { 0 };

	if (m->id != COH_NA) {
		label(&l, "id", num_int(m->id).s);
		label_opt(&l, "name", m->name);
		emit(p, &info, &l, "1");
		gauge_int(p, &id, NULL, m->id, 1);
	}
	if (!fan->present)
		return;
	gauge_int(p, &pwm, NULL, fan->pwm, 1);
	if (fan->pwm != COH_NA && fan->pwm >= 0 && fan->pwm <= 255)
		emit(p, &duty, NULL, num_ratio((double)fan->pwm / 255.0).s);
	gauge_int(p, &rpm, NULL, fan->rpm, 1);
}

static void render_meminfo(struct prom *p, const struct coh_meminfo *mi)
{
	static const struct family fams[] = {
		{ "cohete_memory_total_bytes", "gauge", "MemTotal." },
		{ "cohete_memory_available_bytes", "gauge",
		  "MemAvailable: what can be allocated without swapping (GPU "
		  "included on Jetson)." },
		{ "cohete_memory_free_bytes", "gauge", "MemFree." },
		{ "cohete_memory_buffers_bytes", "gauge", "Buffers." },
		{ "cohete_memory_cached_bytes", "gauge", "Cached." },
		{ "cohete_memory_nvmap_used_bytes", "gauge",
		  "NvMapMemUsed: memory the GPU and engines hold through nvmap." },
		{ "cohete_swap_total_bytes", "gauge", "SwapTotal (zram and disk)." },
		{ "cohete_swap_free_bytes", "gauge", "SwapFree." },
	};
	const int64_t kb[] = { mi->total_kb, mi->available_kb, mi->free_kb,
			       mi->buffers_kb, mi->cached_kb, mi->nvmap_used_kb,
			       mi->swap_total_kb, mi->swap_free_kb };

	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		gauge_int(p, &fams[f], NULL, kb[f], 1024);
}

static void render_zram(struct prom *p, const struct coh_memory *m)
{
	static const struct family info = { "cohete_zram_info", "gauge",
		"A zram device, its algorithm and whether it is swap (always 1)." };
	static const struct family fams[] = {
		{ "cohete_zram_disk_size_bytes", "gauge", "zram disksize." },
		{ "cohete_zram_original_data_bytes", "gauge", "Data stored, uncompressed." },
		{ "cohete_zram_compressed_data_bytes", "gauge", "Data stored, compressed." },
		{ "cohete_zram_memory_used_bytes", "gauge",
		  "Memory the device uses, overhead included." },
	};
	unsigned int n = m->zram_count < COH_ZRAM_MAX ? m->zram_count : COH_ZRAM_MAX;
	struct labels l;

	for (unsigned int i = 0; i < n; i++) {
		labels_reset(&l);
		label(&l, "device", m->zram[i].name);
		label_opt(&l, "algorithm", m->zram[i].algorithm);
		label(&l, "swap", m->zram[i].swap ? "true" : "false");
		emit(p, &info, &l, "1");
	}
	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		for (unsigned int i = 0; i < n; i++) {
			const struct coh_zram *z = &m->zram[i];

			labels_reset(&l);
			label(&l, "device", z->name);
			gauge_int(p, &fams[f], &l, f == 0 ? z->disksize_bytes :
				  f == 1 ? z->orig_data_bytes : f == 2 ?
				  z->compr_data_bytes : z->mem_used_bytes, 1);
		}
}

static void render_status(struct prom *p, const struct coh_status *st)
{
	render_device(p, st);
	render_thermal(p, &st->thermal);
	render_cpu(p, &st->cpu);
	render_gpu(p, &st->gpu);
	render_emc(p, &st->emc);
	render_engines(p, &st->engines);
	render_rails(p, &st->rails);
	render_mode_fan(p, &st->mode, &st->fan);
	render_meminfo(p, &st->memory.info);
	render_zram(p, &st->memory);
}

static void render_policy(struct prom *p, const struct coh_thermal_guard_policy *pol)
{
	static const struct family info = { "cohete_breaker_policy_info", "gauge",
		"The thermal policy the breaker enforces (always 1)." };
	static const struct family fams[] = {
		{ "cohete_breaker_trip_temperature_celsius", "gauge",
		  "Work is paused at or above this temperature." },
		{ "cohete_breaker_resume_temperature_celsius", "gauge",
		  "Paused work resumes only below this temperature." },
		{ "cohete_breaker_warning_temperature_celsius", "gauge",
		  "The breaker warns from this temperature." },
	};
	static const struct family check = { "cohete_breaker_check_interval_seconds",
		"gauge", "How often the breaker reads the thermal zones." };
	struct labels l = { 0 };

	label(&l, "policy", pol->name);
	emit(p, &info, &l, "1");
	gauge_milli(p, &fams[0], NULL, pol->trip_mc);
	gauge_milli(p, &fams[1], NULL, pol->resume_mc);
	gauge_milli(p, &fams[2], NULL, pol->warning_mc);
	gauge_milli(p, &check, NULL, pol->check_interval_ms);
}

static void render_breaker(struct prom *p, const struct coh_agent_breaker_view *b)
{
	static const struct family state = { "cohete_breaker_state", "gauge",
		"1 for the breaker's current state, 0 for the others." };
	static const struct family paused = { "cohete_breaker_paused", "gauge",
		"1 while watched work is paused (tripped or cooling)." };
	static const struct family trips = { "cohete_breaker_trips_total", "counter",
		"Times the breaker paused watched work." };
	static const struct family input = { "cohete_breaker_input_temperature_celsius",
		"gauge", "The breaker's input: tj, else the hottest measured zone." };
	static const struct family eta = { "cohete_breaker_predicted_trip_seconds",
		"gauge", "Time until the trip point at the current trend (only while rising)." };
	static const struct family wl = { "cohete_breaker_workloads", "gauge",
		"Process groups the breaker pauses and resumes." };
	static const enum coh_thermal_guard_state states[] = { COH_THERMAL_GUARD_OK,
		COH_THERMAL_GUARD_WARNING, COH_THERMAL_GUARD_TRIPPED, COH_THERMAL_GUARD_COOLING };
	struct labels l;
	int is_paused = b->state == COH_THERMAL_GUARD_TRIPPED ||
			b->state == COH_THERMAL_GUARD_COOLING;

	if (!b->present)
		return;
	render_policy(p, &b->policy);
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		labels_reset(&l);
		label(&l, "state", coh_thermal_guard_state_name(states[i]));
		emit(p, &state, &l, states[i] == b->state ? "1" : "0");
	}
	emit(p, &paused, NULL, is_paused ? "1" : "0");
	emit(p, &trips, NULL, num_u64(b->trips).s);
	gauge_milli(p, &input, NULL, b->input_mc);
	if (b->predicted)
		emit(p, &eta, NULL, num_scaled((int64_t)b->predicted_trip_ms, 3).s);
	emit(p, &wl, NULL, num_u64(b->workload_count).s);
}

static void render_budget(struct prom *p, const struct coh_agent_budget_view *b)
{
	static const struct family fams[] = {
		{ "cohete_budget_total_bytes", "gauge", "Memory budget: the total." },
		{ "cohete_budget_reserved_bytes", "gauge",
		  "Memory budget: the part never granted (OS, CUDA)." },
		{ "cohete_budget_used_bytes", "gauge", "Memory budget: granted now." },
		{ "cohete_budget_available_bytes", "gauge",
		  "Memory budget: what can still be granted." },
	};
	uint64_t limit = b->total_bytes - b->reserved_bytes;
	const uint64_t v[] = { b->total_bytes, b->reserved_bytes, b->used_bytes,
			       b->used_bytes < limit ? limit - b->used_bytes : 0 };

	if (!b->present)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		emit(p, &fams[f], NULL, num_u64(v[f]).s);
}

static void render_agent(struct prom *p, const struct coh_agent_counters *c)
{
	static const struct family fams[] = {
		{ "cohete_agent_sample_interval_seconds", "gauge",
		  "How often the agent takes a full sample." },
		{ "cohete_agent_samples_total", "counter", "Full samples taken." },
		{ "cohete_agent_sample_failures_total", "counter",
		  "Samples that failed (out of memory)." },
		{ "cohete_agent_scrapes_total", "counter", "GET /metrics requests served." },
		{ "cohete_agent_unauthorized_requests_total", "counter",
		  "Control requests refused for a missing or wrong token." },
		{ "cohete_agent_last_sample_duration_seconds", "gauge",
		  "How long the latest full sample took." },
		{ "cohete_agent_sample_age_seconds", "gauge",
		  "Age of the sample these metrics come from." },
	};

	if (!c->present)
		return;
	emit(p, &fams[0], NULL, num_milli(c->interval_ms).s);
	emit(p, &fams[1], NULL, num_u64(c->samples).s);
	emit(p, &fams[2], NULL, num_u64(c->sample_failures).s);
	emit(p, &fams[3], NULL, num_u64(c->scrapes).s);
	emit(p, &fams[4], NULL, num_u64(c->unauthorized).s);
	emit(p, &fams[5], NULL, num_ns(c->last_sample_ns).s);
	emit(p, &fams[6], NULL, num_ns(c->sample_age_ns).s);
}

/* The inference engines the agent supervises (not the hardware engines). */
static void render_model_engines(struct prom *p, const struct coh_agent_engines_view *v)
{
	static const struct family up = { "cohete_engine_up", "gauge",
		"1 when the model's inference engine answers (ready), 0 otherwise." };
	static const struct family restarts = { "cohete_engine_restarts_total", "counter",
		"Times the model's engine was restarted after it failed." };
	static const struct family rss = { "cohete_engine_rss_bytes", "gauge",
		"Resident memory of the model's engine (its process group)." };
	struct labels l;

	if (!v->present)
		return;
	for (unsigned int i = 0; i < v->count; i++) {
		const struct coh_engine_state *e = &v->engine[i];

		labels_reset(&l);
		label(&l, "model", e->model);
		label(&l, "version", e->version);
		emit(p, &up, &l, e->run == COH_ENGINE_READY ? "1" : "0");
	}
	for (unsigned int i = 0; i < v->count; i++) {
		labels_reset(&l);
		label(&l, "model", v->engine[i].model);
		emit(p, &restarts, &l, num_u64(v->engine[i].restarts).s);
	}
	for (unsigned int i = 0; i < v->count; i++) {
		if (v->engine[i].pid <= 0)
			continue;
		labels_reset(&l);
		label(&l, "model", v->engine[i].model);
		emit(p, &rss, &l, num_u64(v->engine[i].rss_bytes).s);
	}
}

int coh_agent_metrics_render(const struct coh_agent_snapshot *s, char **text,
			     size_t *len)
{
	struct prom p = { 0 };
	int failed;

	*text = NULL;
	*len = 0;
	p.f = open_memstream(text, len);
	if (!p.f)
		return -ENOMEM;
	if (s->status)
		render_status(&p, s->status);
	render_breaker(&p, &s->breaker);
	render_budget(&p, &s->budget);
	render_agent(&p, &s->agent);
	render_model_engines(&p, &s->engines);
	failed = ferror(p.f);
	if (fclose(p.f) != 0 || failed || !*text) {
		free(*text);
		*text = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

/* m°C as a °C decimal (printed with 10 significant digits), or null. */
static json_t *jcelsius(int64_t mc)
{
	return mc == COH_NA ? json_null() : json_real((double)mc / 1000.0);
}

static json_t *workloads_json(const struct coh_agent_breaker_view *b)
{
	json_t *wl = json_array();

	for (unsigned int i = 0; wl && i < b->workload_count && i < COH_AGENT_WORKLOADS_MAX;
	     i++)
		json_array_append_new(wl, json_pack("{s:i}", "pgid", b->workloads[i]));
	return wl;
}

static json_t *breaker_json(const struct coh_agent_breaker_view *b)
{
	const struct coh_thermal_guard_policy *pol = &b->policy;
	json_t *o;

	if (!b->present)
		return json_null();
	o = json_pack("{s:{s:s, s:o, s:o, s:o, s:I}, s:s, s:b, s:o, s:I, s:o, s:o}",
		"policy", "name", pol->name, "trip_celsius", jcelsius(pol->trip_mc),
		"resume_celsius", jcelsius(pol->resume_mc),
		"warning_celsius", jcelsius(pol->warning_mc),
		"check_interval_ms", (json_int_t)pol->check_interval_ms,
		"state", coh_thermal_guard_state_name(b->state),
		"paused", b->state == COH_THERMAL_GUARD_TRIPPED || b->state == COH_THERMAL_GUARD_COOLING,
		"input_temp_celsius", jcelsius(b->input_mc),
		"trip_count", (json_int_t)b->trips,
		"predicted_trip_ms", b->predicted ?
			json_integer((json_int_t)b->predicted_trip_ms) : json_null(),
		"workloads", workloads_json(b));
	return o ? o : json_null();
}

static json_t *budget_json(const struct coh_agent_budget_view *b)
{
	uint64_t limit = b->total_bytes - b->reserved_bytes;
	json_t *o;

	if (!b->present)
		return json_null();
	o = json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"total_bytes", (json_int_t)b->total_bytes,
		"reserved_bytes", (json_int_t)b->reserved_bytes,
		"limit_bytes", (json_int_t)limit,
		"used_bytes", (json_int_t)b->used_bytes,
		"available_bytes", (json_int_t)(b->used_bytes < limit ?
						 limit - b->used_bytes : 0));
	return o ? o : json_null();
}

static json_t *agent_json(const struct coh_agent_counters *c)
{
	json_t *o;

	if (!c->present)
		return json_null();
	/* Whole milliseconds, as every _ms key; /metrics has nanoseconds. */
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"interval_ms", (json_int_t)c->interval_ms,
		"sample_count", (json_int_t)c->samples,
		"sample_failure_count", (json_int_t)c->sample_failures,
		"scrape_count", (json_int_t)c->scrapes,
		"unauthorized_count", (json_int_t)c->unauthorized,
		"last_sample_duration_ms", (json_int_t)((c->last_sample_ns + 500000) / 1000000),
		"sample_age_ms", (json_int_t)(c->sample_age_ns / 1000000));
	return o ? o : json_null();
}

/* One engine: its pid and RSS null when nothing runs, since as a time. */
static json_t *engine_json(const struct coh_engine_state *e)
{
	char since[PEP_RFC3339_SIZE];
	json_t *o;

	if (pep_time_rfc3339(e->since * 1000, since, sizeof(since)) < 0)
		since[0] = '\0';
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:s}",
		"model", e->model, "version", e->version, "which", e->which,
		"state", coh_engine_run_name(e->run),
		"pid", e->pid > 0 ? json_integer(e->pid) : json_null(),
		"port", e->port ? json_integer(e->port) : json_null(),
		"restart_count", (json_int_t)e->restarts,
		"since", since[0] ? json_string(since) : json_null(),
		"rss_bytes", e->pid > 0 ? json_integer((json_int_t)e->rss_bytes) : json_null(),
		"reason", e->reason);
	return o ? o : json_null();
}

static json_t *engines_json(const struct coh_agent_engines_view *v)
{
	json_t *a;

	if (!v->present)
		return json_null();
	a = json_array();
	for (unsigned int i = 0; a && i < v->count && i < COH_AGENT_ENGINES_MAX; i++)
		json_array_append_new(a, engine_json(&v->engine[i]));
	return a ? a : json_null();
}

char *coh_agent_status_json(const struct coh_agent_snapshot *s)
{
	char *status = s->status ? coh_status_json(s->status) : NULL;
	json_t *root;
	char *text;

	if (s->status && !status)
		return NULL;
	root = status ? json_loads(status, 0, NULL) : json_object();
	free(status);
	if (!root)
		return NULL;
	/* The status keys and more: a document of its own, named so (the
	 * sample's "timestamp" stays: the breaker and counters are as recent). */
	json_object_set_new(root, "schema", json_string(COH_AGENT_STATUS_SCHEMA));
	json_object_set_new(root, "breaker", breaker_json(&s->breaker));
	json_object_set_new(root, "budget", budget_json(&s->budget));
	json_object_set_new(root, "agent", agent_json(&s->agent));
	/* "engines" is the hardware's (NVENC, DLA): these are the models'. */
	json_object_set_new(root, "model_engines", engines_json(&s->engines));
	/* As coh_status_json() prints: 47.687, not 47.686999999999998. */
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			  JSON_REAL_PRECISION(10));
	json_decref(root);
	return text;
}
