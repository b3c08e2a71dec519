// SPDX-License-Identifier: GPL-2.0
/*
 * An out-of-tree module (make M=) for Linux 7.x, for scripts/kernel-e2e-7.sh:
 * a kfunc whose last argument the verifier supplies (KF_IMPLICIT_ARGS, the
 * calling program's struct bpf_prog_aux *). Its BTF must pair
 * kfunc_scan_ext_aux (what programs call: one argument) with
 * kfunc_scan_ext_aux_impl (the full prototype); with the hook, kfunc-scan
 * makes the pair from this directory's source.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>

__bpf_kfunc_start_defs();

__bpf_kfunc u64 kfunc_scan_ext_aux(u64 a, struct bpf_prog_aux *aux)
{
	/* the verifier passes the calling program's aux: never NULL */
	return aux ? a + 1 : 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(kfunc_scan_ext7_ids)
BTF_ID_FLAGS(func, kfunc_scan_ext_aux, KF_IMPLICIT_ARGS)
BTF_KFUNCS_END(kfunc_scan_ext7_ids)

static const struct btf_kfunc_id_set kfunc_scan_ext7_set = {
	.owner = THIS_MODULE,
	.set = &kfunc_scan_ext7_ids,
};

static int __init kfunc_scan_ext7_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &kfunc_scan_ext7_set);
}

static void __exit kfunc_scan_ext7_exit(void)
{
}

module_init(kfunc_scan_ext7_init);
module_exit(kfunc_scan_ext7_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kfunc-scan's out-of-tree module test, Linux 7.x");
