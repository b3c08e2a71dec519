//! Manifests built in code, for tests (this crate's, and the main crate's
//! through the `test-util` feature): the one place that says what a plain
//! kfunc, set entry, registration and set of a fixture are, so that a field
//! added to the manifest is filled here (or by `Default`) and nowhere else.
//! Each builder gives a value that tests then change with struct update
//! syntax or the `with_*` helpers.

use crate::{
    ArgsConvention, Kfunc, KfuncSet, Param, Registration, SetEntry, SetKind, VerifierArgs,
};

/// `int name(void)`, marked `__bpf_kfunc`, defined at line 10 of `file`.
pub fn kfunc(name: &str, file: &str) -> Kfunc {
    Kfunc {
        name: name.into(),
        file: file.into(),
        line: 10,
        bpf_kfunc_attr: true,
        return_type: "int".into(),
        ..Default::default()
    }
}

/// A parameter `ty name`, its annotation (`__map` of `p__map`) read off its
/// name as the scanner reads it.
pub fn param(ty: &str, name: &str) -> Param {
    let annotation = name
        .find("__")
        .filter(|&i| i > 0)
        .map(|i| name[i..].to_string());
    Param {
        name: name.into(),
        ty: ty.into(),
        annotation,
    }
}

/// A parameter `ty name` with no annotation read (as a manifest written by
/// hand may have it).
pub fn bare_param(ty: &str, name: &str) -> Param {
    Param {
        name: name.into(),
        ty: ty.into(),
        annotation: None,
    }
}

/// `k`'s parameters at `omitted` supplied by the verifier
/// (KF_IMPLICIT_ARGS), the full prototype under `<name>_impl`.
pub fn implicit_args(k: &Kfunc, omitted: &[usize], legacy_impl: bool) -> VerifierArgs {
    VerifierArgs {
        convention: ArgsConvention::ImplicitArgs,
        bpf_name: k.name.clone(),
        impl_name: crate::conventions::impl_name(&k.name),
        omitted_params: omitted.to_vec(),
        legacy_impl,
    }
}

/// A set's entry for `name` with `flags`, at line 0, nothing else known.
pub fn entry(name: &str, flags: &[&str]) -> SetEntry {
    SetEntry {
        name: name.into(),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

/// A registration of the set `id_set` for `prog_type`, at `file`:`line`,
/// with no filter.
pub fn registration(prog_type: &str, id_set: &str, file: &str, line: u32) -> Registration {
    Registration {
        prog_type: prog_type.into(),
        id_set: id_set.into(),
        file: file.into(),
        line,
        ..Default::default()
    }
}

/// A set `name` of `kind` at `file`:`line`, with no entries, no
/// registrations and no end line.
pub fn set(name: &str, kind: SetKind, file: &str, line: u32) -> KfuncSet {
    KfuncSet {
        name: name.into(),
        kind,
        file: file.into(),
        line,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_annotations_are_read_off_the_name() {
        assert_eq!(
            param("void *", "p__map").annotation.as_deref(),
            Some("__map")
        );
        assert_eq!(param("int", "x").annotation, None);
        // a name that starts with __ is not annotated
        assert_eq!(param("int", "__x").annotation, None);
        assert_eq!(bare_param("void *", "p__map").annotation, None);
    }
}
