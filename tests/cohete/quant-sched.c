/*
 * quant-sched.c - one set of worker threads per process: sgemm, a pool's
 * function tasks and a quantization all run on pepita's default
 * scheduler. Threads are counted in /proc/self/task, all of them and by
 * name (the scheduler names its workers "pep-sched"): the first threaded
 * sgemm adds the default's workers and nothing else; the pool and the
 * quantizer start no workers of their own while they run, and leave the
 * count as they found it. sgemm inside a pool task runs on the task's
 * workers (fork-join) and gets the right answer. At exit the workers are
 * stopped and freed: this program is clean under
 * valgrind --leak-check=full (tests/pepita/sched-default.c has the
 * default's fork and exit cases).
 *
 * Here, not under tests/pepita/: it quantizes, and pepita's tests do not
 * use cohete.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pepita/pool.h>
#include <pepita/sched.h>
#include <pepita/simd.h>
#include <cohete/quant.h>

#include "harness.h"

#define N	512		/* sgemm: big enough to split over threads */

/* Threads of this process; named: only those called name. */
static int count_threads(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[64], comm[32];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		if (!name) {
			n++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			n += strcmp(comm, name) == 0;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

static int workers(void)
{
	return count_threads("pep-sched");
}

/*
 * Whether the count of threads (named name, or all) comes to want within
 * two seconds: a joined thread may still be on its way out of
 * /proc/self/task (for longer under qemu-user), never the other way.
 */
static int settles_at(const char *name, int want)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 200; i++) {
		if (count_threads(name) == want)
			return 1;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* C = A B for n x n all-ones A and B: every element must be n. */
static int sgemm_ones(size_t n)
{
	float *a = malloc(n * n * sizeof(float));
	float *c = malloc(n * n * sizeof(float));
	int ok = a && c;

	for (size_t i = 0; ok && i < n * n; i++)
		a[i] = 1.0f;
	ok = ok && pep_sgemm(PEP_ROW_MAJOR, PEP_NO_TRANS, PEP_NO_TRANS, n, n,
			     n, 1.0f, a, n, a, n, 0.0f, c, n) == 0;
	for (size_t i = 0; ok && i < n * n; i++)
		ok = c[i] == (float)n;
	free(a);
	free(c);
	return ok;
}

static int base, nworkers;

static void *nothing(void *arg)
{
	return arg;
}

static int test_sgemm_starts_the_default(void)
{
	pthread_t t;

	/* ThreadSanitizer's runtime starts a thread of its own at the first
	 * pthread_create: let it, before the count that all others follow. */
	CHECK(pthread_create(&t, NULL, nothing, NULL) == 0);
	pthread_join(t, NULL);
	CHECK(settles_at(NULL, count_threads(NULL)));
	base = count_threads(NULL);
	CHECK(base >= 1);
	CHECK(workers() == 0);
	pep_simd_set_threads(2);
	CHECK(sgemm_ones(N));
	CHECK(pep_sched_default() != NULL);
	nworkers = (int)pep_sched_workers(pep_sched_default());
	CHECK(workers() == nworkers);
	CHECK(count_threads(NULL) == base + nworkers);
	/* Again: nothing new. */
	CHECK(sgemm_ones(N));
	CHECK(count_threads(NULL) == base + nworkers);
	return T_PASS;
}

struct fn_seen {
	int worker_id;
	int workers;
	int sgemm_ok;
};

static int pool_fn(void *arg, struct pep_task_result *res)
{
	struct fn_seen *s = arg;

	(void)res;
	s->worker_id = pep_sched_worker_id();
	s->workers = workers();
	s->sgemm_ok = sgemm_ones(256);
	return 0;
}

static int test_pool_uses_the_default(void)
{
	struct pep_pool_opts o = { .no_local = 1 };
	struct fn_seen seen = { -1, -1, 0 };
	struct pep_task t = { .kind = PEP_TASK_FN, .fn = pool_fn, .arg = &seen };
	struct pep_future *f;
	struct pep_pool *p;

	CHECK(pep_pool_create(&p, &o, NULL) == 0);
	CHECK(pep_pool_sched(p) == pep_sched_default());
	CHECK(pep_pool_submit(p, &t, NULL, NULL, &f, NULL) == 0);
	CHECK(pep_future_wait(f, 10000) == 0);
	pep_future_release(f);
	CHECK(workers() == nworkers);
	pep_pool_destroy(p);
	CHECK(seen.worker_id >= 0 && seen.worker_id < nworkers);
	CHECK(seen.workers == nworkers);
	CHECK(seen.sgemm_ok);
	CHECK(settles_at(NULL, base + nworkers));
	return T_PASS;
}

/* A pool given workers of its own still starts them (and stops them). */
static int test_pool_own_workers(void)
{
	struct pep_pool_opts o = { .workers = 1, .no_local = 1 };
	struct pep_pool_opts both = { .workers = 1,
				      .sched = pep_sched_default() };
	struct pep_pool *p;

	CHECK(pep_pool_create(&p, &o, NULL) == 0);
	CHECK(pep_pool_sched(p) != pep_sched_default());
	CHECK(workers() == nworkers + 1);
	pep_pool_destroy(p);
	CHECK(settles_at("pep-sched", nworkers));
	CHECK(settles_at(NULL, base + nworkers));
	CHECK(pep_pool_create(&p, &both, NULL) == -EINVAL);
	return T_PASS;
}

static char dir[] = "/tmp/cohete-quant-sched-XXXXXX";

/* One F16 tensor of 256 x 512 in a minimal llama file. */
static int write_model(const char *path)
{
	uint64_t ne[2] = { 256, 512 };
	uint16_t *data = malloc(256 * 512 * sizeof(uint16_t));
	struct coh_gguf_writer *w;
	int rc;

	if (!data || coh_gguf_writer_create(&w, path, NULL)) {
		free(data);
		return -1;
	}
	for (size_t i = 0; i < 256 * 512; i++)
		data[i] = pep_f32_to_f16((float)(i % 97) / 97.0f - 0.5f);
	rc = coh_gguf_writer_add_str(w, "general.architecture", "llama") ||
	     coh_gguf_writer_add_u32(w, "llama.block_count", 1) ||
	     coh_gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", 2, ne,
					COH_GGML_F16) < 0 ||
	     coh_gguf_writer_write_tensor_data(w, 0, data,
					       256 * 512 * sizeof(uint16_t));
	free(data);
	if (rc) {
		coh_gguf_writer_abort(w);
		return -1;
	}
	return coh_gguf_writer_finish(w, NULL) ? -1 : 0;
}

struct counts {
	int calls, workers, threads;
};

/* On the calling thread, between steps: who is running now. */
static void on_progress(const struct coh_quantize_progress *pr, void *arg)
{
	struct counts *c = arg;

	(void)pr;
	c->calls++;
	c->workers = workers();
	c->threads = count_threads(NULL);
}

static int test_quantize_uses_the_default(void)
{
	struct counts c = { 0, -1, -1 };
	struct coh_quantize_opts o = { .ftype = COH_FTYPE_Q8_0,
				       .progress = on_progress, .arg = &c };
	char in[64], out[64];
	struct pep_err err;
	int rc;

	snprintf(in, sizeof(in), "%s/in.gguf", dir);
	snprintf(out, sizeof(out), "%s/out.gguf", dir);
	CHECK(write_model(in) == 0);
	pep_err_clear(&err);
	rc = coh_quantize_file(in, out, &o, &err);
	if (rc)
		fprintf(stderr, "quantize: %s\n", err.msg);
	unlink(in);
	unlink(out);
	CHECK(rc == 0);
	CHECK(c.calls >= 1);
	CHECK(c.workers == nworkers);
	CHECK(c.threads == base + nworkers);
	CHECK(count_threads(NULL) == base + nworkers);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	if (count_threads(NULL) < 1) {
		printf("SKIP: no /proc/self/task\n");
		return T_SKIP;
	}
	if (!mkdtemp(dir))
		return T_ERROR;
	/* In order: the first starts the default the others must share. */
	if (t_run("sgemm starts the default scheduler",
		  test_sgemm_starts_the_default, &rc) == T_PASS) {
		t_run("a pool runs on it", test_pool_uses_the_default, &rc);
		t_run("a pool with workers of its own",
		      test_pool_own_workers, &rc);
		t_run("quantizing runs on it", test_quantize_uses_the_default,
		      &rc);
	}
	rmdir(dir);
	return rc;
}
