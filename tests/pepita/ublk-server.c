/*
 * pepita's ublk library on a kernel with the driver (the test VM's, or a
 * workstation's): the control plane round trip (ADD, GET_DEV_INFO,
 * SET_PARAMS then GET_PARAMS, DEL) leaving nothing behind; a ram target
 * served on two queues, written and read back through /dev/ublkbN with
 * O_DIRECT; stop and delete; and options refused before anything exists.
 * Skips (77) where /dev/ublk-control is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/blkmq.h>
#include <pepita/ublk.h>

#include "harness.h"

static int count_devices(void)
{
	int ids[64];

	return pep_ublk_list_ids(ids, 64, NULL);
}

/* /dev/ublkcN (kind 'c') or /dev/ublkbN ('b') */
static int exists(char kind, int id)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/ublk%c%d", kind, id);
	return access(path, F_OK) == 0;
}

static int wait_gone(int id)
{
	for (int i = 0; i < 50 && (exists('c', id) ||
				   exists('b', id)); i++)
		usleep(100 * 1000);
	return !exists('c', id) && !exists('b', id);
}

static int test_params_round_trip(void)
{
	struct pep_ublk_info info = { .id = -1, .nr_queues = 2, .depth = 32,
				      .max_io_bytes = 256 * 1024, .user_flags = 0x1234 };
	struct pep_ublk_params p = { .size = 64 << 20, .logical_bs_shift = 9,
		.physical_bs_shift = 12, .io_opt_shift = 12, .io_min_shift = 9,
		.max_sectors = 512, .attrs = PEP_UBLK_ATTR_VOLATILE_CACHE,
		.discard = 1, .discard_granularity = 4096, .max_discard_sectors = 8192,
		.max_write_zeroes_sectors = 8192, .max_discard_segments = 1 };
	struct pep_ublk_params back;
	struct pep_ublk_info got;
	struct pep_ublk_ctrl *c;
	struct pep_err err;
	int before = count_devices();

	CHECK(pep_ublk_ctrl_open(&c, &err) == 0);
	CHECK(pep_ublk_add(c, &info, &err) == 0);
	printf("features 0x%llx, %s command numbers\n",
	       (unsigned long long)pep_ublk_ctrl_features(c),
	       pep_ublk_ctrl_legacy(c) ? "legacy" : "ioctl-encoded");
	CHECK(info.id >= 0 && info.state == PEP_UBLK_DEAD);
	CHECK(pep_ublk_get_info(c, info.id, &got, &err) == 0);
	CHECK(got.nr_queues == 2 && got.depth == 32 && got.max_io_bytes == 256 * 1024);
	CHECK(got.user_flags == 0x1234);
	CHECK(pep_ublk_set_params(c, info.id, &p, &err) == 0);
	CHECK(pep_ublk_get_params(c, info.id, &back, &err) == 0);
	CHECK(back.size == p.size && back.max_sectors == 512);
	CHECK(back.logical_bs_shift == 9 && back.physical_bs_shift == 12);
	CHECK(back.attrs == PEP_UBLK_ATTR_VOLATILE_CACHE);
	CHECK(back.discard && back.discard_granularity == 4096);
	CHECK(back.max_discard_sectors == 8192 && back.max_write_zeroes_sectors == 8192);
	CHECK(count_devices() == before + 1);
	CHECK(pep_ublk_del(c, info.id, &err) == 0);
	CHECK(wait_gone(info.id));
	CHECK(count_devices() == before);
	/* a device that is gone: a clear error naming the command */
	CHECK(pep_ublk_get_info(c, info.id, &got, &err) < 0);
	CHECK(strstr(err.msg, "GET_DEV_INFO") != NULL);
	pep_ublk_ctrl_close(c);
	return T_PASS;
}

/* Write a pattern at a few offsets through the block device, read it back. */
static int io_round_trip(const char *path, uint64_t size)
{
	static const uint64_t offsets[] = { 0, 4096, 1 << 20, 7 << 20 };
	int fd = open(path, O_RDWR | O_DIRECT);
	char *w, *r;
	int ok = 1;

	if (fd < 0 || posix_memalign((void **)&w, 4096, 65536) ||
	    posix_memalign((void **)&r, 4096, 65536))
		return -1;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]) && ok; i++) {
		for (int k = 0; k < 65536; k++)
			w[k] = (char)(k * 7 + i * 13);
		if (offsets[i] + 65536 > size)
			continue;
		ok = pwrite(fd, w, 65536, (off_t)offsets[i]) == 65536 &&
		     pread(fd, r, 65536, (off_t)offsets[i]) == 65536 &&
		     !memcmp(w, r, 65536);
	}
	ok = ok && fsync(fd) == 0;
	free(w);
	free(r);
	close(fd);
	return ok ? 0 : -1;
}

static int test_ram_served(void)
{
	struct pep_ublk_dev_opts o = { .id = -1, .nr_queues = 2, .depth = 16 };
	struct pep_blk_target *t;
	struct pep_ublk_dev *dev;
	struct pep_ublk_stats st;
	struct pep_err err;
	char path[32];
	int id, before = count_devices();

	CHECK(pep_blk_ram_create(&t, 16 << 20, &err) == 0);
	o.target = t;
	CHECK(pep_ublk_dev_create(&dev, &o, &err) == 0);
	CHECK(pep_ublk_dev_start(dev, &err) == 0);
	id = pep_ublk_dev_id(dev);
	snprintf(path, sizeof(path), "/dev/ublkb%d", id);
	CHECK(exists('b', id));
	CHECK(io_round_trip(path, 16 << 20) == 0);
	pep_ublk_dev_stats(dev, &st);
	printf("%s: %llu requests, %llu errors\n", path,
	       (unsigned long long)st.requests, (unsigned long long)st.errors);
	CHECK(st.requests >= 8 && st.errors == 0 && st.tag_collisions == 0);
	CHECK(pep_ublk_dev_stop(dev, &err) == 0);
	for (int i = 0; i < 100 && !pep_ublk_dev_stopped(dev); i++)
		usleep(20 * 1000);
	CHECK(pep_ublk_dev_stopped(dev));
	pep_ublk_dev_destroy(dev);
	CHECK(wait_gone(id));
	CHECK(count_devices() == before);
	pep_blk_target_destroy(t);
	return T_PASS;
}

static int test_refused_before_creation(void)
{
	struct pep_ublk_dev_opts o = { .id = -1, .depth = 5000 };
	struct pep_blk_target *t;
	struct pep_ublk_dev *dev;
	struct pep_err err;
	int before = count_devices();

	CHECK(pep_blk_ram_create(&t, 1 << 20, &err) == 0);
	o.target = t;
	CHECK(pep_ublk_dev_create(&dev, &o, &err) == -EINVAL && !dev);
	CHECK(strstr(err.msg, "depth") != NULL);
	o.depth = 8;
	o.max_io_bytes = 1000;
	CHECK(pep_ublk_dev_create(&dev, &o, &err) == -EINVAL);
	CHECK(strstr(err.msg, "max I/O") != NULL);
	CHECK(count_devices() == before);
	pep_blk_target_destroy(t);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	if (access("/dev/ublk-control", F_OK) != 0) {
		printf("SKIP: no /dev/ublk-control (CONFIG_BLK_DEV_UBLK not set?)\n");
		return T_SKIP;
	}
	t_run("params_round_trip", test_params_round_trip, &rc);
	t_run("ram_served", test_ram_served, &rc);
	t_run("refused_before_creation", test_refused_before_creation, &rc);
	return rc;
}
