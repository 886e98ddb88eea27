/* Clocks. CLOCK_MONOTONIC never jumps with settimeofday or NTP steps. */
#include <time.h>

#include <pepita/core.h>

PEP_API uint64_t pep_time_ns(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_MONOTONIC with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
