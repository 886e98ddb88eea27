/*
 * What a ublk server remembers of a device it serves, one JSON file per
 * device in a run directory (pepita's CLI: /run/pepita/ublk): how the
 * target was made, so that a new server can take the device over after
 * the old one died (START_USER_RECOVERY needs the same target again), and
 * the server's counters, refreshed while it serves, for whoever lists the
 * devices. The kernel keeps the rest (GET_DEV_INFO).
 *
 * A record is written to a temporary file and renamed over the old one,
 * so a reader sees the old record or the new, never half of one. A record
 * read back is checked field by field: the directory is root's, but a
 * file cut short by a full disk or edited by hand must fail with its
 * field named, not recover a device with a wrong size.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <pepita/ublk.h>
#include <pepita/zram.h>

static int mkdir_p(const char *dir)
{
	char path[PEP_UBLK_RECORD_PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int record_path(const char *dir, int id, char *buf, size_t size,
		       struct pep_err *err)
{
	if (id < 0)
		return pep_err_set(err, -EINVAL, "ublk record: device id %d", id);
	if (snprintf(buf, size, "%s/%d.json", dir, id) >= (int)size)
		return pep_err_set(err, -ENAMETOOLONG, "ublk record: directory "
				   "name too long: %s", dir);
	return 0;
}

/* The zram target's mm_stat under the kernel's names. */
static const char *const mm_keys[] = {
	"orig_data_size", "compr_data_size", "mem_used_total", "mem_limit",
	"mem_used_max", "same_pages", "pages_compacted", "huge_pages",
	"huge_pages_since",
};

static uint64_t *mm_field(struct pep_zram_mm_stat *mm, size_t i)
{
	uint64_t *const f[] = {
		&mm->orig_data_size, &mm->compr_data_size, &mm->mem_used_total,
		&mm->mem_limit, &mm->mem_used_max, &mm->same_pages,
		&mm->pages_compacted, &mm->huge_pages, &mm->huge_pages_since,
	};

	return f[i];
}

#define N_MM	(sizeof(mm_keys) / sizeof(mm_keys[0]))

static json_t *mm_json(const struct pep_zram_mm_stat *mm)
{
	struct pep_zram_mm_stat copy = *mm;
	json_t *o = json_object();

	for (size_t i = 0; o && i < N_MM; i++)
		json_object_set_new(o, mm_keys[i],
				    json_integer((json_int_t)*mm_field(&copy, i)));
	if (o)
		json_object_set_new(o, "nfields", json_integer(mm->nfields));
	return o;
}

static json_t *record_json(const struct pep_ublk_record *r)
{
	json_t *o = json_pack("{s:i, s:i, s:s, s:s, s:s, s:I, s:i, s:i, s:b, s:b}",
			      "id", r->id, "pid", r->pid, "target", r->target,
			      "file", r->file, "comp", r->comp,
			      "size", (json_int_t)r->size, "queues", (int)r->queues,
			      "depth", (int)r->depth, "read_only", r->read_only,
			      "recovery", r->recovery);

	if (o && r->has_stats) {
		json_object_set_new(o, "requests", json_integer((json_int_t)r->stats.requests));
		json_object_set_new(o, "errors", json_integer((json_int_t)r->stats.errors));
		json_object_set_new(o, "tag_collisions",
				    json_integer((json_int_t)r->stats.tag_collisions));
		json_object_set_new(o, "bad_descriptors",
				    json_integer((json_int_t)r->stats.bad_descriptors));
	}
	if (o && r->has_zram)
		json_object_set_new(o, "zram_mm_stat", mm_json(&r->zram));
	return o;
}

int pep_ublk_record_save(const char *dir, const struct pep_ublk_record *r,
			 struct pep_err *err)
{
	char path[PEP_UBLK_RECORD_PATH_MAX], tmp[PEP_UBLK_RECORD_PATH_MAX + 24];
	json_t *o;
	int ret;

	if (!dir || !r)
		return pep_err_set(err, -EINVAL, "ublk record: no directory or record");
	ret = record_path(dir, r->id, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	ret = mkdir_p(dir);
	if (ret < 0)
		return pep_err_set(err, ret, "ublk record: %s: %s", dir, strerror(-ret));
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	o = record_json(r);
	if (!o)
		return pep_err_set(err, -ENOMEM, "ublk record: out of memory");
	ret = json_dump_file(o, tmp, JSON_COMPACT);
	json_decref(o);
	if (ret < 0 || rename(tmp, path) < 0) {
		ret = errno ? -errno : -EIO;
		unlink(tmp);
		return pep_err_set(err, ret, "ublk record: cannot write %s", path);
	}
	return 0;
}

/* Reading: each field checked, the first bad one named. */

struct reader {
	json_t *o;
	const char *path;
	struct pep_err *err;
};

static int bad(struct reader *rd, const char *field, const char *want)
{
	return pep_err_set(rd->err, -EBADMSG, "ublk record %s: field %s: %s",
			   rd->path, field, want);
}

static int get_str(struct reader *rd, const char *key, char *dst, size_t size,
		   int required)
{
	json_t *v = json_object_get(rd->o, key);

	if (!v && !required) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return bad(rd, key, "not a string");
	if (json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(rd, key, "too long or holds a NUL");
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_u64(struct reader *rd, json_t *in, const char *key,
		   uint64_t max, uint64_t *dst)
{
	json_t *v = json_object_get(in, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad(rd, key, "not a whole number in range");
	*dst = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_bool(struct reader *rd, const char *key, int *dst)
{
	json_t *v = json_object_get(rd->o, key);

	if (!json_is_boolean(v))
		return bad(rd, key, "not true or false");
	*dst = json_is_true(v);
	return 0;
}

static int get_stats(struct reader *rd, struct pep_ublk_record *r)
{
	r->has_stats = json_object_get(rd->o, "requests") != NULL;
	if (!r->has_stats)
		return 0;
	return get_u64(rd, rd->o, "requests", UINT64_MAX, &r->stats.requests) ||
	       get_u64(rd, rd->o, "errors", UINT64_MAX, &r->stats.errors) ||
	       get_u64(rd, rd->o, "tag_collisions", UINT64_MAX,
		       &r->stats.tag_collisions) ||
	       get_u64(rd, rd->o, "bad_descriptors", UINT64_MAX,
		       &r->stats.bad_descriptors) ? -EBADMSG : 0;
}

static int get_zram(struct reader *rd, struct pep_ublk_record *r)
{
	json_t *z = json_object_get(rd->o, "zram_mm_stat");
	uint64_t n = 0;

	r->has_zram = z != NULL;
	if (!z)
		return 0;
	if (!json_is_object(z))
		return bad(rd, "zram_mm_stat", "not an object");
	for (size_t i = 0; i < N_MM; i++)
		if (get_u64(rd, z, mm_keys[i], UINT64_MAX, mm_field(&r->zram, i)))
			return -EBADMSG;
	if (get_u64(rd, z, "nfields", N_MM, &n))
		return -EBADMSG;
	r->zram.nfields = (unsigned int)n;
	return 0;
}

static int record_from_json(struct reader *rd, int id, struct pep_ublk_record *r)
{
	uint64_t v[5] = { 0 };

	memset(r, 0, sizeof(*r));
	if (!json_is_object(rd->o))
		return bad(rd, "(top)", "not a JSON object");
	if (get_u64(rd, rd->o, "id", INT_MAX, &v[0]) ||
	    get_u64(rd, rd->o, "pid", INT_MAX, &v[1]) ||
	    get_str(rd, "target", r->target, sizeof(r->target), 1) ||
	    get_str(rd, "file", r->file, sizeof(r->file), 0) ||
	    get_str(rd, "comp", r->comp, sizeof(r->comp), 0) ||
	    get_u64(rd, rd->o, "size", UINT64_MAX, &v[2]) ||
	    get_u64(rd, rd->o, "queues", UINT16_MAX, &v[3]) ||
	    get_u64(rd, rd->o, "depth", UINT16_MAX, &v[4]) ||
	    get_bool(rd, "read_only", &r->read_only) ||
	    get_bool(rd, "recovery", &r->recovery) ||
	    get_stats(rd, r) || get_zram(rd, r))
		return -EBADMSG;
	if ((int)v[0] != id)
		return bad(rd, "id", "another device's");
	r->id = (int)v[0];
	r->pid = (int)v[1];
	r->size = v[2];
	r->queues = (unsigned int)v[3];
	r->depth = (unsigned int)v[4];
	return 0;
}

int pep_ublk_record_load(const char *dir, int id, struct pep_ublk_record *r,
			 struct pep_err *err)
{
	char path[PEP_UBLK_RECORD_PATH_MAX];
	struct reader rd = { .path = path, .err = err };
	json_error_t jerr;
	int ret;

	if (!dir || !r)
		return pep_err_set(err, -EINVAL, "ublk record: no directory or record");
	ret = record_path(dir, id, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	if (access(path, F_OK) < 0)
		return pep_err_set(err, -errno, "ublk record %s: %s", path,
				   strerror(errno));
	rd.o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!rd.o)
		return pep_err_set(err, -EBADMSG, "ublk record %s:%d: %s", path,
				   jerr.line, jerr.text);
	ret = record_from_json(&rd, id, r);
	json_decref(rd.o);
	return ret;
}

int pep_ublk_record_remove(const char *dir, int id)
{
	char path[PEP_UBLK_RECORD_PATH_MAX];

	if (!dir || record_path(dir, id, path, sizeof(path), NULL) < 0)
		return -EINVAL;
	return unlink(path) < 0 ? -errno : 0;
}
