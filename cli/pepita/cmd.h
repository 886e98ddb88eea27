/* cli/pepita/cmd.h - the pepita commands (one cmd_<name>.c each). */
#ifndef CLI_PEPITA_CMD_H
#define CLI_PEPITA_CMD_H

#include "cli.h"

int cmd_info(int argc, char **argv);
int cmd_ublk(int argc, char **argv);
int cmd_uring(int argc, char **argv);
int cmd_zram(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/*
 * A zram mm_stat as a JSON object, and its compression ratio (null while
 * nothing is stored): cmd_zram.c, also for the ublk zram target.
 */
struct json_t;
struct pep_zram_mm_stat;
struct json_t *zram_mm_stat_json(const struct pep_zram_mm_stat *mm);
struct json_t *zram_ratio_json(const struct pep_zram_mm_stat *mm);

#endif /* CLI_PEPITA_CMD_H */
