/*
 * pepita run: run many commands in parallel, like GNU parallel.
 *
 *   pepita run [options] COMMAND... ::: ARG...     one job per ARG
 *   pepita run [options] COMMAND... < args         one job per input line
 *   pepita run [options] < commands                each line is a command
 *
 * {} in COMMAND becomes the argument ({.} without its extension, {/} its
 * base name, {//} its directory, {/.} the base name without extension,
 * {#} the job's number); with no {} the argument is appended. A COMMAND of
 * several words runs directly (no shell: an argument is one argv entry,
 * whatever it holds); a single word with spaces or shell syntax, and a
 * command read from input, run through /bin/sh -c, the argument quoted.
 *
 * Jobs run on a pepita pool (local lane, -j slots), with --retries and
 * --timeout; each job's output is printed whole when it ends (in input
 * order with --keep-order). Exit status: the number of failed jobs, 101
 * when more than 100 failed, as GNU parallel.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <pepita/pool.h>

#include "cmd.h"

struct run_opts {
	unsigned int jobs;
	unsigned int retries;
	double timeout_s;
	int keep_order;
	int json;
	int bar;			/* -1 auto (stderr a terminal), 0, 1 */
	const char *joblog;
	const char *arg_file;
	char **cmd;			/* the template, NULL: input lines */
	int ncmd;
	char **args;			/* after :::, or NULL: read input */
	int nargs;
	const char *hosts[64];		/* --host: [N/]host, ":" = here */
	int nhosts;
	const char *ssh;		/* --ssh PROG: instead of ssh */
	const char *remote_pepita;	/* pepita on the hosts */
};

struct runner;

struct job {
	uint64_t seq;
	char **argv;			/* NULL-terminated, owned */
	char *cmdline;			/* for the log */
	double start;			/* epoch seconds */
	struct pep_future *f;
	struct runner *rn;
	struct job *next;		/* done list */
};

/* What the main thread and the pool's callbacks share. */
struct runner {
	struct run_opts *o;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct job *done;		/* finished, not printed yet */
	uint64_t in_flight;
	uint64_t submitted, finished, failed;
	struct job **pending;		/* keep-order: by seq */
	size_t pending_cap;
	uint64_t next_print;
	FILE *log;
	uint64_t started_ns;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pepita run [options] COMMAND... [::: ARG...]\n\n"
		"Run COMMAND once per ARG (or per input line), in parallel; with no\n"
		"COMMAND each input line is a command. {} is the argument ({.} {/}\n"
		"{//} {/.} {#} as in GNU parallel); without {} it is appended.\n\n"
		"  -j, --jobs N        jobs at once (default: one per CPU)\n"
		"  -a, --arg-file F    arguments from F instead of stdin\n"
		"  --retries N         try a failed job up to N more times\n"
		"  --timeout S         kill a job (its process group) after S seconds\n"
		"  -k, --keep-order    print output in input order\n"
		"  --joblog F          GNU parallel's job log: one line per job\n"
		"  --json              one JSON object per job instead of its output\n"
		"  --bar, --no-bar     a progress bar on stderr (default: on a terminal)\n"
		"  -S, --host [N/]H    run jobs on H too, N at once (default: -j), through\n"
		"                      ssh and `pepita worker --stdio` there; \":\" is this\n"
		"                      machine; repeatable. Without \":\", only the hosts\n"
		"  --ssh CMD           the ssh command, words split (default: ssh)\n"
		"  --remote-pepita P   pepita's path on the hosts (default: pepita)\n"
		"  -h, --help          this help\n\n"
		"Exit status: the number of failed jobs (101: more than 100).\n");
}

static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "arg-file", required_argument, NULL, 'a' },
		{ "retries", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep-order", no_argument, NULL, 'k' },
		{ "joblog", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'J' },
		{ "bar", no_argument, NULL, 'B' },
		{ "no-bar", no_argument, NULL, 'N' },
		{ "host", required_argument, NULL, 'S' },
		{ "ssh", required_argument, NULL, 's' },
		{ "remote-pepita", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c, i;

	opterr = 0;
	optind = 1;
	o->bar = -1;
	/* "+": stop at the first non-option, the command's own flags are its */
	while ((c = getopt_long(argc, argv, "+j:a:kS:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
		case 'r':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < (c == 'j') || v > 10000) {
				fprintf(stderr, "pepita: run: --%s '%s': a number from %d "
					"to 10000\n", c == 'j' ? "jobs" : "retries",
					optarg, c == 'j');
				return -1;
			}
			if (c == 'j')
				o->jobs = (unsigned int)v;
			else
				o->retries = (unsigned int)v;
			break;
		case 'a': o->arg_file = optarg; break;
		case 't':
			o->timeout_s = strtod(optarg, &end);
			if (*end || !(o->timeout_s > 0) || o->timeout_s > 4e6) {
				fprintf(stderr, "pepita: run: --timeout '%s': seconds "
					"above 0\n", optarg);
				return -1;
			}
			break;
		case 'k': o->keep_order = 1; break;
		case 'l': o->joblog = optarg; break;
		case 'J': o->json = 1; break;
		case 'B': o->bar = 1; break;
		case 'N': o->bar = 0; break;
		case 'S':
			if (o->nhosts == 64) {
				fprintf(stderr, "pepita: run: at most 64 --host\n");
				return -1;
			}
			o->hosts[o->nhosts++] = optarg;
			break;
		case 's': o->ssh = optarg; break;
		case 'P': o->remote_pepita = optarg; break;
		case 'h': usage(stdout); return 1;
		default:
			fprintf(stderr, "pepita: run: unknown option '%s'\n",
				argv[optind - 1]);
			return -1;
		}
	}
	o->cmd = argv + optind;
	for (i = optind; i < argc && strcmp(argv[i], ":::"); i++)
		;
	o->ncmd = i - optind;
	if (i < argc) {
		o->args = argv + i + 1;
		o->nargs = argc - i - 1;
	}
	if (o->ncmd == 0)
		o->cmd = NULL;
	if (o->args && !o->cmd) {
		fprintf(stderr, "pepita: run: ::: needs a COMMAND before it\n");
		return -1;
	}
	if (o->args && o->arg_file) {
		fprintf(stderr, "pepita: run: ::: and --arg-file: choose one\n");
		return -1;
	}
	return 0;
}

/* Building a job's command. */

struct buf {
	char *s;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *ns = realloc(b->s, cap);

		if (!ns)
			return -1;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/*
 * s quoted for sh: 'it'\''s'; as it is when every byte is safe, so that
 * "{}" inside the user's own double quotes reads as they expect.
 */
static int buf_add_quoted(struct buf *b, const char *s, size_t n)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
				   "OPQRSTUVWXYZ0123456789_./:@%+=,-";
	size_t k;
	int ret;

	for (k = 0; k < n && s[k] && strchr(safe, s[k]); k++)
		;
	if (k == n && n > 0)
		return buf_add(b, s, n);
	ret = buf_add(b, "'", 1);

	for (size_t i = 0; i < n && !ret; i++)
		ret = s[i] == '\'' ? buf_add(b, "'\\''", 4) : buf_add(b, s + i, 1);
	return ret ? ret : buf_add(b, "'", 1);
}

/* The part of arg a replacement string names ({} {.} {/} {//} {/.}). */
static void arg_part(const char *arg, const char *repl, const char **p,
		     size_t *n)
{
	const char *slash = strrchr(arg, '/');
	const char *base = slash ? slash + 1 : arg;
	const char *dot;

	*p = arg;
	*n = strlen(arg);
	if (!strcmp(repl, "{//}")) {
		*n = slash ? (size_t)(slash - arg) : 1;
		*p = slash ? arg : ".";
		return;
	}
	if (!strcmp(repl, "{/}") || !strcmp(repl, "{/.}")) {
		*p = base;
		*n = strlen(base);
	}
	if (!strcmp(repl, "{.}") || !strcmp(repl, "{/.}")) {
		dot = strrchr(*p, '.');
		if (dot && dot > *p)
			*n = (size_t)(dot - *p);
	}
}

static const char *const repls[] = { "{//}", "{/.}", "{/}", "{.}", "{#}", "{}" };

/* Expand the replacement strings of word into b; *used set if any was. */
static int expand(struct buf *b, const char *word, const char *arg,
		  uint64_t seq, int quote, int *used)
{
	char num[24];

	while (*word) {
		const char *hit = NULL, *p;
		size_t k, n;

		for (k = 0; k < sizeof(repls) / sizeof(repls[0]); k++)
			if (!strncmp(word, repls[k], strlen(repls[k]))) {
				hit = repls[k];
				break;
			}
		if (!hit) {
			if (buf_add(b, word++, 1))
				return -1;
			continue;
		}
		*used = 1;
		word += strlen(hit);
		if (!strcmp(hit, "{#}")) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
			p = num;
			n = strlen(num);
		} else {
			arg_part(arg, hit, &p, &n);
		}
		if (quote ? buf_add_quoted(b, p, n) : buf_add(b, p, n))
			return -1;
	}
	return 0;
}

/* A single word that needs a shell: spaces or shell syntax in it. */
static int needs_shell(const char *word)
{
	return strpbrk(word, " \t\n|&;<>()$`\\\"'*?[]#~=%{}!") != NULL &&
	       strcspn(word, " \t\n|&;<>()$`\\\"'*?[]#~=%!") != strlen(word);
}

static char **shell_argv(char *line)
{
	char **argv = calloc(4, sizeof(*argv));

	if (!argv)
		return NULL;
	argv[0] = strdup("/bin/sh");
	argv[1] = strdup("-c");
	argv[2] = line;
	return argv;
}

/* The argv of job seq with argument arg (NULL: the input line is the command). */
static char **job_argv(const struct run_opts *o, const char *arg, uint64_t seq)
{
	struct buf b = { 0 };
	char **argv;
	int used = 0, i;

	if (!o->cmd)
		return buf_add(&b, arg, strlen(arg)) ? NULL : shell_argv(b.s);
	if (o->ncmd == 1 && needs_shell(o->cmd[0])) {
		if (expand(&b, o->cmd[0], arg, seq, 1, &used) ||
		    (!used && (buf_add(&b, " ", 1) ||
			       buf_add_quoted(&b, arg, strlen(arg)))))
			return NULL;
		return shell_argv(b.s);
	}
	argv = calloc((size_t)o->ncmd + 2, sizeof(*argv));
	for (i = 0; argv && i < o->ncmd; i++) {
		struct buf w = { 0 };

		if (expand(&w, o->cmd[i], arg, seq, 0, &used) || buf_add(&w, "", 0))
			return NULL;
		argv[i] = w.s;
	}
	if (argv && !used)
		argv[i] = strdup(arg);
	return argv;
}

static char *join_argv(char **argv)
{
	struct buf b = { 0 };

	if (argv[0] && !strcmp(argv[0], "/bin/sh") && argv[1] && argv[2])
		return strdup(argv[2]);
	for (int i = 0; argv[i]; i++)
		if ((i && buf_add(&b, " ", 1)) || buf_add(&b, argv[i], strlen(argv[i])))
			break;
	return b.s ? b.s : strdup("");
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	for (int i = 0; j->argv && j->argv[i]; i++)
		free(j->argv[i]);
	free(j->argv);
	free(j->cmdline);
	pep_future_release(j->f);
	free(j);
}

/* Output. */

static double epoch_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int job_failed(const struct pep_task_result *r)
{
	return !pep_task_ok(PEP_TASK_PROC, r);
}

/* GNU parallel's name for where a job ran: ":" here, else the host. */
static const char *host_of(const struct pep_task_result *r)
{
	return !r->lane || !strcmp(r->lane, "local") ? ":" : r->lane;
}

static void print_json(const struct job *j, const struct pep_task_result *r)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:i, s:i, s:b, s:i, s:s?, s:f, s:f,"
			      " s:s#, s:s#}",
			      "seq", (json_int_t)j->seq, "host", host_of(r),
			      "command", j->cmdline,
			      "exit", r->exited ? r->exit_code : -1,
			      "signal", r->signal_no, "timed_out", r->timed_out,
			      "attempts", (int)r->attempts,
			      "error", r->error ? r->message : NULL,
			      "start", j->start, "runtime", r->wall_ns / 1e9,
			      "stdout", r->out ? r->out : "", r->out ? r->out_len : 0,
			      "stderr", r->err ? r->err : "", r->err ? r->err_len : 0);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (text)
		puts(text);
	free(text);
	json_decref(o);
}

static void print_job(struct runner *rn, struct job *j)
{
	const struct pep_task_result *r = pep_future_result(j->f);

	if (rn->o->json) {
		print_json(j, r);
	} else {
		if (r->out_len)
			fwrite(r->out, 1, r->out_len, stdout);
		fflush(stdout);
		if (r->err_len)
			fwrite(r->err, 1, r->err_len, stderr);
		if (r->error)
			fprintf(stderr, "pepita: run: job %llu: %s\n",
				(unsigned long long)j->seq, r->message);
		else if (r->timed_out)
			fprintf(stderr, "pepita: run: job %llu: timed out: %s\n",
				(unsigned long long)j->seq, j->cmdline);
	}
	if (rn->log)
		fprintf(rn->log, "%llu\t%s\t%.3f\t%.3f\t0\t%zu\t%d\t%d\t%s\n",
			(unsigned long long)j->seq, host_of(r), j->start, r->wall_ns / 1e9,
			r->out_len, r->exited ? r->exit_code : -1, r->signal_no,
			j->cmdline);
	rn->failed += job_failed(r);
}

static void draw_bar(struct runner *rn, int final)
{
	double secs = (pep_time_ns() - rn->started_ns) / 1e9;
	uint64_t total = rn->submitted, done = rn->finished;
	int width = 30, fill = total ? (int)(width * done / total) : 0;

	fprintf(stderr, "\r%3d%% [%.*s%*s] %llu/%llu done, %llu failed, %.1fs%s",
		total ? (int)(100 * done / total) : 0, fill,
		"==============================", width - fill, "",
		(unsigned long long)done, (unsigned long long)total,
		(unsigned long long)rn->failed, secs, final ? "\n" : "");
}

/* The pool's callback: hand the job to the main thread. */
static void on_done(struct pep_future *f, void *ctx)
{
	struct job *j = ctx;
	struct runner *rn = j->rn;

	pthread_mutex_lock(&rn->lock);
	j->next = rn->done;
	rn->done = j;
	pthread_cond_signal(&rn->cv);
	pthread_mutex_unlock(&rn->lock);
}

/* Keep-order: park j at its seq; print every job due. */
static int print_in_order(struct runner *rn, struct job *j)
{
	size_t slot;

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
	slot = (size_t)(j->seq % rn->pending_cap);
	rn->pending[slot] = j;
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

/* Print what is done (main thread); block for one when wait is set. */
static void reap_done(struct runner *rn, int wait)
{
	struct job *list, *j;

	pthread_mutex_lock(&rn->lock);
	while (wait && !rn->done)
		pthread_cond_wait(&rn->cv, &rn->lock);
	list = reverse(rn->done);	/* pushed newest first */
	rn->done = NULL;
	pthread_mutex_unlock(&rn->lock);
	while ((j = list)) {
		list = j->next;
		rn->in_flight--;
		rn->finished++;
		if (rn->o->keep_order)
			print_in_order(rn, j);
		else {
			print_job(rn, j);
			job_free(j);
		}
	}
	if (rn->o->bar > 0)
		draw_bar(rn, 0);
}

/* Inputs: the ::: list, or lines of the arg file / stdin. */
struct input {
	const struct run_opts *o;
	FILE *f;
	int next;
	char *line;
	size_t cap;
};

/* The next argument (or command line), or NULL at the end. */
static const char *next_input(struct input *in)
{
	ssize_t n;

	if (in->o->args)
		return in->next < in->o->nargs ? in->o->args[in->next++] : NULL;
	n = getline(&in->line, &in->cap, in->f);
	if (n < 0)
		return NULL;
	if (n > 0 && in->line[n - 1] == '\n')
		in->line[n - 1] = '\0';
	return in->line;
}

static int submit_job(struct runner *rn, struct pep_pool *pool,
		      const char *arg, uint64_t seq)
{
	struct job *j = calloc(1, sizeof(*j));
	struct pep_task t = { .kind = PEP_TASK_PROC };
	struct pep_err err;

	if (!j || !(j->argv = job_argv(rn->o, arg, seq)) ||
	    !(j->cmdline = join_argv(j->argv))) {
		job_free(j);
		fprintf(stderr, "pepita: run: out of memory\n");
		return -1;
	}
	j->seq = seq;
	j->rn = rn;
	j->start = epoch_now();
	t.argv = (const char *const *)j->argv;
	t.proc.timeout_ms = (uint32_t)(rn->o->timeout_s * 1000);
	t.proc.max_output = 64u << 20;
	rn->in_flight++;
	rn->submitted++;
	if (pep_pool_submit(pool, &t, on_done, j, &j->f, &err) < 0) {
		fprintf(stderr, "pepita: run: %s\n", err.msg);
		rn->in_flight--;
		job_free(j);
		return -1;
	}
	return 0;
}

static int open_inputs(struct input *in, const struct run_opts *o)
{
	in->o = o;
	in->f = stdin;
	if (o->arg_file && !(in->f = fopen(o->arg_file, "r"))) {
		fprintf(stderr, "pepita: run: %s: %s\n", o->arg_file, strerror(errno));
		return -1;
	}
	return 0;
}

static struct pep_pool *make_pool(const struct run_opts *o,
				  struct pep_retry_policy *rp)
{
	struct pep_pool_opts po = { .workers = 1, .proc_slots = o->jobs };
	struct pep_pool *pool;
	struct pep_err err;

	/* GNU parallel retries at once; a millisecond keeps a crash loop sane */
	*rp = (struct pep_retry_policy){ .max_attempts = o->retries + 1,
					 .base_delay_ns = 1000000,
					 .max_delay_ns = 1000000 };
	if (o->retries)
		po.retry = rp;
	if (!po.proc_slots) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		po.proc_slots = n > 0 ? (unsigned int)n : 1;
	}
	po.no_local = o->nhosts > 0;
	for (int i = 0; i < o->nhosts; i++)
		if (!strcmp(o->hosts[i], ":"))
			po.no_local = 0;
	if (pep_pool_create(&pool, &po, &err) < 0) {
		fprintf(stderr, "pepita: run: %s\n", err.msg);
		return NULL;
	}
	return pool;
}

/* The hosts' lanes. */
struct remotes {
	struct pep_executor *ex[64];
	char *argv[64][24];		/* --ssh: PROG [ARGS] HOST PEPITA worker --stdio */
	char *ssh_copy;			/* --ssh, split in place into words */
	char *words[16];
	int nwords;
	const char *command[4];		/* PEPITA worker --stdio */
	int n;
};

/* "[N/]host": slots and the host's name. */
static int parse_host(const char *spec, unsigned int dflt, unsigned int *slots,
		      const char **host)
{
	const char *slash = strchr(spec, '/');
	char *end;
	long v;

	*slots = dflt;
	*host = spec;
	if (slash && slash > spec) {
		v = strtol(spec, &end, 10);
		if (end != slash || v < 1 || v > 4096)
			return -1;
		*slots = (unsigned int)v;
		*host = slash + 1;
	}
	return **host ? 0 : -1;
}

/* --ssh 'ssh -F cfg': the words of a command, as GNU parallel takes it. */
static int split_words(const char *cmd, struct remotes *rm)
{
	char *save, *w;

	rm->ssh_copy = strdup(cmd);
	for (w = rm->ssh_copy ? strtok_r(rm->ssh_copy, " \t", &save) : NULL; w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (rm->nwords == 16) {
			fprintf(stderr, "pepita: run: --ssh: at most 16 words\n");
			return -1;
		}
		rm->words[rm->nwords++] = w;
	}
	if (!rm->nwords) {
		fprintf(stderr, "pepita: run: --ssh '%s': no program\n", cmd);
		return -1;
	}
	return 0;
}

static int add_hosts(const struct run_opts *o, struct pep_pool *pool,
		     unsigned int dflt, struct remotes *rm)
{
	const char *pepita = o->remote_pepita ? o->remote_pepita : "pepita";
	struct pep_err err;

	rm->command[0] = pepita;
	rm->command[1] = "worker";
	rm->command[2] = "--stdio";
	if (o->ssh && split_words(o->ssh, rm) < 0)
		return -1;
	for (int i = 0; i < o->nhosts; i++) {
		struct pep_remote_opts ro = { .command = rm->command };
		unsigned int slots;
		const char *host;

		if (parse_host(o->hosts[i], dflt, &slots, &host) < 0) {
			fprintf(stderr, "pepita: run: --host '%s': [N/]host\n",
				o->hosts[i]);
			return -1;
		}
		if (!strcmp(host, ":"))
			continue;
		if (o->ssh) {	/* PROG [ARGS] HOST command...: spawned as it is */
			char **a = rm->argv[rm->n];
			int k;

			for (k = 0; k < rm->nwords; k++)
				a[k] = rm->words[k];
			a[k++] = (char *)host;
			a[k++] = (char *)pepita;
			a[k++] = (char *)"worker";
			a[k++] = (char *)"--stdio";
			ro.command = (const char *const *)a;
		} else {
			ro.host = host;
		}
		if (pep_executor_remote(&rm->ex[rm->n], &ro, &err) < 0 ||
		    pep_pool_add_lane(pool, host, rm->ex[rm->n++], slots, &err) < 0) {
			fprintf(stderr, "pepita: run: --host %s: %s\n", host, err.msg);
			return -1;
		}
	}
	return 0;
}

static void remotes_free(struct remotes *rm)
{
	for (int i = 0; i < rm->n; i++)
		pep_executor_destroy(rm->ex[i]);
	free(rm->ssh_copy);
}

/* Submit every input, keeping at most a few jobs per slot queued. */
static int run_all(struct runner *rn, struct pep_pool *pool, unsigned int slots)
{
	struct input in = { 0 };
	const char *arg;
	uint64_t seq = 0;
	int ret = 0;

	if (open_inputs(&in, rn->o) < 0)
		return -1;
	while (ret == 0 && (arg = next_input(&in))) {
		if (!rn->o->cmd && !arg[0])
			continue;		/* an empty command line */
		while (rn->in_flight >= (uint64_t)slots * 4 + 16)
			reap_done(rn, 1);
		ret = submit_job(rn, pool, arg, ++seq);
		reap_done(rn, 0);
	}
	while (rn->in_flight)
		reap_done(rn, 1);
	if (in.f && in.f != stdin)
		fclose(in.f);
	free(in.line);
	return ret;
}

/*
 * SIGINT, SIGTERM, SIGHUP: stop. The jobs are in process groups of their
 * own (a terminal's Ctrl-C reaches only us), so the pool kills them.
 */
struct stopper {
	sigset_t set;
	struct pep_pool *pool;
	int sig;
};

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;

	if (sigwait(&st->set, &st->sig) == 0 && st->sig != SIGUSR2) {
		fprintf(stderr, "\npepita: run: %s: stopping the jobs\n",
			strsignal(st->sig));
		pep_pool_shutdown(st->pool, 0);
	}
	return NULL;
}

/* Block the stop signals in every thread; one thread waits for them. */
static int start_stopper(struct stopper *st, pthread_t *tid)
{
	sigemptyset(&st->set);
	sigaddset(&st->set, SIGINT);
	sigaddset(&st->set, SIGTERM);
	sigaddset(&st->set, SIGHUP);
	sigaddset(&st->set, SIGUSR2);	/* ours: "all done, leave" */
	pthread_sigmask(SIG_BLOCK, &st->set, NULL);
	return pthread_create(tid, NULL, stopper_main, st);
}

static void stop_stopper(struct stopper *st, pthread_t tid)
{
	pthread_kill(tid, SIGUSR2);
	pthread_join(tid, NULL);
}

int cmd_run(int argc, char **argv)
{
	struct stopper st = { 0 };
	struct remotes rm = { .n = 0 };
	pthread_t stopper;
	struct run_opts o = { 0 };
	struct runner rn = { .o = &o, .next_print = 1 };
	struct pep_retry_policy rp;
	struct pep_pool *pool;
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
	if (o.bar < 0)
		o.bar = isatty(2) && !o.json;
	if (o.joblog) {
		rn.log = fopen(o.joblog, "w");
		if (!rn.log) {
			fprintf(stderr, "pepita: run: --joblog %s: %s\n", o.joblog,
				strerror(errno));
			return CMD_EXIT_USAGE;
		}
		fprintf(rn.log, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
			"Exitval\tSignal\tCommand\n");
	}
	if (start_stopper(&st, &stopper)) {
		fprintf(stderr, "pepita: run: cannot start a thread\n");
		return CMD_EXIT_FAIL;
	}
	pool = make_pool(&o, &rp);	/* its threads inherit the mask */
	if (!pool) {
		stop_stopper(&st, stopper);
		return CMD_EXIT_FAIL;
	}
	st.pool = pool;
	if (add_hosts(&o, pool, o.jobs ? o.jobs : 1, &rm) < 0) {
		stop_stopper(&st, stopper);
		pep_pool_destroy(pool);
		remotes_free(&rm);
		return CMD_EXIT_USAGE;
	}
	pthread_mutex_init(&rn.lock, NULL);
	pthread_cond_init(&rn.cv, NULL);
	rn.started_ns = pep_time_ns();
	ret = run_all(&rn, pool, o.jobs ? o.jobs : 1);
	stop_stopper(&st, stopper);
	pep_pool_destroy(pool);
	remotes_free(&rm);
	if (o.bar)
		draw_bar(&rn, 1);
	if (rn.log && fclose(rn.log) != 0)
		fprintf(stderr, "pepita: run: --joblog %s: %s\n", o.joblog, strerror(errno));
	free(rn.pending);
	if (ret < 0 || (st.sig && st.sig != SIGUSR2))
		return 255;
	return rn.failed > 100 ? 101 : (int)rn.failed;
}
