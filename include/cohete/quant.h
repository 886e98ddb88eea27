/*
 * cohete/quant.h - GGUF models in the GGML formats: the GGUF v3 container
 * (a strict reader over an mmap, a writer that never leaves a half-written
 * file), the GGML block formats quantized and dequantized exactly as
 * llama.cpp's reference quantizers do, and the choice of a level that fits
 * a device's memory.
 *
 * Facts: shared/reference/gguf.md and ggml-quants.md.
 *
 * Threading: a parsed file is read-only and may be read from any thread;
 * a writer belongs to one thread. The row quantizers share nothing.
 */
#ifndef COHETE_QUANT_H
#define COHETE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== GGML types and formats (src/cohete/quant/formats.c) ==== */

/* ggml's type ids, as stored in GGUF tensor infos. */
enum coh_ggml_type {
	COH_GGML_F32 = 0,
	COH_GGML_F16 = 1,
	COH_GGML_Q4_0 = 2,
	COH_GGML_Q4_1 = 3,
	COH_GGML_Q5_0 = 6,
	COH_GGML_Q5_1 = 7,
	COH_GGML_Q8_0 = 8,
	COH_GGML_Q8_1 = 9,
	COH_GGML_Q2_K = 10,
	COH_GGML_Q3_K = 11,
	COH_GGML_Q4_K = 12,
	COH_GGML_Q5_K = 13,
	COH_GGML_Q6_K = 14,
	COH_GGML_Q8_K = 15,
	COH_GGML_IQ4_NL = 20,
	COH_GGML_BF16 = 30,
	COH_GGML_TYPE_MAX = 64		/* ids are below this */
};

/*
 * Rows of n elements, converted exactly as ggml's reference code does:
 * for the same fp32 row, coh_quantize_row() writes the bytes that
 * quantize_row_<type>_ref() writes (no importance matrix), on every ISA,
 * and coh_dequantize_row() returns the floats dequantize_row_<type>()
 * returns. Blocks are packed little-endian; `out` and `in` need no
 * alignment.
 *
 * Quantize: F32 (copy), F16, BF16 (round to nearest even), Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. Dequantize: the same.
 * Other types, or an n that is not a whole number of blocks (32 or 256),
 * give -EINVAL. Like the reference, a row whose values overflow fp16
 * scales (|x| > 8 x 65504 in Q4_0) is quantized anyway and gets an inf
 * scale; llama-quantize's validation would reject such a row, so a writer
 * that wants its behaviour must check with coh_quant_row_finite().
 */
COH_API int coh_quantize_row(enum coh_ggml_type type, const float *x,
			     void *out, size_t n);
COH_API int coh_dequantize_row(enum coh_ggml_type type, const void *in,
			       float *y, size_t n);
/* Bytes of a row of n elements; 0 for a type not listed above or a bad n. */
COH_API size_t coh_quant_row_bytes(enum coh_ggml_type type, size_t n);
/* Elements per block (1, 32 or 256) of a type listed above; else 0. */
COH_API size_t coh_quant_block_elems(enum coh_ggml_type type);
/*
 * Whether every fp16 scale (d, dmin, m) of a quantized row, or every value
 * of an F32/F16/BF16 row, is finite, as ggml_validate_row_data() requires:
 * 1 yes, 0 no, -EINVAL as above.
 */
COH_API int coh_quant_row_finite(enum coh_ggml_type type, const void *in,
				 size_t n);

/* ==== end of GGML types and formats ==== */

/* ==== GGUF (src/cohete/quant/gguf.c) ==== */

/*
 * GGML type sizes. Sets *block (elements per block) and *bytes (bytes per
 * block) for every type id ggml can store in a file (F32 .. MXFP4; either
 * pointer may be NULL). -EINVAL for an unknown id and for the retired ones
 * (4, 5, 31-33, 36-38). Any thread.
 */
COH_API int coh_ggml_type_size(uint32_t type, unsigned int *block,
			       unsigned int *bytes);

/* "Q4_K", "F16", "MXFP4"; NULL for an unknown or retired id. Any thread. */
COH_API const char *coh_ggml_type_name(uint32_t type);

/* GGUF value types, as stored before each value. */
enum coh_gguf_type {
	COH_GGUF_UINT8 = 0,
	COH_GGUF_INT8 = 1,
	COH_GGUF_UINT16 = 2,
	COH_GGUF_INT16 = 3,
	COH_GGUF_UINT32 = 4,
	COH_GGUF_INT32 = 5,
	COH_GGUF_FLOAT32 = 6,
	COH_GGUF_BOOL = 7,
	COH_GGUF_STRING = 8,
	COH_GGUF_ARRAY = 9,
	COH_GGUF_UINT64 = 10,
	COH_GGUF_INT64 = 11,
	COH_GGUF_FLOAT64 = 12,
	COH_GGUF_TYPE_COUNT
};

/* "uint8" .. "float64", as in the GGUF spec; "unknown" out of range. */
COH_API const char *coh_gguf_type_name(uint32_t type);

/*
 * s (len bytes from a file: a key, a string value, a tensor name) as text
 * that is safe to print on a terminal: printable ASCII and valid UTF-8 as
 * they are, a backslash as "\\", every other byte (control characters,
 * ESC, DEL, C1 controls, bytes of invalid UTF-8) as "\xNN". snprintf
 * semantics: at most size - 1 characters and a NUL, never an escape cut
 * in two; returns the length of the whole escaped text. Any thread.
 */
COH_API size_t coh_gguf_escape(char *buf, size_t size, const void *s,
			       size_t len);

#define COH_GGUF_NAME_MAX		64	/* tensor names: 63 bytes + NUL */
#define COH_GGUF_DEFAULT_ALIGNMENT	32

/*
 * One key/value pair of a parsed file. Values stay where they are in the
 * buffer (little-endian, possibly unaligned: read them with the getters
 * below or memcpy).
 *   scalar: data points at the value, count = 1;
 *   STRING: data points at the bytes (no NUL), count = length;
 *   ARRAY:  elem_type is the elements' type, count the number of elements,
 *           data points at the first one (for strings: at the first u64
 *           length; walk them with coh_gguf_str_iter).
 * data_bytes is the size of what data points at.
 */
struct coh_gguf_kv {
	const char *key;		/* NUL-terminated copy */
	size_t key_len;			/* bytes in the file (never a NUL) */
	enum coh_gguf_type type;
	enum coh_gguf_type elem_type;	/* ARRAY only; else = type */
	uint64_t count;
	const void *data;
	uint64_t data_bytes;
};

/* One tensor info of a parsed file, with its place in the data section. */
struct coh_gguf_tensor {
	char name[COH_GGUF_NAME_MAX];	/* NUL-terminated, at most 63 bytes */
	uint32_t n_dims;		/* 1..4, as stored */
	uint64_t ne[4];			/* ne[0] = row length; missing dims = 1 */
	uint32_t type;			/* enum coh_ggml_type */
	uint64_t offset;		/* from the start of the data section */
	uint64_t nbytes;		/* ne[0] / block * bytes * ne[1..3] */
	const void *data;		/* into the buffer; nbytes long */
};

struct coh_gguf;			/* opaque: the index over one buffer */

/*
 * Parse a GGUF v2/v3 file held in buf (len bytes). buf is borrowed: it must
 * stay mapped and unchanged until coh_gguf_close(); nothing is copied but
 * keys. Every count and length is checked against the bytes left before
 * anything is allocated, with overflow-safe arithmetic. Enforced: magic,
 * version 2 or 3, all 13 value types (bool 0 or 1; no arrays of arrays),
 * unique keys and tensor names, general.alignment (u32 power of two,
 * default 32), keys without a NUL ("kv 3: key \"general.name\" is followed
 * by a NUL byte ..."), tensor names under 64 bytes without a NUL, n_dims 1..4,
 * every ne in 1..INT64_MAX with an element count that fits int64, a valid
 * non-retired type, ne[0] a multiple of the block size, offset = the
 * running sum of the earlier tensors' sizes rounded up to the alignment
 * (so no overlaps, no gaps), and each tensor's bytes inside buf (padding
 * after the last tensor is not required). Memory grows with the entries
 * actually read, never with the counts the header claims, so it stays a
 * small multiple of len whatever the header says. Names from the file
 * appear in err escaped as coh_gguf_escape() does.
 * Returns 0 and *out, or -EINVAL (malformed; err says what and where:
 * "tensor 3 (blk.0.attn_q.weight): offset 4096, expected 8192"),
 * -EOPNOTSUPP (version 1, unknown version, big-endian file) or -ENOMEM.
 */
COH_API int coh_gguf_parse(const void *buf, size_t len, struct coh_gguf **out,
			   struct pep_err *err);

/*
 * coh_gguf_parse() over path, mapped read-only (MAP_PRIVATE). Also -errno
 * from open/fstat/mmap ("open X: No such file or directory"). The mapping
 * lives until coh_gguf_close().
 */
COH_API int coh_gguf_open(const char *path, struct coh_gguf **out,
			  struct pep_err *err);

/* Free the index (and unmap the file coh_gguf_open() mapped). NULL: no-op. */
COH_API void coh_gguf_close(struct coh_gguf *g);

COH_API uint32_t coh_gguf_version(const struct coh_gguf *g);	/* 2 or 3 */
COH_API uint32_t coh_gguf_alignment(const struct coh_gguf *g);
/* Offset of the data section from the start of the buffer. */
COH_API uint64_t coh_gguf_data_offset(const struct coh_gguf *g);

/*
 * Key/value pairs in file order, and lookup by key (hashed). The pointers
 * are valid until coh_gguf_close(); NULL when out of range or absent.
 */
COH_API size_t coh_gguf_kv_count(const struct coh_gguf *g);
COH_API const struct coh_gguf_kv *coh_gguf_kv_at(const struct coh_gguf *g,
						 size_t index);
COH_API const struct coh_gguf_kv *coh_gguf_find(const struct coh_gguf *g,
						const char *key);
/* Index of key in file order, or -ENOENT. */
COH_API long coh_gguf_find_index(const struct coh_gguf *g, const char *key);

/* Tensors in file order, and lookup by name; as above. */
COH_API size_t coh_gguf_tensor_count(const struct coh_gguf *g);
COH_API const struct coh_gguf_tensor *
coh_gguf_tensor_at(const struct coh_gguf *g, size_t index);
COH_API const struct coh_gguf_tensor *
coh_gguf_tensor_find(const struct coh_gguf *g, const char *name);

/*
 * Typed values of one kv. _uint accepts any integer type holding a value
 * >= 0 (files store counts as u32 though the spec says u64); _int any
 * integer type that fits int64; _float FLOAT32 and FLOAT64; _str a STRING
 * (pointer into the buffer, not NUL-terminated). 0 on success, -EINVAL for
 * another type, -ERANGE for a value that does not fit.
 */
COH_API int coh_gguf_kv_uint(const struct coh_gguf_kv *kv, uint64_t *out);
COH_API int coh_gguf_kv_int(const struct coh_gguf_kv *kv, int64_t *out);
COH_API int coh_gguf_kv_float(const struct coh_gguf_kv *kv, double *out);
COH_API int coh_gguf_kv_bool(const struct coh_gguf_kv *kv, bool *out);
COH_API int coh_gguf_kv_str(const struct coh_gguf_kv *kv, const char **s,
			    size_t *len);

/* The same by key; -ENOENT when the key is absent. */
COH_API int coh_gguf_get_uint(const struct coh_gguf *g, const char *key,
			      uint64_t *out);
COH_API int coh_gguf_get_int(const struct coh_gguf *g, const char *key,
			     int64_t *out);
COH_API int coh_gguf_get_float(const struct coh_gguf *g, const char *key,
			       double *out);
COH_API int coh_gguf_get_bool(const struct coh_gguf *g, const char *key,
			      bool *out);
COH_API int coh_gguf_get_str(const struct coh_gguf *g, const char *key,
			     const char **s, size_t *len);

/*
 * Element i of a numeric array (token types, scores): _int for integer and
 * BOOL elements, _float for FLOAT32/FLOAT64. -EINVAL for another element
 * type or kind of kv, -ERANGE for i >= count or a u64 past INT64_MAX.
 */
COH_API int coh_gguf_array_int(const struct coh_gguf_kv *kv, uint64_t i,
			       int64_t *out);
COH_API int coh_gguf_array_float(const struct coh_gguf_kv *kv, uint64_t i,
				 double *out);

/* Walks an array of strings (tokens, merges) in order; a plain value. */
struct coh_gguf_str_iter {
	const uint8_t *next;
	uint64_t left;
};

/* -EINVAL unless kv is an array of strings. */
COH_API int coh_gguf_str_iter_init(struct coh_gguf_str_iter *it,
				   const struct coh_gguf_kv *kv);
/* The next string (into the buffer, no NUL); false after the last. */
COH_API bool coh_gguf_str_next(struct coh_gguf_str_iter *it, const char **s,
			       size_t *len);

/*
 * Writer. Output goes to an unnamed file (O_TMPFILE) in the destination's
 * directory, or where the file system lacks that, to "PATH.<random>.tmp";
 * coh_gguf_writer_finish() fsyncs it, names it "PATH.<random>.tmp",
 * renames that over path and fsyncs the directory, so path holds either
 * its old content or the whole new file, never part of one. Any failure
 * after create removes the temporary file at once; abort removes it too,
 * and with O_TMPFILE even a killed process leaves nothing. The output gets
 * the mode of any new file, 0666 less the umask (0644 under umask 022).
 * Errors name path, never the temporary name.
 *
 * Order: create; kvs and tensor infos in any mix; then each tensor's data
 * in info order (the header is written with the first data, so kvs and
 * infos are frozen from then on); finish or abort. Data is streamed: one
 * tensor may come in several calls, and nothing is buffered. Version 3,
 * little-endian. Errors: -EINVAL with the reason (bad argument, wrong
 * order, wrong size), -EEXIST for a duplicate key or tensor name,
 * -ENOMEM, -errno from the file system; after an I/O error or a data-size
 * mismatch every later call returns the first error.
 */
struct coh_gguf_writer;			/* opaque: the temp file and the infos */

COH_API int coh_gguf_writer_create(struct coh_gguf_writer **out,
				   const char *path, struct pep_err *err);

/* Append a key (duplicates: -EEXIST). Strings are NUL-terminated. */
COH_API int coh_gguf_writer_add_u8(struct coh_gguf_writer *w, const char *key,
				   uint8_t v);
COH_API int coh_gguf_writer_add_i8(struct coh_gguf_writer *w, const char *key,
				   int8_t v);
COH_API int coh_gguf_writer_add_u16(struct coh_gguf_writer *w,
				    const char *key, uint16_t v);
COH_API int coh_gguf_writer_add_i16(struct coh_gguf_writer *w,
				    const char *key, int16_t v);
COH_API int coh_gguf_writer_add_u32(struct coh_gguf_writer *w,
				    const char *key, uint32_t v);
COH_API int coh_gguf_writer_add_i32(struct coh_gguf_writer *w,
				    const char *key, int32_t v);
COH_API int coh_gguf_writer_add_f32(struct coh_gguf_writer *w,
				    const char *key, float v);
COH_API int coh_gguf_writer_add_bool(struct coh_gguf_writer *w,
				     const char *key, bool v);
COH_API int coh_gguf_writer_add_str(struct coh_gguf_writer *w,
				    const char *key, const char *v);
COH_API int coh_gguf_writer_add_u64(struct coh_gguf_writer *w,
				    const char *key, uint64_t v);
COH_API int coh_gguf_writer_add_i64(struct coh_gguf_writer *w,
				    const char *key, int64_t v);
COH_API int coh_gguf_writer_add_f64(struct coh_gguf_writer *w,
				    const char *key, double v);
/*
 * An array of count numbers or bools of elem_type, given in host order as
 * a C array (uint32_t[] for UINT32, float[] for FLOAT32, bool[] for BOOL).
 * STRING and ARRAY elements are -EINVAL: use add_str_array.
 */
COH_API int coh_gguf_writer_add_array(struct coh_gguf_writer *w,
				      const char *key,
				      enum coh_gguf_type elem_type,
				      const void *elems, uint64_t count);
COH_API int coh_gguf_writer_add_str_array(struct coh_gguf_writer *w,
					  const char *key,
					  const char *const *strs,
					  uint64_t count);
/* Append kv index of a parsed file, byte for byte (-EEXIST, -ERANGE). */
COH_API int coh_gguf_writer_copy_kv(struct coh_gguf_writer *w,
				    const struct coh_gguf *g, size_t index);

/*
 * Set a key as ggml's gguf_set_val_*() does (llama.cpp b4747, so also
 * llama-quantize): a key already present is removed, and the new value
 * (and type) appended. Setting general.quantization_version then
 * general.file_type leaves them last, in that order.
 */
COH_API int coh_gguf_writer_set_u32(struct coh_gguf_writer *w,
				    const char *key, uint32_t v);
COH_API int coh_gguf_writer_set_i32(struct coh_gguf_writer *w,
				    const char *key, int32_t v);
COH_API int coh_gguf_writer_set_u64(struct coh_gguf_writer *w,
				    const char *key, uint64_t v);
COH_API int coh_gguf_writer_set_f32(struct coh_gguf_writer *w,
				    const char *key, float v);
COH_API int coh_gguf_writer_set_bool(struct coh_gguf_writer *w,
				     const char *key, bool v);
COH_API int coh_gguf_writer_set_str(struct coh_gguf_writer *w,
				    const char *key, const char *v);

/*
 * Add a tensor info: name under 64 bytes, n_dims 1..4 entries of ne (each
 * >= 1), a valid type, ne[0] a multiple of its block size. The n_dims
 * written is that of ggml: dimensions up to the last one that is not 1
 * (at least 1), so [4096, 1] is stored as [4096]. Offsets are laid out when
 * the header is written, with general.alignment if set (u32 power of two),
 * else 32. Returns the tensor's index (>= 0).
 */
COH_API int coh_gguf_writer_add_tensor(struct coh_gguf_writer *w,
				       const char *name, uint32_t n_dims,
				       const uint64_t *ne, uint32_t type);

/* Bytes of tensor index's data, or 0 when out of range. */
COH_API uint64_t coh_gguf_writer_tensor_nbytes(const struct coh_gguf_writer *w,
					       size_t index);

/*
 * Stream nbytes of tensor index's data. Tensors come in info order; one may
 * take several calls, which must add up to its size exactly. Zero padding
 * follows each tensor. The first call writes the header.
 */
COH_API int coh_gguf_writer_write_tensor_data(struct coh_gguf_writer *w,
					      size_t index, const void *data,
					      size_t nbytes);

/*
 * Check that every tensor's data was written, fsync, rename over the path
 * and fsync the directory; then free w (also on failure, after removing
 * the temporary file). err says what failed. Only a failed fsync of the
 * directory comes after the rename: the new file is then in place.
 */
COH_API int coh_gguf_writer_finish(struct coh_gguf_writer *w,
				   struct pep_err *err);

/* Remove the temporary file and free w; path is untouched. NULL: no-op. */
COH_API void coh_gguf_writer_abort(struct coh_gguf_writer *w);

/* The reason for the writer's last failure ("" when none). */
COH_API const char *coh_gguf_writer_error(const struct coh_gguf_writer *w);

/* ==== end of GGUF ==== */

/* ==== file types and the per-tensor choice (src/cohete/quant/policy.c) ====
 * What llama-quantize does for a file type, tensor by tensor (without an
 * importance matrix, --pure or per-tensor overrides).
 */

/* llama_ftype: the values of general.file_type. */
enum coh_ftype {
	COH_FTYPE_ALL_F32 = 0,
	COH_FTYPE_F16 = 1,
	COH_FTYPE_Q4_0 = 2,
	COH_FTYPE_Q4_1 = 3,
	COH_FTYPE_Q8_0 = 7,
	COH_FTYPE_Q5_0 = 8,
	COH_FTYPE_Q5_1 = 9,
	COH_FTYPE_Q2_K = 10,
	COH_FTYPE_Q3_K_S = 11,
	COH_FTYPE_Q3_K_M = 12,
	COH_FTYPE_Q3_K_L = 13,
	COH_FTYPE_Q4_K_S = 14,
	COH_FTYPE_Q4_K_M = 15,
	COH_FTYPE_Q5_K_S = 16,
	COH_FTYPE_Q5_K_M = 17,
	COH_FTYPE_Q6_K = 18,
	COH_FTYPE_BF16 = 32,
};

/* "Q4_K_M", ...; NULL for a value we do not write. */
COH_API const char *coh_ftype_name(enum coh_ftype t);

/*
 * A file type by name as llama-quantize takes it (any case; the aliases
 * Q3_K, Q4_K and Q5_K are the _M mixes) or by number. -EINVAL naming the
 * known types otherwise.
 */
COH_API int coh_ftype_parse(const char *text, enum coh_ftype *out,
			    struct pep_err *err);

/* The type most tensors of the file type get. */
COH_API enum coh_ggml_type coh_ftype_base_type(enum coh_ftype t);

/* What the choice needs of the model (from its metadata and tensors). */
struct coh_quant_model {
	char arch[32];			/* general.architecture */
	unsigned int n_layer;		/* <arch>.block_count */
	unsigned int n_head, n_head_kv;	/* GQA factor = n_head / n_head_kv */
	unsigned int n_expert;		/* <arch>.expert_count, 0 if none */
	bool has_output;		/* an output.weight tensor exists */
	unsigned int n_attention_wv;	/* tensors named attn_v/attn_qkv/attn_kv_b */
};

/* Counters llama-quantize keeps while it walks the tensors in order. */
struct coh_quant_walk {
	unsigned int i_attention_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
	unsigned int n_fallback;	/* tensors given a fallback type */
};

/* Whether llama-quantize quantizes a tensor at all (else it is copied). */
COH_API bool coh_quant_wants(const char *name, unsigned int n_dims);

/*
 * The type of one quantized tensor (coh_quant_wants() true), ne0 its row
 * length; call in output order (coh_quant_tensor_cmp()), once per tensor,
 * with walk zeroed before the first. COH_GGML_TYPE_MAX where llama-quantize
 * refuses the tensor (a 32-element type that does not divide the row).
 * Rows that 256 does not divide fall back as current llama.cpp does:
 * Q2_K/Q3_K to Q4_0 (b4747 and older: IQ4_NL), Q4_K to Q5_0, Q5_K to
 * Q5_1, Q6_K to Q8_0; F16 when 32 does not divide them either.
 */
COH_API enum coh_ggml_type coh_quant_tensor_type(const struct coh_quant_model *m,
						 struct coh_quant_walk *walk,
						 enum coh_ftype ftype,
						 const char *name, uint64_t ne0);

/* llama-quantize's output order: tensors outside blk.N first, then by
 * layer number, by name within each (strcmp). qsort-style. */
COH_API int coh_quant_tensor_cmp(const char *a, const char *b);

/* ==== end of file types and the per-tensor choice ==== */

/* ==== choosing a level for a memory budget (src/cohete/quant/fit.c) ====
 * What running a model at each level takes, and the best level that fits:
 *   weights  exactly the tensor bytes the quantized file would hold (the
 *            per-tensor choice above applied to every tensor)
 *   KV cache 2 x n_layer x context x parallel x n_head_kv x head_dim x 2 B
 *            (f16 K and V; every slot holds its full context, as Ollama
 *            runs it: never less than llama-server needs)
 *   compute  logits (n_vocab x ubatch x 4 B) + one layer's attention
 *            scores (n_head x ubatch x KV tokens x 4 B) + its activations
 *            (ubatch x (6 n_embd + 3 n_ff) x 4 B), ubatch = min(512,
 *            context): summed, where llama.cpp's allocator reuses memory,
 *            so this errs high
 *   runtime  a fixed allowance for the CUDA context and the runtime
 */

/* One tensor of the model, as its GGUF tensor info says. */
struct coh_quant_tensor {
	const char *name;
	unsigned int n_dims;
	uint64_t ne[4];			/* missing dimensions are 1 */
	uint32_t type;			/* enum coh_ggml_type */
};

struct coh_model_shape {
	struct coh_quant_model m;	/* arch, layers, heads, experts */
	uint64_t n_embd, n_ff, n_vocab;
	uint64_t head_dim_k, head_dim_v;	/* per KV head */
	const struct coh_quant_tensor *tensors;
	size_t n_tensors;
};

#define COH_QUANT_RUNTIME_BYTES	(384ull << 20)

struct coh_quant_target {
	uint64_t budget_bytes;
	uint32_t context;		/* tokens per slot (0: 4096) */
	uint32_t parallel;		/* slots (0: 1) */
	uint64_t runtime_bytes;		/* 0: COH_QUANT_RUNTIME_BYTES */
};

struct coh_quant_estimate {
	enum coh_ftype ftype;
	uint64_t weights, kv, compute, runtime, total;
	bool fits;			/* total <= budget */
};

/*
 * The estimate of running shape at ftype for target. -EINVAL (with the
 * tensor named) where llama-quantize would refuse a tensor, or for a
 * type or size that cannot be counted.
 */
COH_API int coh_quant_estimate(const struct coh_model_shape *shape,
			       enum coh_ftype ftype,
			       const struct coh_quant_target *target,
			       struct coh_quant_estimate *out,
			       struct pep_err *err);

/*
 * The levels "auto" chooses among, best quality first: Q8_0, Q6_K,
 * Q5_K_M, Q5_K_S, Q4_K_M, Q4_K_S, Q3_K_L, Q3_K_M, Q3_K_S, Q2_K.
 */
COH_API const enum coh_ftype *coh_quant_ladder(size_t *count);

/*
 * The best level of the ladder whose estimate fits the budget: 0 and
 * *best set; every estimate in est (at least the ladder's count, may be
 * NULL). -ENOSPC when none fits, err saying what the smallest needs and
 * of what it is made. Never a level that does not fit.
 */
COH_API int coh_quant_choose(const struct coh_model_shape *shape,
			     const struct coh_quant_target *target,
			     enum coh_ftype *best,
			     struct coh_quant_estimate *est,
			     struct pep_err *err);

/*
 * The shape of the model in a parsed GGUF file: <arch>.block_count,
 * .embedding_length, .feed_forward_length, .attention.head_count(_kv),
 * .attention.key_length/.value_length (else embedding / heads),
 * .expert_count, the vocabulary (tokenizer.ggml.tokens, else the
 * token_embd rows), and every tensor. *tensors is malloc'd (free it; the
 * names point into g). -EINVAL naming a missing or absurd key.
 */
COH_API int coh_model_shape_from_gguf(const struct coh_gguf *g,
				      struct coh_model_shape *shape,
				      struct coh_quant_tensor **tensors,
				      struct pep_err *err);

/*
 * The budget for a model on a device of ram_bytes when none is given: the
 * RAM less the system's share, 2 GiB + 1/16 of the RAM (L4T, the desktop
 * when there is one, CUDA's own carve-outs). 0 when the RAM is no more
 * than that share. Any thread.
 */
COH_API uint64_t coh_quant_device_budget(uint64_t ram_bytes);

/*
 * The quantizer's output revision, "cohete-quant/N": N changes whenever
 * coh_quantize_file() may write other bytes for the same input and type,
 * so a cache keyed by it never serves a file the current code would not
 * write. Any thread.
 */
COH_API const char *coh_quantizer_version(void);

/* ==== end of choosing a level ==== */

/* ==== quantizing a file (src/cohete/quant/quantize.c) ==== */

struct coh_quantize_progress {
	size_t tensor, n_tensors;	/* the one being written, from 0 */
	const char *name;
	uint64_t done_bytes, total_bytes;	/* input tensor data */
};

/* What happened to one tensor. */
struct coh_quantize_tensor_report {
	const char *name;
	uint32_t from_type, to_type;
	uint64_t from_bytes, to_bytes;
	bool converted;			/* false: copied as it was */
	double rmse, max_abs;		/* vs the input; with opts.measure */
};

struct pep_sched;

struct coh_quantize_opts {
	enum coh_ftype ftype;
	/* Threads: 1 runs on the calling thread alone; N > 1 on a pepita
	 * scheduler of its own with N workers; 0 on sched if set (the
	 * caller's), else on pepita's process-wide default scheduler. The
	 * bytes written do not depend on it. */
	unsigned int threads;
	bool measure;			/* dequantize to measure each error */
	void (*progress)(const struct coh_quantize_progress *p, void *arg);
	void (*tensor_done)(const struct coh_quantize_tensor_report *r,
			    void *arg);
	void *arg;
	bool replace_input;		/* out may be the input file itself */
	struct pep_sched *sched;	/* with threads 0; NULL: the default */
};

/*
 * Quantize the GGUF file in to out as llama-quantize IN OUT TYPE does
 * (no importance matrix): the same metadata (every key copied, split keys
 * dropped, general.quantization_version and general.file_type set), the
 * same tensor order and types, the same bytes, whatever the threads or
 * the CPU. out appears whole or not at all. Input tensors to quantize
 * must be F32, F16 or BF16. An out that is the input file (the same
 * device and inode: the same path, a hard link, a symlink to it) is
 * -EEXIST unless replace_input is set; then the input is read whole from
 * the old file while the new one is written beside it, and the rename
 * replaces the name out (a symlink itself, not its target). Errors name
 * in or out, never a temporary file.
 */
COH_API int coh_quantize_file(const char *in, const char *out,
			      const struct coh_quantize_opts *opts,
			      struct pep_err *err);

/* ==== end of quantizing a file ==== */

#ifdef __cplusplus
}
#endif

#endif /* COHETE_QUANT_H */
