// SPDX-License-Identifier: GPL-2.0
#include <linux/lk.h>

int net_caller(int p)
{
	/* lk_implicit_impl(p, 0) is not called here */
	return lk_hook(p);
}
