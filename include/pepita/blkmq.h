/*
 * pepita/blkmq.h - the block layer's model in userspace, as blk-mq has it:
 * tag sets (a bitmap of in-flight tags per hardware queue), requests
 * (READ, WRITE, FLUSH, DISCARD, WRITE_ZEROES with the kernel's op values
 * and flag bits, as ublk hands them over), and the ops table a block
 * target implements. A target serves a request at once or later: the
 * server that owns the queue (ublk's queue thread) does not care which.
 *
 * Targets: null (completes everything, reads zeros), ram (memory-backed),
 * loop (a file, through io_uring on the queue's ring, O_DIRECT when the
 * file system allows it).
 *
 * Threading: a tag set is safe from any thread (lock-free bitmaps). A
 * target's ops for one queue are called from that queue's thread only;
 * different queues run in parallel, so a target's shared state is
 * either read-only or its own business (ram: disjoint ranges need no
 * lock; overlapping writes race exactly as they do on a real disk).
 */
#ifndef PEPITA_BLKMQ_H
#define PEPITA_BLKMQ_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's limits (blk-mq and ublk). */
#define PEP_BLK_MAX_DEPTH	4096
#define PEP_BLK_MAX_QUEUES	4096

/* --- tag sets ----------------------------------------------------------- */

struct pep_blk_tagset;

/*
 * nr_queues 1..PEP_BLK_MAX_QUEUES, depth 1..PEP_BLK_MAX_DEPTH; -EINVAL
 * (err says which) otherwise, -ENOMEM.
 */
PEP_API int pep_blk_tagset_create(struct pep_blk_tagset **out,
				  unsigned int nr_queues, unsigned int depth,
				  struct pep_err *err);
PEP_API void pep_blk_tagset_destroy(struct pep_blk_tagset *ts);

PEP_API unsigned int pep_blk_tagset_queues(const struct pep_blk_tagset *ts);
PEP_API unsigned int pep_blk_tagset_depth(const struct pep_blk_tagset *ts);

/*
 * Allocate any free tag of queue qid, searching from where the queue's
 * last allocation left off: the tag, -EBUSY when all are in use, -EINVAL
 * when qid is out of range. Any thread.
 */
PEP_API int pep_blk_tag_get(struct pep_blk_tagset *ts, unsigned int qid);

/*
 * Mark a given tag in flight (the kernel chose it, as ublk's tags are):
 * 0, -EBUSY when it already is (a collision: the same tag handed out
 * twice), -EINVAL when qid or tag is out of range. Any thread.
 */
PEP_API int pep_blk_tag_claim(struct pep_blk_tagset *ts, unsigned int qid,
			      unsigned int tag);

/*
 * Release a tag: 0, or -EINVAL when it was not in flight (a double put)
 * or qid or tag is out of range. Any thread.
 */
PEP_API int pep_blk_tag_put(struct pep_blk_tagset *ts, unsigned int qid,
			    unsigned int tag);

/* Tags in flight on queue qid (a snapshot; 0 for a bad qid). Any thread. */
PEP_API unsigned int pep_blk_tags_busy(const struct pep_blk_tagset *ts,
				       unsigned int qid);

/* --- requests ----------------------------------------------------------- */

/* Operations: the kernel's REQ_OP_* values, which ublk passes unchanged. */
enum pep_blk_op {
	PEP_BLK_OP_READ = 0,
	PEP_BLK_OP_WRITE = 1,
	PEP_BLK_OP_FLUSH = 2,
	PEP_BLK_OP_DISCARD = 3,
	PEP_BLK_OP_WRITE_ZEROES = 5,	/* 4 is WRITE_SAME, which no target takes */
};

/* Request flags: ublk's UBLK_IO_F_* bits, positions in the 32-bit op_flags. */
#define PEP_BLK_F_FAILFAST_DEV		(1u << 8)
#define PEP_BLK_F_FAILFAST_TRANSPORT	(1u << 9)
#define PEP_BLK_F_FAILFAST_DRIVER	(1u << 10)
#define PEP_BLK_F_META			(1u << 11)
#define PEP_BLK_F_FUA			(1u << 13)
#define PEP_BLK_F_NOUNMAP		(1u << 15)
#define PEP_BLK_F_SWAP			(1u << 16)

/*
 * "read", "write", "flush", "discard", "write_zeroes"; "op-N" otherwise
 * (in a buffer per thread, valid until its next call). Any thread.
 */
PEP_API const char *pep_blk_op_name(unsigned int op);

struct pep_blk_req {
	uint8_t op;			/* enum pep_blk_op */
	uint32_t flags;			/* PEP_BLK_F_* */
	uint64_t offset;		/* bytes from the start of the device */
	uint32_t len;			/* bytes */
	void *buf;			/* READ/WRITE data; NULL otherwise */
	uint16_t qid;
	uint16_t tag;
};

/* --- targets ------------------------------------------------------------ */

struct pep_uring;
struct pep_blk_target;

/* What a target sees of one hardware queue. */
struct pep_blk_queue {
	unsigned int qid;
	unsigned int depth;
	struct pep_uring *ring;		/* the queue's ring; targets may submit
					   on it (see pep_blk_io_udata) */
	void *priv;			/* the target's per-queue state */
};

/* One request in flight. The server owns it; a target completes it. */
struct pep_blk_io {
	struct pep_blk_req req;
	struct pep_blk_queue *q;
	void (*done)(struct pep_blk_io *io, int result);	/* the server's */
	void *server;			/* the server's, for done() */
	void *target;			/* the target's, per request */
};

/* Return value of an op that will call pep_blk_complete() later. */
#define PEP_BLK_QUEUED 1

/*
 * Finish a request: result is the byte count (READ/WRITE), 0 (the rest)
 * or -errno. Called exactly once per request, from the queue's thread.
 */
static inline void pep_blk_complete(struct pep_blk_io *io, int result)
{
	io->done(io, result);
}

/*
 * user_data for an SQE a target submits on q->ring for io: the server
 * passes the CQE to ops->cqe() with the same io. Bit 62 marks it; the
 * tag sits in the low 16 bits. A target only prepares SQEs
 * (pep_uring_sqe()); the server submits them with its own (its next
 * pep_uring_submit() or pep_uring_wait_reap()). One tag has at most one
 * target SQE in flight at a time.
 */
#define PEP_BLK_UDATA_TARGET (1ull << 62)
static inline uint64_t pep_blk_io_udata(const struct pep_blk_io *io)
{
	return PEP_BLK_UDATA_TARGET | io->req.tag;
}

/*
 * What a target implements. Each op returns 0 when it finished the
 * request already (the op called pep_blk_complete()), PEP_BLK_QUEUED when
 * it will (after a CQE, say), or -errno to fail it without completing it
 * (the server then completes it with that error). A NULL op fails its
 * requests with -EOPNOTSUPP.
 */
struct pep_blk_target_ops {
	const char *name;		/* "null", "ram", "loop" */
	int (*queue_init)(struct pep_blk_target *t, struct pep_blk_queue *q,
			  struct pep_err *err);		/* optional */
	void (*queue_exit)(struct pep_blk_target *t, struct pep_blk_queue *q);
	int (*read)(struct pep_blk_target *t, struct pep_blk_io *io);
	int (*write)(struct pep_blk_target *t, struct pep_blk_io *io);
	int (*flush)(struct pep_blk_target *t, struct pep_blk_io *io);
	int (*discard)(struct pep_blk_target *t, struct pep_blk_io *io);
	int (*write_zeroes)(struct pep_blk_target *t, struct pep_blk_io *io);
	/* a CQE for an SQE submitted with pep_blk_io_udata(io) */
	void (*cqe)(struct pep_blk_target *t, struct pep_blk_io *io, int res,
		    uint32_t cqe_flags);
	void (*destroy)(struct pep_blk_target *t);
};

/* What a target supports, for the device's parameters. */
#define PEP_BLK_CAP_FLUSH		(1u << 0)	/* a volatile cache */
#define PEP_BLK_CAP_FUA			(1u << 1)
#define PEP_BLK_CAP_DISCARD		(1u << 2)
#define PEP_BLK_CAP_WRITE_ZEROES	(1u << 3)
#define PEP_BLK_CAP_READ_ONLY		(1u << 4)
#define PEP_BLK_CAP_NEEDS_RING		(1u << 5)	/* submits on q->ring */

struct pep_blk_target {
	const struct pep_blk_target_ops *ops;
	uint64_t size;			/* bytes, a multiple of block_size */
	uint32_t block_size;		/* logical block: 512 or 4096 */
	uint32_t caps;			/* PEP_BLK_CAP_* */
	void *priv;
};

/*
 * Dispatch one request to the target's op: checks it first with
 * pep_blk_req_check() (-EIO / -EOPNOTSUPP), fails a WRITE, DISCARD or
 * WRITE_ZEROES on a PEP_BLK_CAP_READ_ONLY target with -EROFS, and an op
 * the target lacks with -EOPNOTSUPP, so targets see only valid requests.
 * Returns like an op.
 */
PEP_API int pep_blk_dispatch(struct pep_blk_target *t, struct pep_blk_io *io);

/*
 * Check a request against a device of size bytes: 0; -EOPNOTSUPP for an
 * op that is not one of enum pep_blk_op (4, WRITE_SAME, included); -EIO
 * when READ, WRITE, DISCARD or WRITE_ZEROES has len 0, an offset or len
 * that is not a multiple of 512, or a range past the end, or when READ or
 * WRITE has no buffer or a len above INT_MAX (the byte count that
 * completes it is an int). FLUSH has no range: offset and len are ignored.
 */
PEP_API int pep_blk_req_check(const struct pep_blk_req *req, uint64_t size);

/*
 * The targets. size in bytes, a multiple of 512 (-EINVAL otherwise, err
 * says so), and for null and ram not 0. All have block_size 512.
 *
 * null: reads return zeros, writes are dropped; caps DISCARD, WRITE_ZEROES
 * (and FLUSH succeeds, though there is no cache to flush).
 *
 * ram: memory (mmap'd lazily: untouched space costs nothing); discard and
 * write-zeroes give whole pages back and zero the partial ones, so a
 * discarded range reads back as zeros (write-zeroes with
 * PEP_BLK_F_NOUNMAP zeroes in place and keeps the memory); flush is a
 * no-op. Caps DISCARD, WRITE_ZEROES.
 *
 * loop: the file (or block device) at path; its size rounded down to 512
 * bytes, or size when nonzero (which must not exceed the file: -EINVAL).
 * O_DIRECT when the file system takes it, buffered otherwise and for
 * requests not aligned for direct I/O. Read-only when read_only, or when
 * the file cannot be opened for writing (EACCES, EROFS, EPERM): caps then
 * has READ_ONLY and writes fail with -EROFS (pep_blk_dispatch). A range
 * that reaches past the end of a file shorter than the device (truncated
 * since) reads as zeros. Needs the queue's ring: queue_init fails with
 * -EINVAL on a queue without one. Caps FLUSH, FUA, DISCARD, WRITE_ZEROES,
 * NEEDS_RING (READ_ONLY: FLUSH, READ_ONLY, NEEDS_RING). -ENOENT / -EACCES /
 * -EISDIR name the path; a path that is neither a regular file nor a
 * block device is -EINVAL.
 */
PEP_API int pep_blk_null_create(struct pep_blk_target **out, uint64_t size,
				struct pep_err *err);
PEP_API int pep_blk_ram_create(struct pep_blk_target **out, uint64_t size,
			       struct pep_err *err);
PEP_API int pep_blk_loop_create(struct pep_blk_target **out, const char *path,
				uint64_t size, int read_only,
				struct pep_err *err);

/*
 * Whether the loop target serves aligned requests with O_DIRECT (the file
 * system took it). 0 for other targets.
 */
/*
 * The zram target: a pep_zram_store of cfg->size bytes (4 KiB logical
 * blocks); discard and write-zeroes forget pages.
 */
struct pep_zram_store_config;
struct pep_zram_store;
PEP_API int pep_blk_zram_create(struct pep_blk_target **out,
				const struct pep_zram_store_config *cfg,
				struct pep_err *err);

/* The zram target's store (for its statistics); NULL for other targets. */
PEP_API struct pep_zram_store *pep_blk_zram_store(struct pep_blk_target *t);

PEP_API int pep_blk_loop_is_direct(const struct pep_blk_target *t);

/* Calls ops->destroy; NULL does nothing. */
PEP_API void pep_blk_target_destroy(struct pep_blk_target *t);

/*
 * Run one request to completion outside a ublk server (tests, tools): a
 * queue of depth 1 (qid 0; req's qid and tag are ignored), with a private
 * ring when caps has NEEDS_RING, set up and torn down around it. Returns
 * the request's result (the byte count, 0, or -errno with err saying
 * what failed), or an error setting up the ring or queue.
 */
PEP_API int pep_blk_run_sync(struct pep_blk_target *t,
			     const struct pep_blk_req *req,
			     struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_BLKMQ_H */
