/* gguf.c - being written */
#include <cohete/quant.h>
