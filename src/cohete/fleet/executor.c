/*
 * executor.c - the Jetson executor: a pepita executor whose program tasks
 * run on one device of the fleet, through the user's OpenSSH and `pepita
 * worker --stdio` there (pepita's remote executor, one connection per task
 * in flight, kept for the next), and only while the device says it can
 * take them. Before a task starts, the device's agent is asked (GET
 * /v1/status) whether its thermal breaker is closed and its memory budget
 * has room for the task's declared need; a refused task is not run and
 * fails with -EHOSTDOWN (breaker open), -EBUSY (no room) or -EHOSTUNREACH
 * (no agent answers), its message naming the device and the reason, so
 * that the pool's retry takes it to another lane, or to this one later.
 *
 * An answer is used for cache_ms: a lane of short tasks asks once per
 * interval, not once per task, and one question at a time goes to a
 * device (the slots of a lane wait for the one in flight). It is judged
 * once when it comes (breaker, room); a task then only weighs its need
 * against the room. The declared
 * needs of the tasks this executor runs on the device are counted against
 * the room as well: the agent's sample may not show them yet.
 *
 * The answer is a stranger's: at most STATUS_MAX bytes are read, parsed
 * by jansson, and only fields of the expected types are used.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <cohete/fleet.h>
#include <pepita/exec.h>
#include <pepita/task.h>

#include "internal.h"
#include "fleet_priv.h"

#define STATUS_MAX		(1u << 20)	/* bytes of an agent's answer */
#define AGENT_TIMEOUT_MS	1000
#define CACHE_MS		500
#define AGENT_SCHEMA		"cohete.agent.status/"
#define MIB			(1024.0 * 1024.0)

/* ---- the gate's decision, from one /v1/status document ---- */

static double number_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A byte count at key: -1 when absent, not a whole number or negative. */
static int64_t bytes_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	       (int64_t)json_integer_value(v) : -1;
}

static int refuse(struct coh_fleet_gate *g, int verdict, const char *device,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct coh_fleet_gate *g, int verdict, const char *device,
		  const char *fmt, ...)
{
	size_t n;
	va_list ap;

	snprintf(g->reason, sizeof(g->reason), "%s: ", device);
	n = strlen(g->reason);
	va_start(ap, fmt);
	vsnprintf(g->reason + n, sizeof(g->reason) - n, fmt, ap);
	va_end(ap);
	g->verdict = verdict;
	return verdict;
}

/* The breaker: closed ("ok", "warning"), or why not. */
static int judge_breaker(json_t *root, const char *device,
			 struct coh_fleet_gate *g)
{
	json_t *b = json_object_get(root, "breaker");
	const char *state = json_string_value(json_object_get(b, "state"));

	if (json_is_null(b))
		return refuse(g, -EHOSTDOWN, device,
			      "the agent runs no thermal breaker");
	if (!json_is_object(b) || !state)
		return refuse(g, -EPROTO, device,
			      "the agent's status has no breaker state");
	coh__strlcpy(g->breaker, state, sizeof(g->breaker));
	g->temp_c = number_at(b, "input_temp_celsius");
	g->trip_c = number_at(json_object_get(b, "policy"), "trip_celsius");
	g->resume_c = number_at(json_object_get(b, "policy"), "resume_celsius");
	if (!strcmp(state, "ok") || !strcmp(state, "warning"))
		return 0;
	if (!strcmp(state, "tripped"))
		return isnan(g->temp_c) ?
		       refuse(g, -EHOSTDOWN, device, "thermal breaker open") :
		       refuse(g, -EHOSTDOWN, device, "thermal breaker open (%.1f C)",
			      g->temp_c);
	if (!strcmp(state, "cooling")) {
		if (isnan(g->temp_c) || isnan(g->resume_c))
			return refuse(g, -EHOSTDOWN, device,
				      "thermal breaker open, cooling");
		return refuse(g, -EHOSTDOWN, device, "thermal breaker open, cooling "
			      "(%.1f C, closes below %.1f C)", g->temp_c, g->resume_c);
	}
	return refuse(g, -EPROTO, device, "unknown breaker state '%.32s'", state);
}

/* The room: the least of the budget's and the machine's available bytes. */
static void read_room(json_t *root, struct coh_fleet_gate *g)
{
	int64_t budget = bytes_at(json_object_get(root, "budget"), "available_bytes");
	int64_t live = bytes_at(json_object_get(root, "memory"), "available_bytes");

	if (budget < 0 && live < 0)
		return;
	g->has_room = true;
	g->room_bytes = budget < 0 ? (uint64_t)live : live < 0 ? (uint64_t)budget :
			(uint64_t)(budget < live ? budget : live);
}

/* Does need fit the room beside what is held? g's room, read before. */
static int judge_room(const char *device, uint64_t need, uint64_t held,
		      struct coh_fleet_gate *g)
{
	uint64_t room = g->room_bytes;

	if (!need || (g->has_room && room >= held && room - held >= need))
		return 0;
	if (!g->has_room)
		return refuse(g, -EBUSY, device, "the agent gives no memory "
			      "figure; the task needs %.0f MiB", need / MIB);
	if (held)
		return refuse(g, -EBUSY, device, "memory budget full (%.0f MiB free, "
			      "%.0f MiB of it held by tasks running there; the "
			      "task needs %.0f MiB)", room / MIB, held / MIB,
			      need / MIB);
	return refuse(g, -EBUSY, device, "memory budget full (%.0f MiB free; the "
		      "task needs %.0f MiB)", room / MIB, need / MIB);
}

int coh_fleet_gate_decide(const char *device, const char *json, size_t len,
			  uint64_t need_bytes, uint64_t held_bytes,
			  struct coh_fleet_gate *g)
{
	const char *schema;
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(g, 0, sizeof(*g));
	g->temp_c = g->trip_c = g->resume_c = NAN;
	device = device ? device : "device";
	root = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!root)
		return refuse(g, -EPROTO, device, "the agent's status is not JSON "
			      "(line %d: %.80s)", json ? jerr.line : 0,
			      json ? jerr.text : "empty");
	schema = json_string_value(json_object_get(root, "schema"));
	if (!json_is_object(root) || !schema ||
	    strncmp(schema, AGENT_SCHEMA, strlen(AGENT_SCHEMA)))
		ret = refuse(g, -EPROTO, device, "not a cohete agent's status "
			     "(schema %.40s)", schema ? schema : "missing");
	else
		ret = judge_breaker(root, device, g);
	if (!ret) {
		read_room(root, g);
		ret = judge_room(device, need_bytes, held_bytes, g);
	}
	json_decref(root);
	return ret;
}

/* ---- asking the agent ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe before libcurl 7.84: once, here. */
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct body {
	char *buf;
	size_t len, cap;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n, cap;
	char *nb;

	if (b->len + add > STATUS_MAX)
		return 0;		/* too large: the transfer fails */
	if (b->len + add + 1 > b->cap) {
		cap = b->cap ? b->cap : 16384;
		while (cap < b->len + add + 1)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* Why a transfer failed, for a person: the system's word when it has one. */
static void transfer_reason(CURL *c, CURLcode rc, const char *errbuf,
			    char *out, size_t size)
{
	long os_errno = 0;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, size, "no answer in time");
	else if (rc == CURLE_WRITE_ERROR)
		snprintf(out, size, "an answer larger than %u bytes", STATUS_MAX);
	else if (os_errno)
		snprintf(out, size, "%s", strerror((int)os_errno));
	else
		snprintf(out, size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* GET url into *b: 0, or -errno with why in msg. */
static int http_get(const char *url, unsigned int timeout_ms, struct body *b,
		    char *msg, size_t size)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;
	CURL *c;

	pthread_once(&curl_once, curl_init_once);
	c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
	if (!c) {
		snprintf(msg, size, "libcurl cannot start");
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");	/* the device, directly */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cohete");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		transfer_reason(c, rc, errbuf, msg, size);
	else if (code != 200)
		snprintf(msg, size, "HTTP %ld", code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	return code == 200 ? 0 : -EPROTO;
}

/* ---- the executor ---- */

struct jetson {
	struct pep_executor *remote;	/* ssh + pepita worker --stdio */
	const char *id;			/* the device's, borrowed from cfg */
	char url[320];			/* http://HOST:PORT/v1/status */
	struct coh__ssh_argv ssh;	/* the remote executor's command */
	char *worker_line;		/* 'PEPITA' worker --stdio */
	uint64_t need_bytes;
	bool no_agent_ok;
	unsigned int timeout_ms;
	uint64_t cache_ns;

	pthread_mutex_t lock;		/* guards what follows */
	struct coh_fleet_gate last;	/* the last answer, judged for a need
					   of 0; -EPROTO also when none came */
	uint64_t fetched_ns;		/* when; 0: never */
	unsigned int running;		/* tasks started and not ended */
	struct coh_fleet_executor_stats st;
};

/* Ask the agent when the last answer is older than the cache. Locked. */
static void refresh_locked(struct jetson *j, uint64_t now)
{
	struct body b = { 0 };
	char why[192];
	uint64_t t0;

	if (j->fetched_ns && now - j->fetched_ns < j->cache_ns)
		return;
	t0 = pep_time_ns();
	if (http_get(j->url, j->timeout_ms, &b, why, sizeof(why)) == 0) {
		coh_fleet_gate_decide(j->id, b.buf, b.len, 0, 0, &j->last);
	} else {
		memset(&j->last, 0, sizeof(j->last));
		j->last.verdict = -EPROTO;
		snprintf(j->last.reason, sizeof(j->last.reason), "%s: no agent "
			 "answers at %.200s (%s)", j->id, j->url, why);
	}
	free(b.buf);
	j->fetched_ns = pep_time_ns();
	j->st.agent_queries++;
	j->st.agent_query_ns += j->fetched_ns - t0;
}

/*
 * May a task start? 0 (counted as running), or the refusal with the
 * reason in res. Without a usable agent (none answers, or not with an
 * agent's status), no_agent_ok decides.
 */
static int gate(struct jetson *j, struct pep_task_result *res)
{
	struct coh_fleet_gate g;
	uint64_t t0 = pep_time_ns();
	int verdict;

	pthread_mutex_lock(&j->lock);
	refresh_locked(j, t0);
	g = j->last;
	verdict = g.verdict;
	if (!verdict)
		verdict = judge_room(j->id, j->need_bytes,
				     j->need_bytes * j->running, &g);
	if (verdict == -EPROTO)
		verdict = j->no_agent_ok ? 0 : -EHOSTUNREACH;
	if (!verdict)
		j->running++;
	else
		j->st.refused++;
	j->st.gate_ns += pep_time_ns() - t0;
	pthread_mutex_unlock(&j->lock);
	if (verdict) {
		res->error = verdict;
		coh__strlcpy(res->message, g.reason, sizeof(res->message));
	}
	return verdict;
}

/* The remote executor names ssh ("ssh: connection lost"): name the device. */
static void name_device(const struct jetson *j, struct pep_task_result *res)
{
	char msg[sizeof(res->message)];
	const char *m = res->message;
	size_t ssh = strlen(j->ssh.v[0]);

	if (!res->error || !m[0])
		return;
	if (!strncmp(m, j->ssh.v[0], ssh) && !strncmp(m + ssh, ": ", 2))
		m += ssh + 2;
	snprintf(msg, sizeof(msg), "%s: %s", j->id, m);
	memcpy(res->message, msg, sizeof(msg));
}

static int jetson_run(struct pep_executor *ex, const struct pep_task *t,
		      struct pep_task_result *res, int cancel_fd)
{
	struct jetson *j = ex->priv;
	int ret;

	if (gate(j, res))
		return res->error;
	ret = j->remote->ops->run(j->remote, t, res, cancel_fd);
	name_device(j, res);
	pthread_mutex_lock(&j->lock);
	j->running--;
	j->st.tasks++;
	pthread_mutex_unlock(&j->lock);
	return ret;
}

static void jetson_free(struct jetson *j)
{
	if (!j)
		return;
	pep_executor_destroy(j->remote);
	pthread_mutex_destroy(&j->lock);
	free(j->worker_line);
	free(j);
}

static void jetson_destroy(struct pep_executor *ex)
{
	jetson_free(ex->priv);
	free(ex);
}

static const struct pep_executor_ops jetson_ops = {
	.name = "jetson", .kinds = 1u << PEP_TASK_PROC,
	.run = jetson_run, .destroy = jetson_destroy,
};

/* http://HOST:PORT/v1/status, an IPv6 address in brackets. */
static int status_url(struct jetson *j, const struct coh_config *cfg,
		      const struct coh_config_device *d, uint16_t port)
{
	const char *host = d->host ? d->host : d->id;
	bool v6 = strchr(host, ':') != NULL;
	int n;

	if (!port)
		port = cfg->agent.listen_port ? cfg->agent.listen_port :
		       COH_FLEET_AGENT_PORT;
	n = snprintf(j->url, sizeof(j->url), "http://%s%s%s:%u/v1/status",
		     v6 ? "[" : "", host, v6 ? "]" : "", port);
	return n > 0 && (size_t)n < sizeof(j->url) ? 0 : -ENAMETOOLONG;
}

/* ssh [options] -- HOST 'PEPITA' worker --stdio, as remote.c builds it. */
static int worker_command(struct jetson *j, const struct coh_config_device *d,
			  const struct coh_fleet_executor_opts *o)
{
	const char *words[] = { o->pepita ? o->pepita : "pepita", "worker",
				"--stdio", NULL };
	size_t len = coh_fleet_argv_format(words, NULL, 0);

	j->worker_line = malloc(len + 1);
	if (!j->worker_line)
		return -ENOMEM;
	coh_fleet_argv_format(words, j->worker_line, len + 1);
	coh__remote_ssh_argv(&o->remote, d, &j->ssh, true);
	j->ssh.v[j->ssh.n] = j->worker_line;
	j->ssh.v[j->ssh.n + 1] = NULL;
	return 0;
}

static int jetson_setup(struct jetson *j, const struct coh_config *cfg,
			const struct coh_config_device *d,
			const struct coh_fleet_executor_opts *o, struct pep_err *err)
{
	struct pep_remote_opts ro = { .stderr_fd = o->stderr_fd };
	int ret;

	j->id = d->id;
	j->need_bytes = o->memory_need_bytes;
	j->no_agent_ok = o->no_agent_ok;
	j->timeout_ms = o->agent_timeout_ms ? o->agent_timeout_ms : AGENT_TIMEOUT_MS;
	j->cache_ns = (uint64_t)(o->cache_ms ? o->cache_ms : CACHE_MS) * 1000000;
	if (status_url(j, cfg, d, o->agent_port) < 0)
		return pep_err_set(err, -ENAMETOOLONG, "%s: host name too long",
				   d->id);
	if (worker_command(j, d, o) < 0)
		return pep_err_set(err, -ENOMEM, "out of memory");
	ro.command = j->ssh.v;
	ret = pep_executor_remote(&j->remote, &ro, err);
	return ret;
}

int coh_fleet_executor_create(const struct coh_config *cfg, size_t device,
			      const struct coh_fleet_executor_opts *o,
			      struct pep_executor **out, struct pep_err *err)
{
	static const struct coh_fleet_executor_opts none;
	struct pep_executor *ex;
	struct jetson *j;
	int ret;

	if (!cfg || !out || device >= cfg->device_count)
		return pep_err_set(err, -EINVAL, "executor: no device %zu in the "
				   "file", device);
	*out = NULL;
	ex = calloc(1, sizeof(*ex));
	j = calloc(1, sizeof(*j));
	if (!ex || !j) {
		free(ex);
		free(j);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&j->lock, NULL);
	ret = jetson_setup(j, cfg, &cfg->devices[device], o ? o : &none, err);
	if (ret < 0) {
		jetson_free(j);
		free(ex);
		return ret;
	}
	ex->ops = &jetson_ops;
	ex->priv = j;
	*out = ex;
	return 0;
}

int coh_fleet_executor_stats(struct pep_executor *ex,
			     struct coh_fleet_executor_stats *st)
{
	struct jetson *j;

	if (!ex || ex->ops != &jetson_ops || !st)
		return -EINVAL;
	j = ex->priv;
	pthread_mutex_lock(&j->lock);
	*st = j->st;
	pthread_mutex_unlock(&j->lock);
	return 0;
}

/* ---- choosing devices: all, an id, label:NAME ---- */

static bool has_label(const struct coh_config_device *d, const char *label)
{
	for (size_t i = 0; i < d->labels.count; i++)
		if (!strcmp(d->labels.v[i], label))
			return true;
	return false;
}

/* One selector into chosen[]: the count it adds, or -ENOENT. */
static int select_one(const struct coh_config *cfg, const char *s,
		      bool *chosen, struct pep_err *err)
{
	const char *names[256], *close;
	size_t n = 0;
	int any = 0;

	for (size_t i = 0; i < cfg->device_count; i++) {
		const struct coh_config_device *d = &cfg->devices[i];
		bool hit = !strcmp(s, "all") ||
			   (!strncmp(s, "label:", 6) ? has_label(d, s + 6) :
			    !strcmp(d->id, s));

		any += hit;
		chosen[i] |= hit;
		if (n < ARRAY_SIZE(names))
			names[n++] = d->id;
	}
	if (any || !strcmp(s, "all"))
		return any;
	if (!strncmp(s, "label:", 6))
		return pep_err_set(err, -ENOENT, "no device has the label '%s'", s + 6);
	close = pep_closest_word(s, names, n);
	if (close)
		return pep_err_set(err, -ENOENT, "no device '%s'; did you mean '%s'?",
				   s, close);
	return pep_err_set(err, -ENOENT, "no device '%s' in fleet.devices (or "
			   "all, or label:NAME)", s);
}

int coh_fleet_select(const struct coh_config *cfg, const char *const *selectors,
		     size_t count, bool *chosen, struct pep_err *err)
{
	size_t total = 0;
	int ret;

	if (!cfg || !chosen || (count && !selectors))
		return pep_err_set(err, -EINVAL, "select: no file or no selector");
	memset(chosen, 0, cfg->device_count * sizeof(*chosen));
	if (!count)
		select_one(cfg, "all", chosen, err);
	for (size_t k = 0; k < count; k++) {
		if (!selectors[k] || !selectors[k][0])
			return pep_err_set(err, -EINVAL, "an empty device selector");
		ret = select_one(cfg, selectors[k], chosen, err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < cfg->device_count; i++)
		total += chosen[i];
	if (!total)
		return pep_err_set(err, -ENOENT, "the file has no devices");
	return (int)total;
}
