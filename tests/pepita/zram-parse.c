/*
 * pepita zram parsers and pep_parse_size, unit suite: mm_stat and io_stat
 * as current and older kernels write them, comp_algorithm lists, and what
 * must be refused with -EINVAL and a message naming the field. No kernel
 * needed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <pepita/core.h>
#include <pepita/zram.h>

#include "harness.h"

static int test_mm_stat(void)
{
	struct pep_zram_mm_stat mm;
	struct pep_err err;

	/* 6.x: 9 fields, right-aligned with spaces, newline-terminated. */
	CHECK(pep_zram_parse_mm_stat("  9437184   757621   843776        0   843776"
				     "      256        0        0        0\n",
				     &mm, &err) == 0);
	CHECK(mm.nfields == 9);
	CHECK(mm.orig_data_size == 9437184 && mm.compr_data_size == 757621);
	CHECK(mm.mem_used_total == 843776 && mm.mem_limit == 0);
	CHECK(mm.mem_used_max == 843776 && mm.same_pages == 256);
	CHECK(mm.pages_compacted == 0 && mm.huge_pages == 0);
	CHECK(mm.huge_pages_since == 0);
	CHECK(pep_zram_parse_mm_stat("1 2 3 4 5 6 7 8 9", &mm, NULL) == 0);
	CHECK(mm.huge_pages == 8 && mm.huge_pages_since == 9);

	/* 4.x: 7 fields; 5.x: 8. The rest reads 0. */
	CHECK(pep_zram_parse_mm_stat("4096 100 8192 0 8192 3 1\n", &mm, &err) == 0);
	CHECK(mm.nfields == 7 && mm.pages_compacted == 1 && mm.huge_pages == 0);
	CHECK(pep_zram_parse_mm_stat("4096 100 8192 0 8192 3 1 2", &mm, &err) == 0);
	CHECK(mm.nfields == 8 && mm.huge_pages == 2 && mm.huge_pages_since == 0);
	CHECK(pep_zram_parse_mm_stat("1\t2\t3", &mm, &err) == 0 && mm.nfields == 3);
	/* A later kernel's extra column is accepted and ignored. */
	CHECK(pep_zram_parse_mm_stat("1 2 3 4 5 6 7 8 9 10", &mm, &err) == 0);
	CHECK(mm.nfields == 9 && mm.huge_pages_since == 9);
	CHECK(pep_zram_parse_mm_stat("18446744073709551615 0 0", &mm, &err) == 0);
	CHECK(mm.orig_data_size == UINT64_MAX);
	return T_PASS;
}

static int test_mm_stat_bad(void)
{
	struct pep_zram_mm_stat mm;
	struct pep_err err;

	CHECK(pep_zram_parse_mm_stat("", &mm, &err) == -EINVAL);
	CHECK(err.code == -EINVAL && strstr(err.msg, "0 fields"));
	CHECK(pep_zram_parse_mm_stat(" \n", &mm, &err) == -EINVAL);
	CHECK(pep_zram_parse_mm_stat("1 2", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "mm_stat") && strstr(err.msg, "at least 3"));
	CHECK(pep_zram_parse_mm_stat("1 2 x 4", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 3") && strstr(err.msg, "mem_used_total"));
	CHECK(pep_zram_parse_mm_stat("1 2 3 -4", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 4 (mem_limit)"));
	CHECK(pep_zram_parse_mm_stat("1 2 3 4k", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 4"));
	CHECK(pep_zram_parse_mm_stat("18446744073709551616 0 0", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 1") && strstr(err.msg, "64-bit"));
	CHECK(pep_zram_parse_mm_stat("1 2 3 4 5 6 7 8 9 x", &mm, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 10"));
	CHECK(pep_zram_parse_mm_stat(NULL, &mm, &err) == -EINVAL);
	CHECK(pep_zram_parse_mm_stat("1 2", &mm, NULL) == -EINVAL);
	return T_PASS;
}

static int test_io_stat(void)
{
	struct pep_zram_io_stat io;
	struct pep_err err;

	CHECK(pep_zram_parse_io_stat("       0        0 0        0\n", &io, &err) == 0);
	CHECK(io.nfields == 4 && io.failed_reads == 0 && io.notify_free == 0);
	CHECK(pep_zram_parse_io_stat("1 2 3 4", &io, &err) == 0);
	CHECK(io.failed_reads == 1 && io.failed_writes == 2);
	CHECK(io.invalid_io == 3 && io.notify_free == 4);
	CHECK(pep_zram_parse_io_stat("5 6 7", &io, &err) == 0);
	CHECK(io.nfields == 3 && io.notify_free == 0);
	CHECK(pep_zram_parse_io_stat("5 6", &io, &err) == -EINVAL);
	CHECK(strstr(err.msg, "io_stat"));
	CHECK(pep_zram_parse_io_stat("5 6 7 z", &io, &err) == -EINVAL);
	CHECK(strstr(err.msg, "field 4 (notify_free)"));
	return T_PASS;
}

static int test_ratio(void)
{
	struct pep_zram_mm_stat mm = { .orig_data_size = 8192,
				       .compr_data_size = 2048 };

	CHECK(pep_zram_ratio(&mm) == 4.0);
	mm.compr_data_size = 0;
	CHECK(pep_zram_ratio(&mm) == 0.0);
	CHECK(pep_zram_ratio(NULL) == 0.0);
	return T_PASS;
}

static int test_algorithms(void)
{
	char active[PEP_ZRAM_NAME_MAX], all[PEP_ZRAM_ALGOS_MAX];
	struct pep_err err;

	CHECK(pep_zram_parse_algorithms("lzo [lzo-rle] lz4 zstd\n", active, all,
					&err) == 0);
	CHECK(!strcmp(active, "lzo-rle") && !strcmp(all, "lzo lzo-rle lz4 zstd"));
	CHECK(pep_zram_parse_algorithms("[lz4]", active, all, &err) == 0);
	CHECK(!strcmp(active, "lz4") && !strcmp(all, "lz4"));
	/* As this kernel writes it: a trailing space. */
	CHECK(pep_zram_parse_algorithms("[lzo-rle] lzo lz4 \n", active, all,
					&err) == 0);
	CHECK(!strcmp(active, "lzo-rle") && !strcmp(all, "lzo-rle lzo lz4"));
	CHECK(pep_zram_parse_algorithms("lzo lz4 lz4hc 842 [zstd]", active, NULL,
					&err) == 0);
	CHECK(!strcmp(active, "zstd"));
	return T_PASS;
}

static int test_algorithms_bad(void)
{
	char active[PEP_ZRAM_NAME_MAX] = "keep", all[PEP_ZRAM_ALGOS_MAX];
	char long_list[600];
	struct pep_err err;

	CHECK(pep_zram_parse_algorithms("lzo lz4", active, all, &err) == -EINVAL);
	CHECK(strstr(err.msg, "no [active]"));
	CHECK(!strcmp(active, "keep"));		/* untouched on failure */
	CHECK(pep_zram_parse_algorithms("", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("[lz4", active, all, &err) == -EINVAL);
	CHECK(strstr(err.msg, "malformed"));
	CHECK(pep_zram_parse_algorithms("lz4]", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("[]", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("[lz4]x", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("l[z4]", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("[[lz4]]", active, all, &err) == -EINVAL);
	CHECK(pep_zram_parse_algorithms("[lz4] [zstd]", active, all, &err) == -EINVAL);
	CHECK(strstr(err.msg, "two active"));
	CHECK(pep_zram_parse_algorithms("[abcdefghijklmnopqrstuvwxyz0123456789]",
					active, all, &err) == -EINVAL);
	CHECK(strstr(err.msg, "longer than 31"));
	/* 100 names of 5 bytes: more than the list holds. */
	strcpy(long_list, "[lz4]");
	for (int i = 0; i < 99; i++)
		strcat(long_list, " abcd");
	CHECK(pep_zram_parse_algorithms(long_list, active, all, &err) == -EINVAL);
	CHECK(strstr(err.msg, "list is longer"));
	CHECK(pep_zram_parse_algorithms(NULL, active, all, &err) == -EINVAL);
	return T_PASS;
}

static int test_parse_size(void)
{
	struct pep_err err;
	uint64_t v;

	CHECK(pep_parse_size("0", &v, &err) == 0 && v == 0);
	CHECK(pep_parse_size("4096", &v, &err) == 0 && v == 4096);
	CHECK(pep_parse_size("64M", &v, &err) == 0 && v == 64ull << 20);
	CHECK(pep_parse_size("1K", &v, &err) == 0 && v == 1024);
	CHECK(pep_parse_size("1KiB", &v, &err) == 0 && v == 1024);
	CHECK(pep_parse_size("1KB", &v, &err) == 0 && v == 1024);
	CHECK(pep_parse_size("3G", &v, &err) == 0 && v == 3ull << 30);
	CHECK(pep_parse_size("2TiB", &v, &err) == 0 && v == 2ull << 40);
	CHECK(pep_parse_size("18446744073709551615", &v, &err) == 0 &&
	      v == UINT64_MAX);
	CHECK(pep_parse_size("16777215T", &v, &err) == 0 &&
	      v == 16777215ull << 40);
	return T_PASS;
}

static int test_parse_size_bad(void)
{
	static const char *const garbage[] = {
		"", "abc", "-1", " 1", "+1", "1 ", "1X", "1k", "1m", "1Ki",
		"1KiBx", "1.5M", "0x10", "M", "1MM",
	};
	struct pep_err err;
	uint64_t v = 7;

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		if (pep_parse_size(garbage[i], &v, &err) != -EINVAL) {
			fprintf(stderr, "pep_parse_size('%s') accepted\n", garbage[i]);
			return T_FAIL;
		}
		CHECK(err.code == -EINVAL && strstr(err.msg, "not a size"));
	}
	CHECK(v == 7);
	CHECK(pep_parse_size("12Q", &v, &err) == -EINVAL && strstr(err.msg, "'12Q'"));
	CHECK(pep_parse_size("18446744073709551616", &v, &err) == -ERANGE);
	CHECK(err.code == -ERANGE && strstr(err.msg, "18446744073709551616"));
	CHECK(pep_parse_size("16777216T", &v, &err) == -ERANGE);
	CHECK(pep_parse_size("99999999999999999999999G", &v, &err) == -ERANGE);
	CHECK(pep_parse_size(NULL, &v, &err) == -EINVAL);
	CHECK(pep_parse_size("x", &v, NULL) == -EINVAL);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("mm_stat", test_mm_stat, &rc);
	t_run("mm_stat_bad", test_mm_stat_bad, &rc);
	t_run("io_stat", test_io_stat, &rc);
	t_run("ratio", test_ratio, &rc);
	t_run("algorithms", test_algorithms, &rc);
	t_run("algorithms_bad", test_algorithms_bad, &rc);
	t_run("parse_size", test_parse_size, &rc);
	t_run("parse_size_bad", test_parse_size_bad, &rc);
	return rc;
}
