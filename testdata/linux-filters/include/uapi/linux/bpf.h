/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* A cut-down uapi bpf.h: fewer program and attach types than any kernel. */
#ifndef _UAPI__LINUX_BPF_H__
#define _UAPI__LINUX_BPF_H__

enum bpf_prog_type {
	BPF_PROG_TYPE_UNSPEC,
	BPF_PROG_TYPE_SOCKET_FILTER,
	BPF_PROG_TYPE_KPROBE,
	BPF_PROG_TYPE_XDP,
	BPF_PROG_TYPE_RAW_TRACEPOINT, /* no kfunc hook of its own */
	BPF_PROG_TYPE_TRACING,
	BPF_PROG_TYPE_LSM,
	BPF_PROG_TYPE_SYSCALL, // a program that can execute syscalls
	__MAX_BPF_PROG_TYPE
};

enum bpf_attach_type {
	BPF_TRACE_ITER,
	BPF_TRACE_KPROBE_MULTI,
	BPF_TRACE_KPROBE_SESSION,
	__MAX_BPF_ATTACH_TYPE
};

#endif
