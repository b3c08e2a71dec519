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

/// The suffixes of what a kernel build writes into the tree (`make`
/// without `O=`): objects, archives, modules, Kbuild's own records, linker
/// scripts, generated assembly, BTF, and this program's own outputs. A
/// watcher (`kfunc-scan watch`) records no change to a file so named: none
/// is a C file the walk reads, and the files the later stages read are
/// checked by their keys anyway ([`crate::scan::cache`]'s memo).
const BUILD_OUTPUT_SUFFIXES: &[&[u8]] = &[
    b".o",
    b".ko",
    b".a",
    b".mod",
    b".order",
    b".symvers",
    b".cmd",
    b".d",
    b".tmp",
    b".lds",
    b".s",
    b".su",
    b".dwo",
    b".gcno",
    b".gcda",
    b".lst",
    b".ll",
    b".bc",
    b".btf",
    b".BTF",
    b".map",
    b".json",
    b".builtin",
    b".modinfo",
    b".btf_ids",
];

/// Whether a change to a file named `name` cannot change a scan (see
/// [`BUILD_OUTPUT_SUFFIXES`]); also the kernel's link outputs by name.
pub fn is_build_output(name: &[u8]) -> bool {
    BUILD_OUTPUT_SUFFIXES
        .iter()
        .any(|s| name.ends_with(s) && name.len() > s.len())
        || matches!(
            name,
            b"vmlinux" | b"System.map" | b"bzImage" | b"Image" | b"zImage"
        )
}

#[cfg(test)]
mod tests {
    use super::is_build_output;

    #[test]
    fn build_outputs_are_told_from_sources() {
        for out in [
            &b"core.o"[..],
            b"fou.ko",
            b"built-in.a",
            b"fou.mod",
            b"modules.order",
            b"Module.symvers",
            b"vmlinux.lds",
            b"kfunc-scan.json",
            b"vmlinux",
            b"System.map",
        ] {
            assert!(is_build_output(out), "{}", String::from_utf8_lossy(out));
        }
        // sources, Kbuild's inputs, and a bare suffix (no stem)
        for src in [
            &b"core.c"[..],
            b"btf.h",
            b"fou.mod.c",
            b"Makefile",
            b"Kbuild",
            b"Kconfig",
            b"head_64.S",
            b".o",
            b"vmlinux.h",
        ] {
            assert!(!is_build_output(src), "{}", String::from_utf8_lossy(src));
        }
    }
}
