/*
 * libFuzzer target for the TXT records of mDNS services (what any machine
 * on the network may announce). The input is a TXT record's wire form: a
 * length byte and that many bytes, again and again; strings holding a NUL
 * are left out, as the browse leaves them out. coh__mdns_txt_parse() must
 * keep every field NUL-terminated and within its character set, touch no
 * field it does not own, take for each key the first string that names
 * it (keys case-insensitive) or nothing, and what it took must parse back
 * to the same fields. Built by scripts/fuzz.sh, replayed over its corpus
 * by tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discover/mdns.h"

#define MAX_STRINGS 128

static void fail(const char *why)
{
	fprintf(stderr, "mdns fuzz: %s\n", why);
	abort();
}

static int in_set(const char *s, const char *extra, int digits_dots_only)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= '0' && c <= '9') || c == '.')
			continue;
		if (digits_dots_only)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
		    c == '_' || strchr(extra, c))
			continue;
		return 0;
	}
	return 1;
}

/* The value of the first string whose key is key, or NULL. */
static const char *first_value(char **strs, size_t n, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < n; i++)
		if (!strncasecmp(strs[i], key, klen) && strs[i][klen] == '=')
			return strs[i] + klen + 1;
	return NULL;
}

/* A value fit for key: l4t digits and dots, the others a host name's
 * characters, and '+' in a module, ':' in a serial. */
static int valid_for(const char *key, const char *v)
{
	if (!strcmp(key, "l4t"))
		return in_set(v, "", 1);
	return in_set(v, !strcmp(key, "module") ? "+" : !strcmp(key, "serial") ? ":" : "", 0);
}

static void check_field(const char *field, size_t size, char **strs, size_t n,
			const char *key)
{
	const char *v = first_value(strs, n, key);

	if (!memchr(field, '\0', size))
		fail("a field is not NUL-terminated");
	if (*field && (!v || strcmp(v, field)))
		fail("a field is not the first value of its key");
	if (*field && !valid_for(key, field))
		fail("a field holds a character outside its set");
	/* A value refused must have had a reason: too long, or a character. */
	if (!*field && v && *v && strlen(v) < size && valid_for(key, v))
		fail("a valid value was refused");
}

static void check_port(uint16_t port, char **strs, size_t n)
{
	const char *v = first_value(strs, n, "agent_port");
	char text[8];

	if (!port)
		return;
	snprintf(text, sizeof(text), "%u", (unsigned int)port);
	if (!v || strcmp(v, text))
		fail("agent_port is not the first value of its key");
}

/* What was taken, written back as TXT strings and parsed again. */
static void check_round_trip(const struct coh_mdns_host *h)
{
	char buf[5][128];
	const char *strs[5];
	struct coh_mdns_host again = { 0 };
	size_t n = 0;

	if (h->id[0])
		snprintf(buf[n], sizeof(buf[n]), "id=%s", h->id), strs[n] = buf[n], n++;
	if (h->module[0])
		snprintf(buf[n], sizeof(buf[n]), "module=%s", h->module), strs[n] = buf[n], n++;
	if (h->l4t[0])
		snprintf(buf[n], sizeof(buf[n]), "l4t=%s", h->l4t), strs[n] = buf[n], n++;
	if (h->serial[0])
		snprintf(buf[n], sizeof(buf[n]), "serial=%s", h->serial), strs[n] = buf[n], n++;
	if (h->agent_port)
		snprintf(buf[n], sizeof(buf[n]), "agent_port=%u", (unsigned int)h->agent_port),
			strs[n] = buf[n], n++;
	if (coh__mdns_txt_parse(strs, n, &again) != (int)n)
		fail("a value taken once is refused the second time");
	if (memcmp(&again, h, sizeof(again)))
		fail("the round trip changed a field");
}

static size_t split(const uint8_t *data, size_t size, char **strs)
{
	size_t n = 0, off = 0;

	while (off < size && n < MAX_STRINGS) {
		size_t len = data[off++];

		if (len > size - off)
			len = size - off;
		if (!memchr(data + off, '\0', len)) {
			strs[n] = malloc(len + 1);
			if (!strs[n])
				abort();
			memcpy(strs[n], data + off, len);
			strs[n][len] = '\0';
			n++;
		}
		off += len;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *strs[MAX_STRINGS];
	struct coh_mdns_host h, sentinel;
	size_t n = split(data, size, strs);
	int taken, fields;

	/* Fields the parser does not own keep their bytes. */
	memset(&h, 0, sizeof(h));
	memset(h.name, 'N', sizeof(h.name) - 1);
	memset(h.address, 'A', sizeof(h.address) - 1);
	h.ssh_port = 22;
	h.workstation = 7;
	sentinel = h;
	taken = coh__mdns_txt_parse((const char *const *)strs, n, &h);
	if (memcmp(h.name, sentinel.name, sizeof(h.name)) ||
	    memcmp(h.address, sentinel.address, sizeof(h.address)) ||
	    h.ssh_port != 22 || h.workstation != 7)
		fail("a field the TXT record does not own changed");
	fields = !!h.id[0] + !!h.module[0] + !!h.l4t[0] + !!h.serial[0] + !!h.agent_port;
	if (taken != fields)
		fail("the count returned is not the number of fields set");
	check_field(h.id, sizeof(h.id), strs, n, "id");
	check_field(h.module, sizeof(h.module), strs, n, "module");
	check_field(h.l4t, sizeof(h.l4t), strs, n, "l4t");
	check_field(h.serial, sizeof(h.serial), strs, n, "serial");
	check_port(h.agent_port, strs, n);
	memset(h.name, 0, sizeof(h.name));
	memset(h.address, 0, sizeof(h.address));
	h.ssh_port = 0;
	h.workstation = 0;
	check_round_trip(&h);
	for (size_t i = 0; i < n; i++)
		free(strs[i]);
	return 0;
}
