/* vec_scalar.c - placeholder, filled in below. */
#include <math.h>

#include "simd_priv.h"

float pep__expf_scalar(float x)
{
	return expf(x);
}

void pep__simd_vec_scalar(struct pep__simd_table *k)
{
	(void)k;
}
