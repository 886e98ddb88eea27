/*
 * digest.c - a local model's sha256, remembered. Planning a deploy needs
 * each source's digest (the artifacts are named after it), and hashing a
 * 4 GB model takes seconds every time. The digest is kept in the build
 * cache (CACHE/digests/<sha256 of the path>) with the file's device,
 * inode, size, modification and change times; while all five are the
 * same the file is not read again. Writing a file changes its times (and
 * ctime cannot be set back by its owner), so an edited model is hashed
 * again. A cache that cannot be read or written only costs the hashing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/fleet.h>
#include <pepita/core.h>

#include "fleet_priv.h"

#define DIGEST_MAGIC	"cohete-digest/1"

/* "DEV INO SIZE MTIME_NS CTIME_NS": what must not change. */
static void stamp_of(const struct stat *st, char *buf, size_t size)
{
	snprintf(buf, size, "%ju %ju %jd %jd%09ld %jd%09ld",
		 (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
		 (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
		 st->st_ctim.tv_nsec);
}

/* CACHE/digests/<sha256 of the absolute path>; -1 when there is no cache. */
static int record_path(const char *path, char *out, size_t size)
{
	char cache[3072], abs[4096], key[PEP_SHA256_HEX];

	if (coh_fleet_cache_dir(cache, sizeof(cache)) < 0 || !realpath(path, abs))
		return -1;
	pep_sha256_hex(abs, strlen(abs), key);
	snprintf(out, size, "%s/digests/%s", cache, key);
	return 0;
}

static int read_record(const char *rec, const char *stamp,
		       char hex[PEP_SHA256_HEX])
{
	char line[512], want[400];
	FILE *f = fopen(rec, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	snprintf(want, sizeof(want), DIGEST_MAGIC " %s ", stamp);
	n = strlen(want);
	if (strncmp(line, want, n) || strlen(line + n) < 65 || line[n + 64] != '\n' ||
	    strspn(line + n, "0123456789abcdef") != 64)
		return -1;
	memcpy(hex, line + n, 64);
	hex[64] = '\0';
	return 0;
}

/* Best effort: a temporary file renamed over the record. */
static void write_record(const char *rec, const char *stamp, const char *hex)
{
	char dir[4096], tmp[4200];
	char *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rec);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", rec, (long)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, DIGEST_MAGIC " %s %s\n", stamp, hex);
	if (fclose(f) != 0 || rename(tmp, rec) < 0)
		unlink(tmp);
}

int coh__digest_file(const char *path, char hex[PEP_SHA256_HEX],
		     struct pep_err *err)
{
	char rec[4096], stamp[400];
	struct stat before, after;
	int rc;

	if (stat(path, &before) < 0)
		return pep_err_errno(err, "%s", path);
	stamp_of(&before, stamp, sizeof(stamp));
	if (record_path(path, rec, sizeof(rec)) == 0 &&
	    read_record(rec, stamp, hex) == 0)
		return 0;
	rc = pep_sha256_file(path, hex, err);
	if (rc)
		return rc;
	/* Changed while it was read: the digest is of no one version. */
	if (stat(path, &after) == 0 && rec[0]) {
		char again[400];

		stamp_of(&after, again, sizeof(again));
		if (!strcmp(again, stamp))
			write_record(rec, stamp, hex);
	}
	return 0;
}
