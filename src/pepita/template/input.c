/*
 * Input sources, as GNU parallel takes them: ::: values and :::: (or
 * -a) files are input sources, one value per line; several sources give
 * every combination, the first source varying slowest; :::+ and ::::+
 * link a source to the one before it (value i with value i, as many as
 * the shorter has), --link links them all (the shorter ones wrap).
 *
 * A lone file source (stdin above all) is read as jobs need it, so a pipe
 * that never ends still feeds jobs; otherwise every source is read first.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_priv.h"

struct source {
	char **vals;
	size_t n, cap;
	const char *file;		/* :::: / -a: its name, "-" stdin */
	int linked;			/* :::+ or ::::+ */
};

struct pep_inputs {
	struct source *src;
	size_t nsrc;
	struct pep_inputs_opts o;
	regex_t re;
	int has_re;
	FILE *stream;			/* the lone source, read as needed */
	char *line;
	size_t linecap;
	size_t *gfirst;			/* group g: sources gfirst[g] .. gfirst[g+1] */
	size_t *glen;
	size_t *odo;			/* the current combination */
	size_t ngroups;
	int started, done;
};

static int add_source(struct pep_inputs *in, const char *file, int linked)
{
	struct source *ns = realloc(in->src, (in->nsrc + 1) * sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	in->src = ns;
	ns[in->nsrc++] = (struct source){ .file = file, .linked = linked };
	return 0;
}

static int add_value(struct source *s, const char *v, size_t len)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **nv = realloc(s->vals, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->vals = nv;
		s->cap = cap;
	}
	copy = strndup(v, len);
	if (!copy)
		return -ENOMEM;
	s->vals[s->n++] = copy;
	return 0;
}

static int open_file(const char *name, FILE **f, struct pep_err *err)
{
	*f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	return *f ? 0 : pep_err_errno(err, "%s", name);
}

/* A line of f without its newline, or NULL at the end (errno on error). */
static const char *read_line(FILE *f, char **line, size_t *cap, size_t *len)
{
	ssize_t n;

	errno = 0;
	n = getline(line, cap, f);
	if (n < 0)
		return NULL;
	if (n > 0 && (*line)[n - 1] == '\n')
		n--;
	(*line)[n] = '\0';
	*len = (size_t)n;
	return *line;
}

static int read_source(struct pep_inputs *in, struct source *s,
		       struct pep_err *err)
{
	const char *l;
	size_t len;
	FILE *f;
	int ret = open_file(s->file, &f, err);

	if (ret)
		return ret;
	while (!ret && (l = read_line(f, &in->line, &in->linecap, &len)))
		ret = add_value(s, l, len);
	if (!ret && ferror(f))
		ret = pep_err_set(err, -EIO, "%s: %s", s->file, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (ret == -ENOMEM)
		pep_err_set(err, ret, "out of memory");
	return ret;
}

static int sep_kind(const char *w, int *file, int *linked)
{
	static const char *const seps[] = { ":::", ":::+", "::::", "::::+" };

	for (int k = 0; k < 4; k++)
		if (!strcmp(w, seps[k])) {
			*file = k >= 2;
			*linked = k % 2;
			return 1;
		}
	return 0;
}

PEP_API int pep_inputs_is_separator(const char *word)
{
	int file, linked;

	return sep_kind(word, &file, &linked);
}

/* ::: A B :::+ C :::: F G: sources and their values (files: names). */
static int parse_words(struct pep_inputs *in, char *const *words, int nwords,
		       struct pep_err *err)
{
	int file = 0, linked = 0, ret = 0;

	for (int i = 0; i < nwords && !ret; i++) {
		int f, l;

		if (sep_kind(words[i], &f, &l)) {
			file = f;
			linked = l;
			if (l && in->nsrc == 0)
				return pep_err_set(err, -EINVAL, "%s needs an "
						   "input source before it",
						   words[i]);
			if (!f)
				ret = add_source(in, NULL, l);
			continue;
		}
		if (file) {	/* each file is a source */
			ret = add_source(in, words[i], linked);
			linked = 0;
		} else {
			ret = add_value(&in->src[in->nsrc - 1], words[i],
					strlen(words[i]));
		}
	}
	if (ret == -ENOMEM)
		pep_err_set(err, ret, "out of memory");
	return ret;
}

/* Group the sources; a group's length; the first combination. */
static int make_groups(struct pep_inputs *in)
{
	size_t g = 0;

	in->gfirst = calloc(in->nsrc + 1, sizeof(size_t));
	in->glen = calloc(in->nsrc, sizeof(size_t));
	in->odo = calloc(in->nsrc, sizeof(size_t));
	if (!in->gfirst || !in->glen || !in->odo)
		return -ENOMEM;
	for (size_t s = 0; s < in->nsrc; s++) {
		int join = s > 0 && (in->o.link || in->src[s].linked);
		size_t n = in->src[s].n;

		if (!join) {
			in->gfirst[g] = s;
			in->glen[g++] = n;
		} else if (in->o.link) {
			in->glen[g - 1] = n > in->glen[g - 1] ? n : in->glen[g - 1];
		} else {
			in->glen[g - 1] = n < in->glen[g - 1] ? n : in->glen[g - 1];
		}
	}
	in->ngroups = g;
	in->gfirst[g] = in->nsrc;
	for (size_t s = 0; in->o.link && s < in->nsrc; s++)
		if (in->src[s].n == 0)
			in->glen[0] = 0;	/* nothing to wrap around */
	return 0;
}

static int compile_colsep(struct pep_inputs *in, const char *sep,
			  struct pep_err *err)
{
	struct pep__buf b = { 0 };
	int ret;

	/* Perl's \t and \n, which POSIX regular expressions lack */
	for (const char *p = sep; *p; p++) {
		if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
			ret = pep__buf_add(&b, p[1] == 't' ? "\t" : "\n", 1);
			p++;
		} else {
			ret = pep__buf_add(&b, p, 1);
		}
		if (ret) {
			free(b.s);
			return ret;
		}
	}
	ret = regcomp(&in->re, b.s ? b.s : "", REG_EXTENDED);
	free(b.s);
	if (ret)
		return pep_err_set(err, -EINVAL, "--colsep '%s': not a regular "
				   "expression", sep);
	in->has_re = 1;
	return 0;
}

/* The sources: the files, then the words', else stdin; columns. */
static int add_sources(struct pep_inputs *in, char *const *words, int nwords,
		       struct pep_err *err)
{
	int ret = 0;

	for (int i = 0; i < in->o.nfiles && !ret; i++)
		ret = add_source(in, in->o.files[i], 0);
	if (!ret)
		ret = parse_words(in, words, nwords, err);
	if (!ret && in->nsrc == 0)
		ret = add_source(in, "-", 0);
	if (!ret && in->o.colsep)
		ret = compile_colsep(in, in->o.colsep, err);
	return ret;
}

/* A lone file is read as jobs need it; else every file now. */
static int read_sources(struct pep_inputs *in, struct pep_err *err)
{
	int ret = 0;

	if (in->nsrc == 1 && in->src[0].file && !in->o.read_all)
		return open_file(in->src[0].file, &in->stream, err);
	for (size_t s = 0; !ret && s < in->nsrc; s++)
		if (in->src[s].file)
			ret = read_source(in, &in->src[s], err);
	return ret ? ret : make_groups(in);
}

PEP_API int pep_inputs_open(struct pep_inputs **out, char *const *words,
			    int nwords, const struct pep_inputs_opts *opts,
			    struct pep_err *err)
{
	struct pep_inputs *in = calloc(1, sizeof(*in));
	int ret;

	*out = NULL;
	if (!in)
		return pep_err_set(err, -ENOMEM, "out of memory");
	if (opts)
		in->o = *opts;
	ret = add_sources(in, words, nwords, err);
	if (!ret)
		ret = read_sources(in, err);
	if (ret) {
		if (ret == -ENOMEM)
			pep_err_set(err, ret, "out of memory");
		pep_inputs_close(in);
		return ret;
	}
	*out = in;
	return 0;
}

PEP_API void pep_inputs_close(struct pep_inputs *in)
{
	if (!in)
		return;
	for (size_t s = 0; s < in->nsrc; s++) {
		for (size_t i = 0; i < in->src[s].n; i++)
			free(in->src[s].vals[i]);
		free(in->src[s].vals);
	}
	if (in->stream && in->stream != stdin)
		fclose(in->stream);
	if (in->has_re)
		regfree(&in->re);
	free(in->src);
	free(in->line);
	free(in->gfirst);
	free(in->glen);
	free(in->odo);
	free(in);
}

PEP_API int pep_inputs_use_stdin(const struct pep_inputs *in)
{
	for (size_t s = 0; s < in->nsrc; s++)
		if (in->src[s].file && !strcmp(in->src[s].file, "-"))
			return 1;
	return 0;
}

PEP_API long long pep_inputs_total(const struct pep_inputs *in)
{
	long long total = 1;

	if (in->stream)
		return -1;
	for (size_t g = 0; g < in->ngroups; g++) {
		if (in->glen[g] && total > (1LL << 40) / (long long)in->glen[g])
			return 1LL << 40;
		total *= (long long)in->glen[g];
	}
	return in->ngroups ? total : 0;
}

/* Add one argument (labelled) to a. */
static int args_add(struct pep_tpl_args *a, const char *v, size_t len,
		    unsigned int label)
{
	char **nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
	unsigned int *nl;

	if (!nv)
		return -ENOMEM;
	a->v = nv;
	nl = realloc(a->label, (a->n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	a->label = nl;
	if (!(a->v[a->n] = strndup(v, len)))
		return -ENOMEM;
	a->label[a->n++] = label;
	return 0;
}

/* A value, split into columns by --colsep (GNU parallel numbers them). */
static int add_split(struct pep_inputs *in, struct pep_tpl_args *a, const char *v,
		     unsigned int label, unsigned int *column)
{
	regmatch_t m;
	int ret = 0;

	if (!in->has_re)
		return args_add(a, v, strlen(v), label);
	while (!ret && regexec(&in->re, v, 1, &m, 0) == 0 && m.rm_eo > 0) {
		ret = args_add(a, v, (size_t)m.rm_so, ++*column);
		v += m.rm_eo;
	}
	return ret ? ret : args_add(a, v, strlen(v), ++*column);
}

/* The next combination of the sources' values, into a. 0: none left. */
static int next_record(struct pep_inputs *in, struct pep_tpl_args *a,
		       unsigned int *column)
{
	size_t len;

	if (in->stream) {
		const char *l = read_line(in->stream, &in->line, &in->linecap, &len);

		if (!l)
			return ferror(in->stream) ? -EIO : 0;
		return add_split(in, a, l, 1, column) ? -ENOMEM : 1;
	}
	if (in->done || pep_inputs_total(in) == 0)
		return 0;
	for (size_t g = 0; g < in->ngroups; g++)
		for (size_t s = in->gfirst[g]; s < in->gfirst[g + 1]; s++) {
			const struct source *src = &in->src[s];

			if (add_split(in, a, src->vals[in->odo[g] % src->n],
				      (unsigned int)s + 1, column))
				return -ENOMEM;
		}
	/* the odometer: the last group turns fastest */
	for (size_t g = in->ngroups; g-- > 0;) {
		if (++in->odo[g] < in->glen[g])
			return 1;
		in->odo[g] = 0;
	}
	in->done = 1;
	return 1;
}

static size_t args_bytes(const struct pep_tpl_args *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += strlen(a->v[i]) + 1;
	return n;
}

PEP_API int pep_inputs_next(struct pep_inputs *in, size_t per_job,
			    size_t max_bytes, struct pep_tpl_args *a,
			    struct pep_err *err)
{
	size_t want = per_job ? per_job : 1, got = 0;
	unsigned int column = 0;
	int ret = 1;

	*a = (struct pep_tpl_args){ 0 };
	while (got < want) {
		struct pep_tpl_args rec = { 0 };

		/* stop before a record that would make the job too long */
		if (got && max_bytes && args_bytes(a) >= max_bytes)
			break;
		ret = next_record(in, in->o.no_args ? &rec : a, &column);
		pep_tpl_args_free(&rec);
		if (ret <= 0)
			break;
		got++;
	}
	if (ret < 0) {
		if (ret == -ENOMEM)
			pep_err_set(err, ret, "out of memory");
		else
			pep_err_set(err, ret, "reading input: %s", strerror(-ret));
		pep_tpl_args_free(a);
		return ret;
	}
	return got > 0;
}
