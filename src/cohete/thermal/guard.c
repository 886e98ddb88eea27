/*
 * The thermal guard: a circuit breaker on temperature. A state machine with hysteresis fed one reading
 * at a time (so tests inject time and temperatures), a bounded history, a
 * trend-based runaway prediction, and an optional monitor thread that
 * samples a sysroot and pauses work: SIGSTOP/SIGCONT to process groups, or
 * callbacks for pools. A breaker that only checks before work starts
 * cannot stop work within 2 s of crossing; this one pauses running work.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cohete/thermal.h>

#include "internal.h"

#define HISTORY_MAX 4096
#define WATCH_MAX 16

struct watcher {
	coh_thermal_guard_fn fn;
	void *arg;
};

struct coh_thermal_guard {
	struct coh_thermal_guard_policy policy;
	_Atomic int state;		/* enum coh_thermal_guard_state */
	pthread_mutex_t lock;		/* history, watchers, monitor */
	struct coh_thermal_guard_sample history[HISTORY_MAX];
	size_t head, count;		/* ring: oldest at head */
	int pgids[WATCH_MAX];
	unsigned int pgid_count;
	struct watcher watchers[WATCH_MAX];
	unsigned int watcher_count;
	/* the monitor thread */
	const struct coh_sysroot *sr;
	pthread_t thread;
	pthread_cond_t wake;
	int running, stopping;
};

static const struct coh_thermal_guard_policy named_policies[] = {
	{ "conservative", 65000, 55000, 60000, 500 },
	{ "aggressive", 75000, 65000, 70000, 1000 },
};

int coh_thermal_guard_policy_named(const char *name, struct coh_thermal_guard_policy *out,
			     struct pep_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(named_policies); i++)
		if (!strcmp(named_policies[i].name, name)) {
			*out = named_policies[i];
			return 0;
		}
	return pep_err_set(err, -ENOENT,
			   "thermal policy '%s': not conservative or aggressive",
			   name);
}

int coh_thermal_guard_policy_check(const struct coh_thermal_guard_policy *p,
			     struct pep_err *err)
{
	if (p->resume_mc >= p->trip_mc)
		return pep_err_set(err, -EINVAL,
				   "policy %s: cooldown %lld m°C must be below the threshold %lld m°C",
				   p->name, (long long)p->resume_mc, (long long)p->trip_mc);
	if (p->warning_mc > p->trip_mc)
		return pep_err_set(err, -EINVAL,
				   "policy %s: warning %lld m°C above the threshold %lld m°C",
				   p->name, (long long)p->warning_mc, (long long)p->trip_mc);
	if (p->check_interval_ms < 10 || p->check_interval_ms > 60000)
		return pep_err_set(err, -EINVAL,
				   "policy %s: check interval %u ms not in 10..60000",
				   p->name, p->check_interval_ms);
	return 0;
}

/* The monitor sleeps on a monotonic clock: wall-clock jumps do not matter. */
void coh__cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

int coh_thermal_guard_create(struct coh_thermal_guard **out,
		       const struct coh_thermal_guard_policy *p, struct pep_err *err)
{
	struct coh_thermal_guard *b;
	int ret = coh_thermal_guard_policy_check(p, err);

	if (ret < 0)
		return ret;
	b = calloc(1, sizeof(*b));
	if (!b)
		return pep_err_set(err, -ENOMEM, "breaker: out of memory");
	b->policy = *p;
	atomic_init(&b->state, COH_THERMAL_GUARD_OK);
	pthread_mutex_init(&b->lock, NULL);
	coh__cond_init_monotonic(&b->wake);
	*out = b;
	return 0;
}

static int is_paused(int state)
{
	return state == COH_THERMAL_GUARD_TRIPPED || state == COH_THERMAL_GUARD_COOLING;
}

/* Called with the lock held, on a change between running and paused. */
static void notify(struct coh_thermal_guard *b, int paused)
{
	for (unsigned int i = 0; i < b->pgid_count; i++)
		kill(-b->pgids[i], paused ? SIGSTOP : SIGCONT);
	for (unsigned int i = 0; i < b->watcher_count; i++)
		b->watchers[i].fn(paused, b->watchers[i].arg);
}

void coh_thermal_guard_stop(struct coh_thermal_guard *b)
{
	pthread_mutex_lock(&b->lock);
	if (!b->running) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	b->stopping = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	b->running = b->stopping = 0;
}

void coh_thermal_guard_destroy(struct coh_thermal_guard *b)
{
	if (!b)
		return;
	coh_thermal_guard_stop(b);
	/* Never leave work stopped behind us. */
	if (is_paused(atomic_load(&b->state)))
		notify(b, 0);
	pthread_cond_destroy(&b->wake);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static enum coh_thermal_guard_state next_state(const struct coh_thermal_guard_policy *p,
					 enum coh_thermal_guard_state cur,
					 int64_t temp_mc)
{
	if (temp_mc >= p->trip_mc)
		return COH_THERMAL_GUARD_TRIPPED;
	if (is_paused(cur) && temp_mc >= p->resume_mc)
		return COH_THERMAL_GUARD_COOLING;
	return temp_mc >= p->warning_mc ? COH_THERMAL_GUARD_WARNING : COH_THERMAL_GUARD_OK;
}

static void record(struct coh_thermal_guard *b, uint64_t now_ms, int64_t temp_mc,
		   enum coh_thermal_guard_state s)
{
	size_t slot = (b->head + b->count) % HISTORY_MAX;

	b->history[slot] = (struct coh_thermal_guard_sample){ now_ms, temp_mc, s };
	if (b->count < HISTORY_MAX)
		b->count++;
	else
		b->head = (b->head + 1) % HISTORY_MAX;
}

enum coh_thermal_guard_state coh_thermal_guard_update(struct coh_thermal_guard *b,
					  int64_t temp_mc, uint64_t now_ms)
{
	enum coh_thermal_guard_state cur, next;

	pthread_mutex_lock(&b->lock);
	cur = atomic_load(&b->state);
	/* No reading is no news: an unreadable sensor is not a cold one. */
	next = temp_mc == COH_NA ? cur : next_state(&b->policy, cur, temp_mc);
	if (temp_mc != COH_NA)
		record(b, now_ms, temp_mc, next);
	atomic_store(&b->state, next);
	if (is_paused(cur) != is_paused(next))
		notify(b, is_paused(next));
	pthread_mutex_unlock(&b->lock);
	return next;
}

enum coh_thermal_guard_state coh_thermal_guard_state(const struct coh_thermal_guard *b)
{
	return atomic_load(&((struct coh_thermal_guard *)b)->state);
}

int coh_thermal_guard_paused(const struct coh_thermal_guard *b)
{
	return is_paused(coh_thermal_guard_state(b));
}

const char *coh_thermal_guard_state_name(enum coh_thermal_guard_state s)
{
	switch (s) {
	case COH_THERMAL_GUARD_OK:		return "ok";
	case COH_THERMAL_GUARD_WARNING:	return "warning";
	case COH_THERMAL_GUARD_TRIPPED:	return "tripped";
	case COH_THERMAL_GUARD_COOLING:	return "cooling";
	}
	return "ok";
}

int coh_thermal_guard_input_zone(const struct coh_thermal *t)
{
	int hottest = -1;

	for (unsigned int i = 0; i < t->count; i++) {
		const struct coh_thermal_zone *z = &t->zones[i];

		if (z->state != COH_ZONE_OK)
			continue;
		if (!strcmp(z->name, "tj"))
			return (int)i;
		if (hottest < 0 || z->temp_mc > t->zones[hottest].temp_mc)
			hottest = (int)i;
	}
	return hottest;
}

int64_t coh_thermal_guard_input(const struct coh_thermal *t)
{
	int i = coh_thermal_guard_input_zone(t);

	return i < 0 ? COH_NA : t->zones[i].temp_mc;
}

enum coh_temp_level coh_temp_level(const struct coh_thermal_guard_policy *p,
				    int64_t temp_mc)
{
	if (temp_mc == COH_NA)
		return COH_TEMP_UNKNOWN;
	if (temp_mc >= p->trip_mc)
		return COH_TEMP_HOT;
	return temp_mc >= p->warning_mc ? COH_TEMP_WARN : COH_TEMP_OK;
}

enum coh_temp_level coh_thermal_guard_state_level(enum coh_thermal_guard_state s)
{
	switch (s) {
	case COH_THERMAL_GUARD_OK:		return COH_TEMP_OK;
	case COH_THERMAL_GUARD_WARNING:	return COH_TEMP_WARN;
	case COH_THERMAL_GUARD_TRIPPED:
	case COH_THERMAL_GUARD_COOLING:	return COH_TEMP_HOT;
	}
	return COH_TEMP_UNKNOWN;
}

const char *coh_temp_level_name(enum coh_temp_level level)
{
	switch (level) {
	case COH_TEMP_UNKNOWN:	return "unknown";
	case COH_TEMP_OK:	return "ok";
	case COH_TEMP_WARN:	return "warn";
	case COH_TEMP_HOT:	return "hot";
	}
	return "unknown";
}

static int add_watch(struct coh_thermal_guard *b, int pgid, coh_thermal_guard_fn fn,
		     void *arg)
{
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (fn && b->watcher_count < WATCH_MAX)
		b->watchers[b->watcher_count++] = (struct watcher){ fn, arg };
	else if (!fn && b->pgid_count < WATCH_MAX)
		b->pgids[b->pgid_count++] = pgid;
	else
		ret = -ENOSPC;
	/* Work that joins while paused is paused at once. */
	if (!ret && is_paused(atomic_load(&b->state))) {
		if (fn)
			fn(1, arg);
		else
			kill(-pgid, SIGSTOP);
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int coh_thermal_guard_watch_pgid(struct coh_thermal_guard *b, int pgid)
{
	return pgid > 0 ? add_watch(b, pgid, NULL, NULL) : -EINVAL;
}

int coh_thermal_guard_watch(struct coh_thermal_guard *b, coh_thermal_guard_fn fn, void *arg)
{
	return fn ? add_watch(b, 0, fn, arg) : -EINVAL;
}

size_t coh_thermal_guard_history(const struct coh_thermal_guard *cb, uint64_t from_ms,
			   uint64_t to_ms, struct coh_thermal_guard_sample *out,
			   size_t max)
{
	struct coh_thermal_guard *b = (struct coh_thermal_guard *)cb;
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->count && n < max; i++) {
		const struct coh_thermal_guard_sample *s =
			&b->history[(b->head + i) % HISTORY_MAX];

		if (s->time_ms >= from_ms && s->time_ms <= to_ms)
			out[n++] = *s;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* Least-squares slope in m°C per ms over the samples since from_ms. */
static int trend(const struct coh_thermal_guard *b, uint64_t from_ms, double *slope,
		 const struct coh_thermal_guard_sample **last)
{
	double n = 0, st = 0, sy = 0, stt = 0, sty = 0;

	for (size_t i = 0; i < b->count; i++) {
		const struct coh_thermal_guard_sample *s =
			&b->history[(b->head + i) % HISTORY_MAX];
		double t = (double)(s->time_ms - from_ms), y = (double)s->temp_mc;

		if (s->time_ms < from_ms)
			continue;
		n++;
		st += t;
		sy += y;
		stt += t * t;
		sty += t * y;
		*last = s;
	}
	if (n < 3 || n * stt - st * st <= 0)
		return -1;
	*slope = (n * sty - st * sy) / (n * stt - st * st);
	return 0;
}

int coh_thermal_guard_predict(const struct coh_thermal_guard *cb, uint64_t window_ms,
			uint64_t *lead_ms)
{
	struct coh_thermal_guard *b = (struct coh_thermal_guard *)cb;
	const struct coh_thermal_guard_sample *last = NULL;
	double slope = 0;
	uint64_t newest, from;
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (b->count) {
		newest = b->history[(b->head + b->count - 1) % HISTORY_MAX].time_ms;
		from = newest > window_ms ? newest - window_ms : 0;
		if (trend(b, from, &slope, &last) == 0 && slope > 0) {
			int64_t gap = b->policy.trip_mc - last->temp_mc;

			*lead_ms = gap <= 0 ? 0 : (uint64_t)((double)gap / slope);
			ret = 1;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static uint64_t monotonic_ms(void)
{
	return pep_time_ns() / 1000000;
}

static void *monitor(void *arg)
{
	struct coh_thermal_guard *b = arg;
	struct coh_thermal *t = malloc(sizeof(*t));

	pthread_mutex_lock(&b->lock);
	while (t && !b->stopping) {
		struct timespec until;

		pthread_mutex_unlock(&b->lock);
		coh_thermal_read(b->sr, t, NULL);
		coh_thermal_guard_update(b, coh_thermal_guard_input(t), monotonic_ms());
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)(b->policy.check_interval_ms % 1000) * 1000000;
		until.tv_sec += b->policy.check_interval_ms / 1000 +
				until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_mutex_lock(&b->lock);
		if (!b->stopping)
			pthread_cond_timedwait(&b->wake, &b->lock, &until);
	}
	pthread_mutex_unlock(&b->lock);
	free(t);
	return NULL;
}

int coh_thermal_guard_start(struct coh_thermal_guard *b, const struct coh_sysroot *sr,
		      struct pep_err *err)
{
	int ret;

	pthread_mutex_lock(&b->lock);
	if (b->running) {
		pthread_mutex_unlock(&b->lock);
		return pep_err_set(err, -EBUSY, "breaker: monitor already running");
	}
	b->sr = sr;
	b->stopping = 0;
	ret = pthread_create(&b->thread, NULL, monitor, b);
	if (ret == 0)
		b->running = 1;
	pthread_mutex_unlock(&b->lock);
	return ret ? pep_err_set(err, -ret, "breaker: cannot start the monitor") : 0;
}
