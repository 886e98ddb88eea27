/* simd-dispatch.c - placeholder */
int main(void)
{
	return 77;
}
