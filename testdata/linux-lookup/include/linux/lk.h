/* SPDX-License-Identifier: GPL-2.0 */
/* Mentions both missing names, defines neither. */
#ifndef _LINUX_LK_H
#define _LINUX_LK_H

int lk_hook(int protocol);
int lk_implicit_impl(int a, void *aux);

#endif
