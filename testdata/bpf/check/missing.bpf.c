// Calls a kfunc no kernel has, without __weak: libbpf refuses the object.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_kfunc_scan_no_such_kfunc(int x) __ksym;

SEC("tp_btf/task_newtask")
int missing_prog(u64 *ctx)
{
	return bpf_kfunc_scan_no_such_kfunc(1);
}

char LICENSE[] SEC("license") = "GPL";
