//! The plan: pure, on `&Btf`, every edit with the ID it will get, or every
//! refusal. This file holds the planner and what every kfunc goes through
//! (its FUNC, its prototype); the edits themselves are in `decl_tags`,
//! `pair` and `arena`.

use super::index::{Index, Str, Tag};
use super::scope::{considered, is_object, Considered};
use super::{PatchError, PatchOptions, Report};
use crate::btf::{Btf, Kind, Linkage, NewType, TypeRef, MAX_TYPE_ID};
use crate::conventions::{self, ArenaPlaces};
use crate::manifest::{BuiltInto, Kfunc, Manifest};
use rustc_hash::FxHashMap as HashMap;

fn param_names(btf: &Btf, proto: &TypeRef) -> Vec<String> {
    proto
        .params()
        .map(|(n, _)| String::from_utf8_lossy(btf.str_at(n).unwrap_or(b"")).into_owned())
        .collect()
}

fn manifest_names(k: &Kfunc) -> Vec<String> {
    // BTF writes a variadic `...` as a last parameter with no name and type 0
    k.params
        .iter()
        .map(|p| {
            if p.name == "..." {
                String::new()
            } else {
                p.name.clone()
            }
        })
        .collect()
}

/// Where `k`'s arena pointers are, by those of its flags the tree defines.
fn arena_places(m: &Manifest, k: &Kfunc) -> ArenaPlaces {
    let defined: Vec<&String> = k
        .flags
        .iter()
        .filter(|f| m.flag_values.contains_key(f.as_str()))
        .collect();
    conventions::arena_places(&defined)
}

/// A type to append, its name still a `Str`.
#[derive(Debug)]
pub(super) enum Append {
    Tag {
        name: Str,
        target: u32,
        component_idx: i32,
        kflag: bool,
    },
    Func {
        name: Str,
        linkage: Linkage,
        proto: u32,
    },
    /// A type attribute (a TYPE_TAG with its kind flag) on `target`.
    Attr { name: Str, target: u32 },
    /// A type without a name: a prototype, a pointer.
    Type(NewType),
}

/// An accepted plan: what `apply` does, and the report it gives.
#[derive(Debug)]
pub(super) struct Plan {
    /// In ID order, the first getting the BTF's `end_id()`.
    pub(super) appends: Vec<Append>,
    /// (FUNC, its new prototype).
    pub(super) repoints: Vec<(u32, u32)>,
    pub(super) report: Report,
}

/// A kfunc's FUNC and its prototype, as the BTF has them.
#[derive(Clone)]
pub(super) struct Checked {
    pub(super) linkage: Linkage,
    pub(super) proto_id: u32,
    pub(super) ret: u32,
    /// As (name_off, type).
    pub(super) params: Vec<(u32, u32)>,
    pub(super) names: Vec<String>,
}

/// What the BTF's prototype of a kfunc is, when it is not refused.
enum Prototype {
    /// The source's.
    Agrees(Checked),
    /// The reduced prototype of a pair made before.
    AlreadyPatched(Checked),
}

pub(super) struct Planner<'a> {
    pub(super) btf: &'a Btf,
    pub(super) funcs: HashMap<&'a str, Vec<u32>>,
    strings: HashMap<&'a str, u32>,
    /// The BTF's decl tags by target, and those planned.
    pub(super) tags: HashMap<u32, Vec<Tag>>,
    opts: &'a PatchOptions,
    next_id: u32,
    appends: Vec<Append>,
    pub(super) repoints: Vec<(u32, u32)>,
    /// New prototypes, shared where identical.
    protos: HashMap<NewType, u32>,
    /// New arena pointers by pointee, shared.
    pub(super) arena_ptrs: HashMap<u32, u32>,
    pub(super) refused: Vec<String>,
    pub(super) report: Report,
}

impl<'a> Planner<'a> {
    pub(super) fn new(btf: &'a Btf, index: Index<'a>, opts: &'a PatchOptions) -> Planner<'a> {
        Planner {
            btf,
            funcs: index.funcs,
            strings: index.strings,
            tags: index.tags,
            opts,
            next_id: btf.end_id(),
            appends: Vec::new(),
            repoints: Vec::new(),
            protos: HashMap::default(),
            arena_ptrs: HashMap::default(),
            refused: Vec::new(),
            report: Report {
                types_before: btf.end_id() - 1,
                ..Default::default()
            },
        }
    }

    /// Every edit the manifest asks of this BTF, or every refusal.
    pub(super) fn plan(mut self, m: &Manifest) -> Result<Plan, PatchError> {
        if m.build.is_some() {
            let object = self.opts.object();
            let here = |o: &BuiltInto| o.object().is_some_and(|o| is_object(o, object));
            self.report.object_without_sets = !m.sets.iter().any(|s| here(&s.object));
            self.report.object = Some(object.to_string());
        }
        for c in considered(m, self.opts) {
            self.report.considered += 1;
            self.plan_kfunc(m, &c);
        }
        let report = &self.report;
        if self.opts.strict && !report.missing.is_empty() {
            self.refused.push(format!(
                "--strict: {} kfunc(s) of the manifest are not in this BTF: {}",
                report.missing.len(),
                report.missing.join(", ")
            ));
        }
        if self.next_id - 1 > MAX_TYPE_ID {
            self.refused.push(format!(
                "{} new types would take type IDs past {MAX_TYPE_ID:#x}, the last BTF can number",
                self.appends.len()
            ));
        }
        if !self.refused.is_empty() {
            return Err(PatchError::Refused(self.refused));
        }
        self.report.types_after = self.next_id - 1;
        Ok(Plan {
            appends: self.appends,
            repoints: self.repoints,
            report: self.report,
        })
    }

    /// The edits one kfunc needs: tags, a pair, arena pointers.
    fn plan_kfunc(&mut self, m: &Manifest, c: &Considered) {
        let k = c.kfunc;
        let Some(func_id) = self.func_of(k, c.required) else {
            return;
        };
        // a kfunc the BTF disagrees with is neither tagged nor paired
        let proto = match self.check_prototype(k, func_id, c.pair) {
            Ok(p) => p,
            Err(why) => {
                self.refused.push(why);
                return;
            }
        };
        let arena = if c.tag {
            self.plan_tags(k, func_id);
            arena_places(m, k)
        } else {
            ArenaPlaces::default()
        };
        match (k.verifier_args.as_ref().filter(|_| c.pair), proto) {
            (Some(va), Prototype::Agrees(checked)) => {
                self.plan_pair(k, va, func_id, checked, &arena)
            }
            (Some(_), Prototype::AlreadyPatched(current)) => {
                self.report.already_patched.push(k.name.clone());
                // the reduced prototype: an omitted parameter is not there
                self.plan_arena(k, func_id, current, &arena, true);
            }
            (None, Prototype::Agrees(checked) | Prototype::AlreadyPatched(checked)) => {
                self.plan_arena(k, func_id, checked, &arena, false)
            }
        }
    }

    /// Kfunc `k`'s FUNC: none (reported missing, or refused when the build
    /// puts it in this object), or refused when the BTF has several of that
    /// name.
    fn func_of(&mut self, k: &Kfunc, required: bool) -> Option<u32> {
        match self.funcs.get(k.name.as_str()).map(Vec::as_slice) {
            None | Some([]) if required => {
                self.refused.push(format!(
                    "{}: the manifest's build view puts it in {}, but this BTF has no FUNC of that name; is the BTF from this build?",
                    k.name,
                    self.opts.object()
                ));
                None
            }
            None | Some([]) => {
                self.report.missing.push(k.name.clone());
                None
            }
            Some([one]) => Some(*one),
            Some(many) => {
                self.refused.push(format!(
                    "{}: {} FUNCs of that name in the BTF ({many:?})",
                    k.name,
                    many.len()
                ));
                None
            }
        }
    }

    /// The string `s`: where the BTF has it, else appended. A string with a
    /// NUL inside (a manifest can hold one) is refused here, not by the
    /// writer half-way through.
    pub(super) fn string(&mut self, s: &str) -> Str {
        if let Some(&off) = self.strings.get(s) {
            return Str::At(off);
        }
        if s.contains('\0') {
            self.refused
                .push(format!("{s:?}: a BTF name cannot contain a NUL byte"));
        }
        Str::New(s.to_string())
    }

    /// Plans appending `a`; its ID.
    pub(super) fn append(&mut self, a: Append) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.appends.push(a);
        id
    }

    /// Whether the BTF's prototype of `k` has the source's parameter names
    /// and count (a stale manifest is refused, naming both sides), or is
    /// already the reduced one of a pair made before (when `k` is to be
    /// `pair`ed: unpaired, a kfunc is a set member like any other).
    fn check_prototype(&self, k: &Kfunc, func_id: u32, pair: bool) -> Result<Prototype, String> {
        let btf = self.btf;
        let func = btf.get(func_id);
        let linkage = func.as_ref().and_then(TypeRef::linkage);
        let proto = func
            .and_then(|f| f.target())
            .and_then(|p| btf.get(p))
            .filter(|p| p.kind() == Kind::FuncProto);
        let (Some(linkage), Some(proto)) = (linkage, proto) else {
            return Err(format!("{}: FUNC [{func_id}] has no FUNC_PROTO", k.name));
        };
        let have = param_names(btf, &proto);
        let want = manifest_names(k);
        let current = |names| Checked {
            linkage,
            proto_id: proto.id(),
            ret: proto.return_type().unwrap_or(0),
            params: proto.params().collect(),
            names,
        };
        if have == want {
            return Ok(Prototype::Agrees(current(want)));
        }
        if let Some(va) = k.verifier_args.as_ref().filter(|_| pair) {
            let reduced: Vec<&String> = want
                .iter()
                .enumerate()
                .filter(|(i, _)| !va.omitted_params.contains(i))
                .map(|(_, n)| n)
                .collect();
            let has_impl = self
                .funcs
                .get(va.impl_name.as_str())
                .is_some_and(|ids| !ids.is_empty());
            if has_impl && have.iter().eq(reduced) {
                return Ok(Prototype::AlreadyPatched(current(have)));
            }
        }
        Err(format!(
            "{}: the BTF's prototype ({}) disagrees with the source's ({}) at {}:{}; is the manifest from this kernel?",
            k.name,
            have.join(", "),
            want.join(", "),
            k.file,
            k.line
        ))
    }

    /// The ID of prototype `proto`: a new one, shared where identical.
    pub(super) fn proto(&mut self, proto: NewType) -> u32 {
        match self.protos.get(&proto) {
            Some(&id) => id,
            None => {
                let id = self.append(Append::Type(proto.clone()));
                self.protos.insert(proto, id);
                id
            }
        }
    }
}
