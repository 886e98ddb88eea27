/*
 * ublk device records: what a server saves comes back field for field,
 * the directory is made on the way, nothing half-written is left, and a
 * damaged record is refused with its field named rather than used to
 * serve a device again with a wrong target.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/ublk.h>

#include "harness.h"

static char top[64], dir[128];

static int write_text(int id, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.json", dir, id);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int test_round_trip(void)
{
	struct pep_ublk_record r = {
		.id = 3, .pid = 4242, .size = UINT64_C(1) << 40, .queues = 4,
		.depth = 128, .read_only = 1, .recovery = 1, .has_stats = 1,
		.stats = { 10, 1, 2, 3 }, .has_zram = 1,
		.zram = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 9 },
	}, back;
	struct pep_err err = { 0 };

	strcpy(r.target, "zram");
	strcpy(r.comp, "zstd");
	strcpy(r.file, "/var/lib/a file");
	CHECK(pep_ublk_record_save(dir, &r, &err) == 0);	/* makes dir */
	CHECK(pep_ublk_record_load(dir, 3, &back, &err) == 0);
	CHECK(back.id == 3 && back.pid == 4242 && back.size == r.size);
	CHECK(back.queues == 4 && back.depth == 128);
	CHECK(back.read_only == 1 && back.recovery == 1);
	CHECK(!strcmp(back.target, "zram") && !strcmp(back.comp, "zstd"));
	CHECK(!strcmp(back.file, "/var/lib/a file"));
	CHECK(back.has_stats && back.stats.requests == 10 &&
	      back.stats.bad_descriptors == 3);
	CHECK(back.has_zram && back.zram.orig_data_size == 1 &&
	      back.zram.huge_pages_since == 9 && back.zram.nfields == 9);

	/* Saved again without counters: none come back; one file only. */
	r.has_stats = r.has_zram = 0;
	CHECK(pep_ublk_record_save(dir, &r, &err) == 0);
	CHECK(pep_ublk_record_load(dir, 3, &back, &err) == 0);
	CHECK(!back.has_stats && !back.has_zram);
	CHECK(count_files() == 1);

	CHECK(pep_ublk_record_remove(dir, 3) == 0);
	CHECK(pep_ublk_record_load(dir, 3, &back, &err) == -ENOENT);
	CHECK(pep_ublk_record_remove(dir, 3) == -ENOENT);
	CHECK(pep_ublk_record_load(dir, -1, &back, &err) == -EINVAL);
	return T_PASS;
}

struct damaged {
	const char *text;
	const char *field;		/* in the message */
};

static int test_damaged(void)
{
	static const struct damaged cases[] = {
		{ "", "7.json:" },
		{ "{\"id\":7,", "7.json:" },
		{ "[1,2]", "(top)" },
		{ "{\"pid\":1}", "field id" },
		{ "{\"id\":8,\"pid\":1,\"target\":\"null\",\"size\":1,\"queues\":1,"
		  "\"depth\":1,\"read_only\":false,\"recovery\":true}", "field id" },
		{ "{\"id\":7,\"pid\":-1}", "field pid" },
		{ "{\"id\":7,\"pid\":1,\"target\":5}", "field target" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"a-target-name-too-long\"}",
		  "field target" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"lo\\u0000op\"}", "7.json:1" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"null\",\"size\":1.5}",
		  "field size" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"null\",\"size\":1,"
		  "\"queues\":70000}", "field queues" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"null\",\"size\":1,\"queues\":1,"
		  "\"depth\":1,\"read_only\":0}", "field read_only" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"null\",\"size\":1,\"queues\":1,"
		  "\"depth\":1,\"read_only\":false,\"recovery\":true,"
		  "\"requests\":\"many\"}", "field requests" },
		{ "{\"id\":7,\"pid\":1,\"target\":\"zram\",\"size\":1,\"queues\":1,"
		  "\"depth\":1,\"read_only\":false,\"recovery\":true,"
		  "\"zram_mm_stat\":{\"orig_data_size\":1}}", "field compr_data_size" },
		{ "{\"id\":7,\"id\":7}", "7.json:" },
	};
	struct pep_ublk_record r;
	struct pep_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(write_text(7, cases[i].text) == 0);
		memset(&err, 0, sizeof(err));
		CHECK(pep_ublk_record_load(dir, 7, &r, &err) == -EBADMSG);
		if (!strstr(err.msg, cases[i].field)) {
			fprintf(stderr, "case %zu: %s\n", i, err.msg);
			return T_FAIL;
		}
	}
	CHECK(pep_ublk_record_remove(dir, 7) == 0);
	return T_PASS;
}

int main(void)
{
	int rc = 0;

	snprintf(top, sizeof(top), "/tmp/ublk-record-XXXXXX");
	if (!mkdtemp(top))
		return T_ERROR;
	snprintf(dir, sizeof(dir), "%s/run/pepita", top);
	t_run("round-trip", test_round_trip, &rc);
	t_run("damaged", test_damaged, &rc);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/run", top);
	rmdir(dir);
	rmdir(top);
	return rc;
}
