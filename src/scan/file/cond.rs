//! The preprocessor condition that guards a node, as a normalised string:
//! `defined(CONFIG_A) && !defined(CONFIG_B) && IS_ENABLED(CONFIG_C)`.
//! Outer conditions first; an `#else` branch is the negation of every branch
//! before it; `#elif X` is those negations and `X`.

use super::parse::text;
use tree_sitter::Node;

/// The condition of the branch `node` sits in, or None when unconditional.
///
/// Goes down from the root to `node`, each step looking among one node's
/// children: the cost is the length of the path. Going up by
/// [`Node::parent`] would cost its square, each `parent` itself going down
/// from the root (8,000 nested `#if`s took 6 s so). Iterative: thousands of
/// nested `#if`s must not overflow a stack.
pub(crate) fn condition_of(node: Node, src: &[u8]) -> Option<String> {
    let mut conjuncts: Vec<String> = Vec::new();
    let mut parent = root_of(node);
    while parent.id() != node.id() {
        let Some(cur) = parent.child_with_descendant(node) else {
            break;
        };
        if cur.id() == parent.id() {
            break;
        }
        match parent.kind() {
            "preproc_ifdef" if is_include_guard(parent, src) => {}
            "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_elifdef" => {
                let is_alternative = parent
                    .child_by_field_name("alternative")
                    .is_some_and(|alt| alt.id() == cur.id());
                let is_condition = parent
                    .child_by_field_name("condition")
                    .is_some_and(|c| c.id() == cur.id())
                    || parent
                        .child_by_field_name("name")
                        .is_some_and(|c| c.id() == cur.id());
                if !is_condition {
                    if let Some(c) = branch_test(parent, src) {
                        conjuncts.push(if is_alternative { negate(&c) } else { c });
                    }
                }
            }
            _ => {}
        }
        parent = cur;
    }
    if conjuncts.len() <= 1 {
        return conjuncts.pop();
    }
    let parts: Vec<String> = conjuncts.iter().map(|c| wrap(c)).collect();
    Some(parts.join(" && "))
}

/// The root of the syntax tree `node` is in. The binding offers no safe way
/// up but [`Node::parent`], one level at a time, each costing the depth.
fn root_of<'t>(node: Node<'t>) -> Node<'t> {
    let raw = node.into_raw();
    // SAFETY: `raw.tree` is the tree `node` borrows for `'t` (a node holds
    // its tree's pointer), alive as long as `node` may be used: so is the
    // root node made from it, a plain value pointing into that tree.
    #[allow(
        unsafe_code,
        reason = "tree-sitter's C API: its root node from a node's tree"
    )]
    unsafe {
        Node::from_raw(tree_sitter::ffi::ts_tree_root_node(raw.tree))
    }
}

/// `#ifndef X` / `#define X` / … / `#endif` with no `#else`: a header's
/// include guard, which conditions nothing.
fn is_include_guard(node: Node, src: &[u8]) -> bool {
    if node.child(0).map(|c| c.kind()) != Some("#ifndef")
        || node.child_by_field_name("alternative").is_some()
    {
        return false;
    }
    let Some(name) = node.child_by_field_name("name") else {
        return false;
    };
    let mut c = node.walk();
    let first_item = node
        .named_children(&mut c)
        .find(|n| n.id() != name.id() && n.kind() != "comment");
    first_item.is_some_and(|d| {
        d.kind() == "preproc_def"
            && d.child_by_field_name("name")
                .is_some_and(|n| src[n.byte_range()] == src[name.byte_range()])
    })
}

/// The test of one `#if`/`#ifdef`/`#elif` node.
fn branch_test(node: Node, src: &[u8]) -> Option<String> {
    match node.kind() {
        "preproc_ifdef" | "preproc_elifdef" => {
            let name = node.child_by_field_name("name")?;
            let name = text(name, src);
            let directive = node.child(0).map(|c| c.kind()).unwrap_or("#ifdef");
            if directive.contains("ifndef") || directive.contains("elifndef") {
                Some(format!("!defined({name})"))
            } else {
                Some(format!("defined({name})"))
            }
        }
        _ => {
            let c = node.child_by_field_name("condition")?;
            Some(normalise_expr(&text(c, src)))
        }
    }
}

/// Drops comments and line continuations, collapses blanks.
pub(crate) fn normalise_expr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("/*") {
        out.push_str(&rest[..p]);
        out.push(' ');
        rest = match rest[p + 2..].find("*/") {
            Some(e) => &rest[p + 2 + e + 2..],
            None => "",
        };
    }
    out.push_str(rest);
    if let Some(p) = out.find("//") {
        out.truncate(p);
    }
    let out = out.replace("\\\n", " ");
    let mut collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // `defined X` and `defined (X)` → `defined(X)`
    collapsed = collapse_defined(&collapsed);
    collapsed
}

fn collapse_defined(s: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        // A constant pattern: it compiles or the build's tests fail.
        regex::Regex::new(
            r"defined\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)|([A-Za-z_][A-Za-z0-9_]*))",
        )
        .expect("constant regex")
    });
    re.replace_all(s, |c: &regex::Captures| {
        let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        format!("defined({name})")
    })
    .into_owned()
}

pub(crate) fn negate(c: &str) -> String {
    if let Some(inner) = c.strip_prefix('!') {
        if is_atom(inner) {
            return inner.to_string();
        }
    }
    if is_atom(c) {
        format!("!{c}")
    } else {
        format!("!({c})")
    }
}

/// A single call or identifier: `defined(X)`, `IS_ENABLED(CONFIG_X)`, `CONFIG_X`.
fn is_atom(c: &str) -> bool {
    let name_end = c
        .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .unwrap_or(c.len());
    if name_end == 0 {
        // `(...)` wrapped whole
        return c.starts_with('(') && closes_at_end(c);
    }
    let rest = &c[name_end..];
    rest.is_empty() || (rest.starts_with('(') && closes_at_end(rest))
}

fn closes_at_end(s: &str) -> bool {
    let mut depth = 0i32;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == s.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// Parenthesises a conjunct that has an operator outside any parentheses.
fn wrap(c: &str) -> String {
    let mut depth = 0i32;
    let bytes = c.as_bytes();
    let mut top_level_op = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'|' | b'&' if depth == 0 && bytes.get(i + 1) == Some(&b) => top_level_op = true,
            b'?' if depth == 0 => top_level_op = true,
            _ => {}
        }
    }
    if top_level_op {
        format!("({c})")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conds(src: &str, needle: &str) -> Option<String> {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&crate::scan::file::parse::language())
            .unwrap();
        let tree = p.parse(src, None).unwrap();
        let at = src.find(needle).unwrap();
        let node = tree
            .root_node()
            .named_descendant_for_byte_range(at, at + needle.len())
            .unwrap();
        condition_of(node, src.as_bytes())
    }

    #[test]
    fn ifdef_else_elif_and_nesting() {
        let src = "#ifdef A\nint a;\n#ifndef B\nint b;\n#else\nint c;\n#endif\n#elif X > 1 /* c */\nint d;\n#else\nint e;\n#endif\nint f;\n";
        assert_eq!(conds(src, "a;").as_deref(), Some("defined(A)"));
        assert_eq!(
            conds(src, "b;").as_deref(),
            Some("defined(A) && !defined(B)")
        );
        assert_eq!(
            conds(src, "c;").as_deref(),
            Some("defined(A) && defined(B)")
        );
        assert_eq!(conds(src, "d;").as_deref(), Some("!defined(A) && X > 1"));
        assert_eq!(conds(src, "e;").as_deref(), Some("!defined(A) && !(X > 1)"));
        assert_eq!(conds(src, "f;"), None);
    }

    #[test]
    fn if_expressions_are_normalised() {
        let src =
            "#if IS_ENABLED(CONFIG_X) ||  defined (CONFIG_Y)\nint a;\n#else\nint b;\n#endif\n";
        assert_eq!(
            conds(src, "a;").as_deref(),
            Some("IS_ENABLED(CONFIG_X) || defined(CONFIG_Y)")
        );
        assert_eq!(
            conds(src, "b;").as_deref(),
            Some("!(IS_ENABLED(CONFIG_X) || defined(CONFIG_Y))")
        );
    }

    #[test]
    fn conjuncts_with_operators_are_parenthesised() {
        let src = "#if A || B\n#ifdef C\nint a;\n#endif\n#elif D\nint b;\n#endif\n";
        assert_eq!(conds(src, "a;").as_deref(), Some("(A || B) && defined(C)"));
        assert_eq!(conds(src, "b;").as_deref(), Some("!(A || B) && D"));
    }

    #[test]
    fn include_guards_condition_nothing() {
        let src = "#ifndef _X_H\n#define _X_H\nint a;\n#ifndef Y\nint b;\n#endif\n#endif\n";
        assert_eq!(conds(src, "a;"), None);
        assert_eq!(conds(src, "b;").as_deref(), Some("!defined(Y)"));
    }

    #[test]
    fn negation_of_atoms() {
        assert_eq!(negate("IS_ENABLED(CONFIG_X)"), "!IS_ENABLED(CONFIG_X)");
        assert_eq!(negate("!defined(A)"), "defined(A)");
        assert_eq!(negate("A && B"), "!(A && B)");
        assert_eq!(negate("(A) && (B)"), "!((A) && (B))");
    }
}
