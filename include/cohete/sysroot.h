/*
 * cohete/sysroot.h - every read of /proc, /sys, /etc and /dev goes through a
 * sysroot, so a tree captured from a Jetson (or a remote probe) is served by
 * the same code as the live machine.
 *
 * Threading: a coh_sysroot is immutable after coh_sysroot_open() and may be
 * used from any thread.
 */
#ifndef COHETE_SYSROOT_H
#define COHETE_SYSROOT_H

#include <stddef.h>
#include <stdint.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(COH_BUILDING_LIBRARY)
#define COH_API __attribute__((visibility("default")))
#else
#define COH_API
#endif

struct coh_sysroot;			/* opaque: the root path */

/* Called with each path (as on the target, leading '/') read or listed. */
typedef void (*coh_sysroot_read_fn)(const char *path, void *arg);

/*
 * Resolve paths without openat2, one component at a time, as on kernels
 * before 5.6 (where this is chosen anyway). For tests; the environment
 * variable COHETE_SYSROOT_RESOLVE=walk does the same for every sysroot.
 */
#define COH_SYSROOT_NO_OPENAT2	0x1

struct coh_sysroot_opts {
	const char *root;		/* NULL or "" = "/" */
	coh_sysroot_read_fn on_read;	/* optional trace of files read */
	void *on_read_arg;
	unsigned int flags;		/* COH_SYSROOT_* */
};

/*
 * Open a sysroot. Fails with -ENOENT/-ENOTDIR when root is not a directory.
 * The caller owns *out and frees it with coh_sysroot_close().
 *
 * On a root other than "/" (a captured tree, which nothing vouches for)
 * every path is resolved inside the root: a symlink, absolute or relative,
 * resolves as if the root were "/", and ".." stops at the root, as
 * openat2()'s RESOLVE_IN_ROOT does (used from Linux 5.6; the same rules
 * are applied component by component before). The root "/" uses the real
 * paths.
 */
COH_API int coh_sysroot_open(struct coh_sysroot **out,
			     const struct coh_sysroot_opts *opts,
			     struct pep_err *err);
COH_API void coh_sysroot_close(struct coh_sysroot *sr);

/* The root directory, "/" for the live system. Valid until close. */
COH_API const char *coh_sysroot_root(const struct coh_sysroot *sr);

/* Whether the sysroot is the live system ("/"). */
COH_API int coh_sysroot_is_live(const struct coh_sysroot *sr);

/*
 * Read the file at path (absolute, as on the target: "/proc/meminfo") into
 * buf, NUL-terminated; at most size - 1 bytes. Returns the byte count, or
 * -ENOENT (absent), -EACCES (needs privileges), -EISDIR, or another -errno.
 */
COH_API int coh_sysroot_read(const struct coh_sysroot *sr, const char *path,
			     char *buf, size_t size, struct pep_err *err);

/*
 * Read a whole file into *text, malloc'd and NUL-terminated (*len bytes
 * without the NUL; len may be NULL); the caller frees it. -EFBIG, with
 * the path and the limit in err, when it holds more than max_bytes: a
 * file is never cut silently. Other errors as coh_sysroot_read().
 */
COH_API int coh_sysroot_read_all(const struct coh_sysroot *sr,
				 const char *path, size_t max_bytes,
				 char **text, size_t *len, struct pep_err *err);

/*
 * Read a one-value sysfs file: like coh_sysroot_read() with trailing
 * whitespace and NULs removed (device-tree strings end in NUL).
 */
COH_API int coh_sysroot_read_str(const struct coh_sysroot *sr,
				 const char *path, char *buf, size_t size,
				 struct pep_err *err);

/*
 * Read a file holding one decimal integer. -EINVAL, with the path and the
 * text in err, when it holds anything else.
 */
COH_API int coh_sysroot_read_s64(const struct coh_sysroot *sr,
				 const char *path, int64_t *out,
				 struct pep_err *err);

/*
 * Write text to an existing file (a sysfs knob: no create), as `echo >`
 * does. -ENOENT when absent, -EACCES without privileges, -ELOOP when the
 * file itself is a symlink: writes never go through one (the directories
 * on the way may be links, as sysfs's class directories are).
 */
COH_API int coh_sysroot_write(const struct coh_sysroot *sr, const char *path,
			      const char *text, struct pep_err *err);

/* Whether path exists (any type) in the sysroot. */
COH_API int coh_sysroot_exists(const struct coh_sysroot *sr, const char *path);

/* Sorted names in a directory, without "." and "..". */
struct coh_names {
	char **names;
	size_t count;
};

/*
 * List the directory at path, in natural order ("cpu2" before "cpu10").
 * Free the result with coh_names_free(). -ENOENT when absent.
 */
COH_API int coh_sysroot_list(const struct coh_sysroot *sr, const char *path,
			     struct coh_names *out, struct pep_err *err);
COH_API void coh_names_free(struct coh_names *names);

/*
 * Resolve symlinks in path inside the sysroot and write the result,
 * relative to the sysroot ("/sys/devices/..."), to out. On a captured tree
 * a ".." that would climb above the root is -EXDEV here (reads clamp it).
 */
COH_API int coh_sysroot_realpath(const struct coh_sysroot *sr,
				 const char *path, char *out, size_t size,
				 struct pep_err *err);

/* A reading the machine does not provide. JSON prints it as null. */
#define COH_NA INT64_MIN

/*
 * Why parts of a reading are unavailable: one line per field, such as
 * { "memory.available_kb", "/proc/meminfo: no MemAvailable line" }.
 */
#define COH_NOTES_MAX 48

struct coh_note {
	char field[48];
	char reason[208];
};

struct coh_notes {
	unsigned int count;
	unsigned int dropped;		/* notes past COH_NOTES_MAX */
	struct coh_note note[COH_NOTES_MAX];
};

/* Append a note; notes may be NULL. A field noted twice keeps the first. */
COH_API void coh_notes_add(struct coh_notes *notes, const char *field,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a note whose reason is err->msg. */
COH_API void coh_notes_add_err(struct coh_notes *notes, const char *field,
			       const struct pep_err *err);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_SYSROOT_H */
