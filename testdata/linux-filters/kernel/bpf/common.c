// SPDX-License-Identifier: GPL-2.0
/* A set on the common hook: every program type of enum bpf_prog_type. */
#include <linux/btf.h>

__bpf_kfunc_start_defs();

/* bpf_common_thing - Count a thing. Any program may.
 * @n: How many.
 *
 * Return: The count so far.
 */
__bpf_kfunc int bpf_common_thing(int n)
{
	return n;
}

/* Not kernel-doc: a plain comment about something else. */
__bpf_kfunc int bpf_common_other(int n)
{
	return n;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(common_ids)
BTF_ID_FLAGS(func, bpf_common_thing)
BTF_ID_FLAGS(func, bpf_common_other)
BTF_KFUNCS_END(common_ids)

static const struct btf_kfunc_id_set common_set = {
	.owner = THIS_MODULE,
	.set   = &common_ids,
};

static int __init common_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &common_set);
}
