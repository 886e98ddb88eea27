/*
 * pepita blkmq: tag sets against a reference bitmap and under threads
 * racing for the same tags (a tag is never held twice), request checks at
 * their edges, dispatch, and the null and ram targets against a reference
 * buffer. No io_uring, so it runs anywhere, under qemu-aarch64 too; the
 * loop target has its own host test (blkmq-loop.c).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pepita/blkmq.h>

#include "harness.h"

/* xorshift64*: reproducible, and each thread has its own. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* --- tag sets ----------------------------------------------------------- */

static int test_tagset_limits(void)
{
	struct pep_blk_tagset *ts = NULL;
	struct pep_err err;

	CHECK(pep_blk_tagset_create(&ts, 0, 64, &err) == -EINVAL);
	CHECK(err.code == -EINVAL && strstr(err.msg, "nr_queues 0"));
	CHECK(pep_blk_tagset_create(&ts, PEP_BLK_MAX_QUEUES + 1, 64, &err) ==
	      -EINVAL);
	CHECK(strstr(err.msg, "nr_queues 4097"));
	CHECK(pep_blk_tagset_create(&ts, 1, 0, &err) == -EINVAL);
	CHECK(strstr(err.msg, "depth 0"));
	CHECK(pep_blk_tagset_create(&ts, 1, PEP_BLK_MAX_DEPTH + 1, &err) ==
	      -EINVAL);
	CHECK(strstr(err.msg, "depth 4097"));
	CHECK(pep_blk_tagset_create(&ts, 1, 64, NULL) == 0);
	CHECK(pep_blk_tagset_queues(ts) == 1 && pep_blk_tagset_depth(ts) == 64);
	/* bad qid and tag: rejected, nothing changes */
	CHECK(pep_blk_tag_get(ts, 1) == -EINVAL);
	CHECK(pep_blk_tag_claim(ts, 1, 0) == -EINVAL);
	CHECK(pep_blk_tag_claim(ts, 0, 64) == -EINVAL);
	CHECK(pep_blk_tag_put(ts, 0, 64) == -EINVAL);
	CHECK(pep_blk_tag_put(ts, 1, 0) == -EINVAL);
	CHECK(pep_blk_tags_busy(ts, 0) == 0 && pep_blk_tags_busy(ts, 1) == 0);
	pep_blk_tagset_destroy(ts);
	pep_blk_tagset_destroy(NULL);
	/* the largest set the kernel allows */
	CHECK(pep_blk_tagset_create(&ts, PEP_BLK_MAX_QUEUES, PEP_BLK_MAX_DEPTH,
				    &err) == 0);
	CHECK(pep_blk_tag_claim(ts, PEP_BLK_MAX_QUEUES - 1,
				PEP_BLK_MAX_DEPTH - 1) == 0);
	CHECK(pep_blk_tags_busy(ts, PEP_BLK_MAX_QUEUES - 1) == 1);
	CHECK(pep_blk_tags_busy(ts, 0) == 0);
	pep_blk_tagset_destroy(ts);
	return T_PASS;
}

/* Fill a queue with get, check each tag once, drain it, check the edges. */
static int fill_and_drain(unsigned int depth)
{
	struct pep_blk_tagset *ts;
	bool *seen = calloc(depth, sizeof(*seen));
	int tag;

	CHECK(seen);
	CHECK(pep_blk_tagset_create(&ts, 2, depth, NULL) == 0);
	for (unsigned int i = 0; i < depth; i++) {
		tag = pep_blk_tag_get(ts, 1);
		CHECK(tag >= 0 && (unsigned int)tag < depth && !seen[tag]);
		seen[tag] = true;
	}
	CHECK(pep_blk_tag_get(ts, 1) == -EBUSY);
	CHECK(pep_blk_tags_busy(ts, 1) == depth);
	CHECK(pep_blk_tags_busy(ts, 0) == 0);	/* queues are separate */
	CHECK(pep_blk_tag_claim(ts, 1, depth - 1) == -EBUSY);
	/* free one in the middle of a word boundary: get finds exactly it */
	CHECK(pep_blk_tag_put(ts, 1, depth / 2) == 0);
	CHECK(pep_blk_tag_put(ts, 1, depth / 2) == -EINVAL);
	CHECK(pep_blk_tag_get(ts, 1) == (int)(depth / 2));
	for (unsigned int t = 0; t < depth; t++)
		CHECK(pep_blk_tag_put(ts, 1, t) == 0);
	CHECK(pep_blk_tags_busy(ts, 1) == 0);
	for (unsigned int t = 0; t < depth; t++)
		CHECK(pep_blk_tag_put(ts, 1, t) == -EINVAL);
	/* claim then get never hands out the claimed tag */
	CHECK(pep_blk_tag_claim(ts, 1, 0) == 0);
	CHECK(pep_blk_tag_claim(ts, 1, 0) == -EBUSY);
	for (unsigned int i = 1; i < depth; i++)
		CHECK(pep_blk_tag_get(ts, 1) > 0);
	CHECK(pep_blk_tag_get(ts, 1) == -EBUSY);
	pep_blk_tagset_destroy(ts);
	free(seen);
	return T_PASS;
}

static int test_tag_depths(void)
{
	static const unsigned int depths[] = {
		1, 2, 63, 64, 65, 127, 128, 129, 1000, PEP_BLK_MAX_DEPTH
	};

	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		if (fill_and_drain(depths[i]) != T_PASS) {
			fprintf(stderr, "  at depth %u\n", depths[i]);
			return T_FAIL;
		}
	}
	return T_PASS;
}

/* get starts after the last tag it handed out (sbitmap's hint), wrapping. */
static int test_tag_hint(void)
{
	struct pep_blk_tagset *ts;

	CHECK(pep_blk_tagset_create(&ts, 1, 130, NULL) == 0);
	for (int want = 0; want < 130; want++) {
		int tag = pep_blk_tag_get(ts, 0);

		CHECK(tag == want);
		CHECK(pep_blk_tag_put(ts, 0, (unsigned int)tag) == 0);
	}
	CHECK(pep_blk_tag_get(ts, 0) == 0);	/* wrapped */
	/* the tag after the hint is taken: the next free one after it */
	CHECK(pep_blk_tag_claim(ts, 0, 1) == 0);
	CHECK(pep_blk_tag_claim(ts, 0, 2) == 0);
	CHECK(pep_blk_tag_get(ts, 0) == 3);
	pep_blk_tagset_destroy(ts);
	return T_PASS;
}

/* Random get/claim/put against a plain bool array, as SQLite tests Bitvec. */
static int test_tag_model(void)
{
	enum { DEPTH = 200, OPS = 200000 };
	struct pep_blk_tagset *ts;
	bool held[DEPTH] = { false };
	unsigned int nheld = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	CHECK(pep_blk_tagset_create(&ts, 3, DEPTH, NULL) == 0);
	for (int i = 0; i < OPS; i++) {
		unsigned int t = (unsigned int)(rnd(&seed) % DEPTH);
		int r;

		switch (rnd(&seed) % 3) {
		case 0:
			r = pep_blk_tag_get(ts, 2);
			if (nheld == DEPTH) {
				CHECK(r == -EBUSY);
				break;
			}
			CHECK(r >= 0 && r < DEPTH && !held[r]);
			held[r] = true;
			nheld++;
			break;
		case 1:
			r = pep_blk_tag_claim(ts, 2, t);
			CHECK(r == (held[t] ? -EBUSY : 0));
			if (!held[t])
				nheld++;
			held[t] = true;
			break;
		default:
			r = pep_blk_tag_put(ts, 2, t);
			CHECK(r == (held[t] ? 0 : -EINVAL));
			if (held[t])
				nheld--;
			held[t] = false;
			break;
		}
		CHECK(pep_blk_tags_busy(ts, 2) == nheld);
	}
	CHECK(pep_blk_tags_busy(ts, 0) == 0 && pep_blk_tags_busy(ts, 1) == 0);
	pep_blk_tagset_destroy(ts);
	return T_PASS;
}

/*
 * Threads race for the tags of a few queues with get/put and claim/put.
 * Each (queue, tag) has an owner slot: whoever gets a tag swaps itself in
 * and must find it empty, and swaps itself out before putting it back.
 * A tag handed out twice shows as a non-empty slot. Threads hold up to
 * ST_HOLD tags and put one a third of the time, so together they hold
 * more than a queue's depth (two words, across the 64 boundary): queues
 * run full and get races through the whole bitmap.
 */
enum { ST_THREADS = 8, ST_QUEUES = 2, ST_DEPTH = 70, ST_HOLD = 32,
       ST_OPS = 1000000 / ST_THREADS };

struct stress {
	struct pep_blk_tagset *ts;
	atomic_int owner[ST_QUEUES][ST_DEPTH];
	atomic_int failed;
	atomic_long gets, claims, busy;
};

struct stress_thread {
	struct stress *s;
	int id;				/* 1.. */
	pthread_t th;
};

struct held_tag {
	unsigned int q, tag;
};

static void stress_fail(struct stress *s, const char *what, unsigned int q,
			unsigned int tag, int got)
{
	if (atomic_exchange(&s->failed, 1) == 0)
		fprintf(stderr, "stress: %s: queue %u tag %u (%d)\n", what, q,
			tag, got);
}

static void stress_take(struct stress *s, int id, unsigned int q,
			unsigned int tag, struct held_tag *held, int *n)
{
	int prev = atomic_exchange(&s->owner[q][tag], id);

	if (prev != 0)
		stress_fail(s, "tag held twice", q, tag, prev);
	held[(*n)++] = (struct held_tag){ q, tag };
}

static void stress_put(struct stress *s, int id, struct held_tag h)
{
	int prev = atomic_exchange(&s->owner[h.q][h.tag], 0);
	int r;

	if (prev != id)
		stress_fail(s, "owner changed under us", h.q, h.tag, prev);
	r = pep_blk_tag_put(s->ts, h.q, h.tag);
	if (r != 0)
		stress_fail(s, "put of a held tag", h.q, h.tag, r);
}

static void stress_step(struct stress_thread *st, uint64_t *seed,
			struct held_tag *held, int *n)
{
	struct stress *s = st->s;
	unsigned int q = (unsigned int)(rnd(seed) % ST_QUEUES);
	uint64_t r = rnd(seed);
	int tag;

	if (*n == ST_HOLD || (*n > 0 && r % 3 == 0)) {
		int i = (int)((r >> 8) % (uint64_t)*n);

		stress_put(s, st->id, held[i]);
		held[i] = held[--*n];
		return;
	}
	if (r % 2 == 1) {
		tag = pep_blk_tag_get(s->ts, q);
		if (tag >= 0) {
			atomic_fetch_add_explicit(&s->gets, 1,
						  memory_order_relaxed);
			stress_take(s, st->id, q, (unsigned int)tag, held, n);
		} else if (tag == -EBUSY) {
			atomic_fetch_add_explicit(&s->busy, 1,
						  memory_order_relaxed);
		} else {
			stress_fail(s, "get", q, 0, tag);
		}
		return;
	}
	tag = (int)((r >> 8) % ST_DEPTH);
	switch (pep_blk_tag_claim(s->ts, q, (unsigned int)tag)) {
	case 0:
		atomic_fetch_add_explicit(&s->claims, 1, memory_order_relaxed);
		stress_take(s, st->id, q, (unsigned int)tag, held, n);
		break;
	case -EBUSY:
		break;
	default:
		stress_fail(s, "claim", q, (unsigned int)tag, -1);
	}
}

static void *stress_main(void *arg)
{
	struct stress_thread *st = arg;
	struct held_tag held[ST_HOLD];
	uint64_t seed = 0x1234567ull * (uint64_t)st->id + 1;
	int n = 0;

	for (int i = 0; i < ST_OPS && !atomic_load(&st->s->failed); i++)
		stress_step(st, &seed, held, &n);
	while (n > 0)
		stress_put(st->s, st->id, held[--n]);
	return NULL;
}

static int test_tag_stress(void)
{
	static struct stress s;		/* 1200 owner slots: off the stack */
	struct stress_thread th[ST_THREADS];

	memset(&s, 0, sizeof(s));
	CHECK(pep_blk_tagset_create(&s.ts, ST_QUEUES, ST_DEPTH, NULL) == 0);
	for (int i = 0; i < ST_THREADS; i++) {
		th[i] = (struct stress_thread){ .s = &s, .id = i + 1 };
		CHECK(pthread_create(&th[i].th, NULL, stress_main, &th[i]) == 0);
	}
	for (int i = 0; i < ST_THREADS; i++)
		pthread_join(th[i].th, NULL);
	CHECK(!atomic_load(&s.failed));
	for (unsigned int q = 0; q < ST_QUEUES; q++)
		CHECK(pep_blk_tags_busy(s.ts, q) == 0);
	/* both paths handed out many tags; whether a queue was ever full
	   depends on how the threads were scheduled (a loaded machine may
	   run them one after the other), so "full" is printed, not checked:
	   tag_limits checks -EBUSY on a full queue */
	CHECK(atomic_load(&s.gets) > 10000 && atomic_load(&s.claims) > 10000);
	fprintf(stderr, "  %ld gets, %ld claims, %ld full\n",
		atomic_load(&s.gets), atomic_load(&s.claims),
		atomic_load(&s.busy));
	pep_blk_tagset_destroy(s.ts);
	return T_PASS;
}

/* --- requests ----------------------------------------------------------- */

static int test_op_names(void)
{
	CHECK(!strcmp(pep_blk_op_name(PEP_BLK_OP_READ), "read"));
	CHECK(!strcmp(pep_blk_op_name(PEP_BLK_OP_WRITE), "write"));
	CHECK(!strcmp(pep_blk_op_name(PEP_BLK_OP_FLUSH), "flush"));
	CHECK(!strcmp(pep_blk_op_name(PEP_BLK_OP_DISCARD), "discard"));
	CHECK(!strcmp(pep_blk_op_name(PEP_BLK_OP_WRITE_ZEROES),
		      "write_zeroes"));
	CHECK(!strcmp(pep_blk_op_name(4), "op-4"));
	CHECK(!strcmp(pep_blk_op_name(UINT_MAX), "op-4294967295"));
	/* the kernel's values, which ublk passes through */
	CHECK(PEP_BLK_OP_WRITE_ZEROES == 5 && PEP_BLK_F_FUA == 1u << 13);
	CHECK(PEP_BLK_F_FAILFAST_DEV == 1u << 8 && PEP_BLK_F_NOUNMAP == 1u << 15);
	return T_PASS;
}

static int test_req_check(void)
{
	const uint64_t size = 1 << 20;
	char buf[512];
	struct pep_blk_req r = { .op = PEP_BLK_OP_READ, .len = 512, .buf = buf };

	CHECK(pep_blk_req_check(&r, size) == 0);
	r.offset = size - 512;
	CHECK(pep_blk_req_check(&r, size) == 0);	/* the last sector */
	r.offset = size;
	CHECK(pep_blk_req_check(&r, size) == -EIO);	/* one past */
	r.offset = 1;
	CHECK(pep_blk_req_check(&r, size) == -EIO);	/* unaligned offset */
	r.offset = 0;
	r.len = 511;
	CHECK(pep_blk_req_check(&r, size) == -EIO);	/* unaligned len */
	r.len = 0;
	CHECK(pep_blk_req_check(&r, size) == -EIO);	/* zero-length read */
	r.len = 512;
	r.buf = NULL;
	CHECK(pep_blk_req_check(&r, size) == -EIO);	/* no buffer */
	r.op = PEP_BLK_OP_WRITE;
	CHECK(pep_blk_req_check(&r, size) == -EIO);
	r.buf = buf;
	/* offset + len wraps around 2^64: must not pass as small */
	r.offset = UINT64_MAX - 511;
	CHECK(pep_blk_req_check(&r, UINT64_MAX / 512 * 512) == -EIO);
	r.offset = UINT64_MAX / 512 * 512 - 512;
	CHECK(pep_blk_req_check(&r, UINT64_MAX / 512 * 512) == 0);
	r.offset = 512;
	r.len = UINT32_MAX / 512 * 512;		/* 4 GiB - 512: not an int */
	CHECK(pep_blk_req_check(&r, UINT64_MAX / 512 * 512) == -EIO);
	r.len = 512;
	CHECK(pep_blk_req_check(&r, 512) == -EIO);	/* device of one sector */
	/* discard and write-zeroes: a range, no buffer */
	r = (struct pep_blk_req){ .op = PEP_BLK_OP_DISCARD, .offset = 4096,
				  .len = 8192 };
	CHECK(pep_blk_req_check(&r, size) == 0);
	r.len = 0;
	CHECK(pep_blk_req_check(&r, size) == -EIO);
	r = (struct pep_blk_req){ .op = PEP_BLK_OP_WRITE_ZEROES,
				  .offset = size - 4096, .len = 8192 };
	CHECK(pep_blk_req_check(&r, size) == -EIO);
	/* flush: any offset and len */
	r = (struct pep_blk_req){ .op = PEP_BLK_OP_FLUSH, .offset = 3,
				  .len = 7 };
	CHECK(pep_blk_req_check(&r, size) == 0);
	/* unknown ops, WRITE_SAME (4) first */
	r = (struct pep_blk_req){ .op = 4, .len = 512, .buf = buf };
	CHECK(pep_blk_req_check(&r, size) == -EOPNOTSUPP);
	for (unsigned int op = 6; op < 256; op++) {
		r.op = (uint8_t)op;
		CHECK(pep_blk_req_check(&r, size) == -EOPNOTSUPP);
	}
	return T_PASS;
}

/* A target that records calls; only read and flush exist. */
struct rec {
	int reads, flushes;
};

static int rec_read(struct pep_blk_target *t, struct pep_blk_io *io)
{
	((struct rec *)t->priv)->reads++;
	return PEP_BLK_QUEUED;		/* completes later, from the test */
}

static int rec_flush(struct pep_blk_target *t, struct pep_blk_io *io)
{
	((struct rec *)t->priv)->flushes++;
	pep_blk_complete(io, 0);
	return 0;
}

static const struct pep_blk_target_ops rec_ops = {
	.name = "rec", .read = rec_read, .flush = rec_flush,
};

struct done_log {
	int calls, result;
};

static void log_done(struct pep_blk_io *io, int result)
{
	struct done_log *d = io->server;

	d->calls++;
	d->result = result;
}

static int test_dispatch(void)
{
	struct rec rec = { 0 };
	struct pep_blk_target t = { .ops = &rec_ops, .size = 1 << 20,
				    .block_size = 512, .priv = &rec };
	struct pep_blk_queue q = { .qid = 0, .depth = 4 };
	struct done_log d = { 0 };
	char buf[4096];
	struct pep_blk_io io = {
		.req = { .op = PEP_BLK_OP_READ, .len = 4096, .buf = buf,
			 .tag = 3 },
		.q = &q, .done = log_done, .server = &d,
	};

	CHECK(pep_blk_dispatch(&t, &io) == PEP_BLK_QUEUED);
	CHECK(rec.reads == 1 && d.calls == 0);
	pep_blk_complete(&io, 4096);
	CHECK(d.calls == 1 && d.result == 4096);
	CHECK(pep_blk_io_udata(&io) == (PEP_BLK_UDATA_TARGET | 3));
	io.req.op = PEP_BLK_OP_FLUSH;
	CHECK(pep_blk_dispatch(&t, &io) == 0 && d.calls == 2 && d.result == 0);
	/* ops the target lacks */
	io.req.op = PEP_BLK_OP_WRITE;
	CHECK(pep_blk_dispatch(&t, &io) == -EOPNOTSUPP);
	io.req.op = PEP_BLK_OP_DISCARD;
	CHECK(pep_blk_dispatch(&t, &io) == -EOPNOTSUPP);
	/* a bad request never reaches the target */
	io.req.op = PEP_BLK_OP_READ;
	io.req.offset = t.size;
	CHECK(pep_blk_dispatch(&t, &io) == -EIO);
	io.req.op = 4;
	CHECK(pep_blk_dispatch(&t, &io) == -EOPNOTSUPP);
	CHECK(rec.reads == 1 && d.calls == 2);
	/* read-only: writes refused before the op table */
	t.caps = PEP_BLK_CAP_READ_ONLY;
	io.req = (struct pep_blk_req){ .op = PEP_BLK_OP_WRITE, .len = 512,
				       .buf = buf };
	CHECK(pep_blk_dispatch(&t, &io) == -EROFS);
	io.req.op = PEP_BLK_OP_WRITE_ZEROES;
	io.req.buf = NULL;
	CHECK(pep_blk_dispatch(&t, &io) == -EROFS);
	io.req.op = PEP_BLK_OP_FLUSH;
	CHECK(pep_blk_dispatch(&t, &io) == 0 && rec.flushes == 2);
	return T_PASS;
}

/* --- null and ram ------------------------------------------------------- */

static int run(struct pep_blk_target *t, uint8_t op, uint32_t flags,
	       uint64_t offset, uint32_t len, void *buf)
{
	struct pep_blk_req r = { .op = op, .flags = flags, .offset = offset,
				 .len = len, .buf = buf, .qid = 7, .tag = 99 };

	return pep_blk_run_sync(t, &r, NULL);
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static int test_null(void)
{
	struct pep_blk_target *t;
	struct pep_err err;
	unsigned char buf[8192];

	CHECK(pep_blk_null_create(&t, 1000, &err) == -EINVAL);
	CHECK(strstr(err.msg, "1000") && strstr(err.msg, "512"));
	CHECK(pep_blk_null_create(&t, 0, &err) == -EINVAL);
	CHECK(pep_blk_null_create(&t, 1ull << 40, &err) == 0);
	CHECK(t->size == 1ull << 40 && t->block_size == 512);
	CHECK(t->caps == (PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES));
	CHECK(!strcmp(t->ops->name, "null") && !pep_blk_loop_is_direct(t));
	memset(buf, 0xff, sizeof(buf));
	CHECK(run(t, PEP_BLK_OP_WRITE, PEP_BLK_F_FUA, 0, 8192, buf) == 8192);
	CHECK(run(t, PEP_BLK_OP_READ, 0, (1ull << 40) - 8192, 8192, buf) ==
	      8192);
	CHECK(all_bytes(buf, sizeof(buf), 0));
	CHECK(run(t, PEP_BLK_OP_FLUSH, 0, 0, 0, NULL) == 0);
	CHECK(run(t, PEP_BLK_OP_DISCARD, 0, 0, 1 << 30, NULL) == 0);
	CHECK(run(t, PEP_BLK_OP_WRITE_ZEROES, 0, 512, 512, NULL) == 0);
	CHECK(run(t, PEP_BLK_OP_READ, 0, 1ull << 40, 512, buf) == -EIO);
	CHECK(pep_blk_run_sync(t, &(struct pep_blk_req){ .op = 4, .len = 512,
							  .buf = buf },
			       &err) == -EOPNOTSUPP);
	CHECK(err.code == -EOPNOTSUPP && strstr(err.msg, "op-4"));
	pep_blk_target_destroy(t);
	pep_blk_target_destroy(NULL);
	return T_PASS;
}

/* Random writes and reads of a ram device against a plain buffer. */
static int test_ram_model(void)
{
	enum { SIZE = 4 << 20, MAXLEN = 256 << 10, OPS = 3000 };
	unsigned char *ref = calloc(1, SIZE), *buf = malloc(MAXLEN);
	uint64_t seed = 42;
	struct pep_blk_target *t;

	CHECK(ref && buf);
	CHECK(pep_blk_ram_create(&t, SIZE, NULL) == 0);
	CHECK(t->caps == (PEP_BLK_CAP_DISCARD | PEP_BLK_CAP_WRITE_ZEROES));
	for (int i = 0; i < OPS; i++) {
		uint32_t len = (uint32_t)(1 + rnd(&seed) % (MAXLEN / 512)) * 512;
		uint64_t off = rnd(&seed) % ((SIZE - len) / 512 + 1) * 512;

		if (rnd(&seed) % 2) {
			for (uint32_t j = 0; j < len; j++)
				buf[j] = (unsigned char)rnd(&seed);
			CHECK(run(t, PEP_BLK_OP_WRITE, 0, off, len, buf) ==
			      (int)len);
			memcpy(ref + off, buf, len);
		} else {
			CHECK(run(t, PEP_BLK_OP_READ, 0, off, len, buf) ==
			      (int)len);
			CHECK(!memcmp(buf, ref + off, len));
		}
	}
	for (uint64_t off = 0; off < SIZE; off += MAXLEN) {
		CHECK(run(t, PEP_BLK_OP_READ, 0, off, MAXLEN, buf) == MAXLEN);
		CHECK(!memcmp(buf, ref + off, MAXLEN));
	}
	CHECK(run(t, PEP_BLK_OP_FLUSH, 0, 0, 0, NULL) == 0);
	pep_blk_target_destroy(t);
	free(ref);
	free(buf);
	return T_PASS;
}

/*
 * Discard and write-zeroes over ranges with partial pages at either end,
 * whole pages only, and less than a page: zeros inside, the pattern
 * untouched outside.
 */
static int test_ram_zeroing(void)
{
	const uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t size = 16 * pg;
	const struct { uint8_t op; uint32_t flags; uint64_t off, len; } cases[] = {
		{ PEP_BLK_OP_DISCARD, 0, pg - 1536, 2 * pg + 2048 },
		{ PEP_BLK_OP_DISCARD, 0, 4 * pg, 3 * pg },
		{ PEP_BLK_OP_DISCARD, 0, 8 * pg + 512, 1024 },
		{ PEP_BLK_OP_WRITE_ZEROES, 0, 9 * pg - 512, pg + 1024 },
		{ PEP_BLK_OP_WRITE_ZEROES, PEP_BLK_F_NOUNMAP, 11 * pg + 512,
		  2 * pg },
		{ PEP_BLK_OP_DISCARD, 0, 0, size },
	};
	unsigned char *ref = malloc(size), *buf = malloc(size);
	struct pep_blk_target *t;

	CHECK(ref && buf);
	CHECK(pep_blk_ram_create(&t, size, NULL) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (uint64_t j = 0; j < size; j++)
			ref[j] = (unsigned char)(j * 7 + i + 1) | 1;
		CHECK(run(t, PEP_BLK_OP_WRITE, 0, 0, (uint32_t)size, ref) ==
		      (int)size);
		CHECK(run(t, cases[i].op, cases[i].flags, cases[i].off,
			  (uint32_t)cases[i].len, NULL) == 0);
		memset(ref + cases[i].off, 0, cases[i].len);
		CHECK(run(t, PEP_BLK_OP_READ, 0, 0, (uint32_t)size, buf) ==
		      (int)size);
		if (memcmp(buf, ref, size)) {
			fprintf(stderr, "  case %zu differs\n", i);
			return T_FAIL;
		}
	}
	pep_blk_target_destroy(t);
	free(ref);
	free(buf);
	return T_PASS;
}

/* Whether MADV_DONTNEED zeroes anonymous memory here (qemu-user may not). */
static bool dontneed_works(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	ok = madvise(p, pg, MADV_DONTNEED) == 0 && p[0] == 0;
	munmap(p, pg);
	return ok;
}

/*
 * Resident KiB of the one mapping of exactly size bytes (the ram
 * device's), from /proc/self/smaps: the process's RSS would also count a
 * sanitizer's shadow memory, which discard does not give back. -1 when
 * not found.
 */
static long mapping_rss_kib(uint64_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end;
	char line[512];
	bool ours = false;
	long kib = -1;

	if (!f)
		return -1;
	while (kib < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			ours = end - start == size;
		else if (ours && !strncmp(line, "Rss:", 4))
			sscanf(line + 4, "%ld", &kib);
	}
	fclose(f);
	return kib;
}

/* A large sparse device costs nothing until written; discard gives back. */
static int test_ram_memory(void)
{
	const uint64_t size = 16ull << 30;
	const uint32_t chunk = 1 << 20;
	unsigned char *buf = malloc(chunk);
	struct pep_blk_target *t;
	struct pep_err err;
	long before, written, after;
	char *oc = t_read_file("/proc/sys/vm/overcommit_memory");
	int strict = oc && oc[0] == '2';

	free(oc);
	CHECK(buf);
	if (strict) {
		free(buf);
		printf("SKIP: vm.overcommit_memory=2 refuses a 16 GiB device\n");
		return T_SKIP;
	}
	CHECK(pep_blk_ram_create(&t, size, &err) == 0);
	memset(buf, 0x5a, chunk);
	before = mapping_rss_kib(size);
	for (uint64_t off = 0; off < 64ull << 20; off += chunk)
		CHECK(run(t, PEP_BLK_OP_WRITE, 0, size / 2 + off, chunk, buf) ==
		      (int)chunk);
	written = mapping_rss_kib(size);
	CHECK(run(t, PEP_BLK_OP_WRITE, 0, size - chunk, chunk, buf) ==
	      (int)chunk);
	CHECK(run(t, PEP_BLK_OP_DISCARD, 0, size / 2, 64 << 20, NULL) == 0);
	after = mapping_rss_kib(size);
	CHECK(run(t, PEP_BLK_OP_READ, 0, size - chunk, chunk, buf) ==
	      (int)chunk);
	CHECK(all_bytes(buf, chunk, 0x5a));
	CHECK(run(t, PEP_BLK_OP_READ, 0, size / 2 + chunk, chunk, buf) ==
	      (int)chunk);
	CHECK(all_bytes(buf, chunk, 0));
	fprintf(stderr, "  resident: %ld KiB before, %ld after 64 MiB "
		"written, %ld after discard\n", before, written, after);
	/* qemu-user shows its own smaps with Rss 0, and may ignore madvise */
	if (written >= 60 * 1024 && dontneed_works()) {
		CHECK(before >= 0 && before < 1024);
		CHECK(after >= 0 && after < 2048);
	} else {
		fprintf(stderr, "  (resident memory not checked here)\n");
	}
	pep_blk_target_destroy(t);
	free(buf);
	return T_PASS;
}

static int test_ram_errors(void)
{
	struct pep_blk_target *t;
	struct pep_err err;

	CHECK(pep_blk_ram_create(&t, 513, &err) == -EINVAL);
	CHECK(err.code == -EINVAL && strstr(err.msg, "513"));
	CHECK(pep_blk_ram_create(&t, 0, &err) == -EINVAL);
	/* one sector: smaller than a page, still a device */
	CHECK(pep_blk_ram_create(&t, 512, &err) == 0);
	CHECK(run(t, PEP_BLK_OP_DISCARD, 0, 0, 512, NULL) == 0);
	CHECK(run(t, PEP_BLK_OP_DISCARD, 0, 0, 1024, NULL) == -EIO);
	pep_blk_target_destroy(t);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("tagset_limits", test_tagset_limits, &rc);
	t_run("tag_depths", test_tag_depths, &rc);
	t_run("tag_hint", test_tag_hint, &rc);
	t_run("tag_model", test_tag_model, &rc);
	t_run("tag_stress", test_tag_stress, &rc);
	t_run("op_names", test_op_names, &rc);
	t_run("req_check", test_req_check, &rc);
	t_run("dispatch", test_dispatch, &rc);
	t_run("null", test_null, &rc);
	t_run("ram_model", test_ram_model, &rc);
	t_run("ram_zeroing", test_ram_zeroing, &rc);
	t_run("ram_memory", test_ram_memory, &rc);
	t_run("ram_errors", test_ram_errors, &rc);
	return rc;
}
