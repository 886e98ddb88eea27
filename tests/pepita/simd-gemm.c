/* simd-gemm.c - placeholder */
int main(void)
{
	return 77;
}
