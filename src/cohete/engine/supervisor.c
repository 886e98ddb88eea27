/*
 * supervisor.c - the engines of ROOT/engines, kept running: one slot per
 * model directory, stepped once per tick by the agent's sampler thread.
 *
 * A tick never waits for an engine: a stop sends SIGTERM and comes back
 * for the SIGKILL ten seconds later; readiness probes run in a thread of
 * their own (llama-server's first completion may take seconds on a
 * Jetson); exits are found with waitpid(WNOHANG), or, for an engine
 * adopted from a crashed agent (not our child), by its /proc identity
 * going away. Only destroy waits.
 *
 * The files are the truth: each tick reads the links, so a deploy that
 * changes them over ssh, or a person with ln -sf, is followed at the next
 * tick; state.json is the supervisor's answer. The slots' public states
 * are copied under a lock after each tick for readers on other threads;
 * callbacks (on_start, on_stop, log) are made without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

#define PROBE_EVERY_MS		100	/* while starting: a deploy waits on it */
#define DEFAULT_PROBE_MS	10000
#define STEADY_MS		30000	/* READY this long: backoff starts over */
#define GROUPS_MAX		64

struct probe {
	pthread_t thread;
	atomic_int done, cancel;
	int result;
	pid_t pid;			/* the engine it is about */
	char host[256];
	uint32_t port;
	unsigned int timeout_ms;
	char why[200];
};

struct slot {
	struct coh__engine_record rec;	/* rec.st is what the world sees */
	struct coh_engine_spec *spec;	/* of the engine running; NULL */
	char model_dir[PATH_MAX];
	int child;			/* ours: waitpid() reports its exit */
	int unit;			/* a systemd unit's main process */
	int stopping;			/* SIGTERM sent, kill_at_ms then SIGKILL */
	int64_t kill_at_ms;
	int64_t start_at_ms;		/* the backoff: not before */
	unsigned int backoff_s;
	int64_t ready_ms, started_ms, next_probe_ms;
	enum coh_engine_run before_pause;
	struct coh__cgroup cg;
	long oom_base;			/* the cgroup's kills at start */
	char killed_why[200];		/* the RSS poll killed it: why */
	char given_up[COH_ENGINE_VERSION_MAX];	/* a failed candidate, */
	int64_t given_up_deadline;		/* with this deadline */
	char warned[COH_ENGINE_VERSION_MAX + 16];	/* logged once */
	struct probe *probe;
	int seen, dirty;
};

struct coh_engine_supervisor {
	char *root;
	coh_engine_log_fn log;
	void *log_arg;
	void (*on_start)(int pgid, void *arg);
	void (*on_stop)(int pgid, void *arg);
	void *arg;
	unsigned int probe_timeout_ms;
	int cg_version;			/* 2, 1, 0: RSS polling */
	int units;			/* engines as systemd units */
	char cg_mount[PATH_MAX];
	int paused;
	struct slot **slots;		/* by model name */
	size_t count;
	pthread_mutex_t lock;		/* published, published_count */
	struct coh_engine_state *published;
	size_t published_count;
};

static void say(struct coh_engine_supervisor *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct coh_engine_supervisor *sv, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	if (!sv->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sv->log(line, sv->log_arg);
}

static int64_t wall_s(void)
{
	return pep_time_real_ms() / 1000;
}

static int64_t mono_ms(void)
{
	return (int64_t)(pep_time_ns() / 1000000);
}

static const char *model_of(const struct slot *s)
{
	return s->rec.st.model;
}

static void set_run(struct slot *s, enum coh_engine_run run, const char *reason)
{
	struct coh_engine_state *st = &s->rec.st;

	if (st->run != run)
		st->since = wall_s();
	if (st->run != run || strcmp(st->reason, reason))
		s->dirty = 1;
	st->run = run;
	coh__strlcpy(st->reason, reason, sizeof(st->reason));
}

/* Probes */

static void *probe_main(void *arg)
{
	struct probe *p = arg;

	p->result = coh__engine_probe(p->host, p->port, p->timeout_ms, &p->cancel, p->why,
				      sizeof(p->why));
	atomic_store(&p->done, 1);
	return NULL;
}

static void probe_start(struct coh_engine_supervisor *sv, struct slot *s)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (!p)
		return;
	p->pid = s->rec.st.pid;
	coh__strlcpy(p->host, s->spec->host, sizeof(p->host));
	p->port = s->spec->port;
	p->timeout_ms = sv->probe_timeout_ms;
	if (pthread_create(&p->thread, NULL, probe_main, p) != 0) {
		free(p);
		return;
	}
	s->probe = p;
}

/* Join a finished probe (or, with wait, any); NULL when none is done. */
static struct probe *probe_take(struct slot *s, int wait)
{
	struct probe *p = s->probe;

	if (!p || (!wait && !atomic_load(&p->done)))
		return NULL;
	if (wait)
		atomic_store(&p->cancel, 1);
	pthread_join(p->thread, NULL);
	s->probe = NULL;
	return p;
}

/* Exits */

static void describe_exit(struct slot *s, int known, int status, char *out, size_t size)
{
	char last[160], path[PATH_MAX + 16];
	long kills = coh__cgroup_oom_kills(&s->cg);

	snprintf(path, sizeof(path), "%s/engine.log", s->model_dir);
	coh__log_last_line(path, last, sizeof(last));
	if (s->killed_why[0]) {
		snprintf(out, size, "%s", s->killed_why);
	} else if (kills > s->oom_base && (!known || (WIFSIGNALED(status) &&
						      WTERMSIG(status) == SIGKILL))) {
		snprintf(out, size, "over its memory budget: killed by the kernel at its "
			 "cgroup v%d limit of %llu bytes", s->cg.version,
			 (unsigned long long)s->spec->memory_max_bytes);
	} else if (known && WIFEXITED(status)) {
		snprintf(out, size, "exited with status %d%s%s", WEXITSTATUS(status),
			 last[0] ? ": " : "", last);
	} else if (known && WIFSIGNALED(status)) {
		snprintf(out, size, "killed by signal %d (%s)%s%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), last[0] ? ": " : "", last);
	} else {
		snprintf(out, size, "exited (adopted: no exit status)%s%s", last[0] ? ": " : "",
			 last);
	}
}

/* After an exit: the group's remnants, the probe, the cgroup. */
static void clean_up(struct coh_engine_supervisor *sv, struct slot *s)
{
	struct probe *p;
	pid_t pid = s->rec.st.pid;

	kill(-pid, SIGKILL);		/* what the leader left behind */
	if (!s->stopping && sv->on_stop)
		sv->on_stop(pid, sv->arg);
	p = probe_take(s, 1);
	free(p);
	coh__cgroup_remove(&s->cg);
	if (s->unit)
		coh__unit_forget(model_of(s));
	s->unit = 0;
	s->rec.st.pid = 0;
	s->rec.start_ticks = 0;
	s->rec.st.rss_bytes = 0;
	s->child = 0;
	s->killed_why[0] = '\0';
}

static void failed(struct coh_engine_supervisor *sv, struct slot *s, const char *why,
		   int64_t now)
{
	int candidate = !strcmp(s->rec.st.which, "candidate");

	if (s->ready_ms && now - s->ready_ms >= STEADY_MS)
		s->backoff_s = 0;
	s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
	if (s->backoff_s > COH_ENGINE_BACKOFF_MAX_S)
		s->backoff_s = COH_ENGINE_BACKOFF_MAX_S;
	s->start_at_ms = now + (int64_t)s->backoff_s * 1000;
	set_run(s, COH_ENGINE_FAILED, why);
	if (candidate) {
		coh__strlcpy(s->given_up, s->rec.st.version, sizeof(s->given_up));
		s->given_up_deadline = s->spec ? s->spec->deadline : s->given_up_deadline;
		say(sv, "engine %s: candidate %s failed: %s; not restarted", model_of(s),
		    s->rec.st.version, why);
	} else {
		say(sv, "engine %s: %s failed: %s; restarting in %u s", model_of(s),
		    s->rec.st.version, why, s->backoff_s);
	}
}

/* Has the engine gone? Then say how, and tidy up. */
static void reap(struct coh_engine_supervisor *sv, struct slot *s, int64_t now)
{
	unsigned long long ticks;
	int status = 0, known = 0;
	char why[256];
	pid_t pgrp, r;

	if (s->rec.st.pid <= 0)
		return;
	if (s->child) {
		r = waitpid(s->rec.st.pid, &status, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR))
			return;
		known = r == s->rec.st.pid;
	} else if (coh__proc_identity(s->rec.st.pid, &pgrp, &ticks) == 0 &&
		   ticks == s->rec.start_ticks) {
		return;
	}
	describe_exit(s, known, status, why, sizeof(why));
	if (s->unit) {
		char result[200];

		coh__unit_result(model_of(s), result, sizeof(result));
		if (result[0])
			coh__strlcpy(why, result, sizeof(why));
	}
	clean_up(sv, s);
	if (s->stopping) {
		s->stopping = 0;
		s->start_at_ms = now;
		say(sv, "engine %s: %s stopped", model_of(s), s->rec.st.version);
		set_run(s, COH_ENGINE_STOPPED, "");
		coh_engine_spec_free(s->spec);
		s->spec = NULL;
		return;
	}
	failed(sv, s, why, now);
}

static void begin_stop(struct coh_engine_supervisor *sv, struct slot *s, int64_t now,
		       const char *why)
{
	pid_t pid = s->rec.st.pid;

	if (s->stopping)
		return;
	/* Continued first (the breaker may have stopped it), then told. */
	if (sv->on_stop)
		sv->on_stop(pid, sv->arg);
	kill(-pid, SIGTERM);
	kill(-pid, SIGCONT);
	s->stopping = 1;
	s->kill_at_ms = now + COH_ENGINE_STOP_MS;
	say(sv, "engine %s: stopping %s (pid %d): %s", model_of(s), s->rec.st.version,
	    (int)pid, why);
}

/* What should run */

struct desired {
	struct coh_engine_spec *spec;	/* NULL: nothing */
	char version[COH_ENGINE_VERSION_MAX];
	const char *which;
	struct stat st;			/* the spec file's */
};

/* Log a broken link or spec once per version, not every tick. */
static void warn_once(struct coh_engine_supervisor *sv, struct slot *s, const char *key,
		      const char *msg)
{
	if (!strcmp(s->warned, key))
		return;
	coh__strlcpy(s->warned, key, sizeof(s->warned));
	say(sv, "engine %s: %s", model_of(s), msg);
}

static int load_link(struct coh_engine_supervisor *sv, struct slot *s, const char *which,
		     struct desired *d)
{
	struct pep_err err;
	char key[sizeof(s->warned)];
	int ret = coh_engine_read_link(sv->root, model_of(s), which, d->version,
				       sizeof(d->version));

	if (ret < 0)
		return ret;
	ret = coh__engine_load_version(sv->root, model_of(s), d->version, &d->spec, &d->st,
				       &err);
	if (ret < 0) {
		snprintf(key, sizeof(key), "%s:%s", which, d->version);
		warn_once(sv, s, key, err.msg);
		return ret;
	}
	d->which = which;
	return 0;
}

/* An expired candidate's link goes; then the active version is wanted. */
static int expire(struct coh_engine_supervisor *sv, struct slot *s, struct desired *d)
{
	char active[COH_ENGINE_VERSION_MAX];
	struct pep_err err;

	if (!d->spec->deadline || wall_s() < d->spec->deadline)
		return 0;
	if (coh_engine_read_link(sv->root, model_of(s), "active", active, sizeof(active)) < 0)
		snprintf(active, sizeof(active), "nothing");
	if (coh_engine_link(sv->root, model_of(s), "candidate", NULL, &err) < 0) {
		warn_once(sv, s, "expire", err.msg);
		return 0;
	}
	say(sv, "engine %s: candidate %s expired; back to %s", model_of(s), d->version,
	    active);
	coh_engine_spec_free(d->spec);
	d->spec = NULL;
	return 1;
}

static void want(struct coh_engine_supervisor *sv, struct slot *s, struct desired *d)
{
	memset(d, 0, sizeof(*d));
	if (load_link(sv, s, "candidate", d) == 0 && !expire(sv, s, d))
		return;
	if (!d->spec)
		load_link(sv, s, "active", d);
	if (!d->spec)
		d->which = "";
}

/* Starting */

/* Run specs only from files and directories no one else may change. */
static int trusted(struct coh_engine_supervisor *sv, struct slot *s,
		   const struct desired *d, char *why, size_t size)
{
	char dir[PATH_MAX];
	uid_t me = geteuid();
	struct stat st;

	if (d->st.st_mode & 022 || (me != 0 && d->st.st_uid != me)) {
		snprintf(why, size, "not started: %s/%s.json is %s", s->model_dir, d->version,
			 d->st.st_mode & 022 ? "writable by group or others" :
			 "another user's");
		return 0;
	}
	for (int up = 0; up < 2; up++) {
		snprintf(dir, sizeof(dir), "%s/engines%s%s", sv->root, up ? "" : "/",
			 up ? "" : model_of(s));
		if (stat(dir, &st) < 0 || (st.st_mode & 022) ||
		    (st.st_uid != me && st.st_uid != 0 && st.st_uid != d->st.st_uid)) {
			snprintf(why, size, "not started: %s is writable by others than its "
				 "owner, or belongs to someone else", dir);
			return 0;
		}
	}
	return 1;
}

/* Root runs another user's spec as that user, with that user's groups. */
static void user_of(const struct stat *st, struct coh__launch *l, gid_t *groups, int max)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	l->uid = geteuid();
	l->gid = getegid();
	l->groups = groups;
	l->ngroups = 0;
	if (l->uid != 0 || st->st_uid == 0)
		return;
	l->uid = st->st_uid;
	l->gid = st->st_gid;
	groups[0] = st->st_gid;
	l->ngroups = 1;
	if (getpwuid_r(st->st_uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
		l->gid = pw.pw_gid;
		l->ngroups = max;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &l->ngroups) < 0) {
			groups[0] = pw.pw_gid;	/* in over GROUPS_MAX groups */
			l->ngroups = 1;
		}
	}
}

static int open_log(struct slot *s, const struct desired *d, struct pep_err *err)
{
	char path[PATH_MAX + 16], line[512];
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/engine.log", s->model_dir);
	coh__log_rotate(path, COH_ENGINE_LOG_MAX);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return pep_err_errno(err, "%s", path);
	len = (size_t)snprintf(line, sizeof(line), "cohete: starting %s as %s:", d->version,
			       d->which);
	for (size_t i = 0; i < d->spec->argc && len < sizeof(line) - 2; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", d->spec->argv[i]);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(fd, line, len) < 0)
		return pep_err_errno(err, "%s", path);
	return fd;
}

/* The memory limit: the cgroup when there is one, else the RSS poll. */
static void limit_memory(struct coh_engine_supervisor *sv, struct slot *s,
			 const struct desired *d, int *procs_fd)
{
	struct pep_err err;

	*procs_fd = -1;
	s->cg.version = 0;
	s->cg.path[0] = '\0';
	if (!d->spec->memory_max_bytes || !sv->cg_version)
		return;
	if (coh__cgroup_prepare(&s->cg, sv->cg_version, sv->cg_mount, model_of(s),
				d->spec->memory_max_bytes, procs_fd, &err) < 0) {
		say(sv, "engine %s: %s; polling its RSS instead", model_of(s), err.msg);
		coh__cgroup_remove(&s->cg);
		return;
	}
	s->oom_base = coh__cgroup_oom_kills(&s->cg);
}

/* As cohete-serve@MODEL: systemd runs it, MemoryMax= its budget. */
static int launch_unit(struct slot *s, struct coh__launch *l, pid_t *pid,
		       struct pep_err *err)
{
	char log[PATH_MAX + 16];

	snprintf(log, sizeof(log), "%s/engine.log", s->model_dir);
	close(l->log_fd);		/* systemd opens it, after our header */
	l->log_fd = -1;
	s->cg.version = 0;
	s->unit = 1;
	return coh__unit_start(model_of(s), l, log, pid, err);
}

static int launch(struct coh_engine_supervisor *sv, struct slot *s, const struct desired *d,
		  pid_t *pid, struct pep_err *err)
{
	gid_t groups[GROUPS_MAX];
	struct coh__launch l = { .spec = d->spec, .root = sv->root };
	int ret;

	l.log_fd = open_log(s, d, err);
	if (l.log_fd < 0)
		return l.log_fd;
	user_of(&d->st, &l, groups, GROUPS_MAX);
	s->unit = 0;
	if (sv->units)
		return launch_unit(s, &l, pid, err);
	limit_memory(sv, s, d, &l.cgroup_fd);
	ret = coh__engine_launch(&l, pid, err);
	close(l.log_fd);
	if (l.cgroup_fd >= 0)
		close(l.cgroup_fd);
	if (ret < 0)
		coh__cgroup_remove(&s->cg);
	return ret;
}

static void started(struct coh_engine_supervisor *sv, struct slot *s, struct desired *d,
		    pid_t pid, int64_t now)
{
	struct coh_engine_state *st = &s->rec.st;
	pid_t pgrp;

	if (st->run == COH_ENGINE_FAILED && !strcmp(st->version, d->version))
		st->restarts++;
	coh__strlcpy(st->version, d->version, sizeof(st->version));
	coh__strlcpy(st->which, d->which, sizeof(st->which));
	st->pid = pid;
	st->port = d->spec->port;
	coh__proc_identity(pid, &pgrp, &s->rec.start_ticks);
	s->child = !s->unit;		/* a unit's main process is systemd's */
	coh_engine_spec_free(s->spec);		/* the one that failed */
	s->spec = d->spec;
	d->spec = NULL;
	s->started_ms = now;
	s->ready_ms = 0;
	s->next_probe_ms = now;
	set_run(s, COH_ENGINE_STARTING, "");
	s->dirty = 1;
	say(sv, "engine %s: starting %s (%s, pid %d, port %u)", model_of(s), st->version,
	    st->which, (int)pid, (unsigned int)st->port);
	if (sv->on_start)
		sv->on_start(pid, sv->arg);
}

static void start(struct coh_engine_supervisor *sv, struct slot *s, struct desired *d,
		  int64_t now)
{
	char why[256];
	struct pep_err err;
	int ok = trusted(sv, s, d, why, sizeof(why));
	pid_t pid;

	if (ok && launch(sv, s, d, &pid, &err) < 0) {
		coh__strlcpy(why, err.msg, sizeof(why));
		ok = 0;
	}
	if (ok) {
		started(sv, s, d, pid, now);
		return;
	}
	coh__strlcpy(s->rec.st.version, d->version, sizeof(s->rec.st.version));
	coh__strlcpy(s->rec.st.which, d->which, sizeof(s->rec.st.which));
	s->rec.st.port = d->spec->port;
	/* failed() takes a candidate's deadline from the spec it would run. */
	s->given_up_deadline = d->spec->deadline;
	failed(sv, s, why, now);
}

/* Running */

static void probe_step(struct coh_engine_supervisor *sv, struct slot *s, int64_t now)
{
	struct probe *p = probe_take(s, 0);
	char why[256];

	if (p && p->pid == s->rec.st.pid && s->rec.st.run == COH_ENGINE_STARTING) {
		if (p->result == 0) {
			s->ready_ms = now;
			set_run(s, COH_ENGINE_READY, "");
			say(sv, "engine %s: %s ready (pid %d, %.1f s)", model_of(s),
			    s->rec.st.version, (int)s->rec.st.pid,
			    (double)(now - s->started_ms) / 1000.0);
		} else {
			snprintf(why, sizeof(why), "not ready yet: %s", p->why);
			set_run(s, COH_ENGINE_STARTING, why);
		}
	}
	free(p);
	if (!s->probe && s->rec.st.run == COH_ENGINE_STARTING && now >= s->next_probe_ms) {
		s->next_probe_ms = now + PROBE_EVERY_MS;
		probe_start(sv, s);
	}
}

static void running_step(struct coh_engine_supervisor *sv, struct slot *s, int64_t now)
{
	struct coh_engine_state *st = &s->rec.st;
	char log[PATH_MAX + 16];

	snprintf(log, sizeof(log), "%s/engine.log", s->model_dir);
	coh__log_rotate(log, COH_ENGINE_LOG_MAX);

	if (sv->paused) {
		if (st->run != COH_ENGINE_PAUSED) {
			s->before_pause = st->run;
			set_run(s, COH_ENGINE_PAUSED, "paused by the thermal breaker");
		}
		return;
	}
	if (st->run == COH_ENGINE_PAUSED)
		set_run(s, s->before_pause, "");
	probe_step(sv, s, now);
}

/* A failed candidate is tried again only as a new deploy: another
 * version, or the same with a new deadline. */
static void forget_given_up(struct slot *s, const struct desired *d)
{
	if (s->given_up[0] && (strcmp(d->which, "candidate") || strcmp(d->version, s->given_up) ||
			       d->spec->deadline != s->given_up_deadline))
		s->given_up[0] = '\0';
}

/* An engine runs: stop it for another version, else follow it. */
static void step_running(struct coh_engine_supervisor *sv, struct slot *s,
			 const struct desired *d, int64_t now)
{
	struct coh_engine_state *st = &s->rec.st;

	if (!d->spec || strcmp(d->version, st->version)) {
		begin_stop(sv, s, now, d->spec ? "another version is wanted" :
			   "no version is wanted");
		return;
	}
	if (strcmp(st->which, d->which)) {	/* promoted: the same engine */
		coh__strlcpy(st->which, d->which, sizeof(st->which));
		s->dirty = 1;
	}
	running_step(sv, s, now);
}

/* Nothing runs: start what is wanted, unless it must wait. */
static void step_idle(struct coh_engine_supervisor *sv, struct slot *s, struct desired *d,
		      int64_t now)
{
	struct coh_engine_state *st = &s->rec.st;

	if (!d->spec) {
		if (st->run != COH_ENGINE_STOPPED || st->version[0]) {
			st->version[0] = st->which[0] = '\0';
			st->port = 0;
			set_run(s, COH_ENGINE_STOPPED, "");
			s->dirty = 1;
		}
		return;
	}
	if (st->run == COH_ENGINE_FAILED && s->given_up[0])
		return;			/* a failed candidate waits for its link to go */
	if (sv->paused)
		return;			/* nothing starts while it is hot */
	if (now >= s->start_at_ms || strcmp(d->version, st->version))
		start(sv, s, d, now);
}

static void step(struct coh_engine_supervisor *sv, struct slot *s, int64_t now)
{
	struct desired d;

	reap(sv, s, now);
	if (s->stopping) {
		if (now >= s->kill_at_ms)
			kill(-s->rec.st.pid, SIGKILL);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.which = "";
	if (s->seen)
		want(sv, s, &d);	/* a model whose directory went wants nothing */
	forget_given_up(s, &d);
	if (s->rec.st.pid > 0)
		step_running(sv, s, &d, now);
	else
		step_idle(sv, s, &d, now);
	coh_engine_spec_free(d.spec);
}

/* Memory */

/* The groups' RSS, and the limit where no cgroup holds it. */
static void watch_memory(struct coh_engine_supervisor *sv)
{
	pid_t groups[GROUPS_MAX] = { 0 };
	uint64_t rss[GROUPS_MAX];
	struct slot *at[GROUPS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < sv->count && n < GROUPS_MAX; i++)
		if (sv->slots[i]->rec.st.pid > 0) {
			at[n] = sv->slots[i];
			groups[n++] = sv->slots[i]->rec.st.pid;
		}
	coh__proc_group_rss(groups, rss, n);
	for (size_t i = 0; i < n; i++) {
		struct slot *s = at[i];
		uint64_t max = s->spec ? s->spec->memory_max_bytes : 0;

		/* state.json follows big moves only (a model loading). */
		if (rss[i] > s->rec.st.rss_bytes + s->rec.st.rss_bytes / 16 ||
		    rss[i] < s->rec.st.rss_bytes - s->rec.st.rss_bytes / 16)
			s->dirty = 1;
		s->rec.st.rss_bytes = rss[i];
		if (!max || s->cg.version || s->unit || rss[i] <= max || s->killed_why[0])
			continue;
		snprintf(s->killed_why, sizeof(s->killed_why), "over its memory budget: RSS "
			 "%llu > %llu bytes", (unsigned long long)rss[i], (unsigned long long)max);
		kill(-s->rec.st.pid, SIGKILL);
	}
}

/* Slots */

/* A ready engine stays ready; anything else is probed again. */
static enum coh_engine_run adopt_run(enum coh_engine_run run)
{
	return run == COH_ENGINE_READY ? COH_ENGINE_READY : COH_ENGINE_STARTING;
}

/* The engine a previous agent left running, if it is still that engine. */
static void adopt(struct coh_engine_supervisor *sv, struct slot *s, int64_t now)
{
	struct coh__engine_record rec;
	struct coh_engine_spec *spec;
	unsigned long long ticks;
	char path[PATH_MAX];
	pid_t pgrp;

	if (coh__engine_state_load(sv->root, model_of(s), &rec, NULL) < 0)
		return;
	s->rec.st.restarts = rec.st.restarts;
	if (rec.st.pid <= 0 || coh__proc_identity(rec.st.pid, &pgrp, &ticks) < 0 ||
	    ticks != rec.start_ticks || pgrp != rec.st.pid)
		return;
	if (coh__engine_load_version(sv->root, model_of(s), rec.st.version, &spec, NULL,
				     NULL) < 0)
		return;
	if (pep_proc_find(spec->argv[0], path, sizeof(path)) < 0)
		path[0] = '\0';
	if (coh__proc_cmdline_is(rec.st.pid, (const char *const *)spec->argv, path) != 1) {
		say(sv, "engine %s: pid %d is not %s's engine; starting afresh", model_of(s),
		    rec.st.pid, rec.st.version);
		coh_engine_spec_free(spec);
		return;
	}
	s->rec = rec;
	s->rec.st.run = adopt_run(rec.st.run);
	s->spec = spec;
	s->child = waitpid(rec.st.pid, NULL, WNOHANG) == 0;
	s->started_ms = s->next_probe_ms = now;
	s->ready_ms = s->rec.st.run == COH_ENGINE_READY ? now : 0;
	if (spec->memory_max_bytes && sv->cg_version) {
		s->cg.version = sv->cg_version;
		snprintf(s->cg.path, sizeof(s->cg.path), "%s/cohete/%s", sv->cg_mount,
			 model_of(s));
		s->oom_base = coh__cgroup_oom_kills(&s->cg);
	}
	s->dirty = 1;
	say(sv, "engine %s: adopted %s (pid %d), which a previous agent started",
	    model_of(s), rec.st.version, rec.st.pid);
	if (sv->on_start)
		sv->on_start(rec.st.pid, sv->arg);
}

static struct slot *slot_new(struct coh_engine_supervisor *sv, const char *model,
			     int64_t now)
{
	struct slot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	coh__strlcpy(s->rec.st.model, model, sizeof(s->rec.st.model));
	if (coh__engine_path(s->model_dir, sizeof(s->model_dir), sv->root, model, NULL,
			     NULL) < 0) {
		free(s);
		return NULL;
	}
	s->rec.st.since = wall_s();
	s->dirty = 1;
	adopt(sv, s, now);
	return s;
}

static int slot_cmp(const void *a, const void *b)
{
	return strcmp((*(struct slot *const *)a)->rec.st.model,
		      (*(struct slot *const *)b)->rec.st.model);
}

static struct slot *slot_find(struct coh_engine_supervisor *sv, const char *model)
{
	for (size_t i = 0; i < sv->count; i++)
		if (!strcmp(sv->slots[i]->rec.st.model, model))
			return sv->slots[i];
	return NULL;
}

/* Slots for the model directories there are now (seen = 1). */
static void sync_slots(struct coh_engine_supervisor *sv, int64_t now)
{
	char **names;
	size_t n, added = 0;
	struct slot *s, **grown;

	/* A failed listing (EMFILE) must not read as "every model removed". */
	if (coh_engine_models(sv->root, &names, &n) < 0)
		return;
	for (size_t i = 0; i < sv->count; i++)
		sv->slots[i]->seen = 0;
	for (size_t i = 0; i < n; i++) {
		s = slot_find(sv, names[i]);
		if (!s && (grown = realloc(sv->slots, (sv->count + 1) * sizeof(*grown)))) {
			sv->slots = grown;
			s = slot_new(sv, names[i], now);
			if (s) {
				sv->slots[sv->count++] = s;
				added++;
			}
		}
		if (s)
			s->seen = 1;
	}
	coh_engine_models_free(names, n);
	if (added)
		qsort(sv->slots, sv->count, sizeof(*sv->slots), slot_cmp);
}

static void slot_free(struct slot *s)
{
	free(probe_take(s, 1));
	coh_engine_spec_free(s->spec);
	free(s);
}

/* A model whose directory went, once its engine is gone. */
static void drop_gone(struct coh_engine_supervisor *sv)
{
	size_t k = 0;

	for (size_t i = 0; i < sv->count; i++) {
		struct slot *s = sv->slots[i];

		if (!s->seen && s->rec.st.pid <= 0)
			slot_free(s);
		else
			sv->slots[k++] = s;
	}
	sv->count = k;
}

static void publish(struct coh_engine_supervisor *sv)
{
	struct coh_engine_state *v = sv->count ? malloc(sv->count * sizeof(*v)) : NULL;
	struct pep_err err;

	for (size_t i = 0; i < sv->count; i++) {
		struct slot *s = sv->slots[i];

		if (s->dirty && s->seen && coh__engine_state_write(sv->root, &s->rec, &err) < 0)
			warn_once(sv, s, "state", err.msg);
		s->dirty = 0;
		if (v)
			v[i] = s->rec.st;
	}
	pthread_mutex_lock(&sv->lock);
	free(sv->published);
	sv->published = v;
	sv->published_count = v ? sv->count : 0;
	pthread_mutex_unlock(&sv->lock);
}

void coh_engine_supervisor_tick(struct coh_engine_supervisor *sv, int64_t now_ms)
{
	sync_slots(sv, now_ms);
	for (size_t i = 0; i < sv->count; i++)
		step(sv, sv->slots[i], now_ms);
	watch_memory(sv);
	drop_gone(sv);
	publish(sv);
}

int coh_engine_supervisor_busy(struct coh_engine_supervisor *sv)
{
	for (size_t i = 0; i < sv->count; i++) {
		const struct slot *s = sv->slots[i];

		if (s->probe || s->stopping || s->rec.st.run == COH_ENGINE_STARTING)
			return 1;
	}
	return 0;
}

void coh_engine_supervisor_pause(struct coh_engine_supervisor *sv, int paused)
{
	sv->paused = paused ? 1 : 0;
}

size_t coh_engine_supervisor_list(struct coh_engine_supervisor *sv,
				  struct coh_engine_state *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&sv->lock);
	n = sv->published_count;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = sv->published[i];
	pthread_mutex_unlock(&sv->lock);
	return n;
}

int coh_engine_supervisor_create(struct coh_engine_supervisor **out,
				 const struct coh_engine_supervisor_opts *opts,
				 struct pep_err *err)
{
	struct coh_engine_supervisor *sv;
	char why[256];

	if (!opts || !opts->root || !*opts->root)
		return pep_err_set(err, -EINVAL, "engines: no root directory");
	sv = calloc(1, sizeof(*sv));
	if (!sv || !(sv->root = strdup(opts->root))) {
		free(sv);
		return pep_err_set(err, -ENOMEM, "engines: out of memory");
	}
	sv->log = opts->log;
	sv->log_arg = opts->log_arg;
	sv->on_start = opts->on_start;
	sv->on_stop = opts->on_stop;
	sv->arg = opts->arg;
	sv->probe_timeout_ms = opts->probe_timeout_ms ? opts->probe_timeout_ms :
			       DEFAULT_PROBE_MS;
	pthread_mutex_init(&sv->lock, NULL);
	if (opts->launcher == COH_ENGINE_LAUNCH_UNITS && !coh__unit_available()) {
		free(sv->root);
		free(sv);
		return pep_err_set(err, -ENOTSUP,
				   "engines: systemd units asked for, but systemd does not run here (no /run/systemd/system, systemd-run or systemctl)");
	}
	sv->units = opts->launcher == COH_ENGINE_LAUNCH_UNITS ||
		    (opts->launcher == COH_ENGINE_LAUNCH_AUTO && coh__unit_available());
	sv->cg_version = coh__cgroup_find(opts->cgroup_mount, sv->cg_mount,
					  sizeof(sv->cg_mount), why, sizeof(why));
	if (sv->units)
		say(sv, "engines: supervising %s/engines as systemd units "
		    "(cohete-serve@MODEL, MemoryMax= their budget)", sv->root);
	else if (sv->cg_version)
		say(sv, "engines: supervising %s/engines; memory limits in %s/cohete "
		    "(cgroup v%d)", sv->root, sv->cg_mount, sv->cg_version);
	else
		say(sv, "engines: supervising %s/engines; %s", sv->root, why);
	*out = sv;
	return 0;
}

/* Wait for every engine to go: SIGTERM sent, SIGKILL after the grace. */
static void stop_all(struct coh_engine_supervisor *sv)
{
	int64_t now = mono_ms(), until;
	struct timespec nap = { 0, 20 * 1000000 };
	int left = 1;

	for (size_t i = 0; i < sv->count; i++)
		if (sv->slots[i]->rec.st.pid > 0)
			begin_stop(sv, sv->slots[i], now, "the agent stops");
	until = now + COH_ENGINE_STOP_MS;
	while (left) {
		now = mono_ms();
		left = 0;
		for (size_t i = 0; i < sv->count; i++) {
			struct slot *s = sv->slots[i];

			reap(sv, s, now);
			if (s->rec.st.pid > 0 && now >= until)
				kill(-s->rec.st.pid, SIGKILL);
			left |= s->rec.st.pid > 0;
		}
		if (left)
			nanosleep(&nap, NULL);
	}
}

void coh_engine_supervisor_destroy(struct coh_engine_supervisor *sv)
{
	if (!sv)
		return;
	stop_all(sv);
	for (size_t i = 0; i < sv->count; i++) {
		struct slot *s = sv->slots[i];

		if (s->rec.st.version[0]) {
			set_run(s, COH_ENGINE_STOPPED, "the agent stopped");
			s->dirty = 1;
		}
	}
	publish(sv);
	for (size_t i = 0; i < sv->count; i++)
		slot_free(sv->slots[i]);
	free(sv->slots);
	free(sv->published);
	pthread_mutex_destroy(&sv->lock);
	free(sv->root);
	free(sv);
}
