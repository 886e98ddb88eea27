/* cli/pepita/cmd.h - the pepita commands (one cmd_<name>.c each). */
#ifndef CLI_PEPITA_CMD_H
#define CLI_PEPITA_CMD_H

#include "cli.h"

int cmd_info(int argc, char **argv);
int cmd_ublk(int argc, char **argv);
int cmd_uring(int argc, char **argv);
int cmd_zram(int argc, char **argv);

#endif /* CLI_PEPITA_CMD_H */
