// Linux 7.x: a syscall program calling the out-of-tree module's
// implicit-argument kfunc (extmod-7/) by its reduced name, one argument;
// without the pair its BTF keeps both and libbpf refuses the call. It
// prints the result through its BPF stdout stream, as kfunc-prog-7.bpf.c.
extern unsigned long long kfunc_scan_ext_aux(unsigned long long a)
	__attribute__((section(".ksyms")));
extern int bpf_stream_vprintk(int stream_id, const char *fmt__str, const void *args,
			      unsigned int len__sz) __attribute__((section(".ksyms")));

__attribute__((section("syscall"), used)) int kfunc_prog(void *ctx)
{
	static const char fmt[] = "kfunc-scan: kfunc_scan_ext_aux(41) says %d\n";
	unsigned long long args[1] = { kfunc_scan_ext_aux(41) };

	/* 1: BPF_STDOUT */
	return bpf_stream_vprintk(1, fmt, args, sizeof(args));
}

char _license[] __attribute__((section("license"), used)) = "GPL";
