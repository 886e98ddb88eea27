/*
 * engine-supervisor.c - the engine supervisor with real processes on real
 * sockets: tests/engine-server.py plays llama-server (/health, then one
 * completion), started, probed, stopped, killed and adopted for real.
 *
 * Start to ready (in a session of its own, cwd ROOT, no signal blocked,
 * its output in engine.log); a candidate switched to (never two engines
 * of one model at once) and promoted without a restart; a candidate that
 * never passes /health expires and the active version comes back; a
 * candidate that crashes is not restarted; an engine that crashes is
 * restarted after 1 s, then 2 s; an engine a killed supervisor left
 * running is adopted by the next one, not started twice; an engine that
 * allocates past its memory limit is killed, by the kernel through the
 * cgroup where one is writable (else skipped, and said), and by the RSS
 * poll, and the state says why; a cgroup v2 mount without the memory
 * controller is passed over for the RSS poll; engine.log is rotated past
 * 4 MiB while its engine runs on.
 *
 * Needs python3 (else 77). Every engine is stopped on every way out, and
 * exits by itself once this test is gone (--die-with), killed or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cohete/engine.h>

#include "harness.h"

#define LIMIT_MS	30000		/* a failure bound, never a measure */

static char python[512], script[512];
static pid_t test_pid;
static char roots[4][64];
static pid_t engines[32];		/* every pid seen, killed at the end */
static unsigned int engine_count;

/* Everything the supervisors logged, for the checks on events. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;

static void log_line(const char *line, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&log_lock);
	log_len += (size_t)snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n",
				    line);
	if (log_len >= sizeof(log_text))
		log_len = sizeof(log_text) - 1;
	pthread_mutex_unlock(&log_lock);
	if (getenv("ENGINE_TEST_VERBOSE"))
		fprintf(stderr, "  log: %s\n", line);
}

static int logged(const char *fmt, ...)
{
	char want[512];
	va_list ap;
	int found;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	found = strstr(log_text, want) != NULL;
	pthread_mutex_unlock(&log_lock);
	if (!found)
		fprintf(stderr, "not logged: %s\n", want);
	return found;
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static int64_t now_ms(void)
{
	return (int64_t)(pep_time_ns() / 1000000);
}

static void nap_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* A port nothing listens on now (bound, read, closed). */
static uint32_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint32_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * Store a spec of model running the test engine on port with extra words
 * (NULL-ended), and point which at it. Its version goes to version.
 */
static int put(const char *root, const char *model, const char *which, uint32_t port,
	       const char *const *extra, uint64_t memory_max, int64_t deadline,
	       char *version)
{
	char portword[16], test[16], *argv[24];
	struct coh_engine_spec s = {
		.model = (char *)model, .artifact = "tiny-Q4_K_M-0011223344556677.gguf",
		.sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.level = "Q4_K_M", .host = "127.0.0.1", .port = port, .argv = argv,
		.memory_max_bytes = memory_max, .deadline = deadline,
	};
	struct pep_err err;
	size_t n = 0;

	snprintf(portword, sizeof(portword), "%u", (unsigned int)port);
	argv[n++] = python;
	argv[n++] = script;
	argv[n++] = "--host";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = portword;
	/* Gone with the test, however it ends. */
	snprintf(test, sizeof(test), "%d", (int)test_pid);
	argv[n++] = "--die-with";
	argv[n++] = test;
	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	s.argc = n;
	if (coh_engine_store(root, &s, version, COH_ENGINE_VERSION_MAX, &err) < 0 ||
	    (which && coh_engine_link(root, model, which, version, &err) < 0)) {
		fprintf(stderr, "put %s: %s\n", model, err.msg);
		return -1;
	}
	return 0;
}

/* What a state must be; NULL / -1 fields are not checked. */
struct want {
	const char *version, *which, *reason;
	int run;
	int min_restarts;
};

static int matches(const struct coh_engine_state *st, const struct want *w)
{
	return (!w->version || !strcmp(st->version, w->version)) &&
	       (!w->which || !strcmp(st->which, w->which)) &&
	       (!w->reason || strstr(st->reason, w->reason)) &&
	       (w->run < 0 || st->run == (enum coh_engine_run)w->run) &&
	       (int)st->restarts >= w->min_restarts;
}

static int find(struct coh_engine_supervisor *sv, const char *model,
		struct coh_engine_state *out)
{
	struct coh_engine_state v[16];
	size_t n = coh_engine_supervisor_list(sv, v, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (!strcmp(v[i].model, model)) {
			*out = v[i];
			return 0;
		}
	return -1;
}

static void remember(pid_t pid)
{
	for (unsigned int i = 0; i < engine_count; i++)
		if (engines[i] == pid)
			return;
	if (pid > 0 && engine_count < sizeof(engines) / sizeof(engines[0]))
		engines[engine_count++] = pid;
}

/* Tick (every 50 ms) until model's state is w; -1 after LIMIT_MS. */
static int tick_until(struct coh_engine_supervisor *sv, const char *model,
		      const struct want *w, struct coh_engine_state *st)
{
	int64_t until = now_ms() + LIMIT_MS;

	memset(st, 0, sizeof(*st));
	while (now_ms() < until) {
		coh_engine_supervisor_tick(sv, now_ms());
		if (find(sv, model, st) == 0) {
			remember(st->pid);
			if (matches(st, w))
				return 0;
		}
		nap_ms(50);
	}
	fprintf(stderr, "%s: after %d ms: version %s which %s %s pid %d restarts %u: %s\n",
		model, LIMIT_MS, st->version, st->which, coh_engine_run_name(st->run), st->pid,
		st->restarts, st->reason);
	return -1;
}

static struct coh_engine_supervisor *supervise(const char *root, const char *cgroup)
{
	struct coh_engine_supervisor_opts o = { .root = root, .log = log_line,
						.cgroup_mount = cgroup,
						.probe_timeout_ms = 3000 };
	struct coh_engine_supervisor *sv;
	struct pep_err err;

	if (coh_engine_supervisor_create(&sv, &o, &err) < 0) {
		fprintf(stderr, "supervisor: %s\n", err.msg);
		return NULL;
	}
	return sv;
}

static int gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return !p || p[2] == 'Z';	/* reaped by init later */
}

/* A /proc or cgroup file (their size says 0: read until the end). */
static char *read_proc(const char *path)
{
	char *buf = calloc(1, 65536);
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < 65535 && (n = read(fd, buf + len, (size_t)(65535 - len))) > 0)
		len += n;
	close(fd);
	return buf;
}

static char *read_file_at(const char *root, const char *model, const char *leaf)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/engines/%s/%s", root, model, leaf);
	return t_read_file(path);
}

/* The engine as a process: a session and group of its own, in ROOT, no
 * signal blocked (the test blocks SIGTERM, as the agent does). */
static int check_process(const char *root, pid_t pid)
{
	char path[64], cwd[256], *status;
	ssize_t n;

	CHECK(getsid(pid) == pid && getpgid(pid) == pid);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	CHECK(n > 0);
	cwd[n] = '\0';
	CHECK(!strcmp(cwd, root));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = read_proc(path);
	CHECK(status && strstr(status, "\nSigBlk:\t0000000000000000\n"));
	free(status);
	return T_PASS;
}

static char va[COH_ENGINE_VERSION_MAX], vb[COH_ENGINE_VERSION_MAX];
static pid_t pid_b;
static struct coh_engine_supervisor *main_sv;

static int test_start_ready(void)
{
	static const char *const slow[] = { "--load-ms", "700", NULL };
	const char *root = roots[0];
	struct coh_engine_state st, again;
	struct pep_err err;
	char why[256], *text;
	uint32_t port = free_port();

	CHECK(port && put(root, "tiny", "active", port, slow, 0, 0, va) == 0);
	CHECK(tick_until(main_sv, "tiny", &(struct want){ va, "active", NULL,
		COH_ENGINE_READY, 0 }, &st) == 0);
	CHECK(st.pid > 0 && st.port == port && st.restarts == 0 && !st.reason[0]);
	CHECK(check_process(root, st.pid) == T_PASS);
	CHECK(coh_engine_probe("0.0.0.0", port, 3000, why, sizeof(why)) == 0);
	CHECK(logged("engine tiny: starting %s (active, pid %d, port %u)", va, st.pid, port));
	CHECK(logged("engine tiny: %s ready (pid %d", va, st.pid));
	/* state.json says the same. */
	CHECK(coh_engine_state_read(root, "tiny", &again, &err) == 0);
	CHECK(again.run == COH_ENGINE_READY && again.pid == st.pid && !strcmp(again.version, va));
	text = read_file_at(root, "tiny", "engine.log");
	CHECK(text && strstr(text, "cohete: starting ") && strstr(text, "server is listening"));
	CHECK(strstr(text, "request: \"POST /v1/completions"));
	free(text);
	return T_PASS;
}

/* The probe's answers on their own: nothing there, and a loading engine. */
static int test_probe(void)
{
	char why[256];
	uint32_t port = free_port();

	CHECK(coh_engine_probe("127.0.0.1", port, 2000, why, sizeof(why)) == -ECONNREFUSED);
	CHECK(strstr(why, "connect: Connection refused"));
	return T_PASS;
}

static pid_t overlap_with;
static int overlapped;

static int test_candidate_promote(void)
{
	static const char *const tag[] = { "--tag", "b", NULL };
	const char *root = roots[0];
	struct coh_engine_state st, before;
	struct pep_err err;
	int64_t until;

	CHECK(find(main_sv, "tiny", &before) == 0 && before.run == COH_ENGINE_READY);
	CHECK(put(root, "tiny", "candidate", before.port, tag, 0, time(NULL) + 300, vb) == 0);
	/* Never two engines of one model at once: the old one is gone before
	 * the new one's pid shows. */
	overlap_with = before.pid;
	until = now_ms() + LIMIT_MS;
	do {
		coh_engine_supervisor_tick(main_sv, now_ms());
		CHECK(find(main_sv, "tiny", &st) == 0);
		remember(st.pid);
		if (st.pid > 0 && st.pid != overlap_with && !gone(overlap_with))
			overlapped = 1;
		nap_ms(50);
	} while (!(st.run == COH_ENGINE_READY && !strcmp(st.version, vb)) && now_ms() < until);
	CHECK(!overlapped);
	CHECK(!strcmp(st.version, vb) && !strcmp(st.which, "candidate") &&
	      st.run == COH_ENGINE_READY);
	CHECK(logged("engine tiny: stopping %s (pid %d): another version is wanted", va,
		     before.pid));
	pid_b = st.pid;
	/* Promoted: the same process, now active. */
	CHECK(coh_engine_promote(root, "tiny", &err) == 0);
	CHECK(tick_until(main_sv, "tiny", &(struct want){ vb, "active", NULL,
		COH_ENGINE_READY, 0 }, &st) == 0);
	CHECK(st.pid == pid_b && st.restarts == 0);
	return T_PASS;
}

static int test_candidate_expires(void)
{
	static const char *const sick[] = { "--fail-health", NULL };
	const char *root = roots[0];
	char vc[COH_ENGINE_VERSION_MAX], v[COH_ENGINE_VERSION_MAX], why[256];
	struct coh_engine_state st;

	CHECK(put(root, "tiny", "candidate", free_port(), sick, 0, time(NULL) + 4, vc) == 0);
	CHECK(tick_until(main_sv, "tiny", &(struct want){ vc, "candidate",
		"not ready yet: GET /health: 503 Loading model", COH_ENGINE_STARTING, 0 },
		&st) == 0);
	CHECK(coh_engine_probe("127.0.0.1", st.port, 3000, why, sizeof(why)) == -EBUSY);
	CHECK(!strcmp(why, "GET /health: 503 Loading model"));
	CHECK(tick_until(main_sv, "tiny", &(struct want){ vb, "active", NULL,
		COH_ENGINE_READY, 0 }, &st) == 0);
	CHECK(coh_engine_read_link(root, "tiny", "candidate", v, sizeof(v)) == -ENOENT);
	CHECK(logged("engine tiny: candidate %s expired; back to %s", vc, vb));
	return T_PASS;
}

static int test_candidate_crashes(void)
{
	static const char *const dies[] = { "--exit-after-ms", "0", "--exit-code", "3", NULL };
	const char *root = roots[0];
	char vd[COH_ENGINE_VERSION_MAX];
	struct coh_engine_state st;
	struct pep_err err;

	CHECK(put(root, "tiny", "candidate", free_port(), dies, 0, time(NULL) + 300, vd) == 0);
	CHECK(tick_until(main_sv, "tiny", &(struct want){ vd, "candidate",
		"exited with status 3: error: crashed on purpose", COH_ENGINE_FAILED, 0 },
		&st) == 0);
	CHECK(logged("engine tiny: candidate %s failed: exited with status 3", vd));
	/* Not restarted while its link stays (2 s is past the first backoff). */
	for (int i = 0; i < 50; i++) {
		coh_engine_supervisor_tick(main_sv, now_ms());
		CHECK(find(main_sv, "tiny", &st) == 0);
		CHECK(st.run == COH_ENGINE_FAILED && st.pid == 0 && st.restarts == 0);
		nap_ms(50);
	}
	/* The deploy gives up on it: back to the active version. */
	CHECK(coh_engine_link(root, "tiny", "candidate", NULL, &err) == 0);
	CHECK(tick_until(main_sv, "tiny", &(struct want){ vb, "active", NULL,
		COH_ENGINE_READY, 0 }, &st) == 0);
	return T_PASS;
}

static int test_crash_restart(void)
{
	static const char *const dies[] = { "--exit-after-ms", "300", "--exit-code", "7",
					    NULL };
	const char *root = roots[0];
	char ve[COH_ENGINE_VERSION_MAX];
	struct coh_engine_state st;
	struct pep_err err;

	CHECK(put(root, "crashy", "active", free_port(), dies, 0, 0, ve) == 0);
	CHECK(tick_until(main_sv, "crashy", &(struct want){ ve, "active",
		"exited with status 7: error: crashed on purpose", -1, 2 }, &st) == 0);
	CHECK(logged("engine crashy: %s failed: exited with status 7: error: crashed on "
		     "purpose; restarting in 1 s", ve));
	CHECK(logged("; restarting in 2 s"));
	/* The model goes: its engine is stopped and its state says so. */
	CHECK(coh_engine_link(root, "crashy", "active", NULL, &err) == 0);
	CHECK(tick_until(main_sv, "crashy", &(struct want){ "", "", NULL,
		COH_ENGINE_STOPPED, 0 }, &st) == 0);
	CHECK(st.pid == 0);
	return T_PASS;
}

static off_t size_of(const char *root, const char *model, const char *leaf)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/engines/%s/%s", root, model, leaf);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* engine.log past 4 MiB: copied to engine.log.1 and emptied, the engine
 * running on (writing where the log now ends). */
static int test_log_rotate(void)
{
	static const char *const chatty[] = { "--spam-kb", "5000", NULL };
	const char *root = roots[0];
	char v[COH_ENGINE_VERSION_MAX];
	struct coh_engine_state st, now;
	struct pep_err err;
	int rotated = 0;

	CHECK(put(root, "chatty", "active", free_port(), chatty, 0, 0, v) == 0);
	CHECK(tick_until(main_sv, "chatty", &(struct want){ v, "active", NULL,
		COH_ENGINE_READY, 0 }, &st) == 0);
	for (int i = 0; i < 600 && !rotated; i++) {
		coh_engine_supervisor_tick(main_sv, now_ms());
		rotated = size_of(root, "chatty", "engine.log.1") > (off_t)COH_ENGINE_LOG_MAX;
		nap_ms(50);
	}
	CHECK(rotated);
	CHECK(size_of(root, "chatty", "engine.log") < (off_t)COH_ENGINE_LOG_MAX);
	CHECK(find(main_sv, "chatty", &now) == 0 && now.pid == st.pid &&
	      now.run == COH_ENGINE_READY);
	CHECK(coh_engine_link(root, "chatty", "active", NULL, &err) == 0);
	CHECK(tick_until(main_sv, "chatty", &(struct want){ "", "", NULL,
		COH_ENGINE_STOPPED, 0 }, &st) == 0);
	return T_PASS;
}

/* A cgroup v2 mount without the memory controller (a hybrid host's
 * /sys/fs/cgroup/unified) is no place for limits: RSS polling, said so. */
static int test_cgroup_v2_without_memory(void)
{
	const char *mount = "/sys/fs/cgroup/unified";
	struct coh_engine_supervisor *sv;
	char path[128], *controllers;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
	controllers = read_proc(path);
	if (!controllers || strstr(controllers, "memory")) {
		free(controllers);
		printf("SKIP: no cgroup v2 mount without the memory controller here\n");
		return T_SKIP;
	}
	free(controllers);
	log_clear();
	sv = supervise(roots[2], mount);
	CHECK(sv);
	coh_engine_supervisor_destroy(sv);
	CHECK(logged("%s: no memory controller we may use (cgroup v2): memory limits by "
		     "polling RSS", mount));
	return T_PASS;
}

/* The cgroup mount the supervisor chose, from its first log line. */
static int cgroup_of(char *mount, size_t size)
{
	const char *p, *end;

	pthread_mutex_lock(&log_lock);
	p = strstr(log_text, "memory limits in ");
	end = p ? strstr(p, "/cohete (cgroup v") : NULL;
	if (p && end && (size_t)(end - p - 17) < size)
		snprintf(mount, size, "%.*s", (int)(end - p - 17), p + 17);
	pthread_mutex_unlock(&log_lock);
	return p && end ? 0 : -1;
}

/* While it runs: in its cgroup, under the limit the spec gave. */
static int check_cgroup(const char *mount, pid_t pid, uint64_t limit)
{
	char dir[512], path[600], *text, want[32];

	snprintf(dir, sizeof(dir), "%s/cohete/mem", mount);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	text = read_proc(path);
	snprintf(want, sizeof(want), "%d\n", (int)pid);
	if (!text || (strncmp(text, want, strlen(want)) && !strstr(text, want)))
		fprintf(stderr, "%s: \"%s\", want pid %d\n", path, text ? text : "(none)",
			(int)pid);
	CHECK(text && (!strncmp(text, want, strlen(want)) || strstr(text, want)));
	free(text);
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	text = read_proc(path);
	if (!text) {
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
		text = read_proc(path);
	}
	CHECK(text && strtoull(text, NULL, 10) == limit);
	free(text);
	return T_PASS;
}

static int memory_kill(const char *root, const char *cgroup, const char *says)
{
	static const char *const hog[] = { "--alloc-mb", "256", NULL };
	const uint64_t limit = 64 << 20;
	struct coh_engine_supervisor *sv;
	char v[COH_ENGINE_VERSION_MAX], mount[256] = "";
	struct coh_engine_state st;
	int rc = T_FAIL;

	log_clear();
	sv = supervise(root, cgroup);
	if (!sv || put(root, "mem", "active", free_port(), hog, limit, 0, v) < 0)
		goto out;
	if (!cgroup && cgroup_of(mount, sizeof(mount)) < 0) {
		printf("SKIP: no writable cgroup with the memory controller here: the "
		       "kernel's limit not tested (the RSS poll is)\n");
		rc = T_SKIP;
		goto out;
	}
	if (tick_until(sv, "mem", &(struct want){ v, "active", NULL, COH_ENGINE_READY, 0 },
		       &st) < 0)
		goto out;
	if (mount[0] && check_cgroup(mount, st.pid, limit) != T_PASS)
		goto out;
	kill(st.pid, SIGUSR1);			/* now it grows */
	if (tick_until(sv, "mem", &(struct want){ v, "active", says, COH_ENGINE_FAILED, 0 },
		       &st) < 0)
		goto out;
	rc = logged("engine mem: %s failed: %s", v, says) ? T_PASS : T_FAIL;
out:
	coh_engine_supervisor_destroy(sv);
	if (rc == T_PASS && mount[0]) {
		char dir[512];
		struct stat sb;

		snprintf(dir, sizeof(dir), "%s/cohete/mem", mount);
		if (stat(dir, &sb) == 0) {
			fprintf(stderr, "%s: still there after the engine\n", dir);
			rc = T_FAIL;
		}
	}
	return rc;
}

static int test_memory_cgroup(void)
{
	return memory_kill(roots[1], NULL,
			   "over its memory budget: killed by the kernel at its cgroup v");
}

static int test_memory_rss(void)
{
	return memory_kill(roots[2], "", "over its memory budget: RSS ");
}

/* A supervisor in a child process, SIGKILLed once its engine is ready. */
static pid_t crashed_agent(const char *root, int *ready_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct coh_engine_supervisor *sv = supervise(root, "");
		struct coh_engine_state st;

		if (sv && tick_until(sv, "adopt", &(struct want){ NULL, "active", NULL,
				     COH_ENGINE_READY, 0 }, &st) == 0 &&
		    write(fds[1], &st.pid, sizeof(st.pid)) == sizeof(st.pid))
			for (;;)
				pause();
		_exit(1);
	}
	close(fds[1]);
	*ready_fd = fds[0];
	return pid;
}

static int test_adopt(void)
{
	const char *root = roots[3];
	struct coh_engine_supervisor *sv = NULL;
	char v[COH_ENGINE_VERSION_MAX];
	struct coh_engine_state st;
	pid_t agent, engine = 0;
	int fd = -1, rc = T_FAIL;

	CHECK(put(root, "adopt", "active", free_port(), NULL, 0, 0, v) == 0);
	agent = crashed_agent(root, &fd);
	CHECK(agent > 0);
	if (read(fd, &engine, sizeof(engine)) != sizeof(engine))
		engine = 0;
	close(fd);
	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	remember(engine);
	if (engine <= 0 || gone(engine)) {
		fprintf(stderr, "the first supervisor's engine: %d, gone\n", (int)engine);
		return T_FAIL;
	}
	log_clear();
	sv = supervise(root, "");
	if (!sv || tick_until(sv, "adopt", &(struct want){ v, "active", NULL,
			      COH_ENGINE_READY, 0 }, &st) < 0)
		goto out;
	if (st.pid != engine || !logged("engine adopt: adopted %s (pid %d)", v, engine) ||
	    strstr(log_text, "engine adopt: starting")) {
		fprintf(stderr, "not adopted: pid %d, the engine %d\n", st.pid, (int)engine);
		goto out;
	}
	/* Its supervisor stops it like one of its own. */
	coh_engine_supervisor_destroy(sv);
	sv = NULL;
	for (int i = 0; i < 200 && !gone(engine); i++)
		nap_ms(50);
	if (!gone(engine) || !logged("engine adopt: %s stopped", v))
		goto out;
	rc = T_PASS;
out:
	coh_engine_supervisor_destroy(sv);
	return rc;
}

/* A state naming a live process that is not the engine: started afresh. */
static int test_no_false_adopt(void)
{
	const char *root = roots[3];
	struct coh_engine_supervisor *sv;
	struct coh_engine_state st;
	char path[256], text[1024];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/engines/adopt/state.json", root);
	snprintf(text, sizeof(text), "{\"schema\": \"cohete.engine.state/1\", \"model\": "
		 "\"adopt\", \"version\": \"%s\", \"which\": \"active\", \"state\": \"ready\", "
		 "\"pid\": %d, \"port\": 1, \"restart_count\": 0, \"since\": "
		 "\"2026-01-01T00:00:00.000Z\", \"rss_bytes\": 0, \"reason\": \"\", "
		 "\"start_ticks\": 1}", va, (int)getpid());
	f = fopen(path, "w");
	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
	sv = supervise(root, "");
	CHECK(sv);
	rc = tick_until(sv, "adopt", &(struct want){ NULL, "active", NULL, COH_ENGINE_READY,
		0 }, &st) == 0 && st.pid != getpid() ? T_PASS : T_FAIL;
	coh_engine_supervisor_destroy(sv);
	return rc;
}

/* The interpreter itself, not a shim that execs it (the engine's command
 * line must be what the spec says). */
static int find_python(void)
{
	FILE *p = popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null", "r");
	size_t len;

	if (!p)
		return -1;
	if (!fgets(python, sizeof(python), p))
		python[0] = '\0';
	pclose(p);
	len = strcspn(python, "\n");
	python[len] = '\0';
	return len && python[0] == '/' ? 0 : -1;
}

int main(void)
{
	const char *fixtures = getenv("COHETE_FIXTURES");
	sigset_t set;
	char cmd[300];
	int rc = T_PASS;

	test_pid = getpid();
	if (!fixtures) {
		printf("SKIP: COHETE_FIXTURES not set (run through meson test)\n");
		return T_SKIP;
	}
	snprintf(script, sizeof(script), "%s/../engine-server.py", fixtures);
	if (access(script, R_OK) < 0)
		return T_ERROR;
	if (find_python() < 0) {
		printf("SKIP: no python3 (the test engine is a python script)\n");
		return T_SKIP;
	}
	/* As the agent does: the engines must not inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 4; i++) {
		snprintf(roots[i], sizeof(roots[i]), "/tmp/cohete-engines-XXXXXX");
		if (!mkdtemp(roots[i]) || chmod(roots[i], 0755) < 0)
			return T_ERROR;
	}
	main_sv = supervise(roots[0], NULL);
	if (!main_sv)
		return T_ERROR;
	if (t_run("start-ready", test_start_ready, &rc) == T_PASS) {
		t_run("candidate-promote", test_candidate_promote, &rc);
		t_run("candidate-expires", test_candidate_expires, &rc);
		t_run("candidate-crashes", test_candidate_crashes, &rc);
	}
	t_run("probe", test_probe, &rc);
	t_run("crash-restart", test_crash_restart, &rc);
	t_run("log-rotate", test_log_rotate, &rc);
	coh_engine_supervisor_destroy(main_sv);
	t_run("memory-cgroup", test_memory_cgroup, &rc);
	t_run("memory-rss", test_memory_rss, &rc);
	t_run("cgroup-v2-without-memory", test_cgroup_v2_without_memory, &rc);
	t_run("adopt", test_adopt, &rc);
	t_run("no-false-adopt", test_no_false_adopt, &rc);
	for (unsigned int i = 0; i < engine_count; i++)
		if (!gone(engines[i])) {
			fprintf(stderr, "engine %d still running at the end\n", (int)engines[i]);
			kill(-engines[i], SIGKILL);
			rc = T_FAIL;
		}
	for (int i = 0; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", roots[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", roots[i]);
	}
	return rc;
}
