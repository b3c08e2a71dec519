//! Parsing one masked source with tree-sitter, with a time bound so that a
//! pathological file cannot stall the scan; and reading the tree: a node's
//! text and place, a query's matches.

use std::borrow::Cow;
use std::ops::Range;
use std::time::{Duration, Instant};
use tree_sitter::{
    Node, ParseOptions, ParseState, Parser, Query, QueryCursor, StreamingIterator, Tree,
};

/// A file taking longer than this is reported and skipped.
pub const PARSE_TIME_LIMIT: Duration = Duration::from_secs(20);

pub fn parse(masked: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&super::queries::language()).ok()?;
    let start = Instant::now();
    let mut too_slow = |_: &ParseState| start.elapsed() > PARSE_TIME_LIMIT;
    let opts = ParseOptions::new().progress_callback(&mut too_slow);
    let len = masked.len();
    parser.parse_with_options(
        &mut |offset, _| {
            if offset < len {
                &masked[offset..]
            } else {
                &[]
            }
        },
        None,
        Some(opts),
    )
}

/// A node's source text (lossy: a file need not be UTF-8).
pub fn text<'s>(node: Node, src: &'s [u8]) -> Cow<'s, str> {
    String::from_utf8_lossy(&src[node.byte_range()])
}

/// A node's (line, column), both from 1.
pub fn pos(node: Node) -> (u32, u32) {
    let p = node.start_position();
    (p.row as u32 + 1, p.column as u32 + 1)
}

/// One match's captures, read by the indices a query struct holds.
pub struct Captures<'m, 't>(&'m [(u32, Node<'t>)]);

impl<'t> Captures<'_, 't> {
    pub fn get(&self, capture: u32) -> Option<Node<'t>> {
        self.0.iter().find(|(i, _)| *i == capture).map(|(_, n)| *n)
    }
}

/// Runs `query` over `root` and hands each match's captures to `f`.
pub fn for_each_match<'t>(
    query: &Query,
    root: Node<'t>,
    src: &[u8],
    f: impl FnMut(&Captures<'_, 't>),
) {
    for_each_match_in(query, root, src, None, f)
}

/// [`for_each_match`] over the nodes that meet the byte range `within`.
pub fn for_each_match_in<'t>(
    query: &Query,
    root: Node<'t>,
    src: &[u8],
    within: Option<Range<usize>>,
    mut f: impl FnMut(&Captures<'_, 't>),
) {
    let mut cursor = QueryCursor::new();
    if let Some(r) = within {
        cursor.set_byte_range(r);
    }
    let mut matches = cursor.matches(query, root, src);
    let mut caps: Vec<(u32, Node<'t>)> = Vec::new();
    while let Some(m) = matches.next() {
        caps.clear();
        caps.extend(m.captures.iter().map(|c| (c.index, c.node)));
        f(&Captures(&caps));
    }
}
