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
/// The kfunc may sleep: sleepable programs only.
pub const FLAG_SLEEPABLE: &str = "KF_SLEEPABLE";
/// The bpf_fastcall convention (a `bpf_fastcall` decl tag in BTF).
pub const FLAG_FASTCALL: &str = "KF_FASTCALL";
/// The kfunc returns a pointer into a BPF arena (pahole 1.30+ marks its
/// pointee with [`TYPE_ATTR_ARENA`]).
pub const FLAG_ARENA_RET: &str = "KF_ARENA_RET";
/// The kfunc's first parameter points into a BPF arena.
pub const FLAG_ARENA_ARG1: &str = "KF_ARENA_ARG1";
/// The kfunc's second parameter points into a BPF arena.
pub const FLAG_ARENA_ARG2: &str = "KF_ARENA_ARG2";
/// Which pointers of a kfunc point into a BPF arena, by its flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArenaPlaces {
    /// The return value (KF_ARENA_RET).
    pub ret: bool,
    /// Parameter indices (KF_ARENA_ARG1 is 0, KF_ARENA_ARG2 is 1).
    pub params: Vec<usize>,
}

/// [`ArenaPlaces`] from flag names.
pub fn arena_places<S: AsRef<str>>(flags: &[S]) -> ArenaPlaces {
    let has = |flag: &str| flags.iter().any(|f| f.as_ref() == flag);
    ArenaPlaces {
        ret: has(FLAG_ARENA_RET),
        params: [(FLAG_ARENA_ARG1, 0), (FLAG_ARENA_ARG2, 1)]
            .into_iter()
            .filter(|(f, _)| has(f))
            .map(|(_, i)| i)
            .collect(),
    }
}

/// How C source spells an arena pointer's address space: libbpf's and the
/// selftests' macro, `void __arena *p`.
pub const ARENA_MACRO: &str = "__arena";

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

/// What a set's `.filter` callback reads of the calling program
/// (`const struct bpf_prog *prog`): `prog->type` and
/// `prog->expected_attach_type`.
pub const FILTER_PROG_TYPE_FIELD: &str = "type";
/// See [`FILTER_PROG_TYPE_FIELD`].
pub const FILTER_ATTACH_TYPE_FIELD: &str = "expected_attach_type";
/// The call a filter asks "is this kfunc one of my set's?" with:
/// `btf_id_set8_contains(&set, kfunc_id)`.
pub const FILTER_SET_CHECK: &str = "btf_id_set8_contains";
/// The header and enum listing every program type: the common hook
/// (BPF_PROG_TYPE_UNSPEC) serves each of them.
pub const PROG_TYPE_ENUM_HEADER: &str = "include/uapi/linux/bpf.h";
/// See [`PROG_TYPE_ENUM_HEADER`].
pub const PROG_TYPE_ENUM: &str = "bpf_prog_type";

/// Where the selftests' modules live (`tools/testing/selftests/bpf/`): no
/// kernel ships the kfuncs defined under it.
pub const SELFTESTS_DIR: &str = "tools/";

/// Kernel files (outside [`SELFTESTS_DIR`]) whose kfunc sets exist for the
/// selftests: `net/bpf/test_run.c` (BPF_PROG_TEST_RUN) registers
/// `test_sk_check_kfunc_ids`, whose two kfuncs release objects that only
/// the selftests' `bpf_testmod` hands out (`bpf_kfunc_call_test_acquire`).
pub const KERNEL_TEST_FILES: &[&str] = &["net/bpf/test_run.c"];

/// Whether a kfunc or set defined in `file` is there for the selftests:
/// under [`SELFTESTS_DIR`], or one of [`KERNEL_TEST_FILES`].
pub fn is_test_source(file: &str) -> bool {
    file.starts_with(SELFTESTS_DIR) || KERNEL_TEST_FILES.contains(&file)
}

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
    /// The flag as the kernel spells it (`KF_ACQUIRE`).
    pub name: &'static str,
    /// In plain words, for BPF programmers.
    pub meaning: &'static str,
    /// Whether adding or removing it can break a program that verified.
    pub compat: FlagCompat,
}

/// Every flag this tool knows the meaning of. A flag not listed is shown as
/// written, and any change of it is taken as breaking.
pub const FLAGS: &[FlagInfo] = &[
    flag("KF_ACQUIRE", "Acquires a reference: the pointer it returns must be released with the matching release kfunc.", FlagCompat::BreaksEitherWay),
    flag("KF_RELEASE", "Releases a reference: the referenced pointer it takes may not be used afterwards.", FlagCompat::BreaksEitherWay),
    flag("KF_RET_NULL", "May return NULL: the program must check the result before using it.", FlagCompat::BreaksWhenAdded),
    flag("KF_TRUSTED_ARGS", "Takes only trusted pointers (valid, referenced or from the context), not ones walked to from other pointers.", FlagCompat::BreaksWhenAdded),
    flag(FLAG_SLEEPABLE, "May sleep: callable from sleepable programs only.", FlagCompat::BreaksWhenAdded),
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

/// One entry of libbpf's table of ELF section names (`SEC("…")`): the
/// program type and expected attach type libbpf gives a program in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecDef {
    /// The section name; a trailing `+` takes `/anything` after it
    /// (`kprobe/do_sys_open`).
    pub sec: &'static str,
    /// The program type it loads as (`BPF_PROG_TYPE_KPROBE`).
    pub prog_type: &'static str,
    /// The expected attach type it sets, if any.
    pub attach_type: Option<&'static str>,
    /// `SEC_SLEEPABLE`: the program is loaded sleepable.
    pub sleepable: bool,
}

const fn sec(
    sec: &'static str,
    prog_type: &'static str,
    attach_type: Option<&'static str>,
    sleepable: bool,
) -> SecDef {
    SecDef {
        sec,
        prog_type,
        attach_type,
        sleepable,
    }
}

/// libbpf's `section_defs[]`, in its order, from Linux 6.12's
/// `tools/lib/bpf/libbpf.c` (libbpf 1.5): the `SEC()` names BPF programs
/// use for each program type.
#[rustfmt::skip]
pub const SEC_DEFS: &[SecDef] = &[
    sec("socket", "BPF_PROG_TYPE_SOCKET_FILTER", None, false),
    sec("sk_reuseport/migrate", "BPF_PROG_TYPE_SK_REUSEPORT", Some("BPF_SK_REUSEPORT_SELECT_OR_MIGRATE"), false),
    sec("sk_reuseport", "BPF_PROG_TYPE_SK_REUSEPORT", Some("BPF_SK_REUSEPORT_SELECT"), false),
    sec("kprobe+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("uprobe+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("uprobe.s+", "BPF_PROG_TYPE_KPROBE", None, true),
    sec("kretprobe+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("uretprobe+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("uretprobe.s+", "BPF_PROG_TYPE_KPROBE", None, true),
    sec("kprobe.multi+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_KPROBE_MULTI"), false),
    sec("kretprobe.multi+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_KPROBE_MULTI"), false),
    sec("kprobe.session+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_KPROBE_SESSION"), false),
    sec("uprobe.multi+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_UPROBE_MULTI"), false),
    sec("uretprobe.multi+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_UPROBE_MULTI"), false),
    sec("uprobe.multi.s+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_UPROBE_MULTI"), true),
    sec("uretprobe.multi.s+", "BPF_PROG_TYPE_KPROBE", Some("BPF_TRACE_UPROBE_MULTI"), true),
    sec("ksyscall+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("kretsyscall+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("usdt+", "BPF_PROG_TYPE_KPROBE", None, false),
    sec("usdt.s+", "BPF_PROG_TYPE_KPROBE", None, true),
    sec("tc/ingress", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_TCX_INGRESS"), false),
    sec("tc/egress", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_TCX_EGRESS"), false),
    sec("tcx/ingress", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_TCX_INGRESS"), false),
    sec("tcx/egress", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_TCX_EGRESS"), false),
    sec("tc", "BPF_PROG_TYPE_SCHED_CLS", None, false),
    sec("classifier", "BPF_PROG_TYPE_SCHED_CLS", None, false),
    sec("action", "BPF_PROG_TYPE_SCHED_ACT", None, false),
    sec("netkit/primary", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_NETKIT_PRIMARY"), false),
    sec("netkit/peer", "BPF_PROG_TYPE_SCHED_CLS", Some("BPF_NETKIT_PEER"), false),
    sec("tracepoint+", "BPF_PROG_TYPE_TRACEPOINT", None, false),
    sec("tp+", "BPF_PROG_TYPE_TRACEPOINT", None, false),
    sec("raw_tracepoint+", "BPF_PROG_TYPE_RAW_TRACEPOINT", None, false),
    sec("raw_tp+", "BPF_PROG_TYPE_RAW_TRACEPOINT", None, false),
    sec("raw_tracepoint.w+", "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE", None, false),
    sec("raw_tp.w+", "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE", None, false),
    sec("tp_btf+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_RAW_TP"), false),
    sec("fentry+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_FENTRY"), false),
    sec("fmod_ret+", "BPF_PROG_TYPE_TRACING", Some("BPF_MODIFY_RETURN"), false),
    sec("fexit+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_FEXIT"), false),
    sec("fentry.s+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_FENTRY"), true),
    sec("fmod_ret.s+", "BPF_PROG_TYPE_TRACING", Some("BPF_MODIFY_RETURN"), true),
    sec("fexit.s+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_FEXIT"), true),
    sec("freplace+", "BPF_PROG_TYPE_EXT", None, false),
    sec("lsm+", "BPF_PROG_TYPE_LSM", Some("BPF_LSM_MAC"), false),
    sec("lsm.s+", "BPF_PROG_TYPE_LSM", Some("BPF_LSM_MAC"), true),
    sec("lsm_cgroup+", "BPF_PROG_TYPE_LSM", Some("BPF_LSM_CGROUP"), false),
    sec("iter+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_ITER"), false),
    sec("iter.s+", "BPF_PROG_TYPE_TRACING", Some("BPF_TRACE_ITER"), true),
    sec("syscall", "BPF_PROG_TYPE_SYSCALL", None, true),
    sec("xdp.frags/devmap", "BPF_PROG_TYPE_XDP", Some("BPF_XDP_DEVMAP"), false),
    sec("xdp/devmap", "BPF_PROG_TYPE_XDP", Some("BPF_XDP_DEVMAP"), false),
    sec("xdp.frags/cpumap", "BPF_PROG_TYPE_XDP", Some("BPF_XDP_CPUMAP"), false),
    sec("xdp/cpumap", "BPF_PROG_TYPE_XDP", Some("BPF_XDP_CPUMAP"), false),
    sec("xdp.frags", "BPF_PROG_TYPE_XDP", Some("BPF_XDP"), false),
    sec("xdp", "BPF_PROG_TYPE_XDP", Some("BPF_XDP"), false),
    sec("perf_event", "BPF_PROG_TYPE_PERF_EVENT", None, false),
    sec("lwt_in", "BPF_PROG_TYPE_LWT_IN", None, false),
    sec("lwt_out", "BPF_PROG_TYPE_LWT_OUT", None, false),
    sec("lwt_xmit", "BPF_PROG_TYPE_LWT_XMIT", None, false),
    sec("lwt_seg6local", "BPF_PROG_TYPE_LWT_SEG6LOCAL", None, false),
    sec("sockops", "BPF_PROG_TYPE_SOCK_OPS", Some("BPF_CGROUP_SOCK_OPS"), false),
    sec("sk_skb/stream_parser", "BPF_PROG_TYPE_SK_SKB", Some("BPF_SK_SKB_STREAM_PARSER"), false),
    sec("sk_skb/stream_verdict", "BPF_PROG_TYPE_SK_SKB", Some("BPF_SK_SKB_STREAM_VERDICT"), false),
    sec("sk_skb/verdict", "BPF_PROG_TYPE_SK_SKB", Some("BPF_SK_SKB_VERDICT"), false),
    sec("sk_skb", "BPF_PROG_TYPE_SK_SKB", None, false),
    sec("sk_msg", "BPF_PROG_TYPE_SK_MSG", Some("BPF_SK_MSG_VERDICT"), false),
    sec("lirc_mode2", "BPF_PROG_TYPE_LIRC_MODE2", Some("BPF_LIRC_MODE2"), false),
    sec("flow_dissector", "BPF_PROG_TYPE_FLOW_DISSECTOR", Some("BPF_FLOW_DISSECTOR"), false),
    sec("cgroup_skb/ingress", "BPF_PROG_TYPE_CGROUP_SKB", Some("BPF_CGROUP_INET_INGRESS"), false),
    sec("cgroup_skb/egress", "BPF_PROG_TYPE_CGROUP_SKB", Some("BPF_CGROUP_INET_EGRESS"), false),
    sec("cgroup/skb", "BPF_PROG_TYPE_CGROUP_SKB", None, false),
    sec("cgroup/sock_create", "BPF_PROG_TYPE_CGROUP_SOCK", Some("BPF_CGROUP_INET_SOCK_CREATE"), false),
    sec("cgroup/sock_release", "BPF_PROG_TYPE_CGROUP_SOCK", Some("BPF_CGROUP_INET_SOCK_RELEASE"), false),
    sec("cgroup/sock", "BPF_PROG_TYPE_CGROUP_SOCK", Some("BPF_CGROUP_INET_SOCK_CREATE"), false),
    sec("cgroup/post_bind4", "BPF_PROG_TYPE_CGROUP_SOCK", Some("BPF_CGROUP_INET4_POST_BIND"), false),
    sec("cgroup/post_bind6", "BPF_PROG_TYPE_CGROUP_SOCK", Some("BPF_CGROUP_INET6_POST_BIND"), false),
    sec("cgroup/bind4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET4_BIND"), false),
    sec("cgroup/bind6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET6_BIND"), false),
    sec("cgroup/connect4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET4_CONNECT"), false),
    sec("cgroup/connect6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET6_CONNECT"), false),
    sec("cgroup/connect_unix", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UNIX_CONNECT"), false),
    sec("cgroup/sendmsg4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UDP4_SENDMSG"), false),
    sec("cgroup/sendmsg6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UDP6_SENDMSG"), false),
    sec("cgroup/sendmsg_unix", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UNIX_SENDMSG"), false),
    sec("cgroup/recvmsg4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UDP4_RECVMSG"), false),
    sec("cgroup/recvmsg6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UDP6_RECVMSG"), false),
    sec("cgroup/recvmsg_unix", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UNIX_RECVMSG"), false),
    sec("cgroup/getpeername4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET4_GETPEERNAME"), false),
    sec("cgroup/getpeername6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET6_GETPEERNAME"), false),
    sec("cgroup/getpeername_unix", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UNIX_GETPEERNAME"), false),
    sec("cgroup/getsockname4", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET4_GETSOCKNAME"), false),
    sec("cgroup/getsockname6", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_INET6_GETSOCKNAME"), false),
    sec("cgroup/getsockname_unix", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", Some("BPF_CGROUP_UNIX_GETSOCKNAME"), false),
    sec("cgroup/sysctl", "BPF_PROG_TYPE_CGROUP_SYSCTL", Some("BPF_CGROUP_SYSCTL"), false),
    sec("cgroup/getsockopt", "BPF_PROG_TYPE_CGROUP_SOCKOPT", Some("BPF_CGROUP_GETSOCKOPT"), false),
    sec("cgroup/setsockopt", "BPF_PROG_TYPE_CGROUP_SOCKOPT", Some("BPF_CGROUP_SETSOCKOPT"), false),
    sec("cgroup/dev", "BPF_PROG_TYPE_CGROUP_DEVICE", Some("BPF_CGROUP_DEVICE"), false),
    sec("struct_ops+", "BPF_PROG_TYPE_STRUCT_OPS", None, false),
    sec("struct_ops.s+", "BPF_PROG_TYPE_STRUCT_OPS", None, true),
    sec("sk_lookup", "BPF_PROG_TYPE_SK_LOOKUP", Some("BPF_SK_LOOKUP"), false),
    sec("netfilter", "BPF_PROG_TYPE_NETFILTER", Some("BPF_NETFILTER"), false),
];

/// The `SEC()` names libbpf maps to `prog_type`, in libbpf's order.
pub fn sec_names(prog_type: &str) -> impl Iterator<Item = &'static SecDef> + '_ {
    SEC_DEFS.iter().filter(move |d| d.prog_type == prog_type)
}

// ---- Types as the verifier presents them to BPF programs

/// Kernel-internal parameter types a BPF program passes as another type:
/// (the type a kfunc's source declares, the type the BPF program has). The
/// C declarations BPF programs see ([`crate::cdecl`]: header, docs, diff)
/// show the second.
///
/// Source: the verifier's argument check. Linux 6.1, `kernel/bpf/btf.c`,
/// `btf_check_func_arg_match()`: a kfunc pointer argument to
/// `struct bpf_dynptr_kern` (`arg_dynptr`, compared by name) takes a pointer
/// to an initialised dynptr on the program's stack, i.e. the program's
/// `struct bpf_dynptr`. Linux 6.12, `kernel/bpf/verifier.c`:
/// `kf_arg_btf_ids[KF_ARG_DYNPTR_ID]` is `BTF_ID(struct, bpf_dynptr)`, and
/// `KF_ARG_PTR_TO_DYNPTR` arguments are declared `struct bpf_dynptr *` (the
/// kfuncs cast to `bpf_dynptr_kern` inside). No other kernel type is
/// accepted as a different program type for kfunc arguments in either
/// version (context types are the program's own: `struct __sk_buff`,
/// `struct xdp_md`; `struct bpf_sock_addr_kern` is what
/// `bpf_cast_to_kern_ctx` gives the program, not a mapping).
pub const VERIFIER_TYPES: &[(&str, &str)] = &[("struct bpf_dynptr_kern", "struct bpf_dynptr")];

/// The type BPF programs have for the kernel type `tagged` (`struct NAME`,
/// exactly), when the verifier presents it as another ([`VERIFIER_TYPES`]).
pub fn verifier_type(tagged: &str) -> Option<&'static str> {
    VERIFIER_TYPES
        .iter()
        .find(|(kernel, _)| *kernel == tagged)
        .map(|(_, bpf)| *bpf)
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
        assert_eq!(SEC_DEFS.len(), 101);
        let lsm: Vec<&str> = sec_names("BPF_PROG_TYPE_LSM").map(|d| d.sec).collect();
        assert_eq!(lsm, ["lsm+", "lsm.s+", "lsm_cgroup+"]);
    }

    #[test]
    fn verifier_types_map_the_dynptr_only() {
        assert_eq!(
            verifier_type("struct bpf_dynptr_kern"),
            Some("struct bpf_dynptr")
        );
        assert_eq!(verifier_type("struct bpf_dynptr"), None);
        assert_eq!(verifier_type("struct bpf_sock_addr_kern"), None);
        for (i, (k, _)) in VERIFIER_TYPES.iter().enumerate() {
            assert!(VERIFIER_TYPES[i + 1..].iter().all(|(l, _)| l != k), "{k}");
        }
    }

    #[test]
    fn selftest_sources_are_under_tools_or_test_run() {
        assert!(is_test_source(
            "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c"
        ));
        assert!(is_test_source("net/bpf/test_run.c"));
        assert!(!is_test_source("kernel/bpf/helpers.c"));
        assert!(!is_test_source("net/bpf/test_run.h"));
    }

    #[test]
    fn both_conventions_flag_verifier_supplied_arguments() {
        assert!(is_verifier_args_flag("KF_MAGIC_ARGS"));
        assert!(is_verifier_args_flag("KF_IMPLICIT_ARGS"));
        assert!(!is_verifier_args_flag("KF_TRUSTED_ARGS"));
        assert!(!is_verifier_args_flag(""));
    }

    #[test]
    fn annotations_have_their_meaning() {
        assert_eq!(annotation_meaning("__opt"), Some("optional: may be NULL"));
        assert_eq!(
            annotation_meaning("__magic"),
            Some("supplied by the verifier: BPF programs do not pass it")
        );
        assert_eq!(annotation_meaning("__unknown"), None);
        assert_eq!(annotation_meaning("opt"), None);
    }
}
