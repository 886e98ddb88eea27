/*
 * bench/status: microseconds for one full status sample (coh_status_sample)
 * on a fixture tree and on the live host.
 *
 * The anchor is "peak": the same files read and the same directories
 * listed with bare open/read/getdents/close and no parsing, in the same run
 * (the trace comes from the sysroot's on_read hook). speedup = peak / ours,
 * so it is below 1 and says how close the sample is to the cost of its I/O
 * alone.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/status.h>
#include <cohete/sysroot.h>

#include "../bench.h"

#define REPS 15
#define ITERS 40
#define MAX_FILES 1024

struct trace {
	int recording;
	unsigned int count;
	int dirfd;
	char *paths[MAX_FILES];
	unsigned char is_dir[MAX_FILES];
};

static void on_read(const char *path, void *arg)
{
	struct trace *t = arg;

	struct stat st;

	if (!t->recording || t->count == MAX_FILES)
		return;
	t->is_dir[t->count] = fstatat(t->dirfd, *path == '/' && path[1] ?
				      path + 1 : ".", &st, 0) == 0 &&
			      S_ISDIR(st.st_mode);
	t->paths[t->count++] = strdup(path);
}

static double time_ours(const struct coh_sysroot *sr, struct coh_status *st)
{
	uint64_t t0 = pep_time_ns();

	for (int i = 0; i < ITERS; i++)
		coh_status_sample(sr, NULL, st);
	return (double)(pep_time_ns() - t0) / ITERS / 1000.0;
}

static double time_peak(int dirfd, const struct trace *t)
{
	static char buf[64 * 1024];
	uint64_t t0 = pep_time_ns();

	for (int i = 0; i < ITERS; i++) {
		for (unsigned int k = 0; k < t->count; k++) {
			int fd = openat(dirfd, t->paths[k] + 1, O_RDONLY | O_CLOEXEC);
			struct dirent *de;
			DIR *dir;

			if (fd < 0)
				continue;
			if (!t->is_dir[k]) {
				/* One read: the least any reader can do. */
				if (read(fd, buf, sizeof(buf)) < 0)
					buf[0] = 0;
				close(fd);
				continue;
			}
			dir = fdopendir(fd);
			while (dir && (de = readdir(dir)))
				buf[0] = de->d_name[0];
			if (dir)
				closedir(dir);
		}
	}
	return (double)(pep_time_ns() - t0) / ITERS / 1000.0;
}

static int bench(const char *name, const char *root)
{
	struct trace t = { 0 };
	struct coh_sysroot_opts opts = { .root = root, .on_read = on_read,
					 .on_read_arg = &t };
	struct coh_status *st = malloc(sizeof(*st));
	struct coh_sysroot *sr;
	double ours[REPS], peak[REPS], o, p;
	int dirfd;

	if (!st || coh_sysroot_open(&sr, &opts, NULL) < 0) {
		fprintf(stderr, "bench status: cannot open %s\n", root);
		free(st);
		return 1;
	}
	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	t.dirfd = dirfd;
	t.recording = 1;
	coh_status_sample(sr, NULL, st);
	t.recording = 0;
	for (int r = 0; r < REPS; r++) {
		ours[r] = time_ours(sr, st);
		peak[r] = time_peak(dirfd, &t);
	}
	o = bench_median(ours, REPS);
	p = bench_median(peak, REPS);
	printf("# %s: %u files read or listed per sample\n", name, t.count);
	printf("BENCH status/%s us ours=%.1f peak=%.1f speedup=%.2f\n", name, o, p,
	       p / o);
	close(dirfd);
	for (unsigned int k = 0; k < t.count; k++)
		free(t.paths[k]);
	coh_sysroot_close(sr);
	free(st);
	return 0;
}

int main(int argc, char **argv)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	char root[512];
	int rc = 0;

	snprintf(root, sizeof(root), "%s/sysroots/%s",
		 fixtures ? fixtures : "tests/fixtures",
		 argc > 1 ? argv[1] : "agx-orin-64gb-r36");
	rc |= bench("fixture-sample", root);
	rc |= bench("live-sample", "/");
	return rc;
}
