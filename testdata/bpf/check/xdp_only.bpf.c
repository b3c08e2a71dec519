// Calls an XDP-only kfunc from a tracing program (tp_btf): the verifier
// says it is not allowed.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_xdp(struct xdp_md *x, u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;

SEC("tp_btf/task_newtask")
int xdp_only_prog(u64 *ctx)
{
	struct bpf_dynptr p;

	return bpf_dynptr_from_xdp((struct xdp_md *)ctx[0], 0, &p);
}

char LICENSE[] SEC("license") = "GPL";
