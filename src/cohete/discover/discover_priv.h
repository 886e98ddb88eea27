/*
 * discover_priv.h - what the discover module's files share: the USB
 * table compiled from data/jetson-usb.tsv, the USB walk, the parallel ssh
 * probes and the growing list of rows. Not installed.
 */
#ifndef COHETE_DISCOVER_PRIV_H
#define COHETE_DISCOVER_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/discover.h> instead"
#endif

#include <stddef.h>

#include <cohete/discover.h>

/* Generated from data/jetson-usb.tsv (scripts/gen-usb-ids.py). */
extern const struct coh_usb_id *coh__usb_rows;
extern const size_t coh__usb_count;

/* A growing array of rows. */
struct coh__rows {
	struct coh_found *v;
	size_t count, cap;
};

/* A new zeroed row (agent unknown), or NULL when out of memory. */
struct coh_found *coh__rows_add(struct coh__rows *rows);

/*
 * Every vendor-0955 USB device libudev sees, one row each. Nothing there
 * (no USB bus) is a note, not an error. 0 or -ENOMEM.
 */
int coh__usb_scan(struct coh__rows *rows, struct coh_notes *notes);

/* One ssh probe: where to go, and what came back. */
struct coh__ssh_target {
	char host[64];			/* validated: no '-' first, no spaces */
	char user[64];			/* "" = ssh's default */
	uint16_t port;			/* 0 = ssh's default */
	struct coh_found *row;		/* where the answer goes */
};

/*
 * Probe every target at once: one ssh each, spawned together, their
 * output read as it comes, one deadline (opts->timeout_ms) for all; a
 * session still running then is killed and reported timed out. Each
 * target's row gets ssh, ssh_reason, ssh_ms and, when the files came
 * back, the identified device. 0, or -ENOENT (no ssh program: err names
 * it) or -ENOMEM.
 */
int coh__ssh_probe_all(const struct coh_discover_opts *opts,
		       struct coh__ssh_target *targets, size_t count,
		       struct pep_err *err);

/*
 * For identified rows whose agent is unknown: connect to each address's
 * agent port at once and set agent to 1 (its status answered), 0 (refused,
 * or another server), or leave -1 (no answer by timeout_ms).
 */
void coh__agent_probe_all(struct coh__rows *rows, unsigned int timeout_ms);

/* The reason for a failed ssh, from its exit status and stderr. */
void coh__ssh_reason(int exit_code, const char *stderr_text, char *out,
		     size_t size);

#endif
