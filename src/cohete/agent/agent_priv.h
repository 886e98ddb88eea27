/*
 * What the agent's files share: the handle and the calls between the
 * sampler (agent.c) and the HTTP side (http.c). Not installed.
 */
#ifndef COHETE_AGENT_PRIV_H
#define COHETE_AGENT_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/agent.h> instead"
#endif

#include <pthread.h>
#include <stdint.h>

#include <cohete/agent.h>

struct MHD_Daemon;
struct coh_agent_conn;			/* http.c: one client connection */
struct coh_agent_mdns;			/* mdns.c: the published service */

#define AGENT_TOKEN_MAX 512

/*
 * A watched process group and the uid that owned it when it was watched;
 * own: an engine the agent started, trusted whoever it runs as (that
 * uid, checked again each tick as for the others).
 */
struct coh_agent_workload {
	int pgid;
	uid_t uid;
	int own;
};

struct coh_agent {
	/* Fixed after create: read from any thread without the lock. */
	struct coh_sysroot *sr;
	struct coh_thermal_guard_policy policy;
	uint32_t interval_ms;
	uint32_t tick_ms;		/* min(interval, policy check interval) */
	char *nvpmodel;			/* NULL = from PATH */
	char listen_addr[64];
	uint16_t listen_port;
	int ipv6;
	unsigned int max_connections, timeout_s;
	unsigned int per_address, request_timeout_s;
	uid_t workload_uids[COH_AGENT_WORKLOAD_USERS_MAX];
	unsigned int workload_uid_count;
	struct coh_sysroot *host;	/* "/": the processes the agent signals */
	char *state_dir;		/* NULL: the paused list is not kept */
	int state_lock_fd;		/* flock of STATE_DIR/agent.lock; -1 */
	int no_mdns;
	char *engines_root;		/* NULL: no engine supervision */
	int engine_launcher;		/* enum coh_engine_launch */
	int has_token;
	char token[AGENT_TOKEN_MAX];
	size_t token_len;
	struct coh_budget *budget;	/* NULL when none */
	uint64_t budget_total, budget_reserved;
	coh_agent_log_fn log;
	void *log_arg;
	pthread_mutex_t log_lock;	/* one log call at a time, and: */
	uint64_t refusal_tokens_ms;	/* the refusal log's bucket, in ms of
					   credit (1000 per line) */
	uint64_t refusal_at_ms;		/* when it was last filled */
	unsigned int refusals_suppressed;

	/* Set by start/stop (one thread). */
	struct MHD_Daemon *mhd;
	int listen_fd;
	uint16_t port;
	int started;
	pthread_t sampler;
	struct coh_agent_mdns *mdns;	/* NULL: not published */
	/* Ticked by the sampler alone; the pointer is set and cleared under
	 * lock (readers list it from other threads). */
	struct coh_engine_supervisor *engines;
	/* engines_watch.c: inotify on the engines' links kicks the sampler. */
	int watch_fd, watch_stop[2], watching;
	pthread_t watcher;

	/* Connections (http.c), under conn_lock; the reaper thread closes
	 * those whose request is overdue. */
	pthread_mutex_t conn_lock;
	pthread_cond_t reaper_wake;
	struct coh_agent_conn *conns;
	int reaper_stop, reaper_running;
	pthread_t reaper;

	/*
	 * Everything below is under lock. The breaker calls on_breaker() with
	 * its own lock held, from coh_thermal_guard_update(), coh_thermal_guard_watch()
	 * and coh_thermal_guard_destroy(); the agent makes those calls only with
	 * lock held, so on_breaker() may read pgids. Order: lock, then the
	 * breaker's lock.
	 */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* the sampler's sleep: stop, kick */
	struct coh_status *latest;	/* readers; swapped by the sampler */
	struct coh_status *work;	/* the sampler's own */
	struct coh_thermal_guard *breaker;
	int64_t input_mc;		/* the breaker's latest input */
	uint64_t trips, samples, sample_failures, scrapes, unauthorized;
	uint64_t last_sample_ns;
	struct coh_agent_workload workloads[COH_AGENT_WORKLOADS_MAX];
	unsigned int workload_count;
	char state_error[300];		/* a failed write of the paused list,
					   logged once the lock is let go */
	int stopping, kick;

	/* One control request at a time (nvpmodel takes seconds). */
	pthread_mutex_t control;
};

/* One log line (printf-style); does nothing without a log callback. */
void coh__agent_log(struct coh_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A line about something refused (a request, a connection): what clients
 * can cause as often as they like, so at most COH_AGENT_LOG_BURST at once
 * and one a second after that; the next line that gets through says how
 * many were left out. Flushed by coh__agent_log_flush().
 */
void coh__agent_log_refusal(struct coh_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void coh__agent_log_flush(struct coh_agent *a);

/* Wake the sampler for a full sample now (after a control change). */
void coh__agent_kick(struct coh_agent *a);

/* Count a scrape or a refused control request. */
void coh__agent_count(struct coh_agent *a, int scrape, int unauthorized);

/*
 * Reset the breaker: forget the trip and its cooldown, as if the agent had
 * just started. Refused (-EBUSY, reason in err) while the input is at or
 * above the trip point or unknown. *from and *to get the states.
 */
int coh__agent_breaker_reset(struct coh_agent *a, enum coh_thermal_guard_state *from,
			     enum coh_thermal_guard_state *to, struct pep_err *err);

/*
 * Publish _cohete._tcp on the bound port through avahi-daemon (mdns.c),
 * unless no_mdns or the address is loopback; never fails the agent (what
 * goes wrong is logged). Stop withdraws it.
 */
void coh__agent_mdns_start(struct coh_agent *a);
void coh__agent_mdns_stop(struct coh_agent *a);

/* Serve on the bound socket fd (libmicrohttpd takes it over). */
int coh__agent_http_start(struct coh_agent *a, int fd, struct pep_err *err);
void coh__agent_http_stop(struct coh_agent *a);

/*
 * Whether every process of group pgid may be signalled by a workload user
 * (or by *extra, when not NULL): its real or saved uid is one. Returns the
 * number of processes, -ESRCH when there are none, -EPERM naming the first
 * that is not; *owner (may be NULL) gets the first one's real uid.
 * (workload.c)
 */
int coh__workload_check(const struct coh_agent *a, int pgid, const uid_t *extra,
			uid_t *owner, struct pep_err *err);

/* Make (0700) or check the state directory and keep its name. */
int coh__state_dir_open(struct coh_agent *a, const char *dir, struct pep_err *err);

/*
 * Write STATE_DIR/agent-paused listing groups w[0..n) (n == 0: remove it),
 * atomically. Nothing without a state directory.
 */
int coh__paused_save(struct coh_agent *a, const struct coh_agent_workload *w,
		     unsigned int n, struct pep_err *err);

/* Continue the groups a previous agent's list names, then remove it. */
void coh__paused_resume(struct coh_agent *a);

/* The breaker's watcher: stop or continue every watched group. */
void coh__agent_on_breaker(int paused, void *arg);

/*
 * Drop the watched groups that are gone or have a process that is not a
 * workload user's (a number reused by someone else), continuing those
 * still there while paused. Returns how many, their pgids in dropped[]
 * and whether each still exists in foreign[] (COH_AGENT_WORKLOADS_MAX
 * room each), and the first foreign one's reason in why (empty on entry).
 * Takes a->lock itself.
 */
unsigned int coh__workloads_recheck(struct coh_agent *a, int *dropped, int *foreign,
				    char *why, size_t why_size);

/* Log (then forget) a failed write of the paused list; a->lock not held. */
void coh__agent_state_error_flush(struct coh_agent *a);

/*
 * Watch an engine's process group the agent started (the supervisor's
 * on_start): no workload-user check, its owner's uid is trusted for it.
 * Returns as coh_agent_watch_pgid(). Takes a->lock itself.
 */
int coh__agent_watch_own(struct coh_agent *a, int pgid, struct pep_err *err);

/* Start and stop the engine supervisor (agent.c), with engines_root. */
int coh__agent_engines_start(struct coh_agent *a, struct pep_err *err);
void coh__agent_engines_stop(struct coh_agent *a);

/* Watch engines_root's links (engines_watch.c): best effort, no errors. */
void coh__agent_watch_start(struct coh_agent *a);
void coh__agent_watch_stop(struct coh_agent *a);

#endif /* COHETE_AGENT_PRIV_H */
