/* peak_neon.c - placeholder, filled in below. */
#include "simd_priv.h"

void pep__simd_peak_neon(struct pep__simd_table *k)
{
	(void)k;
}
