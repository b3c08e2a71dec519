//! `kfunc-scan diff`: what changed for BPF programs between two manifests:
//! kfuncs added and removed, prototype changes (as BPF programs call them),
//! flag changes, program-type changes and moves between sets, each marked
//! breaking or not.

use crate::cdecl;
use crate::conventions;
use crate::manifest::{Kfunc, Manifest};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

#[derive(Debug, Serialize, PartialEq)]
pub struct Diff {
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
    /// Removals and breaking changes.
    pub breaking: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Changed {
    pub name: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The prototype BPF programs call.
    Prototype {
        old: String,
        new: String,
        breaking: bool,
        what: String,
    },
    Flags {
        added: Vec<String>,
        removed: Vec<String>,
        breaking: bool,
    },
    ProgramTypes {
        added: Vec<String>,
        removed: Vec<String>,
        breaking: bool,
    },
    Sets {
        old: Vec<String>,
        new: Vec<String>,
    },
}

impl Change {
    pub fn breaking(&self) -> bool {
        match self {
            Change::Prototype { breaking, .. }
            | Change::Flags { breaking, .. }
            | Change::ProgramTypes { breaking, .. } => *breaking,
            Change::Sets { .. } => false,
        }
    }
}

fn prototype_change(o: &Kfunc, n: &Kfunc) -> Option<Change> {
    let (os, ns) = (cdecl::bpf_signature(o), cdecl::bpf_signature(n));
    if os == ns {
        return None;
    }
    let (op, np) = (cdecl::bpf_params(o), cdecl::bpf_params(n));
    let mut what = Vec::new();
    let mut breaking = false;
    if o.return_type != n.return_type {
        what.push(format!("return type {} → {}", o.return_type, n.return_type));
        breaking = true;
    }
    if op.len() != np.len() {
        what.push(format!("{} → {} parameters", op.len(), np.len()));
        breaking = true;
    }
    for (i, (a, b)) in op.iter().zip(np.iter()).enumerate() {
        if a.ty != b.ty {
            what.push(format!("parameter {i} type {} → {}", a.ty, b.ty));
            breaking = true;
        }
        if a.annotation != b.annotation {
            what.push(format!(
                "parameter {i} annotation {} → {}",
                a.annotation.as_deref().unwrap_or("none"),
                b.annotation.as_deref().unwrap_or("none")
            ));
            breaking = true;
        }
        if a.name != b.name && a.annotation == b.annotation {
            what.push(format!("parameter {i} renamed {} → {}", a.name, b.name));
        }
    }
    Some(Change::Prototype {
        old: os,
        new: ns,
        breaking,
        what: what.join("; "),
    })
}

/// Kfuncs defined under tools/ (the selftests' modules) are left out unless
/// `with_selftests`: no kernel ships them.
pub fn diff(old: &Manifest, new: &Manifest, with_selftests: bool) -> Diff {
    let (o, n) = (by_name(old, with_selftests), by_name(new, with_selftests));
    let added: Vec<String> = n
        .keys()
        .filter(|k| !o.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let removed: Vec<String> = o
        .keys()
        .filter(|k| !n.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let changed: Vec<Changed> = o
        .iter()
        .filter_map(|(name, ok)| {
            let changes = changes(old, ok, new, n.get(name)?);
            (!changes.is_empty()).then(|| Changed {
                name: name.to_string(),
                changes,
            })
        })
        .collect();
    let breaking = removed.len()
        + changed
            .iter()
            .filter(|c| c.changes.iter().any(Change::breaking))
            .count();
    Diff {
        old_version: old.kernel_version.clone(),
        new_version: new.kernel_version.clone(),
        added,
        removed,
        changed,
        breaking,
    }
}

/// The kfuncs BPF programs can call, by name.
fn by_name(m: &Manifest, with_selftests: bool) -> BTreeMap<&str, &Kfunc> {
    m.callable_kfuncs()
        .into_iter()
        .filter(|k| with_selftests || !k.is_selftest())
        .map(|k| (k.name.as_str(), k))
        .collect()
}

/// What changed for one kfunc, `ok` of `old` and `nk` of `new`.
fn changes(old: &Manifest, ok: &Kfunc, new: &Manifest, nk: &Kfunc) -> Vec<Change> {
    let mut changes = Vec::new();
    changes.extend(prototype_change(ok, nk));
    changes.extend(flags_change(ok, nk));
    let (op, np) = (
        old.kfunc_callable_from(ok).every,
        new.kfunc_callable_from(nk).every,
    );
    if op != np {
        let removed: Vec<String> = op.difference(&np).cloned().collect();
        changes.push(Change::ProgramTypes {
            added: np.difference(&op).cloned().collect(),
            // a program type that could call it no longer can
            breaking: !removed.is_empty(),
            removed,
        });
    }
    if ok.sets != nk.sets {
        changes.push(Change::Sets {
            old: ok.sets.clone(),
            new: nk.sets.clone(),
        });
    }
    changes
}

fn flags_change(o: &Kfunc, n: &Kfunc) -> Option<Change> {
    let (of, nf): (BTreeSet<&String>, BTreeSet<&String>) =
        (o.flags.iter().collect(), n.flags.iter().collect());
    if of == nf {
        return None;
    }
    let added: Vec<String> = nf.difference(&of).map(|s| s.to_string()).collect();
    let removed: Vec<String> = of.difference(&nf).map(|s| s.to_string()).collect();
    let breaking = added
        .iter()
        .any(|f| conventions::flag_change_breaks(f, true))
        || removed
            .iter()
            .any(|f| conventions::flag_change_breaks(f, false));
    Some(Change::Flags {
        added,
        removed,
        breaking,
    })
}

/// The readable report.
pub fn report(d: &Diff) -> String {
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".into());
    let mut out = format!(
        "kfuncs {} → {}: {} added, {} removed, {} changed ({} breaking)\n",
        v(&d.old_version),
        v(&d.new_version),
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.breaking
    );
    if !d.removed.is_empty() {
        out.push_str("\nremoved (breaking):\n");
        for r in &d.removed {
            let _ = writeln!(out, "  - {r}");
        }
    }
    if !d.added.is_empty() {
        out.push_str("\nadded:\n");
        for a in &d.added {
            let _ = writeln!(out, "  + {a}");
        }
    }
    if !d.changed.is_empty() {
        out.push_str("\nchanged:\n");
    }
    for c in &d.changed {
        let mark = if c.changes.iter().any(Change::breaking) {
            " (breaking)"
        } else {
            ""
        };
        let _ = writeln!(out, "  ~ {}{mark}", c.name);
        for ch in &c.changes {
            let b = if ch.breaking() { " [breaking]" } else { "" };
            match ch {
                Change::Prototype { old, new, what, .. } => {
                    let _ = writeln!(
                        out,
                        "      prototype{b}: {what}\n        - {old}\n        + {new}"
                    );
                }
                Change::Flags { added, removed, .. } => {
                    let _ = writeln!(
                        out,
                        "      flags{b}: +[{}] -[{}]",
                        added.join(", "),
                        removed.join(", ")
                    );
                }
                Change::ProgramTypes { added, removed, .. } => {
                    let _ = writeln!(
                        out,
                        "      program types{b}: +[{}] -[{}]",
                        added.join(", "),
                        removed.join(", ")
                    );
                }
                Change::Sets { old, new } => {
                    let _ = writeln!(out, "      sets: {} → {}", old.join(", "), new.join(", "));
                }
            }
        }
    }
    out
}
