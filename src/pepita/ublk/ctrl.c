/*
 * The ublk control plane: /dev/ublk-control and a small SQE128 ring whose
 * URING_CMD commands carry a 32-byte ublksrv_ctrl_cmd. Commands go out in
 * their ioctl-encoded form first; a kernel before 6.4 answers that with an
 * error and the legacy number is used from then on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/uring.h>
#include <pepita/ublk.h>

#include "ublk/ublk_priv.h"

#define CONTROL "/dev/ublk-control"

/*
 * lock: one command at a time on the ring, and legacy/encoded with it. A
 * device's server stops it from any thread while its owner starts or
 * deletes it; each device has its own handle, so devices never wait for
 * each other (the driver serializes per device itself: ub->mutex).
 */
struct pep_ublk_ctrl {
	int fd;
	struct pep_uring *ring;
	uint64_t features;	/* fixed at open */
	pthread_mutex_t lock;
	int legacy;		/* only legacy numbers work */
	int encoded;		/* an encoded command has worked */
};

struct cmd_code {
	const char *name;
	uint32_t encoded;
	uint32_t legacy;
};

static const struct cmd_code ADD = { "ADD_DEV", PEP_UBLK_U_CMD_ADD_DEV, PEP_UBLK_CMD_ADD_DEV };
static const struct cmd_code DEL = { "DEL_DEV", PEP_UBLK_U_CMD_DEL_DEV, PEP_UBLK_CMD_DEL_DEV };
static const struct cmd_code START = { "START_DEV", PEP_UBLK_U_CMD_START_DEV,
				       PEP_UBLK_CMD_START_DEV };
static const struct cmd_code STOP = { "STOP_DEV", PEP_UBLK_U_CMD_STOP_DEV,
				      PEP_UBLK_CMD_STOP_DEV };
static const struct cmd_code INFO = { "GET_DEV_INFO", PEP_UBLK_U_CMD_GET_DEV_INFO,
				      PEP_UBLK_CMD_GET_DEV_INFO };
static const struct cmd_code SET_PARAMS = { "SET_PARAMS", PEP_UBLK_U_CMD_SET_PARAMS,
					    PEP_UBLK_CMD_SET_PARAMS };
static const struct cmd_code GET_PARAMS = { "GET_PARAMS", PEP_UBLK_U_CMD_GET_PARAMS,
					    PEP_UBLK_CMD_GET_PARAMS };
static const struct cmd_code START_REC = { "START_USER_RECOVERY",
					   PEP_UBLK_U_CMD_START_USER_RECOVERY,
					   PEP_UBLK_CMD_START_USER_RECOVERY };
static const struct cmd_code END_REC = { "END_USER_RECOVERY",
					 PEP_UBLK_U_CMD_END_USER_RECOVERY,
					 PEP_UBLK_CMD_END_USER_RECOVERY };

const char *pep_ublk_state_name(unsigned int state)
{
	static const char *const names[] = { "DEAD", "LIVE", "QUIESCED", "FAIL_IO" };

	return state < 4 ? names[state] : "?";
}

/* One command: submit, wait for its completion, return cqe->res. */
static int submit_cmd(struct pep_ublk_ctrl *c, uint32_t op,
		      const struct pep_ublksrv_ctrl_cmd *cmd)
{
	struct io_uring_sqe *sqe = pep_uring_sqe(c->ring);
	struct io_uring_cqe *cqe;
	struct io_uring *raw = pep_uring_raw(c->ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	/* cmd_op: the SQE's 32 bits at offset 8 (liburing 2.1 has no name) */
	memcpy((char *)sqe + 8, &op, sizeof(op));
	memcpy((char *)sqe + 48, cmd, sizeof(*cmd));
	ret = pep_uring_submit_and_wait(c->ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(raw, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(raw, cqe);
	return ret;
}

static int run_cmd_locked(struct pep_ublk_ctrl *c, const struct cmd_code *code,
		   struct pep_ublksrv_ctrl_cmd *cmd, struct pep_err *err)
{
	int ret;

	if (c->legacy) {
		ret = submit_cmd(c, code->legacy, cmd);
	} else {
		ret = submit_cmd(c, code->encoded, cmd);
		/* pre-6.4: an encoded number is unknown; try the legacy one */
		if (ret < 0 && !c->encoded && ret != -EBUSY) {
			int legacy = submit_cmd(c, code->legacy, cmd);

			if (legacy >= 0 || legacy != ret)
				c->legacy = legacy >= 0;
			ret = legacy;
		} else if (ret >= 0) {
			c->encoded = 1;
		}
	}
	if (ret < 0)
		return pep_err_set(err, ret, "ublk %s (device %d): %s", code->name,
				   (int)cmd->dev_id, strerror(-ret));
	return ret;
}

static int run_cmd(struct pep_ublk_ctrl *c, const struct cmd_code *code,
		   struct pep_ublksrv_ctrl_cmd *cmd, struct pep_err *err)
{
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = run_cmd_locked(c, code, cmd, err);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static struct pep_ublksrv_ctrl_cmd make_cmd(int id, void *buf, size_t len)
{
	return (struct pep_ublksrv_ctrl_cmd){ .dev_id = (uint32_t)id,
		.queue_id = 0xffff, .len = (uint16_t)len, .addr = (uintptr_t)buf };
}

static void query_features(struct pep_ublk_ctrl *c)
{
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(-1, &c->features, 8);

	/* GET_FEATURES exists from 6.5, encoded only */
	if (submit_cmd(c, PEP_UBLK_U_CMD_GET_FEATURES, &cmd) < 0)
		c->features = 0;
	else
		c->encoded = 1;
}

int pep_ublk_ctrl_open(struct pep_ublk_ctrl **out, struct pep_err *err)
{
	struct pep_uring_opts ro = { .entries = 4, .flags = PEP_URING_SQE128 };
	struct pep_ublk_ctrl *c;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return pep_err_set(err, -ENOMEM, "ublk: out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->fd = open(CONTROL, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		ret = -errno;
		pthread_mutex_destroy(&c->lock);
		free(c);
		if (ret == -ENOENT)
			return pep_err_set(err, -ENODEV, "no ublk driver: " CONTROL
					   " is absent (modprobe ublk_drv, or a kernel "
					   "with CONFIG_BLK_DEV_UBLK)");
		return pep_err_set(err, ret, "open " CONTROL ": %s%s", strerror(-ret),
				   ret == -EACCES ? " (needs root)" : "");
	}
	ret = pep_uring_create(&c->ring, &ro, err);
	if (ret < 0) {
		close(c->fd);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return ret;
	}
	query_features(c);
	*out = c;
	return 0;
}

void pep_ublk_ctrl_close(struct pep_ublk_ctrl *c)
{
	if (!c)
		return;
	pep_uring_destroy(c->ring);
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t pep_ublk_ctrl_features(const struct pep_ublk_ctrl *c)
{
	return c->features;
}

int pep_ublk_ctrl_legacy(const struct pep_ublk_ctrl *c)
{
	struct pep_ublk_ctrl *m = (struct pep_ublk_ctrl *)c;	/* the lock only */
	int legacy;

	pthread_mutex_lock(&m->lock);
	legacy = m->legacy;
	pthread_mutex_unlock(&m->lock);
	return legacy;
}

static void info_from_abi(const struct pep_ublksrv_ctrl_dev_info *d,
			  struct pep_ublk_info *info)
{
	info->id = (int32_t)d->dev_id;
	info->nr_queues = d->nr_hw_queues;
	info->depth = d->queue_depth;
	info->state = d->state;
	info->max_io_bytes = d->max_io_buf_bytes;
	info->pid = d->ublksrv_pid;
	info->flags = d->flags;
	info->user_flags = d->ublksrv_flags;
	info->owner_uid = d->owner_uid;
	info->owner_gid = d->owner_gid;
}

int pep_ublk_add(struct pep_ublk_ctrl *c, struct pep_ublk_info *info,
		 struct pep_err *err)
{
	struct pep_ublksrv_ctrl_dev_info d = {
		.nr_hw_queues = info->nr_queues, .queue_depth = info->depth,
		.max_io_buf_bytes = info->max_io_bytes,
		.dev_id = (uint32_t)info->id, .flags = info->flags,
		.ublksrv_flags = info->user_flags,
	};
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(info->id, &d, sizeof(d));
	int ret;

	/* with encoded numbers the driver may also take encoded I/O commands */
	if (c->features & PEP_UBLK_F_CMD_IOCTL_ENCODE)
		d.flags |= PEP_UBLK_F_CMD_IOCTL_ENCODE;
	ret = run_cmd(c, &ADD, &cmd, err);
	if (ret < 0)
		return ret;
	info_from_abi(&d, info);
	return 0;
}

static int simple(struct pep_ublk_ctrl *c, const struct cmd_code *code, int id,
		  uint64_t data, struct pep_err *err)
{
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(id, NULL, 0);
	int ret;

	cmd.data[0] = data;
	ret = run_cmd(c, code, &cmd, err);
	return ret < 0 ? ret : 0;
}

int pep_ublk_del(struct pep_ublk_ctrl *c, int id, struct pep_err *err)
{
	return simple(c, &DEL, id, 0, err);
}

/* START_DEV waits until every queue has a FETCH outstanding per tag. */
int pep_ublk_start(struct pep_ublk_ctrl *c, int id, int pid, struct pep_err *err)
{
	return simple(c, &START, id, (uint64_t)pid, err);
}

int pep_ublk_stop(struct pep_ublk_ctrl *c, int id, struct pep_err *err)
{
	return simple(c, &STOP, id, 0, err);
}

int pep_ublk_get_info(struct pep_ublk_ctrl *c, int id, struct pep_ublk_info *info,
		      struct pep_err *err)
{
	struct pep_ublksrv_ctrl_dev_info d = { 0 };
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(id, &d, sizeof(d));
	int ret = run_cmd(c, &INFO, &cmd, err);

	if (ret < 0)
		return ret;
	info_from_abi(&d, info);
	return 0;
}

int pep_ublk_set_params(struct pep_ublk_ctrl *c, int id,
			const struct pep_ublk_params *p, struct pep_err *err)
{
	struct pep_ublk_params_abi a = { .len = PEP_UBLK_PARAMS_LEN,
					 .types = PEP_UBLK_PARAM_TYPE_BASIC };
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(id, &a, sizeof(a));
	int ret;

	a.basic.attrs = p->attrs;
	a.basic.logical_bs_shift = p->logical_bs_shift;
	a.basic.physical_bs_shift = p->physical_bs_shift;
	a.basic.io_opt_shift = p->io_opt_shift;
	a.basic.io_min_shift = p->io_min_shift;
	a.basic.max_sectors = p->max_sectors;
	a.basic.dev_sectors = p->size >> 9;
	if (p->discard) {
		a.types |= PEP_UBLK_PARAM_TYPE_DISCARD;
		a.discard.discard_granularity = p->discard_granularity;
		a.discard.max_discard_sectors = p->max_discard_sectors;
		a.discard.max_write_zeroes_sectors = p->max_write_zeroes_sectors;
		a.discard.max_discard_segments = p->max_discard_segments;
	}
	ret = run_cmd(c, &SET_PARAMS, &cmd, err);
	return ret < 0 ? ret : 0;
}

int pep_ublk_get_params(struct pep_ublk_ctrl *c, int id, struct pep_ublk_params *p,
			struct pep_err *err)
{
	struct pep_ublk_params_abi a = { .len = PEP_UBLK_PARAMS_LEN };
	struct pep_ublksrv_ctrl_cmd cmd = make_cmd(id, &a, sizeof(a));
	int ret = run_cmd(c, &GET_PARAMS, &cmd, err);

	if (ret < 0)
		return ret;
	memset(p, 0, sizeof(*p));
	p->size = a.basic.dev_sectors << 9;
	p->attrs = a.basic.attrs;
	p->logical_bs_shift = a.basic.logical_bs_shift;
	p->physical_bs_shift = a.basic.physical_bs_shift;
	p->io_opt_shift = a.basic.io_opt_shift;
	p->io_min_shift = a.basic.io_min_shift;
	p->max_sectors = a.basic.max_sectors;
	p->discard = !!(a.types & PEP_UBLK_PARAM_TYPE_DISCARD);
	p->discard_granularity = a.discard.discard_granularity;
	p->max_discard_sectors = a.discard.max_discard_sectors;
	p->max_write_zeroes_sectors = a.discard.max_write_zeroes_sectors;
	p->max_discard_segments = a.discard.max_discard_segments;
	/* a 6.1 kernel answers with the prefix it knows: no devt */
	p->devt = a.len >= PEP_UBLK_PARAMS_LEN && (a.types & PEP_UBLK_PARAM_TYPE_DEVT);
	if (p->devt) {
		p->char_major = a.devt.char_major;
		p->char_minor = a.devt.char_minor;
		p->disk_major = a.devt.disk_major;
		p->disk_minor = a.devt.disk_minor;
	}
	return 0;
}

int pep_ublk_start_recovery(struct pep_ublk_ctrl *c, int id, struct pep_err *err)
{
	return simple(c, &START_REC, id, 0, err);
}

int pep_ublk_end_recovery(struct pep_ublk_ctrl *c, int id, int pid,
			  struct pep_err *err)
{
	return simple(c, &END_REC, id, (uint64_t)pid, err);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int pep_ublk_list_ids(int *ids, int max, struct pep_err *err)
{
	DIR *d = opendir("/sys/class/ublk-char");
	struct dirent *e;
	int n = 0, stored = 0;

	if (!d)
		return errno == ENOENT ? 0 : pep_err_errno(err, "/sys/class/ublk-char");
	while ((e = readdir(d))) {
		char *end;
		long id;

		if (strncmp(e->d_name, "ublkc", 5))
			continue;
		id = strtol(e->d_name + 5, &end, 10);
		if (*end || end == e->d_name + 5 || id < 0)
			continue;
		if (stored < max)
			ids[stored++] = (int)id;
		n++;
	}
	closedir(d);
	qsort(ids, (size_t)stored, sizeof(*ids), cmp_int);
	return n;
}
