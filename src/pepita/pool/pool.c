/*
 * The pool. One mutex guards the queues, the delayed list, the lanes'
 * threads' waiting and every job's state; it is never held while a task
 * runs. Function jobs go to the scheduler; lane jobs wait in one FIFO per
 * kind and priority until a slot thread of a lane that runs their kind
 * takes them. Failed attempts that may be retried wait on a list sorted by
 * due time, which a timer thread moves back to their queue.
 *
 * A job is its future: two references, the pool's (dropped when done and
 * its callback has run) and the caller's (pep_future_release).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pepita/pool.h>

#define MAX_LANES	64
#define NR_PRIOS	3

enum job_state { J_QUEUED, J_DELAYED, J_RUNNING, J_DONE };

struct pep_future {
	struct pep_task task;
	uint64_t id;
	int refs;			/* under the pool lock */
	enum job_state state;
	int cancel_req;
	int cancel_wfd;			/* running on a lane: write to cancel */
	uint64_t due_ns;		/* J_DELAYED: when to try again */
	struct pep_task_result res;
	unsigned int attempts;
	pep_future_cb cb;
	void *ctx;
	struct pep_future *next;	/* queue or delayed list */
	struct pep_pool *pool;
};

struct fifo {
	struct pep_future *head, *tail;
};

struct lane;

/* One thread of a lane, and what it runs now. */
struct slot {
	pthread_t thread;
	struct lane *lane;
	struct pep_future *cur;		/* under the pool lock */
};

struct lane {
	char name[64];
	struct pep_executor *ex;
	unsigned int slots;
	struct pep_breaker *breaker;	/* NULL: none */
	struct slot *threads;
	unsigned int started;
	struct pep_pool *pool;
};

struct pep_pool {
	pthread_mutex_t lock;
	pthread_cond_t work_cv;		/* lane threads wait for jobs */
	pthread_cond_t done_cv;		/* waiters wait for jobs to finish */
	pthread_cond_t timer_cv;
	struct fifo queue[PEP_TASK_RANGE + 1][NR_PRIOS];
	struct pep_future *delayed;	/* sorted by due_ns */
	struct pep_sched *sched;
	enum { SCHED_DEFAULT, SCHED_OWN, SCHED_CALLER } sched_from;
	struct lane *lanes[MAX_LANES];
	unsigned int nlanes;
	pthread_t timer;
	int timer_started;
	unsigned int fn_queued;		/* run_fn_job calls not yet ended:
					   the scheduler may be another's,
					   so the pool waits for its own */
	int shut;			/* no more submissions */
	int stopping;			/* threads: leave */
	uint64_t outstanding;		/* submitted, not done */
	uint64_t next_id;
	struct pep_pool_stats st;
	int has_retry;
	struct pep_retry_policy retry;
	int has_breaker;
	struct pep_breaker_opts bopts;
	struct pep_clock clock;
	struct pep_rng rng;
	struct pep_executor *thread_ex, *proc_ex, *simd_ex;
};

static void lock(struct pep_pool *p)
{
	pthread_mutex_lock(&p->lock);
}

static void unlock(struct pep_pool *p)
{
	pthread_mutex_unlock(&p->lock);
}

static uint64_t now_ns(struct pep_pool *p)
{
	return pep_clock_now_ns(&p->clock);
}

/* Queues. */

static void fifo_push(struct fifo *q, struct pep_future *f)
{
	f->next = NULL;
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
}

static struct pep_future *fifo_pop(struct fifo *q)
{
	struct pep_future *f = q->head;

	if (f) {
		q->head = f->next;
		if (!q->head)
			q->tail = NULL;
		f->next = NULL;
	}
	return f;
}

/* Take f out of q if it is there. */
static int fifo_remove(struct fifo *q, struct pep_future *f)
{
	struct pep_future **pp, *prev = NULL;

	for (pp = &q->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != f)
			continue;
		*pp = f->next;
		if (q->tail == f)
			q->tail = prev;
		f->next = NULL;
		return 1;
	}
	return 0;
}

/* The oldest job of the highest priority among the kinds a lane runs. */
static struct pep_future *take_job(struct pep_pool *p, unsigned int kinds)
{
	int prio, kind;

	for (prio = 0; prio < NR_PRIOS; prio++)
		for (kind = PEP_TASK_PROC; kind <= PEP_TASK_RANGE; kind++)
			if ((kinds & (1u << kind)) && p->queue[kind][prio].head)
				return fifo_pop(&p->queue[kind][prio]);
	return NULL;
}

static void delayed_insert(struct pep_pool *p, struct pep_future *f)
{
	struct pep_future **pp = &p->delayed;

	while (*pp && (*pp)->due_ns <= f->due_ns)
		pp = &(*pp)->next;
	f->next = *pp;
	*pp = f;
	pthread_cond_signal(&p->timer_cv);
}

static void delayed_remove(struct pep_pool *p, struct pep_future *f)
{
	struct pep_future **pp;

	for (pp = &p->delayed; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			f->next = NULL;
			return;
		}
}

/* Completion. */

static void put_locked(struct pep_future *f)
{
	if (--f->refs == 0) {
		pep_task_result_free(&f->res);
		free(f);
	}
}

/* Called with the lock held; releases it around the callback. */
static void complete_locked(struct pep_pool *p, struct pep_future *f)
{
	f->state = J_DONE;
	f->res.attempts = f->attempts;
	if (f->res.error == -ECANCELED)
		p->st.canceled++;
	else if (pep_task_ok(f->task.kind, &f->res))
		p->st.succeeded++;
	else
		p->st.failed++;
	if (f->cb) {
		unlock(p);
		f->cb(f, f->ctx);
		lock(p);
	}
	p->outstanding--;
	pthread_cond_broadcast(&p->done_cv);
	put_locked(f);
}

static void cancel_locked(struct pep_pool *p, struct pep_future *f)
{
	pep_task_result_free(&f->res);
	memset(&f->res, 0, sizeof(f->res));
	f->res.id = f->id;
	f->res.error = -ECANCELED;
	snprintf(f->res.message, sizeof(f->res.message), "canceled");
	complete_locked(p, f);
}

/* The error a failed attempt counts as, for the retry predicate. */
static int attempt_error(const struct pep_future *f)
{
	if (f->res.error)
		return f->res.error;
	if (f->res.timed_out)
		return -ETIMEDOUT;
	return -EIO;		/* a program that exited non-zero or was killed */
}

static void enqueue_locked(struct pep_pool *p, struct pep_future *f);

/* After an attempt: done, or delayed for another one. Lock held. */
static void finish_attempt_locked(struct pep_pool *p, struct pep_future *f)
{
	int err = attempt_error(f);

	f->res.id = f->id;
	if (f->cancel_req && !f->res.error) {
		f->res.error = -ECANCELED;
		snprintf(f->res.message, sizeof(f->res.message), "canceled");
	}
	if (pep_task_ok(f->task.kind, &f->res) || f->cancel_req || p->shut > 1 ||
	    !p->has_retry || !pep_retry_should(&p->retry, f->attempts, err)) {
		complete_locked(p, f);
		return;
	}
	p->st.retries++;
	pep_task_result_free(&f->res);
	f->state = J_DELAYED;
	f->due_ns = now_ns(p) + pep_retry_delay_ns(&p->retry, f->attempts, &p->rng);
	delayed_insert(p, f);
}

/* Function jobs, on the scheduler. */

/* The end of a run_fn_job call: the last it touches of f and the pool. */
static void fn_job_ended_locked(struct pep_pool *p, struct pep_future *f)
{
	put_locked(f);		/* the scheduler's reference */
	if (--p->fn_queued == 0)
		pthread_cond_broadcast(&p->done_cv);
}

static void run_fn_job(void *arg)
{
	struct pep_future *f = arg;
	struct pep_pool *p = f->pool;

	lock(p);
	if (f->state == J_DONE) {	/* canceled while queued */
		fn_job_ended_locked(p, f);
		unlock(p);
		return;
	}
	f->state = J_RUNNING;
	f->attempts++;
	unlock(p);
	pep_executor_run(p->thread_ex, &f->task, &f->res, -1);
	lock(p);
	f->res.lane = NULL;
	finish_attempt_locked(p, f);
	fn_job_ended_locked(p, f);
	unlock(p);
}

/* Queue f for its next attempt. Lock held. */
static void enqueue_locked(struct pep_pool *p, struct pep_future *f)
{
	f->state = J_QUEUED;
	if (f->task.kind == PEP_TASK_FN) {
		f->refs++;	/* held by the scheduler until run_fn_job ends */
		p->fn_queued++;
		if (pep_sched_submit(p->sched, run_fn_job, f, f->task.prio) < 0) {
			f->refs--;
			p->fn_queued--;
			f->res.error = -ESHUTDOWN;
			snprintf(f->res.message, sizeof(f->res.message),
				 "the pool is shutting down");
			complete_locked(p, f);
		}
		return;
	}
	fifo_push(&p->queue[f->task.kind][f->task.prio], f);
	pthread_cond_broadcast(&p->work_cv);
}

/* Lanes. */

/* One attempt of f on lane l, unlocked. */
static void run_on_lane(struct lane *l, struct pep_future *f, int cancel_rfd)
{
	if (l->breaker && !pep_breaker_allow(l->breaker)) {
		memset(&f->res, 0, sizeof(f->res));
		f->res.error = -EHOSTDOWN;
		snprintf(f->res.message, sizeof(f->res.message),
			 "lane %s: circuit breaker open", l->name);
		return;
	}
	pep_executor_run(l->ex, &f->task, &f->res, cancel_rfd);
	if (l->breaker) {
		if (f->res.error && f->res.error != -ECANCELED)
			pep_breaker_record_failure(l->breaker);
		else
			pep_breaker_record_success(l->breaker);
	}
}

static void *lane_main(void *arg)
{
	struct slot *sl = arg;
	struct lane *l = sl->lane;
	struct pep_pool *p = l->pool;
	struct pep_future *f;
	int fds[2];

	lock(p);
	for (;;) {
		f = take_job(p, l->ex->ops->kinds);
		if (!f) {
			if (p->stopping)
				break;
			pthread_cond_wait(&p->work_cv, &p->lock);
			continue;
		}
		if (pipe2(fds, O_CLOEXEC) < 0)
			fds[0] = fds[1] = -1;
		f->state = J_RUNNING;
		f->cancel_wfd = fds[1];
		f->attempts++;
		sl->cur = f;
		unlock(p);
		run_on_lane(l, f, fds[0]);
		lock(p);
		sl->cur = NULL;
		f->cancel_wfd = -1;
		if (fds[0] >= 0) {
			close(fds[0]);
			close(fds[1]);
		}
		f->res.lane = l->name;
		if (f->res.error == -EHOSTDOWN)
			p->st.rejected++;
		finish_attempt_locked(p, f);
	}
	unlock(p);
	return NULL;
}

/* The timer: delayed attempts back to their queues when due. */
static void *timer_main(void *arg)
{
	struct pep_pool *p = arg;

	lock(p);
	while (!p->stopping) {
		struct pep_future *f = p->delayed;
		uint64_t now = now_ns(p);

		if (f && f->due_ns <= now) {
			p->delayed = f->next;
			enqueue_locked(p, f);
			continue;
		}
		if (!f) {
			pthread_cond_wait(&p->timer_cv, &p->lock);
		} else {
			struct timespec ts;
			uint64_t wait = f->due_ns - now, at;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			at = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec + wait;
			ts.tv_sec = (time_t)(at / 1000000000);
			ts.tv_nsec = (long)(at % 1000000000);
			pthread_cond_timedwait(&p->timer_cv, &p->lock, &ts);
		}
	}
	unlock(p);
	return NULL;
}

static int start_lane_threads(struct pep_pool *p, struct lane *l,
			      struct pep_err *err)
{
	for (; l->started < l->slots; l->started++) {
		struct slot *sl = &l->threads[l->started];
		int ret;

		sl->lane = l;
		ret = pthread_create(&sl->thread, NULL, lane_main, sl);

		if (ret)
			return pep_err_set(err, -ret, "pool: lane %s: thread: %s",
					   l->name, strerror(ret));
	}
	return 0;
}

int pep_pool_add_lane(struct pep_pool *p, const char *name,
		      struct pep_executor *ex, unsigned int slots,
		      struct pep_err *err)
{
	struct lane *l;
	int ret = 0;

	if (!p || !ex || !name || slots == 0 || slots > 4096)
		return pep_err_set(err, -EINVAL, "pool: lane %s: needs an "
				   "executor and 1..4096 slots",
				   name ? name : "(null)");
	if (!(ex->ops->kinds & ((1u << PEP_TASK_PROC) | (1u << PEP_TASK_RANGE))))
		return pep_err_set(err, -EINVAL, "pool: lane %s: executor %s "
				   "runs no program or range task", name,
				   ex->ops->name);
	l = calloc(1, sizeof(*l));
	if (!l || !(l->threads = calloc(slots, sizeof(*l->threads)))) {
		free(l);
		return pep_err_set(err, -ENOMEM, "pool: out of memory");
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->ex = ex;
	l->slots = slots;
	l->pool = p;
	if (p->has_breaker)
		ret = pep_breaker_create(&l->breaker, &p->bopts, &p->clock, err);
	lock(p);
	if (!ret && (p->nlanes == MAX_LANES || p->shut))
		ret = pep_err_set(err, p->shut ? -ESHUTDOWN : -ENOSPC,
				  "pool: lane %s: %s", name, p->shut ?
				  "shutting down" : "too many lanes");
	if (!ret) {
		/* Added even if not every thread starts: those that did serve. */
		p->lanes[p->nlanes++] = l;
		ret = start_lane_threads(p, l, err);
		l = NULL;
	}
	unlock(p);
	if (l) {
		pep_breaker_destroy(l->breaker);
		free(l->threads);
		free(l);
	}
	return ret;
}

/* Create and destroy. */

static int make_executors(struct pep_pool *p, struct pep_err *err)
{
	int ret = pep_executor_thread(&p->thread_ex, err);

	if (!ret)
		ret = pep_executor_process(&p->proc_ex, err);
	if (!ret)
		ret = pep_executor_simd(&p->simd_ex, p->sched, err);
	return ret;
}

static int init_sync(struct pep_pool *p)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_cv, &ca);
	pthread_cond_init(&p->done_cv, &ca);
	pthread_cond_init(&p->timer_cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static int copy_opts(struct pep_pool *p, const struct pep_pool_opts *o,
		     struct pep_err *err)
{
	if (o->clock)
		p->clock = *o->clock;
	if (o->retry) {
		int ret = pep_retry_policy_check(o->retry, err);

		if (ret)
			return ret;
		p->retry = *o->retry;
		p->has_retry = 1;
	}
	if (o->breaker) {
		p->bopts = *o->breaker;
		p->has_breaker = 1;
	}
	pep_rng_seed(&p->rng, o->seed ? o->seed : pep_time_ns());
	return 0;
}

/* The scheduler of the options (pep_pool_opts says which). */
static int pick_sched(struct pep_pool *p, const struct pep_pool_opts *o,
		      struct pep_err *err)
{
	struct pep_sched_opts so = { .workers = o->workers };

	if (o->sched && o->workers)
		return pep_err_set(err, -EINVAL, "pool: workers and sched are "
				   "both set (a scheduler of its own, or the "
				   "given one?)");
	if (o->sched) {
		p->sched = o->sched;
		p->sched_from = SCHED_CALLER;
		return 0;
	}
	if (o->workers) {
		p->sched_from = SCHED_OWN;
		return pep_sched_create(&p->sched, &so, err);
	}
	p->sched = pep_sched_default_hold();
	p->sched_from = SCHED_DEFAULT;
	if (!p->sched)
		return pep_err_set(err, -EAGAIN, "pool: cannot start the "
				   "default scheduler");
	return 0;
}

static void drop_sched(struct pep_pool *p)
{
	if (p->sched_from == SCHED_OWN)
		pep_sched_destroy(p->sched);
	else if (p->sched_from == SCHED_DEFAULT)
		pep_sched_default_release(p->sched);
	p->sched = NULL;
}

int pep_pool_create(struct pep_pool **out, const struct pep_pool_opts *opts,
		    struct pep_err *err)
{
	static const struct pep_pool_opts none;
	const struct pep_pool_opts *o = opts ? opts : &none;
	struct pep_pool *p;
	unsigned int slots;
	int ret;

	if (!out)
		return pep_err_set(err, -EINVAL, "pool: out is NULL");
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return pep_err_set(err, -ENOMEM, "pool: out of memory");
	init_sync(p);
	ret = copy_opts(p, o, err);
	if (!ret)
		ret = pick_sched(p, o, err);
	if (!ret)
		ret = make_executors(p, err);
	if (!ret) {
		ret = -pthread_create(&p->timer, NULL, timer_main, p);
		if (ret)
			pep_err_set(err, ret, "pool: timer thread: %s", strerror(-ret));
		p->timer_started = !ret;
	}
	if (!ret && !o->no_local) {
		slots = o->proc_slots ? o->proc_slots :
					pep_sched_workers(p->sched);
		ret = pep_pool_add_lane(p, "local", p->proc_ex, slots, err);
	}
	if (!ret)
		ret = pep_pool_add_lane(p, "simd", p->simd_ex, 1, err);
	if (ret) {
		pep_pool_destroy(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* Cancel everything queued or delayed, and signal running lane jobs. */
static void cancel_all_locked(struct pep_pool *p)
{
	struct pep_future *f;
	int kind, prio;

	for (kind = PEP_TASK_PROC; kind <= PEP_TASK_RANGE; kind++)
		for (prio = 0; prio < NR_PRIOS; prio++)
			while ((f = fifo_pop(&p->queue[kind][prio])))
				cancel_locked(p, f);
	while ((f = p->delayed)) {
		p->delayed = f->next;
		cancel_locked(p, f);
	}
	for (unsigned int i = 0; i < p->nlanes; i++)
		for (unsigned int j = 0; j < p->lanes[i]->started; j++) {
			f = p->lanes[i]->threads[j].cur;
			if (!f)
				continue;
			f->cancel_req = 1;
			if (f->cancel_wfd >= 0 && write(f->cancel_wfd, "c", 1) < 0)
				continue;	/* it ends on its own */
		}
}

void pep_pool_shutdown(struct pep_pool *p, int drain)
{
	unsigned int i, j;

	if (!p)
		return;
	lock(p);
	if (p->stopping) {
		unlock(p);
		return;
	}
	p->shut = drain ? 1 : 2;	/* 2: no more retries either */
	if (!drain)
		cancel_all_locked(p);
	while (p->outstanding || p->fn_queued)
		pthread_cond_wait(&p->done_cv, &p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_cond_broadcast(&p->timer_cv);
	unlock(p);
	for (i = 0; i < p->nlanes; i++)
		for (j = 0; j < p->lanes[i]->started; j++)
			pthread_join(p->lanes[i]->threads[j].thread, NULL);
	if (p->timer_started)
		pthread_join(p->timer, NULL);
	p->timer_started = 0;
}

void pep_pool_destroy(struct pep_pool *p)
{
	unsigned int i;

	if (!p)
		return;
	pep_pool_shutdown(p, 1);
	for (i = 0; i < p->nlanes; i++) {
		pep_breaker_destroy(p->lanes[i]->breaker);
		free(p->lanes[i]->threads);
		free(p->lanes[i]);
	}
	drop_sched(p);
	pep_executor_destroy(p->thread_ex);
	pep_executor_destroy(p->proc_ex);
	pep_executor_destroy(p->simd_ex);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->timer_cv);
	free(p);
}

/* Submit, wait, cancel. */

static int lane_runs(struct pep_pool *p, enum pep_task_kind kind)
{
	unsigned int i;

	if (kind == PEP_TASK_FN)
		return 1;
	for (i = 0; i < p->nlanes; i++)
		if (p->lanes[i]->ex->ops->kinds & (1u << kind))
			return 1;
	return 0;
}

int pep_pool_submit(struct pep_pool *p, const struct pep_task *t,
		    pep_future_cb cb, void *ctx, struct pep_future **out,
		    struct pep_err *err)
{
	struct pep_future *f;
	int ret;

	if (out)
		*out = NULL;
	if (!p)
		return pep_err_set(err, -EINVAL, "pool is NULL");
	ret = pep_task_check(t, err);
	if (ret)
		return ret;
	f = calloc(1, sizeof(*f));
	if (!f)
		return pep_err_set(err, -ENOMEM, "pool: out of memory");
	f->task = *t;
	f->cb = cb;
	f->ctx = ctx;
	f->pool = p;
	f->cancel_wfd = -1;
	f->refs = out ? 2 : 1;
	lock(p);
	if (p->shut || !lane_runs(p, t->kind)) {
		ret = p->shut ? -ESHUTDOWN : -ENODEV;
		unlock(p);
		free(f);
		return pep_err_set(err, ret, "pool: %s", ret == -ESHUTDOWN ?
				   "shutting down" : "no lane runs this kind of task");
	}
	f->id = ++p->next_id;
	f->res.id = f->id;
	p->st.submitted++;
	p->outstanding++;
	if (out)
		*out = f;
	enqueue_locked(p, f);
	unlock(p);
	return 0;
}

int pep_future_wait(struct pep_future *f, int timeout_ms)
{
	struct pep_pool *p = f->pool;
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (timeout_ms >= 0) {
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	lock(p);
	while (f->state != J_DONE && ret == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&p->done_cv, &p->lock);
		else if (pthread_cond_timedwait(&p->done_cv, &p->lock, &ts))
			ret = f->state == J_DONE ? 0 : -ETIMEDOUT;
	}
	unlock(p);
	return ret;
}

int pep_future_done(struct pep_future *f)
{
	int done;

	lock(f->pool);
	done = f->state == J_DONE;
	unlock(f->pool);
	return done;
}

const struct pep_task_result *pep_future_result(struct pep_future *f)
{
	return pep_future_done(f) ? &f->res : NULL;
}

uint64_t pep_future_id(const struct pep_future *f)
{
	return f ? f->id : 0;
}

int pep_future_cancel(struct pep_future *f)
{
	struct pep_pool *p = f->pool;
	int ret = 0;

	lock(p);
	switch (f->state) {
	case J_DONE:
		ret = -EALREADY;
		break;
	case J_DELAYED:
		delayed_remove(p, f);
		cancel_locked(p, f);
		break;
	case J_QUEUED:
		f->cancel_req = 1;
		if (f->task.kind != PEP_TASK_FN &&
		    fifo_remove(&p->queue[f->task.kind][f->task.prio], f))
			cancel_locked(p, f);
		else if (f->task.kind == PEP_TASK_FN)
			cancel_locked(p, f);	/* run_fn_job sees J_DONE */
		break;
	case J_RUNNING:
		f->cancel_req = 1;
		if (f->cancel_wfd >= 0 && write(f->cancel_wfd, "c", 1) < 0)
			ret = -errno;
		break;
	}
	unlock(p);
	return ret;
}

void pep_future_release(struct pep_future *f)
{
	struct pep_pool *p;

	if (!f)
		return;
	p = f->pool;
	lock(p);
	put_locked(f);
	unlock(p);
}

void pep_pool_wait_all(struct pep_pool *p)
{
	lock(p);
	while (p->outstanding)
		pthread_cond_wait(&p->done_cv, &p->lock);
	unlock(p);
}

void pep_pool_stats(struct pep_pool *p, struct pep_pool_stats *st)
{
	lock(p);
	*st = p->st;
	unlock(p);
}

struct pep_sched *pep_pool_sched(struct pep_pool *p)
{
	return p ? p->sched : NULL;
}
