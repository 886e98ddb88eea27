/*
 * The agent: options, the token file, the sampler thread and the watched
 * workloads. The HTTP side is in http.c, the documents in metrics.c.
 *
 * One sampler thread does all the reading. It takes a full sample
 * (coh_status_sample) every interval_ms and, when the thermal policy checks
 * more often than that, reads only the thermal zones in between, so the
 * breaker sees a reading at least every check_interval_ms whatever the
 * sample interval. Samples are double-buffered: the sampler fills its own
 * buffer without the lock and swaps it in, so a scrape never waits for a
 * sample and never sees half of one.
 *
 * Workloads are process groups (workload.c). The breaker calls back
 * coh__agent_on_breaker() on a change between running and paused and the
 * agent signals its own list, rather than coh_thermal_guard_watch_pgid(): the
 * breaker's list cannot forget a group, and a daemon that runs for months
 * sees groups come and go. Every tick, before the breaker is updated, a
 * group whose processes are all gone, or that holds a process that is not
 * a workload user's, is dropped, so a number reused by an unrelated group
 * is never stopped.
 *
 * Engines: the sampler ticks the engine supervisor after the breaker, so
 * it knows whether work is paused (nothing starts while it is), and the
 * supervisor's on_start/on_stop put each engine's group on the watched
 * list and take it off. The supervisor lives from start to stop: an
 * agent that stops stops its engines; one that is killed leaves them
 * running for the next to adopt.
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
#include <time.h>
#include <unistd.h>

#include <cohete/agent.h>
#include <cohete/device.h>

#include "internal.h"
#include "agent_priv.h"

#define DEFAULT_INTERVAL_MS	1000
#define DEFAULT_CONNECTIONS	32
#define DEFAULT_PER_ADDRESS	8
#define DEFAULT_TIMEOUT_S	10
#define DEFAULT_REQUEST_TIMEOUT_S 5
#define ENGINES_BUSY_TICK_MS	50	/* an engine starting or stopping */
#define REFUSAL_CREDIT_MS	(COH_AGENT_LOG_BURST * 1000ULL)

static uint64_t now_ms(void)
{
	return pep_time_ns() / 1000000;
}

static int is_paused(enum coh_thermal_guard_state s)
{
	return s == COH_THERMAL_GUARD_TRIPPED || s == COH_THERMAL_GUARD_COOLING;
}

void coh__agent_log(struct coh_agent *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!a->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&a->log_lock);
	a->log(line, a->log_arg);
	pthread_mutex_unlock(&a->log_lock);
}

/* log_lock held. */
static void log_left_out(struct coh_agent *a)
{
	char line[160];

	if (!a->refusals_suppressed)
		return;
	snprintf(line, sizeof(line), "left out %u lines about refused requests and "
		 "connections (at most %d at once, then one a second)",
		 a->refusals_suppressed, COH_AGENT_LOG_BURST);
	a->refusals_suppressed = 0;
	a->log(line, a->log_arg);
}

/* A token bucket: COH_AGENT_LOG_BURST lines of credit, one more a second. */
void coh__agent_log_refusal(struct coh_agent *a, const char *fmt, ...)
{
	uint64_t now = now_ms();
	char line[512];
	va_list ap;

	if (!a->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&a->log_lock);
	a->refusal_tokens_ms += now - a->refusal_at_ms;
	if (a->refusal_tokens_ms > REFUSAL_CREDIT_MS)
		a->refusal_tokens_ms = REFUSAL_CREDIT_MS;
	a->refusal_at_ms = now;
	if (a->refusal_tokens_ms >= 1000) {
		a->refusal_tokens_ms -= 1000;
		log_left_out(a);
		a->log(line, a->log_arg);
	} else {
		a->refusals_suppressed++;
	}
	pthread_mutex_unlock(&a->log_lock);
}

void coh__agent_log_flush(struct coh_agent *a)
{
	if (!a->log)
		return;
	pthread_mutex_lock(&a->log_lock);
	log_left_out(a);
	pthread_mutex_unlock(&a->log_lock);
}

int coh_agent_listen_parse(const char *text, char *addr, size_t size,
			   uint16_t *port, struct pep_err *err)
{
	const char *host = text, *colon;
	unsigned char bin[16];
	char buf[INET6_ADDRSTRLEN];
	unsigned long p;
	size_t len;
	char *end;
	int v6 = text && text[0] == '[';

	if (!text || !*text)
		return pep_err_set(err, -EINVAL, "listen: empty address (want ADDR:PORT)");
	if (v6) {
		host = text + 1;
		colon = strchr(host, ']');
		if (!colon || colon[1] != ':')
			return pep_err_set(err, -EINVAL, "listen '%s': want [IPv6]:PORT", text);
		len = (size_t)(colon - host);
		colon++;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return pep_err_set(err, -EINVAL,
					   "listen '%s': want ADDR:PORT, like 127.0.0.1:9102",
					   text);
		len = (size_t)(colon - text);
	}
	if (len == 0 || len >= sizeof(buf))
		return pep_err_set(err, -EINVAL, "listen '%s': no address before the port", text);
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, bin) != 1)
		return pep_err_set(err, -EINVAL,
				   "listen '%s': '%s' is not a numeric %s address%s", text, buf,
				   v6 ? "IPv6" : "IPv4", v6 ? "" : " (IPv6: [ADDR]:PORT)");
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || p > 65535)
		return pep_err_set(err, -EINVAL, "listen '%s': port '%s' is not 0..65535", text,
				   colon + 1);
	if (len >= size)
		return pep_err_set(err, -EINVAL, "listen '%s': address too long", text);
	memcpy(addr, buf, len + 1);
	*port = (uint16_t)p;
	return v6 ? 6 : 4;
}

static int apply_connections(struct coh_agent *a, const struct coh_agent_opts *o,
			     struct pep_err *err)
{
	a->max_connections = o->max_connections ? o->max_connections : DEFAULT_CONNECTIONS;
	a->per_address = o->per_address_connections ? o->per_address_connections :
			 DEFAULT_PER_ADDRESS;
	if (a->per_address > a->max_connections)
		a->per_address = a->max_connections;
	a->timeout_s = o->timeout_s ? o->timeout_s : DEFAULT_TIMEOUT_S;
	a->request_timeout_s = o->request_timeout_s ? o->request_timeout_s :
			       DEFAULT_REQUEST_TIMEOUT_S;
	if (a->max_connections > 1024 || a->request_timeout_s > 3600)
		return pep_err_set(err, -EINVAL, "connections %u (1..1024), request timeout %u s "
				   "(1..3600): out of range", a->max_connections,
				   a->request_timeout_s);
	return 0;
}

/* Without a list: the agent's own user, or nobody when that is root. */
static int apply_workload_users(struct coh_agent *a, const struct coh_agent_opts *o,
				struct pep_err *err)
{
	if (o->workload_uid_count > COH_AGENT_WORKLOAD_USERS_MAX)
		return pep_err_set(err, -EINVAL, "workload users: %u, at most %d",
				   o->workload_uid_count, COH_AGENT_WORKLOAD_USERS_MAX);
	if (o->workload_uid_count && !o->workload_uids)
		return pep_err_set(err, -EINVAL, "workload users: a count without a list");
	for (unsigned int i = 0; i < o->workload_uid_count; i++)
		a->workload_uids[i] = o->workload_uids[i];
	a->workload_uid_count = o->workload_uid_count;
	if (!a->workload_uid_count && geteuid() != 0)
		a->workload_uids[a->workload_uid_count++] = geteuid();
	return 0;
}

/* Like ssh with a private key: the file must be ours and private. */
static int check_token_file(const char *path, const struct stat *st,
			    struct pep_err *err)
{
	if (!S_ISREG(st->st_mode))
		return pep_err_set(err, -EINVAL, "token file %s: not a regular file", path);
	if (st->st_uid != geteuid())
		return pep_err_set(err, -EPERM,
				   "token file %s: owned by uid %u, not by the agent's "
				   "user (uid %u)",
				   path, (unsigned int)st->st_uid, (unsigned int)geteuid());
	if (st->st_mode & 077)
		return pep_err_set(err, -EPERM,
				   "token file %s: permissions %04o are too open: it must be 0600 "
				   "(chmod 600 %s)", path,
				   (unsigned int)(st->st_mode & 07777), path);
	return 0;
}

/* One line of printable characters, at least COH_AGENT_TOKEN_MIN of them. */
static int read_token(struct coh_agent *a, int fd, const char *path,
		      struct pep_err *err)
{
	ssize_t n = read(fd, a->token, sizeof(a->token));

	if (n < 0)
		return pep_err_errno(err, "token file %s", path);
	if ((size_t)n == sizeof(a->token))
		return pep_err_set(err, -EINVAL, "token file %s: longer than %d bytes", path,
				   AGENT_TOKEN_MAX - 1);
	while (n > 0 && (a->token[n - 1] == '\n' || a->token[n - 1] == '\r' ||
			 a->token[n - 1] == ' ' || a->token[n - 1] == '\t'))
		n--;
	a->token[n] = '\0';
	a->token_len = (size_t)n;
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)a->token[i] <= ' ' || (unsigned char)a->token[i] >= 0x7f)
			return pep_err_set(err, -EINVAL,
					   "token file %s: the token must be one line of printable "
					   "characters without spaces", path);
	if (a->token_len < COH_AGENT_TOKEN_MIN)
		return pep_err_set(err, -EINVAL,
				   "token file %s: the token is %zu characters, want %d or more "
				   "(head -c 32 /dev/urandom | base64)", path, a->token_len,
				   COH_AGENT_TOKEN_MIN);
	return 0;
}

static int load_token(struct coh_agent *a, const char *path, struct pep_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int ret;

	if (fd < 0)
		return pep_err_errno(err, "token file %s", path);
	ret = fstat(fd, &st) < 0 ? pep_err_errno(err, "token file %s", path) :
	      check_token_file(path, &st, err);
	if (ret == 0)
		ret = read_token(a, fd, path, err);
	close(fd);
	if (ret == 0)
		a->has_token = 1;
	return ret;
}

static int apply_opts(struct coh_agent *a, const struct coh_agent_opts *o,
		      struct pep_err *err)
{
	int ret;

	a->interval_ms = o->interval_ms ? o->interval_ms : DEFAULT_INTERVAL_MS;
	if (a->interval_ms < COH_AGENT_INTERVAL_MIN_MS ||
	    a->interval_ms > COH_AGENT_INTERVAL_MAX_MS)
		return pep_err_set(err, -EINVAL, "interval %u ms: not %d..%d", a->interval_ms,
				   COH_AGENT_INTERVAL_MIN_MS, COH_AGENT_INTERVAL_MAX_MS);
	ret = coh_agent_listen_parse(o->listen ? o->listen : COH_AGENT_DEFAULT_LISTEN,
				     a->listen_addr, sizeof(a->listen_addr),
				     &a->listen_port, err);
	if (ret < 0)
		return ret;
	a->ipv6 = ret == 6;
	if (o->policy)
		a->policy = *o->policy;
	else if ((ret = coh_thermal_guard_policy_named(o->policy_name ? o->policy_name :
						  "conservative", &a->policy, err)) < 0)
		return ret;
	ret = coh_thermal_guard_policy_check(&a->policy, err);
	if (ret < 0)
		return ret;
	a->tick_ms = a->policy.check_interval_ms < a->interval_ms ?
		     a->policy.check_interval_ms : a->interval_ms;
	a->log = o->log;
	a->log_arg = o->log_arg;
	a->no_mdns = o->no_mdns;
	a->engine_launcher = o->engine_launcher;
	if ((o->nvpmodel && !(a->nvpmodel = strdup(o->nvpmodel))) ||
	    (o->engines_root && !(a->engines_root = strdup(o->engines_root))))
		return pep_err_set(err, -ENOMEM, "agent: out of memory");
	if (a->engines_root && !*a->engines_root)
		return pep_err_set(err, -EINVAL, "engines: an empty directory name");
	ret = apply_connections(a, o, err);
	return ret < 0 ? ret : apply_workload_users(a, o, err);
}

static int make_budget(struct coh_agent *a, const struct coh_agent_opts *o,
		       struct pep_err *err)
{
	uint64_t total = o->budget_total_bytes, reserved = o->budget_reserved_bytes;

	if (!total && reserved)
		return pep_err_set(err, -EINVAL, "budget: a reserve without a total");
	if (!total && coh_budget_preset(a->latest->device.module, &total, &reserved) < 0)
		return 0;		/* an unknown module: no budget */
	a->budget_total = total;
	a->budget_reserved = reserved;
	return coh_budget_create(&a->budget, total, reserved, err);
}

/* Processes are this machine's whatever the sysroot: see workload.c. */
static int open_host(struct coh_agent *a, const struct coh_agent_opts *o,
		     struct pep_err *err)
{
	struct coh_sysroot_opts host = { .root = "/" };
	int ret = coh_sysroot_open(&a->host, &host, err);

	if (ret == 0 && o->state_dir)
		ret = coh__state_dir_open(a, o->state_dir, err);
	if (ret == 0)
		coh__paused_resume(a);
	return ret;
}

static int setup(struct coh_agent *a, const struct coh_agent_opts *o,
		 struct pep_err *err)
{
	struct coh_sysroot_opts so = { .root = o->sysroot };
	int ret = apply_opts(a, o, err);

	if (ret == 0 && o->token_file)
		ret = load_token(a, o->token_file, err);
	if (ret == 0)
		ret = coh_sysroot_open(&a->sr, &so, err);
	if (ret == 0)
		ret = open_host(a, o, err);
	if (ret < 0)
		return ret;
	a->latest = malloc(sizeof(*a->latest));
	a->work = malloc(sizeof(*a->work));
	if (!a->latest || !a->work || coh_status_sample(a->sr, NULL, a->latest) < 0)
		return pep_err_set(err, -ENOMEM, "agent: out of memory");
	a->input_mc = coh_thermal_guard_input(&a->latest->thermal);
	a->samples = 1;
	ret = coh_thermal_guard_create(&a->breaker, &a->policy, err);
	if (ret < 0)
		return ret;
	/* Not started yet: nothing else can see the agent, lock for form. */
	pthread_mutex_lock(&a->lock);
	coh_thermal_guard_update(a->breaker, a->input_mc, now_ms());
	ret = coh_thermal_guard_watch(a->breaker, coh__agent_on_breaker, a);
	pthread_mutex_unlock(&a->lock);
	if (ret < 0)
		return pep_err_set(err, ret, "agent: cannot watch the breaker");
	return make_budget(a, o, err);
}

int coh_agent_create(struct coh_agent **out, const struct coh_agent_opts *opts,
		     struct pep_err *err)
{
	static const struct coh_agent_opts defaults;
	struct coh_agent *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return pep_err_set(err, -ENOMEM, "agent: out of memory");
	a->listen_fd = -1;
	a->state_lock_fd = -1;
	a->watch_fd = a->watch_stop[0] = a->watch_stop[1] = -1;
	a->refusal_tokens_ms = REFUSAL_CREDIT_MS;
	a->refusal_at_ms = now_ms();
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->control, NULL);
	pthread_mutex_init(&a->log_lock, NULL);
	pthread_mutex_init(&a->conn_lock, NULL);
	coh__cond_init_monotonic(&a->wake);
	coh__cond_init_monotonic(&a->reaper_wake);
	ret = setup(a, opts ? opts : &defaults, err);
	if (ret < 0) {
		coh_agent_destroy(a);
		return ret;
	}
	*out = a;
	return 0;
}

static void log_transition(struct coh_agent *a, enum coh_thermal_guard_state from,
			   enum coh_thermal_guard_state to, int64_t input_mc,
			   unsigned int workloads)
{
	char temp[32] = "no reading";

	if (input_mc != COH_NA)
		snprintf(temp, sizeof(temp), "%.1f C", (double)input_mc / 1000.0);
	coh__agent_log(a, "breaker: %s -> %s at %s (%s %u workload%s)",
		       coh_thermal_guard_state_name(from), coh_thermal_guard_state_name(to), temp,
		       is_paused(from) == is_paused(to) ? "watching" :
		       is_paused(to) ? "paused" : "resumed", workloads,
		       workloads == 1 ? "" : "s");
}

static void log_dropped(struct coh_agent *a, const int *gone, const int *foreign,
			unsigned int n, const char *why)
{
	for (unsigned int i = 0; i < n; i++)
		coh__agent_log(a, "workload: no longer watching process group %d: %s", gone[i],
			       foreign[i] ? why : "its processes are gone");
}

/* One tick: a full sample or only the zones, then the breaker. */
static void tick(struct coh_agent *a, int full, struct coh_thermal *th)
{
	enum coh_thermal_guard_state from, to;
	uint64_t t0 = pep_time_ns(), t1;
	int gone[COH_AGENT_WORKLOADS_MAX], foreign[COH_AGENT_WORKLOADS_MAX], ret = 0;
	unsigned int ngone, workloads;
	char why[256] = "";
	struct coh_status *tmp;
	int64_t input;

	if (full)
		ret = coh_status_sample(a->sr, a->latest, a->work);
	else
		coh_thermal_read(a->sr, th, NULL);
	t1 = pep_time_ns();
	/* Before the breaker can stop them: a reused number is dropped. */
	ngone = coh__workloads_recheck(a, gone, foreign, why, sizeof(why));
	pthread_mutex_lock(&a->lock);
	if (full && ret == 0) {
		tmp = a->latest;
		a->latest = a->work;
		a->work = tmp;
		a->samples++;
		a->last_sample_ns = t1 - t0;
	} else if (full) {
		a->sample_failures++;
	}
	input = full ? (ret == 0 ? coh_thermal_guard_input(&a->latest->thermal) : COH_NA) :
		coh_thermal_guard_input(th);
	from = coh_thermal_guard_state(a->breaker);
	to = coh_thermal_guard_update(a->breaker, input, t1 / 1000000);
	a->input_mc = input;
	if (!is_paused(from) && is_paused(to))
		a->trips++;
	workloads = a->workload_count;
	pthread_mutex_unlock(&a->lock);
	coh__agent_state_error_flush(a);
	if (from != to)
		log_transition(a, from, to, input, workloads);
	log_dropped(a, gone, foreign, ngone, why);
	if (a->engines) {
		coh_engine_supervisor_pause(a->engines, is_paused(to));
		coh_engine_supervisor_tick(a->engines, (int64_t)(pep_time_ns() / 1000000));
	}
}

static struct timespec ms_to_timespec(uint64_t ms)
{
	return (struct timespec){ .tv_sec = (time_t)(ms / 1000),
				  .tv_nsec = (long)(ms % 1000) * 1000000 };
}

/* Sleep until at_ms, a stop or a kick; lock held. */
static void sleep_until(struct coh_agent *a, uint64_t at_ms)
{
	while (!a->stopping && !a->kick && now_ms() < at_ms) {
		struct timespec until = ms_to_timespec(at_ms);

		pthread_cond_timedwait(&a->wake, &a->lock, &until);
	}
}

static void *sampler_main(void *arg)
{
	struct coh_agent *a = arg;
	struct coh_thermal *th = malloc(sizeof(*th));
	uint64_t next_full = 0, next_check = 0, now;
	int kicked, full;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		kicked = a->kick;
		a->kick = 0;
		pthread_mutex_unlock(&a->lock);
		now = now_ms();
		full = kicked || now >= next_full || !th;
		tick(a, full, th);
		if (full) {
			next_full = next_full + a->interval_ms > now ?
				    next_full + a->interval_ms : now + a->interval_ms;
		}
		next_check = now + a->policy.check_interval_ms;
		/* An engine starting or stopping: a deploy waits on it. */
		if (a->engines && coh_engine_supervisor_busy(a->engines) &&
		    next_check > now + ENGINES_BUSY_TICK_MS)
			next_check = now + ENGINES_BUSY_TICK_MS;
		pthread_mutex_lock(&a->lock);
		sleep_until(a, next_check < next_full ? next_check : next_full);
	}
	pthread_mutex_unlock(&a->lock);
	free(th);
	return NULL;
}

void coh__agent_kick(struct coh_agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->kick = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

void coh__agent_count(struct coh_agent *a, int scrape, int unauthorized)
{
	pthread_mutex_lock(&a->lock);
	a->scrapes += scrape;
	a->unauthorized += unauthorized;
	pthread_mutex_unlock(&a->lock);
}

static void format_addr(const struct coh_agent *a, uint16_t port, char *out,
			size_t size)
{
	snprintf(out, size, a->ipv6 ? "[%s]:%u" : "%s:%u", a->listen_addr,
		 (unsigned int)port);
}

static int bind_listen(struct coh_agent *a, struct pep_err *err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = a->ipv6 ? sizeof(*in6) : sizeof(*in4);
	char where[96];
	int one = 1, fd;

	format_addr(a, a->listen_port, where, sizeof(where));
	ss.ss_family = a->ipv6 ? AF_INET6 : AF_INET;
	if (a->ipv6) {
		inet_pton(AF_INET6, a->listen_addr, &in6->sin6_addr);
		in6->sin6_port = htons(a->listen_port);
	} else {
		inet_pton(AF_INET, a->listen_addr, &in4->sin_addr);
		in4->sin_port = htons(a->listen_port);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pep_err_errno(err, "listen %s: socket", where);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int ret = pep_err_errno(err, "listen %s", where);

		close(fd);
		return ret;
	}
	a->port = ntohs(a->ipv6 ? in6->sin6_port : in4->sin_port);
	a->listen_fd = fd;
	return 0;
}

static void engine_started(int pgid, void *arg)
{
	struct coh_agent *a = arg;
	struct pep_err err;

	/* -ESRCH: gone already; the supervisor reports how at its next tick. */
	if (coh__agent_watch_own(a, pgid, &err) < 0 && err.code != -ESRCH)
		coh__agent_log(a, "warning: the breaker does not watch engine group %d: %s",
			       pgid, err.msg);
}

static void engine_stopped(int pgid, void *arg)
{
	coh_agent_unwatch_pgid(arg, pgid, NULL);
}

static void engine_log(const char *line, void *arg)
{
	coh__agent_log(arg, "%s", line);
}

int coh__agent_engines_start(struct coh_agent *a, struct pep_err *err)
{
	struct coh_engine_supervisor_opts o = {
		.root = a->engines_root, .log = engine_log, .log_arg = a,
		.on_start = engine_started, .on_stop = engine_stopped, .arg = a,
		.launcher = (enum coh_engine_launch)a->engine_launcher,
	};
	struct coh_engine_supervisor *sv;
	int ret;

	if (!a->engines_root)
		return 0;
	ret = coh_engine_supervisor_create(&sv, &o, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&a->lock);
	a->engines = sv;
	pthread_mutex_unlock(&a->lock);
	coh__agent_watch_start(a);
	return 0;
}

/* After the sampler has stopped: nothing ticks the supervisor any more. */
void coh__agent_engines_stop(struct coh_agent *a)
{
	struct coh_engine_supervisor *sv;

	coh__agent_watch_stop(a);
	pthread_mutex_lock(&a->lock);
	sv = a->engines;
	a->engines = NULL;
	pthread_mutex_unlock(&a->lock);
	coh_engine_supervisor_destroy(sv);	/* calls engine_stopped: unlocked */
}

int coh_agent_start(struct coh_agent *a, struct pep_err *err)
{
	char where[96];
	int ret;

	if (a->started)
		return pep_err_set(err, -EBUSY, "agent: already started");
	ret = bind_listen(a, err);
	if (ret < 0)
		return ret;
	ret = coh__agent_http_start(a, a->listen_fd, err);
	if (ret < 0)
		goto err_close;
	ret = coh__agent_engines_start(a, err);
	if (ret < 0)
		goto err_http;
	pthread_mutex_lock(&a->lock);
	a->stopping = 0;
	pthread_mutex_unlock(&a->lock);
	ret = pthread_create(&a->sampler, NULL, sampler_main, a);
	if (ret != 0) {
		ret = pep_err_set(err, -ret, "agent: cannot start the sampler thread");
		goto err_engines;
	}
	a->started = 1;
	format_addr(a, a->port, where, sizeof(where));
	coh__agent_log(a, "listening on http://%s; sampling every %u ms; policy %s "
		       "(trip %.1f C, resume below %.1f C); control %s", where,
		       a->interval_ms, a->policy.name, (double)a->policy.trip_mc / 1000.0,
		       (double)a->policy.resume_mc / 1000.0,
		       a->has_token ? "needs the bearer token" : "disabled (no token file)");
	if (a->has_token && strcmp(a->listen_addr, "127.0.0.1") && strcmp(a->listen_addr, "::1"))
		coh__agent_log(a, "warning: %s is not loopback and the HTTP is plain: the "
			       "token crosses the network in clear", a->listen_addr);
	coh__agent_mdns_start(a);
	return 0;
err_engines:
	coh__agent_engines_stop(a);
err_http:
	coh__agent_http_stop(a);
err_close:
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	a->port = 0;
	return ret;
}

int coh_agent_stop(struct coh_agent *a)
{
	if (!a->started)
		return -EINVAL;
	coh__agent_mdns_stop(a);	/* no one is sent to an agent that stops */
	coh__agent_http_stop(a);
	coh__agent_log_flush(a);
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->sampler, NULL);
	coh__agent_engines_stop(a);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	a->port = 0;
	a->started = 0;
	return 0;
}

void coh_agent_destroy(struct coh_agent *a)
{
	unsigned int resumed = 0;

	if (!a)
		return;
	if (a->started)
		coh_agent_stop(a);
	/* Never leave work stopped behind us: the breaker continues it. */
	pthread_mutex_lock(&a->lock);
	if (a->breaker && coh_thermal_guard_paused(a->breaker))
		resumed = a->workload_count;
	coh_thermal_guard_destroy(a->breaker);
	a->breaker = NULL;
	pthread_mutex_unlock(&a->lock);
	coh__agent_state_error_flush(a);
	if (resumed)
		coh__agent_log(a, "resumed %u paused workload%s on the way out", resumed,
			       resumed == 1 ? "" : "s");
	coh__agent_log_flush(a);
	coh_budget_destroy(a->budget);
	coh_sysroot_close(a->sr);
	coh_sysroot_close(a->host);
	free(a->state_dir);
	if (a->state_lock_fd >= 0)
		close(a->state_lock_fd);
	free(a->latest);
	free(a->work);
	free(a->nvpmodel);
	free(a->engines_root);
	explicit_bzero(a->token, sizeof(a->token));
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->reaper_wake);
	pthread_mutex_destroy(&a->conn_lock);
	pthread_mutex_destroy(&a->log_lock);
	pthread_mutex_destroy(&a->control);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

uint16_t coh_agent_port(const struct coh_agent *a)
{
	return a->port;
}

struct coh_budget *coh_agent_budget(struct coh_agent *a)
{
	return a->budget;
}

int coh__agent_breaker_reset(struct coh_agent *a, enum coh_thermal_guard_state *from,
			     enum coh_thermal_guard_state *to, struct pep_err *err)
{
	struct coh_thermal_guard *fresh;
	int64_t input;
	int ret;

	pthread_mutex_lock(&a->lock);
	*from = *to = coh_thermal_guard_state(a->breaker);
	input = a->input_mc;
	if (input == COH_NA) {
		ret = pep_err_set(err, -EBUSY, "no temperature reading: the breaker stays %s",
				  coh_thermal_guard_state_name(*from));
		goto out;
	}
	if (input >= a->policy.trip_mc) {
		ret = pep_err_set(err, -EBUSY,
				  "%.1f C is at or above the trip point %.1f C: "
				  "the breaker stays %s",
				  (double)input / 1000.0, (double)a->policy.trip_mc / 1000.0,
				  coh_thermal_guard_state_name(*from));
		goto out;
	}
	ret = coh_thermal_guard_create(&fresh, &a->policy, err);
	if (ret < 0)
		goto out;
	/* Below the trip point a fresh breaker is not paused: no signal here. */
	coh_thermal_guard_update(fresh, input, now_ms());
	ret = coh_thermal_guard_watch(fresh, coh__agent_on_breaker, a);
	if (ret < 0) {
		coh_thermal_guard_destroy(fresh);
		ret = pep_err_set(err, ret, "breaker: cannot watch the new breaker");
		goto out;
	}
	coh_thermal_guard_destroy(a->breaker);	/* continues what it paused */
	a->breaker = fresh;
	*to = coh_thermal_guard_state(fresh);
out:
	pthread_mutex_unlock(&a->lock);
	return ret;
}

void coh_agent_snapshot(struct coh_agent *a, struct coh_status *status,
			struct coh_agent_snapshot *out)
{
	struct coh_agent_breaker_view *b = &out->breaker;
	struct coh_agent_counters *c = &out->agent;
	uint64_t now = pep_time_ns();

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	memcpy(status, a->latest, sizeof(*status));
	b->present = 1;
	b->policy = a->policy;
	b->state = coh_thermal_guard_state(a->breaker);
	b->input_mc = a->input_mc;
	b->trips = a->trips;
	b->predicted = coh_thermal_guard_predict(a->breaker, 30000, &b->predicted_trip_ms);
	b->workload_count = a->workload_count;
	for (unsigned int i = 0; i < a->workload_count; i++)
		b->workloads[i] = a->workloads[i].pgid;
	c->present = 1;
	c->interval_ms = a->interval_ms;
	c->samples = a->samples;
	c->sample_failures = a->sample_failures;
	c->scrapes = a->scrapes;
	c->unauthorized = a->unauthorized;
	c->last_sample_ns = a->last_sample_ns;
	c->sample_age_ns = now > status->sampled_ns ? now - status->sampled_ns : 0;
	if (a->engines) {
		size_t n = coh_engine_supervisor_list(a->engines, out->engines.engine,
						      COH_AGENT_ENGINES_MAX);

		out->engines.present = 1;
		out->engines.count = n < COH_AGENT_ENGINES_MAX ? (unsigned int)n :
				     COH_AGENT_ENGINES_MAX;
	}
	pthread_mutex_unlock(&a->lock);
	out->status = status;
	if (a->budget) {
		out->budget.present = 1;
		out->budget.total_bytes = a->budget_total;
		out->budget.reserved_bytes = a->budget_reserved;
		out->budget.used_bytes = coh_budget_used(a->budget);
	}
}
