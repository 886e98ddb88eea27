/*
 * libFuzzer target for what the Jetson executor reads from a device's
 * agent: the GET /v1/status document coh_fleet_gate_decide() judges. The
 * first byte picks the task's memory need and what tasks hold there
 * already (0, 1 MiB, 1 GiB, or near UINT64_MAX to find overflows); the
 * rest is the document. Whatever it is, the verdict is one of the four,
 * the reason is a NUL-terminated line naming the device exactly when the
 * task is refused, a task let through with a need fits the room beside
 * what is held, and a closed breaker is "ok" or "warning". Built by
 * scripts/fuzz.sh, replayed over its corpus by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/fleet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t amounts[] = { 0, 1ull << 20, 1ull << 30, UINT64_MAX - 5 };

static void check(const struct coh_fleet_gate *g, uint64_t need, uint64_t held)
{
	if (g->verdict != 0 && g->verdict != -EHOSTDOWN && g->verdict != -EBUSY &&
	    g->verdict != -EPROTO)
		abort();
	if (!memchr(g->reason, '\0', sizeof(g->reason)) ||
	    !memchr(g->breaker, '\0', sizeof(g->breaker)))
		abort();
	if (!g->verdict != !g->reason[0])
		abort();
	if (g->verdict && strncmp(g->reason, "dev: ", 5))
		abort();
	if (g->verdict)
		return;
	if (strcmp(g->breaker, "ok") && strcmp(g->breaker, "warning"))
		abort();
	if (need && (!g->has_room || g->room_bytes < held ||
		     g->room_bytes - held < need))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coh_fleet_gate g;
	uint64_t need, held;

	if (size < 1)
		return 0;
	need = amounts[data[0] & 3];
	held = amounts[(data[0] >> 2) & 3];
	coh_fleet_gate_decide("dev", (const char *)data + 1, size - 1, need, held, &g);
	check(&g, need, held);
	return 0;
}
