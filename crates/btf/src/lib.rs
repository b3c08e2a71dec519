//! BTF, the BPF Type Format: a reader, validator and append-only writer.
//! This module knows nothing of kfuncs (see `Documentation/bpf/btf.rst`).
//!
//! The model keeps the input's bytes and indexes where each type record
//! starts; fields are decoded on demand. Edits are appends (new types, new
//! strings) plus rewrites of the `type` field of existing records, so every
//! record not touched is written back byte for byte.

// Offsets, lengths and counts of untrusted input cross between u32, usize
// and the record's narrower fields: each narrowing cast is checked first or
// allowed where it is shown to fit.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod blob;
pub mod c;
pub mod elf;
mod error;
pub mod kernel;
mod kind;
pub mod names;
mod read;
mod record;
mod strings;
mod write;

pub use blob::Blob;
pub use error::{EditError, ReadError};
pub use kind::Kind;
pub use names::{MAX_NAME_LEN, MAX_NAME_SHOWN};
pub use record::{Array, Linkage, Member, NewType, TypeRef};
pub use strings::{StringOffsets, StringSections};

use std::collections::HashMap;

/// The first two bytes of BTF, in the blob's byte order.
pub const MAGIC: u16 = 0xeb9f;
/// The length of the header this crate reads and writes.
pub const HEADER_LEN: usize = 24;
/// The largest type ID BTF can express (the kernel's BTF_MAX_TYPE).
pub const MAX_TYPE_ID: u32 = 0x000f_ffff;

/// A blob's byte order, as its magic says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (x86, arm64, most).
    Little,
    /// Big-endian (s390x, …).
    Big,
}

impl Endian {
    /// The word the first four bytes of `b` hold.
    pub fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }
    /// The bytes of `v`.
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// A BTF blob: a base (vmlinux) or a split BTF on top of one (a module).
///
/// The blob as read is kept whole (`data`); its type and string sections are
/// ranges of it. Appended types and strings go to their own buffers, and a
/// blob is written from those parts, so a large BTF is never copied.
#[derive(Debug, Clone)]
pub struct Btf {
    endian: Endian,
    version: u8,
    flags: u8,
    /// Header bytes past the 24 this module knows, kept as they were.
    header_extra: Vec<u8>,
    data: Blob,
    types_at: usize,
    types_len: usize,
    strings_at: usize,
    strings_len: usize,
    new_types: Vec<u8>,
    new_strings: Vec<u8>,
    /// Where each own type record starts, by local index: below `types_len`
    /// in the original section, from `types_len` on in `new_types`.
    offsets: Vec<u32>,
    /// Each own type's kind, by local index: filtering by kind reads no record.
    kinds: Vec<Kind>,
    /// Appended strings by content, for reuse.
    added_strings: HashMap<Vec<u8>, u32>,
    base: Option<Box<Btf>>,
}

impl Btf {
    /// A new base BTF with no types, to build from scratch.
    pub fn empty(endian: Endian) -> Btf {
        Btf {
            endian,
            version: 1,
            flags: 0,
            header_extra: Vec::new(),
            data: Blob::Owned(vec![0]),
            types_at: 0,
            types_len: 0,
            strings_at: 0,
            strings_len: 1,
            new_types: Vec::new(),
            new_strings: Vec::new(),
            offsets: Vec::new(),
            kinds: Vec::new(),
            added_strings: HashMap::new(),
            base: None,
        }
    }

    /// A new split BTF with no types on top of `base`, to build from scratch:
    /// its IDs and string offsets continue the base's.
    pub fn empty_split(base: Btf) -> Btf {
        let endian = base.endian;
        Btf {
            data: Blob::Owned(Vec::new()),
            strings_len: 0,
            base: Some(Box::new(base)),
            ..Btf::empty(endian)
        }
    }

    /// Reads and validates a raw BTF blob. `base` is the vmlinux BTF a split
    /// BTF (a module's) builds on.
    pub fn parse(data: &[u8], base: Option<Btf>) -> Result<Btf, ReadError> {
        read::parse(Blob::Owned(data.to_vec()), base)
    }

    /// As `parse`, on a blob (a mapped file, say).
    pub fn parse_blob(data: Blob, base: Option<Btf>) -> Result<Btf, ReadError> {
        read::parse(data, base)
    }

    /// As `parse_blob`, calling `beside` on another thread with the string
    /// sections while the types are validated (to search them, say:
    /// `|s| s.find(&wanted)`), and returning what it returns.
    pub fn parse_blob_beside<R: Send>(
        data: Blob,
        base: Option<Btf>,
        beside: impl FnOnce(&StringSections) -> R + Send,
    ) -> Result<(Btf, R), ReadError> {
        read::parse_beside(data, base, beside)
    }

    /// Its byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The header's version byte (1).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The header's flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The base BTF a split BTF was read on; None for a base BTF.
    pub fn base(&self) -> Option<&Btf> {
        self.base.as_deref()
    }

    /// The base this split BTF was read on, given back (to read the next
    /// module's BTF on it without copying it); None for a base BTF.
    pub fn into_base(self) -> Option<Btf> {
        self.base.map(|b| *b)
    }

    /// The first ID of this BTF's own types (1 for a base BTF).
    pub fn first_id(&self) -> u32 {
        self.base.as_ref().map_or(1, |b| b.end_id())
    }

    /// One past the last type ID, base included (so also the ID count with void).
    #[allow(
        clippy::cast_possible_truncation,
        reason = "at most MAX_TYPE_ID + 1 types: the reader and add_type refuse more"
    )]
    pub fn end_id(&self) -> u32 {
        self.first_id() + self.offsets.len() as u32
    }

    fn strings_base(&self) -> u32 {
        self.base.as_ref().map_or(0, |b| b.strings_end())
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "a string section's length is a u32 of the header; appends are bounded by the writer's 4 GiB check"
    )]
    fn strings_end(&self) -> u32 {
        self.strings_base() + (self.strings_len + self.new_strings.len()) as u32
    }

    fn original_strings(&self) -> &[u8] {
        &self.data[self.strings_at..self.strings_at + self.strings_len]
    }

    fn original_types(&self) -> &[u8] {
        &self.data[self.types_at..self.types_at + self.types_len]
    }

    /// The string at `off` (base strings below the split's own), without its NUL.
    pub fn str_at(&self, off: u32) -> Option<&[u8]> {
        let sb = self.strings_base();
        if off < sb {
            return self.base.as_ref()?.str_at(off);
        }
        let o = (off - sb) as usize;
        let s = if o < self.strings_len {
            &self.original_strings()[o..]
        } else {
            self.new_strings.get(o - self.strings_len..)?
        };
        let end = memchr::memchr(0, s)?;
        Some(&s[..end])
    }

    /// Whether a string starts at `off` (not inside a longer one).
    pub fn starts_string(&self, off: u32) -> bool {
        let sb = self.strings_base();
        if off < sb {
            return self.base.as_ref().is_some_and(|b| b.starts_string(off));
        }
        let o = (off - sb) as usize;
        if o == 0 {
            return true;
        }
        let before = if o <= self.strings_len {
            self.original_strings().get(o - 1)
        } else {
            self.new_strings.get(o - self.strings_len - 1)
        };
        before == Some(&0)
    }

    /// A type's name ("" when anonymous or not UTF-8).
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
        let total = self.types_len + self.new_types.len();
        let end = self.offsets.get(idx + 1).map_or(total, |&o| o as usize);
        let rec = if off < self.types_len {
            &self.original_types()[off..end]
        } else {
            &self.new_types[off - self.types_len..end - self.types_len]
        };
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

    /// Own types of the kinds `want` accepts, in ID order. The others'
    /// records are not read.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "an index into the types: at most MAX_TYPE_ID"
    )]
    pub fn own_types_of<'a>(
        &'a self,
        want: impl Fn(Kind) -> bool + 'a,
    ) -> impl Iterator<Item = TypeRef<'a>> + 'a {
        let first = self.first_id();
        self.kinds
            .iter()
            .enumerate()
            .filter(move |(_, k)| want(**k))
            .filter_map(move |(i, _)| self.get(first + i as u32))
    }

    /// Own types of kind `kind` as (ID, name offset), in ID order: only the
    /// name word of each is read (a vmlinux has 50k+ FUNCs).
    #[allow(
        clippy::cast_possible_truncation,
        reason = "an index into the types: at most MAX_TYPE_ID"
    )]
    pub fn own_names_of(&self, kind: Kind) -> impl Iterator<Item = (u32, u32)> + '_ {
        let first = self.first_id();
        self.kinds
            .iter()
            .zip(&self.offsets)
            .enumerate()
            .filter(move |(_, (k, _))| **k == kind)
            .map(move |(i, (_, &off))| {
                let off = off as usize;
                let word = if off < self.types_len {
                    &self.data[self.types_at + off..]
                } else {
                    &self.new_types[off - self.types_len..]
                };
                (first + i as u32, self.endian.u32(word))
            })
    }

    /// Own types, in ID order.
    pub fn own_types(&self) -> impl Iterator<Item = TypeRef<'_>> + '_ {
        self.own_types_of(|_| true)
    }

    /// Rewrites the `type` field of own FUNC `id`: the one in-place edit
    /// allowed. The new prototype is the caller's to choose.
    pub fn repoint_func(&mut self, id: u32, proto: u32) -> Result<(), EditError> {
        if !self.is_own_func(id) {
            return Err(EditError::NotEditable { id });
        }
        let off = self.offsets[(id - self.first_id()) as usize] as usize;
        let bytes = self.endian.put_u32(proto);
        let at = if off < self.types_len {
            &mut self.data[self.types_at + off + 8..self.types_at + off + 12]
        } else {
            let o = off - self.types_len;
            &mut self.new_types[o + 8..o + 12]
        };
        at.copy_from_slice(&bytes);
        Ok(())
    }

    /// Whether `id` is a FUNC of this BTF (not of its base): what
    /// `repoint_func` accepts.
    pub fn is_own_func(&self, id: u32) -> bool {
        id >= self.first_id() && self.get(id).is_some_and(|t| t.kind == Kind::Func)
    }

    /// Appends a type; returns its ID. Refused (nothing appended): a FUNC
    /// whose linkage is not a `Linkage`, more types than BTF can number.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a type section's length is a u32 of the header; appends are bounded by the writer's 4 GiB check"
    )]
    pub fn add_type(&mut self, t: &NewType) -> Result<u32, EditError> {
        let id = self.end_id();
        if id > MAX_TYPE_ID {
            return Err(EditError::TooManyTypes);
        }
        if t.kind == Kind::Func && Linkage::from_raw(u32::from(t.vlen)).is_none() {
            return Err(EditError::BadLinkage(t.vlen));
        }
        let want = t.kind.extra_len(t.vlen) / 4;
        if t.extra.len() != want {
            return Err(EditError::BadRecord {
                kind: t.kind.name(),
                words: t.extra.len(),
                want,
            });
        }
        let e = self.endian;
        let info = (u32::from(t.kflag) << 31) | ((t.kind as u32) << 24) | u32::from(t.vlen);
        self.offsets
            .push((self.types_len + self.new_types.len()) as u32);
        self.kinds.push(t.kind);
        for w in [t.name_off, info, t.size_or_type]
            .iter()
            .chain(t.extra.iter())
        {
            self.new_types.extend_from_slice(&e.put_u32(*w));
        }
        Ok(id)
    }

    /// The offset of `s`: an appended copy is reused; otherwise it is
    /// appended. Use `string_offsets` first to reuse strings that were
    /// already there. A string with a NUL inside is refused.
    pub fn add_string(&mut self, s: &str) -> Result<u32, EditError> {
        if s.is_empty() {
            return Ok(0);
        }
        if let Some(&off) = self.added_strings.get(s.as_bytes()) {
            return Ok(off);
        }
        if s.as_bytes().contains(&0) {
            return Err(EditError::NulInString(s.to_string()));
        }
        let off = self.strings_end();
        self.new_strings.extend_from_slice(s.as_bytes());
        self.new_strings.push(0);
        self.added_strings.insert(s.as_bytes().to_vec(), off);
        Ok(off)
    }

    /// Every offset, own and base, at which one of `wanted` starts (BTF need
    /// not deduplicate its strings, so a name may have several). Strings
    /// appended since reading are not searched.
    pub fn string_offsets(&self, wanted: &[&str]) -> StringOffsets {
        self.string_sections().find(wanted)
    }

    /// The string sections as read, base first, each with its first offset.
    pub fn string_sections(&self) -> StringSections<'_> {
        let mut s = self
            .base
            .as_ref()
            .map_or_else(StringSections::default, |b| b.string_sections());
        s.push(self.original_strings(), self.strings_base());
        s
    }

    /// The type section's parts: as read (edited in place), then appended.
    fn type_parts(&self) -> [&[u8]; 2] {
        [self.original_types(), &self.new_types]
    }

    fn string_parts(&self) -> [&[u8]; 2] {
        [self.original_strings(), &self.new_strings]
    }

    /// Writes the raw blob: header, types, strings.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        write::write(self, &self.type_parts(), &self.string_parts(), w)
    }

    /// A standalone blob of a split BTF joined onto its base: types then
    /// strings concatenated, so every ID and string offset stays as it was.
    /// For a base BTF, the blob itself.
    pub fn write_standalone(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.base {
            None => self.write_to(w),
            Some(b) => {
                let [t1, t2] = b.type_parts();
                let [t3, t4] = self.type_parts();
                let [s1, s2] = b.string_parts();
                let [s3, s4] = self.string_parts();
                write::write(b, &[t1, t2, t3, t4], &[s1, s2, s3, s4], w)
            }
        }
    }

    /// The raw blob.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.types_len() + self.strings_len());
        // writing to a Vec cannot fail
        let _ = self.write_to(&mut out);
        out
    }

    /// The length of its type section, appended types included.
    pub fn types_len(&self) -> usize {
        self.types_len + self.new_types.len()
    }
    /// The length of its string section, appended strings included.
    pub fn strings_len(&self) -> usize {
        self.strings_len + self.new_strings.len()
    }
}
