/* SPDX-License-Identifier: GPL-2.0 */
/* List macros, as include/net/xdp.h's XDP_METADATA_KFUNC_xxx: each item is
 * XM_ITEM(enum name, kfunc, flags); the user defines XM_ITEM first. */
#ifndef _NET_XM_H
#define _NET_XM_H

#include "xm_more.h"

#define XM_LIST_xxx					\
	XM_ITEM(XM_RX_ONE, xm_list_one, KF_TRUSTED_ARGS) \
	XM_ITEM(XM_RX_TWO, xm_list_two,			\
		KF_ACQUIRE | KF_RET_NULL)

/* nested: a list of lists, one from another header */
#define XM_ALL_xxx XM_LIST_xxx XM_MORE_xxx

/* the header's own use of the list, item macro undefined after */
enum xm_rx {
#define XM_ITEM(name, _, __) name,
XM_LIST_xxx
#undef XM_ITEM
};

/* a flag name the sets use, also a macro here: never expanded in entries */
#define KF_TRUSTED_ARGS_ALIAS KF_TRUSTED_ARGS

#endif
