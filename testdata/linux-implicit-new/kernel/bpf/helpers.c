// SPDX-License-Identifier: GPL-2.0-only
/* After the implicit-arguments transition: KF_IMPLICIT_ARGS kfuncs take
 * `struct bpf_prog_aux *aux`, BPF programs call them without it, and the
 * build keeps the _impl names in BTF with the full prototype. */
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc_start_defs();

__bpf_kfunc int bpf_wq_set_callback(struct bpf_wq *wq,
				    int (callback_fn)(void *map, int *key, void *value),
				    unsigned int flags,
				    struct bpf_prog_aux *aux)
{
	return 0;
}

__bpf_kfunc int bpf_wq_start(struct bpf_wq *wq, unsigned int flags)
{
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(common_btf_ids)
BTF_ID_FLAGS(func, bpf_wq_set_callback, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, bpf_wq_start)
BTF_KFUNCS_END(common_btf_ids)

static const struct btf_kfunc_id_set common_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &common_btf_ids,
};

static int __init kfunc_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &common_kfunc_set);
}

late_initcall(kfunc_init);
