//! `patch-btf`: applies a manifest to a BTF produced from the same kernel.
//!
//! For each kfunc with verifier-supplied arguments, `foo` keeps its name and
//! is repointed to a new prototype without those arguments (what BPF
//! programs call), and `foo_impl` is added with foo's linkage and the full
//! prototype (unless the BTF already has one: the legacy case). With
//! `add_decl_tags`, kfuncs lacking a `bpf_kfunc` decl tag get one, and
//! KF_FASTCALL kfuncs a `bpf_fastcall` tag, as pahole 1.26+ would emit.
//!
//! Append-only: no type ID moves, no record changes but the `type` field of
//! a repointed FUNC. Before any edit the BTF must agree with the source;
//! every disagreement is collected and the whole edit refused.

use crate::btf::{Btf, Kind, NewType, StringOffsets};
use crate::manifest::{Kfunc, Manifest};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::collections::BTreeSet;

use crate::conventions::{FLAG_FASTCALL, TAG_FASTCALL, TAG_KFUNC};

#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    pub add_decl_tags: bool,
    pub strict: bool,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Report {
    pub types_before: u32,
    pub types_after: u32,
    /// `foo_impl` added, `foo` repointed.
    pub pairs_added: Vec<Pair>,
    /// `foo_impl` was already there: only `foo` repointed.
    pub legacy_pairs: Vec<Pair>,
    /// Already in the patched form: nothing to do.
    pub already_patched: Vec<String>,
    /// Kfuncs of the manifest this BTF does not have (configured out, or in
    /// another module).
    pub missing: Vec<String>,
    pub decl_tags_added: Vec<TagAdded>,
    pub warnings: Vec<String>,
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

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The BTF and the manifest disagree: nothing is written.
    #[error("{} refused edit(s):\n  {}", .0.len(), .0.join("\n  "))]
    Refused(Vec<String>),
    #[error(transparent)]
    Btf(#[from] crate::btf::BtfError),
}

struct Tag {
    name: String,
    component_idx: i32,
    kflag: bool,
    name_off: u32,
}

/// Strips modifiers and typedefs.
fn resolve(btf: &Btf, mut id: u32) -> Option<crate::btf::TypeRef<'_>> {
    for _ in 0..64 {
        let t = btf.get(id)?;
        match t.kind {
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef | Kind::TypeTag => {
                id = t.size_or_type
            }
            _ => return Some(t),
        }
    }
    None
}

fn param_names(btf: &Btf, proto: u32) -> Option<Vec<String>> {
    let p = btf.get(proto)?;
    (p.kind == Kind::FuncProto).then(|| {
        p.params()
            .map(|(n, _)| String::from_utf8_lossy(btf.str_at(n).unwrap_or(b"")).into_owned())
            .collect()
    })
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

/// The kfuncs a patch looks at: those with verifier-supplied arguments, and
/// with `add_decl_tags` the members of kfunc sets; and the names of the
/// latter.
fn considered<'m>(m: &'m Manifest, opts: &PatchOptions) -> (Vec<&'m Kfunc>, BTreeSet<&'m str>) {
    let in_kfunc_set: BTreeSet<&str> = m
        .callable_kfuncs()
        .iter()
        .map(|k| k.name.as_str())
        .collect();
    let considered = m
        .kfuncs
        .iter()
        .filter(|k| {
            k.verifier_args.is_some()
                || (opts.add_decl_tags && in_kfunc_set.contains(k.name.as_str()))
        })
        .collect();
    (considered, in_kfunc_set)
}

/// The strings `patch_found` needs located in the BTF: the considered
/// kfuncs' names, their `_impl` names and the decl tags' names.
pub fn wanted_strings<'m>(m: &'m Manifest, opts: &PatchOptions) -> Vec<&'m str> {
    let mut wanted: Vec<&str> = vec![TAG_KFUNC, TAG_FASTCALL];
    for k in considered(m, opts).0 {
        wanted.push(k.name.as_str());
        if let Some(mg) = &k.verifier_args {
            wanted.push(mg.impl_name.as_str());
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
    let mut report = Report {
        types_before: btf.end_id() - 1,
        ..Default::default()
    };
    let (considered, in_kfunc_set) = considered(m, opts);

    // Own FUNCs of interest by name, decl tags by target. The names are
    // found by the offsets their strings have in this BTF:
    // a FUNC is one of them when its name offset is, so the 50k+ FUNC names
    // of a vmlinux are never read or hashed. A name offset pointing inside a
    // longer string (legal, though no BTF producer writes one) is not
    // recognised: that kfunc is reported missing, never patched wrongly.
    // The same offsets serve string reuse.
    let existing: HashMap<&str, u32> = offsets
        .iter()
        .filter_map(|(s, offs)| offs.first().map(|o| (s.as_str(), *o)))
        .collect();
    let by_offset: HashMap<u32, &str> = offsets
        .iter()
        .flat_map(|(name, offs)| offs.iter().map(move |o| (*o, name.as_str())))
        .collect();
    let mut funcs: HashMap<String, Vec<u32>> = HashMap::default();
    let mut tags: HashMap<u32, Vec<Tag>> = HashMap::default();
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
            funcs.entry((*name).to_string()).or_default().push(id);
        }
    }
    for t in btf.own_types_of(|k| k == Kind::DeclTag) {
        tags.entry(t.size_or_type).or_default().push(Tag {
            name: btf.name(&t).to_string(),
            component_idx: t.component_idx(),
            kflag: t.kflag,
            name_off: t.name_off,
        });
    }

    let string = |btf: &mut Btf, s: &str| {
        existing
            .get(s)
            .copied()
            .unwrap_or_else(|| btf.add_string(s))
    };

    let mut refused = Vec::new();
    let mut new_protos: HashMap<NewType, u32> = HashMap::default();
    for k in considered {
        let func_id = match funcs.get(&k.name).map(Vec::as_slice) {
            None | Some([]) => {
                report.missing.push(k.name.clone());
                continue;
            }
            Some([one]) => *one,
            Some(many) => {
                refused.push(format!(
                    "{}: {} FUNCs of that name in the BTF ({many:?})",
                    k.name,
                    many.len()
                ));
                continue;
            }
        };

        if opts.add_decl_tags && in_kfunc_set.contains(k.name.as_str()) {
            let mut want = vec![TAG_KFUNC];
            if k.flags.iter().any(|f| f == FLAG_FASTCALL) {
                want.push(TAG_FASTCALL);
            }
            for tag in want {
                let has = tags
                    .get(&func_id)
                    .is_some_and(|ts| ts.iter().any(|t| t.name == tag && t.component_idx == -1));
                if has {
                    continue;
                }
                let name_off = string(btf, tag);
                let id = btf.add_type(&NewType::decl_tag(name_off, func_id, -1, false))?;
                tags.entry(func_id).or_default().push(Tag {
                    name: tag.to_string(),
                    component_idx: -1,
                    kflag: false,
                    name_off,
                });
                report.decl_tags_added.push(TagAdded {
                    tag: tag.to_string(),
                    target: k.name.clone(),
                    target_id: func_id,
                    id,
                });
            }
        }

        let Some(mg) = &k.verifier_args else { continue };
        let Some(func) = btf.get(func_id) else {
            continue;
        };
        let (linkage, proto_id) = (func.vlen, func.size_or_type);
        let Some(have) = param_names(btf, proto_id) else {
            refused.push(format!("{}: FUNC [{func_id}] has no FUNC_PROTO", k.name));
            continue;
        };
        let want = manifest_names(k);
        let reduced: Vec<String> = want
            .iter()
            .enumerate()
            .filter(|(i, _)| !mg.omitted_params.contains(i))
            .map(|(_, n)| n.clone())
            .collect();
        let impl_ids = funcs.get(&mg.impl_name).cloned().unwrap_or_default();
        if have != want {
            if !impl_ids.is_empty() && have == reduced {
                report.already_patched.push(k.name.clone());
            } else {
                refused.push(format!(
                    "{}: the BTF's prototype ({}) disagrees with the source's ({}) at {}:{}; is the manifest from this kernel?",
                    k.name,
                    have.join(", "),
                    want.join(", "),
                    k.file,
                    k.line
                ));
            }
            continue;
        }
        let Some(proto) = btf.get(proto_id) else {
            continue;
        };
        let ret = proto.size_or_type;
        let params: Vec<(u32, u32)> = proto.params().collect();
        let mut ok = true;
        for &i in &mg.omitted_params {
            let is_ptr = params
                .get(i)
                .and_then(|&(_, ty)| resolve(btf, ty))
                .is_some_and(|t| t.kind == Kind::Ptr);
            if !is_ptr {
                refused.push(format!(
                    "{}: parameter {i} `{}` is verifier-supplied in the source but not a pointer in the BTF",
                    k.name,
                    want.get(i).map_or("", String::as_str)
                ));
                ok = false;
            }
        }
        let dropped_tags: Vec<String> = tags
            .get(&func_id)
            .map(|ts| {
                ts.iter()
                    .filter(|t| {
                        t.component_idx >= 0
                            && mg.omitted_params.contains(&(t.component_idx as usize))
                    })
                    .map(|t| format!("`{}` on parameter {}", t.name, t.component_idx))
                    .collect()
            })
            .unwrap_or_default();
        if !dropped_tags.is_empty() {
            refused.push(format!(
                "{}: decl tag(s) {} would point past the reduced prototype, and an append-only edit cannot remove them",
                k.name,
                dropped_tags.join(", ")
            ));
            ok = false;
        }
        if !ok {
            continue;
        }

        let impl_id = match impl_ids.as_slice() {
            [] => {
                if mg.legacy_impl {
                    report.warnings.push(format!(
                        "{}: the source defines {} but this BTF lacks it; added",
                        k.name, mg.impl_name
                    ));
                }
                let name_off = string(btf, &mg.impl_name);
                let id = btf.add_type(&NewType::func(name_off, linkage, proto_id))?;
                // foo_impl carries foo's decl tags but bpf_kfunc
                let copies: Vec<NewType> = tags
                    .get(&func_id)
                    .map(|ts| {
                        ts.iter()
                            .filter(|t| t.name != TAG_KFUNC)
                            .map(|t| NewType::decl_tag(t.name_off, id, t.component_idx, t.kflag))
                            .collect()
                    })
                    .unwrap_or_default();
                for c in &copies {
                    btf.add_type(c)?;
                }
                id
            }
            [one] => {
                if !mg.legacy_impl {
                    report.warnings.push(format!(
                        "{}: {} is already in the BTF though the source does not define it; kept",
                        k.name, mg.impl_name
                    ));
                }
                *one
            }
            many => {
                refused.push(format!(
                    "{}: {} FUNCs named {} in the BTF",
                    k.name,
                    many.len(),
                    mg.impl_name
                ));
                continue;
            }
        };
        let kept: Vec<(u32, u32)> = params
            .iter()
            .enumerate()
            .filter(|(i, _)| !mg.omitted_params.contains(i))
            .map(|(_, p)| *p)
            .collect();
        let new = NewType::func_proto(ret, &kept);
        let new_proto = match new_protos.get(&new) {
            Some(&id) => id,
            None => {
                let id = btf.add_type(&new)?;
                new_protos.insert(new, id);
                id
            }
        };
        btf.repoint_func(func_id, new_proto)?;
        let pair = Pair {
            kfunc: k.name.clone(),
            func_id,
            impl_name: mg.impl_name.clone(),
            impl_id,
            proto_id: new_proto,
            omitted_params: mg.omitted_params.clone(),
        };
        if impl_ids.is_empty() {
            report.pairs_added.push(pair);
        } else {
            report.legacy_pairs.push(pair);
        }
    }
    if opts.strict && !report.missing.is_empty() {
        refused.push(format!(
            "--strict: {} kfunc(s) of the manifest are not in this BTF: {}",
            report.missing.len(),
            report.missing.join(", ")
        ));
    }
    if !refused.is_empty() {
        return Err(PatchError::Refused(refused));
    }
    report.types_after = btf.end_id() - 1;
    Ok(report)
}
