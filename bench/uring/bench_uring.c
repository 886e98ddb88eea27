/*
 * bench/uring: what one NOP costs to submit and complete through pepita's
 * uring layer, per operation, at batch 1 and 32.
 *
 * Anchor, measured in the same run on an identical ring: "liburing" = the
 * plain liburing loop doing the same work (io_uring_get_sqe, prep_nop,
 * io_uring_submit_and_wait, io_uring_for_each_cqe + cq_advance). Ours adds
 * the zeroed SQE, the SQ-full check and a callback per CQE. Repetitions
 * alternate ours and the anchor; the median of each is printed.
 *
 * The "-server" lines use the flags a per-thread server ring asks for
 * (COOP_TASKRUN | SINGLE_ISSUER | DEFER_TASKRUN) on both sides.
 */
#include <stdio.h>
#include <string.h>

#include <pepita/uring.h>

#include "../bench.h"

#define REPS 9
#define OPS (1u << 18)	/* NOPs per repetition */
#define ENTRIES 64

static void count_cqe(void *arg, const struct io_uring_cqe *cqe)
{
	*(uint64_t *)arg += cqe->user_data;
}

/* Every CQE came back with its user_data (0..batch-1 per round). */
static int check_sum(uint64_t sum, unsigned int batch)
{
	return sum == (uint64_t)(OPS / batch) * batch * (batch - 1) / 2;
}

/* ns per NOP through pep_uring; -1 on error. */
static double run_ours(struct pep_uring *r, unsigned int batch)
{
	uint64_t sum = 0, t0 = pep_time_ns();

	for (unsigned int done = 0; done < OPS; done += batch) {
		for (unsigned int i = 0; i < batch; i++) {
			struct io_uring_sqe *sqe = pep_uring_sqe(r);

			if (!sqe)
				return -1;
			io_uring_prep_nop(sqe);
			sqe->user_data = i;
		}
		if (pep_uring_submit_and_wait(r, batch) < 0)
			return -1;
		if (pep_uring_reap(r, count_cqe, &sum, 0) != batch)
			return -1;
	}
	return check_sum(sum, batch) ? (double)(pep_time_ns() - t0) / OPS : -1;
}

/* The same with liburing alone. */
static double run_liburing(struct io_uring *ring, unsigned int batch)
{
	uint64_t sum = 0, t0 = pep_time_ns();

	for (unsigned int done = 0; done < OPS; done += batch) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		for (unsigned int i = 0; i < batch; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			if (!sqe)
				return -1;
			io_uring_prep_nop(sqe);
			sqe->user_data = i;
		}
		if (io_uring_submit_and_wait(ring, batch) < 0)
			return -1;
		io_uring_for_each_cqe(ring, head, cqe) {
			sum += cqe->user_data;
			n++;
		}
		io_uring_cq_advance(ring, n);
		if (n != batch)
			return -1;
	}
	return check_sum(sum, batch) ? (double)(pep_time_ns() - t0) / OPS : -1;
}

static void print_na(const char *name, const char *why)
{
	printf("# %s: %s\n", name, why);
	printf("BENCH uring/%s ns/op ours=na liburing=na speedup=na\n", name);
}

static void bench_case(const char *name, unsigned int batch, uint32_t flags)
{
	struct pep_uring_opts o = { .entries = ENTRIES, .flags = flags };
	struct io_uring_params p;
	double ours[REPS], anchor[REPS], mo, ma;
	struct pep_err err = { 0 };
	struct io_uring ring;
	struct pep_uring *r;
	int ret;

	if (pep_uring_create(&r, &o, &err) < 0) {
		print_na(name, err.msg);
		return;
	}
	/* The anchor gets exactly the set-up flags our ring was given. */
	memset(&p, 0, sizeof(p));
	p.flags = pep_uring_raw(r)->flags;
	ret = io_uring_queue_init_params(ENTRIES, &ring, &p);
	if (ret < 0) {
		pep_uring_destroy(r);
		print_na(name, "liburing ring set-up failed");
		return;
	}
	run_ours(r, batch);		/* warm up both */
	run_liburing(&ring, batch);
	for (int i = 0; i < REPS; i++) {
		ours[i] = run_ours(r, batch);
		anchor[i] = run_liburing(&ring, batch);
	}
	io_uring_queue_exit(&ring);
	pep_uring_destroy(r);
	mo = bench_median(ours, REPS);
	ma = bench_median(anchor, REPS);
	if (mo <= 0 || ma <= 0) {
		print_na(name, "a NOP failed to submit or complete");
		return;
	}
	printf("BENCH uring/%s ns/op ours=%.1f liburing=%.1f speedup=%.2f\n",
	       name, mo, ma, ma / mo);
}

int main(void)
{
	const uint32_t server = PEP_URING_COOP_TASKRUN |
				PEP_URING_SINGLE_ISSUER |
				PEP_URING_DEFER_TASKRUN;
	struct pep_err err = { 0 };

	if (pep_uring_available(&err) < 0) {
		print_na("nop-b1", err.msg);
		print_na("nop-b32", err.msg);
		return 0;
	}
	printf("# %u NOPs per repetition, %d repetitions, %d-entry rings\n",
	       OPS, REPS, ENTRIES);
	bench_case("nop-b1", 1, 0);
	bench_case("nop-b32", 32, 0);
	bench_case("nop-b1-server", 1, server);
	bench_case("nop-b32-server", 32, server);
	return 0;
}
