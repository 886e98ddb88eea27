/*
 * One ublk hardware queue: its thread owns a ring, the queue's mmap'd
 * descriptor array (what the kernel asks for, by tag) and one I/O buffer
 * per tag. Every tag always has one command at the driver: FETCH_REQ at
 * first, then COMMIT_AND_FETCH_REQ carrying the previous request's result.
 * A target that completes later submits its own SQEs on the same ring;
 * their CQEs come back here, marked in user_data. When the device stops,
 * the driver aborts every command with -ENODEV and the thread ends once
 * none is outstanding and no request is left at the target.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ublk/ublk_priv.h"

int pep_ublk_decode(uint32_t op_flags, uint32_t nr_sectors,
		    uint64_t start_sector, uint64_t dev_size,
		    uint32_t max_io_bytes, void *buf, struct pep_blk_req *out)
{
	uint8_t op = (uint8_t)(op_flags & 0xff);
	uint64_t len = (uint64_t)nr_sectors << 9;

	memset(out, 0, sizeof(*out));
	switch (op) {
	case PEP_BLK_OP_READ:
	case PEP_BLK_OP_WRITE:
	case PEP_BLK_OP_FLUSH:
	case PEP_BLK_OP_DISCARD:
	case PEP_BLK_OP_WRITE_ZEROES:
		break;
	default:
		return -EOPNOTSUPP;
	}
	out->op = op;
	out->flags = op_flags & ~0xffu;
	/* a flush has no range: the block layer leaves its position unset */
	if (op == PEP_BLK_OP_FLUSH)
		return 0;
	if (start_sector > dev_size >> 9 || len > dev_size - (start_sector << 9) ||
	    len > UINT32_MAX)
		return -EIO;
	if ((op == PEP_BLK_OP_READ || op == PEP_BLK_OP_WRITE) &&
	    (len == 0 || len > max_io_bytes || !buf))
		return -EIO;
	out->offset = start_sector << 9;
	out->len = (uint32_t)len;
	if (op == PEP_BLK_OP_READ || op == PEP_BLK_OP_WRITE)
		out->buf = buf;
	return 0;
}

static char *tag_buf(const struct ublk_queue *q, unsigned int tag)
{
	return q->bufs + (size_t)tag * q->dev->max_io_bytes;
}

/* Queue FETCH_REQ (result unused) or COMMIT_AND_FETCH_REQ for tag. */
static int queue_cmd(struct ublk_queue *q, unsigned int tag, int commit,
		     int result)
{
	struct io_uring_sqe *sqe = pep_uring_sqe(q->ring);
	struct ublksrv_io_cmd *cmd;
	uint32_t op;

	if (!sqe)
		return -EBUSY;
	if (q->dev->encoded_io)
		op = commit ? PEP_UBLK_U_IO_COMMIT_AND_FETCH_REQ : PEP_UBLK_U_IO_FETCH_REQ;
	else
		op = commit ? PEP_UBLK_IO_COMMIT_AND_FETCH_REQ : PEP_UBLK_IO_FETCH_REQ;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = 0;				/* the char device, fixed file 0 */
	sqe->flags = IOSQE_FIXED_FILE;
	memcpy((char *)sqe + 8, &op, sizeof(op));	/* cmd_op */
	sqe->user_data = tag;
	cmd = (struct ublksrv_io_cmd *)((char *)sqe + 48);
	cmd->q_id = (uint16_t)q->qid;
	cmd->tag = (uint16_t)tag;
	cmd->result = result;
	cmd->addr = (uintptr_t)tag_buf(q, tag);
	q->live++;
	return 0;
}

/* The target finished a request (or it failed before reaching one). */
static void io_done(struct pep_blk_io *io, int result)
{
	struct ublk_queue *q = io->server;
	struct pep_ublk_dev *dev = q->dev;

	pep_blk_tag_put(dev->tags, q->qid, io->req.tag);
	atomic_fetch_add_explicit(&dev->requests, 1, memory_order_relaxed);
	if (result < 0)
		atomic_fetch_add_explicit(&dev->errors, 1, memory_order_relaxed);
	if (queue_cmd(q, io->req.tag, 1, result) < 0)
		q->failed = 1;		/* the ring is broken: nothing to do */
}

static void new_request(struct ublk_queue *q, unsigned int tag)
{
	const struct ublksrv_io_desc *d = &q->descs[tag];
	struct pep_ublk_dev *dev = q->dev;
	struct pep_blk_io *io = &q->ios[tag];
	int ret;

	if (pep_blk_tag_claim(dev->tags, q->qid, tag) == -EBUSY)
		atomic_fetch_add_explicit(&dev->collisions, 1, memory_order_relaxed);
	ret = pep_ublk_decode(d->op_flags, d->nr_sectors, d->start_sector,
			      dev->target->size, dev->max_io_bytes,
			      tag_buf(q, tag), &io->req);
	io->req.qid = (uint16_t)q->qid;
	io->req.tag = (uint16_t)tag;
	if (ret < 0) {
		atomic_fetch_add_explicit(&dev->bad_descs, 1, memory_order_relaxed);
		io_done(io, ret);
		return;
	}
	ret = pep_blk_dispatch(dev->target, io);
	if (ret < 0)
		io_done(io, ret);
}

static void on_cqe(void *arg, const struct io_uring_cqe *cqe)
{
	struct ublk_queue *q = arg;
	struct pep_blk_target *t = q->dev->target;
	unsigned int tag = (unsigned int)(cqe->user_data & 0xffff);

	if (cqe->user_data == UBLK_UDATA_WAKE) {
		q->aborted = 1;
		return;
	}
	if (tag >= q->depth)
		return;
	if (cqe->user_data & PEP_BLK_UDATA_TARGET) {
		if (t->ops->cqe)
			t->ops->cqe(t, &q->ios[tag], cqe->res, cqe->flags);
		return;
	}
	q->live--;
	if (cqe->res == UBLK_IO_RES_OK)
		new_request(q, tag);
	/* -ENODEV: the device is stopping; anything else: the tag is done too */
}

/* Set up in the thread: SINGLE_ISSUER rings belong to their creator. */
static int thread_setup(struct ublk_queue *q)
{
	struct pep_uring_opts ro = {
		.entries = q->depth * 2 < 8 ? 8 : q->depth * 2,
		/* no DEFER_TASKRUN: 6.1 misses the wake-up of the aborts STOP_DEV
		   posts from another task */
		.flags = PEP_URING_SINGLE_ISSUER | PEP_URING_COOP_TASKRUN,
	};
	struct pep_blk_target *t = q->dev->target;
	struct io_uring_sqe *sqe;
	int ret;

	ret = pep_uring_create(&q->ring, &ro, &q->err);
	if (ret < 0)
		return ret;
	ret = pep_uring_register_files(q->ring, &q->dev->char_fd, 1, &q->err);
	if (ret < 0)
		return ret;
	q->bq.ring = q->ring;
	if (t->ops->queue_init && (ret = t->ops->queue_init(t, &q->bq, &q->err)) < 0)
		return ret;
	for (unsigned int tag = 0; tag < q->depth; tag++)
		if ((ret = queue_cmd(q, tag, 0, 0)) < 0)
			return pep_err_set(&q->err, ret, "ublk queue %u: no SQE", q->qid);
	sqe = pep_uring_sqe(q->ring);
	if (!sqe)
		return pep_err_set(&q->err, -EBUSY, "ublk queue %u: no SQE", q->qid);
	io_uring_prep_poll_add(sqe, q->dev->wake_fd, POLLIN);
	sqe->user_data = UBLK_UDATA_WAKE;
	ret = pep_uring_submit(q->ring);
	return ret < 0 ? pep_err_set(&q->err, ret, "ublk queue %u: submit: %s",
				     q->qid, strerror(-ret)) : 0;
}

void *ublk_queue_thread(void *arg)
{
	struct ublk_queue *q = arg;
	struct pep_blk_target *t = q->dev->target;
	int ret = thread_setup(q);

	atomic_store(&q->ready, ret < 0 ? -1 : 1);
	while (ret >= 0 && !q->failed && !q->aborted &&
	       (q->live > 0 || pep_blk_tags_busy(q->dev->tags, q->qid) > 0)) {
		ret = pep_uring_wait_reap(q->ring, -1, on_cqe, q);
		if (ret == -EINTR || ret == -ETIME)
			ret = 0;
	}
	if (t->ops->queue_exit && q->bq.ring)
		t->ops->queue_exit(t, &q->bq);
	pep_uring_destroy(q->ring);
	q->ring = NULL;
	atomic_fetch_add(&q->dev->queues_done, 1);
	return NULL;
}

int ublk_queue_init(struct pep_ublk_dev *dev, struct ublk_queue *q,
		    unsigned int qid, struct pep_err *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t stride = ((size_t)PEP_UBLK_MAX_QUEUE_DEPTH * PEP_UBLK_DESC_SIZE +
			 (size_t)page - 1) & ~((size_t)page - 1);
	void *p;

	q->dev = dev;
	q->qid = qid;
	q->depth = dev->depth;
	q->descs_len = ((size_t)q->depth * PEP_UBLK_DESC_SIZE + (size_t)page - 1) &
		       ~((size_t)page - 1);
	p = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
		 dev->char_fd, (off_t)(qid * stride));
	if (p == MAP_FAILED)
		return pep_err_errno(err, "ublk queue %u: mmap of the descriptors", qid);
	q->descs = p;
	q->bufs_len = (size_t)q->depth * dev->max_io_bytes;
	p = mmap(NULL, q->bufs_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return pep_err_errno(err, "ublk queue %u: buffers", qid);
	q->bufs = p;
	q->ios = calloc(q->depth, sizeof(*q->ios));
	if (!q->ios)
		return pep_err_set(err, -ENOMEM, "ublk queue %u: out of memory", qid);
	for (unsigned int tag = 0; tag < q->depth; tag++) {
		q->ios[tag].q = &q->bq;
		q->ios[tag].done = io_done;
		q->ios[tag].server = q;
	}
	q->bq.qid = qid;
	q->bq.depth = q->depth;
	return 0;
}

void ublk_queue_exit(struct ublk_queue *q)
{
	if (q->descs)
		munmap((void *)q->descs, q->descs_len);
	if (q->bufs)
		munmap(q->bufs, q->bufs_len);
	free(q->ios);
	q->descs = NULL;
	q->bufs = NULL;
	q->ios = NULL;
}
