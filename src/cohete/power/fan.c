/*
 * The fan. JetPack 5+ splits it into two hwmon nodes, "pwmfan" (pwm1,
 * 0..255) and "pwm_tach" (rpm); JetPack 4 has /sys/devices/pwm-fan with
 * cur_pwm and rpm_measured. Other machines expose fanN_input on a hwmon
 * chip; the first one is shown.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/power.h>

#include "internal.h"

#define HWMON "/sys/class/hwmon"

static int64_t first_value(const struct coh_sysroot *sr, const char *dir,
			   const char *const *files, size_t count)
{
	char path[160];
	int64_t v;

	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (coh_sysroot_read_s64(sr, path, &v, NULL) == 0)
			return v;
	}
	return COH_NA;
}

static void read_hwmon_fan(const struct coh_sysroot *sr, const char *hwmon,
			   struct coh_fan *fan)
{
	static const char *const pwm_files[] = { "pwm1", "target_pwm" };
	static const char *const rpm_files[] = { "rpm", "fan1_input",
						 "rpm_measured" };
	char dir[96], path[128], name[32];
	int64_t v;

	snprintf(dir, sizeof(dir), HWMON "/%s", hwmon);
	snprintf(path, sizeof(path), "%s/name", dir);
	if (coh_sysroot_read_str(sr, path, name, sizeof(name), NULL) <= 0)
		return;
	if (!strcmp(name, "pwmfan") && fan->pwm == COH_NA) {
		fan->pwm = first_value(sr, dir, pwm_files, ARRAY_SIZE(pwm_files));
		fan->present = 1;
		coh__strlcpy(fan->source, dir, sizeof(fan->source));
	}
	if (fan->rpm == COH_NA) {
		v = first_value(sr, dir, rpm_files, ARRAY_SIZE(rpm_files));
		if (v != COH_NA) {
			fan->rpm = v;
			if (!fan->present)
				coh__strlcpy(fan->source, dir, sizeof(fan->source));
			fan->present = 1;
		}
	}
}

static void read_legacy_fan(const struct coh_sysroot *sr, struct coh_fan *fan)
{
	static const char *const pwm_files[] = { "cur_pwm", "target_pwm" };
	static const char *const rpm_files[] = { "rpm_measured" };
	const char *dir = "/sys/devices/pwm-fan";

	if (!coh_sysroot_exists(sr, dir))
		return;
	fan->present = 1;
	coh__strlcpy(fan->source, dir, sizeof(fan->source));
	fan->pwm = first_value(sr, dir, pwm_files, ARRAY_SIZE(pwm_files));
	fan->rpm = first_value(sr, dir, rpm_files, ARRAY_SIZE(rpm_files));
}

int coh_fan_read(const struct coh_sysroot *sr, struct coh_fan *fan,
		 struct coh_notes *notes)
{
	struct coh_names names;

	memset(fan, 0, sizeof(*fan));
	fan->pwm = fan->rpm = COH_NA;
	if (coh_sysroot_list(sr, HWMON, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count; i++)
			read_hwmon_fan(sr, names.names[i], fan);
		coh_names_free(&names);
	}
	if (!fan->present)
		read_legacy_fan(sr, fan);
	if (!fan->present)
		coh_notes_add(notes, "fan", "no fan found (pwmfan, pwm_tach, "
			      "pwm-fan or fanN_input)");
	return 0;
}

/* The PWM knob: pwm1 (or target_pwm) of the pwmfan hwmon, or JetPack 4's. */
static int find_pwm_knob(const struct coh_sysroot *sr, char *path, size_t size)
{
	struct coh_names names;
	char name[32], p[128];
	int found = 0;

	if (coh_sysroot_list(sr, HWMON, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count && !found; i++) {
			snprintf(p, sizeof(p), HWMON "/%s/name", names.names[i]);
			if (coh_sysroot_read_str(sr, p, name, sizeof(name), NULL) <= 0 ||
			    strcmp(name, "pwmfan"))
				continue;
			snprintf(path, size, HWMON "/%s/pwm1", names.names[i]);
			found = coh_sysroot_exists(sr, path);
		}
		coh_names_free(&names);
	}
	if (!found) {
		snprintf(path, size, "/sys/devices/pwm-fan/target_pwm");
		found = coh_sysroot_exists(sr, path);
	}
	return found;
}

int coh_fan_set_pwm(const struct coh_sysroot *sr, int64_t pwm, struct pep_err *err)
{
	char path[160], text[24];
	int64_t back;
	int ret;

	if (pwm < 0 || pwm > 255)
		return pep_err_set(err, -EINVAL, "fan: PWM %lld is not 0..255",
				   (long long)pwm);
	if (!find_pwm_knob(sr, path, sizeof(path)))
		return pep_err_set(err, -ENODEV, "fan: no PWM fan (pwmfan hwmon or pwm-fan)");
	snprintf(text, sizeof(text), "%lld\n", (long long)pwm);
	ret = coh_sysroot_write(sr, path, text, err);
	if (ret < 0)
		return ret;
	ret = coh_sysroot_read_s64(sr, path, &back, err);
	if (ret < 0)
		return ret;
	if (back != pwm)
		return pep_err_set(err, -EIO,
				   "fan: wrote %lld to %s, it reads back %lld (nvfancontrol running?)",
				   (long long)pwm, path, (long long)back);
	return 0;
}
