/*
 * The text of `jetson_clocks --show`, parsed into struct coh_clocks. Pure:
 * nothing here runs the program (clocks.c does), so the fuzzer and the
 * captured outputs of every release reach all of it.
 *
 * The --show format drifted over the releases (L4T R28 to R38): "Online="
 * came in R32 and left again in R36.4, R28/R32 print "Fan: speed=" /
 * "Fan: PWM=", R35 "FAN Dynamic Speed control=active hwmon2_pwm1=55", R36
 * "... Control=kernel ..." plus "Active GPU TPCs: 4", R35 added engine
 * lines ("DLA0_CORE:   Online=1 MinFreq=0 MaxFreq=..."), Thor names its
 * GPU domains ("gpu-gpc-0 MinFreq=..."), and systemctl warnings end up in
 * the middle. So the parser splits each line into words and KEY=value
 * pairs, recognises lines by their first words, treats any other line with
 * a MaxFreq= as an engine, and counts the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cohete/power.h>

#include "internal.h"
#include "clocks_priv.h"

#define LINE_LEN_MAX 1024
#define WORDS_MAX 48

/* One line of --show, split into words in place. */
struct show_line {
	unsigned int no;		/* from 1 */
	unsigned int count;
	char *word[WORDS_MAX];
};

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void split_words(char *s, struct show_line *l)
{
	l->count = 0;
	while (*s && l->count < WORDS_MAX) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		l->word[l->count++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* "KEY=value" -> value when the word's key is key; else NULL. */
static const char *value_of(const char *word, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(word, key, n) && word[n] == '=' ? word + n + 1 : NULL;
}

/*
 * A number as jetson_clocks prints it: "" (cat failed) is COH_NA, and so
 * is a value past INT64_MAX (debugfs prints 2^64 - 1 for "no cap").
 */
static int parse_number(const char *v, int64_t *out)
{
	const char *p = v + (*v == '-');
	char *end;
	long long n;

	*out = COH_NA;
	if (!*v)
		return 0;
	if (!*p)
		return -EINVAL;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != ERANGE)
		*out = n;
	return 0;
}

static int set_number(const struct show_line *l, const char *what,
		      const char *key, const char *v, int64_t *out,
		      struct pep_err *err)
{
	if (parse_number(v, out) < 0)
		return pep_err_set(err, -EINVAL, "line %u: %s: %s=%.32s is not a number",
				   l->no, what, key, v);
	return 0;
}

static int set_flag(const struct show_line *l, const char *what,
		    const char *key, const char *v, int *out,
		    struct pep_err *err)
{
	int64_t n;
	int ret = set_number(l, what, key, v, &n, err);

	if (ret == 0)
		*out = n == COH_NA ? -1 : n != 0;
	return ret;
}

/* "SOC family:tegra234  Machine:Jetson AGX Orin" */
static int parse_soc(char *s, struct coh_clocks *out)
{
	char *machine = strstr(s, "Machine:");
	char *family = s + strlen("SOC family:");

	if (machine) {
		machine += strlen("Machine:");
		while (isspace((unsigned char)*machine))
			machine++;
		coh__strlcpy(out->machine, machine, sizeof(out->machine));
	}
	while (isspace((unsigned char)*family))
		family++;
	family[strcspn(family, " \t")] = '\0';
	coh__strlcpy(out->soc_family, family, sizeof(out->soc_family));
	return 1;
}

/* The text after "Label:", trimmed. */
static char *after_label(char *s, const char *label)
{
	s += strlen(label);
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* "Online CPUs: 0-5" or, from R36.4, "Online CPUs: 0-5, Offline CPUs: 6-7" */
static int parse_online(char *s, struct coh_clocks *out)
{
	char *list = after_label(s, "Online CPUs:");
	size_t n;

	list[strcspn(list, " \t")] = '\0';
	n = strlen(list);
	if (n && list[n - 1] == ',')
		list[n - 1] = '\0';
	coh__strlcpy(out->online_cpus, list, sizeof(out->online_cpus));
	out->online_cpu_count = coh__count_cpu_list(out->online_cpus);
	return 1;
}

static int parse_tpcs(const struct show_line *l, char *s, struct coh_clocks *out,
		      struct pep_err *err)
{
	char *v = after_label(s, "Active GPU TPCs:");

	if (parse_number(v, &out->gpu_tpcs) < 0)
		return pep_err_set(err, -EINVAL,
				   "line %u: Active GPU TPCs: '%.32s' is not a number", l->no, v);
	return 1;
}

/* "cpu12:" -> 12; -1 when the word is not "cpuN:". */
static long cpu_id(const char *word)
{
	const char *p = word + 3;
	long id = 0;

	if (strncmp(word, "cpu", 3) || !isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p) && id < 100000; p++)
		id = id * 10 + (*p - '0');
	return *p == ':' && !p[1] ? id : -1;
}

static int cpu_field(const struct show_line *l, struct coh_clocks_cpu *cpu,
		     const char *word, struct pep_err *err)
{
	static const char *const freq_keys[] = { "MinFreq", "MaxFreq", "CurrentFreq" };
	int64_t *freqs[] = { &cpu->min_khz, &cpu->max_khz, &cpu->cur_khz };
	char what[16];
	const char *v;

	snprintf(what, sizeof(what), "cpu%u", cpu->id);
	if ((v = value_of(word, "Online")))
		return set_flag(l, what, "Online", v, &cpu->online, err);
	/* R24 (TX1) printed "Gonvernor=". */
	if ((v = value_of(word, "Governor")) || (v = value_of(word, "Gonvernor"))) {
		coh__strlcpy(cpu->governor, v, sizeof(cpu->governor));
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(freq_keys); i++)
		if ((v = value_of(word, freq_keys[i])))
			return set_number(l, what, freq_keys[i], v, freqs[i], err);
	return 0;
}

/* "WFI=1" after "IdleStates:"; 1 = enabled, 0 = disabled by jetson_clocks. */
static int cpu_idle(const struct show_line *l, struct coh_clocks_cpu *cpu,
		    char *word, struct pep_err *err)
{
	char *eq = strchr(word, '=');
	struct coh_clocks_idle *idle;
	int64_t n;

	if (!eq || cpu->idle_count == COH_CLOCKS_IDLE_MAX)
		return 0;
	*eq = '\0';
	if (parse_number(eq + 1, &n) < 0)
		return pep_err_set(err, -EINVAL,
				   "line %u: cpu%u: idle state %.16s=%.16s is not a number",
				   l->no, cpu->id, word, eq + 1);
	idle = &cpu->idle[cpu->idle_count++];
	coh__strlcpy(idle->name, word, sizeof(idle->name));
	idle->enabled = n == COH_NA ? -1 : n != 0;
	return 0;
}

static int parse_cpu(const struct show_line *l, long id, struct coh_clocks *out,
		     struct pep_err *err)
{
	struct coh_clocks_cpu *cpu;
	int idle = 0, ret = 0;

	if (coh_clocks_cpu_find(out, (unsigned int)id))
		return pep_err_set(err, -EINVAL, "line %u: cpu%ld is listed twice", l->no, id);
	if (out->cpu_count == COH_CLOCKS_CPUS_MAX)
		return pep_err_set(err, -EINVAL, "line %u: more than %d CPUs", l->no,
				   COH_CLOCKS_CPUS_MAX);
	cpu = &out->cpu[out->cpu_count++];
	memset(cpu, 0, sizeof(*cpu));
	cpu->id = (unsigned int)id;
	cpu->online = -1;
	cpu->min_khz = cpu->max_khz = cpu->cur_khz = COH_NA;
	for (unsigned int i = 1; i < l->count && ret == 0; i++) {
		if (!strcmp(l->word[i], "IdleStates:"))
			idle = 1;
		else if (idle)
			ret = cpu_idle(l, cpu, l->word[i], err);
		else
			ret = cpu_field(l, cpu, l->word[i], err);
	}
	return ret < 0 ? ret : 1;
}

static void domain_init(struct coh_clocks_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->online = -1;
	d->min_hz = d->max_hz = d->cur_hz = d->freq_override = COH_NA;
}

/* The KEY=value words of a GPU, EMC or engine line, from word first on. */
static int parse_domain(const struct show_line *l, unsigned int first,
			struct coh_clocks_domain *d, struct pep_err *err)
{
	static const char *const keys[] = { "MinFreq", "MaxFreq", "CurrentFreq",
					    "FreqOverride" };
	int64_t *fields[] = { &d->min_hz, &d->max_hz, &d->cur_hz, &d->freq_override };
	const char *v;
	int ret = 0;

	d->present = 1;
	for (unsigned int i = first; i < l->count && ret == 0; i++) {
		if ((v = value_of(l->word[i], "Online"))) {
			ret = set_flag(l, d->name, "Online", v, &d->online, err);
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			if ((v = value_of(l->word[i], keys[k])))
				ret = set_number(l, d->name, keys[k], v, fields[k], err);
	}
	return ret < 0 ? ret : 1;
}

static int parse_named_domain(const struct show_line *l,
			      struct coh_clocks_domain *d, struct pep_err *err)
{
	if (d->present)
		return pep_err_set(err, -EINVAL, "line %u: a second %s line", l->no,
				   l->word[0]);
	return parse_domain(l, 1, d, err);
}

static int has_key(const struct show_line *l, const char *key)
{
	for (unsigned int i = 1; i < l->count; i++)
		if (value_of(l->word[i], key))
			return 1;
	return 0;
}

/* Any other "NAME ... MaxFreq=..." line: an engine (regex ^(\S+) .* MaxFreq=). */
static int parse_engine(const struct show_line *l, struct coh_clocks *out,
			struct pep_err *err)
{
	struct coh_clocks_domain *d;
	size_t n;

	if (out->engine_count == COH_CLOCKS_ENGINES_MAX)
		return pep_err_set(err, -EINVAL, "line %u: more than %d engine lines",
				   l->no, COH_CLOCKS_ENGINES_MAX);
	d = &out->engine[out->engine_count++];
	domain_init(d);
	coh__strlcpy(d->name, l->word[0], sizeof(d->name));
	n = strlen(d->name);
	if (n > 1 && d->name[n - 1] == ':')
		d->name[n - 1] = '\0';
	return parse_domain(l, 1, d, err);
}

static struct coh_clocks_fan *fan_named(struct coh_clocks *out, const char *name)
{
	struct coh_clocks_fan *fan;

	for (unsigned int i = 0; i < out->fan_count; i++)
		if (!strcmp(out->fan[i].name, name))
			return &out->fan[i];
	if (out->fan_count == COH_CLOCKS_FANS_MAX)
		return NULL;
	fan = &out->fan[out->fan_count++];
	memset(fan, 0, sizeof(*fan));
	coh__strlcpy(fan->name, name, sizeof(fan->name));
	fan->pwm = fan->pwm_enable = COH_NA;
	return fan;
}

/* One "name=value" of a fan line; control is the "control=" value or "". */
static int fan_value(const struct show_line *l, char *word, const char *control,
		     struct coh_clocks *out, struct pep_err *err)
{
	char *eq = strchr(word, '=');
	struct coh_clocks_fan *fan;
	size_t n = eq - word;
	int enable;
	int64_t v;

	*eq = '\0';
	enable = n > 7 && !strcmp(word + n - 7, "_enable");
	if (enable)
		word[n - 7] = '\0';
	if (parse_number(eq + 1, &v) < 0)
		return pep_err_set(err, -EINVAL, "line %u: fan: %.32s%s=%.32s is not a number",
				   l->no, word, enable ? "_enable" : "", eq + 1);
	fan = fan_named(out, word);
	if (!fan)
		return pep_err_set(err, -EINVAL, "line %u: more than %d fans", l->no,
				   COH_CLOCKS_FANS_MAX);
	*(enable ? &fan->pwm_enable : &fan->pwm) = v;
	if (*control)
		coh__strlcpy(fan->control, control, sizeof(fan->control));
	return 0;
}

/*
 * "FAN Dynamic Speed control=active hwmon2_pwm1=55" (R35), "FAN Dynamic
 * Speed Control=kernel hwmon0_pwm1=88" (R36), "Fan: PWM=0" (R32),
 * "Fan: speed=0" (R28).
 */
static int parse_fan(const struct show_line *l, struct coh_clocks *out,
		     struct pep_err *err)
{
	const char *control = "";
	int seen = 0, ret = 0;

	for (unsigned int i = 1; i < l->count; i++)
		if (!strncasecmp(l->word[i], "control=", 8))
			control = l->word[i] + 8;
	for (unsigned int i = 1; i < l->count && ret == 0; i++) {
		if (!strchr(l->word[i], '=') || l->word[i][0] == '=' ||
		    !strncasecmp(l->word[i], "control=", 8))
			continue;
		ret = fan_value(l, l->word[i], control, out, err);
		seen = 1;
	}
	return ret < 0 ? ret : seen;
}

/* Lines known by their first words; -1 when the line is none of them. */
static int parse_labelled(const struct show_line *l, char *s,
			  struct coh_clocks *out, struct pep_err *err)
{
	if (starts(s, "SOC family:"))
		return parse_soc(s, out);
	if (starts(s, "Online CPUs:"))
		return parse_online(s, out);
	if (starts(s, "CPU Cluster Switching:")) {
		coh__strlcpy(out->cluster_switching,
			     after_label(s, "CPU Cluster Switching:"),
			     sizeof(out->cluster_switching));
		return 1;
	}
	if (starts(s, "Active GPU TPCs:"))
		return parse_tpcs(l, s, out, err);
	if (starts(s, "NV Power Mode:")) {
		coh__strlcpy(out->power_mode, after_label(s, "NV Power Mode:"),
			     sizeof(out->power_mode));
		return 1;
	}
	return -1;
}

/* Returns 1 for a line it knows, 0 for one it does not, or -EINVAL. */
static int parse_line(char *s, unsigned int no, struct coh_clocks *out,
		      struct pep_err *err)
{
	struct show_line l = { .no = no };
	long id;
	int ret;

	s += strspn(s, " \t");
	ret = parse_labelled(&l, s, out, err);
	if (ret != -1)
		return ret;
	split_words(s, &l);
	if ((id = cpu_id(l.word[0])) >= 0)
		return parse_cpu(&l, id, out, err);
	if (!strcmp(l.word[0], "GPU"))
		return parse_named_domain(&l, &out->gpu, err);
	if (!strcmp(l.word[0], "EMC"))
		return parse_named_domain(&l, &out->emc, err);
	if (!strcmp(l.word[0], "FAN") || !strcmp(l.word[0], "Fan:") ||
	    !strcmp(l.word[0], "Fan"))
		return parse_fan(&l, out, err);
	if (l.count > 1 && has_key(&l, "MaxFreq"))
		return parse_engine(&l, out, err);
	return 0;
}

void coh__clocks_init(struct coh_clocks *out)
{
	memset(out, 0, sizeof(*out));
	domain_init(&out->gpu);
	coh__strlcpy(out->gpu.name, "GPU", sizeof(out->gpu.name));
	domain_init(&out->emc);
	coh__strlcpy(out->emc.name, "EMC", sizeof(out->emc.name));
	out->gpu_tpcs = COH_NA;
}

int coh_clocks_parse(const char *text, struct coh_clocks *out,
		     struct pep_err *err)
{
	char line[LINE_LEN_MAX];
	unsigned int known = 0;
	int ret;

	coh__clocks_init(out);
	while (*text) {
		size_t len = strcspn(text, "\n");
		size_t end = len;

		out->line_count++;
		while (end && isspace((unsigned char)text[end - 1]))
			end--;
		while (end && isspace((unsigned char)*text)) {
			text++;
			end--;
			len--;
		}
		if (end >= sizeof(line)) {
			out->unknown_lines++;
		} else if (end) {
			memcpy(line, text, end);
			line[end] = '\0';
			ret = parse_line(line, out->line_count, out, err);
			if (ret < 0)
				return ret;
			known += ret;
			out->unknown_lines += !ret;
		}
		text += len + (text[len] == '\n');
	}
	if (!known)
		return pep_err_set(err, -EINVAL,
				   "no line of jetson_clocks --show output in %u lines",
				   out->line_count);
	return 0;
}

const struct coh_clocks_cpu *coh_clocks_cpu_find(const struct coh_clocks *c,
						 unsigned int id)
{
	for (unsigned int i = 0; i < c->cpu_count; i++)
		if (c->cpu[i].id == id)
			return &c->cpu[i];
	return NULL;
}
