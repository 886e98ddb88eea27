/*
 * cohete status on the live machine: the numbers must agree with what the
 * kernel says at the same instant.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/status.h>
#include <cohete/sysroot.h>

#include "harness.h"

#define SLACK_KB (50 * 1024)	/* the issue's ±50 MB */

static long long meminfo_kb(const char *key)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = atoll(line + strlen(key) + 1);
	fclose(f);
	return v;
}

static unsigned int count_thermal_zones(void)
{
	DIR *d = opendir("/sys/class/thermal");
	struct dirent *de;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "thermal_zone", 12);
	closedir(d);
	return n;
}

static struct coh_status st;

static int sample_live(void)
{
	struct coh_sysroot *sr;

	if (coh_sysroot_open(&sr, NULL, NULL) < 0)
		return -1;
	coh_status_sample(sr, NULL, &st);
	coh_sysroot_close(sr);
	return 0;
}

static int test_memory_matches_kernel(void)
{
	long long before, after, lo, hi;

	before = meminfo_kb("MemAvailable");
	CHECK(sample_live() == 0);
	after = meminfo_kb("MemAvailable");
	CHECK(before > 0 && after > 0);
	lo = (before < after ? before : after) - SLACK_KB;
	hi = (before > after ? before : after) + SLACK_KB;
	if (st.memory.info.available_kb < lo || st.memory.info.available_kb > hi) {
		fprintf(stderr, "available_kb %lld, kernel said %lld..%lld\n",
			(long long)st.memory.info.available_kb, before, after);
		return T_FAIL;
	}
	CHECK(st.memory.info.total_kb == meminfo_kb("MemTotal"));
	CHECK(st.device.mem_total_kb == (uint64_t)meminfo_kb("MemTotal"));
	return T_PASS;
}

static int test_device_and_cpus(void)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int online = 0;
	int jetson = access("/etc/nv_tegra_release", F_OK) == 0;

	CHECK(sample_live() == 0);
	CHECK(st.device.kind == (jetson ? COH_HOST_JETSON : COH_HOST_OTHER));
	CHECK(st.device.kernel[0] && st.device.cpu_model[0]);
	CHECK(st.cpu.count == (unsigned int)conf);
	for (unsigned int i = 0; i < st.cpu.count; i++) {
		online += st.cpu.core[i].online;
		if (st.cpu.core[i].online) {
			CHECK(st.cpu.core[i].load_permille >= 0 &&
			      st.cpu.core[i].load_permille <= 1000);
		}
	}
	CHECK(online == (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
	CHECK(st.uptime_s > 0);
	CHECK(st.thermal.count == count_thermal_zones());
	return T_PASS;
}

static int test_json_is_one_document(void)
{
	char *json;

	CHECK(sample_live() == 0);
	json = coh_status_json(&st);
	CHECK(json && json[0] == '{' && json[strlen(json) - 1] == '}');
	free(json);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	if (access("/proc/meminfo", R_OK) != 0) {
		printf("SKIP: no /proc/meminfo (procfs not mounted)\n");
		return T_SKIP;
	}
	t_run("memory_matches_kernel", test_memory_matches_kernel, &rc);
	t_run("device_and_cpus", test_device_and_cpus, &rc);
	t_run("json_is_one_document", test_json_is_one_document, &rc);
	return rc;
}
