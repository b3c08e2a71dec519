#![allow(dead_code)]
//! Manifests built in code, for the consumers' tests: sets with their
//! registrations and entries, kfunc definitions, and the derived fields
//! (`Kfunc::sets`, `prog_types`, `flags`) filled in as the scanner's
//! resolver fills them.

use kfunc_scan::manifest::fixture;
use kfunc_scan::manifest::{
    Kfunc, KfuncSet, Manifest, Param, Restriction, SetEntry, SetKind, SCHEMA_VERSION,
};
use std::collections::BTreeMap;

/// A kfunc `int name(void)` defined in kernel/bpf/helpers.c.
pub fn kfunc(name: &str) -> Kfunc {
    fixture::kfunc(name, "kernel/bpf/helpers.c")
}

pub fn param(ty: &str, name: &str) -> Param {
    fixture::param(ty, name)
}

/// A kfunc `RET name(PARAMS)` (`params`: type, name) defined in
/// kernel/bpf/helpers.c.
pub fn kfunc_with(name: &str, ret: &str, params: &[(&str, &str)]) -> Kfunc {
    let mut k = kfunc(name);
    k.return_type = ret.into();
    k.params = params.iter().map(|(t, n)| param(t, n)).collect();
    k
}

/// `k` with the verifier supplying its last parameter (KF_IMPLICIT_ARGS).
pub fn with_implicit_last(mut k: Kfunc, legacy_impl: bool) -> Kfunc {
    k.verifier_args = Some(fixture::implicit_args(
        &k,
        &[k.params.len() - 1],
        legacy_impl,
    ));
    k
}

pub struct Fx {
    pub m: Manifest,
}

impl Fx {
    /// An empty manifest of Linux 7.0 with a hook table: TRACING and LSM
    /// share a hook, XDP and SCHED_CLS have one each.
    pub fn new() -> Fx {
        let hooks: BTreeMap<String, String> = [
            ("BPF_PROG_TYPE_TRACING", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_LSM", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_XDP", "BTF_KFUNC_HOOK_XDP"),
            ("BPF_PROG_TYPE_SCHED_CLS", "BTF_KFUNC_HOOK_TC"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        Fx {
            m: Manifest {
                schema_version: SCHEMA_VERSION,
                generator: "fixture".into(),
                kernel_version: Some("7.0".into()),
                kfunc_hooks: hooks,
                ..Default::default()
            },
        }
    }

    /// Without the hook table (a tree whose btf.c was not understood).
    pub fn without_hooks(mut self) -> Fx {
        self.m.kfunc_hooks.clear();
        self
    }

    /// A BTF_KFUNCS set in kernel/bpf/helpers.c registered for `progs`
    /// (`fmodret` for an fmod_ret registration), listing `entries` (name, flags).
    pub fn set(mut self, name: &str, progs: &[&str], entries: &[(&str, &[&str])]) -> Fx {
        let line = 100 * (self.m.sets.len() as u32 + 1);
        let file = "kernel/bpf/helpers.c";
        self.m.sets.push(KfuncSet {
            end_line: Some(line + 50),
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, (n, f))| SetEntry {
                    line: line + 1 + i as u32,
                    ..fixture::entry(n, f)
                })
                .collect(),
            registrations: progs
                .iter()
                .map(|p| fixture::registration(p, &format!("{name}_set"), file, line + 60))
                .collect(),
            ..fixture::set(name, SetKind::Kfuncs, file, line)
        });
        self
    }

    /// Gives `set`'s registrations the filter `name`, read as `restriction`
    /// (None: as a manifest that does not say what it allows).
    pub fn filter(mut self, set: &str, name: &str, restriction: Option<Restriction>) -> Fx {
        for s in self.m.sets.iter_mut().filter(|s| s.name == set) {
            for r in &mut s.registrations {
                r.filter = Some(name.into());
                r.restriction = restriction.clone();
            }
        }
        self
    }

    pub fn def(mut self, k: Kfunc) -> Fx {
        self.m.kfuncs.push(k);
        self
    }

    /// The manifest, with each kfunc's sets, program types and flags
    /// derived from the sets, and kfuncs sorted by name.
    pub fn build(mut self) -> Manifest {
        for k in &mut self.m.kfuncs {
            let (mut sets, mut progs, mut flags) = (vec![], vec![], vec![]);
            for s in &self.m.sets {
                for e in s.entries.iter().filter(|e| e.name == k.name) {
                    sets.push(s.name.clone());
                    flags.extend(e.flags.iter().cloned());
                    progs.extend(s.registrations.iter().map(|r| r.prog_type.clone()));
                }
            }
            for v in [&mut sets, &mut progs, &mut flags] {
                v.sort();
                v.dedup();
            }
            (k.sets, k.prog_types, k.flags) = (sets, progs, flags);
        }
        self.m.kfuncs.sort_by(|a, b| a.name.cmp(&b.name));
        self.m
    }
}

/// A filter's reading: the program and attach types it allows (None: it
/// does not look).
pub fn allows(prog_types: Option<&[&str]>, attach_types: Option<&[&str]>) -> Restriction {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Restriction {
        file: Some("kernel/bpf/filter.c".into()),
        line: Some(10),
        unread: None,
        prog_types: prog_types.map(names),
        attach_types: attach_types.map(names),
        requires: Vec::new(),
    }
}
