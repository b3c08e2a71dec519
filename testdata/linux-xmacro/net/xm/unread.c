// SPDX-License-Identifier: GPL-2.0
/* Set bodies that cannot be read: a macro defined nowhere, a recursive
 * one, one given too few arguments, and an item macro the header #undefs
 * (so it is not in effect here). Each keeps the unrecognised-set-line
 * warning; the last three say why. */
#include <linux/btf.h>
#include <net/xm.h>

__bpf_kfunc int unread_ok(void) { return 0; }

#define UNREAD_LOOP UNREAD_LOOP2
#define UNREAD_LOOP2 UNREAD_LOOP
#define UNREAD_TWO(a, b) BTF_ID_FLAGS(func, a, b)

BTF_KFUNCS_START(unread_ids)
BTF_ID_FLAGS(func, unread_ok)
UNREAD_NOWHERE_xxx
UNREAD_LOOP
UNREAD_TWO(unread_ok)
XM_LIST_xxx
BTF_KFUNCS_END(unread_ids)
