/*
 * pepita uring probe: what the running kernel's io_uring supports, from
 * pep_uring_probe(): the kernel release, the feature bits by name, the
 * set-up flags a ring can get, and every opcode pepita knows or the kernel
 * reports, supported or not. Exit 69 where io_uring is missing, disabled or
 * forbidden (a container's seccomp profile), with the library's reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pepita/core.h>
#include <pepita/uring.h>

#include "cmd.h"
#include "json_doc.h"

static const struct {
	uint32_t flag;
	const char *name;
} setup_flags[] = {
	{ PEP_URING_SQE128, "sqe128" },
	{ PEP_URING_SINGLE_ISSUER, "single_issuer" },
	{ PEP_URING_COOP_TASKRUN, "coop_taskrun" },
	{ PEP_URING_DEFER_TASKRUN, "defer_taskrun" },
	{ PEP_URING_SQPOLL, "sqpoll" },
};

#define N_SETUP_FLAGS (sizeof(setup_flags) / sizeof(setup_flags[0]))

static void probe_usage(FILE *out)
{
	fprintf(out, "usage: pepita uring probe [--json]\n\n"
		"Show the running kernel's io_uring: its feature bits, the\n"
		"ring set-up flags pepita can get, and every opcode with\n"
		"whether the kernel supports it. Exits 69 when io_uring is\n"
		"missing, disabled by sysctl or blocked by seccomp.\n\n"
		"   --json     print one JSON document instead of text\n"
		"   -h, --help show this help\n");
}

/* The highest opcode worth a row: the kernel's or the last one named. */
static unsigned int last_listed_op(const struct pep_uring_probe *p)
{
	unsigned int last = p->last_op;

	for (unsigned int op = last + 1; op < 256; op++)
		if (pep_uring_op_name(op))
			last = op;
	return last;
}

static int print_text(const struct pep_uring_probe *p)
{
	const char *name;
	char unnamed[16];

	printf("kernel:      %s\n", p->kernel);
	printf("last opcode: %u\n", p->last_op);
	printf("features:\n");
	for (unsigned int bit = 0; bit < 32; bit++) {
		name = pep_uring_feature_name(bit);
		if (!name && !(p->features & (1u << bit)))
			continue;
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "bit-%u", bit);
			name = unnamed;
		}
		printf("   %-18s %s\n", name,
		       p->features & (1u << bit) ? "yes" : "no");
	}
	printf("setup flags:\n");
	for (size_t i = 0; i < N_SETUP_FLAGS; i++)
		printf("   %-18s %s\n", setup_flags[i].name,
		       p->setup_flags & setup_flags[i].flag ? "yes" : "no");
	printf("opcodes:\n");
	for (unsigned int op = 0; op <= last_listed_op(p); op++) {
		name = pep_uring_op_name(op);
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "op-%u", op);
			name = unnamed;
		}
		printf("   %3u %-18s %s\n", op, name,
		       p->supported[op] ? "yes" : "no");
	}
	return CMD_EXIT_OK;
}

/* "SINGLE_MMAP" -> "single_mmap": JSON keys are snake_case. */
static void lower(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static json_t *features_json(const struct pep_uring_probe *p)
{
	json_t *obj = json_object();
	char key[32];

	for (unsigned int bit = 0; obj && bit < 32; bit++) {
		const char *name = pep_uring_feature_name(bit);

		if (name)
			lower(key, sizeof(key), name);
		else if (p->features & (1u << bit))
			snprintf(key, sizeof(key), "bit_%u", bit);
		else
			continue;
		if (json_object_set_new(obj, key,
					json_boolean(p->features & (1u << bit)))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *setup_flags_json(const struct pep_uring_probe *p)
{
	json_t *obj = json_object();

	for (size_t i = 0; obj && i < N_SETUP_FLAGS; i++) {
		if (json_object_set_new(obj, setup_flags[i].name,
					json_boolean(p->setup_flags &
						     setup_flags[i].flag))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static json_t *opcodes_json(const struct pep_uring_probe *p)
{
	json_t *arr = json_array();

	for (unsigned int op = 0; arr && op <= last_listed_op(p); op++) {
		const char *name = pep_uring_op_name(op);

		/* "o" steals the name's reference, also on failure. */
		if (json_array_append_new(arr, json_pack("{s:I, s:o, s:b}",
				"op", (json_int_t)op,
				"name", name ? json_string(name) : json_null(),
				"supported", p->supported[op]))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Schema pepita.uring.probe/2 (docs/pepita.1, JSON OUTPUT). */
static int print_json(const struct pep_uring_probe *p)
{
	json_t *body = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}",
				 "kernel", p->kernel,
				 "last_op", (json_int_t)p->last_op,
				 "features_raw", (json_int_t)p->features,
				 "features", features_json(p),
				 "setup_flags", setup_flags_json(p),
				 "opcodes", opcodes_json(p));

	return cli_json_print(cli_json_merge(cli_json_doc("pepita.uring.probe/2",
							  pep_time_real_ms()), body));
}

static int cmd_probe(int argc, char **argv)
{
	struct pep_uring_probe p;
	struct pep_err err;
	bool json;
	int ret;

	ret = cli_json_only_args(argc, argv, probe_usage, &json);
	if (ret >= 0)
		return ret;
	pep_err_clear(&err);
	ret = pep_uring_probe(&p, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -ENOSYS || ret == -EPERM || ret == -EOPNOTSUPP ?
		       CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
	}
	return json ? print_json(&p) : print_text(&p);
}

static const struct cmd cmds[] = {
	{ "probe", cmd_probe, "what this kernel's io_uring supports" },
};

int cmd_uring(int argc, char **argv)
{
	static const struct cli_level level = {
		.cmds = cmds, .count = CLI_ARRAY_SIZE(cmds),
	};

	return cli_dispatch(&level, argc, argv);
}
