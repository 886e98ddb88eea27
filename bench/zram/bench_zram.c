/*
 * bench/zram: the userspace compressed page store against its floor and
 * against the kernel's zram, in one run.
 *
 *   store     pep_zram_store_write / _read of 4 KiB pages, LZ4, on 2:1
 *             compressible, zero and random pages, 1 and 2 threads; ns per
 *             page (per thread) and GB/s (all threads)
 *   floor     "liblz4": LZ4_compress_default / LZ4_decompress_safe on the
 *             same pages, same threads: what compression alone costs
 *   kernel    "kernel-zram": fio, 4 KiB O_DIRECT psync writes and reads on
 *             a zram device set up with lz4 (1 job: one core's IOPS), on
 *             fio's 50%-compressible buffers, against the store's
 *             one-thread IOPS on the same kind of pages (fio50: written
 *             by fio to a file and loaded); needs root, a free zram
 *             device (or hot_add) and fio, else "na" and why
 *
 * Writes are measured on a store that already holds pages of the kind
 * (memory faulted in), each pass writing other pages over them than the
 * pass before, so new objects mostly need new places and old ones are
 * freed: what a block device in use sees. Repetitions alternate ours and
 * the anchor; medians are printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>

#include <pepita/core.h>
#include <pepita/zram.h>

#include "../bench.h"
#include "pepita/zram-data.h"

#define PAGE	PEP_ZRAM_PAGE_SIZE
#define NPAGES	8192u		/* 32 MiB of each kind */
#define REPS	7
#define SEED_NS	2000.0		/* the seed's figure: 2 us per 4 KiB write */

/* fio50: what fio writes with --buffer_compress_percentage=50, generated
   by fio itself, so the kernel comparison runs both sides on one data. */
enum kind { K_HALF, K_ZERO, K_RANDOM, K_FIO50, N_KINDS };
static const char *const kind_name[N_KINDS] = { "half", "zero", "random",
						"fio50" };
static int have_fio50;

enum op { OP_STORE_WRITE, OP_STORE_READ, OP_LZ4_COMPRESS, OP_LZ4_DECOMPRESS };

static unsigned char *pages[N_KINDS];	/* NPAGES pages each */
static char *lz4_pages[N_KINDS];	/* LZ4 of each page, bound-sized slots */
static int lz4_len[N_KINDS][NPAGES];
static int lz4_bound;

struct job {
	enum op op;
	struct pep_zram_store *s;
	enum kind k;
	unsigned int first, count;
	unsigned int shift;	/* writes: index i gets page i + shift */
	int failed;
};

static void *job_main(void *p)
{
	struct job *j = p;
	unsigned char *src = pages[j->k];
	static __thread unsigned char out[2 * PAGE];
	unsigned int i;

	for (i = j->first; i < j->first + j->count; i++) {
		int r = 0;

		switch (j->op) {
		case OP_STORE_WRITE:
			r = pep_zram_store_write(j->s, i, src + (size_t)
						 ((i + j->shift) % NPAGES) * PAGE);
			break;
		case OP_STORE_READ:
			r = pep_zram_store_read(j->s, i, out);
			break;
		case OP_LZ4_COMPRESS:
			r = LZ4_compress_default((const char *)src + (size_t)i * PAGE,
						 (char *)out, PAGE, lz4_bound) > 0 ? 0 : -1;
			break;
		case OP_LZ4_DECOMPRESS:
			r = LZ4_decompress_safe(lz4_pages[j->k] + (size_t)i * lz4_bound,
						(char *)out, lz4_len[j->k][i],
						PAGE) == PAGE ? 0 : -1;
			break;
		}
		if (r)
			j->failed = 1;
	}
	return NULL;
}

/* ns per page per thread for NPAGES pages over nthreads; -1 on error. */
static double run(enum op op, struct pep_zram_store *s, enum kind k,
		  unsigned int nthreads, unsigned int shift)
{
	struct job jobs[2];
	pthread_t tid[2];
	unsigned int t, per = NPAGES / nthreads;
	uint64_t t0 = pep_time_ns();
	int failed = 0;

	for (t = 0; t < nthreads; t++) {
		jobs[t] = (struct job){ op, s, k, t * per, per, shift, 0 };
		if (pthread_create(&tid[t], NULL, job_main, &jobs[t]))
			return -1;
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		failed |= jobs[t].failed;
	}
	return failed ? -1 : (double)(pep_time_ns() - t0) / per;
}

#define FIO_DATA_ARGS "--bs=4k --buffer_compress_percentage=50 --refill_buffers"

/*
 * NPAGES pages as fio fills its buffers, written by fio to a file (by
 * name: fio lays a short file out anew, so a descriptor from before would
 * see the old, empty one).
 */
static int fio50_pages(unsigned char *dst)
{
	char path[] = "/tmp/bench-zram-fio-XXXXXX", cmd[512];
	int fd = mkstemp(path), ok = 0;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "fio --name=gen --filename=%s --rw=write --size=%u "
		 FIO_DATA_ARGS " --ioengine=psync >/dev/null 2>&1",
		 path, NPAGES * PAGE);
	if (system(cmd) == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		ok = pread(fd, dst, (size_t)NPAGES * PAGE, 0) ==
		     (ssize_t)NPAGES * PAGE;
		close(fd);
	}
	unlink(path);
	return ok ? 0 : -1;
}

static void fill_page(enum kind k, unsigned int i, unsigned char *p)
{
	if (k == K_HALF)
		zd_half(p, i);
	else if (k == K_ZERO)
		zd_same(p, 0);
	else if (k == K_RANDOM)
		zd_random(p, i);
}

static int make_pages(void)
{
	enum kind k;
	unsigned int i;

	lz4_bound = LZ4_compressBound(PAGE);
	for (k = 0; k < N_KINDS; k++) {
		pages[k] = malloc((size_t)NPAGES * PAGE);
		lz4_pages[k] = malloc((size_t)NPAGES * lz4_bound);
		if (!pages[k] || !lz4_pages[k])
			return -1;
		if (k == K_FIO50)
			have_fio50 = fio50_pages(pages[k]) == 0;
		for (i = 0; i < NPAGES; i++) {
			unsigned char *p = pages[k] + (size_t)i * PAGE;

			fill_page(k, i, p);
			lz4_len[k][i] = LZ4_compress_default(
				(const char *)p, lz4_pages[k] + (size_t)i * lz4_bound,
				PAGE, lz4_bound);
		}
	}
	return 0;
}

static void line(const char *name, double ours_ns, double floor_ns,
		 unsigned int nthreads)
{
	double gb = 1e-9 * PAGE * nthreads;

	printf("BENCH zram/%s ns/page ours=%.0f liblz4=%.0f speedup=%.2f\n",
	       name, ours_ns, floor_ns, floor_ns / ours_ns);
	printf("BENCH zram/%s GB/s ours=%.2f liblz4=%.2f speedup=%.2f\n",
	       name, gb / (ours_ns * 1e-9), gb / (floor_ns * 1e-9),
	       floor_ns / ours_ns);
}

/* Store vs liblz4 on one kind of page, with nthreads. */
static int bench_kind(enum kind k, unsigned int nthreads, double *write_ns)
{
	struct pep_zram_store_config cfg = { .size = (uint64_t)NPAGES * PAGE };
	double w[REPS], wf[REPS], r[REPS], rf[REPS];
	struct pep_zram_store *s;
	struct pep_err err;
	char name[64];
	int i;

	if (pep_zram_store_create(&s, &cfg, &err)) {
		fprintf(stderr, "bench zram: %s\n", err.msg);
		return -1;
	}
	if (run(OP_STORE_WRITE, s, k, nthreads, 0) < 0)	/* first pass */
		goto fail;
	for (i = 0; i < REPS; i++) {
		/* Other pages than the pass before: a block rewritten with
		   new data, which seldom fits where the old data lies. */
		w[i] = run(OP_STORE_WRITE, s, k, nthreads, 1 + 7919 * i);
		wf[i] = run(OP_LZ4_COMPRESS, NULL, k, nthreads, 0);
		r[i] = run(OP_STORE_READ, s, k, nthreads, 0);
		rf[i] = run(OP_LZ4_DECOMPRESS, NULL, k, nthreads, 0);
		if (w[i] < 0 || wf[i] < 0 || r[i] < 0 || rf[i] < 0)
			goto fail;
	}
	pep_zram_store_destroy(s);
	snprintf(name, sizeof(name), "store-write-%s-t%u", kind_name[k], nthreads);
	*write_ns = bench_median(w, REPS);
	line(name, *write_ns, bench_median(wf, REPS), nthreads);
	snprintf(name, sizeof(name), "store-read-%s-t%u", kind_name[k], nthreads);
	line(name, bench_median(r, REPS), bench_median(rf, REPS), nthreads);
	return 0;
fail:
	fprintf(stderr, "bench zram: a store or LZ4 call failed\n");
	pep_zram_store_destroy(s);
	return -1;
}

/* The kernel's zram through fio. */

static int kzram_id = -1;
static int kzram_added;		/* hot_added here: remove, not only reset */

static void kzram_cleanup(void)
{
	if (kzram_id >= 0 && kzram_added)
		pep_zram_remove(kzram_id, NULL);
	else if (kzram_id >= 0)
		pep_zram_reset(kzram_id, NULL);
	kzram_id = -1;
}

/* Whether device id existed before (then it is reset, not removed). */
static int existed(const struct pep_zram_dev *devs, size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (devs[i].id == id)
			return 1;
	return 0;
}

static void on_signal(int sig)
{
	kzram_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* fio's IOPS for rw ("write"/"read") on dev; -1 when it failed. */
static double fio_iops(const char *dev, const char *rw)
{
	char cmd[512], out[8192];
	size_t n;
	FILE *f;
	char *field;
	int i, want = strcmp(rw, "read") == 0 ? 8 : 49;

	snprintf(cmd, sizeof(cmd),
		 "fio --name=zram --filename=%s --rw=%s --direct=1 "
		 "--ioengine=psync --numjobs=1 --size=128M --runtime=3 "
		 "--time_based " FIO_DATA_ARGS " --output-format=terse --terse-version=3 2>/dev/null", dev, rw);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	if (pclose(f) != 0 || n == 0)
		return -1;
	out[n] = '\0';
	field = out;
	for (i = 1; i < want && field; i++) {
		field = strchr(field, ';');
		if (field)
			field++;
	}
	return field ? strtod(field, NULL) : -1;
}

static const char *kernel_unavailable(void)
{
	if (geteuid() != 0)
		return "not root";
	if (!have_fio50)
		return "fio not installed or failing (scripts/deps.sh --test)";
	if (access("/sys/block/zram0", F_OK) != 0 &&
	    access("/sys/class/zram-control", F_OK) != 0)
		return "no zram in this kernel";
	return NULL;
}

static void na(const char *name, const char *why)
{
	printf("# kernel-zram: %s\n", why);
	printf("BENCH zram/%s iops ours=na kernel-zram=na speedup=na\n", name);
}

/* One core's 4 KiB IOPS: the store's (from ns/page) against fio's. */
static void bench_kernel(double store_write_ns, double store_read_ns)
{
	struct pep_zram_setup cfg = { .algorithm = "lz4", .size = 256ull << 20 };
	const char *why = kernel_unavailable();
	double wk[3], rk[3];
	struct pep_err err;
	char dev[32];
	int i;

	if (!why) {
		struct pep_zram_dev *before = NULL;
		size_t n = 0;

		pep_zram_list(&before, &n, NULL);
		kzram_id = pep_zram_setup(-1, &cfg, &err);
		if (kzram_id < 0)
			why = err.msg;
		else
			kzram_added = !existed(before, n, kzram_id);
		free(before);
	}
	if (why) {
		na("write-4k-t1", why);
		na("read-4k-t1", why);
		return;
	}
	snprintf(dev, sizeof(dev), "/dev/zram%d", kzram_id);
	for (i = 0; i < 3; i++) {
		wk[i] = fio_iops(dev, "write");
		rk[i] = fio_iops(dev, "read");
	}
	kzram_cleanup();
	if (wk[0] < 0 || rk[0] < 0) {
		na("write-4k-t1", "fio failed on the zram device");
		na("read-4k-t1", "fio failed on the zram device");
		return;
	}
	printf("BENCH zram/write-4k-t1 iops ours=%.0f kernel-zram=%.0f speedup=%.2f\n",
	       1e9 / store_write_ns, bench_median(wk, 3),
	       1e9 / store_write_ns / bench_median(wk, 3));
	printf("BENCH zram/read-4k-t1 iops ours=%.0f kernel-zram=%.0f speedup=%.2f\n",
	       1e9 / store_read_ns, bench_median(rk, 3),
	       1e9 / store_read_ns / bench_median(rk, 3));
}

/* Reads of one kind of page, one thread, for the kernel comparison. */
static double read_ns(enum kind k)
{
	struct pep_zram_store_config cfg = { .size = (uint64_t)NPAGES * PAGE };
	struct pep_zram_store *s;
	double r[REPS];
	int i;

	if (pep_zram_store_create(&s, &cfg, NULL))
		return -1;
	run(OP_STORE_WRITE, s, k, 1, 0);
	for (i = 0; i < REPS; i++)
		r[i] = run(OP_STORE_READ, s, k, 1, 0);
	pep_zram_store_destroy(s);
	return bench_median(r, REPS);
}

int main(void)
{
	double half_write_t1 = 0, fio_write_t1 = 0, ns;
	unsigned int t;
	enum kind k;

	if (make_pages()) {
		fprintf(stderr, "bench zram: out of memory\n");
		return 1;
	}
	atexit(kzram_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (t = 1; t <= 2; t++) {
		for (k = 0; k < N_KINDS; k++) {
			if (k == K_FIO50 && (!have_fio50 || t > 1))
				continue;
			if (bench_kind(k, t, &ns))
				return 1;
			if (k == K_HALF && t == 1)
				half_write_t1 = ns;
			if (k == K_FIO50)
				fio_write_t1 = ns;
		}
	}
	printf("# the seed's figure: %.0f ns per 4 KiB write; ours on 2:1 pages: %.0f\n",
	       SEED_NS, half_write_t1);
	bench_kernel(fio_write_t1, have_fio50 ? read_ns(K_FIO50) : 0);
	return 0;
}
