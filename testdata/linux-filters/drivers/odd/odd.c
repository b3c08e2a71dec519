// SPDX-License-Identifier: GPL-2.0
/* A filter kfunc-scan cannot read (a local variable): the set is shown as
 * restricted by it, never as unrestricted. */
#include <linux/btf.h>

__bpf_kfunc_start_defs();

__bpf_kfunc int bpf_odd_thing(struct xdp_md *ctx)
{
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(odd_ids)
BTF_ID_FLAGS(func, bpf_odd_thing)
BTF_KFUNCS_END(odd_ids)

static int odd_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	int allowed = odd_policy(prog);

	return allowed ? 0 : -EACCES;
}

static const struct btf_kfunc_id_set odd_set = {
	.owner = THIS_MODULE,
	.set = &odd_ids,
	.filter = odd_filter,
};

static int __init odd_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &odd_set);
}
