/* SPDX-License-Identifier: GPL-2.0 */
/* A cut-down btf.h: the flags the fixture's sets use. */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H 1

#define KF_ACQUIRE	(1 << 0) /* kfunc is an acquire function */
#define KF_RELEASE	(1 << 1) /* kfunc is a release function */
#define KF_RET_NULL	(1 << 2) /* kfunc returns a pointer that may be NULL */
#define KF_TRUSTED_ARGS (1 << 4)
#define KF_SLEEPABLE    (1 << 5)
#define KF_RCU          (1 << 7)

struct btf_kfunc_id_set {
	struct module *owner;
	struct btf_id_set8 *set;
	btf_kfunc_filter_t filter;
};

int register_btf_kfunc_id_set(enum bpf_prog_type prog_type,
			      const struct btf_kfunc_id_set *s);

#endif
