/* SPDX-License-Identifier: GPL-2.0 */
/* The flags of the X-macro fixture. */
#ifndef _LINUX_BTF_H
#define _LINUX_BTF_H

#define KF_ACQUIRE	(1 << 0)
#define KF_RELEASE	(1 << 1)
#define KF_RET_NULL	(1 << 2)
#define KF_TRUSTED_ARGS	(1 << 4)
#define KF_SLEEPABLE	(1 << 5)

#endif
