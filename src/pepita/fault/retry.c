/*
 * Retry with capped exponential backoff and full jitter, plus the clock and
 * random generator that the fault and transport modules share.
 *
 * The functions are pure over a policy and a caller-owned generator so the
 * scheduler can ask "again, and when?" without sleeping, and tests can
 * check the exact delays for a seed. pep_retry_run() is the blocking
 * convenience on top.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <pepita/fault.h>

#define DEFAULT_ATTEMPTS 3
#define DEFAULT_BASE_NS (100ull * 1000 * 1000)
#define DEFAULT_MAX_NS (10ull * 1000 * 1000 * 1000)
#define DEFAULT_MULTIPLIER 2.0

PEP_API uint64_t pep_clock_now_ns(const struct pep_clock *clock)
{
	if (!clock || !clock->now_ns)
		return pep_time_ns();
	return clock->now_ns(clock->ctx);
}

PEP_API void pep_clock_sleep_ns(const struct pep_clock *clock, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000),
		.tv_nsec = (long)(ns % 1000000000),
	};

	if (clock && clock->sleep_ns) {
		clock->sleep_ns(clock->ctx, ns);
		return;
	}
	/* nanosleep leaves the remainder in ts when a signal cuts it short */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

PEP_API void pep_rng_seed(struct pep_rng *rng, uint64_t seed)
{
	rng->state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): one add, good bits from any seed. */
PEP_API uint64_t pep_rng_next(struct pep_rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

PEP_API uint64_t pep_rng_upto(struct pep_rng *rng, uint64_t bound)
{
	uint64_t n, floor, r;

	if (bound == UINT64_MAX)
		return pep_rng_next(rng);
	n = bound + 1;
	/* reject the lowest 2^64 % n values so every residue is equally likely */
	floor = -n % n;
	do
		r = pep_rng_next(rng);
	while (r < floor);
	return r % n;
}

PEP_API int pep_retry_transient(int error, void *ctx)
{
	(void)ctx;
	switch (-error) {
	case ENOENT: case EACCES: case EPERM: case EINVAL: case EOPNOTSUPP:
	case ENOSYS: case EBADF: case EFAULT: case ENOTDIR: case EISDIR:
	case ENAMETOOLONG: case EMSGSIZE: case EPROTONOSUPPORT: case ECANCELED:
		return 0;
	default:
		return 1;
	}
}

static unsigned int max_attempts(const struct pep_retry_policy *p)
{
	return p && p->max_attempts ? p->max_attempts : DEFAULT_ATTEMPTS;
}

static double multiplier(const struct pep_retry_policy *p)
{
	double m = p && p->multiplier != 0.0 ? p->multiplier : DEFAULT_MULTIPLIER;

	return m >= 1.0 ? m : 1.0;	/* NaN and shrinking "backoff" too */
}

PEP_API int pep_retry_policy_check(const struct pep_retry_policy *policy,
				   struct pep_err *err)
{
	uint64_t base, max;

	if (!policy)
		return 0;
	if (policy->multiplier != 0.0 && !(policy->multiplier >= 1.0))
		return pep_err_set(err, -EINVAL,
				   "retry policy: multiplier %g is below 1",
				   policy->multiplier);
	base = policy->base_delay_ns ? policy->base_delay_ns : DEFAULT_BASE_NS;
	max = policy->max_delay_ns ? policy->max_delay_ns : DEFAULT_MAX_NS;
	if (base > max)
		return pep_err_set(err, -EINVAL,
				   "retry policy: base_delay_ns %llu above max_delay_ns %llu",
				   (unsigned long long)base, (unsigned long long)max);
	return 0;
}

PEP_API int pep_retry_should(const struct pep_retry_policy *policy,
			     unsigned int attempt, int error)
{
	pep_retry_pred_fn pred = pep_retry_transient;
	void *ctx = NULL;

	if (error >= 0 || attempt >= max_attempts(policy))
		return 0;
	if (policy && policy->retry_on) {
		pred = policy->retry_on;
		ctx = policy->retry_ctx;
	}
	return pred(error, ctx) != 0;
}

PEP_API uint64_t pep_retry_cap_ns(const struct pep_retry_policy *policy,
				  unsigned int attempt)
{
	uint64_t base = policy && policy->base_delay_ns ? policy->base_delay_ns
							 : DEFAULT_BASE_NS;
	uint64_t max = policy && policy->max_delay_ns ? policy->max_delay_ns
						       : DEFAULT_MAX_NS;
	double m = multiplier(policy), cap = (double)base;

	/* multiply step by step: stops at max long before double overflows */
	for (unsigned int i = 1; i < attempt && cap < (double)max && m > 1.0; i++)
		cap *= m;
	return cap >= (double)max ? max : (uint64_t)cap;
}

PEP_API uint64_t pep_retry_delay_ns(const struct pep_retry_policy *policy,
				    unsigned int attempt, struct pep_rng *rng)
{
	return pep_rng_upto(rng, pep_retry_cap_ns(policy, attempt));
}

PEP_API int pep_retry_run(const struct pep_retry_policy *policy,
			  const struct pep_clock *clock, struct pep_rng *rng,
			  pep_retry_fn fn, void *arg, struct pep_err *err)
{
	uint64_t start = pep_clock_now_ns(clock), budget, delay;
	unsigned int attempt;
	int ret;

	budget = policy ? policy->max_elapsed_ns : 0;
	for (attempt = 1;; attempt++) {
		ret = fn(arg, attempt);
		if (!pep_retry_should(policy, attempt, ret))
			break;
		delay = pep_retry_delay_ns(policy, attempt, rng);
		if (budget && pep_clock_now_ns(clock) - start + delay > budget)
			break;
		pep_clock_sleep_ns(clock, delay);
	}
	if (ret < 0)
		return pep_err_set(err, ret, "gave up after %u attempt%s: %s",
				   attempt, attempt == 1 ? "" : "s",
				   strerror(-ret));
	return ret;
}
