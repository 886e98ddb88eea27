/*
 * The loop target: a device backed by a file (or a block device), served
 * through io_uring on the queue's own ring, so a queue thread never blocks
 * on the file: every op queues one SQE and returns PEP_BLK_QUEUED, and
 * ops->cqe() moves the request on (the rest of a short transfer, the next
 * fallback) or completes it. One SQE per request is in flight at a time;
 * its state lives in a per-tag slot allocated by queue_init.
 *
 * Two descriptors stay open: one with O_DIRECT (when the file system takes
 * it; tmpfs before 6.6 refuses with EINVAL) and one buffered. A request
 * goes direct when its offset, length and buffer meet the file's direct
 * I/O alignment (statx STATX_DIOALIGN, 6.1+; a block device's logical
 * block size; else 512), buffered otherwise, and buffered for good when
 * the direct descriptor refuses it with EINVAL. The kernel keeps the two
 * coherent: a direct read writes back dirty cached pages of its range
 * first, a direct write invalidates them.
 *
 * The backing descriptors are not registered as fixed files: the ring is
 * the server's, and its file table holds the server's own (ublk's char
 * device is fixed file 0); registering ours would replace it.
 *
 * Ops: READ/WRITE as IORING_OP_READ/WRITE (FUA: RWF_DSYNC); a read that
 * ends at the end of a file shorter than the device fills the rest with
 * zeros. FLUSH is IORING_OP_FSYNC. DISCARD punches a hole (fallocate
 * PUNCH_HOLE|KEEP_SIZE; a file system without it fails the request with
 * -EOPNOTSUPP, as the kernel's loop does). WRITE_ZEROES tries ZERO_RANGE,
 * then PUNCH_HOLE (not with NOUNMAP, which asks to keep the blocks), then
 * writes zeros; a refusal is remembered for the target's later requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <pepita/blkmq.h>
#include <pepita/uring.h>

#define SECTOR		512u
#define ZERO_CHUNK	(8u << 20)	/* bytes per write of zeros */

struct loop {
	struct pep_blk_target t;
	int fd;				/* buffered */
	int dfd;			/* O_DIRECT, -1 when none */
	uint32_t dio_offset_align;	/* offset and length, for dfd */
	uint32_t dio_mem_align;		/* buffer address, for dfd */
	const unsigned char *zeros;	/* ZERO_CHUNK bytes, read-only */
	/* fallocate modes the file system refused, shared by the queues */
	atomic_int no_zero_range;
	atomic_int no_punch;
};

enum loop_stage {
	ST_RW,				/* READ, WRITE */
	ST_SIMPLE,			/* FLUSH, DISCARD: one SQE */
	ST_ZERO_RANGE,			/* WRITE_ZEROES, in fallback order */
	ST_PUNCH,
	ST_WRITE_ZEROS,
};

/* One request's progress; io->target points here. */
struct loop_slot {
	uint32_t done;			/* bytes transferred so far */
	uint8_t stage;			/* enum loop_stage */
	uint8_t direct;			/* the SQE in flight went to dfd */
	uint8_t no_direct;		/* dfd refused it: buffered from now */
};

struct loop_queue {
	unsigned int depth;
	struct loop_slot slots[];
};

static const struct pep_blk_target_ops loop_ops;

static struct loop *to_loop(struct pep_blk_target *t)
{
	return t->priv;
}

/* --- submission --------------------------------------------------------- */

static int aligned(uint64_t v, uint32_t align)
{
	return v % align == 0;
}

static int can_direct(const struct loop *l, const struct loop_slot *s,
		      uint64_t off, uint32_t len, const void *buf)
{
	return l->dfd >= 0 && !s->no_direct &&
	       aligned(off, l->dio_offset_align) &&
	       aligned(len, l->dio_offset_align) &&
	       aligned((uintptr_t)buf, l->dio_mem_align);
}

/* NULL only when the ring is full and submitting failed. */
static struct io_uring_sqe *get_sqe(struct pep_blk_io *io)
{
	return pep_uring_sqe(io->q->ring);
}

/* Queue the rest of a READ or WRITE (or of the zeros a WRITE_ZEROES writes). */
static int queue_rw(struct loop *l, struct pep_blk_io *io)
{
	struct loop_slot *s = io->target;
	uint64_t off = io->req.offset + s->done;
	uint32_t len = io->req.len - s->done;
	struct io_uring_sqe *sqe = get_sqe(io);
	const void *src;
	int fd;

	if (!sqe)
		return -EIO;
	if (s->stage == ST_WRITE_ZEROS) {
		/* buffered: a direct write would pin the shared zero page */
		len = len < ZERO_CHUNK ? len : ZERO_CHUNK;
		io_uring_prep_write(sqe, l->fd, l->zeros, len, off);
		io_uring_sqe_set_data64(sqe, pep_blk_io_udata(io));
		s->direct = 0;
		return PEP_BLK_QUEUED;
	}
	src = (unsigned char *)io->req.buf + s->done;
	s->direct = (uint8_t)can_direct(l, s, off, len, src);
	fd = s->direct ? l->dfd : l->fd;
	if (io->req.op == PEP_BLK_OP_READ) {
		io_uring_prep_read(sqe, fd, (void *)src, len, off);
	} else {
		io_uring_prep_write(sqe, fd, src, len, off);
		if (io->req.flags & PEP_BLK_F_FUA)
			sqe->rw_flags = RWF_DSYNC;
	}
	io_uring_sqe_set_data64(sqe, pep_blk_io_udata(io));
	return PEP_BLK_QUEUED;
}

static int queue_fallocate(struct loop *l, struct pep_blk_io *io, int mode)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	if (!sqe)
		return -EIO;
	io_uring_prep_fallocate(sqe, l->fd, mode | FALLOC_FL_KEEP_SIZE,
				(off_t)io->req.offset, (off_t)io->req.len);
	io_uring_sqe_set_data64(sqe, pep_blk_io_udata(io));
	return PEP_BLK_QUEUED;
}

/* The first WRITE_ZEROES stage at or after stage that may work. */
static int queue_zeroes(struct loop *l, struct pep_blk_io *io,
			enum loop_stage stage)
{
	struct loop_slot *s = io->target;

	if (stage == ST_ZERO_RANGE && atomic_load(&l->no_zero_range))
		stage = ST_PUNCH;
	if (stage == ST_PUNCH && ((io->req.flags & PEP_BLK_F_NOUNMAP) ||
				  atomic_load(&l->no_punch)))
		stage = ST_WRITE_ZEROS;
	s->stage = (uint8_t)stage;
	if (stage == ST_ZERO_RANGE)
		return queue_fallocate(l, io, FALLOC_FL_ZERO_RANGE);
	if (stage == ST_PUNCH)
		return queue_fallocate(l, io, FALLOC_FL_PUNCH_HOLE);
	return queue_rw(l, io);
}

/* The request's slot, reset; NULL when the queue was not set up for it. */
static struct loop_slot *start(struct pep_blk_io *io, enum loop_stage stage)
{
	struct loop_queue *lq = io->q->priv;
	struct loop_slot *s;

	if (!lq || !io->q->ring || io->req.tag >= lq->depth)
		return NULL;
	s = &lq->slots[io->req.tag];
	memset(s, 0, sizeof(*s));
	s->stage = (uint8_t)stage;
	io->target = s;
	return s;
}

static int loop_rw(struct pep_blk_target *t, struct pep_blk_io *io)
{
	if (!start(io, ST_RW))
		return -EINVAL;
	return queue_rw(to_loop(t), io);
}

static int loop_flush(struct pep_blk_target *t, struct pep_blk_io *io)
{
	struct io_uring_sqe *sqe;

	if (!start(io, ST_SIMPLE))
		return -EINVAL;
	sqe = get_sqe(io);
	if (!sqe)
		return -EIO;
	io_uring_prep_fsync(sqe, to_loop(t)->fd, 0);
	io_uring_sqe_set_data64(sqe, pep_blk_io_udata(io));
	return PEP_BLK_QUEUED;
}

static int loop_discard(struct pep_blk_target *t, struct pep_blk_io *io)
{
	if (!start(io, ST_SIMPLE))
		return -EINVAL;
	return queue_fallocate(to_loop(t), io, FALLOC_FL_PUNCH_HOLE);
}

static int loop_write_zeroes(struct pep_blk_target *t, struct pep_blk_io *io)
{
	if (!start(io, ST_ZERO_RANGE))
		return -EINVAL;
	return queue_zeroes(to_loop(t), io, ST_ZERO_RANGE);
}

/* --- completion --------------------------------------------------------- */

/* Queue the next step, or complete the request when it cannot be queued. */
static void resubmit(struct pep_blk_io *io, int ret)
{
	if (ret < 0)
		pep_blk_complete(io, ret);
}

static void rw_cqe(struct loop *l, struct pep_blk_io *io, int res)
{
	struct loop_slot *s = io->target;
	int zeros = s->stage == ST_WRITE_ZEROS;

	if (res == -EINVAL && s->direct) {
		s->no_direct = 1;	/* alignment we could not know */
		resubmit(io, queue_rw(l, io));
		return;
	}
	if (res < 0) {
		pep_blk_complete(io, res);
		return;
	}
	if (res == 0) {
		if (io->req.op != PEP_BLK_OP_READ) {
			pep_blk_complete(io, -EIO);	/* wrote nothing */
			return;
		}
		/* end of file: the device reads zeros past it */
		memset((unsigned char *)io->req.buf + s->done, 0,
		       io->req.len - s->done);
		s->done = io->req.len;
	}
	s->done += (uint32_t)res;
	if (s->done < io->req.len)
		resubmit(io, queue_rw(l, io));
	else
		pep_blk_complete(io, zeros ? 0 : (int)io->req.len);
}

/* A fallocate of WRITE_ZEROES refused: remember it, try the next way. */
static void zeroes_cqe(struct loop *l, struct pep_blk_io *io, int res)
{
	struct loop_slot *s = io->target;

	if (res >= 0) {
		pep_blk_complete(io, 0);
		return;
	}
	if (res != -EOPNOTSUPP && res != -EINVAL) {
		pep_blk_complete(io, res);
		return;
	}
	if (s->stage == ST_ZERO_RANGE) {
		atomic_store(&l->no_zero_range, 1);
		resubmit(io, queue_zeroes(l, io, ST_PUNCH));
	} else {
		atomic_store(&l->no_punch, 1);
		resubmit(io, queue_zeroes(l, io, ST_WRITE_ZEROS));
	}
}

static void loop_cqe(struct pep_blk_target *t, struct pep_blk_io *io, int res,
		     uint32_t cqe_flags)
{
	struct loop_slot *s = io->target;

	switch (s->stage) {
	case ST_RW:
	case ST_WRITE_ZEROS:
		rw_cqe(to_loop(t), io, res);
		break;
	case ST_ZERO_RANGE:
	case ST_PUNCH:
		zeroes_cqe(to_loop(t), io, res);
		break;
	default:
		pep_blk_complete(io, res < 0 ? res : 0);
		break;
	}
}

/* --- queues and the target ---------------------------------------------- */

static int loop_queue_init(struct pep_blk_target *t, struct pep_blk_queue *q,
			   struct pep_err *err)
{
	struct loop_queue *lq;

	if (!q->ring)
		return pep_err_set(err, -EINVAL,
				   "loop: queue %u has no ring to submit on",
				   q->qid);
	if (q->depth < 1 || q->depth > PEP_BLK_MAX_DEPTH)
		return pep_err_set(err, -EINVAL,
				   "loop: queue %u: depth %u is out of range 1..%u",
				   q->qid, q->depth, PEP_BLK_MAX_DEPTH);
	lq = calloc(1, sizeof(*lq) + q->depth * sizeof(lq->slots[0]));
	if (!lq)
		return pep_err_set(err, -ENOMEM, "loop: queue %u: out of memory",
				   q->qid);
	lq->depth = q->depth;
	q->priv = lq;
	return 0;
}

static void loop_queue_exit(struct pep_blk_target *t, struct pep_blk_queue *q)
{
	free(q->priv);
	q->priv = NULL;
}

static void loop_destroy(struct pep_blk_target *t)
{
	struct loop *l = to_loop(t);

	if (l->dfd >= 0)
		close(l->dfd);
	if (l->fd >= 0)
		close(l->fd);
	if (l->zeros)
		munmap((void *)l->zeros, ZERO_CHUNK);
	free(l);
}

static const struct pep_blk_target_ops loop_ops = {
	.name = "loop",
	.queue_init = loop_queue_init,
	.queue_exit = loop_queue_exit,
	.read = loop_rw,
	.write = loop_rw,
	.flush = loop_flush,
	.discard = loop_discard,
	.write_zeroes = loop_write_zeroes,
	.cqe = loop_cqe,
	.destroy = loop_destroy,
};

/*
 * O_NONBLOCK so that a FIFO passed by mistake does not hang the open (it
 * fails the type check later); cleared at once, because io_uring returns
 * -EAGAIN to the submitter for a file with O_NONBLOCK instead of waiting.
 */
static int open_blocking(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	int fl;

	if (fd < 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Open path: read-write unless read_only or the file refuses writing
 * (permissions, a read-only mount, an immutable file), then the same
 * access with O_DIRECT where the file system takes it. Sets *ro.
 */
static int loop_open(struct loop *l, const char *path, int read_only, int *ro,
		     struct pep_err *err)
{
	int acc = read_only ? O_RDONLY : O_RDWR;

	l->fd = open_blocking(path, acc);
	if (l->fd < 0 && acc == O_RDWR &&
	    (errno == EACCES || errno == EROFS || errno == EPERM)) {
		acc = O_RDONLY;
		l->fd = open_blocking(path, acc);
	}
	if (l->fd < 0)
		return pep_err_errno(err, "loop: open %s", path);
	*ro = acc == O_RDONLY;
	/* EINVAL where the file system has no direct I/O: buffered only */
	l->dfd = open_blocking(path, acc | O_DIRECT);
	return 0;
}

/* The backing size in bytes: the file's, or a block device's. */
static int backing_size(struct loop *l, const char *path,
			const struct stat *st, uint64_t *bytes,
			struct pep_err *err)
{
	if (S_ISDIR(st->st_mode))
		return pep_err_set(err, -EISDIR, "loop: %s is a directory",
				   path);
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(l->fd, BLKGETSIZE64, bytes) < 0)
			return pep_err_errno(err, "loop: BLKGETSIZE64 on %s",
					     path);
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return pep_err_set(err, -EINVAL,
				   "loop: %s is not a regular file or block device",
				   path);
	*bytes = (uint64_t)st->st_size;
	return 0;
}

/* Direct I/O alignment of the open file; drops dfd where it has none. */
static void dio_align(struct loop *l, const struct stat *st)
{
	uint32_t align = SECTOR;
	int ssz;

	l->dio_offset_align = l->dio_mem_align = SECTOR;
	if (l->dfd < 0)
		return;
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(l->dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align) {
			/* the file system says: no direct I/O on this file */
			close(l->dfd);
			l->dfd = -1;
			return;
		}
		l->dio_offset_align = stx.stx_dio_offset_align;
		l->dio_mem_align = stx.stx_dio_mem_align ?
				   stx.stx_dio_mem_align : 1;
		return;
	}
#endif
	if (S_ISBLK(st->st_mode) && ioctl(l->dfd, BLKSSZGET, &ssz) == 0 &&
	    ssz > 0)
		align = (uint32_t)ssz;
	l->dio_offset_align = l->dio_mem_align = align;
}

/* Size and caps of the device from the open file. */
static int loop_setup(struct loop *l, const char *path, uint64_t size, int ro,
		      struct pep_err *err)
{
	uint64_t bytes = 0;
	struct stat st;
	int ret;

	if (fstat(l->fd, &st) < 0)
		return pep_err_errno(err, "loop: stat %s", path);
	ret = backing_size(l, path, &st, &bytes, err);
	if (ret < 0)
		return ret;
	if (size > bytes)
		return pep_err_set(err, -EINVAL,
				   "loop: size %llu exceeds %s (%llu bytes)",
				   (unsigned long long)size, path,
				   (unsigned long long)bytes);
	/* as losetup: a partial last sector is not part of the device */
	l->t.size = size ? size : bytes / SECTOR * SECTOR;
	if (!l->t.size)
		return pep_err_set(err, -EINVAL,
				   "loop: %s is smaller than 512 bytes", path);
	dio_align(l, &st);
	l->t.caps = PEP_BLK_CAP_FLUSH | PEP_BLK_CAP_NEEDS_RING;
	if (ro)
		l->t.caps |= PEP_BLK_CAP_READ_ONLY;
	else
		l->t.caps |= PEP_BLK_CAP_FUA | PEP_BLK_CAP_DISCARD |
			     PEP_BLK_CAP_WRITE_ZEROES;
	return 0;
}

PEP_API int pep_blk_loop_create(struct pep_blk_target **out, const char *path,
				uint64_t size, int read_only,
				struct pep_err *err)
{
	struct loop *l;
	void *zeros;
	int ret, ro = 0;

	if (size % SECTOR)
		return pep_err_set(err, -EINVAL,
				   "loop: size %llu is not a multiple of 512",
				   (unsigned long long)size);
	l = calloc(1, sizeof(*l));
	if (!l)
		return pep_err_set(err, -ENOMEM, "loop: out of memory");
	l->fd = l->dfd = -1;
	l->t.ops = &loop_ops;
	l->t.block_size = SECTOR;
	l->t.priv = l;
	ret = loop_open(l, path, read_only, &ro, err);
	if (ret < 0)
		goto err_free;
	ret = loop_setup(l, path, size, ro, err);
	if (ret < 0)
		goto err_free;
	/* never written: every page is the zero page, so it costs nothing */
	zeros = mmap(NULL, ZERO_CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (zeros == MAP_FAILED) {
		ret = pep_err_errno(err, "loop: mmap of the zero buffer");
		goto err_free;
	}
	l->zeros = zeros;
	*out = &l->t;
	return 0;
err_free:
	loop_destroy(&l->t);
	return ret;
}

PEP_API int pep_blk_loop_is_direct(const struct pep_blk_target *t)
{
	return t && t->ops == &loop_ops && ((struct loop *)t->priv)->dfd >= 0;
}
