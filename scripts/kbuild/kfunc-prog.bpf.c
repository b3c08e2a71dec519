// A syscall program calling two kfuncs of 6.12's generic set: the verifier
// finds them, and their prototypes, in the patched vmlinux BTF.
// a body, not a forward declaration: libbpf matches a kfunc's prototype
// kind by kind, and the kernel's is a STRUCT
struct task_struct {
	int pid;
};
extern struct task_struct *bpf_task_from_pid(int pid) __attribute__((section(".ksyms")));
extern void bpf_task_release(struct task_struct *p) __attribute__((section(".ksyms")));

__attribute__((section("syscall"), used)) int kfunc_prog(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(1);

	if (t)
		bpf_task_release(t);
	return 0;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
