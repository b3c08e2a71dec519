//! Who may call a kfunc: its sets' registrations, expanded through the
//! kernel's kfunc hooks, narrowed by the sets' filters. The one definition
//! docs, the ebpf-docs YAML, the header, diff, avail and lint-docs use.
//!
//! The kernel's rule (`btf_kfunc_id_set_contains()`, kernel/bpf/btf.c): a
//! program may call a kfunc when the kfunc is in a set registered on the
//! common hook, or on its program type's hook, and every filter registered
//! on that hook lets the call through. Filters check their own set first
//! (`btf_id_set8_contains(&own_set, kfunc_id)`), so a filter concerns the
//! kfuncs of its own set: here, the filters of the registrations of the
//! sets listing the kfunc.

use crate::{Kfunc, KfuncSet, Manifest, Registration, Restriction, FMODRET, PROG_TYPE_UNSPEC};
use std::collections::{BTreeMap, BTreeSet};

/// The hook name [`Manifest::callable_from`] uses for the common hook.
const COMMON_HOOK: &str = "BTF_KFUNC_HOOK_COMMON";

/// The program types a kfunc (or a set's kfuncs) may be called from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallableFrom {
    /// Registered for BPF_PROG_TYPE_UNSPEC: the common hook, every program
    /// type.
    pub common: bool,
    /// The types the other registrations name, each with the types sharing
    /// its hook, less those a filter refuses.
    pub named: BTreeSet<String>,
    /// `named`, and for the common hook every type of the tree's
    /// `enum bpf_prog_type` (the hook table's types when that is unknown,
    /// BPF_PROG_TYPE_UNSPEC itself when both are), less those a filter
    /// refuses.
    pub every: BTreeSet<String>,
    /// Types of `every` callable only as a filter allows: by attach type,
    /// or a condition kfunc-scan does not evaluate, or a filter it could
    /// not read. Types absent here are callable without condition.
    pub gated: BTreeMap<String, Vec<Gate>>,
}

/// A filter a program type's calls must pass.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gate {
    /// The filter function.
    pub filter: String,
    /// What it lets through.
    pub restriction: Restriction,
}

impl CallableFrom {
    /// `named`, with the common hook written BPF_PROG_TYPE_UNSPEC, as
    /// ebpf-docs writes "every program type".
    pub fn with_unspec(&self) -> BTreeSet<String> {
        let mut out = self.named.clone();
        if self.common {
            out.insert(PROG_TYPE_UNSPEC.to_string());
        }
        out
    }

    /// The attach types every caller is limited to, when each gated type
    /// is gated only by attach types and all by the same ones, and no type
    /// is callable without a gate (ebpf-docs' `attach_type` of a set).
    pub fn attach_types(&self) -> Option<BTreeSet<String>> {
        if self.every.is_empty() || self.gated.len() != self.every.len() {
            return None;
        }
        let mut common: Option<BTreeSet<String>> = None;
        for gates in self.gated.values() {
            let mut here: Option<BTreeSet<String>> = None;
            for g in gates {
                let r = &g.restriction;
                if r.unread.is_some() || !r.requires.is_empty() {
                    return None;
                }
                let a: BTreeSet<String> = r.attach_types.clone()?.into_iter().collect();
                here = Some(match here {
                    Some(h) => h.intersection(&a).cloned().collect(),
                    None => a,
                });
            }
            if common.as_ref().is_some_and(|c| Some(c) != here.as_ref()) {
                return None;
            }
            common = here;
        }
        common
    }

    /// The distinct gates, for pages listing the conditions once.
    pub fn gates(&self) -> BTreeSet<&Gate> {
        self.gated.values().flatten().collect()
    }
}

/// What one filter says of one program type.
enum Verdict {
    Refuses,
    Passes,
    Gates,
}

fn verdict(r: &Restriction, prog_type: &str) -> Verdict {
    if r.unread.is_some() {
        return Verdict::Gates;
    }
    if r.prog_types
        .as_ref()
        .is_some_and(|t| !t.iter().any(|t| t == prog_type))
    {
        return Verdict::Refuses;
    }
    if r.attach_types.is_some() || !r.requires.is_empty() {
        Verdict::Gates
    } else {
        Verdict::Passes
    }
}

/// A hook's registrations of the sets in question: whether there is one,
/// and the filters they bring.
#[derive(Default)]
struct HookPath {
    gates: Vec<Gate>,
}

impl HookPath {
    /// `None`: refused; `Some(gates)`: callable when the gates pass (none:
    /// unconditionally).
    fn admits(&self, prog_type: &str) -> Option<Vec<Gate>> {
        let mut gating = Vec::new();
        for g in &self.gates {
            match verdict(&g.restriction, prog_type) {
                Verdict::Refuses => return None,
                Verdict::Passes => {}
                Verdict::Gates => gating.push(g.clone()),
            }
        }
        Some(gating)
    }
}

impl Manifest {
    /// The kfunc hook a registration's program type calls through; a type
    /// the hook table does not know is a hook of its own.
    fn hook_of<'a>(&'a self, prog_type: &'a str) -> &'a str {
        if prog_type == PROG_TYPE_UNSPEC {
            return COMMON_HOOK;
        }
        self.kfunc_hooks
            .get(prog_type)
            .map_or(prog_type, String::as_str)
    }

    /// The program types sharing a hook (the type itself when the hook
    /// table does not know it).
    fn types_of_hook(&self, hook: &str, prog_type: &str) -> Vec<String> {
        let shared: Vec<String> = self
            .kfunc_hooks
            .iter()
            .filter(|(t, h)| *h == hook && *t != PROG_TYPE_UNSPEC)
            .map(|(t, _)| t.clone())
            .collect();
        if shared.is_empty() {
            vec![prog_type.to_string()]
        } else {
            shared
        }
    }

    /// Every program type the common hook serves.
    fn every_prog_type(&self) -> Vec<String> {
        if !self.prog_type_enum.is_empty() {
            return self.prog_type_enum.clone();
        }
        let known: Vec<String> = self
            .kfunc_hooks
            .keys()
            .filter(|t| *t != PROG_TYPE_UNSPEC)
            .cloned()
            .collect();
        if known.is_empty() {
            vec![PROG_TYPE_UNSPEC.to_string()]
        } else {
            known
        }
    }

    /// Where `registrations` make a kfunc callable from. Each program type
    /// is expanded through the tree's kfunc hooks (BPF_PROG_TYPE_TRACING
    /// also brings LSM); BPF_PROG_TYPE_UNSPEC is the common hook, every
    /// program type; fmod_ret registrations are not calls; each hook's
    /// filters narrow what it serves.
    pub fn callable_from<'a>(
        &self,
        registrations: impl IntoIterator<Item = &'a Registration>,
    ) -> CallableFrom {
        let mut hooks: BTreeMap<&str, (HookPath, BTreeSet<String>)> = BTreeMap::new();
        for r in registrations {
            if r.prog_type == FMODRET {
                continue;
            }
            let hook = self.hook_of(&r.prog_type);
            let (path, types) = hooks.entry(hook).or_default();
            if hook == COMMON_HOOK {
                types.extend(self.every_prog_type());
            } else {
                types.extend(self.types_of_hook(hook, &r.prog_type));
            }
            if let Some(filter) = &r.filter {
                let restriction = r.restriction.clone().unwrap_or_else(|| {
                    Restriction::unread(None, None, "the manifest does not say what it allows")
                });
                path.gates.push(Gate {
                    filter: filter.clone(),
                    restriction,
                });
            }
        }
        let mut c = CallableFrom {
            common: hooks.contains_key(COMMON_HOOK),
            ..CallableFrom::default()
        };
        let candidates: BTreeSet<&String> = hooks.values().flat_map(|(_, t)| t).collect();
        for t in candidates {
            let through_common = hooks.get(COMMON_HOOK).and_then(|(p, _)| p.admits(t));
            let own_hook = self.hook_of(t);
            let through_own = hooks
                .get(own_hook)
                .filter(|(_, types)| own_hook != COMMON_HOOK && types.contains(t))
                .and_then(|(p, _)| p.admits(t));
            if through_own.is_some() {
                c.named.insert(t.clone());
            }
            // the kernel tries the common hook first, then the type's own
            let gates = match (through_common, through_own) {
                (None, None) => continue,
                (Some(g), None) | (None, Some(g)) => g,
                (Some(a), Some(b)) if a.is_empty() || b.is_empty() => Vec::new(),
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    a
                }
            };
            c.every.insert(t.clone());
            if !gates.is_empty() {
                c.gated.insert(t.clone(), gates);
            }
        }
        c
    }

    /// The registrations of the kfunc sets listing `k`.
    fn registrations_of<'a>(&'a self, k: &'a Kfunc) -> impl Iterator<Item = &'a Registration> {
        self.sets
            .iter()
            .filter(|s| k.sets.contains(&s.name))
            .flat_map(|s| s.registrations.iter())
    }

    /// [`Manifest::callable_from`] for the registrations of `k`'s sets.
    pub fn kfunc_callable_from(&self, k: &Kfunc) -> CallableFrom {
        self.callable_from(self.registrations_of(k))
    }

    /// [`Manifest::callable_from`] for the registrations of `set`.
    pub fn set_callable_from(&self, set: &KfuncSet) -> CallableFrom {
        self.callable_from(&set.registrations)
    }

    /// Every program type that may call `k`, sorted: [`CallableFrom::every`].
    pub fn effective_prog_types(&self, k: &Kfunc) -> Vec<String> {
        self.kfunc_callable_from(k).every.into_iter().collect()
    }

    /// The program types a program may have, as a user names one: every
    /// member of the tree's `enum bpf_prog_type` but UNSPEC (which no
    /// program is; sets registered for it are the common hook's, callable
    /// from every type), or the hook table's types when the manifest does
    /// not list the enum. Types without a hook of their own are here too:
    /// they call the common hook's kfuncs.
    pub fn program_types(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .every_prog_type()
            .into_iter()
            .filter(|t| t != PROG_TYPE_UNSPEC)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a program of `prog_type` may call `k`: the kfunc is in a set
    /// of the common hook or of the type's own hook, and no filter of that
    /// hook refuses the type ([`Manifest::callable_from`]). The one answer
    /// avail, `header --btf --prog-type` and the docs' program-type pages
    /// give.
    pub fn may_call(&self, prog_type: &str, k: &Kfunc) -> bool {
        self.kfunc_callable_from(k).every.contains(prog_type)
    }

    /// The kfuncs a program of `prog_type` may call
    /// ([`Manifest::may_call`]), among those a kfunc set lists, in the
    /// manifest's order.
    pub fn kfuncs_callable_by(&self, prog_type: &str) -> Vec<&Kfunc> {
        self.callable_kfuncs()
            .into_iter()
            .filter(|k| self.may_call(prog_type, k))
            .collect()
    }
}

impl Restriction {
    /// What the filter allows, in words: "allows only program type
    /// `BPF_PROG_TYPE_LSM`", "allows only attach type `BPF_TRACE_ITER`",
    /// "could not be read (why)".
    pub fn describe(&self) -> String {
        if let Some(why) = &self.unread {
            return format!("could not be read: {why}");
        }
        let list = |what: &str, v: &[String]| {
            let names: Vec<String> = v.iter().map(|t| format!("`{t}`")).collect();
            let plural = if v.len() == 1 { "" } else { "s" };
            format!("{what}{plural} {}", names.join(", "))
        };
        let mut parts = Vec::new();
        match &self.prog_types {
            Some(t) if t.is_empty() => return "refuses every call".into(),
            Some(t) => parts.push(list("program type", t)),
            None => {}
        }
        match &self.attach_types {
            Some(t) if t.is_empty() => return "refuses every call".into(),
            Some(t) => parts.push(list("attach type", t)),
            None => {}
        }
        let mut out = if parts.is_empty() {
            "allows every program".to_string()
        } else {
            format!("allows only {}", parts.join(" with "))
        };
        if !self.requires.is_empty() {
            let req: Vec<String> = self.requires.iter().map(|r| format!("`{r}`")).collect();
            out.push_str(&format!(", when {}", req.join(" and ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn allows(prog_types: Option<Vec<String>>, attach_types: Option<Vec<String>>) -> Restriction {
        Restriction {
            file: Some("f.c".into()),
            line: Some(3),
            unread: None,
            prog_types,
            attach_types,
            requires: Vec::new(),
        }
    }

    fn reg(prog_type: &str, filter: Option<(&str, Restriction)>) -> Registration {
        Registration {
            prog_type: prog_type.into(),
            id_set: "s_set".into(),
            filter: filter.as_ref().map(|(f, _)| f.to_string()),
            file: "a.c".into(),
            line: 9,
            condition: None,
            restriction: filter.map(|(_, r)| r),
        }
    }

    /// TRACING and LSM share a hook; XDP has its own; UNSPEC is common.
    fn manifest() -> Manifest {
        let mut m = Manifest::default();
        for (t, h) in [
            ("BPF_PROG_TYPE_TRACING", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_LSM", "BTF_KFUNC_HOOK_TRACING"),
            ("BPF_PROG_TYPE_XDP", "BTF_KFUNC_HOOK_XDP"),
            (PROG_TYPE_UNSPEC, COMMON_HOOK),
        ] {
            m.kfunc_hooks.insert(t.into(), h.into());
        }
        m
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn attach_types_only_when_every_caller_is_limited_to_them() {
        let m = manifest();
        let iter = ("f", allows(None, names(&["BPF_TRACE_ITER"])));
        let c = m.callable_from(&[reg("BPF_PROG_TYPE_TRACING", Some(iter.clone()))]);
        assert_eq!(c.attach_types(), Some(set(&["BPF_TRACE_ITER"])));
        // one gate for both types
        assert_eq!(c.gates().len(), 1);
        assert_eq!(
            c.gates().into_iter().next().map(|g| g.filter.as_str()),
            Some("f")
        );
        // XDP callable without a gate: no attach types for the set
        let c = m.callable_from(&[
            reg("BPF_PROG_TYPE_TRACING", Some(iter.clone())),
            reg("BPF_PROG_TYPE_XDP", None),
        ]);
        assert_eq!(c.every.len(), 3);
        assert_eq!(c.attach_types(), None);
        // a condition besides the attach type: not expressible as attach types
        let mut both = allows(None, names(&["BPF_TRACE_ITER"]));
        both.requires = vec!["capable(CAP_BPF)".into()];
        let c = m.callable_from(&[reg("BPF_PROG_TYPE_TRACING", Some(("f", both)))]);
        assert_eq!(c.attach_types(), None);
        assert_eq!(Manifest::default().callable_from(&[]).attach_types(), None);
    }

    #[test]
    fn the_common_hook_and_the_own_hook_are_two_ways_in() {
        let m = manifest();
        let iter = ("iter", allows(None, names(&["BPF_TRACE_ITER"])));
        // the common way is open: TRACING needs no gate
        let c = m.callable_from(&[
            reg("BPF_PROG_TYPE_TRACING", Some(iter.clone())),
            reg(PROG_TYPE_UNSPEC, None),
        ]);
        assert!(c.every.contains("BPF_PROG_TYPE_TRACING"));
        assert!(c.gated.is_empty(), "{:?}", c.gated);
        // both ways gated: either gate will do, both are listed
        let unread = ("odd", Restriction::unread(None, None, "a local"));
        let c = m.callable_from(&[
            reg("BPF_PROG_TYPE_TRACING", Some(iter)),
            reg(PROG_TYPE_UNSPEC, Some(unread)),
        ]);
        let gates: Vec<&str> = c.gated["BPF_PROG_TYPE_TRACING"]
            .iter()
            .map(|g| g.filter.as_str())
            .collect();
        assert_eq!(gates, ["odd", "iter"]);
        // XDP: only the common way, gated by its filter
        let xdp: Vec<&str> = c.gated["BPF_PROG_TYPE_XDP"]
            .iter()
            .map(|g| g.filter.as_str())
            .collect();
        assert_eq!(xdp, ["odd"]);
    }

    /// A kfunc `name` in a set registered for `prog_type`.
    fn registered(m: &mut Manifest, name: &str, prog_type: &str) {
        let mut k = crate::tests::kfunc(name, "a.c", &[prog_type]);
        k.sets = vec![format!("{name}_set")];
        m.kfuncs.push(k);
        let s = KfuncSet {
            name: format!("{name}_set"),
            kind: crate::SetKind::Kfuncs,
            file: "a.c".into(),
            line: 1,
            end_line: Some(5),
            entries: vec![crate::SetEntry {
                name: name.into(),
                flags: vec![],
                flags_value: Some(0),
                condition: None,
                line: 2,
                built: None,
            }],
            registrations: vec![reg(prog_type, None)],
            object: crate::BuiltInto::Unknown,
        };
        m.sets.push(s);
    }

    #[test]
    fn every_member_of_the_enum_is_a_program_type_and_calls_the_common_set() {
        let mut m = manifest();
        // SOCK_OPS has no hook of its own; UNSPEC is no program's type
        m.prog_type_enum = [
            "BPF_PROG_TYPE_SOCK_OPS",
            "BPF_PROG_TYPE_TRACING",
            "BPF_PROG_TYPE_LSM",
            "BPF_PROG_TYPE_XDP",
        ]
        .map(String::from)
        .to_vec();
        registered(&mut m, "common", PROG_TYPE_UNSPEC);
        registered(&mut m, "tracing", "BPF_PROG_TYPE_TRACING");
        assert_eq!(
            m.program_types(),
            [
                "BPF_PROG_TYPE_LSM",
                "BPF_PROG_TYPE_SOCK_OPS",
                "BPF_PROG_TYPE_TRACING",
                "BPF_PROG_TYPE_XDP"
            ]
        );
        let names = |t: &str| -> Vec<String> {
            m.kfuncs_callable_by(t)
                .iter()
                .map(|k| k.name.clone())
                .collect()
        };
        assert_eq!(names("BPF_PROG_TYPE_SOCK_OPS"), ["common"]);
        // LSM shares TRACING's hook
        assert_eq!(names("BPF_PROG_TYPE_LSM"), ["common", "tracing"]);
        assert_eq!(names("BPF_PROG_TYPE_XDP"), ["common"]);
        // without the enum: the hook table's types, never UNSPEC
        m.prog_type_enum.clear();
        assert_eq!(
            m.program_types(),
            [
                "BPF_PROG_TYPE_LSM",
                "BPF_PROG_TYPE_TRACING",
                "BPF_PROG_TYPE_XDP"
            ]
        );
        assert!(Manifest::default().program_types().is_empty());
    }

    #[test]
    fn restrictions_in_words() {
        assert_eq!(
            Restriction::unread(None, None, "a local").describe(),
            "could not be read: a local"
        );
        assert_eq!(allows(None, None).describe(), "allows every program");
        assert_eq!(
            allows(names(&["BPF_PROG_TYPE_LSM"]), None).describe(),
            "allows only program type `BPF_PROG_TYPE_LSM`"
        );
        assert_eq!(
            allows(names(&["BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_XDP"]), names(&["BPF_TRACE_ITER"]))
                .describe(),
            "allows only program types `BPF_PROG_TYPE_LSM`, `BPF_PROG_TYPE_XDP` with attach type `BPF_TRACE_ITER`"
        );
        assert_eq!(allows(names(&[]), None).describe(), "refuses every call");
        assert_eq!(allows(None, names(&[])).describe(), "refuses every call");
        let mut r = allows(None, names(&["A", "B"]));
        r.requires = vec!["x(prog)".into(), "!(y)".into()];
        assert_eq!(
            r.describe(),
            "allows only attach types `A`, `B`, when `x(prog)` and `!(y)`"
        );
    }
}
