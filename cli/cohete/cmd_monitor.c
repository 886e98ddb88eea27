/*
 * cohete monitor: a full-screen live view of the machine, like jtop: CPU,
 * GPU, memory, thermal and power panes with history sparklines, the
 * nvpmodel mode, fan, EMC and engines; `p` switches the power mode and `f`
 * sets the fan where that is permitted. Samples come from libcohete
 * (coh_status_sample); drawing is in monitor_draw.c, the help, power menu
 * and fan prompt in monitor_menu.c.
 *
 * It must cost next to nothing on a small Jetson (under 1% of one core at
 * 1 Hz): between samples the process sleeps in ppoll() on the terminal
 * until the next sample is due or a key or signal arrives; a frame is
 * drawn only after a sample or a key. INT, TERM, HUP and WINCH are blocked
 * except inside that ppoll(), so none is lost between a check and the
 * sleep; the terminal is restored (endwin) on every way out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/status.h>
#include <cohete/thermal.h>

#include "cmd.h"
#include "monitor.h"

#define CTRL_C 3
#define ESCDELAY_MS 50			/* a lone Esc, not an arrow key's start */

struct monitor_opts {
	const char *sysroot;
	const char *nvpmodel;
	double rate_hz;
	int no_color;
	struct coh_thermal_guard_policy policy;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete monitor [--rate HZ] [--sysroot DIR] [--no-color]\n"
		"                      [--nvpmodel PATH] [--policy NAME] [--config FILE]\n\n"
		"A full-screen live view: CPU, GPU, memory, thermal and power with\n"
		"history sparklines; the nvpmodel mode, fan, EMC and engines.\n"
		"Keys: q quit, p power-mode menu, f fan, h help.\n\n"
		"  --rate HZ        samples per second, 1..10 (default 1)\n"
		"  --sysroot DIR    read /proc, /sys, /etc from DIR (also $COHETE_SYSROOT)\n"
		"  --no-color       no colour (also NO_COLOR)\n"
		"  --nvpmodel PATH  the nvpmodel program for `p` (default: from PATH)\n"
		"  --policy NAME    the thermal policy for the colours and the guard:\n"
		"                   conservative (default, as the agent), aggressive\n"
		"                   or one the --config file defines\n"
		"  --config FILE    cohete.yaml: defaults of --policy (this device's)\n"
		"                   and --nvpmodel (power.nvpmodel); also $COHETE_CONFIG\n"
		"  -h, --help       this help\n");
}

static int parse_opts(int argc, char **argv, struct monitor_opts *o)
{
	static const struct option longopts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "nvpmodel", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'P' },
		{ "config", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->rate_hz = 1;
	c = cli_config_open(argc, argv);
	if (c)
		return -c;
	if (cli_default_policy(&o->policy) < 0)
		return -CMD_EXIT_USAGE;
	if (cli_config())
		o->nvpmodel = cli_config()->cfg->power.nvpmodel;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "+h", longopts)) != -1) {
		switch (c) {
		case 'r':
			errno = 0;
			o->rate_hz = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(o->rate_hz >= 1 && o->rate_hz <= 10)) {
				cli_error("--rate: '%s' is not a number of Hz in 1..10",
					  optarg);
				return -CMD_EXIT_USAGE;
			}
			break;
		case 's': o->sysroot = optarg; break;
		case 'C': o->no_color = 1; break;
		case 'n': o->nvpmodel = optarg; break;
		case 'P':
			if (cli_policy("--policy", optarg, &o->policy) < 0)
				return -CMD_EXIT_USAGE;
			break;
		case 'F': break;	/* read by cli_config_open() */
		case 'h': usage(stdout); return 1;
		default:
			return -CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return -CMD_EXIT_USAGE;
	}
	return 0;
}

/* ---- keys and the loop ---- */

static enum mon_action on_key(struct monitor *m, int ch, const sigset_t *orig)
{
	if (ch == CTRL_C)
		return MON_ACT_QUIT;
	if (ch == KEY_RESIZE) {
		/* curses has resized its screens already; repaint all of it. */
		clearok(curscr, TRUE);
		return MON_ACT_REDRAW;
	}
	if (m->overlay != MON_OVERLAY_NONE)
		return mon_overlay_key(m, ch, orig);
	switch (ch) {
	case 'q':
	case 'Q':
		return MON_ACT_QUIT;
	case 'p':
		mon_open_power_menu(m);
		return MON_ACT_REDRAW;
	case 'f':
		mon_open_fan_prompt(m);
		return MON_ACT_REDRAW;
	case 'h':
	case '?':
		m->overlay = MON_OVERLAY_HELP;
		return MON_ACT_REDRAW;
	default:
		return MON_ACT_NONE;
	}
}

/*
 * Sleep until deadline_ns, a key or a signal; then read every key curses
 * has. A terminal that hangs up ends the monitor.
 */
static enum mon_action wait_keys(struct monitor *m, uint64_t deadline_ns,
				 const sigset_t *orig)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t now = pep_time_ns();
	uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(left / 1000000000),
			       .tv_nsec = (long)(left % 1000000000) };
	enum mon_action act = MON_ACT_NONE, a;
	int n, ch;

	n = ppoll(&pfd, 1, &ts, orig);
	if (n < 0 && errno != EINTR) {
		m->loop_errno = errno;
		return MON_ACT_QUIT;
	}
	if (n == 0)
		return MON_ACT_NONE;
	if (n > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
		return MON_ACT_QUIT;
	while (act != MON_ACT_QUIT && (ch = getch()) != ERR) {
		a = on_key(m, ch, orig);
		act = a > act ? a : act;
	}
	return act;
}

/* The new sample into the graphs, and its temperature into the guard. */
static void took_sample(struct monitor *m)
{
	mon_history_push(m);
	coh_thermal_guard_update(m->guard, coh_thermal_guard_input(&m->cur->thermal),
			   pep_time_ns() / 1000000);
}

static int take_sample(struct monitor *m)
{
	struct coh_status *prev = m->cur;

	if (coh_status_sample(m->sr, prev, m->spare) < 0)
		return -1;
	m->cur = m->spare;
	m->spare = prev;
	took_sample(m);
	return 0;
}

static int run(struct monitor *m, const sigset_t *orig)
{
	uint64_t period_ns = (uint64_t)(1e9 / m->rate_hz);
	uint64_t next = pep_time_ns() + period_ns, now;
	enum mon_action act = MON_ACT_REDRAW;

	while (!stop_signal && act != MON_ACT_QUIT) {
		now = pep_time_ns();
		if (act == MON_ACT_SAMPLE || now >= next) {
			if (take_sample(m) < 0)
				return -ENOMEM;
			if (now >= next)	/* late (a slow switch): skip, do not burst */
				next = next + period_ns > now ? next + period_ns : now + period_ns;
			act = MON_ACT_REDRAW;
		}
		if (act == MON_ACT_REDRAW)
			mon_draw(m);
		act = wait_keys(m, next, orig);
	}
	return 0;
}

/* ---- the terminal ---- */

static int check_terminal(void)
{
	const char *term = getenv("TERM");

	if (!isatty(STDOUT_FILENO)) {
		cli_error("standard output is not a terminal: the monitor is "
			  "full-screen (for a stream, use 'cohete status --watch SECONDS')");
		return -1;
	}
	if (!isatty(STDIN_FILENO)) {
		cli_error("standard input is not a terminal: keys cannot be read");
		return -1;
	}
	if (!term || !*term || !strcmp(term, "dumb")) {
		cli_error("TERM is %s: the monitor needs a terminal that can "
			  "move the cursor", term && *term ? "'dumb'" : "not set");
		return -1;
	}
	return 0;
}

static void start_colors(struct monitor *m)
{
	short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

	init_pair(MON_PAIR_OK, COLOR_GREEN, bg);
	init_pair(MON_PAIR_WARN, COLOR_YELLOW, bg);
	init_pair(MON_PAIR_HOT, COLOR_RED, bg);
	init_pair(MON_PAIR_TITLE, COLOR_CYAN, bg);
	init_pair(MON_PAIR_BAR, COLOR_CYAN, bg);
	m->color = 1;
}

static SCREEN *start_screen(struct monitor *m, int no_color)
{
	const char *term = getenv("TERM");
	SCREEN *screen = newterm(term, stdout, stdin);

	if (!screen) {
		cli_error("TERM '%s' is not usable: no terminfo entry for it",
			  term);
		return NULL;
	}
	raw();			/* Ctrl-C is a key: quit through the same path as q */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);	/* keys are waited for in ppoll(), not in curses */
	typeahead(-1);		/* no input polling while drawing */
	set_escdelay(ESCDELAY_MS);
	curs_set(0);
	if (!no_color && cli_use_color(stdout) && has_colors() && start_color() == OK)
		start_colors(m);
	return screen;
}

/*
 * Handlers first, so curses leaves INT and TERM to us; the four are
 * blocked outside ppoll() (orig is the mask to restore).
 */
static void catch_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, orig);
}

static int monitor_run(struct monitor *m, int no_color)
{
	sigset_t orig;
	SCREEN *screen;
	int ret;

	if (coh_status_sample(m->sr, NULL, m->cur) < 0) {
		cli_error("sampling failed: out of memory");
		return CMD_EXIT_FAIL;
	}
	took_sample(m);
	catch_signals(&orig);
	screen = start_screen(m, no_color);
	if (!screen) {
		sigprocmask(SIG_SETMASK, &orig, NULL);
		return CMD_EXIT_FAIL;
	}
	ret = run(m, &orig);
	mon_close_overlay(m);
	endwin();
	delscreen(screen);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	if (ret < 0) {
		cli_error("sampling failed: out of memory");
		return CMD_EXIT_FAIL;
	}
	if (m->loop_errno) {
		cli_error("waiting for keys on the terminal: %s",
			  strerror(m->loop_errno));
		return CMD_EXIT_FAIL;
	}
	return CMD_EXIT_OK;
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor_opts o = { 0 };
	struct coh_sysroot *sr;
	struct monitor *m;
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : -ret;
	if (check_terminal() < 0)
		return CMD_EXIT_FAIL;
	/* Text in the user's locale, but numbers parsed and printed with '.'. */
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	if (cli_open_sysroot(o.sysroot, &sr))
		return CMD_EXIT_FAIL;
	m = calloc(1, sizeof(*m));
	if (m) {
		m->cur = malloc(sizeof(*m->cur));
		m->spare = malloc(sizeof(*m->spare));
	}
	if (m)
		m->policy = o.policy;
	if (!m || !m->cur || !m->spare ||
	    coh_thermal_guard_create(&m->guard, &m->policy, NULL) < 0) {
		cli_error("out of memory");
		ret = CMD_EXIT_FAIL;
	} else {
		m->sr = sr;
		m->nvpmodel = o.nvpmodel;
		m->rate_hz = o.rate_hz;
		m->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
		ret = monitor_run(m, o.no_color);
	}
	if (m) {
		coh_thermal_guard_destroy(m->guard);
		free(m->cur);
		free(m->spare);
	}
	free(m);
	coh_sysroot_close(sr);
	return ret;
}
