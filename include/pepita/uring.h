/*
 * pepita/uring.h - a thin layer over liburing: ring set-up with the flags
 * a server wants (falling back where the kernel lacks them), SQE128 for
 * uring_cmd, registered files and buffers, batched submit and reap, and a
 * probe of what the running kernel supports. SQEs and CQEs are liburing's:
 * prepare them with io_uring_prep_*().
 *
 * Where io_uring is missing (ENOSYS), switched off (the
 * kernel.io_uring_disabled sysctl) or forbidden (EPERM from a container's
 * seccomp profile), every entry point returns that error with a message
 * that says which and what to do.
 *
 * Threading: one thread per ring; different rings are independent. With
 * PEP_URING_SINGLE_ISSUER the kernel holds the ring to the thread that
 * created it (6.1+; 6.0: the first to submit): create it on that thread.
 */
#ifndef PEPITA_URING_H
#define PEPITA_URING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Set-up flags (pep_uring_opts.flags). */
#define PEP_URING_SQE128	(1u << 0)	/* 128-byte SQEs: uring_cmd payloads */
#define PEP_URING_SINGLE_ISSUER	(1u << 1)	/* one submitting thread (6.0+) */
#define PEP_URING_COOP_TASKRUN	(1u << 2)	/* fewer IPIs (5.19+) */
#define PEP_URING_DEFER_TASKRUN	(1u << 3)	/* completions run at wait (6.1+) */
#define PEP_URING_SQPOLL	(1u << 4)	/* a kernel thread polls the SQ */

struct pep_uring_opts {
	unsigned int entries;		/* SQ size, rounded up to a power of two;
					   0 = 64 */
	unsigned int cq_entries;	/* 0 = twice entries */
	uint32_t flags;			/* PEP_URING_*; SINGLE_ISSUER, COOP and
					   DEFER are dropped where unsupported,
					   SQE128 and SQPOLL are not; DEFER
					   needs SINGLE_ISSUER, SQPOLL takes
					   neither COOP nor DEFER (-EINVAL) */
	unsigned int sqpoll_idle_ms;	/* with SQPOLL; 0 = 1000 */
};

struct pep_uring;

/*
 * Create a ring. -ENOSYS / -EPERM / -EOPNOTSUPP (SQE128 on a kernel before
 * 5.19, or pepita built with liburing before 2.2), -EINVAL (opts out of
 * range or a flag combination the kernel refuses), -ENOMEM (often
 * RLIMIT_MEMLOCK on older kernels: err says so). *out is NULL on failure.
 */
PEP_API int pep_uring_create(struct pep_uring **out,
			     const struct pep_uring_opts *opts,
			     struct pep_err *err);
PEP_API void pep_uring_destroy(struct pep_uring *r);

/* liburing's ring, for what this layer does not wrap. */
PEP_API struct io_uring *pep_uring_raw(struct pep_uring *r);

/* The flags the ring really got (PEP_URING_*). */
PEP_API uint32_t pep_uring_flags(const struct pep_uring *r);

/*
 * A zeroed SQE (all 128 bytes with SQE128). When the SQ is full it
 * submits what is queued first; NULL only when that fails.
 */
PEP_API struct io_uring_sqe *pep_uring_sqe(struct pep_uring *r);

/* Submit what is queued: the number submitted, or -errno. */
PEP_API int pep_uring_submit(struct pep_uring *r);

/* Submit, then wait until at least wait_nr completions are ready. */
PEP_API int pep_uring_submit_and_wait(struct pep_uring *r, unsigned int wait_nr);

typedef void (*pep_uring_cqe_fn)(void *arg, const struct io_uring_cqe *cqe);

/*
 * Hand every ready CQE (at most max; 0 = no limit) to fn and mark them
 * seen in one step. Returns how many, without waiting. Where the kernel
 * holds completions until the task enters it (COOP/DEFER_TASKRUN task
 * work, an overflowed CQ) it enters once, without sleeping, to fetch them.
 * fn may queue SQEs; it must not reap.
 */
PEP_API unsigned int pep_uring_reap(struct pep_uring *r, pep_uring_cqe_fn fn,
				    void *arg, unsigned int max);

/*
 * Submit, wait for at least one completion (timeout_ms < 0: no limit),
 * then reap as pep_uring_reap() does. Returns the count, -ETIME when the
 * wait ran out, -EINTR, or -errno.
 */
PEP_API int pep_uring_wait_reap(struct pep_uring *r, int timeout_ms,
				pep_uring_cqe_fn fn, void *arg);

/* Fixed files (IOSQE_FIXED_FILE indexes) and fixed buffers. */
PEP_API int pep_uring_register_files(struct pep_uring *r, const int *fds,
				     unsigned int n, struct pep_err *err);
PEP_API int pep_uring_register_buffers(struct pep_uring *r,
				       const struct iovec *iov, unsigned int n,
				       struct pep_err *err);

/*
 * Whether io_uring can be used here: 0, or -ENOSYS/-EPERM with err
 * saying why (not built into the kernel; kernel.io_uring_disabled; a
 * seccomp profile as container runtimes apply).
 */
PEP_API int pep_uring_available(struct pep_err *err);

/* What the running kernel supports. */
struct pep_uring_probe {
	unsigned int last_op;		/* highest opcode the kernel knows */
	uint8_t supported[256];		/* by opcode: 1 when supported */
	uint32_t features;		/* IORING_FEAT_* from set-up */
	uint32_t setup_flags;		/* PEP_URING_* pep_uring_create() keeps
					   here, each tried alone (SQE128 also
					   needs liburing 2.2+) */
	char kernel[64];		/* uname release */
};

/*
 * Fill out from a few throw-away rings: 0, -ENOSYS/-EPERM as
 * pep_uring_available(), -EOPNOTSUPP before Linux 5.6 (no opcode probe).
 */
PEP_API int pep_uring_probe(struct pep_uring_probe *out, struct pep_err *err);

/* "NOP", "READV", ..., "URING_CMD"; NULL for an opcode this build does
   not name. */
PEP_API const char *pep_uring_op_name(unsigned int op);

/* "SINGLE_MMAP", "NODROP", ...: bit i of the features word; NULL when unknown. */
PEP_API const char *pep_uring_feature_name(unsigned int bit);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_URING_H */
