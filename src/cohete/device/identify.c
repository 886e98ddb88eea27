/*
 * Identify the machine behind a sysroot.
 *
 * A Jetson is recognised by an "nvidia,tegra*" device-tree compatible (or,
 * without a device tree, by /etc/nv_tegra_release). The module comes from
 * its P-number, looked for in this order: the compatible list (the part
 * after '+' is the module), nvidia,dtsfilename, nvidia,boardids, and the
 * module EEPROM (root only). RAM size never decides the model; it only
 * splits the one P-number NVIDIA reused for two RAM sizes. Every file is
 * optional: what is missing is noted, never guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/device.h>

#include "internal.h"
#include "device/meminfo.h"

#define DT "/proc/device-tree"

struct pnum_search {
	const struct coh_sysroot *sr;
	struct coh_device *dev;
	char first[32];			/* first module-position P-number seen */
};

/* Device-tree string lists are NUL-separated; join them with spaces. */
static int read_dt_list(const struct coh_sysroot *sr, const char *path,
			char *buf, size_t size, char *joined, size_t jsize)
{
	int len = coh_sysroot_read(sr, path, buf, size, NULL);
	size_t j = 0;

	if (len < 0)
		return len;
	for (int i = 0; i < len && j + 1 < jsize; i++)
		joined[j++] = buf[i] ? buf[i] : ' ';
	while (j > 0 && joined[j - 1] == ' ')
		j--;
	joined[j] = '\0';
	return len;
}

static int try_pnum(struct pnum_search *s, const char *pnum, int super,
		    const char *source)
{
	struct coh_device *dev = s->dev;
	const struct coh_module_spec *m = NULL;

	if (super)
		m = coh_module_lookup(pnum, "super", dev->soc, dev->mem_total_kb);
	if (!m)
		m = coh_module_lookup(pnum, "", dev->soc, dev->mem_total_kb);
	if (!m)
		return 0;
	dev->module = m;
	dev->super = super && !strcmp(m->variant, "super");
	coh__strlcpy(dev->module_pnum, pnum, sizeof(dev->module_pnum));
	coh__strlcpy(dev->pnum_source, source, sizeof(dev->pnum_source));
	return 1;
}

/* Try every P-number in one text, module position first. */
static int try_text(struct pnum_search *s, const char *text,
		    const char *source)
{
	char pnums[4][32];
	int super = 0;
	int n = coh_parse_pnums(text, pnums, 4, &super);

	if (n > 0 && !s->first[0])
		coh__strlcpy(s->first, pnums[0], sizeof(s->first));
	if (n > 1 && strchr(text, '+') && !s->dev->carrier_pnum[0])
		coh__strlcpy(s->dev->carrier_pnum, pnums[1],
			     sizeof(s->dev->carrier_pnum));
	for (int i = 0; i < n; i++)
		if (try_pnum(s, pnums[i], super, source))
			return 1;
	return 0;
}

static int search_compatible(struct pnum_search *s, const char *raw, int len)
{
	for (int i = 0; i < len; i += (int)strlen(raw + i) + 1)
		if (try_text(s, raw + i, "compatible"))
			return 1;
	return 0;
}

/* nvidia,boardids: "3448:0000:B01 ..." -> "p3448-0000". */
static int search_boardids(struct pnum_search *s, const char *text)
{
	char pnum[32];

	for (const char *p = text; *p; p++) {
		if (p != text && isalnum((unsigned char)p[-1]))
			continue;
		if (strspn(p, "0123456789") != 4 || p[4] != ':' ||
		    strspn(p + 5, "0123456789") != 4)
			continue;
		snprintf(pnum, sizeof(pnum), "p%.4s-%.4s", p, p + 5);
		if (try_text(s, pnum, "boardids"))
			return 1;
	}
	return 0;
}

/*
 * The module EEPROM holds "699-13701-0000-500 L.0" at bytes 20..48: the
 * P-number is p3701-0000. Root only; absent or unreadable is normal.
 */
static int search_eeprom(struct pnum_search *s)
{
	static const char *const buses[] = { "0", "1", "2", "7" };
	char path[64], buf[256], pnum[32];

	for (size_t i = 0; i < ARRAY_SIZE(buses); i++) {
		snprintf(path, sizeof(path), "/sys/bus/i2c/devices/%s-0050/eeprom",
			 buses[i]);
		if (coh_sysroot_read(s->sr, path, buf, sizeof(buf), NULL) < 49)
			continue;
		if (strncmp(buf + 20, "699-", 4) || buf[29] != '-')
			continue;
		snprintf(pnum, sizeof(pnum), "p%.4s-%.4s", buf + 25, buf + 30);
		if (try_text(s, pnum, "eeprom"))
			return 1;
	}
	return 0;
}

static void identify_module(const struct coh_sysroot *sr,
			    struct coh_device *dev, const char *compat_raw,
			    int compat_len, struct coh_notes *notes)
{
	struct pnum_search s = { .sr = sr, .dev = dev };
	char buf[512];

	if (compat_len > 0 && search_compatible(&s, compat_raw, compat_len))
		return;
	if (coh_sysroot_read_str(sr, DT "/nvidia,dtsfilename", buf,
				 sizeof(buf), NULL) > 0 &&
	    try_text(&s, strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf,
		     "dtsfilename"))
		return;
	if (coh_sysroot_read_str(sr, DT "/nvidia,boardids", buf, sizeof(buf),
				 NULL) > 0 && search_boardids(&s, buf))
		return;
	if (search_eeprom(&s))
		return;
	coh__strlcpy(dev->module_pnum, s.first, sizeof(dev->module_pnum));
	if (s.first[0])
		coh_notes_add(notes, "device.module",
			      "P-number %s (%s) is not in the module table",
			      s.first, dev->soc[0] ? dev->soc : "unknown SoC");
	else if (compat_len > 0)
		coh_notes_add(notes, "device.module",
			      "no module P-number in the device tree");
}

/* The last compatible entry names the SoC: "nvidia,tegra234". */
static void set_soc(struct coh_device *dev, const char *raw, int len)
{
	const char *last = raw;

	for (int i = 0; i < len; i += (int)strlen(raw + i) + 1)
		if (raw[i])
			last = raw + i;
	if (!strncmp(last, "nvidia,tegra", 12))
		coh__strlcpy(dev->soc, last + 7, sizeof(dev->soc));
}

static int has_tegra_entry(const char *raw, int len)
{
	for (int i = 0; i < len; i += (int)strlen(raw + i) + 1)
		if (!strncmp(raw + i, "nvidia,tegra", 12))
			return 1;
	return 0;
}

static void identify_l4t(const struct coh_sysroot *sr, struct coh_device *dev,
			 struct coh_notes *notes)
{
	struct pep_err err;
	char buf[512];

	if (coh_sysroot_read(sr, "/etc/nv_tegra_release", buf, sizeof(buf),
			     &err) < 0) {
		coh__note_read_error(notes, "device.l4t", &err);
		return;
	}
	if (coh_parse_nv_tegra_release(buf, dev->l4t, sizeof(dev->l4t),
				       &err) < 0) {
		coh_notes_add_err(notes, "device.l4t", &err);
		return;
	}
	dev->jetpack = coh_l4t_lookup(dev->l4t);
	if (!dev->jetpack)
		coh_notes_add(notes, "device.jetpack",
			      "L4T %s is not in the L4T-to-JetPack table",
			      dev->l4t);
}

static void identify_serial(const struct coh_sysroot *sr,
			    struct coh_device *dev, struct coh_notes *notes)
{
	struct pep_err err;

	if (coh_sysroot_read_str(sr, DT "/serial-number", dev->serial,
				 sizeof(dev->serial), &err) < 0)
		coh__note_read_error(notes, "device.serial", &err);
}

/* A non-Jetson host: DMI on PCs, the device tree on other boards. */
static void identify_other(const struct coh_sysroot *sr,
			   struct coh_device *dev, const char *compat_raw,
			   int compat_len, struct coh_notes *notes)
{
	dev->kind = COH_HOST_OTHER;
	if (!dev->model[0])
		coh_sysroot_read_str(sr, "/sys/class/dmi/id/product_name",
				     dev->model, sizeof(dev->model), NULL);
	coh_sysroot_read_str(sr, "/sys/class/dmi/id/sys_vendor", dev->vendor,
			     sizeof(dev->vendor), NULL);
	if (!dev->vendor[0] && compat_len > 0) {
		const char *comma = strchr(compat_raw, ',');
		size_t n = comma ? (size_t)(comma - compat_raw) : 0;

		if (n && n < sizeof(dev->vendor)) {
			memcpy(dev->vendor, compat_raw, n);
			dev->vendor[n] = '\0';
		}
	}
	if (!dev->model[0])
		coh_notes_add(notes, "device.model",
			      "no DMI product name and no device-tree model");
}

/* MemTotal, which splits the P-number NVIDIA reused; 0 when unknown. */
static uint64_t read_mem_total_kb(const struct coh_sysroot *sr)
{
	int64_t total_kb;
	const struct coh__meminfo_field field = { "MemTotal", &total_kb };
	char text[4096];

	if (coh_sysroot_read(sr, "/proc/meminfo", text, sizeof(text), NULL) < 0 ||
	    coh__meminfo_parse(text, &field, 1, NULL) < 0 || total_kb == COH_NA)
		return 0;
	return (uint64_t)total_kb;
}

int coh_device_identify(const struct coh_sysroot *sr, struct coh_device *dev,
			struct coh_notes *notes)
{
	char compat_raw[512];
	int compat_len;

	memset(dev, 0, sizeof(*dev));
	dev->mem_total_kb = read_mem_total_kb(sr);
	coh_sysroot_read_str(sr, "/proc/sys/kernel/osrelease", dev->kernel,
			     sizeof(dev->kernel), NULL);
	coh_sysroot_read_str(sr, "/proc/sys/kernel/hostname", dev->hostname,
			     sizeof(dev->hostname), NULL);
	coh__device_read_cpu(sr, dev, notes);

	compat_len = read_dt_list(sr, DT "/compatible", compat_raw,
				  sizeof(compat_raw) - 1, dev->compatible,
				  sizeof(dev->compatible));
	if (compat_len >= 0)
		compat_raw[compat_len] = '\0';
	coh_sysroot_read_str(sr, DT "/model", dev->model, sizeof(dev->model),
			     NULL);

	if (compat_len > 0 && has_tegra_entry(compat_raw, compat_len)) {
		dev->kind = COH_HOST_JETSON;
		coh__strlcpy(dev->vendor, "NVIDIA", sizeof(dev->vendor));
		set_soc(dev, compat_raw, compat_len);
		identify_module(sr, dev, compat_raw, compat_len, notes);
		identify_l4t(sr, dev, notes);
		identify_serial(sr, dev, notes);
	} else if (coh_sysroot_exists(sr, "/etc/nv_tegra_release")) {
		dev->kind = COH_HOST_JETSON;
		coh__strlcpy(dev->vendor, "NVIDIA", sizeof(dev->vendor));
		coh_notes_add(notes, "device.module",
			      "no device tree (%s/compatible): module unknown", DT);
		identify_l4t(sr, dev, notes);
	} else {
		identify_other(sr, dev, compat_raw, compat_len > 0 ? compat_len : 0,
			       notes);
	}
	return 0;
}
