/*
 * Discovery: USB, then mDNS, then the given hosts make candidate rows;
 * rows for one address become one; every row with an address is probed
 * over ssh at once; rows whose probes found one serial number (or that
 * share an address) become one. A device therefore shows once however
 * many ways it was found: its USB gadget, its mDNS name and the address
 * the user typed.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/discover.h>

#include "internal.h"
#include "discover/discover_priv.h"
#include "discover/mdns.h"

/* mDNS answers within a second on a LAN; it gets at most this much. */
#define MDNS_MAX_MS 2000u

struct coh_found *coh__rows_add(struct coh__rows *rows)
{
	struct coh_found *f;

	if (rows->count == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 8;
		struct coh_found *v = realloc(rows->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		rows->v = v;
		rows->cap = cap;
	}
	f = &rows->v[rows->count++];
	memset(f, 0, sizeof(*f));
	f->agent = -1;
	return f;
}

/* Characters of a host name, an IPv4 or a bracketed IPv6 address. */
static int host_chars_ok(const char *h)
{
	return h[0] && strspn(h, "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%")
		       == strlen(h);
}

static int parse_port(const char *text, uint16_t *port, struct pep_err *err,
		      const char *whole)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (!*text || *end || strspn(text, "0123456789") != strlen(text) ||
	    v < 1 || v > 65535)
		return pep_err_set(err, -EINVAL, "'%s': port '%s' is not a "
				   "number from 1 to 65535", whole, text);
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]:port" or "host:port" or "host" (an unbracketed v6 has no port) */
static int split_host_port(char *s, char *host, size_t host_size,
			   uint16_t *port, struct pep_err *err,
			   const char *whole)
{
	char *colon;

	if (s[0] == '[') {
		char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return pep_err_set(err, -EINVAL, "'%s': unclosed '['",
					   whole);
		*close = '\0';
		if (close[1] && parse_port(close + 2, port, err, whole) < 0)
			return -EINVAL;
		s++;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		*colon = '\0';
		if (parse_port(colon + 1, port, err, whole) < 0)
			return -EINVAL;
	}
	if (!host_chars_ok(s) || s[0] == '-' || strlen(s) >= host_size)
		return pep_err_set(err, -EINVAL, "'%s': '%s' is not a host "
				   "name or address", whole, s);
	coh__strlcpy(host, s, host_size);
	return 0;
}

int coh_discover_parse_host(const char *text, char *user, size_t user_size,
			    char *host, size_t host_size, uint16_t *port,
			    struct pep_err *err)
{
	char buf[256], *at, *h;

	user[0] = '\0';
	host[0] = '\0';
	*port = 0;
	if (!text[0] || strlen(text) >= sizeof(buf))
		return pep_err_set(err, -EINVAL, "'%s': not a host", text);
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return pep_err_set(err, -EINVAL, "'%s': a host has no "
					   "spaces or control characters", text);
	if (text[0] == '-')
		return pep_err_set(err, -EINVAL, "'%s': a host does not start "
				   "with '-'", text);
	coh__strlcpy(buf, text, sizeof(buf));
	h = buf;
	at = strrchr(buf, '@');
	if (at) {
		*at = '\0';
		if (!buf[0] || buf[0] == '-' || strlen(buf) >= user_size ||
		    strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789._-") != strlen(buf))
			return pep_err_set(err, -EINVAL, "'%s': '%s' is not a "
					   "user name", text, buf);
		coh__strlcpy(user, buf, user_size);
		h = at + 1;
	}
	return split_host_port(h, host, host_size, port, err, text);
}

const char *coh_found_module(const struct coh_found *f)
{
	if (f->identified && f->device.module)
		return f->device.module->name;
	if (f->mdns_module[0])
		return f->mdns_module;
	/* the gadget's product id names no module; the APX id does */
	return f->usb_mode == COH_USB_RECOVERY ? f->usb_module : NULL;
}

const char *coh_found_l4t(const struct coh_found *f)
{
	if (f->identified && f->device.l4t[0])
		return f->device.l4t;
	return f->mdns_l4t;
}

static void add_mdns(struct coh__rows *rows, unsigned int timeout_ms,
		     struct coh_notes *notes, int *nomem)
{
	struct coh_mdns_host *hosts = NULL;
	struct pep_err err;
	size_t n = 0;

	if (coh__mdns_browse(timeout_ms < MDNS_MAX_MS ? timeout_ms : MDNS_MAX_MS,
			     &hosts, &n, &err) < 0) {
		coh_notes_add_err(notes, "mdns", &err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct coh_mdns_host *h = &hosts[i];
		struct coh_found *f = coh__rows_add(rows);

		if (!f) {
			*nomem = 1;
			break;
		}
		f->via = COH_DISCOVER_MDNS;
		coh__strlcpy(f->address, h->address, sizeof(f->address));
		coh__strlcpy(f->mdns_name, h->name, sizeof(f->mdns_name));
		coh__strlcpy(f->id, h->id, sizeof(f->id));
		coh__strlcpy(f->mdns_module, h->module, sizeof(f->mdns_module));
		coh__strlcpy(f->mdns_l4t, h->l4t, sizeof(f->mdns_l4t));
		coh__strlcpy(f->serial, h->serial, sizeof(f->serial));
		f->port = h->ssh_port == 22 ? 0 : h->ssh_port;
		f->agent = h->agent_port ? 1 : 0;
		f->agent_port = h->agent_port;
	}
	coh__mdns_free(hosts);
}

static int add_given(struct coh__rows *rows, const struct coh_discover_opts *o,
		     struct pep_err *err)
{
	for (size_t i = 0; i < o->ssh_host_count; i++) {
		struct coh_found *f;
		char user[64], host[64];
		uint16_t port;
		int ret;

		ret = coh_discover_parse_host(o->ssh_hosts[i], user, sizeof(user),
					      host, sizeof(host), &port, err);
		if (ret < 0)
			return ret;
		f = coh__rows_add(rows);
		if (!f)
			return pep_err_set(err, -ENOMEM, "discover: out of memory");
		f->via = COH_DISCOVER_SSH;
		coh__strlcpy(f->address, host, sizeof(f->address));
		coh__strlcpy(f->user, user, sizeof(f->user));
		f->port = port;
	}
	return 0;
}

#define KEEP_STR(field) \
	do { if (!a->field[0]) coh__strlcpy(a->field, b->field, sizeof(a->field)); } while (0)

/* Fold row b into row a: what a lacks, b gives; a successful probe wins. */
static void merge_into(struct coh_found *a, const struct coh_found *b)
{
	if (b->ssh == COH_SSH_OK && a->ssh != COH_SSH_OK) {
		struct coh_found keep = *a;

		*a = *b;
		b = &keep;
		merge_into(a, b);
		return;
	}
	a->via |= b->via;
	KEEP_STR(id);
	KEEP_STR(address);
	KEEP_STR(user);
	KEEP_STR(serial);
	KEEP_STR(mdns_name);
	KEEP_STR(mdns_module);
	KEEP_STR(mdns_l4t);
	if (!a->port)
		a->port = b->port;
	if (a->usb_mode == COH_USB_NONE && b->usb_mode != COH_USB_NONE) {
		a->usb_mode = b->usb_mode;
		a->usb_vid = b->usb_vid;
		a->usb_pid = b->usb_pid;
		a->usb_module = b->usb_module;
		a->usb_pnums = b->usb_pnums;
		memcpy(a->usb_port, b->usb_port, sizeof(a->usb_port));
		memcpy(a->usb_net, b->usb_net, sizeof(a->usb_net));
		memcpy(a->usb_net_driver, b->usb_net_driver, sizeof(a->usb_net_driver));
		memcpy(a->usb_tty, b->usb_tty, sizeof(a->usb_tty));
	}
	if (a->ssh == COH_SSH_NOT_TRIED && b->ssh != COH_SSH_NOT_TRIED) {
		a->ssh = b->ssh;
		a->ssh_ms = b->ssh_ms;
		memcpy(a->ssh_reason, b->ssh_reason, sizeof(a->ssh_reason));
	}
	if (a->agent < b->agent) {
		a->agent = b->agent;
		a->agent_port = b->agent_port;
	}
}

static int same_device(const struct coh_found *a, const struct coh_found *b)
{
	if (a->serial[0] && b->serial[0])
		return !strcmp(a->serial, b->serial);
	return a->address[0] && !strcmp(a->address, b->address) &&
	       a->port == b->port;
}

/* Merge every pair that is one device; the later row goes. */
static void merge_rows(struct coh__rows *rows)
{
	for (size_t i = 0; i < rows->count; i++) {
		for (size_t j = i + 1; j < rows->count;) {
			if (!same_device(&rows->v[i], &rows->v[j])) {
				j++;
				continue;
			}
			merge_into(&rows->v[i], &rows->v[j]);
			rows->v[j] = rows->v[--rows->count];
		}
	}
}

static int probe_rows(const struct coh_discover_opts *o, struct coh__rows *rows,
		      unsigned int *ssh_ms, struct pep_err *err)
{
	struct coh__ssh_target *t = calloc(rows->count + 1, sizeof(*t));
	uint64_t start = pep_time_ns();
	size_t n = 0;
	int ret;

	if (!t)
		return pep_err_set(err, -ENOMEM, "discover: out of memory");
	for (size_t i = 0; i < rows->count; i++) {
		struct coh_found *f = &rows->v[i];

		/* an mDNS or USB address is the network's word: check it too */
		if (!f->address[0] || !host_chars_ok(f->address) ||
		    f->address[0] == '-')
			continue;
		coh__strlcpy(t[n].host, f->address, sizeof(t[n].host));
		coh__strlcpy(t[n].user, f->user, sizeof(t[n].user));
		t[n].port = f->port;
		t[n++].row = f;
	}
	ret = coh__ssh_probe_all(o, t, n, err);
	*ssh_ms = (unsigned int)((pep_time_ns() - start) / 1000000);
	/* the user that got in is the one the inventory must name */
	for (size_t i = 0; i < n; i++)
		if (t[i].row->ssh == COH_SSH_OK && !t[i].row->user[0] && o->user)
			coh__strlcpy(t[i].row->user, o->user, sizeof(t[i].row->user));
	free(t);
	return ret;
}

/* "orin-nano" from a hostname; only the id characters the config takes. */
static void set_id(struct coh_found *f)
{
	const char *src = f->identified && f->device.hostname[0] ?
			  f->device.hostname : f->id;
	char id[64];
	size_t n = 0;

	if (!src[0] && f->mdns_name[0])
		src = f->mdns_name;
	for (; *src && n + 1 < sizeof(id); src++) {
		if (!strcmp(src, ".local"))
			break;
		id[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789._-", *src) ? *src : '-';
	}
	id[n] = '\0';
	if (!id[0] && f->serial[0])
		snprintf(id, sizeof(id), "jetson-%.50s", f->serial);
	if (!id[0] && f->address[0])
		snprintf(id, sizeof(id), "%.63s", f->address);
	if (!id[0])
		snprintf(id, sizeof(id), "usb-%.50s", f->usb_port);
	coh__strlcpy(f->id, id, sizeof(f->id));
}

static int by_id(const void *a, const void *b)
{
	return coh__natural_cmp(((const struct coh_found *)a)->id,
				((const struct coh_found *)b)->id);
}

/* Ids name devices in the inventory: make each unique ("x", "x-2"). */
static void finish_ids(struct coh__rows *rows)
{
	char prev[64] = "";

	for (size_t i = 0; i < rows->count; i++)
		set_id(&rows->v[i]);
	qsort(rows->v, rows->count, sizeof(*rows->v), by_id);
	for (size_t i = 0, dup = 1; i < rows->count; i++) {
		struct coh_found *f = &rows->v[i];
		char id[64];

		if (i == 0 || strcmp(f->id, prev)) {
			coh__strlcpy(prev, f->id, sizeof(prev));
			dup = 1;
			continue;
		}
		snprintf(id, sizeof(id), "%.56s-%zu", prev, ++dup);
		coh__strlcpy(f->id, id, sizeof(f->id));
	}
}

/*
 * mDNS's _ssh._tcp and _workstation._tcp announce every Linux box on the
 * network: a host ssh identified as something other than a Jetson is not
 * a device of the fleet, and the rows go (a note counts them).
 */
static void drop_other_hosts(struct coh__rows *rows, struct coh_notes *notes)
{
	size_t kept = 0, dropped;

	for (size_t i = 0; i < rows->count; i++) {
		const struct coh_found *f = &rows->v[i];

		if (f->identified && f->device.kind == COH_HOST_OTHER &&
		    f->usb_mode == COH_USB_NONE)
			continue;
		rows->v[kept++] = rows->v[i];
	}
	dropped = rows->count - kept;
	rows->count = kept;
	if (dropped)
		coh_notes_add(notes, "hosts", "%zu host%s that %s not a Jetson "
			      "left out (--all shows them)", dropped,
			      dropped == 1 ? "" : "s", dropped == 1 ? "is" : "are");
}

static int run(const struct coh_discover_opts *o, unsigned int methods,
	       struct coh__rows *rows, struct coh_discovery *d,
	       struct pep_err *err)
{
	unsigned int timeout_ms = o->timeout_ms ? o->timeout_ms :
				  COH_DISCOVER_TIMEOUT_MS_DEFAULT;
	int nomem = 0, ret;

	if ((methods & COH_DISCOVER_USB) && coh__usb_scan(rows, &d->notes) < 0)
		return pep_err_set(err, -ENOMEM, "discover: out of memory");
	if (methods & COH_DISCOVER_MDNS)
		add_mdns(rows, timeout_ms, &d->notes, &nomem);
	if (nomem)
		return pep_err_set(err, -ENOMEM, "discover: out of memory");
	ret = add_given(rows, o, err);
	if (ret < 0)
		return ret;
	merge_rows(rows);
	if (methods & COH_DISCOVER_SSH) {
		ret = probe_rows(o, rows, &d->ssh_ms, err);
		if (ret < 0)
			return ret;
		coh__agent_probe_all(rows, timeout_ms < 1500 ? timeout_ms : 1500);
	}
	for (size_t i = 0; i < rows->count; i++)
		if (rows->v[i].identified && rows->v[i].device.serial[0])
			coh__strlcpy(rows->v[i].serial, rows->v[i].device.serial,
				     sizeof(rows->v[i].serial));
	merge_rows(rows);
	if (!o->all_hosts)
		drop_other_hosts(rows, &d->notes);
	finish_ids(rows);
	return 0;
}

int coh_discover(const struct coh_discover_opts *opts,
		 struct coh_discovery **out, struct pep_err *err)
{
	const struct coh_discover_opts none = { 0 };
	const struct coh_discover_opts *o = opts ? opts : &none;
	unsigned int methods = o->methods ? o->methods :
			       COH_DISCOVER_USB | COH_DISCOVER_MDNS | COH_DISCOVER_SSH;
	uint64_t start = pep_time_ns();
	struct coh__rows rows = { 0 };
	struct coh_discovery *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return pep_err_set(err, -ENOMEM, "discover: out of memory");
	ret = run(o, methods, &rows, d, err);
	if (ret < 0) {
		free(rows.v);
		free(d);
		return ret;
	}
	d->found = rows.v;
	d->count = rows.count;
	d->elapsed_ms = (unsigned int)((pep_time_ns() - start) / 1000000);
	*out = d;
	return 0;
}

void coh_discovery_free(struct coh_discovery *d)
{
	if (!d)
		return;
	free(d->found);
	free(d);
}
