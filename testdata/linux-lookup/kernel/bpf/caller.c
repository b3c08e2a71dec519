// SPDX-License-Identifier: GPL-2.0
/* Calls both missing names, defines neither: the second look need not read it. */
#include <linux/lk.h>

static int caller(int p)
{
	return lk_hook(p) + lk_implicit_impl(p, 0);
}
