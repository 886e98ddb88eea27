/* gemm.c - placeholder */
#include "simd_priv.h"
