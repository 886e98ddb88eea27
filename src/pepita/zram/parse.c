/*
 * The text of zram's sysfs files: mm_stat, io_stat (one line of decimal
 * fields each) and comp_algorithm ("lzo [lz4] zstd"). Pure functions, no
 * I/O, so they can be fuzzed and tested without a kernel. Anything that is
 * not what the kernel writes is -EINVAL, naming the field.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <pepita/zram.h>

#define SPACE " \t\n\r\v\f"

static const char *const mm_names[] = {
	"orig_data_size", "compr_data_size", "mem_used_total", "mem_limit",
	"mem_used_max", "same_pages", "pages_compacted", "huge_pages",
	"huge_pages_since",
};

static const char *const io_names[] = {
	"failed_reads", "failed_writes", "invalid_io", "notify_free",
};

#define MM_FIELDS (sizeof(mm_names) / sizeof(mm_names[0]))
#define IO_FIELDS (sizeof(io_names) / sizeof(io_names[0]))

/* One decimal field at *p, up to the next space; advances *p past it. */
static int parse_field(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (*s && !strchr(SPACE, *s))
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

/*
 * Fields into vals[0..max-1]; more than max are checked and ignored (a
 * newer kernel may append some). *nfields: how many of the first max.
 */
static int parse_fields(const char *file, const char *text,
			const char *const names[], unsigned int max,
			unsigned int min, uint64_t *vals, unsigned int *nfields,
			struct pep_err *err)
{
	const char *p = text;
	unsigned int n = 0;
	uint64_t v;
	int ret;

	if (!text)
		return pep_err_set(err, -EINVAL, "%s: no text", file);
	memset(vals, 0, sizeof(*vals) * max);
	for (;;) {
		p += strspn(p, SPACE);
		if (!*p)
			break;
		ret = parse_field(&p, &v);
		if (ret < 0)
			return pep_err_set(err, -EINVAL, "%s field %u (%s): '%.24s' "
					   "is not a %s", file, n + 1,
					   n < max ? names[n] : "extra",
					   p, ret == -ERANGE ?
					   "64-bit number" : "decimal number");
		if (n < max)
			vals[n] = v;
		if (n < UINT32_MAX)
			n++;
	}
	if (n < min)
		return pep_err_set(err, -EINVAL, "%s: %u field%s, expected at "
				   "least %u (%s...)", file, n, n == 1 ? "" : "s",
				   min, names[0]);
	*nfields = n < max ? n : max;
	return 0;
}

PEP_API int pep_zram_parse_mm_stat(const char *text,
				   struct pep_zram_mm_stat *out,
				   struct pep_err *err)
{
	uint64_t v[MM_FIELDS];
	unsigned int n;
	int ret;

	ret = parse_fields("mm_stat", text, mm_names, MM_FIELDS, 3, v, &n, err);
	if (ret < 0)
		return ret;
	*out = (struct pep_zram_mm_stat){
		.orig_data_size = v[0], .compr_data_size = v[1],
		.mem_used_total = v[2], .mem_limit = v[3],
		.mem_used_max = v[4], .same_pages = v[5],
		.pages_compacted = v[6], .huge_pages = v[7],
		.huge_pages_since = v[8], .nfields = n,
	};
	return 0;
}

PEP_API int pep_zram_parse_io_stat(const char *text,
				   struct pep_zram_io_stat *out,
				   struct pep_err *err)
{
	uint64_t v[IO_FIELDS];
	unsigned int n;
	int ret;

	ret = parse_fields("io_stat", text, io_names, IO_FIELDS, 3, v, &n, err);
	if (ret < 0)
		return ret;
	*out = (struct pep_zram_io_stat){
		.failed_reads = v[0], .failed_writes = v[1],
		.invalid_io = v[2], .notify_free = v[3], .nfields = n,
	};
	return 0;
}

PEP_API double pep_zram_ratio(const struct pep_zram_mm_stat *mm)
{
	if (!mm || !mm->compr_data_size)
		return 0;
	return (double)mm->orig_data_size / (double)mm->compr_data_size;
}

/* Append name to the space-separated list all (size PEP_ZRAM_ALGOS_MAX). */
static int append_name(char *all, size_t *len, const char *name, size_t n)
{
	size_t need = n + (*len ? 1 : 0);

	if (*len + need >= PEP_ZRAM_ALGOS_MAX)
		return -1;
	if (*len)
		all[(*len)++] = ' ';
	memcpy(all + *len, name, n);
	*len += n;
	all[*len] = '\0';
	return 0;
}

PEP_API int pep_zram_parse_algorithms(const char *text,
				      char active[PEP_ZRAM_NAME_MAX],
				      char all[PEP_ZRAM_ALGOS_MAX],
				      struct pep_err *err)
{
	char act[PEP_ZRAM_NAME_MAX] = "", list[PEP_ZRAM_ALGOS_MAX] = "";
	const char *p = text;
	size_t len = 0;

	if (!text)
		return pep_err_set(err, -EINVAL, "comp_algorithm: no text");
	for (;;) {
		const char *name;
		size_t n;
		int bracket;

		p += strspn(p, SPACE);
		if (!*p)
			break;
		bracket = *p == '[';
		name = p + bracket;
		n = strcspn(name, SPACE "[]");
		p = name + n;
		if (!n || bracket != (*p == ']') || (!bracket && *p == '['))
			return pep_err_set(err, -EINVAL, "comp_algorithm: malformed "
					   "name at '%.24s'", bracket ? name - 1 : name);
		if (n >= PEP_ZRAM_NAME_MAX)
			return pep_err_set(err, -EINVAL, "comp_algorithm: name "
					   "'%.*s...' longer than %d bytes", 16,
					   name, PEP_ZRAM_NAME_MAX - 1);
		p += bracket;
		if (*p && !strchr(SPACE, *p))
			return pep_err_set(err, -EINVAL, "comp_algorithm: malformed "
					   "name at '%.24s'", name);
		if (bracket) {
			if (act[0])
				return pep_err_set(err, -EINVAL, "comp_algorithm: "
						   "two active algorithms ([%s] "
						   "and [%.*s])", act, (int)n, name);
			memcpy(act, name, n);
			act[n] = '\0';
		}
		if (append_name(list, &len, name, n) < 0)
			return pep_err_set(err, -EINVAL, "comp_algorithm: the list "
					   "is longer than %d bytes",
					   PEP_ZRAM_ALGOS_MAX - 1);
	}
	if (!act[0])
		return pep_err_set(err, -EINVAL, "comp_algorithm: no [active] "
				   "algorithm in '%.64s'", text);
	if (active)
		memcpy(active, act, sizeof(act));
	if (all)
		memcpy(all, list, sizeof(list));
	return 0;
}
