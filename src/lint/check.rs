//! The comparisons behind [`lint`]: each YAML set against the manifest's
//! set of that name, then the manifest's sets the file lacks.

use super::kfuncs_yaml::{At, FuncSpec, KfuncsFile, ProgTypeSpec, SetSpec};
use super::{Finding, Kind, LintOptions, Pos, Report};
use crate::conventions::{is_test_source, PROG_TYPE_UNSPEC};
use crate::manifest::{CallableFrom, KfuncSet, Manifest, Registration, Severity};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Checks `file` against `m` (the manifest as published: pass
/// `Manifest::built_only` for a build's view).
pub fn lint(file: &KfuncsFile, m: &Manifest, opts: LintOptions) -> Report {
    let cx = Context::new(m, opts);
    let mut out: Vec<Finding> = file
        .unknown_keys
        .iter()
        .map(|u| Finding {
            pos: u.pos,
            kind: Kind::Disagreement,
            code: "lint-unknown-key",
            message: format!(
                "`{}` in {} is not a key ebpf-docs' generator reads",
                u.key, u.context
            ),
        })
        .collect();
    for s in &file.sets {
        cx.check_set(s, &mut out);
    }
    // Looked up by name, not searched: a file of many sets is checked in
    // time linear in its size.
    let named: HashSet<&str> = file.sets.iter().map(|s| s.name.value.as_str()).collect();
    let mut first_lister: HashMap<&str, &SetSpec> = HashMap::new();
    for y in file
        .sets
        .iter()
        .filter(|y| !cx.sets.contains_key(y.name.value.as_str()))
    {
        for f in &y.funcs {
            first_lister.entry(f.name.value.as_str()).or_insert(y);
        }
    }
    for (name, sets) in &cx.sets {
        if sets.iter().all(|s| s.entries.is_empty()) || named.contains(name) {
            continue;
        }
        out.push(cx.missing_set(file, &first_lister, name, sets[0]));
    }
    out.sort();
    out.dedup();
    Report { findings: out }
}

struct Context<'m> {
    m: &'m Manifest,
    /// The kfunc sets to compare with, by name (a static name may be used
    /// in two files).
    sets: BTreeMap<&'m str, Vec<&'m KfuncSet>>,
    /// Every function name the tree lists or defines.
    known_funcs: BTreeSet<&'m str>,
    /// The names of `sets` listing each function, in order.
    listing: HashMap<&'m str, Vec<&'m str>>,
    /// The name of every set of the manifest, kfunc sets or not.
    all_sets: HashSet<&'m str>,
    /// Program types the tree knows (empty: it cannot tell).
    known_types: BTreeSet<&'m str>,
    /// `(major, minor)` of the manifest's kernel.
    version: Option<(u32, u32)>,
}

impl<'m> Context<'m> {
    fn new(m: &'m Manifest, opts: LintOptions) -> Context<'m> {
        let mut sets: BTreeMap<&str, Vec<&KfuncSet>> = BTreeMap::new();
        for s in m.sets.iter().filter(|s| Manifest::is_kfunc_set(s)) {
            if opts.with_selftests || !is_test_source(&s.file) {
                sets.entry(s.name.as_str()).or_default().push(s);
            }
        }
        let mut known_funcs: BTreeSet<&str> = m.kfuncs.iter().map(|k| k.name.as_str()).collect();
        known_funcs.extend(
            m.sets
                .iter()
                .flat_map(|s| s.entries.iter().map(|e| e.name.as_str())),
        );
        let mut known_types: BTreeSet<&str> = m.kfunc_hooks.keys().map(String::as_str).collect();
        known_types.extend(m.prog_type_enum.iter().map(String::as_str));
        if !known_types.is_empty() {
            known_types.insert(PROG_TYPE_UNSPEC);
            known_types.extend(
                m.sets
                    .iter()
                    .flat_map(|s| s.registrations.iter().map(|r| r.prog_type.as_str())),
            );
        }
        let mut listing: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, v) in &sets {
            let funcs: BTreeSet<&str> = v
                .iter()
                .flat_map(|t| t.entries.iter().map(|e| e.name.as_str()))
                .collect();
            for f in funcs {
                listing.entry(f).or_default().push(name);
            }
        }
        Context {
            m,
            listing,
            all_sets: m.sets.iter().map(|s| s.name.as_str()).collect(),
            sets,
            known_funcs,
            known_types,
            version: m.kernel_version.as_deref().and_then(major_minor),
        }
    }

    /// A set of the tree the file does not name: renamed (a set name the
    /// tree does not have lists its functions), or missing.
    ///
    /// `first_lister`: for each function, the first of the file's sets
    /// whose names the tree does not have that lists it.
    fn missing_set(
        &self,
        file: &KfuncsFile,
        first_lister: &HashMap<&str, &SetSpec>,
        name: &str,
        set: &KfuncSet,
    ) -> Finding {
        // the first such set listing any of its functions
        let renamed = set
            .entries
            .iter()
            .filter_map(|e| first_lister.get(e.name.as_str()).copied())
            .min_by_key(|y| y.name.pos);
        let (kind, code, message) = match renamed {
            Some(y) => (
                Kind::VersionDifference,
                "lint-renamed-set",
                format!("set `{name}` ({}:{}) is not in the file; `{}` (line {}) lists its functions under another name", set.file, set.line, y.name.value, y.name.pos.line),
            ),
            None => (
                Kind::Disagreement,
                "lint-missing-set",
                format!("set `{name}` ({}:{}) is not in the file", set.file, set.line),
            ),
        };
        Finding {
            pos: file.sets_pos,
            kind,
            code,
            message,
        }
    }

    fn linux(&self) -> String {
        match self.version {
            Some((a, b)) => format!("Linux {a}.{b}"),
            None => "the scanned tree".into(),
        }
    }

    fn check_set(&self, s: &SetSpec, out: &mut Vec<Finding>) {
        let name = &s.name.value;
        let Some(sets) = self.sets.get(name.as_str()) else {
            out.push(self.stale_set(s));
            return;
        };
        self.check_funcs(s, sets, out);
        // the registrations of every set of that name, and who they let call
        let regs: Vec<&Registration> = sets.iter().flat_map(|t| &t.registrations).collect();
        let callable = self.m.callable_from(regs.iter().copied());
        self.check_prog_types(s, &regs, &callable, out);
        self.check_attach_types(s, &regs, &callable, out);
    }

    /// A set name the tree does not have: where its functions are now.
    fn stale_set(&self, s: &SetSpec) -> Finding {
        let name = &s.name.value;
        if self.all_sets.contains(name.as_str()) {
            let why = if s.funcs.is_empty() {
                ""
            } else {
                " (a selftests' set, or fmod_ret targets)"
            };
            return finding(
                &s.name,
                Kind::Disagreement,
                "lint-not-kfunc-set",
                format!(
                    "`{name}` is not a documented kfunc set in {}{why}",
                    self.linux()
                ),
            );
        }
        let now: BTreeSet<&str> = s
            .funcs
            .iter()
            .flat_map(|f| self.sets_listing(&f.name.value))
            .collect();
        let hint = if now.is_empty() {
            String::new()
        } else {
            format!("; its functions are in {}", backticked(now))
        };
        finding(
            &s.name,
            Kind::VersionDifference,
            "lint-stale-set",
            format!("set `{name}` does not exist in {}{hint}", self.linux()),
        )
    }

    fn sets_listing(&self, func: &str) -> Vec<&'m str> {
        self.listing.get(func).cloned().unwrap_or_default()
    }

    fn check_funcs(&self, s: &SetSpec, sets: &[&KfuncSet], out: &mut Vec<Finding>) {
        let set = &s.name.value;
        // the manifest's entries: name → flags (union over #if branches)
        let mut entries: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for e in sets.iter().flat_map(|t| &t.entries) {
            entries
                .entry(e.name.as_str())
                .or_default()
                .extend(e.flags.iter().map(String::as_str));
        }
        let incomplete = self.incomplete(sets);
        let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
        for f in &s.funcs {
            let fname = f.name.value.as_str();
            if let Some(first) = seen.get(fname) {
                out.push(finding(
                    &f.name,
                    Kind::Disagreement,
                    "lint-duplicate-func",
                    format!(
                        "`{fname}` is listed twice in set `{set}` (first at line {})",
                        first.line
                    ),
                ));
                continue;
            }
            seen.insert(fname, f.name.pos);
            match entries.get(fname) {
                Some(flags) => self.check_flags(set, f, flags, out),
                None => out.push(self.extra_func(set, f, incomplete.as_deref())),
            }
        }
        for (name, _) in entries.iter().filter(|(n, _)| !seen.contains_key(*n)) {
            let line = sets
                .iter()
                .flat_map(|t| &t.entries)
                .find(|e| e.name == *name)
                .map(|e| (sets[0].file.as_str(), e.line));
            let at = line.map(|(f, l)| format!(" ({f}:{l})")).unwrap_or_default();
            out.push(finding(
                &s.name,
                Kind::Disagreement,
                "lint-missing-func",
                format!("set `{set}` lacks `{name}`{at}"),
            ));
        }
    }

    /// Why the manifest's entries of these sets may be incomplete: the
    /// scanner's warning about a line it could not read inside one.
    fn incomplete(&self, sets: &[&KfuncSet]) -> Option<String> {
        self.m.diagnostics.iter().find_map(|d| {
            let inside = sets.iter().any(|s| {
                d.file == s.file && d.line >= s.line && d.line <= s.end_line.unwrap_or(s.line)
            });
            (inside && d.severity != Severity::Note).then(|| d.message.clone())
        })
    }

    fn extra_func(&self, set: &str, f: &FuncSpec, incomplete: Option<&str>) -> Finding {
        let fname = &f.name.value;
        if let Some(why) = incomplete {
            return finding(&f.name, Kind::Unverifiable, "lint-extra-func", format!("`{fname}` is not among the entries read of set `{set}`, which are incomplete: {why}"));
        }
        if !self.known_funcs.contains(fname.as_str()) {
            return finding(
                &f.name,
                Kind::VersionDifference,
                "lint-unknown-func",
                format!("`{fname}` does not exist in {}", self.linux()),
            );
        }
        let elsewhere = self.sets_listing(fname);
        let hint = if elsewhere.is_empty() {
            " (no set lists it)".to_string()
        } else {
            format!(" (it is in {})", backticked(elsewhere))
        };
        finding(
            &f.name,
            Kind::Disagreement,
            "lint-extra-func",
            format!(
                "set `{set}` does not list `{fname}` in {}{hint}",
                self.linux()
            ),
        )
    }

    fn check_flags(&self, set: &str, f: &FuncSpec, want: &BTreeSet<&str>, out: &mut Vec<Finding>) {
        let fname = &f.name.value;
        let mut have: BTreeSet<&str> = BTreeSet::new();
        for flag in &f.flags {
            let v = flag.value.as_str();
            if !have.insert(v) {
                out.push(finding(
                    flag,
                    Kind::Disagreement,
                    "lint-duplicate-flag",
                    format!("`{v}` is given twice for `{fname}`"),
                ));
            } else if !want.contains(v) {
                let unknown = !self.m.flag_values.is_empty() && !self.m.flag_values.contains_key(v);
                let (kind, code) = if unknown {
                    (Kind::VersionDifference, "lint-unknown-flag")
                } else {
                    (Kind::Disagreement, "lint-flags")
                };
                let what = if unknown {
                    "is not a flag of"
                } else {
                    "is not set on it in"
                };
                out.push(finding(
                    flag,
                    kind,
                    code,
                    format!("`{fname}` in set `{set}`: `{v}` {what} {}", self.linux()),
                ));
            }
        }
        for missing in want.iter().filter(|w| !have.contains(*w)) {
            let all: Vec<&str> = want.iter().copied().collect();
            out.push(finding(
                &f.name,
                Kind::Disagreement,
                "lint-flags",
                format!(
                    "`{fname}` in set `{set}` lacks `{missing}` ({}: [{}])",
                    self.linux(),
                    all.join(", ")
                ),
            ));
        }
    }

    /// Whether an entry's `since` / `until` include the manifest's version.
    fn applies(&self, p: &ProgTypeSpec) -> bool {
        let Some(v) = self.version else { return true };
        let since_ok = p
            .since
            .as_ref()
            .and_then(|s| major_minor(&s.version))
            .is_none_or(|s| s <= v);
        let until_ok = p
            .until
            .as_ref()
            .and_then(|u| major_minor(&u.version))
            .is_none_or(|u| v < u);
        since_ok && until_ok
    }

    fn check_prog_types(
        &self,
        s: &SetSpec,
        regs: &[&Registration],
        callable: &CallableFrom,
        out: &mut Vec<Finding>,
    ) {
        let set = &s.name.value;
        let allowed = callable.with_unspec();
        // what the registrations would serve without their filters
        let unfiltered: Vec<Registration> = regs
            .iter()
            .map(|r| Registration {
                filter: None,
                restriction: None,
                ..(*r).clone()
            })
            .collect();
        let reachable = self.m.callable_from(&unfiltered).with_unspec();
        let mut listed: BTreeMap<&str, Pos> = BTreeMap::new();
        for p in s.program_types.iter().filter(|p| self.applies(p)) {
            let t = p.name.value.as_str();
            if let Some(first) = listed.get(t) {
                out.push(finding(
                    &p.name,
                    Kind::Disagreement,
                    "lint-duplicate-prog-type",
                    format!(
                        "`{t}` is listed twice for set `{set}` (first at line {})",
                        first.line
                    ),
                ));
                continue;
            }
            listed.insert(t, p.name.pos);
            if !self.known_types.is_empty() && !self.known_types.contains(t) {
                out.push(finding(
                    &p.name,
                    Kind::VersionDifference,
                    "lint-unknown-prog-type",
                    format!(
                        "`{t}` is not a program type with kfuncs in {}",
                        self.linux()
                    ),
                ));
            } else if let Some(unread) = unread_gates(callable, t) {
                out.push(finding(&p.name, Kind::Unverifiable, "lint-filtered-prog-type", format!("set `{set}` reaches `{t}` through a registration restricted by {unread}, which kfunc-scan could not read")));
            } else if !allowed.contains(t) && reachable.contains(t) {
                out.push(finding(
                    &p.name,
                    Kind::Disagreement,
                    "lint-filtered-prog-type",
                    format!(
                        "set `{set}` is not callable from `{t}` in {}: {}",
                        self.linux(),
                        filters_text(regs)
                    ),
                ));
            } else if !allowed.contains(t) {
                out.push(finding(
                    &p.name,
                    Kind::Disagreement,
                    "lint-extra-prog-type",
                    format!(
                        "set `{set}` is not callable from `{t}` in {} (registered for {})",
                        self.linux(),
                        backticked(
                            regs.iter()
                                .map(|r| r.prog_type.as_str())
                                .collect::<BTreeSet<_>>()
                        )
                    ),
                ));
            }
        }
        let common = listed.contains_key(PROG_TYPE_UNSPEC);
        for t in allowed
            .iter()
            .filter(|t| !common && !listed.contains_key(t.as_str()))
        {
            out.push(match unread_gates(callable, t) {
                Some(unread) => finding(&s.name, Kind::Unverifiable, "lint-filtered-prog-type", format!("set `{set}` may be callable from `{t}` (not listed), through a registration restricted by {unread}, which kfunc-scan could not read")),
                None => finding(
                    &s.name,
                    Kind::Disagreement,
                    "lint-missing-prog-type",
                    format!(
                        "set `{set}` is callable from `{t}` in {}, not listed",
                        self.linux()
                    ),
                ),
            });
        }
    }

    /// `attach_type` narrows a set to some attach types: only a
    /// registration's filter can do that in the kernel.
    fn check_attach_types(
        &self,
        s: &SetSpec,
        regs: &[&Registration],
        callable: &CallableFrom,
        out: &mut Vec<Finding>,
    ) {
        let set = &s.name.value;
        let unread: BTreeSet<&str> = callable
            .gates()
            .into_iter()
            .filter(|g| g.restriction.unread.is_some())
            .map(|g| g.filter.as_str())
            .collect();
        let limited = callable.attach_types();
        for a in &s.attach_types {
            let t = &a.value;
            out.push(if !unread.is_empty() {
                finding(a, Kind::Unverifiable, "lint-attach-type", format!("set `{set}` is restricted by {}, which kfunc-scan could not read: whether to attach type `{t}` is not known", backticked(unread.iter().copied())))
            } else if regs.iter().all(|r| r.filter.is_none()) {
                finding(a, Kind::Disagreement, "lint-attach-type", format!("set `{set}` has no filter: the kernel does not restrict it to attach type `{t}`"))
            } else if limited.as_ref().is_none_or(|l| !l.contains(t)) {
                finding(a, Kind::Disagreement, "lint-attach-type", format!("set `{set}` is not limited to attach type `{t}`: {}", filters_text(regs)))
            } else {
                continue;
            });
        }
        if let (Some(limited), true) = (&limited, s.attach_types.is_empty()) {
            out.push(finding(
                &s.name,
                Kind::Disagreement,
                "lint-missing-attach-type",
                format!(
                    "set `{set}` is callable only from attach type {} in {}, not listed: {}",
                    backticked(limited.iter().map(String::as_str)),
                    self.linux(),
                    filters_text(regs)
                ),
            ));
        }
    }
}

/// The filters gating `t` that kfunc-scan could not read, backticked;
/// None when there are none.
fn unread_gates(callable: &CallableFrom, t: &str) -> Option<String> {
    let unread: BTreeSet<&str> = callable
        .gated
        .get(t)?
        .iter()
        .filter(|g| g.restriction.unread.is_some())
        .map(|g| g.filter.as_str())
        .collect();
    (!unread.is_empty()).then(|| backticked(unread))
}

/// What the registrations' filters allow, in words.
fn filters_text(regs: &[&Registration]) -> String {
    let mut parts: BTreeSet<String> = BTreeSet::new();
    for r in regs {
        let (Some(f), Some(rs)) = (&r.filter, &r.restriction) else {
            continue;
        };
        parts.insert(format!("filter `{f}` {}", rs.describe()));
    }
    parts.into_iter().collect::<Vec<_>>().join("; ")
}

fn finding<T>(at: &At<T>, kind: Kind, code: &'static str, message: String) -> Finding {
    Finding {
        pos: at.pos,
        kind,
        code,
        message,
    }
}

fn backticked<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `6.12.117`, `6.12` or a tag such as `v6.12` (`docs --history` writes
/// tag names) → `(6, 12)`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let v = v.trim();
    let mut it = v.strip_prefix('v').unwrap_or(v).split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}
