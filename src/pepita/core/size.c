/*
 * Sizes as people type them: "4096", "64M", "1GiB", "2TB". Suffixes are
 * binary multiples (K = 1024), as the kernel's memparse() reads disksize
 * and mem_limit, so a size means the same here and in sysfs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <pepita/core.h>

#define SIZE_UNITS "KMGT"

/* The multiplier's power of 1024 for the suffix at s; -1 if not one. */
static int unit_shift(const char *s)
{
	const char *u;

	if (!*s)
		return 0;
	u = strchr(SIZE_UNITS, *s);
	if (!u || (s[1] && strcmp(s + 1, "iB") && strcmp(s + 1, "B")))
		return -1;
	return (int)(u - SIZE_UNITS) + 1;
}

PEP_API int pep_parse_size(const char *text, uint64_t *out, struct pep_err *err)
{
	const char *p = text;
	uint64_t v = 0;
	int shift;

	if (!text)
		return pep_err_set(err, -EINVAL, "no size given");
	/* Digits by hand: strtoull accepts "-1", spaces and "+". */
	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			goto range;
		v = v * 10 + d;
	}
	shift = unit_shift(p);
	if (shift < 0)
		goto bad;
	for (int i = 0; i < shift; i++) {
		if (v > UINT64_MAX / 1024)
			goto range;
		v *= 1024;
	}
	*out = v;
	return 0;
bad:
	return pep_err_set(err, -EINVAL, "'%.64s': not a size (bytes, or with "
			   "K, M, G, T: powers of 1024)", text);
range:
	return pep_err_set(err, -ERANGE, "'%.64s': more than 2^64 - 1 bytes",
			   text);
}
