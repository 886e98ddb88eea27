#include "harness.h"
int main(void) { return T_SKIP; }
