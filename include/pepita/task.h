/*
 * pepita/task.h - what the runtime runs, and what comes back.
 *
 * A task is one of three kinds:
 *
 * - a function: fn(arg, res) on a worker thread; it returns 0 or -errno
 *   and may leave a value and a message in res;
 * - a program: argv (looked up in PATH unless path is given) with an
 *   environment, a working directory, stdin bytes, a timeout and output
 *   limits (struct pep_proc_opts); stdout and stderr are captured;
 * - a range: kernel(begin, end, arg) over [0, n), split into chunks of at
 *   least grain items that run in parallel (the SIMD executor's kind: the
 *   kernel is a vector loop over its chunk).
 *
 * Executors (pepita/exec.h) run tasks; the pool (pepita/pool.h) queues
 * them, retries them and hands out their results.
 *
 * Threading: every function here works on the caller's own objects and
 * keeps no state, so any thread may call any of them at any time. A task
 * and what its pointers reach must stay untouched until the task is done;
 * a result belongs to whoever receives it.
 */
#ifndef PEPITA_TASK_H
#define PEPITA_TASK_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>
#include <pepita/proc.h>
#include <pepita/sched.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pep_task_kind {
	PEP_TASK_FN = 0,
	PEP_TASK_PROC = 1,
	PEP_TASK_RANGE = 2,
};

struct pep_task_result;

typedef int (*pep_task_call)(void *arg, struct pep_task_result *res);
typedef void (*pep_range_kernel)(size_t begin, size_t end, void *arg);

struct pep_task {
	enum pep_task_kind kind;
	enum pep_prio prio;
	const char *name;		/* for logs and errors; may be NULL */

	/* PEP_TASK_FN */
	pep_task_call fn;
	void *arg;

	/* PEP_TASK_PROC */
	const char *const *argv;
	struct pep_proc_opts proc;	/* env, cwd, stdin, timeout, limits */

	/* PEP_TASK_RANGE (arg is the kernel's) */
	pep_range_kernel kernel;
	size_t n;
	size_t grain;			/* 0: n / (8 x workers), at least 1 */
};

struct pep_task_result {
	uint64_t id;			/* the pool's, from 1 */
	int error;			/* 0; or -errno: could not run, fn failed,
					   canceled (-ECANCELED), breaker open
					   (-EHOSTDOWN) */
	char message[PEP_ERR_MSG_MAX];	/* why, when error != 0 */
	int64_t value;			/* a function task's */

	/* programs */
	int exited;
	int exit_code;
	int signaled;
	int signal_no;
	int timed_out;
	char *out;			/* NUL-terminated; pep_task_result_free */
	size_t out_len;
	int out_truncated;
	char *err;
	size_t err_len;
	int err_truncated;

	uint64_t wall_ns;		/* the last attempt's */
	uint64_t user_ns;		/* CPU time: programs (rusage) and  */
	uint64_t sys_ns;		/* function tasks (the thread's clock) */
	unsigned int attempts;		/* 1 + retries */
	const char *backend;		/* "thread", "process", "simd", ... */
	const char *lane;		/* the pool lane that ran it, or NULL */
};

/*
 * The task succeeded: no error, and a program exited with status 0 (not
 * killed, not timed out).
 */
PEP_API int pep_task_ok(enum pep_task_kind kind,
			const struct pep_task_result *res);

/* Free the captured output; the result may be reused. NULL: nothing. */
PEP_API void pep_task_result_free(struct pep_task_result *res);

/* Check a task before it is queued: -EINVAL naming the field. */
PEP_API int pep_task_check(const struct pep_task *t, struct pep_err *err);

/*
 * Program tasks and results on the wire (pepita worker, the remote
 * executor); the format is in src/pepita/task/wire.c. Encoders return a
 * malloc'd buffer. Decoders check every length and return -EBADMSG naming
 * the field; a decoded task owns its strings until pep_wire_task_free().
 */
#define PEP_FRAME_TASK		16	/* transport frame types */
#define PEP_FRAME_RESULT	17
/*
 * A piece of a running task's output, sent by the worker as it comes:
 * u8 stream (1 stdout, 2 stderr), then the bytes. Any number of them
 * precede the task's RESULT, whose out and err are then empty; output of
 * any size travels this way, a frame at a time.
 */
#define PEP_FRAME_OUTPUT	18

struct pep_wire_task {
	char **argv;
	char **envp;			/* NULL: inherit */
	char *cwd;			/* NULL: inherit */
	char *stdin_data;
	size_t stdin_len;
	uint32_t timeout_ms;
	size_t max_output;
};

PEP_API int pep_task_encode(const struct pep_task *t, uint8_t **out,
			    size_t *len, struct pep_err *err);
PEP_API int pep_task_decode(const void *buf, size_t len,
			    struct pep_wire_task *w, struct pep_err *err);
PEP_API void pep_wire_task_free(struct pep_wire_task *w);
/* A program task whose pointers point into w. */
PEP_API void pep_wire_task_to_task(const struct pep_wire_task *w,
				   struct pep_task *t);

PEP_API int pep_result_encode(const struct pep_task_result *r, uint8_t **out,
			      size_t *len, struct pep_err *err);
/* Fills r (its out/err malloc'd: pep_task_result_free). */
PEP_API int pep_result_decode(const void *buf, size_t len,
			      struct pep_task_result *r, struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_TASK_H */
