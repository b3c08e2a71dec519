//! C from a kernel's BTF: the prototype of a kfunc as BPF programs call it,
//! and a self-contained header declaring kfuncs with only the types they
//! need (`header --btf`). Our own emitter rather than libbpf's BTF dumper:
//! the dumper writes a whole BTF (or one type's closure with forward
//! declarations, which libbpf's own extern check refuses: see `plan`), and
//! the text is libbpf's so that prototypes equal bpftool's.

mod decl;
mod header;
mod layout;
mod plan;

pub use decl::{is_arena_tag, ArenaPlaces, ARENA, ARENA_ATTR};
pub use header::{header, HeaderKfunc, HeaderText};
pub use layout::{align_of, size_of};
pub use plan::is_bpf_side_object;

use crate::btf::{Btf, Kind, TypeRef};
use std::collections::HashMap;

/// How deep a type chain or a nesting of anonymous types may go (in
/// declarators, definitions and layouts): far more than any kernel type; a
/// bound so that no input recurses without end.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmitError {
    #[error("type [{0}] does not exist")]
    NoType(u32),
    #[error("type [{0}] is a {1}, which a C declaration cannot name")]
    NotAType(u32, &'static str),
    #[error("[{0}] is not a FUNC")]
    NotAFunc(u32),
    #[error("type [{0}] nests deeper than a C declaration may")]
    TooDeep(u32),
    #[error("type [{id}]: a struct of {size} bytes whose members leave {padding} bytes of padding, more than a struct may have in a header ({bound} bytes, limits::MAX_STRUCT_PADDING)")]
    TooMuchPadding {
        id: u32,
        size: u64,
        padding: u64,
        bound: u64,
    },
    #[error("the header grows past {bound} bytes (limits::MAX_HEADER_LEN) at type [{id}]")]
    TooLong { id: u32, bound: usize },
    /// A name from the BTF that C cannot take as it is. `name` is shown
    /// escaped (`term::escape_bytes`): it may hold line breaks.
    #[error("type [{id}]: its {what} \"{name}\" is not {want}; the header takes only C identifiers from the BTF")]
    BadName {
        id: u32,
        what: &'static str,
        name: String,
        want: &'static str,
    },
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

/// A refused name as an error shows it: escaped for the terminal, and its
/// first `MAX_NAME_SHOWN` bytes only (an INT's name may be megabytes).
fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(crate::limits::BTF_MAX_NAME_SHOWN)];
    let mut s = crate::manifest::term::escape_bytes(cut).into_owned();
    if cut.len() < b.len() {
        s.push('…');
    }
    s
}

/// Text from outside (a path, a release) made safe for a C block comment:
/// control characters escaped as the terminal shows them (so no line
/// break), and `*/` and `/*` broken by a backslash (`*\/`, `/\*`), so the
/// comment cannot be closed early nor warn of a nested one. Only
/// backslashes are inserted, so no new pair can form.
pub fn comment_text(s: &str) -> String {
    crate::manifest::term::escape(s)
        .replace("*/", "*\\/")
        .replace("/*", "/\\*")
}

/// The C prototype of FUNC `func` as BPF programs call it, under its own
/// name: `struct task_struct *bpf_task_from_pid(s32 pid)`, with `__arena`
/// where the BTF tags address_space(1) and where `arena` asks.
pub fn prototype(btf: &Btf, func: u32, arena: &ArenaPlaces) -> Result<String, EmitError> {
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
    let mut w = decl::Writer::new(btf, Namer::plain());
    w.proto(t.target().unwrap_or(0), name, arena)?;
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
    pub fn plain() -> Namer {
        Namer::default()
    }

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

    #[test]
    fn comment_text_cannot_end_or_open_a_comment_nor_break_a_line() {
        assert_eq!(
            comment_text("/sys/kernel/btf/vmlinux"),
            "/sys/kernel/btf/vmlinux"
        );
        assert_eq!(comment_text("a*/b"), "a*\\/b");
        assert_eq!(comment_text("a/*b"), "a/\\*b");
        assert_eq!(comment_text("x\n#define y\r"), "x\\n#define y\\r");
        // overlapping pairs: every one broken, no new one made
        for s in ["*/*", "/*/", "/*/*/", "**//**", "*/\n/*"] {
            let c = comment_text(s);
            assert!(!c.contains("*/") && !c.contains("/*"), "{s:?} -> {c:?}");
            assert!(!c.chars().any(char::is_control), "{s:?} -> {c:?}");
        }
        assert_eq!(comment_text("/*/*/"), "/\\*\\/\\*\\/");
    }

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
}
