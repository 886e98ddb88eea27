/*
 * The template module (<pepita/template.h>) without running anything:
 * GNU parallel's quoting, byte for byte; the argv and the shell script
 * each template form makes of hostile arguments (quotes, $(...),
 * backticks, newlines, spaces, a leading -); the contexts that are
 * refused; {.} {/} {//} {/.} against what GNU parallel 20221122 prints;
 * -m and -X; positions past the end; input sources, their combinations,
 * links and columns; --pipe blocks. tests/pepita-run-quoting.sh runs the
 * same forms through a real shell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/template.h>

#include "harness.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* strings joined with sep, to compare in one string (malloc'd). */
static char *join(char *const *v, size_t n, const char *sep)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? sep : "", v[i]);
	fclose(f);
	return s;
}

/* argv joined with '|'. */
static char *joined(char **argv)
{
	size_t n = 0;

	while (argv[n])
		n++;
	return join(argv, n, "|");
}

struct expect {
	const char *words[6];		/* the template, NULL-terminated */
	const char *args[4];		/* the job's arguments */
	enum pep_tpl_multi multi;
	const char *argv;		/* argv joined with | */
	const char *display;		/* NULL: not checked */
};

static int check_one(const struct expect *e)
{
	struct pep_tpl_args a = { .v = (char **)e->args };
	struct pep_tpl_job in = { .args = &a, .seq = 7, .slot = 2,
				  .multi = e->multi };
	struct pep_tpl *t;
	struct pep_err err;
	char **argv, *disp, *got;
	int nw = 0, ok;

	while (e->words[nw])
		nw++;
	while (e->args[a.n])
		a.n++;
	if (pep_tpl_compile(&t, (char *const *)e->words, nw, &err)) {
		fprintf(stderr, "compile %s: %s\n", e->words[0], err.msg);
		return T_FAIL;
	}
	CHECK(pep_tpl_expand(t, &in, &argv, &disp, &err) == 0);
	got = joined(argv);
	ok = !strcmp(got, e->argv) && (!e->display || !strcmp(disp, e->display));
	if (!ok)
		fprintf(stderr, "template %s ...:\n  argv    %s\n  want    %s\n"
			"  display %s\n  want    %s\n", e->words[0], got, e->argv,
			disp, e->display ? e->display : "(any)");
	free(got);
	free(disp);
	pep_tpl_argv_free(argv);
	pep_tpl_free(t);
	return ok ? T_PASS : T_FAIL;
}

static int test_quote(void)
{
	static const char *const cases[][2] = {
		{ "", "''" }, { "abc", "abc" }, { "-x", "-x" },
		{ "a/b.c+d_e", "a/b.c+d_e" }, { "a b", "'a b'" },
		{ "a'b", "'a'\"'\"'b'" }, { "'a", "\"'\"'a'" },
		{ "a'", "'a'\"'\"" }, { "$(x)", "'$(x)'" }, { "`x`", "'`x`'" },
		{ "a\nb", "'a\nb'" }, { "~", "'~'" }, { "*", "'*'" },
		{ "\xc3\xa9", "'\xc3\xa9'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char b[64];

		CHECK(pep_shell_quote(cases[i][0], strlen(cases[i][0]), b,
				      sizeof(b)) == (int)strlen(cases[i][1]));
		if (strcmp(b, cases[i][1])) {
			fprintf(stderr, "quote '%s': %s, want %s\n", cases[i][0],
				b, cases[i][1]);
			return T_FAIL;
		}
	}
	return T_PASS;
}

/* Every form, with arguments a shell would otherwise run or split. */
static const struct expect forms[] = {
	/* a plain word: the argument as it is, one argv entry */
	{ { "echo", "{}", NULL }, { "$(touch P)" }, 0,
	  "echo|$(touch P)", "echo '$(touch P)'" },
	{ { "echo", "x{}y", NULL }, { "a b" }, 0, "echo|xa by", "echo x'a b'y" },
	{ { "echo", "{}", NULL }, { "-n" }, 0, "echo|-n", "echo -n" },
	{ { "echo", NULL }, { "a'b" }, 0, "echo|a'b", "echo 'a'\"'\"'b'" },
	{ { "echo", "{}", NULL }, { "" }, 0, "echo|", "echo ''" },
	/* a word of shell code among several: quoted where it lands */
	{ { "sh", "-c", "echo {}", NULL }, { "$(touch P)" }, 0,
	  "sh|-c|echo '$(touch P)'", NULL },
	{ { "sh", "-c", "echo \"{}\"", NULL }, { "`touch P`\"$x" }, 0,
	  "sh|-c|echo \"\\`touch P\\`\\\"\\$x\"", NULL },
	{ { "sh", "-c", "echo '{}'", NULL }, { "it's; touch P" }, 0,
	  "sh|-c|echo 'it'\\''s; touch P'", NULL },
	{ { "sh", "-c", "echo $0", "{}", NULL }, { "a b" }, 0,
	  "sh|-c|echo $0|a b", "sh -c 'echo $0' 'a b'" },
	/* a one-word command: the shell's script */
	{ { "cp \"{}\" \"{.}.bak\"", NULL }, { "$(x).c" }, 0,
	  "/bin/sh|-c|cp \"\\$(x).c\" \"\\$(x).bak\"",
	  "cp \"\\$(x).c\" \"\\$(x).bak\"" },
	{ { "echo {} | tr a b", NULL }, { "a\nb" }, 0,
	  "/bin/sh|-c|echo 'a\nb' | tr a b", NULL },
	{ { "echo x; # {}", NULL }, { "a\ntouch P" }, 0,
	  "/bin/sh|-c|echo x; # a touch P", NULL },
	{ { "echo $(echo {}) \"$(echo {})\"", NULL }, { "a;b" }, 0,
	  "/bin/sh|-c|echo $(echo 'a;b') \"$(echo 'a;b')\"", NULL },
	{ { "echo $(case {} in a) echo {};; esac) {}", NULL }, { "a b" }, 0,
	  "/bin/sh|-c|echo $(case 'a b' in a) echo 'a b';; esac) 'a b'", NULL },
	{ { "echo \\{} {}", NULL }, { "x y" }, 0,
	  "/bin/sh|-c|echo \\{} 'x y'", NULL },
	{ { "awk", "{1234567 {print}", NULL }, { "x" }, 0,
	  "awk|{1234567 {print}|x", NULL },
	{ { "echo hi", NULL }, { "$(touch P)" }, 0,
	  "/bin/sh|-c|echo hi '$(touch P)'", "echo hi '$(touch P)'" },
	/* input lines are commands, as they are */
	{ { NULL }, { "echo a", "b" }, 0, "/bin/sh|-c|echo a b", "echo a b" },
};

/* Each of n expectations, all of them checked: T_FAIL if any failed. */
static int check_all(const struct expect *e, size_t n)
{
	int rc = T_PASS;

	for (size_t i = 0; i < n; i++)
		if (check_one(&e[i]) != T_PASS)
			rc = T_FAIL;
	return rc;
}

static int test_forms(void)
{
	return check_all(forms, ARRAY_SIZE(forms));
}

/* Where quoting would be a guess, the template is refused. */
static int test_refused(void)
{
	static const char *const bad[] = {
		"echo `cat {}`", "echo \"`cat {}`\"", "echo ${x:-{}}",
		"echo $'x' {}", "cat <<EOF\n{}\nEOF", "echo \"\\{}\"", "echo ${}",
		"echo $ {} ${#}", "echo {= $_ =}", "echo {1234567}",
		"echo {99999999999999999999999.}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const words[] = { (char *)bad[i] };
		struct pep_tpl *t = NULL;
		struct pep_err err = { 0 };

		if (pep_tpl_compile(&t, words, 1, &err) != -EINVAL ||
		    err.code != -EINVAL || !err.msg[0]) {
			fprintf(stderr, "not refused: %s\n", bad[i]);
			pep_tpl_free(t);
			return T_FAIL;
		}
	}
	return T_PASS;
}

/* What GNU parallel 20221122 prints for [{.}] [{/}] [{//}] [{/.}]. */
static int test_parts(void)
{
	static const char *const cases[][2] = {
		{ ".bashrc", "[]|[.bashrc]|[.]|[]" },
		{ "dir/.x", "[dir/]|[.x]|[dir]|[]" },
		{ "a.b/c.d", "[a.b/c]|[c.d]|[a.b]|[c]" },
		{ "x.tar.gz", "[x.tar]|[x.tar.gz]|[.]|[x.tar]" },
		{ "..", "[.]|[..]|[.]|[.]" },
		{ ".", "[]|[.]|[.]|[]" },
		{ "a..b", "[a.]|[a..b]|[.]|[a.]" },
		{ "/x/", "[/x/]|[]|[/]|[]" },
		{ "//a//b//", "[//a//b//]|[]|[//a]|[]" },
		{ "/", "[/]|[]|[/]|[]" },
		{ "", "[]|[]|[.]|[]" },
		{ "/a", "[/a]|[a]|[/]|[a]" },
		{ "a/b/", "[a/b/]|[]|[a]|[]" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expect e = {
			.words = { "[{.}]", "[{/}]", "[{//}]", "[{/.}]", NULL },
			.args = { cases[i][0] }, .argv = cases[i][1],
		};

		if (check_one(&e) != T_PASS)
			return T_FAIL;
	}
	return T_PASS;
}

/* Several arguments: -m joins, -X repeats the word, {N} picks one. */
static const struct expect multi[] = {
	{ { "echo", "pre-{}-post", NULL }, { "A", "B", "C" }, PEP_TPL_JOIN,
	  "echo|pre-A|B|C-post", "echo pre-A B C-post" },
	{ { "echo", "pre-{}-post", NULL }, { "A", "B", "C" }, PEP_TPL_CONTEXT,
	  "echo|pre-A-post|pre-B-post|pre-C-post", NULL },
	{ { "echo", "{2}-{1}", "{3}", "x{3}y", NULL }, { "A", "B" }, PEP_TPL_CONTEXT,
	  "echo|B-A|xy", "echo B-A xy" },
	{ { "echo", "{-1}", "{#}", "{%}", NULL }, { "A", "B" }, 0,
	  "echo|B|7|2", NULL },
	{ { "echo", NULL }, { "A", "b c" }, 0, "echo|A|b c", "echo A 'b c'" },
	{ { "echo x{}y; echo \"{}\"", NULL }, { "A", "B C" }, PEP_TPL_CONTEXT,
	  "/bin/sh|-c|echo xAy; x'B C'y; echo \"A\" \"B C\"", NULL },
	{ { "echo pre-{}-post", NULL }, { "A", "B C" }, PEP_TPL_JOIN,
	  "/bin/sh|-c|echo pre-A 'B C'-post", NULL },
	{ { "echo", "{}", "x{}y", NULL }, { NULL }, PEP_TPL_CONTEXT,
	  "echo|xy", "echo xy" },
};

static int test_multi(void)
{
	return check_all(multi, ARRAY_SIZE(multi));
}

/* --results NAME: replacement strings, unquoted. */
static int test_raw(void)
{
	char arg0[] = "a b/c.txt", *arg[] = { arg0 };
	struct pep_tpl_args a = { .v = arg, .n = 1 };
	struct pep_tpl_job in = { .args = &a, .seq = 3 };
	struct pep_tpl *t;
	char *s = NULL;

	CHECK(pep_tpl_compile_plain(&t, "out/{#}/{/.} x", NULL) == 0);
	CHECK(pep_tpl_expand_raw(t, &in, &s, NULL) == 0);
	CHECK(s && !strcmp(s, "out/3/c x"));
	free(s);
	pep_tpl_free(t);
	return T_PASS;
}

/* --pipe blocks: whole records, about block bytes, or N lines. */
static int test_block_cut(void)
{
	const char *s = "aa\nbb\ncc\n";

	CHECK(pep_blocks_cut(s, 9, 7, 0, 0) == 6);	/* last \n within 7 */
	CHECK(pep_blocks_cut(s, 9, 2, 0, 0) == 3);	/* a record > block */
	CHECK(pep_blocks_cut(s, 9, 9, 0, 0) == 0);	/* read more */
	CHECK(pep_blocks_cut(s, 9, 9, 0, 1) == 9);
	CHECK(pep_blocks_cut(s, 9, 100, 2, 0) == 6);
	CHECK(pep_blocks_cut(s, 9, 100, 4, 0) == 0);
	CHECK(pep_blocks_cut(s, 9, 100, 4, 1) == 9);
	CHECK(pep_blocks_cut("abc", 3, 1, 0, 1) == 3);
	return T_PASS;
}

/* A file of lines for :::: and -a (written once, removed at exit). */
static char lines_file[] = "/tmp/pepita-template-XXXXXX";

static void remove_lines_file(void)
{
	unlink(lines_file);
}

static int make_lines_file(void)
{
	static const char text[] = "x,y\np,q,r\n";
	int fd = mkstemp(lines_file);

	if (fd < 0)
		return -1;
	atexit(remove_lines_file);
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Every record, each argument as value@label, records joined with '|'. */
static char *all_records(struct pep_inputs *in, size_t per_job, size_t max_bytes)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	struct pep_tpl_args a;
	int ret, nrec = 0;

	if (!f)
		return NULL;
	while ((ret = pep_inputs_next(in, per_job, max_bytes, &a, NULL)) > 0) {
		fputs(nrec++ ? "|" : "", f);
		for (size_t i = 0; i < a.n; i++)
			fprintf(f, "%s%s@%u", i ? " " : "", a.v[i], a.label[i]);
		pep_tpl_args_free(&a);
	}
	fclose(f);
	if (ret < 0) {
		free(s);
		return NULL;
	}
	return s;
}

struct src_case {
	const char *words[12];		/* "FILE": the lines file */
	struct pep_inputs_opts o;
	size_t per_job, max_bytes;
	long long total;		/* pep_inputs_total() */
	const char *want;		/* all_records() */
};

static const char *const a_file[] = { lines_file };

/* Combinations, links, columns, -a files, records per job. */
static const struct src_case sources[] = {
	/* every combination, the first source slowest */
	{ { ":::", "a", "b", ":::", "1", "2", "3" }, { 0 }, 0, 0, 6,
	  "a@1 1@2|a@1 2@2|a@1 3@2|b@1 1@2|b@1 2@2|b@1 3@2" },
	/* :::+ pairs value i with value i, as many as the shorter */
	{ { ":::", "a", "b", "c", ":::+", "1", "2" }, { 0 }, 0, 0, 2,
	  "a@1 1@2|b@1 2@2" },
	{ { ":::", "a", "b", ":::+", "1", "2", ":::", "x", "y" }, { 0 }, 0, 0, 4,
	  "a@1 1@2 x@3|a@1 1@2 y@3|b@1 2@2 x@3|b@1 2@2 y@3" },
	/* --link: all linked, the shorter wrap */
	{ { ":::", "a", "b", "c", ":::", "1", "2" }, { .link = 1 }, 0, 0, 3,
	  "a@1 1@2|b@1 2@2|c@1 1@2" },
	/* a lone file is read as needed: no total; columns numbered */
	{ { "::::", "FILE" }, { .colsep = "," }, 0, 0, -1, "x@1 y@2|p@1 q@2 r@3" },
	{ { "::::", "FILE" }, { .colsep = ",", .read_all = 1 }, 0, 0, 2,
	  "x@1 y@2|p@1 q@2 r@3" },
	/* -a files come before the words' sources */
	{ { ":::", "z" }, { .files = a_file, .nfiles = 1 }, 0, 0, 2,
	  "x,y@1 z@2|p,q,r@1 z@2" },
	{ { "::::", "FILE", "::::+", "FILE" }, { 0 }, 0, 0, 2,
	  "x,y@1 x,y@2|p,q,r@1 p,q,r@2" },
	/* Perl's \t in a separator, on ::: values */
	{ { ":::", "a\tb", "c" }, { .colsep = "\\t" }, 0, 0, 2, "a@1 b@2|c@1" },
	/* -N 2, and -X's byte limit */
	{ { ":::", "a", "b", "c", "d", "e" }, { 0 }, 2, 0, 5,
	  "a@1 b@1|c@1 d@1|e@1" },
	{ { ":::", "a", "b", "c", "d", "e" }, { 0 }, 5, 3, 5,
	  "a@1 b@1|c@1 d@1|e@1" },
	/* -N 0: a job per record, no arguments */
	{ { ":::", "a", "b" }, { .no_args = 1 }, 0, 0, 2, "|" },
};

static int check_source(const struct src_case *c)
{
	char *words[12];
	struct pep_inputs *in;
	struct pep_err err;
	int n = 0, ok;
	char *got;

	for (; n < 12 && c->words[n]; n++)
		words[n] = strcmp(c->words[n], "FILE") ? (char *)c->words[n] :
			   lines_file;
	if (pep_inputs_open(&in, words, n, &c->o, &err) < 0) {
		fprintf(stderr, "inputs %s %s: %s\n", words[0], words[1], err.msg);
		return T_FAIL;
	}
	CHECK(pep_inputs_total(in) == c->total);
	CHECK(!pep_inputs_use_stdin(in));
	got = all_records(in, c->per_job, c->max_bytes);
	ok = got && !strcmp(got, c->want);
	if (!ok)
		fprintf(stderr, "inputs %s %s ...:\n  got  %s\n  want %s\n",
			words[0], words[1], got ? got : "(error)", c->want);
	free(got);
	pep_inputs_close(in);
	return ok ? T_PASS : T_FAIL;
}

static int test_sources(void)
{
	int rc = T_PASS;

	if (make_lines_file() < 0) {
		perror("lines file");
		return T_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
		if (check_source(&sources[i]) != T_PASS)
			rc = T_FAIL;
	return rc;
}

/* The words that open a source end a command. */
static int test_separators(void)
{
	static const char *const yes[] = { ":::", ":::+", "::::", "::::+" };
	static const char *const no[] = { "::", ":::::", "::: ", "+:::", "" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		CHECK(pep_inputs_is_separator(yes[i]));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		CHECK(!pep_inputs_is_separator(no[i]));
	return T_PASS;
}

/* No words and no files: stdin, one source. */
static int test_stdin(void)
{
	struct pep_inputs *in;

	CHECK(pep_inputs_open(&in, NULL, 0, NULL, NULL) == 0);
	CHECK(pep_inputs_use_stdin(in));
	CHECK(pep_inputs_total(in) == -1);
	pep_inputs_close(in);
	return T_PASS;
}

/* What cannot be opened: the code, and a message naming it. */
static int test_source_errors(void)
{
	static const struct {
		const char *words[3];
		const char *colsep;
		int code;
		const char *msg;
	} bad[] = {
		{ { ":::+", "a" }, NULL, -EINVAL,
		  ":::+ needs an input source before it" },
		{ { ":::", "a" }, "(", -EINVAL,
		  "--colsep '(': not a regular expression" },
		{ { "::::", "/nonexistent/x" }, NULL, -ENOENT,
		  "/nonexistent/x: No such file or directory" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pep_inputs_opts o = { .colsep = bad[i].colsep };
		struct pep_inputs *in;
		struct pep_err err = { 0 };

		CHECK(pep_inputs_open(&in, (char *const *)bad[i].words, 2, &o,
				      &err) == bad[i].code);
		CHECK(err.code == bad[i].code);
		if (strcmp(err.msg, bad[i].msg)) {
			fprintf(stderr, "error: %s, want %s\n", err.msg, bad[i].msg);
			return T_FAIL;
		}
	}
	return T_PASS;
}

/* Blocks from a stream: whole records, or N records each. */
static int test_blocks(void)
{
	static const struct { size_t block, lines; const char *want; } cases[] = {
		{ 4, 0, "aa\n|bb\n|cc\n" },
		{ 7, 0, "aa\nbb\n|cc\n" },
		{ 1 << 20, 2, "aa\nbb\n|cc\n" },
		{ 1 << 20, 0, "aa\nbb\ncc\n" },
	};
	char text[] = "aa\nbb\ncc\n";

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FILE *f = fmemopen(text, strlen(text), "r");
		struct pep_blocks *b;
		char *v[8], *got;
		size_t n = 0, len;

		CHECK(f && pep_blocks_open(&b, f, cases[i].block, cases[i].lines,
					   NULL) == 0);
		while (n < 8 && pep_blocks_next(b, &v[n], &len, NULL) == 1) {
			char *z = strndup(v[n], len);

			free(v[n]);
			v[n++] = z;
		}
		got = join(v, n, "|");
		CHECK(got && !strcmp(got, cases[i].want));
		free(got);
		while (n)
			free(v[--n]);
		pep_blocks_close(b);
		fclose(f);
	}
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("quote", test_quote, &rc);
	t_run("forms", test_forms, &rc);
	t_run("refused", test_refused, &rc);
	t_run("parts", test_parts, &rc);
	t_run("multi", test_multi, &rc);
	t_run("raw", test_raw, &rc);
	t_run("block-cut", test_block_cut, &rc);
	t_run("sources", test_sources, &rc);
	t_run("separators", test_separators, &rc);
	t_run("stdin", test_stdin, &rc);
	t_run("source-errors", test_source_errors, &rc);
	t_run("blocks", test_blocks, &rc);
	return rc;
}
