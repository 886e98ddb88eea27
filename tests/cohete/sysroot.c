/*
 * Sysroot reads against a small tree made in a temporary directory: values,
 * trimming, errors that name the path, natural order, symlinks that must
 * stay inside the tree. Links that point out of a tree (absolute, or
 * "../../..") are resolved inside it or refused, for reads, lists and
 * writes, with openat2 and with the resolver for kernels before 5.6; writes
 * never go through a link. Both resolvers agree with each other and with
 * the host's own resolution on every path of every captured fixture tree
 * (whose links all stay inside), and `cohete status` never prints a file
 * from outside a tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/sysroot.h>

#include "harness.h"

static char root[64];
static const char *fixtures;

static int put_file(const char *rel, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f);
}

static int make_tree(void)
{
	static const char *const dirs[] = { "proc", "proc/device-tree", "sys",
		"sys/list", "sys/real", "sys/real/dev" };
	char path[256];

	snprintf(root, sizeof(root), "/tmp/coh-sysroot-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0)
			return -1;
	}
	if (put_file("proc/device-tree/model", "NVIDIA Jetson\0", 14) ||
	    put_file("sys/value", "  42\n", 5) ||
	    put_file("sys/negative", "-256000\n", 8) ||
	    put_file("sys/bad", "12abc\n", 6) ||
	    put_file("sys/empty", "", 0) ||
	    put_file("sys/list/cpu10", "", 0) || put_file("sys/list/cpu2", "", 0) ||
	    put_file("sys/list/cpu1", "", 0) || put_file("sys/real/dev/x", "1\n", 2))
		return -1;
	snprintf(path, sizeof(path), "%s/sys/link", root);
	if (symlink("real/dev", path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sys/escape", root);
	return symlink("../../..", path);
}

static struct coh_sysroot *open_root(void)
{
	struct coh_sysroot_opts opts = { .root = root };
	struct coh_sysroot *sr = NULL;

	return coh_sysroot_open(&sr, &opts, NULL) == 0 ? sr : NULL;
}

static int test_read_values(void)
{
	struct coh_sysroot *sr = open_root();
	struct pep_err err;
	char buf[64];
	int64_t v;

	CHECK(sr);
	CHECK(!coh_sysroot_is_live(sr));
	CHECK(coh_sysroot_read_str(sr, "/proc/device-tree/model", buf,
				   sizeof(buf), NULL) == 13);
	CHECK(!strcmp(buf, "NVIDIA Jetson"));
	CHECK(coh_sysroot_read_s64(sr, "/sys/value", &v, NULL) == 0 && v == 42);
	CHECK(coh_sysroot_read_s64(sr, "/sys/negative", &v, NULL) == 0 &&
	      v == -256000);
	CHECK(coh_sysroot_read_s64(sr, "/sys/bad", &v, &err) == -EINVAL);
	CHECK(err.code == -EINVAL && strstr(err.msg, "/sys/bad"));
	CHECK(coh_sysroot_read_s64(sr, "/sys/empty", &v, &err) == -EINVAL);
	CHECK(coh_sysroot_read(sr, "/sys/missing", buf, sizeof(buf), &err) ==
	      -ENOENT);
	CHECK(strstr(err.msg, "/sys/missing") && !strstr(err.msg, root));
	/* A short buffer truncates but stays terminated. */
	CHECK(coh_sysroot_read(sr, "/sys/negative", buf, 4, NULL) == 3);
	CHECK(!strcmp(buf, "-25"));
	/* Writes go to existing knobs only, never create files. */
	CHECK(coh_sysroot_write(sr, "/sys/value", "7\n", NULL) == 0);
	CHECK(coh_sysroot_read_s64(sr, "/sys/value", &v, NULL) == 0 && v == 7);
	CHECK(coh_sysroot_write(sr, "/sys/new-file", "1\n", &err) == -ENOENT);
	CHECK(!coh_sysroot_exists(sr, "/sys/new-file"));
	CHECK(coh_sysroot_exists(sr, "/sys/link/x"));
	CHECK(!coh_sysroot_exists(sr, "/sys/nothing"));
	coh_sysroot_close(sr);
	return T_PASS;
}

static int test_list_natural_order(void)
{
	struct coh_sysroot *sr = open_root();
	struct coh_names names;

	CHECK(sr);
	CHECK(coh_sysroot_list(sr, "/sys/list", &names, NULL) == 0);
	CHECK(names.count == 3);
	CHECK(!strcmp(names.names[0], "cpu1") && !strcmp(names.names[1], "cpu2") &&
	      !strcmp(names.names[2], "cpu10"));
	coh_names_free(&names);
	CHECK(coh_sysroot_list(sr, "/nope", &names, NULL) == -ENOENT);
	CHECK(names.count == 0 && names.names == NULL);
	coh_sysroot_close(sr);
	return T_PASS;
}

static int test_realpath_stays_inside(void)
{
	struct coh_sysroot *sr = open_root();
	struct pep_err err;
	char out[256];

	CHECK(sr);
	CHECK(coh_sysroot_realpath(sr, "/sys/link", out, sizeof(out), NULL) == 0);
	CHECK(!strcmp(out, "/sys/real/dev"));
	CHECK(coh_sysroot_realpath(sr, "/sys/escape", out, sizeof(out), &err) ==
	      -EXDEV);
	coh_sysroot_close(sr);
	return T_PASS;
}

static int test_open_errors(void)
{
	struct coh_sysroot_opts opts = { .root = "/nonexistent/tree" };
	struct coh_sysroot *sr = NULL;
	struct pep_err err;
	char path[128];

	CHECK(coh_sysroot_open(&sr, &opts, &err) == -ENOENT);
	CHECK(strstr(err.msg, "/nonexistent/tree"));
	snprintf(path, sizeof(path), "%s/sys/value", root);
	opts.root = path;
	CHECK(coh_sysroot_open(&sr, &opts, &err) == -ENOTDIR);
	opts.root = NULL;
	CHECK(coh_sysroot_open(&sr, &opts, &err) == 0);
	CHECK(coh_sysroot_is_live(sr) && !strcmp(coh_sysroot_root(sr), "/"));
	coh_sysroot_close(sr);
	coh_sysroot_close(NULL);
	return T_PASS;
}

static int test_notes(void)
{
	static struct coh_notes notes;

	coh_notes_add(&notes, "a.b", "first %d", 1);
	coh_notes_add(&notes, "a.b", "second");
	CHECK(notes.count == 1 && !strcmp(notes.note[0].reason, "first 1"));
	for (int i = 0; i < COH_NOTES_MAX + 5; i++) {
		char field[16];

		snprintf(field, sizeof(field), "f%d", i);
		coh_notes_add(&notes, field, "x");
	}
	CHECK(notes.count == COH_NOTES_MAX && notes.dropped == 6);
	coh_notes_add(NULL, "x", "y");
	return T_PASS;
}

/* ---------------------------------------------------------------------- */
/* Links out of the tree. */

#define SECRET "secret-outside-the-tree"

static char outside[96], outside_file[128], up_out[200];

static int link_at(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
	return symlink(target, path);
}

/* A 0600 file beside the tree, and links to it from inside. */
static int make_escapes(void)
{
	char text[64];

	snprintf(outside, sizeof(outside), "%s.outside", root);
	snprintf(outside_file, sizeof(outside_file), "%s/secret", outside);
	if (mkdir(outside, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(text, sizeof(text), SECRET "\n");
	{
		int fd = open(outside_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0)
			return -1;
	}
	/* Far enough up to reach "/" of this machine, then down to the file. */
	snprintf(up_out, sizeof(up_out), "../../../../../../../../../../..%s",
		 outside_file);
	return link_at(outside_file, "sys/abs-out") || link_at(up_out, "sys/up-out") ||
	       link_at("../../../../../../../../../../../../", "sys/up-dir") ||
	       link_at("/sys/value", "sys/abs-in") ||
	       link_at("abs-out", "sys/chain-out") ||
	       link_at("loop-b", "sys/loop-a") || link_at("loop-a", "sys/loop-b") ||
	       put_file("sys/pwm-real", "0\n", 2) ||
	       link_at("pwm-real", "sys/pwm-in") || link_at(outside_file, "sys/pwm-out");
}

static int outside_intact(void)
{
	char *text = t_read_file(outside_file);
	int ok = text && !strcmp(text, SECRET "\n");

	free(text);
	return ok;
}

static int escapes_in(unsigned int flags)
{
	struct coh_sysroot_opts opts = { .root = root, .flags = flags };
	struct coh_sysroot *sr = NULL;
	struct coh_names names;
	struct pep_err err;
	char buf[128];
	int64_t v;

	CHECK(coh_sysroot_open(&sr, &opts, NULL) == 0);
	/* An absolute link resolves inside the tree, where there is no such file. */
	CHECK(coh_sysroot_read(sr, "/sys/abs-out", buf, sizeof(buf), &err) == -ENOENT);
	CHECK(coh_sysroot_read(sr, "/sys/chain-out", buf, sizeof(buf), &err) == -ENOENT);
	CHECK(!coh_sysroot_exists(sr, "/sys/abs-out"));
	/* ".." stops at the root: the file's path in the tree, where it is not. */
	CHECK(coh_sysroot_read(sr, "/sys/up-out", buf, sizeof(buf), &err) == -ENOENT);
	CHECK(coh_sysroot_list(sr, "/sys/up-dir", &names, NULL) == 0);
	CHECK(names.count == 2 && !strcmp(names.names[0], "proc") &&
	      !strcmp(names.names[1], "sys"));
	coh_names_free(&names);
	CHECK(coh_sysroot_read_s64(sr, "/sys/up-dir/sys/value", &v, NULL) == 0);
	CHECK(coh_sysroot_read_s64(sr, "/../../../sys/value", &v, NULL) == 0);
	/* An absolute link inside the tree is followed, inside the tree. */
	CHECK(coh_sysroot_read_s64(sr, "/sys/abs-in", &v, NULL) == 0);
	CHECK(coh_sysroot_read(sr, "/sys/loop-a", buf, sizeof(buf), &err) == -ELOOP);
	/* Writes never go through a link, whether it leads out or not. */
	CHECK(coh_sysroot_write(sr, "/sys/pwm-out", "100\n", &err) == -ELOOP);
	CHECK(strstr(err.msg, "/sys/pwm-out") && strstr(err.msg, "symlink"));
	CHECK(coh_sysroot_write(sr, "/sys/pwm-in", "100\n", &err) == -ELOOP);
	CHECK(coh_sysroot_write(sr, "/sys/pwm-real", "100\n", &err) == 0);
	CHECK(coh_sysroot_write(sr, "/sys/up-dir/sys/pwm-real", "101\n", &err) == 0);
	CHECK(coh_sysroot_read_s64(sr, "/sys/pwm-real", &v, NULL) == 0 && v == 101);
	CHECK(outside_intact());
	coh_sysroot_close(sr);
	return T_PASS;
}

static int test_escapes_openat2(void)
{
	return escapes_in(0);
}

static int test_escapes_walk(void)
{
	return escapes_in(COH_SYSROOT_NO_OPENAT2);
}

/* ---------------------------------------------------------------------- */
/* Both resolvers against the host's on every path of every fixture tree. */

static char tree[PATH_MAX];
static struct coh_sysroot *by_openat2, *by_walk;
static unsigned int compared, differed;

/* Read through the host's own resolution (the fixtures' links stay inside). */
static int host_read(const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX * 2];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s%s", tree, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

static void compare_path(const char *rel)
{
	char a[512], b[512], c[512], ra[PATH_MAX], rb[PATH_MAX];
	int na = coh_sysroot_read(by_openat2, rel, a, sizeof(a), NULL);
	int nb = coh_sysroot_read(by_walk, rel, b, sizeof(b), NULL);
	int nc = host_read(rel, c, sizeof(c));
	int same = na == nb && na == nc && (na < 0 || (!memcmp(a, b, (size_t)na) &&
						       !memcmp(a, c, (size_t)na)));

	same &= coh_sysroot_exists(by_openat2, rel) == coh_sysroot_exists(by_walk, rel);
	/* realpath resolves by walking only: check it against the host's. */
	if (coh_sysroot_realpath(by_walk, rel, rb, sizeof(rb), NULL) == 0) {
		char host[PATH_MAX * 2];

		snprintf(host, sizeof(host), "%s%s", tree, rel);
		same &= realpath(host, ra) && !strcmp(ra + strlen(tree), rb[1] ? rb : "");
	}
	compared++;
	if (!same && differed++ < 5)
		fprintf(stderr, "%s%s: openat2 %d, walk %d, host %d\n", tree, rel, na, nb, nc);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	compare_path(path + strlen(tree));
	return 0;
}

static int compare_tree(const char *name)
{
	struct coh_sysroot_opts o1 = { .root = tree };
	struct coh_sysroot_opts o2 = { .root = tree, .flags = COH_SYSROOT_NO_OPENAT2 };
	char real[PATH_MAX];

	snprintf(tree, sizeof(tree), "%s/sysroots/%s", fixtures, name);
	if (!realpath(tree, real))
		return -1;
	snprintf(tree, sizeof(tree), "%s", real);
	if (coh_sysroot_open(&by_openat2, &o1, NULL) < 0 ||
	    coh_sysroot_open(&by_walk, &o2, NULL) < 0)
		return -1;
	nftw(tree, visit, 32, FTW_PHYS);
	coh_sysroot_close(by_openat2);
	coh_sysroot_close(by_walk);
	return 0;
}

static int test_resolvers_agree(void)
{
	struct coh_names trees;
	struct coh_sysroot_opts o = { 0 };
	struct coh_sysroot *host;
	char dir[PATH_MAX];

	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/sysroots", fixtures);
	o.root = dir;
	CHECK(coh_sysroot_open(&host, &o, NULL) == 0);
	CHECK(coh_sysroot_list(host, "/", &trees, NULL) == 0 && trees.count > 5);
	for (size_t i = 0; i < trees.count; i++)
		CHECK(compare_tree(trees.names[i]) == 0);
	coh_names_free(&trees);
	coh_sysroot_close(host);
	fprintf(stderr, "%u paths compared\n", compared);
	CHECK(compared > 1000 && differed == 0);
	return T_PASS;
}

/* ---------------------------------------------------------------------- */
/* `cohete status` on a copy whose device-tree model links out of it. */

static int status_output(const char *copy, const char *mode, char **out)
{
	const char *bin = getenv("COHETE_BIN"), *run = getenv("COHETE_RUN");
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "COHETE_SYSROOT_RESOLVE=%s %s '%s' status --json "
		 "--sysroot '%s' 2>&1", mode, run ? run : "", bin, copy);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	*out = calloc(1, 1 << 20);
	if (*out)
		fread(*out, 1, (1 << 20) - 1, p);
	return pclose(p) < 0 || !*out ? -1 : 0;
}

static int test_status_stays_inside(void)
{
	char copy[128], cmd[600], *text = NULL;
	int rc = T_PASS;

	if (!fixtures || !getenv("COHETE_BIN")) {
		printf("SKIP: COHETE_FIXTURES/COHETE_BIN not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(copy, sizeof(copy), "%s/copy", root);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/orin-nano-8gb-super-r36' '%s'",
		 fixtures, copy);
	CHECK(system(cmd) == 0);
	/* The model as an absolute link, then as a "../" link past the root. */
	for (int i = 0; i < 2 && rc == T_PASS; i++) {
		snprintf(cmd, sizeof(cmd), "%s/proc/device-tree/model", copy);
		unlink(cmd);
		CHECK(symlink(i == 0 ? outside_file : up_out, cmd) == 0);
		for (int m = 0; m < 2 && rc == T_PASS; m++) {
			CHECK(status_output(copy, m ? "walk" : "openat2", &text) == 0);
			if (strstr(text, SECRET)) {
				fprintf(stderr, "cohete status printed a file outside the tree:\n%s",
					text);
				rc = T_FAIL;
			}
			if (!strstr(text, "\"device\"")) {
				fprintf(stderr, "cohete status said:\n%s", text);
				rc = T_FAIL;
			}
			free(text);
			text = NULL;
		}
	}
	return rc;
}

int main(void)
{
	char cmd[400];
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	if (make_tree() < 0 || make_escapes() < 0) {
		perror("make test tree");
		return T_ERROR;
	}
	t_run("read_values", test_read_values, &rc);
	t_run("list_natural_order", test_list_natural_order, &rc);
	t_run("realpath_stays_inside", test_realpath_stays_inside, &rc);
	t_run("open_errors", test_open_errors, &rc);
	t_run("notes", test_notes, &rc);
	t_run("escapes_openat2", test_escapes_openat2, &rc);
	t_run("escapes_walk", test_escapes_walk, &rc);
	t_run("resolvers_agree", test_resolvers_agree, &rc);
	t_run("status_stays_inside", test_status_stays_inside, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
