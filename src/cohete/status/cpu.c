/*
 * Per-core CPU load and frequency. Load comes from /proc/stat tick deltas
 * between two samples (like top); with no earlier sample it is the average
 * since boot. /proc/stat lists online cores only, while the cores that exist
 * are the cpuN directories in sysfs (nvpmodel takes cores offline).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

#define CPU_SYSFS "/sys/devices/system/cpu"

/* "cpu3 10 0 20 300 4 0 1 0 0 0": busy = all but idle and iowait. */
static int parse_stat_line(const char *line, unsigned int lineno,
			   struct coh_cpu_core *core, struct pep_err *err)
{
	unsigned long long v[8] = { 0 };
	const char *p = line + 3;
	char *end;
	int n = 0;

	core->id = (unsigned int)strtoul(p, &end, 10);
	if (end == p || core->id >= COH_CPUS_MAX)
		return pep_err_set(err, -EINVAL, "/proc/stat:%u: bad cpu number",
				   lineno);
	for (p = end; n < 8; n++, p = end) {
		v[n] = strtoull(p, &end, 10);
		if (end == p || (*end && !isspace((unsigned char)*end)))
			break;
	}
	if (n < 4)
		return pep_err_set(err, -EINVAL,
				   "/proc/stat:%u: cpu%u: %d tick fields, need 4 or more",
				   lineno, core->id, n);
	core->total_ticks = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	core->busy_ticks = core->total_ticks - v[3] - v[4];
	return 0;
}

int coh_proc_stat_parse(const char *text, struct coh_cpu *cpu,
			struct pep_err *err)
{
	unsigned int lineno = 0;
	int ret = 0;

	cpu->count = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char line[512];

		lineno++;
		if (len < sizeof(line) && !strncmp(text, "cpu", 3) &&
		    isdigit((unsigned char)text[3]) && cpu->count < COH_CPUS_MAX) {
			int r;

			memcpy(line, text, len);
			line[len] = '\0';
			r = parse_stat_line(line, lineno, &cpu->core[cpu->count],
					    ret ? NULL : err);
			if (r == 0)
				cpu->count++;
			else if (!ret)
				ret = r;
		}
		text += len + (nl ? 1 : 0);
	}
	return ret;
}

static const struct coh_cpu_core *find_core(const struct coh_cpu *cpu,
					    unsigned int id)
{
	for (unsigned int i = 0; i < cpu->count; i++)
		if (cpu->core[i].id == id)
			return &cpu->core[i];
	return NULL;
}

static int64_t load_between(uint64_t busy0, uint64_t total0, uint64_t busy1,
			    uint64_t total1)
{
	uint64_t dt = total1 - total0, db = busy1 - busy0;

	if (total1 <= total0 || busy1 < busy0 || db > dt)
		return COH_NA;
	return (int64_t)((db * 1000 + dt / 2) / dt);
}

/* cpuN entries of sysfs, or the /proc/stat lines when sysfs is absent. */
static int list_core_ids(const struct coh_sysroot *sr,
			 const struct coh_cpu *stat, unsigned int *ids)
{
	struct coh_names names;
	int n = 0;

	if (coh_sysroot_list(sr, CPU_SYSFS, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count && n < COH_CPUS_MAX; i++) {
			const char *s = names.names[i];

			if (!strncmp(s, "cpu", 3) && s[3] &&
			    strspn(s + 3, "0123456789") == strlen(s + 3))
				ids[n++] = (unsigned int)atoi(s + 3);
		}
		coh_names_free(&names);
	}
	if (n == 0)
		for (unsigned int i = 0; i < stat->count; i++)
			ids[n++] = stat->core[i].id;
	return n;
}

static void read_core(const struct coh_sysroot *sr, struct coh_cpu_core *core,
		      const struct coh_cpu *stat, const struct coh_cpu *prev)
{
	const struct coh_cpu_core *now = find_core(stat, core->id);
	const struct coh_cpu_core *before = prev ? find_core(prev, core->id) : NULL;
	char path[128];
	int64_t online;

	snprintf(path, sizeof(path), CPU_SYSFS "/cpu%u/online", core->id);
	/* cpu0 usually has no "online" file: it cannot be unplugged. */
	if (coh_sysroot_read_s64(sr, path, &online, NULL) < 0)
		online = now != NULL;
	core->online = online != 0;
	core->load_permille = core->cur_khz = core->max_khz = COH_NA;
	if (!core->online)
		return;
	snprintf(path, sizeof(path), CPU_SYSFS "/cpu%u/cpufreq/scaling_cur_freq",
		 core->id);
	coh_sysroot_read_s64(sr, path, &core->cur_khz, NULL);
	snprintf(path, sizeof(path), CPU_SYSFS "/cpu%u/cpufreq/scaling_max_freq",
		 core->id);
	coh_sysroot_read_s64(sr, path, &core->max_khz, NULL);
	if (!now)
		return;
	core->busy_ticks = now->busy_ticks;
	core->total_ticks = now->total_ticks;
	core->load_permille = before ?
		load_between(before->busy_ticks, before->total_ticks,
			     now->busy_ticks, now->total_ticks) :
		load_between(0, 0, now->busy_ticks, now->total_ticks);
}

static void aggregate_load(struct coh_cpu *cpu, const struct coh_cpu *prev)
{
	uint64_t busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;

	cpu->load_permille = COH_NA;
	for (unsigned int i = 0; i < cpu->count; i++) {
		const struct coh_cpu_core *c = &cpu->core[i];
		const struct coh_cpu_core *b = prev ? find_core(prev, c->id) : NULL;

		if (c->load_permille == COH_NA)
			continue;
		busy1 += c->busy_ticks;
		total1 += c->total_ticks;
		if (b) {
			busy0 += b->busy_ticks;
			total0 += b->total_ticks;
		}
	}
	if (total1)
		cpu->load_permille = load_between(busy0, total0, busy1, total1);
}

int coh__cpu_read(const struct coh_sysroot *sr, const struct coh_cpu *prev,
		  struct coh_cpu *cpu, struct coh_notes *notes)
{
	unsigned int ids[COH_CPUS_MAX];
	struct coh_cpu *stat;
	struct pep_err err;
	char *text;
	int n;

	stat = calloc(1, sizeof(*stat));
	text = malloc(64 * 1024);
	if (!stat || !text) {
		free(stat);
		free(text);
		return -ENOMEM;
	}
	if (coh_sysroot_read(sr, "/proc/stat", text, 64 * 1024, &err) < 0)
		coh__note_read_error(notes, "cpu.load_percent", &err);
	else if (coh_proc_stat_parse(text, stat, &err) < 0)
		coh_notes_add_err(notes, "cpu.load_percent", &err);
	n = list_core_ids(sr, stat, ids);
	cpu->count = 0;
	for (int i = 0; i < n; i++) {
		cpu->core[cpu->count].id = ids[i];
		read_core(sr, &cpu->core[cpu->count++], stat, prev);
	}
	aggregate_load(cpu, prev);
	free(text);
	free(stat);
	return 0;
}
