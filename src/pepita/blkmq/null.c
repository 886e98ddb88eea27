/*
 * The null target: a device of a given size that stores nothing. Reads
 * return zeros (as the kernel's null_blk does with memory_backed=0),
 * everything else succeeds at once. It measures a server's own cost.
 * No volatile cache, so no FLUSH cap, but a flush is accepted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/blkmq.h>

static int null_read(struct pep_blk_target *t, struct pep_blk_io *io)
{
	memset(io->req.buf, 0, io->req.len);
	pep_blk_complete(io, (int)io->req.len);
	return 0;
}

static int null_write(struct pep_blk_target *t, struct pep_blk_io *io)
{
	pep_blk_complete(io, (int)io->req.len);
	return 0;
}

static int null_done(struct pep_blk_target *t, struct pep_blk_io *io)
{
	pep_blk_complete(io, 0);
	return 0;
}

static void null_destroy(struct pep_blk_target *t)
{
	free(t);
}

static const struct pep_blk_target_ops null_ops = {
	.name = "null",
	.read = null_read,
	.write = null_write,
	.flush = null_done,
	.discard = null_done,
	.write_zeroes = null_done,
	.destroy = null_destroy,
};

PEP_API int pep_blk_null_create(struct pep_blk_target **out, uint64_t size,
				struct pep_err *err)
{
	struct pep_blk_target *t;

	if (size == 0 || size % 512)
		return pep_err_set(err, -EINVAL,
				   "null: size %llu is not a positive multiple of 512",
				   (unsigned long long)size);
	t = calloc(1, sizeof(*t));
	if (!t)
		return pep_err_set(err, -ENOMEM, "null: out of memory");
	t->ops = &null_ops;
	t->size = size;
	t->block_size = 512;
	t->caps = PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES;
	*out = t;
	return 0;
}
