/*
 * CPU features, detected once (pthread_once) and read-only afterwards.
 *
 * x86-64 asks CPUID and, for AVX and AVX-512, XGETBV: a CPU can have the
 * instructions while the kernel does not save the wider registers, and then
 * using them faults. aarch64 asks the kernel through AT_HWCAP, since the ID
 * registers are not readable from user space on every kernel. Neither reads
 * /proc/cpuinfo: it is slow, and under qemu-user it describes the host.
 */
#include <pthread.h>
#include <stdbool.h>

#include <pepita/core.h>

#if defined(__x86_64__)
#include <cpuid.h>
#define CPU_ARCH "x86_64"
#elif defined(__aarch64__)
#include <sys/auxv.h>
#if __has_include(<asm/hwcap.h>)
#include <asm/hwcap.h>
#endif
#define CPU_ARCH "aarch64"
#else
#define CPU_ARCH "unknown"
#endif

struct feature_info {
	const char *name;
	const char *arch;
};

static const struct feature_info feature_info[PEP_CPU_FEATURE_COUNT] = {
	[PEP_CPU_SSE41]		= { "sse4.1",		"x86_64" },
	[PEP_CPU_AVX2]		= { "avx2",		"x86_64" },
	[PEP_CPU_FMA]		= { "fma",		"x86_64" },
	[PEP_CPU_F16C]		= { "f16c",		"x86_64" },
	[PEP_CPU_AVX512F]	= { "avx512f",		"x86_64" },
	[PEP_CPU_AVX512BW]	= { "avx512bw",		"x86_64" },
	[PEP_CPU_AVX512VL]	= { "avx512vl",		"x86_64" },
	[PEP_CPU_AVX512VNNI]	= { "avx512vnni",	"x86_64" },
	[PEP_CPU_AVX512BF16]	= { "avx512bf16",	"x86_64" },
	[PEP_CPU_ASIMD]		= { "asimd",		"aarch64" },
	[PEP_CPU_FP16]		= { "fp16",		"aarch64" },
	[PEP_CPU_DOTPROD]	= { "dotprod",		"aarch64" },
	[PEP_CPU_SVE]		= { "sve",		"aarch64" },
};

/* Filled once by detect(); read-only afterwards. */
static bool cpu_has[PEP_CPU_FEATURE_COUNT];
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)

/* CPUID leaf 1, ECX */
#define X86_1C_SSE41		(1u << 19)
#define X86_1C_FMA		(1u << 12)
#define X86_1C_OSXSAVE		(1u << 27)
#define X86_1C_AVX		(1u << 28)
#define X86_1C_F16C		(1u << 29)
/* CPUID leaf 7 subleaf 0, EBX and ECX; subleaf 1, EAX */
#define X86_70B_AVX2		(1u << 5)
#define X86_70B_AVX512F		(1u << 16)
#define X86_70B_AVX512BW	(1u << 30)
#define X86_70B_AVX512VL	(1u << 31)
#define X86_70C_AVX512VNNI	(1u << 11)
#define X86_71A_AVX512BF16	(1u << 5)
/* XCR0: SSE and upper-YMM state; AVX-512 adds opmask, ZMM_Hi256, Hi16_ZMM */
#define X86_XCR0_AVX		0x06u
#define X86_XCR0_AVX512		0xe6u

/* Encoded as an instruction so no -mxsave is needed to build this file. */
static uint64_t xgetbv0(void)
{
	uint32_t eax, edx;

	__asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
	return ((uint64_t)edx << 32) | eax;
}

/* Leaf 7: AVX2 needs the YMM state saved; the AVX-512 family the ZMM state. */
static void detect_x86_leaf7(bool avx_os, bool avx512_os)
{
	unsigned int eax, ebx, ecx, edx, max_subleaf;
	bool f;

	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return;
	max_subleaf = eax;
	f = avx512_os && (ebx & X86_70B_AVX512F);
	cpu_has[PEP_CPU_AVX2] = avx_os && (ebx & X86_70B_AVX2);
	cpu_has[PEP_CPU_AVX512F] = f;
	cpu_has[PEP_CPU_AVX512BW] = f && (ebx & X86_70B_AVX512BW);
	cpu_has[PEP_CPU_AVX512VL] = f && (ebx & X86_70B_AVX512VL);
	cpu_has[PEP_CPU_AVX512VNNI] = f && (ecx & X86_70C_AVX512VNNI);
	/* Subleaf 1 is only defined when subleaf 0 says it exists. */
	if (max_subleaf < 1 || !__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
		return;
	cpu_has[PEP_CPU_AVX512BF16] = f && (eax & X86_71A_AVX512BF16);
}

static void detect(void)
{
	unsigned int eax, ebx, ecx, edx;
	uint64_t xcr0 = 0;
	bool avx_os, avx512_os;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return;
	/* XGETBV is an invalid opcode unless the OS set CR4.OSXSAVE. */
	if (ecx & X86_1C_OSXSAVE)
		xcr0 = xgetbv0();
	avx_os = (ecx & X86_1C_AVX) && (xcr0 & X86_XCR0_AVX) == X86_XCR0_AVX;
	avx512_os = avx_os && (xcr0 & X86_XCR0_AVX512) == X86_XCR0_AVX512;
	cpu_has[PEP_CPU_SSE41] = ecx & X86_1C_SSE41;
	/* FMA and F16C operate on YMM registers too. */
	cpu_has[PEP_CPU_FMA] = avx_os && (ecx & X86_1C_FMA);
	cpu_has[PEP_CPU_F16C] = avx_os && (ecx & X86_1C_F16C);
	detect_x86_leaf7(avx_os, avx512_os);
}

#elif defined(__aarch64__)

/* Values from the kernel's arch/arm64/include/uapi/asm/hwcap.h. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD		(1UL << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP		(1UL << 9)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP		(1UL << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP		(1UL << 20)
#endif
#ifndef HWCAP_SVE
#define HWCAP_SVE		(1UL << 22)
#endif

static void detect(void)
{
	unsigned long hwcap = getauxval(AT_HWCAP);

	cpu_has[PEP_CPU_ASIMD] = hwcap & HWCAP_ASIMD;
	/* fp16 kernels use scalar (FPHP) and vector (ASIMDHP) forms. */
	cpu_has[PEP_CPU_FP16] = (hwcap & HWCAP_FPHP) && (hwcap & HWCAP_ASIMDHP);
	cpu_has[PEP_CPU_DOTPROD] = hwcap & HWCAP_ASIMDDP;
	cpu_has[PEP_CPU_SVE] = hwcap & HWCAP_SVE;
}

#else

/* Unknown architecture: no optional features, the scalar paths only. */
static void detect(void)
{
}

#endif

static bool feature_valid(enum pep_cpu_feature feature)
{
	/* The cast also rejects negative values a caller may pass in. */
	return (unsigned int)feature < PEP_CPU_FEATURE_COUNT;
}

PEP_API int pep_cpu_has(enum pep_cpu_feature feature)
{
	if (!feature_valid(feature))
		return 0;
	pthread_once(&cpu_once, detect);
	return cpu_has[feature];
}

PEP_API const char *pep_cpu_feature_name(enum pep_cpu_feature feature)
{
	return feature_valid(feature) ? feature_info[feature].name : "unknown";
}

PEP_API const char *pep_cpu_feature_arch(enum pep_cpu_feature feature)
{
	return feature_valid(feature) ? feature_info[feature].arch : NULL;
}

PEP_API const char *pep_cpu_arch(void)
{
	return CPU_ARCH;
}
