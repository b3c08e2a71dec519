//! Reading and validating a BTF blob. Malformed input is an error naming
//! what is wrong and where; nothing here panics on any input.

use super::{Blob, Btf, Endian, Kind, HEADER_LEN, MAGIC, MAX_TYPE_ID};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("{len} bytes is too short for a BTF header")]
    TooShort { len: usize },
    #[error("bad magic {found:#06x} (BTF starts with 0xeb9f)")]
    BadMagic { found: u16 },
    #[error("unsupported BTF version {0}")]
    BadVersion(u8),
    #[error("header length {hdr_len} is not within 24..={len}")]
    BadHeaderLen { hdr_len: u32, len: usize },
    #[error("{what} section (offset {off}, {size} bytes) lies outside the {avail} bytes after the header")]
    SectionOutOfBounds {
        what: &'static str,
        off: u32,
        size: u32,
        avail: usize,
    },
    #[error("{what} is not 4-byte aligned ({value})")]
    Misaligned { what: &'static str, value: u32 },
    #[error("the type and string sections overlap")]
    Overlap,
    #[error("the string section does not end with a NUL byte")]
    StringsNotTerminated,
    #[error("the string section of a base BTF must start with a NUL byte")]
    StringsNoLeadingNul,
    #[error("type [{id}] at byte {at} of the type section is truncated")]
    TruncatedType { id: u32, at: usize },
    #[error("type [{id}] at byte {at} of the type section has unknown kind {kind}")]
    UnknownKind { id: u32, kind: u32, at: usize },
    #[error("type [{id}] names string offset {off}, past the strings' end {end}")]
    StringOutOfRange { id: u32, off: u32, end: u32 },
    #[error("type [{at}] refers to type [{id}], which does not exist")]
    TypeIdOutOfRange { id: u32, at: u32 },
    #[error("type [{at}] ({kind}) must refer to a {want}, not to type [{id}]")]
    WrongTarget {
        at: u32,
        kind: &'static str,
        want: &'static str,
        id: u32,
    },
    #[error("decl tag [{at}] has component index {idx}, out of range for type [{target}]")]
    BadComponent { at: u32, idx: i32, target: u32 },
    #[error("types [{id}] … form a reference cycle")]
    Cycle { id: u32 },
    #[error("more types than BTF can number (type IDs stop at {MAX_TYPE_ID:#x})")]
    TooManyTypes,
    #[error("type [{id}] is not a FUNC of this BTF: only those can be repointed")]
    NotEditable { id: u32 },
    #[error("the base BTF is big-endian and this one little-endian, or the reverse")]
    BaseEndian,
}

fn u16_at(e: Endian, b: &[u8]) -> u16 {
    match e {
        Endian::Little => u16::from_le_bytes([b[0], b[1]]),
        Endian::Big => u16::from_be_bytes([b[0], b[1]]),
    }
}

pub fn parse(data: Blob, base: Option<Btf>) -> Result<Btf, BtfError> {
    if data.len() < HEADER_LEN {
        return Err(BtfError::TooShort { len: data.len() });
    }
    let endian = match [data[0], data[1]] {
        [0x9f, 0xeb] => Endian::Little,
        [0xeb, 0x9f] => Endian::Big,
        _ => {
            return Err(BtfError::BadMagic {
                found: u16::from_le_bytes([data[0], data[1]]),
            })
        }
    };
    debug_assert_eq!(u16_at(endian, &data), MAGIC);
    if let Some(b) = &base {
        if b.endian != endian {
            return Err(BtfError::BaseEndian);
        }
    }
    let version = data[2];
    if version != 1 {
        return Err(BtfError::BadVersion(version));
    }
    let flags = data[3];
    let e = endian;
    let hdr_len = e.u32(&data[4..8]);
    if (hdr_len as usize) < HEADER_LEN || hdr_len as usize > data.len() {
        return Err(BtfError::BadHeaderLen {
            hdr_len,
            len: data.len(),
        });
    }
    let [type_off, type_len, str_off, str_len] = [8, 12, 16, 20].map(|o| e.u32(&data[o..o + 4]));
    let body = &data[hdr_len as usize..];
    let section = |what, off: u32, size: u32| -> Result<&[u8], BtfError> {
        let end = off.checked_add(size).map(|x| x as usize);
        match end {
            Some(end) if end <= body.len() => Ok(&body[off as usize..end]),
            _ => Err(BtfError::SectionOutOfBounds {
                what,
                off,
                size,
                avail: body.len(),
            }),
        }
    };
    let types = section("type", type_off, type_len)?;
    let strings = section("string", str_off, str_len)?;
    for (what, value) in [
        ("type section offset", type_off),
        ("type section length", type_len),
    ] {
        if value % 4 != 0 {
            return Err(BtfError::Misaligned { what, value });
        }
    }
    let overlap = type_len > 0
        && str_len > 0
        && type_off < str_off.saturating_add(str_len)
        && str_off < type_off.saturating_add(type_len);
    if overlap {
        return Err(BtfError::Overlap);
    }
    if strings.last().is_some_and(|&b| b != 0) {
        return Err(BtfError::StringsNotTerminated);
    }
    if base.is_none() && strings.first() != Some(&0) {
        return Err(BtfError::StringsNoLeadingNul);
    }

    // Index and check the records in one pass: each is decoded once.
    let first_id = base.as_ref().map_or(1, |b| b.end_id());
    let str_end = base.as_ref().map_or(0, |b| b.strings_end()) + str_len;
    let mut offsets: Vec<u32> = Vec::with_capacity(types.len() / 16);
    // for the cycle check: the one type each refers to through a chain that a
    // struct, union or prototype does not break (0: none)
    let mut edge: Vec<u32> = Vec::with_capacity(types.len() / 16);
    // the largest type ID referred to, and by whom: checked once the count is known
    let (mut max_ref, mut max_ref_at) = (0u32, 0u32);
    // FUNCs and decl tags whose target comes later: checked after the pass
    let mut deferred: Vec<u32> = Vec::new();
    let check_str = |off: u32, id: u32| {
        if off >= str_end.max(1) {
            Err(BtfError::StringOutOfRange {
                id,
                off,
                end: str_end,
            })
        } else {
            Ok(())
        }
    };
    let mut at = 0usize;
    while at < types.len() {
        let id = first_id + offsets.len() as u32;
        if id > MAX_TYPE_ID {
            return Err(BtfError::TooManyTypes);
        }
        if types.len() - at < 12 {
            return Err(BtfError::TruncatedType { id, at });
        }
        let rec = &types[at..];
        let info = e.u32(&rec[4..8]);
        let kind = Kind::from_info(info).ok_or(BtfError::UnknownKind {
            id,
            kind: (info >> 24) & 0x1f,
            at,
        })?;
        let vlen = (info & 0xffff) as usize;
        let len = 12 + kind.extra_len(vlen as u16);
        if rec.len() < len {
            return Err(BtfError::TruncatedType { id, at });
        }
        let word = |i: usize| e.u32(&rec[12 + 4 * i..16 + 4 * i]);
        let size_or_type = e.u32(&rec[8..12]);
        let mut refer = |to: u32| {
            if to > max_ref {
                (max_ref, max_ref_at) = (to, id);
            }
        };
        check_str(e.u32(&rec[0..4]), id)?;
        let mut next = 0;
        if kind.refers() {
            refer(size_or_type);
            next = size_or_type;
        }
        match kind {
            Kind::Array => {
                refer(word(0));
                refer(word(1));
                next = word(0);
            }
            Kind::Struct | Kind::Union => {
                for i in 0..vlen {
                    check_str(word(3 * i), id)?;
                    refer(word(3 * i + 1));
                }
            }
            Kind::Enum => {
                for i in 0..vlen {
                    check_str(word(2 * i), id)?;
                }
            }
            Kind::Enum64 => {
                for i in 0..vlen {
                    check_str(word(3 * i), id)?;
                }
            }
            Kind::FuncProto => {
                refer(size_or_type);
                for i in 0..vlen {
                    check_str(word(2 * i), id)?;
                    refer(word(2 * i + 1));
                }
            }
            Kind::Datasec => {
                for i in 0..vlen {
                    refer(word(3 * i));
                }
            }
            Kind::Func | Kind::DeclTag => deferred.push(id),
            _ => {}
        }
        offsets.push(at as u32);
        edge.push(next);
        at += len;
    }
    let end = first_id + offsets.len() as u32;
    if max_ref >= end {
        return Err(BtfError::TypeIdOutOfRange {
            id: max_ref,
            at: max_ref_at,
        });
    }

    let (types_len, strings_len) = (types.len(), strings.len());
    let btf = Btf {
        endian,
        version,
        flags,
        header_extra: data[HEADER_LEN..hdr_len as usize].to_vec(),
        types_at: hdr_len as usize + type_off as usize,
        types_len,
        strings_at: hdr_len as usize + str_off as usize,
        strings_len,
        data,
        new_types: Vec::new(),
        new_strings: Vec::new(),
        offsets,
        added_strings: HashMap::new(),
        base: base.map(Box::new),
    };
    check_targets(&btf, &deferred)?;
    find_cycle(first_id, &edge)?;
    Ok(btf)
}

/// A FUNC must name a FUNC_PROTO; a decl tag a type that exists, with a
/// component index within its members or parameters.
fn check_targets(btf: &Btf, ids: &[u32]) -> Result<(), BtfError> {
    for &id in ids {
        let Some(t) = btf.get(id) else { continue };
        match t.kind {
            Kind::Func => {
                let target = btf.get(t.size_or_type);
                if target.is_none_or(|p| p.kind != Kind::FuncProto) {
                    return Err(BtfError::WrongTarget {
                        at: t.id,
                        kind: "FUNC",
                        want: "FUNC_PROTO",
                        id: t.size_or_type,
                    });
                }
            }
            Kind::DeclTag => {
                let idx = t.component_idx();
                let target = btf.get(t.size_or_type).ok_or(BtfError::TypeIdOutOfRange {
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
                    return Err(BtfError::BadComponent {
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

/// A cycle through references that do not pass a struct, union or function
/// prototype (`const` of a `typedef` of itself, a pointer to itself) has no
/// meaning and sends a consumer's type resolution round for ever. Each type
/// has at most one such edge, so following chains with three colours finds
/// any cycle in linear time. Base types cannot refer back into a split.
fn find_cycle(first: u32, edge: &[u32]) -> Result<(), BtfError> {
    // 0 unvisited, 1 on the current chain, 2 done
    let mut state = vec![0u8; edge.len()];
    let mut chain = Vec::new();
    for start in 0..edge.len() {
        if state[start] != 0 {
            continue;
        }
        chain.clear();
        let mut cur = Some(start);
        while let Some(i) = cur {
            match state[i] {
                1 => {
                    return Err(BtfError::Cycle {
                        id: first + i as u32,
                    })
                }
                2 => break,
                _ => {}
            }
            state[i] = 1;
            chain.push(i);
            let to = edge[i];
            cur = (to >= first).then(|| (to - first) as usize);
        }
        for &i in &chain {
            state[i] = 2;
        }
    }
    Ok(())
}
