/*
 * Running tegrastats and taking its output a line at a time, as it prints
 * them (once per interval), until it ends or is stopped. The program runs
 * through pepita's proc module (argv, its own process group, stopped with
 * SIGTERM and reaped); a captured tree's root goes to it as
 * COHETE_SYSROOT in its environment, not ours, for the simulator the
 * tests run in its place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/thermal.h>

#include "internal.h"

/* Longer than any line tegrastats prints: a longer one is dropped. */
#define LINE_BUF	65536

struct coh_tegrastats_run {
	struct pep_proc *proc;
	char program[256];
	char **envp;			/* ours, COHETE_SYSROOT set or not */
	char sysroot_var[4200];		/* "COHETE_SYSROOT=<root>" */
	char buf[LINE_BUF];
	size_t len;			/* bytes in buf */
	size_t next;			/* where the next line starts */
	int ended;			/* its output reached end of file */
};

int coh_tegrastats_start(struct coh_tegrastats_run **out,
			 const struct coh_tegrastats_run_opts *o,
			 struct pep_err *err)
{
	struct coh_tegrastats_run *r = calloc(1, sizeof(*r));
	char interval[24];
	const char *argv[] = { r ? r->program : NULL, "--interval", interval, NULL };
	struct pep_proc_opts po = { 0 };
	int ret;

	*out = NULL;
	if (!r)
		return pep_err_set(err, -ENOMEM, "tegrastats: out of memory");
	snprintf(r->program, sizeof(r->program), "%s",
		 o && o->program ? o->program : "tegrastats");
	snprintf(interval, sizeof(interval), "%ld",
		 o && o->interval_ms > 0 ? o->interval_ms : 1000);
	if (o && o->sr) {
		r->envp = coh__child_env(o->sr, r->sysroot_var,
					 sizeof(r->sysroot_var));
		if (!r->envp) {
			free(r);
			return pep_err_set(err, -ENOMEM, "tegrastats: out of memory");
		}
		po.envp = (const char *const *)r->envp;
	}
	ret = pep_proc_spawn(argv, &po, &r->proc, err);
	if (ret < 0) {
		free(r->envp);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* The next whole line already in buf, NUL-terminated, or NULL. */
static const char *take_line(struct coh_tegrastats_run *r)
{
	char *start = r->buf + r->next;
	char *nl = memchr(start, '\n', r->len - r->next);

	if (!nl)
		return NULL;
	*nl = '\0';
	r->next = (size_t)(nl + 1 - r->buf);
	return start;
}

/* Move what is left of a line to the front: room for more. */
static void compact(struct coh_tegrastats_run *r)
{
	r->len -= r->next;
	memmove(r->buf, r->buf + r->next, r->len);
	r->next = 0;
	if (r->len == sizeof(r->buf) - 1)
		r->len = 0;		/* no line is this long: drop it */
}

int coh_tegrastats_next(struct coh_tegrastats_run *r, const char **line,
			struct pep_err *err)
{
	for (;;) {
		ssize_t n;

		*line = take_line(r);
		if (*line)
			return 1;
		if (r->ended)
			return 0;
		compact(r);
		n = pep_proc_read(r->proc, r->buf + r->len,
				  sizeof(r->buf) - 1 - r->len, -1, err);
		if (n < 0)
			return (int)n;	/* -EINTR: a signal; call again */
		if (n == 0) {
			r->ended = 1;
			return 0;
		}
		r->len += (size_t)n;
	}
}

/* "tegrastats exited with status 3: why" from what it left. */
static int report_end(const struct coh_tegrastats_run *r,
		      const struct pep_proc_result *res, struct pep_err *err)
{
	size_t elen = res->err_len;

	if (res->exited && res->exit_code == 0)
		return 0;
	if (elen && res->err[elen - 1] == '\n')
		elen--;
	return pep_err_set(err, -ECHILD, "%s %s %d%s%.*s", r->program,
			   res->exited ? "exited with status" : "killed by signal",
			   res->exited ? res->exit_code : res->signal_no,
			   elen ? ": " : "", (int)elen, res->err ? res->err : "");
}

int coh_tegrastats_finish(struct coh_tegrastats_run *r, struct pep_err *err)
{
	struct pep_proc_result res;
	int stop, ret;

	if (!r)
		return 0;
	/* At end of file it is exiting by itself: let it, and say how. */
	stop = !r->ended;
	ret = pep_proc_finish(r->proc, stop, &res, err);
	if (ret == 0 && !stop)
		ret = report_end(r, &res, err);
	pep_proc_result_free(&res);
	free(r->envp);
	free(r);
	return ret;
}
