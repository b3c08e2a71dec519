//! The pairs: `foo_impl` with the full prototype beside `foo`, repointed to
//! one without its verifier-supplied arguments.

use super::plan::{Append, Checked, Planner};
use super::Pair;
use crate::btf::{Btf, Kind, NewType, TypeRef};
use crate::conventions::{ArenaPlaces, TAG_KFUNC};
use crate::manifest::{ArgsConvention, Kfunc, VerifierArgs};

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

impl<'a> Planner<'a> {
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
    pub(super) fn plan_pair(
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
