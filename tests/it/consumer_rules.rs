//! The consumers' rules, in-process on manifests built in code: where a
//! kfunc is callable from, what the diff calls breaking, what the header
//! declares and what the docs model links. Each test pins a rule a one-line
//! change would break.

use crate::manifest_fixture;
use kfunc_scan::diff::{diff, Change};
use kfunc_scan::header::{header, HeaderOptions};
use kfunc_scan::manifest::Manifest;
use manifest_fixture::*;

const TRACING: &str = "BPF_PROG_TYPE_TRACING";
const LSM: &str = "BPF_PROG_TYPE_LSM";
const XDP: &str = "BPF_PROG_TYPE_XDP";
const TC: &str = "BPF_PROG_TYPE_SCHED_CLS";
const UNSPEC: &str = "BPF_PROG_TYPE_UNSPEC";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- where a kfunc is callable from: one definition for every consumer

#[test]
fn callable_from_expands_hooks_and_the_common_hook() {
    let m = Fx::new()
        .set("tr", &[TRACING], &[("a", &[])])
        .set("common", &[UNSPEC], &[("b", &[])])
        .set("net", &[XDP, "fmodret"], &[("c", &[])])
        .set("odd", &["BPF_PROG_TYPE_NOT_IN_TABLE"], &[("d", &[])])
        .def(kfunc("a"))
        .def(kfunc("b"))
        .def(kfunc("c"))
        .def(kfunc("d"))
        .build();
    let every = |n: &str| m.effective_prog_types(m.kfunc(n).unwrap());
    // TRACING brings the types sharing its hook
    assert_eq!(every("a"), strings(&[LSM, TRACING]));
    // UNSPEC: every type of the table, not UNSPEC itself
    assert_eq!(every("b"), strings(&[LSM, TC, TRACING, XDP]));
    // fmod_ret registrations are not calls
    assert_eq!(every("c"), strings(&[XDP]));
    // a type the table does not know, as registered
    assert_eq!(every("d"), strings(&["BPF_PROG_TYPE_NOT_IN_TABLE"]));
    // ebpf-docs' form keeps the common hook as UNSPEC
    let common = m.kfunc_callable_from(m.kfunc("b").unwrap());
    assert!(common.common);
    assert_eq!(
        common.with_unspec().into_iter().collect::<Vec<_>>(),
        strings(&[UNSPEC])
    );
    // a set's form and its kfunc's agree
    assert_eq!(
        m.set_callable_from(&m.sets[0]),
        m.kfunc_callable_from(m.kfunc("a").unwrap())
    );
}

#[test]
fn callable_from_without_a_hook_table_is_as_registered() {
    let m = Fx::new()
        .without_hooks()
        .set("tr", &[TRACING, UNSPEC], &[("a", &[])])
        .def(kfunc("a"))
        .build();
    assert_eq!(
        m.effective_prog_types(m.kfunc("a").unwrap()),
        strings(&[TRACING, UNSPEC])
    );
}

#[test]
fn docs_and_yaml_use_the_same_program_types() {
    let m = Fx::new()
        .set("tr", &[TRACING], &[("a", &["KF_RCU"])])
        .set("common", &[UNSPEC], &[("b", &[])])
        .def(kfunc("a"))
        .def(kfunc("b"))
        .build();
    let pages = kfunc_scan::docs::markdown(&m, None);
    let a = &pages["kfuncs/a.md"];
    assert!(a.contains("Callable from: [BPF_PROG_TYPE_LSM](../program-types/BPF_PROG_TYPE_LSM.md), [BPF_PROG_TYPE_TRACING]"), "{a}");
    // registered for TRACING alone, callable from LSM too: the page says why
    assert!(a.contains("several program types share one"), "{a}");
    assert!(a.find("share one") < a.find("Callable from:"), "{a}");
    // the program-type pages are those the kfunc pages link to
    for t in [LSM, TRACING, XDP, TC] {
        assert!(pages.contains_key(&format!("program-types/{t}.md")), "{t}");
    }
    assert!(!pages.contains_key(&format!("program-types/{UNSPEC}.md")));
    let y = kfunc_scan::docs::ebpf_docs_yaml(&m);
    assert!(y.contains("  tr:\n    funcs:\n      - name: a\n        flags: [KF_RCU]\n    program_types:\n      - name: BPF_PROG_TYPE_LSM\n      - name: BPF_PROG_TYPE_TRACING\n"), "{y}");
    assert!(y.contains("  common:\n    funcs:\n      - name: b\n    program_types:\n      - name: BPF_PROG_TYPE_UNSPEC\n"), "{y}");
}

// ---- the diff's rules

fn one_change(old: &Manifest, new: &Manifest, name: &str) -> Vec<Change> {
    let d = diff(old, new, false);
    assert!(d.added.is_empty() && d.removed.is_empty(), "{d:?}");
    d.changed
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.changes)
        .unwrap_or_default()
}

fn with_flags(flags: &[&str]) -> Manifest {
    Fx::new()
        .set("s", &[TRACING], &[("k", flags)])
        .def(kfunc("k"))
        .build()
}

#[test]
fn diff_flag_rules() {
    let breaking = |from: &[&str], to: &[&str]| {
        let c = one_change(&with_flags(from), &with_flags(to), "k");
        assert_eq!(c.len(), 1, "{c:?}");
        c[0].breaking()
    };
    // KF_RCU is a permission: lifting it breaks, granting it does not
    assert!(breaking(&["KF_RCU"], &[]));
    assert!(!breaking(&[], &["KF_RCU"]));
    // a restriction: the other way round
    assert!(breaking(&[], &["KF_TRUSTED_ARGS"]));
    assert!(!breaking(&["KF_TRUSTED_ARGS"], &[]));
    assert!(breaking(&[], &["KF_SLEEPABLE"]));
    // reference semantics break either way
    assert!(breaking(&["KF_ACQUIRE"], &[]));
    assert!(breaking(&[], &["KF_ACQUIRE"]));
    // calling conventions the verifier handles never do
    assert!(!breaking(&[], &["KF_FASTCALL"]));
    // one breaking flag among harmless ones is enough
    assert!(breaking(&["KF_TRUSTED_ARGS"], &["KF_RCU", "KF_SLEEPABLE"]));
    // the same flags in another order: no change
    assert!(one_change(
        &with_flags(&["KF_ACQUIRE", "KF_RET_NULL"]),
        &with_flags(&["KF_RET_NULL", "KF_ACQUIRE"]),
        "k"
    )
    .is_empty());
}

fn with_params(ret: &str, params: &[(&str, &str)]) -> Manifest {
    let mut k = kfunc("k");
    k.return_type = ret.into();
    k.params = params.iter().map(|(t, n)| param(t, n)).collect();
    Fx::new().set("s", &[TRACING], &[("k", &[])]).def(k).build()
}

#[test]
fn diff_prototype_rules() {
    let base = with_params("int", &[("struct task_struct *", "p"), ("u32", "len__sz")]);
    let judge = |new: Manifest| -> (bool, String) {
        match one_change(&base, &new, "k").as_slice() {
            [Change::Prototype { breaking, what, .. }] => (*breaking, what.clone()),
            other => panic!("{other:?}"),
        }
    };
    let renamed = judge(with_params(
        "int",
        &[("struct task_struct *", "task"), ("u32", "len__sz")],
    ));
    assert_eq!(renamed, (false, "parameter 0 renamed p → task".into()));
    let (b, what) = judge(with_params(
        "long",
        &[("struct task_struct *", "p"), ("u32", "len__sz")],
    ));
    assert!(b && what == "return type int → long", "{what}");
    let (b, what) = judge(with_params("int", &[("struct task_struct *", "p")]));
    assert!(b && what == "2 → 1 parameters", "{what}");
    let (b, what) = judge(with_params(
        "int",
        &[("struct task_struct *", "p"), ("u64", "len__sz")],
    ));
    assert!(b && what == "parameter 1 type u32 → u64", "{what}");
    let (b, what) = judge(with_params(
        "int",
        &[("struct task_struct *", "p"), ("u32", "len__szk")],
    ));
    assert!(b && what == "parameter 1 annotation __sz → __szk", "{what}");
    // the same prototype: nothing
    assert!(one_change(&base, &base, "k").is_empty());
}

#[test]
fn diff_verifier_supplied_arguments_are_not_the_programs() {
    let old = with_params("int", &[("int", "x")]);
    // the kernel gains a verifier-supplied argument: BPF programs call the same
    let mut k = kfunc("k");
    k.params = vec![param("int", "x"), param("struct bpf_prog_aux *", "aux")];
    let new = Fx::new()
        .set("s", &[TRACING], &[("k", &[])])
        .def(with_implicit_last(k, false))
        .build();
    assert!(one_change(&old, &new, "k").is_empty());
}

#[test]
fn diff_program_type_and_set_rules() {
    let m = |progs: &[&str], set: &str| {
        Fx::new()
            .set(set, progs, &[("k", &[])])
            .def(kfunc("k"))
            .build()
    };
    // XDP lost: a program type that could call it no longer can
    let c = one_change(&m(&[XDP, TC], "s"), &m(&[TC], "s"), "k");
    assert!(
        matches!(c.as_slice(), [Change::ProgramTypes { breaking: true, .. }]),
        "{c:?}"
    );
    // gained: not breaking
    let c = one_change(&m(&[TC], "s"), &m(&[XDP, TC], "s"), "k");
    assert!(
        matches!(
            c.as_slice(),
            [Change::ProgramTypes {
                breaking: false,
                ..
            }]
        ),
        "{c:?}"
    );
    // registered for TRACING instead of LSM: the same hook, no change
    assert!(one_change(&m(&[LSM], "s"), &m(&[TRACING], "s"), "k").is_empty());
    // moved to another set: reported, not breaking
    let c = one_change(&m(&[TC], "s"), &m(&[TC], "t"), "k");
    assert!(
        matches!(c.as_slice(), [Change::Sets { .. }]) && !c[0].breaking(),
        "{c:?}"
    );
}

#[test]
fn diff_counts_and_selftests() {
    let mut test_k = kfunc("bpf_kfunc_call_test");
    test_k.file = "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c".into();
    let old = Fx::new()
        .set(
            "s",
            &[TC],
            &[("gone", &[]), ("kept", &["KF_RCU"]), ("same", &[])],
        )
        .set("t", &[TC], &[("bpf_kfunc_call_test", &[])])
        .def(kfunc("gone"))
        .def(kfunc("kept"))
        .def(kfunc("same"))
        .def(test_k)
        .build();
    let new = Fx::new()
        .set("s", &[TC], &[("kept", &[]), ("same", &[]), ("fresh", &[])])
        .def(kfunc("kept"))
        .def(kfunc("same"))
        .def(kfunc("fresh"))
        .build();
    let d = diff(&old, &new, false);
    assert_eq!(d.added, ["fresh"]);
    // the selftests' kfunc is left out
    assert_eq!(d.removed, ["gone"]);
    assert_eq!(d.changed.len(), 1);
    // one removal, one breaking change
    assert_eq!(d.breaking, 2);
    let all = diff(&old, &new, true);
    assert_eq!(all.removed, ["bpf_kfunc_call_test", "gone"]);
    assert_eq!(all.breaking, 3);
    let text = kfunc_scan::diff::report(&d);
    // the count says what it leaves out
    assert_eq!(d.selftests_left_out, 1);
    assert_eq!(all.selftests_left_out, 0);
    assert!(
        text.starts_with("kfuncs 7.0 → 7.0: 1 added, 1 removed, 1 changed (2 breaking); 1 of the selftests' kfuncs not counted (--with-selftests)\n"),
        "{text}"
    );
    assert!(kfunc_scan::diff::report(&all)
        .starts_with("kfuncs 7.0 → 7.0: 1 added, 2 removed, 1 changed (3 breaking)\n"));
    assert!(
        text.contains("  ~ kept (breaking)\n      flags [breaking]: +[] -[KF_RCU]\n"),
        "{text}"
    );
}

#[test]
fn diff_ignores_fmodret_targets_and_uncallable_kfuncs() {
    let old = Fx::new()
        .set("targets", &["fmodret"], &[("hook_me", &[])])
        .def(kfunc("hook_me"))
        .def(kfunc("helper_only"))
        .build();
    let new = Fx::new().build();
    let d = diff(&old, &new, false);
    assert!(d.removed.is_empty() && d.breaking == 0, "{d:?}");
}

// ---- the header

#[test]
fn header_declares_impl_forms_once_and_leaves_selftests_out() {
    let mut cb = kfunc("bpf_cb");
    cb.params = vec![param("int", "x"), param("void *", "aux__ign")];
    let mut legacy_impl = kfunc("bpf_cb_impl");
    legacy_impl.params = cb.params.clone();
    let mut gen = kfunc("bpf_gen");
    gen.params = vec![
        param("struct bpf_wq *", "wq"),
        param("struct bpf_prog_aux *", "aux"),
    ];
    let mut test_k = kfunc("bpf_test_only");
    test_k.file = "tools/testing/selftests/bpf/test_kmods/bpf_testmod.c".into();
    let m = Fx::new()
        .set(
            "s",
            &[TC],
            &[
                ("bpf_cb", &["KF_IMPLICIT_ARGS"]),
                ("bpf_cb_impl", &[]),
                ("bpf_gen", &["KF_IMPLICIT_ARGS"]),
                ("bpf_test_only", &[]),
            ],
        )
        .def(with_implicit_last(cb, true))
        .def(legacy_impl)
        .def(with_implicit_last(gen, false))
        .def(test_k)
        .build();
    let h = header(&m, &HeaderOptions::default());
    let decls: Vec<&str> = h.lines().filter(|l| l.starts_with("extern ")).collect();
    assert_eq!(
        decls,
        [
            "extern int bpf_cb(int x) __ksym __weak;",
            "extern int bpf_cb_impl(int x, void *aux__ign) __ksym __weak;",
            "extern int bpf_gen(struct bpf_wq *wq) __ksym __weak;",
            "extern int bpf_gen_impl(struct bpf_wq *wq, struct bpf_prog_aux *aux) __ksym __weak;",
        ]
    );
    assert!(
        h.contains(
            "/* bpf_gen: kernel/bpf/helpers.c:10; KF_IMPLICIT_ARGS; the verifier supplies aux */"
        ),
        "{h}"
    );
    assert!(
        h.contains("\nstruct bpf_prog_aux;\nstruct bpf_wq;\n\n"),
        "{h}"
    );
    assert!(h.contains("#define __ksym __attribute__((section(\".ksyms\")))"));
    let all = header(
        &m,
        &HeaderOptions {
            with_selftests: true,
        },
    );
    assert!(all.contains("extern int bpf_test_only(void) __ksym __weak;"));
}

// ---- the docs model

#[test]
fn docs_link_each_set_once_and_name_pages_apart() {
    let mut m = Fx::new()
        .set("ids", &[TC], &[("a", &[]), ("missing", &[])])
        .set("ids", &[XDP], &[("a", &[])])
        .def(kfunc("a"))
        .build();
    // the second `ids` in another file; an entry twice (#if / #else) in the first
    m.sets[1].file = "net/core/filter.c".into();
    let mut again = m.sets[0].entries[0].clone();
    again.condition = Some("!defined(CONFIG_X)".into());
    m.sets[0].entries.push(again);
    let pages = kfunc_scan::docs::markdown(&m, None);
    let a = &pages["kfuncs/a.md"];
    assert_eq!(a.matches("](../sets/").count(), 2, "{a}");
    assert!(a.contains("(../sets/ids--kernel-bpf-helpers-c.md)"), "{a}");
    assert!(a.contains("(../sets/ids--net-core-filter-c.md)"), "{a}");
    let set = &pages["sets/ids--kernel-bpf-helpers-c.md"];
    assert!(set.contains("| missing (definition not found) |"), "{set}");
    assert!(set.contains("| [a](../kfuncs/a.md) |"), "{set}");
    // two sets of one name in one file still get a page each
    m.sets[1].file = m.sets[0].file.clone();
    let pages = kfunc_scan::docs::markdown(&m, None);
    let set_pages = pages.keys().filter(|p| p.starts_with("sets/ids")).count();
    assert_eq!(set_pages, 2, "{:?}", pages.keys().collect::<Vec<_>>());
}

/// A manifest (untrusted input) may repeat a set at one place: each copy
/// still gets a page of its own, the line and then a count telling them
/// apart (2, 3, …).
#[test]
fn sets_repeated_at_one_place_get_numbered_pages() {
    let mut m = Fx::new()
        .set("ids", &[TC], &[("a", &[])])
        .def(kfunc("a"))
        .build();
    // `_` stays in the file's part of the name, `/` and `.` become `-`
    m.sets[0].file = "kernel/bpf/bpf_iter.c".into();
    for _ in 0..3 {
        let s = m.sets[0].clone();
        m.sets.push(s);
    }
    let pages = kfunc_scan::docs::markdown(&m, None);
    let sets: Vec<&str> = pages
        .keys()
        .filter(|p| p.starts_with("sets/ids"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        sets,
        [
            "sets/ids--kernel-bpf-bpf_iter-c--100--2.md",
            "sets/ids--kernel-bpf-bpf_iter-c--100--3.md",
            "sets/ids--kernel-bpf-bpf_iter-c--100.md",
            "sets/ids--kernel-bpf-bpf_iter-c.md",
        ]
    );
}

/// The two indexes: each set once (its file, entry count and program
/// types as registered), each program type with its hook and how many
/// kfuncs it may call (the common hook's set reaching every hooked type).
#[test]
fn markdown_indexes_of_sets_and_program_types() {
    let m = Fx::new()
        .set("tr", &[TRACING], &[("a", &[]), ("b", &[])])
        .set("common", &[UNSPEC], &[("c", &[])])
        .def(kfunc("a"))
        .def(kfunc("b"))
        .def(kfunc("c"))
        .build();
    let pages = kfunc_scan::docs::markdown(&m, None);
    let marker = kfunc_scan::docs::MARKER;
    assert_eq!(
        pages["sets/index.md"],
        format!(
            "{marker}\n# Kfunc sets of Linux 7.0\n\n| set | file | kfuncs | program types |\n| --- | --- | --- | --- |\n\
| [tr](tr.md) | `kernel/bpf/helpers.c:100` | 2 | BPF_PROG_TYPE_TRACING |\n\
| [common](common.md) | `kernel/bpf/helpers.c:200` | 1 | BPF_PROG_TYPE_UNSPEC |\n"
        )
    );
    assert_eq!(
        pages["program-types/index.md"],
        format!(
            "{marker}\n# Kfuncs by program type, Linux 7.0\n\n| program type | hook | kfuncs |\n| --- | --- | --- |\n\
| [{LSM}]({LSM}.md) | BTF_KFUNC_HOOK_TRACING | 3 |\n\
| [{TC}]({TC}.md) | BTF_KFUNC_HOOK_TC | 1 |\n\
| [{TRACING}]({TRACING}.md) | BTF_KFUNC_HOOK_TRACING | 3 |\n\
| [{XDP}]({XDP}.md) | BTF_KFUNC_HOOK_XDP | 1 |\n"
        )
    );
}

// ---- types as the verifier presents them (conventions::VERIFIER_TYPES)

/// Debian 6.1's and 6.12's bpf_verify_pkcs7_signature.
fn pkcs7(kernel_type: bool) -> Manifest {
    let (ty, d, s) = if kernel_type {
        ("struct bpf_dynptr_kern *", "data_ptr", "sig_ptr")
    } else {
        ("struct bpf_dynptr *", "data_p", "sig_p")
    };
    let k = kfunc_with(
        "bpf_verify_pkcs7_signature",
        "int",
        &[(ty, d), (ty, s), ("struct bpf_key *", "trusted_keyring")],
    );
    Fx::new()
        .set(
            "key_sig_kfunc_set",
            &[TRACING],
            &[(&k.name.clone(), &["KF_SLEEPABLE"])],
        )
        .def(k)
        .build()
}

#[test]
fn diff_compares_types_as_bpf_programs_have_them() {
    let c = one_change(&pkcs7(true), &pkcs7(false), "bpf_verify_pkcs7_signature");
    match c.as_slice() {
        [Change::Prototype {
            breaking,
            what,
            old,
            ..
        }] => {
            assert!(!breaking, "{what}");
            assert_eq!(
                what,
                "parameter 0 renamed data_ptr → data_p; parameter 1 renamed sig_ptr → sig_p"
            );
            // the old side is shown as BPF programs called it too
            assert_eq!(
                old,
                "int bpf_verify_pkcs7_signature(struct bpf_dynptr *data_ptr, struct bpf_dynptr *sig_ptr, struct bpf_key *trusted_keyring)"
            );
        }
        other => panic!("{other:?}"),
    }
    // a real type change next to it still breaks
    let mut other = pkcs7(false);
    other.kfuncs[0].params[2].ty = "struct key *".into();
    let c = one_change(&pkcs7(true), &other, "bpf_verify_pkcs7_signature");
    assert!(
        matches!(c.as_slice(), [Change::Prototype { breaking: true, what, .. }]
            if what.contains("parameter 2 type struct bpf_key * → struct key *")),
        "{c:?}"
    );
}

#[test]
fn header_declares_the_program_s_dynptr_type() {
    let h = header(&pkcs7(true), &HeaderOptions::default());
    assert!(
        h.contains("extern int bpf_verify_pkcs7_signature(struct bpf_dynptr *data_ptr, struct bpf_dynptr *sig_ptr, struct bpf_key *trusted_keyring) __ksym __weak;"),
        "{h}"
    );
    assert!(h.contains("struct bpf_dynptr;\n"), "{h}");
    assert!(!h.contains("bpf_dynptr_kern"), "{h}");
    // the manifest keeps the kernel's own text
    let m = pkcs7(true);
    assert_eq!(m.kfuncs[0].params[0].ty, "struct bpf_dynptr_kern *");
}

// ---- the implicit-arguments transition: foo_impl(…, void *aux__ign) → foo(…, aux)

const WQ_PARAMS: [(&str, &str); 3] = [
    ("struct bpf_wq *", "wq"),
    ("int (*)(void *map, int *key, void *value)", "callback_fn"),
    ("unsigned int", "flags"),
];

/// The old `bpf_wq_set_callback_impl` with `last` as its last parameter.
fn wq_impl(last: (&str, &str)) -> Manifest {
    let mut params = WQ_PARAMS.to_vec();
    params.push(last);
    let k = kfunc_with("bpf_wq_set_callback_impl", "int", &params);
    Fx::new()
        .set("common", &[UNSPEC], &[("bpf_wq_set_callback_impl", &[])])
        .def(k)
        .build()
}

/// The new KF_IMPLICIT_ARGS `bpf_wq_set_callback`, `edit`ed first.
fn wq_implicit(edit: impl FnOnce(&mut kfunc_scan::manifest::Kfunc)) -> Manifest {
    let mut params = WQ_PARAMS.to_vec();
    params.push(("struct bpf_prog_aux *", "aux"));
    let mut k = kfunc_with("bpf_wq_set_callback", "int", &params);
    edit(&mut k);
    Fx::new()
        .set(
            "common",
            &[UNSPEC],
            &[("bpf_wq_set_callback", &["KF_IMPLICIT_ARGS"])],
        )
        .def(with_implicit_last(k, false))
        .build()
}

#[test]
fn diff_implicit_args_transition_is_a_compatible_rename() {
    let old = wq_impl(("void *", "aux__ign"));
    let new = wq_implicit(|_| {});
    let d = diff(&old, &new, false);
    assert!(d.added.is_empty() && d.removed.is_empty(), "{d:?}");
    assert_eq!(d.breaking, 0, "{d:?}");
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].name, "bpf_wq_set_callback_impl");
    match d.changed[0].changes.as_slice() {
        [Change::ImplicitArgsRename {
            new_name,
            impl_prototype,
            flag,
            ..
        }, Change::Flags {
            breaking: false, ..
        }] => {
            assert_eq!(new_name, "bpf_wq_set_callback");
            assert_eq!(flag, "KF_IMPLICIT_ARGS");
            assert!(impl_prototype.starts_with("int bpf_wq_set_callback_impl("));
        }
        other => panic!("{other:?}"),
    }
    let text = kfunc_scan::diff::report(&d);
    assert!(
        text.starts_with("kfuncs 7.0 → 7.0: 0 added, 0 removed, 1 changed (0 breaking); 1 of the changed renamed compatibly"),
        "{text}"
    );
    assert!(
        text.contains("  ~ bpf_wq_set_callback_impl → bpf_wq_set_callback\n      renamed compatibly → bpf_wq_set_callback (KF_IMPLICIT_ARGS)"),
        "{text}"
    );
    // the verifier-supplied argument already typed in the old kernel
    let same = wq_impl(("struct bpf_prog_aux *", "aux__ign"));
    assert!(kfunc_scan::diff::is_implicit_args_rename(
        &same.kfuncs[0],
        &new.kfuncs[0]
    ));
}

#[test]
fn diff_implicit_args_rename_needs_the_same_full_prototype() {
    use kfunc_scan::diff::is_implicit_args_rename;
    let old = wq_impl(("void *", "aux__ign"));
    let not_renamed = |old: &Manifest, new: &Manifest| {
        assert!(!is_implicit_args_rename(&old.kfuncs[0], &new.kfuncs[0]));
        let d = diff(old, new, false);
        assert_eq!(d.removed, ["bpf_wq_set_callback_impl"], "{d:?}");
        assert_eq!(d.added, ["bpf_wq_set_callback"], "{d:?}");
        assert!(d.changed.is_empty() && d.breaking == 1, "{d:?}");
    };
    // a parameter the program passes changed type
    not_renamed(&old, &wq_implicit(|k| k.params[2].ty = "u64".into()));
    // … or name
    not_renamed(&old, &wq_implicit(|k| k.params[0].name = "w".into()));
    // the return type changed
    not_renamed(&old, &wq_implicit(|k| k.return_type = "long".into()));
    // a parameter more
    not_renamed(
        &old,
        &wq_implicit(|k| k.params.insert(0, param("int", "x"))),
    );
    // the old verifier-supplied slot was no pointer
    not_renamed(&wq_impl(("u64", "aux__ign")), &wq_implicit(|_| {}));
    // nor another pointer than void *
    not_renamed(&wq_impl(("int *", "aux__ign")), &wq_implicit(|_| {}));
    // another argument than the verifier's, by its name without annotation
    not_renamed(&wq_impl(("void *", "ctx__ign")), &wq_implicit(|_| {}));
    // `void *` becomes only a struct pointer, not any pointer
    not_renamed(
        &old,
        &wq_implicit(|k| {
            if let Some(last) = k.params.last_mut() {
                last.ty = "int *".into();
            }
        }),
    );
    // the new name's _impl is another kfunc's: no rename either
    let mut other = wq_implicit(|_| {});
    other.kfuncs[0].verifier_args.as_mut().unwrap().impl_name = "bpf_other_impl".into();
    not_renamed(&old, &other);
}

#[test]
fn diff_implicit_args_rename_keeps_breaking_changes() {
    // the old name still loads, but a program type lost is still lost
    let old = Fx::new()
        .set("tc", &[TC, XDP], &[("bpf_wq_set_callback_impl", &[])])
        .def(kfunc_with(
            "bpf_wq_set_callback_impl",
            "int",
            &[("int", "x"), ("void *", "aux__ign")],
        ))
        .build();
    let mut k = kfunc_with(
        "bpf_wq_set_callback",
        "int",
        &[("int", "x"), ("struct bpf_prog_aux *", "aux")],
    );
    k = with_implicit_last(k, false);
    let new = Fx::new()
        .set(
            "tc",
            &[TC],
            &[("bpf_wq_set_callback", &["KF_IMPLICIT_ARGS"])],
        )
        .def(k)
        .build();
    let d = diff(&old, &new, false);
    assert!(d.removed.is_empty() && d.added.is_empty(), "{d:?}");
    assert_eq!(d.breaking, 1, "{d:?}");
    assert!(d.changed[0]
        .changes
        .iter()
        .any(|c| matches!(c, Change::ProgramTypes { breaking: true, .. })));
}

#[test]
fn diff_kept_impl_kfunc_is_no_rename() {
    // the new tree still lists the _impl (the legacy form): both diffed as they are
    let old = wq_impl(("void *", "aux__ign"));
    let mut params = WQ_PARAMS.to_vec();
    params.push(("void *", "aux__ign"));
    let legacy = kfunc_with("bpf_wq_set_callback_impl", "int", &params);
    let mut params = WQ_PARAMS.to_vec();
    params.push(("struct bpf_prog_aux *", "aux"));
    let new = Fx::new()
        .set(
            "common",
            &[UNSPEC],
            &[
                ("bpf_wq_set_callback", &["KF_IMPLICIT_ARGS"]),
                ("bpf_wq_set_callback_impl", &[]),
            ],
        )
        .def(with_implicit_last(
            kfunc_with("bpf_wq_set_callback", "int", &params),
            true,
        ))
        .def(legacy)
        .build();
    let d = diff(&old, &new, false);
    assert_eq!(d.added, ["bpf_wq_set_callback"]);
    assert!(d.removed.is_empty() && d.changed.is_empty(), "{d:?}");
}

#[test]
fn diff_report_shows_only_the_sections_it_has() {
    use kfunc_scan::diff::report;
    let m = with_flags(&[]);
    let same = report(&diff(&m, &m, false));
    for section in ["\nadded:", "\nchanged:", "\nremoved"] {
        assert!(!same.contains(section), "{section} in\n{same}");
    }
    let changed = report(&diff(&m, &with_flags(&["KF_SLEEPABLE"]), false));
    assert!(changed.contains("\nchanged:"), "{changed}");
    assert!(!changed.contains("\nadded:"), "{changed}");
    let empty = Fx::new().build();
    let added = report(&diff(&empty, &m, false));
    assert!(
        added.contains("\nadded:") && !added.contains("\nchanged:"),
        "{added}"
    );
}
