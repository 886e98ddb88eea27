/*
 * pepita/exec.h - running other programs the one safe way: an argv (never
 * a shell), a timeout that kills the whole process group, stdout and
 * stderr captured up to a limit (the rest drained, so the child never
 * blocks), and the exit status or signal reported. Every external program
 * the project runs (nvpmodel, jetson_clocks, tegrastats, ssh) goes through
 * here.
 *
 * Threading: pep_proc_run() may be called from any thread; it starts the
 * child with posix_spawn (vfork speed, no copy of a large parent).
 */
#ifndef PEPITA_EXEC_H
#define PEPITA_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*pep_output_fn)(void *arg, int stream, const void *buf,
			     size_t len);

struct pep_proc_opts {
	const char *const *envp;	/* NULL = inherit the environment */
	const char *cwd;		/* NULL = inherit */
	const void *stdin_data;		/* NULL = /dev/null */
	size_t stdin_len;
	uint32_t timeout_ms;		/* 0 = no limit */
	size_t max_output;		/* per stream; 0 = 1 MiB */
	int cancel_fd;			/* > 0: when readable, stop the program
					   (as a timeout does) and report it
					   canceled; 0: none (pep_proc_run) */
	int die_with_parent;		/* SIGTERM to the program if the calling
					   thread dies (a worker killed with
					   its connection); uses fork */
	pep_output_fn on_output;	/* NULL: capture; see below */
	void *output_arg;
};

/*
 * on_output (pep_proc_run only): each piece of the program's stdout
 * (stream 1) and stderr (stream 2) is handed to on_output(output_arg,
 * stream, buf, len) as it arrives, in the calling thread, instead of
 * being kept: the result's out and err stay empty, and max_output still
 * caps what is handed over per stream (the rest is drained and the
 * stream marked truncated). Pieces are at most 64 KiB. A negative return
 * stops the program as cancel_fd does (killed, reported canceled).
 */

struct pep_proc_result {
	int exited;			/* exit_code is valid */
	int exit_code;
	int signaled;			/* killed by signal_no */
	int signal_no;
	int timed_out;			/* killed because of timeout_ms */
	int canceled;			/* killed because cancel_fd was readable */
	char *out;			/* NUL-terminated; free with ..._free() */
	size_t out_len;
	int out_truncated;
	char *err;
	size_t err_len;
	int err_truncated;
	uint64_t elapsed_ns;
	uint64_t user_ns;		/* CPU time of the child and its reaped */
	uint64_t sys_ns;		/* children (pep_proc_run only) */
};

/*
 * Run argv[0] (looked up in PATH) with argv, wait for it and fill res.
 * Returns 0 when the program ran (whatever its exit status), -ENOENT or
 * -EACCES when it cannot be executed (err names it), -ENOMEM, or another
 * -errno from fork/pipe. The child gets its own process group; a timeout
 * kills that group (SIGTERM, then SIGKILL after 200 ms).
 */
PEP_API int pep_proc_run(const char *const *argv,
			 const struct pep_proc_opts *opts,
			 struct pep_proc_result *res, struct pep_err *err);

/* Free the captured output. res may be zeroed or NULL. */
PEP_API void pep_proc_result_free(struct pep_proc_result *res);

/*
 * A program that runs until told to stop and whose stdout is read as it
 * comes (tegrastats, a log follower): pep_proc_spawn() starts it like
 * pep_proc_run() does (argv, own process group, stdin from /dev/null;
 * stdin_data is not supported), pep_proc_read() returns its stdout while
 * keeping up to max_output of its stderr, and pep_proc_finish() stops it
 * if asked, reaps it and reports. The child gets SIGTERM if the thread
 * that spawned it dies first, so a crashed caller leaves nothing behind.
 *
 * Threading: one thread at a time per handle.
 */
struct pep_proc;

/* -ENOENT or -EACCES when argv[0] cannot be executed (err names it). */
PEP_API int pep_proc_spawn(const char *const *argv,
			   const struct pep_proc_opts *opts,
			   struct pep_proc **out, struct pep_err *err);

/*
 * Up to size bytes of the child's stdout. Waits at most wait_ms (-1: no
 * limit) and returns the byte count, 0 at end of file (the child closed
 * stdout, usually by exiting), -EAGAIN when wait_ms passed without data,
 * -EINTR when a signal arrived (check your flags and call again),
 * -ETIMEDOUT when opts->timeout_ms since the spawn has run out.
 */
PEP_API ssize_t pep_proc_read(struct pep_proc *p, void *buf, size_t size,
			      int wait_ms, struct pep_err *err);

/* The child's pid, which is also its process group id. */
PEP_API pid_t pep_proc_pid(const struct pep_proc *p);

/*
 * Stop the child when stop is set (SIGTERM to its group, SIGKILL after
 * 200 ms), wait for it, fill res (exit status, stderr; stdout stays
 * empty: it was read through pep_proc_read) and free p. res may be NULL.
 * Returns 0, or -errno from waitpid.
 */
PEP_API int pep_proc_finish(struct pep_proc *p, int stop,
			    struct pep_proc_result *res, struct pep_err *err);

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
