// SPDX-License-Identifier: GPL-2.0
/* Defines a set member without the kfunc attribute, in a file that mentions
 * no kfunc construct: the scanner finds it in its second look. */

/**
 * update_socket_protocol - hook for fmod_ret programs
 * @family: protocol family
 * @type: socket type
 * @protocol: protocol
 */
__weak noinline int update_socket_protocol(int family, int type, int protocol)
{
	return protocol;
}
