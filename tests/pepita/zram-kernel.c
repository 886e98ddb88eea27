/*
 * Kernel zram on the running kernel, through libpepita: set up a free
 * device with lz4 and 64 MiB, write a pattern with O_DIRECT (so it lands in
 * zram, not the page cache), read it back, check mm_stat through
 * pep_zram_info, reset, remove. Then what must be refused, each leaving
 * every device as it was: size 0, an algorithm the kernel does not list,
 * set-up of an initialised device without reset, reset of a device held
 * open, and set-up by an unprivileged user. Then a swap area: swapon,
 * listed in /proc/swaps, swapoff.
 *
 * The devices are left as found, also when a check fails, crashes or is
 * interrupted: the checks run in a child process, and the parent, which
 * passes SIGINT and SIGTERM on to it, compares the devices with a snapshot
 * taken at the start once the child has ended (and at exit): it swapoffs,
 * resets and hot_removes what was set up or added, and puts back the
 * algorithm of a device it borrowed. Needs root and CONFIG_ZRAM with lz4;
 * skips (77) otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/zram.h>

#include "harness.h"

#define DISK_BYTES (64ull << 20)
#define DATA_BYTES (8u << 20)		/* what the test writes */
#define ZERO_BYTES (1u << 20)		/* then this many zero-filled bytes */
#define MAX_DEVS   64
#define NOBODY     65534
#define SWAP_PRIO  7

/* What the devices looked like: ids, disksize, active algorithm. */
struct snapshot {
	int n;
	int id[MAX_DEVS];
	uint64_t disksize[MAX_DEVS];
	char algorithm[MAX_DEVS][PEP_ZRAM_NAME_MAX];
};

static struct snapshot at_start;
static volatile pid_t tests_pid;	/* the child that runs the checks */

static int take_snapshot(struct snapshot *s)
{
	struct pep_zram_dev *devs;
	struct pep_err err;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (pep_zram_list(&devs, &n, &err) < 0) {
		fprintf(stderr, "pep_zram_list: %s\n", err.msg);
		return -1;
	}
	for (size_t i = 0; i < n && i < MAX_DEVS; i++) {
		s->id[i] = devs[i].id;
		s->disksize[i] = devs[i].disksize;
		snprintf(s->algorithm[i], PEP_ZRAM_NAME_MAX, "%s", devs[i].algorithm);
	}
	s->n = n < MAX_DEVS ? (int)n : MAX_DEVS;
	free(devs);
	return 0;
}

/* Same devices, sizes and algorithms; prints the first difference. */
static int unchanged(const char *what)
{
	struct snapshot now;

	if (take_snapshot(&now) < 0)
		return 0;
	if (now.n != at_start.n) {
		fprintf(stderr, "%s: %d zram devices, %d before\n", what, now.n,
			at_start.n);
		return 0;
	}
	for (int i = 0; i < now.n; i++) {
		if (now.id[i] != at_start.id[i] ||
		    now.disksize[i] != at_start.disksize[i] ||
		    strcmp(now.algorithm[i], at_start.algorithm[i])) {
			fprintf(stderr, "%s: zram%d disksize %llu [%s], before zram%d "
				"%llu [%s]\n", what, now.id[i],
				(unsigned long long)now.disksize[i], now.algorithm[i],
				at_start.id[i],
				(unsigned long long)at_start.disksize[i],
				at_start.algorithm[i]);
			return 0;
		}
	}
	return 1;
}

static int start_index(int id)
{
	for (int i = 0; i < at_start.n; i++)
		if (at_start.id[i] == id)
			return i;
	return -1;
}

static void write_attr(int id, const char *attr, const char *value)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/block/zram%d/%s", id, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0)
		fprintf(stderr, "restore %s: %s\n", path, strerror(errno));
	close(fd);
}

/*
 * Put every device back as the snapshot at the start has it, whatever the
 * checks did or did not record: remove a device that was not there,
 * swapoff and reset one that was free and is not, and put its algorithm
 * back. A device that was in use at the start is never touched.
 */
static void restore(void)
{
	struct pep_zram_dev *devs;
	size_t n;

	if (pep_zram_list(&devs, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct pep_zram_dev *z = &devs[i];
		int k = start_index(z->id);

		if (k < 0) {
			pep_zram_swapoff(z->id, NULL);
			if (pep_zram_remove(z->id, NULL) < 0)
				fprintf(stderr, "zram%d: cannot remove it\n", z->id);
			continue;
		}
		if (at_start.disksize[k])
			continue;
		if (z->disksize) {
			pep_zram_swapoff(z->id, NULL);
			if (pep_zram_reset(z->id, NULL) < 0)
				fprintf(stderr, "zram%d: cannot reset it\n", z->id);
		}
		if (at_start.algorithm[k][0] &&
		    strcmp(z->algorithm, at_start.algorithm[k]))
			write_attr(z->id, "comp_algorithm", at_start.algorithm[k]);
	}
	free(devs);
}

/* Pass SIGINT/SIGTERM on to the checks; restore() runs once they end. */
static void on_signal(int sig)
{
	if (tests_pid > 0)
		kill(tests_pid, sig);
}

/* Compressible but not trivially same-filled: a counter in text. */
static void fill_pattern(char *buf, size_t len)
{
	for (size_t off = 0; off < len; off += 64)
		snprintf(buf + off, 64, "pepita zram block %08zu ...............\n",
			 off / 64);
}

static int write_read_back(int id)
{
	char path[64];
	char *data = NULL, *back = NULL;
	int fd, rc = T_FAIL;

	snprintf(path, sizeof(path), "/dev/zram%d", id);
	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return T_FAIL;
	}
	if (posix_memalign((void **)&data, 4096, DATA_BYTES + ZERO_BYTES) ||
	    posix_memalign((void **)&back, 4096, DATA_BYTES + ZERO_BYTES))
		goto out;
	fill_pattern(data, DATA_BYTES);
	memset(data + DATA_BYTES, 0, ZERO_BYTES);
	if (pwrite(fd, data, DATA_BYTES + ZERO_BYTES, 0) != DATA_BYTES + ZERO_BYTES ||
	    fsync(fd) < 0) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (pread(fd, back, DATA_BYTES + ZERO_BYTES, 0) != DATA_BYTES + ZERO_BYTES ||
	    memcmp(data, back, DATA_BYTES + ZERO_BYTES)) {
		fprintf(stderr, "%s: read back differs from what was written\n", path);
		goto out;
	}
	rc = T_PASS;
out:
	free(data);
	free(back);
	close(fd);
	return rc;
}

static int check_mm_stat(int id)
{
	struct pep_zram_dev dev;
	struct pep_err err;

	CHECK(pep_zram_info(id, &dev, &err) == 0);
	printf("zram%d mm_stat (%u fields): orig %llu compr %llu used %llu "
	       "same_pages %llu ratio %.2f\n", id, dev.mm.nfields,
	       (unsigned long long)dev.mm.orig_data_size,
	       (unsigned long long)dev.mm.compr_data_size,
	       (unsigned long long)dev.mm.mem_used_total,
	       (unsigned long long)dev.mm.same_pages, pep_zram_ratio(&dev.mm));
	CHECK(dev.mm.nfields >= 6);
	/* Zero pages are "same" pages and count in orig_data_size too. */
	CHECK(dev.mm.orig_data_size == DATA_BYTES + ZERO_BYTES);
	CHECK(dev.mm.same_pages == ZERO_BYTES / 4096);
	CHECK(dev.mm.compr_data_size > 0 &&
	      dev.mm.compr_data_size < DATA_BYTES / 2);
	CHECK(dev.mm.mem_used_total >= dev.mm.compr_data_size);
	CHECK(pep_zram_ratio(&dev.mm) > 2.0);
	CHECK(dev.io.nfields >= 3 && dev.io.failed_reads == 0 &&
	      dev.io.failed_writes == 0);
	return T_PASS;
}

static const struct pep_zram_setup lz4_64m = {
	.algorithm = "lz4", .size = DISK_BYTES,
};

static int test_roundtrip(void)
{
	struct pep_zram_dev dev;
	struct pep_err err;
	int id, rc;

	id = pep_zram_setup(-1, &lz4_64m, &err);
	if (id < 0)
		fprintf(stderr, "pep_zram_setup: %s\n", err.msg);
	CHECK(id >= 0);
	CHECK(pep_zram_info(id, &dev, &err) == 0);
	CHECK(dev.initialised && dev.disksize == DISK_BYTES);
	CHECK(!strcmp(dev.algorithm, "lz4"));
	CHECK(!dev.swap && !dev.mountpoint[0]);
	rc = write_read_back(id);
	if (rc == T_PASS)
		rc = check_mm_stat(id);
	CHECK(pep_zram_reset(id, &err) == 0);
	CHECK(pep_zram_info(id, &dev, &err) == 0);
	CHECK(!dev.initialised && dev.disksize == 0);
	CHECK(dev.mm.orig_data_size == 0);
	if (start_index(id) < 0) {
		CHECK(pep_zram_remove(id, &err) == 0);
		CHECK(pep_zram_info(id, &dev, &err) == -ENODEV);
	}
	return rc;
}

/* Refused before anything is touched: size 0, an unknown algorithm. */
static int test_bad_input(void)
{
	struct pep_zram_setup cfg = lz4_64m;
	struct pep_err err;
	int ret;

	cfg.size = 0;
	CHECK(pep_zram_setup(-1, &cfg, &err) == -EINVAL);
	printf("size 0: %s\n", err.msg);
	CHECK(strstr(err.msg, "size 0"));
	CHECK(unchanged("after size 0"));

	cfg = lz4_64m;
	cfg.algorithm = "nope";
	ret = pep_zram_setup(-1, &cfg, &err);
	printf("algorithm nope: %s\n", err.msg);
	CHECK(ret == -EINVAL && err.code == -EINVAL);
	CHECK(strstr(err.msg, "'nope'") && strstr(err.msg, "lz4"));
	CHECK(unchanged("after algorithm nope"));
	/* The same on a device named by id. */
	if (at_start.n) {
		CHECK(pep_zram_setup(at_start.id[0], &cfg, &err) == -EINVAL);
		CHECK(unchanged("after algorithm nope on a named device"));
	}
	CHECK(pep_zram_setup(1 << 20, &lz4_64m, &err) == -ENODEV);
	CHECK(pep_zram_swap(-1, &lz4_64m, 40000, &err) == -EINVAL);
	CHECK(unchanged("after priority 40000"));
	return T_PASS;
}

/* -EBUSY: set-up over an initialised device, reset of an open one. */
static int test_busy(void)
{
	struct pep_zram_setup again = { .size = DISK_BYTES / 2 };
	struct pep_zram_dev dev;
	struct pep_err err;
	char path[64];
	int id, fd;

	id = pep_zram_setup(-1, &lz4_64m, &err);
	CHECK(id >= 0);
	CHECK(pep_zram_setup(id, &again, &err) == -EBUSY);
	printf("set up twice: %s\n", err.msg);
	CHECK(strstr(err.msg, "--reset"));
	CHECK(pep_zram_info(id, &dev, &err) == 0);
	CHECK(dev.disksize == DISK_BYTES && !strcmp(dev.algorithm, "lz4"));

	snprintf(path, sizeof(path), "/dev/zram%d", id);
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	CHECK(fd >= 0);
	again.reset = 1;
	CHECK(pep_zram_setup(id, &again, &err) == -EBUSY);
	CHECK(pep_zram_reset(id, &err) == -EBUSY);
	printf("reset while open: %s\n", err.msg);
	CHECK(strstr(err.msg, "in use (mounted or swap?)"));
	CHECK(pep_zram_info(id, &dev, &err) == 0);
	CHECK(dev.disksize == DISK_BYTES);
	close(fd);

	/* With reset, and nothing holding it: set up anew. */
	CHECK(pep_zram_setup(id, &again, &err) == id);
	CHECK(pep_zram_info(id, &dev, &err) == 0);
	CHECK(dev.disksize == DISK_BYTES / 2);
	restore();
	CHECK(unchanged("after the busy checks"));
	return T_PASS;
}

/* An unprivileged user is told it needs root, and changes nothing. */
static int test_no_permission(void)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct pep_err err;
		int ret;

		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0)
			_exit(3);
		ret = pep_zram_setup(-1, &lz4_64m, &err);
		printf("as uid %d: %d %s\n", NOBODY, ret, err.msg);
		if ((ret != -EACCES && ret != -EPERM) || !strstr(err.msg, "root"))
			_exit(1);
		ret = pep_zram_swap(-1, &lz4_64m, -1, &err);
		printf("as uid %d, swap: %d %s\n", NOBODY, ret, err.msg);
		fflush(stdout);
		_exit((ret == -EACCES || ret == -EPERM) && strstr(err.msg, "root") ?
		      0 : 2);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(unchanged("after the unprivileged set-up"));
	return T_PASS;
}

/*
 * 1 when /proc/swaps lists /dev/zramN, with its priority in *prio. (Read
 * line by line: a /proc file's size is 0, so t_read_file() cannot.)
 */
static int in_proc_swaps(int id, int *prio)
{
	FILE *f = fopen("/proc/swaps", "re");
	char name[32], line[512], path[256];
	int found = 0, p;

	if (!f)
		return 0;
	snprintf(name, sizeof(name), "/dev/zram%d", id);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %*s %*s %*s %d", path, &p) != 2 ||
		    strcmp(path, name))
			continue;
		found = 1;
		if (prio)
			*prio = p;
	}
	fclose(f);
	return found;
}

static int test_swap(void)
{
	struct pep_zram_dev dev;
	struct pep_err err;
	int id, prio = 0;

	id = pep_zram_swap(-1, &lz4_64m, SWAP_PRIO, &err);
	if (id < 0)
		fprintf(stderr, "pep_zram_swap: %s\n", err.msg);
	CHECK(id >= 0);
	CHECK(in_proc_swaps(id, &prio));
	CHECK(prio == SWAP_PRIO);
	CHECK(pep_zram_info(id, &dev, &err) == 0 && dev.swap);
	CHECK(pep_zram_reset(id, &err) == -EBUSY);
	CHECK(pep_zram_swapoff(id, &err) == 0);
	CHECK(!in_proc_swaps(id, NULL));
	CHECK(pep_zram_swapoff(id, &err) < 0);
	restore();
	CHECK(unchanged("after swap"));
	return T_PASS;
}

static int has_lz4(void)
{
	struct pep_zram_dev dev;

	for (int i = 0; i < at_start.n; i++)
		if (pep_zram_info(at_start.id[i], &dev, NULL) == 0)
			return strstr(dev.algorithms, "lz4") != NULL;
	return -1;		/* no device to ask: find out by trying */
}

static int run_checks(void)
{
	int rc = T_PASS;

	t_run("zram_roundtrip", test_roundtrip, &rc);
	restore();
	t_run("zram_bad_input", test_bad_input, &rc);
	t_run("zram_busy", test_busy, &rc);
	restore();
	t_run("zram_no_permission", test_no_permission, &rc);
	t_run("zram_swap", test_swap, &rc);
	restore();
	fflush(NULL);
	return rc;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t stop;
	int rc, status;
	pid_t pid;

	if (access("/sys/class/zram-control", F_OK) != 0 &&
	    access("/sys/block/zram0", F_OK) != 0) {
		printf("SKIP: no zram (CONFIG_ZRAM not set or module not loaded)\n");
		return T_SKIP;
	}
	if (geteuid() != 0) {
		printf("SKIP: configuring zram needs root\n");
		return T_SKIP;
	}
	if (take_snapshot(&at_start) < 0)
		return T_ERROR;
	if (!has_lz4()) {
		printf("SKIP: this kernel's zram lists no lz4\n");
		return T_SKIP;
	}
	/*
	 * The checks run in a child: whatever ends it (a failed CHECK, a
	 * crash, a signal), its descriptors are closed when the parent puts
	 * the devices back, so no open device stops the reset.
	 */
	atexit(restore);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return T_ERROR;
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &stop, NULL);
		_exit(run_checks());
	}
	tests_pid = pid;
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	restore();
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "the checks ended by signal %d\n", WTERMSIG(status));
		rc = T_FAIL;
	} else {
		rc = WEXITSTATUS(status);
	}
	if (!unchanged("at the end"))
		rc = T_FAIL;
	return rc;
}
