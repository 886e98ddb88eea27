/*
 * bench/quant/llama.h - llama.cpp's own quantizer, loaded at run time:
 * the anchor of bench/quant and the reference of tests/cohete/quant-llama.c.
 *
 * llama.cpp has no Debian package; scripts/fetch-llama.sh fetches the
 * libllama that node-llama-cpp builds from it (npm registry, pinned by
 * version and SHA-256) into LLAMA_DIR_DEFAULT. llama_model_quantize() is
 * the function llama-quantize runs. Of its parameter struct only the
 * first two fields are set (nthread, ftype: stable across llama.cpp
 * versions); the rest keeps llama_model_quantize_default_params().
 */
#ifndef BENCH_QUANT_LLAMA_H
#define BENCH_QUANT_LLAMA_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* scripts/fetch-llama.sh's version and destination, under the cache. */
#define LLAMA_NODE_VERSION	"3.22.1"
#define LLAMA_LIB_NAME		"libllama.v0.5.0.so"

struct llama_qparams {
	int32_t nthread;
	int32_t ftype;			/* llama_ftype = our coh_ftype */
	unsigned char rest[1024];	/* larger than any version's */
};

struct llama_anchor {
	void *lib;
	struct llama_qparams (*defaults)(void);
	uint32_t (*quantize)(const char *in, const char *out,
			     const struct llama_qparams *p);
	char path[512];
};

static void llama_quiet(int level, const char *text, void *arg)
{
	(void)level;
	(void)text;
	(void)arg;
}

/*
 * Load libllama from $COHETE_LLAMA_DIR or the cache; 0, or -1 with why in
 * a->path (the message for a skip).
 */
static int llama_anchor_open(struct llama_anchor *a)
{
	const char *dir = getenv("COHETE_LLAMA_DIR");
	const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	void (*init)(void);
	void (*log_set)(void (*)(int, const char *, void *), void *);

	if (dir && *dir)
		snprintf(a->path, sizeof(a->path), "%s/%s", dir, LLAMA_LIB_NAME);
	else if (cache && *cache)
		snprintf(a->path, sizeof(a->path), "%s/cohete/llama.cpp-node-%s/%s",
			 cache, LLAMA_NODE_VERSION, LLAMA_LIB_NAME);
	else
		snprintf(a->path, sizeof(a->path),
			 "%s/.cache/cohete/llama.cpp-node-%s/%s", home ? home : "",
			 LLAMA_NODE_VERSION, LLAMA_LIB_NAME);
	a->lib = dlopen(a->path, RTLD_NOW | RTLD_LOCAL);
	if (!a->lib) {
		snprintf(a->path, sizeof(a->path), "llama.cpp's libllama not "
			 "loaded (%s); scripts/fetch-llama.sh fetches it",
			 dlerror());
		return -1;
	}
	*(void **)&init = dlsym(a->lib, "llama_backend_init");
	*(void **)&log_set = dlsym(a->lib, "llama_log_set");
	*(void **)&a->defaults = dlsym(a->lib,
				       "llama_model_quantize_default_params");
	*(void **)&a->quantize = dlsym(a->lib, "llama_model_quantize");
	if (!init || !a->defaults || !a->quantize) {
		snprintf(a->path, sizeof(a->path), "libllama lacks "
			 "llama_model_quantize");
		dlclose(a->lib);
		a->lib = NULL;
		return -1;
	}
	if (log_set)
		log_set(llama_quiet, NULL);
	init();
	return 0;
}

/* llama-quantize IN OUT FTYPE with nthread threads; 0 on success. */
static int llama_anchor_quantize(struct llama_anchor *a, const char *in,
				 const char *out, int ftype, int nthread)
{
	struct llama_qparams p = a->defaults();

	p.nthread = nthread;
	p.ftype = ftype;
	return a->quantize(in, out, &p) ? -1 : 0;
}

#endif /* BENCH_QUANT_LLAMA_H */
