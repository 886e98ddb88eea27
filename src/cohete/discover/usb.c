/*
 * Jetsons on USB, through libudev: every usb_device of vendor 0955. The
 * product id says what it is (data/jetson-usb.tsv): the boot ROM's APX
 * device of a module in recovery mode, or the gadget of a booted L4T,
 * whose network interface (rndis_host, cdc_ncm or cdc_ether on our side)
 * reaches the device at 192.168.55.1 and whose ACM port is its serial
 * console. L4T's gadget carries the device-tree serial number as its USB
 * serial, which is what merges it with the same device seen over ssh.
 *
 * libudev, not a walk of /sys: the same code then runs against umockdev's
 * described devices in the tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libudev.h>

#include <cohete/discover.h>

#include "internal.h"
#include "discover/discover_priv.h"

#define NVIDIA_VID 0x0955

const struct coh_usb_id *coh_usb_id_table(size_t *count)
{
	*count = coh__usb_count;
	return coh__usb_rows;
}

const struct coh_usb_id *coh_usb_id_lookup(uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; i < coh__usb_count; i++)
		if (coh__usb_rows[i].vid == vid && coh__usb_rows[i].pid == pid)
			return &coh__usb_rows[i];
	return NULL;
}

/* A 4-digit hex sysfs attribute ("0955"); -1 when absent or malformed. */
static long hex_attr(struct udev_device *dev, const char *name)
{
	const char *v = udev_device_get_sysattr_value(dev, name);
	char *end;
	long n;

	if (!v || strspn(v, "0123456789abcdefABCDEF") != 4)
		return -1;
	n = strtol(v, &end, 16);
	return *end && *end != '\n' ? -1 : n;
}

/* A printable attribute into out (a USB string descriptor is hostile). */
static void copy_attr(struct udev_device *dev, const char *name, char *out,
		      size_t size)
{
	const char *v = udev_device_get_sysattr_value(dev, name);
	size_t n = 0;

	for (; v && *v && *v != '\n' && n + 1 < size; v++)
		out[n++] = (*v > ' ' && *v < 0x7f) ? *v : '_';
	out[n] = '\0';
}

/* The gadget's network interface and ACM tty: children of the device. */
static void find_children(struct udev *udev, struct udev_device *usb,
			  const char *subsystem, struct coh_found *f)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *e;

	if (!en)
		return;
	udev_enumerate_add_match_parent(en, usb);
	udev_enumerate_add_match_subsystem(en, subsystem);
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *d = udev_device_new_from_syspath(
			udev, udev_list_entry_get_name(e));
		struct udev_device *intf;
		const char *name, *drv;

		if (!d)
			continue;
		name = udev_device_get_sysname(d);
		intf = udev_device_get_parent_with_subsystem_devtype(
			d, "usb", "usb_interface");
		drv = intf ? udev_device_get_driver(intf) : NULL;
		if (!strcmp(subsystem, "net") && !f->usb_net[0]) {
			coh__strlcpy(f->usb_net, name, sizeof(f->usb_net));
			coh__strlcpy(f->usb_net_driver, drv ? drv : "",
				     sizeof(f->usb_net_driver));
		} else if (!strcmp(subsystem, "tty") && !f->usb_tty[0] &&
			   !strncmp(name, "ttyACM", 6)) {
			coh__strlcpy(f->usb_tty, name, sizeof(f->usb_tty));
		}
		udev_device_unref(d);
	}
	udev_enumerate_unref(en);
}

static int add_device(struct udev *udev, struct udev_device *dev,
		      struct coh__rows *rows)
{
	long vid = hex_attr(dev, "idVendor"), pid = hex_attr(dev, "idProduct");
	const struct coh_usb_id *id;
	struct coh_found *f;

	if (vid != NVIDIA_VID || pid < 0)
		return 0;
	f = coh__rows_add(rows);
	if (!f)
		return -ENOMEM;
	f->via = COH_DISCOVER_USB;
	f->usb_vid = (uint16_t)vid;
	f->usb_pid = (uint16_t)pid;
	coh__strlcpy(f->usb_port, udev_device_get_sysname(dev),
		     sizeof(f->usb_port));
	copy_attr(dev, "serial", f->serial, sizeof(f->serial));
	id = coh_usb_id_lookup((uint16_t)vid, (uint16_t)pid);
	f->usb_mode = id ? id->mode : COH_USB_OTHER;
	if (id) {
		f->usb_module = id->name;
		f->usb_pnums = id->pnums[0] ? id->pnums : NULL;
	}
	if (f->usb_mode == COH_USB_RECOVERY)
		return 0;
	find_children(udev, dev, "net", f);
	find_children(udev, dev, "tty", f);
	/* the gadget's network: L4T's fixed address on the device side */
	if (f->usb_net[0])
		coh__strlcpy(f->address, COH_DISCOVER_USB_ADDRESS,
			     sizeof(f->address));
	return 0;
}

int coh__usb_scan(struct coh__rows *rows, struct coh_notes *notes)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *en;
	struct udev_list_entry *e;
	size_t before = rows->count;
	int ret = 0;

	if (!udev) {
		coh_notes_add(notes, "usb", "libudev could not start: %s",
			      strerror(errno ? errno : ENOMEM));
		return 0;
	}
	en = udev_enumerate_new(udev);
	if (!en) {
		udev_unref(udev);
		return -ENOMEM;
	}
	udev_enumerate_add_match_subsystem(en, "usb");
	udev_enumerate_add_match_property(en, "DEVTYPE", "usb_device");
	udev_enumerate_add_match_sysattr(en, "idVendor", "0955");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *d = udev_device_new_from_syspath(
			udev, udev_list_entry_get_name(e));

		if (!d)
			continue;
		ret = add_device(udev, d, rows);
		udev_device_unref(d);
		if (ret < 0)
			break;
	}
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (ret == 0 && rows->count == before && access("/sys/bus/usb", F_OK))
		coh_notes_add(notes, "usb", "no USB bus on this machine "
			      "(/sys/bus/usb absent)");
	return ret;
}
