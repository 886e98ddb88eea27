/*
 * The SSH probe: a fixed sh script that prints the files identification
 * reads, and the strict parser of what comes back.
 *
 * The script is one line of POSIX sh (csh, fish and friends pass it to
 * sh -c unchanged: no single quotes, no backslashes, no newlines) and uses
 * only test, echo and od, which busybox has too. od, not cat: device-tree
 * strings hold NULs and a line-based reader must see every byte. Each file
 * is read under ${COHETE_SYSROOT} when the remote side sets it (a test
 * sshd's SetEnv serves a captured tree); a Jetson leaves it unset.
 *
 * The answer comes from the network, so the parser trusts nothing: the
 * path must be one of the list, each at most once, the data valid hex and
 * bounded, every block closed, the whole answer finished by "done".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/discover.h>

#include "internal.h"

#define MARK "cohete-probe-1"

/*
 * Exactly what coh_device_identify() reads (device/identify.c, cpuinfo.c):
 * tests/cohete/discover.c traces identification of every fixture tree and
 * fails on a path missing here.
 */
static const char *const probe_paths[] = {
	"/etc/nv_tegra_release",
	"/proc/meminfo",
	"/proc/cpuinfo",
	"/proc/sys/kernel/osrelease",
	"/proc/sys/kernel/hostname",
	"/sys/devices/system/cpu/present",
	"/proc/device-tree/compatible",
	"/proc/device-tree/model",
	"/proc/device-tree/nvidia,dtsfilename",
	"/proc/device-tree/nvidia,boardids",
	"/proc/device-tree/serial-number",
	"/sys/bus/i2c/devices/0-0050/eeprom",
	"/sys/bus/i2c/devices/1-0050/eeprom",
	"/sys/bus/i2c/devices/2-0050/eeprom",
	"/sys/bus/i2c/devices/7-0050/eeprom",
	"/sys/class/dmi/id/product_name",
	"/sys/class/dmi/id/sys_vendor",
};

static const char probe_script[] =
	"r=${COHETE_SYSROOT:-}; "
	"for p in /etc/nv_tegra_release /proc/meminfo /proc/cpuinfo "
	"/proc/sys/kernel/osrelease /proc/sys/kernel/hostname "
	"/sys/devices/system/cpu/present /proc/device-tree/compatible "
	"/proc/device-tree/model /proc/device-tree/nvidia,dtsfilename "
	"/proc/device-tree/nvidia,boardids /proc/device-tree/serial-number "
	"/sys/bus/i2c/devices/0-0050/eeprom /sys/bus/i2c/devices/1-0050/eeprom "
	"/sys/bus/i2c/devices/2-0050/eeprom /sys/bus/i2c/devices/7-0050/eeprom "
	"/sys/class/dmi/id/product_name /sys/class/dmi/id/sys_vendor; do "
	"if [ -f \"$r$p\" ] && [ -r \"$r$p\" ]; then "
	"echo \"" MARK " file $p\"; "
	"od -A n -t x1 -v -N 65536 \"$r$p\" 2>/dev/null; "
	"echo \"" MARK " end $?\"; "
	"fi; done; echo \"" MARK " done\"";

const char *coh_discover_probe_script(void)
{
	return probe_script;
}

const char *const *coh_discover_probe_paths(size_t *count)
{
	*count = ARRAY_SIZE(probe_paths);
	return probe_paths;
}

void coh_probe_free(struct coh_probe *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->count; i++)
		free(p->files[i].data);
	free(p->files);
	p->files = NULL;
	p->count = 0;
}

/* The parser's state: where it is and the block being read. */
struct probe_parser {
	struct coh_probe *out;
	unsigned int line;
	struct coh_probe_file *open;	/* inside a block */
	int done;
	struct pep_err *err;
};

/* -EPROTO: "probe answer, line 7: /proc/cpuinfo: more than 64 KiB" */
static int fail(struct probe_parser *ps, const char *path, const char *why)
{
	return pep_err_set(ps->err, -EPROTO, "probe answer, line %u: %s%s%s",
			   ps->line, path ? path : "", path ? ": " : "", why);
}

static const char *known_path(const char *text, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(probe_paths); i++)
		if (strlen(probe_paths[i]) == len &&
		    !memcmp(probe_paths[i], text, len))
			return probe_paths[i];
	return NULL;
}

static int open_block(struct probe_parser *ps, const char *arg, size_t len)
{
	struct coh_probe *out = ps->out;
	const char *path = known_path(arg, len);
	struct coh_probe_file *files;

	if (!path)
		return fail(ps, NULL, "a file the probe does not read");
	for (size_t i = 0; i < out->count; i++)
		if (out->files[i].path == path)
			return fail(ps, path, "sent twice");
	files = realloc(out->files, (out->count + 1) * sizeof(*files));
	if (!files)
		return pep_err_set(ps->err, -ENOMEM, "probe answer: out of memory");
	out->files = files;
	ps->open = &files[out->count++];
	*ps->open = (struct coh_probe_file){ .path = path };
	ps->open->data = malloc(COH_PROBE_FILE_MAX);
	if (!ps->open->data)
		return pep_err_set(ps->err, -ENOMEM, "probe answer: out of memory");
	return 0;
}

/* "end N": N is od's status; a failed read drops the file. */
static int close_block(struct probe_parser *ps, const char *arg, size_t len)
{
	if (len == 0 || len > 3 || strspn(arg, "0123456789") != len)
		return fail(ps, NULL, "bad status after 'end'");
	if (len != 1 || arg[0] != '0') {
		free(ps->open->data);
		ps->out->count--;
	}
	ps->open = NULL;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* " 23 20 52 33": pairs of hex digits separated by blanks. */
static int hex_line(struct probe_parser *ps, const char *s, size_t len)
{
	struct coh_probe_file *f = ps->open;
	size_t i = 0;

	while (i < len) {
		int hi, lo;

		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		hi = hex_value(s[i]);
		lo = i + 1 < len ? hex_value(s[i + 1]) : -1;
		if (hi < 0 || lo < 0 ||
		    (i + 2 < len && s[i + 2] != ' ' && s[i + 2] != '\t'))
			return fail(ps, NULL, "not a line of od's hex bytes");
		if (f->len == COH_PROBE_FILE_MAX)
			return fail(ps, f->path, "more than 64 KiB");
		f->data[f->len++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* A line starting with MARK: "file PATH", "end N" or "done". */
static int mark_line(struct probe_parser *ps, const char *s, size_t len)
{
	const size_t n = sizeof(MARK);	/* MARK and its space */

	if (len < n || s[n - 1] != ' ')
		return fail(ps, NULL, "bad marker line");
	s += n;
	len -= n;
	if (len > 5 && !memcmp(s, "file ", 5)) {
		if (ps->open)
			return fail(ps, ps->open->path, "block not closed");
		return open_block(ps, s + 5, len - 5);
	}
	if (len > 4 && !memcmp(s, "end ", 4)) {
		if (!ps->open)
			return fail(ps, NULL, "'end' outside a block");
		return close_block(ps, s + 4, len - 4);
	}
	if (len == 4 && !memcmp(s, "done", 4)) {
		if (ps->open)
			return fail(ps, ps->open->path, "block not closed");
		ps->done = 1;
		return 0;
	}
	return fail(ps, NULL, "bad marker line");
}

static int parse_line(struct probe_parser *ps, const char *s, size_t len)
{
	if (ps->done)
		return 0;		/* what a logout script may print */
	if (len >= sizeof(MARK) - 1 && !memcmp(s, MARK, sizeof(MARK) - 1))
		return mark_line(ps, s, len);
	if (ps->open)
		return hex_line(ps, s, len);
	return 0;			/* what a login shell may print first */
}

int coh_probe_parse(const char *text, size_t len, struct coh_probe *out,
		    struct pep_err *err)
{
	struct probe_parser ps = { .out = out, .err = err };
	size_t pos = 0;
	int ret = 0;

	*out = (struct coh_probe){ 0 };
	if (len > COH_PROBE_OUTPUT_MAX)
		return pep_err_set(err, -EPROTO, "probe answer: more than %u "
				   "bytes", COH_PROBE_OUTPUT_MAX);
	while (pos < len && ret == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		ps.line++;
		if (memchr(text + pos, '\0', n))
			ret = fail(&ps, NULL, "a NUL byte");
		else
			ret = parse_line(&ps, text + pos, n);
		pos += n + 1;
	}
	if (ret == 0 && !ps.done)
		ret = pep_err_set(err, -EPROTO, "probe answer ends early (no "
				  "'done' line): the session was cut");
	if (ret < 0)
		coh_probe_free(out);
	return ret;
}

/* Make every directory of path under root, as 0700. */
static int make_parents(const char *root, const char *path, struct pep_err *err)
{
	char dir[512];
	size_t rlen = strlen(root);

	snprintf(dir, sizeof(dir), "%s%s", root, path);
	for (char *s = dir + rlen + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return pep_err_errno(err, "mkdir %s", dir);
		*s = '/';
	}
	return 0;
}

static int write_file(const char *root, const struct coh_probe_file *f,
		      struct pep_err *err)
{
	char path[512];
	int fd, ret;
	ssize_t n;

	ret = make_parents(root, f->path, err);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s%s", root, f->path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return pep_err_errno(err, "create %s", path);
	n = write(fd, f->data, f->len);
	ret = n == (ssize_t)f->len ? 0 :
	      n < 0 ? pep_err_errno(err, "write %s", path) :
	      pep_err_set(err, -EIO, "write %s: short write", path);
	close(fd);
	return ret;
}

/* Remove what write_file() made: the files, then their directories. */
static void remove_tree(const char *root, const struct coh_probe *p)
{
	char path[512];

	for (size_t i = 0; i < p->count; i++) {
		snprintf(path, sizeof(path), "%s%s", root, p->files[i].path);
		unlink(path);
	}
	/* deepest first: every directory a listed path passes through */
	for (size_t i = ARRAY_SIZE(probe_paths); i-- > 0;) {
		snprintf(path, sizeof(path), "%s%s", root, probe_paths[i]);
		for (char *s; (s = strrchr(path + strlen(root), '/')) &&
			      s > path + strlen(root);) {
			*s = '\0';
			rmdir(path);
		}
	}
	rmdir(root);
}

int coh_probe_identify(const struct coh_probe *p, struct coh_device *dev,
		       struct pep_err *err)
{
	const char *tmpdir = getenv("TMPDIR");
	struct coh_sysroot *sr;
	char root[256];
	int ret = 0;

	snprintf(root, sizeof(root), "%s/cohete-probe-XXXXXX",
		 tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp");
	if (!mkdtemp(root))
		return pep_err_errno(err, "mkdtemp %s", root);
	for (size_t i = 0; i < p->count && ret == 0; i++)
		ret = write_file(root, &p->files[i], err);
	if (ret == 0)
		ret = coh_sysroot_open(&sr, &(struct coh_sysroot_opts){
						.root = root }, err);
	if (ret == 0) {
		ret = coh_device_identify(sr, dev, NULL);
		if (ret < 0)
			pep_err_set(err, ret, "identify: %s", strerror(-ret));
		coh_sysroot_close(sr);
	}
	remove_tree(root, p);
	return ret;
}
