/*
 * The status sample as JSON (jansson), schema "cohete.status/2": keys are
 * snake_case and every quantity names its unit (_bytes, _mw, _mv, _ma,
 * _mhz, _celsius, _percent, _ms, _s, _rpm). Keys are an interface: add,
 * never rename without a new schema number. Readings the machine lacks are
 * null, never 0. °C, percent and MHz are decimals converted from the
 * integers the kernel reports (m°C, permille, Hz, kHz) and printed with 10
 * significant digits, so the text is the same on every architecture.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pepita/core.h>

#include <cohete/status.h>

#include "internal.h"

static json_t *jint(int64_t v)
{
	return v == COH_NA ? json_null() : json_integer(v);
}

/* value / per as a decimal (m°C to °C, permille to %, Hz to MHz). */
static json_t *jdiv(int64_t v, double per)
{
	return v == COH_NA ? json_null() : json_real((double)v / per);
}

static json_t *jcelsius(int64_t mc)
{
	return jdiv(mc, 1000);
}

static json_t *jpercent(int64_t permille)
{
	return jdiv(permille, 10);
}

static json_t *jmhz_from_hz(int64_t hz)
{
	return jdiv(hz, 1e6);
}

/* The kernel's kB (KiB, as /proc/meminfo means it) as bytes. */
static json_t *jbytes_from_kb(int64_t kb)
{
	return kb == COH_NA ? json_null() : json_integer((json_int_t)kb * 1024);
}

static json_t *jstr(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Set key to value; json_object_set_new() steals the reference. */
static void put(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value ? value : json_null());
}

static json_t *module_json(const struct coh_device *d)
{
	const struct coh_module_spec *m = d->module;
	json_t *o;

	if (!m)
		return json_null();
	o = json_object();
	put(o, "name", jstr(m->name));
	put(o, "pnum", jstr(d->module_pnum));
	put(o, "pnum_source", jstr(d->pnum_source));
	put(o, "gpu_arch", jstr(m->gpu_arch));
	put(o, "cuda_sm", jstr(m->cuda_sm));
	put(o, "cuda_core_count", json_integer(m->cuda_cores));
	put(o, "tensor_core_count", json_integer(m->tensor_cores));
	put(o, "ai_perf", jstr(m->ai_perf));
	put(o, "cpu_core_count", json_integer(m->cpu_cores));
	put(o, "cpu", jstr(m->cpu));
	/* nominal: the "8GB" of the name, which is GiB of DRAM */
	put(o, "ram_bytes", json_integer((json_int_t)m->ram_gb << 30));
	put(o, "power", jstr(m->power));
	return o;
}

static const char *kind_name(enum coh_host_kind kind)
{
	switch (kind) {
	case COH_HOST_JETSON:	return "jetson";
	case COH_HOST_OTHER:	return "other";
	case COH_HOST_UNKNOWN:	return "unknown";
	}
	return "unknown";
}

static json_t *device_json(const struct coh_device *d)
{
	json_t *o = json_object();

	put(o, "kind", json_string(kind_name(d->kind)));
	put(o, "model", jstr(d->model));
	put(o, "vendor", jstr(d->vendor));
	put(o, "hostname", jstr(d->hostname));
	put(o, "soc", jstr(d->soc));
	put(o, "module", module_json(d));
	put(o, "module_pnum", jstr(d->module_pnum));
	put(o, "carrier_pnum", jstr(d->carrier_pnum));
	put(o, "super", json_boolean(d->super));
	put(o, "l4t", jstr(d->l4t));
	put(o, "jetpack", jstr(d->jetpack ? d->jetpack->jetpack : NULL));
	put(o, "ubuntu", jstr(d->jetpack ? d->jetpack->ubuntu : NULL));
	put(o, "serial", jstr(d->serial));
	put(o, "arch", jstr(d->arch));
	put(o, "cpu_model", jstr(d->cpu_model));
	put(o, "cpu_count", d->cpus ? json_integer(d->cpus) : json_null());
	put(o, "mem_total_bytes", d->mem_total_kb ?
	    json_integer((json_int_t)d->mem_total_kb * 1024) : json_null());
	put(o, "kernel", jstr(d->kernel));
	put(o, "compatible", jstr(d->compatible));
	return o;
}

static json_t *memory_json(const struct coh_memory *m)
{
	const struct coh_meminfo *i = &m->info;
	json_t *o = json_object(), *zram = json_array();

	put(o, "total_bytes", jbytes_from_kb(i->total_kb));
	put(o, "available_bytes", jbytes_from_kb(i->available_kb));
	put(o, "free_bytes", jbytes_from_kb(i->free_kb));
	put(o, "buffers_bytes", jbytes_from_kb(i->buffers_kb));
	put(o, "cached_bytes", jbytes_from_kb(i->cached_kb));
	put(o, "swap_total_bytes", jbytes_from_kb(i->swap_total_kb));
	put(o, "swap_free_bytes", jbytes_from_kb(i->swap_free_kb));
	put(o, "nvmap_used_bytes", jbytes_from_kb(i->nvmap_used_kb));
	for (unsigned int k = 0; k < m->zram_count; k++) {
		const struct coh_zram *z = &m->zram[k];
		json_t *zo = json_object();

		put(zo, "name", jstr(z->name));
		put(zo, "algorithm", jstr(z->algorithm));
		put(zo, "disksize_bytes", jint(z->disksize_bytes));
		put(zo, "orig_data_bytes", jint(z->orig_data_bytes));
		put(zo, "compr_data_bytes", jint(z->compr_data_bytes));
		put(zo, "mem_used_bytes", jint(z->mem_used_bytes));
		put(zo, "swap", json_boolean(z->swap));
		json_array_append_new(zram, zo);
	}
	put(o, "zram", zram);
	return o;
}

static json_t *thermal_json(const struct coh_thermal *t)
{
	json_t *o = json_object(), *zones = json_array();

	put(o, "hottest", t->hottest >= 0 ? jstr(t->zones[t->hottest].zone)
					  : json_null());
	for (unsigned int i = 0; i < t->count; i++) {
		const struct coh_thermal_zone *z = &t->zones[i];
		json_t *zo = json_object();

		put(zo, "zone", jstr(z->zone));
		put(zo, "type", jstr(z->type));
		put(zo, "name", jstr(z->name));
		put(zo, "temp_celsius", jcelsius(z->temp_mc));
		put(zo, "state", json_string(coh_zone_state_name(z->state)));
		json_array_append_new(zones, zo);
	}
	put(o, "zones", zones);
	return o;
}

static json_t *cpu_json(const struct coh_cpu *c, uint64_t window_ms)
{
	json_t *o = json_object(), *cores = json_array();

	put(o, "load_percent", jpercent(c->load_permille));
	put(o, "load_window_ms", json_integer((json_int_t)window_ms));
	for (unsigned int i = 0; i < c->count; i++) {
		const struct coh_cpu_core *k = &c->core[i];
		json_t *ko = json_object();

		put(ko, "id", json_integer(k->id));
		put(ko, "online", json_boolean(k->online));
		put(ko, "load_percent", jpercent(k->load_permille));
		put(ko, "cur_mhz", jdiv(k->cur_khz, 1000));
		put(ko, "max_mhz", jdiv(k->max_khz, 1000));
		json_array_append_new(cores, ko);
	}
	put(o, "cores", cores);
	return o;
}

static json_t *gpu_json(const struct coh_gpu *g)
{
	json_t *o;

	if (!g->present)
		return json_null();
	o = json_object();
	put(o, "name", jstr(g->name));
	put(o, "load_percent", jpercent(g->load_permille));
	put(o, "cur_mhz", jmhz_from_hz(g->cur_hz));
	put(o, "min_mhz", jmhz_from_hz(g->min_hz));
	put(o, "max_mhz", jmhz_from_hz(g->max_hz));
	put(o, "governor", jstr(g->governor));
	return o;
}

static json_t *emc_json(const struct coh_emc *e)
{
	json_t *o;

	if (!e->present)
		return json_null();
	o = json_object();
	put(o, "load_percent", jpercent(e->load_permille));
	put(o, "cur_mhz", jmhz_from_hz(e->cur_hz));
	put(o, "min_mhz", jmhz_from_hz(e->min_hz));
	put(o, "max_mhz", jmhz_from_hz(e->max_hz));
	put(o, "cap_mhz", jmhz_from_hz(e->cap_hz));
	return o;
}

/* null when the clock tree could not be read: "needs root", not "none" */
static json_t *engines_json(const struct coh_engines *en)
{
	json_t *a;

	if (!en->readable)
		return json_null();
	a = json_array();
	for (unsigned int i = 0; i < en->count; i++) {
		const struct coh_engine *e = &en->engine[i];
		json_t *eo = json_object();

		put(eo, "name", jstr(e->name));
		put(eo, "on", json_boolean(e->on));
		put(eo, "cur_mhz", jmhz_from_hz(e->cur_hz));
		put(eo, "min_mhz", jmhz_from_hz(e->min_hz));
		put(eo, "max_mhz", jmhz_from_hz(e->max_hz));
		json_array_append_new(a, eo);
	}
	return a;
}

static json_t *power_json(const struct coh_rails *r,
			  const struct coh_power_mode *mode)
{
	json_t *o = json_object(), *rails = json_array(), *mo = json_null();

	for (unsigned int i = 0; i < r->count; i++) {
		const struct coh_rail *rail = &r->rail[i];
		json_t *ro = json_object();

		put(ro, "name", jstr(rail->name));
		put(ro, "device", jstr(rail->device));
		put(ro, "voltage_mv", jint(rail->voltage_mv));
		put(ro, "current_ma", jint(rail->current_ma));
		put(ro, "power_mw", jint(rail->power_mw));
		json_array_append_new(rails, ro);
	}
	put(o, "rails", rails);
	put(o, "total_mw", jint(r->total_mw));
	put(o, "total_kind", json_string(coh_total_kind_name(r->total_kind)));
	put(o, "total_rail", jstr(r->total_rail));
	if (mode->id != COH_NA) {
		mo = json_object();
		put(mo, "id", json_integer(mode->id));
		put(mo, "name", jstr(mode->name));
	}
	put(o, "mode", mo);
	return o;
}

static json_t *fan_json(const struct coh_fan *f)
{
	json_t *o;

	if (!f->present)
		return json_null();
	o = json_object();
	put(o, "source", jstr(f->source));
	put(o, "pwm", jint(f->pwm));
	/* to a tenth, as the text shows it: 128 is 50.2 % */
	put(o, "pwm_percent", f->pwm == COH_NA ? json_null() :
	    json_real((double)((f->pwm * 1000 + 127) / 255) / 10));
	put(o, "speed_rpm", jint(f->rpm));
	return o;
}

static json_t *notes_json(const struct coh_notes *n)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < n->count; i++) {
		json_t *no = json_object();

		put(no, "field", jstr(n->note[i].field));
		put(no, "reason", jstr(n->note[i].reason));
		json_array_append_new(a, no);
	}
	return a;
}

/* RFC 3339 UTC with milliseconds; null for a sample without a time. */
static json_t *timestamp_json(int64_t time_ms)
{
	char text[PEP_RFC3339_SIZE];

	if (time_ms <= 0 || pep_time_rfc3339(time_ms, text, sizeof(text)) < 0)
		return json_null();
	return json_string(text);
}

char *coh_status_json(const struct coh_status *st)
{
	json_t *root = json_object();
	char *text;

	if (!root)
		return NULL;
	put(root, "schema", json_string(COH_STATUS_SCHEMA));
	put(root, "timestamp", timestamp_json(st->time_ms));
	put(root, "device", device_json(&st->device));
	put(root, "uptime_s", jint(st->uptime_s));
	put(root, "memory", memory_json(&st->memory));
	put(root, "thermal", thermal_json(&st->thermal));
	put(root, "cpu", cpu_json(&st->cpu, st->window_ms));
	put(root, "gpu", gpu_json(&st->gpu));
	put(root, "emc", emc_json(&st->emc));
	put(root, "engines", engines_json(&st->engines));
	put(root, "power", power_json(&st->rails, &st->mode));
	put(root, "fan", fan_json(&st->fan));
	put(root, "unavailable", notes_json(&st->notes));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			  JSON_REAL_PRECISION(10));
	json_decref(root);
	return text;
}
