/*
 * pepita CPU detection against the running kernel's view. The kernel's
 * /proc/cpuinfo flag list is built from the same CPUID/HWCAP bits, minus
 * what the OS does not enable, so each feature must agree both ways: a flag
 * the kernel lists must be detected, and a detected feature must be listed.
 * (Detection itself never reads /proc/cpuinfo; only this test does.)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/core.h>

#include "harness.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One pepita feature and the kernel flags that together mean the same. */
struct flag_map {
	enum pep_cpu_feature feature;
	const char *flags[2];
};

#if defined(__x86_64__)
static const char line_key[] = "flags";
static const char other_key[] = "Features";	/* an arm64 cpuinfo */
static const struct flag_map flag_map[] = {
	{ PEP_CPU_SSE41,	{ "sse4_1" } },
	{ PEP_CPU_AVX2,		{ "avx2" } },
	{ PEP_CPU_FMA,		{ "fma" } },
	{ PEP_CPU_F16C,		{ "f16c" } },
	{ PEP_CPU_AVX512F,	{ "avx512f" } },
	{ PEP_CPU_AVX512BW,	{ "avx512bw" } },
	{ PEP_CPU_AVX512VL,	{ "avx512vl" } },
	{ PEP_CPU_AVX512VNNI,	{ "avx512_vnni" } },
	{ PEP_CPU_AVX512BF16,	{ "avx512_bf16" } },
};
#elif defined(__aarch64__)
static const char line_key[] = "Features";
static const char other_key[] = "flags";	/* x86 host under qemu-user */
static const struct flag_map flag_map[] = {
	{ PEP_CPU_ASIMD,	{ "asimd" } },
	/* pepita's fp16 means scalar and vector half precision. */
	{ PEP_CPU_FP16,		{ "asimdhp", "fphp" } },
	{ PEP_CPU_DOTPROD,	{ "asimddp" } },
	{ PEP_CPU_SVE,		{ "sve" } },
};
#endif

/* "key\t\t: value" -> value, or NULL if line is not that key's line. */
static char *line_value(char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || !strchr(" \t:", line[n]))
		return NULL;
	line = strchr(line, ':');
	return line ? line + 1 : NULL;
}

/* The first CPU's flag line into buf; *other says another arch's was seen. */
static int read_flags(char *buf, size_t size, bool *other)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	char *v;

	*other = false;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line_value(line, other_key))
			*other = true;
		v = line_value(line, line_key);
		if (v) {
			snprintf(buf, size, " %s", v);
			/* Pad with blanks so " flag " matches whole words. */
			buf[strcspn(buf, "\n")] = ' ';
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

static bool has_flag(const char *flags, const char *name)
{
	char word[64];

	snprintf(word, sizeof(word), " %s ", name);
	return strstr(flags, word) != NULL;
}

static bool kernel_has(const char *flags, const struct flag_map *m)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(m->flags) && m->flags[i]; i++)
		if (!has_flag(flags, m->flags[i]))
			return false;
	return true;
}

static int compare(const char *flags)
{
	const struct flag_map *m;
	int rc = T_PASS;
	bool kernel, ours;

	for (m = flag_map; m < flag_map + ARRAY_SIZE(flag_map); m++) {
		kernel = kernel_has(flags, m);
		ours = pep_cpu_has(m->feature);
		fprintf(stderr, "%-4s %-12s kernel=%d pepita=%d\n",
			kernel == ours ? "ok" : "FAIL",
			pep_cpu_feature_name(m->feature), kernel, ours);
		if (kernel != ours)
			rc = T_FAIL;
	}
	return rc;
}

int main(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	static char flags[8192];
	bool other;

	if (read_flags(flags, sizeof(flags), &other) < 0) {
		printf("SKIP: /proc/cpuinfo has no '%s' line%s\n", line_key,
		       other ? " but another architecture's (qemu-user?)" : "");
		return T_SKIP;
	}
	return compare(flags);
#else
	printf("SKIP: no cpuinfo mapping for %s\n", pep_cpu_arch());
	return T_SKIP;
#endif
}
