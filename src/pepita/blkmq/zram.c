/*
 * The zram target: a block device whose 4 KiB blocks live in a compressed
 * page store (pepita/zram.h). Like the kernel's zram it declares 4 KiB
 * logical blocks, so every request is whole pages; requests run to the end
 * on the queue's thread (compression is CPU work, there is nothing to wait
 * for), and the store's per-page locks let every queue run at once.
 *
 * Discard and write-zeroes forget the pages, which then read as zeros and
 * cost nothing. No volatile cache: flush succeeds at once. A write the
 * store's memory limit refuses fails with -ENOSPC, which the block layer
 * reports as "no space".
 */
#include <errno.h>
#include <stdlib.h>

#include <pepita/blkmq.h>
#include <pepita/zram.h>

#define PAGE PEP_ZRAM_PAGE_SIZE

static struct pep_zram_store *store_of(struct pep_blk_target *t)
{
	return t->priv;
}

/* The request's first page and page count; -EIO when not whole pages. */
static int pages_of(const struct pep_blk_io *io, uint64_t *first,
		    uint64_t *count)
{
	if (io->req.offset % PAGE || io->req.len % PAGE)
		return -EIO;
	*first = io->req.offset / PAGE;
	*count = io->req.len / PAGE;
	return 0;
}

static int zram_read(struct pep_blk_target *t, struct pep_blk_io *io)
{
	char *buf = io->req.buf;
	uint64_t first, n, i;
	int ret = pages_of(io, &first, &n);

	for (i = 0; ret == 0 && i < n; i++)
		ret = pep_zram_store_read(store_of(t), first + i, buf + i * PAGE);
	pep_blk_complete(io, ret ? -EIO : (int)io->req.len);
	return 0;
}

static int zram_write(struct pep_blk_target *t, struct pep_blk_io *io)
{
	const char *buf = io->req.buf;
	uint64_t first, n, i;
	int ret = pages_of(io, &first, &n);

	for (i = 0; ret == 0 && i < n; i++)
		ret = pep_zram_store_write(store_of(t), first + i, buf + i * PAGE);
	if (ret == -ENOMEM)
		ret = -ENOSPC;
	pep_blk_complete(io, ret ? ret : (int)io->req.len);
	return 0;
}

static int zram_flush(struct pep_blk_target *t, struct pep_blk_io *io)
{
	pep_blk_complete(io, 0);
	return 0;
}

static int zram_forget(struct pep_blk_target *t, struct pep_blk_io *io)
{
	uint64_t first, n, i;
	int ret = pages_of(io, &first, &n);

	for (i = 0; ret == 0 && i < n; i++)
		ret = pep_zram_store_discard(store_of(t), first + i);
	pep_blk_complete(io, ret ? -EIO : 0);
	return 0;
}

static void zram_destroy(struct pep_blk_target *t)
{
	pep_zram_store_destroy(store_of(t));
	free(t);
}

static const struct pep_blk_target_ops zram_ops = {
	.name = "zram",
	.read = zram_read,
	.write = zram_write,
	.flush = zram_flush,
	.discard = zram_forget,
	.write_zeroes = zram_forget,
	.destroy = zram_destroy,
};

PEP_API int pep_blk_zram_create(struct pep_blk_target **out,
				const struct pep_zram_store_config *cfg,
				struct pep_err *err)
{
	struct pep_blk_target *t;
	struct pep_zram_store *s;
	int ret;

	ret = pep_zram_store_create(&s, cfg, err);
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t) {
		pep_zram_store_destroy(s);
		return pep_err_set(err, -ENOMEM, "zram: out of memory");
	}
	t->ops = &zram_ops;
	t->size = cfg->size;
	t->block_size = PAGE;
	t->caps = PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES;
	t->priv = s;
	*out = t;
	return 0;
}

PEP_API struct pep_zram_store *pep_blk_zram_store(struct pep_blk_target *t)
{
	return t && t->ops == &zram_ops ? store_of(t) : NULL;
}
