//! Which FUNCs of a BTF are kfuncs: those a `bpf_kfunc` decl tag names,
//! or (a BTF without tags) those a list names.

use crate::btf::{Btf, Kind};
use crate::conventions::TAG_KFUNC;
use std::collections::{BTreeMap, HashSet};

/// A kfunc's FUNC in a BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub func: u32,
}

/// Offsets at which the tag's name starts, base and own.
fn tag_offsets(btf: &Btf) -> HashSet<u32> {
    btf.string_offsets(&[TAG_KFUNC])
        .remove(TAG_KFUNC)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Whether any own FUNC of `btf` carries a `bpf_kfunc` decl tag.
pub fn has_kfunc_tags(btf: &Btf) -> bool {
    !tagged(btf).is_empty()
}

/// Own FUNCs named by a whole-declaration `bpf_kfunc` decl tag, by ID.
fn tagged(btf: &Btf) -> Vec<u32> {
    let offsets = tag_offsets(btf);
    if offsets.is_empty() {
        return Vec::new();
    }
    btf.own_types_of(|k| k == Kind::DeclTag)
        .filter(|t| offsets.contains(&t.name_off()) && t.component_idx() == Some(-1))
        .filter_map(|t| t.target())
        .filter(|&id| btf.is_own_func(id))
        .collect()
}

/// The kfuncs among `btf`'s own FUNCs, sorted by name (one FUNC per name:
/// the first): the tagged ones, or with `names` those of these names.
pub fn kfuncs_in(btf: &Btf, names: Option<&[&str]>) -> Vec<Found> {
    let mut by_name: BTreeMap<String, u32> = BTreeMap::new();
    let mut add = |id: u32| {
        if let Some(t) = btf.get(id) {
            let name = btf.name(&t).to_string();
            if !name.is_empty() {
                let e = by_name.entry(name).or_insert(id);
                *e = (*e).min(id);
            }
        }
    };
    match names {
        None => tagged(btf).into_iter().for_each(&mut add),
        Some(names) => {
            let found = btf.string_offsets(names);
            let wanted: HashSet<u32> = found.values().flatten().copied().collect();
            btf.own_names_of(Kind::Func)
                .filter(|(_, off)| wanted.contains(off))
                .for_each(|(id, _)| add(id));
        }
    }
    by_name
        .into_iter()
        .map(|(name, func)| Found { name, func })
        .collect()
}
