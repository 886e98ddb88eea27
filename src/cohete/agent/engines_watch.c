/*
 * engines_watch.c - a deploy does not wait for the agent's next sample.
 * `cohete engine activate` makes a model's candidate link and waits for
 * the supervisor to start and probe it; the sampler ticks the supervisor
 * once per interval (a second by default), so without this a deploy
 * would wait up to a second per device just to be noticed. An inotify
 * watch on ROOT/engines and each model's directory kicks the sampler
 * when a link (active, candidate, previous) or a model directory comes
 * or goes; the supervisor's own writes (state.json, logs, specs) are
 * ignored, so a tick never wakes itself up. While an engine starts or
 * stops, the sampler ticks every 50 ms instead (agent.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cohete/agent.h>

#include "internal.h"
#include "agent_priv.h"

#define LINK_EVENTS	(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)

static bool is_link_name(const char *name)
{
	return !strcmp(name, "active") || !strcmp(name, "candidate") ||
	       !strcmp(name, "previous");
}

static void watch_dir(struct coh_agent *a, const char *dir)
{
	inotify_add_watch(a->watch_fd, dir, LINK_EVENTS | IN_ONLYDIR);
}

/* ROOT/engines and every model directory in it (again: adds nothing new). */
static void watch_all(struct coh_agent *a)
{
	char dir[4096];
	char **names = NULL;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/engines", a->engines_root);
	watch_dir(a, a->engines_root);
	watch_dir(a, dir);
	if (coh_engine_models(a->engines_root, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char sub[4352];

		snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
		watch_dir(a, sub);
	}
	coh_engine_models_free(names, n);
}

/* Read what came; 1 when it calls for a tick. */
static int drain(struct coh_agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int want = 0, dirs = 0;
	ssize_t len;

	while ((len = read(a->watch_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len; ) {
			const struct inotify_event *e = (const void *)p;

			if (e->mask & IN_ISDIR)
				dirs = want = 1;	/* engines/ or a model's */
			else if (e->len && is_link_name(e->name))
				want = 1;
			p += sizeof(*e) + e->len;
		}
	}
	if (dirs)
		watch_all(a);
	return want;
}

static void *watch_main(void *arg)
{
	struct coh_agent *a = arg;
	struct pollfd p[2] = {
		{ .fd = a->watch_fd, .events = POLLIN },
		{ .fd = a->watch_stop[0], .events = POLLIN },
	};

	while (poll(p, 2, -1) >= 0 || errno == EINTR) {
		if (p[1].revents)
			break;
		if ((p[0].revents & POLLIN) && drain(a))
			coh__agent_kick(a);
	}
	return NULL;
}

/* Best effort: without inotify, the sampler's tick still gets there. */
void coh__agent_watch_start(struct coh_agent *a)
{
	a->watch_fd = -1;
	a->watch_stop[0] = a->watch_stop[1] = -1;
	if (!a->engines_root)
		return;
	a->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->watch_fd < 0 || pipe2(a->watch_stop, O_CLOEXEC) < 0) {
		coh__agent_log(a, "engines: no inotify (%s): a new version waits for the next sample",
			       strerror(errno));
		coh__agent_watch_stop(a);
		return;
	}
	watch_all(a);
	if (pthread_create(&a->watcher, NULL, watch_main, a) != 0) {
		coh__agent_watch_stop(a);
		return;
	}
	a->watching = 1;
}

void coh__agent_watch_stop(struct coh_agent *a)
{
	if (a->watching) {
		(void)!write(a->watch_stop[1], "x", 1);
		pthread_join(a->watcher, NULL);
		a->watching = 0;
	}
	if (a->watch_fd >= 0)
		close(a->watch_fd);
	for (int i = 0; i < 2; i++)
		if (a->watch_stop[i] >= 0)
			close(a->watch_stop[i]);
	a->watch_fd = a->watch_stop[0] = a->watch_stop[1] = -1;
}
