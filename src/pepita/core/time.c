/*
 * Clocks. CLOCK_MONOTONIC never jumps with settimeofday or NTP steps, so
 * it measures intervals; CLOCK_REALTIME says when something happened, and
 * is what JSON documents stamp themselves with (RFC 3339, UTC).
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <pepita/core.h>

PEP_API uint64_t pep_time_ns(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_MONOTONIC with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

PEP_API int64_t pep_time_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

PEP_API int pep_time_rfc3339(int64_t unix_ms, char *buf, size_t size)
{
	/* Floor, not truncation: -1 ms is 23:59:59.999 of the day before. */
	int64_t ms = unix_ms % 1000 < 0 ? unix_ms % 1000 + 1000 : unix_ms % 1000;
	time_t secs = (time_t)((unix_ms - ms) / 1000);
	struct tm tm;
	int n;

	if (size)
		buf[0] = '\0';
	if (!gmtime_r(&secs, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -EINVAL;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)ms);
	return (size_t)n < size ? n : -ENOSPC;
}
