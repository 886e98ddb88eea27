/*
 * Rings: set-up with fallback, SQEs, batched submit and reap, registered
 * files and buffers. A thin layer over liburing that builds against 2.1
 * (Ubuntu 22.04, Jetson L4T R36) as well as 2.3 (Debian 12): only calls
 * that 2.1 has, flag values from uring_priv.h, raw io_uring_enter where
 * 2.1 has no wrapper.
 *
 * Set-up asks for what the caller wants and, on EINVAL (a kernel that does
 * not know a flag), drops DEFER_TASKRUN (6.1), then SINGLE_ISSUER (6.0),
 * then COOP_TASKRUN (5.19): they only tune how work is run. SQE128 and
 * SQPOLL change what the caller may do with the ring, so they are never
 * dropped; their absence is an error that says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring_priv.h"

#define DEFAULT_ENTRIES		64
#define MAX_ENTRIES		32768	/* IORING_MAX_ENTRIES */
#define MAX_CQ_ENTRIES		65536	/* IORING_MAX_CQ_ENTRIES */
#define DEFAULT_SQPOLL_IDLE_MS	1000

struct pep_uring {
	struct io_uring ring;
	uint32_t flags;		/* PEP_URING_* the ring really got */
	uint32_t features;	/* IORING_FEAT_* */
};

/* Tried in this order when set-up answers EINVAL. */
static const uint32_t droppable[] = {
	PEP_URING_DEFER_TASKRUN,
	PEP_URING_SINGLE_ISSUER,
	PEP_URING_COOP_TASKRUN,
};

static int check_opts(const struct pep_uring_opts *o, unsigned int entries,
		      struct pep_err *err)
{
	if (o->flags & ~PEP__URING_ALL_FLAGS)
		return pep_err_set(err, -EINVAL, "io_uring: unknown flags 0x%x",
				   o->flags & ~PEP__URING_ALL_FLAGS);
	if (entries > MAX_ENTRIES)
		return pep_err_set(err, -EINVAL,
				   "io_uring: %u entries: at most %u", entries,
				   MAX_ENTRIES);
	if (o->cq_entries && (o->cq_entries < entries ||
			      o->cq_entries > MAX_CQ_ENTRIES))
		return pep_err_set(err, -EINVAL,
				   "io_uring: cq_entries %u: from entries (%u) to %u",
				   o->cq_entries, entries, MAX_CQ_ENTRIES);
	if ((o->flags & PEP_URING_DEFER_TASKRUN) &&
	    !(o->flags & PEP_URING_SINGLE_ISSUER))
		return pep_err_set(err, -EINVAL,
				   "io_uring: DEFER_TASKRUN needs SINGLE_ISSUER");
	if ((o->flags & PEP_URING_SQPOLL) &&
	    (o->flags & (PEP_URING_COOP_TASKRUN | PEP_URING_DEFER_TASKRUN)))
		return pep_err_set(err, -EINVAL,
				   "io_uring: SQPOLL does not combine with COOP_TASKRUN or "
				   "DEFER_TASKRUN");
	if ((o->flags & PEP_URING_SQE128) && !PEP__URING_LIB_SQE128)
		return pep_err_set(err, -EOPNOTSUPP,
				   "io_uring: SQE128: pepita was built with liburing older "
				   "than 2.2, which cannot drive 128-byte SQEs");
	return 0;
}

static int ring_init(struct pep_uring *r, const struct pep_uring_opts *o,
		     unsigned int entries, uint32_t flags)
{
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = pep__uring_setup_flags(flags);
	if (o->cq_entries) {
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = o->cq_entries;
	}
	if (flags & PEP_URING_SQPOLL)
		p.sq_thread_idle = o->sqpoll_idle_ms ? o->sqpoll_idle_ms :
				   DEFAULT_SQPOLL_IDLE_MS;
	ret = io_uring_queue_init_params(entries, &r->ring, &p);
	if (ret == 0)
		r->features = p.features;
	return ret;
}

/*
 * Set-up failed with every droppable flag gone. Name a flag the kernel
 * refuses where that is the reason; everything else (ENOSYS, EPERM,
 * ENOMEM) goes to the shared explanation.
 */
static int init_fail(int code, unsigned int entries, uint32_t flags,
		     struct pep_err *err)
{
	if (code == -EINVAL && (flags & PEP_URING_SQE128) &&
	    !pep__uring_kernel_takes(IORING_SETUP_SQE128) && pep__uring_kernel_takes(0))
		return pep_err_set(err, -EOPNOTSUPP,
				   "io_uring: SQE128 (128-byte SQEs for uring_cmd) needs Linux "
				   "5.19 or later");
	if ((code == -EPERM || code == -EINVAL) &&
	    (flags & PEP_URING_SQPOLL) && pep__uring_kernel_takes(0))
		return pep_err_set(err, code,
				   "io_uring: SQPOLL refused (%s): before Linux 5.11 it needs "
				   "CAP_SYS_ADMIN and registered files",
				   code == -EPERM ? "not permitted" : "invalid");
	if (code == -EINVAL)
		return pep_err_set(err, code,
				   "io_uring_setup(%u entries, flags 0x%x): Invalid argument",
				   entries, pep__uring_setup_flags(flags));
	return pep__uring_setup_fail(code, entries, err);
}

PEP_API int pep_uring_create(struct pep_uring **out,
			     const struct pep_uring_opts *opts,
			     struct pep_err *err)
{
	static const struct pep_uring_opts defaults;
	struct pep_uring *r;
	unsigned int entries;
	uint32_t flags;
	size_t i = 0;
	int ret;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	entries = opts->entries ? opts->entries : DEFAULT_ENTRIES;
	ret = check_opts(opts, entries, err);
	if (ret < 0)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return pep_err_set(err, -ENOMEM, "io_uring: out of memory");
	flags = opts->flags;
	while ((ret = ring_init(r, opts, entries, flags)) == -EINVAL) {
		while (i < sizeof(droppable) / sizeof(droppable[0]) &&
		       !(flags & droppable[i]))
			i++;
		if (i == sizeof(droppable) / sizeof(droppable[0]))
			break;
		flags &= ~droppable[i];
	}
	if (ret < 0) {
		free(r);
		return init_fail(ret, entries, flags, err);
	}
	r->flags = flags;
	*out = r;
	return 0;
}

PEP_API void pep_uring_destroy(struct pep_uring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->ring);
	free(r);
}

PEP_API struct io_uring *pep_uring_raw(struct pep_uring *r)
{
	return &r->ring;
}

PEP_API uint32_t pep_uring_flags(const struct pep_uring *r)
{
	return r->flags;
}

/*
 * The SQ is full: submit what is queued to make room. With SQPOLL the
 * kernel thread may not have taken the entries yet, so wait for it.
 */
static struct io_uring_sqe *sqe_after_submit(struct pep_uring *r)
{
	struct io_uring_sqe *sqe;

	if (io_uring_submit(&r->ring) < 0)
		return NULL;
	sqe = io_uring_get_sqe(&r->ring);
	if (!sqe && (r->flags & PEP_URING_SQPOLL) &&
	    io_uring_sqring_wait(&r->ring) >= 0)
		sqe = io_uring_get_sqe(&r->ring);
	return sqe;
}

PEP_API struct io_uring_sqe *pep_uring_sqe(struct pep_uring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		sqe = sqe_after_submit(r);
		if (!sqe)
			return NULL;
	}
	/* Two constant sizes, so the compiler inlines both stores. */
	if (r->flags & PEP_URING_SQE128)
		memset(sqe, 0, 2 * sizeof(*sqe));
	else
		memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

PEP_API int pep_uring_submit(struct pep_uring *r)
{
	return io_uring_submit(&r->ring);
}

PEP_API int pep_uring_submit_and_wait(struct pep_uring *r, unsigned int wait_nr)
{
	return io_uring_submit_and_wait(&r->ring, wait_nr);
}

/* Hand out what the CQ holds now; advance the head once. */
static unsigned int reap_ready(struct pep_uring *r, pep_uring_cqe_fn fn,
			       void *arg, unsigned int max)
{
	/*
	 * Without IORING_FEAT_EXT_ARG (before 5.11) liburing waits with a
	 * timeout by queueing its own TIMEOUT SQE; its CQE is liburing's.
	 */
	int own_timeouts = !(r->features & IORING_FEAT_EXT_ARG);
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, n = 0;

	io_uring_for_each_cqe(&r->ring, head, cqe) {
		if (max && n == max)
			break;
		seen++;
		if (own_timeouts && cqe->user_data == LIBURING_UDATA_TIMEOUT)
			continue;
		if (fn)
			fn(arg, cqe);
		n++;
	}
	if (seen)
		io_uring_cq_advance(&r->ring, seen);
	return n;
}

/*
 * Completions the kernel holds back until this task enters it: task work
 * of COOP/DEFER rings (TASKRUN_FLAG makes the kernel raise
 * IORING_SQ_TASKRUN for it) and, with NODROP, an overflowed CQ.
 */
static int cq_needs_enter(struct pep_uring *r)
{
	unsigned int sq_flags = IO_URING_READ_ONCE(*r->ring.sq.kflags);

	return sq_flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW);
}

PEP_API unsigned int pep_uring_reap(struct pep_uring *r, pep_uring_cqe_fn fn,
				    void *arg, unsigned int max)
{
	unsigned int n = reap_ready(r, fn, arg, max);

	if ((max && n == max) || !cq_needs_enter(r))
		return n;
	/* min_complete 0: run the pending work, never sleep. */
	if (syscall(__NR_io_uring_enter, r->ring.ring_fd, 0, 0,
		    IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return n;
	return n + reap_ready(r, fn, arg, max ? max - n : 0);
}

/* Submit; a CQ that must be reaped first (EBUSY, EAGAIN) is no error here. */
static int submit_before_wait(struct pep_uring *r)
{
	int ret = io_uring_submit(&r->ring);

	return ret == -EBUSY || ret == -EAGAIN ? 0 : ret;
}

PEP_API int pep_uring_wait_reap(struct pep_uring *r, int timeout_ms,
				pep_uring_cqe_fn fn, void *arg)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	unsigned int n;
	int ret;

	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	do {
		ret = submit_before_wait(r);
		if (ret < 0)
			return ret;
		if (timeout_ms < 0)
			ret = io_uring_wait_cqe(&r->ring, &cqe);
		else
			ret = io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts);
		if (ret < 0)
			return ret;
		n = pep_uring_reap(r, fn, arg, 0);
		/* A wait can end on a CQE of liburing's own timeout. */
	} while (n == 0 && timeout_ms < 0);
	return n ? (int)n : -ETIME;
}

static unsigned long long rlimit_kib(int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (unsigned long long)rl.rlim_cur / 1024;
}

PEP_API int pep_uring_register_files(struct pep_uring *r, const int *fds,
				     unsigned int n, struct pep_err *err)
{
	int ret = io_uring_register_files(&r->ring, fds, n);

	switch (ret) {
	case 0:
		return 0;
	case -EBUSY:
		return pep_err_set(err, ret,
				   "io_uring: register files: this ring already has a file table");
	case -EBADF:
		return pep_err_set(err, ret,
				   "io_uring: register %u files: one of them is not an open fd",
				   n);
	case -EMFILE:
		return pep_err_set(err, ret,
				   "io_uring: register %u files: more than RLIMIT_NOFILE "
				   "allows (ulimit -n)",
				   n);
	default:
		errno = -ret;
		return pep_err_errno(err, "io_uring: register %u files", n);
	}
}

PEP_API int pep_uring_register_buffers(struct pep_uring *r,
				       const struct iovec *iov, unsigned int n,
				       struct pep_err *err)
{
	int ret = io_uring_register_buffers(&r->ring, iov, n);
	unsigned long long kib;

	switch (ret) {
	case 0:
		return 0;
	case -EBUSY:
		return pep_err_set(err, ret,
				   "io_uring: register buffers: this ring already has buffers");
	case -ENOMEM:
		kib = rlimit_kib(RLIMIT_MEMLOCK);
		if (!kib)
			break;
		return pep_err_set(err, ret,
				   "io_uring: register %u buffers: out of locked memory: they "
				   "count against RLIMIT_MEMLOCK, %llu KiB here (ulimit -l)",
				   n, kib);
	case -EFAULT:
	case -EOPNOTSUPP:
		return pep_err_set(err, ret,
				   "io_uring: register %u buffers: the kernel cannot pin one "
				   "of them (file-backed memory other than hugetlbfs?)",
				   n);
	case -EINVAL:
		return pep_err_set(err, ret,
				   "io_uring: register %u buffers: a NULL or empty buffer, one "
				   "over 1 GiB, or more than 16384",
				   n);
	}
	errno = -ret;
	return pep_err_errno(err, "io_uring: register %u buffers", n);
}
