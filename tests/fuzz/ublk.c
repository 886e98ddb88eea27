/*
 * libFuzzer target for the ublk server's descriptor handling: each 16-byte
 * record of the input is a descriptor as the kernel would write it
 * (op_flags, nr_sectors, start_sector), decoded for a 1 MiB device with
 * 64 KiB buffers and, when valid, dispatched to a ram target. Malformed
 * operations and ranges must come back as errors and nothing may touch
 * memory outside the device or the tag's buffer (ASan watches both: the
 * buffer is allocated at exactly its size). Built by scripts/fuzz.sh,
 * replayed over its corpus by tests/fuzz/replay.c everywhere.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/blkmq.h>
#include <pepita/ublk.h>

#define DEV_SIZE (1u << 20)
#define MAX_IO (64u * 1024)

static void done(struct pep_blk_io *io, int result)
{
	*(int *)io->server = result;
}

static void one(struct pep_blk_target *t, char *buf, const uint8_t *rec)
{
	struct pep_blk_queue q = { .qid = 0, .depth = 1 };
	struct pep_blk_io io = { .q = &q, .done = done };
	uint32_t op_flags, nr;
	uint64_t start;
	int result = 1, ret;

	memcpy(&op_flags, rec, 4);
	memcpy(&nr, rec + 4, 4);
	memcpy(&start, rec + 8, 8);
	io.server = &result;
	ret = pep_ublk_decode(op_flags, nr, start, DEV_SIZE, MAX_IO, buf, &io.req);
	if (ret < 0) {
		if (ret != -EIO && ret != -EOPNOTSUPP)
			abort();
		return;
	}
	if (io.req.offset + io.req.len > DEV_SIZE)
		abort();		/* decode let a range past the end through */
	ret = pep_blk_dispatch(t, &io);
	if (ret == 0 && result == 1)
		abort();		/* "finished" without completing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pep_blk_target *t;
	char *buf;

	if (!t && pep_blk_ram_create(&t, DEV_SIZE, NULL) < 0)
		abort();
	buf = malloc(MAX_IO);
	if (!buf)
		return 0;
	for (size_t off = 0; off + 16 <= size; off += 16)
		one(t, buf, data + off);
	free(buf);
	return 0;
}
