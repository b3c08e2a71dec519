// SPDX-License-Identifier: GPL-2.0
/* A BPF_PROG_TYPE_SYSCALL program calling seven kfuncs, with an open-coded
 * iterator's state on its stack. Built two ways by tests/header_btf.rs:
 *
 *   -DKFUNCS_H='"kfuncs.h"'                      the header `kfunc-scan header
 *                                                --btf` wrote: no vmlinux.h
 *   -DWITH_VMLINUX_H -DKFUNCS_H='"kfuncs.h"'     a bpftool vmlinux.h, then the
 *                                                header of a manifest
 */
#ifdef WITH_VMLINUX_H
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif
#include KFUNCS_H
#include <bpf/bpf_helpers.h>

int found;
int sum;

SEC("syscall")
int kfuncs_syscall(void *ctx)
{
	struct bpf_iter_num it;
	struct task_struct *t;
	int *v;

	bpf_rcu_read_lock();
	t = bpf_task_from_pid(1);
	if (t) {
		found = 1;
		bpf_task_release(t);
	}
	bpf_rcu_read_unlock();

	bpf_iter_num_new(&it, 0, 10);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return 0;
}

char _license[] SEC("license") = "GPL";
