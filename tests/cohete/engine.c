/*
 * engine.c - engine specs, the layout under ROOT and state files.
 *
 * A spec printed and parsed back is the same spec, and prints the same
 * text; every bad field is refused with its name in the error; the
 * version changes with the command line and not with the deadline. The
 * links: store, link, read, load; promote and rollback, and a promote
 * "crashed" after each of its steps (the links left as that step leaves
 * them) still has a valid active and finishes when run again. The list
 * of models and state.json as the supervisor writes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/engine.h>

#include "harness.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char root[64];

/* A spec's text with one field's value replaced ("" leaves the key out). */
static void spec_text(char *buf, size_t size, const char *key, const char *value)
{
	static const char *const keys[] = { "schema", "model", "artifact", "sha256",
		"level", "host", "port", "argv", "memory_max_bytes", "deadline" };
	static const char *const vals[] = { "\"cohete.engine/1\"", "\"tiny\"",
		"\"tiny-Q4_K_M-0011223344556677.gguf\"", "\"" SHA "\"", "\"Q4_K_M\"",
		"\"127.0.0.1\"", "8080",
		"[\"llama-server\", \"-m\", \"/m/tiny.gguf\", \"--port\", \"8080\"]",
		"1073741824", "1700000000" };
	size_t len = 0;

	len += (size_t)snprintf(buf + len, size - len, "{\"unknown\": [1, {\"x\": 2}]");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = key && !strcmp(key, keys[i]) ? value : vals[i];

		if (*v)
			len += (size_t)snprintf(buf + len, size - len, ", \"%s\": %s", keys[i], v);
	}
	snprintf(buf + len, size - len, "}");
}

static struct coh_engine_spec *parse(const char *text, struct pep_err *err)
{
	struct coh_engine_spec *s = NULL;

	if (coh_engine_spec_parse(text, strlen(text), &s, err) < 0)
		return NULL;
	return s;
}

static int same_spec(const struct coh_engine_spec *a, const struct coh_engine_spec *b)
{
	if (strcmp(a->model, b->model) || strcmp(a->artifact, b->artifact) ||
	    strcmp(a->sha256, b->sha256) || strcmp(a->level, b->level) ||
	    strcmp(a->host, b->host) || a->port != b->port || a->argc != b->argc ||
	    a->memory_max_bytes != b->memory_max_bytes || a->deadline != b->deadline)
		return 0;
	for (size_t i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]))
			return 0;
	return !a->argv[a->argc] && !b->argv[b->argc];
}

static int test_round_trip(void)
{
	struct coh_engine_spec *s, *back;
	struct pep_err err;
	char text[2048], *printed, *again;

	spec_text(text, sizeof(text), NULL, NULL);
	s = parse(text, &err);
	if (!s)
		fprintf(stderr, "parse: %s\n", err.msg);
	CHECK(s);
	CHECK(!strcmp(s->model, "tiny") && s->port == 8080 && s->argc == 5);
	CHECK(!strcmp(s->argv[4], "8080") && !s->argv[5]);
	CHECK(s->memory_max_bytes == 1073741824ULL && s->deadline == 1700000000);
	printed = coh_engine_spec_json(s);
	CHECK(printed && printed[strlen(printed) - 1] == '\n');
	CHECK(!strstr(printed, "unknown"));
	back = parse(printed, &err);
	CHECK(back && same_spec(s, back));
	again = coh_engine_spec_json(back);
	CHECK(again && !strcmp(again, printed));
	free(again);
	free(printed);
	coh_engine_spec_free(back);
	/* Without a deadline, none is printed; absent optional fields are 0. */
	spec_text(text, sizeof(text), "deadline", "");
	coh_engine_spec_free(s);
	s = parse(text, &err);
	CHECK(s && s->deadline == 0);
	printed = coh_engine_spec_json(s);
	CHECK(printed && !strstr(printed, "deadline"));
	free(printed);
	coh_engine_spec_free(s);
	spec_text(text, sizeof(text), "memory_max_bytes", "");
	s = parse(text, &err);
	CHECK(s && s->memory_max_bytes == 0);
	coh_engine_spec_free(s);
	return T_PASS;
}

/* Each: a field, its bad value ("" = absent), what the error must say. */
static const struct bad_field {
	const char *key, *value, *says;
} bad_fields[] = {
	{ "schema", "", "\"schema\"" },
	{ "schema", "\"cohete.engine/2\"", "\"schema\": \"cohete.engine/2\"" },
	{ "schema", "1", "\"schema\"" },
	{ "model", "", "no \"model\"" },
	{ "model", "\"../etc\"", "\"model\": \"../etc\"" },
	{ "model", "\"..\"", "\"model\"" },
	{ "model", "\".hidden\"", "\"model\"" },
	{ "model", "\"a b\"", "\"model\"" },
	{ "model", "\"\"", "\"model\"" },
	{ "model", "\"a\\u0000b\"", "u0000" },		/* jansson refuses NULs */
	{ "model", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	  "\"model\"" },
	{ "model", "7", "\"model\": not a string" },
	{ "artifact", "", "no \"artifact\"" },
	{ "artifact", "\"a/b.gguf\"", "\"artifact\"" },
	{ "artifact", "\".\"", "\"artifact\"" },
	{ "sha256", "", "no \"sha256\"" },
	{ "sha256", "\"" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef" "\"",
	  "\"sha256\"" },
	{ "sha256", "\"abc\"", "\"sha256\"" },
	{ "level", "", "no \"level\"" },
	{ "level", "\"Q4 K\"", "\"level\"" },
	{ "host", "", "no \"host\"" },
	{ "host", "\"a/b\"", "\"host\"" },
	{ "host", "\"a@b\"", "\"host\"" },
	{ "host", "null", "\"host\": not a string" },
	{ "port", "", "no \"port\"" },
	{ "port", "0", "\"port\": 0 is not 1..65535" },
	{ "port", "70000", "\"port\": 70000 is not 1..65535" },
	{ "port", "\"8080\"", "\"port\": not an integer" },
	{ "port", "80.5", "\"port\": not an integer" },
	{ "argv", "", "no \"argv\"" },
	{ "argv", "[]", "\"argv\": 0 words" },
	{ "argv", "\"llama-server\"", "\"argv\": not an array" },
	{ "argv", "[\"llama-server\", 1]", "\"argv\"[1]: not a string" },
	{ "argv", "[\"bin/llama-server\"]", "\"argv\"[0]" },
	{ "argv", "[\"\"]", "\"argv\"[0]" },
	{ "argv", "[\"x\", \"a\\u0000b\"]", "u0000" },
	{ "memory_max_bytes", "-1", "\"memory_max_bytes\": -1 is not 0.." },
	{ "memory_max_bytes", "\"1G\"", "\"memory_max_bytes\": not an integer" },
	{ "deadline", "-5", "\"deadline\": -5" },
	{ "deadline", "true", "\"deadline\": not an integer" },
};

static int test_bad_fields(void)
{
	struct coh_engine_spec *s;
	struct pep_err err;
	char text[2048];
	int failed = 0;

	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		const struct bad_field *b = &bad_fields[i];

		spec_text(text, sizeof(text), b->key, b->value);
		s = (struct coh_engine_spec *)1;
		memset(&err, 0, sizeof(err));
		if (coh_engine_spec_parse(text, strlen(text), &s, &err) != -EINVAL || s ||
		    !strstr(err.msg, b->says)) {
			fprintf(stderr, "%s = %s: got \"%s\", want it to say %s\n", b->key,
				b->value, err.msg, b->says);
			failed = 1;
		}
	}
	CHECK(!failed);
	/* Not a spec at all. */
	CHECK(coh_engine_spec_parse("[1]", 3, &s, &err) == -EINVAL && !s);
	CHECK(strstr(err.msg, "not a JSON object"));
	CHECK(coh_engine_spec_parse("{\"model\":", 9, &s, &err) == -EINVAL);
	CHECK(strstr(err.msg, "line 1"));
	CHECK(coh_engine_spec_parse("{\"port\": 1, \"port\": 2}", 22, &s, &err) == -EINVAL);
	CHECK(strstr(err.msg, "duplicate"));
	CHECK(coh_engine_spec_parse("{}", COH_ENGINE_SPEC_MAX + 1, &s, &err) == -EINVAL);
	return T_PASS;
}

static int test_version(void)
{
	struct coh_engine_spec *s;
	struct pep_err err;
	char text[2048], v1[COH_ENGINE_VERSION_MAX], v2[COH_ENGINE_VERSION_MAX], tiny[8];
	char *old;

	spec_text(text, sizeof(text), NULL, NULL);
	s = parse(text, &err);
	CHECK(s);
	CHECK(coh_engine_spec_version(s, v1, sizeof(v1)) == 0);
	CHECK(!strncmp(v1, "tiny-Q4_K_M-0011223344556677-", 29) && strlen(v1) == 37);
	CHECK(strspn(v1 + 29, "0123456789abcdef") == 8);
	CHECK(coh_engine_name_ok(v1, COH_ENGINE_VERSION_MAX));
	s->deadline = 42;			/* not part of the version */
	CHECK(coh_engine_spec_version(s, v2, sizeof(v2)) == 0 && !strcmp(v1, v2));
	old = s->argv[2];
	s->argv[2] = "/m/other.gguf";		/* a new command line is */
	CHECK(coh_engine_spec_version(s, v2, sizeof(v2)) == 0 && strcmp(v1, v2));
	CHECK(!strncmp(v1, v2, 29));
	s->argv[2] = old;
	CHECK(coh_engine_spec_version(s, tiny, sizeof(tiny)) == -ENOSPC);
	coh_engine_spec_free(s);
	CHECK(!coh_engine_name_ok(".", 64) && !coh_engine_name_ok("..", 64));
	CHECK(!coh_engine_name_ok("", 64) && !coh_engine_name_ok("abc", 3));
	CHECK(coh_engine_name_ok("a.b_c-D9", 64));
	return T_PASS;
}

/* A stored spec whose argv[2] is tag; its version in v. */
static int store(const char *model, const char *tag, char *v, size_t size)
{
	struct coh_engine_spec *s;
	struct pep_err err;
	char text[2048], argv[256];
	int ret;

	snprintf(argv, sizeof(argv), "[\"llama-server\", \"-m\", \"%s\"]", tag);
	spec_text(text, sizeof(text), "argv", argv);
	s = parse(text, &err);
	if (!s)
		return -1;
	free(s->model);
	s->model = strdup(model);
	ret = coh_engine_store(root, s, v, size, &err);
	if (ret < 0)
		fprintf(stderr, "store: %s\n", err.msg);
	coh_engine_spec_free(s);
	return ret;
}

static int link_is(const char *model, const char *which, const char *want)
{
	char v[COH_ENGINE_VERSION_MAX];
	int ret = coh_engine_read_link(root, model, which, v, sizeof(v));

	if (!want)
		return ret == -ENOENT;
	if (ret < 0 || strcmp(v, want)) {
		fprintf(stderr, "%s/%s: %s, want %s\n", model, which, ret < 0 ?
			strerror(-ret) : v, want);
		return 0;
	}
	return 1;
}

/* active loads and is want. */
static int active_valid(const char *model, const char *want)
{
	struct coh_engine_spec *s;
	struct pep_err err;
	int ok;

	if (coh_engine_load(root, model, "active", &s, &err) < 0) {
		fprintf(stderr, "load active: %s\n", err.msg);
		return 0;
	}
	ok = !strcmp(s->model, model) && link_is(model, "active", want);
	coh_engine_spec_free(s);
	return ok;
}

static int test_links(void)
{
	char a[COH_ENGINE_VERSION_MAX], b[COH_ENGINE_VERSION_MAX], c[COH_ENGINE_VERSION_MAX];
	char path[256], other[256], small[4];
	struct coh_engine_spec *s;
	struct pep_err err;
	struct stat st;

	CHECK(store("m1", "/m/a.gguf", a, sizeof(a)) == 0);
	CHECK(store("m1", "/m/b.gguf", b, sizeof(b)) == 0 && strcmp(a, b));
	snprintf(path, sizeof(path), "%s/engines/m1/%s.json", root, a);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
	CHECK(link_is("m1", "active", NULL));
	CHECK(coh_engine_load(root, "m1", "active", &s, &err) == -ENOENT && !s);
	CHECK(strstr(err.msg, "active"));
	CHECK(coh_engine_link(root, "m1", "active", a, &err) == 0 && link_is("m1", "active", a));
	CHECK(coh_engine_link(root, "m1", "active", "nope", &err) == -ENOENT);
	CHECK(link_is("m1", "active", a));
	CHECK(coh_engine_link(root, "m1", "current", a, &err) == -EINVAL);
	CHECK(strstr(err.msg, "current"));
	CHECK(coh_engine_link(root, "../x", "active", a, &err) == -EINVAL);
	CHECK(coh_engine_link(root, "m1", "active", "../../a", &err) == -EINVAL);
	CHECK(coh_engine_read_link(root, "m1", "active", small, sizeof(small)) == -ENOSPC);
	/* A link to something that is not a version is refused as one. */
	snprintf(path, sizeof(path), "%s/engines/m1/previous", root);
	CHECK(symlink("/etc/passwd", path) == 0);
	CHECK(coh_engine_read_link(root, "m1", "previous", small, sizeof(small)) == -EINVAL);
	CHECK(coh_engine_link(root, "m1", "previous", NULL, &err) == 0);
	CHECK(coh_engine_link(root, "m1", "previous", NULL, &err) == 0);	/* none: fine */
	/* A spec whose model is not its directory's. */
	CHECK(store("m2", "/m/a.gguf", small, sizeof(small)) == -ENOSPC);
	CHECK(store("m2", "/m/c.gguf", c, sizeof(c)) == 0);
	snprintf(path, sizeof(path), "%s/engines/m1/%s.json", root, a);
	snprintf(other, sizeof(other), "%s/engines/m2/%s.json", root, a);
	CHECK(link(path, other) == 0);
	CHECK(coh_engine_link(root, "m2", "active", a, &err) == 0);
	CHECK(coh_engine_load(root, "m2", "active", &s, &err) == -EINVAL && !s);
	CHECK(strstr(err.msg, "model \"m1\""));
	CHECK(coh_engine_link(root, "m1", "candidate", b, &err) == 0);
	CHECK(coh_engine_load(root, "m1", "candidate", &s, &err) == 0 && s->argc == 3 &&
	      !strcmp(s->argv[2], "/m/b.gguf"));
	coh_engine_spec_free(s);
	CHECK(coh_engine_link(root, "m1", "candidate", NULL, &err) == 0);
	return T_PASS;
}

static int test_promote(void)
{
	char a[COH_ENGINE_VERSION_MAX], b[COH_ENGINE_VERSION_MAX], c[COH_ENGINE_VERSION_MAX];
	struct pep_err err;

	CHECK(store("p", "/m/a.gguf", a, sizeof(a)) == 0);
	CHECK(store("p", "/m/b.gguf", b, sizeof(b)) == 0);
	CHECK(store("p", "/m/c.gguf", c, sizeof(c)) == 0);
	CHECK(coh_engine_promote(root, "p", &err) == -ENOENT && strstr(err.msg, "candidate"));
	/* The first deploy: no active yet, no previous after. */
	CHECK(coh_engine_link(root, "p", "candidate", a, &err) == 0);
	CHECK(coh_engine_promote(root, "p", &err) == 0);
	CHECK(active_valid("p", a) && link_is("p", "candidate", NULL) &&
	      link_is("p", "previous", NULL));
	/* a -> b, whole. */
	CHECK(coh_engine_link(root, "p", "candidate", b, &err) == 0);
	CHECK(coh_engine_promote(root, "p", &err) == 0);
	CHECK(active_valid("p", b) && link_is("p", "previous", a) &&
	      link_is("p", "candidate", NULL));
	/* b -> c, crashed after step 1 (previous <- active): active still b. */
	CHECK(coh_engine_link(root, "p", "candidate", c, &err) == 0);
	CHECK(coh_engine_link(root, "p", "previous", b, &err) == 0);
	CHECK(active_valid("p", b));
	CHECK(coh_engine_promote(root, "p", &err) == 0);
	CHECK(active_valid("p", c) && link_is("p", "previous", b) &&
	      link_is("p", "candidate", NULL));
	/* c -> a, crashed after step 2 (active <- candidate, the candidate
	 * still there): active valid; again keeps previous on c, not a. */
	CHECK(coh_engine_link(root, "p", "candidate", a, &err) == 0);
	CHECK(coh_engine_link(root, "p", "previous", c, &err) == 0);
	CHECK(coh_engine_link(root, "p", "active", a, &err) == 0);
	CHECK(active_valid("p", a));
	CHECK(coh_engine_promote(root, "p", &err) == 0);
	CHECK(active_valid("p", a) && link_is("p", "previous", c) &&
	      link_is("p", "candidate", NULL));
	/* Rollback swaps; twice is where we started. */
	CHECK(coh_engine_rollback(root, "p", &err) == 0);
	CHECK(active_valid("p", c) && link_is("p", "previous", a));
	CHECK(coh_engine_rollback(root, "p", &err) == 0);
	CHECK(active_valid("p", a) && link_is("p", "previous", c));
	/* Crashed after its step 1: both on the rolled-back version, valid. */
	CHECK(coh_engine_link(root, "p", "active", c, &err) == 0);
	CHECK(active_valid("p", c) && link_is("p", "previous", c));
	CHECK(coh_engine_link(root, "p", "previous", NULL, &err) == 0);
	CHECK(coh_engine_rollback(root, "p", &err) == -ENOENT && strstr(err.msg, "previous"));
	CHECK(active_valid("p", c));
	return T_PASS;
}

static int touch(const char *rel, int dir)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/engines/%s", root, rel);
	if (dir)
		return mkdir(path, 0755);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	return fd < 0 ? -1 : close(fd);
}

static int test_models(void)
{
	char **names, empty[80];
	size_t n;

	CHECK(touch("zeta", 1) == 0 && touch("alpha", 1) == 0 && touch("file", 0) == 0);
	CHECK(touch(".hidden", 1) == 0 && touch("bad name", 1) == 0);
	CHECK(coh_engine_models(root, &names, &n) == 0);
	CHECK(n == 5);
	CHECK(!strcmp(names[0], "alpha") && !strcmp(names[1], "m1") &&
	      !strcmp(names[2], "m2") && !strcmp(names[3], "p") && !strcmp(names[4], "zeta"));
	coh_engine_models_free(names, n);
	snprintf(empty, sizeof(empty), "%s/nothing-here", root);
	CHECK(coh_engine_models(empty, &names, &n) == 0 && n == 0 && !names);
	return T_PASS;
}

static int write_state(const char *model, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/engines/%s/state.json", root, model);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int test_state(void)
{
	static const char good[] =
		"{\"schema\": \"cohete.engine.state/1\", \"timestamp\": "
		"\"2026-07-25T09:08:29.000Z\", \"model\": \"zeta\", \"version\": "
		"\"zeta-Q4_K_M-0011223344556677-89abcdef\", \"which\": \"candidate\", "
		"\"state\": \"failed\", \"pid\": 4242, \"port\": 8080, \"restart_count\": 3, "
		"\"since\": \"2026-07-25T09:08:28.042Z\", \"rss_bytes\": 123456789, "
		"\"reason\": \"exited with status 1: error: no model\", \"start_ticks\": 99}";
	struct coh_engine_state st;
	struct pep_err err;
	char text[1024];

	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == -ENOENT);
	CHECK(write_state("zeta", good) == 0);
	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == 0);
	CHECK(!strcmp(st.model, "zeta") && !strcmp(st.which, "candidate"));
	CHECK(!strcmp(st.version, "zeta-Q4_K_M-0011223344556677-89abcdef"));
	CHECK(st.run == COH_ENGINE_FAILED && st.pid == 4242 && st.port == 8080);
	CHECK(st.restarts == 3 && st.rss_bytes == 123456789ULL);
	CHECK(st.since == 1784970508);		/* 2026-07-25T09:08:28Z */
	CHECK(!strcmp(st.reason, "exited with status 1: error: no model"));
	CHECK(!strcmp(coh_engine_run_name(COH_ENGINE_READY), "ready"));
	CHECK(!strcmp(coh_engine_run_name(COH_ENGINE_PAUSED), "paused"));
	CHECK(!strcmp(coh_engine_run_name((enum coh_engine_run)42), "unknown"));
	/* Each wrong field is named. */
	snprintf(text, sizeof(text), "%s", good);
	memcpy(strstr(text, "\"failed\""), "\"broken\"", 8);
	CHECK(write_state("zeta", text) == 0);
	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == -EINVAL &&
	      strstr(err.msg, "\"state\""));
	snprintf(text, sizeof(text), "%s", good);
	memcpy(strstr(text, "4242"), "\"42\"", 4);
	CHECK(write_state("zeta", text) == 0);
	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == -EINVAL &&
	      strstr(err.msg, "\"pid\""));
	snprintf(text, sizeof(text), "%s", good);
	memcpy(strstr(text, "state/1"), "state/9", 7);
	CHECK(write_state("zeta", text) == 0);
	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == -EINVAL &&
	      strstr(err.msg, "\"schema\""));
	CHECK(write_state("zeta", "{\"schema\": ") == 0);
	CHECK(coh_engine_state_read(root, "zeta", &st, &err) == -EINVAL);
	/* Another model's state in this directory. */
	CHECK(write_state("alpha", good) == 0);
	CHECK(coh_engine_state_read(root, "alpha", &st, &err) == -EINVAL &&
	      strstr(err.msg, "zeta"));
	return T_PASS;
}

int main(void)
{
	char cmd[128];
	int rc = T_PASS;

	snprintf(root, sizeof(root), "/tmp/cohete-engine-XXXXXX");
	if (!mkdtemp(root))
		return T_ERROR;
	t_run("round-trip", test_round_trip, &rc);
	t_run("bad-fields", test_bad_fields, &rc);
	t_run("version", test_version, &rc);
	t_run("links", test_links, &rc);
	t_run("promote", test_promote, &rc);
	t_run("models", test_models, &rc);
	t_run("state", test_state, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
