/*
 * Notes: why a reading is unavailable, and small helpers every reader
 * shares (string copy, natural order, integer parsing).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/sysroot.h>

#include "internal.h"

void coh__strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

int coh__natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long na = strtoull(a, &ea, 10);
			unsigned long long nb = strtoull(b, &eb, 10);

			if (na != nb)
				return na < nb ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int coh__parse_s64(const char *text, int64_t *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*text))
		text++;
	if (!*text)
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int note_exists(const struct coh_notes *notes, const char *field)
{
	for (unsigned int i = 0; i < notes->count; i++)
		if (!strcmp(notes->note[i].field, field))
			return 1;
	return 0;
}

void coh_notes_add(struct coh_notes *notes, const char *field,
		   const char *fmt, ...)
{
	struct coh_note *note;
	va_list ap;

	if (!notes || note_exists(notes, field))
		return;
	if (notes->count >= COH_NOTES_MAX) {
		notes->dropped++;
		return;
	}
	note = &notes->note[notes->count++];
	coh__strlcpy(note->field, field, sizeof(note->field));
	va_start(ap, fmt);
	vsnprintf(note->reason, sizeof(note->reason), fmt, ap);
	va_end(ap);
}

void coh_notes_add_err(struct coh_notes *notes, const char *field,
		       const struct pep_err *err)
{
	coh_notes_add(notes, field, "%s", err->msg);
}

void coh__note_read_error(struct coh_notes *notes, const char *field,
			  const struct pep_err *err)
{
	if (err->code == -EACCES || err->code == -EPERM)
		coh_notes_add(notes, field, "needs root (%s)", err->msg);
	else
		coh_notes_add_err(notes, field, err);
}

int64_t coh__read_reading(const struct coh_sysroot *sr, const char *path,
			  struct coh_notes *notes, const char *field)
{
	struct pep_err err;
	int64_t v;

	if (coh_sysroot_read_s64(sr, path, &v, &err) < 0) {
		coh__note_read_error(notes, field, &err);
		return COH_NA;
	}
	return v;
}
