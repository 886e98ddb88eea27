/*
 * cohete agent, for real: the library agent serves a copy of a fixture tree
 * (orin-nano-8gb-super-r36) on an ephemeral loopback port, and this test
 * talks HTTP to it over a plain socket. It checks values from the tree in
 * /metrics, /v1/status against `cohete status --json`, 404/405/400/413,
 * that a missing or wrong token gets 401 and leaves the fan and the power
 * mode files alone, that the right token changes them (the power mode
 * through tests/sim/nvpmodel), that a token file others may read is
 * refused, and that a registered process group is stopped when the tree's
 * zones pass the policy's trip point and continued after it cools. Also
 * the metrics renderer alone on a fixture sample, and the CLI: refusal,
 * --watch-pgid, SIGTERM.
 *
 * JSON: /v1/status, rendered on every fixture tree, is its own document
 * (schema COH_AGENT_STATUS_SCHEMA, the sample's timestamp), and in it and
 * in every JSON reply the test gets, a key that holds a number names its
 * unit (the convention of docs/cohete.1, JSON OUTPUT; tests/json-units.sh
 * checks the same on the live agent) and no decimal has more than 10
 * significant digits.
 *
 * Hardening: only groups of the workload users may be watched (root's and
 * nobody's are refused); DELETE /v1/workloads/PGID stops watching and
 * continues; the paused groups are listed in the state directory and an
 * agent that starts continues those a SIGKILLed one left stopped; forty
 * connections that drip a byte at a time from 127.0.0.1 neither keep a
 * scrape out nor stay open past the request deadline; a URL with %00 is
 * 400; a client without the token gets 401 whatever its body's size; and
 * refusals are logged at a bounded rate with a count of what was left out.
 * As root, the test's process groups run as WORKLOAD_UID.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/agent.h>
#include <cohete/memory.h>

#include "harness.h"

#define TOKEN "t0ken-for-the-agent-test-0123456789"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"
#define WORKLOAD_UID 61234		/* as root: the test's workload user */
#define NOBODY_UID 65534

static char root[64], token_path[128], sim[512];
static const char *fixtures;
static struct coh_agent *agent;
static uint16_t port;
static int recv_timeout_s = 20;
static uid_t workload_uid;		/* WORKLOAD_UID as root, else ours */

struct resp {
	int status;
	char head[4096];
	char *body;
	size_t len;
};

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

static int connect_to(int family, uint16_t p)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(p) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(p) };
	struct timeval tv = { .tv_sec = recv_timeout_s };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in6.sin6_addr = in6addr_loopback;
	ok = family == AF_INET ? connect(fd, (struct sockaddr *)&in4, sizeof(in4)) :
	     connect(fd, (struct sockaddr *)&in6, sizeof(in6));
	if (ok < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Split "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" into status, head and body. */
static int parse_resp(char *buf, size_t len, struct resp *r)
{
	char *sep = strstr(buf, "\r\n\r\n");

	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->len = len - (size_t)(sep + 4 - buf);
	r->body = malloc(r->len + 1);
	if (!r->body)
		return -1;
	memcpy(r->body, sep + 4, r->len);
	r->body[r->len] = '\0';
	return 0;
}

/* One request on its own connection; headers end in "\r\n" each. */
static int http6(int family, uint16_t p, const char *method, const char *path,
		 const char *headers, const char *body, struct resp *r)
{
	size_t blen = body ? strlen(body) : 0, cap = 1 << 20, len = 0;
	char *req, *buf = malloc(cap);
	int fd = connect_to(family, p), ret = -1, n;
	ssize_t got;

	memset(r, 0, sizeof(*r));
	req = malloc(blen + 1024);
	if (fd < 0 || !buf || !req)
		goto out;
	n = snprintf(req, blen + 1024, "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		     "Connection: close\r\n%sContent-Length: %zu\r\n\r\n%s", method, path,
		     headers ? headers : "", blen, body ? body : "");
	if (send_all(fd, req, (size_t)n) < 0)
		goto out;
	while (len + 1 < cap && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	ret = parse_resp(buf, len, r);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(buf);
	return ret;
}

static int http(const char *method, const char *path, const char *headers,
		const char *body, struct resp *r)
{
	return http6(AF_INET, port, method, path, headers, body, r);
}

/* The value of a header in r->head (case-insensitive name), or NULL. */
static const char *header(const struct resp *r, const char *name, char *out, size_t size)
{
	char pat[64];
	const char *h;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	h = strcasestr(r->head, pat);
	if (!h)
		return NULL;
	h += strlen(pat);
	snprintf(out, size, "%.*s", (int)strcspn(h, "\r\n"), h);
	return out;
}

static int write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int read_tree(const char *rel, char *buf, size_t size)
{
	char path[256], *text;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	text = t_read_file(path);
	if (!text)
		return -1;
	snprintf(buf, size, "%s", text);
	free(text);
	return 0;
}

static int set_all_temps(int64_t temp_mc)
{
	char rel[128], text[32];
	int ret = 0;

	snprintf(text, sizeof(text), "%lld\n", (long long)temp_mc);
	for (int i = 0; i < 6; i++) {
		snprintf(rel, sizeof(rel), "sys/class/thermal/thermal_zone%d/temp", i);
		ret |= write_file(rel, text);
	}
	return ret;
}

/* The state letter of /proc/PID/stat: 'R', 'S', 'T', ... or '?'. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Wait up to limit_ms for the process to be stopped (1) or not (0). */
static int wait_stopped(pid_t pid, int stopped, int limit_ms)
{
	for (int ms = 0; ms <= limit_ms; ms += 20) {
		if ((proc_state(pid) == 'T') == stopped)
			return 0;
		usleep(20 * 1000);
	}
	fprintf(stderr, "pid %d: state %c after %d ms, want %s\n", (int)pid,
		proc_state(pid), limit_ms, stopped ? "stopped" : "running");
	return -1;
}

/* A process group of its own, busy, running as uid (when we may). */
static pid_t spawn_group_as(uid_t uid)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		volatile unsigned long n = 0;

		setpgid(0, 0);
		if (geteuid() == 0 && uid != 0 && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(99);
		close(ready[1]);	/* in its group, as uid: ready */
		for (;;)
			n++;
	}
	close(ready[1]);
	if (pid > 0) {
		setpgid(pid, pid);
		if (read(ready[0], &c, 1) != 0)
			pid = -1;
	}
	close(ready[0]);
	return pid;
}

static pid_t spawn_busy_group(void)
{
	return spawn_group_as(workload_uid);
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(-pid, SIGCONT);
	waitpid(pid, NULL, 0);
}

/* Whether text holds line as a whole line. */
static int line_in(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

/* Wait up to limit_ms for /metrics to hold line. */
static int metrics_line(const char *line, int limit_ms)
{
	struct resp r;

	for (int ms = 0; ms <= limit_ms; ms += 50) {
		int found;

		if (http("GET", "/metrics", NULL, NULL, &r) < 0)
			return -1;
		found = r.status == 200 && line_in(r.body, line);
		resp_free(&r);
		if (found)
			return 0;
		usleep(50 * 1000);
	}
	fprintf(stderr, "/metrics: no line '%s' after %d ms\n", line, limit_ms);
	return -1;
}

static int make_token_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return chmod(path, mode);
}

/* ---------------------------------------------------------------------- */
/* The renderer alone, on a fixture sample. */

static int has_line(const char *text, const char *line)
{
	if (line_in(text, line))
		return 1;
	fprintf(stderr, "missing line: %s\n", line);
	return 0;
}

static int has_prefix_line(const char *text, const char *prefix)
{
	for (const char *p = text; (p = strstr(p, prefix)); p++)
		if (p == text || p[-1] == '\n')
			return 1;
	return 0;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/*
 * The format's rules, checked line by line: every family has one HELP and
 * one TYPE before its samples, samples of a family are together, counters
 * end in _total and nothing else does, no series twice, values are numbers.
 */
static int check_exposition(const char *text)
{
	json_t *families = json_object(), *series = json_object();
	char family[128] = "", line[4096], name[128], type[16];
	const char *p = text;
	int bad = 0;

	while (*p && !bad) {
		size_t n = strcspn(p, "\n"), nl;
		char *end;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		if (sscanf(line, "# HELP %127s", name) == 1) {
			bad |= json_object_get(families, name) != NULL;
			json_object_set_new(families, name, json_true());
			snprintf(family, sizeof(family), "%s", name);
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			nl = strlen(name);
			bad |= strcmp(name, family) != 0;
			bad |= (strcmp(type, "counter") == 0) != ends_with(name, nl, "_total");
			bad |= strcmp(type, "counter") && strcmp(type, "gauge");
			continue;
		}
		nl = strcspn(line, "{ ");
		bad |= nl != strlen(family) || strncmp(line, family, nl) != 0;
		end = strrchr(line, ' ');
		bad |= !end;
		if (end) {
			*end = '\0';
			strtod(end + 1, &end);
			bad |= *end != '\0';
			bad |= json_object_get(series, line) != NULL;
			json_object_set_new(series, line, json_true());
		}
		if (bad)
			fprintf(stderr, "exposition broken at: %s\n", line);
	}
	json_decref(families);
	json_decref(series);
	return bad ? -1 : 0;
}

static int render(const struct coh_agent_snapshot *s, char **text)
{
	size_t len;

	if (coh_agent_metrics_render(s, text, &len) < 0 || strlen(*text) != len)
		return -1;
	return check_exposition(*text);
}

static void fill_views(struct coh_agent_snapshot *s, const struct coh_status *st)
{
	memset(s, 0, sizeof(*s));
	s->status = st;
	s->breaker.present = 1;
	coh_thermal_guard_policy_named("conservative", &s->breaker.policy, NULL);
	s->breaker.state = COH_THERMAL_GUARD_TRIPPED;
	s->breaker.input_mc = 70250;
	s->breaker.trips = 3;
	s->breaker.workload_count = 2;
	s->budget.present = 1;
	s->budget.total_bytes = 8ULL << 30;
	s->budget.reserved_bytes = 2ULL << 30;
	s->budget.used_bytes = 1ULL << 30;
	s->agent.present = 1;
	s->agent.interval_ms = 100;
	s->agent.samples = 12;
	s->agent.last_sample_ns = 1500000;
}

static int check_fixture_values(const char *t)
{
	static const char *const lines[] = {
		"cohete_thermal_zone_temperature_celsius{zone=\"thermal_zone0\","
			"type=\"cpu-thermal\",name=\"cpu\"} 47.687",
		"cohete_thermal_zone_info{zone=\"thermal_zone5\",type=\"tj-thermal\","
			"name=\"tj\",state=\"on\"} 1",
		"cohete_rail_voltage_volts{rail=\"VDD_IN\",device=\"1-0040\"} 19.104",
		"cohete_rail_current_amperes{rail=\"VDD_IN\",device=\"1-0040\"} 0.238",
		"cohete_rail_power_watts{rail=\"VDD_IN\",device=\"1-0040\"} 4.546",
		"cohete_power_total_watts{kind=\"input\",rail=\"VDD_IN\"} 4.546",
		"cohete_power_mode_info{id=\"2\",name=\"MAXN_SUPER\"} 1",
		"cohete_power_mode_id 2",
		"cohete_fan_pwm 88",
		"cohete_fan_speed_rpm 1794",
		"cohete_cpu_frequency_hertz{cpu=\"0\"} 729600000",
		"cohete_cpu_frequency_max_hertz{cpu=\"5\"} 1728000000",
		"cohete_cpu_online{cpu=\"3\"} 1",
		"cohete_gpu_frequency_hertz{gpu=\"17000000.gpu\"} 306000000",
		"cohete_gpu_frequency_max_hertz{gpu=\"17000000.gpu\"} 1020000000",
		"cohete_memory_total_bytes 7990272000",
		"cohete_swap_total_bytes 3995111424",
		"cohete_zram_disk_size_bytes{device=\"zram0\"} 665856000",
		"cohete_zram_info{device=\"zram5\",algorithm=\"lzo-rle\",swap=\"true\"} 1",
		"cohete_uptime_seconds 12847",
		"cohete_breaker_state{state=\"tripped\"} 1",
		"cohete_breaker_state{state=\"ok\"} 0",
		"cohete_breaker_paused 1",
		"cohete_breaker_trips_total 3",
		"cohete_breaker_input_temperature_celsius 70.25",
		"cohete_breaker_trip_temperature_celsius 65",
		"cohete_breaker_policy_info{policy=\"conservative\"} 1",
		"cohete_breaker_workloads 2",
		"cohete_budget_total_bytes 8589934592",
		"cohete_budget_available_bytes 5368709120",
		"cohete_agent_samples_total 12",
		"cohete_agent_last_sample_duration_seconds 0.0015",
		"cohete_agent_sample_interval_seconds 0.1",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		CHECK(has_line(t, lines[i]));
	CHECK(strstr(t, "# TYPE cohete_breaker_trips_total counter\n"));
	CHECK(strstr(t, "# HELP cohete_fan_pwm "));
	return T_PASS;
}

static int sample_fixture(struct coh_status *st)
{
	struct coh_sysroot_opts so = { 0 };
	struct coh_sysroot *sr;
	char path[600];
	int ret;

	snprintf(path, sizeof(path), "%s/sysroots/orin-nano-8gb-super-r36", fixtures);
	so.root = path;
	if (coh_sysroot_open(&sr, &so, NULL) < 0)
		return -1;
	ret = coh_status_sample(sr, NULL, st);
	coh_sysroot_close(sr);
	return ret;
}

static int test_render(void)
{
	static struct coh_status st;
	struct coh_agent_snapshot s;
	char *t = NULL;
	int rc;

	CHECK(sample_fixture(&st) == 0);
	fill_views(&s, &st);
	CHECK(render(&s, &t) == 0);
	rc = check_fixture_values(t);
	free(t);
	return rc;
}

/* Odd readings: unknown, off, an EMC and engines, names that need escaping. */
static void make_odd(struct coh_status *st)
{
	st->fan.rpm = COH_NA;
	st->thermal.zones[0].state = COH_ZONE_OFF;
	st->thermal.zones[0].temp_mc = COH_NA;
	st->rails.rail[1].current_ma = COH_NA;
	st->memory.info.available_kb = COH_NA;
	st->mode.id = COH_NA;
	snprintf(st->thermal.zones[1].type, sizeof(st->thermal.zones[1].type),
		 "we\"ird\\zone\nx\xff");
	st->emc.present = 1;
	st->emc.cur_hz = 2133000000;
	st->emc.min_hz = st->emc.max_hz = st->emc.cap_hz = COH_NA;
	st->emc.load_permille = 250;
	st->engines.readable = 1;
	st->engines.count = 2;
	st->engines.engine[0] = (struct coh_engine){ "nvdec", 0, 0, 115000000, COH_NA };
	st->engines.engine[1] = (struct coh_engine){ "nvenc", 1, 1113600000, 115000000,
						     COH_NA };
}

static int check_odd(const char *t)
{
	CHECK(!has_prefix_line(t, "cohete_fan_speed_rpm"));
	CHECK(!has_prefix_line(t, "# HELP cohete_fan_speed_rpm"));
	CHECK(!strstr(t, "cohete_thermal_zone_temperature_celsius{zone=\"thermal_zone0\""));
	CHECK(has_line(t, "cohete_thermal_zone_info{zone=\"thermal_zone0\","
		       "type=\"cpu-thermal\",name=\"cpu\",state=\"off\"} 1"));
	CHECK(!strstr(t, "cohete_rail_current_amperes{rail=\"VDD_CPU_GPU_CV\""));
	CHECK(has_line(t, "cohete_rail_voltage_volts{rail=\"VDD_CPU_GPU_CV\","
		       "device=\"1-0040\"} 19.096"));
	CHECK(!has_prefix_line(t, "cohete_memory_available_bytes"));
	CHECK(!strstr(t, "cohete_power_mode"));
	CHECK(!has_prefix_line(t, "cohete_breaker_input_temperature_celsius"));
	CHECK(strstr(t, "type=\"we\\\"ird\\\\zone\\nx?\""));
	CHECK(has_line(t, "cohete_emc_frequency_hertz 2133000000"));
	CHECK(has_line(t, "cohete_emc_load_ratio 0.25"));
	CHECK(!strstr(t, "cohete_emc_frequency_cap_hertz"));
	CHECK(has_line(t, "cohete_engine_on{engine=\"nvenc\"} 1"));
	CHECK(has_line(t, "cohete_engine_on{engine=\"nvdec\"} 0"));
	CHECK(has_line(t, "cohete_engine_frequency_hertz{engine=\"nvenc\"} 1113600000"));
	CHECK(!strstr(t, "cohete_engine_frequency_max_hertz{"));
	return T_PASS;
}

static int test_render_odd(void)
{
	static struct coh_status st;
	struct coh_agent_snapshot s;
	char *t = NULL;
	int rc;

	CHECK(sample_fixture(&st) == 0);
	make_odd(&st);
	fill_views(&s, &st);
	s.breaker.input_mc = COH_NA;
	CHECK(render(&s, &t) == 0);
	rc = check_odd(t);
	if (rc != T_PASS)
		fprintf(stderr, "%s", t);
	free(t);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The JSON convention (docs/cohete.1, JSON OUTPUT). */

/* The units of tests/json-units.sh; numbers without one are ids and raw values. */
static const char *const units[] = { "_bytes", "_mw", "_mv", "_ma", "_mhz", "_celsius",
				     "_percent", "_ms", "_s", "_rpm", "_count" };
static const char *const unitless[] = {
	"id",			/* a core or power mode */
	"from_id", "to_id",	/* POST /v1/power/mode: the modes */
	"pgid",			/* a process group */
	"pwm",			/* the fan's raw duty level, 0..255 */
};

static int is_number_or_numbers(json_t *v)
{
	size_t i;
	json_t *x;

	if (json_is_number(v))
		return 1;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return 0;
	json_array_foreach(v, i, x)
		if (!json_is_number(x))
			return 0;
	return 1;
}

static int key_has_unit(const char *key)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ends_with(key, strlen(key), units[i]))
			return 1;
	for (size_t i = 0; i < sizeof(unitless) / sizeof(unitless[0]); i++)
		if (!strcmp(key, unitless[i]))
			return 1;
	return 0;
}

/* Every number in v under a key with a unit; else -1, naming where. */
static int walk_units(const char *where, json_t *v)
{
	char path[512];
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(path, sizeof(path), "%s[%zu]", where, i);
			if (walk_units(path, x) < 0)
				return -1;
		}
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach(v, key, x) {
		snprintf(path, sizeof(path), "%s.%s", where, key);
		if (is_number_or_numbers(x) && !key_has_unit(key)) {
			fprintf(stderr, "%s: a number without a unit suffix\n", path);
			return -1;
		}
		if (walk_units(path, x) < 0)
			return -1;
	}
	return 0;
}

/* Significant digits of the number at p (up to its exponent); *end after it. */
static int sig_digits(const char *p, const char **end)
{
	int digits = 0, lead = 1;

	p += *p == '-';
	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
		lead &= *p == '0' || *p == '.';
		digits += *p != '.' && !lead;
	}
	while ((*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')
		p++;
	*end = p;
	return digits;
}

/* No number printed with more than 10 significant digits (47.686999...). */
static int digits_ok(const char *text)
{
	const char *p = text, *end;

	while (*p) {
		if (*p == '"') {	/* a string: skip it, escapes included */
			for (p++; *p && *p != '"'; p++)
				p += *p == '\\' && p[1];
			p += *p == '"';
			continue;
		}
		if (*p != '-' && (*p < '0' || *p > '9')) {
			p++;
			continue;
		}
		if (sig_digits(p, &end) > 10 && memchr(p, '.', (size_t)(end - p))) {
			fprintf(stderr, "a decimal printed with more than 10 significant "
				"digits: %.*s\n", (int)(end - p), p);
			return -1;
		}
		p = end;
	}
	return 0;
}

/* A JSON body under the convention; what is not JSON is not checked. */
static int json_units_ok(const char *what, const char *text)
{
	json_t *doc = json_loads(text, 0, NULL);
	int ret;

	if (!doc)
		return 0;
	ret = walk_units(what, doc) == 0 && digits_ok(text) == 0 ? 0 : -1;
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", what, text);
	json_decref(doc);
	return ret;
}

/* RFC 3339 in UTC with milliseconds: 2026-07-25T09:08:28.042Z. */
static int is_timestamp(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (!s || strlen(s) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return 0;
	return 1;
}

/* One fixture tree's /v1/status document, with every view filled. */
static int check_status_doc(const char *tree)
{
	static struct coh_status st;
	struct coh_sysroot_opts so = { .root = tree };
	struct coh_agent_snapshot s;
	struct coh_sysroot *sr;
	json_t *doc, *br, *ag;
	char *text;
	int ok;

	CHECK(coh_sysroot_open(&sr, &so, NULL) == 0);
	ok = coh_status_sample(sr, NULL, &st) >= 0;
	coh_sysroot_close(sr);
	CHECK(ok);
	fill_views(&s, &st);
	s.breaker.workloads[0] = 4242;
	s.breaker.workloads[1] = 4243;
	s.breaker.predicted = 1;
	s.breaker.predicted_trip_ms = 12500;
	text = coh_agent_status_json(&s);
	CHECK(text);
	doc = json_loads(text, 0, NULL);
	ok = doc && json_units_ok(tree, text) == 0;
	free(text);
	CHECK(ok);
	br = json_object_get(doc, "breaker");
	ag = json_object_get(doc, "agent");
	ok = !strcmp(json_string_value(json_object_get(doc, "schema")),
		     COH_AGENT_STATUS_SCHEMA) &&
	     is_timestamp(json_string_value(json_object_get(doc, "timestamp"))) &&
	     json_real_value(json_object_get(br, "input_temp_celsius")) == 70.25 &&
	     json_real_value(json_object_get(json_object_get(br, "policy"),
					     "trip_celsius")) == 65.0 &&
	     json_integer_value(json_object_get(br, "trip_count")) == 3 &&
	     json_integer_value(json_object_get(br, "predicted_trip_ms")) == 12500 &&
	     json_integer_value(json_object_get(json_array_get(json_object_get(br,
			"workloads"), 1), "pgid")) == 4243 &&
	     json_integer_value(json_object_get(ag, "sample_count")) == 12 &&
	     /* 1.5 ms, in whole milliseconds */
	     json_integer_value(json_object_get(ag, "last_sample_duration_ms")) == 2;
	json_decref(doc);
	if (!ok)
		fprintf(stderr, "%s: /v1/status keys or values not as expected\n", tree);
	return ok ? T_PASS : T_FAIL;
}

static int test_status_json(void)
{
	static struct coh_status st;
	struct coh_agent_snapshot s;
	char path[600];
	struct dirent *e;
	json_t *doc;
	char *text;
	int rc = T_PASS, n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sysroots", fixtures);
	d = opendir(path);
	CHECK(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/sysroots/%s", fixtures, e->d_name);
		if (check_status_doc(path) != T_PASS)
			rc = T_FAIL;
		n++;
	}
	closedir(d);
	CHECK(n > 0);
	/* No reading: null, not 0. */
	CHECK(sample_fixture(&st) == 0);
	fill_views(&s, &st);
	s.breaker.input_mc = COH_NA;
	text = coh_agent_status_json(&s);
	CHECK(text);
	doc = json_loads(text, 0, NULL);
	free(text);
	CHECK(doc && json_is_null(json_object_get(json_object_get(doc, "breaker"),
						  "input_temp_celsius")));
	json_decref(doc);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The server. */

static int test_status_matches_cli(void)
{
	const char *bin = getenv("COHETE_BIN"), *run = getenv("COHETE_RUN");
	static const char *const keys[] = { "device", "memory", "thermal", "power", "fan" };
	char cmd[1200];
	json_t *ours, *cli, *br, *bu;
	struct resp r;
	FILE *p;

	if (!bin) {
		printf("SKIP: COHETE_BIN not set\n");
		return T_SKIP;
	}
	snprintf(cmd, sizeof(cmd), "%s %s status --json --sysroot '%s'", run ? run : "",
		 bin, root);
	p = popen(cmd, "r");
	CHECK(p);
	cli = json_loadf(p, 0, NULL);
	CHECK(pclose(p) == 0 && cli);
	CHECK(http("GET", "/v1/status", NULL, NULL, &r) == 0 && r.status == 200);
	ours = json_loads(r.body, 0, NULL);
	/* Printed as the CLI prints it: 47.687 °C, not 47.686999999999998. */
	if (!strstr(r.body, "\"temp_celsius\": 47.687,") ||
	    json_units_ok("/v1/status", r.body) < 0) {
		fprintf(stderr, "/v1/status: %s\n", r.body);
		resp_free(&r);
		return T_FAIL;
	}
	resp_free(&r);
	CHECK(ours);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_equal(json_object_get(ours, keys[i]), json_object_get(cli, keys[i]))) {
			fprintf(stderr, "/v1/status .%s differs from cohete status --json\n",
				keys[i]);
			return T_FAIL;
		}
	br = json_object_get(ours, "breaker");
	bu = json_object_get(ours, "budget");
	CHECK(!strcmp(json_string_value(json_object_get(br, "state")), "ok"));
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(br, "policy"),
							  "name")), "conservative"));
	CHECK(json_real_value(json_object_get(br, "input_temp_celsius")) == 48.625);
	CHECK(!strcmp(json_string_value(json_object_get(ours, "schema")),
		      COH_AGENT_STATUS_SCHEMA));
	CHECK(is_timestamp(json_string_value(json_object_get(ours, "timestamp"))));
	/* Orin Nano 8GB: the preset is 8 GiB with 2 GiB kept back. */
	CHECK(json_integer_value(json_object_get(bu, "total_bytes")) == 8LL << 30);
	CHECK(json_integer_value(json_object_get(bu, "reserved_bytes")) == 2LL << 30);
	json_decref(ours);
	json_decref(cli);
	return T_PASS;
}

static int test_reads(void)
{
	char v[128];
	struct resp r;

	CHECK(http("GET", "/metrics", NULL, NULL, &r) == 0 && r.status == 200);
	CHECK(header(&r, "Content-Type", v, sizeof(v)) &&
	      !strcmp(v, "text/plain; version=0.0.4; charset=utf-8"));
	CHECK(has_line(r.body, "cohete_fan_pwm 88"));
	CHECK(check_exposition(r.body) == 0);
	resp_free(&r);
	/* The agent samples the tree: a new reading shows up. */
	CHECK(write_file("sys/class/thermal/thermal_zone0/temp", "51234\n") == 0);
	CHECK(metrics_line("cohete_thermal_zone_temperature_celsius{zone=\"thermal_zone0\","
			   "type=\"cpu-thermal\",name=\"cpu\"} 51.234", 2000) == 0);
	CHECK(http("HEAD", "/metrics", NULL, NULL, &r) == 0 && r.status == 200 && r.len == 0);
	resp_free(&r);
	return T_PASS;
}

static int test_errors(void)
{
	char v[128];
	struct resp r;

	CHECK(http("GET", "/nope", NULL, NULL, &r) == 0 && r.status == 404);
	CHECK(strstr(r.body, "\"error\""));
	resp_free(&r);
	CHECK(http("POST", "/metrics", AUTH, "{}", &r) == 0 && r.status == 405);
	CHECK(header(&r, "Allow", v, sizeof(v)) && !strcmp(v, "GET, HEAD"));
	resp_free(&r);
	CHECK(http("GET", "/v1/fan", NULL, NULL, &r) == 0 && r.status == 405);
	CHECK(header(&r, "Allow", v, sizeof(v)) && !strcmp(v, "POST"));
	resp_free(&r);
	CHECK(http("DELETE", "/v1/status", NULL, NULL, &r) == 0 && r.status == 405);
	resp_free(&r);
	return T_PASS;
}

static int expect(const char *path, const char *headers, const char *body, int status,
		  const char *in_body)
{
	struct resp r;
	int ok;

	if (http("POST", path, headers, body, &r) < 0) {
		fprintf(stderr, "POST %s: no answer\n", path);
		return -1;
	}
	ok = r.status == status && (!in_body || strstr(r.body, in_body)) &&
	     json_units_ok(path, r.body) == 0;
	if (!ok)
		fprintf(stderr, "POST %s %s: got %d %s, want %d with '%s'\n", path,
			body ? body : "", r.status, r.body, status, in_body ? in_body : "");
	resp_free(&r);
	return ok ? 0 : -1;
}

static int test_auth(void)
{
	char pwm[32], mode[64], v[128];
	struct resp r;

	CHECK(http("POST", "/v1/fan", NULL, "{\"pwm\": 200}", &r) == 0 && r.status == 401);
	CHECK(header(&r, "WWW-Authenticate", v, sizeof(v)) && !strncmp(v, "Bearer", 6));
	resp_free(&r);
	CHECK(http("POST", "/v1/fan", "Authorization: Bearer wrong-token-0123456789\r\n",
		   "{\"pwm\": 200}", &r) == 0 && r.status == 401);
	CHECK(header(&r, "WWW-Authenticate", v, sizeof(v)) && strstr(v, "invalid_token"));
	resp_free(&r);
	CHECK(expect("/v1/fan", "Authorization: Bearer " TOKEN "x\r\n", "{\"pwm\": 200}",
		     401, NULL) == 0);
	CHECK(expect("/v1/fan", "Authorization: Bearer t0ken-for-the-agent-test-012345678\r\n",
		     "{\"pwm\": 200}", 401, NULL) == 0);
	CHECK(expect("/v1/fan", "Authorization: Basic dXNlcjpwYXNz\r\n", "{\"pwm\": 200}",
		     401, NULL) == 0);
	CHECK(expect("/v1/fan", "Authorization: " TOKEN "\r\n", "{\"pwm\": 200}",
		     401, NULL) == 0);
	CHECK(expect("/v1/power/mode", NULL, "{\"id\": 0}", 401, NULL) == 0);
	CHECK(expect("/v1/power/mode", "Authorization: Bearer nope\r\n", "{\"id\": 0}",
		     401, NULL) == 0);
	CHECK(expect("/v1/breaker/reset", NULL, NULL, 401, NULL) == 0);
	CHECK(expect("/v1/workloads", NULL, "{\"pgid\": 2}", 401, NULL) == 0);
	/* Nothing changed. */
	CHECK(read_tree("sys/class/hwmon/hwmon0/pwm1", pwm, sizeof(pwm)) == 0 &&
	      atoi(pwm) == 88);
	CHECK(read_tree("var/lib/nvpmodel/status", mode, sizeof(mode)) == 0 &&
	      !strncmp(mode, "pmode:0002", 10));
	CHECK(metrics_line("cohete_agent_unauthorized_requests_total 10", 0) == 0);
	return T_PASS;
}

static int test_bad_bodies(void)
{
	char big[COH_AGENT_BODY_MAX + 64];

	CHECK(expect("/v1/fan", AUTH, "{", 400, "not JSON") == 0);
	CHECK(expect("/v1/fan", AUTH, "[1]", 400, "object") == 0);
	CHECK(expect("/v1/fan", AUTH, "{}", 400, "pwm: missing") == 0);
	CHECK(expect("/v1/fan", AUTH, "{\"pwm\": \"x\"}", 400, "pwm: want an integer") == 0);
	CHECK(expect("/v1/fan", AUTH, "{\"pwm\": 256}", 400, "pwm") == 0);
	CHECK(expect("/v1/fan", AUTH, "{\"pwm\": -1}", 400, "pwm") == 0);
	CHECK(expect("/v1/fan", AUTH, "{\"pmw\": 1}", 400, "pmw: unknown field") == 0);
	CHECK(expect("/v1/power/mode", AUTH, "{\"id\": 9}", 400, "id: no power mode 9") == 0);
	CHECK(expect("/v1/power/mode", AUTH, "{\"id\": 0, \"reboot_ok\": 1}", 400,
		     "reboot_ok") == 0);
	CHECK(expect("/v1/workloads", AUTH, "{\"pgid\": 1}", 400, "pgid") == 0);
	CHECK(expect("/v1/workloads", AUTH, "{\"pgid\": 2147483647}", 400, "pgid") == 0);
	CHECK(expect("/v1/breaker/reset", AUTH, "{\"force\": true}", 400, "force") == 0);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	CHECK(expect("/v1/fan", AUTH, big, 413, NULL) == 0);
	return T_PASS;
}

static int test_control(void)
{
	char pwm[32], mode[64];

	CHECK(expect("/v1/fan", AUTH, "{\"pwm\": 200}", 200, "\"pwm\":200") == 0);
	CHECK(read_tree("sys/class/hwmon/hwmon0/pwm1", pwm, sizeof(pwm)) == 0 &&
	      atoi(pwm) == 200);
	CHECK(metrics_line("cohete_fan_pwm 200", 2000) == 0);
	CHECK(expect("/v1/power/mode", AUTH, "{\"id\": 0}", 200, "\"changed\":true") == 0);
	CHECK(read_tree("var/lib/nvpmodel/status", mode, sizeof(mode)) == 0 &&
	      !strncmp(mode, "pmode:0000", 10));
	CHECK(metrics_line("cohete_power_mode_info{id=\"0\",name=\"15W\"} 1", 2000) == 0);
	CHECK(expect("/v1/power/mode", AUTH, "{\"id\": 0, \"reboot_ok\": false}", 200,
		     "\"changed\":false") == 0);
	/* A lower-case scheme is the same scheme (RFC 7235). */
	CHECK(expect("/v1/power/mode", "Authorization: bearer " TOKEN "\r\n",
		     "{\"id\": 2}", 200, "\"to_name\":\"MAXN_SUPER\"") == 0);
	return T_PASS;
}

static int breaker_cycle(pid_t child)
{
	struct resp r;

	CHECK(set_all_temps(70000) == 0);
	CHECK(wait_stopped(child, 1, 3000) == 0);
	CHECK(metrics_line("cohete_breaker_state{state=\"tripped\"} 1", 1000) == 0);
	CHECK(metrics_line("cohete_breaker_trips_total 1", 0) == 0);
	CHECK(metrics_line("cohete_breaker_input_temperature_celsius 70", 0) == 0);
	/* Still hot: a reset is refused and changes nothing. */
	CHECK(expect("/v1/breaker/reset", AUTH, NULL, 409, "trip point") == 0);
	CHECK(proc_state(child) == 'T');
	/* Below the trip point, above the cooldown: stays paused. */
	CHECK(set_all_temps(58000) == 0);
	CHECK(metrics_line("cohete_breaker_state{state=\"cooling\"} 1", 2000) == 0);
	usleep(600 * 1000);
	CHECK(proc_state(child) == 'T');
	CHECK(http("GET", "/v1/status", NULL, NULL, &r) == 0 && r.status == 200);
	CHECK(strstr(r.body, "\"paused\": true"));
	resp_free(&r);
	/* A reset forgets the cooldown: work resumes. */
	CHECK(expect("/v1/breaker/reset", AUTH, NULL, 200, "\"from\":\"cooling\"") == 0);
	CHECK(wait_stopped(child, 0, 1000) == 0);
	/* Trips again, and resumes by itself below the cooldown. */
	CHECK(set_all_temps(71000) == 0);
	CHECK(wait_stopped(child, 1, 3000) == 0);
	CHECK(metrics_line("cohete_breaker_trips_total 2", 1000) == 0);
	CHECK(set_all_temps(45000) == 0);
	CHECK(wait_stopped(child, 0, 3000) == 0);
	return T_PASS;
}

static int test_breaker(void)
{
	pid_t child = spawn_busy_group(), late = -1;
	char body[64];
	int rc = T_FAIL;

	if (child < 0)
		return T_ERROR;
	snprintf(body, sizeof(body), "{\"pgid\": %d}", (int)child);
	if (expect("/v1/workloads", AUTH, body, 201, "\"new\":true") < 0 ||
	    expect("/v1/workloads", AUTH, body, 200, "\"new\":false") < 0 ||
	    metrics_line("cohete_breaker_workloads 1", 0) < 0)
		goto out;
	if (breaker_cycle(child) != T_PASS)
		goto out;
	/* Work registered while paused is paused at once. */
	if (set_all_temps(70000) < 0 || wait_stopped(child, 1, 3000) < 0)
		goto out;
	late = spawn_busy_group();
	snprintf(body, sizeof(body), "{\"pgid\": %d}", (int)late);
	if (late < 0 || expect("/v1/workloads", AUTH, body, 201, NULL) < 0 ||
	    wait_stopped(late, 1, 200) < 0)
		goto out;
	/* An exited group is forgotten. */
	reap(late);
	late = -1;
	if (metrics_line("cohete_breaker_workloads 1", 2000) < 0)
		goto out;
	/* Destroying the agent continues what it paused. */
	coh_agent_destroy(agent);
	agent = NULL;
	if (wait_stopped(child, 0, 500) == 0)
		rc = T_PASS;
out:
	reap(child);
	reap(late);
	return rc;
}

static int start_agent(struct coh_agent **a, const char *listen, const char *token,
		       struct pep_err *err)
{
	struct coh_agent_opts o = { .sysroot = root, .listen = listen,
				    .interval_ms = 100, .token_file = token,
				    .nvpmodel = sim, .workload_uids = &workload_uid,
				    .workload_uid_count = 1 };
	int ret = coh_agent_create(a, &o, err);

	if (ret == 0 && (ret = coh_agent_start(*a, err)) < 0) {
		coh_agent_destroy(*a);
		*a = NULL;
	}
	return ret;
}

static int test_no_token(void)
{
	struct coh_agent *a;
	uint16_t saved = port;
	struct pep_err err;
	int ok;

	CHECK(start_agent(&a, "127.0.0.1:0", NULL, &err) == 0);
	port = coh_agent_port(a);
	ok = expect("/v1/fan", AUTH, "{\"pwm\": 10}", 403, "token file") == 0 &&
	     metrics_line("cohete_fan_pwm 200", 1000) == 0;
	port = saved;
	coh_agent_destroy(a);
	CHECK(ok);
	return T_PASS;
}

static int test_addresses(void)
{
	struct coh_agent *a, *b;
	struct pep_err err;
	char addr[64], listen[64];
	uint16_t p;
	struct resp r;
	int ret;

	CHECK(coh_agent_listen_parse("[::1]:9102", addr, sizeof(addr), &p, NULL) == 6 &&
	      !strcmp(addr, "::1") && p == 9102);
	CHECK(coh_agent_listen_parse("0.0.0.0:0", addr, sizeof(addr), &p, NULL) == 4);
	CHECK(coh_agent_listen_parse("localhost:9102", addr, sizeof(addr), &p, &err) == -EINVAL);
	CHECK(coh_agent_listen_parse("127.0.0.1:65536", addr, sizeof(addr), &p, &err) == -EINVAL);
	CHECK(coh_agent_listen_parse("127.0.0.1", addr, sizeof(addr), &p, &err) == -EINVAL);
	CHECK(coh_agent_listen_parse("[::1]9102", addr, sizeof(addr), &p, &err) == -EINVAL);
	/* A port in use is reported with the address. */
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned int)port);
	CHECK(start_agent(&a, listen, NULL, &err) == -EADDRINUSE);
	CHECK(strstr(err.msg, listen));
	/* IPv6 loopback, where this machine has it. */
	ret = start_agent(&b, "[::1]:0", NULL, &err);
	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT) {
		printf("no IPv6 loopback here: %s\n", err.msg);
		return T_PASS;
	}
	CHECK(ret == 0);
	ret = http6(AF_INET6, coh_agent_port(b), "GET", "/metrics", NULL, NULL, &r);
	coh_agent_destroy(b);
	CHECK(ret == 0 && r.status == 200 && strstr(r.body, "cohete_fan_pwm"));
	resp_free(&r);
	return T_PASS;
}

static int test_token_files(void)
{
	char path[160];
	struct coh_agent *a = NULL;
	struct coh_agent_opts o = { .sysroot = root, .token_file = path };
	struct pep_err err;

	snprintf(path, sizeof(path), "%s/open.token", root);
	CHECK(make_token_file(path, TOKEN "\n", 0644) == 0);
	CHECK(coh_agent_create(&a, &o, &err) == -EPERM);
	CHECK(strstr(err.msg, "0644") && strstr(err.msg, "too open"));
	CHECK(chmod(path, 0640) == 0 && coh_agent_create(&a, &o, &err) == -EPERM);
	CHECK(make_token_file(path, "short\n", 0600) == 0);
	CHECK(coh_agent_create(&a, &o, &err) == -EINVAL && strstr(err.msg, "16 or more"));
	CHECK(make_token_file(path, "two words here, far too long anyway\n", 0600) == 0);
	CHECK(coh_agent_create(&a, &o, &err) == -EINVAL && strstr(err.msg, "one line"));
	snprintf(path, sizeof(path), "%s/sys", root);
	CHECK(coh_agent_create(&a, &o, &err) == -EINVAL && strstr(err.msg, "regular file"));
	snprintf(path, sizeof(path), "%s/no-such.token", root);
	CHECK(coh_agent_create(&a, &o, &err) == -ENOENT && strstr(err.msg, path));
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/theirs.token", root);
		CHECK(make_token_file(path, TOKEN "\n", 0600) == 0);
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(coh_agent_create(&a, &o, &err) == -EPERM && strstr(err.msg, "owned by"));
	}
	CHECK(a == NULL);
	return T_PASS;
}

/* ---------------------------------------------------------------------- */
/* Hardening. */

/* A URL with %00 is not the URL before it, and nothing changes. */
static int test_url_control(void)
{
	char pwm[32];
	struct resp r;

	CHECK(expect("/v1/fan%00junk", AUTH, "{\"pwm\": 123}", 400, "control character") == 0);
	CHECK(read_tree("sys/class/hwmon/hwmon0/pwm1", pwm, sizeof(pwm)) == 0 &&
	      atoi(pwm) != 123);
	CHECK(http("GET", "/metrics%0a", NULL, NULL, &r) == 0 && r.status == 400);
	resp_free(&r);
	CHECK(http("GET", "/metrics?x=%7f", NULL, NULL, &r) == 0 && r.status == 400);
	resp_free(&r);
	/* A '%' that is no escape is just a character: no such endpoint. */
	CHECK(http("GET", "/metrics%zz", NULL, NULL, &r) == 0 && r.status == 404);
	resp_free(&r);
	CHECK(http("GET", "/metrics", NULL, NULL, &r) == 0 && r.status == 200);
	resp_free(&r);
	return T_PASS;
}

/* Without the token, a body's size is nobody's business: 401 first. */
static int test_auth_before_size(void)
{
	static char big[COH_AGENT_BODY_MAX * 4];
	struct resp r;

	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	CHECK(http("POST", "/v1/fan", NULL, big, &r) == 0 && r.status == 401);
	CHECK(!strstr(r.body, "bytes"));
	resp_free(&r);
	CHECK(expect("/v1/fan", "Authorization: Bearer wrong-token-0123456789\r\n", big, 401,
		     NULL) == 0);
	CHECK(expect("/v1/fan", AUTH, big, 413, NULL) == 0);
	return T_PASS;
}

static int post_pgid(pid_t pgid, int status, const char *in_body)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"pgid\": %d}", (int)pgid);
	return expect("/v1/workloads", AUTH, body, status, in_body);
}

/* Groups of other users, root's among them, are not the workload's. */
static int owners_as_root(void)
{
	pid_t nobody = spawn_group_as(NOBODY_UID), mine = spawn_group_as(0);
	int rc = T_FAIL;

	if (nobody < 0 || mine < 0)
		goto out;
	if (post_pgid(nobody, 403, "uid 65534") < 0 || post_pgid(mine, 403, "uid 0") < 0 ||
	    metrics_line("cohete_breaker_workloads 0", 0) < 0)
		goto out;
	rc = T_PASS;
out:
	reap(nobody);
	reap(mine);
	return rc;
}

/* An agent whose workload user is not the group's: refused, not watched. */
static int owners_other_user(pid_t child)
{
	uid_t other = workload_uid + 1;
	struct coh_agent_opts o = { .sysroot = root, .listen = "127.0.0.1:0",
				    .interval_ms = 100, .token_file = token_path,
				    .workload_uids = &other, .workload_uid_count = 1 };
	struct coh_agent *a;
	struct pep_err err;
	uint16_t saved = port;
	int ok;

	CHECK(coh_agent_create(&a, &o, &err) == 0);
	CHECK(coh_agent_watch_pgid(a, child, &err) == -EPERM && strstr(err.msg, "uid"));
	CHECK(coh_agent_start(a, &err) == 0);
	port = coh_agent_port(a);
	ok = post_pgid(child, 403, "not as a workload user") == 0;
	port = saved;
	coh_agent_destroy(a);
	CHECK(ok);
	return T_PASS;
}

static int test_workload_owners(void)
{
	pid_t child = spawn_busy_group();
	int rc;

	CHECK(child > 0);
	rc = owners_other_user(child);
	reap(child);
	CHECK(rc == T_PASS);
	if (geteuid() != 0) {
		printf("not root: groups of other users not tried\n");
		return T_PASS;
	}
	return owners_as_root();
}

static int unwatch_cycle(pid_t child)
{
	char path[64];
	struct resp r;

	snprintf(path, sizeof(path), "/v1/workloads/%d", (int)child);
	CHECK(post_pgid(child, 201, NULL) == 0);
	CHECK(set_all_temps(70000) == 0 && wait_stopped(child, 1, 3000) == 0);
	/* DELETE needs the token like any control. */
	CHECK(http("DELETE", path, NULL, NULL, &r) == 0 && r.status == 401);
	resp_free(&r);
	CHECK(proc_state(child) == 'T');
	CHECK(http("DELETE", path, AUTH, NULL, &r) == 0 && r.status == 200);
	CHECK(strstr(r.body, "\"continued\":true") && json_units_ok(path, r.body) == 0);
	resp_free(&r);
	CHECK(wait_stopped(child, 0, 1000) == 0);
	CHECK(metrics_line("cohete_breaker_workloads 0", 1000) == 0);
	/* Still hot, and no longer stopped: it is not watched. */
	usleep(400 * 1000);
	CHECK(proc_state(child) != 'T');
	CHECK(http("DELETE", path, AUTH, NULL, &r) == 0 && r.status == 404);
	CHECK(strstr(r.body, "not watched"));
	resp_free(&r);
	CHECK(http("DELETE", "/v1/workloads/abc", AUTH, NULL, &r) == 0 && r.status == 404);
	resp_free(&r);
	CHECK(http("GET", path, NULL, NULL, &r) == 0 && r.status == 405);
	resp_free(&r);
	return T_PASS;
}

static int test_unwatch(void)
{
	pid_t child = spawn_busy_group();
	struct coh_agent *a;
	struct pep_err err;
	uint16_t saved = port;
	int rc;

	CHECK(child > 0);
	CHECK(start_agent(&a, "127.0.0.1:0", token_path, &err) == 0);
	port = coh_agent_port(a);
	rc = unwatch_cycle(child);
	port = saved;
	coh_agent_destroy(a);
	reap(child);
	set_all_temps(45000);
	return rc;
}

/* The state directory: the paused list, and what an agent finds there. */

static char state_dir[160];

static int paused_file(char *out, size_t size)
{
	char path[256], *text;

	snprintf(path, sizeof(path), "%s/" COH_AGENT_PAUSED_FILE, state_dir);
	text = t_read_file(path);
	if (!text)
		return -1;
	snprintf(out, size, "%s", text);
	free(text);
	return 0;
}

/* Whether the paused list names pgid as a whole line "PGID UID". */
static int listed(pid_t pgid)
{
	char text[4096], line[64];

	snprintf(line, sizeof(line), "%d %u", (int)pgid, (unsigned int)workload_uid);
	return paused_file(text, sizeof(text)) == 0 && line_in(text, line);
}

static void log_stderr(const char *line, void *arg)
{
	fprintf(stderr, "agent: %s\n", line);
}

static int make_state_agent(struct coh_agent **a, struct pep_err *err)
{
	struct coh_agent_opts o = { .sysroot = root, .listen = "127.0.0.1:0",
				    .interval_ms = 100, .token_file = token_path,
				    .workload_uids = &workload_uid, .workload_uid_count = 1,
				    .state_dir = state_dir, .log = log_stderr };

	return coh_agent_create(a, &o, err);
}

static int paused_cycle(struct coh_agent *a, pid_t child)
{
	struct coh_agent *second;
	struct pep_err err;
	char text[4096];

	CHECK(coh_agent_watch_pgid(a, child, &err) == 0);
	CHECK(paused_file(text, sizeof(text)) < 0);
	CHECK(set_all_temps(70000) == 0 && wait_stopped(child, 1, 3000) == 0);
	CHECK(listed(child));
	CHECK(paused_file(text, sizeof(text)) == 0 && strstr(text, "\nboot "));
	/* One agent per state directory. */
	CHECK(make_state_agent(&second, &err) == -EBUSY && strstr(err.msg, state_dir));
	CHECK(set_all_temps(45000) == 0 && wait_stopped(child, 0, 3000) == 0);
	CHECK(paused_file(text, sizeof(text)) < 0);
	return T_PASS;
}

static int test_paused_file(void)
{
	pid_t child = spawn_busy_group();
	struct coh_agent *a = NULL;
	struct pep_err err;
	int rc = T_FAIL;

	snprintf(state_dir, sizeof(state_dir), "%s/state", root);
	set_all_temps(45000);
	if (child < 0 || make_state_agent(&a, &err) < 0 || coh_agent_start(a, &err) < 0) {
		fprintf(stderr, "agent: %s\n", err.msg);
		goto out;
	}
	rc = paused_cycle(a, child);
out:
	coh_agent_destroy(a);
	reap(child);
	set_all_temps(45000);
	return rc;
}

static int write_paused(const char *boot, pid_t pgid)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" COH_AGENT_PAUSED_FILE, state_dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "# written by the test\nboot %s\n%d %u\n", boot, (int)pgid,
		(unsigned int)workload_uid);
	return fclose(f);
}

/* What a killed agent left: continued by the next, unless another boot's. */
static int resume_cycle(pid_t child)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	char boot[64] = "", *nl;
	struct coh_agent *a;
	struct pep_err err;

	CHECK(f);
	CHECK(fgets(boot, sizeof(boot), f));
	fclose(f);
	if ((nl = strchr(boot, '\n')))
		*nl = '\0';
	CHECK(kill(-child, SIGSTOP) == 0 && wait_stopped(child, 1, 1000) == 0);
	CHECK(write_paused("00000000-0000-0000-0000-000000000000", child) == 0);
	CHECK(make_state_agent(&a, &err) == 0);
	coh_agent_destroy(a);
	CHECK(proc_state(child) == 'T' && !listed(child));
	CHECK(write_paused(boot, child) == 0);
	CHECK(make_state_agent(&a, &err) == 0);
	CHECK(wait_stopped(child, 0, 1000) == 0 && !listed(child));
	coh_agent_destroy(a);
	return T_PASS;
}

static int test_resume(void)
{
	pid_t child = spawn_busy_group();
	int rc;

	CHECK(child > 0);
	rc = resume_cycle(child);
	reap(child);
	return rc;
}

/* Forty connections that drip one byte at a time. */

#define DRIPPERS 40

static int drip_open(int *fds)
{
	static const char start[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Drip: ";

	for (int i = 0; i < DRIPPERS; i++) {
		fds[i] = connect_to(AF_INET, port);
		if (fds[i] < 0 || send_all(fds[i], start, sizeof(start) - 1) < 0)
			return -1;
	}
	return 0;
}

/* One more byte on every connection the agent has not closed; how many. */
static int drip(int *fds)
{
	int open = 0;

	for (int i = 0; i < DRIPPERS; i++) {
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
		char c;

		if (fds[i] < 0)
			continue;
		/* The agent closed it: EOF (or a reset) to read, or the send fails. */
		if ((poll(&pfd, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0) ||
		    send(fds[i], "x", 1, MSG_NOSIGNAL) < 0) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	return open;
}

static int drip_for(int *fds, int ms)
{
	int open = DRIPPERS;

	for (int t = 0; t < ms && open; t += 100) {
		open = drip(fds);
		usleep(100 * 1000);
	}
	return open;
}

static int slowloris(int *fds)
{
	struct resp r;
	int ok, open;

	CHECK(drip_open(fds) == 0);
	drip_for(fds, 500);
	/* From the same address as the drippers, while they drip. */
	ok = http("GET", "/metrics", NULL, NULL, &r) == 0 && r.status == 200 &&
	     strstr(r.body, "cohete_fan_pwm");
	resp_free(&r);
	CHECK(ok);
	/* Nobody gets to drip for long: within three deadlines, all are closed. */
	open = drip_for(fds, 3 * 2000 + 1000);
	if (open)
		fprintf(stderr, "%d dripping connections still open\n", open);
	CHECK(open == 0);
	CHECK(http("GET", "/metrics", NULL, NULL, &r) == 0 && r.status == 200);
	resp_free(&r);
	return T_PASS;
}

static int test_slowloris(void)
{
	struct coh_agent_opts o = { .sysroot = root, .listen = "127.0.0.1:0",
				    .interval_ms = 100, .request_timeout_s = 2 };
	int fds[DRIPPERS], rc;
	struct coh_agent *a;
	struct pep_err err;
	uint16_t saved = port;

	for (int i = 0; i < DRIPPERS; i++)
		fds[i] = -1;
	CHECK(coh_agent_create(&a, &o, &err) == 0);
	CHECK(coh_agent_start(a, &err) == 0);
	port = coh_agent_port(a);
	recv_timeout_s = 8;
	rc = slowloris(fds);
	recv_timeout_s = 20;
	port = saved;
	for (int i = 0; i < DRIPPERS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	coh_agent_destroy(a);
	return rc;
}

/* Refusals in the log: bounded, and what was left out is counted. */

struct log_count {
	pthread_mutex_t lock;
	unsigned int refused, left_out;
};

static void count_line(const char *line, void *arg)
{
	struct log_count *c = arg;
	unsigned int n;

	pthread_mutex_lock(&c->lock);
	if (strstr(line, "refused POST"))
		c->refused++;
	else if (sscanf(line, "left out %u", &n) == 1)
		c->left_out += n;
	pthread_mutex_unlock(&c->lock);
}

#define REFUSALS 100

static int test_refusal_log(void)
{
	struct log_count c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct coh_agent_opts o = { .sysroot = root, .listen = "127.0.0.1:0",
				    .interval_ms = 100, .token_file = token_path,
				    .log = count_line, .log_arg = &c };
	struct coh_agent *a;
	struct pep_err err;
	uint16_t saved = port;
	int answered = 0;

	CHECK(coh_agent_create(&a, &o, &err) == 0);
	CHECK(coh_agent_start(a, &err) == 0);
	port = coh_agent_port(a);
	for (int i = 0; i < REFUSALS; i++)
		answered += expect("/v1/fan", NULL, "{\"pwm\": 1}", 401, NULL) == 0;
	port = saved;
	coh_agent_destroy(a);		/* says what it left out */
	CHECK(answered == REFUSALS);
	fprintf(stderr, "%u refusals logged, %u left out\n", c.refused, c.left_out);
	CHECK(c.refused >= COH_AGENT_LOG_BURST && c.refused < REFUSALS);
	CHECK(c.refused + c.left_out == REFUSALS);
	return T_PASS;
}

/* ---------------------------------------------------------------------- */
/* The CLI. */

struct cli_run {
	pid_t pid;
	int err_fd;
	char text[4096];
	size_t len;
};

static int cli_spawn(struct cli_run *c, char *const argv[])
{
	int fds[2];

	memset(c, 0, sizeof(*c));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		dup2(fds[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	c->err_fd = fds[0];
	return c->pid > 0 ? 0 : -1;
}

/* Read stderr until it holds what, EOF or limit_ms. */
static const char *cli_wait_for(struct cli_run *c, const char *what, int limit_ms)
{
	struct pollfd pfd = { .fd = c->err_fd, .events = POLLIN };
	ssize_t n;

	for (int waited = 0; waited <= limit_ms; waited += 50) {
		const char *hit = strstr(c->text, what);

		if (hit)
			return hit;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(c->err_fd, c->text + c->len, sizeof(c->text) - c->len - 1);
		if (n <= 0)
			break;
		c->len += (size_t)n;
		c->text[c->len] = '\0';
	}
	return strstr(c->text, what);
}

static int cli_exit(struct cli_run *c, int limit_ms)
{
	int status;

	for (int ms = 0; ms <= limit_ms; ms += 20) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			cli_wait_for(c, "\001", 0);
			close(c->err_fd);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(20 * 1000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	close(c->err_fd);
	return -1;
}

static int test_cli(void)
{
	const char *bin = getenv("COHETE_BIN");
	char bad[160], pgid[16], listen_at[64], uid[16], state[160];
	const char *hit;
	struct cli_run c;
	pid_t child;
	int rc;

	if (!bin || getenv("COHETE_RUN")) {
		printf("SKIP: no native COHETE_BIN\n");
		return T_SKIP;
	}
	snprintf(bad, sizeof(bad), "%s/bad.token", root);
	CHECK(make_token_file(bad, TOKEN "\n", 0644) == 0);
	char *const refuse[] = { (char *)bin, "agent", "--sysroot", root, "--listen",
				 "127.0.0.1:0", "--token-file", bad, NULL };
	CHECK(cli_spawn(&c, refuse) == 0);
	rc = cli_exit(&c, 10000);
	CHECK(rc == 1 && strstr(c.text, "0644") && strstr(c.text, "cohete: agent:"));

	/* Hot tree: the watched group is paused, and continued on SIGTERM. */
	CHECK(set_all_temps(70000) == 0);
	child = spawn_busy_group();
	CHECK(child > 0);
	snprintf(pgid, sizeof(pgid), "%d", (int)child);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)workload_uid);
	snprintf(state, sizeof(state), "%s/cli-state", root);
	char *const run[] = { (char *)bin, "agent", "--sysroot", root, "--listen",
			      "127.0.0.1:0", "--interval", "200", "--token-file", token_path,
			      "--watch-pgid", pgid, "--workload-user", uid, "--state-dir",
			      state, NULL };
	rc = cli_spawn(&c, run);
	hit = rc == 0 ? cli_wait_for(&c, "listening on http://127.0.0.1:", 10000) : NULL;
	rc = hit && sscanf(hit, "listening on http://%63[0-9.:]", listen_at) == 1 &&
	     wait_stopped(child, 1, 3000) == 0 ? T_PASS : T_FAIL;
	if (rc == T_PASS) {
		uint16_t saved = port;

		port = (uint16_t)atoi(strrchr(listen_at, ':') + 1);
		rc = metrics_line("cohete_breaker_paused 1", 2000) == 0 ? T_PASS : T_FAIL;
		port = saved;
	}
	kill(c.pid, SIGTERM);
	if (cli_exit(&c, 5000) != 0 || wait_stopped(child, 0, 500) < 0)
		rc = T_FAIL;
	if (rc != T_PASS)
		fprintf(stderr, "cohete agent said:\n%s", c.text);
	reap(child);
	set_all_temps(45000);
	return rc;
}

/* SIGKILL leaves the group stopped; the next agent continues it. */
static int cli_killed_cycle(const char *bin, pid_t child, const char *dir)
{
	char pgid[16], uid[16];
	struct cli_run c;

	snprintf(pgid, sizeof(pgid), "%d", (int)child);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)workload_uid);
	char *const first[] = { (char *)bin, "agent", "--sysroot", root, "--listen",
				"127.0.0.1:0", "--interval", "200", "--watch-pgid", pgid,
				"--workload-user", uid, "--state-dir", (char *)dir, NULL };
	char *const second[] = { (char *)bin, "agent", "--sysroot", root, "--listen",
				 "127.0.0.1:0", "--workload-user", uid, "--state-dir",
				 (char *)dir, NULL };

	CHECK(set_all_temps(70000) == 0);
	CHECK(cli_spawn(&c, first) == 0);
	CHECK(cli_wait_for(&c, "listening on", 10000) && wait_stopped(child, 1, 3000) == 0);
	kill(c.pid, SIGKILL);
	cli_exit(&c, 5000);
	usleep(300 * 1000);
	CHECK(proc_state(child) == 'T' && listed(child));
	CHECK(set_all_temps(45000) == 0);
	CHECK(cli_spawn(&c, second) == 0);
	CHECK(cli_wait_for(&c, "listening on", 10000));
	CHECK(strstr(c.text, "continued process group"));
	CHECK(wait_stopped(child, 0, 1000) == 0 && !listed(child));
	kill(c.pid, SIGTERM);
	CHECK(cli_exit(&c, 5000) == 0);
	return T_PASS;
}

static int test_cli_killed(void)
{
	const char *bin = getenv("COHETE_BIN");
	pid_t child;
	int rc;

	if (!bin || getenv("COHETE_RUN")) {
		printf("SKIP: no native COHETE_BIN\n");
		return T_SKIP;
	}
	snprintf(state_dir, sizeof(state_dir), "%s/killed-state", root);
	child = spawn_busy_group();
	CHECK(child > 0);
	rc = cli_killed_cycle(bin, child, state_dir);
	reap(child);
	set_all_temps(45000);
	return rc;
}

static int copy_tree(void)
{
	char cmd[1200];

	snprintf(root, sizeof(root), "/tmp/coh-agent-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/sysroots/orin-nano-8gb-super-r36/.' '%s/'",
		 fixtures, root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const char *simdir = getenv("COHETE_SIM");
	struct pep_err err;
	char cmd[128];
	int rc = T_PASS;

	fixtures = getenv("COHETE_FIXTURES");
	workload_uid = geteuid() == 0 ? WORKLOAD_UID : geteuid();
	if (!fixtures || !simdir) {
		printf("SKIP: COHETE_FIXTURES/COHETE_SIM not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(sim, sizeof(sim), "%s/nvpmodel", simdir);
	if (copy_tree() < 0)
		return T_ERROR;
	snprintf(token_path, sizeof(token_path), "%s/agent.token", root);
	if (make_token_file(token_path, TOKEN "\n", 0600) < 0)
		return T_ERROR;
	t_run("render", test_render, &rc);
	t_run("render-odd", test_render_odd, &rc);
	t_run("status-json", test_status_json, &rc);
	t_run("token-files", test_token_files, &rc);
	if (start_agent(&agent, "127.0.0.1:0", token_path, &err) < 0) {
		fprintf(stderr, "agent: %s\n", err.msg);
		return T_ERROR;
	}
	port = coh_agent_port(agent);
	printf("agent on 127.0.0.1:%u over %s\n", (unsigned int)port, root);
	t_run("status-matches-cli", test_status_matches_cli, &rc);
	t_run("reads", test_reads, &rc);
	t_run("errors", test_errors, &rc);
	t_run("auth", test_auth, &rc);
	t_run("bad-bodies", test_bad_bodies, &rc);
	t_run("control", test_control, &rc);
	t_run("url-control", test_url_control, &rc);
	t_run("auth-before-size", test_auth_before_size, &rc);
	t_run("workload-owners", test_workload_owners, &rc);
	t_run("no-token", test_no_token, &rc);
	t_run("addresses", test_addresses, &rc);
	t_run("breaker", test_breaker, &rc);
	coh_agent_destroy(agent);
	set_all_temps(45000);
	t_run("unwatch", test_unwatch, &rc);
	t_run("paused-file", test_paused_file, &rc);
	t_run("resume", test_resume, &rc);
	t_run("slowloris", test_slowloris, &rc);
	t_run("refusal-log", test_refusal_log, &rc);
	t_run("cli", test_cli, &rc);
	t_run("cli-killed", test_cli_killed, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
