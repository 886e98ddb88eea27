/*
 * Hardware engines (video encode/decode, JPEG, VIC, DLA, PVA, OFA, audio,
 * security) through their clocks in debugfs: on when the clock's enable
 * count is above zero, with its rate and limits. Root only. The clock tree
 * holds hundreds of clocks, so it is listed once and later samples read
 * the engines an earlier sample found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

#define CLK_DIR "/sys/kernel/debug/clk"

/* Engine clocks start with one of these; "se" must match whole. */
static const char *const prefixes[] = { "ape", "cvnas", "dla", "msenc",
					"nvdec", "nvenc", "nvjpg", "ofa",
					"pva", "vic" };

static int is_engine_clock(const char *name)
{
	if (strchr(name, '.'))		/* "ape.buffer", "nvdec.buf": parts */
		return 0;
	if (!strcmp(name, "se"))
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* A rate file; "no cap" (2^64 - 1) and unreadable are COH_NA. */
static int64_t read_rate(const struct coh_sysroot *sr, const char *clock,
			 const char *file)
{
	char path[160], text[32], *end;
	unsigned long long v;

	snprintf(path, sizeof(path), CLK_DIR "/%s/%s", clock, file);
	if (coh_sysroot_read_str(sr, path, text, sizeof(text), NULL) <= 0)
		return COH_NA;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || end == text || v > INT64_MAX)
		return COH_NA;
	return (int64_t)v;
}

static int read_engine(const struct coh_sysroot *sr, const char *clock,
		       struct coh_engine *e)
{
	int64_t count;

	memset(e, 0, sizeof(*e));
	count = read_rate(sr, clock, "clk_enable_count");
	e->cur_hz = read_rate(sr, clock, "clk_rate");
	if (count == COH_NA && e->cur_hz == COH_NA)
		return -ENOENT;
	coh__strlcpy(e->name, clock, sizeof(e->name));
	e->on = count != COH_NA && count > 0;
	e->min_hz = read_rate(sr, clock, "clk_min_rate");
	e->max_hz = read_rate(sr, clock, "clk_max_rate");
	return 0;
}

static void add(const struct coh_sysroot *sr, const char *clock,
		struct coh_engines *out)
{
	if (out->count < COH_ENGINES_MAX &&
	    read_engine(sr, clock, &out->engine[out->count]) == 0)
		out->count++;
}

static void note_unreadable(const struct coh_sysroot *sr, int ret,
			    struct coh_notes *notes)
{
	if (ret == -EACCES || coh_sysroot_exists(sr, "/sys/kernel/debug"))
		coh_notes_add(notes, "engines", "clocks are in debugfs: needs root");
	else
		coh_notes_add(notes, "engines", "debugfs not mounted");
}

int coh__engines_read(const struct coh_sysroot *sr,
		      const struct coh_engines *prev, struct coh_engines *out,
		      struct coh_notes *notes)
{
	struct coh_names names;
	int ret;

	memset(out, 0, sizeof(*out));
	if (prev && prev->readable) {
		out->readable = 1;
		for (unsigned int i = 0; i < prev->count; i++)
			add(sr, prev->engine[i].name, out);
		return 0;
	}
	ret = coh_sysroot_list(sr, CLK_DIR, &names, NULL);
	if (ret < 0) {
		note_unreadable(sr, ret, notes);
		return 0;
	}
	out->readable = 1;
	for (size_t i = 0; i < names.count; i++)
		if (is_engine_clock(names.names[i]))
			add(sr, names.names[i], out);
	coh_names_free(&names);
	return 0;
}
