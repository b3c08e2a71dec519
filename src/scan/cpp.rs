//! A small C preprocessor, for the macros kfunc set bodies use (X-macros):
//! the `#define`, `#undef` and `#include` lines of a source, read as text,
//! and the expansion of a token sequence by a table of macros: object-like
//! and function-like, `#`, `##`, `__VA_ARGS__`, nested, with the standard's
//! rescanning (Prosser's hide sets).
//!
//! Deliberately not a full preprocessor: `#if` is not evaluated (a name
//! defined in two branches takes the last definition), and expansion is
//! bounded. A macro met again inside its own expansion, which C leaves
//! unexpanded, is reported here as an error: in a set body it would leave a
//! name the scanner cannot read.

use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    /// Whitespace (or a comment) came before it.
    pub space: bool,
}

impl Token {
    fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }
}

/// Punctuators of more than one byte that matter here (`##`, `...`, and
/// `||`, which must not read as two `|`), longest first.
const PUNCTS: &[&str] = &[
    "...", "<<=", ">>=", "##", "||", "&&", "<<", ">>", "==", "!=", "<=", ">=", "->", "++", "--",
    "+=", "-=", "*=", "/=", "|=", "&=", "^=", "%=",
];

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The tokens of `src`; comments count as whitespace.
pub fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() || c == b'\\' {
            i += 1;
            space = true;
            continue;
        } else if b[i..].starts_with(b"/*") {
            i = find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2);
            space = true;
            continue;
        } else if b[i..].starts_with(b"//") {
            i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |e| i + e);
            space = true;
            continue;
        } else if is_ident_start(c) {
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            Kind::Ident
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (is_ident_byte(b[i]) || b[i] == b'.') {
                i += 1;
            }
            Kind::Number
        } else if c == b'"' || c == b'\'' {
            i = skip_literal(b, i);
            Kind::Str
        } else {
            let len = PUNCTS
                .iter()
                .find(|p| b[i..].starts_with(p.as_bytes()))
                .map_or(1, |p| p.len());
            // one whole character, should a stray byte not be ASCII
            i += len;
            while i < b.len() && !src.is_char_boundary(i) {
                i += 1;
            }
            Kind::Punct
        };
        out.push(Token {
            kind,
            text: src[start..i].to_string(),
            space,
        });
        space = false;
    }
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let rest = hay.get(from..)?;
    memchr::memmem::find(rest, needle).map(|p| p + from)
}

/// The end of the string or character literal starting at `start` (the
/// line's end when it is not closed).
fn skip_literal(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// A `#define`d macro. The body is kept as written and tokenised when the
/// macro is used: a header defines hundreds, a set body uses a few.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MacroDef {
    pub name: String,
    /// None for an object-like macro.
    pub params: Option<Vec<String>>,
    /// The last parameter takes the remaining arguments (`...` or `name...`).
    pub variadic: bool,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Directive {
    Define(MacroDef),
    Undef(String),
    Include { path: String, angled: bool },
}

/// The `#define`, `#undef` and `#include` lines of `src`, each with the line
/// its `#` is on, in order. Comments and literals are skipped, so a `#` in
/// a comment is not a directive.
pub fn directives(src: &[u8]) -> Vec<(u32, Directive)> {
    let mut out = Vec::new();
    each_directive(src, |line, text| {
        if let Some(d) = parse_directive(text) {
            out.push((line, d));
        }
        true
    });
    out
}

/// Whether `#if`s nest more than `max` deep in `src`: the line of the first
/// `#if`, `#ifdef` or `#ifndef` that opens level `max + 1`; None when none
/// does. Read as [`directives`] reads (comments and literals
/// skipped); an `#endif` without its `#if` counts for nothing.
pub fn if_deeper_than(src: &[u8], max: usize) -> Option<u32> {
    let mut depth = 0usize;
    let mut past = None;
    each_directive(src, |line, text| {
        match directive_word(text) {
            "if" | "ifdef" | "ifndef" => {
                depth += 1;
                if depth > max {
                    past = Some(line);
                    return false;
                }
            }
            "endif" => depth = depth.saturating_sub(1),
            _ => {}
        }
        true
    });
    past
}

/// The name of a directive (`define`, `ifdef`), from its text after the `#`.
fn directive_word(text: &str) -> &str {
    let t = text.trim_start();
    let end = t
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(t.len());
    &t[..end]
}

/// Calls `f(line, text)` for each directive of `src` in order (its text after
/// the `#`, continuations joined and comments blanked, and the line its `#`
/// is on), until `f` returns false.
fn each_directive(src: &[u8], mut f: impl FnMut(u32, &str) -> bool) {
    let mut i = 0;
    let mut line = 1u32;
    let mut line_start = true;
    while i < src.len() {
        let c = src[i];
        if c == b'\n' {
            line += 1;
            line_start = true;
            i += 1;
        } else if c == b' ' || c == b'\t' || c == b'\r' || c == b'\x0c' {
            i += 1;
        } else if c == b'#' && line_start {
            let (text, end, lines) = logical_line(src, i + 1);
            if !f(line, &text) {
                return;
            }
            line += lines;
            i = end;
        } else {
            let end = if src[i..].starts_with(b"/*") {
                find(src, i + 2, b"*/").map_or(src.len(), |e| e + 2)
            } else if src[i..].starts_with(b"//") {
                memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |e| i + e)
            } else if c == b'"' || c == b'\'' {
                skip_literal(src, i)
            } else {
                i + 1
            };
            line += memchr::memchr_iter(b'\n', &src[i..end]).count() as u32;
            // a comment before a `#` makes it no directive here (C would
            // still take it as one; the kernel does not write that)
            line_start = false;
            i = end;
        }
    }
}

/// A directive's text from `from` (just after its `#`) to the end of its
/// logical line: continuations joined, comments made blanks. Returns the
/// text, where the line ends (its newline not included) and how many
/// newlines it spans.
fn logical_line(src: &[u8], from: usize) -> (String, usize, u32) {
    let mut text = Vec::new();
    let mut lines = 0u32;
    let mut i = from;
    while i < src.len() {
        match src[i] {
            b'\n' => break,
            b'\\' if src.get(i + 1) == Some(&b'\n') => {
                lines += 1;
                i += 2;
            }
            b'\\' if src[i + 1..].starts_with(b"\r\n") => {
                lines += 1;
                i += 3;
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                let end = find(src, i + 2, b"*/").map_or(src.len(), |e| e + 2);
                lines += memchr::memchr_iter(b'\n', &src[i..end]).count() as u32;
                text.push(b' ');
                i = end;
            }
            b'/' if src.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |e| i + e);
            }
            b'"' | b'\'' => {
                let end = skip_literal(src, i);
                text.extend_from_slice(&src[i..end]);
                i = end;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&text).into_owned(), i, lines)
}

/// One directive's text after the `#`; None for the directives not read here.
fn parse_directive(text: &str) -> Option<Directive> {
    let t = text.trim_start();
    let word = directive_word(t);
    let rest = t[word.len()..].trim_start();
    match word {
        "define" => parse_define(rest).map(Directive::Define),
        "undef" => {
            let name = leading_ident(rest)?;
            Some(Directive::Undef(name.to_string()))
        }
        "include" => {
            let (close, angled) = match rest.as_bytes().first()? {
                b'<' => ('>', true),
                b'"' => ('"', false),
                _ => return None,
            };
            let path = rest[1..].split(close).next()?;
            Some(Directive::Include {
                path: path.to_string(),
                angled,
            })
        }
        _ => None,
    }
}

fn leading_ident(s: &str) -> Option<&str> {
    let end = s.bytes().position(|b| !is_ident_byte(b)).unwrap_or(s.len());
    (end > 0 && is_ident_start(s.as_bytes()[0])).then(|| &s[..end])
}

/// `NAME body` or `NAME(params) body` (the `(` right after the name).
fn parse_define(rest: &str) -> Option<MacroDef> {
    let name = leading_ident(rest)?;
    let after = &rest[name.len()..];
    let mut def = MacroDef {
        name: name.to_string(),
        params: None,
        variadic: false,
        body: String::new(),
    };
    let Some(list) = after.strip_prefix('(') else {
        def.body = after.trim().to_string();
        return Some(def);
    };
    let close = list.find(')')?;
    let mut params = Vec::new();
    for p in list[..close].split(',').map(str::trim) {
        if p.is_empty() {
            continue;
        }
        if let Some(named) = p.strip_suffix("...") {
            def.variadic = true;
            let named = named.trim();
            params.push(if named.is_empty() {
                "__VA_ARGS__".to_string()
            } else {
                named.to_string()
            });
        } else {
            params.push(leading_ident(p).filter(|i| i.len() == p.len())?.to_string());
        }
    }
    def.params = Some(params);
    def.body = list[close + 1..].trim().to_string();
    Some(def)
}

/// Why an expansion stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// The macro was met inside its own expansion.
    Recursive(String),
    /// More than [`MAX_DEPTH`] expansions nested, at this macro.
    TooDeep(String),
    /// More than [`MAX_STEPS`] tokens handled.
    TooLarge,
    /// A function-like macro's arguments are not closed.
    Unterminated(String),
    /// A function-like macro given a number of arguments it does not take.
    Arguments {
        name: String,
        takes: usize,
        given: usize,
    },
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::Recursive(m) => write!(f, "`{m}` expands into itself"),
            ExpandError::TooDeep(m) => write!(
                f,
                "macros nest more than {MAX_DEPTH} deep (at `{m}`); not expanded further"
            ),
            ExpandError::TooLarge => write!(
                f,
                "the expansion exceeds {MAX_STEPS} tokens; not expanded further"
            ),
            ExpandError::Unterminated(m) => {
                write!(f, "the arguments of `{m}` are not closed")
            }
            ExpandError::Arguments { name, takes, given } => {
                write!(f, "`{name}` takes {takes} arguments, given {given}")
            }
        }
    }
}

/// The most expansions nested inside one another.
pub const MAX_DEPTH: usize = 32;
/// The most tokens one expansion handles, all rescans included.
pub const MAX_STEPS: usize = 100_000;

/// A token with the names of the macros whose expansion produced it (its
/// hide set, shared by the tokens of one expansion).
#[derive(Debug, Clone)]
struct HToken {
    tok: Token,
    hide: Rc<[String]>,
}

/// Expands `input` by the macros of `env`.
pub fn expand(input: &[Token], env: &HashMap<String, MacroDef>) -> Result<Vec<Token>, ExpandError> {
    let mut x = Expander { env, steps: 0 };
    let input = input.iter().map(|t| plain(t.clone())).collect();
    Ok(x.run(input, 0)?.into_iter().map(|h| h.tok).collect())
}

struct Expander<'a> {
    env: &'a HashMap<String, MacroDef>,
    steps: usize,
}

impl Expander<'_> {
    /// Expands `input` fully; `depth` counts the argument pre-expansions
    /// this one is nested in.
    fn run(&mut self, input: Vec<HToken>, depth: usize) -> Result<Vec<HToken>, ExpandError> {
        // a stack whose top is the next token
        let mut stack: Vec<HToken> = input.into_iter().rev().collect();
        let mut out = Vec::new();
        while let Some(h) = stack.pop() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(ExpandError::TooLarge);
            }
            let def = match self.env.get(&h.tok.text) {
                Some(d) if h.tok.kind == Kind::Ident => d,
                _ => {
                    out.push(h);
                    continue;
                }
            };
            if h.hide.contains(&def.name) {
                return Err(ExpandError::Recursive(def.name.clone()));
            }
            if h.hide.len() + depth >= MAX_DEPTH {
                return Err(ExpandError::TooDeep(def.name.clone()));
            }
            let mut hide = h.hide.to_vec();
            hide.push(def.name.clone());
            let hide: Rc<[String]> = hide.into();
            let args = match &def.params {
                None => Vec::new(),
                Some(_) if !stack.last().is_some_and(|t| t.tok.is("(")) => {
                    // a function-like macro's name without arguments stays
                    out.push(h);
                    continue;
                }
                Some(_) => arguments(&mut stack, def)?,
            };
            let mut body = self.substitute(def, &args, &hide, depth)?;
            // the expansion takes the place, and the spacing, of the name
            if let Some(first) = body.first_mut() {
                first.tok.space = h.tok.space;
            }
            stack.extend(body.into_iter().rev());
        }
        Ok(out)
    }

    /// The macro's body with its parameters replaced, `#` and `##` applied,
    /// every token hidden from the macros in `hide`.
    fn substitute(
        &mut self,
        def: &MacroDef,
        args: &[Vec<HToken>],
        hide: &Rc<[String]>,
        depth: usize,
    ) -> Result<Vec<HToken>, ExpandError> {
        let params: &[String] = def.params.as_deref().unwrap_or_default();
        let body = tokenize(&def.body);
        let param_of = |t: &Token| {
            (t.kind == Kind::Ident)
                .then(|| params.iter().position(|p| *p == t.text))
                .flatten()
        };
        let mut out: Vec<HToken> = Vec::new();
        let mut paste = false;
        let mut i = 0;
        while i < body.len() {
            let t = &body[i];
            let next_is_paste = body.get(i + 1).is_some_and(|n| n.is("##"));
            let piece: Vec<HToken> = if t.is("##") {
                paste = true;
                i += 1;
                continue;
            } else if t.is("#") && def.params.is_some() {
                match body.get(i + 1).and_then(param_of) {
                    Some(p) => {
                        i += 1;
                        vec![plain(stringify(&args[p], t.space))]
                    }
                    None => vec![plain(t.clone())],
                }
            } else if let Some(p) = param_of(t) {
                let arg = args.get(p).cloned().unwrap_or_default();
                let mut arg = if paste || next_is_paste {
                    arg
                } else {
                    self.run(arg, depth + 1)?
                };
                if let Some(first) = arg.first_mut() {
                    first.tok.space = t.space;
                }
                arg
            } else {
                vec![plain(t.clone())]
            };
            if std::mem::take(&mut paste) {
                paste_onto(&mut out, piece);
            } else {
                out.extend(piece);
            }
            i += 1;
        }
        for h in &mut out {
            h.hide = if h.hide.is_empty() {
                hide.clone()
            } else {
                let mut merged = h.hide.to_vec();
                merged.extend(hide.iter().filter(|n| !h.hide.contains(n)).cloned());
                merged.into()
            };
        }
        Ok(out)
    }
}

fn plain(tok: Token) -> HToken {
    HToken {
        tok,
        hide: Rc::from(Vec::new()),
    }
}

/// `a ## b`: the last token of `out` and the first of `piece` become one.
fn paste_onto(out: &mut Vec<HToken>, piece: Vec<HToken>) {
    if out.is_empty() || piece.is_empty() {
        // an empty side: nothing to paste
        out.extend(piece);
        return;
    }
    let mut piece = piece.into_iter();
    let (Some(left), Some(right)) = (out.pop(), piece.next()) else {
        return;
    };
    let joined = format!("{}{}", left.tok.text, right.tok.text);
    let mut toks = tokenize(&joined);
    if let Some(first) = toks.first_mut() {
        first.space = left.tok.space;
    }
    out.extend(toks.into_iter().map(|tok| HToken {
        tok,
        hide: left.hide.clone(),
    }));
    out.extend(piece);
}

/// `#arg`: the argument's spelling as a string literal.
fn stringify(arg: &[HToken], space: bool) -> Token {
    let mut s = String::from("\"");
    for (i, h) in arg.iter().enumerate() {
        if i > 0 && h.tok.space {
            s.push(' ');
        }
        for c in h.tok.text.chars() {
            if h.tok.kind == Kind::Str && (c == '"' || c == '\\') {
                s.push('\\');
            }
            s.push(c);
        }
    }
    s.push('"');
    Token {
        kind: Kind::Str,
        text: s,
        space,
    }
}

/// The arguments of a function-like macro whose `(` is on top of `stack`,
/// taken off it: split at top-level commas, the variadic rest kept whole.
fn arguments(stack: &mut Vec<HToken>, def: &MacroDef) -> Result<Vec<Vec<HToken>>, ExpandError> {
    let nparams = def.params.as_ref().map_or(0, Vec::len);
    stack.pop(); // the `(`
    let mut args: Vec<Vec<HToken>> = vec![Vec::new()];
    let mut depth = 0usize;
    loop {
        let Some(h) = stack.pop() else {
            return Err(ExpandError::Unterminated(def.name.clone()));
        };
        if h.tok.is("(") {
            depth += 1;
        } else if h.tok.is(")") {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if h.tok.is(",") && depth == 0 && !(def.variadic && args.len() >= nparams) {
            args.push(Vec::new());
            continue;
        }
        if let Some(last) = args.last_mut() {
            last.push(h);
        }
    }
    if nparams == 0 && args.len() == 1 && args[0].is_empty() {
        args.clear();
    }
    if def.variadic && args.len() + 1 == nparams {
        // `V(fmt)` for `V(fmt, ...)`: the variadic part is empty
        args.push(Vec::new());
    }
    if args.len() != nparams {
        return Err(ExpandError::Arguments {
            name: def.name.clone(),
            takes: nparams,
            given: args.len(),
        });
    }
    Ok(args)
}

/// Text of `tokens` as written, one blank where there was whitespace.
pub fn spell(tokens: &[Token]) -> String {
    let mut s = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 && t.space {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(src: &str) -> HashMap<String, MacroDef> {
        directives(src.as_bytes())
            .into_iter()
            .filter_map(|(_, d)| match d {
                Directive::Define(m) => Some((m.name.clone(), m)),
                _ => None,
            })
            .collect()
    }

    fn x(src: &str, input: &str) -> Result<String, ExpandError> {
        expand(&tokenize(input), &env(src)).map(|t| spell(&t))
    }

    #[test]
    fn if_nesting_is_counted_as_written() {
        let src = "#ifdef A\n#if B\n/* #if C */\n#endif\n#ifndef D // #if\n  #  if E \\\n  && F\n#if G\n#endif\n#endif\n#endif\n#endif\n";
        // A, D, E, G open levels 1, 2, 3, 4; G is on line 8
        assert_eq!(if_deeper_than(src.as_bytes(), 4), None);
        assert_eq!(if_deeper_than(src.as_bytes(), 3), Some(8));
        assert_eq!(if_deeper_than(src.as_bytes(), 1), Some(2));
        // stray `#endif`s count for nothing; `#elif`/`#else` open nothing
        let src = "#endif\n#endif\n#if A\n#elif B\n#else\n#endif\n#if C\n#if D\n";
        assert_eq!(if_deeper_than(src.as_bytes(), 1), Some(8));
        assert_eq!(if_deeper_than(src.as_bytes(), 2), None);
        assert_eq!(if_deeper_than(b"", 0), None);
    }

    #[test]
    fn directives_with_continuations_comments_and_lines() {
        let src = "/* #define NOT 1\n */\n#include <net/xdp.h>\n# define A(x, y) \\\n\tf(x) /* c */ y\n#undef B // gone\nint z = '#';\n  #include \"local.h\"\n#define V(fmt, ...) g(fmt, __VA_ARGS__)\n#define N(a...) h(a)\n";
        let d = directives(src.as_bytes());
        let lines: Vec<u32> = d.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![3, 4, 6, 8, 9, 10]);
        assert_eq!(
            d[0].1,
            Directive::Include {
                path: "net/xdp.h".into(),
                angled: true
            }
        );
        let Directive::Define(a) = &d[1].1 else {
            panic!("{:?}", d[1])
        };
        assert_eq!(
            a.params.as_deref(),
            Some(&["x".to_string(), "y".to_string()][..])
        );
        assert_eq!(a.body, "f(x)   y");
        assert_eq!(d[2].1, Directive::Undef("B".into()));
        assert!(matches!(&d[3].1, Directive::Include { angled: false, .. }));
        assert!(matches!(&d[4].1, Directive::Define(m) if m.variadic));
        assert!(
            matches!(&d[5].1, Directive::Define(m) if m.variadic && m.params.as_deref() == Some(&["a".to_string()][..]))
        );
    }

    #[test]
    fn object_function_nested_and_list_macros() {
        let defs = "#define ONE f(one, K)\n#define F(n, k) E(n, k)\n#define LIST F(a, KA) F(b, KA | KB)\n#define IND LIST ONE\n";
        assert_eq!(x(defs, "ONE").unwrap(), "f(one, K)");
        assert_eq!(x(defs, "F(x, y)").unwrap(), "E(x, y)");
        assert_eq!(x(defs, "IND").unwrap(), "E(a, KA) E(b, KA | KB) f(one, K)");
        // a function-like name without arguments is left alone
        assert_eq!(x(defs, "F + 1").unwrap(), "F + 1");
        // the X-macro pattern: the item macro comes from the caller
        let xm = "#define XS X(a, 1) X(b, 2)\n#define X(n, v) E(n, v)\n";
        assert_eq!(x(xm, "XS").unwrap(), "E(a, 1) E(b, 2)");
    }

    #[test]
    fn stringify_paste_and_variadics() {
        let defs = "#define S(x) #x\n#define P(a, b) a ## b\n#define PRE(n) bpf_ ## n ## _impl\n#define V(f, ...) g(f, __VA_ARGS__)\n#define N(a...) h(a)\n";
        assert_eq!(x(defs, "S(a  +  b)").unwrap(), "\"a + b\"");
        assert_eq!(x(defs, "P(foo, bar)").unwrap(), "foobar");
        assert_eq!(x(defs, "PRE(x)").unwrap(), "bpf_x_impl");
        assert_eq!(x(defs, "P(, b)").unwrap(), "b");
        assert_eq!(x(defs, "V(1, 2, 3)").unwrap(), "g(1, 2, 3)");
        assert_eq!(x(defs, "N(1, 2)").unwrap(), "h(1, 2)");
        assert_eq!(x(defs, "V(1)").unwrap(), "g(1,)");
    }

    #[test]
    fn recursion_depth_and_size_are_errors_not_hangs() {
        assert_eq!(
            x("#define A B\n#define B A\n", "A"),
            Err(ExpandError::Recursive("A".into()))
        );
        assert_eq!(
            x("#define F(x) F(x)\n", "F(1)"),
            Err(ExpandError::Recursive("F".into()))
        );
        let mut deep = String::new();
        for i in 0..40 {
            deep.push_str(&format!("#define M{i} M{}\n", i + 1));
        }
        assert!(matches!(x(&deep, "M0"), Err(ExpandError::TooDeep(_))));
        // each level doubles: 2^30 tokens if nothing stopped it
        let mut wide = String::new();
        for i in 0..30 {
            wide.push_str(&format!("#define W{i} W{n} W{n}\n", n = i + 1));
        }
        assert_eq!(x(&wide, "W0"), Err(ExpandError::TooLarge));
        assert_eq!(
            x("#define F(x) x\n", "F(1, (2)"),
            Err(ExpandError::Unterminated("F".into()))
        );
        assert_eq!(
            x("#define F(x, y) x\n", "F(1)"),
            Err(ExpandError::Arguments {
                name: "F".into(),
                takes: 2,
                given: 1
            })
        );
        assert_eq!(
            x("#define F(x) [x]\n#define G() g\n", "F() G()").unwrap(),
            "[] g"
        );
    }
}
