/*
 * The agent's HTTP side (libmicrohttpd): a small route table, reads open,
 * control behind a bearer token, JSON bodies through jansson.
 *
 * libmicrohttpd runs a pool of polling threads (epoll where the kernel has
 * it, else poll) on the socket agent.c bound. A handler blocks its thread:
 * nvpmodel can take seconds, so control requests take a try-lock and a
 * second one at the same time gets 409 instead of a waiting thread, and the
 * other threads keep answering scrapes. Every response is built in full
 * before it is queued.
 *
 * Order of checks, all but the last two made as soon as the headers are
 * in, before any body is read: the URL (400 for a control character),
 * route (404), method (405 with Allow), token (403 when control is
 * disabled, 401 with WWW-Authenticate), declared body size (413); then
 * the body's real size (413) and the body (400 naming the field). Nothing
 * changes before the token has matched, and a client without the token
 * learns nothing about the body's limits.
 *
 * Slow clients. libmicrohttpd's timeout (MHD_OPTION_CONNECTION_TIMEOUT,
 * Debian 12's 0.9.75) is an idle timeout that every byte resets, and it
 * has no deadline for a whole request; its per-IP limit
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT) refuses the newest connection, so
 * forty connections that drip a byte at a time from one address would keep
 * out a scrape from that address too. So the agent tracks connections
 * itself (MHD_OPTION_NOTIFY_CONNECTION): a reaper thread shuts down any
 * whose request has not arrived whole within request_timeout_s of its
 * opening or of its previous reply, and a new connection that would pass
 * the per-address or the total limit makes room by shutting down the
 * oldest connection still sending its request, at that address or any.
 * libmicrohttpd's own limit is twice ours, to take the new connection
 * while the old one closes. Shutting down a socket from another thread is
 * safe against the number's reuse: libmicrohttpd reports a connection
 * closed (NOTIFY_CLOSED, which unlinks it under conn_lock) before it closes
 * the socket.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include <cohete/agent.h>

#include "internal.h"
#include "agent_priv.h"

/* enum MHD_Result arrived in 0.9.71; Ubuntu 20.04 (JetPack 5) has 0.9.66. */
#if MHD_VERSION >= 0x00097100
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define THREADS 3
#define REAPER_TICK_MS 200
#define REALM "Bearer realm=\"cohete-agent\""

struct route;

/* One request; made by on_uri() (or on the first call), freed when done. */
struct request {
	int started;			/* the headers have been judged */
	int bad_uri;			/* a control character in the URL */
	const struct route *rt;
	size_t len;
	int too_big;
	char body[COH_AGENT_BODY_MAX + 1];
};

/* One client connection, linked in a->conns under a->conn_lock. */
struct coh_agent_conn {
	struct coh_agent_conn *prev, *next;
	int fd;
	char addr[64];			/* the peer, numeric */
	uint64_t since_ms;		/* the request being received began */
	int busy;			/* a whole request is being answered */
	int closing;			/* shut down by us, not yet closed */
};

struct reply {
	unsigned int code;
	char *body;			/* malloc'd */
	size_t len;
	const char *type;		/* NULL = application/json */
	const char *allow;		/* 405 */
	const char *auth;		/* 401: WWW-Authenticate */
};

struct call {
	struct coh_agent *a;
	struct MHD_Connection *c;
	const char *method, *url;
	const struct request *rq;
	struct reply *r;
	char peer[64];
};

typedef void (*route_fn)(struct call *k);

struct route {
	const char *path;
	const char *method;		/* "GET" (HEAD too), "POST", "DELETE" */
	int prefix;			/* path is a prefix: "/v1/workloads/" */
	route_fn fn;
};

/* POST and DELETE change the machine: they need the token. */
static int is_control(const struct route *rt)
{
	return strcmp(rt->method, "GET") != 0;
}

static void reply_json(struct reply *r, unsigned int code, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t len = text ? strlen(text) : 0;
	char *body = text ? realloc(text, len + 2) : NULL;

	json_decref(doc);
	if (!body) {
		free(text);
		r->code = 500;
		return;
	}
	body[len] = '\n';
	body[len + 1] = '\0';
	r->code = code;
	r->body = body;
	r->len = len + 1;
}

static void reply_error(struct reply *r, unsigned int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct reply *r, unsigned int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(r, code, json_pack("{s:s}", "error", msg));
	if (r->code != 500 || code == 500)
		return;
	r->code = code;			/* out of memory: the code still tells */
}

static void peer_name(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, size, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  out, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)size);
}

/* Constant time in the token's content; only the expected length shows. */
static int token_matches(const struct coh_agent *a, const char *header)
{
	volatile unsigned char diff;
	size_t n;

	if (!header || strncasecmp(header, "Bearer ", 7))
		return 0;
	header += 7;
	while (*header == ' ')
		header++;
	n = strlen(header);
	while (n && header[n - 1] == ' ')
		n--;
	diff = n != a->token_len;
	for (size_t i = 0; i < a->token_len; i++)
		diff |= (unsigned char)(a->token[i] ^ (i < n ? header[i] : 0));
	return diff == 0;
}

static int authorized(struct call *k)
{
	const char *h;

	if (!k->a->has_token) {
		reply_error(k->r, 403, "control is disabled: the agent runs without a token "
			    "file (--token-file)");
		return 0;
	}
	h = MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Authorization");
	if (token_matches(k->a, h))
		return 1;
	coh__agent_count(k->a, 0, 1);
	coh__agent_log_refusal(k->a, "refused %.16s %.100s from %s: %s", k->method, k->url,
			       k->peer, h ? "wrong token" : "no token");
	k->r->auth = h ? REALM ", error=\"invalid_token\"" : REALM;
	reply_error(k->r, 401, h ? "wrong token" :
		    "this needs a token: Authorization: Bearer TOKEN");
	return 0;
}

/* The body as an object holding only fields[]; NULL (reply set) otherwise. */
static json_t *parse_body(struct call *k, const char *const *fields)
{
	json_error_t je;
	const char *key;
	json_t *o, *v;
	int known;

	if (k->rq->len == 0)
		return json_object();
	o = json_loadb(k->rq->body, k->rq->len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		reply_error(k->r, 400, "body: not JSON: %s (line %d, column %d)", je.text,
			    je.line, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		reply_error(k->r, 400, "body: want a JSON object");
		json_decref(o);
		return NULL;
	}
	json_object_foreach(o, key, v) {
		known = 0;
		for (size_t i = 0; fields[i]; i++)
			known |= !strcmp(fields[i], key);
		if (!known) {
			reply_error(k->r, 400, "%.64s: unknown field", key);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* An integer field in lo..hi; -1 with a 400 reply when absent or not one. */
static int get_int(struct call *k, json_t *o, const char *field, json_int_t lo,
		   json_int_t hi, json_int_t *out)
{
	json_t *v = json_object_get(o, field);

	if (!v) {
		reply_error(k->r, 400, "%s: missing (an integer %lld..%lld)", field,
			    (long long)lo, (long long)hi);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		reply_error(k->r, 400, "%s: want an integer %lld..%lld", field, (long long)lo,
			    (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int control_lock(struct call *k)
{
	if (pthread_mutex_trylock(&k->a->control) == 0)
		return 0;
	reply_error(k->r, 409, "another control request is in progress");
	return -1;
}

static void get_metrics(struct call *k)
{
	struct coh_status *st = malloc(sizeof(*st));
	struct coh_agent_snapshot s;

	if (!st) {
		reply_error(k->r, 500, "out of memory");
		return;
	}
	coh__agent_count(k->a, 1, 0);
	coh_agent_snapshot(k->a, st, &s);
	if (coh_agent_metrics_render(&s, &k->r->body, &k->r->len) < 0)
		reply_error(k->r, 500, "out of memory");
	else
		k->r->code = 200;
	k->r->type = "text/plain; version=0.0.4; charset=utf-8";
	free(st);
}

static void get_status(struct call *k)
{
	struct coh_status *st = malloc(sizeof(*st));
	struct coh_agent_snapshot s;
	char *text;

	if (!st) {
		reply_error(k->r, 500, "out of memory");
		return;
	}
	coh_agent_snapshot(k->a, st, &s);
	text = coh_agent_status_json(&s);
	free(st);
	if (!text) {
		reply_error(k->r, 500, "out of memory");
		return;
	}
	k->r->code = 200;
	k->r->body = text;
	k->r->len = strlen(text);
}

static void post_fan(struct call *k)
{
	static const char *const fields[] = { "pwm", NULL };
	json_t *o = parse_body(k, fields);
	struct pep_err err;
	struct coh_fan before;
	json_int_t pwm;
	int ret;

	if (!o || get_int(k, o, "pwm", 0, 255, &pwm) < 0 || control_lock(k) < 0)
		goto out;
	coh_fan_read(k->a->sr, &before, NULL);
	ret = coh_fan_set_pwm(k->a->sr, pwm, &err);
	pthread_mutex_unlock(&k->a->control);
	if (ret < 0) {
		reply_error(k->r, ret == -ENODEV ? 503 : 500, "%s", err.msg);
		goto out;
	}
	coh__agent_kick(k->a);
	coh__agent_log(k->a, "fan: pwm %lld -> %lld, set by %s",
		       before.pwm == COH_NA ? -1LL : (long long)before.pwm,
		       (long long)pwm, k->peer);
	reply_json(k->r, 200, json_pack("{s:I}", "pwm", pwm));
out:
	json_decref(o);
}

/* 0 when mode id exists; else the reply says why (no conf: 503). */
static int check_mode(struct call *k, int64_t id)
{
	struct coh_nvpmodel_conf *c = NULL;
	struct pep_err err;
	int ret = coh_nvpmodel_conf_load(k->a->sr, &c, &err);

	if (ret == -ENOENT)
		reply_error(k->r, 503, "%s: no nvpmodel here", err.msg);
	else if (ret < 0)
		reply_error(k->r, 500, "%s", ret == -ENOMEM ? "out of memory" : err.msg);
	else if (!coh_nvpmodel_conf_mode(c, id))
		reply_error(k->r, 400, "id: no power mode %lld in /etc/nvpmodel.conf",
			    (long long)id);
	ret = ret < 0 || !coh_nvpmodel_conf_mode(c, id) ? -1 : 0;
	coh_nvpmodel_conf_free(c);
	return ret;
}

static void mode_changed(struct call *k, const struct coh_power_change *ch)
{
	json_t *from = ch->from_id == COH_NA ? json_null() : json_integer(ch->from_id);

	if (ch->changed) {
		coh__agent_kick(k->a);
		coh__agent_log(k->a, "power mode: %lld -> %lld (%s), set by %s%s",
			       ch->from_id == COH_NA ? -1LL : (long long)ch->from_id,
			       (long long)ch->to_id, ch->to_name, k->peer,
			       ch->reboot_required ? "; takes effect after the reboot" : "");
	}
	reply_json(k->r, 200, json_pack("{s:b, s:o, s:I, s:s, s:b}",
		"changed", ch->changed, "from_id", from, "to_id", (json_int_t)ch->to_id,
		"to_name", ch->to_name, "reboot_required", ch->reboot_required));
}

static void post_power_mode(struct call *k)
{
	static const char *const fields[] = { "id", "reboot_ok", NULL };
	struct coh_power_set_opts so = { .nvpmodel = k->a->nvpmodel };
	json_t *o = parse_body(k, fields), *reboot;
	struct coh_power_change ch;
	struct pep_err err;
	json_int_t id;
	int ret;

	if (!o || get_int(k, o, "id", 0, INT32_MAX, &id) < 0)
		goto out;
	reboot = json_object_get(o, "reboot_ok");
	if (reboot && !json_is_boolean(reboot)) {
		reply_error(k->r, 400, "reboot_ok: want true or false");
		goto out;
	}
	so.reboot_ok = reboot && json_is_true(reboot);
	if (control_lock(k) < 0)
		goto out;
	if (check_mode(k, id) < 0) {
		pthread_mutex_unlock(&k->a->control);
		goto out;
	}
	ret = coh_power_set_mode(k->a->sr, &so, id, &ch, &err);
	pthread_mutex_unlock(&k->a->control);
	if (ret == -ECANCELED)
		reply_error(k->r, 409, "%s", err.msg);
	else if (ret < 0)
		reply_error(k->r, 500, "%s", err.msg);
	else
		mode_changed(k, &ch);
out:
	json_decref(o);
}

static void post_breaker_reset(struct call *k)
{
	static const char *const fields[] = { NULL };
	json_t *o = parse_body(k, fields);
	enum coh_thermal_guard_state from, to;
	struct pep_err err;

	if (!o)
		return;
	json_decref(o);
	if (coh__agent_breaker_reset(k->a, &from, &to, &err) < 0) {
		reply_error(k->r, 409, "%s", err.msg);
		return;
	}
	coh__agent_log(k->a, "breaker: reset by %s: %s -> %s", k->peer,
		       coh_thermal_guard_state_name(from), coh_thermal_guard_state_name(to));
	reply_json(k->r, 200, json_pack("{s:s, s:s}", "from",
		   coh_thermal_guard_state_name(from), "state", coh_thermal_guard_state_name(to)));
}

static void post_workloads(struct call *k)
{
	static const char *const fields[] = { "pgid", NULL };
	json_t *o = parse_body(k, fields);
	struct pep_err err;
	json_int_t pgid;
	int ret;

	if (!o || get_int(k, o, "pgid", 2, INT32_MAX, &pgid) < 0)
		goto out;
	ret = coh_agent_watch_pgid(k->a, (int)pgid, &err);
	if (ret == -ENOSPC)
		reply_error(k->r, 409, "%s", err.msg);
	else if (ret == -EPERM)
		reply_error(k->r, 403, "pgid: %s", err.msg);
	else if (ret < 0)
		reply_error(k->r, 400, "pgid: %s", err.msg);
	else
		reply_json(k->r, ret == 0 ? 201 : 200, json_pack("{s:I, s:b}", "pgid",
			   pgid, "new", ret == 0));
out:
	json_decref(o);
}

/* "/v1/workloads/1234": the group, or -1 (the reply says why). */
static int url_pgid(struct call *k, const char *prefix)
{
	const char *p = k->url + strlen(prefix);
	char *end;
	long v;

	errno = 0;
	v = strtol(p, &end, 10);
	if (*p < '0' || *p > '9' || *end || errno || v < 2 || v > INT32_MAX) {
		reply_error(k->r, 404, "no endpoint %.100s (want %sPGID)", k->url, prefix);
		return -1;
	}
	return (int)v;
}

static void delete_workload(struct call *k)
{
	struct pep_err err;
	int pgid = url_pgid(k, "/v1/workloads/"), ret;

	if (pgid < 0 || k->rq->len) {
		if (pgid >= 0)
			reply_error(k->r, 400, "body: DELETE takes none");
		return;
	}
	ret = coh_agent_unwatch_pgid(k->a, pgid, &err);
	if (ret < 0) {
		reply_error(k->r, 404, "%s", err.msg);
		return;
	}
	coh__agent_log(k->a, "workload: process group %d removed by %s", pgid, k->peer);
	reply_json(k->r, 200, json_pack("{s:i, s:b}", "pgid", pgid, "continued", ret == 1));
}

static const struct route routes[] = {
	{ "/metrics", "GET", 0, get_metrics },
	{ "/v1/status", "GET", 0, get_status },
	{ "/v1/power/mode", "POST", 0, post_power_mode },
	{ "/v1/fan", "POST", 0, post_fan },
	{ "/v1/breaker/reset", "POST", 0, post_breaker_reset },
	{ "/v1/workloads", "POST", 0, post_workloads },
	{ "/v1/workloads/", "DELETE", 1, delete_workload },
};

static const struct route *find_route(const char *url)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		size_t n = strlen(routes[i].path);

		if (routes[i].prefix ? !strncmp(routes[i].path, url, n) :
		    !strcmp(routes[i].path, url))
			return &routes[i];
	}
	return NULL;
}

static int method_ok(const struct route *rt, const char *method)
{
	if (!strcmp(rt->method, "GET"))
		return !strcmp(method, "GET") || !strcmp(method, "HEAD");
	return !strcmp(rt->method, method);
}

/* A declared body over the cap is refused before it is read. */
static int declared_too_big(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

	return cl && strtoull(cl, NULL, 10) > COH_AGENT_BODY_MAX;
}

/*
 * The headers are in: judge the request before reading its body. 0 to go
 * on reading, -1 with the reply set.
 */
static int judge_headers(struct call *k, struct request *rq)
{
	if (rq->bad_uri) {
		reply_error(k->r, 400, "URL: a control character (%%00-%%1F, %%7F) is not "
			    "allowed");
		coh__agent_log_refusal(k->a, "refused %.16s with a control character in the "
				       "URL from %s", k->method, k->peer);
		return -1;
	}
	rq->rt = find_route(k->url);
	if (!rq->rt) {
		reply_error(k->r, 404, "no endpoint %.100s", k->url);
		return -1;
	}
	if (!method_ok(rq->rt, k->method)) {
		k->r->allow = strcmp(rq->rt->method, "GET") ? rq->rt->method : "GET, HEAD";
		reply_error(k->r, 405, "%.16s %s: use %s", k->method, rq->rt->path, k->r->allow);
		return -1;
	}
	if (is_control(rq->rt) && !authorized(k))
		return -1;
	if (declared_too_big(k->c)) {
		reply_error(k->r, 413, "body: more than %d bytes", COH_AGENT_BODY_MAX);
		return -1;
	}
	return 0;
}

static mhd_result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	mhd_result ret;

	if (r->body)
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->type ? r->type : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->auth)
		MHD_add_response_header(resp, "WWW-Authenticate", r->auth);
	ret = MHD_queue_response(c, r->code ? r->code : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct coh_agent_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* The whole request is in: the reaper leaves the connection alone. */
static void conn_busy(struct coh_agent *a, struct MHD_Connection *c, int busy)
{
	struct coh_agent_conn *conn = conn_of(c);

	if (!conn)
		return;
	pthread_mutex_lock(&a->conn_lock);
	conn->busy = busy;
	conn->since_ms = pep_time_ns() / 1000000;
	pthread_mutex_unlock(&a->conn_lock);
}

/* Body bytes: kept up to the cap, counted past it. */
static void take_body(struct request *rq, const char *data, size_t n)
{
	if (rq->len + n > COH_AGENT_BODY_MAX)
		rq->too_big = 1;
	else
		memcpy(rq->body + rq->len, data, n);
	rq->len += rq->too_big ? 0 : n;
}

static mhd_result on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version,
			     const char *data, size_t *data_size, void **ctx)
{
	struct request *rq = *ctx;
	struct reply r = { 0 };
	struct call k = { .a = cls, .c = c, .method = method, .url = url, .r = &r };

	if (!rq && !(rq = *ctx = calloc(1, sizeof(*rq))))
		return MHD_NO;
	k.rq = rq;
	if (!rq->started) {
		rq->started = 1;
		peer_name(c, k.peer, sizeof(k.peer));
		return judge_headers(&k, rq) == 0 ? MHD_YES : send_reply(c, &r);
	}
	if (*data_size) {
		take_body(rq, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	conn_busy(k.a, c, 1);
	peer_name(c, k.peer, sizeof(k.peer));
	if (rq->too_big)
		reply_error(&r, 413, "body: more than %d bytes", COH_AGENT_BODY_MAX);
	else
		rq->rt->fn(&k);
	return send_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	free(*ctx);
	*ctx = NULL;
	/* The next request on this connection gets its own deadline. */
	conn_busy(cls, c, 0);
}

/* A raw URL byte, or a %XX escape, below 0x20 or 0x7f: "%00" would cut it. */
static int uri_has_control(const char *uri)
{
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
		unsigned int v = *p;

		if (*p == '%' && isxdigit(p[1]) && isxdigit(p[2]))
			sscanf((const char *)p + 1, "%2x", &v);
		if (v < 0x20 || v == 0x7f)
			return 1;
	}
	return 0;
}

/* Called with the raw URL, before libmicrohttpd decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *rq = calloc(1, sizeof(*rq));

	if (rq)
		rq->bad_uri = uri_has_control(uri);
	return rq;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* What clients cause (bad requests, resets) is rate-limited like refusals. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[400];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	coh__agent_log_refusal(cls, "http: %s", line);
}

/* Connections */

static uint64_t now_ms(void)
{
	return pep_time_ns() / 1000000;
}

/* Close a connection from our side; libmicrohttpd sees EOF and cleans up. */
static void conn_shut(struct coh_agent_conn *conn)
{
	conn->closing = 1;
	shutdown(conn->fd, SHUT_RDWR);
}

/*
 * The oldest connection still sending its request (at addr, or any when
 * addr is NULL), and how many open ones there are; conn_lock held.
 */
static struct coh_agent_conn *oldest_receiving(struct coh_agent *a, const char *addr,
					       unsigned int *open)
{
	struct coh_agent_conn *old = NULL;

	*open = 0;
	for (struct coh_agent_conn *c = a->conns; c; c = c->next) {
		if (c->closing || (addr && strcmp(c->addr, addr)))
			continue;
		(*open)++;
		if (!c->busy && (!old || c->since_ms < old->since_ms))
			old = c;
	}
	return old;
}

/*
 * Room for a new connection from addr, within the per-address and total
 * limits: the oldest connection still sending its request goes. Returns
 * what was done, for the log: 0 nothing, 1 made room, -1 no room (the new
 * one is refused). conn_lock held; conn is not linked yet.
 */
static int make_room(struct coh_agent *a, struct coh_agent_conn *conn, char *victim,
		     size_t size)
{
	unsigned int open, limit[2] = { a->per_address, a->max_connections };
	const char *scope[2] = { conn->addr, NULL };
	int done = 0;

	for (int i = 0; i < 2; i++) {
		struct coh_agent_conn *old = oldest_receiving(a, scope[i], &open);

		if (open < limit[i])
			continue;
		if (!old)
			return -1;
		snprintf(victim, size, "%s", old->addr);
		conn_shut(old);
		done = 1;
	}
	return done;
}

static void conn_open(struct coh_agent *a, struct MHD_Connection *c, void **socket_ctx)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct coh_agent_conn *conn = calloc(1, sizeof(*conn));
	char victim[64] = "";
	int room;

	if (!conn || !ci) {
		free(conn);
		return;
	}
	conn->fd = ci->connect_fd;
	conn->since_ms = now_ms();
	peer_name(c, conn->addr, sizeof(conn->addr));
	pthread_mutex_lock(&a->conn_lock);
	room = make_room(a, conn, victim, sizeof(victim));
	if (room < 0)
		conn_shut(conn);
	conn->next = a->conns;
	if (a->conns)
		a->conns->prev = conn;
	a->conns = conn;
	*socket_ctx = conn;
	pthread_mutex_unlock(&a->conn_lock);
	if (room > 0)
		coh__agent_log_refusal(a, "closed a connection from %s that had not sent its "
				       "request, to make room for one from %s", victim,
				       conn->addr);
	else if (room < 0)
		coh__agent_log_refusal(a, "refused a connection from %s: every connection is "
				       "busy answering", conn->addr);
}

static void conn_closed(struct coh_agent *a, struct coh_agent_conn *conn)
{
	if (!conn)
		return;
	pthread_mutex_lock(&a->conn_lock);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		a->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	pthread_mutex_unlock(&a->conn_lock);
	free(conn);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_open(cls, c, socket_ctx);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(cls, *socket_ctx);
}

/* Shut down the connections whose request is overdue; conn_lock held. */
static unsigned int reap(struct coh_agent *a, char *last, size_t size)
{
	uint64_t deadline_ms = (uint64_t)a->request_timeout_s * 1000, now = now_ms();
	unsigned int n = 0;

	for (struct coh_agent_conn *c = a->conns; c; c = c->next) {
		if (c->closing || c->busy || now - c->since_ms < deadline_ms)
			continue;
		snprintf(last, size, "%s", c->addr);
		conn_shut(c);
		n++;
	}
	return n;
}

static void *reaper_main(void *arg)
{
	struct coh_agent *a = arg;
	char last[64];
	unsigned int n;

	pthread_mutex_lock(&a->conn_lock);
	while (!a->reaper_stop) {
		uint64_t at = now_ms() + REAPER_TICK_MS;
		struct timespec until = { .tv_sec = (time_t)(at / 1000),
					  .tv_nsec = (long)(at % 1000) * 1000000 };

		pthread_cond_timedwait(&a->reaper_wake, &a->conn_lock, &until);
		n = a->reaper_stop ? 0 : reap(a, last, sizeof(last));
		if (!n)
			continue;
		pthread_mutex_unlock(&a->conn_lock);
		coh__agent_log_refusal(a, "closed %u connection%s (the last from %s) that sent "
				       "no whole request within %u s", n, n == 1 ? "" : "s",
				       last, a->request_timeout_s);
		pthread_mutex_lock(&a->conn_lock);
	}
	pthread_mutex_unlock(&a->conn_lock);
	return NULL;
}

static void reaper_stop(struct coh_agent *a)
{
	if (!a->reaper_running)
		return;
	pthread_mutex_lock(&a->conn_lock);
	a->reaper_stop = 1;
	pthread_cond_signal(&a->reaper_wake);
	pthread_mutex_unlock(&a->conn_lock);
	pthread_join(a->reaper, NULL);
	a->reaper_running = 0;
}

int coh__agent_http_start(struct coh_agent *a, int fd, struct pep_err *err)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			     MHD_USE_ITC | (a->ipv6 ? MHD_USE_IPv6 : 0);
	int ret;

	a->reaper_stop = 0;
	ret = pthread_create(&a->reaper, NULL, reaper_main, a);
	if (ret != 0)
		return pep_err_set(err, -ret, "agent: cannot start the connection reaper");
	a->reaper_running = 1;
	/* The logger first, or MHD prints what comes before it itself. */
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)THREADS,
		MHD_OPTION_CONNECTION_LIMIT, 2 * a->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, a->timeout_s,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, a,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_END);
	if (!a->mhd) {
		reaper_stop(a);
		return pep_err_set(err, -EIO, "libmicrohttpd would not start on %s:%u",
				   a->listen_addr, (unsigned int)a->port);
	}
	return 0;
}

void coh__agent_http_stop(struct coh_agent *a)
{
	reaper_stop(a);
	if (!a->mhd)
		return;
	MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
}
