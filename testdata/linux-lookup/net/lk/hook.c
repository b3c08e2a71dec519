// SPDX-License-Identifier: GPL-2.0
/* The set member, defined without the kfunc attribute. */
#include <linux/lk.h>

__weak noinline int lk_hook(int protocol)
{
	return protocol;
}
