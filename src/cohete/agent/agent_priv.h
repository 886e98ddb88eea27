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

#define AGENT_TOKEN_MAX 512

struct coh_agent {
	/* Fixed after create: read from any thread without the lock. */
	struct coh_sysroot *sr;
	struct coh_breaker_policy policy;
	uint32_t interval_ms;
	uint32_t tick_ms;		/* min(interval, policy check interval) */
	char *nvpmodel;			/* NULL = from PATH */
	char listen_addr[64];
	uint16_t listen_port;
	int ipv6;
	unsigned int max_connections, timeout_s;
	int has_token;
	char token[AGENT_TOKEN_MAX];
	size_t token_len;
	struct coh_budget *budget;	/* NULL when none */
	uint64_t budget_total, budget_reserved;
	coh_agent_log_fn log;
	void *log_arg;
	pthread_mutex_t log_lock;	/* one log call at a time */

	/* Set by start/stop (one thread). */
	struct MHD_Daemon *mhd;
	int listen_fd;
	uint16_t port;
	int started;
	pthread_t sampler;

	/*
	 * Everything below is under lock. The breaker calls on_breaker() with
	 * its own lock held, from coh_breaker_update(), coh_breaker_watch()
	 * and coh_breaker_destroy(); the agent makes those calls only with
	 * lock held, so on_breaker() may read pgids. Order: lock, then the
	 * breaker's lock.
	 */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* the sampler's sleep: stop, kick */
	struct coh_status *latest;	/* readers; swapped by the sampler */
	struct coh_status *work;	/* the sampler's own */
	struct coh_breaker *breaker;
	int64_t input_mc;		/* the breaker's latest input */
	uint64_t trips, samples, sample_failures, scrapes, unauthorized;
	uint64_t last_sample_ns;
	int pgids[COH_AGENT_WORKLOADS_MAX];
	unsigned int pgid_count;
	int stopping, kick;

	/* One control request at a time (nvpmodel takes seconds). */
	pthread_mutex_t control;
};

/* One log line (printf-style); does nothing without a log callback. */
void coh__agent_log(struct coh_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Wake the sampler for a full sample now (after a control change). */
void coh__agent_kick(struct coh_agent *a);

/* Count a scrape or a refused control request. */
void coh__agent_count(struct coh_agent *a, int scrape, int unauthorized);

/*
 * Reset the breaker: forget the trip and its cooldown, as if the agent had
 * just started. Refused (-EBUSY, reason in err) while the input is at or
 * above the trip point or unknown. *from and *to get the states.
 */
int coh__agent_breaker_reset(struct coh_agent *a, enum coh_breaker_state *from,
			     enum coh_breaker_state *to, struct pep_err *err);

/* Serve on the bound socket fd (libmicrohttpd takes it over). */
int coh__agent_http_start(struct coh_agent *a, int fd, struct pep_err *err);
void coh__agent_http_stop(struct coh_agent *a);

#endif /* COHETE_AGENT_PRIV_H */
