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
//!
//! The files: `index` finds, `plan` decides (with `scope`: which kfuncs, by
//! the build view; `decl_tags`, `pair`, `arena`: the edits of one kfunc),
//! `apply` writes.

mod apply;
mod arena;
mod decl_tags;
mod index;
mod pair;
mod plan;
mod scope;

use crate::btf::{Btf, EditError, StringOffsets};
use crate::conventions::{TAG_FASTCALL, TAG_KFUNC, TYPE_ATTR_ARENA};
use crate::limits::{SORTED_BTF_LEAD, SORTED_BTF_MIN_NAMED};
use crate::manifest::{BuiltInto, Manifest};
use apply::apply;
use index::Index;
use plan::Planner;
use scope::considered;
use serde::Serialize;

pub use scope::is_object;

#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    pub add_decl_tags: bool,
    pub strict: bool,
    /// The build object this BTF is, for a manifest with a build view: a
    /// module's name for its split BTF; None for vmlinux.
    pub object: Option<String>,
    /// The tags only: no kfunc is paired, its verifier-supplied arguments
    /// left to the kernel (Linux 7.0+'s resolve_btfids pairs them itself,
    /// finding the kfuncs by their tags).
    pub no_pairs: bool,
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
    /// With a build view: the build puts no kfunc set in the object this
    /// BTF was taken for. Most modules have none; a mistyped `--object`
    /// has none either: the caller, who knows which it was, says so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub object_without_sets: bool,
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

/// The strings `patch_found` needs located in the BTF: the considered
/// kfuncs' names, their `_impl` names and the decl tags' names.
pub fn wanted_strings<'m>(m: &'m Manifest, opts: &PatchOptions) -> Vec<&'m str> {
    let mut wanted: Vec<&str> = vec![TAG_KFUNC, TAG_FASTCALL, TYPE_ATTR_ARENA];
    for c in considered(m, opts) {
        wanted.push(c.kfunc.name.as_str());
        if let Some(va) = c.kfunc.verifier_args.as_ref().filter(|_| c.pair) {
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
