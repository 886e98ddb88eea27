/*
 * Kernel zram on the running kernel: take a free device (hot_add, or an
 * unused zram0), configure lz4 and 64 MiB, write a pattern with O_DIRECT so
 * it lands in zram and not in the page cache, read it back, check mm_stat,
 * reset. Needs root and CONFIG_ZRAM with lz4; skips otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define DISK_BYTES (64ull << 20)
#define DATA_BYTES (8u << 20)		/* what the test writes */
#define ZERO_BYTES (1u << 20)		/* then this many zero-filled bytes */

static int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int sysfs_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* A new device from hot_add, else zram0 when nobody uses it. */
static int claim_device(int *id, int *added)
{
	char buf[64];

	*added = 0;
	if (sysfs_read("/sys/class/zram-control/hot_add", buf, sizeof(buf)) == 0) {
		*id = atoi(buf);
		*added = 1;
		return 0;
	}
	if (sysfs_read("/sys/block/zram0/disksize", buf, sizeof(buf)) == 0 &&
	    atoll(buf) == 0) {
		*id = 0;
		return 0;
	}
	return -EBUSY;
}

static void release_device(int id, int added)
{
	char path[64], value[16];

	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", id);
	sysfs_write(path, "1");
	if (added) {
		snprintf(value, sizeof(value), "%d", id);
		sysfs_write("/sys/class/zram-control/hot_remove", value);
	}
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
	unsigned long long orig, compr, used, limit, used_max, same = 0;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/sys/block/zram%d/mm_stat", id);
	CHECK(sysfs_read(path, buf, sizeof(buf)) == 0);
	CHECK(sscanf(buf, "%llu %llu %llu %llu %llu %llu", &orig, &compr, &used,
		     &limit, &used_max, &same) >= 5);
	printf("mm_stat: orig %llu compr %llu used %llu same_pages %llu\n", orig,
	       compr, used, same);
	/* Zero pages are "same" pages and count in orig_data_size too. */
	CHECK(orig == DATA_BYTES + ZERO_BYTES);
	CHECK(same == ZERO_BYTES / 4096);
	CHECK(compr > 0 && compr < DATA_BYTES / 2);
	CHECK(used >= compr);
	return T_PASS;
}

static int configure(int id)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/sys/block/zram%d/comp_algorithm", id);
	if (sysfs_read(path, buf, sizeof(buf)) < 0 || !strstr(buf, "lz4")) {
		printf("SKIP: zram%d has no lz4 (%s)\n", id, buf);
		return T_SKIP;
	}
	CHECK(sysfs_write(path, "lz4") == 0);
	CHECK(sysfs_read(path, buf, sizeof(buf)) == 0 && strstr(buf, "[lz4]"));
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	snprintf(buf, sizeof(buf), "%llu", DISK_BYTES);
	CHECK(sysfs_write(path, buf) == 0);
	CHECK(sysfs_read(path, buf, sizeof(buf)) == 0);
	CHECK(strtoull(buf, NULL, 10) == DISK_BYTES);
	return T_PASS;
}

static int test_zram_roundtrip(void)
{
	char path[64], buf[64];
	int id, added, rc;

	if (claim_device(&id, &added) < 0) {
		printf("SKIP: no free zram device (hot_add failed, zram0 in use)\n");
		return T_SKIP;
	}
	rc = configure(id);
	if (rc == T_PASS)
		rc = write_read_back(id);
	if (rc == T_PASS)
		rc = check_mm_stat(id);
	release_device(id, added);
	if (!added) {
		snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
		if (sysfs_read(path, buf, sizeof(buf)) < 0 || atoll(buf) != 0) {
			fprintf(stderr, "zram%d: disksize not 0 after reset\n", id);
			rc = T_FAIL;
		}
	} else {
		snprintf(path, sizeof(path), "/sys/block/zram%d", id);
		if (access(path, F_OK) == 0) {
			fprintf(stderr, "zram%d still there after hot_remove\n", id);
			rc = T_FAIL;
		}
	}
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	if (access("/sys/class/zram-control", F_OK) != 0 &&
	    access("/sys/block/zram0", F_OK) != 0) {
		printf("SKIP: no zram (CONFIG_ZRAM not set or module not loaded)\n");
		return T_SKIP;
	}
	if (geteuid() != 0) {
		printf("SKIP: configuring zram needs root\n");
		return T_SKIP;
	}
	if (t_run("zram_roundtrip", test_zram_roundtrip, &rc) == T_SKIP)
		return T_SKIP;
	return rc;
}
