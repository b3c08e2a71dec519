// A syscall program calling the out-of-tree module's kfunc (extmod/): libbpf
// finds it in the module's split BTF, which the hook patched.
extern unsigned long long kfunc_scan_ext_add(unsigned long long a,
					     unsigned long long b)
	__attribute__((section(".ksyms")));

__attribute__((section("syscall"), used)) int kfunc_prog(void *ctx)
{
	return kfunc_scan_ext_add(40, 2) == 42 ? 0 : 1;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
