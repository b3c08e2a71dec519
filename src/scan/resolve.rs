//! Cross-file resolution: flag values, which definition belongs to which set
//! entry, program types through `btf_kfunc_id_set` initialisers, and the
//! verifier-supplied arguments of both conventions.

use super::records::{Allowed, RawFilter, Reading};
use super::records::{FileRecords, RawEntry, RawFunction, RawIdList, RawIdSet};
use super::tree::tree_facts::TreeFacts;
use crate::manifest::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::conventions::{
    self, FLAG_IMPLICIT_ARGS as FLAG_IMPLICIT, FLAG_MAGIC_ARGS as FLAG_MAGIC, IMPL_SUFFIX,
    MAGIC_ANNOTATION,
};

use super::names::MAGIC_TABLE;

/// How many files the scan read and parsed, for the manifest's stats.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FileCounts {
    pub files_read: usize,
    pub files_parsed: usize,
    pub files_second_look: usize,
}

pub(crate) struct Inputs {
    pub facts: TreeFacts,
    pub files: Vec<FileRecords>,
    /// Diagnostics of the walk and the tree facts (the files carry their own).
    pub diagnostics: Vec<Diagnostic>,
    pub counts: FileCounts,
    /// The build's view (`--config`), when the scan has one.
    pub build: Option<super::tree::build_view::Build>,
}

/// Every definition of each name: (file, definition).
type Definitions<'a> = HashMap<&'a str, Vec<(&'a str, &'a RawFunction)>>;

/// All definitions of one name, best first.
fn pick_definition<'a>(
    defs: &'a [(&'a str, &'a RawFunction)],
    set_files: &BTreeSet<&str>,
) -> Option<&'a (&'a str, &'a RawFunction)> {
    defs.iter()
        .min_by_key(|(file, f)| (!f.bpf_kfunc_attr, !set_files.contains(file), *file, f.line))
}

pub(crate) fn resolve(inp: Inputs) -> Manifest {
    let mut diags = inp.diagnostics;
    for f in &inp.files {
        diags.extend(f.diagnostics.iter().cloned());
    }
    let mut defs: Definitions = HashMap::new();
    for f in &inp.files {
        for func in &f.functions {
            defs.entry(func.name.as_str())
                .or_default()
                .push((f.path.as_str(), func));
        }
    }
    let mut sets = build_sets(&inp.files, &inp.facts.flag_values, &mut diags);
    attach_registrations(&inp.files, &inp.facts, &mut sets, &mut diags);
    let cx = Context {
        sets: &sets,
        defs: &defs,
        implicit_types: &inp.facts.implicit_types,
    };
    let (mut kfuncs, flagged) = build_kfuncs(&cx, &mut diags);
    let magic_tables: Vec<(&str, &RawIdList)> = inp
        .files
        .iter()
        .flat_map(|f| {
            f.id_lists
                .iter()
                .filter(|l| l.name == MAGIC_TABLE)
                .map(move |l| (f.path.as_str(), l))
        })
        .collect();
    check_magic_tables(&magic_tables, &kfuncs, &flagged, &mut diags);
    if let Some(b) = &inp.build {
        super::tree::build_view::apply(b, &mut sets, &mut kfuncs, &mut diags);
        if let Some(d) = nothing_built(&b.info.config, &sets) {
            diags.push(d);
        }
    }

    sets.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    kfuncs.sort_by(|a, b| a.name.cmp(&b.name));
    diags.sort_by(|a, b| {
        (&a.file, a.line, a.col, &a.code, &a.message)
            .cmp(&(&b.file, b.line, b.col, &b.code, &b.message))
    });
    diags.dedup();
    let stats = ScanStats {
        files_read: inp.counts.files_read,
        files_parsed: inp.counts.files_parsed,
        files_second_look: inp.counts.files_second_look,
        parse_error_nodes: inp.files.iter().map(|f| f.error_nodes).sum(),
    };
    let facts = inp.facts;
    Manifest {
        schema_version: SCHEMA_VERSION,
        generator: format!("kfunc-scan {}", env!("CARGO_PKG_VERSION")),
        kernel_version: facts.kernel_version,
        flag_values: facts.flag_values,
        implicit_arg_types: facts.implicit_types,
        kfunc_hooks: facts.kfunc_hooks,
        prog_type_enum: facts.prog_type_enum,
        build: inp.build.map(|b| b.info),
        sets,
        kfuncs,
        diagnostics: diags,
        stats,
    }
}

/// A warning when the build view compiles none of the tree's kfunc set
/// entries: a `.config` of another tree, or one without BPF, gives a
/// manifest from which `docs` and `header` publish nothing, and that
/// should not pass without a word.
fn nothing_built(config: &str, sets: &[KfuncSet]) -> Option<Diagnostic> {
    let entries = sets.iter().flat_map(|s| &s.entries);
    let (mut total, mut built) = (0usize, 0usize);
    for e in entries {
        total += 1;
        built += usize::from(e.built != Some(false));
    }
    (total > 0 && built == 0).then(|| {
        Diagnostic::new(
            Severity::Warning,
            "nothing-built",
            config,
            0,
            0,
            format!(
                "this configuration builds none of the tree's {total} kfunc set entries (is it this tree's .config, with CONFIG_BPF_SYSCALL?): docs and header will publish nothing unless given --with-unbuilt"
            ),
        )
    })
}

/// The files' sets, each entry's flags evaluated.
fn build_sets(
    files: &[FileRecords],
    flag_values: &BTreeMap<String, u64>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<KfuncSet> {
    let mut sets = Vec::new();
    for f in files {
        for s in &f.sets {
            sets.push(KfuncSet {
                name: s.name.clone(),
                kind: s.kind,
                file: f.path.clone(),
                line: s.line,
                end_line: s.end_line,
                entries: s
                    .entries
                    .iter()
                    .map(|e| set_entry(e, &f.path, flag_values, diags))
                    .collect(),
                object: BuiltInto::Unknown,
                registrations: Vec::new(),
            });
        }
    }
    sets
}

/// An entry with its flags' value; None when a flag is unknown (an error).
fn set_entry(
    e: &RawEntry,
    path: &str,
    flag_values: &BTreeMap<String, u64>,
    diags: &mut Vec<Diagnostic>,
) -> SetEntry {
    let mut value = Some(0u64);
    for flag in &e.flags {
        match flag_values.get(flag) {
            Some(v) => value = value.map(|acc| acc | v),
            None => {
                value = None;
                diags.push(Diagnostic::new(
                    Severity::Error,
                    "unknown-flag",
                    path,
                    e.line,
                    e.col,
                    format!(
                        "`{flag}` on `{}` is not defined in the tree's {}",
                        e.name,
                        super::tree::tree_facts::FLAGS_HEADER
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
        built: None,
    }
}

/// What deciding a kfunc's definition and arguments reads.
struct Context<'a> {
    sets: &'a [KfuncSet],
    defs: &'a Definitions<'a>,
    implicit_types: &'a [String],
}

/// One kfunc being resolved: its name, the definition chosen, and where sets
/// list it (set index, entry index).
struct Candidate<'a> {
    name: &'a str,
    file: &'a str,
    def: &'a RawFunction,
    places: &'a [(usize, usize)],
}

/// The kfuncs (set members, and functions defined with `__bpf_kfunc`), and
/// the names flagged with the magic-kfuncs proposal's flag.
fn build_kfuncs(cx: &Context, diags: &mut Vec<Diagnostic>) -> (Vec<Kfunc>, BTreeSet<String>) {
    let sets = cx.sets;
    // Which sets list each name.
    let mut listed: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (si, s) in sets.iter().enumerate() {
        for (ei, e) in s.entries.iter().enumerate() {
            listed.entry(e.name.as_str()).or_default().push((si, ei));
        }
    }
    let mut names: BTreeSet<&str> = listed.keys().copied().collect();
    for (name, ds) in cx.defs {
        if ds.iter().any(|(_, f)| f.bpf_kfunc_attr) {
            names.insert(name);
        }
    }
    let mut kfuncs = Vec::new();
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    for name in names {
        let places = listed.get(name).map(Vec::as_slice).unwrap_or_default();
        let set_files: BTreeSet<&str> = places
            .iter()
            .map(|(si, _)| sets[*si].file.as_str())
            .collect();
        let Some((file, def)) = cx
            .defs
            .get(name)
            .and_then(|d| pick_definition(d, &set_files))
            .copied()
        else {
            missing_definition(name, places, sets, diags);
            continue;
        };
        let k = Candidate {
            name,
            file,
            def,
            places,
        };
        let kfunc = kfunc_of(cx, &k, diags);
        // The `magic_kfuncs` table belongs to the proposal's convention only.
        if kfunc
            .verifier_args
            .as_ref()
            .is_some_and(|m| m.convention == ArgsConvention::MagicArgs)
        {
            flagged.insert(name.to_string());
        }
        kfuncs.push(kfunc);
    }
    (kfuncs, flagged)
}

fn missing_definition(
    name: &str,
    places: &[(usize, usize)],
    sets: &[KfuncSet],
    diags: &mut Vec<Diagnostic>,
) {
    let Some((si, ei)) = places.first() else {
        return;
    };
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

/// The sorted, deduplicated values `f` gives for each place.
fn gather<'a, I: IntoIterator<Item = String>>(
    places: &'a [(usize, usize)],
    f: impl Fn(&'a (usize, usize)) -> I,
) -> Vec<String> {
    let mut v: Vec<String> = places.iter().flat_map(f).collect();
    v.sort();
    v.dedup();
    v
}

fn kfunc_of(cx: &Context, k: &Candidate, diags: &mut Vec<Diagnostic>) -> Kfunc {
    let sets = cx.sets;
    let set_names = gather(k.places, |(si, _)| [sets[*si].name.clone()]);
    let prog_types = gather(k.places, |(si, _)| {
        sets[*si].registrations.iter().map(|r| r.prog_type.clone())
    });
    let flags = gather(k.places, |(si, ei)| sets[*si].entries[*ei].flags.clone());
    let def = k.def;
    Kfunc {
        name: k.name.to_string(),
        file: k.file.to_string(),
        line: def.line,
        bpf_kfunc_attr: def.bpf_kfunc_attr,
        return_type: def.return_type.clone(),
        params: def.params.clone(),
        sets: set_names,
        prog_types,
        flags,
        condition: def.condition.clone(),
        doc: def.doc.clone(),
        verifier_args: verifier_args_of(cx, k, diags),
        object: BuiltInto::Unknown,
    }
}

/// registration → `btf_kfunc_id_set` variable → set, same file first.
fn attach_registrations(
    files: &[FileRecords],
    facts: &TreeFacts,
    sets: &mut [KfuncSet],
    diags: &mut Vec<Diagnostic>,
) {
    let mut id_sets: HashMap<&str, Vec<(&str, &RawIdSet)>> = HashMap::new();
    for f in files {
        for s in &f.id_sets {
            id_sets
                .entry(s.var.as_str())
                .or_default()
                .push((f.path.as_str(), s));
        }
    }
    for f in files {
        for r in &f.registrations {
            let warn = |file: &str, line, col, msg| {
                Diagnostic::new(
                    Severity::Warning,
                    "unresolved-registration",
                    file,
                    line,
                    col,
                    msg,
                )
            };
            // the initialiser in the same file, else the only one
            let chosen = id_sets.get(r.id_set.as_str()).and_then(|c| {
                c.iter()
                    .find(|(file, _)| *file == f.path)
                    .or_else(|| (c.len() == 1).then(|| &c[0]))
            });
            let Some((idfile, idset)) = chosen else {
                let msg = format!(
                    "no `struct btf_kfunc_id_set {}` initialiser found",
                    r.id_set
                );
                diags.push(warn(&f.path, r.line, r.col, msg));
                continue;
            };
            let Some(set_name) = idset.set.as_deref() else {
                let msg = format!("`{}` has no `.set` member", idset.var);
                diags.push(warn(idfile, idset.line, 1, msg));
                continue;
            };
            let Some(i) = set_named(sets, set_name, idfile) else {
                let msg = format!(
                    "`{}` points at set `{set_name}`, which was not found",
                    idset.var
                );
                diags.push(warn(&f.path, r.line, r.col, msg));
                continue;
            };
            sets[i].registrations.push(Registration {
                prog_type: r.prog_type.clone(),
                id_set: idset.var.clone(),
                filter: idset.filter.clone(),
                file: f.path.clone(),
                line: r.line,
                condition: r.condition.clone(),
                restriction: idset
                    .filter_reading
                    .as_ref()
                    .map(|raw| restriction(raw, idfile, facts, diags)),
            });
        }
    }
    for s in sets.iter_mut() {
        s.registrations.sort();
    }
}

/// A filter's reading as the manifest records it: what it allows, all but
/// some completed from the tree's enums. A filter not read, or read as
/// concerning every kfunc of its hook, is a note where it is defined.
fn restriction(
    raw: &RawFilter,
    file: &str,
    facts: &TreeFacts,
    diags: &mut Vec<Diagnostic>,
) -> Restriction {
    let (line, col) = raw.at.map_or((None, 0), |(l, c)| (Some(l), c));
    let defined = line.map(|_| file.to_string());
    let note = |code: &str, message: String| {
        Diagnostic::new(Severity::Note, code, file, line.unwrap_or(0), col, message)
    };
    match &raw.reading {
        Reading::Unread(why) => {
            diags.push(note(
                "filter-unread",
                format!(
                    "filter `{}` not read: {why}; its set is shown as restricted by it",
                    raw.name
                ),
            ));
            Restriction::unread(defined, line, why.clone())
        }
        Reading::Read {
            prog_types,
            attach_types,
            requires,
            guarded,
        } => {
            let restricts = *prog_types != Allowed::Any
                || *attach_types != Allowed::Any
                || !requires.is_empty();
            if !guarded && restricts {
                diags.push(note("filter-unguarded", format!("filter `{}` does not ask whether the kfunc is in its set: the kernel applies it to every kfunc of its hook, kfunc-scan to its own set only", raw.name)));
            }
            let complete = |a: &Allowed, every: &[String]| match a {
                Allowed::Any => Ok(None),
                Allowed::Only(v) => Ok(Some(v.clone())),
                Allowed::Except(_) if every.is_empty() => Err(()),
                Allowed::Except(but) => Ok(Some(
                    every.iter().filter(|t| !but.contains(t)).cloned().collect(),
                )),
            };
            match (
                complete(prog_types, &facts.prog_type_enum),
                complete(attach_types, &facts.attach_type_enum),
            ) {
                (Ok(prog_types), Ok(attach_types)) => Restriction {
                    file: defined,
                    line,
                    unread: None,
                    prog_types,
                    attach_types,
                    requires: requires.clone(),
                },
                _ => {
                    let why =
                        "it allows all but some types, and the tree's uapi enums were not read";
                    diags.push(note(
                        "filter-unread",
                        format!("filter `{}` not read: {why}", raw.name),
                    ));
                    Restriction::unread(defined, line, why)
                }
            }
        }
    }
}

/// The set `name` in `file`, else the only set of that name.
fn set_named(sets: &[KfuncSet], name: &str, file: &str) -> Option<usize> {
    sets.iter()
        .position(|s| s.name == name && s.file == file)
        .or_else(|| {
            let mut all = sets.iter().enumerate().filter(|(_, s)| s.name == name);
            match (all.next(), all.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
}

/// `struct NAME *`, `const struct NAME *`, `struct NAME *const` → NAME.
pub(crate) fn pointee_struct(ty: &str) -> Option<&str> {
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

/// The verifier-supplied arguments of a kfunc, under the convention its
/// sets' flags name; mistakes are diagnostics.
fn verifier_args_of(
    cx: &Context,
    k: &Candidate,
    diags: &mut Vec<Diagnostic>,
) -> Option<VerifierArgs> {
    let Some(convention) = convention_of(cx, k, diags) else {
        warn_unflagged_magic(k, diags);
        return None;
    };
    let is_supplied = |p: &Param| match convention {
        ArgsConvention::MagicArgs => p.annotation.as_deref() == Some(MAGIC_ANNOTATION),
        ArgsConvention::ImplicitArgs => {
            pointee_struct(&p.ty).is_some_and(|s| cx.implicit_types.iter().any(|t| t == s))
        }
    };
    let (name, def) = (k.name, k.def);
    let omitted: Vec<usize> = def
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| is_supplied(p))
        .map(|(i, _)| i)
        .collect();
    let diag = |code: &str, msg: String| {
        Diagnostic::new(Severity::Error, code, k.file, def.line, def.col, msg)
    };
    if omitted.is_empty() {
        let (flag, what) = match convention {
            ArgsConvention::MagicArgs => {
                (FLAG_MAGIC, format!("parameter named `*{MAGIC_ANNOTATION}`"))
            }
            ArgsConvention::ImplicitArgs => (
                FLAG_IMPLICIT,
                format!(
                    "parameter of type `struct {{{}}} *`",
                    cx.implicit_types.join(",")
                ),
            ),
        };
        diags.push(diag(
            "magic-without-arg",
            format!("`{name}` is flagged {flag} but has no {what}"),
        ));
        return None;
    }
    let first = omitted[0];
    // KF_IMPLICIT_ARGS (Linux 7.0+): the kernel's reduced prototype is the
    // parameters before the first verifier-supplied one; the verifier takes
    // every argument from there on as its own (resolve_btfids drops them
    // all: 7.1's `bpf_list_push_front_impl(head, node, meta, off)` is
    // called as `bpf_list_push_front(head, node)`)
    let omitted: Vec<usize> = match convention {
        ArgsConvention::ImplicitArgs => (first..def.params.len()).collect(),
        ArgsConvention::MagicArgs => omitted,
    };
    let trailing = omitted.iter().enumerate().all(|(k, &i)| i == first + k)
        && omitted.last().is_some_and(|&l| l + 1 == def.params.len());
    if !trailing {
        diags.push(diag(
            "magic-not-trailing",
            format!(
                "`{name}`: verifier-supplied parameters {omitted:?} must come after every normal parameter ({} in all)",
                def.params.len()
            ),
        ));
    }
    let impl_name = conventions::impl_name(name);
    let legacy_impl = cx.defs.contains_key(impl_name.as_str());
    Some(VerifierArgs {
        convention,
        bpf_name: name.to_string(),
        impl_name,
        omitted_params: omitted,
        legacy_impl,
    })
}

/// The convention the sets' flags name, if any; a flag in some of the
/// kfunc's sets and not in others is an error (the kernel refuses it).
fn convention_of(
    cx: &Context,
    k: &Candidate,
    diags: &mut Vec<Diagnostic>,
) -> Option<ArgsConvention> {
    let sets = cx.sets;
    let has = |flag: &str| -> Vec<bool> {
        k.places
            .iter()
            .map(|(si, ei)| sets[*si].entries[*ei].flags.iter().any(|f| f == flag))
            .collect()
    };
    let magic_marks = has(FLAG_MAGIC);
    let implicit_marks = has(FLAG_IMPLICIT);
    for (flag, marks) in [(FLAG_MAGIC, &magic_marks), (FLAG_IMPLICIT, &implicit_marks)] {
        if !(marks.iter().any(|m| *m) && marks.iter().any(|m| !*m)) {
            continue;
        }
        let without: Vec<String> = k
            .places
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
            k.file,
            k.def.line,
            k.def.col,
            format!(
                "`{}` carries {flag} in some sets but not in {}: the kernel refuses to register it",
                k.name,
                without.join(", ")
            ),
        ));
    }
    if magic_marks.iter().any(|m| *m) {
        Some(ArgsConvention::MagicArgs)
    } else if implicit_marks.iter().any(|m| *m) {
        Some(ArgsConvention::ImplicitArgs)
    } else {
        None
    }
}

/// Unflagged: a `__magic` parameter of a set member is a mistake worth a word.
fn warn_unflagged_magic(k: &Candidate, diags: &mut Vec<Diagnostic>) {
    if k.places.is_empty() {
        return;
    }
    let Some((i, p)) = k
        .def
        .params
        .iter()
        .enumerate()
        .find(|(_, p)| p.annotation.as_deref() == Some(MAGIC_ANNOTATION))
    else {
        return;
    };
    diags.push(Diagnostic::new(
        Severity::Warning,
        "magic-arg-unflagged",
        k.file,
        k.def.line,
        k.def.col,
        format!(
            "parameter {i} `{}` of `{}` is named `{MAGIC_ANNOTATION}` but no set flags it {FLAG_MAGIC}; BPF programs would have to pass it",
            p.name, k.name
        ),
    ));
}

/// The proposal's verifier table: `BTF_ID_LIST(magic_kfuncs)` of
/// `BTF_ID(func, foo) BTF_ID(func, foo_impl)` pairs.
fn check_magic_tables(
    tables: &[(&str, &RawIdList)],
    kfuncs: &[Kfunc],
    flagged: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    for (file, table) in tables {
        let mut listed = BTreeSet::new();
        for pair in table.members.chunks(2) {
            let (first, line) = (&pair[0].1, pair[0].2);
            match pair.get(1) {
                Some((_, second, _)) if *second == conventions::impl_name(first) => {}
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

    /// The same problem reported twice (a file read by the walk and again,
    /// a header two passes reach) is one diagnostic, in file/line order.
    #[test]
    fn diagnostics_are_sorted_and_each_reported_once() {
        use crate::manifest::{Diagnostic, Severity};
        let d = |file: &str, line| {
            Diagnostic::new(
                Severity::Warning,
                "read-error",
                file,
                line,
                1,
                "cannot read",
            )
        };
        let file_diag = super::FileRecords {
            path: "b.c".into(),
            diagnostics: vec![d("b.c", 3)],
            ..Default::default()
        };
        let m = super::resolve(super::Inputs {
            facts: Default::default(),
            files: vec![file_diag.clone(), file_diag],
            diagnostics: vec![d("b.c", 3), d("a.c", 9), d("a.c", 9)],
            counts: Default::default(),
            build: None,
        });
        let got: Vec<(&str, u32)> = m
            .diagnostics
            .iter()
            .map(|d| (d.file.as_str(), d.line))
            .collect();
        assert_eq!(got, [("a.c", 9), ("b.c", 3)]);
    }
}
