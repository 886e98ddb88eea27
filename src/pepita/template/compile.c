/*
 * Command templates, compiled: GNU parallel's replacement strings, and
 * where each lands in the shell code around it, so that expand.c can
 * quote it there and an argument never becomes code.
 *
 *   {} {.} {/} {//} {/.}       the job's arguments (their base name, ...)
 *   {N} {N.} {N/} {N//} {N/.}  argument N (from 1; -N counts from the end)
 *   {#} {%}                    the job's number, its slot
 *
 * A word of several that is plain text gives the program one argv entry,
 * whatever the argument holds: no shell reads it. A word with shell syntax
 * (sh -c 'cp {} "{.}.bak"'), a one-word command with spaces, and a command
 * read from input are shell code: each replacement is quoted for where it
 * lands, which a small scanner of POSIX sh syntax works out: outside
 * quotes as GNU parallel does ('it'"'"'s'), inside "..." with backslashes,
 * inside '...' by closing and reopening the quotes. Where the quoting
 * depends on more than that (`...`, ${...}, $'...', here-documents) the
 * template is refused rather than guessed at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_priv.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct { const char *s; enum repl_part part; } parts[] = {
	{ "}", P_ALL }, { ".}", P_NOEXT }, { "/}", P_BASE },
	{ "//}", P_DIR }, { "/.}", P_BASE_NOEXT },
};

/* A replacement string at s: its length (0: none, -EINVAL: refused, err). */
static int parse_repl(const char *s, struct seg *sg, struct pep_err *err)
{
	const char *p = s + 1;
	long pos = 0;

	if (s[0] != '{')
		return 0;
	if (s[1] == '=' && strstr(s + 2, "=}"))
		return pep_err_set(err, -EINVAL, "'{= ... =}' (a perl "
				   "expression) is not supported");
	sg->lit = NULL;
	sg->pos = 0;
	if (!strncmp(p, "#}", 2) || !strncmp(p, "%}", 2)) {
		sg->what = *p == '#' ? R_SEQ : R_SLOT;
		sg->part = P_ALL;
		return 3;
	}
	if (*p == '-' || (*p >= '1' && *p <= '9')) {
		const char *d = p + (*p == '-');

		if (*d < '1' || *d > '9')
			return 0;
		for (; *d >= '0' && *d <= '9'; d++)
			pos = pos < 1000000 ? pos * 10 + (*d - '0') : pos;
		sg->pos = *p == '-' ? (int)-pos : (int)pos;
		p = d;
	}
	for (size_t k = 0; k < ARRAY_SIZE(parts); k++) {
		size_t n = strlen(parts[k].s);

		if (strncmp(p, parts[k].s, n))
			continue;
		if (pos >= 1000000)
			return pep_err_set(err, -EINVAL, "'%.*s': a position "
					   "from 1 to 999999",
					   (int)(p - s + (long)n), s);
		sg->what = sg->pos ? R_POS : R_ARGS;
		sg->part = parts[k].part;
		return (int)(p - s + (long)n);
	}
	return 0;
}

/* Building the pieces of a word. */
struct builder {
	struct piece *pieces;
	size_t n, cap;
	int uses_args, uses_slot;
};

static struct piece *cur_piece(struct builder *b)
{
	if (b->n == 0 && b->cap == 0) {
		b->pieces = calloc(4, sizeof(*b->pieces));
		if (!b->pieces)
			return NULL;
		b->cap = 4;
		b->n = 1;
	}
	return &b->pieces[b->n - 1];
}

static int add_seg(struct builder *b, const struct seg *sg)
{
	struct piece *p = cur_piece(b);
	struct seg *ns;

	if (!p)
		return -ENOMEM;
	/* a literal right after a literal of the same word: one segment */
	if (sg->lit && p->n && p->segs[p->n - 1].lit &&
	    p->segs[p->n - 1].lit + p->segs[p->n - 1].len == sg->lit) {
		p->segs[p->n - 1].len += sg->len;
		return 0;
	}
	ns = realloc(p->segs, (p->n + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->segs = ns;
	p->segs[p->n++] = *sg;
	if (!sg->lit) {
		p->has_args |= sg->what == R_ARGS;
		b->uses_args = 1;
		b->uses_slot |= sg->what == R_SLOT;
	}
	return 0;
}

static int new_piece(struct builder *b)
{
	if (!cur_piece(b))
		return -ENOMEM;
	if (b->n == b->cap) {
		struct piece *np = realloc(b->pieces, b->cap * 2 * sizeof(*np));

		if (!np)
			return -ENOMEM;
		b->pieces = np;
		b->cap *= 2;
	}
	memset(&b->pieces[b->n++], 0, sizeof(struct piece));
	return 0;
}

/* The shell scanner: where each byte of a command stands. */
enum frame_type { F_TOP, F_CMDSUB, F_PARAM, F_SQ, F_DQ, F_BACKTICK, F_COMMENT };

struct frame {
	enum frame_type type;
	int paren;			/* ( ) inside, not closing $( */
	int brace;			/* { } inside ${ */
	int kase;			/* case ... esac: a ) ends a pattern */
};

struct scanner {
	const char *s;
	size_t i;
	struct frame st[64];
	int depth;
	int word_start;			/* at the start of a shell word */
	int heredoc;			/* 1: after <<, 2: past its line */
	int ansi;			/* a $'...' was seen */
	int dq_backslash;		/* the previous byte: a literal \ in "..." */
	struct builder *b;
	struct pep_err *err;
};

static int push(struct scanner *sc, enum frame_type t)
{
	if (sc->depth == (int)ARRAY_SIZE(sc->st)) {
		return pep_err_set(sc->err, -EINVAL,
				   "shell command nested too deep");
	}
	sc->st[sc->depth++] = (struct frame){ .type = t };
	return 0;
}

static int delim(char c)
{
	return !c || strchr(" \t\n;&|()<>", c);
}

static int refuse(struct scanner *sc, const char *where)
{
	return pep_err_set(sc->err, -EINVAL, "a replacement string %s cannot "
			   "be quoted safely: %s", where, sc->s);
}

/* A replacement string at sc->i, in the current frame. */
static int scan_repl(struct scanner *sc, struct seg *sg, int len)
{
	enum frame_type t = sc->st[sc->depth - 1].type;
	static const enum seg_ctx ctx[] = {
		[F_TOP] = C_UNQ, [F_CMDSUB] = C_UNQ, [F_DQ] = C_DQ,
		[F_SQ] = C_SQ, [F_COMMENT] = C_COMMENT,
	};

	if (t == F_PARAM)
		return refuse(sc, "inside ${...}");
	if (t == F_BACKTICK)
		return refuse(sc, "inside `...` (use $(...))");
	if (sc->ansi)
		return refuse(sc, "after $'...'");
	if (sc->heredoc == 2)
		return refuse(sc, "in or after a here-document");
	if (sc->dq_backslash)
		return refuse(sc, "right after a \\");
	sg->ctx = ctx[t];
	sc->i += (size_t)len;
	sc->word_start = 0;
	return add_seg(sc->b, sg);
}

/* $ followed by { ( or ': the frames they open. */
static int scan_dollar(struct scanner *sc, struct seg *probe)
{
	const char *s = sc->s + sc->i;

	if (parse_repl(s + 1, probe, NULL) != 0)
		return pep_err_set(sc->err, -EINVAL, "'$' right before a "
				   "replacement string is ambiguous: %s", sc->s);
	if (s[1] == '{' || s[1] == '(') {
		sc->i += 2;
		return push(sc, s[1] == '{' ? F_PARAM : F_CMDSUB);
	}
	if (s[1] == '\'' && sc->st[sc->depth - 1].type != F_DQ)
		sc->ansi = 1;
	sc->i++;
	return 0;
}

/* One byte outside quotes (top level, $(...), ${...}). */
static int scan_unquoted(struct scanner *sc, struct frame *f, struct seg *probe)
{
	const char *s = sc->s + sc->i;
	int ws = sc->word_start;

	sc->word_start = delim(*s);
	switch (*s) {
	case '\\':
		sc->i += s[1] ? 2 : 1;
		return 0;
	case '\'':
		sc->i++;
		return push(sc, F_SQ);
	case '"':
		sc->i++;
		return push(sc, F_DQ);
	case '`':
		sc->i++;
		return push(sc, F_BACKTICK);
	case '$':
		return scan_dollar(sc, probe);
	case '#':
		sc->i++;
		return ws && f->type != F_PARAM ? push(sc, F_COMMENT) : 0;
	case '(':
		f->paren++;
		break;
	case ')':
		if (f->paren > 0)
			f->paren--;
		else if (f->type == F_CMDSUB && !f->kase)
			sc->depth--;
		break;
	case '{':
		f->brace += f->type == F_PARAM;
		break;
	case '}':
		if (f->type == F_PARAM && f->brace-- == 0)
			sc->depth--;
		break;
	case '<':
		if (s[1] == '<' && s[2] != '<' && f->type != F_PARAM) {
			sc->heredoc = sc->heredoc ? sc->heredoc : 1;
			sc->i += 2;
			return 0;
		}
		if (s[1] == '<')	/* <<< here-string: a word */
			sc->i += 2;
		break;
	case '\n':
		if (sc->heredoc == 1)
			sc->heredoc = 2;
		break;
	default:
		if (ws && !strncmp(s, "case", 4) && delim(s[4]))
			f->kase++;
		else if (ws && !strncmp(s, "esac", 4) && delim(s[4]) && f->kase)
			f->kase--;
		break;
	}
	sc->i++;
	return 0;
}

/* One byte inside "...". */
static int scan_dq(struct scanner *sc)
{
	const char *s = sc->s + sc->i;
	struct seg probe;

	if (*s == '\\') {
		if (s[1] && strchr("$`\"\\\n", s[1])) {
			sc->i += 2;
		} else {
			sc->i++;
			sc->dq_backslash = 1;	/* for the next byte only */
		}
		return 0;
	}
	if (*s == '"') {
		sc->depth--;
		sc->i++;
		return 0;
	}
	if (*s == '`') {
		sc->i++;
		return push(sc, F_BACKTICK);
	}
	if (*s == '$' && s[1] != '\'')	/* $'...' means nothing in "..." */
		return scan_dollar(sc, &probe);
	sc->i++;
	return 0;
}

static int scan_byte(struct scanner *sc)
{
	struct frame *f = &sc->st[sc->depth - 1];
	const char *s = sc->s + sc->i;
	struct seg probe;

	switch (f->type) {
	case F_SQ:
		sc->depth -= *s == '\'';
		sc->i++;
		return 0;
	case F_COMMENT:
		if (*s == '\n')
			sc->depth--;	/* the newline is the parent's */
		else
			sc->i++;
		return 0;
	case F_BACKTICK:
		if (*s == '`')
			sc->depth--;
		sc->i += *s == '\\' && s[1] ? 2 : 1;
		return 0;
	case F_DQ:
		return scan_dq(sc);
	default:
		return scan_unquoted(sc, f, &probe);
	}
}

/* A run of blanks at top level is a piece of its own. */
static int piece_break(struct scanner *sc, int *blank)
{
	int is_blank = sc->depth == 1 && strchr(" \t\n", sc->s[sc->i]);
	struct piece *p = cur_piece(sc->b);

	if (!p)
		return -ENOMEM;
	if (is_blank == *blank || !p->n) {
		*blank = is_blank;
		return 0;
	}
	*blank = is_blank;
	return new_piece(sc->b);
}

/* Split a code word into pieces and segments with their contexts. */
static int scan_code(const char *s, struct builder *b, struct pep_err *err)
{
	struct scanner sc = { .s = s, .b = b, .err = err, .word_start = 1 };
	int ret = 0, blank = 0;

	sc.st[sc.depth++] = (struct frame){ .type = F_TOP };
	while (!ret && s[sc.i]) {
		struct seg sg = { 0 };
		int dq_bs = sc.dq_backslash, n;
		size_t start = sc.i;

		/* blanks at top level separate the words -X repeats */
		ret = piece_break(&sc, &blank);
		if (ret)
			break;
		n = parse_repl(s + sc.i, &sg, err);
		if (n < 0)
			return n;
		if (n > 0) {
			ret = scan_repl(&sc, &sg, n);
			sc.dq_backslash = 0;
			continue;
		}
		ret = scan_byte(&sc);
		if (dq_bs)
			sc.dq_backslash = 0;
		if (!ret && sc.i > start)
			ret = add_seg(b, &(struct seg){ .lit = s + start,
							.len = sc.i - start });
	}
	return ret;
}

/* A plain argv word: literal text and replacements, no shell. */
static int scan_plain(const char *s, struct builder *b, struct pep_err *err)
{
	size_t i = 0, start = 0;
	int ret = 0;

	while (!ret && s[i]) {
		struct seg sg = { .ctx = C_RAW };
		int n = parse_repl(s + i, &sg, err);

		if (n < 0)
			return n;
		if (n == 0) {
			i++;
			continue;
		}
		if (i > start)
			ret = add_seg(b, &(struct seg){ .lit = s + start,
							.len = i - start });
		if (!ret)
			ret = add_seg(b, &sg);
		i += (size_t)n;
		start = i;
	}
	if (!ret && i > start)
		ret = add_seg(b, &(struct seg){ .lit = s + start, .len = i - start });
	return ret;
}

/* Shell syntax in a word of several: then it is a shell script. */
static int has_shell_syntax(const char *w)
{
	return strpbrk(w, " \t\n'\"$`\\;|&<>()") != NULL;
}

/* Does this word hold a replacement string? */
static int has_repl(const char *w)
{
	struct seg sg;

	for (; *w; w++)
		if (parse_repl(w, &sg, NULL) != 0)
			return 1;
	return 0;
}

static int compile_word(struct pep_tpl *t, struct tword *tw, const char *w,
			int code, struct pep_err *err)
{
	struct builder b = { 0 };
	int ret;

	tw->code = code;
	ret = code ? scan_code(w, &b, err) : scan_plain(w, &b, err);
	if (!ret && !cur_piece(&b))
		ret = -ENOMEM;
	tw->pieces = b.pieces;
	tw->n = b.n;
	t->uses_args |= b.uses_args;
	t->uses_slot |= b.uses_slot;
	if (ret == -ENOMEM)
		pep_err_set(err, ret, "out of memory");
	return ret;
}

PEP_API void pep_tpl_free(struct pep_tpl *t)
{
	if (!t)
		return;
	for (size_t w = 0; w < t->n; w++) {
		for (size_t p = 0; p < t->words[w].n; p++)
			free(t->words[w].pieces[p].segs);
		free(t->words[w].pieces);
	}
	free(t->words);
	free(t);
}

/* An empty template with room for nwords words. */
static struct pep_tpl *tpl_alloc(size_t nwords, struct pep_err *err)
{
	struct pep_tpl *t = calloc(1, sizeof(*t));

	if (t && nwords && !(t->words = calloc(nwords, sizeof(*t->words)))) {
		free(t);
		t = NULL;
	}
	if (!t)
		pep_err_set(err, -ENOMEM, "out of memory");
	return t;
}

PEP_API int pep_tpl_compile(struct pep_tpl **out, char *const *words,
			    int nwords, struct pep_err *err)
{
	struct pep_tpl *t = tpl_alloc(nwords > 0 ? (size_t)nwords : 0, err);
	int ret = 0;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->kind = nwords <= 0 ? T_LINES :
		  nwords == 1 && has_shell_syntax(words[0]) ? T_SHELL : T_ARGV;
	for (int i = 0; i < nwords && !ret; i++) {
		int code = t->kind == T_SHELL ||
			   (has_shell_syntax(words[i]) && has_repl(words[i]));

		ret = compile_word(t, &t->words[t->n++], words[i], code, err);
	}
	if (ret) {
		pep_tpl_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

PEP_API int pep_tpl_compile_plain(struct pep_tpl **out, const char *word,
				  struct pep_err *err)
{
	struct pep_tpl *t = tpl_alloc(1, err);
	int ret;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->kind = T_ARGV;
	ret = compile_word(t, &t->words[t->n++], word, 0, err);
	if (ret) {
		pep_tpl_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

PEP_API int pep_tpl_uses_args(const struct pep_tpl *t)
{
	return t->uses_args;
}

PEP_API int pep_tpl_uses_slot(const struct pep_tpl *t)
{
	return t->uses_slot;
}

PEP_API int pep_tpl_is_shell(const struct pep_tpl *t)
{
	return t->kind != T_ARGV;
}
