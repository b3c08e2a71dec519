//! Apply: the appends and repoints of an accepted plan.

use super::index::Str;
use super::plan::{Append, Plan};
use super::{PatchError, Report};
use crate::btf::{Btf, EditError, NewType};

/// Carries out an accepted plan: its appends, in order (each gets the ID
/// the plan gave it), then its repoints.
pub(super) fn apply(btf: &mut Btf, plan: Plan) -> Result<Report, PatchError> {
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
