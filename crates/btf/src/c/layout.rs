//! Struct and union definitions with the layout their BTF records: sizes
//! and alignments as the BPF target has them (8-byte pointers), explicit
//! padding (`long: 64;`, `int: 3;`) where C's natural layout would not put
//! a member where the BTF does, and `__attribute__((packed))` when a member
//! is not naturally aligned. The same rules as libbpf's BTF dumper, so a
//! definition here equals vmlinux.h's.

use super::{EmitError, MAX_DEPTH};
use crate::{Btf, Kind, TypeRef};
use std::collections::HashMap;

const PTR_SIZE: u32 = 8;

/// A type's size in bytes (through typedefs and modifiers).
pub fn size_of(btf: &Btf, id: u32) -> Result<u64, EmitError> {
    let mut cur = id;
    let mut mult: u64 = 1;
    for _ in 0..MAX_DEPTH {
        if cur == 0 {
            return Ok(0);
        }
        let t = btf.get(cur).ok_or(EmitError::NoType(cur))?;
        match t.kind() {
            Kind::Ptr => return Ok(mult * u64::from(PTR_SIZE)),
            Kind::Array => {
                let a = t.array().ok_or(EmitError::NoType(cur))?;
                mult = mult.saturating_mul(u64::from(a.nelems));
                cur = a.elem;
            }
            Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                cur = t.target().unwrap_or(0)
            }
            _ => return Ok(mult.saturating_mul(u64::from(t.size().unwrap_or(0)))),
        }
    }
    Err(EmitError::TooDeep(id))
}

/// A type's alignment in bytes; a struct whose members are not naturally
/// aligned (or whose size is not a multiple of their alignment) is packed: 1.
pub fn align_of(btf: &Btf, id: u32) -> Result<u32, EmitError> {
    align_at(btf, id, 0, &mut HashMap::new())
}

/// Structs' and unions' alignments, by ID. A struct's is its members'
/// largest, so without it a struct of n members of a struct of n members
/// … costs n^depth (a few kilobytes of BTF, hours of work).
pub type Aligns = HashMap<u32, u32>;

/// `align_of`, remembering structs' alignments in `known`.
pub(super) fn align_known(btf: &Btf, id: u32, known: &mut Aligns) -> Result<u32, EmitError> {
    align_at(btf, id, 0, known)
}

fn align_at(btf: &Btf, id: u32, depth: usize, known: &mut Aligns) -> Result<u32, EmitError> {
    if depth > MAX_DEPTH {
        return Err(EmitError::TooDeep(id));
    }
    if id == 0 {
        return Ok(1);
    }
    if let Some(&a) = known.get(&id) {
        return Ok(a);
    }
    let t = btf.get(id).ok_or(EmitError::NoType(id))?;
    Ok(match t.kind() {
        Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Float => {
            t.size().unwrap_or(1).clamp(1, PTR_SIZE)
        }
        Kind::Ptr => PTR_SIZE,
        Kind::Array => align_at(btf, t.array().map_or(0, |a| a.elem), depth + 1, known)?,
        Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
            align_at(btf, t.target().unwrap_or(0), depth + 1, known)?
        }
        Kind::Struct | Kind::Union => {
            let mut max = 1;
            let mut misaligned = false;
            for m in t.members() {
                let a = align_at(btf, m.type_id, depth + 1, known)?;
                if m.bitfield_size == 0 && m.bit_offset % (8 * a) != 0 {
                    misaligned = true;
                    break;
                }
                max = max.max(a);
            }
            let a = if misaligned || t.size().unwrap_or(0) % max != 0 {
                1
            } else {
                max
            };
            known.insert(id, a);
            a
        }
        _ => 1,
    })
}

pub(super) fn is_packed(btf: &Btf, t: &TypeRef, known: &mut Aligns) -> Result<bool, EmitError> {
    let mut max = 1;
    for m in t.members() {
        let a = align_known(btf, m.type_id, known)?;
        if m.bitfield_size == 0 && m.bit_offset % (8 * a) != 0 {
            return Ok(true);
        }
        max = max.max(a);
    }
    Ok(t.size().unwrap_or(0) % max != 0)
}

fn roundup(x: u64, to: u64) -> u64 {
    if to == 0 {
        x
    } else {
        x.div_ceil(to) * to
    }
}

const PADS: [(&str, u64); 4] = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];

/// The anonymous bitfields filling bits `cur..next` (the next member's
/// alignment `next_align` bytes), as (type, width; 0 aligns to the type):
/// the largest of long, int, short, char that reaches an aligned boundary
/// within the gap, then full units, then the smallest unit for the rest.
pub(super) fn bit_padding(
    cur: u64,
    next: u64,
    next_align: u32,
    in_bitfield: bool,
) -> Vec<(&'static str, u64)> {
    let mut pads = Vec::new();
    if cur >= next {
        return pads;
    }
    let mut cur = cur;
    let (mut pad_type, mut pad_bits, mut new_off) = ("char", 8, cur);
    for (ty, bits) in PADS {
        (pad_type, pad_bits) = (ty, bits);
        new_off = roundup(cur, bits);
        if new_off <= next {
            break;
        }
    }
    if new_off > cur && new_off <= next {
        let aligned_naturally = roundup(cur, u64::from(next_align) * 8) == new_off;
        if in_bitfield
            || (new_off == next && !aligned_naturally)
            || (new_off != next && next - new_off <= new_off - cur)
        {
            let width = if in_bitfield { new_off - cur } else { 0 };
            pads.push((pad_type, width));
        }
        cur = new_off;
    }
    while cur != next {
        let bits = (next - cur).min(pad_bits);
        if bits == pad_bits {
            pads.push((pad_type, pad_bits));
            cur += bits;
            continue;
        }
        if let Some((ty, _)) = PADS.iter().rev().find(|(_, b)| *b >= bits) {
            pads.push((ty, bits));
        }
        cur += bits;
    }
    pads
}
