/*
 * pepita blkmq loop target on the running kernel: io_uring on real files.
 * Runs in every directory of a small table that exists and is writable
 * (/tmp, /var/tmp, /dev/shm: a disk file system and tmpfs where the
 * machine has them) and says which file system and which mode (O_DIRECT
 * or buffered) each got. Checks random writes and reads against a
 * reference buffer and against the file itself, FUA, flush, discard and
 * write-zeroes (zeros read back, through the device and the file), reads
 * past the end of a file truncated under the device (zeros), several
 * requests in flight on one ring as a ublk queue has them, read-only
 * files (writes fail with -EROFS: pep_blk_dispatch refuses them before
 * the kernel would say EBADF), and the errors that name the path.
 * Skips (77) where io_uring is unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <pepita/blkmq.h>
#include <pepita/uring.h>

#include "harness.h"

#define DEV_SIZE	(8u << 20)
#define MAXLEN		(256u << 10)

static const char *dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };

static const char *cur_dir;		/* the directory under test */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) < 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case TMPFS_MAGIC:
		return "tmpfs";
	case EXT4_SUPER_MAGIC:
		return "ext2/3/4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case OVERLAYFS_SUPER_MAGIC:
		return "overlayfs";
	}
	return "other";
}

/* A new file of bytes bytes (sparse) in cur_dir; path filled in. */
static int make_file(char *path, size_t max, off_t bytes)
{
	int fd;

	snprintf(path, max, "%s/pepita-blkmq-XXXXXX", cur_dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, bytes) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* One request; an error other than the expected one is printed. */
static int run_expect(struct pep_blk_target *t, uint8_t op, uint32_t flags,
		      uint64_t offset, uint32_t len, void *buf, int expect)
{
	struct pep_blk_req r = { .op = op, .flags = flags, .offset = offset,
				 .len = len, .buf = buf };
	struct pep_err err;
	int ret = pep_blk_run_sync(t, &r, &err);

	if (ret < 0 && ret != expect)
		fprintf(stderr, "  %s\n", err.msg);
	return ret;
}

static int run(struct pep_blk_target *t, uint8_t op, uint32_t flags,
	       uint64_t offset, uint32_t len, void *buf)
{
	return run_expect(t, op, flags, offset, len, buf, 0);
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The whole file equals ref (read with pread, past the target). */
static int file_matches(int fd, const unsigned char *ref, size_t n)
{
	unsigned char *buf = malloc(n);
	int ok;

	if (!buf)
		return 0;
	ok = pread(fd, buf, n, 0) == (ssize_t)n && !memcmp(buf, ref, n);
	free(buf);
	return ok;
}

/*
 * Random writes (some FUA) and reads against ref; half the requests use a
 * buffer or range that O_DIRECT cannot take, so both descriptors serve.
 */
static int random_io(struct pep_blk_target *t, unsigned char *ref,
		     unsigned char *buf, uint64_t *seed)
{
	for (int i = 0; i < 400; i++) {
		uint32_t len = (uint32_t)(1 + rnd(seed) % (MAXLEN / 512)) * 512;
		uint64_t off = rnd(seed) % ((DEV_SIZE - len) / 512 + 1) * 512;
		uint64_t r = rnd(seed);
		/* 4096: direct; 512: direct where memory alignment is 512 or
		   less; 8: buffered, below any direct I/O alignment */
		unsigned char *b = buf + (r & 1 ? (r & 8 ? 8 : 512) : 0);
		uint32_t flags = r & 4 ? PEP_BLK_F_FUA : 0;

		if (r & 2) {
			for (uint32_t j = 0; j < len; j += 8)
				memcpy(b + j, &r, 8), r = rnd(seed);
			CHECK(run(t, PEP_BLK_OP_WRITE, flags, off, len, b) ==
			      (int)len);
			memcpy(ref + off, b, len);
		} else {
			CHECK(run(t, PEP_BLK_OP_READ, 0, off, len, b) ==
			      (int)len);
			CHECK(!memcmp(b, ref + off, len));
		}
	}
	return T_PASS;
}

/* Zero a range with op and check the device and the file read zeros. */
static int zero_range(struct pep_blk_target *t, int fd, unsigned char *ref,
		      unsigned char *buf, uint8_t op, uint32_t flags,
		      uint64_t off, uint32_t len)
{
	int ret = run_expect(t, op, flags, off, len, NULL, -EOPNOTSUPP);

	if (ret == -EOPNOTSUPP && op == PEP_BLK_OP_DISCARD) {
		fprintf(stderr, "  %s: no hole punching here\n", cur_dir);
		return T_PASS;
	}
	CHECK(ret == 0);
	memset(ref + off, 0, len);
	CHECK(run(t, PEP_BLK_OP_READ, 0, off, len, buf) == (int)len);
	CHECK(all_zero(buf, len));
	CHECK(file_matches(fd, ref, DEV_SIZE));
	return T_PASS;
}

static int test_data(void)
{
	unsigned char *ref = calloc(1, DEV_SIZE), *buf = NULL;
	struct pep_blk_target *t;
	uint64_t seed = 7;
	char path[256];
	int fd;

	CHECK(ref && posix_memalign((void **)&buf, 4096, MAXLEN + 4096) == 0);
	fd = make_file(path, sizeof(path), DEV_SIZE);
	CHECK(fd >= 0);
	CHECK(pep_blk_loop_create(&t, path, 0, 0, NULL) == 0);
	unlink(path);
	fprintf(stderr, "  %s (%s): %s\n", cur_dir, fs_name(cur_dir),
		pep_blk_loop_is_direct(t) ? "O_DIRECT" : "buffered");
	CHECK(t->size == DEV_SIZE && t->block_size == 512);
	CHECK(t->caps == (PEP_BLK_CAP_FLUSH | PEP_BLK_CAP_FUA |
			  PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES |
			  PEP_BLK_CAP_NEEDS_RING));
	CHECK(random_io(t, ref, buf, &seed) == T_PASS);
	/* FUA (RWF_DSYNC): in the file when the write completes */
	memset(buf, 0xfa, 8192);
	CHECK(run(t, PEP_BLK_OP_WRITE, PEP_BLK_F_FUA, 3 * 4096, 8192, buf) ==
	      8192);
	memcpy(ref + 3 * 4096, buf, 8192);
	CHECK(file_matches(fd, ref, DEV_SIZE));
	CHECK(run(t, PEP_BLK_OP_FLUSH, 0, 0, 0, NULL) == 0);
	CHECK(file_matches(fd, ref, DEV_SIZE));
	/* partial and whole file system blocks, and the device's ends */
	CHECK(zero_range(t, fd, ref, buf, PEP_BLK_OP_DISCARD, 0, 4096 - 1024,
			 3 * 4096 + 1536) == T_PASS);
	CHECK(zero_range(t, fd, ref, buf, PEP_BLK_OP_DISCARD, 0,
			 DEV_SIZE - 64 * 1024, 64 * 1024) == T_PASS);
	CHECK(zero_range(t, fd, ref, buf, PEP_BLK_OP_WRITE_ZEROES, 0,
			 1 << 20, 128 * 1024 + 512) == T_PASS);
	CHECK(zero_range(t, fd, ref, buf, PEP_BLK_OP_WRITE_ZEROES,
			 PEP_BLK_F_NOUNMAP, (2 << 20) + 512, 200 * 1024) ==
	      T_PASS);
	CHECK(zero_range(t, fd, ref, buf, PEP_BLK_OP_WRITE_ZEROES, 0, 0,
			 512) == T_PASS);
	/* more I/O after zeroing: holes fill again */
	CHECK(random_io(t, ref, buf, &seed) == T_PASS);
	CHECK(file_matches(fd, ref, DEV_SIZE));
	/* out of range, never sent to the file */
	CHECK(run_expect(t, PEP_BLK_OP_READ, 0, DEV_SIZE, 512, buf, -EIO) ==
	      -EIO);
	pep_blk_target_destroy(t);
	close(fd);
	free(ref);
	free(buf);
	return T_PASS;
}

/* A file truncated under the device reads zeros past its end. */
static int test_short_file(void)
{
	unsigned char *buf = NULL;
	struct pep_blk_target *t;
	const off_t cut = 100 * 1024 + 100;
	char path[256];
	int fd;

	CHECK(posix_memalign((void **)&buf, 4096, 65536 + 4096) == 0);
	fd = make_file(path, sizeof(path), 1 << 20);
	CHECK(fd >= 0);
	memset(buf, 0xab, 65536);
	for (off_t off = 0; off < (1 << 20); off += 65536)
		CHECK(pwrite(fd, buf, 65536, off) == 65536);
	CHECK(pep_blk_loop_create(&t, path, 0, 0, NULL) == 0);
	unlink(path);
	CHECK(t->size == 1 << 20);
	CHECK(ftruncate(fd, cut) == 0);
	for (int shift = 0; shift <= 8; shift += 8) {
		unsigned char *b = buf + shift;	/* direct, then buffered */

		memset(b, 0x11, 65536);
		CHECK(run(t, PEP_BLK_OP_READ, 0, 96 * 1024, 65536, b) == 65536);
		for (size_t i = 0; i < 65536; i++)
			CHECK(b[i] == (96 * 1024 + (off_t)i < cut ? 0xab : 0));
		memset(b, 0x11, 65536);
		CHECK(run(t, PEP_BLK_OP_READ, 0, 512 * 1024, 65536, b) ==
		      65536);
		CHECK(all_zero(b, 65536));
	}
	pep_blk_target_destroy(t);
	close(fd);
	free(buf);
	return T_PASS;
}

/* Sizes: a given size below the file's, and the file's rounded down. */
static int test_sizes(void)
{
	struct pep_blk_target *t;
	struct pep_err err;
	char path[256];
	char buf[512];
	int fd;

	fd = make_file(path, sizeof(path), (1 << 20) + 100);
	CHECK(fd >= 0);
	CHECK(pep_blk_loop_create(&t, path, 0, 0, &err) == 0);
	CHECK(t->size == 1 << 20);		/* the partial sector is not */
	pep_blk_target_destroy(t);
	CHECK(pep_blk_loop_create(&t, path, 512 * 1024, 0, &err) == 0);
	CHECK(t->size == 512 * 1024);
	CHECK(run_expect(t, PEP_BLK_OP_READ, 0, 512 * 1024, 512, buf, -EIO) ==
	      -EIO);
	pep_blk_target_destroy(t);
	CHECK(pep_blk_loop_create(&t, path, 1000, 0, &err) == -EINVAL);
	CHECK(strstr(err.msg, "1000") && strstr(err.msg, "multiple of 512"));
	CHECK(pep_blk_loop_create(&t, path, 2 << 20, 0, &err) == -EINVAL);
	CHECK(strstr(err.msg, "exceeds") && strstr(err.msg, path));
	CHECK(ftruncate(fd, 100) == 0);
	CHECK(pep_blk_loop_create(&t, path, 0, 0, &err) == -EINVAL);
	CHECK(strstr(err.msg, path));
	unlink(path);
	close(fd);
	return T_PASS;
}

static int test_bad_paths(void)
{
	struct pep_blk_target *t;
	struct pep_err err;
	char path[300];

	snprintf(path, sizeof(path), "%s/pepita-blkmq-no-such-file", cur_dir);
	CHECK(pep_blk_loop_create(&t, path, 0, 0, &err) == -ENOENT);
	CHECK(err.code == -ENOENT && strstr(err.msg, path));
	CHECK(pep_blk_loop_create(&t, cur_dir, 0, 0, &err) == -EISDIR);
	CHECK(strstr(err.msg, cur_dir));
	CHECK(pep_blk_loop_create(&t, cur_dir, 0, 1, &err) == -EISDIR);
	CHECK(strstr(err.msg, cur_dir));
	CHECK(pep_blk_loop_create(&t, "/dev/null", 0, 0, &err) == -EINVAL);
	if (geteuid() != 0) {
		char p2[256];
		int fd = make_file(p2, sizeof(p2), 4096);

		CHECK(fd >= 0 && fchmod(fd, 0) == 0);
		CHECK(pep_blk_loop_create(&t, p2, 0, 1, &err) == -EACCES);
		CHECK(strstr(err.msg, p2));
		unlink(p2);
		close(fd);
	}
	return T_PASS;
}

/* Writes to a read-only target fail with -EROFS; reads and flush work. */
static int check_read_only(struct pep_blk_target *t)
{
	char buf[4096];

	CHECK(t->caps == (PEP_BLK_CAP_FLUSH | PEP_BLK_CAP_READ_ONLY |
			  PEP_BLK_CAP_NEEDS_RING));
	CHECK(run(t, PEP_BLK_OP_READ, 0, 0, 4096, buf) == 4096);
	CHECK(buf[0] == 'p' && buf[4095] == 'p');
	CHECK(run_expect(t, PEP_BLK_OP_WRITE, 0, 0, 4096, buf, -EROFS) ==
	      -EROFS);
	CHECK(run_expect(t, PEP_BLK_OP_DISCARD, 0, 0, 4096, NULL, -EROFS) ==
	      -EROFS);
	CHECK(run_expect(t, PEP_BLK_OP_WRITE_ZEROES, 0, 0, 4096, NULL,
			 -EROFS) == -EROFS);
	CHECK(run(t, PEP_BLK_OP_FLUSH, 0, 0, 0, NULL) == 0);
	return T_PASS;
}

/*
 * Read-only asked for, and a file that refuses writing: mode 0444 for a
 * user, the immutable attribute for root (who may write any mode).
 */
static int test_read_only(void)
{
	struct pep_blk_target *t;
	char path[256], buf[4096];
	int fd, attr = 0, ret = T_PASS;

	fd = make_file(path, sizeof(path), 0);
	CHECK(fd >= 0);
	memset(buf, 'p', sizeof(buf));
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	CHECK(pep_blk_loop_create(&t, path, 0, 1, NULL) == 0);
	CHECK(check_read_only(t) == T_PASS);
	pep_blk_target_destroy(t);
	if (geteuid() != 0) {
		CHECK(fchmod(fd, 0444) == 0);
	} else if (ioctl(fd, FS_IOC_GETFLAGS, &attr) < 0 ||
		   (attr |= FS_IMMUTABLE_FL,
		    ioctl(fd, FS_IOC_SETFLAGS, &attr) < 0)) {
		fprintf(stderr, "  %s: no immutable files here: read_only=1 "
			"only\n", cur_dir);
		goto out;
	}
	if (pep_blk_loop_create(&t, path, 0, 0, NULL) == 0) {
		ret = check_read_only(t);
		pep_blk_target_destroy(t);
	} else {
		fprintf(stderr, "read-only file: create failed\n");
		ret = T_FAIL;
	}
	if (geteuid() == 0) {
		attr &= ~FS_IMMUTABLE_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &attr);
	}
out:
	unlink(path);
	close(fd);
	return ret;
}

/*
 * As a ublk queue thread does: one ring, depth requests in flight at once,
 * CQEs routed to ops->cqe by the tag in user_data.
 */
struct mini_server {
	struct pep_blk_target *t;
	struct pep_blk_io ios[16];
	int results[16];
	int completed, stray;
};

static void mini_done(struct pep_blk_io *io, int result)
{
	struct mini_server *m = io->server;

	m->results[io->req.tag] = result;
	m->completed++;
}

static void mini_cqe(void *arg, const struct io_uring_cqe *cqe)
{
	struct mini_server *m = arg;
	unsigned int tag = cqe->user_data & 0xffff;

	if (!(cqe->user_data & PEP_BLK_UDATA_TARGET) || tag >= 16) {
		m->stray++;
		return;
	}
	m->t->ops->cqe(m->t, &m->ios[tag], cqe->res, cqe->flags);
}

static int test_queue_depth(void)
{
	static struct mini_server m;
	struct pep_blk_queue q = { .qid = 0, .depth = 16 };
	unsigned char *data = NULL;
	struct pep_err err;
	char path[256];
	int fd, pass;

	memset(&m, 0, sizeof(m));
	CHECK(posix_memalign((void **)&data, 4096, 16 * 65536) == 0);
	fd = make_file(path, sizeof(path), 16 * 65536);
	CHECK(fd >= 0);
	CHECK(pep_blk_loop_create(&m.t, path, 0, 0, NULL) == 0);
	unlink(path);
	CHECK(m.t->ops->queue_init(m.t, &q, &err) == -EINVAL);	/* no ring */
	CHECK(strstr(err.msg, "ring"));
	CHECK(pep_uring_create(&q.ring, &(struct pep_uring_opts){
		.entries = 16 }, NULL) == 0);
	CHECK(m.t->ops->queue_init(m.t, &q, NULL) == 0);
	for (size_t i = 0; i < 16 * 65536; i++)
		data[i] = (unsigned char)(i * 13 + i / 65536);
	for (pass = 0; pass < 2; pass++) {
		m.completed = 0;
		for (uint16_t tag = 0; tag < 16; tag++) {
			m.ios[tag] = (struct pep_blk_io){
				.req = { .op = pass ? PEP_BLK_OP_READ :
						      PEP_BLK_OP_WRITE,
					 .offset = (uint64_t)tag * 65536,
					 .len = 65536,
					 .buf = pass ? data + (15 - tag) * 65536 :
						       data + tag * 65536,
					 .tag = tag },
				.q = &q, .done = mini_done, .server = &m,
			};
			CHECK(pep_blk_dispatch(m.t, &m.ios[tag]) ==
			      PEP_BLK_QUEUED);
		}
		if (pass == 1)		/* read back in reverse order */
			memset(data, 0, 16 * 65536);
		while (m.completed < 16)
			CHECK(pep_uring_wait_reap(q.ring, 5000, mini_cqe, &m) >
			      0);
		for (int tag = 0; tag < 16; tag++)
			CHECK(m.results[tag] == 65536);
	}
	CHECK(m.stray == 0);
	for (size_t i = 0; i < 16 * 65536; i++) {
		size_t blk = 15 - i / 65536, src = blk * 65536 + i % 65536;

		CHECK(data[i] == (unsigned char)(src * 13 + src / 65536));
	}
	m.t->ops->queue_exit(m.t, &q);
	pep_uring_destroy(q.ring);
	pep_blk_target_destroy(m.t);
	close(fd);
	free(data);
	return T_PASS;
}

static int usable_dir(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	       access(dir, W_OK | X_OK) == 0;
}

int main(void)
{
	struct pep_err err;
	int rc = T_PASS, ran = 0;

	if (pep_uring_available(&err) < 0) {
		printf("SKIP: %s\n", err.msg);
		return T_SKIP;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!usable_dir(dirs[i]))
			continue;
		cur_dir = dirs[i];
		fprintf(stderr, "in %s (%s):\n", cur_dir, fs_name(cur_dir));
		t_run("data", test_data, &rc);
		t_run("short_file", test_short_file, &rc);
		t_run("sizes", test_sizes, &rc);
		t_run("bad_paths", test_bad_paths, &rc);
		t_run("read_only", test_read_only, &rc);
		t_run("queue_depth", test_queue_depth, &rc);
		ran++;
	}
	if (!ran) {
		printf("SKIP: none of /tmp, /var/tmp, /dev/shm is writable\n");
		return T_SKIP;
	}
	return rc;
}
