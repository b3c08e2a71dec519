// SPDX-License-Identifier: GPL-2.0
/* Kprobe sessions only, through a one-line helper, as
 * kernel/trace/bpf_trace.c. */
#include <linux/btf.h>

static inline bool is_session(const struct bpf_prog *prog)
{
	return prog->expected_attach_type == BPF_TRACE_KPROBE_SESSION;
}

__bpf_kfunc_start_defs();

__bpf_kfunc bool bpf_session_thing(void)
{
	return false;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(session_ids)
BTF_ID_FLAGS(func, bpf_session_thing)
BTF_KFUNCS_END(session_ids)

static int session_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	if (!btf_id_set8_contains(&session_ids, kfunc_id))
		return 0;

	if (!is_session(prog))
		return -EACCES;

	return 0;
}

static const struct btf_kfunc_id_set session_set = {
	.owner = THIS_MODULE,
	.set = &session_ids,
	.filter = session_filter,
};

static int __init session_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_KPROBE, &session_set);
}
