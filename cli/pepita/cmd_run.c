/*
 * pepita run: run many commands in parallel, like GNU parallel.
 *
 *   pepita run [options] COMMAND... ::: ARG... [::: ARG...]   arguments
 *   pepita run [options] COMMAND... :::: FILE...              from files
 *   pepita run [options] COMMAND... < args                    input lines
 *   pepita run [options] < commands                           each a command
 *   pepita run --pipe [options] COMMAND < data                blocks to stdin
 *
 * The options are parsed in run_opts.c; templates, input sources and
 * --pipe blocks are the library's (<pepita/template.h>); the output is
 * run_output.c's, the --host lanes run_hosts.c's. Jobs run on a pepita
 * pool (a local lane with -j slots, and one lane per --host), one job per
 * slot at a time so that {%} names a slot, with --retries and --timeout.
 * Each job's output is printed whole when it ends (in input order with -k).
 *
 * Exit status, as GNU parallel: the number of failed jobs (101: more than
 * 100), or what --halt says; 2 for a usage error; 255 for any other error.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <pepita/pool.h>
#include <pepita/template.h>

#include "cmd.h"
#include "run.h"

struct runner;

struct job {
	uint64_t seq;
	unsigned int slot;
	char **argv;
	char *cmdline;			/* for the log, --dry-run, --json */
	struct pep_tpl_args args;
	char *block;			/* --pipe: its stdin */
	size_t block_len;
	double start;			/* epoch seconds */
	int canceled;			/* killed by --halt now */
	struct pep_future *f;
	struct runner *rn;
	struct job *next;		/* done list */
};

/* What the main thread, the reader and the pool's callbacks share; the
 * lock guards done, ready, input_end, stop_reading and stopped. */
struct runner {
	struct run_opts *o;
	struct pep_tpl *tpl;
	struct pep_tpl *results_tpl;	/* --results NAME with {...} */
	struct run_out out;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct job *done;		/* finished, not reaped yet */
	struct job **running;		/* by slot - 1 */
	unsigned int slots;
	uint64_t in_flight;
	uint64_t submitted, finished, failed, succeeded;
	long long total_jobs;		/* -1: not known */
	struct job **pending;		/* keep-order: by seq */
	size_t pending_cap;
	uint64_t next_print;
	struct feed *feed;
	pthread_cond_t read_cv;		/* the reader waits for room */
	struct job *ready;		/* read ahead, not submitted yet */
	struct job *reading;		/* the reader's, being filled */
	int input_end;			/* 1: no more input; < -1: -errno - 1 */
	int stop_reading;
	int stopped;			/* SIGINT, SIGTERM or SIGHUP */
	uint64_t seq;			/* the last job's number (reader's) */
	int halted;			/* no more jobs */
	int halt_status;		/* the exit status --halt decided, or -1 */
	int error;			/* an error that is not a job's */
};

static double epoch_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	pep_tpl_argv_free(j->argv);
	free(j->cmdline);
	pep_tpl_args_free(&j->args);
	free(j->block);
	pep_future_release(j->f);
	free(j);
}

/* A job's status as bash reports it: its exit code, 128 + a signal. */
static int job_status(const struct pep_task_result *r)
{
	if (r->exited)
		return r->exit_code;
	return r->signal_no ? 128 + r->signal_no : 255;
}

static void stop_running(struct runner *rn)
{
	for (unsigned int s = 0; s < rn->slots; s++) {
		struct job *j = rn->running[s];

		if (j && j->f && !j->canceled) {
			j->canceled = 1;
			pep_future_cancel(j->f);
		}
	}
}

/* GNU parallel's should_we_halt: after each job that ends. */
static void check_halt(struct runner *rn, const struct pep_task_result *r,
		       int failed)
{
	const struct run_halt *h = &rn->o->halt;
	uint64_t limit;
	double need;

	if (h->when == HALT_NEVER || rn->halted || failed != h->on_fail)
		return;
	limit = h->on_fail ? rn->failed : rn->succeeded;
	need = h->pct ? (double)rn->total_jobs * h->pct : (double)h->count;
	if ((double)limit < need)
		return;
	rn->halted = 1;
	if (!h->on_fail)
		rn->halt_status = 0;
	else if (h->pct)
		rn->halt_status = (int)ceil((double)rn->failed * 100 /
					    (double)rn->total_jobs);
	else if (h->count == 1)
		rn->halt_status = job_status(r);
	else
		rn->halt_status = rn->failed > 101 ? 101 : (int)rn->failed;
	run_out_msg(&rn->out, "--halt %s: %llu job%s %s; %s %llu running", h->spec,
		    (unsigned long long)limit, limit == 1 ? "" : "s",
		    h->on_fail ? "failed" : "succeeded",
		    h->when == HALT_NOW ? "stopping the" : "waiting for the",
		    (unsigned long long)rn->in_flight);
	if (h->when == HALT_NOW)
		stop_running(rn);
}

static void print_job(struct runner *rn, struct job *j)
{
	const struct pep_task_result *r = pep_future_result(j->f);
	struct run_done d = { .seq = j->seq, .cmdline = j->cmdline,
			      .args = &j->args, .start = j->start, .r = r };

	if (j->canceled)	/* --halt now stopped it: it neither failed nor ran */
		return;
	if (run_out_job(&rn->out, &d) < 0)
		rn->error = 1;
}

/* The pool's callback: hand the job to the main thread. */
static void on_done(struct pep_future *f, void *ctx)
{
	struct job *j = ctx;
	struct runner *rn = j->rn;

	(void)f;
	pthread_mutex_lock(&rn->lock);
	j->next = rn->done;
	rn->done = j;
	pthread_cond_signal(&rn->cv);
	pthread_mutex_unlock(&rn->lock);
}

/* Keep-order: park j at its seq; print every job due. */
static int print_in_order(struct runner *rn, struct job *j)
{
	if (j->seq - rn->next_print >= rn->pending_cap) {
		size_t cap = (size_t)(j->seq - rn->next_print + 1) * 2;
		struct job **np = calloc(cap, sizeof(*np));

		if (!np)
			return -1;
		for (size_t i = 0; i < rn->pending_cap; i++)
			if (rn->pending[i])
				np[rn->pending[i]->seq % cap] = rn->pending[i];
		free(rn->pending);
		rn->pending = np;
		rn->pending_cap = cap;
	}
	rn->pending[j->seq % rn->pending_cap] = j;
	while ((j = rn->pending[rn->next_print % rn->pending_cap]) &&
	       j->seq == rn->next_print) {
		rn->pending[rn->next_print % rn->pending_cap] = NULL;
		print_job(rn, j);
		job_free(j);
		rn->next_print++;
	}
	return 0;
}

static struct job *reverse(struct job *list)
{
	struct job *rev = NULL, *j;

	while ((j = list)) {
		list = j->next;
		j->next = rev;
		rev = j;
	}
	return rev;
}

/* One job ended: count it, free its slot, see to --halt, print it. */
static void job_ended(struct runner *rn, struct job *j)
{
	const struct pep_task_result *r = pep_future_result(j->f);
	int failed = !pep_task_ok(PEP_TASK_PROC, r);

	rn->in_flight--;
	rn->finished++;
	rn->running[j->slot - 1] = NULL;
	if (!j->canceled) {
		rn->failed += failed;
		rn->succeeded += !failed;
		check_halt(rn, r, failed);
	}
	if (rn->o->keep_order) {
		if (print_in_order(rn, j) < 0) {
			rn->error = 1;
			job_free(j);
		}
	} else {
		print_job(rn, j);
		job_free(j);
	}
}

/* Count, print and free the jobs that ended (main thread). */
static void reap_list(struct runner *rn, struct job *list)
{
	struct job *j;

	while ((j = list)) {
		list = j->next;
		job_ended(rn, j);
	}
	run_out_bar(&rn->out, rn->finished, rn->submitted, rn->total_jobs,
		    rn->failed, 0);
}

static unsigned int free_slot(const struct runner *rn)
{
	for (unsigned int s = 0; s < rn->slots; s++)
		if (!rn->running[s])
			return s + 1;
	return 0;
}

/* Build job j's command; fills argv and cmdline. */
static int build_job(struct runner *rn, struct job *j)
{
	struct pep_tpl_job in = {
		.args = &j->args, .seq = j->seq, .slot = j->slot,
		.multi = rn->o->multi == 'm' ? PEP_TPL_JOIN :
			 rn->o->multi || rn->o->has_max_args ? PEP_TPL_CONTEXT :
			 PEP_TPL_JOIN,
	};
	struct pep_err err;

	if (pep_tpl_expand(rn->tpl, &in, &j->argv, &j->cmdline, &err) < 0) {
		run_out_msg(&rn->out, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int submit_job(struct runner *rn, struct pep_pool *pool, struct job *j)
{
	struct pep_task t = { .kind = PEP_TASK_PROC };
	struct pep_err err;

	j->rn = rn;
	j->slot = free_slot(rn);
	if (build_job(rn, j) < 0)
		return -1;
	j->start = epoch_now();
	t.argv = (const char *const *)j->argv;
	t.proc.timeout_ms = rn->o->timeout_ms;
	t.proc.max_output = 64u << 20;
	t.proc.stdin_data = j->block;
	t.proc.stdin_len = j->block_len;
	rn->running[j->slot - 1] = j;
	rn->in_flight++;
	rn->submitted++;
	if (pep_pool_submit(pool, &t, on_done, j, &j->f, &err) < 0) {
		run_out_msg(&rn->out, "%s", err.msg);
		rn->running[j->slot - 1] = NULL;
		rn->in_flight--;
		return -1;
	}
	return 0;
}

/* The source of jobs: input records, or --pipe blocks. */
struct feed {
	struct pep_inputs *in;
	FILE *pipe_f;			/* --pipe: stdin or -a FILE */
	struct pep_blocks *blocks;	/* --pipe: pipe_f cut */
	size_t per_job;			/* -X/-m/-N: records per job */
	size_t max_bytes;
	struct pep_err err;		/* why reading failed */
};

/* The next job's input into j: 1, 0 at the end, -errno (fd->err says why). */
static int next_input(struct feed *fd, int pipe, struct job *j)
{
	int ret;

	if (!pipe)
		return pep_inputs_next(fd->in, fd->per_job, fd->max_bytes, &j->args,
				       &fd->err);
	ret = pep_blocks_next(fd->blocks, &j->block, &j->block_len, NULL);
	if (ret < 0)
		pep_err_set(&fd->err, ret, "reading stdin: %s", strerror(-ret));
	return ret;
}

/* Fill j with the next job: 1, 0 at the end, -errno. */
static int fill_job(struct runner *rn, struct feed *fd, struct job *j)
{
	int ret;

	while ((ret = next_input(fd, rn->o->pipe, j)) > 0) {
		/* commands from input: an empty line is no command */
		if (rn->o->ncmd || j->args.n != 1 || j->args.v[0][0]) {
			j->seq = ++rn->seq;
			return 1;
		}
		pep_tpl_args_free(&j->args);
	}
	return ret;
}

/*
 * The reader thread reads one job ahead of the main thread, which thus
 * prints finished jobs while the input is idle (a pipe, a terminal). It
 * is canceled only while it reads; the job it was filling is then freed.
 */
static void free_reading(void *arg)
{
	struct runner *rn = arg;

	job_free(rn->reading);
	rn->reading = NULL;
}

/* Hand a job (or the end, ret <= 0) to the main thread: 0 to go on. */
static int hand_over(struct runner *rn, int ret)
{
	int more = 0;

	pthread_mutex_lock(&rn->lock);
	while (rn->ready && !rn->stop_reading)
		pthread_cond_wait(&rn->read_cv, &rn->lock);
	if (ret > 0 && !rn->stop_reading) {
		rn->ready = rn->reading;
		rn->reading = NULL;
		more = 1;
	} else {
		rn->input_end = ret > 0 ? 1 : ret - 1;	/* 1, or -errno - 1 */
	}
	pthread_cond_signal(&rn->cv);
	pthread_mutex_unlock(&rn->lock);
	return more ? 0 : -1;
}

static void reader_loop(struct runner *rn)
{
	int ret, old;

	do {
		rn->reading = calloc(1, sizeof(struct job));
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
		ret = rn->reading ? fill_job(rn, rn->feed, rn->reading) : -ENOMEM;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	} while (hand_over(rn, ret) == 0);
}

static void *reader_main(void *arg)
{
	struct runner *rn = arg;
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_cleanup_push(free_reading, rn);
	reader_loop(rn);
	pthread_cleanup_pop(1);
	return NULL;
}

/* Under rn->lock: whether the main thread has something to do. */
static int can_submit(const struct runner *rn)
{
	return rn->ready && rn->in_flight < rn->slots && !rn->halted &&
	       !rn->error && !rn->stopped;
}

static int all_over(const struct runner *rn)
{
	return !rn->in_flight && (rn->input_end || rn->halted || rn->error ||
				  rn->stopped);
}

/* Submit every job, one per free slot, until the input ends or --halt. */
static int run_all(struct runner *rn, struct pep_pool *pool)
{
	struct job *list, *j;

	for (;;) {
		pthread_mutex_lock(&rn->lock);
		while (!rn->done && !can_submit(rn) && !all_over(rn))
			pthread_cond_wait(&rn->cv, &rn->lock);
		if (!rn->done && all_over(rn)) {
			pthread_mutex_unlock(&rn->lock);
			break;
		}
		list = reverse(rn->done);	/* pushed newest first */
		rn->done = NULL;
		j = can_submit(rn) ? rn->ready : NULL;
		if (j) {
			rn->ready = NULL;
			pthread_cond_signal(&rn->read_cv);
		}
		pthread_mutex_unlock(&rn->lock);
		reap_list(rn, list);
		if (j && submit_job(rn, pool, j) < 0) {
			job_free(j);
			rn->error = 1;
		}
	}
	if (rn->input_end < -1)
		run_out_msg(&rn->out, "%s", rn->feed->err.msg);
	return rn->input_end < -1 || rn->error ? -1 : 0;
}

static int start_reader(struct runner *rn, pthread_t *tid)
{
	if (pthread_create(tid, NULL, reader_main, rn)) {
		cli_error("cannot start a thread");
		return -1;
	}
	return 0;
}

/* Stop the reader, which may be waiting for input that never comes. */
static void stop_reader(struct runner *rn, pthread_t tid)
{
	pthread_mutex_lock(&rn->lock);
	rn->stop_reading = 1;
	pthread_cond_signal(&rn->read_cv);
	pthread_mutex_unlock(&rn->lock);
	pthread_cancel(tid);
	pthread_join(tid, NULL);
	job_free(rn->ready);
	rn->ready = NULL;
}

/* --dry-run: the commands, in order, none run. */
static int dry_run(struct runner *rn, struct feed *fd)
{
	struct job *j;
	int ret = 1;

	while (ret > 0 && (j = calloc(1, sizeof(*j)))) {
		ret = fill_job(rn, fd, j);
		if (ret > 0) {
			j->slot = (unsigned int)((j->seq - 1) % rn->slots) + 1;
			if (build_job(rn, j) < 0)
				ret = -ENOMEM;
			else
				puts(j->cmdline);
		}
		job_free(j);
	}
	if (ret < 0)
		cli_error("%s", ret == -ENOMEM ? "out of memory" :
			  fd->err.msg);
	return ret < 0 || !j ? -1 : 0;
}

static struct pep_pool *make_pool(const struct run_opts *o,
				  struct pep_retry_policy *rp)
{
	struct pep_pool_opts po = { .workers = 1, .proc_slots = o->jobs };
	struct pep_pool *pool;
	struct pep_err err;

	/* GNU parallel retries at once; a millisecond keeps a crash loop sane */
	*rp = (struct pep_retry_policy){ .max_attempts = o->retries,
					 .base_delay_ns = 1000000,
					 .max_delay_ns = 1000000 };
	if (o->retries > 1)
		po.retry = rp;
	po.no_local = o->nhosts > 0;
	for (int i = 0; i < o->nhosts; i++)
		if (!strcmp(o->hosts[i], ":"))
			po.no_local = 0;
	if (pep_pool_create(&pool, &po, &err) < 0) {
		cli_error("%s", err.msg);
		return NULL;
	}
	return pool;
}

/*
 * SIGINT, SIGTERM, SIGHUP: stop. The jobs are in process groups of their
 * own (a terminal's Ctrl-C reaches only us), so the pool kills them.
 */
struct stopper {
	sigset_t set;
	struct pep_pool *pool;
	struct runner *rn;
	int sig;
};

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;

	if (sigwait(&st->set, &st->sig) == 0 && st->sig != SIGUSR2) {
		fprintf(stderr, "\npepita: run: %s: stopping the jobs\n",
			strsignal(st->sig));
		pthread_mutex_lock(&st->rn->lock);
		st->rn->stopped = 1;
		pthread_cond_signal(&st->rn->cv);
		pthread_mutex_unlock(&st->rn->lock);
		pep_pool_shutdown(st->pool, 0);
	}
	return NULL;
}

/* Block the stop signals; every thread started after inherits that. */
static void block_signals(struct stopper *st)
{
	sigemptyset(&st->set);
	sigaddset(&st->set, SIGINT);
	sigaddset(&st->set, SIGTERM);
	sigaddset(&st->set, SIGHUP);
	sigaddset(&st->set, SIGUSR2);	/* ours: "all done, leave" */
	pthread_sigmask(SIG_BLOCK, &st->set, NULL);
}

static void stop_stopper(pthread_t tid)
{
	pthread_kill(tid, SIGUSR2);
	pthread_join(tid, NULL);
}

/* -j 0: as many as the open-file limit allows (a job holds 3 pipes). */
static unsigned int max_jobs(long long total)
{
	struct rlimit rl;
	unsigned long long n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur > 64 ? (rl.rlim_cur - 32) / 4 : 8;
	if (n > 1024)
		n = 1024;
	if (total >= 0 && (unsigned long long)total < n)
		n = total > 0 ? (unsigned long long)total : 1;
	return (unsigned int)n;
}

/* Records per job for -m/-X/-N, and the jobs there will be. */
static void plan_jobs(struct runner *rn, struct feed *fd, long long records)
{
	const struct run_opts *o = rn->o;

	rn->total_jobs = records;
	if (o->has_max_args && o->max_args) {
		fd->per_job = o->max_args;
	} else if (o->multi && !o->has_max_args && records > 0) {
		/* spread over the slots, as GNU parallel does */
		fd->per_job = (size_t)((records + rn->slots - 1) / rn->slots);
		fd->max_bytes = 128 << 10;
	}
	/* (with -m and -X, long arguments may make a few more) */
	if (records >= 0 && fd->per_job > 1)
		rn->total_jobs = (records + (long long)fd->per_job - 1) /
				 (long long)fd->per_job;
}

/* --pipe: stdin (or -a FILE) cut into blocks, or -N records each. */
static int open_pipe(const struct run_opts *o, struct feed *fd)
{
	size_t block = o->block_bytes ? o->block_bytes : 1 << 20;
	struct pep_err err;

	fd->pipe_f = o->nfiles ? fopen(o->files[0], "r") : stdin;
	if (!fd->pipe_f) {
		cli_error("%s: %s", o->files[0],
			  strerror(errno));
		return RUN_EXIT_OTHER;
	}
	if (pep_blocks_open(&fd->blocks, fd->pipe_f, block,
			    o->has_max_args ? o->max_args : 0, &err) < 0) {
		cli_error("%s", err.msg);
		return RUN_EXIT_OTHER;
	}
	return 0;
}

static int open_feed(struct runner *rn, struct feed *fd)
{
	const struct run_opts *o = rn->o;
	struct pep_inputs_opts io = {
		.files = o->files, .nfiles = o->nfiles, .colsep = o->colsep,
		.no_args = o->has_max_args && !o->max_args, .link = o->link,
		.read_all = o->multi || o->halt.pct > 0,
	};
	struct pep_err err;
	int ret;

	if (o->pipe)
		return open_pipe(o, fd);
	ret = pep_inputs_open(&fd->in, o->src_words, o->nsrc_words, &io, &err);
	if (ret < 0)
		cli_error("%s", err.msg);
	return ret == -EINVAL ? CMD_EXIT_USAGE : ret < 0 ? RUN_EXIT_OTHER : 0;
}

static void close_feed(struct feed *fd)
{
	pep_inputs_close(fd->in);
	pep_blocks_close(fd->blocks);
	if (fd->pipe_f && fd->pipe_f != stdin)
		fclose(fd->pipe_f);
}

static int feed_uses_stdin(const struct runner *rn, const struct feed *fd)
{
	return rn->o->pipe ? fd->pipe_f == stdin : pep_inputs_use_stdin(fd->in);
}

/* The exit status, as GNU parallel's. */
static int exit_status(const struct runner *rn, int ret, int stopped)
{
	const struct run_halt *h = &rn->o->halt;

	if (ret < 0 || stopped)
		return RUN_EXIT_OTHER;
	if (rn->halt_status >= 0)
		return rn->halt_status;
	if (h->when != HALT_NEVER && h->pct)	/* never reached: the share failed */
		return (int)ceil((double)rn->failed * 100 /
				 (double)(rn->submitted ? rn->submitted : 1));
	return rn->failed > 100 ? 101 : (int)rn->failed;
}

static int open_joblog(struct runner *rn)
{
	const char *path = rn->o->joblog;

	if (!path)
		return 0;
	rn->out.log = fopen(path, "w");
	if (!rn->out.log) {
		cli_error("--joblog %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(rn->out.log, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
		"Exitval\tSignal\tCommand\n");
	return 0;
}

/* Run the jobs on a pool (the options and inputs are ready). */
static int run_pool(struct runner *rn, int *stopped)
{
	struct stopper st = { .rn = rn };
	struct run_remotes rm = { .n = 0 };
	struct pep_retry_policy rp;
	pthread_t stopper, reader;
	int ret = -1;

	block_signals(&st);
	st.pool = make_pool(rn->o, &rp);	/* its threads inherit the mask */
	if (!st.pool || run_hosts_add(rn->o, st.pool, &rm) < 0)
		goto out;
	if (pthread_create(&stopper, NULL, stopper_main, &st)) {
		cli_error("cannot start a thread");
		goto out;
	}
	rn->out.started_ns = pep_time_ns();
	if (start_reader(rn, &reader) == 0) {
		ret = run_all(rn, st.pool);
		stop_reader(rn, reader);
	}
	stop_stopper(stopper);
	*stopped = st.sig && st.sig != SIGUSR2;
	if (rn->out.bar_drawn || (rn->out.bar && rn->finished))
		run_out_bar(&rn->out, rn->finished, rn->submitted, rn->total_jobs,
			    rn->failed, 1);
out:
	pep_pool_destroy(st.pool);
	run_hosts_free(&rm);
	return ret;
}

/* Everything after the options: template, inputs, slots, output. */
static int set_up(struct runner *rn, struct run_opts *o, struct feed *fd)
{
	struct pep_err err;
	long long records;
	int ret;

	if (pep_tpl_compile(&rn->tpl, o->cmd, o->ncmd, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_USAGE;
	}
	if (o->results && strchr(o->results, '{')) {
		if (pep_tpl_compile_plain(&rn->results_tpl, o->results, &err) < 0) {
			cli_error("--results: %s", err.msg);
			return CMD_EXIT_USAGE;
		}
		rn->out.results_tpl = rn->results_tpl;
	}
	if (run_hosts_check(o, &rn->slots) < 0)
		return CMD_EXIT_USAGE;
	ret = open_feed(rn, fd);
	if (ret)
		return ret;
	records = o->pipe ? -1 : pep_inputs_total(fd->in);
	if (!o->jobs) {		/* -j 0 */
		o->jobs = max_jobs(records);
		run_hosts_check(o, &rn->slots);
	}
	if (rn->slots > RUN_MAX_SLOTS * 4)
		rn->slots = RUN_MAX_SLOTS * 4;
	plan_jobs(rn, fd, records);
	rn->running = calloc(rn->slots, sizeof(*rn->running));
	if (!rn->running || open_joblog(rn) < 0)
		return RUN_EXIT_OTHER;
	if (feed_uses_stdin(rn, fd) && isatty(0) && !o->dry_run)
		cli_error("reading %s from the terminal; end "
			  "with Ctrl-D (or give ::: ARGS, :::: FILE or a pipe)",
			  o->pipe ? "input" : o->ncmd ? "arguments" : "commands");
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .jobs = run_online_cpus() };
	struct runner rn = { .o = &o, .next_print = 1, .halt_status = -1 };
	struct feed fd = { 0 };
	int ret = run_opts_parse(argc, argv, &o), stopped = 0;

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
	rn.out = (struct run_out){ .tag = o.tag, .json = o.json,
				   .results = o.results, .out_bol = 1, .err_bol = 1,
				   .bar = o.bar && isatty(2), .stdout_tty = isatty(1) };
	pthread_mutex_init(&rn.lock, NULL);
	pthread_cond_init(&rn.cv, NULL);
	pthread_cond_init(&rn.read_cv, NULL);
	rn.feed = &fd;
	ret = set_up(&rn, &o, &fd);
	if (!ret)
		ret = o.dry_run ? dry_run(&rn, &fd) : run_pool(&rn, &stopped);
	if (ret <= 0)			/* else set-up's usage or other error */
		ret = exit_status(&rn, ret, stopped);
	if (rn.out.log && fclose(rn.out.log) != 0) {
		cli_error("--joblog %s: %s", o.joblog, strerror(errno));
		ret = RUN_EXIT_OTHER;
	}
	close_feed(&fd);
	pep_tpl_free(rn.tpl);
	pep_tpl_free(rn.results_tpl);
	free(rn.running);
	free(rn.pending);
	return ret;
}

