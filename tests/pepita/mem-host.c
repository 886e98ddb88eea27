/*
 * pepita mem, host suite: DMA buffers on the running kernel. Alignment and
 * zeroed contents, the huge-page path (hugetlb when the pool has pages,
 * else THP advice: whichever happened must be the flag reported), mlock
 * when permitted, and /proc/self/pagemap: as root a nonzero frame for a
 * touched page, and as uid 65534 (a forked child) -EPERM saying
 * CAP_SYS_ADMIN. Parts that need root skip when not root.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/mem.h>

#include "harness.h"

/* ASan's and TSan's interceptors turn mlock() into a no-op that succeeds. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static size_t page_bytes;

/* "Hugetlb:" / "AnonHugePages:" style kB counter of /proc/self/smaps_rollup. */
static long rollup_kb(const char *key)
{
	char *s = t_read_file("/proc/self/smaps_rollup"), *at;
	long kb = -1;

	if (!s)
		return -1;
	at = strstr(s, key);
	if (at)
		kb = strtol(at + strlen(key), NULL, 10);
	free(s);
	return kb;
}

static int test_plain(void)
{
	struct pep_dma_buf buf;
	struct pep_err err;
	size_t i;

	CHECK(pep_dma_alloc(0, 0, &buf, &err) == -EINVAL);
	CHECK(err.code == -EINVAL);
	CHECK(pep_dma_alloc(4096, 0x100, &buf, &err) == -EINVAL);
	CHECK(pep_dma_alloc(page_bytes + 1, 0, &buf, &err) == 0);
	CHECK(buf.addr && (uintptr_t)buf.addr % page_bytes == 0);
	CHECK(buf.size == 2 * page_bytes);
	CHECK(buf.flags == 0);
	for (i = 0; i < buf.size; i++)
		CHECK(((unsigned char *)buf.addr)[i] == 0);
	memset(buf.addr, 0xa5, buf.size);
	pep_dma_free(&buf);
	CHECK(buf.addr == NULL && buf.size == 0);
	pep_dma_free(&buf);
	pep_dma_free(NULL);
	return T_PASS;
}

static int test_huge(void)
{
	long huge_before = rollup_kb("Hugetlb:");
	struct pep_dma_buf buf;
	struct pep_err err;

	CHECK(pep_dma_alloc(3 << 20, PEP_DMA_HUGE, &buf, &err) == 0);
	CHECK((uintptr_t)buf.addr % PEP_DMA_HUGE_SIZE == 0);
	CHECK(buf.size == 4u << 20);
	/* hugetlb and THP exclude each other; LOCKED was not asked for. */
	CHECK((buf.flags & (PEP_DMA_HUGE | PEP_DMA_THP)) !=
	      (PEP_DMA_HUGE | PEP_DMA_THP));
	CHECK(!(buf.flags & PEP_DMA_LOCKED));
	if (buf.flags & PEP_DMA_HUGE) {
		/* The kernel's account agrees: 4 MiB more of hugetlb. */
		long after = rollup_kb("Hugetlb:");

		if (huge_before >= 0 && after >= 0)
			CHECK(after - huge_before >= 4096);
	}
	((char *)buf.addr)[buf.size - 1] = 1;
	fprintf(stderr, "     huge: %s\n", buf.flags & PEP_DMA_HUGE ? "hugetlb" :
		buf.flags & PEP_DMA_THP ? "thp advised" : "4k fallback");
	pep_dma_free(&buf);
	return T_PASS;
}

static int test_lock(void)
{
	struct pep_dma_buf buf;
	struct rlimit rl;
	int can;

	CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	can = geteuid() == 0 || rl.rlim_cur == RLIM_INFINITY ||
	      rl.rlim_cur >= (rlim_t)(1 << 20);
	CHECK(pep_dma_alloc(64 << 10, PEP_DMA_LOCKED, &buf, NULL) == 0);
	if (can)
		CHECK(buf.flags & PEP_DMA_LOCKED);
	pep_dma_free(&buf);
	return T_PASS;
}

/* Without permission to lock, the buffer still comes, unflagged. */
static int test_lock_refused(void)
{
	struct rlimit zero = { 0, 0 };
	struct pep_dma_buf buf;
	int status;
	pid_t pid;

	if (SANITIZED)
		return T_SKIP;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* A non-root child with RLIMIT_MEMLOCK 0 cannot mlock. */
		if (geteuid() == 0 && setuid(65534) != 0)
			_exit(3);
		if (setrlimit(RLIMIT_MEMLOCK, &zero) != 0)
			_exit(4);
		if (pep_dma_alloc(64 << 10, PEP_DMA_LOCKED, &buf, NULL) != 0)
			_exit(5);
		if (buf.flags & PEP_DMA_LOCKED)
			_exit(6);
		pep_dma_free(&buf);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "child status 0x%x\n", (unsigned int)status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_PASS;
}

static int test_phys_root(void)
{
	uint64_t phys0, phys1;
	struct pep_dma_buf buf;
	struct pep_err err;
	int ret;

	if (geteuid() != 0)
		return T_SKIP;
	CHECK(pep_dma_alloc(2 * page_bytes, PEP_DMA_LOCKED, &buf, &err) == 0);
	((volatile char *)buf.addr)[0] = 1;
	ret = pep_dma_phys(&buf, 123, &phys0, &err);
	if (ret)
		fprintf(stderr, "phys: %s\n", err.msg);
	CHECK(ret == 0);
	CHECK(phys0 != 0 && phys0 % page_bytes == 123);
	CHECK(pep_dma_phys(&buf, page_bytes, &phys1, &err) == 0);
	CHECK(phys1 % page_bytes == 0 && phys1 != phys0 - 123);
	CHECK(pep_dma_phys(&buf, buf.size, &phys1, &err) == -EINVAL);
	CHECK(strstr(err.msg, "outside"));
	pep_dma_free(&buf);
	return T_PASS;
}

static int test_phys_unprivileged(void)
{
	struct pep_dma_buf buf;
	struct pep_err err;
	uint64_t phys = 0;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return T_SKIP;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (pep_dma_alloc(page_bytes, 0, &buf, NULL) != 0)
			_exit(4);
		((volatile char *)buf.addr)[0] = 1;
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		/*
		 * setuid() made the process undumpable, which hands
		 * /proc/self to root: opening pagemap is refused. An
		 * ordinary nobody process is dumpable, opens its pagemap
		 * and reads frame numbers as 0. Both say CAP_SYS_ADMIN.
		 */
		if (pep_dma_phys(&buf, 0, &phys, &err) != -EPERM ||
		    !strstr(err.msg, "needs CAP_SYS_ADMIN"))
			_exit(9);
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
			_exit(8);
		if (pep_dma_phys(&buf, 0, &phys, &err) != -EPERM) {
			fprintf(stderr, "child: %d %s\n", err.code, err.msg);
			_exit(5);
		}
		if (err.code != -EPERM || !strstr(err.msg, "needs CAP_SYS_ADMIN"))
			_exit(6);
		if (phys != 0)
			_exit(7);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "child exit %d\n", WEXITSTATUS(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return T_PASS;
}

int main(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	int rc = T_PASS;

	if (ps <= 0)
		return T_ERROR;
	page_bytes = (size_t)ps;
	t_run("plain", test_plain, &rc);
	t_run("huge", test_huge, &rc);
	t_run("lock", test_lock, &rc);
	t_run("lock_refused", test_lock_refused, &rc);
	t_run("phys_root", test_phys_root, &rc);
	t_run("phys_unprivileged", test_phys_unprivileged, &rc);
	return rc;
}
