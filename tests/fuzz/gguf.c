/*
 * libFuzzer target for the GGUF reader: coh_gguf_parse() over the input,
 * and when it parses, a walk over everything a caller can reach (every
 * key, value and string of an array, the first and last element of
 * numeric arrays, the first and last byte of every tensor, lookups by key
 * and name) so ASan sees any pointer the parser let out of the buffer,
 * and every key and string through coh_gguf_escape(), whose output must
 * hold no control byte.
 * Built by scripts/fuzz.sh with clang; replayed over corpus/gguf/ by
 * tests/fuzz/replay.c everywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/quant.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const void *p, uint64_t n)
{
	if (n) {
		sink ^= ((const uint8_t *)p)[0];
		sink ^= ((const uint8_t *)p)[n - 1];
	}
}

static void walk_array(const struct coh_gguf_kv *kv)
{
	struct coh_gguf_str_iter it;
	const char *s;
	size_t len;
	int64_t v;
	double f;

	if (coh_gguf_str_iter_init(&it, kv) == 0) {
		while (coh_gguf_str_next(&it, &s, &len))
			touch(s, len);
		return;
	}
	if (kv->count && coh_gguf_array_int(kv, kv->count - 1, &v) == 0)
		sink ^= (uint8_t)v;
	if (kv->count && coh_gguf_array_float(kv, kv->count - 1, &f) == 0)
		sink ^= (uint8_t)(f > 0);
	touch(kv->data, kv->data_bytes);
}

/*
 * What coh_gguf_escape() makes of s: NUL-terminated inside the buffer,
 * no control byte, the length it returns at least what it wrote; and the
 * same text whole when the buffer is big enough.
 */
static void check_escape(const char *s, size_t len)
{
	char small[16], *big;
	size_t n = coh_gguf_escape(small, sizeof(small), s, len), k;

	k = strlen(small);
	if (k >= sizeof(small) || k > n)
		abort();
	for (size_t i = 0; i < k; i++)
		if ((uint8_t)small[i] < 0x20 || small[i] == 0x7f)
			abort();
	big = malloc(n + 1);
	if (!big)
		return;
	if (coh_gguf_escape(big, n + 1, s, len) != n || strlen(big) != n ||
	    strncmp(big, small, k) != 0)
		abort();
	free(big);
}

static void walk_kv(const struct coh_gguf *g, const struct coh_gguf_kv *kv)
{
	const char *s;
	uint64_t u;
	size_t len;
	double f;
	bool b;

	touch(kv->key, kv->key_len + 1);
	/* keys hold no NUL, and lookup finds the unique key */
	if (strlen(kv->key) != kv->key_len || coh_gguf_find(g, kv->key) != kv)
		abort();
	check_escape(kv->key, kv->key_len);
	if (kv->type == COH_GGUF_ARRAY) {
		walk_array(kv);
		return;
	}
	if (coh_gguf_kv_str(kv, &s, &len) == 0) {
		touch(s, len);
		check_escape(s, len);
	}
	if (coh_gguf_kv_uint(kv, &u) == 0)
		sink ^= (uint8_t)u;
	if (coh_gguf_kv_float(kv, &f) == 0)
		sink ^= (uint8_t)(f > 0);
	if (coh_gguf_kv_bool(kv, &b) == 0)
		sink ^= b;
	touch(kv->data, kv->data_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct coh_gguf_tensor *t;
	struct coh_gguf *g;
	uint8_t *copy;

	/* An exact-size copy, so a read past the end is a heap overflow. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (coh_gguf_parse(copy, size, &g, NULL) == 0) {
		for (size_t i = 0; i < coh_gguf_kv_count(g); i++)
			walk_kv(g, coh_gguf_kv_at(g, i));
		for (size_t i = 0; i < coh_gguf_tensor_count(g); i++) {
			t = coh_gguf_tensor_at(g, i);
			touch(t->data, t->nbytes);
			if (coh_gguf_tensor_find(g, t->name) != t)
				abort();
		}
		coh_gguf_close(g);
	}
	free(copy);
	return 0;
}
