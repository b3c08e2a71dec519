/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H

#define KF_ACQUIRE	(1 << 0)
#define KF_IMPLICIT_ARGS (1 << 16)

#endif
