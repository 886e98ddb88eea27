/*
 * GGUF container: a round trip through the writer and the reader with
 * every value type and several tensor types, byte-for-byte copies, one
 * hand-built file per reader rule (each checks the errno and that the
 * message names the problem), every truncation of a valid file, the typed
 * getters, and the writer's promise never to leave a partial output or a
 * temporary file behind. Files live in a mkdtemp directory under /tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cohete/quant.h>

#include "harness.h"

static char tmpdir[64];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* Entries in tmpdir other than . and .. */
static int dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void clean_dir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path_in(path, sizeof(path), de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* A whole file into a malloc'd buffer of exactly its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;

	if (stat(path, &st) < 0 || !(f = fopen(path, "rb")))
		return NULL;
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	if (buf && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* ---- hand-built files ---------------------------------------------- */

struct bb {
	uint8_t p[4096];
	size_t len;
};

static void b_le(struct bb *b, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		b->p[b->len++] = (uint8_t)v;
}

static void b_str(struct bb *b, const char *s)
{
	b_le(b, strlen(s), 8);
	memcpy(b->p + b->len, s, strlen(s));
	b->len += strlen(s);
}

static void b_hdr(struct bb *b, uint32_t version, uint64_t n_tensors,
		  uint64_t n_kv)
{
	b->len = 0;
	memcpy(b->p, "GGUF", 4);
	b->len = 4;
	b_le(b, version, 4);
	b_le(b, n_tensors, 8);
	b_le(b, n_kv, 8);
}

static void b_kv_u32(struct bb *b, const char *key, uint32_t v)
{
	b_str(b, key);
	b_le(b, COH_GGUF_UINT32, 4);
	b_le(b, v, 4);
}

static void b_info(struct bb *b, const char *name, uint32_t n_dims,
		   const uint64_t *ne, uint32_t type, uint64_t offset)
{
	b_str(b, name);
	b_le(b, n_dims, 4);
	for (uint32_t d = 0; d < n_dims; d++)
		b_le(b, ne[d], 8);
	b_le(b, type, 4);
	b_le(b, offset, 8);
}

/* Zero padding to align, then n zero bytes of data. */
static void b_data(struct bb *b, size_t align, size_t n)
{
	size_t end = (b->len + align - 1) / align * align + n;

	memset(b->p + b->len, 0, end - b->len);
	b->len = end;
}

/* Parse a malloc'd copy of exactly b->len bytes (so ASan sees overreads). */
static int parse_bb(const struct bb *b, struct pep_err *err)
{
	uint8_t *copy = malloc(b->len ? b->len : 1);
	struct coh_gguf *g = NULL;
	int ret;

	memcpy(copy, b->p, b->len);
	ret = coh_gguf_parse(copy, b->len, &g, err);
	coh_gguf_close(g);
	free(copy);
	return ret;
}

static int expect_reject(const struct bb *b, int code, const char *what)
{
	struct pep_err err = { 0 };
	int ret = parse_bb(b, &err);

	if (ret != code || err.code != code || !strstr(err.msg, what)) {
		fprintf(stderr, "expected %d with '%s', got %d: %s\n", code,
			what, ret, err.msg);
		return T_FAIL;
	}
	return T_PASS;
}

static int test_header_rules(void)
{
	struct bb b;
	struct pep_err err;

	b_hdr(&b, 3, 0, 0);
	CHECK(parse_bb(&b, &err) == 0);
	b_hdr(&b, 2, 0, 0);
	CHECK(parse_bb(&b, &err) == 0);
	memcpy(b.p, "GGUG", 4);
	CHECK(expect_reject(&b, -EINVAL, "not a GGUF file (magic 'GGUG')") == 0);
	b_hdr(&b, 1, 0, 0);
	CHECK(expect_reject(&b, -EOPNOTSUPP, "version 1 ") == 0);
	b_hdr(&b, 4, 0, 0);
	CHECK(expect_reject(&b, -EOPNOTSUPP, "version 4 ") == 0);
	b_hdr(&b, 0x03000000, 0, 0);
	CHECK(expect_reject(&b, -EOPNOTSUPP, "big-endian GGUF is not "
			    "supported") == 0);
	b_hdr(&b, 3, 0, UINT64_C(1) << 62);
	CHECK(expect_reject(&b, -EINVAL, "n_kv 4611686018427387904 runs "
			    "past the end") == 0);
	b_hdr(&b, 3, UINT64_C(1) << 62, 0);
	CHECK(expect_reject(&b, -EINVAL, "n_tensors 4611686018427387904") == 0);
	b_hdr(&b, 3, 0, 0);
	b.len = 20;
	CHECK(expect_reject(&b, -EINVAL, "truncated") == 0);
	return T_PASS;
}

static int test_kv_rules(void)
{
	struct bb b;

	b_hdr(&b, 3, 0, 1);
	b_le(&b, UINT64_C(1) << 63, 8);		/* key length */
	b_le(&b, 0, 8);
	CHECK(expect_reject(&b, -EINVAL, "kv 0: key runs past the end") == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "a.b");
	b_le(&b, 13, 4);
	b_le(&b, 0, 4);
	CHECK(expect_reject(&b, -EINVAL, "kv 0 (a.b): unknown value type 13")
	      == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "flag");
	b_le(&b, COH_GGUF_BOOL, 4);
	b_le(&b, 2, 1);
	CHECK(expect_reject(&b, -EINVAL, "kv 0 (flag): bool value 2") == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "s");
	b_le(&b, COH_GGUF_STRING, 4);
	b_le(&b, 100, 8);
	b_le(&b, 0, 8);
	CHECK(expect_reject(&b, -EINVAL, "kv 0 (s): string runs past") == 0);
	b_hdr(&b, 3, 0, 2);
	b_kv_u32(&b, "dup", 1);
	b_kv_u32(&b, "dup", 2);
	CHECK(expect_reject(&b, -EINVAL, "kv 1 (dup): duplicate key (first at "
			    "kv 0)") == 0);
	return T_PASS;
}

static int test_array_rules(void)
{
	struct bb b;

	b_hdr(&b, 3, 0, 1);
	b_str(&b, "tokenizer.ggml.tokens");
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, COH_GGUF_STRING, 4);
	b_le(&b, 150000, 8);
	b_str(&b, "a");
	CHECK(expect_reject(&b, -EINVAL, "kv 0 (tokenizer.ggml.tokens): array "
			    "of 150000 strings runs past the end of the file "
			    "(offset 69)") == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "t");
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, COH_GGUF_STRING, 4);
	b_le(&b, 2, 8);
	b_str(&b, "a");
	b_le(&b, 1000, 8);
	b_le(&b, 0, 8);
	CHECK(expect_reject(&b, -EINVAL, "string 1 of the array runs past")
	      == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "n");
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, COH_GGUF_UINT32, 4);
	b_le(&b, UINT64_C(1) << 62, 8);
	CHECK(expect_reject(&b, -EINVAL, "array of 4611686018427387904 uint32 "
			    "runs past the end of the file (offset 49)") == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "n");
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, 0, 8);
	CHECK(expect_reject(&b, -EINVAL, "arrays of arrays") == 0);
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "n");
	b_le(&b, COH_GGUF_ARRAY, 4);
	b_le(&b, 77, 4);
	b_le(&b, 0, 8);
	CHECK(expect_reject(&b, -EINVAL, "unknown array element type 77") == 0);
	return T_PASS;
}

static int test_alignment_rules(void)
{
	struct bb b;
	uint32_t bad[] = { 0, 48, 3 };

	for (unsigned int i = 0; i < 3; i++) {
		b_hdr(&b, 3, 0, 1);
		b_kv_u32(&b, "general.alignment", bad[i]);
		CHECK(expect_reject(&b, -EINVAL, "is not a power of two") == 0);
	}
	b_hdr(&b, 3, 0, 1);
	b_str(&b, "general.alignment");
	b_le(&b, COH_GGUF_UINT64, 4);
	b_le(&b, 64, 8);
	CHECK(expect_reject(&b, -EINVAL, "alignment must be a uint32, not "
			    "uint64") == 0);
	return T_PASS;
}

/* One F32 [8] tensor "a" then a second tensor described by the caller. */
static void two_tensors(struct bb *b, const char *name2, uint32_t n_dims,
			const uint64_t *ne, uint32_t type, uint64_t offset,
			size_t data_bytes)
{
	uint64_t ne8 = 8;

	b_hdr(b, 3, 2, 0);
	b_info(b, "a", 1, &ne8, COH_GGML_F32, 0);
	b_info(b, name2, n_dims, ne, type, offset);
	b_data(b, 32, data_bytes);
}

static int test_tensor_rules(void)
{
	uint64_t ne[5] = { 8, 1, 1, 1, 1 }, q[1] = { 33 };
	uint64_t big[2] = { UINT64_C(1) << 32, UINT64_C(1) << 32 };
	struct pep_err err;
	struct bb b;

	two_tensors(&b, "b", 1, ne, COH_GGML_F32, 32, 64);
	CHECK(parse_bb(&b, &err) == 0);
	two_tensors(&b, "blk.0.attn_q.weight", 1, ne, COH_GGML_F32, 16, 64);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1 (blk.0.attn_q.weight): "
			    "offset 16, expected 32") == 0);
	two_tensors(&b, "b", 1, ne, COH_GGML_F32, 0, 64);	/* overlaps a */
	CHECK(expect_reject(&b, -EINVAL, "offset 0, expected 32") == 0);
	two_tensors(&b, "b", 1, ne, 99, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1 (b): unknown type 99") == 0);
	two_tensors(&b, "b", 1, ne, 4, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1 (b): retired type 4") == 0);
	two_tensors(&b, "b", 5, ne, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "n_dims 5 is not 1..4") == 0);
	two_tensors(&b, "b", 0, ne, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "n_dims 0 is not 1..4") == 0);
	two_tensors(&b, "b", 1, q, COH_GGML_Q4_0, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "ne[0] = 33 is not a multiple of the "
			    "block size 32 of Q4_0") == 0);
	two_tensors(&b, "a", 1, ne, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1 (a): duplicate tensor name")
	      == 0);
	two_tensors(&b, "b", 2, big, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "element count overflows") == 0);
	ne[1] = 0;
	two_tensors(&b, "b", 2, ne, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "ne[1] = 0 is out of range") == 0);
	ne[1] = 1;
	two_tensors(&b, "b", 1, ne, COH_GGML_F32, 32, 63);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1 (b): data of 32 bytes at "
			    "offset 32 runs past the end of the file") == 0);
	two_tensors(&b, "0123456789012345678901234567890123456789012345678901"
		    "234567890123", 1, ne, COH_GGML_F32, 32, 64);
	CHECK(expect_reject(&b, -EINVAL, "tensor 1: name of 64 bytes is too "
			    "long") == 0);
	return T_PASS;
}

/* ---- writer and round trip ----------------------------------------- */

struct tspec {
	const char *name;
	uint32_t n_dims;
	uint64_t ne[4];
	uint32_t type;
	uint32_t n_dims_stored;
	uint64_t nbytes;
};

static const struct tspec tensors[] = {
	{ "token_embd.weight", 2, { 7, 3 }, COH_GGML_F32, 2, 84 },
	{ "output_norm.weight", 1, { 5 }, COH_GGML_F16, 1, 10 },
	{ "blk.0.attn_q.weight", 2, { 64, 2 }, COH_GGML_Q4_0, 2, 72 },
	{ "blk.0.ffn_up.weight", 3, { 32, 1, 1 }, COH_GGML_Q8_0, 1, 34 },
	{ "blk.0.ffn_down.weight", 4, { 256, 1, 2, 1 }, COH_GGML_Q4_K, 3, 288 },
};
#define N_TENSORS (sizeof(tensors) / sizeof(tensors[0]))

static const char *const tokens[] = { "<s>", "</s>", "", "hello world" };
static const int32_t token_types[] = { 3, 3, -1, 1 };
static const float scores[] = { 0.0f, -1.5f, 2.25f, 1e30f };

/* Deterministic data: tensor t's byte i. */
static uint8_t tbyte(size_t t, uint64_t i)
{
	return (uint8_t)(t * 37 + i * 11 + 1);
}

static int add_kvs(struct coh_gguf_writer *w)
{
	static const uint8_t u8s[] = { 0, 255 };
	static const int8_t i8s[] = { -128, 127 };
	static const uint16_t u16s[] = { 65535 };
	static const int16_t i16s[] = { -32768 };
	static const uint32_t u32s[] = { 1, 0xffffffff };
	static const uint64_t u64s[] = { UINT64_MAX };
	static const int64_t i64s[] = { INT64_MIN, -1 };
	static const double f64s[] = { 3.5 };
	static const bool bools[] = { true, false, true };

	CHECK(coh_gguf_writer_add_str(w, "general.architecture", "llama") == 0);
	CHECK(coh_gguf_writer_add_u32(w, "general.file_type", 1) == 0);
	CHECK(coh_gguf_writer_add_u8(w, "t.u8", 200) == 0);
	CHECK(coh_gguf_writer_add_i8(w, "t.i8", -5) == 0);
	CHECK(coh_gguf_writer_add_u16(w, "t.u16", 60000) == 0);
	CHECK(coh_gguf_writer_add_i16(w, "t.i16", -30000) == 0);
	CHECK(coh_gguf_writer_add_u32(w, "llama.block_count", 2) == 0);
	CHECK(coh_gguf_writer_add_i32(w, "t.i32", -7) == 0);
	CHECK(coh_gguf_writer_add_f32(w, "t.f32", 1e-5f) == 0);
	CHECK(coh_gguf_writer_add_bool(w, "t.bool", true) == 0);
	CHECK(coh_gguf_writer_add_u64(w, "llama.context_length", 4096) == 0);
	CHECK(coh_gguf_writer_add_i64(w, "t.i64", INT64_MIN) == 0);
	CHECK(coh_gguf_writer_add_f64(w, "t.f64", -2.5) == 0);
	CHECK(coh_gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tokens,
					    4) == 0);
	CHECK(coh_gguf_writer_add_array(w, "tokenizer.ggml.token_type",
					COH_GGUF_INT32, token_types, 4) == 0);
	CHECK(coh_gguf_writer_add_array(w, "tokenizer.ggml.scores",
					COH_GGUF_FLOAT32, scores, 4) == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.u8", COH_GGUF_UINT8, u8s, 2) == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.i8", COH_GGUF_INT8, i8s, 2) == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.u16", COH_GGUF_UINT16, u16s, 1)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.i16", COH_GGUF_INT16, i16s, 1)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.u32", COH_GGUF_UINT32, u32s, 2)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.u64", COH_GGUF_UINT64, u64s, 1)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.i64", COH_GGUF_INT64, i64s, 2)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.f64", COH_GGUF_FLOAT64, f64s, 1)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.bool", COH_GGUF_BOOL, bools, 3)
	      == 0);
	CHECK(coh_gguf_writer_add_array(w, "a.empty", COH_GGUF_UINT32, NULL, 0)
	      == 0);
	/* As ggml (llama-quantize): a set key moves to the end. */
	CHECK(coh_gguf_writer_set_u32(w, "general.file_type", 15) == 0);
	CHECK(coh_gguf_writer_set_u32(w, "general.quantization_version", 2)
	      == 0);
	CHECK(coh_gguf_writer_add_u32(w, "t.u8", 1) == -EEXIST);
	CHECK(strstr(coh_gguf_writer_error(w), "duplicate key"));
	return T_PASS;
}
#define N_KVS 27

static int write_tensors(struct coh_gguf_writer *w)
{
	uint8_t buf[512];
	uint64_t n, half;

	for (size_t t = 0; t < N_TENSORS; t++) {
		n = tensors[t].nbytes;
		CHECK(coh_gguf_writer_tensor_nbytes(w, t) == n);
		for (uint64_t i = 0; i < n; i++)
			buf[i] = tbyte(t, i);
		half = n / 3;		/* streamed in two pieces */
		CHECK(coh_gguf_writer_write_tensor_data(w, t, buf, half) == 0);
		CHECK(coh_gguf_writer_write_tensor_data(w, t, buf + half,
							n - half) == 0);
	}
	return T_PASS;
}

static int write_sample(const char *path, uint32_t align)
{
	struct coh_gguf_writer *w;
	struct pep_err err;

	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	if (add_kvs(w) != T_PASS)
		return T_FAIL;
	if (align)
		CHECK(coh_gguf_writer_set_u32(w, "general.alignment", align) == 0);
	for (size_t t = 0; t < N_TENSORS; t++)
		CHECK(coh_gguf_writer_add_tensor(w, tensors[t].name,
						 tensors[t].n_dims,
						 tensors[t].ne,
						 tensors[t].type) == (int)t);
	if (write_tensors(w) != T_PASS)
		return T_FAIL;
	CHECK(coh_gguf_writer_finish(w, &err) == 0);
	return T_PASS;
}

static int check_scalars(const struct coh_gguf *g)
{
	uint64_t u;
	int64_t i;
	double f;
	bool b;
	const char *s;
	size_t len;

	CHECK(coh_gguf_get_str(g, "general.architecture", &s, &len) == 0);
	CHECK(len == 5 && memcmp(s, "llama", 5) == 0);
	CHECK(coh_gguf_get_uint(g, "general.file_type", &u) == 0 && u == 15);
	CHECK(coh_gguf_get_uint(g, "t.u8", &u) == 0 && u == 200);
	CHECK(coh_gguf_get_int(g, "t.i8", &i) == 0 && i == -5);
	CHECK(coh_gguf_get_uint(g, "t.i8", &u) == -ERANGE);
	CHECK(coh_gguf_get_uint(g, "t.u16", &u) == 0 && u == 60000);
	CHECK(coh_gguf_get_int(g, "t.i16", &i) == 0 && i == -30000);
	CHECK(coh_gguf_get_uint(g, "llama.block_count", &u) == 0 && u == 2);
	CHECK(coh_gguf_get_int(g, "t.i32", &i) == 0 && i == -7);
	CHECK(coh_gguf_get_float(g, "t.f32", &f) == 0 && (float)f == 1e-5f);
	CHECK(coh_gguf_get_bool(g, "t.bool", &b) == 0 && b);
	CHECK(coh_gguf_get_uint(g, "llama.context_length", &u) == 0 &&
	      u == 4096);
	CHECK(coh_gguf_get_int(g, "t.i64", &i) == 0 && i == INT64_MIN);
	CHECK(coh_gguf_get_float(g, "t.f64", &f) == 0 && f == -2.5);
	CHECK(coh_gguf_get_uint(g, "general.quantization_version", &u) == 0 &&
	      u == 2);
	CHECK(coh_gguf_get_uint(g, "no.such.key", &u) == -ENOENT);
	CHECK(coh_gguf_get_uint(g, "general.architecture", &u) == -EINVAL);
	CHECK(coh_gguf_get_float(g, "t.u8", &f) == -EINVAL);
	CHECK(coh_gguf_get_bool(g, "t.u8", &b) == -EINVAL);
	CHECK(coh_gguf_get_str(g, "t.u8", &s, &len) == -EINVAL);
	return T_PASS;
}

static int check_arrays(const struct coh_gguf *g)
{
	const struct coh_gguf_kv *kv;
	struct coh_gguf_str_iter it;
	const char *s;
	size_t len, n = 0;
	int64_t v;
	double f;

	kv = coh_gguf_find(g, "tokenizer.ggml.tokens");
	CHECK(kv && kv->type == COH_GGUF_ARRAY && kv->count == 4);
	CHECK(coh_gguf_str_iter_init(&it, kv) == 0);
	while (coh_gguf_str_next(&it, &s, &len)) {
		CHECK(n < 4 && len == strlen(tokens[n]));
		CHECK(memcmp(s, tokens[n], len) == 0);
		n++;
	}
	CHECK(n == 4);
	kv = coh_gguf_find(g, "tokenizer.ggml.token_type");
	CHECK(coh_gguf_str_iter_init(&it, kv) == -EINVAL);
	for (n = 0; n < 4; n++)
		CHECK(coh_gguf_array_int(kv, n, &v) == 0 &&
		      v == token_types[n]);
	CHECK(coh_gguf_array_int(kv, 4, &v) == -ERANGE);
	kv = coh_gguf_find(g, "tokenizer.ggml.scores");
	for (n = 0; n < 4; n++)
		CHECK(coh_gguf_array_float(kv, n, &f) == 0 &&
		      (float)f == scores[n]);
	CHECK(coh_gguf_array_int(kv, 0, &v) == -EINVAL);
	kv = coh_gguf_find(g, "a.u64");
	CHECK(coh_gguf_array_int(kv, 0, &v) == -ERANGE);
	kv = coh_gguf_find(g, "a.i64");
	CHECK(coh_gguf_array_int(kv, 0, &v) == 0 && v == INT64_MIN);
	kv = coh_gguf_find(g, "a.bool");
	CHECK(kv->count == 3 && coh_gguf_array_int(kv, 1, &v) == 0 && v == 0);
	kv = coh_gguf_find(g, "a.i8");
	CHECK(coh_gguf_array_int(kv, 0, &v) == 0 && v == -128);
	kv = coh_gguf_find(g, "a.u16");
	CHECK(coh_gguf_array_int(kv, 0, &v) == 0 && v == 65535);
	kv = coh_gguf_find(g, "a.empty");
	CHECK(kv && kv->count == 0 && kv->elem_type == COH_GGUF_UINT32);
	return T_PASS;
}

/* 27 kvs from add_kvs(), then general.alignment when set. */
static int check_order(const struct coh_gguf *g, uint32_t align)
{
	const struct coh_gguf_kv *kv;

	CHECK(coh_gguf_kv_count(g) == N_KVS + (align != 0));
	kv = coh_gguf_kv_at(g, 0);
	CHECK(strcmp(kv->key, "general.architecture") == 0);
	CHECK(strcmp(coh_gguf_kv_at(g, 1)->key, "t.u8") == 0);
	CHECK(coh_gguf_find_index(g, "general.file_type") == N_KVS - 2);
	CHECK(coh_gguf_find_index(g, "general.quantization_version") ==
	      N_KVS - 1);
	if (align)
		CHECK(coh_gguf_find_index(g, "general.alignment") == N_KVS);
	CHECK(coh_gguf_kv_at(g, N_KVS + 1) == NULL);
	return T_PASS;
}

/* Tensors, offsets and the data bytes, against the format's arithmetic. */
static int check_tensors(const struct coh_gguf *g, const uint8_t *file,
			 size_t size, uint32_t align)
{
	const struct coh_gguf_tensor *t;
	uint64_t off = 0, base = coh_gguf_data_offset(g);
	const uint8_t *p;

	CHECK(coh_gguf_alignment(g) == align && base % align == 0);
	CHECK(coh_gguf_tensor_count(g) == N_TENSORS);
	for (size_t i = 0; i < N_TENSORS; i++) {
		t = coh_gguf_tensor_at(g, i);
		CHECK(t == coh_gguf_tensor_find(g, tensors[i].name));
		CHECK(strcmp(t->name, tensors[i].name) == 0);
		CHECK(t->n_dims == tensors[i].n_dims_stored);
		for (unsigned int d = 0; d < 4; d++)
			CHECK(t->ne[d] == (d < tensors[i].n_dims ?
					   tensors[i].ne[d] : 1));
		CHECK(t->type == tensors[i].type);
		CHECK(t->nbytes == tensors[i].nbytes && t->offset == off);
		p = t->data;
		CHECK(p == file + base + off);
		for (uint64_t k = 0; k < t->nbytes; k++)
			CHECK(p[k] == tbyte(i, k));
		for (off += t->nbytes; off % align; off++)
			CHECK(file[base + off] == 0);	/* padding */
	}
	CHECK(size == base + off);
	CHECK(coh_gguf_tensor_find(g, "nope") == NULL);
	return T_PASS;
}

static int roundtrip(uint32_t align)
{
	struct coh_gguf *g, *g2;
	struct pep_err err;
	char path[256];
	uint8_t *file;
	size_t size;

	path_in(path, sizeof(path), "rt.gguf");
	if (write_sample(path, align) != T_PASS)
		return T_FAIL;
	CHECK(dir_entries() == 1);		/* no temporary left */
	file = slurp(path, &size);
	CHECK(file);
	CHECK(coh_gguf_open(path, &g, &err) == 0);
	CHECK(coh_gguf_parse(file, size, &g2, &err) == 0);
	CHECK(coh_gguf_version(g) == 3);
	if (check_scalars(g) || check_arrays(g) || check_order(g, align) ||
	    check_tensors(g2, file, size, align ? align : 32))
		return T_FAIL;
	coh_gguf_close(g);
	coh_gguf_close(g2);
	free(file);
	CHECK(unlink(path) == 0);
	return T_PASS;
}

static int test_roundtrip(void)
{
	static const uint32_t aligns[] = { 0, 64, 1, 4096 };

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++)
		if (roundtrip(aligns[i]) != T_PASS) {
			fprintf(stderr, "alignment %u\n", aligns[i]);
			return T_FAIL;
		}
	return T_PASS;
}

/* copy_kv and the tensors of a parsed file reproduce it byte for byte. */
static int test_copy(void)
{
	struct coh_gguf_writer *w;
	const struct coh_gguf_tensor *t;
	char src[256], dst[256];
	uint8_t *a, *b;
	size_t alen = 0, blen = 0;
	struct coh_gguf *g;
	struct pep_err err;

	path_in(src, sizeof(src), "src.gguf");
	path_in(dst, sizeof(dst), "dst.gguf");
	if (write_sample(src, 64) != T_PASS)
		return T_FAIL;
	CHECK(coh_gguf_open(src, &g, &err) == 0);
	CHECK(coh_gguf_writer_create(&w, dst, &err) == 0);
	for (size_t i = 0; i < coh_gguf_kv_count(g); i++)
		CHECK(coh_gguf_writer_copy_kv(w, g, i) == 0);
	CHECK(coh_gguf_writer_copy_kv(w, g, 0) == -EEXIST);
	CHECK(coh_gguf_writer_copy_kv(w, g, 999) == -ERANGE);
	for (size_t i = 0; i < coh_gguf_tensor_count(g); i++) {
		t = coh_gguf_tensor_at(g, i);
		CHECK(coh_gguf_writer_add_tensor(w, t->name, t->n_dims, t->ne,
						 t->type) == (int)i);
	}
	for (size_t i = 0; i < coh_gguf_tensor_count(g); i++) {
		t = coh_gguf_tensor_at(g, i);
		CHECK(coh_gguf_writer_write_tensor_data(w, i, t->data,
							t->nbytes) == 0);
	}
	CHECK(coh_gguf_writer_finish(w, &err) == 0);
	coh_gguf_close(g);
	a = slurp(src, &alen);
	b = slurp(dst, &blen);
	CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	clean_dir();
	return T_PASS;
}

/* Every prefix of a valid file fails cleanly until the last tensor fits. */
static int test_truncation(void)
{
	const struct coh_gguf_tensor *last;
	struct coh_gguf *g;
	struct pep_err err;
	char path[256];
	uint8_t *file, *copy;
	size_t size, need;

	path_in(path, sizeof(path), "trunc.gguf");
	if (write_sample(path, 0) != T_PASS)
		return T_FAIL;
	file = slurp(path, &size);
	CHECK(file && coh_gguf_parse(file, size, &g, &err) == 0);
	last = coh_gguf_tensor_at(g, N_TENSORS - 1);
	need = coh_gguf_data_offset(g) + last->offset + last->nbytes;
	coh_gguf_close(g);
	for (size_t len = 0; len <= size; len++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, file, len);
		g = (struct coh_gguf *)1;
		err.code = 0;
		if (len < need) {
			CHECK(coh_gguf_parse(copy, len, &g, &err) == -EINVAL);
			CHECK(g == NULL && err.code == -EINVAL && err.msg[0]);
		} else {
			CHECK(coh_gguf_parse(copy, len, &g, &err) == 0);
			coh_gguf_close(g);
		}
		free(copy);
	}
	free(file);
	clean_dir();
	return T_PASS;
}

static int test_open_errors(void)
{
	struct coh_gguf *g;
	struct pep_err err;
	char path[256];
	FILE *f;

	path_in(path, sizeof(path), "missing.gguf");
	CHECK(coh_gguf_open(path, &g, &err) == -ENOENT);
	CHECK(g == NULL && strstr(err.msg, "missing.gguf"));
	path_in(path, sizeof(path), "empty.gguf");
	f = fopen(path, "wb");
	CHECK(f);
	fclose(f);
	CHECK(coh_gguf_open(path, &g, &err) == -EINVAL);
	CHECK(strstr(err.msg, "not a GGUF file"));
	CHECK(coh_gguf_parse(NULL, 0, &g, &err) == -EINVAL);
	clean_dir();
	return T_PASS;
}

static int test_types(void)
{
	unsigned int block, bytes;

	CHECK(coh_ggml_type_size(COH_GGML_Q4_K, &block, &bytes) == 0);
	CHECK(block == 256 && bytes == 144);
	CHECK(coh_ggml_type_size(39, &block, &bytes) == 0 && bytes == 17);
	CHECK(coh_ggml_type_size(23, &block, &bytes) == 0 && bytes == 136);
	CHECK(coh_ggml_type_size(COH_GGML_BF16, &block, &bytes) == 0 &&
	      block == 1 && bytes == 2);
	CHECK(strcmp(coh_ggml_type_name(COH_GGML_Q4_K), "Q4_K") == 0);
	CHECK(strcmp(coh_ggml_type_name(35), "TQ2_0") == 0);
	static const uint32_t bad[] = { 4, 5, 31, 32, 33, 36, 37, 38, 40, 99,
					UINT32_MAX };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(coh_ggml_type_size(bad[i], NULL, NULL) == -EINVAL);
		CHECK(coh_ggml_type_name(bad[i]) == NULL);
	}
	CHECK(strcmp(coh_gguf_type_name(COH_GGUF_FLOAT64), "float64") == 0);
	return T_PASS;
}

/* ---- writer rules and atomicity ------------------------------------ */

static int test_writer_rules(void)
{
	uint64_t ne[4] = { 32, 1, 1, 1 }, q[1] = { 33 };
	struct coh_gguf_writer *w;
	struct pep_err err;
	char path[256];
	uint8_t data[128] = { 0 };

	path_in(path, sizeof(path), "rules.gguf");
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) ==
	      -EEXIST);
	CHECK(coh_gguf_writer_add_tensor(w, "y", 5, ne, COH_GGML_F32) ==
	      -EINVAL);
	CHECK(coh_gguf_writer_add_tensor(w, "y", 1, ne, 4) == -EINVAL);
	CHECK(strstr(coh_gguf_writer_error(w), "retired type 4"));
	CHECK(coh_gguf_writer_add_tensor(w, "y", 1, q, COH_GGML_Q8_0) ==
	      -EINVAL);
	CHECK(strstr(coh_gguf_writer_error(w), "block size 32"));
	CHECK(coh_gguf_writer_add_array(w, "s", COH_GGUF_STRING, data, 1) ==
	      -EINVAL);
	CHECK(coh_gguf_writer_write_tensor_data(w, 1, data, 128) == -EINVAL);
	CHECK(strstr(coh_gguf_writer_error(w), "info order"));
	/* The header is out: kvs and infos are frozen. */
	CHECK(coh_gguf_writer_add_u32(w, "late", 1) == -EINVAL);
	CHECK(coh_gguf_writer_add_tensor(w, "late", 1, ne, COH_GGML_F32) ==
	      -EINVAL);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, data, 100) == 0);
	/* Missing data: finish fails and leaves nothing. */
	CHECK(coh_gguf_writer_finish(w, &err) == -EINVAL);
	CHECK(strstr(err.msg, "tensor 0 (x): 100 of 128 bytes written"));
	CHECK(dir_entries() == 0);
	/* A bad general.alignment is refused when the header is written. */
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_u32(w, "general.alignment", 48) == 0);
	CHECK(coh_gguf_writer_finish(w, &err) == -EINVAL);
	CHECK(strstr(err.msg, "48 is not a power of two"));
	CHECK(dir_entries() == 0);
	return T_PASS;
}

static int test_abort(void)
{
	uint64_t ne[1] = { 1024 };
	struct coh_gguf_writer *w;
	struct pep_err err;
	char path[256];
	static uint8_t data[4096];

	path_in(path, sizeof(path), "abort.gguf");
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(dir_entries() <= 1);		/* a named temporary, or none */
	CHECK(coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, data, 1000) == 0);
	coh_gguf_writer_abort(w);
	coh_gguf_writer_abort(NULL);
	CHECK(dir_entries() == 0);
	/* Too much data: an error mid-write removes the temporary at once. */
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, data, 4000) == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, data, 97) == -EINVAL);
	CHECK(strstr(coh_gguf_writer_error(w), "97 bytes given, 96 left"));
	CHECK(dir_entries() == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, data, 96) == -EINVAL);
	CHECK(coh_gguf_writer_finish(w, &err) == -EINVAL);
	CHECK(dir_entries() == 0);
	path_in(path, sizeof(path), "no/such/dir.gguf");
	CHECK(coh_gguf_writer_create(&w, path, &err) == -ENOENT);
	CHECK(strstr(err.msg, "no/such/dir.gguf"));
	return T_PASS;
}

/* A real I/O error (the file-size limit) behaves like any other. */
static int test_io_error(void)
{
	struct rlimit old, lim;
	uint64_t ne[1] = { 4096 };
	struct coh_gguf_writer *w;
	struct pep_err err;
	char path[256];
	static uint8_t data[16384];
	int ret;

	path_in(path, sizeof(path), "big.gguf");
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) == 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 8192;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	/* Output is buffered: the error comes from the write or the finish. */
	ret = coh_gguf_writer_write_tensor_data(w, 0, data, sizeof(data));
	CHECK(ret == 0 || ret == -EFBIG);
	ret = coh_gguf_writer_finish(w, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(ret == -EFBIG);
	CHECK(strstr(err.msg, "write "));
	CHECK(dir_entries() == 0);
	return T_PASS;
}

/*
 * Past the writer's buffers (several hand-overs to its flusher, a last
 * partial buffer padded for direct I/O and truncated back): every byte
 * where it belongs, and the file exactly as long as the layout says.
 */
static int test_large_write(void)
{
	uint64_t ne[2] = { 1000003, 5 };	/* 20 MB of f32, odd length */
	size_t n = ne[0] * ne[1], chunk = 777777;
	struct coh_gguf_writer *w;
	struct coh_gguf *g;
	struct pep_err err;
	char path[256];
	float *data = malloc(n * sizeof(*data));
	const float *back;
	int ok = 1;

	CHECK(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (float)i * 0.5f - 3.0f;
	path_in(path, sizeof(path), "large.gguf");
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_str(w, "general.name", "large") == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "big", 2, ne, COH_GGML_F32) == 0);
	CHECK(coh_gguf_writer_add_tensor(w, "tail", 1, ne, COH_GGML_F32) == 1);
	for (size_t at = 0; at < n; at += chunk)
		CHECK(coh_gguf_writer_write_tensor_data(w, 0, data + at,
			(n - at < chunk ? n - at : chunk) * sizeof(float)) == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 1, data, ne[0] * 4) == 0);
	CHECK(coh_gguf_writer_finish(w, &err) == 0);
	CHECK(coh_gguf_open(path, &g, &err) == 0);
	back = coh_gguf_tensor_at(g, 0)->data;
	ok = !memcmp(back, data, n * sizeof(float)) &&
	     !memcmp(coh_gguf_tensor_at(g, 1)->data, data, ne[0] * 4);
	coh_gguf_close(g);
	free(data);
	CHECK(ok);
	unlink(path);
	return T_PASS;
}

/* O_TMPFILE works here: then a killed writer leaves nothing at all. */
static bool have_tmpfile(void)
{
	int fd = open(tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int test_killed(void)
{
	uint64_t ne[1] = { 1024 };
	struct coh_gguf_writer *w;
	static uint8_t data[4096];
	char path[256];
	int status;
	pid_t pid;

	if (!have_tmpfile()) {
		printf("SKIP: no O_TMPFILE in %s\n", tmpdir);
		return T_SKIP;
	}
	path_in(path, sizeof(path), "killed.gguf");
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (coh_gguf_writer_create(&w, path, NULL) == 0 &&
		    coh_gguf_writer_add_tensor(w, "x", 1, ne, COH_GGML_F32) == 0 &&
		    coh_gguf_writer_write_tensor_data(w, 0, data, 1000) == 0)
			raise(SIGKILL);
		_exit(1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(dir_entries() == 0);
	return T_PASS;
}

/* An existing output keeps its content until finish replaces it whole. */
static int test_replace(void)
{
	struct coh_gguf_writer *w;
	struct coh_gguf *g;
	struct pep_err err;
	char path[256];
	size_t len;
	uint8_t *old;
	FILE *f;

	path_in(path, sizeof(path), "model.gguf");
	f = fopen(path, "wb");
	CHECK(f && fputs("old content", f) >= 0);
	fclose(f);
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_str(w, "general.architecture", "qwen2") == 0);
	CHECK(coh_gguf_writer_write_tensor_data(w, 0, NULL, 0) == -EINVAL);
	CHECK(dir_entries() <= 2);
	old = slurp(path, &len);
	CHECK(old && len == 11 && memcmp(old, "old content", 11) == 0);
	free(old);
	coh_gguf_writer_abort(w);
	old = slurp(path, &len);
	CHECK(old && len == 11 && dir_entries() == 1);
	free(old);
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_str(w, "general.architecture", "qwen2") == 0);
	CHECK(coh_gguf_writer_finish(w, &err) == 0);
	CHECK(dir_entries() == 1);
	CHECK(coh_gguf_open(path, &g, &err) == 0);
	CHECK(coh_gguf_kv_count(g) == 1 && coh_gguf_tensor_count(g) == 0);
	coh_gguf_close(g);
	clean_dir();
	return T_PASS;
}

/* ---- keys, escaping, memory, modes, names -------------------------- */

/* A key with a NUL inside is refused, naming the kv's index. */
static int test_key_nul(void)
{
	static const char key[] = "general.name\0.evil";
	struct bb b;

	b_hdr(&b, 3, 0, 2);
	b_kv_u32(&b, "a", 1);
	b_le(&b, sizeof(key) - 1, 8);
	memcpy(b.p + b.len, key, sizeof(key) - 1);
	b.len += sizeof(key) - 1;
	b_le(&b, COH_GGUF_UINT32, 4);
	b_le(&b, 7, 4);
	CHECK(expect_reject(&b, -EINVAL, "kv 1: key \"general.name\" is "
			    "followed by a NUL byte") == 0);
	/* the key before the NUL alone is fine, and not a duplicate */
	b_hdr(&b, 3, 0, 2);
	b_kv_u32(&b, "general.name", 1);
	b_kv_u32(&b, "general.name.evil", 1);
	CHECK(expect_reject(&b, 0, "") == 0);
	/* tensor names likewise */
	uint64_t ne = 8;
	b_hdr(&b, 3, 1, 0);
	b_str(&b, "ab");
	b.p[b.len - 1] = '\0';
	b_le(&b, 1, 4);
	b_le(&b, ne, 8);
	b_le(&b, COH_GGML_F32, 4);
	b_le(&b, 0, 8);
	b_data(&b, 32, 32);
	CHECK(expect_reject(&b, -EINVAL, "tensor 0 (a): name holds a NUL") == 0);
	return T_PASS;
}

/* Controls and broken UTF-8 come out as \xNN; text stays as it is. */
static int test_escape(void)
{
	static const char evil[] = "a\x1b[2J\x07\\b\n\xc3\xa9\xe2\x82\xac"
				   "\xc2\x9b\xff\x7f";
	char buf[128], small[5];
	size_t n;

	n = coh_gguf_escape(buf, sizeof(buf), evil, sizeof(evil) - 1);
	CHECK(strcmp(buf, "a\\x1b[2J\\x07\\\\b\\x0a\xc3\xa9\xe2\x82\xac"
		      "\\xc2\\x9b\\xff\\x7f") == 0);
	CHECK(n == strlen(buf));
	/* truncated: whole pieces only, NUL-terminated, full length back */
	CHECK(coh_gguf_escape(small, sizeof(small), "ab\x1b" "cd", 5) == 8);
	CHECK(strcmp(small, "ab") == 0);
	CHECK(coh_gguf_escape(NULL, 0, "\x01", 1) == 4);
	/* the reader's errors escape names from the file */
	struct bb b;

	b_hdr(&b, 3, 0, 1);
	b_str(&b, "k\x1b]0;x\x07");
	b_le(&b, 13, 4);
	CHECK(expect_reject(&b, -EINVAL, "kv 0 (k\\x1b]0;x\\x07): unknown "
			    "value type 13") == 0);
	return T_PASS;
}

/* Peak RSS (KiB) of opening path in a child, above the child's start. */
static long open_rss_kib(const char *path, int *parse_ret)
{
	int fds[2];
	long grew = -1;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct rusage before, after;
		struct coh_gguf *g = NULL;
		long out[2];

		getrusage(RUSAGE_SELF, &before);
		out[1] = coh_gguf_open(path, &g, NULL);
		getrusage(RUSAGE_SELF, &after);
		coh_gguf_close(g);
		out[0] = after.ru_maxrss - before.ru_maxrss;
		_exit(write(fds[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(fds[1]);
	if (pid > 0) {
		long out[2];

		if (read(fds[0], out, sizeof(out)) == sizeof(out)) {
			grew = out[0];
			*parse_ret = (int)out[1];
		}
		waitpid(pid, NULL, 0);
	}
	close(fds[0]);
	return grew;
}

/* A sparse file: the 24-byte header, then a hole up to size. */
static int sparse_file(const char *path, uint64_t n_tensors, uint64_t n_kv,
		       off_t size)
{
	struct bb b;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	b_hdr(&b, 3, n_tensors, n_kv);
	if (write(fd, b.p, b.len) != (ssize_t)b.len || ftruncate(fd, size) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * A header that claims as many tensors (or kvs) as the file's size
 * allows, over a hole: refused at the first entry, and memory grows with
 * the bytes really read (24 of them), not with the claim. Before, the
 * tensor index was sized by the claim (a 512 MiB file: 256 MiB), and
 * kvs were all read before duplicates were looked for.
 */
static int test_sparse_counts(void)
{
	const off_t size = (off_t)512 << 20;
	const long bound_kib = 16 << 10;	/* 16 MiB: libc, not the file */
	char path[256];
	long grew;
	int ret = 1;

	path_in(path, sizeof(path), "sparse.gguf");
	CHECK(sparse_file(path, (uint64_t)(size - 24) / 32, 0, size) == 0);
	grew = open_rss_kib(path, &ret);
	CHECK(grew >= 0);
	if (ret != -EINVAL || grew > bound_kib) {
		fprintf(stderr, "tensors: open returned %d, RSS grew %ld KiB "
			"(bound %ld)\n", ret, grew, bound_kib);
		return T_FAIL;
	}
	/* the kv case on a smaller file: the old code read it all */
	CHECK(sparse_file(path, 0, (uint64_t)((64 << 20) - 24) / 13,
			  64 << 20) == 0);
	grew = open_rss_kib(path, &ret);
	CHECK(grew >= 0);
	if (ret != -EINVAL || grew > bound_kib) {
		fprintf(stderr, "kvs: open returned %d, RSS grew %ld KiB "
			"(bound %ld)\n", ret, grew, bound_kib);
		return T_FAIL;
	}
	unlink(path);
	return T_PASS;
}

/* A finished file has the mode any new file gets: 0666 less the umask. */
static int test_umask(void)
{
	static const mode_t masks[] = { 027, 022, 077, 002 };
	struct coh_gguf_writer *w;
	struct pep_err err;
	char path[256];
	struct stat st;
	mode_t old;

	path_in(path, sizeof(path), "mode.gguf");
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		unlink(path);
		old = umask(masks[i]);
		int ret = coh_gguf_writer_create(&w, path, &err);

		if (ret == 0)
			ret = coh_gguf_writer_add_u32(w, "a", 1);
		if (ret == 0)
			ret = coh_gguf_writer_finish(w, &err);
		umask(old);
		CHECK(ret == 0);
		CHECK(stat(path, &st) == 0);
		if ((st.st_mode & 07777) != (0666 & ~masks[i])) {
			fprintf(stderr, "umask %03o: mode %03o, want %03o\n",
				masks[i], st.st_mode & 07777, 0666 & ~masks[i]);
			return T_FAIL;
		}
	}
	clean_dir();
	return T_PASS;
}

/* Errors name the path asked for, never the writer's temporary name. */
static int test_error_names(void)
{
	struct coh_gguf_writer *w;
	struct pep_err err;
	char path[256];

	/* no such directory: neither O_TMPFILE nor a named file */
	path_in(path, sizeof(path), "absent/out.gguf");
	CHECK(coh_gguf_writer_create(&w, path, &err) == -ENOENT);
	CHECK(strstr(err.msg, path) && !strstr(err.msg, ".tmp"));
	/* a directory in the way: the final rename fails */
	path_in(path, sizeof(path), "dir.gguf");
	CHECK(mkdir(path, 0755) == 0);
	CHECK(coh_gguf_writer_create(&w, path, &err) == 0);
	CHECK(coh_gguf_writer_add_u32(w, "a", 1) == 0);
	CHECK(coh_gguf_writer_finish(w, &err) < 0);
	if (!strstr(err.msg, path) || strstr(err.msg, ".tmp")) {
		fprintf(stderr, "error: %s\n", err.msg);
		return T_FAIL;
	}
	CHECK(rmdir(path) == 0);
	CHECK(dir_entries() == 0);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cohete-gguf-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return T_ERROR;
	}
	t_run("types", test_types, &rc);
	t_run("header_rules", test_header_rules, &rc);
	t_run("kv_rules", test_kv_rules, &rc);
	t_run("array_rules", test_array_rules, &rc);
	t_run("alignment_rules", test_alignment_rules, &rc);
	t_run("tensor_rules", test_tensor_rules, &rc);
	t_run("roundtrip", test_roundtrip, &rc);
	t_run("copy", test_copy, &rc);
	t_run("truncation", test_truncation, &rc);
	t_run("open_errors", test_open_errors, &rc);
	t_run("writer_rules", test_writer_rules, &rc);
	t_run("abort", test_abort, &rc);
	t_run("io_error", test_io_error, &rc);
	t_run("large_write", test_large_write, &rc);
	t_run("replace", test_replace, &rc);
	t_run("killed", test_killed, &rc);
	t_run("key_nul", test_key_nul, &rc);
	t_run("escape", test_escape, &rc);
	t_run("sparse_counts", test_sparse_counts, &rc);
	t_run("umask", test_umask, &rc);
	t_run("error_names", test_error_names, &rc);
	clean_dir();
	rmdir(tmpdir);
	return rc;
}
