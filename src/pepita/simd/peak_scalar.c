/* peak_scalar.c - placeholder, filled in below. */
#include "simd_priv.h"

void pep__simd_peak_scalar(struct pep__simd_table *k)
{
	(void)k;
}
