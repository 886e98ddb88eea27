/*
 * ublk-io: random-offset, random-length I/O through a block device, read
 * back and compared. The test VM's ublk scripts (tests/vm/ublk-*.sh) run it
 * against /dev/ublkbN; it does nothing on its own (exit 77).
 *
 *   ublk-io DEVICE [--threads T] [--ops N] [--seed S] [--max-kib K]
 *           [--zeros] [--discard] [--timeout SECONDS]
 *
 * Every thread owns a disjoint region of the device (so no two writes race)
 * and keeps a shadow copy of it. It reads its region first (whatever is
 * there is the starting content), then does N writes of random offset and
 * length (multiples of 512 bytes, up to K KiB) from a seeded generator,
 * reads each back at once, fsyncs, and reads the whole region back in
 * random-length pieces. All I/O is O_DIRECT, so it reaches the device and
 * not the page cache. The first mismatch is reported with its device
 * offset and the expected and found bytes.
 *
 * --zeros      the device drops writes and reads zeros (ublk's null
 *              target): every read must return zeros, every write succeed.
 * --discard    then BLKDISCARD one 4 KiB-aligned range per thread, which
 *              must read back as zeros while the rest of the region keeps
 *              its data (a regular file gets a punched hole instead).
 * --timeout    an I/O that never completes (a lost request) fails the run
 *              after this many seconds (default 300).
 * Threads are pinned round-robin to the online CPUs so that every blk-mq
 * hardware queue gets requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The device's logical block (BLKSSZGET; 512 for files): every offset and
   length is a multiple, as O_DIRECT requires. */
static unsigned int unit = 512;
#define DISCARD_ALIGN	4096u
#define MAX_THREADS	256

struct opts {
	const char *path;
	unsigned int threads;
	unsigned int ops;
	uint64_t seed;
	uint32_t max_bytes;
	int zeros;
	int discard;
	unsigned int timeout_s;
};

struct worker {
	const struct opts *o;
	int fd;
	int is_file;
	unsigned int index;
	int cpu;		/* -1: not pinned */
	uint64_t base;		/* the region: [base, base + len) */
	uint64_t len;
	uint64_t rng;
	unsigned char *shadow;	/* what the region must hold */
	unsigned char *buf;	/* O_DIRECT buffer, max_bytes, 4 KiB aligned */
	unsigned char *zero;	/* max_bytes of zeros */
	uint64_t written;	/* bytes */
	uint64_t read;
	int rc;
};

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

static void rng_fill(uint64_t *s, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void print_bytes(const char *label, const unsigned char *p, size_t n)
{
	fprintf(stderr, "  %s:", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

/* 0 when equal; otherwise report the first difference and return T_FAIL. */
static int compare(const struct worker *w, const char *what, uint64_t off,
		   const unsigned char *want, const unsigned char *got, size_t n)
{
	size_t i, bad = 0, first = n;

	if (memcmp(want, got, n) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (want[i] != got[i]) {
			bad++;
			if (first == n)
				first = i;
		}
	}
	fprintf(stderr, "ublk-io: thread %u: %s: mismatch at device byte "
		"%" PRIu64 " (sector %" PRIu64 " + %" PRIu64 "), %zu of %zu "
		"bytes differ in the I/O at %" PRIu64 "\n", w->index, what,
		w->base + off + first, (w->base + off + first) / unit,
		(w->base + off + first) % unit, bad, n, w->base + off);
	n = n - first < 16 ? n - first : 16;
	print_bytes("expected", want + first, n);
	print_bytes("got     ", got + first, n);
	return T_FAIL;
}

static int io_full(const struct worker *w, int write, uint64_t off, size_t n)
{
	ssize_t r;

	if (write)
		r = pwrite(w->fd, w->buf, n, (off_t)(w->base + off));
	else
		r = pread(w->fd, w->buf, n, (off_t)(w->base + off));
	if (r == (ssize_t)n)
		return 0;
	fprintf(stderr, "ublk-io: thread %u: %s %zu bytes at %" PRIu64 ": %s\n",
		w->index, write ? "write" : "read", n, w->base + off,
		r < 0 ? strerror(errno) : "short transfer");
	return T_FAIL;
}

/* Read [off, off + n) of the region and compare with the shadow (or zeros). */
static int read_check(struct worker *w, const char *what, uint64_t off, size_t n)
{
	const unsigned char *want = w->o->zeros ? w->zero : w->shadow + off;

	if (io_full(w, 0, off, n))
		return T_FAIL;
	w->read += n;
	return compare(w, what, off, want, w->buf, n);
}

/* A random length, a multiple of unit, at most max_bytes and left bytes. */
static size_t random_len(struct worker *w, uint64_t left)
{
	uint64_t n = (1 + rng_below(&w->rng, w->o->max_bytes / unit)) * unit;

	return (size_t)(n < left ? n : left);
}

/* The whole region, in random-length pieces. */
static int read_region(struct worker *w, const char *what)
{
	uint64_t off = 0;

	while (off < w->len) {
		size_t n = random_len(w, w->len - off);

		if (read_check(w, what, off, n))
			return T_FAIL;
		off += n;
	}
	return 0;
}

/* The region's starting content becomes the shadow. */
static int load_shadow(struct worker *w)
{
	uint64_t off = 0;

	while (off < w->len) {
		size_t n = random_len(w, w->len - off);

		if (io_full(w, 0, off, n))
			return T_FAIL;
		if (w->o->zeros && compare(w, "initial read", off, w->zero,
					   w->buf, n))
			return T_FAIL;
		memcpy(w->shadow + off, w->buf, n);
		w->read += n;
		off += n;
	}
	return 0;
}

static int write_one(struct worker *w, unsigned int op)
{
	uint64_t off = rng_below(&w->rng, w->len / unit) * unit;
	size_t n = random_len(w, w->len - off);
	char what[64];

	rng_fill(&w->rng, w->buf, n);
	if (io_full(w, 1, off, n))
		return T_FAIL;
	w->written += n;
	if (!w->o->zeros)
		memcpy(w->shadow + off, w->buf, n);
	snprintf(what, sizeof(what), "read-back of write %u", op);
	return read_check(w, what, off, n);
}

static int discard_range(struct worker *w, uint64_t off, uint64_t n)
{
	uint64_t range[2] = { w->base + off, n };
	int r;

	if (w->is_file)
		r = fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)range[0], (off_t)n);
	else
		r = ioctl(w->fd, BLKDISCARD, range);
	if (r == 0)
		return 0;
	fprintf(stderr, "ublk-io: thread %u: discard %" PRIu64 " bytes at %"
		PRIu64 ": %s\n", w->index, n, range[0], strerror(errno));
	return T_FAIL;
}

/* One aligned range discarded: zeros there, the old data around it. */
static int discard_one(struct worker *w)
{
	uint64_t units = w->len / DISCARD_ALIGN;
	uint64_t off = rng_below(&w->rng, units) * DISCARD_ALIGN;
	uint64_t max = w->o->max_bytes / DISCARD_ALIGN;
	uint64_t n = (1 + rng_below(&w->rng, max ? max : 1)) * DISCARD_ALIGN;

	if (n > w->len - off)
		n = w->len - off;
	if (discard_range(w, off, n))
		return T_FAIL;
	memset(w->shadow + off, 0, n);
	return read_region(w, "read after discard");
}

static int worker_body(struct worker *w)
{
	if (load_shadow(w))
		return T_FAIL;
	for (unsigned int op = 0; op < w->o->ops; op++)
		if (write_one(w, op))
			return T_FAIL;
	if (fsync(w->fd) != 0) {
		fprintf(stderr, "ublk-io: thread %u: fsync: %s\n", w->index,
			strerror(errno));
		return T_FAIL;
	}
	if (read_region(w, "final read"))
		return T_FAIL;
	if (w->o->discard && discard_one(w))
		return T_FAIL;
	return T_PASS;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	w->rc = worker_body(w);
	return NULL;
}

static void on_alarm(int sig)
{
	static const char msg[] = "ublk-io: timed out: an I/O never completed "
				  "(a lost request, or a hung server)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int usage(void)
{
	printf("SKIP: usage: run by tests/vm/ublk-*.sh: ublk-io DEVICE "
	       "[--threads T] [--ops N] [--seed S] [--max-kib K] [--zeros] "
	       "[--discard] [--timeout SECONDS]\n");
	return T_SKIP;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-kib", required_argument, NULL, 'k' },
		{ "zeros", no_argument, NULL, 'z' },
		{ "discard", no_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ 0 }
	};
	uint64_t v;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			bad |= parse_u64(optarg, 1, MAX_THREADS, &v);
			o->threads = (unsigned int)v;
			break;
		case 'n':
			bad |= parse_u64(optarg, 0, 1u << 20, &v);
			o->ops = (unsigned int)v;
			break;
		case 's':
			bad |= parse_u64(optarg, 0, UINT64_MAX, &o->seed);
			break;
		case 'k':
			bad |= parse_u64(optarg, 1, 1024, &v);
			o->max_bytes = (uint32_t)v << 10;
			break;
		case 'z':
			o->zeros = 1;
			break;
		case 'd':
			o->discard = 1;
			break;
		case 'T':
			bad |= parse_u64(optarg, 1, 86400, &v);
			o->timeout_s = (unsigned int)v;
			break;
		default:
			bad = 1;
		}
	}
	if (bad) {
		fprintf(stderr, "ublk-io: bad option or value\n");
		return T_ERROR;
	}
	if (optind != argc - 1)
		return usage();
	o->path = argv[optind];
	return T_PASS;
}

static int device_size(int fd, const char *path, uint64_t *size, int *is_file)
{
	struct stat st;
	int bs;

	if (fstat(fd, &st) != 0)
		return -errno;
	*is_file = S_ISREG(st.st_mode);
	if (*is_file) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode)) {
		fprintf(stderr, "ublk-io: %s: not a block device or file\n", path);
		return -ENOTBLK;
	}
	if (ioctl(fd, BLKGETSIZE64, size) != 0)
		return -errno;
	if (ioctl(fd, BLKSSZGET, &bs) == 0 && bs > 0)
		unit = (unsigned int)bs;
	return 0;
}

/* The n-th CPU this process may run on, round-robin; -1 if unknown. */
static int nth_cpu(const cpu_set_t *set, unsigned int n)
{
	int count = CPU_COUNT(set), seen = 0;

	if (count <= 0)
		return -1;
	n %= (unsigned int)count;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set) && (unsigned int)seen++ == n)
			return cpu;
	return -1;
}

static int worker_init(struct worker *w, const struct opts *o, unsigned int i,
		       uint64_t region, const cpu_set_t *cpus)
{
	*w = (struct worker){
		.o = o, .index = i, .base = i * region, .len = region,
		.rng = o->seed * 0x100000001b3ull + i + 1,
		.cpu = nth_cpu(cpus, i),
	};
	w->shadow = malloc(region);
	w->zero = calloc(1, o->max_bytes);
	if (!w->shadow || !w->zero ||
	    posix_memalign((void **)&w->buf, 4096, o->max_bytes) != 0) {
		fprintf(stderr, "ublk-io: out of memory for thread %u\n", i);
		return T_ERROR;
	}
	return T_PASS;
}

static int run_workers(struct worker *w, unsigned int n)
{
	pthread_t tid[MAX_THREADS];
	unsigned int i, started;
	int rc = T_PASS;

	for (started = 0; started < n; started++) {
		if (pthread_create(&tid[started], NULL, worker_main, &w[started])) {
			fprintf(stderr, "ublk-io: cannot start thread %u\n", started);
			rc = T_ERROR;
			break;
		}
	}
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].rc != T_PASS && rc == T_PASS)
			rc = w[i].rc;
	}
	return rc;
}

static void report(const struct opts *o, const struct worker *w,
		   double elapsed_s)
{
	uint64_t wr = 0, rd = 0;

	for (unsigned int i = 0; i < o->threads; i++) {
		wr += w[i].written;
		rd += w[i].read;
	}
	printf("ublk-io: %s: %u threads x %u writes: %.1f MiB written, %.1f MiB "
	       "read and %s in %.1f s\n", o->path, o->threads, o->ops,
	       wr / 1048576.0, rd / 1048576.0,
	       o->zeros ? "all zeros" : "all as written", elapsed_s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const struct opts *o, int fd, uint64_t size, int is_file)
{
	uint64_t region = size / o->threads / DISCARD_ALIGN * DISCARD_ALIGN;
	struct worker *w = calloc(o->threads, sizeof(*w));
	cpu_set_t cpus;
	double start = now_s();
	int rc = T_PASS;

	if (!w)
		return T_ERROR;
	if (region == 0) {
		fprintf(stderr, "ublk-io: %s: %" PRIu64 " bytes is too small for "
			"%u threads\n", o->path, size, o->threads);
		free(w);
		return T_ERROR;
	}
	CPU_ZERO(&cpus);
	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0)
		CPU_ZERO(&cpus);
	for (unsigned int i = 0; i < o->threads && rc == T_PASS; i++) {
		rc = worker_init(&w[i], o, i, region, &cpus);
		w[i].fd = fd;
		w[i].is_file = is_file;
	}
	if (rc == T_PASS)
		rc = run_workers(w, o->threads);
	if (rc == T_PASS)
		report(o, w, now_s() - start);
	for (unsigned int i = 0; i < o->threads; i++) {
		free(w[i].shadow);
		free(w[i].zero);
		free(w[i].buf);
	}
	free(w);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.threads = 4, .ops = 32, .seed = 1, .max_bytes = 1u << 20,
		.timeout_s = 300,
	};
	uint64_t size = 0;
	int fd, rc, is_file = 0;

	rc = parse_opts(argc, argv, &o);
	if (rc != T_PASS)
		return rc;
	signal(SIGALRM, on_alarm);
	alarm(o.timeout_s);
	fd = open(o.path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ublk-io: open %s: %s\n", o.path, strerror(errno));
		return T_ERROR;
	}
	rc = device_size(fd, o.path, &size, &is_file);
	if (rc < 0) {
		fprintf(stderr, "ublk-io: size of %s: %s\n", o.path, strerror(-rc));
		close(fd);
		return T_ERROR;
	}
	printf("ublk-io: %s: %" PRIu64 " bytes, %u threads x %u writes of up "
	       "to %u KiB, seed %" PRIu64 "%s%s\n", o.path, size, o.threads,
	       o.ops, o.max_bytes >> 10, o.seed, o.zeros ? ", expect zeros" : "",
	       o.discard ? ", discard" : "");
	fflush(stdout);
	rc = run(&o, fd, size, is_file);
	close(fd);
	return rc;
}
