/*
 * pepita/exec.h - the task executors: thread, process, SIMD, remote. A
 * program task runs through the process runner (pepita/proc.h), included
 * here because a task carries its struct pep_proc_opts.
 */
#ifndef PEPITA_EXEC_H
#define PEPITA_EXEC_H

#include <pepita/core.h>
#include <pepita/proc.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Executors: the backends the pool runs tasks on (pepita/task.h). Each
 * runs one task to its end in the calling thread: "thread" calls a
 * function task, "process" runs a program task through pep_proc_run(),
 * "simd" splits a range task over a scheduler's workers. Later backends
 * (GPU, MicroVM, remote) implement the same operations.
 *
 * cancel_fd (> 0) becomes readable when the caller wants the task
 * stopped: a program is killed (its group), a range stops handing out
 * chunks; a function cannot be interrupted and runs to its end.
 *
 * Threading: run may be called from many threads at once.
 */
struct pep_task;
struct pep_task_result;
struct pep_sched;
struct pep_executor;

struct pep_executor_ops {
	const char *name;
	unsigned int kinds;		/* 1u << PEP_TASK_* it runs */
	int (*run)(struct pep_executor *ex, const struct pep_task *t,
		   struct pep_task_result *res, int cancel_fd);
	void (*destroy)(struct pep_executor *ex);
};

struct pep_executor {
	const struct pep_executor_ops *ops;
	void *priv;
};

PEP_API int pep_executor_thread(struct pep_executor **out, struct pep_err *err);
PEP_API int pep_executor_process(struct pep_executor **out, struct pep_err *err);
/* Range tasks on s's workers (s outlives the executor). */
PEP_API int pep_executor_simd(struct pep_executor **out, struct pep_sched *s,
			      struct pep_err *err);

/*
 * Program tasks on another machine: `ssh [ssh_args] host command...`
 * (command default: pepita worker --stdio), one connection per task in
 * flight, reused. host NULL runs command here instead (tests). ssh_args
 * and command must outlive the executor. A broken connection fails the
 * task with -ECONNRESET. stderr_fd > 0: where ssh's stderr goes (else
 * inherited).
 */
struct pep_remote_opts {
	const char *host;
	const char *const *ssh_args;
	const char *const *command;
	int stderr_fd;
};

PEP_API int pep_executor_remote(struct pep_executor **out,
				const struct pep_remote_opts *o,
				struct pep_err *err);

/*
 * Run t and fill res (zeroed first; res->backend set). Returns res->error:
 * 0 when the task ran (a program's exit status is in res), -EINVAL when ex
 * does not run t's kind, else why it could not run or failed.
 */
PEP_API int pep_executor_run(struct pep_executor *ex, const struct pep_task *t,
			     struct pep_task_result *res, int cancel_fd);

PEP_API void pep_executor_destroy(struct pep_executor *ex);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_EXEC_H */
