/*
 * /proc/meminfo's "Key:   1234 kB" lines (meminfo.c), for identify.c's
 * MemTotal and for memory's coh_meminfo_parse(). Not installed.
 */
#ifndef COHETE_DEVICE_MEMINFO_H
#define COHETE_DEVICE_MEMINFO_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/memory.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

/* A key the caller wants, and where its value goes. */
struct coh__meminfo_field {
	const char *key;		/* "MemTotal" */
	int64_t *kb;			/* COH_NA when the text lacks the line */
};

/*
 * Parse /proc/meminfo text into fields: each one COH_NA first, then the
 * value of its line. A last line without its newline was cut short and is
 * not used. -EINVAL when a wanted key's value is malformed (err names the
 * line and the key of the first); the other lines are read all the same.
 */
int coh__meminfo_parse(const char *text, const struct coh__meminfo_field *fields,
		       size_t count, struct pep_err *err);

#endif /* COHETE_DEVICE_MEMINFO_H */
