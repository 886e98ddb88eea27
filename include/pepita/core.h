/*
 * pepita/core.h - errors, version, CPU features and clocks shared by every
 * pepita and cohete module.
 *
 * Threading: every function here may be called from any thread. CPU feature
 * detection runs once (pthread_once) and is read-only afterwards.
 */
#ifndef PEPITA_CORE_H
#define PEPITA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PEP_BUILDING_LIBRARY)
#define PEP_API __attribute__((visibility("default")))
#else
#define PEP_API
#endif

/*
 * Errors. A call that can fail returns 0 (or a count) on success and -errno
 * on failure. When the caller passes a struct pep_err, it also receives the
 * same code and a one-line reason that names the file, field or line.
 */
#define PEP_ERR_MSG_MAX 256

struct pep_err {
	int code;			/* the same -errno the call returned */
	char msg[PEP_ERR_MSG_MAX];	/* "open /dev/ublk-control: No such file..." */
};

/* Reset err to "no error". err may be NULL. */
PEP_API void pep_err_clear(struct pep_err *err);

/*
 * Record code (a negative errno) and a printf-style reason in err (may be
 * NULL). Returns code, so a caller can write `return pep_err_set(...)`.
 */
PEP_API int pep_err_set(struct pep_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like pep_err_set() with -errno, appending ": strerror(errno)". */
PEP_API int pep_err_errno(struct pep_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A size in bytes: decimal digits, optionally followed by K, M, G or T
 * (powers of 1024; "KiB" and "KB" mean the same). -EINVAL with the text in
 * err when it is not one, -ERANGE when it does not fit in 64 bits.
 */
PEP_API int pep_parse_size(const char *text, uint64_t *out, struct pep_err *err);

/*
 * Write all len bytes to fd, again after a short write or EINTR: 0, or
 * -errno (a pipe without readers is -EPIPE, and SIGPIPE is the caller's
 * business as with write(2)).
 */
PEP_API int pep_write_all(int fd, const void *buf, size_t len);

/* ---- SHA-256 (FIPS 180-4), streamed ---- */

#define PEP_SHA256_HEX	65	/* 64 lower-case hex digits + NUL */

struct pep_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes so far */
	uint8_t block[64];
	size_t used;			/* bytes in block */
};

PEP_API void pep_sha256_init(struct pep_sha256 *s);
PEP_API void pep_sha256_update(struct pep_sha256 *s, const void *buf, size_t len);
PEP_API void pep_sha256_final(struct pep_sha256 *s, char hex[PEP_SHA256_HEX]);

/* The digest of len bytes at buf, as hex. Any thread. */
PEP_API void pep_sha256_hex(const void *buf, size_t len, char hex[PEP_SHA256_HEX]);

/* The digest of a whole file, streamed; 0 or -errno with err naming it. */
PEP_API int pep_sha256_file(const char *path, char hex[PEP_SHA256_HEX],
			    struct pep_err *err);

/*
 * Levenshtein distance with transpositions (optimal string alignment);
 * SIZE_MAX when either word is longer than 64 bytes.
 */
PEP_API size_t pep_edit_distance(const char *a, const char *b);

/*
 * The name of names (NULL entries skipped) closest to word: within 2 edits
 * and fewer edits than word has letters, the first of the closest. NULL
 * when none is close enough to suggest.
 */
PEP_API const char *pep_closest_word(const char *word, const char *const *names,
				     size_t count);

/* "pepita 0.1.0": the library's version, for --version. */
PEP_API const char *pep_version(void);

/* CPU features: detected from CPUID/XGETBV on x86-64 and HWCAP on aarch64. */
enum pep_cpu_feature {
	PEP_CPU_SSE41,
	PEP_CPU_AVX2,
	PEP_CPU_FMA,
	PEP_CPU_F16C,
	PEP_CPU_AVX512F,
	PEP_CPU_AVX512BW,
	PEP_CPU_AVX512VL,
	PEP_CPU_AVX512VNNI,
	PEP_CPU_AVX512BF16,
	PEP_CPU_ASIMD,			/* NEON */
	PEP_CPU_FP16,			/* aarch64 half-precision arithmetic */
	PEP_CPU_DOTPROD,
	PEP_CPU_SVE,
	PEP_CPU_FEATURE_COUNT
};

/*
 * Whether this CPU and the kernel support the feature (for AVX and AVX-512,
 * also that the OS saves the wider registers). Any thread.
 */
PEP_API int pep_cpu_has(enum pep_cpu_feature feature);

/* Lower-case name, as printed by `pepita info`: "avx512vnni", "asimd". */
PEP_API const char *pep_cpu_feature_name(enum pep_cpu_feature feature);

/* "x86_64" or "aarch64": the architecture this library was built for. */
PEP_API const char *pep_cpu_arch(void);

/*
 * The architecture a feature belongs to, in pep_cpu_arch()'s spelling, so
 * callers can list only the features that can exist here. NULL if out of range.
 */
PEP_API const char *pep_cpu_feature_arch(enum pep_cpu_feature feature);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
PEP_API uint64_t pep_time_ns(void);

/* Wall clock (CLOCK_REALTIME) in milliseconds since 1970-01-01 UTC. */
PEP_API int64_t pep_time_real_ms(void);

/* Room for any pep_time_rfc3339() text and its NUL. */
#define PEP_RFC3339_SIZE 32

/*
 * unix_ms as RFC 3339 in UTC with milliseconds, "2026-07-25T09:08:28.042Z",
 * the form every JSON "timestamp" takes. Returns its length (24), -EINVAL
 * for a time outside the years 0000..9999, -ENOSPC when size is too small
 * (snprintf semantics: buf is still NUL-terminated when size > 0). Any thread.
 */
PEP_API int pep_time_rfc3339(int64_t unix_ms, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_CORE_H */
