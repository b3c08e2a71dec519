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
}

/// The C prototype of FUNC `func` as BPF programs call it, under its own
/// name: `struct task_struct *bpf_task_from_pid(s32 pid)`, with `__arena`
/// where the BTF tags address_space(1) and where `arena` asks.
pub fn prototype(btf: &Btf, func: u32, arena: &ArenaPlaces) -> Result<String, EmitError> {
    let t = btf.get(func).ok_or(EmitError::NoType(func))?;
    if t.kind() != Kind::Func {
        return Err(EmitError::NotAFunc(func));
    }
    let mut w = decl::Writer::new(btf, Namer::plain());
    w.proto(t.target().unwrap_or(0), btf.name(&t), arena)?;
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

    pub fn type_name(&mut self, btf: &Btf, t: &TypeRef) -> String {
        Self::resolve(
            self.dedup,
            &mut self.types,
            t.id(),
            &mut self.type_counts,
            btf.name(t),
        )
    }

    pub fn ident_name(&mut self, btf: &Btf, t: &TypeRef) -> String {
        Self::resolve(
            self.dedup,
            &mut self.idents,
            (t.id(), None),
            &mut self.ident_counts,
            btf.name(t),
        )
    }

    /// Enumerator `index` of enum `enum_id`.
    pub fn enumerator_name(
        &mut self,
        btf: &Btf,
        enum_id: u32,
        index: usize,
        name_off: u32,
    ) -> String {
        let name = btf
            .str_at(name_off)
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("");
        Self::resolve(
            self.dedup,
            &mut self.idents,
            (enum_id, Some(index)),
            &mut self.ident_counts,
            name,
        )
    }
}
