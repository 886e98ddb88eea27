/*
 * A compiled template made into one job's argv, for the job's arguments,
 * its number and its slot. Each argument is cut as GNU parallel cuts it
 * ({.} {/} {//} {/.}) and, in shell code, quoted for where it lands
 * (quote.c; compile.c finds where that is).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_priv.h"

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
	const struct pep_tpl_args *args;	/* R_ARGS: args->v[from .. from+k) */
	size_t from, k;
	enum repl_part part;
};

static void seg_values(const struct seg *sg, const struct pep_tpl_job *in,
		       long only, struct values *v)
{
	const struct pep_tpl_args *a = in->args;

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

/*
 * A piece's text, R_ARGS taking argument `only` (< 0: all): shell code,
 * each value quoted for where it lands, or (raw) the values as they are.
 */
static int piece_text(struct pep__buf *b, const struct piece *pc,
		      const struct pep_tpl_job *in, long only, int raw)
{
	int ret = 0;

	for (size_t s = 0; s < pc->n && !ret; s++) {
		const struct seg *sg = &pc->segs[s];
		struct values v;

		if (sg->lit) {
			ret = pep__buf_add(b, sg->lit, sg->len);
			continue;
		}
		seg_values(sg, in, only, &v);
		for (size_t i = 0; i < values_count(&v) && !ret; i++) {
			const char *p;
			size_t n;

			value_at(&v, i, &p, &n);
			ret = (i ? pep__buf_add(b, " ", 1) : 0) ||
			      pep__quote_ctx(b, raw ? C_RAW : sg->ctx, p, n);
		}
	}
	return ret ? -ENOMEM : 0;
}

/* The script of a code word: with -X a piece with {} repeats per argument. */
static int code_word(struct pep__buf *b, const struct tword *w,
		     const struct pep_tpl_job *in)
{
	int ret = 0;

	for (size_t p = 0; p < w->n && !ret; p++) {
		const struct piece *pc = &w->pieces[p];
		size_t reps = in->multi == PEP_TPL_CONTEXT && pc->has_args &&
			      in->args->n > 1 ? in->args->n : 1;

		for (size_t r = 0; r < reps && !ret; r++) {
			long only = reps > 1 ? (long)r : -1;

			if (r)
				ret = pep__buf_add(b, " ", 1);
			if (!ret)
				ret = piece_text(b, pc, in, only, 0);
		}
	}
	return ret;
}

/* The argv being built, and its display line. */
struct out {
	char **argv;
	size_t n, cap;
	struct pep__buf cur;		/* the entry being built */
	int cur_set;			/* it exists (even if empty) */
	struct pep__buf disp;
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
	o->cur = (struct pep__buf){ 0 };
	o->cur_set = 0;
}

static void out_sep(struct out *o)
{
	if (o->disp.len && pep__buf_add(&o->disp, " ", 1))
		o->err = -ENOMEM;
}

/* Append to the entry: text shown in the display line quoted. */
static void out_add(struct out *o, const char *p, size_t n)
{
	if (!o->cur_set)
		out_sep(o);
	o->cur_set = 1;
	if (pep__buf_add(&o->cur, p, n) || pep__quote(&o->disp, p, n))
		o->err = -ENOMEM;
}

/*
 * A plain argv word, as a shell would split GNU parallel's quoted line:
 * several arguments in one {} make several entries (-m: "pre{}post"
 * gives pre1, 2, 3post); with -X the whole word repeats per argument.
 */
static void plain_piece(struct out *o, const struct piece *pc,
			const struct pep_tpl_job *in, long only)
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
		       const struct pep_tpl_job *in)
{
	const struct piece *pc = &w->pieces[0];
	size_t reps = in->multi == PEP_TPL_CONTEXT && pc->has_args &&
		      in->args->n > 1 ? in->args->n : 1;

	for (size_t r = 0; r < reps; r++) {
		plain_piece(o, pc, in, reps > 1 ? (long)r : -1);
		out_end_entry(o);
	}
}

/* A shell word of the argv: its script is one entry. */
static void code_entry(struct out *o, const struct tword *w,
		       const struct pep_tpl_job *in)
{
	struct pep__buf b = { 0 };

	if (code_word(&b, w, in) < 0 || pep__buf_add(&b, "", 0) < 0) {
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
		pep_tpl_argv_free(argv);
		return NULL;
	}
	argv[2] = script;
	return argv;
}

/* A command run by the shell: the script, and it is its display. */
static int expand_shell(const struct pep_tpl *t, const struct pep_tpl_job *in,
			char ***argv, char **display, struct pep_err *err)
{
	struct pep__buf b = { 0 };
	const struct pep_tpl_args *a = in->args;
	int ret = 0;

	if (t->kind == T_LINES) {	/* the arguments are the command */
		for (size_t i = 0; i < a->n && !ret; i++)
			ret = (i ? pep__buf_add(&b, " ", 1) : 0) ||
			      pep__buf_str(&b, a->v[i]);
	} else {
		ret = code_word(&b, &t->words[0], in);
		for (size_t i = 0; i < a->n && !ret && !t->uses_args; i++)
			ret = pep__buf_add(&b, " ", 1) ||
			      pep__quote(&b, a->v[i], strlen(a->v[i]));
	}
	if (ret || pep__buf_add(&b, "", 0) || !(*display = strdup(b.s)) ||
	    !(*argv = shell_argv(b.s))) {
		free(*display);
		*display = NULL;
		free(b.s);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

PEP_API int pep_tpl_expand(const struct pep_tpl *t, const struct pep_tpl_job *in,
			   char ***argv, char **display, struct pep_err *err)
{
	struct out o = { 0 };

	*argv = NULL;
	*display = NULL;
	if (t->kind != T_ARGV)
		return expand_shell(t, in, argv, display, err);
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
	if (!o.err && pep__buf_add(&o.disp, "", 0))
		o.err = -ENOMEM;
	if (o.err || !o.argv) {
		pep_tpl_argv_free(o.argv);
		free(o.cur.s);
		free(o.disp.s);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	*argv = o.argv;
	*display = o.disp.s;
	return 0;
}

PEP_API int pep_tpl_expand_raw(const struct pep_tpl *t,
			       const struct pep_tpl_job *in, char **out,
			       struct pep_err *err)
{
	struct pep__buf b = { 0 };
	int ret = 0;

	*out = NULL;
	for (size_t w = 0; w < t->n && !ret; w++) {
		if (w)
			ret = pep__buf_add(&b, " ", 1);
		for (size_t p = 0; p < t->words[w].n && !ret; p++)
			ret = piece_text(&b, &t->words[w].pieces[p], in, -1, 1);
	}
	if (ret || pep__buf_add(&b, "", 0)) {
		free(b.s);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	*out = b.s;
	return 0;
}

PEP_API void pep_tpl_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

PEP_API void pep_tpl_args_free(struct pep_tpl_args *a)
{
	for (size_t i = 0; a && i < a->n; i++)
		free(a->v[i]);
	if (a) {
		free(a->v);
		free(a->label);
		*a = (struct pep_tpl_args){ 0 };
	}
}
