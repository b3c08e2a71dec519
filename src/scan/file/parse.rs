//! Parsing one masked source with tree-sitter, with a time bound so that a
//! pathological file cannot stall the scan; and reading the tree: a node's
//! text and place, a query's matches.

use std::borrow::Cow;
use std::ops::Range;
use std::time::{Duration, Instant};
use tree_sitter::{
    Language, Node, ParseOptions, ParseState, Parser, Point, Query, QueryCursor, StreamingIterator,
    Tree,
};

/// The C grammar every parse and query uses.
pub fn language() -> Language {
    tree_sitter_c::LANGUAGE.into()
}

/// A file taking longer than this is reported and skipped.
pub const PARSE_TIME_LIMIT: Duration = Duration::from_secs(20);

pub fn parse(masked: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&language()).ok()?;
    let ranges = code_ranges(masked);
    // Ordered and disjoint by construction; were they refused, the whole
    // text is read, which gives the same tree.
    if ranges.len() > 1 && parser.set_included_ranges(&ranges).is_err() {
        parser.set_included_ranges(&[]).ok()?;
    }
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

/// The shortest run of blanks [`code_ranges`] leaves out.
const MIN_GAP: usize = 64;

/// The parts of `src` tree-sitter is given: all but long runs of blanks,
/// which it would otherwise read a byte at a time (~30 ns each; the masker
/// blanks most function bodies, so blanks are most of a masked file). The
/// tree is the one the whole text gives, node for node, positions included:
///
/// - a run left out is whitespace only and starts at a line's start, after
///   a line break that does not continue a line (`\`): it is never inside
///   a token that stops at a line's end (a string, a character literal, a
///   `//` comment, a preprocessor line); inside a `/* */` comment it only
///   shortens what the comment's pattern reads, not where the comment ends;
///   elsewhere whitespace separates tokens and is not part of one;
/// - it starts after every line break that directly follows the first:
///   the token ending an `#if` line takes all of them (`"\n\n\n"`);
/// - it stops before the next non-blank byte and never runs to the end of
///   the text;
/// - each range carries its row and column, so positions are the text's.
pub fn code_ranges(src: &[u8]) -> Vec<tree_sitter::Range> {
    let n = src.len();
    let mut gaps = Vec::new();
    let mut at = 0;
    while let Some(nl) = memchr::memchr(b'\n', &src[at..]).map(|p| at + p) {
        let mut start = nl + 1;
        while start < n && matches!(src[start], b'\n' | b'\r') {
            start += 1;
        }
        let mut end = start;
        while end < n && src[end].is_ascii_whitespace() {
            end += 1;
        }
        let line = &src[..nl];
        let continued = line.ends_with(b"\\") || line.ends_with(b"\\\r");
        if !continued && end < n && end - start >= MIN_GAP {
            gaps.push((start, end));
        }
        at = end.max(nl + 1);
    }
    let mut at = Cursor::default();
    let mut ranges = Vec::with_capacity(gaps.len() + 1);
    let (mut from, mut from_point) = (0, Point::new(0, 0));
    for (start, end) in gaps {
        ranges.push(tree_sitter::Range {
            start_byte: from,
            end_byte: start,
            start_point: from_point,
            end_point: at.point(src, start),
        });
        from = end;
        from_point = at.point(src, end);
    }
    ranges.push(tree_sitter::Range {
        start_byte: from,
        end_byte: n,
        start_point: from_point,
        end_point: at.point(src, n),
    });
    ranges
}

/// Rows and columns of increasing offsets, counting line breaks once.
#[derive(Default)]
struct Cursor {
    offset: usize,
    row: usize,
    line_start: usize,
}

impl Cursor {
    fn point(&mut self, src: &[u8], offset: usize) -> Point {
        for nl in memchr::memchr_iter(b'\n', &src[self.offset..offset]) {
            self.row += 1;
            self.line_start = self.offset + nl + 1;
        }
        self.offset = offset;
        Point::new(self.row, offset - self.line_start)
    }
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

impl<'m, 't> Captures<'m, 't> {
    pub(super) fn new(captures: &'m [(u32, Node<'t>)]) -> Self {
        Captures(captures)
    }
}

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

/// Whether the tree [`parse`] gives `masked` is the one its whole text
/// gives, node for node (kinds, bytes, positions, error marks): how many
/// runs of blanks were left out, or the first node that differs. For the
/// tests.
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub fn compare_with_whole_parse(masked: &[u8]) -> Result<usize, String> {
    let mut whole = Parser::new();
    whole.set_language(&language()).map_err(|e| e.to_string())?;
    let expected = whole.parse(masked, None).ok_or("not parsed")?;
    let got = parse(masked).ok_or("not parsed")?;
    let (a, b) = (nodes(&expected), nodes(&got));
    match a.iter().zip(&b).find(|(x, y)| x != y) {
        Some((x, y)) => Err(format!("whole text: {x}; with blanks left out: {y}")),
        None if a.len() != b.len() => Err(format!("{} nodes, {}", a.len(), b.len())),
        None => Ok(code_ranges(masked).len() - 1),
    }
}

/// Every node of a tree: kind, bytes, positions, error marks.
#[cfg(any(test, feature = "test-support"))]
fn nodes(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let mut c = tree.walk();
    'walk: loop {
        let n = c.node();
        out.push(format!(
            "{} {:?} {:?}-{:?} {} {}",
            n.kind(),
            n.byte_range(),
            n.start_position(),
            n.end_position(),
            n.is_error(),
            n.is_missing()
        ));
        if c.goto_first_child() {
            continue;
        }
        while !c.goto_next_sibling() {
            if !c.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// The `.c` and `.h` files of the test tree, `testdata/linux-mini`.
#[cfg(test)]
pub(crate) fn mini_tree_sources() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-mini");
    let mut stack = vec![root];
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("c" | "h")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree with blanks left out is the whole text's; `gaps` ranges
    /// are expected (0: none).
    fn same_tree(src: &str, gaps: usize) {
        assert_eq!(
            compare_with_whole_parse(src.as_bytes()),
            Ok(gaps),
            "{src:?}"
        );
    }

    #[test]
    fn leaving_blanks_out_changes_no_node() {
        let pad = " ".repeat(MIN_GAP);
        // a masked body, and code after it
        same_tree(&format!("int f(void)\n{{\n{pad}\n\t{pad}\n}}\nint x;\n"), 1);
        // the token ending an #if line takes every line break that follows
        same_tree(&format!("#if X\n\n\n{pad}\n\t\nint a;\n#endif\n"), 1);
        same_tree(&format!("#if X\r\n\r\n{pad}int d;\r\n#endif\r\n"), 1);
        same_tree(&format!("#include <a.h>\n\n{pad}int b;\n"), 1);
        // inside a comment: the comment ends where it did
        same_tree(&format!("/* one\n{pad}two */ int c;\n"), 1);
        same_tree(&format!("#define A /* x\n{pad}y */ 1\nint a;\n"), 1);
        // continued lines are not cut: a macro, a string
        same_tree(&format!("#define M(a) \\\n{pad}(a)\nint c;\n"), 0);
        same_tree(&format!("char *s = \"abc\\\n{pad}def\";\n"), 0);
        same_tree(&format!("// a \\\n{pad}b\nint e;\n"), 0);
        // short runs stay, and so do blanks at the end
        same_tree("int a;\n        int b;\n", 0);
        same_tree(&format!("int e;\n{pad}"), 0);
        same_tree(&format!("int e;\n{pad}\n{pad}"), 0);
        // errors recover the same way
        same_tree(
            &format!("int g( {{\n{pad}\n+ ;\nBPF_CALL_1(f, int, x)\n{{\n{pad}\n}}\n"),
            2,
        );
        // several gaps, rows counted across them
        same_tree(
            &format!("int a;\n{pad}\n{pad}int b;\n\n{pad}\n#ifdef Y\n{pad}int c;\n#endif\n"),
            3,
        );
    }

    #[test]
    fn the_mini_tree_parses_the_same_with_blanks_left_out() {
        let files = mini_tree_sources();
        for p in &files {
            let masked = super::super::mask::mask(&std::fs::read(p).unwrap());
            if let Err(e) = compare_with_whole_parse(&masked) {
                panic!("{}: {e}", p.display());
            }
        }
        assert!(files.len() > 5, "{} files", files.len());
    }
}
