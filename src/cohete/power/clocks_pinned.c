/*
 * Whether parsed --show output says the clocks are pinned, and if not,
 * what is not: a CPU or the GPU whose minimum and maximum differ, an EMC
 * not locked at its maximum. One rule for coh_clocks_on()'s check after
 * pinning and for `cohete clocks`; apart from the parser because it
 * judges the result rather than reads the text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cohete/power.h>

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
