/*
 * cohete status: one screen with what a person wants to know about the
 * machine. The sample comes from libcohete (coh_status_sample); this file
 * only parses options and formats.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cohete/fleet.h>
#include <cohete/status.h>
#include <cohete/thermal.h>

#include "cmd.h"
#include "fleet_view.h"

#define DEFAULT_WINDOW_MS 250

struct status_opts {
	const char *sysroot;
	int json;
	int fleet;			/* every device of --config, over ssh */
	const char *identity;		/* --fleet: ssh -i */
	const char *ssh_options[32];	/* --fleet: ssh -o, each */
	size_t ssh_option_count;
	double watch_s;			/* 0 = once */
	long window_ms;			/* -1 = default */
	struct coh_thermal_guard_policy policy;	/* the temperature colours */
};

/* level[]: a temperature's colour, by enum coh_temp_level (the monitor's). */
struct style {
	const char *bold, *dim, *reset;
	const char *level[4];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete status [--json] [--watch SECONDS] [--sysroot DIR]\n"
		"                     [--window-ms MS] [--policy NAME] [--config FILE]\n"
		"       cohete status --fleet --config FILE [--json] [--watch SECONDS]\n"
		"                     [--identity FILE] [-o|--ssh-option OPTION]...\n\n"
		"Device and module, L4T/JetPack, memory, thermal zones, per-core CPU\n"
		"load and frequency, GPU, EMC and engines (root), power rails, nvpmodel\n"
		"mode and fan.\n\n"
		"  --json             one JSON document (with --watch: one per line)\n"
		"  --watch SECONDS    refresh every SECONDS until interrupted\n"
		"  --sysroot DIR      read /proc, /sys, /etc from DIR (also $COHETE_SYSROOT)\n"
		"  --window-ms MS     CPU load window for a single sample (default %d;\n"
		"                     0 = average since boot, the default with --sysroot)\n"
		"  --policy NAME      the thermal policy temperatures are judged by:\n"
		"                     conservative (default, as the agent), aggressive\n"
		"                     or one the --config file defines\n"
		"  --config FILE      cohete.yaml: its thermal policy for this device\n"
		"                     is the default of --policy (also $COHETE_CONFIG)\n"
		"  --fleet            every device of the file instead, asked at once over\n"
		"                     ssh: a row per device and model (module, temperature,\n"
		"                     engine memory, power mode, level, engine state);\n"
		"                     cohete on the devices is $COHETE_REMOTE_COHETE or\n"
		"                     cohete in their PATH\n"
		"  --identity FILE    --fleet: ssh key for every device (ssh -i)\n"
		"  -o, --ssh-option O --fleet: an ssh -o option, repeatable\n"
		"  -h, --help         this help\n", DEFAULT_WINDOW_MS);
}

static int parse_number(const char *text, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct status_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "window-ms", required_argument, NULL, 'W' },
		{ "policy", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'C' },
		{ "fleet", no_argument, NULL, 'F' },
		{ "identity", required_argument, NULL, 'i' },
		{ "ssh-option", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c;

	o->window_ms = -1;
	c = cli_config_open(argc, argv);
	if (c)
		return -c;
	if (cli_default_policy(&o->policy) < 0)
		return -CMD_EXIT_USAGE;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "+ho:", longopts)) != -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case 'w':
			if (parse_number(optarg, 0.1, 86400, &o->watch_s) < 0) {
				cli_error("--watch: '%s' is not a number of seconds in 0.1..86400", optarg);
				return -CMD_EXIT_USAGE;
			}
			break;
		case 's':
			o->sysroot = optarg;
			break;
		case 'W':
			if (parse_number(optarg, 0, 60000, &v) < 0) {
				cli_error("--window-ms: '%s' is not 0..60000", optarg);
				return -CMD_EXIT_USAGE;
			}
			o->window_ms = (long)v;
			break;
		case 'p':
			if (cli_policy("--policy", optarg, &o->policy) < 0)
				return -CMD_EXIT_USAGE;
			break;
		case 'C':
			break;		/* read by cli_config_open() */
		case 'F':
			o->fleet = 1;
			break;
		case 'i':
			o->identity = optarg;
			break;
		case 'o':
			if (o->ssh_option_count == CLI_ARRAY_SIZE(o->ssh_options)) {
				cli_error("--ssh-option: more than %zu", CLI_ARRAY_SIZE(o->ssh_options));
				return -CMD_EXIT_USAGE;
			}
			o->ssh_options[o->ssh_option_count++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -CMD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return -CMD_EXIT_USAGE;
	}
	if ((o->identity || o->ssh_option_count) && !o->fleet) {
		cli_error("--identity and --ssh-option go with --fleet");
		return -CMD_EXIT_USAGE;
	}
	if (o->fleet && !cli_config()) {
		cli_error("--fleet: give --config FILE (or set COHETE_CONFIG)");
		return -CMD_EXIT_USAGE;
	}
	return 0;
}

static void sleep_ms(long ms);

/* --fleet: once, or every --watch seconds until interrupted. */
static int run_fleet(const struct status_opts *o)
{
	struct coh_fleet_remote remote = {
		.cohete = getenv("COHETE_REMOTE_COHETE"), .identity = o->identity,
		.ssh_options = o->ssh_options, .ssh_option_count = o->ssh_option_count,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int ret;

	if (o->watch_s <= 0)
		return cli_fleet_status(&remote, o->json);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	do {
		if (!o->json && isatty(fileno(stdout)))
			fputs("\033[H\033[2J", stdout);
		ret = cli_fleet_status(&remote, o->json);
		fflush(stdout);
		if (!stop_requested)
			sleep_ms((long)(o->watch_s * 1000));
	} while (!stop_requested);
	return ret;
}

/* "7.4 GiB" from kB; "-" when unknown. */
static const char *fmt_kb(int64_t kb, char *buf, size_t size)
{
	if (kb == COH_NA)
		snprintf(buf, size, "-");
	else if (kb >= 1024 * 1024)
		snprintf(buf, size, "%.1f GiB", (double)kb / (1024 * 1024));
	else
		snprintf(buf, size, "%" PRId64 " MiB", kb / 1024);
	return buf;
}

static const char *fmt_permille(int64_t v, char *buf, size_t size)
{
	if (v == COH_NA)
		snprintf(buf, size, "   -");
	else
		snprintf(buf, size, "%3" PRId64 "%%", (v + 5) / 10);
	return buf;
}

static const char *fmt_mhz(int64_t v, int64_t per_mhz, char *buf, size_t size)
{
	if (v == COH_NA)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%" PRId64 " MHz", v / per_mhz);
	return buf;
}

static void print_uptime(int64_t s)
{
	if (s == COH_NA)
		return;
	printf("Uptime      ");
	if (s >= 86400)
		printf("%" PRId64 "d ", s / 86400);
	printf("%" PRId64 "h %02" PRId64 "m\n", s / 3600 % 24, s / 60 % 60);
}

static void print_device(const struct coh_device *d, const struct style *st)
{
	const struct coh_module_spec *m = d->module;

	/* "NVIDIA" + "NVIDIA Jetson ..." reads twice: skip a repeated vendor. */
	int vendor = d->vendor[0] &&
		     strncmp(d->model, d->vendor, strlen(d->vendor)) != 0;

	printf("%s%s%s", st->bold, d->hostname[0] ? d->hostname : "(no hostname)",
	       st->reset);
	printf("  %s%s%s\n", vendor ? d->vendor : "", vendor ? " " : "",
	       d->model[0] ? d->model : "(model unknown)");
	if (d->kind != COH_HOST_JETSON) {
		printf("Host        not a Jetson; %s, %u CPUs (%s)\n",
		       d->cpu_model[0] ? d->cpu_model : "CPU unknown", d->cpus,
		       d->arch[0] ? d->arch : "?");
		printf("Kernel      %s\n", d->kernel[0] ? d->kernel : "-");
		return;
	}
	if (m)
		printf("Module      %s  %s%s%s  (%s)\n", m->name, d->module_pnum,
		       d->carrier_pnum[0] ? " on " : "", d->carrier_pnum, d->soc);
	else
		printf("Module      unknown%s%s  (%s)\n", d->module_pnum[0] ? " " : "",
		       d->module_pnum, d->soc[0] ? d->soc : "SoC unknown");
	if (m)
		printf("Compute     %s (sm %s), %u CUDA cores, %u tensor cores, %s\n"
		       "CPU         %s; %u present\n", m->gpu_arch, m->cuda_sm,
		       m->cuda_cores, m->tensor_cores, m->ai_perf, m->cpu, d->cpus);
	printf("Software    L4T %s  JetPack %s  Ubuntu %s  kernel %s\n",
	       d->l4t[0] ? d->l4t : "?", d->jetpack ? d->jetpack->jetpack : "?",
	       d->jetpack ? d->jetpack->ubuntu : "?", d->kernel[0] ? d->kernel : "?");
	printf("Serial      %s\n", d->serial[0] ? d->serial : "unavailable");
}

/* Jetsons make one zram device per core: one line for all of them. */
static void print_zram(const struct coh_memory *m)
{
	int64_t data = 0, used = 0, size = 0;
	unsigned int swap = 0;
	char a[32], b[32], c[32];

	if (!m->zram_count)
		return;
	for (unsigned int k = 0; k < m->zram_count; k++) {
		const struct coh_zram *z = &m->zram[k];

		size += z->disksize_bytes == COH_NA ? 0 : z->disksize_bytes;
		data += z->orig_data_bytes == COH_NA ? 0 : z->orig_data_bytes;
		used += z->mem_used_bytes == COH_NA ? 0 : z->mem_used_bytes;
		swap += z->swap;
	}
	printf("  zram      %u device%s (%s%s), %s of %s holding %s of data\n",
	       m->zram_count, m->zram_count == 1 ? "" : "s",
	       m->zram[0].algorithm[0] ? m->zram[0].algorithm : "?",
	       swap == m->zram_count ? ", swap" : swap ? ", some swap" : "",
	       fmt_kb(used / 1024, a, sizeof(a)), fmt_kb(size / 1024, b, sizeof(b)),
	       fmt_kb(data / 1024, c, sizeof(c)));
}

static void print_memory(const struct coh_memory *m)
{
	const struct coh_meminfo *i = &m->info;
	char a[32], b[32], c[32], e[32], f[32];
	int64_t used = COH_NA, swap_used = COH_NA;

	if (i->total_kb != COH_NA && i->available_kb != COH_NA)
		used = i->total_kb - i->available_kb;
	if (i->swap_total_kb != COH_NA && i->swap_free_kb != COH_NA)
		swap_used = i->swap_total_kb - i->swap_free_kb;
	printf("Memory      %s used of %s, %s available; ",
	       fmt_kb(used, a, sizeof(a)), fmt_kb(i->total_kb, b, sizeof(b)),
	       fmt_kb(i->available_kb, c, sizeof(c)));
	if (i->swap_total_kb == 0)
		printf("no swap\n");
	else
		printf("swap %s of %s\n", fmt_kb(swap_used, e, sizeof(e)),
		       fmt_kb(i->swap_total_kb, f, sizeof(f)));
	print_zram(m);
}

/*
 * A measured zone in its level's colour under the policy (the monitor's
 * rule), the hottest also bold; a placeholder or a sensor that is off
 * dim: neither is a measurement.
 */
static void print_zone(const struct coh_thermal_zone *z, int hottest,
		       const struct coh_thermal_guard_policy *p, const struct style *st)
{
	const char *color = z->state == COH_ZONE_OK ?
			    st->level[coh_temp_level(p, z->temp_mc)] : st->dim;
	char temp[32];

	if (z->state == COH_ZONE_OK || z->state == COH_ZONE_PLACEHOLDER)
		snprintf(temp, sizeof(temp), "%.1f°C%s", (double)z->temp_mc / 1000,
			 z->state == COH_ZONE_PLACEHOLDER ? "?" : "");
	else
		snprintf(temp, sizeof(temp), "%s", coh_zone_state_name(z->state));
	printf("  %s%s%-16.16s %9s%s%s", hottest ? st->bold : "", color,
	       z->type[0] ? z->type : z->zone, temp, hottest ? " *" : "  ",
	       hottest || *color ? st->reset : "");
}

/* The guard's input and how it stands against the policy's thresholds. */
static void print_guard(const struct coh_thermal *t,
			const struct coh_thermal_guard_policy *p, const struct style *st)
{
	int i = coh_thermal_guard_input_zone(t);
	enum coh_temp_level level;

	if (i < 0)
		return;
	level = coh_temp_level(p, t->zones[i].temp_mc);
	printf("  guard     %s%s %.1f°C: %s%s (%s: warn %g°C, trip %g°C, "
	       "resume <%g°C)\n", st->level[level], t->zones[i].name,
	       (double)t->zones[i].temp_mc / 1000, coh_temp_level_name(level),
	       *st->level[level] ? st->reset : "", p->name,
	       (double)p->warning_mc / 1000, (double)p->trip_mc / 1000,
	       (double)p->resume_mc / 1000);
}

static void print_thermal(const struct coh_thermal *t,
			  const struct coh_thermal_guard_policy *p, const struct style *st)
{
	int placeholders = 0;

	for (unsigned int i = 0; i < t->count; i++)
		placeholders += t->zones[i].state == COH_ZONE_PLACEHOLDER;
	printf("Thermal     %u zones%s%s\n", t->count,
	       t->hottest >= 0 ? " (* hottest)" : "",
	       placeholders ? " (? fixed placeholder, not measured)" : "");
	print_guard(t, p, st);
	for (unsigned int i = 0; i < t->count; i++) {
		print_zone(&t->zones[i], (int)i == t->hottest, p, st);
		if (i % 3 == 2 || i + 1 == t->count)
			putchar('\n');
	}
}

static void print_cpu(const struct coh_cpu *c, uint64_t window_ms)
{
	char load[16], mhz[32], max[32];

	fmt_permille(c->load_permille, load, sizeof(load));
	printf("CPU         %s load over %s\n", load + strspn(load, " "),
	       window_ms ? "the last sample" : "uptime");
	for (unsigned int i = 0; i < c->count; i++) {
		const struct coh_cpu_core *k = &c->core[i];

		if (!k->online)
			printf("  cpu%-3u       off             ", k->id);
		else if (k->cur_khz == COH_NA)
			printf("  cpu%-3u %s                    ", k->id,
			       fmt_permille(k->load_permille, load, sizeof(load)));
		else
			printf("  cpu%-3u %s %8s/%-8s", k->id,
			       fmt_permille(k->load_permille, load, sizeof(load)),
			       fmt_mhz(k->cur_khz, 1000, mhz, sizeof(mhz)),
			       fmt_mhz(k->max_khz, 1000, max, sizeof(max)));
		if (i % 3 == 2 || i + 1 == c->count)
			putchar('\n');
	}
}

static void print_gpu(const struct coh_gpu *g)
{
	char load[16], mhz[32], max[32];

	if (!g->present) {
		printf("GPU         none found (devfreq)\n");
		return;
	}
	fmt_permille(g->load_permille, load, sizeof(load));
	printf("GPU         %s at %s (max %s), %s, governor %s\n",
	       load + strspn(load, " "),
	       fmt_mhz(g->cur_hz, 1000000, mhz, sizeof(mhz)),
	       fmt_mhz(g->max_hz, 1000000, max, sizeof(max)), g->name,
	       g->governor[0] ? g->governor : "-");
}

static void print_emc(const struct coh_emc *e)
{
	char load[16], mhz[32], max[32];

	if (!e->present)
		return;
	printf("EMC         ");
	if (e->cur_hz == COH_NA) {
		printf("clock unavailable");
	} else {
		fmt_permille(e->load_permille, load, sizeof(load));
		printf("%s at %s (max %s)", load + strspn(load, " "),
		       fmt_mhz(e->cur_hz, 1000000, mhz, sizeof(mhz)),
		       fmt_mhz(e->max_hz, 1000000, max, sizeof(max)));
	}
	if (e->cap_hz != COH_NA)
		printf(", capped at %s by nvpmodel",
		       fmt_mhz(e->cap_hz, 1000000, max, sizeof(max)));
	putchar('\n');
}

/* "nvenc 166 MHz, vic 115 MHz; off: dla0_core nvdec ..." */
static void print_engines(const struct coh_engines *en)
{
	char mhz[32];
	int any = 0;

	if (!en->readable || !en->count)
		return;
	printf("Engines     ");
	for (unsigned int i = 0; i < en->count; i++)
		if (en->engine[i].on)
			printf("%s%s %s", any++ ? ", " : "", en->engine[i].name,
			       fmt_mhz(en->engine[i].cur_hz, 1000000, mhz,
				       sizeof(mhz)));
	printf("%soff:", any ? "; " : "");
	for (unsigned int i = 0; i < en->count; i++)
		if (!en->engine[i].on)
			printf(" %s", en->engine[i].name);
	putchar('\n');
}

static void print_milli(int64_t v, const char *unit)
{
	if (v == COH_NA)
		printf("     - %s", unit);
	else
		printf("%6.2f %s", (double)v / 1000, unit);
}

static void print_power(const struct coh_rails *r, const struct coh_power_mode *mode,
			int jetson)
{
	if (jetson) {
		if (mode->id == COH_NA)
			printf("Power mode  unavailable\n");
		else
			printf("Power mode  %s (%" PRId64 ")\n",
			       mode->name[0] ? mode->name : "?", mode->id);
	}
	if (!r->count)
		return;
	printf("Power       ");
	print_milli(r->total_mw, "W");
	if (r->total_kind == COH_TOTAL_INPUT)
		printf(" board input (%s)\n", r->total_rail);
	else
		printf(" sum of rails (a floor: the board input is not measured)\n");
	for (unsigned int i = 0; i < r->count; i++) {
		printf("  %-18s", r->rail[i].name);
		print_milli(r->rail[i].power_mw, "W");
		print_milli(r->rail[i].voltage_mv, "V");
		print_milli(r->rail[i].current_ma, "A");
		putchar('\n');
	}
}

static void print_fan(const struct coh_fan *f)
{
	if (!f->present)
		return;
	printf("Fan         ");
	if (f->pwm != COH_NA)
		printf("pwm %" PRId64 "/255 (%" PRId64 "%%)  ", f->pwm,
		       (f->pwm * 100 + 127) / 255);
	if (f->rpm != COH_NA)
		printf("%" PRId64 " rpm", f->rpm);
	putchar('\n');
}

static void print_notes(const struct coh_notes *n, const struct style *st)
{
	if (!n->count)
		return;
	printf("%sUnavailable%s\n", st->dim, st->reset);
	for (unsigned int i = 0; i < n->count; i++)
		printf("  %s%s: %s%s\n", st->dim, n->note[i].field,
		       n->note[i].reason, st->reset);
}

static void print_human(const struct coh_status *s,
			const struct coh_thermal_guard_policy *p, const struct style *st)
{
	int jetson = s->device.kind == COH_HOST_JETSON;

	print_device(&s->device, st);
	print_uptime(s->uptime_s);
	print_power(&s->rails, &s->mode, jetson);
	print_fan(&s->fan);
	print_memory(&s->memory);
	print_thermal(&s->thermal, p, st);
	print_cpu(&s->cpu, s->window_ms);
	print_gpu(&s->gpu);
	print_emc(&s->emc);
	print_engines(&s->engines);
	print_notes(&s->notes, st);
}

static int print_sample(const struct coh_status *s, const struct status_opts *o,
			const struct style *st)
{
	char *json;

	if (!o->json) {
		print_human(s, &o->policy, st);
		return 0;
	}
	json = coh_status_json(s);
	if (!json) {
		cli_error("out of memory");
		return -1;
	}
	if (o->watch_s > 0) {
		/* One document per line, so a reader can split the stream. */
		for (char *p = json; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	puts(json);
	free(json);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (!stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int sample(struct coh_sysroot *sr, struct coh_status *prev,
		  struct coh_status *cur)
{
	if (coh_status_sample(sr, prev, cur) < 0) {
		cli_error("sampling failed: out of memory");
		return -1;
	}
	return 0;
}

static int run_once(struct coh_sysroot *sr, const struct status_opts *o,
		    struct coh_status *prev, struct coh_status *cur,
		    const struct style *st)
{
	long window = o->window_ms;

	if (window < 0)
		window = coh_sysroot_is_live(sr) ? DEFAULT_WINDOW_MS : 0;
	if (window > 0) {
		if (sample(sr, NULL, prev) < 0)
			return CMD_EXIT_FAIL;
		sleep_ms(window);
	}
	if (sample(sr, window > 0 ? prev : NULL, cur) < 0)
		return CMD_EXIT_FAIL;
	return print_sample(cur, o, st) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static int run_watch(struct coh_sysroot *sr, const struct status_opts *o,
		     struct coh_status *prev, struct coh_status *cur,
		     const struct style *st)
{
	int tty = cli_use_color(stdout) || isatty(fileno(stdout));
	struct sigaction sa = { .sa_handler = on_signal };
	struct coh_status *tmp;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (sample(sr, NULL, prev) < 0)
		return CMD_EXIT_FAIL;
	while (!stop_requested) {
		sleep_ms((long)(o->watch_s * 1000));
		if (stop_requested)
			break;
		if (sample(sr, prev, cur) < 0)
			return CMD_EXIT_FAIL;
		if (!o->json && tty)
			fputs("\033[H\033[2J", stdout);	/* home, clear */
		else if (!o->json)
			puts("");
		if (print_sample(cur, o, st) < 0)
			return CMD_EXIT_FAIL;
		fflush(stdout);
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return CMD_EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct style plain = { "", "", "", { "", "", "", "" } };
	/* unknown: plain; ok green; warn yellow; hot red, as in the monitor */
	static const struct style color = { "\033[1m", "\033[2m", "\033[0m",
		{ "", "\033[32m", "\033[33m", "\033[1;31m" } };
	struct status_opts o = { 0 };
	struct coh_status *a, *b;
	struct coh_sysroot *sr;
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : -ret;
	if (o.fleet)
		return run_fleet(&o);
	if (cli_open_sysroot(o.sysroot, &sr))
		return CMD_EXIT_FAIL;
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b) {
		cli_error("out of memory");
		ret = CMD_EXIT_FAIL;
	} else if (o.watch_s > 0) {
		ret = run_watch(sr, &o, a, b, cli_use_color(stdout) ? &color : &plain);
	} else {
		ret = run_once(sr, &o, a, b, cli_use_color(stdout) ? &color : &plain);
	}
	free(a);
	free(b);
	coh_sysroot_close(sr);
	return ret;
}
