// SPDX-License-Identifier: GPL-2.0
/*
 * An out-of-tree module (make M=) with a kfunc set, for scripts/kernel-e2e.sh:
 * the hook scans this directory against the kernel tree and tags the
 * module's kfunc in its split BTF; a syscall program then calls it.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>

__bpf_kfunc_start_defs();

__bpf_kfunc u64 kfunc_scan_ext_add(u64 a, u64 b)
{
	return a + b;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(kfunc_scan_ext_ids)
BTF_ID_FLAGS(func, kfunc_scan_ext_add)
BTF_KFUNCS_END(kfunc_scan_ext_ids)

static const struct btf_kfunc_id_set kfunc_scan_ext_set = {
	.owner = THIS_MODULE,
	.set = &kfunc_scan_ext_ids,
};

static int __init kfunc_scan_ext_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfunc_scan_ext_set);
}

static void __exit kfunc_scan_ext_exit(void)
{
}

module_init(kfunc_scan_ext_init);
module_exit(kfunc_scan_ext_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kfunc-scan's out-of-tree module test");
