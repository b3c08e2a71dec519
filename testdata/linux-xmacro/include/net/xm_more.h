/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _NET_XM_MORE_H
#define _NET_XM_MORE_H

#define XM_MORE_xxx XM_ITEM(XM_RX_MORE, xm_more, KF_SLEEPABLE)

#endif
