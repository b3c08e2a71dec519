//! BTF, the BPF Type Format: a reader, validator and append-only writer.
//! This module knows nothing of kfuncs (see `Documentation/bpf/btf.rst`).
//!
//! The model keeps the input's bytes and indexes where each type record
//! starts; fields are decoded on demand. Edits are appends (new types, new
//! strings) plus rewrites of the `type` field of existing records, so every
//! record not touched is written back byte for byte.

pub mod elf;
pub mod kernel;
mod kind;
mod read;
mod write;

pub use kind::Kind;
pub use read::BtfError;

use std::collections::HashMap;

pub const MAGIC: u16 = 0xeb9f;
pub const HEADER_LEN: usize = 24;
/// The largest type ID BTF can express (the kernel's BTF_MAX_TYPE).
pub const MAX_TYPE_ID: u32 = 0x000f_ffff;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// A BTF blob: a base (vmlinux) or a split BTF on top of one (a module).
#[derive(Debug, Clone)]
pub struct Btf {
    pub endian: Endian,
    pub version: u8,
    pub flags: u8,
    /// Header bytes past the 24 this module knows, kept as they were.
    header_extra: Vec<u8>,
    /// The type section: original records, then appended ones.
    types: Vec<u8>,
    /// Byte offset of each own type record in `types`, by local index.
    offsets: Vec<u32>,
    /// Own types present when read.
    original_count: u32,
    /// The string section: original bytes, then appended strings.
    strings: Vec<u8>,
    original_strings_len: usize,
    /// Appended strings by content, for reuse.
    added_strings: HashMap<Vec<u8>, u32>,
    base: Option<Box<Btf>>,
}

/// One type record, decoded.
#[derive(Debug, Clone, Copy)]
pub struct TypeRef<'a> {
    pub id: u32,
    pub kind: Kind,
    pub name_off: u32,
    pub vlen: u16,
    pub kflag: bool,
    /// `size` or `type`, by kind.
    pub size_or_type: u32,
    /// The kind-specific words after the common 12 bytes.
    extra: &'a [u8],
    endian: Endian,
}

impl<'a> TypeRef<'a> {
    /// The i-th u32 of the kind-specific data.
    pub fn word(&self, i: usize) -> u32 {
        self.endian.u32(&self.extra[i * 4..i * 4 + 4])
    }
    pub fn words(&self) -> usize {
        self.extra.len() / 4
    }
    /// FUNC_PROTO parameters as (name_off, type).
    pub fn params(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..usize::from(self.vlen)).map(|i| (self.word(2 * i), self.word(2 * i + 1)))
    }
    /// DECL_TAG's component index (-1: the whole declaration).
    pub fn component_idx(&self) -> i32 {
        self.word(0) as i32
    }
}

/// A type to append.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewType {
    pub kind: Kind,
    pub name_off: u32,
    pub vlen: u16,
    pub kflag: bool,
    pub size_or_type: u32,
    pub extra: Vec<u32>,
}

impl NewType {
    pub fn func(name_off: u32, linkage: u16, proto: u32) -> NewType {
        NewType {
            kind: Kind::Func,
            name_off,
            vlen: linkage,
            kflag: false,
            size_or_type: proto,
            extra: Vec::new(),
        }
    }
    pub fn func_proto(ret: u32, params: &[(u32, u32)]) -> NewType {
        NewType {
            kind: Kind::FuncProto,
            name_off: 0,
            vlen: params.len() as u16,
            kflag: false,
            size_or_type: ret,
            extra: params.iter().flat_map(|&(n, t)| [n, t]).collect(),
        }
    }
    pub fn decl_tag(name_off: u32, target: u32, component_idx: i32, kflag: bool) -> NewType {
        NewType {
            kind: Kind::DeclTag,
            name_off,
            vlen: 0,
            kflag,
            size_or_type: target,
            extra: vec![component_idx as u32],
        }
    }
}

impl Btf {
    /// Reads and validates a raw BTF blob. `base` is the vmlinux BTF a split
    /// BTF (a module's) builds on.
    pub fn parse(data: &[u8], base: Option<Btf>) -> Result<Btf, BtfError> {
        read::parse(data, base)
    }

    pub fn base(&self) -> Option<&Btf> {
        self.base.as_deref()
    }

    /// The first ID of this BTF's own types (1 for a base BTF).
    pub fn first_id(&self) -> u32 {
        self.base.as_ref().map_or(1, |b| b.end_id())
    }

    /// One past the last type ID, base included (so also the ID count with void).
    pub fn end_id(&self) -> u32 {
        self.first_id() + self.offsets.len() as u32
    }

    /// Own types, as read.
    pub fn original_count(&self) -> u32 {
        self.original_count
    }

    pub fn own_count(&self) -> u32 {
        self.offsets.len() as u32
    }

    fn strings_base(&self) -> u32 {
        self.base.as_ref().map_or(0, |b| b.strings_end())
    }

    fn strings_end(&self) -> u32 {
        self.strings_base() + self.strings.len() as u32
    }

    /// The string at `off` (base strings below the split's own), without its NUL.
    pub fn str_at(&self, off: u32) -> Option<&[u8]> {
        let sb = self.strings_base();
        if off < sb {
            return self.base.as_ref()?.str_at(off);
        }
        let s = self.strings.get((off - sb) as usize..)?;
        let end = memchr::memchr(0, s)?;
        Some(&s[..end])
    }

    pub fn name(&self, t: &TypeRef) -> &str {
        self.str_at(t.name_off)
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("")
    }

    /// Type `id` (base or own); None for void (0) and for IDs out of range.
    pub fn get(&self, id: u32) -> Option<TypeRef<'_>> {
        let first = self.first_id();
        if id < first {
            return self.base.as_ref()?.get(id);
        }
        let idx = (id - first) as usize;
        let off = *self.offsets.get(idx)? as usize;
        let end = self
            .offsets
            .get(idx + 1)
            .map_or(self.types.len(), |&o| o as usize);
        let rec = &self.types[off..end];
        let e = self.endian;
        let info = e.u32(&rec[4..8]);
        Some(TypeRef {
            id,
            kind: Kind::from_info(info)?,
            name_off: e.u32(&rec[0..4]),
            vlen: (info & 0xffff) as u16,
            kflag: info >> 31 == 1,
            size_or_type: e.u32(&rec[8..12]),
            extra: &rec[12..],
            endian: e,
        })
    }

    /// Own types, in ID order.
    pub fn own_types(&self) -> impl Iterator<Item = TypeRef<'_>> + '_ {
        (self.first_id()..self.end_id()).filter_map(|id| self.get(id))
    }

    /// Rewrites the `type` field of own FUNC `id`: the one in-place edit allowed.
    pub fn repoint_func(&mut self, id: u32, proto: u32) -> Result<(), BtfError> {
        let t = self
            .get(id)
            .ok_or(BtfError::TypeIdOutOfRange { id, at: 0 })?;
        if t.kind != Kind::Func || id < self.first_id() {
            return Err(BtfError::NotEditable { id });
        }
        let off = self.offsets[(id - self.first_id()) as usize] as usize;
        let bytes = self.endian.put_u32(proto);
        self.types[off + 8..off + 12].copy_from_slice(&bytes);
        Ok(())
    }

    /// Appends a type; returns its ID.
    pub fn add_type(&mut self, t: &NewType) -> Result<u32, BtfError> {
        let id = self.end_id();
        if id > MAX_TYPE_ID {
            return Err(BtfError::TooManyTypes);
        }
        let e = self.endian;
        let info = (u32::from(t.kflag) << 31) | ((t.kind as u32) << 24) | u32::from(t.vlen);
        self.offsets.push(self.types.len() as u32);
        for w in [t.name_off, info, t.size_or_type]
            .iter()
            .chain(t.extra.iter())
        {
            self.types.extend_from_slice(&e.put_u32(*w));
        }
        Ok(id)
    }

    /// The offset of `s`: an appended copy is reused; otherwise it is appended.
    /// Use `find_strings` first to reuse strings that were already there.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&off) = self.added_strings.get(s.as_bytes()) {
            return off;
        }
        let off = self.strings_end();
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        self.added_strings.insert(s.as_bytes().to_vec(), off);
        off
    }

    /// Offsets of those of `wanted` already in the string sections (own, then
    /// base), in one pass over each.
    pub fn find_strings<'w>(&self, wanted: &[&'w str]) -> HashMap<&'w str, u32> {
        let mut found = HashMap::new();
        if wanted.is_empty() {
            return found;
        }
        let by_bytes: HashMap<&[u8], &'w str> = wanted.iter().map(|w| (w.as_bytes(), *w)).collect();
        let mut scan = |section: &[u8], base: u32| {
            let mut start = 0usize;
            for (i, &b) in section.iter().enumerate() {
                if b == 0 {
                    if let Some(w) = by_bytes.get(&section[start..i]) {
                        found.entry(*w).or_insert(base + start as u32);
                    }
                    start = i + 1;
                }
            }
        };
        scan(
            &self.strings[..self.original_strings_len],
            self.strings_base(),
        );
        if let Some(b) = &self.base {
            for (w, off) in b.find_strings(wanted) {
                found.entry(w).or_insert(off);
            }
        }
        found
    }

    /// Appends a split BTF's types and strings to this, its base: the result
    /// is one standalone BTF in which every ID and string offset is unchanged.
    pub fn append_split(&mut self, split: &Btf) {
        for &off in &split.offsets {
            self.offsets.push(self.types.len() as u32 + off);
        }
        self.types.extend_from_slice(&split.types);
        self.strings.extend_from_slice(&split.strings);
    }

    /// The raw blob: header, types, strings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            HEADER_LEN + self.header_extra.len() + self.types.len() + self.strings.len(),
        );
        write::write(self, &mut out);
        out
    }

    pub fn types_len(&self) -> usize {
        self.types.len()
    }
    pub fn strings_len(&self) -> usize {
        self.strings.len()
    }
}
