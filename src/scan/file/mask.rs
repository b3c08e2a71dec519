//! Rewrites kernel macros that tree-sitter's C grammar cannot know into C it
//! parses cleanly, without moving a single line: the result has the same
//! length and its newlines sit on the same lines, so every node's row is the
//! row in the original file.
//!
//! Three rewrites:
//! - attribute-like macros (`__bpf_kfunc`, `__must_check`, `__rcu`, `__printf(1, 2)`)
//!   become spaces, so `__bpf_kfunc int f(void)` parses as a plain definition;
//! - set delimiters with one identifier argument (`BTF_KFUNCS_START(name)`) become
//!   the declaration `BTF_KFUNCS_START name;`, so they cannot swallow the next line;
//! - entry macros (`BTF_ID_FLAGS(func, f, KF_X)`) gain the `;` they lack, taking
//!   the byte from a blank inside their argument list: `BTF_ID_FLAGS(func,f, KF_X);`.

use crate::scan::names;

/// Attributes spelled as one word.
const WORD_ATTRIBUTES: &[&str] = &[
    names::BPF_KFUNC_ATTR,
    "__bpf_fastcall",
    "__must_check",
    "__weak",
    "notrace",
    "__always_inline",
    "noinline",
    "__noinline",
    "__cold",
    "__hot",
    "__init",
    "__exit",
    "__used",
    "__maybe_unused",
    "__always_unused",
    "__visible",
    "asmlinkage",
    "__rcu",
    "__user",
    "__kernel",
    "__iomem",
    "__percpu",
    "__force",
    "__nocast",
    "__safe",
    "__noreturn",
    "__ref",
    "__latent_entropy",
    "__no_kcsan",
    "__nocfi",
    "__noclone",
    "__flatten",
    "__pure",
    "__bitwise",
    "__randomize_layout",
    "__packed",
    "__cacheline_aligned",
    "__read_mostly",
    "__ro_after_init",
    "__initdata",
    "__nonstring",
    "__arg_ctx",
    "__arg_nonnull",
    "__arg_nullable",
    "__arg_trusted",
    "__arg_arena",
];

/// Attributes that take an argument list: the name and its `(...)` are blanked.
pub(crate) const CALL_ATTRIBUTES: &[&str] = &[
    "__printf",
    "__scanf",
    "__acquires",
    "__releases",
    "__must_hold",
    "__aligned",
    "__counted_by",
    "__section",
    "__alias",
    "__diag_ignore_all",
    "__diag_ignore",
    "__cond_acquires",
    "__cond_releases",
];

/// Macros that open or close a set or list: `NAME(ident)` → `NAME ident;`.
const DELIMITERS: &[&str] = &[
    "BTF_KFUNCS_START",
    "BTF_KFUNCS_END",
    "BTF_SET8_START",
    "BTF_SET8_END",
    "BTF_SET_START",
    "BTF_SET_END",
    "BTF_ID_LIST",
];

/// Macros that stand for one element and lack a trailing `;`.
const ENTRIES: &[&str] = &[names::ENTRY_MACRO, "BTF_ID", "BTF_ID_UNUSED"];

/// The longest argument list an entry rewrite looks through.
pub(super) const MAX_ENTRY_LEN: usize = 4096;

/// The bytes the words of the lists above start with: most identifiers
/// (every one of a file is looked at) start with none of them.
const LISTED_FIRST_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let lists: [&[&str]; 4] = [WORD_ATTRIBUTES, CALL_ATTRIBUTES, DELIMITERS, ENTRIES];
    let mut l = 0;
    while l < lists.len() {
        let mut w = 0;
        while w < lists[l].len() {
            t[lists[l][w].as_bytes()[0] as usize] = true;
            w += 1;
        }
        l += 1;
    }
    t
};

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The masked copy of `src`; `src.len()` bytes, same newlines.
pub fn mask(src: &[u8]) -> Vec<u8> {
    let mut out = mask_keeping_bodies(src);
    blank_plain_bodies(&mut out);
    out
}

/// [`mask`] with every function body kept: for the few functions read
/// whole (a set's `.filter` callback and the helpers it calls).
pub fn mask_keeping_bodies(src: &[u8]) -> Vec<u8> {
    let mut out = src.to_vec();
    let mut i = 0;
    let n = src.len();
    while i < n {
        let b = src[i];
        // Skip comments and string/char literals: their words are not code.
        if b == b'/' && i + 1 < n && src[i + 1] == b'*' {
            i = match find(src, i + 2, b"*/") {
                Some(end) => end + 2,
                None => n,
            };
            continue;
        }
        if b == b'/' && i + 1 < n && src[i + 1] == b'/' {
            i = memchr_from(src, i, b'\n').unwrap_or(n);
            continue;
        }
        if b == b'"' || b == b'\'' {
            i = skip_literal(src, i);
            continue;
        }
        if !(b.is_ascii_alphabetic() || b == b'_') || (i > 0 && is_ident_byte(src[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end < n && is_ident_byte(src[end]) {
            end += 1;
        }
        if !LISTED_FIRST_BYTES[b as usize] {
            // no listed word starts so: the lists need not be searched
            i = end;
            continue;
        }
        // Identifiers are ASCII by the loop above.
        let word = std::str::from_utf8(&src[start..end]).unwrap_or("");
        if WORD_ATTRIBUTES.contains(&word) {
            blank(&mut out, start, end);
        } else if CALL_ATTRIBUTES.contains(&word) {
            let close = after_ws(src, end)
                .filter(|&p| src[p] == b'(')
                .and_then(|p| matching_paren(src, p, MAX_ENTRY_LEN));
            match close {
                Some(c) => {
                    blank(&mut out, start, c + 1);
                    i = c + 1;
                    continue;
                }
                None => blank(&mut out, start, end),
            }
        } else if DELIMITERS.contains(&word) {
            if at_line_start(src, start) {
                rewrite_delimiter(src, &mut out, end);
            }
        } else if ENTRIES.contains(&word) && at_line_start(src, start) {
            // An entry's arguments were shifted: nothing inside them may
            // be rewritten again from the original's offsets.
            if let Some(close) = rewrite_entry(src, &mut out, end) {
                i = close + 1;
                continue;
            }
        }
        i = end;
    }
    terminate_unknown_set_lines(&mut out);
    out
}

/// Words that make a function body worth parsing: registrations live in
/// init functions' bodies. Nothing else the scanner reads is inside a body.
const BODY_NEEDLES: &[&[u8]] = &[
    names::REGISTER_KFUNC_ID_SET.as_bytes(),
    names::REGISTER_FMODRET_ID_SET.as_bytes(),
];

/// Replaces the inside of function bodies that hold nothing the scanner
/// reads with blanks (newlines kept). tree-sitter then spends its time on
/// declarations only; on the kernel most of a file's bytes are bodies.
/// Top-level initialisers (`= { … }`) are blanked the same way, but an id
/// set's (`struct btf_kfunc_id_set`, whose `.set` and `.filter` are read):
/// net/core/filter.c alone holds some 300 `bpf_func_proto` initialisers.
///
/// Only a body the layout vouches for is blanked: `{` after `)` (or `=`) at
/// depth 0, its `}` starting its line, no other line in it starting in
/// column 0 except labels, and its `#if`s balanced. Anything else is left
/// for tree-sitter to read as it is.
fn blank_plain_bodies(out: &mut [u8]) {
    let n = out.len();
    let mut i = 0;
    let mut last_sig: u8 = 0;
    // where `last_sig` is
    let mut last_at = 0;
    // where the current top-level item starts: after the last `;` or `}`
    let mut item_start = 0;
    while i < n {
        let b = out[i];
        if let Some(next) = skip_non_code(out, i) {
            if b == b'"' || b == b'\'' {
                last_sig = b'"';
            }
            i = next;
            continue;
        }
        if b == b'{' {
            let close = body_end(out, i);
            match close {
                Some(c) if last_sig == b'=' => {
                    let item = &out[item_start..c];
                    let wanted = INITIALISER_NEEDLES
                        .iter()
                        .any(|w| memchr::memmem::find(item, w).is_some());
                    if !wanted && plain_body(&out[i + 1..c]) {
                        blank(out, i + 1, c);
                    }
                    i = c + 1;
                    last_sig = b'}';
                }
                Some(c) if last_sig == b')' => {
                    let body = &out[i + 1..c];
                    let wanted = BODY_NEEDLES
                        .iter()
                        .any(|w| memchr::memmem::find(body, w).is_some());
                    if !wanted && plain_body(body) {
                        blank(out, i + 1, c);
                        if let Some(start) = helper_head(out, last_at) {
                            blank(out, start, c);
                            out[c] = b';';
                        }
                    }
                    i = c + 1;
                    last_sig = b'}';
                }
                Some(c) => {
                    i = c + 1;
                    last_sig = b'}';
                }
                None => return,
            }
            item_start = i;
            continue;
        }
        if !b.is_ascii_whitespace() {
            last_sig = b;
            last_at = i;
        }
        if b == b';' {
            item_start = i + 1;
        }
        i += 1;
    }
}

/// Words that make a top-level initialiser worth parsing: the id sets'
/// (`.set`, `.filter`), and anything a body would be kept for.
const INITIALISER_NEEDLES: &[&[u8]] = &[
    names::ID_SET_STRUCT.as_bytes(),
    names::REGISTER_KFUNC_ID_SET.as_bytes(),
    names::REGISTER_FMODRET_ID_SET.as_bytes(),
];

/// Macros whose use, `NAME(name, type, arg, …)` followed by a body,
/// defines a BPF helper (`include/linux/filter.h`) or a system call
/// (`include/linux/syscalls.h`), never a kfunc.
const HELPER_DEFINERS: &[&str] = &[
    "BPF_CALL_",
    "NOTRACE_BPF_CALL_",
    "SYSCALL_DEFINE",
    "COMPAT_SYSCALL_DEFINE",
];

/// Where the head of a BPF helper's (or a system call's) definition starts,
/// when the `)` at `close` ends one: `BPF_CALL_2(name, struct sk_buff *,
/// skb, u32, len)` in column 0. Its body blanked, the whole definition is
/// made blanks and a `;` (an empty statement, so that what stood before it
/// is not taken for the next item's comment or attributes): helpers and
/// system calls are neither kfuncs nor registrations, and tree-sitter
/// cannot parse such a head (types and names as separate arguments), which
/// cost it a slow error recovery each (net/core/filter.c defines 135
/// helpers, net/socket.c, which the second look reads on 6.12, 20 system
/// calls). A head spanning a preprocessor line is left alone.
fn helper_head(src: &[u8], close: usize) -> Option<usize> {
    let from = close.saturating_sub(MAX_ENTRY_LEN);
    let mut depth = 0usize;
    let mut open = None;
    for i in (from..=close).rev() {
        match src[i] {
            b')' => depth += 1,
            b'(' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    open = Some(i);
                    break;
                }
            }
            b';' | b'{' | b'}' | b'#' => return None,
            _ => {}
        }
    }
    let open = open?;
    let end = src[..open]
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |p| p + 1);
    let start = src[..end]
        .iter()
        .rposition(|&b| !is_ident_byte(b))
        .map_or(0, |p| p + 1);
    let name = &src[start..end];
    let is_helper = HELPER_DEFINERS.iter().any(|d| {
        name.strip_prefix(d.as_bytes())
            .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
    });
    (is_helper && (start == 0 || src[start - 1] == b'\n')).then_some(start)
}

/// Where the comment, string or character literal, or preprocessor line that
/// starts at `i` ends; None when code starts there.
fn skip_non_code(src: &[u8], i: usize) -> Option<usize> {
    let n = src.len();
    let next = src.get(i + 1).copied();
    match src[i] {
        b'/' if next == Some(b'*') => Some(find(src, i + 2, b"*/").map_or(n, |e| e + 2)),
        b'/' if next == Some(b'/') => Some(memchr_from(src, i, b'\n').unwrap_or(n)),
        b'#' if at_line_start(src, i) => Some(preproc_line_end(src, i)),
        b'"' | b'\'' => Some(skip_literal(src, i)),
        _ => None,
    }
}

/// The end of a preprocessor line, continuations included.
fn preproc_line_end(src: &[u8], mut i: usize) -> usize {
    while let Some(nl) = memchr_from(src, i, b'\n') {
        let mut k = nl;
        if k > 0 && src[k - 1] == b'\r' {
            k -= 1;
        }
        if k > 0 && src[k - 1] == b'\\' {
            i = nl + 1;
            continue;
        }
        return nl;
    }
    src.len()
}

/// The `}` closing the `{` at `open`, skipping comments, literals and
/// preprocessor lines.
fn body_end(src: &[u8], open: usize) -> Option<usize> {
    let n = src.len();
    let mut depth = 0usize;
    let mut i = open;
    while i < n {
        let b = src[i];
        if let Some(next) = skip_non_code(src, i) {
            i = next;
            continue;
        }
        if b == b'{' {
            depth += 1;
        } else if b == b'}' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// The layout checks of `blank_plain_bodies`, on the bytes between the braces.
fn plain_body(body: &[u8]) -> bool {
    // the closing brace must start its line
    let tail = body.iter().rposition(|&b| b == b'\n');
    match tail {
        Some(t) if body[t + 1..].iter().all(|&b| b == b' ' || b == b'\t') => {}
        _ => return false,
    }
    let mut depth: i64 = 0;
    for line in body.split(|&b| b == b'\n').skip(1) {
        let Some(&first) = line.first() else { continue };
        if first == b'}' {
            return false;
        }
        if first == b'#' {
            let word: Vec<u8> = line[1..]
                .iter()
                .copied()
                .skip_while(|b| *b == b' ' || *b == b'\t')
                .take_while(|b| b.is_ascii_alphabetic())
                .collect();
            match word.as_slice() {
                b"if" | b"ifdef" | b"ifndef" => depth += 1,
                b"endif" => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                _ => {}
            }
            continue;
        }
        if first.is_ascii_alphabetic() || first == b'_' {
            // labels (`out:`) are the only code kernel style puts in column 0
            let trimmed: Vec<u8> = line
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let is_label = trimmed.last() == Some(&b':')
                && trimmed[..trimmed.len() - 1]
                    .iter()
                    .all(|&b| is_ident_byte(b));
            if !is_label {
                return false;
            }
        }
    }
    depth == 0
}

/// A set may hold a line the scanner cannot read, such as an X-macro
/// (`XDP_METADATA_KFUNC_xxx`). Without a `;` it would run into the END
/// delimiter after it and hide it. `NAME(a, b)`, on one line or several,
/// takes its `;` as entries do (`NAME(a,b);`; `NAME(a)` becomes `NAME a;`);
/// any other such line has its last byte made `;`. Only lines starting in
/// column 0 with an identifier are touched (continuations of a multi-line
/// entry are indented), and the diagnostic quotes the original.
fn terminate_unknown_set_lines(out: &mut [u8]) {
    let mut in_set = false;
    let mut line_start = 0;
    while line_start < out.len() {
        let mut line_end = memchr_from(out, line_start, b'\n').unwrap_or(out.len());
        let line = &out[line_start..line_end];
        let starts = |p: &[u8]| line.starts_with(p);
        if starts(b"BTF_KFUNCS_START") || starts(b"BTF_SET8_START") {
            in_set = true;
        } else if starts(b"BTF_KFUNCS_END") || starts(b"BTF_SET8_END") {
            in_set = false;
        } else if in_set
            && line
                .first()
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
            && !starts(b"BTF_ID_FLAGS")
        {
            let last = line.iter().rposition(|b| !b.is_ascii_whitespace());
            if let Some(close) = terminate_call(out, line_start) {
                line_end = memchr_from(out, close, b'\n').unwrap_or(out.len());
            } else if let Some(last) = last.map(|l| line_start + l) {
                if is_ident_byte(out[last]) || out[last] == b')' {
                    out[last] = b';';
                }
            }
        }
        line_start = line_end + 1;
    }
}

/// `NAME(…)` at `start`, its `)` the last thing on its line: terminated in
/// place as an entry is. Returns the `)`'s offset when it rewrote.
fn terminate_call(out: &mut [u8], start: usize) -> Option<usize> {
    let name_end = start
        + out[start..]
            .iter()
            .take_while(|&&b| is_ident_byte(b))
            .count();
    let open = after_ws(out, name_end).filter(|&p| out[p] == b'(')?;
    let close = matching_paren(out, open, MAX_ENTRY_LEN)?;
    let rest_of_line = &out[close + 1..memchr_from(out, close, b'\n').unwrap_or(out.len())];
    if !rest_of_line.iter().all(|b| b.is_ascii_whitespace()) {
        return None;
    }
    match (open + 1..close).find(|&p| out[p] == b' ' || out[p] == b'\t') {
        Some(gap) => out.copy_within(gap + 1..close + 1, gap),
        None => out[open] = b' ',
    }
    out[close] = b';';
    Some(close)
}

fn blank(out: &mut [u8], start: usize, end: usize) {
    for b in &mut out[start..end] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

fn at_line_start(src: &[u8], pos: usize) -> bool {
    src[..pos]
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|&b| b == b' ' || b == b'\t')
}

fn after_ws(src: &[u8], mut pos: usize) -> Option<usize> {
    while pos < src.len() && (src[pos] == b' ' || src[pos] == b'\t') {
        pos += 1;
    }
    (pos < src.len()).then_some(pos)
}

/// `(ident)` right after the name → ` ident;`, unless a `;` already follows.
fn rewrite_delimiter(src: &[u8], out: &mut [u8], name_end: usize) {
    let Some(open) = after_ws(src, name_end).filter(|&p| src[p] == b'(') else {
        return;
    };
    let Some(close) = matching_paren(src, open, 256) else {
        return;
    };
    let inner = &src[open + 1..close];
    let trimmed: Vec<u8> = inner
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if trimmed.is_empty() || !trimmed.iter().all(|&b| is_ident_byte(b)) {
        return;
    }
    if after_ws(src, close + 1).is_some_and(|p| src[p] == b';') {
        return;
    }
    out[open] = b' ';
    out[close] = b';';
}

/// `NAME(a, b)` → `NAME(a,b);`: drop the first blank inside the parentheses and
/// shift the rest left by one so the `;` fits where the `)` was. Returns the
/// `)`'s offset when it rewrote.
fn rewrite_entry(src: &[u8], out: &mut [u8], name_end: usize) -> Option<usize> {
    let open = after_ws(src, name_end).filter(|&p| src[p] == b'(')?;
    let close = matching_paren(src, open, MAX_ENTRY_LEN)?;
    if after_ws(src, close + 1).is_some_and(|p| src[p] == b';') {
        return None;
    }
    // no room: tree-sitter's recovery inserts the `;`
    let gap = (open + 1..close).find(|&p| src[p] == b' ' || src[p] == b'\t')?;
    out.copy_within(gap + 1..close + 1, gap);
    out[close] = b';';
    Some(close)
}

/// The `)` matching the `(` at `open`, within `limit` bytes; none across a
/// preprocessor line (an entry never spans one) or past the end.
pub(super) fn matching_paren(src: &[u8], open: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let end = src.len().min(open.saturating_add(limit));
    let mut i = open;
    while i < end {
        match src[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'\n' if after_ws(src, i + 1).is_some_and(|p| src[p] == b'#') => return None,
            b'"' | b'\'' => {
                i = skip_literal(src, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_literal(src: &[u8], start: usize) -> usize {
    let quote = src[start];
    let mut i = start + 1;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    src.len()
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|p| p + from)
}

fn memchr_from(hay: &[u8], from: usize, b: u8) -> Option<usize> {
    memchr::memchr(b, &hay[from..]).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        let out = mask(s.as_bytes());
        assert_eq!(out.len(), s.len(), "length must be preserved");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blanks_attributes_but_not_longer_words() {
        assert_eq!(
            m("__bpf_kfunc int f(void);\n__bpf_kfunc_start_defs();"),
            "            int f(void);\n__bpf_kfunc_start_defs();"
        );
        assert_eq!(
            m("__printf(2, 3) int g(const char *fmt, ...)"),
            "               int g(const char *fmt, ...)"
        );
    }

    #[test]
    fn delimiters_become_declarations() {
        assert_eq!(m("BTF_KFUNCS_START(ids)\n"), "BTF_KFUNCS_START ids;\n");
        assert_eq!(m("BTF_SET8_END(ids);\n"), "BTF_SET8_END(ids);\n");
    }

    #[test]
    fn entries_gain_a_semicolon_in_place() {
        assert_eq!(
            m("BTF_ID_FLAGS(func, f, KF_A | KF_B)\nX"),
            "BTF_ID_FLAGS(func,f, KF_A | KF_B);\nX"
        );
        // multi-line: the newline moves one byte left but stays on its line
        let s = "BTF_ID_FLAGS(func, f,\n\tKF_A)\n";
        let out = m(s);
        assert_eq!(out, "BTF_ID_FLAGS(func,f,\n\tKF_A);\n");
        assert_eq!(out.matches('\n').count(), s.matches('\n').count());
        // no blank to borrow: left alone
        assert_eq!(m("BTF_ID_FLAGS(func,f)\n"), "BTF_ID_FLAGS(func,f)\n");
    }

    #[test]
    fn unknown_lines_in_sets_are_terminated() {
        assert_eq!(
            m("BTF_KFUNCS_START(s)\nXMACRO_LIST\nBTF_KFUNCS_END(s)\nXMACRO_LIST\n"),
            "BTF_KFUNCS_START s;\nXMACRO_LIS;\nBTF_KFUNCS_END s;\nXMACRO_LIST\n"
        );
        // macro calls take their `;` as entries do, on one line or several
        assert_eq!(
            m("BTF_SET8_START(s)\nITEMS(a, b)\nITEM(a)\nITEMS(c,\n\td)\nBTF_SET8_END(s)\n"),
            "BTF_SET8_START s;\nITEMS(a,b);\nITEM a;\nITEMS(c,\nd);\nBTF_SET8_END s;\n"
        );
        // something after the `)`: the old way
        assert_eq!(
            m("BTF_SET8_START(s)\nITEM(a) x\nBTF_SET8_END(s)\n"),
            "BTF_SET8_START s;\nITEM(a) ;\nBTF_SET8_END s;\n"
        );
    }

    #[test]
    fn plain_bodies_are_blanked_others_kept() {
        let inner = "\n\treturn g(a, \"}\");\nout:\n\treturn 0;\n";
        let src = format!("int f(int a)\n{{{inner}}}\n");
        assert_eq!(
            m(&src),
            format!("int f(int a)\n{{{}}}\n", blank_like(inner))
        );
        // a body holding a registration is kept
        let src = "static int i(void)\n{\n\treturn register_btf_kfunc_id_set(T, &s);\n}\n";
        assert_eq!(m(src), src);
        // initialisers are blanked, but an id set's
        let inner = "\n#ifdef A\n\t.func = f,\n#endif\n\t.gpl_only = true,\n";
        let src = format!("static const struct bpf_func_proto p = {{{inner}}};\n");
        assert_eq!(
            m(&src),
            format!(
                "static const struct bpf_func_proto p = {{{}}};\n",
                blank_like(inner)
            )
        );
        let src = "static const struct btf_kfunc_id_set x = {\n\t.set = &ids,\n};\n";
        assert_eq!(m(src), src);
        // on one line: left alone
        let src = "static int a[] = { 1, 2 };\n";
        assert_eq!(m(src), src);
        // unbalanced #if inside: left alone
        let src = "int f(void)\n{\n#ifdef A\n\treturn 1;\n}\n#else\n";
        assert_eq!(m(src), src);
        // a column-0 line that is not a label: left alone
        let src = "int f(void)\n{\nint g(void);\n}\n";
        assert_eq!(m(src), src);
    }

    #[test]
    fn helper_definitions_become_an_empty_statement() {
        let helper = "BPF_CALL_2(bpf_f, struct sk_buff *, skb,\n\t   u32, len)\n{\n\treturn 0;\n";
        let src = format!("/** doc */\n{helper}}}\nint g(void);\n");
        assert_eq!(
            m(&src),
            format!("/** doc */\n{};\nint g(void);\n", blank_like(helper))
        );
        for helper in [
            "NOTRACE_BPF_CALL_1(f, int, x)\n{\n",
            "SYSCALL_DEFINE3(socket, int, family, int, type, int, protocol)\n{\n\treturn 0;\n",
            "COMPAT_SYSCALL_DEFINE1(f, int, x)\n{\n",
        ] {
            assert_eq!(
                m(&format!("{helper}}}\n")),
                format!("{};\n", blank_like(helper))
            );
        }
        // a body that is not blanked keeps its head
        let src = "BPF_CALL_1(f, int, x)\n{\n\treturn register_btf_kfunc_id_set(T, &s);\n}\n";
        assert_eq!(m(src), src);
        // not in column 0, not a helper, a preprocessor line in the head
        for src in [
            "static BPF_CALL_1(f, int, x)\n{\n}\n",
            "MY_CALL_1(f, int, x)\n{\n}\n",
            "BPF_CALL_x(f, int, x)\n{\n}\n",
            "BPF_CALL_2(f, int, x,\n#ifdef A\n\tint, y)\n#endif\n{\n}\n",
        ] {
            assert!(m(src).contains("CALL_"), "{src:?}");
        }
    }

    fn blank_like(s: &str) -> String {
        s.chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect()
    }

    #[test]
    fn comments_and_strings_are_left_alone() {
        let s = "/* __bpf_kfunc */ \"__weak\" // BTF_ID_FLAGS(func, x)\n";
        assert_eq!(m(s), s);
    }

    #[test]
    fn not_at_line_start_is_left_alone() {
        let s = "#define X(n) BTF_ID_FLAGS(func, n)\n";
        assert_eq!(m(s), s);
    }

    #[test]
    fn an_entry_inside_an_unclosed_entry_is_not_rewritten_twice() {
        // found by the scan_file fuzzer (minimised): the entry's `)` is on the
        // last line, and the delimiter rewrite inside its shifted arguments
        // used the original's offsets and overwrote a newline
        let s = "BTF_ID(i( )\nBTF_ID_LIST(f)\nr)";
        let out = m(s);
        assert_eq!(out.matches('\n').count(), s.matches('\n').count());
    }

    #[test]
    fn unbalanced_input_does_not_panic() {
        for s in [
            "BTF_ID_FLAGS(",
            "__printf(",
            "BTF_KFUNCS_START(",
            "'",
            "\"\\",
            "/*",
            ")))",
        ] {
            let _ = m(s);
        }
    }
}
