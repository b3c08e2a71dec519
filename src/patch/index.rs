//! The index: what the plan needs of the BTF, found once.

use crate::btf::{Btf, Kind, StringOffsets};
use rustc_hash::FxHashMap as HashMap;

/// A string a new type names: one the BTF has, or one to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Str {
    At(u32),
    New(String),
}

/// A decl tag, of the BTF or planned.
pub(super) struct Tag {
    pub(super) name: String,
    pub(super) component_idx: i32,
    pub(super) kflag: bool,
    pub(super) name_str: Str,
}

/// What the plan needs of the BTF, found once.
pub(super) struct Index<'o> {
    /// Own FUNCs whose name is one of the wanted strings, by name.
    pub(super) funcs: HashMap<&'o str, Vec<u32>>,
    /// Own decl tags by target.
    pub(super) tags: HashMap<u32, Vec<Tag>>,
    /// Where each wanted string first is, for reuse.
    pub(super) strings: HashMap<&'o str, u32>,
}

impl<'o> Index<'o> {
    /// FUNCs are found by the offsets their names' strings have in this BTF:
    /// a FUNC is one of them when its name offset is, so the 50k+ FUNC
    /// names of a vmlinux are never read or hashed. A name offset pointing
    /// inside a longer string (legal, though no BTF producer writes one) is
    /// not recognised: that kfunc is reported missing, never patched wrongly.
    pub(super) fn new(btf: &Btf, offsets: &'o StringOffsets) -> Index<'o> {
        let strings = offsets
            .iter()
            .filter_map(|(s, offs)| offs.first().map(|o| (s.as_str(), *o)))
            .collect();
        let by_offset: HashMap<u32, &str> = offsets
            .iter()
            .flat_map(|(name, offs)| offs.iter().map(move |o| (*o, name.as_str())))
            .collect();
        let mut funcs: HashMap<&str, Vec<u32>> = HashMap::default();
        // a bit per name offset modulo 2^16 rules out nearly all of the FUNCs
        // before the map is probed
        let mut maybe = vec![0u64; 1 << 10];
        let bit = |off: u32| ((off as usize >> 6) & 0x3ff, 1u64 << (off & 63));
        for off in by_offset.keys() {
            let (word, mask) = bit(*off);
            maybe[word] |= mask;
        }
        for (id, name_off) in btf.own_names_of(Kind::Func) {
            let (word, mask) = bit(name_off);
            if maybe[word] & mask == 0 {
                continue;
            }
            if let Some(name) = by_offset.get(&name_off) {
                funcs.entry(*name).or_default().push(id);
            }
        }
        let mut tags: HashMap<u32, Vec<Tag>> = HashMap::default();
        for t in btf.own_types_of(|k| k == Kind::DeclTag) {
            let (Some(target), Some(component_idx)) = (t.target(), t.component_idx()) else {
                continue;
            };
            tags.entry(target).or_default().push(Tag {
                name: btf.name(&t).to_string(),
                component_idx,
                kflag: t.kflag(),
                name_str: Str::At(t.name_off()),
            });
        }
        Index {
            funcs,
            tags,
            strings,
        }
    }
}
