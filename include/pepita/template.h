/*
 * pepita/template.h - command templates as GNU parallel writes them, the
 * input sources that fill them and their combinations, and shell quoting.
 *
 * A template is a command whose words hold replacement strings:
 *
 *   {} {.} {/} {//} {/.}       the job's arguments (without the extension,
 *                              base name, directory, base name without it)
 *   {N} {N.} {N/} {N//} {N/.}  argument N (from 1; {-N} counts from the end)
 *   {#} {%}                    the job's number, its slot
 *
 * An argument never becomes code. A plain word of several gives the program
 * one argv entry, whatever the argument holds. A word with shell syntax, a
 * one-word command with spaces and a command read from input are shell code
 * run by /bin/sh -c: each replacement is quoted for where it lands (outside
 * quotes as GNU parallel quotes, inside "..." or '...'), and a template
 * where that cannot be sure (`...`, ${...}, $'...', here-documents) is
 * refused rather than guessed at.
 *
 * Input sources are GNU parallel's: `::: A B` values and `:::: FILE` (or
 * the -a files) lines, one value each. Several sources give every
 * combination, the first source varying slowest; `:::+` and `::::+` link a
 * source to the one before it (value i with value i, as many as the shorter
 * has), and the link option links them all (the shorter ones wrap). A
 * column separator splits each value into columns. For --pipe, a stream
 * is cut into blocks at record ends instead.
 *
 * Threading: a compiled pep_tpl is read-only, and any number of threads may
 * expand it at once. A pep_inputs or a pep_blocks is used by one thread at
 * a time. pep_shell_quote() and pep_blocks_cut() are pure (any thread).
 */
#ifndef PEPITA_TEMPLATE_H
#define PEPITA_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- one job's arguments ---------------------------------------------- */

/* Plain: what pep_inputs_next() fills and a template expands. */
struct pep_tpl_args {
	char **v;			/* n malloc'd strings */
	unsigned int *label;		/* each one's input source, or column
					   with a separator, from 1 */
	size_t n;
};

/* Free what a holds and zero it (a may be NULL). */
PEP_API void pep_tpl_args_free(struct pep_tpl_args *a);

/* How a replacement string takes a job of several arguments. */
enum pep_tpl_multi {
	PEP_TPL_JOIN,			/* {} is all of them, space-separated (-m) */
	PEP_TPL_CONTEXT,		/* the word around {} repeats (-X, -N) */
};

struct pep_tpl_job {
	const struct pep_tpl_args *args;
	uint64_t seq;			/* {#} */
	unsigned int slot;		/* {%} */
	enum pep_tpl_multi multi;
};

/* --- templates ---------------------------------------------------------- */

struct pep_tpl;				/* opaque: the compiled words */

/*
 * Compile a command from its nwords words (0: each input is a command
 * line, run by the shell). A single word with spaces or shell syntax is a
 * shell script, as is any word of several that holds a replacement string
 * among shell syntax (sh -c 'echo {}'). The template points into words,
 * which must outlive it. 0; -EINVAL for a replacement string that cannot
 * be quoted safely, or one pepita lacks ({= =}, a position past 999999),
 * err naming it; -ENOMEM.
 */
PEP_API int pep_tpl_compile(struct pep_tpl **out, char *const *words,
			    int nwords, struct pep_err *err);

/* One word that is never shell code (a file name such as --results
 * NAME). Errors as pep_tpl_compile(). */
PEP_API int pep_tpl_compile_plain(struct pep_tpl **out, const char *word,
				  struct pep_err *err);

/* t may be NULL. */
PEP_API void pep_tpl_free(struct pep_tpl *t);

/* The template holds a replacement string (else the arguments are
 * appended to the command, quoted). */
PEP_API int pep_tpl_uses_args(const struct pep_tpl *t);
/* It holds {%}, the job's slot. */
PEP_API int pep_tpl_uses_slot(const struct pep_tpl *t);
/* It is run by /bin/sh -c (a one-word script, or commands from input). */
PEP_API int pep_tpl_is_shell(const struct pep_tpl *t);

/*
 * One job's argv (NULL-terminated, each string and the array malloc'd:
 * pep_tpl_argv_free()) and the command as a shell would read it (malloc'd;
 * for dry runs, job logs and reports). 0 or -ENOMEM.
 */
PEP_API int pep_tpl_expand(const struct pep_tpl *t, const struct pep_tpl_job *job,
			   char ***argv, char **display, struct pep_err *err);

/* The words with replacement strings replaced, unquoted, space-separated
 * (a file name): *out malloc'd. 0 or -ENOMEM. */
PEP_API int pep_tpl_expand_raw(const struct pep_tpl *t,
			       const struct pep_tpl_job *job, char **out,
			       struct pep_err *err);

/* Free an argv from pep_tpl_expand() (NULL allowed). */
PEP_API void pep_tpl_argv_free(char **argv);

/*
 * The n bytes at s quoted for a POSIX shell exactly as GNU parallel quotes
 * them: as they are when every byte is one of -_.+/ or alphanumeric, ''
 * when empty, else in single quotes with each ' written '"'"'. snprintf
 * semantics: returns the quoted length, writes at most size - 1 bytes and
 * a NUL into buf (when size > 0); -ENOMEM, or -EOVERFLOW past INT_MAX.
 */
PEP_API int pep_shell_quote(const char *s, size_t n, char *buf, size_t size);

/* --- input sources ------------------------------------------------------ */

struct pep_inputs;			/* opaque: sources, values, position */

/* Plain: all-zero means one source, stdin, read as jobs need it. */
struct pep_inputs_opts {
	const char *const *files;	/* nfiles sources before the words' (-a);
					   "-" is stdin */
	int nfiles;
	const char *colsep;		/* split values into columns at this
					   extended regular expression (\t, \n
					   as Perl's); NULL: no columns */
	int no_args;			/* jobs take records but no arguments (-N 0) */
	int link;			/* every source linked, the shorter wrap */
	int read_all;			/* read every source before the first job */
};

/*
 * Open the sources the nwords words name (::: A B :::+ C :::: F ::::+ G),
 * after opts->files; with neither, stdin. A lone file source is read as
 * jobs need it (unless read_all), so an endless pipe still feeds jobs;
 * otherwise every file is read here. 0; -EINVAL for a :::+ with no source
 * before it or a column separator that is not a regular expression; -errno
 * for a file that cannot be opened, -EIO one that cannot be read; -ENOMEM.
 * err names what was wrong.
 */
PEP_API int pep_inputs_open(struct pep_inputs **out, char *const *words,
			    int nwords, const struct pep_inputs_opts *opts,
			    struct pep_err *err);

/* word opens an input source (:::, :::+, ::::, ::::+): a command's words
 * end before the first such word. Any thread. */
PEP_API int pep_inputs_is_separator(const char *word);

/* in may be NULL. Closes the files it opened, never stdin. */
PEP_API void pep_inputs_close(struct pep_inputs *in);

/* Some source is stdin. */
PEP_API int pep_inputs_use_stdin(const struct pep_inputs *in);

/* How many records there are (capped at 2^40) when every source was read
 * at open; -1 when one is read as jobs need it. */
PEP_API long long pep_inputs_total(const struct pep_inputs *in);

/*
 * The next job's arguments into *a (owned by the caller:
 * pep_tpl_args_free()): one record (a line, or one combination of every
 * source's values), split into columns; per_job > 0 (-N, -X, -m): up to
 * that many records, and none more once the arguments reach max_bytes
 * (0: no limit). 1 with *a filled, 0 at the end, -EIO or -ENOMEM.
 */
PEP_API int pep_inputs_next(struct pep_inputs *in, size_t per_job,
			    size_t max_bytes, struct pep_tpl_args *a,
			    struct pep_err *err);

/* --- blocks (--pipe) ---------------------------------------------------- */

/*
 * Where to cut the len bytes at buf into one block (eof: no more to come):
 * after `lines` newlines when lines > 0, else at the last newline within
 * block_bytes (at the first after it when a record is longer). 0: read
 * more first.
 */
PEP_API size_t pep_blocks_cut(const char *buf, size_t len, size_t block_bytes,
			      size_t lines, int eof);

struct pep_blocks;			/* opaque: a stream and its read-ahead */

/* Blocks of about block_bytes (or of `lines` records) from f, which the
 * caller keeps and closes after pep_blocks_close(). 0 or -ENOMEM. */
PEP_API int pep_blocks_open(struct pep_blocks **out, FILE *f,
			    size_t block_bytes, size_t lines,
			    struct pep_err *err);

/* The next block in *data (malloc'd) and *len: 1, 0 at the end, -EIO or
 * -ENOMEM. */
PEP_API int pep_blocks_next(struct pep_blocks *b, char **data, size_t *len,
			    struct pep_err *err);

/* b may be NULL. */
PEP_API void pep_blocks_close(struct pep_blocks *b);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_TEMPLATE_H */
