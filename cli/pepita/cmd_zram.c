/*
 * pepita zram: the kernel's compressed RAM block devices. `list` shows
 * them as zramctl does (or every mm_stat and io_stat field as JSON),
 * `setup` configures one, `swap` makes one a swap area, `reset`, `remove`
 * and `swapoff` take them down. The library checks every value before it
 * writes anything; this file only parses arguments and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pepita/core.h>
#include <pepita/zram.h>

#include "cmd.h"
#include "json_doc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pepita zram list [--json]\n"
		"       pepita zram setup [--algorithm A] --size S [--mem-limit M] [--reset]\n"
		"                         [DEVICE|--find]\n"
		"       pepita zram reset DEVICE...\n"
		"       pepita zram remove DEVICE...\n"
		"       pepita zram swap --size S [--algorithm A] [--priority P] [--reset]\n"
		"                        [DEVICE]\n"
		"       pepita zram swapoff DEVICE\n\n"
		"Control the kernel's zram devices (/dev/zramN) through sysfs, as zramctl\n"
		"does. setup and swap print the device they set up; without DEVICE they\n"
		"take the first free one, adding one through hot_add if none is. A\n"
		"failed set-up leaves nothing half-configured. DEVICE is /dev/zramN,\n"
		"zramN or N.\n\n"
		"  -a, --algorithm A  compression algorithm the kernel lists (default: its own)\n"
		"  -s, --size S       disksize: bytes, with K, M, G or T (powers of 1024)\n"
		"  --mem-limit M      most memory the compressed data may use (0: none)\n"
		"  --reset            setup, swap: reset an initialised device first (its\n"
		"                     data is lost)\n"
		"  -f, --find         the first free device (the default)\n"
		"  -p, --priority P   swap priority 0..32767 (default: the kernel's)\n"
		"  --json             list: one JSON document, every mm_stat/io_stat field\n"
		"  -h, --help         this help\n");
}

/* Whether this kernel has any zram device (the module is loaded). */
static bool zram_present(void)
{
	struct pep_zram_dev *devs = NULL;
	size_t n = 0;

	if (pep_zram_list(&devs, &n, NULL) < 0)
		return true;		/* there, but unreadable: not "absent" */
	free(devs);
	return n > 0;
}

/*
 * Print the library's reason and map it to an exit code: a bad value is a
 * usage error; device id missing is a failure (no such device) where zram
 * exists, and 69 where there is no zram at all.
 */
static int report(int ret, int id, const struct pep_err *err)
{
	if (ret == -ENODEV && id >= 0 && !zram_present()) {
		cli_error("no zram devices on this machine: is the zram module "
			  "loaded (modprobe zram)?");
		return CMD_EXIT_UNAVAILABLE;
	}
	cli_error("%s", err->msg);
	switch (ret) {
	case -EINVAL:
		return CMD_EXIT_USAGE;
	case -ENODEV:
		return id >= 0 ? CMD_EXIT_FAIL : CMD_EXIT_UNAVAILABLE;
	case -EOPNOTSUPP:
		return CMD_EXIT_UNAVAILABLE;
	default:
		return CMD_EXIT_FAIL;
	}
}

/* "/dev/zram3", "zram3" or "3" -> 3. */
static int parse_device(const char *arg, int *id)
{
	const char *s = arg;
	char *end;
	long v;

	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "zram", 4))
		s += 4;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || errno || *end || v > 1 << 20) {
		cli_error("'%s' is not a zram device (/dev/zramN, zramN or N)",
			  arg);
		return -1;
	}
	*id = (int)v;
	return 0;
}

/* zramctl's human sizes: 0B, 512B, 4K, 1.5M, 64G. */
static const char *human(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double x = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, size, "%lluB", (unsigned long long)v);
		return buf;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	if (x - (double)(uint64_t)x < 0.05 || x >= 100)
		snprintf(buf, size, "%.0f%c", x, units[u]);
	else
		snprintf(buf, size, "%.1f%c", x, units[u]);
	return buf;
}

static void print_table(const struct pep_zram_dev *devs, size_t n)
{
	char d[16], c[16], t[16], l[16], s[16], ratio[16];

	printf("%-11s %-9s %8s %6s %6s %6s %5s %5s %6s %5s %s\n", "NAME",
	       "ALGORITHM", "DISKSIZE", "DATA", "COMPR", "TOTAL", "SAME", "HUGE",
	       "LIMIT", "RATIO", "MOUNTPOINT");
	for (size_t i = 0; i < n; i++) {
		const struct pep_zram_dev *z = &devs[i];
		const struct pep_zram_mm_stat *mm = &z->mm;
		char name[24];

		snprintf(name, sizeof(name), "/dev/zram%d", z->id);
		if (mm->compr_data_size)
			snprintf(ratio, sizeof(ratio), "%.2f", pep_zram_ratio(mm));
		else
			snprintf(ratio, sizeof(ratio), "-");
		printf("%-11s %-9s %8s %6s %6s %6s %5llu %5llu %6s %5s%s%s\n", name,
		       z->algorithm[0] ? z->algorithm : "-",
		       human(z->disksize, s, sizeof(s)),
		       human(mm->orig_data_size, d, sizeof(d)),
		       human(mm->compr_data_size, c, sizeof(c)),
		       human(mm->mem_used_total, t, sizeof(t)),
		       (unsigned long long)mm->same_pages,
		       (unsigned long long)mm->huge_pages,
		       human(mm->mem_limit, l, sizeof(l)), ratio,
		       z->swap || z->mountpoint[0] ? " " : "",
		       z->swap ? "[SWAP]" : z->mountpoint);
	}
}

/*
 * Fields in the kernel's order, the value or null when the kernel printed
 * fewer (an older kernel, or a file that could not be read: nfields 0).
 */
static json_t *fields_json(const char *const keys[], const uint64_t vals[],
			   unsigned int count, unsigned int nfields)
{
	json_t *o = json_object();

	for (unsigned int i = 0; o && i < count; i++)
		json_object_set_new(o, keys[i], i < nfields ?
				    json_integer((json_int_t)vals[i]) : json_null());
	return o;
}

/* mm_stat's fields by name; also the ublk zram target's statistics. */
json_t *zram_mm_stat_json(const struct pep_zram_mm_stat *mm)
{
	static const char *const keys[] = {
		"orig_data_bytes", "compr_data_bytes", "mem_used_total_bytes",
		"mem_limit_bytes", "mem_used_max_bytes", "same_page_count",
		"compacted_page_count", "huge_page_count",
		"huge_page_since_reset_count",
	};
	const uint64_t vals[] = {
		mm->orig_data_size, mm->compr_data_size, mm->mem_used_total,
		mm->mem_limit, mm->mem_used_max, mm->same_pages,
		mm->pages_compacted, mm->huge_pages, mm->huge_pages_since,
	};

	return fields_json(keys, vals, 9, mm->nfields);
}

static json_t *io_stat_json(const struct pep_zram_io_stat *io)
{
	static const char *const keys[] = {
		"failed_read_count", "failed_write_count", "invalid_io_count",
		"notify_free_count",
	};
	const uint64_t vals[] = {
		io->failed_reads, io->failed_writes, io->invalid_io, io->notify_free,
	};

	return fields_json(keys, vals, 4, io->nfields);
}

/* Original bytes per stored byte; null while nothing is stored. */
json_t *zram_ratio_json(const struct pep_zram_mm_stat *mm)
{
	return mm->compr_data_size ? json_real(pep_zram_ratio(mm)) : json_null();
}

static json_t *dev_json(const struct pep_zram_dev *z)
{
	const struct pep_zram_mm_stat *mm = &z->mm;
	json_t *algos = json_array();
	char name[24], list[PEP_ZRAM_ALGOS_MAX];

	snprintf(name, sizeof(name), "/dev/zram%d", z->id);
	snprintf(list, sizeof(list), "%s", z->algorithms);
	for (char *save, *a = strtok_r(list, " ", &save); a;
	     a = strtok_r(NULL, " ", &save))
		json_array_append_new(algos, json_string(a));
	return json_pack("{s:s, s:i, s:b, s:I, s:s?, s:o, s:b, s:s?, s:o,"
			 " s:o, s:o}",
		"name", name, "id", z->id, "initialised", z->initialised,
		"disksize_bytes", (json_int_t)z->disksize,
		"algorithm", z->algorithm[0] ? z->algorithm : NULL,
		"algorithms", algos, "swap", z->swap,
		"mountpoint", z->mountpoint[0] ? z->mountpoint : NULL,
		"compression_ratio", zram_ratio_json(mm),
		"mm_stat", zram_mm_stat_json(mm),
		"io_stat", io_stat_json(&z->io));
}

static int cmd_list(int argc, char **argv)
{
	struct pep_zram_dev *devs;
	struct pep_err err;
	size_t n;
	bool json;
	int c;

	c = cli_json_only_args(argc, argv, usage, &json);
	if (c >= 0)
		return c;
	if (pep_zram_list(&devs, &n, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (json) {
		json_t *all = json_array();

		for (size_t i = 0; all && i < n; i++)
			json_array_append_new(all, dev_json(&devs[i]));
		free(devs);
		return cli_json_print(cli_json_add(cli_json_doc("pepita.zram.list/2",
								 pep_time_real_ms()),
						   "devices", all));
	}
	if (n)
		print_table(devs, n);
	free(devs);
	return CMD_EXIT_OK;
}

struct setup_opts {
	struct pep_zram_setup cfg;
	int id;			/* -1: find */
	int find;
	int priority;		/* swap only */
	int size_given;
};

/* --size / --mem-limit; *out 0 allowed only when zero_ok. */
static int parse_size_opt(const char *opt, const char *arg, int zero_ok,
			  uint64_t *out)
{
	struct pep_err err;

	if (pep_parse_size(arg, out, &err) < 0) {
		cli_error("%s %s", opt, err.msg);
		return -1;
	}
	if (!*out && !zero_ok) {
		cli_error("%s '%s': must be above 0", opt, arg);
		return -1;
	}
	return 0;
}

static int parse_priority(const char *arg, int *out)
{
	long long v;

	if (cli_parse_ll("--priority", arg, -1, 32767, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* An option of setup only (--mem-limit, --find) or swap only (--priority). */
static const char *misplaced(int swap, int c)
{
	if (swap)
		return c == 'm' ? "--mem-limit" : c == 'f' ? "--find" : NULL;
	return c == 'p' ? "--priority" : NULL;
}

/* Options of setup and swap: --reset for both, --priority for swap. */
static int parse_setup(const char *verb, int argc, char **argv,
		       struct setup_opts *o)
{
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, 'a' },
		{ "size", required_argument, NULL, 's' },
		{ "mem-limit", required_argument, NULL, 'm' },
		{ "reset", no_argument, NULL, 'r' },
		{ "find", no_argument, NULL, 'f' },
		{ "priority", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int swap = !strcmp(verb, "swap"), c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "a:s:p:fh", longopts)) != -1) {
		if (misplaced(swap, c)) {
			cli_error("%s is not an option of %s", misplaced(swap, c), verb);
			cli_hint_help();
			return -1;
		}
		switch (c) {
		case 'a': o->cfg.algorithm = optarg; break;
		case 's':
			if (parse_size_opt("--size", optarg, 0, &o->cfg.size) < 0)
				return -1;
			o->size_given = 1;
			break;
		case 'm':
			if (parse_size_opt("--mem-limit", optarg, 1,
					   &o->cfg.mem_limit) < 0)
				return -1;
			break;
		case 'r': o->cfg.reset = 1; break;
		case 'f': o->find = 1; break;
		case 'p':
			if (parse_priority(optarg, &o->priority) < 0)
				return -1;
			break;
		case 'h': usage(stdout); return 1;
		default: return -1;
		}
	}
	if (optind < argc - 1) {
		cli_error("one device at most");
		return -1;
	}
	if (optind == argc - 1) {
		if (o->find) {
			cli_error("a device or --find, not both");
			return -1;
		}
		if (parse_device(argv[optind], &o->id) < 0)
			return -1;
	}
	if (!o->size_given) {
		cli_error("--size is required");
		return -1;
	}
	return 0;
}

static int cmd_setup(int argc, char **argv)
{
	struct setup_opts o = { .id = -1, .priority = -1 };
	const char *verb = argv[0];
	struct pep_err err;
	int ret;

	ret = parse_setup(verb, argc, argv, &o);
	if (ret)
		return ret > 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
	if (!strcmp(verb, "swap"))
		ret = pep_zram_swap(o.id, &o.cfg, o.priority, &err);
	else
		ret = pep_zram_setup(o.id, &o.cfg, &err);
	if (ret < 0)
		return report(ret, o.id, &err);
	printf("/dev/zram%d\n", ret);
	return CMD_EXIT_OK;
}

/* reset, remove and swapoff: the same call on each device named. */
static int cmd_each(int argc, char **argv, int (*fn)(int, struct pep_err *),
		   int many)
{
	int ids[64], failed = 0, ret, code;
	struct pep_err err;
	int n = argc - 1;

	if (cli_help_asked(argc, argv)) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (n < 1 || (!many && n > 1) || n > 64) {
		cli_error(n < 1 ? "which device? (/dev/zramN, zramN or N)" :
			  many ? "64 devices at most" : "one device at most");
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	/* Every name is checked before the first device is touched. */
	for (int i = 0; i < n; i++)
		if (parse_device(argv[i + 1], &ids[i]) < 0)
			return CMD_EXIT_USAGE;
	for (int i = 0; i < n; i++) {
		ret = fn(ids[i], &err);
		if (ret >= 0)
			continue;
		/* -EINVAL here is the kernel's ("not swap"), no usage error. */
		code = report(ret == -EINVAL ? -EIO : ret, ids[i], &err);
		if (!failed)
			failed = code;
	}
	return failed;
}

static int cmd_reset(int argc, char **argv)
{
	return cmd_each(argc, argv, pep_zram_reset, 1);
}

static int cmd_remove(int argc, char **argv)
{
	return cmd_each(argc, argv, pep_zram_remove, 1);
}

static int cmd_swapoff(int argc, char **argv)
{
	return cmd_each(argc, argv, pep_zram_swapoff, 0);
}

static const struct cmd verbs[] = {
	{ "list", cmd_list, "the devices, as zramctl shows them" },
	{ "setup", cmd_setup, "configure a device (the first free one by default)" },
	{ "reset", cmd_reset, "free a device's data, disksize back to 0" },
	{ "remove", cmd_remove, "reset and remove devices (hot_remove)" },
	{ "swap", cmd_setup, "set a device up as swap and turn it on" },
	{ "swapoff", cmd_swapoff, "turn swap on a device off (no reset)" },
};

int cmd_zram(int argc, char **argv)
{
	static const struct cli_level level = {
		.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
		.usage = usage,
	};

	return cli_dispatch(&level, argc, argv);
}
