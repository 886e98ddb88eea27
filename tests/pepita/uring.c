/*
 * pepita's uring layer on the running kernel: set-up flags, SQE zeroing,
 * batched NOPs, auto-submit on a full SQ, fixed files and buffers, wait
 * timeouts, held-back completions of a DEFER_TASKRUN ring, the probe, and
 * the errors when io_uring is forbidden (a seccomp filter in a child, as a
 * container runtime installs one). Skips (77) where io_uring is unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/uring.h>

#include "harness.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct pep_uring_probe probe;	/* filled once in main() */

/* Kernel release as major * 100 + minor: 6.18 -> 618. */
static int kernel_version(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

/* Collects what pep_uring_reap() hands out. */
struct seen {
	unsigned int count;
	int bad_res;
	uint64_t udata[256];
};

static void on_cqe(void *arg, const struct io_uring_cqe *cqe)
{
	struct seen *s = arg;

	if (cqe->res < 0)
		s->bad_res = cqe->res;
	if (s->count < ARRAY_SIZE(s->udata))
		s->udata[s->count] = cqe->user_data;
	s->count++;
}

/* Every user_data in [base, base + n) seen exactly once. */
static int all_seen_once(const struct seen *s, uint64_t base, unsigned int n)
{
	unsigned char hit[256] = { 0 };

	if (s->count != n || n > ARRAY_SIZE(hit))
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t k = s->udata[i] - base;

		if (s->udata[i] < base || k >= n || hit[k])
			return 0;
		hit[k] = 1;
	}
	return 1;
}

/* Queue n NOPs with user_data base..base+n-1. */
static int queue_nops(struct pep_uring *r, uint64_t base, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = pep_uring_sqe(r);

		if (!sqe)
			return -1;
		io_uring_prep_nop(sqe);
		sqe->user_data = base + i;
	}
	return 0;
}

static int nop_round_trip(struct pep_uring *r, uint64_t base, unsigned int n)
{
	struct seen s = { 0 };
	int ret;

	CHECK(queue_nops(r, base, n) == 0);
	ret = pep_uring_submit_and_wait(r, n);
	CHECK(ret == (int)n);
	/* SQPOLL rings: the kernel thread may post them a moment later. */
	while (s.count < n && pep_uring_wait_reap(r, 1000, on_cqe, &s) > 0)
		;
	CHECK(s.bad_res == 0);
	CHECK(all_seen_once(&s, base, n));
	return T_PASS;
}

static int test_flags(void)
{
	static const uint32_t sets[] = {
		0,
		PEP_URING_SQE128,
		PEP_URING_SINGLE_ISSUER,
		PEP_URING_COOP_TASKRUN,
		PEP_URING_SINGLE_ISSUER | PEP_URING_DEFER_TASKRUN,
		PEP_URING_COOP_TASKRUN | PEP_URING_SINGLE_ISSUER |
			PEP_URING_DEFER_TASKRUN,
		PEP_URING_SQE128 | PEP_URING_COOP_TASKRUN |
			PEP_URING_SINGLE_ISSUER | PEP_URING_DEFER_TASKRUN,
		PEP_URING_SQPOLL,
		PEP_URING_SQPOLL | PEP_URING_SQE128,
	};

	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		struct pep_uring_opts o = { .entries = 8, .flags = sets[i] };
		uint32_t fixed = sets[i] & (PEP_URING_SQE128 | PEP_URING_SQPOLL);
		struct pep_err err = { 0 };
		struct pep_uring *r;
		int ret = pep_uring_create(&r, &o, &err);

		if ((probe.setup_flags & fixed) != fixed) {
			/* Never dropped silently: an error instead. */
			CHECK(ret < 0 && err.code == ret && err.msg[0]);
			continue;
		}
		if (ret < 0)
			fprintf(stderr, "flags 0x%x: %s\n", sets[i], err.msg);
		CHECK(ret == 0);
		/* What the probe says the kernel takes is kept, the rest dropped. */
		CHECK(pep_uring_flags(r) == (sets[i] & probe.setup_flags));
		CHECK(!!(pep_uring_raw(r)->flags & IORING_SETUP_SQE128) ==
		      !!(pep_uring_flags(r) & PEP_URING_SQE128));
		CHECK(*pep_uring_raw(r)->sq.kring_entries == 8);
		ret = nop_round_trip(r, 1000 * i, 8);
		pep_uring_destroy(r);
		CHECK(ret == T_PASS);
	}
	return T_PASS;
}

static int test_bad_opts(void)
{
	static const struct pep_uring_opts bad[] = {
		{ .flags = 1u << 20 },
		{ .flags = PEP_URING_DEFER_TASKRUN },	/* without SINGLE_ISSUER */
		{ .flags = PEP_URING_SQPOLL | PEP_URING_COOP_TASKRUN },
		{ .entries = 65536 },
		{ .entries = 64, .cq_entries = 32 },
	};
	struct pep_uring *r = (struct pep_uring *)&r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pep_err err = { 0 };

		CHECK(pep_uring_create(&r, &bad[i], &err) == -EINVAL);
		CHECK(err.code == -EINVAL && strstr(err.msg, "io_uring"));
		CHECK(r == NULL);
	}
	pep_uring_destroy(NULL);
	return T_PASS;
}

static int test_defaults(void)
{
	struct pep_uring_opts o = { .entries = 5, .cq_entries = 40 };
	struct pep_uring *r;

	CHECK(pep_uring_create(&r, NULL, NULL) == 0);
	CHECK(*pep_uring_raw(r)->sq.kring_entries == 64);
	CHECK(*pep_uring_raw(r)->cq.kring_entries == 128);
	CHECK(pep_uring_flags(r) == 0);
	pep_uring_destroy(r);
	CHECK(pep_uring_create(&r, &o, NULL) == 0);
	CHECK(*pep_uring_raw(r)->sq.kring_entries == 8);
	CHECK(*pep_uring_raw(r)->cq.kring_entries == 64);
	pep_uring_destroy(r);
	return T_PASS;
}

/*
 * Dirty every slot of an SQE128 ring (both halves), run them as NOPs, then
 * every SQE handed out must be zero across all 128 bytes.
 */
static int test_sqe128_zeroed(void)
{
	struct pep_uring_opts o = { .entries = 4, .flags = PEP_URING_SQE128 };
	static const unsigned char zero[128];
	struct pep_uring *r;
	struct seen s = { 0 };

	if (!(probe.setup_flags & PEP_URING_SQE128))
		return T_SKIP;
	CHECK(pep_uring_create(&r, &o, NULL) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(pep_uring_raw(r));

		CHECK(sqe);
		memset(sqe, 0xa5, 128);
		io_uring_prep_nop(sqe);
		sqe->user_data = i;
	}
	CHECK(pep_uring_submit_and_wait(r, 4) == 4);
	CHECK(pep_uring_reap(r, on_cqe, &s, 0) == 4 && s.bad_res == 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = pep_uring_sqe(r);

		CHECK(sqe && memcmp(sqe, zero, sizeof(zero)) == 0);
		memset(sqe, 0xa5, 128);
		io_uring_prep_nop(sqe);
	}
	pep_uring_destroy(r);
	return T_PASS;
}

static int test_batches(void)
{
	static const unsigned int batch[] = { 1, 7, 32, 64 };
	struct pep_uring_opts o = { .entries = 64 };
	struct pep_uring *r;
	int ret = T_PASS;

	CHECK(pep_uring_create(&r, &o, NULL) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(batch) && ret == T_PASS; i++) {
		struct seen s = { 0 };
		uint64_t base = 0xabc000000000ull + i * 100;

		ret = T_FAIL;
		if (queue_nops(r, base, batch[i]) != 0 ||
		    pep_uring_submit(r) != (int)batch[i])
			break;
		/* submit + wait: at least all of them are ready */
		if (pep_uring_submit_and_wait(r, batch[i]) < 0 ||
		    io_uring_cq_ready(pep_uring_raw(r)) != batch[i])
			break;
		/* max: a part, then the rest */
		if (pep_uring_reap(r, on_cqe, &s, 1) != 1 ||
		    pep_uring_reap(r, on_cqe, &s, 0) != batch[i] - 1 ||
		    pep_uring_reap(r, on_cqe, &s, 0) != 0)
			break;
		if (s.bad_res == 0 && all_seen_once(&s, base, batch[i]))
			ret = T_PASS;
	}
	pep_uring_destroy(r);
	CHECK(ret == T_PASS);
	return T_PASS;
}

/* The ninth SQE of an 8-entry ring: the first eight are submitted. */
static int test_sqe_autosubmit(void)
{
	struct pep_uring_opts o = { .entries = 8 };
	struct io_uring *raw;
	struct pep_uring *r;
	struct seen s = { 0 };

	CHECK(pep_uring_create(&r, &o, NULL) == 0);
	raw = pep_uring_raw(r);
	CHECK(queue_nops(r, 500, 8) == 0);
	CHECK(io_uring_sq_ready(raw) == 8 && io_uring_sq_space_left(raw) == 0);
	CHECK(io_uring_cq_ready(raw) == 0);
	CHECK(queue_nops(r, 508, 1) == 0);
	CHECK(io_uring_sq_ready(raw) == 1);
	CHECK(io_uring_cq_ready(raw) == 8);	/* NOPs complete inline */
	CHECK(pep_uring_wait_reap(r, 1000, on_cqe, &s) == 9);
	CHECK(s.bad_res == 0 && all_seen_once(&s, 500, 9));
	pep_uring_destroy(r);
	return T_PASS;
}

/* The res of the CQEs pep_uring_reap() hands out, and how many. */
struct res_cqe {
	int res;
	unsigned int n;
};

static void on_res(void *arg, const struct io_uring_cqe *cqe)
{
	struct res_cqe *rc = arg;

	rc->res = cqe->res;
	rc->n++;
}

#define FILE_BYTES 8192

/* A temp file of FILE_BYTES known bytes, unlinked; its fd or -1. */
static int make_file(unsigned char *pattern)
{
	char path[] = "/tmp/pepita-uring-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (int i = 0; i < FILE_BYTES; i++)
		pattern[i] = (unsigned char)(i * 7 + i / 251);
	if (pwrite(fd, pattern, FILE_BYTES, 0) != FILE_BYTES) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Slot 0 is /dev/zero, slot 1 the file; the file's own fd is closed before
 * the read, so only the registered table can reach it.
 */
static int test_fixed_files(void)
{
	static unsigned char pattern[FILE_BYTES], buf[FILE_BYTES];
	struct pep_err err = { 0 };
	struct res_cqe rc = { 0 };
	struct io_uring_sqe *sqe;
	struct pep_uring *r;
	int fds[2];

	fds[0] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	fds[1] = make_file(pattern);
	if (fds[0] < 0 || fds[1] < 0)
		return T_ERROR;
	CHECK(pep_uring_create(&r, NULL, NULL) == 0);
	CHECK(pep_uring_register_files(r, fds, 2, &err) == 0);
	CHECK(pep_uring_register_files(r, fds, 2, &err) == -EBUSY);
	CHECK(err.code == -EBUSY && strstr(err.msg, "file table"));
	close(fds[1]);
	sqe = pep_uring_sqe(r);
	CHECK(sqe);
	io_uring_prep_read(sqe, 1, buf, FILE_BYTES, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	CHECK(pep_uring_wait_reap(r, 5000, on_res, &rc) == 1);
	CHECK(rc.n == 1 && rc.res == FILE_BYTES);
	CHECK(memcmp(buf, pattern, FILE_BYTES) == 0);
	pep_uring_destroy(r);
	close(fds[0]);
	return T_PASS;
}

static int test_fixed_buffers(void)
{
	static unsigned char pattern[FILE_BYTES];
	struct pep_err err = { 0 };
	struct res_cqe rc = { 0 };
	struct io_uring_sqe *sqe;
	struct iovec iov[2];
	struct pep_uring *r;
	void *mem = NULL;
	int fd = make_file(pattern);

	if (fd < 0 || posix_memalign(&mem, 4096, 2 * FILE_BYTES) != 0)
		return T_ERROR;
	memset(mem, 0, 2 * FILE_BYTES);
	iov[0] = (struct iovec){ .iov_base = mem, .iov_len = FILE_BYTES };
	iov[1] = (struct iovec){ .iov_base = (char *)mem + FILE_BYTES,
				 .iov_len = FILE_BYTES };
	CHECK(pep_uring_create(&r, NULL, NULL) == 0);
	CHECK(pep_uring_register_buffers(r, iov, 2, &err) == 0);
	CHECK(pep_uring_register_buffers(r, iov, 2, &err) == -EBUSY);
	CHECK(err.code == -EBUSY);
	sqe = pep_uring_sqe(r);
	CHECK(sqe);
	/* half a buffer, from the file's middle, into buffer 1 */
	io_uring_prep_read_fixed(sqe, fd, iov[1].iov_base, FILE_BYTES / 2,
				 FILE_BYTES / 4, 1);
	CHECK(pep_uring_wait_reap(r, 5000, on_res, &rc) == 1);
	CHECK(rc.n == 1 && rc.res == FILE_BYTES / 2);
	CHECK(memcmp(iov[1].iov_base, pattern + FILE_BYTES / 4,
		     FILE_BYTES / 2) == 0);
	pep_uring_destroy(r);
	close(fd);
	free(mem);
	return T_PASS;
}

static int test_wait_timeout(void)
{
	struct pep_uring *r;
	struct seen s = { 0 };
	uint64_t t0, ms;

	CHECK(pep_uring_create(&r, NULL, NULL) == 0);
	t0 = pep_time_ns();
	CHECK(pep_uring_wait_reap(r, 50, on_cqe, &s) == -ETIME);
	ms = (pep_time_ns() - t0) / 1000000;
	CHECK(ms >= 45 && ms < 2000);
	CHECK(pep_uring_wait_reap(r, 0, on_cqe, &s) == -ETIME);
	CHECK(s.count == 0);
	/* with one NOP queued, the same call submits it and returns 1 */
	CHECK(queue_nops(r, 7, 1) == 0);
	CHECK(pep_uring_wait_reap(r, 50, on_cqe, &s) == 1);
	CHECK(s.count == 1 && s.udata[0] == 7);
	/* no limit */
	CHECK(queue_nops(r, 8, 2) == 0);
	CHECK(pep_uring_wait_reap(r, -1, on_cqe, &s) >= 1);
	while (s.count < 3)
		CHECK(pep_uring_wait_reap(r, 1000, on_cqe, &s) >= 1);
	pep_uring_destroy(r);
	return T_PASS;
}

/*
 * A read on an empty pipe completes when the pipe is written. On a
 * DEFER_TASKRUN ring that completion waits in the kernel until the task
 * enters it: pep_uring_reap() must fetch it without being told to wait.
 */
static int test_deferred_reap(void)
{
	struct pep_uring_opts o = {
		.flags = PEP_URING_SINGLE_ISSUER | PEP_URING_DEFER_TASKRUN,
	};
	struct io_uring_sqe *sqe;
	struct pep_uring *r;
	struct res_cqe rc = { 0 };
	char buf[8];
	int p[2];

	if (!(probe.setup_flags & PEP_URING_DEFER_TASKRUN))
		return T_SKIP;
	if (pipe2(p, O_CLOEXEC) != 0)
		return T_ERROR;
	CHECK(pep_uring_create(&r, &o, NULL) == 0);
	CHECK(pep_uring_flags(r) & PEP_URING_DEFER_TASKRUN);
	sqe = pep_uring_sqe(r);
	CHECK(sqe);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	CHECK(pep_uring_submit(r) == 1);
	CHECK(pep_uring_reap(r, on_res, &rc, 0) == 0);
	CHECK(write(p[1], "hello", 5) == 5);
	CHECK(pep_uring_reap(r, on_res, &rc, 0) == 1);
	CHECK(rc.res == 5 && memcmp(buf, "hello", 5) == 0);
	pep_uring_destroy(r);
	close(p[0]);
	close(p[1]);
	return T_PASS;
}

static int test_probe(void)
{
	int kv = kernel_version();

	CHECK(probe.kernel[0]);
	CHECK(probe.supported[IORING_OP_NOP]);
	CHECK(probe.supported[IORING_OP_READ] && probe.supported[IORING_OP_READ_FIXED]);
	CHECK(probe.features & IORING_FEAT_NODROP);
	if (kv >= 519) {
		CHECK(probe.last_op >= 46);
		CHECK(probe.supported[46]);	/* URING_CMD */
		CHECK(probe.setup_flags & PEP_URING_COOP_TASKRUN);
	}
	if (kv >= 601)
		CHECK(probe.setup_flags & PEP_URING_DEFER_TASKRUN);
	for (unsigned int op = probe.last_op + 1; op < 256; op++)
		CHECK(!probe.supported[op]);
	/* names are the kernel's numbering (xattr order included) */
	CHECK(!strcmp(pep_uring_op_name(IORING_OP_NOP), "NOP"));
	CHECK(!strcmp(pep_uring_op_name(IORING_OP_READ_FIXED), "READ_FIXED"));
	CHECK(!strcmp(pep_uring_op_name(IORING_OP_OPENAT2), "OPENAT2"));
	CHECK(!strcmp(pep_uring_op_name(41), "FSETXATTR"));
	CHECK(!strcmp(pep_uring_op_name(42), "SETXATTR"));
	CHECK(!strcmp(pep_uring_op_name(43), "FGETXATTR"));
	CHECK(!strcmp(pep_uring_op_name(44), "GETXATTR"));
	CHECK(!strcmp(pep_uring_op_name(46), "URING_CMD"));
	CHECK(!strcmp(pep_uring_op_name(58), "RECV_ZC"));
	CHECK(!strcmp(pep_uring_op_name(59), "EPOLL_WAIT"));
	CHECK(!strcmp(pep_uring_op_name(62), "PIPE"));
	CHECK(pep_uring_op_name(255) == NULL);
	CHECK(!strcmp(pep_uring_feature_name(0), "SINGLE_MMAP"));
	CHECK(!strcmp(pep_uring_feature_name(8), "EXT_ARG"));
	CHECK(pep_uring_feature_name(31) == NULL);
	/* everything this kernel supports up to our table's end has a name */
	for (unsigned int op = 0; op <= probe.last_op; op++)
		if (probe.supported[op] && !pep_uring_op_name(op))
			fprintf(stderr, "note: opcode %u is newer than pepita's names\n",
				op);
	return T_PASS;
}

/* Install a filter that answers io_uring_setup with errno `e`. */
static int block_io_uring_setup(int e)
{
#if defined(__x86_64__)
	const unsigned int arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned int arch = AUDIT_ARCH_AARCH64;
#else
#error "add this architecture's AUDIT_ARCH"
#endif
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO | ((unsigned int)e & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In the child: every entry point fails with `e` and says why (`word`). */
static int forbidden_checks(int e, const char *word)
{
	struct pep_uring_probe pr;
	struct pep_err err = { 0 };
	struct pep_uring *r;

	CHECK(pep_uring_create(&r, NULL, &err) == -e);
	CHECK(r == NULL && err.code == -e && strstr(err.msg, word));
	memset(&err, 0, sizeof(err));
	CHECK(pep_uring_available(&err) == -e);
	CHECK(err.code == -e && strstr(err.msg, word));
	memset(&err, 0, sizeof(err));
	CHECK(pep_uring_probe(&pr, &err) == -e);
	CHECK(err.code == -e && strstr(err.msg, word));
	fprintf(stderr, "  (%s)\n", err.msg);
	return T_PASS;
}

static int run_forbidden(int e, const char *word)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return T_ERROR;
	if (pid == 0) {
		if (block_io_uring_setup(e) != 0) {
			perror("seccomp");
			_exit(T_ERROR);
		}
		_exit(forbidden_checks(e, word));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return T_ERROR;
	CHECK(WEXITSTATUS(status) == T_PASS);
	return T_PASS;
}

static int test_seccomp_eperm(void)
{
	return run_forbidden(EPERM, "seccomp");
}

static int test_seccomp_enosys(void)
{
	return run_forbidden(ENOSYS, "CONFIG_IO_URING");
}

int main(void)
{
	struct pep_err err = { 0 };
	int rc = T_PASS;

	if (pep_uring_available(&err) < 0) {
		printf("SKIP: %s\n", err.msg);
		return T_SKIP;
	}
	if (pep_uring_probe(&probe, &err) < 0) {
		fprintf(stderr, "pep_uring_probe: %s\n", err.msg);
		return T_FAIL;
	}
	t_run("probe", test_probe, &rc);
	t_run("flags", test_flags, &rc);
	t_run("bad-opts", test_bad_opts, &rc);
	t_run("defaults", test_defaults, &rc);
	t_run("sqe128-zeroed", test_sqe128_zeroed, &rc);
	t_run("batches", test_batches, &rc);
	t_run("sqe-autosubmit", test_sqe_autosubmit, &rc);
	t_run("fixed-files", test_fixed_files, &rc);
	t_run("fixed-buffers", test_fixed_buffers, &rc);
	t_run("wait-timeout", test_wait_timeout, &rc);
	t_run("deferred-reap", test_deferred_reap, &rc);
	t_run("seccomp-eperm", test_seccomp_eperm, &rc);
	t_run("seccomp-enosys", test_seccomp_enosys, &rc);
	return rc;
}
