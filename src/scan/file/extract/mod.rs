//! Query captures to records, one file at a time. Everything here is local to
//! the file: pairing a set's START with its END, its entries, definitions,
//! registrations and `btf_kfunc_id_set` initialisers. Cross-file work (flags,
//! which definition belongs to which entry, program types) is `resolve`'s.
//!
//! By record kind: [`sets`] (and `BTF_ID_LIST`s), [`functions`],
//! [`registrations`], [`id_sets`] (and their filters); the records are
//! [`crate::scan::records`]'.

mod functions;
mod id_sets;
mod registrations;
mod sets;

pub(crate) use sets::unrecognised_set_line;

use self::functions::functions;
use self::id_sets::{id_sets, read_filters};
use self::registrations::registrations;
use self::sets::{assemble, id_list_items, set_items};
use super::parse::text;
use super::queries::Queries;
use crate::manifest::SetKind;
use crate::scan::cpp;
use crate::scan::records::{FileRecords, RawEntry};
use std::collections::HashMap;
use tree_sitter::{Node, Tree};

fn is_preproc_block(kind: &str) -> bool {
    matches!(
        kind,
        "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_elifdef" | "preproc_else"
    )
}

/// The top-level item containing `node`: the ancestor whose parent is the
/// translation unit or a preprocessor block.
fn item_of(node: Node) -> Node {
    let mut cur = node;
    while let Some(p) = cur.parent() {
        if p.kind() == "translation_unit" || is_preproc_block(p.kind()) {
            return cur;
        }
        cur = p;
    }
    cur
}

/// Top-level items in document order, looking inside preprocessor blocks.
/// Iterative: a file of thousands of nested `#if`s must not overflow the stack.
fn flatten_items(root: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let mut c = n.walk();
        let children: Vec<Node> = n.named_children(&mut c).collect();
        for child in children.into_iter().rev() {
            if is_preproc_block(child.kind()) {
                stack.push(child);
            } else if n.kind() == "translation_unit" || is_preproc_block(n.kind()) {
                // skip the condition/name of an #if, which are not items
                let is_test = n
                    .child_by_field_name("condition")
                    .or_else(|| n.child_by_field_name("name"))
                    .is_some_and(|t| t.id() == child.id());
                if !is_test {
                    stack.push(child);
                }
            }
        }
        if n.kind() != "translation_unit" && !is_preproc_block(n.kind()) {
            out.push(n);
        }
    }
    out
}

enum Item {
    Delimiter {
        start: bool,
        kind: SetKind,
        name: String,
    },
    Entry(RawEntry),
    IdList(String),
    BtfId(String, String),
}

pub fn extract(
    path: &str,
    original: &[u8],
    masked: &[u8],
    tree: &Tree,
    q: &Queries,
) -> FileRecords {
    let root = tree.root_node();
    let mut rec = FileRecords {
        path: path.to_string(),
        error_nodes: count_errors(root),
        ..Default::default()
    };
    let mut items: HashMap<usize, Item> = HashMap::new();

    set_items(root, masked, q, path, &mut items, &mut rec.diagnostics);
    id_list_items(root, masked, q, &mut items);
    assemble(root, &items, original, masked, path, &mut rec);
    if rec.sets.iter().any(|s| !s.uses.is_empty()) {
        rec.directives = cpp::directives(original);
    }
    functions(root, original, masked, q, &mut rec);
    registrations(root, masked, q, &mut rec);
    id_sets(root, masked, q, &mut rec);
    read_filters(root, original, masked, &mut rec);
    rec
}

/// Where an embedded query can match: every match of one holds a node
/// whose text is one of `words`, so the span from the first to the end of
/// the last of them holds all (None: nowhere). An override may match
/// anything: everywhere (`Some(None)`). Most of a file's tree is then not
/// visited by most queries.
fn scope(embedded: bool, src: &[u8], words: &[&str]) -> Option<Option<std::ops::Range<usize>>> {
    if !embedded {
        return Some(None);
    }
    let mut span: Option<std::ops::Range<usize>> = None;
    for w in words {
        let w = w.as_bytes();
        let (Some(first), Some(last)) =
            (memchr::memmem::find(src, w), memchr::memmem::rfind(src, w))
        else {
            continue;
        };
        let r = first..last + w.len();
        span = Some(match span {
            Some(s) => s.start.min(r.start)..s.end.max(r.end),
            None => r,
        });
    }
    span.map(Some)
}

fn count_errors(root: Node) -> usize {
    let mut n = 0;
    let mut cursor = root.walk();
    let mut done = false;
    while !done {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            n += 1;
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                done = true;
                break;
            }
        }
    }
    n
}

/// `&ids` → `ids`; anything else as written.
fn address_target(node: Node, src: &[u8]) -> String {
    match node.kind() {
        "pointer_expression" => node
            .child_by_field_name("argument")
            .map(|a| text(a, src).into_owned())
            .unwrap_or_default(),
        _ => text(node, src).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::scope;

    #[test]
    fn embedded_queries_run_where_their_words_are() {
        let src = b"int a;\nBTF_ID_FLAGS(func, f)\nint b;\nBTF_KFUNCS_END(s)\n";
        let words = ["BTF_KFUNCS_", "BTF_SET8_", "BTF_ID_FLAGS"];
        assert_eq!(scope(true, src, &words), Some(Some(7..47)));
        assert_eq!(scope(true, b"int a;", &words), None);
        // an override may match anything
        assert_eq!(scope(false, b"int a;", &words), Some(None));
    }
}
