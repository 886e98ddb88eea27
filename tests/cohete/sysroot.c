/*
 * Sysroot reads against a small tree made in a temporary directory: values,
 * trimming, errors that name the path, natural order, symlinks that must
 * stay inside the tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/sysroot.h>

#include "harness.h"

static char root[64];

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

int main(void)
{
	char cmd[128];
	int rc = T_PASS;

	if (make_tree() < 0) {
		perror("make test tree");
		return T_ERROR;
	}
	t_run("read_values", test_read_values, &rc);
	t_run("list_natural_order", test_list_natural_order, &rc);
	t_run("realpath_stays_inside", test_realpath_stays_inside, &rc);
	t_run("open_errors", test_open_errors, &rc);
	t_run("notes", test_notes, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
