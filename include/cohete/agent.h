/*
 * cohete/agent.h - the on-device daemon: samples the machine at an interval,
 * enforces a thermal policy on registered workloads (process groups are
 * stopped with SIGSTOP while the breaker is tripped or cooling, and
 * continued afterwards), and serves HTTP (libmicrohttpd):
 *
 *	GET  /metrics		Prometheus text format 0.0.4
 *	GET  /v1/status		coh_status_json() plus breaker, budget, agent
 *	POST /v1/power/mode	{"id": N, "reboot_ok": false}
 *	POST /v1/fan		{"pwm": N}		0..255
 *	POST /v1/breaker/reset	{}
 *	POST /v1/workloads	{"pgid": N}
 *	DELETE /v1/workloads/N	stop watching group N (continued if paused)
 *
 * Reads are open. Control (POST, DELETE) needs "Authorization: Bearer
 * <token>" with the token read at create time from a file that is regular,
 * owned by the agent's user and not readable by group or others (0600 or
 * 0400), like ssh's key files; a missing or wrong token is 401 and changes
 * nothing, and is answered before any body is read. Without a token file,
 * control answers 403. The default address is 127.0.0.1:9102 (loopback
 * only; the HTTP is plain, so a token sent over the network travels in
 * clear). A URL holding a control character (%00 to %1F, %7F) is 400.
 *
 * Workloads: a process group may be watched (and so stopped) only when a
 * workload user could stop it with kill(1) itself: every process in it has
 * a workload user's uid as its real or saved uid (kill(2)'s rule). The
 * workload users are the workload_uids option (`--workload-user`); without
 * it, the agent's own user, except root: an agent running as root watches
 * nothing it is not told to trust, not even root's groups. The check is
 * made again before each pause, so a group number reused by someone else
 * is dropped, not stopped. With a state directory, the groups the agent
 * has stopped are listed in STATE_DIR/agent-paused (written, atomically,
 * before they are stopped and after they are continued), and an agent
 * that starts continues the groups a previous one left stopped (SIGKILL,
 * a crash: the file also names the boot). One agent at a time uses a
 * state directory (a lock on STATE_DIR/agent.lock; -EBUSY otherwise).
 *
 * Connections: a whole request (headers and body) must arrive within
 * request_timeout_s of the connection's opening or its previous reply;
 * one address holds at most per_address_connections; and when either
 * limit, or max_connections in all, would be passed, the oldest
 * connection still sending its request is closed to make room, so a
 * client that sends whole requests (a Prometheus scrape) is served while
 * others drip bytes. Refused requests and closed connections are logged
 * at most COH_AGENT_LOG_BURST lines at once and one a second after that,
 * with a count of the lines left out.
 *
 * mDNS: a started agent publishes a _cohete._tcp service on its port
 * through avahi-daemon (what `cohete discover` browses), with a TXT record
 * naming the machine: id (host name), module (P-number), name (module
 * name), l4t, serial (when readable), agent_port, api=1. It is announced
 * on the listen address's interface (every interface for 0.0.0.0 or ::),
 * never for a loopback address (nothing off the machine could reach it),
 * and not with no_mdns. Without avahi-daemon the agent logs it and serves
 * all the same; a daemon that starts or restarts later gets the service
 * again, and a name taken on the network is replaced by avahi's
 * alternative ("cohete on jetson #2"). Stop withdraws it.
 *
 * Engines: with engines_root (the config's storage.models_dir), the
 * sampler drives an engine supervisor (cohete/engine.h) over
 * ENGINES_ROOT/engines: each model's active version, or its candidate
 * during a deploy, runs as llama-server in a process group the breaker
 * watches (trusted because the agent started it, whoever it runs as),
 * with the spec's memory limit; stop stops them. /v1/status lists them
 * ("model_engines"), /metrics exports cohete_engine_up,
 * cohete_engine_restarts_total and cohete_engine_rss_bytes.
 *
 * The library never prints: events (start, control changes, breaker
 * transitions, refused requests, mDNS, engines) go to an optional log
 * callback.
 *
 * Threading: create, start, stop and destroy from one thread. The agent
 * runs a sampler thread, libmicrohttpd's polling threads and avahi's
 * poll thread; the log callback is called from those, one call at a
 * time. coh_agent_watch_pgid(), coh_agent_unwatch_pgid() and
 * coh_agent_snapshot() may be called from any thread.
 */
#ifndef COHETE_AGENT_H
#define COHETE_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cohete/engine.h>
#include <cohete/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COH_AGENT_DEFAULT_LISTEN	"127.0.0.1:9102"
#define COH_AGENT_DEFAULT_PORT		9102
#define COH_AGENT_INTERVAL_MIN_MS	100
#define COH_AGENT_INTERVAL_MAX_MS	60000
#define COH_AGENT_WORKLOADS_MAX		64
#define COH_AGENT_BODY_MAX		4096	/* control request bodies */
#define COH_AGENT_TOKEN_MIN		16	/* characters */
#define COH_AGENT_WORKLOAD_USERS_MAX	16
#define COH_AGENT_LOG_BURST		10	/* refusal lines at once */
#define COH_AGENT_PAUSED_FILE		"agent-paused"
#define COH_AGENT_ENGINES_MAX		16	/* in a snapshot */

struct coh_agent;			/* opaque: threads, socket, state */
struct coh_budget;

/* One event, without a trailing newline: "fan: pwm 88 -> 200 by 127.0.0.1". */
typedef void (*coh_agent_log_fn)(const char *line, void *arg);

/* All-zero means defaults. Strings are copied by coh_agent_create(). */
struct coh_agent_opts {
	const char *sysroot;		/* NULL = "/" */
	const char *listen;		/* "ADDR:PORT" or "[ADDR6]:PORT", numeric;
					   NULL = COH_AGENT_DEFAULT_LISTEN; port 0
					   = any free port (see coh_agent_port) */
	uint32_t interval_ms;		/* full samples; 0 = 1000, else 100..60000 */
	const char *token_file;		/* NULL: control endpoints answer 403 */
	const char *policy_name;	/* NULL = "conservative" */
	const struct coh_thermal_guard_policy *policy;	/* overrides policy_name */
	uint64_t budget_total_bytes;	/* 0 = the module's preset (none when the
					   module is unknown) */
	uint64_t budget_reserved_bytes;
	const char *nvpmodel;		/* NULL = "nvpmodel" from PATH */
	unsigned int max_connections;	/* 0 = 32 */
	unsigned int timeout_s;		/* idle connection timeout; 0 = 10 */
	coh_agent_log_fn log;		/* NULL = no log */
	void *log_arg;
	unsigned int per_address_connections;	/* 0 = 8 */
	unsigned int request_timeout_s;	/* a whole request; 0 = 5 */
	const uid_t *workload_uids;	/* whose process groups may be watched */
	unsigned int workload_uid_count;	/* 0: the agent's own uid, none
						   when it runs as root */
	const char *state_dir;		/* NULL: the paused groups are not kept
					   on disk; else made 0700 if absent,
					   and must be ours and private */
	int no_mdns;			/* 1: do not publish _cohete._tcp */
	const char *engines_root;	/* NULL: no engines; else supervise
					   ENGINES_ROOT/engines from start to
					   stop */
	int engine_launcher;		/* enum coh_engine_launch: 0 = systemd
					   units where systemd runs, else
					   children */
};

/*
 * Parse "127.0.0.1:9102", "0.0.0.0:0", "[::1]:9102" into the numeric
 * address (without brackets) and the port. Returns 4 or 6 (the IP
 * version), or -EINVAL with the reason in err for anything else (host
 * names are not resolved).
 */
COH_API int coh_agent_listen_parse(const char *text, char *addr, size_t size,
				   uint16_t *port, struct pep_err *err);

/*
 * Check the options, open the sysroot, read the token file, create the
 * breaker and the budget, and take the first sample. Nothing listens yet.
 * With a state directory, continue the process groups a previous agent
 * left stopped (each is logged). Returns 0, or: -EINVAL (a bad option; err
 * names it), -ENOENT (no policy of that name, no token file, no sysroot),
 * -EPERM (the token file or the state directory is not owned by this
 * user, or group/others may read it: err says the mode), -EBUSY (another
 * agent uses the state directory), -ENOMEM. The
 * caller frees *out with coh_agent_destroy().
 */
COH_API int coh_agent_create(struct coh_agent **out,
			     const struct coh_agent_opts *opts,
			     struct pep_err *err);

/*
 * Bind, start serving and start the sampler (and, with engines_root, the
 * engine supervisor it drives). Returns 0, -EBUSY when already started,
 * or the bind/listen error (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES) with the
 * address in err.
 */
COH_API int coh_agent_start(struct coh_agent *a, struct pep_err *err);

/*
 * Stop serving (waits for requests in progress) and stop the sampler;
 * the engines are stopped (SIGTERM, SIGKILL after COH_ENGINE_STOP_MS).
 * Other workloads stay as they are: paused ones are continued by destroy.
 * Returns 0, or -EINVAL when not started.
 */
COH_API int coh_agent_stop(struct coh_agent *a);

/* Stop if needed, continue paused workloads, free everything. NULL: no-op. */
COH_API void coh_agent_destroy(struct coh_agent *a);

/* The bound port (the real one for port 0); 0 before start. */
COH_API uint16_t coh_agent_port(const struct coh_agent *a);

/*
 * Enforce the thermal policy on a process group, as POST /v1/workloads
 * does: while the breaker is tripped or cooling the group is stopped
 * (at once if it is paused now). A group whose processes are all gone is
 * forgotten. Returns 0, 1 when it was already watched, -EINVAL (pgid <= 1,
 * or the agent's own group), -ESRCH (no such group), -EPERM (a process of
 * the group is not a workload user's, err names it and its uid; or the
 * agent may not signal it), -ENOSPC (COH_AGENT_WORKLOADS_MAX watched).
 * Any thread.
 */
COH_API int coh_agent_watch_pgid(struct coh_agent *a, int pgid,
				 struct pep_err *err);

/*
 * Stop watching a process group, as DELETE /v1/workloads/PGID does; a
 * group the agent has stopped is continued first. Returns 0 (1 when it
 * was continued), -ENOENT when it is not watched. Any thread.
 */
COH_API int coh_agent_unwatch_pgid(struct coh_agent *a, int pgid,
				   struct pep_err *err);

/* The budget /metrics reports, for the program that embeds the agent to
 * allocate from; NULL when there is none. Valid until destroy. */
COH_API struct coh_budget *coh_agent_budget(struct coh_agent *a);

/*
 * What /metrics and /v1/status render: a sample plus the breaker, budget
 * and agent figures, as plain values.
 */
struct coh_agent_breaker_view {
	int present;
	struct coh_thermal_guard_policy policy;
	enum coh_thermal_guard_state state;
	int64_t input_mc;		/* COH_NA when no zone could be read */
	uint64_t trips;			/* times work was paused */
	int predicted;			/* rising towards the trip point */
	uint64_t predicted_trip_ms;	/* when predicted: time to the trip */
	unsigned int workload_count;
	int workloads[COH_AGENT_WORKLOADS_MAX];	/* pgids */
};

struct coh_agent_budget_view {
	int present;
	uint64_t total_bytes;
	uint64_t reserved_bytes;
	uint64_t used_bytes;
};

struct coh_agent_counters {
	int present;
	uint32_t interval_ms;
	uint64_t samples;		/* full samples taken */
	uint64_t sample_failures;
	uint64_t scrapes;		/* GET /metrics served */
	uint64_t unauthorized;		/* control requests refused with 401 */
	uint64_t last_sample_ns;	/* duration of the latest full sample */
	uint64_t sample_age_ns;		/* its age when the snapshot was taken */
};

/* The supervised engines, by model name. */
struct coh_agent_engines_view {
	int present;			/* the agent supervises engines */
	unsigned int count;
	struct coh_engine_state engine[COH_AGENT_ENGINES_MAX];
};

struct coh_agent_snapshot {
	const struct coh_status *status;	/* NULL: not rendered */
	struct coh_agent_breaker_view breaker;
	struct coh_agent_budget_view budget;
	struct coh_agent_counters agent;
	struct coh_agent_engines_view engines;
};

/*
 * Copy the latest sample into *status and fill *out (out->status points to
 * status). Any thread.
 */
COH_API void coh_agent_snapshot(struct coh_agent *a, struct coh_status *status,
				struct coh_agent_snapshot *out);

/*
 * Render a snapshot in the Prometheus text format 0.0.4: HELP and TYPE for
 * every family, base units (celsius, hertz, volts, amperes, watts, bytes,
 * seconds, ratios 0..1), escaped label values, no reading the machine
 * lacks (never a 0 for unknown). Pure: no I/O. Returns 0 and a malloc'd,
 * NUL-terminated *text (*len bytes without the NUL), or -ENOMEM.
 */
COH_API int coh_agent_metrics_render(const struct coh_agent_snapshot *s,
				     char **text, size_t *len);

/*
 * The /v1/status document, schema COH_AGENT_STATUS_SCHEMA (docs/cohete.1,
 * JSON OUTPUT): coh_status_json() of the sample, its "timestamp"
 * included, with "breaker", "budget" and "agent" objects and the
 * "model_engines" array (null without engine supervision) added; every
 * quantity names its unit (input_temp_celsius, trip_count, interval_ms).
 * malloc'd; NULL on allocation failure.
 */
#define COH_AGENT_STATUS_SCHEMA "cohete.agent.status/2"
COH_API char *coh_agent_status_json(const struct coh_agent_snapshot *s);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_AGENT_H */
