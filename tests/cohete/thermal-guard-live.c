/*
 * The breaker for real: a monitor thread samples a copy of a fixture tree
 * whose temperatures this test rewrites, and pauses a busy child process
 * group. It must trip within 2 s of the crossing, keep the child stopped
 * (its CPU time stops growing) until the temperature is below the
 * cooldown, then let it run again.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cohete/sysroot.h>
#include <cohete/thermal.h>

#include "harness.h"

static char root[64];

static int set_all_temps(int64_t temp_mc)
{
	char dir[128], path[400], text[32];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sys/class/thermal", root);
	d = opendir(dir);
	if (!d)
		return -1;
	snprintf(text, sizeof(text), "%lld\n", (long long)temp_mc);
	while ((de = readdir(d))) {
		FILE *f;

		if (strncmp(de->d_name, "thermal_zone", 12))
			continue;
		snprintf(path, sizeof(path), "%s/%s/temp", dir, de->d_name);
		f = fopen(path, "w");
		if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* utime + stime of pid, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static pid_t spawn_busy_group(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		volatile unsigned long n = 0;

		setpgid(0, 0);
		for (;;)
			n++;
	}
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

/* Milliseconds until want_paused, or -1 after limit_ms. */
static long wait_paused(struct coh_thermal_guard *b, int want_paused, long limit_ms)
{
	for (long ms = 0; ms <= limit_ms; ms += 20) {
		if (coh_thermal_guard_paused(b) == want_paused)
			return ms;
		usleep(20 * 1000);
	}
	return -1;
}

static int grows(pid_t pid)
{
	long long a = cpu_ticks(pid), b;

	usleep(600 * 1000);
	b = cpu_ticks(pid);
	return a >= 0 && b > a;
}

static int run_breaker(struct coh_sysroot *sr, pid_t child)
{
	struct coh_thermal_guard_policy p;
	struct coh_thermal_guard *b;
	long ms;
	int rc = T_FAIL;

	CHECK(coh_thermal_guard_policy_named("conservative", &p, NULL) == 0);
	CHECK(coh_thermal_guard_create(&b, &p, NULL) == 0);
	CHECK(coh_thermal_guard_watch_pgid(b, child) == 0);
	CHECK(coh_thermal_guard_start(b, sr, NULL) == 0);
	if (!grows(child) || wait_paused(b, 0, 100) < 0)
		goto out;
	set_all_temps(70000);
	ms = wait_paused(b, 1, 2000);
	printf("tripped %ld ms after crossing 65 °C\n", ms);
	if (ms < 0 || grows(child))
		goto out;
	set_all_temps(58000);		/* below the threshold, above cooldown */
	usleep(1500 * 1000);
	if (!coh_thermal_guard_paused(b) || grows(child)) {
		fprintf(stderr, "resumed above the cooldown\n");
		goto out;
	}
	set_all_temps(50000);
	ms = wait_paused(b, 0, 2000);
	printf("resumed %ld ms after falling below 55 °C\n", ms);
	if (ms >= 0 && grows(child))
		rc = T_PASS;
out:
	coh_thermal_guard_destroy(b);
	return rc;
}

int main(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	struct coh_sysroot_opts opts = { .root = root };
	struct coh_sysroot *sr;
	char cmd[700];
	pid_t child;
	int rc;

	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(root, sizeof(root), "/tmp/coh-breaker-XXXXXX");
	if (!mkdtemp(root))
		return T_ERROR;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/orin-nano-8gb-super-r36/.' '%s/'",
		 fixtures, root);
	if (system(cmd) != 0 || set_all_temps(45000) < 0 ||
	    coh_sysroot_open(&sr, &opts, NULL) < 0)
		return T_ERROR;
	child = spawn_busy_group();
	if (child < 0)
		return T_ERROR;
	rc = run_breaker(sr, child);
	kill(-child, SIGKILL);
	kill(-child, SIGCONT);
	waitpid(child, NULL, 0);
	coh_sysroot_close(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
