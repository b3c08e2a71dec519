// Both names of an `_impl` pair: `bpf_wq_set_callback` as programs call it
// where the verifier supplies the last argument (KF_IMPLICIT_ARGS), and
// `bpf_wq_set_callback_impl` with every argument, as older kernels have it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct elem {
	struct bpf_wq w;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct elem);
} wqs SEC(".maps");

extern int bpf_wq_set_callback(struct bpf_wq *wq,
			       int (callback_fn)(void *map, int *key, void *value),
			       unsigned int flags) __ksym;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq,
				    int (callback_fn)(void *map, int *key, void *value),
				    unsigned int flags, void *aux__ign) __ksym;

static int cb(void *map, int *key, void *value)
{
	return 0;
}

SEC("tc")
int reduced(void *ctx)
{
	int k = 0;
	struct elem *e = bpf_map_lookup_elem(&wqs, &k);

	return e ? bpf_wq_set_callback(&e->w, cb, 0) : 0;
}

SEC("tc")
int full(void *ctx)
{
	int k = 0;
	struct elem *e = bpf_map_lookup_elem(&wqs, &k);

	return e ? bpf_wq_set_callback_impl(&e->w, cb, 0, NULL) : 0;
}

char LICENSE[] SEC("license") = "GPL";
