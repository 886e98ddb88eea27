/*
 * core_priv.h - small helpers several pepita modules share, not part of
 * the API (pep__ names): a spin-wait hint and a pipe write that cannot
 * kill the caller with SIGPIPE.
 */
#ifndef PEPITA_CORE_PRIV_H
#define PEPITA_CORE_PRIV_H

#ifndef PEP_BUILDING_LIBRARY
#error "core_priv.h is pepita's own; include <pepita/core.h> instead"
#endif

#include <sys/types.h>
#include <sys/uio.h>

/* Tell the CPU this is a spin-wait loop (PAUSE, YIELD). */
static inline void pep__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * writev(2) to a pipe whose reader may be gone, without the SIGPIPE that
 * would kill the caller: the signal is blocked in this thread around the
 * write, and one the write raised is consumed (not one already pending).
 * Returns what writev returns, errno kept.
 */
ssize_t pep__writev_nosigpipe(int fd, const struct iovec *iov, int n);

#endif /* PEPITA_CORE_PRIV_H */
