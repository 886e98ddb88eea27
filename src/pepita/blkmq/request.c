/*
 * The request model: checking a request against a device, dispatching it
 * to a target's op, and running one to completion outside a server.
 *
 * Checks happen here, once, so targets see only requests that fit: the
 * kernel never sends anything else, but a buggy or hostile server (or a
 * tool) could, and a target that trusted it would read past its memory.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <pepita/blkmq.h>
#include <pepita/uring.h>

#define SECTOR 512u

PEP_API const char *pep_blk_op_name(unsigned int op)
{
	static _Thread_local char other[16];

	switch (op) {
	case PEP_BLK_OP_READ:
		return "read";
	case PEP_BLK_OP_WRITE:
		return "write";
	case PEP_BLK_OP_FLUSH:
		return "flush";
	case PEP_BLK_OP_DISCARD:
		return "discard";
	case PEP_BLK_OP_WRITE_ZEROES:
		return "write_zeroes";
	}
	snprintf(other, sizeof(other), "op-%u", op);
	return other;
}

PEP_API int pep_blk_req_check(const struct pep_blk_req *req, uint64_t size)
{
	switch (req->op) {
	case PEP_BLK_OP_FLUSH:
		return 0;	/* no range: offset and len are ignored */
	case PEP_BLK_OP_READ:
	case PEP_BLK_OP_WRITE:
		/* the result is the byte count, an int */
		if (!req->buf || req->len > INT_MAX)
			return -EIO;
		break;
	case PEP_BLK_OP_DISCARD:
	case PEP_BLK_OP_WRITE_ZEROES:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (req->len == 0 || req->len % SECTOR || req->offset % SECTOR)
		return -EIO;
	/* offset + len > size, without computing offset + len */
	if (req->len > size || req->offset > size - req->len)
		return -EIO;
	return 0;
}

static int writes(unsigned int op)
{
	return op == PEP_BLK_OP_WRITE || op == PEP_BLK_OP_DISCARD ||
	       op == PEP_BLK_OP_WRITE_ZEROES;
}

PEP_API int pep_blk_dispatch(struct pep_blk_target *t, struct pep_blk_io *io)
{
	const struct pep_blk_target_ops *ops = t->ops;
	int (*fn)(struct pep_blk_target *, struct pep_blk_io *) = NULL;
	int ret;

	ret = pep_blk_req_check(&io->req, t->size);
	if (ret < 0)
		return ret;
	if ((t->caps & PEP_BLK_CAP_READ_ONLY) && writes(io->req.op))
		return -EROFS;
	switch (io->req.op) {
	case PEP_BLK_OP_READ:
		fn = ops->read;
		break;
	case PEP_BLK_OP_WRITE:
		fn = ops->write;
		break;
	case PEP_BLK_OP_FLUSH:
		fn = ops->flush;
		break;
	case PEP_BLK_OP_DISCARD:
		fn = ops->discard;
		break;
	case PEP_BLK_OP_WRITE_ZEROES:
		fn = ops->write_zeroes;
		break;
	}
	if (!fn)
		return -EOPNOTSUPP;
	return fn(t, io);
}

PEP_API void pep_blk_target_destroy(struct pep_blk_target *t)
{
	if (t)
		t->ops->destroy(t);
}

/* --- one request, no server --------------------------------------------- */

struct sync_run {
	struct pep_blk_target *t;
	struct pep_blk_io io;
	int done;
	int result;
};

static void sync_done(struct pep_blk_io *io, int result)
{
	struct sync_run *s = io->server;

	s->done++;
	s->result = result;
}

static void sync_cqe(void *arg, const struct io_uring_cqe *cqe)
{
	struct sync_run *s = arg;

	/* Only the target submits on this ring, and only for tag 0. */
	if (!(cqe->user_data & PEP_BLK_UDATA_TARGET) ||
	    (cqe->user_data & 0xffff) != s->io.req.tag || !s->t->ops->cqe)
		return;
	s->t->ops->cqe(s->t, &s->io, cqe->res, cqe->flags);
}

/* Wait for the target to complete s->io: 0, or -errno when waiting failed. */
static int sync_wait(struct sync_run *s, struct pep_uring *ring,
		     struct pep_err *err)
{
	while (!s->done) {
		int n = pep_uring_wait_reap(ring, -1, sync_cqe, s);

		if (n < 0 && n != -EINTR && n != -ETIME) {
			errno = -n;
			return pep_err_errno(err, "%s: waiting for the ring",
					     s->t->ops->name);
		}
	}
	return 0;
}

static int sync_dispatch(struct sync_run *s, struct pep_uring *ring,
			 struct pep_err *err)
{
	int ret = pep_blk_dispatch(s->t, &s->io);

	if (ret == PEP_BLK_QUEUED) {
		ret = sync_wait(s, ring, err);
		if (ret < 0)
			return ret;
	} else if (ret < 0) {
		s->result = ret;
	} else if (!s->done) {
		return pep_err_set(err, -EIO,
				   "%s: %s returned without completing",
				   s->t->ops->name, pep_blk_op_name(s->io.req.op));
	}
	if (s->done > 1)
		return pep_err_set(err, -EIO, "%s: %s completed %d times",
				   s->t->ops->name,
				   pep_blk_op_name(s->io.req.op), s->done);
	if (s->result < 0) {
		errno = -s->result;
		return pep_err_errno(err, "%s: %s %u bytes at %llu",
				     s->t->ops->name,
				     pep_blk_op_name(s->io.req.op), s->io.req.len,
				     (unsigned long long)s->io.req.offset);
	}
	return s->result;
}

PEP_API int pep_blk_run_sync(struct pep_blk_target *t,
			     const struct pep_blk_req *req,
			     struct pep_err *err)
{
	const struct pep_blk_target_ops *ops = t->ops;
	struct pep_blk_queue q = { .qid = 0, .depth = 1 };
	struct sync_run s = { .t = t };
	int ret;

	s.io.req = *req;
	s.io.req.qid = 0;
	s.io.req.tag = 0;
	s.io.q = &q;
	s.io.done = sync_done;
	s.io.server = &s;
	if (t->caps & PEP_BLK_CAP_NEEDS_RING) {
		ret = pep_uring_create(&q.ring,
				       &(struct pep_uring_opts){ .entries = 8 },
				       err);
		if (ret < 0)
			return ret;
	}
	if (ops->queue_init) {
		ret = ops->queue_init(t, &q, err);
		if (ret < 0)
			goto out_ring;
	}
	ret = sync_dispatch(&s, q.ring, err);
	if (ops->queue_exit)
		ops->queue_exit(t, &q);
out_ring:
	/* After a failed wait (the ring broke) the request may still be in
	   flight; closing the ring asks the kernel to cancel it. */
	if (q.ring)
		pep_uring_destroy(q.ring);
	return ret;
}
