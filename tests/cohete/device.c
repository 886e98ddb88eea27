/*
 * Module and L4T tables, and identification of every fixture tree: each
 * tree must come out as its module, never as a neighbour (a 4 GB module as
 * 8 GB, an NX as a Nano).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/device.h>
#include <cohete/sysroot.h>

#include "harness.h"

static int test_module_lookup(void)
{
	const struct coh_module_spec *m;

	m = coh_module_lookup("p3767-0004", "", "tegra234", 3471000);
	CHECK(m && strstr(m->name, "Orin Nano 4GB") && m->ram_gb == 4 &&
	      m->cuda_cores == 512);
	m = coh_module_lookup("p3767-0005", "super", "tegra234", 0);
	CHECK(m && strstr(m->name, "Super") && strstr(m->ai_perf, "67 TOPS"));
	m = coh_module_lookup("p3668-0001", "", "tegra194", 0);
	CHECK(m && strstr(m->name, "Xavier NX"));
	/* p3509-0000 is a TX2 NX only on tegra186; on Xavier it is a carrier. */
	CHECK(coh_module_lookup("p3509-0000", "", "tegra194", 0) == NULL);
	m = coh_module_lookup("p3509-0000", "", "tegra186", 0);
	CHECK(m && !strcmp(m->name, "Jetson TX2 NX"));
	/* The AGX Orin devkit P-number covers two RAM sizes. */
	m = coh_module_lookup("p3701-0000", "", "tegra234", 62817ull * 1024);
	CHECK(m && m->ram_gb == 64);
	m = coh_module_lookup("p3701-0000", "", "tegra234", 30536ull * 1024);
	CHECK(m && m->ram_gb == 32);
	CHECK(coh_module_lookup("p3701-0000", "", "tegra234", 0) == NULL);
	CHECK(coh_module_lookup("p3767-0099", "", "tegra234", 0) == NULL);
	CHECK(coh_module_lookup("p3767-0005", "", "tegra194", 0) == NULL);
	return T_PASS;
}

static int test_tables_are_sane(void)
{
	const struct coh_module_spec *t;
	unsigned int n;

	t = coh_module_table(&n);
	CHECK(n >= 30);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(strlen(t[i].pnum) == 10 && t[i].pnum[0] == 'p');
		CHECK(!strncmp(t[i].soc, "tegra", 5));
		CHECK(t[i].name[0] && t[i].cpu_cores > 0 && t[i].ram_gb > 0);
		CHECK(!strcmp(t[i].variant, "") || !strcmp(t[i].variant, "super"));
	}
	return T_PASS;
}

static int test_l4t_lookup(void)
{
	static const char *const cases[][2] = {
		{ "36.4.3", "6.2" }, { "36.4.4", "6.2.1" }, { "36.3.0", "6.0" },
		{ "35.4.1", "5.1.2" }, { "35.2.1", "5.1" }, { "32.7.1", "4.6.1" },
		{ "32.6.1", "4.6" }, { "32.1.0", "4.2" }, { "38.2.1", "7.0" },
		{ "28.2.1", "3.x" }, { "39.2.0", "7.2" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct coh_l4t_spec *l = coh_l4t_lookup(cases[i][0]);

		if (!l || strcmp(l->jetpack, cases[i][1])) {
			fprintf(stderr, "L4T %s: got %s, want %s\n", cases[i][0],
				l ? l->jetpack : "(none)", cases[i][1]);
			return T_FAIL;
		}
	}
	CHECK(coh_l4t_lookup("36.9.9") == NULL);
	CHECK(coh_l4t_lookup("3") == NULL);
	CHECK(coh_l4t_lookup("") == NULL);
	return T_PASS;
}

struct expect {
	const char *tree;
	enum coh_host_kind kind;
	const char *module;		/* exact name; NULL = unknown */
	const char *l4t;
	const char *jetpack;
};

static const struct expect expects[] = {
	{ "orin-nano-8gb-super-r36", COH_HOST_JETSON,
	  "Jetson Orin Nano Super Developer Kit", "36.4.3", "6.2" },
	{ "orin-nano-4gb-r35", COH_HOST_JETSON, "Jetson Orin Nano 4GB", "35.4.1",
	  "5.1.2" },
	{ "orin-nx-16gb-r36", COH_HOST_JETSON, "Jetson Orin NX 16GB", "36.3.0",
	  "6.0" },
	{ "orin-nx-8gb-r35", COH_HOST_JETSON, "Jetson Orin NX 8GB", "35.3.1",
	  "5.1.1" },
	{ "agx-orin-64gb-r36", COH_HOST_JETSON, "Jetson AGX Orin 64GB", "36.4.4",
	  "6.2.1" },
	{ "agx-orin-32gb-r35", COH_HOST_JETSON, "Jetson AGX Orin 32GB", "35.2.1",
	  "5.1" },
	{ "xavier-nx-r32", COH_HOST_JETSON, "Jetson Xavier NX 8GB", "32.7.4",
	  "4.6.4" },
	{ "agx-xavier-r32", COH_HOST_JETSON, "Jetson AGX Xavier 16GB", "32.6.1",
	  "4.6" },
	{ "nano-4gb-r32", COH_HOST_JETSON, "Jetson Nano 4GB (Developer Kit)",
	  "32.7.1", "4.6.1" },
	{ "tx2-r32", COH_HOST_JETSON, "Jetson TX2", "32.5.1", "4.5.1" },
	{ "tx2-nx-r32", COH_HOST_JETSON, "Jetson TX2 NX", "32.7.2", "4.6.2" },
	{ "agx-thor-r38", COH_HOST_JETSON, "Jetson AGX Thor Developer Kit (T5000)",
	  "38.2.0", "7.0" },
	{ "unknown-pnum", COH_HOST_JETSON, NULL, "36.4.4", "6.2.1" },
	{ "x86-host", COH_HOST_OTHER, NULL, "", NULL },
};

static int check_tree(const char *fixtures, const struct expect *e)
{
	struct coh_sysroot_opts opts = { 0 };
	static struct coh_notes notes;
	struct coh_sysroot *sr;
	struct coh_device dev;
	char path[512];

	snprintf(path, sizeof(path), "%s/sysroots/%s", fixtures, e->tree);
	opts.root = path;
	if (coh_sysroot_open(&sr, &opts, NULL) < 0) {
		fprintf(stderr, "%s: no such fixture tree\n", path);
		return T_FAIL;
	}
	memset(&notes, 0, sizeof(notes));
	coh_device_identify(sr, &dev, &notes);
	coh_sysroot_close(sr);
	if (dev.kind != e->kind ||
	    (e->module ? !dev.module || strcmp(dev.module->name, e->module)
		       : dev.module != NULL) ||
	    strcmp(dev.l4t, e->l4t) ||
	    (e->jetpack ? !dev.jetpack || strcmp(dev.jetpack->jetpack, e->jetpack)
			: dev.jetpack != NULL)) {
		fprintf(stderr, "%s: got kind %d module '%s' L4T '%s' JetPack '%s'\n",
			e->tree, dev.kind, dev.module ? dev.module->name : "(none)",
			dev.l4t, dev.jetpack ? dev.jetpack->jetpack : "(none)");
		return T_FAIL;
	}
	return T_PASS;
}

static int test_fixture_trees(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	int rc = T_PASS;

	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++)
		if (check_tree(fixtures, &expects[i]) != T_PASS)
			rc = T_FAIL;
	return rc;
}

/* A small tree in a temporary directory: files given as path, bytes. */
struct tree_file {
	const char *path;
	const char *data;
	size_t len;
};

static int make_tree(char *root, size_t size, const struct tree_file *files,
		     size_t count)
{
	snprintf(root, size, "/tmp/coh-device-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	for (size_t i = 0; i < count; i++) {
		char path[512], cmd[600];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", root, files[i].path);
		snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
		if (system(cmd) != 0 || !(f = fopen(path, "w")))
			return -1;
		fwrite(files[i].data, 1, files[i].len, f);
		fclose(f);
	}
	return 0;
}

static int identify_tree(const struct tree_file *files, size_t count,
			 struct coh_device *dev)
{
	struct coh_sysroot_opts opts = { 0 };
	struct coh_sysroot *sr;
	char root[64], cmd[128];
	int ret = -1;

	if (make_tree(root, sizeof(root), files, count) == 0) {
		opts.root = root;
		if (coh_sysroot_open(&sr, &opts, NULL) == 0) {
			ret = coh_device_identify(sr, dev, NULL);
			coh_sysroot_close(sr);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return ret;
}

#define FILE_OF(p, s) { p, s, sizeof(s) - 1 }

/* No P-number in the device tree: the module EEPROM (root) still has it. */
static int test_eeprom_fallback(void)
{
	static const char eeprom[64] = "....................699-13701-0000-500 L.0";
	const struct tree_file files[] = {
		FILE_OF("proc/device-tree/compatible", "nvidia,tegra234\0"),
		FILE_OF("proc/meminfo", "MemTotal:       64328000 kB\n"),
		{ "sys/bus/i2c/devices/0-0050/eeprom", eeprom, sizeof(eeprom) },
	};
	struct coh_device dev;

	CHECK(identify_tree(files, 3, &dev) == 0);
	CHECK(dev.kind == COH_HOST_JETSON && dev.module);
	CHECK(!strcmp(dev.module_pnum, "p3701-0000"));
	CHECK(!strcmp(dev.pnum_source, "eeprom") && dev.module->ram_gb == 64);
	return T_PASS;
}

static int test_boardids_fallback(void)
{
	const struct tree_file files[] = {
		FILE_OF("proc/device-tree/compatible",
			"nvidia,jetson-nano\0nvidia,tegra210\0"),
		FILE_OF("proc/device-tree/nvidia,boardids", "3448:0003:A01\0"),
	};
	struct coh_device dev;

	CHECK(identify_tree(files, 2, &dev) == 0);
	CHECK(dev.module && !strcmp(dev.module->name, "Jetson Nano 2GB (Developer Kit)"));
	CHECK(!strcmp(dev.pnum_source, "boardids"));
	return T_PASS;
}

/* Another board with a device tree is "other", named from its tree. */
static int test_other_device_tree_host(void)
{
	const struct tree_file files[] = {
		FILE_OF("proc/device-tree/compatible",
			"raspberrypi,4-model-b\0brcm,bcm2711\0"),
		FILE_OF("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0"),
	};
	struct coh_device dev;

	CHECK(identify_tree(files, 2, &dev) == 0);
	CHECK(dev.kind == COH_HOST_OTHER && dev.module == NULL);
	CHECK(!strcmp(dev.vendor, "raspberrypi"));
	CHECK(!strcmp(dev.model, "Raspberry Pi 4 Model B Rev 1.4"));
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("module_lookup", test_module_lookup, &rc);
	t_run("tables_are_sane", test_tables_are_sane, &rc);
	t_run("l4t_lookup", test_l4t_lookup, &rc);
	t_run("fixture_trees", test_fixture_trees, &rc);
	t_run("eeprom_fallback", test_eeprom_fallback, &rc);
	t_run("boardids_fallback", test_boardids_fallback, &rc);
	t_run("other_device_tree_host", test_other_device_tree_host, &rc);
	return rc;
}
