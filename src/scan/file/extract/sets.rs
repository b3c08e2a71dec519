//! Sets (`BTF_KFUNCS_START` … `BTF_KFUNCS_END`, `BTF_SET8_*`), their
//! entries and the macro uses in their bodies, and `BTF_ID_LIST`s: the
//! items found, then put together in file order.

use super::{flatten_items, item_of, scope, Item};
use crate::manifest::{Diagnostic, SetKind, Severity};
use crate::scan::file::cond::condition_of;
use crate::scan::file::mask;
use crate::scan::file::parse::{pos, text};
use crate::scan::file::queries::Queries;
use crate::scan::names;
use crate::scan::records::{FileRecords, MacroUse, RawEntry, RawIdList, RawSet};
use std::collections::HashMap;
use tree_sitter::Node;

/// Set delimiters and entries, by the top-level item holding each.
pub(super) fn set_items(
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
pub(super) fn id_list_items(
    root: Node,
    masked: &[u8],
    q: &Queries,
    items: &mut HashMap<usize, Item>,
) {
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
pub(super) fn assemble(
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
pub(crate) fn unrecognised_set_line(set: &str, quote: &str) -> String {
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
