//! The build's view of a manifest (`--config`): which object each set and
//! kfunc is built into and whether each entry's condition holds, from the
//! Kbuild walk and the `.config` (`crate::kbuild`). Resolve applies it to
//! the manifest it builds; nothing is guessed: what Kbuild or the condition
//! evaluator cannot decide stays unknown, with a diagnostic naming why.

use crate::kbuild::{self, BuildView, Fate, Linkage};
use crate::manifest::{BuildInfo, BuiltInto, Diagnostic, Kfunc, KfuncSet, Severity};
use std::collections::BTreeMap;

/// A loaded build view and what the manifest says of it.
pub(crate) struct Build {
    pub view: BuildView,
    pub info: BuildInfo,
}

fn built_into(fate: &Fate) -> BuiltInto {
    match fate {
        Fate::Vmlinux | Fate::Module(_) => {
            BuiltInto::Object(fate.object().unwrap_or_default().to_string())
        }
        Fate::NotBuilt => BuiltInto::NotBuilt,
        Fate::Unknown(_) => BuiltInto::Unknown,
    }
}

/// The Kbuild walk's and the `.config`'s own problems, as manifest
/// diagnostics.
pub(crate) fn diagnostics_of(found: Vec<kbuild::Diagnostic>) -> Vec<Diagnostic> {
    found
        .into_iter()
        .map(|d| {
            let severity = match d.severity {
                kbuild::Severity::Error => Severity::Error,
                kbuild::Severity::Warning => Severity::Warning,
                kbuild::Severity::Note => Severity::Note,
            };
            Diagnostic::new(severity, &d.code, &d.file, d.line, d.col, d.message)
        })
        .collect()
}

/// Whether `condition` holds in a file linked as `linkage`; `None`, with a
/// diagnostic at `file:line`, when it cannot be decided.
fn holds(
    b: &Build,
    condition: Option<&str>,
    linkage: Linkage,
    (file, line): (&str, u32),
    diags: &mut Vec<Diagnostic>,
) -> Option<bool> {
    let Some(c) = condition else {
        return Some(true);
    };
    match b.view.eval(c, linkage) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(Diagnostic::new(
                Severity::Warning,
                "condition-unevaluable",
                file,
                line,
                1,
                format!("cannot evaluate `{c}` with {}: {e}", b.info.config),
            ));
            None
        }
    }
}

fn unknown_object(file: &str, reason: &str, diags: &mut Vec<Diagnostic>) {
    diags.push(Diagnostic::new(
        Severity::Warning,
        "build-unknown",
        file,
        0,
        0,
        format!("Kbuild does not say whether or where this file is built: {reason}"),
    ));
}

/// A set's object, and each entry's `built`.
fn apply_to_set(b: &Build, set: &mut KfuncSet, diags: &mut Vec<Diagnostic>) {
    let fate = b.view.object_of(&set.file);
    if let Fate::Unknown(reason) = &fate {
        unknown_object(&set.file, reason, diags);
    }
    set.object = built_into(&fate);
    for e in &mut set.entries {
        e.built = match &set.object {
            BuiltInto::NotBuilt => Some(false),
            BuiltInto::Unknown => None,
            BuiltInto::Object(_) => holds(
                b,
                e.condition.as_deref(),
                fate.linkage(),
                (&set.file, e.line),
                diags,
            ),
        };
    }
}

/// A kfunc's object: its definition's file when that is compiled on its own
/// (and the definition's condition holds); a definition in a header is in
/// the object of the built sets that list it.
fn kfunc_object(
    b: &Build,
    k: &Kfunc,
    listed_in: &BTreeMap<&str, Vec<(BuiltInto, Option<bool>)>>,
    diags: &mut Vec<Diagnostic>,
) -> BuiltInto {
    if k.file.ends_with(".h") {
        let places = listed_in
            .get(k.name.as_str())
            .map_or(&[][..], Vec::as_slice);
        if let Some((o, _)) = places
            .iter()
            .find(|(o, built)| o.object().is_some() && *built == Some(true))
        {
            return o.clone();
        }
        let all_unbuilt = !places.is_empty()
            && places
                .iter()
                .all(|(o, built)| *o == BuiltInto::NotBuilt || *built == Some(false));
        return if all_unbuilt {
            BuiltInto::NotBuilt
        } else {
            BuiltInto::Unknown
        };
    }
    let fate = b.view.object_of(&k.file);
    if let Fate::Unknown(reason) = &fate {
        unknown_object(&k.file, reason, diags);
    }
    let object = built_into(&fate);
    if object.object().is_none() {
        return object;
    }
    match holds(
        b,
        k.condition.as_deref(),
        fate.linkage(),
        (&k.file, k.line),
        diags,
    ) {
        Some(true) => object,
        Some(false) => BuiltInto::NotBuilt,
        None => BuiltInto::Unknown,
    }
}

/// Fills in the manifest's build-view fields.
pub(crate) fn apply(
    b: &Build,
    sets: &mut [KfuncSet],
    kfuncs: &mut [Kfunc],
    diags: &mut Vec<Diagnostic>,
) {
    for set in sets.iter_mut() {
        apply_to_set(b, set, diags);
    }
    let mut listed_in: BTreeMap<&str, Vec<(BuiltInto, Option<bool>)>> = BTreeMap::new();
    for set in sets.iter() {
        for e in &set.entries {
            listed_in
                .entry(e.name.as_str())
                .or_default()
                .push((set.object.clone(), e.built));
        }
    }
    for k in kfuncs.iter_mut() {
        k.object = kfunc_object(b, k, &listed_in, diags);
    }
}
