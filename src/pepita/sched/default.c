/*
 * The process-wide default scheduler: one worker per online CPU, started
 * on first use and shared by sgemm/sgemv, pools and cohete's quantizer,
 * so that a process holds one set of workers whatever it calls.
 *
 * - Creation: under a mutex on the first call; after that a call is an
 *   acquire load of one pointer.
 * - fork: a child has none of the parent's threads, so a pthread_atfork
 *   child handler forgets the parent's scheduler and the child starts its
 *   own on first use. The parent's copy is not freed in the child (its
 *   locks may be held by threads that are gone); it stays referenced from
 *   `orphan`, so leak checkers count it as reachable, not lost.
 * - exit: an atexit handler stops and joins the workers and frees the
 *   scheduler when that is safe: no holder is using it, no task is queued
 *   or running, and exit() was not called on one of its own workers (that
 *   worker would wait for itself). Otherwise the threads still using it
 *   run on during exit, so it is left whole for the kernel to reclaim.
 *   Either way no call after exit began gets it.
 *
 * Holders (pep_sched_default_hold) are counted so that the exit handler
 * never frees the scheduler under a thread that is about to submit to it:
 * a holder raises the count, then checks `exiting`; the handler sets
 * `exiting`, then reads the count (both sequentially consistent), so at
 * least one of the two sees the other.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sched_priv.h"

static _Atomic(struct pep_sched *) current;
static _Atomic long holds;
static _Atomic bool exiting;
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static struct pep_sched *orphan;

static void default_at_exit(void)
{
	struct pep_sched *s;

	pthread_mutex_lock(&create_lock);
	atomic_store(&exiting, true);
	s = atomic_load(&current);
	if (s && atomic_load(&holds) == 0 && pep__sched_stop_if_idle(s) == 0)
		atomic_store(&current, NULL);
	pthread_mutex_unlock(&create_lock);
}

/* In a forked child: none of the workers exist here. */
static void default_forget_in_child(void)
{
	struct pep_sched *s = atomic_load_explicit(&current,
						   memory_order_relaxed);

	if (s)
		orphan = s;
	atomic_store_explicit(&current, NULL, memory_order_relaxed);
	atomic_store_explicit(&holds, 0, memory_order_relaxed);
	pthread_mutex_init(&create_lock, NULL);
}

static void hooks_install(void)
{
	(void)pthread_atfork(NULL, NULL, default_forget_in_child);
	(void)atexit(default_at_exit);
}

static struct pep_sched *default_start(void)
{
	struct pep_sched *s;

	pthread_once(&hooks_once, hooks_install);
	pthread_mutex_lock(&create_lock);
	s = NULL;
	if (!atomic_load(&exiting)) {
		s = atomic_load_explicit(&current, memory_order_relaxed);
		if (!s && pep_sched_create(&s, NULL, NULL) == 0)
			atomic_store_explicit(&current, s, memory_order_release);
	}
	pthread_mutex_unlock(&create_lock);
	return s;
}

struct pep_sched *pep_sched_default(void)
{
	struct pep_sched *s;

	if (atomic_load(&exiting))
		return NULL;
	s = atomic_load_explicit(&current, memory_order_acquire);
	return s ? s : default_start();
}

struct pep_sched *pep_sched_default_hold(void)
{
	struct pep_sched *s;

	atomic_fetch_add(&holds, 1);
	s = pep_sched_default();
	if (!s)
		atomic_fetch_sub(&holds, 1);
	return s;
}

void pep_sched_default_release(struct pep_sched *s)
{
	/* A hold taken before a fork is not counted in the child. */
	if (s && s == atomic_load(&current))
		atomic_fetch_sub(&holds, 1);
}
