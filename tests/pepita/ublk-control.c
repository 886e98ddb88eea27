/*
 * The ublk control plane on the running kernel: query the features (6.5+)
 * or fall back to the legacy commands, add a device, read its info back,
 * see its char node appear, delete it and see the node go. Runs on any
 * kernel with CONFIG_BLK_DEV_UBLK (the test VM's, a Jetson's, a
 * workstation's) and skips elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#define PEP_TESTING_UBLK_ABI
#include "ublk/ublk_cmd.h"

struct ctrl {
	struct io_uring ring;
	int fd;
	int legacy;		/* the kernel takes legacy command numbers only */
	int encoded_works;	/* GET_FEATURES answered: 6.5+ */
};

/* One control command: SQE128, URING_CMD, the payload at offset 48. */
static int ctrl_cmd(struct ctrl *c, uint32_t op, const struct pep_ublksrv_ctrl_cmd *cmd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	memcpy((char *)sqe + 48, cmd, sizeof(*cmd));
	ret = io_uring_submit(&c->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&c->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return ret;
}

/*
 * 6.4+ take the ioctl-encoded command numbers, older kernels only the
 * legacy ones (6.1 answers an encoded ADD_DEV with -ENODEV). ADD_DEV is
 * tried encoded first; whichever form works is used from then on.
 */
static int ctrl_cmd_either(struct ctrl *c, uint32_t encoded, uint32_t legacy,
			   const struct pep_ublksrv_ctrl_cmd *cmd)
{
	int ret;

	if (c->legacy)
		return ctrl_cmd(c, legacy, cmd);
	ret = ctrl_cmd(c, encoded, cmd);
	if (ret >= 0 || c->encoded_works)
		return ret;
	ret = ctrl_cmd(c, legacy, cmd);
	if (ret >= 0)
		c->legacy = 1;
	return ret;
}

static int test_constants(void)
{
	CHECK(PEP_UBLK_U_CMD_GET_DEV_INFO == 0x80207502u);
	CHECK(PEP_UBLK_U_CMD_ADD_DEV == 0xc0207504u);
	CHECK(PEP_UBLK_U_CMD_DEL_DEV == 0xc0207505u);
	CHECK(PEP_UBLK_U_CMD_GET_FEATURES == 0x80207513u);
	CHECK(PEP_UBLK_U_CMD_GET_QUEUE_AFFINITY == 0x80207501u);
	CHECK(PEP_UBLK_U_CMD_START_DEV == 0xc0207506u);
	CHECK(PEP_UBLK_U_CMD_STOP_DEV == 0xc0207507u);
	CHECK(PEP_UBLK_U_CMD_SET_PARAMS == 0xc0207508u);
	CHECK(PEP_UBLK_U_CMD_GET_PARAMS == 0x80207509u);
	CHECK(PEP_UBLK_U_CMD_START_USER_RECOVERY == 0xc0207510u);
	CHECK(PEP_UBLK_U_CMD_END_USER_RECOVERY == 0xc0207511u);
	CHECK(PEP_UBLK_U_IO_FETCH_REQ == 0xc0107520u);
	CHECK(PEP_UBLK_U_IO_COMMIT_AND_FETCH_REQ == 0xc0107521u);
	CHECK(PEP_UBLK_F_CMD_IOCTL_ENCODE == 1ull << 6);
	CHECK(PEP_UBLK_F_USER_COPY == 1ull << 7);
	CHECK(PEP_UBLK_S_DEV_FAIL_IO == 3);
	/* the layouts of ublk.md section 4 */
	CHECK(offsetof(struct pep_ublksrv_ctrl_cmd, addr) == 8);
	CHECK(offsetof(struct pep_ublksrv_ctrl_cmd, dev_path_len) == 24);
	CHECK(offsetof(struct pep_ublksrv_ctrl_dev_info, ublksrv_pid) == 16);
	CHECK(offsetof(struct pep_ublksrv_ctrl_dev_info, owner_gid) == 44);
	CHECK(sizeof(struct ublksrv_io_desc) == 24 &&
	      offsetof(struct ublksrv_io_desc, start_sector) == 8 &&
	      offsetof(struct ublksrv_io_desc, addr) == 16);
	CHECK(sizeof(struct ublksrv_io_cmd) == 16 &&
	      offsetof(struct ublksrv_io_cmd, result) == 4 &&
	      offsetof(struct ublksrv_io_cmd, addr) == 8);
	CHECK(sizeof(struct ublk_param_basic) == 32 &&
	      offsetof(struct ublk_param_basic, max_sectors) == 8 &&
	      offsetof(struct ublk_param_basic, dev_sectors) == 16);
	CHECK(sizeof(struct ublk_param_discard) == 20);
	CHECK(offsetof(struct pep_ublk_params_abi, devt) == 60);
	return T_PASS;
}

static int wait_for_node(const char *path, int present)
{
	for (int i = 0; i < 30; i++) {
		if ((access(path, F_OK) == 0) == present)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static int add_info_delete(struct ctrl *c)
{
	struct pep_ublksrv_ctrl_dev_info info = {
		.nr_hw_queues = 1, .queue_depth = 32,
		.max_io_buf_bytes = 512 * 1024, .dev_id = (uint32_t)-1,
	};
	struct pep_ublksrv_ctrl_dev_info back = { 0 };
	struct pep_ublksrv_ctrl_cmd cmd = {
		.dev_id = (uint32_t)-1, .queue_id = 0xffff,
		.len = sizeof(info), .addr = (uintptr_t)&info,
	};
	char node[64];
	int ret;

	ret = ctrl_cmd_either(c, PEP_UBLK_U_CMD_ADD_DEV, PEP_UBLK_CMD_ADD_DEV, &cmd);
	printf("ADD_DEV with %s command numbers\n", c->legacy ? "legacy" : "ioctl-encoded");
	if (ret < 0) {
		fprintf(stderr, "ADD_DEV: %s\n", strerror(-ret));
		return T_FAIL;
	}
	CHECK(info.dev_id != (uint32_t)-1);
	CHECK(info.state == PEP_UBLK_S_DEV_DEAD);
	CHECK(info.owner_uid == getuid());
	snprintf(node, sizeof(node), "/dev/ublkc%u", info.dev_id);
	CHECK(wait_for_node(node, 1) == 0);

	cmd.dev_id = info.dev_id;
	cmd.addr = (uintptr_t)&back;
	ret = ctrl_cmd_either(c, PEP_UBLK_U_CMD_GET_DEV_INFO,
			      PEP_UBLK_CMD_GET_DEV_INFO, &cmd);
	CHECK(ret >= 0);
	CHECK(back.dev_id == info.dev_id && back.nr_hw_queues == 1);
	CHECK(back.queue_depth == 32 && back.max_io_buf_bytes == 512 * 1024);

	cmd.addr = 0;
	cmd.len = 0;
	ret = ctrl_cmd_either(c, PEP_UBLK_U_CMD_DEL_DEV, PEP_UBLK_CMD_DEL_DEV, &cmd);
	CHECK(ret >= 0);
	CHECK(wait_for_node(node, 0) == 0);
	printf("added, queried and deleted %s\n", node);
	return T_PASS;
}

static int test_control_plane(void)
{
	struct pep_ublksrv_ctrl_cmd cmd = { .dev_id = (uint32_t)-1,
					    .queue_id = 0xffff, .len = 8 };
	struct ctrl c;
	uint64_t features = 0;
	int ret, rc;

	c.fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (c.fd < 0) {
		printf("SKIP: open /dev/ublk-control: %s\n", strerror(errno));
		return T_SKIP;
	}
	ret = io_uring_queue_init(4, &c.ring, IORING_SETUP_SQE128);
	if (ret == -EPERM || ret == -ENOSYS || ret == -EINVAL) {
		printf("SKIP: io_uring with SQE128 unavailable: %s\n", strerror(-ret));
		close(c.fd);
		return T_SKIP;
	}
	CHECK(ret == 0);
	cmd.addr = (uintptr_t)&features;
	ret = ctrl_cmd(&c, PEP_UBLK_U_CMD_GET_FEATURES, &cmd);
	c.legacy = 0;
	c.encoded_works = ret >= 0;
	if (ret >= 0)
		printf("GET_FEATURES: 0x%llx\n", (unsigned long long)features);
	else
		printf("GET_FEATURES: %s (kernel before 6.5: legacy commands)\n",
		       strerror(-ret));
	rc = add_info_delete(&c);
	io_uring_queue_exit(&c.ring);
	close(c.fd);
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	t_run("constants", test_constants, &rc);
	if (access("/dev/ublk-control", F_OK) != 0) {
		printf("SKIP: no /dev/ublk-control (CONFIG_BLK_DEV_UBLK not set?)\n");
		return rc == T_PASS ? T_SKIP : rc;
	}
	if (t_run("control_plane", test_control_plane, &rc) == T_SKIP && rc == T_PASS)
		return T_SKIP;
	return rc;
}
