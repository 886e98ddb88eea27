/* simd-vec.c - placeholder */
int main(void)
{
	return 77;
}
