/*
 * What uring.c and probe.c share: the kernel flag values older liburing
 * headers lack, the raw set-up call, and the one place that turns a failed
 * io_uring_setup into a reason a person can act on. Not installed.
 */
#ifndef PEPITA_URING_PRIV_H
#define PEPITA_URING_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "include <pepita/uring.h> instead"
#endif

#include <stdint.h>

#include <pepita/uring.h>

/*
 * liburing 2.1 (Ubuntu 22.04, Jetson L4T R36) predates these; the values
 * are the kernel's ABI and do not change.
 */
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN	(1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG	(1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER	(1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN	(1U << 13)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN		(1U << 2)
#endif

/*
 * liburing learnt 128-byte SQEs in 2.2, together with the flag: 2.1 maps
 * the SQE array at 64 bytes a slot and io_uring_get_sqe() strides by 64,
 * so it cannot drive an SQE128 ring at all.
 */
#ifdef IORING_SETUP_SQE128
#define PEP__URING_LIB_SQE128		1
#else
#define PEP__URING_LIB_SQE128		0
#define IORING_SETUP_SQE128		(1U << 10)
#endif

#define PEP__URING_ALL_FLAGS	(PEP_URING_SQE128 | PEP_URING_SINGLE_ISSUER | \
				 PEP_URING_COOP_TASKRUN | \
				 PEP_URING_DEFER_TASKRUN | PEP_URING_SQPOLL)

/* PEP_URING_* to IORING_SETUP_*; TASKRUN_FLAG rides with COOP or DEFER. */
uint32_t pep__uring_setup_flags(uint32_t pep_flags);

/* io_uring_setup(2) itself: a ring fd (close-on-exec) or -errno. */
int pep__uring_setup_raw(unsigned int entries, struct io_uring_params *p);

/* Whether the kernel makes a 2-entry ring with these IORING_SETUP_* flags. */
int pep__uring_kernel_takes(uint32_t setup_flags);

/*
 * Fill err for a failed io_uring_setup (code < 0) of `entries` entries:
 * ENOSYS and EPERM say which of kernel, sysctl or seccomp is in the way,
 * ENOMEM names RLIMIT_MEMLOCK. Returns code.
 */
int pep__uring_setup_fail(int code, unsigned int entries, struct pep_err *err);

#endif /* PEPITA_URING_PRIV_H */
