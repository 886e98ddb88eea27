/*
 * tests/harness.h - the exit codes meson, automake and liburing share, and
 * one check macro. A test prints what differed on stderr and returns.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#define T_PASS	0
#define T_FAIL	1
#define T_SKIP	77
#define T_ERROR	99

/* On failure: print file, line and the expression, and fail the test. */
#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			return T_FAIL;					\
		}							\
	} while (0)

/* Run one test function and fold its result into rc (fail wins). */
static inline int t_run(const char *name, int (*fn)(void), int *rc)
{
	int r = fn();

	fprintf(stderr, "%s %s\n", r == T_PASS ? "ok  " :
		r == T_SKIP ? "skip" : "FAIL", name);
	if (r != T_PASS && r != T_SKIP)
		*rc = T_FAIL;
	return r;
}

/* A whole file, NUL-terminated, malloc'd; NULL when unreadable. */
static inline char *t_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1))) {
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

#endif /* TESTS_HARNESS_H */
