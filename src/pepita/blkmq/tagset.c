/*
 * Tag sets: one bitmap of in-flight tags per hardware queue, as blk-mq's
 * sbitmap keeps them. A set bit is a tag in flight.
 *
 * Every operation is one atomic read-modify-write on one 64-bit word, so
 * get, claim and put are lock-free and safe from any thread:
 * get scans for a clear bit and takes it with fetch_or (losing a race
 * just means trying the next clear bit), claim is fetch_or on a given bit
 * (the old value tells a collision), put is fetch_and (the old value tells
 * a double put). Unused bits past depth in the last word are set at
 * creation, so get never sees them.
 *
 * Each queue's words start on their own cache line (false sharing between
 * queue threads would cost more than the allocation itself), preceded by
 * the queue's allocation hint: get starts at the bit after the one it last
 * handed out, which spreads tags over the bitmap as sbitmap's hints do and
 * keeps concurrent allocators off each other's bits.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/blkmq.h>

#define CACHE_LINE	64
#define WORD_BITS	64

/* One queue's block: the hint, then the words; CACHE_LINE-aligned. */
struct tag_queue {
	_Atomic unsigned int hint;		/* next tag to try */
	unsigned int pad;
	_Atomic uint64_t words[];
};

struct pep_blk_tagset {
	unsigned int nr_queues;
	unsigned int depth;
	unsigned int nr_words;
	size_t stride;				/* bytes per queue block */
	unsigned char *blocks;			/* nr_queues * stride */
};

static struct tag_queue *tq(const struct pep_blk_tagset *ts, unsigned int qid)
{
	return (struct tag_queue *)(ts->blocks + (size_t)qid * ts->stride);
}

/* The bits of word w that are tags (all but the tail of the last word). */
static uint64_t valid_mask(const struct pep_blk_tagset *ts, unsigned int w)
{
	unsigned int rem = ts->depth % WORD_BITS;

	if (w + 1 < ts->nr_words || rem == 0)
		return ~0ull;
	return (1ull << rem) - 1;
}

PEP_API int pep_blk_tagset_create(struct pep_blk_tagset **out,
				  unsigned int nr_queues, unsigned int depth,
				  struct pep_err *err)
{
	struct pep_blk_tagset *ts;
	size_t bytes;

	if (nr_queues < 1 || nr_queues > PEP_BLK_MAX_QUEUES)
		return pep_err_set(err, -EINVAL,
				   "tag set: nr_queues %u is out of range 1..%u",
				   nr_queues, PEP_BLK_MAX_QUEUES);
	if (depth < 1 || depth > PEP_BLK_MAX_DEPTH)
		return pep_err_set(err, -EINVAL,
				   "tag set: depth %u is out of range 1..%u",
				   depth, PEP_BLK_MAX_DEPTH);
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return pep_err_set(err, -ENOMEM, "tag set: out of memory");
	ts->nr_queues = nr_queues;
	ts->depth = depth;
	ts->nr_words = (depth + WORD_BITS - 1) / WORD_BITS;
	bytes = sizeof(struct tag_queue) + ts->nr_words * sizeof(uint64_t);
	ts->stride = (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
	ts->blocks = aligned_alloc(CACHE_LINE, ts->stride * nr_queues);
	if (!ts->blocks) {
		free(ts);
		return pep_err_set(err, -ENOMEM,
				   "tag set: out of memory for %u queues x %u tags",
				   nr_queues, depth);
	}
	memset(ts->blocks, 0, ts->stride * nr_queues);
	for (unsigned int q = 0; q < nr_queues; q++) {
		struct tag_queue *t = tq(ts, q);

		atomic_init(&t->hint, 0);
		for (unsigned int w = 0; w < ts->nr_words; w++)
			atomic_init(&t->words[w], ~valid_mask(ts, w));
	}
	*out = ts;
	return 0;
}

PEP_API void pep_blk_tagset_destroy(struct pep_blk_tagset *ts)
{
	if (!ts)
		return;
	free(ts->blocks);
	free(ts);
}

PEP_API unsigned int pep_blk_tagset_queues(const struct pep_blk_tagset *ts)
{
	return ts->nr_queues;
}

PEP_API unsigned int pep_blk_tagset_depth(const struct pep_blk_tagset *ts)
{
	return ts->depth;
}

/*
 * Take a clear bit of word w at or above bit `from`: the tag, or -1 when
 * every such bit is set. Acquire pairs with put's release, so the new
 * owner sees what the last owner wrote for this tag.
 */
static int take_in_word(struct tag_queue *t, unsigned int w, unsigned int from)
{
	uint64_t above = from ? ~((1ull << from) - 1) : ~0ull;
	uint64_t v = atomic_load_explicit(&t->words[w], memory_order_relaxed);

	for (;;) {
		uint64_t free_bits = ~v & above;
		uint64_t bit;

		if (!free_bits)
			return -1;
		bit = free_bits & -free_bits;
		v = atomic_fetch_or_explicit(&t->words[w], bit,
					     memory_order_acquire);
		if (!(v & bit))
			return (int)(w * WORD_BITS) + __builtin_ctzll(bit);
		/* lost the race for that bit; v is fresh, look again */
	}
}

PEP_API int pep_blk_tag_get(struct pep_blk_tagset *ts, unsigned int qid)
{
	struct tag_queue *t;
	unsigned int hint, w0;
	int tag = -1;

	if (qid >= ts->nr_queues)
		return -EINVAL;
	t = tq(ts, qid);
	hint = atomic_load_explicit(&t->hint, memory_order_relaxed);
	if (hint >= ts->depth)
		hint = 0;
	w0 = hint / WORD_BITS;
	/* From the hint to the end, the other words, then the hint word's
	   bits below the hint. */
	tag = take_in_word(t, w0, hint % WORD_BITS);
	for (unsigned int i = 1; tag < 0 && i <= ts->nr_words; i++)
		tag = take_in_word(t, (w0 + i) % ts->nr_words, 0);
	if (tag < 0)
		return -EBUSY;
	atomic_store_explicit(&t->hint, ((unsigned int)tag + 1) % ts->depth,
			      memory_order_relaxed);
	return tag;
}

PEP_API int pep_blk_tag_claim(struct pep_blk_tagset *ts, unsigned int qid,
			      unsigned int tag)
{
	uint64_t bit, old;

	if (qid >= ts->nr_queues || tag >= ts->depth)
		return -EINVAL;
	bit = 1ull << (tag % WORD_BITS);
	old = atomic_fetch_or_explicit(&tq(ts, qid)->words[tag / WORD_BITS], bit,
				       memory_order_acquire);
	return old & bit ? -EBUSY : 0;
}

PEP_API int pep_blk_tag_put(struct pep_blk_tagset *ts, unsigned int qid,
			    unsigned int tag)
{
	uint64_t bit, old;

	if (qid >= ts->nr_queues || tag >= ts->depth)
		return -EINVAL;
	bit = 1ull << (tag % WORD_BITS);
	old = atomic_fetch_and_explicit(&tq(ts, qid)->words[tag / WORD_BITS],
					~bit, memory_order_release);
	return old & bit ? 0 : -EINVAL;
}

PEP_API unsigned int pep_blk_tags_busy(const struct pep_blk_tagset *ts,
				       unsigned int qid)
{
	struct tag_queue *t;
	unsigned int n = 0;

	if (qid >= ts->nr_queues)
		return 0;
	t = tq(ts, qid);
	for (unsigned int w = 0; w < ts->nr_words; w++) {
		uint64_t v = atomic_load_explicit(&t->words[w],
						  memory_order_relaxed);

		n += (unsigned int)__builtin_popcountll(v & valid_mask(ts, w));
	}
	return n;
}
