// Declares bpf_copy_from_user_str with its integer parameters' sizes
// swapped (u64 size, u32 flags): libbpf compares kinds, not sizes, so the
// prototype is compatible and the program loads (syscall programs sleep).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_copy_from_user_str(void *dst, u64 dst__sz, const void *unsafe_ptr__ign, u32 flags) __ksym;

char buf[16];

SEC("syscall")
int int_sizes_prog(u64 *ctx)
{
	return bpf_copy_from_user_str(buf, sizeof(buf), (void *)ctx[1], 0);
}

char LICENSE[] SEC("license") = "GPL";
