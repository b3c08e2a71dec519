// SPDX-License-Identifier: GPL-2.0
/* Every mistake the scanner reports, one each. */
#include <linux/btf.h>

__bpf_kfunc int broken_unknown_flag(int a) { return a; }
__bpf_kfunc int broken_no_magic(int a) { return a; }
__bpf_kfunc int broken_not_trailing(struct bpf_prog_aux *aux__magic, int a) { return a; }
__bpf_kfunc int broken_unflagged(int a, void *p__magic) { return a; }
__bpf_kfunc int broken_inconsistent(int a, struct bpf_prog_aux *aux) { return a; }
__bpf_kfunc int broken_unlisted(int a, struct bpf_prog_aux *aux__magic) { return a; }

BTF_KFUNCS_START(broken_ids)
BTF_ID_FLAGS(func, broken_unknown_flag, KF_NOT_A_FLAG)
BTF_ID_FLAGS(func, broken_no_magic, KF_MAGIC_ARGS)
BTF_ID_FLAGS(func, broken_not_trailing, KF_MAGIC_ARGS)
BTF_ID_FLAGS(func, broken_unflagged)
BTF_ID_FLAGS(func, broken_inconsistent, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, broken_missing_definition)
BROKEN_XMACRO_LIST
BTF_KFUNCS_END(broken_ids)

BTF_KFUNCS_START(broken_other_ids)
BTF_ID_FLAGS(func, broken_inconsistent)
BTF_ID_FLAGS(func, broken_unlisted, KF_MAGIC_ARGS)
BTF_KFUNCS_END(broken_wrong_name)

BTF_ID_FLAGS(func, broken_stray, KF_ACQUIRE)

static const struct btf_kfunc_id_set broken_set = {
	.set = &broken_ids,
};

static int __init broken_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_LSM, &broken_set) ?:
	       register_btf_kfunc_id_set(BPF_PROG_TYPE_LSM, &no_such_set);
}
