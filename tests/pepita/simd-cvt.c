/* simd-cvt.c - placeholder */
int main(void)
{
	return 77;
}
