/*
 * KVM on the running kernel: a VM with one page of real-mode code and one
 * vCPU that computes a value, writes it to an I/O port and halts. Checks
 * the port exit, the HLT exit and the register. Skips without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define GUEST_CODE_GPA 0x1000

/*
 * mov ax, 0x1234 ; add ax, 0x0042 ; out 0x10, al ; hlt
 * ax ends as 0x1276; the port sees 0x76.
 */
static const uint8_t guest_code[] = {
	0xb8, 0x34, 0x12,
	0x05, 0x42, 0x00,
	0xe6, 0x10,
	0xf4,
};

/* A KVM_RUN that never returns is a finding, not a hang: see run_vcpu(). */
#define RUN_WATCHDOG_S 10

struct vm {
	int kvm, vm, vcpu;
	void *mem;
	struct kvm_run *run;
	size_t run_size;
};

static int setup_vm(struct vm *v)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = GUEST_CODE_GPA, .memory_size = 4096,
	};
	int mmap_size;

	CHECK(ioctl(v->kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION);
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	CHECK(v->vm >= 0);
	v->mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(v->mem != MAP_FAILED);
	memcpy(v->mem, guest_code, sizeof(guest_code));
	region.userspace_addr = (uintptr_t)v->mem;
	CHECK(ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) == 0);
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	CHECK(v->vcpu >= 0);
	mmap_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(mmap_size >= (int)sizeof(struct kvm_run));
	v->run_size = (size_t)mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	CHECK(v->run != MAP_FAILED);
	return T_PASS;
}

/* Real mode at 0000:1000: flat code segment, 16-bit. */
static int setup_vcpu(struct vm *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_CODE_GPA, .rflags = 0x2 };

	CHECK(ioctl(v->vcpu, KVM_GET_SREGS, &sregs) == 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	CHECK(ioctl(v->vcpu, KVM_SET_SREGS, &sregs) == 0);
	CHECK(ioctl(v->vcpu, KVM_SET_REGS, &regs) == 0);
	return T_PASS;
}

static void on_alarm(int sig)
{
	(void)sig;	/* only to interrupt KVM_RUN with EINTR */
}

/*
 * KVM_RUN under a watchdog. A guest that makes no progress (seen when the
 * host kernel could not calibrate its TSC) keeps KVM_RUN from returning;
 * the alarm turns that into EINTR and a report of where the guest was.
 */
static int run_vcpu(struct vm *v)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval arm = { .it_value = { .tv_sec = RUN_WATCHDOG_S } };
	struct itimerval disarm = { 0 };
	struct kvm_regs regs;
	int ret, saved;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &arm, NULL);
	ret = ioctl(v->vcpu, KVM_RUN, 0);
	saved = errno;
	setitimer(ITIMER_REAL, &disarm, NULL);
	if (ret < 0 && saved == EINTR && ioctl(v->vcpu, KVM_GET_REGS, &regs) == 0)
		fprintf(stderr, "KVM_RUN: no exit within %d s; guest rip 0x%llx\n",
			RUN_WATCHDOG_S, (unsigned long long)regs.rip);
	else if (ret < 0)
		fprintf(stderr, "KVM_RUN: %s\n", strerror(saved));
	return ret;
}

static int run_guest(struct vm *v)
{
	struct kvm_regs regs;
	uint8_t port_value;

	CHECK(run_vcpu(v) == 0);
	if (v->run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "first exit: reason %u, want KVM_EXIT_IO\n",
			v->run->exit_reason);
		return T_FAIL;
	}
	CHECK(v->run->io.direction == KVM_EXIT_IO_OUT && v->run->io.port == 0x10);
	CHECK(v->run->io.size == 1 && v->run->io.count == 1);
	port_value = *((uint8_t *)v->run + v->run->io.data_offset);
	CHECK(port_value == 0x76);
	CHECK(run_vcpu(v) == 0);
	if (v->run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "second exit: reason %u, want KVM_EXIT_HLT\n",
			v->run->exit_reason);
		return T_FAIL;
	}
	CHECK(ioctl(v->vcpu, KVM_GET_REGS, &regs) == 0);
	CHECK((regs.rax & 0xffff) == 0x1276);
	CHECK(regs.rip == GUEST_CODE_GPA + sizeof(guest_code));
	printf("guest wrote 0x%02x to port 0x10, halted with ax=0x%04llx\n",
	       port_value, (unsigned long long)(regs.rax & 0xffff));
	return T_PASS;
}

static int test_real_mode_hlt(void)
{
	struct vm v = { .vm = -1, .vcpu = -1, .mem = MAP_FAILED, .run = MAP_FAILED };
	int rc;

	v.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v.kvm < 0) {
		printf("SKIP: open /dev/kvm: %s\n", strerror(errno));
		return T_SKIP;
	}
	rc = setup_vm(&v);
	if (rc == T_PASS)
		rc = setup_vcpu(&v);
	if (rc == T_PASS)
		rc = run_guest(&v);
	if (v.run != MAP_FAILED)
		munmap(v.run, v.run_size);
	if (v.mem != MAP_FAILED)
		munmap(v.mem, 4096);
	if (v.vcpu >= 0)
		close(v.vcpu);
	if (v.vm >= 0)
		close(v.vm);
	close(v.kvm);
	return rc;
}

int main(void)
{
	int rc = T_PASS;

	if (access("/dev/kvm", F_OK) != 0) {
		printf("SKIP: no /dev/kvm (no KVM, or virtualization not exposed)\n");
		return T_SKIP;
	}
	if (t_run("real_mode_hlt", test_real_mode_hlt, &rc) == T_SKIP)
		return T_SKIP;
	return rc;
}
