/*
 * The first executors: thread (function tasks in the calling thread),
 * process (program tasks through pep_proc_run) and simd (a range split
 * over a scheduler's workers, fork-join, each chunk a vector loop).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <pepita/exec.h>
#include <pepita/sched.h>
#include <pepita/task.h>

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000 + (uint64_t)tv.tv_usec * 1000;
}

/* The calling thread's CPU time so far. */
static void thread_cpu(uint64_t *user, uint64_t *sys)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		*user = tv_ns(ru.ru_utime);
		*sys = tv_ns(ru.ru_stime);
	} else {
		*user = *sys = 0;
	}
}

/* res->error = error, with "what: why" as the message. */
static int set_error(struct pep_task_result *res, int error, const char *what,
		     const char *why)
{
	res->error = error;
	snprintf(res->message, sizeof(res->message), "%s%s%s", what,
		 why ? ": " : "", why ? why : "");
	return error;
}

/* thread */

static int thread_run(struct pep_executor *ex, const struct pep_task *t,
		      struct pep_task_result *res, int cancel_fd)
{
	uint64_t u0, s0, u1, s1, start = pep_time_ns();
	int ret;

	thread_cpu(&u0, &s0);
	ret = t->fn(t->arg, res);
	thread_cpu(&u1, &s1);
	res->wall_ns = pep_time_ns() - start;
	res->user_ns = u1 - u0;
	res->sys_ns = s1 - s0;
	if (ret < 0 && !res->message[0])
		snprintf(res->message, sizeof(res->message), "%s: %s",
			 t->name ? t->name : "function", strerror(-ret));
	res->error = ret < 0 ? ret : 0;
	return res->error;
}

/* process */

static int process_run(struct pep_executor *ex, const struct pep_task *t,
		       struct pep_task_result *res, int cancel_fd)
{
	struct pep_proc_opts o = t->proc;
	struct pep_proc_result pr;
	struct pep_err err;
	int ret;

	o.cancel_fd = cancel_fd > 0 ? cancel_fd : 0;
	ret = pep_proc_run(t->argv, &o, &pr, &err);
	if (ret < 0) {
		res->error = ret;
		snprintf(res->message, sizeof(res->message), "%s", err.msg);
		return ret;
	}
	res->exited = pr.exited;
	res->exit_code = pr.exit_code;
	res->signaled = pr.signaled;
	res->signal_no = pr.signal_no;
	res->timed_out = pr.timed_out;
	res->out = pr.out;
	res->out_len = pr.out_len;
	res->out_truncated = pr.out_truncated;
	res->err = pr.err;
	res->err_len = pr.err_len;
	res->err_truncated = pr.err_truncated;
	res->wall_ns = pr.elapsed_ns;
	res->user_ns = pr.user_ns;
	res->sys_ns = pr.sys_ns;
	if (pr.canceled)
		return set_error(res, -ECANCELED, t->argv[0], "canceled");
	return 0;
}

/* simd */

struct range_job {
	const struct pep_task *t;
	size_t begin, end, grain;
	int cancel_fd;
	int *canceled;			/* shared by the whole range (atomic) */
	uint64_t *chunks;		/* atomic */
};

static int cancel_requested(struct range_job *j)
{
	struct pollfd p = { j->cancel_fd, POLLIN, 0 };

	if (__atomic_load_n(j->canceled, __ATOMIC_RELAXED))
		return 1;
	if (j->cancel_fd > 0 && poll(&p, 1, 0) == 1) {
		__atomic_store_n(j->canceled, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

/* Halve until a chunk is at most grain items; run the halves in parallel. */
static void range_split(void *arg)
{
	struct range_job *j = arg;
	struct pep_group g = PEP_GROUP_INIT;
	struct range_job left;

	while (j->end - j->begin > j->grain) {
		size_t mid = j->begin + (j->end - j->begin) / 2;

		left = *j;
		left.end = mid;
		j->begin = mid;
		if (pep_spawn(&g, range_split, &left) == 0) {
			/* the right half goes on here; the left may be stolen */
			range_split(j);
			pep_sync(&g);
			return;
		}
		range_split(&left);	/* could not spawn: run it here */
	}
	if (!cancel_requested(j)) {
		j->t->kernel(j->begin, j->end, j->t->arg);
		__atomic_add_fetch(j->chunks, 1, __ATOMIC_RELAXED);
	}
}

static int simd_run(struct pep_executor *ex, const struct pep_task *t,
		    struct pep_task_result *res, int cancel_fd)
{
	struct pep_sched *s = ex->priv;
	int canceled = 0;
	uint64_t chunks = 0, start = pep_time_ns();
	size_t grain = t->grain;
	struct range_job root;

	if (!grain) {
		grain = t->n / (8 * (size_t)pep_sched_workers(s));
		grain = grain ? grain : 1;
	}
	root = (struct range_job){ t, 0, t->n, grain, cancel_fd, &canceled,
				   &chunks };
	if (t->n) {
		if (pep_sched_worker_id() >= 0)
			range_split(&root);	/* already a task: fork-join here */
		else
			pep_sched_run(s, range_split, &root);
	}
	res->wall_ns = pep_time_ns() - start;
	res->value = (int64_t)chunks;
	if (canceled)
		return set_error(res, -ECANCELED, t->name ? t->name : "range",
				 "canceled");
	return 0;
}

static void free_executor(struct pep_executor *ex)
{
	free(ex);
}

static const struct pep_executor_ops thread_ops = {
	.name = "thread", .kinds = 1u << PEP_TASK_FN,
	.run = thread_run, .destroy = free_executor,
};
static const struct pep_executor_ops process_ops = {
	.name = "process", .kinds = 1u << PEP_TASK_PROC,
	.run = process_run, .destroy = free_executor,
};
static const struct pep_executor_ops simd_ops = {
	.name = "simd", .kinds = 1u << PEP_TASK_RANGE,
	.run = simd_run, .destroy = free_executor,
};

static int make(struct pep_executor **out, const struct pep_executor_ops *ops,
		void *priv, struct pep_err *err)
{
	struct pep_executor *ex = calloc(1, sizeof(*ex));

	if (!out)
		return pep_err_set(err, -EINVAL, "executor: out is NULL");
	*out = NULL;
	if (!ex)
		return pep_err_set(err, -ENOMEM, "executor %s: out of memory",
				   ops->name);
	ex->ops = ops;
	ex->priv = priv;
	*out = ex;
	return 0;
}

int pep_executor_thread(struct pep_executor **out, struct pep_err *err)
{
	return make(out, &thread_ops, NULL, err);
}

int pep_executor_process(struct pep_executor **out, struct pep_err *err)
{
	return make(out, &process_ops, NULL, err);
}

int pep_executor_simd(struct pep_executor **out, struct pep_sched *s,
		      struct pep_err *err)
{
	if (!s)
		return pep_err_set(err, -EINVAL, "executor simd: no scheduler");
	return make(out, &simd_ops, s, err);
}

int pep_executor_run(struct pep_executor *ex, const struct pep_task *t,
		     struct pep_task_result *res, int cancel_fd)
{
	struct pep_err err;
	int ret;

	memset(res, 0, sizeof(*res));
	res->backend = ex ? ex->ops->name : "none";
	ret = pep_task_check(t, &err);
	if (ret)
		return set_error(res, ret, err.msg, NULL);
	if (!ex || !(ex->ops->kinds & (1u << t->kind)))
		return set_error(res, -EINVAL, res->backend,
				 "this executor does not run this kind of task");
	res->attempts = 1;
	return ex->ops->run(ex, t, res, cancel_fd);
}

void pep_executor_destroy(struct pep_executor *ex)
{
	if (ex)
		ex->ops->destroy(ex);
}
