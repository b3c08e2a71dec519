// SPDX-License-Identifier: GPL-2.0
/* Only the list the scanner reads; a third type is added here so that the
 * test can tell a list read from the tree from the built-in default. */
static bool is_kf_implicit_arg(const struct btf *btf, const struct btf_param *p)
{
	static const char *const kf_implicit_arg_types[] = {
		"bpf_prog_aux",
		"btf_struct_meta",
		"bpf_mini_ctx",
	};
	return false;
}
