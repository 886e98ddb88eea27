/*
 * Whether io_uring can be used here and what the running kernel supports:
 * opcodes (IORING_REGISTER_PROBE, 5.6+), features, the set-up flags it
 * accepts, and the names of all of them.
 *
 * Everything here works on bare ring fds from io_uring_setup(2): nothing
 * is mapped, so a probe costs a few syscalls. When set-up fails, the
 * reason is told apart: ENOSYS (no io_uring in this kernel), EPERM from
 * the kernel.io_uring_disabled sysctl (6.6+), EPERM from a seccomp filter
 * (Docker's and containerd's default profiles block io_uring: moby#46762,
 * containerd#9320).
 *
 * The name tables follow include/uapi/linux/io_uring.h up to Linux 6.18
 * (opcode 62, PIPE; feature bit 17, NO_IOWAIT), checked against a 6.18
 * kernel's probe. Note RECV_ZC is 58 and EPOLL_WAIT 59. A newer kernel's
 * opcodes are probed all the same, only unnamed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "uring_priv.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PROBE_OPS 256

static const char *const op_names[] = {
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED",		/*  0 */
	"WRITE_FIXED", "POLL_ADD", "POLL_REMOVE", "SYNC_FILE_RANGE",	/*  5 */
	"SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT",	/*  9 */
	"ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE",		/* 14 */
	"OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ", "WRITE",	/* 18 */
	"FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL",	/* 24 */
	"SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE",		/* 30 */
	"SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT",	/* 34 */
	"LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR",	/* 39 */
	"GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC", "SENDMSG_ZC",	/* 44 */
	"READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE",		/* 49 */
	"FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND",		/* 53 */
	"LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",		/* 57 */
	"WRITEV_FIXED", "PIPE",						/* 61 */
};

/* Where the table and the headers we build with overlap, they agree. */
_Static_assert(IORING_OP_NOP == 0 && IORING_OP_READ_FIXED == 4 &&
	       IORING_OP_TIMEOUT == 11 && IORING_OP_READ == 22 &&
	       IORING_OP_OPENAT2 == 28 && IORING_OP_LINKAT == 39,
	       "opcode numbering differs from the kernel's");
#if PEP__URING_LIB_SQE128	/* liburing 2.2+: the 5.19 opcodes */
_Static_assert(IORING_OP_FSETXATTR == 41 && IORING_OP_SETXATTR == 42 &&
	       IORING_OP_FGETXATTR == 43 && IORING_OP_GETXATTR == 44 &&
	       IORING_OP_URING_CMD == 46, "opcode numbering differs");
#endif
_Static_assert(ARRAY_SIZE(op_names) == 63, "op_names: one per opcode, 0..62");

static const char *const feature_names[] = {
	"SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS",	/*  0 */
	"CUR_PERSONALITY", "FAST_POLL", "POLL_32BITS",		/*  4 */
	"SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS",		/*  7 */
	"RSRC_TAGS", "CQE_SKIP", "LINKED_FILE", "REG_REG_RING",	/* 10 */
	"RECVSEND_BUNDLE", "MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT",	/* 14 */
};

_Static_assert(IORING_FEAT_SINGLE_MMAP == 1u << 0 &&
	       IORING_FEAT_EXT_ARG == 1u << 8 &&
	       IORING_FEAT_RSRC_TAGS == 1u << 10, "feature bits differ");

PEP_API const char *pep_uring_op_name(unsigned int op)
{
	return op < ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}

PEP_API const char *pep_uring_feature_name(unsigned int bit)
{
	return bit < ARRAY_SIZE(feature_names) ? feature_names[bit] : NULL;
}

uint32_t pep__uring_setup_flags(uint32_t pep_flags)
{
	uint32_t f = 0;

	if (pep_flags & PEP_URING_SQE128)
		f |= IORING_SETUP_SQE128;
	if (pep_flags & PEP_URING_SINGLE_ISSUER)
		f |= IORING_SETUP_SINGLE_ISSUER;
	if (pep_flags & PEP_URING_COOP_TASKRUN)
		f |= IORING_SETUP_COOP_TASKRUN;
	if (pep_flags & PEP_URING_DEFER_TASKRUN)
		f |= IORING_SETUP_DEFER_TASKRUN;
	if (pep_flags & PEP_URING_SQPOLL)
		f |= IORING_SETUP_SQPOLL;
	/* Lets pep_uring_reap() see held-back task work (5.19+, as COOP). */
	if (pep_flags & (PEP_URING_COOP_TASKRUN | PEP_URING_DEFER_TASKRUN))
		f |= IORING_SETUP_TASKRUN_FLAG;
	return f;
}

int pep__uring_setup_raw(unsigned int entries, struct io_uring_params *p)
{
	long fd = syscall(__NR_io_uring_setup, entries, p);

	return fd < 0 ? -errno : (int)fd;
}

/* A small integer from a procfs file; -errno when absent or unreadable. */
static int read_proc_int(const char *path, const char *key, long *out)
{
	char line[256];
	size_t key_len = key ? strlen(key) : 0;
	int ret = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		char *end;

		if (key && strncmp(line, key, key_len) != 0)
			continue;
		errno = 0;
		*out = strtol(line + key_len, &end, 10);
		ret = end == line + key_len || errno ? -EINVAL : 0;
		if (!key)
			break;
	}
	fclose(f);
	return ret;
}

static int explain_sysctl(long disabled, struct pep_err *err)
{
	long gid = -1;

	if (disabled >= 2)
		return pep_err_set(err, -EPERM,
				   "io_uring is disabled on this machine: sysctl "
				   "kernel.io_uring_disabled = %ld (sysctl -w "
				   "kernel.io_uring_disabled=0 enables it)",
				   disabled);
	read_proc_int("/proc/sys/kernel/io_uring_group", NULL, &gid);
	return pep_err_set(err, -EPERM,
			   "io_uring is restricted: sysctl kernel.io_uring_disabled = 1 allows "
			   "only CAP_SYS_ADMIN and group kernel.io_uring_group (%ld); join it "
			   "or set the sysctl to 0",
			   gid);
}

static int explain_eperm(struct pep_err *err)
{
	long disabled = 0, seccomp = -1;

	/* The sysctl exists from 6.6; without it only seccomp or an LSM. */
	if (read_proc_int("/proc/sys/kernel/io_uring_disabled", NULL,
			  &disabled) == 0 && disabled > 0)
		return explain_sysctl(disabled, err);
	read_proc_int("/proc/self/status", "Seccomp:", &seccomp);
	if (seccomp == 0)
		return pep_err_set(err, -EPERM,
				   "io_uring_setup: Operation not permitted, with no seccomp "
				   "filter and kernel.io_uring_disabled = 0: a security module "
				   "(SELinux, AppArmor) policy?");
	return pep_err_set(err, -EPERM,
			   "io_uring is forbidden here: a seccomp filter blocks io_uring_setup "
			   "(container runtimes such as Docker and containerd do by default); "
			   "allow io_uring_setup, io_uring_enter and io_uring_register in the "
			   "seccomp profile");
}

static int explain_enosys(struct pep_err *err)
{
	long seccomp = -1;

	read_proc_int("/proc/self/status", "Seccomp:", &seccomp);
	if (seccomp == 2)
		return pep_err_set(err, -ENOSYS,
				   "io_uring is not available: io_uring_setup answers ENOSYS, "
				   "from a kernel without io_uring (CONFIG_IO_URING, Linux "
				   "5.1+) or this process's seccomp filter (a container's?)");
	return pep_err_set(err, -ENOSYS,
			   "io_uring is not available: io_uring_setup answers ENOSYS (a kernel "
			   "without CONFIG_IO_URING or older than 5.1, or an emulator such as "
			   "qemu-user)");
}

int pep__uring_setup_fail(int code, unsigned int entries, struct pep_err *err)
{
	struct rlimit rl;

	switch (code) {
	case -ENOSYS:
		return explain_enosys(err);
	case -EPERM:
		return explain_eperm(err);
	case -ENOMEM:
		if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 ||
		    rl.rlim_cur == RLIM_INFINITY)
			break;
		return pep_err_set(err, code,
				   "io_uring_setup(%u entries): Cannot allocate memory: before "
				   "Linux 5.12 rings count against RLIMIT_MEMLOCK, %llu KiB "
				   "here (raise ulimit -l or use fewer entries)",
				   entries,
				   (unsigned long long)rl.rlim_cur / 1024);
	}
	errno = -code;
	return pep_err_errno(err, "io_uring_setup(%u entries)", entries);
}

PEP_API int pep_uring_available(struct pep_err *err)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = pep__uring_setup_raw(1, &p);
	if (fd < 0)
		return pep__uring_setup_fail(fd, 1, err);
	close(fd);
	return 0;
}

static int probe_ops(int ring_fd, struct pep_uring_probe *out,
		     struct pep_err *err)
{
	struct io_uring_probe *pr;
	long ret;

	pr = calloc(1, sizeof(*pr) + PROBE_OPS * sizeof(pr->ops[0]));
	if (!pr)
		return pep_err_set(err, -ENOMEM, "io_uring probe: out of memory");
	ret = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_PROBE,
		      pr, PROBE_OPS);
	if (ret < 0) {
		ret = errno == EINVAL ? -EOPNOTSUPP : -errno;
		free(pr);
		if (ret == -EOPNOTSUPP)
			return pep_err_set(err, -EOPNOTSUPP,
					   "io_uring probe: kernel %s has no "
					   "IORING_REGISTER_PROBE (Linux 5.6+)",
					   out->kernel);
		errno = (int)-ret;
		return pep_err_errno(err, "io_uring probe: IORING_REGISTER_PROBE");
	}
	out->last_op = pr->last_op;
	for (unsigned int i = 0; i < pr->ops_len && i < PROBE_OPS; i++)
		if (pr->ops[i].flags & IO_URING_OP_SUPPORTED)
			out->supported[pr->ops[i].op] = 1;
	free(pr);
	return 0;
}

int pep__uring_kernel_takes(uint32_t setup_flags)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = setup_flags;
	if (setup_flags & IORING_SETUP_SQPOLL)
		p.sq_thread_idle = 10;
	fd = pep__uring_setup_raw(2, &p);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* The PEP_URING_* flags pep_uring_create() would keep, one at a time. */
static uint32_t probe_setup_flags(void)
{
	static const struct {
		uint32_t flag;
		uint32_t with;		/* what the kernel needs beside it */
	} each[] = {
		{ PEP_URING_SQE128, 0 },
		{ PEP_URING_SINGLE_ISSUER, 0 },
		{ PEP_URING_COOP_TASKRUN, 0 },
		{ PEP_URING_DEFER_TASKRUN, PEP_URING_SINGLE_ISSUER },
		{ PEP_URING_SQPOLL, 0 },
	};
	uint32_t ok = 0;

	for (size_t i = 0; i < ARRAY_SIZE(each); i++) {
		if (each[i].flag == PEP_URING_SQE128 && !PEP__URING_LIB_SQE128)
			continue;	/* the kernel may, this build cannot */
		if (pep__uring_kernel_takes(pep__uring_setup_flags(each[i].flag |
								   each[i].with)))
			ok |= each[i].flag;
	}
	return ok;
}

PEP_API int pep_uring_probe(struct pep_uring_probe *out, struct pep_err *err)
{
	struct io_uring_params p;
	struct utsname u;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	if (uname(&u) == 0)
		snprintf(out->kernel, sizeof(out->kernel), "%s", u.release);
	memset(&p, 0, sizeof(p));
	fd = pep__uring_setup_raw(2, &p);
	if (fd < 0)
		return pep__uring_setup_fail(fd, 2, err);
	out->features = p.features;
	ret = probe_ops(fd, out, err);
	close(fd);
	if (ret < 0)
		return ret;
	out->setup_flags = probe_setup_flags();
	return 0;
}
