//! `kfunc-scan diff`: what changed for BPF programs between two manifests:
//! kfuncs added and removed, prototype changes (as BPF programs call them),
//! flag changes, program-type changes and moves between sets, each marked
//! breaking or not. Types are compared as BPF programs have them
//! ([`cdecl::bpf_type`]: `struct bpf_dynptr_kern *` is `struct bpf_dynptr *`).
//!
//! A kfunc `foo_impl(…, void *aux__ign)` that became `foo(…, struct
//! bpf_prog_aux *aux)` with verifier-supplied arguments is a compatible
//! rename ([`Change::ImplicitArgsRename`], [`is_implicit_args_rename`]), not
//! a removal: the kernel's BTF keeps `foo_impl` with the full prototype, so
//! programs built against the old name keep loading.

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
    /// Kfuncs of either manifest left out as the selftests' (without
    /// `with_selftests`), by name: the counts above do not include them.
    pub selftests_left_out: usize,
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
    /// The kfunc (the `Changed::name`, `foo_impl`) became `new_name` (`foo`),
    /// whose trailing arguments the verifier supplies (`flag`:
    /// KF_IMPLICIT_ARGS): new programs call `new_name`, and programs built
    /// against the old name still load, through the `_impl` function the
    /// kernel's BTF keeps with the full prototype (`impl_prototype`, equal to
    /// `old` but for the verifier-supplied arguments). Never breaking.
    ImplicitArgsRename {
        new_name: String,
        /// The old prototype BPF programs called.
        old: String,
        /// The new one.
        new: String,
        impl_prototype: String,
        flag: String,
    },
}

impl Change {
    pub fn breaking(&self) -> bool {
        match self {
            Change::Prototype { breaking, .. }
            | Change::Flags { breaking, .. }
            | Change::ProgramTypes { breaking, .. } => *breaking,
            Change::Sets { .. } | Change::ImplicitArgsRename { .. } => false,
        }
    }
}

fn prototype_change(o: &Kfunc, n: &Kfunc) -> Option<Change> {
    let (os, ns) = (cdecl::bpf_signature(o), cdecl::bpf_signature(n));
    if os == ns {
        return None;
    }
    let (op, np) = (cdecl::bpf_params(o), cdecl::bpf_params(n));
    let (or, nr) = (cdecl::bpf_return_type(o), cdecl::bpf_return_type(n));
    let mut what = Vec::new();
    let mut breaking = false;
    if or != nr {
        what.push(format!("return type {or} → {nr}"));
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
    // old `foo_impl` → new `foo` (removed → added), by the old name
    let renames: BTreeMap<&str, &Kfunc> = n
        .values()
        .filter(|nk| !o.contains_key(nk.name.as_str()))
        .filter_map(|nk| {
            let impl_name = nk.verifier_args.as_ref()?.impl_name.as_str();
            let ok = o.get(impl_name)?;
            (!n.contains_key(impl_name) && is_implicit_args_rename(ok, nk))
                .then_some((impl_name, *nk))
        })
        .collect();
    let renamed_to: BTreeSet<&str> = renames.values().map(|k| k.name.as_str()).collect();
    let added: Vec<String> = n
        .keys()
        .filter(|k| !o.contains_key(*k) && !renamed_to.contains(*k))
        .map(|k| k.to_string())
        .collect();
    let removed: Vec<String> = o
        .keys()
        .filter(|k| !n.contains_key(*k) && !renames.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let changed: Vec<Changed> = o
        .iter()
        .filter_map(|(name, ok)| {
            let changes = match (n.get(name), renames.get(name)) {
                (Some(nk), _) => changes(old, ok, new, nk),
                (None, Some(nk)) => {
                    let mut c = vec![rename_change(ok, nk)?];
                    c.extend(
                        changes(old, ok, new, nk)
                            .into_iter()
                            // the prototype change is the rename's
                            .filter(|c| !matches!(c, Change::Prototype { .. })),
                    );
                    c
                }
                (None, None) => return None,
            };
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
        selftests_left_out: if with_selftests {
            0
        } else {
            (old.kfuncs.iter().chain(&new.kfuncs))
                .filter(|k| k.is_selftest())
                .map(|k| k.name.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        },
    }
}

/// Whether `old` (a kfunc of the old manifest, `foo_impl`) and `new` (one
/// of the new, `foo`, whose arguments the verifier partly supplies, with
/// `impl_name` `foo_impl`) are the implicit-arguments transition: `old`'s
/// prototype is `new`'s full (`_impl`) prototype, which the kernel's BTF
/// keeps, apart from the verifier-supplied arguments' annotation and
/// pointer type. Precisely, with types as BPF programs have them
/// ([`cdecl::bpf_type`]):
///
/// - `new.verifier_args.impl_name` is `old.name`;
/// - the return types are equal, and so are the numbers of parameters;
/// - every parameter the program passes has the same type and name in both;
/// - every verifier-supplied parameter of `new` has, in `old`, the same
///   name once each side's annotation suffix is taken off (`aux__ign` and
///   `aux`), and the same type, or `void *` where `new` has a pointer to a
///   struct (`struct bpf_prog_aux *`): one register, filled by the verifier.
///
/// Whether `foo` was absent before and `foo_impl` is no kfunc after is the
/// caller's to check ([`diff`] does).
pub fn is_implicit_args_rename(old: &Kfunc, new: &Kfunc) -> bool {
    let Some(va) = &new.verifier_args else {
        return false;
    };
    if va.impl_name != old.name
        || cdecl::bpf_return_type(old) != cdecl::bpf_return_type(new)
        || old.params.len() != new.params.len()
    {
        return false;
    }
    old.params
        .iter()
        .zip(&new.params)
        .enumerate()
        .all(|(i, (a, b))| {
            let (at, bt) = (cdecl::bpf_type(&a.ty), cdecl::bpf_type(&b.ty));
            if !va.omitted_params.contains(&i) {
                return at == bt && a.name == b.name;
            }
            let struct_pointer = bt.starts_with("struct ") && bt.ends_with('*');
            base_name(a) == base_name(b) && (at == bt || at == "void *" && struct_pointer)
        })
}

/// A parameter's name without its annotation suffix (`aux__ign` → `aux`).
fn base_name(p: &crate::manifest::Param) -> &str {
    p.annotation
        .as_deref()
        .and_then(|a| p.name.strip_suffix(a))
        .unwrap_or(&p.name)
}

/// The rename of `old` (`foo_impl`) into `new` (`foo`).
fn rename_change(old: &Kfunc, new: &Kfunc) -> Option<Change> {
    let va = new.verifier_args.as_ref()?;
    Some(Change::ImplicitArgsRename {
        new_name: new.name.clone(),
        old: cdecl::bpf_signature(old),
        new: cdecl::bpf_signature(new),
        impl_prototype: cdecl::impl_signature(new)?,
        flag: va.convention.flag().to_string(),
    })
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
    let renamed = d
        .changed
        .iter()
        .filter(|c| {
            c.changes
                .iter()
                .any(|ch| matches!(ch, Change::ImplicitArgsRename { .. }))
        })
        .count();
    let mut out = format!(
        "kfuncs {} → {}: {} added, {} removed, {} changed ({} breaking)",
        v(&d.old_version),
        v(&d.new_version),
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.breaking
    );
    if renamed > 0 {
        let _ = write!(
            out,
            "; {renamed} of the changed renamed compatibly, the old name still loading through `_impl`"
        );
    }
    if d.selftests_left_out > 0 {
        let _ = write!(
            out,
            "; {} of the selftests' kfuncs not counted (--with-selftests)",
            d.selftests_left_out
        );
    }
    out.push('\n');
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
        let to = c.changes.iter().find_map(|ch| match ch {
            Change::ImplicitArgsRename { new_name, .. } => Some(format!(" → {new_name}")),
            _ => None,
        });
        let _ = writeln!(out, "  ~ {}{}{mark}", c.name, to.unwrap_or_default());
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
                Change::ImplicitArgsRename {
                    new_name,
                    old,
                    new,
                    flag,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "      renamed compatibly → {new_name} ({flag}): new programs call {new_name}; \
                         the old name still loads through `_impl` ({}, kept in the kernel's BTF with the full prototype)\n        - {old}\n        + {new}",
                        c.name
                    );
                }
            }
        }
    }
    out
}
