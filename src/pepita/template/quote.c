/*
 * Shell quoting, for each place an argument can land in shell code (see
 * compile.c for how that place is found): outside quotes as GNU parallel
 * quotes (its shell_quote_scalar_default), inside "..." with backslashes,
 * inside '...' by closing and reopening the quotes, inside a # comment by
 * keeping it on its line. And the growing string the module writes into.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_priv.h"

int pep__buf_add(struct pep__buf *b, const char *s, size_t n)
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

int pep__buf_str(struct pep__buf *b, const char *s)
{
	return pep__buf_add(b, s, strlen(s));
}

static int quote_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-_.+/", c));
}

int pep__quote(struct pep__buf *b, const char *s, size_t n)
{
	size_t i, start = b->len;
	int ret = 0;

	for (i = 0; i < n && quote_safe(s[i]); i++)
		;
	if (n == 0)
		return pep__buf_add(b, "''", 2);
	if (i == n)
		return pep__buf_add(b, s, n);
	ret = pep__buf_add(b, "'", 1);
	for (i = 0; i < n && !ret; i++)
		ret = s[i] == '\'' ? pep__buf_add(b, "'\"'\"'", 5) :
				     pep__buf_add(b, s + i, 1);
	if (!ret)
		ret = pep__buf_add(b, "'", 1);
	/* GNU parallel drops the '' a leading or trailing ' leaves */
	if (!ret && b->len - start >= 2 && !strncmp(b->s + start, "''", 2)) {
		memmove(b->s + start, b->s + start + 2, b->len - start - 1);
		b->len -= 2;
	}
	if (!ret && b->len - start >= 2 && !strncmp(b->s + b->len - 2, "''", 2))
		b->s[b->len -= 2] = '\0';
	return ret;
}

PEP_API int pep_shell_quote(const char *s, size_t n, char *buf, size_t size)
{
	struct pep__buf b = { 0 };
	int ret = pep__quote(&b, s, n);

	if (!ret && b.len > INT_MAX)
		ret = -EOVERFLOW;
	if (!ret && size > 0)
		snprintf(buf, size, "%s", b.s ? b.s : "");
	if (!ret)
		ret = (int)b.len;
	free(b.s);
	return ret;
}

/* Inside "...": \ before $ ` " \ (a newline is itself there). */
static int quote_dq(struct pep__buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		if (strchr("$`\"\\", s[i]))
			ret = pep__buf_add(b, "\\", 1);
		if (!ret)
			ret = pep__buf_add(b, s + i, 1);
	}
	return ret;
}

/* Inside '...': close, an escaped ', reopen. */
static int quote_sq(struct pep__buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = s[i] == '\'' ? pep__buf_add(b, "'\\''", 4) :
				     pep__buf_add(b, s + i, 1);
	return ret;
}

/* In a # comment only a newline matters: it would end the comment. */
static int quote_comment(struct pep__buf *b, const char *s, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = pep__buf_add(b, s[i] == '\n' ? " " : s + i, 1);
	return ret;
}

int pep__quote_ctx(struct pep__buf *b, enum seg_ctx ctx, const char *s,
		   size_t n)
{
	switch (ctx) {
	case C_UNQ:
		return pep__quote(b, s, n);
	case C_DQ:
		return quote_dq(b, s, n);
	case C_SQ:
		return quote_sq(b, s, n);
	case C_COMMENT:
		return quote_comment(b, s, n);
	default:
		return pep__buf_add(b, s, n);
	}
}
