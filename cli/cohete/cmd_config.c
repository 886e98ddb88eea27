/*
 * cohete config check|show|schema|init: the cohete.yaml file. check lists
 * every problem ("FILE:LINE:COL: error: PATH: MESSAGE"), show prints the
 * effective configuration (defaults, includes and overrides applied),
 * schema the JSON Schema editors validate with, init a commented starting
 * file that includes the inventory `cohete discover --save` wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/device.h>

#include "cmd.h"
#include "json_doc.h"

#define SCHEMA_CHECK	"cohete.config-check/1"
#define SCHEMA_SHOW	"cohete.config-show/1"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete config check FILE [--json]\n"
		"       cohete config show FILE [--yaml|--json]\n"
		"       cohete config schema\n"
		"       cohete config init [--inventory FILE] [-o FILE] [--force]\n\n"
		"The cohete.yaml file (reference: docs/cohete-yaml.md).\n\n"
		"  check    every error and warning, as FILE:LINE:COL: error: PATH: MESSAGE;\n"
		"           exit 0 when valid (warnings allowed), 1 when not\n"
		"  show     the effective configuration: defaults, includes and per-device\n"
		"           overrides applied (YAML, or --json)\n"
		"  schema   the JSON Schema of the file (draft 2020-12), for editors\n"
		"  init     a commented starting file; it includes the inventory of\n"
		"           `cohete discover --save` (--inventory FILE, else the default\n"
		"           $XDG_CONFIG_HOME/cohete/inventory.yaml) when there is one\n\n"
		"  --json            one JSON document\n"
		"  --yaml            YAML (show's default)\n"
		"  --inventory FILE  the inventory init includes\n"
		"  -o, --output FILE where init writes (default cohete.yaml; - = stdout)\n"
		"  --force           init: replace FILE if it exists\n"
		"  -h, --help        this help\n");
}

/* ---- check ---- */

static void print_diags(const struct coh_config_diags *d)
{
	char line[2048];

	for (size_t i = 0; i < d->count; i++) {
		coh_config_diag_format(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (d->omitted)
		fprintf(stderr, "and %zu more errors\n", d->omitted);
}

static json_t *diags_json(const struct coh_config_diags *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->count; i++) {
		const struct coh_config_diag *g = &d->v[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}",
			"severity", coh_config_severity_name(g->severity),
			"file", g->file, "line", (int)g->line, "col", (int)g->col,
			"path", g->path, "message", g->message));
	}
	return a;
}

/* Parse [--json] [--yaml] FILE. -1 to go on; else the exit code. */
static int file_args(int argc, char **argv, bool yaml_ok, bool *json,
		     const char **file)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "yaml", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 'y' && yaml_ok) {
			*json = false;
		} else if (c == 'h') {
			usage(stdout);
			return CMD_EXIT_OK;
		} else {
			if (c == 'y')
				cli_error("option '--yaml' is for show only");
			return CMD_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_error(argc - optind ? "one FILE only" : "which file? (cohete config %s FILE)",
			  argv[0]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	*file = argv[optind];
	return -1;
}

static int check_json(const char *file, const struct coh_config_diags *d,
		      bool valid)
{
	json_t *doc = cli_json_doc(SCHEMA_CHECK, pep_time_real_ms());

	doc = cli_json_add(doc, "file", json_string(file));
	doc = cli_json_add(doc, "valid", json_boolean(valid));
	doc = cli_json_add(doc, "error_count", json_integer((json_int_t)(d->errors + d->omitted)));
	doc = cli_json_add(doc, "warning_count", json_integer((json_int_t)d->warnings));
	doc = cli_json_add(doc, "diagnostics", diags_json(d));
	return cli_json_print(doc);
}

static int cmd_config_check(int argc, char **argv)
{
	struct coh_config_diags d = { 0 };
	struct coh_config *cfg = NULL;
	struct pep_err err;
	const char *file = NULL;
	bool json = false;
	int rc = file_args(argc, argv, false, &json, &file), ret;

	if (rc >= 0)
		return rc;
	pep_err_clear(&err);
	ret = coh_config_load(file, NULL, &cfg, &d, &err);
	if (ret < 0 && d.count == 0) {
		/* The file itself could not be read: said as a diagnostic too. */
		if (json) {
			struct coh_config_diag g = { COH_CONFIG_ERROR, file, 0, 0, "", err.msg };
			struct coh_config_diags one = { &g, 1, 1, 0, 0, 1 };

			check_json(file, &one, false);
		} else {
			cli_error("%s", err.msg);
		}
		return CMD_EXIT_FAIL;
	}
	if (json) {
		rc = check_json(file, &d, ret == 0);
	} else {
		print_diags(&d);
		if (ret == 0 && d.warnings)
			printf("%s: valid (%zu warning%s)\n", file, d.warnings,
			       d.warnings == 1 ? "" : "s");
		else if (ret == 0)
			printf("%s: valid\n", file);
		rc = CMD_EXIT_OK;
	}
	coh_config_diags_free(&d);
	coh_config_free(cfg);
	return ret == 0 ? rc : CMD_EXIT_FAIL;
}

/* ---- show ---- */

static int show_json(const char *file, const struct coh_config *cfg)
{
	struct pep_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	json_t *doc, *config;

	if (!mem || coh_config_emit_json(cfg, mem, &err) < 0 || fclose(mem)) {
		cli_error("out of memory");
		free(buf);
		return CMD_EXIT_FAIL;
	}
	config = json_loadb(buf, len, 0, NULL);
	free(buf);
	doc = cli_json_doc(SCHEMA_SHOW, pep_time_real_ms());
	doc = cli_json_add(doc, "file", json_string(file));
	doc = cli_json_add(doc, "config", config);
	return cli_json_print(doc);
}

static int cmd_config_show(int argc, char **argv)
{
	struct coh_config_diags d = { 0 };
	struct coh_config *cfg = NULL;
	struct pep_err err;
	const char *file = NULL;
	bool json = false;
	int rc = file_args(argc, argv, true, &json, &file), ret;

	if (rc >= 0)
		return rc;
	pep_err_clear(&err);
	ret = coh_config_load(file, NULL, &cfg, &d, &err);
	print_diags(&d);
	coh_config_diags_free(&d);
	if (ret < 0) {
		if (ret != -EINVAL)
			cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (json) {
		rc = show_json(file, cfg);
	} else if (coh_config_emit_yaml(cfg, stdout, &err) < 0) {
		cli_error("%s", err.msg);
		rc = CMD_EXIT_FAIL;
	} else {
		rc = CMD_EXIT_OK;
	}
	coh_config_free(cfg);
	return rc;
}

/* ---- schema ---- */

static int cmd_config_schema(int argc, char **argv)
{
	bool json = false;
	char *text;
	int rc = cli_json_only_args(argc, argv, usage, &json);

	if (rc >= 0)
		return rc;
	text = coh_config_schema_json();
	if (!text) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return CMD_EXIT_OK;
}

/* ---- init ---- */

static const char init_head[] =
	"# cohete.yaml: the devices, the models they serve and how they run.\n"
	"# Reference: docs/cohete-yaml.md. Check: cohete config check FILE;\n"
	"# effective values: cohete config show FILE; editors: cohete config schema.\n"
	"# ${VAR} and ${VAR:-default} take values from the environment.\n"
	"version: \"1.0\"\n\n";

static const char init_fleet_alone[] =
	"fleet:\n"
	"  name: edge\n"
	"  defaults:                     # every device starts from these\n"
	"    user: nvidia\n"
	"    thermal_policy: conservative\n"
	"  devices: []\n"
	"  # - id: jetson-01\n"
	"  #   connection: usb            # usb | ssh | mdns\n"
	"  #   module: Orin Nano 8GB      # makes its RAM known\n"
	"  #   memory_budget_mb: 6000\n"
	"  #   labels: [vision]\n"
	"  # - id: jetson-02\n"
	"  #   connection: ssh\n"
	"  #   host: 192.168.1.42\n\n";

static const char init_rest[] =
	"# Sources: a local path, http(s)://, or hf:// and pacha:// names that\n"
	"# resolve through mirrors (the longest matching prefix is replaced).\n"
	"mirrors:\n"
	"  \"hf://\": \"https://huggingface.co/\"\n\n"
	"models: []\n"
	"# - name: qwen2.5-1.5b-instruct\n"
	"#   source: hf://Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf\n"
	"#   quantization: auto         # or Q4_0, Q4_K_M, Q8_0, F16, ...\n"
	"#   devices: all               # an id, label:NAME, or a list of them\n\n"
	"thermal:                       # conservative and aggressive exist already\n"
	"  conservative:\n"
	"    threshold_c: 65             # work pauses at 65 °C\n"
	"    cooldown_c: 55              # and resumes below 55 °C\n"
	"    warning_c: 60\n"
	"    check_interval_ms: 500\n"
	"    action: pause               # pause | stop | throttle\n\n"
	"power:\n"
	"  jetson_clocks: false\n"
	"  fan: auto                     # auto | 0..255 | \"NN%\"\n\n"
	"inference:\n"
	"  port: 8080\n"
	"  context_length: 2048\n"
	"  max_batch_size: 4\n"
	"  parallel: 1\n\n"
	"agent:\n"
	"  listen: \"127.0.0.1:9102\"\n"
	"  policy: conservative\n";

static void init_inventory(FILE *f, const char *inventory,
			   const struct coh_config *inv)
{
	fprintf(f, "# The devices `cohete discover --save` found; a device listed under\n"
		   "# fleet.devices with the same id gets this file's keys on top.\n"
		   "include:\n  - \"");
	/* A double-quoted YAML scalar, in which ${ would expand: $ is $$. */
	for (const char *p = inventory; *p; p++)
		fprintf(f, "%s", *p == '$' ? "$$" : *p == '"' ? "\\\"" :
			*p == '\\' ? "\\\\" : (char[]){ *p, 0 });
	fprintf(f, "\"\n");
	fprintf(f, "# Devices in it:\n");
	for (size_t i = 0; i < inv->device_count; i++) {
		const struct coh_config_device *d = &inv->devices[i];

		fprintf(f, "#   %-16s %-5s %-16s %s\n", d->id,
			coh_config_connection_name(d->connection),
			d->host ? d->host : "",
			d->module ? d->module->name : "(module unknown)");
	}
	if (!inv->device_count)
		fprintf(f, "#   (none)\n");
	fprintf(f, "\nfleet:\n  name: edge\n  defaults:\n    user: nvidia\n"
		   "    thermal_policy: conservative\n\n");
}

/* The inventory given, else the default one when it exists; NULL: none. */
static int find_inventory(const char *given, char *buf, size_t size,
			  const char **out)
{
	*out = NULL;
	if (given) {
		if (!realpath(given, buf)) {
			cli_error("--inventory %s: %s", given, strerror(errno));
			return CMD_EXIT_FAIL;
		}
		*out = buf;
		return CMD_EXIT_OK;
	}
	if (coh_config_inventory_path(buf, size, NULL, NULL) > 0 &&
	    access(buf, R_OK) == 0)
		*out = buf;
	return CMD_EXIT_OK;
}

static int write_init(FILE *f, const char *inventory)
{
	struct coh_config_diags d = { 0 };
	struct coh_config *inv = NULL;
	struct pep_err err;

	fputs(init_head, f);
	if (inventory) {
		pep_err_clear(&err);
		if (coh_config_load(inventory, NULL, &inv, &d, &err) < 0) {
			print_diags(&d);
			coh_config_diags_free(&d);
			cli_error("inventory %s: %s", inventory, err.msg);
			return CMD_EXIT_FAIL;
		}
		coh_config_diags_free(&d);
		init_inventory(f, inventory, inv);
		coh_config_free(inv);
	} else {
		fputs(init_fleet_alone, f);
	}
	fputs(init_rest, f);
	return CMD_EXIT_OK;
}

/* Into a temporary file beside out, synced, then renamed over it. */
static int write_atomic(const char *out, const char *inventory, bool force)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc;

	if (!force && access(out, F_OK) == 0) {
		cli_error("%s exists (--force replaces it)", out);
		return CMD_EXIT_FAIL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out) >= (int)sizeof(tmp)) {
		cli_error("%s: name too long", out);
		return CMD_EXIT_USAGE;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cli_error("%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CMD_EXIT_FAIL;
	}
	fchmod(fd, 0644);
	rc = write_init(f, inventory);
	if (rc == CMD_EXIT_OK && (fflush(f) || fsync(fd))) {
		cli_error("%s: %s", tmp, strerror(errno));
		rc = CMD_EXIT_FAIL;
	}
	if (fclose(f) && rc == CMD_EXIT_OK) {
		cli_error("%s: %s", tmp, strerror(errno));
		rc = CMD_EXIT_FAIL;
	}
	if (rc == CMD_EXIT_OK && rename(tmp, out) < 0) {
		cli_error("%s: %s", out, strerror(errno));
		rc = CMD_EXIT_FAIL;
	}
	if (rc != CMD_EXIT_OK)
		unlink(tmp);
	return rc;
}

static int cmd_config_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "inventory", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = NULL, *out = "cohete.yaml", *inventory;
	char path[PATH_MAX];
	bool force = false;
	int c, rc;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "ho:", longopts)) != -1) {
		switch (c) {
		case 'i': given = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case 'h': usage(stdout); return CMD_EXIT_OK;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	rc = find_inventory(given, path, sizeof(path), &inventory);
	if (rc != CMD_EXIT_OK)
		return rc;
	if (!strcmp(out, "-"))
		return write_init(stdout, inventory);
	rc = write_atomic(out, inventory, force);
	if (rc == CMD_EXIT_OK)
		fprintf(stderr, "wrote %s%s%s\n", out, inventory ? " including " : "",
			inventory ? inventory : "");
	return rc;
}

static const struct cmd verbs[] = {
	{ "check", cmd_config_check, "every error and warning of a file; exit 1 on errors" },
	{ "init", cmd_config_init, "a commented starting file (includes the inventory)" },
	{ "schema", cmd_config_schema, "the JSON Schema of the file, for editors" },
	{ "show", cmd_config_show, "the effective configuration (YAML or JSON)" },
};

static const struct cli_level verb_level = {
	.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs), .usage = usage,
};

int cmd_config(int argc, char **argv)
{
	return cli_dispatch(&verb_level, argc, argv);
}
