/*
 * The circuit breaker: closed -> open -> half-open -> closed or open.
 *
 * Tripping counts failures inside a sliding time window rather than
 * consecutive failures (upstream's rule), because a flapping dependency
 * that fails every other call never trips a consecutive counter. The
 * window is exact and O(1): a ring of the last failure_threshold failure
 * times; when it is full and its oldest entry is still inside the window,
 * threshold failures happened within window_ns. A mutex guards all of it:
 * each operation is a few comparisons, far cheaper than the calls it
 * protects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <pepita/fault.h>

#define DEFAULT_THRESHOLD 5
#define MAX_THRESHOLD 65536
#define DEFAULT_WINDOW_NS (10ull * 1000 * 1000 * 1000)
#define DEFAULT_OPEN_NS (5ull * 1000 * 1000 * 1000)

struct pep_breaker {
	pthread_mutex_t lock;
	struct pep_clock clock;
	int has_clock;
	struct pep_breaker_opts o;	/* defaults filled in */
	enum pep_breaker_state state;
	uint64_t opened_ns;		/* when it last went OPEN */
	unsigned int trials;		/* admitted in this HALF_OPEN */
	unsigned int trial_ok;		/* successful trials so far */
	unsigned int nfail, head;	/* ring of failure times */
	struct pep_breaker_stats stats;
	uint64_t fail_ns[];		/* failure_threshold entries */
};

static uint64_t now_ns(struct pep_breaker *b)
{
	return pep_clock_now_ns(b->has_clock ? &b->clock : NULL);
}

static int fill_opts(struct pep_breaker_opts *o, struct pep_err *err)
{
	if (!o->failure_threshold)
		o->failure_threshold = DEFAULT_THRESHOLD;
	if (!o->window_ns)
		o->window_ns = DEFAULT_WINDOW_NS;
	if (!o->open_ns)
		o->open_ns = DEFAULT_OPEN_NS;
	if (!o->half_open_calls)
		o->half_open_calls = 1;
	if (!o->success_threshold)
		o->success_threshold = 1;
	if (o->failure_threshold > MAX_THRESHOLD)
		return pep_err_set(err, -EINVAL,
				   "breaker: failure_threshold %u above %u",
				   o->failure_threshold, MAX_THRESHOLD);
	if (o->success_threshold > o->half_open_calls)
		return pep_err_set(err, -EINVAL,
				   "breaker: success_threshold %u above half_open_calls %u: it could never close",
				   o->success_threshold, o->half_open_calls);
	return 0;
}

PEP_API int pep_breaker_create(struct pep_breaker **out,
			       const struct pep_breaker_opts *opts,
			       const struct pep_clock *clock,
			       struct pep_err *err)
{
	struct pep_breaker_opts o = opts ? *opts : (struct pep_breaker_opts){ 0 };
	struct pep_breaker *b;
	int ret;

	*out = NULL;
	ret = fill_opts(&o, err);
	if (ret < 0)
		return ret;
	b = calloc(1, sizeof(*b) + o.failure_threshold * sizeof(b->fail_ns[0]));
	if (!b)
		return pep_err_set(err, -ENOMEM, "breaker: out of memory");
	ret = pthread_mutex_init(&b->lock, NULL);
	if (ret) {
		free(b);
		return pep_err_set(err, -ret, "breaker: mutex init failed");
	}
	if (clock) {
		b->clock = *clock;
		b->has_clock = 1;
	}
	b->o = o;
	b->state = PEP_BREAKER_CLOSED;
	*out = b;
	return 0;
}

PEP_API void pep_breaker_destroy(struct pep_breaker *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void trip(struct pep_breaker *b, uint64_t now)
{
	b->state = PEP_BREAKER_OPEN;
	b->opened_ns = now;
	b->nfail = 0;
	b->head = 0;
	b->stats.trips++;
}

/* OPEN whose cool-down has passed becomes HALF_OPEN. Lock held. */
static void advance(struct pep_breaker *b, uint64_t now)
{
	if (b->state != PEP_BREAKER_OPEN || now - b->opened_ns < b->o.open_ns)
		return;
	b->state = PEP_BREAKER_HALF_OPEN;
	b->trials = 0;
	b->trial_ok = 0;
}

PEP_API int pep_breaker_allow(struct pep_breaker *b)
{
	int ok = 1;

	pthread_mutex_lock(&b->lock);
	advance(b, now_ns(b));
	if (b->state == PEP_BREAKER_OPEN)
		ok = 0;
	else if (b->state == PEP_BREAKER_HALF_OPEN) {
		if (b->trials < b->o.half_open_calls)
			b->trials++;
		else
			ok = 0;
	}
	if (ok)
		b->stats.calls++;
	else
		b->stats.rejections++;
	pthread_mutex_unlock(&b->lock);
	return ok;
}

PEP_API void pep_breaker_record_success(struct pep_breaker *b)
{
	pthread_mutex_lock(&b->lock);
	b->stats.successes++;
	advance(b, now_ns(b));
	if (b->state == PEP_BREAKER_HALF_OPEN &&
	    ++b->trial_ok >= b->o.success_threshold) {
		b->state = PEP_BREAKER_CLOSED;
		b->nfail = 0;
		b->head = 0;
	}
	pthread_mutex_unlock(&b->lock);
}

/* Add a failure at now to the ring; 1 when threshold are within window. */
static int window_full(struct pep_breaker *b, uint64_t now)
{
	unsigned int n = b->o.failure_threshold, oldest;

	b->fail_ns[b->head] = now;
	b->head = (b->head + 1) % n;
	if (b->nfail < n)
		b->nfail++;
	if (b->nfail < n)
		return 0;
	oldest = b->head;		/* the ring is full: head is the oldest */
	return now - b->fail_ns[oldest] < b->o.window_ns;
}

PEP_API void pep_breaker_record_failure(struct pep_breaker *b)
{
	uint64_t now;

	pthread_mutex_lock(&b->lock);
	now = now_ns(b);
	b->stats.failures++;
	advance(b, now);
	if (b->state == PEP_BREAKER_HALF_OPEN)
		trip(b, now);
	else if (b->state == PEP_BREAKER_CLOSED && window_full(b, now))
		trip(b, now);
	pthread_mutex_unlock(&b->lock);
}

PEP_API enum pep_breaker_state pep_breaker_state(struct pep_breaker *b)
{
	enum pep_breaker_state s;

	pthread_mutex_lock(&b->lock);
	advance(b, now_ns(b));
	s = b->state;
	pthread_mutex_unlock(&b->lock);
	return s;
}

PEP_API void pep_breaker_stats(struct pep_breaker *b,
			       struct pep_breaker_stats *stats)
{
	pthread_mutex_lock(&b->lock);
	*stats = b->stats;
	pthread_mutex_unlock(&b->lock);
}

PEP_API const char *pep_breaker_state_name(enum pep_breaker_state state)
{
	static const char *const names[] = {
		[PEP_BREAKER_CLOSED] = "closed",
		[PEP_BREAKER_OPEN] = "open",
		[PEP_BREAKER_HALF_OPEN] = "half-open",
	};

	if ((unsigned int)state >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[state];
}
