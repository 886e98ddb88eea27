/*
 * Turning the kernel's I/O descriptors into requests: every operation a
 * target takes, the ones none takes, ranges at and past the end of the
 * device (with overflowing sector numbers), buffers too small. Pure logic:
 * no driver needed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <pepita/blkmq.h>
#include <pepita/ublk.h>

#include "harness.h"

#define SIZE (1ull << 30)
#define MAX_IO (512u * 1024)

static char buf[1];

static int decode(uint32_t op_flags, uint32_t nr, uint64_t start,
		  struct pep_blk_req *r)
{
	return pep_ublk_decode(op_flags, nr, start, SIZE, MAX_IO, buf, r);
}

static int test_operations(void)
{
	struct pep_blk_req r;

	CHECK(decode(PEP_BLK_OP_READ, 8, 16, &r) == 0);
	CHECK(r.op == PEP_BLK_OP_READ && r.offset == 8192 && r.len == 4096 && r.buf == buf);
	CHECK(decode(PEP_BLK_OP_WRITE | PEP_BLK_F_FUA, 1, 0, &r) == 0);
	CHECK(r.op == PEP_BLK_OP_WRITE && r.flags == PEP_BLK_F_FUA && r.len == 512);
	CHECK(decode(PEP_BLK_OP_FLUSH, 0, 0, &r) == 0 && r.op == PEP_BLK_OP_FLUSH && !r.buf);
	/* a flush's position is whatever the block layer left there */
	CHECK(decode(PEP_BLK_OP_FLUSH, 0, UINT64_MAX, &r) == 0 && r.offset == 0 && !r.len);
	CHECK(decode(PEP_BLK_OP_DISCARD, 1 << 20, 0, &r) == 0 && r.len == 512u << 20);
	CHECK(!r.buf);
	CHECK(decode(PEP_BLK_OP_WRITE_ZEROES | PEP_BLK_F_NOUNMAP, 8, 8, &r) == 0);
	CHECK(r.flags == PEP_BLK_F_NOUNMAP);
	/* WRITE_SAME (4), zone ops and anything else: no target takes them */
	CHECK(decode(4, 8, 0, &r) == -EOPNOTSUPP);
	CHECK(decode(13, 8, 0, &r) == -EOPNOTSUPP);
	CHECK(decode(0xff, 8, 0, &r) == -EOPNOTSUPP);
	return T_PASS;
}

static int test_ranges(void)
{
	struct pep_blk_req r;
	uint64_t last = (SIZE >> 9) - 1;

	CHECK(decode(PEP_BLK_OP_READ, 1, last, &r) == 0);
	CHECK(decode(PEP_BLK_OP_READ, 2, last, &r) == -EIO);
	CHECK(decode(PEP_BLK_OP_READ, 1, last + 1, &r) == -EIO);
	CHECK(decode(PEP_BLK_OP_READ, 1, UINT64_MAX, &r) == -EIO);
	CHECK(decode(PEP_BLK_OP_READ, 1, UINT64_MAX >> 9, &r) == -EIO);
	CHECK(decode(PEP_BLK_OP_DISCARD, UINT32_MAX, 0, &r) == -EIO);
	/* a READ or WRITE larger than the tag's buffer, or empty */
	CHECK(decode(PEP_BLK_OP_WRITE, MAX_IO / 512 + 1, 0, &r) == -EIO);
	CHECK(decode(PEP_BLK_OP_WRITE, MAX_IO / 512, 0, &r) == 0);
	CHECK(decode(PEP_BLK_OP_READ, 0, 0, &r) == -EIO);
	CHECK(pep_ublk_decode(PEP_BLK_OP_READ, 1, 0, SIZE, MAX_IO, NULL, &r) == -EIO);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("operations", test_operations, &rc);
	t_run("ranges", test_ranges, &rc);
	return rc;
}
