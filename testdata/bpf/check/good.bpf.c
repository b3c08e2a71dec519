// Calls existing kfuncs correctly from a program type that may call them,
// and a __weak kfunc no kernel has, behind bpf_ksym_exists(): loads.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_kfunc_scan_no_such_kfunc(int x) __ksym __weak;

SEC("tp_btf/task_newtask")
int good_prog(u64 *ctx)
{
	struct task_struct *t = bpf_task_acquire((struct task_struct *)ctx[0]);

	if (t)
		bpf_task_release(t);
	if (bpf_ksym_exists(bpf_kfunc_scan_no_such_kfunc))
		bpf_kfunc_scan_no_such_kfunc(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
