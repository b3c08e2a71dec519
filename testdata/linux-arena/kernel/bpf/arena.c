// SPDX-License-Identifier: GPL-2.0-only
/* The arena kfuncs as 6.18 declares them (same prototypes and flags), one
 * more of each arena flag on a struct pointer, a KF_FASTCALL kfunc, a kfuncs
 * set registered only for fmod_ret (pahole tags it all the same) and a
 * BTF_SET8 set registered for a program type (pahole tags none of it). */
#include <linux/btf.h>
#include <linux/btf_ids.h>

struct arena_hdr {
	u64 len;
	struct arena_hdr *next;
};

__bpf_kfunc_start_defs();

__bpf_kfunc void *bpf_arena_alloc_pages(void *p__map, void *addr__ign, u32 page_cnt,
					int node_id, u64 flags)
{
	return NULL;
}

__bpf_kfunc void bpf_arena_free_pages(void *p__map, void *ptr__ign, u32 page_cnt)
{
}

__bpf_kfunc int bpf_arena_reserve_pages(void *p__map, void *ptr__ign, u32 page_cnt)
{
	return 0;
}

__bpf_kfunc u64 bpf_arena_hdr_len(struct arena_hdr *hdr, u32 off)
{
	return hdr->len - off;
}

__bpf_kfunc struct arena_hdr *bpf_arena_hdr_next(struct arena_hdr *hdr)
{
	return hdr->next;
}

__bpf_kfunc u32 bpf_arena_page_size(void)
{
	return 4096;
}

__bpf_kfunc int bpf_arena_fault_hook(int err)
{
	return err;
}

__bpf_kfunc int bpf_arena_legacy(int x)
{
	return x;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(arena_kfuncs)
BTF_ID_FLAGS(func, bpf_arena_alloc_pages, KF_TRUSTED_ARGS | KF_ARENA_RET | KF_ARENA_ARG2)
BTF_ID_FLAGS(func, bpf_arena_free_pages, KF_TRUSTED_ARGS | KF_ARENA_ARG2)
BTF_ID_FLAGS(func, bpf_arena_reserve_pages, KF_TRUSTED_ARGS | KF_ARENA_ARG2)
BTF_ID_FLAGS(func, bpf_arena_hdr_len, KF_ARENA_ARG1)
BTF_ID_FLAGS(func, bpf_arena_hdr_next, KF_ARENA_RET | KF_ARENA_ARG1 | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_arena_page_size, KF_FASTCALL)
BTF_KFUNCS_END(arena_kfuncs)

static const struct btf_kfunc_id_set common_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &arena_kfuncs,
};

BTF_KFUNCS_START(arena_fmodret_ids)
BTF_ID_FLAGS(func, bpf_arena_fault_hook)
BTF_KFUNCS_END(arena_fmodret_ids)

static const struct btf_kfunc_id_set arena_fmodret_set = {
	.owner = THIS_MODULE,
	.set   = &arena_fmodret_ids,
};

BTF_SET8_START(arena_legacy_ids)
BTF_ID_FLAGS(func, bpf_arena_legacy)
BTF_SET8_END(arena_legacy_ids)

static const struct btf_kfunc_id_set arena_legacy_set = {
	.owner = THIS_MODULE,
	.set   = &arena_legacy_ids,
};

static int __init kfunc_init(void)
{
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &common_kfunc_set);
	ret = ret ?: register_btf_fmodret_id_set(&arena_fmodret_set);
	return ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &arena_legacy_set);
}
late_initcall(kfunc_init);
