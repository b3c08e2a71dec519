// SPDX-License-Identifier: GPL-2.0
/* Sets filled by macros: object-like, function-like, a list macro from a
 * header with its item macro defined just before the set, a nested list,
 * token pasting, a use under #ifdef, and the uses that cannot be read. */
#include <linux/btf.h>
#include <net/xm.h>

__bpf_kfunc int xm_plain(void) { return 0; }
__bpf_kfunc int xm_object(void) { return 0; }
__bpf_kfunc int xm_function(int a) { return a; }
__bpf_kfunc int xm_list_one(void) { return 0; }
__bpf_kfunc int xm_list_two(void) { return 0; }
__bpf_kfunc int xm_more(void) { return 0; }
__bpf_kfunc int xm_pasted(void) { return 0; }
__bpf_kfunc int xm_cond(void) { return 0; }

#define XM_OBJECT BTF_ID_FLAGS(func, xm_object, KF_ACQUIRE)
#define XM_ENTRY(name, flags) BTF_ID_FLAGS(func, name, flags)
#define XM_PASTE(suffix) XM_ENTRY(xm_##suffix, KF_SLEEPABLE)

BTF_KFUNCS_START(xm_ids)
BTF_ID_FLAGS(func, xm_plain)
XM_OBJECT
XM_ENTRY(xm_function, KF_RELEASE | KF_RET_NULL)
#define XM_ITEM(_, name, flags) BTF_ID_FLAGS(func, name, flags)
XM_LIST_xxx
XM_PASTE(pasted)
#ifdef CONFIG_XM_COND
XM_ENTRY(xm_cond,
	 KF_TRUSTED_ARGS)
#endif
#undef XM_ITEM
BTF_KFUNCS_END(xm_ids)

/* a list of lists, one of them from a header xm.h includes */
BTF_KFUNCS_START(xm_nested_ids)
#define XM_ITEM(_, name, flags) BTF_ID_FLAGS(func, name, flags)
XM_ALL_xxx
#undef XM_ITEM
BTF_KFUNCS_END(xm_nested_ids)

static const struct btf_kfunc_id_set xm_set = {
	.set = &xm_ids,
};

static const struct btf_kfunc_id_set xm_nested_set = {
	.set = &xm_nested_ids,
};

static int __init xm_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &xm_set) ?:
	       register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &xm_nested_set);
}
