/*
 * Helpers every cohete command shares: where the sysroot comes from, when
 * to use colour.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cohete/sysroot.h>

#include "cmd.h"

int cli_open_sysroot(const char *option, struct coh_sysroot **out)
{
	struct coh_sysroot_opts opts = { .root = option };
	struct pep_err err;

	if (!opts.root)
		opts.root = getenv("COHETE_SYSROOT");
	if (coh_sysroot_open(out, &opts, &err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	return CMD_EXIT_OK;
}

int cli_use_color(FILE *stream)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no_color && *no_color)
		return 0;
	if (term && !strcmp(term, "dumb"))
		return 0;
	return isatty(fileno(stream));
}
