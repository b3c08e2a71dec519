//! C from BTF: declarations, struct, union and enum definitions with the
//! layout their BTF records, the types a set of functions needs in
//! dependency order, and the names C may take. What libbpf keeps in
//! `btf_dump.c` beside its BTF model, and the text is libbpf's so that
//! prototypes equal bpftool's; our own rather than libbpf's dumper: the
//! dumper writes a whole BTF (or one type's closure with forward
//! declarations, which libbpf's own extern check refuses: see `plan`).
//!
//! Like the rest of this crate it knows nothing of kfuncs: the spelling of
//! an address space ([`Spelling`]) and which types a program needs whole
//! ([`PlanRules`]) come from the caller's conventions.

mod decl;
mod layout;
mod plan;

pub use decl::{su, Places, Spelling, Writer};
pub use layout::{align_of, size_of, Aligns};
pub use plan::{plan, Plan, PlanRules};

use crate::{Btf, Kind, TypeRef};
use std::collections::HashMap;
use std::fmt::Write as _;

/// How deep a type chain or a nesting of anonymous types may go (in
/// declarators, definitions and layouts): far more than any kernel type; a
/// bound so that no input recurses without end.
const MAX_DEPTH: usize = 64;

/// The padding (bytes no member covers: `long: 64;` lines) one struct of
/// the header from BTF may have. The most a real kernel's struct has is
/// `bpf_ringbuf`'s 12,168 bytes (6.12, 6.18: pages of 4 KiB between its
/// page-aligned members); with 64 KiB pages that is about 3 × 64 KiB. 1 MiB
/// is five times that and writes at most 1.4 MB of padding lines, where a
/// 200-byte BTF could ask for a struct of 4 GiB (a header of 6 GB).
/// kfunc-scan re-exports it as `limits::MAX_STRUCT_PADDING`, the name its
/// message gives.
pub const MAX_STRUCT_PADDING: u64 = 1 << 20;

/// The length of a header from BTF, in bytes. The header of every kfunc
/// of 6.18 is 24 KB (types behind pointers have empty bodies), that of all
/// 1,437 FUNCs named `bpf_*` of 6.12 173 KB, and bpftool's whole vmlinux.h
/// 2.8 MB; 4 MiB is more than any of them. Anonymous types and function
/// pointers are written inline at each use, so a BTF of 12 KB could
/// otherwise nest them into a header of billions of lines (a union of 256
/// anonymous members of 256 members, four deep): the bound is checked as
/// the header is written, not after. kfunc-scan re-exports it as
/// `limits::MAX_HEADER_LEN`, the name its message gives.
pub const MAX_HEADER_LEN: usize = 4 << 20;

/// Why a BTF cannot be written as C.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmitError {
    /// A type ID the BTF does not have.
    #[error("type [{0}] does not exist")]
    NoType(u32),
    /// A type of a kind C cannot name (a FUNC, a VAR, …), and its kind.
    #[error("type [{0}] is a {1}, which a C declaration cannot name")]
    NotAType(u32, &'static str),
    /// A prototype asked of a type that is not a FUNC.
    #[error("[{0}] is not a FUNC")]
    NotAFunc(u32),
    /// A chain or nesting past `MAX_DEPTH`.
    #[error("type [{0}] nests deeper than a C declaration may")]
    TooDeep(u32),
    /// A struct with more padding than [`MAX_STRUCT_PADDING`].
    #[error("type [{id}]: a struct of {size} bytes whose members leave {padding} bytes of padding, more than a struct may have in a header ({bound} bytes, limits::MAX_STRUCT_PADDING)")]
    TooMuchPadding {
        /// The struct.
        id: u32,
        /// Its size in bytes.
        size: u64,
        /// Its padding in bytes, counted up to the member past the bound.
        padding: u64,
        /// [`MAX_STRUCT_PADDING`].
        bound: u64,
    },
    /// The text grew past [`MAX_HEADER_LEN`].
    #[error("the header grows past {bound} bytes (limits::MAX_HEADER_LEN) at type [{id}]")]
    TooLong {
        /// The type being written.
        id: u32,
        /// [`MAX_HEADER_LEN`].
        bound: usize,
    },
    /// A name from the BTF that C cannot take as it is. `name` is shown as
    /// its bytes are, each that is not UTF-8 as `\xNN`, and cut after
    /// `MAX_NAME_SHOWN` bytes; its control characters (a line break) are
    /// left for the printer to escape with its terminal's rule, as every
    /// message of a BTF's names is (kfunc-scan's `term::escape`).
    #[error("type [{id}]: its {what} \"{name}\" is not {want}; the header takes only C identifiers from the BTF")]
    BadName {
        /// The type whose name it is.
        id: u32,
        /// Which of its names (`member name`, …).
        what: &'static str,
        /// The name, as shown.
        name: String,
        /// What it should be (`a C identifier`, …).
        want: &'static str,
    },
}

impl EmitError {
    /// A name (of type `id`, a `what`) that is not a C identifier.
    pub fn not_identifier(id: u32, what: &'static str, name: &[u8]) -> EmitError {
        EmitError::BadName {
            id,
            what,
            name: shown(name),
            want: NameRule::Identifier.want(),
        }
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the only names from a BTF the header writes.
/// Wider than the kernel's rule in nothing, narrower in `.` (which the
/// kernel allows, for symbols such as `foo.cold`) and Latin-1 letters:
/// those would not be C, and anything more (a `(`, a line break, `*/`)
/// would let a BTF write C of its choosing into a program.
pub fn is_c_identifier(b: &[u8]) -> bool {
    b.first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// An INT's or FLOAT's name, written as the type: identifiers separated by
/// single spaces (`long unsigned int`, `__int128 unsigned`).
fn is_c_words(b: &[u8]) -> bool {
    b.split(|&c| c == b' ').all(is_c_identifier)
}

/// A kind-flag type tag's value, written inside `__attribute__((…))`: an
/// identifier, with arguments of letters, digits, `_`, `,` and spaces in
/// one pair of parentheses (`address_space(1)`).
fn is_c_attribute(b: &[u8]) -> bool {
    let (word, args) = match b.iter().position(|&c| c == b'(') {
        Some(open) => (&b[..open], Some(&b[open + 1..])),
        None => (b, None),
    };
    is_c_identifier(word)
        && args.is_none_or(|a| {
            a.split_last().is_some_and(|(&close, inner)| {
                close == b')'
                    && inner
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || b"_, ".contains(&c))
            })
        })
}

/// What the header may write for a name: which test, and what it is called
/// in a refusal.
#[derive(Clone, Copy)]
pub(crate) enum NameRule {
    Identifier,
    Words,
    Attribute,
}

impl NameRule {
    fn ok(self, b: &[u8]) -> bool {
        match self {
            NameRule::Identifier => is_c_identifier(b),
            NameRule::Words => is_c_words(b),
            NameRule::Attribute => is_c_attribute(b),
        }
    }
    fn want(self) -> &'static str {
        match self {
            NameRule::Identifier => "a C identifier",
            NameRule::Words => "a C type name (identifiers separated by single spaces)",
            NameRule::Attribute => "an attribute (an identifier, arguments in parentheses)",
        }
    }
}

/// The name at `name_off` (of type `id`, for the refusal), as C may take
/// it; `""` for no name (offset 0) where `anon` allows none.
pub(crate) fn c_name<'b>(
    btf: &'b Btf,
    id: u32,
    what: &'static str,
    name_off: u32,
    anon: bool,
    rule: NameRule,
) -> Result<&'b str, EmitError> {
    if name_off == 0 && anon {
        return Ok("");
    }
    let b = btf.str_at(name_off).unwrap_or_default();
    match std::str::from_utf8(b) {
        Ok(s) if rule.ok(b) => Ok(s),
        _ => Err(EmitError::BadName {
            id,
            what,
            name: shown(b),
            want: rule.want(),
        }),
    }
}

/// A refused name as an error shows it: its first `MAX_NAME_SHOWN` bytes
/// only (an INT's name may be megabytes), each byte that is not UTF-8 as
/// `\xNN` (kept, not dropped, as kfunc-scan's `term::escape_bytes` shows
/// them), control characters as they are (see [`EmitError::BadName`]).
fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(crate::MAX_NAME_SHOWN)];
    let mut s = String::with_capacity(cut.len() + 8);
    for chunk in cut.utf8_chunks() {
        s.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    if cut.len() < b.len() {
        s.push('…');
    }
    s
}

/// The C prototype of FUNC `func` under its own name: `struct task_struct
/// *bpf_task_from_pid(s32 pid)`, with `spelling`'s macro where the BTF tags
/// its address space and where `places` asks.
pub fn prototype(
    btf: &Btf,
    func: u32,
    spelling: Spelling<'_>,
    places: Places<'_>,
) -> Result<String, EmitError> {
    let t = btf.get(func).ok_or(EmitError::NoType(func))?;
    if t.kind() != Kind::Func {
        return Err(EmitError::NotAFunc(func));
    }
    let name = c_name(
        btf,
        func,
        "FUNC name",
        t.name_off(),
        false,
        NameRule::Identifier,
    )?;
    let mut w = Writer::new(btf, Namer::plain(), spelling);
    w.proto(t.target().unwrap_or(0), name, places)?;
    Ok(w.out)
}

/// The names types are written with. BTF may hold two different types of
/// one name (a vmlinux does); in one header the second is written
/// `name___2` (as libbpf does, numbered in order of first use), so both
/// can be defined. `plain()` writes every name as the BTF has it.
#[derive(Debug, Default)]
pub struct Namer {
    dedup: bool,
    /// tags (struct, union, enum names), by type ID
    types: HashMap<u32, String>,
    /// ordinary identifiers: typedef names by (ID, None), enumerators by
    /// (enum ID, index)
    idents: HashMap<(u32, Option<usize>), String>,
    type_counts: HashMap<String, usize>,
    ident_counts: HashMap<String, usize>,
}

impl Namer {
    /// Every name as the BTF has it (one declaration, not a header).
    pub fn plain() -> Namer {
        Namer::default()
    }

    /// A second type of a name seen before gets `___2`, and so on.
    pub fn dedup() -> Namer {
        Namer {
            dedup: true,
            ..Namer::default()
        }
    }

    fn resolve<K: std::hash::Hash + Eq>(
        dedup: bool,
        cache: &mut HashMap<K, String>,
        key: K,
        counts: &mut HashMap<String, usize>,
        name: &str,
    ) -> String {
        if !dedup || name.is_empty() {
            return name.to_string();
        }
        if let Some(n) = cache.get(&key) {
            return n.clone();
        }
        let c = counts.entry(name.to_string()).or_insert(0);
        *c += 1;
        let n = if *c > 1 {
            format!("{name}___{c}")
        } else {
            name.to_string()
        };
        cache.insert(key, n.clone());
        n
    }

    /// A struct's, union's, enum's or FWD's tag; `""` for an anonymous
    /// struct, union or enum (written inline).
    pub fn type_name(&mut self, btf: &Btf, t: &TypeRef) -> Result<String, EmitError> {
        let anon = matches!(
            t.kind(),
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64
        );
        let name = c_name(
            btf,
            t.id(),
            "name",
            t.name_off(),
            anon,
            NameRule::Identifier,
        )?;
        Ok(Self::resolve(
            self.dedup,
            &mut self.types,
            t.id(),
            &mut self.type_counts,
            name,
        ))
    }

    /// A typedef's name.
    pub fn ident_name(&mut self, btf: &Btf, t: &TypeRef) -> Result<String, EmitError> {
        let name = c_name(
            btf,
            t.id(),
            "name",
            t.name_off(),
            false,
            NameRule::Identifier,
        )?;
        Ok(Self::resolve(
            self.dedup,
            &mut self.idents,
            (t.id(), None),
            &mut self.ident_counts,
            name,
        ))
    }

    /// Enumerator `index` of enum `enum_id`.
    pub fn enumerator_name(
        &mut self,
        btf: &Btf,
        enum_id: u32,
        index: usize,
        name_off: u32,
    ) -> Result<String, EmitError> {
        let what = "enumerator name";
        let name = c_name(btf, enum_id, what, name_off, false, NameRule::Identifier)?;
        Ok(Self::resolve(
            self.dedup,
            &mut self.idents,
            (enum_id, Some(index)),
            &mut self.ident_counts,
            name,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewType;

    #[test]
    fn what_c_takes_from_a_btf() {
        assert!(is_c_identifier(b"task_struct") && is_c_identifier(b"_x9"));
        for bad in [&b""[..], b"9x", b"a.b", b"a b", b"caf\xc3\xa9", b"a\n"] {
            assert!(!is_c_identifier(bad), "{bad:?}");
        }
        assert!(is_c_words(b"long unsigned int") && is_c_words(b"_Bool"));
        for bad in [&b""[..], b"long  int", b" int", b"int;", b"int\n#x"] {
            assert!(!is_c_words(bad), "{bad:?}");
        }
        for ok in [
            &b"address_space(1)"[..],
            b"noderef",
            b"aligned(8, 2)",
            b"f()",
        ] {
            assert!(is_c_attribute(ok), "{ok:?}");
        }
        for bad in [
            &b"address_space(1))"[..],
            b"a(\"x\")",
            b"a(1",
            b"(1)",
            b"a(1)b",
            b"a((1))",
            b"a(1)\n#define x",
        ] {
            assert!(!is_c_attribute(bad), "{bad:?}");
        }
    }

    fn add(b: &mut Btf, t: NewType) -> u32 {
        b.add_type(&t).expect("type")
    }

    fn string(b: &mut Btf, s: &str) -> u32 {
        b.add_string(s).expect("string")
    }

    /// `int *f(int address_space(1) *a, int *b)`: the FUNC.
    fn tagged_func(b: &mut Btf) -> u32 {
        let int_name = string(b, "int");
        let int = add(b, NewType::int(int_name, 4, true));
        let attr = string(b, "address_space(1)");
        let tag = add(b, NewType::type_tag(attr, int, true));
        let p_tag = add(b, NewType::ptr(tag));
        let p_int = add(b, NewType::ptr(int));
        let (a, bn) = (string(b, "a"), string(b, "b"));
        let proto = add(b, NewType::func_proto(p_int, &[(a, p_tag), (bn, p_int)]));
        let f = string(b, "f");
        add(b, NewType::func(f, 1, proto))
    }

    #[test]
    fn the_address_space_is_spelt_as_the_caller_says() {
        let mut b = Btf::empty(crate::Endian::Little);
        let f = tagged_func(&mut b);
        let ours = Spelling {
            attr: "address_space(1)",
            macro_name: "__as1",
        };
        // the tag, and the places asked for where the BTF has none
        let places = Places {
            ret: true,
            params: &[1],
        };
        assert_eq!(
            prototype(&b, f, ours, places).as_deref(),
            Ok("int __as1 *f(int __as1 *a, int __as1 *b)")
        );
        // a tag the spelling does not name is an attribute; no places, no macro
        let other = Spelling {
            attr: "address_space(2)",
            macro_name: "__as2",
        };
        assert_eq!(
            prototype(&b, f, other, Places::default()).as_deref(),
            Ok("int *f(int __attribute__((address_space(1))) *a, int *b)")
        );
        assert_eq!(
            prototype(&b, 1, ours, Places::default()),
            Err(EmitError::NotAFunc(1))
        );
    }

    #[test]
    fn the_caller_s_rules_say_which_structs_are_defined_in_full() {
        // void g(struct s *p, int p__sz, struct t *q)
        let mut b = Btf::empty(crate::Endian::Little);
        let int_name = string(&mut b, "int");
        let int = add(&mut b, NewType::int(int_name, 4, true));
        let x = string(&mut b, "x");
        let (sn, tn) = (string(&mut b, "s"), string(&mut b, "t"));
        let s = add(&mut b, NewType::struct_(sn, 4, &[(x, int, 0)]));
        let t = add(&mut b, NewType::struct_(tn, 4, &[(x, int, 0)]));
        let (ps, pt) = (add(&mut b, NewType::ptr(s)), add(&mut b, NewType::ptr(t)));
        let (p, psz, q) = (
            string(&mut b, "p"),
            string(&mut b, "p__sz"),
            string(&mut b, "q"),
        );
        let proto = add(
            &mut b,
            NewType::func_proto(0, &[(p, ps), (psz, int), (q, pt)]),
        );
        let gn = string(&mut b, "g");
        let g = add(&mut b, NewType::func(gn, 1, proto));

        let none = PlanRules {
            always_define: |_| false,
            size_param: |_| false,
        };
        let p0 = plan(&b, &[g], &none).expect("plan");
        assert_eq!(
            (p0.declared, p0.stubs, p0.defs),
            (vec![s, t], vec![s, t], vec![])
        );

        let rules = PlanRules {
            always_define: |n| n == "t",
            size_param: |n| n.ends_with(b"__sz"),
        };
        let p1 = plan(&b, &[g], &rules).expect("plan");
        assert_eq!(
            (p1.declared, p1.stubs, p1.defs),
            (vec![s, t], vec![], vec![s, t])
        );
    }

    #[test]
    fn a_refused_name_is_cut_and_keeps_every_byte() {
        let e = EmitError::not_identifier(3, "FUNC name", b"a\nb\xff");
        assert_eq!(
            e.to_string(),
            "type [3]: its FUNC name \"a\nb\\xff\" is not a C identifier; \
             the header takes only C identifiers from the BTF"
        );
        // at the bound whole, one past cut (here inside a UTF-8 character)
        let at = "a".repeat(crate::MAX_NAME_SHOWN);
        assert_eq!(shown(at.as_bytes()), at);
        let past = format!("{}é", "a".repeat(crate::MAX_NAME_SHOWN - 1));
        assert_eq!(
            shown(past.as_bytes()),
            format!("{}\\xc3…", "a".repeat(crate::MAX_NAME_SHOWN - 1))
        );
    }
}
