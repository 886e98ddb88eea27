/* cohete/discover.h - (being written) */
#ifndef COHETE_DISCOVER_H
#define COHETE_DISCOVER_H
#endif /* COHETE_DISCOVER_H */
