//! The query engine: tree-sitter query patterns (`queries/*.scm`, or an
//! override from `--queries DIR`) compiled into node patterns and matched by
//! one walk of the tree. The `.scm` files are the only definition of what
//! the scanner matches (rules as data, as ast-grep keeps them); this engine
//! runs them.
//!
//! Why not tree-sitter's own query engine: compiling the six files took it
//! ~40 ms a scan (it analyses each pattern against every state of the C
//! grammar), and its cursor ~1,700 instructions per node visited for
//! patterns this simple. A walk testing each node's kind against each
//! pattern's costs half that and nothing to compile; on Debian's 6.12 tree
//! the scan spends ~25% more CPU with tree-sitter's engine (measured with
//! `--queries` pointing at the embedded files, before this engine). The
//! tests hold this engine to tree-sitter's on tricky input, the test trees
//! and every file of a kernel that holds sets ([`compare_with_tree_sitter`]).
//!
//! The language understood is the part of tree-sitter's query syntax the
//! scanner needs: node patterns `(kind …)` and `(_)` (any named node),
//! `field:` children, children without a field (matched in order among the
//! named children, `.` anchoring them to the first, the last or the one
//! before), `@capture`s, and the predicates `#eq?` and `#match?` on a
//! capture and a string. Anything else (alternations, quantifiers, negated
//! fields, anonymous-node literals, other predicates) is a syntax error
//! naming its line and column, never a pattern that silently matches
//! something else.

use super::parse::{language, text, Captures};
use crate::limits::MAX_QUERY_PATTERN_DEPTH;
use regex::Regex;
use std::num::NonZeroU16;
use std::ops::Range;
use tree_sitter::{Language, Node};

/// A query file, compiled.
pub struct Patterns {
    patterns: Vec<Pattern>,
    /// Capture names, by index.
    captures: Vec<String>,
}

/// Why a query text does not compile: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

struct Pattern {
    root: NodePattern,
    predicates: Vec<Predicate>,
}

struct NodePattern {
    /// The node kinds (symbol IDs; several symbols can share a name) it
    /// matches; empty for `(_)`, any named node.
    kinds: Vec<u16>,
    capture: Option<u32>,
    fields: Vec<(NonZeroU16, NodePattern)>,
    /// Children without a field, matched in order among the named children.
    children: Vec<Child>,
    /// A `.` after the last child: it must be the last named child.
    anchored_end: bool,
}

struct Child {
    pattern: NodePattern,
    /// A `.` before it: the first named child, or the one right after the
    /// previous child's.
    anchored: bool,
}

enum Predicate {
    Eq(u32, String),
    Match(u32, Regex),
}

/// One match's captures, as (capture, node).
type Found<'t> = Vec<(u32, Node<'t>)>;

impl Patterns {
    /// Compiles a query's text.
    pub fn compile(source: &str) -> Result<Patterns, PatternError> {
        let lang = language();
        let mut p = Parser {
            src: source,
            at: 0,
            lang: &lang,
            captures: Vec::new(),
            depth: 0,
        };
        let mut patterns = Vec::new();
        loop {
            p.skip_blank();
            if p.at >= p.src.len() {
                break;
            }
            patterns.push(p.pattern()?);
        }
        Ok(Patterns {
            patterns,
            captures: p.captures,
        })
    }

    /// The index of the capture `name` (without `@`), if the text has it.
    pub fn capture_index(&self, name: &str) -> Option<u32> {
        self.captures
            .iter()
            .position(|c| c == name)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Each match under `root`, in document order (the order of the nodes
    /// the patterns start at; at one node, the patterns' order in the
    /// file, one match per way a pattern matches). `within`: a byte range
    /// every match meets; subtrees that do not meet it are not visited.
    pub fn for_each<'t>(
        &self,
        root: Node<'t>,
        src: &[u8],
        within: Option<Range<usize>>,
        mut f: impl FnMut(&Captures<'_, 't>),
    ) {
        let mut c = root.walk();
        'walk: loop {
            let n = c.node();
            let meets = within
                .as_ref()
                .is_none_or(|r| n.start_byte() <= r.end && n.end_byte() >= r.start);
            if meets {
                for p in &self.patterns {
                    // `matches` tests the kind first, allocating nothing
                    for found in p.root.matches(n) {
                        if p.predicates.iter().all(|q| q.holds(&found, src)) {
                            f(&Captures::new(&found));
                        }
                    }
                }
                if c.goto_first_child() {
                    continue;
                }
            }
            while !c.goto_next_sibling() {
                if !c.goto_parent() {
                    break 'walk;
                }
            }
        }
    }
}

impl NodePattern {
    fn kind_matches(&self, n: Node) -> bool {
        if self.kinds.is_empty() {
            n.is_named()
        } else {
            self.kinds.contains(&n.kind_id())
        }
    }

    /// Every way `n` matches, each as its captures.
    fn matches<'t>(&self, n: Node<'t>) -> Vec<Found<'t>> {
        if !self.kind_matches(n) {
            return Vec::new();
        }
        let mut ways: Vec<Found<'t>> = vec![self.capture.map(|c| vec![(c, n)]).unwrap_or_default()];
        for (field, pattern) in &self.fields {
            let mut c = n.walk();
            let sub: Vec<Found<'t>> = n
                .children_by_field_id(*field, &mut c)
                .flat_map(|child| pattern.matches(child))
                .collect();
            ways = product(&ways, &sub);
            if ways.is_empty() {
                return ways;
            }
        }
        if self.children.is_empty() && !self.anchored_end {
            return ways;
        }
        let mut c = n.walk();
        let named: Vec<Node<'t>> = n.named_children(&mut c).collect();
        let mut seqs = Vec::new();
        self.sequences(&named, 0, None, Vec::new(), &mut seqs);
        product(&ways, &seqs)
    }

    /// The ways children `k..` match `named`, the previous child having
    /// matched `named[prev]`, appended to `sofar`.
    fn sequences<'t>(
        &self,
        named: &[Node<'t>],
        k: usize,
        prev: Option<usize>,
        sofar: Found<'t>,
        out: &mut Vec<Found<'t>>,
    ) {
        let Some(child) = self.children.get(k) else {
            let last = named.len().checked_sub(1);
            if !self.anchored_end || prev == last {
                out.push(sofar);
            }
            return;
        };
        let first = prev.map_or(0, |p| p + 1);
        let candidates = if child.anchored {
            first..(first + 1).min(named.len())
        } else {
            first..named.len()
        };
        for i in candidates {
            for found in child.pattern.matches(named[i]) {
                let mut next = sofar.clone();
                next.extend(found);
                self.sequences(named, k + 1, Some(i), next, out);
            }
        }
    }
}

/// Every combination of one of `a` and one of `b`, captures concatenated.
fn product<'t>(a: &[Found<'t>], b: &[Found<'t>]) -> Vec<Found<'t>> {
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut both = x.clone();
            both.extend_from_slice(y);
            out.push(both);
        }
    }
    out
}

impl Predicate {
    fn holds(&self, found: &Found, src: &[u8]) -> bool {
        let capture = match self {
            Predicate::Eq(c, _) | Predicate::Match(c, _) => *c,
        };
        // tree-sitter's rule: a predicate on a capture the match lacks holds
        found.iter().filter(|(c, _)| *c == capture).all(|(_, n)| {
            let t = text(*n, src);
            match self {
                Predicate::Eq(_, s) => t == s.as_str(),
                Predicate::Match(_, re) => re.is_match(&t),
            }
        })
    }
}

/// A recursive-descent reader of the query text.
struct Parser<'s, 'l> {
    src: &'s str,
    at: usize,
    lang: &'l Language,
    captures: Vec<String>,
    /// Node patterns open around the one being read.
    depth: usize,
}

impl Parser<'_, '_> {
    fn error(&self, at: usize, message: impl Into<String>) -> PatternError {
        let before = &self.src[..at.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        PatternError {
            line,
            col,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.at..].chars().next()
    }

    /// Skips white space and `;` comments.
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.at += c.len_utf8();
            } else if c == ';' {
                self.at = self.src[self.at..]
                    .find('\n')
                    .map_or(self.src.len(), |i| self.at + i);
            } else {
                break;
            }
        }
    }

    /// A name: letters, digits, `_`, `-`, `.`, `?`, `!` (capture names and
    /// predicates use the last ones).
    fn word(&mut self) -> &str {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || "_-.?!".contains(c) {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
        &self.src[start..self.at]
    }

    fn expect(&mut self, want: char) -> Result<(), PatternError> {
        self.skip_blank();
        match self.peek() {
            Some(c) if c == want => {
                self.at += c.len_utf8();
                Ok(())
            }
            Some(c) => Err(self.error(self.at, format!("expected `{want}`, found `{c}`"))),
            None => Err(self.error(self.at, format!("expected `{want}`, found the end"))),
        }
    }

    /// A top-level pattern: a node pattern, its predicates inside it.
    fn pattern(&mut self) -> Result<Pattern, PatternError> {
        let mut predicates = Vec::new();
        let root = self.node(&mut predicates)?;
        Ok(Pattern { root, predicates })
    }

    /// `(kind children… predicates…) @capture?`, at most
    /// [`MAX_QUERY_PATTERN_DEPTH`] deep.
    fn node(&mut self, predicates: &mut Vec<Predicate>) -> Result<NodePattern, PatternError> {
        self.skip_blank();
        let start = self.at;
        if self.depth >= MAX_QUERY_PATTERN_DEPTH {
            return Err(self.error(
                start,
                format!(
                    "patterns nest deeper than {MAX_QUERY_PATTERN_DEPTH} (MAX_QUERY_PATTERN_DEPTH)"
                ),
            ));
        }
        self.depth += 1;
        let node = self.node_within(predicates, start);
        self.depth -= 1;
        node
    }

    fn node_within(
        &mut self,
        predicates: &mut Vec<Predicate>,
        start: usize,
    ) -> Result<NodePattern, PatternError> {
        match self.peek() {
            Some('(') => self.at += 1,
            Some('[') => return Err(self.error(start, "alternations ([…]) are not supported")),
            Some('"') => {
                return Err(self.error(start, "anonymous node patterns (\"…\") are not supported"))
            }
            Some('_') => return Err(self.error(start, "`_` alone is not supported: write (_)")),
            Some(c) => {
                return Err(self.error(start, format!("expected a node pattern, found `{c}`")))
            }
            None => return Err(self.error(start, "expected a node pattern, found the end")),
        }
        self.skip_blank();
        if self.peek() == Some('#') {
            return Err(self.error(start, "a predicate goes inside the pattern it tests"));
        }
        let kind_at = self.at;
        let kind = self.word().to_string();
        if kind.is_empty() {
            return Err(self.error(kind_at, "expected a node kind"));
        }
        let kinds = if kind == "_" {
            Vec::new()
        } else {
            let ids = self.kind_ids(&kind);
            if ids.is_empty() {
                return Err(self.error(kind_at, format!("`{kind}` is no named node kind of C")));
            }
            ids
        };
        let mut node = NodePattern {
            kinds,
            capture: None,
            fields: Vec::new(),
            children: Vec::new(),
            anchored_end: false,
        };
        let mut anchor = false;
        loop {
            self.skip_blank();
            let at = self.at;
            match self.peek() {
                Some(')') => {
                    self.at += 1;
                    node.anchored_end = anchor;
                    break;
                }
                Some('.') => {
                    if anchor {
                        return Err(self.error(at, "two anchors in a row"));
                    }
                    self.at += 1;
                    anchor = true;
                }
                Some('(') if self.src[at + 1..].trim_start().starts_with('#') => {
                    if anchor {
                        return Err(self.error(at, "an anchor before a predicate"));
                    }
                    predicates.push(self.predicate()?);
                }
                Some('(') => {
                    let pattern = self.node(predicates)?;
                    node.children.push(Child {
                        pattern,
                        anchored: anchor,
                    });
                    anchor = false;
                }
                Some('!') => return Err(self.error(at, "negated fields are not supported")),
                Some('"') => {
                    return Err(self.error(at, "anonymous node patterns (\"…\") are not supported"))
                }
                Some('[') => return Err(self.error(at, "alternations ([…]) are not supported")),
                Some(c) if c.is_alphabetic() || c == '_' => {
                    let name = self.word().to_string();
                    if !name.ends_with(':') && self.peek() != Some(':') {
                        return Err(self.error(at, format!("expected `{name}:` (a field)")));
                    }
                    let name = name.trim_end_matches(':').to_string();
                    if self.peek() == Some(':') {
                        self.at += 1;
                    }
                    if anchor {
                        return Err(self.error(at, "an anchor before a field is not supported"));
                    }
                    let Some(field) = self.lang.field_id_for_name(&name) else {
                        return Err(self.error(at, format!("`{name}` is no field of C's grammar")));
                    };
                    let pattern = self.node(predicates)?;
                    node.fields.push((field, pattern));
                }
                Some(c) => return Err(self.error(at, format!("unexpected `{c}`"))),
                None => return Err(self.error(start, "this pattern is not closed")),
            }
        }
        self.skip_blank();
        match self.peek() {
            Some('@') => {
                self.at += 1;
                let name = self.word().to_string();
                node.capture = Some(self.capture(&name));
            }
            Some(c @ ('*' | '+' | '?')) => {
                return Err(self.error(self.at, format!("quantifiers (`{c}`) are not supported")))
            }
            _ => {}
        }
        Ok(node)
    }

    /// `(#eq? @capture "text")` or `(#match? @capture "regex")`.
    fn predicate(&mut self) -> Result<Predicate, PatternError> {
        let start = self.at;
        self.expect('(')?;
        self.expect('#')?;
        let name = self.word().to_string();
        self.skip_blank();
        if self.peek() != Some('@') {
            return Err(self.error(self.at, format!("#{name} takes a capture first")));
        }
        self.at += 1;
        let cap = self.word().to_string();
        let capture = self.capture(&cap);
        self.skip_blank();
        let arg_at = self.at;
        let arg = self.string()?;
        self.expect(')')?;
        match name.as_str() {
            "eq?" => Ok(Predicate::Eq(capture, arg)),
            "match?" => Regex::new(&arg)
                .map(|re| Predicate::Match(capture, re))
                .map_err(|e| self.error(arg_at, format!("a bad regular expression: {e}"))),
            _ => Err(self.error(
                start,
                format!("the predicate #{name} is not supported (#eq?, #match?)"),
            )),
        }
    }

    /// A `"…"` string with tree-sitter's escapes (`\"`, `\\`, `\n`, `\t`).
    fn string(&mut self) -> Result<String, PatternError> {
        let start = self.at;
        if self.peek() != Some('"') {
            return Err(self.error(start, "expected a string"));
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(start, "this string is not closed"));
            };
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error(start, "this string is not closed"));
                    };
                    self.at += e.len_utf8();
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn capture(&mut self, name: &str) -> u32 {
        let i = match self.captures.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                self.captures.push(name.to_string());
                self.captures.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// The symbol IDs of the named node kind `name` (aliases give one name
    /// several).
    fn kind_ids(&self, name: &str) -> Vec<u16> {
        (0..u16::try_from(self.lang.node_kind_count()).unwrap_or(u16::MAX))
            .filter(|&id| {
                self.lang.node_kind_is_named(id) && self.lang.node_kind_for_id(id) == Some(name)
            })
            .collect()
    }
}

/// This engine against tree-sitter's own on the query texts `queries` (name,
/// text, the captures compared), on a file masked and parsed as the scan
/// does: how many matches they agree on, or the first query on which they
/// differ. For the tests.
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub fn compare_with_tree_sitter(
    original: &[u8],
    queries: &[(&str, &str, &[&str])],
) -> Result<usize, String> {
    use super::{mask, parse};
    use tree_sitter::Query;
    type Seen = Vec<Vec<(String, String, (usize, usize))>>;
    fn collect<'t>(
        names: &[&str],
        wanted: &[&str],
        run: impl FnOnce(&mut dyn FnMut(&Captures<'_, 't>)),
    ) -> Seen {
        let mut out = Vec::new();
        run(&mut |caps| {
            let mut m: Vec<_> = (0..names.len())
                .filter_map(|i| {
                    let n = caps.get(u32::try_from(i).ok()?)?;
                    Some((names[i], n))
                })
                .filter(|(name, _)| wanted.contains(name))
                .map(|(name, n)| {
                    (
                        name.to_string(),
                        n.kind().to_string(),
                        (n.start_byte(), n.end_byte()),
                    )
                })
                .collect();
            m.sort();
            out.push(m);
        });
        out
    }
    let src = mask::mask(original);
    let tree = parse::parse(&src).ok_or("not parsed")?;
    let root = tree.root_node();
    let mut n = 0;
    for (name, text, wanted) in queries {
        let theirs = Query::new(&language(), text).map_err(|e| format!("{name}: {e}"))?;
        let ours = Patterns::compile(text).map_err(|e| format!("{name}: {e:?}"))?;
        let a = collect(theirs.capture_names(), wanted, |f| {
            parse::for_each_match_in(&theirs, root, &src, None, f)
        });
        let names: Vec<&str> = ours.captures.iter().map(String::as_str).collect();
        let b = collect(&names, wanted, |f| ours.for_each(root, &src, None, f));
        if a != b {
            return Err(format!("{name}: tree-sitter {a:?}, this engine {b:?}"));
        }
        n += a.len();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> PatternError {
        match Patterns::compile(text) {
            Ok(_) => panic!("compiled: {text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn what_is_not_understood_is_an_error_at_its_place() {
        // at the bound and one past it: 64 nested patterns compile, 65 not
        let nest = |n: usize| format!("{}{}", "(_ ".repeat(n), ")".repeat(n));
        assert!(Patterns::compile(&nest(MAX_QUERY_PATTERN_DEPTH)).is_ok());
        let deep = nest(MAX_QUERY_PATTERN_DEPTH + 1);
        // far past it: an error, not a stack overflow
        assert!(Patterns::compile(&nest(1_000_000)).is_err());
        for (text, line, col, says) in [
            ("[(identifier)] @x", 1, 1, "alternations"),
            ("(identifier)* @x", 1, 13, "quantifiers"),
            ("(call_expression\n  !function)", 2, 3, "negated"),
            ("(call_expression \"(\")", 1, 18, "anonymous"),
            ("(no_such_kind)", 1, 2, "no named node kind"),
            ("(call_expression nosuchfield: (_))", 1, 18, "no field"),
            (
                "(identifier) @a (#any-of? @a \"x\")",
                1,
                17,
                "inside the pattern",
            ),
            (
                "(call_expression (#not-eq? @a \"x\"))",
                1,
                18,
                "not supported",
            ),
            (
                "(call_expression (#match? @a \"(\"))",
                1,
                30,
                "regular expression",
            ),
            ("(call_expression", 1, 1, "not closed"),
            ("(call_expression (#eq? @a \"x))", 1, 27, "not closed"),
            (deep.as_str(), 1, 193, "deeper than 64"),
        ] {
            let e = error_of(text);
            assert_eq!((e.line, e.col), (line, col), "{text}: {e:?}");
            assert!(e.message.contains(says), "{text}: {e:?}");
        }
    }

    #[test]
    fn captures_are_numbered_by_first_appearance() {
        let p = Patterns::compile(
            "; c\n(call_expression function: (identifier) @f arguments: (argument_list) @a (#eq? @f \"x\"))\n(declaration type: (_) @t) @f",
        )
        .unwrap();
        assert_eq!(p.capture_index("f"), Some(0));
        assert_eq!(p.capture_index("a"), Some(1));
        assert_eq!(p.capture_index("t"), Some(2));
        assert_eq!(p.capture_index("x"), None);
        assert_eq!(p.patterns.len(), 2);
    }

    fn agree(original: &[u8]) -> usize {
        compare_with_tree_sitter(original, &crate::scan::file::queries::Queries::EMBEDDED)
            .unwrap_or_else(|e| panic!("{e} on {}", String::from_utf8_lossy(original)))
    }

    #[test]
    fn this_engine_finds_what_tree_sitters_finds() {
        let tricky = [
            "BTF_KFUNCS_START(a)\nBTF_ID_FLAGS(func, f, KF_A)\nBTF_ID_FLAGS(func, g)\nBTF_KFUNCS_END(a)\n",
            "BTF_SET8_START(s)\nBTF_SET8_END(s)\nBTF_KFUNCS_START a, b;\nBTF_KFUNCS_STARTX c;\n",
            "BTF_ID_LIST(l)\nBTF_ID(func, a)\nBTF_ID(func /* c */, b)\nBTF_ID(func, c, d)\nBTF_ID(func)\nBTF_ID(func, )\nBTF_ID(struct, x /* y */)\nBTF_ID(, z)\n",
            "static const struct btf_kfunc_id_set s = { .owner = THIS_MODULE, .set = &ids, .filter = f };\nstruct btf_kfunc_id_set t = {}, u = { .set = &v }, w;\nstruct btf_kfunc_id_setx q = { .set = &x };\n",
            "static int __init i(void)\n{\n\tint r = register_btf_kfunc_id_set(T, &s);\n\treturn r ?: register_btf_fmodret_id_set(&f);\n}\nint register_btf_kfunc_id_set(enum bpf_prog_type t, const struct btf_kfunc_id_set *s);\n",
            "int f(void)\n{\n}\nvoid *g(int a)\n{\n\tint h(void) { return 0; }\n}\nint k(void);\nstatic int (*p)(void)\n{\n}\nBPF_CALL_1(f, int, x)\n{\n\treturn register_btf_kfunc_id_set(1, 2);\n}\n",
            "#define KF_ACQUIRE (1 << 0)\n#define KF_RELEASE\n#define XKF_A 1\n#define KF_B(x) x\n#ifdef X\n#define KF_C 2\n#endif\n",
            "int f( {\nBTF_ID_FLAGS(func, f\nBTF_KFUNCS_END(x\n}} ;; int g(void) { register_btf_kfunc_id_set(\n",
        ];
        let mut n = 0;
        for t in tricky {
            n += agree(t.as_bytes());
        }
        for p in crate::scan::file::parse::mini_tree_sources() {
            n += agree(&std::fs::read(&p).unwrap());
        }
        assert!(n > 50, "{n} matches");
    }

    #[test]
    fn anchors_fields_and_every_way_a_pattern_matches() {
        // patterns beyond the embedded ones, against tree-sitter's engine
        let src = "int a, b = 1, *c;\nvoid f(int x, int y, int z) { g(1, h, 2); g(k); g(); }\n";
        for q in [
            "(declaration declarator: (_) @d) @decl",
            "(declaration type: (primitive_type) @t declarator: (init_declarator declarator: (identifier) @v value: (_) @val))",
            "(argument_list . (_) @first)",
            "(argument_list (_) @last .)",
            "(argument_list (_) @a . (_) @b)",
            "(argument_list (_) @a (_) @b)",
            "(argument_list . (identifier) @only .)",
            "(parameter_list (parameter_declaration declarator: (identifier) @p (#match? @p \"^[xz]$\")))",
            "(call_expression function: (identifier) @f (#eq? @f \"g\") arguments: (argument_list) @args)",
        ] {
            let n = compare_with_tree_sitter(src.as_bytes(), &[("q", q, &["d", "decl", "t", "v", "val", "first", "last", "a", "b", "only", "p", "f", "args"])])
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert!(n > 0, "{q}: no match");
        }
    }
}
