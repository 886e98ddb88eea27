/*
 * pepita run's output: each job's stdout and stderr printed whole when it
 * ends (tagged with its arguments under --tag), or saved under --results,
 * or one JSON object; the job log; the progress bar.
 *
 * The bar lives on stderr's last line. Before anything else is written
 * there (job output, a message) the line is cleared, and the bar is drawn
 * again only once the output has ended a line, so bar and output never
 * share one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <pepita/pool.h>
#include <pepita/template.h>

#include "run.h"

static void bar_clear(struct run_out *o)
{
	if (o->bar_drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		o->bar_drawn = 0;
	}
}

void run_out_msg(struct run_out *o, const char *fmt, ...)
{
	va_list ap;

	bar_clear(o);
	if (!o->err_bol)
		fputc('\n', stderr);
	fputs("pepita: run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	o->err_bol = 1;
}

void run_out_bar(struct run_out *o, uint64_t done, uint64_t submitted,
		 long long total, uint64_t failed, int final)
{
	uint64_t all = total >= 0 && (uint64_t)total >= submitted ?
		       (uint64_t)total : submitted;
	double secs = (double)(pep_time_ns() - o->started_ns) / 1e9;
	int width = 30, fill = all ? (int)((uint64_t)width * done / all) : 0;

	if (!o->bar || !o->err_bol || (o->stdout_tty && !o->out_bol))
		return;
	fprintf(stderr, "\r\033[K%3d%% [%.*s%*s] %llu/%llu%s done, %llu failed, "
		"%.1fs%s", all ? (int)(100 * done / all) : 0, fill,
		"==============================", width - fill, "",
		(unsigned long long)done, (unsigned long long)all,
		total < 0 && !final ? "+" : "", (unsigned long long)failed,
		secs, final ? "\n" : "");
	fflush(stderr);
	o->bar_drawn = !final;
}

/* The job's arguments, space-separated: the --tag prefix. */
static void write_tag(const struct pep_tpl_args *a, FILE *f)
{
	for (size_t i = 0; i < a->n; i++)
		fprintf(f, "%s%s", i ? " " : "", a->v[i]);
	fputc('\t', f);
}

/* Output of one stream: whole, or each line behind its tag. */
static void write_stream(const struct run_out *o, const struct pep_tpl_args *a,
			 const char *s, size_t n, FILE *f, int *bol)
{
	if (!n)
		return;
	if (!o->tag) {
		fwrite(s, 1, n, f);
	} else {
		for (size_t i = 0; i < n;) {
			const char *nl = memchr(s + i, '\n', n - i);
			size_t len = nl ? (size_t)(nl - (s + i)) + 1 : n - i;

			write_tag(a, f);
			fwrite(s + i, 1, len, f);
			i += len;
		}
	}
	fflush(f);
	*bol = s[n - 1] == '\n';
}

static void print_json(const struct run_done *d)
{
	const struct pep_task_result *r = d->r;
	json_t *args = json_array();
	json_t *o;
	char *text;

	for (size_t i = 0; args && i < d->args->n; i++)
		json_array_append_new(args, json_string(d->args->v[i]));
	o = json_pack("{s:I, s:s, s:s, s:o?, s:i, s:i, s:b, s:i, s:s?, s:f,"
		      " s:f, s:s#, s:s#}",
		      "seq", (json_int_t)d->seq,
		      "host", !r->lane || !strcmp(r->lane, "local") ? ":" : r->lane,
		      "command", d->cmdline, "args", args,
		      "exit", r->exited ? r->exit_code : -1,
		      "signal", r->signal_no, "timed_out", r->timed_out,
		      "attempt_count", (int)r->attempts,
		      "error", r->error ? r->message : NULL,
		      "start_s", d->start, "runtime_s", (double)r->wall_ns / 1e9,
		      "stdout", r->out ? r->out : "", r->out ? r->out_len : 0,
		      "stderr", r->err ? r->err : "", r->err ? r->err_len : 0);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		puts(text);
	fflush(stdout);
	free(text);
	json_decref(o);
}

/* --results: a file with exactly these bytes. */
static int write_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	ssize_t w = 0;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < n; off += (size_t)w) {
		w = write(fd, s + off, n - off);
		if (w < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	return close(fd) ? -errno : 0;
}

/* mkdir -p path (modified in place, restored). */
static int make_dirs(char *path)
{
	for (char *p = path + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST) {
			*p = c;
			return -errno;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/*
 * An argument as one directory name, as GNU parallel writes it: \ is \\
 * and / is \_; and (ours) . and .. are \. and \.., so that no argument
 * climbs out of the directory.
 */
static void put_escaped(const char *v, FILE *f)
{
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		fputc('\\', f);
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '/')
			fputs("\\_", f);
		else
			fputc(*v, f);
	}
}

/* NAME/1/arg1/2/arg2/ for the plain --results NAME. */
static char *results_dir(const struct run_out *o, const struct pep_tpl_args *a)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	int bad;

	if (!f)
		return NULL;
	fputs(o->results, f);
	for (size_t i = 0; i < a->n; i++) {
		fprintf(f, "/%u/", a->label[i]);
		put_escaped(a->v[i], f);
	}
	fputc('/', f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(s);
		return NULL;
	}
	return s;
}

/* The three files' paths: DIR/{stdout,stderr,seq} or NAME{,.err,.seq}. */
static int results_paths(const struct run_out *o, const struct run_done *d,
			 char **base, int *is_dir)
{
	struct pep_tpl_job in = { .args = d->args, .seq = d->seq };

	if (o->results_tpl)
		pep_tpl_expand_raw(o->results_tpl, &in, base, NULL);
	else
		*base = results_dir(o, d->args);
	if (!*base)
		return -ENOMEM;
	*is_dir = !o->results_tpl || ((*base)[0] && (*base)[strlen(*base) - 1] == '/');
	return 0;
}

static int save_results(struct run_out *o, const struct run_done *d)
{
	static const char *const dir_names[] = { "stdout", "stderr", "seq" };
	static const char *const file_sfx[] = { "", ".err", ".seq" };
	const struct pep_task_result *r = d->r;
	const char *data[3] = { r->out ? r->out : "", r->err ? r->err : "" };
	size_t len[3] = { r->out_len, r->err_len };
	char seq[24], *base, *path = NULL, *slash;
	int is_dir, ret = results_paths(o, d, &base, &is_dir);

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)d->seq);
	data[2] = seq;
	len[2] = strlen(seq);
	for (int k = 0; k < 3 && !ret; k++) {
		free(path);
		if (asprintf(&path, "%s%s", base, is_dir ? dir_names[k] : file_sfx[k]) < 0) {
			path = NULL;
			ret = -ENOMEM;
			break;
		}
		slash = strrchr(path, '/');
		if (slash && slash > path) {
			*slash = '\0';
			ret = make_dirs(path);
			*slash = '/';
		}
		if (!ret)
			ret = write_file(path, data[k], len[k]);
	}
	if (ret)
		run_out_msg(o, "--results: job %llu: %s: %s", (unsigned long long)d->seq,
			    path ? path : base ? base : o->results, strerror(-ret));
	free(path);
	free(base);
	return ret;
}

static void print_plain(struct run_out *o, const struct run_done *d)
{
	const struct pep_task_result *r = d->r;

	if (!r->out_len && !r->err_len)
		return;
	bar_clear(o);
	write_stream(o, d->args, r->out, r->out_len, stdout, &o->out_bol);
	write_stream(o, d->args, r->err, r->err_len, stderr, &o->err_bol);
}

int run_out_job(struct run_out *o, const struct run_done *d)
{
	const struct pep_task_result *r = d->r;
	int ret = 0;

	if (o->results)
		ret = save_results(o, d) ? -1 : 0;
	else if (o->json)
		print_json(d);
	else
		print_plain(o, d);
	if (!o->json && r->error)
		run_out_msg(o, "job %llu: %s", (unsigned long long)d->seq, r->message);
	else if (!o->json && r->timed_out)
		run_out_msg(o, "job %llu: timed out: %s", (unsigned long long)d->seq,
			    d->cmdline);
	if (o->log)
		fprintf(o->log, "%llu\t%s\t%.3f\t%.3f\t0\t%zu\t%d\t%d\t%s\n",
			(unsigned long long)d->seq,
			!r->lane || !strcmp(r->lane, "local") ? ":" : r->lane,
			d->start, (double)r->wall_ns / 1e9, r->out_len,
			r->exited ? r->exit_code : -1, r->signal_no, d->cmdline);
	return ret;
}
