/*
 * What the ublk control plane, queue threads and server share. Not
 * installed.
 */
#ifndef PEPITA_UBLK_PRIV_H
#define PEPITA_UBLK_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "include <pepita/ublk.h> instead"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <pepita/blkmq.h>
#include <pepita/ublk.h>
#include <pepita/uring.h>

#include "ublk/ublk_cmd.h"

struct pep_ublk_dev;

/* One hardware queue: its thread, ring, descriptors, buffers, requests. */
struct ublk_queue {
	struct pep_ublk_dev *dev;
	unsigned int qid;
	unsigned int depth;
	pthread_t thread;
	int thread_started;
	struct pep_uring *ring;
	const struct ublksrv_io_desc *descs;	/* mmap'd, read-only */
	size_t descs_len;
	char *bufs;				/* depth x max_io_bytes */
	size_t bufs_len;
	struct pep_blk_io *ios;			/* by tag */
	struct pep_blk_queue bq;		/* what the target sees */
	unsigned int live;			/* tags with a command outstanding */
	int aborted;				/* the server gave up on the device */
	int failed;				/* set-up failed: err says why */
	struct pep_err err;
	atomic_int ready;			/* FETCHes submitted (1) or failed (-1) */
};

struct pep_ublk_dev {
	struct pep_ublk_ctrl *ctrl;
	struct pep_blk_target *target;
	struct pep_blk_tagset *tags;
	int id;
	int char_fd;
	unsigned int nr_queues;
	unsigned int depth;
	uint32_t max_io_bytes;
	int encoded_io;				/* encoded I/O command numbers */
	int wake_fd;				/* eventfd: written to end the queue
						   threads when the driver cannot
						   (a start that failed half-way) */
	atomic_int started;			/* read by pep_ublk_dev_stop() */
	atomic_int stopping;			/* from any thread */
	atomic_uint queues_done;
	struct ublk_queue *queues;
	_Atomic uint64_t requests, errors, collisions, bad_descs;
};

/* user_data of each queue's poll on wake_fd */
#define UBLK_UDATA_WAKE (1ull << 61)

/* queue.c: set up a queue (ring, mmap, buffers) and run its thread. */
int ublk_queue_init(struct pep_ublk_dev *dev, struct ublk_queue *q,
		    unsigned int qid, struct pep_err *err);
void ublk_queue_exit(struct ublk_queue *q);
void *ublk_queue_thread(void *arg);

#endif /* PEPITA_UBLK_PRIV_H */
