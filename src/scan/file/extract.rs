//! Query captures to records, one file at a time. Everything here is local to
//! the file: pairing a set's START with its END, its entries, definitions,
//! registrations and `btf_kfunc_id_set` initialisers. Cross-file work (flags,
//! which definition belongs to which entry, program types) is `resolve`'s.

use super::cond::condition_of;
use super::ctype;
use super::filter::{self, RawFilter};
use super::mask;
use super::parse::{pos, text};
use super::queries::Queries;
use crate::conventions;
use crate::manifest::{Diagnostic, Param, SetKind, Severity};
use crate::scan::cpp::{self, Directive};
use crate::scan::names;
use std::collections::HashMap;
use tree_sitter::{Node, Tree};

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileRecords {
    pub path: String,
    pub sets: Vec<RawSet>,
    pub functions: Vec<RawFunction>,
    pub registrations: Vec<RawRegistration>,
    pub id_sets: Vec<RawIdSet>,
    pub id_lists: Vec<RawIdList>,
    /// ERROR nodes tree-sitter left in the file (a measure of how well the
    /// masked source parses).
    pub error_nodes: usize,
    /// The file's `#define`, `#undef` and `#include` lines, read only when a
    /// set of the file holds a macro use (for [`crate::scan::xmacro`]).
    pub directives: Vec<(u32, Directive)>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawSet {
    pub name: String,
    pub kind: SetKind,
    pub line: u32,
    pub end_line: Option<u32>,
    pub entries: Vec<RawEntry>,
    /// Lines of the body that are not entries but look like macro uses
    /// (`LIST` or `ITEMS(a, b)`), for [`crate::scan::xmacro`] to expand.
    pub uses: Vec<MacroUse>,
}

/// A macro used in a set body, in place of entries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MacroUse {
    /// How many of the set's entries come before it.
    pub at: usize,
    /// `NAME` or `NAME(args…)` as written, lines joined.
    pub text: String,
    pub line: u32,
    pub col: u32,
    pub condition: Option<String>,
    /// Its source line, quoted should it not expand.
    pub quote: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawEntry {
    pub name: String,
    pub flags: Vec<String>,
    pub condition: Option<String>,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawFunction {
    pub name: String,
    pub line: u32,
    pub col: u32,
    pub bpf_kfunc_attr: bool,
    pub return_type: String,
    pub params: Vec<Param>,
    pub doc: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawRegistration {
    pub prog_type: String,
    pub id_set: String,
    pub line: u32,
    pub col: u32,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawIdSet {
    pub var: String,
    pub set: Option<String>,
    pub filter: Option<String>,
    /// `filter`'s body, read.
    pub filter_reading: Option<RawFilter>,
    pub line: u32,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawIdList {
    pub name: String,
    pub line: u32,
    /// (kind, name, line)
    pub members: Vec<(String, String, u32)>,
}

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

/// The most bytes of a helper function a filter's reading brings along
/// (the kernel's are one-line `static inline` predicates).
const MAX_HELPER_LEN: usize = 4096;

/// Reads the `.filter` callbacks the file's id sets name. The masked
/// source has most function bodies blanked, so the filters (and the small
/// functions their bodies name) are parsed again with their bodies, from a
/// copy of the file blank elsewhere: lines stay where they are, and the
/// parser skips the blanks.
fn read_filters(root: Node, original: &[u8], masked: &[u8], rec: &mut FileRecords) {
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
    let tree = super::parse::parse(&source);
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
                    reading: filter::Reading::Unread("the file could not be parsed again".into()),
                },
            });
        }
    }
}

/// Set delimiters and entries, by the top-level item holding each.
fn set_items(
    root: Node,
    masked: &[u8],
    q: &Queries,
    path: &str,
    items: &mut HashMap<usize, Item>,
    diags: &mut Vec<Diagnostic>,
) {
    let sq = &q.sets;
    let Some(within) = scope(
        sq.embedded,
        masked,
        &["BTF_KFUNCS_", "BTF_SET8_", names::ENTRY_MACRO],
    ) else {
        return;
    };
    sq.for_each_in(root, masked, within, |caps| {
        if let (Some(d), Some(n)) = (caps.get(sq.delimiter), caps.get(sq.set_name)) {
            let macro_name = text(d, masked);
            let kind = if macro_name.contains("KFUNCS") {
                SetKind::Kfuncs
            } else {
                SetKind::Set8
            };
            items.insert(
                item_of(d).id(),
                Item::Delimiter {
                    start: macro_name.ends_with("START"),
                    kind,
                    name: text(n, masked).into_owned(),
                },
            );
        } else if let Some(args) = caps.get(sq.entry_args) {
            let call = args.parent().unwrap_or(args);
            if let Some(e) = entry(call, args, masked, path, diags) {
                items.insert(item_of(call).id(), Item::Entry(e));
            }
        }
    });
}

/// `BTF_ID_LIST` tables and their `BTF_ID` lines.
fn id_list_items(root: Node, masked: &[u8], q: &Queries, items: &mut HashMap<usize, Item>) {
    let lq = &q.id_lists;
    let Some(within) = scope(lq.embedded, masked, &["BTF_ID"]) else {
        return;
    };
    lq.for_each_in(root, masked, within, |caps| {
        if let Some(n) = caps.get(lq.list_name) {
            items.insert(item_of(n).id(), Item::IdList(text(n, masked).into_owned()));
        } else if let (Some(k), Some(n)) = (caps.get(lq.id_kind), caps.get(lq.id_name)) {
            items.entry(item_of(n).id()).or_insert(Item::BtfId(
                text(k, masked).into_owned(),
                text(n, masked).into_owned(),
            ));
        }
    });
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

/// One `BTF_ID_FLAGS(func, name, FLAGS...)`.
fn entry(
    call: Node,
    args: Node,
    src: &[u8],
    path: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<RawEntry> {
    let (line, col) = pos(call);
    let mut c = args.walk();
    let named: Vec<Node> = args
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .collect();
    let (prefix, name) = match (named.first(), named.get(1)) {
        (Some(p), Some(n)) if n.kind() == "identifier" => {
            (text(*p, src).into_owned(), text(*n, src).into_owned())
        }
        _ => {
            diags.push(Diagnostic::new(
                Severity::Error,
                "malformed-entry",
                path,
                line,
                col,
                format!("cannot read `{}`", text(call, src).replace('\n', " ")),
            ));
            return None;
        }
    };
    if prefix != "func" {
        diags.push(Diagnostic::new(
            Severity::Warning,
            "non-func-entry",
            path,
            line,
            col,
            format!("BTF_ID_FLAGS({prefix}, {name}) does not name a function; skipped"),
        ));
        return None;
    }
    let mut flags = Vec::new();
    for n in &named[2..] {
        flag_terms(*n, src, &mut flags);
    }
    Some(RawEntry {
        name,
        flags,
        condition: condition_of(call, src),
        line,
        col,
    })
}

/// `KF_A | KF_B` → ["KF_A", "KF_B"]; a literal `0` adds nothing.
fn flag_terms(node: Node, src: &[u8], out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "binary_expression"
                if n.child_by_field_name("operator").map(|o| o.kind()) == Some("|") =>
            {
                if let Some(r) = n.child_by_field_name("right") {
                    stack.push(r);
                }
                if let Some(l) = n.child_by_field_name("left") {
                    stack.push(l);
                }
            }
            "parenthesized_expression" => {
                if let Some(inner) = n.named_child(0) {
                    stack.push(inner);
                }
            }
            "number_literal" if text(n, src) == "0" => {}
            "comment" => {}
            _ => out.push(
                text(n, src)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }
}

/// Walks the file's top-level items in order: pairs set delimiters, gives each
/// set its entries, reports what a set holds besides entries, and collects the
/// members of `BTF_ID_LIST` tables.
fn assemble(
    root: Node,
    items: &HashMap<usize, Item>,
    original: &[u8],
    masked: &[u8],
    path: &str,
    rec: &mut FileRecords,
) {
    let mut a = Assembler {
        path,
        original,
        masked,
        rec,
        open: None,
        list: None,
        used_until: 0,
    };
    for node in flatten_items(root) {
        let (line, col) = pos(node);
        match items.get(&node.id()) {
            Some(Item::Delimiter {
                start: true,
                kind,
                name,
            }) => a.start_set(name, *kind, line),
            Some(Item::Delimiter {
                start: false,
                kind,
                name,
            }) => a.end_set(name, *kind, line, col),
            Some(Item::Entry(e)) => a.entry(e, line, col),
            Some(Item::IdList(name)) => {
                a.close_list();
                a.list = Some(RawIdList {
                    name: name.clone(),
                    line,
                    members: Vec::new(),
                });
                continue;
            }
            Some(Item::BtfId(kind, name)) => {
                if let Some(l) = a.list.as_mut() {
                    l.members.push((kind.clone(), name.clone(), line));
                }
                continue;
            }
            None => a.other(node, line, col),
        }
        // any item other than a BTF_ID ends a BTF_ID_LIST table
        a.close_list();
    }
    a.finish();
}

/// The state of [`assemble`]'s walk: the set and the id list open.
struct Assembler<'a> {
    path: &'a str,
    original: &'a [u8],
    masked: &'a [u8],
    rec: &'a mut FileRecords,
    open: Option<RawSet>,
    list: Option<RawIdList>,
    /// The end of the last macro use: items starting before it are part of it.
    used_until: usize,
}

impl Assembler<'_> {
    fn diag(&mut self, sev: Severity, code: &str, line: u32, col: u32, msg: String) {
        let d = Diagnostic::new(sev, code, self.path, line, col, msg);
        self.rec.diagnostics.push(d);
    }

    fn start_set(&mut self, name: &str, kind: SetKind, line: u32) {
        if let Some(prev) = self.open.take() {
            self.diag(
                Severity::Error,
                "unterminated-set",
                prev.line,
                1,
                format!(
                    "set `{}` has no END before the next set starts at line {line}",
                    prev.name
                ),
            );
            self.rec.sets.push(prev);
        }
        self.open = Some(RawSet {
            name: name.to_string(),
            kind,
            line,
            end_line: None,
            entries: Vec::new(),
            uses: Vec::new(),
        });
    }

    fn end_set(&mut self, name: &str, kind: SetKind, line: u32, col: u32) {
        let Some(mut s) = self.open.take() else {
            let msg = format!("END of set `{name}` without a START");
            return self.diag(Severity::Error, "stray-set-end", line, col, msg);
        };
        if s.name != name || s.kind != kind {
            let msg = format!(
                "set `{}` (line {}) is closed by an END for `{name}`",
                s.name, s.line
            );
            self.diag(Severity::Error, "mismatched-set-end", line, col, msg);
        }
        s.end_line = Some(line);
        self.rec.sets.push(s);
    }

    fn entry(&mut self, e: &RawEntry, line: u32, col: u32) {
        match self.open.as_mut() {
            Some(s) => s.entries.push(e.clone()),
            None => {
                let msg = format!("BTF_ID_FLAGS for `{}` is not inside a set", e.name);
                self.diag(Severity::Warning, "entry-outside-set", line, col, msg);
            }
        }
    }

    /// An item the queries did not recognise: harmless outside a set; in a
    /// set, a macro use to expand, or a line the scanner cannot read.
    fn other(&mut self, node: Node, line: u32, col: u32) {
        let kind = node.kind();
        let harmless = kind == "comment" || kind.starts_with("preproc_");
        if harmless || node.start_byte() < self.used_until {
            return;
        }
        let Some(s) = self.open.as_mut() else {
            return;
        };
        let quote = line_text(self.original, node.start_byte())
            .trim()
            .to_string();
        if let Some(end) = macro_use(self.original, node) {
            self.used_until = end;
            s.uses.push(MacroUse {
                at: s.entries.len(),
                text: String::from_utf8_lossy(&self.original[node.start_byte()..end]).into_owned(),
                line,
                col,
                condition: condition_of(node, self.masked),
                quote,
            });
            return;
        }
        let msg = unrecognised_set_line(&s.name, &quote);
        self.diag(Severity::Warning, "unrecognised-set-line", line, col, msg);
    }

    fn close_list(&mut self) {
        if let Some(l) = self.list.take() {
            self.rec.id_lists.push(l);
        }
    }

    fn finish(mut self) {
        if let Some(s) = self.open.take() {
            let msg = format!("set `{}` is not closed before the end of the file", s.name);
            self.diag(Severity::Error, "unterminated-set", s.line, 1, msg);
            self.rec.sets.push(s);
        }
        self.close_list();
    }
}

/// The warning for a set line the scanner cannot read.
pub fn unrecognised_set_line(set: &str, quote: &str) -> String {
    format!(
        "set `{set}` holds `{quote}`, which is not a BTF_ID_FLAGS entry (a macro the scanner does not expand?); its entries are not listed"
    )
}

/// Where a macro use starting at `node` ends (`NAME` or `NAME(…)` in the
/// original source), when the node holds nothing else.
fn macro_use(src: &[u8], node: Node) -> Option<usize> {
    let start = node.start_byte();
    let ident = src[start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if ident == 0 || src[start].is_ascii_digit() {
        return None;
    }
    let mut end = start + ident;
    let open = end
        + src[end..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
    if src.get(open) == Some(&b'(') {
        end = mask::matching_paren(src, open, mask::MAX_ENTRY_LEN)? + 1;
    }
    // the masker lends such a line a `;`, from inside it or at its end
    let rest = src.get(end..node.end_byte()).unwrap_or_default();
    rest.iter()
        .all(|b| b.is_ascii_whitespace() || *b == b';')
        .then_some(end)
}

fn line_text(src: &[u8], at: usize) -> String {
    let start = src[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = src[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |p| at + p);
    String::from_utf8_lossy(&src[start..end.min(start + 200)]).into_owned()
}

fn has_word(hay: &[u8], word: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&hay[from..], word) {
        let s = from + p;
        let e = s + word.len();
        let before_ok = s == 0 || !(hay[s - 1].is_ascii_alphanumeric() || hay[s - 1] == b'_');
        let after_ok = e >= hay.len() || !(hay[e].is_ascii_alphanumeric() || hay[e] == b'_');
        if before_ok && after_ok {
            return true;
        }
        from = e;
    }
    false
}

fn functions(root: Node, original: &[u8], masked: &[u8], q: &Queries, rec: &mut FileRecords) {
    let fq = &q.functions;
    fq.for_each_in(root, masked, None, |caps| {
        let (Some(def), Some(decl)) = (caps.get(fq.function), caps.get(fq.declarator)) else {
            return;
        };
        let Some(sig) = ctype::signature(def, decl, masked) else {
            return;
        };
        // `__bpf_kfunc` was masked away; look for it in the original between
        // the previous item and the declarator.
        let from = def
            .prev_sibling()
            .map_or(0, |p| p.end_byte())
            .min(def.start_byte());
        let attr = has_word(
            &original[from..decl.start_byte()],
            names::BPF_KFUNC_ATTR.as_bytes(),
        );
        let doc = def.prev_named_sibling().and_then(|c| {
            let gap = &masked[c.end_byte()..def.start_byte()];
            let comment = &original[c.byte_range()];
            let is_doc = c.kind() == "comment"
                && (comment.starts_with(b"/**") || names_itself(comment, &sig.name))
                && gap.iter().all(|b| b.is_ascii_whitespace());
            is_doc.then(|| String::from_utf8_lossy(comment).into_owned())
        });
        rec.functions.push(RawFunction {
            name: sig.name,
            line: sig.name_node_start.0,
            col: sig.name_node_start.1,
            bpf_kfunc_attr: attr,
            return_type: sig.return_type,
            params: sig.params,
            doc,
            condition: condition_of(def, masked),
        });
    });
}

/// A plain `/* name - summary` (or `name: summary`) comment, kernel-doc in all but its opening
/// `/**` (the kernel has a few dozen above kfuncs: `bpf_sock_destroy`, the
/// `bpf_ct_*`, fou's and xfrm's).
fn names_itself(comment: &[u8], name: &str) -> bool {
    let Some(body) = comment.strip_prefix(b"/*") else {
        return false;
    };
    let first = body
        .split(|&b| b == b'\n')
        .map(|l| {
            let l = l.trim_ascii();
            let stars = l.iter().take_while(|&&b| b == b'*').count();
            l[stars..].trim_ascii()
        })
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let Some(rest) = first.strip_prefix(name.as_bytes()) else {
        return false;
    };
    let rest = rest.strip_prefix(b"()").unwrap_or(rest);
    let dash = rest.trim_ascii_start();
    dash.starts_with(b"- ") || dash == b"-" || rest.starts_with(b": ")
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

fn registrations(root: Node, src: &[u8], q: &Queries, rec: &mut FileRecords) {
    let rq = &q.registrations;
    let path = rec.path.clone();
    let Some(within) = scope(rq.embedded, src, &["register_btf_"]) else {
        return;
    };
    rq.for_each_in(root, src, within, |caps| {
        let (Some(f), Some(args)) = (caps.get(rq.register_fn), caps.get(rq.register_args)) else {
            return;
        };
        let call = f.parent().unwrap_or(f);
        let (line, col) = pos(call);
        let mut c = args.walk();
        let named: Vec<Node> = args
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .collect();
        // register_btf_fmodret_id_set(&set): no program type argument
        let fmodret = text(f, src).contains(conventions::FMODRET);
        let (prog_type, set_arg) = if fmodret {
            (conventions::FMODRET.to_string(), named.first().copied())
        } else {
            (
                named
                    .first()
                    .map(|n| text(*n, src).into_owned())
                    .unwrap_or_default(),
                named.get(1).copied(),
            )
        };
        let Some(set_arg) = set_arg else {
            // The prototype in include/linux/btf.h and the definition in
            // kernel/bpf/btf.c are declarations, not calls; a call with too
            // few arguments is worth a word.
            rec.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                "malformed-registration",
                &path,
                line,
                col,
                format!("cannot read `{}`", text(call, src).replace('\n', " ")),
            ));
            return;
        };
        let id_set = address_target(set_arg, src);
        rec.registrations.push(RawRegistration {
            prog_type,
            id_set,
            line,
            col,
            condition: condition_of(call, src),
        });
    });
}

fn id_sets(root: Node, src: &[u8], q: &Queries, rec: &mut FileRecords) {
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

#[cfg(test)]
mod tests {
    use super::{names_itself, scope};

    #[test]
    fn plain_comments_naming_the_function_are_its_doc() {
        let yes: [(&[u8], &str); 4] = [
            (
                b"/* bpf_ct_release - Release acquired nf_conn object\n */",
                "bpf_ct_release",
            ),
            (
                b"/* bpf_sock_destroy: Destroy the given socket */",
                "bpf_sock_destroy",
            ),
            (b"/*\n * bpf_x() - Does x\n */", "bpf_x"),
            (b"/* bpf_x -\n * long text */", "bpf_x"),
        ];
        for (comment, name) in yes {
            assert!(names_itself(comment, name), "{name}");
        }
        assert!(!names_itself(
            b"/* bpf_ct_release_all - other */",
            "bpf_ct_release"
        ));
        assert!(!names_itself(b"/* Not kernel-doc: a comment */", "bpf_x"));
        assert!(!names_itself(b"// bpf_x - line comment", "bpf_x"));
    }

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
