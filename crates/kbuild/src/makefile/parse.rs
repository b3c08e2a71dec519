//! The makefile parser: logical lines, comments, and the kind of a line
//! (directive, assignment, rule) with its parts. Nothing here evaluates.

/// One logical line: continuations joined, comments still in.
#[derive(Clone, Debug)]
pub struct LLine {
    pub line: u32,
    pub text: String,
    /// Starts with a tab: a recipe line when it follows a rule.
    pub tab: bool,
}

/// Splits makefile text into logical lines. A `\` at the end of a line
/// joins the next one with a single space, as Make does outside recipes.
pub fn logical_lines(src: &str) -> Vec<LLine> {
    let mut out = Vec::new();
    let mut cur: Option<LLine> = None;
    for (i, raw) in src.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let trailing = raw.bytes().rev().take_while(|&b| b == b'\\').count();
        let (body, cont) = if trailing % 2 == 1 {
            (&raw[..raw.len() - 1], true)
        } else {
            (raw, false)
        };
        match cur.as_mut() {
            Some(l) => {
                let t = l.text.trim_end().len();
                l.text.truncate(t);
                l.text.push(' ');
                l.text.push_str(body.trim_start());
            }
            None => {
                cur = Some(LLine {
                    line: lineno,
                    text: body.to_string(),
                    tab: body.starts_with('\t'),
                })
            }
        }
        if !cont {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

/// The line without its comment: `#` starts one unless escaped as `\#`.
pub fn strip_comment(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('#') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('#');
                chars.next();
            }
            '#' => break,
            c => out.push(c),
        }
    }
    out.into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Recursive,
    Simple,
    Append,
    IfUnset,
    Shell,
}

/// The body of a `define` starting at `lines[i]` and the index after its
/// `endef` (past the end when there is none).
pub(super) fn define_body(lines: &[LLine], mut i: usize) -> (String, usize) {
    let mut depth = 1;
    let mut body: Vec<&str> = Vec::new();
    while i < lines.len() {
        let t = lines[i].text.trim();
        let w = first_word(t).0;
        if w == "define" || t.starts_with("define ") {
            depth += 1;
        } else if w == "endef" {
            depth -= 1;
            if depth == 0 {
                return (body.join("\n"), i + 1);
            }
        }
        body.push(&lines[i].text);
        i += 1;
    }
    (body.join("\n"), lines.len() + 1)
}

/// The first word and the rest (which may start with `(`, as in
/// `ifeq(a,b)`).
pub fn first_word(t: &str) -> (&str, &str) {
    let end = t
        .find(|c: char| c.is_whitespace() || c == '(' || c == '"' || c == '\'')
        .unwrap_or(t.len());
    let w = &t[..end];
    // Only directives may be followed directly by `(`; anything else is one word.
    if end < t.len() && !t[end..].starts_with(char::is_whitespace) && !is_directive(w) {
        return ("", t);
    }
    (w, t[end..].trim_start())
}

fn is_directive(w: &str) -> bool {
    matches!(w, "ifeq" | "ifneq")
}

/// `(a,b)`, `"a" "b"` or `'a' 'b'`: the two unexpanded arguments.
pub(super) fn eq_args(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('(') {
        let b = inner.as_bytes();
        let mut depth = 0i32;
        let mut comma = None;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' if depth == 0 => {
                    let comma = comma?;
                    if !inner[i + 1..].trim().is_empty() {
                        return None;
                    }
                    return Some((inner[..comma].trim(), inner[comma + 1..i].trim()));
                }
                b')' | b'}' => depth -= 1,
                b',' if depth == 0 && comma.is_none() => comma = Some(i),
                _ => {}
            }
        }
        return None;
    }
    let (a, rest) = quoted(s)?;
    let (b, rest) = quoted(rest.trim_start())?;
    rest.trim().is_empty().then_some((a, b))
}

fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

/// Bytes of `s` outside `$(…)`/`${…}` references.
fn top_level(s: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let b = s.as_bytes();
    let mut depth = 0i32;
    (0..b.len()).filter_map(move |i| {
        let c = b[i];
        if depth > 0 {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth -= 1,
                _ => {}
            }
            return None;
        }
        if (c == b'(' || c == b'{') && i > 0 && b[i - 1] == b'$' {
            depth = 1;
            return None;
        }
        Some((i, c))
    })
}

/// `NAME op VALUE` when the line is an assignment (an `=` before any rule
/// `:`), else `None`.
pub(super) fn split_assignment(t: &str) -> Option<(&str, Op, &str)> {
    let b = t.as_bytes();
    for (i, c) in top_level(t) {
        match c {
            b':' => {
                // `:=`, `::=`, `:::=`; any other colon makes a rule.
                let colons = b[i..].iter().take_while(|&&c| c == b':').count();
                if b.get(i + colons) == Some(&b'=') && colons <= 3 {
                    return Some((&t[..i], Op::Simple, &t[i + colons + 1..]));
                }
                return None;
            }
            b'=' => {
                let (lhs_end, op) = match i.checked_sub(1).map(|j| b[j]) {
                    Some(b'+') => (i - 1, Op::Append),
                    Some(b'?') => (i - 1, Op::IfUnset),
                    Some(b'!') => (i - 1, Op::Shell),
                    _ => (i, Op::Recursive),
                };
                return Some((&t[..lhs_end], op, &t[i + 1..]));
            }
            _ => {}
        }
    }
    None
}

pub(super) fn has_rule_colon(t: &str) -> bool {
    top_level(t).any(|(_, c)| c == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_join_with_one_space() {
        let l = logical_lines("a := x \\\n    y\\\n\tz\nb = 1\r\n\tc\nd = e\\\\\n");
        let got: Vec<(u32, &str, bool)> =
            l.iter().map(|l| (l.line, l.text.as_str(), l.tab)).collect();
        assert_eq!(
            got,
            vec![
                (1, "a := x y z", false),
                (4, "b = 1", false),
                (5, "\tc", true),
                (6, "d = e\\\\", false),
                (7, "", false)
            ]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(strip_comment("a = b # c"), "a = b ");
        assert_eq!(strip_comment("a = \\#b"), "a = #b");
        assert_eq!(strip_comment("no comment"), "no comment");
    }

    #[test]
    fn assignments_and_rules_told_apart() {
        let ops = |t| {
            split_assignment(t).map(|(l, o, r)| (l.trim().to_string(), o, r.trim().to_string()))
        };
        assert!(ops("a := b") == Some(("a".into(), Op::Simple, "b".into())));
        assert!(ops("a ::= b") == Some(("a".into(), Op::Simple, "b".into())));
        assert!(
            ops("obj-$(CONFIG_X) += a.o")
                == Some(("obj-$(CONFIG_X)".into(), Op::Append, "a.o".into()))
        );
        assert!(ops("a ?= b") == Some(("a".into(), Op::IfUnset, "b".into())));
        assert!(ops("a != echo") == Some(("a".into(), Op::Shell, "echo".into())));
        assert!(ops("a = b:c") == Some(("a".into(), Op::Recursive, "b:c".into())));
        assert!(
            ops("x := $(subst :, ,$(y))")
                == Some(("x".into(), Op::Simple, "$(subst :, ,$(y))".into()))
        );
        assert!(ops("$(obj)/a.o: CFLAGS += -x").is_none());
        assert!(ops("foo: bar").is_none());
        assert!(has_rule_colon("foo: bar"));
        assert!(!has_rule_colon("$(eval a:=b)"));
    }

    #[test]
    fn ifeq_argument_forms() {
        assert_eq!(eq_args("($(A),y)"), Some(("$(A)", "y")));
        assert_eq!(eq_args("( $(call f,a,b) , )"), Some(("$(call f,a,b)", "")));
        assert_eq!(eq_args("\"$(A)\" 'y'"), Some(("$(A)", "y")));
        assert_eq!(eq_args("(a b)"), None);
        assert_eq!(first_word("ifeq($(A),y)"), ("ifeq", "($(A),y)"));
        assert_eq!(first_word("obj-y += a.o"), ("obj-y", "+= a.o"));
        assert_eq!(first_word("foo(bar) = 1"), ("", "foo(bar) = 1"));
    }
}
