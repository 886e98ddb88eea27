/*
 * The ram target: a device in one anonymous private mapping of its size.
 * MAP_NORESERVE and lazy faulting mean untouched space costs nothing: a
 * 1 TiB device on a 4 GiB machine works until 4 GiB have been written.
 * Reads of never-written space return zeros.
 *
 * Discard and write-zeroes hand whole pages inside the range back with
 * madvise(MADV_DONTNEED), after which they read as zeros, and memset the
 * partial pages at either end; write-zeroes with NOUNMAP keeps the memory
 * and memsets all of it. Some qemu-user versions answer MADV_DONTNEED
 * with success and do nothing, so creation checks on one page that the
 * call really zeroes, and memsets everything where it does not.
 *
 * No volatile cache: flush succeeds at once. Queues touch disjoint or
 * racing ranges exactly as a disk's users do; no lock is needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pepita/blkmq.h>

struct ram {
	struct pep_blk_target t;
	unsigned char *map;
	size_t page;
	int dontneed_zeroes;	/* MADV_DONTNEED really zeroes pages here */
};

static struct ram *to_ram(struct pep_blk_target *t)
{
	return t->priv;
}

static int ram_read(struct pep_blk_target *t, struct pep_blk_io *io)
{
	memcpy(io->req.buf, to_ram(t)->map + io->req.offset, io->req.len);
	pep_blk_complete(io, (int)io->req.len);
	return 0;
}

static int ram_write(struct pep_blk_target *t, struct pep_blk_io *io)
{
	memcpy(to_ram(t)->map + io->req.offset, io->req.buf, io->req.len);
	pep_blk_complete(io, (int)io->req.len);
	return 0;
}

static int ram_flush(struct pep_blk_target *t, struct pep_blk_io *io)
{
	pep_blk_complete(io, 0);
	return 0;
}

/* Zero [off, off + len): whole pages back to the kernel when unmap. */
static void ram_zero(struct ram *r, uint64_t off, uint64_t len, int unmap)
{
	unsigned char *p = r->map + off, *end = p + len, *a, *b;
	uintptr_t mask = r->page - 1;

	a = (unsigned char *)(((uintptr_t)p + mask) & ~mask);
	b = (unsigned char *)((uintptr_t)end & ~mask);
	if (!unmap || !r->dontneed_zeroes || a >= b) {
		memset(p, 0, len);
		return;
	}
	memset(p, 0, (size_t)(a - p));
	if (madvise(a, (size_t)(b - a), MADV_DONTNEED) < 0)
		memset(a, 0, (size_t)(b - a));
	memset(b, 0, (size_t)(end - b));
}

static int ram_discard(struct pep_blk_target *t, struct pep_blk_io *io)
{
	ram_zero(to_ram(t), io->req.offset, io->req.len, 1);
	pep_blk_complete(io, 0);
	return 0;
}

static int ram_write_zeroes(struct pep_blk_target *t, struct pep_blk_io *io)
{
	ram_zero(to_ram(t), io->req.offset, io->req.len,
		 !(io->req.flags & PEP_BLK_F_NOUNMAP));
	pep_blk_complete(io, 0);
	return 0;
}

static void ram_destroy(struct pep_blk_target *t)
{
	struct ram *r = to_ram(t);

	munmap(r->map, (size_t)t->size);
	free(r);
}

static const struct pep_blk_target_ops ram_ops = {
	.name = "ram",
	.read = ram_read,
	.write = ram_write,
	.flush = ram_flush,
	.discard = ram_discard,
	.write_zeroes = ram_write_zeroes,
	.destroy = ram_destroy,
};

/* Whether MADV_DONTNEED gives a written page back as zeros here. */
static int dontneed_zeroes(struct ram *r)
{
	int ok;

	if (r->t.size < r->page)
		return 0;
	r->map[0] = 0xa5;
	ok = madvise(r->map, r->page, MADV_DONTNEED) == 0 && r->map[0] == 0;
	if (!ok)
		r->map[0] = 0;	/* a device starts zeroed */
	return ok;
}

PEP_API int pep_blk_ram_create(struct pep_blk_target **out, uint64_t size,
			       struct pep_err *err)
{
	struct ram *r;
	void *map;

	if (size == 0 || size % 512)
		return pep_err_set(err, -EINVAL,
				   "ram: size %llu is not a positive multiple of 512",
				   (unsigned long long)size);
	if (size > SIZE_MAX / 2)
		return pep_err_set(err, -EINVAL,
				   "ram: size %llu does not fit this address space",
				   (unsigned long long)size);
	r = calloc(1, sizeof(*r));
	if (!r)
		return pep_err_set(err, -ENOMEM, "ram: out of memory");
	map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		int ret = pep_err_errno(err, "ram: mmap of %llu bytes",
					(unsigned long long)size);

		free(r);
		return ret;
	}
	r->map = map;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->t.ops = &ram_ops;
	r->t.size = size;
	r->t.block_size = 512;
	r->t.caps = PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES;
	r->t.priv = r;
	r->dontneed_zeroes = dontneed_zeroes(r);
	*out = &r->t;
	return 0;
}
