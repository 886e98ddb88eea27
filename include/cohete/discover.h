/*
 * cohete/discover.h - finding Jetsons: on USB (recovery mode, and booted
 * devices whose L4T USB gadget gives a network and a serial console), on
 * the network by mDNS, and over SSH, where the same identification code
 * that runs on a device runs on files read from it; and the inventory file
 * that `cohete discover --save` writes for the config's fleet.devices.
 *
 * SSH uses the user's OpenSSH in batch mode: one session per candidate,
 * all at once, under one deadline. The session runs a fixed sh script that
 * only prints the identification files (hex-encoded by od); no text from
 * the user or the network is ever put into it.
 *
 * Threading: functions are reentrant; a coh_discovery is owned by the
 * caller.
 */
#ifndef COHETE_DISCOVER_H
#define COHETE_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include <cohete/device.h>
#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* coh_discover_opts.methods and coh_found.via */
#define COH_DISCOVER_USB	0x1u	/* USB devices of vendor 0955 */
#define COH_DISCOVER_MDNS	0x2u	/* _ssh, _workstation, _cohete services */
#define COH_DISCOVER_SSH	0x4u	/* probe candidates over ssh */

/* The default deadline, and the address of the L4T USB gadget's network. */
#define COH_DISCOVER_TIMEOUT_MS_DEFAULT	5000u
#define COH_DISCOVER_USB_ADDRESS	"192.168.55.1"
/* Where `cohete agent` listens unless told otherwise (its --listen default);
   hosts that do not announce an agent over mDNS are asked there. */
#define COH_DISCOVER_AGENT_PORT		9102u

struct coh_discover_opts {
	/*
	 * COH_DISCOVER_* bits; 0 = USB | MDNS | SSH. With SSH, every
	 * candidate is probed: ssh_hosts, a booted USB device's address and
	 * every host mDNS found.
	 */
	unsigned int methods;
	/* "host", "user@host", "host:port", "user@[v6addr]:port" */
	const char *const *ssh_hosts;
	size_t ssh_host_count;
	/* One deadline for all ssh sessions; mDNS listens for at most 2 s
	   of it. 0 = COH_DISCOVER_TIMEOUT_MS_DEFAULT. */
	unsigned int timeout_ms;
	const char *ssh_program;	/* NULL = "ssh" (looked up in PATH) */
	const char *const *ssh_options;	/* each passed as "-o OPTION" */
	size_t ssh_option_count;
	const char *user;		/* login user where a host names none;
					   NULL = ssh's own default */
	const char *identity;		/* NULL, or a key file for "-i" */
	/*
	 * Keep hosts that ssh identified as other Linux machines (a
	 * workstation announcing _ssh._tcp). 0: they are left out, and a
	 * note says how many.
	 */
	int all_hosts;
};

enum coh_usb_mode {
	COH_USB_NONE = 0,		/* not seen on USB */
	COH_USB_RECOVERY,		/* APX: the boot ROM waiting to be flashed */
	COH_USB_DEVICE,			/* booted L4T's USB gadget (network, ACM) */
	COH_USB_OTHER,			/* vendor 0955, a product the table lacks */
};

enum coh_ssh_state {
	COH_SSH_NOT_TRIED = 0,
	COH_SSH_OK,			/* the probe answered */
	COH_SSH_FAILED,			/* ssh_reason says why */
};

/* One device, as every method that saw it reported it. */
struct coh_found {
	char id[64];			/* hostname, else "jetson-<serial>", else
					   the address or the USB port */
	char address[64];		/* where ssh goes; "" for none */
	uint16_t port;			/* ssh port; 0 = ssh's default */
	char user[64];			/* login user; "" = ssh's default */
	unsigned int via;		/* COH_DISCOVER_* bits */
	char serial[64];		/* device tree, USB or mDNS; "" unknown */

	/* USB (via & COH_DISCOVER_USB) */
	enum coh_usb_mode usb_mode;
	char usb_port[32];		/* sysfs name: "1-4.2" */
	uint16_t usb_vid, usb_pid;
	const char *usb_module;		/* name from data/jetson-usb.tsv, or NULL */
	const char *usb_pnums;		/* "p3701-0000,p3701-0005", or NULL */
	char usb_net[32];		/* gadget network interface: "usb0" */
	char usb_net_driver[16];	/* "rndis_host", "cdc_ncm", "cdc_ether" */
	char usb_tty[32];		/* gadget serial console: "ttyACM0" */

	/* mDNS (via & COH_DISCOVER_MDNS) */
	char mdns_name[128];		/* "jetson-01.local" */
	char mdns_module[64];		/* from the _cohete._tcp TXT record */
	char mdns_l4t[32];

	/* SSH */
	enum coh_ssh_state ssh;
	char ssh_reason[160];		/* "timed out after 5 s", "connection
					   refused", "host key verification
					   failed", "permission denied", ... */
	unsigned int ssh_ms;		/* how long its session took */

	/* The agent: 1 announced (mDNS _cohete._tcp) or answering on
	   COH_DISCOVER_AGENT_PORT, 0 not, -1 unknown. */
	int agent;
	uint16_t agent_port;

	/* From the files read over ssh, when ssh == COH_SSH_OK. */
	int identified;
	struct coh_device device;
};

struct coh_discovery {
	struct coh_found *found;
	size_t count;
	/* What a method could not do: {"mdns", "avahi-daemon is not running
	   (mDNS skipped)"}, {"usb", "..."}. */
	struct coh_notes notes;
	unsigned int elapsed_ms;	/* the whole discovery */
	unsigned int ssh_ms;		/* the parallel ssh phase */
};

/*
 * Find devices by the methods asked for, probe the candidates over ssh
 * and merge what several methods saw of one device into one row (by serial
 * number, then by address). A method that cannot run (no USB bus, no
 * avahi-daemon) is noted, not an error. Returns 0 with *out set (free with
 * coh_discovery_free()), -EINVAL for a host string that is no host (err
 * names it), -ENOENT when ssh_program cannot be found, -ENOMEM.
 */
COH_API int coh_discover(const struct coh_discover_opts *opts,
			 struct coh_discovery **out, struct pep_err *err);
COH_API void coh_discovery_free(struct coh_discovery *d);

/* The module's best name: identified, else mDNS TXT, else the USB table;
   NULL when nothing names it. */
COH_API const char *coh_found_module(const struct coh_found *f);

/* The L4T release: identified, else mDNS TXT; "" when unknown. */
COH_API const char *coh_found_l4t(const struct coh_found *f);

/*
 * Split "user@host:port" (host may be "[v6addr]"). user and port are
 * optional (left "" and 0). -EINVAL, naming the problem, for an empty
 * host, a leading '-', whitespace or control characters, characters no
 * host name or address has, or a port outside 1..65535.
 */
COH_API int coh_discover_parse_host(const char *text, char *user,
				    size_t user_size, char *host,
				    size_t host_size, uint16_t *port,
				    struct pep_err *err);

/*
 * The inventory: a YAML file `fleet: {devices: [...]}` in the config's
 * device format (id, connection usb|ssh|mdns, host, user, port, module
 * P-number, serial, l4t, ram_mb), for a cohete.yaml to include. Devices
 * without an address (recovery mode) are listed in a comment only.
 * Written atomically: a temporary file in the same directory, fsync'd,
 * renamed over path (mode 0644); a missing parent directory is made 0700.
 * path NULL = coh_config_inventory_path(). Returns the number of
 * devices written, or -errno with err naming the file.
 */
COH_API int coh_inventory_save(const struct coh_discovery *d,
			       const char *path, struct pep_err *err);

/*
 * The USB product table (data/jetson-usb.tsv), for tools that list it and
 * for tests. Lookup returns NULL for a product the table lacks.
 */
struct coh_usb_id {
	uint16_t vid, pid;
	enum coh_usb_mode mode;
	const char *soc;		/* "tegra234"; "" for the gadget */
	const char *name;		/* "Jetson AGX Orin" */
	const char *pnums;		/* "p3701-0000,p3701-0005"; "" */
};

COH_API const struct coh_usb_id *coh_usb_id_table(size_t *count);
COH_API const struct coh_usb_id *coh_usb_id_lookup(uint16_t vid, uint16_t pid);

/*
 * The SSH probe, exposed for tests and fuzzing. The script prints each
 * readable file of coh_discover_probe_paths() (under $COHETE_SYSROOT when
 * that is set on the remote side) hex-encoded by od. The parser takes its
 * output as hostile input: only listed paths, each once, at most
 * COH_PROBE_FILE_MAX bytes, valid hex, every block closed. Lines outside
 * blocks (what a login shell prints) are skipped.
 */
#define COH_PROBE_FILE_MAX	65536u
#define COH_PROBE_OUTPUT_MAX	(4u << 20)

COH_API const char *coh_discover_probe_script(void);
COH_API const char *const *coh_discover_probe_paths(size_t *count);

struct coh_probe_file {
	const char *path;		/* one of coh_discover_probe_paths() */
	unsigned char *data;
	size_t len;
};

struct coh_probe {
	struct coh_probe_file *files;
	size_t count;
};

/* 0, or -EPROTO with the line and the reason in err; *out is freed with
   coh_probe_free() either way. */
COH_API int coh_probe_parse(const char *text, size_t len,
			    struct coh_probe *out, struct pep_err *err);
COH_API void coh_probe_free(struct coh_probe *p);

/*
 * Identify the machine whose files the probe read: they are written to a
 * private temporary directory (mode 0700, removed before returning),
 * opened as a sysroot and identified by coh_device_identify(). 0, or
 * -errno with err set.
 */
COH_API int coh_probe_identify(const struct coh_probe *p,
			       struct coh_device *dev, struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_DISCOVER_H */
