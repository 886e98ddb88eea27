/*
 * The integrated GPU through devfreq. Its node moves between releases
 * (57000000.gpu on Nano, 17000000.gp10b/gv11b/ga10b on TX2/Xavier/Orin R35,
 * 17000000.gpu on Orin R36, gpu-gpc-0 on Thor), so it is found by the
 * device-tree node name, never by path. The load file (per-mille, already
 * smoothed by the driver) lives in the GPU device, the clocks in devfreq.
 */
#include <stdio.h>
#include <string.h>

#include <cohete/status.h>

#include "internal.h"

#define DEVFREQ "/sys/class/devfreq"

static const char *const gpu_nodes[] = { "gpu", "gp10b", "gv11b", "ga10b",
					 "gb10b" };

static int is_gpu(const struct coh_sysroot *sr, const char *entry)
{
	char path[160], node[64];

	snprintf(path, sizeof(path), DEVFREQ "/%s/device/of_node/name", entry);
	if (coh_sysroot_read_str(sr, path, node, sizeof(node), NULL) <= 0)
		coh__strlcpy(node, entry, sizeof(node));
	for (size_t i = 0; i < ARRAY_SIZE(gpu_nodes); i++)
		if (!strcmp(node, gpu_nodes[i]))
			return 1;
	return strstr(node, "gpu") != NULL;
}

static int64_t gpu_value(const struct coh_sysroot *sr, const char *entry,
			 const char *file, struct coh_notes *notes,
			 const char *field)
{
	char path[160];

	snprintf(path, sizeof(path), DEVFREQ "/%s/%s", entry, file);
	return coh__read_reading(sr, path, notes, field);
}

static void read_gpu(const struct coh_sysroot *sr, const char *entry,
		     struct coh_gpu *gpu, struct coh_notes *notes)
{
	char path[160];

	gpu->present = 1;
	coh__strlcpy(gpu->name, entry, sizeof(gpu->name));
	gpu->load_permille = gpu_value(sr, entry, "device/load", notes,
				       "gpu.load_percent");
	gpu->cur_hz = gpu_value(sr, entry, "cur_freq", notes, "gpu.cur_hz");
	gpu->min_hz = gpu_value(sr, entry, "min_freq", notes, "gpu.min_hz");
	gpu->max_hz = gpu_value(sr, entry, "max_freq", notes, "gpu.max_hz");
	snprintf(path, sizeof(path), DEVFREQ "/%s/governor", entry);
	coh_sysroot_read_str(sr, path, gpu->governor, sizeof(gpu->governor),
			     NULL);
}

int coh__gpu_read(const struct coh_sysroot *sr, struct coh_gpu *gpu,
		  struct coh_notes *notes)
{
	struct coh_names names;

	memset(gpu, 0, sizeof(*gpu));
	gpu->load_permille = gpu->cur_hz = gpu->min_hz = gpu->max_hz = COH_NA;
	if (coh_sysroot_list(sr, DEVFREQ, &names, NULL) == 0) {
		for (size_t i = 0; i < names.count; i++) {
			if (is_gpu(sr, names.names[i])) {
				read_gpu(sr, names.names[i], gpu, notes);
				break;
			}
		}
		coh_names_free(&names);
	}
	if (!gpu->present)
		coh_notes_add(notes, "gpu", "no GPU under " DEVFREQ);
	return 0;
}
