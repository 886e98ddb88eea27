/*
 * cgroup.c - an engine's memory limit, enforced by the kernel: a cgroup
 * <mount>/cohete/<model> with the spec's memory_max_bytes, swap included
 * where the controller can say so, so an engine that outgrows its budget
 * is killed by the kernel's OOM killer instead of pushing the rest of the
 * device into swap.
 *
 * Where the memory controller is depends on the machine: cgroup v2 at
 * /sys/fs/cgroup (a Jetson with a recent systemd), v2 beside v1 at
 * /sys/fs/cgroup/unified with the memory controller still on v1's
 * /sys/fs/cgroup/memory (hybrid hosts, L4T R32), or none that we may
 * write (a container). The mounts are read from /proc/self/mounts and the
 * first one we can make <mount>/cohete in, with the memory controller on,
 * is used; without one the supervisor polls the group's RSS instead.
 *
 * The directory is made afresh for each start (removed once the engine is
 * gone), so its OOM counter starts at what it was when the engine did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int read_text(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += len)
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[len] == '\0' || p[len] == ' ' || p[len] == '\n'))
			return 1;
	return 0;
}

/* v2: the memory controller handed down to <mount>/cohete's children. */
static int enable_v2(const char *mount, const char *dir)
{
	char text[512];

	if (read_text(mount, "cgroup.controllers", text, sizeof(text)) < 0 ||
	    !has_word(text, "memory"))
		return -EOPNOTSUPP;
	if (read_text(mount, "cgroup.subtree_control", text, sizeof(text)) < 0)
		return -EOPNOTSUPP;
	if (!has_word(text, "memory") && write_text(mount, "cgroup.subtree_control",
						    "+memory") < 0)
		return -EACCES;
	if (read_text(dir, "cgroup.subtree_control", text, sizeof(text)) == 0 &&
	    has_word(text, "memory"))
		return 0;
	return write_text(dir, "cgroup.subtree_control", "+memory") < 0 ? -EACCES : 0;
}

/* Make <mount>/cohete and check that limits can be set below it. */
static int try_mount(const char *mount, int version)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/cohete", mount) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (version == 1) {
		char probe[PATH_MAX];

		snprintf(probe, sizeof(probe), "%s/memory.limit_in_bytes", mount);
		if (access(probe, F_OK) < 0)
			return -EOPNOTSUPP;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (version == 2)
		return enable_v2(mount, dir);
	snprintf(dir, sizeof(dir), "%s/cohete/memory.limit_in_bytes", mount);
	return access(dir, W_OK) == 0 ? 0 : -EACCES;
}

/* The cgroup mounts of /proc/self/mounts: v2 ones first, then v1 memory. */
static int scan_mounts(char *mount, size_t size, char *why, size_t why_size)
{
	char line[1024], dev[256], mp[PATH_MAX], type[32], opts[512];
	int found = 0;

	for (int want = 2; want >= 1 && !found; want--) {
		FILE *f = fopen("/proc/self/mounts", "re");

		if (!f)
			break;
		while (!found && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%255s %4095s %31s %511s", dev, mp, type, opts) != 4)
				continue;
			if (want == 2 ? strcmp(type, "cgroup2") :
			    strcmp(type, "cgroup") || !strstr(opts, "memory"))
				continue;
			if (try_mount(mp, want) == 0 && strlen(mp) < size) {
				memcpy(mount, mp, strlen(mp) + 1);
				found = want;
			}
		}
		fclose(f);
	}
	if (!found)
		snprintf(why, why_size, "no writable cgroup with the memory controller "
			 "(/proc/self/mounts): memory limits by polling RSS");
	return found;
}

int coh__cgroup_find(const char *want, char *mount, size_t size, char *why,
		     size_t why_size)
{
	char probe[PATH_MAX];
	int version;

	mount[0] = '\0';
	why[0] = '\0';
	if (!want)
		return scan_mounts(mount, size, why, why_size);
	if (!*want) {
		snprintf(why, why_size, "no cgroup: memory limits by polling RSS");
		return 0;
	}
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", want);
	version = access(probe, F_OK) == 0 ? 2 : 1;
	if (try_mount(want, version) < 0 || strlen(want) >= size) {
		snprintf(why, why_size, "%s: no memory controller we may use (cgroup v%d): "
			 "memory limits by polling RSS", want, version);
		return 0;
	}
	memcpy(mount, want, strlen(want) + 1);
	return version;
}

static int set_limit(const struct coh__cgroup *cg, uint64_t limit)
{
	char text[32];
	int ret;

	snprintf(text, sizeof(text), "%llu", (unsigned long long)limit);
	if (cg->version == 2) {
		ret = write_text(cg->path, "memory.max", text);
		/* Over the limit means killed, not swapped; one kill for all. */
		write_text(cg->path, "memory.swap.max", "0");
		write_text(cg->path, "memory.oom.group", "1");
		return ret;
	}
	ret = write_text(cg->path, "memory.limit_in_bytes", text);
	/* Absent without swap accounting (swapaccount=1): RAM only then. */
	write_text(cg->path, "memory.memsw.limit_in_bytes", text);
	return ret;
}

int coh__cgroup_prepare(struct coh__cgroup *cg, int version, const char *mount,
			const char *model, uint64_t limit, int *procs_fd,
			struct pep_err *err)
{
	char path[PATH_MAX];
	int ret;

	*procs_fd = -1;
	cg->version = version;
	if ((size_t)snprintf(cg->path, sizeof(cg->path), "%s/cohete/%s", mount, model) >=
	    sizeof(cg->path))
		return pep_err_set(err, -ENAMETOOLONG, "%s/cohete/%s: path too long", mount,
				   model);
	/* Afresh: a leftover of an earlier start goes if nothing is in it. */
	rmdir(cg->path);
	if (mkdir(cg->path, 0755) < 0 && errno != EEXIST)
		return pep_err_errno(err, "cgroup %s", cg->path);
	ret = set_limit(cg, limit);
	if (ret < 0)
		return pep_err_set(err, ret, "cgroup %s: memory limit %llu: %s", cg->path,
				   (unsigned long long)limit, strerror(-ret));
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	*procs_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (*procs_fd < 0)
		return pep_err_errno(err, "cgroup %s", path);
	return 0;
}

/* "key N" in a flat keyed file such as memory.events. */
static long keyed(const char *text, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtol(p + len + 1, NULL, 10);
	return -1;
}

long coh__cgroup_oom_kills(const struct coh__cgroup *cg)
{
	char text[1024];

	if (!cg->version)
		return -1;
	if (cg->version == 2)
		return read_text(cg->path, "memory.events", text, sizeof(text)) < 0 ? -1 :
		       keyed(text, "oom_kill");
	if (read_text(cg->path, "memory.oom_control", text, sizeof(text)) == 0 &&
	    keyed(text, "oom_kill") >= 0)
		return keyed(text, "oom_kill");
	/* Kernels before 4.13 do not count kills: the limit was hit at least. */
	if (read_text(cg->path, "memory.failcnt", text, sizeof(text)) < 0)
		return -1;
	return strtol(text, NULL, 10) > 0 ? 1 : 0;
}

void coh__cgroup_remove(struct coh__cgroup *cg)
{
	if (cg->version && cg->path[0])
		rmdir(cg->path);
	cg->version = 0;
	cg->path[0] = '\0';
}
