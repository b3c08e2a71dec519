//! The terminal's escaping rule: the one way a name from outside (a file
//! name, a BTF name, a RELEASE file's text, a manifest's string) reaches
//! standard error or a table on standard output. Control characters are
//! shown escaped, as rustc and `ls -b` show them, so no name can start a
//! line of its own choosing, move the cursor or change the colours:
//!
//! - C0 controls, DEL and C1 controls: `\n`, `\t`, `\r`, `\0`, else
//!   `\u{1b}`;
//! - the bidirectional overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069), which reorder what the reader sees ("Trojan Source"),
//!   as `\u{202e}`;
//! - in a path, each byte that is not UTF-8 as `\xNN` (kept, not dropped:
//!   two different names never print the same way but for a backslash
//!   written literally in a name).
//!
//! Everything else, non-ASCII letters included, is shown as it is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Whether `c` must be escaped on a terminal.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        c => {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` with its control characters escaped (borrowed when it has none).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A message of several lines, the program's own line breaks kept and
/// every other control character escaped: the last guard where a message
/// is printed. A name that could hold a line break must already have gone
/// through [`escape`] or [`path`] where the message was made.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// A byte string as the terminal shows it: UTF-8 runs escaped as
/// [`escape`] does, every other byte as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return escape(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// A path as the terminal shows it: nothing lost, nothing live.
pub fn path(p: &Path) -> Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    escape_bytes(p.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(escape("net/core/filter.c"), Cow::Borrowed(_)));
        assert_eq!(escape("drivers/ü/ß.c"), "drivers/ü/ß.c");
    }

    #[test]
    fn controls_are_escaped_one_by_one() {
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("x\ty\r\0"), "x\\ty\\r\\0");
        assert_eq!(escape("\u{7f}\u{85}\u{9b}"), "\\u{7f}\\u{85}\\u{9b}");
        assert_eq!(escape("a\u{202e}b\u{2066}"), "a\\u{202e}b\\u{2066}");
        // neighbours of the ranges are letters or spaces, kept
        assert_eq!(escape("\u{2029}\u{202f}\u{2065}\u{206a}").len(), 12);
    }

    #[test]
    fn a_message_keeps_its_own_lines_only() {
        assert_eq!(escape_lines("a: error\nb: note"), "a: error\nb: note");
        assert_eq!(escape_lines("a\u{1b}]0;x\u{7}\nb"), "a\\u{1b}]0;x\\u{7}\nb");
    }

    #[test]
    fn paths_keep_every_byte() {
        let p = Path::new(OsStr::from_bytes(b"dir/a\xff\xfeb\n.c"));
        assert_eq!(path(p), "dir/a\\xff\\xfeb\\n.c");
        let q = Path::new(OsStr::from_bytes(b"\xc3\xa9\xc3"));
        assert_eq!(path(q), "é\\xc3");
    }
}
