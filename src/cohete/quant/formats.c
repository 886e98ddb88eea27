/* formats.c - being written */
#include <cohete/quant.h>
