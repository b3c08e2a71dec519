//! Cross-file resolution: flag values, which definition belongs to which set
//! entry, program types through `btf_kfunc_id_set` initialisers, and the
//! verifier-supplied arguments of both conventions.

use super::extract::{FileRecords, RawFunction};
use crate::manifest::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::conventions::{
    FLAG_IMPLICIT_ARGS as FLAG_IMPLICIT, FLAG_MAGIC_ARGS as FLAG_MAGIC, IMPL_SUFFIX,
    MAGIC_ANNOTATION,
};

/// The verifier's `BTF_ID_LIST` of (`foo`, `foo_impl`) pairs in the
/// magic-kfuncs proposal.
pub const MAGIC_TABLE: &str = "magic_kfuncs";

pub struct Inputs {
    pub kernel_version: Option<String>,
    pub flag_values: BTreeMap<String, u64>,
    pub implicit_types: Vec<String>,
    pub files: Vec<FileRecords>,
    pub diagnostics: Vec<Diagnostic>,
}

/// All definitions of one name, best first.
fn pick_definition<'a>(
    defs: &'a [(&'a str, &'a RawFunction)],
    set_files: &BTreeSet<&str>,
) -> Option<&'a (&'a str, &'a RawFunction)> {
    defs.iter()
        .min_by_key(|(file, f)| (!f.bpf_kfunc_attr, !set_files.contains(file), *file, f.line))
}

pub fn resolve(inp: Inputs) -> Manifest {
    let mut diags = inp.diagnostics;
    for f in &inp.files {
        diags.extend(f.diagnostics.iter().cloned());
    }

    // Definitions by name.
    let mut defs: HashMap<&str, Vec<(&str, &RawFunction)>> = HashMap::new();
    for f in &inp.files {
        for func in &f.functions {
            defs.entry(func.name.as_str())
                .or_default()
                .push((f.path.as_str(), func));
        }
    }

    // Sets with flag values and registrations.
    let mut sets: Vec<KfuncSet> = Vec::new();
    for f in &inp.files {
        for s in &f.sets {
            let entries = s
                .entries
                .iter()
                .map(|e| {
                    let mut value = Some(0u64);
                    for flag in &e.flags {
                        match inp.flag_values.get(flag) {
                            Some(v) => value = value.map(|acc| acc | v),
                            None => {
                                value = None;
                                diags.push(Diagnostic::new(
                                    Severity::Error,
                                    "unknown-flag",
                                    &f.path,
                                    e.line,
                                    e.col,
                                    format!(
                                        "`{flag}` on `{}` is not defined in the tree's include/linux/btf.h",
                                        e.name
                                    ),
                                ));
                            }
                        }
                    }
                    SetEntry {
                        name: e.name.clone(),
                        flags: e.flags.clone(),
                        flags_value: value,
                        condition: e.condition.clone(),
                        line: e.line,
                    }
                })
                .collect();
            sets.push(KfuncSet {
                name: s.name.clone(),
                kind: s.kind,
                file: f.path.clone(),
                line: s.line,
                end_line: s.end_line,
                entries,
                registrations: Vec::new(),
            });
        }
    }
    attach_registrations(&inp.files, &mut sets, &mut diags);

    // Which sets list each name, and with which flags.
    let mut listed: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (si, s) in sets.iter().enumerate() {
        for (ei, e) in s.entries.iter().enumerate() {
            listed.entry(e.name.as_str()).or_default().push((si, ei));
        }
    }
    let mut names: BTreeSet<&str> = listed.keys().copied().collect();
    for (name, ds) in &defs {
        if ds.iter().any(|(_, f)| f.bpf_kfunc_attr) {
            names.insert(name);
        }
    }

    let magic_tables: Vec<(&str, &super::extract::RawIdList)> = inp
        .files
        .iter()
        .flat_map(|f| {
            f.id_lists
                .iter()
                .filter(|l| l.name == MAGIC_TABLE)
                .map(move |l| (f.path.as_str(), l))
        })
        .collect();

    let mut kfuncs = Vec::new();
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    for name in names {
        let places = listed.get(name).cloned().unwrap_or_default();
        let set_files: BTreeSet<&str> = places
            .iter()
            .map(|(si, _)| sets[*si].file.as_str())
            .collect();
        let Some((file, def)) = defs
            .get(name)
            .and_then(|d| pick_definition(d, &set_files))
            .copied()
        else {
            if let Some((si, ei)) = places.first() {
                let (s, e) = (&sets[*si], &sets[*si].entries[*ei]);
                diags.push(Diagnostic::new(
                    Severity::Warning,
                    "missing-definition",
                    &s.file,
                    e.line,
                    1,
                    format!(
                        "no definition of `{name}` (set `{}`) found in the tree: generated by a macro, or outside the scanned files",
                        s.name
                    ),
                ));
            }
            continue;
        };
        let mut set_names: Vec<String> = places
            .iter()
            .map(|(si, _)| sets[*si].name.clone())
            .collect();
        set_names.sort();
        set_names.dedup();
        let mut prog_types: Vec<String> = places
            .iter()
            .flat_map(|(si, _)| sets[*si].registrations.iter().map(|r| r.prog_type.clone()))
            .collect();
        prog_types.sort();
        prog_types.dedup();
        let mut flags: Vec<String> = places
            .iter()
            .flat_map(|(si, ei)| sets[*si].entries[*ei].flags.iter().cloned())
            .collect();
        flags.sort();
        flags.dedup();

        let verifier_args = verifier_args_of(
            name,
            file,
            def,
            &places,
            &sets,
            &defs,
            &inp.implicit_types,
            &mut diags,
        );
        // The `magic_kfuncs` table belongs to the proposal's convention only.
        if verifier_args
            .as_ref()
            .is_some_and(|m| m.convention == ArgsConvention::MagicArgs)
        {
            flagged.insert(name.to_string());
        }
        kfuncs.push(Kfunc {
            name: name.to_string(),
            file: file.to_string(),
            line: def.line,
            bpf_kfunc_attr: def.bpf_kfunc_attr,
            return_type: def.return_type.clone(),
            params: def.params.clone(),
            sets: set_names,
            prog_types,
            flags,
            condition: def.condition.clone(),
            doc: def.doc.clone(),
            verifier_args,
        });
    }

    check_magic_tables(&magic_tables, &kfuncs, &flagged, &mut diags);

    sets.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    kfuncs.sort_by(|a, b| a.name.cmp(&b.name));
    diags.sort_by(|a, b| {
        (&a.file, a.line, a.col, &a.code, &a.message)
            .cmp(&(&b.file, b.line, b.col, &b.code, &b.message))
    });
    diags.dedup();
    Manifest {
        schema_version: SCHEMA_VERSION,
        generator: format!("kfunc-scan {}", env!("CARGO_PKG_VERSION")),
        kernel_version: inp.kernel_version,
        flag_values: inp.flag_values,
        implicit_arg_types: inp.implicit_types,
        kfunc_hooks: Default::default(),
        sets,
        kfuncs,
        diagnostics: diags,
        stats: Default::default(),
    }
}

/// registration → `btf_kfunc_id_set` variable → set, same file first.
fn attach_registrations(files: &[FileRecords], sets: &mut [KfuncSet], diags: &mut Vec<Diagnostic>) {
    let mut id_sets_global: HashMap<&str, Vec<(&str, &super::extract::RawIdSet)>> = HashMap::new();
    for f in files {
        for s in &f.id_sets {
            id_sets_global
                .entry(s.var.as_str())
                .or_default()
                .push((f.path.as_str(), s));
        }
    }
    for f in files {
        for r in &f.registrations {
            let candidates = id_sets_global.get(r.id_set.as_str());
            let chosen = candidates.and_then(|c| {
                c.iter()
                    .find(|(file, _)| *file == f.path)
                    .or_else(|| (c.len() == 1).then(|| &c[0]))
            });
            let Some((idfile, idset)) = chosen else {
                diags.push(Diagnostic::new(
                    Severity::Warning,
                    "unresolved-registration",
                    &f.path,
                    r.line,
                    r.col,
                    format!(
                        "no `struct btf_kfunc_id_set {}` initialiser found",
                        r.id_set
                    ),
                ));
                continue;
            };
            let Some(set_name) = idset.set.as_deref() else {
                diags.push(Diagnostic::new(
                    Severity::Warning,
                    "unresolved-registration",
                    idfile,
                    idset.line,
                    1,
                    format!("`{}` has no `.set` member", idset.var),
                ));
                continue;
            };
            let target = sets
                .iter()
                .position(|s| s.name == set_name && s.file == *idfile)
                .or_else(|| {
                    let all: Vec<usize> = sets
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.name == set_name)
                        .map(|(i, _)| i)
                        .collect();
                    (all.len() == 1).then(|| all[0])
                });
            match target {
                Some(i) => sets[i].registrations.push(Registration {
                    prog_type: r.prog_type.clone(),
                    id_set: idset.var.clone(),
                    filter: idset.filter.clone(),
                    file: f.path.clone(),
                    line: r.line,
                    condition: r.condition.clone(),
                }),
                None => diags.push(Diagnostic::new(
                    Severity::Warning,
                    "unresolved-registration",
                    &f.path,
                    r.line,
                    r.col,
                    format!(
                        "`{}` points at set `{set_name}`, which was not found",
                        idset.var
                    ),
                )),
            }
        }
    }
    for s in sets.iter_mut() {
        s.registrations.sort();
    }
}

/// `struct NAME *`, `const struct NAME *`, `struct NAME *const` → NAME.
pub fn pointee_struct(ty: &str) -> Option<&str> {
    let words: Vec<&str> = ty
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty() && *w != "const" && *w != "volatile")
        .collect();
    let stars = ty.matches('*').count();
    match (words.as_slice(), stars) {
        (["struct", name], 1) => Some(name),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn verifier_args_of(
    name: &str,
    file: &str,
    def: &RawFunction,
    places: &[(usize, usize)],
    sets: &[KfuncSet],
    defs: &HashMap<&str, Vec<(&str, &RawFunction)>>,
    implicit_types: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Option<VerifierArgs> {
    let has = |flag: &str| -> Vec<bool> {
        places
            .iter()
            .map(|(si, ei)| sets[*si].entries[*ei].flags.iter().any(|f| f == flag))
            .collect()
    };
    let magic_marks = has(FLAG_MAGIC);
    let implicit_marks = has(FLAG_IMPLICIT);
    for (flag, marks) in [(FLAG_MAGIC, &magic_marks), (FLAG_IMPLICIT, &implicit_marks)] {
        if marks.iter().any(|m| *m) && marks.iter().any(|m| !*m) {
            let without: Vec<String> = places
                .iter()
                .zip(marks.iter())
                .filter(|(_, m)| !**m)
                .map(|((si, _), _)| {
                    format!("{} ({}:{})", sets[*si].name, sets[*si].file, sets[*si].line)
                })
                .collect();
            diags.push(Diagnostic::new(
                Severity::Error,
                "inconsistent-magic-flag",
                file,
                def.line,
                def.col,
                format!(
                    "`{name}` carries {flag} in some sets but not in {}: the kernel refuses to register it",
                    without.join(", ")
                ),
            ));
        }
    }
    let convention = if magic_marks.iter().any(|m| *m) {
        ArgsConvention::MagicArgs
    } else if implicit_marks.iter().any(|m| *m) {
        ArgsConvention::ImplicitArgs
    } else {
        // Unflagged: a `__magic` argument is a mistake worth a word.
        if let Some((i, p)) = def
            .params
            .iter()
            .enumerate()
            .find(|(_, p)| p.annotation.as_deref() == Some(MAGIC_ANNOTATION))
        {
            if !places.is_empty() {
                diags.push(Diagnostic::new(
                    Severity::Warning,
                    "magic-arg-unflagged",
                    file,
                    def.line,
                    def.col,
                    format!(
                        "parameter {i} `{}` of `{name}` is named `{MAGIC_ANNOTATION}` but no set flags it {FLAG_MAGIC}; BPF programs would have to pass it",
                        p.name
                    ),
                ));
            }
        }
        return None;
    };
    let is_supplied = |p: &Param| match convention {
        ArgsConvention::MagicArgs => p.annotation.as_deref() == Some(MAGIC_ANNOTATION),
        ArgsConvention::ImplicitArgs => {
            pointee_struct(&p.ty).is_some_and(|s| implicit_types.iter().any(|t| t == s))
        }
    };
    let omitted: Vec<usize> = def
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| is_supplied(p))
        .map(|(i, _)| i)
        .collect();
    let (flag, what) = match convention {
        ArgsConvention::MagicArgs => (
            FLAG_MAGIC,
            format!("a parameter named `*{MAGIC_ANNOTATION}`"),
        ),
        ArgsConvention::ImplicitArgs => (
            FLAG_IMPLICIT,
            format!(
                "a parameter of type `struct {{{}}} *`",
                implicit_types.join(",")
            ),
        ),
    };
    if omitted.is_empty() {
        diags.push(Diagnostic::new(
            Severity::Error,
            "magic-without-arg",
            file,
            def.line,
            def.col,
            format!("`{name}` is flagged {flag} but has no {what}"),
        ));
        return None;
    }
    let first = omitted[0];
    let trailing = omitted.iter().enumerate().all(|(k, &i)| i == first + k)
        && omitted.last().is_some_and(|&l| l + 1 == def.params.len());
    if !trailing {
        diags.push(Diagnostic::new(
            Severity::Error,
            "magic-not-trailing",
            file,
            def.line,
            def.col,
            format!(
                "`{name}`: verifier-supplied parameters {omitted:?} must come after every normal parameter ({} in all)",
                def.params.len()
            ),
        ));
    }
    let impl_name = format!("{name}{IMPL_SUFFIX}");
    let legacy_impl = defs.contains_key(impl_name.as_str());
    Some(VerifierArgs {
        convention,
        bpf_name: name.to_string(),
        impl_name,
        omitted_params: omitted,
        legacy_impl,
    })
}

/// The proposal's verifier table: `BTF_ID_LIST(magic_kfuncs)` of
/// `BTF_ID(func, foo) BTF_ID(func, foo_impl)` pairs.
fn check_magic_tables(
    tables: &[(&str, &super::extract::RawIdList)],
    kfuncs: &[Kfunc],
    flagged: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    for (file, table) in tables {
        let mut listed = BTreeSet::new();
        for pair in table.members.chunks(2) {
            let (first, line) = (&pair[0].1, pair[0].2);
            match pair.get(1) {
                Some((_, second, _)) if *second == format!("{first}{IMPL_SUFFIX}") => {}
                other => {
                    diags.push(Diagnostic::new(
                        Severity::Error,
                        "magic-table-malformed",
                        file,
                        line,
                        1,
                        format!(
                            "`{MAGIC_TABLE}` lists `{first}` followed by {}, not `{first}{IMPL_SUFFIX}`",
                            other.map_or("nothing".to_string(), |o| format!("`{}`", o.1))
                        ),
                    ));
                    continue;
                }
            }
            listed.insert(first.clone());
            if !flagged.contains(first) {
                diags.push(Diagnostic::new(
                    Severity::Error,
                    "magic-table-unflagged",
                    file,
                    line,
                    1,
                    format!("`{MAGIC_TABLE}` lists `{first}`, which no set flags {FLAG_MAGIC}"),
                ));
            }
        }
        for k in kfuncs.iter().filter(|k| flagged.contains(&k.name)) {
            if !listed.contains(&k.name) {
                diags.push(Diagnostic::new(
                    Severity::Error,
                    "magic-table-missing",
                    file,
                    table.line,
                    1,
                    format!(
                        "`{MAGIC_TABLE}` lacks the pair `{}`, `{}{IMPL_SUFFIX}` of a flagged kfunc ({}:{})",
                        k.name, k.name, k.file, k.line
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pointee_struct;

    #[test]
    fn pointee() {
        assert_eq!(
            pointee_struct("struct bpf_prog_aux *"),
            Some("bpf_prog_aux")
        );
        assert_eq!(
            pointee_struct("const struct bpf_prog_aux *"),
            Some("bpf_prog_aux")
        );
        assert_eq!(
            pointee_struct("struct bpf_prog_aux *const"),
            Some("bpf_prog_aux")
        );
        assert_eq!(pointee_struct("struct bpf_prog_aux **"), None);
        assert_eq!(pointee_struct("void *"), None);
        assert_eq!(pointee_struct("struct bpf_prog_aux"), None);
    }
}
