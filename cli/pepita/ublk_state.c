/*
 * What `pepita ublk` remembers of the devices it serves, one JSON file per
 * device under /run/pepita/ublk (or $PEPITA_RUN_DIR): the target and how
 * it was made, so `recover` can make it again and `list` can name it, and
 * the server's counters, refreshed while it serves. The kernel keeps the
 * rest (GET_DEV_INFO). Files are written to a temporary name and renamed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <pepita/zram.h>

#include "cmd.h"
#include "ublk_cli.h"

static const char *run_dir(void)
{
	const char *env = getenv("PEPITA_RUN_DIR");

	return env && *env ? env : "/run/pepita/ublk";
}

static int mkdir_p(const char *dir)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static void state_path(int id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%d.json", run_dir(), id);
}

/*
 * The zram target's mm_stat fields, as `pepita zram list --json` names
 * them, with its algorithm and ratio; `ublk list --json` shows it as is.
 */
static json_t *zram_json(const struct ublk_spec *s,
			 const struct pep_zram_mm_stat *zm)
{
	json_t *o = zram_mm_stat_json(zm);

	if (o) {
		json_object_set_new(o, "algorithm",
				    json_string(s->comp ? s->comp : "lz4"));
		json_object_set_new(o, "compression_ratio", zram_ratio_json(zm));
	}
	return o;
}

int ublk_state_write(const struct ublk_spec *s, int id, int pid,
		     const struct pep_ublk_stats *st,
		     const struct pep_zram_mm_stat *zm)
{
	char path[600], tmp[620];
	json_t *o;
	int ret;

	if (mkdir_p(run_dir()) < 0)
		return -errno;
	state_path(id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	o = json_pack("{s:i, s:s, s:s, s:I, s:i, s:i, s:b, s:b, s:i}",
		      "id", id, "target", s->type, "file", s->file ? s->file : "",
		      "size", (json_int_t)s->size, "queues", (int)s->queues,
		      "depth", (int)s->depth, "read_only", s->read_only,
		      "recovery", s->recovery, "pid", pid);
	if (!o)
		return -ENOMEM;
	if (st) {
		json_object_set_new(o, "requests", json_integer((json_int_t)st->requests));
		json_object_set_new(o, "errors", json_integer((json_int_t)st->errors));
		json_object_set_new(o, "tag_collisions",
				    json_integer((json_int_t)st->tag_collisions));
		json_object_set_new(o, "bad_descriptors",
				    json_integer((json_int_t)st->bad_descriptors));
	}
	if (zm)
		json_object_set_new(o, "zram", zram_json(s, zm));
	ret = json_dump_file(o, tmp, JSON_COMPACT);
	json_decref(o);
	if (ret < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* The spec (its strings malloc'd: ublk_spec_free) and the JSON, or NULL. */
json_t *ublk_state_read(int id, struct ublk_spec *s)
{
	char path[600];
	json_t *o, *v;

	state_path(id, path, sizeof(path));
	o = json_load_file(path, 0, NULL);
	if (!o || !s)
		return o;
	memset(s, 0, sizeof(*s));
	v = json_object_get(o, "target");
	s->type = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
	v = json_object_get(o, "file");
	s->file = json_is_string(v) && *json_string_value(v) ?
		  strdup(json_string_value(v)) : NULL;
	s->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
	s->queues = (unsigned int)json_integer_value(json_object_get(o, "queues"));
	s->depth = (unsigned int)json_integer_value(json_object_get(o, "depth"));
	s->read_only = json_is_true(json_object_get(o, "read_only"));
	s->recovery = json_is_true(json_object_get(o, "recovery"));
	s->owned = 1;
	return o;
}

void ublk_state_remove(int id)
{
	char path[600];

	state_path(id, path, sizeof(path));
	unlink(path);
}

void ublk_spec_free(struct ublk_spec *s)
{
	if (!s->owned)
		return;
	free((char *)s->type);
	free((char *)s->file);
	s->type = s->file = NULL;
}
