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
 * Order of checks: route (404), method (405 with Allow), token (403 when
 * control is disabled, 401 with WWW-Authenticate), body size (413), body
 * (400 naming the field). Nothing changes before the token has matched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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
#define CONF_MAX (256 * 1024)
#define REALM "Bearer realm=\"cohete-agent\""

struct request {
	size_t len;
	int too_big;
	char body[COH_AGENT_BODY_MAX + 1];
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
	int control;			/* POST with the token; else GET/HEAD */
	route_fn fn;
};

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
	coh__agent_log(k->a, "refused %s %s from %s: %s", k->method, k->url, k->peer,
		       h ? "wrong token" : "no token");
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
	char *text = malloc(CONF_MAX);
	struct pep_err err;
	int ret = text ? coh_sysroot_read(k->a->sr, "/etc/nvpmodel.conf", text,
					  CONF_MAX, &err) : -ENOMEM;

	if (ret >= 0)
		ret = coh_nvpmodel_conf_parse(text, "/etc/nvpmodel.conf", &c, &err);
	free(text);
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
	enum coh_breaker_state from, to;
	struct pep_err err;

	if (!o)
		return;
	json_decref(o);
	if (coh__agent_breaker_reset(k->a, &from, &to, &err) < 0) {
		reply_error(k->r, 409, "%s", err.msg);
		return;
	}
	coh__agent_log(k->a, "breaker: reset by %s: %s -> %s", k->peer,
		       coh_breaker_state_name(from), coh_breaker_state_name(to));
	reply_json(k->r, 200, json_pack("{s:s, s:s}", "from",
		   coh_breaker_state_name(from), "state", coh_breaker_state_name(to)));
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
	else if (ret < 0)
		reply_error(k->r, 400, "pgid: %s", err.msg);
	else
		reply_json(k->r, ret == 0 ? 201 : 200, json_pack("{s:I, s:b}", "pgid",
			   pgid, "new", ret == 0));
out:
	json_decref(o);
}

static const struct route routes[] = {
	{ "/metrics", 0, get_metrics },
	{ "/v1/status", 0, get_status },
	{ "/v1/power/mode", 1, post_power_mode },
	{ "/v1/fan", 1, post_fan },
	{ "/v1/breaker/reset", 1, post_breaker_reset },
	{ "/v1/workloads", 1, post_workloads },
};

static void dispatch(struct call *k)
{
	const struct route *rt = NULL;
	int get = !strcmp(k->method, "GET") || !strcmp(k->method, "HEAD");

	for (size_t i = 0; i < ARRAY_SIZE(routes) && !rt; i++)
		if (!strcmp(routes[i].path, k->url))
			rt = &routes[i];
	if (!rt) {
		reply_error(k->r, 404, "no endpoint %.100s", k->url);
		return;
	}
	if (rt->control ? strcmp(k->method, "POST") != 0 : !get) {
		k->r->allow = rt->control ? "POST" : "GET, HEAD";
		reply_error(k->r, 405, "%.16s %s: use %s", k->method, rt->path, k->r->allow);
		return;
	}
	if (rt->control && !authorized(k))
		return;
	if (k->rq->too_big) {
		reply_error(k->r, 413, "body: more than %d bytes", COH_AGENT_BODY_MAX);
		return;
	}
	rt->fn(k);
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

/* A declared body over the cap is refused before it is read. */
static int declared_too_big(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

	return cl && strtoull(cl, NULL, 10) > COH_AGENT_BODY_MAX;
}

static mhd_result on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version,
			     const char *data, size_t *data_size, void **ctx)
{
	struct request *rq = *ctx;
	struct reply r = { 0 };
	struct call k = { .a = cls, .c = c, .method = method, .url = url, .r = &r };

	if (!rq) {
		if (declared_too_big(c)) {
			reply_error(&r, 413, "body: more than %d bytes", COH_AGENT_BODY_MAX);
			return send_reply(c, &r);
		}
		rq = calloc(1, sizeof(*rq));
		*ctx = rq;
		return rq ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		size_t n = *data_size;

		if (rq->len + n > COH_AGENT_BODY_MAX)
			rq->too_big = 1;
		else
			memcpy(rq->body + rq->len, data, n);
		rq->len += rq->too_big ? 0 : n;
		*data_size = 0;
		return MHD_YES;
	}
	k.rq = rq;
	peer_name(c, k.peer, sizeof(k.peer));
	dispatch(&k);
	return send_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	free(*ctx);
	*ctx = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[400];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	coh__agent_log(cls, "http: %s", line);
}

int coh__agent_http_start(struct coh_agent *a, int fd, struct pep_err *err)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			     MHD_USE_ITC | (a->ipv6 ? MHD_USE_IPv6 : 0);

	/* The logger first, or MHD prints what comes before it itself. */
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)THREADS,
		MHD_OPTION_CONNECTION_LIMIT, a->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, a->timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_END);
	if (!a->mhd)
		return pep_err_set(err, -EIO, "libmicrohttpd would not start on %s:%u",
				   a->listen_addr, (unsigned int)a->port);
	return 0;
}

void coh__agent_http_stop(struct coh_agent *a)
{
	if (!a->mhd)
		return;
	MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
}
