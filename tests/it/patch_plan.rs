//! The patcher in-process, on small BTFs built with the crate's writer: a
//! refused plan leaves the BTF untouched (type count and bytes), and each
//! refusal and warning is there for its own reason. Each test names the
//! one-line change to the patcher it catches.

use crate::common;
use common::fixture::Builder;
use kfunc_scan::btf::{Btf, Endian, Kind, NewType};
use kfunc_scan::manifest::{fixture, BuildInfo, BuiltInto, Kfunc, KfuncSet, Manifest, SetKind};
use kfunc_scan::patch::{is_object, patch, PatchError, PatchOptions, Report};

/// A kfunc `name(params)`, each param `type name`; `omitted`: the indices
/// of its verifier-supplied parameters.
fn kfunc(name: &str, params: &[(&str, &str)], omitted: &[usize], legacy_impl: bool) -> Kfunc {
    let mut k = Kfunc {
        params: params
            .iter()
            .map(|(ty, n)| fixture::bare_param(ty, n))
            .collect(),
        sets: vec!["test_kfunc_ids".into()],
        ..fixture::kfunc(name, "kernel/bpf/test.c")
    };
    if !omitted.is_empty() {
        k.verifier_args = Some(fixture::implicit_args(&k, omitted, legacy_impl));
    }
    k
}

/// One kfunc set listing every kfunc.
fn manifest(kfuncs: Vec<Kfunc>) -> Manifest {
    let entries = kfuncs
        .iter()
        .map(|k| fixture::entry(&k.name, &[]))
        .collect();
    Manifest {
        sets: vec![KfuncSet {
            entries,
            ..fixture::set("test_kfunc_ids", SetKind::Kfuncs, "kernel/bpf/test.c", 1)
        }],
        kfuncs,
        ..Default::default()
    }
}

/// A BTF with a FUNC for each kfunc of `m`, after `extra` has added to it,
/// read back (a patch finds only strings that were read).
fn btf_for(
    m: &Manifest,
    extra: impl FnOnce(&mut Builder, &std::collections::HashMap<String, u32>),
) -> Btf {
    let mut b = Builder::new(Endian::Little);
    let funcs = b.kfuncs(m, |_| true);
    extra(&mut b, &funcs);
    Btf::parse(&b.finish(), None).expect("valid")
}

fn good_pair() -> Kfunc {
    kfunc(
        "bpf_good",
        &[("int", "x"), ("struct bpf_prog_aux *", "aux")],
        &[1],
        false,
    )
}

fn refused(r: Result<Report, PatchError>) -> Vec<String> {
    match r {
        Err(PatchError::Refused(list)) => list,
        Err(e) => panic!("not a refusal: {e}"),
        Ok(r) => panic!("accepted: {r:?}"),
    }
}

const WITH_TAGS: PatchOptions = PatchOptions {
    add_decl_tags: true,
    strict: false,
    object: None,
    no_pairs: false,
};

/// The old patcher appended a decl tag and a pair, repointed a FUNC, then
/// refused: the Btf it returned an error for had 8 types more.
#[test]
fn a_refused_plan_leaves_the_btf_untouched() {
    // bpf_good would get a tag and a pair; bpf_bad's verifier-supplied
    // parameter is an int, which is refused after that
    let bad = kfunc("bpf_bad", &[("int", "x"), ("int", "aux")], &[1], false);
    let m = manifest(vec![good_pair(), bad]);
    let mut btf = btf_for(&m, |_, _| {});
    let (count, bytes) = (btf.end_id(), btf.to_bytes());
    let list = refused(patch(&mut btf, &m, &WITH_TAGS));
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(btf.end_id(), count, "no type appended");
    assert_eq!(btf.to_bytes(), bytes, "no byte changed");

    // without the bad kfunc the same BTF is patched: the plan was the refusal
    let m = manifest(vec![good_pair()]);
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1);
    assert_eq!(r.decl_tags_added.len(), 1);
    assert_eq!(
        btf.end_id(),
        count + 3,
        "a tag, the _impl FUNC, the reduced prototype"
    );
    assert_eq!(r.types_after, btf.end_id() - 1);
}

/// `no_pairs`: a kfunc with verifier-supplied arguments is tagged as any
/// set member and left unpaired (Linux 7.0+'s resolve_btfids pairs it).
#[test]
fn no_pairs_tags_and_leaves_the_pair_to_the_kernel() {
    let m = manifest(vec![good_pair()]);
    let mut btf = btf_for(&m, |_, _| {});
    let count = btf.end_id();
    let opts = PatchOptions {
        no_pairs: true,
        ..WITH_TAGS
    };
    let r = patch(&mut btf, &m, &opts).expect("accepted");
    assert!(
        r.pairs_added.is_empty() && r.legacy_pairs.is_empty(),
        "{r:?}"
    );
    assert_eq!(r.decl_tags_added.len(), 1);
    assert_eq!(btf.end_id(), count + 1, "the tag alone");
}

/// Catches: deleting the non-pointer refusal.
#[test]
fn a_verifier_supplied_parameter_that_is_not_a_pointer_is_refused() {
    let k = kfunc("bpf_bad", &[("int", "x"), ("long", "aux")], &[1], false);
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        ["bpf_bad: parameter 1 `aux` is verifier-supplied in the source but not a pointer in the BTF"]
    );
}

/// Linux 7.1's `bpf_list_push_front_impl(head, node, meta, u64 off)`:
/// under KF_IMPLICIT_ARGS the first verifier-supplied parameter is a
/// pointer (recognised by its type); those after it are the verifier's
/// whatever their type. Its pair is added, the reduced prototype `(head,
/// node)`; the 7.1 build by hand failed here before (`off` "not a pointer").
#[test]
fn implicit_args_after_the_first_may_be_of_any_type() {
    let k = kfunc(
        "bpf_list_push_front",
        &[
            ("struct bpf_list_head *", "head"),
            ("struct bpf_list_node *", "node"),
            ("struct btf_struct_meta *", "meta"),
            ("u64", "off"),
        ],
        &[2, 3],
        false,
    );
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1, "{r:?}");
    let id = (1..btf.end_id())
        .find(|&id| {
            btf.get(id)
                .is_some_and(|t| t.kind() == Kind::Func && btf.name(&t) == "bpf_list_push_front")
        })
        .expect("the reduced FUNC");
    let proto = btf
        .get(id)
        .and_then(|t| t.target())
        .and_then(|p| btf.get(p))
        .expect("its prototype");
    assert_eq!(proto.vlen(), 2, "head and node only");
    // the first one is still checked
    let k = kfunc(
        "bpf_bad",
        &[
            ("int", "x"),
            ("long", "aux"),
            ("struct bpf_prog_aux *", "p"),
        ],
        &[1, 2],
        false,
    );
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        ["bpf_bad: parameter 1 `aux` is verifier-supplied in the source but not a pointer in the BTF"]
    );
}

/// Catches: taking a `const` pointer (or one behind a typedef) for a
/// non-pointer: modifiers and typedefs are looked through.
#[test]
fn a_verifier_supplied_const_pointer_is_a_pointer() {
    let k = kfunc(
        "bpf_const_aux",
        &[("int", "x"), ("struct bpf_prog_aux * const", "aux")],
        &[1],
        false,
    );
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1);
}

/// Catches: deleting the dropped-tag refusal.
#[test]
fn a_decl_tag_on_a_verifier_supplied_parameter_is_refused() {
    let m = manifest(vec![good_pair()]);
    let mut btf = btf_for(&m, |b, funcs| {
        b.tag("arg_ctx", funcs["bpf_good"], 1);
    });
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        ["bpf_good: decl tag(s) `arg_ctx` on parameter 1 would point past the reduced prototype, and an append-only edit cannot remove them"]
    );
    // a tag on a kept parameter is fine, and copied to the _impl
    let mut btf = btf_for(&m, |b, funcs| {
        b.tag("arg_ctx", funcs["bpf_good"], 0);
    });
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1);
}

/// Catches: taking the first of two same-named FUNCs instead of refusing.
#[test]
fn two_funcs_of_one_name_are_refused() {
    let m = manifest(vec![good_pair()]);
    let (mut first, mut second) = (0, 0);
    let mut btf = btf_for(&m, |b, funcs| {
        first = funcs["bpf_good"];
        let name = b.string("bpf_good");
        let proto = b.btf.get(funcs["bpf_good"]).unwrap().target().unwrap();
        second = b.btf.add_type(&NewType::func(name, 1, proto)).unwrap();
    });
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        [format!(
            "bpf_good: 2 FUNCs of that name in the BTF ([{first}, {second}])"
        )]
    );
    // the same for two _impl FUNCs
    let m = manifest(vec![good_pair()]);
    let mut btf = btf_for(&m, |b, funcs| {
        let name = b.string("bpf_good_impl");
        let proto = b.btf.get(funcs["bpf_good"]).unwrap().target().unwrap();
        for _ in 0..2 {
            b.btf.add_type(&NewType::func(name, 1, proto)).unwrap();
        }
    });
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        ["bpf_good: 2 FUNCs named bpf_good_impl in the BTF"]
    );
}

/// Catches: dropping either legacy `_impl` warning.
#[test]
fn legacy_impl_disagreements_are_warned_about() {
    // the source defines bpf_good_impl, the BTF lacks it: added, with a warning
    let mut k = good_pair();
    k.verifier_args.as_mut().unwrap().legacy_impl = true;
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(
        r.warnings,
        ["bpf_good: the source defines bpf_good_impl but this BTF lacks it; added"]
    );
    assert_eq!(r.pairs_added.len(), 1);

    // the BTF has bpf_good_impl, the source does not define it: kept, with a warning
    let m = manifest(vec![good_pair()]);
    let mut impl_id = 0;
    let mut btf = btf_for(&m, |b, funcs| {
        let name = b.string("bpf_good_impl");
        let proto = b.btf.get(funcs["bpf_good"]).unwrap().target().unwrap();
        impl_id = b.btf.add_type(&NewType::func(name, 1, proto)).unwrap();
    });
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(
        r.warnings,
        ["bpf_good: bpf_good_impl is already in the BTF though the source does not define it; kept"]
    );
    assert_eq!(r.legacy_pairs.len(), 1);
    assert_eq!(r.legacy_pairs[0].impl_id, impl_id);
    assert!(r.pairs_added.is_empty());

    // both agree: no warning
    let mut k = good_pair();
    k.verifier_args.as_mut().unwrap().legacy_impl = true;
    let m = manifest(vec![k]);
    let mut btf = btf_for(&m, |b, funcs| {
        let name = b.string("bpf_good_impl");
        let proto = b.btf.get(funcs["bpf_good"]).unwrap().target().unwrap();
        b.btf.add_type(&NewType::func(name, 1, proto)).unwrap();
    });
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Identical reduced prototypes are shared; a second run finds the pairs made.
#[test]
fn reduced_prototypes_are_shared_and_a_second_run_changes_nothing() {
    let other = kfunc(
        "bpf_other",
        &[("int", "x"), ("struct bpf_prog_aux *", "aux")],
        &[1],
        false,
    );
    let m = manifest(vec![good_pair(), other]);
    let mut btf = btf_for(&m, |_, _| {});
    let before = btf.end_id();
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(r.pairs_added.len(), 2);
    assert_eq!(r.pairs_added[0].proto_id, r.pairs_added[1].proto_id);
    assert_eq!(btf.end_id(), before + 3, "two _impl FUNCs, one prototype");
    let bytes = btf.to_bytes();
    let mut again = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut again, &m, &PatchOptions::default()).expect("accepted");
    assert_eq!(r.already_patched, ["bpf_good", "bpf_other"]);
    assert_eq!(again.to_bytes(), bytes);
}

/// Catches: tagging a kfunc without comparing its prototype to the source's.
#[test]
fn add_decl_tags_refuses_a_kfunc_whose_prototype_differs() {
    let source = kfunc("bpf_plain", &[("int", "x"), ("int", "y")], &[], false);
    let mut renamed = source.clone();
    renamed.params[1].name = "z".into();
    let mut fewer = source.clone();
    fewer.params.pop();
    // the BTF is built from the source; the manifests are stale
    let mut btf = btf_for(&manifest(vec![source.clone()]), |_, _| {});
    let bytes = btf.to_bytes();
    assert_eq!(
        refused(patch(&mut btf, &manifest(vec![renamed]), &WITH_TAGS)),
        ["bpf_plain: the BTF's prototype (x, y) disagrees with the source's (x, z) at kernel/bpf/test.c:10; is the manifest from this kernel?"]
    );
    assert_eq!(
        refused(patch(&mut btf, &manifest(vec![fewer]), &WITH_TAGS)),
        ["bpf_plain: the BTF's prototype (x, y) disagrees with the source's (x) at kernel/bpf/test.c:10; is the manifest from this kernel?"]
    );
    assert_eq!(btf.to_bytes(), bytes);
    // the manifest the BTF was built from is tagged
    let r = patch(&mut btf, &manifest(vec![source]), &WITH_TAGS).expect("accepted");
    assert_eq!(r.decl_tags_added.len(), 1);
}

// ------------------------------------------------------------- which sets

fn set(name: &str, kind: SetKind, members: &[&str], prog_types: &[&str]) -> KfuncSet {
    let file = "kernel/bpf/test.c";
    KfuncSet {
        entries: members.iter().map(|m| fixture::entry(m, &[])).collect(),
        registrations: prog_types
            .iter()
            .map(|p| fixture::registration(p, &format!("{name}_set"), file, 2))
            .collect(),
        ..fixture::set(name, kind, file, 1)
    }
}

fn plain(name: &str) -> Kfunc {
    kfunc(name, &[("int", "x")], &[], false)
}

/// The kfuncs `patch` tagged `bpf_kfunc`, sorted.
fn tagged(r: &Report) -> Vec<&str> {
    let mut v: Vec<&str> = r
        .decl_tags_added
        .iter()
        .filter(|t| t.tag == "bpf_kfunc")
        .map(|t| t.target.as_str())
        .collect();
    v.sort();
    v
}

/// Catches: tagging by registration (the old rule: a set registered for a
/// program type) instead of by the set's kind, as pahole does.
#[test]
fn every_kfuncs_set_is_tagged_however_it_is_registered_and_no_set8() {
    let mut m = manifest(vec![
        plain("bpf_fentry_test1"),
        plain("bpf_called"),
        plain("bpf_unregistered"),
        plain("old_style"),
    ]);
    m.sets = vec![
        set(
            "bpf_test_modify_return_ids",
            SetKind::Kfuncs,
            &["bpf_fentry_test1"],
            &["fmodret"],
        ),
        set(
            "called_ids",
            SetKind::Kfuncs,
            &["bpf_called"],
            &["BPF_PROG_TYPE_TRACING"],
        ),
        set(
            "unregistered_ids",
            SetKind::Kfuncs,
            &["bpf_unregistered"],
            &[],
        ),
        // BTF_SET8_START: no BTF_SET8_KFUNCS flag, so pahole tags none of it
        set(
            "old_ids",
            SetKind::Set8,
            &["old_style"],
            &["BPF_PROG_TYPE_TRACING"],
        ),
    ];
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(
        tagged(&r),
        ["bpf_called", "bpf_fentry_test1", "bpf_unregistered"]
    );
    assert!(r.missing.is_empty() && r.object.is_none());
}

// ------------------------------------------------------------- build view

/// vmlinux's set: `built_in` built, `off` configured out, `unsure` whose
/// condition could not be evaluated, `foreign` listed here but defined in
/// another module, `uncompiled` whose definition the build does not
/// compile; nf_conntrack's set: `ct_kfunc` (whose definition's object
/// Kbuild could not tell); a set of an object not built: `gone` (its
/// condition unknown).
fn build_view() -> Manifest {
    let names = [
        "built_in",
        "off",
        "unsure",
        "foreign",
        "uncompiled",
        "ct_kfunc",
        "gone",
    ];
    let mut m = manifest(names.iter().map(|n| plain(n)).collect());
    m.build = Some(BuildInfo {
        config: "config".into(),
        config_hash: "fnv1a64:0000000000000000".into(),
        arch: "x86_64".into(),
    });
    let mut vmlinux = set(
        "v_ids",
        SetKind::Kfuncs,
        &["built_in", "off", "unsure", "foreign", "uncompiled"],
        &["BPF_PROG_TYPE_TRACING"],
    );
    vmlinux.object = BuiltInto::Object("vmlinux".into());
    for (e, built) in
        vmlinux
            .entries
            .iter_mut()
            .zip([Some(true), Some(false), None, Some(true), Some(true)])
    {
        e.built = built;
    }
    let mut ct = set(
        "nf_ct_ids",
        SetKind::Kfuncs,
        &["ct_kfunc"],
        &["BPF_PROG_TYPE_XDP"],
    );
    ct.object = BuiltInto::Object("nf_conntrack".into());
    ct.entries[0].built = Some(true);
    let mut gone = set(
        "gone_ids",
        SetKind::Kfuncs,
        &["gone"],
        &["BPF_PROG_TYPE_XDP"],
    );
    gone.object = BuiltInto::NotBuilt;
    m.sets = vec![vmlinux, ct, gone];
    for k in &mut m.kfuncs {
        k.object = match k.name.as_str() {
            "ct_kfunc" | "gone" => BuiltInto::Unknown,
            "foreign" => BuiltInto::Object("nf_nat".into()),
            "off" | "uncompiled" => BuiltInto::NotBuilt,
            _ => BuiltInto::Object("vmlinux".into()),
        };
    }
    m
}

fn as_object(object: Option<&str>) -> PatchOptions {
    PatchOptions {
        object: object.map(str::to_string),
        ..WITH_TAGS
    }
}

/// Catches: ignoring the build view (entries not built, or of another
/// object, tagged), or taking an entry whose condition is unknown as not
/// built.
#[test]
fn a_build_view_tags_only_this_objects_built_kfuncs() {
    let m = build_view();
    // a BTF holding every one of them, as a confused build might
    let bytes = btf_for(&m, |_, _| {}).to_bytes();
    let mut btf = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut btf, &m, &as_object(None)).expect("accepted");
    assert_eq!(tagged(&r), ["built_in", "uncompiled", "unsure"]);
    assert_eq!(r.object.as_deref(), Some("vmlinux"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // the module, named as its file may name it
    for name in ["nf_conntrack", "nf-conntrack"] {
        let mut btf = Btf::parse(&bytes, None).unwrap();
        let r = patch(&mut btf, &m, &as_object(Some(name))).expect("accepted");
        assert_eq!(tagged(&r), ["ct_kfunc"], "{name}");
        assert_eq!(r.object.as_deref(), Some(name));
    }

    // without the build view: every kfuncs-set member the BTF holds
    let mut source = m.clone();
    source.build = None;
    let mut btf = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut btf, &source, &as_object(None)).expect("accepted");
    assert_eq!(r.decl_tags_added.len(), 7);
    assert!(r.object.is_none());
}

/// Catches: a built kfunc the BTF lacks reported as missing (a note)
/// rather than refused; or one whose condition is unknown refused.
#[test]
fn a_built_kfunc_the_btf_lacks_is_refused_and_an_unsure_one_is_not() {
    let m = build_view();
    // the BTF of a build without `built_in`: a stale one
    let mut others = m.clone();
    others.kfuncs.retain(|k| k.name != "built_in");
    let mut btf = btf_for(&others, |_, _| {});
    let bytes = btf.to_bytes();
    assert_eq!(
        refused(patch(&mut btf, &m, &as_object(None))),
        ["built_in: the manifest's build view puts it in vmlinux, but this BTF has no FUNC of that name; is the BTF from this build?"]
    );
    assert_eq!(btf.to_bytes(), bytes, "nothing appended");
    // pairs count as much as tags
    let mut paired = m.clone();
    paired.kfuncs[0] = kfunc(
        "built_in",
        &[("int", "x"), ("struct bpf_prog_aux *", "aux")],
        &[1],
        false,
    );
    paired.kfuncs[0].object = BuiltInto::Object("vmlinux".into());
    assert_eq!(
        refused(patch(&mut btf, &paired, &PatchOptions::default())).len(),
        1
    );

    // without `unsure` (its condition unknown) and `uncompiled` (its
    // definition not built): reported, not refused
    let mut others = m.clone();
    others
        .kfuncs
        .retain(|k| k.name != "unsure" && k.name != "uncompiled");
    let mut btf = btf_for(&others, |_, _| {});
    let r = patch(&mut btf, &m, &as_object(None)).expect("accepted");
    assert_eq!(r.missing, ["unsure", "uncompiled"]);
    assert_eq!(tagged(&r), ["built_in"]);
    // --strict refuses that too
    let strict = PatchOptions {
        strict: true,
        ..as_object(None)
    };
    assert_eq!(refused(patch(&mut btf, &m, &strict)).len(), 1);
}

/// Catches: dropping the report of an object the build view does not know
/// (the CLI words it: a warning for a named --object, a note for one taken
/// from the file's name).
#[test]
fn an_object_the_build_view_does_not_know_is_reported() {
    let m = build_view();
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &as_object(Some("nf_conntrack_old"))).expect("accepted");
    assert!(r.object_without_sets);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.decl_tags_added.is_empty());
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &as_object(Some("nf_conntrack"))).expect("accepted");
    assert!(!r.object_without_sets);
}

#[test]
fn object_names_compare_as_the_kernels_module_names() {
    assert!(is_object("nf_conntrack", "nf-conntrack"));
    assert!(is_object("xfrm-interface", "xfrm_interface"));
    assert!(is_object("a:nf_nat", "nf_nat"), "linked into several");
    assert!(!is_object("nf_nat", "nf_nat_ftp"));
    assert!(!is_object("vmlinux", "nf_nat"));
}

// ------------------------------------------------------------- arena

/// A manifest whose tree defines the arena flags, with `kfuncs` in a kfuncs set.
fn arena_manifest(kfuncs: Vec<Kfunc>) -> Manifest {
    let mut m = manifest(kfuncs);
    for (f, bit) in [
        ("KF_ARENA_RET", 13),
        ("KF_ARENA_ARG1", 14),
        ("KF_ARENA_ARG2", 15),
    ] {
        m.flag_values.insert(f.into(), 1 << bit);
    }
    m
}

fn flagged(mut k: Kfunc, ret: &str, flags: &[&str]) -> Kfunc {
    k.return_type = ret.into();
    k.flags = flags.iter().map(|f| f.to_string()).collect();
    k
}

/// `void *bpf_arena_alloc_pages(void *p__map, void *addr__ign, u32 page_cnt)`,
/// KF_ARENA_RET | KF_ARENA_ARG2, as 6.18 has it.
fn arena_alloc() -> Kfunc {
    flagged(
        kfunc(
            "bpf_arena_alloc_pages",
            &[
                ("void *", "p__map"),
                ("void *", "addr__ign"),
                ("u32", "page_cnt"),
            ],
            &[],
            false,
        ),
        "void *",
        &["KF_ARENA_RET", "KF_ARENA_ARG2"],
    )
}

/// `int bpf_arena_first(int *p, long n)`, KF_ARENA_ARG1.
fn arena_first() -> Kfunc {
    flagged(
        kfunc(
            "bpf_arena_first",
            &[("int *", "p"), ("long", "n")],
            &[],
            false,
        ),
        "int",
        &["KF_ARENA_ARG1"],
    )
}

/// The type a FUNC's prototype gives its return value (-1) or parameter i.
fn type_at(btf: &Btf, func: u32, at: i32) -> u32 {
    let proto = btf.get(btf.get(func).unwrap().target().unwrap()).unwrap();
    if at < 0 {
        proto.return_type().unwrap()
    } else {
        proto.params().nth(at as usize).unwrap().1
    }
}

/// Whether `ty` is `PTR → TYPE_TAG address_space(1) (kind flag) → pointee`;
/// the pointee.
fn arena_pointee(btf: &Btf, ty: u32) -> Option<u32> {
    let p = btf.get(ty).filter(|t| t.kind() == Kind::Ptr)?;
    let a = btf.get(p.target()?)?;
    (a.kind() == Kind::TypeTag && a.kflag() && btf.name(&a) == "address_space(1)")
        .then(|| a.target())?
}

/// Catches: the attribute without its kind flag, on the wrong side of the
/// pointer, on the wrong parameter (ARG1/ARG2 swapped or off by one), not
/// shared between kfuncs, or added again on a second run.
#[test]
fn arena_pointers_are_marked_as_pahole_marks_them() {
    let m = arena_manifest(vec![arena_alloc(), arena_first()]);
    let mut funcs = Default::default();
    let mut btf = btf_for(&m, |_, f| funcs = f.clone());
    let orig = Btf::parse(&btf.to_bytes(), None).unwrap();
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    let btf = Btf::parse(&btf.to_bytes(), None).unwrap();

    let alloc = funcs["bpf_arena_alloc_pages"];
    // void * → PTR → TYPE_TAG(kflag) → void, for the return value and addr__ign
    assert_eq!(arena_pointee(&btf, type_at(&btf, alloc, -1)), Some(0));
    assert_eq!(arena_pointee(&btf, type_at(&btf, alloc, 1)), Some(0));
    assert_eq!(
        type_at(&btf, alloc, -1),
        type_at(&btf, alloc, 1),
        "one chain per pointee"
    );
    assert_eq!(
        type_at(&btf, alloc, 0),
        type_at(&orig, alloc, 0),
        "p__map untouched"
    );
    assert_eq!(type_at(&btf, alloc, 2), type_at(&orig, alloc, 2));
    // int *p: the pointee is int, the rest unchanged
    let first = funcs["bpf_arena_first"];
    let int_ptr = type_at(&orig, first, 0);
    assert_eq!(
        arena_pointee(&btf, type_at(&btf, first, 0)),
        orig.get(int_ptr).unwrap().target()
    );
    assert_eq!(type_at(&btf, first, -1), type_at(&orig, first, -1));
    assert_eq!(type_at(&btf, first, 1), type_at(&orig, first, 1));
    // new prototypes; the old ones, and the names, as they were
    for f in [alloc, first] {
        let (now, was) = (btf.get(f).unwrap().target(), orig.get(f).unwrap().target());
        assert!(now.unwrap() >= orig.end_id(), "a new prototype");
        let (now, was) = (
            btf.get(now.unwrap()).unwrap(),
            orig.get(was.unwrap()).unwrap(),
        );
        let names = |b: &Btf, p: &kfunc_scan::btf::TypeRef| {
            p.params()
                .map(|(n, _)| b.str_at(n).unwrap().to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&btf, &now), names(&orig, &was));
    }
    let report: Vec<(&str, bool, &[usize])> = r
        .arena_tagged
        .iter()
        .map(|a| (a.kfunc.as_str(), a.return_value, a.params.as_slice()))
        .collect();
    assert_eq!(
        report,
        [
            ("bpf_arena_alloc_pages", true, &[1][..]),
            ("bpf_arena_first", false, &[0][..])
        ]
    );
    // 2 bpf_kfunc tags; 2 attributes and 2 pointers (void, int); 2 prototypes
    assert_eq!(r.types_after - r.types_before, 2 + 4 + 2);

    // a second run finds them marked
    let bytes = btf.to_bytes();
    let mut again = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut again, &m, &WITH_TAGS).expect("accepted");
    assert!(r.arena_tagged.is_empty() && r.decl_tags_added.is_empty());
    assert_eq!(again.to_bytes(), bytes);
}

/// Catches: marking without --add-decl-tags, or for a flag the tree does
/// not define (a kernel before KF_ARENA_*: the name means nothing there).
#[test]
fn arena_pointers_need_add_decl_tags_and_the_trees_flags() {
    let m = arena_manifest(vec![arena_alloc()]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert!(r.arena_tagged.is_empty());
    let mut old_tree = m.clone();
    old_tree.flag_values.clear();
    let r = patch(&mut btf, &old_tree, &WITH_TAGS).expect("accepted");
    assert!(r.arena_tagged.is_empty());
    assert_eq!(r.decl_tags_added.len(), 1);
}

/// Catches: marking a type that is not a pointer (pahole fails the build),
/// or a parameter the prototype lacks.
#[test]
fn an_arena_flag_on_what_is_not_a_pointer_is_refused() {
    let not_ptr = flagged(plain("bpf_ret_int"), "int", &["KF_ARENA_RET"]);
    let one_param = flagged(plain("bpf_one"), "int", &["KF_ARENA_ARG2"]);
    let int_arg = flagged(plain("bpf_int_arg"), "int", &["KF_ARENA_ARG1"]);
    let m = arena_manifest(vec![not_ptr, one_param, int_arg]);
    let mut btf = btf_for(&m, |_, _| {});
    let bytes = btf.to_bytes();
    assert_eq!(
        refused(patch(&mut btf, &m, &WITH_TAGS)),
        [
            "bpf_ret_int: KF_ARENA_RET, but the BTF's return type is not a pointer",
            "bpf_one: KF_ARENA_ARG2, but the BTF's prototype has 1 parameter(s)",
            "bpf_int_arg: KF_ARENA_ARG1, but parameter 0 `x` is not a pointer in the BTF",
        ]
    );
    assert_eq!(btf.to_bytes(), bytes);
}

/// Catches: a pair's `_impl` keeping the unmarked prototype, or the
/// reduced one built from it.
#[test]
fn a_paired_kfunc_gets_its_arena_pointers_marked_in_both_prototypes() {
    let k = flagged(
        kfunc(
            "bpf_arena_pair",
            &[("void *", "p"), ("struct bpf_prog_aux *", "aux")],
            &[1],
            false,
        ),
        "int",
        &["KF_ARENA_ARG1", "KF_IMPLICIT_ARGS"],
    );
    let m = arena_manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    let btf = Btf::parse(&btf.to_bytes(), None).unwrap();
    let pair = &r.pairs_added[0];
    assert_eq!(arena_pointee(&btf, type_at(&btf, pair.func_id, 0)), Some(0));
    assert_eq!(arena_pointee(&btf, type_at(&btf, pair.impl_id, 0)), Some(0));
    assert_eq!(r.arena_tagged[0].proto_id, pair.proto_id);
    // a second run: already patched, already marked
    let bytes = btf.to_bytes();
    let mut again = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut again, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(r.already_patched, ["bpf_arena_pair"]);
    assert!(r.arena_tagged.is_empty());
    assert_eq!(again.to_bytes(), bytes);
}

/// Catches: a second run refusing an arena flag on a verifier-supplied
/// parameter, which the reduced prototype no longer has (the first run
/// marked it in `_impl`).
#[test]
fn an_arena_mark_on_a_verifier_supplied_parameter_is_made_once() {
    let k = flagged(
        kfunc(
            "bpf_arena_aux",
            &[("void *", "p"), ("struct bpf_prog_aux *", "aux")],
            &[1],
            false,
        ),
        "int",
        &["KF_ARENA_ARG2", "KF_IMPLICIT_ARGS"],
    );
    let m = arena_manifest(vec![k]);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    let btf = Btf::parse(&btf.to_bytes(), None).unwrap();
    let pair = &r.pairs_added[0];
    assert!(arena_pointee(&btf, type_at(&btf, pair.impl_id, 1)).is_some());
    assert_eq!(r.arena_tagged[0].params, [1]);
    let bytes = btf.to_bytes();
    let mut again = Btf::parse(&bytes, None).unwrap();
    let r = patch(&mut again, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(r.already_patched, ["bpf_arena_aux"]);
    assert_eq!(again.to_bytes(), bytes);
}

/// Catches: looking at kfuncs that have nothing to be done (without
/// --add-decl-tags, those without verifier-supplied arguments), or not
/// pairing one that no set lists when there is no build view (as before),
/// or pairing another object's under a build view.
#[test]
fn what_is_looked_at_without_tags_and_under_a_build_view() {
    // a plain kfunc the BTF lacks: not looked at, so not missing
    let m = manifest(vec![plain("bpf_absent"), good_pair()]);
    let mut only_pair = m.clone();
    only_pair.kfuncs.retain(|k| k.name == "bpf_good");
    let mut btf = btf_for(&only_pair, |_, _| {});
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    assert_eq!(r.pairs_added.len(), 1);
    let mut btf = btf_for(&only_pair, |_, _| {});
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    assert_eq!(r.missing, ["bpf_absent"]);

    // a paired kfunc no set lists: paired without a build view
    let mut unlisted = manifest(vec![good_pair()]);
    unlisted.sets.clear();
    let mut btf = btf_for(&unlisted, |_, _| {});
    let r = patch(&mut btf, &unlisted, &PatchOptions::default()).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1);

    // under a build view, nf_conntrack's paired kfunc is not vmlinux's
    let mut m = build_view();
    let mut ct_pair = good_pair();
    ct_pair.object = BuiltInto::Object("nf_conntrack".into());
    m.sets[1].entries[0].name = ct_pair.name.clone();
    m.kfuncs.retain(|k| k.name != "ct_kfunc");
    m.kfuncs.push(ct_pair);
    let mut btf = btf_for(&m, |_, _| {});
    let r = patch(&mut btf, &m, &PatchOptions::default()).expect("accepted");
    assert!(r.pairs_added.is_empty());
    let r = patch(&mut btf, &m, &as_object(Some("nf_conntrack"))).expect("accepted");
    assert_eq!(r.pairs_added.len(), 1);
}

/// Catches: taking a kfunc for already paired when the BTF has its reduced
/// prototype but no `_impl` (or an `_impl` but another prototype).
#[test]
fn a_reduced_prototype_without_its_impl_is_refused() {
    let m = manifest(vec![good_pair()]);
    // the BTF as if a pair had been made, less the _impl
    let mut reduced = good_pair();
    reduced.params.pop();
    reduced.verifier_args = None;
    let mut btf = btf_for(&manifest(vec![reduced]), |_, _| {});
    assert_eq!(
        refused(patch(&mut btf, &m, &PatchOptions::default())),
        ["bpf_good: the BTF's prototype (x) disagrees with the source's (x, aux) at kernel/bpf/test.c:10; is the manifest from this kernel?"]
    );
}

/// Catches: an off-by-one (or worse) in the check that new types stay
/// within the IDs BTF can number: the last ID is taken, one past it is
/// refused.
#[test]
fn new_types_may_take_the_last_type_id_and_no_more() {
    let m = manifest(vec![plain("bpf_last")]);
    // `fill` types before the kfunc's, so that its one decl tag gets ID `last`
    let at = |last: u32| {
        let mut b = Builder::new(Endian::Little);
        let fill = last - 1 - 3; // INT, FUNC_PROTO, FUNC, then the tag
        for _ in 0..fill {
            b.btf.add_type(&NewType::ptr(0)).unwrap();
        }
        b.kfuncs(&m, |_| true);
        Btf::parse(&b.finish(), None).unwrap()
    };
    let mut btf = at(kfunc_scan::btf::MAX_TYPE_ID);
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("the last ID is one");
    assert_eq!(r.types_after, kfunc_scan::btf::MAX_TYPE_ID);
    let mut btf = at(kfunc_scan::btf::MAX_TYPE_ID + 1);
    assert_eq!(
        refused(patch(&mut btf, &m, &WITH_TAGS)),
        ["1 new types would take type IDs past 0xfffff, the last BTF can number"]
    );
}

/// Catches: taking a pointer to another type tag (`__user`, or a tag named
/// address_space(1) that is not an attribute) for one already marked.
#[test]
fn a_pointer_to_another_type_tag_is_marked_all_the_same() {
    let k = |name: &str| {
        flagged(
            kfunc(name, &[("void *", "p")], &[], false),
            "int",
            &["KF_ARENA_ARG1"],
        )
    };
    let m = arena_manifest(vec![k("bpf_user"), k("bpf_plain_tag")]);
    let mut b = Builder::new(Endian::Little);
    let int_name = b.string("int");
    let int = b.btf.add_type(&NewType::int(int_name, 4, true)).unwrap();
    let p = b.string("p");
    for (func, tag, attribute) in [
        ("bpf_user", "user", true),
        ("bpf_plain_tag", "address_space(1)", false),
    ] {
        let tag = b.string(tag);
        let t = b
            .btf
            .add_type(&NewType::type_tag(tag, 0, attribute))
            .unwrap();
        let ptr = b.btf.add_type(&NewType::ptr(t)).unwrap();
        let proto = b
            .btf
            .add_type(&NewType::func_proto(int, &[(p, ptr)]))
            .unwrap();
        let name = b.string(func);
        b.btf.add_type(&NewType::func(name, 1, proto)).unwrap();
    }
    let mut btf = Btf::parse(&b.finish(), None).unwrap();
    let r = patch(&mut btf, &m, &WITH_TAGS).expect("accepted");
    let marked: Vec<&str> = r.arena_tagged.iter().map(|a| a.kfunc.as_str()).collect();
    assert_eq!(marked, ["bpf_user", "bpf_plain_tag"]);
    let btf = Btf::parse(&btf.to_bytes(), None).unwrap();
    for a in &r.arena_tagged {
        // the attribute goes on the old pointee, the tag kept under it
        let pointee = arena_pointee(&btf, type_at(&btf, a.func_id, 0)).unwrap();
        assert_eq!(btf.get(pointee).unwrap().kind(), Kind::TypeTag);
    }
}
