/*
 * cohete.yaml: every field typed and refused, defaults, ${VAR}, includes
 * (merge by id and name, cycles, depth), per-device overrides, every check
 * across fields with its exact message, the error cap, show -> load ->
 * show as a fixed point, and the JSON Schema's shape. The broken-file
 * corpus is config-broken.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/device.h>
#include <cohete/thermal.h>

#include "harness.h"

static const char *fixtures(void)
{
	const char *f = getenv("COHETE_FIXTURES");

	return f ? f : "tests/fixtures";
}

/* The test environment for ${VAR}: a fixed table, nothing else. */
static const char *test_env(const char *name, void *arg)
{
	static const char *const vars[][2] = {
		{ "JETSON_HOST", "10.1.2.3" },
		{ "SSH_PORT", "2200" },
		{ "EMPTY", "" },
		{ "HOME", "/home/tester" },
		{ "XDG_CONFIG_HOME", "/xdg" },
	};

	(void)arg;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!strcmp(vars[i][0], name))
			return vars[i][1];
	return NULL;
}

static const struct coh_config_load_opts opts = { .getenv = test_env };

/* All diagnostics of a load as lines, joined by '\n'. */
static char *diag_text(const struct coh_config_diags *d)
{
	char *buf = NULL, line[2048];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		perror("open_memstream");
		exit(T_ERROR);
	}
	for (size_t i = 0; i < d->count; i++) {
		coh_config_diag_format(&d->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	if (d->omitted)
		fprintf(f, "and %zu more errors\n", d->omitted);
	if (fclose(f) || !buf) {
		perror("open_memstream");
		exit(T_ERROR);
	}
	return buf;
}

static struct coh_config *load(const char *text, struct coh_config_diags *d)
{
	struct coh_config *cfg = NULL;
	struct pep_err err;

	*d = (struct coh_config_diags){ 0 };
	coh_config_load_string(text, strlen(text), "t.yaml", &opts, &cfg, d, &err);
	return cfg;
}

/* text loads with no diagnostic at all. */
static struct coh_config *load_clean(const char *text)
{
	struct coh_config_diags d;
	struct coh_config *cfg = load(text, &d);

	if (!cfg || d.count) {
		char *t = diag_text(&d);

		fprintf(stderr, "expected a clean load of:\n%s\ngot:\n%s", text, t);
		free(t);
		coh_config_free(cfg);
		cfg = NULL;
	}
	coh_config_diags_free(&d);
	return cfg;
}

/* text fails to load with exactly these diagnostics. */
static int expect_diags(const char *text, const char *want)
{
	struct coh_config_diags d;
	struct coh_config *cfg = load(text, &d);
	char *got = diag_text(&d);
	int ok = !strcmp(got, want) && (!cfg) == (d.errors > 0);

	if (!ok)
		fprintf(stderr, "for:\n%s\nwant:\n%sgot:\n%s(config %s)\n", text, want,
			got, cfg ? "loaded" : "refused");
	free(got);
	coh_config_free(cfg);
	coh_config_diags_free(&d);
	return ok ? T_PASS : T_FAIL;
}

/* ---- defaults ---- */

static int test_defaults(void)
{
	struct coh_config *c = load_clean("");
	struct coh_thermal_guard_policy g, named;
	const struct coh_config_policy *p;

	CHECK(c);
	CHECK(!strcmp(c->version, "1.0"));
	CHECK(c->mirror_count == 1 && !strcmp(c->mirrors[0].prefix, "hf://"));
	CHECK(c->discovery.methods == (COH_CONFIG_DISCOVER_USB | COH_CONFIG_DISCOVER_MDNS));
	CHECK(c->discovery.timeout_s == 5 && c->discovery.ssh_hosts.count == 0);
	CHECK(!strcmp(c->fleet_name, "") && c->device_count == 0 && c->model_count == 0);
	CHECK(c->policy_count == 2);
	CHECK(c->inference.port == 8080 && c->inference.context_length == 2048);
	CHECK(c->inference.max_batch_size == 4 && c->inference.parallel == 1);
	CHECK(c->inference.gpu_layers == 999 && c->inference.threads == 0);
	CHECK(!strcmp(c->inference.api_compatibility, "openai"));
	CHECK(!strcmp(c->inference.engine, "llama-server"));
	CHECK(!strcmp(c->inference.host, "0.0.0.0"));
	CHECK(c->power.fan_pwm == -1 && !c->power.jetson_clocks && !c->power.mode);
	CHECK(!strcmp(c->power.nvpmodel, "nvpmodel") && c->power.max_temp_c == 60);
	CHECK(!strcmp(c->storage.models_dir, "/var/lib/cohete/models"));
	CHECK(c->storage.zram.enabled && c->storage.zram.priority == 100);
	CHECK(!strcmp(c->storage.zram.algorithm, "lz4") && !c->storage.swapfile.enabled);
	CHECK(c->provision.nvme.enabled && c->provision.nvme.swap_size_gb == 16);
	CHECK(c->provision.packages.count == 3 && !strcmp(c->provision.packages.v[2], "tmux"));
	CHECK(!strcmp(c->provision.ssh.config_host, "jetson") && !c->provision.ssh.key);
	CHECK(!strcmp(c->agent.listen, "127.0.0.1:9102") && c->agent.listen_port == 9102);
	CHECK(!strcmp(c->agent.listen_addr, "127.0.0.1"));
	CHECK(c->agent.interval_ms == 1000 && c->agent.mdns && !c->agent.token_file);
	CHECK(!strcmp(c->agent.policy, "conservative"));
	/* The built-in policies are the thermal guard's. */
	for (const char *name = "conservative"; name; name = strcmp(name, "aggressive") ?
	     "aggressive" : NULL) {
		p = coh_config_find_policy(c, name);
		CHECK(p && coh_config_policy_guard(p, &g, NULL) == 0);
		CHECK(coh_thermal_guard_policy_named(name, &named, NULL) == 0);
		CHECK(g.trip_mc == named.trip_mc && g.resume_mc == named.resume_mc);
		CHECK(g.warning_mc == named.warning_mc);
		CHECK(g.check_interval_ms == named.check_interval_ms);
	}
	CHECK(!coh_config_find_policy(c, "nope") && !coh_config_find_device(c, "x"));
	coh_config_free(c);
	return T_PASS;
}

/* ---- every field, valid ---- */

static int test_full(void)
{
	char path[4096];
	struct coh_config_diags d = { 0 };
	struct coh_config *c = NULL;
	const struct coh_config_device *a, *b, *n;
	const struct coh_config_policy *lab, *cons;
	struct coh_thermal_guard_policy g;

	snprintf(path, sizeof(path), "%s/config/valid/full.yaml", fixtures());
	CHECK(coh_config_load(path, &opts, &c, &d, NULL) == 0 && d.count == 0);
	CHECK(c->mirror_count == 2);
	CHECK(!strcmp(c->mirrors[0].target, "https://mirror.example.net/hf/"));
	CHECK(c->discovery.methods == 7 && c->discovery.timeout_s == 12);
	CHECK(c->discovery.ssh_hosts.count == 4);
	CHECK(!strcmp(c->discovery.ssh_hosts.v[3], "admin@10.0.0.8:2222"));
	CHECK(!strcmp(c->fleet_name, "edge-cluster") && c->device_count == 3);
	a = coh_config_find_device(c, "jetson-01");
	b = coh_config_find_device(c, "jetson-02");
	n = coh_config_find_device(c, "nano-03");
	CHECK(a && b && n);
	CHECK(a->connection == COH_CONFIG_CONN_USB && !strcmp(a->host, "192.168.55.1"));
	CHECK(!strcmp(a->user, "ubuntu") && a->port == 2222);
	CHECK(!strcmp(a->identity, "/keys/id_ed25519"));
	CHECK(a->module && !strcmp(a->module->pnum, "p3767-0005"));
	CHECK(!strcmp(a->serial, "1423721001234") && !strcmp(a->l4t, "36.4.3"));
	CHECK(a->ram_mb == 7620 && a->memory_budget_mb == 6000);
	CHECK(!strcmp(a->thermal_policy, "lab") && !strcmp(a->power_mode, "MAXN"));
	CHECK(a->labels.count == 2 && !strcmp(a->labels.v[0], "vision"));
	CHECK(a->inference.port == 8081 && a->inference.context_length == 4096);
	CHECK(a->inference.max_batch_size == 8 && a->inference.parallel == 2);
	CHECK(b->connection == COH_CONFIG_CONN_SSH && !strcmp(b->host, "192.168.1.42"));
	CHECK(!strcmp(b->user, "nvidia") && b->port == 22 && b->memory_budget_mb == 3000);
	CHECK(b->module && b->module->ram_gb == 8 && !strcmp(b->power_mode, "0"));
	CHECK(!strcmp(b->thermal_policy, "aggressive") && b->inference.port == 8090);
	CHECK(n->connection == COH_CONFIG_CONN_MDNS && !strcmp(n->host, "nano-03.local"));
	CHECK(n->module && !strcmp(n->module->soc, "tegra210") && !strcmp(n->power_mode, "5W"));
	CHECK(n->labels.count == 1 && !strcmp(n->labels.v[0], "lab-a"));
	CHECK(c->model_count == 3);
	CHECK(!strcmp(c->models[0].quantization, "Q4_K_M"));
	CHECK(!strcmp(c->models[0].resolved_url, "https://models.example.net/pacha/mistral-7b"));
	CHECK(c->models[0].device_count == 3 && c->models[0].context_length == 4096);
	CHECK(c->models[1].device_count == 2 && c->models[1].device_index[0] == 0 &&
	      c->models[1].device_index[1] == 1);
	CHECK(c->models[1].resolved_url[0] == '/' &&
	      strstr(c->models[1].resolved_url, "config/valid/models/tiny.gguf"));
	CHECK(c->models[1].context_length == 3072 && !c->models[1].sha256);
	CHECK(!strcmp(c->models[2].quantization, "auto"));
	CHECK(!strcmp(c->models[2].resolved_url,
		      "https://mirror.example.net/hf/microsoft/phi-2/phi-2.Q4_0.gguf"));
	CHECK(c->models[2].device_count == 1 && c->models[2].device_index[0] == 2);
	CHECK(c->policy_count == 3);
	lab = coh_config_find_policy(c, "lab");
	cons = coh_config_find_policy(c, "conservative");
	CHECK(lab && lab->threshold_c == 70.5 && lab->warning_c == 66);
	CHECK(lab->action == COH_CONFIG_ACTION_THROTTLE && lab->check_interval_ms == 250);
	CHECK(cons->threshold_c == 68 && cons->warning_c == 63 &&
	      cons->action == COH_CONFIG_ACTION_STOP);
	CHECK(coh_config_policy_guard(lab, &g, NULL) == 0 && g.trip_mc == 70500 &&
	      g.resume_mc == 60000 && g.warning_mc == 66000 && !strcmp(g.name, "lab"));
	CHECK(coh_thermal_guard_policy_check(&g, NULL) == 0);
	CHECK(!strcmp(c->power.mode, "15W") && c->power.jetson_clocks);
	CHECK(c->power.fan_pwm == 153 && c->power.max_temp_c == 55);
	CHECK(!strcmp(c->power.jetson_clocks_path, "/usr/bin/jetson_clocks"));
	CHECK(c->inference.engine_args.count == 3 && c->inference.threads == 4);
	CHECK(c->inference.gpu_layers == 33 && !strcmp(c->inference.host, "127.0.0.1"));
	CHECK(c->storage.nvme.enabled && !strcmp(c->storage.nvme.filesystem, "xfs"));
	CHECK(!strcmp(c->storage.nvme.device, "/dev/nvme0n1"));
	CHECK(!c->storage.zram.enabled && c->storage.zram.size_mb == 2048);
	CHECK(!strcmp(c->storage.zram.algorithm, "zstd") && c->storage.zram.priority == 50);
	CHECK(c->storage.swapfile.enabled && c->storage.swapfile.size_gb == 8);
	CHECK(!c->provision.nvme.enabled && c->provision.nvme.swap_size_gb == 4);
	CHECK(!c->provision.ssh.copy_id && !strcmp(c->provision.ssh.key, "/keys/lab"));
	CHECK(c->provision.packages.count == 2 && !c->provision.zram.enabled);
	CHECK(!strcmp(c->provision.zram.compression_algorithm, "lzo"));
	CHECK(!strcmp(c->agent.listen_addr, "0.0.0.0") && c->agent.listen_port == 9200);
	CHECK(c->agent.interval_ms == 500 && !c->agent.mdns && !strcmp(c->agent.policy, "lab"));
	CHECK(c->agent.workload_users.count == 2 && !strcmp(c->agent.state_dir, "/run/cohete"));
	CHECK(coh_config_find_local(c, "1423721001234", NULL) == a);
	CHECK(coh_config_find_local(c, NULL, "nano-03") == n);
	CHECK(coh_config_find_local(c, "x", "y") == NULL);
	coh_config_free(c);
	coh_config_diags_free(&d);
	return T_PASS;
}

/* The product's example passes, with the pacha:// warning saying the fix. */
static int test_seed(void)
{
	char path[4096], want[8192];
	struct coh_config_diags d = { 0 };
	struct coh_config *c = NULL;
	char *got;

	snprintf(path, sizeof(path), "%s/config/seed-example.yaml", fixtures());
	CHECK(coh_config_load(path, &opts, &c, &d, NULL) == 0);
	snprintf(want, sizeof(want),
		 "%s:14:13: warning: models[0].source: no mirror for "
		 "'pacha://models.sovereign.ai/'; add mirrors: "
		 "{\"pacha://models.sovereign.ai/\": \"https://...\"}\n", path);
	got = diag_text(&d);
	if (strcmp(got, want))
		fprintf(stderr, "want %sgot %s", want, got ? got : "");
	CHECK(!strcmp(got, want));
	free(got);
	CHECK(c->device_count == 1 && c->devices[0].memory_budget_mb == 6000);
	CHECK(!c->models[0].resolved_url && c->models[0].device_count == 1);
	CHECK(coh_config_find_local(c, NULL, NULL) == &c->devices[0]);
	coh_config_free(c);
	coh_config_diags_free(&d);
	return T_PASS;
}

/* ---- every field, refused ---- */

static const struct {
	const char *text, *want;
} invalid[] = {
	{ "version: 2\n", "t.yaml:1:10: error: version: '2' is not a version this cohete reads (\"1.0\")\n" },
	{ "mirrors: {\"pacha://x/\": ftp://y}\n",
	  "t.yaml:1:25: error: mirrors.pacha://x/: 'ftp://y' is not an http(s):// URL or an absolute directory\n" },
	{ "mirrors: {pacha: \"https://y/\"}\n",
	  "t.yaml:1:11: error: mirrors.pacha: 'pacha' is not a source prefix (scheme://...)\n" },
	{ "mirrors: [a]\n", "t.yaml:1:10: error: mirrors: expected a map of source prefixes to URLs, not a list\n" },
	{ "discovery: {methods: [usb, mdsn]}\n",
	  "t.yaml:1:28: error: discovery.methods[1]: 'mdsn' is not one of: usb, mdns, ssh, {static: [hosts]}; did you mean 'mdns'?\n" },
	{ "discovery: {methods: [{static: [\"a b\"]}]}\n",
	  "t.yaml:1:33: error: discovery.methods[0].static[0]: 'a b' is not a host name or address\n" },
	{ "discovery: {timeout_s: 0}\n",
	  "t.yaml:1:24: error: discovery.timeout_s: '0' is not a whole number from 1 to 120\n" },
	{ "discovery: {ssh_hosts: x}\n", "t.yaml:1:24: error: discovery.ssh_hosts: 'x' is not a list\n" },
	{ "fleet: {name: [a]}\n", "t.yaml:1:15: error: fleet.name: expected a string, not a list\n" },
	{ "fleet: {devices: [{id: \"bad id\", host: h}]}\n",
	  "t.yaml:1:24: error: fleet.devices[0].id: 'bad id' is not a device id ([A-Za-z0-9._-], 1 to 63)\n" },
	{ "fleet: {devices: [{connection: usb}]}\n",
	  "t.yaml:1:19: error: fleet.devices[0]: missing required key 'id'\n" },
	{ "fleet: {devices: [{id: a, host: h, connection: serial}]}\n",
	  "t.yaml:1:48: error: fleet.devices[0].connection: 'serial' is not one of: ssh, usb, mdns\n" },
	{ "fleet: {devices: [{id: a, host: h, connection: usbb}]}\n",
	  "t.yaml:1:48: error: fleet.devices[0].connection: 'usbb' is not one of: ssh, usb, mdns; did you mean 'usb'?\n" },
	{ "fleet: {devices: [{id: a, host: h, port: 70000}]}\n",
	  "t.yaml:1:42: error: fleet.devices[0].port: '70000' is not a whole number from 1 to 65535\n" },
	{ "fleet: {devices: [{id: a, host: h, user: \"\"}]}\n",
	  "t.yaml:1:42: error: fleet.devices[0].user: '' is not a user name\n" },
	{ "fleet: {devices: [{id: a, connection: usb, module: p9999-0000}]}\n",
	  "t.yaml:1:52: error: fleet.devices[0].module: 'p9999-0000' is not a Jetson module of data/jetson-modules.tsv (a P-number such as p3767-0005, or a name such as \"Orin Nano 8GB\")\n" },
	{ "fleet: {devices: [{id: a, connection: usb, ram_mb: -5}]}\n",
	  "t.yaml:1:52: error: fleet.devices[0].ram_mb: '-5' is not a whole number from 1 to 1048576\n" },
	{ "fleet: {devices: [{id: a, connection: usb, memory_budget_mb: lots}]}\n",
	  "t.yaml:1:62: error: fleet.devices[0].memory_budget_mb: 'lots' is not a whole number from 1 to 1048576\n" },
	{ "fleet: {devices: [{id: a, connection: usb, power_mode: \"15W!\"}]}\n",
	  "t.yaml:1:56: error: fleet.devices[0].power_mode: '15W!' is not a power mode id or name (\"MAXN\", \"15W\")\n" },
	{ "fleet: {devices: [{id: a, connection: usb, labels: [Vision]}]}\n",
	  "t.yaml:1:53: error: fleet.devices[0].labels[0]: 'Vision' is not a label ([a-z0-9_-])\n" },
	{ "fleet: {devices: [{id: a, connection: usb, inference: {port: eighty}}]}\n",
	  "t.yaml:1:62: error: fleet.devices[0].inference.port: 'eighty' is not a whole number from 1 to 65535\n" },
	{ "fleet: {devices: [{id: a, connection: usb, thermal_polcy: x}]}\n",
	  "t.yaml:1:44: error: fleet.devices[0].thermal_polcy: unknown key; did you mean 'thermal_policy'?\n" },
	{ "fleet: {defaults: {id: a}}\n", "t.yaml:1:20: error: fleet.defaults.id: unknown key\n" },
	{ "models: [{name: m, source: /m.gguf, sha256: abc}]\n",
	  "t.yaml:1:45: error: models[0].sha256: 'abc' is not 64 hex digits\n" },
	{ "models: [{name: m, source: /m.gguf, quantization: q4_k_x}]\n",
	  "t.yaml:1:51: error: models[0].quantization: 'q4_k_x' is not a quantization level (Q4_0, Q4_K_M, Q8_0, F16, ... or auto); did you mean 'Q4_K_S'?\n" },
	{ "models: [{name: m, source: /m.gguf, context_length: 8}]\n",
	  "t.yaml:1:53: error: models[0].context_length: '8' is not a whole number from 16 to 1048576\n" },
	{ "models: [{name: m, source: /m.gguf, devices: []}]\n",
	  "t.yaml:1:46: error: models[0].devices: expected all, a device id, label:NAME or a list of them, not a list\n" },
	{ "models: [{name: m}]\n", "t.yaml:1:10: error: models[0]: missing required key 'source'\n" },
	{ "models: [{name: m, source: \"ftp://x/y\"}]\n",
	  "t.yaml:1:28: error: models[0].source: 'ftp://x/y' is not a local path, an http(s):// URL, hf:// or pacha:// (or a prefix under mirrors:)\n" },
	{ "thermal: {hot: {threshold_c: 80, cooldown_c: 70}}\n",
	  "t.yaml:1:16: error: thermal.hot: missing required key 'check_interval_ms'\n" },
	{ "thermal: {hot: {threshold_c: 80, cooldown_c: 70, check_interval_ms: 5}}\n",
	  "t.yaml:1:69: error: thermal.hot.check_interval_ms: '5' is not a whole number from 10 to 60000\n" },
	{ "thermal: {hot: {threshold_c: warm, cooldown_c: 70, check_interval_ms: 50}}\n",
	  "t.yaml:1:30: error: thermal.hot.threshold_c: 'warm' is not a number from 20 to 120\n" },
	{ "thermal: {hot: {threshold_c: 80, cooldown_c: 70, check_interval_ms: 50, action: sleep}}\n",
	  "t.yaml:1:81: error: thermal.hot.action: 'sleep' is not one of: pause, stop, throttle\n" },
	{ "thermal: {\"no way\": {threshold_c: 80, cooldown_c: 70, check_interval_ms: 50}}\n",
	  "t.yaml:1:11: error: thermal.no way: 'no way' is not a policy name ([A-Za-z0-9._-], 1 to 31)\n" },
	{ "power: {fan: 300}\n", "t.yaml:1:14: error: power.fan: '300' is not auto, a PWM value from 0 to 255, or a percentage (\"60%\")\n" },
	{ "power: {jetson_clocks: maybe}\n", "t.yaml:1:24: error: power.jetson_clocks: 'maybe' is not true or false\n" },
	{ "power: {max_temp_c: 200}\n", "t.yaml:1:21: error: power.max_temp_c: '200' is not a number from 20 to 120\n" },
	{ "power: {mode: 100}\n", "t.yaml:1:15: error: power.mode: '100' is not a power mode id from 0 to 99 or a mode name\n" },
	{ "inference: {port: eighty}\n", "t.yaml:1:19: error: inference.port: 'eighty' is not a whole number from 1 to 65535\n" },
	{ "inference: {max_batch_size: 2000}\n", "t.yaml:1:29: error: inference.max_batch_size: '2000' is not a whole number from 1 to 1024\n" },
	{ "inference: {api_compatibility: anthropic}\n", "t.yaml:1:32: error: inference.api_compatibility: 'anthropic' is not one of: openai\n" },
	{ "inference: {engine: vllm}\n", "t.yaml:1:21: error: inference.engine: 'vllm' is not one of: llama-server\n" },
	{ "inference: {parallel: 0}\n", "t.yaml:1:23: error: inference.parallel: '0' is not a whole number from 1 to 256\n" },
	{ "inference: {engine_args: \"--x\"}\n", "t.yaml:1:26: error: inference.engine_args: '--x' is not a list\n" },
	{ "inference: {backend_preference: cpu_simd}\n", "t.yaml:1:13: error: inference.backend_preference: unknown key\n" },
	{ "storage: {nvme: {filesystem: ntfs}}\n", "t.yaml:1:30: error: storage.nvme.filesystem: 'ntfs' is not one of: ext4, xfs, btrfs; did you mean 'xfs'?\n" },
	{ "storage: {swap: {zram: {priority: -2}}}\n", "t.yaml:1:35: error: storage.swap.zram.priority: '-2' is not a whole number from -1 to 32767\n" },
	{ "storage: {swap: {file: {size_gb: 0}}}\n", "t.yaml:1:34: error: storage.swap.file.size_gb: '0' is not a whole number from 1 to 4096\n" },
	{ "provision: {zram: {compression_algorithm: gzip}}\n",
	  "t.yaml:1:43: error: provision.zram.compression_algorithm: 'gzip' is not one of: lz4, lzo, lzo-rle, zstd, lz4hc, 842\n" },
	{ "provision: {ssh: {copy_id: 2}}\n", "t.yaml:1:28: error: provision.ssh.copy_id: '2' is not true or false\n" },
	{ "provision: {packages: [\"a b\"]}\n", "t.yaml:1:24: error: provision.packages[0]: 'a b' is not a package name\n" },
	{ "agent: {listen: \"localhost:9102\"}\n",
	  "t.yaml:1:17: error: agent.listen: 'localhost:9102' is not a numeric ADDR:PORT (\"0.0.0.0:9102\", \"[::1]:9102\")\n" },
	{ "agent: {interval_ms: 50}\n", "t.yaml:1:22: error: agent.interval_ms: '50' is not a whole number from 100 to 60000\n" },
	{ "agent: {mdns: 1}\n", "t.yaml:1:15: error: agent.mdns: '1' is not true or false\n" },
	{ "agent: {policy: \"\"}\n", "t.yaml:1:17: error: agent.policy: '' is not a policy name\n" },
	{ "fleet: [a]\n", "t.yaml:1:8: error: fleet: expected a map, not a list\n" },
	{ "- a\n", "t.yaml:1:1: error: the file must be a map of sections (version, fleet, models, ...)\n" },
	{ "flet: {}\n", "t.yaml:1:1: error: flet: unknown key; did you mean 'fleet'?\n" },
	{ "fleet: {name: a, name: b}\n", "t.yaml:1:18: error: fleet.name: duplicate key 'name' (first at line 1)\n" },
	{ "fleet: {name: [a\n", "t.yaml:2:1: error: YAML: did not find expected ',' or ']' while parsing a flow sequence\n" },
	{ "a: 1\n---\nb: 2\n", "t.yaml:2:1: error: a second YAML document ('---'): one per file\n" },
	{ "fleet: {name: *x}\n", "t.yaml:1:15: error: fleet.name: alias '*x' names no anchor before it\n" },
};

static int test_invalid(void)
{
	int rc = T_PASS;

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		if (expect_diags(invalid[i].text, invalid[i].want) != T_PASS)
			rc = T_FAIL;
	return rc;
}

/* ---- ${VAR} ---- */

static int test_env_expansion(void)
{
	struct coh_config *c = load_clean(
		"fleet:\n"
		"  name: \"cost $$5 ${EMPTY:-none} ${EMPTY}|\"\n"
		"  devices:\n"
		"    - id: a\n"
		"      host: ${JETSON_HOST}\n"
		"      port: ${SSH_PORT}\n"
		"      identity: ~/.ssh/id\n"
		"      user: ${NOUSER:-ops}\n"
		"      labels: [\"lab-${UNSET_LAB:-b}\"]\n"
		"inference: {port: \"${PORT:-9000}\"}\n");

	CHECK(c);
	CHECK(!strcmp(c->fleet_name, "cost $5 none |"));
	CHECK(!strcmp(c->devices[0].host, "10.1.2.3") && c->devices[0].port == 2200);
	CHECK(!strcmp(c->devices[0].user, "ops"));
	CHECK(!strcmp(c->devices[0].identity, "/home/tester/.ssh/id"));
	CHECK(!strcmp(c->devices[0].labels.v[0], "lab-b"));
	CHECK(c->inference.port == 9000);
	coh_config_free(c);
	if (expect_diags("fleet:\n  devices:\n    - id: a\n      host: ${NO_SUCH_HOST}\n",
			 "t.yaml:4:13: error: fleet.devices[0].host: environment variable "
			 "NO_SUCH_HOST is not set (${NO_SUCH_HOST:-default} gives a default)\n"))
		return T_FAIL;
	if (expect_diags("fleet: {name: \"${oops\"}\n",
			 "t.yaml:1:15: error: fleet.name: '${' without a closing '}' (write $$ for a literal $)\n"))
		return T_FAIL;
	return expect_diags("fleet: {name: \"${1X}\"}\n",
			    "t.yaml:1:15: error: fleet.name: '${1X}' is not ${NAME} or ${NAME:-default}\n");
}

/* ---- checks across fields ---- */

static const struct {
	const char *text, *want;
} semantic[] = {
	{ "thermal:\n  hot: {threshold_c: 70, cooldown_c: 70, check_interval_ms: 100}\n",
	  "t.yaml:2:38: error: thermal.hot.cooldown_c: 70 is not below threshold_c 70\n" },
	{ "thermal:\n  hot: {threshold_c: 70, cooldown_c: 60, warning_c: 71, check_interval_ms: 100}\n",
	  "t.yaml:2:53: error: thermal.hot.warning_c: 71 is above threshold_c 70\n" },
	{ "thermal:\n  hot: {threshold_c: 70, cooldown_c: 60, warning_c: 60, check_interval_ms: 100}\n",
	  "t.yaml:2:53: error: thermal.hot.warning_c: 60 is not above cooldown_c 60\n" },
	{ "thermal:\n  hot: {threshold_c: 70, cooldown_c: 66, check_interval_ms: 100}\n",
	  "t.yaml:2:8: error: thermal.hot.warning_c: the default (threshold_c - 5 = 65) is not above cooldown_c 66; set warning_c\n" },
	{ "fleet:\n  devices:\n    - {id: a, connection: usb, thermal_policy: conservativ}\n",
	  "t.yaml:3:48: error: fleet.devices[0].thermal_policy: no thermal policy 'conservativ'; did you mean 'conservative'?\n" },
	{ "fleet:\n  defaults: {thermal_policy: cool}\n  devices:\n    - {id: a, connection: usb}\n",
	  "t.yaml:2:30: error: fleet.defaults.thermal_policy: no thermal policy 'cool' (define it under thermal:)\n" },
	{ "agent: {policy: agressive}\n",
	  "t.yaml:1:17: error: agent.policy: no thermal policy 'agressive'; did you mean 'aggressive'?\n" },
	{ "fleet:\n  devices:\n    - {id: a, connection: usb}\n    - {id: a, connection: mdns}\n",
	  "t.yaml:4:12: error: fleet.devices[1].id: duplicate device id 'a' (also fleet.devices[0], line 3)\n" },
	{ "fleet:\n  devices:\n    - {id: a, host: h1}\n    - {id: b, ip: h1}\n",
	  "t.yaml:4:19: error: fleet.devices[1].host: h1:22 is also fleet.devices[0] (a): one device twice?\n" },
	{ "fleet:\n  devices:\n    - {id: a, host: h1, ip: h2}\n",
	  "t.yaml:3:25: error: fleet.devices[0].ip: give host or ip (its upstream spelling), not both\n" },
	{ "fleet:\n  devices:\n    - {id: a}\n",
	  "t.yaml:3:7: error: fleet.devices[0]: missing required key 'host' (an ssh device needs its address)\n" },
	{ "fleet:\n  devices:\n    - {id: j, connection: usb}\n    - {id: jetson-02, connection: usb, module: Orin Nano 8GB, memory_budget_mb: 9000}\n",
	  "t.yaml:4:81: error: fleet.devices[1].memory_budget_mb: 9000 is more than jetson-02's 8192 MB (Jetson Orin Nano 8GB)\n" },
	{ "fleet:\n  devices:\n    - {id: a, connection: usb, ram_mb: 3956, module: p3767-0005, memory_budget_mb: 4000}\n",
	  "t.yaml:3:84: error: fleet.devices[0].memory_budget_mb: 4000 is more than a's 3956 MB (ram_mb)\n" },
	{ "fleet:\n  defaults: {memory_budget_mb: 5000}\n  devices:\n    - {id: n, connection: usb, module: p3767-0004}\n",
	  "t.yaml:2:32: error: fleet.devices[0].memory_budget_mb: 5000 (from fleet.defaults) is more than n's 4096 MB (Jetson Orin Nano 4GB)\n" },
	{ "agent: {listen: \"0.0.0.0:8080\"}\n",
	  "t.yaml:1:17: error: agent.listen: 8080 is also agent.listen's port\n" },
	{ "inference: {port: 9102}\n",
	  "t.yaml:1:19: error: inference.port: 9102 is also agent.listen's port\n" },
	{ "fleet:\n  devices:\n    - {id: a, connection: usb, inference: {port: 9102}}\n",
	  "t.yaml:3:50: error: fleet.devices[0].inference.port: 9102 is also agent.listen's port\n" },
	{ "fleet:\n  devices:\n    - {id: jetson-01, connection: usb}\nmodels:\n  - {name: m, source: /m, devices: jetson-1}\n",
	  "t.yaml:5:36: error: models[0].devices: no device 'jetson-1'; did you mean 'jetson-01'?\n" },
	{ "fleet:\n  devices:\n    - {id: a, connection: usb}\nmodels:\n  - {name: m, source: /m, devices: [a, \"label:gpu\"]}\n",
	  "t.yaml:5:40: error: models[0].devices[1]: no device has the label 'gpu'\n" },
	{ "models:\n  - {name: m, source: /m}\n  - {name: m, source: /n}\n",
	  "t.yaml:3:12: error: models[1].name: duplicate model name 'm' (also models[0], line 2)\n" },
};

static int test_semantic(void)
{
	int rc = T_PASS;

	for (size_t i = 0; i < sizeof(semantic) / sizeof(semantic[0]); i++)
		if (expect_diags(semantic[i].text, semantic[i].want) != T_PASS)
			rc = T_FAIL;
	return rc;
}

/* Every problem at once, capped, and in file order. */
static int test_all_at_once(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct coh_config_diags d;
	struct coh_config *c;

	fprintf(f, "inference: {port: 0}\nagent: {interval_ms: 1}\n");
	for (int i = 0; i < 150; i++)
		fprintf(f, "bogus%d: 1\n", i);
	fclose(f);
	c = load(text, &d);
	CHECK(!c && d.errors == COH_CONFIG_ERRORS_MAX && d.omitted == 52);
	CHECK(d.v[0].line == 1 && d.v[1].line == 2 && d.v[2].line == 3);
	CHECK(!strcmp(d.v[2].path, "bogus0") && !strcmp(d.v[2].message, "unknown key"));
	coh_config_diags_free(&d);
	free(text);
	return T_PASS;
}

/* ---- includes ---- */

static char dir[] = "/tmp/cohete-config-XXXXXX";

static int put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int load_file(const char *name, struct coh_config **c,
		     struct coh_config_diags *d)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*d = (struct coh_config_diags){ 0 };
	return coh_config_load(path, &opts, c, d, NULL);
}

static int test_includes(void)
{
	struct coh_config_diags d;
	struct coh_config *c;
	const struct coh_config_device *a;
	char want[2048], *got;

	CHECK(put("inventory.yaml",
		  "fleet:\n  devices:\n"
		  "    - {id: a, connection: usb, serial: \"S1\", module: p3767-0005, ram_mb: 7620}\n"
		  "    - {id: b, host: 10.0.0.2}\n"
		  "models:\n  - {name: m, source: /m, quantization: q8_0}\n") == 0);
	CHECK(put("sub/base.yaml", "") != 0 || 1);
	CHECK(put("main.yaml",
		  "include: [inventory.yaml]\n"
		  "fleet:\n  name: lab\n  devices:\n"
		  "    - {id: a, labels: [vision], memory_budget_mb: 6000}\n"
		  "    - {id: c, connection: mdns}\n"
		  "models:\n  - {name: m, devices: label:vision}\n") == 0);
	CHECK(load_file("main.yaml", &c, &d) == 0 && d.count == 0);
	CHECK(c->device_count == 3 && !strcmp(c->fleet_name, "lab"));
	a = &c->devices[0];
	CHECK(!strcmp(a->id, "a") && !strcmp(a->serial, "S1") && a->ram_mb == 7620);
	CHECK(a->connection == COH_CONFIG_CONN_USB && a->memory_budget_mb == 6000);
	CHECK(a->labels.count == 1 && !strcmp(c->devices[1].id, "b") &&
	      !strcmp(c->devices[2].id, "c"));
	CHECK(c->model_count == 1 && !strcmp(c->models[0].quantization, "Q8_0"));
	CHECK(c->models[0].device_count == 1 && c->models[0].device_index[0] == 0);
	coh_config_free(c);
	coh_config_diags_free(&d);

	/* Errors in an included file name that file. */
	CHECK(put("bad-inc.yaml", "fleet: {devices: [{id: z, connection: usb, port: 0}]}\n") == 0);
	CHECK(put("uses-bad.yaml", "include: bad-inc.yaml\n") == 0);
	CHECK(load_file("uses-bad.yaml", &c, &d) == -EINVAL && d.errors == 1);
	snprintf(want, sizeof(want), "%s/bad-inc.yaml:1:50: error: fleet.devices[0].port: "
		 "'0' is not a whole number from 1 to 65535\n", dir);
	got = diag_text(&d);
	if (strcmp(got, want))
		fprintf(stderr, "want %sgot %s", want, got ? got : "");
	CHECK(!strcmp(got, want));
	free(got);
	coh_config_diags_free(&d);

	/* A cycle, named. */
	CHECK(put("x.yaml", "include: [y.yaml]\n") == 0);
	CHECK(put("y.yaml", "include: [x.yaml]\n") == 0);
	CHECK(load_file("x.yaml", &c, &d) == -EINVAL && d.errors == 1);
	snprintf(want, sizeof(want), "%s/y.yaml:1:11: error: include[0]: include cycle: "
		 "%s/x.yaml -> %s/y.yaml -> %s/x.yaml\n", dir, dir, dir, dir);
	got = diag_text(&d);
	if (strcmp(got, want))
		fprintf(stderr, "want %sgot %s", want, got ? got : "");
	CHECK(!strcmp(got, want));
	free(got);
	coh_config_diags_free(&d);

	/* A missing file, and the depth limit. */
	CHECK(put("missing.yaml", "include: [nope.yaml]\n") == 0);
	CHECK(load_file("missing.yaml", &c, &d) == -EINVAL && d.errors == 1);
	CHECK(strstr(d.v[0].message, "cannot include ") && strstr(d.v[0].message, "nope.yaml: No such file"));
	coh_config_diags_free(&d);
	for (int i = 0; i < 12; i++) {
		char name[32], text[64];

		snprintf(name, sizeof(name), "d%d.yaml", i);
		snprintf(text, sizeof(text), "include: [d%d.yaml]\n", i + 1);
		CHECK(put(name, text) == 0);
	}
	CHECK(put("d12.yaml", "") == 0);
	CHECK(load_file("d0.yaml", &c, &d) == -EINVAL && d.errors == 1);
	CHECK(strstr(d.v[0].message, "includes nested deeper than 8: "));
	CHECK(strstr(d.v[0].file, "/d8.yaml"));
	coh_config_diags_free(&d);

	/* A file over the size limit is refused before it is read. */
	{
		struct coh_config_load_opts small = { .getenv = test_env, .max_file_bytes = 16 };
		char path[512];
		struct pep_err err;

		snprintf(path, sizeof(path), "%s/main.yaml", dir);
		d = (struct coh_config_diags){ 0 };
		CHECK(coh_config_load(path, &small, &c, &d, &err) == -EFBIG && !c);
		CHECK(strstr(err.msg, "larger than 16 bytes"));
	}
	/* Without includes (fuzzing) include: is refused. */
	{
		struct coh_config_load_opts no = { .flags = COH_CONFIG_LOAD_NO_INCLUDES };

		d = (struct coh_config_diags){ 0 };
		CHECK(coh_config_load_string("include: [a]\n", 13, "t.yaml", &no, &c, &d,
					     NULL) == -EINVAL);
		CHECK(!strcmp(d.v[0].message, "includes are not read here"));
		coh_config_diags_free(&d);
	}
	return T_PASS;
}

/* ---- show -> load -> show ---- */

static char *show(const struct coh_config *c, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json ? coh_config_emit_json(c, f, NULL) : coh_config_emit_yaml(c, f, NULL)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static int round_trip(const char *path)
{
	struct coh_config_diags d = { 0 };
	struct coh_config *c = NULL, *c2 = NULL;
	char *y1, *y2, *j1, *j2;

	CHECK(coh_config_load(path, &opts, &c, &d, NULL) == 0);
	coh_config_diags_free(&d);
	y1 = show(c, false);
	j1 = show(c, true);
	CHECK(y1 && j1);
	/* Loaded under the same name: relative sources mean the same. */
	CHECK(coh_config_load_string(y1, strlen(y1), path, &opts, &c2, &d, NULL) == 0);
	coh_config_diags_free(&d);
	y2 = show(c2, false);
	j2 = show(c2, true);
	CHECK(y2 && j2);
	if (strcmp(y1, y2))
		fprintf(stderr, "%s: show -> load -> show differs:\n%s\n---\n%s\n", path, y1, y2);
	CHECK(!strcmp(y1, y2) && !strcmp(j1, j2));
	free(y1);
	free(y2);
	free(j1);
	free(j2);
	coh_config_free(c);
	coh_config_free(c2);
	return T_PASS;
}

static int test_round_trip(void)
{
	const char *files[] = { "seed-example.yaml", "valid/full.yaml", "valid/minimal.yaml",
				"valid/upstream.yaml" };
	char path[4096];
	struct coh_config *c;
	char *y;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/config/%s", fixtures(), files[i]);
		if (round_trip(path) != T_PASS) {
			fprintf(stderr, "round trip of %s\n", path);
			return T_FAIL;
		}
	}
	/* '$' survives as "$$", strings that look like numbers stay strings. */
	c = load_clean("fleet: {name: \"a$$b\", devices: [{id: \"007\", connection: usb, serial: \"12\"}]}\n");
	CHECK(c && !strcmp(c->fleet_name, "a$b"));
	y = show(c, false);
	CHECK(strstr(y, "name: a$$b\n") && strstr(y, "id: \"007\"") && strstr(y, "serial: \"12\""));
	coh_config_free(c);
	c = load_clean(y);
	CHECK(c && !strcmp(c->fleet_name, "a$b") && !strcmp(c->devices[0].id, "007"));
	coh_config_free(c);
	free(y);
	return T_PASS;
}

/* ---- the JSON Schema ---- */

static int test_schema(void)
{
	char *text = coh_config_schema_json();
	json_t *s, *dev, *port;

	CHECK(text);
	s = json_loads(text, 0, NULL);
	free(text);
	CHECK(s);
	CHECK(!strcmp(json_string_value(json_object_get(s, "$schema")),
		      "https://json-schema.org/draft/2020-12/schema"));
	CHECK(json_is_false(json_object_get(s, "additionalProperties")));
	dev = json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(s, "properties"), "fleet"), "properties"), "devices"), "items");
	CHECK(dev && json_is_false(json_object_get(dev, "additionalProperties")));
	CHECK(!strcmp(json_string_value(json_array_get(json_object_get(dev, "required"), 0)), "id"));
	port = json_object_get(json_object_get(dev, "properties"), "port");
	CHECK(json_integer_value(json_object_get(port, "minimum")) == 1);
	CHECK(json_integer_value(json_object_get(port, "maximum")) == 65535);
	CHECK(json_integer_value(json_object_get(port, "default")) == 22);
	CHECK(json_is_string(json_object_get(port, "description")));
	json_decref(s);
	return T_PASS;
}

static int test_inventory_path(void)
{
	char buf[256];
	struct { const char *xdg, *home; } env;

	CHECK(coh_config_inventory_path(buf, sizeof(buf), test_env, NULL) > 0);
	CHECK(!strcmp(buf, "/xdg/cohete/inventory.yaml"));
	(void)env;
	CHECK(coh_config_inventory_path(buf, 8, test_env, NULL) == -ENAMETOOLONG);
	return T_PASS;
}

static const char *home_only(const char *name, void *arg)
{
	(void)arg;
	return !strcmp(name, "HOME") ? "/home/u" :
	       !strcmp(name, "XDG_CONFIG_HOME") ? "relative" : NULL;
}

static const char *no_env(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return NULL;
}

static int test_inventory_home(void)
{
	char buf[256];

	CHECK(coh_config_inventory_path(buf, sizeof(buf), home_only, NULL) > 0);
	CHECK(!strcmp(buf, "/home/u/.config/cohete/inventory.yaml"));
	CHECK(coh_config_inventory_path(buf, sizeof(buf), no_env, NULL) == -ENOENT);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;
	char cmd[600];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return T_ERROR;
	}
	snprintf(cmd, sizeof(cmd), "%s/sub", dir);
	mkdir(cmd, 0755);
	t_run("defaults", test_defaults, &rc);
	t_run("full", test_full, &rc);
	t_run("seed-example", test_seed, &rc);
	t_run("invalid", test_invalid, &rc);
	t_run("env-expansion", test_env_expansion, &rc);
	t_run("semantic", test_semantic, &rc);
	t_run("all-at-once", test_all_at_once, &rc);
	t_run("includes", test_includes, &rc);
	t_run("round-trip", test_round_trip, &rc);
	t_run("schema", test_schema, &rc);
	t_run("inventory-path", test_inventory_path, &rc);
	t_run("inventory-home", test_inventory_home, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
