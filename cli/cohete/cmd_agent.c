/*
 * cohete agent: the on-device daemon in the foreground (systemd
 * Type=simple). One line per event on stderr; SIGTERM or SIGINT stops it,
 * and paused workloads are continued on the way out; an agent that was
 * killed instead has its paused groups continued by the next one to start
 * on the same state directory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/agent.h>
#include <cohete/config.h>
#include <cohete/engine.h>

#include "cmd.h"

#define PGIDS_MAX 16
#define ROOT_STATE_DIR "/run/cohete"

struct agent_args {
	struct coh_agent_opts o;
	int pgids[PGIDS_MAX];
	unsigned int pgid_count;
	uid_t uids[COH_AGENT_WORKLOAD_USERS_MAX];
	char addr[64];
	char state_dir[4096];
	int no_state_dir;
	int users_from_config;		/* replaced by the first --workload-user */
	int state_dir_given;		/* on the command line */
	int no_engines;
	int engines_given;
	struct coh_thermal_guard_policy policy;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete agent [--listen ADDR:PORT] [--interval MS] [--token-file FILE]\n"
		"                    [--policy NAME] [--nvpmodel PATH] [--watch-pgid PGID]...\n"
		"                    [--workload-user USER]... [--state-dir DIR|--no-state-dir]\n"
		"                    [--engines DIR|--no-engines] [--engine-launcher HOW]\n"
		"                    [--no-mdns] [--sysroot DIR]\n\n"
		"Run the on-device daemon: sample the machine every MS, pause watched\n"
		"process groups (SIGSTOP) while the thermal breaker is tripped, and serve\n"
		"  GET  /metrics            Prometheus text format\n"
		"  GET  /v1/status          the status sample as JSON, breaker, budget\n"
		"  POST /v1/power/mode      {\"id\": N, \"reboot_ok\": false}\n"
		"  POST /v1/fan             {\"pwm\": 0..255}\n"
		"  POST /v1/breaker/reset   {}\n"
		"  POST /v1/workloads       {\"pgid\": N}\n"
		"  DELETE /v1/workloads/N   stop watching group N (continued if paused)\n"
		"POST and DELETE need 'Authorization: Bearer TOKEN' with the token from\n"
		"--token-file (a file of this user's, mode 0600); without one, control is\n"
		"disabled. A process group is watched only when every process in it runs\n"
		"as a workload user (real or saved uid, as kill(2) checks); by default\n"
		"the agent's own user, and nobody when the agent runs as root.\n"
		"The agent publishes itself over mDNS (_cohete._tcp, through avahi-daemon,\n"
		"for cohete discover) unless it listens on loopback only.\n"
		"With --engines, it runs each model's inference engine (llama-server) as\n"
		"DIR/engines/MODEL says (what cohete deploy leaves there), with its memory\n"
		"limit, paused by the breaker, restarted when it fails, stopped on exit.\n\n"
		"  --listen ADDR:PORT  where to listen (default " COH_AGENT_DEFAULT_LISTEN
		");\n"
		"                      [::1]:PORT for IPv6; port 0 picks a free one\n"
		"  --interval MS       full sample interval, %d..%d (default 1000)\n"
		"  --token-file FILE   bearer token for the control endpoints\n"
		"  --policy NAME       thermal policy: conservative (default), aggressive\n"
		"                      or one the --config file defines\n"
		"  --nvpmodel PATH     the nvpmodel program (default: from PATH)\n"
		"  --watch-pgid PGID   enforce the policy on this process group (repeatable)\n"
		"  --workload-user USER  whose process groups may be watched: a name or a\n"
		"                      uid (repeatable, up to %d)\n"
		"  --state-dir DIR     keep the list of paused groups in DIR, and continue\n"
		"                      the groups a killed agent left there (default\n"
		"                      " ROOT_STATE_DIR " as root, else $XDG_RUNTIME_DIR/cohete)\n"
		"  --no-state-dir      keep no list\n"
		"  --engines DIR       supervise the engines of DIR/engines (DIR: the models\n"
		"                      directory; default with --config: its\n"
		"                      storage.models_dir)\n"
		"  --no-engines        supervise no engines, whatever --config says\n"
		"  --engine-launcher HOW  auto (default): each engine as the systemd unit\n"
		"                      cohete-serve@MODEL (MemoryMax= its budget) where\n"
		"                      systemd runs, else as the agent's child (a cgroup\n"
		"                      limit, else RSS polled); child; systemd\n"
		"  --no-mdns           do not publish the agent over mDNS\n"
		"  --sysroot DIR       read the machine from DIR (also $COHETE_SYSROOT)\n"
		"  --config FILE       cohete.yaml: its agent section (listen, interval_ms,\n"
		"                      token_file, state_dir, workload_users, mdns),\n"
		"                      storage.models_dir and this device's\n"
		"                      thermal_policy and memory_budget_mb are the\n"
		"                      defaults (also $COHETE_CONFIG)\n"
		"  -h, --help          this help\n",
		COH_AGENT_INTERVAL_MIN_MS, COH_AGENT_INTERVAL_MAX_MS,
		COH_AGENT_WORKLOAD_USERS_MAX);
}

static void log_line(const char *line, void *arg)
{
	cli_error("%s", line);
}

/* A whole decimal number in lo..hi, or -1. */
static long parse_num(const char *text, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < lo || v > hi)
		return -1;
	return v;
}

/* A user name, or a uid in digits (it need not be in the user database). */
static int add_user(struct agent_args *g, const char *arg)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	long v = parse_num(arg, 0, INT32_MAX);

	if (g->o.workload_uid_count == COH_AGENT_WORKLOAD_USERS_MAX) {
		cli_error("--workload-user '%s': at most %d", arg, COH_AGENT_WORKLOAD_USERS_MAX);
		return -1;
	}
	if (v < 0 && (getpwnam_r(arg, &pw, buf, sizeof(buf), &found) != 0 || !found)) {
		cli_error("--workload-user '%s': no such user", arg);
		return -1;
	}
	g->uids[g->o.workload_uid_count++] = v >= 0 ? (uid_t)v : found->pw_uid;
	return 0;
}

static int parse_one(struct agent_args *g, int c)
{
	struct pep_err err;
	uint16_t port;
	long v;

	switch (c) {
	case 'l':
		if (coh_agent_listen_parse(optarg, g->addr, sizeof(g->addr), &port,
					   &err) < 0) {
			cli_error("%s", err.msg);
			return -1;
		}
		g->o.listen = optarg;
		return 0;
	case 'i':
		v = parse_num(optarg, COH_AGENT_INTERVAL_MIN_MS, COH_AGENT_INTERVAL_MAX_MS);
		if (v < 0) {
			cli_error("--interval '%s': want %d..%d ms", optarg,
				  COH_AGENT_INTERVAL_MIN_MS, COH_AGENT_INTERVAL_MAX_MS);
			return -1;
		}
		g->o.interval_ms = (uint32_t)v;
		return 0;
	case 'w':
		v = parse_num(optarg, 2, INT32_MAX);
		if (v < 0 || g->pgid_count == PGIDS_MAX) {
			cli_error(v < 0 ? "--watch-pgid '%s': want a process group id" :
				  "--watch-pgid '%s': at most 16 on the command line", optarg);
			return -1;
		}
		g->pgids[g->pgid_count++] = (int)v;
		return 0;
	case 't': g->o.token_file = optarg; return 0;
	case 'p':
		if (cli_policy("--policy", optarg, &g->policy) < 0)
			return -1;
		g->o.policy = &g->policy;
		return 0;
	case 'n': g->o.nvpmodel = optarg; return 0;
	case 's': g->o.sysroot = optarg; return 0;
	case 'u':
		if (g->users_from_config) {
			g->o.workload_uid_count = 0;
			g->users_from_config = 0;
		}
		return add_user(g, optarg);
	case 'C': return 0;	/* read by cli_config_open() */
	case 'd': g->o.state_dir = optarg; g->state_dir_given = 1; return 0;
	case 'D': g->no_state_dir = 1; return 0;
	case 'M': g->o.no_mdns = 1; return 0;
	case 'e': g->o.engines_root = optarg; g->engines_given = 1; return 0;
	case 'E': g->no_engines = 1; return 0;
	case 'L':
		if (!strcmp(optarg, "auto"))
			g->o.engine_launcher = COH_ENGINE_LAUNCH_AUTO;
		else if (!strcmp(optarg, "child"))
			g->o.engine_launcher = COH_ENGINE_LAUNCH_CHILD;
		else if (!strcmp(optarg, "systemd"))
			g->o.engine_launcher = COH_ENGINE_LAUNCH_UNITS;
		else {
			cli_error("--engine-launcher: '%s': auto, child or systemd", optarg);
			return -1;
		}
		return 0;
	}
	return -1;
}

/*
 * The agent section and this device's entry of --config: the defaults of
 * every option, which the command line then overrides.
 */
static int config_defaults(struct agent_args *g)
{
	const struct cli_config *c = cli_config();
	const struct coh_config_agent *ag = &c->cfg->agent;
	const struct coh_config_strv *users = &ag->workload_users;

	g->o.listen = ag->listen;
	g->o.interval_ms = ag->interval_ms;
	g->o.token_file = ag->token_file;
	g->o.state_dir = ag->state_dir;
	g->o.no_mdns = !ag->mdns;
	g->o.engines_root = c->cfg->storage.models_dir;
	if (cli_default_policy(&g->policy) < 0)
		return -1;
	g->o.policy = &g->policy;
	if (c->local && c->local->memory_budget_mb)
		g->o.budget_total_bytes = c->local->memory_budget_mb << 20;
	for (size_t i = 0; i < users->count; i++)
		if (add_user(g, users->v[i]) < 0)
			return -1;
	g->users_from_config = users->count > 0;
	return 0;
}

/* 1 after --help, 0 to run, -1 on a usage error (printed). */
static int parse_args(int argc, char **argv, struct agent_args *g)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "token-file", required_argument, NULL, 't' },
		{ "policy", required_argument, NULL, 'p' },
		{ "nvpmodel", required_argument, NULL, 'n' },
		{ "watch-pgid", required_argument, NULL, 'w' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "workload-user", required_argument, NULL, 'u' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "no-state-dir", no_argument, NULL, 'D' },
		{ "no-mdns", no_argument, NULL, 'M' },
		{ "engines", required_argument, NULL, 'e' },
		{ "no-engines", no_argument, NULL, 'E' },
		{ "engine-launcher", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	c = cli_config_open(argc, argv);
	if (c)
		return -1;
	if (cli_config() && config_defaults(g) < 0)
		return -1;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?')
			return -1;
		if (parse_one(g, c) < 0)
			return -1;
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (g->no_state_dir && g->state_dir_given) {
		cli_error("--state-dir and --no-state-dir: choose one");
		return -1;
	}
	if (g->no_state_dir)
		g->o.state_dir = NULL;	/* over the --config file's */
	if (g->no_engines && g->engines_given) {
		cli_error("--engines and --no-engines: choose one");
		return -1;
	}
	if (g->no_engines)
		g->o.engines_root = NULL;
	if (g->o.engines_root && !*g->o.engines_root) {
		cli_error("--engines '': want the models directory");
		return -1;
	}
	return 0;
}

/* Root's is in /run (gone at reboot, like the groups); a user's in theirs. */
static void default_state_dir(struct agent_args *g)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (g->o.state_dir || g->no_state_dir)
		return;
	if (geteuid() == 0)
		g->o.state_dir = ROOT_STATE_DIR;
	else if (xdg && *xdg && (size_t)snprintf(g->state_dir, sizeof(g->state_dir),
						 "%s/cohete", xdg) < sizeof(g->state_dir))
		g->o.state_dir = g->state_dir;
}

static int watch_all(struct coh_agent *a, const struct agent_args *g)
{
	struct pep_err err;

	for (unsigned int i = 0; i < g->pgid_count; i++)
		if (coh_agent_watch_pgid(a, g->pgids[i], &err) < 0) {
			cli_error("--watch-pgid: %s", err.msg);
			return -1;
		}
	return 0;
}

/* Run until SIGTERM or SIGINT; the signals are blocked in every thread. */
static int serve(struct coh_agent *a)
{
	struct pep_err err;
	sigset_t set;
	int sig = 0;

	if (coh_agent_start(a, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sigwait(&set, &sig) != 0)
		;
	cli_error("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	coh_agent_stop(a);
	return CMD_EXIT_OK;
}

int cmd_agent(int argc, char **argv)
{
	struct agent_args g = { 0 };
	struct coh_agent *a;
	struct pep_err err;
	sigset_t set;
	int ret = parse_args(argc, argv, &g);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
	if (!g.o.sysroot)
		g.o.sysroot = getenv("COHETE_SYSROOT");
	g.o.log = log_line;
	g.o.workload_uids = g.uids;
	default_state_dir(&g);
	if (!g.o.state_dir)
		cli_error("no state directory: a killed agent would leave the "
			  "groups it paused stopped (--state-dir DIR)");
	/* Before any thread exists, so that only sigwait() sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ret = coh_agent_create(&a, &g.o, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	ret = watch_all(a, &g) < 0 ? CMD_EXIT_FAIL : serve(a);
	coh_agent_destroy(a);
	return ret;
}
