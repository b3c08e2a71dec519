//! `patch-btf`: applies a manifest to a BTF produced from the same kernel.
//!
//! For each kfunc with verifier-supplied arguments, `foo` keeps its name and
//! is repointed to a new prototype without those arguments (what BPF
//! programs call), and `foo_impl` is added with foo's linkage and the full
//! prototype (unless the BTF already has one: the legacy case). With
//! `add_decl_tags`, what pahole 1.26+ emits and the BTF lacks: a `bpf_kfunc`
//! decl tag on every member of a kfuncs set (`BTF_KFUNCS_START`, however it
//! is registered, fmod_ret sets included), a `bpf_fastcall` tag on
//! KF_FASTCALL ones, and (pahole 1.30+) the `address_space(1)` type
//! attribute on the pointee of a KF_ARENA_RET return value and of a
//! KF_ARENA_ARG1/ARG2 parameter, when the tree defines those flags.
//!
//! With a manifest that has a build view, only kfuncs the build puts in the
//! object this BTF is (vmlinux, or a module) are looked at, and one of them
//! the BTF lacks is refused: the BTF is not of this build.
//!
//! Append-only: no type ID moves, no record changes but the `type` field of
//! a repointed FUNC. Before any edit the BTF must agree with the source;
//! every disagreement is collected and the whole edit refused. A BTF whose
//! named types are sorted by name (Linux 7.0+'s vmlinux after
//! resolve_btfids) is not appended to: the kernel binary-searches it, and
//! IDs cannot move (resolve_btfids has written them into the image), so
//! the new types could only break the order.
//!
//! Three steps: **index** the BTF (the FUNCs of interest by name, decl tags
//! by target, where the needed strings are), **plan** (pure, on `&Btf`:
//! every edit with the ID it will get, or every refusal), **apply** (the
//! appends and repoints of an accepted plan). A refused plan leaves the BTF
//! untouched; the plan also rules out every failure the edits could have,
//! so applying one does not stop half-way.

use crate::btf::{Btf, EditError, Kind, Linkage, NewType, StringOffsets, TypeRef, MAX_TYPE_ID};
use crate::conventions::{
    self, ArenaPlaces, FLAG_ARENA_ARG1, FLAG_ARENA_ARG2, FLAG_ARENA_RET, FLAG_FASTCALL,
    TAG_FASTCALL, TAG_KFUNC, TYPE_ATTR_ARENA,
};
use crate::limits::{SORTED_BTF_LEAD, SORTED_BTF_MIN_NAMED};
use crate::manifest::{
    ArgsConvention, BuiltInto, Kfunc, KfuncSet, Manifest, SetEntry, SetKind, VerifierArgs,
};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    pub add_decl_tags: bool,
    pub strict: bool,
    /// The build object this BTF is, for a manifest with a build view: a
    /// module's name for its split BTF; None for vmlinux.
    pub object: Option<String>,
}

impl PatchOptions {
    /// The build object this BTF is: `vmlinux` unless named.
    pub fn object(&self) -> &str {
        self.object.as_deref().unwrap_or(BuiltInto::VMLINUX)
    }
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Report {
    /// With a build view: the object this BTF was taken for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub types_before: u32,
    pub types_after: u32,
    /// `foo_impl` added, `foo` repointed.
    pub pairs_added: Vec<Pair>,
    /// `foo_impl` was already there: only `foo` repointed.
    pub legacy_pairs: Vec<Pair>,
    /// Already in the patched form: nothing to do.
    pub already_patched: Vec<String>,
    /// Kfuncs of the manifest this BTF does not have (configured out, or in
    /// another module) where that is no error: without a build view, or
    /// where it cannot tell.
    pub missing: Vec<String>,
    pub decl_tags_added: Vec<TagAdded>,
    /// Kfuncs whose arena pointers were marked `address_space(1)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arena_tagged: Vec<ArenaTagged>,
    pub warnings: Vec<String>,
    /// How many of the manifest's kfuncs this patch looked at (to pair, or
    /// tag): none, or none found, is said by the CLI.
    #[serde(skip)]
    pub considered: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Pair {
    pub kfunc: String,
    pub func_id: u32,
    pub impl_name: String,
    pub impl_id: u32,
    /// The new prototype `foo` points at.
    pub proto_id: u32,
    pub omitted_params: Vec<usize>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TagAdded {
    pub tag: String,
    pub target: String,
    pub target_id: u32,
    pub id: u32,
}

/// A kfunc repointed to a prototype whose arena pointers carry the
/// `address_space(1)` type attribute (`PTR → TYPE_TAG → pointee`).
#[derive(Debug, Serialize, PartialEq)]
pub struct ArenaTagged {
    pub kfunc: String,
    pub func_id: u32,
    /// The return value's pointee was marked.
    pub return_value: bool,
    /// The parameters, by index, whose pointees were marked.
    pub params: Vec<usize>,
    /// The prototype the FUNC points at now (of a pair: the reduced one).
    pub proto_id: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The BTF and the manifest disagree: the BTF is left as it was.
    #[error("{} refused edit(s):\n  {}", .0.len(), .0.join("\n  "))]
    Refused(Vec<String>),
    /// The BTF's named types are in name order, as Linux 7.0+'s
    /// resolve_btfids leaves vmlinux's so the kernel can binary-search it
    /// (it does not check the order): types appended after the sort would
    /// break it, and the kernel would not find them. Nothing is appended.
    #[error(
        "this BTF's {named} named types are sorted by name (Linux 7.0+'s resolve_btfids sorts vmlinux's BTF, and the kernel binary-searches it): the {appends} type(s) this patch appends would break that order, and the kernel would not find them (`cannot find function ... in BTF`); patch pahole's raw output before resolve_btfids sorts it (make RESOLVE_BTFIDS=scripts/kbuild/resolve-btfids-wrapper patches .tmp_vmlinux1.BTF.1)"
    )]
    SortedByName { named: usize, appends: usize },
    /// An edit the BTF refused while a plan was applied: the plan rules
    /// these out, so this is a bug.
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// When `btf`'s own named types are in name order (byte order, as the
/// kernel's `strcmp`), the number of them; None when not. Anonymous types
/// are left out wherever they are (resolve_btfids puts them first: the
/// empty name sorts lowest), and so are the first [`SORTED_BTF_LEAD`]
/// named ones; fewer than [`SORTED_BTF_MIN_NAMED`] past those are never
/// called sorted (a few names can be in order by chance). An unsorted
/// BTF (6.x's) is told within its first names; a sorted one costs a read
/// of every name.
pub fn sorted_by_name(btf: &Btf) -> Option<usize> {
    let mut named = 0usize;
    let mut prev: Option<&[u8]> = None;
    for t in btf.own_types() {
        let name = btf.str_at(t.name_off()).unwrap_or(b"");
        if name.is_empty() {
            continue;
        }
        named += 1;
        if named <= SORTED_BTF_LEAD {
            continue;
        }
        if prev.is_some_and(|p| p > name) {
            return None;
        }
        prev = Some(name);
    }
    (named.saturating_sub(SORTED_BTF_LEAD) >= SORTED_BTF_MIN_NAMED).then_some(named)
}

/// Strips modifiers and typedefs.
fn resolve(btf: &Btf, mut id: u32) -> Option<TypeRef<'_>> {
    for _ in 0..64 {
        let t = btf.get(id)?;
        match t.kind() {
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef | Kind::TypeTag => {
                id = t.target()?
            }
            _ => return Some(t),
        }
    }
    None
}

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

/// How a kfunc stands towards the BTF being patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    /// Another object's, or not built: left alone.
    Elsewhere,
    /// Patched when the BTF has it, reported missing when not: without a
    /// build view, or where the build view cannot tell.
    IfPresent,
    /// The build view puts it in this object: the BTF must have it.
    Built,
}

/// A kfunc the patch looks at, and what for.
struct Considered<'m> {
    kfunc: &'m Kfunc,
    /// A member of a kfuncs set: tagged as pahole tags it.
    tag: bool,
    /// Verifier-supplied arguments: paired.
    pair: bool,
    /// The BTF lacking it is refused.
    required: bool,
}

/// Whether `named`, an object as the manifest names it (a `.ko`'s name;
/// several joined by `:` for a file linked into several modules), is
/// `object`. `-` and `_` are one, as in the kernel's module names.
pub fn is_object(named: &str, object: &str) -> bool {
    let norm = |s: &str| {
        s.bytes()
            .map(|b| if b == b'-' { b'_' } else { b })
            .collect::<Vec<u8>>()
    };
    let want = norm(object);
    named.split(':').any(|n| norm(n) == want)
}

/// A set entry's scope under a build view, for the BTF of `object`.
fn entry_scope(s: &KfuncSet, e: &SetEntry, object: &str) -> Scope {
    match (&s.object, e.built) {
        (BuiltInto::NotBuilt, _) | (_, Some(false)) => Scope::Elsewhere,
        (BuiltInto::Object(o), _) if !is_object(o, object) => Scope::Elsewhere,
        (BuiltInto::Object(_), Some(true)) => Scope::Built,
        _ => Scope::IfPresent,
    }
}

/// What a kfunc's own object leaves of `scope`: defined in another object,
/// its FUNC is in that object's BTF; defined nowhere the build compiles,
/// the BTF lacking it is no error.
fn kfunc_scope(k: &Kfunc, scope: Scope, object: &str) -> Scope {
    match &k.object {
        BuiltInto::Object(o) if !is_object(o, object) => Scope::Elsewhere,
        BuiltInto::NotBuilt => scope.min(Scope::IfPresent),
        _ => scope,
    }
}

/// The kfuncs a patch looks at, in the manifest's order: those with
/// verifier-supplied arguments (paired), and with `add_decl_tags` the
/// members of kfuncs sets (tagged). With a build view, only those the build
/// puts in this object.
fn considered<'m>(m: &'m Manifest, opts: &PatchOptions) -> Vec<Considered<'m>> {
    let object = opts.object();
    let build = m.build.is_some();
    // by name: the widest scope among kfuncs sets, and among all sets
    let mut scopes: HashMap<&str, (Scope, Scope)> = HashMap::default();
    for s in &m.sets {
        for e in &s.entries {
            let scope = if build {
                entry_scope(s, e, object)
            } else {
                Scope::IfPresent
            };
            let slot = scopes
                .entry(e.name.as_str())
                .or_insert((Scope::Elsewhere, Scope::Elsewhere));
            if s.kind == SetKind::Kfuncs {
                slot.0 = slot.0.max(scope);
            }
            slot.1 = slot.1.max(scope);
        }
    }
    m.kfuncs
        .iter()
        .filter_map(|k| {
            let (mut in_kfuncs, mut in_any) = scopes
                .get(k.name.as_str())
                .copied()
                .unwrap_or((Scope::Elsewhere, Scope::Elsewhere));
            if build {
                in_kfuncs = kfunc_scope(k, in_kfuncs, object);
                in_any = kfunc_scope(k, in_any, object);
            }
            let tag = opts.add_decl_tags && in_kfuncs > Scope::Elsewhere;
            let pair = k.verifier_args.is_some() && (!build || in_any > Scope::Elsewhere);
            let required = (tag && in_kfuncs == Scope::Built) || (pair && in_any == Scope::Built);
            (tag || pair).then_some(Considered {
                kfunc: k,
                tag,
                pair,
                required,
            })
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

/// The strings `patch_found` needs located in the BTF: the considered
/// kfuncs' names, their `_impl` names and the decl tags' names.
pub fn wanted_strings<'m>(m: &'m Manifest, opts: &PatchOptions) -> Vec<&'m str> {
    let mut wanted: Vec<&str> = vec![TAG_KFUNC, TAG_FASTCALL, TYPE_ATTR_ARENA];
    for c in considered(m, opts) {
        wanted.push(c.kfunc.name.as_str());
        if let Some(va) = &c.kfunc.verifier_args {
            wanted.push(va.impl_name.as_str());
        }
    }
    wanted
}

pub fn patch(btf: &mut Btf, m: &Manifest, opts: &PatchOptions) -> Result<Report, PatchError> {
    let offsets = btf.string_offsets(&wanted_strings(m, opts));
    patch_found(btf, m, opts, &offsets)
}

/// As `patch`, given where `wanted_strings(m, opts)` are in the BTF (from
/// `Btf::string_offsets`, or found while reading it).
pub fn patch_found(
    btf: &mut Btf,
    m: &Manifest,
    opts: &PatchOptions,
    offsets: &StringOffsets,
) -> Result<Report, PatchError> {
    let index = Index::new(btf, offsets);
    let plan = Planner::new(btf, index, opts).plan(m)?;
    // repointing a FUNC renames nothing: only appends break a sorted BTF
    if !plan.appends.is_empty() {
        if let Some(named) = sorted_by_name(btf) {
            return Err(PatchError::SortedByName {
                named,
                appends: plan.appends.len(),
            });
        }
    }
    apply(btf, plan)
}

// ---------------------------------------------------------------- index

/// A string a new type names: one the BTF has, or one to append.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Str {
    At(u32),
    New(String),
}

/// A decl tag, of the BTF or planned.
struct Tag {
    name: String,
    component_idx: i32,
    kflag: bool,
    name_str: Str,
}

/// What the plan needs of the BTF, found once.
struct Index<'o> {
    /// Own FUNCs whose name is one of the wanted strings, by name.
    funcs: HashMap<&'o str, Vec<u32>>,
    /// Own decl tags by target.
    tags: HashMap<u32, Vec<Tag>>,
    /// Where each wanted string first is, for reuse.
    strings: HashMap<&'o str, u32>,
}

impl<'o> Index<'o> {
    /// FUNCs are found by the offsets their names' strings have in this BTF:
    /// a FUNC is one of them when its name offset is, so the 50k+ FUNC
    /// names of a vmlinux are never read or hashed. A name offset pointing
    /// inside a longer string (legal, though no BTF producer writes one) is
    /// not recognised: that kfunc is reported missing, never patched wrongly.
    fn new(btf: &Btf, offsets: &'o StringOffsets) -> Index<'o> {
        let strings = offsets
            .iter()
            .filter_map(|(s, offs)| offs.first().map(|o| (s.as_str(), *o)))
            .collect();
        let by_offset: HashMap<u32, &str> = offsets
            .iter()
            .flat_map(|(name, offs)| offs.iter().map(move |o| (*o, name.as_str())))
            .collect();
        let mut funcs: HashMap<&str, Vec<u32>> = HashMap::default();
        // a bit per name offset modulo 2^16 rules out nearly all of the FUNCs
        // before the map is probed
        let mut maybe = vec![0u64; 1 << 10];
        let bit = |off: u32| ((off as usize >> 6) & 0x3ff, 1u64 << (off & 63));
        for off in by_offset.keys() {
            let (word, mask) = bit(*off);
            maybe[word] |= mask;
        }
        for (id, name_off) in btf.own_names_of(Kind::Func) {
            let (word, mask) = bit(name_off);
            if maybe[word] & mask == 0 {
                continue;
            }
            if let Some(name) = by_offset.get(&name_off) {
                funcs.entry(*name).or_default().push(id);
            }
        }
        let mut tags: HashMap<u32, Vec<Tag>> = HashMap::default();
        for t in btf.own_types_of(|k| k == Kind::DeclTag) {
            let (Some(target), Some(component_idx)) = (t.target(), t.component_idx()) else {
                continue;
            };
            tags.entry(target).or_default().push(Tag {
                name: btf.name(&t).to_string(),
                component_idx,
                kflag: t.kflag(),
                name_str: Str::At(t.name_off()),
            });
        }
        Index {
            funcs,
            tags,
            strings,
        }
    }
}

// ---------------------------------------------------------------- plan

/// A type to append, its name still a `Str`.
#[derive(Debug)]
enum Append {
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

/// What marking a prototype's arena pointers changed.
#[derive(Debug, Default)]
struct Marked {
    ret: bool,
    params: Vec<usize>,
}

/// An accepted plan: what `apply` does, and the report it gives.
#[derive(Debug)]
struct Plan {
    /// In ID order, the first getting the BTF's `end_id()`.
    appends: Vec<Append>,
    /// (FUNC, its new prototype).
    repoints: Vec<(u32, u32)>,
    report: Report,
}

/// A kfunc's FUNC and its prototype, as the BTF has them.
#[derive(Clone)]
struct Checked {
    linkage: Linkage,
    proto_id: u32,
    ret: u32,
    /// As (name_off, type).
    params: Vec<(u32, u32)>,
    names: Vec<String>,
}

/// What the BTF's prototype of a kfunc is, when it is not refused.
enum Prototype {
    /// The source's.
    Agrees(Checked),
    /// The reduced prototype of a pair made before.
    AlreadyPatched(Checked),
}

struct Planner<'a> {
    btf: &'a Btf,
    funcs: HashMap<&'a str, Vec<u32>>,
    strings: HashMap<&'a str, u32>,
    /// The BTF's decl tags by target, and those planned.
    tags: HashMap<u32, Vec<Tag>>,
    opts: &'a PatchOptions,
    next_id: u32,
    appends: Vec<Append>,
    repoints: Vec<(u32, u32)>,
    /// New prototypes, shared where identical.
    protos: HashMap<NewType, u32>,
    /// New arena pointers by pointee, shared.
    arena_ptrs: HashMap<u32, u32>,
    refused: Vec<String>,
    report: Report,
}

impl<'a> Planner<'a> {
    fn new(btf: &'a Btf, index: Index<'a>, opts: &'a PatchOptions) -> Planner<'a> {
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
    fn plan(mut self, m: &Manifest) -> Result<Plan, PatchError> {
        if m.build.is_some() {
            let object = self.opts.object();
            let here = |o: &BuiltInto| o.object().is_some_and(|o| is_object(o, object));
            if !m.sets.iter().any(|s| here(&s.object)) {
                self.report.warnings.push(format!(
                    "the manifest's build view puts no kfunc set in object `{object}`"
                ));
            }
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
        let proto = match self.check_prototype(k, func_id) {
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
    fn string(&mut self, s: &str) -> Str {
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
    fn append(&mut self, a: Append) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.appends.push(a);
        id
    }

    /// `bpf_kfunc` (and `bpf_fastcall` for KF_FASTCALL) on `func_id`, each
    /// unless it is there.
    fn plan_tags(&mut self, k: &Kfunc, func_id: u32) {
        let mut want = vec![TAG_KFUNC];
        if k.flags.iter().any(|f| f == FLAG_FASTCALL) {
            want.push(TAG_FASTCALL);
        }
        for tag in want {
            let has = self
                .tags
                .get(&func_id)
                .is_some_and(|ts| ts.iter().any(|t| t.name == tag && t.component_idx == -1));
            if has {
                continue;
            }
            let name = self.string(tag);
            let id = self.append(Append::Tag {
                name: name.clone(),
                target: func_id,
                component_idx: -1,
                kflag: false,
            });
            self.tags.entry(func_id).or_default().push(Tag {
                name: tag.to_string(),
                component_idx: -1,
                kflag: false,
                name_str: name,
            });
            self.report.decl_tags_added.push(TagAdded {
                tag: tag.to_string(),
                target: k.name.clone(),
                target_id: func_id,
                id,
            });
        }
    }

    /// Whether the BTF's prototype of `k` has the source's parameter names
    /// and count (a stale manifest is refused, naming both sides), or is
    /// already the reduced one of a pair made before.
    fn check_prototype(&self, k: &Kfunc, func_id: u32) -> Result<Prototype, String> {
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
        if let Some(va) = &k.verifier_args {
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

    /// A verifier-supplied parameter must be a pointer in the BTF: under
    /// `KF_MAGIC_ARGS` each one (named `__magic`), under `KF_IMPLICIT_ARGS`
    /// the first (recognised by its pointer type; those after it are the
    /// verifier's whatever their type, as `off` in 7.1's
    /// `bpf_list_push_front_impl(head, node, meta, u64 off)`).
    fn non_pointers(
        &self,
        k: &Kfunc,
        va: &VerifierArgs,
        params: &[(u32, u32)],
        names: &[String],
    ) -> Vec<String> {
        let checked = match va.convention {
            ArgsConvention::ImplicitArgs => &va.omitted_params[..va.omitted_params.len().min(1)],
            ArgsConvention::MagicArgs => &va.omitted_params[..],
        };
        checked
            .iter()
            .filter(|&&i| {
                params
                    .get(i)
                    .and_then(|&(_, ty)| resolve(self.btf, ty))
                    .is_none_or(|t| t.kind() != Kind::Ptr)
            })
            .map(|&i| {
                format!(
                    "{}: parameter {i} `{}` is verifier-supplied in the source but not a pointer in the BTF",
                    k.name,
                    names.get(i).map_or("", String::as_str)
                )
            })
            .collect()
    }

    /// A decl tag on a verifier-supplied parameter would point past the
    /// reduced prototype, and an append-only edit cannot remove it.
    fn dropped_tags(&self, k: &Kfunc, va: &VerifierArgs, func_id: u32) -> Option<String> {
        let dropped: Vec<String> = self
            .tags
            .get(&func_id)?
            .iter()
            .filter(|t| {
                t.component_idx >= 0 && va.omitted_params.contains(&(t.component_idx as usize))
            })
            .map(|t| format!("`{}` on parameter {}", t.name, t.component_idx))
            .collect();
        (!dropped.is_empty()).then(|| {
            format!(
                "{}: decl tag(s) {} would point past the reduced prototype, and an append-only edit cannot remove them",
                k.name,
                dropped.join(", ")
            )
        })
    }

    /// `foo_impl` beside `foo`, `foo` repointed to the reduced prototype,
    /// unless a verifier-supplied parameter is not a pointer or carries a
    /// decl tag. Arena pointers are marked in both prototypes (but in a
    /// legacy `foo_impl`, which is left as it is).
    fn plan_pair(
        &mut self,
        k: &Kfunc,
        va: &VerifierArgs,
        func_id: u32,
        mut checked: Checked,
        arena: &ArenaPlaces,
    ) {
        let mut refused = self.non_pointers(k, va, &checked.params, &checked.names);
        refused.extend(self.dropped_tags(k, va, func_id));
        if !refused.is_empty() {
            self.refused.extend(refused);
            return;
        }
        let legacy = self
            .funcs
            .get(va.impl_name.as_str())
            .is_some_and(|ids| !ids.is_empty());
        let marked = self.mark_arena(k, arena, &mut checked, false);
        if marked.is_some() && !legacy {
            checked.proto_id = self.proto(NewType::func_proto(checked.ret, &checked.params));
        }
        let Some(impl_id) = self.impl_of(k, va, func_id, &checked) else {
            return;
        };
        let kept: Vec<(u32, u32)> = checked
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| !va.omitted_params.contains(i))
            .map(|(_, p)| *p)
            .collect();
        let proto_id = self.proto(NewType::func_proto(checked.ret, &kept));
        self.repoints.push((func_id, proto_id));
        if let Some(m) = marked {
            self.report_arena(k, func_id, m, proto_id);
        }
        let pair = Pair {
            kfunc: k.name.clone(),
            func_id,
            impl_name: va.impl_name.clone(),
            impl_id,
            proto_id,
            omitted_params: va.omitted_params.clone(),
        };
        if legacy {
            self.report.legacy_pairs.push(pair);
        } else {
            self.report.pairs_added.push(pair);
        }
    }

    /// The ID of prototype `proto`: a new one, shared where identical.
    fn proto(&mut self, proto: NewType) -> u32 {
        match self.protos.get(&proto) {
            Some(&id) => id,
            None => {
                let id = self.append(Append::Type(proto.clone()));
                self.protos.insert(proto, id);
                id
            }
        }
    }

    /// A kfunc that is not paired: repointed to a prototype with its arena
    /// pointers marked, when one is not yet. `reduced`: the prototype of a
    /// pair made before, which may lack a verifier-supplied parameter.
    fn plan_arena(
        &mut self,
        k: &Kfunc,
        func_id: u32,
        mut checked: Checked,
        arena: &ArenaPlaces,
        reduced: bool,
    ) {
        if let Some(marked) = self.mark_arena(k, arena, &mut checked, reduced) {
            let proto_id = self.proto(NewType::func_proto(checked.ret, &checked.params));
            self.repoints.push((func_id, proto_id));
            self.report_arena(k, func_id, marked, proto_id);
        }
    }

    fn report_arena(&mut self, k: &Kfunc, func_id: u32, marked: Marked, proto_id: u32) {
        self.report.arena_tagged.push(ArenaTagged {
            kfunc: k.name.clone(),
            func_id,
            return_value: marked.ret,
            params: marked.params,
            proto_id,
        });
    }

    /// Marks the arena pointers `arena` names in `checked`'s return and
    /// parameter types, as pahole does: the type must be a PTR itself
    /// (refused otherwise), and its pointee gets the `address_space(1)`
    /// attribute. What changed; None when nothing did (each already
    /// marked, or none named). `reduced`: a parameter past the prototype's
    /// end is skipped, not refused.
    fn mark_arena(
        &mut self,
        k: &Kfunc,
        arena: &ArenaPlaces,
        checked: &mut Checked,
        reduced: bool,
    ) -> Option<Marked> {
        let mut marked = Marked::default();
        if arena.ret {
            match self.arena_ptr(checked.ret) {
                Some(p) => {
                    marked.ret = p != checked.ret;
                    checked.ret = p;
                }
                None => self.refused.push(format!(
                    "{}: {FLAG_ARENA_RET}, but the BTF's return type is not a pointer",
                    k.name
                )),
            }
        }
        for &i in &arena.params {
            let flag = if i == 0 {
                FLAG_ARENA_ARG1
            } else {
                FLAG_ARENA_ARG2
            };
            let Some(&(_, ty)) = checked.params.get(i) else {
                if !reduced {
                    self.refused.push(format!(
                        "{}: {flag}, but the BTF's prototype has {} parameter(s)",
                        k.name,
                        checked.params.len()
                    ));
                }
                continue;
            };
            match self.arena_ptr(ty) {
                Some(p) if p != ty => {
                    checked.params[i].1 = p;
                    marked.params.push(i);
                }
                Some(_) => {}
                None => self.refused.push(format!(
                    "{}: {flag}, but parameter {i} `{}` is not a pointer in the BTF",
                    k.name,
                    checked.names.get(i).map_or("", String::as_str)
                )),
            }
        }
        (marked.ret || !marked.params.is_empty()).then_some(marked)
    }

    /// `ty` as an arena pointer: itself when it is one (`PTR → TYPE_TAG
    /// address_space(1)` with the kind flag), else a new PTR to a new
    /// attribute on its pointee, planned once per pointee. None when `ty`
    /// is not a PTR.
    fn arena_ptr(&mut self, ty: u32) -> Option<u32> {
        let btf = self.btf;
        let pointee = btf
            .get(ty)
            .filter(|t| t.kind() == Kind::Ptr)
            .and_then(|t| t.target())?;
        let marked = btf.get(pointee).is_some_and(|t| {
            t.kind() == Kind::TypeTag && t.kflag() && btf.name(&t) == TYPE_ATTR_ARENA
        });
        if marked {
            return Some(ty);
        }
        if let Some(&p) = self.arena_ptrs.get(&pointee) {
            return Some(p);
        }
        let name = self.string(TYPE_ATTR_ARENA);
        let attr = self.append(Append::Attr {
            name,
            target: pointee,
        });
        let p = self.append(Append::Type(NewType::ptr(attr)));
        self.arena_ptrs.insert(pointee, p);
        Some(p)
    }

    /// `foo_impl`: the BTF's (the legacy case), or a new FUNC with foo's
    /// linkage and full prototype carrying foo's decl tags but `bpf_kfunc`.
    /// None when the BTF has several (refused).
    fn impl_of(
        &mut self,
        k: &Kfunc,
        va: &VerifierArgs,
        func_id: u32,
        checked: &Checked,
    ) -> Option<u32> {
        let existing = self.funcs.get(va.impl_name.as_str()).cloned();
        match existing.as_deref().unwrap_or(&[]) {
            [] => {
                if va.legacy_impl {
                    self.report.warnings.push(format!(
                        "{}: the source defines {} but this BTF lacks it; added",
                        k.name, va.impl_name
                    ));
                }
                let name = self.string(&va.impl_name);
                let id = self.append(Append::Func {
                    name,
                    linkage: checked.linkage,
                    proto: checked.proto_id,
                });
                let copies: Vec<Append> = self
                    .tags
                    .get(&func_id)
                    .map(|ts| {
                        ts.iter()
                            .filter(|t| t.name != TAG_KFUNC)
                            .map(|t| Append::Tag {
                                name: t.name_str.clone(),
                                target: id,
                                component_idx: t.component_idx,
                                kflag: t.kflag,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for c in copies {
                    self.append(c);
                }
                Some(id)
            }
            [one] => {
                if !va.legacy_impl {
                    self.report.warnings.push(format!(
                        "{}: {} is already in the BTF though the source does not define it; kept",
                        k.name, va.impl_name
                    ));
                }
                Some(*one)
            }
            many => {
                self.refused.push(format!(
                    "{}: {} FUNCs named {} in the BTF",
                    k.name,
                    many.len(),
                    va.impl_name
                ));
                None
            }
        }
    }
}

// ---------------------------------------------------------------- apply

/// Carries out an accepted plan: its appends, in order (each gets the ID
/// the plan gave it), then its repoints.
fn apply(btf: &mut Btf, plan: Plan) -> Result<Report, PatchError> {
    for a in &plan.appends {
        let t = match a {
            Append::Tag {
                name,
                target,
                component_idx,
                kflag,
            } => NewType::decl_tag(string_off(btf, name)?, *target, *component_idx, *kflag),
            Append::Func {
                name,
                linkage,
                proto,
            } => NewType::func(string_off(btf, name)?, linkage.raw(), *proto),
            Append::Attr { name, target } => {
                NewType::type_tag(string_off(btf, name)?, *target, true)
            }
            Append::Type(t) => t.clone(),
        };
        btf.add_type(&t)?;
    }
    debug_assert_eq!(btf.end_id() - 1, plan.report.types_after);
    for &(func, proto) in &plan.repoints {
        btf.repoint_func(func, proto)?;
    }
    Ok(plan.report)
}

fn string_off(btf: &mut Btf, s: &Str) -> Result<u32, EditError> {
    match s {
        Str::At(off) => Ok(*off),
        Str::New(s) => btf.add_string(s),
    }
}
