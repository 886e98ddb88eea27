/*
 * fleet-executor.c - the Jetson executor's gate and device selection.
 *
 * The gate's decision from agent status documents: rendered by the
 * agent's own coh_agent_status_json() (so a renamed key fails here) with
 * the breaker closed, warning, tripped and cooling, budgets with and
 * without room, tasks already held there; then hand-written ones (the
 * machine's memory lower than the budget's, no memory figure) and
 * malformed ones (not JSON, cut short, another schema, no breaker, an
 * unknown state, duplicate keys, a number where a string belongs).
 *
 * Then the executor against a real HTTP server on loopback (a thread of
 * this test) serving those documents: a hot device's task is refused
 * with the reason and ssh is never started; a cool one's goes on to ssh
 * (here /bin/false as the ssh program: the task then fails with
 * -ECONNRESET naming the device, which shows the gate let it through);
 * the answer is asked once per cache interval; a device without an
 * agent is refused, or runs ungated when told to. Last, "all", ids and
 * label:NAME choose devices as models[].devices does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cohete/agent.h>
#include <cohete/config.h>
#include <cohete/fleet.h>
#include <cohete/thermal.h>
#include <pepita/exec.h>
#include <pepita/task.h>

#include "harness.h"

#define GIB	(1024ull * 1024 * 1024)
#define MIB	(1024ull * 1024)

/* ---- documents as the agent renders them ---- */

struct doc_opts {
	enum coh_thermal_guard_state state;
	int64_t input_mc;
	int budget;			/* a budget: total 8 GiB, 2 GiB reserved */
	uint64_t used_bytes;
};

static char *agent_doc(const struct doc_opts *o)
{
	struct coh_agent_snapshot s = { 0 };

	s.breaker.present = 1;
	snprintf(s.breaker.policy.name, sizeof(s.breaker.policy.name),
		 "conservative");
	s.breaker.policy.trip_mc = 65000;
	s.breaker.policy.resume_mc = 55000;
	s.breaker.policy.warning_mc = 60000;
	s.breaker.policy.check_interval_ms = 500;
	s.breaker.state = o->state;
	s.breaker.input_mc = o->input_mc;
	s.budget.present = o->budget;
	s.budget.total_bytes = 8 * GIB;
	s.budget.reserved_bytes = 2 * GIB;
	s.budget.used_bytes = o->used_bytes;
	s.agent.present = 1;
	s.agent.interval_ms = 200;
	return coh_agent_status_json(&s);
}

static struct doc_opts *at(enum coh_thermal_guard_state state, int64_t input_mc,
			   struct doc_opts *o)
{
	*o = (struct doc_opts){ .state = state, .input_mc = input_mc };
	return o;
}

static int decide_doc(const struct doc_opts *o, uint64_t need, uint64_t held,
		      struct coh_fleet_gate *g)
{
	char *doc = agent_doc(o);
	int v;

	if (!doc)
		return -ENOMEM;
	v = coh_fleet_gate_decide("orin-nano", doc, strlen(doc), need, held, g);
	free(doc);
	return v;
}

static int test_breaker(void)
{
	struct coh_fleet_gate g;
	struct doc_opts d;

	CHECK(decide_doc(at(COH_THERMAL_GUARD_OK, 48625, &d), 0, 0, &g) == 0);
	CHECK(g.verdict == 0 && !strcmp(g.breaker, "ok") && !g.reason[0]);
	CHECK(fabs(g.temp_c - 48.625) < 1e-9 && g.trip_c == 65.0 &&
	      g.resume_c == 55.0);
	CHECK(decide_doc(at(COH_THERMAL_GUARD_WARNING, 61000, &d), 0, 0, &g) == 0);
	CHECK(!strcmp(g.breaker, "warning"));

	CHECK(decide_doc(at(COH_THERMAL_GUARD_TRIPPED, 78500, &d),
			 0, 0, &g) == -EHOSTDOWN);
	CHECK(!strcmp(g.reason, "orin-nano: thermal breaker open (78.5 C)"));
	CHECK(!strcmp(g.breaker, "tripped"));
	CHECK(decide_doc(at(COH_THERMAL_GUARD_COOLING, 58125, &d),
			 0, 0, &g) == -EHOSTDOWN);
	CHECK(!strcmp(g.reason, "orin-nano: thermal breaker open, cooling "
		      "(58.1 C, closes below 55.0 C)"));
	/* no zone read: open all the same, without a figure */
	CHECK(decide_doc(at(COH_THERMAL_GUARD_TRIPPED, COH_NA, &d),
			 0, 0, &g) == -EHOSTDOWN);
	CHECK(!strcmp(g.reason, "orin-nano: thermal breaker open"));
	CHECK(isnan(g.temp_c));
	/* open and full: the breaker is the reason */
	at(COH_THERMAL_GUARD_TRIPPED, 70000, &d);
	d.budget = 1;
	d.used_bytes = 6 * GIB;
	CHECK(decide_doc(&d, GIB, 0, &g) == -EHOSTDOWN);
	return T_PASS;
}

static int test_budget(void)
{
	struct doc_opts cool = { .state = COH_THERMAL_GUARD_OK, .input_mc = 45000,
				 .budget = 1, .used_bytes = 5 * GIB };
	struct doc_opts none = { .state = COH_THERMAL_GUARD_OK, .input_mc = 45000 };
	struct coh_fleet_gate g;

	/* 8 GiB - 2 reserved - 5 used: 1 GiB of room */
	CHECK(decide_doc(&cool, 512 * MIB, 0, &g) == 0);
	CHECK(g.has_room && g.room_bytes == GIB);
	CHECK(decide_doc(&cool, GIB, 0, &g) == 0);
	CHECK(decide_doc(&cool, 2 * GIB, 0, &g) == -EBUSY);
	CHECK(!strcmp(g.reason, "orin-nano: memory budget full (1024 MiB free; "
		      "the task needs 2048 MiB)"));
	/* tasks of ours there hold 768 MiB of it */
	CHECK(decide_doc(&cool, 256 * MIB, 768 * MIB, &g) == 0);
	CHECK(decide_doc(&cool, 512 * MIB, 768 * MIB, &g) == -EBUSY);
	CHECK(!strcmp(g.reason, "orin-nano: memory budget full (1024 MiB free, "
		      "768 MiB of it held by tasks running there; the task needs "
		      "512 MiB)"));
	/* held beyond the room (the agent's sample shows them already) */
	CHECK(decide_doc(&cool, MIB, 2 * GIB, &g) == -EBUSY);
	/* need 0: only the breaker, whatever the room */
	cool.used_bytes = 6 * GIB;
	CHECK(decide_doc(&cool, 0, 0, &g) == 0);
	CHECK(g.has_room && g.room_bytes == 0);
	/* no budget and no memory figure: a need cannot be judged */
	CHECK(decide_doc(&none, 0, 0, &g) == 0);
	CHECK(!g.has_room);
	CHECK(decide_doc(&none, MIB, 0, &g) == -EBUSY);
	CHECK(strstr(g.reason, "gives no memory figure") != NULL);
	return T_PASS;
}

static int decide_text(const char *text, uint64_t need, struct coh_fleet_gate *g)
{
	return coh_fleet_gate_decide("nx", text, strlen(text), need, 0, g);
}

#define HEAD	"{\"schema\": \"cohete.agent.status/2\", "
#define OK	"\"breaker\": {\"state\": \"ok\", \"input_temp_celsius\": 40.5}"

/* The least of the budget's room and the machine's MemAvailable. */
static int test_room_sources(void)
{
	struct coh_fleet_gate g;

	CHECK(decide_text(HEAD OK ", \"budget\": {\"available_bytes\": 4294967296}, "
			  "\"memory\": {\"available_bytes\": 1073741824}}", 2 * GIB,
			  &g) == -EBUSY);
	CHECK(g.room_bytes == GIB);
	CHECK(decide_text(HEAD OK ", \"budget\": null, "
			  "\"memory\": {\"available_bytes\": 3221225472}}", 2 * GIB,
			  &g) == 0);
	CHECK(g.room_bytes == 3 * GIB);
	/* a figure of the wrong type or sign is no figure */
	CHECK(decide_text(HEAD OK ", \"budget\": {\"available_bytes\": -5}, "
			  "\"memory\": {\"available_bytes\": \"lots\"}}", MIB,
			  &g) == -EBUSY);
	CHECK(!g.has_room);
	return T_PASS;
}

static int test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"not json",
		"{\"schema\": \"cohete.agent.status/2\", \"breaker\": {\"state\"",
		"[]",
		"{\"schema\": \"cohete.status/1\", " OK "}",
		"{" OK "}",
		"{\"schema\": 2, " OK "}",
		HEAD "\"budget\": null}",
		HEAD "\"breaker\": {\"state\": \"melting\"}}",
		HEAD "\"breaker\": {\"state\": 3}}",
		HEAD "\"breaker\": [\"ok\"]}",
		HEAD OK ", " OK "}",
		HEAD OK "} trailing",
	};
	struct coh_fleet_gate g;
	struct doc_opts d;
	char *doc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (decide_text(bad[i], 0, &g) != -EPROTO || !g.reason[0]) {
			fprintf(stderr, "document %zu: verdict %d (%s), want -EPROTO\n",
				i, g.verdict, g.reason);
			return T_FAIL;
		}
	}
	CHECK(decide_text("not json", 0, &g) == -EPROTO);
	CHECK(strstr(g.reason, "nx: the agent's status is not JSON (") == g.reason);
	CHECK(coh_fleet_gate_decide("nx", NULL, 0, 0, 0, &g) == -EPROTO);
	/* an agent with no breaker at all cannot say it is cool */
	CHECK(decide_text(HEAD "\"breaker\": null}", 0, &g) == -EHOSTDOWN);
	/* a NUL inside, and a real document cut in half */
	CHECK(coh_fleet_gate_decide("nx", HEAD OK "}\0x", sizeof(HEAD OK "}\0x") - 1,
				    0, 0, &g) == -EPROTO);
	doc = agent_doc(at(COH_THERMAL_GUARD_OK, 40000, &d));
	CHECK(doc);
	CHECK(coh_fleet_gate_decide("nx", doc, strlen(doc) / 2, 0, 0, &g) == -EPROTO);
	free(doc);
	return T_PASS;
}

/* ---- an agent on loopback: a thread serving one document at a time ---- */

struct server {
	int fd;
	uint16_t port;
	pthread_mutex_t lock;
	char *doc;			/* NULL: 404 */
	atomic_int requests;
	pthread_t t;
};

static void serve_one(struct server *s, int c)
{
	char req[4096], head[256];
	size_t got = 0;
	ssize_t n;
	int len;

	while (got < sizeof(req) - 1 && (n = recv(c, req + got, sizeof(req) - 1 - got, 0)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	atomic_fetch_add(&s->requests, 1);
	pthread_mutex_lock(&s->lock);
	if (s->doc) {
		len = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: "
			       "application/json\r\nContent-Length: %zu\r\n\r\n",
			       strlen(s->doc));
		send(c, head, (size_t)len, MSG_NOSIGNAL);
		send(c, s->doc, strlen(s->doc), MSG_NOSIGNAL);
	} else {
		len = snprintf(head, sizeof(head), "HTTP/1.0 404 Not Found\r\n"
			       "Content-Length: 0\r\n\r\n");
		send(c, head, (size_t)len, MSG_NOSIGNAL);
	}
	pthread_mutex_unlock(&s->lock);
	close(c);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0)
		serve_one(s, c);
	return NULL;
}

static int server_start(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->fd, 16) || getsockname(s->fd, (struct sockaddr *)&a, &al))
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->t, NULL, server_main, s) ? -1 : 0;
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);	/* accept() returns */
	pthread_join(s->t, NULL);
	close(s->fd);
	free(s->doc);
}

static void server_set(struct server *s, char *doc)
{
	pthread_mutex_lock(&s->lock);
	free(s->doc);
	s->doc = doc;
	pthread_mutex_unlock(&s->lock);
}

/* A port nothing listens on: bound, then closed. */
static uint16_t closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static const char fleet_yaml[] =
	"version: \"1.0\"\n"
	"fleet:\n"
	"  devices:\n"
	"    - {id: orin-nano, ip: 127.0.0.1, user: root, labels: [gpu, lab]}\n"
	"    - {id: orin-nx, ip: 127.0.0.2, labels: [gpu]}\n"
	"    - {id: nano, ip: \"::1\", port: 2222}\n";

static struct coh_config *load_fleet(void)
{
	struct coh_config *cfg = NULL;

	coh_config_load_string(fleet_yaml, strlen(fleet_yaml), "t.yaml", NULL,
			       &cfg, NULL, NULL);
	return cfg;
}

static const char *const true_argv[] = { "true", NULL };

/* One task through ex: its result's error, message into msg. */
static int run_task(struct pep_executor *ex, char *msg, size_t size)
{
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = true_argv };
	struct pep_task_result res;
	int ret = pep_executor_run(ex, &t, &res, -1);

	snprintf(msg, size, "%s", res.message);
	pep_task_result_free(&res);
	return ret;
}

static int make(struct coh_config *cfg, struct coh_fleet_executor_opts *o,
		struct pep_executor **ex)
{
	o->remote.ssh_program = "false";	/* no ssh session: see the top */
	return coh_fleet_executor_create(cfg, 0, o, ex, NULL);
}

static int test_executor(void)
{
	struct coh_config *cfg = load_fleet();
	struct server s = { 0 };
	struct coh_fleet_executor_opts o = { 0 };
	struct coh_fleet_executor_stats st;
	struct pep_executor *ex;
	struct doc_opts d;
	char msg[PEP_ERR_MSG_MAX], want[PEP_ERR_MSG_MAX];

	CHECK(cfg && server_start(&s) == 0);
	server_set(&s, agent_doc(at(COH_THERMAL_GUARD_TRIPPED, 78500, &d)));
	o.agent_port = s.port;
	o.cache_ms = 60000;	/* one question for every task below */
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -EHOSTDOWN);
	CHECK(!strcmp(msg, "orin-nano: thermal breaker open (78.5 C)"));
	CHECK(run_task(ex, msg, sizeof(msg)) == -EHOSTDOWN);
	CHECK(coh_fleet_executor_stats(ex, &st) == 0);
	CHECK(st.refused == 2 && st.tasks == 0 && st.agent_queries == 1);
	CHECK(atomic_load(&s.requests) == 1);
	pep_executor_destroy(ex);

	/* cool: through the gate to ssh, which fails here */
	server_set(&s, agent_doc(at(COH_THERMAL_GUARD_OK, 45000, &d)));
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -ECONNRESET);
	CHECK(!strncmp(msg, "orin-nano: ", 11));
	CHECK(coh_fleet_executor_stats(ex, &st) == 0);
	CHECK(st.tasks == 1 && st.refused == 0 && st.agent_queries == 1);
	pep_executor_destroy(ex);

	/* a need the budget has no room for */
	at(COH_THERMAL_GUARD_OK, 45000, &d);
	d.budget = 1;
	d.used_bytes = 5 * GIB;
	server_set(&s, agent_doc(&d));
	o.memory_need_bytes = 2 * GIB;
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -EBUSY);
	CHECK(strstr(msg, "memory budget full (1024 MiB free"));
	pep_executor_destroy(ex);
	o.memory_need_bytes = 0;

	/* a server that is no agent */
	server_set(&s, NULL);
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -EHOSTUNREACH);
	snprintf(want, sizeof(want), "orin-nano: no agent answers at "
		 "http://127.0.0.1:%u/v1/status (HTTP 404)", s.port);
	CHECK(!strcmp(msg, want));
	pep_executor_destroy(ex);

	/* nothing listening: refused, or ungated when told so */
	o.agent_port = closed_port();
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -EHOSTUNREACH);
	snprintf(want, sizeof(want), "orin-nano: no agent answers at "
		 "http://127.0.0.1:%u/v1/status (Connection refused)", o.agent_port);
	CHECK(!strcmp(msg, want));
	pep_executor_destroy(ex);
	o.no_agent_ok = true;
	CHECK(make(cfg, &o, &ex) == 0);
	CHECK(run_task(ex, msg, sizeof(msg)) == -ECONNRESET);
	pep_executor_destroy(ex);

	CHECK(coh_fleet_executor_create(cfg, 3, &o, &ex, NULL) == -EINVAL);
	server_stop(&s);
	coh_config_free(cfg);
	return T_PASS;
}

/* ---- choosing devices ---- */

static int chose(const struct coh_config *cfg, const char *const *sel, size_t n,
		 const char *want, struct pep_err *err)
{
	bool chosen[8];
	char got[8] = "";
	int count = coh_fleet_select(cfg, sel, n, chosen, err);

	if (count < 0)
		return count;
	for (size_t i = 0; i < cfg->device_count; i++)
		got[i] = chosen[i] ? 'x' : '.';
	got[cfg->device_count] = '\0';
	if (strcmp(got, want)) {
		fprintf(stderr, "chose %s, want %s\n", got, want);
		return -1;
	}
	return count;
}

static int test_select(void)
{
	struct coh_config *cfg = load_fleet();
	struct pep_err err;

	CHECK(cfg && cfg->device_count == 3);
	CHECK(chose(cfg, (const char *[]){ "all" }, 1, "xxx", &err) == 3);
	CHECK(chose(cfg, NULL, 0, "xxx", &err) == 3);
	CHECK(chose(cfg, (const char *[]){ "orin-nx" }, 1, ".x.", &err) == 1);
	CHECK(chose(cfg, (const char *[]){ "label:gpu" }, 1, "xx.", &err) == 2);
	CHECK(chose(cfg, (const char *[]){ "label:lab", "nano" }, 2, "x.x", &err) == 2);
	CHECK(chose(cfg, (const char *[]){ "nano", "nano" }, 2, "..x", &err) == 1);
	CHECK(chose(cfg, (const char *[]){ "orin-nan" }, 1, "", &err) == -ENOENT);
	CHECK(!strcmp(err.msg, "no device 'orin-nan'; did you mean 'orin-nano'?"));
	CHECK(chose(cfg, (const char *[]){ "label:vision" }, 1, "", &err) == -ENOENT);
	CHECK(!strcmp(err.msg, "no device has the label 'vision'"));
	CHECK(chose(cfg, (const char *[]){ "zzzzzzzz" }, 1, "", &err) == -ENOENT);
	CHECK(strstr(err.msg, "no device 'zzzzzzzz' in fleet.devices"));
	CHECK(chose(cfg, (const char *[]){ "" }, 1, "", &err) == -EINVAL);
	coh_config_free(cfg);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("gate: the breaker", test_breaker, &rc);
	t_run("gate: the budget", test_budget, &rc);
	t_run("gate: where the room comes from", test_room_sources, &rc);
	t_run("gate: malformed documents", test_malformed, &rc);
	t_run("executor: against an agent on loopback", test_executor, &rc);
	t_run("select: all, ids, labels", test_select, &rc);
	return rc;
}
