/*
 * pepita/fault.h - living with failure: retry with capped exponential
 * backoff and full jitter, and a circuit breaker (closed, open, half-open).
 * Both read time through an injectable clock and draw randomness from a
 * caller-owned generator, so tests drive them without real sleeps.
 *
 * Threading: the retry functions are pure (any thread; a struct pep_rng is
 * used by one thread at a time). A pep_breaker may be used from any number
 * of threads at once; create and destroy are not concurrent with use.
 */
#ifndef PEPITA_FAULT_H
#define PEPITA_FAULT_H

#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- clock and random numbers ----------------------------------------- */

/*
 * Where a module reads the time. A NULL struct pep_clock pointer, or a NULL
 * now_ns, means CLOCK_MONOTONIC (pep_time_ns()); a NULL sleep_ns means
 * nanosleep(). Tests pass a fake whose sleep_ns advances its now_ns.
 */
struct pep_clock {
	uint64_t (*now_ns)(void *ctx);
	void *ctx;
	void (*sleep_ns)(void *ctx, uint64_t ns);	/* optional */
};

/* The time through clock (NULL = CLOCK_MONOTONIC). Any thread. */
PEP_API uint64_t pep_clock_now_ns(const struct pep_clock *clock);

/* Sleep through clock (NULL = nanosleep, restarted after signals). */
PEP_API void pep_clock_sleep_ns(const struct pep_clock *clock, uint64_t ns);

/*
 * A small deterministic generator (splitmix64): the caller owns the state,
 * so a test with a fixed seed sees the same delays every run. Not for
 * anything secret.
 */
struct pep_rng {
	uint64_t state;
};

PEP_API void pep_rng_seed(struct pep_rng *rng, uint64_t seed);
PEP_API uint64_t pep_rng_next(struct pep_rng *rng);
/* Uniform in [0, bound] (inclusive), without modulo bias. */
PEP_API uint64_t pep_rng_upto(struct pep_rng *rng, uint64_t bound);

/* --- retry -------------------------------------------------------------- */

/* Nonzero when a failure with error (a negative errno) is worth retrying. */
typedef int (*pep_retry_pred_fn)(int error, void *ctx);

/*
 * All-zero means defaults. Attempts count the first call: max_attempts 1
 * never retries. The delay before retry n (n = 1 after the first failure)
 * is uniform in [0, min(max_delay_ns, base_delay_ns * multiplier^(n-1))]
 * ("full jitter", as gRPC's A6 and the AWS backoff study recommend: it
 * spreads clients that failed together instead of synchronising them).
 */
struct pep_retry_policy {
	unsigned int max_attempts;	/* 0 = 3 */
	uint64_t base_delay_ns;		/* 0 = 100 ms */
	uint64_t max_delay_ns;		/* 0 = 10 s */
	double multiplier;		/* 0 = 2.0; >= 1 */
	uint64_t max_elapsed_ns;	/* pep_retry_run() budget; 0 = none */
	pep_retry_pred_fn retry_on;	/* NULL = pep_retry_transient */
	void *retry_ctx;		/* passed to retry_on */
};

/*
 * The default predicate: retry every error except those that will not go
 * away by themselves: -ENOENT, -EACCES, -EPERM, -EINVAL, -EOPNOTSUPP,
 * -ENOSYS, -EBADF, -EFAULT, -ENOTDIR, -EISDIR, -ENAMETOOLONG, -EMSGSIZE,
 * -EPROTONOSUPPORT and -ECANCELED. ctx is unused.
 */
PEP_API int pep_retry_transient(int error, void *ctx);

/*
 * -EINVAL (err names the field) when the policy cannot work: multiplier
 * below 1 or not a number, base delay above max delay.
 */
PEP_API int pep_retry_policy_check(const struct pep_retry_policy *policy,
				   struct pep_err *err);

/*
 * After attempt number attempt (1 for the first call) failed with error:
 * 1 to try again, 0 to give up (attempts used up, error >= 0, or the
 * predicate says the error is permanent). policy may be NULL (defaults).
 */
PEP_API int pep_retry_should(const struct pep_retry_policy *policy,
			     unsigned int attempt, int error);

/*
 * The delay to wait after attempt number attempt failed (attempt >= 1;
 * 0 is treated as 1), drawn from rng with full jitter as described above.
 */
PEP_API uint64_t pep_retry_delay_ns(const struct pep_retry_policy *policy,
				    unsigned int attempt, struct pep_rng *rng);

/* The cap of that delay: min(max, base * multiplier^(attempt-1)). */
PEP_API uint64_t pep_retry_cap_ns(const struct pep_retry_policy *policy,
				  unsigned int attempt);

/* One attempt: >= 0 on success, a negative errno on failure. */
typedef int (*pep_retry_fn)(void *arg, unsigned int attempt);

/*
 * Call fn until it succeeds or pep_retry_should() says stop, sleeping the
 * jittered delay through clock in between; stops early when the next delay
 * would end past max_elapsed_ns since the first call. Returns fn's last
 * result; when that is an error, err says how many attempts were made.
 * Sleeps in the calling thread: do not call it from a scheduler worker.
 */
PEP_API int pep_retry_run(const struct pep_retry_policy *policy,
			  const struct pep_clock *clock, struct pep_rng *rng,
			  pep_retry_fn fn, void *arg, struct pep_err *err);

/* --- circuit breaker ---------------------------------------------------- */

/*
 * CLOSED: calls flow and failures are counted. When failure_threshold
 * failures fall within any window_ns (a sliding window over the failure
 * times, not a count of consecutive failures: successes in between do not
 * reset it), the breaker trips to OPEN and rejects calls. After open_ns it
 * is HALF_OPEN: at most half_open_calls trial calls are let through;
 * success_threshold successful trials close it, and any failed trial
 * reopens it for another open_ns.
 *
 * Every call that pep_breaker_allow() admitted must report exactly one
 * outcome. Outcomes apply to the state the breaker is in when they are
 * reported: a slow call admitted while closed that fails during half-open
 * counts as a failed trial.
 */
enum pep_breaker_state {
	PEP_BREAKER_CLOSED,
	PEP_BREAKER_OPEN,
	PEP_BREAKER_HALF_OPEN,
};

struct pep_breaker_opts {		/* all-zero means defaults */
	unsigned int failure_threshold;	/* 0 = 5; at most 65536 */
	uint64_t window_ns;		/* 0 = 10 s */
	uint64_t open_ns;		/* cool-down; 0 = 5 s */
	unsigned int half_open_calls;	/* trial calls; 0 = 1 */
	unsigned int success_threshold;	/* 0 = 1; <= half_open_calls */
};

struct pep_breaker_stats {
	uint64_t calls;			/* admitted by allow() */
	uint64_t successes;
	uint64_t failures;
	uint64_t rejections;		/* refused by allow() */
	uint64_t trips;			/* transitions to OPEN, reopenings too */
};

struct pep_breaker;

/*
 * clock may be NULL (CLOCK_MONOTONIC); it is copied, and its ctx must stay
 * valid until pep_breaker_destroy(). -EINVAL for impossible options,
 * -ENOMEM.
 */
PEP_API int pep_breaker_create(struct pep_breaker **out,
			       const struct pep_breaker_opts *opts,
			       const struct pep_clock *clock,
			       struct pep_err *err);
PEP_API void pep_breaker_destroy(struct pep_breaker *b);

/*
 * 1 when a call may proceed (in HALF_OPEN this takes one of the trial
 * slots), 0 when it must be rejected. Any thread.
 */
PEP_API int pep_breaker_allow(struct pep_breaker *b);

/* The outcome of an admitted call. Any thread. */
PEP_API void pep_breaker_record_success(struct pep_breaker *b);
PEP_API void pep_breaker_record_failure(struct pep_breaker *b);

/* The state now (an OPEN breaker whose cool-down ended reads HALF_OPEN). */
PEP_API enum pep_breaker_state pep_breaker_state(struct pep_breaker *b);

/* A consistent snapshot of the counters. Any thread. */
PEP_API void pep_breaker_stats(struct pep_breaker *b,
			       struct pep_breaker_stats *stats);

/* "closed", "open", "half-open"; "unknown" out of range. */
PEP_API const char *pep_breaker_state_name(enum pep_breaker_state state);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_FAULT_H */
