/*
 * Discovery without a network: the USB product table; the SSH probe's
 * file list against what identification really reads (traced on every
 * fixture tree); the probe script run by this machine's sh and od on
 * fixture trees, parsed and identified exactly as the tree itself is;
 * the parser refusing hostile answers; host strings; the inventory file
 * (atomic, modes, escapes).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/config.h>
#include <cohete/device.h>
#include <cohete/discover.h>
#include <cohete/sysroot.h>

#include "harness.h"

static const char *fixtures(void)
{
	const char *f = getenv("COHETE_FIXTURES");

	return f ? f : "tests/fixtures";
}

static int test_usb_table(void)
{
	const struct coh_usb_id *t, *id;
	const struct coh_module_spec *mods;
	unsigned int nmods;
	size_t n;

	id = coh_usb_id_lookup(0x0955, 0x7023);
	CHECK(id && id->mode == COH_USB_RECOVERY &&
	      !strcmp(id->name, "Jetson AGX Orin") && !strcmp(id->soc, "tegra234"));
	id = coh_usb_id_lookup(0x0955, 0x7523);
	CHECK(id && strstr(id->pnums, "p3767-0005"));
	id = coh_usb_id_lookup(0x0955, 0x7020);
	CHECK(id && id->mode == COH_USB_DEVICE && !id->pnums[0]);
	CHECK(coh_usb_id_lookup(0x0955, 0x1234) == NULL);
	CHECK(coh_usb_id_lookup(0x1d6b, 0x7023) == NULL);

	/* every P-number the USB table names is a module the device table knows */
	t = coh_usb_id_table(&n);
	mods = coh_module_table(&nmods);
	CHECK(n >= 13);
	for (size_t i = 0; i < n; i++) {
		char list[128], *save = NULL;

		snprintf(list, sizeof(list), "%s", t[i].pnums);
		for (char *p = strtok_r(list, ",", &save); p;
		     p = strtok_r(NULL, ",", &save)) {
			unsigned int j;

			for (j = 0; j < nmods && strcmp(mods[j].pnum, p); j++)
				;
			if (j == nmods || strcmp(mods[j].soc, t[i].soc)) {
				fprintf(stderr, "usb %04x: %s (%s) not in the "
					"module table\n", t[i].pid, p, t[i].soc);
				return T_FAIL;
			}
		}
	}
	return T_PASS;
}

struct trace {
	int missing;
};

static void on_read(const char *path, void *arg)
{
	struct trace *t = arg;
	const char *const *paths;
	size_t n;

	paths = coh_discover_probe_paths(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(paths[i], path))
			return;
	fprintf(stderr, "identification read %s, which the probe does not "
		"send\n", path);
	t->missing++;
}

/* The probe sends every file identification reads, on every tree. */
static int test_paths_cover_identify(void)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	struct trace t = { 0 };
	int trees = 0;

	snprintf(dir, sizeof(dir), "%s/sysroots", fixtures());
	d = opendir(dir);
	CHECK(d != NULL);
	while ((de = readdir(d))) {
		char root[1024];
		struct coh_sysroot *sr;
		struct coh_device dev;

		if (de->d_name[0] == '.')
			continue;
		snprintf(root, sizeof(root), "%s/%s", dir, de->d_name);
		if (coh_sysroot_open(&sr, &(struct coh_sysroot_opts){
				.root = root, .on_read = on_read,
				.on_read_arg = &t }, NULL) < 0)
			continue;
		coh_device_identify(sr, &dev, NULL);
		coh_sysroot_close(sr);
		trees++;
	}
	closedir(d);
	CHECK(trees >= 10);
	CHECK(t.missing == 0);
	return T_PASS;
}

/* The script's for-list is the path list, in order. */
static int test_script_lists_paths(void)
{
	const char *s = coh_discover_probe_script();
	const char *const *paths;
	const char *p;
	size_t n;

	paths = coh_discover_probe_paths(&n);
	p = strstr(s, "for p in ");
	CHECK(p != NULL);
	p += strlen("for p in ");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);

		if (strncmp(p, paths[i], len) || (p[len] != ' ' && p[len] != ';')) {
			fprintf(stderr, "script lists '%.40s', want %s\n", p, paths[i]);
			return T_FAIL;
		}
		p += len + 1;
	}
	CHECK(!strncmp(p, " do ", 4));
	/* one line, no single quote, no backslash: safe inside sh -c '...' */
	CHECK(!strpbrk(s, "'\\\n"));
	return T_PASS;
}

static int same_device(const char *name, const struct coh_device *a,
		       const struct coh_device *b)
{
	if (a->kind != b->kind || a->module != b->module ||
	    strcmp(a->l4t, b->l4t) || strcmp(a->serial, b->serial) ||
	    a->mem_total_kb != b->mem_total_kb || strcmp(a->hostname, b->hostname) ||
	    a->cpus != b->cpus || strcmp(a->cpu_model, b->cpu_model) ||
	    strcmp(a->model, b->model) || strcmp(a->compatible, b->compatible) ||
	    strcmp(a->module_pnum, b->module_pnum) || a->super != b->super ||
	    strcmp(a->kernel, b->kernel)) {
		fprintf(stderr, "%s: probed '%s' %s L4T %s, tree '%s' %s L4T %s\n",
			name, a->module ? a->module->name : "-", a->serial, a->l4t,
			b->module ? b->module->name : "-", b->serial, b->l4t);
		return 0;
	}
	return 1;
}

/* Run the script as ssh would have the remote sh run it, on a tree. */
static int probe_tree(const char *name)
{
	char root[1024], var[1100];
	const char *argv[] = { "sh", "-c", coh_discover_probe_script(), NULL };
	const char *envp[] = { var, "PATH=/usr/bin:/bin", NULL };
	struct pep_proc_result res;
	struct coh_sysroot *sr;
	struct coh_device direct, probed;
	struct coh_probe probe;
	struct pep_err err;

	snprintf(root, sizeof(root), "%s/sysroots/%s", fixtures(), name);
	snprintf(var, sizeof(var), "COHETE_SYSROOT=%s", root);
	CHECK(pep_proc_run(argv, &(struct pep_proc_opts){ .envp = envp,
			   .timeout_ms = 20000, .max_output = COH_PROBE_OUTPUT_MAX },
			   &res, &err) == 0);
	CHECK(res.exited && res.exit_code == 0);
	if (coh_probe_parse(res.out, res.out_len, &probe, &err) < 0) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		pep_proc_result_free(&res);
		return T_FAIL;
	}
	pep_proc_result_free(&res);
	CHECK(probe.count >= 5);
	CHECK(coh_probe_identify(&probe, &probed, &err) == 0);
	coh_probe_free(&probe);
	CHECK(coh_sysroot_open(&sr, &(struct coh_sysroot_opts){ .root = root },
			       NULL) == 0);
	coh_device_identify(sr, &direct, NULL);
	coh_sysroot_close(sr);
	CHECK(same_device(name, &probed, &direct));
	CHECK(probed.kind == COH_HOST_JETSON || !strcmp(name, "x86-host"));
	return T_PASS;
}

static int test_script_on_trees(void)
{
	static const char *const trees[] = {
		"orin-nano-8gb-super-r36", "xavier-nx-r32", "nano-4gb-r32",
		"agx-thor-r38", "agx-orin-64gb-r36", "tx2-r32", "x86-host",
	};

	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
		if (probe_tree(trees[i]) != T_PASS)
			return T_FAIL;
	return T_PASS;
}

static int parse_fails(const char *text, const char *want)
{
	struct coh_probe p;
	struct pep_err err;
	int ret = coh_probe_parse(text, strlen(text), &p, &err);

	if (ret != -EPROTO || !strstr(err.msg, want)) {
		fprintf(stderr, "parse of %.60s: %d '%s', want -EPROTO '%s'\n",
			text, ret, ret < 0 ? err.msg : "", want);
		return 0;
	}
	return p.files == NULL && p.count == 0;
}

#define M "cohete-probe-1 "

static int test_parser_hostile(void)
{
	struct coh_probe p;
	struct pep_err err;
	static char big[300000];
	const char *ok = "Welcome to the board\n"
		M "file /proc/meminfo\n 4d 65 6d 0a\n" M "end 0\n"
		M "file /proc/device-tree/model\n" M "end 1\n"
		M "done\nbye\n";

	CHECK(coh_probe_parse(ok, strlen(ok), &p, &err) == 0);
	/* the failed read (end 1) is dropped; banner lines are skipped */
	CHECK(p.count == 1 && !strcmp(p.files[0].path, "/proc/meminfo") &&
	      p.files[0].len == 4 && !memcmp(p.files[0].data, "Mem\n", 4));
	coh_probe_free(&p);

	CHECK(parse_fails(M "file /etc/shadow\n" M "end 0\n" M "done\n",
			  "does not read"));
	CHECK(parse_fails(M "file /proc/../etc/passwd\n", "does not read"));
	CHECK(parse_fails(M "file /proc/meminfo\n" M "end 0\n"
			  M "file /proc/meminfo\n" M "end 0\n" M "done\n", "twice"));
	CHECK(parse_fails(M "file /proc/meminfo\n 4g\n", "hex"));
	CHECK(parse_fails(M "file /proc/meminfo\n 4d6\n", "hex"));
	CHECK(parse_fails(M "file /proc/meminfo\n 4\n", "hex"));
	CHECK(parse_fails(M "file /proc/meminfo\n" M "done\n", "not closed"));
	CHECK(parse_fails(M "end 0\n", "outside"));
	CHECK(parse_fails(M "file /proc/meminfo\n" M "end x\n", "status"));
	CHECK(parse_fails(M "file /proc/meminfo\n 41\n", "ends early"));
	CHECK(parse_fails(M "file /proc/meminfo\n" M "end 0\n", "ends early"));
	CHECK(parse_fails(M "bogus\n", "marker"));
	CHECK(parse_fails("cohete-probe-1x\n", "marker"));
	{
		static const char nul[] = M "file /proc/meminfo\n 41\0\n";

		CHECK(coh_probe_parse(nul, sizeof(nul) - 1, &p, &err) == -EPROTO &&
		      strstr(err.msg, "NUL"));
	}
	/* more than 64 KiB in one file */
	{
		size_t n = (size_t)snprintf(big, sizeof(big), M "file /proc/cpuinfo\n");

		for (unsigned int i = 0; i <= COH_PROBE_FILE_MAX / 16; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "%s",
				" 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41\n");
		CHECK(n < sizeof(big) - 1);
		CHECK(coh_probe_parse(big, n, &p, &err) == -EPROTO &&
		      strstr(err.msg, "64 KiB"));
	}
	return T_PASS;
}

static int host_ok(const char *text, const char *user, const char *host,
		   unsigned int port)
{
	char u[64], h[64];
	uint16_t pt;
	struct pep_err err;

	if (coh_discover_parse_host(text, u, sizeof(u), h, sizeof(h), &pt,
				    &err) < 0) {
		fprintf(stderr, "%s: %s\n", text, err.msg);
		return 0;
	}
	return !strcmp(u, user) && !strcmp(h, host) && pt == port;
}

static int host_bad(const char *text)
{
	char u[64], h[64];
	uint16_t pt;
	struct pep_err err;

	return coh_discover_parse_host(text, u, sizeof(u), h, sizeof(h), &pt,
				       &err) == -EINVAL && err.msg[0];
}

static int test_hosts(void)
{
	CHECK(host_ok("jetson-01", "", "jetson-01", 0));
	CHECK(host_ok("nvidia@10.0.0.5", "nvidia", "10.0.0.5", 0));
	CHECK(host_ok("10.0.0.5:2222", "", "10.0.0.5", 2222));
	CHECK(host_ok("root@[fe80::1%eth0]:22", "root", "fe80::1%eth0", 22));
	CHECK(host_ok("fe80::1", "", "fe80::1", 0));
	CHECK(host_ok("jetson.local", "", "jetson.local", 0));
	CHECK(host_bad(""));
	CHECK(host_bad("-oProxyCommand=sh"));
	CHECK(host_bad("user@-oProxyCommand=x"));
	CHECK(host_bad("-l@host"));
	CHECK(host_bad("host name"));
	CHECK(host_bad("host\tx"));
	CHECK(host_bad("ho\x01st"));
	CHECK(host_bad("host;reboot"));
	CHECK(host_bad("host:0"));
	CHECK(host_bad("host:65536"));
	CHECK(host_bad("host:22x"));
	CHECK(host_bad("[::1"));
	CHECK(host_bad("@host"));
	CHECK(host_bad("us er@host"));
	return T_PASS;
}

static int test_inventory(void)
{
	char dir[] = "/tmp/cohete-inv-XXXXXX", path[256], parent[256], *text;
	struct coh_found rows[3] = { 0 };
	struct coh_discovery d = { .found = rows, .count = 3 };
	const struct coh_module_spec *m;
	struct pep_err err;
	struct stat st;
	DIR *dh;
	struct dirent *de;
	int n = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(parent, sizeof(parent), "%s/cfg/cohete", dir);
	snprintf(path, sizeof(path), "%s/inventory.yaml", parent);

	m = coh_module_lookup("p3767-0005", "super", "tegra234", 0);
	snprintf(rows[0].id, sizeof(rows[0].id), "orin-nano");
	snprintf(rows[0].address, sizeof(rows[0].address), "10.77.1.2");
	snprintf(rows[0].user, sizeof(rows[0].user), "nvidia");
	rows[0].port = 2222;
	rows[0].via = COH_DISCOVER_SSH;
	snprintf(rows[0].serial, sizeof(rows[0].serial), "14\"2\\3\n");
	rows[0].identified = 1;
	rows[0].device.module = m;
	snprintf(rows[0].device.module_pnum, 32, "p3767-0005");
	snprintf(rows[0].device.l4t, 32, "36.4.3");
	rows[0].device.mem_total_kb = 7803000;
	snprintf(rows[1].id, sizeof(rows[1].id), "usb-1-2");
	snprintf(rows[1].usb_port, sizeof(rows[1].usb_port), "1-2");
	rows[1].via = COH_DISCOVER_USB;
	rows[1].usb_mode = COH_USB_RECOVERY;
	rows[1].usb_module = "Jetson AGX Orin";
	snprintf(rows[2].id, sizeof(rows[2].id), "xavier");
	snprintf(rows[2].address, sizeof(rows[2].address), COH_DISCOVER_USB_ADDRESS);
	rows[2].via = COH_DISCOVER_USB;
	rows[2].usb_mode = COH_USB_DEVICE;
	rows[2].usb_pnums = "p3668-0001";

	CHECK(coh_inventory_save(&d, path, &err) == 2);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(stat(parent, &st) == 0 && (st.st_mode & 0777) == 0700);
	text = t_read_file(path);
	CHECK(text != NULL);
	if (!strstr(text, "fleet:\n  devices:\n"
			  "    - id: \"orin-nano\"\n"
			  "      connection: ssh\n"
			  "      host: \"10.77.1.2\"\n"
			  "      user: \"nvidia\"\n"
			  "      port: 2222\n"
			  "      module: \"p3767-0005\"\n"
			  "      serial: \"14\\\"2\\\\3\\x0a\"\n"
			  "      l4t: \"36.4.3\"\n"
			  "      ram_mb: 7620\n"
			  "    - id: \"xavier\"\n"
			  "      connection: usb\n"
			  "      host: \"192.168.55.1\"\n"
			  "      module: \"p3668-0001\"\n") ||
	    !strstr(text, "# not listed (no address): USB 1-2, Jetson AGX Orin "
			  "in recovery mode\n") || text[0] != '#') {
		fprintf(stderr, "inventory:\n%s", text);
		free(text);
		return T_FAIL;
	}
	free(text);
	/* rewritten in place, no temporary file left beside it */
	CHECK(coh_inventory_save(&d, path, &err) == 2);
	dh = opendir(parent);
	CHECK(dh != NULL);
	while ((de = readdir(dh)))
		n += de->d_name[0] != '.';
	closedir(dh);
	CHECK(n == 1);
	/* an unwritable place: an error naming it, nothing written */
	CHECK(coh_inventory_save(&d, "/proc/cohete-no/inventory.yaml", &err) < 0 &&
	      strstr(err.msg, "/proc/cohete-no"));
	unlink(path);
	rmdir(parent);
	snprintf(parent, sizeof(parent), "%s/cfg", dir);
	rmdir(parent);
	rmdir(dir);
	return T_PASS;
}

static int test_inventory_path(void)
{
	char buf[256];

	setenv("XDG_CONFIG_HOME", "/x/conf", 1);
	CHECK(coh_config_inventory_path(buf, sizeof(buf), NULL, NULL) > 0 &&
	      !strcmp(buf, "/x/conf/cohete/inventory.yaml"));
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	CHECK(coh_config_inventory_path(buf, sizeof(buf), NULL, NULL) > 0 &&
	      !strcmp(buf, "/home/u/.config/cohete/inventory.yaml"));
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("usb_table", test_usb_table, &rc);
	t_run("paths_cover_identify", test_paths_cover_identify, &rc);
	t_run("script_lists_paths", test_script_lists_paths, &rc);
	t_run("script_on_trees", test_script_on_trees, &rc);
	t_run("parser_hostile", test_parser_hostile, &rc);
	t_run("hosts", test_hosts, &rc);
	t_run("inventory", test_inventory, &rc);
	t_run("inventory_path", test_inventory_path, &rc);
	return rc;
}
