/*
 * Private copy of the ublk control ABI (include/uapi/linux/ublk_cmd.h).
 * Debian 12's linux-libc-dev (6.1) lacks the ioctl-encoded command numbers
 * (6.4+) and newer fields, so pepita carries its own, checked below and in
 * tests against the documented values.
 */
#ifndef PEPITA_UAPI_UBLK_CMD_H
#define PEPITA_UAPI_UBLK_CMD_H

#include <stdint.h>

/* Legacy command numbers: the raw cmd_op of kernels before 6.4. */
#define PEP_UBLK_CMD_GET_QUEUE_AFFINITY	0x01
#define PEP_UBLK_CMD_GET_DEV_INFO	0x02
#define PEP_UBLK_CMD_ADD_DEV		0x04
#define PEP_UBLK_CMD_DEL_DEV		0x05
#define PEP_UBLK_CMD_START_DEV		0x06
#define PEP_UBLK_CMD_STOP_DEV		0x07
#define PEP_UBLK_CMD_SET_PARAMS		0x08
#define PEP_UBLK_CMD_GET_PARAMS		0x09

/*
 * ioctl-encoded forms (6.4+): _IOR/_IOWR('u', nr, 32-byte ctrl cmd), i.e.
 * 0x802075nn and 0xc02075nn. GET_FEATURES exists from 6.5 only.
 */
#define PEP_UBLK_IOR(nr)		(0x80207500u | (nr))
#define PEP_UBLK_IOWR(nr)		(0xc0207500u | (nr))
#define PEP_UBLK_U_CMD_GET_DEV_INFO	PEP_UBLK_IOR(0x02)
#define PEP_UBLK_U_CMD_ADD_DEV		PEP_UBLK_IOWR(0x04)
#define PEP_UBLK_U_CMD_DEL_DEV		PEP_UBLK_IOWR(0x05)
#define PEP_UBLK_U_CMD_GET_FEATURES	PEP_UBLK_IOR(0x13)

/* Device states in ublksrv_ctrl_dev_info.state. */
#define PEP_UBLK_S_DEV_DEAD		0
#define PEP_UBLK_S_DEV_LIVE		1
#define PEP_UBLK_S_DEV_QUIESCED		2

/* The control payload, in the SQE's command area (offset 48). */
struct pep_ublksrv_ctrl_cmd {
	uint32_t dev_id;
	uint16_t queue_id;		/* 0xffff unless a queue command */
	uint16_t len;			/* bytes at addr */
	uint64_t addr;
	uint64_t data[1];
	uint16_t dev_path_len;
	uint16_t pad;
	uint32_t reserved;
};

struct pep_ublksrv_ctrl_dev_info {
	uint16_t nr_hw_queues;
	uint16_t queue_depth;
	uint16_t state;
	uint16_t pad0;
	uint32_t max_io_buf_bytes;
	uint32_t dev_id;
	int32_t ublksrv_pid;
	uint32_t pad1;
	uint64_t flags;
	uint64_t ublksrv_flags;
	uint32_t owner_uid;
	uint32_t owner_gid;
	uint64_t reserved1;
	uint64_t reserved2;
};

_Static_assert(sizeof(struct pep_ublksrv_ctrl_cmd) == 32, "ublksrv_ctrl_cmd");
_Static_assert(sizeof(struct pep_ublksrv_ctrl_dev_info) == 64,
	       "ublksrv_ctrl_dev_info");
_Static_assert(__builtin_offsetof(struct pep_ublksrv_ctrl_dev_info, dev_id) == 12,
	       "dev_info.dev_id");
_Static_assert(__builtin_offsetof(struct pep_ublksrv_ctrl_dev_info, flags) == 24,
	       "dev_info.flags");
_Static_assert(__builtin_offsetof(struct pep_ublksrv_ctrl_dev_info, owner_uid) == 40,
	       "dev_info.owner_uid");

#endif /* PEPITA_UAPI_UBLK_CMD_H */
