/*
 * pepita run: a compiled template made into one job's argv, for the
 * job's arguments, its number and its slot; and the quoting that takes
 * each argument where it lands (see run_template.c for where that is):
 * outside quotes as GNU parallel quotes (its shell_quote_scalar_default),
 * inside "..." with backslashes, inside '...' by closing and reopening.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_tpl.h"

int run_buf_add(struct run_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *ns = realloc(b->s, cap);

		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int run_buf_str(struct run_buf *b, const char *s)
{
	return run_buf_add(b, s, strlen(s));
}

static int quote_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-_.+/", c));
}

int run_quote(struct run_buf *b, const char *s, size_t n)
{
	size_t i, start = b->len;
	int ret = 0;

	for (i = 0; i < n && quote_safe(s[i]); i++)
		;
	if (n == 0)
		return run_buf_add(b, "''", 2);
	if (i == n)
		return run_buf_add(b, s, n);
	ret = run_buf_add(b, "'", 1);
	for (i = 0; i < n && !ret; i++)
		ret = s[i] == '\'' ? run_buf_add(b, "'\"'\"'", 5) :
				     run_buf_add(b, s + i, 1);
	if (!ret)
		ret = run_buf_add(b, "'", 1);
	/* GNU parallel drops the '' a leading or trailing ' leaves */
	if (!ret && b->len - start >= 2 && !strncmp(b->s + start, "''", 2)) {
		memmove(b->s + start, b->s + start + 2, b->len - start - 1);
		b->len -= 2;
	}
	if (!ret && b->len - start >= 2 && !strncmp(b->s + b->len - 2, "''", 2))
		b->s[b->len -= 2] = '\0';
	return ret;
}

/* Inside "...": \ before $ ` " \ (a newline is itself there). */
static int quote_dq(struct run_buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		if (strchr("$`\"\\", s[i]))
			ret = run_buf_add(b, "\\", 1);
		if (!ret)
			ret = run_buf_add(b, s + i, 1);
	}
	return ret;
}

/* Inside '...': close, an escaped ', reopen. */
static int quote_sq(struct run_buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = s[i] == '\'' ? run_buf_add(b, "'\\''", 4) :
				     run_buf_add(b, s + i, 1);
	return ret;
}

/* In a # comment only a newline matters: it would end the comment. */
static int quote_comment(struct run_buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = run_buf_add(b, s[i] == '\n' ? " " : s + i, 1);
	return ret;
}

/* The part of an argument a replacement names, as GNU parallel cuts it. */
static void arg_base(const char **p, size_t *n)
{
	const char *slash = memrchr(*p, '/', *n);

	if (slash) {
		*n -= (size_t)(slash + 1 - *p);
		*p = slash + 1;
	}
}

/* {.}: s:\.[^/.]*$:: */
static void arg_noext(const char *p, size_t *n)
{
	const char *dot = memrchr(p, '.', *n);

	if (dot && !memchr(dot, '/', *n - (size_t)(dot - p)))
		*n = (size_t)(dot - p);
}

/* File::Basename's fileparse, then its trailing slashes but one gone. */
static void dir_part(const char **p, size_t *n)
{
	const char *slash = memrchr(*p, '/', *n);

	if (slash) {
		*n = (size_t)(slash + 1 - *p);
	} else {
		*p = "./";
		*n = 2;
	}
	while (*n > 1 && (*p)[*n - 1] == '/')
		(*n)--;
}

/* {//}: Perl's File::Basename::dirname (a/b/ is a, not a/b). */
static void arg_dir(const char **p, size_t *n)
{
	const char *slash = memrchr(*p, '/', *n);
	size_t base = slash ? *n - (size_t)(slash + 1 - *p) : *n;

	dir_part(p, n);
	if (!base)
		dir_part(p, n);
}

static void arg_part(const char *arg, enum repl_part part, const char **p,
		     size_t *n)
{
	*p = arg;
	*n = strlen(arg);
	switch (part) {
	case P_ALL:
		break;
	case P_NOEXT:
		arg_noext(*p, n);
		break;
	case P_BASE:
		arg_base(p, n);
		break;
	case P_DIR:
		arg_dir(p, n);
		break;
	case P_BASE_NOEXT:
		arg_base(p, n);
		arg_noext(*p, n);
		break;
	}
}

/* The values a replacement stands for: *k of them, from args (or num). */
struct values {
	const char *one;		/* a single value ({#} {%} {N}) */
	char num[24];
	const struct run_args *args;	/* R_ARGS: args->v[from .. from+k) */
	size_t from, k;
	enum repl_part part;
};

static void seg_values(const struct seg *sg, const struct run_job_in *in,
		       long only, struct values *v)
{
	const struct run_args *a = in->args;

	memset(v, 0, sizeof(*v));
	v->part = sg->part;
	v->args = a;
	if (sg->what == R_SEQ || sg->what == R_SLOT) {
		snprintf(v->num, sizeof(v->num), "%llu", sg->what == R_SEQ ?
			 (unsigned long long)in->seq : (unsigned long long)in->slot);
		v->one = v->num;
		v->part = P_ALL;
	} else if (sg->what == R_POS) {
		long i = sg->pos > 0 ? sg->pos - 1 : (long)a->n + sg->pos;

		/* one that is not there is nothing, not '' (GNU parallel) */
		if (i >= 0 && (size_t)i < a->n)
			v->one = a->v[i];
	} else if (only >= 0) {
		v->from = (size_t)only;
		v->k = 1;
	} else {
		v->k = a->n;
	}
}

static size_t values_count(const struct values *v)
{
	return v->one ? 1 : v->k;
}

static void value_at(const struct values *v, size_t i, const char **p, size_t *n)
{
	arg_part(v->one ? v->one : v->args->v[v->from + i], v->part, p, n);
}

static int quote_ctx(struct run_buf *b, enum seg_ctx ctx, const char *p, size_t n)
{
	switch (ctx) {
	case C_UNQ:
		return run_quote(b, p, n);
	case C_DQ:
		return quote_dq(b, p, n);
	case C_SQ:
		return quote_sq(b, p, n);
	case C_COMMENT:
		return quote_comment(b, p, n);
	default:
		return run_buf_add(b, p, n);
	}
}

/* A piece of shell code, R_ARGS taking argument `only` (< 0: all). */
static int code_piece(struct run_buf *b, const struct piece *pc,
		      const struct run_job_in *in, long only)
{
	int ret = 0;

	for (size_t s = 0; s < pc->n && !ret; s++) {
		const struct seg *sg = &pc->segs[s];
		struct values v;

		if (sg->lit) {
			ret = run_buf_add(b, sg->lit, sg->len);
			continue;
		}
		seg_values(sg, in, only, &v);
		for (size_t i = 0; i < values_count(&v) && !ret; i++) {
			const char *p;
			size_t n;

			value_at(&v, i, &p, &n);
			ret = (i ? run_buf_add(b, " ", 1) : 0) ||
			      quote_ctx(b, sg->ctx, p, n);
		}
	}
	return ret ? -ENOMEM : 0;
}

/* The script of a code word: with -X a piece with {} repeats per argument. */
static int code_word(struct run_buf *b, const struct tword *w,
		     const struct run_job_in *in)
{
	int ret = 0;

	for (size_t p = 0; p < w->n && !ret; p++) {
		const struct piece *pc = &w->pieces[p];
		size_t reps = in->multi == RUN_MULTI_CONTEXT && pc->has_args &&
			      in->args->n > 1 ? in->args->n : 1;

		for (size_t r = 0; r < reps && !ret; r++) {
			if (r)
				ret = run_buf_add(b, " ", 1);
			if (!ret)
				ret = code_piece(b, pc, in, reps > 1 ? (long)r : -1);
		}
	}
	return ret;
}

/* The argv being built, and its display line. */
struct out {
	char **argv;
	size_t n, cap;
	struct run_buf cur;		/* the entry being built */
	int cur_set;			/* it exists (even if empty) */
	struct run_buf disp;
	int err;
};

static void out_end_entry(struct out *o)
{
	if (!o->cur_set || o->err)
		return;
	if (o->n + 2 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		char **na = realloc(o->argv, cap * sizeof(*na));

		if (!na) {
			o->err = -ENOMEM;
			return;
		}
		o->argv = na;
		o->cap = cap;
	}
	o->argv[o->n++] = o->cur.s ? o->cur.s : strdup("");
	o->argv[o->n] = NULL;
	if (!o->argv[o->n - 1])
		o->err = -ENOMEM;
	o->cur = (struct run_buf){ 0 };
	o->cur_set = 0;
}

static void out_sep(struct out *o)
{
	if (o->disp.len && run_buf_add(&o->disp, " ", 1))
		o->err = -ENOMEM;
}

/* Append to the entry: text shown in the display line quoted. */
static void out_add(struct out *o, const char *p, size_t n)
{
	if (!o->cur_set)
		out_sep(o);
	o->cur_set = 1;
	if (run_buf_add(&o->cur, p, n) || run_quote(&o->disp, p, n))
		o->err = -ENOMEM;
}

/*
 * A plain argv word, as a shell would split GNU parallel's quoted line:
 * several arguments in one {} make several entries (-m: "pre{}post"
 * gives pre1, 2, 3post); with -X the whole word repeats per argument.
 */
static void plain_piece(struct out *o, const struct piece *pc,
			const struct run_job_in *in, long only)
{
	for (size_t s = 0; s < pc->n; s++) {
		const struct seg *sg = &pc->segs[s];
		struct values v;

		if (sg->lit) {
			out_add(o, sg->lit, sg->len);
			continue;
		}
		seg_values(sg, in, only, &v);
		for (size_t i = 0; i < values_count(&v); i++) {
			const char *p;
			size_t n;

			if (i)
				out_end_entry(o);
			value_at(&v, i, &p, &n);
			out_add(o, p, n);
		}
	}
}

static void plain_word(struct out *o, const struct tword *w,
		       const struct run_job_in *in)
{
	const struct piece *pc = &w->pieces[0];
	size_t reps = in->multi == RUN_MULTI_CONTEXT && pc->has_args &&
		      in->args->n > 1 ? in->args->n : 1;

	for (size_t r = 0; r < reps; r++) {
		plain_piece(o, pc, in, reps > 1 ? (long)r : -1);
		out_end_entry(o);
	}
}

/* A shell word of the argv: its script is one entry. */
static void code_entry(struct out *o, const struct tword *w,
		       const struct run_job_in *in)
{
	struct run_buf b = { 0 };

	if (code_word(&b, w, in) < 0 || run_buf_add(&b, "", 0) < 0) {
		free(b.s);
		o->err = -ENOMEM;
		return;
	}
	out_add(o, b.s, b.len);
	free(b.s);
	out_end_entry(o);
}

static char **shell_argv(char *script)
{
	char **argv = calloc(4, sizeof(*argv));

	if (!argv || !(argv[0] = strdup("/bin/sh")) || !(argv[1] = strdup("-c"))) {
		run_argv_free(argv);
		return NULL;
	}
	argv[2] = script;
	return argv;
}

/* A command run by the shell: the script, and it is its display. */
static int expand_shell(const struct run_tpl *t, const struct run_job_in *in,
			char ***argv, char **display)
{
	struct run_buf b = { 0 };
	const struct run_args *a = in->args;
	int ret = 0;

	if (t->kind == T_LINES) {	/* the arguments are the command */
		for (size_t i = 0; i < a->n && !ret; i++)
			ret = (i ? run_buf_add(&b, " ", 1) : 0) ||
			      run_buf_str(&b, a->v[i]);
	} else {
		ret = code_word(&b, &t->words[0], in);
		for (size_t i = 0; i < a->n && !ret && !t->uses_args; i++)
			ret = run_buf_add(&b, " ", 1) ||
			      run_quote(&b, a->v[i], strlen(a->v[i]));
	}
	if (ret || run_buf_add(&b, "", 0) || !(*display = strdup(b.s)) ||
	    !(*argv = shell_argv(b.s))) {
		free(*display);
		*display = NULL;
		free(b.s);
		return -ENOMEM;
	}
	return 0;
}

int run_tpl_expand(const struct run_tpl *t, const struct run_job_in *in,
		   char ***argv, char **display)
{
	struct out o = { 0 };

	*argv = NULL;
	*display = NULL;
	if (t->kind != T_ARGV)
		return expand_shell(t, in, argv, display);
	for (size_t w = 0; w < t->n && !o.err; w++) {
		if (t->words[w].code)
			code_entry(&o, &t->words[w], in);
		else
			plain_word(&o, &t->words[w], in);
	}
	for (size_t i = 0; !t->uses_args && i < in->args->n && !o.err; i++) {
		out_add(&o, in->args->v[i], strlen(in->args->v[i]));
		out_end_entry(&o);
	}
	if (!o.err && run_buf_add(&o.disp, "", 0))
		o.err = -ENOMEM;
	if (o.err || !o.argv) {
		run_argv_free(o.argv);
		free(o.cur.s);
		free(o.disp.s);
		return -ENOMEM;
	}
	*argv = o.argv;
	*display = o.disp.s;
	return 0;
}

char *run_tpl_raw(const struct run_tpl *t, const struct run_job_in *in)
{
	struct run_buf b = { 0 };
	int ret = 0;

	for (size_t w = 0; w < t->n && !ret; w++) {
		const struct piece *pc = &t->words[w].pieces[0];

		if (w)
			ret = run_buf_add(&b, " ", 1);
		for (size_t p = 0; p < t->words[w].n && !ret; p++) {
			pc = &t->words[w].pieces[p];
			for (size_t s = 0; s < pc->n && !ret; s++) {
				const struct seg *sg = &pc->segs[s];
				struct values v;

				if (sg->lit) {
					ret = run_buf_add(&b, sg->lit, sg->len);
					continue;
				}
				seg_values(sg, in, -1, &v);
				for (size_t i = 0; i < values_count(&v) && !ret; i++) {
					const char *q;
					size_t n;

					value_at(&v, i, &q, &n);
					ret = (i ? run_buf_add(&b, " ", 1) : 0) ||
					      run_buf_add(&b, q, n);
				}
			}
		}
	}
	if (ret || run_buf_add(&b, "", 0)) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

void run_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void run_args_free(struct run_args *a)
{
	for (size_t i = 0; a && i < a->n; i++)
		free(a->v[i]);
	if (a) {
		free(a->v);
		free(a->label);
		*a = (struct run_args){ 0 };
	}
}

