// SPDX-License-Identifier: GPL-2.0
/* The magic-kfuncs proposal: KF_MAGIC_ARGS, `__magic` names, and the
 * verifier's table of (foo, foo_impl) pairs. */
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc_start_defs();

/**
 * bpf_mini_printk - Print to a stream.
 * @stream_id: the stream.
 * @fmt__str: a constant format string.
 * @args: the arguments.
 * @len__sz: their size.
 * @aux__magic: the calling program, supplied by the verifier.
 */
__bpf_kfunc int bpf_mini_printk(int stream_id, const char *fmt__str, const void *args,
				u32 len__sz, struct bpf_prog_aux *aux__magic)
{
	return 0;
}

__bpf_kfunc u64 bpf_mini_two(u64 x, void *cookie__magic,
			     struct bpf_mini_ctx *ctx__magic)
{
	return x;
}

__bpf_kfunc __must_check long bpf_mini_plain(struct sk_buff *skb__nullable, unsigned long flags__k)
{
	return 0;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(mini_magic_ids)
BTF_ID_FLAGS(func, bpf_mini_printk, KF_MAGIC_ARGS | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_mini_two, KF_MAGIC_ARGS)
BTF_ID_FLAGS(func, bpf_mini_plain, KF_SLEEPABLE | KF_FASTCALL)
BTF_ID_FLAGS(func, bpf_mini_inline)
BTF_KFUNCS_END(mini_magic_ids)

BTF_ID_LIST(magic_kfuncs)
BTF_ID(func, bpf_mini_printk)
BTF_ID(func, bpf_mini_printk_impl)
BTF_ID(func, bpf_mini_two)
BTF_ID(func, bpf_mini_two_impl)
BTF_ID(func, bpf_mini_plain)
BTF_ID(func, bpf_mini_plain_impl)

static int mini_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	return 0;
}

static const struct btf_kfunc_id_set mini_magic_set = {
	.owner  = THIS_MODULE,
	.set    = &mini_magic_ids,
	.filter = mini_filter,
};

/* fmod_ret targets: a set8 whose member is defined elsewhere, without
 * __bpf_kfunc (net/core/sock.c). */
BTF_SET8_START(mini_fmodret_ids)
BTF_ID_FLAGS(func, update_socket_protocol)
BTF_SET8_END(mini_fmodret_ids)

static const struct btf_kfunc_id_set mini_fmodret_set = {
	.owner = THIS_MODULE,
	.set   = &mini_fmodret_ids,
};

static int __init mini_init(void)
{
	int ret;

	ret = register_btf_fmodret_id_set(&mini_fmodret_set);
	if (ret)
		return ret;
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &mini_magic_set) ?:
	       register_btf_kfunc_id_set(BPF_PROG_TYPE_STRUCT_OPS, &mini_magic_set);
}
late_initcall(mini_init);
