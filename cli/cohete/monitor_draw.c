/*
 * cohete monitor: drawing. One frame is the header (device, release, mode,
 * fan, EMC, engines), five panes (CPU, GPU, memory on the left; thermal and
 * power on the right) each led by a graph of its history, and a key bar
 * with the last message; monitor_menu.c draws the windows over it.
 *
 * The layout gives every pane its text rows first (cores, zones, rails; in
 * columns when they do not fit) and shares the rows left over among the
 * graphs: on 80x24 each graph is a one-row sparkline, on a taller terminal
 * it grows. Every graph says its scale at its right ("0-100%" on one row;
 * the top and the bottom on several), and the temperature's never spans
 * less than 10 °C, so a wobble of a degree stays a wobble.
 *
 * Temperatures take their colour from the thermal policy, as `cohete
 * status` does (coh_temp_level: green below its warning, yellow up to its
 * trip, red at it), and the guard's state (the policy's breaker, fed every
 * sample) stands on the thermal pane's frame.
 *
 * Every frame is drawn whole into stdscr and shown with wnoutrefresh +
 * doupdate: curses sends only the cells that changed, so a frame at 1 Hz
 * costs a few hundred bytes. Text goes through wide characters, so a
 * UTF-8 locale gets block graphs and box lines, any other plain ASCII.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cohete/status.h>
#include <cohete/thermal.h>

#include "monitor.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define HEADER_ROWS 3
#define MIN_COLS 60
#define MIN_ROWS 18		/* header, CPU 4, GPU 4, memory 6, key bar */
#define GPU_MIN 4		/* frame, graph, clock line */
#define MEM_MIN 6		/* frame, graph, RAM, swap, zram */
#define TEMP_LABEL 16		/* "tj 100.0°C" and a space before the graph */
#define SCALE_W 10		/* a space and "100-110°C" after a graph */

struct area {
	int y, x, h, w;
};

/* The panes and how many rows of each are graph. */
struct layout {
	struct area cpu, gpu, mem, therm, power;
	int cpu_g, gpu_g, mem_g, therm_g, power_g;
};

/* Where the next piece of a line goes; nothing is written at or past end. */
struct cursor {
	int y, x, end;
};

attr_t mon_pair(const struct monitor *m, enum mon_pair p)
{
	return m->color ? COLOR_PAIR(p) : 0;
}

static attr_t load_attr(const struct monitor *m, int64_t permille)
{
	if (permille == COH_NA)
		return A_DIM;
	if (permille >= 800)
		return mon_pair(m, MON_PAIR_HOT) | A_BOLD;
	return mon_pair(m, permille >= 500 ? MON_PAIR_WARN : MON_PAIR_OK);
}

static attr_t level_attr(const struct monitor *m, enum coh_temp_level level)
{
	switch (level) {
	case COH_TEMP_OK:	return mon_pair(m, MON_PAIR_OK);
	case COH_TEMP_WARN:	return mon_pair(m, MON_PAIR_WARN);
	case COH_TEMP_HOT:	return mon_pair(m, MON_PAIR_HOT) | A_BOLD;
	case COH_TEMP_UNKNOWN:	break;
	}
	return A_DIM;
}

/* The policy's rule, the one `cohete status` paints by. */
static attr_t temp_attr(const struct monitor *m, int64_t mc)
{
	return level_attr(m, coh_temp_level(&m->policy, mc));
}

/*
 * The text as wide characters. Outside a UTF-8 locale only ASCII is
 * written; a byte the locale cannot decode shows as '?'.
 */
static size_t widen(const char *text, wchar_t *out, size_t size)
{
	size_t n = mbstowcs(out, text, size - 1);

	if (n == (size_t)-1) {
		for (n = 0; text[n] && n < size - 1; n++)
			out[n] = (unsigned char)text[n] < 0x80 ? (wchar_t)text[n] : L'?';
	}
	out[n] = L'\0';
	return n;
}

/* printf at (y, x), cut to w columns; returns the columns written. */
__attribute__((format(printf, 5, 0)))
static int vput(int y, int x, int w, attr_t attr, const char *fmt, va_list ap)
{
	char text[512];
	wchar_t wide[512];
	int n;

	if (w <= 0)
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	n = (int)widen(text, wide, ARRAY_SIZE(wide));
	if (n > w)
		n = w;
	attron(attr);
	mvaddnwstr(y, x, wide, n);
	attroff(attr);
	return n;
}

__attribute__((format(printf, 5, 6)))
static int put(int y, int x, int w, attr_t attr, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vput(y, x, w, attr, fmt, ap);
	va_end(ap);
	return n;
}

__attribute__((format(printf, 3, 4)))
static void seg(struct cursor *c, attr_t attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	c->x += vput(c->y, c->x, c->end - c->x, attr, fmt, ap);
	va_end(ap);
}

/* A box: Unicode lines in a UTF-8 locale, the terminal's ACS otherwise. */
static void frame(const struct monitor *m, const struct area *a, const char *title)
{
	int r = a->x + a->w - 1, b = a->y + a->h - 1;

	if (m->utf8) {
		mvadd_wch(a->y, a->x, WACS_ULCORNER);
		mvhline_set(a->y, a->x + 1, WACS_HLINE, a->w - 2);
		mvadd_wch(a->y, r, WACS_URCORNER);
		mvvline_set(a->y + 1, a->x, WACS_VLINE, a->h - 2);
		mvvline_set(a->y + 1, r, WACS_VLINE, a->h - 2);
		mvadd_wch(b, a->x, WACS_LLCORNER);
		mvhline_set(b, a->x + 1, WACS_HLINE, a->w - 2);
		mvadd_wch(b, r, WACS_LRCORNER);
	} else {
		mvaddch(a->y, a->x, ACS_ULCORNER);
		mvhline(a->y, a->x + 1, ACS_HLINE, a->w - 2);
		mvaddch(a->y, r, ACS_URCORNER);
		mvvline(a->y + 1, a->x, ACS_VLINE, a->h - 2);
		mvvline(a->y + 1, r, ACS_VLINE, a->h - 2);
		mvaddch(b, a->x, ACS_LLCORNER);
		mvhline(b, a->x + 1, ACS_HLINE, a->w - 2);
		mvaddch(b, r, ACS_LRCORNER);
	}
	put(a->y, a->x + 2, a->w - 4, mon_pair(m, MON_PAIR_TITLE) | A_BOLD, " %s ", title);
}

/* The value age samples back (0 = the latest). */
static int64_t series_at(const struct mon_series *s, unsigned int age)
{
	return s->value[(s->next + MON_HISTORY - 1 - age) % MON_HISTORY];
}

/* Smallest and largest value among the last n; 0 when there is none. */
static int series_range(const struct mon_series *s, unsigned int n,
			int64_t *lo, int64_t *hi)
{
	int found = 0;

	for (unsigned int age = 0; age < n && age < s->count; age++) {
		int64_t v = series_at(s, age);

		if (v == COH_NA)
			continue;
		if (!found || v < *lo)
			*lo = v;
		if (!found || v > *hi)
			*hi = v;
		found = 1;
	}
	return found;
}

/*
 * The last g->w values as a graph of g->h rows, the latest at the right,
 * scaled lo..hi: each column is a bar of g->h * 8 eighths, so one row is a
 * sparkline. Blocks in UTF-8, ASCII levels otherwise; a gap is blank.
 */
static void graph(const struct monitor *m, enum mon_series_id id,
		  const struct area *g, int64_t lo, int64_t hi, attr_t attr)
{
	static const wchar_t blocks[] = L"\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588";
	static const wchar_t ascii[] = L"_.-:=+*#";
	const wchar_t *levels = m->utf8 ? blocks : ascii;
	const struct mon_series *s = &m->series[id];
	int n = g->w < MON_HISTORY ? g->w : MON_HISTORY, top = g->h * 8;
	wchar_t line[MON_HISTORY + 1];
	int eighths[MON_HISTORY];

	if (n <= 0 || g->h <= 0)
		return;
	for (int i = 0; i < n; i++) {
		unsigned int age = (unsigned int)(n - 1 - i);
		int64_t v = age < s->count ? series_at(s, age) : COH_NA;

		if (v == COH_NA)
			eighths[i] = 0;
		else if (hi <= lo || v <= lo)
			eighths[i] = 1;
		else if (v >= hi)
			eighths[i] = top;
		else
			eighths[i] = 1 + (int)(((v - lo) * (top - 1) + (hi - lo) / 2) / (hi - lo));
	}
	attron(attr);
	for (int row = 0; row < g->h; row++) {
		int base = (g->h - 1 - row) * 8;

		for (int i = 0; i < n; i++) {
			int fill = eighths[i] - base;

			line[i] = fill <= 0 ? L' ' : levels[(fill > 8 ? 8 : fill) - 1];
		}
		line[n] = L'\0';
		mvaddnwstr(g->y + row, g->x, line, n);
	}
	attroff(attr);
}

/* A load bar of w cells: blocks (eighths) in UTF-8, '#' otherwise. */
static void bar(const struct monitor *m, int y, int x, int w, int64_t permille)
{
	static const wchar_t eighths[] = L" \u258f\u258e\u258d\u258c\u258b\u258a\u2589";
	wchar_t cells[256];
	int64_t v = permille == COH_NA ? 0 : permille < 0 ? 0 : permille > 1000 ? 1000 : permille;
	int units, full, part;

	if (w <= 0)
		return;
	if (w > (int)ARRAY_SIZE(cells) - 1)
		w = (int)ARRAY_SIZE(cells) - 1;
	units = (int)((v * w * 8 + 500) / 1000);
	full = units / 8;
	part = m->utf8 ? units % 8 : 0;
	for (int i = 0; i < w; i++)
		cells[i] = i < full ? (m->utf8 ? L'\u2588' : L'#') :
			   i == full && part ? eighths[part] :
			   (m->utf8 ? L'\u00b7' : L'.');
	cells[w] = L'\0';
	attron(load_attr(m, permille));
	mvaddnwstr(y, x, cells, full + (part ? 1 : 0));
	attroff(load_attr(m, permille));
	attron(A_DIM);
	mvaddnwstr(y, x + full + (part ? 1 : 0), cells + full + (part ? 1 : 0),
		   w - full - (part ? 1 : 0));
	attroff(A_DIM);
}

static const char *fmt_pct(int64_t permille, char *buf, size_t size)
{
	if (permille == COH_NA)
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%" PRId64 "%%", (permille + 5) / 10);
	return buf;
}

static const char *fmt_temp(const struct monitor *m, int64_t mc, char *buf,
			    size_t size)
{
	if (mc == COH_NA)
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.1f%s", (double)mc / 1000,
			 m->utf8 ? "\xc2\xb0" "C" : "C");
	return buf;
}

/* "1.4/3.7 GiB" from kB. */
static const char *fmt_used(int64_t used_kb, int64_t total_kb, char *buf,
			    size_t size)
{
	if (used_kb == COH_NA || total_kb == COH_NA)
		snprintf(buf, size, "n/a");
	else if (total_kb >= 1024 * 1024)
		snprintf(buf, size, "%.1f/%.1f GiB", (double)used_kb / (1024 * 1024),
			 (double)total_kb / (1024 * 1024));
	else
		snprintf(buf, size, "%" PRId64 "/%" PRId64 " MiB", used_kb / 1024,
			 total_kb / 1024);
	return buf;
}

static const char *fmt_bytes(int64_t bytes, char *buf, size_t size)
{
	if (bytes >= (int64_t)1 << 30)
		snprintf(buf, size, "%.1f GiB", (double)bytes / (1 << 30));
	else
		snprintf(buf, size, "%" PRId64 " MiB", bytes >> 20);
	return buf;
}

/* Whether the sample's notes say field needs root. */
static int needs_root(const struct coh_status *st, const char *field)
{
	for (unsigned int i = 0; i < st->notes.count; i++)
		if (!strcmp(st->notes.note[i].field, field) &&
		    strstr(st->notes.note[i].reason, "root"))
			return 1;
	return 0;
}

static void header_identity(const struct monitor *m)
{
	const struct coh_device *d = &m->cur->device;
	struct cursor c = { 1, 1, COLS - 1 };
	int64_t up = m->cur->uptime_s;

	if (d->kind == COH_HOST_JETSON) {
		seg(&c, A_BOLD, "%s", d->module ? d->module->name : "module unknown");
		if (d->module_pnum[0])
			seg(&c, 0, " (%s)", d->module_pnum);
		seg(&c, 0, "  L4T %s  JetPack %s", d->l4t[0] ? d->l4t : "?",
		    d->jetpack ? d->jetpack->jetpack : "?");
	} else {
		seg(&c, A_BOLD, "not a Jetson");
		seg(&c, 0, ": %s, %u CPUs", d->cpu_model[0] ? d->cpu_model : "CPU unknown",
		    d->cpus);
	}
	seg(&c, 0, "  kernel %s", d->kernel[0] ? d->kernel : "?");
	if (up != COH_NA && up >= 86400)
		seg(&c, 0, "  up %" PRId64 "d %" PRId64 "h", up / 86400, up / 3600 % 24);
	else if (up != COH_NA)
		seg(&c, 0, "  up %" PRId64 "h %02" PRId64 "m", up / 3600, up / 60 % 60);
}

static void header_engines(const struct monitor *m, struct cursor *c)
{
	const struct coh_engines *e = &m->cur->engines;
	int on = 0;

	seg(c, A_BOLD, "engines ");
	if (m->cur->device.kind != COH_HOST_JETSON) {
		seg(c, A_DIM, "n/a");
		return;
	}
	if (!e->readable) {
		seg(c, A_DIM, "needs root");
		return;
	}
	for (unsigned int i = 0; i < e->count; i++) {
		if (!e->engine[i].on)
			continue;
		seg(c, 0, "%s%s", on++ ? " " : "", e->engine[i].name);
		if (e->engine[i].cur_hz != COH_NA)
			seg(c, 0, " %" PRId64 "M", e->engine[i].cur_hz / 1000000);
	}
	if (!on)
		seg(c, A_DIM, e->count ? "all off" : "none found");
}

static void header_state(const struct monitor *m)
{
	const struct coh_status *st = m->cur;
	const struct coh_emc *emc = &st->emc;
	struct cursor c = { 2, 1, COLS - 1 };
	char a[16];

	seg(&c, A_BOLD, "mode ");
	if (st->mode.id == COH_NA)
		seg(&c, A_DIM, "n/a");
	else
		seg(&c, 0, "%s (%" PRId64 ")", st->mode.name[0] ? st->mode.name : "?",
		    st->mode.id);
	seg(&c, A_BOLD, "   fan ");
	if (!st->fan.present)
		seg(&c, A_DIM, "none");
	if (st->fan.present && st->fan.pwm != COH_NA)
		seg(&c, 0, "%" PRId64 "%% ", (st->fan.pwm * 100 + 127) / 255);
	if (st->fan.present && st->fan.rpm != COH_NA)
		seg(&c, 0, "%" PRId64 " rpm", st->fan.rpm);
	seg(&c, A_BOLD, "   EMC ");
	if (emc->cur_hz != COH_NA)
		seg(&c, 0, "%" PRId64 " MHz ", emc->cur_hz / 1000000);
	if (emc->load_permille != COH_NA)
		seg(&c, 0, "%s", fmt_pct(emc->load_permille, a, sizeof(a)));
	if (emc->cur_hz == COH_NA && emc->load_permille == COH_NA)
		seg(&c, A_DIM, "n/a%s", needs_root(st, "emc") ? " (needs root)" : "");
	seg(&c, 0, "   ");
	header_engines(m, &c);
}

static void draw_header(const struct monitor *m)
{
	const struct coh_device *d = &m->cur->device;
	attr_t bar_attr = mon_pair(m, MON_PAIR_BAR) | A_REVERSE;
	char rate[24];
	int rw;

	snprintf(rate, sizeof(rate), " %g Hz  h help ", m->rate_hz);
	rw = (int)strlen(rate);
	attron(bar_attr);
	mvhline(0, 0, ' ', COLS);
	attroff(bar_attr);
	put(0, 0, COLS - rw, bar_attr | A_BOLD, " cohete monitor  %s  %s",
	    d->hostname[0] ? d->hostname : "(no hostname)",
	    d->model[0] ? d->model : "(model unknown)");
	put(0, COLS - rw, rw, bar_attr, "%s", rate);
	header_identity(m);
	header_state(m);
}

static void core_cell(const struct monitor *m, const struct coh_cpu_core *k,
		      int y, int x, int w, int name_w)
{
	int freq = w >= name_w + 1 + 6 + 5 + 9;
	int bw = w - name_w - 1 - 5 - (freq ? 9 : 0);
	char pct[16];

	put(y, x, name_w, 0, "cpu%u", k->id);
	x += name_w + 1;
	if (!k->online) {
		put(y, x, w - name_w - 1, A_DIM, "off");
		return;
	}
	if (bw > 0) {
		bar(m, y, x, bw, k->load_permille);
		x += bw;
	}
	put(y, x, 5, load_attr(m, k->load_permille), "%5s",
	    fmt_pct(k->load_permille, pct, sizeof(pct)));
	if (!freq)
		return;
	if (k->cur_khz == COH_NA)
		put(y, x + 5, 9, A_DIM, "      n/a");
	else
		put(y, x + 5, 9, 0, " %4" PRId64 " MHz", k->cur_khz / 1000);
}

/* Rows that count items take in at most max_rows, in as few columns as fit. */
static int grid_rows(unsigned int count, int max_rows)
{
	unsigned int cols;

	if (max_rows < 1 || !count)
		return 0;
	cols = (count + (unsigned int)max_rows - 1) / (unsigned int)max_rows;
	return (int)((count + cols - 1) / cols);
}

/* The graph's scale: its bottom and top as text, and their unit. */
struct scale {
	char lo[12], hi[12];
	const char *unit;
};

/* The columns of history a pane's graph shows beside a label of label_w. */
static int graph_width(const struct area *a, int label_w)
{
	return a->w - 4 - label_w - SCALE_W;
}

/*
 * The graph beside the label left of its first row, and its scale at its
 * right: "lo-hi unit" on a one-row graph, else the top at the top and the
 * bottom at the bottom.
 */
static void graph_row(const struct monitor *m, const struct area *a, int rows,
		      int label_w, enum mon_series_id id, int64_t lo, int64_t hi,
		      attr_t attr, const struct scale *sc)
{
	struct area g = { a->y + 1, a->x + 2 + label_w, rows, graph_width(a, label_w) };
	int x = g.x + g.w + 1;

	if (g.w < 1 || rows < 1)
		return;
	graph(m, id, &g, lo, hi, attr);
	if (rows == 1) {
		put(g.y, x, SCALE_W - 1, A_DIM, "%s-%s%s", sc->lo, sc->hi, sc->unit);
		return;
	}
	put(g.y, x, SCALE_W - 1, A_DIM, "%s%s", sc->hi, sc->unit);
	put(g.y + rows - 1, x, SCALE_W - 1, A_DIM, "%s%s", sc->lo, sc->unit);
}

/* Loads and shares: permille drawn from 0 to 100%. */
static void percent_graph(const struct monitor *m, const struct area *a, int rows,
			  enum mon_series_id id)
{
	static const struct scale sc = { "0", "100", "%" };

	graph_row(m, a, rows, 5, id, 0, 1000, mon_pair(m, MON_PAIR_OK), &sc);
}

/* Floor and ceiling of v / d, also below 0 (a cold sensor). */
static int64_t floor_div(int64_t v, int64_t d)
{
	return v / d - (v % d < 0);
}

static int64_t ceil_div(int64_t v, int64_t d)
{
	return v / d + (v % d > 0);
}

static void draw_cpu(const struct monitor *m, const struct area *a, int graph_h)
{
	const struct coh_cpu *c = &m->cur->cpu;
	int x = a->x + 2, w = a->w - 4, y = a->y + 1 + graph_h;
	int per = grid_rows(c->count, a->h - 2 - graph_h), cols, cw, name_w = 4;
	char pct[16];

	frame(m, a, "CPU");
	put(a->y + 1, x, 5, load_attr(m, c->load_permille) | A_BOLD, "%4s",
	    fmt_pct(c->load_permille, pct, sizeof(pct)));
	percent_graph(m, a, graph_h, MON_CPU);
	if (!c->count) {
		put(y, x, w, A_DIM, "no CPUs in /proc/stat");
		return;
	}
	if (per < 1)
		return;
	for (unsigned int i = 0; i < c->count; i++)
		if (c->core[i].id >= 10 && name_w < 5 + (c->core[i].id >= 100))
			name_w = 5 + (c->core[i].id >= 100);
	cols = (int)(c->count + (unsigned int)per - 1) / per;
	cw = (w + 2) / cols - 2;
	for (unsigned int i = 0; i < c->count; i++)
		core_cell(m, &c->core[i], y + (int)i % per, x + (int)i / per * (cw + 2),
			  cw, name_w);
}

static void draw_gpu(const struct monitor *m, const struct area *a, int graph_h)
{
	const struct coh_gpu *g = &m->cur->gpu;
	struct cursor c = { a->y + 1 + graph_h, a->x + 2, a->x + a->w - 2 };
	char pct[16];

	frame(m, a, "GPU");
	if (!g->present) {
		put(a->y + 1, c.x, c.end - c.x, A_DIM, "no GPU found (devfreq)");
		return;
	}
	put(a->y + 1, c.x, 5, load_attr(m, g->load_permille) | A_BOLD, "%4s",
	    fmt_pct(g->load_permille, pct, sizeof(pct)));
	percent_graph(m, a, graph_h, MON_GPU);
	if (g->cur_hz == COH_NA)
		seg(&c, A_DIM, "clock n/a");
	else
		seg(&c, 0, "%" PRId64 " MHz", g->cur_hz / 1000000);
	if (g->max_hz != COH_NA)
		seg(&c, 0, " of %" PRId64 " MHz", g->max_hz / 1000000);
	seg(&c, A_DIM, "  %s %s", g->name, g->governor);
}

/* "RAM  ####....  2.5/7.4 GiB" */
static void mem_line(const struct monitor *m, int y, int x, int w,
		     const char *label, int64_t used_kb, int64_t total_kb)
{
	char text[48];
	int tw, bw;

	fmt_used(used_kb, total_kb, text, sizeof(text));
	tw = (int)strlen(text);
	bw = w - 5 - 1 - tw;
	put(y, x, 5, A_BOLD, "%s", label);
	if (bw >= 4 && used_kb != COH_NA && total_kb > 0)
		bar(m, y, x + 5, bw, used_kb * 1000 / total_kb);
	put(y, x + w - tw, tw, 0, "%s", text);
}

static void zram_line(const struct coh_memory *mem, int y, int x, int w)
{
	int64_t data = 0, used = 0;
	char a[24], b[24];

	if (!mem->zram_count) {
		put(y, x, w, A_DIM, "zram none");
		return;
	}
	for (unsigned int k = 0; k < mem->zram_count; k++) {
		const struct coh_zram *z = &mem->zram[k];

		data += z->orig_data_bytes == COH_NA ? 0 : z->orig_data_bytes;
		used += z->mem_used_bytes == COH_NA ? 0 : z->mem_used_bytes;
	}
	put(y, x, w, 0, "zram %s holds %s  (%u x %s)", fmt_bytes(used, a, sizeof(a)),
	    fmt_bytes(data, b, sizeof(b)), mem->zram_count,
	    mem->zram[0].algorithm[0] ? mem->zram[0].algorithm : "?");
}

static void draw_memory(const struct monitor *m, const struct area *a, int graph_h)
{
	const struct coh_meminfo *i = &m->cur->memory.info;
	int x = a->x + 2, w = a->w - 4, y = a->y + 1 + graph_h;
	int64_t used = COH_NA, swap_used = COH_NA, share = COH_NA;
	char pct[16];

	frame(m, a, "Memory");
	if (i->total_kb != COH_NA && i->available_kb != COH_NA && i->total_kb > 0) {
		used = i->total_kb - i->available_kb;
		share = used * 1000 / i->total_kb;
	}
	if (i->swap_total_kb != COH_NA && i->swap_free_kb != COH_NA)
		swap_used = i->swap_total_kb - i->swap_free_kb;
	put(a->y + 1, x, 5, load_attr(m, share) | A_BOLD, "%4s",
	    fmt_pct(share, pct, sizeof(pct)));
	percent_graph(m, a, graph_h, MON_RAM);
	mem_line(m, y, x, w, "RAM", used, i->total_kb);
	if (i->swap_total_kb == 0)
		put(y + 1, x, w, A_DIM, "swap none");
	else
		mem_line(m, y + 1, x, w, "swap", swap_used, i->swap_total_kb);
	zram_line(&m->cur->memory, y + 2, x, w);
}

static void zone_cell(const struct monitor *m, const struct coh_thermal_zone *z,
		      int hottest, int y, int x, int w)
{
	char temp[32], value[24];
	int64_t mc = z->temp_mc;

	if (z->state == COH_ZONE_OK)
		fmt_temp(m, mc, temp, sizeof(temp));
	else if (z->state == COH_ZONE_PLACEHOLDER)	/* a fixed value, not measured */
		snprintf(temp, sizeof(temp), "%s?", fmt_temp(m, mc, value, sizeof(value)));
	else
		snprintf(temp, sizeof(temp), "%s", z->state == COH_ZONE_OFF ? "off" : "n/a");
	put(y, x, w - 10, hottest ? A_BOLD : 0, "%s", z->name[0] ? z->name :
	    z->type[0] ? z->type : z->zone);
	put(y, x + w - 10, 10, z->state == COH_ZONE_OK ? temp_attr(m, mc) : A_DIM,
	    "%9s%s", temp, hottest ? "*" : " ");
}

/*
 * The guard's state on the pane's top edge, right-aligned, in its level's
 * colour: ok and warning with the trip point, paused states with why.
 */
static void draw_guard(const struct monitor *m, const struct area *a)
{
	enum coh_thermal_guard_state s = coh_thermal_guard_state(m->guard);
	const char *deg = m->utf8 ? "\xc2\xb0" "C" : "C";
	char text[48];
	int w;

	if (s == COH_THERMAL_GUARD_TRIPPED)
		snprintf(text, sizeof(text), " guard TRIPPED: paused ");
	else if (s == COH_THERMAL_GUARD_COOLING)
		snprintf(text, sizeof(text), " guard COOLING to %g%s ",
			 (double)m->policy.resume_mc / 1000, deg);
	else
		snprintf(text, sizeof(text), " guard %s, trip %g%s ",
			 s == COH_THERMAL_GUARD_WARNING ? "WARN" : "OK",
			 (double)m->policy.trip_mc / 1000, deg);
	w = (int)mbstowcs(NULL, text, 0);
	if (w > 0 && w <= a->w - 14)	/* room for the title left of it */
		put(a->y, a->x + a->w - 2 - w, w,
		    level_attr(m, coh_thermal_guard_state_level(s)) | A_BOLD, "%s", text);
}

/*
 * The temperature graph's scale: whole degrees around the visible
 * history, never narrower than 10 °C.
 */
static void temp_scale(const struct monitor *m, int64_t vlo, int64_t vhi,
		       int64_t *lo, int64_t *hi, struct scale *sc)
{
	int64_t pad = vhi - vlo >= 10000 ? 0 : (10000 - (vhi - vlo) + 1) / 2;

	*lo = floor_div(vlo - pad, 1000) * 1000;
	*hi = ceil_div(vhi + pad, 1000) * 1000;
	snprintf(sc->lo, sizeof(sc->lo), "%" PRId64, *lo / 1000);
	snprintf(sc->hi, sizeof(sc->hi), "%" PRId64, *hi / 1000);
	sc->unit = m->utf8 ? "\xc2\xb0" "C" : "C";
}

static void draw_thermal(const struct monitor *m, const struct area *a, int graph_h)
{
	const struct coh_thermal *t = &m->cur->thermal;
	int x = a->x + 2, w = a->w - 4, y = a->y + 1 + graph_h;
	int per = grid_rows(t->count, a->h - 2 - graph_h), cols, cw;
	int64_t input = coh_thermal_guard_input(t), lo = 0, hi = 0;
	int in = coh_thermal_guard_input_zone(t);
	struct scale sc;
	char temp[32];

	frame(m, a, "Thermal");
	draw_guard(m, a);
	if (!t->count) {
		put(a->y + 1, x, w, A_DIM, "no thermal zones");
		return;
	}
	fmt_temp(m, input, temp, sizeof(temp));
	put(a->y + 1, x, TEMP_LABEL, temp_attr(m, input) | A_BOLD, "%.*s %s",
	    TEMP_LABEL - 2 - (int)strlen(temp), in >= 0 ? t->zones[in].name : "input",
	    temp);
	if (series_range(&m->series[MON_TEMP],
			 (unsigned int)graph_width(a, TEMP_LABEL), &lo, &hi)) {
		temp_scale(m, lo, hi, &lo, &hi, &sc);
		graph_row(m, a, graph_h, TEMP_LABEL, MON_TEMP, lo, hi,
			  temp_attr(m, input), &sc);
	}
	if (per < 1)
		return;
	cols = (int)(t->count + (unsigned int)per - 1) / per;
	cw = (w + 2) / cols - 2;
	for (unsigned int i = 0; i < t->count; i++)
		zone_cell(m, &t->zones[i], (int)i == t->hottest, y + (int)i % per,
			  x + (int)i / per * (cw + 2), cw < 30 ? cw : 30);
}

static void milli(struct cursor *c, int64_t v, const char *unit)
{
	if (v == COH_NA)
		seg(c, A_DIM, "%7s", "n/a ");
	else
		seg(c, 0, "%6.2f%s", (double)v / 1000, unit);
}

static void draw_rails(const struct coh_rails *r, int y, int x, int w, int rows)
{
	int name_w = w - 22 > 24 ? 24 : w - 22;

	for (int i = 0; i < (int)r->count && i < rows; i++) {
		struct cursor c = { y + i, x, x + w };

		if (i == rows - 1 && (int)r->count > rows) {
			seg(&c, A_DIM, "%u more rails", r->count - (unsigned int)i);
			break;
		}
		seg(&c, 0, "%-*.*s", name_w, name_w, r->rail[i].name);
		milli(&c, r->rail[i].voltage_mv, "V ");
		milli(&c, r->rail[i].current_ma, "A");
		milli(&c, r->rail[i].power_mw, "W");
	}
}

static void draw_power(const struct monitor *m, const struct area *a, int graph_h)
{
	const struct coh_rails *r = &m->cur->rails;
	int x = a->x + 2, w = a->w - 4, y = a->y + 1 + graph_h;
	struct scale sc = { "0", "", "W" };
	int64_t lo = 0, hi = 0;

	frame(m, a, "Power");
	if (!r->count) {
		put(a->y + 1, x, w, A_DIM, "no power rails found (INA3221)");
		return;
	}
	if (r->total_mw == COH_NA)
		put(a->y + 1, x, 10, A_DIM, "n/a");
	else
		put(a->y + 1, x, 10, A_BOLD, "%.2f W", (double)r->total_mw / 1000);
	/* From 0 to a quarter above the visible peak, in whole watts, 1 W at least. */
	if (series_range(&m->series[MON_POWER], (unsigned int)graph_width(a, 10),
			 &lo, &hi)) {
		hi = ceil_div(hi + hi / 4 > 1000 ? hi + hi / 4 : 1000, 1000) * 1000;
		snprintf(sc.hi, sizeof(sc.hi), "%" PRId64, hi / 1000);
		graph_row(m, a, graph_h, 10, MON_POWER, 0, hi,
			  mon_pair(m, MON_PAIR_WARN), &sc);
	}
	if (r->total_kind == COH_TOTAL_INPUT)
		put(y, x, w, A_DIM, "board input %s", r->total_rail);
	else
		put(y, x, w, A_DIM, "sum of rails (a floor: no input rail)");
	draw_rails(r, y + 1, x, w, a->h - 3 - graph_h);
}

static void draw_keys(const struct monitor *m)
{
	static const char keys[] = " q quit  p power mode  f fan  h help ";
	attr_t attr = m->message_error ? mon_pair(m, MON_PAIR_HOT) | A_BOLD : 0;
	int kw = (int)strlen(keys);

	/* A message longer than the room beside the keys takes the line. */
	if ((int)strlen(m->message) > COLS - kw - 1) {
		put(LINES - 1, 0, COLS, attr, " %s", m->message);
		return;
	}
	put(LINES - 1, 0, COLS, mon_pair(m, MON_PAIR_BAR) | A_REVERSE, "%s", keys);
	put(LINES - 1, kw + 1, COLS - kw - 1, attr, "%s", m->message);
}

/*
 * Left: CPU, GPU, memory; right: thermal, power. Each pane gets its text
 * rows and a one-row graph; the rows left over are shared among the graphs.
 */
static void layout(const struct monitor *m, struct layout *l)
{
	const struct coh_status *st = m->cur;
	int h = LINES - HEADER_ROWS - 1, lw = COLS / 2, rw = COLS - lw, y = HEADER_ROWS;
	int cores = st->cpu.count ? grid_rows(st->cpu.count, h - GPU_MIN - MEM_MIN - 3) : 1;
	int power_h = 4 + (int)st->rails.count, zones, extra;

	memset(l, 0, sizeof(*l));
	extra = h - (3 + cores) - GPU_MIN - MEM_MIN;
	l->gpu_g = 1 + extra / 3;
	l->mem_g = 1 + extra / 3;
	l->cpu_g = 1 + extra - 2 * (extra / 3);
	l->cpu = (struct area){ y, 0, 2 + l->cpu_g + cores, lw };
	l->gpu = (struct area){ y + l->cpu.h, 0, GPU_MIN - 1 + l->gpu_g, lw };
	l->mem = (struct area){ l->gpu.y + l->gpu.h, 0, MEM_MIN - 1 + l->mem_g, lw };

	if (!st->rails.count)
		power_h = 3;		/* the frame and why there is nothing */
	else if (power_h > h / 2)
		power_h = h / 2;
	zones = grid_rows(st->thermal.count, h - power_h - 3);
	extra = h - power_h - (3 + zones);
	if (st->rails.count) {
		l->power_g = 1 + extra / 2;
		power_h += extra / 2;
	}
	l->power = (struct area){ y + h - power_h, lw, power_h, rw };
	l->therm = (struct area){ y, lw, h - power_h, rw };
	l->therm_g = l->therm.h - 2 - zones;
}

static void draw_screen(const struct monitor *m)
{
	struct layout l;

	layout(m, &l);
	draw_header(m);
	draw_cpu(m, &l.cpu, l.cpu_g);
	draw_gpu(m, &l.gpu, l.gpu_g);
	draw_memory(m, &l.mem, l.mem_g);
	draw_thermal(m, &l.therm, l.therm_g);
	draw_power(m, &l.power, l.power_g);
	draw_keys(m);
}

WINDOW *mon_popup(const struct monitor *m, int h, int w, const char *title)
{
	WINDOW *win;

	if (h > LINES)
		h = LINES;
	if (w > COLS)
		w = COLS;
	win = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
	if (!win)
		return NULL;
	werase(win);
	if (m->utf8)
		box_set(win, NULL, NULL);	/* NULL: the WACS (Unicode) lines */
	else
		box(win, 0, 0);
	wattron(win, mon_pair(m, MON_PAIR_TITLE) | A_BOLD);
	mvwprintw(win, 0, 2, " %s ", title);
	wattroff(win, mon_pair(m, MON_PAIR_TITLE) | A_BOLD);
	return win;
}

static void draw_too_small(void)
{
	put(LINES / 2, 0, COLS, A_BOLD, "terminal %dx%d: cohete monitor needs %dx%d",
	    COLS, LINES, MIN_COLS, MIN_ROWS);
	put(LINES / 2 + 1, 0, COLS, 0, "q quits");
}

void mon_draw(const struct monitor *m)
{
	WINDOW *win;

	erase();
	if (LINES < MIN_ROWS || COLS < MIN_COLS)
		draw_too_small();
	else
		draw_screen(m);
	touchwin(stdscr);
	wnoutrefresh(stdscr);
	win = mon_overlay_draw(m);
	if (win)
		wnoutrefresh(win);
	doupdate();
	if (win)
		delwin(win);
}

static void push(struct mon_series *s, int64_t v)
{
	s->value[s->next] = v;
	s->next = (s->next + 1) % MON_HISTORY;
	if (s->count < MON_HISTORY)
		s->count++;
}

void mon_history_push(struct monitor *m)
{
	const struct coh_status *st = m->cur;
	const struct coh_meminfo *i = &st->memory.info;
	int64_t ram = COH_NA;

	if (i->total_kb != COH_NA && i->available_kb != COH_NA && i->total_kb > 0)
		ram = (i->total_kb - i->available_kb) * 1000 / i->total_kb;
	push(&m->series[MON_CPU], st->cpu.load_permille);
	push(&m->series[MON_GPU], st->gpu.present ? st->gpu.load_permille : COH_NA);
	push(&m->series[MON_RAM], ram);
	push(&m->series[MON_TEMP], coh_thermal_guard_input(&st->thermal));
	push(&m->series[MON_POWER], st->rails.count ? st->rails.total_mw : COH_NA);
}
