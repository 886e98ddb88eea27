/*
 * pepita/sched.h - a work-stealing scheduler: one worker thread per CPU,
 * each with a Chase-Lev deque (Lê et al. 2013, with the later fixes),
 * random-victim stealing, idle workers parked on a futex, and a global
 * injection queue per priority for work submitted from outside.
 *
 * Two ways to run work:
 *
 * - Fork-join, from inside a task: pep_spawn() pushes a child on the
 *   calling worker's deque and returns at once; pep_sync() runs or steals
 *   work until every child spawned into the group has finished. Groups
 *   nest: a child may spawn into a group of its own. Work-first: the
 *   spawning worker keeps running the parent; an idle worker steals the
 *   oldest child.
 *
 * - Detached tasks, from anywhere: pep_sched_submit() queues a function at
 *   a priority; pep_sched_wait_idle() waits until nothing is queued or
 *   running.
 *
 * One scheduler per process is the default (pep_sched_default()): sgemm
 * and sgemv, pools and cohete's quantizer run on it unless given their
 * own, so a process holds one set of workers whatever it calls.
 *
 * Threading: every function may be called from any thread, except that
 * pep_spawn() and pep_sync() take a group that lives in one task (on one
 * worker's stack, usually) and are called by that task.
 */
#ifndef PEPITA_SCHED_H
#define PEPITA_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pep_sched;

enum pep_prio {
	PEP_PRIO_HIGH = 0,
	PEP_PRIO_NORMAL = 1,
	PEP_PRIO_LOW = 2,
};

struct pep_sched_opts {
	unsigned int workers;		/* 0: one per online CPU */
	unsigned int deque_size;	/* initial slots per deque; 0: 1024 */
};

/* Start the workers. -EINVAL for absurd options, -ENOMEM, -EAGAIN. */
PEP_API int pep_sched_create(struct pep_sched **out,
			     const struct pep_sched_opts *opts,
			     struct pep_err *err);

/* Run what is queued to the end, stop and join the workers, free. */
PEP_API void pep_sched_destroy(struct pep_sched *s);

PEP_API unsigned int pep_sched_workers(const struct pep_sched *s);

/*
 * The process-wide default scheduler, one worker per online CPU, started
 * by the first call (any thread; the others wait for it). NULL only when
 * it cannot be started (no memory, no threads) or once exit() has begun.
 * Never pep_sched_destroy() it: an atexit handler stops and frees it when
 * nothing uses it any more (else the kernel reclaims it with the process).
 * A forked child does not share the parent's: it starts its own on first
 * use.
 *
 * The pointer stays valid until exit() begins. Code that may still run
 * then (a library's threads, work that outlives main) holds it instead:
 * pep_sched_default_hold() returns it as pep_sched_default() does and
 * keeps the exit handler from freeing it until the matching
 * pep_sched_default_release() (which takes what hold returned; NULL is
 * ignored).
 */
PEP_API struct pep_sched *pep_sched_default(void);
PEP_API struct pep_sched *pep_sched_default_hold(void);
PEP_API void pep_sched_default_release(struct pep_sched *s);

typedef void (*pep_task_fn)(void *arg);

/*
 * Queue fn(arg) at prio from any thread (a worker too). Higher priorities
 * run first; within one, first in first out. -ESHUTDOWN once destroy has
 * begun.
 */
PEP_API int pep_sched_submit(struct pep_sched *s, pep_task_fn fn, void *arg,
			     enum pep_prio prio);

/* Block (not spinning) until no task is queued or running. */
PEP_API void pep_sched_wait_idle(struct pep_sched *s);

/*
 * Run fn(arg) on a worker and wait for it and everything it spawned: the
 * way into fork-join from a thread outside the scheduler.
 */
PEP_API void pep_sched_run(struct pep_sched *s, pep_task_fn fn, void *arg);

/*
 * Fork-join. A group is zeroed (PEP_GROUP_INIT) before its first spawn and
 * is zero again, ready for reuse, when pep_sync() returns. A task syncs
 * every group it spawned into before it returns.
 *
 * The counters are split so that a spawn and a child the spawning worker
 * runs itself cost no atomic read-modify-write: only a stolen child's end
 * is counted atomically. The group is done when pending == stolen_done.
 */
struct pep_group {
	uint64_t pending;		/* children spawned and not finished
					   on the spawning worker (its task
					   only, not atomic) */
	uint64_t stolen_done;		/* stolen children finished by other
					   workers (atomic) */
};

#define PEP_GROUP_INIT { 0 }

/*
 * Spawn fn(arg) into group g from a task. From a thread that is not a
 * worker it runs fn(arg) at once. -ENOMEM only if a deque cannot grow.
 */
PEP_API int pep_spawn(struct pep_group *g, pep_task_fn fn, void *arg);

/* Wait for g's children, running them (or stolen work) meanwhile. */
PEP_API void pep_sync(struct pep_group *g);

/* The calling worker's index (0..workers-1), or -1 outside the scheduler. */
PEP_API int pep_sched_worker_id(void);

struct pep_sched_stats {
	uint64_t tasks;			/* tasks run */
	uint64_t spawns;		/* pep_spawn() calls on workers */
	uint64_t steals;		/* tasks taken from another deque */
	uint64_t steal_aborts;		/* lost races for a task */
	uint64_t parks;			/* times a worker went to sleep */
	uint64_t wakes;			/* futex wakes sent */
};

/* Counters summed over the workers (each exact once they are idle). */
PEP_API void pep_sched_stats(struct pep_sched *s, struct pep_sched_stats *st);

/*
 * The Chase-Lev deque on its own (the scheduler's, exposed for tests and
 * for executors that keep their own workers). Items are non-NULL pointers.
 * push and take: the owner thread only; steal: any thread.
 */
struct pep_deque;

PEP_API int pep_deque_create(struct pep_deque **out, size_t size);
PEP_API void pep_deque_destroy(struct pep_deque *d);
/* 0, or -ENOMEM when the deque had to grow and could not. */
PEP_API int pep_deque_push(struct pep_deque *d, void *item);
/* The newest item, or NULL when empty. */
PEP_API void *pep_deque_take(struct pep_deque *d);

#define PEP_DEQUE_ABORT ((void *)1)	/* lost a race: try again */

/* The oldest item, NULL when empty, or PEP_DEQUE_ABORT. */
PEP_API void *pep_deque_steal(struct pep_deque *d);

/* Items in the deque now (a snapshot; exact only for the owner). */
PEP_API size_t pep_deque_size(struct pep_deque *d);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_SCHED_H */
