/*
 * The work-stealing scheduler: N worker threads, each owning a Chase-Lev
 * deque of task frames, plus one mutex-protected FIFO per priority for
 * work submitted with pep_sched_submit().
 *
 * Spawn cost is the point (fib(30) is 1.6M spawns), so the spawn and sync
 * paths take no lock, make no system call and do no atomic
 * read-modify-write unless a child was stolen:
 *
 * - Frames. A spawn takes a fixed-size frame from the worker's own free
 *   list (slabs of FRAMES_PER_SLAB, never malloc per spawn) and pushes a
 *   pointer to it. Whoever runs a frame copies fn/arg/group out and frees
 *   it first: the owner to its free list (so LIFO reuse keeps it hot), a
 *   thief onto the owner's remote_free stack, which the owner drains in
 *   one exchange when its own list runs dry.
 *
 * - Counting. A group counts spawns minus children its own worker ran in
 *   a plain field (only the spawning task touches it); a thief finishing a
 *   child adds one to stolen_done with release. sync is done when the two
 *   are equal.
 *
 * - Sync. pep_sync() takes its children back from the bottom of its own
 *   deque and runs them. When one was stolen (take finds nothing), it
 *   helps: it steals from random victims and runs what it gets, nested on
 *   its own stack, until the thief reports. A stolen child is always the
 *   oldest frame in the deque, so nothing of an enclosing task is left
 *   below it to run by mistake; helping runs only tasks that are
 *   themselves fork-join work and end without waiting on anything outside
 *   their own children, so it cannot deadlock. Sync does not pick up
 *   submitted tasks: a long detached task would delay the parent.
 *
 * - Finding work (idle worker loop): own deque, then the injection
 *   queues high, normal, low, then one pass over the other deques from a
 *   random start (xorshift per worker). Own deque first because its frames
 *   are children someone is syncing on; injection before stealing so that
 *   submitted work starts promptly and priorities hold even while a
 *   fork-join computation is spreading.
 *
 * - Parking. An idle worker is "searching" while it spins; after
 *   SPIN_ROUNDS empty passes it puts itself on the idle stack, stops
 *   searching, re-checks every queue (the Dekker half that pairs with the
 *   producer's check) and sleeps on its own futex word. A producer wakes
 *   one sleeper only when no worker is searching: one wake per burst. The
 *   woken worker counts as searching (the waker counts it, under the idle
 *   lock, so tokens cannot leak); when the last searcher finds work, it
 *   wakes the next, so a burst fans out one worker at a time (Go's
 *   scheduler does the same).
 *
 *   pep_sched_submit() issues a seq_cst fence before its check, so a
 *   submitted task is never left with every worker asleep. pep_spawn()
 *   does not (a fence per spawn would double its cost): in a narrow race
 *   a worker may park just as a child is pushed and not be woken. Nothing
 *   is lost, since the spawning worker takes its own child back in
 *   pep_sync(); only that child's parallelism is, until the next spawn.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core_priv.h"
#include "sched_priv.h"

#define FRAMES_PER_SLAB	256
#define MAX_WORKERS	4096
#define MAX_DEQUE_SIZE	(1u << 28)
#define SPIN_ROUNDS	128		/* empty passes before parking */
#define YIELD_ROUNDS	96		/* ... of which the last are yields */
#define SYNC_SPINS	64		/* sync's empty passes before yielding */
#define NPRIO		3

struct frame {
	pep_task_fn fn;
	void *arg;
	struct pep_group *group;
	struct frame *next;		/* on a free list */
} __attribute__((aligned(PEP_CACHELINE)));

struct slab {
	struct frame f[FRAMES_PER_SLAB];
	struct slab *next;
};

struct worker_stats {
	_Atomic uint64_t tasks, spawns, steals, steal_aborts, parks, wakes;
};

struct worker {
	struct pep_deque dq;
	struct pep_sched *s;
	struct frame *free;		/* owner only */
	struct slab *slabs;
	uint64_t rng;
	unsigned int id;
	bool searching;			/* counted in s->searching */
	bool in_idle;			/* on s->idle; under s->idle_lock */
	bool started;
	pthread_t thread;
	struct worker_stats st;
	/* Written by thieves. */
	_Alignas(PEP_CACHELINE) _Atomic(struct frame *) remote_free;
	/* 0 while parked; set to 1 (under idle_lock) by whoever wakes it. */
	_Alignas(PEP_CACHELINE) _Atomic uint32_t park_word;
};

struct inj_node {
	pep_task_fn fn;
	void *arg;
	struct inj_node *next;
};

struct pep_sched {
	struct worker *w;
	unsigned int nworkers;

	/* Read on every spawn: keep the line for the two counters alone. */
	_Alignas(PEP_CACHELINE) _Atomic unsigned int searching;
	_Atomic unsigned int nidle;

	_Alignas(PEP_CACHELINE) pthread_mutex_t idle_lock;
	struct worker **idle;		/* stack of parked workers */
	unsigned int idle_top;
	_Atomic bool stop;		/* set under idle_lock */
	_Atomic uint64_t ext_wakes;	/* wakes sent by non-workers */

	_Alignas(PEP_CACHELINE) pthread_mutex_t inj_lock;
	struct inj_node *head[NPRIO], *tail[NPRIO];
	struct inj_node *pool;		/* spare nodes */
	bool shutting;
	_Atomic uint64_t inj_count;	/* queued, for lock-free probes */

	/* Submitted tasks queued or running; a futex word for wait_idle. */
	_Alignas(PEP_CACHELINE) _Atomic uint32_t outstanding;
	_Atomic uint32_t idle_waiters;
};

/* What a worker found to run, already copied out of its frame or node. */
enum job_kind { JOB_LOCAL, JOB_STOLEN, JOB_SUBMITTED };

struct job {
	pep_task_fn fn;
	void *arg;
	struct pep_group *group;
	enum job_kind kind;
};

static __thread struct worker *tls_worker
	__attribute__((tls_model("initial-exec")));

static inline void stat_inc(_Atomic uint64_t *c)
{
	/* Owner-written: a plain increment, atomic only so readers are safe. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + 1, memory_order_relaxed);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- frames ------------------------------------------------------- */

static struct frame *frames_refill(struct worker *w)
{
	struct frame *f;
	struct slab *sl;
	int i;

	f = atomic_exchange_explicit(&w->remote_free, NULL,
				     memory_order_acquire);
	if (f)
		return f;
	sl = aligned_alloc(PEP_CACHELINE, sizeof(*sl));
	if (!sl)
		return NULL;
	for (i = 0; i < FRAMES_PER_SLAB - 1; i++)
		sl->f[i].next = &sl->f[i + 1];
	sl->f[FRAMES_PER_SLAB - 1].next = NULL;
	sl->next = w->slabs;
	w->slabs = sl;
	return &sl->f[0];
}

/* A thief hands a frame back to its owner. */
static void frame_free_remote(struct worker *owner, struct frame *f)
{
	struct frame *head = atomic_load_explicit(&owner->remote_free,
						  memory_order_relaxed);

	do {
		f->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&owner->remote_free,
			&head, f, memory_order_release, memory_order_relaxed));
}

/* ---- parking ------------------------------------------------------ */

static void start_searching(struct worker *w)
{
	w->searching = true;
	atomic_fetch_add(&w->s->searching, 1);
}

static void wake_one(struct pep_sched *s, struct worker *waker)
{
	struct worker *w;

	pthread_mutex_lock(&s->idle_lock);
	if (s->idle_top == 0 || atomic_load(&s->searching) != 0) {
		pthread_mutex_unlock(&s->idle_lock);
		return;
	}
	w = s->idle[--s->idle_top];
	w->in_idle = false;
	atomic_fetch_sub(&s->nidle, 1);
	/* Count it as searching now, so the next producer does not wake
	 * another for the same burst. */
	atomic_fetch_add(&s->searching, 1);
	atomic_store_explicit(&w->park_word, 1, memory_order_release);
	pthread_mutex_unlock(&s->idle_lock);
	futex_wake(&w->park_word, 1);
	if (waker)
		stat_inc(&waker->st.wakes);
	else
		atomic_fetch_add_explicit(&s->ext_wakes, 1,
					  memory_order_relaxed);
}

/* Cheap enough for every spawn: two loads of a line that rarely changes. */
static inline void notify(struct pep_sched *s, struct worker *waker)
{
	if (atomic_load_explicit(&s->searching, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&s->nidle, memory_order_relaxed) != 0)
		wake_one(s, waker);
}

static void stop_searching(struct worker *w)
{
	w->searching = false;
	/* The last searcher found work: there may be more, pass it on. */
	if (atomic_fetch_sub(&w->s->searching, 1) == 1)
		notify(w->s, w);
}

static bool work_visible(struct pep_sched *s)
{
	unsigned int i;

	if (atomic_load(&s->inj_count))
		return true;
	for (i = 0; i < s->nworkers; i++)
		if (dq_size(&s->w[i].dq) > 0)
			return true;
	return false;
}

/* Work appeared while parking: undo it, unless a waker already did. */
static void unpark_self(struct worker *w)
{
	struct pep_sched *s = w->s;
	unsigned int i;

	pthread_mutex_lock(&s->idle_lock);
	if (!w->in_idle) {
		/* Popped by a waker, who counted us as searching. */
		pthread_mutex_unlock(&s->idle_lock);
		w->searching = true;
		return;
	}
	for (i = 0; s->idle[i] != w; i++)
		;
	s->idle[i] = s->idle[--s->idle_top];
	w->in_idle = false;
	atomic_fetch_sub(&s->nidle, 1);
	pthread_mutex_unlock(&s->idle_lock);
	start_searching(w);
}

/* Sleep until woken; false when the scheduler is stopping. */
static bool park(struct worker *w)
{
	struct pep_sched *s = w->s;

	pthread_mutex_lock(&s->idle_lock);
	if (atomic_load(&s->stop)) {
		pthread_mutex_unlock(&s->idle_lock);
		return false;
	}
	w->in_idle = true;
	s->idle[s->idle_top++] = w;
	atomic_store_explicit(&w->park_word, 0, memory_order_relaxed);
	atomic_fetch_add(&s->nidle, 1);
	pthread_mutex_unlock(&s->idle_lock);

	/* Stop searching, then look once more: a producer that saw us still
	 * searching did not wake anyone, so its work must be visible here. */
	w->searching = false;
	atomic_fetch_sub(&s->searching, 1);
	dq_fence(memory_order_seq_cst);
	if (work_visible(s)) {
		unpark_self(w);
		return true;
	}
	stat_inc(&w->st.parks);
	while (!atomic_load_explicit(&w->park_word, memory_order_acquire))
		futex_wait(&w->park_word, 0);
	w->searching = true;
	return !atomic_load(&s->stop);
}

/* ---- finding and running work ------------------------------------- */

static inline void job_from_frame(struct job *j, struct frame *f,
				  enum job_kind kind)
{
	j->fn = f->fn;
	j->arg = f->arg;
	j->group = f->group;
	j->kind = kind;
}

static bool take_local(struct worker *w, struct job *j)
{
	struct frame *f = dq_take(&w->dq);

	if (!f)
		return false;
	job_from_frame(j, f, JOB_LOCAL);
	f->next = w->free;
	w->free = f;
	return true;
}

/* One pass over the other workers, from a random one. */
static bool steal_round(struct worker *w, struct job *j)
{
	struct pep_sched *s = w->s;
	unsigned int n = s->nworkers, i, v;
	struct frame *f;

	if (n < 2)
		return false;
	v = (unsigned int)(xorshift(&w->rng) % n);
	for (i = 0; i < n; i++, v = v + 1 == n ? 0 : v + 1) {
		if (v == w->id)
			continue;
		f = dq_steal(&s->w[v].dq);
		if (f == PEP_DEQUE_ABORT) {
			stat_inc(&w->st.steal_aborts);
			continue;
		}
		if (!f)
			continue;
		stat_inc(&w->st.steals);
		job_from_frame(j, f, JOB_STOLEN);
		frame_free_remote(&s->w[v], f);
		return true;
	}
	return false;
}

static bool take_submitted(struct pep_sched *s, struct job *j)
{
	struct inj_node *n = NULL;
	int p;

	if (!atomic_load_explicit(&s->inj_count, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&s->inj_lock);
	for (p = 0; p < NPRIO && !n; p++) {
		n = s->head[p];
		if (!n)
			continue;
		s->head[p] = n->next;
		if (!s->head[p])
			s->tail[p] = NULL;
	}
	if (n) {
		j->fn = n->fn;
		j->arg = n->arg;
		j->group = NULL;
		j->kind = JOB_SUBMITTED;
		n->next = s->pool;
		s->pool = n;
		atomic_fetch_sub_explicit(&s->inj_count, 1,
					  memory_order_relaxed);
	}
	pthread_mutex_unlock(&s->inj_lock);
	return n != NULL;
}

static void submitted_done(struct pep_sched *s)
{
	if (atomic_fetch_sub(&s->outstanding, 1) == 1 &&
	    atomic_load(&s->idle_waiters))
		futex_wake(&s->outstanding, INT_MAX);
}

static void run_job(struct worker *w, const struct job *j)
{
	stat_inc(&w->st.tasks);
	j->fn(j->arg);
	switch (j->kind) {
	case JOB_LOCAL:
		j->group->pending--;
		break;
	case JOB_STOLEN:
		/* The child's writes before the owner's sync returns. */
		__atomic_fetch_add(&j->group->stolen_done, 1,
				   __ATOMIC_RELEASE);
		break;
	case JOB_SUBMITTED:
		submitted_done(w->s);
		break;
	}
}

static bool find_job(struct worker *w, struct job *j)
{
	return take_local(w, j) || take_submitted(w->s, j) ||
	       steal_round(w, j);
}

static void idle_pause(unsigned int round)
{
	if (round < SPIN_ROUNDS - YIELD_ROUNDS) {
		for (int i = 0; i < 16; i++)
			pep__cpu_relax();
	} else {
		sched_yield();
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pep_sched *s = w->s;
	unsigned int round = 0;
	struct job j;

	tls_worker = w;
	for (;;) {
		if (find_job(w, &j)) {
			if (w->searching)
				stop_searching(w);
			run_job(w, &j);
			round = 0;
			continue;
		}
		if (atomic_load_explicit(&s->stop, memory_order_acquire))
			break;
		if (!w->searching)
			start_searching(w);
		if (++round < SPIN_ROUNDS) {
			idle_pause(round);
			continue;
		}
		round = 0;
		if (!park(w))
			break;
	}
	return NULL;
}

/* ---- fork-join ---------------------------------------------------- */

int pep_spawn(struct pep_group *g, pep_task_fn fn, void *arg)
{
	struct worker *w = tls_worker;
	struct frame *f;

	if (!w) {
		fn(arg);
		return 0;
	}
	f = w->free;
	if (__builtin_expect(!f, 0)) {
		f = frames_refill(w);
		if (!f)
			return -ENOMEM;
	}
	w->free = f->next;
	f->fn = fn;
	f->arg = arg;
	f->group = g;
	if (__builtin_expect(dq_push(&w->dq, f) < 0, 0)) {
		f->next = w->free;
		w->free = f;
		return -ENOMEM;
	}
	g->pending++;
	stat_inc(&w->st.spawns);
	notify(w->s, w);
	return 0;
}

/* A child was stolen: run someone else's work until the thief reports. */
static void sync_help(struct worker *w, unsigned int *fails)
{
	struct job j;

	if (steal_round(w, &j)) {
		*fails = 0;
		run_job(w, &j);
		return;
	}
	if (++*fails < SYNC_SPINS)
		pep__cpu_relax();
	else
		sched_yield();
}

void pep_sync(struct pep_group *g)
{
	struct worker *w = tls_worker;
	unsigned int fails = 0;
	struct job j;

	if (!w)
		return;
	while (g->pending != __atomic_load_n(&g->stolen_done,
					     __ATOMIC_ACQUIRE)) {
		if (take_local(w, &j))
			run_job(w, &j);
		else
			sync_help(w, &fails);
	}
	g->pending = 0;
	__atomic_store_n(&g->stolen_done, 0, __ATOMIC_RELAXED);
}

int pep_sched_worker_id(void)
{
	return tls_worker ? (int)tls_worker->id : -1;
}

/* ---- submitted tasks ---------------------------------------------- */

int pep_sched_submit(struct pep_sched *s, pep_task_fn fn, void *arg,
		     enum pep_prio prio)
{
	struct inj_node *n;

	if (!fn || (unsigned int)prio >= NPRIO)
		return -EINVAL;
	pthread_mutex_lock(&s->inj_lock);
	if (s->shutting) {
		pthread_mutex_unlock(&s->inj_lock);
		return -ESHUTDOWN;
	}
	n = s->pool;
	if (n)
		s->pool = n->next;
	else if (!(n = malloc(sizeof(*n)))) {
		pthread_mutex_unlock(&s->inj_lock);
		return -ENOMEM;
	}
	n->fn = fn;
	n->arg = arg;
	n->next = NULL;
	if (s->tail[prio])
		s->tail[prio]->next = n;
	else
		s->head[prio] = n;
	s->tail[prio] = n;
	atomic_fetch_add(&s->outstanding, 1);
	atomic_fetch_add(&s->inj_count, 1);
	pthread_mutex_unlock(&s->inj_lock);
	/* Pairs with park(): either a parker sees the task or we see it. */
	dq_fence(memory_order_seq_cst);
	notify(s, tls_worker && tls_worker->s == s ? tls_worker : NULL);
	return 0;
}

void pep_sched_wait_idle(struct pep_sched *s)
{
	uint32_t v;

	while ((v = atomic_load(&s->outstanding)) != 0) {
		atomic_fetch_add(&s->idle_waiters, 1);
		/* The kernel re-checks the word, so a drop to 0 after our
		 * load makes the wait return at once. */
		futex_wait(&s->outstanding, v);
		atomic_fetch_sub(&s->idle_waiters, 1);
	}
}

struct run_req {
	pep_task_fn fn;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void run_trampoline(void *arg)
{
	struct run_req *r = arg;

	r->fn(r->arg);
	/* A mutex, not a futex word: the waiter frees r as soon as it sees
	 * done, and pthread guarantees unlock is finished with the mutex. */
	pthread_mutex_lock(&r->lock);
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void pep_sched_run(struct pep_sched *s, pep_task_fn fn, void *arg)
{
	struct run_req r = { .fn = fn, .arg = arg };

	/* Already in a task of s: its groups sync inside it anyway. */
	if (tls_worker && tls_worker->s == s) {
		fn(arg);
		return;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (pep_sched_submit(s, run_trampoline, &r, PEP_PRIO_NORMAL) < 0) {
		/* Shutting down: run it here, spawns run inline. */
		fn(arg);
	} else {
		pthread_mutex_lock(&r.lock);
		while (!r.done)
			pthread_cond_wait(&r.cond, &r.lock);
		pthread_mutex_unlock(&r.lock);
	}
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
}

/* ---- life cycle --------------------------------------------------- */

static int sched_workers_init(struct pep_sched *s, size_t deque_size)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];

		ret = pep__deque_init(&w->dq, deque_size);
		if (ret < 0)
			return ret;
		w->s = s;
		w->id = i;
		w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
		atomic_init(&w->remote_free, NULL);
		atomic_init(&w->park_word, 0);
	}
	return 0;
}

static void sched_free(struct pep_sched *s)
{
	struct inj_node *n;
	unsigned int i;

	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];
		struct slab *sl;

		while ((sl = w->slabs)) {
			w->slabs = sl->next;
			free(sl);
		}
		if (atomic_load_explicit(&w->dq.array, memory_order_relaxed))
			pep__deque_fini(&w->dq);
	}
	while ((n = s->pool)) {
		s->pool = n->next;
		free(n);
	}
	pthread_mutex_destroy(&s->idle_lock);
	pthread_mutex_destroy(&s->inj_lock);
	free(s->idle);
	free(s->w);
	free(s);
}

static void sched_stop(struct pep_sched *s)
{
	unsigned int i;

	pthread_mutex_lock(&s->idle_lock);
	atomic_store(&s->stop, true);
	while (s->idle_top) {
		struct worker *w = s->idle[--s->idle_top];

		w->in_idle = false;
		atomic_store_explicit(&w->park_word, 1, memory_order_release);
		futex_wake(&w->park_word, 1);
	}
	pthread_mutex_unlock(&s->idle_lock);
	for (i = 0; i < s->nworkers; i++)
		if (s->w[i].started)
			pthread_join(s->w[i].thread, NULL);
}

static struct pep_sched *sched_alloc(unsigned int n)
{
	struct pep_sched *s;

	s = aligned_alloc(PEP_CACHELINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->nworkers = n;
	s->w = aligned_alloc(PEP_CACHELINE, n * sizeof(*s->w));
	s->idle = calloc(n, sizeof(*s->idle));
	if (!s->w || !s->idle) {
		free(s->w);
		free(s->idle);
		free(s);
		return NULL;
	}
	memset(s->w, 0, n * sizeof(*s->w));
	pthread_mutex_init(&s->idle_lock, NULL);
	pthread_mutex_init(&s->inj_lock, NULL);
	return s;
}

int pep_sched_create(struct pep_sched **out, const struct pep_sched_opts *opts,
		     struct pep_err *err)
{
	struct pep_sched_opts o = opts ? *opts : (struct pep_sched_opts){ 0 };
	struct pep_sched *s;
	unsigned int i;
	long ncpu;
	int ret;

	if (!o.workers) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = ncpu > 0 ? (unsigned int)ncpu : 1;
		if (o.workers > MAX_WORKERS)
			o.workers = MAX_WORKERS;
	}
	if (o.workers > MAX_WORKERS)
		return pep_err_set(err, -EINVAL, "sched: %u workers (at most %u)",
				   o.workers, MAX_WORKERS);
	if (o.deque_size > MAX_DEQUE_SIZE)
		return pep_err_set(err, -EINVAL,
				   "sched: deque_size %u (at most %u)",
				   o.deque_size, MAX_DEQUE_SIZE);
	s = sched_alloc(o.workers);
	if (!s)
		return pep_err_set(err, -ENOMEM, "sched: out of memory");
	ret = sched_workers_init(s, o.deque_size);
	if (ret < 0) {
		sched_free(s);
		return pep_err_set(err, ret, "sched: out of memory for deques");
	}
	for (i = 0; i < s->nworkers; i++) {
		ret = pthread_create(&s->w[i].thread, NULL, worker_main,
				     &s->w[i]);
		if (ret) {
			sched_stop(s);
			sched_free(s);
			return pep_err_set(err, -EAGAIN,
					   "sched: start worker %u: %s", i,
					   strerror(ret));
		}
		s->w[i].started = true;
		/* Named before create returns, so that top -H and
		 * /proc/<pid>/task tell the workers apart at once. */
		(void)pthread_setname_np(s->w[i].thread, "pep-sched");
	}
	*out = s;
	return 0;
}

void pep_sched_destroy(struct pep_sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->inj_lock);
	s->shutting = true;
	pthread_mutex_unlock(&s->inj_lock);
	pep_sched_wait_idle(s);
	sched_stop(s);
	sched_free(s);
}

int pep__sched_stop_if_idle(struct pep_sched *s)
{
	if (tls_worker && tls_worker->s == s)
		return -EDEADLK;
	pthread_mutex_lock(&s->inj_lock);
	if (atomic_load(&s->outstanding) != 0) {
		pthread_mutex_unlock(&s->inj_lock);
		return -EBUSY;
	}
	s->shutting = true;
	pthread_mutex_unlock(&s->inj_lock);
	sched_stop(s);
	sched_free(s);
	return 0;
}

unsigned int pep_sched_workers(const struct pep_sched *s)
{
	return s->nworkers;
}

void pep_sched_stats(struct pep_sched *s, struct pep_sched_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < s->nworkers; i++) {
		struct worker_stats *ws = &s->w[i].st;

		st->tasks += atomic_load_explicit(&ws->tasks,
						  memory_order_relaxed);
		st->spawns += atomic_load_explicit(&ws->spawns,
						   memory_order_relaxed);
		st->steals += atomic_load_explicit(&ws->steals,
						   memory_order_relaxed);
		st->steal_aborts += atomic_load_explicit(&ws->steal_aborts,
							 memory_order_relaxed);
		st->parks += atomic_load_explicit(&ws->parks,
						  memory_order_relaxed);
		st->wakes += atomic_load_explicit(&ws->wakes,
						  memory_order_relaxed);
	}
	st->wakes += atomic_load_explicit(&s->ext_wakes, memory_order_relaxed);
}
