/*
 * struct pep_err: the -errno a call returns plus a one-line reason.
 * Every function accepts a NULL err, so callers that only want the code pay
 * nothing. Messages longer than PEP_ERR_MSG_MAX - 1 are cut, never overrun.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* the char * strerror_r */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <pepita/core.h>

PEP_API void pep_err_clear(struct pep_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

/* Format into err->msg; returns the length actually stored. */
__attribute__((format(printf, 2, 0)))
static size_t err_vformat(struct pep_err *err, const char *fmt, va_list ap)
{
	int len = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);

	if (len < 0) {
		err->msg[0] = '\0';
		return 0;
	}
	if ((size_t)len >= sizeof(err->msg))
		return sizeof(err->msg) - 1;
	return len;
}

PEP_API int pep_err_set(struct pep_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	return code;
}

PEP_API int pep_err_errno(struct pep_err *err, const char *fmt, ...)
{
	int saved = errno;	/* vsnprintf below may clobber it */
	int code = saved ? -saved : -EIO;	/* never report success */
	char buf[128];
	size_t len;
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	len = err_vformat(err, fmt, ap);
	va_end(ap);
	/* GNU strerror_r: thread-safe, unlike strerror() before glibc 2.32. */
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		 strerror_r(saved, buf, sizeof(buf)));
	errno = saved;
	return code;
}
