/* cli/pepita/ublk_cli.h - what the `pepita ublk` files share. */
#ifndef CLI_PEPITA_UBLK_CLI_H
#define CLI_PEPITA_UBLK_CLI_H

#include <stdint.h>

#include <jansson.h>
#include <pepita/ublk.h>

/* How a device's target is made: from the command line, or its state file. */
struct ublk_spec {
	const char *type;		/* "null", "ram", "loop", "zram" */
	const char *file;		/* loop's backing file */
	const char *comp;		/* zram's compressor; NULL: lz4 */
	uint64_t size;			/* bytes; 0 = loop's file size */
	unsigned int queues;
	unsigned int depth;
	int read_only;
	int recovery;
	int owned;			/* type and file are malloc'd */
};

struct pep_zram_mm_stat;

/* zm: the zram target's statistics (NULL for other targets). */
int ublk_state_write(const struct ublk_spec *s, int id, int pid,
		     const struct pep_ublk_stats *st,
		     const struct pep_zram_mm_stat *zm);
json_t *ublk_state_read(int id, struct ublk_spec *s);
void ublk_state_remove(int id);
void ublk_spec_free(struct ublk_spec *s);

#endif /* CLI_PEPITA_UBLK_CLI_H */
