// SPDX-License-Identifier: GPL-2.0
/* This file ends inside a set, as a truncated download would. */
__bpf_kfunc void truncated_kfunc(void)
{
}

BTF_KFUNCS_START(truncated_ids)
BTF_ID_FLAGS(func, truncated_kfunc, KF_SLEEPABLE)
BTF_ID_FLAGS(func, trunc