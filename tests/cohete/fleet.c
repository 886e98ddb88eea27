/*
 * fleet.c - the deployment plan of a fleet.
 *
 * SHA-256 against FIPS 180-4's vectors (streamed in odd pieces too). Then
 * a fleet of Jetsons with different budgets and two model layouts
 * (Llama-3-8B and Llama-3.2-1B shapes, given through the source callback:
 * files of that size are not written in a unit test): the level `auto`
 * picks on each, the reasons, what would fit where nothing does, a fixed
 * level that does not fit, the artifact names and the engine's command
 * line word for word. Last, real GGUF files written here through the
 * default source: the digest is the file's, and each source that cannot
 * be planned (missing, a server that refuses, unresolved, wrong sha256)
 * fails its own pairs only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <cohete/quant.h>

#include "fleet-plan.h"
#include "harness.h"
#include "model-shape.h"
#include "../../bench/quant/synth.h"


/* ---- SHA-256 ----------------------------------------------------------- */

static int test_sha256(void)
{
	static const char *const abc =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char hex[COH_FLEET_SHA256_HEX], path[] = "/tmp/cohete-fleet-shaXXXXXX";
	char *big = malloc(1000000);
	struct pep_err err;
	FILE *f;
	int fd;

	CHECK(big);
	pep_sha256_hex("", 0, hex);
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	pep_sha256_hex("abc", 3, hex);
	CHECK(!strcmp(hex, abc));
	pep_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
			     56, hex);
	CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	/* A million 'a', through a file read in 1 MiB pieces. */
	memset(big, 'a', 1000000);
	pep_sha256_hex(big, 1000000, hex);
	CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "wb");
	CHECK(f && fwrite(big, 1, 1000000, f) == 1000000 && fclose(f) == 0);
	memset(hex, 0, sizeof(hex));
	CHECK(pep_sha256_file(path, hex, &err) == 0);
	CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
	unlink(path);
	CHECK(pep_sha256_file(path, hex, &err) == -ENOENT);
	CHECK(strstr(err.msg, path));
	free(big);
	return T_PASS;
}

/* ---- model shapes -------------------------------------------------------- */

/* The test's sources: big is Llama-3-8B's shape, small Llama-3.2-1B's. */
struct shapes {
	struct model big, small;
	unsigned int calls;
};

static int test_source(const struct coh_config *cfg, size_t model,
		       struct coh_model_shape *shape,
		       char digest[COH_FLEET_SHA256_HEX], void *arg,
		       struct pep_err *err)
{
	struct shapes *s = arg;
	const char *name = cfg->models[model].name;

	s->calls++;
	if (!strcmp(name, "llama8b"))
		*shape = s->big.shape;
	else if (!strncmp(name, "llama1b", 7))
		*shape = s->small.shape;
	else
		return pep_err_set(err, -ENOENT, "no shape for %s", name);
	/* A digest per source file: the two 1B entries share theirs. */
	pep_sha256_hex(cfg->models[model].source,
			     strlen(cfg->models[model].source), digest);
	return 0;
}

static void dump(const struct coh_fleet_plan *p)
{
	char line[1024];

	if (!getenv("FLEET_VERBOSE"))
		return;
	for (size_t i = 0; i < p->count; i++) {
		const struct coh_fleet_plan_item *it = &p->items[i];

		if (it->error) {
			fprintf(stderr, "%s @ %s: error %d %s\n", it->model_name,
				it->device_id, it->error, it->error_msg);
			continue;
		}
		coh_fleet_argv_format((const char *const *)it->argv, line,
				      sizeof(line));
		fprintf(stderr, "%s @ %s: %s\n  %s\n  %s\n  %s\n", it->model_name,
			it->device_id, it->level, it->reason,
			it->would ? it->would : "-", line);
	}
}

static const char fleet_yaml[] =
	"version: \"1.0\"\n"
	"fleet:\n"
	"  devices:\n"
	"    - id: orin-nano\n"
	"      host: 10.0.0.1\n"
	"      module: Orin Nano 8GB\n"
	"      memory_budget_mb: 6000\n"
	"    - id: orin-nx\n"
	"      host: 10.0.0.2\n"
	"      module: Orin NX 16GB\n"
	"      memory_budget_mb: 12000\n"
	"      inference:\n"
	"        port: 9000\n"
	"        parallel: 2\n"
	"        threads: 6\n"
	"        engine_path: /opt/llama/bin/llama-server\n"
	"        engine_args: [--flash-attn, \"on\", --alias, \"it's mine\"]\n"
	"    - id: nano\n"
	"      host: 10.0.0.3\n"
	"      module: Jetson Nano 4GB\n"
	"      memory_budget_mb: 2500\n"
	"    - id: orin-nx8\n"
	"      host: 10.0.0.4\n"
	"      module: Orin NX 8GB\n"
	"    - id: bare\n"
	"      host: 10.0.0.5\n"
	"storage:\n"
	"  models_dir: /data/models/\n"
	"models:\n"
	"  - name: llama8b\n"
	"    source: /srv/models/llama-3-8b-f16.gguf\n"
	"    quantization: auto\n"
	"    devices: [orin-nano, orin-nx, nano, orin-nx8]\n"
	"  - name: llama1b\n"
	"    source: /srv/models/llama-3.2-1b-f16.gguf\n"
	"    devices: all\n"
	"  - name: llama1b-q8\n"
	"    source: /srv/models/llama-3.2-1b-f16.gguf\n"
	"    quantization: q8_0\n"
	"    context_length: 8192\n"
	"    devices: [nano, orin-nx]\n"
	"  - name: llama1b-long\n"
	"    source: /srv/models/llama-3.2-1b-f16.gguf\n"
	"    context_length: 65536\n"
	"    devices: [orin-nano]\n";

/* ---- the fleet ------------------------------------------------------------- */

static int test_auto_levels(void)
{
	struct shapes *s = calloc(1, sizeof(*s));
	struct coh_fleet_plan_opts opts = { .source = test_source };
	const struct coh_fleet_plan_item *it;
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	struct pep_err err;

	CHECK(s);
	opts.source_arg = s;
	llama(&s->big, 32, 4096, 14336, 128256, 32, 8, false);
	llama(&s->small, 16, 2048, 8192, 128256, 32, 8, true);
	CHECK(load(fleet_yaml, &cfg) == 0);
	CHECK(coh_fleet_plan(cfg, &opts, &p, &err) == 0);
	dump(p);
	CHECK(s->calls == 4);		/* once per model, not per pair */
	CHECK(p->count == 4 + 5 + 2 + 1);
	/* In file order: models, then each model's devices. */
	CHECK(!strcmp(p->items[0].model_name, "llama8b") &&
	      !strcmp(p->items[0].device_id, "orin-nano"));
	CHECK(!strcmp(p->items[4].model_name, "llama1b") &&
	      !strcmp(p->items[4].device_id, "orin-nano"));

	/* 6000 MiB: the 8B at Q4_K_M; 12000 MiB: Q8_0. */
	it = find(p, "llama8b", "orin-nano");
	CHECK(it && !it->error && it->chose_auto && it->fits);
	CHECK(it->ftype == COH_FTYPE_Q4_K_M && !strcmp(it->level, "Q4_K_M"));
	CHECK(it->budget_bytes == 6000ull << 20 && !it->budget_derived);
	CHECK(it->context == 2048 && it->parallel == 1);
	CHECK(it->estimate.ftype == COH_FTYPE_Q4_K_M && it->estimate.fits);
	CHECK(it->estimate.total <= it->budget_bytes);
	CHECK(!it->would && !it->would_budget_mb);
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "Q4_K_M: the largest level whose weights + KV at 2048 tokens x 1 slot + compute + runtime fit 6000 MiB (%llu MiB)",
			 (unsigned long long)((it->estimate.total + (1 << 20) - 1) >> 20));
		CHECK(!strcmp(it->reason, want));
	}
	it = find(p, "llama8b", "orin-nx");
	CHECK(it && !it->error && it->fits && it->ftype == COH_FTYPE_Q8_0);
	CHECK(it->parallel == 2);
	CHECK(strstr(it->reason, "KV at 2048 tokens x 2 slots"));

	/* No budget given: the module's RAM less the system's share. */
	it = find(p, "llama8b", "orin-nx8");
	CHECK(it && !it->error && it->budget_derived);
	CHECK(it->budget_bytes == coh_quant_device_budget(8ull << 30));
	CHECK(it->budget_bytes == 5632ull << 20);
	CHECK(it->fits && it->ftype == COH_FTYPE_Q4_K_S);
	CHECK(strstr(it->reason, "fit the 5632 MiB left of orin-nx8's RAM after the system's share ("));

	/* 2500 MiB: not even Q2_K, and the Nano's 4 GB could not hold it. */
	it = find(p, "llama8b", "nano");
	CHECK(it && !it->error && it->chose_auto && !it->fits);
	CHECK(it->ftype == COH_FTYPE_Q2_K);
	CHECK(it->would_budget_mb == (it->estimate.total + (1 << 20) - 1) >> 20);
	CHECK(it->would_budget_mb > 2500);
	CHECK(it->would_context == 0);	/* the weights alone are too big */
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "needs %llu MiB at Q2_K, the smallest level, more than nano's 4096 MiB of RAM",
			 (unsigned long long)it->would_budget_mb);
		CHECK(!strcmp(it->would, want));
		CHECK(!strncmp(it->reason, "no level fits 2500 MiB:", 23));
	}
	CHECK(it->artifact && it->argv);	/* still planned, at Q2_K */
	CHECK(p->unfit >= 1);

	/* The 1B at 2048 tokens fits the nano at its best; at 8192 x 1 the
	 * fixed Q8_0 does not, and a smaller level or context would. */
	it = find(p, "llama1b", "nano");
	CHECK(it && it->fits && it->ftype == COH_FTYPE_Q8_0);
	it = find(p, "llama1b-q8", "nano");
	CHECK(it && !it->error && !it->chose_auto && !it->fits);
	CHECK(it->ftype == COH_FTYPE_Q8_0 && it->context == 8192);
	CHECK(it->would_context >= 16 && it->would_context < 8192);
	{
		struct coh_quant_target t = {
			.budget_bytes = it->budget_bytes, .parallel = 1,
		};
		struct coh_quant_estimate e;
		enum coh_ftype best;
		char want[320];

		/* The context said is the largest that fits. */
		t.context = it->would_context;
		CHECK(coh_quant_estimate(&s->small.shape, COH_FTYPE_Q8_0, &t, &e, NULL) == 0 && e.fits);
		t.context = it->would_context + 1;
		CHECK(coh_quant_estimate(&s->small.shape, COH_FTYPE_Q8_0, &t, &e, NULL) == 0 && !e.fits);
		t.context = 8192;
		CHECK(coh_quant_choose(&s->small.shape, &t, &best, NULL, NULL) == 0);
		snprintf(want, sizeof(want),
			 "needs %llu MiB at Q8_0; raise memory_budget_mb to %llu, choose %s (it fits) or lower context_length to %u",
			 (unsigned long long)it->would_budget_mb,
			 (unsigned long long)it->would_budget_mb,
			 coh_ftype_name(best), it->would_context);
		CHECK(!strcmp(it->would, want));
		CHECK(strstr(it->reason, "Q8_0: as the file says; weights + KV at 8192 tokens x 1 slot"));
		CHECK(strstr(it->reason, "more than 2500 MiB"));
	}

	/* 65536 tokens: no level fits 6000 MiB, a shorter context would. */
	it = find(p, "llama1b-long", "orin-nano");
	CHECK(it && !it->error && it->chose_auto && !it->fits);
	CHECK(it->ftype == COH_FTYPE_Q2_K && it->would_budget_mb > 6000);
	CHECK(it->would_context > 2048 && it->would_context < 65536);
	{
		struct coh_quant_target t = {
			.budget_bytes = 6000ull << 20, .parallel = 1,
			.context = it->would_context,
		};
		struct coh_quant_estimate e;
		char want[256];

		CHECK(coh_quant_estimate(&s->small.shape, COH_FTYPE_Q2_K, &t, &e, NULL) == 0 && e.fits);
		t.context++;
		CHECK(coh_quant_estimate(&s->small.shape, COH_FTYPE_Q2_K, &t, &e, NULL) == 0 && !e.fits);
		snprintf(want, sizeof(want),
			 "needs %llu MiB at Q2_K, the smallest level; raise memory_budget_mb to %llu or lower context_length to %u",
			 (unsigned long long)it->would_budget_mb,
			 (unsigned long long)it->would_budget_mb, it->would_context);
		CHECK(!strcmp(it->would, want));
	}

	/* A device with neither budget nor module: that pair only. */
	it = find(p, "llama1b", "bare");
	CHECK(it && it->error == -ENODATA);
	CHECK(strstr(it->error_msg, "no memory_budget_mb and the module is unknown"));
	CHECK(!it->artifact && !it->argv && !it->reason);
	CHECK(p->errors == 1);

	coh_fleet_plan_free(p);
	coh_config_free(cfg);
	free(s);
	return T_PASS;
}

static int test_artifact_and_argv(void)
{
	struct shapes *s = calloc(1, sizeof(*s));
	struct coh_fleet_plan_opts opts = { .source = test_source };
	const struct coh_fleet_plan_item *a, *b, *c;
	char want[512], name[256], line[1024], digest[COH_FLEET_SHA256_HEX];
	char key[256], keyhex[COH_FLEET_SHA256_HEX];
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	struct pep_err err;
	size_t n;

	CHECK(s);
	opts.source_arg = s;
	llama(&s->big, 32, 4096, 14336, 128256, 32, 8, false);
	llama(&s->small, 16, 2048, 8192, 128256, 32, 8, true);
	CHECK(load(fleet_yaml, &cfg) == 0);
	CHECK(coh_fleet_plan(cfg, &opts, &p, &err) == 0);

	/* The name: model, level, 16 hex of sha256(digest \0 level \0 version). */
	a = find(p, "llama1b-q8", "orin-nx");
	CHECK(a && !a->error);
	pep_sha256_hex("/srv/models/llama-3.2-1b-f16.gguf", 33, digest);
	CHECK(!strcmp(a->digest, digest));
	n = (size_t)snprintf(key, sizeof(key), "%s%cQ8_0%c%s", digest, 0, 0,
			     coh_quantizer_version());
	pep_sha256_hex(key, n, keyhex);
	snprintf(want, sizeof(want), "llama1b-q8-Q8_0-%.16s.gguf", keyhex);
	CHECK(!strcmp(a->artifact, want));
	CHECK(!strcmp(coh_quantizer_version(), "cohete-quant/1"));
	snprintf(want, sizeof(want), "/data/models/llama1b-q8-Q8_0-%.16s.gguf", keyhex);
	CHECK(!strcmp(a->path, want));
	/* Stable; another level or source changes it. */
	CHECK(coh_fleet_artifact_name("llama1b-q8", COH_FTYPE_Q8_0, digest, name,
				      sizeof(name)) == (int)strlen(a->artifact));
	CHECK(!strcmp(name, a->artifact));
	CHECK(coh_fleet_artifact_name("llama1b-q8", COH_FTYPE_Q6_K, digest, name,
				      sizeof(name)) > 0);
	CHECK(strcmp(name + strlen("llama1b-q8-Q6_K-"),
		     a->artifact + strlen("llama1b-q8-Q8_0-")));
	digest[0] = digest[0] == 'a' ? 'b' : 'a';
	CHECK(coh_fleet_artifact_name("llama1b-q8", COH_FTYPE_Q8_0, digest, name,
				      sizeof(name)) > 0);
	CHECK(strcmp(name, a->artifact));
	CHECK(coh_fleet_artifact_name("x", COH_FTYPE_Q8_0, "abc", name, sizeof(name)) == -EINVAL);
	CHECK(coh_fleet_artifact_name("a/b", COH_FTYPE_Q8_0, a->digest, name,
				      sizeof(name)) == -EINVAL);
	/* The same source and level under another model name: same hex. */
	b = find(p, "llama1b", "orin-nx");
	CHECK(b && b->ftype == COH_FTYPE_Q8_0);
	CHECK(!strcmp(b->digest, a->digest));
	CHECK(!strcmp(b->artifact + strlen("llama1b-Q8_0-"),
		      a->artifact + strlen("llama1b-q8-Q8_0-")));

	/* The engine's line: the device's inference section, the model's
	 * context times the slots, the port past the device's other models. */
	{
		const char *const argv[] = {
			"/opt/llama/bin/llama-server", "-m", a->path,
			"--host", "0.0.0.0", "--port", "9002", "-c", "16384",
			"-np", "2", "-ngl", "999", "--metrics", "-t", "6",
			"--flash-attn", "on", "--alias", "it's mine", NULL,
		};

		CHECK(a->argc == 20 && a->argv[20] == NULL && a->port == 9002);
		for (size_t i = 0; argv[i]; i++)
			CHECK(!strcmp(a->argv[i], argv[i]));
	}
	n = coh_fleet_argv_format((const char *const *)a->argv, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "/opt/llama/bin/llama-server -m %s --host 0.0.0.0 --port 9002 -c 16384 -np 2 -ngl 999 --metrics -t 6 --flash-attn on --alias 'it'\\''s mine'",
		 a->path);
	CHECK(!strcmp(line, want) && n == strlen(want));
	/* Cut short: snprintf semantics. */
	CHECK(coh_fleet_argv_format((const char *const *)a->argv, line, 10) == n);
	CHECK(strlen(line) == 9 && !strncmp(line, want, 9));
	{
		const char *const odd[] = { "", "a b", "$HOME", "ok", NULL };

		coh_fleet_argv_format(odd, line, sizeof(line));
		CHECK(!strcmp(line, "'' 'a b' '$HOME' ok"));
	}
	/* Defaults elsewhere: no -t, the fleet's port, 2048 x 1. */
	c = find(p, "llama8b", "orin-nano");
	{
		const char *const argv[] = {
			"llama-server", "-m", c->path, "--host", "0.0.0.0",
			"--port", "8080", "-c", "2048", "-np", "1", "-ngl", "999",
			"--metrics", NULL,
		};

		CHECK(c->argc == 14 && c->argv[14] == NULL);
		for (size_t i = 0; argv[i]; i++)
			CHECK(!strcmp(c->argv[i], argv[i]));
	}
	c = find(p, "llama1b", "orin-nano");
	CHECK(c && c->port == 8081 && !strcmp(c->argv[6], "8081"));

	coh_fleet_plan_free(p);
	coh_config_free(cfg);
	free(s);
	return T_PASS;
}

/* ---- real files through the default source --------------------------------- */

static int test_local_files(void)
{
	static const struct synth_layout tiny = { 2, 256, 768, 512, 64 };
	char dir[] = "/tmp/cohete-fleetXXXXXX", path[256], yaml[4096];
	char digest[COH_FLEET_SHA256_HEX];
	const struct coh_fleet_plan_item *it;
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	struct pep_err err;
	char *buf;
	FILE *f;
	long len;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tiny.gguf", dir);
	CHECK(synth_model(path, &tiny) > 0);
	/* The digest, from the bytes read here. */
	f = fopen(path, "rb");
	CHECK(f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0);
	rewind(f);
	buf = malloc((size_t)len);
	CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	pep_sha256_hex(buf, (size_t)len, digest);
	free(buf);

	snprintf(yaml, sizeof(yaml),
		 "version: \"1.0\"\n"
		 "mirrors:\n"
		 "  \"pacha://models.sovereign.ai/\": \"http://127.0.0.1:1/pacha/\"\n"
		 "fleet:\n"
		 "  devices:\n"
		 "    - id: big\n"
		 "      host: 10.0.0.1\n"
		 "      memory_budget_mb: 6000\n"
		 "    - id: tiny\n"
		 "      host: 10.0.0.2\n"
		 "      memory_budget_mb: 300\n"
		 "models:\n"
		 "  - name: tiny\n"
		 "    source: %s\n"
		 "    sha256: \"%s\"\n"
		 "    devices: all\n"
		 "  - name: tiny-wrong-sum\n"
		 "    source: %s\n"
		 "    sha256: \"%064d\"\n"
		 "    devices: [big]\n"
		 "  - name: gone\n"
		 "    source: %s/gone.gguf\n"
		 "    devices: [big]\n"
		 "  - name: remote\n"
		 "    source: pacha://models.sovereign.ai/tiny.gguf\n"
		 "    devices: [big]\n"
		 "  - name: nowhere\n"
		 "    source: pacha://models.elsewhere.example/tiny.gguf\n"
		 "    devices: [big]\n"
		 "  - name: headless\n"
		 "    source: %s/headless.gguf\n"
		 "    devices: [big]\n",
		 path, digest, path, 0, dir, dir);
	/* A GGUF file without a model's keys. */
	{
		struct coh_gguf_writer *w;
		char hl[256];

		snprintf(hl, sizeof(hl), "%s/headless.gguf", dir);
		CHECK(coh_gguf_writer_create(&w, hl, &err) == 0);
		CHECK(coh_gguf_writer_add_str(w, "general.architecture", "llama") == 0);
		CHECK(coh_gguf_writer_finish(w, &err) == 0);
	}
	CHECK(load(yaml, &cfg) == 0);
	CHECK(coh_fleet_plan(cfg, NULL, &p, &err) == 0);
	dump(p);
	CHECK(p->count == 7 && p->errors == 5 && p->unfit == 1);

	it = find(p, "tiny", "big");
	CHECK(it && !it->error && it->fits && it->ftype == COH_FTYPE_Q8_0);
	CHECK(!strcmp(it->digest, digest));
	CHECK(!strncmp(it->artifact, "tiny-Q8_0-", 10));
	CHECK(!strcmp(it->path + strlen(it->path) - strlen(it->artifact),
		      it->artifact));
	/* 300 MiB is less than the runtime's allowance: no context helps. */
	it = find(p, "tiny", "tiny");
	CHECK(it && !it->error && !it->fits && it->ftype == COH_FTYPE_Q2_K);
	CHECK(it->would_context == 0 && it->would_budget_mb > 384);
	CHECK(strstr(it->would, ", the smallest level; raise memory_budget_mb to "));

	it = find(p, "tiny-wrong-sum", "big");
	CHECK(it && it->error == -EILSEQ && strstr(it->error_msg, digest));
	it = find(p, "gone", "big");
	CHECK(it && it->error == -ENOENT && strstr(it->error_msg, "gone.gguf"));
	/* Its header is fetched (tests/cohete/fleet-build.c); port 1 refuses. */
	it = find(p, "remote", "big");
	CHECK(it && it->error == -ECONNREFUSED);
	CHECK(!strncmp(it->error_msg, "http://127.0.0.1:1/pacha/tiny.gguf: ", 36));
	it = find(p, "nowhere", "big");
	CHECK(it && it->error == -ENOENT);
	CHECK(strstr(it->error_msg, "no mirror resolves 'pacha://models.elsewhere.example/tiny.gguf': add its prefix under mirrors:"));

	it = find(p, "headless", "big");
	CHECK(it && it->error == -EINVAL);
	CHECK(strstr(it->error_msg, "headless.gguf: ") && strstr(it->error_msg, "block_count"));

	coh_fleet_plan_free(p);
	coh_config_free(cfg);
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir), "/headless.gguf");
	unlink(path);
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir), "/tiny.gguf");
	unlink(path);
	rmdir(dir);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("sha256", test_sha256, &rc);
	t_run("auto_levels", test_auto_levels, &rc);
	t_run("artifact_and_argv", test_artifact_and_argv, &rc);
	t_run("local_files", test_local_files, &rc);
	return rc;
}
