// SPDX-License-Identifier: GPL-2.0
/* A set naming a member defined without __bpf_kfunc elsewhere (lk_hook, in
 * net/lk/hook.c) and a KF_IMPLICIT_ARGS kfunc without an _impl partner, as
 * upstream trees have them. */
#include <linux/btf.h>
#include <linux/lk.h>

__bpf_kfunc int lk_implicit(int a, struct bpf_prog_aux *aux)
{
	return a;
}

BTF_KFUNCS_START(lk_ids)
BTF_ID_FLAGS(func, lk_implicit, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, lk_hook)
BTF_KFUNCS_END(lk_ids)
