/*
 * jetson_clocks: the --show parser on captured output from three releases
 * (every field), odd and broken input; then show, store, on, off and
 * restore through tests/sim/jetson_clocks (the documented behaviour of
 * NVIDIA's script) on a copy of a fixture tree: `on` is refused while the
 * copy is hot, pins min == max and is verified, `off` brings the original
 * values back and is verified too. Restores use only the store file in the
 * state directory, and only when nobody else may have written it and it
 * names files under /sys. Never the build machine's clocks.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/power.h>
#include <cohete/sysroot.h>

#include "harness.h"

#define TREE "agx-orin-64gb-r36"
#define POLICY "sys/devices/system/cpu/cpufreq/policy"
#define GPU_DIR "sys/class/devfreq/17000000.gpu"
#define EMC_DIR "sys/kernel/debug/bpmp/debug/clk/emc"
#define TJ_TEMP "sys/devices/virtual/thermal/thermal_zone4/temp"
#define POLICY_LINE "/sys/devices/system/cpu/cpufreq/policy0/scaling_min_freq"

static char root[64], work[64], sim[512];
static const char *fixtures;
static struct coh_sysroot *sr;
static struct coh_clocks clocks;	/* 12 KiB: not on the stack */

/* Original values in the copy, read before anything changes them. */
static int64_t orig_cpu_min[3], orig_gpu_min;

static char *fixture_text(const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/jetson_clocks/%s", fixtures, name);
	return t_read_file(path);
}

static int parse_fixture(const char *name, struct coh_clocks *c)
{
	struct pep_err err;
	char *text = fixture_text(name);
	int ret;

	if (!text) {
		fprintf(stderr, "cannot read fixture %s\n", name);
		return -1;
	}
	ret = coh_clocks_parse(text, c, &err);
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", name, err.msg);
	free(text);
	return ret;
}

/* A file of the tree copy, as a number; INT64_MIN when unreadable. */
static int64_t tree_num(const char *rel)
{
	char path[256], *text;
	int64_t v = INT64_MIN;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	text = t_read_file(path);
	if (text)
		v = strtoll(text, NULL, 10);
	free(text);
	return v;
}

static int tree_write(const char *rel, const char *value)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", value);
	return fclose(f);
}

static int64_t policy_num(int policy, const char *file)
{
	char rel[128];

	snprintf(rel, sizeof(rel), POLICY "%d/%s", policy, file);
	return tree_num(rel);
}

static int test_parse_agx_orin_r35(void)
{
	static const unsigned int order[] = { 0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct coh_clocks *c = &clocks;
	const struct coh_clocks_cpu *cpu;
	char why[256];

	CHECK(parse_fixture("agx-orin-r35.txt", c) == 0);
	CHECK(!strcmp(c->soc_family, "tegra234"));
	CHECK(!strcmp(c->machine, "Jetson AGX Orin"));
	CHECK(!strcmp(c->online_cpus, "0-11") && c->online_cpu_count == 12);
	CHECK(c->cluster_switching[0] == '\0');
	CHECK(c->cpu_count == 12);
	for (unsigned int i = 0; i < 12; i++) {
		cpu = &c->cpu[i];
		CHECK(cpu->id == order[i]);
		CHECK(cpu->online == 1 && !strcmp(cpu->governor, "schedutil"));
		CHECK(cpu->min_khz == 729600 && cpu->max_khz == 2201600);
		CHECK(cpu->idle_count == 2 && !strcmp(cpu->idle[0].name, "WFI") &&
		      cpu->idle[0].enabled == 1 && !strcmp(cpu->idle[1].name, "c7") &&
		      cpu->idle[1].enabled == 1);
	}
	CHECK((cpu = coh_clocks_cpu_find(c, 10)) && cpu->cur_khz == 1113600);
	CHECK((cpu = coh_clocks_cpu_find(c, 6)) && cpu->cur_khz == 2188800);
	CHECK(coh_clocks_cpu_find(c, 12) == NULL);
	CHECK(c->gpu.present && !strcmp(c->gpu.name, "GPU") && c->gpu.online == -1);
	CHECK(c->gpu.min_hz == 306000000 && c->gpu.max_hz == 1300500000 &&
	      c->gpu.cur_hz == 306000000 && c->gpu.freq_override == COH_NA);
	CHECK(c->gpu_tpcs == COH_NA);
	CHECK(c->emc.present && c->emc.min_hz == 204000000 && c->emc.max_hz == 3199000000 &&
	      c->emc.cur_hz == 2133000000 && c->emc.freq_override == 0);
	CHECK(c->engine_count == 6);
	CHECK(!strcmp(c->engine[0].name, "DLA0_CORE") && c->engine[0].online == 1 &&
	      c->engine[0].min_hz == 0 && c->engine[0].max_hz == 1600000000 &&
	      c->engine[0].cur_hz == 1600000000);
	CHECK(!strcmp(c->engine[1].name, "DLA0_FALCON") && c->engine[1].max_hz == 844800000);
	CHECK(!strcmp(c->engine[4].name, "PVA0_VPS0") && c->engine[4].cur_hz == 1152000000);
	CHECK(!strcmp(c->engine[5].name, "PVA0_AXI") && c->engine[5].online == 1 &&
	      c->engine[5].max_hz == 832000000);
	CHECK(c->fan_count == 1 && !strcmp(c->fan[0].control, "active") &&
	      !strcmp(c->fan[0].name, "hwmon2_pwm1") && c->fan[0].pwm == 55 &&
	      c->fan[0].pwm_enable == COH_NA);
	CHECK(!strcmp(c->power_mode, "MAXN"));
	CHECK(c->line_count == 24 && c->unknown_lines == 0);
	CHECK(coh_clocks_pinned(c, why, sizeof(why)) == 0);
	CHECK(strstr(why, "cpu0 729600..2201600 kHz and 11 more CPUs, "));
	CHECK(strstr(why, "GPU 306000000..1300500000 Hz"));
	CHECK(strstr(why, "EMC not locked (FreqOverride=0)"));
	/* Locked but not at its maximum (yet). */
	c->emc.freq_override = 1;
	CHECK(coh_clocks_pinned(c, why, sizeof(why)) == 0);
	CHECK(strstr(why, "EMC at 2133000000 of 3199000000 Hz"));
	return T_PASS;
}

static int test_parse_orin_nano_jp6(void)
{
	static const int64_t cur[] = { 1497600, 1190400, 1344000, 1190400, 729600, 729600 };
	struct coh_clocks *c = &clocks;

	CHECK(parse_fixture("orin-nano-jp6.txt", c) == 0);
	CHECK(!strcmp(c->soc_family, "tegra234"));
	CHECK(!strcmp(c->machine,
		      "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"));
	CHECK(!strcmp(c->online_cpus, "0-5") && c->online_cpu_count == 6);
	CHECK(c->cpu_count == 6);
	for (unsigned int i = 0; i < 6; i++) {
		CHECK(c->cpu[i].id == i && c->cpu[i].online == 1);
		CHECK(!strcmp(c->cpu[i].governor, "schedutil"));
		CHECK(c->cpu[i].min_khz == 729600 && c->cpu[i].max_khz == 1497600 &&
		      c->cpu[i].cur_khz == cur[i]);
		CHECK(c->cpu[i].idle_count == 2 && c->cpu[i].idle[1].enabled == 1);
	}
	CHECK(c->gpu.min_hz == 306000000 && c->gpu.max_hz == 612000000 &&
	      c->gpu.cur_hz == 306000000);
	CHECK(c->gpu_tpcs == 4);
	CHECK(c->emc.min_hz == 204000000 && c->emc.max_hz == 2133000000 &&
	      c->emc.cur_hz == 2133000000 && c->emc.freq_override == 0);
	CHECK(c->engine_count == 0);
	CHECK(c->fan_count == 1 && !strcmp(c->fan[0].control, "kernel") &&
	      !strcmp(c->fan[0].name, "hwmon0_pwm1") && c->fan[0].pwm == 88);
	CHECK(!strcmp(c->power_mode, "15W"));
	CHECK(c->unknown_lines == 0 && c->line_count == 13);
	CHECK(coh_clocks_pinned(c, NULL, 0) == 0);
	return T_PASS;
}

static int test_parse_tx2_r28(void)
{
	struct coh_clocks *c = &clocks;

	CHECK(parse_fixture("tx2-r28.txt", c) == 0);
	CHECK(!strcmp(c->soc_family, "tegra186") && !strcmp(c->machine, "quill"));
	CHECK(!strcmp(c->cluster_switching, "Disabled"));
	CHECK(c->cpu_count == 6 && c->online_cpu_count == 6);
	CHECK(c->cpu[3].min_khz == 345600 && c->cpu[3].max_khz == 2035200 &&
	      c->cpu[3].cur_khz == 1267200);
	CHECK(c->cpu[0].idle_count == 2 && !strcmp(c->cpu[0].idle[0].name, "C1") &&
	      !strcmp(c->cpu[0].idle[1].name, "c7") && c->cpu[0].idle[0].enabled == 1);
	CHECK(c->gpu.min_hz == 114750000 && c->gpu.max_hz == 1300500000);
	CHECK(c->emc.min_hz == 40800000 && c->emc.max_hz == 1866000000 &&
	      c->emc.freq_override == 0);
	CHECK(c->fan_count == 1 && !strcmp(c->fan[0].name, "speed") &&
	      c->fan[0].pwm == 0 && c->fan[0].control[0] == '\0');
	CHECK(c->power_mode[0] == '\0' && c->gpu_tpcs == COH_NA);
	CHECK(c->engine_count == 0 && c->unknown_lines == 0);
	return T_PASS;
}

/* Lines of other releases, and lines that are not jetson_clocks'. */
static int test_parse_variants(void)
{
	static const char text[] =
		"SOC family:tegra234  Machine:NVIDIA Jetson Orin Nano Developer Kit\r\n"
		"Online CPUs: 0-5, Offline CPUs: \r\n"
		"cpu0:  Governor=schedutil MinFreq=1510400 MaxFreq=1510400 "
		"CurrentFreq=1510400 IdleStates: WFI=0 c7=0 \r\n"
		"cpu1: Gonvernor=interactive MinFreq=1510400 MaxFreq=1510400 CurrentFreq=\n"
		"cpu2: Online=0 Governor=schedutil MinFreq=729600 MaxFreq=1510400 "
		"CurrentFreq=729600 IdleStates:\n"
		"\n"
		"   \n"
		"GPU MinFreq=624750000 MaxFreq=624750000 CurrentFreq=624750000\n"
		"EMC MinFreq=2133000000 MaxFreq=2133000000 CurrentFreq=2133000000\n"
		"gpu-gpc-0 MinFreq=1575000000 MaxFreq=1575000000\n"
		"SE: Online=1 MinFreq=0 MaxFreq=18446744073709551615 CurrentFreq=435200000\n"
		"Failed to retrieve unit state: Access denied\n"
		"FAN Dynamic Speed Control=nvfancontrol hwmon0_pwm1=62\n"
		"FAN Dynamic Speed Control=nvfancontrol hwmon0_pwm1_enable=1\n"
		"Fan: PWM=0\n"
		"CPU dynamic HOTPLUG: 0\n"
		"dGPU DefaultMemFreq=5001MHz MaxMemFreq=5001MHz CurrentMemFreq=5001MHz\n"
		"NV Power Mode: MAXN_SUPER";
	struct coh_clocks *c = &clocks;
	char why[128];

	CHECK(coh_clocks_parse(text, c, NULL) == 0);
	CHECK(!strcmp(c->machine, "NVIDIA Jetson Orin Nano Developer Kit"));
	CHECK(!strcmp(c->online_cpus, "0-5") && c->online_cpu_count == 6);
	CHECK(c->cpu_count == 3);
	CHECK(c->cpu[0].online == -1 && c->cpu[0].idle[0].enabled == 0);
	CHECK(!strcmp(c->cpu[1].governor, "interactive") && c->cpu[1].cur_khz == COH_NA &&
	      c->cpu[1].idle_count == 0);
	CHECK(c->cpu[2].online == 0 && c->cpu[2].idle_count == 0);
	CHECK(c->emc.freq_override == COH_NA && c->emc.cur_hz == 2133000000);
	CHECK(c->engine_count == 2);
	CHECK(!strcmp(c->engine[0].name, "gpu-gpc-0") && c->engine[0].min_hz == 1575000000 &&
	      c->engine[0].cur_hz == COH_NA && c->engine[0].online == -1);
	CHECK(!strcmp(c->engine[1].name, "SE") && c->engine[1].max_hz == COH_NA &&
	      c->engine[1].cur_hz == 435200000);
	CHECK(c->fan_count == 2);
	CHECK(!strcmp(c->fan[0].name, "hwmon0_pwm1") && c->fan[0].pwm == 62 &&
	      c->fan[0].pwm_enable == 1 && !strcmp(c->fan[0].control, "nvfancontrol"));
	CHECK(!strcmp(c->fan[1].name, "PWM") && c->fan[1].pwm == 0);
	CHECK(!strcmp(c->power_mode, "MAXN_SUPER"));
	CHECK(c->line_count == 18 && c->unknown_lines == 3);
	/* cpu2 is offline: it does not count against pinning. */
	CHECK(coh_clocks_pinned(c, why, sizeof(why)) == 1 && why[0] == '\0');
	return T_PASS;
}

static int expect_error(const char *text, const char *needle)
{
	struct pep_err err = { 0 };
	int ret = coh_clocks_parse(text, &clocks, &err);

	if (ret != -EINVAL || err.code != -EINVAL || !strstr(err.msg, needle)) {
		fprintf(stderr, "parse -> %d '%s', expected -EINVAL with '%s'\n", ret,
			err.msg, needle);
		return -1;
	}
	return 0;
}

static int test_parse_broken(void)
{
	char *big, *text = fixture_text("agx-orin-r35.txt");
	size_t len, off = 0;
	struct pep_err err;

	CHECK(expect_error("SOC family:tegra234  Machine:x\ncpu3: Online=1 MinFreq=abc\n",
			   "line 2: cpu3: MinFreq=abc is not a number") == 0);
	CHECK(expect_error("cpu1: MaxFreq=1\ncpu1: MaxFreq=1\n",
			   "line 2: cpu1 is listed twice") == 0);
	CHECK(expect_error("GPU MaxFreq=1\nGPU MaxFreq=2\n", "line 2: a second GPU line") == 0);
	CHECK(expect_error("\n\nEMC MinFreq=1 FreqOverride=yes\n",
			   "line 3: EMC: FreqOverride=yes") == 0);
	CHECK(expect_error("Active GPU TPCs: four\n", "line 1: Active GPU TPCs") == 0);
	CHECK(expect_error("FAN Dynamic Speed control=active hwmon2_pwm1=-\n", "line 1: fan") == 0);
	CHECK(expect_error("hello\nworld\n",
			   "no line of jetson_clocks --show output in 2 lines") == 0);
	CHECK(expect_error("", "in 0 lines") == 0);
	CHECK(expect_error("Error: Run this script(/usr/bin/jetson_clocks) as a root user\n",
			   "no line") == 0);
	/* More CPUs than the table holds. */
	big = malloc(80 * 40);
	CHECK(big);
	for (int i = 0; i <= COH_CLOCKS_CPUS_MAX; i++)
		off += snprintf(big + off, 40, "cpu%d: MaxFreq=1\n", i);
	CHECK(expect_error(big, "line 65: more than 64 CPUs") == 0);
	/* A line longer than any jetson_clocks prints is counted, not parsed. */
	memset(big, 'x', 2000);
	strcpy(big + 2000, "\nNV Power Mode: MAXN\n");
	CHECK(coh_clocks_parse(big, &clocks, NULL) == 0 && clocks.unknown_lines == 1 &&
	      !strcmp(clocks.power_mode, "MAXN"));
	free(big);
	/* Output cut anywhere: parsed as far as it goes, never a crash. */
	CHECK(text);
	len = strlen(text);
	for (size_t cut = 1; cut < len; cut++) {
		char saved = text[cut];
		int ret;

		text[cut] = '\0';
		ret = coh_clocks_parse(text, &clocks, &err);
		text[cut] = saved;
		CHECK(ret == 0 || (ret == -EINVAL && strstr(err.msg, "line")));
	}
	free(text);
	return T_PASS;
}

/* The simulator, through the library, on a copy of a tree */

static int copy_tree(const char *tree)
{
	char cmd[1400];

	snprintf(root, sizeof(root), "/tmp/coh-clocks-XXXXXX");
	snprintf(work, sizeof(work), "/tmp/coh-clocks-work-XXXXXX");
	if (!mkdtemp(root) || !mkdtemp(work))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/%s/.' '%s/'", fixtures, tree, root);
	return system(cmd) == 0 ? 0 : -1;
}

/* The EMC's debugfs clock, as on R35/R36, unless the fixture has it. */
static int ensure_emc(void)
{
	char cmd[300];
	static const char *const files[][2] = {
		{ EMC_DIR "/min_rate", "204000000" }, { EMC_DIR "/max_rate", "3199000000" },
		{ EMC_DIR "/rate", "2133000000" }, { EMC_DIR "/mrq_rate_locked", "0" },
	};

	if (tree_num(EMC_DIR "/max_rate") != INT64_MIN)
		return 0;
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, EMC_DIR);
	if (system(cmd) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (tree_write(files[i][0], files[i][1]) < 0)
			return -1;
	return 0;
}

static void store_file(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", work, name);
}

/* A fresh state directory work/NAME and its store file's path. */
static int state_dir_in(const char *name, char *dir, size_t size, char *file,
			size_t file_size)
{
	snprintf(dir, size, "%s/%s", work, name);
	snprintf(file, file_size, "%s/l4t_dfs.conf", dir);
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static int test_show(void)
{
	struct coh_clocks_opts o = { .program = sim, .state_dir = work };
	struct coh_clocks *c = &clocks;
	struct pep_err err;

	CHECK(coh_clocks_show(sr, &o, c, &err) == 0);
	CHECK(!strcmp(c->soc_family, "tegra234"));
	CHECK(!strcmp(c->machine, "NVIDIA Jetson AGX Orin Developer Kit"));
	CHECK(c->cpu_count == 12 && c->online_cpu_count == 12);
	CHECK(c->cpu[0].id == 0 && c->cpu[1].id == 1 && c->cpu[2].id == 10 &&
	      c->cpu[3].id == 11 && c->cpu[4].id == 2 && c->cpu[11].id == 9);
	/* Each CPU line matches its cpufreq policy (0-3, 4-7, 8-11). */
	for (unsigned int i = 0; i < c->cpu_count; i++) {
		int policy = c->cpu[i].id / 4 * 4;

		CHECK(c->cpu[i].online == 1);
		CHECK(c->cpu[i].min_khz == policy_num(policy, "scaling_min_freq"));
		CHECK(c->cpu[i].max_khz == policy_num(policy, "scaling_max_freq"));
		CHECK(c->cpu[i].cur_khz == policy_num(policy, "scaling_cur_freq"));
	}
	CHECK(c->gpu.min_hz == tree_num(GPU_DIR "/min_freq") &&
	      c->gpu.max_hz == tree_num(GPU_DIR "/max_freq") &&
	      c->gpu.cur_hz == tree_num(GPU_DIR "/cur_freq"));
	CHECK(c->emc.present && c->emc.max_hz == tree_num(EMC_DIR "/max_rate") &&
	      c->emc.freq_override == 0);
	CHECK(c->fan_count == 1 && !strcmp(c->fan[0].control, "kernel") &&
	      c->fan[0].pwm == tree_num("sys/devices/platform/pwm-fan/hwmon/hwmon0/pwm1") &&
	      c->fan[0].pwm_enable == 1);
	CHECK(!strcmp(c->power_mode, "MAXN"));
	CHECK(coh_clocks_pinned(c, NULL, 0) == 0);
	return T_PASS;
}

/* No temporary directory is left beside the store file. */
static int no_leftovers(void)
{
	struct dirent *de;
	DIR *d = opendir(work);
	int found = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		found |= !strncmp(de->d_name, ".l4t_dfs.", 9);
	closedir(d);
	return found ? -1 : 0;
}

static int test_store(void)
{
	struct coh_clocks_opts o = { .program = sim, .state_dir = work };
	char path[128], want[128], *text;
	struct pep_err err;
	int n;

	store_file(path, sizeof(path), "stored.conf");
	n = coh_clocks_store(sr, &o, path, &err);
	CHECK(n > 20);
	CHECK(no_leftovers() == 0);
	text = t_read_file(path);
	CHECK(text);
	snprintf(want, sizeof(want),
		 "/sys/devices/system/cpu/cpu10/cpufreq/scaling_min_freq:%lld\n",
		 (long long)orig_cpu_min[2]);
	CHECK(strstr(text, want));
	CHECK(strstr(text, "/sys/kernel/debug/bpmp/debug/clk/emc/mrq_rate_locked:0\n"));
	free(text);
	/* Again over the existing file: replaced, no question asked. */
	CHECK(coh_clocks_store(sr, &o, path, &err) == n);
	CHECK(no_leftovers() == 0);
	return T_PASS;
}

static int test_on_refused_when_hot(void)
{
	struct coh_clocks_opts o = { .program = sim };
	struct coh_clocks_on_result res;
	struct pep_err err;
	char dir[128], path[160];

	CHECK(state_dir_in("hot", dir, sizeof(dir), path, sizeof(path)) == 0);
	o.state_dir = dir;
	CHECK(tree_write(TJ_TEMP, "72500") == 0);
	CHECK(coh_clocks_on(sr, &o, NULL, &res, &err) == -ECANCELED);
	CHECK(strstr(err.msg, "tj is at 72.5 °C") && strstr(err.msg, "60.0 °C limit"));
	CHECK(res.temp_mc == 72500 && res.limit_mc == 60000 && !strcmp(res.zone, "tj"));
	/* Nothing was touched: no store file, clocks as they were. */
	CHECK(access(path, F_OK) != 0);
	CHECK(policy_num(0, "scaling_min_freq") == orig_cpu_min[0]);
	/* A lower limit of the caller's. */
	CHECK(tree_write(TJ_TEMP, "52343") == 0);
	o.max_temp_mc = 50000;
	CHECK(coh_clocks_on(sr, &o, NULL, &res, &err) == -ECANCELED);
	CHECK(strstr(err.msg, "52.3 °C") && strstr(err.msg, "50.0 °C limit"));
	/* No zone that measures: not known to be cool, so refused too. */
	o.max_temp_mc = 0;
	for (int z = 0; z <= 4; z++) {
		char rel[80];

		snprintf(rel, sizeof(rel), "sys/devices/virtual/thermal/thermal_zone%d/temp", z);
		CHECK(tree_write(rel, "-256000") == 0);
	}
	CHECK(coh_clocks_on(sr, &o, NULL, &res, &err) == -ECANCELED);
	CHECK(strstr(err.msg, "no thermal zone"));
	CHECK(access(path, F_OK) != 0 && policy_num(0, "scaling_min_freq") == orig_cpu_min[0]);
	for (int z = 0; z <= 4; z++) {
		char rel[80];

		snprintf(rel, sizeof(rel), "sys/devices/virtual/thermal/thermal_zone%d/temp", z);
		CHECK(tree_write(rel, "45000") == 0);
	}
	return T_PASS;
}

static int check_pinned_tree(void)
{
	for (int policy = 0; policy < 12; policy += 4)
		CHECK(policy_num(policy, "scaling_min_freq") ==
		      policy_num(policy, "scaling_max_freq"));
	CHECK(tree_num(GPU_DIR "/min_freq") == tree_num(GPU_DIR "/max_freq"));
	CHECK(tree_num(EMC_DIR "/mrq_rate_locked") == 1);
	CHECK(tree_num(EMC_DIR "/rate") == tree_num(EMC_DIR "/max_rate"));
	return T_PASS;
}

static int test_on_off(void)
{
	struct coh_clocks_opts o = { .program = sim, .fan = 1, .state_dir = work };
	struct coh_clocks_on_result res;
	char path[128], *before, *after;
	struct pep_err err;

	store_file(path, sizeof(path), "l4t_dfs.conf");
	CHECK(coh_clocks_on(sr, &o, path, &res, &err) == 0);
	CHECK(res.stored && !strcmp(res.store_file, path));
	CHECK(res.temp_mc == 45000 && !strcmp(res.zone, "tj") && res.limit_mc == 60000);
	CHECK(check_pinned_tree() == T_PASS);
	CHECK(tree_num("sys/devices/platform/pwm-fan/hwmon/hwmon0/pwm1") == 255);
	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == 0);
	CHECK(coh_clocks_pinned(&clocks, NULL, 0) == 1);
	CHECK(!strcmp(clocks.fan[0].control, "disabled") && clocks.fan[0].pwm == 255);
	/* On again: the stored defaults are kept, not replaced by pinned ones. */
	before = t_read_file(path);
	CHECK(before);
	CHECK(coh_clocks_on(sr, &o, path, &res, &err) == 0 && !res.stored);
	after = t_read_file(path);
	CHECK(after && !strcmp(before, after));
	free(before);
	free(after);
	/* A restore that changes nothing is caught by the read-back. */
	o.program = "/bin/true";
	CHECK(coh_clocks_off(sr, &o, path, &err) == -EIO);
	CHECK(strstr(err.msg, "restore did not take") && strstr(err.msg, "scaling_min_freq"));
	o.program = sim;
	CHECK(coh_clocks_off(sr, &o, path, &err) > 20);
	for (int policy = 0; policy < 12; policy += 4)
		CHECK(policy_num(policy, "scaling_min_freq") == orig_cpu_min[policy / 4]);
	CHECK(tree_num(GPU_DIR "/min_freq") == orig_gpu_min);
	CHECK(tree_num(EMC_DIR "/mrq_rate_locked") == 0);
	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == 0);
	CHECK(coh_clocks_pinned(&clocks, NULL, 0) == 0);
	CHECK(!strcmp(clocks.fan[0].control, "kernel"));
	return T_PASS;
}

static int write_script(const char *name, const char *body, char *path, size_t size)
{
	FILE *f;

	store_file(path, size, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	return chmod(path, 0755);
}

/* jetson_clocks runs but pins nothing: `on` says what did not take. */
static int test_on_not_pinned(void)
{
	struct coh_clocks_opts o = { 0 };
	char lazy[128], body[700], dir[128], path[160];
	struct pep_err err;

	snprintf(body, sizeof(body), "[ $# -eq 0 ] && exit 0\nexec '%s' \"$@\"", sim);
	CHECK(write_script("lazy_clocks", body, lazy, sizeof(lazy)) == 0);
	CHECK(state_dir_in("lazy", dir, sizeof(dir), path, sizeof(path)) == 0);
	o.program = lazy;
	o.state_dir = dir;
	CHECK(coh_clocks_on(sr, &o, NULL, NULL, &err) == -EIO);
	CHECK(strstr(err.msg, "not pinned: cpu0 ") && strstr(err.msg, "kHz"));
	CHECK(access(path, F_OK) == 0);
	return T_PASS;
}

static int test_failures(void)
{
	struct coh_clocks_opts o = { .program = "no-such-jetson_clocks",
					.state_dir = work };
	char path[160], dir[128];
	struct pep_err err;
	FILE *f;

	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == -ENOENT);
	CHECK(strstr(err.msg, "no-such-jetson_clocks not found"));
	o.program = "/bin/false";
	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == -EIO && strstr(err.msg, "exit 1"));
	o.program = "/bin/true";
	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == -EINVAL);
	CHECK(strstr(err.msg, "--show: no line"));
	store_file(path, sizeof(path), "never.conf");
	CHECK(coh_clocks_store(sr, &o, path, &err) == -EIO);
	CHECK(strstr(err.msg, "wrote no file") && access(path, F_OK) != 0);
	CHECK(no_leftovers() == 0);
	o.program = sim;
	setenv("JETSON_CLOCKS_SIM_USER", "nvidia", 1);
	CHECK(coh_clocks_show(sr, &o, &clocks, &err) == -EACCES);
	CHECK(strstr(err.msg, "--show: needs root"));
	unsetenv("JETSON_CLOCKS_SIM_USER");
	CHECK(coh_clocks_store(sr, &o, "/nonexistent-dir/l4t_dfs.conf", &err) == -ENOTDIR);
	CHECK(strstr(err.msg, "no such directory"));
	/* Restore: nothing stored, a file that is not a store, a bad path. */
	CHECK(state_dir_in("empty", dir, sizeof(dir), path, sizeof(path)) == 0);
	o.state_dir = dir;
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -ENODATA);
	CHECK(strstr(err.msg, "nothing was stored"));
	f = fopen(path, "w");
	CHECK(f);
	fputs("/sys/devices/system/cpu/cpu0/cpufreq/scaling_min_freq:729600\nhello\n", f);
	fclose(f);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EINVAL);
	CHECK(strstr(err.msg, "l4t_dfs.conf:2: not \"path:value\""));
	f = fopen(path, "w");
	CHECK(f);
	fputs("/sys/devices/no/such/file:1\n", f);
	fclose(f);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EIO);
	CHECK(strstr(err.msg, "Error: Failed to restore /sys/devices/no/such/file"));
	return T_PASS;
}

static int test_store_path(void)
{
	struct coh_clocks_opts o = { .state_dir = "/run/x" };
	char path[64];

	CHECK(coh_clocks_store_path(NULL, NULL, path, sizeof(path), NULL) == 0);
	CHECK(!strcmp(path, COH_CLOCKS_STATE_DIR "/l4t_dfs.conf"));
	CHECK(coh_clocks_store_path(&o, NULL, path, sizeof(path), NULL) == 0);
	CHECK(!strcmp(path, "/run/x/l4t_dfs.conf"));
	CHECK(coh_clocks_store_path(&o, "/tmp/x.conf", path, sizeof(path), NULL) == 0 &&
	      !strcmp(path, "/tmp/x.conf"));
	CHECK(coh_clocks_store_path(NULL, NULL, path, 10, NULL) == -ENAMETOOLONG);
	return T_PASS;
}

/* A store file to restore from, in work/NAME: lines, then the mode. */
static int make_store(const char *name, const char *lines, mode_t mode,
		      char *dir, size_t size, char *path, size_t path_size)
{
	FILE *f;

	if (state_dir_in(name, dir, size, path, path_size) < 0)
		return -1;
	unlink(path);
	f = fopen(path, "w");
	if (!f || fputs(lines, f) < 0 || fclose(f) != 0)
		return -1;
	return chmod(path, mode);
}

/*
 * jetson_clocks --restore writes whatever a store file names, as root:
 * only the state directory's own file is handed to it, only when nobody
 * else may have written it, and only when it names files under /sys.
 */
static int test_restore_only_own_file(void)
{
	struct coh_clocks_opts o = { .program = sim };
	char dir[128], path[160], evil[160], cmd[400];
	struct pep_err err;

	/* Another file, with a line that would change the tree: refused. */
	CHECK(make_store("other", POLICY_LINE ":115200\n", 0600, dir, sizeof(dir), evil,
			 sizeof(evil)) == 0);
	CHECK(state_dir_in("own", dir, sizeof(dir), path, sizeof(path)) == 0);
	o.state_dir = dir;
	CHECK(coh_clocks_restore(sr, &o, evil, &err) == -EPERM);
	CHECK(strstr(err.msg, evil) && strstr(err.msg, path));
	CHECK(coh_clocks_off(sr, &o, evil, &err) == -EPERM);
	CHECK(coh_clocks_on(sr, &o, evil, NULL, &err) == -EPERM);
	CHECK(policy_num(0, "scaling_min_freq") == orig_cpu_min[0]);
	/* The own file, naming something outside /sys, or climbing out of it. */
	CHECK(make_store("own", "/etc/passwd:x\n", 0600, dir, sizeof(dir), path,
			 sizeof(path)) == 0);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EINVAL);
	CHECK(strstr(err.msg, "l4t_dfs.conf:1") && strstr(err.msg, "/etc/passwd"));
	CHECK(make_store("own", "/sys/../etc/passwd:x\n", 0600, dir, sizeof(dir), path,
			 sizeof(path)) == 0);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EINVAL);
	/* Writable by others, or a link: refused, whatever it holds. */
	CHECK(make_store("own", POLICY_LINE ":115200\n", 0620, dir, sizeof(dir), path,
			 sizeof(path)) == 0);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EPERM);
	CHECK(strstr(err.msg, "0620") && strstr(err.msg, "others"));
	CHECK(unlink(path) == 0 && symlink(evil, path) == 0);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EPERM && strstr(err.msg, "symlink"));
	CHECK(make_store("own", POLICY_LINE ":115200\n", 0600, dir, sizeof(dir), path,
			 sizeof(path)) == 0);
	CHECK(chmod(dir, 0777) == 0);
	CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EPERM && strstr(err.msg, "0777"));
	CHECK(policy_num(0, "scaling_min_freq") == orig_cpu_min[0]);
	if (geteuid() == 0) {
		CHECK(chmod(dir, 0700) == 0 && chown(path, 65534, 65534) == 0);
		CHECK(coh_clocks_restore(sr, &o, NULL, &err) == -EPERM);
		CHECK(strstr(err.msg, "owned by uid 65534"));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return T_PASS;
}

/* JetPack 4: offline Denver cores without cpufreq, "Fan: PWM=", no EMC. */
static int test_show_tx2(void)
{
	struct coh_clocks_opts o = { .program = sim, .state_dir = work };
	struct coh_sysroot_opts so = { .root = NULL };
	struct coh_sysroot *tx2;
	struct pep_err err;
	char path[600];
	int ret;

	snprintf(path, sizeof(path), "%s/sysroots/tx2-r32", fixtures);
	so.root = path;
	CHECK(coh_sysroot_open(&tx2, &so, NULL) == 0);
	ret = coh_clocks_show(tx2, &o, &clocks, &err);
	coh_sysroot_close(tx2);
	CHECK(ret == 0);
	CHECK(!strcmp(clocks.soc_family, "tegra186") && !strcmp(clocks.online_cpus, "0,3-5"));
	CHECK(clocks.cpu_count == 4 && clocks.online_cpu_count == 4);
	CHECK(clocks.cpu[0].id == 0 && clocks.cpu[1].id == 3 && clocks.cpu[3].id == 5);
	CHECK(clocks.gpu.present && !clocks.emc.present);
	CHECK(clocks.fan_count == 1 && !strcmp(clocks.fan[0].name, "PWM"));
	return T_PASS;
}

static int setup_tree(void)
{
	struct coh_sysroot_opts opts = { .root = root };

	if (copy_tree(TREE) < 0 || ensure_emc() < 0 ||
	    coh_sysroot_open(&sr, &opts, NULL) < 0)
		return -1;
	for (int p = 0; p < 3; p++)
		orig_cpu_min[p] = policy_num(p * 4, "scaling_min_freq");
	orig_gpu_min = tree_num(GPU_DIR "/min_freq");
	/* A tree whose clocks are already pinned would prove nothing. */
	if (orig_cpu_min[0] == policy_num(0, "scaling_max_freq") ||
	    orig_gpu_min == tree_num(GPU_DIR "/max_freq") || orig_gpu_min == INT64_MIN) {
		fprintf(stderr, "%s: clocks already pinned or GPU missing\n", TREE);
		return -1;
	}
	return 0;
}

int main(void)
{
	const char *simdir = getenv("COHETE_SIM");
	char cmd[200];
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	if (!fixtures || !simdir) {
		printf("SKIP: COHETE_FIXTURES/COHETE_SIM not set (run through meson test)\n");
		return T_SKIP;
	}
	t_run("parse_agx_orin_r35", test_parse_agx_orin_r35, &rc);
	t_run("parse_orin_nano_jp6", test_parse_orin_nano_jp6, &rc);
	t_run("parse_tx2_r28", test_parse_tx2_r28, &rc);
	t_run("parse_variants", test_parse_variants, &rc);
	t_run("parse_broken", test_parse_broken, &rc);
	t_run("store_path", test_store_path, &rc);
	if (access("/usr/bin/python3", X_OK) != 0) {
		printf("SKIP: the jetson_clocks simulator needs python3 (parser tests ran)\n");
		return rc == T_PASS ? T_SKIP : rc;
	}
	snprintf(sim, sizeof(sim), "%s/jetson_clocks", simdir);
	unsetenv("JETSON_CLOCKS_SIM_USER");
	if (setup_tree() < 0) {
		rc = T_ERROR;
	} else {
		t_run("show", test_show, &rc);
		t_run("store", test_store, &rc);
		t_run("on_refused_when_hot", test_on_refused_when_hot, &rc);
		t_run("on_off", test_on_off, &rc);
		t_run("on_not_pinned", test_on_not_pinned, &rc);
		t_run("failures", test_failures, &rc);
		t_run("restore_only_own_file", test_restore_only_own_file, &rc);
		t_run("show_tx2", test_show_tx2, &rc);
	}
	coh_sysroot_close(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, work);
	if (root[0] && work[0] && !strstr(root, "XXXXXX") && system(cmd) != 0)
		fprintf(stderr, "could not remove %s and %s\n", root, work);
	return rc;
}
