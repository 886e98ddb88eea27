/*
 * Kernel zram devices through sysfs, the way zramctl drives them: find a
 * free device or hot_add one, write comp_algorithm, then disksize, then
 * mem_limit; reset before hot_remove. Everything that can be checked is
 * checked before the first write, and a set-up that fails after it
 * changed something is undone (reset; hot_remove when it added the
 * device), so no device is left half-configured.
 *
 * The swap signature is written here rather than by running mkswap: a
 * library does not exec programs that may not be installed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/swap.h>
#include <unistd.h>
#include <linux/fs.h>

#include <pepita/zram.h>

#define SYS_BLOCK	"/sys/block"
#define ZRAM_CONTROL	"/sys/class/zram-control"
#define PROC_SWAPS	"/proc/swaps"
#define PROC_MOUNTS	"/proc/self/mounts"

#define PATH_MAX_ZRAM	96
#define ATTR_MAX	512	/* the longest attribute we read (comp_algorithm) */

static void attr_path(char *buf, size_t size, int id, const char *attr)
{
	snprintf(buf, size, SYS_BLOCK "/zram%d/%s", id, attr);
}

static int dev_exists(int id)
{
	char path[PATH_MAX_ZRAM];

	if (id < 0)
		return 0;
	snprintf(path, sizeof(path), SYS_BLOCK "/zram%d", id);
	return access(path, F_OK) == 0;
}

/* A sysfs file's text, NUL-terminated. -errno, with err naming the file. */
static int read_file(const char *path, char *buf, size_t size,
		     struct pep_err *err)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			return pep_err_errno(err, "read %s: needs root", path);
		return pep_err_errno(err, "open %s", path);
	}
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int ret = pep_err_errno(err, "read %s", path);

		close(fd);
		return ret;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

static int read_attr(int id, const char *attr, char *buf, size_t size,
		     struct pep_err *err)
{
	char path[PATH_MAX_ZRAM];

	attr_path(path, sizeof(path), id, attr);
	return read_file(path, buf, size, err);
}

/*
 * Write value to a sysfs file in one write(), as the kernel's store
 * functions want. The error names the file and the value; a refusal for
 * want of privilege says so.
 */
static int write_file(const char *path, const char *value, struct pep_err *err)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		do
			n = write(fd, value, len);
		while (n < 0 && errno == EINTR);
		saved = n < 0 ? errno : n != (ssize_t)len ? EIO : 0;
		close(fd);
		if (!saved)
			return 0;
		errno = saved;
	}
	if (errno == EACCES || errno == EPERM)
		return pep_err_errno(err, "write %s to %s: needs root", value, path);
	return pep_err_errno(err, "write %s to %s", value, path);
}

static int write_attr(int id, const char *attr, const char *value,
		      struct pep_err *err)
{
	char path[PATH_MAX_ZRAM];

	attr_path(path, sizeof(path), id, attr);
	return write_file(path, value, err);
}

static int read_attr_u64(int id, const char *attr, uint64_t *v,
			 struct pep_err *err)
{
	char buf[64], *end;
	int ret;

	ret = read_attr(id, attr, buf, sizeof(buf), err);
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return pep_err_set(err, -EINVAL, SYS_BLOCK "/zram%d/%s: '%.32s' is "
				   "not a number", id, attr, buf);
	return 0;
}

/* Undo %XXX octal escapes (\040 for a space) of /proc/swaps and mounts. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/*
 * The second field of the line in a /proc table whose first is path
 * (into second, may be NULL). 1 found, 0 not (or the table unreadable).
 */
static int proc_table_find(const char *table, const char *path, char *second,
			   size_t size)
{
	char line[1024], first[512], sec[512];
	int found = 0;
	FILE *f;

	f = fopen(table, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%511s %511s", first, sec) != 2)
			continue;
		unescape(first);
		if (strcmp(first, path))
			continue;
		found = 1;
		if (second) {
			unescape(sec);
			snprintf(second, size, "%s", sec);
		}
	}
	fclose(f);
	return found;
}

PEP_API int pep_zram_info(int id, struct pep_zram_dev *dev, struct pep_err *err)
{
	char buf[ATTR_MAX], devpath[PATH_MAX_ZRAM];
	uint64_t v;
	int ret;

	if (!dev_exists(id))
		return pep_err_set(err, -ENODEV, "no " SYS_BLOCK "/zram%d: no such "
				   "zram device", id);
	memset(dev, 0, sizeof(*dev));
	dev->id = id;
	ret = read_attr_u64(id, "disksize", &dev->disksize, err);
	if (ret < 0)
		return ret;
	if (read_attr_u64(id, "initstate", &v, NULL) == 0)
		dev->initialised = v != 0;
	else
		dev->initialised = dev->disksize != 0;
	/* The rest is optional: a kernel or config may lack each. */
	if (read_attr(id, "comp_algorithm", buf, sizeof(buf), NULL) == 0)
		pep_zram_parse_algorithms(buf, dev->algorithm, dev->algorithms,
					  NULL);
	if (read_attr(id, "mm_stat", buf, sizeof(buf), NULL) < 0 ||
	    pep_zram_parse_mm_stat(buf, &dev->mm, NULL) < 0)
		memset(&dev->mm, 0, sizeof(dev->mm));
	if (read_attr(id, "io_stat", buf, sizeof(buf), NULL) < 0 ||
	    pep_zram_parse_io_stat(buf, &dev->io, NULL) < 0)
		memset(&dev->io, 0, sizeof(dev->io));
	snprintf(devpath, sizeof(devpath), "/dev/zram%d", id);
	dev->swap = proc_table_find(PROC_SWAPS, devpath, NULL, 0);
	proc_table_find(PROC_MOUNTS, devpath, dev->mountpoint,
			sizeof(dev->mountpoint));
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The ids of /sys/block/zram*, sorted, into a malloc()ed array. */
static int list_ids(int **ids, size_t *count, struct pep_err *err)
{
	size_t n = 0, cap = 0;
	struct dirent *de;
	int *v = NULL, *nv;
	DIR *d;

	*ids = NULL;
	*count = 0;
	d = opendir(SYS_BLOCK);
	if (!d && (errno == EACCES || errno == EPERM))
		return pep_err_errno(err, "open " SYS_BLOCK ": needs root");
	if (!d)
		return pep_err_errno(err, "open " SYS_BLOCK);
	while ((de = readdir(d))) {
		char *end;
		long id;

		if (strncmp(de->d_name, "zram", 4) || !de->d_name[4])
			continue;
		id = strtol(de->d_name + 4, &end, 10);
		if (*end || id < 0 || id > 1 << 20 || de->d_name[4] == '-' ||
		    de->d_name[4] == '+')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return pep_err_set(err, -ENOMEM, "zram list: out of memory");
			}
			v = nv;
		}
		v[n++] = (int)id;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_int);
	*ids = v;
	*count = n;
	return 0;
}

PEP_API int pep_zram_list(struct pep_zram_dev **devs, size_t *count,
			  struct pep_err *err)
{
	struct pep_zram_dev *out;
	size_t n, k = 0;
	int *ids, ret;

	*devs = NULL;
	*count = 0;
	ret = list_ids(&ids, &n, err);
	if (ret < 0 || !n)
		return ret;
	out = calloc(n, sizeof(*out));
	if (!out) {
		free(ids);
		return pep_err_set(err, -ENOMEM, "zram list: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		/* A device removed meanwhile is simply not listed. */
		ret = pep_zram_info(ids[i], &out[k], err);
		if (ret == -ENODEV)
			continue;
		if (ret < 0) {
			free(ids);
			free(out);
			return ret;
		}
		k++;
	}
	free(ids);
	*devs = out;
	*count = k;
	return 0;
}

/* Whether name is one of the space-separated names in list. */
static int name_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; ) {
		size_t len = strcspn(p, " ");

		if (len == n && !memcmp(p, name, n))
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

/* An algorithm the kernel lists on device id; err names what it offers. */
static int check_algorithm(int id, const char *algorithm, struct pep_err *err)
{
	char buf[ATTR_MAX], active[PEP_ZRAM_NAME_MAX], all[PEP_ZRAM_ALGOS_MAX];
	int ret;

	ret = read_attr(id, "comp_algorithm", buf, sizeof(buf), err);
	if (ret < 0)
		return ret;
	ret = pep_zram_parse_algorithms(buf, active, all, err);
	if (ret < 0)
		return ret;
	if (!name_listed(all, algorithm))
		return pep_err_set(err, -EINVAL, "unknown compression algorithm "
				   "'%.32s': the kernel offers %s", algorithm, all);
	return 0;
}

/*
 * The first existing device that is not set up into *free_id, and the
 * first device at all into *any (each -1 if none).
 */
static int find_free(int *free_id, int *any, struct pep_err *err)
{
	uint64_t size;
	size_t n;
	int *ids, ret;

	*free_id = -1;
	*any = -1;
	ret = list_ids(&ids, &n, err);
	if (ret < 0)
		return ret;
	if (n)
		*any = ids[0];
	for (size_t i = 0; i < n && *free_id < 0; i++)
		if (read_attr_u64(ids[i], "disksize", &size, NULL) == 0 && !size)
			*free_id = ids[i];
	free(ids);
	return 0;
}

static int hot_add(struct pep_err *err)
{
	char buf[32], *end;
	long id;
	int ret;

	if (access(ZRAM_CONTROL, F_OK) < 0)
		return pep_err_set(err, -ENODEV, "no free zram device and no "
				   ZRAM_CONTROL " to add one: is the zram module "
				   "loaded (modprobe zram)?");
	ret = read_file(ZRAM_CONTROL "/hot_add", buf, sizeof(buf), err);
	if (ret < 0)
		return ret;
	id = strtol(buf, &end, 10);
	if (end == buf || id < 0 || id > 1 << 20)
		return pep_err_set(err, -EIO, "read " ZRAM_CONTROL "/hot_add: "
				   "'%.16s' is not a device id", buf);
	return (int)id;
}

static int hot_remove(int id, struct pep_err *err)
{
	char value[16];

	snprintf(value, sizeof(value), "%d", id);
	return write_file(ZRAM_CONTROL "/hot_remove", value, err);
}

static int write_reset(int id, struct pep_err *err)
{
	int ret = write_attr(id, "reset", "1", err);

	if (ret == -EBUSY)
		return pep_err_set(err, -EBUSY, "zram%d is in use (mounted or "
				   "swap?): umount or swapoff it before reset",
				   id);
	return ret;
}

/*
 * Put a device we changed back as it was: reset it, restore the algorithm
 * a reset does not, and remove it if we added it. Best effort: the caller
 * already has the error worth reporting.
 */
static void undo_setup(int id, int added, const char *old_algorithm)
{
	char buf[ATTR_MAX], active[PEP_ZRAM_NAME_MAX];

	write_reset(id, NULL);
	if (added) {
		hot_remove(id, NULL);
		return;
	}
	if (old_algorithm[0] &&
	    read_attr(id, "comp_algorithm", buf, sizeof(buf), NULL) == 0 &&
	    pep_zram_parse_algorithms(buf, active, NULL, NULL) == 0 &&
	    strcmp(active, old_algorithm))
		write_attr(id, "comp_algorithm", old_algorithm, NULL);
}

/* Everything that can be refused without touching the device. */
static int check_setup(int id, const struct pep_zram_setup *cfg,
		       struct pep_err *err)
{
	uint64_t size;
	int ret;

	if (cfg->algorithm && id >= 0) {
		ret = check_algorithm(id, cfg->algorithm, err);
		if (ret < 0)
			return ret;
	}
	if (id < 0 || cfg->reset)
		return 0;
	ret = read_attr_u64(id, "disksize", &size, err);
	if (ret < 0)
		return ret;
	if (size)
		return pep_err_set(err, -EBUSY, "zram%d is already set up "
				   "(disksize %llu): use --reset to set it up "
				   "anew", id, (unsigned long long)size);
	return 0;
}

/* The writes, in the kernel's order. */
static int configure(int id, const struct pep_zram_setup *cfg,
		     struct pep_err *err)
{
	char value[32];
	int ret;

	if (cfg->algorithm) {
		ret = write_attr(id, "comp_algorithm", cfg->algorithm, err);
		if (ret < 0)
			return ret;
	}
	snprintf(value, sizeof(value), "%llu", (unsigned long long)cfg->size);
	ret = write_attr(id, "disksize", value, err);
	if (ret < 0)
		return ret;
	if (cfg->mem_limit) {
		snprintf(value, sizeof(value), "%llu",
			 (unsigned long long)cfg->mem_limit);
		ret = write_attr(id, "mem_limit", value, err);
	}
	return ret;
}

/*
 * pep_zram_setup(), also telling whether the device was hot_added and
 * which algorithm it had, for undo_setup().
 */
static int setup(int id, const struct pep_zram_setup *cfg, int *added,
		 char old[PEP_ZRAM_NAME_MAX], struct pep_err *err)
{
	char buf[ATTR_MAX];
	int any, ret;

	*added = 0;
	old[0] = '\0';
	if (!cfg || !cfg->size)
		return pep_err_set(err, -EINVAL, "zram set-up: size 0: a device "
				   "needs a disksize above 0");
	if (id >= 0 && !dev_exists(id))
		return pep_err_set(err, -ENODEV, "no " SYS_BLOCK "/zram%d: no such "
				   "zram device", id);
	if (id < 0) {
		ret = find_free(&id, &any, err);
		if (ret < 0)
			return ret;
		/* Any device lists the algorithms: check before hot_add. */
		if (id < 0 && any >= 0 && cfg->algorithm) {
			ret = check_algorithm(any, cfg->algorithm, err);
			if (ret < 0)
				return ret;
		}
	}
	if (id >= 0) {
		ret = check_setup(id, cfg, err);
		if (ret < 0)
			return ret;
	} else {
		id = hot_add(err);
		if (id < 0)
			return id;
		*added = 1;
		ret = check_setup(id, cfg, err);
		if (ret < 0)
			goto undo;
	}
	if (read_attr(id, "comp_algorithm", buf, sizeof(buf), NULL) < 0 ||
	    pep_zram_parse_algorithms(buf, old, NULL, NULL) < 0)
		old[0] = '\0';
	if (cfg->reset) {
		ret = write_reset(id, err);
		if (ret < 0)
			goto undo;
	}
	ret = configure(id, cfg, err);
	if (ret < 0)
		goto undo;
	return id;
undo:
	undo_setup(id, *added, old);
	return ret;
}

PEP_API int pep_zram_setup(int id, const struct pep_zram_setup *cfg,
			   struct pep_err *err)
{
	char old[PEP_ZRAM_NAME_MAX];
	int added;

	return setup(id, cfg, &added, old, err);
}

PEP_API int pep_zram_reset(int id, struct pep_err *err)
{
	if (!dev_exists(id))
		return pep_err_set(err, -ENODEV, "no " SYS_BLOCK "/zram%d: no such "
				   "zram device", id);
	return write_reset(id, err);
}

PEP_API int pep_zram_remove(int id, struct pep_err *err)
{
	int ret = pep_zram_reset(id, err);

	if (ret < 0)
		return ret;
	if (access(ZRAM_CONTROL, F_OK) < 0)
		return pep_err_set(err, -EOPNOTSUPP, "zram%d reset, but no "
				   ZRAM_CONTROL " to remove it (kernel before "
				   "4.2?)", id);
	ret = hot_remove(id, err);
	if (ret == -EBUSY)
		return pep_err_set(err, -EBUSY, "zram%d is in use (open, mounted "
				   "or swap?): cannot remove it", id);
	return ret;
}

/*
 * The version-1 swap header (the kernel's union swap_header, which
 * <linux/swap.h> keeps to itself): after 1024 bytes for boot loaders, at
 * the start of the first page; "SWAPSPACE2" ends that page.
 */
struct swap_header_v1 {
	char bootbits[1024];
	uint32_t version;
	uint32_t last_page;
	uint32_t nr_badpages;
	unsigned char uuid[16];
	char volume_name[16];
	uint32_t padding[117];
	uint32_t badpages[1];
};

_Static_assert(offsetof(struct swap_header_v1, version) == 1024,
	       "swap header: version after the boot bits");
_Static_assert(offsetof(struct swap_header_v1, uuid) == 1036,
	       "swap header: uuid at 1036");
_Static_assert(offsetof(struct swap_header_v1, badpages) == 1536,
	       "swap header: badpages at 1536");
_Static_assert(sizeof(struct swap_header_v1) == 1540, "swap header size");

#define SWAP_MAGIC	"SWAPSPACE2"
#define SWAP_MAGIC_LEN	10
#define SWAP_MIN_PAGES	10	/* mkswap's minimum */

/* The header in one page: version 1, a random (v4) uuid, no label. */
static int fill_swap_header(char *page, size_t page_size, uint64_t bytes,
			    struct pep_err *err)
{
	struct swap_header_v1 *h = (struct swap_header_v1 *)page;
	uint64_t last = bytes / page_size - 1;

	memset(page, 0, page_size);
	h->version = 1;
	h->last_page = last > UINT32_MAX ? UINT32_MAX : (uint32_t)last;
	h->nr_badpages = 0;
	if (getrandom(h->uuid, sizeof(h->uuid), 0) != sizeof(h->uuid))
		return pep_err_errno(err, "getrandom (swap uuid)");
	h->uuid[6] = (h->uuid[6] & 0x0f) | 0x40;
	h->uuid[8] = (h->uuid[8] & 0x3f) | 0x80;
	memcpy(page + page_size - SWAP_MAGIC_LEN, SWAP_MAGIC, SWAP_MAGIC_LEN);
	return 0;
}

/* mkswap on /dev/zramN: the header page, then fsync. */
static int write_swap_signature(int id, struct pep_err *err)
{
	long page_size = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX_ZRAM];
	uint64_t bytes;
	char *page;
	int fd, ret;

	if (page_size < (long)sizeof(struct swap_header_v1) + SWAP_MAGIC_LEN)
		return pep_err_set(err, -EINVAL, "page size %ld too small for a "
				   "swap header", page_size);
	snprintf(path, sizeof(path), "/dev/zram%d", id);
	fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
		ret = pep_err_errno(err, "BLKGETSIZE64 %s", path);
		goto out;
	}
	if (bytes / (uint64_t)page_size < SWAP_MIN_PAGES) {
		ret = pep_err_set(err, -EINVAL, "%s: %llu bytes is too small for "
				  "swap (at least %d pages)", path,
				  (unsigned long long)bytes, SWAP_MIN_PAGES);
		goto out;
	}
	page = malloc((size_t)page_size);
	if (!page) {
		ret = pep_err_set(err, -ENOMEM, "swap header: out of memory");
		goto out;
	}
	ret = fill_swap_header(page, (size_t)page_size, bytes, err);
	if (ret == 0 && pwrite(fd, page, (size_t)page_size, 0) != page_size)
		ret = pep_err_errno(err, "write swap header to %s", path);
	if (ret == 0 && fsync(fd) < 0)
		ret = pep_err_errno(err, "fsync %s", path);
	free(page);
out:
	close(fd);
	return ret;
}

PEP_API int pep_zram_swap(int id, const struct pep_zram_setup *cfg,
			  int priority, struct pep_err *err)
{
	long page_size = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX_ZRAM], old[PEP_ZRAM_NAME_MAX];
	int added, flags = 0, ret;

	if (priority < -1 || priority > SWAP_FLAG_PRIO_MASK)
		return pep_err_set(err, -EINVAL, "swap priority %d: -1 (the "
				   "kernel's default) or 0 to %d", priority,
				   SWAP_FLAG_PRIO_MASK);
	if (cfg && cfg->size && cfg->size / (uint64_t)page_size < SWAP_MIN_PAGES)
		return pep_err_set(err, -EINVAL, "swap size %llu: at least %d "
				   "pages of %ld bytes", (unsigned long long)cfg->size,
				   SWAP_MIN_PAGES, page_size);
	id = setup(id, cfg, &added, old, err);
	if (id < 0)
		return id;
	ret = write_swap_signature(id, err);
	if (ret < 0)
		goto undo;
	if (priority >= 0)
		flags = SWAP_FLAG_PREFER |
			((priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
	snprintf(path, sizeof(path), "/dev/zram%d", id);
	if (swapon(path, flags) < 0) {
		if (errno == EPERM)
			ret = pep_err_errno(err, "swapon %s: needs root", path);
		else
			ret = pep_err_errno(err, "swapon %s", path);
		goto undo;
	}
	return id;
undo:
	undo_setup(id, added, old);
	return ret;
}

PEP_API int pep_zram_swapoff(int id, struct pep_err *err)
{
	char path[PATH_MAX_ZRAM];

	if (!dev_exists(id))
		return pep_err_set(err, -ENODEV, "no " SYS_BLOCK "/zram%d: no such "
				   "zram device", id);
	snprintf(path, sizeof(path), "/dev/zram%d", id);
	if (swapoff(path) == 0)
		return 0;
	if (errno == EPERM)
		return pep_err_errno(err, "swapoff %s: needs root", path);
	if (errno == EINVAL)
		return pep_err_set(err, -EINVAL, "swapoff %s: not an active swap "
				   "area", path);
	return pep_err_errno(err, "swapoff %s", path);
}
