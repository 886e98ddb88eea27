/*
 * cli/pepita/run_tpl.h - a compiled command template, shared by its
 * compiler (run_template.c) and its expansion (run_expand.c); nothing
 * else looks inside.
 */
#ifndef CLI_PEPITA_RUN_TPL_H
#define CLI_PEPITA_RUN_TPL_H

#include "run.h"

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

struct run_tpl {
	enum tpl_kind kind;
	struct tword *words;
	size_t n;
	int uses_args, uses_slot;
};


#endif /* CLI_PEPITA_RUN_TPL_H */
