/*
 * Parsers for the files that identify a Jetson: /etc/nv_tegra_release and
 * the P-numbers inside device-tree compatible strings and dts file names.
 * All of them take untrusted text (a captured tree, a remote probe) and are
 * fuzzed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cohete/device.h>

#include "internal.h"

/* Read "<digits>" at s into *v (at most 4 digits). Returns chars used. */
static int read_small_uint(const char *s, unsigned int *v)
{
	int n = 0;

	*v = 0;
	while (n < 4 && isdigit((unsigned char)s[n]))
		*v = *v * 10 + (unsigned int)(s[n++] - '0');
	return isdigit((unsigned char)s[n]) ? 0 : n;
}

int coh_parse_nv_tegra_release(const char *text, char *l4t, size_t size,
			       struct pep_err *err)
{
	unsigned int major, minor, patch;
	const char *r = strstr(text, "# R");
	const char *rev = strstr(text, "REVISION:");
	int n;

	if (!r || !read_small_uint(r + 3, &major))
		return pep_err_set(err, -EINVAL,
				   "/etc/nv_tegra_release: no '# R<major>' release");
	if (!rev)
		return pep_err_set(err, -EINVAL,
				   "/etc/nv_tegra_release: no REVISION field");
	rev += strlen("REVISION:");
	while (*rev == ' ')
		rev++;
	n = read_small_uint(rev, &minor);
	if (!n || rev[n] != '.' || !read_small_uint(rev + n + 1, &patch))
		return pep_err_set(err, -EINVAL,
				   "/etc/nv_tegra_release: REVISION '%.*s' is not <minor>.<patch>",
				   (int)strcspn(rev, ",\n"), rev);
	snprintf(l4t, size, "%u.%u.%u", major, minor, patch);
	return 0;
}

/* "p3767-0005" at s (lower-case p, 4 digits, '-', 4 digits)? */
static int is_pnum_at(const char *text, const char *s)
{
	if (s != text && isalnum((unsigned char)s[-1]))
		return 0;
	if (s[0] != 'p')
		return 0;
	for (int i = 1; i < 10; i++) {
		if (i == 5 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return 0;
	}
	return !isdigit((unsigned char)s[10]);
}

/* Append the P-numbers found in [s, end) in order of appearance. */
static int scan_pnums(const char *text, const char *s, const char *end,
		      char (*pnums)[32], int count, int max, int *super)
{
	for (; s + 10 <= end; s++) {
		if (!is_pnum_at(text, s))
			continue;
		if (count < max) {
			memcpy(pnums[count], s, 10);
			pnums[count][10] = '\0';
		}
		count++;
		if (super && s + 16 <= end && !strncmp(s + 10, "-super", 6))
			*super = 1;
		s += 9;
	}
	return count;
}

/*
 * In "nvidia,p3768-0000+p3767-0005" the carrier comes first and the module
 * after '+': return the module's P-number first, then the carrier's. A dts
 * name ("tegra194-p2888-0001-p2822-0000") lists the module first already.
 */
int coh_parse_pnums(const char *text, char (*pnums)[32], int max_pnums,
		    int *super)
{
	const char *end = text + strlen(text);
	const char *plus = strrchr(text, '+');
	int count;

	if (super)
		*super = 0;
	if (!plus)
		count = scan_pnums(text, text, end, pnums, 0, max_pnums, super);
	else {
		count = scan_pnums(text, plus + 1, end, pnums, 0, max_pnums,
				   super);
		count = scan_pnums(text, text, plus, pnums, count, max_pnums,
				   super);
	}
	return count < max_pnums ? count : max_pnums;
}
