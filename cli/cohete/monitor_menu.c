/*
 * cohete monitor: the windows over the panes. The help; the power-mode
 * menu (modes from /etc/nvpmodel.conf, switched through
 * coh_power_set_mode, which runs nvpmodel and verifies the status file);
 * the fan prompt (coh_fan_set_pwm, which reads the PWM back).
 *
 * Both actions open only where they can work: root on the live machine
 * (a captured tree is changed by whoever may write it, nvpmodel getting
 * COHETE_SYSROOT), a mode table and an nvpmodel to run, a fan with a PWM.
 * Otherwise the status line says why not. A switch that needs a reboot
 * (GPU power gating) is left to `cohete power set --reboot-ok`.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/proc.h>
#include <cohete/power.h>
#include <cohete/status.h>

#include "monitor.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define FAN_STEP 26			/* about 10% of 255 */
#define CTRL_H 8
#define ESCAPE 27
#define DELETE 127

void mon_say(struct monitor *m, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->message, sizeof(m->message), fmt, ap);
	va_end(ap);
	m->message_error = error;
}

void mon_close_overlay(struct monitor *m)
{
	coh_nvpmodel_conf_free(m->conf);
	m->conf = NULL;
	m->fan_input[0] = '\0';
	m->overlay = MON_OVERLAY_NONE;
}

static int needs_root(const struct monitor *m)
{
	return coh_sysroot_is_live(m->sr) && geteuid() != 0;
}

/* ---- power mode ---- */

static int load_conf(const struct monitor *m, struct coh_nvpmodel_conf **conf,
		     char *why, size_t size)
{
	struct pep_err err;
	int ret = coh_nvpmodel_conf_load(m->sr, conf, &err);

	if (ret == -ENOENT)
		snprintf(why, size, "no /etc/nvpmodel.conf (not a Jetson, or nvpmodel "
			 "not installed)");
	else if (ret < 0)
		snprintf(why, size, "%s", err.msg);
	return ret < 0 ? ret : 0;
}

void mon_open_power_menu(struct monitor *m)
{
	const char *program = m->nvpmodel ? m->nvpmodel : "nvpmodel";
	struct coh_nvpmodel_conf *conf;
	char why[320], path[PATH_MAX];

	if (needs_root(m)) {
		mon_say(m, 1, "power mode not permitted: needs root "
			"(run cohete monitor as root)");
		return;
	}
	if (load_conf(m, &conf, why, sizeof(why)) < 0) {
		mon_say(m, 1, "power mode not permitted: %s", why);
		return;
	}
	if (pep_proc_find(program, path, sizeof(path)) < 0) {
		coh_nvpmodel_conf_free(conf);
		mon_say(m, 1, "power mode not permitted: %s%s", program,
			m->nvpmodel ? " is not an executable file" : " not found in PATH");
		return;
	}
	m->conf = conf;
	m->menu_sel = 0;
	for (size_t i = 0; i < conf->mode_count; i++)
		if (conf->modes[i].id == m->cur->mode.id)
			m->menu_sel = i;
	m->overlay = MON_OVERLAY_POWER;
	mon_say(m, 0, "choose a power mode; Enter switches, Esc closes");
}

/*
 * nvpmodel runs as a child: it must not inherit the signals the event
 * loop blocks, so they are unblocked around the call.
 */
static void switch_mode(struct monitor *m, const sigset_t *orig)
{
	const struct coh_nvpmodel_mode *mode = &m->conf->modes[m->menu_sel];
	struct coh_power_set_opts so = { .nvpmodel = m->nvpmodel };
	int64_t now = m->cur->mode.id, id = mode->id;
	struct coh_power_change ch;
	struct pep_err err;
	sigset_t loop_mask;
	char why[200];
	int ret;

	if (now != COH_NA && id != now &&
	    coh_nvpmodel_needs_reboot(m->conf, now, id, why, sizeof(why)) == 1) {
		mon_say(m, 1, "%s needs a reboot (%s): use 'cohete power set %" PRId64
			" --reboot-ok'", mode->name, why, id);
		return;
	}
	mon_say(m, 0, "switching the power mode to %s ...", mode->name);
	m->overlay = MON_OVERLAY_NONE;
	mon_draw(m);
	sigprocmask(SIG_SETMASK, orig, &loop_mask);
	ret = coh_power_set_mode(m->sr, &so, id, &ch, &err);
	sigprocmask(SIG_SETMASK, &loop_mask, NULL);
	if (ret < 0)
		mon_say(m, 1, "power mode: %s", err.msg);
	else if (!ch.changed)
		mon_say(m, 0, "power mode: already %s (%" PRId64 ")", ch.to_name, ch.to_id);
	else
		mon_say(m, 0, "power mode: %s (%" PRId64 "), verified", ch.to_name,
			ch.to_id);
}

static enum mon_action power_key(struct monitor *m, int ch, const sigset_t *orig)
{
	switch (ch) {
	case KEY_UP:
	case 'k':
		if (m->menu_sel > 0)
			m->menu_sel--;
		return MON_ACT_REDRAW;
	case KEY_DOWN:
	case 'j':
		if (m->menu_sel + 1 < m->conf->mode_count)
			m->menu_sel++;
		return MON_ACT_REDRAW;
	case '\r':
	case '\n':
	case KEY_ENTER:
		switch_mode(m, orig);
		mon_close_overlay(m);
		return MON_ACT_SAMPLE;
	case ESCAPE:
	case 'q':
	case 'p':
		mon_close_overlay(m);
		mon_say(m, 0, "%s", "");
		return MON_ACT_REDRAW;
	default:
		return MON_ACT_NONE;
	}
}

/* ---- fan ---- */

void mon_open_fan_prompt(struct monitor *m)
{
	const struct coh_fan *f = &m->cur->fan;

	if (needs_root(m)) {
		mon_say(m, 1, "fan not permitted: needs root (run cohete monitor as root)");
	} else if (!f->present) {
		mon_say(m, 1, "fan not permitted: no fan found (pwmfan, pwm-fan or "
			"fanN_input)");
	} else if (f->pwm == COH_NA) {
		mon_say(m, 1, "fan not permitted: %s has no PWM to set", f->source);
	} else {
		m->fan_input[0] = '\0';
		m->overlay = MON_OVERLAY_FAN;
		mon_say(m, 0, "fan: + or - steps, or type a PWM and press Enter");
	}
}

static void set_fan(struct monitor *m, int64_t pwm)
{
	struct pep_err err;

	pwm = pwm < 0 ? 0 : pwm > 255 ? 255 : pwm;
	if (coh_fan_set_pwm(m->sr, pwm, &err) < 0)
		mon_say(m, 1, "fan: %s", err.msg);
	else
		mon_say(m, 0, "fan: pwm set to %" PRId64 "/255 (%" PRId64 "%%), verified",
			pwm, (pwm * 100 + 127) / 255);
}

/* "128" -> 128, "50%" -> 128; -1 when neither. */
static int64_t parse_pwm(const char *text)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (end == text)
		return -1;
	if (!strcmp(end, "%"))
		return v >= 0 && v <= 100 ? (v * 255 + 50) / 100 : -1;
	return *end || v < 0 || v > 255 ? -1 : v;
}

static enum mon_action fan_enter(struct monitor *m)
{
	int64_t pwm = parse_pwm(m->fan_input);

	if (pwm < 0) {
		mon_say(m, 1, "fan: '%s' is not a PWM 0..255 or a percentage 0..100%%",
			m->fan_input);
		m->fan_input[0] = '\0';
		return MON_ACT_REDRAW;
	}
	set_fan(m, pwm);
	mon_close_overlay(m);
	return MON_ACT_SAMPLE;
}

static enum mon_action fan_key(struct monitor *m, int ch)
{
	size_t n = strlen(m->fan_input);

	if ((ch >= '0' && ch <= '9') || ch == '%') {
		if (n + 1 < sizeof(m->fan_input)) {
			m->fan_input[n] = (char)ch;
			m->fan_input[n + 1] = '\0';
		}
		return MON_ACT_REDRAW;
	}
	switch (ch) {
	case '+':
	case '=':
	case KEY_UP:
		set_fan(m, m->cur->fan.pwm + FAN_STEP);
		return MON_ACT_SAMPLE;
	case '-':
	case KEY_DOWN:
		set_fan(m, m->cur->fan.pwm - FAN_STEP);
		return MON_ACT_SAMPLE;
	case KEY_BACKSPACE:
	case DELETE:
	case CTRL_H:
		if (n)
			m->fan_input[n - 1] = '\0';
		return MON_ACT_REDRAW;
	case '\r':
	case '\n':
	case KEY_ENTER:
		return fan_enter(m);
	case ESCAPE:
	case 'q':
	case 'f':
		mon_close_overlay(m);
		mon_say(m, 0, "%s", "");
		return MON_ACT_REDRAW;
	default:
		return MON_ACT_NONE;
	}
}

enum mon_action mon_overlay_key(struct monitor *m, int ch, const sigset_t *orig)
{
	switch (m->overlay) {
	case MON_OVERLAY_POWER:
		return power_key(m, ch, orig);
	case MON_OVERLAY_FAN:
		return fan_key(m, ch);
	case MON_OVERLAY_HELP:
		mon_close_overlay(m);	/* any key */
		return MON_ACT_REDRAW;
	default:
		return MON_ACT_NONE;
	}
}

/* ---- windows ---- */

static WINDOW *draw_help(const struct monitor *m)
{
	static const char *const lines[] = {
		"q, Ctrl-C   quit",
		"p           power-mode menu (nvpmodel)",
		"f           fan speed",
		"h, ?        this help",
		"",
		"Power menu: Up/Down or j/k choose, Enter switches,",
		"Esc closes. Fan: + and - step 10%, or type a PWM",
		"0..255 (or N%) and press Enter; Esc closes.",
		"",
		"On the live machine both need root.",
		"",
		"Temperatures are green below the thermal policy's",
		"warning, yellow up to its trip, red at it, as in",
		"`cohete status`; the guard (the policy's breaker) is",
		"on the Thermal frame. Graphs show their scale.",
		"Any key closes this help.",
	};
	WINDOW *win = mon_popup(m, (int)ARRAY_SIZE(lines) + 2, 58, "Help");

	for (size_t i = 0; win && i < ARRAY_SIZE(lines); i++)
		mvwaddnstr(win, (int)i + 1, 2, lines[i], getmaxx(win) - 4);
	return win;
}

static WINDOW *draw_power_menu(const struct monitor *m)
{
	const struct coh_nvpmodel_conf *c = m->conf;
	int64_t now = m->cur->mode.id;
	int visible = (int)c->mode_count < LINES - 6 ? (int)c->mode_count : LINES - 6;
	int first, w = 58;
	WINDOW *win;

	if (visible < 1)
		visible = 1;
	first = (int)m->menu_sel >= visible ? (int)m->menu_sel - visible + 1 : 0;
	win = mon_popup(m, visible + 4, w, "Power mode");
	for (int row = 0; win && row < visible; row++) {
		const struct coh_nvpmodel_mode *mode = &c->modes[first + row];
		int reboot = now != COH_NA && mode->id != now &&
			     coh_nvpmodel_needs_reboot(c, now, mode->id, NULL, 0) == 1;

		if ((size_t)(first + row) == m->menu_sel)
			wattron(win, A_REVERSE);
		mvwprintw(win, row + 1, 2, "%c %2" PRId64 "  %-28.28s %-14s",
			  mode->id == now ? '*' : ' ', mode->id, mode->name,
			  reboot ? "needs reboot" :
			  mode->id == c->default_id ? "default" : "");
		wattroff(win, A_REVERSE);
	}
	if (win)
		mvwaddnstr(win, visible + 2, 2, "Enter switch   Esc close   * current",
			   getmaxx(win) - 4);
	return win;
}

static WINDOW *draw_fan_prompt(const struct monitor *m)
{
	const struct coh_fan *f = &m->cur->fan;
	WINDOW *win = mon_popup(m, 8, 52, "Fan");

	if (!win)
		return NULL;
	wmove(win, 1, 2);
	wprintw(win, "now   pwm ");
	if (f->pwm != COH_NA)
		wprintw(win, "%" PRId64 "/255 (%" PRId64 "%%)", f->pwm,
			(f->pwm * 100 + 127) / 255);
	else
		wprintw(win, "n/a");
	if (f->rpm != COH_NA)
		wprintw(win, ", %" PRId64 " rpm", f->rpm);
	mvwaddstr(win, 2, 2, "+ -   step 10% up or down");
	mvwaddstr(win, 3, 2, "0-9   a PWM 0..255 (or N%), then Enter");
	mvwaddstr(win, 4, 2, "Esc   close");
	mvwprintw(win, 6, 2, "> %s_", m->fan_input);
	return win;
}

WINDOW *mon_overlay_draw(const struct monitor *m)
{
	switch (m->overlay) {
	case MON_OVERLAY_HELP:
		return draw_help(m);
	case MON_OVERLAY_POWER:
		return m->conf ? draw_power_menu(m) : NULL;
	case MON_OVERLAY_FAN:
		return draw_fan_prompt(m);
	default:
		return NULL;
	}
}
