/*
 * agent-engines.c - the agent's engines, for real: an agent over a copy of
 * a fixture tree (orin-nano-8gb-super-r36, whose thermal zones this test
 * writes) supervises a models directory whose one model runs
 * tests/engine-server.py, a stand-in for llama-server on a real socket.
 *
 * The library agent: the engine comes up and /v1/status lists it
 * ("model_engines": ready, its pid, port, RSS), /metrics exports
 * cohete_engine_up, _restarts_total and _rss_bytes, the breaker watches its
 * process group though no workload user is named (the agent started it);
 * when the zones pass the trip point the engine is stopped (SIGSTOP) and
 * shows "paused", and both come back once they cool; stopping the agent
 * stops the engine. The CLI: `cohete agent --engines DIR` runs it, a
 * SIGKILLed agent leaves it running and the next one adopts it (the same
 * pid, not a second engine on its port), SIGTERM stops it; --config's
 * storage.models_dir is the default and --no-engines turns it off;
 * --engines with --no-engines is a usage error.
 *
 * Needs python3 (else 77).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/agent.h>
#include <cohete/engine.h>

#include "harness.h"

#define LIMIT_MS 30000			/* a failure bound, never a measure */

static char tree[64], models[96], python[512], script[512], version[COH_ENGINE_VERSION_MAX];
static const char *fixtures, *cohete;
static uint16_t port;
static uint32_t engine_port;

static int64_t now_ms(void)
{
	return (int64_t)(pep_time_ns() / 1000000);
}

static void nap_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* GET path from the agent: the body (malloc'd) of a 200, else NULL. */
static char *get(const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	size_t cap = 1 << 20, len = 0;
	char req[256], *buf = malloc(cap), *body = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;
	ssize_t got;

	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (len + 1 < cap && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	if (!strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200 ", 5) &&
	    strstr(buf, "\r\n\r\n"))
		body = strdup(strstr(buf, "\r\n\r\n") + 4);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return body;
}

/* /v1/status's engine of model "tiny" (a new reference), or NULL. */
static json_t *status_engine(json_t **doc)
{
	char *text = get("/v1/status");
	json_t *list, *e;
	size_t i;

	*doc = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	list = json_object_get(*doc, "model_engines");
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "model")) ?: "", "tiny"))
			return e;
	return NULL;
}

/* Poll /v1/status until tiny's state is want; its pid (0 after LIMIT_MS). */
static int wait_state(const char *want)
{
	int64_t until = now_ms() + LIMIT_MS;
	const char *last = "(none)";
	char seen[64] = "(none)";
	json_t *doc, *e;
	int pid = 0;

	while (now_ms() < until) {
		e = status_engine(&doc);
		last = json_string_value(json_object_get(e, "state"));
		snprintf(seen, sizeof(seen), "%s", last ? last : "(none)");
		if (last && !strcmp(last, want))
			pid = (int)json_integer_value(json_object_get(e, "pid"));
		json_decref(doc);
		if (pid > 0 || (!strcmp(want, "stopped") && last && !strcmp(last, want)))
			return pid > 0 ? pid : 1;
		nap_ms(100);
	}
	fprintf(stderr, "engine tiny: %s after %d ms, want %s\n", seen, LIMIT_MS, want);
	return 0;
}

static int write_tree(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int set_all_temps(int64_t temp_mc)
{
	char rel[128], text[32];
	int ret = 0;

	snprintf(text, sizeof(text), "%lld\n", (long long)temp_mc);
	for (int i = 0; i < 6; i++) {
		snprintf(rel, sizeof(rel), "sys/class/thermal/thermal_zone%d/temp", i);
		ret |= write_tree(rel, text);
	}
	return ret;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

static int wait_proc(pid_t pid, int stopped)
{
	for (int ms = 0; ms <= LIMIT_MS; ms += 50) {
		if ((proc_state(pid) == 'T') == stopped)
			return 0;
		nap_ms(50);
	}
	fprintf(stderr, "pid %d: state %c, want %s\n", (int)pid, proc_state(pid),
		stopped ? "stopped" : "running");
	return -1;
}

static int gone(pid_t pid)
{
	char s = proc_state(pid);

	return s == '?' || s == 'Z';
}

static int wait_gone(pid_t pid)
{
	for (int ms = 0; ms <= LIMIT_MS && !gone(pid); ms += 50)
		nap_ms(50);
	return gone(pid) ? 0 : -1;
}

static int has_line(const char *text, const char *fmt, ...)
{
	char want[512];
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	for (p = text; (p = strstr(p, want)); p++)
		if ((p == text || p[-1] == '\n') && p[strlen(want)] == '\n')
			return 1;
	fprintf(stderr, "no line: %s\n", want);
	return 0;
}

static int test_library(void)
{
	struct coh_agent_opts o = { .sysroot = tree, .listen = "127.0.0.1:0",
				    .interval_ms = 100, .no_mdns = 1,
				    .engines_root = models };
	struct coh_agent *a = NULL;
	struct pep_err err;
	json_t *doc = NULL, *e, *wl;
	char *metrics = NULL;
	int pid = 0, rc = T_FAIL, watched = 0;
	size_t i;

	if (coh_agent_create(&a, &o, &err) < 0 || coh_agent_start(a, &err) < 0) {
		fprintf(stderr, "agent: %s\n", err.msg);
		coh_agent_destroy(a);
		return T_FAIL;
	}
	port = coh_agent_port(a);
	pid = wait_state("ready");
	if (!pid)
		goto out;
	/* /v1/status and /metrics. */
	e = status_engine(&doc);
	if (strcmp(json_string_value(json_object_get(e, "version")) ?: "", version) ||
	    strcmp(json_string_value(json_object_get(e, "which")) ?: "", "active") ||
	    json_integer_value(json_object_get(e, "port")) != engine_port ||
	    json_integer_value(json_object_get(e, "restart_count")) != 0 ||
	    json_integer_value(json_object_get(e, "rss_bytes")) <= 0 ||
	    !json_is_string(json_object_get(e, "since"))) {
		fprintf(stderr, "model_engines[tiny]: %s\n", json_dumps(e, JSON_COMPACT));
		goto out;
	}
	json_array_foreach(json_object_get(json_object_get(doc, "breaker"), "workloads"), i, wl)
		watched |= json_integer_value(json_object_get(wl, "pgid")) == pid;
	json_decref(doc);
	doc = NULL;
	if (!watched) {
		fprintf(stderr, "the breaker does not watch engine group %d\n", pid);
		goto out;
	}
	metrics = get("/metrics");
	if (!metrics || !has_line(metrics, "cohete_engine_up{model=\"tiny\",version=\"%s\"} 1",
				  version) ||
	    !has_line(metrics, "cohete_engine_restarts_total{model=\"tiny\"} 0") ||
	    !strstr(metrics, "\ncohete_engine_rss_bytes{model=\"tiny\"} ") ||
	    !strstr(metrics, "# TYPE cohete_engine_restarts_total counter\n"))
		goto out;
	/* Hot: paused, and says so; cool: running and ready again. */
	if (set_all_temps(70000) < 0 || wait_proc(pid, 1) < 0 || !wait_state("paused"))
		goto out;
	free(metrics);
	metrics = get("/metrics");
	if (!metrics || !has_line(metrics, "cohete_engine_up{model=\"tiny\",version=\"%s\"} 0",
				  version))
		goto out;
	if (set_all_temps(45000) < 0 || wait_proc(pid, 0) < 0 || wait_state("ready") != pid)
		goto out;
	/* Stopped with the agent. */
	coh_agent_destroy(a);
	a = NULL;
	if (wait_gone(pid) < 0) {
		fprintf(stderr, "engine %d still running after the agent stopped\n", pid);
		goto out;
	}
	rc = T_PASS;
out:
	set_all_temps(45000);
	free(metrics);
	json_decref(doc);
	coh_agent_destroy(a);
	if (pid > 0 && !gone(pid))
		kill(-pid, SIGKILL);
	return rc;
}

/* cohete agent ARGS... in the background, stderr to log; its pid. */
static pid_t run_agent(const char *log, const char *extra1, const char *extra2)
{
	pid_t pid;

	unlink(log);			/* no earlier run's "listening on" */
	pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(99);
		execl(cohete, cohete, "agent", "--sysroot", tree, "--listen", "127.0.0.1:0",
		      "--no-state-dir", "--no-mdns", "--interval", "100", extra1, extra2,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The port from the agent's "listening on http://127.0.0.1:N" line. */
static int agent_port(const char *log, pid_t agent)
{
	for (int ms = 0; ms <= LIMIT_MS; ms += 100) {
		char *text = t_read_file(log), *p = text ? strstr(text, "listening on http://127.0.0.1:") : NULL;
		int n = p ? atoi(p + 30) : 0;

		free(text);
		if (n > 0)
			return port = (uint16_t)n;
		if (waitpid(agent, NULL, WNOHANG) == agent)
			return 0;
		nap_ms(100);
	}
	return 0;
}

static int log_has(const char *log, const char *what)
{
	char *text = t_read_file(log);
	int found = text && strstr(text, what);

	if (!found)
		fprintf(stderr, "%s does not say \"%s\":\n%s\n", log, what, text ? text : "");
	free(text);
	return found;
}

static int stop_agent(pid_t agent, int sig)
{
	int status;

	kill(agent, sig);
	return waitpid(agent, &status, 0) == agent ? status : -1;
}

static int test_cli(void)
{
	char log1[128], log2[128], want[128];
	pid_t a1 = -1, a2 = -1;
	int pid = 0, pid2, rc = T_FAIL, status;

	snprintf(log1, sizeof(log1), "%s/agent1.log", tree);
	snprintf(log2, sizeof(log2), "%s/agent2.log", tree);
	a1 = run_agent(log1, "--engines", models);
	if (a1 < 0 || !agent_port(log1, a1) || !(pid = wait_state("ready")))
		goto out;
	/* Killed: the engine runs on, and the next agent adopts it. */
	stop_agent(a1, SIGKILL);
	a1 = -1;
	if (gone(pid)) {
		fprintf(stderr, "engine %d went with the killed agent\n", pid);
		goto out;
	}
	a2 = run_agent(log2, "--engines", models);
	if (a2 < 0 || !agent_port(log2, a2) || !(pid2 = wait_state("ready")))
		goto out;
	snprintf(want, sizeof(want), "engine tiny: adopted %s (pid %d)", version, pid);
	if (pid2 != pid || !log_has(log2, want))
		goto out;
	/* SIGTERM: the agent stops its engine on the way out. */
	status = stop_agent(a2, SIGTERM);
	a2 = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || wait_gone(pid) < 0 ||
	    !log_has(log2, "engine tiny: stopping"))
		goto out;
	rc = T_PASS;
out:
	if (a1 > 0)
		stop_agent(a1, SIGKILL);
	if (a2 > 0)
		stop_agent(a2, SIGKILL);
	if (pid > 0 && !gone(pid))
		kill(-pid, SIGKILL);
	return rc;
}

static int test_cli_config(void)
{
	char cfg[128], arg[160], log[128], *text;
	FILE *f;
	pid_t a;
	int pid, status;

	snprintf(cfg, sizeof(cfg), "%s/cohete.yaml", tree);
	snprintf(arg, sizeof(arg), "--config=%s", cfg);
	snprintf(log, sizeof(log), "%s/agent3.log", tree);
	f = fopen(cfg, "w");
	CHECK(f);
	fprintf(f, "storage:\n  models_dir: %s\n", models);
	CHECK(fclose(f) == 0);
	a = run_agent(log, arg, NULL);
	CHECK(a > 0 && agent_port(log, a));
	pid = wait_state("ready");
	status = stop_agent(a, SIGTERM);
	CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(wait_gone(pid) == 0);
	/* --no-engines: the file's models directory is left alone. */
	a = run_agent(log, arg, "--no-engines");
	CHECK(a > 0 && agent_port(log, a));
	status = stop_agent(a, SIGTERM);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(log_has(log, "listening on"));
	text = t_read_file(log);
	CHECK(text && !strstr(text, "engines: supervising"));
	free(text);
	/* Both: a usage error. */
	a = run_agent(log, "--engines=/nonexistent", "--no-engines");
	CHECK(a > 0 && waitpid(a, &status, 0) == a);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CHECK(log_has(log, "--engines and --no-engines"));
	return T_PASS;
}

static int find_python(void)
{
	FILE *p = popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null", "r");
	size_t len;

	if (!p)
		return -1;
	if (!fgets(python, sizeof(python), p))
		python[0] = '\0';
	pclose(p);
	len = strcspn(python, "\n");
	python[len] = '\0';
	return len && python[0] == '/' ? 0 : -1;
}

static uint32_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint32_t p = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* The fixture tree, and a models directory with one model, "tiny". */
static int set_up(void)
{
	char cmd[512], portword[16], test[16];
	char *argv[] = { python, script, "--host", "127.0.0.1", "--port", portword,
			 "--die-with", test, NULL };
	struct coh_engine_spec s = {
		.model = "tiny", .artifact = "tiny-Q4_K_M-0011223344556677.gguf",
		.sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.level = "Q4_K_M", .host = "127.0.0.1", .argv = argv, .argc = 8,
	};
	struct pep_err err;

	snprintf(tree, sizeof(tree), "/tmp/coh-agent-engines-XXXXXX");
	if (!mkdtemp(tree) || chmod(tree, 0755) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/orin-nano-8gb-super-r36/.' '%s/'",
		 fixtures, tree);
	if (system(cmd) != 0 || set_all_temps(45000) < 0)
		return -1;
	snprintf(models, sizeof(models), "%s/models", tree);
	engine_port = free_port();
	s.port = engine_port;
	snprintf(portword, sizeof(portword), "%u", (unsigned int)engine_port);
	snprintf(test, sizeof(test), "%d", (int)getpid());
	if (coh_engine_store(models, &s, version, sizeof(version), &err) < 0 ||
	    coh_engine_link(models, "tiny", "active", version, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

int main(void)
{
	char cmd[128];
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	cohete = getenv("COHETE_BIN");
	if (!fixtures || !cohete) {
		printf("SKIP: COHETE_FIXTURES/COHETE_BIN not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(script, sizeof(script), "%s/../engine-server.py", fixtures);
	if (find_python() < 0) {
		printf("SKIP: no python3 (the test engine is a python script)\n");
		return T_SKIP;
	}
	if (set_up() < 0)
		return T_ERROR;
	t_run("library", test_library, &rc);
	t_run("cli", test_cli, &rc);
	t_run("cli-config", test_cli_config, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tree);
	return rc;
}
