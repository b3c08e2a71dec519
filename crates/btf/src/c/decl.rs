//! C declarators from BTF, written as libbpf's BTF dumper writes them (and
//! so as `bpftool btf dump … format c` does): `const struct foo *p`,
//! `int (*cb)(void *, int *)`, `char name[16]`, a kind flag's type tag as
//! ` __attribute__((NAME))`, or as the caller's macro (address_space(1) as
//! ` __arena`: [`Spelling`]).
//!
//! A type's chain (pointer, modifiers, array, prototype, down to its base)
//! is put on a stack outermost first and written from its base up, as C's
//! declarator syntax reads.

use super::layout;
use super::{c_name, EmitError, NameRule, Namer, MAX_DEPTH};
use crate::{Btf, Kind, TypeRef};
use std::fmt::Write;

/// How C spells one kind-flag type tag, the address space of a pointer's
/// pointee: with the macro BPF programs write (`__arena` for
/// `address_space(1)`) rather than `__attribute__((address_space(1)))`.
/// The caller's conventions, not the BTF's.
#[derive(Debug, Clone, Copy)]
pub struct Spelling<'s> {
    /// The type tag's value: `address_space(1)`.
    pub attr: &'s str,
    /// The macro written for it: `__arena`.
    pub macro_name: &'s str,
}

/// Where a prototype puts [`Spelling`]'s macro besides where the BTF tags
/// it: pointers the caller knows point into that address space though the
/// BTF does not say so.
#[derive(Debug, Clone, Copy, Default)]
pub struct Places<'p> {
    /// The pointer returned.
    pub ret: bool,
    /// The pointer parameters, by index.
    pub params: &'p [usize],
}

/// One element of a declarator's stack: a type, or the macro `Places`
/// asks for where the BTF has no tag.
#[derive(Clone, Copy)]
enum Item {
    Id(u32),
    Arena,
}

/// Writes declarations into `out`.
pub struct Writer<'a> {
    /// The types' BTF.
    pub btf: &'a Btf,
    /// The names types are written with.
    pub names: Namer,
    /// The C written so far.
    pub out: String,
    /// Alignments known so far (see `layout::Aligns`).
    pub aligns: layout::Aligns,
    /// How the address-space tag is written.
    spelling: Spelling<'a>,
    /// How many declarators are being written, one inside another.
    depth: usize,
}

/// Whether `id` is the kind-flag type tag `attr`.
fn is_tag(btf: &Btf, id: u32, attr: &str) -> bool {
    btf.get(id)
        .is_some_and(|t| t.kind() == Kind::TypeTag && t.kflag() && btf.name(&t) == attr)
}

fn get(btf: &Btf, id: u32) -> Result<TypeRef<'_>, EmitError> {
    btf.get(id).ok_or(EmitError::NoType(id))
}

fn pfx(lvl: usize) -> String {
    "\t".repeat(lvl)
}

impl<'a> Writer<'a> {
    /// An empty text, names from `names`, the address space spelt as
    /// `spelling` says.
    pub fn new(btf: &'a Btf, names: Namer, spelling: Spelling<'a>) -> Writer<'a> {
        Writer {
            btf,
            names,
            out: String::new(),
            aligns: Default::default(),
            spelling,
            depth: 0,
        }
    }

    /// Refused once the text passes `MAX_HEADER_LEN` (called in every loop
    /// that writes: members, enumerators, parameters), `id` being the type
    /// being written.
    pub fn check_len(&self, id: u32) -> Result<(), EmitError> {
        let bound = super::MAX_HEADER_LEN;
        if self.out.len() > bound {
            return Err(EmitError::TooLong { id, bound });
        }
        Ok(())
    }

    /// `id` declared as `fname` (`""`: an abstract declarator).
    pub fn decl(&mut self, id: u32, fname: &str, lvl: usize) -> Result<(), EmitError> {
        self.decl_arena(id, fname, lvl, None, false)
    }

    /// A FUNC_PROTO declared as function `fname`, with the address-space
    /// macro where `places` says (besides the BTF's own tags).
    pub fn proto(&mut self, proto: u32, fname: &str, places: Places<'_>) -> Result<(), EmitError> {
        self.decl_arena(proto, fname, 0, Some(&places), places.ret)
    }

    fn decl_arena(
        &mut self,
        id: u32,
        fname: &str,
        lvl: usize,
        slots: Option<&Places<'_>>,
        arena_first_ptr: bool,
    ) -> Result<(), EmitError> {
        // declarators nest in parameters at the same level of indentation
        // (a prototype taking a pointer to itself nests for ever): counted apart
        if lvl > MAX_DEPTH || self.depth > MAX_DEPTH {
            return Err(EmitError::TooDeep(id));
        }
        self.depth += 1;
        let done = self.decl_at(id, fname, lvl, slots, arena_first_ptr);
        self.depth -= 1;
        done
    }

    fn decl_at(
        &mut self,
        id: u32,
        fname: &str,
        lvl: usize,
        slots: Option<&Places<'_>>,
        arena_first_ptr: bool,
    ) -> Result<(), EmitError> {
        let mut stack = Vec::new();
        let mut cur = id;
        let mut arena = arena_first_ptr;
        loop {
            if stack.len() > MAX_DEPTH {
                return Err(EmitError::TooDeep(id));
            }
            stack.push(Item::Id(cur));
            if cur == 0 {
                break;
            }
            let t = get(self.btf, cur)?;
            cur = match t.kind() {
                Kind::Ptr => {
                    let to = t.target().unwrap_or(0);
                    if std::mem::take(&mut arena) && !is_tag(self.btf, to, self.spelling.attr) {
                        stack.push(Item::Arena);
                    }
                    to
                }
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                    t.target().unwrap_or(0)
                }
                Kind::FuncProto => t.return_type().unwrap_or(0),
                Kind::Array => t.array().map_or(0, |a| a.elem),
                Kind::Int
                | Kind::Float
                | Kind::Enum
                | Kind::Enum64
                | Kind::Fwd
                | Kind::Struct
                | Kind::Union
                | Kind::Typedef => break,
                k => return Err(EmitError::NotAType(cur, k.name())),
            };
        }
        self.chain(&mut stack, fname, lvl, slots)
    }

    fn emit_mods(&mut self, stack: &mut Vec<Item>) {
        while let Some(Item::Id(id)) = stack.last() {
            let word = match self.btf.get(*id).map(|t| t.kind()) {
                Some(Kind::Volatile) => "volatile ",
                Some(Kind::Const) => "const ",
                Some(Kind::Restrict) => "restrict ",
                _ => return,
            };
            self.out.push_str(word);
            stack.pop();
        }
    }

    fn drop_mods(&mut self, stack: &mut Vec<Item>) {
        while let Some(Item::Id(id)) = stack.last() {
            match self.btf.get(*id).map(|t| t.kind()) {
                Some(Kind::Volatile | Kind::Const | Kind::Restrict) => {
                    stack.pop();
                }
                _ => return,
            }
        }
    }

    fn name(&mut self, fname: &str, last_was_ptr: bool) {
        if !fname.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(fname);
    }

    /// Writes the stack from its base (the top) outwards.
    fn chain(
        &mut self,
        stack: &mut Vec<Item>,
        fname: &str,
        lvl: usize,
        slots: Option<&Places<'_>>,
    ) -> Result<(), EmitError> {
        let mut last_was_ptr = true;
        while let Some(item) = stack.pop() {
            let id = match item {
                Item::Arena => {
                    self.emit_mods(stack);
                    let _ = write!(self.out, " {}", self.spelling.macro_name);
                    last_was_ptr = false;
                    continue;
                }
                Item::Id(0) => {
                    self.emit_mods(stack);
                    self.out.push_str("void");
                    last_was_ptr = false;
                    continue;
                }
                Item::Id(id) => id,
            };
            let t = get(self.btf, id)?;
            match t.kind() {
                Kind::Array => return self.array(stack, &t, fname, last_was_ptr, lvl),
                Kind::FuncProto => {
                    return self.func_proto(stack, &t, fname, last_was_ptr, lvl, slots)
                }
                _ => self.simple(stack, &t, lvl, last_was_ptr)?,
            }
            last_was_ptr = t.kind() == Kind::Ptr;
        }
        self.name(fname, last_was_ptr);
        Ok(())
    }

    /// A base type, a pointer, a modifier or a type tag.
    fn simple(
        &mut self,
        stack: &mut Vec<Item>,
        t: &TypeRef,
        lvl: usize,
        last_was_ptr: bool,
    ) -> Result<(), EmitError> {
        let btf = self.btf;
        match t.kind() {
            Kind::Int | Kind::Float => {
                self.emit_mods(stack);
                let n = c_name(btf, t.id(), "name", t.name_off(), false, NameRule::Words)?;
                self.out.push_str(n);
            }
            Kind::Struct | Kind::Union => {
                self.emit_mods(stack);
                if t.name_off() == 0 {
                    self.struct_def(t, lvl)?;
                } else {
                    let n = self.names.type_name(btf, t)?;
                    let _ = write!(self.out, "{} {n}", su(t.kind()));
                }
            }
            Kind::Enum | Kind::Enum64 => {
                self.emit_mods(stack);
                if t.name_off() == 0 {
                    self.enum_def(t, lvl)?;
                } else {
                    let n = self.names.type_name(btf, t)?;
                    let _ = write!(self.out, "enum {n}");
                }
            }
            Kind::Fwd => {
                self.emit_mods(stack);
                let n = self.names.type_name(btf, t)?;
                let kw = if t.kflag() { "union" } else { "struct" };
                let _ = write!(self.out, "{kw} {n}");
            }
            Kind::Typedef => {
                self.emit_mods(stack);
                let n = self.names.ident_name(btf, t)?;
                self.out.push_str(&n);
            }
            Kind::Ptr => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
            Kind::Volatile => self.out.push_str(" volatile"),
            Kind::Const => self.out.push_str(" const"),
            Kind::Restrict => self.out.push_str(" restrict"),
            Kind::TypeTag => {
                self.emit_mods(stack);
                // the value goes inside an attribute, or a string literal
                let rule = if t.kflag() {
                    NameRule::Attribute
                } else {
                    NameRule::Identifier
                };
                let n = c_name(btf, t.id(), "value", t.name_off(), false, rule)?;
                if t.kflag() && n == self.spelling.attr {
                    let _ = write!(self.out, " {}", self.spelling.macro_name);
                } else if t.kflag() {
                    let _ = write!(self.out, " __attribute__(({n}))");
                } else {
                    let _ = write!(self.out, " __attribute__((btf_type_tag(\"{n}\")))");
                }
            }
            k => return Err(EmitError::NotAType(t.id(), k.name())),
        }
        Ok(())
    }

    fn array(
        &mut self,
        stack: &mut Vec<Item>,
        t: &TypeRef,
        fname: &str,
        last_was_ptr: bool,
        lvl: usize,
    ) -> Result<(), EmitError> {
        let n = t.array().map_or(0, |a| a.nelems);
        // qualifiers of an array are those of its elements: dropped
        self.drop_mods(stack);
        let Some(next) = stack.last().copied() else {
            self.name(fname, last_was_ptr);
            let _ = write!(self.out, "[{n}]");
            return Ok(());
        };
        let multidim = matches!(next, Item::Id(id)
            if self.btf.get(id).is_some_and(|t| t.kind() == Kind::Array));
        if !fname.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        if !multidim {
            self.out.push('(');
        }
        self.chain(stack, fname, lvl, None)?;
        if !multidim {
            self.out.push(')');
        }
        let _ = write!(self.out, "[{n}]");
        Ok(())
    }

    fn func_proto(
        &mut self,
        stack: &mut Vec<Item>,
        t: &TypeRef,
        fname: &str,
        last_was_ptr: bool,
        lvl: usize,
        slots: Option<&Places<'_>>,
    ) -> Result<(), EmitError> {
        self.drop_mods(stack);
        if stack.is_empty() {
            self.name(fname, last_was_ptr);
        } else {
            self.out.push_str(" (");
            self.chain(stack, fname, lvl, None)?;
            self.out.push(')');
        }
        self.out.push('(');
        let params: Vec<(u32, u32)> = t.params().collect();
        if params.is_empty() || (params.len() == 1 && params[0].1 == 0) {
            self.out.push_str("void)");
            return Ok(());
        }
        for (i, &(name_off, ty)) in params.iter().enumerate() {
            self.check_len(t.id())?;
            if i > 0 {
                self.out.push_str(", ");
            }
            // a last parameter of type void is `...`
            if i == params.len() - 1 && ty == 0 {
                self.out.push_str("...");
                break;
            }
            let what = "parameter name";
            let name = c_name(self.btf, t.id(), what, name_off, true, NameRule::Identifier)?;
            let arena = slots.is_some_and(|s| s.params.contains(&i));
            self.decl_arena(ty, name, lvl, None, arena)?;
        }
        self.out.push(')');
        Ok(())
    }

    /// `struct NAME { … }` (without the `;`), libbpf's layout: explicit
    /// padding where the natural layout would not place a member, and
    /// `__attribute__((packed))` when a member is misaligned.
    pub fn struct_def(&mut self, t: &TypeRef, lvl: usize) -> Result<(), EmitError> {
        let w = self;
        if lvl > MAX_DEPTH {
            return Err(EmitError::TooDeep(t.id()));
        }
        let btf = w.btf;
        let is_struct = t.kind() == Kind::Struct;
        let packed = is_struct && layout::is_packed(btf, t, &mut w.aligns)?;
        let align = layout::align_known(btf, t.id(), &mut w.aligns)?;
        let name = w.names.type_name(btf, t)?;
        let sep = if name.is_empty() { "" } else { " " };
        let _ = write!(w.out, "{}{sep}{name} {{", su(t.kind()));
        let (mut off, mut prev_bitfield) = (0u64, false);
        let size = u64::from(t.size().unwrap_or(0));
        // bits no member covers so far: checked before each gap is written
        let mut padding = 0u64;
        let mut gap = |from: u64, to: u64| {
            padding += to.saturating_sub(from);
            let bound = super::MAX_STRUCT_PADDING;
            if padding > bound * 8 {
                return Err(EmitError::TooMuchPadding {
                    id: t.id(),
                    size,
                    padding: padding.div_ceil(8),
                    bound,
                });
            }
            Ok(())
        };
        for m in t.members() {
            w.check_len(t.id())?;
            let what = "member name";
            let fname = c_name(btf, t.id(), what, m.name_off, true, NameRule::Identifier)?;
            let m_align = if packed {
                1
            } else {
                layout::align_known(btf, m.type_id, &mut w.aligns)?
            };
            let m_off = u64::from(m.bit_offset);
            let in_bitfield = prev_bitfield && m.bitfield_size != 0;
            gap(off, m_off)?;
            w.padding(
                layout::bit_padding(off, m_off, m_align, in_bitfield),
                lvl + 1,
            );
            let _ = write!(w.out, "\n{}", prefix(lvl + 1));
            w.decl(m.type_id, fname, lvl + 1)?;
            if m.bitfield_size != 0 {
                let _ = write!(w.out, ": {}", m.bitfield_size);
                off = m_off + u64::from(m.bitfield_size);
                prev_bitfield = true;
            } else {
                off = m_off + layout::size_of(btf, m.type_id)? * 8;
                prev_bitfield = false;
            }
            w.out.push(';');
        }
        if is_struct {
            gap(off, size * 8)?;
            w.padding(layout::bit_padding(off, size * 8, align, false), lvl + 1);
        }
        if t.vlen() > 0 || size > 0 {
            let _ = write!(w.out, "\n{}}}", prefix(lvl));
        } else {
            w.out.push('}');
        }
        if packed {
            w.out.push_str(" __attribute__((packed))");
        }
        Ok(())
    }

    /// Anonymous bitfields, one a line.
    fn padding(&mut self, pads: Vec<(&str, u64)>, lvl: usize) {
        for (ty, width) in pads {
            let _ = write!(self.out, "\n{}{ty}: {width};", prefix(lvl));
        }
    }

    /// `enum NAME { A = 1, … }` (without the `;`).
    pub fn enum_def(&mut self, t: &TypeRef, lvl: usize) -> Result<(), EmitError> {
        let btf = self.btf;
        let name = self.names.type_name(btf, t)?;
        let sep = if name.is_empty() { "" } else { " " };
        let _ = write!(self.out, "enum{sep}{name}");
        if t.vlen() == 0 {
            return Ok(());
        }
        self.out.push_str(" {");
        let wide = t.kind() == Kind::Enum64;
        let mut high_bits = false;
        for (i, (name_off, v)) in t.enumerators().enumerate() {
            self.check_len(t.id())?;
            let n = self.names.enumerator_name(btf, t.id(), i, name_off)?;
            let suffix = match (wide, t.kflag()) {
                (false, _) => "",
                (true, true) => "LL",
                (true, false) => "ULL",
            };
            // the low 64 bits, as a 64-bit enumerator holds them
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "an ENUM64's value is 64 bits, signed or not: its bits are wanted"
            )]
            let bits = v as u64;
            high_bits |= wide && bits >> 32 != 0;
            let _ = write!(self.out, "\n{}{n} = {v}{suffix},", pfx(lvl + 1));
        }
        let _ = write!(self.out, "\n{}}}", pfx(lvl));
        match t.size() {
            Some(1) => self.out.push_str(" __attribute__((mode(byte)))"),
            Some(8) if !high_bits => self.out.push_str(" __attribute__((mode(word)))"),
            _ => {}
        }
        Ok(())
    }
}

/// `struct` or `union`.
pub fn su(k: Kind) -> &'static str {
    if k == Kind::Union {
        "union"
    } else {
        "struct"
    }
}

pub(super) fn prefix(lvl: usize) -> String {
    pfx(lvl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::MAX_HEADER_LEN;
    use crate::Endian;

    #[test]
    fn the_header_s_length_at_the_bound_and_one_past() {
        let btf = Btf::empty(Endian::Little);
        let spelling = Spelling {
            attr: "address_space(1)",
            macro_name: "__arena",
        };
        let mut w = Writer::new(&btf, Namer::plain(), spelling);
        w.out = "x".repeat(MAX_HEADER_LEN);
        assert_eq!(w.check_len(7), Ok(()));
        w.out.push('x');
        assert_eq!(
            w.check_len(7),
            Err(EmitError::TooLong {
                id: 7,
                bound: MAX_HEADER_LEN
            })
        );
    }
}
