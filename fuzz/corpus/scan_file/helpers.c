// SPDX-License-Identifier: GPL-2.0-only
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc_start_defs();

/**
 * bpf_task_acquire - Acquire a reference to a task.
 * @p: The task on which a reference is being acquired.
 */
__bpf_kfunc struct task_struct *bpf_task_acquire(struct task_struct *p)
{
	if (refcount_inc_not_zero(&p->rcu_users))
		return p;
	return NULL;
}

/**
 * bpf_task_release - Release the reference acquired on a task.
 * @p: The task on which a reference is being released.
 */
__bpf_kfunc void bpf_task_release(struct task_struct *p)
{
	put_task_struct_rcu_user(p);
}

__bpf_kfunc void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset,
				   void *buffer__opt, u32 buffer__szk)
{
	return NULL;
}

__bpf_kfunc int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)
{
	return 0;
}

__bpf_kfunc int *bpf_iter_num_next(struct bpf_iter_num *it)
{
	return NULL;
}

__bpf_kfunc void bpf_iter_num_destroy(struct bpf_iter_num *it)
{
}

#ifdef CONFIG_CGROUPS
__bpf_kfunc struct cgroup *bpf_cgroup_acquire(struct cgroup *cgrp)
{
	return cgroup_tryget(cgrp) ? cgrp : NULL;
}
#else
__bpf_kfunc struct cgroup *bpf_cgroup_acquire(struct cgroup *cgrp)
{
	return NULL;
}
#endif

/* A multi-line prototype, a function-pointer parameter written the way the
 * kernel writes bpf_wq_set_callback, and an implicit argument (upstream
 * convention): BPF programs call bpf_wq_set_callback(wq, cb, flags). */
__bpf_kfunc int bpf_wq_set_callback(struct bpf_wq *wq,
				    int (callback_fn)(void *map, int *key, void *value),
				    unsigned int flags,
				    struct bpf_prog_aux *aux)
{
	return 0;
}

/* The legacy form: already defined in the source, so it must not be emitted
 * a second time. Its last argument is __ign and it is not flagged. */
__bpf_kfunc int bpf_wq_set_callback_impl(struct bpf_wq *wq,
					 int (callback_fn)(void *map, int *key, void *value),
					 unsigned int flags,
					 void *aux__ign)
{
	return bpf_wq_set_callback(wq, callback_fn, flags, aux__ign);
}

/**
 * bpf_obj_new - Allocate an object of a program-defined type.
 * @local_type_id: BTF id of the type, known to the verifier.
 * @meta: supplied by the verifier.
 * @aux: supplied by the verifier.
 *
 * Return: the object, or NULL.
 */
__bpf_kfunc void *bpf_obj_new(u64 local_type_id,
			      const struct btf_struct_meta *meta,
			      struct bpf_prog_aux *aux)
{
	return NULL;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(generic_btf_ids)
BTF_ID_FLAGS(func, bpf_task_acquire, KF_ACQUIRE | KF_RCU | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_task_release, KF_RELEASE)
#ifdef CONFIG_CGROUPS
BTF_ID_FLAGS(func, bpf_cgroup_acquire, KF_ACQUIRE | KF_RCU | KF_RET_NULL)
#endif
BTF_ID_FLAGS(func, bpf_obj_new, KF_ACQUIRE | KF_RET_NULL | KF_IMPLICIT_ARGS)
BTF_KFUNCS_END(generic_btf_ids)

static const struct btf_kfunc_id_set generic_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &generic_btf_ids,
};

BTF_KFUNCS_START(common_btf_ids)
BTF_ID_FLAGS(func, bpf_dynptr_slice, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_iter_num_new, KF_ITER_NEW)
BTF_ID_FLAGS(func, bpf_iter_num_next,
	     KF_ITER_NEXT | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_iter_num_destroy, KF_ITER_DESTROY)
#if IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)
BTF_ID_FLAGS(func, bpf_wq_set_callback, KF_IMPLICIT_ARGS)
BTF_ID_FLAGS(func, bpf_wq_set_callback_impl)
#elif defined(CONFIG_BPF_WQ_LEGACY)
BTF_ID_FLAGS(func, bpf_wq_set_callback_impl)
#endif
BTF_KFUNCS_END(common_btf_ids)

static const struct btf_kfunc_id_set common_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &common_btf_ids,
};

static int __init kfunc_init(void)
{
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &generic_kfunc_set);
	ret = ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &generic_kfunc_set);
	ret = ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP,
					       &generic_kfunc_set);
	return ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC, &common_kfunc_set);
}

late_initcall(kfunc_init);
