// SPDX-License-Identifier: GPL-2.0
/* LSM only, as fs/bpf_fs_kfuncs.c: registered for LSM, whose hook TRACING
 * programs share, and narrowed back to LSM by the filter. */
#include <linux/btf.h>

__bpf_kfunc_start_defs();

/**
 * bpf_lsm_thing() - Look at a file from an LSM hook.
 * @file: The file.
 *
 * Return: 0.
 */
__bpf_kfunc int bpf_lsm_thing(struct file *file)
{
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(lsm_ids)
BTF_ID_FLAGS(func, bpf_lsm_thing, KF_SLEEPABLE | KF_TRUSTED_ARGS)
BTF_KFUNCS_END(lsm_ids)

static int lsm_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	if (!btf_id_set8_contains(&lsm_ids, kfunc_id) ||
	    prog->type == BPF_PROG_TYPE_LSM)
		return 0;
	return -EACCES;
}

static const struct btf_kfunc_id_set lsm_set = {
	.owner = THIS_MODULE,
	.set = &lsm_ids,
	.filter = lsm_filter,
};

static int __init lsm_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_LSM, &lsm_set);
}
