/*
 * sink.h - a file written front to back through two aligned buffers: the
 * caller fills one while a flusher thread writes the other, with direct
 * I/O where the file system takes it.
 *
 * Direct I/O keeps a multi-gigabyte model out of the page cache (on an
 * 8 GiB Jetson the cache would otherwise push out everything else) and
 * costs no copy into it; with the flusher, the disk works while the
 * caller computes. Where O_DIRECT is refused (or a write with it fails
 * with EINVAL) the same buffers go out as ordinary writes.
 *
 * Library-internal (coh__ names).
 */
#ifndef COHETE_QUANT_SINK_H
#define COHETE_QUANT_SINK_H

#ifndef COH_BUILDING_LIBRARY
#error "include the public <cohete/...> headers instead"
#endif

#include <stddef.h>

struct coh__sink;

/* Write to fd (an empty file, written from offset 0). 0 or -ENOMEM. */
int coh__sink_open(struct coh__sink **out, int fd);

/* Append n bytes. 0, or the first error so far (-errno; sticky). */
int coh__sink_write(struct coh__sink *s, const void *p, size_t n);

/* Everything out and the file exactly as long as what was appended. */
int coh__sink_flush(struct coh__sink *s);

/* Stop the flusher (after the write it is in) and free; NULL: no-op. */
void coh__sink_close(struct coh__sink *s);

#endif
