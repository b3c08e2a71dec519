// Linux 7.x: a syscall program calling bpf_stream_vprintk by its reduced
// name, the prototype BPF programs see once the kernel's BTF pairs it with
// bpf_stream_vprintk_impl (which also takes the verifier-supplied struct
// bpf_prog_aux *). Without the pair, vmlinux's bpf_stream_vprintk keeps the
// full five-argument prototype and libbpf refuses this four-argument call.
// The body is the selftests' bpf_stream_printk(BPF_STDOUT, ...) spelled out
// (tools/lib/bpf/bpf_helpers.h), so that no 7.x header is needed here.
extern int bpf_stream_vprintk(int stream_id, const char *fmt__str, const void *args,
			      unsigned int len__sz) __attribute__((section(".ksyms")));

__attribute__((section("syscall"), used)) int kfunc_prog(void *ctx)
{
	static const char fmt[] = "kfunc-scan: bpf_stream_vprintk says %d\n";
	unsigned long long args[1] = { 42 };

	/* 1: BPF_STDOUT (enum bpf_stream_id, not in bookworm's headers) */
	return bpf_stream_vprintk(1, fmt, args, sizeof(args));
}

char _license[] __attribute__((section("license"), used)) = "GPL";
