/*
 * cohete run: commands on the devices of a cohete.yaml, in parallel, as
 * `pepita run --host` runs them on hosts. One pool lane per device chosen
 * (--on: all, an id, label:NAME), -j jobs at once on each; a job runs
 * there through ssh and `pepita worker --stdio`, and only while the
 * device's agent says its thermal breaker is closed and its memory budget
 * has room for --memory (libcohete's Jetson executor). A job a device
 * refuses goes to another device, or waits for one to take it: for --wait
 * once every device chosen has refused it, then it fails with their
 * reasons (at once when none of them has an agent that answers: that
 * does not pass by waiting). Jobs come from ::: ARGS, :::: FILES or input lines, with
 * pepita run's replacement strings ({} {.} {/} {#} {%} ...); each job's
 * output is printed whole, in input order.
 *
 * Exit status, as pepita run's: the number of failed jobs (101: more than
 * 100); 2 for a usage error; 255 for any other error.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <pepita/pool.h>
#include <pepita/template.h>

#include "cmd.h"

#define RUN_EXIT_OTHER		255
#define MAX_SELECTORS		64
#define MAX_SSH_OPTIONS		32
#define MAX_DEVICES		64	/* a pool's lanes */
#define REFUSED_RETRY_MS	200	/* a refused job tries again after */

struct run_args {
	const char *on[MAX_SELECTORS];
	size_t on_count;
	unsigned int jobs;		/* per device */
	unsigned int retries;		/* attempts in all */
	uint32_t timeout_ms;
	unsigned int wait_s;
	const char *joblog;
	const char *ssh_options[MAX_SSH_OPTIONS];
	struct coh_fleet_executor_opts ex;
	char **cmd;			/* the template; ncmd 0: input lines */
	int ncmd;
	char **src;			/* from the first ::: or :::: */
	int nsrc;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete run --config FILE [--on SELECTOR]... [-j N] [--memory MB]\n"
		"                  [--wait S] [--ungated] [--retries N] [--timeout S]\n"
		"                  [--joblog F] [--identity FILE] [-o OPTION]...\n"
		"                  [--remote-pepita PATH] -- COMMAND [ARG...] [::: ARG... | :::: FILE...]\n\n"
		"Run COMMAND once per argument (or input line) on the file's devices, in\n"
		"parallel, through ssh and `pepita worker --stdio` on each, as `pepita run\n"
		"--host` does; replacement strings as pepita run's ({} {.} {/} {//} {/.}\n"
		"{N} {#} {%%}), else the arguments are appended. Before a job starts, the\n"
		"device's agent (GET /v1/status on the file's agent.listen port) must say\n"
		"its thermal breaker is closed and, with --memory, its budget has room;\n"
		"a job a device refuses goes to another or waits. Output is printed\n"
		"whole, in input order.\n\n"
		"  --on SEL            devices: all (default), an id, label:NAME; repeatable\n"
		"  -j, --jobs N        jobs at once on each device (default 1)\n"
		"  --memory MB         each job's memory need, checked against the\n"
		"                      device's budget (default 0: the breaker alone)\n"
		"  --wait S            how long a job every device refuses waits for one\n"
		"                      to take it, then fails (default 300; 0: at once)\n"
		"  --ungated           run on devices whose agent does not answer\n"
		"                      (default: refused, with the reason; when no\n"
		"                      device chosen has one, the jobs fail at once)\n"
		"  --retries N         run a failing job up to N times in all\n"
		"  --timeout S         kill a job after S seconds\n"
		"  --joblog F          GNU parallel's job log, the device as Host\n"
		"  --identity FILE     ssh key for every device (ssh -i)\n"
		"  -o, --ssh-option O  an ssh -o option, repeatable\n"
		"  --remote-pepita P   pepita on the devices (default: pepita)\n"
		"  -h, --help          this help\n\n"
		"Exit status: the number of failed jobs (101: more than 100); 2: usage\n"
		"error; 255: any other error.\n");
}

static int add_value(const char **v, size_t *n, size_t max, const char *opt,
		     const char *value)
{
	if (*n == max) {
		cli_error("%s: more than %zu", opt, max);
		return -1;
	}
	v[(*n)++] = value;
	return 0;
}

/* One option; 0, or the exit code. */
static int take_option(struct run_args *a, int c)
{
	long long v;

	switch (c) {
	case 'n':
		return add_value(a->on, &a->on_count, MAX_SELECTORS, "--on", optarg) ?
		       CMD_EXIT_USAGE : 0;
	case 'j':
		if (cli_parse_ll("--jobs", optarg, 1, 4096, &v) < 0)
			return CMD_EXIT_USAGE;
		a->jobs = (unsigned int)v;
		return 0;
	case 'm':
		if (cli_parse_ll("--memory", optarg, 0, 1 << 24, &v) < 0)
			return CMD_EXIT_USAGE;
		a->ex.memory_need_bytes = (uint64_t)v << 20;
		return 0;
	case 'w':
		if (cli_parse_ll("--wait", optarg, 0, 7 * 86400, &v) < 0)
			return CMD_EXIT_USAGE;
		a->wait_s = (unsigned int)v;
		return 0;
	case 'u': a->ex.no_agent_ok = true; return 0;
	case 'r':
		if (cli_parse_ll("--retries", optarg, 1, 100, &v) < 0)
			return CMD_EXIT_USAGE;
		a->retries = (unsigned int)v;
		return 0;
	case 't':
		if (cli_parse_ll("--timeout", optarg, 1, 30 * 86400, &v) < 0)
			return CMD_EXIT_USAGE;
		a->timeout_ms = (uint32_t)v * 1000;
		return 0;
	case 'J': a->joblog = optarg; return 0;
	case 'i': a->ex.remote.identity = optarg; return 0;
	case 'o':
		return add_value(a->ssh_options, &a->ex.remote.ssh_option_count,
				 MAX_SSH_OPTIONS, "--ssh-option", optarg) ?
		       CMD_EXIT_USAGE : 0;
	case 'p': a->ex.pepita = optarg; return 0;
	case 'C': return 0;		/* read by cli_config_open() */
	case 'h': usage(stdout); return -1;
	default: return CMD_EXIT_USAGE;
	}
}

/* The command's words, then its input sources. */
static void split_command(struct run_args *a, int argc, char **argv)
{
	int i = optind;

	a->cmd = argv + i;
	while (i < argc && !pep_inputs_is_separator(argv[i]))
		i++;
	a->ncmd = i - optind;
	a->src = argv + i;
	a->nsrc = argc - i;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option longopts[] = {
		{ "on", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "memory", required_argument, NULL, 'm' },
		{ "wait", required_argument, NULL, 'w' },
		{ "ungated", no_argument, NULL, 'u' },
		{ "retries", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "joblog", required_argument, NULL, 'J' },
		{ "identity", required_argument, NULL, 'i' },
		{ "ssh-option", required_argument, NULL, 'o' },
		{ "remote-pepita", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	ret = cli_config_open(argc, argv);
	if (ret)
		return ret;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "+hj:o:", longopts)) != -1) {
		ret = take_option(a, c);
		if (ret)
			return ret < 0 ? CMD_EXIT_OK : ret;
	}
	if (c == -1 && cli_help_asked(argc, argv)) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (!cli_config()) {
		cli_error("which devices? --config FILE (or $COHETE_CONFIG) names them");
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	a->ex.remote.ssh_options = a->ssh_options;
	split_command(a, argc, argv);
	return -1;
}

/* ---- the jobs ---- */

struct runner;

struct job {
	uint64_t seq;
	unsigned int slot;		/* {%}: from 1 */
	struct pep_tpl_args args;
	char **argv;
	char *cmdline;
	struct pep_future *f;
	const struct pep_task_result *r; /* f's, once done */
	uint64_t refused_by;		/* devices that refused it (bits) */
	uint64_t waiting_since_ns;	/* its first refusal; 0: none */
	uint64_t retry_ns;		/* when it goes back to the pool */
	double start;			/* epoch seconds, for the job log */
	struct runner *rn;
	struct job *next;
};

struct device {
	const char *id;
	struct pep_executor *ex;
	bool refusing;			/* said so on stderr */
	bool no_agent;			/* its last refusal: no agent answers */
	char reason[PEP_ERR_MSG_MAX];	/* its last refusal */
};

struct runner {
	const struct run_args *a;
	struct pep_tpl *tpl;
	struct pep_inputs *in;
	struct pep_pool *pool;
	struct device dev[MAX_DEVICES];
	unsigned int ndev;
	uint64_t all_devices;		/* a bit per device */
	struct job **running;		/* by slot - 1: in the pool or waiting */
	unsigned int slots, in_flight;
	pthread_mutex_t lock;		/* guards done */
	pthread_cond_t cv;
	struct job *done;		/* finished futures, from the pool */
	struct job *waiting;		/* refused, going back to the pool */
	struct job *finished;		/* ended, by seq, not printed yet */
	uint64_t seq, next_print;
	uint64_t failed;
	int input_end;			/* 1, or < 0: reading failed */
	int error;			/* an error that is no job's */
	FILE *log;
};

static uint64_t now_ns(void)
{
	return pep_time_ns();
}

static double epoch_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void job_free(struct job *j)
{
	pep_tpl_argv_free(j->argv);
	free(j->cmdline);
	pep_tpl_args_free(&j->args);
	pep_future_release(j->f);
	free(j);
}

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

static int submit(struct runner *rn, struct job *j)
{
	struct pep_task t = { .kind = PEP_TASK_PROC,
			      .argv = (const char *const *)j->argv };
	struct pep_err err;

	t.proc.timeout_ms = rn->a->timeout_ms;
	t.proc.max_output = 64u << 20;
	pep_future_release(j->f);
	j->f = NULL;
	j->r = NULL;
	if (!j->start)
		j->start = epoch_now();
	if (pep_pool_submit(rn->pool, &t, on_done, j, &j->f, &err) < 0) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static unsigned int free_slot(const struct runner *rn)
{
	for (unsigned int s = 0; s < rn->slots; s++)
		if (!rn->running[s])
			return s + 1;
	return 0;
}

/* The next input as a job, submitted: 1, 0 at the end, -1 on an error. */
static int start_next(struct runner *rn)
{
	struct job *j = calloc(1, sizeof(*j));
	struct pep_tpl_job tj = { .multi = PEP_TPL_JOIN };
	struct pep_err err;
	int ret;

	if (!j)
		return -1;
	/* commands from input: an empty line is no command */
	while ((ret = pep_inputs_next(rn->in, 0, 0, &j->args, &err)) > 0 &&
	       !rn->a->ncmd && j->args.n == 1 && !j->args.v[0][0])
		pep_tpl_args_free(&j->args);
	if (ret <= 0) {
		if (ret < 0)
			cli_error("%s", err.msg);
		free(j);
		return ret < 0 ? -1 : 0;
	}
	j->rn = rn;
	j->seq = ++rn->seq;
	j->slot = free_slot(rn);
	tj.args = &j->args;
	tj.seq = j->seq;
	tj.slot = j->slot;
	if (pep_tpl_expand(rn->tpl, &tj, &j->argv, &j->cmdline, &err) < 0) {
		cli_error("%s", err.msg);
		job_free(j);
		return -1;
	}
	if (submit(rn, j) < 0) {
		job_free(j);
		return -1;
	}
	rn->running[j->slot - 1] = j;
	rn->in_flight++;
	return 1;
}

/* ---- refusals ---- */

static int device_of(const struct runner *rn, const char *lane)
{
	for (unsigned int i = 0; lane && i < rn->ndev; i++)
		if (!strcmp(rn->dev[i].id, lane))
			return (int)i;
	return -1;
}

/* Breaker open, no room, no agent: the device would not take it. */
static bool refused(const struct pep_task_result *r)
{
	return r->error == -EHOSTDOWN || r->error == -EBUSY ||
	       r->error == -EHOSTUNREACH;
}

/* A device's changes of mind, said once each. */
static void note_device(struct runner *rn, int d, const struct pep_task_result *r)
{
	struct device *dv = &rn->dev[d];

	if (refused(r)) {
		snprintf(dv->reason, sizeof(dv->reason), "%s", r->message);
		dv->no_agent = r->error == -EHOSTUNREACH;
		if (!dv->refusing)
			cli_error("%s: its jobs go to other devices or wait", r->message);
		dv->refusing = true;
	} else if (dv->refusing) {
		cli_error("%s: taking jobs again", dv->id);
		dv->refusing = false;
	}
}

/*
 * Every device refused it: it fails once --wait has passed, or at once
 * when none of them has an agent that answers.
 */
static bool gives_up(const struct runner *rn, const struct job *j)
{
	uint64_t waited = now_ns() - j->waiting_since_ns;
	bool no_agents = true;

	if ((j->refused_by & rn->all_devices) != rn->all_devices)
		return false;
	for (unsigned int i = 0; i < rn->ndev; i++)
		no_agents &= rn->dev[i].no_agent;
	return no_agents || waited >= (uint64_t)rn->a->wait_s * 1000000000;
}

static void say_not_run(const struct runner *rn, const struct job *j)
{
	char why[1024];
	size_t n = 0;

	why[0] = '\0';
	for (unsigned int i = 0; i < rn->ndev && n < sizeof(why) - 2; i++)
		if (j->refused_by & (1ull << i))
			n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s",
					      n ? "; " : "", rn->dev[i].reason);
	cli_error("job %llu not run (%s): %s", (unsigned long long)j->seq,
		  j->cmdline, why);
}

/* A refused job: back to the pool in a moment, or given up. */
static bool take_refusal(struct runner *rn, struct job *j, int d)
{
	uint64_t now = now_ns();

	j->refused_by |= 1ull << d;
	if (!j->waiting_since_ns)
		j->waiting_since_ns = now;
	if (gives_up(rn, j))
		return false;
	j->retry_ns = now + REFUSED_RETRY_MS * 1000000ull;
	j->next = rn->waiting;
	rn->waiting = j;
	return true;
}

/* ---- output, in input order ---- */

static int job_status(const struct pep_task_result *r)
{
	if (r->exited)
		return r->exit_code;
	return r->signal_no ? 128 + r->signal_no : 255;
}

static void log_job(struct runner *rn, const struct job *j)
{
	const struct pep_task_result *r = j->r;

	if (!rn->log)
		return;
	fprintf(rn->log, "%llu\t%s\t%.3f\t%.3f\t0\t%zu\t%d\t%d\t%s\n",
		(unsigned long long)j->seq, r->lane ? r->lane : ":", j->start,
		(double)r->wall_ns / 1e9, r->out_len, job_status(r),
		r->signaled ? r->signal_no : 0, j->cmdline);
	fflush(rn->log);
}

static void print_job(struct runner *rn, const struct job *j)
{
	const struct pep_task_result *r = j->r;

	fwrite(r->out ? r->out : "", 1, r->out_len, stdout);
	fflush(stdout);
	fwrite(r->err ? r->err : "", 1, r->err_len, stderr);
	if (r->error && !refused(r))
		cli_error("job %llu (%s): %s", (unsigned long long)j->seq,
			  j->cmdline, r->message);
	else if (refused(r))
		say_not_run(rn, j);
	log_job(rn, j);
}

/* Park j by seq; print every job due. */
static void print_in_order(struct runner *rn, struct job *j)
{
	struct job **p = &rn->finished;

	while (*p && (*p)->seq < j->seq)
		p = &(*p)->next;
	j->next = *p;
	*p = j;
	while ((j = rn->finished) && j->seq == rn->next_print) {
		rn->finished = j->next;
		print_job(rn, j);
		job_free(j);
		rn->next_print++;
	}
}

/* A future is done: it ran (or failed), or a device refused it. */
static void job_done(struct runner *rn, struct job *j)
{
	int d;

	j->r = pep_future_result(j->f);
	d = device_of(rn, j->r->lane);
	if (d >= 0)
		note_device(rn, d, j->r);
	if (d >= 0 && refused(j->r) && take_refusal(rn, j, d))
		return;
	rn->in_flight--;
	rn->running[j->slot - 1] = NULL;
	if (!pep_task_ok(PEP_TASK_PROC, j->r))
		rn->failed++;
	print_in_order(rn, j);
}

/* ---- the loop ---- */

/* Back to the pool: the refused jobs that are due (all, when a slot freed). */
static int resubmit(struct runner *rn, bool all)
{
	struct job **p = &rn->waiting, *j;
	uint64_t now = now_ns();

	while ((j = *p)) {
		if (!all && j->retry_ns > now) {
			p = &j->next;
			continue;
		}
		*p = j->next;
		if (submit(rn, j) < 0)
			return -1;
	}
	return 0;
}

static uint64_t next_retry(const struct runner *rn)
{
	uint64_t t = UINT64_MAX;

	for (const struct job *j = rn->waiting; j; j = j->next)
		if (j->retry_ns < t)
			t = j->retry_ns;
	return t;
}

/* Wait for a future, or the next refused job's time. Locked. */
static void wait_locked(struct runner *rn)
{
	uint64_t due = next_retry(rn), now = now_ns();
	struct timespec ts;

	if (due == UINT64_MAX) {
		pthread_cond_wait(&rn->cv, &rn->lock);
		return;
	}
	if (due <= now)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	due -= now;
	ts.tv_sec += (time_t)(due / 1000000000);
	ts.tv_nsec += (long)(due % 1000000000);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&rn->cv, &rn->lock, &ts);
}

static struct job *take_done(struct runner *rn)
{
	struct job *list, *rev = NULL, *j;

	pthread_mutex_lock(&rn->lock);
	if (!rn->done && (rn->in_flight || rn->waiting))
		wait_locked(rn);
	list = rn->done;
	rn->done = NULL;
	pthread_mutex_unlock(&rn->lock);
	while ((j = list)) {		/* pushed newest first */
		list = j->next;
		j->next = rev;
		rev = j;
	}
	return rev;
}

static int run_all(struct runner *rn)
{
	struct job *list, *j;
	unsigned int before;

	for (;;) {
		while (!rn->input_end && !rn->error && rn->in_flight < rn->slots) {
			int ret = start_next(rn);

			if (ret <= 0)
				rn->input_end = ret < 0 ? -1 : 1;
		}
		if (!rn->in_flight)
			break;
		list = take_done(rn);
		before = rn->in_flight;
		while ((j = list)) {
			list = j->next;
			job_done(rn, j);
		}
		if (resubmit(rn, rn->in_flight < before) < 0)
			return -1;
	}
	return rn->input_end < 0 || rn->error ? -1 : 0;
}

/* ---- setting up ---- */

/* Not the refusals: the runner takes those to another device or waits. */
static int retry_on(int error, void *ctx)
{
	(void)ctx;
	if (error == -EHOSTDOWN || error == -EBUSY)
		return 0;
	return pep_retry_transient(error, NULL);
}

static int make_pool(struct runner *rn, struct pep_retry_policy *rp)
{
	struct pep_pool_opts po = { .workers = 1, .no_local = 1 };
	struct pep_err err;

	*rp = (struct pep_retry_policy){ .max_attempts = rn->a->retries,
					 .base_delay_ns = 1000000,
					 .max_delay_ns = 1000000,
					 .retry_on = retry_on };
	if (rn->a->retries > 1)
		po.retry = rp;
	if (pep_pool_create(&rn->pool, &po, &err) < 0) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

/* A lane per device chosen; CMD_EXIT_USAGE for a selector that chooses none. */
static int add_devices(struct runner *rn, const struct coh_config *cfg)
{
	bool *chosen = calloc(cfg->device_count + 1, sizeof(*chosen));
	struct pep_err err;
	int ret = 0;

	if (!chosen)
		return RUN_EXIT_OTHER;
	if (coh_fleet_select(cfg, rn->a->on, rn->a->on_count, chosen, &err) < 0) {
		cli_error("--on: %s", err.msg);
		free(chosen);
		return CMD_EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg->device_count && !ret; i++) {
		struct device *d = &rn->dev[rn->ndev];

		if (!chosen[i])
			continue;
		if (rn->ndev == MAX_DEVICES) {
			cli_error("--on: more than %d devices", MAX_DEVICES);
			ret = CMD_EXIT_USAGE;
			break;
		}
		d->id = cfg->devices[i].id;
		if (coh_fleet_executor_create(cfg, i, &rn->a->ex, &d->ex, &err) < 0 ||
		    pep_pool_add_lane(rn->pool, d->id, d->ex, rn->a->jobs, &err) < 0) {
			cli_error("%s: %s", d->id, err.msg);
			ret = RUN_EXIT_OTHER;
		}
		rn->ndev++;
	}
	free(chosen);
	rn->all_devices = rn->ndev == 64 ? UINT64_MAX : (1ull << rn->ndev) - 1;
	rn->slots = rn->ndev * rn->a->jobs;
	return ret;
}

static int open_inputs(struct runner *rn)
{
	const struct pep_inputs_opts io = { 0 };
	struct pep_err err;
	int ret;

	if (pep_tpl_compile(&rn->tpl, rn->a->cmd, rn->a->ncmd, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_USAGE;
	}
	ret = pep_inputs_open(&rn->in, rn->a->src, rn->a->nsrc, &io, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -EINVAL ? CMD_EXIT_USAGE : RUN_EXIT_OTHER;
	}
	if (pep_inputs_use_stdin(rn->in) && isatty(0))
		cli_error("reading %s from the terminal; end with Ctrl-D (or give "
			  "::: ARGS, :::: FILE or a pipe)",
			  rn->a->ncmd ? "arguments" : "commands");
	return 0;
}

static int open_log(struct runner *rn)
{
	if (!rn->a->joblog)
		return 0;
	rn->log = fopen(rn->a->joblog, "w");
	if (!rn->log) {
		cli_error("--joblog %s: %s", rn->a->joblog, strerror(errno));
		return RUN_EXIT_OTHER;
	}
	fprintf(rn->log, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
		"Exitval\tSignal\tCommand\n");
	return 0;
}

static int set_up(struct runner *rn, struct pep_retry_policy *rp)
{
	int ret = open_inputs(rn);

	if (!ret)
		ret = make_pool(rn, rp) < 0 ? RUN_EXIT_OTHER : 0;
	if (!ret)
		ret = add_devices(rn, cli_config()->cfg);
	if (!ret)
		ret = open_log(rn);
	if (!ret && !(rn->running = calloc(rn->slots, sizeof(*rn->running))))
		ret = RUN_EXIT_OTHER;
	return ret;
}

static void tear_down(struct runner *rn)
{
	if (rn->pool)		/* an error: cancel what is left, then wait */
		pep_pool_shutdown(rn->pool, 0);
	pep_pool_destroy(rn->pool);
	for (unsigned int s = 0; rn->running && s < rn->slots; s++)
		if (rn->running[s])
			job_free(rn->running[s]);
	while (rn->finished) {
		struct job *j = rn->finished;

		rn->finished = j->next;
		job_free(j);
	}
	for (unsigned int i = 0; i < rn->ndev; i++)
		pep_executor_destroy(rn->dev[i].ex);
	if (rn->log && fclose(rn->log) != 0)
		rn->error = 1;
	pep_inputs_close(rn->in);
	pep_tpl_free(rn->tpl);
	free(rn->running);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { .jobs = 1, .retries = 1, .wait_s = 300 };
	struct runner rn = { .a = &a, .next_print = 1 };
	struct pep_retry_policy rp;
	pthread_condattr_t ca;
	int ret = parse_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	pthread_mutex_init(&rn.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rn.cv, &ca);
	ret = set_up(&rn, &rp);
	if (!ret)
		ret = run_all(&rn) < 0 ? RUN_EXIT_OTHER :
		      rn.failed > 100 ? 101 : (int)rn.failed;
	tear_down(&rn);
	if (rn.error && !ret)
		ret = RUN_EXIT_OTHER;
	pthread_cond_destroy(&rn.cv);
	pthread_mutex_destroy(&rn.lock);
	return ret;
}
