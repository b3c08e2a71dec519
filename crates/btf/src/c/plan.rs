//! Which types a set of function prototypes needs, and in what order.
//!
//! A type a prototype (or a needed definition) uses by value needs its full
//! definition; one used only behind pointers needs a declaration. The
//! header gives the latter an empty body, not a forward declaration: libbpf
//! checks a kfunc extern's prototype against the kernel's with
//! `bpf_core_types_are_compat`, which follows pointers and requires the same
//! BTF kind at the end, and a forward-declared struct is a FWD in the
//! program's BTF where the kernel has a STRUCT ("func_proto … incompatible
//! with kernel"). The objects a program keeps on its stack, which the
//! caller's [`PlanRules`] name (`struct bpf_iter_num`, `struct bpf_dynptr`,
//! …), are always defined in full.
//!
//! Definitions come in dependency order (a post-order walk): a typedef after
//! what it names needs defined, a struct after the types of its by-value
//! members; named structs are forward-declared first, so pointers to them
//! need nothing.

use super::EmitError;
use crate::{Btf, Kind};
use std::collections::{HashMap, HashSet};

/// What a plan takes from the caller's conventions: which structs a
/// program needs whole though the functions take them by pointer.
#[derive(Debug, Clone, Copy)]
pub struct PlanRules {
    /// Whether a named struct or union is an object the program holds
    /// itself (on its stack, in its maps), and so is defined in full.
    pub always_define: fn(&str) -> bool,
    /// Whether a parameter's name says it is the size of the buffer the
    /// parameter before it points to: the program fills that struct itself
    /// and passes `sizeof`, so it is defined in full.
    pub size_param: fn(&[u8]) -> bool,
}

/// The struct or union a pointer parameter points to, through modifiers
/// and typedefs on either side of the pointer; 0 (void, which needs
/// nothing) for anything else. Bounded by `MAX_DEPTH` steps: a BTF may
/// hold a cycle of modifiers.
fn pointee(btf: &Btf, ty: u32) -> u32 {
    let mut id = ty;
    let mut behind_pointer = false;
    for _ in 0..MAX_DEPTH {
        let Some(t) = btf.get(id) else { return 0 };
        match t.kind() {
            Kind::Ptr if !behind_pointer => behind_pointer = true,
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag | Kind::Typedef => {}
            Kind::Struct | Kind::Union if behind_pointer => return id,
            _ => return 0,
        }
        id = t.target().unwrap_or(0);
    }
    0
}

/// How deep a chain of by-value uses may nest before the input is refused.
const MAX_DEPTH: usize = 512;

/// The types a set of prototypes needs, each list in the order they are
/// written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Named structs, unions and FWDs mentioned, in order of first mention.
    pub declared: Vec<u32>,
    /// Named structs and unions only ever used behind pointers.
    pub stubs: Vec<u32>,
    /// Typedefs, named enums and full structs and unions, in dependency order.
    pub defs: Vec<u32>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    InProgress,
    Done,
}

struct Planner<'a> {
    btf: &'a Btf,
    rules: &'a PlanRules,
    state: HashMap<u32, State>,
    declared: Vec<u32>,
    declared_set: HashSet<u32>,
    full: HashSet<u32>,
    defs: Vec<u32>,
    /// Anonymous structs and unions, and prototypes, whose members or
    /// parameters are seen to: each is walked once, not once per use (a
    /// struct of n anonymous members of n members …, or a function pointer
    /// taking n function pointers taking n …, would cost n^depth).
    walked: HashSet<u32>,
}

/// The plan for the prototypes of `funcs` (FUNC IDs): their return and
/// parameter types are used by value (a program calling them needs them
/// complete).
pub fn plan(btf: &Btf, funcs: &[u32], rules: &PlanRules) -> Result<Plan, EmitError> {
    let mut p = Planner {
        btf,
        rules,
        state: HashMap::new(),
        declared: Vec::new(),
        declared_set: HashSet::new(),
        full: HashSet::new(),
        defs: Vec::new(),
        walked: HashSet::new(),
    };
    for &f in funcs {
        let t = btf.get(f).ok_or(EmitError::NoType(f))?;
        if t.kind() != Kind::Func {
            return Err(EmitError::NotAFunc(f));
        }
        let proto = t.target().unwrap_or(0);
        let pt = btf.get(proto).ok_or(EmitError::NoType(proto))?;
        p.use_type(pt.return_type().unwrap_or(0), true, 0)?;
        let params: Vec<(u32, u32)> = pt.params().collect();
        for (i, &(_, ty)) in params.iter().enumerate() {
            p.use_type(ty, true, 0)?;
            let sized = params
                .get(i + 1)
                .is_some_and(|&(name, _)| (rules.size_param)(btf.str_at(name).unwrap_or_default()));
            if sized {
                // the program fills it and passes its size: it needs the body
                p.use_type(pointee(btf, ty), true, 0)?;
            }
        }
    }
    let stubs = p
        .declared
        .iter()
        .copied()
        .filter(|id| !p.full.contains(id))
        .filter(|&id| btf.get(id).is_some_and(|t| t.kind() != Kind::Fwd))
        .collect();
    Ok(Plan {
        declared: p.declared,
        stubs,
        defs: p.defs,
    })
}

impl Planner<'_> {
    fn declare(&mut self, id: u32) {
        if self.declared_set.insert(id) {
            self.declared.push(id);
        }
    }

    /// Type `id` used by value (complete) or only declared (behind a
    /// pointer, or a parameter of a function-pointer type).
    fn use_type(&mut self, id: u32, value: bool, depth: usize) -> Result<(), EmitError> {
        if depth > MAX_DEPTH {
            return Err(EmitError::TooDeep(id));
        }
        if id == 0 {
            return Ok(());
        }
        let t = self.btf.get(id).ok_or(EmitError::NoType(id))?;
        let d = depth + 1;
        match t.kind() {
            Kind::Int | Kind::Float => {}
            Kind::Ptr => self.use_type(t.target().unwrap_or(0), false, d)?,
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                self.use_type(t.target().unwrap_or(0), value, d)?
            }
            Kind::Array => self.use_type(t.array().map_or(0, |a| a.elem), true, d)?,
            Kind::Typedef => {
                self.define(id, d)?;
                if value {
                    self.use_type(t.target().unwrap_or(0), true, d)?;
                }
            }
            Kind::Struct | Kind::Union if t.name_off() == 0 => {
                // anonymous: written inline, so its members are needed whole
                if !self.walked.insert(id) {
                    return Ok(());
                }
                let members: Vec<u32> = t.members().map(|m| m.type_id).collect();
                for m in members {
                    self.use_type(m, true, d)?;
                }
            }
            Kind::Struct | Kind::Union => {
                self.declare(id);
                if value || (self.rules.always_define)(self.btf.name(&t)) {
                    self.define(id, d)?;
                }
            }
            Kind::Enum | Kind::Enum64 => {
                if t.name_off() != 0 {
                    self.define(id, d)?;
                }
            }
            Kind::Fwd => self.declare(id),
            Kind::FuncProto => {
                // its types are only declared, whatever the use: once is enough
                if !self.walked.insert(id) {
                    return Ok(());
                }
                self.use_type(t.return_type().unwrap_or(0), false, d)?;
                let params: Vec<u32> = t.params().map(|(_, ty)| ty).collect();
                for ty in params {
                    self.use_type(ty, false, d)?;
                }
            }
            k => return Err(EmitError::NotAType(id, k.name())),
        }
        Ok(())
    }

    /// Typedef, named enum or named struct `id` defined, after what its
    /// definition needs.
    fn define(&mut self, id: u32, depth: usize) -> Result<(), EmitError> {
        if self.state.contains_key(&id) {
            return Ok(());
        }
        self.state.insert(id, State::InProgress);
        let t = self.btf.get(id).ok_or(EmitError::NoType(id))?;
        match t.kind() {
            Kind::Typedef => self.use_type(t.target().unwrap_or(0), false, depth)?,
            Kind::Struct | Kind::Union => {
                self.full.insert(id);
                let members: Vec<u32> = t.members().map(|m| m.type_id).collect();
                for m in members {
                    self.use_type(m, true, depth)?;
                }
            }
            _ => {}
        }
        self.state.insert(id, State::Done);
        self.defs.push(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewType;

    #[test]
    fn what_a_pointer_parameter_points_to() {
        // const struct s *, typedef'd pointer, struct s ** and int *
        let mut b = Btf::empty(crate::Endian::Little);
        let name = b.add_string("s").expect("string");
        let int = b.add_type(&NewType::int(0, 4, true)).expect("int");
        let s = b
            .add_type(&NewType::struct_(name, 4, &[(0, int, 0)]))
            .expect("struct");
        let cs = b.add_type(&NewType::const_(s)).expect("const");
        let pcs = b.add_type(&NewType::ptr(cs)).expect("ptr");
        let td_name = b.add_string("sp").expect("string");
        let td = b
            .add_type(&NewType::typedef(td_name, pcs))
            .expect("typedef");
        let pps = b.add_type(&NewType::ptr(pcs)).expect("ptr");
        let pint = b.add_type(&NewType::ptr(int)).expect("ptr");
        assert_eq!(pointee(&b, pcs), s);
        assert_eq!(pointee(&b, td), s);
        assert_eq!(pointee(&b, pps), 0);
        assert_eq!(pointee(&b, pint), 0);
        assert_eq!(pointee(&b, s), 0, "a struct by value is no pointer");
        assert_eq!(pointee(&b, 9999), 0);
    }
}
