//! How the kernel source spells the constructs the scanner looks for, where
//! Rust code (not only a query) needs the spelling: the prefilter's needles,
//! the masker's body check, the extractor. What these mean for BPF programs
//! (flags, `_impl`, `__magic`, `fmodret`, tags) is `crate::conventions`'.

/// The attribute marking a kfunc's definition.
pub(crate) const BPF_KFUNC_ATTR: &str = "__bpf_kfunc";
/// The call registering a set for a program type.
pub(crate) const REGISTER_KFUNC_ID_SET: &str = "register_btf_kfunc_id_set";
/// The call registering a set of fmod_ret attach targets.
pub(crate) const REGISTER_FMODRET_ID_SET: &str = "register_btf_fmodret_id_set";
/// The struct a registration passes: `.set`, `.filter`.
pub(crate) const ID_SET_STRUCT: &str = "btf_kfunc_id_set";
/// The verifier's `BTF_ID_LIST` of (`foo`, `foo_impl`) pairs in the
/// magic-kfuncs proposal.
pub(crate) const MAGIC_TABLE: &str = "magic_kfuncs";
/// A set entry.
pub(crate) const ENTRY_MACRO: &str = "BTF_ID_FLAGS";
