//! Reading and validating a BTF blob. Malformed input is an error naming
//! what is wrong and where; nothing here panics on any input.

use super::names::{self, Names};
use super::{Blob, Btf, Endian, Kind, Linkage, ReadError, StringSections, HEADER_LEN, MAX_TYPE_ID};
use std::collections::HashMap;

pub fn parse(data: Blob, base: Option<Btf>) -> Result<Btf, ReadError> {
    parse_with(data, base, Side::Inline(|_: &StringSections| ())).map(|(btf, ())| btf)
}

/// As `parse`, calling `beside` on a second thread, while the types are
/// validated, with the string sections (base and own), once their bounds
/// are checked: a search of the strings takes about as long as the types'
/// validation on a vmlinux, and needs nothing from it.
pub fn parse_beside<R: Send>(
    data: Blob,
    base: Option<Btf>,
    beside: impl FnOnce(&StringSections) -> R + Send,
) -> Result<(Btf, R), ReadError> {
    parse_with(data, base, Side::Thread(beside))
}

/// Where `parse_with` runs its side job: on a thread of its own, or after
/// the validation (for a job too small to be worth a thread).
enum Side<F> {
    Thread(F),
    Inline(F),
}

/// What the header says, checked against the blob and the base: the
/// byte order, and where the type and string sections lie in `data`.
struct Header {
    endian: Endian,
    version: u8,
    flags: u8,
    hdr_len: usize,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

/// The string section ends with a NUL; it starts with one unless it is a
/// split BTF's, whose strings continue its base's.
fn check_string_ends(strings: &[u8], base: Option<&Btf>) -> Result<(), ReadError> {
    if strings.last().is_some_and(|&b| b != 0) {
        return Err(ReadError::StringsNotTerminated);
    }
    match (base, strings.first()) {
        (None, None) => Err(ReadError::StringsNoLeadingNul),
        (None, Some(&first)) if first != 0 => Err(ReadError::LooksSplit),
        // a split BTF's strings continue its base's: its first is a name
        (Some(_), Some(0)) => Err(ReadError::NotSplit),
        _ => Ok(()),
    }
}

fn read_header(data: &[u8], base: Option<&Btf>) -> Result<Header, ReadError> {
    if data.len() < HEADER_LEN {
        return Err(ReadError::TooShort { len: data.len() });
    }
    let endian = match [data[0], data[1]] {
        [0x9f, 0xeb] => Endian::Little,
        [0xeb, 0x9f] => Endian::Big,
        _ => return Err(ReadError::BadMagic),
    };
    if let Some(b) = base {
        if b.endian != endian {
            return Err(ReadError::BaseEndian);
        }
    }
    let version = data[2];
    if version != 1 {
        return Err(ReadError::BadVersion(version));
    }
    let flags = data[3];
    let e = endian;
    let hdr_len = e.u32(&data[4..8]);
    if (hdr_len as usize) < HEADER_LEN || hdr_len as usize > data.len() {
        return Err(ReadError::BadHeaderLen {
            hdr_len,
            len: data.len(),
        });
    }
    let [type_off, type_len, str_off, str_len] = [8, 12, 16, 20].map(|o| e.u32(&data[o..o + 4]));
    let body = &data[hdr_len as usize..];
    let section = |what, off: u32, size: u32| -> Result<&[u8], ReadError> {
        let end = off.checked_add(size).map(|x| x as usize);
        match end {
            Some(end) if end <= body.len() => Ok(&body[off as usize..end]),
            _ => Err(ReadError::SectionOutOfBounds {
                what,
                off,
                size,
                avail: body.len(),
            }),
        }
    };
    section("type", type_off, type_len)?;
    let strings = section("string", str_off, str_len)?;
    for (what, value) in [
        ("type section offset", type_off),
        ("type section length", type_len),
    ] {
        if value % 4 != 0 {
            return Err(ReadError::Misaligned { what, value });
        }
    }
    let overlap = type_len > 0
        && str_len > 0
        && type_off < str_off.saturating_add(str_len)
        && str_off < type_off.saturating_add(type_len);
    if overlap {
        return Err(ReadError::Overlap);
    }
    check_string_ends(strings, base)?;

    let start = |off: u32| hdr_len as usize + off as usize;
    Ok(Header {
        endian,
        version,
        flags,
        hdr_len: hdr_len as usize,
        types: start(type_off)..start(type_off) + type_len as usize,
        strings: start(str_off)..start(str_off) + str_len as usize,
    })
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "the string section lies within the header's u32 bounds"
)]
fn parse_with<R: Send>(
    data: Blob,
    base: Option<Btf>,
    side: Side<impl FnOnce(&StringSections) -> R + Send>,
) -> Result<(Btf, R), ReadError> {
    let Header {
        endian,
        version,
        flags,
        hdr_len,
        types,
        strings,
    } = read_header(&data, base.as_ref())?;
    let (type_off, str_off) = (types.start - hdr_len, strings.start - hdr_len);
    let str_len = strings.len() as u32;
    let types = &data[types];
    let strings = &data[strings];

    // Index and check the records in one pass: each is decoded once.
    let first_id = base.as_ref().map_or(1, |b| b.end_id());
    let str_end = base.as_ref().map_or(0, |b| b.strings_end()) + str_len;
    let at = Start {
        first_id,
        str_end,
        base: base.as_ref(),
    };
    let own_strings_at = base.as_ref().map_or(0, |b| b.strings_end());
    let sections = || {
        let mut sections = base
            .as_ref()
            .map_or_else(StringSections::default, Btf::string_sections);
        sections.push(strings, own_strings_at);
        sections
    };
    let mut names = Names::new(strings, own_strings_at, base.as_ref());
    // the loop is compiled once per byte order, so no word read branches on it
    let mut index = || match endian {
        Endian::Little => index_types::<Little>(types, &at, &mut names),
        Endian::Big => index_types::<Big>(types, &at, &mut names),
    };
    let (index, side_result) = match side {
        Side::Inline(f) => (index(), f(&sections())),
        Side::Thread(f) => std::thread::scope(|scope| {
            let job = scope.spawn(|| f(&sections()));
            let index = index();
            match job.join() {
                Ok(r) => (index, r),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }),
    };
    let on_base = base.is_some();
    let own_strings = base.is_some().then_some(own_strings_at);
    let index = index.map_err(|e| e.on_base_strings(own_strings))?;

    let (types_len, strings_len) = (types.len(), strings.len());
    let btf = Btf {
        endian,
        version,
        flags,
        header_extra: data[HEADER_LEN..hdr_len].to_vec(),
        types_at: hdr_len + type_off,
        types_len,
        strings_at: hdr_len + str_off,
        strings_len,
        data,
        new_types: Vec::new(),
        new_strings: Vec::new(),
        offsets: index.offsets,
        kinds: index.kinds,
        added_strings: HashMap::new(),
        base: base.map(Box::new),
    };
    check_targets(&btf, &index.deferred).map_err(|e| e.on_base(on_base))?;
    if on_base {
        check_names_start_strings(&btf).map_err(|e| e.on_base(true))?;
    }
    find_cycle(first_id, &index.open, index.settled)?;
    Ok((btf, side_result))
}

/// A byte order, as a type: `index_types` is compiled for each.
trait Order {
    fn u32(b: &[u8]) -> u32;
}
struct Little;
struct Big;
impl Order for Little {
    #[inline(always)]
    fn u32(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}
impl Order for Big {
    #[inline(always)]
    fn u32(b: &[u8]) -> u32 {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// What the type records are checked against.
struct Start<'a> {
    first_id: u32,
    /// One past the last valid string offset, base included.
    str_end: u32,
    base: Option<&'a Btf>,
}

/// The result of the pass over the type records.
struct Index {
    offsets: Vec<u32>,
    kinds: Vec<Kind>,
    /// For the cycle check: per type, whether its chain is known to end
    /// (see `find_cycle`); and for each type not settled so, by local index
    /// in order, the one type it refers to through a chain that a struct,
    /// union or prototype does not break.
    settled: Vec<bool>,
    open: Vec<(u32, u32)>,
    /// FUNCs whose target comes later, and decl tags: checked after the pass.
    deferred: Vec<u32>,
}

/// The largest of the `at`-th words of the `stride`-byte members in `members`.
#[inline(always)]
fn max_word<O: Order>(members: &[u8], stride: usize, at: usize) -> u32 {
    members
        .chunks_exact(stride)
        .map(|m| O::u32(&m[at..]))
        .fold(0, u32::max)
}

// One function of ~95 lines on purpose: the hot loop of every read (126k
// records on a vmlinux), each record decoded once with its checks inline,
// as it was measured (README, "Speed and memory"); a split must be
// measured again with scripts/bench-patch.sh.
#[allow(
    clippy::cast_possible_truncation,
    reason = "offsets within a type section whose length is a u32 of the header; type counts checked against MAX_TYPE_ID"
)]
fn index_types<O: Order>(types: &[u8], s: &Start, names: &mut Names) -> Result<Index, ReadError> {
    let count_guess = types.len() / 16;
    let mut offsets: Vec<u32> = Vec::with_capacity(count_guess);
    let mut kinds: Vec<Kind> = Vec::with_capacity(count_guess);
    let mut open: Vec<(u32, u32)> = Vec::new();
    let mut settled: Vec<bool> = Vec::with_capacity(count_guess);
    let mut deferred: Vec<u32> = Vec::new();
    // the largest type ID referred to, and by whom: checked once the count is known
    let (mut max_ref, mut max_ref_at) = (0u32, 0u32);
    let first_id = s.first_id;
    let str_end = s.str_end.max(1);
    let mut at = 0usize;
    while at < types.len() {
        let id = first_id + offsets.len() as u32;
        if id > MAX_TYPE_ID {
            return Err(ReadError::TooManyTypes);
        }
        if types.len() - at < 12 {
            return Err(ReadError::TruncatedType { id, at });
        }
        let info = O::u32(&types[at + 4..]);
        let kind = Kind::from_info(info).ok_or(ReadError::UnknownKind {
            id,
            kind: (info >> 24) & 0x1f,
            at,
        })?;
        let vlen = (info & 0xffff) as u16;
        let len = 12 + kind.extra_len(vlen);
        let Some(rec) = types.get(at..at + len) else {
            return Err(ReadError::TruncatedType { id, at });
        };
        let extra = &rec[12..];
        let size_or_type = O::u32(&rec[8..]);
        // The largest string offset and type ID the record names: one
        // comparison each per record, not one per member.
        let mut name_max = O::u32(rec);
        let mut ref_max = 0;
        let mut next = 0;
        if kind.refers() {
            ref_max = size_or_type;
            next = size_or_type;
        }
        match kind {
            Kind::Array => {
                let (elem, index) = (O::u32(extra), O::u32(&extra[4..]));
                ref_max = elem.max(index);
                next = elem;
            }
            Kind::Struct | Kind::Union => {
                name_max = name_max.max(max_word::<O>(extra, 12, 0));
                ref_max = max_word::<O>(extra, 12, 4);
            }
            Kind::Enum => name_max = name_max.max(max_word::<O>(extra, 8, 0)),
            Kind::Enum64 => name_max = name_max.max(max_word::<O>(extra, 12, 0)),
            Kind::FuncProto => {
                name_max = name_max.max(max_word::<O>(extra, 8, 0));
                ref_max = size_or_type.max(max_word::<O>(extra, 8, 4));
            }
            Kind::Datasec => ref_max = max_word::<O>(extra, 12, 0),
            Kind::Func => {
                if Linkage::from_raw(u32::from(vlen)).is_none() {
                    return Err(ReadError::BadLinkage { id, linkage: vlen });
                }
                if size_or_type < id {
                    // an earlier target's kind is known already
                    let target = if size_or_type >= first_id {
                        kinds.get((size_or_type - first_id) as usize).copied()
                    } else {
                        s.base.and_then(|b| b.get(size_or_type)).map(|t| t.kind)
                    };
                    check_func_target(id, size_or_type, target)?;
                } else {
                    deferred.push(id);
                }
            }
            Kind::DeclTag => deferred.push(id),
            _ => {}
        }
        if name_max >= str_end {
            return Err(ReadError::StringOutOfRange {
                id,
                off: name_max,
                end: s.str_end,
            });
        }
        check_names::<O>(names, id, kind, O::u32(rec), extra)?;
        if ref_max > max_ref {
            (max_ref, max_ref_at) = (ref_max, id);
        }
        // a chain that ends, or leads back to a type whose chain ends, ends
        let ends = next < first_id || (next < id && settled[(next - first_id) as usize]);
        offsets.push(at as u32);
        kinds.push(kind);
        if !ends {
            open.push((offsets.len() as u32 - 1, next));
        }
        settled.push(ends);
        at += len;
    }
    let end = first_id + offsets.len() as u32;
    if max_ref >= end {
        return Err(ReadError::TypeIdOutOfRange {
            id: max_ref,
            at: max_ref_at,
        });
    }
    Ok(Index {
        offsets,
        kinds,
        settled,
        open,
        deferred,
    })
}

/// The kernel's name rules for one record (see `names`), after its string
/// offsets are known to be in range.
#[inline(always)]
fn check_names<O: Order>(
    n: &mut Names,
    id: u32,
    kind: Kind,
    name_off: u32,
    extra: &[u8],
) -> Result<(), ReadError> {
    let k = kind.name();
    match kind {
        Kind::Int | Kind::Float => {}
        Kind::Ptr | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Array => {
            if name_off != 0 {
                return Err(n.refused(id, k, "name", name_off, names::NONE));
            }
        }
        Kind::FuncProto => {
            if name_off != 0 {
                return Err(n.refused(id, k, "name", name_off, names::NONE));
            }
            for p in extra.chunks_exact(8) {
                let off = O::u32(p);
                if off != 0 && !n.identifier(off) {
                    let what = "parameter name";
                    return Err(n.refused(id, k, what, off, names::IDENTIFIER));
                }
            }
        }
        Kind::Typedef | Kind::Fwd | Kind::Func | Kind::Var => {
            if name_off == 0 || !n.identifier(name_off) {
                return Err(n.refused(id, k, "name", name_off, names::IDENTIFIER));
            }
        }
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 => {
            if name_off != 0 && !n.identifier(name_off) {
                return Err(n.refused(id, k, "name", name_off, names::IDENTIFIER));
            }
            // members may be anonymous, enumerators may not
            let (stride, what, anonymous) = match kind {
                Kind::Enum => (8, "enumerator name", false),
                Kind::Enum64 => (12, "enumerator name", false),
                _ => (12, "member name", true),
            };
            for m in extra.chunks_exact(stride) {
                let off = O::u32(m);
                if !(off == 0 && anonymous) && (off == 0 || !n.identifier(off)) {
                    return Err(n.refused(id, k, what, off, names::IDENTIFIER));
                }
            }
        }
        Kind::Datasec => {
            if !names::is_kernel_section_name(n.at(name_off)) {
                return Err(n.refused(id, k, "name", name_off, names::SECTION));
            }
        }
        Kind::TypeTag | Kind::DeclTag => {
            if n.is_empty(name_off) {
                return Err(n.refused(id, k, "value", name_off, names::NON_EMPTY));
            }
        }
    }
    Ok(())
}

/// FUNC `at` must name a FUNC_PROTO: `target` is the kind of type `to`
/// (None: no such type).
fn check_func_target(at: u32, to: u32, target: Option<Kind>) -> Result<(), ReadError> {
    if target == Some(Kind::FuncProto) {
        Ok(())
    } else {
        Err(ReadError::WrongTarget {
            at,
            kind: "FUNC",
            want: "FUNC_PROTO",
            id: to,
        })
    }
}

/// FUNCs whose target comes after them (see `check_func_target`), and decl
/// tags: a decl tag must name a type that exists, with a component index
/// within its members or parameters.
#[allow(
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "a DECL_TAG keeps its component index as the bits of an i32 (-1 is 0xffffffff)"
)]
fn check_targets(btf: &Btf, ids: &[u32]) -> Result<(), ReadError> {
    for &id in ids {
        let Some(t) = btf.get(id) else { continue };
        match t.kind {
            Kind::Func => {
                let target = btf.get(t.size_or_type).map(|p| p.kind);
                check_func_target(t.id, t.size_or_type, target)?;
            }
            Kind::DeclTag => {
                let idx = t.word(0) as i32;
                let target = btf.get(t.size_or_type).ok_or(ReadError::TypeIdOutOfRange {
                    id: t.size_or_type,
                    at: t.id,
                })?;
                let components = match target.kind {
                    Kind::Struct | Kind::Union => Some(u32::from(target.vlen)),
                    Kind::Func => btf.get(target.size_or_type).map(|p| u32::from(p.vlen)),
                    _ => None,
                };
                let ok = match (idx, components) {
                    (-1, _) => true,
                    (i, Some(n)) if i >= 0 => (i as u32) < n,
                    _ => false,
                };
                if !ok {
                    return Err(ReadError::BadComponent {
                        at: t.id,
                        idx,
                        target: t.size_or_type,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every own type's name starts a string. BTF allows a name inside a
/// longer string, but no producer writes one; for a split BTF read on a
/// base of another length, its names would land inside strings, so this is
/// how a base that does not match is told apart (a split BTF's records are
/// few: the check is cheap).
fn check_names_start_strings(btf: &Btf) -> Result<(), ReadError> {
    for t in btf.own_types() {
        if !btf.starts_string(t.name_off) {
            return Err(ReadError::NameInsideString {
                id: t.id,
                off: t.name_off,
            });
        }
    }
    Ok(())
}

/// A cycle through references that do not pass a struct, union or function
/// prototype (`const` of a `typedef` of itself, a pointer to itself) has no
/// meaning and sends a consumer's type resolution round for ever. Each type
/// has at most one such edge, so following chains with three colours finds
/// any cycle in linear time. Base types cannot refer back into a split.
///
/// A cycle needs an edge that does not go to a lower ID, so the pass over
/// the records settles, in ID order, each type whose chain ends or leads
/// back to a settled type: nearly every type of a real BTF. Only the rest
/// are followed here.
#[allow(
    clippy::cast_possible_truncation,
    reason = "indices of types: at most MAX_TYPE_ID"
)]
fn find_cycle(first: u32, open: &[(u32, u32)], settled: Vec<bool>) -> Result<(), ReadError> {
    // 0 unvisited, 1 on the current chain, 2 done (its chain ends)
    let mut state: Vec<u8> = settled.into_iter().map(u8::from).map(|s| s * 2).collect();
    let edge = |i: usize| {
        open.binary_search_by_key(&(i as u32), |&(at, _)| at)
            .map_or(0, |k| open[k].1)
    };
    let mut chain = Vec::new();
    for &(start, _) in open {
        let start = start as usize;
        if state[start] != 0 {
            continue;
        }
        chain.clear();
        let mut cur = Some(start);
        while let Some(i) = cur {
            match state[i] {
                1 => {
                    return Err(ReadError::Cycle {
                        id: first + i as u32,
                    })
                }
                2 => break,
                _ => {}
            }
            state[i] = 1;
            chain.push(i);
            let to = edge(i);
            cur = (to >= first).then(|| (to - first) as usize);
        }
        for &i in &chain {
            state[i] = 2;
        }
    }
    Ok(())
}
