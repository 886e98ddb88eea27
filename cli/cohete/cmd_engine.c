/*
 * cohete engine state|receive|verify|activate|rollback: the device's half
 * of `cohete deploy`, run there over ssh (and by hand, to see what a
 * device runs). The work is libcohete's (coh_fleet_node_*); this file
 * parses options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/engine.h>
#include <cohete/fleet.h>
#include <cohete/status.h>
#include <cohete/sysroot.h>
#include <pepita/core.h>

#include "cmd.h"
#include "json_doc.h"

#define SPEC_MAX	(256u * 1024)

struct engine_args {
	const char *root, *name, *sha256, *model;
	uint64_t size;
	int have_size;
	unsigned int timeout_s;
	unsigned int agent_port;	/* state: the agent asked on loopback */
	int json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete engine state [--root DIR] [--agent-port N] [--json]\n"
		"       cohete engine receive --name FILE --size N --sha256 HEX [--root DIR]\n"
		"       cohete engine verify --name FILE --sha256 HEX [--root DIR]\n"
		"       cohete engine activate [--root DIR] [--timeout S] [--json] < SPEC\n"
		"       cohete engine rollback --model M [--root DIR] [--timeout S] [--json]\n\n"
		"The inference engines of this device, as `cohete deploy` runs them\n"
		"(it calls these over ssh). DIR is storage.models_dir (--config FILE),\n"
		"else /var/lib/cohete/models; `cohete agent --engines DIR` supervises them.\n\n"
		"  state     the model files, the free space and each model's active,\n"
		"            previous and candidate versions and engine state\n"
		"  receive   a model file on stdin, resumed, verified, then renamed into\n"
		"            DIR; answers on stdout: have N | offset N, then ok N\n"
		"  verify    check DIR/.incoming/FILE.part against HEX and rename it\n"
		"  activate  make the engine spec on stdin (cohete.engine/1) run: it is\n"
		"            started, probed, and kept, or the old version comes back\n"
		"  rollback  the model's previous version runs again\n\n"
		"  --root DIR     where the models and engines live\n"
		"  --timeout S    how long a new version may take to answer (default %u)\n"
		"  --agent-port N state: the agent's port on 127.0.0.1, for its breaker\n"
		"                 and budget (default: agent.listen's, else 9102; 0: none)\n"
		"  --json         one JSON document\n"
		"  --config FILE  the cohete.yaml whose storage.models_dir is DIR\n"
		"  -h, --help     this help\n", COH_FLEET_READY_TIMEOUT_S);
}

static int parse(int argc, char **argv, struct engine_args *a)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "sha256", required_argument, NULL, 'S' },
		{ "model", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "agent-port", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_config *c;
	long long v;
	int ch;

	ch = cli_config_open(argc, argv);
	if (ch)
		return ch;
	c = cli_config();
	a->root = c && c->cfg->storage.models_dir ? c->cfg->storage.models_dir :
		  "/var/lib/cohete/models";
	a->agent_port = c && c->cfg->agent.listen_port ? c->cfg->agent.listen_port : 9102;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
		switch (ch) {
		case 'r': a->root = optarg; break;
		case 'n': a->name = optarg; break;
		case 'S': a->sha256 = optarg; break;
		case 'm': a->model = optarg; break;
		case 's':
			if (cli_parse_ll("--size", optarg, 0, INT64_MAX, &v) < 0)
				return CMD_EXIT_USAGE;
			a->size = (uint64_t)v;
			a->have_size = 1;
			break;
		case 't':
			if (cli_parse_ll("--timeout", optarg, 1, 3600, &v) < 0)
				return CMD_EXIT_USAGE;
			a->timeout_s = (unsigned int)v;
			break;
		case 'a':
			if (cli_parse_ll("--agent-port", optarg, 0, 65535, &v) < 0)
				return CMD_EXIT_USAGE;
			a->agent_port = (unsigned int)v;
			break;
		case 'j': a->json = 1; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'h': usage(stdout); return CMD_EXIT_OK;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	return -1;
}

static int need(const char *value, const char *option)
{
	if (value)
		return 0;
	cli_error("%s is required", option);
	return -1;
}

static int fail(int rc, const struct pep_err *e)
{
	cli_error("%s", e->msg);
	return rc == -EINVAL ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
}

/* ---- state ------------------------------------------------------------------ */

static void print_model(json_t *m)
{
	json_t *eng = json_object_get(m, "engine");
	const char *active = json_string_value(json_object_get(m, "active"));
	const char *cand = json_string_value(json_object_get(m, "candidate"));
	const char *state = json_string_value(json_object_get(eng, "state"));
	const char *reason = json_string_value(json_object_get(eng, "reason"));

	printf("%-20s %-44s %-9s", json_string_value(json_object_get(m, "model")),
	       active ? active : "-", state ? state : "-");
	if (cand)
		printf(" (candidate %s)", cand);
	if (reason && *reason)
		printf(" %s", reason);
	printf("\n");
}

static int print_state(const char *text)
{
	json_t *doc = json_loads(text, 0, NULL), *m;
	size_t i;

	if (!doc) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	printf("%s: %.0f MiB free of %.0f MiB\n", json_string_value(json_object_get(doc, "root")),
	       cli_mib((uint64_t)json_integer_value(json_object_get(doc, "free_bytes"))),
	       cli_mib((uint64_t)json_integer_value(json_object_get(doc, "total_bytes"))));
	json_array_foreach(json_object_get(doc, "artifacts"), i, m)
		printf("  %-60s %8.1f MiB\n", json_string_value(json_object_get(m, "name")),
		       cli_mib((uint64_t)json_integer_value(json_object_get(m, "size_bytes"))));
	if (json_array_size(json_object_get(doc, "models")))
		printf("%-20s %-44s %s\n", "MODEL", "ACTIVE", "ENGINE");
	json_array_foreach(json_object_get(doc, "models"), i, m)
		print_model(m);
	json_decref(doc);
	return CMD_EXIT_OK;
}

/*
 * This machine as `cohete status --json` sees it ($COHETE_SYSROOT
 * honoured), added to the state as "device": what `status --fleet` and
 * `deploy --check` show of each device. Missing when it cannot be read.
 */
static char *with_device(char *text)
{
	struct coh_sysroot *sr = NULL;
	struct coh_status *st = malloc(sizeof(*st));
	json_t *doc = json_loads(text, 0, NULL), *dev = NULL;
	char *status = NULL, *out = NULL;

	if (st && doc && coh_sysroot_open(&sr, &(struct coh_sysroot_opts){
			.root = getenv("COHETE_SYSROOT") }, NULL) == 0 &&
	    coh_status_sample(sr, NULL, st) == 0)
		status = coh_status_json(st);
	if (status && (dev = json_loads(status, 0, NULL)))
		json_object_set_new(doc, "device", dev);
	if (doc)
		out = json_dumps(doc, JSON_COMPACT);
	coh_sysroot_close(sr);
	json_decref(doc);
	free(status);
	free(st);
	if (!out)
		return text;
	free(text);
	return out;
}

static int cmd_engine_state(int argc, char **argv)
{
	struct engine_args a = { 0 };
	struct pep_err e;
	char *text;
	int ret = parse(argc, argv, &a);

	if (ret >= 0)
		return ret;
	pep_err_clear(&e);
	text = coh_fleet_node_state(a.root, &(struct coh_fleet_node_state_opts){
		.agent_port = (uint16_t)a.agent_port }, &e);
	if (!text)
		return fail(-EIO, &e);
	text = with_device(text);
	if (a.json)
		ret = printf("%s\n", text) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	else
		ret = print_state(text);
	free(text);
	return ret;
}

/* ---- receive, verify -------------------------------------------------------- */

static int cmd_engine_receive(int argc, char **argv)
{
	struct engine_args a = { 0 };
	struct pep_err e;
	int ret = parse(argc, argv, &a);

	if (ret >= 0)
		return ret;
	if (need(a.name, "--name") || need(a.sha256, "--sha256") ||
	    need(a.have_size ? "" : NULL, "--size"))
		return CMD_EXIT_USAGE;
	pep_err_clear(&e);
	ret = coh_fleet_node_receive(a.root, a.name, a.size, a.sha256,
				     STDIN_FILENO, STDOUT_FILENO, &e);
	return ret ? fail(ret, &e) : CMD_EXIT_OK;
}

static int cmd_engine_verify(int argc, char **argv)
{
	struct engine_args a = { 0 };
	struct pep_err e;
	int ret = parse(argc, argv, &a);

	if (ret >= 0)
		return ret;
	if (need(a.name, "--name") || need(a.sha256, "--sha256"))
		return CMD_EXIT_USAGE;
	pep_err_clear(&e);
	ret = coh_fleet_node_verify(a.root, a.name, a.sha256, &e);
	return ret ? fail(ret, &e) : CMD_EXIT_OK;
}

/* ---- activate, rollback ----------------------------------------------------- */

static char *read_stdin(size_t *len)
{
	char *buf = malloc(SPEC_MAX + 1);
	size_t n = 0;

	while (buf && n < SPEC_MAX) {
		ssize_t r = read(STDIN_FILENO, buf + n, SPEC_MAX - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int report(const struct engine_args *a, const struct coh_fleet_node_result *r,
		  int rc, const struct pep_err *e)
{
	if (a->json && r->result[0]) {
		json_t *doc = cli_json_doc("cohete.engine-activate/1", pep_time_real_ms());

		doc = cli_json_add(doc, "result", json_string(r->result));
		doc = cli_json_add(doc, "version", json_string(r->version));
		doc = cli_json_add(doc, "reason", json_string(r->reason));
		doc = cli_json_add(doc, "ready_ms", json_integer((json_int_t)r->ready_ms));
		if (cli_json_print(doc) != CMD_EXIT_OK)
			return CMD_EXIT_FAIL;
	} else if (r->result[0]) {
		printf("%s: %s\n", r->result, r->reason);
	}
	if (rc && !r->result[0])
		return fail(rc, e);
	if (rc)
		cli_error("%s", r->reason);
	return rc ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

/*
 * The deployer may be killed or its connection cut while we wait: we
 * finish on our own (promote or fall back) rather than leave a candidate
 * to its deadline.
 */
static void outlive_the_session(void)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

static int cmd_engine_activate(int argc, char **argv)
{
	struct engine_args a = { 0 };
	struct coh_fleet_node_result r;
	struct pep_err e;
	size_t len;
	char *spec;
	int ret = parse(argc, argv, &a);

	if (ret >= 0)
		return ret;
	spec = read_stdin(&len);
	if (!spec) {
		cli_error("out of memory");
		return CMD_EXIT_FAIL;
	}
	outlive_the_session();
	pep_err_clear(&e);
	ret = coh_fleet_node_activate(a.root, spec, len, a.timeout_s, &r, &e);
	free(spec);
	return report(&a, &r, ret, &e);
}

static int cmd_engine_rollback(int argc, char **argv)
{
	struct engine_args a = { 0 };
	struct coh_fleet_node_result r;
	struct pep_err e;
	int ret = parse(argc, argv, &a);

	if (ret >= 0)
		return ret;
	if (need(a.model, "--model"))
		return CMD_EXIT_USAGE;
	outlive_the_session();
	pep_err_clear(&e);
	ret = coh_fleet_node_rollback(a.root, a.model, a.timeout_s, &r, &e);
	return report(&a, &r, ret, &e);
}

static const struct cmd verbs[] = {
	{ "activate", cmd_engine_activate, "run a new engine version, or go back to the old one" },
	{ "receive", cmd_engine_receive, "a model file on stdin, resumed and verified" },
	{ "rollback", cmd_engine_rollback, "the model's previous version runs again" },
	{ "state", cmd_engine_state, "model files, free space, engine versions and states" },
	{ "verify", cmd_engine_verify, "check and place a model file rsync copied" },
};

static const struct cli_level verb_level = {
	.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs), .usage = usage,
};

int cmd_engine(int argc, char **argv)
{
	return cli_dispatch(&verb_level, argc, argv);
}
