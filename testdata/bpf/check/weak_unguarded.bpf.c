// Calls a __weak kfunc no kernel has without testing bpf_ksym_exists()
// first: libbpf resolves the extern to 0 and turns the call into a call of
// no helper, which the verifier refuses. Does not load.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern void bpf_kfunc_scan_no_such_kfunc(int x) __ksym __weak;

SEC("tp_btf/task_newtask")
int weak_unguarded_prog(u64 *ctx)
{
	bpf_kfunc_scan_no_such_kfunc(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
