// SPDX-License-Identifier: GPL-2.0
/* Iterators only, as net/core/filter.c's bpf_sk_iter_kfunc_ids. */
#include <linux/btf.h>

__bpf_kfunc_start_defs();

__bpf_kfunc int bpf_iter_thing(struct sock *sk)
{
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(iter_ids)
BTF_ID_FLAGS(func, bpf_iter_thing, KF_TRUSTED_ARGS)
BTF_KFUNCS_END(iter_ids)

static int iter_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	if (btf_id_set8_contains(&iter_ids, kfunc_id) &&
	    prog->expected_attach_type != BPF_TRACE_ITER)
		return -EACCES;
	return 0;
}

static const struct btf_kfunc_id_set iter_set = {
	.owner = THIS_MODULE,
	.set   = &iter_ids,
	.filter = iter_filter,
};

static int init_subsystem(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &iter_set);
}
