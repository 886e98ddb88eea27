/*
 * libFuzzer target for every text parser that reads a file of the target
 * machine: nv_tegra_release, device-tree P-numbers, meminfo, /proc/stat,
 * cpuinfo, CPU lists, nvpmodel status and conf (name lookup and the whole
 * file), zone names, tegrastats lines (and their JSON), jetson_clocks
 * --show output (and the pinned check on it), the agent's --listen
 * address; and pepita's zram mm_stat, io_stat, comp_algorithm, sizes
 * ("64M") and SIMD tier names (PEPITA_SIMD). The first byte
 * picks the parser; the rest is the file. Built by scripts/fuzz.sh with
 * clang, and replayed over the corpus by tests/fuzz/replay.c everywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/agent.h>
#include <cohete/device.h>
#include <cohete/memory.h>
#include <cohete/power.h>
#include <cohete/status.h>
#include <cohete/thermal.h>
#include <pepita/core.h>
#include <pepita/simd.h>
#include <pepita/zram.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_nvpmodel_conf(const char *text)
{
	struct coh_nvpmodel_conf *c;
	char why[128];

	if (coh_nvpmodel_conf_parse(text, NULL, &c, NULL) < 0)
		return;
	coh_nvpmodel_needs_reboot(c, c->modes[0].id,
				  c->modes[c->mode_count - 1].id, why,
				  sizeof(why));
	coh_nvpmodel_conf_value(c, c->default_id, "GPU", "MAX_FREQ");
	coh_nvpmodel_conf_free(c);
}

static void run_jetson_clocks(const char *text)
{
	static struct coh_clocks c;
	char why[96];

	if (coh_clocks_parse(text, &c, NULL) < 0)
		return;
	coh_clocks_pinned(&c, why, sizeof(why));
	coh_clocks_pinned(&c, NULL, 0);
	coh_clocks_cpu_find(&c, 0);
}

static void run_parser(unsigned int which, char *text)
{
	static struct coh_device dev;
	static struct coh_cpu cpu;
	static struct coh_tegrastats ts;
	struct coh_meminfo mi;
	struct pep_err err;
	char out[64], pnums[4][32];
	unsigned int online = 0;
	int64_t id;
	uint16_t port;
	int super;

	char *json;
	struct pep_zram_mm_stat mm;
	struct pep_zram_io_stat io;
	char active[PEP_ZRAM_NAME_MAX], all[PEP_ZRAM_ALGOS_MAX];
	uint64_t size;
	enum pep_simd_isa isa;

	switch (which % 18) {
	case 0: coh_parse_nv_tegra_release(text, out, sizeof(out), &err); break;
	case 1: coh_parse_pnums(text, pnums, 4, &super); break;
	case 2: coh_meminfo_parse(text, &mi, &err); break;
	case 3: coh_proc_stat_parse(text, &cpu, &err); break;
	case 4: memset(&dev, 0, sizeof(dev));
		coh__parse_cpuinfo(text, &dev, &online); break;
	case 5: coh__count_cpu_list(text); break;
	case 6: coh_nvpmodel_status_parse(text, &id, &err); break;
	case 7: coh_nvpmodel_conf_mode_name(text, (int64_t)(strlen(text) % 5),
					    out, sizeof(out), &err); break;
	case 8: coh_thermal_display_name(text, out, sizeof(out)); break;
	case 9: coh_tegrastats_parse(text, &ts, &err);
		json = coh_tegrastats_json(&ts);
		free(json);
		break;
	case 10: run_nvpmodel_conf(text); break;
	case 11: run_jetson_clocks(text); break;
	case 12: coh_agent_listen_parse(text, out, sizeof(out), &port, &err); break;
	case 13: if (pep_zram_parse_mm_stat(text, &mm, &err) == 0)
			pep_zram_ratio(&mm);
		break;
	case 14: pep_zram_parse_io_stat(text, &io, &err); break;
	case 15: pep_zram_parse_algorithms(text, active, all, &err); break;
	case 16: pep_parse_size(text, &size, &err); break;
	case 17: pep_simd_isa_parse(text, &isa, &err); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	/* Files are NUL-terminated strings once read through the sysroot. */
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	run_parser(data[0], text);
	free(text);
	return 0;
}
