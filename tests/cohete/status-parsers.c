/*
 * The text parsers behind identification and status, on real lines and on
 * the broken ones a truncated capture or a new release produces.
 */
#include <errno.h>
#include <string.h>

#include <cohete/device.h>
#include <cohete/memory.h>
#include <cohete/power.h>
#include <cohete/status.h>
#include <cohete/thermal.h>

#include "harness.h"

static int test_nv_tegra_release(void)
{
	struct pep_err err;
	char l4t[32];

	CHECK(coh_parse_nv_tegra_release("# R36 (release), REVISION: 4.3, GCID: "
		"38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 "
		"UTC 2025\n", l4t, sizeof(l4t), NULL) == 0);
	CHECK(!strcmp(l4t, "36.4.3"));
	CHECK(coh_parse_nv_tegra_release("# R32 (release), REVISION: 7.1, GCID: "
		"29818004, BOARD: t210ref, EABI: aarch64\n", l4t, sizeof(l4t),
		NULL) == 0 && !strcmp(l4t, "32.7.1"));
	CHECK(coh_parse_nv_tegra_release("# R36 (release), REVISION: x.y\n", l4t,
					 sizeof(l4t), &err) == -EINVAL);
	CHECK(strstr(err.msg, "REVISION"));
	CHECK(coh_parse_nv_tegra_release("", l4t, sizeof(l4t), &err) == -EINVAL);
	CHECK(coh_parse_nv_tegra_release("# R99999999 (release), REVISION: 1.2",
					 l4t, sizeof(l4t), &err) == -EINVAL);
	return T_PASS;
}

static int test_pnums(void)
{
	char p[4][32];
	int super;

	CHECK(coh_parse_pnums("nvidia,p3768-0000+p3767-0005-super", p, 4,
			      &super) == 2);
	CHECK(!strcmp(p[0], "p3767-0005") && !strcmp(p[1], "p3768-0000") && super);
	CHECK(coh_parse_pnums("nvidia,p3509-0000+p3668-0001", p, 4, &super) == 2);
	CHECK(!strcmp(p[0], "p3668-0001") && !super);
	CHECK(coh_parse_pnums("tegra194-p2888-0001-p2822-0000.dts", p, 4, NULL) == 2);
	CHECK(!strcmp(p[0], "p2888-0001") && !strcmp(p[1], "p2822-0000"));
	CHECK(coh_parse_pnums("tegra186-quill-p3310-1000-c03-00-base.dts", p, 4,
			      NULL) == 1 && !strcmp(p[0], "p3310-1000"));
	CHECK(coh_parse_pnums("nvidia,jetson-nano", p, 4, NULL) == 0);
	CHECK(coh_parse_pnums("xp3767-0005 p376-00005 p3767-00051", p, 4, NULL) == 0);
	CHECK(coh_parse_pnums("p1111-1111 p2222-2222 p3333-3333", p, 2, NULL) == 2);
	return T_PASS;
}

static int test_meminfo(void)
{
	struct coh_meminfo mi;
	struct pep_err err;

	CHECK(coh_meminfo_parse("MemTotal:        7620000 kB\nMemFree:  100 kB\n"
		"MemAvailable:    5000000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
		"NvMapMemUsed:  12 kB\n", &mi, NULL) == 0);
	CHECK(mi.total_kb == 7620000 && mi.available_kb == 5000000);
	CHECK(mi.nvmap_used_kb == 12 && mi.cached_kb == COH_NA);
	/* Truncated mid-line: the partial last line is not trusted. */
	CHECK(coh_meminfo_parse("MemTotal: 7620000 kB\nMemFree:     12", &mi,
				NULL) == 0);
	CHECK(mi.total_kb == 7620000 && mi.free_kb == COH_NA &&
	      mi.available_kb == COH_NA);
	CHECK(coh_meminfo_parse("MemTotal: 1 kB\nMemFree: lots kB\nCached: 5 kB\n",
				&mi, &err) == -EINVAL);
	CHECK(strstr(err.msg, "/proc/meminfo:2") && strstr(err.msg, "MemFree"));
	CHECK(mi.cached_kb == 5 && mi.free_kb == COH_NA);
	return T_PASS;
}

static int test_proc_stat(void)
{
	static struct coh_cpu cpu;
	struct pep_err err;

	CHECK(coh_proc_stat_parse("cpu  10 0 10 80 0 0 0 0 0 0\n"
		"cpu0 5 0 5 40 0 0 0 0 0 0\ncpu3 1 1 1 7 0 0 0 0 0 0\nintr 1 2\n",
		&cpu, NULL) == 0);
	CHECK(cpu.count == 2 && cpu.core[1].id == 3);
	CHECK(cpu.core[0].total_ticks == 50 && cpu.core[0].busy_ticks == 10);
	CHECK(coh_proc_stat_parse("cpu0 5 x\ncpu1 1 1 1 1\n", &cpu, &err) == -EINVAL);
	CHECK(strstr(err.msg, "/proc/stat:1"));
	CHECK(cpu.count == 1 && cpu.core[0].id == 1);
	CHECK(coh_proc_stat_parse("cpu999999 1 1 1 1\n", &cpu, &err) == -EINVAL);
	return T_PASS;
}

static int test_nvpmodel(void)
{
	static const char conf[] =
		"< PARAM TYPE=FILE NAME=CPU_ONLINE >\nCORE_0 /sys/x\n"
		"< POWER_MODEL ID=0 NAME=15W >\nCPU_ONLINE CORE_0 1\n"
		"<POWER_MODEL ID=2 NAME=MAXN_SUPER>\nGPU MAX_FREQ -1\n"
		"< PM_CONFIG DEFAULT=1 >\n";
	struct pep_err err;
	char name[48];
	int64_t id;

	CHECK(coh_nvpmodel_status_parse("pmode:0002 fmode:quiet\n", &id, NULL) == 0);
	CHECK(id == 2);
	CHECK(coh_nvpmodel_status_parse("pmode:\n", &id, &err) == -EINVAL);
	CHECK(coh_nvpmodel_status_parse("", &id, &err) == -EINVAL);
	CHECK(coh_nvpmodel_conf_mode_name(conf, 2, name, sizeof(name), NULL) == 0);
	CHECK(!strcmp(name, "MAXN_SUPER"));
	CHECK(coh_nvpmodel_conf_mode_name(conf, 0, name, sizeof(name), NULL) == 0);
	CHECK(!strcmp(name, "15W"));
	CHECK(coh_nvpmodel_conf_mode_name(conf, 1, name, sizeof(name), &err) ==
	      -ENOENT);
	return T_PASS;
}

static int test_thermal_names(void)
{
	static const char *const cases[][2] = {
		{ "cpu-thermal", "cpu" }, { "GPU-therm", "GPU" },
		{ "Tboard_tegra", "Tboard" }, { "x86_pkg_temp", "x86_pkg_temp" },
		{ "thermal-fan-est", "thermal-fan-est" }, { "", "" },
	};
	char out[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		coh_thermal_display_name(cases[i][0], out, sizeof(out));
		CHECK(!strcmp(out, cases[i][1]));
	}
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("nv_tegra_release", test_nv_tegra_release, &rc);
	t_run("pnums", test_pnums, &rc);
	t_run("meminfo", test_meminfo, &rc);
	t_run("proc_stat", test_proc_stat, &rc);
	t_run("nvpmodel", test_nvpmodel, &rc);
	t_run("thermal_names", test_thermal_names, &rc);
	return rc;
}
