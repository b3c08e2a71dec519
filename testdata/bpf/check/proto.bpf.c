// Declares bpf_task_acquire with a second parameter: libbpf finds the
// kernel's FUNC but its prototype incompatible.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern struct task_struct *bpf_task_acquire(struct task_struct *p, int extra) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

SEC("tp_btf/task_newtask")
int proto_prog(u64 *ctx)
{
	struct task_struct *t = bpf_task_acquire((struct task_struct *)ctx[0], 1);

	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
