//! The fixture tree `testdata/linux-mini`, against values worked out by hand
//! from its sources (not from the tool's output), then the whole manifest
//! against its reviewed snapshot.

use crate::common;
use common::*;
use kfunc_scan::manifest::{ArgsConvention, Manifest, Param, VerifierArgs};

fn manifest() -> Manifest {
    // linux-mini holds a broken set on purpose: errors, exit status 1.
    cmd([mini()]).arg("--jobs").arg("2").expect(1).manifest()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn version_flags_and_implicit_types_come_from_the_tree() {
    let m = manifest();
    assert_eq!(m.schema_version, 1);
    assert_eq!(m.kernel_version.as_deref(), Some("7.0.3-mini"));
    // include/linux/btf.h of the fixture: bits chosen unlike any kernel's
    assert_eq!(m.flag_values["KF_FASTCALL"], 1 << 13);
    assert_eq!(m.flag_values["KF_MAGIC_ARGS"], 1 << 14);
    assert_eq!(m.flag_values["KF_IMPLICIT_ARGS"], 1 << 15);
    assert_eq!(
        m.flag_values["KF_ITER_ALL"],
        (1 << 8) | (1 << 9) | (1 << 10)
    );
    assert_eq!(
        m.implicit_arg_types,
        strings(&["bpf_prog_aux", "btf_struct_meta", "bpf_mini_ctx"])
    );
    // kernel/bpf/btf.c's switch: TRACING and LSM share a hook; the default is left out
    let hooks = &m.kfunc_hooks;
    assert_eq!(hooks.len(), 7);
    assert_eq!(hooks["BPF_PROG_TYPE_LSM"], "BTF_KFUNC_HOOK_TRACING");
    assert_eq!(hooks["BPF_PROG_TYPE_TRACING"], "BTF_KFUNC_HOOK_TRACING");
    assert_eq!(hooks["BPF_PROG_TYPE_UNSPEC"], "BTF_KFUNC_HOOK_COMMON");
}

#[test]
fn sets_entries_flags_and_conditions() {
    let m = manifest();
    let g = m.set_named("generic_btf_ids");
    assert_eq!(g.kind, kfunc_scan::manifest::SetKind::Kfuncs);
    assert_eq!((g.file.as_str(), g.line), ("kernel/bpf/helpers.c", 97));
    let entries: Vec<(&str, Option<u64>, Option<&str>)> = g
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.flags_value, e.condition.as_deref()))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("bpf_task_acquire", Some(1 | 128 | 4), None),
            ("bpf_task_release", Some(2), None),
            (
                "bpf_cgroup_acquire",
                Some(133),
                Some("defined(CONFIG_CGROUPS)")
            ),
            ("bpf_obj_new", Some(1 | 4 | 32768), None),
        ]
    );
    assert_eq!(
        g.entries[0].flags,
        strings(&["KF_ACQUIRE", "KF_RCU", "KF_RET_NULL"])
    );

    let e = &m.set_named("common_btf_ids").entries;
    assert_eq!(e.len(), 7);
    // a multi-line entry
    assert_eq!(
        (e[2].name.as_str(), e[2].flags_value, e[2].line),
        ("bpf_iter_num_next", Some(512 | 4), 114)
    );
    // #if / #elif
    assert_eq!(
        e[4].condition.as_deref(),
        Some("IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)")
    );
    assert_eq!(
        e[6].condition.as_deref(),
        Some(
            "!(IS_ENABLED(CONFIG_BPF_WQ) && defined(CONFIG_MMU)) && defined(CONFIG_BPF_WQ_LEGACY)"
        )
    );

    assert_eq!(
        m.set_named("mini_fmodret_ids").kind,
        kfunc_scan::manifest::SetKind::Set8
    );
}

#[test]
fn registrations_follow_id_sets_and_chains() {
    let m = manifest();
    let regs = |s: &str| -> Vec<(String, String, Option<String>)> {
        m.set_named(s)
            .registrations
            .iter()
            .map(|r| (r.prog_type.clone(), r.id_set.clone(), r.filter.clone()))
            .collect()
    };
    let g: Vec<String> = regs("generic_btf_ids").into_iter().map(|r| r.0).collect();
    assert_eq!(
        g,
        [
            "BPF_PROG_TYPE_SCHED_CLS",
            "BPF_PROG_TYPE_TRACING",
            "BPF_PROG_TYPE_XDP"
        ]
    );
    let magic = |t: &str| {
        (
            t.into(),
            "mini_magic_set".into(),
            Some("mini_filter".into()),
        )
    };
    assert_eq!(
        regs("mini_magic_ids"),
        vec![
            magic("BPF_PROG_TYPE_STRUCT_OPS"),
            magic("BPF_PROG_TYPE_SYSCALL")
        ]
    );
    assert_eq!(regs("mini_fmodret_ids")[0].0, "fmodret");
    assert_eq!(
        m.kfunc_named("bpf_dynptr_slice").prog_types,
        strings(&["BPF_PROG_TYPE_UNSPEC"])
    );
}

fn param(name: &str, ty: &str, annotation: Option<&str>) -> Param {
    Param {
        name: name.into(),
        ty: ty.into(),
        annotation: annotation.map(str::to_string),
    }
}

#[test]
fn prototypes_annotations_and_docs() {
    let m = manifest();
    let t = m.kfunc_named("bpf_task_acquire");
    assert_eq!(t.return_type, "struct task_struct *");
    assert_eq!(t.params, [param("p", "struct task_struct *", None)]);
    assert!(t
        .doc
        .as_deref()
        .unwrap()
        .starts_with("/**\n * bpf_task_acquire - Acquire"));
    assert!(t.bpf_kfunc_attr);

    let d = m.kfunc_named("bpf_dynptr_slice");
    let ann: Vec<Option<&str>> = d.params.iter().map(|p| p.annotation.as_deref()).collect();
    assert_eq!(ann, [None, None, Some("__opt"), Some("__szk")]);
    assert_eq!(d.params[0].ty, "const struct bpf_dynptr *");

    // `int (callback_fn)(...)`: a function parameter, adjusted to a pointer
    let w = m.kfunc_named("bpf_wq_set_callback_impl");
    assert_eq!(w.params.len(), 4);
    assert_eq!(w.params[1].name, "callback_fn");
    assert_eq!(w.params[1].ty, "int (*)(void *map, int *key, void *value)");
    assert_eq!(w.params[3], param("aux__ign", "void *", Some("__ign")));

    // `__must_check` is not part of the return type
    assert_eq!(m.kfunc_named("bpf_mini_plain").return_type, "long");
    // `(void)` is no parameter
    assert_eq!(m.kfunc_named("truncated_kfunc").params, []);
    // the first of two #ifdef/#else definitions, with its condition
    let c = m.kfunc_named("bpf_cgroup_acquire");
    assert_eq!(
        (c.line, c.condition.as_deref()),
        (48, Some("defined(CONFIG_CGROUPS)"))
    );
}

#[test]
fn definitions_found_by_the_second_look() {
    let m = manifest();
    let u = m.kfunc_named("update_socket_protocol");
    assert_eq!((u.file.as_str(), u.line), ("net/core/sock.c", 11));
    assert!(!u.bpf_kfunc_attr);
    let i = m.kfunc_named("bpf_mini_inline");
    assert_eq!(i.file, "include/net/mini.h");
    // the header's include guard conditions nothing
    assert_eq!(i.condition, None);
    assert_eq!(m.stats.files_second_look, 2);
}

#[test]
fn verifier_supplied_arguments_in_both_conventions() {
    let m = manifest();
    let args = |name: &str| m.kfunc_named(name).verifier_args.clone();
    let want = |convention, name: &str, omitted: &[usize], legacy_impl| VerifierArgs {
        convention,
        bpf_name: name.into(),
        impl_name: format!("{name}_impl"),
        omitted_params: omitted.to_vec(),
        legacy_impl,
    };
    use ArgsConvention::{ImplicitArgs, MagicArgs};
    assert_eq!(
        args("bpf_mini_printk"),
        Some(want(MagicArgs, "bpf_mini_printk", &[4], false))
    );
    assert_eq!(
        args("bpf_mini_two"),
        Some(want(MagicArgs, "bpf_mini_two", &[1, 2], false))
    );
    // upstream: by type, const or not; the tree's list adds bpf_mini_ctx
    assert_eq!(
        args("bpf_obj_new"),
        Some(want(ImplicitArgs, "bpf_obj_new", &[1, 2], false))
    );
    let w = args("bpf_wq_set_callback").unwrap();
    assert_eq!((w.omitted_params, w.legacy_impl), (vec![3], true));
    assert_eq!(args("bpf_wq_set_callback_impl"), None);
    assert_eq!(args("bpf_task_acquire"), None);
}

#[test]
fn every_mistake_is_a_diagnostic_with_its_place() {
    let m = manifest();
    let got: Vec<(&str, &str, u32, &str)> = m
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.severity.as_str(),
                d.code.as_str(),
                d.line,
                d.file.as_str(),
            )
        })
        .collect();
    let b = "drivers/broken/broken.c";
    let t = "drivers/broken/truncated.c";
    let mg = "net/mini/magic.c";
    let want: Vec<(&str, &str, u32, &str)> = vec![
        ("error", "magic-without-arg", 6, b),
        ("error", "magic-not-trailing", 7, b),
        ("warning", "magic-arg-unflagged", 8, b),
        ("error", "inconsistent-magic-flag", 9, b),
        ("error", "unknown-flag", 13, b),
        ("warning", "missing-definition", 18, b),
        ("warning", "unrecognised-set-line", 19, b),
        ("error", "mismatched-set-end", 25, b),
        ("warning", "entry-outside-set", 27, b),
        ("warning", "unresolved-registration", 36, b),
        ("error", "unterminated-set", 7, t),
        ("warning", "unrecognised-set-line", 9, t),
        ("error", "magic-table-missing", 43, mg),
        ("error", "magic-table-missing", 43, mg),
        ("error", "magic-table-unflagged", 48, mg),
    ];
    assert_eq!(got, want);
    let no_magic = m
        .diagnostics
        .iter()
        .find(|d| d.code == "magic-without-arg")
        .unwrap();
    assert_eq!(
        no_magic.message,
        "`broken_no_magic` is flagged KF_MAGIC_ARGS but has no parameter named `*__magic`"
    );
    let unknown = &m.set_named("broken_ids").entries[0];
    assert_eq!(unknown.flags, strings(&["KF_NOT_A_FLAG"]));
    assert_eq!(unknown.flags_value, None);
}

/// Under `-q` stderr holds the manifest's errors and warnings, one line
/// each and each once: the 15 of `every_mistake_is_a_diagnostic_with_its_place`
/// (a problem reached twice, as `magic-table-unflagged` at magic.c:48 once
/// was, is one line).
#[test]
fn quiet_prints_each_diagnostic_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("m.json");
    let err = cmd([mini()])
        .arg("-q")
        .arg("-o")
        .arg(&out)
        .expect(1)
        .stderr();
    let lines: Vec<&str> = err.lines().collect();
    let unique: std::collections::BTreeSet<&str> = lines.iter().copied().collect();
    assert_eq!((lines.len(), unique.len()), (15, 15), "{err}");
    let m = read_manifest(&out);
    let rendered: Vec<String> = m.diagnostics.iter().map(|d| d.render()).collect();
    assert_eq!(lines, rendered);
}

#[test]
fn diagnostics_are_printed_compiler_style() {
    let err = cmd([mini()]).expect(1).stderr();
    assert!(
        err.contains("drivers/broken/broken.c:13:1: error[unknown-flag]: `KF_NOT_A_FLAG`"),
        "{err}"
    );
    assert!(
        err.contains("drivers/broken/truncated.c:7:1: error[unterminated-set]"),
        "{err}"
    );
}

#[test]
fn whole_manifest_matches_the_reviewed_snapshot() {
    let mut m = manifest();
    m.generator = "kfunc-scan".into();
    insta::assert_json_snapshot!("linux-mini", m);
}

// testdata/linux-xmacro: sets filled by macros (X-macros). Values worked
// out by hand from its sources.

fn xmacro_manifest() -> Manifest {
    let tree = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-xmacro");
    cmd([tree]).expect(0).manifest()
}

/// (name, flags value, condition, line) of each entry of the set.
fn entries_of(m: &Manifest, set: &str) -> Vec<(String, Option<u64>, Option<String>, u32)> {
    m.set_named(set)
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.flags_value, e.condition.clone(), e.line))
        .collect()
}

fn e(name: &str, flags: u64, line: u32) -> (String, Option<u64>, Option<String>, u32) {
    (name.into(), Some(flags), None, line)
}

#[test]
fn xmacro_object_function_list_and_pasted_uses_become_entries_at_their_line() {
    let m = xmacro_manifest();
    // KF_ACQUIRE 1, KF_RELEASE 2, KF_RET_NULL 4, KF_TRUSTED_ARGS 16,
    // KF_SLEEPABLE 32 (include/linux/btf.h of the fixture)
    let mut want = vec![
        e("xm_plain", 0, 22),
        e("xm_object", 1, 23),       // object-like, defined in the file
        e("xm_function", 2 | 4, 24), // function-like
        e("xm_list_one", 16, 26),    // list macro of include/net/xm.h,
        e("xm_list_two", 1 | 4, 26), // item macro defined just before
        e("xm_pasted", 32, 27),      // `xm_##suffix`, through XM_ENTRY
    ];
    // a use under #ifdef, over two lines: the condition and line of the use
    want.push((
        "xm_cond".into(),
        Some(16),
        Some("defined(CONFIG_XM_COND)".into()),
        29,
    ));
    assert_eq!(entries_of(&m, "xm_ids"), want);
    // the kfuncs carry the sets and flags of their expanded entries
    let k = m.kfunc_named("xm_list_two");
    assert_eq!(k.sets, strings(&["xm_ids", "xm_nested_ids"]));
    assert_eq!(k.flags, strings(&["KF_ACQUIRE", "KF_RET_NULL"]));
    assert_eq!(k.prog_types, strings(&["BPF_PROG_TYPE_XDP"]));
}

#[test]
fn xmacro_nested_lists_reach_headers_the_header_includes() {
    let m = xmacro_manifest();
    // XM_ALL_xxx (xm.h) = XM_LIST_xxx (xm.h) XM_MORE_xxx (xm_more.h, which
    // xm.h includes as "xm_more.h")
    assert_eq!(
        entries_of(&m, "xm_nested_ids"),
        vec![
            e("xm_list_one", 16, 38),
            e("xm_list_two", 1 | 4, 38),
            e("xm_more", 32, 38)
        ]
    );
}

#[test]
fn xmacro_uses_that_cannot_be_read_keep_the_warning_and_say_why() {
    let m = xmacro_manifest();
    // only the written entry
    assert_eq!(entries_of(&m, "unread_ids"), vec![e("unread_ok", 0, 16)]);
    let f = "net/xm/unread.c";
    let got: Vec<(&str, u32, &str)> = m
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!((d.file.as_str(), d.severity.as_str()), (f, "warning"));
            (d.code.as_str(), d.line, d.message.as_str())
        })
        .collect();
    let unread = |quote: &str| {
        format!("set `unread_ids` holds `{quote}`, which is not a BTF_ID_FLAGS entry (a macro the scanner does not expand?); its entries are not listed")
    };
    let want: Vec<(&str, u32, String)> = vec![
        // defined nowhere
        ("unrecognised-set-line", 17, unread("UNREAD_NOWHERE_xxx")),
        // recursive: a diagnostic, not a hang
        (
            "macro-expansion",
            18,
            "cannot expand `UNREAD_LOOP`: `UNREAD_LOOP` expands into itself".into(),
        ),
        ("unrecognised-set-line", 18, unread("UNREAD_LOOP")),
        (
            "macro-expansion",
            19,
            "cannot expand `UNREAD_TWO(unread_ok)`: `UNREAD_TWO` takes 2 arguments, given 1".into(),
        ),
        ("unrecognised-set-line", 19, unread("UNREAD_TWO(unread_ok)")),
        // the list's item macro is #undef'd at the end of xm.h
        ("unrecognised-set-line", 20, unread("XM_LIST_xxx")),
    ];
    let want: Vec<(&str, u32, &str)> = want.iter().map(|(c, l, m)| (*c, *l, m.as_str())).collect();
    assert_eq!(got, want);
}

// testdata/linux-lookup: the second look reads only files that define what
// is missing, never the tree again.

#[test]
fn the_second_look_reads_only_files_defining_a_missing_name() {
    let tree = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-lookup");
    let m = cmd([tree]).expect(0).manifest();
    // lk_hook: defined without __bpf_kfunc in net/lk/hook.c; mentioned by
    // include/linux/lk.h, kernel/bpf/caller.c and net/lk/caller.c
    let h = m.kfunc_named("lk_hook");
    assert_eq!(
        (h.file.as_str(), h.line, h.bpf_kfunc_attr),
        ("net/lk/hook.c", 5, false)
    );
    // lk_implicit_impl: defined nowhere (upstream has no _impl partners),
    // mentioned by lk.h and kernel/bpf/caller.c
    let v = m.kfunc_named("lk_implicit").verifier_args.clone().unwrap();
    assert_eq!((v.omitted_params, v.legacy_impl), (vec![1], false));
    // one file read, hook.c; before the walk noted definitions, the three
    // files mentioning the names were read and parsed too (and every file of
    // the tree was read again, in three passes, for lk_implicit_impl)
    assert_eq!(m.stats.files_second_look, 1);
    assert_eq!((m.stats.files_read, m.stats.files_parsed), (6, 1));
}
