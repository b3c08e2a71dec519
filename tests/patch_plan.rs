//! The patcher in-process, on small BTFs built with the crate's writer: a
//! refused plan leaves the BTF untouched (type count and bytes), and each
//! refusal and warning is there for its own reason. Each test names the
//! one-line change to the patcher it catches.

mod common;
use common::fixture::Builder;
use kfunc_scan::btf::{Btf, Endian, NewType};
use kfunc_scan::manifest::{
    ArgsConvention, Kfunc, KfuncSet, Manifest, Param, SetEntry, SetKind, VerifierArgs,
};
use kfunc_scan::patch::{patch, PatchError, PatchOptions, Report};

/// A kfunc `name(params)`, each param `type name`; `omitted`: the indices
/// of its verifier-supplied parameters.
fn kfunc(name: &str, params: &[(&str, &str)], omitted: &[usize], legacy_impl: bool) -> Kfunc {
    Kfunc {
        name: name.into(),
        file: "kernel/bpf/test.c".into(),
        line: 10,
        bpf_kfunc_attr: true,
        return_type: "int".into(),
        params: params
            .iter()
            .map(|(ty, n)| Param {
                name: n.to_string(),
                ty: ty.to_string(),
                annotation: None,
            })
            .collect(),
        sets: vec!["test_kfunc_ids".into()],
        prog_types: vec![],
        flags: vec![],
        condition: None,
        doc: None,
        verifier_args: (!omitted.is_empty()).then(|| VerifierArgs {
            convention: ArgsConvention::ImplicitArgs,
            bpf_name: name.into(),
            impl_name: format!("{name}_impl"),
            omitted_params: omitted.to_vec(),
            legacy_impl,
        }),
        object: kfunc_scan::manifest::BuiltInto::Unknown,
    }
}

/// One kfunc set listing every kfunc.
fn manifest(kfuncs: Vec<Kfunc>) -> Manifest {
    let entries = kfuncs
        .iter()
        .map(|k| SetEntry {
            name: k.name.clone(),
            flags: vec![],
            flags_value: None,
            condition: None,
            line: 0,
            built: None,
        })
        .collect();
    Manifest {
        sets: vec![KfuncSet {
            name: "test_kfunc_ids".into(),
            kind: SetKind::Kfuncs,
            file: "kernel/bpf/test.c".into(),
            line: 1,
            end_line: None,
            entries,
            registrations: vec![],
            object: kfunc_scan::manifest::BuiltInto::Unknown,
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
