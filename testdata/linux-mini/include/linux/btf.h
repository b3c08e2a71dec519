/* SPDX-License-Identifier: GPL-2.0 */
/* A cut-down btf.h: the flag bits differ from any real kernel on purpose,
 * so that a scanner with a built-in table would get them wrong. */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H 1

#define KF_ACQUIRE	(1 << 0) /* kfunc is an acquire function */
#define KF_RELEASE	(1 << 1) /* kfunc is a release function */
#define KF_RET_NULL	(1 << 2) /* kfunc returns a pointer that may be NULL */
#define KF_TRUSTED_ARGS (1 << 4)
#define KF_SLEEPABLE    (1 << 5)
#define KF_DESTRUCTIVE  (1 << 6)
#define KF_RCU          (1 << 7)
#define KF_ITER_NEW     (1 << 8)
#define KF_ITER_NEXT    (1 << 9)
#define KF_ITER_DESTROY (1 << 10)
#define KF_FASTCALL     (1 << 13)
#define KF_MAGIC_ARGS   (1 << 14) /* the verifier supplies __magic arguments */
#define KF_IMPLICIT_ARGS (1 << 15) /* the verifier supplies implicit arguments */
#define KF_ITER_ALL	(KF_ITER_NEW | KF_ITER_NEXT | KF_ITER_DESTROY)

struct btf_kfunc_id_set {
	struct module *owner;
	struct btf_id_set8 *set;
	btf_kfunc_filter_t filter;
};

int register_btf_kfunc_id_set(enum bpf_prog_type prog_type,
			      const struct btf_kfunc_id_set *s);
int register_btf_fmodret_id_set(const struct btf_kfunc_id_set *kset);

#endif
