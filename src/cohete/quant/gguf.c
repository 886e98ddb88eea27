/*
 * GGUF v3 container: a strict reader over a buffer or a read-only mapping,
 * and a writer that never leaves a half-written file (shared/reference/
 * gguf.md).
 *
 * Reader: every field comes from an untrusted file, so each count and
 * length is checked against the bytes left before it is used, sizes are
 * computed with __builtin_*_overflow, and tables grow with what was
 * actually read rather than with the counts the file claims. Values are
 * not copied: kvs and tensors point into the buffer. Keys and names are
 * hashed once (FNV-1a, open addressing), which both rejects duplicates and
 * answers lookups; a file with a million tensors would otherwise cost 10^12
 * comparisons.
 *
 * Writer: the header depends only on kvs and infos, so it is built in
 * memory and written with the first tensor's data; the data itself is
 * streamed to a temporary file that finish renames into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/quant.h>
#include <pepita/core.h>

#include "sink.h"

#define GGUF_MAGIC	"GGUF"
#define GGUF_VERSION	3
#define NO_INDEX	SIZE_MAX
/* Smallest kv: empty key (8), type (4), one-byte value. */
#define MIN_KV_BYTES	13
/* Smallest tensor info: empty name, n_dims, one ne, type, offset. */
#define MIN_INFO_BYTES	32
#define FIRST_CAP	16

/* ---- GGML types ---------------------------------------------------- */

struct type_info {
	const char *name;
	unsigned short block;
	unsigned short bytes;
};

/* ggml-quants.md §1; ids absent here are unknown or retired. */
static const struct type_info ggml_types[] = {
	[0] = { "F32", 1, 4 },		[1] = { "F16", 1, 2 },
	[2] = { "Q4_0", 32, 18 },	[3] = { "Q4_1", 32, 20 },
	[6] = { "Q5_0", 32, 22 },	[7] = { "Q5_1", 32, 24 },
	[8] = { "Q8_0", 32, 34 },	[9] = { "Q8_1", 32, 36 },
	[10] = { "Q2_K", 256, 84 },	[11] = { "Q3_K", 256, 110 },
	[12] = { "Q4_K", 256, 144 },	[13] = { "Q5_K", 256, 176 },
	[14] = { "Q6_K", 256, 210 },	[15] = { "Q8_K", 256, 292 },
	[16] = { "IQ2_XXS", 256, 66 },	[17] = { "IQ2_XS", 256, 74 },
	[18] = { "IQ3_XXS", 256, 98 },	[19] = { "IQ1_S", 256, 50 },
	[20] = { "IQ4_NL", 32, 18 },	[21] = { "IQ3_S", 256, 110 },
	[22] = { "IQ2_S", 256, 82 },	[23] = { "IQ4_XS", 256, 136 },
	[24] = { "I8", 1, 1 },		[25] = { "I16", 1, 2 },
	[26] = { "I32", 1, 4 },		[27] = { "I64", 1, 8 },
	[28] = { "F64", 1, 8 },		[29] = { "IQ1_M", 256, 56 },
	[30] = { "BF16", 1, 2 },	[34] = { "TQ1_0", 256, 54 },
	[35] = { "TQ2_0", 256, 66 },	[39] = { "MXFP4", 32, 17 },
};

static bool type_retired(uint32_t type)
{
	return type == 4 || type == 5 || (type >= 31 && type <= 33) ||
	       (type >= 36 && type <= 38);
}

COH_API int coh_ggml_type_size(uint32_t type, unsigned int *block,
			       unsigned int *bytes)
{
	if (type >= sizeof(ggml_types) / sizeof(ggml_types[0]) ||
	    !ggml_types[type].name)
		return -EINVAL;
	if (block)
		*block = ggml_types[type].block;
	if (bytes)
		*bytes = ggml_types[type].bytes;
	return 0;
}

COH_API const char *coh_ggml_type_name(uint32_t type)
{
	if (coh_ggml_type_size(type, NULL, NULL) < 0)
		return NULL;
	return ggml_types[type].name;
}

/* ---- GGUF value types ---------------------------------------------- */

static const char *const value_names[COH_GGUF_TYPE_COUNT] = {
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
};

/* Bytes of one value; 0 for STRING and ARRAY (variable). */
static const unsigned char value_sizes[COH_GGUF_TYPE_COUNT] = {
	1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8,
};

COH_API const char *coh_gguf_type_name(uint32_t type)
{
	return type < COH_GGUF_TYPE_COUNT ? value_names[type] : "unknown";
}

/* ---- escaping ------------------------------------------------------ */

/*
 * Bytes of the valid UTF-8 sequence at p (left bytes available) for a
 * character that is safe on a terminal, or 0: C1 controls (U+0080..9F)
 * start escape sequences on some terminals, as ESC does on all.
 */
static size_t utf8_safe(const uint8_t *p, size_t left)
{
	/* sequence length by lead byte; 0xc0, 0xc1 and 0xf5.. never lead */
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 :
		   (p[0] & 0xf0) == 0xe0 ? 3 :
		   p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp = p[0] & (0x7fu >> n);

	if (!n || n > left)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3fu);
	}
	/* overlong forms, surrogates and C1 controls are not let through */
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp <= 0x9f)
		return 0;
	return n;
}

struct esc {
	char *buf;
	size_t size, used, total;
	bool full;			/* a piece did not fit: stop writing */
};

/* A piece goes in whole or not at all, so no escape is cut in two. */
static void esc_put(struct esc *e, const void *p, size_t n)
{
	if (!e->full && e->used + n < e->size) {
		memcpy(e->buf + e->used, p, n);
		e->used += n;
	} else {
		e->full = true;
	}
	e->total += n;
}

COH_API size_t coh_gguf_escape(char *buf, size_t size, const void *s,
			       size_t len)
{
	struct esc e = { .buf = buf, .size = size };
	const uint8_t *p = s;
	char hex[5];
	size_t n;

	for (size_t i = 0; i < len; i += n) {
		n = 1;
		if (p[i] == '\\') {
			esc_put(&e, "\\\\", 2);
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			esc_put(&e, p + i, 1);
		} else if ((n = utf8_safe(p + i, len - i)) > 0) {
			esc_put(&e, p + i, n);
		} else {
			n = 1;
			snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
			esc_put(&e, hex, 4);
		}
	}
	if (size)
		buf[e.used] = '\0';
	return e.total;
}

/* ---- little-endian access ------------------------------------------ */

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- name index ---------------------------------------------------- */

struct index {
	size_t *slots;			/* item index or NO_INDEX */
	size_t mask;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

static int index_init(struct index *ix, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	ix->slots = malloc(cap * sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	memset(ix->slots, 0xff, cap * sizeof(*ix->slots));
	ix->mask = cap - 1;
	return 0;
}

/*
 * The slot for (s, len): the one holding an equal name, or the empty one
 * where it would go. name_of(i) gives item i's name and length.
 */
typedef const char *(*name_fn)(const void *items, size_t i, size_t *len);

static size_t *index_slot(const struct index *ix, const void *items,
			  name_fn name_of, const char *s, size_t len)
{
	size_t at = hash_bytes(s, len) & ix->mask;
	const char *other;
	size_t other_len;

	for (;; at = (at + 1) & ix->mask) {
		if (ix->slots[at] == NO_INDEX)
			return &ix->slots[at];
		other = name_of(items, ix->slots[at], &other_len);
		if (other_len == len && memcmp(other, s, len) == 0)
			return &ix->slots[at];
	}
}

/*
 * Room for item n (items 0..n-1 are in): the table doubles as items are
 * read, never ahead of them, so a header that claims millions of entries
 * costs nothing until the file actually holds them.
 */
static int index_fit(struct index *ix, const void *items, name_fn name_of,
		     size_t n)
{
	struct index big;
	const char *s;
	size_t len;

	if ((n + 1) * 2 <= ix->mask + 1)
		return 0;
	if (index_init(&big, n + 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s = name_of(items, i, &len);
		*index_slot(&big, items, name_of, s, len) = i;
	}
	free(ix->slots);
	*ix = big;
	return 0;
}

static const char *kv_name(const void *items, size_t i, size_t *len)
{
	const struct coh_gguf_kv *kv = (const struct coh_gguf_kv *)items + i;

	*len = kv->key_len;
	return kv->key;
}

static const char *tensor_name(const void *items, size_t i, size_t *len)
{
	const struct coh_gguf_tensor *t =
		(const struct coh_gguf_tensor *)items + i;

	*len = strlen(t->name);
	return t->name;
}

/* ---- reader -------------------------------------------------------- */

struct coh_gguf {
	const uint8_t *buf;
	size_t len;
	void *map;			/* coh_gguf_open() only */
	uint32_t version;
	uint32_t alignment;
	uint64_t data_offset;
	struct coh_gguf_kv *kvs;
	size_t n_kv, cap_kv;
	struct coh_gguf_tensor *tensors;
	size_t n_tensors, cap_tensors;
	char *keys;			/* every key, NUL-terminated */
	struct index kv_index;
	struct index tensor_index;
};

struct reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	struct pep_err *err;
};

static bool rd_has(const struct reader *r, uint64_t n)
{
	return n <= r->len - r->pos;
}

static bool rd_uint(struct reader *r, unsigned int n, uint64_t *v)
{
	if (!rd_has(r, n))
		return false;
	*v = get_le(r->p + r->pos, n);
	r->pos += n;
	return true;
}

static bool rd_u32(struct reader *r, uint32_t *v)
{
	uint64_t x;

	if (!rd_uint(r, 4, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

/* A gguf_string: u64 length, then the bytes (no NUL). */
static bool rd_str(struct reader *r, const char **s, uint64_t *len)
{
	size_t start = r->pos;

	if (!rd_uint(r, 8, len))
		return false;
	if (!rd_has(r, *len)) {
		r->pos = start;
		return false;
	}
	*s = (const char *)r->p + r->pos;
	r->pos += *len;
	return true;
}

/* "kv 7 (tokenizer.ggml.tokens): " + the reason. */
__attribute__((format(printf, 5, 6)))
static int kv_fail(struct reader *r, uint64_t i, const struct coh_gguf_kv *kv,
		   int code, const char *fmt, ...)
{
	char why[192], shown[97];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	coh_gguf_escape(shown, sizeof(shown), kv->key,
			kv->key_len < 64 ? kv->key_len : 64);
	return pep_err_set(r->err, code, "kv %" PRIu64 " (%s): %s", i, shown,
			   why);
}

__attribute__((format(printf, 5, 6)))
static int tensor_fail(struct reader *r, uint64_t i, const char *name,
		       int code, const char *fmt, ...)
{
	char why[192], shown[97];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	coh_gguf_escape(shown, sizeof(shown), name, strlen(name));
	return pep_err_set(r->err, code, "tensor %" PRIu64 " (%s): %s", i,
			   shown, why);
}

/* Bools are 0 or 1 (gguf.md §2); anything else is a corrupt file. */
static bool bools_valid(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] > 1)
			return false;
	return true;
}

static int parse_str_elems(struct reader *r, uint64_t i,
			   struct coh_gguf_kv *kv)
{
	size_t start = r->pos;
	uint64_t min_bytes, len;
	const char *s;

	/* Each string has at least its 8-byte length. */
	if (__builtin_mul_overflow(kv->count, 8, &min_bytes) ||
	    !rd_has(r, min_bytes))
		return kv_fail(r, i, kv, -EINVAL, "array of %" PRIu64
			       " strings runs past the end of the file "
			       "(offset %zu)", kv->count, start);
	for (uint64_t k = 0; k < kv->count; k++) {
		if (!rd_str(r, &s, &len))
			return kv_fail(r, i, kv, -EINVAL, "string %" PRIu64
				       " of the array runs past the end of "
				       "the file (offset %zu)", k, r->pos);
	}
	kv->data = r->p + start;
	kv->data_bytes = r->pos - start;
	return 0;
}

static int parse_array(struct reader *r, uint64_t i, struct coh_gguf_kv *kv)
{
	size_t start = r->pos;
	uint64_t bytes;
	uint32_t et;

	if (!rd_u32(r, &et) || !rd_uint(r, 8, &kv->count))
		return kv_fail(r, i, kv, -EINVAL, "array header runs past the "
			       "end of the file (offset %zu)", start);
	if (et == COH_GGUF_ARRAY)
		return kv_fail(r, i, kv, -EINVAL, "arrays of arrays are not "
			       "supported (offset %zu)", start);
	if (et >= COH_GGUF_TYPE_COUNT)
		return kv_fail(r, i, kv, -EINVAL, "unknown array element type "
			       "%" PRIu32 " (offset %zu)", et, start);
	kv->elem_type = et;
	if (et == COH_GGUF_STRING)
		return parse_str_elems(r, i, kv);
	if (__builtin_mul_overflow(kv->count, value_sizes[et], &bytes) ||
	    !rd_has(r, bytes))
		return kv_fail(r, i, kv, -EINVAL, "array of %" PRIu64 " %s "
			       "runs past the end of the file (offset %zu)",
			       kv->count, value_names[et], r->pos);
	kv->data = r->p + r->pos;
	kv->data_bytes = bytes;
	r->pos += bytes;
	if (et == COH_GGUF_BOOL && !bools_valid(kv->data, bytes))
		return kv_fail(r, i, kv, -EINVAL, "bool array holds a value "
			       "other than 0 or 1 (offset %zu)", start);
	return 0;
}

static int parse_value(struct reader *r, uint64_t i, struct coh_gguf_kv *kv)
{
	size_t start = r->pos;
	const char *s;
	uint32_t type;

	if (!rd_u32(r, &type))
		return kv_fail(r, i, kv, -EINVAL, "value type runs past the "
			       "end of the file (offset %zu)", start);
	if (type >= COH_GGUF_TYPE_COUNT)
		return kv_fail(r, i, kv, -EINVAL, "unknown value type %" PRIu32
			       " (offset %zu)", type, start);
	kv->type = kv->elem_type = type;
	kv->count = 1;
	start = r->pos;
	if (type == COH_GGUF_ARRAY)
		return parse_array(r, i, kv);
	if (type == COH_GGUF_STRING) {
		if (!rd_str(r, &s, &kv->count))
			return kv_fail(r, i, kv, -EINVAL, "string runs past the "
				       "end of the file (offset %zu)", start);
		kv->data = s;
		kv->data_bytes = kv->count;
		return 0;
	}
	if (!rd_has(r, value_sizes[type]))
		return kv_fail(r, i, kv, -EINVAL, "%s value runs past the end "
			       "of the file (offset %zu)", value_names[type],
			       start);
	kv->data = r->p + r->pos;
	kv->data_bytes = value_sizes[type];
	r->pos += value_sizes[type];
	if (type == COH_GGUF_BOOL && !bools_valid(kv->data, 1))
		return kv_fail(r, i, kv, -EINVAL, "bool value %u is not 0 or 1 "
			       "(offset %zu)", *(const uint8_t *)kv->data,
			       start);
	return 0;
}

/* Grow *arr (of size elem) to hold n + 1, doubling but never past max. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem, uint64_t max)
{
	size_t want = *cap ? *cap * 2 : FIRST_CAP;
	void *p;

	if (n < *cap)
		return 0;
	if (want > max)
		want = max;
	p = realloc(*arr, want * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = want;
	return 0;
}

/* The key of kv i. Keys are C strings to every caller: no NUL inside. */
static int parse_key(struct reader *r, uint64_t i, struct coh_gguf_kv *kv)
{
	size_t start = r->pos;
	const char *nul;
	uint64_t len;
	char shown[97];

	if (!rd_str(r, &kv->key, &len))
		return pep_err_set(r->err, -EINVAL, "kv %" PRIu64 ": key runs "
				   "past the end of the file (offset %zu)", i,
				   start);
	kv->key_len = len;
	nul = memchr(kv->key, '\0', len);
	if (!nul)
		return 0;
	coh_gguf_escape(shown, sizeof(shown), kv->key,
			 (size_t)(nul - kv->key) < 64 ? (size_t)(nul - kv->key) : 64);
	return pep_err_set(r->err, -EINVAL, "kv %" PRIu64 ": key \"%s\" is "
			   "followed by a NUL byte inside the key (offset %zu); "
			   "keys may not hold NUL", i, shown,
			   start + 8 + (size_t)(nul - kv->key));
}

static int check_alignment(struct coh_gguf *g, struct reader *r, size_t i)
{
	const struct coh_gguf_kv *kv = &g->kvs[i];
	uint32_t a;

	if (kv->type != COH_GGUF_UINT32)
		return kv_fail(r, i, kv, -EINVAL, "alignment must be a uint32, "
			       "not %s", value_names[kv->type]);
	a = (uint32_t)get_le(kv->data, 4);
	if (a == 0 || (a & (a - 1)))
		return kv_fail(r, i, kv, -EINVAL, "alignment %" PRIu32 " is not "
			       "a power of two", a);
	g->alignment = a;
	return 0;
}

/*
 * Index kv i (parsed, key still in the buffer): duplicates are found as
 * they are read, so a file of repeated keys stops at the second one.
 */
static int index_kv(struct coh_gguf *g, struct reader *r, size_t i)
{
	static const char align_key[] = "general.alignment";
	const struct coh_gguf_kv *kv = &g->kvs[i];
	size_t *slot;

	if (index_fit(&g->kv_index, g->kvs, kv_name, i) < 0)
		return pep_err_set(r->err, -ENOMEM, "out of memory");
	slot = index_slot(&g->kv_index, g->kvs, kv_name, kv->key, kv->key_len);
	if (*slot != NO_INDEX)
		return kv_fail(r, i, kv, -EINVAL, "duplicate key (first at kv "
			       "%zu)", *slot);
	*slot = i;
	if (kv->key_len == sizeof(align_key) - 1 &&
	    memcmp(kv->key, align_key, kv->key_len) == 0)
		return check_alignment(g, r, i);
	return 0;
}

/* Tables grow with what is read: n_kv is only the file's claim. */
static int parse_kvs(struct coh_gguf *g, struct reader *r, uint64_t n_kv)
{
	struct coh_gguf_kv *kv;
	int ret;

	g->alignment = COH_GGUF_DEFAULT_ALIGNMENT;
	if (index_init(&g->kv_index, 0) < 0)
		return pep_err_set(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n_kv; i++) {
		if (grow((void **)&g->kvs, &g->cap_kv, g->n_kv, sizeof(*kv),
			 n_kv) < 0)
			return pep_err_set(r->err, -ENOMEM, "out of memory");
		kv = &g->kvs[g->n_kv];
		memset(kv, 0, sizeof(*kv));
		ret = parse_key(r, i, kv);
		if (ret == 0)
			ret = parse_value(r, i, kv);
		if (ret == 0)
			ret = index_kv(g, r, g->n_kv);
		if (ret < 0)
			return ret;
		g->n_kv++;
	}
	return 0;
}

/* Copy the keys (pointing into the buffer) to NUL-terminated strings. */
static int copy_keys(struct coh_gguf *g, struct pep_err *err)
{
	size_t total = 0;
	char *p;

	for (size_t i = 0; i < g->n_kv; i++)
		total += g->kvs[i].key_len + 1;	/* bounded by the file size */
	g->keys = malloc(total ? total : 1);
	if (!g->keys)
		return pep_err_set(err, -ENOMEM, "out of memory");
	p = g->keys;
	for (size_t i = 0; i < g->n_kv; i++) {
		memcpy(p, g->kvs[i].key, g->kvs[i].key_len);
		p[g->kvs[i].key_len] = '\0';
		g->kvs[i].key = p;
		p += g->kvs[i].key_len + 1;
	}
	return 0;
}

/* Shape: ne in 1..INT64_MAX, element count within int64 (as ggml). */
static int check_shape(struct reader *r, uint64_t i,
		       const struct coh_gguf_tensor *t)
{
	int64_t elems = 1;

	for (unsigned int d = 0; d < t->n_dims; d++) {
		if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
			return tensor_fail(r, i, t->name, -EINVAL, "ne[%u] = %"
					   PRIu64 " is out of range", d,
					   t->ne[d]);
		if (__builtin_mul_overflow(elems, (int64_t)t->ne[d], &elems))
			return tensor_fail(r, i, t->name, -EINVAL, "element "
					   "count overflows int64");
	}
	return 0;
}

/* Type, block divisibility and byte size of a tensor whose shape is valid. */
static int check_type(struct reader *r, uint64_t i, struct coh_gguf_tensor *t)
{
	unsigned int block, bytes;
	uint64_t n;

	if (coh_ggml_type_size(t->type, &block, &bytes) < 0)
		return tensor_fail(r, i, t->name, -EINVAL, "%s type %" PRIu32,
				   type_retired(t->type) ? "retired" :
				   "unknown", t->type);
	if (t->ne[0] % block)
		return tensor_fail(r, i, t->name, -EINVAL, "ne[0] = %" PRIu64
				   " is not a multiple of the block size %u of "
				   "%s", t->ne[0], block,
				   coh_ggml_type_name(t->type));
	n = t->ne[0] / block;
	for (unsigned int d = 1; d < 4; d++)
		if (__builtin_mul_overflow(n, t->ne[d], &n))
			return tensor_fail(r, i, t->name, -EINVAL, "byte size "
					   "overflows");
	if (__builtin_mul_overflow(n, bytes, &n))
			return tensor_fail(r, i, t->name, -EINVAL, "byte size "
					   "overflows");
	t->nbytes = n;
	return 0;
}

static int parse_info(struct reader *r, uint64_t i, struct coh_gguf_tensor *t)
{
	size_t start = r->pos;
	const char *name;
	uint64_t len;

	if (!rd_str(r, &name, &len))
		return pep_err_set(r->err, -EINVAL, "tensor %" PRIu64 ": name "
				   "runs past the end of the file (offset %zu)",
				   i, start);
	if (len >= COH_GGUF_NAME_MAX)
		return pep_err_set(r->err, -EINVAL, "tensor %" PRIu64 ": name "
				   "of %" PRIu64 " bytes is too long (at most "
				   "63; offset %zu)", i, len, start);
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	if (memchr(name, '\0', len))
		return tensor_fail(r, i, t->name, -EINVAL, "name holds a NUL");
	if (!rd_u32(r, &t->n_dims))
		goto truncated;
	if (t->n_dims < 1 || t->n_dims > 4)
		return tensor_fail(r, i, t->name, -EINVAL, "n_dims %" PRIu32
				   " is not 1..4", t->n_dims);
	for (unsigned int d = 0; d < 4; d++)
		t->ne[d] = 1;
	for (unsigned int d = 0; d < t->n_dims; d++)
		if (!rd_uint(r, 8, &t->ne[d]))
			goto truncated;
	if (!rd_u32(r, &t->type) || !rd_uint(r, 8, &t->offset))
		goto truncated;
	return 0;
truncated:
	return tensor_fail(r, i, t->name, -EINVAL, "info runs past the end of "
			   "the file (offset %zu)", start);
}

static int parse_tensor(struct coh_gguf *g, struct reader *r, uint64_t i)
{
	struct coh_gguf_tensor *t = &g->tensors[g->n_tensors];
	int ret;

	memset(t, 0, sizeof(*t));
	ret = parse_info(r, i, t);
	if (ret == 0)
		ret = check_shape(r, i, t);
	if (ret == 0)
		ret = check_type(r, i, t);
	return ret;
}

static int parse_tensors(struct coh_gguf *g, struct reader *r,
			 uint64_t n_tensors)
{
	size_t *slot;
	int ret;

	/* n_tensors is the file's claim: the tables grow with what is read */
	if (index_init(&g->tensor_index, 0) < 0)
		return pep_err_set(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n_tensors; i++) {
		if (grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors,
			 sizeof(*g->tensors), n_tensors) < 0 ||
		    index_fit(&g->tensor_index, g->tensors, tensor_name,
			      g->n_tensors) < 0)
			return pep_err_set(r->err, -ENOMEM, "out of memory");
		ret = parse_tensor(g, r, i);
		if (ret < 0)
			return ret;
		slot = index_slot(&g->tensor_index, g->tensors, tensor_name,
				  g->tensors[i].name,
				  strlen(g->tensors[i].name));
		if (*slot != NO_INDEX)
			return tensor_fail(r, i, g->tensors[i].name, -EINVAL,
					   "duplicate tensor name (first at "
					   "tensor %zu)", *slot);
		*slot = g->n_tensors++;
	}
	return 0;
}

/*
 * Offsets must be the running sum of the padded sizes (gguf.md §3), which
 * also rules out overlaps and gaps; each tensor must lie inside the file.
 */
static int place_tensors(struct coh_gguf *g, struct reader *r)
{
	uint64_t a = g->alignment, expect = 0, data_len, end;
	struct coh_gguf_tensor *t;

	if (__builtin_add_overflow(r->pos, a - 1, &g->data_offset))
		return pep_err_set(r->err, -EINVAL, "data offset overflows");
	g->data_offset &= ~(a - 1);
	data_len = g->data_offset <= g->len ? g->len - g->data_offset : 0;
	for (size_t i = 0; i < g->n_tensors; i++) {
		t = &g->tensors[i];
		if (t->offset != expect)
			return tensor_fail(r, i, t->name, -EINVAL, "offset %"
					   PRIu64 ", expected %" PRIu64,
					   t->offset, expect);
		if (__builtin_add_overflow(t->offset, t->nbytes, &end) ||
		    end > data_len)
			return tensor_fail(r, i, t->name, -EINVAL, "data of %"
					   PRIu64 " bytes at offset %" PRIu64
					   " runs past the end of the file "
					   "(data section: %" PRIu64 " bytes)",
					   t->nbytes, t->offset, data_len);
		t->data = g->buf + g->data_offset + t->offset;
		/* end + a - 1 cannot overflow: end <= the file size. */
		expect = (end + a - 1) & ~(a - 1);
	}
	return 0;
}

static int parse_header(struct coh_gguf *g, struct reader *r,
			uint64_t *n_tensors, uint64_t *n_kv)
{
	uint32_t v;

	if (r->len < 4 || memcmp(r->p, GGUF_MAGIC, 4) != 0)
		return pep_err_set(r->err, -EINVAL, "not a GGUF file (magic "
				   "'%.*s')", (int)(r->len < 4 ? r->len : 4),
				   (const char *)r->p);
	r->pos = 4;
	if (!rd_u32(r, &v) || !rd_uint(r, 8, n_tensors) ||
	    !rd_uint(r, 8, n_kv))
		return pep_err_set(r->err, -EINVAL, "header of %zu bytes is "
				   "truncated (need 24)", r->len);
	/* No endianness flag: a byte-swapped small version gives it away. */
	if ((v & 0xffff) == 0 && __builtin_bswap32(v) >= 1 &&
	    __builtin_bswap32(v) <= GGUF_VERSION)
		return pep_err_set(r->err, -EOPNOTSUPP, "big-endian GGUF is "
				   "not supported (version 0x%08" PRIx32 ")", v);
	if (v != 2 && v != 3)
		return pep_err_set(r->err, -EOPNOTSUPP, "GGUF version %" PRIu32
				   " is not supported (2 and 3 are)", v);
	g->version = v;
	if (*n_kv > (r->len - r->pos) / MIN_KV_BYTES)
		return pep_err_set(r->err, -EINVAL, "n_kv %" PRIu64 " runs past "
				   "the end of the file (%zu bytes)", *n_kv,
				   r->len);
	if (*n_tensors > (r->len - r->pos) / MIN_INFO_BYTES)
		return pep_err_set(r->err, -EINVAL, "n_tensors %" PRIu64 " runs "
				   "past the end of the file (%zu bytes)",
				   *n_tensors, r->len);
	return 0;
}

static int parse_all(struct coh_gguf *g, struct pep_err *err)
{
	struct reader r = { .p = g->buf, .len = g->len, .err = err };
	uint64_t n_tensors = 0, n_kv = 0;
	int ret;

	ret = parse_header(g, &r, &n_tensors, &n_kv);
	if (ret == 0)
		ret = parse_kvs(g, &r, n_kv);
	if (ret == 0)
		ret = copy_keys(g, err);
	if (ret == 0 && n_tensors > (r.len - r.pos) / MIN_INFO_BYTES)
		ret = pep_err_set(err, -EINVAL, "n_tensors %" PRIu64 " runs "
				  "past the end of the file (offset %zu)",
				  n_tensors, r.pos);
	if (ret == 0)
		ret = parse_tensors(g, &r, n_tensors);
	if (ret == 0)
		ret = place_tensors(g, &r);
	return ret;
}

COH_API void coh_gguf_close(struct coh_gguf *g)
{
	if (!g)
		return;
	if (g->map)
		munmap(g->map, g->len);
	free(g->kvs);
	free(g->tensors);
	free(g->keys);
	free(g->kv_index.slots);
	free(g->tensor_index.slots);
	free(g);
}

static int parse_into(struct coh_gguf *g, struct coh_gguf **out,
		      struct pep_err *err)
{
	int ret = parse_all(g, err);

	if (ret < 0) {
		coh_gguf_close(g);
		return ret;
	}
	*out = g;
	return 0;
}

COH_API int coh_gguf_parse(const void *buf, size_t len, struct coh_gguf **out,
			   struct pep_err *err)
{
	struct coh_gguf *g;

	if (!out || (!buf && len))
		return pep_err_set(err, -EINVAL, "gguf: no buffer or output");
	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return pep_err_set(err, -ENOMEM, "out of memory");
	g->buf = buf ? buf : (const uint8_t *)"";
	g->len = len;
	return parse_into(g, out, err);
}

COH_API int coh_gguf_open(const char *path, struct coh_gguf **out,
			  struct pep_err *err)
{
	struct coh_gguf *g;
	struct stat st;
	void *map;
	int fd;

	if (!out || !path)
		return pep_err_set(err, -EINVAL, "gguf: no path or output");
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	if (fstat(fd, &st) < 0) {
		int ret = pep_err_errno(err, "stat %s", path);

		close(fd);
		return ret;
	}
	if (st.st_size < 24) {
		close(fd);
		return pep_err_set(err, -EINVAL, "%s: not a GGUF file (%jd "
				   "bytes)", path, (intmax_t)st.st_size);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return pep_err_errno(err, "mmap %s", path);
	g = calloc(1, sizeof(*g));
	if (!g) {
		munmap(map, (size_t)st.st_size);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	g->buf = g->map = map;
	g->len = (size_t)st.st_size;
	return parse_into(g, out, err);
}

COH_API uint32_t coh_gguf_version(const struct coh_gguf *g)
{
	return g->version;
}

COH_API uint32_t coh_gguf_alignment(const struct coh_gguf *g)
{
	return g->alignment;
}

COH_API uint64_t coh_gguf_data_offset(const struct coh_gguf *g)
{
	return g->data_offset;
}

COH_API size_t coh_gguf_kv_count(const struct coh_gguf *g)
{
	return g->n_kv;
}

COH_API const struct coh_gguf_kv *coh_gguf_kv_at(const struct coh_gguf *g,
						 size_t index)
{
	return index < g->n_kv ? &g->kvs[index] : NULL;
}

COH_API long coh_gguf_find_index(const struct coh_gguf *g, const char *key)
{
	size_t *slot;

	if (!key)
		return -EINVAL;
	slot = index_slot(&g->kv_index, g->kvs, kv_name, key, strlen(key));
	return *slot == NO_INDEX ? -ENOENT : (long)*slot;
}

COH_API const struct coh_gguf_kv *coh_gguf_find(const struct coh_gguf *g,
						const char *key)
{
	long i = coh_gguf_find_index(g, key);

	return i < 0 ? NULL : &g->kvs[i];
}

COH_API size_t coh_gguf_tensor_count(const struct coh_gguf *g)
{
	return g->n_tensors;
}

COH_API const struct coh_gguf_tensor *
coh_gguf_tensor_at(const struct coh_gguf *g, size_t index)
{
	return index < g->n_tensors ? &g->tensors[index] : NULL;
}

COH_API const struct coh_gguf_tensor *
coh_gguf_tensor_find(const struct coh_gguf *g, const char *name)
{
	size_t *slot;

	if (!name)
		return NULL;
	slot = index_slot(&g->tensor_index, g->tensors, tensor_name, name,
			  strlen(name));
	return *slot == NO_INDEX ? NULL : &g->tensors[*slot];
}

/* ---- typed values -------------------------------------------------- */

static bool type_signed(uint32_t t)
{
	return t == COH_GGUF_INT8 || t == COH_GGUF_INT16 ||
	       t == COH_GGUF_INT32 || t == COH_GGUF_INT64;
}

static bool type_integer(uint32_t t)
{
	return type_signed(t) || t == COH_GGUF_UINT8 || t == COH_GGUF_UINT16 ||
	       t == COH_GGUF_UINT32 || t == COH_GGUF_UINT64;
}

/* An integer at p of type t, sign-extended; *neg when below zero. */
static uint64_t load_int(const uint8_t *p, uint32_t t, bool *neg)
{
	unsigned int n = value_sizes[t];
	uint64_t v = get_le(p, n);
	unsigned int shift = 64 - 8 * n;

	*neg = false;
	if (type_signed(t) && n < 8)
		v = (uint64_t)((int64_t)(v << shift) >> shift);
	if (type_signed(t))
		*neg = (int64_t)v < 0;
	return v;
}

static int load_float(const uint8_t *p, uint32_t t, double *out)
{
	uint64_t bits;
	float f;

	if (t == COH_GGUF_FLOAT32) {
		uint32_t b = (uint32_t)get_le(p, 4);

		memcpy(&f, &b, 4);
		*out = f;
		return 0;
	}
	if (t == COH_GGUF_FLOAT64) {
		bits = get_le(p, 8);
		memcpy(out, &bits, 8);
		return 0;
	}
	return -EINVAL;
}

COH_API int coh_gguf_kv_uint(const struct coh_gguf_kv *kv, uint64_t *out)
{
	bool neg;
	uint64_t v;

	if (!kv || !type_integer(kv->type))
		return -EINVAL;
	v = load_int(kv->data, kv->type, &neg);
	if (neg)
		return -ERANGE;
	*out = v;
	return 0;
}

COH_API int coh_gguf_kv_int(const struct coh_gguf_kv *kv, int64_t *out)
{
	bool neg;
	uint64_t v;

	if (!kv || !type_integer(kv->type))
		return -EINVAL;
	v = load_int(kv->data, kv->type, &neg);
	if (!neg && v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

COH_API int coh_gguf_kv_float(const struct coh_gguf_kv *kv, double *out)
{
	if (!kv || kv->type == COH_GGUF_ARRAY)
		return -EINVAL;
	return load_float(kv->data, kv->type, out);
}

COH_API int coh_gguf_kv_bool(const struct coh_gguf_kv *kv, bool *out)
{
	if (!kv || kv->type != COH_GGUF_BOOL)
		return -EINVAL;
	*out = *(const uint8_t *)kv->data != 0;
	return 0;
}

COH_API int coh_gguf_kv_str(const struct coh_gguf_kv *kv, const char **s,
			    size_t *len)
{
	if (!kv || kv->type != COH_GGUF_STRING)
		return -EINVAL;
	*s = kv->data;
	*len = kv->count;
	return 0;
}

COH_API int coh_gguf_get_uint(const struct coh_gguf *g, const char *key,
			      uint64_t *out)
{
	const struct coh_gguf_kv *kv = coh_gguf_find(g, key);

	return kv ? coh_gguf_kv_uint(kv, out) : -ENOENT;
}

COH_API int coh_gguf_get_int(const struct coh_gguf *g, const char *key,
			     int64_t *out)
{
	const struct coh_gguf_kv *kv = coh_gguf_find(g, key);

	return kv ? coh_gguf_kv_int(kv, out) : -ENOENT;
}

COH_API int coh_gguf_get_float(const struct coh_gguf *g, const char *key,
			       double *out)
{
	const struct coh_gguf_kv *kv = coh_gguf_find(g, key);

	return kv ? coh_gguf_kv_float(kv, out) : -ENOENT;
}

COH_API int coh_gguf_get_bool(const struct coh_gguf *g, const char *key,
			      bool *out)
{
	const struct coh_gguf_kv *kv = coh_gguf_find(g, key);

	return kv ? coh_gguf_kv_bool(kv, out) : -ENOENT;
}

COH_API int coh_gguf_get_str(const struct coh_gguf *g, const char *key,
			     const char **s, size_t *len)
{
	const struct coh_gguf_kv *kv = coh_gguf_find(g, key);

	return kv ? coh_gguf_kv_str(kv, s, len) : -ENOENT;
}

COH_API int coh_gguf_array_int(const struct coh_gguf_kv *kv, uint64_t i,
			       int64_t *out)
{
	uint32_t t;
	uint64_t v;
	bool neg;

	if (!kv || kv->type != COH_GGUF_ARRAY)
		return -EINVAL;
	t = kv->elem_type;
	if (!type_integer(t) && t != COH_GGUF_BOOL)
		return -EINVAL;
	if (i >= kv->count)
		return -ERANGE;
	if (t == COH_GGUF_BOOL)
		t = COH_GGUF_UINT8;
	v = load_int((const uint8_t *)kv->data + i * value_sizes[t], t, &neg);
	if (!neg && v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

COH_API int coh_gguf_array_float(const struct coh_gguf_kv *kv, uint64_t i,
				 double *out)
{
	uint32_t t;

	if (!kv || kv->type != COH_GGUF_ARRAY)
		return -EINVAL;
	t = kv->elem_type;
	if (t != COH_GGUF_FLOAT32 && t != COH_GGUF_FLOAT64)
		return -EINVAL;
	if (i >= kv->count)
		return -ERANGE;
	return load_float((const uint8_t *)kv->data + i * value_sizes[t], t,
			  out);
}

COH_API int coh_gguf_str_iter_init(struct coh_gguf_str_iter *it,
				   const struct coh_gguf_kv *kv)
{
	if (!kv || kv->type != COH_GGUF_ARRAY ||
	    kv->elem_type != COH_GGUF_STRING)
		return -EINVAL;
	it->next = kv->data;
	it->left = kv->count;
	return 0;
}

/* The parser walked every length, so they all lie inside the buffer. */
COH_API bool coh_gguf_str_next(struct coh_gguf_str_iter *it, const char **s,
			       size_t *len)
{
	uint64_t n;

	if (!it->left)
		return false;
	n = get_le(it->next, 8);
	*s = (const char *)it->next + 8;
	*len = n;
	it->next += 8 + n;
	it->left--;
	return true;
}

/* ---- writer -------------------------------------------------------- */

struct wkv {
	char *key;
	uint32_t type;
	uint8_t *val;			/* encoded value, after the type */
	size_t val_len;
};

struct coh_gguf_writer {
	int fd;
	struct coh__sink *sink;		/* every byte goes out through it */
	char *path;
	char *tmp;			/* named temporary; NULL when none */
	struct wkv *kvs;
	size_t n_kv, cap_kv;
	struct coh_gguf_tensor *tensors;	/* data stays NULL */
	size_t n_tensors, cap_tensors;
	bool header_done;
	size_t cur;			/* the tensor whose data comes next */
	uint64_t cur_done;		/* its bytes written so far */
	int failed;			/* first fatal error; sticky */
	struct pep_err err;
};

/* A growing byte buffer that remembers running out of memory. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void wb_put(struct wbuf *b, const void *d, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (b->oom || n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return;
	}
	while (cap < b->len + n)
		cap *= 2;
	if (cap != b->cap) {
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void wb_le(struct wbuf *b, uint64_t v, unsigned int n)
{
	uint8_t le[8];

	put_le(le, v, n);
	wb_put(b, le, n);
}

static void wb_str(struct wbuf *b, const char *s, size_t len)
{
	wb_le(b, len, 8);
	wb_put(b, s, len);
}

static int wfail(struct coh_gguf_writer *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int wfail(struct coh_gguf_writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	w->err.code = code;
	va_start(ap, fmt);
	vsnprintf(w->err.msg, sizeof(w->err.msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Remove the temporary file now: a failed writer leaves nothing behind. */
static void drop_tmp(struct coh_gguf_writer *w)
{
	coh__sink_close(w->sink);
	w->sink = NULL;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	w->tmp = NULL;
}

static int wfatal(struct coh_gguf_writer *w, int code)
{
	w->failed = code;
	drop_tmp(w);
	return code;
}

/* kvs and infos can change only before the header is written. */
static int check_open(struct coh_gguf_writer *w, const char *what)
{
	if (!w)
		return -EINVAL;
	if (w->failed)
		return w->failed;
	if (w->header_done)
		return wfail(w, -EINVAL, "%s: the header is already written",
			     what ? what : "(null)");
	return 0;
}

/* The directory part of path: "." or "/" where it has none. */
static char *dir_of(const char *path)
{
	char *dir = strdup(path), *slash;

	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else
		slash[slash == dir] = '\0';
	return dir;
}

/*
 * The mode open(O_CREAT, 0666) would give: 0666 less the umask. O_TMPFILE
 * files need it said (kernels before 6.6 ignore the umask for them on
 * file systems without ACLs); 0 when the umask cannot be read without
 * changing it (no /proc, or a kernel before 4.7), which callers take as
 * "create by name instead".
 */
static mode_t create_mode(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned int mask;
	char line[128];
	mode_t mode = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1) {
			mode = 0666 & ~(mode_t)mask;
			break;
		}
	if (f)
		fclose(f);
	return mode;
}

/* "PATH.<16 hex digits>.tmp" into w->tmp, a new name each call. */
static void tmp_name(struct coh_gguf_writer *w, uint64_t *r)
{
	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	sprintf(w->tmp, "%s.%016" PRIx64 ".tmp", w->path, *r);
}

/*
 * A named temporary beside path, created as any new file is (the kernel
 * applies the umask and a default ACL).
 */
static int create_named(struct coh_gguf_writer *w, struct pep_err *err)
{
	uint64_t r = pep_time_ns() ^ (uint64_t)getpid() << 32;

	w->tmp = malloc(strlen(w->path) + sizeof(".0123456789abcdef.tmp"));
	if (!w->tmp)
		return pep_err_set(err, -ENOMEM, "out of memory");
	for (unsigned int tries = 0; tries < 64; tries++) {
		tmp_name(w, &r);
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     0666);
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd >= 0)
		return 0;
	/* the user's path, not the temporary name they never chose */
	free(w->tmp);
	w->tmp = NULL;
	return pep_err_errno(err, "create %s", w->path);
}

/*
 * An unnamed file in the destination's directory (O_TMPFILE, Linux 3.11+,
 * most local file systems): a crash or SIGKILL leaves nothing behind.
 * Where the file system lacks it, a named "PATH.<random>.tmp" instead.
 * Either way the mode is what creating path directly would give.
 */
static int open_tmp(struct coh_gguf_writer *w, struct pep_err *err)
{
	mode_t mode = create_mode();
	char *dir;

	if (!mode)
		return create_named(w, err);
	dir = dir_of(w->path);
	if (!dir)
		return pep_err_set(err, -ENOMEM, "out of memory");
	w->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	free(dir);
	if (w->fd >= 0)
		return 0;
	return create_named(w, err);
}

COH_API int coh_gguf_writer_create(struct coh_gguf_writer **out,
				   const char *path, struct pep_err *err)
{
	struct coh_gguf_writer *w;
	int ret;

	if (!out || !path || !*path)
		return pep_err_set(err, -EINVAL, "gguf writer: no path");
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return pep_err_set(err, -ENOMEM, "out of memory");
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path) {
		ret = pep_err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	ret = open_tmp(w, err);
	if (ret < 0)
		goto err_free;
	*out = w;
	return 0;
err_free:
	free(w->path);
	free(w);
	return ret;
}

static struct wkv *find_wkv(struct coh_gguf_writer *w, const char *key)
{
	for (size_t i = 0; i < w->n_kv; i++)
		if (strcmp(w->kvs[i].key, key) == 0)
			return &w->kvs[i];
	return NULL;
}

static int append_wkv(struct coh_gguf_writer *w, const char *key,
		      struct wkv *kv)
{
	if (grow((void **)&w->kvs, &w->cap_kv, w->n_kv, sizeof(*kv),
		 SIZE_MAX / sizeof(*kv)) < 0)
		return wfail(w, -ENOMEM, "out of memory");
	kv->key = strdup(key);
	if (!kv->key)
		return wfail(w, -ENOMEM, "out of memory");
	w->kvs[w->n_kv++] = *kv;
	return 0;
}

static void remove_wkv(struct coh_gguf_writer *w, size_t i)
{
	free(w->kvs[i].key);
	free(w->kvs[i].val);
	memmove(&w->kvs[i], &w->kvs[i + 1], (w->n_kv - i - 1) * sizeof(*w->kvs));
	w->n_kv--;
}

/*
 * Add key with an encoded value (copied). With replace, as ggml's
 * gguf_set_val_*() since the gguf.cpp rewrite (llama.cpp b4747): an
 * existing key is removed and the new value appended.
 */
static int put_kv(struct coh_gguf_writer *w, const char *key, uint32_t type,
		  const void *val, size_t val_len, bool replace)
{
	struct wkv kv = { .type = type, .val_len = val_len }, *old;
	int ret = check_open(w, key);

	if (ret < 0)
		return ret;
	if (!key)
		return wfail(w, -EINVAL, "kv without a key");
	old = find_wkv(w, key);
	if (old && !replace)
		return wfail(w, -EEXIST, "kv %s: duplicate key", key);
	kv.val = malloc(val_len ? val_len : 1);
	if (!kv.val)
		return wfail(w, -ENOMEM, "out of memory");
	memcpy(kv.val, val, val_len);
	ret = append_wkv(w, key, &kv);
	if (ret == 0 && old)
		remove_wkv(w, (size_t)(old - w->kvs));
	if (ret < 0)
		free(kv.val);
	return ret;
}

static int put_scalar(struct coh_gguf_writer *w, const char *key,
		      uint32_t type, uint64_t bits, bool replace)
{
	uint8_t le[8];

	put_le(le, bits, value_sizes[type]);
	return put_kv(w, key, type, le, value_sizes[type], replace);
}

static uint64_t f32_bits(float v)
{
	uint32_t b;

	memcpy(&b, &v, 4);
	return b;
}

static uint64_t f64_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, 8);
	return b;
}

static int put_str(struct coh_gguf_writer *w, const char *key, const char *v,
		   bool replace)
{
	struct wbuf b = { 0 };
	int ret;

	if (!v)
		return wfail(w, -EINVAL, "kv %s: no string", key ? key : "");
	wb_str(&b, v, strlen(v));
	ret = b.oom ? wfail(w, -ENOMEM, "out of memory") :
	      put_kv(w, key, COH_GGUF_STRING, b.p, b.len, replace);
	free(b.p);
	return ret;
}

COH_API int coh_gguf_writer_add_u8(struct coh_gguf_writer *w, const char *key,
				   uint8_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT8, v, false);
}

COH_API int coh_gguf_writer_add_i8(struct coh_gguf_writer *w, const char *key,
				   int8_t v)
{
	return put_scalar(w, key, COH_GGUF_INT8, (uint64_t)v, false);
}

COH_API int coh_gguf_writer_add_u16(struct coh_gguf_writer *w,
				    const char *key, uint16_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT16, v, false);
}

COH_API int coh_gguf_writer_add_i16(struct coh_gguf_writer *w,
				    const char *key, int16_t v)
{
	return put_scalar(w, key, COH_GGUF_INT16, (uint64_t)v, false);
}

COH_API int coh_gguf_writer_add_u32(struct coh_gguf_writer *w,
				    const char *key, uint32_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT32, v, false);
}

COH_API int coh_gguf_writer_add_i32(struct coh_gguf_writer *w,
				    const char *key, int32_t v)
{
	return put_scalar(w, key, COH_GGUF_INT32, (uint64_t)v, false);
}

COH_API int coh_gguf_writer_add_f32(struct coh_gguf_writer *w,
				    const char *key, float v)
{
	return put_scalar(w, key, COH_GGUF_FLOAT32, f32_bits(v), false);
}

COH_API int coh_gguf_writer_add_bool(struct coh_gguf_writer *w,
				     const char *key, bool v)
{
	return put_scalar(w, key, COH_GGUF_BOOL, v ? 1 : 0, false);
}

COH_API int coh_gguf_writer_add_str(struct coh_gguf_writer *w,
				    const char *key, const char *v)
{
	return put_str(w, key, v, false);
}

COH_API int coh_gguf_writer_add_u64(struct coh_gguf_writer *w,
				    const char *key, uint64_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT64, v, false);
}

COH_API int coh_gguf_writer_add_i64(struct coh_gguf_writer *w,
				    const char *key, int64_t v)
{
	return put_scalar(w, key, COH_GGUF_INT64, (uint64_t)v, false);
}

COH_API int coh_gguf_writer_add_f64(struct coh_gguf_writer *w,
				    const char *key, double v)
{
	return put_scalar(w, key, COH_GGUF_FLOAT64, f64_bits(v), false);
}

COH_API int coh_gguf_writer_set_u32(struct coh_gguf_writer *w,
				    const char *key, uint32_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT32, v, true);
}

COH_API int coh_gguf_writer_set_i32(struct coh_gguf_writer *w,
				    const char *key, int32_t v)
{
	return put_scalar(w, key, COH_GGUF_INT32, (uint64_t)v, true);
}

COH_API int coh_gguf_writer_set_u64(struct coh_gguf_writer *w,
				    const char *key, uint64_t v)
{
	return put_scalar(w, key, COH_GGUF_UINT64, v, true);
}

COH_API int coh_gguf_writer_set_f32(struct coh_gguf_writer *w,
				    const char *key, float v)
{
	return put_scalar(w, key, COH_GGUF_FLOAT32, f32_bits(v), true);
}

COH_API int coh_gguf_writer_set_bool(struct coh_gguf_writer *w,
				     const char *key, bool v)
{
	return put_scalar(w, key, COH_GGUF_BOOL, v ? 1 : 0, true);
}

COH_API int coh_gguf_writer_set_str(struct coh_gguf_writer *w,
				    const char *key, const char *v)
{
	return put_str(w, key, v, true);
}

/* Element i of a host-order C array of elem_type, as its bits. */
static uint64_t host_elem(const void *elems, uint32_t type, uint64_t i)
{
	const uint8_t *p = (const uint8_t *)elems + i * value_sizes[type];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (value_sizes[type]) {
	case 1:
		return type == COH_GGUF_BOOL ? *(const bool *)p != 0 : *p;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

COH_API int coh_gguf_writer_add_array(struct coh_gguf_writer *w,
				      const char *key,
				      enum coh_gguf_type elem_type,
				      const void *elems, uint64_t count)
{
	struct wbuf b = { 0 };
	uint64_t bytes;
	int ret;

	if (!w)
		return -EINVAL;
	if ((unsigned int)elem_type >= COH_GGUF_TYPE_COUNT ||
	    !value_sizes[elem_type] || (count && !elems) ||
	    __builtin_mul_overflow(count, value_sizes[elem_type], &bytes) ||
	    bytes > SIZE_MAX / 2)
		return wfail(w, -EINVAL, "kv %s: not an array of numbers",
			     key ? key : "");
	wb_le(&b, elem_type, 4);
	wb_le(&b, count, 8);
	for (uint64_t i = 0; i < count && !b.oom; i++)
		wb_le(&b, host_elem(elems, elem_type, i),
		      value_sizes[elem_type]);
	ret = b.oom ? wfail(w, -ENOMEM, "out of memory") :
	      put_kv(w, key, COH_GGUF_ARRAY, b.p, b.len, false);
	free(b.p);
	return ret;
}

COH_API int coh_gguf_writer_add_str_array(struct coh_gguf_writer *w,
					  const char *key,
					  const char *const *strs,
					  uint64_t count)
{
	struct wbuf b = { 0 };
	int ret;

	if (!w)
		return -EINVAL;
	if (count && !strs)
		return wfail(w, -EINVAL, "kv %s: no strings", key ? key : "");
	wb_le(&b, COH_GGUF_STRING, 4);
	wb_le(&b, count, 8);
	for (uint64_t i = 0; i < count && !b.oom; i++) {
		if (!strs[i]) {
			free(b.p);
			return wfail(w, -EINVAL, "kv %s: string %" PRIu64
				     " is NULL", key ? key : "", i);
		}
		wb_str(&b, strs[i], strlen(strs[i]));
	}
	ret = b.oom ? wfail(w, -ENOMEM, "out of memory") :
	      put_kv(w, key, COH_GGUF_ARRAY, b.p, b.len, false);
	free(b.p);
	return ret;
}

COH_API int coh_gguf_writer_copy_kv(struct coh_gguf_writer *w,
				    const struct coh_gguf *g, size_t index)
{
	const struct coh_gguf_kv *kv;
	struct wbuf b = { 0 };
	int ret;

	if (!w || !g)
		return -EINVAL;
	kv = coh_gguf_kv_at(g, index);
	if (!kv)
		return wfail(w, -ERANGE, "kv %zu: out of range", index);
	/* Our keys are C strings; one with a NUL inside cannot be one. */
	if (strlen(kv->key) != kv->key_len)
		return wfail(w, -EINVAL, "kv %zu: key holds a NUL", index);
	if (kv->type == COH_GGUF_ARRAY) {
		wb_le(&b, kv->elem_type, 4);
		wb_le(&b, kv->count, 8);
	} else if (kv->type == COH_GGUF_STRING) {
		wb_le(&b, kv->count, 8);
	}
	wb_put(&b, kv->data, kv->data_bytes);
	ret = b.oom ? wfail(w, -ENOMEM, "out of memory") :
	      put_kv(w, kv->key, kv->type, b.p, b.len, false);
	free(b.p);
	return ret;
}

static bool wtensor_exists(const struct coh_gguf_writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_tensors; i++)
		if (strcmp(w->tensors[i].name, name) == 0)
			return true;
	return false;
}

/* The reader's checks, so the writer never produces what it rejects. */
static int check_wtensor(struct coh_gguf_writer *w, struct coh_gguf_tensor *t)
{
	struct reader r = { .err = &w->err };
	int ret = check_shape(&r, w->n_tensors, t);

	if (ret == 0)
		ret = check_type(&r, w->n_tensors, t);
	return ret;
}

COH_API int coh_gguf_writer_add_tensor(struct coh_gguf_writer *w,
				       const char *name, uint32_t n_dims,
				       const uint64_t *ne, uint32_t type)
{
	struct coh_gguf_tensor t = { .n_dims = n_dims, .type = type };
	int ret = check_open(w, name);

	if (ret < 0)
		return ret;
	if (!name || strlen(name) >= COH_GGUF_NAME_MAX)
		return wfail(w, -EINVAL, "tensor %zu: no name, or one of 64 "
			     "bytes or more", w->n_tensors);
	strcpy(t.name, name);
	if (n_dims < 1 || n_dims > 4 || !ne)
		return wfail(w, -EINVAL, "tensor %s: n_dims %" PRIu32 " is not "
			     "1..4", name, n_dims);
	if (wtensor_exists(w, name))
		return wfail(w, -EEXIST, "tensor %s: duplicate name", name);
	if (w->n_tensors >= INT32_MAX)
		return wfail(w, -EINVAL, "tensor %s: too many tensors", name);
	for (unsigned int d = 0; d < 4; d++)
		t.ne[d] = d < n_dims ? ne[d] : 1;
	ret = check_wtensor(w, &t);
	if (ret < 0)
		return ret;
	/* ggml writes the dimensions up to the last one that is not 1. */
	while (t.n_dims > 1 && t.ne[t.n_dims - 1] == 1)
		t.n_dims--;
	if (grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors,
		 sizeof(t), SIZE_MAX / sizeof(t)) < 0)
		return wfail(w, -ENOMEM, "out of memory");
	w->tensors[w->n_tensors] = t;
	return (int)w->n_tensors++;
}

COH_API uint64_t coh_gguf_writer_tensor_nbytes(const struct coh_gguf_writer *w,
					       size_t index)
{
	return w && index < w->n_tensors ? w->tensors[index].nbytes : 0;
}

/* general.alignment if set (it must be a u32 power of two), else 32. */
static int writer_alignment(struct coh_gguf_writer *w, uint64_t *align)
{
	const struct wkv *kv = find_wkv(w, "general.alignment");
	uint32_t a;

	*align = COH_GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	if (kv->type != COH_GGUF_UINT32)
		return wfail(w, -EINVAL, "general.alignment must be a uint32, "
			     "not %s", value_names[kv->type]);
	a = (uint32_t)get_le(kv->val, 4);
	if (a == 0 || (a & (a - 1)))
		return wfail(w, -EINVAL, "general.alignment %" PRIu32 " is not "
			     "a power of two", a);
	*align = a;
	return 0;
}

static uint64_t align_up(uint64_t n, uint64_t a)
{
	return (n + a - 1) & ~(a - 1);
}

static int write_failed(struct coh_gguf_writer *w, int ret)
{
	errno = -ret;
	return wfatal(w, pep_err_errno(&w->err, "write %s", w->path));
}

static int write_all(struct coh_gguf_writer *w, const void *data, size_t n)
{
	int ret;

	if (!w->sink && (ret = coh__sink_open(&w->sink, w->fd)) < 0)
		return wfatal(w, wfail(w, ret, "out of memory"));
	ret = coh__sink_write(w->sink, data, n);
	return ret < 0 ? write_failed(w, ret) : 0;
}

static int write_zeros(struct coh_gguf_writer *w, uint64_t n)
{
	static const uint8_t zeros[4096];
	size_t chunk;
	int ret;

	for (; n; n -= chunk) {
		chunk = n < sizeof(zeros) ? n : sizeof(zeros);
		ret = write_all(w, zeros, chunk);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Lay out the offsets and encode magic, counts, kvs and infos into b. */
static int encode_header(struct coh_gguf_writer *w, struct wbuf *b,
			 uint64_t align)
{
	uint64_t off = 0;

	wb_put(b, GGUF_MAGIC, 4);
	wb_le(b, GGUF_VERSION, 4);
	wb_le(b, w->n_tensors, 8);
	wb_le(b, w->n_kv, 8);
	for (size_t i = 0; i < w->n_kv; i++) {
		wb_str(b, w->kvs[i].key, strlen(w->kvs[i].key));
		wb_le(b, w->kvs[i].type, 4);
		wb_put(b, w->kvs[i].val, w->kvs[i].val_len);
	}
	for (size_t i = 0; i < w->n_tensors; i++) {
		struct coh_gguf_tensor *t = &w->tensors[i];

		t->offset = off;
		if (__builtin_add_overflow(off, t->nbytes, &off) ||
		    __builtin_add_overflow(off, align - 1, &off))
			return wfail(w, -EINVAL, "tensor %s: data past 2^64",
				     t->name);
		off &= ~(align - 1);
		wb_str(b, t->name, strlen(t->name));
		wb_le(b, t->n_dims, 4);
		for (unsigned int d = 0; d < t->n_dims; d++)
			wb_le(b, t->ne[d], 8);
		wb_le(b, t->type, 4);
		wb_le(b, t->offset, 8);
	}
	return b->oom ? wfail(w, -ENOMEM, "out of memory") : 0;
}

static int write_header(struct coh_gguf_writer *w)
{
	struct wbuf b = { 0 };
	uint64_t align;
	int ret;

	ret = writer_alignment(w, &align);
	if (ret == 0)
		ret = encode_header(w, &b, align);
	if (ret == 0)
		ret = write_all(w, b.p, b.len);
	if (ret == 0)
		ret = write_zeros(w, align_up(b.len, align) - b.len);
	free(b.p);
	if (ret < 0)
		return wfatal(w, ret);
	w->header_done = true;
	return 0;
}

/* The zero padding that ends tensor t's slot. */
static int pad_tensor(struct coh_gguf_writer *w,
		      const struct coh_gguf_tensor *t)
{
	uint64_t align;

	writer_alignment(w, &align);	/* checked by write_header */
	return write_zeros(w, align_up(t->nbytes, align) - t->nbytes);
}

COH_API int coh_gguf_writer_write_tensor_data(struct coh_gguf_writer *w,
					      size_t index, const void *data,
					      size_t nbytes)
{
	const struct coh_gguf_tensor *t;
	int ret;

	if (!w)
		return -EINVAL;
	if (w->failed)
		return w->failed;
	if (!w->header_done && (ret = write_header(w)) < 0)
		return ret;
	if (index != w->cur || index >= w->n_tensors)
		return wfail(w, -EINVAL, "tensor %zu: data comes in info order; "
			     "next is tensor %zu of %zu", index, w->cur,
			     w->n_tensors);
	t = &w->tensors[index];
	if (nbytes > t->nbytes - w->cur_done || (nbytes && !data))
		return wfatal(w, wfail(w, -EINVAL, "tensor %zu (%s): %zu bytes "
				       "given, %" PRIu64 " left of %" PRIu64,
				       index, t->name, nbytes,
				       t->nbytes - w->cur_done, t->nbytes));
	ret = write_all(w, data, nbytes);
	if (ret < 0)
		return ret;
	w->cur_done += nbytes;
	if (w->cur_done < t->nbytes)
		return 0;
	w->cur++;
	w->cur_done = 0;
	return pad_tensor(w, t);
}

/* fsync the directory so the rename itself survives a power cut. */
static int sync_dir(const char *path, struct pep_err *err)
{
	char *dir = dir_of(path);
	int fd, ret = 0;

	if (!dir)
		return pep_err_set(err, -ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = pep_err_errno(err, "sync directory %s", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

/*
 * Give the unnamed file a temporary name beside path, for the rename.
 * linkat() cannot replace an existing file, hence the two steps. Through
 * /proc/self/fd without privileges; AT_EMPTY_PATH where /proc is absent
 * (that needs CAP_DAC_READ_SEARCH).
 */
static int link_tmp(struct coh_gguf_writer *w)
{
	char proc[32];
	uint64_t r = pep_time_ns() ^ (uint64_t)getpid() << 32;
	int ret;

	w->tmp = malloc(strlen(w->path) + sizeof(".0123456789abcdef.tmp"));
	if (!w->tmp)
		return wfatal(w, wfail(w, -ENOMEM, "out of memory"));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
	for (unsigned int tries = 0; tries < 64; tries++) {
		tmp_name(w, &r);
		ret = linkat(AT_FDCWD, proc, AT_FDCWD, w->tmp,
			     AT_SYMLINK_FOLLOW);
		if (ret < 0 && errno == ENOENT)
			ret = linkat(w->fd, "", AT_FDCWD, w->tmp,
				     AT_EMPTY_PATH);
		if (ret == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	ret = pep_err_errno(&w->err, "create %s", w->path);
	free(w->tmp);
	w->tmp = NULL;
	return wfatal(w, ret);
}

static int commit(struct coh_gguf_writer *w)
{
	const struct coh_gguf_tensor *t;
	int ret;

	if (!w->header_done && (ret = write_header(w)) < 0)
		return ret;
	if (w->cur < w->n_tensors) {
		t = &w->tensors[w->cur];
		return wfatal(w, wfail(w, -EINVAL, "tensor %zu (%s): %" PRIu64
				       " of %" PRIu64 " bytes written",
				       w->cur, t->name, w->cur_done,
				       t->nbytes));
	}
	if (w->sink && (ret = coh__sink_flush(w->sink)) < 0)
		return write_failed(w, ret);
	coh__sink_close(w->sink);
	w->sink = NULL;
	if (fsync(w->fd) < 0)
		return wfatal(w, pep_err_errno(&w->err, "fsync %s", w->path));
	if (!w->tmp && (ret = link_tmp(w)) < 0)
		return ret;
	ret = close(w->fd);
	w->fd = -1;
	if (ret < 0)
		return wfatal(w, pep_err_errno(&w->err, "close %s", w->path));
	/* errors name path: the temporary name is ours, not the user's */
	if (rename(w->tmp, w->path) < 0)
		return wfatal(w, pep_err_errno(&w->err, "replace %s",
					       w->path));
	free(w->tmp);
	w->tmp = NULL;
	return sync_dir(w->path, &w->err);
}

COH_API int coh_gguf_writer_finish(struct coh_gguf_writer *w,
				   struct pep_err *err)
{
	int ret;

	if (!w)
		return pep_err_set(err, -EINVAL, "gguf writer: none");
	ret = w->failed ? w->failed : commit(w);
	if (ret < 0)
		pep_err_set(err, ret, "%s", w->err.msg);
	coh_gguf_writer_abort(w);
	return ret;
}

COH_API void coh_gguf_writer_abort(struct coh_gguf_writer *w)
{
	if (!w)
		return;
	drop_tmp(w);
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kvs[i].key);
		free(w->kvs[i].val);
	}
	free(w->kvs);
	free(w->tensors);
	free(w->path);
	free(w);
}

COH_API const char *coh_gguf_writer_error(const struct coh_gguf_writer *w)
{
	return w ? w->err.msg : "";
}
