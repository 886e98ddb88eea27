/*
 * tegrastats line parser. Every value tegrastats prints also exists in
 * sysfs, so this is the fallback and the way to ingest existing logs; it
 * must take every release's format (tests/fixtures/tegrastats holds real
 * lines from R24 to R39) and never trust the order of fields.
 *
 * The line is split on spaces and each token is recognised by its own
 * grammar. Names collide, so the token after a name decides: "CPU [..]" is
 * the core list, "CPU@40C" a temperature, "CPU 465/465" a rail.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pepita/core.h>

#include <cohete/thermal.h>

#include "internal.h"

#define TOKENS_MAX 256

struct cursor {
	char *tok[TOKENS_MAX];
	int count;
	int i;
};

/* Digits at *s into *v; advances *s. At most 18 digits (no overflow). */
static int take_uint(const char **s, int64_t *v)
{
	const char *p = *s;
	int64_t n = 0;
	int digits = 0;

	while (isdigit((unsigned char)*p) && digits < 18) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || isdigit((unsigned char)*p))
		return -1;
	*v = n;
	*s = p;
	return 0;
}

/* "-52.968" -> -52968 (thousandths); more decimals are cut. */
static int take_milli(const char **s, int64_t *v)
{
	const char *p = *s;
	int neg = *p == '-';
	int64_t whole, frac = 0;
	int places = 0;

	p += neg;
	/* No sensor reads a million degrees; the bound keeps *1000 in range. */
	if (take_uint(&p, &whole) < 0 || whole > 1000000)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (places < 3) {
				frac = frac * 10 + (*p - '0');
				places++;
			}
			p++;
		}
	}
	while (places++ < 3)
		frac *= 10;
	*v = (whole * 1000 + frac) * (neg ? -1 : 1);
	*s = p;
	return 0;
}

static int take_lit(const char **s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*s, lit, n))
		return -1;
	*s += n;
	return 0;
}

/* "u/tUNIT" with a fixed unit: "4321/62801MB". Rest of text at *s. */
static int parse_pair(const char **s, const char *unit, int64_t *a, int64_t *b)
{
	return take_uint(s, a) || take_lit(s, "/") || take_uint(s, b) ||
	       take_lit(s, unit) ? -1 : 0;
}

static const char *peek(const struct cursor *c, int ahead)
{
	int k = c->i + ahead;

	return k < c->count ? c->tok[k] : NULL;
}

static int is_date(const char *t)
{
	return t && strlen(t) == 10 && t[2] == '-' && t[5] == '-' &&
	       strspn(t, "0123456789-") == 10;
}

static int is_time(const char *t)
{
	return t && strlen(t) == 8 && t[2] == ':' && t[5] == ':' &&
	       strspn(t, "0123456789:") == 8;
}

static void add_unknown(struct coh_tegrastats *ts, const char *token)
{
	if (ts->unknown_count < COH_TS_ITEMS_MAX)
		coh__strlcpy(ts->unknown[ts->unknown_count++].name, token,
			     sizeof(ts->unknown[0].name));
}

/* RAM 4321/62801MB (lfb 1759x4MB) */
static int parse_ram(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *s = peek(c, 1), *l = peek(c, 3);
	int64_t size;

	if (!s || parse_pair(&s, "MB", &ts->ram_used_mb, &ts->ram_total_mb) || *s)
		return -1;
	c->i += 2;
	if (!peek(c, 0) || strcmp(peek(c, 0), "(lfb") || !l)
		return 0;
	if (take_uint(&l, &ts->lfb_count) || take_lit(&l, "x") ||
	    take_uint(&l, &size))
		return 0;
	if (!take_lit(&l, "MB)"))
		ts->lfb_size_kb = size * 1024;
	else if (!take_lit(&l, "kB)"))
		ts->lfb_size_kb = size;
	else
		return 0;
	c->i += 2;
	return 0;
}

/* SWAP 19/31400MB (cached 0MB), or "...MB(cached 0MB)", or no cached part */
static int parse_swap(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *s = peek(c, 1), *cached;

	if (!s || parse_pair(&s, "MB", &ts->swap_used_mb, &ts->swap_total_mb))
		return -1;
	if (*s && strcmp(s, "(cached"))
		return -1;
	c->i += 2;
	if (!*s && (!peek(c, 0) || strcmp(peek(c, 0), "(cached")))
		return 0;
	if (!*s)
		c->i++;
	cached = peek(c, 0);
	if (cached && !take_uint(&cached, &ts->swap_cached_mb) &&
	    !take_lit(&cached, "MB)"))
		c->i++;
	return 0;
}

/* IRAM 0/252kB(lfb 252kB) */
static int parse_iram(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *s = peek(c, 1), *l = peek(c, 2);

	if (!s || parse_pair(&s, "kB", &ts->iram_used_kb, &ts->iram_total_kb))
		return -1;
	c->i += 2;
	if (!strcmp(s, "(lfb") && l && !take_uint(&l, &ts->iram_lfb_kb) &&
	    !take_lit(&l, "kB)"))
		c->i++;
	return 0;
}

/* One core: "23%@2201", "off", or "9%" (old all-core clock form). */
static int parse_core(const char *item, size_t len, struct coh_ts_cpu *cpu)
{
	const char *s = item;

	cpu->load_pct = cpu->freq_mhz = COH_NA;
	if (len == 3 && !strncmp(item, "off", 3)) {
		cpu->online = 0;
		return 0;
	}
	cpu->online = 1;
	if (take_uint(&s, &cpu->load_pct) || take_lit(&s, "%"))
		return -1;
	if (s < item + len && (take_lit(&s, "@") || take_uint(&s, &cpu->freq_mhz)))
		return -1;
	return s == item + len ? 0 : -1;
}

/* CPU [23%@2201,off,...] or the old TX1 "CPU [1%,2%]@102" */
static int parse_cpu(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *s = peek(c, 1), *end, *at;
	int64_t all_mhz = COH_NA;

	if (!s || *s != '[' || !(end = strchr(s, ']')))
		return -1;
	at = end + 1;
	if (*at && (take_lit(&at, "@") || take_uint(&at, &all_mhz) || *at))
		return -1;
	for (s++; s < end && ts->cpu_count < COH_TS_CPUS_MAX;) {
		size_t len = strcspn(s, ",]");
		struct coh_ts_cpu *cpu = &ts->cpu[ts->cpu_count];

		if (parse_core(s, len, cpu) < 0)
			return -1;
		if (cpu->online && cpu->freq_mhz == COH_NA)
			cpu->freq_mhz = all_mhz;
		ts->cpu_count++;
		s += len + (s[len] == ',');
	}
	c->i += 2;
	return 0;
}

/* "12%@[1300,1300]", "0%@[0,0]", "@[314,314]", "53%@140", "4%", "@2133" */
static int parse_load_freq(const char *s, int64_t *load, int64_t *freq,
			   int64_t *gpcs, unsigned int *gpc_count)
{
	if (*s != '@' && (take_uint(&s, load) || take_lit(&s, "%")))
		return -1;
	if (!*s)
		return 0;
	if (take_lit(&s, "@"))
		return -1;
	if (*s != '[')
		return take_uint(&s, freq) || *s ? -1 : 0;
	if (!gpcs)
		return -1;
	for (s++; *s != ']';) {
		int64_t f;

		if (take_uint(&s, &f))
			return -1;
		if (*gpc_count < COH_TS_GPCS_MAX)
			gpcs[(*gpc_count)++] = f;
		if (*s == ',')
			s++;
		else if (*s != ']')
			return -1;
	}
	return s[1] ? -1 : 0;
}

static int parse_gpu(struct cursor *c, struct coh_tegrastats *ts, int second)
{
	const char *v = peek(c, 1);
	int64_t freq = COH_NA;
	int ret;

	if (!v)
		return -1;
	if (second)
		ret = parse_load_freq(v, &ts->gpu2_load_pct, &ts->gpu2_freq_mhz,
				      NULL, NULL);
	else
		ret = parse_load_freq(v, &ts->gpu_load_pct, &freq,
				      ts->gpc_freq_mhz, &ts->gpc_count);
	if (ret < 0)
		return -1;
	if (!second && freq != COH_NA && ts->gpc_count < COH_TS_GPCS_MAX)
		ts->gpc_freq_mhz[ts->gpc_count++] = freq;
	c->i += 2;
	return 0;
}

static int parse_emc(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *v = peek(c, 1);

	if (!v || parse_load_freq(v, &ts->emc_load_pct, &ts->emc_freq_mhz,
				  NULL, NULL) < 0)
		return -1;
	c->i += 2;
	return 0;
}

static int parse_number_field(struct cursor *c, int64_t *out)
{
	const char *v = peek(c, 1);

	if (!v || take_uint(&v, out) || *v)
		return -1;
	c->i += 2;
	return 0;
}

/* MTS fg 0% bg 0% */
static int parse_mts(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *fg = peek(c, 2), *bg = peek(c, 4);

	if (!fg || !bg || strcmp(peek(c, 1), "fg") || strcmp(peek(c, 3), "bg") ||
	    take_uint(&fg, &ts->mts_fg_pct) || take_lit(&fg, "%") || *fg ||
	    take_uint(&bg, &ts->mts_bg_pct) || take_lit(&bg, "%") || *bg)
		return -1;
	c->i += 5;
	return 0;
}

/* name@52.968C, name@-256C, name@52.968C/53.5C (JetPack 7.2 cur/max) */
static int parse_temp(const char *tok, struct coh_tegrastats *ts)
{
	const char *at = strchr(tok, '@'), *s;
	struct coh_ts_temp t = { .max_mc = COH_NA };
	size_t nlen = (size_t)(at - tok);

	if (!nlen || nlen >= sizeof(t.name) || ts->temp_count == COH_TS_ITEMS_MAX)
		return -1;
	s = at + 1;
	if (take_milli(&s, &t.temp_mc) || take_lit(&s, "C"))
		return -1;
	if (*s && (take_lit(&s, "/") || take_milli(&s, &t.max_mc) ||
		   take_lit(&s, "C") || *s))
		return -1;
	memcpy(t.name, tok, nlen);
	t.name[nlen] = '\0';
	if (t.temp_mc <= COH_TEMP_OFF_MC) {
		t.offline = 1;
		t.temp_mc = COH_NA;
	}
	t.placeholder = !strncmp(t.name, "PMIC", 4);
	ts->temp[ts->temp_count++] = t;
	return 0;
}

/* A rail value: "5297/5297", "6090mW/6105mW", "598mW/598", "a/b/c" (7.2). */
static int parse_rail_value(const char *s, struct coh_ts_rail *r)
{
	int64_t *slots[3] = { &r->cur_mw, &r->avg_mw, &r->max_mw };
	int n;

	r->max_mw = COH_NA;
	for (n = 0; n < 3; n++) {
		if (take_uint(&s, slots[n]))
			return -1;
		if (!take_lit(&s, "mW"))
			r->unit = 1;
		if (!*s)
			break;
		if (take_lit(&s, "/"))
			return -1;
	}
	return n >= 1 && n < 3 ? 0 : -1;
}

/* Engine values: "off", "716", "79%@166", "@0", "59%@423". */
static int parse_engine_value(const char *s, struct coh_ts_engine *e)
{
	e->load_pct = e->freq_mhz = COH_NA;
	if (!strcmp(s, "off")) {
		e->off = 1;
		return 0;
	}
	if (isdigit((unsigned char)*s) && !strchr(s, '%'))
		return take_uint(&s, &e->freq_mhz) || *s ? -1 : 0;
	return parse_load_freq(s, &e->load_pct, &e->freq_mhz, NULL, NULL);
}

static int is_name(const char *tok)
{
	size_t n = strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	return n > 0 && !tok[n] && isupper((unsigned char)tok[0]);
}

/* NAME value: a rail when the value has a '/', else an engine. */
static int parse_named(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *name = peek(c, 0), *v = peek(c, 1);
	struct coh_ts_rail r = { 0 };
	struct coh_ts_engine e = { 0 };

	if (!v || !is_name(name))
		return -1;
	if (strchr(v, '/') && !parse_rail_value(v, &r)) {
		if (ts->rail_count == COH_TS_ITEMS_MAX)
			return -1;
		coh__strlcpy(r.name, name, sizeof(r.name));
		ts->rail[ts->rail_count++] = r;
	} else if (!parse_engine_value(v, &e)) {
		if (ts->engine_count == COH_TS_ITEMS_MAX)
			return -1;
		coh__strlcpy(e.name, name, sizeof(e.name));
		ts->engine[ts->engine_count++] = e;
	} else {
		return -1;
	}
	c->i += 2;
	return 0;
}

static int parse_field(struct cursor *c, struct coh_tegrastats *ts)
{
	const char *t = peek(c, 0);

	if (!strcmp(t, "RAM"))
		return parse_ram(c, ts);
	if (!strcmp(t, "SWAP"))
		return parse_swap(c, ts);
	if (!strcmp(t, "IRAM"))
		return parse_iram(c, ts);
	if (!strcmp(t, "CPU") && peek(c, 1) && peek(c, 1)[0] == '[')
		return parse_cpu(c, ts);
	if (!strcmp(t, "EMC_FREQ"))
		return parse_emc(c, ts);
	if (!strcmp(t, "GR3D_FREQ") || !strcmp(t, "GR3D2_FREQ"))
		return parse_gpu(c, ts, t[4] == '2');
	if (!strcmp(t, "APE"))
		return parse_number_field(c, &ts->ape_mhz);
	if (!strcmp(t, "MTS"))
		return parse_mts(c, ts);
	if (strchr(t, '@')) {
		if (parse_temp(t, ts) < 0)
			return -1;
		c->i++;
		return 0;
	}
	return parse_named(c, ts);
}

static void reset(struct coh_tegrastats *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->ram_used_mb = ts->ram_total_mb = COH_NA;
	ts->lfb_count = ts->lfb_size_kb = COH_NA;
	ts->swap_used_mb = ts->swap_total_mb = ts->swap_cached_mb = COH_NA;
	ts->iram_used_kb = ts->iram_total_kb = ts->iram_lfb_kb = COH_NA;
	ts->emc_load_pct = ts->emc_freq_mhz = COH_NA;
	ts->gpu_load_pct = ts->gpu2_load_pct = ts->gpu2_freq_mhz = COH_NA;
	ts->ape_mhz = ts->mts_fg_pct = ts->mts_bg_pct = COH_NA;
}

static int split(char *line, struct cursor *c)
{
	char *save = NULL;

	c->count = 0;
	c->i = 0;
	for (char *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (c->count == TOKENS_MAX)
			return -1;
		c->tok[c->count++] = t;
	}
	return 0;
}

int coh_tegrastats_parse(const char *line, struct coh_tegrastats *ts,
			 struct pep_err *err)
{
	struct cursor c;
	unsigned int known = 0;
	char *copy = strdup(line);

	reset(ts);
	if (!copy)
		return pep_err_set(err, -ENOMEM, "tegrastats: out of memory");
	if (split(copy, &c) < 0) {
		free(copy);
		return pep_err_set(err, -EINVAL, "tegrastats: more than %d tokens",
				   TOKENS_MAX);
	}
	if (is_date(peek(&c, 0)) && is_time(peek(&c, 1))) {
		snprintf(ts->timestamp, sizeof(ts->timestamp), "%s %s", c.tok[0],
			 c.tok[1]);
		c.i = 2;
	}
	while (c.i < c.count) {
		int at = c.i;

		if (parse_field(&c, ts) == 0) {
			known++;
			continue;
		}
		/* Keep what we do not know; go on with the next token. */
		c.i = at + 1;
		add_unknown(ts, c.tok[at]);
	}
	free(copy);
	if (!known && c.count)
		return pep_err_set(err, -EINVAL,
				   "tegrastats: no known field in '%.40s'", line);
	return 0;
}

/* JSON ---------------------------------------------------------------- */

/*
 * Schema "cohete.tegrastats/2": units in the keys, as in `cohete status
 * --json`. tegrastats prints MB and kB meaning MiB and KiB, so bytes are
 * exact; its percentages and MHz are whole numbers and stay integers; °C
 * are decimals.
 */

static json_t *jint(int64_t v)
{
	return v == COH_NA ? json_null() : json_integer(v);
}

/* m°C as °C, a decimal. */
static json_t *jreal(int64_t v, double div)
{
	return v == COH_NA ? json_null() : json_real((double)v / div);
}

/* MiB or KiB (unit 1 << 20 or 1 << 10) as bytes; null when the line
 * claims more than int64 bytes holds (a corrupt line, not a machine). */
static json_t *jbytes(int64_t v, int64_t unit)
{
	int64_t bytes;

	if (v == COH_NA || __builtin_mul_overflow(v, unit, &bytes))
		return json_null();
	return json_integer(bytes);
}

static json_t *obj_or_null(json_t *o, int any)
{
	if (any)
		return o;
	json_decref(o);
	return json_null();
}

static json_t *cpus_json(const struct coh_tegrastats *ts)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < ts->cpu_count; i++)
		json_array_append_new(a, json_pack("{s:b, s:o, s:o}", "online",
			ts->cpu[i].online, "load_percent",
			jint(ts->cpu[i].load_pct), "freq_mhz",
			jint(ts->cpu[i].freq_mhz)));
	return a;
}

static json_t *gpu_json(const struct coh_tegrastats *ts)
{
	json_t *freqs, *gpc2;

	if (ts->gpu_load_pct == COH_NA && !ts->gpc_count)
		return json_null();
	freqs = json_array();
	for (unsigned int i = 0; i < ts->gpc_count; i++)
		json_array_append_new(freqs, jint(ts->gpc_freq_mhz[i]));
	gpc2 = obj_or_null(json_pack("{s:o, s:o}", "load_percent",
				     jint(ts->gpu2_load_pct), "freq_mhz",
				     jint(ts->gpu2_freq_mhz)),
			   ts->gpu2_load_pct != COH_NA || ts->gpu2_freq_mhz != COH_NA);
	return json_pack("{s:o, s:o, s:o}", "load_percent",
			 jint(ts->gpu_load_pct), "gpc_freq_mhz", freqs,
			 "gpc2", gpc2);
}

static json_t *temps_json(const struct coh_tegrastats *ts)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < ts->temp_count; i++) {
		const struct coh_ts_temp *t = &ts->temp[i];

		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:b, s:b}",
			"name", t->name, "temp_celsius", jreal(t->temp_mc, 1000),
			"max_celsius", jreal(t->max_mc, 1000), "offline",
			t->offline, "placeholder", t->placeholder));
	}
	return a;
}

static json_t *rails_json(const struct coh_tegrastats *ts)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < ts->rail_count; i++) {
		const struct coh_ts_rail *r = &ts->rail[i];

		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o, s:b}",
			"name", r->name, "cur_mw", jint(r->cur_mw), "avg_mw",
			jint(r->avg_mw), "max_mw", jint(r->max_mw),
			"unit_printed", r->unit));
	}
	return a;
}

static json_t *engines_json(const struct coh_tegrastats *ts)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < ts->engine_count; i++) {
		const struct coh_ts_engine *e = &ts->engine[i];

		json_array_append_new(a, json_pack("{s:s, s:b, s:o, s:o}", "name",
			e->name, "off", e->off, "load_percent",
			jint(e->load_pct), "freq_mhz", jint(e->freq_mhz)));
	}
	return a;
}

static json_t *unknown_json(const struct coh_tegrastats *ts)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < ts->unknown_count; i++)
		json_array_append_new(a, json_string(ts->unknown[i].name));
	return a;
}

static json_t *ram_json(const struct coh_tegrastats *ts)
{
	if (ts->ram_total_mb == COH_NA)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o}",
			 "used_bytes", jbytes(ts->ram_used_mb, 1 << 20),
			 "total_bytes", jbytes(ts->ram_total_mb, 1 << 20),
			 "lfb_count", jint(ts->lfb_count),
			 "lfb_size_bytes", jbytes(ts->lfb_size_kb, 1 << 10));
}

static json_t *swap_json(const struct coh_tegrastats *ts)
{
	return obj_or_null(json_pack("{s:o, s:o, s:o}",
			"used_bytes", jbytes(ts->swap_used_mb, 1 << 20),
			"total_bytes", jbytes(ts->swap_total_mb, 1 << 20),
			"cached_bytes", jbytes(ts->swap_cached_mb, 1 << 20)),
		ts->swap_used_mb != COH_NA || ts->swap_total_mb != COH_NA ||
		ts->swap_cached_mb != COH_NA);
}

static json_t *iram_json(const struct coh_tegrastats *ts)
{
	return obj_or_null(json_pack("{s:o, s:o, s:o}",
			"used_bytes", jbytes(ts->iram_used_kb, 1 << 10),
			"total_bytes", jbytes(ts->iram_total_kb, 1 << 10),
			"lfb_bytes", jbytes(ts->iram_lfb_kb, 1 << 10)),
		ts->iram_used_kb != COH_NA || ts->iram_total_kb != COH_NA ||
		ts->iram_lfb_kb != COH_NA);
}

/* "MM-DD-YYYY HH:MM:SS" as ISO 8601 without a zone: the device's local time. */
static json_t *local_time_json(const char *printed)
{
	char iso[24];

	if (strlen(printed) != 19)
		return json_null();
	snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.8s", printed + 6, printed,
		 printed + 3, printed + 11);
	return json_string(iso);
}

static json_t *timestamp_json(int64_t time_ms)
{
	char text[PEP_RFC3339_SIZE];

	if (time_ms <= 0 || pep_time_rfc3339(time_ms, text, sizeof(text)) < 0)
		return json_null();
	return json_string(text);
}

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v ? v : json_null());
}

char *coh_tegrastats_json(const struct coh_tegrastats *ts)
{
	json_t *o = json_object();
	char *text;

	if (!o)
		return NULL;
	set(o, "schema", json_string(COH_TEGRASTATS_SCHEMA));
	set(o, "timestamp", timestamp_json(ts->time_ms));
	set(o, "local_time", local_time_json(ts->timestamp));
	set(o, "ram", ram_json(ts));
	set(o, "swap", swap_json(ts));
	set(o, "iram", iram_json(ts));
	set(o, "cpu", cpus_json(ts));
	set(o, "emc", obj_or_null(json_pack("{s:o, s:o}", "load_percent",
			jint(ts->emc_load_pct), "freq_mhz",
			jint(ts->emc_freq_mhz)),
		ts->emc_load_pct != COH_NA || ts->emc_freq_mhz != COH_NA));
	set(o, "gpu", gpu_json(ts));
	set(o, "ape_freq_mhz", jint(ts->ape_mhz));
	set(o, "mts", obj_or_null(json_pack("{s:o, s:o}", "fg_percent",
			jint(ts->mts_fg_pct), "bg_percent",
			jint(ts->mts_bg_pct)),
		ts->mts_fg_pct != COH_NA || ts->mts_bg_pct != COH_NA));
	set(o, "engines", engines_json(ts));
	set(o, "temps", temps_json(ts));
	set(o, "rails", rails_json(ts));
	set(o, "unknown", unknown_json(ts));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
			  JSON_REAL_PRECISION(10));
	json_decref(o);
	return text;
}
