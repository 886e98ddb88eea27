/* peak_avx2.c - placeholder, filled in below. */
#include "simd_priv.h"

void pep__simd_peak_avx2(struct pep__simd_table *k)
{
	(void)k;
}
