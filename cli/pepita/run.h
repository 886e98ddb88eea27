/*
 * cli/pepita/run.h - the parts of `pepita run`: its options (run_opts.c),
 * the --host lanes (run_hosts.c) and job output (run_output.c); cmd_run.c
 * runs the jobs. Templates, input sources and quoting are the library's
 * (<pepita/template.h>).
 */
#ifndef CLI_PEPITA_RUN_H
#define CLI_PEPITA_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pepita/template.h>

#define RUN_EXIT_OTHER	255		/* an error that is no job's */

/* The options (run_opts.c). */
#define RUN_MAX_HOSTS	64
#define RUN_MAX_FILES	64
#define RUN_MAX_SLOTS	4096		/* a pool lane's most */

enum run_halt_when { HALT_NEVER, HALT_SOON, HALT_NOW };

struct run_halt {
	enum run_halt_when when;
	int on_fail;			/* fail=, else success= */
	unsigned long count;		/* fail=N */
	double pct;			/* fail=N%: a fraction; 0 for counts */
	const char *spec;
};

struct run_opts {
	const char *jobs_arg;
	unsigned int jobs;		/* slots per machine */
	unsigned int retries;
	uint32_t timeout_ms;
	int keep_order, json, bar, dry_run, tag, pipe, link;
	int multi;			/* 'm', 'X' or 0 */
	int has_max_args;
	unsigned int max_args;		/* -N */
	size_t block_bytes;		/* --block */
	const char *colsep, *results, *joblog;
	const char *files[RUN_MAX_FILES];	/* -a */
	int nfiles;
	struct run_halt halt;
	char **cmd;			/* the template (ncmd 0: input lines) */
	int ncmd;
	char **src_words;		/* from the first ::: or :::: */
	int nsrc_words;
	const char *hosts[RUN_MAX_HOSTS];	/* --host: [N/]host, ":" = here */
	int nhosts;
	const char *ssh;		/* --ssh PROG: instead of ssh */
	const char *remote_pepita;	/* pepita on the hosts */
};

/* Parse argv: 0, 1 after --help, -1 after a usage error (said). */
int run_opts_parse(int argc, char **argv, struct run_opts *o);
unsigned int run_online_cpus(void);
/* "pepita: run: OPT 'VAL': WANT" on stderr; -1. */
int run_bad_value(const char *opt, const char *val, const char *want);

/* The --host lanes (run_hosts.c). */
struct pep_executor;
struct pep_pool;

struct run_remotes {
	struct pep_executor *ex[RUN_MAX_HOSTS];
	char *argv[RUN_MAX_HOSTS][24];	/* --ssh: PROG [ARGS] -- HOST PEPITA worker --stdio */
	char *ssh_copy;			/* --ssh, split in place into words */
	char *words[16];
	int nwords;
	const char *command[4];		/* PEPITA worker --stdio */
	int n;
};

/* The slots of every --host (and -j here, unless only hosts): -1 if a
 * host is malformed (said). */
int run_hosts_check(const struct run_opts *o, unsigned int *slots);
/* A lane per host on pool; -1 on an error (said). */
int run_hosts_add(const struct run_opts *o, struct pep_pool *pool,
		  struct run_remotes *rm);
void run_hosts_free(struct run_remotes *rm);

/* Output of finished jobs (run_output.c). */
struct pep_task_result;

struct run_done {
	uint64_t seq;
	const char *cmdline;
	const struct pep_tpl_args *args;
	double start;			/* epoch seconds */
	const struct pep_task_result *r;
};

struct run_out {
	int tag;			/* --tag: lines prefixed with the arguments */
	int json;			/* one JSON object per job */
	const char *results;		/* --results NAME */
	const struct pep_tpl *results_tpl; /* NAME has replacement strings */
	FILE *log;			/* --joblog */
	int bar;			/* --bar, and stderr is a terminal */
	int stdout_tty;			/* stdout: the bar's terminal too? */
	int bar_drawn;
	int out_bol, err_bol;		/* at the start of a line */
	uint64_t started_ns;
};

/* Print (or save, --results) a finished job; -1 when --results failed. */
int run_out_job(struct run_out *o, const struct run_done *d);
/* A message on stderr that does not mix with the bar. */
void run_out_msg(struct run_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Draw the bar: done of total (total < 0: not known yet). */
void run_out_bar(struct run_out *o, uint64_t done, uint64_t submitted,
		 long long total, uint64_t failed, int final);

#endif /* CLI_PEPITA_RUN_H */
