/*
 * proc_priv.h - what the runner (run.c) and the long-running children
 * (stream.c) share: the child's descriptors, starting it (spawn.c),
 * stopping and reaping it, and a captured stream with its limit. Not
 * installed.
 */
#ifndef PEPITA_PROC_PRIV_H
#define PEPITA_PROC_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "proc_priv.h is pepita's own; include <pepita/proc.h> instead"
#endif

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <pepita/proc.h>

#define PEP__PROC_KILL_GRACE_MS	200

/*
 * The child's stdin, stdout and stderr (child[]) and our ends of the
 * pipes behind them (ours[]: stdin's write end, the read ends of stdout
 * and stderr; -1 where there is no pipe). All close-on-exec.
 */
struct pep__stdio {
	int child[3];
	int ours[3];
	int child_owned[3];		/* child[i] is ours to close */
};

/*
 * Make the pipes: stdin one when stdin_pipe (else /dev/null), stdout
 * always, stderr unless o->stderr_fd > 0 (then that descriptor).
 * 0 or -errno; on failure nothing is left open.
 */
int pep__stdio_open(struct pep__stdio *s, const struct pep_proc_opts *o,
		    int stdin_pipe);
/* Close the child's side (once it runs, only the child needs it). */
void pep__stdio_close_child(struct pep__stdio *s);
/* Close our ends that are still open. */
void pep__stdio_close_ours(struct pep__stdio *s);

/*
 * Start argv with s->child as its stdin/stdout/stderr, o's cwd and envp,
 * in its own process group unless PEP_PROC_SAME_PGROUP; dying with the
 * calling thread when o->die_with_parent. *pid on success; -errno of the
 * lookup or the exec (-ENOENT, -EACCES, -ENOEXEC...) or of fork.
 */
int pep__proc_start(const char *const *argv, const struct pep_proc_opts *o,
		    const struct pep__stdio *s, pid_t *pid);

/*
 * SIGTERM to the child (its group when it has one), SIGKILL after
 * PEP__PROC_KILL_GRACE_MS to whatever is left. Returns 1 when it reaped
 * the child (*status, *ru filled), 0 when the caller still has to.
 */
int pep__proc_stop(pid_t pid, int own_group, int *status, struct rusage *ru);

/*
 * Wait up to wait_ms (-1: no limit) for the child to exit: 1 when reaped
 * (*status, *ru filled), 0 when it is still running, -errno.
 */
int pep__proc_reap(pid_t pid, int wait_ms, int *status, struct rusage *ru);

/* Exit status, signal, raw status and CPU times into res. */
void pep__proc_fill_status(int status, const struct rusage *ru,
			   struct pep_proc_result *res);

/* Milliseconds left until deadline_ns (rounded up); -1 when it is 0. */
int pep__proc_remaining_ms(uint64_t deadline_ns);

/* One output stream read from its pipe and kept (or handed) up to max. */
struct pep__capture {
	int fd;
	char *buf;
	size_t len, max;
	int truncated;
	int stream;			/* 1 stdout, 2 stderr */
	const struct pep_proc_opts *o;	/* on_output set: hand pieces over */
	int failed;			/* on_output refused a piece */
};

/* Read what is there: 1 go on, 0 end of file, -1 an error or refusal. */
int pep__capture_read(struct pep__capture *c);

#endif /* PEPITA_PROC_PRIV_H */
