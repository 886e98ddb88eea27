/*
 * The inventory: what discovery found, as the config's fleet.devices, for
 * a cohete.yaml to include (devices merge by id, so a hand-written file
 * adds thermal policies and labels to the devices found here).
 *
 * Written whole or not at all: a temporary file beside the target, synced,
 * renamed over it, and the directory synced, so a crash leaves the old
 * file or the new one, never half of one. Every string is double-quoted
 * with escapes: a serial number or a host name comes from the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/discover.h>

#include "internal.h"

/* A YAML double-quoted scalar. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_key(FILE *f, const char *key, const char *value)
{
	if (!value || !value[0])
		return;
	fprintf(f, "      %s: ", key);
	put_str(f, value);
	fputc('\n', f);
}

static const char *connection(const struct coh_found *d)
{
	if ((d->via & COH_DISCOVER_USB) &&
	    !strcmp(d->address, COH_DISCOVER_USB_ADDRESS))
		return "usb";
	if ((d->via & COH_DISCOVER_MDNS) && d->mdns_name[0])
		return "mdns";
	return "ssh";
}

/* The P-number: identified, else the USB table's when it names one. */
static void module_of(const struct coh_found *d, char *out, size_t size)
{
	out[0] = '\0';
	if (d->identified && d->device.module_pnum[0])
		coh__strlcpy(out, d->device.module_pnum, size);
	else if (d->usb_pnums && !strchr(d->usb_pnums, ','))
		coh__strlcpy(out, d->usb_pnums, size);
	else if (d->mdns_module[0])
		coh__strlcpy(out, d->mdns_module, size);
}

static void put_device(FILE *f, const struct coh_found *d)
{
	const char *conn = connection(d);
	char module[64];

	fprintf(f, "    - id: ");
	put_str(f, d->id);
	fprintf(f, "\n      connection: %s\n", conn);
	put_key(f, "host", !strcmp(conn, "mdns") ? d->mdns_name : d->address);
	put_key(f, "user", d->user);
	if (d->port)
		fprintf(f, "      port: %u\n", d->port);
	module_of(d, module, sizeof(module));
	put_key(f, "module", module);
	put_key(f, "serial", d->serial);
	put_key(f, "l4t", coh_found_l4t(d));
	if (d->identified && d->device.mem_total_kb)
		fprintf(f, "      ram_mb: %llu\n",
			(unsigned long long)(d->device.mem_total_kb / 1024));
}

/*
 * A device the inventory lists: one with an address that ssh identified,
 * or that USB or mDNS saw (a Jetson whose ssh is not set up yet). A host
 * the user only named, which did not answer as a Jetson, is not a device.
 */
static int listed(const struct coh_found *d)
{
	return d->address[0] &&
	       (d->identified || (d->via & (COH_DISCOVER_USB | COH_DISCOVER_MDNS)));
}

static int write_doc(FILE *f, const struct coh_discovery *disc)
{
	char stamp[40] = "";
	int n = 0;

	pep_time_rfc3339(pep_time_real_ms(), stamp, sizeof(stamp));
	fprintf(f, "# cohete inventory: the devices `cohete discover` found, %s.\n"
		"# Include it from cohete.yaml (include: [inventory.yaml]): devices\n"
		"# merge by id, so that file can add thermal_policy, labels and\n"
		"# budgets to them. `cohete discover --save` rewrites this file.\n",
		stamp);
	for (size_t i = 0; i < disc->count; i++) {
		const struct coh_found *d = &disc->found[i];

		if (!d->address[0])
			fprintf(f, "# not listed (no address): USB %s, %s%s\n",
				d->usb_port, coh_found_module(d) ?
				coh_found_module(d) : "unknown module",
				d->usb_mode == COH_USB_RECOVERY ?
				" in recovery mode" : "");
		else if (!listed(d))
			fprintf(f, "# not listed (not identified): %s: %s\n",
				d->address, d->ssh_reason[0] ? d->ssh_reason :
				"no answer");
	}
	fprintf(f, "fleet:\n  devices:");
	for (size_t i = 0; i < disc->count; i++) {
		if (!listed(&disc->found[i]))
			continue;
		if (n++ == 0)
			fputc('\n', f);
		put_device(f, &disc->found[i]);
	}
	if (n == 0)
		fprintf(f, " []\n");
	return n;
}

/* mkdir -p of path's directory, new directories 0700. */
static int make_parent(const char *path, struct pep_err *err)
{
	char dir[4096];

	if (strlen(path) >= sizeof(dir))
		return pep_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	coh__strlcpy(dir, path, sizeof(dir));
	for (char *s = dir + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return pep_err_errno(err, "mkdir %s", dir);
		*s = '/';
	}
	return 0;
}

static int sync_dir(const char *path)
{
	char dir[4096];
	char *slash;
	int fd;

	coh__strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash)
		coh__strlcpy(dir, ".", sizeof(dir));
	else
		slash[slash == dir] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

/* Write the document to the open temporary file; 0 or -errno. */
static int write_tmp(int fd, const char *tmp, const struct coh_discovery *d,
		     int *count, struct pep_err *err)
{
	FILE *f = fdopen(fd, "w");

	if (!f) {
		close(fd);
		return pep_err_errno(err, "%s", tmp);
	}
	*count = write_doc(f, d);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		int ret = pep_err_errno(err, "write %s", tmp);

		fclose(f);
		return ret;
	}
	if (fclose(f) != 0)
		return pep_err_errno(err, "close %s", tmp);
	return 0;
}

int coh_inventory_save(const struct coh_discovery *d, const char *path,
		       struct pep_err *err)
{
	char def[4096], tmp[4200];
	int fd, ret, count = 0;

	if (!path) {
		ret = coh_config_inventory_path(def, sizeof(def), NULL, NULL);
		if (ret < 0)
			return pep_err_set(err, ret, "no inventory path: neither "
					   "XDG_CONFIG_HOME nor a home directory");
		path = def;
	}
	ret = make_parent(path, err);
	if (ret < 0)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(err, "create %s", tmp);
	if (fchmod(fd, 0644) < 0) {
		ret = pep_err_errno(err, "chmod %s", tmp);
		close(fd);
		goto err_unlink;
	}
	ret = write_tmp(fd, tmp, d, &count, err);
	if (ret < 0)
		goto err_unlink;
	if (rename(tmp, path) < 0) {
		ret = pep_err_errno(err, "rename %s to %s", tmp, path);
		goto err_unlink;
	}
	sync_dir(path);
	return count;
err_unlink:
	unlink(tmp);
	return ret;
}
