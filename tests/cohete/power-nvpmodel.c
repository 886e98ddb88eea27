/*
 * nvpmodel.conf, whole: every fixture in tests/fixtures/nvpmodel/ gives its
 * module's modes, settings and reboot answers; broken and odd files fail
 * with file:line or parse as documented; every prefix of every fixture
 * (what a truncated read leaves) parses or fails cleanly. The older
 * coh_nvpmodel_conf_mode_name() is the reference model for names. A file
 * larger than the old 256 KiB read is read whole, and one over the cap is
 * refused with the file and the limit named, never cut.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/power.h>
#include <cohete/sysroot.h>

#include "harness.h"

static const char *fixtures;

static char *read_fixture(const char *name, char *path, size_t size)
{
	char *text;

	snprintf(path, size, "%s/nvpmodel/%s", fixtures, name);
	text = t_read_file(path);
	if (!text)
		fprintf(stderr, "cannot read %s\n", path);
	return text;
}

/* Parse a fixture; NULL (and a message) when it cannot be read or parsed. */
static struct coh_nvpmodel_conf *load(const char *name)
{
	struct coh_nvpmodel_conf *c = NULL;
	struct pep_err err = { 0 };
	char path[512];
	char *text = read_fixture(name, path, sizeof(path));

	if (text && coh_nvpmodel_conf_parse(text, path, &c, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	free(text);
	return c;
}

struct module {
	const char *file;
	int64_t default_id;
	const char *names[8];		/* ids 0..n-1, in file order */
};

static const struct module modules[] = {
	{ "orin-nano-8gb-super.conf", 1, { "15W", "25W", "MAXN_SUPER", "7W" } },
	{ "orin-nano-4gb.conf", 0, { "10W", "7W_AI", "7W_CPU" } },
	{ "orin-nx-16gb.conf", 2, { "MAXN", "10W", "15W", "25W" } },
	{ "agx-orin-64gb.conf", 2, { "MAXN", "MODE_15W", "MODE_30W", "MODE_50W" } },
	{ "xavier-nx.conf", 2, { "MODE_15W_2CORE", "MODE_15W_4CORE",
		"MODE_15W_6CORE", "MODE_10W_2CORE", "MODE_10W_4CORE" } },
};

static int check_module(const struct module *mod)
{
	struct coh_nvpmodel_conf *c = load(mod->file);
	size_t n = 0;

	CHECK(c);
	while (n < 8 && mod->names[n])
		n++;
	CHECK(c->mode_count == n);
	for (size_t i = 0; i < n; i++) {
		CHECK(c->modes[i].id == (int64_t)i);
		CHECK(!strcmp(c->modes[i].name, mod->names[i]));
		CHECK(c->modes[i].setting_count >= 10);
	}
	CHECK(c->default_id == mod->default_id);
	CHECK(c->ignored_lines == 0);
	CHECK(c->param_count >= 5);
	coh_nvpmodel_conf_free(c);
	return T_PASS;
}

static int test_modules(void)
{
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		if (check_module(&modules[i]) != T_PASS) {
			fprintf(stderr, "  in %s\n", modules[i].file);
			return T_FAIL;
		}
	}
	return T_PASS;
}

static int str_is(const char *got, const char *want)
{
	if (got && !strcmp(got, want))
		return 1;
	fprintf(stderr, "got '%s', want '%s'\n", got ? got : "(null)", want);
	return 0;
}

static int test_nano_super_values(void)
{
	struct coh_nvpmodel_conf *c = load("orin-nano-8gb-super.conf");
	const struct coh_nvpmodel_param *pa;

	CHECK(c);
	CHECK(str_is(coh_nvpmodel_conf_value(c, 0, "GPU", "MAX_FREQ"), "612000000"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 1, "CPU_A78_5", "MAX_FREQ"), "1344000"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 1, "EMC", "MAX_FREQ"), "3199000000"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 2, "GPU", "MAX_FREQ"), "-1"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 2, "FBP_POWER_GATING",
					     "FBP_PG_MASK"), "2"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 3, "CPU_ONLINE", "CORE_4"), "0"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 2, "GPU_POWER_CONTROL_ENABLE",
					     "GPU_PWR_CNTL_EN"), "on"));
	CHECK(!coh_nvpmodel_conf_value(c, 9, "GPU", "MAX_FREQ"));
	CHECK(!coh_nvpmodel_conf_value(c, 0, "GPU", "NO_SUCH_ARG"));
	CHECK(str_is(coh_nvpmodel_conf_path(c, "CPU_A78_4", "MAX_FREQ_KNEXT"),
		     "/sys/devices/system/cpu/cpufreq/policy4/scaling_max_freq"));
	CHECK(str_is(coh_nvpmodel_conf_path(c, "TPC_POWER_GATING", "TPC_PG_MASK"),
		     "/sys/devices/gpu.0/tpc_pg_mask"));
	CHECK(!coh_nvpmodel_conf_path(c, "GPU", "CORE_0"));
	CHECK(!coh_nvpmodel_conf_path(c, "NO_SUCH_PARAM", "MAX_FREQ"));
	pa = &c->params[0];
	CHECK(!strcmp(pa->name, "CPU_ONLINE") && pa->type == COH_NVPMODEL_PARAM_FILE);
	CHECK(pa->arg_count == 6 && !strcmp(pa->args[5].name, "CORE_5"));
	for (size_t i = 0; i < c->param_count; i++)
		if (!strcmp(c->params[i].name, "GPU"))
			pa = &c->params[i];
	CHECK(!strcmp(pa->name, "GPU") && pa->type == COH_NVPMODEL_PARAM_CLOCK);
	CHECK(!strcmp(pa->type_name, "CLOCK") && pa->arg_count == 6);
	CHECK(c->modes[2].line > 0 && c->modes[2].line > c->modes[1].line);
	coh_nvpmodel_conf_free(c);
	return T_PASS;
}

static int test_nx_agx_values(void)
{
	struct coh_nvpmodel_conf *c = load("orin-nx-16gb.conf");

	CHECK(c);
	CHECK(str_is(coh_nvpmodel_conf_value(c, 3, "GPU", "MAX_FREQ"), "408000000"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 1, "CPU_ONLINE", "CORE_7"), "0"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 0, "DLA0_CORE", "MAX_FREQ"), "-1"));
	coh_nvpmodel_conf_free(c);
	c = load("agx-orin-64gb.conf");
	CHECK(c);
	CHECK(str_is(coh_nvpmodel_conf_value(c, 1, "CPU_ONLINE", "CORE_4"), "0"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 3, "CPU_A78_2", "MAX_FREQ"), "1497600"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 0, "TPC_POWER_GATING",
					     "TPC_PG_MASK"), "0"));
	coh_nvpmodel_conf_free(c);
	c = load("xavier-nx.conf");
	CHECK(c);
	CHECK(str_is(coh_nvpmodel_conf_value(c, 3, "GPU", "MAX_FREQ"), "803250000"));
	CHECK(!coh_nvpmodel_conf_value(c, 0, "TPC_POWER_GATING", "TPC_PG_MASK"));
	CHECK(str_is(coh_nvpmodel_conf_path(c, "CPU_ONLINE", "CORE_5"),
		     "/sys/devices/system/cpu/cpu5/online"));
	coh_nvpmodel_conf_free(c);
	return T_PASS;
}

struct reboot_case {
	const char *file;
	int64_t from, to;
	int want;
	const char *why;		/* a substring of why, or NULL */
};

static const struct reboot_case reboot_cases[] = {
	{ "orin-nano-8gb-super.conf", 1, 2, 0, NULL },
	{ "orin-nano-8gb-super.conf", 0, 2, 0, NULL },
	{ "orin-nano-8gb-super.conf", 2, 3, 1, "TPC_PG_MASK changes from 240 to 248" },
	{ "orin-nano-4gb.conf", 0, 1, 0, NULL },
	{ "orin-nano-4gb.conf", 0, 2, 1, "from 252 to 254" },
	{ "orin-nx-16gb.conf", 1, 2, 0, NULL },
	{ "orin-nx-16gb.conf", 0, 3, 0, NULL },
	{ "orin-nx-16gb.conf", 2, 3, 1, "TPC_PG_MASK changes from 252 to 240" },
	{ "orin-nx-16gb.conf", 0, 1, 1, "from 240 to 252" },
	{ "agx-orin-64gb.conf", 0, 3, 0, NULL },
	{ "agx-orin-64gb.conf", 1, 2, 1, "TPC_PG_MASK changes from 248 to 240: "
	  "the GPU power gating mask needs a reboot" },
	{ "agx-orin-64gb.conf", 2, 3, 1, "from 240 to 0" },
	{ "agx-orin-64gb.conf", 2, 2, 0, NULL },
	{ "xavier-nx.conf", 0, 4, 0, NULL },
	{ "xavier-nx.conf", 2, 3, 0, NULL },
	{ "xavier-nx.conf", 2, 7, -ENOENT, "no POWER_MODEL ID=7" },
	{ "orin-nx-16gb.conf", 9, 0, -ENOENT, "no POWER_MODEL ID=9" },
};

static int check_reboot(const struct reboot_case *rc)
{
	struct coh_nvpmodel_conf *c = load(rc->file);
	char why[160];
	int r;

	CHECK(c);
	r = coh_nvpmodel_needs_reboot(c, rc->from, rc->to, why, sizeof(why));
	coh_nvpmodel_conf_free(c);
	if (r != rc->want || (rc->why && !strstr(why, rc->why)) ||
	    (!rc->why && why[0])) {
		fprintf(stderr, "%s %lld -> %lld: got %d '%s', want %d '%s'\n",
			rc->file, (long long)rc->from, (long long)rc->to, r, why,
			rc->want, rc->why ? rc->why : "");
		return T_FAIL;
	}
	return T_PASS;
}

static int test_reboot(void)
{
	for (size_t i = 0; i < sizeof(reboot_cases) / sizeof(reboot_cases[0]); i++)
		CHECK(check_reboot(&reboot_cases[i]) == T_PASS);
	return T_PASS;
}

static const char fbp_conf[] =
	"< POWER_MODEL ID=0 NAME=A >\n"
	"TPC_POWER_GATING TPC_PG_MASK 240\n"
	"FBP_POWER_GATING FBP_PG_MASK 2\n"
	"< POWER_MODEL ID=1 NAME=B >\n"
	"TPC_POWER_GATING TPC_PG_MASK 0240\n"
	"FBP_POWER_GATING FBP_PG_MASK 3\n"
	"< POWER_MODEL ID=2 NAME=C >\n"
	"GPU MAX_FREQ -1\n"
	"< POWER_MODEL ID=3 NAME=D >\n"
	"TPC_POWER_GATING TPC_PG_MASK 240\n"
	"FBP_POWER_GATING FBP_PG_MASK 2\n"
	"FBP_POWER_GATING FBP_PG_MASK 3\n";

static int test_reboot_fbp_and_unset(void)
{
	struct coh_nvpmodel_conf *c;
	char why[160];

	CHECK(coh_nvpmodel_conf_parse(fbp_conf, "t.conf", &c, NULL) == 0);
	/* 240 and 0240 are the same mask; the FBP mask is not. */
	CHECK(coh_nvpmodel_needs_reboot(c, 0, 1, why, sizeof(why)) == 1);
	CHECK(!strcmp(why, "FBP_PG_MASK changes from 2 to 3: the GPU power "
		      "gating mask needs a reboot"));
	CHECK(coh_nvpmodel_needs_reboot(c, 2, 0, why, sizeof(why)) == 1);
	CHECK(strstr(why, "TPC_PG_MASK changes from (unset) to 240"));
	CHECK(coh_nvpmodel_needs_reboot(c, 3, 1, NULL, 0) == 0);
	CHECK(str_is(coh_nvpmodel_conf_value(c, 3, "FBP_POWER_GATING",
					     "FBP_PG_MASK"), "3"));
	CHECK(c->default_id == -1 && c->param_count == 0);
	coh_nvpmodel_conf_free(c);
	return T_PASS;
}

static int test_broken(void)
{
	struct coh_nvpmodel_conf *c = (void *)1;
	struct pep_err err = { 0 };
	char path[512], want[600];
	char *text = read_fixture("broken.conf", path, sizeof(path)), *line4;

	CHECK(text);
	CHECK(coh_nvpmodel_conf_parse(text, path, &c, &err) == -EINVAL);
	CHECK(!c && err.code == -EINVAL);
	snprintf(want, sizeof(want), "%s:4: 'CPU_ONLINE' is outside any", path);
	CHECK(strstr(err.msg, want) == err.msg);
	line4 = strstr(text, "\nCPU_ONLINE CORE_0 1\n");
	CHECK(line4);
	line4[1] = '#';
	CHECK(coh_nvpmodel_conf_parse(text, path, &c, &err) == -EINVAL);
	snprintf(want, sizeof(want), "%s:11: POWER_MODEL without ID=", path);
	if (strcmp(err.msg, want)) {
		fprintf(stderr, "got '%s'\nwant '%s'\n", err.msg, want);
		free(text);
		return T_FAIL;
	}
	free(text);
	return T_PASS;
}

struct bad_case {
	const char *text;
	const char *msg;		/* the whole reason */
};

static const struct bad_case bad_cases[] = {
	{ "", "x.conf: no POWER_MODEL block" },
	{ "# only a comment\n\n< PARAM TYPE=FILE NAME=A >\nX /a\n",
	  "x.conf: no POWER_MODEL block" },
	{ "< POWER_MODEL ID=0 NAME=A >\n< POWER_MODEL ID=0 NAME=B >\n",
	  "x.conf:2: duplicate POWER_MODEL ID=0 (first at line 1)" },
	{ "< POWER_MODEL ID=zero NAME=A >\n",
	  "x.conf:1: POWER_MODEL ID=zero is not a mode id" },
	{ "< POWER_MODEL ID=-1 NAME=A >\n",
	  "x.conf:1: POWER_MODEL ID=-1 is not a mode id" },
	{ "< POWER_MODEL ID=0 >\n", "x.conf:1: POWER_MODEL ID=0 without NAME=" },
	{ "< POWER_MODEL ID=0 NAME=A\n",
	  "x.conf:1: block header without a closing '>'" },
	{ "<>\n", "x.conf:1: empty block header" },
	{ "< POWER_MODEL ID=0 NAME=A >\nGPU MAX_FREQ\n",
	  "x.conf:2: 'GPU' in POWER_MODEL ID=0 is not PARAM ARG VALUE" },
	{ "< POWER_MODEL ID=0 NAME=A >\nGPU MAX_FREQ 1 2\n",
	  "x.conf:2: 'GPU' in POWER_MODEL ID=0 is not PARAM ARG VALUE" },
	{ "< PARAM TYPE=FILE >\n", "x.conf:1: PARAM without NAME=" },
	{ "< PARAM NAME=GPU >\n", "x.conf:1: PARAM GPU without TYPE=" },
	{ "<PARAM TYPE=FILE NAME=A>\n<PARAM TYPE=CLOCK NAME=A>\n",
	  "x.conf:2: duplicate PARAM NAME=A (first at line 1)" },
	{ "< POWER_MODEL ID=0 NAME=A >\n< PM_CONFIG DEFAULT=1 >\n",
	  "x.conf:2: PM_CONFIG DEFAULT=1 names no POWER_MODEL" },
	{ "< POWER_MODEL ID=0 NAME=A >\n< PM_CONFIG >\n",
	  "x.conf:2: PM_CONFIG without DEFAULT=" },
	{ "< POWER_MODEL ID=0 NAME=A >\n< PM_CONFIG DEFAULT=0 >\n"
	  "< PM_CONFIG DEFAULT=0 >\n",
	  "x.conf:3: second PM_CONFIG (first at line 2)" },
	{ "< POWER_MODEL ID=0 NAME=A a b c d e f g >\n",
	  "x.conf:1: too many fields in POWER_MODEL header" },
};

static int test_bad_inline(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct coh_nvpmodel_conf *c;
		struct pep_err err = { 0 };
		int r = coh_nvpmodel_conf_parse(bad_cases[i].text, "x.conf", &c,
						&err);

		if (r != -EINVAL || c || strcmp(err.msg, bad_cases[i].msg)) {
			fprintf(stderr, "case %zu: got %d '%s', want '%s'\n", i, r,
				err.msg, bad_cases[i].msg);
			coh_nvpmodel_conf_free(c);
			return T_FAIL;
		}
	}
	return T_PASS;
}

/* Same modes, settings and params, string for string. */
static int same_conf(const struct coh_nvpmodel_conf *a,
		     const struct coh_nvpmodel_conf *b)
{
	CHECK(a->mode_count == b->mode_count && a->param_count == b->param_count);
	CHECK(a->default_id == b->default_id);
	for (size_t i = 0; i < a->mode_count; i++) {
		const struct coh_nvpmodel_mode *x = &a->modes[i], *y = &b->modes[i];

		CHECK(x->id == y->id && !strcmp(x->name, y->name));
		CHECK(x->setting_count == y->setting_count);
		for (size_t j = 0; j < x->setting_count; j++)
			CHECK(!strcmp(x->settings[j].value, y->settings[j].value));
	}
	for (size_t i = 0; i < a->param_count; i++) {
		const struct coh_nvpmodel_param *x = &a->params[i], *y = &b->params[i];

		CHECK(!strcmp(x->name, y->name) && x->arg_count == y->arg_count);
		for (size_t j = 0; j < x->arg_count; j++)
			CHECK(!strcmp(x->args[j].path, y->args[j].path));
	}
	return T_PASS;
}

static char *to_crlf(const char *text)
{
	char *out = malloc(strlen(text) * 2 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *text; text++) {
		if (*text == '\n')
			*o++ = '\r';
		*o++ = *text;
	}
	*o = '\0';
	return out;
}

static int check_crlf(const char *file)
{
	struct coh_nvpmodel_conf *a = NULL, *b = NULL;
	char path[512];
	char *text = read_fixture(file, path, sizeof(path));
	char *crlf = text ? to_crlf(text) : NULL;
	int r = T_FAIL;

	if (crlf && coh_nvpmodel_conf_parse(text, path, &a, NULL) == 0 &&
	    coh_nvpmodel_conf_parse(crlf, path, &b, NULL) == 0)
		r = same_conf(a, b);
	coh_nvpmodel_conf_free(a);
	coh_nvpmodel_conf_free(b);
	free(crlf);
	free(text);
	return r;
}

static int test_crlf(void)
{
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		CHECK(check_crlf(modules[i].file) == T_PASS);
	return T_PASS;
}

static const char odd_conf[] =
	"\t# JetPack 7 style, no spaces inside <>, tabs, comments\r\n"
	"<PARAM TYPE=FILE NAME=CPU_ONLINE>\r\n"
	"FILE_STR /sys/devices/system/cpu/cpu%d/online\r\n"
	"ARG_DEFAULT 1\r\n"
	"CORE_0\t/sys/devices/system/cpu/cpu0/online   # cpu0\r\n"
	"ODD LINE WITH FOUR\r\n"
	"<PARAM TYPE=SOMETHING_NEW NAME=NPU>\r\n"
	"< FAN_CONFIG MODE=quiet >\r\n"
	"FAN_PROFILE quiet\r\n"
	"<POWER_MODEL ID=7 NAME=ONLY>\r\n"
	"CPU_ONLINE\tCORE_0 1 # on\r\n"
	"GPU MAX_FREQ -1\n"
	"GPU MAX_FREQ 918000000\n"
	"<PM_CONFIG DEFAULT=7>\r\n"
	"anything after PM_CONFIG\r\n";

static int test_odd_forms(void)
{
	struct coh_nvpmodel_conf *c;

	CHECK(coh_nvpmodel_conf_parse(odd_conf, NULL, &c, NULL) == 0);
	CHECK(c->mode_count == 1 && c->modes[0].id == 7 &&
	      !strcmp(c->modes[0].name, "ONLY") && c->default_id == 7);
	CHECK(c->modes[0].setting_count == 3 && c->modes[0].line == 10);
	/* The later of two lines for one knob wins, as in nvpmodel. */
	CHECK(str_is(coh_nvpmodel_conf_value(c, 7, "GPU", "MAX_FREQ"), "918000000"));
	CHECK(str_is(coh_nvpmodel_conf_value(c, 7, "CPU_ONLINE", "CORE_0"), "1"));
	CHECK(c->param_count == 2 && c->params[0].arg_count == 1);
	CHECK(str_is(coh_nvpmodel_conf_path(c, "CPU_ONLINE", "CORE_0"),
		     "/sys/devices/system/cpu/cpu0/online"));
	CHECK(c->params[1].type == COH_NVPMODEL_PARAM_OTHER &&
	      !strcmp(c->params[1].type_name, "SOMETHING_NEW"));
	/* FILE_STR, ARG_DEFAULT, ODD LINE, FAN_CONFIG + 1, the last line. */
	CHECK(c->ignored_lines == 6);
	coh_nvpmodel_conf_free(c);
	return T_PASS;
}

/* The older name reader must agree with the full parser on every mode. */
static int check_names_agree(const char *text, const struct coh_nvpmodel_conf *c)
{
	char name[64];

	for (size_t i = 0; i < c->mode_count; i++) {
		CHECK(coh_nvpmodel_conf_mode_name(text, c->modes[i].id, name,
						  sizeof(name), NULL) == 0);
		CHECK(!strcmp(name, c->modes[i].name));
	}
	return T_PASS;
}

static int check_file_agrees(const char *path)
{
	struct coh_nvpmodel_conf *c = NULL;
	struct pep_err err = { 0 };
	char *text = t_read_file(path);
	int r = T_FAIL;

	if (!text)
		fprintf(stderr, "cannot read %s\n", path);
	else if (coh_nvpmodel_conf_parse(text, path, &c, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	else
		r = check_names_agree(text, c);
	coh_nvpmodel_conf_free(c);
	free(text);
	return r;
}

/* Our fixtures and every sysroot tree's conf. */
static int test_reference_model(void)
{
	static const char *const patterns[] = {
		"nvpmodel/*-*.conf", "sysroots/*/etc/nvpmodel/*.conf",
	};
	char pattern[512];
	glob_t g;

	for (size_t i = 0; i < 2; i++) {
		snprintf(pattern, sizeof(pattern), "%s/%s", fixtures, patterns[i]);
		CHECK(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc >= 5);
		for (size_t j = 0; j < g.gl_pathc; j++) {
			if (check_file_agrees(g.gl_pathv[j]) != T_PASS) {
				fprintf(stderr, "  in %s\n", g.gl_pathv[j]);
				globfree(&g);
				return T_FAIL;
			}
		}
		globfree(&g);
	}
	return T_PASS;
}

/* Parse, use and free: any result but 0 or -EINVAL is a failure. */
static int parse_any(const char *text, size_t len)
{
	struct coh_nvpmodel_conf *c;
	struct pep_err err;
	char why[128];
	int r = coh_nvpmodel_conf_parse(text, "cut.conf", &c, &err);

	if (r == 0) {
		coh_nvpmodel_needs_reboot(c, 0, c->modes[c->mode_count - 1].id,
					  why, sizeof(why));
		coh_nvpmodel_conf_free(c);
	} else if (r != -EINVAL || c || strncmp(err.msg, "cut.conf:", 9)) {
		fprintf(stderr, "prefix of %zu bytes: %d '%s'\n", len, r, err.msg);
		return T_FAIL;
	}
	return T_PASS;
}

static int check_prefixes(const char *file)
{
	char path[512];
	char *text = read_fixture(file, path, sizeof(path));
	size_t len = text ? strlen(text) : 0;
	char *cut = malloc(len + 1);
	int r = text && cut ? T_PASS : T_ERROR;

	/* Also flip one byte per prefix into garbage, deterministically. */
	for (size_t n = 0; r == T_PASS && n <= len; n++) {
		memcpy(cut, text, n);
		cut[n] = '\0';
		r = parse_any(cut, n);
		if (r == T_PASS && n > 0) {
			cut[(n * 7919 + 13) % n] = (char)(n * 31 % 255 + 1);
			r = parse_any(cut, n);
		}
	}
	free(cut);
	free(text);
	return r;
}

static int test_truncated(void)
{
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		CHECK(check_prefixes(modules[i].file) == T_PASS);
	CHECK(check_prefixes("broken.conf") == T_PASS);
	return T_PASS;
}

/* A tree whose nvpmodel.conf is a fixture after pad_bytes of comments. */
static int big_conf_tree(char *root, size_t size, size_t pad_bytes)
{
	char path[600], *text = read_fixture("orin-nano-8gb-super.conf", path, sizeof(path));
	static const char line[] = "# padding, as a vendor's long change log might be\n";
	FILE *f;

	snprintf(root, size, "/tmp/coh-nvpmodel-XXXXXX");
	if (!text || !mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib/nvpmodel", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib/nvpmodel/status", root);
	f = fopen(path, "w");
	if (!f || fputs("pmode:0002 fmode:quiet\n", f) < 0 || fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/nvpmodel.conf", root);
	f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t n = 0; n < pad_bytes; n += sizeof(line) - 1)
		fputs(line, f);
	fputs(text, f);
	free(text);
	return fclose(f);
}

static void remove_tree(const char *root)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

static int check_big(const char *root)
{
	struct coh_sysroot_opts so = { .root = root };
	struct coh_nvpmodel_conf *c = NULL;
	struct coh_power_mode mode;
	struct coh_notes notes = { 0 };
	struct coh_sysroot *sr;

	CHECK(coh_sysroot_open(&sr, &so, NULL) == 0);
	CHECK(coh_nvpmodel_conf_load(sr, &c, NULL) == 0);
	CHECK(c->mode_count == 4 && coh_nvpmodel_conf_mode(c, 2));
	coh_nvpmodel_conf_free(c);
	CHECK(coh_power_mode_read(sr, &mode, &notes) == 0);
	CHECK(mode.id == 2 && !strcmp(mode.name, "MAXN_SUPER") && notes.count == 0);
	coh_sysroot_close(sr);
	return T_PASS;
}

/* `cohete power` says so too, and fails. */
static int check_cli_too_big(const char *root)
{
	const char *bin = getenv("COHETE_BIN"), *run = getenv("COHETE_RUN");
	char cmd[1024], out[1024] = "";
	size_t n;
	FILE *p;

	if (!bin)
		return T_PASS;
	snprintf(cmd, sizeof(cmd), "%s '%s' power --sysroot '%s' 2>&1", run ? run : "", bin,
		 root);
	p = popen(cmd, "r");
	CHECK(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	CHECK(pclose(p) != 0);
	CHECK(strstr(out, "/etc/nvpmodel.conf") && strstr(out, "1048576 bytes"));
	return T_PASS;
}

static int check_too_big(const char *root)
{
	struct coh_sysroot_opts so = { .root = root };
	struct coh_power_set_opts o = { .nvpmodel = "/bin/false" };
	struct coh_nvpmodel_conf *c = NULL;
	struct coh_power_change ch;
	struct coh_power_mode mode;
	struct coh_notes notes = { 0 };
	struct coh_sysroot *sr;
	struct pep_err err;

	CHECK(coh_sysroot_open(&sr, &so, NULL) == 0);
	CHECK(coh_nvpmodel_conf_load(sr, &c, &err) == -EFBIG && !c);
	CHECK(strstr(err.msg, "/etc/nvpmodel.conf") && strstr(err.msg, "1048576 bytes"));
	CHECK(coh_power_set_mode(sr, &o, 0, &ch, &err) == -EFBIG);
	CHECK(strstr(err.msg, "/etc/nvpmodel.conf") && strstr(err.msg, "1048576"));
	/* The status sample says why the name is missing. */
	CHECK(coh_power_mode_read(sr, &mode, &notes) == 0 && mode.id == 2 && !mode.name[0]);
	CHECK(notes.count == 1 && strstr(notes.note[0].reason, "larger than"));
	coh_sysroot_close(sr);
	return check_cli_too_big(root);
}

/* Past the old 256 KiB buffer: read whole. Past the cap: refused. */
static int test_big_files(void)
{
	char root[64];
	int rc;

	CHECK(big_conf_tree(root, sizeof(root), 300 * 1024) == 0);
	rc = check_big(root);
	remove_tree(root);
	CHECK(rc == T_PASS);
	CHECK(big_conf_tree(root, sizeof(root), COH_NVPMODEL_CONF_MAX) == 0);
	rc = check_too_big(root);
	remove_tree(root);
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	t_run("modules", test_modules, &rc);
	t_run("nano_super_values", test_nano_super_values, &rc);
	t_run("nx_agx_values", test_nx_agx_values, &rc);
	t_run("reboot", test_reboot, &rc);
	t_run("reboot_fbp_and_unset", test_reboot_fbp_and_unset, &rc);
	t_run("broken", test_broken, &rc);
	t_run("bad_inline", test_bad_inline, &rc);
	t_run("crlf", test_crlf, &rc);
	t_run("odd_forms", test_odd_forms, &rc);
	t_run("reference_model", test_reference_model, &rc);
	t_run("truncated", test_truncated, &rc);
	t_run("big_files", test_big_files, &rc);
	return rc;
}
