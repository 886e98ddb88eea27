/*
 * cli/cohete/monitor.h - what the files of `cohete monitor` share: its
 * state, the history rings behind the graphs, drawing and the overlays.
 *
 * cmd_monitor.c owns the terminal, the event loop and the keys of the main
 * view; monitor_draw.c turns a struct monitor into a frame; monitor_menu.c
 * holds the help, the power-mode menu and the fan prompt (their keys,
 * their actions through libcohete, their windows).
 * Threading: one thread.
 */
#ifndef CLI_COHETE_MONITOR_H
#define CLI_COHETE_MONITOR_H

#define NCURSES_WIDECHAR 1

#include <curses.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cohete/thermal.h>

struct coh_nvpmodel_conf;
struct coh_status;
struct coh_sysroot;

/* Samples kept per series: wider than any pane's graph. */
#define MON_HISTORY 512

/* A fixed ring; a value of COH_NA is a gap in the graph. */
struct mon_series {
	int64_t value[MON_HISTORY];
	unsigned int next;		/* slot the next value goes into */
	unsigned int count;		/* values held, at most MON_HISTORY */
};

enum mon_series_id {
	MON_CPU,			/* all online cores, permille */
	MON_GPU,			/* permille */
	MON_RAM,			/* used share of MemTotal, permille */
	MON_TEMP,			/* the breaker's input, m°C */
	MON_POWER,			/* the rail total, mW */
	MON_SERIES,
};

enum mon_overlay {
	MON_OVERLAY_NONE,
	MON_OVERLAY_HELP,
	MON_OVERLAY_POWER,		/* the power-mode menu */
	MON_OVERLAY_FAN,		/* the fan prompt */
};

/* What a key asks of the event loop; when several keys came, the largest. */
enum mon_action {
	MON_ACT_NONE,
	MON_ACT_REDRAW,
	MON_ACT_SAMPLE,			/* the machine changed: sample now */
	MON_ACT_QUIT,
};

/* Colour pairs (init_pair numbers). */
enum mon_pair {
	MON_PAIR_OK = 1,
	MON_PAIR_WARN,
	MON_PAIR_HOT,
	MON_PAIR_TITLE,
	MON_PAIR_BAR,			/* header and key bar */
};

struct monitor {
	const struct coh_sysroot *sr;
	const char *nvpmodel;		/* --nvpmodel; NULL = from PATH */
	struct coh_status *cur;		/* the latest sample */
	struct coh_status *spare;	/* the next sample is taken into this */
	struct mon_series series[MON_SERIES];
	double rate_hz;
	int utf8;			/* the locale's codeset is UTF-8 */
	int color;
	struct coh_thermal_guard_policy policy;	/* temperature colours, guard */
	struct coh_thermal_guard *guard;	/* the policy's breaker, fed every
					   sample: its state is shown; it
					   pauses nothing */
	enum mon_overlay overlay;
	struct coh_nvpmodel_conf *conf;	/* while the power menu is open */
	size_t menu_sel;		/* index into conf->modes */
	char fan_input[8];		/* what was typed in the fan prompt */
	char message[256];		/* the status line */
	int message_error;
	int loop_errno;			/* ppoll() failed: the monitor ends */
};

/* monitor_draw.c */

/* Append the latest sample's values to the series. */
void mon_history_push(struct monitor *m);

/* Draw the whole frame (panes, status line, any overlay) and show it. */
void mon_draw(const struct monitor *m);

/* The colour pair's attribute; 0 without colour. */
attr_t mon_pair(const struct monitor *m, enum mon_pair p);

/*
 * A framed, titled window of h x w in the middle of the screen (cut to
 * the screen), or NULL. The caller draws into it and deletes it.
 */
WINDOW *mon_popup(const struct monitor *m, int h, int w, const char *title);

/* monitor_menu.c */

/* Set the status line. */
void mon_say(struct monitor *m, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Open the power-mode menu or the fan prompt where permitted; otherwise
 * the status line says why not.
 */
void mon_open_power_menu(struct monitor *m);
void mon_open_fan_prompt(struct monitor *m);
void mon_close_overlay(struct monitor *m);

/*
 * A key while an overlay is open. orig is the signal mask a child
 * (nvpmodel) must run with.
 */
enum mon_action mon_overlay_key(struct monitor *m, int ch, const sigset_t *orig);

/* The open overlay's window, drawn (NULL when none); the caller deletes it. */
WINDOW *mon_overlay_draw(const struct monitor *m);

#endif /* CLI_COHETE_MONITOR_H */
