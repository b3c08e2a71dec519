//! Whether an extern's prototype (the object's BTF) is compatible with the
//! kernel's FUNC: libbpf's rule for kfunc externs
//! (`bpf_object__resolve_ksym_func_btf_id` → `__bpf_core_types_are_compat`,
//! `tools/lib/bpf/relo_core.c`), re-read here, not copied:
//!
//! - modifiers and typedefs are skipped on both sides;
//! - the kinds must be the same (ENUM and ENUM64 count as one);
//! - void, STRUCT, UNION, ENUM, FWD are compatible by kind alone (names
//!   and sizes are not compared);
//! - two INTs are compatible whatever their size or sign, unless either
//!   is a bitfield-like INT (a nonzero bit offset);
//! - a PTR or an ARRAY: what they point to / hold, compared the same way;
//! - a FUNC_PROTO: the same number of parameters, each compatible, and
//!   the return types.

use super::object::RawTypes;
use crate::btf::{Btf, Kind};
use crate::limits::{CHECK_COMPAT_CHAIN_DEPTH, CHECK_COMPAT_NESTING};

/// How the two prototypes compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compat {
    Compatible,
    /// Why not, in words (the first difference found).
    Incompatible(String),
    /// Not compared: a type could not be read or the types go deeper than
    /// the bounds (see `limits`).
    Unknown(String),
}

/// One side: a BTF and, for the object's, its raw records (INT offsets).
pub(crate) struct Side<'a> {
    pub(crate) btf: &'a Btf,
    pub(crate) raw: Option<&'a RawTypes<'a>>,
}

/// A type after modifiers and typedefs: its ID (0 void) and kind (None void).
fn skip(btf: &Btf, mut id: u32) -> Result<(u32, Option<Kind>), String> {
    for _ in 0..CHECK_COMPAT_CHAIN_DEPTH {
        if id == 0 {
            return Ok((0, None));
        }
        let t = btf
            .get(id)
            .ok_or_else(|| format!("type [{id}] is not in the BTF"))?;
        match t.kind() {
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef | Kind::TypeTag => {
                id = t.target().unwrap_or(0)
            }
            k => return Ok((id, Some(k))),
        }
    }
    Err(format!(
        "more than {CHECK_COMPAT_CHAIN_DEPTH} modifiers and typedefs in a row (CHECK_COMPAT_CHAIN_DEPTH)"
    ))
}

fn same_kind(a: Option<Kind>, b: Option<Kind>) -> bool {
    let any_enum = |k| matches!(k, Some(Kind::Enum | Kind::Enum64));
    a == b || (any_enum(a) && any_enum(b))
}

fn kind_name(k: Option<Kind>) -> &'static str {
    k.map_or("void", |k| k.name())
}

/// The prototype of FUNC `local` (object) against FUNC `targ` (kernel).
pub(crate) fn funcs(local: &Side, local_func: u32, targ: &Side, targ_func: u32) -> Compat {
    let proto = |s: &Side, f: u32| s.btf.get(f).and_then(|t| t.target());
    let (Some(l), Some(t)) = (proto(local, local_func), proto(targ, targ_func)) else {
        return Compat::Unknown("a FUNC without a prototype".into());
    };
    match types(local, l, targ, t, 0) {
        Ok(None) => Compat::Compatible,
        Ok(Some(why)) => Compat::Incompatible(why),
        Err(why) => Compat::Unknown(why),
    }
}

/// None when compatible, else why not; Err when it cannot be told.
/// `nesting`: how many prototypes enclose these types.
fn types(
    local: &Side,
    mut l: u32,
    targ: &Side,
    mut t: u32,
    nesting: u32,
) -> Result<Option<String>, String> {
    // `what` says where in the prototype the comparison is
    let mut what = String::from("the type");
    for _ in 0..CHECK_COMPAT_CHAIN_DEPTH {
        let (lid, lk) = skip(local.btf, l)?;
        let (tid, tk) = skip(targ.btf, t)?;
        if !same_kind(lk, tk) {
            return Ok(Some(format!(
                "{what} is {} here but {} in the kernel",
                kind_name(lk),
                kind_name(tk)
            )));
        }
        let (Some(lt), Some(tt)) = (local.btf.get(lid), targ.btf.get(tid)) else {
            return Ok(None); // both void
        };
        match lt.kind() {
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => return Ok(None),
            Kind::Int => {
                let bitfield =
                    |s: &Side, id| s.raw.and_then(|r| r.int_offset(id)).unwrap_or(0) != 0;
                if bitfield(local, lid) || bitfield(targ, tid) {
                    return Ok(Some(format!("{what} is a bitfield-like INT")));
                }
                return Ok(None);
            }
            Kind::Ptr => {
                (l, t) = (lt.target().unwrap_or(0), tt.target().unwrap_or(0));
                what = format!("what {what} points to");
            }
            Kind::Array => {
                let (Some(la), Some(ta)) = (lt.array(), tt.array()) else {
                    return Err("an ARRAY that could not be read".into());
                };
                (l, t) = (la.elem, ta.elem);
                what = format!("the element of {what}");
            }
            Kind::FuncProto => {
                let (lp, tp): (Vec<_>, Vec<_>) = (lt.params().collect(), tt.params().collect());
                if lp.len() != tp.len() {
                    return Ok(Some(format!(
                        "{} parameter{} here, {} in the kernel",
                        lp.len(),
                        if lp.len() == 1 { "" } else { "s" },
                        tp.len()
                    )));
                }
                if nesting > CHECK_COMPAT_NESTING {
                    return Err(format!(
                        "function prototypes nested more than {CHECK_COMPAT_NESTING} deep (CHECK_COMPAT_NESTING)"
                    ));
                }
                for (i, ((_, a), (_, b))) in lp.iter().zip(&tp).enumerate() {
                    if let Some(why) = types(local, *a, targ, *b, nesting + 1)? {
                        return Ok(Some(format!("parameter {}: {why}", i + 1)));
                    }
                }
                (l, t) = (lt.return_type().unwrap_or(0), tt.return_type().unwrap_or(0));
                what = "the return type".into();
            }
            k => {
                return Ok(Some(format!(
                    "{what} is a {}, which libbpf does not compare",
                    k.name()
                )))
            }
        }
    }
    Err(format!(
        "a chain of more than {CHECK_COMPAT_CHAIN_DEPTH} pointers and arrays (CHECK_COMPAT_CHAIN_DEPTH)"
    ))
}
