//! The `address_space(1)` type attribute (pahole 1.30+) on the pointee of a
//! KF_ARENA_RET return value and of a KF_ARENA_ARG1/ARG2 parameter.

use super::plan::{Append, Checked, Planner};
use super::ArenaTagged;
use crate::btf::{Kind, NewType};
use crate::conventions::{
    ArenaPlaces, FLAG_ARENA_ARG1, FLAG_ARENA_ARG2, FLAG_ARENA_RET, TYPE_ATTR_ARENA,
};
use crate::manifest::Kfunc;

/// What marking a prototype's arena pointers changed.
#[derive(Debug, Default)]
pub(super) struct Marked {
    ret: bool,
    params: Vec<usize>,
}

impl<'a> Planner<'a> {
    /// A kfunc that is not paired: repointed to a prototype with its arena
    /// pointers marked, when one is not yet. `reduced`: the prototype of a
    /// pair made before, which may lack a verifier-supplied parameter.
    pub(super) fn plan_arena(
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

    pub(super) fn report_arena(&mut self, k: &Kfunc, func_id: u32, marked: Marked, proto_id: u32) {
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
    pub(super) fn mark_arena(
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
}
