/*
 * jetson_clocks: parse `--show`, and store, restore, pin ("on") and
 * unpin ("off") through the real program, the way nvpmodel is driven in
 * setmode.c: argv through pep_proc_run() with a timeout, COHETE_SYSROOT
 * for a captured tree, and nothing trusted until read back. jetson_clocks
 * --restore writes, as root, whatever paths its store file names, so on,
 * off and restore hand it only the store file in cohete's state directory,
 * after checking who may have written it and that it names only /sys.
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
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pepita/exec.h>
#include <cohete/power.h>
#include <cohete/thermal.h>

#include "internal.h"

#define LINE_LEN_MAX 1024
#define WORDS_MAX 48
#define DEFAULT_TIMEOUT_MS 20000
#define OUTPUT_MAX (256 * 1024)
#define STORE_FILE_MAX (1024 * 1024)
#define STORE_NAME "l4t_dfs.conf"


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

static void clocks_init(struct coh_clocks *out)
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

	clocks_init(out);
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

/* Append ", " and a formatted item to why (snprintf semantics). */
static void __attribute__((format(printf, 3, 4)))
why_add(char *why, size_t size, const char *fmt, ...)
{
	size_t n = size ? strnlen(why, size) : 0;
	va_list ap;

	if (n + 1 >= size)
		return;
	if (n)
		n += snprintf(why + n, size - n, ", ");
	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(why + n, size - n, fmt, ap);
	va_end(ap);
}

static const char *num(int64_t v, char *buf, size_t size)
{
	if (v == COH_NA)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%lld", (long long)v);
	return buf;
}

static int range_pinned(int64_t min, int64_t max)
{
	return min != COH_NA && max != COH_NA && min == max;
}

static int emc_pinned(const struct coh_clocks_domain *emc)
{
	if (emc->freq_override != COH_NA && emc->freq_override != 1)
		return 0;
	return (emc->cur_hz != COH_NA && emc->cur_hz == emc->max_hz) ||
	       range_pinned(emc->min_hz, emc->max_hz);
}

int coh_clocks_pinned(const struct coh_clocks *c, char *why, size_t why_size)
{
	const struct coh_clocks_cpu *first = NULL;
	char a[24], b[24], n[24];
	unsigned int cpus = 0;
	int pinned = 1;

	if (why_size)
		why[0] = '\0';
	if (!c->cpu_count && !c->gpu.present)
		return -ENODATA;
	for (unsigned int i = 0; i < c->cpu_count; i++) {
		const struct coh_clocks_cpu *cpu = &c->cpu[i];

		if (cpu->online == 0 || range_pinned(cpu->min_khz, cpu->max_khz))
			continue;
		if (!cpus++)
			first = cpu;
	}
	if (first) {
		pinned = 0;
		snprintf(n, sizeof(n), " and %u more CPU%s", cpus - 1, cpus > 2 ? "s" : "");
		why_add(why, why_size, "cpu%u %s..%s kHz%s", first->id,
			num(first->min_khz, a, sizeof(a)), num(first->max_khz, b, sizeof(b)),
			cpus > 1 ? n : "");
	}
	if (c->gpu.present && !range_pinned(c->gpu.min_hz, c->gpu.max_hz)) {
		pinned = 0;
		why_add(why, why_size, "GPU %s..%s Hz", num(c->gpu.min_hz, a, sizeof(a)),
			num(c->gpu.max_hz, b, sizeof(b)));
	}
	if (c->emc.present && !emc_pinned(&c->emc)) {
		pinned = 0;
		if (c->emc.freq_override != COH_NA && c->emc.freq_override != 1)
			why_add(why, why_size, "EMC not locked (FreqOverride=%s)",
				num(c->emc.freq_override, n, sizeof(n)));
		else
			why_add(why, why_size, "EMC at %s of %s Hz",
				num(c->emc.cur_hz, a, sizeof(a)), num(c->emc.max_hz, b, sizeof(b)));
	}
	return pinned;
}

/* Running the program */

static const char *program(const struct coh_clocks_opts *o)
{
	return o->program ? o->program : "jetson_clocks";
}

/* The first line of text that starts with "Error", or NULL. */
static const char *error_line(const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (starts(p, "Error"))
			return p;
	return NULL;
}

/* jetson_clocks reports most failures on stdout with exit status 0. */
static int run_failed(const struct coh_clocks_opts *o, const char *what,
		      const struct pep_proc_result *r, struct pep_err *err)
{
	const char *out = r->out ? r->out : "", *errs = r->err ? r->err : "";
	const char *e = error_line(out);

	if (strstr(out, "as a root user") || strstr(errs, "as a root user"))
		return pep_err_set(err, -EACCES, "%s%s: needs root (run it with sudo)",
				   program(o), what);
	if (r->timed_out)
		return pep_err_set(err, -EIO, "%s%s: no answer within %u ms",
				   program(o), what,
				   o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (!e)
		e = error_line(errs);
	if (e)
		return pep_err_set(err, -EIO, "%s%s: %.*s", program(o), what,
				   (int)strcspn(e, "\n"), e);
	if (!r->exited || r->exit_code != 0)
		return pep_err_set(err, -EIO, "%s%s: %s %d%s%.*s", program(o), what,
				   r->exited ? "exit" : "signal",
				   r->exited ? r->exit_code : r->signal_no,
				   *errs ? ": " : "", (int)strcspn(errs, "\n"), errs);
	return 0;
}

/*
 * Run the program with up to three arguments. On success r holds its
 * output (the caller frees it); on failure it is freed.
 */
static int run_jc(const struct coh_sysroot *sr, const struct coh_clocks_opts *o,
		  const char *const *args, struct pep_proc_result *r,
		  struct pep_err *err)
{
	const char *argv[5] = { program(o) };
	struct pep_proc_opts popts = {
		.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
		.max_output = OUTPUT_MAX,
	};
	char var[PATH_MAX + 32], what[32] = "";
	char **env = coh__child_env(sr, var, sizeof(var));
	int ret;

	if (!env)
		return pep_err_set(err, -ENOMEM, "%s: out of memory", program(o));
	for (size_t i = 0; i < 3 && args[i]; i++)
		argv[i + 1] = args[i];
	if (args[0])
		snprintf(what, sizeof(what), " %s", args[0]);
	popts.envp = (const char *const *)env;
	memset(r, 0, sizeof(*r));
	ret = pep_proc_run(argv, &popts, r, err);
	free(env);
	if (ret == -ENOENT)
		return pep_err_set(err, ret, "%s not found (not a Jetson, or L4T's "
				   "jetson_clocks is not installed)", program(o));
	if (ret == 0)
		ret = run_failed(o, what, r, err);
	if (ret < 0)
		pep_proc_result_free(r);
	return ret;
}

int coh_clocks_show(const struct coh_sysroot *sr,
		    const struct coh_clocks_opts *opts, struct coh_clocks *out,
		    struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	static const char *const args[] = { "--show", NULL };
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	struct pep_proc_result r;
	struct pep_err perr;
	int ret;

	clocks_init(out);
	ret = run_jc(sr, o, args, &r, err);
	if (ret < 0)
		return ret;
	ret = coh_clocks_parse(r.out ? r.out : "", out, &perr);
	if (ret < 0)
		pep_err_set(err, ret, "%s --show: %s", program(o), perr.msg);
	pep_proc_result_free(&r);
	return ret;
}

/* The store file */

static const char *state_dir(const struct coh_clocks_opts *o)
{
	return o->state_dir && *o->state_dir ? o->state_dir : COH_CLOCKS_STATE_DIR;
}

int coh_clocks_store_path(const struct coh_clocks_opts *opts, const char *file,
			  char *out, size_t size, struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	int n = file && *file ? snprintf(out, size, "%s", file) :
		snprintf(out, size, "%s/" STORE_NAME, state_dir(o));

	if (n < 0 || (size_t)n >= size)
		return pep_err_set(err, -ENAMETOOLONG, "store file path too long: %.64s...",
				   file && *file ? file : state_dir(o));
	return 0;
}

/* Like ssh with its keys: ours, and nobody else may change it. */
static int check_owner(const char *what, const char *path, const struct stat *st,
		       struct pep_err *err)
{
	if (st->st_uid != geteuid())
		return pep_err_set(err, -EPERM, "%s %s: owned by uid %u, not by this user "
				   "(uid %u); not trusting it", what, path,
				   (unsigned int)st->st_uid, (unsigned int)geteuid());
	if (st->st_mode & 022)
		return pep_err_set(err, -EPERM, "%s %s: permissions %04o let others change it; "
				   "not trusting it (chmod go-w %s)", what, path,
				   (unsigned int)(st->st_mode & 07777), path);
	return 0;
}

/* The state directory: made (0700) when asked and absent, then checked. */
static int state_dir_ready(const struct coh_clocks_opts *o, int create,
			   struct pep_err *err)
{
	const char *dir = state_dir(o);
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return pep_err_errno(err, "state directory %s", dir);
	if (lstat(dir, &st) < 0)
		return pep_err_errno(err, "state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pep_err_set(err, -ENOTDIR, "state directory %s: not a directory", dir);
	return check_owner("state directory", dir, &st, err);
}

static int same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	return !strcmp(a, b) || (realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb));
}

/*
 * on, off and restore use only the store file under the state directory:
 * jetson_clocks --restore writes, as root, every path a store file names,
 * so a file someone else could have written is never handed to it.
 */
static int own_store_file(const struct coh_clocks_opts *o, const char *file,
			  char *path, size_t size, struct pep_err *err)
{
	int ret = coh_clocks_store_path(o, NULL, path, size, err);

	if (ret < 0 || !file || !*file || same_path(file, path))
		return ret;
	return pep_err_set(err, -EPERM, "%s: cohete restores only the store file it writes "
			   "itself, %s (jetson_clocks --restore writes, as root, every path a "
			   "store file names); check that file and run jetson_clocks "
			   "--restore yourself", file, path);
}

/* Read fd whole, NUL-terminated, malloc'd; -EFBIG over STORE_FILE_MAX. */
static int read_fd(int fd, const char *path, char **text, struct pep_err *err)
{
	size_t len = 0;
	ssize_t n = 1;
	char *buf = malloc(STORE_FILE_MAX + 1);

	if (!buf)
		return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
	while (len <= STORE_FILE_MAX &&
	       (n = read(fd, buf + len, STORE_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > STORE_FILE_MAX) {
		int ret = n < 0 ? pep_err_errno(err, "read %s", path) :
			  pep_err_set(err, -EFBIG, "%s: larger than %d bytes: not a store file",
				      path, STORE_FILE_MAX);

		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* A file of this machine (not the sysroot's), NUL-terminated, malloc'd. */
static int read_host_file(const char *path, char **text, struct pep_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	ret = read_fd(fd, path, text, err);
	close(fd);
	return ret;
}

/* The store file: not a link, a regular file that only we may change. */
static int read_store(const char *path, char **text, struct pep_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret;
	struct stat st;

	if (fd < 0 && errno == ENOENT)
		return pep_err_set(err, -ENODATA,
				   "%s does not exist: nothing was stored to restore", path);
	if (fd < 0 && errno == ELOOP)
		return pep_err_set(err, -EPERM, "store file %s: a symlink; not trusting it",
				   path);
	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	ret = fstat(fd, &st) < 0 ? pep_err_errno(err, "%s", path) : 0;
	if (ret == 0 && !S_ISREG(st.st_mode))
		ret = pep_err_set(err, -EINVAL, "store file %s: not a regular file", path);
	if (ret == 0)
		ret = check_owner("store file", path, &st, err);
	if (ret == 0)
		ret = read_fd(fd, path, text, err);
	close(fd);
	return ret;
}

/*
 * A file jetson_clocks stores: clocks, idle states, devfreq, the EMC and
 * the fan, all under /sys. Written as it is: no "..", ".", "//" or
 * control characters, which no stored path has.
 */
static int stored_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (strncmp(p, "/sys/", 5) || strstr(p, "//") || strstr(p, "/./") ||
	    strstr(p, "/../") || p[n - 1] == '/' || !strcmp(p + n - 2, "/.") ||
	    !strcmp(p + n - 3, "/.."))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int stored_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < ' ' || *v == 0x7f)
			return 0;
	return 1;
}

typedef int (*store_line_fn)(const char *path, const char *value, void *arg);

/*
 * Walk "path:value" lines (as `jetson_clocks --store` writes them; the
 * value is the first line of the file, so it has no ':' of its own).
 * Returns the number of settings, or -EINVAL naming the first bad line.
 */
static int walk_store(char *text, const char *file, store_line_fn fn,
		      void *arg, struct pep_err *err)
{
	unsigned int no = 0;
	int count = 0, ret;

	for (char *line = text, *next; line && *line; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		line[strcspn(line, "\r")] = '\0';
		if (!*line)
			continue;
		colon = strchr(line, ':');
		if (line[0] != '/' || !colon)
			return pep_err_set(err, -EINVAL, "%s:%u: not \"path:value\": '%.48s'",
					   file, no, line);
		*colon = '\0';
		if (!stored_path_ok(line) || !stored_value_ok(colon + 1))
			return pep_err_set(err, -EINVAL, "%s:%u: '%.64s' is not a file under /sys "
					   "as jetson_clocks stores them (or its value holds a "
					   "control character)", file, no, line);
		if (fn && (ret = fn(line, colon + 1, arg)) < 0)
			return ret;
		count++;
	}
	return count;
}

/* Sync and rename the file jetson_clocks wrote; the caller removes tmpdir. */
static int check_and_rename(const char *tmp, const char *path, struct pep_err *err)
{
	struct pep_err perr;
	char *text;
	int fd, ret = read_host_file(tmp, &text, err);

	if (ret == -ENOENT)
		return pep_err_set(err, -EIO, "jetson_clocks --store wrote no file");
	if (ret < 0)
		return ret;
	ret = walk_store(text, path, NULL, NULL, &perr);
	free(text);
	if (ret <= 0)
		return pep_err_set(err, -EIO, "jetson_clocks --store: %s",
				   ret ? perr.msg : "it stored no settings");
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ret = pep_err_errno(err, "sync %s", tmp);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	close(fd);
	if (rename(tmp, path) < 0)
		return pep_err_errno(err, "rename %s to %s", tmp, path);
	return ret;
}

int coh_clocks_store(const struct coh_sysroot *sr,
		     const struct coh_clocks_opts *opts, const char *file,
		     struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	char path[PATH_MAX], tmpdir[PATH_MAX + 32], tmp[PATH_MAX + 48];
	const char *args[] = { "--store", tmp, NULL };
	struct pep_proc_result r;
	char *slash;
	int ret = coh_clocks_store_path(o, file, path, sizeof(path), err);

	/* The state directory's own file: made for it, only ours. */
	if (ret == 0 && !(file && *file))
		ret = state_dir_ready(o, 1, err);
	if (ret < 0)
		return ret;
	/* A fresh directory beside the file: same filesystem for rename(). */
	slash = strrchr(path, '/');
	if (slash)
		snprintf(tmpdir, sizeof(tmpdir), "%.*s/.l4t_dfs.XXXXXX",
			 (int)(slash - path), path);
	else
		snprintf(tmpdir, sizeof(tmpdir), ".l4t_dfs.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		ret = pep_err_errno(err, "store %s: temporary directory %s", path, tmpdir);
		/* -ENOENT would read as "no jetson_clocks". */
		return ret == -ENOENT ? pep_err_set(err, -ENOTDIR, "store %s: no such directory",
						     path) : ret;
	}
	snprintf(tmp, sizeof(tmp), "%s/" STORE_NAME, tmpdir);
	ret = run_jc(sr, o, args, &r, err);
	if (ret == 0) {
		pep_proc_result_free(&r);
		ret = check_and_rename(tmp, path, err);
	}
	unlink(tmp);
	rmdir(tmpdir);
	return ret;
}

struct verify {
	const struct coh_sysroot *sr;
	struct pep_err *err;
	int verified;
};

/* A restored file must hold the stored value. */
static int verify_line(const char *path, const char *value, void *arg)
{
	struct verify *v = arg;
	char now[256], want[256];
	size_t n;

	if (coh_sysroot_read_str(v->sr, path, now, sizeof(now), NULL) < 0)
		return 0;
	coh__strlcpy(want, value, sizeof(want));
	n = strlen(want);
	while (n && isspace((unsigned char)want[n - 1]))
		want[--n] = '\0';
	if (strcmp(now, want))
		return pep_err_set(v->err, -EIO, "restore did not take: %s is %.32s, stored %.32s",
				   path, now, want);
	v->verified++;
	return 0;
}

/* The store file, checked: its settings are counted, or refused. */
static int load_store(const struct coh_clocks_opts *o, const char *path,
		      char **text, struct pep_err *err)
{
	int ret = state_dir_ready(o, 0, err);

	if (ret == -ENOENT)
		return pep_err_set(err, -ENODATA, "%s does not exist: nothing was stored to "
				   "restore", path);
	if (ret == 0)
		ret = read_store(path, text, err);
	if (ret < 0)
		return ret;
	/* walk_store() cuts the text up; the caller reads it again. */
	ret = walk_store(*text, path, NULL, NULL, err);
	free(*text);
	*text = NULL;
	if (ret == 0)
		ret = pep_err_set(err, -EINVAL, "%s holds no settings", path);
	return ret;
}

int coh_clocks_restore(const struct coh_sysroot *sr,
		       const struct coh_clocks_opts *opts, const char *file,
		       struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	char path[PATH_MAX];
	const char *args[] = { "--restore", path, NULL };
	struct verify v = { .sr = sr, .err = err };
	struct pep_proc_result r;
	char *text = NULL;
	int ret = own_store_file(o, file, path, sizeof(path), err);

	if (ret == 0)
		ret = load_store(o, path, &text, err);
	if (ret > 0)
		ret = run_jc(sr, o, args, &r, err);
	if (ret == 0) {
		pep_proc_result_free(&r);
		ret = read_store(path, &text, err);
	}
	if (ret == 0)
		ret = walk_store(text, path, verify_line, &v, err);
	free(text);
	return ret < 0 ? ret : v.verified;
}

/* Pinning */

/* The zone coh_breaker_input() reads: tj, else the hottest measured one. */
static const struct coh_thermal_zone *input_zone(const struct coh_thermal *t)
{
	int64_t input = coh_breaker_input(t);
	const struct coh_thermal_zone *found = NULL;

	for (unsigned int i = 0; i < t->count && input != COH_NA; i++) {
		const struct coh_thermal_zone *z = &t->zones[i];

		if (z->state != COH_ZONE_OK || z->temp_mc != input)
			continue;
		if (!strcmp(z->name, "tj"))
			return z;
		if (!found)
			found = z;
	}
	return found;
}

static int check_temp(const struct coh_sysroot *sr,
		      struct coh_clocks_on_result *out, struct pep_err *err)
{
	struct coh_thermal *t = malloc(sizeof(*t));
	const struct coh_thermal_zone *z;
	int ret = 0;

	if (!t)
		return pep_err_set(err, -ENOMEM, "jetson_clocks: out of memory");
	coh_thermal_read(sr, t, NULL);
	z = input_zone(t);
	if (!z) {
		ret = pep_err_set(err, -ECANCELED,
				  "no thermal zone gives a temperature, so whether the device "
				  "is already hot is unknown; not pinning the clocks "
				  "(force skips this)");
	} else {
		out->temp_mc = z->temp_mc;
		coh__strlcpy(out->zone, z->name, sizeof(out->zone));
		if (z->temp_mc >= out->limit_mc)
			ret = pep_err_set(err, -ECANCELED,
					  "%s is at %.1f °C, at or above the %.1f °C limit "
					  "for pinning the clocks: let it cool down first "
					  "(force skips this)",
					  z->name, z->temp_mc / 1000.0, out->limit_mc / 1000.0);
	}
	free(t);
	return ret;
}

static int verify_pinned(const struct coh_sysroot *sr,
			 const struct coh_clocks_opts *o, struct pep_err *err)
{
	struct coh_clocks *c = malloc(sizeof(*c));
	char why[200];
	int ret;

	if (!c)
		return pep_err_set(err, -ENOMEM, "jetson_clocks: out of memory");
	ret = coh_clocks_show(sr, o, c, err);
	if (ret == 0)
		ret = coh_clocks_pinned(c, why, sizeof(why));
	if (ret == -ENODATA)
		ret = pep_err_set(err, -EIO, "%s --show lists no CPU or GPU clock to verify",
				  program(o));
	else if (ret == 0)
		ret = pep_err_set(err, -EIO, "%s ran, but not pinned: %s", program(o), why);
	free(c);
	return ret < 0 ? ret : 0;
}

int coh_clocks_on(const struct coh_sysroot *sr,
		  const struct coh_clocks_opts *opts, const char *file,
		  struct coh_clocks_on_result *out, struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	const char *args[] = { o->fan ? "--fan" : NULL, NULL };
	struct coh_clocks_on_result local;
	struct coh_breaker_policy policy;
	struct pep_proc_result r;
	int ret;

	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	out->temp_mc = COH_NA;
	out->limit_mc = o->max_temp_mc;
	if (!out->limit_mc) {
		ret = coh_breaker_policy_named("conservative", &policy, err);
		if (ret < 0)
			return ret;
		out->limit_mc = policy.warning_mc;
	}
	ret = own_store_file(o, file, out->store_file, sizeof(out->store_file), err);
	if (ret == 0 && !o->force)
		ret = check_temp(sr, out, err);
	if (ret == 0)
		ret = state_dir_ready(o, 1, err);
	if (ret < 0)
		return ret;
	if (access(out->store_file, F_OK) != 0) {
		if (errno != ENOENT)
			return pep_err_errno(err, "store file %s", out->store_file);
		ret = coh_clocks_store(sr, o, NULL, err);
		if (ret < 0)
			return ret;
		out->stored = 1;
	}
	ret = run_jc(sr, o, args, &r, err);
	if (ret < 0)
		return ret;
	pep_proc_result_free(&r);
	return verify_pinned(sr, o, err);
}

int coh_clocks_off(const struct coh_sysroot *sr,
		   const struct coh_clocks_opts *opts, const char *file,
		   struct pep_err *err)
{
	return coh_clocks_restore(sr, opts, file, err);
}
