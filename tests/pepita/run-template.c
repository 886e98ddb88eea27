/*
 * pepita run's templates (cli/pepita/run_template.c) without running
 * anything: GNU parallel's quoting, byte for byte; the argv and the
 * shell script each template form makes of hostile arguments (quotes,
 * $(...), backticks, newlines, spaces, a leading -); the contexts that
 * are refused; {.} {/} {//} {/.} against what GNU parallel 20221122
 * prints; -m and -X; positions past the end. tests/pepita-run-quoting.sh
 * runs the same forms through a real shell.
 */
#include <errno.h>
#include <string.h>

#include "../../cli/pepita/run.h"
#include "harness.h"

/* argv joined with '|', to compare in one string. */
static char *joined(char **argv)
{
	struct run_buf b = { 0 };

	for (size_t i = 0; argv[i]; i++) {
		if (i)
			run_buf_add(&b, "|", 1);
		run_buf_str(&b, argv[i]);
	}
	return b.s ? b.s : strdup("");
}

struct expect {
	const char *words[6];		/* the template, NULL-terminated */
	const char *args[4];		/* the job's arguments */
	enum run_multi multi;
	const char *argv;		/* argv joined with | */
	const char *display;		/* NULL: not checked */
};

static int check_one(const struct expect *e)
{
	struct run_args a = { .v = (char **)e->args };
	struct run_job_in in = { .args = &a, .seq = 7, .slot = 2,
				 .multi = e->multi };
	struct run_tpl *t;
	char msg[256], **argv, *disp, *got;
	int nw = 0, ok;

	while (e->words[nw])
		nw++;
	while (e->args[a.n])
		a.n++;
	if (run_tpl_compile((char *const *)e->words, nw, &t, msg, sizeof(msg))) {
		fprintf(stderr, "compile %s: %s\n", e->words[0], msg);
		return T_FAIL;
	}
	CHECK(run_tpl_expand(t, &in, &argv, &disp) == 0);
	got = joined(argv);
	ok = !strcmp(got, e->argv) && (!e->display || !strcmp(disp, e->display));
	if (!ok)
		fprintf(stderr, "template %s ...:\n  argv    %s\n  want    %s\n"
			"  display %s\n  want    %s\n", e->words[0], got, e->argv,
			disp, e->display ? e->display : "(any)");
	free(got);
	free(disp);
	run_argv_free(argv);
	run_tpl_free(t);
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
		struct run_buf b = { 0 };

		CHECK(run_quote(&b, cases[i][0], strlen(cases[i][0])) == 0);
		if (strcmp(b.s, cases[i][1])) {
			fprintf(stderr, "quote '%s': %s, want %s\n", cases[i][0],
				b.s, cases[i][1]);
			free(b.s);
			return T_FAIL;
		}
		free(b.s);
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

static int test_forms(void)
{
	int rc = T_PASS;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (check_one(&forms[i]) != T_PASS)
			rc = T_FAIL;
	return rc;
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
		struct run_tpl *t = NULL;
		char msg[256] = "";

		if (run_tpl_compile(words, 1, &t, msg, sizeof(msg)) != -EINVAL ||
		    !msg[0]) {
			fprintf(stderr, "not refused: %s\n", bad[i]);
			run_tpl_free(t);
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
	{ { "echo", "pre-{}-post", NULL }, { "A", "B", "C" }, RUN_MULTI_JOIN,
	  "echo|pre-A|B|C-post", "echo pre-A B C-post" },
	{ { "echo", "pre-{}-post", NULL }, { "A", "B", "C" }, RUN_MULTI_CONTEXT,
	  "echo|pre-A-post|pre-B-post|pre-C-post", NULL },
	{ { "echo", "{2}-{1}", "{3}", "x{3}y", NULL }, { "A", "B" }, RUN_MULTI_CONTEXT,
	  "echo|B-A|xy", "echo B-A xy" },
	{ { "echo", "{-1}", "{#}", "{%}", NULL }, { "A", "B" }, 0,
	  "echo|B|7|2", NULL },
	{ { "echo", NULL }, { "A", "b c" }, 0, "echo|A|b c", "echo A 'b c'" },
	{ { "echo x{}y; echo \"{}\"", NULL }, { "A", "B C" }, RUN_MULTI_CONTEXT,
	  "/bin/sh|-c|echo xAy; x'B C'y; echo \"A\" \"B C\"", NULL },
	{ { "echo pre-{}-post", NULL }, { "A", "B C" }, RUN_MULTI_JOIN,
	  "/bin/sh|-c|echo pre-A 'B C'-post", NULL },
	{ { "echo", "{}", "x{}y", NULL }, { NULL }, RUN_MULTI_CONTEXT,
	  "echo|xy", "echo xy" },
};

static int test_multi(void)
{
	int rc = T_PASS;

	for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]); i++)
		if (check_one(&multi[i]) != T_PASS)
			rc = T_FAIL;
	return rc;
}

/* --results NAME: replacement strings, unquoted. */
static int test_raw(void)
{
	char arg0[] = "a b/c.txt", *arg[] = { arg0 };
	struct run_args a = { .v = arg, .n = 1 };
	struct run_job_in in = { .args = &a, .seq = 3 };
	struct run_tpl *t;
	char msg[128], *s;

	CHECK(run_tpl_compile_plain("out/{#}/{/.} x", &t, msg, sizeof(msg)) == 0);
	s = run_tpl_raw(t, &in);
	CHECK(s && !strcmp(s, "out/3/c x"));
	free(s);
	run_tpl_free(t);
	return T_PASS;
}

/* --pipe blocks: whole records, about block bytes, or N lines. */
static int test_block_cut(void)
{
	const char *s = "aa\nbb\ncc\n";

	CHECK(run_block_cut(s, 9, 7, 0, 0) == 6);	/* last \n within 7 */
	CHECK(run_block_cut(s, 9, 2, 0, 0) == 3);	/* a record > block */
	CHECK(run_block_cut(s, 9, 9, 0, 0) == 0);	/* read more */
	CHECK(run_block_cut(s, 9, 9, 0, 1) == 9);
	CHECK(run_block_cut(s, 9, 100, 2, 0) == 6);
	CHECK(run_block_cut(s, 9, 100, 4, 0) == 0);
	CHECK(run_block_cut(s, 9, 100, 4, 1) == 9);
	CHECK(run_block_cut("abc", 3, 1, 0, 1) == 3);
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
	return rc;
}
