//! `btf_kfunc_id_set` initialisers, and the `.filter` callbacks they name,
//! read.

use super::{address_target, scope};
use crate::scan::file::filter;
use crate::scan::file::mask;
use crate::scan::file::parse::{pos, text};
use crate::scan::file::queries::Queries;
use crate::scan::names;
use crate::scan::records::{FileRecords, RawFilter, RawIdSet, Reading};
use tree_sitter::Node;

/// The most bytes of a helper function a filter's reading brings along
/// (the kernel's are one-line `static inline` predicates).
const MAX_HELPER_LEN: usize = 4096;

/// Reads the `.filter` callbacks the file's id sets name. The masked
/// source has most function bodies blanked, so the filters (and the small
/// functions their bodies name) are parsed again with their bodies, from a
/// copy of the file blank elsewhere: lines stay where they are, and the
/// parser skips the blanks.
pub(super) fn read_filters(root: Node, original: &[u8], masked: &[u8], rec: &mut FileRecords) {
    let names: Vec<&str> = rec
        .id_sets
        .iter()
        .filter_map(|i| i.filter.as_deref())
        .collect();
    if names.is_empty() {
        return;
    }
    let blanked = filter::definitions(root, masked);
    let mut keep: Vec<std::ops::Range<usize>> = Vec::new();
    for (name, def) in &blanked {
        if names.contains(&name.as_str()) {
            keep.push(def.byte_range());
        }
    }
    let filters = keep.clone();
    for (name, def) in &blanked {
        let r = def.byte_range();
        let called = filters
            .iter()
            .any(|f| memchr::memmem::find(&original[f.clone()], name.as_bytes()).is_some());
        if called && r.len() <= MAX_HELPER_LEN && !keep.contains(&r) {
            keep.push(r);
        }
    }
    let mut source: Vec<u8> = original
        .iter()
        .map(|&b| if b == b'\n' { b'\n' } else { b' ' })
        .collect();
    for r in &keep {
        source[r.clone()].copy_from_slice(&mask::mask_keeping_bodies(&original[r.clone()]));
    }
    let tree = crate::scan::file::parse::parse(&source);
    let defs = tree
        .as_ref()
        .map(|t| filter::definitions(t.root_node(), &source))
        .unwrap_or_default();
    for idset in &mut rec.id_sets {
        if let Some(name) = &idset.filter {
            let own = idset.set.as_deref().unwrap_or_default();
            idset.filter_reading = Some(match tree {
                Some(_) => filter::read(name, own, &defs, &source),
                // the parse's time bound ran out: say so, not "not defined"
                None => RawFilter {
                    name: name.clone(),
                    at: None,
                    reading: Reading::Unread("the file could not be parsed again".into()),
                },
            });
        }
    }
}

pub(super) fn id_sets(root: Node, src: &[u8], q: &Queries, rec: &mut FileRecords) {
    let iq = &q.id_sets;
    let Some(within) = scope(iq.embedded, src, &[names::ID_SET_STRUCT]) else {
        return;
    };
    iq.for_each_in(root, src, within, |caps| {
        let (Some(var), Some(init)) = (caps.get(iq.id_set_var), caps.get(iq.id_set_init)) else {
            return;
        };
        let mut set = None;
        let mut filter = None;
        let mut c = init.walk();
        for pair in init.named_children(&mut c) {
            if pair.kind() != "initializer_pair" {
                continue;
            }
            let field = pair
                .child_by_field_name("designator")
                .and_then(|d| d.named_child(0))
                .map(|f| text(f, src).into_owned());
            let value = pair
                .child_by_field_name("value")
                .map(|v| address_target(v, src));
            match field.as_deref() {
                Some("set") => set = value,
                Some("filter") => filter = value,
                _ => {}
            }
        }
        rec.id_sets.push(RawIdSet {
            var: text(var, src).into_owned(),
            set,
            filter,
            filter_reading: None,
            line: pos(var).0,
        });
    });
}
