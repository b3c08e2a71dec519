//! The kernel's kfunc conventions, in one place: the flags and what each
//! means for a BPF program and for compatibility, the decl-tag names pahole
//! emits, the `_impl` suffix, parameter annotation suffixes, the pseudo
//! program types. Scanner, patcher, docs, header and diff all read them from
//! here (sources: `Documentation/bpf/kfuncs.rst`, `include/linux/btf.h`,
//! pahole's BTF encoder, the verifier's `kernel/bpf/verifier.c`).
//!
//! Flag *values* are not here: bits differ between kernel versions, so the
//! scanner evaluates them from each tree's own `include/linux/btf.h`.

/// The decl tag pahole (1.26+) puts on every member of a kfuncs set.
pub const TAG_KFUNC: &str = "bpf_kfunc";
/// The decl tag pahole puts on KF_FASTCALL kfuncs.
pub const TAG_FASTCALL: &str = "bpf_fastcall";

/// `foo_impl`: the function carrying the full kernel prototype of a kfunc
/// `foo` whose verifier-supplied arguments BPF programs do not pass.
pub const IMPL_SUFFIX: &str = "_impl";

/// The name of the function with the full prototype of kfunc `name`.
pub fn impl_name(name: &str) -> String {
    format!("{name}{IMPL_SUFFIX}")
}

/// The magic-kfuncs proposal's flag: verifier-supplied arguments named `*__magic`.
pub const FLAG_MAGIC_ARGS: &str = "KF_MAGIC_ARGS";
/// Upstream's flag: verifier-supplied arguments recognised by type.
pub const FLAG_IMPLICIT_ARGS: &str = "KF_IMPLICIT_ARGS";
/// The bpf_fastcall convention (a `bpf_fastcall` decl tag in BTF).
pub const FLAG_FASTCALL: &str = "KF_FASTCALL";
/// The kfunc returns a pointer into a BPF arena (pahole 1.30+ marks its
/// pointee with [`TYPE_ATTR_ARENA`]).
pub const FLAG_ARENA_RET: &str = "KF_ARENA_RET";
/// The kfunc's first parameter points into a BPF arena.
pub const FLAG_ARENA_ARG1: &str = "KF_ARENA_ARG1";
/// The kfunc's second parameter points into a BPF arena.
pub const FLAG_ARENA_ARG2: &str = "KF_ARENA_ARG2";
/// The BTF type attribute (a TYPE_TAG with its kind flag set) pahole puts
/// between an arena pointer and its pointee: `PTR → TYPE_TAG → pointee`,
/// which C prints as `__attribute__((address_space(1)))`.
pub const TYPE_ATTR_ARENA: &str = "address_space(1)";
/// The parameter-name suffix of the magic-kfuncs proposal.
pub const MAGIC_ANNOTATION: &str = "__magic";

/// The `prog_type` recorded for a `register_btf_fmodret_id_set()`
/// registration: its set lists fmod_ret attach targets, not kfuncs.
pub const FMODRET: &str = "fmodret";
/// Registered for this, a set serves every program type (the common hook).
pub const PROG_TYPE_UNSPEC: &str = "BPF_PROG_TYPE_UNSPEC";

/// Where the selftests' modules live (`tools/testing/selftests/bpf/`): no
/// kernel ships the kfuncs defined under it.
pub const SELFTESTS_DIR: &str = "tools/";

/// libbpf's section for extern kernel symbols, kfuncs among them: what its
/// `__ksym` attribute expands to (`tools/lib/bpf/bpf_helpers.h`).
pub const KSYM_SECTION: &str = ".ksyms";

/// Whether changing a flag between two kernels can make a program that
/// verified before fail to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagCompat {
    /// Reference or iterator semantics: adding or removing it breaks.
    BreaksEitherWay,
    /// A restriction: adding it breaks, lifting it does not.
    BreaksWhenAdded,
    /// A permission: removing it breaks, adding it does not.
    BreaksWhenRemoved,
    /// A calling convention the verifier handles for the program.
    Compatible,
}

/// What the kernel's documentation says of one `KF_*` flag.
#[derive(Debug, Clone, Copy)]
pub struct FlagInfo {
    pub name: &'static str,
    /// In plain words, for BPF programmers.
    pub meaning: &'static str,
    pub compat: FlagCompat,
}

/// Every flag this tool knows the meaning of. A flag not listed is shown as
/// written, and any change of it is taken as breaking.
pub const FLAGS: &[FlagInfo] = &[
    flag("KF_ACQUIRE", "Acquires a reference: the pointer it returns must be released with the matching release kfunc.", FlagCompat::BreaksEitherWay),
    flag("KF_RELEASE", "Releases a reference: the referenced pointer it takes may not be used afterwards.", FlagCompat::BreaksEitherWay),
    flag("KF_RET_NULL", "May return NULL: the program must check the result before using it.", FlagCompat::BreaksWhenAdded),
    flag("KF_TRUSTED_ARGS", "Takes only trusted pointers (valid, referenced or from the context), not ones walked to from other pointers.", FlagCompat::BreaksWhenAdded),
    flag("KF_SLEEPABLE", "May sleep: callable from sleepable programs only.", FlagCompat::BreaksWhenAdded),
    flag("KF_DESTRUCTIVE", "Destructive (it may crash or reboot the system): the loading process needs CAP_SYS_BOOT.", FlagCompat::BreaksWhenAdded),
    // KF_RCU widens what may be passed: removing it narrows
    flag("KF_RCU", "Takes RCU-protected pointers as well as trusted ones.", FlagCompat::BreaksWhenRemoved),
    flag("KF_ITER_NEW", "Iterator constructor.", FlagCompat::BreaksEitherWay),
    flag("KF_ITER_NEXT", "Iterator step: returns the next element.", FlagCompat::BreaksEitherWay),
    flag("KF_ITER_DESTROY", "Iterator destructor.", FlagCompat::BreaksEitherWay),
    flag("KF_RCU_PROTECTED", "Must be called inside an RCU read-side critical section (bpf_rcu_read_lock).", FlagCompat::BreaksWhenAdded),
    flag(FLAG_FASTCALL, "Follows the bpf_fastcall convention: registers it does not use survive the call.", FlagCompat::Compatible),
    flag(FLAG_MAGIC_ARGS, "Some of its arguments are supplied by the verifier, not the program.", FlagCompat::Compatible),
    flag(FLAG_IMPLICIT_ARGS, "Some of its arguments are supplied by the verifier, not the program.", FlagCompat::Compatible),
    flag("KF_ARENA_RET", "Returns an arena pointer.", FlagCompat::BreaksEitherWay),
    flag("KF_ARENA_ARG1", "Takes an arena pointer.", FlagCompat::BreaksEitherWay),
    flag("KF_ARENA_ARG2", "Takes an arena pointer.", FlagCompat::BreaksEitherWay),
];

const fn flag(name: &'static str, meaning: &'static str, compat: FlagCompat) -> FlagInfo {
    FlagInfo {
        name,
        meaning,
        compat,
    }
}

/// The flag's entry in [`FLAGS`].
pub fn flag_info(name: &str) -> Option<&'static FlagInfo> {
    FLAGS.iter().find(|f| f.name == name)
}

/// Whether adding (`added`) or removing `flag` can break a program that
/// verified before. Unknown flags are assumed to.
pub fn flag_change_breaks(flag: &str, added: bool) -> bool {
    match flag_info(flag).map(|f| f.compat) {
        Some(FlagCompat::BreaksWhenAdded) => added,
        Some(FlagCompat::BreaksWhenRemoved) => !added,
        Some(FlagCompat::Compatible) => false,
        Some(FlagCompat::BreaksEitherWay) | None => true,
    }
}

/// Whether `flag` marks a kfunc whose trailing arguments the verifier supplies.
pub fn is_verifier_args_flag(flag: &str) -> bool {
    flag == FLAG_MAGIC_ARGS || flag == FLAG_IMPLICIT_ARGS
}

/// Parameter-name suffixes the verifier gives meaning to, with their meaning
/// in plain words (`Documentation/bpf/kfuncs.rst`). Any other `__word`
/// suffix is reported as written.
pub const ANNOTATIONS: &[(&str, &str)] = &[
    (
        "__sz",
        "the size in bytes of the memory the previous argument points to",
    ),
    (
        "__szk",
        "a constant size, known at verification, of the memory the previous argument points to",
    ),
    ("__k", "must be a constant the verifier knows"),
    ("__ign", "not checked by the verifier"),
    (
        "__uninit",
        "may point at uninitialised memory the kfunc fills",
    ),
    ("__opt", "optional: may be NULL"),
    ("__str", "a constant, NUL-terminated string"),
    ("__nullable", "may be NULL"),
    ("__map", "a map"),
    ("__prog", "supplied by the verifier (the calling program)"),
    ("__irq_flag", "a slot for saved interrupt flags"),
    (
        "__refcounted_kptr",
        "a refcounted object allocated by the program",
    ),
    (
        MAGIC_ANNOTATION,
        "supplied by the verifier: BPF programs do not pass it",
    ),
    ("__aux", "supplied by the verifier"),
];

/// What an annotation suffix means, when the verifier gives it a meaning.
pub fn annotation_meaning(suffix: &str) -> Option<&'static str> {
    ANNOTATIONS
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_compatibility_rules() {
        // a restriction added breaks, lifted does not
        assert!(flag_change_breaks("KF_TRUSTED_ARGS", true));
        assert!(!flag_change_breaks("KF_TRUSTED_ARGS", false));
        // KF_RCU is a permission: the other way round
        assert!(!flag_change_breaks("KF_RCU", true));
        assert!(flag_change_breaks("KF_RCU", false));
        // reference semantics break either way
        assert!(flag_change_breaks("KF_ACQUIRE", true));
        assert!(flag_change_breaks("KF_ACQUIRE", false));
        // conventions the verifier handles never break
        for f in [FLAG_FASTCALL, FLAG_MAGIC_ARGS, FLAG_IMPLICIT_ARGS] {
            assert!(!flag_change_breaks(f, true) && !flag_change_breaks(f, false));
        }
        // an unknown flag is assumed to break
        assert!(flag_change_breaks("KF_SOMETHING_NEW", false));
    }

    #[test]
    fn names_are_unique() {
        for (i, f) in FLAGS.iter().enumerate() {
            assert!(
                FLAGS[i + 1..].iter().all(|g| g.name != f.name),
                "{}",
                f.name
            );
        }
        for (i, (s, _)) in ANNOTATIONS.iter().enumerate() {
            assert!(ANNOTATIONS[i + 1..].iter().all(|(t, _)| t != s), "{s}");
        }
        assert_eq!(impl_name("bpf_wq_set_callback"), "bpf_wq_set_callback_impl");
    }
}
