/* cohete/config.h - (being written) */
#ifndef COHETE_CONFIG_H
#define COHETE_CONFIG_H
#endif /* COHETE_CONFIG_H */
