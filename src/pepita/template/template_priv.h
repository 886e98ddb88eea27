/*
 * template_priv.h - inside the template module: a compiled template,
 * shared by its compiler (compile.c) and its expansion (expand.c), and
 * the growing string and the quoting every file of the module writes
 * with (quote.c). Not installed.
 */
#ifndef PEPITA_TEMPLATE_PRIV_H
#define PEPITA_TEMPLATE_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "include <pepita/template.h> instead"
#endif

#include <stddef.h>

#include <pepita/template.h>

enum repl_what { R_ARGS, R_POS, R_SEQ, R_SLOT };
enum repl_part { P_ALL, P_NOEXT, P_BASE, P_DIR, P_BASE_NOEXT };
enum seg_ctx { C_RAW, C_UNQ, C_DQ, C_SQ, C_COMMENT };

struct seg {
	const char *lit;		/* literal text; NULL: a replacement */
	size_t len;
	enum repl_what what;
	int pos;			/* R_POS: from 1, or < 0 from the end */
	enum repl_part part;
	enum seg_ctx ctx;
};

/* What -X repeats: a shell word (between unquoted blanks) or an argv word. */
struct piece {
	struct seg *segs;
	size_t n;
	int has_args;			/* holds an R_ARGS */
};

struct tword {
	int code;			/* shell code, else one argv entry */
	struct piece *pieces;
	size_t n;
};

enum tpl_kind { T_LINES, T_SHELL, T_ARGV };

struct pep_tpl {
	enum tpl_kind kind;
	struct tword *words;
	size_t n;
	int uses_args, uses_slot;
};

/* A growing NUL-terminated string; all-zero is empty. */
struct pep__buf {
	char *s;
	size_t len, cap;
};

/* Append n bytes (or a string): 0 or -ENOMEM. */
int pep__buf_add(struct pep__buf *b, const char *s, size_t n);
int pep__buf_str(struct pep__buf *b, const char *s);

/* s quoted as pep_shell_quote() says, appended to b: 0 or -ENOMEM. */
int pep__quote(struct pep__buf *b, const char *s, size_t n);
/* s appended for where it lands (enum seg_ctx): 0 or -ENOMEM. */
int pep__quote_ctx(struct pep__buf *b, enum seg_ctx ctx, const char *s,
		   size_t n);

#endif /* PEPITA_TEMPLATE_PRIV_H */
