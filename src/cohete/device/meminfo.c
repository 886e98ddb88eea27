/*
 * /proc/meminfo, parsed into the keys a caller names. It lives in device,
 * below memory: identifying a machine needs its MemTotal (one P-number
 * comes in two RAM sizes), memory builds on device, and a module never
 * reaches up. Memory's coh_meminfo_parse() is this with the keys of live
 * memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/sysroot.h>

#include "device/meminfo.h"

static int64_t *field_of(const struct coh__meminfo_field *fields, size_t count,
			 const char *name, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(fields[i].key) == len && !strncmp(fields[i].key, name, len))
			return fields[i].kb;
	return NULL;
}

/* One "Key:    1234 kB" line; a key we use with a bad value is an error. */
static int parse_line(const char *line, size_t len, unsigned int lineno,
		      const struct coh__meminfo_field *fields, size_t count,
		      struct pep_err *err)
{
	const char *colon = memchr(line, ':', len);
	char value[32], *end;
	int64_t *field;
	size_t vlen;
	long long v;

	if (!colon)
		return 0;
	field = field_of(fields, count, line, (size_t)(colon - line));
	if (!field)
		return 0;
	vlen = len - (size_t)(colon + 1 - line);
	if (vlen >= sizeof(value))
		vlen = sizeof(value) - 1;
	memcpy(value, colon + 1, vlen);
	value[vlen] = '\0';
	errno = 0;
	v = strtoll(value, &end, 10);
	while (*end == ' ')
		end++;
	if (errno || end == value || v < 0 || (*end && strcmp(end, "kB")))
		return pep_err_set(err, -EINVAL,
				   "/proc/meminfo:%u: %.*s: bad value '%s'",
				   lineno, (int)(colon - line), line, value);
	*field = v;
	return 0;
}

int coh__meminfo_parse(const char *text, const struct coh__meminfo_field *fields,
		       size_t count, struct pep_err *err)
{
	unsigned int lineno = 0;
	int ret = 0;

	for (size_t i = 0; i < count; i++)
		*fields[i].kb = COH_NA;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		lineno++;
		/*
		 * A last line without its newline was cut short (a truncated
		 * capture): its number may be partial, so it is not used.
		 * Bad lines do not stop the others; the first one is reported.
		 */
		if (nl) {
			int r = parse_line(text, len, lineno, fields, count,
					   ret ? NULL : err);

			if (r < 0 && !ret)
				ret = r;
		}
		text += len + (nl ? 1 : 0);
	}
	return ret;
}
