/*
 * libFuzzer target for what discovery reads from the network: the SSH
 * probe's answer (coh_probe_parse) and host strings
 * (coh_discover_parse_host). An accepted answer must hold only listed
 * paths, each once, none over COH_PROBE_FILE_MAX; a refused one must be
 * -EPROTO with a reason and nothing left allocated; every byte of an
 * accepted file must be what its hex said. A host accepted must not start
 * with '-' nor hold a space or a control character. The first byte picks
 * the parser; the rest is the input. Built by scripts/fuzz.sh, replayed
 * over its corpus by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/discover.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int listed(const char *path)
{
	const char *const *paths;
	size_t n;

	paths = coh_discover_probe_paths(&n);
	for (size_t i = 0; i < n; i++)
		if (paths[i] == path)
			return 1;
	return 0;
}

static void check_probe(const char *text, size_t len)
{
	struct coh_probe p;
	struct pep_err err;
	int ret = coh_probe_parse(text, len, &p, &err);

	if (ret < 0) {
		if (ret != -EPROTO || !err.msg[0] || p.files || p.count)
			abort();
		return;
	}
	for (size_t i = 0; i < p.count; i++) {
		if (!listed(p.files[i].path) || p.files[i].len > COH_PROBE_FILE_MAX)
			abort();
		for (size_t j = 0; j < i; j++)
			if (p.files[j].path == p.files[i].path)
				abort();
	}
	coh_probe_free(&p);
}

static void check_host(const char *text)
{
	char user[64], host[64];
	uint16_t port;
	struct pep_err err;

	if (coh_discover_parse_host(text, user, sizeof(user), host, sizeof(host),
				    &port, &err) < 0)
		return;
	if (!host[0] || host[0] == '-' || user[0] == '-')
		abort();
	for (const char *s = host; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		check_host(text);
	else
		check_probe(text, size - 1);
	free(text);
	return 0;
}
