//! A manifest derived from a BTF alone, for exercising `patch-btf` on a real
//! kernel BTF whose source is not at hand (tests, benchmarks). Every FUNC
//! carrying a `bpf_kfunc` decl tag becomes a kfunc of one set, with its
//! parameter names from the BTF; those whose last parameter is a pointer are
//! marked as if that parameter were verifier-supplied (KF_IMPLICIT_ARGS).
//! That is not what the kernel declares: it is a realistic amount and shape
//! of work on a real BTF.

use crate::btf::{Btf, Kind};
use crate::conventions::{self, FLAG_IMPLICIT_ARGS, TAG_KFUNC};
use crate::manifest::*;
use std::collections::BTreeMap;

pub fn manifest_from_btf(btf: &Btf) -> Manifest {
    let mut tagged: BTreeMap<String, u32> = BTreeMap::new();
    for t in btf.own_types() {
        if t.kind() == Kind::DeclTag && btf.name(&t) == TAG_KFUNC {
            let func = t.target().and_then(|f| btf.get(f));
            if let Some(f) = func.filter(|f| f.kind() == Kind::Func) {
                tagged.insert(btf.name(&f).to_string(), f.id());
            }
        }
    }
    let kfuncs: Vec<Kfunc> = tagged
        .iter()
        .filter_map(|(name, id)| kfunc_of(btf, name, *id))
        .collect();
    let entries = kfuncs
        .iter()
        .map(|k| SetEntry {
            name: k.name.clone(),
            flags: k.flags.clone(),
            flags_value: None,
            condition: None,
            line: 0,
            built: None,
        })
        .collect();
    Manifest {
        schema_version: SCHEMA_VERSION,
        generator: format!("kfunc-scan {} synth-manifest", env!("CARGO_PKG_VERSION")),
        sets: vec![KfuncSet {
            name: "synthetic".into(),
            kind: SetKind::Kfuncs,
            file: String::new(),
            line: 0,
            end_line: None,
            entries,
            registrations: vec![],
            object: BuiltInto::Unknown,
        }],
        kfuncs,
        ..Default::default()
    }
}

/// The tagged FUNC `id` as a kfunc of the synthetic set: its parameter
/// names, and a trailing pointer taken as verifier-supplied.
fn kfunc_of(btf: &Btf, name: &str, id: u32) -> Option<Kfunc> {
    let proto = btf.get(id)?.target().and_then(|p| btf.get(p))?;
    let params: Vec<Param> = proto
        .params()
        .map(|(n, _)| Param {
            name: String::from_utf8_lossy(btf.str_at(n).unwrap_or(b"")).into_owned(),
            ty: String::new(),
            annotation: None,
        })
        .collect();
    let last_is_ptr = proto
        .params()
        .last()
        .and_then(|(_, ty)| btf.get(ty))
        .is_some_and(|t| t.kind() == Kind::Ptr);
    let verifier_args = (last_is_ptr && !params.is_empty()).then(|| VerifierArgs {
        convention: ArgsConvention::ImplicitArgs,
        bpf_name: name.to_string(),
        impl_name: conventions::impl_name(name),
        omitted_params: vec![params.len() - 1],
        legacy_impl: false,
    });
    let flags: Vec<String> = verifier_args
        .iter()
        .map(|_| FLAG_IMPLICIT_ARGS.to_string())
        .collect();
    Some(Kfunc {
        name: name.to_string(),
        file: String::new(),
        line: 0,
        bpf_kfunc_attr: true,
        return_type: String::new(),
        params,
        sets: vec!["synthetic".into()],
        prog_types: vec![],
        flags,
        condition: None,
        doc: None,
        verifier_args,
        object: BuiltInto::Unknown,
    })
}
