/*
 * Workloads: who may have a process group stopped, and the list on disk
 * of the groups the agent has stopped.
 *
 * A token holder asks the agent to stop process groups, and the agent
 * often runs as root, which may signal anything. So a group is watched
 * only when a workload user could stop it with kill(1) itself: kill(2)
 * lets a user signal a process whose real or saved uid is the user's, and
 * every process of the group must pass. The processes are this machine's
 * (kill() acts here whatever the sysroot), so /proc is read through a
 * sysroot of "/", never the captured tree.
 *
 * The list on disk exists because SIGSTOP outlives the agent: a SIGKILLed
 * agent would leave its groups stopped for good. It is written before a
 * group is stopped and after it is continued, by a temporary file renamed
 * over the old one, so it never lists less than is stopped; it names the
 * boot, because after a reboot its numbers are other groups. One agent at
 * a time uses a state directory: it holds a lock on STATE_DIR/agent.lock
 * (flock, so a killed agent lets go of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/agent.h>

#include "internal.h"
#include "agent_priv.h"

#define PAUSED_FILE_MAX		(64 * 1024)
#define BOOT_ID_LEN		64

/* The process group of /proc/PID; -1 when it is gone. */
static int proc_pgrp(struct coh_sysroot *host, const char *pid)
{
	char path[64], buf[1024], *p;
	int pgrp;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (coh_sysroot_read(host, path, buf, sizeof(buf), NULL) < 0)
		return -1;
	/* The command name may hold spaces and parentheses: after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %d", &pgrp) != 1)
		return -1;
	return pgrp;
}

/* The real and saved uids of /proc/PID; -1 when it is gone. */
static int proc_uids(struct coh_sysroot *host, const char *pid, uid_t *real,
		     uid_t *saved)
{
	char path[64], buf[2048], *p;
	unsigned int r, e, s;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if (coh_sysroot_read(host, path, buf, sizeof(buf), NULL) < 0)
		return -1;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%u %u %u", &r, &e, &s) != 3)
		return -1;
	*real = (uid_t)r;
	*saved = (uid_t)s;
	return 0;
}

static int uid_allowed(const struct coh_agent *a, uid_t uid, const uid_t *extra)
{
	if (extra && *extra == uid)
		return 1;
	for (unsigned int i = 0; i < a->workload_uid_count; i++)
		if (a->workload_uids[i] == uid)
			return 1;
	return 0;
}

static int pid_name(const char *name)
{
	return name[0] >= '1' && name[0] <= '9' &&
	       strspn(name, "0123456789") == strlen(name);
}

/* What one pass over /proc found about a group. */
struct group_scan {
	int pgid;
	int own;			/* an engine of ours: trusted is allowed */
	uid_t trusted;
	unsigned int count;		/* its processes */
	uid_t owner;			/* the first one's real uid */
	int bad_pid;			/* the first not a workload user's; 0 */
	uid_t bad_uid;
};

static void scan_one(const struct coh_agent *a, const char *pid, struct group_scan *g,
		     const uid_t *extra)
{
	uid_t real, saved;

	if (proc_uids(a->host, pid, &real, &saved) < 0)
		return;			/* gone meanwhile */
	if (g->count++ == 0)
		g->owner = real;
	if (g->own && (real == g->trusted || saved == g->trusted))
		return;
	if (!g->bad_pid && !uid_allowed(a, real, extra) && !uid_allowed(a, saved, extra)) {
		g->bad_pid = atoi(pid);
		g->bad_uid = real;
	}
}

/* One pass over this machine's /proc for groups g[0..n). */
static int scan_groups(const struct coh_agent *a, struct group_scan *g, unsigned int n,
		       const uid_t *extra, struct pep_err *err)
{
	struct coh_names procs;
	int ret = coh_sysroot_list(a->host, "/proc", &procs, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < procs.count; i++) {
		int pgrp = pid_name(procs.names[i]) ? proc_pgrp(a->host, procs.names[i]) : -1;

		for (unsigned int k = 0; k < n && pgrp > 0; k++)
			if (g[k].pgid == pgrp)
				scan_one(a, procs.names[i], &g[k], extra);
	}
	coh_names_free(&procs);
	return 0;
}

static int scan_verdict(const struct group_scan *g, struct pep_err *err)
{
	if (g->count == 0)
		return pep_err_set(err, -ESRCH, "pgid %d: no such process group", g->pgid);
	if (g->bad_pid)
		return pep_err_set(err, -EPERM, "pgid %d: process %d runs as uid %u, not as a "
				   "workload user", g->pgid, g->bad_pid,
				   (unsigned int)g->bad_uid);
	return (int)g->count;
}

int coh__workload_check(const struct coh_agent *a, int pgid, const uid_t *extra,
			uid_t *owner, struct pep_err *err)
{
	struct group_scan g = { .pgid = pgid };
	int ret;

	if (!a->workload_uid_count && !extra)
		return pep_err_set(err, -EPERM, "pgid %d: no workload users (the agent runs "
				   "as root: name them with --workload-user)", pgid);
	ret = scan_groups(a, &g, 1, extra, err);
	if (ret == 0)
		ret = scan_verdict(&g, err);
	if (ret > 0 && owner)
		*owner = g.owner;
	return ret;
}

/* The list of watched groups */

/* Put the paused list on disk, or keep why it failed; a->lock held. */
static void save_paused(struct coh_agent *a, unsigned int n)
{
	struct pep_err err;

	if (coh__paused_save(a, a->workloads, n, &err) < 0)
		coh__strlcpy(a->state_error, err.msg, sizeof(a->state_error));
}

void coh__agent_state_error_flush(struct coh_agent *a)
{
	char msg[sizeof(a->state_error)];

	pthread_mutex_lock(&a->lock);
	coh__strlcpy(msg, a->state_error, sizeof(msg));
	a->state_error[0] = '\0';
	pthread_mutex_unlock(&a->lock);
	if (msg[0])
		coh__agent_log(a, "warning: the paused process groups are not on disk: %s "
			       "(an agent killed now would leave them stopped)", msg);
}

/*
 * Called by the breaker with a->lock held by our caller (agent_priv.h).
 * The list is on disk before a group is stopped and is cleared after the
 * groups are continued, so a kill in between leaves it listing too much,
 * never too little.
 */
void coh__agent_on_breaker(int paused, void *arg)
{
	struct coh_agent *a = arg;

	if (paused)
		save_paused(a, a->workload_count);
	for (unsigned int i = 0; i < a->workload_count; i++)
		kill(-a->workloads[i].pgid, paused ? SIGSTOP : SIGCONT);
	if (!paused)
		save_paused(a, 0);
}

static int watched_at(const struct coh_agent *a, int pgid)
{
	for (unsigned int i = 0; i < a->workload_count; i++)
		if (a->workloads[i].pgid == pgid)
			return (int)i;
	return -1;
}

/* Forget entry i; a paused group is continued. a->lock held. */
static void forget(struct coh_agent *a, unsigned int i, int paused)
{
	int pgid = a->workloads[i].pgid;

	a->workloads[i] = a->workloads[--a->workload_count];
	if (!paused)
		return;
	kill(-pgid, SIGCONT);
	save_paused(a, a->workload_count);
}

unsigned int coh__workloads_recheck(struct coh_agent *a, int *dropped, int *foreign,
				    char *why, size_t why_size)
{
	struct group_scan g[COH_AGENT_WORKLOADS_MAX] = { { 0 } };
	unsigned int n, k = 0;
	struct pep_err err;
	int paused, at;

	pthread_mutex_lock(&a->lock);
	n = a->workload_count;
	for (unsigned int i = 0; i < n; i++) {
		g[i].pgid = a->workloads[i].pgid;
		g[i].own = a->workloads[i].own;
		g[i].trusted = a->workloads[i].uid;
	}
	pthread_mutex_unlock(&a->lock);
	if (n == 0 || scan_groups(a, g, n, NULL, &err) < 0)
		return 0;
	pthread_mutex_lock(&a->lock);
	paused = coh_thermal_guard_paused(a->breaker);
	for (unsigned int i = 0; i < n; i++) {
		if (scan_verdict(&g[i], &err) > 0 || (at = watched_at(a, g[i].pgid)) < 0)
			continue;
		if (!why[0] && g[i].count)
			coh__strlcpy(why, err.msg, why_size);
		foreign[k] = g[i].count > 0;
		dropped[k++] = g[i].pgid;
		forget(a, (unsigned int)at, paused);
	}
	pthread_mutex_unlock(&a->lock);
	return k;
}

/*
 * Add a group to the watched list: 0, 1 when it was there already (an
 * engine's is marked own then), -ENOSPC. Work that joins while paused is
 * paused at once, listed first; *paused says so.
 */
static int add_watched(struct coh_agent *a, int pgid, uid_t owner, int own, int *paused,
		       struct pep_err *err)
{
	int at;

	pthread_mutex_lock(&a->lock);
	at = watched_at(a, pgid);
	if (at >= 0 && own) {
		a->workloads[at].own = 1;
		a->workloads[at].uid = owner;
	}
	if (at >= 0 || a->workload_count == COH_AGENT_WORKLOADS_MAX) {
		pthread_mutex_unlock(&a->lock);
		return at >= 0 ? 1 : pep_err_set(err, -ENOSPC, "pgid %d: %d workloads already "
						 "watched", pgid, COH_AGENT_WORKLOADS_MAX);
	}
	a->workloads[a->workload_count++] = (struct coh_agent_workload){ pgid, owner, own };
	*paused = coh_thermal_guard_paused(a->breaker);
	if (*paused) {
		save_paused(a, a->workload_count);
		kill(-pgid, SIGSTOP);
	}
	pthread_mutex_unlock(&a->lock);
	coh__agent_state_error_flush(a);
	return 0;
}

int coh_agent_watch_pgid(struct coh_agent *a, int pgid, struct pep_err *err)
{
	uid_t owner;
	int paused = 0, ret;

	if (pgid <= 1)
		return pep_err_set(err, -EINVAL, "pgid %d: not a process group (2 or more)", pgid);
	if (pgid == getpgrp())
		return pep_err_set(err, -EINVAL, "pgid %d: the agent's own process group", pgid);
	ret = coh__workload_check(a, pgid, NULL, &owner, err);
	if (ret < 0)
		return ret;
	if (kill(-pgid, 0) < 0)
		return pep_err_errno(err, "pgid %d", pgid);
	ret = add_watched(a, pgid, owner, 0, &paused, err);
	if (ret == 0)
		coh__agent_log(a, "workload: watching process group %d (uid %u)%s", pgid,
			       (unsigned int)owner,
			       paused ? ", paused at once: the breaker is tripped" : "");
	return ret;
}

/* Every process of the group runs as its first one's user: *owner. */
static int own_owner(struct coh_agent *a, int pgid, uid_t *owner, struct pep_err *err)
{
	struct group_scan g = { .pgid = pgid, .own = 1, .trusted = (uid_t)-1 };
	int ret = scan_groups(a, &g, 1, NULL, err);

	if (ret == 0 && g.count == 0)
		ret = scan_verdict(&g, err);	/* -ESRCH */
	if (ret < 0)
		return ret;
	*owner = g.owner;
	g = (struct group_scan){ .pgid = pgid, .own = 1, .trusted = *owner };
	ret = scan_groups(a, &g, 1, NULL, err);
	return ret < 0 ? ret : scan_verdict(&g, err);
}

int coh__agent_watch_own(struct coh_agent *a, int pgid, struct pep_err *err)
{
	uid_t owner;
	int paused = 0, ret;

	if (pgid <= 1 || pgid == getpgrp())
		return pep_err_set(err, -EINVAL, "pgid %d: not an engine's group", pgid);
	ret = own_owner(a, pgid, &owner, err);
	if (ret < 0)
		return ret;
	ret = add_watched(a, pgid, owner, 1, &paused, err);
	if (ret == 0)
		coh__agent_log(a, "workload: watching engine process group %d (uid %u)%s", pgid,
			       (unsigned int)owner,
			       paused ? ", paused at once: the breaker is tripped" : "");
	return ret;
}

int coh_agent_unwatch_pgid(struct coh_agent *a, int pgid, struct pep_err *err)
{
	int at, paused;

	pthread_mutex_lock(&a->lock);
	at = watched_at(a, pgid);
	if (at < 0) {
		pthread_mutex_unlock(&a->lock);
		return pep_err_set(err, -ENOENT, "pgid %d: not watched", pgid);
	}
	paused = coh_thermal_guard_paused(a->breaker);
	forget(a, (unsigned int)at, paused);
	pthread_mutex_unlock(&a->lock);
	coh__agent_state_error_flush(a);
	coh__agent_log(a, "workload: no longer watching process group %d%s", pgid,
		       paused ? " (continued)" : "");
	return paused;
}

/* The state directory */

/* Ours alone while we run: two agents would continue each other's groups. */
static int lock_state_dir(struct coh_agent *a, struct pep_err *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/agent.lock", a->state_dir);
	a->state_lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a->state_lock_fd < 0)
		return pep_err_errno(err, "state directory: %s", path);
	if (flock(a->state_lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return pep_err_set(err, -EBUSY, "state directory %s: another agent uses it "
				   "(--state-dir DIR for a second agent)", a->state_dir);
	return pep_err_errno(err, "state directory: lock %s", path);
}

int coh__state_dir_open(struct coh_agent *a, const char *dir, struct pep_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return pep_err_errno(err, "state directory %s", dir);
	if (lstat(dir, &st) < 0)
		return pep_err_errno(err, "state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pep_err_set(err, -ENOTDIR, "state directory %s: not a directory", dir);
	if (st.st_uid != geteuid())
		return pep_err_set(err, -EPERM, "state directory %s: owned by uid %u, not by "
				   "the agent's user (uid %u)", dir, (unsigned int)st.st_uid,
				   (unsigned int)geteuid());
	if (st.st_mode & 022)
		return pep_err_set(err, -EPERM, "state directory %s: permissions %04o let "
				   "others change it (chmod go-w %s)", dir,
				   (unsigned int)(st.st_mode & 07777), dir);
	a->state_dir = strdup(dir);
	if (!a->state_dir)
		return pep_err_set(err, -ENOMEM, "agent: out of memory");
	return lock_state_dir(a, err);
}

static int boot_id(struct coh_agent *a, char *out, size_t size)
{
	return coh_sysroot_read_str(a->host, "/proc/sys/kernel/random/boot_id", out, size,
				    NULL) > 0 ? 0 : -1;
}

static int write_list(int fd, const char *boot, const struct coh_agent_workload *w,
		      unsigned int n)
{
	FILE *f = fdopen(fd, "w");
	int ok;

	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "# cohete agent: process groups it stopped (SIGSTOP); an agent that "
		"starts continues them\nboot %s\n", boot);
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "%d %u\n", w[i].pgid, (unsigned int)w[i].uid);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

int coh__paused_save(struct coh_agent *a, const struct coh_agent_workload *w,
		     unsigned int n, struct pep_err *err)
{
	char path[4200], tmp[4200], boot[BOOT_ID_LEN] = "unknown";
	int fd;

	if (!a->state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/" COH_AGENT_PAUSED_FILE, a->state_dir);
	if (n == 0)
		return unlink(path) == 0 || errno == ENOENT ? 0 :
		       pep_err_errno(err, "remove %s", path);
	boot_id(a, boot, sizeof(boot));
	snprintf(tmp, sizeof(tmp), "%s/." COH_AGENT_PAUSED_FILE ".XXXXXX", a->state_dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(err, "write %s", tmp);
	if (write_list(fd, boot, w, n) < 0 || rename(tmp, path) < 0) {
		int ret = pep_err_errno(err, "write %s", path);

		unlink(tmp);
		return ret;
	}
	return 0;
}

/* Read the list a previous agent left; NULL text when there is none. */
static int read_list(const char *path, char **text, struct pep_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	*text = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : pep_err_errno(err, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || !(*text = calloc(1, PAUSED_FILE_MAX + 1))) {
		close(fd);
		return pep_err_set(err, -EPERM, "%s: not a private file of the agent's user; "
				   "ignored", path);
	}
	n = read(fd, *text, PAUSED_FILE_MAX);
	close(fd);
	if (n < 0) {
		free(*text);
		*text = NULL;
		return pep_err_errno(err, "read %s", path);
	}
	return 0;
}

/* Continue one group the list names, when it is still the user's. */
static void resume_one(struct coh_agent *a, int pgid, uid_t uid)
{
	struct pep_err err;

	if (coh__workload_check(a, pgid, &uid, NULL, &err) < 0) {
		coh__agent_log(a, "workload: not continuing process group %d a previous agent "
			       "stopped: %s", pgid, err.msg);
		return;
	}
	if (kill(-pgid, SIGCONT) < 0) {
		coh__agent_log(a, "workload: cannot continue process group %d: %s", pgid,
			       strerror(errno));
		return;
	}
	coh__agent_log(a, "workload: continued process group %d, which a previous agent "
		       "left stopped", pgid);
}

static void resume_listed(struct coh_agent *a, char *text, const char *path)
{
	char boot[BOOT_ID_LEN], listed[BOOT_ID_LEN] = "";
	char *line, *save = NULL;
	unsigned int uid;
	int pgid;

	if (boot_id(a, boot, sizeof(boot)) < 0)
		boot[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "boot %63s", listed) == 1)
			continue;
		if (!listed[0] || strcmp(listed, boot)) {
			coh__agent_log(a, "workload: %s is from boot %s, not this one (%s); "
				       "ignored", path, listed[0] ? listed : "(none)", boot);
			return;
		}
		if (sscanf(line, "%d %u", &pgid, &uid) == 2 && pgid > 1)
			resume_one(a, pgid, (uid_t)uid);
	}
}

void coh__paused_resume(struct coh_agent *a)
{
	char path[4200], *text;
	struct pep_err err;

	if (!a->state_dir)
		return;
	snprintf(path, sizeof(path), "%s/" COH_AGENT_PAUSED_FILE, a->state_dir);
	if (read_list(path, &text, &err) < 0) {
		coh__agent_log(a, "workload: %s", err.msg);
		return;
	}
	if (!text)
		return;
	resume_listed(a, text, path);
	free(text);
	if (unlink(path) < 0 && errno != ENOENT)
		coh__agent_log(a, "workload: cannot remove %s: %s", path, strerror(errno));
}
