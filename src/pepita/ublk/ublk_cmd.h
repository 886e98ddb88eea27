/*
 * The ublk ABI (include/uapi/linux/ublk_cmd.h). What the system's
 * <linux/ublk_cmd.h> has comes from it (I/O descriptors and commands, the
 * basic and discard parameters, the legacy command numbers); what older
 * headers lack lives here: the ioctl-encoded command numbers (6.4+), newer
 * feature flags and states, the devt parameters (6.2+), and the control
 * structs under the names newer kernels give their fields (6.1 calls
 * owner_uid/gid "reserved0" and dev_path_len "data[1]"). Checked at
 * compile time below and against the documented values in tests.
 */
#ifndef PEPITA_UAPI_UBLK_CMD_H
#define PEPITA_UAPI_UBLK_CMD_H

/* pepita's own, and its ABI test's (tests/pepita/ublk-control.c). */
#if !defined(PEP_BUILDING_LIBRARY) && !defined(PEP_TESTING_UBLK_ABI)
#error "ublk/ublk_cmd.h is pepita's own; include <pepita/ublk.h> instead"
#endif

#include <stdint.h>

#if __has_include(<linux/ublk_cmd.h>)
#include <linux/ublk_cmd.h>
#else
/*
 * Headers before 6.0 (Ubuntu 22.04 on a Jetson: 5.15) have no ublk at
 * all; the kernel has no driver either, but the code still builds.
 */
#define UBLK_CMD_ADD_DEV		0x04
#define UBLK_IO_FETCH_REQ		0x20
#define UBLK_IO_COMMIT_AND_FETCH_REQ	0x21
#define UBLK_IO_RES_OK			0
#define UBLK_F_USER_RECOVERY		(1ULL << 3)
#define UBLK_S_DEV_QUIESCED		2
#define UBLK_ATTR_READ_ONLY		(1 << 0)
#define UBLK_ATTR_ROTATIONAL		(1 << 1)
#define UBLK_ATTR_VOLATILE_CACHE	(1 << 2)
#define UBLK_ATTR_FUA			(1 << 3)

struct ublksrv_ctrl_cmd {
	uint32_t dev_id;
	uint16_t queue_id;
	uint16_t len;
	uint64_t addr;
	uint64_t data[2];
};

struct ublksrv_ctrl_dev_info {
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
	uint64_t reserved0;
	uint64_t reserved1;
	uint64_t reserved2;
};

struct ublksrv_io_desc {
	uint32_t op_flags;
	uint32_t nr_sectors;
	uint64_t start_sector;
	uint64_t addr;
};

struct ublksrv_io_cmd {
	uint16_t q_id;
	uint16_t tag;
	int32_t result;
	uint64_t addr;
};

struct ublk_param_basic {
	uint32_t attrs;
	uint8_t logical_bs_shift;
	uint8_t physical_bs_shift;
	uint8_t io_opt_shift;
	uint8_t io_min_shift;
	uint32_t max_sectors;
	uint32_t chunk_sectors;
	uint64_t dev_sectors;
	uint64_t virt_boundary_mask;
};

struct ublk_param_discard {
	uint32_t discard_alignment;
	uint32_t discard_granularity;
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
	uint16_t max_discard_segments;
	uint16_t reserved0;
};
#endif

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

#define PEP_UBLK_U_CMD_GET_QUEUE_AFFINITY	PEP_UBLK_IOR(0x01)
#define PEP_UBLK_U_CMD_START_DEV	PEP_UBLK_IOWR(0x06)
#define PEP_UBLK_U_CMD_STOP_DEV		PEP_UBLK_IOWR(0x07)
#define PEP_UBLK_U_CMD_SET_PARAMS	PEP_UBLK_IOWR(0x08)
#define PEP_UBLK_U_CMD_GET_PARAMS	PEP_UBLK_IOR(0x09)
#define PEP_UBLK_U_CMD_START_USER_RECOVERY PEP_UBLK_IOWR(0x10)
#define PEP_UBLK_U_CMD_END_USER_RECOVERY PEP_UBLK_IOWR(0x11)
#define PEP_UBLK_CMD_START_USER_RECOVERY 0x10
#define PEP_UBLK_CMD_END_USER_RECOVERY	0x11

/* I/O commands: legacy 0x20.., encoded _IOWR('u', nr, 16-byte io cmd). */
#define PEP_UBLK_IO_FETCH_REQ		0x20
#define PEP_UBLK_IO_COMMIT_AND_FETCH_REQ 0x21
#define PEP_UBLK_U_IO_FETCH_REQ		(0xc0107500u | 0x20)
#define PEP_UBLK_U_IO_COMMIT_AND_FETCH_REQ (0xc0107500u | 0x21)

/* Feature flags (dev_info.flags) the 6.1 header lacks. */
#define PEP_UBLK_F_USER_RECOVERY	(1ull << 3)
#define PEP_UBLK_F_USER_RECOVERY_REISSUE (1ull << 4)
#define PEP_UBLK_F_UNPRIVILEGED_DEV	(1ull << 5)
#define PEP_UBLK_F_CMD_IOCTL_ENCODE	(1ull << 6)
#define PEP_UBLK_F_USER_COPY		(1ull << 7)

/* Device states in ublksrv_ctrl_dev_info.state. */
#define PEP_UBLK_S_DEV_DEAD		0
#define PEP_UBLK_S_DEV_LIVE		1
#define PEP_UBLK_S_DEV_QUIESCED		2
#define PEP_UBLK_S_DEV_FAIL_IO		3

/* Descriptor array: one per queue, at a stride of the maximum depth. */
#define PEP_UBLK_DESC_SIZE		24
#define PEP_UBLK_MAX_QUEUE_DEPTH	4096

/* The devt parameters (6.2+), and ublk_params with them. */
#define PEP_UBLK_PARAM_TYPE_BASIC	(1u << 0)
#define PEP_UBLK_PARAM_TYPE_DISCARD	(1u << 1)
#define PEP_UBLK_PARAM_TYPE_DEVT	(1u << 2)

struct pep_ublk_param_devt {
	uint32_t char_major;
	uint32_t char_minor;
	uint32_t disk_major;
	uint32_t disk_minor;
};

struct pep_ublk_params_abi {
	uint32_t len;
	uint32_t types;
	struct ublk_param_basic basic;
	struct ublk_param_discard discard;
	struct pep_ublk_param_devt devt;
};

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

/* The prefix up to devt; the struct itself pads to 80 for its u64s. */
#define PEP_UBLK_PARAMS_LEN 76
_Static_assert(__builtin_offsetof(struct pep_ublk_params_abi, devt) +
	       sizeof(struct pep_ublk_param_devt) == PEP_UBLK_PARAMS_LEN,
	       "ublk_params up to devt");
_Static_assert(__builtin_offsetof(struct pep_ublk_params_abi, basic) == 8, "params.basic");
_Static_assert(__builtin_offsetof(struct pep_ublk_params_abi, discard) == 40,
	       "params.discard");
_Static_assert(__builtin_offsetof(struct pep_ublk_params_abi, devt) == 60, "params.devt");
_Static_assert(sizeof(struct ublksrv_io_desc) == PEP_UBLK_DESC_SIZE, "io_desc");
_Static_assert(sizeof(struct ublksrv_io_cmd) == 16, "io_cmd");
/* What both the system header and ours define must agree. */
_Static_assert(sizeof(struct ublksrv_ctrl_cmd) == sizeof(struct pep_ublksrv_ctrl_cmd),
	       "ctrl_cmd size, system header vs ours");
_Static_assert(sizeof(struct ublksrv_ctrl_dev_info) ==
	       sizeof(struct pep_ublksrv_ctrl_dev_info), "dev_info size");
_Static_assert(UBLK_CMD_ADD_DEV == PEP_UBLK_CMD_ADD_DEV, "ADD_DEV number");
_Static_assert(UBLK_IO_FETCH_REQ == PEP_UBLK_IO_FETCH_REQ, "FETCH_REQ number");
_Static_assert(UBLK_IO_COMMIT_AND_FETCH_REQ == PEP_UBLK_IO_COMMIT_AND_FETCH_REQ,
	       "COMMIT_AND_FETCH_REQ number");
_Static_assert(UBLK_F_USER_RECOVERY == PEP_UBLK_F_USER_RECOVERY, "F_USER_RECOVERY");
_Static_assert(UBLK_S_DEV_QUIESCED == PEP_UBLK_S_DEV_QUIESCED, "S_DEV_QUIESCED");

#endif /* PEPITA_UAPI_UBLK_CMD_H */
