/*
 * cli/pepita/run.h - the parts of `pepita run`: command templates and
 * shell quoting (run_template.c), input sources (run_input.c), job output
 * (run_output.c); cmd_run.c parses the options and runs the jobs.
 */
#ifndef CLI_PEPITA_RUN_H
#define CLI_PEPITA_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* A growing NUL-terminated string; all-zero is empty. */
struct run_buf {
	char *s;
	size_t len, cap;
};

int run_buf_add(struct run_buf *b, const char *s, size_t n);
int run_buf_str(struct run_buf *b, const char *s);

/*
 * s quoted for a POSIX shell exactly as GNU parallel quotes it: as it is
 * when every byte is one of -_.+/ or alphanumeric, '' when empty, else in
 * single quotes with each ' written '"'"'.
 */
int run_quote(struct run_buf *b, const char *s, size_t n);

/* The arguments of one job (owned by the job). */
struct run_args {
	char **v;
	unsigned int *label;		/* --results: input source or column, from 1 */
	size_t n;
};

void run_args_free(struct run_args *a);

/* How a replacement string takes a job of several arguments. */
enum run_multi {
	RUN_MULTI_JOIN,			/* {} is all of them, space-separated (-m) */
	RUN_MULTI_CONTEXT,		/* the word around {} repeats (-X, -N) */
};

struct run_tpl;

/*
 * Compile COMMAND (its words; nwords 0: each input is a command line).
 * A single word with spaces or shell syntax is a shell command run by
 * /bin/sh -c, as is any word of several that holds a replacement string
 * among shell syntax (sh -c 'echo {}'): replacement strings in them are
 * quoted for where they land (outside quotes, in "...", in '...'). A
 * replacement string where quoting cannot be sure (in `...`, ${...},
 * after $'...' or in a here-document) is refused: -EINVAL, msg says why.
 */
int run_tpl_compile(char *const *words, int nwords, struct run_tpl **out,
		    char *msg, size_t msglen);
/* One word, never shell code (--results NAME). */
int run_tpl_compile_plain(const char *word, struct run_tpl **out, char *msg,
			  size_t msglen);
void run_tpl_free(struct run_tpl *t);

/* The template has a replacement string (else arguments are appended). */
int run_tpl_uses_args(const struct run_tpl *t);
/* It has {%}, the job slot. */
int run_tpl_uses_slot(const struct run_tpl *t);
/* It is run by a shell (a one-word command, or input lines). */
int run_tpl_is_shell(const struct run_tpl *t);

struct run_job_in {
	const struct run_args *args;
	uint64_t seq;			/* {#} */
	unsigned int slot;		/* {%} */
	enum run_multi multi;
};

/*
 * The argv of one job (NULL-terminated, each string malloc'd) and the
 * command as a shell would read it (for --dry-run, the job log, --json).
 * 0 or -ENOMEM.
 */
int run_tpl_expand(const struct run_tpl *t, const struct run_job_in *in,
		   char ***argv, char **display);

/* The template's words with replacement strings replaced, unquoted
 * (--results NAME); NULL when out of memory. */
char *run_tpl_raw(const struct run_tpl *t, const struct run_job_in *in);

void run_argv_free(char **argv);

/* Input sources: ::: lists, :::: files, -a files, stdin. */
struct run_inputs;

struct run_input_opts {
	const char *colsep;		/* --colsep (a regular expression) */
	unsigned int max_args;		/* -N: arguments per job; 0 with has_max_args: none */
	int has_max_args;
	int link;			/* --link: every source linked, the shorter wrap */
	int read_all;			/* read every input before the first job */
};

/*
 * From the words after COMMAND (::: A B :::+ C :::: F ::::+ G), the -a
 * files (nfiles of them, before the words' sources) or, with neither,
 * stdin. -EINVAL or -errno, msg says why.
 */
int run_inputs_open(struct run_inputs **out, char *const *words, int nwords,
		    const char *const *files, int nfiles,
		    const struct run_input_opts *o, char *msg, size_t msglen);
void run_inputs_close(struct run_inputs *in);

/* Some input is read from stdin. */
int run_inputs_use_stdin(const struct run_inputs *in);

/* How many records there are (read_all), else -1. */
long long run_inputs_total(const struct run_inputs *in);

/*
 * The next job's arguments: one record (a line, or one of every source's
 * combinations), split by --colsep, or -N records. per_job > 0 (-X/-m):
 * up to that many records, and no more than max_bytes of arguments.
 * 1 with *a filled, 0 at the end, -errno (msg says why).
 */
int run_inputs_next(struct run_inputs *in, size_t per_job, size_t max_bytes,
		    struct run_args *a, char *msg, size_t msglen);

/*
 * --pipe: where to cut buf (len bytes, eof: no more to come) into a
 * block for one job: after `lines` newlines when lines > 0, else at the
 * last newline within block bytes (the first after it when a record is
 * longer). 0: read more first.
 */
size_t run_block_cut(const char *buf, size_t len, size_t block,
		     size_t lines, int eof);

/* --pipe: stdin (or a file) cut into blocks at record ends. */
struct run_pipe {
	FILE *f;
	size_t block;			/* bytes per block, about */
	size_t lines;			/* -N: records per block instead */
	char *buf;
	size_t len, cap;
	int eof;
};

/* The next block (malloc'd) in *data: 1, 0 at the end, -errno. */
int run_pipe_next(struct run_pipe *p, char **data, size_t *len);

/* Output of finished jobs (run_output.c). */
struct pep_task_result;

struct run_done {
	uint64_t seq;
	const char *cmdline;
	const struct run_args *args;
	double start;			/* epoch seconds */
	const struct pep_task_result *r;
};

struct run_out {
	int tag;			/* --tag: lines prefixed with the arguments */
	int json;			/* one JSON object per job */
	const char *results;		/* --results NAME */
	const struct run_tpl *results_tpl; /* NAME has replacement strings */
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
