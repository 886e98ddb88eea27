/*
 * --pipe: a stream cut into blocks for the jobs' stdin, as GNU parallel
 * cuts it: whole records (lines) only, about a block size each, or a
 * number of records each. A record longer than a block is one block;
 * the stream is read ahead only as far as the next cut needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_priv.h"

struct pep_blocks {
	FILE *f;
	size_t block;			/* bytes per block, about */
	size_t lines;			/* records per block instead */
	char *buf;
	size_t len, cap;
	int eof;
};

PEP_API size_t pep_blocks_cut(const char *buf, size_t len, size_t block,
			      size_t lines, int eof)
{
	const char *nl;

	if (!len)
		return 0;
	if (lines) {
		size_t seen = 0;

		for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf)));) {
			p++;
			if (++seen == lines)
				return (size_t)(p - buf);
		}
		return eof ? len : 0;
	}
	if (len > block) {
		nl = memrchr(buf, '\n', block);
		if (nl)
			return (size_t)(nl + 1 - buf);
		/* one record longer than a block: all of it */
		nl = memchr(buf + block, '\n', len - block);
		if (nl)
			return (size_t)(nl + 1 - buf);
	}
	return eof ? len : 0;
}

PEP_API int pep_blocks_open(struct pep_blocks **out, FILE *f,
			    size_t block_bytes, size_t lines,
			    struct pep_err *err)
{
	struct pep_blocks *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return pep_err_set(err, -ENOMEM, "out of memory");
	*b = (struct pep_blocks){ .f = f, .block = block_bytes, .lines = lines };
	*out = b;
	return 0;
}

PEP_API void pep_blocks_close(struct pep_blocks *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

/* Read more of the stream: 0, or -EIO, -ENOMEM (err). */
static int read_more(struct pep_blocks *b, struct pep_err *err)
{
	size_t want = b->block > 65536 ? b->block : 65536, n;

	if (b->len + want > b->cap) {
		char *nb = realloc(b->buf, b->len + want);

		if (!nb)
			return pep_err_set(err, -ENOMEM, "out of memory");
		b->buf = nb;
		b->cap = b->len + want;
	}
	n = fread(b->buf + b->len, 1, want, b->f);
	b->len += n;
	if (n < want) {
		if (ferror(b->f))
			return pep_err_set(err, -EIO, "reading a block: %s",
					   strerror(errno));
		b->eof = 1;
	}
	return 0;
}

PEP_API int pep_blocks_next(struct pep_blocks *b, char **data, size_t *len,
			    struct pep_err *err)
{
	size_t cut;
	int ret;

	*data = NULL;
	*len = 0;
	while (!(cut = pep_blocks_cut(b->buf, b->len, b->block, b->lines, b->eof))) {
		if (b->eof)
			return 0;
		ret = read_more(b, err);
		if (ret)
			return ret;
	}
	*data = malloc(cut);
	if (!*data)
		return pep_err_set(err, -ENOMEM, "out of memory");
	memcpy(*data, b->buf, cut);
	*len = cut;
	memmove(b->buf, b->buf + cut, b->len - cut);
	b->len -= cut;
	return 1;
}
