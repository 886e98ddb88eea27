/*
 * tegrastats parsing: every real line in tests/fixtures/tegrastats/
 * samples.txt must give its golden JSON (samples.golden.jsonl, one line per
 * sample, every field), and the known traps must parse as documented.
 * COHETE_UPDATE_GOLDEN=1 rewrites the golden file; review the diff.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/thermal.h>

#include "harness.h"

/* 2026-01-02T03:04:05.678Z: the read time of every golden line */
#define GOLDEN_TIME_MS 1767323045678LL

static struct coh_tegrastats ts;

static int parse(const char *line)
{
	return coh_tegrastats_parse(line, &ts, NULL);
}

static int test_name_collisions(void)
{
	/* AGX Xavier R32: "CPU [..]" cores, "CPU@.." a zone, "CPU 465/465" a rail. */
	CHECK(parse("RAM 1733/15827MB (lfb 3283x4MB) CPU [1%@1190,off] "
		    "GPU@26.5C CPU@26.5C GPU 621/621 CPU 465/465") == 0);
	CHECK(ts.cpu_count == 2 && ts.cpu[0].freq_mhz == 1190 && !ts.cpu[1].online);
	CHECK(ts.temp_count == 2 && !strcmp(ts.temp[1].name, "CPU") &&
	      ts.temp[1].temp_mc == 26500);
	CHECK(ts.rail_count == 2 && !strcmp(ts.rail[1].name, "CPU") &&
	      ts.rail[1].cur_mw == 465 && !ts.rail[1].unit);
	CHECK(ts.lfb_count == 3283 && ts.lfb_size_kb == 4096);
	return T_PASS;
}

static int test_gpu_forms(void)
{
	CHECK(parse("GR3D_FREQ 0%@[1300,1300]") == 0);
	CHECK(ts.gpu_load_pct == 0 && ts.gpc_count == 2 && ts.gpc_freq_mhz[1] == 1300);
	CHECK(parse("GR3D_FREQ @[314,314,314]") == 0);
	CHECK(ts.gpu_load_pct == COH_NA && ts.gpc_count == 3);
	CHECK(parse("GR3D_FREQ 53%@140 GR3D2_FREQ 0%@114") == 0);
	CHECK(ts.gpu_load_pct == 53 && ts.gpc_freq_mhz[0] == 140 &&
	      ts.gpu2_freq_mhz == 114);
	CHECK(parse("GR3D_FREQ 4%") == 0 && ts.gpu_load_pct == 4 && !ts.gpc_count);
	return T_PASS;
}

static int test_temps_and_rails(void)
{
	CHECK(parse("CV0@-256C PMIC@100C cpu@52.968C/53.5C tj@47C") == 0);
	CHECK(ts.temp[0].offline && ts.temp[0].temp_mc == COH_NA);
	CHECK(ts.temp[1].placeholder && ts.temp[1].temp_mc == 100000);
	CHECK(ts.temp[2].temp_mc == 52968 && ts.temp[2].max_mc == 53500);
	CHECK(ts.temp[3].temp_mc == 47000 && ts.temp[3].max_mc == COH_NA);
	/* A truncated unit on the average, and JetPack 7.2 cur/avg/max. */
	CHECK(parse("VDD_CPU_GPU_CV 598mW/598 VDD_IN 5139mW/4000mW/6000mW") == 0);
	CHECK(ts.rail[0].cur_mw == 598 && ts.rail[0].avg_mw == 598 && ts.rail[0].unit);
	CHECK(ts.rail[1].max_mw == 6000 && ts.rail[1].avg_mw == 4000);
	return T_PASS;
}

static int test_old_and_odd(void)
{
	/* Very old TX1 releases: one clock for all cores after the list. */
	CHECK(parse("RAM 500/3983MB (lfb 1x1MB) CPU [10%,20%,off,0%]@102") == 0);
	CHECK(ts.cpu_count == 4 && ts.cpu[1].load_pct == 20 &&
	      ts.cpu[1].freq_mhz == 102 && !ts.cpu[2].online);
	CHECK(ts.lfb_size_kb == 1024);
	CHECK(parse("IRAM 0/252kB(lfb 252kB) MTS fg 1% bg 2% APE 150 "
		    "EMC_FREQ @2133 NVENC 79%@166 OFA off MSENC 115 NVENC0_FREQ @0") == 0);
	CHECK(ts.iram_total_kb == 252 && ts.iram_lfb_kb == 252);
	CHECK(ts.mts_fg_pct == 1 && ts.mts_bg_pct == 2 && ts.ape_mhz == 150);
	CHECK(ts.emc_load_pct == COH_NA && ts.emc_freq_mhz == 2133);
	CHECK(ts.engine_count == 4 && ts.engine[0].load_pct == 79 &&
	      ts.engine[1].off && ts.engine[2].freq_mhz == 115 &&
	      ts.engine[3].freq_mhz == 0);
	CHECK(parse("SWAP 19/31400MB(cached 3MB)") == 0 && ts.swap_cached_mb == 3);
	CHECK(parse("SWAP 19/31400MB") == 0 && ts.swap_cached_mb == COH_NA);
	return T_PASS;
}

static int test_unknown_kept(void)
{
	struct pep_err err;

	CHECK(parse("RAM 1/2MB FUTURE=thing tj@40C Weird 12x") == 0);
	CHECK(ts.ram_total_mb == 2 && ts.temp_count == 1);
	CHECK(ts.unknown_count == 3 && !strcmp(ts.unknown[0].name, "FUTURE=thing"));
	CHECK(coh_tegrastats_parse("hello world", &ts, &err) == -EINVAL);
	CHECK(strstr(err.msg, "hello"));
	CHECK(coh_tegrastats_parse("", &ts, NULL) == 0);
	CHECK(parse("CPU [") == -EINVAL && ts.unknown_count == 2);
	CHECK(parse("RAM 99999999999999999999/1MB") == -EINVAL &&
	      ts.ram_total_mb == COH_NA);
	return T_PASS;
}

/* The JSON's units: bytes from MB and kB, °C from m°C, the two times. */
static int test_json_units(void)
{
	char *json;

	CHECK(parse("07-25-2026 09:08:28 RAM 1733/15827MB (lfb 3283x4MB) "
		    "SWAP 19/31400MB(cached 3MB) IRAM 0/252kB(lfb 252kB) "
		    "CPU [1%@1190,off] GR3D_FREQ 53%@140 CPU@26.5C "
		    "VDD_IN 5139mW/4000mW") == 0);
	CHECK(ts.time_ms == 0);
	ts.time_ms = GOLDEN_TIME_MS;
	json = coh_tegrastats_json(&ts);
	CHECK(json);
#define HAS(text) do { if (!strstr(json, text)) { \
		fprintf(stderr, "no %s in %s\n", text, json); free(json); \
		return T_FAIL; } } while (0)
	HAS("\"schema\":\"cohete.tegrastats/2\"");
	HAS("\"timestamp\":\"2026-01-02T03:04:05.678Z\"");
	HAS("\"local_time\":\"2026-07-25T09:08:28\"");
	HAS("\"used_bytes\":1817182208,\"total_bytes\":16595812352");
	HAS("\"lfb_count\":3283,\"lfb_size_bytes\":4194304");
	HAS("\"cached_bytes\":3145728");
	HAS("\"iram\":{\"used_bytes\":0,\"total_bytes\":258048");
	HAS("{\"online\":true,\"load_percent\":1,\"freq_mhz\":1190}");
	HAS("{\"online\":false,\"load_percent\":null,\"freq_mhz\":null}");
	HAS("\"temp_celsius\":26.5,\"max_celsius\":null");
	HAS("\"cur_mw\":5139,\"avg_mw\":4000");
#undef HAS
	free(json);
	/* Before R34 no time is printed; a record nobody stamped has none. */
	CHECK(parse("RAM 1/2MB") == 0);
	json = coh_tegrastats_json(&ts);
	CHECK(json && strstr(json, "\"timestamp\":null,\"local_time\":null"));
	free(json);
	return T_PASS;
}

static int compare_line(const char *sample, const char *golden, int n)
{
	char *json;
	int rc = T_PASS;

	if (coh_tegrastats_parse(sample, &ts, NULL) < 0 ||
	    (ts.time_ms = GOLDEN_TIME_MS, !(json = coh_tegrastats_json(&ts)))) {
		fprintf(stderr, "sample %d does not parse: %s", n, sample);
		return T_FAIL;
	}
	if (!golden || strcmp(json, golden)) {
		fprintf(stderr, "sample %d: %s\n  want: %s\n  got:  %s\n", n, sample,
			golden ? golden : "(no golden line)", json);
		rc = T_FAIL;
	}
	free(json);
	return rc;
}

static int update_golden(FILE *samples, const char *path)
{
	char tmp[600], line[8192];
	FILE *out;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "w");
	if (!out)
		return T_ERROR;
	while (fgets(line, sizeof(line), samples)) {
		char *json;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		coh_tegrastats_parse(line, &ts, NULL);
		ts.time_ms = GOLDEN_TIME_MS;
		json = coh_tegrastats_json(&ts);
		fprintf(out, "%s\n", json ? json : "null");
		free(json);
	}
	if (fclose(out) != 0 || rename(tmp, path) != 0)
		return T_ERROR;
	return T_PASS;
}

static int test_fixture_lines(void)
{
	const char *dir = getenv("COHETE_FIXTURES");
	const char *update = getenv("COHETE_UPDATE_GOLDEN");
	char path[512], gpath[520], line[8192], golden[16384];
	FILE *samples, *gold;
	int rc = T_PASS, n = 0;

	if (!dir) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(path, sizeof(path), "%s/tegrastats/samples.txt", dir);
	snprintf(gpath, sizeof(gpath), "%s/tegrastats/samples.golden.jsonl", dir);
	samples = fopen(path, "r");
	CHECK(samples);
	if (update && *update == '1') {
		rc = update_golden(samples, gpath);
		fclose(samples);
		return rc;
	}
	gold = fopen(gpath, "r");
	CHECK(gold);
	while (fgets(line, sizeof(line), samples)) {
		char *g;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		n++;
		g = fgets(golden, sizeof(golden), gold);
		if (g)
			g[strcspn(g, "\n")] = '\0';
		if (compare_line(line, g, n) != T_PASS)
			rc = T_FAIL;
	}
	fclose(samples);
	fclose(gold);
	if (n < 40) {
		fprintf(stderr, "only %d sample lines\n", n);
		rc = T_FAIL;
	}
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	t_run("name_collisions", test_name_collisions, &rc);
	t_run("gpu_forms", test_gpu_forms, &rc);
	t_run("temps_and_rails", test_temps_and_rails, &rc);
	t_run("old_and_odd", test_old_and_odd, &rc);
	t_run("unknown_kept", test_unknown_kept, &rc);
	t_run("json_units", test_json_units, &rc);
	t_run("fixture_lines", test_fixture_lines, &rc);
	return rc;
}
