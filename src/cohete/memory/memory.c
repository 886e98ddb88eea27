/*
 * Live memory: /proc/meminfo (its lines parsed by device/meminfo.c, which
 * identifying a machine needs too), /proc/swaps and /sys/block/zram*.
 *
 * MemAvailable is the kernel's own estimate of what can be allocated
 * without swapping; it is reported as is, never recomputed. Jetson kernels
 * add NvMapMemUsed (memory shared with the GPU through nvmap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/memory.h>

#include "internal.h"
#include "device/meminfo.h"

int coh_meminfo_parse(const char *text, struct coh_meminfo *mi,
		      struct pep_err *err)
{
	const struct coh__meminfo_field fields[] = {
		{ "MemTotal", &mi->total_kb },
		{ "MemFree", &mi->free_kb },
		{ "MemAvailable", &mi->available_kb },
		{ "Buffers", &mi->buffers_kb },
		{ "Cached", &mi->cached_kb },
		{ "SwapTotal", &mi->swap_total_kb },
		{ "SwapFree", &mi->swap_free_kb },
		{ "NvMapMemUsed", &mi->nvmap_used_kb },
	};

	return coh__meminfo_parse(text, fields, ARRAY_SIZE(fields), err);
}

static void note_missing(struct coh_notes *notes, const struct coh_meminfo *mi)
{
	if (mi->total_kb == COH_NA)
		coh_notes_add(notes, "memory.total_bytes",
			      "/proc/meminfo: no MemTotal line");
	if (mi->available_kb == COH_NA)
		coh_notes_add(notes, "memory.available_bytes",
			      "/proc/meminfo: no MemAvailable line");
}

static int64_t mm_stat_field(const char *text, int index)
{
	char *end;

	for (int i = 0; i <= index; i++) {
		long long v = strtoll(text, &end, 10);

		if (end == text)
			return COH_NA;
		if (i == index)
			return v;
		text = end;
	}
	return COH_NA;
}

/* "lzo-rle [lz4] zstd" -> "lz4" */
static void selected_algorithm(const char *text, char *out, size_t size)
{
	const char *open = strchr(text, '['), *close;

	out[0] = '\0';
	if (!open || !(close = strchr(open, ']')))
		return;
	if ((size_t)(close - open - 1) < size) {
		memcpy(out, open + 1, (size_t)(close - open - 1));
		out[close - open - 1] = '\0';
	}
}

static void read_zram(const struct coh_sysroot *sr, const char *name,
		      int64_t disksize, const char *swaps, struct coh_zram *z)
{
	char path[128], text[256], dev[32];

	coh__strlcpy(z->name, name, sizeof(z->name));
	z->disksize_bytes = disksize;
	z->orig_data_bytes = z->compr_data_bytes = z->mem_used_bytes = COH_NA;
	snprintf(path, sizeof(path), "/sys/block/%s/mm_stat", name);
	if (coh_sysroot_read(sr, path, text, sizeof(text), NULL) >= 0) {
		z->orig_data_bytes = mm_stat_field(text, 0);
		z->compr_data_bytes = mm_stat_field(text, 1);
		z->mem_used_bytes = mm_stat_field(text, 2);
	}
	snprintf(path, sizeof(path), "/sys/block/%s/comp_algorithm", name);
	if (coh_sysroot_read(sr, path, text, sizeof(text), NULL) >= 0)
		selected_algorithm(text, z->algorithm, sizeof(z->algorithm));
	snprintf(dev, sizeof(dev), "/dev/%s ", name);
	z->swap = swaps && strstr(swaps, dev) != NULL;
}

static void read_zram_devices(const struct coh_sysroot *sr,
			      struct coh_memory *out)
{
	struct coh_names names;
	char swaps[4096];
	int have_swaps;

	if (coh_sysroot_list(sr, "/sys/block", &names, NULL) < 0)
		return;
	have_swaps = coh_sysroot_read(sr, "/proc/swaps", swaps, sizeof(swaps),
				      NULL) >= 0;
	for (size_t i = 0; i < names.count && out->zram_count < COH_ZRAM_MAX; i++) {
		int64_t size;
		char path[128];

		if (strncmp(names.names[i], "zram", 4))
			continue;
		/* An unconfigured zram device has disksize 0: not in use. */
		snprintf(path, sizeof(path), "/sys/block/%s/disksize",
			 names.names[i]);
		if (coh_sysroot_read_s64(sr, path, &size, NULL) < 0 || size <= 0)
			continue;
		read_zram(sr, names.names[i], size, have_swaps ? swaps : NULL,
			  &out->zram[out->zram_count++]);
	}
	coh_names_free(&names);
}

int coh_memory_read(const struct coh_sysroot *sr, struct coh_memory *out,
		    struct coh_notes *notes)
{
	struct pep_err err;
	char text[8192];

	memset(out, 0, sizeof(*out));
	if (coh_sysroot_read(sr, "/proc/meminfo", text, sizeof(text), &err) < 0) {
		coh_meminfo_parse("", &out->info, NULL);
		coh__note_read_error(notes, "memory", &err);
	} else if (coh_meminfo_parse(text, &out->info, &err) < 0) {
		coh_notes_add_err(notes, "memory", &err);
	}
	note_missing(notes, &out->info);
	read_zram_devices(sr, out);
	return 0;
}
