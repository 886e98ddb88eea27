/* simd-qdot.c - placeholder */
int main(void)
{
	return 77;
}
