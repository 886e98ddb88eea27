/*
 * sched-default.c - the process-wide default scheduler: one set of
 * workers however many threads ask for it first, held against exit, a
 * set of its own in a forked child, and exit: from one of its workers,
 * while another thread keeps it busy, and from an atexit handler that
 * runs after it is gone (no default then, and sgemm still answers on the
 * calling thread).
 *
 * Exits happen in forked children, each waited for with a deadline, so a
 * hang fails the test instead of stalling it. Workers are counted by
 * name in /proc/self/task (the scheduler names them "pep-sched").
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pepita/sched.h>
#include <pepita/simd.h>

#include "harness.h"

/* Threads of this process named "pep-sched". */
static int sched_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[64], comm[16] = "";
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd >= 0 && read(fd, comm, sizeof(comm) - 1) > 0)
			n += strcmp(comm, "pep-sched\n") == 0;
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * fn in a forked child; its exit status, or -1 when it did not end within
 * ten seconds (then it is killed).
 */
static int in_child(int (*fn)(void))
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn());
	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

#define RACERS 8

static void *ask(void *arg)
{
	*(struct pep_sched **)arg = pep_sched_default();
	return NULL;
}

/* First use from many threads at once: one scheduler, one set. */
static int child_first_use_race(void)
{
	struct pep_sched *seen[RACERS];
	pthread_t t[RACERS];

	CHECK(sched_threads() == 0);
	for (int i = 0; i < RACERS; i++)
		CHECK(pthread_create(&t[i], NULL, ask, &seen[i]) == 0);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RACERS; i++)
		CHECK(seen[i] && seen[i] == seen[0]);
	CHECK(pep_sched_default() == seen[0]);
	CHECK(pep_sched_workers(seen[0]) >= 1);
	CHECK(sched_threads() == (int)pep_sched_workers(seen[0]));
	return T_PASS;
}

static int test_first_use_race(void)
{
	CHECK(in_child(child_first_use_race) == T_PASS);
	return T_PASS;
}

static void add_one(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static int test_hold(void)
{
	struct pep_sched *s = pep_sched_default_hold();
	int ran = 0;

	CHECK(s && s == pep_sched_default());
	for (int i = 0; i < 100; i++)
		CHECK(pep_sched_submit(s, add_one, &ran, PEP_PRIO_NORMAL) == 0);
	pep_sched_wait_idle(s);
	CHECK(ran == 100);
	pep_sched_default_release(s);
	pep_sched_default_release(NULL);
	return T_PASS;
}

static struct pep_sched *parents;

static int child_own_set(void)
{
	struct pep_sched *s;
	int ran = 0;

	if (sched_threads() != 0)
		return 1;
	s = pep_sched_default();
	if (!s || s == parents)
		return 2;
	if (pep_sched_submit(s, add_one, &ran, PEP_PRIO_HIGH) != 0)
		return 3;
	pep_sched_wait_idle(s);
	return ran == 1 && sched_threads() == (int)pep_sched_workers(s) ? 0 : 4;
}

static int test_fork(void)
{
	parents = pep_sched_default();
	CHECK(in_child(child_own_set) == 0);
	CHECK(pep_sched_default() == parents);
	return T_PASS;
}

static void exit_7(void *arg)
{
	(void)arg;
	exit(7);
}

/* exit() on a worker: the exit handler must not wait for that worker. */
static int child_exit_on_worker(void)
{
	if (pep_sched_submit(pep_sched_default(), exit_7, NULL,
			     PEP_PRIO_NORMAL) != 0)
		return 1;
	for (;;)
		pause();
}

static int test_exit_on_worker(void)
{
	CHECK(in_child(child_exit_on_worker) == 7);
	return T_PASS;
}

static void spin_a_while(void *arg)
{
	struct timespec t = { 0, 1000 * 1000 };

	(void)arg;
	nanosleep(&t, NULL);
}

/* Another thread keeps submitting: the exit handler must let it be. */
static void *keep_busy(void *arg)
{
	(void)arg;
	for (;;) {
		struct pep_sched *s = pep_sched_default_hold();

		if (!s)
			return NULL;
		for (int i = 0; i < 4; i++)
			if (pep_sched_submit(s, spin_a_while, NULL,
					     PEP_PRIO_LOW) != 0)
				break;
		pep_sched_default_release(s);
	}
}

static int child_exit_while_busy(void)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };
	pthread_t th;

	if (pthread_create(&th, NULL, keep_busy, NULL) != 0)
		return 1;
	nanosleep(&t, NULL);
	exit(5);
}

static int test_exit_while_busy(void)
{
	CHECK(in_child(child_exit_while_busy) == 5);
	return T_PASS;
}

/*
 * Registered before the default exists, so it runs after the default's
 * exit handler: the workers are gone and no call gets a scheduler.
 */
static void after_teardown(void)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	float a[4] = { 1, 2, 3, 4 }, c[4] = { 0 };
	int ok;

	/* Joined, the workers may take a moment to leave /proc (qemu-user). */
	for (int i = 0; i < 200 && sched_threads() != 0; i++)
		nanosleep(&tick, NULL);
	ok = sched_threads() == 0 && pep_sched_default() == NULL &&
	     pep_sched_default_hold() == NULL &&
	     pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, 2, 2, 2,
		       1.0f, a, 2, a, 2, 0.0f, c, 2) == 0 &&
	     c[0] == 7 && c[1] == 10 && c[2] == 15 && c[3] == 22;
	_exit(ok ? 0 : 9);
}

static int child_use_after_exit(void)
{
	if (atexit(after_teardown) != 0 || !pep_sched_default())
		return 1;
	/* Threaded, so the sgemm in after_teardown would want workers. */
	pep_simd_set_threads(4);
	exit(3);
}

static int test_after_exit(void)
{
	CHECK(in_child(child_use_after_exit) == 0);
	return T_PASS;
}

/*
 * ThreadSanitizer stops a forked child of a process that has threads as
 * soon as the child starts one of its own: the checks that fork such a
 * parent run in every other build.
 */
#if defined(__SANITIZE_THREAD__)
#define FORKS_WITH_THREADS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FORKS_WITH_THREADS 0
#endif
#endif
#ifndef FORKS_WITH_THREADS
#define FORKS_WITH_THREADS 1
#endif

int main(void)
{
	int rc = T_PASS;

	if (access("/proc/self/task", R_OK) != 0) {
		printf("SKIP: no /proc/self/task\n");
		return T_SKIP;
	}
	/* First, in children of a process that has no default yet. */
	t_run("first use from many threads", test_first_use_race, &rc);
	t_run("after its exit handler", test_after_exit, &rc);
	t_run("held and released", test_hold, &rc);
	if (!FORKS_WITH_THREADS) {
		printf("skip forked child, exit() on a worker, exit() while "
		       "busy: they fork a process with threads, which "
		       "ThreadSanitizer does not allow\n");
		return rc;
	}
	t_run("a forked child starts its own", test_fork, &rc);
	t_run("exit() on one of its workers", test_exit_on_worker, &rc);
	t_run("exit() while another thread uses it", test_exit_while_busy,
	      &rc);
	return rc;
}
