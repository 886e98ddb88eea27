/*
 * Broken input never crashes a sample or produces a wrong model: truncated
 * meminfo, non-numeric temperatures, a missing device tree, an unknown
 * P-number and files only root may read all come out as "unavailable" or
 * "unknown" with a one-line reason.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cohete/status.h>
#include <cohete/sysroot.h>

#include "harness.h"

static char fixtures[512];
static struct coh_status st;

static int sample_tree(const char *root)
{
	struct coh_sysroot_opts opts = { .root = root };
	struct coh_sysroot *sr;
	char *json;

	if (coh_sysroot_open(&sr, &opts, NULL) < 0)
		return -1;
	coh_status_sample(sr, NULL, &st);
	coh_sysroot_close(sr);
	json = coh_status_json(&st);
	if (!json)
		return -1;
	free(json);
	return 0;
}

static const char *note(const char *field)
{
	for (unsigned int i = 0; i < st.notes.count; i++)
		if (!strcmp(st.notes.note[i].field, field))
			return st.notes.note[i].reason;
	return NULL;
}

/* A note whose field starts with prefix and whose reason contains text. */
static int has_note(const char *prefix, const char *text)
{
	for (unsigned int i = 0; i < st.notes.count; i++)
		if (!strncmp(st.notes.note[i].field, prefix, strlen(prefix)) &&
		    strstr(st.notes.note[i].reason, text))
			return 1;
	fprintf(stderr, "no note %s* containing '%s'\n", prefix, text);
	return 0;
}

static int count_zones(enum coh_zone_state state)
{
	int n = 0;

	for (unsigned int i = 0; i < st.thermal.count; i++)
		n += st.thermal.zones[i].state == state;
	return n;
}

static int test_broken_tree(void)
{
	char root[600];

	snprintf(root, sizeof(root), "%s/broken", fixtures);
	CHECK(sample_tree(root) == 0);
	CHECK(st.device.kind == COH_HOST_JETSON && st.device.module == NULL);
	CHECK(has_note("device.module", "no device tree"));
	CHECK(st.device.l4t[0] == '\0' && has_note("device.l4t", "REVISION"));
	CHECK(st.memory.info.available_kb == COH_NA);
	CHECK(note("memory.available_bytes"));
	CHECK(count_zones(COH_ZONE_UNAVAILABLE) >= 2);
	CHECK(has_note("thermal.", "not a number"));
	CHECK(st.thermal.hottest < 0 ||
	      st.thermal.zones[st.thermal.hottest].state == COH_ZONE_OK);
	CHECK(has_note("cpu.load_percent", "/proc/stat"));
	CHECK(st.mode.id == COH_NA && has_note("power.mode", "pmode"));
	CHECK(has_note("power.", "not a number"));
	return T_PASS;
}

static int test_unknown_pnum(void)
{
	char root[600];

	snprintf(root, sizeof(root), "%s/unknown-pnum", fixtures);
	CHECK(sample_tree(root) == 0);
	CHECK(st.device.kind == COH_HOST_JETSON && st.device.module == NULL);
	CHECK(!strcmp(st.device.module_pnum, "p3767-0099"));
	CHECK(!strcmp(st.device.soc, "tegra234"));
	CHECK(has_note("device.module", "p3767-0099"));
	CHECK(!strcmp(st.device.l4t, "36.4.4") && st.device.jetpack);
	return T_PASS;
}

static const char *const root_only[] = {
	"proc/device-tree/serial-number",
	"proc/meminfo",
	"sys/class/thermal/thermal_zone0/temp",
	"var/lib/nvpmodel/status",
};

static int make_unreadable_copy(char *dir, size_t size)
{
	char cmd[1400], path[1000];

	snprintf(dir, size, "/tmp/coh-unreadable-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/orin-nano-8gb-super-r36/.' '%s/'",
		 fixtures, dir);
	if (system(cmd) != 0)
		return -1;
	/* debugfs as on a live Jetson: present, mode 0700, root's only */
	snprintf(cmd, sizeof(cmd), "cp -a '%s/agx-orin-64gb-r36/sys/kernel/debug' "
		 "'%s/sys/kernel/'", fixtures, dir);
	snprintf(path, sizeof(path), "%s/sys/kernel/debug", dir);
	if (system(cmd) != 0 || chmod(path, 0700) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(root_only) / sizeof(root_only[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, root_only[i]);
		if (chmod(path, 0) < 0) {
			perror(path);
			return -1;
		}
	}
	return 0;
}

static int check_unreadable(const char *dir)
{
	CHECK(sample_tree(dir) == 0);
	CHECK(st.device.module &&
	      !strcmp(st.device.module->name, "Jetson Orin Nano Super Developer Kit"));
	CHECK(st.device.serial[0] == '\0' && has_note("device.serial", "needs root"));
	CHECK(st.memory.info.available_kb == COH_NA && has_note("memory", "needs root"));
	CHECK(st.thermal.zones[0].state == COH_ZONE_UNAVAILABLE);
	CHECK(has_note("thermal.thermal_zone0", "needs root"));
	CHECK(st.mode.id == COH_NA && has_note("power.mode", "needs root"));
	/* debugfs: "needs root", never zeros; the cap file is world-readable */
	CHECK(st.emc.present && st.emc.cur_hz == COH_NA &&
	      st.emc.load_permille == COH_NA && has_note("emc", "needs root"));
	CHECK(!st.engines.readable && st.engines.count == 0 &&
	      has_note("engines", "needs root"));
	return T_PASS;
}

/* As root, files with mode 000 are still readable: drop to nobody first. */
static int drop_privileges(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return -1;
	return 0;
}

static int test_unreadable_files(void)
{
	char dir[64], cmd[128];
	int status, rc;
	pid_t pid;

	if (make_unreadable_copy(dir, sizeof(dir)) < 0)
		return T_ERROR;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (drop_privileges() < 0) {
			printf("SKIP: cannot switch to uid 65534 to test unreadable files\n");
			_exit(T_SKIP);
		}
		_exit(check_unreadable(dir));
	}
	rc = T_ERROR;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}

int main(void)
{
	const char *env = getenv("COHETE_FIXTURES");
	int rc = T_PASS;

	if (!env) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(fixtures, sizeof(fixtures), "%s/sysroots", env);
	t_run("broken_tree", test_broken_tree, &rc);
	t_run("unknown_pnum", test_unknown_pnum, &rc);
	t_run("unreadable_files", test_unreadable_files, &rc);
	return rc;
}
