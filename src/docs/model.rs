//! What the documentation says, worked out once from the manifest: which
//! kfuncs get a page, the sets that list each (with the entry), the program
//! types each is callable from, the kfuncs of each program type, and every
//! page's name. The Markdown and YAML renderers only read it.
//!
//! The selftests' sets and kfuncs ([`conventions::is_test_source`]: under
//! `tools/`, or `net/bpf/test_run.c`'s `test_sk_check_kfunc_ids`, whose
//! kfuncs release what only `bpf_testmod` hands out) are left out unless
//! [`DocsOptions::with_selftests`], as the header leaves them out.
//!
//! Nothing here depends on the order of the manifest's arrays: kfuncs are
//! taken by name, sets in source order (file, line).

use crate::conventions;
use crate::manifest::history::History;
use crate::manifest::{Gate, Kfunc, KfuncSet, Manifest, Registration, SetEntry};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the documentation covers and links to.
#[derive(Debug, Clone, Default)]
pub struct DocsOptions {
    /// Also document the selftests' sets and kfuncs.
    pub with_selftests: bool,
    /// Link source locations to this URL prefix (the file's path and
    /// `#L<line>` follow).
    pub source_url: Option<String>,
    /// When each kfunc and program type came and went ([`super::since`]).
    pub history: Option<Arc<History>>,
}

pub(crate) struct Site<'m> {
    pub manifest: &'m Manifest,
    /// The kernel version, for titles.
    pub version: &'m str,
    /// The kfuncs BPF programs can call (those a kfunc set lists), by name.
    pub kfuncs: Vec<KfuncDoc<'m>>,
    /// The kfunc sets, in source order.
    pub sets: Vec<SetDoc<'m>>,
    /// Program type → the kfuncs callable from it (indices into `kfuncs`).
    pub by_prog_type: BTreeMap<String, Vec<usize>>,
    /// The names of every kfunc defined in the tree, with a page or not.
    defined: BTreeSet<&'m str>,
    /// [`DocsOptions::history`].
    pub history: Option<Arc<History>>,
}

pub(crate) struct KfuncDoc<'m> {
    pub kfunc: &'m Kfunc,
    /// The sets listing it (indices into `Site::sets`), each with its first
    /// entry for it.
    pub listed_in: Vec<(usize, &'m SetEntry)>,
    /// The program types it may be called from ([`Manifest::callable_from`]).
    pub callable_from: Vec<String>,
    /// Those only callable as a filter allows, with the filters.
    pub gated: BTreeMap<String, Vec<Gate>>,
}

impl KfuncDoc<'_> {
    /// What calls from `prog_type` must also meet, in words (backticked
    /// names), empty when nothing: "only with attach type `BPF_TRACE_ITER`".
    pub(crate) fn condition_for(&self, prog_type: &str) -> String {
        self.gated
            .get(prog_type)
            .map(|g| gate_words(g))
            .unwrap_or_default()
    }
}

/// What a program's calls must meet to pass `gates`.
pub(crate) fn gate_words(gates: &[Gate]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for g in gates {
        let r = &g.restriction;
        if r.unread.is_some() {
            parts.push(format!(
                "if filter `{}` allows it: it could not be read",
                g.filter
            ));
            continue;
        }
        if let Some(a) = &r.attach_types {
            let names: Vec<String> = a.iter().map(|t| format!("`{t}`")).collect();
            let plural = if a.len() == 1 { "" } else { "s" };
            parts.push(format!(
                "only with attach type{plural} {}",
                names.join(", ")
            ));
        }
        for q in &r.requires {
            parts.push(format!("only when `{q}`"));
        }
    }
    parts.dedup();
    parts.join(", ")
}

/// A registration's filter in words: "restricted by `f` (file:line),
/// which allows only program type `BPF_PROG_TYPE_LSM`"; None without one.
pub(crate) fn restriction_words(r: &Registration) -> Option<String> {
    let f = r.filter.as_deref()?;
    let at = r
        .restriction
        .as_ref()
        .and_then(|rs| {
            let at = format!("{}:{}", rs.file.as_deref()?, rs.line?);
            Some(format!(" ({})", super::md_path(&at)))
        })
        .unwrap_or_default();
    let what = r
        .restriction
        .as_ref()
        .map_or("could not be read".to_string(), |rs| rs.describe());
    Some(format!("restricted by `{f}`{at}, which {what}"))
}

pub(crate) struct SetDoc<'m> {
    pub set: &'m KfuncSet,
    /// Its page's name (without `.md`), also its key in the ebpf-docs YAML.
    pub page: String,
}

impl<'m> Site<'m> {
    pub(crate) fn new(m: &'m Manifest, opts: &DocsOptions) -> Site<'m> {
        let pages = set_pages(m);
        let shown = |file: &str| opts.with_selftests || !conventions::is_test_source(file);
        let mut sets: Vec<SetDoc> = m
            .sets
            .iter()
            .zip(pages)
            .filter(|(s, _)| Manifest::is_kfunc_set(s) && shown(&s.file))
            .map(|(set, page)| SetDoc { set, page })
            .collect();
        sets.sort_by(|a, b| (&a.set.file, a.set.line).cmp(&(&b.set.file, b.set.line)));

        let mut listed: BTreeMap<&str, Vec<(usize, &SetEntry)>> = BTreeMap::new();
        for (i, s) in sets.iter().enumerate() {
            for e in &s.set.entries {
                let of = listed.entry(e.name.as_str()).or_default();
                // an entry listed twice in one set (#if / #else) is one line
                if of.last().is_none_or(|(j, _)| *j != i) {
                    of.push((i, e));
                }
            }
        }
        let mut callable: Vec<&Kfunc> = m
            .kfuncs
            .iter()
            .filter(|k| listed.contains_key(k.name.as_str()) && shown(&k.file))
            .collect();
        callable.sort_by(|a, b| a.name.cmp(&b.name));
        let kfuncs: Vec<KfuncDoc> = callable
            .into_iter()
            .map(|k| {
                let callable = m.kfunc_callable_from(k);
                KfuncDoc {
                    kfunc: k,
                    listed_in: listed.get(k.name.as_str()).cloned().unwrap_or_default(),
                    callable_from: callable.every.into_iter().collect(),
                    gated: callable.gated,
                }
            })
            .collect();

        let mut by_prog_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, k) in kfuncs.iter().enumerate() {
            for t in &k.callable_from {
                by_prog_type.entry(t.clone()).or_default().push(i);
            }
        }
        Site {
            manifest: m,
            version: m.kernel_version.as_deref().unwrap_or("(unknown version)"),
            kfuncs,
            sets,
            by_prog_type,
            defined: m.kfuncs.iter().map(|k| k.name.as_str()).collect(),
            history: opts.history.clone(),
        }
    }

    /// Whether the tree defines a kfunc of this name.
    pub(crate) fn is_defined(&self, name: &str) -> bool {
        self.defined.contains(name)
    }
}

/// Each set's page name, in the manifest's order. Set names are static in
/// C: two files may use the same one, and then the file is part of both
/// names. A name still taken (the same set name twice in one file) gets
/// the line, then a number, so that no two sets share a page.
fn set_pages(m: &Manifest) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &m.sets {
        *count.entry(s.name.as_str()).or_default() += 1;
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    m.sets
        .iter()
        .map(|s| {
            let mut page = if count[s.name.as_str()] > 1 {
                format!("{}--{}", s.name, slug(&s.file))
            } else {
                s.name.clone()
            };
            if taken.contains(&page) {
                page = format!("{page}--{}", s.line);
            }
            let base = page.clone();
            let mut n = 2;
            while taken.contains(&page) {
                page = format!("{base}--{n}");
                n += 1;
            }
            taken.insert(page.clone());
            page
        })
        .collect()
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
