/*
 * DMA-able buffers: anonymous mappings, 2 MiB hugetlb pages when the pool
 * has them, else 2 MiB-aligned memory advised for transparent huge pages;
 * mlock() when RLIMIT_MEMLOCK allows; physical addresses from
 * /proc/self/pagemap (bits 0-54 the frame number, bit 63 present).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pepita/mem.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define PM_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PM_PRESENT	(UINT64_C(1) << 63)

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

/* Fault every page in, so the buffer is backed before anyone DMAs to it. */
static void touch(void *addr, size_t size, size_t step)
{
	volatile char *p = addr;
	size_t off;

	for (off = 0; off < size; off += step)
		p[off] = 0;
}

/* An anonymous mapping of size bytes whose start is aligned to align. */
static void *map_aligned(size_t size, size_t align)
{
	size_t len = size + align;
	uintptr_t start, end, a;
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uintptr_t)p;
	end = start + len;
	a = (start + align - 1) & ~(uintptr_t)(align - 1);
	if (a > start)
		munmap(p, a - start);
	if (end > a + size)
		munmap((void *)(a + size), end - (a + size));
	return (void *)a;
}

int pep_dma_alloc(size_t size, unsigned int want, struct pep_dma_buf *out,
		  struct pep_err *err)
{
	size_t ps = page_size(), len;
	void *p = MAP_FAILED;
	unsigned int got = 0;

	if (!out)
		return pep_err_set(err, -EINVAL, "dma: out is NULL");
	memset(out, 0, sizeof(*out));
	if (size == 0)
		return pep_err_set(err, -EINVAL, "dma: size 0");
	if (want & ~(PEP_DMA_HUGE | PEP_DMA_LOCKED))
		return pep_err_set(err, -EINVAL, "dma: unknown flags 0x%x",
				   want);
	if (size > SIZE_MAX - 2 * PEP_DMA_HUGE_SIZE)
		return pep_err_set(err, -ENOMEM, "dma: size %zu too large",
				   size);

	if (want & PEP_DMA_HUGE) {
		len = round_up(size, PEP_DMA_HUGE_SIZE);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 MAP_HUGE_2MB | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED) {
			got |= PEP_DMA_HUGE;
		} else {
			/* No hugetlb pool: aligned memory, THP advised. */
			p = map_aligned(len, PEP_DMA_HUGE_SIZE);
			if (!p)
				return pep_err_errno(err,
						     "dma: mmap %zu bytes", len);
			if (madvise(p, len, MADV_HUGEPAGE) == 0)
				got |= PEP_DMA_THP;
			touch(p, len, ps);
		}
	} else {
		len = round_up(size, ps);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return pep_err_errno(err, "dma: mmap %zu bytes", len);
		touch(p, len, ps);
	}
	if ((want & PEP_DMA_LOCKED) && mlock(p, len) == 0)
		got |= PEP_DMA_LOCKED;

	out->addr = p;
	out->size = len;
	out->flags = got;
	return 0;
}

void pep_dma_free(struct pep_dma_buf *buf)
{
	if (!buf || !buf->addr)
		return;
	if (buf->flags & PEP_DMA_LOCKED)
		munlock(buf->addr, buf->size);
	munmap(buf->addr, buf->size);
	memset(buf, 0, sizeof(*buf));
}

int pep_dma_phys(const struct pep_dma_buf *buf, size_t offset,
		 uint64_t *phys, struct pep_err *err)
{
	size_t ps = page_size();
	uintptr_t va;
	uint64_t ent;
	ssize_t n;
	int fd;

	if (!buf || !buf->addr || !phys)
		return pep_err_set(err, -EINVAL, "dma: no buffer");
	if (offset >= buf->size)
		return pep_err_set(err, -EINVAL,
				   "dma: offset %zu outside the %zu-byte buffer",
				   offset, buf->size);
	va = (uintptr_t)buf->addr + offset;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return pep_err_set(err, -EPERM,
				   "open /proc/self/pagemap: %s: needs "
				   "CAP_SYS_ADMIN", strerror(errno));
	if (fd < 0)
		return pep_err_errno(err, "open /proc/self/pagemap");
	n = pread(fd, &ent, sizeof(ent),
		  (off_t)((va / ps) * sizeof(ent)));
	if (n != (ssize_t)sizeof(ent)) {
		int ret = n < 0 ?
			pep_err_errno(err, "read /proc/self/pagemap") :
			pep_err_set(err, -EIO,
				    "read /proc/self/pagemap: short read");

		close(fd);
		return ret;
	}
	close(fd);
	if (!(ent & PM_PRESENT))
		return pep_err_set(err, -EFAULT,
				   "dma: page at offset %zu not present", offset);
	if ((ent & PM_PFN_MASK) == 0)
		return pep_err_set(err, -EPERM,
				   "/proc/self/pagemap: frame numbers hidden, "
				   "needs CAP_SYS_ADMIN");
	*phys = (ent & PM_PFN_MASK) * ps + (va % ps);
	return 0;
}
