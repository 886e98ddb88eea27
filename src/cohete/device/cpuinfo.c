/*
 * CPU model and count. x86 names its CPU in "model name"; arm64 gives only
 * implementer and part numbers, so they are mapped to core names (the same
 * numbers as the kernel's asm/cputype.h) and counted per kind, which shows
 * a TX2 as "2x Denver 2 + 4x Cortex-A57". The count comes from
 * /sys/devices/system/cpu/present, because nvpmodel takes cores offline and
 * /proc/cpuinfo lists only online ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/device.h>

#include "internal.h"

struct arm_part {
	unsigned int implementer;
	unsigned int part;
	const char *name;
};

static const struct arm_part arm_parts[] = {
	{ 0x41, 0xd03, "Cortex-A53" },
	{ 0x41, 0xd05, "Cortex-A55" },
	{ 0x41, 0xd07, "Cortex-A57" },
	{ 0x41, 0xd08, "Cortex-A72" },
	{ 0x41, 0xd0b, "Cortex-A76" },
	{ 0x41, 0xd0c, "Neoverse-N1" },
	{ 0x41, 0xd40, "Neoverse-V1" },
	{ 0x41, 0xd41, "Cortex-A78" },
	{ 0x41, 0xd42, "Cortex-A78AE" },
	{ 0x41, 0xd4f, "Neoverse-V2" },
	{ 0x41, 0xd83, "Neoverse-V3AE" },
	{ 0x41, 0xd84, "Neoverse-V3" },
	{ 0x4e, 0x003, "Denver 2" },
	{ 0x4e, 0x004, "Carmel" },
};

#define MAX_KINDS 4

struct core_kinds {
	unsigned int implementer, part;		/* of the block being read */
	unsigned int count;
	struct {
		const char *name;
		unsigned int implementer, part, cores;
	} kind[MAX_KINDS];
};

static const char *arm_part_name(unsigned int implementer, unsigned int part)
{
	for (size_t i = 0; i < ARRAY_SIZE(arm_parts); i++)
		if (arm_parts[i].implementer == implementer &&
		    arm_parts[i].part == part)
			return arm_parts[i].name;
	return NULL;
}

static void count_kind(struct core_kinds *k)
{
	unsigned int i;

	for (i = 0; i < k->count; i++)
		if (k->kind[i].implementer == k->implementer &&
		    k->kind[i].part == k->part)
			break;
	if (i == k->count) {
		if (k->count == MAX_KINDS)
			return;
		k->kind[i].implementer = k->implementer;
		k->kind[i].part = k->part;
		k->kind[i].name = arm_part_name(k->implementer, k->part);
		k->count++;
	}
	k->kind[i].cores++;
}

/*
 * "2x Denver 2 + 4x Cortex-A57"; unknown parts as "ARM 0x41/0xd99". cpuinfo
 * lists online cores only: when some are offline the counts would mislead,
 * so only the kinds are named.
 */
static void format_kinds(const struct core_kinds *k, unsigned int present,
			 char *out, size_t size)
{
	unsigned int online = 0;
	size_t len = 0;
	int counts;

	for (unsigned int i = 0; i < k->count; i++)
		online += k->kind[i].cores;
	counts = !present || online == present;

	out[0] = '\0';
	for (unsigned int i = 0; i < k->count && len < size; i++) {
		char unknown[32];
		const char *name = k->kind[i].name;

		if (!name) {
			snprintf(unknown, sizeof(unknown), "ARM 0x%02x/0x%03x",
				 k->kind[i].implementer, k->kind[i].part);
			name = unknown;
		}
		if (counts)
			len += (size_t)snprintf(out + len, size - len, "%s%ux %s",
						i ? " + " : "", k->kind[i].cores,
						name);
		else
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						i ? " + " : "", name);
	}
}

/* "key\t: value" -> value, when line starts with key. */
static const char *field_value(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || (line[n] != '\t' && line[n] != ' ' &&
				      line[n] != ':'))
		return NULL;
	line = strchr(line + n, ':');
	if (!line)
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

void coh__parse_cpuinfo(char *text, struct coh_device *dev,
			unsigned int *online)
{
	struct core_kinds kinds = { 0 };
	char *save = NULL;
	const char *v;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (field_value(line, "processor"))
			(*online)++;
		if ((v = field_value(line, "model name")) && !dev->cpu_model[0])
			coh__strlcpy(dev->cpu_model, v, sizeof(dev->cpu_model));
		if (field_value(line, "vendor_id"))
			coh__strlcpy(dev->arch, "x86_64", sizeof(dev->arch));
		if ((v = field_value(line, "CPU implementer")))
			kinds.implementer = (unsigned int)strtoul(v, NULL, 0);
		if ((v = field_value(line, "CPU part"))) {
			kinds.part = (unsigned int)strtoul(v, NULL, 0);
			count_kind(&kinds);
		}
	}
	/* arm64 "model name" is a generic "ARMv8 Processor rev 1 (v8l)". */
	if (kinds.count) {
		coh__strlcpy(dev->arch, "aarch64", sizeof(dev->arch));
		format_kinds(&kinds, dev->cpus, dev->cpu_model,
			     sizeof(dev->cpu_model));
	}
}

/* "0-5", "0-3,6" -> the number of CPUs in the list. */
unsigned int coh__count_cpu_list(const char *list)
{
	unsigned int n = 0;
	char *end;

	while (*list) {
		unsigned long a = strtoul(list, &end, 10), b = a;

		if (end == list)
			return 0;
		if (*end == '-') {
			list = end + 1;
			b = strtoul(list, &end, 10);
			if (end == list || b < a || b - a > 65535)
				return 0;
		}
		n += (unsigned int)(b - a + 1);
		list = end;
		if (*list != ',')
			break;
		list++;
	}
	return n;
}

void coh__device_read_cpu(const struct coh_sysroot *sr,
			  struct coh_device *dev, struct coh_notes *notes)
{
	static const size_t size = 64 * 1024;
	unsigned int online = 0;
	char list[256];
	char *text = malloc(size);

	if (coh_sysroot_read_str(sr, "/sys/devices/system/cpu/present", list,
				 sizeof(list), NULL) > 0)
		dev->cpus = coh__count_cpu_list(list);
	if (text && coh_sysroot_read(sr, "/proc/cpuinfo", text, size, NULL) >= 0)
		coh__parse_cpuinfo(text, dev, &online);
	else
		coh_notes_add(notes, "device.cpu_model", "/proc/cpuinfo unreadable");
	free(text);
	if (!dev->cpus)
		dev->cpus = online;
}
