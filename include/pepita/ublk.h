/*
 * pepita/ublk.h - userspace block devices through the kernel's ublk
 * driver: the control plane (/dev/ublk-control, io_uring passthrough
 * commands in their ioctl-encoded form, falling back to the legacy numbers
 * on kernels before 6.4) and a server that serves a blkmq target as
 * /dev/ublkbN: one thread and one ring per hardware queue, the kernel's
 * descriptor array mmap'd, FETCH_REQ then COMMIT_AND_FETCH_REQ per tag,
 * a clean end when the device stops (-ENODEV).
 *
 * Threading: a control handle's commands may come from any thread; they
 * go out one at a time, and distinct handles (each device has its own)
 * never wait for each other. A device's queue threads are its own;
 * pep_ublk_dev_stop() may be called from any thread. Records are files:
 * one writer per device (its server), any number of readers.
 */
#ifndef PEPITA_UBLK_H
#define PEPITA_UBLK_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/blkmq.h>
#include <pepita/core.h>
#include <pepita/zram.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device states (dev_info.state). */
enum pep_ublk_state {
	PEP_UBLK_DEAD = 0,
	PEP_UBLK_LIVE = 1,
	PEP_UBLK_QUIESCED = 2,
	PEP_UBLK_FAIL_IO = 3,
};

/* "DEAD", "LIVE", "QUIESCED", "FAIL_IO", "?" */
PEP_API const char *pep_ublk_state_name(unsigned int state);

/* --- control plane -------------------------------------------------------- */

struct pep_ublk_ctrl;

/*
 * Open /dev/ublk-control with a ring for its commands. -ENODEV when the
 * kernel has no ublk driver (err says to load ublk_drv), -EACCES without
 * privileges, or the ring's error (io_uring unavailable).
 */
PEP_API int pep_ublk_ctrl_open(struct pep_ublk_ctrl **out, struct pep_err *err);
PEP_API void pep_ublk_ctrl_close(struct pep_ublk_ctrl *c);

/* UBLK_F_* the driver supports (GET_FEATURES, 6.5+); 0 when it cannot say. */
PEP_API uint64_t pep_ublk_ctrl_features(const struct pep_ublk_ctrl *c);

/* 1 when this kernel takes only the legacy command numbers (before 6.4). */
PEP_API int pep_ublk_ctrl_legacy(const struct pep_ublk_ctrl *c);

/* What dev_info says about a device. */
struct pep_ublk_info {
	int32_t id;			/* -1 on ADD: the kernel picks */
	uint16_t nr_queues;
	uint16_t depth;
	uint16_t state;			/* enum pep_ublk_state */
	uint32_t max_io_bytes;
	int32_t pid;			/* the server's */
	uint64_t flags;			/* UBLK_F_* */
	uint64_t user_flags;		/* ublksrv_flags: kept, never read by the
					   kernel */
	uint32_t owner_uid;
	uint32_t owner_gid;
};

/* Attributes (ublk_param_basic.attrs). */
#define PEP_UBLK_ATTR_READ_ONLY		(1u << 0)
#define PEP_UBLK_ATTR_ROTATIONAL	(1u << 1)
#define PEP_UBLK_ATTR_VOLATILE_CACHE	(1u << 2)
#define PEP_UBLK_ATTR_FUA		(1u << 3)

struct pep_ublk_params {
	uint64_t size;			/* bytes */
	uint32_t attrs;			/* PEP_UBLK_ATTR_* */
	uint8_t logical_bs_shift;	/* 9: 512-byte blocks */
	uint8_t physical_bs_shift;
	uint8_t io_opt_shift;
	uint8_t io_min_shift;
	uint32_t max_sectors;
	int discard;			/* the discard part below is valid */
	uint32_t discard_granularity;
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
	uint16_t max_discard_segments;
	int devt;			/* the devt part is valid (6.2+, read) */
	uint32_t char_major, char_minor;
	uint32_t disk_major, disk_minor;
};

PEP_API int pep_ublk_add(struct pep_ublk_ctrl *c, struct pep_ublk_info *info,
			 struct pep_err *err);
PEP_API int pep_ublk_del(struct pep_ublk_ctrl *c, int id, struct pep_err *err);
PEP_API int pep_ublk_start(struct pep_ublk_ctrl *c, int id, int pid,
			   struct pep_err *err);
PEP_API int pep_ublk_stop(struct pep_ublk_ctrl *c, int id, struct pep_err *err);
PEP_API int pep_ublk_get_info(struct pep_ublk_ctrl *c, int id,
			      struct pep_ublk_info *info, struct pep_err *err);
PEP_API int pep_ublk_set_params(struct pep_ublk_ctrl *c, int id,
				const struct pep_ublk_params *p,
				struct pep_err *err);
PEP_API int pep_ublk_get_params(struct pep_ublk_ctrl *c, int id,
				struct pep_ublk_params *p, struct pep_err *err);
PEP_API int pep_ublk_start_recovery(struct pep_ublk_ctrl *c, int id,
				    struct pep_err *err);
PEP_API int pep_ublk_end_recovery(struct pep_ublk_ctrl *c, int id, int pid,
				  struct pep_err *err);

/*
 * The ids of the ublk devices that exist, ascending, from
 * /sys/class/ublk-char. Returns how many (at most max are stored).
 */
PEP_API int pep_ublk_list_ids(int *ids, int max, struct pep_err *err);

/*
 * Turn a descriptor the kernel wrote into a request for a device of
 * dev_size bytes whose I/O buffers hold max_io_bytes: 0, -EOPNOTSUPP for
 * an operation no target takes, -EIO for a range past the end or larger
 * than the buffer. buf is the tag's buffer. The server completes a request
 * that fails here with that error, so a malformed descriptor never reaches
 * a target (fuzzed).
 */
PEP_API int pep_ublk_decode(uint32_t op_flags, uint32_t nr_sectors,
			    uint64_t start_sector, uint64_t dev_size,
			    uint32_t max_io_bytes, void *buf,
			    struct pep_blk_req *out);

/* --- the server ----------------------------------------------------------- */

struct pep_ublk_dev_opts {
	struct pep_blk_target *target;	/* served; stays the caller's */
	int id;				/* -1: the kernel picks */
	unsigned int nr_queues;		/* 0 = 1 */
	unsigned int depth;		/* 0 = 64; at most 4096 */
	uint32_t max_io_bytes;		/* 0 = 512 KiB */
	int recovery;			/* UBLK_F_USER_RECOVERY: survive the
					   server's death, queued I/O waits */
	uint64_t user_flags;		/* stored in dev_info.ublksrv_flags */
};

struct pep_ublk_dev;

/*
 * Add the device and set its parameters from the target (size, block
 * size, discard, cache, read-only). Nothing is left behind on failure.
 * -EINVAL (err names the option) for a depth or queue count out of
 * range, -ENODEV without a driver.
 */
PEP_API int pep_ublk_dev_create(struct pep_ublk_dev **out,
				const struct pep_ublk_dev_opts *opts,
				struct pep_err *err);

/*
 * Start serving: one thread per queue, each with its ring; returns when
 * /dev/ublkbN exists. On failure the device is stopped.
 */
PEP_API int pep_ublk_dev_start(struct pep_ublk_dev *dev, struct pep_err *err);

/*
 * Serve a device that was added with recovery and whose server died
 * (QUIESCED): START_USER_RECOVERY, new queue threads, END_USER_RECOVERY.
 * opts->id names the device; its queue count and depth come from the
 * kernel.
 */
PEP_API int pep_ublk_dev_recover(struct pep_ublk_dev **out,
				 const struct pep_ublk_dev_opts *opts,
				 struct pep_err *err);

PEP_API int pep_ublk_dev_id(const struct pep_ublk_dev *dev);

/* What the kernel granted: 6.1 caps the queues at one per CPU. */
PEP_API unsigned int pep_ublk_dev_queues(const struct pep_ublk_dev *dev);
PEP_API unsigned int pep_ublk_dev_depth(const struct pep_ublk_dev *dev);

/* Whether every queue thread has ended (the device was stopped). */
PEP_API int pep_ublk_dev_stopped(const struct pep_ublk_dev *dev);

/* STOP_DEV: the queue threads end as their commands abort. Any thread. */
PEP_API int pep_ublk_dev_stop(struct pep_ublk_dev *dev, struct pep_err *err);

/* Stop when running, join the threads, DEL_DEV, free. NULL does nothing. */
PEP_API void pep_ublk_dev_destroy(struct pep_ublk_dev *dev);

struct pep_ublk_stats {
	uint64_t requests;		/* completed */
	uint64_t errors;		/* completed with an error */
	uint64_t tag_collisions;	/* a tag the kernel handed out twice */
	uint64_t bad_descriptors;	/* refused by pep_ublk_decode */
};

PEP_API void pep_ublk_dev_stats(const struct pep_ublk_dev *dev,
				struct pep_ublk_stats *out);

/*
 * What a server remembers of a device it serves, one JSON file per device
 * (DIR/ID.json), written whole or not at all: how its target was made, so
 * that a new server can take the device over after the old one died
 * (user recovery needs the same target again), and the counters, which a
 * server refreshes while it serves, for whoever lists the devices.
 */
#define PEP_UBLK_RECORD_PATH_MAX	4096

struct pep_ublk_record {
	int id;
	int pid;				/* the server's */
	char target[16];			/* "null", "ram", "loop", "zram" */
	char file[PEP_UBLK_RECORD_PATH_MAX];	/* loop's backing file; "" */
	char comp[16];				/* zram's compressor; "": lz4 */
	uint64_t size;				/* bytes */
	unsigned int queues;
	unsigned int depth;
	int read_only;
	int recovery;
	int has_stats;
	struct pep_ublk_stats stats;
	int has_zram;				/* a zram target's store */
	struct pep_zram_mm_stat zram;
};

/* Create DIR (and its parents) when missing; replace r->id's record. */
PEP_API int pep_ublk_record_save(const char *dir,
				 const struct pep_ublk_record *r,
				 struct pep_err *err);
/* -ENOENT without one; -EBADMSG naming the field of a damaged one. */
PEP_API int pep_ublk_record_load(const char *dir, int id,
				 struct pep_ublk_record *r,
				 struct pep_err *err);
PEP_API int pep_ublk_record_remove(const char *dir, int id);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_UBLK_H */
