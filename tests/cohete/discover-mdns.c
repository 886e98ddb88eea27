/*
 * The mDNS browse alone, for tests/discover-mdns.sh: browse for TIMEOUT_MS
 * (default 5000) and print what was found as one JSON document on stdout,
 * with the time the browse took.
 *
 *	test-cohete-discover-mdns [TIMEOUT_MS]
 *
 * Exit: 0 browsed (maybe nothing found), 69 avahi-daemon unreachable (the
 * reason on stderr), 1 another failure, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include <pepita/core.h>

#include "mdns.h"

static json_t *host_json(const struct coh_mdns_host *h)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:b, s:s, s:s, s:s, s:s}",
			 "name", h->name, "address", h->address,
			 "ssh_port", (int)h->ssh_port, "agent_port", (int)h->agent_port,
			 "workstation", h->workstation, "id", h->id,
			 "module", h->module, "l4t", h->l4t, "serial", h->serial);
}

int main(int argc, char **argv)
{
	unsigned long timeout_ms = 5000;
	struct coh_mdns_host *hosts;
	struct pep_err err = { 0 };
	json_t *doc, *list;
	uint64_t t0, t1;
	size_t count;
	char *end;
	int ret;

	if (argc > 2 || (argc == 2 && ((timeout_ms = strtoul(argv[1], &end, 10)) == 0 ||
				       *end || timeout_ms > 600000))) {
		fprintf(stderr, "usage: %s [TIMEOUT_MS]\n", argv[0]);
		return 2;
	}
	t0 = pep_time_ns();
	ret = coh__mdns_browse((unsigned int)timeout_ms, &hosts, &count, &err);
	t1 = pep_time_ns();
	if (ret < 0) {
		fprintf(stderr, "browse: %s (%d) after %.1f ms\n", err.msg, ret,
			(double)(t1 - t0) / 1e6);
		return ret == -ECONNREFUSED || ret == -ENOENT || ret == -ETIMEDOUT ? 69 : 1;
	}
	list = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, host_json(&hosts[i]));
	doc = json_pack("{s:f, s:I, s:o}", "elapsed_ms", (double)(t1 - t0) / 1e6,
			"timeout_ms", (json_int_t)timeout_ms, "hosts", list);
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(doc);
	coh__mdns_free(hosts);
	return 0;
}
