/*
 * mdns.h - the mDNS side of discovery: an avahi-client browse of
 * _ssh._tcp, _workstation._tcp and _cohete._tcp, every service resolved
 * and merged into one row per host. The rest of the module (merge with USB
 * and SSH, the inventory) reads these rows.
 *
 * Library-internal (coh__ names); nothing here is installed.
 */
#ifndef COHETE_DISCOVER_MDNS_H
#define COHETE_DISCOVER_MDNS_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/discover.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

/*
 * One host seen on the network. Strings are NUL-terminated and empty when
 * unknown; ports are 0 when the service was not seen. `name` is the mDNS
 * host name (e.g. "jetson-01.local"), `address` its IPv4 address when it
 * has one, else IPv6. id/module/l4t/serial come from the _cohete._tcp TXT
 * record that `cohete agent` publishes.
 */
struct coh_mdns_host {
	char name[128];
	char address[64];
	uint16_t ssh_port;
	uint16_t agent_port;
	int workstation;		/* a _workstation._tcp record was seen */
	char id[64];
	char module[64];
	char l4t[32];
	char serial[64];
};

/*
 * Browse for timeout_ms and return what was found: *hosts (free with
 * coh__mdns_free; NULL when *count is 0) and *count. Returns within
 * timeout_ms whatever the daemon does. Returns 0, or -errno with err set;
 * when avahi-daemon or the system D-Bus is not there, the error says
 * "avahi-daemon is not running (mDNS skipped)".
 */
int coh__mdns_browse(unsigned int timeout_ms, struct coh_mdns_host **hosts,
		     size_t *count, struct pep_err *err);
void coh__mdns_free(struct coh_mdns_host *hosts);

/*
 * Fill h's TXT fields (id, module, l4t, serial, agent_port) from n
 * "key=value" strings (not necessarily NUL-free beyond the terminator:
 * each is a C string). Unknown keys are ignored; a value that is too long
 * or has characters outside its field's set is dropped. Returns the
 * number of fields taken. Hostile input: fuzzed.
 */
int coh__mdns_txt_parse(const char *const *txt, size_t n,
			struct coh_mdns_host *h);

#endif
