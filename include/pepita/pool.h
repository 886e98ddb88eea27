/*
 * pepita/pool.h - the runtime's front door: submit tasks, wait for their
 * results, cancel them, retry failures, stop sending work to a backend
 * that keeps failing.
 *
 * Function tasks run on a work-stealing scheduler: the process-wide
 * default unless the options name another (see pep_pool_opts). Program and
 * range tasks run on lanes: an executor with a number of slots (a slot is
 * one task at a time on one thread of the pool's, since a program blocks
 * its thread). A pool starts with a "local" process lane (proc_slots
 * slots) and a "simd" lane; more lanes (another machine over SSH, a GPU)
 * can be added, and a task goes to the first free slot of any lane that
 * runs its kind. Each lane has its own circuit breaker when the pool has
 * breaker options: a lane whose breaker is open fails what it picks up
 * with -EHOSTDOWN (a retry then lands on another lane or after the
 * cool-down).
 *
 * A task that fails (pep_task_ok() false) is tried again while the retry
 * policy says so, after its jittered delay, on whichever slot is free
 * then. Within one priority, tasks start in submission order.
 *
 * Threading: every function may be called from any thread. Pointers in a
 * submitted task (argv, env, stdin data, arg) must stay valid until its
 * future is done.
 */
#ifndef PEPITA_POOL_H
#define PEPITA_POOL_H

#include <stdint.h>

#include <pepita/core.h>
#include <pepita/exec.h>
#include <pepita/fault.h>
#include <pepita/sched.h>
#include <pepita/task.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pep_pool;
struct pep_future;

struct pep_pool_opts {
	/* Function tasks run on sched (the caller's: it must outlive the
	 * pool), else on a scheduler of the pool's own with workers threads,
	 * else (both 0) on the process-wide pep_sched_default(). Both set
	 * is -EINVAL. */
	unsigned int workers;
	unsigned int proc_slots;	/* programs at once locally; 0: the
					   scheduler's workers */
	int no_local;			/* no "local" process lane */
	const struct pep_retry_policy *retry;	/* NULL: one attempt */
	const struct pep_breaker_opts *breaker;	/* NULL: no breakers */
	const struct pep_clock *clock;	/* breakers and delays; NULL: monotonic */
	uint64_t seed;			/* retry jitter; 0: from the clock */
	struct pep_sched *sched;	/* NULL: see workers */
};

PEP_API int pep_pool_create(struct pep_pool **out,
			    const struct pep_pool_opts *opts,
			    struct pep_err *err);

/*
 * Add a lane: slots threads running ex's kinds of task (ex stays the
 * caller's and must outlive the pool). name is copied; it appears in
 * results (res->lane). -EINVAL for 0 slots or a function-only executor.
 */
PEP_API int pep_pool_add_lane(struct pep_pool *p, const char *name,
			      struct pep_executor *ex, unsigned int slots,
			      struct pep_err *err);

/* Called once per task, on a pool thread, when its future is done. */
typedef void (*pep_future_cb)(struct pep_future *f, void *ctx);

/*
 * Queue a copy of *t (the pointers in it are not copied). *out (may be
 * NULL when nobody waits) gets a reference the caller releases. cb, if
 * set, runs when the task is done. -EINVAL (err names the field), -ENODEV
 * when no lane runs the kind, -ESHUTDOWN after shutdown began.
 */
PEP_API int pep_pool_submit(struct pep_pool *p, const struct pep_task *t,
			    pep_future_cb cb, void *ctx,
			    struct pep_future **out, struct pep_err *err);

/* 0 once done; -ETIMEDOUT after timeout_ms (< 0: wait for ever). */
PEP_API int pep_future_wait(struct pep_future *f, int timeout_ms);
PEP_API int pep_future_done(struct pep_future *f);

/* The result, once done (owned by the future); NULL before. */
PEP_API const struct pep_task_result *pep_future_result(struct pep_future *f);

/* The task's id (from 1, in submission order). */
PEP_API uint64_t pep_future_id(const struct pep_future *f);

/*
 * Cancel: a queued or delayed task completes at once with -ECANCELED; a
 * running program is killed; a running function runs to its end. 0, or
 * -EALREADY when it was done already.
 */
PEP_API int pep_future_cancel(struct pep_future *f);

PEP_API void pep_future_release(struct pep_future *f);

/* Wait until every submitted task is done. */
PEP_API void pep_pool_wait_all(struct pep_pool *p);

/*
 * Stop taking tasks. drain: run what is queued to the end first; else
 * cancel it, and kill running programs. Then stop the threads. Idempotent.
 */
PEP_API void pep_pool_shutdown(struct pep_pool *p, int drain);

/* pep_pool_shutdown(p, 1) if not done yet, then free. */
PEP_API void pep_pool_destroy(struct pep_pool *p);

struct pep_pool_stats {
	uint64_t submitted;
	uint64_t succeeded;
	uint64_t failed;		/* done, not ok, after every attempt */
	uint64_t retries;		/* attempts after the first */
	uint64_t canceled;
	uint64_t rejected;		/* refused by a lane's open breaker */
};

PEP_API void pep_pool_stats(struct pep_pool *p, struct pep_pool_stats *st);

/* The scheduler function tasks run on (for fork-join inside them). */
PEP_API struct pep_sched *pep_pool_sched(struct pep_pool *p);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_POOL_H */
