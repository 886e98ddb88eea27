/*
 * Setting the power mode through tests/sim/nvpmodel (the documented
 * behaviour of NVIDIA's tool) on a copy of a fixture tree: the change is
 * verified, an unknown mode and a reboot-needing change are refused with
 * the reason, a failing nvpmodel is reported. The fan is set through the
 * tree's hwmon links, but never through a pwm1 that is itself a link (one
 * leading out of the tree must leave its target untouched, from the
 * library and from `cohete fan set`, with either path resolver). Never the
 * build machine's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cohete/power.h>
#include <cohete/sysroot.h>

#include "harness.h"

static char root[64], sim[512];
static const char *fixtures;
static struct coh_sysroot *sr;

static int copy_tree(const char *tree)
{
	char cmd[1200];

	snprintf(root, sizeof(root), "/tmp/coh-power-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/%s/.' '%s/'", fixtures, tree,
		 root);
	return system(cmd) == 0 ? 0 : -1;
}

static int read_file(const char *rel, char *buf, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	char *text = t_read_file(path);

	if (!text)
		return -1;
	snprintf(buf, size, "%s", text);
	free(text);
	return 0;
}

static int test_set_and_verify(void)
{
	struct coh_power_set_opts o = { .nvpmodel = sim };
	struct coh_power_change ch;
	struct pep_err err;
	char buf[64];

	CHECK(coh_power_set_mode(sr, &o, 0, &ch, &err) == 0);
	CHECK(ch.changed && ch.from_id == 2 && ch.to_id == 0 && !strcmp(ch.to_name, "15W"));
	CHECK(read_file("var/lib/nvpmodel/status", buf, sizeof(buf)) == 0);
	CHECK(!strncmp(buf, "pmode:0000", 10));
	CHECK(read_file("sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq", buf,
			sizeof(buf)) == 0 && atoi(buf) == 1497600);
	/* Already there: nothing to do. */
	CHECK(coh_power_set_mode(sr, &o, 0, &ch, &err) == 0 && !ch.changed);
	CHECK(coh_power_set_mode(sr, &o, 7, &ch, &err) == -ENOENT);
	CHECK(strstr(err.msg, "power mode 7"));
	return T_PASS;
}

static int test_failures_reported(void)
{
	struct coh_power_set_opts o = { .nvpmodel = "/bin/false" };
	struct coh_power_change ch;
	struct pep_err err;

	CHECK(coh_power_set_mode(sr, &o, 1, &ch, &err) == -EIO);
	CHECK(strstr(err.msg, "exit 1"));
	o.nvpmodel = "no-such-nvpmodel";
	CHECK(coh_power_set_mode(sr, &o, 1, &ch, &err) == -ENOENT);
	CHECK(strstr(err.msg, "no-such-nvpmodel"));
	/* A program that "succeeds" but changes nothing is caught. */
	o.nvpmodel = "/bin/true";
	CHECK(coh_power_set_mode(sr, &o, 1, &ch, &err) == -EIO);
	CHECK(strstr(err.msg, "status file says mode 0"));
	return T_PASS;
}

/* Orin NX 16GB's confs gate TPCs differently per mode: find such a pair. */
static int test_reboot_refused(void)
{
	struct coh_power_set_opts o = { .nvpmodel = sim };
	struct coh_nvpmodel_conf *c;
	struct coh_power_change ch;
	struct pep_err err;
	char path[600], cmd[1400];
	int64_t to = -1;
	char *text;

	snprintf(path, sizeof(path), "%s/nvpmodel/orin-nx-16gb.conf", fixtures);
	text = t_read_file(path);
	CHECK(text && coh_nvpmodel_conf_parse(text, path, &c, NULL) == 0);
	free(text);
	for (int64_t id = 1; id < 8 && to < 0; id++)
		if (coh_nvpmodel_needs_reboot(c, 0, id, NULL, 0) == 1)
			to = id;
	coh_nvpmodel_conf_free(c);
	CHECK(to > 0);
	snprintf(cmd, sizeof(cmd), "rm -f '%s/etc/nvpmodel.conf' && cp '%s' '%s/etc/nvpmodel.conf' && "
		 "echo 'pmode:0000 fmode:quiet' > '%s/var/lib/nvpmodel/status'",
		 root, path, root, root);
	CHECK(system(cmd) == 0);
	CHECK(coh_power_set_mode(sr, &o, to, &ch, &err) == -ECANCELED);
	CHECK(ch.reboot_required && strstr(err.msg, "needs a reboot") &&
	      strstr(err.msg, "--reboot-ok"));
	o.reboot_ok = 1;
	CHECK(coh_power_set_mode(sr, &o, to, &ch, &err) == 0 && ch.changed);
	return T_PASS;
}

static int test_fan(void)
{
	struct pep_err err;
	struct coh_fan fan;
	char buf[64];

	CHECK(coh_fan_set_pwm(sr, 200, &err) == 0);
	CHECK(read_file("sys/class/hwmon/hwmon0/pwm1", buf, sizeof(buf)) == 0 &&
	      atoi(buf) == 200);
	CHECK(coh_fan_read(sr, &fan, NULL) == 0 && fan.pwm == 200);
	CHECK(coh_fan_set_pwm(sr, 256, &err) == -EINVAL && strstr(err.msg, "256"));
	return T_PASS;
}

#define PWM1 "sys/devices/platform/pwm-fan/hwmon/hwmon0/pwm1"
#define OUTSIDE_TEXT "77\n"

static char outside[96];

static int outside_intact(void)
{
	char *text = t_read_file(outside);
	int ok = text && !strcmp(text, OUTSIDE_TEXT);

	if (!ok)
		fprintf(stderr, "%s was changed: '%s'\n", outside, text ? text : "(gone)");
	free(text);
	return ok;
}

/* `cohete fan set 100 --yes` on the tree; its exit status. */
static int cli_fan_set(const char *resolve)
{
	const char *bin = getenv("COHETE_BIN"), *run = getenv("COHETE_RUN");
	char cmd[1024];
	int status;

	snprintf(cmd, sizeof(cmd), "COHETE_SYSROOT_RESOLVE=%s %s '%s' fan set 100 --yes "
		 "--sysroot '%s' </dev/null >/dev/null 2>&1", resolve, run ? run : "", bin,
		 root);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int fan_refused(const char *target)
{
	struct coh_sysroot_opts wo = { .root = root, .flags = COH_SYSROOT_NO_OPENAT2 };
	struct coh_sysroot *walk;
	struct pep_err err;
	char path[256];

	snprintf(path, sizeof(path), "%s/" PWM1, root);
	CHECK(unlink(path) == 0 && symlink(target, path) == 0);
	CHECK(coh_fan_set_pwm(sr, 100, &err) < 0);
	CHECK(outside_intact());
	CHECK(coh_sysroot_open(&walk, &wo, NULL) == 0);
	CHECK(coh_fan_set_pwm(walk, 100, &err) < 0);
	coh_sysroot_close(walk);
	CHECK(outside_intact());
	if (getenv("COHETE_BIN")) {
		CHECK(cli_fan_set("openat2") > 0 && outside_intact());
		CHECK(cli_fan_set("walk") > 0 && outside_intact());
	}
	return T_PASS;
}

static int test_fan_symlink(void)
{
	char up[256], path[256];
	FILE *f;
	int rc;

	snprintf(outside, sizeof(outside), "%s.outside", root);
	f = fopen(outside, "w");
	CHECK(f && fputs(OUTSIDE_TEXT, f) >= 0 && fclose(f) == 0 && chmod(outside, 0600) == 0);
	snprintf(up, sizeof(up), "../../../../../../../../../../../..%s", outside);
	rc = fan_refused(outside);
	if (rc == T_PASS)
		rc = fan_refused(up);
	/* A link that stays inside the tree is not written through either. */
	snprintf(path, sizeof(path), "%s/" PWM1 "-real", root);
	f = fopen(path, "w");
	CHECK(f && fputs("200\n", f) >= 0 && fclose(f) == 0);
	if (rc == T_PASS)
		rc = fan_refused("pwm1-real");
	if (rc == T_PASS) {
		struct pep_err err;

		CHECK(coh_fan_set_pwm(sr, 100, &err) == -ELOOP);
		CHECK(strstr(err.msg, "hwmon0/pwm1") && strstr(err.msg, "symlink"));
	}
	snprintf(path, sizeof(path), "%s/" PWM1, root);
	unlink(path);
	f = fopen(path, "w");
	CHECK(f && fputs("200\n", f) >= 0 && fclose(f) == 0);
	unlink(outside);
	return rc;
}

int main(void)
{
	const char *simdir = getenv("COHETE_SIM");
	struct coh_sysroot_opts opts = { .root = root };
	char cmd[128];
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	if (!fixtures || !simdir) {
		printf("SKIP: COHETE_FIXTURES/COHETE_SIM not set (run through meson test)\n");
		return T_SKIP;
	}
	if (access("/usr/bin/python3", X_OK) != 0) {
		printf("SKIP: the nvpmodel simulator needs python3\n");
		return T_SKIP;
	}
	snprintf(sim, sizeof(sim), "%s/nvpmodel", simdir);
	if (copy_tree("orin-nano-8gb-super-r36") < 0 ||
	    coh_sysroot_open(&sr, &opts, NULL) < 0)
		return T_ERROR;
	t_run("set_and_verify", test_set_and_verify, &rc);
	t_run("failures_reported", test_failures_reported, &rc);
	t_run("reboot_refused", test_reboot_refused, &rc);
	t_run("fan", test_fan, &rc);
	t_run("fan_symlink", test_fan_symlink, &rc);
	coh_sysroot_close(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
