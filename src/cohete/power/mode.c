/*
 * The current nvpmodel mode, read from files instead of running
 * `nvpmodel -q` (which needs no root but can hang under load): nvpmodel
 * keeps the active id in /var/lib/nvpmodel/status ("pmode:0002
 * fmode:quiet") and the names in /etc/nvpmodel.conf
 * ("< POWER_MODEL ID=2 NAME=MAXN_SUPER >").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/power.h>

#include "internal.h"

int coh_nvpmodel_status_parse(const char *text, int64_t *id,
			      struct pep_err *err)
{
	const char *p = strstr(text, "pmode:");
	char *end;
	long v;

	if (!p)
		return pep_err_set(err, -EINVAL,
				   "/var/lib/nvpmodel/status: no pmode field");
	p += strlen("pmode:");
	v = strtol(p, &end, 10);
	if (end == p || v < 0 || v > 9999)
		return pep_err_set(err, -EINVAL,
				   "/var/lib/nvpmodel/status: pmode '%.*s' is not a mode id",
				   (int)strcspn(p, " \n"), p);
	*id = v;
	return 0;
}

/* In "< POWER_MODEL ID=2 NAME=MAXN >", the value after key= up to ' ' or '>'. */
static int attr_value(const char *line, const char *end, const char *key,
		      char *out, size_t size)
{
	size_t klen = strlen(key), n;
	const char *p;

	for (p = line; p + klen <= end; p++)
		if (!strncmp(p, key, klen) && (p == line || p[-1] == ' '))
			break;
	if (p + klen > end)
		return -1;
	p += klen;
	n = strcspn(p, " >\n");
	if (p + n > end || n == 0 || n >= size)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int coh_nvpmodel_conf_mode_name(const char *text, int64_t id, char *name,
				size_t size, struct pep_err *err)
{
	char idbuf[16], want[24];

	snprintf(want, sizeof(want), "%lld", (long long)id);
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');

		if (!end)
			end = line + strlen(line);
		/* Some files write "<POWER_MODEL" without the space. */
		if (strstr(line, "POWER_MODEL") && strstr(line, "POWER_MODEL") < end &&
		    attr_value(line, end, "ID=", idbuf, sizeof(idbuf)) == 0 &&
		    !strcmp(idbuf, want) &&
		    attr_value(line, end, "NAME=", name, size) == 0)
			return 0;
		line = *end ? end + 1 : end;
	}
	return pep_err_set(err, -ENOENT, "/etc/nvpmodel.conf: no POWER_MODEL ID=%s",
			   want);
}

/* The name conf gives mode id, copied into name (size bytes). */
static int copy_mode_name(const struct coh_nvpmodel_conf *c, int64_t id,
			  char *name, size_t size, struct pep_err *err)
{
	const struct coh_nvpmodel_mode *mode = coh_nvpmodel_conf_mode(c, id);

	if (!mode || strlen(mode->name) >= size)
		return pep_err_set(err, -ENOENT, COH_NVPMODEL_CONF_PATH
				   ": no POWER_MODEL ID=%lld", (long long)id);
	memcpy(name, mode->name, strlen(mode->name) + 1);
	return 0;
}

/* out->name from nvpmodel.conf, or a note saying why not. */
static void read_mode_name(const struct coh_sysroot *sr,
			   struct coh_power_mode *out, struct coh_notes *notes)
{
	struct coh_nvpmodel_conf *conf;
	struct pep_err err;

	if (coh_nvpmodel_conf_load(sr, &conf, &err) < 0) {
		coh__note_read_error(notes, "power.mode_name", &err);
		return;
	}
	if (copy_mode_name(conf, out->id, out->name, sizeof(out->name), &err) < 0)
		coh_notes_add_err(notes, "power.mode_name", &err);
	coh_nvpmodel_conf_free(conf);
}

int coh_power_mode_read(const struct coh_sysroot *sr,
			struct coh_power_mode *out, struct coh_notes *notes)
{
	struct pep_err err;
	char status[256];

	memset(out, 0, sizeof(*out));
	out->id = COH_NA;
	if (coh_sysroot_read(sr, "/var/lib/nvpmodel/status", status,
			     sizeof(status), &err) < 0) {
		coh__note_read_error(notes, "power.mode", &err);
		return 0;
	}
	if (coh_nvpmodel_status_parse(status, &out->id, &err) < 0) {
		coh_notes_add_err(notes, "power.mode", &err);
		return 0;
	}
	read_mode_name(sr, out, notes);
	return 0;
}
