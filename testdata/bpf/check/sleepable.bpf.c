// Calls a KF_SLEEPABLE kfunc from a program that is not sleepable
// (tp_btf): the verifier refuses it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_copy_from_user_str(void *dst, u32 dst__sz, const void *unsafe_ptr__ign, u64 flags) __ksym;

char buf[16];

SEC("tp_btf/task_newtask")
int sleepable_prog(u64 *ctx)
{
	return bpf_copy_from_user_str(buf, sizeof(buf), (void *)ctx[1], 0);
}

char LICENSE[] SEC("license") = "GPL";
