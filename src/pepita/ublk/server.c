/*
 * A ublk device served by a blkmq target: ADD_DEV and SET_PARAMS from the
 * target's size and capabilities, one thread per queue (queue.c), then
 * START_DEV once every tag has a FETCH outstanding. Stopping is STOP_DEV:
 * the driver aborts the commands and the threads end by themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ublk/ublk_priv.h"

#define DEFAULT_DEPTH 64
#define DEFAULT_MAX_IO (512u * 1024)
#define MAX_IO_LIMIT (32u << 20)	/* 25 bits of buffer offset */

static int check_opts(const struct pep_ublk_dev_opts *o, struct pep_err *err)
{
	const struct pep_blk_target *t = o->target;

	if (!t || !t->ops)
		return pep_err_set(err, -EINVAL, "ublk: no target");
	if (t->size == 0 || t->size % 512)
		return pep_err_set(err, -EINVAL, "ublk: size %llu is not a positive "
				   "multiple of 512 bytes", (unsigned long long)t->size);
	if (t->block_size != 512 && t->block_size != 4096)
		return pep_err_set(err, -EINVAL, "ublk: block size %u: 512 or 4096",
				   t->block_size);
	if (o->nr_queues > PEP_BLK_MAX_QUEUES)
		return pep_err_set(err, -EINVAL, "ublk: %u queues: at most %d",
				   o->nr_queues, PEP_BLK_MAX_QUEUES);
	if (o->depth > PEP_BLK_MAX_DEPTH)
		return pep_err_set(err, -EINVAL, "ublk: depth %u: at most %d",
				   o->depth, PEP_BLK_MAX_DEPTH);
	if (o->max_io_bytes && (o->max_io_bytes % 4096 || o->max_io_bytes > MAX_IO_LIMIT))
		return pep_err_set(err, -EINVAL, "ublk: max I/O %u bytes: a multiple "
				   "of 4096 up to 32 MiB", o->max_io_bytes);
	return 0;
}

static unsigned int shift_of(uint32_t v)
{
	unsigned int s = 0;

	while ((1u << s) < v)
		s++;
	return s;
}

/* The device's parameters follow the target. */
static void params_of(const struct pep_ublk_dev *dev, struct pep_ublk_params *p)
{
	const struct pep_blk_target *t = dev->target;

	memset(p, 0, sizeof(*p));
	p->size = t->size;
	p->logical_bs_shift = (uint8_t)shift_of(t->block_size);
	p->physical_bs_shift = 12;
	p->io_opt_shift = 12;
	p->io_min_shift = (uint8_t)shift_of(t->block_size);
	p->max_sectors = dev->max_io_bytes >> 9;
	if (t->caps & PEP_BLK_CAP_READ_ONLY)
		p->attrs |= PEP_UBLK_ATTR_READ_ONLY;
	if (t->caps & PEP_BLK_CAP_FLUSH)
		p->attrs |= PEP_UBLK_ATTR_VOLATILE_CACHE;
	if (t->caps & PEP_BLK_CAP_FUA)
		p->attrs |= PEP_UBLK_ATTR_FUA;
	if (t->caps & (PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES)) {
		p->discard = 1;
		p->discard_granularity = 4096;
		p->max_discard_segments = 1;
		/* a request's length is 32 bits of bytes */
		if (t->caps & PEP_BLK_CAP_DISCARD)
			p->max_discard_sectors = UINT32_MAX >> 10;
		if (t->caps & PEP_BLK_CAP_WRITE_ZEROES)
			p->max_write_zeroes_sectors = UINT32_MAX >> 10;
	}
}

/* udev (or devtmpfs) creates /dev/ublkcN shortly after ADD_DEV. */
static int open_char(int id, struct pep_err *err)
{
	char path[32];
	int fd = -1;

	snprintf(path, sizeof(path), "/dev/ublkc%d", id);
	for (int i = 0; i < 30; i++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(100 * 1000);
	}
	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	return fd;
}

static struct pep_ublk_dev *dev_alloc(const struct pep_ublk_dev_opts *o)
{
	struct pep_ublk_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->target = o->target;
	dev->id = -1;
	dev->char_fd = -1;
	dev->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (dev->wake_fd < 0) {
		free(dev);
		return NULL;
	}
	dev->nr_queues = o->nr_queues ? o->nr_queues : 1;
	dev->depth = o->depth ? o->depth : DEFAULT_DEPTH;
	dev->max_io_bytes = o->max_io_bytes ? o->max_io_bytes : DEFAULT_MAX_IO;
	return dev;
}

static void dev_free(struct pep_ublk_dev *dev)
{
	if (dev->queues)
		for (unsigned int i = 0; i < dev->nr_queues; i++)
			ublk_queue_exit(&dev->queues[i]);
	free(dev->queues);
	if (dev->char_fd >= 0)
		close(dev->char_fd);
	close(dev->wake_fd);
	pep_blk_tagset_destroy(dev->tags);
	pep_ublk_ctrl_close(dev->ctrl);
	free(dev);
}

/* ADD_DEV, SET_PARAMS, open the char node; DEL_DEV again on failure. */
static int add_device(struct pep_ublk_dev *dev, const struct pep_ublk_dev_opts *o,
		      struct pep_err *err)
{
	struct pep_ublk_info info = { .id = o->id, .nr_queues = (uint16_t)dev->nr_queues,
		.depth = (uint16_t)dev->depth, .max_io_bytes = dev->max_io_bytes,
		.user_flags = o->user_flags };
	struct pep_ublk_params p;
	int ret;

	if (o->recovery)
		info.flags |= PEP_UBLK_F_USER_RECOVERY;
	ret = pep_ublk_add(dev->ctrl, &info, err);
	if (ret < 0)
		return ret;
	dev->id = info.id;
	/* the kernel may give fewer queues (6.1: at most one per CPU) */
	dev->nr_queues = info.nr_queues;
	dev->depth = info.depth;
	dev->encoded_io = !!(info.flags & PEP_UBLK_F_CMD_IOCTL_ENCODE);
	params_of(dev, &p);
	ret = pep_ublk_set_params(dev->ctrl, dev->id, &p, err);
	if (ret >= 0 && (ret = open_char(dev->id, err)) >= 0) {
		dev->char_fd = ret;
		return 0;
	}
	pep_ublk_del(dev->ctrl, dev->id, NULL);
	dev->id = -1;
	return ret;
}

int pep_ublk_dev_create(struct pep_ublk_dev **out,
			const struct pep_ublk_dev_opts *o, struct pep_err *err)
{
	struct pep_ublk_dev *dev;
	int ret;

	*out = NULL;
	ret = check_opts(o, err);
	if (ret < 0)
		return ret;
	dev = dev_alloc(o);
	if (!dev)
		return pep_err_set(err, -ENOMEM, "ublk: out of memory");
	ret = pep_ublk_ctrl_open(&dev->ctrl, err);
	if (ret >= 0)
		ret = add_device(dev, o, err);
	if (ret >= 0)
		ret = pep_blk_tagset_create(&dev->tags, dev->nr_queues, dev->depth, err);
	if (ret < 0) {
		if (dev->id >= 0) {
			close(dev->char_fd);
			dev->char_fd = -1;
			pep_ublk_del(dev->ctrl, dev->id, NULL);
		}
		dev_free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

/* Wait until every queue has its FETCHes out (or one failed). */
static int wait_ready(struct pep_ublk_dev *dev, struct pep_err *err)
{
	for (int ms = 0; ms < 10000; ms++) {
		unsigned int ready = 0;

		for (unsigned int i = 0; i < dev->nr_queues; i++) {
			int r = atomic_load(&dev->queues[i].ready);

			if (r < 0) {
				if (err)
					*err = dev->queues[i].err;
				return dev->queues[i].err.code ? dev->queues[i].err.code : -EIO;
			}
			ready += r > 0;
		}
		if (ready == dev->nr_queues)
			return 0;
		usleep(1000);
	}
	return pep_err_set(err, -ETIMEDOUT, "ublk %d: queues not ready in 10 s", dev->id);
}

static int start_queues(struct pep_ublk_dev *dev, struct pep_err *err)
{
	int ret;

	dev->queues = calloc(dev->nr_queues, sizeof(*dev->queues));
	if (!dev->queues)
		return pep_err_set(err, -ENOMEM, "ublk: out of memory");
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct ublk_queue *q = &dev->queues[i];

		ret = ublk_queue_init(dev, q, i, err);
		if (ret < 0)
			return ret;
		ret = pthread_create(&q->thread, NULL, ublk_queue_thread, q);
		if (ret)
			return pep_err_set(err, -ret, "ublk queue %u: thread: %s", i,
					   strerror(ret));
		q->thread_started = 1;
	}
	return wait_ready(dev, err);
}

/*
 * After a start that failed half-way the driver aborts nothing (it only
 * cancels the commands of queues that were complete): wake the threads.
 */
static void abort_queues(struct pep_ublk_dev *dev)
{
	uint64_t one = 1;

	if (write(dev->wake_fd, &one, sizeof(one)) < 0)
		return;		/* an eventfd write fails only at overflow */
}

static void join_queues(struct pep_ublk_dev *dev)
{
	if (!dev->queues)
		return;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		if (dev->queues[i].thread_started) {
			pthread_join(dev->queues[i].thread, NULL);
			dev->queues[i].thread_started = 0;
		}
}

/*
 * Any thread: the device's control handle takes one command at a time,
 * so a STOP_DEV from another thread waits for a START_DEV under way.
 */
static int ctrl_stop(struct pep_ublk_dev *dev, struct pep_err *err)
{
	dev->stopping = 1;
	return pep_ublk_stop(dev->ctrl, dev->id, err);
}

int pep_ublk_dev_start(struct pep_ublk_dev *dev, struct pep_err *err)
{
	int ret = start_queues(dev, err);

	if (ret >= 0)
		ret = pep_ublk_start(dev->ctrl, dev->id, getpid(), err);
	if (ret < 0) {
		ctrl_stop(dev, NULL);	/* aborts the FETCHes of ready queues */
		abort_queues(dev);
		join_queues(dev);
		return ret;
	}
	dev->started = 1;
	return 0;
}

int pep_ublk_dev_recover(struct pep_ublk_dev **out,
			 const struct pep_ublk_dev_opts *o, struct pep_err *err)
{
	struct pep_ublk_dev_opts opts = *o;
	struct pep_ublk_info info;
	struct pep_ublk_ctrl *c;
	struct pep_ublk_dev *dev;
	int ret;

	*out = NULL;
	ret = pep_ublk_ctrl_open(&c, err);
	if (ret < 0)
		return ret;
	ret = pep_ublk_get_info(c, o->id, &info, err);
	if (ret >= 0 && info.state != PEP_UBLK_QUIESCED)
		ret = pep_err_set(err, -EINVAL, "ublk %d is %s: only a QUIESCED device "
				  "(added with recovery, its server gone) can be "
				  "recovered", o->id, pep_ublk_state_name(info.state));
	if (ret >= 0)
		ret = pep_ublk_start_recovery(c, o->id, err);
	if (ret < 0) {
		pep_ublk_ctrl_close(c);
		return ret;
	}
	opts.nr_queues = info.nr_queues;
	opts.depth = info.depth;
	opts.max_io_bytes = info.max_io_bytes;
	dev = dev_alloc(&opts);
	if (!dev) {
		pep_ublk_ctrl_close(c);
		return pep_err_set(err, -ENOMEM, "ublk: out of memory");
	}
	dev->ctrl = c;
	dev->id = o->id;
	dev->encoded_io = !!(info.flags & PEP_UBLK_F_CMD_IOCTL_ENCODE);
	ret = pep_blk_tagset_create(&dev->tags, dev->nr_queues, dev->depth, err);
	if (ret >= 0 && (ret = open_char(dev->id, err)) >= 0) {
		dev->char_fd = ret;
		ret = start_queues(dev, err);
	}
	if (ret >= 0)
		ret = pep_ublk_end_recovery(c, dev->id, getpid(), err);
	if (ret < 0) {
		abort_queues(dev);
		join_queues(dev);
		dev->id = -1;		/* the device stays, for another try */
		dev_free(dev);
		return ret;
	}
	dev->started = 1;
	*out = dev;
	return 0;
}

int pep_ublk_dev_id(const struct pep_ublk_dev *dev)
{
	return dev->id;
}

unsigned int pep_ublk_dev_queues(const struct pep_ublk_dev *dev)
{
	return dev->nr_queues;
}

unsigned int pep_ublk_dev_depth(const struct pep_ublk_dev *dev)
{
	return dev->depth;
}

int pep_ublk_dev_stopped(const struct pep_ublk_dev *dev)
{
	return dev->started &&
	       atomic_load(&((struct pep_ublk_dev *)dev)->queues_done) == dev->nr_queues;
}

int pep_ublk_dev_stop(struct pep_ublk_dev *dev, struct pep_err *err)
{
	if (!dev->started || dev->stopping)
		return 0;
	return ctrl_stop(dev, err);
}

void pep_ublk_dev_destroy(struct pep_ublk_dev *dev)
{
	if (!dev)
		return;
	if (dev->started && !pep_ublk_dev_stopped(dev))
		pep_ublk_dev_stop(dev, NULL);
	join_queues(dev);
	/* DEL_DEV waits until the char node is released: its mmaps too */
	if (dev->queues)
		for (unsigned int i = 0; i < dev->nr_queues; i++)
			ublk_queue_exit(&dev->queues[i]);
	if (dev->char_fd >= 0) {
		close(dev->char_fd);
		dev->char_fd = -1;
	}
	if (dev->id >= 0)
		pep_ublk_del(dev->ctrl, dev->id, NULL);	/* -ENODEV: deleted already */
	dev_free(dev);
}

void pep_ublk_dev_stats(const struct pep_ublk_dev *dev, struct pep_ublk_stats *out)
{
	struct pep_ublk_dev *d = (struct pep_ublk_dev *)dev;

	out->requests = atomic_load(&d->requests);
	out->errors = atomic_load(&d->errors);
	out->tag_collisions = atomic_load(&d->collisions);
	out->bad_descriptors = atomic_load(&d->bad_descs);
}
