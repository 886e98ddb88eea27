/* gemm_scalar.c - placeholder, filled in below. */
#include "simd_priv.h"

void pep__simd_gemm_scalar(struct pep__simd_table *k)
{
	(void)k;
}
