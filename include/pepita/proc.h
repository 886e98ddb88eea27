/*
 * pepita/proc.h - running other programs the one safe way: an argv (never
 * a shell) looked up in PATH, the exec's errno returned to the caller (so
 * "nvpmodel: not found" is -ENOENT, not a mystery exit status 127), its
 * own process group, a timeout that kills the whole group, stdout and
 * stderr captured up to a limit (the rest drained, so the child never
 * blocks), and the exit status or signal reported. Every external program
 * the project runs (nvpmodel, jetson_clocks, tegrastats, ssh) goes
 * through here; the task executors (pepita/exec.h) and the transport's
 * child connections (pepita/transport.h) are built on it.
 *
 * Threading: pep_proc_run() and pep_proc_spawn() may be called from any
 * thread. A child is started with posix_spawn (vfork speed, no copy of a
 * large parent), or with fork where it must die with the calling thread
 * (PR_SET_PDEATHSIG, which posix_spawn cannot set). Either way its signal
 * mask is empty and every signal has its default action, so a caller's
 * ignored SIGPIPE does not leak into the program.
 */
#ifndef PEPITA_PROC_H
#define PEPITA_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What pep_proc_opts.max_output == 0 keeps of each stream. */
#define PEP_PROC_MAX_OUTPUT_DEFAULT	(1u << 20)

/* pep_proc_opts.flags */
#define PEP_PROC_STDIN_PIPE	(1u << 0)	/* pep_proc_spawn: stdin is a
						   pipe; see pep_proc_take_stdin() */
#define PEP_PROC_SAME_PGROUP	(1u << 1)	/* stay in the caller's process
						   group (a program such as ssh
						   that may ask on the terminal):
						   a stop signals it alone */

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
	unsigned int flags;		/* PEP_PROC_* */
	int stderr_fd;			/* > 0: the program's stderr goes to
					   this descriptor (2: ours) instead of
					   being captured; 0: captured */
};

/*
 * on_output (pep_proc_run only): each piece of the program's stdout
 * (stream 1) and stderr (stream 2) is handed to on_output(output_arg,
 * stream, buf, len) as it arrives, in the calling thread, instead of
 * being kept: the result's out and err stay empty, and max_output still
 * caps what is handed over per stream (the rest is drained and the
 * stream marked truncated). Pieces are at most 64 KiB. A negative return
 * stops the program as cancel_fd does (killed, reported canceled).
 *
 * The program's path is found before it starts, as execvp would find it
 * (a name with a slash as it is, else along the caller's PATH, or
 * /bin:/usr/bin without one), never through a shell: a script without a
 * #! line fails with -ENOEXEC.
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
	uint64_t sys_ns;		/* children */
	int wait_status;		/* as waitpid() gave it */
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
 * Find name as the runner would: the path into buf (snprintf semantics)
 * and 0, -ENOENT when there is no such program, -EACCES when there is
 * one that may not be executed. For a caller that wants to say "not
 * found in PATH" before it offers to run something.
 */
PEP_API int pep_proc_find(const char *name, char *buf, size_t size);

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
 * -ETIMEDOUT when opts->timeout_ms since the spawn has run out, -EBADF
 * once the caller took stdout with pep_proc_take_stdout().
 */
PEP_API ssize_t pep_proc_read(struct pep_proc *p, void *buf, size_t size,
			      int wait_ms, struct pep_err *err);

/* The child's pid; also its process group id unless PEP_PROC_SAME_PGROUP. */
PEP_API pid_t pep_proc_pid(const struct pep_proc *p);

/*
 * Hand the caller our end of the child's stdin (spawned with
 * PEP_PROC_STDIN_PIPE; -1 otherwise) or of its stdout (-1 when taken
 * already), to use as a stream of its own: the caller owns the
 * descriptor (close-on-exec) and closes it; pep_proc_read() no longer
 * reads a taken stdout. Close stdin before pep_proc_wait() to let a
 * program that reads to the end of its input exit.
 */
PEP_API int pep_proc_take_stdin(struct pep_proc *p);
PEP_API int pep_proc_take_stdout(struct pep_proc *p);

/*
 * Close what is left of our ends of the child's stdin and stdout, give
 * it wait_ms to exit by itself (-1: as long as it takes; 0: not at all),
 * then stop it (SIGTERM to its group, SIGKILL after 200 ms), reap it,
 * fill res (exit status, stderr; stdout stays empty: the caller read it)
 * and free p. res may be NULL. Returns 0, or -errno from waitpid.
 */
PEP_API int pep_proc_wait(struct pep_proc *p, int wait_ms,
			  struct pep_proc_result *res, struct pep_err *err);

/*
 * pep_proc_wait() with wait_ms 0 when stop is set or opts->timeout_ms ran
 * out in pep_proc_read(), else -1. res->timed_out says which.
 */
PEP_API int pep_proc_finish(struct pep_proc *p, int stop,
			    struct pep_proc_result *res, struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_PROC_H */
