/*
 * cohete discover: find Jetsons on USB, by mDNS and over SSH, one row per
 * device, and optionally save them as the inventory a cohete.yaml
 * includes. The finding, probing and merging are libcohete's
 * (coh_discover); this file parses options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/core.h>

#include <cohete/config.h>
#include <cohete/discover.h>

#include "cmd.h"
#include "json_doc.h"

#define MAX_HOSTS 256
#define MAX_SSH_OPTIONS 32

struct discover_args {
	struct coh_discover_opts opts;
	const char *hosts[MAX_HOSTS];
	const char *ssh_options[MAX_SSH_OPTIONS];
	int json, save, no_ssh;
	const char *save_path;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete discover [--json] [--usb] [--mdns] [--ssh HOST[,HOST...]]...\n"
		"                       [--timeout S] [--user U] [--identity FILE]\n"
		"                       [-o|--ssh-option OPTION]... [--no-ssh] [--all]\n"
		"                       [--save [FILE]]\n"
		"                       [--config FILE]\n\n"
		"Find Jetsons: on USB (recovery mode, or booted with L4T's USB network at\n"
		"192.168.55.1), by mDNS (_ssh, _workstation and _cohete services) and over\n"
		"SSH, where each one is identified from its own files as `cohete status`\n"
		"identifies the machine it runs on. One row per device, however found.\n"
		"No method given: USB and mDNS, and SSH to every candidate they find.\n\n"
		"  --usb              look on USB\n"
		"  --mdns             browse mDNS\n"
		"  --ssh HOST,...     probe these hosts over ssh (user@host:port, [v6]:port);\n"
		"                     alone, only these; USB and mDNS candidates are\n"
		"                     always probed too\n"
		"  --no-ssh           look on USB and mDNS only, probe nothing\n"
		"  --all              also list hosts ssh identified as other Linux\n"
		"                     machines (left out by default)\n"
		"  --timeout S        one deadline for all ssh sessions, 1..120 (default 5)\n"
		"  --user U           ssh login user where a host names none\n"
		"  --identity FILE    ssh key (ssh -i)\n"
		"  -o, --ssh-option OPTION\n"
		"                     an ssh -o option (UserKnownHostsFile=...), repeatable\n"
		"  --save [FILE]      write the inventory (default\n"
		"                     $XDG_CONFIG_HOME/cohete/inventory.yaml) and say where\n"
		"  --json             one JSON document\n"
		"  --config FILE      cohete.yaml: its discovery section (methods,\n"
		"                     ssh_hosts, timeout_s) gives the defaults (also\n"
		"                     $COHETE_CONFIG)\n"
		"  -h, --help         this help\n");
}

/* "a,b,c" -> hosts; the list is modified in place. -1 after an error. */
static int add_hosts(struct discover_args *a, char *list)
{
	char *save = NULL;

	for (char *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		if (a->opts.ssh_host_count == MAX_HOSTS) {
			cli_error("--ssh: more than %d hosts", MAX_HOSTS);
			return -1;
		}
		a->hosts[a->opts.ssh_host_count++] = h;
	}
	return 0;
}

/*
 * --config: the discovery section where the command line says nothing
 * (no method and no --ssh: its methods and hosts; no --timeout).
 */
static int config_defaults(struct discover_args *a)
{
	const struct cli_config *c = cli_config();
	const struct coh_config_discovery *d;
	const struct coh_config_strv *hosts;

	if (!c)
		return 0;
	d = &c->cfg->discovery;
	hosts = &d->ssh_hosts;
	if (!a->opts.methods && !a->no_ssh) {
		a->opts.methods = (d->methods & COH_CONFIG_DISCOVER_USB ? COH_DISCOVER_USB : 0) |
			(d->methods & COH_CONFIG_DISCOVER_MDNS ? COH_DISCOVER_MDNS : 0) |
			(d->methods & COH_CONFIG_DISCOVER_SSH || hosts->count ?
			 COH_DISCOVER_SSH : 0);
		for (size_t i = 0; i < hosts->count; i++) {
			if (a->opts.ssh_host_count == MAX_HOSTS) {
				cli_error("%s: discovery.ssh_hosts: more than %d",
					  c->path, MAX_HOSTS);
				return -1;
			}
			a->hosts[a->opts.ssh_host_count++] = hosts->v[i];
		}
	}
	if (!a->opts.timeout_ms)
		a->opts.timeout_ms = d->timeout_s * 1000;
	return 0;
}

static int parse_args(int argc, char **argv, struct discover_args *a)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "usb", no_argument, NULL, 'u' },
		{ "mdns", no_argument, NULL, 'm' },
		{ "ssh", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'U' },
		{ "identity", required_argument, NULL, 'i' },
		{ "ssh-option", required_argument, NULL, 'o' },
		{ "save", optional_argument, NULL, 'S' },
		{ "no-ssh", no_argument, NULL, 'N' },
		{ "all", no_argument, NULL, 'A' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	c = cli_config_open(argc, argv);
	if (c)
		return c;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "ho:", longopts)) != -1) {
		switch (c) {
		case 'j': a->json = 1; break;
		case 'u': a->opts.methods |= COH_DISCOVER_USB; break;
		case 'm': a->opts.methods |= COH_DISCOVER_MDNS; break;
		case 's':
			a->opts.methods |= COH_DISCOVER_SSH;
			if (add_hosts(a, optarg) < 0)
				return CMD_EXIT_USAGE;
			break;
		case 't':
			if (cli_parse_ll("--timeout", optarg, 1, 120, &v) < 0)
				return CMD_EXIT_USAGE;
			a->opts.timeout_ms = (unsigned int)v * 1000;
			break;
		case 'U': a->opts.user = optarg; break;
		case 'i': a->opts.identity = optarg; break;
		case 'o':
			if (a->opts.ssh_option_count == MAX_SSH_OPTIONS) {
				cli_error("--ssh-option: more than %d", MAX_SSH_OPTIONS);
				return CMD_EXIT_USAGE;
			}
			a->ssh_options[a->opts.ssh_option_count++] = optarg;
			break;
		case 'S': a->save = 1; a->save_path = optarg; break;
		case 'N': a->no_ssh = 1; break;
		case 'A': a->opts.all_hosts = 1; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'h': usage(stdout); return CMD_EXIT_OK;
		default: return CMD_EXIT_USAGE;
		}
	}
	/* "--save FILE": the file is the one operand --save may take */
	if (a->save && !a->save_path && optind == argc - 1)
		a->save_path = argv[optind++];
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	if (a->no_ssh && a->opts.ssh_host_count) {
		cli_error("--ssh and --no-ssh: choose one");
		return CMD_EXIT_USAGE;
	}
	if (config_defaults(a) < 0)
		return CMD_EXIT_USAGE;
	/* --ssh alone probes the given hosts; what USB and mDNS find is
	   probed too, unless --no-ssh. No method: USB and mDNS, and ssh. */
	if (!a->opts.methods)
		a->opts.methods = COH_DISCOVER_USB | COH_DISCOVER_MDNS;
	if (a->opts.methods & (COH_DISCOVER_USB | COH_DISCOVER_MDNS))
		a->opts.methods |= COH_DISCOVER_SSH;
	if (a->no_ssh)
		a->opts.methods &= ~COH_DISCOVER_SSH;
	a->opts.ssh_hosts = a->hosts;
	a->opts.ssh_options = a->ssh_options;
	return -1;
}

static const char *mode_name(enum coh_usb_mode m)
{
	switch (m) {
	case COH_USB_RECOVERY: return "recovery";
	case COH_USB_DEVICE: return "device";
	case COH_USB_OTHER: return "other";
	default: return NULL;
	}
}

static json_t *jstr(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *via_json(unsigned int via)
{
	json_t *a = json_array();

	if (via & COH_DISCOVER_USB)
		json_array_append_new(a, json_string("usb"));
	if (via & COH_DISCOVER_MDNS)
		json_array_append_new(a, json_string("mdns"));
	if (via & COH_DISCOVER_SSH)
		json_array_append_new(a, json_string("ssh"));
	return a;
}

static json_t *usb_json(const struct coh_found *f)
{
	char vid[8], pid[8];

	if (f->usb_mode == COH_USB_NONE)
		return json_null();
	snprintf(vid, sizeof(vid), "%04x", f->usb_vid);
	snprintf(pid, sizeof(pid), "%04x", f->usb_pid);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
			 "path", f->usb_port, "vendor_id", vid, "product_id", pid,
			 "mode", mode_name(f->usb_mode),
			 "module", jstr(f->usb_module), "pnums", jstr(f->usb_pnums),
			 "net", jstr(f->usb_net), "net_driver", jstr(f->usb_net_driver),
			 "tty", jstr(f->usb_tty));
}

static json_t *ssh_json(const struct coh_found *f)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}",
			 "reachable", f->ssh == COH_SSH_NOT_TRIED ? json_null() :
			 json_boolean(f->ssh == COH_SSH_OK),
			 "reason", jstr(f->ssh == COH_SSH_FAILED ? f->ssh_reason : NULL),
			 "user", jstr(f->user),
			 "port", f->port ? json_integer(f->port) : json_null(),
			 "elapsed_ms", f->ssh == COH_SSH_NOT_TRIED ? json_null() :
			 json_integer(f->ssh_ms));
}

/* The SoC the USB product id names (recovery mode), or NULL. */
static const char *usb_soc(const struct coh_found *f)
{
	const struct coh_usb_id *id = coh_usb_id_lookup(f->usb_vid, f->usb_pid);

	return f->usb_mode == COH_USB_RECOVERY && id ? id->soc : NULL;
}

static json_t *device_json(const struct coh_found *f)
{
	const struct coh_device *d = f->identified ? &f->device : NULL;

	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o, s:b, s:o, s:o, s:o, s:o}",
		"id", f->id,
		"module", jstr(coh_found_module(f)),
		"module_pnum", jstr(d ? d->module_pnum : NULL),
		"soc", jstr(d ? d->soc : usb_soc(f)),
		"mem_total_bytes", d && d->mem_total_kb ?
			json_integer((json_int_t)d->mem_total_kb * 1024) : json_null(),
		"l4t", jstr(coh_found_l4t(f)),
		"jetpack", jstr(d && d->jetpack ? d->jetpack->jetpack : NULL),
		"serial", jstr(f->serial),
		"hostname", jstr(d ? d->hostname : NULL),
		"address", jstr(f->address),
		"via", via_json(f->via),
		"identified", f->identified,
		"ssh", ssh_json(f),
		"agent", json_pack("{s:o, s:o}", "running", f->agent < 0 ?
				   json_null() : json_boolean(f->agent),
				   "port", f->agent_port ?
				   json_integer(f->agent_port) : json_null()),
		"usb", usb_json(f),
		"mdns", f->via & COH_DISCOVER_MDNS ?
			json_pack("{s:o, s:o, s:o}", "name", jstr(f->mdns_name),
				  "module", jstr(f->mdns_module),
				  "l4t", jstr(f->mdns_l4t)) : json_null());
}

/* Schema cohete.discover/1 (docs/cohete.1, JSON OUTPUT). */
static int print_json(const struct coh_discovery *d,
		      const struct discover_args *a, const char *saved)
{
	json_t *devices = json_array(), *notes = json_array();

	for (size_t i = 0; i < d->count; i++)
		json_array_append_new(devices, device_json(&d->found[i]));
	for (unsigned int i = 0; i < d->notes.count; i++)
		json_array_append_new(notes, json_pack("{s:s, s:s}",
			"field", d->notes.note[i].field,
			"reason", d->notes.note[i].reason));
	return cli_json_print(cli_json_merge(
		cli_json_doc("cohete.discover/1", pep_time_real_ms()),
		json_pack("{s:o, s:i, s:i, s:i, s:o, s:o, s:o}",
			  "methods", via_json(a->opts.methods),
			  "timeout_ms", (int)(a->opts.timeout_ms ? a->opts.timeout_ms :
					      COH_DISCOVER_TIMEOUT_MS_DEFAULT),
			  "elapsed_ms", (int)d->elapsed_ms,
			  "ssh_elapsed_ms", (int)d->ssh_ms,
			  "devices", devices, "unavailable", notes,
			  "inventory", jstr(saved))));
}

static void via_text(unsigned int via, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s",
		 via & COH_DISCOVER_USB ? "usb" : "",
		 (via & COH_DISCOVER_USB) && (via & ~COH_DISCOVER_USB) ? "+" : "",
		 via & COH_DISCOVER_MDNS ? "mdns" : "",
		 (via & COH_DISCOVER_MDNS) && (via & COH_DISCOVER_SSH) ? "+" : "",
		 via & COH_DISCOVER_SSH ? "ssh" : "");
}

/* One row's cells, in the table's column order. */
enum { COL_ID, COL_MODULE, COL_RAM, COL_L4T, COL_ADDRESS, COL_VIA, COL_AGENT,
       COL_SSH, COL_COUNT };

struct row {
	char cell[COL_COUNT][200];
};

static void row_cells(const struct coh_found *f, struct row *r)
{
	const struct coh_device *d = f->identified ? &f->device : NULL;
	const char *module = coh_found_module(f);
	char (*c)[200] = r->cell;

	snprintf(c[COL_ID], sizeof(c[0]), "%s", f->id);
	snprintf(c[COL_MODULE], sizeof(c[0]), "%s", module ? module : "-");
	snprintf(c[COL_RAM], sizeof(c[0]), "-");
	if (d && d->mem_total_kb)
		snprintf(c[COL_RAM], sizeof(c[0]), "%.1f GiB",
			 (double)d->mem_total_kb / (1024.0 * 1024.0));
	snprintf(c[COL_L4T], sizeof(c[0]), "-");
	if (coh_found_l4t(f)[0])
		snprintf(c[COL_L4T], sizeof(c[0]), "%s%s%s%s", coh_found_l4t(f),
			 d && d->jetpack ? " (JP " : "",
			 d && d->jetpack ? d->jetpack->jetpack : "",
			 d && d->jetpack ? ")" : "");
	if (f->address[0] && f->port)
		snprintf(c[COL_ADDRESS], sizeof(c[0]), "%s:%u", f->address, f->port);
	else
		snprintf(c[COL_ADDRESS], sizeof(c[0]), "%s", f->address[0] ?
			 f->address : f->usb_mode == COH_USB_RECOVERY ?
			 "(recovery mode)" : "-");
	via_text(f->via, c[COL_VIA], sizeof(c[0]));
	snprintf(c[COL_AGENT], sizeof(c[0]), "%s",
		 f->agent > 0 ? "yes" : f->agent == 0 ? "no" : "-");
	if (f->ssh == COH_SSH_OK)
		snprintf(c[COL_SSH], sizeof(c[0]), "yes");
	else if (f->ssh == COH_SSH_FAILED)
		snprintf(c[COL_SSH], sizeof(c[0]), "no (%s)", f->ssh_reason);
	else
		snprintf(c[COL_SSH], sizeof(c[0]), "-");
}

/* Every column as wide as its widest cell; the last one is not padded. */
static void print_rows(const struct row *rows, size_t n)
{
	int w[COL_COUNT] = { 0 };

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < COL_COUNT; k++) {
			int len = (int)strlen(rows[i].cell[k]);

			w[k] = len > w[k] ? len : w[k];
		}
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < COL_COUNT - 1; k++)
			printf("%-*s  ", w[k], rows[i].cell[k]);
		printf("%s\n", rows[i].cell[COL_COUNT - 1]);
	}
}

static int print_table(const struct coh_discovery *d)
{
	static const char *const heading[COL_COUNT] = { "ID", "MODULE", "RAM",
		"L4T", "ADDRESS", "FOUND BY", "AGENT", "SSH" };
	struct row *rows = calloc(d->count + 1, sizeof(*rows));
	size_t ok = 0;

	if (!rows) {
		cli_error("out of memory");
		return -1;
	}
	for (int k = 0; k < COL_COUNT; k++)
		snprintf(rows[0].cell[k], sizeof(rows[0].cell[k]), "%s", heading[k]);
	for (size_t i = 0; i < d->count; i++) {
		row_cells(&d->found[i], &rows[i + 1]);
		ok += d->found[i].identified;
	}
	print_rows(rows, d->count + 1);
	free(rows);
	printf("%zu device%s, %zu identified, in %.2f s (ssh %.2f s)\n",
	       d->count, d->count == 1 ? "" : "s", ok, d->elapsed_ms / 1000.0,
	       d->ssh_ms / 1000.0);
	return 0;
}

/* Exit 1 when a host the user named could not be identified. */
static int given_failed(const struct coh_discovery *d)
{
	for (size_t i = 0; i < d->count; i++)
		if ((d->found[i].via & COH_DISCOVER_SSH) && !d->found[i].identified)
			return 1;
	return 0;
}

int cmd_discover(int argc, char **argv)
{
	struct discover_args a = { 0 };
	struct coh_discovery *d;
	struct pep_err err;
	char saved[4096] = "";
	int ret = parse_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	pep_err_clear(&err);
	ret = coh_discover(&a.opts, &d, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -EINVAL ? CMD_EXIT_USAGE :
		       ret == -ENOENT ? CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
	}
	for (unsigned int i = 0; i < d->notes.count && !a.json; i++)
		cli_error("%s: %s", d->notes.note[i].field, d->notes.note[i].reason);
	if (a.save) {
		if (!a.save_path && coh_config_inventory_path(saved, sizeof(saved), NULL, NULL) < 0) {
			cli_error("no inventory path: set XDG_CONFIG_HOME or HOME, "
				  "or give --save FILE");
			coh_discovery_free(d);
			return CMD_EXIT_FAIL;
		}
		if (a.save_path)
			snprintf(saved, sizeof(saved), "%s", a.save_path);
		ret = coh_inventory_save(d, saved, &err);
		if (ret < 0) {
			cli_error("--save: %s", err.msg);
			coh_discovery_free(d);
			return CMD_EXIT_FAIL;
		}
	}
	if (a.json) {
		ret = print_json(d, &a, saved[0] ? saved : NULL);
	} else {
		int written = ret;

		ret = print_table(d) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
		if (saved[0])
			printf("inventory: %d device%s written to %s\n", written,
			       written == 1 ? "" : "s", saved);
	}
	if (ret == CMD_EXIT_OK && given_failed(d))
		ret = CMD_EXIT_FAIL;
	coh_discovery_free(d);
	return ret;
}
