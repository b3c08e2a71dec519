//! Tree-wide work, after the walk: what a file's records mean depends on
//! other files of the tree. X-macro uses in set bodies expanded from the
//! tree's headers ([`xmacro`]), set members defined without `__bpf_kfunc`
//! looked for in the files the prefilter passed over ([`second_look`]), the
//! facts read from fixed headers ([`tree_facts`]), and with `--config` the
//! build's view of the tree ([`build_view`]).

pub(crate) mod build_view;
pub(crate) mod second_look;
pub(crate) mod tree_facts;
pub(crate) mod xmacro;
